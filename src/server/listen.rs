//! The listening sockets: Redis's `bind` list on one `port`, registered with the loop's poll. An address
//! may be `*` (every IPv4 interface), `::*` (every IPv6 one), a host name or an IP literal, and a leading
//! `-` makes it optional (skipped when the host has no such address), as in redis.conf. CONFIG SET bind
//! and port replace the sockets while the server runs, the way Redis 7.0 does: close, then listen anew.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::FromRawFd;

use log::warn;
use mio::net::TcpListener;
use mio::{Interest, Registry, Token};

/// Redis's CONFIG_BINDADDR_MAX.
pub const MAX_ADDRS: usize = 16;
/// Tokens of the listening sockets: `FIRST_TOKEN + i` for the i-th address.
const FIRST_TOKEN: usize = usize::MAX - 100;
/// Redis's default tcp-backlog (instead of mio's 128): past the backlog the kernel drops connects and the
/// client retries a whole second later, so a burst of new clients stalled.
const BACKLOG: i32 = 511;

/// The index of the listener behind `token`, if it is one.
pub fn listener_index(token: Token) -> Option<usize> {
    token.0.checked_sub(FIRST_TOKEN).filter(|&i| i < MAX_ADDRS)
}

pub struct Listeners {
    registry: Registry,
    pub socks: Vec<TcpListener>,
}

impl Listeners {
    pub fn new(registry: Registry) -> Listeners {
        Listeners {
            registry,
            socks: Vec::new(),
        }
    }

    /// Stops listening.
    pub fn close(&mut self) {
        for mut s in self.socks.drain(..) {
            let _ = self.registry.deregister(&mut s);
        }
    }

    /// Closes the current sockets and listens on every address of `bind` (space-separated) at `port`
    /// (0: a free port the kernel picks, shared by all the addresses). Returns the port bound, or the
    /// port asked for when `bind` is empty (nothing listens, as in Redis). On failure nothing listens.
    pub fn listen(&mut self, bind: &str, port: u16) -> io::Result<u16> {
        self.close();
        let addrs: Vec<&str> = bind.split(' ').filter(|a| !a.is_empty()).collect();
        if addrs.len() > MAX_ADDRS {
            return Err(io::Error::other("Too many bind addresses specified."));
        }
        let mut port = port;
        for a in addrs {
            let (optional, host) = match a.strip_prefix('-') {
                Some(h) => (true, h),
                None => (false, a),
            };
            let sock = resolve(host, port).and_then(listen_on);
            let sock = match sock {
                Ok(s) => s,
                Err(e) => {
                    warn!("Could not create server TCP listening socket {host}:{port}: {e}");
                    // Redis skips an optional address the host lacks, and any address family or
                    // protocol the system does not support.
                    let skip = matches!(
                        e.raw_os_error(),
                        Some(libc::ENOPROTOOPT)
                            | Some(libc::EPROTONOSUPPORT)
                            | Some(libc::ESOCKTNOSUPPORT)
                            | Some(libc::EPFNOSUPPORT)
                            | Some(libc::EAFNOSUPPORT)
                    ) || (optional && e.raw_os_error() == Some(libc::EADDRNOTAVAIL));
                    if skip {
                        continue;
                    }
                    self.close();
                    return Err(e);
                }
            };
            let mut sock = TcpListener::from_std(sock);
            if port == 0 {
                port = sock.local_addr()?.port();
            }
            let token = Token(FIRST_TOKEN + self.socks.len());
            if let Err(e) = self.registry.register(&mut sock, token, Interest::READABLE) {
                self.close();
                return Err(e);
            }
            self.socks.push(sock);
        }
        Ok(port)
    }

    /// The address of the first socket (what the ready line announces).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        match self.socks.first() {
            Some(s) => s.local_addr(),
            None => Err(io::Error::other("not listening")),
        }
    }
}

