//! The load engine: each thread runs one mio loop over its share of the connections (never a thread per
//! connection). A run has three phases per thread: connect (bounded concurrency, every connection proves
//! itself with a PING so the clock starts on a server that has really accepted it), a start line shared
//! by all threads, and the timed run, closed-loop like redis-benchmark (each connection sends `-P`
//! requests in one write and waits for all replies) or open-loop with `--rate` (requests leave on a fixed
//! schedule and latency counts from the scheduled time, so a stall cannot hide behind requests that were
//! never sent: coordinated omission corrected, as wrk2 and memtier do).
//!
//! Per request the cost is a template copy with 12 digits patched, a share of one `write` per batch and
//! one `read` per readable event, a reply framing pass that allocates nothing, and one histogram bump.

use crate::cli::{Config, Stop};
use crate::hist::Histogram;
use crate::resp;
use crate::workload::{KeyGen, Test};
use mio::net::TcpStream;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token};
use std::collections::VecDeque;
use std::io::{self, IsTerminal, Read, Write};
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Connections in the connect phase at once per thread: enough to connect thousands per second, few
/// enough not to overflow the server's accept backlog (a dropped SYN costs a 1 s retransmit).
const MAX_CONNECTING: usize = 256;
/// The connect phase fails when no connection has become ready for this long.
const CONNECT_STALL: Duration = Duration::from_secs(10);
/// Read scratch shared by a thread's connections: idle connections hold no buffer.
const RBUF: usize = 64 * 1024;
const TIMER: Token = Token(usize::MAX - 1);
/// How often threads publish progress and notice that another thread failed.
const TICK: Duration = Duration::from_millis(100);
/// Marks a thread that stopped because another failed; the first real error is what gets reported.
const ABORTED: &str = "aborted";

/// Counts of one command over a run.
#[derive(Default)]
pub struct OpStats {
    pub hist: Histogram,
    /// Replies received (errors included).
    pub requests: u64,
    /// Error replies among them.
    pub errors: u64,
    pub first_error: Option<String>,
    /// Open-loop requests still unanswered at the hard deadline (recorded in `hist` at the time they
    /// had waited so far, a lower bound).
    pub timeouts: u64,
}

impl OpStats {
    fn merge(&mut self, o: OpStats) {
        self.hist.merge(&o.hist);
        self.requests += o.requests;
        self.errors += o.errors;
        self.timeouts += o.timeouts;
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
    }
}

/// What one test measured, all threads merged.
pub struct RunResult {
    /// Per op of the test, in its order.
    pub ops: Vec<OpStats>,
    /// From the start of measurement (after warmup) to the last counted reply.
    pub elapsed: Duration,
    pub idle_held: usize,
    pub idle_closed: usize,
    pub idle_close_reason: Option<String>,
    /// This process's CPU time over the run divided by the wall time and the threads: near 1.0 the client
    /// itself was the bottleneck, and the figures say more about it than about the server.
    pub client_busy: f64,
}

