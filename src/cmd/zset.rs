//! Sorted-set commands, as Redis 7.0's `t_zset.c` has them: one generic worker per group (`zadd_generic`
//! for ZADD/ZINCRBY, `zrange_generic` for the ZRANGE family and ZRANGESTORE, `zremrange_generic` for the
//! ZREMRANGEBY* commands, `set_op` for ZUNION/ZINTER/ZDIFF, their *STORE forms and ZINTERCARD, and
//! `pop_generic` for ZPOPMIN/ZPOPMAX/ZMPOP and their blocking forms BZPOPMIN/BZPOPMAX/BZMPOP). Scores are
//! parsed with C's `strtod`, as Redis parses them, and printed as `%.17g` without allocating.
//!
//! Blocking pops work as the list family's (see `list.rs`): pop at once if a key holds a sorted set,
//! else park the client; a re-run after a signal serves it from the signalled key alone, and inside
//! MULTI/EXEC the timeout reply (a null array) comes at once.

use super::notify::{notify, GENERIC, ZSET};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::io::Write;

use super::keys::parse_cursor;
use super::read_lookup;
use super::repl::Propagate;
use super::{
    err, int_arg, Args, Cmd, CmdResult, Ctx, Error, BLOCKING, DENYOOM, ERR_NOT_FLOAT, ERR_NOT_INT,
    ERR_SYNTAX, ERR_WRONGTYPE, FAST, NOSCRIPT, READONLY, WRITE,
};
use crate::protocol::Out;
use crate::store::glob::glob_match;
use crate::store::set::{Elem, Set};
use crate::store::zset::{LexBound, LexRange, Limits, ScoreRange, ZSet};
use crate::store::{Bytes, Db, Value};
use crate::util::{eq_ci, parse_i64};

const G: &str = "sorted-set";

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("zadd", -4, WRITE | DENYOOM | FAST, (1, 1, 1), zadd).doc(
        G,
        "1.2.0",
        "Add one or more members to a sorted set, or update its score if it already exists",
        "O(log(N)) for each item added, where N is the number of elements in the sorted set.",
    ),
    Cmd::new("zincrby", 4, WRITE | DENYOOM | FAST, (1, 1, 1), zincrby).doc(
        G,
        "1.2.0",
        "Increment the score of a member in a sorted set",
        "O(log(N)) where N is the number of elements in the sorted set.",
    ),
    Cmd::new("zrem", -3, WRITE | FAST, (1, 1, 1), zrem).doc(
        G,
        "1.2.0",
        "Remove one or more members from a sorted set",
        "O(M*log(N)) with N being the number of elements in the sorted set and M the number of \
         elements to be removed.",
    ),
    Cmd::new("zcard", 2, READONLY | FAST, (1, 1, 1), zcard).doc(
        G,
        "1.2.0",
        "Get the number of members in a sorted set",
        "O(1)",
    ),
    Cmd::new("zscore", 3, READONLY | FAST, (1, 1, 1), zscore).doc(
        G,
        "1.2.0",
        "Get the score associated with the given member in a sorted set",
        "O(1)",
    ),
    Cmd::new("zmscore", -3, READONLY | FAST, (1, 1, 1), zmscore).doc(
        G,
        "6.2.0",
        "Get the score associated with the given members in a sorted set",
        "O(N) where N is the number of members being requested.",
    ),
    Cmd::new("zcount", 4, READONLY | FAST, (1, 1, 1), zcount).doc(
        G,
        "2.0.0",
        "Count the members in a sorted set with scores within the given values",
        "O(log(N)) with N being the number of elements in the sorted set.",
    ),
    Cmd::new("zlexcount", 4, READONLY | FAST, (1, 1, 1), zlexcount).doc(
        G,
        "2.8.9",
        "Count the number of members in a sorted set between a given lexicographical range",
        "O(log(N)) with N being the number of elements in the sorted set.",
    ),
    Cmd::new("zrange", -4, READONLY, (1, 1, 1), zrange).doc(
        G,
        "1.2.0",
        "Return a range of members in a sorted set",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of \
         elements returned.",
    ),
    Cmd::new("zrangestore", -5, WRITE | DENYOOM, (1, 2, 1), zrangestore).doc(
        G,
        "6.2.0",
        "Store a range of members from sorted set into another key",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of \
         elements stored into the destination key.",
    ),
    Cmd::new("zrangebyscore", -4, READONLY, (1, 1, 1), zrangebyscore).doc(
        G,
        "1.0.5",
        "Return a range of members in a sorted set, by score",
        LIMIT_COMPLEXITY,
    ),
    Cmd::new("zrevrangebyscore", -4, READONLY, (1, 1, 1), zrevrangebyscore).doc(
        G,
        "2.2.0",
        "Return a range of members in a sorted set, by score, with scores ordered from high to low",
        LIMIT_COMPLEXITY,
    ),
    Cmd::new("zrangebylex", -4, READONLY, (1, 1, 1), zrangebylex).doc(
        G,
        "2.8.9",
        "Return a range of members in a sorted set, by lexicographical range",
        LIMIT_COMPLEXITY,
    ),
    Cmd::new("zrevrangebylex", -4, READONLY, (1, 1, 1), zrevrangebylex).doc(
        G,
        "2.8.9",
        "Return a range of members in a sorted set, by lexicographical range, ordered from higher to \
         lower strings.",
        LIMIT_COMPLEXITY,
    ),
    Cmd::new("zrevrange", -4, READONLY, (1, 1, 1), zrevrange).doc(
        G,
        "1.2.0",
        "Return a range of members in a sorted set, by index, with scores ordered from high to low",
        "O(log(N)+M) with N being the number of elements in the sorted set and M the number of \
         elements returned.",
    ),
    Cmd::new("zrank", 3, READONLY | FAST, (1, 1, 1), zrank).doc(
        G,
        "2.0.0",
        "Determine the index of a member in a sorted set",
        "O(log(N))",
    ),
    Cmd::new("zrevrank", 3, READONLY | FAST, (1, 1, 1), zrevrank).doc(
        G,
        "2.0.0",
        "Determine the index of a member in a sorted set, with scores ordered from high to low",
        "O(log(N))",
    ),
    Cmd::new("zremrangebyrank", 4, WRITE, (1, 1, 1), zremrangebyrank).doc(
        G,
        "2.0.0",
        "Remove all members in a sorted set within the given indexes",
        REMRANGE_COMPLEXITY,
    ),
    Cmd::new("zremrangebyscore", 4, WRITE, (1, 1, 1), zremrangebyscore).doc(
        G,
        "1.2.0",
        "Remove all members in a sorted set within the given scores",
        REMRANGE_COMPLEXITY,
    ),
    Cmd::new("zremrangebylex", 4, WRITE, (1, 1, 1), zremrangebylex).doc(
        G,
        "2.8.9",
        "Remove all members in a sorted set between the given lexicographical range",
        REMRANGE_COMPLEXITY,
    ),
    Cmd::new("zpopmin", -2, WRITE | FAST, (1, 1, 1), zpopmin).doc(
        G,
        "5.0.0",
        "Remove and return members with the lowest scores in a sorted set",
        "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number \
         of elements popped.",
    ),
    Cmd::new("zpopmax", -2, WRITE | FAST, (1, 1, 1), zpopmax).doc(
        G,
        "5.0.0",
        "Remove and return members with the highest scores in a sorted set",
        "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number \
         of elements popped.",
    ),
    Cmd::new("zmpop", -4, WRITE, (0, 0, 0), zmpop).doc(
        G,
        "7.0.0",
        "Remove and return members with scores in a sorted set",
        "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements \
         in the sorted set, and M being the number of elements popped.",
    ),
    Cmd::new(
        "bzpopmin",
        -3,
        WRITE | NOSCRIPT | BLOCKING | FAST,
        (1, -2, 1),
        bzpopmin,
    )
    .doc(
        G,
        "5.0.0",
        "Remove and return the member with the lowest score from one or more sorted sets, or block \
         until one is available",
        "O(log(N)) with N being the number of elements in the sorted set.",
    ),
    Cmd::new(
        "bzpopmax",
        -3,
        WRITE | NOSCRIPT | BLOCKING | FAST,
        (1, -2, 1),
        bzpopmax,
    )
    .doc(
        G,
        "5.0.0",
        "Remove and return the member with the highest score from one or more sorted sets, or \
         block until one is available",
        "O(log(N)) with N being the number of elements in the sorted set.",
    ),
    Cmd::new("bzmpop", -5, WRITE | BLOCKING, (0, 0, 0), bzmpop).doc(
        G,
        "7.0.0",
        "Remove and return members with scores in a sorted set or block until one is available",
        "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements \
         in the sorted set, and M being the number of elements popped.",
    ),
    Cmd::new("zunion", -3, READONLY, (0, 0, 0), zunion).doc(
        G,
        "6.2.0",
        "Add multiple sorted sets",
        "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being \
         the number of elements in the resulting sorted set.",
    ),
    Cmd::new("zinter", -3, READONLY, (0, 0, 0), zinter).doc(
        G,
        "6.2.0",
        "Intersect multiple sorted sets",
        "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the \
         number of input sorted sets and M being the number of elements in the resulting sorted set.",
    ),
    Cmd::new("zdiff", -3, READONLY, (0, 0, 0), zdiff).doc(
        G,
        "6.2.0",
        "Subtract multiple sorted sets",
        "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N \
         is the size of the first set, and K is the size of the result set.",
    ),
    Cmd::new("zunionstore", -4, WRITE | DENYOOM, (1, 1, 1), zunionstore).doc(
        G,
        "2.0.0",
        "Add multiple sorted sets and store the resulting sorted set in a new key",
        "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being \
         the number of elements in the resulting sorted set.",
    ),
    Cmd::new("zinterstore", -4, WRITE | DENYOOM, (1, 1, 1), zinterstore).doc(
        G,
        "2.0.0",
        "Intersect multiple sorted sets and store the resulting sorted set in a new key",
        "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the \
         number of input sorted sets and M being the number of elements in the resulting sorted set.",
    ),
    Cmd::new("zdiffstore", -4, WRITE | DENYOOM, (1, 1, 1), zdiffstore).doc(
        G,
        "6.2.0",
        "Subtract multiple sorted sets and store the resulting sorted set in a new key",
        "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N \
         is the size of the first set, and K is the size of the result set.",
    ),
    Cmd::new("zintercard", -3, READONLY, (0, 0, 0), zintercard).doc(
        G,
        "7.0.0",
        "Intersect multiple sorted sets and return the cardinality of the result",
        "O(N*K) worst case with N being the smallest input sorted set, K being the number of input \
         sorted sets.",
    ),
    Cmd::new("zrandmember", -2, READONLY, (1, 1, 1), zrandmember).doc(
        G,
        "6.2.0",
        "Get one or multiple random elements from a sorted set",
        "O(N) where N is the number of elements returned",
    ),
    Cmd::new("zscan", -3, READONLY, (1, 1, 1), zscan).doc(
        G,
        "2.8.0",
        "Incrementally iterate sorted sets elements and associated scores",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for \
         the cursor to return back to 0. N is the number of elements inside the collection..",
    ),
];

