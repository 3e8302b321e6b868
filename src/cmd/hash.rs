//! Hash commands: Redis 7.0's hash family over [`Hash`] (listpack or hashtable, converted past
//! `hash-max-listpack-entries`/`-value`). As in Redis's `t_hash.c`, one worker serves each group: `hset_generic`
//! for HSET/HMSET and `getall_generic` for HGETALL/HKEYS/HVALS. Read commands count keyspace hits and
//! misses as `lookupKeyRead` does; writes do not. A hash left empty by HDEL is deleted.
//!
//! Also the helpers the set family shares: the read lookup, random sampling and the reply cap of
//! huge-count random replies.

use super::notify::{notify, GENERIC, HASH};
use std::collections::HashSet;

use super::keys::parse_cursor;
use super::read_lookup;
use super::repl::Propagate;
use super::string::{add_long_double, LD_CHARS};
use super::{
    err, int_arg, Args, Cmd, CmdResult, Ctx, Error, DENYOOM, ERR_NOT_FLOAT, ERR_OVERFLOW,
    ERR_SYNTAX, ERR_WRONGTYPE, FAST, READONLY, WRITE,
};
use crate::store::glob::glob_match;
use crate::store::hash::{Hash, Limits};
use crate::store::set::Elem;
use crate::store::{Db, Value};
use crate::util::{eq_ci, parse_i64, Rng};

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("hset", -4, WRITE | DENYOOM | FAST, (1, 1, 1), hset).doc(
        "hash",
        "2.0.0",
        "Set the string value of a hash field",
        "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is \
         called with multiple field/value pairs.",
    ),
    Cmd::new("hsetnx", 4, WRITE | DENYOOM | FAST, (1, 1, 1), hsetnx).doc(
        "hash",
        "2.0.0",
        "Set the value of a hash field, only if the field does not exist",
        "O(1)",
    ),
    Cmd::new("hget", 3, READONLY | FAST, (1, 1, 1), hget).doc(
        "hash",
        "2.0.0",
        "Get the value of a hash field",
        "O(1)",
    ),
    Cmd::new("hmset", -4, WRITE | DENYOOM | FAST, (1, 1, 1), hmset).doc(
        "hash",
        "2.0.0",
        "Set multiple hash fields to multiple values",
        "O(N) where N is the number of fields being set.",
    ),
    Cmd::new("hmget", -3, READONLY | FAST, (1, 1, 1), hmget).doc(
        "hash",
        "2.0.0",
        "Get the values of all the given hash fields",
        "O(N) where N is the number of fields being requested.",
    ),
    Cmd::new("hgetall", 2, READONLY, (1, 1, 1), hgetall).doc(
        "hash",
        "2.0.0",
        "Get all the fields and values in a hash",
        "O(N) where N is the size of the hash.",
    ),
    Cmd::new("hdel", -3, WRITE | FAST, (1, 1, 1), hdel).doc(
        "hash",
        "2.0.0",
        "Delete one or more hash fields",
        "O(N) where N is the number of fields to be removed.",
    ),
    Cmd::new("hexists", 3, READONLY | FAST, (1, 1, 1), hexists).doc(
        "hash",
        "2.0.0",
        "Determine if a hash field exists",
        "O(1)",
    ),
    Cmd::new("hlen", 2, READONLY | FAST, (1, 1, 1), hlen).doc(
        "hash",
        "2.0.0",
        "Get the number of fields in a hash",
        "O(1)",
    ),
    Cmd::new("hkeys", 2, READONLY, (1, 1, 1), hkeys).doc(
        "hash",
        "2.0.0",
        "Get all the fields in a hash",
        "O(N) where N is the size of the hash.",
    ),
    Cmd::new("hvals", 2, READONLY, (1, 1, 1), hvals).doc(
        "hash",
        "2.0.0",
        "Get all the values in a hash",
        "O(N) where N is the size of the hash.",
    ),
    Cmd::new("hstrlen", 3, READONLY | FAST, (1, 1, 1), hstrlen).doc(
        "hash",
        "3.2.0",
        "Get the length of the value of a hash field",
        "O(1)",
    ),
    Cmd::new("hincrby", 4, WRITE | DENYOOM | FAST, (1, 1, 1), hincrby).doc(
        "hash",
        "2.0.0",
        "Increment the integer value of a hash field by the given number",
        "O(1)",
    ),
    Cmd::new("hincrbyfloat", 4, WRITE | DENYOOM | FAST, (1, 1, 1), hincrbyfloat).doc(
        "hash",
        "2.6.0",
        "Increment the float value of a hash field by the given amount",
        "O(1)",
    ),
    Cmd::new("hrandfield", -2, READONLY, (1, 1, 1), hrandfield).doc(
        "hash",
        "6.2.0",
        "Get one or multiple random fields from a hash",
        "O(N) where N is the number of fields returned",
    ),
    Cmd::new("hscan", -3, READONLY, (1, 1, 1), hscan).doc(
        "hash",
        "2.8.0",
        "Incrementally iterate hash fields and associated values",
        SCAN_COMPLEXITY,
    ),
];