/// User plus system CPU time of this process so far.
fn process_cpu() -> Duration {
    // SAFETY: getrusage only writes the struct it is given.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// One thread's share.
#[derive(Clone, Copy, Debug)]
struct Part {
    active: usize,
    idle: usize,
    requests: u64,
    rate: Option<f64>,
}

/// What the threads share: the start line, the abort flag, and progress counters.
struct Shared {
    abort: AtomicBool,
    ready: AtomicUsize,
    finished: AtomicUsize,
    done: Vec<AtomicU64>,
    p99_ns: Vec<AtomicU64>,
}

struct ThreadOut {
    ops: Vec<OpStats>,
    window_start: Instant,
    last_reply: Option<Instant>,
    idle_closed: usize,
    idle_reason: Option<String>,
}

/// Runs one test with every thread and merges what they measured.
pub fn run(cfg: &Config, test: &Test, progress: bool) -> Result<RunResult, String> {
    let parts = partition(cfg);
    let (handshake, handshake_replies) = handshake(cfg);
    let shared = Shared {
        abort: AtomicBool::new(false),
        ready: AtomicUsize::new(0),
        finished: AtomicUsize::new(0),
        done: (0..parts.len()).map(|_| AtomicU64::new(0)).collect(),
        p99_ns: (0..parts.len()).map(|_| AtomicU64::new(0)).collect(),
    };
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0x5eed, |d| d.as_nanos() as u64);
    let (cpu0, wall0) = (process_cpu(), Instant::now());
    let outs: Vec<Result<ThreadOut, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .iter()
            .enumerate()
            .map(|(t, part)| {
                let ctx = ThreadCtx {
                    cfg,
                    test,
                    shared: &shared,
                    me: t,
                    part: *part,
                    handshake: &handshake,
                    handshake_replies,
                    seed: seed ^ (t as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15),
                };
                s.spawn(move || {
                    let r = run_thread(&ctx);
                    if r.is_err() {
                        ctx.shared.abort.store(true, Ordering::Relaxed);
                    }
                    ctx.shared.finished.fetch_add(1, Ordering::Release);
                    r
                })
            })
            .collect();
        if progress {
            show_progress(&shared, parts.len(), &test.title);
        }
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err("a worker thread panicked".to_string()))
            })
            .collect()
    });
    let wall = wall0.elapsed().as_secs_f64() * parts.len() as f64;
    let client_busy = if wall > 0.0 {
        process_cpu().saturating_sub(cpu0).as_secs_f64() / wall
    } else {
        0.0
    };
    let mut merged: Vec<OpStats> = test.ops.iter().map(|_| OpStats::default()).collect();
    let (mut start, mut end): (Option<Instant>, Option<Instant>) = (None, None);
    let (mut idle_closed, mut idle_close_reason) = (0, None);
    let mut failure = None;
    for out in outs {
        match out {
            Ok(o) => {
                for (m, s) in merged.iter_mut().zip(o.ops) {
                    m.merge(s);
                }
                start = Some(start.map_or(o.window_start, |s| s.min(o.window_start)));
                if let Some(l) = o.last_reply {
                    end = Some(end.map_or(l, |e| e.max(l)));
                }
                idle_closed += o.idle_closed;
                if idle_close_reason.is_none() {
                    idle_close_reason = o.idle_reason;
                }
            }
            Err(e) if e == ABORTED => {}
            Err(e) => failure = failure.or(Some(e)),
        }
    }
    if let Some(e) = failure {
        return Err(e);
    }
    let elapsed = match (start, end) {
        (Some(s), Some(e)) => e.saturating_duration_since(s),
        _ => Duration::ZERO,
    };
    Ok(RunResult {
        ops: merged,
        elapsed,
        idle_held: cfg.idle,
        idle_closed,
        idle_close_reason,
        client_busy,
    })
}

/// Splits connections, requests and rate over the threads in proportion to their connections.
fn partition(cfg: &Config) -> Vec<Part> {
    let t = cfg.threads;
    let total = match cfg.stop {
        Stop::Requests(n) => n,
        Stop::Duration(_) => 0,
    };
    let mut parts = Vec::with_capacity(t);
    let mut before = 0usize;
    for i in 0..t {
        let active = cfg.clients / t + usize::from(i < cfg.clients % t);
        let share = |n: u64| {
            let lo = (n as u128 * before as u128 / cfg.clients as u128) as u64;
            let hi = (n as u128 * (before + active) as u128 / cfg.clients as u128) as u64;
            hi - lo
        };
        parts.push(Part {
            active,
            idle: cfg.idle / t + usize::from(i < cfg.idle % t),
            requests: share(total),
            rate: cfg.rate.map(|r| r * active as f64 / cfg.clients as f64),
        });
        before += active;
    }
    parts
}

/// AUTH and SELECT as configured, then a PING that proves the server has accepted the connection.
fn handshake(cfg: &Config) -> (Vec<u8>, usize) {
    let mut out = Vec::new();
    let mut n = 0;
    if let Some(pw) = &cfg.password {
        match &cfg.user {
            Some(u) => out.extend(resp::encode(&[b"AUTH", u.as_bytes(), pw.as_bytes()])),
            None => out.extend(resp::encode(&[b"AUTH", pw.as_bytes()])),
        }
        n += 1;
    }
    if let Some(db) = cfg.dbnum {
        out.extend(resp::encode(&[b"SELECT", db.to_string().as_bytes()]));
        n += 1;
    }
    out.extend(resp::encode(&[b"PING"]));
    (out, n + 1)
}

/// The live line on stderr: elapsed, ops/s over the last interval, and the worst thread's p99 so far.
fn show_progress(shared: &Shared, threads: usize, title: &str) {
    let start = Instant::now();
    let mut last = (start, 0u64);
    let mut err = io::stderr();
    while shared.finished.load(Ordering::Acquire) < threads {
        std::thread::sleep(Duration::from_millis(250));
        let now = Instant::now();
        let done: u64 = shared.done.iter().map(|d| d.load(Ordering::Relaxed)).sum();
        let p99 = shared
            .p99_ns
            .iter()
            .map(|d| d.load(Ordering::Relaxed))
            .max()
            .unwrap_or(0);
        let dt = now.duration_since(last.0).as_secs_f64();
        let rate = done.saturating_sub(last.1) as f64 / dt;
        last = (now, done);
        let _ = write!(
            err,
            "\r\x1b[K{title}: {:.1} s, {rate:.0} ops/s, p99 {:.3} ms",
            now.duration_since(start).as_secs_f64(),
            p99 as f64 / 1e6
        );
        let _ = err.flush();
    }
    let _ = write!(err, "\r\x1b[K");
    let _ = err.flush();
}