const LIMIT_COMPLEXITY: &str = "O(log(N)+M) with N being the number of elements in the sorted set \
     and M the number of elements being returned. If M is constant (e.g. always asking for the first \
     10 elements with LIMIT), you can consider it O(log(N)).";
const REMRANGE_COMPLEXITY: &str = "O(log(N)+M) with N being the number of elements in the sorted \
     set and M the number of elements removed by the operation.";

const ERR_NAN: &str = "ERR resulting score is not a number (NaN)";
const ERR_XX_NX: &str = "ERR XX and NX options at the same time are not compatible";
const ERR_GT_LT_NX: &str = "ERR GT, LT, and/or NX options at the same time are not compatible";
const ERR_INCR_PAIR: &str = "ERR INCR option supports a single increment-element pair";
const ERR_RANGE_FLOAT: &str = "ERR min or max is not a float";
const ERR_RANGE_LEX: &str = "ERR min or max not valid string range item";
const ERR_LIMIT_RANK: &str =
    "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX";
const ERR_WITHSCORES_LEX: &str =
    "ERR syntax error, WITHSCORES not supported in combination with BYLEX";
const ERR_POSITIVE: &str = "ERR value is out of range, must be positive";
const ERR_NUMKEYS: &str = "ERR numkeys should be greater than 0";
const ERR_COUNT: &str = "ERR count should be greater than 0";
const ERR_WEIGHT: &str = "ERR weight value is not a float";
const ERR_LIMIT_NEG: &str = "ERR LIMIT can't be negative";
const ERR_RANGE: &str = "ERR value is out of range";
const ERR_RANDMEMBER_RANGE: &str = "ERR value is out of range, value must between \
     -9223372036854775807 and 9223372036854775807";
const ERR_INVALID_CURSOR: &str = "ERR invalid cursor";

// ---------------------------------------------------------------------------------------------------
// Scores: parsing and printing.

/// C's `strtod` over `s` (which must hold no NUL): the value, the bytes consumed, and whether errno
/// was set to ERANGE.
pub(crate) fn c_strtod(s: &[u8]) -> (f64, usize, bool) {
    let mut stack = [0u8; 64];
    let heap: Vec<u8>;
    let buf: &[u8] = if s.len() < stack.len() {
        stack[..s.len()].copy_from_slice(s);
        &stack[..=s.len()]
    } else {
        heap = [s, &[0]].concat();
        &heap
    };
    // SAFETY: `buf` is NUL-terminated and lives across the call; strtod reads up to the NUL and sets
    // `end` to a position inside `buf`. errno is thread-local.
    unsafe {
        *libc::__errno_location() = 0;
        let mut end: *mut libc::c_char = std::ptr::null_mut();
        let v = libc::strtod(buf.as_ptr().cast(), &mut end);
        let used = end.cast_const().cast::<u8>().offset_from(buf.as_ptr());
        let erange = *libc::__errno_location() == libc::ERANGE;
        (v, used.max(0) as usize, erange)
    }
}

/// Short decimal integers, which strtod would read exactly: skips the C call in the common case.
#[inline]
fn fast_int(s: &[u8]) -> Option<f64> {
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    if digits.is_empty() || digits.len() > 15 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = digits
        .iter()
        .fold(0u64, |acc, &c| acc * 10 + (c - b'0') as u64) as f64;
    Some(if neg { -v } else { v })
}

#[inline]
fn is_c_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// A score argument, read as Redis's `getDoubleFromObject` (`string2d`) reads it: all of `strtod`'s
/// syntax (hex, `inf`, `infinity`), but the whole string, no leading space, no NaN, no overflow and no
/// underflow to zero.
pub fn parse_score(s: &[u8]) -> Option<f64> {
    if let Some(v) = fast_int(s) {
        return Some(v);
    }
    if s.is_empty() || is_c_space(s[0]) {
        return None;
    }
    let nul = s.iter().position(|&c| c == 0).unwrap_or(s.len());
    let (v, used, erange) = c_strtod(&s[..nul]);
    if used != s.len() || v.is_nan() || (erange && (v.is_infinite() || v == 0.0)) {
        return None;
    }
    Some(v)
}

/// One end of a score range (Redis's `zslParseRange`): `(` makes it exclusive; the rest is read by
/// `strtod` up to the string's first NUL, so leading spaces and the empty string (0) pass.
fn parse_bound(s: &[u8]) -> Option<(f64, bool)> {
    let (ex, body) = match s.split_first() {
        Some((b'(', rest)) => (true, rest),
        _ => (false, s),
    };
    let body = &body[..body.iter().position(|&c| c == 0).unwrap_or(body.len())];
    let v = match fast_int(body) {
        Some(v) => v,
        None => {
            let (v, used, _) = c_strtod(body);
            if used != body.len() {
                return None;
            }
            v
        }
    };
    (!v.is_nan()).then_some((v, ex))
}

fn parse_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, Error> {
    match (parse_bound(min), parse_bound(max)) {
        (Some((min, minex)), Some((max, maxex))) => Ok(ScoreRange {
            min,
            max,
            minex,
            maxex,
        }),
        _ => err(ERR_RANGE_FLOAT),
    }
}

/// One end of a lex range (Redis's `zslParseLexRangeItem`); `+` and `-` stand alone (up to a NUL).
fn parse_lex_bound(s: &[u8]) -> Option<LexBound<'_>> {
    let alone = s.get(1).is_none_or(|&c| c == 0);
    match s.first() {
        Some(b'+') if alone => Some(LexBound::PosInf),
        Some(b'-') if alone => Some(LexBound::NegInf),
        Some(b'(') => Some(LexBound::Excl(&s[1..])),
        Some(b'[') => Some(LexBound::Incl(&s[1..])),
        _ => None,
    }
}

fn parse_lex<'a>(min: &'a [u8], max: &'a [u8]) -> Result<LexRange<'a>, Error> {
    match (parse_lex_bound(min), parse_lex_bound(max)) {
        (Some(min), Some(max)) => Ok(LexRange { min, max }),
        _ => err(ERR_RANGE_LEX),
    }
}

