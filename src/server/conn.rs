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
    /// The peer's FIN was reported: a short read no longer means nothing is left, the EOF still is.
    pub read_closed: bool,
    pub no_evict: bool,
    pub created_ms: u64,
    pub last_ms: u64,
    /// Registry index of the last command run, for CLIENT LIST's `cmd=`.
    pub last_cmd: Option<usize>,
    /// When the output first passed the soft limit (0: it has not).
    pub soft_since_ms: u64,
    /// Commands queued by MULTI (None outside a transaction).
    pub multi: Option<Vec<OwnedArgs>>,
    /// A command failed to queue: EXEC must abort.
    pub multi_error: bool,
    /// Keys this client WATCHes: (db, key, whether the key was already expired, though not yet
    /// reclaimed, when watched: Redis treats its later deletion as no change).
    pub watched: Vec<(usize, Box<[u8]>, bool)>,
    /// A watched key was touched: EXEC must fail.
    pub watch_dirty: bool,
    /// Set while the client waits in a blocking command.
    pub blocked: Option<Box<Blocked>>,
    /// The replication offset right after this client's last command that was propagated: what WAIT
    /// waits for the replicas to acknowledge (Redis's `woff`).
    pub woff: u64,
    /// Pub/Sub channels and patterns this client is subscribed to.
    pub channels: Vec<Box<[u8]>>,
    pub patterns: Vec<Box<[u8]>>,
    pub shard_channels: Vec<Box<[u8]>>,
    /// Attached with SYNC/PSYNC: receives the replication stream.
    pub replica: bool,
    /// In MONITOR mode: receives a line for every command the server runs.
    pub monitor: bool,
    /// What a replica said about itself with REPLCONF (port, acknowledged offset).
    pub repl_link: Option<Box<crate::cmd::repl::Link>>,
    /// CLIENT REPLY state: `REPLY_OFF`, `REPLY_SKIP`, `REPLY_SKIP_NEXT` bits (0: every reply is sent).
    pub reply: u8,
    /// This iteration's replies to this client, as a range of the shared reply arena, written at the end
    /// of the iteration. While it is set, `wbuf` is empty; anything that must follow these replies moves
    /// them into `wbuf` first (`materialize`).
    pub seg: Option<(usize, usize)>,
    /// On the list of connections to write at the end of the iteration.
    pub flush_queued: bool,
    /// CLIENT TRACKING state; None while tracking is off.
    pub tracking: Option<Box<crate::cmd::tracking::ClientTracking>>,
}

/// CLIENT REPLY OFF: no reply is sent until CLIENT REPLY ON.
pub const REPLY_OFF: u8 = 1;
/// The reply of the command being run is dropped (the one after CLIENT REPLY SKIP).
pub const REPLY_SKIP: u8 = 2;
/// CLIENT REPLY SKIP just ran: the next command's reply is dropped.
pub const REPLY_SKIP_NEXT: u8 = 4;

/// A request's arguments copied out of the read buffer (queued in MULTI, or saved by a blocked command).
#[derive(Debug, Default, Clone)]
pub struct OwnedArgs {
    pub buf: Vec<u8>,
    pub ranges: Vec<(usize, usize)>,
}

impl OwnedArgs {
    pub fn from_args(args: &crate::cmd::Args) -> OwnedArgs {
        let mut o = OwnedArgs::default();
        for a in args.iter() {
            let start = o.buf.len();
            o.buf.extend_from_slice(a);
            o.ranges.push((start, o.buf.len()));
        }
        o
    }

    pub fn args(&self) -> crate::cmd::Args<'_> {
        crate::cmd::Args::new(&self.buf, &self.ranges)
    }
}

/// What a blocked client waits for.
#[derive(Debug)]
pub struct Blocked {
    /// The blocking command, re-run when a key it waits on is signalled.
    pub cmd: OwnedArgs,
    pub db: usize,
    pub keys: Vec<Box<[u8]>>,
    /// Unix ms; 0 waits forever.
    pub deadline: u64,
    /// Reply on timeout: a null array (BLPOP and friends) or a null bulk (BLMOVE, BRPOPLPUSH).
    pub timeout_null_array: bool,
    /// WAIT's (offset, number of replicas): it ends when enough replicas acknowledged the offset, and
    /// answers with how many did.
    pub wait: Option<(u64, i64)>,
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
            read_closed: false,
            no_evict: false,
            created_ms: now,
            last_ms: now,
            last_cmd: None,
            soft_since_ms: 0,
            multi: None,
            multi_error: false,
            watched: Vec::new(),
            watch_dirty: false,
            blocked: None,
            woff: 0,
            channels: Vec::new(),
            patterns: Vec::new(),
            shard_channels: Vec::new(),
            replica: false,
            monitor: false,
            repl_link: None,
            reply: 0,
            seg: None,
            flush_queued: false,
            tracking: None,
        }
    }

    /// Moves this iteration's replies out of the arena into the connection's own buffer, so later output
    /// is appended after them.
    #[inline]
    pub fn materialize(&mut self, arena: &[u8]) {
        if let Some((s, e)) = self.seg.take() {
            self.wbuf.extend_from_slice(&arena[s..e]);
        }
    }

    /// Applies CLIENT REPLY once a command has finished: drops what it wrote to `buf` from `start` on when
    /// replies are off or skipped, then moves a pending SKIP on to the next command, as Redis's
    /// `resetClient` does. Only called while `reply` is non-zero.
    pub fn finish_reply(&mut self, buf: &mut Vec<u8>, start: usize) {
        if self.reply & (REPLY_OFF | REPLY_SKIP) != 0 {
            buf.truncate(start);
        }
        self.reply &= !REPLY_SKIP;
        if self.reply & REPLY_SKIP_NEXT != 0 {
            self.reply = (self.reply & !REPLY_SKIP_NEXT) | REPLY_SKIP;
        }
    }

    /// Bytes of reply waiting for the socket.
    #[inline]
    pub fn pending_out(&self) -> usize {
        self.wbuf.len() - self.wpos
    }

    /// Number of Pub/Sub subscriptions of every kind (non-zero puts a RESP2 client in subscribed mode).
    pub fn subscriptions(&self) -> usize {
        self.channels.len() + self.patterns.len() + self.shard_channels.len()
    }

    pub fn fd(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.sock.as_raw_fd()
    }
}