pub(super) const SCAN_COMPLEXITY: &str = "O(1) for every call. O(N) for a complete iteration, \
     including enough command calls for the cursor to return back to 0. N is the number of elements \
     inside the collection..";

pub(super) const ERR_INVALID_CURSOR: &str = "ERR invalid cursor";
/// `getRangeLongFromObjectOrReply(-LONG_MAX, LONG_MAX)`'s range error (Redis's own spelling).
pub(super) const ERR_RANGE_LONG: &str =
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807";
const ERR_OUT_OF_RANGE: &str = "ERR value is out of range";
const ERR_HASH_NOT_INT: &str = "ERR hash value is not an integer";
const ERR_HASH_NOT_FLOAT: &str = "ERR hash value is not a float";
const ERR_INCR_NAN: &str = "ERR value is NaN or Infinity";

/// How large a reply of random picks may grow before it stops: a count like -9223372036854775807 would
/// never end (Redis 7.0's SRANDMEMBER runs out of memory on it). Past the client's hard output limit the
/// client is closed anyway, as Redis closes it (`CLIENT_CLOSE_ASAP`) in HRANDFIELD's loop.
pub(super) fn reply_cap(ctx: &Ctx) -> usize {
    match ctx.st.cfg.obuf[0].hard {
        0 => 1 << 32,
        hard => usize::try_from(hard).unwrap_or(usize::MAX),
    }
}

/// Called when a random reply hit `reply_cap`: its array is incomplete, so the client must go.
pub(super) fn abandon_reply(ctx: &mut Ctx) {
    ctx.conn().kill = true;
}

/// `count` distinct positions out of `0..size` (count < size), in random order for the dense case.
pub(super) fn sample_distinct(rng: &mut Rng, size: usize, count: usize) -> Vec<u32> {
    if count * 3 > size {
        // Most of the collection: a partial Fisher-Yates shuffle of every position.
        let mut all: Vec<u32> = (0..size as u32).collect();
        for i in 0..count {
            let j = i + rng.below((size - i) as u64) as usize;
            all.swap(i, j);
        }
        all.truncate(count);
        all
    } else {
        // Few of many: Floyd's algorithm, O(count).
        let mut picked = HashSet::with_capacity(count);
        let mut out = Vec::with_capacity(count);
        for j in (size - count)..size {
            let t = rng.below(j as u64 + 1) as u32;
            let p = if picked.contains(&t) { j as u32 } else { t };
            picked.insert(p);
            out.push(p);
        }
        out
    }
}