/// `%.17g` as C prints it (with Redis's `inf`/`-inf`/`nan`), written into `buf` without allocating.
pub fn fmt_score(d: f64, buf: &mut [u8; 32]) -> &[u8] {
    if d.is_nan() {
        buf[..3].copy_from_slice(b"nan");
        return &buf[..3];
    }
    if d.is_infinite() {
        let s: &[u8] = if d > 0.0 { b"inf" } else { b"-inf" };
        buf[..s.len()].copy_from_slice(s);
        return &buf[..s.len()];
    }
    if d == 0.0 {
        let s: &[u8] = if d.is_sign_negative() { b"-0" } else { b"0" };
        buf[..s.len()].copy_from_slice(s);
        return &buf[..s.len()];
    }
    if d.fract() == 0.0 && d.abs() < 1e17 {
        let mut tmp = [0u8; 20];
        let s = crate::util::fmt_i64(d as i64, &mut tmp);
        buf[..s.len()].copy_from_slice(s);
        return &buf[..s.len()];
    }
    // 17 significant digits, correctly rounded, as d.dddddddddddddddde[-]X.
    let mut sci = [0u8; 32];
    let n = {
        let mut w = &mut sci[..];
        let room = w.len();
        // Cannot fail: the longest form is 24 bytes.
        let _ = write!(w, "{:.16e}", d.abs());
        room - w.len()
    };
    let sci = &sci[..n];
    let e = sci.iter().position(|&c| c == b'e').unwrap_or(n);
    let exp = sci[e + 1..]
        .iter()
        .fold((0i32, false), |(v, neg), &c| match c {
            b'-' => (v, true),
            c => (v * 10 + (c - b'0') as i32, neg),
        });
    let exp = if exp.1 { -exp.0 } else { exp.0 };
    let mut digits = [0u8; 17];
    let mut nd = 0;
    for &c in &sci[..e] {
        if c.is_ascii_digit() && nd < 17 {
            digits[nd] = c;
            nd += 1;
        }
    }
    while nd > 1 && digits[nd - 1] == b'0' {
        nd -= 1;
    }
    let mut len = 0;
    let mut put = |buf: &mut [u8; 32], c: u8| {
        buf[len] = c;
        len += 1;
    };
    if d < 0.0 {
        put(buf, b'-');
    }
    if !(-4..17).contains(&exp) {
        put(buf, digits[0]);
        if nd > 1 {
            put(buf, b'.');
            for &c in &digits[1..nd] {
                put(buf, c);
            }
        }
        put(buf, b'e');
        put(buf, if exp < 0 { b'-' } else { b'+' });
        let a = exp.unsigned_abs();
        if a >= 100 {
            put(buf, b'0' + (a / 100) as u8);
        }
        put(buf, b'0' + (a / 10 % 10) as u8);
        put(buf, b'0' + (a % 10) as u8);
    } else if exp < 0 {
        put(buf, b'0');
        put(buf, b'.');
        for _ in 0..(-exp - 1) {
            put(buf, b'0');
        }
        for &c in &digits[..nd] {
            put(buf, c);
        }
    } else {
        let int_len = exp as usize + 1;
        for &c in digits[..nd]
            .iter()
            .chain(std::iter::repeat(&b'0'))
            .take(int_len)
        {
            put(buf, c);
        }
        if nd > int_len {
            put(buf, b'.');
            for &c in &digits[int_len..nd] {
                put(buf, c);
            }
        }
    }
    &buf[..len]
}

/// A score reply: a RESP3 double, or its `%.17g` text as a bulk in RESP2.
#[inline]
fn reply_score(out: &mut Out, d: f64) {
    let mut b = [0u8; 32];
    let t = fmt_score(d, &mut b);
    if out.resp3 {
        out.raw(b",");
        out.raw(t);
        out.raw(b"\r\n");
    } else {
        out.bulk(t);
    }
}

/// The text the listpack holds for a score, which ZSCAN returns for the flat encoding: Redis's
/// `d2string` (integers within ±2^62 printed as integers, the rest as `%.17g`).
fn fmt_flat_score(d: f64, buf: &mut [u8; 32]) -> &[u8] {
    const LIM: f64 = (i64::MAX / 2) as f64;
    if d.is_finite() && (-LIM..=LIM).contains(&d) && d.fract() == 0.0 {
        let mut tmp = [0u8; 20];
        let s = crate::util::fmt_i64(d as i64, &mut tmp);
        buf[..s.len()].copy_from_slice(s);
        return &buf[..s.len()];
    }
    fmt_score(d, buf)
}

// ---------------------------------------------------------------------------------------------------
// Lookups.

fn limits(ctx: &Ctx) -> Limits {
    Limits {
        entries: ctx.st.cfg.zset_max_listpack_entries,
        value: ctx.st.cfg.zset_max_listpack_value,
    }
}

/// The sorted set at entry `i`, or WRONGTYPE.
fn zset_at(db: &Db, i: u32) -> Result<&ZSet, Error> {
    match &db.entry(i).val {
        Value::ZSet(z) => Ok(z),
        _ => err(ERR_WRONGTYPE),
    }
}

fn zset_at_mut(db: &mut Db, i: u32) -> Result<&mut ZSet, Error> {
    match &mut db.entry_mut(i).val {
        Value::ZSet(z) => Ok(z),
        _ => err(ERR_WRONGTYPE),
    }
}

/// Deletes the key at `i` if its sorted set became empty (Redis never keeps an empty one).
fn drop_if_empty(db: &mut Db, i: u32) -> bool {
    let empty = matches!(&db.entry(i).val, Value::ZSet(z) if z.is_empty());
    if empty {
        db.remove_at(i);
    }
    empty
}

/// Stores a computed result at `dst` (any old value and deadline replaced), or deletes `dst` when the
/// result is empty; replies with the result's size. `event` is the command's notification.
fn store_result(ctx: &mut Ctx, dst: &[u8], items: Vec<(Bytes, f64)>, event: &str) {
    let now = ctx.st.now;
    let lim = limits(ctx);
    let n = items.len();
    let db = &mut ctx.st.dbs[ctx.db];
    // Redis counts one change for the store, or for deleting `dst`, however big the result.
    if n == 0 {
        let removed = db.remove(dst, now);
        ctx.dirty = Some(removed as u64);
        if removed {
            notify(ctx, GENERIC, "del", dst);
        } else {
            ctx.prop = Propagate::Nothing;
        }
    } else {
        ctx.dirty = Some(1);
        db.set(
            dst,
            Value::ZSet(Box::new(ZSet::from_sorted(items, lim))),
            false,
            now,
        );
        ctx.signal_key(dst);
        notify(ctx, ZSET, event, dst);
    }
    ctx.out.int(n as i64);
}

// ---------------------------------------------------------------------------------------------------
// ZADD, ZINCRBY.

/// ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...]
pub fn zadd(ctx: &mut Ctx, args: &Args) -> CmdResult {
    zadd_generic(ctx, args, false)
}

/// ZINCRBY key increment member
pub fn zincrby(ctx: &mut Ctx, args: &Args) -> CmdResult {
    zadd_generic(ctx, args, true)
}

/// ZADD and ZINCRBY (Redis's `zaddGenericCommand`): options, then every score is checked before the
/// set is touched, so the command applies fully or not at all.
fn zadd_generic(ctx: &mut Ctx, args: &Args, mut incr: bool) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt, mut ch) = (false, false, false, false, false);
    let mut idx = 2;
    while idx < args.len() {
        let a = &args[idx];
        if eq_ci(a, b"nx") {
            nx = true;
        } else if eq_ci(a, b"xx") {
            xx = true;
        } else if eq_ci(a, b"ch") {
            ch = true;
        } else if eq_ci(a, b"incr") {
            incr = true;
        } else if eq_ci(a, b"gt") {
            gt = true;
        } else if eq_ci(a, b"lt") {
            lt = true;
        } else {
            break;
        }
        idx += 1;
    }
    let elements = args.len() - idx;
    if elements == 0 || !elements.is_multiple_of(2) {
        return err(ERR_SYNTAX);
    }
    let pairs = elements / 2;
    if nx && xx {
        return err(ERR_XX_NX);
    }
    if ((gt || lt) && nx) || (gt && lt) {
        return err(ERR_GT_LT_NX);
    }
    if incr && pairs > 1 {
        return err(ERR_INCR_PAIR);
    }
    for j in 0..pairs {
        parse_score(&args[idx + 2 * j]).ok_or(ERR_NOT_FLOAT)?;
    }

    let key = &args[1];
    let now = ctx.st.now;
    let lim = limits(ctx);
    let db = &mut ctx.st.dbs[ctx.db];
    let i = match db.lookup(key, now) {
        Some(i) => {
            zset_at(db, i)?;
            i
        }
        None if xx => {
            ctx.prop = Propagate::Nothing;
            if incr {
                ctx.out.null();
            } else {
                ctx.out.int(0);
            }
            return Ok(());
        }
        None => {
            let z = ZSet::for_first_member(args[idx + 1].len(), lim);
            let i = db.insert_new(key, Value::ZSet(Box::new(z)), now);
            // A new key wakes clients blocked on it, as Redis's dbAdd does.
            ctx.st.waiters.signal(ctx.db, key);
            i
        }
    };
    let z = zset_at_mut(db, i)?;
    let (mut added, mut updated, mut processed) = (0, 0, 0);
    let mut last = 0.0;
    for j in 0..pairs {
        let score = parse_score(&args[idx + 2 * j]).ok_or(ERR_NOT_FLOAT)?;
        let member = &args[idx + 2 * j + 1];
        match z.score(member) {
            Some(cur) => {
                if nx {
                    continue;
                }
                let new = if incr { score + cur } else { score };
                if new.is_nan() {
                    return err(ERR_NAN);
                }
                if (lt && new >= cur) || (gt && new <= cur) {
                    continue;
                }
                processed += 1;
                last = new;
                if new != cur {
                    z.set_score(member, new);
                    updated += 1;
                }
            }
            None => {
                if xx {
                    continue;
                }
                z.insert(member, score, lim);
                added += 1;
                processed += 1;
                last = score;
            }
        }
    }
    // Redis counts one change per added member and per member whose score moved.
    ctx.dirty = Some((added + updated) as u64);
    if added + updated == 0 {
        ctx.prop = Propagate::Nothing;
    } else {
        notify(ctx, ZSET, if incr { "zincr" } else { "zadd" }, key);
    }
    if incr {
        if processed > 0 {
            reply_score(ctx.out, last);
        } else {
            ctx.out.null();
        }
    } else {
        ctx.out.int(if ch { added + updated } else { added });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// ZREM, ZCARD, ZSCORE, ZMSCORE, ZCOUNT, ZLEXCOUNT, ZRANK.

/// ZREM key member [member ...]
pub fn zrem(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let now = ctx.st.now;
    let db = &mut ctx.st.dbs[ctx.db];
    let Some(i) = db.lookup(&args[1], now) else {
        ctx.prop = Propagate::Nothing;
        ctx.out.int(0);
        return Ok(());
    };
    let z = zset_at_mut(db, i)?;
    let mut deleted = 0;
    for m in args.from(2) {
        if z.remove(m).is_some() {
            deleted += 1;
            if z.is_empty() {
                break;
            }
        }
    }
    let gone = drop_if_empty(db, i);
    // Redis counts one change per removed member.
    ctx.dirty = Some(deleted as u64);
    if deleted == 0 {
        ctx.prop = Propagate::Nothing;
    } else {
        notify(ctx, ZSET, "zrem", &args[1]);
        if gone {
            notify(ctx, GENERIC, "del", &args[1]);
        }
    }
    ctx.out.int(deleted);
    Ok(())
}

/// ZCARD key
pub fn zcard(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let Some(i) = read_lookup(ctx, &args[1]) else {
        ctx.out.int(0);
        return Ok(());
    };
    let n = zset_at(&ctx.st.dbs[ctx.db], i)?.len();
    ctx.out.int(n as i64);
    Ok(())
}

/// ZSCORE key member
pub fn zscore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let Some(i) = read_lookup(ctx, &args[1]) else {
        ctx.out.null();
        return Ok(());
    };
    match zset_at(&ctx.st.dbs[ctx.db], i)?.score(&args[2]) {
        Some(s) => reply_score(ctx.out, s),
        None => ctx.out.null(),
    }
    Ok(())
}

