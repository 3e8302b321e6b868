//! The reactor: one thread, one mio `Poll`, connections in a `Slab` (token = slab key). It owns every piece
//! of server state, so commands run without locks. A turn for a connection is: one read (into a shared
//! buffer), parse and execute every complete request, one write of all the replies; what the socket does
//! not take waits for WRITABLE. A connection whose read filled the buffer goes on a pending list served
//! before the next blocking poll, so one client's huge pipeline cannot starve the others.

pub mod alloc;
pub mod conn;
pub mod listen;
pub mod waiters;

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use log::{debug, info, warn};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use signal_hook_mio::v1_0::Signals;
use slab::Slab;

use crate::cmd::{self, Args, CmdStat, Ctx};
use crate::config::Config;
use crate::protocol::{Out, Parsed};
use crate::store::Db;
use crate::util::{random_seed, Rng};
use conn::Conn;

/// The Redis version reported to clients (HELLO, INFO): they gate features on it, and ferrokv speaks 7.0.
pub const REDIS_VERSION: &str = "7.0.15";

const SIGNALS: Token = Token(usize::MAX - 2);
/// Size of the shared read buffer, and so the most input one connection gets parsed per turn.
const READ_CHUNK: usize = 64 * 1024;
/// A connection's own buffers above this are freed rather than kept once empty.
const KEEP_BUF: usize = 16 * 1024;

/// Counters behind INFO stats.
#[derive(Debug, Default)]
pub struct Stats {
    pub commands: u64,
    pub connections: u64,
    pub rejected_conns: u64,
    pub net_in: u64,
    pub net_out: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub error_replies: u64,
    /// Error replies by their first word (`ERR`, `WRONGTYPE`...), for INFO errorstats.
    pub errors: HashMap<String, u64>,
    /// Samples of commands per second, for instantaneous_ops_per_sec.
    pub ops_samples: [u64; 16],
    pub ops_sample_idx: usize,
    pub last_sample_ms: u64,
    pub last_sample_cmds: u64,
    pub expired_stale_perc: f64,
    /// Keys evicted to stay under maxmemory, and clients closed to stay under maxmemory-clients.
    pub evicted_keys: u64,
    pub evicted_clients: u64,
}

/// Why the loop stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shutdown {
    Signal,
    Command,
}

/// Everything commands may read or change, besides the connections.
pub struct State {
    pub cfg: Config,
    pub dbs: Vec<Db>,
    pub stats: Stats,
    /// Counters per registry index.
    pub cmdstats: Vec<CmdStat>,
    /// Unix time in ms, refreshed once per loop iteration.
    pub now: u64,
    pub start_ms: u64,
    pub started: Instant,
    pub rng: Rng,
    pub shutdown: Option<Shutdown>,
    pub next_client_id: u64,
    pub active_expire: bool,
    /// The port actually bound.
    pub port: u16,
    pub run_id: String,
    pub lastsave: u64,
    pub config_file: Option<String>,
    /// Connections a command asked to close (CLIENT KILL); the loop closes them after the turn.
    pub to_close: Vec<usize>,
    /// Blocked clients, ready keys, WATCHes and Pub/Sub subscribers.
    pub waiters: waiters::Waiters,
    /// Replies produced this loop iteration for clients with nothing else pending, written together at the
    /// end of the iteration (as Redis does before sleeping): a client woken once finds all its replies.
    pub arena: Vec<u8>,
    /// Connections with output to write at the end of the iteration.
    pub to_flush: Vec<usize>,
    /// Write commands that changed something since the last save (save points, INFO's
    /// rdb_changes_since_last_save).
    pub dirty: u64,
    /// Background save and persistence counters.
    pub persist: cmd::persist::Persist,
    /// Connections attached with SYNC/PSYNC.
    pub replicas: Vec<usize>,
    /// Connections in MONITOR mode.
    pub monitors: Vec<usize>,
    /// Database the replication stream last SELECTed.
    pub repl_db: Option<usize>,
    /// Writes of the transaction being executed, sent together at its end.
    pub repl_pending: Option<Vec<(usize, conn::OwnedArgs)>>,
    /// Replication id, offset and backlog of the stream replicas receive.
    pub repl: cmd::repl::Repl,
    /// Client-side caching: the keys tracking clients read, BCAST prefixes, pending invalidations.
    pub tracking: cmd::tracking::Tracking,
    /// The listening sockets (None only for a State built without a loop, as benches do); commands
    /// reach them for CONFIG SET bind/port.
    pub listeners: Option<listen::Listeners>,
    /// SLOWLOG entries, LATENCY events and per-command latency histograms.
    pub slowlog: cmd::slowlog::Monitor,
    /// The Lua interpreter and script cache, created by the first EVAL or SCRIPT LOAD.
    pub scripting: Option<Box<cmd::script::Scripting>>,
    /// The function libraries (FUNCTION LOAD) and their interpreter.
    pub functions: cmd::function::Functions,
}

