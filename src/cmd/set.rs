//! Set commands: Redis 7.0's set family over [`Set`] (intset or hashtable, converted past
//! `set-max-intset-entries` or on a non-integer member). As in Redis's `t_set.c`, `sinter_generic` serves
//! SMEMBERS/SINTER/SINTERCARD/SINTERSTORE and `sunion_diff_generic` SUNION/SDIFF and their STORE forms.
//! Results are built the way Redis builds them (a fresh intset that converts as members arrive), so a
//! stored result gets Redis's encoding and an all-integer reply comes out in ascending order as Redis's
//! does. Set replies are RESP3 sets; SRANDMEMBER's and SMISMEMBER's are arrays, as in Redis.

use super::hash::{
    abandon_reply, bulk_elem, reply_cap, sample_distinct, scan_match, scan_opts,
    ERR_INVALID_CURSOR, ERR_RANGE_LONG, SCAN_COMPLEXITY,
};
use super::keys::parse_cursor;
use super::notify::{notify, GENERIC, SET};
use super::read_lookup;
use super::repl::Propagate;
use super::{
    err, int_arg, Args, Cmd, CmdResult, Ctx, Error, DENYOOM, ERR_SYNTAX, ERR_WRONGTYPE, FAST,
    READONLY, WRITE,
};
use crate::store::set::{Elem, Set};
use crate::store::{Db, Value};
use crate::util::{eq_ci, parse_i64};

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("sadd", -3, WRITE | DENYOOM | FAST, (1, 1, 1), sadd).doc(
        "set",
        "1.0.0",
        "Add one or more members to a set",
        "O(1) for each element added, so O(N) to add N elements when the command is called with \
         multiple arguments.",
    ),
    Cmd::new("srem", -3, WRITE | FAST, (1, 1, 1), srem).doc(
        "set",
        "1.0.0",
        "Remove one or more members from a set",
        "O(N) where N is the number of members to be removed.",
    ),
    Cmd::new("smembers", 2, READONLY, (1, 1, 1), smembers).doc(
        "set",
        "1.0.0",
        "Get all the members in a set",
        "O(N) where N is the set cardinality.",
    ),
    Cmd::new("sismember", 3, READONLY | FAST, (1, 1, 1), sismember).doc(
        "set",
        "1.0.0",
        "Determine if a given value is a member of a set",
        "O(1)",
    ),
    Cmd::new("smismember", -3, READONLY | FAST, (1, 1, 1), smismember).doc(
        "set",
        "6.2.0",
        "Returns the membership associated with the given elements for a set",
        "O(N) where N is the number of elements being checked for membership",
    ),
    Cmd::new("scard", 2, READONLY | FAST, (1, 1, 1), scard).doc(
        "set",
        "1.0.0",
        "Get the number of members in a set",
        "O(1)",
    ),
    Cmd::new("spop", -2, WRITE | FAST, (1, 1, 1), spop).doc(
        "set",
        "1.0.0",
        "Remove and return one or multiple random members from a set",
        "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.",
    ),
    Cmd::new("srandmember", -2, READONLY, (1, 1, 1), srandmember).doc(
        "set",
        "1.0.0",
        "Get one or multiple random members from a set",
        "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed \
         count.",
    ),
    Cmd::new("smove", 4, WRITE | FAST, (1, 2, 1), smove).doc(
        "set",
        "1.0.0",
        "Move a member from one set to another",
        "O(1)",
    ),
    Cmd::new("sinter", -2, READONLY, (1, -1, 1), sinter).doc(
        "set",
        "1.0.0",
        "Intersect multiple sets",
        INTER_COMPLEXITY,
    ),
    Cmd::new("sintercard", -3, READONLY, (0, 0, 0), sintercard).doc(
        "set",
        "7.0.0",
        "Intersect multiple sets and return the cardinality of the result",
        INTER_COMPLEXITY,
    ),
    Cmd::new("sunion", -2, READONLY, (1, -1, 1), sunion).doc(
        "set",
        "1.0.0",
        "Add multiple sets",
        UNION_COMPLEXITY,
    ),
    Cmd::new("sdiff", -2, READONLY, (1, -1, 1), sdiff).doc(
        "set",
        "1.0.0",
        "Subtract multiple sets",
        UNION_COMPLEXITY,
    ),
    Cmd::new("sinterstore", -3, WRITE | DENYOOM, (1, -1, 1), sinterstore).doc(
        "set",
        "1.0.0",
        "Intersect multiple sets and store the resulting set in a key",
        INTER_COMPLEXITY,
    ),
    Cmd::new("sunionstore", -3, WRITE | DENYOOM, (1, -1, 1), sunionstore).doc(
        "set",
        "1.0.0",
        "Add multiple sets and store the resulting set in a key",
        UNION_COMPLEXITY,
    ),
    Cmd::new("sdiffstore", -3, WRITE | DENYOOM, (1, -1, 1), sdiffstore).doc(
        "set",
        "1.0.0",
        "Subtract multiple sets and store the resulting set in a key",
        UNION_COMPLEXITY,
    ),
    Cmd::new("sscan", -3, READONLY, (1, 1, 1), sscan).doc(
        "set",
        "2.8.0",
        "Incrementally iterate Set elements",
        SCAN_COMPLEXITY,
    ),
];