/// Whether the progress line should be drawn at all.
pub fn progress_wanted() -> bool {
    io::stderr().is_terminal()
}

struct ThreadCtx<'a> {
    cfg: &'a Config,
    test: &'a Test,
    shared: &'a Shared,
    me: usize,
    part: Part,
    handshake: &'a [u8],
    handshake_replies: usize,
    seed: u64,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Phase {
    Connecting,
    /// Handshake replies still expected.
    Handshake(usize),
    Ready,
    Closed,
}

struct Conn {
    stream: TcpStream,
    phase: Phase,
    /// Send (closed loop) or scheduled (open loop) time in ns since the thread's base, and op index,
    /// of each request awaiting its reply, oldest first.
    inflight: VecDeque<(u64, u8)>,
    /// The incomplete tail of a reply that spans reads; usually empty.
    partial: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    /// Requests this connection has issued (picks the op of a mix).
    seq: u64,
    /// Open loop: scheduled requests of this connection already sent.
    sent: u64,
    dirty: bool,
    /// The last error reply seen (empty: none), quoted if the server then closes the connection; the
    /// buffer is reused so a run of error replies allocates nothing per reply.
    last_error: String,
}

struct Worker<'a> {
    ctx: &'a ThreadCtx<'a>,
    addr: SocketAddr,
    conns: Vec<Conn>,
    rbuf: Box<[u8]>,
    keys: KeyGen,
    stats: Vec<OpStats>,
    base: Instant,
    /// Requests sent (or scheduled) before this many ns after `base` are warmup, not counted.
    warm_ns: u64,
    last_reply_ns: Option<u64>,
    inflight: usize,
    dirty: Vec<usize>,
    counted: u64,
    last_publish: u64,
    idle_closed: usize,
    idle_reason: Option<String>,
}

