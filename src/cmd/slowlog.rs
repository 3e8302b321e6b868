//! SLOWLOG and LATENCY: the slow log, the latency monitor's per-event time series, and the per-command
//! latency histograms behind LATENCY HISTOGRAM and INFO latencystats, as Redis 7.0 keeps them. `after_call`
//! is the one hook the dispatcher calls after each command; when nothing is slow it only bumps a counter.

use std::collections::VecDeque;
use std::fmt::Write as _;

use super::server::reply_help;
use super::{
    err, registry, Args, Cmd, CmdResult, Ctx, ADMIN, FAST, LOADING, NOSCRIPT, SKIP_SLOWLOG,
};
use super::{ERR_SYNTAX, STALE};
use crate::server::State;

const SL_FLAGS: u32 = ADMIN | LOADING | STALE;
const LAT_FLAGS: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("slowlog", -2, 0, (0, 0, 0), container)
        .subs(&[
            Cmd::new("help", 2, LOADING | STALE, (0, 0, 0), slowlog_help).doc(
                "server",
                "6.2.0",
                "Show helpful text about the different subcommands",
                "O(1)",
            ),
            Cmd::new("reset", 2, SL_FLAGS, (0, 0, 0), slowlog_reset).doc(
                "server",
                "2.2.12",
                "Clear all entries from the slow log",
                "O(N) where N is the number of entries in the slowlog",
            ),
            Cmd::new("len", 2, SL_FLAGS, (0, 0, 0), slowlog_len).doc(
                "server",
                "2.2.12",
                "Get the slow log's length",
                "O(1)",
            ),
            Cmd::new("get", -2, SL_FLAGS, (0, 0, 0), slowlog_get).doc(
                "server",
                "2.2.12",
                "Get the slow log's entries",
                "O(N) where N is the number of entries returned",
            ),
        ])
        .doc(
            "server",
            "2.2.12",
            "A container for slow log commands",
            "Depends on subcommand.",
        ),
    Cmd::new("latency", -2, 0, (0, 0, 0), container)
        .subs(&[
            Cmd::new("histogram", -2, LAT_FLAGS, (0, 0, 0), latency_histogram).doc(
                "server",
                "7.0.0",
                "Return the cumulative distribution of latencies of a subset of commands or all.",
                "O(N) where N is the number of commands with latency information being retrieved.",
            ),
            Cmd::new("help", 2, LOADING | STALE, (0, 0, 0), latency_help).doc(
                "server",
                "2.8.13",
                "Show helpful text about the different subcommands.",
                "O(1)",
            ),
            Cmd::new("latest", 2, LAT_FLAGS, (0, 0, 0), latency_latest).doc(
                "server",
                "2.8.13",
                "Return the latest latency samples for all events.",
                "O(1)",
            ),
            Cmd::new("history", 3, LAT_FLAGS, (0, 0, 0), latency_history).doc(
                "server",
                "2.8.13",
                "Return timestamp-latency samples for the event.",
                "O(1)",
            ),
            Cmd::new("graph", 3, LAT_FLAGS, (0, 0, 0), latency_graph).doc(
                "server",
                "2.8.13",
                "Return a latency graph for the event.",
                "O(1)",
            ),
            Cmd::new("doctor", 2, LAT_FLAGS, (0, 0, 0), latency_doctor).doc(
                "server",
                "2.8.13",
                "Return a human readable latency analysis report.",
                "O(1)",
            ),
            Cmd::new("reset", -2, LAT_FLAGS, (0, 0, 0), latency_reset).doc(
                "server",
                "2.8.13",
                "Reset latency data for one or more events.",
                "O(1)",
            ),
        ])
        .doc(
            "server",
            "2.8.13",
            "A container for latency diagnostics commands",
            "Depends on subcommand.",
        ),
];