const INTER_COMPLEXITY: &str =
    "O(N*M) worst case where N is the cardinality of the smallest set and M \
     is the number of sets.";
const UNION_COMPLEXITY: &str = "O(N) where N is the total number of elements in all given sets.";

const ERR_POSITIVE: &str = "ERR value is out of range, must be positive";
const ERR_NUMKEYS: &str = "ERR numkeys should be greater than 0";
const ERR_NUMKEYS_ARGS: &str = "ERR Number of keys can't be greater than number of args";
const ERR_LIMIT: &str = "ERR LIMIT can't be negative";

/// SPOP with a count rebuilds the set from the members that stay when fewer than count/5 stay
/// (Redis's SPOP_MOVE_STRATEGY_MUL).
const SPOP_MOVE_STRATEGY_MUL: usize = 5;

fn max_intset(ctx: &Ctx) -> usize {
    ctx.st.cfg.set_max_intset_entries
}

/// The set at entry `i` of `db`, or WRONGTYPE.
fn set_in(db: &Db, i: u32) -> Result<&Set, Error> {
    match &db.entry(i).val {
        Value::Set(s) => Ok(s),
        _ => err(ERR_WRONGTYPE),
    }
}

fn set_in_mut(db: &mut Db, i: u32) -> Result<&mut Set, Error> {
    match &mut db.entry_mut(i).val {
        Value::Set(s) => Ok(s),
        _ => err(ERR_WRONGTYPE),
    }
}

/// The set at `key` for a read command: None when absent, WRONGTYPE when not a set.
fn read_set(ctx: &mut Ctx, key: &[u8]) -> Result<Option<u32>, Error> {
    match read_lookup(ctx, key) {
        Some(i) => set_in(&ctx.st.dbs[ctx.db], i).map(|_| Some(i)),
        None => Ok(None),
    }
}

/// Read lookups of every key, in order, stopping at the first that is not a set (as Redis's
/// `checkType` in its lookup loop does).
fn read_sets(ctx: &mut Ctx, keys: &[&[u8]]) -> Result<Vec<Option<u32>>, Error> {
    keys.iter().map(|k| read_set(ctx, k)).collect()
}

/// Stores a computed set at `dst` (replacing whatever is there, TTL included), or deletes `dst` when
/// the result is empty; replies with the result's size. `event` is the command's notification.
fn store_result(ctx: &mut Ctx, dst: &[u8], result: Set, event: &str) {
    let now = ctx.st.now;
    let db = &mut ctx.st.dbs[ctx.db];
    let n = result.len();
    // Redis counts one change for the store, or for deleting `dst`, however big the result.
    if n == 0 {
        let removed = db.remove(dst, now);
        ctx.dirty = Some(removed as u64);
        if removed {
            notify(ctx, GENERIC, "del", dst);
        }
    } else {
        db.set(dst, Value::Set(Box::new(result)), false, now);
        ctx.dirty = Some(1);
        notify(ctx, SET, event, dst);
    }
    ctx.out.int(n as i64);
}