/// Unix time in milliseconds.
pub fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

impl State {
    pub fn new(cfg: Config) -> State {
        let seed = random_seed();
        // Calibrate the command timer now rather than during the first command.
        crate::util::now_ns();
        let now = unix_ms();
        let mut rng = Rng::new(seed ^ now);
        let cfg_databases = cfg.databases;
        let run_id: String = (0..40)
            .map(|_| char::from_digit(rng.below(16) as u32, 16).unwrap())
            .collect();
        let repl = cmd::repl::Repl::new(&mut rng);
        State {
            repl,
            dbs: (0..cfg.databases).map(|_| Db::new(seed)).collect(),
            cfg,
            stats: Stats::default(),
            cmdstats: vec![CmdStat::default(); cmd::registry().all.len()],
            now,
            start_ms: now,
            started: Instant::now(),
            slowlog: Default::default(),
            scripting: None,
            functions: Default::default(),
            rng,
            shutdown: None,
            next_client_id: 1,
            active_expire: true,
            port: 0,
            run_id,
            lastsave: now / 1000,
            config_file: None,
            to_close: Vec::new(),
            waiters: waiters::Waiters::new(cfg_databases),
            arena: Vec::with_capacity(KEEP_BUF),
            to_flush: Vec::new(),
            dirty: 0,
            persist: Default::default(),
            replicas: Vec::new(),
            monitors: Vec::new(),
            repl_db: None,
            repl_pending: None,
            tracking: Default::default(),
            listeners: None,
        }
    }

    /// Queues connection `id` (slab key) to be written at the end of the iteration.
    #[inline]
    pub fn queue_flush(&mut self, conns: &mut Slab<Conn>, id: usize) {
        if let Some(c) = conns.get_mut(id) {
            if !c.flush_queued {
                c.flush_queued = true;
                self.to_flush.push(id);
            }
        }
    }

    /// Records an error reply for INFO errorstats (keyed by its first word, as Redis does).
    pub fn count_error(&mut self, msg: &[u8]) {
        self.stats.error_replies += 1;
        let word = msg.split(|&c| c == b' ').next().unwrap_or(msg);
        let word = String::from_utf8_lossy(word);
        if let Some(n) = self.stats.errors.get_mut(word.as_ref()) {
            *n += 1;
        } else if self.stats.errors.len() < 128 {
            self.stats.errors.insert(word.into_owned(), 1);
        }
    }

    /// Keys removed by expiry across all databases.
    pub fn expired_keys(&self) -> u64 {
        self.dbs.iter().map(|d| d.expired).sum()
    }

    /// Commands per second over the last samples.
    pub fn instantaneous_ops(&self) -> u64 {
        let s = &self.stats.ops_samples;
        s.iter().sum::<u64>() / s.len() as u64
    }
}

pub struct Server {
    poll: Poll,
    signals: Option<Signals>,
    pub conns: Slab<Conn>,
    pub st: State,
    /// Connections with input left to serve before the next blocking poll.
    pending: Vec<usize>,
    rshared: Vec<u8>,
    next_cron: u64,
}

