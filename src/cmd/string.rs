//! String commands: GET, SET and the rest of Redis 7.0's string family, over `Value::Int` and
//! `Value::Str`. As in Redis's `t_string.c`, one generic worker serves each group of commands
//! (`set_generic` for SET/SETNX/SETEX/PSETEX/GETSET, `incr_by` for INCR/DECR/INCRBY/DECRBY,
//! `mset_generic` for MSET/MSETNX), and the encoding each command leaves behind is the one Redis leaves,
//! since `OBJECT ENCODING` shows it: stored arguments are integer-encoded when canonical, APPEND and
//! SETRANGE produce `raw`, the INCR family `int`, INCRBYFLOAT a plain string.

use super::notify::{notify, GENERIC, STRING};
use super::read_lookup;
use super::{
    err, int_arg, Args, Cmd, CmdResult, Ctx, Error, DENYOOM, ERR_NOT_FLOAT, ERR_NOT_INT,
    ERR_OVERFLOW, ERR_SYNTAX, ERR_WRONGTYPE, FAST, READONLY, WRITE,
};
use crate::protocol::Out;
use crate::store::{Bytes, Value};
use crate::util::{eq_ci, parse_i64};

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("get", 2, READONLY | FAST, (1, 1, 1), get).doc(
        "string",
        "1.0.0",
        "Get the value of a key",
        "O(1)",
    ),
    Cmd::new("set", -3, WRITE | DENYOOM, (1, 1, 1), set).doc(
        "string",
        "1.0.0",
        "Set the string value of a key",
        "O(1)",
    ),
    Cmd::new("setnx", 3, WRITE | DENYOOM | FAST, (1, 1, 1), setnx).doc(
        "string",
        "1.0.0",
        "Set the value of a key, only if the key does not exist",
        "O(1)",
    ),
    Cmd::new("setex", 4, WRITE | DENYOOM, (1, 1, 1), setex).doc(
        "string",
        "2.0.0",
        "Set the value and expiration of a key",
        "O(1)",
    ),
    Cmd::new("psetex", 4, WRITE | DENYOOM, (1, 1, 1), psetex).doc(
        "string",
        "2.6.0",
        "Set the value and expiration in milliseconds of a key",
        "O(1)",
    ),
    Cmd::new("getset", 3, WRITE | DENYOOM | FAST, (1, 1, 1), getset).doc(
        "string",
        "1.0.0",
        "Set the string value of a key and return its old value",
        "O(1)",
    ),
    Cmd::new("getdel", 2, WRITE | FAST, (1, 1, 1), getdel).doc(
        "string",
        "6.2.0",
        "Get the value of a key and delete the key",
        "O(1)",
    ),
    Cmd::new("getex", -2, WRITE | FAST, (1, 1, 1), getex).doc(
        "string",
        "6.2.0",
        "Get the value of a key and optionally set its expiration",
        "O(1)",
    ),
    Cmd::new("mget", -2, READONLY | FAST, (1, -1, 1), mget).doc(
        "string",
        "1.0.0",
        "Get the values of all the given keys",
        "O(N) where N is the number of keys to retrieve.",
    ),
    Cmd::new("mset", -3, WRITE | DENYOOM, (1, -1, 2), mset).doc(
        "string",
        "1.0.1",
        "Set multiple keys to multiple values",
        "O(N) where N is the number of keys to set.",
    ),
    Cmd::new("msetnx", -3, WRITE | DENYOOM, (1, -1, 2), msetnx).doc(
        "string",
        "1.0.1",
        "Set multiple keys to multiple values, only if none of the keys exist",
        "O(N) where N is the number of keys to set.",
    ),
    Cmd::new("append", 3, WRITE | DENYOOM | FAST, (1, 1, 1), append).doc(
        "string",
        "2.0.0",
        "Append a value to a key",
        "O(1). The amortized time complexity is O(1) assuming the appended value is small and the \
         already present value is of any size, since the dynamic string library used by Redis will \
         double the free space available on every reallocation.",
    ),
    Cmd::new("strlen", 2, READONLY | FAST, (1, 1, 1), strlen).doc(
        "string",
        "2.2.0",
        "Get the length of the value stored in a key",
        "O(1)",
    ),
    Cmd::new("getrange", 4, READONLY, (1, 1, 1), getrange).doc(
        "string",
        "2.4.0",
        "Get a substring of the string stored at a key",
        RANGE_COMPLEXITY,
    ),
    Cmd::new("setrange", 4, WRITE | DENYOOM, (1, 1, 1), setrange).doc(
        "string",
        "2.2.0",
        "Overwrite part of a string at key starting at the specified offset",
        "O(1), not counting the time taken to copy the new string in place. Usually, this string is \
         very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being \
         the length of the value argument.",
    ),
    Cmd::new("substr", 4, READONLY, (1, 1, 1), getrange).doc(
        "string",
        "1.0.0",
        "Get a substring of the string stored at a key",
        RANGE_COMPLEXITY,
    ),
    Cmd::new("incr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), incr).doc(
        "string",
        "1.0.0",
        "Increment the integer value of a key by one",
        "O(1)",
    ),
    Cmd::new("decr", 2, WRITE | DENYOOM | FAST, (1, 1, 1), decr).doc(
        "string",
        "1.0.0",
        "Decrement the integer value of a key by one",
        "O(1)",
    ),
    Cmd::new("incrby", 3, WRITE | DENYOOM | FAST, (1, 1, 1), incrby).doc(
        "string",
        "1.0.0",
        "Increment the integer value of a key by the given amount",
        "O(1)",
    ),
    Cmd::new("decrby", 3, WRITE | DENYOOM | FAST, (1, 1, 1), decrby).doc(
        "string",
        "1.0.0",
        "Decrement the integer value of a key by the given number",
        "O(1)",
    ),
    Cmd::new("incrbyfloat", 3, WRITE | DENYOOM | FAST, (1, 1, 1), incrbyfloat).doc(
        "string",
        "2.6.0",
        "Increment the float value of a key by the given amount",
        "O(1)",
    ),
    Cmd::new("lcs", -3, READONLY, (1, 2, 1), lcs).doc(
        "string",
        "7.0.0",
        "Find longest common substring",
        "O(N*M) where N and M are the lengths of s1 and s2, respectively",
    ),
];

