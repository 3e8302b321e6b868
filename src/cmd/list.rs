//! List commands, Redis 7.0's `t_list.c`: pushes, pops (with COUNT), ranges, LPOS, LMOVE, LMPOP and the
//! blocking BLPOP, BRPOP, BLMOVE, BRPOPLPUSH and BLMPOP. As in Redis, a few generic workers serve the
//! family (`push_generic`, `pop_generic`, `pop_first` for every multi-key pop, `move_generic` for the
//! LMOVE group), an emptied list deletes its key, and every command that adds elements signals the key so
//! clients blocked on it get served.
//!
//! Blocking: a blocking command first does what its non-blocking twin does; finding every key empty it
//! asks the loop to park the client (`Ctx::block`) and writes nothing. When a key it waits on is
//! signalled the loop runs the command again with `ctx.reexec` and `ctx.ready_key` set; like Redis, the
//! re-run serves the client from that key alone and, if it is not a non-empty list, keeps it waiting in its
//! place. Inside MULTI/EXEC nothing blocks: the timeout reply comes at once.

use super::notify::{notify, GENERIC, KEY_MISS, LIST};
use super::repl::Propagate;
use super::{
    err, int_arg, Args, Cmd, CmdResult, Ctx, Error, BLOCKING, DENYOOM, ERR_NO_KEY, ERR_SYNTAX,
    ERR_WRONGTYPE, FAST, NOSCRIPT, READONLY, WRITE,
};
use crate::protocol::Out;
use crate::server::State;
use crate::store::list::List;
use crate::store::{Bytes, Value};
use crate::util::{eq_ci, parse_i64};

const PUSH_COMPLEXITY: &str = "O(1) for each element added, so O(N) to add N elements when the \
     command is called with multiple arguments.";
