//! DUMP and RESTORE: a value serialized in Redis's RDB object format (see `store::rdb`), so payloads move
//! between ferrokv and Redis 7.0 in both directions.

use super::repl::Propagate;
use super::{
    err, int_arg, read_lookup, Args, Cmd, CmdResult, Ctx, DENYOOM, ERR_SYNTAX, READONLY, WRITE,
};
use crate::store::db::lru_clock;
use crate::store::rdb::{self, LoadError};
use crate::util::{eq_ci, fmt_i64};

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("dump", 2, READONLY, (1, 1, 1), dump).doc(
        "generic",
        "2.6.0",
        "Return a serialized version of the value stored at the specified key.",
        "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1).",
    ),
    Cmd::new("restore", -4, WRITE | DENYOOM, (1, 1, 1), restore).doc(
        "generic",
        "2.6.0",
        "Create a key using the provided serialized value, previously obtained using DUMP.",
        "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N)).",
    ),
];

const ERR_BUSYKEY: &str = "BUSYKEY Target key name already exists.";
const ERR_TTL: &str = "ERR Invalid TTL value, must be >= 0";
const ERR_IDLETIME: &str = "ERR Invalid IDLETIME value, must be >= 0";
const ERR_FREQ: &str = "ERR Invalid FREQ value, must be >= 0 and <= 255";
const ERR_PAYLOAD: &str = "ERR DUMP payload version or checksum are wrong";
const ERR_FORMAT: &str = "ERR Bad data format";

/// Redis's LRU clock: 24 bits of seconds.
const LRU_CLOCK_MAX: i64 = (1 << 24) - 1;

/// The idle time OBJECT IDLETIME reports after RESTORE ... IDLETIME `idle` at `clock`: Redis stores
/// `clock - idle` in its 24-bit field, adding the clock's range once if that is negative, and reads it back
/// as a wrapping difference (`objectSetLRUOrLFU`, `estimateObjectIdleTime`); a time older than the clock
/// can hold comes back as something else.
fn redis_idle(clock: u32, idle: i64) -> i64 {
    let c = clock as i64 & LRU_CLOCK_MAX;
    let idle = idle.wrapping_mul(1000) / 1000;
    let mut abs = c.wrapping_sub(idle);
    if abs < 0 {
        abs = abs.wrapping_add(LRU_CLOCK_MAX);
    }
    let lru = abs & LRU_CLOCK_MAX;
    if c >= lru {
        c - lru
    } else {
        c + (LRU_CLOCK_MAX - lru)
    }
}

/// DUMP key
pub fn dump(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let Some(i) = read_lookup(ctx, &args[1]) else {
        ctx.out.null();
        return Ok(());
    };
    let fill = ctx.st.cfg.list_max_listpack_size;
    let payload = rdb::dump(&ctx.st.dbs[ctx.db].entry(i).val, fill);
    ctx.out.bulk(&payload);
    Ok(())
}

/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency]
pub fn restore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut j = 4;
    while j < args.len() {
        let a = &args[j];
        let more = j + 1 < args.len();
        if eq_ci(a, b"replace") {
            replace = true;
        } else if eq_ci(a, b"absttl") {
            absttl = true;
        } else if eq_ci(a, b"idletime") && more && freq.is_none() {
            let n = int_arg(args, j + 1)?;
            if n < 0 {
                return err(ERR_IDLETIME);
            }
            idle = Some(n);
            j += 1;
        } else if eq_ci(a, b"freq") && more && idle.is_none() {
            let n = int_arg(args, j + 1)?;
            if !(0..=255).contains(&n) {
                return err(ERR_FREQ);
            }
            freq = Some(n);
            j += 1;
        } else {
            return err(ERR_SYNTAX);
        }
        j += 1;
    }
    let key = &args[1];
    let now = ctx.st.now;
    if !replace && ctx.st.dbs[ctx.db].peek(key, now).is_some() {
        return err(ERR_BUSYKEY);
    }
    let mut ttl = int_arg(args, 2)?;
    if ttl < 0 {
        return err(ERR_TTL);
    }
    let payload = &args[3];
    if !rdb::verify(payload) {
        return err(ERR_PAYLOAD);
    }
    let cfg = &ctx.st.cfg;
    let lim = super::persist::rdb_limits(cfg);
    let lfu = cfg.maxmemory_policy.ends_with("-lfu");
    let val = match rdb::load(payload, &lim) {
        Ok(v) => v,
        Err(LoadError::Footer) => return err(ERR_PAYLOAD),
        Err(LoadError::Format) => return err(ERR_FORMAT),
    };

    let db = &mut ctx.st.dbs[ctx.db];
    let deleted = replace && db.remove(key, now);
    if ttl != 0 && !absttl {
        ttl = ttl.saturating_add(now as i64);
    }
    if ttl != 0 && ttl <= now as i64 {
        // Already expired: nothing is created; a replaced key is simply gone.
        ctx.prop = if deleted {
            Propagate::args([&b"DEL"[..], key])
        } else {
            Propagate::Nothing
        };
        ctx.dirty = Some(deleted as u64);
        if deleted {
            ctx.signal_key(key);
            crate::cmd::notify::notify(ctx, crate::cmd::notify::GENERIC, "del", key);
        }
        ctx.out.ok();
        return Ok(());
    }
    let i = db.insert_new(key, val, now);
    // One change, however many keys REPLACE removed on the way.
    ctx.dirty = Some(1);
    if ttl != 0 {
        db.set_expire(i, ttl as u64);
        if !absttl {
            // Replicas get the deadline as an absolute time.
            let mut tmp = [0u8; 20];
            let at = fmt_i64(ttl, &mut tmp);
            ctx.prop = Propagate::args(
                [&args[0], key, at]
                    .into_iter()
                    .chain(args.from(3))
                    .chain([&b"ABSTTL"[..]]),
            );
        }
    }
    // Redis's objectSetLRUOrLFU: FREQ under an LFU policy, IDLETIME otherwise; the other is ignored.
    if lfu {
        if let Some(f) = freq {
            db.entry_mut(i).lru = crate::store::db::lfu_stamp(f as u32, now);
        }
    } else if let Some(idle) = idle {
        let clock = lru_clock(now);
        let lru = clock.wrapping_sub(redis_idle(clock, idle) as u32);
        db.entry_mut(i).lru = lru;
    }
    ctx.signal_key(key);
    crate::cmd::notify::notify(ctx, crate::cmd::notify::GENERIC, "restore", key);
    ctx.out.ok();
    Ok(())
}