/// SADD key member [member ...]
pub fn sadd(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let max = max_intset(ctx);
    let (key, now) = (&args[1], ctx.st.now);
    let db = &mut ctx.st.dbs[ctx.db];
    let added = match db.lookup(key, now) {
        Some(i) => {
            let s = set_in_mut(db, i)?;
            args.from(2).filter(|m| s.insert(m, max)).count()
        }
        None => {
            let mut s = Set::for_member(&args[2]);
            let n = args.from(2).filter(|m| s.insert(m, max)).count();
            db.insert_new(key, Value::Set(Box::new(s)), now);
            n
        }
    };
    // Redis counts one change per added member.
    ctx.dirty = Some(added as u64);
    if added == 0 {
        ctx.prop = Propagate::Nothing;
    } else {
        notify(ctx, SET, "sadd", key);
    }
    ctx.out.int(added as i64);
    Ok(())
}

/// SREM key member [member ...]
pub fn srem(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let now = ctx.st.now;
    let db = &mut ctx.st.dbs[ctx.db];
    let Some(i) = db.lookup(&args[1], now) else {
        ctx.out.int(0);
        return Ok(());
    };
    let s = set_in_mut(db, i)?;
    let mut deleted = 0;
    for m in args.from(2) {
        if s.remove(m) {
            deleted += 1;
            if s.is_empty() {
                break;
            }
        }
    }
    let gone = s.is_empty();
    if gone {
        db.remove_at(i);
    }
    // Redis counts one change per removed member.
    ctx.dirty = Some(deleted as u64);
    if deleted == 0 {
        ctx.prop = Propagate::Nothing;
    } else {
        notify(ctx, SET, "srem", &args[1]);
        if gone {
            notify(ctx, GENERIC, "del", &args[1]);
        }
    }
    ctx.out.int(deleted);
    Ok(())
}

/// SISMEMBER key member
pub fn sismember(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let n = match read_set(ctx, &args[1])? {
        Some(i) => set_in(&ctx.st.dbs[ctx.db], i)?.contains(&args[2]) as i64,
        None => 0,
    };
    ctx.out.int(n);
    Ok(())
}

/// SMISMEMBER key member [member ...]
pub fn smismember(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let found = read_set(ctx, &args[1])?;
    let s = match found {
        Some(i) => Some(set_in(&ctx.st.dbs[ctx.db], i)?),
        None => None,
    };
    ctx.out.array(args.len() - 2);
    for m in args.from(2) {
        ctx.out.int(s.is_some_and(|s| s.contains(m)) as i64);
    }
    Ok(())
}

/// SCARD key
pub fn scard(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let n = match read_set(ctx, &args[1])? {
        Some(i) => set_in(&ctx.st.dbs[ctx.db], i)?.len() as i64,
        None => 0,
    };
    ctx.out.int(n);
    Ok(())
}

/// What `sinter_generic` does with the intersection.
#[derive(Clone, Copy)]
enum InterTo<'a> {
    Reply,
    /// SINTERCARD: count it, stopping at the limit (0: none).
    Card(u64),
    Store(&'a [u8]),
}

/// The worker behind SMEMBERS, SINTER, SINTERCARD and SINTERSTORE: walks the smallest set and keeps the
/// members every other set has. A missing key is an empty set, so the result is empty, but every key is
/// still checked for its type first, as Redis 7.0 does.
fn sinter_generic(ctx: &mut Ctx, keys: &[&[u8]], to: InterTo) -> CmdResult {
    let found = read_sets(ctx, keys)?;
    if found.iter().any(Option::is_none) {
        match to {
            InterTo::Reply => ctx.out.set(0),
            InterTo::Card(_) => ctx.out.int(0),
            InterTo::Store(dst) => store_result(ctx, dst, Set::new_intset(), "sinterstore"),
        }
        return Ok(());
    }
    let max = max_intset(ctx);
    let db = &ctx.st.dbs[ctx.db];
    let mut sets: Vec<(u32, &Set)> = Vec::with_capacity(found.len());
    for i in found.into_iter().flatten() {
        sets.push((i, set_in(db, i)?));
    }
    sets.sort_by_key(|(_, s)| s.len());
    let (first_i, first) = sets[0];
    let in_all = |e: Elem| {
        sets[1..]
            .iter()
            .all(|&(i, s)| i == first_i || s.contains_elem(e))
    };
    match to {
        InterTo::Reply if sets.len() == 1 => {
            ctx.out.set(first.len());
            for e in first.iter() {
                bulk_elem(ctx.out, e);
            }
        }
        InterTo::Reply => {
            let hits: Vec<Elem> = first.iter().filter(|&e| in_all(e)).collect();
            ctx.out.set(hits.len());
            for e in hits {
                bulk_elem(ctx.out, e);
            }
        }
        InterTo::Card(limit) => {
            let mut n = 0u64;
            for e in first.iter() {
                if in_all(e) {
                    n += 1;
                    if n == limit {
                        break;
                    }
                }
            }
            ctx.out.int(n as i64);
        }
        InterTo::Store(dst) => {
            let mut result = Set::new_intset();
            for e in first.iter().filter(|&e| in_all(e)) {
                result.insert_elem(e, max);
            }
            store_result(ctx, dst, result, "sinterstore");
        }
    }
    Ok(())
}