const RANGE_COMPLEXITY: &str = "O(N) where N is the length of the returned string. The complexity is \
     ultimately determined by the returned length, but because creating a substring from an existing \
     string is very cheap, it can be considered O(1) for small strings.";

const ERR_TOO_BIG: &str = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
const ERR_OFFSET: &str = "ERR offset is out of range";
const ERR_DECR_OVERFLOW: &str = "ERR decrement would overflow";
const ERR_NAN: &str = "ERR increment would produce NaN or Infinity";
const ERR_LCS_TYPE: &str = "ERR The specified keys must contain string values";
const ERR_LCS_IDX_LEN: &str = "ERR If you want both the length and indexes, please just use IDX.";
const ERR_LCS_MEM: &str =
    "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len";

/// Replies with a string value as a bulk; WRONGTYPE (before any byte is written) for other types.
fn reply_string(out: &mut Out, v: &Value) -> CmdResult {
    let mut tmp = [0u8; 20];
    match v.as_bytes(&mut tmp) {
        Some(b) => {
            out.bulk(b);
            Ok(())
        }
        None => err(ERR_WRONGTYPE),
    }
}

/// The integer a string value holds, read as Redis's `getLongLongFromObject` reads it.
fn int_value(v: &Value) -> Result<i64, Error> {
    if let Value::Int(n) = v {
        return Ok(*n);
    }
    let mut tmp = [0u8; 20];
    match v.as_bytes(&mut tmp) {
        Some(b) => parse_i64(b).ok_or_else(|| ERR_NOT_INT.into()),
        None => err(ERR_WRONGTYPE),
    }
}

/// Redis's `checkStringLength`: a string may not grow past proto-max-bulk-len.
fn check_len(ctx: &Ctx, size: u64, add: u64) -> CmdResult {
    if size.saturating_add(add) > ctx.st.cfg.proto_max_bulk_len {
        return err(ERR_TOO_BIG);
    }
    Ok(())
}

/// The expiry options of SET and GETEX.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expire {
    Ex,
    Px,
    ExAt,
    PxAt,
}

/// Options of SET and GETEX, collected as Redis's `parseExtendedStringArgumentsOrReply` does.
#[derive(Debug, Default)]
struct SetOpts<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    expire: Option<(Expire, &'a [u8])>,
}