/// The container row: dispatch always resolves a subcommand or refuses the call first.
fn container(_ctx: &mut Ctx, _args: &Args) -> CmdResult {
    err(ERR_SYNTAX)
}

// ---------------------------------------------------------------------------------------------------------
// Storage

/// Redis logs at most this many arguments per entry (the last one says how many more there were)...
const ENTRY_MAX_ARGC: usize = 32;
/// ...and at most this many bytes of each.
const ENTRY_MAX_STRING: usize = 128;
/// Samples kept per latency event (Redis's LATENCY_TS_LEN).
const TS_LEN: usize = 160;

struct Entry {
    id: u64,
    time: i64,
    /// Microseconds.
    duration: u64,
    argv: Vec<Box<[u8]>>,
    peer: String,
    name: Box<[u8]>,
}

/// One latency event's history: one sample per second at most (the worst), in a ring.
struct Series {
    idx: usize,
    max: u64,
    /// (unix seconds, milliseconds); time 0 marks an unused slot.
    samples: [(i64, u64); TS_LEN],
}

/// The slow log, the latency events and the command histograms (a field of `State`).
#[derive(Default)]
pub struct Monitor {
    /// Newest first.
    log: VecDeque<Entry>,
    next_id: u64,
    /// By registry index, allocated on a command's first call (as Redis allocates its hdr_histogram).
    hists: Vec<Option<Box<Histogram>>>,
    /// In creation order.
    events: Vec<(&'static str, Box<Series>)>,
}

// ---------------------------------------------------------------------------------------------------------
// Histogram

/// Sub-buckets per power of two: values are kept to within 1/16 (Redis's hdr_histogram keeps 2
/// significant digits; both report a bucket's highest value, so percentiles read alike to a few percent).
const SUB_BITS: u32 = 4;
const SUB: usize = 1 << SUB_BITS;
/// Redis tracks 1 ns to 1 s and clamps beyond.
const MAX_NS: u64 = 1_000_000_000;
const SLOTS: usize = slot(MAX_NS) + 1;

/// Counts of command durations in nanoseconds, log-bucketed.
pub struct Histogram {
    total: u64,
    counts: [u64; SLOTS],
}

const fn slot(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let shift = 63 - v.leading_zeros() - SUB_BITS;
    ((shift as usize + 1) << SUB_BITS) + ((v >> shift) as usize - SUB)
}

/// The smallest value of slot `s` and its width.
fn slot_range(s: usize) -> (u64, u64) {
    if s < 2 * SUB {
        return (s as u64, 1);
    }
    let shift = (s >> SUB_BITS) - 1;
    (((s % SUB + SUB) as u64) << shift, 1 << shift)
}

impl Histogram {
    #[inline]
    fn record(&mut self, ns: u64) {
        self.counts[slot(ns.clamp(1, MAX_NS))] += 1;
        self.total += 1;
    }

    /// Redis's `hdr_value_at_percentile`, in nanoseconds.
    fn value_at(&self, p: f64) -> u64 {
        let p = p.min(100.0);
        let want = (((p / 100.0) * self.total as f64) + 0.5) as u64;
        let want = want.max(1);
        let mut seen = 0;
        for (s, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= want {
                let (lo, w) = slot_range(s);
                return if p == 0.0 { lo } else { lo + w - 1 };
            }
        }
        0
    }