/// ZMSCORE key member [member ...]
pub fn zmscore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let found = read_lookup(ctx, &args[1]);
    let db = &ctx.st.dbs[ctx.db];
    let z = found.map(|i| zset_at(db, i)).transpose()?;
    ctx.out.array(args.len() - 2);
    for m in args.from(2) {
        match z.and_then(|z| z.score(m)) {
            Some(s) => reply_score(ctx.out, s),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// ZCOUNT key min max
pub fn zcount(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let range = parse_range(&args[2], &args[3])?;
    let Some(i) = read_lookup(ctx, &args[1]) else {
        ctx.out.int(0);
        return Ok(());
    };
    let n = zset_at(&ctx.st.dbs[ctx.db], i)?.count_in_range(&range);
    ctx.out.int(n as i64);
    Ok(())
}

/// ZLEXCOUNT key min max
pub fn zlexcount(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let range = parse_lex(&args[2], &args[3])?;
    let Some(i) = read_lookup(ctx, &args[1]) else {
        ctx.out.int(0);
        return Ok(());
    };
    let n = zset_at(&ctx.st.dbs[ctx.db], i)?.count_in_lex(&range);
    ctx.out.int(n as i64);
    Ok(())
}

/// ZRANK key member
pub fn zrank(ctx: &mut Ctx, args: &Args) -> CmdResult {
    zrank_generic(ctx, args, false)
}

/// ZREVRANK key member
pub fn zrevrank(ctx: &mut Ctx, args: &Args) -> CmdResult {
    zrank_generic(ctx, args, true)
}

fn zrank_generic(ctx: &mut Ctx, args: &Args, rev: bool) -> CmdResult {
    let Some(i) = read_lookup(ctx, &args[1]) else {
        ctx.out.null();
        return Ok(());
    };
    let z = zset_at(&ctx.st.dbs[ctx.db], i)?;
    match z.rank(&args[2]) {
        Some(r) => ctx.out.int(if rev { z.len() - 1 - r } else { r } as i64),
        None => ctx.out.null(),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// The ZRANGE family.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RangeType {
    Auto,
    Rank,
    Score,
    Lex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Auto,
    Forward,
    Reverse,
}

/// The parsed range of a ZRANGE-family command.
enum Spec<'a> {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange<'a>),
}

/// ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
pub fn zrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    zrange_generic(ctx, args, None, RangeType::Auto, Direction::Auto)
}

/// ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]
pub fn zrangestore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    zrange_generic(ctx, args, Some(&args[1]), RangeType::Auto, Direction::Auto)
}

/// ZREVRANGE key start stop [WITHSCORES]
pub fn zrevrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    zrange_generic(ctx, args, None, RangeType::Rank, Direction::Reverse)
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
pub fn zrangebyscore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    zrange_generic(ctx, args, None, RangeType::Score, Direction::Forward)
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
pub fn zrevrangebyscore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    zrange_generic(ctx, args, None, RangeType::Score, Direction::Reverse)
}

/// ZRANGEBYLEX key min max [LIMIT offset count]
pub fn zrangebylex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    zrange_generic(ctx, args, None, RangeType::Lex, Direction::Forward)
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count]
pub fn zrevrangebylex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    zrange_generic(ctx, args, None, RangeType::Lex, Direction::Reverse)
}

/// Which elements a range selects: `count` of them from ascending rank `start`, walking down if `rev`.
fn plan(z: &ZSet, spec: &Spec, rev: bool, offset: i64, limit: i64) -> (usize, usize) {
    let len = z.len();
    match spec {
        Spec::Rank(start, end) => {
            let llen = len as i64;
            let mut start = if *start < 0 { llen + start } else { *start };
            let end = if *end < 0 { llen + end } else { *end };
            if start < 0 {
                start = 0;
            }
            if start > end || start >= llen {
                return (0, 0);
            }
            let end = end.min(llen - 1);
            let n = (end - start + 1) as usize;
            if rev {
                ((llen - 1 - start) as usize, n)
            } else {
                (start as usize, n)
            }
        }
        Spec::Score(r) => {
            // A negative offset walks off the end in Redis: nothing is returned.
            if offset < 0 {
                return (0, 0);
            }
            let (Some(first), Some(last)) = (z.first_in_range(r), z.last_in_range(r)) else {
                return (0, 0);
            };
            let off = usize::try_from(offset).unwrap_or(usize::MAX);
            let (pos, avail) = if rev {
                match last.checked_sub(off) {
                    Some(p) if p >= first => (p, p - first + 1),
                    _ => return (0, 0),
                }
            } else {
                match first.checked_add(off) {
                    Some(p) if p <= last => (p, last - p + 1),
                    _ => return (0, 0),
                }
            };
            let n = if limit < 0 {
                avail
            } else {
                avail.min(usize::try_from(limit).unwrap_or(usize::MAX))
            };
            (pos, n)
        }
        Spec::Lex(r) => {
            if offset < 0 {
                return (0, 0);
            }
            let start = if rev {
                z.last_in_lex(r)
            } else {
                z.first_in_lex(r)
            };
            let Some(start) = start else {
                return (0, 0);
            };
            let off = usize::try_from(offset).unwrap_or(usize::MAX);
            let pos = if rev {
                match start.checked_sub(off) {
                    Some(p) => p,
                    None => return (0, 0),
                }
            } else {
                match start.checked_add(off) {
                    Some(p) if p < len => p,
                    _ => return (0, 0),
                }
            };
            let max = if limit < 0 {
                usize::MAX
            } else {
                usize::try_from(limit).unwrap_or(usize::MAX)
            };
            // Walked like Redis (each member checked against the far end), which matters only for
            // sets whose scores differ.
            let n = z
                .iter_from(pos, rev)
                .take(max)
                .take_while(|(m, _)| if rev { r.gte_min(m) } else { r.lte_max(m) })
                .count();
            (pos, n)
        }
    }
}