/// Parses the options from `args[from]` on; `set` selects SET's options, otherwise GETEX's. As in
/// Redis, an option conflicting with one already seen is a syntax error, but repeating the same one is
/// allowed (a repeated expiry keeps the last value).
fn parse_opts<'a>(args: &Args<'a>, from: usize, set: bool) -> Result<SetOpts<'a>, Error> {
    let mut o = SetOpts::default();
    let mut i = from;
    while let Some(a) = args.get(i) {
        let next = args.get(i + 1);
        let kind = if eq_ci(a, b"ex") {
            Some(Expire::Ex)
        } else if eq_ci(a, b"px") {
            Some(Expire::Px)
        } else if eq_ci(a, b"exat") {
            Some(Expire::ExAt)
        } else if eq_ci(a, b"pxat") {
            Some(Expire::PxAt)
        } else {
            None
        };
        if let Some(kind) = kind {
            let same = o.expire.is_none_or(|(k, _)| k == kind);
            match next {
                Some(v) if same && !o.keepttl && !o.persist => {
                    o.expire = Some((kind, v));
                    i += 1;
                }
                _ => return err(ERR_SYNTAX),
            }
        } else if set && eq_ci(a, b"nx") && !o.xx {
            o.nx = true;
        } else if set && eq_ci(a, b"xx") && !o.nx {
            o.xx = true;
        } else if set && eq_ci(a, b"get") {
            o.get = true;
        } else if set && eq_ci(a, b"keepttl") && o.expire.is_none() {
            o.keepttl = true;
        } else if !set && eq_ci(a, b"persist") && o.expire.is_none() {
            o.persist = true;
        } else {
            return err(ERR_SYNTAX);
        }
        i += 1;
    }
    Ok(o)
}

/// The absolute deadline (unix ms) an expiry option asks for; `bad` is the command's
/// "invalid expire time" error. Zero, negative and overflowing times are refused as Redis refuses them.
fn deadline(kind: Expire, v: &[u8], now: u64, bad: &'static str) -> Result<u64, Error> {
    let n = parse_i64(v).ok_or(ERR_NOT_INT)?;
    let secs = matches!(kind, Expire::Ex | Expire::ExAt);
    if n <= 0 || (secs && n > i64::MAX / 1000) {
        return err(bad);
    }
    let ms = if secs { n * 1000 } else { n };
    let at = match kind {
        Expire::Ex | Expire::Px => ms.checked_add(now as i64),
        Expire::ExAt | Expire::PxAt => Some(ms),
    };
    match at {
        Some(at) if at > 0 => Ok(at as u64),
        _ => err(bad),
    }
}

/// The worker behind SET, SETNX, SETEX, PSETEX and GETSET. `bad_expire` is the command's
/// invalid-expire-time error; `int_reply` makes it answer `:1`/`:0` (SETNX) instead of `+OK`/null.
fn set_generic(
    ctx: &mut Ctx,
    key: &[u8],
    val: &[u8],
    o: &SetOpts,
    bad_expire: &'static str,
    int_reply: bool,
) -> CmdResult {
    let now = ctx.st.now;
    let at = match o.expire {
        Some((kind, v)) => deadline(kind, v, now, bad_expire)?,
        None => 0,
    };
    let found = if o.get {
        read_lookup(ctx, key)
    } else {
        ctx.st.dbs[ctx.db].lookup(key, now)
    };
    let db = &mut ctx.st.dbs[ctx.db];
    if o.get {
        // The old value is the reply, so it is checked (WRONGTYPE sets nothing) and sent first.
        match found {
            Some(i) => reply_string(ctx.out, &db.entry(i).val)?,
            None => ctx.out.null(),
        }
    }
    if (o.nx && found.is_some()) || (o.xx && found.is_none()) {
        if !o.get {
            if int_reply {
                ctx.out.int(0);
            } else {
                ctx.out.null();
            }
        }
        return Ok(());
    }
    let v = Value::from_bytes(val);
    let i = match found {
        Some(i) => {
            if !o.keepttl {
                db.set_expire(i, 0);
            }
            let e = db.entry_mut(i);
            e.val = v;
            e.unshared = false;
            i
        }
        None => db.insert_new(key, v, now),
    };
    // Redis counts one per SET that stores, even a value equal to the old one.
    ctx.dirty = Some(1);
    notify(ctx, STRING, "set", key);
    if at != 0 {
        ctx.st.dbs[ctx.db].set_expire(i, at);
        // Replicas get the deadline as an absolute PXAT, as Redis propagates it (rewritten even when the
        // client gave PXAT itself).
        let mut tmp = [0u8; 20];
        let ms = crate::util::fmt_i64(at as i64, &mut tmp);
        ctx.prop = super::repl::Propagate::args([&b"SET"[..], key, val, b"PXAT", ms]);
        notify(ctx, GENERIC, "expire", key);
    }
    if !o.get {
        if int_reply {
            ctx.out.int(1);
        } else {
            ctx.out.ok();
        }
    }
    Ok(())
}

