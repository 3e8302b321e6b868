//! One client connection: its socket, its partial input and unsent output, and the per-client state
//! commands read and change (selected db, protocol, name, authentication, close flags). Buffers are empty
//! while the client is idle; the loop reads into and replies from shared buffers and hands a connection
//! its own buffer only when bytes are left over (a request cut mid-way, a reply the socket did not take).

use std::net::SocketAddr;

use mio::net::TcpStream;

use crate::protocol::Parser;

#[derive(Debug)]
pub struct Conn {
    pub sock: TcpStream,
    /// CLIENT ID: unique for the server's lifetime.
    pub id: u64,
    pub addr: SocketAddr,
    pub laddr: Option<SocketAddr>,
    /// Unparsed input (only a partial request between turns).
    pub rbuf: Vec<u8>,
    pub parser: Parser,
    /// Replies the socket has not taken yet, from `wpos` on.
    pub wbuf: Vec<u8>,
    pub wpos: usize,
    pub db: usize,
    pub resp3: bool,
    pub name: Option<Box<[u8]>>,
    pub authed: bool,
    /// Stop reading; close once the output is flushed (QUIT, protocol errors).
    pub close_after_reply: bool,
    /// Close as soon as the loop gets to it (CLIENT KILL, output limits, timeouts).
    pub kill: bool,
    /// WRITABLE interest is registered.
    pub writable: bool,
    /// On the loop's list of connections with unfinished input.
    pub pending: bool,
    pub no_evict: bool,
    pub created_ms: u64,
    pub last_ms: u64,
    /// Registry index of the last command run, for CLIENT LIST's `cmd=`.
    pub last_cmd: Option<usize>,
    /// When the output first passed the soft limit (0: it has not).
    pub soft_since_ms: u64,
}

impl Conn {
    pub fn new(sock: TcpStream, id: u64, addr: SocketAddr, now: u64, authed: bool) -> Conn {
        let laddr = sock.local_addr().ok();
        Conn {
            sock,
            id,
            addr,
            laddr,
            rbuf: Vec::new(),
            parser: Parser::default(),
            wbuf: Vec::new(),
            wpos: 0,
            db: 0,
            resp3: false,
            name: None,
            authed,
            close_after_reply: false,
            kill: false,
            writable: false,
            pending: false,
            no_evict: false,
            created_ms: now,
            last_ms: now,
            last_cmd: None,
            soft_since_ms: 0,
        }
    }

    /// Bytes of reply waiting for the socket.
    #[inline]
    pub fn pending_out(&self) -> usize {
        self.wbuf.len() - self.wpos
    }

    pub fn fd(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.sock.as_raw_fd()
    }
}