const MPOP_COMPLEXITY: &str =
    "O(N+M) where N is the number of provided keys and M is the number of \
     elements returned.";

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("lpush", -3, WRITE | DENYOOM | FAST, (1, 1, 1), lpush).doc(
        "list",
        "1.0.0",
        "Prepend one or multiple elements to a list",
        PUSH_COMPLEXITY,
    ),
    Cmd::new("rpush", -3, WRITE | DENYOOM | FAST, (1, 1, 1), rpush).doc(
        "list",
        "1.0.0",
        "Append one or multiple elements to a list",
        PUSH_COMPLEXITY,
    ),
    Cmd::new("lpushx", -3, WRITE | DENYOOM | FAST, (1, 1, 1), lpushx).doc(
        "list",
        "2.2.0",
        "Prepend an element to a list, only if the list exists",
        PUSH_COMPLEXITY,
    ),
    Cmd::new("rpushx", -3, WRITE | DENYOOM | FAST, (1, 1, 1), rpushx).doc(
        "list",
        "2.2.0",
        "Append an element to a list, only if the list exists",
        PUSH_COMPLEXITY,
    ),
    Cmd::new("lpop", -2, WRITE | FAST, (1, 1, 1), lpop).doc(
        "list",
        "1.0.0",
        "Remove and get the first elements in a list",
        "O(N) where N is the number of elements returned",
    ),
    Cmd::new("rpop", -2, WRITE | FAST, (1, 1, 1), rpop).doc(
        "list",
        "1.0.0",
        "Remove and get the last elements in a list",
        "O(N) where N is the number of elements returned",
    ),
    Cmd::new("llen", 2, READONLY | FAST, (1, 1, 1), llen).doc(
        "list",
        "1.0.0",
        "Get the length of a list",
        "O(1)",
    ),
    Cmd::new("lrange", 4, READONLY, (1, 1, 1), lrange).doc(
        "list",
        "1.0.0",
        "Get a range of elements from a list",
        "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end \
         (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.",
    ),
    Cmd::new("lindex", 3, READONLY, (1, 1, 1), lindex).doc(
        "list",
        "1.0.0",
        "Get an element from a list by its index",
        "O(N) where N is the number of elements to traverse to get to the element at index. This \
         makes asking for the first or the last element of the list O(1).",
    ),
    Cmd::new("lset", 4, WRITE | DENYOOM, (1, 1, 1), lset).doc(
        "list",
        "1.0.0",
        "Set the value of an element in a list by its index",
        "O(N) where N is the length of the list. Setting either the first or the last element of the \
         list is O(1).",
    ),
    Cmd::new("linsert", 5, WRITE | DENYOOM, (1, 1, 1), linsert).doc(
        "list",
        "2.2.0",
        "Insert an element before or after another element in a list",
        "O(N) where N is the number of elements to traverse before seeing the value pivot. This means \
         that inserting somewhere on the left end on the list (head) can be considered O(1) and \
         inserting somewhere on the right end (tail) is O(N).",
    ),
    Cmd::new("lrem", 4, WRITE, (1, 1, 1), lrem).doc(
        "list",
        "1.0.0",
        "Remove elements from a list",
        "O(N+M) where N is the length of the list and M is the number of elements removed.",
    ),
    Cmd::new("ltrim", 4, WRITE, (1, 1, 1), ltrim).doc(
        "list",
        "1.0.0",
        "Trim a list to the specified range",
        "O(N) where N is the number of elements to be removed by the operation.",
    ),
    Cmd::new("lpos", -3, READONLY, (1, 1, 1), lpos).doc(
        "list",
        "6.0.6",
        "Return the index of matching elements on a list",
        "O(N) where N is the number of elements in the list, for the average case. When searching for \
         elements near the head or the tail of the list, or when the MAXLEN option is provided, the \
         command may run in constant time.",
    ),
    Cmd::new("lmove", 5, WRITE | DENYOOM, (1, 2, 1), lmove).doc(
        "list",
        "6.2.0",
        "Pop an element from a list, push it to another list and return it",
        "O(1)",
    ),
    Cmd::new("rpoplpush", 3, WRITE | DENYOOM, (1, 2, 1), rpoplpush).doc(
        "list",
        "1.2.0",
        "Remove the last element in a list, prepend it to another list and return it",
        "O(1)",
    ),
    Cmd::new("lmpop", -4, WRITE, (0, 0, 0), lmpop).doc(
        "list",
        "7.0.0",
        "Pop elements from a list",
        MPOP_COMPLEXITY,
    ),
    Cmd::new("blpop", -3, WRITE | NOSCRIPT | BLOCKING, (1, -2, 1), blpop).doc(
        "list",
        "2.0.0",
        "Remove and get the first element in a list, or block until one is available",
        "O(N) where N is the number of provided keys.",
    ),
    Cmd::new("brpop", -3, WRITE | NOSCRIPT | BLOCKING, (1, -2, 1), brpop).doc(
        "list",
        "2.0.0",
        "Remove and get the last element in a list, or block until one is available",
        "O(N) where N is the number of provided keys.",
    ),
    Cmd::new(
        "blmove",
        6,
        WRITE | DENYOOM | NOSCRIPT | BLOCKING,
        (1, 2, 1),
        blmove,
    )
    .doc(
        "list",
        "6.2.0",
        "Pop an element from a list, push it to another list and return it; or block until one is \
         available",
        "O(1)",
    ),
    Cmd::new(
        "brpoplpush",
        4,
        WRITE | DENYOOM | NOSCRIPT | BLOCKING,
        (1, 2, 1),
        brpoplpush,
    )
    .doc(
        "list",
        "2.2.0",
        "Pop an element from a list, push it to another list and return it; or block until one is \
         available",
        "O(1)",
    ),
    Cmd::new("blmpop", -5, WRITE | BLOCKING, (0, 0, 0), blmpop).doc(
        "list",
        "7.0.0",
        "Pop elements from a list, or block until one is available",
        MPOP_COMPLEXITY,
    ),
];

const ERR_POSITIVE: &str = "ERR value is out of range, must be positive";
const ERR_NUMKEYS: &str = "ERR numkeys should be greater than 0";
const ERR_COUNT: &str = "ERR count should be greater than 0";
const ERR_RANGE: &str = "ERR index out of range";
const ERR_RANK: &str = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the \
     second ... or use negative to start from the end of the list";

#[inline]
fn as_list(v: &Value) -> Option<&List> {
    match v {
        Value::List(l) => Some(l),
        _ => None,
    }
}

#[inline]
fn as_list_mut(v: &mut Value) -> Option<&mut List> {
    match v {
        Value::List(l) => Some(l),
        _ => None,
    }
}

/// Looks `key` up for a write (Redis's `lookupKeyWrite`: no keyspace hit/miss counted): its index when it
/// holds a list, None when missing, WRONGTYPE for another type. The entry is not marked changed.
#[inline]
fn write_lookup(ctx: &mut Ctx, key: &[u8]) -> Result<Option<u32>, Error> {
    let now = ctx.st.now;
    let db = &mut ctx.st.dbs[ctx.db];
    match db.lookup(key, now) {
        None => Ok(None),
        Some(i) if as_list(&db.entry(i).val).is_some() => Ok(Some(i)),
        Some(_) => err(ERR_WRONGTYPE),
    }
}

