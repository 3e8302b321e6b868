//! Server commands: SHUTDOWN, INFO, CONFIG, COMMAND, DEBUG, TIME, LASTSAVE, DBSIZE, FLUSHDB, FLUSHALL,
//! SWAPDB, and the command table rows of the functions family (FUNCTION, FCALL*), whose handlers live in
//! `function`. EVAL and SCRIPT live in `script`.
//!
//! These are rare commands: they may allocate and format freely. Replies and errors follow Redis 7.0.15.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use log::warn;

pub mod evict;
mod keyspecs;

use super::function::{
    fcall, fcall_ro, function_delete, function_dump, function_flush, function_help, function_kill,
    function_list, function_load, function_restore, function_stats,
};
use super::{
    err, registry, Args, Cmd, CmdResult, Ctx, Error, Registered, ADMIN, ALLOW_BUSY, BLOCKING,
    DENYOOM, ERR_NO_KEY, ERR_SYNTAX, FAST, FLAG_NAMES, LOADING, MAY_REPLICATE, NOSCRIPT,
    NO_MANDATORY_KEYS, NO_MULTI, ONLY_SENTINEL, PUBSUB, READONLY, SENTINEL, SKIP_MONITOR, STALE,
    WRITE,
};
use crate::config::{find_param, Param, PARAMS};
use crate::protocol::Out;
use crate::server::{Shutdown, State, REDIS_VERSION};
use crate::store::glob::glob_match;
use crate::store::Db;
use crate::util::eq_ci;

const ADMIN_CMD: u32 = ADMIN | NOSCRIPT | LOADING | STALE;
const LS: u32 = LOADING | STALE;
const SCRIPT_RUN: u32 = NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(
        "shutdown",
        -1,
        ADMIN_CMD | NO_MULTI | SENTINEL | ALLOW_BUSY,
        (0, 0, 0),
        shutdown,
    )
    .doc(
        "server",
        "1.0.0",
        "Synchronously save the dataset to disk and then shut down the server",
        "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)",
    ),
    Cmd::new("info", -1, LS | SENTINEL, (0, 0, 0), info).doc(
        "server",
        "1.0.0",
        "Get information and statistics about the server",
        "O(1)",
    ),
    Cmd::new("config", -2, 0, (0, 0, 0), container)
        .doc(
            "server",
            "2.0.0",
            "A container for server configuration commands",
            "Depends on subcommand.",
        )
        .subs(CONFIG_SUBS),
    Cmd::new("command", -1, LS | SENTINEL, (0, 0, 0), command)
        .doc(
            "server",
            "2.8.13",
            "Get array of Redis command details",
            "O(N) where N is the total number of Redis commands",
        )
        .subs(COMMAND_SUBS),
    Cmd::new("time", 1, LS | FAST, (0, 0, 0), time).doc(
        "server",
        "2.6.0",
        "Return the current server time",
        "O(1)",
    ),
    Cmd::new("dbsize", 1, READONLY | FAST, (0, 0, 0), dbsize).doc(
        "server",
        "1.0.0",
        "Return the number of keys in the selected database",
        "O(1)",
    ),
    Cmd::new("flushdb", -1, WRITE, (0, 0, 0), flushdb).doc(
        "server",
        "1.0.0",
        "Remove all keys from the current database",
        "O(N) where N is the number of keys in the selected database",
    ),
    Cmd::new("flushall", -1, WRITE, (0, 0, 0), flushall).doc(
        "server",
        "1.0.0",
        "Remove all keys from all databases",
        "O(N) where N is the total number of keys in all databases",
    ),
    Cmd::new("swapdb", 3, WRITE | FAST, (0, 0, 0), swapdb).doc(
        "server",
        "4.0.0",
        "Swaps two Redis databases",
        "O(N) where N is the count of clients watching or blocking on keys from both databases.",
    ),
    Cmd::new("debug", -2, ADMIN_CMD, (0, 0, 0), debug).doc(
        "server",
        "1.0.0",
        "A container for debugging commands",
        "Depends on subcommand.",
    ),
    Cmd::new("function", -2, 0, (0, 0, 0), container)
        .doc(
            "scripting",
            "7.0.0",
            "A container for function commands",
            "Depends on subcommand.",
        )
        .subs(FUNCTION_SUBS),
    Cmd::new("fcall", -3, SCRIPT_RUN | MAY_REPLICATE, (0, 0, 0), fcall).doc(
        "scripting",
        "7.0.0",
        "Invoke a function",
        "Depends on the function that is executed.",
    ),
    Cmd::new("fcall_ro", -3, SCRIPT_RUN | READONLY, (0, 0, 0), fcall_ro).doc(
        "scripting",
        "7.0.0",
        "Invoke a read-only function",
        "Depends on the function that is executed.",
    ),
];

static CONFIG_SUBS: &[Cmd] = &[
    Cmd::new("get", -3, ADMIN_CMD, (0, 0, 0), config_get).doc(
        "server",
        "2.0.0",
        "Get the values of configuration parameters",
        "O(N) when N is the number of configuration parameters provided",
    ),
    Cmd::new("set", -4, ADMIN_CMD, (0, 0, 0), config_set).doc(
        "server",
        "2.0.0",
        "Set configuration parameters to the given values",
        "O(N) when N is the number of configuration parameters provided",
    ),
    Cmd::new("resetstat", 2, ADMIN_CMD, (0, 0, 0), config_resetstat).doc(
        "server",
        "2.0.0",
        "Reset the stats returned by INFO",
        "O(1)",
    ),
    Cmd::new("rewrite", 2, ADMIN_CMD, (0, 0, 0), config_rewrite).doc(
        "server",
        "2.8.0",
        "Rewrite the configuration file with the in memory configuration",
        "O(1)",
    ),
    Cmd::new("help", 2, LS, (0, 0, 0), config_help).doc(
        "server",
        "5.0.0",
        "Show helpful text about the different subcommands",
        "O(1)",
    ),
];

static COMMAND_SUBS: &[Cmd] = &[
    Cmd::new("count", 2, LS | SENTINEL, (0, 0, 0), command_count).doc(
        "server",
        "2.8.13",
        "Get total number of Redis commands",
        "O(1)",
    ),
    Cmd::new("docs", -2, LS | SENTINEL, (0, 0, 0), command_docs).doc(
        "server",
        "7.0.0",
        "Get array of specific Redis command documentation",
        "O(N) where N is the number of commands to look up",
    ),
    Cmd::new("getkeys", -4, LS | SENTINEL, (0, 0, 0), command_getkeys).doc(
        "server",
        "2.8.13",
        "Extract keys given a full Redis command",
        "O(N) where N is the number of arguments to the command",
    ),
    Cmd::new(
        "getkeysandflags",
        -4,
        LS | SENTINEL,
        (0, 0, 0),
        command_getkeysandflags,
    )
    .doc(
        "server",
        "7.0.0",
        "Extract keys and access flags given a full Redis command",
        "O(N) where N is the number of arguments to the command",
    ),
    Cmd::new("info", -2, LS | SENTINEL, (0, 0, 0), command_info).doc(
        "server",
        "2.8.13",
        "Get array of specific Redis command details, or all when no argument is given.",
        "O(N) where N is the number of commands to look up",
    ),
    Cmd::new("list", -2, LS | SENTINEL, (0, 0, 0), command_list).doc(
        "server",
        "7.0.0",
        "Get an array of Redis command names",
        "O(N) where N is the total number of Redis commands",
    ),
    Cmd::new("help", 2, LS | SENTINEL, (0, 0, 0), command_help).doc(
        "server",
        "5.0.0",
        "Show helpful text about the different subcommands",
        "O(1)",
    ),
];

