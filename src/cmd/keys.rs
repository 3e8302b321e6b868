//! The generic key family: DEL, UNLINK, EXISTS, KEYS, SCAN, RANDOMKEY, TYPE, RENAME, RENAMENX, MOVE, COPY,
//! TOUCH and OBJECT. Keyspace hits and misses are counted where Redis 7.0 counts them: the commands that
//! look a key up for reading (EXISTS, TYPE, TOUCH, COPY's source, OBJECT, SCAN's TYPE filter), never the
//! ones that look up for writing (DEL, RENAME, MOVE).

use super::notify::{notify, notify_db, GENERIC, KEY_MISS};
use super::{
    err, int_arg, Args, Cmd, CmdResult, Ctx, Error, DENYOOM, ERR_DB_INDEX, ERR_NO_KEY, ERR_SYNTAX,
    FAST, LOADING, READONLY, STALE, WRITE,
};
use crate::store::db::{is_past, lru_clock};
use crate::store::glob::glob_match;
use crate::store::Value;
use crate::util::{eq_ci, parse_i64};

const ERR_SAME_OBJECT: &str = "ERR source and destination objects are the same";
const ERR_INVALID_CURSOR: &str = "ERR invalid cursor";
const ERR_LFU_SELECTED: &str = "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
const ERR_LFU_NOT_SELECTED: &str = "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";

/// Redis shares the integer objects 0..9999 (`OBJ_SHARED_INTEGERS`); their refcount reads as INT_MAX.
const SHARED_INTEGERS: i64 = 10_000;

static OBJECT_SUBS: &[Cmd] = &[
    Cmd::new("encoding", 3, READONLY, (2, 2, 1), object_encoding).doc(
        "generic",
        "2.2.3",
        "Inspect the internal encoding of a Redis object",
        "O(1)",
    ),
    Cmd::new("freq", 3, READONLY, (2, 2, 1), object_freq).doc(
        "generic",
        "4.0.0",
        "Get the logarithmic access frequency counter of a Redis object",
        "O(1)",
    ),
    Cmd::new("help", 2, LOADING | STALE, (0, 0, 0), object_help).doc(
        "generic",
        "6.2.0",
        "Show helpful text about the different subcommands",
        "O(1)",
    ),
    Cmd::new("idletime", 3, READONLY, (2, 2, 1), object_idletime).doc(
        "generic",
        "2.2.3",
        "Get the time since a Redis object was last accessed",
        "O(1)",
    ),
    Cmd::new("refcount", 3, READONLY, (2, 2, 1), object_refcount).doc(
        "generic",
        "2.2.3",
        "Get the number of references to the value of the key",
        "O(1)",
    ),
];

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("del", -2, WRITE, (1, -1, 1), del).doc(
        "generic",
        "1.0.0",
        "Delete a key",
        "O(N) where N is the number of keys that will be removed. When a key to remove holds a value other than a string, the individual complexity for this key is O(M) where M is the number of elements in the list, set, sorted set or hash. Removing a single key that holds a string value is O(1).",
    ),
    Cmd::new("unlink", -2, WRITE | FAST, (1, -1, 1), del).doc(
        "generic",
        "4.0.0",
        "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.",
        "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.",
    ),
    Cmd::new("exists", -2, READONLY | FAST, (1, -1, 1), exists).doc(
        "generic",
        "1.0.0",
        "Determine if a key exists",
        "O(N) where N is the number of keys to check.",
    ),
    Cmd::new("keys", 2, READONLY, (0, 0, 0), keys).doc(
        "generic",
        "1.0.0",
        "Find all keys matching the given pattern",
        "O(N) with N being the number of keys in the database, under the assumption that the key names in the database and the given pattern have limited length.",
    ),
    Cmd::new("scan", -2, READONLY, (0, 0, 0), scan).doc(
        "generic",
        "2.8.0",
        "Incrementally iterate the keys space",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.",
    ),
    Cmd::new("randomkey", 1, READONLY, (0, 0, 0), randomkey).doc(
        "generic",
        "1.0.0",
        "Return a random key from the keyspace",
        "O(1)",
    ),
    Cmd::new("type", 2, READONLY | FAST, (1, 1, 1), type_cmd).doc(
        "generic",
        "1.0.0",
        "Determine the type stored at key",
        "O(1)",
    ),
    Cmd::new("rename", 3, WRITE, (1, 2, 1), rename).doc(
        "generic",
        "1.0.0",
        "Rename a key",
        "O(1)",
    ),
    Cmd::new("renamenx", 3, WRITE | FAST, (1, 2, 1), renamenx).doc(
        "generic",
        "1.0.0",
        "Rename a key, only if the new key does not exist",
        "O(1)",
    ),
    Cmd::new("move", 3, WRITE | FAST, (1, 1, 1), move_cmd).doc(
        "generic",
        "1.0.0",
        "Move a key to another database",
        "O(1)",
    ),
    Cmd::new("copy", -3, WRITE | DENYOOM, (1, 2, 1), copy).doc(
        "generic",
        "6.2.0",
        "Copy a key",
        "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.",
    ),
    Cmd::new("touch", -2, READONLY | FAST, (1, -1, 1), touch).doc(
        "generic",
        "3.2.1",
        "Alters the last access time of a key(s). Returns the number of existing keys specified.",
        "O(N) where N is the number of keys that will be touched.",
    ),
    // A container: dispatch always resolves a subcommand (or fails arity) before a handler runs.
    Cmd::new("object", -2, 0, (0, 0, 0), object_help)
        .subs(OBJECT_SUBS)
        .doc(
            "generic",
            "2.2.3",
            "A container for object introspection commands",
            "Depends on subcommand.",
        ),
];