fn run_thread(ctx: &ThreadCtx) -> Result<ThreadOut, String> {
    let mut poll = Poll::new().map_err(|e| format!("cannot create an event loop: {e}"))?;
    let mut events = Events::with_capacity(1024);
    let mut w = Worker {
        ctx,
        addr: ctx.cfg.addr,
        conns: Vec::with_capacity(ctx.part.active + ctx.part.idle),
        rbuf: vec![0; RBUF].into_boxed_slice(),
        keys: KeyGen::new(ctx.cfg.keys, ctx.seed),
        stats: ctx.test.ops.iter().map(|_| OpStats::default()).collect(),
        base: Instant::now(),
        warm_ns: 0,
        last_reply_ns: None,
        inflight: 0,
        dirty: Vec::new(),
        counted: 0,
        last_publish: 0,
        idle_closed: 0,
        idle_reason: None,
    };
    w.connect_all(&mut poll, &mut events)?;
    // The start line: every thread's connections are up before anyone's clock starts.
    ctx.shared.ready.fetch_add(1, Ordering::AcqRel);
    while ctx.shared.ready.load(Ordering::Acquire) < ctx.shared.done.len() {
        if ctx.shared.abort.load(Ordering::Relaxed) {
            return Err(ABORTED.into());
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    w.base = Instant::now();
    w.warm_ns = ctx.cfg.warmup.as_nanos() as u64;
    match ctx.part.rate {
        None => w.closed_loop(&mut poll, &mut events)?,
        Some(rate) => w.open_loop(&mut poll, &mut events, rate)?,
    }
    w.publish(u64::MAX);
    let window_start = w.base + Duration::from_nanos(w.warm_ns);
    Ok(ThreadOut {
        last_reply: w.last_reply_ns.map(|ns| w.base + Duration::from_nanos(ns)),
        ops: std::mem::take(&mut w.stats),
        window_start,
        idle_closed: w.idle_closed,
        idle_reason: w.idle_reason.take(),
    })
}

impl Worker<'_> {
    #[inline]
    fn now(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    fn aborted(&self) -> Result<(), String> {
        if self.ctx.shared.abort.load(Ordering::Relaxed) {
            Err(ABORTED.into())
        } else {
            Ok(())
        }
    }

    /// Opens every active and idle connection and runs the handshake on each, a bounded number at once.
    fn connect_all(&mut self, poll: &mut Poll, events: &mut Events) -> Result<(), String> {
        let total = self.ctx.part.active + self.ctx.part.idle;
        let (mut ready, mut pending) = (0usize, 0usize);
        let mut last_progress = Instant::now();
        while ready < total {
            while self.conns.len() < total && pending < MAX_CONNECTING {
                let i = self.conns.len();
                let mut stream =
                    TcpStream::connect(self.addr).map_err(|e| connect_error(self.addr, &e))?;
                poll.registry()
                    .register(
                        &mut stream,
                        Token(i),
                        Interest::READABLE | Interest::WRITABLE,
                    )
                    .map_err(|e| format!("cannot register a socket with epoll: {e}"))?;
                self.conns.push(Conn {
                    stream,
                    phase: Phase::Connecting,
                    inflight: VecDeque::with_capacity(if i < self.ctx.part.active {
                        self.ctx.cfg.pipeline
                    } else {
                        0
                    }),
                    partial: Vec::new(),
                    out: Vec::new(),
                    out_pos: 0,
                    // Staggered so the connections of a mix do not all send SET at once.
                    seq: i as u64,
                    sent: 0,
                    dirty: false,
                    last_error: String::new(),
                });
                pending += 1;
            }
            poll_events(poll, events, Some(TICK))?;
            self.aborted()?;
            for ev in events.iter() {
                let i = ev.token().0;
                let Some(conn) = self.conns.get_mut(i) else {
                    continue;
                };
                if conn.phase == Phase::Connecting {
                    if let Some(e) = conn.stream.take_error().unwrap_or_else(Some) {
                        return Err(connect_error(self.addr, &e));
                    }
                    match conn.stream.peer_addr() {
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::NotConnected => continue,
                        Err(e) => return Err(connect_error(self.addr, &e)),
                    }
                    let _ = conn.stream.set_nodelay(true);
                    conn.out.extend_from_slice(self.ctx.handshake);
                    conn.phase = Phase::Handshake(self.ctx.handshake_replies);
                }
                flush(conn).map_err(|e| format!("write to {} failed: {e}", self.addr))?;
                let mut done = 0usize;
                let mut refused = None;
                let open = drain(
                    &mut conn.stream,
                    &mut conn.partial,
                    &mut self.rbuf,
                    self.base,
                    |reply, error, _| {
                        if error && refused.is_none() {
                            refused = Some(resp::error_text(reply));
                        }
                        done += 1;
                    },
                )
                .map_err(|e| format!("{}: {e}", self.addr))?;
                if let Some(e) = refused {
                    let hint = if e.contains("max number of clients") {
                        " (the server's maxclients setting is lower than -c plus --idle)"
                    } else {
                        ""
                    };
                    return Err(format!(
                        "server at {} refused connection {} of {}: {e}{hint}",
                        self.addr,
                        i + 1,
                        total
                    ));
                }
                if !open {
                    return Err(format!(
                        "server at {} closed connection {} of {} during the handshake",
                        self.addr,
                        i + 1,
                        total
                    ));
                }
                if let Phase::Handshake(left) = conn.phase {
                    if done >= left {
                        conn.phase = Phase::Ready;
                        ready += 1;
                        pending -= 1;
                        last_progress = Instant::now();
                    } else {
                        conn.phase = Phase::Handshake(left - done);
                    }
                }
            }
            if pending > 0 && last_progress.elapsed() > CONNECT_STALL {
                return Err(format!(
                    "{pending} connections to {} made no progress for {} s ({ready} of {total} ready): \
                     the server is not accepting connections or not answering PING",
                    self.addr,
                    CONNECT_STALL.as_secs()
                ));
            }
        }
        Ok(())
    }

    /// Closed loop, as redis-benchmark: every connection keeps one batch of `-P` requests in flight and
    /// sends the next when the whole batch is answered.
    fn closed_loop(&mut self, poll: &mut Poll, events: &mut Events) -> Result<(), String> {
        let mut budget = self.ctx.part.requests;
        let stop_ns = match self.ctx.cfg.stop {
            Stop::Duration(d) => Some(self.warm_ns + d.as_nanos() as u64),
            Stop::Requests(_) => None,
        };
        let now = self.now();
        for i in 0..self.ctx.part.active {
            self.issue_batch(i, now, &mut budget, stop_ns)?;
        }
        while self.inflight > 0 {
            poll_events(poll, events, Some(TICK))?;
            self.aborted()?;
            for ev in events.iter() {
                let i = ev.token().0;
                if i >= self.ctx.part.active {
                    self.on_idle_event(i);
                    continue;
                }
                let now = self.on_replies(i)?;
                if self.conns[i].inflight.is_empty() {
                    self.issue_batch(i, now, &mut budget, stop_ns)?;
                } else if ev.is_writable() {
                    flush(&mut self.conns[i])
                        .map_err(|e| format!("write to {} failed: {e}", self.addr))?;
                }
            }
            let now = self.now();
            self.publish(now);
        }
        Ok(())
    }

    /// Queues and writes connection `i`'s next batch, if the run still issues requests.
    fn issue_batch(
        &mut self,
        i: usize,
        now: u64,
        budget: &mut u64,
        stop_ns: Option<u64>,
    ) -> Result<(), String> {
        let p = self.ctx.cfg.pipeline as u64;
        let n = if now < self.warm_ns {
            p
        } else if let Some(stop) = stop_ns {
            if now < stop {
                p
            } else {
                0
            }
        } else {
            let n = p.min(*budget);
            *budget -= n;
            n
        };
        if n == 0 {
            return Ok(());
        }
        let conn = &mut self.conns[i];
        for _ in 0..n {
            let op = self.ctx.test.pick(conn.seq);
            conn.seq += 1;
            self.keys.write(&self.ctx.test.ops[op], &mut conn.out);
            conn.inflight.push_back((now, op as u8));
        }
        self.inflight += n as usize;
        flush(conn).map_err(|e| format!("write to {} failed: {e}", self.addr))
    }

    /// Reads what connection `i` has, records each reply against its request, and returns the time
    /// the replies were seen. A closed connection or a reply nobody asked for ends the run.
    fn on_replies(&mut self, i: usize) -> Result<u64, String> {
        let conn = &mut self.conns[i];
        let stats = &mut self.stats;
        let warm = self.warm_ns;
        let mut seen = 0u64;
        let mut counted = 0u64;
        let mut answered = 0usize;
        let mut stray = false;
        let open = drain(
            &mut conn.stream,
            &mut conn.partial,
            &mut self.rbuf,
            self.base,
            |reply, error, now| {
                seen = now;
                if error {
                    resp::error_text_into(reply, &mut conn.last_error);
                }
                let Some((sent, op)) = conn.inflight.pop_front() else {
                    stray = true;
                    return;
                };
                answered += 1;
                if sent < warm {
                    return;
                }
                let s = &mut stats[op as usize];
                s.hist.record(now.saturating_sub(sent));
                s.requests += 1;
                counted += 1;
                if error {
                    s.errors += 1;
                    if s.first_error.is_none() {
                        s.first_error = Some(conn.last_error.clone());
                    }
                }
            },
        )
        .map_err(|e| format!("{}: {e}", self.addr))?;
        self.inflight -= answered;
        self.counted += counted;
        if counted > 0 {
            self.last_reply_ns = Some(seen);
        }
        if !open {
            let why = if conn.last_error.is_empty() {
                String::new()
            } else {
                format!(" (its last error reply: {})", conn.last_error)
            };
            return Err(format!(
                "server at {} closed a benchmark connection during the run{why}",
                self.addr
            ));
        }
        if stray {
            let why = if conn.last_error.is_empty() {
                String::new()
            } else {
                format!(": {}", conn.last_error)
            };
            return Err(format!(
                "server at {} sent a reply nobody asked for{why}",
                self.addr
            ));
        }
        Ok(if seen == 0 { self.now() } else { seen })
    }

    /// An idle connection spoke: the server closing it (timeout, maxclients, kill) is counted and kept
    /// for the report; anything else is drained and ignored.
    fn on_idle_event(&mut self, i: usize) {
        let conn = &mut self.conns[i];
        if conn.phase == Phase::Closed {
            return;
        }
        let mut last = None;
        let r = drain(
            &mut conn.stream,
            &mut conn.partial,
            &mut self.rbuf,
            self.base,
            |reply, error, _| {
                if error {
                    last = Some(resp::error_text(reply));
                }
            },
        );
        let reason = match r {
            Ok(true) => return,
            Ok(false) => last.unwrap_or_else(|| "closed by the server".into()),
            Err(e) => e,
        };
        conn.phase = Phase::Closed;
        self.idle_closed += 1;
        self.idle_reason.get_or_insert(reason);
    }

    /// Open loop: request `k` of this thread is due `k * period` after the start and goes to connection
    /// `k % active`. A connection with `-P` requests in flight falls behind; it catches up as replies
    /// come, and its late requests still count their latency from when they were due.
    fn open_loop(&mut self, poll: &mut Poll, events: &mut Events, rate: f64) -> Result<(), String> {
        let active = self.ctx.part.active as u64;
        let period = 1e9 / rate;
        let due = |k: u64| (k as f64 * period) as u64;
        let first_counted = (self.warm_ns as f64 / period).ceil() as u64;
        let end_k = match self.ctx.cfg.stop {
            Stop::Requests(_) => first_counted + self.ctx.part.requests,
            Stop::Duration(d) => {
                ((self.warm_ns + d.as_nanos() as u64) as f64 / period).ceil() as u64
            }
        };
        let schedule_end = due(end_k);
        // A server slower than the rate gets as long again (at least 5 s) to drain the backlog; what is
        // still unanswered then is recorded at the time it has waited so far and reported as timeouts.
        let deadline = schedule_end + schedule_end.max(5_000_000_000);
        let mut timer = Timer::new(poll.registry())?;
        let mut armed = u64::MAX;
        let mut next_k = 0u64;
        let mut sent_total = 0u64;
        loop {
            let now = self.now();
            while next_k < end_k && due(next_k) <= now {
                let j = (next_k % active) as usize;
                let conn = &mut self.conns[j];
                if conn.sent == next_k / active && conn.inflight.len() < self.ctx.cfg.pipeline {
                    self.queue_scheduled(j, due(next_k));
                    sent_total += 1;
                }
                next_k += 1;
            }
            self.flush_dirty()?;
            if next_k >= end_k && sent_total >= end_k && self.inflight == 0 {
                return Ok(());
            }
            if now >= deadline {
                self.expire_unanswered(now, next_k, &due);
                return Ok(());
            }
            if next_k < end_k && due(next_k) != armed {
                armed = due(next_k);
                timer.arm(armed.saturating_sub(self.now()))?;
            }
            poll_events(poll, events, Some(TICK))?;
            self.aborted()?;
            for ev in events.iter() {
                let i = ev.token().0;
                if ev.token() == TIMER {
                    timer.clear();
                    armed = u64::MAX;
                    continue;
                }
                if i >= self.ctx.part.active {
                    self.on_idle_event(i);
                    continue;
                }
                self.on_replies(i)?;
                // Catch up on requests that came due while this connection was full.
                let j = i as u64;
                let owed = if next_k > j {
                    (next_k - 1 - j) / active + 1
                } else {
                    0
                };
                while self.conns[i].sent < owed
                    && self.conns[i].inflight.len() < self.ctx.cfg.pipeline
                {
                    let k = j + self.conns[i].sent * active;
                    self.queue_scheduled(i, due(k));
                    sent_total += 1;
                }
                if ev.is_writable() && self.conns[i].out_pos < self.conns[i].out.len() {
                    self.mark_dirty(i);
                }
            }
            self.flush_dirty()?;
            let now = self.now();
            self.publish(now);
        }
    }

    /// Appends one scheduled request (due at `at` ns) to connection `j`'s output.
    fn queue_scheduled(&mut self, j: usize, at: u64) {
        let conn = &mut self.conns[j];
        let op = self.ctx.test.pick(conn.seq);
        conn.seq += 1;
        conn.sent += 1;
        self.keys.write(&self.ctx.test.ops[op], &mut conn.out);
        conn.inflight.push_back((at, op as u8));
        self.inflight += 1;
        self.mark_dirty(j);
    }

    fn mark_dirty(&mut self, j: usize) {
        if !self.conns[j].dirty {
            self.conns[j].dirty = true;
            self.dirty.push(j);
        }
    }

    /// One write per connection that gained requests this turn.
    fn flush_dirty(&mut self) -> Result<(), String> {
        while let Some(j) = self.dirty.pop() {
            let conn = &mut self.conns[j];
            conn.dirty = false;
            flush(conn).map_err(|e| format!("write to {} failed: {e}", self.addr))?;
        }
        Ok(())
    }

    /// At the open-loop deadline: every request still waiting (in flight, or owed by a connection that
    /// fell behind) is recorded at the latency it has reached, so the tail shows the stall.
    fn expire_unanswered(&mut self, now: u64, next_k: u64, due: &dyn Fn(u64) -> u64) {
        let active = self.ctx.part.active as u64;
        for j in 0..self.ctx.part.active {
            let conn = &mut self.conns[j];
            let owed = if next_k > j as u64 {
                (next_k - 1 - j as u64) / active + 1
            } else {
                0
            };
            let late = conn
                .inflight
                .drain(..)
                .chain((conn.sent..owed).map(|m| (due(j as u64 + m * active), 0u8)));
            for (at, op) in late {
                if at < self.warm_ns {
                    continue;
                }
                let s = &mut self.stats[op as usize];
                s.hist.record(now.saturating_sub(at));
                s.timeouts += 1;
            }
        }
        // Owed requests were never sent, so which op of a mix they would have been is unknown; they are
        // filed under the first op above.
        self.inflight = 0;
    }

    /// Progress for the live line, at most every 200 ms (`u64::MAX`: final).
    fn publish(&mut self, now: u64) {
        if now != u64::MAX && now < self.last_publish.saturating_add(200_000_000) {
            return;
        }
        self.last_publish = now;
        let me = self.ctx.me;
        self.ctx.shared.done[me].store(self.counted, Ordering::Relaxed);
        let p99 = self
            .stats
            .iter()
            .map(|s| s.hist.percentile(99.0))
            .max()
            .unwrap_or(0);
        self.ctx.shared.p99_ns[me].store(p99, Ordering::Relaxed);
    }
}

fn poll_events(
    poll: &mut Poll,
    events: &mut Events,
    timeout: Option<Duration>,
) -> Result<(), String> {
    match poll.poll(events, timeout) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => {
            events.clear();
            Ok(())
        }
        Err(e) => Err(format!("epoll_wait failed: {e}")),
    }
}

/// Reads until the socket is drained (a read shorter than the space offered means it was: mio is
/// edge-triggered and no extra `read` is paid to see `WouldBlock`), handing each complete reply, whether
/// it is an error, and the ns time it was read to `on_reply`. Returns `Ok(false)` at end of stream.
fn drain(
    stream: &mut TcpStream,
    partial: &mut Vec<u8>,
    rbuf: &mut [u8],
    base: Instant,
    mut on_reply: impl FnMut(&[u8], bool, u64),
) -> Result<bool, String> {
    loop {
        let held = partial.len();
        let (n, offered);
        if held > rbuf.len() / 2 {
            // A big reply arriving over many reads grows in place rather than being copied per read.
            offered = rbuf.len();
            partial.resize(held + offered, 0);
            let r = read_some(stream, &mut partial[held..]);
            partial.truncate(held + r.as_ref().map_or(0, |n| n.unwrap_or(0)));
            n = match r? {
                None => return Ok(true),
                Some(0) => return Ok(false),
                Some(n) => n,
            };
            let now = base.elapsed().as_nanos() as u64;
            let used = frames(partial, now, &mut on_reply)?;
            partial.drain(..used);
        } else {
            // The usual case: a short tail (if any) moves to the front of the shared scratch buffer.
            rbuf[..held].copy_from_slice(partial);
            offered = rbuf.len() - held;
            n = match read_some(stream, &mut rbuf[held..])? {
                None => return Ok(true),
                Some(0) => return Ok(false),
                Some(n) => n,
            };
            let now = base.elapsed().as_nanos() as u64;
            let used = frames(&rbuf[..held + n], now, &mut on_reply)?;
            partial.clear();
            partial.extend_from_slice(&rbuf[used..held + n]);
        }
        if n < offered {
            return Ok(true);
        }
    }
}

/// One `read`: `None` when the socket has nothing (`WouldBlock`), `Some(0)` at end of stream.
fn read_some(stream: &mut TcpStream, buf: &mut [u8]) -> Result<Option<usize>, String> {
    loop {
        match stream.read(buf) {
            Ok(n) => return Ok(Some(n)),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) => return Err(format!("read failed: {e}")),
        }
    }
}