static FUNCTION_SUBS: &[Cmd] = &[
    Cmd::new(
        "load",
        -3,
        WRITE | DENYOOM | NOSCRIPT,
        (0, 0, 0),
        function_load,
    )
    .doc(
        "scripting",
        "7.0.0",
        "Create a function with the given arguments (name, code, description)",
        "O(1) (considering compilation time is redundant)",
    ),
    Cmd::new("delete", 3, WRITE | NOSCRIPT, (0, 0, 0), function_delete).doc(
        "scripting",
        "7.0.0",
        "Delete a function by name",
        "O(1)",
    ),
    Cmd::new("list", -2, NOSCRIPT, (0, 0, 0), function_list).doc(
        "scripting",
        "7.0.0",
        "List information about all the functions",
        "O(N) where N is the number of functions",
    ),
    Cmd::new("stats", 2, NOSCRIPT | ALLOW_BUSY, (0, 0, 0), function_stats).doc(
        "scripting",
        "7.0.0",
        "Return information about the function currently running (name, description, duration)",
        "O(1)",
    ),
    Cmd::new("kill", 2, NOSCRIPT | ALLOW_BUSY, (0, 0, 0), function_kill).doc(
        "scripting",
        "7.0.0",
        "Kill the function currently in execution.",
        "O(1)",
    ),
    Cmd::new("flush", -2, WRITE | NOSCRIPT, (0, 0, 0), function_flush).doc(
        "scripting",
        "7.0.0",
        "Deleting all functions",
        "O(N) where N is the number of functions deleted",
    ),
    Cmd::new("dump", 2, NOSCRIPT, (0, 0, 0), function_dump).doc(
        "scripting",
        "7.0.0",
        "Dump all functions into a serialized binary payload",
        "O(N) where N is the number of functions",
    ),
    Cmd::new(
        "restore",
        -3,
        WRITE | DENYOOM | NOSCRIPT,
        (0, 0, 0),
        function_restore,
    )
    .doc(
        "scripting",
        "7.0.0",
        "Restore all the functions on the given payload",
        "O(N) where N is the number of functions on the payload",
    ),
    Cmd::new("help", 2, LS, (0, 0, 0), function_help).doc(
        "scripting",
        "7.0.0",
        "Show helpful text about the different subcommands",
        "O(1)",
    ),
];

/// A container called with a subcommand the dispatcher did not resolve; arity keeps this unreachable.
pub(crate) fn container(_ctx: &mut Ctx, _args: &Args) -> CmdResult {
    err(ERR_SYNTAX)
}

