//! The process limits a run of many connections meets, checked before the first connect so a run that
//! cannot fit says which limit stops it instead of failing halfway.

use std::io;

/// Descriptors beyond the sockets: stdio, one epoll and one timerfd per thread, and slack.
const SPARE_FDS: u64 = 32;

/// Raises the soft RLIMIT_NOFILE to the hard limit when `sockets` (plus spare) need it.
pub fn ensure_fds(sockets: usize, threads: usize) -> Result<(), String> {
    let need = sockets as u64 + 2 * threads as u64 + SPARE_FDS;
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(format!(
            "getrlimit(RLIMIT_NOFILE) failed: {}",
            io::Error::last_os_error()
        ));
    }
    if lim.rlim_cur >= need {
        return Ok(());
    }
    if lim.rlim_max != libc::RLIM_INFINITY && lim.rlim_max < need {
        return Err(format!(
            "{sockets} connections need {need} file descriptors, but this process may open at most {} \
             (the hard RLIMIT_NOFILE; `ulimit -Hn`). Raise it (as root: `ulimit -Hn`, or LimitNOFILE= \
             in a systemd unit) or use fewer -c/--idle connections",
            lim.rlim_max
        ));
    }
    let raised = libc::rlimit {
        rlim_cur: if lim.rlim_max == libc::RLIM_INFINITY {
            need
        } else {
            lim.rlim_max
        },
        rlim_max: lim.rlim_max,
    };
    // SAFETY: setrlimit reads the struct we own.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } != 0 {
        return Err(format!(
            "cannot raise the soft RLIMIT_NOFILE from {} to {} for {sockets} connections: {}",
            lim.rlim_cur,
            raised.rlim_cur,
            io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// Every connection to one server address from one local address takes an ephemeral port.
pub fn check_ports(sockets: usize) -> Result<(), String> {
    let Ok(text) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range") else {
        return Ok(());
    };
    let mut it = text
        .split_whitespace()
        .filter_map(|s| s.parse::<usize>().ok());
    if let (Some(lo), Some(hi)) = (it.next(), it.next()) {
        let ports = hi.saturating_sub(lo) + 1;
        if sockets > ports {
            return Err(format!(
                "{sockets} connections to one address need as many local ports, but \
                 /proc/sys/net/ipv4/ip_local_port_range ({lo}-{hi}) offers {ports}"
            ));
        }
    }
    Ok(())
}