impl Server {
    /// Binds the listener and sets up signal handling; the server starts serving in `run`.
    pub fn bind(cfg: Config) -> io::Result<Server> {
        let poll = Poll::new()?;
        let mut listeners = listen::Listeners::new(poll.registry().try_clone()?);
        let port = listeners.listen(&cfg.bind, cfg.port)?;
        if listeners.socks.is_empty() {
            return Err(io::Error::other("no address to listen on"));
        }
        let mut signals = Signals::new([libc::SIGINT, libc::SIGTERM])?;
        poll.registry()
            .register(&mut signals, SIGNALS, Interest::READABLE)?;
        let mut st = State::new(cfg);
        st.port = port;
        st.listeners = Some(listeners);
        Ok(Server {
            poll,
            signals: Some(signals),
            conns: Slab::new(),
            st,
            pending: Vec::new(),
            rshared: vec![0; READ_CHUNK],
            next_cron: 0,
        })
    }

    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        match &self.st.listeners {
            Some(l) => l.local_addr(),
            None => Err(io::Error::other("not listening")),
        }
    }

    /// Serves until SIGINT, SIGTERM or SHUTDOWN, then flushes what it can and returns.
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            let timeout = if self.pending.is_empty() {
                let now = unix_ms();
                let mut wait = self.next_cron.saturating_sub(now).clamp(1, 1000);
                if let Some(&(at, _)) = self.st.waiters.timers.first() {
                    // Wake exactly at the earliest block deadline.
                    wait = wait.min(at.saturating_sub(now).max(1));
                }
                Duration::from_millis(wait)
            } else {
                Duration::ZERO
            };
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(e);
            }
            self.st.now = unix_ms();
            for ev in events.iter() {
                match ev.token() {
                    SIGNALS => self.on_signal(),
                    t if listen::listener_index(t).is_some() => {
                        self.accept(listen::listener_index(t).unwrap_or(0))
                    }
                    Token(id) => {
                        if ev.is_writable() {
                            self.flush(id);
                        }
                        if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                            if ev.is_read_closed() {
                                // The FIN's edge comes once: if the connection is still working through
                                // its input (on the pending list), serve() must keep reading until it
                                // sees the EOF, or the connection would stay open forever.
                                if let Some(c) = self.conns.get_mut(id) {
                                    c.read_closed = true;
                                }
                            }
                            self.serve(id);
                            self.after_turn();
                            // Data and FIN can arrive in one edge: read again to see the EOF.
                            if ev.is_read_closed() && self.conns.get(id).is_some_and(|c| !c.pending)
                            {
                                self.serve(id);
                            }
                        }
                    }
                }
                if self.st.shutdown.is_some() {
                    break;
                }
            }
            if self.st.shutdown.is_none() && !self.pending.is_empty() {
                for id in std::mem::take(&mut self.pending) {
                    if let Some(c) = self.conns.get_mut(id) {
                        if c.pending {
                            c.pending = false;
                            self.serve(id);
                            self.after_turn();
                        }
                    }
                }
            }
            if !self.st.waiters.timers.is_empty() {
                self.expire_blocks();
                self.after_turn();
            }
            self.tracking_broadcast();
            if self.st.repl.get_ack {
                let mut out = Out::default();
                let mut ctx = Ctx::new(&mut self.st, &mut self.conns, usize::MAX, 0, &mut out);
                cmd::repl::request_acks(&mut ctx);
                self.after_turn();
            }
            self.flush_all();
            if self.st.now >= self.next_cron {
                self.cron();
                self.tracking_broadcast();
                if !self.st.to_flush.is_empty() {
                    self.flush_all();
                }
            }
            if let Some(why) = self.st.shutdown {
                // SHUTDOWN saved already; a signal saves here, and stays up if that fails, as Redis does.
                let how = cmd::persist::ShutdownSave::Default;
                if why == Shutdown::Signal
                    && !cmd::persist::prepare_shutdown(&mut self.st, how, false)
                {
                    warn!("SIGTERM received but errors trying to shut down the server, check the logs for more information");
                    self.st.shutdown = None;
                    continue;
                }
                self.finish(why);
                return Ok(());
            }
        }
    }

    fn on_signal(&mut self) {
        if let Some(signals) = &mut self.signals {
            for sig in signals.pending() {
                let name = if sig == libc::SIGINT {
                    "SIGINT"
                } else {
                    "SIGTERM"
                };
                warn!("Received {name} scheduling shutdown...");
                self.st.shutdown = Some(Shutdown::Signal);
            }
        }
    }

    fn accept(&mut self, i: usize) {
        loop {
            // The socket may be gone: CONFIG SET bind/port replaced the listeners earlier in this batch.
            let Some(listener) = self.st.listeners.as_ref().and_then(|l| l.socks.get(i)) else {
                return;
            };
            match listener.accept() {
                Ok((sock, addr)) => self.admit(sock, addr),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // EMFILE and friends: the pending connection stays queued; try again next event.
                    warn!("Accepting client connection: {e}");
                    return;
                }
            }
        }
    }

    fn admit(&mut self, mut sock: TcpStream, addr: SocketAddr) {
        // Admission before allocation: over the limit, say why and drop the socket.
        if self.conns.len() >= self.st.cfg.maxclients as usize {
            let _ = sock.write(b"-ERR max number of clients reached\r\n");
            self.st.stats.rejected_conns += 1;
            return;
        }
        let _ = sock.set_nodelay(true);
        let entry = self.conns.vacant_entry();
        let token = Token(entry.key());
        if let Err(e) = self
            .poll
            .registry()
            .register(&mut sock, token, Interest::READABLE)
        {
            warn!("Registering client: {e}");
            return;
        }
        let id = self.st.next_client_id;
        self.st.next_client_id += 1;
        self.st.stats.connections += 1;
        let authed = self.st.cfg.requirepass.is_none();
        entry.insert(Conn::new(sock, id, addr, self.st.now, authed));
        debug!("Accepted {addr}");
    }

    /// One turn for a connection: read once, run every complete request, write the replies once.
    fn serve(&mut self, id: usize) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        if conn.close_after_reply || conn.kill {
            return;
        }
        if conn.blocked.is_some() {
            self.read_while_blocked(id);
            return;
        }
        let n = match conn.sock.read(&mut self.rshared) {
            Ok(0) => {
                debug!("Client closed connection id={}", conn.id);
                if conn.seg.is_some() || conn.pending_out() > 0 {
                    // Replies of this iteration still go out (a half-closed client reads them); the
                    // end-of-iteration flush closes it.
                    conn.close_after_reply = true;
                    self.st.queue_flush(&mut self.conns, id);
                } else {
                    self.close(id);
                }
                return;
            }
            Ok(n) => n,
            // Requests left behind while the client was blocked still need running.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock && !conn.rbuf.is_empty() => 0,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                self.mark_pending(id);
                return;
            }
            Err(e) => {
                debug!("Reading from client: {e}");
                self.close(id);
                return;
            }
        };
        self.st.stats.net_in += n as u64;
        conn.last_ms = self.st.now;
        // A partial request from an earlier turn lives in the connection's own buffer; otherwise parse
        // straight out of the shared one.
        let private = !conn.rbuf.is_empty();
        // Redis closes a client whose unparsed input passes client-query-buffer-limit: a request that
        // never ends, or an argument bigger than the limit.
        if private && (conn.rbuf.len() + n) as u64 > self.st.cfg.client_query_buffer_limit {
            let head = &conn.rbuf[..conn.rbuf.len().min(64)];
            warn!(
                "Closing client that reached max query buffer length: id={} addr={} (qbuf initial bytes: \"{}\")",
                conn.id,
                conn.addr,
                head.escape_ascii()
            );
            self.close(id);
            return;
        }
        let (input, len) = if private {
            conn.rbuf.extend_from_slice(&self.rshared[..n]);
            let b = std::mem::take(&mut conn.rbuf);
            let l = b.len();
            (b, l)
        } else {
            (std::mem::take(&mut self.rshared), n)
        };
        let mut parser = std::mem::take(&mut conn.parser);
        // Drop the already-sent prefix of unsent output before appending more, once it outweighs what is
        // left: a client that reads as fast as it pipelines keeps some output pending forever, and without
        // this its buffer grew by every byte ever sent to it (the limit below only sees `len - wpos`).
        // Compacting only then keeps the copying amortized O(1) per byte.
        if conn.wpos > 0 && conn.wpos >= conn.pending_out() {
            conn.wbuf.drain(..conn.wpos);
            conn.wpos = 0;
        }
        // Served twice in one iteration (a long pipeline): keep the first turn's replies first.
        conn.materialize(&self.st.arena);
        let out_private = conn.pending_out() > 0;
        let mut out = Out {
            buf: if out_private {
                std::mem::take(&mut conn.wbuf)
            } else {
                std::mem::take(&mut self.st.arena)
            },
            resp3: conn.resp3,
        };
        let mut db = conn.db;
        let mut unauth = !conn.authed;
        // Where this client's output starts in `out.buf`, for the output limit and the segment.
        let wpos = if out_private {
            conn.wpos
        } else {
            out.buf.len()
        };
        let hard = self.st.cfg.obuf[0].hard as usize;
        let mut consumed = 0;
        let mut stop = false;
        let mut paused = false;
        loop {
            match parser.parse(&input[consumed..len], unauth) {
                Parsed::Request(n) => {
                    let args = if parser.inline_scratch {
                        Args::new(&parser.scratch, &parser.args)
                    } else {
                        Args::new(&input[consumed..len], &parser.args)
                    };
                    let mut ctx = Ctx::new(&mut self.st, &mut self.conns, id, db, &mut out);
                    ctx.arena_in_out = !out_private;
                    cmd::dispatch(&mut ctx, &args);
                    db = ctx.db;
                    consumed += n;
                    if !self.st.waiters.ready.is_empty() {
                        // Served clients' earlier replies may sit in the arena: put it back meanwhile.
                        if !out_private {
                            self.st.arena = std::mem::take(&mut out.buf);
                        }
                        self.serve_ready_keys();
                        if !out_private {
                            out.buf = std::mem::take(&mut self.st.arena);
                        }
                    }
                    let c = &mut self.conns[id];
                    if c.blocked.is_some() {
                        // The rest of the pipeline waits until the client is unblocked.
                        paused = true;
                        break;
                    }
                    // AUTH earlier in the same pipeline lifts the unauthenticated limits for what follows,
                    // as in Redis, which checks per request.
                    unauth = !c.authed;
                    if c.close_after_reply || c.kill || self.st.shutdown.is_some() {
                        stop = true;
                        break;
                    }
                    if hard > 0 && out.buf.len() - wpos > hard {
                        warn!(
                            "Client id={} addr={} closed for overcoming of output buffer limits.",
                            c.id, c.addr
                        );
                        c.kill = true;
                        stop = true;
                        break;
                    }
                }
                Parsed::Empty(n) => consumed += n,
                Parsed::Incomplete => break,
                Parsed::Error(e) => {
                    e.write_reply(&mut out.buf);
                    self.st.count_error(b"ERR");
                    let c = &mut self.conns[id];
                    info!(
                        "Protocol error ({e:?}) from client: id={} addr={}",
                        c.id, c.addr
                    );
                    c.close_after_reply = true;
                    stop = true;
                    break;
                }
            }
        }
        let filled = n == READ_CHUNK;
        let conn = &mut self.conns[id];
        conn.db = db;
        conn.resp3 = out.resp3;
        if stop {
            parser = Default::default();
        }
        conn.parser = parser;
        if private {
            let mut input = input;
            if stop {
                input = Vec::new();
            } else {
                input.drain(..consumed);
                if input.is_empty() && input.capacity() > KEEP_BUF {
                    input = Vec::new();
                }
            }
            conn.rbuf = input;
        } else {
            if !stop && consumed < len {
                conn.rbuf.extend_from_slice(&input[consumed..len]);
            }
            self.rshared = input;
        }
        let produced = out.buf.len() > wpos;
        if out_private {
            conn.wbuf = out.buf;
        } else {
            let end = out.buf.len();
            self.st.arena = out.buf;
            if produced {
                conn.seg = Some((wpos, end));
            }
        }
        if produced || conn.close_after_reply {
            self.st.queue_flush(&mut self.conns, id);
        }
        let c = &self.conns[id];
        if c.kill {
            self.close(id);
        } else if (filled || c.read_closed) && !stop && !paused {
            self.mark_pending(id);
        }
    }

    /// Writes every connection given output this iteration: one write each, what the socket does not take
    /// moves to the connection's own buffer and waits for WRITABLE. Then closes those that asked for it.
    fn flush_all(&mut self) {
        let mut list = std::mem::take(&mut self.st.to_flush);
        for &id in &list {
            let Some(c) = self.conns.get_mut(id) else {
                continue;
            };
            c.flush_queued = false;
            if let Some((s, e)) = c.seg.take() {
                let chunk = &self.st.arena[s..e];
                let written = loop {
                    match c.sock.write(chunk) {
                        Ok(w) => break w,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break 0,
                        Err(e) => {
                            debug!("Writing to client: {e}");
                            c.kill = true;
                            break 0;
                        }
                    }
                };
                self.st.stats.net_out += written as u64;
                if written < chunk.len() && !c.kill {
                    c.wbuf.extend_from_slice(&chunk[written..]);
                    c.wpos = 0;
                    self.want_writable(id, true);
                }
            } else if c.pending_out() > 0 && !c.writable {
                self.flush(id);
                if self.conns.get(id).is_some_and(|c| c.pending_out() > 0) {
                    self.want_writable(id, true);
                }
            }
            if let Some(c) = self.conns.get(id) {
                if c.kill || (c.close_after_reply && c.pending_out() == 0) {
                    self.close(id);
                }
            }
        }
        list.clear();
        if self.st.to_flush.is_empty() {
            self.st.to_flush = list;
        }
        self.st.arena.clear();
        if self.st.arena.capacity() > 4 << 20 {
            self.st.arena = Vec::with_capacity(KEEP_BUF);
        }
    }

    fn mark_pending(&mut self, id: usize) {
        let c = &mut self.conns[id];
        if !c.pending {
            c.pending = true;
            self.pending.push(id);
        }
    }

    fn want_writable(&mut self, id: usize, on: bool) {
        let conn = &mut self.conns[id];
        if conn.writable == on {
            return;
        }
        let interest = if on {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        if self
            .poll
            .registry()
            .reregister(&mut conn.sock, Token(id), interest)
            .is_ok()
        {
            conn.writable = on;
        } else {
            conn.kill = true;
        }
    }

    /// Writes pending output on WRITABLE until the socket is full or the output is gone.
    fn flush(&mut self, id: usize) {
        let Some(conn) = self.conns.get_mut(id) else {
            return;
        };
        while conn.pending_out() > 0 {
            match conn.sock.write(&conn.wbuf[conn.wpos..]) {
                Ok(0) => {
                    conn.kill = true;
                    break;
                }
                Ok(w) => {
                    conn.wpos += w;
                    self.st.stats.net_out += w as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    debug!("Writing to client: {e}");
                    conn.kill = true;
                    break;
                }
            }
        }
        if conn.kill {
            self.close(id);
            return;
        }
        if conn.pending_out() == 0 {
            conn.wbuf = Vec::new();
            conn.wpos = 0;
            conn.soft_since_ms = 0;
            if conn.close_after_reply {
                self.close(id);
                return;
            }
            self.want_writable(id, false);
        }
    }

    /// Sends BCAST tracking clients the keys changed under their prefixes, before the loop sleeps.
    fn tracking_broadcast(&mut self) {
        if self.st.tracking.bcast_pending {
            let mut out = Out::default();
            let mut ctx = Ctx::new(&mut self.st, &mut self.conns, usize::MAX, 0, &mut out);
            cmd::tracking::broadcast(&mut ctx);
            self.after_turn();
        }
    }

    /// Work a turn leaves behind: closes killed clients, ends waits CLIENT UNBLOCK asked to end, and
    /// flushes clients given output outside their turn.
    fn after_turn(&mut self) {
        self.close_killed();
        while let Some((cid, error)) = self.st.waiters.unblock_requests.pop() {
            let msg: &[u8] = b"UNBLOCKED client unblocked via CLIENT UNBLOCK";
            self.unblock_with(cid, error.then_some(msg));
        }
        if !self.st.waiters.wake.is_empty() {
            self.wake();
        }
    }

    /// Closes the connections commands marked for closing during the last turn.
    fn close_killed(&mut self) {
        while let Some(id) = self.st.to_close.pop() {
            self.close(id);
        }
    }

    /// A blocked client is not served, but its socket is still read: an EOF must free it (or a later push
    /// would hand data to a dead client), and requests it pipelines wait in its buffer, up to a bound.
    fn read_while_blocked(&mut self, id: usize) {
        let conn = &mut self.conns[id];
        if conn.rbuf.len() > 1 << 20 {
            return;
        }
        match conn.sock.read(&mut self.rshared) {
            Ok(0) => self.close(id),
            Ok(n) => {
                self.st.stats.net_in += n as u64;
                conn.rbuf.extend_from_slice(&self.rshared[..n]);
                if n == READ_CHUNK {
                    self.mark_pending(id);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => self.mark_pending(id),
            Err(_) => self.close(id),
        }
    }

    /// Serves clients blocked on keys that were signalled, first come first served, until each key's
    /// queue is empty or its first waiter still finds nothing.
    fn serve_ready_keys(&mut self) {
        while let Some((db, key)) = self.st.waiters.ready.pop_front() {
            while let Some(&cid) = self.st.waiters.blocked[db]
                .get(&key)
                .and_then(|q| q.front())
            {
                let Some(b) = self.conns.get_mut(cid).and_then(|c| c.blocked.take()) else {
                    // Not a blocked client any more: drop the stale entry.
                    if let Some(q) = self.st.waiters.blocked[db].get_mut(&key) {
                        q.pop_front();
                    }
                    continue;
                };
                let c = &mut self.conns[cid];
                c.materialize(&self.st.arena);
                let mut out = Out {
                    buf: std::mem::take(&mut c.wbuf),
                    resp3: c.resp3,
                };
                let args = b.cmd.args();
                let mut ctx = Ctx::new(&mut self.st, &mut self.conns, cid, b.db, &mut out);
                ctx.reexec = true;
                ctx.ready_key = Some(&key);
                cmd::dispatch(&mut ctx, &args);
                let still = ctx.still_blocked;
                let c = &mut self.conns[cid];
                c.wbuf = out.buf;
                if still {
                    c.blocked = Some(b);
                    break;
                }
                self.st.waiters.unblock(cid, b.db, &b.keys, b.deadline);
                self.st.waiters.wake.push(cid);
            }
        }
    }

    /// Answers blocked clients whose deadline has passed with their timeout reply.
    fn expire_blocks(&mut self) {
        let now = unix_ms();
        while let Some(&(at, cid)) = self.st.waiters.timers.first() {
            if at > now {
                break;
            }
            self.st.waiters.timers.pop_first();
            self.unblock_with(cid, None);
        }
    }

    /// Ends client `cid`'s wait: with its timeout reply (`err` None) or with an error reply.
    pub fn unblock_with(&mut self, cid: usize, err: Option<&[u8]>) {
        // WAIT answers how many replicas acknowledged its offset by now.
        let acked = self
            .conns
            .get(cid)
            .and_then(|c| c.blocked.as_ref()?.wait)
            .map(|(offset, _)| cmd::repl::acks_for(&self.st, &self.conns, offset));
        let Some(c) = self.conns.get_mut(cid) else {
            return;
        };
        let Some(b) = c.blocked.take() else {
            return;
        };
        c.materialize(&self.st.arena);
        let mut out = Out {
            buf: std::mem::take(&mut c.wbuf),
            resp3: c.resp3,
        };
        let start = out.buf.len();
        match err {
            Some(e) => {
                out.error(e);
                self.st.count_error(e);
                if let Some(i) = c.last_cmd {
                    self.st.cmdstats[i].failed += 1;
                }
            }
            None if acked.is_some() => out.int(acked.unwrap_or(0)),
            None if b.timeout_null_array => out.null_array(),
            None => out.null(),
        }
        if c.reply != 0 {
            c.finish_reply(&mut out.buf, start);
        }
        c.wbuf = out.buf;
        self.st.waiters.unblock(cid, b.db, &b.keys, b.deadline);
        self.st.waiters.wake.push(cid);
    }

    /// Flushes connections given output outside their own turn, and resumes unblocked ones.
    fn wake(&mut self) {
        while let Some(id) = self.st.waiters.wake.pop() {
            let Some(c) = self.conns.get_mut(id) else {
                continue;
            };
            if c.blocked.is_none() && !c.rbuf.is_empty() {
                self.mark_pending(id);
            }
            self.st.queue_flush(&mut self.conns, id);
        }
    }

    fn close(&mut self, id: usize) {
        if let Some(c) = self.conns.get_mut(id) {
            crate::cmd::monitor::stop(&mut self.st, c, id);
            crate::cmd::multi::unwatch_all(&mut self.st, &mut self.conns, id);
        }
        if let Some(c) = self.conns.get_mut(id) {
            cmd::tracking::disable(&mut self.st, c, id);
        }
        if let Some(mut conn) = self.conns.try_remove(id) {
            if let Some(b) = conn.blocked.take() {
                self.st.waiters.unblock(id, b.db, &b.keys, b.deadline);
            }
            if conn.replica {
                self.st.replicas.retain(|&r| r != id);
                if self.st.replicas.is_empty() {
                    for db in self.st.dbs.iter_mut() {
                        db.track_expired = self.st.waiters.watch_count > 0;
                    }
                }
            }
            let w = &mut self.st.waiters;
            for ch in &conn.channels {
                waiters::Waiters::unsubscribe(&mut w.channels, ch, id);
            }
            for p in &conn.patterns {
                waiters::Waiters::unsubscribe(&mut w.patterns, p, id);
            }
            for ch in &conn.shard_channels {
                waiters::Waiters::unsubscribe(&mut w.shard_channels, ch, id);
            }
            let _ = self.poll.registry().deregister(&mut conn.sock);
            debug!("Closed client id={} addr={}", conn.id, conn.addr);
        }
    }

    /// Periodic work at `hz`: active expiry within a time budget, idle timeouts, output soft limits, stats.
    fn cron(&mut self) {
        /// Entries moved per database per tick while compacting: about a millisecond of work.
        const COMPACT_PER_TICK: usize = 16_384;
        let now = self.st.now;
        let period = 1000 / self.st.cfg.hz.max(1) as u64;
        self.next_cron = now + period;
        if self.st.active_expire {
            // A quarter of the period at most, checked every 64 keys, so the loop never stalls.
            let started = Instant::now();
            let deadline = started + Duration::from_millis((period / 4).max(1));
            'dbs: for db in self.st.dbs.iter_mut() {
                while db.expires_len() > 0 {
                    if db.active_expire(now, 64) < 64 {
                        break;
                    }
                    if Instant::now() >= deadline {
                        break 'dbs;
                    }
                }
            }
            let ms = started.elapsed().as_millis() as u64;
            cmd::slowlog::add_sample_if_needed(&mut self.st, "expire-cycle", ms);
        }
        cmd::persist::cron(&mut self.st);
        // Deleted keys give their arena slots back (Redis shrinks its dicts in cron too); bounded per tick.
        for db in self.st.dbs.iter_mut() {
            db.compact_step(COMPACT_PER_TICK);
        }
        if cmd::notify::pending() {
            // Keys the active cycle reclaimed tell their subscribers (keyspace notifications).
            let mut out = Out::default();
            let mut ctx = Ctx::new(&mut self.st, &mut self.conns, usize::MAX, 0, &mut out);
            cmd::notify::flush_logged(&mut ctx);
            self.after_turn();
        }
        if self.st.cfg.maxmemory_clients != 0 {
            cmd::connection::evict_clients(&mut self.st, &mut self.conns);
            self.close_killed();
        }
        if self.st.cfg.maxmemory > 0 && cmd::server::evict::pending() {
            // An eviction run that ran out of time goes on here, as Redis's eviction timer does.
            let mut out = Out::default();
            let mut ctx = Ctx::new(&mut self.st, &mut self.conns, usize::MAX, 0, &mut out);
            cmd::server::evict::perform(&mut ctx);
            self.after_turn();
        }
        if self.st.waiters.watch_count > 0
            || !self.st.replicas.is_empty()
            || self.st.tracking.active()
        {
            let mut out = Out::default();
            let mut ctx = Ctx::new(&mut self.st, &mut self.conns, usize::MAX, 0, &mut out);
            cmd::after_expiry(&mut ctx);
            if ctx.st.tracking.active() {
                cmd::tracking::limit(&mut ctx);
            }
            self.after_turn();
        }
        let timeout_ms = self.st.cfg.timeout * 1000;
        let limits = self.st.cfg.obuf;
        let mut doomed = Vec::new();
        for (id, c) in self.conns.iter_mut() {
            // As in Redis, subscribers never time out for idleness and have limits of their own (pubsub).
            let pubsub = c.subscriptions() > 0;
            let soft = limits[if pubsub { 2 } else { 0 }];
            if timeout_ms > 0
                && !pubsub
                && now.saturating_sub(c.last_ms) > timeout_ms
                && c.pending_out() == 0
            {
                debug!("Closing idle client id={}", c.id);
                doomed.push(id);
                continue;
            }
            if soft.soft > 0 && c.pending_out() as u64 > soft.soft {
                if c.soft_since_ms == 0 {
                    c.soft_since_ms = now;
                } else if now - c.soft_since_ms > soft.soft_secs * 1000 {
                    warn!(
                        "Client id={} closed for overcoming of output buffer limits.",
                        c.id
                    );
                    doomed.push(id);
                }
            } else {
                c.soft_since_ms = 0;
            }
            if c.kill {
                doomed.push(id);
            }
        }
        for id in doomed {
            self.close(id);
        }
        let s = &mut self.st.stats;
        if now >= s.last_sample_ms + 100 {
            let dt = (now - s.last_sample_ms).max(1);
            let ops = (s.commands - s.last_sample_cmds) * 1000 / dt;
            s.ops_samples[s.ops_sample_idx % 16] = ops;
            s.ops_sample_idx += 1;
            s.last_sample_ms = now;
            s.last_sample_cmds = s.commands;
        }
    }

    /// Stops accepting, gives pending replies a moment to leave, and removes the pidfile.
    fn finish(&mut self, why: Shutdown) {
        warn!("User requested shutdown ({why:?})...");
        if let Some(l) = &mut self.st.listeners {
            l.close();
        }
        let deadline = Instant::now() + Duration::from_millis(500);
        loop {
            let ids: Vec<usize> = self
                .conns
                .iter()
                .filter(|(_, c)| c.pending_out() > 0)
                .map(|(id, _)| id)
                .collect();
            if ids.is_empty() || Instant::now() >= deadline {
                break;
            }
            for id in ids {
                self.flush(id);
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if !self.st.cfg.pidfile.is_empty() {
            let _ = std::fs::remove_file(&self.st.cfg.pidfile);
        }
        warn!("ferrokv is now ready to exit, bye bye...");
    }
}

impl Server {
    /// Writes the process id to the configured pidfile, if any.
    pub fn write_pidfile(&self) -> io::Result<()> {
        if self.st.cfg.pidfile.is_empty() {
            return Ok(());
        }
        std::fs::write(&self.st.cfg.pidfile, format!("{}\n", std::process::id()))
    }
}

/// Raises RLIMIT_NOFILE so `maxclients` connections fit, with headroom for the listener and logs, as Redis
/// does at startup; if the hard limit is lower, warns and keeps what it can get.
pub fn raise_fd_limit(maxclients: u32) {
    let want = maxclients as u64 + 32;
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed in.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return;
        }
        if lim.rlim_cur >= want {
            return;
        }
        let target = if lim.rlim_max < want {
            lim.rlim_max
        } else {
            want
        };
        lim.rlim_cur = target;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 || target < want {
            warn!(
                "Open files limit is {}: fewer than maxclients {maxclients} + 32 can be served",
                target
            );
        }
    }
}