/// Like `write_lookup`, counting a keyspace hit or miss as Redis's `lookupKeyRead` does.
#[inline]
fn read_lookup<'s>(st: &'s mut State, db: usize, key: &[u8]) -> Result<Option<&'s List>, Error> {
    let now = st.now;
    let found = st.dbs[db].lookup(key, now);
    if found.is_some() {
        st.stats.keyspace_hits += 1;
    } else {
        st.stats.keyspace_misses += 1;
    }
    match found {
        None => Ok(None),
        Some(i) => match as_list(&st.dbs[db].entry(i).val) {
            Some(l) => Ok(Some(l)),
            None => err(ERR_WRONGTYPE),
        },
    }
}

/// The list at `i` (known to be one), marked changed.
#[inline]
fn list_at<'c>(ctx: &'c mut Ctx, i: u32) -> Result<&'c mut List, Error> {
    as_list_mut(&mut ctx.st.dbs[ctx.db].entry_mut(i).val).ok_or_else(|| ERR_WRONGTYPE.into())
}

/// Deletes the list at `i` if it has been emptied, as Redis never keeps an empty list; true if it did.
#[inline]
fn drop_if_empty(ctx: &mut Ctx, i: u32) -> bool {
    let db = &mut ctx.st.dbs[ctx.db];
    let empty = as_list(&db.entry(i).val).is_some_and(List::is_empty);
    if empty {
        db.remove_at(i);
    }
    empty
}

/// After elements were popped from the list `key` at `i` (Redis's `listElementsRemoved`): the pop event,
/// then the list's deletion if it is empty now.
fn elements_removed(ctx: &mut Ctx, i: u32, key: &[u8], head: bool) {
    let gone = drop_if_empty(ctx, i);
    notify(ctx, LIST, if head { "lpop" } else { "rpop" }, key);
    if gone {
        notify(ctx, GENERIC, "del", key);
    }
}

/// Tells replicas this command as `parts` instead (Redis's `rewriteClientCommandVector`); free when no
/// replica listens.
fn propagate_as(ctx: &mut Ctx, parts: &[&[u8]]) {
    if !ctx.st.replicas.is_empty() {
        ctx.prop = Propagate::args(parts.iter().copied());
    }
}

/// LEFT or RIGHT, as Redis's `getListPositionFromObjectOrReply`: true for LEFT (the head).
fn parse_where(arg: &[u8]) -> Result<bool, Error> {
    if eq_ci(arg, b"left") {
        Ok(true)
    } else if eq_ci(arg, b"right") {
        Ok(false)
    } else {
        err(ERR_SYNTAX)
    }
}

/// An integer in `min..`, else `msg` (Redis's `getRangeLongFromObjectOrReply` with a message).
fn int_at_least(arg: &[u8], min: i64, msg: &'static str) -> Result<i64, Error> {
    match parse_i64(arg) {
        Some(n) if n >= min => Ok(n),
        _ => err(msg),
    }
}

/// Blocking timeouts read exactly as the sorted-set family reads them (Redis's `getTimeoutFromObjectOrReply`).
use super::zset::parse_timeout;

/// Writes the first `count` elements from one end (as an array, head-to-tail from the head, tail-to-head
/// from the tail) and removes them; the list must not be empty. Returns how many.
fn pop_n_reply(out: &mut Out, l: &mut List, count: usize, head: bool) -> usize {
    let n = count.min(l.len());
    out.array(n);
    if head {
        for e in l.range(0, n - 1) {
            out.bulk(e.as_slice());
        }
    } else {
        let len = l.len();
        for e in l.range(len - n, len - 1).rev() {
            out.bulk(e.as_slice());
        }
    }
    l.remove_ends(n, head);
    n
}

fn push_generic(ctx: &mut Ctx, args: &Args, head: bool, only_existing: bool) -> CmdResult {
    let key = &args[1];
    let i = match write_lookup(ctx, key)? {
        Some(i) => i,
        None if only_existing => {
            ctx.out.int(0);
            return Ok(());
        }
        None => {
            let now = ctx.st.now;
            ctx.st.dbs[ctx.db].insert_new(key, Value::List(Box::default()), now)
        }
    };
    let l = list_at(ctx, i)?;
    for v in args.from(2) {
        l.push(Bytes::new(v), head);
    }
    let len = l.len() as i64;
    ctx.out.int(len);
    // Redis counts one change per pushed element.
    ctx.dirty = Some(args.len() as u64 - 2);
    ctx.signal_key(key);
    notify(ctx, LIST, if head { "lpush" } else { "rpush" }, key);
    Ok(())
}