/// The SCAN-family options after the cursor: `[MATCH pattern] [COUNT count]`, parsed as Redis's
/// `scanGenericCommand` does (COUNT below 1 is a syntax error; a `*` pattern matches without a test).
pub(super) fn scan_opts<'a>(
    args: &Args<'a>,
    from: usize,
) -> Result<(Option<&'a [u8]>, usize), Error> {
    let mut count = 10usize;
    let mut pat = None;
    let mut i = from;
    while i < args.len() {
        let a = &args[i];
        let more = i + 1 < args.len();
        if eq_ci(a, b"count") && more {
            let n = int_arg(args, i + 1)?;
            if n < 1 {
                return err(ERR_SYNTAX);
            }
            count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if eq_ci(a, b"match") && more {
            let p = args.get(i + 1).unwrap_or_default();
            pat = if p == b"*" { None } else { Some(p) };
        } else {
            return err(ERR_SYNTAX);
        }
        i += 2;
    }
    Ok((pat, count))
}

/// Whether an element passes a SCAN MATCH pattern.
pub(super) fn scan_match(pat: Option<&[u8]>, e: Elem) -> bool {
    let mut tmp = [0u8; 20];
    pat.is_none_or(|p| glob_match(p, e.bytes(&mut tmp), false))
}

/// Writes an element as a bulk.
#[inline]
pub(super) fn bulk_elem(out: &mut crate::protocol::Out, e: Elem) {
    match e {
        Elem::Str(s) => out.bulk(s),
        Elem::Int(n) => out.bulk_int(n),
    }
}

fn limits(ctx: &Ctx) -> Limits {
    Limits {
        entries: ctx.st.cfg.hash_max_listpack_entries,
        value: ctx.st.cfg.hash_max_listpack_value,
    }
}

/// The hash at entry `i` of `db`, or WRONGTYPE.
fn hash_at(db: &Db, i: u32) -> Result<&Hash, Error> {
    match &db.entry(i).val {
        Value::Hash(h) => Ok(h),
        _ => err(ERR_WRONGTYPE),
    }
}

fn hash_at_mut<'a>(ctx: &'a mut Ctx, i: u32) -> Result<&'a mut Hash, Error> {
    match &mut ctx.st.dbs[ctx.db].entry_mut(i).val {
        Value::Hash(h) => Ok(h),
        _ => err(ERR_WRONGTYPE),
    }
}

/// The hash at `key` for a read command: None (after writing `missing`) when absent, WRONGTYPE when
/// not a hash.
fn read_hash(ctx: &mut Ctx, key: &[u8]) -> Result<Option<u32>, Error> {
    match read_lookup(ctx, key) {
        Some(i) => hash_at(&ctx.st.dbs[ctx.db], i).map(|_| Some(i)),
        None => Ok(None),
    }
}

/// Applies `f` to the hash at `key` for a write command, creating an empty one if absent (Redis's
/// `hashTypeLookupWriteOrCreate`); a hash left empty is not stored.
fn write_hash<T>(
    ctx: &mut Ctx,
    key: &[u8],
    f: impl FnOnce(&mut Hash, Limits) -> Result<T, Error>,
) -> Result<T, Error> {
    let lim = limits(ctx);
    let now = ctx.st.now;
    match ctx.st.dbs[ctx.db].lookup(key, now) {
        Some(i) => f(hash_at_mut(ctx, i)?, lim),
        None => {
            let mut h = Hash::new();
            let r = f(&mut h, lim)?;
            if !h.is_empty() {
                ctx.st.dbs[ctx.db].insert_new(key, Value::Hash(h), now);
            }
            Ok(r)
        }
    }
}

/// The worker behind HSET and HMSET: only the reply differs.
fn hset_generic(ctx: &mut Ctx, args: &Args, hmset: bool) -> CmdResult {
    if args.len() % 2 == 1 {
        return err(if hmset {
            "ERR wrong number of arguments for 'hmset' command"
        } else {
            "ERR wrong number of arguments for 'hset' command"
        });
    }
    let pairs = (2..args.len()).step_by(2).map(|i| (&args[i], &args[i + 1]));
    let added = write_hash(ctx, &args[1], |h, lim| Ok(h.set_pairs(pairs, lim)))?;
    notify(ctx, HASH, "hset", &args[1]);
    // Redis counts every pair given, whether or not its value changed.
    ctx.dirty = Some((args.len() as u64 - 2) / 2);
    if hmset {
        ctx.out.ok();
    } else {
        ctx.out.int(added as i64);
    }
    Ok(())
}