/// Redis's `addReplyHelp`: the usage line, the given lines, then HELP, each as a status reply.
pub(crate) fn reply_help(out: &mut Out, cmd: &str, lines: &[&str]) {
    out.array(lines.len() + 3);
    out.simple(&format!(
        "{cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ));
    for l in lines {
        out.simple(l);
    }
    out.simple("HELP");
    out.simple("    Prints this help.");
}

pub(crate) fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

// ---------------------------------------------------------------------------------------------------------
// SHUTDOWN

/// SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT]
pub fn shutdown(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (mut nosave, mut save, mut force, mut now, mut abort) = (false, false, false, false, false);
    for a in args.from(1) {
        if eq_ci(a, b"nosave") {
            nosave = true;
        } else if eq_ci(a, b"save") {
            save = true;
        } else if eq_ci(a, b"now") {
            now = true;
        } else if eq_ci(a, b"force") {
            force = true;
        } else if eq_ci(a, b"abort") {
            abort = true;
        } else {
            return err(ERR_SYNTAX);
        }
    }
    if (abort && (nosave || save || force || now)) || (nosave && save) {
        return err(ERR_SYNTAX);
    }
    if abort {
        // A shutdown here never waits for anything (no replicas), so none is ever in progress.
        return err("ERR No shutdown in progress.");
    }
    use super::persist::{prepare_shutdown, ShutdownSave};
    let how = match (save, nosave) {
        (true, _) => ShutdownSave::Save,
        (_, true) => ShutdownSave::NoSave,
        _ => ShutdownSave::Default,
    };
    if !prepare_shutdown(ctx.st, how, force) {
        return err("ERR Errors trying to SHUTDOWN. Check logs.");
    }
    // No reply: the client sees the connection close as the process exits.
    ctx.st.shutdown = Some(Shutdown::Command);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// INFO

/// Objects being freed on a background thread (FLUSHALL ASYNC) and objects freed that way so far.
static LAZYFREE_PENDING: AtomicU64 = AtomicU64::new(0);
static LAZYFREED: AtomicU64 = AtomicU64::new(0);

/// INFO sections in Redis 7.0's order, and whether `INFO` with no argument (`default`) includes each.
const SECTIONS: &[(&str, bool)] = &[
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("modules", true),
    ("commandstats", false),
    ("errorstats", true),
    ("latencystats", false),
    ("cluster", true),
    ("keyspace", true),
];

/// INFO [section [section ...]]
pub fn info(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut want = [false; SECTIONS.len()];
    if args.len() == 1 {
        for (w, s) in want.iter_mut().zip(SECTIONS) {
            *w = s.1;
        }
    }
    for a in args.from(1) {
        if eq_ci(a, b"all") || eq_ci(a, b"everything") {
            want = [true; SECTIONS.len()];
        } else if eq_ci(a, b"default") {
            for (w, s) in want.iter_mut().zip(SECTIONS) {
                *w |= s.1;
            }
        } else if let Some(i) = SECTIONS.iter().position(|s| eq_ci(a, s.0.as_bytes())) {
            want[i] = true;
        }
    }
    let text = info_text(ctx, &want);
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

/// The INFO text for the chosen sections: `# Title\r\n` and `field:value\r\n` lines, sections separated
/// by an empty line.
fn info_text(ctx: &mut Ctx, want: &[bool; SECTIONS.len()]) -> String {
    let mut s = String::with_capacity(4096);
    let mut first = true;
    for (i, (name, _)) in SECTIONS.iter().enumerate() {
        if !want[i] {
            continue;
        }
        if !first {
            s.push_str("\r\n");
        }
        first = false;
        let title = match *name {
            "cpu" => "CPU".to_string(),
            n => {
                let mut t = n[..1].to_ascii_uppercase();
                t.push_str(&n[1..]);
                t
            }
        };
        let _ = write!(s, "# {title}\r\n");
        match *name {
            "server" => info_server(ctx.st, &mut s),
            "clients" => info_clients(ctx, &mut s),
            "memory" => info_memory(ctx.st, &mut s),
            "persistence" => info_persistence(ctx.st, &mut s),
            "stats" => info_stats(ctx.st, &mut s),
            "replication" => info_replication(ctx, &mut s),
            "cpu" => info_cpu(&mut s),
            "commandstats" => info_commandstats(ctx.st, &mut s),
            "errorstats" => info_errorstats(ctx.st, &mut s),
            "latencystats" => super::slowlog::info_latencystats(ctx.st, &mut s),
            "cluster" => s.push_str("cluster_enabled:0\r\n"),
            "keyspace" => info_keyspace(ctx.st, &mut s),
            _ => {}
        }
    }
    s
}

/// INFO replication: always a master; its replicas with the offset each acknowledged and its lag.
fn info_replication(ctx: &Ctx, s: &mut String) {
    let st = &*ctx.st;
    line(s, "role", "master");
    line(s, "connected_slaves", st.replicas.len());
    if st.cfg.min_replicas_to_write > 0 && st.cfg.min_replicas_max_lag > 0 {
        line(
            s,
            "min_slaves_good_slaves",
            super::repl::good_replicas(st, ctx.conns),
        );
    }
    for (n, c) in st
        .replicas
        .iter()
        .filter_map(|&r| ctx.conns.get(r))
        .enumerate()
    {
        let (port, offset, ack_ms) = c
            .repl_link
            .as_ref()
            .map_or((0, 0, st.now), |l| (l.port, l.ack_offset, l.ack_ms));
        let _ = write!(
            s,
            "slave{n}:ip={},port={port},state=online,offset={offset},lag={}\r\n",
            c.addr.ip(),
            st.now.saturating_sub(ack_ms) / 1000
        );
    }
    let r = &st.repl;
    line(s, "master_failover_state", "no-failover");
    line(s, "master_replid", &r.replid);
    line(
        s,
        "master_replid2",
        "0000000000000000000000000000000000000000",
    );
    line(s, "master_repl_offset", r.offset);
    line(s, "second_repl_offset", -1);
    line(s, "repl_backlog_active", u8::from(r.backlog.is_some()));
    line(s, "repl_backlog_size", st.cfg.repl_backlog_size);
    line(s, "repl_backlog_first_byte_offset", r.backlog_first());
    line(
        s,
        "repl_backlog_histlen",
        r.backlog.as_ref().map_or(0, |b| b.len()),
    );
}

fn line(s: &mut String, k: &str, v: impl std::fmt::Display) {
    let _ = write!(s, "{k}:{v}\r\n");
}

fn info_server(st: &State, s: &mut String) {
    let now_us = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0);
    let uptime = st.started.elapsed().as_secs();
    line(s, "redis_version", REDIS_VERSION);
    line(s, "redis_git_sha1", "00000000");
    line(s, "redis_git_dirty", 0);
    line(s, "ferrokv_version", env!("CARGO_PKG_VERSION"));
    line(s, "redis_mode", "standalone");
    line(s, "os", uname());
    line(s, "arch_bits", usize::BITS);
    line(s, "monotonic_clock", "POSIX clock_gettime");
    line(s, "multiplexing_api", "epoll");
    line(s, "process_id", std::process::id());
    line(s, "process_supervised", "no");
    line(s, "run_id", &st.run_id);
    line(s, "tcp_port", st.port);
    line(s, "server_time_usec", now_us);
    line(s, "uptime_in_seconds", uptime);
    line(s, "uptime_in_days", uptime / 86400);
    line(s, "hz", st.cfg.hz);
    line(s, "configured_hz", st.cfg.hz);
    line(s, "lru_clock", (st.now / 1000) & 0xFF_FFFF);
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    line(s, "executable", exe);
    line(
        s,
        "config_file",
        st.cfg.config_file.as_deref().unwrap_or(""),
    );
    line(s, "io_threads_active", 0);
}

/// `Linux 6.1.0 x86_64`, as Redis builds `os:` from uname(2).
fn uname() -> String {
    // SAFETY: uname fills the zeroed struct it is given; its fields are NUL-terminated C strings.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return String::new();
        }
        let f = |b: &[libc::c_char]| {
            std::ffi::CStr::from_ptr(b.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        format!("{} {} {}", f(&u.sysname), f(&u.release), f(&u.machine))
    }
}

fn info_clients(ctx: &mut Ctx, s: &mut String) {
    let blocked = ctx
        .conns
        .iter()
        .filter(|(_, c)| c.blocked.is_some())
        .count();
    line(s, "connected_clients", ctx.conns.len());
    line(s, "cluster_connections", 0);
    line(s, "maxclients", ctx.st.cfg.maxclients);
    line(s, "blocked_clients", blocked);
    line(s, "tracking_clients", ctx.st.tracking.clients);
    // Blocked clients with a deadline, as in Redis's timeout table.
    line(s, "clients_in_timeout_table", ctx.st.waiters.timers.len());
}

/// Resident set size from /proc/self/statm.
pub fn rss_bytes() -> u64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|t| {
            t.split_whitespace()
                .nth(1)
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0);
    // SAFETY: sysconf only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * page.max(0) as u64
}

/// Bytes the allocator has handed out and not had back, counted as they are allocated (the same measure
/// as Redis's `used_memory`).
pub fn used_memory() -> u64 {
    crate::server::alloc::used() as u64
}

fn total_system_memory() -> u64 {
    // SAFETY: sysconf only reads system constants.
    let (pages, page) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    pages.max(0) as u64 * page.max(0) as u64
}

/// Redis's `bytesToHuman`: `512B`, `1.50K`, `2.00M`...
pub fn bytes_to_human(n: u64) -> String {
    let d = n as f64;
    const UNITS: [(f64, &str); 5] = [
        (1024.0, "K"),
        (1024.0 * 1024.0, "M"),
        (1024.0 * 1024.0 * 1024.0, "G"),
        (1024.0 * 1024.0 * 1024.0 * 1024.0, "T"),
        (1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0, "P"),
    ];
    if n < 1024 {
        return format!("{n}B");
    }
    for (i, (base, unit)) in UNITS.iter().enumerate() {
        let next = UNITS.get(i + 1).map_or(f64::MAX, |u| u.0);
        if d < next {
            return format!("{:.2}{unit}", d / base);
        }
    }
    format!("{n}B")
}

fn info_memory(st: &State, s: &mut String) {
    let used = used_memory();
    let rss = rss_bytes();
    let total = total_system_memory();
    line(s, "used_memory", used);
    line(s, "used_memory_human", bytes_to_human(used));
    line(s, "used_memory_rss", rss);
    line(s, "used_memory_rss_human", bytes_to_human(rss));
    line(s, "total_system_memory", total);
    line(s, "total_system_memory_human", bytes_to_human(total));
    let (lua, scripts, script_bytes) = super::script::memory(st);
    line(s, "used_memory_lua", lua);
    line(s, "used_memory_vm_eval", lua);
    line(s, "used_memory_lua_human", bytes_to_human(lua as u64));
    line(s, "used_memory_scripts_eval", script_bytes);
    line(s, "number_of_cached_scripts", scripts);
    let (functions, libraries, vm_functions, function_bytes) = super::function::memory(st);
    line(s, "number_of_functions", functions);
    line(s, "number_of_libraries", libraries);
    line(s, "used_memory_vm_functions", vm_functions);
    line(s, "used_memory_vm_total", vm_functions + lua);
    line(
        s,
        "used_memory_vm_total_human",
        bytes_to_human((vm_functions + lua) as u64),
    );
    line(s, "used_memory_functions", function_bytes);
    line(s, "used_memory_scripts", function_bytes + script_bytes);
    line(
        s,
        "used_memory_scripts_human",
        bytes_to_human((function_bytes + script_bytes) as u64),
    );
    line(s, "maxmemory", st.cfg.maxmemory);
    line(s, "maxmemory_human", bytes_to_human(st.cfg.maxmemory));
    line(s, "maxmemory_policy", &st.cfg.maxmemory_policy);
    let ratio = if used > 0 {
        rss as f64 / used as f64
    } else {
        0.0
    };
    line(s, "mem_fragmentation_ratio", format!("{ratio:.2}"));
    line(s, "mem_fragmentation_bytes", rss as i64 - used as i64);
    // What eviction leaves out of used_memory: arena slots no key holds (replica buffers aside).
    let spare: usize = st.dbs.iter().map(|d| d.spare_bytes()).sum();
    line(s, "mem_not_counted_for_evict", spare);
    line(s, "mem_allocator", "libc");
    line(
        s,
        "lazyfree_pending_objects",
        LAZYFREE_PENDING.load(Ordering::Relaxed),
    );
    line(s, "lazyfreed_objects", LAZYFREED.load(Ordering::Relaxed));
}

fn info_persistence(st: &State, s: &mut String) {
    super::persist::info(st, s);
}

fn info_stats(st: &State, s: &mut String) {
    let t = &st.stats;
    line(s, "total_connections_received", t.connections);
    line(s, "total_commands_processed", t.commands);
    line(s, "instantaneous_ops_per_sec", st.instantaneous_ops());
    line(s, "total_net_input_bytes", t.net_in);
    line(s, "total_net_output_bytes", t.net_out);
    line(s, "rejected_connections", t.rejected_conns);
    line(s, "expired_keys", st.expired_keys());
    line(s, "evicted_keys", t.evicted_keys);
    line(s, "evicted_clients", t.evicted_clients);
    line(s, "keyspace_hits", t.keyspace_hits);
    line(s, "keyspace_misses", t.keyspace_misses);
    line(s, "pubsub_channels", st.waiters.channels.len());
    line(s, "pubsub_patterns", st.waiters.patterns.len());
    line(s, "pubsubshard_channels", st.waiters.shard_channels.len());
    line(s, "latest_fork_usec", st.persist.latest_fork_usec());
    line(s, "total_forks", st.persist.total_forks());
    line(s, "tracking_total_keys", st.tracking.total_keys());
    line(s, "tracking_total_items", st.tracking.total_items());
    line(s, "tracking_total_prefixes", st.tracking.total_prefixes());
    line(s, "total_error_replies", t.error_replies);
}

fn info_cpu(s: &mut String) {
    let usage = |who: libc::c_int| {
        // SAFETY: getrusage fills the zeroed struct it is given.
        unsafe {
            let mut ru: libc::rusage = std::mem::zeroed();
            libc::getrusage(who, &mut ru);
            ru
        }
    };
    let tv = |t: libc::timeval| format!("{}.{:06}", t.tv_sec, t.tv_usec);
    let me = usage(libc::RUSAGE_SELF);
    let children = usage(libc::RUSAGE_CHILDREN);
    let main = usage(libc::RUSAGE_THREAD);
    line(s, "used_cpu_sys", tv(me.ru_stime));
    line(s, "used_cpu_user", tv(me.ru_utime));
    line(s, "used_cpu_sys_children", tv(children.ru_stime));
    line(s, "used_cpu_user_children", tv(children.ru_utime));
    line(s, "used_cpu_sys_main_thread", tv(main.ru_stime));
    line(s, "used_cpu_user_main_thread", tv(main.ru_utime));
}

fn info_commandstats(st: &State, s: &mut String) {
    let reg = registry();
    for r in reg.top_level() {
        let idx = reg.find(r.cmd.name.as_bytes());
        for i in idx.into_iter().chain(r.subs.iter().copied()) {
            let c = &st.cmdstats[i];
            if c.calls == 0 && c.failed == 0 && c.rejected == 0 {
                continue;
            }
            let per = if c.calls > 0 {
                c.usec as f64 / c.calls as f64
            } else {
                0.0
            };
            let _ = write!(
                s,
                "cmdstat_{}:calls={},usec={},usec_per_call={per:.2},rejected_calls={},failed_calls={}\r\n",
                reg.all[i].fullname, c.calls, c.usec, c.rejected, c.failed
            );
        }
    }
}

fn info_errorstats(st: &State, s: &mut String) {
    let mut errs: Vec<(&String, &u64)> = st.stats.errors.iter().collect();
    errs.sort();
    for (name, n) in errs {
        let _ = write!(s, "errorstat_{name}:count={n}\r\n");
    }
}

fn info_keyspace(st: &mut State, s: &mut String) {
    let now = st.now;
    for i in 0..st.dbs.len() {
        let db = &st.dbs[i];
        if db.is_empty() {
            continue;
        }
        let avg = avg_ttl(db, now, &mut st.rng);
        let _ = write!(
            s,
            "db{i}:keys={},expires={},avg_ttl={avg}\r\n",
            db.len(),
            db.expires_len()
        );
    }
}

/// Average remaining TTL in ms of the keys with a deadline: exact for up to 100k keys, otherwise estimated
/// from a window of 10k keys at a random place (Redis's own figure is a sampled estimate too).
fn avg_ttl(db: &Db, now: u64, rng: &mut crate::util::Rng) -> u64 {
    if db.expires_len() == 0 {
        return 0;
    }
    let (mut sum, mut n) = (0u128, 0u64);
    let mut add = |e: &crate::store::Entry| {
        if e.expire > now {
            sum += (e.expire - now) as u128;
            n += 1;
        }
    };
    if db.len() <= 100_000 {
        db.for_each(now, &mut add);
    } else {
        let start = db.next_cursor(rng.below(db.len() as u64) as usize);
        db.scan(start, 10_000, now, &mut add);
    }
    if n == 0 {
        0
    } else {
        (sum / n as u128) as u64
    }
}

// ---------------------------------------------------------------------------------------------------------
// Admission: the checks Redis makes before running or queueing a command that depend on the server's
// state rather than on the command.

/// Whether any admission check is on (they cost nothing when off).
#[inline]
pub fn admission_needed(st: &State) -> bool {
    st.cfg.maxmemory > 0 || st.cfg.min_replicas_to_write > 0 || super::persist::writes_denied(st)
}

/// Redis's maxmemory and min-replicas-to-write checks for the command about to run: the error to refuse
/// it with, if any. A refused EXEC discards its transaction and says why.
pub fn admission(ctx: &mut Ctx, flags: u32, top: &str) -> Option<String> {
    if ctx.st.cfg.maxmemory > 0 && evict::must_refuse(ctx, flags, top) {
        return Some(refusal(ctx, top, evict::ERR_OOM));
    }
    // Redis refuses PING too while saving is broken, so monitoring notices.
    if super::persist::writes_denied(ctx.st)
        && (flags & WRITE != 0
            || top == "ping"
            || (top == "exec" && evict::queued_flags(ctx) & WRITE != 0))
    {
        return Some(refusal(ctx, top, super::persist::ERR_MISCONF));
    }
    if ctx.st.cfg.min_replicas_to_write > 0 {
        let write = flags & WRITE != 0 || (top == "exec" && evict::queued_flags(ctx) & WRITE != 0);
        if write && !super::repl::enough_replicas(ctx.st, ctx.conns) {
            return Some(refusal(
                ctx,
                top,
                "NOREPLICAS Not enough good replicas to write.",
            ));
        }
    }
    None
}

/// The error for a refused command (a refused EXEC gets its EXECABORT form in `reject`).
fn refusal(_ctx: &mut Ctx, _top: &str, msg: &str) -> String {
    msg.to_string()
}

// ---------------------------------------------------------------------------------------------------------
// CONFIG

/// CONFIG GET parameter [parameter ...]
pub fn config_get(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut found: Vec<(String, &'static Param)> = Vec::new();
    let seen = |found: &Vec<(String, &'static Param)>, p: &Param| {
        found.iter().any(|(_, q)| std::ptr::eq(*q, p))
    };
    for pat in args.from(2) {
        if !pat.iter().any(|c| matches!(c, b'[' | b'*' | b'?')) {
            // A plain name is looked up directly and answered under the spelling asked for.
            if let Some(p) = find_param(&lossy(pat)) {
                if !seen(&found, p) {
                    found.push((lossy(pat), p));
                }
            }
            continue;
        }
        for p in PARAMS {
            if !seen(&found, p)
                && !crate::config::HIDDEN.contains(&p.name)
                && glob_match(pat, p.name.as_bytes(), true)
            {
                found.push((p.name.to_string(), p));
            }
        }
    }
    ctx.out.map(found.len());
    for (name, p) in found {
        ctx.out.bulk(name.as_bytes());
        if p.name == "port" {
            // The port actually bound (`--port 0` picks one).
            ctx.out.bulk_int(ctx.st.port as i64);
        } else {
            ctx.out.bulk((p.get)(&ctx.st.cfg).as_bytes());
        }
    }
    Ok(())
}

/// CONFIG SET parameter value [parameter value ...]
pub fn config_set(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if !args.len().is_multiple_of(2) {
        return err(ERR_SYNTAX);
    }
    let pairs: Vec<(String, String)> = args
        .from(2)
        .collect::<Vec<_>>()
        .chunks(2)
        .map(|c| (lossy(c[0]), lossy(c[1])))
        .collect();
    let st = &mut *ctx.st;
    let (old_bind, old_port) = (st.cfg.bind.clone(), st.port);
    let old_backlog = st.cfg.repl_backlog_size;
    let mut relistened = false;
    let res = st.cfg.set_many(&pairs, |cfg, p| match p.name {
        "maxclients" => fit_maxclients(cfg.maxclients),
        "bind" | "port" if !relistened => {
            if cfg.bind == old_bind && cfg.port == old_port {
                return Ok(());
            }
            relistened = true;
            relisten(&mut st.listeners, &mut st.port, &cfg.bind, cfg.port).map_err(|_| {
                if p.name == "bind" {
                    "Failed to bind to specified addresses.".to_string()
                } else {
                    "Unable to listen on this port. Check server logs.".to_string()
                }
            })
        }
        _ => Ok(()),
    });
    // The backlog follows its size, whichever way the command went.
    if st.cfg.repl_backlog_size != old_backlog {
        st.repl.resize(st.cfg.repl_backlog_size);
    }
    if let Err(e) = res {
        // The settings are back to their old values; so must the sockets be, as Redis re-applies them.
        if relistened && relisten(&mut st.listeners, &mut st.port, &old_bind, old_port).is_err() {
            log::warn!("Failed applying restored configuration: not listening on {old_bind} port {old_port}");
        }
        return err(format!("ERR {e}"));
    }
    // A new maxmemory takes effect at once, as Redis's updateMaxmemory evicts right away.
    if ctx.st.cfg.maxmemory > 0
        && pairs
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("maxmemory"))
    {
        evict::perform(ctx);
    }
    ctx.out.ok();
    Ok(())
}

/// Listens on `bind` at `port` in place of the current sockets, recording the port bound.
fn relisten(
    listeners: &mut Option<crate::server::listen::Listeners>,
    port_bound: &mut u16,
    bind: &str,
    port: u16,
) -> std::io::Result<()> {
    let Some(l) = listeners else {
        *port_bound = port;
        return Ok(());
    };
    *port_bound = l.listen(bind, port)?;
    Ok(())
}

/// Raises the open-file limit for `maxclients`, failing as Redis does when the system will not allow it.
fn fit_maxclients(maxclients: u32) -> Result<(), String> {
    crate::server::raise_fd_limit(maxclients);
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct passed in.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Ok(());
    }
    let want = maxclients as u64 + 32;
    if lim.rlim_cur < want {
        return Err(format!(
            "The operating system is not able to handle the specified number of clients, try with {}",
            lim.rlim_cur.saturating_sub(32)
        ));
    }
    Ok(())
}

/// CONFIG RESETSTAT
pub fn config_resetstat(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let st = &mut *ctx.st;
    let t = &mut st.stats;
    t.commands = 0;
    t.connections = 0;
    t.rejected_conns = 0;
    t.net_in = 0;
    t.net_out = 0;
    t.keyspace_hits = 0;
    t.keyspace_misses = 0;
    t.error_replies = 0;
    t.evicted_keys = 0;
    t.evicted_clients = 0;
    t.errors.clear();
    t.ops_samples = [0; 16];
    t.last_sample_cmds = 0;
    for db in &mut st.dbs {
        db.expired = 0;
    }
    super::slowlog::reset_histograms(st);
    for c in &mut st.cmdstats {
        *c = Default::default();
    }
    LAZYFREED.store(0, Ordering::Relaxed);
    ctx.out.ok();
    Ok(())
}

/// CONFIG REWRITE
pub fn config_rewrite(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.st
        .cfg
        .rewrite()
        .map_err(|e| Error::from(format!("ERR {e}")))?;
    ctx.out.ok();
    Ok(())
}

/// CONFIG HELP
pub fn config_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    reply_help(
        ctx.out,
        "CONFIG",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// COMMAND

/// ACL categories in Redis's order (the order COMMAND INFO lists them in).
pub const ACL_CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// The bit of the ACL category called `name`.
pub fn acl_bit(name: &str) -> u32 {
    ACL_CATEGORIES
        .iter()
        .position(|c| c.eq_ignore_ascii_case(name))
        .map_or(0, |i| 1 << i)
}

/// Categories Redis declares for a command beyond what its flags and group imply: (fullname, added,
/// removed). With these, deriving gives Redis 7.0's categories for every command it has.
const ACL_EXCEPTIONS: &[(&str, &[&str], &[&str])] = &[
    ("asking", &["connection"], &[]),
    ("readonly", &["connection"], &[]),
    ("readwrite", &["connection"], &[]),
    ("command", &["connection"], &[]),
    ("dbsize", &["keyspace"], &[]),
    ("flushall", &["keyspace", "dangerous"], &[]),
    ("flushdb", &["keyspace", "dangerous"], &[]),
    ("swapdb", &["keyspace", "dangerous"], &[]),
    ("restore-asking", &["keyspace", "dangerous"], &[]),
    ("info", &["dangerous"], &[]),
    ("keys", &["dangerous"], &[]),
    ("migrate", &["dangerous"], &[]),
    ("restore", &["dangerous"], &[]),
    ("lastsave", &["admin", "dangerous"], &[]),
    ("role", &["admin", "dangerous"], &[]),
    (
        "sort",
        &["set", "sortedset", "list", "dangerous"],
        &["keyspace"],
    ),
    (
        "sort_ro",
        &["set", "sortedset", "list", "dangerous"],
        &["keyspace"],
    ),
    ("wait", &["connection"], &["keyspace"]),
    ("role", &["admin", "dangerous"], &[]),
    ("pubsub|help", &[], &["pubsub"]),
];

/// A command's ACL categories as a bit set over `ACL_CATEGORIES`, derived as Redis does: the family of
/// its documentation group (not for containers), then what its flags imply, then the exceptions above.
pub fn acl_categories(r: &Registered) -> u32 {
    let cmd = r.cmd;
    let group = match (cmd.group, r.parent) {
        ("", Some(p)) => p.group,
        (g, _) => g,
    };
    let family = match group {
        "generic" => "keyspace",
        "string" => "string",
        "list" => "list",
        "set" => "set",
        "sorted-set" | "sorted_set" => "sortedset",
        "hash" => "hash",
        "bitmap" => "bitmap",
        "hyperloglog" => "hyperloglog",
        "geo" => "geo",
        "stream" => "stream",
        "pubsub" => "pubsub",
        "transactions" => "transaction",
        "scripting" => "scripting",
        "connection" => "connection",
        _ => "",
    };
    let mut c = if cmd.subs.is_empty() {
        acl_bit(family)
    } else {
        0
    };
    // Subcommands of COMMAND share its category.
    let base = r.fullname.split('|').next().unwrap_or("");
    for (name, add, remove) in ACL_EXCEPTIONS {
        if *name == r.fullname || (*name == "command" && base == "command") {
            for a in *add {
                c |= acl_bit(a);
            }
            for a in *remove {
                c &= !acl_bit(a);
            }
        }
    }
    let f = cmd.flags;
    if f & WRITE != 0 {
        c |= acl_bit("write");
    }
    if f & READONLY != 0 && c & acl_bit("scripting") == 0 {
        c |= acl_bit("read");
    }
    if f & ADMIN != 0 {
        c |= acl_bit("admin") | acl_bit("dangerous");
    }
    if f & PUBSUB != 0 {
        c |= acl_bit("pubsub");
    }
    if f & FAST != 0 {
        c |= acl_bit("fast");
    }
    if f & BLOCKING != 0 {
        c |= acl_bit("blocking");
    }
    if c & acl_bit("fast") == 0 {
        c |= acl_bit("slow");
    }
    c
}

/// The registry index of `name` (`get`, or `config|get` for a subcommand), case-insensitively.
fn lookup(name: &[u8]) -> Option<usize> {
    let reg = registry();
    match name.iter().position(|&c| c == b'|') {
        None => reg.find(name),
        Some(p) => reg
            .find(&name[..p])
            .and_then(|i| reg.find_sub(i, &name[p + 1..])),
    }
}

/// Redis 7.0.15's own COMMAND DOCS extras (arguments, history, doc flags...), tips and key specs for every
/// command it has, as RESP3 records made by `tools/gen_redis_docs.py` from a real server. They describe the
/// interface ferrokv shares with Redis; ferrokv's own table still decides arity, flags and key positions.
static REDIS_DOCS: &[u8] = include_bytes!("server/redis_docs.resp");

/// One command's record in `REDIS_DOCS`: the extra docs fields (pairs, without their map header), their
/// count, the tips set, the key specs set, and whether its keys move (found by parsing its arguments).
struct DocData {
    extra_pairs: usize,
    extra: &'static [u8],
    tips: &'static [u8],
    key_specs: &'static [u8],
    movable_keys: bool,
}

/// The end of the RESP value starting at `pos`, or None if it is malformed.
fn resp_end(b: &[u8], pos: usize) -> Option<usize> {
    let nl = pos + b.get(pos..)?.windows(2).position(|w| w == b"\r\n")?;
    let head = std::str::from_utf8(&b[pos + 1..nl]).ok()?;
    match *b.get(pos)? {
        b'+' | b'-' | b':' | b',' | b'_' | b'#' | b'(' => Some(nl + 2),
        b'$' | b'=' | b'!' => {
            let n: i64 = head.parse().ok()?;
            Some(if n < 0 {
                nl + 2
            } else {
                nl + 2 + n as usize + 2
            })
        }
        t @ (b'*' | b'~' | b'>' | b'%' | b'|') => {
            let n: i64 = head.parse().ok()?;
            let n = if t == b'%' || t == b'|' { 2 * n } else { n };
            let mut p = nl + 2;
            for _ in 0..n.max(0) {
                p = resp_end(b, p)?;
            }
            Some(p)
        }
        _ => None,
    }
}

/// The count in a RESP aggregate header and where its elements start.
fn resp_header(b: &[u8], pos: usize) -> Option<(usize, usize)> {
    let nl = pos + b.get(pos..)?.windows(2).position(|w| w == b"\r\n")?;
    let n = std::str::from_utf8(&b[pos + 1..nl]).ok()?.parse().ok()?;
    Some((n, nl + 2))
}

fn doc_data(fullname: &str) -> Option<&'static DocData> {
    doc_index().get(fullname)
}

/// Every record of `REDIS_DOCS` by command name, parsed once.
fn doc_index() -> &'static HashMap<&'static str, DocData> {
    static INDEX: OnceLock<HashMap<&'static str, DocData>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let b = REDIS_DOCS;
        let mut map = HashMap::new();
        let mut pos = 0;
        // Each record: *5, the name, the extras map, the tips set, the key specs set, :1 or :0.
        while pos < b.len() {
            let parse = || {
                let (_, name_at) = resp_header(b, pos)?;
                let (len, text) = resp_header(b, name_at)?;
                let name = std::str::from_utf8(b.get(text..text + len)?).ok()?;
                let extra_at = text + len + 2;
                let (pairs, body) = resp_header(b, extra_at)?;
                let tips_at = resp_end(b, extra_at)?;
                let specs_at = resp_end(b, tips_at)?;
                let movable_at = resp_end(b, specs_at)?;
                let end = resp_end(b, movable_at)?;
                let d = DocData {
                    extra_pairs: pairs,
                    extra: &b[body..tips_at],
                    tips: &b[tips_at..specs_at],
                    key_specs: &b[specs_at..movable_at],
                    movable_keys: &b[movable_at..end] == b":1\r\n",
                };
                Some((name, d, end))
            };
            let Some((name, d, end)) = parse() else {
                break;
            };
            map.insert(name, d);
            pos = end;
        }
        map
    })
}

