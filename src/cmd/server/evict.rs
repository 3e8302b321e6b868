//! maxmemory, as Redis 7.0 enforces it before each command: while the heap in use (less what replicas'
//! unsent stream holds) is over the limit, keys are evicted by `maxmemory-policy`, sampling
//! `maxmemory-samples` keys per database for the LRU, LFU and TTL policies, for at most the time
//! `maxmemory-eviction-tenacity` allows per call (the cron goes on where a call stopped). When nothing can
//! be evicted, commands that may grow memory get Redis's OOM error.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Instant;

use crate::cmd::{registry, Ctx, DENYOOM};
use crate::server::alloc;
use crate::store::db::lru_clock;

pub const ERR_OOM: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// The outcome of an eviction attempt (Redis's EVICT_OK, EVICT_RUNNING, EVICT_FAIL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evict {
    Ok,
    /// Out of time with memory still over the limit: the cron continues.
    Running,
    /// Over the limit and nothing (more) to evict.
    Fail,
}

/// What removing a key gives back in the key arena besides what the allocator sees.
const SLOT_BYTES: usize = std::mem::size_of::<Option<crate::store::Entry>>();

/// Set when a call ran out of time, so the cron keeps evicting.
static RUNNING: AtomicBool = AtomicBool::new(false);
/// The database the random policies evict from next, so they go round all of them.
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

/// Whether an eviction run was cut short and should be continued.
pub fn pending() -> bool {
    RUNNING.load(Ordering::Relaxed)
}

/// Memory counted against maxmemory: the heap in use, without the replication stream waiting in
/// replicas' output buffers (Redis does not count replication buffers either) and without key-arena slots
/// no key holds (a deleted small key frees its slot for the next key, not to the allocator).
fn counted_memory(ctx: &Ctx) -> usize {
    let spare: usize = ctx.st.dbs.iter().map(|d| d.spare_bytes()).sum();
    let mut used = alloc::used().saturating_sub(spare);
    for &r in &ctx.st.replicas {
        if let Some(c) = ctx.conns.get(r) {
            used = used.saturating_sub(c.wbuf.capacity());
        }
    }
    used
}

/// Redis's evictionTimeLimitUs: microseconds one call may spend evicting.
fn time_limit_us(tenacity: u32) -> u64 {
    match tenacity {
        0..=10 => 50 * tenacity as u64,
        11..=99 => (500.0 * 1.15f64.powi(tenacity as i32 - 10)) as u64,
        _ => u64::MAX,
    }
}

/// Evicts keys until memory is back under `maxmemory` (Redis's performEvictions).
pub fn perform(ctx: &mut Ctx) -> Evict {
    let max = ctx.st.cfg.maxmemory as usize;
    if max == 0 {
        RUNNING.store(false, Ordering::Relaxed);
        return Evict::Ok;
    }
    let used = counted_memory(ctx);
    if used <= max {
        RUNNING.store(false, Ordering::Relaxed);
        return Evict::Ok;
    }
    if ctx.st.cfg.maxmemory_policy == "noeviction" {
        return Evict::Fail;
    }
    let to_free = used - max;
    let limit = time_limit_us(ctx.st.cfg.maxmemory_eviction_tenacity);
    let start = Instant::now();
    let mut freed = 0usize;
    let mut evicted = 0u64;
    while freed < to_free {
        let Some((db, i)) = pick(ctx) else {
            RUNNING.store(false, Ordering::Relaxed);
            return Evict::Fail;
        };
        let before = alloc::used();
        let e = ctx.st.dbs[db].remove_at(i);
        let key: Box<[u8]> = e.key.as_slice().into();
        drop(e);
        freed += before.saturating_sub(alloc::used()) + SLOT_BYTES;
        ctx.st.stats.evicted_keys += 1;
        ctx.touch_key(db, &key);
        crate::cmd::notify::notify_db(ctx, db, crate::cmd::notify::EVICTED, "evicted", &key);
        if !ctx.st.replicas.is_empty() {
            crate::cmd::repl::feed_expired(ctx, db, &[key]);
        }
        evicted += 1;
        if evicted.is_multiple_of(16) {
            // The count of bytes freed misses what frees itself elsewhere: look at the real figure.
            if counted_memory(ctx) <= max {
                break;
            }
            if start.elapsed().as_micros() as u64 > limit {
                RUNNING.store(true, Ordering::Relaxed);
                return Evict::Running;
            }
        }
    }
    RUNNING.store(false, Ordering::Relaxed);
    Evict::Ok
}