/// Redis's `zrangeGenericCommand`: options (in Redis's order of checks), the range, then the lookup.
fn zrange_generic(
    ctx: &mut Ctx,
    args: &Args,
    store: Option<&[u8]>,
    mut rtype: RangeType,
    mut dir: Direction,
) -> CmdResult {
    let start = if store.is_some() { 2 } else { 1 };
    let key = &args[start];
    let (mut minidx, mut maxidx) = (start + 1, start + 2);
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = start + 3;
    while j < args.len() {
        let a = &args[j];
        let left = args.len() - j - 1;
        if store.is_none() && eq_ci(a, b"withscores") {
            withscores = true;
        } else if eq_ci(a, b"limit") && left >= 2 {
            offset = int_arg(args, j + 1)?;
            limit = int_arg(args, j + 2)?;
            j += 2;
        } else if dir == Direction::Auto && eq_ci(a, b"rev") {
            dir = Direction::Reverse;
        } else if rtype == RangeType::Auto && eq_ci(a, b"bylex") {
            rtype = RangeType::Lex;
        } else if rtype == RangeType::Auto && eq_ci(a, b"byscore") {
            rtype = RangeType::Score;
        } else {
            return err(ERR_SYNTAX);
        }
        j += 1;
    }
    if dir == Direction::Auto {
        dir = Direction::Forward;
    }
    if rtype == RangeType::Auto {
        rtype = RangeType::Rank;
    }
    if limit != -1 && rtype == RangeType::Rank {
        return err(ERR_LIMIT_RANK);
    }
    if withscores && rtype == RangeType::Lex {
        return err(ERR_WITHSCORES_LEX);
    }
    let rev = dir == Direction::Reverse;
    if rev && rtype != RangeType::Rank {
        std::mem::swap(&mut minidx, &mut maxidx);
    }
    let spec = match rtype {
        RangeType::Score => Spec::Score(parse_range(&args[minidx], &args[maxidx])?),
        RangeType::Lex => Spec::Lex(parse_lex(&args[minidx], &args[maxidx])?),
        _ => Spec::Rank(int_arg(args, minidx)?, int_arg(args, maxidx)?),
    };

    let Some(i) = read_lookup(ctx, key) else {
        match store {
            Some(dst) => store_result(ctx, dst, Vec::new(), "zrangestore"),
            None => ctx.out.array(0),
        }
        return Ok(());
    };
    let z = zset_at(&ctx.st.dbs[ctx.db], i)?;
    let (pos, n) = plan(z, &spec, rev, offset, limit);
    let elems = z.iter_from(pos, rev).take(n);
    match store {
        Some(dst) => {
            let mut items: Vec<(Bytes, f64)> = elems.map(|(m, s)| (Bytes::new(m), s)).collect();
            if rev {
                items.reverse();
            }
            store_result(ctx, dst, items, "zrangestore");
        }
        None => {
            let out = &mut *ctx.out;
            reply_elements(out, n, withscores, elems);
        }
    }
    Ok(())
}

/// An array of members, with their scores if asked: flat in RESP2, [member, score] pairs in RESP3.
fn reply_elements<'a>(
    out: &mut Out,
    n: usize,
    withscores: bool,
    elems: impl Iterator<Item = (&'a [u8], f64)>,
) {
    let pairs = withscores && out.resp3;
    out.array(if withscores && !out.resp3 { n * 2 } else { n });
    for (m, s) in elems {
        if pairs {
            out.array(2);
        }
        out.bulk(m);
        if withscores {
            reply_score(out, s);
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// ZREMRANGEBYRANK, ZREMRANGEBYSCORE, ZREMRANGEBYLEX.

/// ZREMRANGEBYRANK key start stop
pub fn zremrangebyrank(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let spec = Spec::Rank(int_arg(args, 2)?, int_arg(args, 3)?);
    zremrange_generic(ctx, args, spec)
}

/// ZREMRANGEBYSCORE key min max
pub fn zremrangebyscore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let spec = Spec::Score(parse_range(&args[2], &args[3])?);
    zremrange_generic(ctx, args, spec)
}

/// ZREMRANGEBYLEX key min max
pub fn zremrangebylex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let spec = Spec::Lex(parse_lex(&args[2], &args[3])?);
    zremrange_generic(ctx, args, spec)
}

fn zremrange_generic(ctx: &mut Ctx, args: &Args, spec: Spec) -> CmdResult {
    let now = ctx.st.now;
    let db = &mut ctx.st.dbs[ctx.db];
    let Some(i) = db.lookup(&args[1], now) else {
        ctx.out.int(0);
        return Ok(());
    };
    let z = zset_at_mut(db, i)?;
    let deleted = match &spec {
        Spec::Rank(..) => {
            let (start, n) = plan(z, &spec, false, 0, -1);
            if n == 0 {
                0
            } else {
                z.remove_ranks(start, start + n - 1)
            }
        }
        Spec::Score(r) => z.remove_range(r),
        Spec::Lex(r) => z.remove_lex(r),
    };
    let gone = drop_if_empty(db, i);
    // Redis counts one change per removed member.
    ctx.dirty = Some(deleted as u64);
    if deleted == 0 {
        ctx.prop = Propagate::Nothing;
    } else {
        let event = match spec {
            Spec::Rank(..) => "zremrangebyrank",
            Spec::Score(_) => "zremrangebyscore",
            Spec::Lex(_) => "zremrangebylex",
        };
        notify(ctx, ZSET, event, &args[1]);
        if gone {
            notify(ctx, GENERIC, "del", &args[1]);
        }
    }
    ctx.out.int(deleted as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// ZPOPMIN, ZPOPMAX, ZMPOP.

/// The reply shape of a pop (Redis's `genericZpopCommand` flags).
#[derive(Debug, Clone, Copy)]
pub struct PopShape {
    /// Reply with the key name first (BZPOPMIN/BZPOPMAX, ZMPOP/BZMPOP).
    pub emit_key: bool,
    /// [member, score] pairs instead of a flat list.
    pub nested: bool,
    /// A null array rather than an empty one when no key holds anything.
    pub nil_when_empty: bool,
}

/// Pops from the first of `keys` that exists (WRONGTYPE if that one is not a sorted set): up to `count`
/// elements (-1: a plain single pop), the lowest or, with `max`, the highest, deleting the key when
/// it empties. Returns the key popped from and how many were popped. Shared with the blocking commands.
pub fn pop_generic<'a>(
    ctx: &mut Ctx,
    keys: impl IntoIterator<Item = &'a [u8]>,
    max: bool,
    count: i64,
    shape: PopShape,
) -> Result<Option<(&'a [u8], usize)>, Error> {
    let now = ctx.st.now;
    let db = &mut ctx.st.dbs[ctx.db];
    let mut found = None;
    for k in keys {
        if let Some(i) = db.lookup(k, now) {
            zset_at(db, i)?;
            found = Some((k, i));
            break;
        }
    }
    let Some((key, i)) = found else {
        if shape.nil_when_empty {
            ctx.out.null_array();
        } else {
            ctx.out.array(0);
        }
        return Ok(None);
    };
    if count == 0 {
        ctx.out.array(0);
        return Ok(None);
    }
    let count = if count < 0 { 1 } else { count as u64 };
    let z = zset_at_mut(db, i)?;
    let n = (z.len() as u64).min(count) as usize;
    let out = &mut *ctx.out;
    match (shape.nested, shape.emit_key) {
        (false, false) => out.array(n * 2),
        (true, false) => out.array(n),
        (false, true) => {
            out.array(n * 2 + 1);
            out.bulk(key);
        }
        (true, true) => {
            out.array(2);
            out.bulk(key);
            out.array(n);
        }
    }
    for _ in 0..n {
        let Some((m, s)) = z.pop(max) else {
            break;
        };
        if shape.nested {
            out.array(2);
        }
        out.bulk(m.as_slice());
        reply_score(out, s);
    }
    let gone = drop_if_empty(db, i);
    // One change per popped member, for a blocked client served later too (Redis's genericZpopCommand).
    ctx.dirty = Some(n as u64);
    ctx.touch_key(ctx.db, key);
    notify(ctx, ZSET, if max { "zpopmax" } else { "zpopmin" }, key);
    if gone {
        notify(ctx, GENERIC, "del", key);
    }
    Ok(Some((key, n)))
}

/// ZPOPMIN key [count]
pub fn zpopmin(ctx: &mut Ctx, args: &Args) -> CmdResult {
    zpop_minmax(ctx, args, false)
}

/// ZPOPMAX key [count]
pub fn zpopmax(ctx: &mut Ctx, args: &Args) -> CmdResult {
    zpop_minmax(ctx, args, true)
}

fn zpop_minmax(ctx: &mut Ctx, args: &Args, max: bool) -> CmdResult {
    if args.len() > 3 {
        return err(ERR_SYNTAX);
    }
    let mut count = -1;
    if args.len() == 3 {
        count = parse_i64(&args[2]).ok_or(ERR_POSITIVE)?;
        if count < 0 {
            return err(ERR_POSITIVE);
        }
    }
    let shape = PopShape {
        emit_key: false,
        nested: ctx.out.resp3 && count != -1,
        nil_when_empty: false,
    };
    if pop_generic(ctx, [&args[1]], max, count, shape)?.is_none() {
        ctx.prop = Propagate::Nothing;
    }
    Ok(())
}

/// The options of ZMPOP and BZMPOP from `numkeys` at `numkeys_idx`: the number of keys, MIN/MAX, count.
pub fn parse_mpop(args: &Args, numkeys_idx: usize) -> Result<(usize, bool, i64), Error> {
    let numkeys = parse_i64(&args[numkeys_idx]).ok_or(ERR_NUMKEYS)?;
    if numkeys < 1 {
        return err(ERR_NUMKEYS);
    }
    let where_idx = (numkeys as u64).saturating_add(numkeys_idx as u64 + 1);
    if where_idx >= args.len() as u64 {
        return err(ERR_SYNTAX);
    }
    let where_idx = where_idx as usize;
    let max = if eq_ci(&args[where_idx], b"min") {
        false
    } else if eq_ci(&args[where_idx], b"max") {
        true
    } else {
        return err(ERR_SYNTAX);
    };
    let mut count = -1;
    let mut j = where_idx + 1;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if count == -1 && eq_ci(&args[j], b"count") && more > 0 {
            j += 1;
            count = parse_i64(&args[j]).ok_or(ERR_COUNT)?;
            if count < 1 {
                return err(ERR_COUNT);
            }
        } else {
            return err(ERR_SYNTAX);
        }
        j += 1;
    }
    Ok((numkeys as usize, max, count.max(1)))
}

/// ZMPOP numkeys key [key ...] MIN | MAX [COUNT count]
pub fn zmpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (numkeys, max, count) = parse_mpop(args, 1)?;
    let shape = PopShape {
        emit_key: true,
        nested: true,
        nil_when_empty: true,
    };
    let popped = pop_generic(ctx, args.from(2).take(numkeys), max, count, shape)?;
    ctx.prop = mpop_propagation(popped, max);
    Ok(())
}