/// The worker behind SUNION, SDIFF and their STORE forms. The result is built as a set, as Redis builds
/// it. SDIFF of a key against itself is empty without a walk.
fn sunion_diff_generic(ctx: &mut Ctx, keys: &[&[u8]], diff: bool, dst: Option<&[u8]>) -> CmdResult {
    let found = read_sets(ctx, keys)?;
    let max = max_intset(ctx);
    let db = &ctx.st.dbs[ctx.db];
    let mut result = Set::new_intset();
    if !diff {
        for i in found.iter().flatten() {
            for e in set_in(db, *i)?.iter() {
                result.insert_elem(e, max);
            }
        }
    } else if let Some(first_i) = found[0] {
        if !found[1..].contains(&Some(first_i)) {
            let first = set_in(db, first_i)?;
            let mut others = Vec::with_capacity(found.len() - 1);
            for i in found[1..].iter().flatten() {
                others.push(set_in(db, *i)?);
            }
            for e in first.iter() {
                if !others.iter().any(|s| s.contains_elem(e)) {
                    result.insert_elem(e, max);
                }
            }
        }
    }
    match dst {
        Some(dst) => {
            let event = if diff { "sdiffstore" } else { "sunionstore" };
            store_result(ctx, dst, result, event);
        }
        None => {
            ctx.out.set(result.len());
            for e in result.iter() {
                bulk_elem(ctx.out, e);
            }
        }
    }
    Ok(())
}

fn keys_from<'a>(args: &Args<'a>, from: usize) -> Vec<&'a [u8]> {
    args.from(from).collect()
}

/// SMEMBERS key
pub fn smembers(ctx: &mut Ctx, args: &Args) -> CmdResult {
    sinter_generic(ctx, &[&args[1]], InterTo::Reply)
}

/// SINTER key [key ...]
pub fn sinter(ctx: &mut Ctx, args: &Args) -> CmdResult {
    sinter_generic(ctx, &keys_from(args, 1), InterTo::Reply)
}

/// SINTERSTORE destination key [key ...]
pub fn sinterstore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    sinter_generic(ctx, &keys_from(args, 2), InterTo::Store(&args[1]))
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]
pub fn sintercard(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let numkeys = parse_i64(&args[1]).filter(|&n| n >= 1).ok_or(ERR_NUMKEYS)?;
    if numkeys > (args.len() - 2) as i64 {
        return err(ERR_NUMKEYS_ARGS);
    }
    let end = 2 + numkeys as usize;
    let mut limit = 0u64;
    let mut j = end;
    while j < args.len() {
        if eq_ci(&args[j], b"limit") && j + 1 < args.len() {
            limit = parse_i64(&args[j + 1])
                .and_then(|n| u64::try_from(n).ok())
                .ok_or(ERR_LIMIT)?;
            j += 2;
        } else {
            return err(ERR_SYNTAX);
        }
    }
    let keys: Vec<&[u8]> = (2..end).map(|i| &args[i]).collect();
    sinter_generic(ctx, &keys, InterTo::Card(limit))
}

/// SUNION key [key ...]
pub fn sunion(ctx: &mut Ctx, args: &Args) -> CmdResult {
    sunion_diff_generic(ctx, &keys_from(args, 1), false, None)
}

/// SUNIONSTORE destination key [key ...]
pub fn sunionstore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    sunion_diff_generic(ctx, &keys_from(args, 2), false, Some(&args[1]))
}

/// SDIFF key [key ...]
pub fn sdiff(ctx: &mut Ctx, args: &Args) -> CmdResult {
    sunion_diff_generic(ctx, &keys_from(args, 1), true, None)
}

/// SDIFFSTORE destination key [key ...]
pub fn sdiffstore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    sunion_diff_generic(ctx, &keys_from(args, 2), true, Some(&args[1]))
}