/// GET key
pub fn get(ctx: &mut Ctx, args: &Args) -> CmdResult {
    match read_lookup(ctx, &args[1]) {
        None => {
            ctx.out.null();
            Ok(())
        }
        Some(i) => reply_string(ctx.out, &ctx.st.dbs[ctx.db].entry(i).val),
    }
}

/// SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds |
/// PXAT unix-time-milliseconds | KEEPTTL]
pub fn set(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let o = parse_opts(args, 3, true)?;
    set_generic(
        ctx,
        &args[1],
        &args[2],
        &o,
        "ERR invalid expire time in 'set' command",
        false,
    )
}

/// SETNX key value
pub fn setnx(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let o = SetOpts {
        nx: true,
        ..SetOpts::default()
    };
    set_generic(ctx, &args[1], &args[2], &o, "", true)
}

/// SETEX key seconds value
pub fn setex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let o = SetOpts {
        expire: Some((Expire::Ex, &args[2])),
        ..SetOpts::default()
    };
    let bad = "ERR invalid expire time in 'setex' command";
    set_generic(ctx, &args[1], &args[3], &o, bad, false)
}

/// PSETEX key milliseconds value
pub fn psetex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let o = SetOpts {
        expire: Some((Expire::Px, &args[2])),
        ..SetOpts::default()
    };
    let bad = "ERR invalid expire time in 'psetex' command";
    set_generic(ctx, &args[1], &args[3], &o, bad, false)
}

/// GETSET key value
pub fn getset(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let o = SetOpts {
        get: true,
        ..SetOpts::default()
    };
    set_generic(ctx, &args[1], &args[2], &o, "", false)
}

/// GETDEL key
pub fn getdel(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let Some(i) = read_lookup(ctx, &args[1]) else {
        ctx.out.null();
        return Ok(());
    };
    let db = &mut ctx.st.dbs[ctx.db];
    reply_string(ctx.out, &db.entry(i).val)?;
    db.remove_at(i);
    ctx.dirty = Some(1);
    ctx.prop = super::repl::Propagate::args([&b"DEL"[..], &args[1]]);
    notify(ctx, GENERIC, "del", &args[1]);
    Ok(())
}

/// GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds | PXAT unix-time-milliseconds |
/// PERSIST]
pub fn getex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let o = parse_opts(args, 2, false)?;
    // A missing key answers null before the expiry is even parsed, as in Redis.
    let Some(i) = read_lookup(ctx, &args[1]) else {
        ctx.out.null();
        return Ok(());
    };
    let now = ctx.st.now;
    let db = &mut ctx.st.dbs[ctx.db];
    if !db.entry(i).val.is_string() {
        return err(ERR_WRONGTYPE);
    }
    let at = match o.expire {
        Some((kind, v)) => deadline(kind, v, now, "ERR invalid expire time in 'getex' command")?,
        None => 0,
    };
    reply_string(ctx.out, &db.entry(i).val)?;
    use super::repl::Propagate;
    let mut tmp = [0u8; 20];
    match o.expire {
        // An absolute time already reached deletes the key, as Redis's checkAlreadyExpired does.
        Some((Expire::ExAt | Expire::PxAt, _)) if at <= now => {
            db.remove_at(i);
            ctx.dirty = Some(1);
            ctx.prop = Propagate::args([&b"DEL"[..], &args[1]]);
            notify(ctx, GENERIC, "del", &args[1]);
        }
        Some(_) => {
            db.set_expire(i, at);
            // Redis counts a new deadline even when it equals the old one.
            ctx.dirty = Some(1);
            let ms = crate::util::fmt_i64(at as i64, &mut tmp);
            ctx.prop = Propagate::args([&b"PEXPIREAT"[..], &args[1], ms]);
            notify(ctx, GENERIC, "expire", &args[1]);
        }
        // Only a deadline really removed is news.
        None if o.persist && db.entry(i).expire != 0 => {
            db.set_expire(i, 0);
            ctx.dirty = Some(1);
            ctx.prop = Propagate::args([&b"PERSIST"[..], &args[1]]);
            notify(ctx, GENERIC, "persist", &args[1]);
        }
        None => {}
    }
    Ok(())
}