/// LPUSH key element [element ...]
pub fn lpush(ctx: &mut Ctx, args: &Args) -> CmdResult {
    push_generic(ctx, args, true, false)
}

/// RPUSH key element [element ...]
pub fn rpush(ctx: &mut Ctx, args: &Args) -> CmdResult {
    push_generic(ctx, args, false, false)
}

/// LPUSHX key element [element ...]
pub fn lpushx(ctx: &mut Ctx, args: &Args) -> CmdResult {
    push_generic(ctx, args, true, true)
}

/// RPUSHX key element [element ...]
pub fn rpushx(ctx: &mut Ctx, args: &Args) -> CmdResult {
    push_generic(ctx, args, false, true)
}

fn pop_generic(ctx: &mut Ctx, args: &Args, head: bool) -> CmdResult {
    if args.len() > 3 {
        // Redis 7.0 declares arity -2 and counts the rest in the command itself.
        return err(if head {
            "ERR wrong number of arguments for 'lpop' command"
        } else {
            "ERR wrong number of arguments for 'rpop' command"
        });
    }
    let count = match args.get(2) {
        Some(a) => Some(int_at_least(a, 0, ERR_POSITIVE)? as usize),
        None => None,
    };
    let key = &args[1];
    let Some(i) = write_lookup(ctx, key)? else {
        // With a count the miss is a null array (RESP2 `*-1`), without one a null bulk.
        if count.is_some() {
            ctx.out.null_array();
        } else {
            ctx.out.null();
        }
        return Ok(());
    };
    match count {
        None => {
            let l = list_at(ctx, i)?;
            if let Some(v) = l.pop(head) {
                ctx.out.bulk(v.as_slice());
            }
        }
        Some(0) => {
            ctx.out.array(0);
            return Ok(());
        }
        Some(n) => {
            let l = as_list_mut(&mut ctx.st.dbs[ctx.db].entry_mut(i).val)
                .ok_or_else(|| Error::from(ERR_WRONGTYPE))?;
            // Redis counts one change per popped element.
            ctx.dirty = Some(pop_n_reply(ctx.out, l, n, head) as u64);
        }
    }
    elements_removed(ctx, i, key, head);
    Ok(())
}

/// LPOP key [count]
pub fn lpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    pop_generic(ctx, args, true)
}

/// RPOP key [count]
pub fn rpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    pop_generic(ctx, args, false)
}

/// LLEN key
pub fn llen(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let Some(l) = read_lookup(ctx.st, ctx.db, &args[1])? else {
        notify(ctx, KEY_MISS, "keymiss", &args[1]);
        ctx.out.int(0);
        return Ok(());
    };
    let n = l.len();
    ctx.out.int(n as i64);
    Ok(())
}

/// Clamps Redis's inclusive `start..=end` (negative from the tail) into a list of `len`; None when empty.
fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 { len + start } else { start }.max(0);
    let end = if end < 0 { len + end } else { end };
    if start > end || start >= len {
        return None;
    }
    Some((start as usize, end.min(len - 1) as usize))
}

/// LRANGE key start stop
pub fn lrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let start = int_arg(args, 2)?;
    let end = int_arg(args, 3)?;
    let Some(l) = read_lookup(ctx.st, ctx.db, &args[1])? else {
        notify(ctx, KEY_MISS, "keymiss", &args[1]);
        ctx.out.array(0);
        return Ok(());
    };
    let out = &mut *ctx.out;
    match clamp_range(start, end, l.len()) {
        None => out.array(0),
        Some((s, e)) => {
            out.array(e - s + 1);
            for v in l.range(s, e) {
                out.bulk(v.as_slice());
            }
        }
    }
    Ok(())
}

/// An index (negative from the tail) into a list of `len`, if it falls inside.
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let i = if index < 0 {
        (len as i64).checked_add(index)?
    } else {
        index
    };
    (0..len as i64).contains(&i).then_some(i as usize)
}

/// LINDEX key index
pub fn lindex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    // Redis looks the key up before it reads the index.
    let Some(l) = read_lookup(ctx.st, ctx.db, &args[1])? else {
        notify(ctx, KEY_MISS, "keymiss", &args[1]);
        ctx.out.null();
        return Ok(());
    };
    let index = parse_i64(&args[2]).ok_or_else(|| Error::from(super::ERR_NOT_INT))?;
    match resolve_index(index, l.len()).and_then(|i| l.get(i)) {
        Some(v) => ctx.out.bulk(v.as_slice()),
        None => ctx.out.null(),
    }
    Ok(())
}