/// Writes RESP3 values from `raw` as the client's protocol wants them: as they are in RESP3; in RESP2 with
/// maps as flat arrays and sets as arrays (the docs data holds only these, arrays, bulks, statuses and
/// integers).
fn put_resp(out: &mut Out, raw: &[u8]) {
    if out.resp3 {
        out.raw(raw);
        return;
    }
    let mut pos = 0;
    while pos < raw.len() {
        let Some((n, next)) = resp_header(raw, pos).filter(|_| matches!(raw[pos], b'%' | b'~'))
        else {
            // Anything else is the same in RESP2: copy one line (and a bulk's payload).
            let end = match raw[pos] {
                b'$' => resp_end(raw, pos),
                _ => raw[pos..]
                    .windows(2)
                    .position(|w| w == b"\r\n")
                    .map(|p| pos + p + 2),
            };
            let end = end.unwrap_or(raw.len());
            out.raw(&raw[pos..end]);
            pos = end;
            continue;
        };
        if raw[pos] == b'%' {
            out.map(n);
        } else {
            out.set(n);
        }
        pos = next;
    }
}

/// Flags Redis keeps out of COMMAND INFO on purpose.
const HIDDEN_FLAGS: u32 = MAY_REPLICATE | SENTINEL | ONLY_SENTINEL;