/// Counts a read lookup in INFO stats, as Redis's `lookupKeyRead*` does.
#[inline]
fn count_read(ctx: &mut Ctx, found: bool) {
    if found {
        ctx.st.stats.keyspace_hits += 1;
    } else {
        ctx.st.stats.keyspace_misses += 1;
    }
}

/// DEL key [key ...]
/// UNLINK key [key ...]
///
/// Values are freed inline: dropping one is cheap enough that UNLINK needs no other thread.
pub fn del(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let now = ctx.st.now;
    let mut n = 0;
    for k in args.from(1) {
        if ctx.st.dbs[ctx.db].remove(k, now) {
            n += 1;
            notify(ctx, GENERIC, "del", k);
        }
    }
    // Redis counts each key deleted.
    ctx.dirty = Some(n);
    ctx.out.int(n as i64);
    Ok(())
}

/// EXISTS key [key ...]
pub fn exists(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let now = ctx.st.now;
    let mut n = 0;
    for k in args.from(1) {
        if ctx.st.dbs[ctx.db].peek(k, now).is_some() {
            n += 1;
        } else {
            notify(ctx, KEY_MISS, "keymiss", k);
        }
    }
    let stats = &mut ctx.st.stats;
    stats.keyspace_hits += n as u64;
    stats.keyspace_misses += (args.len() - 1 - n) as u64;
    ctx.out.int(n as i64);
    Ok(())
}

/// KEYS pattern
pub fn keys(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let now = ctx.st.now;
    let pat = &args[1];
    // Redis skips the matcher for a lone `*` (which would not match the empty key).
    let all = pat == b"*";
    let mut found: Vec<&[u8]> = Vec::new();
    let db = &ctx.st.dbs[ctx.db];
    db.for_each(now, |e| {
        if all || glob_match(pat, e.key.as_slice(), false) {
            found.push(e.key.as_slice());
        }
    });
    ctx.out.array(found.len());
    for k in found {
        ctx.out.bulk(k);
    }
    Ok(())
}