/// HSET key field value [field value ...]
pub fn hset(ctx: &mut Ctx, args: &Args) -> CmdResult {
    hset_generic(ctx, args, false)
}

/// HMSET key field value [field value ...]
pub fn hmset(ctx: &mut Ctx, args: &Args) -> CmdResult {
    hset_generic(ctx, args, true)
}

/// HSETNX key field value
pub fn hsetnx(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (field, value) = (&args[2], &args[3]);
    let set = write_hash(ctx, &args[1], |h, lim| {
        Ok(!h.contains(field) && h.set(field, value, lim))
    })?;
    if set {
        notify(ctx, HASH, "hset", &args[1]);
    } else {
        ctx.prop = Propagate::Nothing;
    }
    ctx.dirty = Some(set as u64);
    ctx.out.int(set as i64);
    Ok(())
}

/// HGET key field
pub fn hget(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let Some(i) = read_hash(ctx, &args[1])? else {
        ctx.out.null();
        return Ok(());
    };
    let h = hash_at(&ctx.st.dbs[ctx.db], i)?;
    match h.get(&args[2]) {
        Some(v) => bulk_elem(ctx.out, v),
        None => ctx.out.null(),
    }
    Ok(())
}

/// HMGET key field [field ...]
pub fn hmget(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let found = read_hash(ctx, &args[1])?;
    ctx.out.array(args.len() - 2);
    let h = match found {
        Some(i) => Some(hash_at(&ctx.st.dbs[ctx.db], i)?),
        None => None,
    };
    for f in args.from(2) {
        match h.and_then(|h| h.get(f)) {
            Some(v) => bulk_elem(ctx.out, v),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// HDEL key field [field ...]
pub fn hdel(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let now = ctx.st.now;
    let Some(i) = ctx.st.dbs[ctx.db].lookup(&args[1], now) else {
        ctx.out.int(0);
        return Ok(());
    };
    let h = hash_at_mut(ctx, i)?;
    let mut deleted = 0;
    for f in args.from(2) {
        if h.remove(f) {
            deleted += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    let gone = h.is_empty();
    if gone {
        ctx.st.dbs[ctx.db].remove_at(i);
    }
    // Redis counts one change per deleted field.
    ctx.dirty = Some(deleted as u64);
    if deleted == 0 {
        ctx.prop = Propagate::Nothing;
    } else {
        notify(ctx, HASH, "hdel", &args[1]);
        if gone {
            notify(ctx, GENERIC, "del", &args[1]);
        }
    }
    ctx.out.int(deleted);
    Ok(())
}

/// HEXISTS key field
pub fn hexists(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let n = match read_hash(ctx, &args[1])? {
        Some(i) => hash_at(&ctx.st.dbs[ctx.db], i)?.contains(&args[2]) as i64,
        None => 0,
    };
    ctx.out.int(n);
    Ok(())
}

/// HLEN key
pub fn hlen(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let n = match read_hash(ctx, &args[1])? {
        Some(i) => hash_at(&ctx.st.dbs[ctx.db], i)?.len() as i64,
        None => 0,
    };
    ctx.out.int(n);
    Ok(())
}

/// HSTRLEN key field
pub fn hstrlen(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let n = match read_hash(ctx, &args[1])? {
        Some(i) => hash_at(&ctx.st.dbs[ctx.db], i)?
            .get(&args[2])
            .map_or(0, |v| v.len()) as i64,
        None => 0,
    };
    ctx.out.int(n);
    Ok(())
}

/// The worker behind HGETALL (fields and values, a map in RESP3), HKEYS and HVALS (arrays).
fn getall_generic(ctx: &mut Ctx, args: &Args, fields: bool, values: bool) -> CmdResult {
    let both = fields && values;
    let Some(i) = read_hash(ctx, &args[1])? else {
        if both {
            ctx.out.map(0);
        } else {
            ctx.out.array(0);
        }
        return Ok(());
    };
    let h = match &ctx.st.dbs[ctx.db].entry(i).val {
        Value::Hash(h) => h,
        _ => return err(ERR_WRONGTYPE),
    };
    let out = &mut *ctx.out;
    if both {
        out.map(h.len());
    } else {
        out.array(h.len());
    }
    h.for_each(|f, v| {
        if fields {
            bulk_elem(out, f);
        }
        if values {
            bulk_elem(out, v);
        }
    });
    Ok(())
}

/// HGETALL key
pub fn hgetall(ctx: &mut Ctx, args: &Args) -> CmdResult {
    getall_generic(ctx, args, true, true)
}

/// HKEYS key
pub fn hkeys(ctx: &mut Ctx, args: &Args) -> CmdResult {
    getall_generic(ctx, args, true, false)
}

/// HVALS key
pub fn hvals(ctx: &mut Ctx, args: &Args) -> CmdResult {
    getall_generic(ctx, args, false, true)
}

/// HINCRBY key field increment
pub fn hincrby(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let by = int_arg(args, 3)?;
    let field = &args[2];
    let n = write_hash(ctx, &args[1], |h, lim| {
        let cur = match h.get(field) {
            Some(Elem::Int(n)) => n,
            Some(Elem::Str(s)) => parse_i64(s).ok_or(ERR_HASH_NOT_INT)?,
            None => 0,
        };
        let n = cur.checked_add(by).ok_or(ERR_OVERFLOW)?;
        let mut tmp = [0u8; 20];
        h.set(field, crate::util::fmt_i64(n, &mut tmp), lim);
        Ok(n)
    })?;
    ctx.out.int(n);
    notify(ctx, HASH, "hincrby", &args[1]);
    // Redis counts the write even when the increment is 0 and the value stays.
    ctx.dirty = Some(1);
    Ok(())
}

/// HINCRBYFLOAT key field increment
///
/// Computed in C `long double` by the shim INCRBYFLOAT uses, so the digits match Redis's.
pub fn hincrbyfloat(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (field, incr) = (&args[2], &args[3]);
    let mut sum = [0u8; LD_CHARS];
    // The increment alone (0 + incr) checks it first, as Redis parses it before the lookup.
    let alone = match add_long_double(None, incr, &mut sum) {
        Ok(n) => n,
        Err(e) if e.0 == ERR_NOT_FLOAT => return Err(e),
        Err(_) => return err(ERR_INCR_NAN),
    };
    let n = write_hash(ctx, &args[1], |h, lim| {
        let n = match h.get(field) {
            Some(v) => {
                let mut tmp = [0u8; 20];
                match add_long_double(Some(v.bytes(&mut tmp)), incr, &mut sum) {
                    Ok(n) => n,
                    Err(e) if e.0 == ERR_NOT_FLOAT => return err(ERR_HASH_NOT_FLOAT),
                    Err(e) => return Err(e),
                }
            }
            None => alone,
        };
        h.set(field, &sum[..n], lim);
        Ok(n)
    })?;
    if !ctx.st.replicas.is_empty() {
        // Replicas get the result, not the float arithmetic, as Redis propagates it.
        ctx.prop = Propagate::args([&b"HSET"[..], &args[1], field, &sum[..n]]);
    }
    ctx.out.bulk(&sum[..n]);
    notify(ctx, HASH, "hincrbyfloat", &args[1]);
    // Redis counts the write even when the value stays the same.
    ctx.dirty = Some(1);
    Ok(())
}

/// HRANDFIELD key [count [WITHVALUES]]
pub fn hrandfield(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() >= 3 {
        let l = int_arg(args, 2)?;
        if l == i64::MIN {
            return err(ERR_RANGE_LONG);
        }
        let withvalues = match args.get(3) {
            None => false,
            Some(a) if args.len() == 4 && eq_ci(a, b"withvalues") => true,
            Some(_) => return err(ERR_SYNTAX),
        };
        if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
            return err(ERR_OUT_OF_RANGE);
        }
        return hrandfield_count(ctx, args, l, withvalues);
    }
    let Some(i) = read_hash(ctx, &args[1])? else {
        ctx.out.null();
        return Ok(());
    };
    let st = &mut *ctx.st;
    let Value::Hash(h) = &st.dbs[ctx.db].entry(i).val else {
        return err(ERR_WRONGTYPE);
    };
    let view = h.view();
    let pick = st.rng.below(view.len() as u64) as usize;
    bulk_elem(ctx.out, view.pair(pick).0);
    Ok(())
}

/// HRANDFIELD with a count: distinct fields for a positive count (at most the whole hash), picks with
/// repetition for a negative one; WITHVALUES pairs are flat in RESP2 and two-element arrays in RESP3.
fn hrandfield_count(ctx: &mut Ctx, args: &Args, l: i64, withvalues: bool) -> CmdResult {
    let Some(i) = read_hash(ctx, &args[1])? else {
        ctx.out.array(0);
        return Ok(());
    };
    let cap = reply_cap(ctx);
    let st = &mut *ctx.st;
    let Value::Hash(h) = &st.dbs[ctx.db].entry(i).val else {
        return err(ERR_WRONGTYPE);
    };
    let out = &mut *ctx.out;
    let count = l.unsigned_abs();
    if count == 0 {
        out.array(0);
        return Ok(());
    }
    let view = h.view();
    let size = view.len();
    let nested = withvalues && out.resp3;
    let emit = |out: &mut crate::protocol::Out, p: usize| {
        let (f, v) = view.pair(p);
        if nested {
            out.array(2);
        }
        bulk_elem(out, f);
        if withvalues {
            bulk_elem(out, v);
        }
    };
    let header = |out: &mut crate::protocol::Out, n: u64| {
        if withvalues && !out.resp3 {
            out.array((n * 2) as usize);
        } else {
            out.array(n as usize);
        }
    };
    if l < 0 || count == 1 {
        header(out, count);
        let mut cut = false;
        for _ in 0..count {
            emit(out, st.rng.below(size as u64) as usize);
            if out.buf.len() > cap {
                cut = true;
                break;
            }
        }
        if cut {
            abandon_reply(ctx);
        }
        return Ok(());
    }
    if count >= size as u64 {
        header(out, size as u64);
        for p in 0..size {
            emit(out, p);
        }
        return Ok(());
    }
    header(out, count);
    for p in sample_distinct(&mut st.rng, size, count as usize) {
        emit(out, p as usize);
    }
    Ok(())
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]
pub fn hscan(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let cursor = parse_cursor(&args[2]).ok_or(ERR_INVALID_CURSOR)?;
    let Some(i) = read_hash(ctx, &args[1])? else {
        ctx.out.array(2);
        ctx.out.bulk(b"0");
        ctx.out.array(0);
        return Ok(());
    };
    let (pat, count) = scan_opts(args, 3)?;
    let h = hash_at(&ctx.st.dbs[ctx.db], i)?;
    let mut found: Vec<(Elem, Elem)> = Vec::new();
    let next = h.scan(cursor, count, |f, v| {
        if scan_match(pat, f) {
            found.push((f, v));
        }
    });
    let out = &mut *ctx.out;
    out.array(2);
    out.bulk_int(next as i64);
    out.array(found.len() * 2);
    for (f, v) in found {
        bulk_elem(out, f);
        bulk_elem(out, v);
    }
    Ok(())
}
