//! SORT and SORT_RO, Redis 7.0's `sort.c`: sort a list, set or sorted set numerically or by bytes, by the
//! element itself or by keys (and hash fields) named by substituting the element into a pattern, return a
//! LIMIT window of it, optionally GET other keys per element, and STORE the result as a list.
//!
//! The order of operations is Redis's, because it shows in replies: options are parsed first (a bad LIMIT
//! number or a stray word fails before the key is looked at), then the key's type is checked, then weights
//! are loaded and sorted, and only then is a conversion failure reported. Patterns are read the way Redis
//! reads its C strings: `*`, `->` and `#` are looked for before the pattern's first NUL byte.

use super::notify::{notify_db, GENERIC, LIST};
use super::repl::Propagate;
use super::zset::c_strtod;
use super::{
    err, int_arg, Args, Cmd, CmdResult, Ctx, Error, DENYOOM, ERR_SYNTAX, ERR_WRONGTYPE, READONLY,
    WRITE,
};
use crate::protocol::Out;
use crate::server::State;
use crate::store::list::List;
use crate::store::zset::{Limits as ZLimits, ZSet};
use crate::store::{Bytes, Value};
use crate::util::{eq_ci, parse_i64};
use std::cmp::Ordering;

const COMPLEXITY: &str = "O(N+M*log(M)) where N is the number of elements in the list or set to \
     sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).";

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("sort", -2, WRITE | DENYOOM, (1, 1, 1), sort).doc(
        "generic",
        "1.0.0",
        "Sort the elements in a list, set or sorted set",
        COMPLEXITY,
    ),
    Cmd::new("sort_ro", -2, READONLY, (1, 1, 1), sort_ro).doc(
        "generic",
        "7.0.0",
        "Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
        COMPLEXITY,
    ),
];

const ERR_SCORE: &str = "ERR One or more scores can't be converted into double";

/// SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] [ALPHA]
/// [STORE destination]
pub fn sort(ctx: &mut Ctx, args: &Args) -> CmdResult {
    sort_generic(ctx, args, false)
}

/// SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]] [ASC | DESC] [ALPHA]
pub fn sort_ro(ctx: &mut Ctx, args: &Args) -> CmdResult {
    sort_generic(ctx, args, true)
}

/// A BY or GET pattern, decoded once.
enum Pattern<'a> {
    /// `#`: the element itself.
    Elem,
    /// No `*`: names no key, so it finds nothing.
    Fixed,
    /// `prefix*postfix`, optionally `->field` of the hash found there.
    Key {
        prefix: &'a [u8],
        postfix: &'a [u8],
        field: Option<&'a [u8]>,
    },
}

/// Where a C string ends: at its first NUL byte, else at the end.
fn c_len(s: &[u8]) -> usize {
    s.iter().position(|&c| c == 0).unwrap_or(s.len())
}

impl<'a> Pattern<'a> {
    /// Redis's `lookupKeyByPattern` reading of a pattern.
    fn parse(p: &'a [u8]) -> Pattern<'a> {
        let end = c_len(p);
        if end == 1 && p[0] == b'#' {
            return Pattern::Elem;
        }
        let Some(star) = p[..end].iter().position(|&c| c == b'*') else {
            return Pattern::Fixed;
        };
        // `->` counts only when a field name follows it before the C string's end.
        let arrow = p[star + 1..end]
            .windows(2)
            .position(|w| w == b"->")
            .map(|i| star + 1 + i)
            .filter(|&f| f + 2 < end);
        match arrow {
            Some(f) => Pattern::Key {
                prefix: &p[..star],
                postfix: &p[star + 1..f],
                field: Some(&p[f + 2..]),
            },
            None => Pattern::Key {
                prefix: &p[..star],
                postfix: &p[star + 1..],
                field: None,
            },
        }
    }
}

/// What a pattern found for one element: a string, or an integer as Redis keeps `int`-encoded strings.
#[derive(Clone, Copy)]
enum Found<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl<'a> Found<'a> {
    fn bytes<'b>(self, tmp: &'b mut [u8; 20]) -> &'b [u8]
    where
        'a: 'b,
    {
        match self {
            Found::Str(s) => s,
            Found::Int(n) => crate::util::fmt_i64(n, tmp),
        }
    }
}