/// LSET key index element
pub fn lset(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let Some(i) = write_lookup(ctx, &args[1])? else {
        return err(ERR_NO_KEY);
    };
    let index = int_arg(args, 2)?;
    let len = as_list(&ctx.st.dbs[ctx.db].entry(i).val).map_or(0, List::len);
    let Some(at) = resolve_index(index, len) else {
        return err(ERR_RANGE);
    };
    list_at(ctx, i)?.set(at, Bytes::new(&args[3]));
    ctx.out.ok();
    notify(ctx, LIST, "lset", &args[1]);
    Ok(())
}

/// LINSERT key BEFORE | AFTER pivot element
pub fn linsert(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let after = if eq_ci(&args[2], b"after") {
        true
    } else if eq_ci(&args[2], b"before") {
        false
    } else {
        return err(ERR_SYNTAX);
    };
    let key = &args[1];
    let Some(i) = write_lookup(ctx, key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let pivot = &args[3];
    let found = as_list(&ctx.st.dbs[ctx.db].entry(i).val)
        .and_then(|l| l.iter().position(|e| e.as_slice() == pivot));
    let Some(at) = found else {
        ctx.out.int(-1);
        return Ok(());
    };
    let l = list_at(ctx, i)?;
    l.insert(at + after as usize, Bytes::new(&args[4]));
    let len = l.len() as i64;
    ctx.out.int(len);
    ctx.signal_key(key);
    notify(ctx, LIST, "linsert", key);
    Ok(())
}

/// LREM key count element
pub fn lrem(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let count = int_arg(args, 2)?;
    let Some(i) = write_lookup(ctx, &args[1])? else {
        ctx.out.int(0);
        return Ok(());
    };
    let v = &args[3];
    let any = as_list(&ctx.st.dbs[ctx.db].entry(i).val)
        .is_some_and(|l| l.iter().any(|e| e.as_slice() == v));
    let removed = if any {
        let limit = (count != 0).then_some(count.unsigned_abs());
        list_at(ctx, i)?.remove_matching(v, limit, count < 0)
    } else {
        0
    };
    if removed > 0 {
        notify(ctx, LIST, "lrem", &args[1]);
    }
    // Redis counts one change per removed element.
    ctx.dirty = Some(removed as u64);
    if drop_if_empty(ctx, i) {
        notify(ctx, GENERIC, "del", &args[1]);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

/// LTRIM key start stop
pub fn ltrim(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let start = int_arg(args, 2)?;
    let end = int_arg(args, 3)?;
    if let Some(i) = write_lookup(ctx, &args[1])? {
        let len = as_list(&ctx.st.dbs[ctx.db].entry(i).val).map_or(0, List::len);
        let range = clamp_range(start, end, len);
        // Redis counts one change per trimmed element (none when nothing is trimmed).
        ctx.dirty = Some(match range {
            Some((s, e)) => (s + (len - 1 - e)) as u64,
            None => len as u64,
        });
        match range {
            // Redis signals the key even when nothing is trimmed: a WATCH on it fails.
            Some((0, e)) if e + 1 == len => ctx.touch_key(ctx.db, &args[1]),
            Some((s, e)) => list_at(ctx, i)?.trim(s, e),
            None => {
                ctx.st.dbs[ctx.db].remove_at(i);
                notify(ctx, LIST, "ltrim", &args[1]);
                notify(ctx, GENERIC, "del", &args[1]);
                ctx.out.ok();
                return Ok(());
            }
        }
        notify(ctx, LIST, "ltrim", &args[1]);
    }
    ctx.out.ok();
    Ok(())
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
pub fn lpos(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut rank: i64 = 1;
    let mut count: Option<u64> = None;
    let mut maxlen: u64 = 0;
    let mut j = 3;
    while j < args.len() {
        let opt = &args[j];
        let more = j + 1 < args.len();
        if more && eq_ci(opt, b"rank") {
            rank = int_arg(args, j + 1)?;
            if rank == 0 {
                return err(ERR_RANK);
            }
        } else if more && eq_ci(opt, b"count") {
            count = Some(int_at_least(&args[j + 1], 0, "ERR COUNT can't be negative")? as u64);
        } else if more && eq_ci(opt, b"maxlen") {
            maxlen = int_at_least(&args[j + 1], 0, "ERR MAXLEN can't be negative")? as u64;
        } else {
            return err(ERR_SYNTAX);
        }
        j += 2;
    }
    let from_tail = rank < 0;
    // Redis negates in a C long: LLONG_MIN stays negative, so every match then passes `matches >= rank`.
    let rank = if from_tail { rank.wrapping_neg() } else { rank };
    let ele = &args[2];
    let Some(l) = read_lookup(ctx.st, ctx.db, &args[1])? else {
        notify(ctx, KEY_MISS, "keymiss", &args[1]);
        match count {
            Some(_) => ctx.out.array(0),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let len = l.len();
    let limit = if maxlen == 0 {
        len
    } else {
        len.min(maxlen as usize)
    };
    let positions = |k: usize| if from_tail { len - 1 - k } else { k };
    let element_at = |k: usize| l.get(positions(k));
    let mut matches: i64 = 0;
    match count {
        None => {
            let mut found = None;
            for k in 0..limit {
                if element_at(k).is_some_and(|e| e.as_slice() == ele) {
                    matches += 1;
                    if matches >= rank {
                        found = Some(positions(k));
                        break;
                    }
                }
            }
            match found {
                Some(p) => ctx.out.int(p as i64),
                None => ctx.out.null(),
            }
        }
        Some(count) => {
            // Matches are gathered first: the array's length comes before them.
            let mut hits = Vec::new();
            for k in 0..limit {
                if element_at(k).is_some_and(|e| e.as_slice() == ele) {
                    matches += 1;
                    if matches >= rank {
                        hits.push(positions(k) as i64);
                        let got = matches.wrapping_sub(rank).wrapping_add(1);
                        if count != 0 && got >= 0 && got as u64 >= count {
                            break;
                        }
                    }
                }
            }
            ctx.out.array(hits.len());
            for p in hits {
                ctx.out.int(p);
            }
        }
    }
    Ok(())
}

/// Pops from the first non-empty list among `keys` and replies `[key, element]` (`count` None) or
/// `[key, [elements...]]`; false, with nothing written, when none has elements. A key of another type met
/// first is WRONGTYPE, unless `lenient` (a blocked client's re-run, which Redis serves only from a list).
fn pop_first<'k>(
    ctx: &mut Ctx,
    keys: impl Iterator<Item = &'k [u8]>,
    head: bool,
    count: Option<usize>,
    lenient: bool,
) -> Result<bool, Error> {
    let now = ctx.st.now;
    for key in keys {
        let db = &mut ctx.st.dbs[ctx.db];
        let Some(i) = db.lookup(key, now) else {
            continue;
        };
        match as_list(&db.entry(i).val) {
            Some(l) if !l.is_empty() => {}
            Some(_) => continue,
            None if lenient => continue,
            None => return err(ERR_WRONGTYPE),
        }
        let Some(l) = as_list_mut(&mut db.entry_mut(i).val) else {
            continue;
        };
        let out = &mut *ctx.out;
        out.array(2);
        out.bulk(key);
        let popped = match count {
            None => {
                if let Some(v) = l.pop(head) {
                    out.bulk(v.as_slice());
                }
                None
            }
            Some(c) => Some(pop_n_reply(out, l, c, head)),
        };
        // One change per popped element, except that Redis's serveClientBlockedOnList serves a waiting
        // BLPOP/BRPOP without counting its pop at all (a waiting BLMPOP counts its elements).
        ctx.dirty = Some(match popped {
            None if ctx.reexec => 0,
            None => 1,
            Some(n) => n as u64,
        });
        elements_removed(ctx, i, key, head);
        ctx.touch_key(ctx.db, key);
        let cmd: &[u8] = if head { b"LPOP" } else { b"RPOP" };
        match popped {
            None => propagate_as(ctx, &[cmd, key]),
            Some(n) => {
                let mut tmp = [0u8; 20];
                let n = crate::util::fmt_i64(n as i64, &mut tmp);
                propagate_as(ctx, &[cmd, key, n]);
            }
        }
        return Ok(true);
    }
    Ok(false)
}

/// The numkeys, keys, LEFT|RIGHT and COUNT of LMPOP/BLMPOP, starting at `at` (numkeys).
struct MPop<'a> {
    keys: Vec<&'a [u8]>,
    head: bool,
    count: usize,
}

fn parse_mpop<'a>(args: &Args<'a>, at: usize) -> Result<MPop<'a>, Error> {
    let numkeys = int_at_least(&args[at], 1, ERR_NUMKEYS)? as u64;
    let where_at = (at as u64 + 1)
        .checked_add(numkeys)
        .filter(|&w| w < args.len() as u64)
        .ok_or_else(|| Error::from(ERR_SYNTAX))? as usize;
    let head = parse_where(&args[where_at])?;
    let mut count = None;
    let mut j = where_at + 1;
    while j < args.len() {
        if count.is_none() && j + 1 < args.len() && eq_ci(&args[j], b"count") {
            count = Some(int_at_least(&args[j + 1], 1, ERR_COUNT)? as usize);
            j += 2;
        } else {
            return err(ERR_SYNTAX);
        }
    }
    let keys = (at + 1..where_at).filter_map(|k| args.get(k)).collect();
    Ok(MPop {
        keys,
        head,
        count: count.unwrap_or(1),
    })
}

/// LMPOP numkeys key [key ...] LEFT | RIGHT [COUNT count]
pub fn lmpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let m = parse_mpop(args, 1)?;
    if !pop_first(ctx, m.keys.into_iter(), m.head, Some(m.count), false)? {
        ctx.out.null_array();
    }
    Ok(())
}

/// Parks the client on `keys`, or in a re-run lets it keep its place. Inside EXEC it answers at once
/// instead: a null array, or a null bulk for BLMOVE/BRPOPLPUSH (`null_array` false). A wait that times out
/// (or CLIENT UNBLOCK ends) gets a null array whatever the command, as Redis 7.0's
/// `replyToBlockedClientTimedOut` answers every list waiter.
fn block_on<'k>(
    ctx: &mut Ctx,
    args: &Args,
    keys: impl Iterator<Item = &'k [u8]>,
    deadline: u64,
    null_array: bool,
) {
    if !ctx.may_block() {
        if null_array {
            ctx.out.null_array();
        } else {
            ctx.out.null();
        }
        return;
    }
    let keys = if ctx.reexec {
        Vec::new()
    } else {
        keys.map(Box::from).collect()
    };
    ctx.block(args, keys, deadline, true);
}