/// SMOVE source destination member
pub fn smove(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (src, dst, m) = (&args[1], &args[2], &args[3]);
    let max = max_intset(ctx);
    let now = ctx.st.now;
    let db = &mut ctx.st.dbs[ctx.db];
    let si = db.lookup(src, now);
    let di = db.lookup(dst, now);
    let Some(si) = si else {
        ctx.out.int(0);
        return Ok(());
    };
    set_in(db, si)?;
    if let Some(di) = di {
        set_in(db, di)?;
    }
    if src == dst {
        let n = set_in(db, si)?.contains(m);
        ctx.prop = Propagate::Nothing;
        ctx.out.int(n as i64);
        return Ok(());
    }
    let s = set_in_mut(db, si)?;
    if !s.remove(m) {
        ctx.prop = Propagate::Nothing;
        ctx.out.int(0);
        return Ok(());
    }
    let gone = s.is_empty();
    if gone {
        db.remove_at(si);
    }
    notify(ctx, SET, "srem", src);
    if gone {
        notify(ctx, GENERIC, "del", src);
    }
    let db = &mut ctx.st.dbs[ctx.db];
    // Redis counts the removal, and the addition only when the destination gains the member.
    ctx.dirty = Some(1);
    match di {
        // Only a destination that gains the member changes (and invalidates its WATCH), as in Redis.
        Some(di) if set_in(db, di)?.contains(m) => {}
        Some(di) => {
            ctx.dirty = Some(2);
            set_in_mut(db, di)?.insert(m, max);
            notify(ctx, SET, "sadd", dst);
        }
        None => {
            ctx.dirty = Some(2);
            let mut d = Set::for_member(m);
            d.insert(m, max);
            db.insert_new(dst, Value::Set(Box::new(d)), now);
            notify(ctx, SET, "sadd", dst);
        }
    }
    ctx.out.int(1);
    Ok(())
}

/// SPOP key [count]
pub fn spop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    match args.len() {
        2 => {}
        3 => return spop_count(ctx, args),
        _ => return err(ERR_SYNTAX),
    }
    let now = ctx.st.now;
    let st = &mut *ctx.st;
    let db = &mut st.dbs[ctx.db];
    let Some(i) = db.lookup(&args[1], now) else {
        ctx.out.null();
        return Ok(());
    };
    let s = set_in_mut(db, i)?;
    let p = st.rng.below(s.len() as u64) as usize;
    let e = s.at(p);
    bulk_elem(ctx.out, e);
    if !st.replicas.is_empty() {
        // Replicas remove the member this pop chose, as Redis propagates SPOP.
        let mut tmp = [0u8; 20];
        ctx.prop = Propagate::args([&b"SREM"[..], &args[1], e.bytes(&mut tmp)]);
    }
    s.remove_at(p);
    let gone = s.is_empty();
    if gone {
        db.remove_at(i);
    }
    notify(ctx, SET, "spop", &args[1]);
    if gone {
        notify(ctx, GENERIC, "del", &args[1]);
    }
    Ok(())
}