/// ZMPOP and BZMPOP reach replicas as the ZPOPMIN/ZPOPMAX with a count that did the same.
pub fn mpop_propagation(popped: Option<(&[u8], usize)>, max: bool) -> Propagate {
    match popped {
        Some((key, n)) => {
            let mut tmp = [0u8; 20];
            let name: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
            Propagate::args([name, key, crate::util::fmt_i64(n as i64, &mut tmp)])
        }
        None => Propagate::Nothing,
    }
}

// ---------------------------------------------------------------------------------------------------
// BZPOPMIN, BZPOPMAX, BZMPOP.

const ERR_TIMEOUT_FLOAT: &str = "ERR timeout is not a float or out of range";
const ERR_TIMEOUT_NEG: &str = "ERR timeout is negative";

/// A blocking timeout in seconds, as Redis 7.0.15's `getTimeoutFromObjectOrReply`: a C `long double`
/// (so `0x1p3` and `1e3` work) times 1000, rounded up to whole milliseconds (0.0001 waits 1 ms, not
/// forever; -0.0001 rounds to 0, which is forever) and converted to a `long long`, which an overflow
/// turns negative. Returns the deadline in unix ms, 0 for none. Read from the value's 17-decimal text, it
/// can only tell a product within 1e-14 of a whole millisecond from it by the rounding Redis's x86-64 build
/// shows (so `-0.0010000000000000001`, which Redis finds negative, reads as `-0.001`: forever).
pub(crate) fn parse_timeout(now: u64, arg: &[u8]) -> Result<u64, Error> {
    let mut buf = [0u8; super::string::LD_CHARS];
    // The shim parses with strtold as Redis's string2ld does and prints the value as `%.17Lf` (trailing
    // zeros cut): the whole milliseconds and 14 digits of their fraction.
    let n = match super::string::add_long_double(None, arg, &mut buf) {
        Ok(n) => n,
        // An infinite value overflows the conversion to an integer, which Redis then finds negative.
        Err(e) if e.0.contains("NaN") => return err(ERR_TIMEOUT_NEG),
        Err(_) => return err(ERR_TIMEOUT_FLOAT),
    };
    let text = &buf[..n];
    let (neg, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let mut parts = digits.splitn(2, |&c| c == b'.');
    let int = parts.next().unwrap_or_default();
    let frac = parts.next().unwrap_or_default();
    let frac_digit = |k: usize| frac.get(k).unwrap_or(&b'0');
    let Some(ms) = decimal(int.iter().chain((0..3).map(frac_digit))) else {
        return err(ERR_TIMEOUT_NEG);
    };
    const SCALE: u128 = 100_000_000_000_000;
    let rest = decimal((3..17).map(frac_digit)).unwrap_or_default();
    // The product is rounded to the long double's 64-bit mantissa before it is rounded up: a fraction
    // under half its unit in the last place (`2^(e-63)` for a product in [2^e, 2^(e+1))) is lost.
    let e = 127 - i64::from((ms | 1).leading_zeros());
    let shift = (64 - e) as u32;
    let below_half_ulp = |f: u128| shift <= 80 && (f << shift) <= SCALE;
    let ms = if neg {
        if ms == 1 && rest == 0 {
            // -0.001 as a long double is a hair above -1/1000, and its product with 1000 stays above -1.
            0
        } else if rest > 0 && below_half_ulp(SCALE - rest) {
            ms + 1
        } else {
            ms
        }
    } else if rest > 0 && !below_half_ulp(rest) {
        ms + 1
    } else {
        ms
    };
    match ms {
        0 => Ok(0),
        _ if neg || ms > i64::MAX as u128 => err(ERR_TIMEOUT_NEG),
        ms => Ok(now.saturating_add(ms as u64)),
    }
}

/// The value of decimal digits, None when it overflows.
fn decimal<'d>(mut digits: impl Iterator<Item = &'d u8>) -> Option<u128> {
    digits.try_fold(0u128, |acc, &d| {
        acc.checked_mul(10)?
            .checked_add(u128::from(d.wrapping_sub(b'0')))
    })
}

/// The first of `keys` that exists, which must hold a sorted set (Redis's `lookupKeyWrite`, so no
/// keyspace hit or miss is counted).
fn first_zset<'a>(
    ctx: &mut Ctx,
    keys: impl Iterator<Item = &'a [u8]>,
) -> Result<Option<&'a [u8]>, Error> {
    let now = ctx.st.now;
    let db = &mut ctx.st.dbs[ctx.db];
    for k in keys {
        if let Some(i) = db.lookup(k, now) {
            zset_at(db, i)?;
            return Ok(Some(k));
        }
    }
    Ok(None)
}

/// True when `key` holds a sorted set: what a blocked client's re-run needs to be served from it.
fn holds_zset(ctx: &mut Ctx, key: &[u8]) -> bool {
    let now = ctx.st.now;
    let db = &mut ctx.st.dbs[ctx.db];
    db.lookup(key, now)
        .is_some_and(|i| matches!(db.entry(i).val, Value::ZSet(_)))
}

/// Pops for a blocking command from `key` (known to hold a sorted set): BZPOPMIN/BZPOPMAX's
/// `[key, member, score]` (`count` -1), or BZMPOP's `[key, [[member, score] ...]]`. Replicas get the
/// ZPOPMIN/ZPOPMAX that did the same.
fn bpop_serve(ctx: &mut Ctx, key: &[u8], max: bool, count: i64) -> CmdResult {
    let mpop = count != -1;
    let shape = PopShape {
        emit_key: true,
        nested: mpop,
        nil_when_empty: mpop,
    };
    let popped = pop_generic(ctx, [key], max, count, shape)?;
    if !ctx.st.replicas.is_empty() {
        ctx.prop = if mpop {
            mpop_propagation(popped, max)
        } else {
            let name: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
            Propagate::args([name, key])
        };
    }
    Ok(())
}

/// Parks the client on `keys` until `deadline`, or in a re-run lets it keep its place; inside EXEC (or
/// wherever blocking is denied) it gets the timeout reply, a null array, at once.
fn bpop_block<'k>(ctx: &mut Ctx, args: &Args, keys: impl Iterator<Item = &'k [u8]>, deadline: u64) {
    if !ctx.may_block() {
        ctx.out.null_array();
        return;
    }
    let keys = if ctx.reexec {
        Vec::new()
    } else {
        keys.map(Box::from).collect()
    };
    ctx.block(args, keys, deadline, true);
}

/// Serves a blocking pop at once, from the signalled key in a re-run (where a key of another type
/// keeps the client waiting) or else from the first existing key, or blocks. `count` -1 is BZPOPMIN's
/// single pop. The keys are the `numkeys` arguments from `first`.
fn bpop_generic(
    ctx: &mut Ctx,
    args: &Args,
    first: usize,
    numkeys: usize,
    timeout: &[u8],
    max: bool,
    count: i64,
) -> CmdResult {
    let deadline = parse_timeout(ctx.st.now, timeout)?;
    let keys = || (first..first + numkeys).filter_map(|i| args.get(i));
    if let (true, Some(k)) = (ctx.reexec, ctx.ready_key) {
        if holds_zset(ctx, k) {
            return bpop_serve(ctx, k, max, count);
        }
    } else if let Some(k) = first_zset(ctx, keys())? {
        return bpop_serve(ctx, k, max, count);
    }
    bpop_block(ctx, args, keys(), deadline);
    Ok(())
}

/// BZPOPMIN key [key ...] timeout
pub fn bzpopmin(ctx: &mut Ctx, args: &Args) -> CmdResult {
    bpop_generic(
        ctx,
        args,
        1,
        args.len() - 2,
        &args[args.len() - 1],
        false,
        -1,
    )
}

/// BZPOPMAX key [key ...] timeout
pub fn bzpopmax(ctx: &mut Ctx, args: &Args) -> CmdResult {
    bpop_generic(
        ctx,
        args,
        1,
        args.len() - 2,
        &args[args.len() - 1],
        true,
        -1,
    )
}

/// BZMPOP timeout numkeys key [key ...] MIN | MAX [COUNT count]
pub fn bzmpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    // As Redis, the numkeys and options are checked before the timeout.
    let (numkeys, max, count) = parse_mpop(args, 2)?;
    bpop_generic(ctx, args, 3, numkeys, &args[1], max, count)
}

// ---------------------------------------------------------------------------------------------------
// ZUNION, ZINTER, ZDIFF, their *STORE forms, ZINTERCARD.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