/// One COMMAND INFO entry: name, arity, flags, first key, last key, step, ACL categories, tips, key specs,
/// subcommands.
fn write_info(out: &mut Out, idx: usize) {
    let reg = registry();
    let r = &reg.all[idx];
    let cmd = r.cmd;
    out.array(10);
    out.bulk(r.fullname.as_bytes());
    out.int(cmd.arity as i64);
    let mut flags: Vec<&str> = FLAG_NAMES
        .iter()
        .filter(|(f, _)| cmd.flags & f & !HIDDEN_FLAGS != 0)
        .map(|(_, n)| *n)
        .collect();
    if doc_data(&r.fullname).is_some_and(|d| d.movable_keys) {
        // Redis derives it from the key specs and lists it just before allow_busy.
        let at = flags.len() - usize::from(flags.last() == Some(&"allow_busy"));
        flags.insert(at, "movablekeys");
    }
    out.set(flags.len());
    for f in flags {
        out.simple(f);
    }
    out.int(cmd.keys.0 as i64);
    out.int(cmd.keys.1 as i64);
    out.int(cmd.keys.2 as i64);
    let cats = acl_categories(r);
    out.set(cats.count_ones() as usize);
    for (i, c) in ACL_CATEGORIES.iter().enumerate() {
        if cats & (1 << i) != 0 {
            out.simple(&format!("@{c}"));
        }
    }
    match doc_data(&r.fullname) {
        Some(d) => {
            put_resp(out, d.tips);
            put_resp(out, d.key_specs);
        }
        None => {
            out.set(0);
            out.set(0);
        }
    }
    out.set(r.subs.len());
    for &s in &r.subs {
        write_info(out, s);
    }
}