fn bpop_generic(ctx: &mut Ctx, args: &Args, head: bool) -> CmdResult {
    let deadline = parse_timeout(ctx.st.now, &args[args.len() - 1])?;
    let keys = || args.iter().skip(1).take(args.len() - 2);
    let served = match (ctx.reexec, ctx.ready_key) {
        (true, Some(k)) => pop_first(ctx, std::iter::once(k), head, None, true)?,
        _ => pop_first(ctx, keys(), head, None, false)?,
    };
    if !served {
        block_on(ctx, args, keys(), deadline, true);
    }
    Ok(())
}

/// BLPOP key [key ...] timeout
pub fn blpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    bpop_generic(ctx, args, true)
}

/// BRPOP key [key ...] timeout
pub fn brpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    bpop_generic(ctx, args, false)
}

/// BLMPOP timeout numkeys key [key ...] LEFT | RIGHT [COUNT count]
pub fn blmpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let m = parse_mpop(args, 2)?;
    let deadline = parse_timeout(ctx.st.now, &args[1])?;
    let served = match (ctx.reexec, ctx.ready_key) {
        (true, Some(k)) => pop_first(ctx, std::iter::once(k), m.head, Some(m.count), true)?,
        _ => pop_first(ctx, m.keys.iter().copied(), m.head, Some(m.count), false)?,
    };
    if !served {
        block_on(ctx, args, m.keys.into_iter(), deadline, true);
    }
    Ok(())
}

