//! MEMORY: per-key memory estimates and process memory figures. Sizes are this server's own (its entry,
//! key and value layouts), not Redis's, so they compare keys with each other, not with Redis.

use super::server::{reply_help, rss_bytes, used_memory};
use super::{err, Args, Cmd, CmdResult, Ctx, ERR_SYNTAX, LOADING, READONLY, STALE};
use crate::store::Entry;

pub static COMMANDS: &[Cmd] = &[Cmd::new("memory", -2, 0, (0, 0, 0), container)
    .subs(&[
        Cmd::new("doctor", 2, 0, (0, 0, 0), doctor).doc(
            "server",
            "4.0.0",
            "Outputs memory problems report",
            "O(1)",
        ),
        Cmd::new("help", 2, LOADING | STALE, (0, 0, 0), help).doc(
            "server",
            "4.0.0",
            "Show helpful text about the different subcommands",
            "O(1)",
        ),
        Cmd::new("malloc-stats", 2, 0, (0, 0, 0), malloc_stats).doc(
            "server",
            "4.0.0",
            "Show allocator internal stats",
            "Depends on how much memory is allocated, could be slow",
        ),
        Cmd::new("purge", 2, 0, (0, 0, 0), purge).doc(
            "server",
            "4.0.0",
            "Ask the allocator to release memory",
            "Depends on how much memory is allocated, could be slow",
        ),
        Cmd::new("stats", 2, 0, (0, 0, 0), stats).doc(
            "server",
            "4.0.0",
            "Show memory usage details",
            "O(1)",
        ),
        Cmd::new("usage", -3, READONLY, (2, 2, 1), usage).doc(
            "server",
            "4.0.0",
            "Estimate the memory usage of a key",
            "O(N) where N is the number of samples.",
        ),
    ])
    .doc(
        "server",
        "4.0.0",
        "A container for memory diagnostics commands",
        "Depends on subcommand.",
    )];

/// Bytes one entry costs: its arena slot, its hash-table slot (4-byte index plus control byte), the
/// key's and value's heap blocks, and the expiry index entry if it has a deadline.
pub fn entry_size(e: &Entry) -> usize {
    std::mem::size_of::<Option<Entry>>()
        + 5
        + e.key.heap_size()
        + e.val.heap_size()
        + if e.expire != 0 { 24 } else { 0 }
}

/// The container row: dispatch always resolves a subcommand or refuses the call first.
fn container(_ctx: &mut Ctx, _args: &Args) -> CmdResult {
    err(ERR_SYNTAX)
}

/// MEMORY USAGE key [SAMPLES count]
fn usage(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut i = 3;
    while i < args.len() {
        if args[i].eq_ignore_ascii_case(b"samples") && i + 1 < args.len() {
            let n = super::int_arg(args, i + 1)?;
            if n < 0 {
                return err(ERR_SYNTAX);
            }
            i += 2;
        } else {
            return err(ERR_SYNTAX);
        }
    }
    // Like Redis, a key past its deadline but not yet reclaimed is still measured.
    let db = &ctx.st.dbs[ctx.db];
    match db.find_raw(&args[2]) {
        Some(idx) => ctx.out.int(entry_size(db.entry(idx)) as i64),
        None => ctx.out.null(),
    }
    Ok(())
}

/// MEMORY DOCTOR
fn doctor(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let keys: usize = ctx.st.dbs.iter().map(|d| d.len()).sum();
    let text = if keys == 0 {
        "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.".to_string()
    } else {
        "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.".to_string()
    };
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

/// MEMORY MALLOC-STATS
fn malloc_stats(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.out
        .verbatim(b"Stats not supported for the current allocator");
    Ok(())
}

/// MEMORY PURGE
fn purge(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
    ctx.out.ok();
    Ok(())
}

/// MEMORY STATS
fn stats(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let used = used_memory() as i64;
    let keys: usize = ctx.st.dbs.iter().map(|d| d.len()).sum();
    let overhead: usize = ctx.st.dbs.iter().map(|d| d.overhead_bytes()).sum();
    let normal = ctx.conns.iter().filter(|(_, c)| !c.replica).count();
    let dbs: Vec<(usize, usize, usize)> = ctx
        .st
        .dbs
        .iter()
        .enumerate()
        .filter(|(_, d)| !d.is_empty())
        .map(|(i, d)| (i, d.expires_len(), d.overhead_bytes()))
        .collect();
    let dataset = (used - overhead as i64).max(0);
    ctx.out.map(9 + dbs.len());
    let mut kv = |k: &str, v: i64| {
        ctx.out.bulk(k.as_bytes());
        ctx.out.int(v);
    };
    kv("total.allocated", used);
    kv(
        "clients.normal",
        normal as i64 * std::mem::size_of::<crate::server::conn::Conn>() as i64,
    );
    kv("clients.slaves", 0);
    kv("replication.backlog", 0);
    kv("overhead.total", overhead as i64);
    kv("keys.count", keys as i64);
    kv(
        "keys.bytes-per-key",
        if keys == 0 { 0 } else { used / keys as i64 },
    );
    kv("dataset.bytes", dataset);
    kv("rss-bytes", rss_bytes() as i64);
    for (i, n, over) in dbs {
        ctx.out.bulk(format!("db.{i}").as_bytes());
        ctx.out.map(2);
        ctx.out.bulk(b"overhead.hashtable.main");
        ctx.out.int(over as i64);
        ctx.out.bulk(b"overhead.hashtable.expires");
        ctx.out.int(n as i64 * 24);
    }
    Ok(())
}

/// MEMORY HELP
fn help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    reply_help(
        ctx.out,
        "MEMORY",
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
    Ok(())
}