/// Hands every complete reply in `buf` to `on_reply`; returns the bytes they took.
#[inline]
fn frames(
    buf: &[u8],
    now: u64,
    on_reply: &mut impl FnMut(&[u8], bool, u64),
) -> Result<usize, String> {
    let mut pos = 0;
    while let Some(f) = resp::frame(&buf[pos..])? {
        on_reply(&buf[pos..pos + f.len], f.error, now);
        pos += f.len;
    }
    Ok(pos)
}

/// Writes what the connection has queued; what the socket does not take waits for the next WRITABLE
/// edge (both interests are registered once, so nothing is ever re-registered).
fn flush(conn: &mut Conn) -> io::Result<()> {
    while conn.out_pos < conn.out.len() {
        match conn.stream.write(&conn.out[conn.out_pos..]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => conn.out_pos += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    conn.out.clear();
    conn.out_pos = 0;
    Ok(())
}

/// Says which address failed and why, with the usual cause of each limit.
fn connect_error(addr: SocketAddr, e: &io::Error) -> String {
    let hint = match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => " (is a server listening there?)",
        Some(libc::EMFILE) | Some(libc::ENFILE) => {
            " (out of file descriptors: the RLIMIT_NOFILE limit of this process was reached)"
        }
        Some(libc::EADDRNOTAVAIL) => {
            " (out of local ports for this address: see /proc/sys/net/ipv4/ip_local_port_range)"
        }
        Some(libc::ETIMEDOUT) => " (the server did not answer the TCP handshake)",
        _ => "",
    };
    format!("connect to {addr} failed: {e}{hint}")
}

/// A timerfd: the open loop wakes at a request's due time to the nanosecond, where epoll's own timeout
/// would round up to the next millisecond and add that to every measured latency.
struct Timer {
    fd: OwnedFd,
}

impl Timer {
    fn new(registry: &Registry) -> Result<Timer, String> {
        // SAFETY: plain syscall; the result is checked before use.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(format!(
                "timerfd_create failed: {}",
                io::Error::last_os_error()
            ));
        }
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        registry
            .register(&mut SourceFd(&fd.as_raw_fd()), TIMER, Interest::READABLE)
            .map_err(|e| format!("cannot register the timer: {e}"))?;
        Ok(Timer { fd })
    }

    /// Fires once, `ns` from now.
    fn arm(&mut self, ns: u64) -> Result<(), String> {
        // A zero it_value would disarm the timer instead of firing at once.
        let ns = ns.max(1);
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: (ns / 1_000_000_000) as libc::time_t,
                tv_nsec: (ns % 1_000_000_000) as libc::c_long,
            },
        };
        // SAFETY: valid descriptor and a fully initialised itimerspec.
        let r =
            unsafe { libc::timerfd_settime(self.fd.as_raw_fd(), 0, &spec, std::ptr::null_mut()) };
        if r < 0 {
            return Err(format!(
                "timerfd_settime failed: {}",
                io::Error::last_os_error()
            ));
        }
        Ok(())
    }

    /// Consumes the expiry so the next one is a new edge.
    fn clear(&mut self) {
        let mut buf = [0u8; 8];
        // SAFETY: reads at most 8 bytes into a buffer of 8.
        let _ = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    }
}