/// Moves one element from `src` (head or tail) to `dst` (head or tail) and replies with it; false, with
/// nothing written, when `src` does not exist. A `src` of another type is WRONGTYPE unless `lenient` (a
/// blocked client's re-run keeps waiting instead); a `dst` of another type is always WRONGTYPE.
fn move_generic(
    ctx: &mut Ctx,
    src: &[u8],
    dst: &[u8],
    from_head: bool,
    to_head: bool,
    lenient: bool,
) -> Result<bool, Error> {
    let now = ctx.st.now;
    let db = &mut ctx.st.dbs[ctx.db];
    let Some(si) = db.lookup(src, now) else {
        return Ok(false);
    };
    match as_list(&db.entry(si).val) {
        Some(l) if !l.is_empty() => {}
        Some(_) => return Ok(false),
        None if lenient => return Ok(false),
        None => return err(ERR_WRONGTYPE),
    }
    let di = if src == dst {
        Some(si)
    } else {
        match db.lookup(dst, now) {
            Some(d) if as_list(&db.entry(d).val).is_none() => return err(ERR_WRONGTYPE),
            d => d,
        }
    };
    let Some(v) = as_list_mut(&mut db.entry_mut(si).val).and_then(|l| l.pop(from_head)) else {
        return Ok(false);
    };
    ctx.out.bulk(v.as_slice());
    match di {
        Some(d) => {
            if let Some(l) = as_list_mut(&mut db.entry_mut(d).val) {
                l.push(v, to_head);
            }
        }
        None => {
            let mut l = List::new();
            l.push(v, to_head);
            db.insert_new(dst, Value::List(Box::new(l)), now);
        }
    }
    notify(ctx, LIST, if to_head { "lpush" } else { "rpush" }, dst);
    elements_removed(ctx, si, src, from_head);
    ctx.signal_key(dst);
    ctx.touch_key(ctx.db, src);
    ctx.touch_key(ctx.db, dst);
    Ok(true)
}