/// Parses a SCAN cursor as Redis does with `strtoul`: an optional sign (a negative value wraps), decimal
/// digits, nothing after them; a leading space or an overflow is invalid, and the empty string is 0.
/// The string ends at its first NUL, as a C string would.
pub(crate) fn parse_cursor(s: &[u8]) -> Option<u64> {
    let s = &s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())];
    let (neg, digits) = match s.first() {
        None => return Some(0),
        Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) => return None,
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        Some(_) => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]
///
/// The cursor is an index into the database's entry arena, whose slots never move while they are
/// occupied, so a key present for the whole iteration is returned at least once.
pub fn scan(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let cursor = parse_cursor(&args[1]).ok_or(ERR_INVALID_CURSOR)?;
    let mut count = 10usize;
    let mut pat: Option<&[u8]> = None;
    let mut typ: Option<&[u8]> = None;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        let has_value = i + 1 < args.len();
        if eq_ci(a, b"count") && has_value {
            let n = int_arg(args, i + 1)?;
            if n < 1 {
                return err(ERR_SYNTAX);
            }
            count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if eq_ci(a, b"match") && has_value {
            let p = &args[i + 1];
            pat = if p == b"*" { None } else { Some(p) };
        } else if eq_ci(a, b"type") && has_value {
            typ = Some(&args[i + 1]);
        } else {
            return err(ERR_SYNTAX);
        }
        i += 2;
    }
    let now = ctx.st.now;
    let db = &mut ctx.st.dbs[ctx.db];
    let mut live: Vec<u32> = Vec::new();
    let mut dead: Vec<u32> = Vec::new();
    let (mut hits, mut misses) = (0u64, 0u64);
    let next = db.scan_slots(cursor, count, |idx, e| {
        if let Some(p) = pat {
            if !glob_match(p, e.key.as_slice(), false) {
                return;
            }
        }
        // Redis checks the type with a read lookup (counted in the stats) before the expiry.
        if is_past(e.expire, now) {
            dead.push(idx);
            misses += typ.is_some() as u64;
            return;
        }
        if let Some(t) = typ {
            hits += 1;
            if !t.eq_ignore_ascii_case(e.val.type_name().as_bytes()) {
                return;
            }
        }
        live.push(idx);
    });
    // Removing never moves another entry, and `live` keeps the table non-empty, so its indexes hold.
    for &idx in &dead {
        db.reclaim_expired(idx);
    }
    ctx.out.array(2);
    ctx.out.bulk_int(next as i64);
    ctx.out.array(live.len());
    for &idx in &live {
        ctx.out.bulk(db.entry(idx).key.as_slice());
    }
    ctx.st.stats.keyspace_hits += hits;
    ctx.st.stats.keyspace_misses += misses;
    Ok(())
}

/// RANDOMKEY
pub fn randomkey(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let now = ctx.st.now;
    let st = &mut *ctx.st;
    let db = &mut st.dbs[ctx.db];
    match db.random(&mut st.rng, now) {
        Some(i) => ctx.out.bulk(db.entry(i).key.as_slice()),
        None => ctx.out.null(),
    }
    Ok(())
}

/// TYPE key
pub fn type_cmd(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let now = ctx.st.now;
    let db = &mut ctx.st.dbs[ctx.db];
    let name = match db.peek(&args[1], now) {
        Some(i) => db.entry(i).val.type_name(),
        None => "none",
    };
    count_read(ctx, name != "none");
    if name == "none" {
        notify(ctx, KEY_MISS, "keymiss", &args[1]);
    }
    ctx.out.simple(name);
    Ok(())
}

/// Moves the value of `args[1]` to `args[2]`, keeping its deadline and idle time. Returns false (and
/// changes nothing) when `nx` and the destination exists.
fn rename_generic(ctx: &mut Ctx, args: &Args, nx: bool) -> Result<bool, Error> {
    let now = ctx.st.now;
    let (src, dst) = (&args[1], &args[2]);
    let db = &mut ctx.st.dbs[ctx.db];
    let Some(i) = db.peek(src, now) else {
        return err(ERR_NO_KEY);
    };
    if src == dst {
        // Redis answers without touching anything, so it counts nothing either.
        ctx.dirty = Some(0);
        return Ok(!nx);
    }
    if let Some(j) = db.peek(dst, now) {
        if nx {
            return Ok(false);
        }
        db.remove_at(j);
    }
    let e = db.remove_at(i);
    let k = db.insert_new(dst, e.val, now);
    let moved = db.entry_mut(k);
    moved.lru = e.lru;
    moved.unshared = e.unshared;
    db.set_expire(k, e.expire);
    // A key moved into place wakes clients blocked on it, as Redis's dbAdd does.
    ctx.signal_key(dst);
    notify(ctx, GENERIC, "rename_from", src);
    notify(ctx, GENERIC, "rename_to", dst);
    ctx.dirty = Some(1);
    Ok(true)
}