/// Before an LRANGE test: makes sure `mylist` holds enough elements (redis-benchmark fills it with a
/// timed LPUSH run first; here it is one untimed LPUSH of what is missing).
pub fn prepare(cfg: &Config, test: &Test) -> Result<(), String> {
    if test.needs_list == 0 {
        return Ok(());
    }
    let fail = |e: io::Error| format!("preparing {} on {}: {e}", test.title, cfg.addr);
    let mut s = std::net::TcpStream::connect_timeout(&cfg.addr, Duration::from_secs(5))
        .map_err(|e| connect_error(cfg.addr, &e))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(fail)?;
    let (hs, n) = handshake(cfg);
    s.write_all(&hs).map_err(fail)?;
    let mut buf = Vec::new();
    for _ in 0..n {
        let reply = read_reply(&mut s, &mut buf).map_err(fail)?;
        if reply.first() == Some(&b'-') {
            return Err(format!("{}: {}", cfg.addr, resp::error_text(&reply)));
        }
    }
    s.write_all(&resp::encode(&[b"LLEN", b"mylist"]))
        .map_err(fail)?;
    let reply = read_reply(&mut s, &mut buf).map_err(fail)?;
    // A server without LLEN (or a `mylist` of another type) gets no help: the errors show in the run.
    let Some(len) = reply
        .strip_prefix(b":")
        .and_then(|r| std::str::from_utf8(r).ok())
        .and_then(|r| r.trim_end().parse::<usize>().ok())
    else {
        return Ok(());
    };
    if len >= test.needs_list {
        return Ok(());
    }
    let data = vec![b'x'; cfg.data_size];
    let mut args: Vec<&[u8]> = vec![b"LPUSH", b"mylist"];
    args.extend(std::iter::repeat_n(&data[..], test.needs_list - len));
    s.write_all(&resp::encode(&args)).map_err(fail)?;
    read_reply(&mut s, &mut buf).map_err(fail)?;
    Ok(())
}

/// Blocking read of one whole reply (setup only).
fn read_reply(s: &mut std::net::TcpStream, buf: &mut Vec<u8>) -> io::Result<Vec<u8>> {
    loop {
        if let Some(f) = resp::frame(buf).map_err(io::Error::other)? {
            return Ok(buf.drain(..f.len).collect());
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}