/// An input of a set operation: a sorted set, a plain set (every member scoring 1), or a missing key.
#[derive(Clone, Copy)]
enum Src<'a> {
    Missing,
    Z(&'a ZSet),
    Set(&'a Set),
}

impl<'a> Src<'a> {
    fn len(&self) -> usize {
        match self {
            Src::Missing => 0,
            Src::Z(z) => z.len(),
            Src::Set(s) => set_len(s),
        }
    }

    fn find(&self, m: &[u8]) -> Option<f64> {
        match self {
            Src::Missing => None,
            Src::Z(z) => z.score(m),
            Src::Set(s) => set_contains(s, m).then_some(1.0),
        }
    }

    fn for_each(&self, mut f: impl FnMut(Cow<'a, [u8]>, f64) -> bool) {
        match *self {
            Src::Missing => {}
            Src::Z(z) => {
                for (m, s) in z.iter() {
                    if !f(Cow::Borrowed(m), s) {
                        return;
                    }
                }
            }
            Src::Set(s) => set_for_each(s, |m| f(m, 1.0)),
        }
    }
}

fn set_len(s: &Set) -> usize {
    s.len()
}

fn set_contains(s: &Set, m: &[u8]) -> bool {
    s.contains(m)
}

/// Every member of a plain set; intset members are formatted as the strings they stand for.
fn set_for_each<'a>(s: &'a Set, mut f: impl FnMut(Cow<'a, [u8]>) -> bool) {
    for e in s.iter() {
        let m = match e {
            Elem::Str(b) => Cow::Borrowed(b),
            Elem::Int(n) => {
                let mut tmp = [0u8; 20];
                Cow::Owned(crate::util::fmt_i64(n, &mut tmp).to_vec())
            }
        };
        if !f(m) {
            return;
        }
    }
}

#[inline]
fn aggregate(target: &mut f64, v: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *target += v;
            // inf + -inf: Redis's convention is 0.
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if v < *target {
                *target = v;
            }
        }
        Aggregate::Max => {
            if v > *target {
                *target = v;
            }
        }
    }
}

/// ZUNION numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN | MAX] [WITHSCORES]
pub fn zunion(ctx: &mut Ctx, args: &Args) -> CmdResult {
    set_op(ctx, args, None, SetOp::Union, false, "zunion")
}

/// ZINTER numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN | MAX] [WITHSCORES]
pub fn zinter(ctx: &mut Ctx, args: &Args) -> CmdResult {
    set_op(ctx, args, None, SetOp::Inter, false, "zinter")
}

/// ZDIFF numkeys key [key ...] [WITHSCORES]
pub fn zdiff(ctx: &mut Ctx, args: &Args) -> CmdResult {
    set_op(ctx, args, None, SetOp::Diff, false, "zdiff")
}

/// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN |
/// MAX]
pub fn zunionstore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    set_op(
        ctx,
        args,
        Some(&args[1]),
        SetOp::Union,
        false,
        "zunionstore",
    )
}

/// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight [weight ...]] [AGGREGATE SUM | MIN |
/// MAX]
pub fn zinterstore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    set_op(
        ctx,
        args,
        Some(&args[1]),
        SetOp::Inter,
        false,
        "zinterstore",
    )
}

/// ZDIFFSTORE destination numkeys key [key ...]
pub fn zdiffstore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    set_op(ctx, args, Some(&args[1]), SetOp::Diff, false, "zdiffstore")
}

/// ZINTERCARD numkeys key [key ...] [LIMIT limit]
pub fn zintercard(ctx: &mut Ctx, args: &Args) -> CmdResult {
    set_op(ctx, args, None, SetOp::Inter, true, "zintercard")
}