/// SPOP key count: the whole set (and the key deleted) when count reaches its size, otherwise count
/// distinct random members.
fn spop_count(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let count = parse_i64(&args[2])
        .and_then(|n| u64::try_from(n).ok())
        .ok_or(ERR_POSITIVE)?;
    let max = max_intset(ctx);
    let now = ctx.st.now;
    let st = &mut *ctx.st;
    let db = &mut st.dbs[ctx.db];
    let Some(i) = db.lookup(&args[1], now) else {
        ctx.out.set(0);
        return Ok(());
    };
    let s = set_in_mut(db, i)?;
    if count == 0 {
        ctx.prop = Propagate::Nothing;
        ctx.out.set(0);
        return Ok(());
    }
    let size = s.len();
    // Redis counts one change per popped member.
    ctx.dirty = Some(count.min(size as u64));
    if count >= size as u64 {
        ctx.out.set(size);
        for e in s.iter() {
            bulk_elem(ctx.out, e);
        }
        db.remove_at(i);
        ctx.prop = Propagate::args([&b"DEL"[..], &args[1]]);
        notify(ctx, SET, "spop", &args[1]);
        notify(ctx, GENERIC, "del", &args[1]);
        return Ok(());
    }
    let count = count as usize;
    let remaining = size - count;
    ctx.out.set(count);
    // Replicas get the members this pop chose as one SREM (Redis sends one SREM per member).
    let mut srem: Option<Vec<Vec<u8>>> = (!st.replicas.is_empty()).then(Vec::new);
    let mut popped = |e: Elem| {
        if let Some(v) = &mut srem {
            v.push(e.to_vec());
        }
    };
    if remaining * SPOP_MOVE_STRATEGY_MUL > count {
        for _ in 0..count {
            let p = st.rng.below(s.len() as u64) as usize;
            bulk_elem(ctx.out, s.at(p));
            popped(s.at(p));
            s.remove_at(p);
        }
    } else {
        // Most of the set goes: move the few that stay into a new set (created for its first member,
        // as Redis's `setTypeCreate` picks the encoding) and reply with what is left of the old one.
        let mut kept: Option<Set> = None;
        for _ in 0..remaining {
            let p = st.rng.below(s.len() as u64) as usize;
            let e = s.at(p);
            let mut tmp = [0u8; 20];
            kept.get_or_insert_with(|| Set::for_member(e.bytes(&mut tmp)))
                .insert_elem(e, max);
            s.remove_at(p);
        }
        for e in s.iter() {
            bulk_elem(ctx.out, e);
            popped(e);
        }
        if let Some(kept) = kept {
            *s = kept;
        }
    }
    if let Some(members) = srem {
        let head = [&b"SREM"[..], &args[1]];
        ctx.prop = Propagate::args(head.into_iter().chain(members.iter().map(Vec::as_slice)));
    }
    notify(ctx, SET, "spop", &args[1]);
    Ok(())
}

/// SRANDMEMBER key [count]
pub fn srandmember(ctx: &mut Ctx, args: &Args) -> CmdResult {
    match args.len() {
        2 => {}
        3 => return srandmember_count(ctx, args),
        _ => return err(ERR_SYNTAX),
    }
    let Some(i) = read_set(ctx, &args[1])? else {
        ctx.out.null();
        return Ok(());
    };
    let st = &mut *ctx.st;
    let s = set_in(&st.dbs[ctx.db], i)?;
    let p = st.rng.below(s.len() as u64) as usize;
    bulk_elem(ctx.out, s.at(p));
    Ok(())
}

/// SRANDMEMBER key count: distinct members for a positive count (at most the whole set), picks with
/// repetition for a negative one; always an array, as in Redis 7.0.
fn srandmember_count(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let l = int_arg(args, 2)?;
    if l == i64::MIN {
        return err(ERR_RANGE_LONG);
    }
    let Some(i) = read_set(ctx, &args[1])? else {
        ctx.out.array(0);
        return Ok(());
    };
    let cap = reply_cap(ctx);
    let st = &mut *ctx.st;
    let s = set_in(&st.dbs[ctx.db], i)?;
    let out = &mut *ctx.out;
    let count = l.unsigned_abs();
    let size = s.len();
    if count == 0 {
        out.array(0);
        return Ok(());
    }
    if l < 0 || count == 1 {
        out.array(count as usize);
        let mut cut = false;
        for _ in 0..count {
            bulk_elem(out, s.at(st.rng.below(size as u64) as usize));
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
        out.array(size);
        for e in s.iter() {
            bulk_elem(out, e);
        }
        return Ok(());
    }
    out.array(count as usize);
    for p in sample_distinct(&mut st.rng, size, count as usize) {
        bulk_elem(out, s.at(p as usize));
    }
    Ok(())
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]
pub fn sscan(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let cursor = parse_cursor(&args[2]).ok_or(ERR_INVALID_CURSOR)?;
    let Some(i) = read_set(ctx, &args[1])? else {
        ctx.out.array(2);
        ctx.out.bulk(b"0");
        ctx.out.array(0);
        return Ok(());
    };
    let (pat, count) = scan_opts(args, 3)?;
    let s = set_in(&ctx.st.dbs[ctx.db], i)?;
    let mut found: Vec<Elem> = Vec::new();
    let next = s.scan(cursor, count, |e| {
        if scan_match(pat, e) {
            found.push(e);
        }
    });
    let out = &mut *ctx.out;
    out.array(2);
    out.bulk_int(next as i64);
    out.array(found.len());
    for e in found {
        bulk_elem(out, e);
    }
    Ok(())
}