/// LMOVE source destination LEFT | RIGHT LEFT | RIGHT
pub fn lmove(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let from = parse_where(&args[3])?;
    let to = parse_where(&args[4])?;
    if !move_generic(ctx, &args[1], &args[2], from, to, false)? {
        ctx.out.null();
    }
    Ok(())
}

/// RPOPLPUSH source destination
pub fn rpoplpush(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if !move_generic(ctx, &args[1], &args[2], false, true, false)? {
        ctx.out.null();
    }
    Ok(())
}

fn bmove_generic(ctx: &mut Ctx, args: &Args, from: bool, to: bool, timeout_at: usize) -> CmdResult {
    let deadline = parse_timeout(ctx.st.now, &args[timeout_at])?;
    let (src, dst) = (&args[1], &args[2]);
    if move_generic(ctx, src, dst, from, to, ctx.reexec)? {
        if ctx.reexec {
            // Redis's serveClientBlockedOnList moves for a waiting client without counting a change.
            ctx.dirty = Some(0);
        }
        if timeout_at == 5 {
            propagate_as(ctx, &[b"LMOVE", src, dst, &args[3], &args[4]]);
        } else {
            propagate_as(ctx, &[b"RPOPLPUSH", src, dst]);
        }
        return Ok(());
    }
    block_on(ctx, args, std::iter::once(src), deadline, false);
    Ok(())
}

/// BLMOVE source destination LEFT | RIGHT LEFT | RIGHT timeout
pub fn blmove(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let from = parse_where(&args[3])?;
    let to = parse_where(&args[4])?;
    bmove_generic(ctx, args, from, to, 5)
}

/// BRPOPLPUSH source destination timeout
pub fn brpoplpush(ctx: &mut Ctx, args: &Args) -> CmdResult {
    bmove_generic(ctx, args, false, true, 3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_clamp_like_redis() {
        assert_eq!(clamp_range(0, -1, 5), Some((0, 4)));
        assert_eq!(clamp_range(-100, 100, 5), Some((0, 4)));
        assert_eq!(clamp_range(2, 1, 5), None);
        assert_eq!(clamp_range(5, 10, 5), None);
        assert_eq!(clamp_range(4, 10, 5), Some((4, 4)));
        assert_eq!(clamp_range(-1, -2, 5), None);
        assert_eq!(clamp_range(i64::MIN, i64::MAX, 5), Some((0, 4)));
        assert_eq!(clamp_range(0, -1, 0), None);
    }

    #[test]
    fn timeouts_read_like_redis() {
        let ok = |t: &str| parse_timeout(1000, t.as_bytes()).ok();
        let msg = |t: &str| parse_timeout(1000, t.as_bytes()).err().map(|e| e.0);
        assert_eq!(ok("0"), Some(0));
        assert_eq!(ok("0.1"), Some(1100));
        assert_eq!(ok("1e-1"), Some(1100));
        assert_eq!(ok("0x10"), Some(17_000));
        assert_eq!(ok("2.5"), Some(3500));
        // Under a millisecond rounds up: a positive one waits 1 ms, a negative one rounds to 0 (forever).
        assert_eq!(ok("0.0001"), Some(1001));
        assert_eq!(ok("-0.0001"), Some(0));
        assert_eq!(ok("-0.001"), Some(0));
        assert_eq!(ok("9223372036854775.807").map(|d| d > 1000), Some(true));
        for t in ["-1", "inf", "-inf", "1e16", "1e400"] {
            assert_eq!(msg(t).as_deref(), Some("ERR timeout is negative"), "{t}");
        }
        for t in ["abc", "nan", " 1", "1 ", ""] {
            assert_eq!(
                msg(t).as_deref(),
                Some("ERR timeout is not a float or out of range"),
                "{t}"
            );
        }
    }

    #[test]
    fn indexes_resolve_from_either_end() {
        assert_eq!(resolve_index(-1, 3), Some(2));
        assert_eq!(resolve_index(-3, 3), Some(0));
        assert_eq!(resolve_index(-4, 3), None);
        assert_eq!(resolve_index(3, 3), None);
        assert_eq!(resolve_index(i64::MIN, 3), None);
        assert_eq!(resolve_index(i64::MAX, 3), None);
    }
}