/// The first address of `host`'s family (IPv6 when it contains a colon, as Redis decides).
fn resolve(host: &str, port: u16) -> io::Result<SocketAddr> {
    let v6 = host.contains(':');
    let host = match host {
        "*" => "0.0.0.0",
        "::*" => "::",
        h => h,
    };
    (host, port)
        .to_socket_addrs()?
        .find(|a| a.is_ipv6() == v6)
        .ok_or_else(|| io::Error::from_raw_os_error(libc::EADDRNOTAVAIL))
}

/// A non-blocking listening socket with SO_REUSEADDR, IPv6 sockets IPv6-only (so `*` and `::*` can share
/// a port), and Redis's backlog.
fn listen_on(addr: SocketAddr) -> io::Result<std::net::TcpListener> {
    let (domain, raw, len) = sockaddr(&addr);
    // SAFETY: plain socket syscalls on a descriptor this function owns until it is handed to
    // `from_raw_fd`; every pointer passed points at a local that outlives the call.
    unsafe {
        let fd = libc::socket(
            domain,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            0,
        );
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let fail = |fd| {
            let e = io::Error::last_os_error();
            libc::close(fd);
            Err(e)
        };
        let one: libc::c_int = 1;
        let optlen = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        let opt = &one as *const libc::c_int as *const libc::c_void;
        if libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_REUSEADDR, opt, optlen) != 0 {
            return fail(fd);
        }
        if domain == libc::AF_INET6
            && libc::setsockopt(fd, libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, opt, optlen) != 0
        {
            return fail(fd);
        }
        if libc::bind(fd, &raw as *const _ as *const libc::sockaddr, len) != 0 {
            return fail(fd);
        }
        if libc::listen(fd, BACKLOG) != 0 {
            return fail(fd);
        }
        Ok(std::net::TcpListener::from_raw_fd(fd))
    }
}

/// `addr` as a C socket address: (domain, storage, length).
fn sockaddr(addr: &SocketAddr) -> (libc::c_int, libc::sockaddr_storage, libc::socklen_t) {
    // SAFETY: sockaddr_storage is plain data for which all-zero bytes are a valid value.
    let mut st: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in.
            let sin = unsafe { &mut *(&mut st as *mut _ as *mut libc::sockaddr_in) };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
            let len = std::mem::size_of::<libc::sockaddr_in>();
            (libc::AF_INET, st, len as libc::socklen_t)
        }
        SocketAddr::V6(a) => {
            // SAFETY: sockaddr_storage is larger than and aligned for sockaddr_in6.
            let sin6 = unsafe { &mut *(&mut st as *mut _ as *mut libc::sockaddr_in6) };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr.s6_addr = a.ip().octets();
            sin6.sin6_flowinfo = a.flowinfo();
            sin6.sin6_scope_id = a.scope_id();
            let len = std::mem::size_of::<libc::sockaddr_in6>();
            (libc::AF_INET6, st, len as libc::socklen_t)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binds_lists_optional_and_wildcards() {
        let poll = mio::Poll::new().unwrap();
        let mut l = Listeners::new(poll.registry().try_clone().unwrap());
        let port = l.listen("127.0.0.1 -::1", 0).unwrap();
        assert_ne!(port, 0);
        assert!(!l.socks.is_empty());
        assert_eq!(l.local_addr().unwrap().port(), port);
        // The same address again, after closing: Redis's close-then-listen.
        assert_eq!(l.listen("127.0.0.1", port).unwrap(), port);
        // An address this host lacks fails unless optional.
        assert!(l.listen("192.0.2.1", 0).is_err());
        assert!(l.socks.is_empty());
        assert!(l.listen("-192.0.2.1 127.0.0.1", 0).is_ok());
        assert_eq!(l.socks.len(), 1);
        // A port in use fails and leaves nothing listening.
        let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let busy_port = busy.local_addr().unwrap().port();
        assert!(l.listen("127.0.0.1", busy_port).is_err());
        assert!(l.socks.is_empty());
        assert_eq!(listener_index(Token(FIRST_TOKEN + 3)), Some(3));
        assert_eq!(listener_index(Token(5)), None);
    }
}