/// One COMMAND DOCS value: a map of summary, since, group, complexity, Redis's extra fields for the
/// command (arguments, history...) and, for containers, subcommands.
fn write_docs(out: &mut Out, idx: usize) {
    let reg = registry();
    let r = &reg.all[idx];
    let cmd = r.cmd;
    let group = match (cmd.group, r.parent) {
        ("", Some(p)) => p.group,
        (g, _) => g,
    };
    let fields = [
        ("summary", cmd.summary),
        ("since", cmd.since),
        ("group", group),
        ("complexity", cmd.complexity),
    ];
    let present: Vec<&(&str, &str)> = fields.iter().filter(|(_, v)| !v.is_empty()).collect();
    let extra = doc_data(&r.fullname);
    out.map(present.len() + extra.map_or(0, |d| d.extra_pairs) + usize::from(!r.subs.is_empty()));
    for (k, v) in present {
        out.bulk(k.as_bytes());
        out.bulk(v.as_bytes());
    }
    if let Some(d) = extra {
        put_resp(out, d.extra);
    }
    if !r.subs.is_empty() {
        out.bulk(b"subcommands");
        out.map(r.subs.len());
        for &s in &r.subs {
            out.bulk(reg.all[s].fullname.as_bytes());
            write_docs(out, s);
        }
    }
}

/// COMMAND
pub fn command(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let reg = registry();
    let top: Vec<usize> = reg
        .top_level()
        .filter_map(|r| reg.find(r.cmd.name.as_bytes()))
        .collect();
    ctx.out.array(top.len());
    for i in top {
        write_info(ctx.out, i);
    }
    Ok(())
}

/// COMMAND COUNT
pub fn command_count(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.out.int(registry().top_level().count() as i64);
    Ok(())
}