/// The value `pat` names for element `elem` (Redis's `lookupKeyByPattern`): the element for `#`, the
/// string at the substituted key, or the hash field there; None when it is missing or of another type.
/// Key lookups count as reads (keyspace hits and misses, access time). `keybuf` is reused scratch space.
fn lookup<'s>(
    st: &'s mut State,
    db: usize,
    pat: &Pattern,
    elem: &'s [u8],
    keybuf: &mut Vec<u8>,
) -> Option<Found<'s>> {
    let (prefix, postfix, field) = match pat {
        Pattern::Elem => return Some(Found::Str(elem)),
        Pattern::Fixed => return None,
        Pattern::Key {
            prefix,
            postfix,
            field,
        } => (prefix, postfix, field),
    };
    keybuf.clear();
    keybuf.extend_from_slice(prefix);
    keybuf.extend_from_slice(elem);
    keybuf.extend_from_slice(postfix);
    let now = st.now;
    let found = st.dbs[db].lookup(keybuf, now);
    if found.is_some() {
        st.stats.keyspace_hits += 1;
    } else {
        st.stats.keyspace_misses += 1;
    }
    let val = &st.dbs[db].entry(found?).val;
    match (field, val) {
        (None, Value::Int(n)) => Some(Found::Int(*n)),
        (None, Value::Str(b)) => Some(Found::Str(b.as_slice())),
        (Some(f), Value::Hash(h)) => Some(match h.get(f)? {
            crate::store::set::Elem::Str(s) => Found::Str(s),
            crate::store::set::Elem::Int(n) => Found::Int(n),
        }),
        _ => None,
    }
}

/// A weight as Redis's SORT reads it: integers exactly; other strings by `strtod` up to their first NUL,
/// which must consume all of it (the empty string is 0) without overflow, underflow or NaN.
fn weight(v: Found) -> Option<f64> {
    let s = match v {
        Found::Int(n) => return Some(n as f64),
        Found::Str(s) => s,
    };
    if let Some(n) = parse_i64(s) {
        return Some(n as f64);
    }
    let s = &s[..c_len(s)];
    let (v, used, erange) = c_strtod(s);
    (used == s.len() && !erange && !v.is_nan()).then_some(v)
}

/// `strcoll` in the C locale: bytes compared up to each string's first NUL.
fn coll(a: &[u8], b: &[u8]) -> Ordering {
    a[..c_len(a)].cmp(&b[..c_len(b)])
}

/// One element being sorted, with what it sorts by.
struct Item {
    elem: Bytes,
    score: f64,
    /// ALPHA BY: the string found through the pattern, None when nothing was.
    by: Option<Vec<u8>>,
}

struct Opts<'a> {
    desc: bool,
    alpha: bool,
    limit: Option<(i64, i64)>,
    by: Option<&'a [u8]>,
    /// Set by any BY without `*`, and kept even if a later BY has one (as in Redis).
    dontsort: bool,
    gets: Vec<Pattern<'a>>,
    store: Option<&'a [u8]>,
}

fn parse_opts<'a>(args: &Args<'a>, readonly: bool) -> Result<Opts<'a>, Error> {
    let mut o = Opts {
        desc: false,
        alpha: false,
        limit: None,
        by: None,
        dontsort: false,
        gets: Vec::new(),
        store: None,
    };
    let mut j = 2;
    while j < args.len() {
        let a = &args[j];
        let left = args.len() - j - 1;
        if eq_ci(a, b"asc") {
            o.desc = false;
        } else if eq_ci(a, b"desc") {
            o.desc = true;
        } else if eq_ci(a, b"alpha") {
            o.alpha = true;
        } else if eq_ci(a, b"limit") && left >= 2 {
            o.limit = Some((int_arg(args, j + 1)?, int_arg(args, j + 2)?));
            j += 2;
        } else if !readonly && eq_ci(a, b"store") && left >= 1 {
            o.store = args.get(j + 1);
            j += 1;
        } else if eq_ci(a, b"by") && left >= 1 {
            let p = args.get(j + 1).unwrap_or_default();
            if !p[..c_len(p)].contains(&b'*') {
                o.dontsort = true;
            }
            o.by = Some(p);
            j += 1;
        } else if eq_ci(a, b"get") && left >= 1 {
            o.gets
                .push(Pattern::parse(args.get(j + 1).unwrap_or_default()));
            j += 1;
        } else {
            return err(ERR_SYNTAX);
        }
        j += 1;
    }
    Ok(o)
}