/// MGET key [key ...]
pub fn mget(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ctx.out.array(args.len() - 1);
    for key in args.from(1) {
        match read_lookup(ctx, key) {
            Some(i) => {
                // Values of other types read as null here, not as an error.
                if reply_string(ctx.out, &ctx.st.dbs[ctx.db].entry(i).val).is_err() {
                    ctx.out.null();
                }
            }
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// The worker behind MSET and MSETNX.
fn mset_generic(ctx: &mut Ctx, args: &Args, nx: bool) -> CmdResult {
    if args.len().is_multiple_of(2) {
        return err(if nx {
            "ERR wrong number of arguments for 'msetnx' command"
        } else {
            "ERR wrong number of arguments for 'mset' command"
        });
    }
    let now = ctx.st.now;
    let db = &mut ctx.st.dbs[ctx.db];
    if nx && args.from(1).step_by(2).any(|k| db.lookup(k, now).is_some()) {
        ctx.out.int(0);
        return Ok(());
    }
    let mut it = args.from(1);
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        ctx.st.dbs[ctx.db].set(k, Value::from_bytes(v), false, now);
        notify(ctx, STRING, "set", k);
    }
    // Redis counts every pair, a key given twice included.
    ctx.dirty = Some((args.len() / 2) as u64);
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

/// MSET key value [key value ...]
pub fn mset(ctx: &mut Ctx, args: &Args) -> CmdResult {
    mset_generic(ctx, args, false)
}

/// MSETNX key value [key value ...]
pub fn msetnx(ctx: &mut Ctx, args: &Args) -> CmdResult {
    mset_generic(ctx, args, true)
}

/// APPEND key value
pub fn append(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (key, add) = (&args[1], &args[2]);
    let now = ctx.st.now;
    let Some(i) = ctx.st.dbs[ctx.db].lookup(key, now) else {
        // A new key stores the argument as SET would (so "APPEND k 12" is int-encoded).
        ctx.st.dbs[ctx.db].insert_new(key, Value::from_bytes(add), now);
        ctx.dirty = Some(1);
        ctx.out.int(add.len() as i64);
        notify(ctx, STRING, "append", key);
        return Ok(());
    };
    let mut tmp = [0u8; 20];
    let cur = match ctx.st.dbs[ctx.db].entry(i).val.as_bytes(&mut tmp) {
        Some(b) => b.len(),
        None => return err(ERR_WRONGTYPE),
    };
    check_len(ctx, cur as u64, add.len() as u64)?;
    let e = ctx.st.dbs[ctx.db].entry_mut(i);
    let mut s = Value::take_string(&mut e.val);
    // One exact reallocation, so the boxed slice keeps no spare capacity.
    s.reserve_exact(add.len());
    s.extend_from_slice(add);
    let len = s.len();
    e.val = Value::Str(Bytes::raw(s));
    // Redis counts an APPEND even of an empty string.
    ctx.dirty = Some(1);
    ctx.out.int(len as i64);
    notify(ctx, STRING, "append", key);
    Ok(())
}

/// STRLEN key
pub fn strlen(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let Some(i) = read_lookup(ctx, &args[1]) else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut tmp = [0u8; 20];
    match ctx.st.dbs[ctx.db].entry(i).val.as_bytes(&mut tmp) {
        Some(b) => {
            ctx.out.int(b.len() as i64);
            Ok(())
        }
        None => err(ERR_WRONGTYPE),
    }
}

/// GETRANGE key start end (and SUBSTR key start end)
pub fn getrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut start = int_arg(args, 2)?;
    let mut end = int_arg(args, 3)?;
    let Some(i) = read_lookup(ctx, &args[1]) else {
        ctx.out.bulk(b"");
        return Ok(());
    };
    let mut tmp = [0u8; 20];
    let Some(s) = ctx.st.dbs[ctx.db].entry(i).val.as_bytes(&mut tmp) else {
        return err(ERR_WRONGTYPE);
    };
    let len = s.len() as i64;
    if start < 0 && end < 0 && start > end {
        ctx.out.bulk(b"");
        return Ok(());
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0).min(len - 1);
    if start > end || len == 0 {
        ctx.out.bulk(b"");
    } else {
        ctx.out.bulk(&s[start as usize..=end as usize]);
    }
    Ok(())
}

/// SETRANGE key offset value
pub fn setrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (key, val) = (&args[1], &args[3]);
    let off = int_arg(args, 2)?;
    if off < 0 {
        return err(ERR_OFFSET);
    }
    let now = ctx.st.now;
    let found = ctx.st.dbs[ctx.db].lookup(key, now);
    let cur = match found {
        None => 0,
        Some(i) => {
            let mut tmp = [0u8; 20];
            match ctx.st.dbs[ctx.db].entry(i).val.as_bytes(&mut tmp) {
                Some(b) => b.len(),
                None => return err(ERR_WRONGTYPE),
            }
        }
    };
    if val.is_empty() {
        // Writing nothing changes nothing, not even the encoding, and creates no key.
        ctx.out.int(cur as i64);
        return Ok(());
    }
    check_len(ctx, off as u64, val.len() as u64)?;
    // check_len bounds off + len by proto-max-bulk-len, so these fit in memory sizes.
    let (off, end) = (off as usize, off as usize + val.len());
    let db = &mut ctx.st.dbs[ctx.db];
    let mut s = match found {
        Some(i) => Value::take_string(&mut db.entry_mut(i).val),
        None => Vec::new(),
    };
    if s.len() < end {
        s.reserve_exact(end - s.len());
        s.resize(end, 0);
    }
    s[off..end].copy_from_slice(val);
    let len = s.len();
    let v = Value::Str(Bytes::raw(s));
    match found {
        Some(i) => db.entry_mut(i).val = v,
        None => {
            db.insert_new(key, v, now);
        }
    }
    // Redis counts a write of the bytes already there too.
    ctx.dirty = Some(1);
    ctx.out.int(len as i64);
    notify(ctx, STRING, "setrange", key);
    Ok(())
}

/// The worker behind INCR, DECR, INCRBY and DECRBY: adds `by` to the integer at `key` (0 if missing),
/// keeping its TTL, and stores the result integer-encoded.
fn incr_by(ctx: &mut Ctx, key: &[u8], by: i64) -> CmdResult {
    let now = ctx.st.now;
    let db = &mut ctx.st.dbs[ctx.db];
    let n = match db.lookup(key, now) {
        Some(i) => {
            let e = db.entry_mut(i);
            let n = int_value(&e.val)?.checked_add(by).ok_or(ERR_OVERFLOW)?;
            e.val = Value::Int(n);
            // Redis reuses the object only outside the shared range; inside it the result is shared.
            e.unshared = false;
            n
        }
        None => {
            db.insert_new(key, Value::Int(by), now);
            by
        }
    };
    // Redis counts INCRBY 0 too.
    ctx.dirty = Some(1);
    ctx.out.int(n);
    notify(ctx, STRING, "incrby", key);
    Ok(())
}

/// INCR key
pub fn incr(ctx: &mut Ctx, args: &Args) -> CmdResult {
    incr_by(ctx, &args[1], 1)
}

/// DECR key
pub fn decr(ctx: &mut Ctx, args: &Args) -> CmdResult {
    incr_by(ctx, &args[1], -1)
}

/// INCRBY key increment
pub fn incrby(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let by = int_arg(args, 2)?;
    incr_by(ctx, &args[1], by)
}

/// DECRBY key decrement
pub fn decrby(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let by = int_arg(args, 2)?;
    if by == i64::MIN {
        return err(ERR_DECR_OVERFLOW);
    }
    incr_by(ctx, &args[1], -by)
}

mod ffi {
    extern "C" {
        /// See src/ffi/longdouble.c: the sum's text length, or -1 (not a float), -2 (NaN or infinite),
        /// -3 (does not fit `out`).
        pub fn ferrokv_incrbyfloat(
            cur: *const u8,
            cur_len: usize,
            has_cur: i32,
            incr: *const u8,
            incr_len: usize,
            out: *mut u8,
            out_cap: usize,
        ) -> std::ffi::c_long;
    }
}

/// Room for any INCRBYFLOAT result: Redis's MAX_LONG_DOUBLE_CHARS (the shim refuses inputs as long).
pub(crate) const LD_CHARS: usize = 5 * 1024;

/// Redis's INCRBYFLOAT arithmetic: `cur` (absent = 0) plus `incr` in C `long double`, printed as
/// `%.17Lf` with trailing zeros removed. Returns the length of the text written to `out`.
pub(crate) fn add_long_double(
    cur: Option<&[u8]>,
    incr: &[u8],
    out: &mut [u8; LD_CHARS],
) -> Result<usize, Error> {
    let (cp, cl) = cur.map_or((std::ptr::null(), 0), |c| (c.as_ptr(), c.len()));
    // SAFETY: the pointers and lengths describe live slices; the shim reads at most `len` bytes of each
    // (copying them into its own NUL-terminated buffer) and writes at most `out_cap` bytes into `out`.
    let n = unsafe {
        ffi::ferrokv_incrbyfloat(
            cp,
            cl,
            cur.is_some() as i32,
            incr.as_ptr(),
            incr.len(),
            out.as_mut_ptr(),
            out.len(),
        )
    };
    match n {
        -2 => err(ERR_NAN),
        n if n > 0 && (n as usize) < LD_CHARS => Ok(n as usize),
        _ => err(ERR_NOT_FLOAT),
    }
}

/// INCRBYFLOAT key increment
pub fn incrbyfloat(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = &args[1];
    let now = ctx.st.now;
    let db = &mut ctx.st.dbs[ctx.db];
    let found = db.lookup(key, now);
    let mut out = [0u8; LD_CHARS];
    let mut tmp = [0u8; 20];
    let cur = match found {
        Some(i) => match db.entry(i).val.as_bytes(&mut tmp) {
            Some(b) => Some(b),
            None => return err(ERR_WRONGTYPE),
        },
        None => None,
    };
    let n = add_long_double(cur, &args[2], &mut out)?;
    let text = &out[..n];
    // Stored as the text Redis stores, never integer-encoded, and keeping the key's TTL.
    match found {
        Some(i) => db.entry_mut(i).val = Value::string(text),
        None => {
            db.insert_new(key, Value::string(text), now);
        }
    }
    ctx.dirty = Some(1);
    ctx.out.bulk(text);
    // Replicas get the result, not the increment, so float rounding cannot make them diverge.
    ctx.prop = super::repl::Propagate::args([&b"SET"[..], key, text, b"KEEPTTL"]);
    notify(ctx, STRING, "incrbyfloat", key);
    Ok(())
}

/// One common run reported by LCS IDX: ranges in `a` and in `b` (inclusive), and its length.
struct Run {
    a: (u32, u32),
    b: (u32, u32),
    len: u32,
}

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]
pub fn lcs(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let ia = read_lookup(ctx, &args[1]);
    let ib = read_lookup(ctx, &args[2]);
    let db = &ctx.st.dbs[ctx.db];
    let (mut ta, mut tb) = ([0u8; 20], [0u8; 20]);
    let a: &[u8] = match ia {
        Some(i) => db.entry(i).val.as_bytes(&mut ta).ok_or(ERR_LCS_TYPE)?,
        None => b"",
    };
    let b: &[u8] = match ib {
        Some(i) => db.entry(i).val.as_bytes(&mut tb).ok_or(ERR_LCS_TYPE)?,
        None => b"",
    };
    let (mut getlen, mut getidx, mut withmatchlen, mut minmatchlen) = (false, false, false, 0i64);
    let mut j = 3;
    while let Some(opt) = args.get(j) {
        if eq_ci(opt, b"idx") {
            getidx = true;
        } else if eq_ci(opt, b"len") {
            getlen = true;
        } else if eq_ci(opt, b"withmatchlen") {
            withmatchlen = true;
        } else if eq_ci(opt, b"minmatchlen") && j + 1 < args.len() {
            minmatchlen = int_arg(args, j + 1)?.max(0);
            j += 1;
        } else {
            return err(ERR_SYNTAX);
        }
        j += 1;
    }
    if getidx && getlen {
        return err(ERR_LCS_IDX_LEN);
    }
    if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
        return err("ERR String too long for LCS");
    }
    // Redis refuses when its table of (|a|+1)*(|b|+1) u32 cells would exceed proto-max-bulk-len; the
    // same limit applies here although the table below is 32 times smaller.
    let cells = (a.len() as u64 + 1) * (b.len() as u64 + 1);
    if cells.saturating_mul(4) > ctx.st.cfg.proto_max_bulk_len {
        return err(ERR_LCS_MEM);
    }
    let computelcs = getidx || !getlen;
    let (total, dirs) = lcs_table(a, b, computelcs);

    // Walk back from the end exactly as Redis does, so the same LCS and the same runs come out.
    let mut result = vec![0u8; if computelcs { total as usize } else { 0 }];
    let mut runs: Vec<Run> = Vec::new();
    let (alen, blen) = (a.len() as u32, b.len() as u32);
    let (mut i, mut j, mut idx) = (alen, blen, total);
    // arange_start == alen means "no run open".
    let (mut as_, mut ae, mut bs, mut be) = (alen, 0u32, 0u32, 0u32);
    while computelcs && i > 0 && j > 0 {
        let mut emit = false;
        if a[i as usize - 1] == b[j as usize - 1] {
            result[idx as usize - 1] = a[i as usize - 1];
            if as_ == alen {
                (as_, ae, bs, be) = (i - 1, i - 1, j - 1, j - 1);
            } else if as_ == i && bs == j {
                as_ -= 1;
                bs -= 1;
            } else {
                emit = true;
            }
            if as_ == 0 || bs == 0 {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            let up = (i as usize - 1) * blen as usize + (j as usize - 1);
            if dirs[up / 64] >> (up % 64) & 1 == 1 {
                i -= 1;
            } else {
                j -= 1;
            }
            if as_ != alen {
                emit = true;
            }
        }
        if emit {
            let len = ae - as_ + 1;
            if getidx && (minmatchlen == 0 || len as i64 >= minmatchlen) {
                runs.push(Run {
                    a: (as_, ae),
                    b: (bs, be),
                    len,
                });
            }
            as_ = alen;
        }
    }

    let out = &mut *ctx.out;
    if getidx {
        out.map(2);
        out.bulk(b"matches");
        out.array(runs.len());
        for r in &runs {
            out.array(2 + withmatchlen as usize);
            out.array(2);
            out.int(r.a.0 as i64);
            out.int(r.a.1 as i64);
            out.array(2);
            out.int(r.b.0 as i64);
            out.int(r.b.1 as i64);
            if withmatchlen {
                out.int(r.len as i64);
            }
        }
        out.bulk(b"len");
        out.int(total as i64);
    } else if getlen {
        out.int(total as i64);
    } else {
        out.bulk(&result);
    }
    Ok(())
}

/// The LCS length of `a` and `b` and, if `dirs` is wanted, one bit per cell (i, j) of the classic table
/// telling the walk back which way to go where the bytes differ: set when LCS(i-1, j) > LCS(i, j-1),
/// which is the only question Redis's walk asks of its table. Two rolling rows replace the rest.
fn lcs_table(a: &[u8], b: &[u8], dirs: bool) -> (u32, Vec<u64>) {
    let blen = b.len();
    let mut bits = if dirs {
        vec![0u64; (a.len() * blen).div_ceil(64)]
    } else {
        Vec::new()
    };
    let mut prev = vec![0u32; blen + 1];
    let mut cur = vec![0u32; blen + 1];
    for (i, &ca) in a.iter().enumerate() {
        let base = i * blen;
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = if ca == cb {
                prev[j] + 1
            } else {
                let (up, left) = (prev[j + 1], cur[j]);
                if up > left {
                    if dirs {
                        let k = base + j;
                        bits[k / 64] |= 1 << (k % 64);
                    }
                    up
                } else {
                    left
                }
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    (prev[blen], bits)
}