/// Redis's `zunionInterDiffGenericCommand`: numkeys, the keys (type-checked as they are read), then
/// the options; inputs are visited smallest first for union and intersection, which fixes the order
/// in which scores are summed.
fn set_op(
    ctx: &mut Ctx,
    args: &Args,
    dst: Option<&[u8]>,
    op: SetOp,
    card_only: bool,
    name: &str,
) -> CmdResult {
    let nk_idx = if dst.is_some() { 2 } else { 1 };
    let setnum = int_arg(args, nk_idx)?;
    if setnum < 1 {
        return err(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        ));
    }
    if setnum > (args.len() - nk_idx - 1) as i64 {
        return err(ERR_SYNTAX);
    }
    let setnum = setnum as usize;
    let mut found: Vec<Option<u32>> = Vec::with_capacity(setnum);
    for k in args.from(nk_idx + 1).take(setnum) {
        let i = read_lookup(ctx, k);
        if let Some(i) = i {
            if !matches!(
                ctx.st.dbs[ctx.db].entry(i).val,
                Value::ZSet(_) | Value::Set(_)
            ) {
                return err(ERR_WRONGTYPE);
            }
        }
        found.push(i);
    }
    let mut weights = vec![1.0f64; setnum];
    let mut how = Aggregate::Sum;
    let mut withscores = false;
    let mut limit: u64 = 0;
    let mut j = nk_idx + 1 + setnum;
    while j < args.len() {
        let remaining = args.len() - j;
        let a = &args[j];
        if op != SetOp::Diff && !card_only && remaining > setnum && eq_ci(a, b"weights") {
            j += 1;
            for w in weights.iter_mut() {
                *w = parse_score(&args[j]).ok_or(ERR_WEIGHT)?;
                j += 1;
            }
        } else if op != SetOp::Diff && !card_only && remaining >= 2 && eq_ci(a, b"aggregate") {
            let v = &args[j + 1];
            how = if eq_ci(v, b"sum") {
                Aggregate::Sum
            } else if eq_ci(v, b"min") {
                Aggregate::Min
            } else if eq_ci(v, b"max") {
                Aggregate::Max
            } else {
                return err(ERR_SYNTAX);
            };
            j += 2;
        } else if dst.is_none() && !card_only && eq_ci(a, b"withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && eq_ci(a, b"limit") {
            let n = parse_i64(&args[j + 1]).ok_or(ERR_LIMIT_NEG)?;
            if n < 0 {
                return err(ERR_LIMIT_NEG);
            }
            limit = n as u64;
            j += 2;
        } else {
            return err(ERR_SYNTAX);
        }
    }

    let db = &ctx.st.dbs[ctx.db];
    let mut srcs: Vec<(Src, f64, Option<u32>)> = found
        .iter()
        .zip(&weights)
        .map(|(&i, &w)| {
            let src = match i.map(|i| &db.entry(i).val) {
                Some(Value::ZSet(z)) => Src::Z(z),
                Some(Value::Set(s)) => Src::Set(s),
                _ => Src::Missing,
            };
            (src, w, i)
        })
        .collect();
    if op != SetOp::Diff {
        srcs.sort_by_key(|(s, _, _)| s.len());
    }

    let mut result: Vec<(Cow<[u8]>, f64)> = Vec::new();
    let mut card: u64 = 0;
    match op {
        SetOp::Inter => {
            let (first, w0, _) = srcs[0];
            if first.len() > 0 {
                first.for_each(|m, s| {
                    let mut score = w0 * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    for &(src, w, _) in &srcs[1..] {
                        match src.find(&m) {
                            Some(v) => aggregate(&mut score, v * w, how),
                            None => return true,
                        }
                    }
                    if card_only {
                        card += 1;
                        return !(limit > 0 && card >= limit);
                    }
                    result.push((m, score));
                    true
                });
            }
        }
        SetOp::Union => {
            let cap = srcs.last().map_or(0, |(s, _, _)| s.len());
            let mut acc: HashMap<Cow<[u8]>, f64> = HashMap::with_capacity(cap);
            for &(src, w, _) in &srcs {
                src.for_each(|m, s| {
                    let mut score = w * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match acc.get_mut(&m) {
                        Some(t) => aggregate(t, score, how),
                        None => {
                            acc.insert(m, score);
                        }
                    }
                    true
                });
            }
            result = acc.into_iter().collect();
        }
        SetOp::Diff => {
            let (first, _, first_idx) = srcs[0];
            // The same key given again removes everything.
            let same = srcs[1..]
                .iter()
                .any(|&(_, _, i)| i.is_some() && i == first_idx);
            if first.len() > 0 && !same {
                first.for_each(|m, s| {
                    if srcs[1..].iter().all(|(src, _, _)| src.find(&m).is_none()) {
                        result.push((m, s));
                    }
                    true
                });
            }
        }
    }

    if card_only {
        ctx.out.int(card as i64);
        return Ok(());
    }
    result.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
    match dst {
        Some(dst) => {
            let items = result
                .into_iter()
                .map(|(m, s)| (Bytes::new(&m), s))
                .collect();
            store_result(ctx, dst, items, name);
        }
        None => {
            let n = result.len();
            let out = &mut *ctx.out;
            reply_elements(out, n, withscores, result.iter().map(|(m, s)| (&m[..], *s)));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------
// ZRANDMEMBER, ZSCAN.

/// ZRANDMEMBER key [count [WITHSCORES]]
pub fn zrandmember(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() >= 3 {
        let l = parse_i64(&args[2]).ok_or(ERR_NOT_INT)?;
        if l == i64::MIN {
            return err(ERR_RANDMEMBER_RANGE);
        }
        let mut withscores = false;
        if args.len() > 4 || (args.len() == 4 && !eq_ci(&args[3], b"withscores")) {
            return err(ERR_SYNTAX);
        } else if args.len() == 4 {
            withscores = true;
            if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
                return err(ERR_RANGE);
            }
        }
        return zrandmember_count(ctx, args, l, withscores);
    }
    let Some(i) = read_lookup(ctx, &args[1]) else {
        ctx.out.null();
        return Ok(());
    };
    let st = &mut *ctx.st;
    let z = zset_at(&st.dbs[ctx.db], i)?;
    let r = st.rng.below(z.len() as u64) as usize;
    if let Some((m, _)) = z.get(r) {
        ctx.out.bulk(m);
    }
    Ok(())
}

/// ZRANDMEMBER with a count: negative counts may repeat members (in random order), positive ones
/// return distinct members, all of them when the count reaches the size.
fn zrandmember_count(ctx: &mut Ctx, args: &Args, l: i64, withscores: bool) -> CmdResult {
    let Some(i) = read_lookup(ctx, &args[1]) else {
        ctx.out.array(0);
        return Ok(());
    };
    // A huge negative count would fill memory: past the output limit Redis closes the client, and so
    // does this, without writing the rest.
    let hard = ctx.st.cfg.obuf[0].hard;
    let cap = if hard > 0 { hard as usize } else { 1 << 30 };
    let st = &mut *ctx.st;
    let z = zset_at(&st.dbs[ctx.db], i)?;
    let size = z.len();
    let count = l.unsigned_abs();
    let out = &mut *ctx.out;
    if count == 0 {
        out.array(0);
        return Ok(());
    }
    let pairs = withscores && out.resp3;
    let emit = |out: &mut Out, m: &[u8], s: f64| {
        if pairs {
            out.array(2);
        }
        out.bulk(m);
        if withscores {
            reply_score(out, s);
        }
    };
    if l < 0 || count == 1 {
        let n = count as usize;
        out.array(if withscores && !out.resp3 { n * 2 } else { n });
        for _ in 0..n {
            let r = st.rng.below(size as u64) as usize;
            if let Some((m, s)) = z.get(r) {
                emit(out, m, s);
            }
            if out.buf.len() > cap {
                // The reply is cut short, so the client must go (Redis closes it too).
                ctx.conns[ctx.id].kill = true;
                break;
            }
        }
        return Ok(());
    }
    let count = count as usize;
    if count >= size {
        // Redis's set-operation iterator walks from the highest element down.
        reply_elements(out, size, withscores, z.iter_from(size - 1, true));
        return Ok(());
    }
    // Floyd's sampling: `count` distinct ranks in O(count).
    let mut picked: HashSet<usize> = HashSet::with_capacity(count);
    let mut order: Vec<usize> = Vec::with_capacity(count);
    for j in size - count..size {
        let t = st.rng.below(j as u64 + 1) as usize;
        let r = if picked.insert(t) {
            t
        } else {
            picked.insert(j);
            j
        };
        order.push(r);
    }
    out.array(if withscores && !out.resp3 {
        count * 2
    } else {
        count
    });
    for r in order {
        if let Some((m, s)) = z.get(r) {
            emit(out, m, s);
        }
    }
    Ok(())
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count]
pub fn zscan(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let cursor = parse_cursor(&args[2]).ok_or(ERR_INVALID_CURSOR)?;
    let Some(i) = read_lookup(ctx, &args[1]) else {
        ctx.out.array(2);
        ctx.out.bulk(b"0");
        ctx.out.array(0);
        return Ok(());
    };
    zset_at(&ctx.st.dbs[ctx.db], i)?;
    let mut count = 10usize;
    let mut pat: Option<&[u8]> = None;
    let mut j = 3;
    while j < args.len() {
        let has_value = args.len() - j >= 2;
        if eq_ci(&args[j], b"count") && has_value {
            let n = int_arg(args, j + 1)?;
            if n < 1 {
                return err(ERR_SYNTAX);
            }
            count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if eq_ci(&args[j], b"match") && has_value {
            let p = &args[j + 1];
            pat = (p != b"*").then_some(p);
        } else {
            return err(ERR_SYNTAX);
        }
        j += 2;
    }
    let z = zset_at(&ctx.st.dbs[ctx.db], i)?;
    let flat = z.encoding() == "listpack";
    let mut found: Vec<(&[u8], f64)> = Vec::new();
    let next = z.scan(cursor, count, |m, s| {
        if pat.is_none_or(|p| glob_match(p, m, false)) {
            found.push((m, s));
        }
    });
    let out = &mut *ctx.out;
    out.array(2);
    out.bulk_int(next as i64);
    out.array(found.len() * 2);
    let mut b = [0u8; 32];
    for (m, s) in found {
        out.bulk(m);
        let t = if flat {
            fmt_flat_score(s, &mut b)
        } else {
            fmt_score(s, &mut b)
        };
        out.bulk(t);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::reply::fmt_double;

    #[test]
    fn fmt_score_matches_g17() {
        let mut seed = 0x1234_5678_9abc_def0u64;
        let mut vals = vec![
            1.5,
            0.1,
            1e16,
            1e17,
            123456789012345678.0,
            1e-4,
            1e-5,
            -2.5e-300,
            f64::MAX,
            f64::MIN_POSITIVE,
            5e-324,
            9.999999999999999e16,
            0.30000000000000004,
            -0.0,
            0.0,
            f64::INFINITY,
            f64::NEG_INFINITY,
            3.0,
            -7.0,
            1e15 + 0.5,
        ];
        for _ in 0..20_000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let d = f64::from_bits(seed);
            if d.is_finite() {
                vals.push(d);
            }
            vals.push((seed % 1_000_000) as f64 / 1000.0);
            vals.push((seed % 100_000) as f64 * 1e12);
        }
        for d in vals {
            let mut b = [0u8; 32];
            assert_eq!(fmt_score(d, &mut b), fmt_double(d).as_bytes(), "{d:e}");
        }
    }

    #[test]
    fn scores_parse_like_strtod() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"-0").map(f64::is_sign_negative), Some(true));
        assert_eq!(parse_score(b"0x10"), Some(16.0));
        assert_eq!(parse_score(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"1e-310").map(|v| v > 0.0), Some(true));
        for bad in [
            &b""[..],
            b" 1",
            b"1 ",
            b"nan",
            b"1e400",
            b"1e-400",
            b"1\x002",
            b"abc",
        ] {
            assert_eq!(parse_score(bad), None, "{bad:?}");
        }
        assert_eq!(parse_bound(b"(1.5"), Some((1.5, true)));
        assert_eq!(parse_bound(b""), Some((0.0, false)));
        assert_eq!(parse_bound(b" 2"), Some((2.0, false)));
        assert_eq!(parse_bound(b"3\0junk"), Some((3.0, false)));
        assert_eq!(parse_bound(b"1e400"), Some((f64::INFINITY, false)));
        assert_eq!(parse_bound(b"2 "), None);
        assert_eq!(parse_bound(b"(nan"), None);
    }

    #[test]
    fn flat_scores_print_like_d2string() {
        let mut b = [0u8; 32];
        assert_eq!(fmt_flat_score(1e17, &mut b), b"100000000000000000");
        assert_eq!(fmt_flat_score(1e19, &mut b), b"1e+19");
        assert_eq!(fmt_flat_score(1.5, &mut b), b"1.5");
        assert_eq!(fmt_flat_score(f64::NEG_INFINITY, &mut b), b"-inf");
    }

    #[test]
    fn timeouts_read_like_redis_7_0_15() {
        let ok = |t: &str| parse_timeout(1000, t.as_bytes()).ok();
        let msg = |t: &str| parse_timeout(1000, t.as_bytes()).err().map(|e| e.0);
        assert_eq!(ok("0"), Some(0));
        assert_eq!(ok("0.1"), Some(1100));
        assert_eq!(ok("1e-1"), Some(1100));
        assert_eq!(ok("0x10"), Some(17_000));
        assert_eq!(ok("2.5"), Some(3500));
        // Rounded up to whole milliseconds: a positive fraction of one waits one, a negative one forever.
        assert_eq!(ok("0.0001"), Some(1001));
        assert_eq!(ok("0.0011"), Some(1002));
        assert_eq!(ok("-0.0001"), Some(0));
        assert_eq!(ok("-0.00099"), Some(0));
        assert_eq!(ok("-0.001"), Some(0));
        // Near LLONG_MAX milliseconds the product's rounding to 64 bits decides.
        assert_eq!(ok("9223372036854775.807"), Some(1000 + i64::MAX as u64));
        assert_eq!(ok("9223372036854775"), Some(9_223_372_036_854_776_000));
        for t in ["-1", "-0.0011", "-0.002", "inf", "-inf", "1e16", "1e400"] {
            assert_eq!(msg(t).as_deref(), Some(ERR_TIMEOUT_NEG), "{t}");
        }
        for t in ["9223372036854775.808", "9223372036854776"] {
            assert_eq!(msg(t).as_deref(), Some(ERR_TIMEOUT_NEG), "{t}");
        }
        for t in ["abc", "nan", " 1", "1 ", ""] {
            assert_eq!(msg(t).as_deref(), Some(ERR_TIMEOUT_FLOAT), "{t}");
        }
    }
}