/// The type of the key being sorted (a missing key sorts as an empty list).
enum Kind {
    List,
    Set,
    ZSet,
}

/// SORT and SORT_RO (`readonly`: STORE is not an option, so it is a syntax error).
fn sort_generic(ctx: &mut Ctx, args: &Args, readonly: bool) -> CmdResult {
    let mut o = parse_opts(args, readonly)?;
    let db = ctx.db;
    let found = super::read_lookup(ctx, &args[1]);
    let kind = match found.map(|i| &ctx.st.dbs[db].entry(i).val) {
        None | Some(Value::List(_)) => Kind::List,
        Some(Value::Set(_)) => Kind::Set,
        Some(Value::ZSet(_)) => Kind::ZSet,
        Some(_) => return err(ERR_WRONGTYPE),
    };
    // An unsorted set would come out in an order that depends on its layout, so a stored one (or one a
    // script reads) is sorted.
    if o.dontsort && matches!(kind, Kind::Set) && (o.store.is_some() || ctx.in_script) {
        o.dontsort = false;
        o.alpha = true;
        o.by = None;
    }
    if let Some(i) = found {
        to_skiplist(ctx, i);
    }
    let val = found.map(|i| &ctx.st.dbs[db].entry(i).val);
    let len = match val {
        Some(Value::List(l)) => l.len(),
        Some(Value::Set(s)) => s.len(),
        Some(Value::ZSet(z)) => z.len(),
        _ => 0,
    } as i64;

    // Redis's LIMIT clamping: the window is [start, end], empty when end < start.
    let (lstart, lcount) = o.limit.unwrap_or((0, -1));
    let mut start = lstart.max(0).min(len);
    let count = lcount.max(-1).min(len);
    let mut end = if count < 0 {
        len - 1
    } else {
        start + count - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    end = end.min(len - 1);

    let mut items: Vec<Item> = Vec::new();
    let item = |e: &[u8]| Item {
        elem: Bytes::new(e),
        score: 0.0,
        by: None,
    };
    let window = o.dontsort && !matches!(kind, Kind::Set);
    match val {
        Some(Value::List(l)) if window => {
            if end >= start {
                let n = (end - start + 1) as usize;
                let s = start as usize;
                if o.desc {
                    items.extend(l.iter().rev().skip(s).take(n).map(|e| item(e.as_slice())));
                } else {
                    items.extend(l.iter().skip(s).take(n).map(|e| item(e.as_slice())));
                }
            }
            end -= start;
            start = 0;
        }
        Some(Value::ZSet(z)) if window => {
            if end >= start {
                let n = (end - start + 1) as usize;
                let s = start as usize;
                let from = if o.desc { z.len() - 1 - s } else { s };
                items.extend(z.iter_from(from, o.desc).take(n).map(|(m, _)| item(m)));
            }
            end -= start;
            start = 0;
        }
        Some(Value::List(l)) => items.extend(l.iter().map(|e| item(e.as_slice()))),
        Some(Value::Set(s)) => {
            let mut tmp = [0u8; 20];
            items.extend(s.iter().map(|e| item(e.bytes(&mut tmp))));
        }
        Some(Value::ZSet(z)) => items.extend(z.iter().map(|(m, _)| item(m))),
        _ => {}
    }

    let mut keybuf = Vec::new();
    if !o.dontsort {
        let by = o.by.map(Pattern::parse);
        let mut bad = false;
        for it in items.iter_mut() {
            let v = match &by {
                Some(p) => lookup(ctx.st, db, p, it.elem.as_slice(), &mut keybuf),
                None => Some(Found::Str(it.elem.as_slice())),
            };
            let Some(v) = v else { continue };
            if o.alpha {
                if by.is_some() {
                    let mut tmp = [0u8; 20];
                    it.by = Some(v.bytes(&mut tmp).to_vec());
                }
            } else {
                match weight(v) {
                    Some(w) => it.score = w,
                    None => bad = true,
                }
            }
        }
        if bad {
            return err(ERR_SCORE);
        }
        let (alpha, bypat, store) = (o.alpha, by.is_some(), o.store.is_some());
        let cmp = |a: &Item, b: &Item| -> Ordering {
            let c = if !alpha {
                // Equal weights fall back to the elements' bytes, so the result is deterministic.
                a.score
                    .partial_cmp(&b.score)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| a.elem.as_slice().cmp(b.elem.as_slice()))
            } else if bypat {
                match (&a.by, &b.by) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(x), Some(y)) if store => x.cmp(y),
                    (Some(x), Some(y)) => coll(x, y),
                }
            } else if store {
                a.elem.as_slice().cmp(b.elem.as_slice())
            } else {
                coll(a.elem.as_slice(), b.elem.as_slice())
            };
            if o.desc {
                c.reverse()
            } else {
                c
            }
        };
        items.sort_by(cmp);
    }

    let window: &[Item] = if end >= start {
        &items[start as usize..=end as usize]
    } else {
        &[]
    };
    match o.store {
        None => {
            // Nothing changed that replicas or WATCH care about (at most a sorted set's encoding).
            ctx.prop = Propagate::Nothing;
            ctx.dirty = Some(0);
            let per = o.gets.len().max(1);
            ctx.out.array(window.len() * per);
            for it in window {
                if o.gets.is_empty() {
                    ctx.out.bulk(it.elem.as_slice());
                }
                for g in &o.gets {
                    reply_found(
                        ctx.out,
                        lookup(ctx.st, db, g, it.elem.as_slice(), &mut keybuf),
                    );
                }
            }
        }
        Some(dst) => {
            let mut list = List::new();
            for it in window {
                if o.gets.is_empty() {
                    list.push(it.elem.clone(), false);
                }
                for g in &o.gets {
                    let mut tmp = [0u8; 20];
                    let v = lookup(ctx.st, db, g, it.elem.as_slice(), &mut keybuf)
                        .map_or(&[][..], |v| v.bytes(&mut tmp));
                    list.push(Bytes::new(v), false);
                }
            }
            let n = list.len();
            let now = ctx.st.now;
            let d = &mut ctx.st.dbs[db];
            // Redis counts each element stored, or one for a destination deleted by an empty result.
            ctx.dirty = Some(if n > 0 { n as u64 } else { 0 });
            if n > 0 {
                d.set(dst, Value::List(Box::new(list)), false, now);
                ctx.signal_key(dst);
                notify_db(ctx, db, LIST, "sortstore", dst);
            } else if d.remove(dst, now) {
                ctx.dirty = Some(1);
                notify_db(ctx, db, GENERIC, "del", dst);
            } else {
                ctx.prop = Propagate::Nothing;
            }
            ctx.out.int(n as i64);
        }
    }
    Ok(())
}

/// Redis converts a sorted set it sorts to the skiplist encoding for good (`zsetConvert` in `sortCommand`),
/// whatever the options, which OBJECT ENCODING shows afterwards.
fn to_skiplist(ctx: &mut Ctx, i: u32) {
    let d = &mut ctx.st.dbs[ctx.db];
    let Value::ZSet(z) = &d.entry(i).val else {
        return;
    };
    if z.encoding() == "skiplist" {
        return;
    }
    let items = z.iter().map(|(m, s)| (Bytes::new(m), s)).collect();
    let none = ZLimits {
        entries: 0,
        value: 0,
    };
    // A new encoding is no change for WATCH: Redis does not signal the key.
    let logged = d.touched.len();
    d.entry_mut(i).val = Value::ZSet(Box::new(ZSet::from_sorted(items, none)));
    d.touched.truncate(logged);
}

fn reply_found(out: &mut Out, v: Option<Found>) {
    match v {
        Some(Found::Str(s)) => out.bulk(s),
        Some(Found::Int(n)) => {
            let mut tmp = [0u8; 20];
            out.bulk(crate::util::fmt_i64(n, &mut tmp));
        }
        None => out.null(),
    }
}