/// RENAME key newkey
pub fn rename(ctx: &mut Ctx, args: &Args) -> CmdResult {
    rename_generic(ctx, args, false)?;
    ctx.out.ok();
    Ok(())
}

/// RENAMENX key newkey
pub fn renamenx(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let done = rename_generic(ctx, args, true)?;
    ctx.out.int(done as i64);
    Ok(())
}

/// A database index argument, with Redis's errors for a non-integer, a value outside C's `int`, and an
/// index past `databases`.
fn db_index_arg(ctx: &Ctx, arg: &[u8]) -> Result<usize, Error> {
    let n = parse_i64(arg).ok_or(super::ERR_NOT_INT)?;
    if n < i32::MIN as i64 || n > i32::MAX as i64 {
        return err("ERR value is out of range, value must between -2147483648 and 2147483647");
    }
    if n < 0 || n as usize >= ctx.st.dbs.len() {
        return err(ERR_DB_INDEX);
    }
    Ok(n as usize)
}

/// MOVE key db
pub fn move_cmd(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let to = db_index_arg(ctx, &args[2])?;
    if to == ctx.db {
        return err(ERR_SAME_OBJECT);
    }
    let now = ctx.st.now;
    let key = &args[1];
    let Some(i) = ctx.st.dbs[ctx.db].peek(key, now) else {
        ctx.out.int(0);
        return Ok(());
    };
    if ctx.st.dbs[to].peek(key, now).is_some() {
        ctx.out.int(0);
        return Ok(());
    }
    let e = ctx.st.dbs[ctx.db].remove_at(i);
    let dst = &mut ctx.st.dbs[to];
    let k = dst.insert_new(key, e.val, now);
    let moved = dst.entry_mut(k);
    moved.lru = e.lru;
    moved.unshared = e.unshared;
    dst.set_expire(k, e.expire);
    ctx.st.waiters.signal(to, key);
    notify(ctx, GENERIC, "move_from", key);
    notify_db(ctx, to, GENERIC, "move_to", key);
    ctx.dirty = Some(1);
    ctx.out.int(1);
    Ok(())
}

/// COPY source destination [DB destination-db] [REPLACE]
pub fn copy(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut to = ctx.db;
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        let a = &args[i];
        if eq_ci(a, b"replace") {
            replace = true;
        } else if eq_ci(a, b"db") && i + 1 < args.len() {
            to = db_index_arg(ctx, &args[i + 1])?;
            i += 1;
        } else {
            return err(ERR_SYNTAX);
        }
        i += 1;
    }
    let (src, dst) = (&args[1], &args[2]);
    if to == ctx.db && src == dst {
        return err(ERR_SAME_OBJECT);
    }
    let now = ctx.st.now;
    let from = &mut ctx.st.dbs[ctx.db];
    let found = from.lookup(src, now);
    count_read(ctx, found.is_some());
    let Some(s) = found else {
        notify(ctx, KEY_MISS, "keymiss", src);
        ctx.out.int(0);
        return Ok(());
    };
    if ctx.st.dbs[to].peek(dst, now).is_some() && !replace {
        ctx.out.int(0);
        return Ok(());
    }
    let e = ctx.st.dbs[ctx.db].entry(s);
    let (val, expire): (Value, u64) = (e.val.clone(), e.expire);
    let target = &mut ctx.st.dbs[to];
    // Redis deletes the old destination and adds the copy as a new key (a `new` notification).
    target.remove(dst, now);
    let k = target.insert_new(dst, val, now);
    // Redis duplicates the value, so even a shared small integer becomes an object of its own.
    target.entry_mut(k).unshared = true;
    target.set_expire(k, expire);
    ctx.st.waiters.signal(to, dst);
    notify_db(ctx, to, GENERIC, "copy_to", dst);
    ctx.dirty = Some(1);
    ctx.out.int(1);
    Ok(())
}