/// COMMAND INFO [command-name [command-name ...]]
pub fn command_info(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() == 2 {
        return command(ctx, args);
    }
    ctx.out.array(args.len() - 2);
    for name in args.from(2) {
        match lookup(name) {
            Some(i) => write_info(ctx.out, i),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// COMMAND DOCS [command-name [command-name ...]]
pub fn command_docs(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let reg = registry();
    let list: Vec<usize> = if args.len() == 2 {
        reg.top_level()
            .filter_map(|r| reg.find(r.cmd.name.as_bytes()))
            .collect()
    } else {
        args.from(2).filter_map(lookup).collect()
    };
    ctx.out.map(list.len());
    for i in list {
        ctx.out.bulk(reg.all[i].fullname.as_bytes());
        write_docs(ctx.out, i);
    }
    Ok(())
}

/// COMMAND LIST [FILTERBY MODULE module-name | ACLCAT category | PATTERN pattern]
pub fn command_list(ctx: &mut Ctx, args: &Args) -> CmdResult {
    enum Filter<'a> {
        All,
        None,
        Cat(u32),
        Pattern(&'a [u8]),
    }
    let filter = match args.len() {
        2 => Filter::All,
        5 if eq_ci(&args[2], b"filterby") => {
            let (kind, v) = (&args[3], &args[4]);
            if eq_ci(kind, b"module") {
                Filter::None
            } else if eq_ci(kind, b"aclcat") {
                match acl_bit(&lossy(v)) {
                    0 => Filter::None,
                    b => Filter::Cat(b),
                }
            } else if eq_ci(kind, b"pattern") {
                Filter::Pattern(v)
            } else {
                return err(ERR_SYNTAX);
            }
        }
        _ => return err(ERR_SYNTAX),
    };
    let reg = registry();
    let mut names: Vec<&str> = Vec::new();
    for top in reg.top_level() {
        let Some(ti) = reg.find(top.cmd.name.as_bytes()) else {
            continue;
        };
        for i in std::iter::once(ti).chain(top.subs.iter().copied()) {
            let r = &reg.all[i];
            let keep = match &filter {
                Filter::All => true,
                Filter::None => false,
                Filter::Cat(b) => acl_categories(r) & b != 0,
                Filter::Pattern(p) => glob_match(p, r.fullname.as_bytes(), true),
            };
            if keep {
                names.push(&r.fullname);
            }
        }
    }
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
    Ok(())
}

/// COMMAND GETKEYS command [arg [arg ...]]
pub fn command_getkeys(ctx: &mut Ctx, args: &Args) -> CmdResult {
    getkeys(ctx, args, false)
}

/// COMMAND GETKEYSANDFLAGS command [arg [arg ...]]
pub fn command_getkeysandflags(ctx: &mut Ctx, args: &Args) -> CmdResult {
    getkeys(ctx, args, true)
}

/// The keys of the command in `args[2..]` as Redis finds them: by its key specs, or by its own rules
/// where the specs are not enough; ferrokv's key positions for commands Redis does not have.
fn getkeys(ctx: &mut Ctx, args: &Args, with_flags: bool) -> CmdResult {
    let reg = registry();
    let argv: Vec<&[u8]> = args.from(2).collect();
    let Some(mut idx) = reg.find(argv[0]) else {
        return err("ERR Invalid command specified");
    };
    if !reg.all[idx].subs.is_empty() && argv.len() >= 2 {
        match reg.find_sub(idx, argv[1]) {
            Some(s) => idx = s,
            None => return err("ERR Invalid command specified"),
        }
    }
    let r = &reg.all[idx];
    let cmd = r.cmd;
    let specs = keyspecs::key_specs(&r.fullname);
    let has_keys = match specs {
        Some(sp) => keyspecs::has_keys(&r.fullname, sp),
        None => cmd.keys.0 != 0,
    };
    if !has_keys {
        return err("ERR The command has no key arguments");
    }
    let argc = argv.len() as i32;
    if (cmd.arity > 0 && cmd.arity != argc) || argc < -cmd.arity {
        return err("ERR Invalid number of arguments specified for command");
    }
    let keys = match specs {
        Some(sp) => keyspecs::command_keys(&r.fullname, sp, &argv),
        None => legacy_keys(cmd.keys, argc),
    };
    if keys.is_empty() {
        if cmd.flags & NO_MANDATORY_KEYS != 0 {
            ctx.out.array(0);
            return Ok(());
        }
        return err("ERR Invalid arguments specified for command");
    }
    ctx.out.array(keys.len());
    for (pos, flags) in keys {
        if with_flags {
            ctx.out.array(2);
            ctx.out.bulk(argv[pos]);
            let names: Vec<&str> = keyspecs::FLAG_NAMES
                .iter()
                .filter(|(f, _)| flags & f != 0)
                .map(|(_, n)| *n)
                .collect();
            ctx.out.set(names.len());
            for n in names {
                ctx.out.simple(n);
            }
        } else {
            ctx.out.bulk(argv[pos]);
        }
    }
    Ok(())
}

/// Key positions from a (first, last, step) triple, for commands without key specs.
/// The positions of the keys in `argv` (command name first), as COMMAND GETKEYS finds them (Redis's
/// getKeysFromCommand); for client-side caching.
pub fn key_positions(r: &Registered, argv: &[&[u8]]) -> Vec<usize> {
    let keys = match keyspecs::key_specs(&r.fullname) {
        Some(sp) => keyspecs::command_keys(&r.fullname, sp, argv),
        None => legacy_keys(r.cmd.keys, argv.len() as i32),
    };
    keys.into_iter().map(|(p, _)| p).collect()
}

fn legacy_keys((first, last, step): (i32, i32, i32), argc: i32) -> Vec<(usize, u32)> {
    let last = if last < 0 { argc + last } else { last };
    let mut keys = Vec::new();
    let mut i = first;
    while i <= last && i < argc {
        keys.push((i as usize, 0));
        i += step.max(1);
    }
    keys
}

/// COMMAND HELP
pub fn command_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    reply_help(
        ctx.out,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// TIME, LASTSAVE, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB

/// TIME
pub fn time(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    ctx.out.array(2);
    ctx.out.bulk_int(d.as_secs() as i64);
    ctx.out.bulk_int(d.subsec_micros() as i64);
    Ok(())
}

/// DBSIZE
pub fn dbsize(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let n = ctx.db().len();
    ctx.out.int(n as i64);
    Ok(())
}

/// The optional `ASYNC | SYNC` of FLUSHDB and FLUSHALL; true for a background free.
fn flush_mode(ctx: &Ctx, args: &Args) -> Result<bool, Error> {
    match args.len() {
        1 => Ok(ctx.st.cfg.lazyfree_lazy_user_flush),
        2 if eq_ci(&args[1], b"async") => Ok(true),
        2 if eq_ci(&args[1], b"sync") => Ok(false),
        _ => err(ERR_SYNTAX),
    }
}

/// Below this many keys a background free costs more than it saves (Redis's LAZYFREE_THRESHOLD is 64
/// allocations per object; here whole databases are handed over).
const LAZYFREE_MIN_KEYS: usize = 1024;

/// Empties database `i`. With `lazy`, the old contents are dropped on a background thread, so the loop
/// does not stall freeing millions of keys.
fn flush_db(ctx: &mut Ctx, i: usize, lazy: bool) -> u64 {
    ctx.touch_all_watched(i, None);
    let db = &mut ctx.st.dbs[i];
    let n = db.len();
    if !lazy || n < LAZYFREE_MIN_KEYS {
        db.clear();
        return n as u64;
    }
    let old = db.take();
    LAZYFREE_PENDING.fetch_add(n as u64, Ordering::Relaxed);
    let spawned = std::thread::Builder::new()
        .name("lazyfree".into())
        .spawn(move || {
            drop(old);
            LAZYFREE_PENDING.fetch_sub(n as u64, Ordering::Relaxed);
            LAZYFREED.fetch_add(n as u64, Ordering::Relaxed);
        });
    if let Err(e) = spawned {
        // The closure (and the old database) was dropped with the failed spawn.
        warn!("Cannot start a lazyfree thread ({e}); freed synchronously");
        LAZYFREE_PENDING.fetch_sub(n as u64, Ordering::Relaxed);
    }
    n as u64
}

/// FLUSHDB [ASYNC | SYNC]
pub fn flushdb(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let lazy = flush_mode(ctx, args)?;
    // Redis counts every key the flush removed (expired ones not yet reclaimed included).
    ctx.dirty = Some(flush_db(ctx, ctx.db, lazy));
    ctx.out.ok();
    Ok(())
}

/// FLUSHALL [ASYNC | SYNC]
pub fn flushall(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let lazy = flush_mode(ctx, args)?;
    for i in 0..ctx.st.dbs.len() {
        // Counted before the save below, which restarts the count when it succeeds (as in Redis).
        ctx.st.dirty += flush_db(ctx, i, lazy);
    }
    ctx.dirty = Some(0);
    super::persist::after_flushall(ctx.st);
    ctx.out.ok();
    Ok(())
}

/// SWAPDB index1 index2
pub fn swapdb(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let a = crate::util::parse_i64(&args[1]).ok_or(Error::from("ERR invalid first DB index"))?;
    let b = crate::util::parse_i64(&args[2]).ok_or(Error::from("ERR invalid second DB index"))?;
    let n = ctx.st.dbs.len() as i64;
    if !(0..n).contains(&a) || !(0..n).contains(&b) {
        return err(super::ERR_DB_INDEX);
    }
    let (a, b) = (a as usize, b as usize);
    if a != b {
        ctx.touch_all_watched(a, Some(b));
        ctx.touch_all_watched(b, Some(a));
    }
    ctx.st.dbs.swap(a, b);
    // Redis counts a swap of a database with itself too.
    ctx.dirty = Some(1);
    // What is logged for WATCH and replicas belongs to the index, not to the data that moved.
    let dbs = &mut ctx.st.dbs;
    let (ta, wa) = (dbs[a].track_expired, dbs[a].watching);
    (dbs[a].track_expired, dbs[a].watching) = (dbs[b].track_expired, dbs[b].watching);
    (dbs[b].track_expired, dbs[b].watching) = (ta, wa);
    crate::store::db::bump_muts();
    // Clients stay blocked on their db index, not on the data: wake those whose key the swap brought in.
    for db in [a, b] {
        let st = &mut *ctx.st;
        let ready: Vec<Box<[u8]>> = st.waiters.blocked[db]
            .keys()
            .filter(|k| st.dbs[db].contains_raw(k))
            .cloned()
            .collect();
        for k in ready {
            st.waiters.signal(db, &k);
        }
    }
    ctx.out.ok();
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// DEBUG

/// C's `strtod` on a prefix: the longest leading decimal number, 0 when there is none.
fn strtod(s: &[u8]) -> f64 {
    let t = String::from_utf8_lossy(s);
    let t = t.trim_start();
    let mut end = 0;
    let b = t.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let mut digits = false;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
        digits = true;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
            digits = true;
        }
    }
    if digits {
        end = i;
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            let mut j = i + 1;
            if j < b.len() && (b[j] == b'+' || b[j] == b'-') {
                j += 1;
            }
            let k = j;
            while j < b.len() && b[j].is_ascii_digit() {
                j += 1;
            }
            if j > k {
                end = j;
            }
        }
    }
    t[..end].parse().unwrap_or(0.0)
}

/// C's `atoi`: optional spaces and sign, then leading digits; 0 when there are none.
fn atoi(s: &[u8]) -> i64 {
    let t = String::from_utf8_lossy(s);
    let t = t.trim_start();
    let (neg, rest) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let n = rest
        .bytes()
        .take_while(u8::is_ascii_digit)
        .fold(0i64, |n, d| {
            n.wrapping_mul(10).wrapping_add((d - b'0') as i64)
        });
    if neg {
        -n
    } else {
        n
    }
}

/// Bytes of Redis's RDB length prefix for `len`.
fn rdb_len_size(len: u64) -> u64 {
    match len {
        0..=63 => 1,
        64..=16383 => 2,
        16384..=0xFFFF_FFFF => 5,
        _ => 9,
    }
}

/// What a string takes in an RDB file (DEBUG OBJECT's serializedlength): integers that fit 32 bits as
/// Redis's integer encodings, anything else as length plus bytes. (Redis may LZF-compress strings over 20
/// bytes; this server does not model that.)
fn rdb_string_len(s: &[u8]) -> u64 {
    if s.len() <= 11 {
        if let Some(n) = crate::util::parse_i64(s) {
            if let Ok(v) = i32::try_from(n) {
                return if i8::try_from(v).is_ok() {
                    2
                } else if i16::try_from(v).is_ok() {
                    3
                } else {
                    5
                };
            }
        }
    }
    rdb_len_size(s.len() as u64) + s.len() as u64
}

const DEBUG_HELP: &[&str] = &[
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
];

/// DEBUG subcommand [argument]: HELP, SLEEP, SET-ACTIVE-EXPIRE, OBJECT, LOG, ERROR, PROTOCOL, RELOAD.
pub fn debug(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let sub = &args[1];
    let argc = args.len();
    if eq_ci(sub, b"help") && argc == 2 {
        reply_help(ctx.out, "DEBUG", DEBUG_HELP);
    } else if eq_ci(sub, b"sleep") && argc == 3 {
        let secs = strtod(&args[2]);
        // Blocks the whole server on purpose, as in Redis: tests use it to simulate a busy server.
        if secs > 0.0 && secs.is_finite() {
            std::thread::sleep(Duration::from_secs_f64(secs.min(1e9)));
        }
        ctx.out.ok();
    } else if eq_ci(sub, b"set-active-expire") && argc == 3 {
        ctx.st.active_expire = atoi(&args[2]) != 0;
        ctx.out.ok();
    } else if eq_ci(sub, b"log") && argc == 3 {
        warn!("DEBUG LOG: {}", String::from_utf8_lossy(&args[2]));
        ctx.out.ok();
    } else if eq_ci(sub, b"error") && argc == 3 {
        return Err(Error::from(lossy(&args[2])));
    } else if eq_ci(sub, b"object") && argc == 3 {
        debug_object(ctx, &args[2])?;
    } else if eq_ci(sub, b"protocol") && argc == 3 {
        debug_protocol(ctx.out, &args[2])?;
    } else if eq_ci(sub, b"reload") {
        super::persist::debug_reload(ctx, args)?;
    } else {
        return Err(super::subcommand_syntax(args));
    }
    Ok(())
}

/// DEBUG OBJECT key
fn debug_object(ctx: &mut Ctx, key: &[u8]) -> CmdResult {
    let now = ctx.st.now;
    let db = &mut ctx.st.dbs[ctx.db];
    let i = db.peek(key, now).ok_or(Error::from(ERR_NO_KEY))?;
    let e = db.entry(i);
    let mut tmp = [0u8; 20];
    let (refcount, serialized) = match e.val.as_bytes(&mut tmp) {
        Some(s) => {
            // Redis shares the integers 0..10000 between keys (OBJ_SHARED_REFCOUNT).
            let shared = e.val.encoding() == "int"
                && crate::util::parse_i64(s).is_some_and(|n| (0..10000).contains(&n));
            (if shared { i32::MAX as i64 } else { 1 }, rdb_string_len(s))
        }
        None => (1, e.val.heap_size() as u64),
    };
    let secs = (now / 1000) as u32;
    let line = format!(
        "Value at:{:p} refcount:{refcount} encoding:{} serializedlength:{serialized} lru:{} lru_seconds_idle:{}",
        &e.val as *const _,
        e.val.encoding(),
        e.lru & 0xFF_FFFF,
        secs.wrapping_sub(e.lru)
    );
    ctx.out.simple(&line);
    Ok(())
}

/// DEBUG PROTOCOL double's sample value, Redis's own (not an approximation of pi).
#[allow(clippy::approx_constant)]
const DEBUG_DOUBLE: f64 = 3.141;

/// DEBUG PROTOCOL type: a sample of each reply type, as Redis 7.0 sends it in RESP2 and RESP3.
fn debug_protocol(out: &mut Out, kind: &[u8]) -> CmdResult {
    let k = kind.to_ascii_lowercase();
    match k.as_slice() {
        b"string" => out.bulk(b"Hello World"),
        b"integer" => out.int(12345),
        b"double" => out.double(DEBUG_DOUBLE),
        b"bignum" => {
            const BIG: &[u8] = b"1234567999999999999999999999999999999";
            if out.resp3 {
                out.raw(b"(");
                out.raw(BIG);
                out.raw(b"\r\n");
            } else {
                out.bulk(BIG);
            }
        }
        b"null" => out.null(),
        b"array" | b"set" => {
            if k == b"set" {
                out.set(3);
            } else {
                out.array(3);
            }
            for j in 0..3 {
                out.int(j);
            }
        }
        b"map" => {
            out.map(3);
            for j in 0..3 {
                out.int(j);
                out.boolean(j == 1);
            }
        }
        b"attrib" => {
            if out.resp3 {
                out.raw(b"|1\r\n");
                out.bulk(b"key-popularity");
                out.array(2);
                out.bulk(b"key:123");
                out.int(90);
            }
            out.bulk(b"Some real reply following the attribute");
        }
        b"push" => {
            if !out.resp3 {
                return err("ERR RESP2 is not supported by this command");
            }
            out.raw(b">2\r\n");
            out.bulk(b"server-cpu-usage");
            out.int(42);
            out.bulk(b"Some real reply following the push reply");
        }
        b"verbatim" => out.verbatim(b"This is a verbatim\nstring"),
        b"true" => out.boolean(true),
        b"false" => out.boolean(false),
        _ => return err(
            "ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
        ),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// Script kills

/// FUNCTION KILL, SCRIPT KILL: nothing runs while a command is served (a script runs to its end, or past
/// busy-reply-threshold to its abort, within its EVAL or FCALL).
pub fn not_busy(_ctx: &mut Ctx, _args: &Args) -> CmdResult {
    err("NOTBUSY No scripts in execution right now.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_match_redis() {
        assert_eq!(bytes_to_human(0), "0B");
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(941088), "919.03K");
        assert_eq!(bytes_to_human(6676480), "6.37M");
        assert_eq!(bytes_to_human(25276502016), "23.54G");
    }

    #[test]
    fn c_number_prefixes() {
        assert_eq!(strtod(b"0.1"), 0.1);
        assert_eq!(strtod(b"abc"), 0.0);
        assert_eq!(strtod(b" 2.5s"), 2.5);
        assert_eq!(strtod(b"1e-3x"), 0.001);
        assert_eq!(atoi(b"1"), 1);
        assert_eq!(atoi(b"abc"), 0);
        assert_eq!(atoi(b"-3x"), -3);
    }

    #[test]
    fn rdb_lengths() {
        assert_eq!(rdb_string_len(b"v"), 2);
        assert_eq!(rdb_string_len(b"123"), 2);
        assert_eq!(rdb_string_len(b"1000"), 3);
        assert_eq!(rdb_string_len(b"100000"), 5);
        assert_eq!(rdb_string_len(b"0123"), 5);
        assert_eq!(rdb_string_len(&[b'a'; 64]), 66);
    }

    #[test]
    fn acl_categories_follow_redis() {
        let names = |cmd: &str| {
            let r = &registry().all[lookup(cmd.as_bytes()).unwrap()];
            let c = acl_categories(r);
            ACL_CATEGORIES
                .iter()
                .enumerate()
                .filter(|(i, _)| c & (1 << i) != 0)
                .map(|(_, n)| *n)
                .collect::<Vec<_>>()
                .join(" ")
        };
        assert_eq!(names("get"), "read string fast");
        assert_eq!(names("config|get"), "admin slow dangerous");
        assert_eq!(names("config"), "slow");
        assert_eq!(names("command"), "slow connection");
        assert_eq!(names("command|info"), "slow connection");
        assert_eq!(names("dbsize"), "keyspace read fast");
        assert_eq!(names("flushall"), "keyspace write slow dangerous");
        assert_eq!(names("lastsave"), "admin fast dangerous");
        assert_eq!(names("eval_ro"), "slow scripting");
        assert_eq!(names("function"), "slow");
    }
}