    /// LATENCY HISTOGRAM's buckets: cumulative counts at each power of two from 1024 ns, labelled in
    /// microseconds as Redis's hdr log iterator labels them, only where the count grew.
    fn cdf(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut cum = 0;
        let mut prev = 0;
        let mut s = 0;
        for k in 10..=30u32 {
            let level = 1u64 << k;
            while s < SLOTS && slot_range(s).0 <= level {
                cum += self.counts[s];
                s += 1;
            }
            if cum > prev {
                // hdr's highest equivalent value of 2^k at 2 significant digits: 2^k + 2^(k-7) - 1.
                out.push(((level + (level >> 7) - 1) / 1000, cum));
            }
            prev = cum;
            if cum == self.total {
                break;
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------------------
// The dispatcher's hook

/// Called once per executed command with its duration: feeds the histogram, the slow log and the latency
/// monitor as Redis's `call()` does. A command that blocked is accounted when it finally answers.
#[inline]
pub fn after_call(ctx: &mut Ctx, idx: usize, args: &Args, flags: u32, ns: u64) {
    let blocked = ctx.still_blocked || ctx.conns.get(ctx.id).is_some_and(|c| c.blocked.is_some());
    let cfg = &ctx.st.cfg;
    let us = ns / 1000;
    if cfg.latency_monitor_threshold > 0 && us / 1000 >= cfg.latency_monitor_threshold {
        let event = if flags & FAST != 0 {
            "fast-command"
        } else {
            "command"
        };
        add_sample_if_needed(ctx.st, event, us / 1000);
    }
    if blocked {
        return;
    }
    let cfg = &ctx.st.cfg;
    let log = cfg.slowlog_log_slower_than >= 0
        && us >= cfg.slowlog_log_slower_than as u64
        && flags & SKIP_SLOWLOG == 0;
    if cfg.latency_tracking {
        let m = &mut ctx.st.slowlog;
        match m.hists.get_mut(idx) {
            Some(Some(h)) => h.record(ns),
            _ => new_histogram(m, idx, ns),
        }
    }
    if log {
        push_entry(ctx, idx, args, us);
    }
}

#[cold]
fn new_histogram(m: &mut Monitor, idx: usize, ns: u64) {
    if m.hists.len() <= idx {
        m.hists
            .resize_with(registry().all.len().max(idx + 1), || None);
    }
    let mut h = Box::new(Histogram {
        total: 0,
        counts: [0; SLOTS],
    });
    h.record(ns);
    m.hists[idx] = Some(h);
}

/// Records `ms` for `event` if the latency monitor is on and it reaches the threshold (Redis's
/// `latencyAddSampleIfNeeded`).
pub fn add_sample_if_needed(st: &mut State, event: &'static str, ms: u64) {
    let t = st.cfg.latency_monitor_threshold;
    if t == 0 || ms < t {
        return;
    }
    let now = (crate::server::unix_ms() / 1000) as i64;
    let m = &mut st.slowlog;
    let i = match m.events.iter().position(|e| e.0 == event) {
        Some(i) => i,
        None => {
            m.events.push((
                event,
                Box::new(Series {
                    idx: 0,
                    max: 0,
                    samples: [(0, 0); TS_LEN],
                }),
            ));
            m.events.len() - 1
        }
    };
    let ts = &mut m.events[i].1;
    ts.max = ts.max.max(ms);
    let prev = (ts.idx + TS_LEN - 1) % TS_LEN;
    if ts.samples[prev].0 == now {
        ts.samples[prev].1 = ts.samples[prev].1.max(ms);
        return;
    }
    ts.samples[ts.idx] = (now, ms);
    ts.idx = (ts.idx + 1) % TS_LEN;
}

/// Which arguments Redis replaces with `(redacted)` before logging: passwords of AUTH, HELLO AUTH,
/// MIGRATE AUTH/AUTH2, CONFIG SET of secret settings, and everything ACL SETUSER gets.
fn redacted(idx: usize, args: &Args) -> Vec<bool> {
    let r = &registry().all[idx];
    let (top, sub) = match r.parent {
        Some(p) => (p.name, r.cmd.name),
        None => (r.cmd.name, ""),
    };
    let n = args.len();
    let mut red = vec![false; n];
    let is = |i: usize, s: &str| {
        args.get(i)
            .is_some_and(|a| a.eq_ignore_ascii_case(s.as_bytes()))
    };
    match (top, sub) {
        ("auth", _) if n <= 3 => {
            red[1] = true;
            if n == 3 {
                red[2] = true;
            }
        }
        ("hello", _) if n >= 2 => {
            if !crate::util::parse_i64(&args[1]).is_some_and(|v| (2..=3).contains(&v)) {
                return red;
            }
            let mut j = 2;
            while j < n {
                let more = n - 1 - j;
                if is(j, "auth") && more >= 2 {
                    red[j + 1] = true;
                    red[j + 2] = true;
                    j += 3;
                } else if is(j, "setname") && more >= 1 {
                    j += 2;
                } else {
                    break;
                }
            }
        }
        ("config", "set") if n >= 4 && n.is_multiple_of(2) => {
            for j in (2..n).step_by(2) {
                if is(j, "requirepass") || is(j, "masterauth") || is(j, "masteruser") {
                    red[j + 1] = true;
                }
            }
        }
        ("acl", "setuser") => {
            for r in red.iter_mut().skip(2) {
                *r = true;
            }
        }
        ("migrate", _) => {
            let mut j = 6;
            while j < n {
                let more = n - 1 - j;
                if is(j, "auth") && more >= 1 {
                    red[j + 1] = true;
                    j += 2;
                } else if is(j, "auth2") && more >= 2 {
                    red[j + 1] = true;
                    red[j + 2] = true;
                    j += 3;
                } else if is(j, "keys") {
                    break;
                } else {
                    j += 1;
                }
            }
        }
        _ => {}
    }
    red
}

#[cold]
fn push_entry(ctx: &mut Ctx, idx: usize, args: &Args, us: u64) {
    let red = redacted(idx, args);
    let argc = args.len();
    let keep = argc.min(ENTRY_MAX_ARGC);
    let mut argv: Vec<Box<[u8]>> = Vec::with_capacity(keep);
    for (j, a) in args.iter().take(keep).enumerate() {
        let v: Box<[u8]> = if keep != argc && j == keep - 1 {
            format!("... ({} more arguments)", argc - keep + 1)
                .into_bytes()
                .into()
        } else if red[j] {
            (*b"(redacted)").into()
        } else if a.len() > ENTRY_MAX_STRING {
            let mut s = a[..ENTRY_MAX_STRING].to_vec();
            let _ = write!(
                Bytes(&mut s),
                "... ({} more bytes)",
                a.len() - ENTRY_MAX_STRING
            );
            s.into()
        } else {
            a.into()
        };
        argv.push(v);
    }
    let (peer, name) = match ctx.conns.get(ctx.id) {
        Some(c) => (
            c.addr.to_string(),
            c.name.clone().unwrap_or_else(|| Box::new([])),
        ),
        None => (String::new(), Box::new([]) as Box<[u8]>),
    };
    let st = &mut *ctx.st;
    let m = &mut st.slowlog;
    m.log.push_front(Entry {
        id: m.next_id,
        time: (crate::server::unix_ms() / 1000) as i64,
        duration: us,
        argv,
        peer,
        name,
    });
    m.next_id += 1;
    m.log.truncate(st.cfg.slowlog_max_len as usize);
}

/// `write!` into a byte vector.
struct Bytes<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Bytes<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// CONFIG RESETSTAT: the histograms start over.
pub fn reset_histograms(st: &mut State) {
    st.slowlog.hists.clear();
}

// ---------------------------------------------------------------------------------------------------------
// Configuration and INFO

/// `%f` with trailing zeros (and a trailing dot) removed, as Redis prints percentiles.
fn fmt_percentile(p: f64) -> String {
    let mut s = format!("{p:.6}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    s
}

/// CONFIG GET latency-tracking-info-percentiles.
pub fn render_percentiles(ps: &[f64]) -> String {
    ps.iter()
        .map(|&p| fmt_percentile(p))
        .collect::<Vec<_>>()
        .join(" ")
}

/// CONFIG SET latency-tracking-info-percentiles: space-separated numbers in [0, 100]; "" for none.
pub fn parse_percentiles(v: &str) -> Result<Vec<f64>, String> {
    let mut out = Vec::new();
    for w in v.split(' ').filter(|w| !w.is_empty()) {
        let p = w
            .parse::<f64>()
            .ok()
            .filter(|p| !p.is_nan())
            .ok_or_else(|| "Invalid latency-tracking-info-percentiles parameters".to_string())?;
        if !(0.0..=100.0).contains(&p) {
            return Err(
                "latency-tracking-info-percentiles parameters should sit between [0.0,100.0]"
                    .into(),
            );
        }
        out.push(p);
    }
    Ok(out)
}

/// INFO latencystats: `latency_percentiles_usec_<command>:p50=...,p99=...` for each command with a
/// histogram, while latency tracking is on.
pub fn info_latencystats(st: &State, s: &mut String) {
    if !st.cfg.latency_tracking {
        return;
    }
    let reg = registry();
    for r in reg.top_level() {
        let Some(top) = reg.find(r.cmd.name.as_bytes()) else {
            continue;
        };
        for i in std::iter::once(top).chain(r.subs.iter().copied()) {
            let Some(Some(h)) = st.slowlog.hists.get(i) else {
                continue;
            };
            let _ = write!(s, "latency_percentiles_usec_{}:", reg.all[i].fullname);
            for (j, &p) in st.cfg.latency_tracking_info_percentiles.iter().enumerate() {
                if j > 0 {
                    s.push(',');
                }
                let v = h.value_at(p) as f64 / 1000.0;
                let _ = write!(s, "p{}={v:.3}", fmt_percentile(p));
            }
            s.push_str("\r\n");
        }
    }
}

// ---------------------------------------------------------------------------------------------------------
// SLOWLOG

/// SLOWLOG GET [count]
fn slowlog_get(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return Err(super::subcommand_syntax(args));
    }
    let m = &ctx.st.slowlog;
    let mut count = 10usize;
    if args.len() == 3 {
        match crate::util::parse_i64(&args[2]) {
            Some(-1) => count = m.log.len(),
            Some(n) if n >= 0 => count = n as usize,
            _ => return err("ERR count should be greater than or equal to -1"),
        }
    }
    let n = count.min(m.log.len());
    ctx.out.array(n);
    for e in m.log.iter().take(n) {
        ctx.out.array(6);
        ctx.out.int(e.id as i64);
        ctx.out.int(e.time);
        ctx.out.int(e.duration as i64);
        ctx.out.array(e.argv.len());
        for a in &e.argv {
            ctx.out.bulk(a);
        }
        ctx.out.bulk(e.peer.as_bytes());
        ctx.out.bulk(&e.name);
    }
    Ok(())
}

/// SLOWLOG LEN
fn slowlog_len(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.out.int(ctx.st.slowlog.log.len() as i64);
    Ok(())
}

/// SLOWLOG RESET
fn slowlog_reset(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.st.slowlog.log.clear();
    ctx.out.ok();
    Ok(())
}

/// SLOWLOG HELP
fn slowlog_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    reply_help(
        ctx.out,
        "SLOWLOG",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// LATENCY

fn find_event<'a>(m: &'a Monitor, name: &[u8]) -> Option<&'a (&'static str, Box<Series>)> {
    m.events.iter().find(|e| e.0.as_bytes() == name)
}

/// The series' used samples, oldest first.
fn samples(ts: &Series) -> impl Iterator<Item = (i64, u64)> + '_ {
    (0..TS_LEN)
        .map(move |j| ts.samples[(ts.idx + j) % TS_LEN])
        .filter(|s| s.0 != 0)
}

/// LATENCY HISTORY event
fn latency_history(ctx: &mut Ctx, args: &Args) -> CmdResult {
    match find_event(&ctx.st.slowlog, &args[2]) {
        None => ctx.out.array(0),
        Some((_, ts)) => {
            let list: Vec<(i64, u64)> = samples(ts).collect();
            ctx.out.array(list.len());
            for (t, l) in list {
                ctx.out.array(2);
                ctx.out.int(t);
                ctx.out.int(l as i64);
            }
        }
    }
    Ok(())
}

/// LATENCY LATEST
fn latency_latest(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let m = &ctx.st.slowlog;
    ctx.out.array(m.events.len());
    for (name, ts) in &m.events {
        let last = ts.samples[(ts.idx + TS_LEN - 1) % TS_LEN];
        ctx.out.array(4);
        ctx.out.bulk(name.as_bytes());
        ctx.out.int(last.0);
        ctx.out.int(last.1 as i64);
        ctx.out.int(ts.max as i64);
    }
    Ok(())
}

/// LATENCY RESET [event [event ...]]
fn latency_reset(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let m = &mut ctx.st.slowlog;
    let before = m.events.len();
    let resets = if args.len() == 2 {
        m.events.clear();
        before
    } else {
        let mut n = 0;
        for a in args.from(2) {
            let was = m.events.len();
            m.events.retain(|e| !e.0.as_bytes().eq_ignore_ascii_case(a));
            n += was - m.events.len();
        }
        n
    };
    ctx.out.int(resets as i64);
    Ok(())
}

/// LATENCY HISTOGRAM [command [command ...]]
fn latency_histogram(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let reg = registry();
    let hists = &ctx.st.slowlog.hists;
    let has = |i: usize| matches!(hists.get(i), Some(Some(_)));
    let mut picked: Vec<usize> = Vec::new();
    if args.len() == 2 {
        for r in reg.top_level() {
            if let Some(top) = reg.find(r.cmd.name.as_bytes()) {
                picked.extend(
                    std::iter::once(top)
                        .chain(r.subs.iter().copied())
                        .filter(|&i| has(i)),
                );
            }
        }
    } else {
        for a in args.from(2) {
            let found = match a.iter().position(|&c| c == b'|') {
                Some(p) => reg.find(&a[..p]).and_then(|t| reg.find_sub(t, &a[p + 1..])),
                None => reg.find(a),
            };
            let Some(i) = found else {
                continue;
            };
            if has(i) {
                picked.push(i);
            }
            picked.extend(reg.all[i].subs.iter().copied().filter(|&s| has(s)));
        }
    }
    ctx.out.map(picked.len());
    for i in picked {
        let Some(Some(h)) = ctx.st.slowlog.hists.get(i) else {
            continue;
        };
        ctx.out.bulk(reg.all[i].fullname.as_bytes());
        ctx.out.map(2);
        ctx.out.bulk(b"calls");
        ctx.out.int(h.total as i64);
        ctx.out.bulk(b"histogram_usec");
        let cdf = h.cdf();
        ctx.out.map(cdf.len());
        for (us, n) in cdf {
            ctx.out.int(us as i64);
            ctx.out.int(n as i64);
        }
    }
    Ok(())
}

/// LATENCY GRAPH event
fn latency_graph(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let Some((name, ts)) = find_event(&ctx.st.slowlog, &args[2]) else {
        return err(format!(
            "ERR No samples available for event '{}'",
            String::from_utf8_lossy(&args[2])
        ));
    };
    let now = (crate::server::unix_ms() / 1000) as i64;
    let mut seq: Vec<(f64, String)> = Vec::new();
    let (mut min, mut max) = (0, 0);
    for (t, l) in samples(ts) {
        if seq.is_empty() {
            (min, max) = (l, l);
        } else {
            max = max.max(l);
            min = min.min(l);
        }
        let e = now - t;
        let label = if e < 60 {
            format!("{e}s")
        } else if e < 3600 {
            format!("{}m", e / 60)
        } else if e < 86400 {
            format!("{}h", e / 3600)
        } else {
            format!("{}d", e / 86400)
        };
        seq.push((l as f64, label));
    }
    let mut g = format!(
        "{name} - high {max} ms, low {min} ms (all time high {} ms)\n",
        ts.max
    );
    g.push_str(&"-".repeat(GRAPH_COLS));
    g.push('\n');
    sparkline(&mut g, &seq, GRAPH_COLS, 4);
    ctx.out.verbatim(g.as_bytes());
    Ok(())
}

const GRAPH_COLS: usize = 80;

/// Redis's sparkline renderer in fill mode: `rows` rows of `_o#` and `|`, then the labels written
/// vertically under their column, in chunks of `cols` samples.
fn sparkline(out: &mut String, seq: &[(f64, String)], cols: usize, rows: usize) {
    const FILL: &[u8] = b"_o#";
    let (mut min, mut max) = (0.0f64, 0.0f64);
    for (i, &(v, _)) in seq.iter().enumerate() {
        if i == 0 {
            (min, max) = (v, v);
        } else if v < min {
            min = v;
        } else if v > max {
            max = v;
        }
    }
    let has_labels = seq.iter().any(|s| !s.1.is_empty());
    let mut relmax = max - min;
    if relmax == 0.0 {
        relmax = 1.0;
    }
    let steps = (FILL.len() * rows) as i64;
    for (chunk_no, chunk) in seq.chunks(cols).enumerate() {
        if chunk_no != 0 {
            out.push('\n');
        }
        let mut row = 0;
        loop {
            let mut more = false;
            let mut chars = vec![b' '; chunk.len()];
            for (j, (v, label)) in chunk.iter().enumerate() {
                let relval = v - min;
                let mut step = (((relval * steps as f64) as i64) as f64 / relmax) as i64;
                step = step.clamp(0, steps - 1);
                if row < rows {
                    let ci = step - ((rows - row - 1) * FILL.len()) as i64;
                    more = true;
                    if ci >= 0 && (ci as usize) < FILL.len() {
                        chars[j] = FILL[ci as usize];
                    } else if ci >= FILL.len() as i64 {
                        chars[j] = b'|';
                    }
                } else {
                    if has_labels && row - rows < 1 {
                        more = true;
                        break;
                    }
                    let lc = row - rows - 1;
                    if label.len() > lc {
                        more = true;
                        chars[j] = label.as_bytes()[lc];
                    }
                }
            }
            if !more {
                break;
            }
            row += 1;
            out.push_str(&String::from_utf8_lossy(&chars));
            out.push('\n');
        }
    }
}

/// LATENCY DOCTOR
fn latency_doctor(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let report = doctor_report(ctx.st);
    ctx.out.verbatim(report.as_bytes());
    Ok(())
}

fn doctor_report(st: &State) -> String {
    let m = &st.slowlog;
    let cfg = &st.cfg;
    let mut r = String::new();
    if m.events.is_empty() && cfg.latency_monitor_threshold == 0 {
        r.push_str("I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n");
        return r;
    }
    let now = (crate::server::unix_ms() / 1000) as i64;
    let (mut slowlog_enabled, mut slowlog_tuning, mut slowlog_inspect) = (false, false, false);
    let (mut scheduler, mut hz, mut large_objects, mut mass_eviction) =
        (false, false, false, false);
    let mut advices = 0;
    for (n, (event, ts)) in m.events.iter().enumerate() {
        if n == 0 {
            r.push_str("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
        }
        let list: Vec<(i64, u64)> = samples(ts).collect();
        let cnt = list.len() as u64;
        let (mut avg, mut mad, mut period) = (0u64, 0u64, 0i64);
        if let Some(a) = list.iter().map(|s| s.1).sum::<u64>().checked_div(cnt) {
            avg = a;
            let oldest = list.iter().map(|s| s.0).min().unwrap_or(now);
            period = (now - oldest).max(1);
            let dev: u64 = list
                .iter()
                .map(|s| (avg as i64 - s.1 as i64).unsigned_abs())
                .sum();
            mad = dev / cnt;
        }
        let _ = write!(
            r,
            "{}. {event}: {cnt} latency spikes (average {avg}ms, mean deviation {mad}ms, period {:.2} sec). Worst all time event {}ms.",
            n + 1,
            period as f64 / cnt as f64,
            ts.max
        );
        match *event {
            "command" => {
                if cfg.slowlog_log_slower_than < 0 {
                    slowlog_enabled = true;
                    advices += 1;
                } else if (cfg.slowlog_log_slower_than / 1000) as u64
                    > cfg.latency_monitor_threshold
                {
                    slowlog_tuning = true;
                    advices += 1;
                }
                slowlog_inspect = true;
                large_objects = true;
                advices += 2;
            }
            "fast-command" => {
                scheduler = true;
                advices += 1;
            }
            "expire-cycle" => {
                hz = true;
                large_objects = true;
                advices += 2;
            }
            "eviction-del" => {
                large_objects = true;
                advices += 1;
            }
            "eviction-cycle" => {
                mass_eviction = true;
                advices += 1;
            }
            _ => {}
        }
        r.push('\n');
    }
    if m.events.is_empty() && advices == 0 {
        r.push_str("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n");
    } else if advices == 0 {
        r.push_str("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
    } else {
        r.push_str("\nI have a few advices for you:\n\n");
        let t = cfg.latency_monitor_threshold * 1000;
        if slowlog_enabled {
            let _ = writeln!(r, "- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {t}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.");
        }
        if slowlog_tuning {
            let _ = writeln!(r, "- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {t}'.");
        }
        if slowlog_inspect {
            r.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
        }
        if scheduler {
            r.push_str("- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n");
        }
        if hz && cfg.hz < 100 {
            r.push_str("- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n");
        }
        if large_objects {
            r.push_str("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
        }
        if mass_eviction {
            r.push_str("- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large objects via sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys migrations (RESTORE command), may create sudden memory pressure forcing the server to block trying to evict keys. \n");
        }
    }
    r
}

/// LATENCY HELP
fn latency_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    reply_help(
        ctx.out,
        "LATENCY",
        &[
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "GRAPH <event>",
            "    Return an ASCII latency graph for the <event> class.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
            "HISTOGRAM [COMMAND ...]",
            "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
            "    If no commands are specified then all histograms are replied.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_contiguous_and_cover_their_values() {
        let mut prev_end = 0;
        for s in 0..SLOTS {
            let (lo, w) = slot_range(s);
            assert_eq!(lo, prev_end, "slot {s}");
            assert_eq!(slot(lo), s);
            assert_eq!(slot(lo + w - 1), s);
            prev_end = lo + w;
        }
        assert!(prev_end > MAX_NS);
    }

    #[test]
    fn percentiles_and_cdf() {
        let mut h = Histogram {
            total: 0,
            counts: [0; SLOTS],
        };
        for _ in 0..99 {
            h.record(1000);
        }
        h.record(50_000_000);
        assert_eq!(h.value_at(50.0), 1023);
        assert!((50_000_000..53_200_000).contains(&h.value_at(100.0)));
        assert_eq!(h.value_at(0.0), 992);
        let cdf = h.cdf();
        assert_eq!(cdf.first(), Some(&(1, 99)));
        assert_eq!(cdf.last().map(|c| c.1), Some(100));
        assert_eq!(fmt_percentile(99.9), "99.9");
        assert_eq!(fmt_percentile(50.0), "50");
        assert_eq!(render_percentiles(&[0.0, 50.0, 100.0]), "0 50 100");
        assert!(parse_percentiles("10 a").is_err());
        assert!(parse_percentiles("101").is_err());
        assert_eq!(parse_percentiles("").unwrap(), Vec::<f64>::new());
    }
}