/// The key the policy evicts next: (database, entry index).
fn pick(ctx: &mut Ctx) -> Option<(usize, u32)> {
    let policy = ctx.st.cfg.maxmemory_policy.clone();
    let volatile = policy.starts_with("volatile-");
    let now = ctx.st.now;
    let n = ctx.st.dbs.len();
    if policy.ends_with("-random") {
        let first = NEXT_DB.load(Ordering::Relaxed);
        for k in 0..n {
            let db = (first + k) % n;
            let st = &mut *ctx.st;
            let d = &mut st.dbs[db];
            let found = if volatile {
                d.random_volatile(&mut st.rng)
            } else {
                d.random(&mut st.rng, now)
            };
            if let Some(i) = found {
                NEXT_DB.store((db + 1) % n, Ordering::Relaxed);
                return Some((db, i));
            }
        }
        return None;
    }
    // LRU, LFU and TTL: the best of a sample of every
    // database; the higher the score, the sooner the key goes.
    let samples = ctx.st.cfg.maxmemory_samples.max(1);
    let clock = lru_clock(now);
    let lfu = policy.ends_with("-lfu");
    let mut best: Option<(u64, usize, u32)> = None;
    for db in 0..n {
        for _ in 0..samples {
            let st = &mut *ctx.st;
            let d = &mut st.dbs[db];
            let found = if volatile {
                d.random_volatile(&mut st.rng)
            } else {
                d.random(&mut st.rng, now)
            };
            let Some(i) = found else {
                break;
            };
            let e = d.entry(i);
            let score = if policy == "volatile-ttl" {
                u64::MAX - e.expire
            } else if lfu {
                // The least frequently used goes first (Redis's 255 - LFUDecrAndReturn).
                255 - crate::store::db::lfu_counter(e.lru, now) as u64
            } else {
                clock.wrapping_sub(e.lru) as u64
            };
            if best.is_none_or(|(s, _, _)| score > s) {
                best = Some((score, db, i));
            }
        }
    }
    best.map(|(_, db, i)| (db, i))
}

/// Redis's maxmemory check before a command: evicts what it can, then says whether the command must be
/// refused. Commands that may grow memory are refused while nothing more can be evicted, and so is
/// everything a transaction would queue; EXEC only when it holds such a command.
pub fn must_refuse(ctx: &mut Ctx, flags: u32, top: &str) -> bool {
    let oom = perform(ctx) == Evict::Fail;
    if !oom {
        return false;
    }
    let c = &ctx.conns[ctx.id];
    if c.multi.is_some() && !matches!(top, "exec" | "discard" | "quit" | "reset") {
        return true;
    }
    if flags & DENYOOM != 0 {
        return true;
    }
    top == "exec" && queued_flags(ctx) & DENYOOM != 0
}

/// The union of the flags of the commands queued in the client's transaction.
pub fn queued_flags(ctx: &Ctx) -> u32 {
    let reg = registry();
    let Some(q) = &ctx.conns[ctx.id].multi else {
        return 0;
    };
    let mut flags = 0;
    for a in q {
        let args = a.args();
        let Some(mut i) = reg.find(&args[0]) else {
            continue;
        };
        if !reg.all[i].subs.is_empty() && args.len() >= 2 {
            if let Some(s) = reg.find_sub(i, &args[1]) {
                i = s;
            }
        }
        flags |= reg.all[i].cmd.flags;
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenacity_limits_follow_redis() {
        assert_eq!(time_limit_us(0), 0);
        assert_eq!(time_limit_us(10), 500);
        assert_eq!(time_limit_us(11), 575);
        assert_eq!(time_limit_us(100), u64::MAX);
    }
}