/// TOUCH key [key ...]
pub fn touch(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let now = ctx.st.now;
    let mut n = 0;
    for k in args.from(1) {
        if ctx.st.dbs[ctx.db].lookup(k, now).is_some() {
            n += 1;
        } else {
            notify(ctx, KEY_MISS, "keymiss", k);
        }
    }
    let stats = &mut ctx.st.stats;
    stats.keyspace_hits += n as u64;
    stats.keyspace_misses += (args.len() - 1 - n) as u64;
    ctx.out.int(n as i64);
    Ok(())
}

/// OBJECT's lookup: no LRU touch, but counted in the stats. Replies the null for a missing key.
fn object_lookup(ctx: &mut Ctx, args: &Args) -> Option<u32> {
    let now = ctx.st.now;
    let found = ctx.st.dbs[ctx.db].peek(&args[2], now);
    count_read(ctx, found.is_some());
    if found.is_none() {
        ctx.out.null();
    }
    found
}

fn lfu_policy(ctx: &Ctx) -> bool {
    ctx.st.cfg.maxmemory_policy.ends_with("-lfu")
}

/// OBJECT ENCODING key
pub fn object_encoding(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if let Some(i) = object_lookup(ctx, args) {
        let enc = ctx.st.dbs[ctx.db].entry(i).val.encoding();
        ctx.out.bulk(enc.as_bytes());
    }
    Ok(())
}

/// OBJECT FREQ key
pub fn object_freq(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let Some(i) = object_lookup(ctx, args) else {
        return Ok(());
    };
    if !lfu_policy(ctx) {
        return err(ERR_LFU_NOT_SELECTED);
    }
    let stamp = ctx.st.dbs[ctx.db].entry(i).lru;
    ctx.out
        .int(crate::store::db::lfu_counter(stamp, ctx.st.now) as i64);
    Ok(())
}

/// OBJECT IDLETIME key
pub fn object_idletime(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let Some(i) = object_lookup(ctx, args) else {
        return Ok(());
    };
    if lfu_policy(ctx) {
        return err(ERR_LFU_SELECTED);
    }
    let lru = ctx.st.dbs[ctx.db].entry(i).lru;
    ctx.out.int(lru_clock(ctx.st.now).wrapping_sub(lru) as i64);
    Ok(())
}

/// OBJECT REFCOUNT key
///
/// Values are never shared here, but Redis shares the small integers unless an LRU or LFU policy with a
/// memory limit needs per-key access data, or the value is a private copy (COPY); clients see INT_MAX for
/// shared ones, so that is reported.
pub fn object_refcount(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let Some(i) = object_lookup(ctx, args) else {
        return Ok(());
    };
    let cfg = &ctx.st.cfg;
    let sharing = cfg.maxmemory == 0
        || !(cfg.maxmemory_policy.ends_with("-lru") || cfg.maxmemory_policy.ends_with("-lfu"));
    let e = ctx.st.dbs[ctx.db].entry(i);
    let shared = !e.unshared && matches!(e.val, Value::Int(n) if (0..SHARED_INTEGERS).contains(&n));
    ctx.out.int(if shared && sharing {
        i32::MAX as i64
    } else {
        1
    });
    Ok(())
}

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

/// OBJECT HELP
pub fn object_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.out.array(OBJECT_HELP.len());
    for line in OBJECT_HELP {
        ctx.out.simple(line);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::parse_cursor;

    #[test]
    fn cursor_parses_like_strtoul() {
        for (s, v) in [
            (&b""[..], Some(0)),
            (b"0", Some(0)),
            (b"+0", Some(0)),
            (b"-0", Some(0)),
            (b"007", Some(7)),
            (b"-1", Some(u64::MAX)),
            (b"18446744073709551615", Some(u64::MAX)),
            (b"18446744073709551616", None),
            (b" 1", None),
            (b"1 ", None),
            (b"+", None),
            (b"-", None),
            (b"0x10", None),
            (b"abc", None),
            (b"12\0xyz", Some(12)),
        ] {
            assert_eq!(parse_cursor(s), v, "{:?}", String::from_utf8_lossy(s));
        }
    }
}
