//! Bit operations on strings: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO. Bits are
//! numbered from the most significant bit of the first byte, as in Redis; reading past the end reads
//! zeros, writing past it grows the string with zero bytes. A string these commands write is left in the
//! `raw` encoding whatever its length (Redis unshares it before writing), and an integer-encoded string is
//! read through its decimal form.

use super::notify::{notify, GENERIC, STRING};
use super::read_lookup;
use super::repl::Propagate;
use super::{
    err, Args, Cmd, CmdResult, Ctx, Error, DENYOOM, ERR_NOT_INT, ERR_SYNTAX, ERR_WRONGTYPE, FAST,
    READONLY, WRITE,
};
use crate::protocol::Out;
use crate::server::State;
use crate::store::{Bytes, Db, Value};
use crate::util::{eq_ci, parse_i64};

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("setbit", 4, WRITE | DENYOOM, (1, 1, 1), setbit).doc(
        "bitmap",
        "2.2.0",
        "Sets or clears the bit at offset in the string value stored at key",
        "O(1)",
    ),
    Cmd::new("getbit", 3, READONLY | FAST, (1, 1, 1), getbit).doc(
        "bitmap",
        "2.2.0",
        "Returns the bit value at offset in the string value stored at key",
        "O(1)",
    ),
    Cmd::new("bitcount", -2, READONLY, (1, 1, 1), bitcount).doc(
        "bitmap",
        "2.6.0",
        "Count set bits in a string",
        "O(N)",
    ),
    Cmd::new("bitpos", -3, READONLY, (1, 1, 1), bitpos).doc(
        "bitmap",
        "2.8.7",
        "Find first bit set or clear in a string",
        "O(N)",
    ),
    Cmd::new("bitop", -4, WRITE | DENYOOM, (2, -1, 1), bitop).doc(
        "bitmap",
        "2.6.0",
        "Perform bitwise operations between strings",
        "O(N)",
    ),
    Cmd::new("bitfield", -2, WRITE | DENYOOM, (1, 1, 1), bitfield).doc(
        "bitmap",
        "3.2.0",
        "Perform arbitrary bitfield integer operations on strings",
        "O(1) for each subcommand specified",
    ),
    Cmd::new("bitfield_ro", -2, READONLY | FAST, (1, 1, 1), bitfield_ro).doc(
        "bitmap",
        "6.0.0",
        "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD",
        "O(1) for each subcommand specified",
    ),
];

const ERR_BIT_OFFSET: &str = "ERR bit offset is not an integer or out of range";
const ERR_BIT_VALUE: &str = "ERR bit is not an integer or out of range";
const ERR_BIT_ARG: &str = "ERR The bit argument must be 1 or 0.";
const ERR_BITOP_NOT: &str = "ERR BITOP NOT must be called with a single source key.";
const ERR_BF_TYPE: &str =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.";
const ERR_BF_OVERFLOW: &str = "ERR Invalid OVERFLOW type specified";
const ERR_BF_RO: &str = "ERR BITFIELD_RO only supports the GET subcommand";

/// The bytes before the first NUL: Redis compares keywords with `strcasecmp`, which stops there.
fn c_str(s: &[u8]) -> &[u8] {
    &s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())]
}

/// Redis's `getBitOffsetFromArgument`: a non-negative bit offset whose byte lies below
/// proto-max-bulk-len; with `hash_bits` set, `#n` means the n-th field of that width.
fn bit_offset(max_bulk: u64, arg: &[u8], hash_bits: u32) -> Result<u64, Error> {
    let (digits, mul) = match arg.first() {
        Some(b'#') if hash_bits > 0 => (&arg[1..], hash_bits as i64),
        _ => (arg, 1),
    };
    let off = parse_i64(digits)
        .map(|n| n.wrapping_mul(mul))
        .ok_or(ERR_BIT_OFFSET)?;
    if off < 0 || (off >> 3) as u64 >= max_bulk {
        return err(ERR_BIT_OFFSET);
    }
    Ok(off as u64)
}

/// The string value at arena index `i` (an integer in its decimal form), or WRONGTYPE.
fn string_at<'a>(db: &'a Db, i: u32, tmp: &'a mut [u8; 20]) -> Result<&'a [u8], Error> {
    db.entry(i)
        .val
        .as_bytes(tmp)
        .ok_or_else(|| ERR_WRONGTYPE.into())
}

/// Redis's `lookupStringForBitCommand`: the string at `key`, created or zero-padded so bit `maxbit`
/// exists, handed to `f` as a buffer (with whether it was just created or grown) and stored back raw.
fn with_string_for_write<R>(
    st: &mut State,
    db: usize,
    key: &[u8],
    maxbit: u64,
    f: impl FnOnce(&mut Vec<u8>, bool) -> R,
) -> Result<R, Error> {
    let now = st.now;
    let need = (maxbit >> 3) as usize + 1;
    let db = &mut st.dbs[db];
    match db.get(key, now) {
        Some(e) => {
            if !e.val.is_string() {
                return err(ERR_WRONGTYPE);
            }
            let mut buf = Value::take_string(&mut e.val);
            let grown = buf.len() < need;
            if grown {
                buf.resize(need, 0);
            }
            let r = f(&mut buf, grown);
            e.val = Value::Str(Bytes::raw(buf));
            Ok(r)
        }
        None => {
            let mut buf = vec![0; need];
            let r = f(&mut buf, true);
            db.insert_new(key, Value::Str(Bytes::raw(buf)), now);
            Ok(r)
        }
    }
}

/// SETBIT key offset value
fn setbit(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let off = bit_offset(ctx.st.cfg.proto_max_bulk_len, &args[2], 0)?;
    let on = match parse_i64(&args[3]) {
        Some(v @ (0 | 1)) => v as u8,
        _ => return err(ERR_BIT_VALUE),
    };
    let (old, changed) = with_string_for_write(ctx.st, ctx.db, &args[1], off, |buf, grown| {
        let byte = (off >> 3) as usize;
        let shift = 7 - (off & 7) as u8;
        let old = (buf[byte] >> shift) & 1;
        buf[byte] = (buf[byte] & !(1 << shift)) | (on << shift);
        (old, grown || old != on)
    })?;
    ctx.dirty = Some(changed as u64);
    // As in Redis, a SETBIT that changes nothing is not propagated.
    if changed {
        notify(ctx, STRING, "setbit", &args[1]);
    } else {
        ctx.prop = Propagate::Nothing;
    }
    ctx.out.int(old as i64);
    Ok(())
}

/// GETBIT key offset
fn getbit(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let off = bit_offset(ctx.st.cfg.proto_max_bulk_len, &args[2], 0)?;
    let Some(i) = read_lookup(ctx, &args[1]) else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut tmp = [0u8; 20];
    let s = string_at(&ctx.st.dbs[ctx.db], i, &mut tmp)?;
    let bit = s
        .get((off >> 3) as usize)
        .map_or(0, |b| (b >> (7 - (off & 7))) & 1);
    ctx.out.int(bit as i64);
    Ok(())
}

/// Set bits in `p`, eight bytes at a time.
fn popcount(p: &[u8]) -> u64 {
    let mut chunks = p.chunks_exact(8);
    let mut n: u64 = 0;
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        n += u64::from_ne_bytes(w).count_ones() as u64;
    }
    n + chunks
        .remainder()
        .iter()
        .map(|b| b.count_ones() as u64)
        .sum::<u64>()
}

/// Redis's `redisBitpos`: the first set (or clear) bit of `p`; for a clear bit in a string of ones,
/// the bit just past the end; for a set bit in a string of zeros, -1.
fn first_bit(p: &[u8], bit: bool) -> i64 {
    let skip = if bit { 0x00 } else { 0xff };
    match p.iter().position(|&b| b != skip) {
        Some(i) => {
            let b = if bit { p[i] } else { !p[i] };
            i as i64 * 8 + b.leading_zeros() as i64
        }
        None if bit => -1,
        None => p.len() as i64 * 8,
    }
}

/// A BIT or BYTE unit argument.
fn is_bit_unit(arg: &[u8]) -> Result<bool, Error> {
    let a = c_str(arg);
    if eq_ci(a, b"bit") {
        Ok(true)
    } else if eq_ci(a, b"byte") {
        Ok(false)
    } else {
        err(ERR_SYNTAX)
    }
}

fn int_of(arg: &[u8]) -> Result<i64, Error> {
    parse_i64(arg).ok_or_else(|| ERR_NOT_INT.into())
}

/// Clamps a start..=end range (negative from the end) to `totlen` units, as BITCOUNT and BITPOS do.
fn clamp_range(mut start: i64, mut end: i64, totlen: i64) -> (i64, i64) {
    if start < 0 {
        start += totlen;
    }
    if end < 0 {
        end += totlen;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= totlen {
        end = totlen - 1;
    }
    (start, end)
}

/// The masks of the bits outside a bit range in its first and last bytes.
fn edge_masks(start: i64, end: i64) -> (u8, u8) {
    let first = !((1u16 << (8 - (start & 7))) - 1) as u8;
    let last = ((1u16 << (7 - (end & 7))) - 1) as u8;
    (first, last)
}

/// BITCOUNT key [start end [BYTE | BIT]]
fn bitcount(ctx: &mut Ctx, args: &Args) -> CmdResult {
    // Redis looks the key up first: a missing key is 0 whatever the other arguments say.
    let Some(i) = read_lookup(ctx, &args[1]) else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut tmp = [0u8; 20];
    let p = string_at(&ctx.st.dbs[ctx.db], i, &mut tmp)?;
    let strlen = p.len() as i64;
    let (mut first_mask, mut last_mask) = (0u8, 0u8);
    let (start, end) = match args.len() {
        2 => (0, strlen - 1),
        4 | 5 => {
            let start = int_of(&args[2])?;
            let end = int_of(&args[3])?;
            if start < 0 && end < 0 && start > end {
                ctx.out.int(0);
                return Ok(());
            }
            let isbit = match args.get(4) {
                Some(u) => is_bit_unit(u)?,
                None => false,
            };
            let totlen = if isbit { strlen << 3 } else { strlen };
            let (mut start, mut end) = clamp_range(start, end, totlen);
            if isbit && start <= end {
                (first_mask, last_mask) = edge_masks(start, end);
                start >>= 3;
                end >>= 3;
            }
            (start, end)
        }
        _ => return err(ERR_SYNTAX),
    };
    if start > end {
        ctx.out.int(0);
        return Ok(());
    }
    let (s, e) = (start as usize, end as usize);
    let mut count = popcount(&p[s..=e]);
    // Bits of the edge bytes outside a BIT range were counted above; take them back out.
    count -= (p[s] & first_mask).count_ones() as u64;
    count -= (p[e] & last_mask).count_ones() as u64;
    ctx.out.int(count as i64);
    Ok(())
}

/// BITPOS key bit [start [end [BYTE | BIT]]]
fn bitpos(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let bit = int_of(&args[2])?;
    if bit != 0 && bit != 1 {
        return err(ERR_BIT_ARG);
    }
    let bit = bit == 1;
    // A missing key is an endless run of zeros.
    let Some(i) = read_lookup(ctx, &args[1]) else {
        ctx.out.int(if bit { -1 } else { 0 });
        return Ok(());
    };
    let mut tmp = [0u8; 20];
    let p = string_at(&ctx.st.dbs[ctx.db], i, &mut tmp)?;
    let strlen = p.len() as i64;
    let (mut first_mask, mut last_mask) = (0u8, 0u8);
    let mut end_given = false;
    let (mut start, end) = match args.len() {
        3 => (0, strlen - 1),
        4..=6 => {
            let start = int_of(&args[3])?;
            let isbit = match args.get(5) {
                Some(u) => is_bit_unit(u)?,
                None => false,
            };
            let end = match args.get(4) {
                Some(e) => {
                    end_given = true;
                    int_of(e)?
                }
                None if isbit => (strlen << 3) + 7,
                None => strlen - 1,
            };
            let totlen = if isbit { strlen << 3 } else { strlen };
            let (mut start, mut end) = clamp_range(start, end, totlen);
            if isbit && start <= end {
                (first_mask, last_mask) = edge_masks(start, end);
                start >>= 3;
                end >>= 3;
            }
            (start, end)
        }
        _ => return err(ERR_SYNTAX),
    };
    if start > end {
        ctx.out.int(-1);
        return Ok(());
    }
    let mut bytes = end - start + 1;
    // Edge bytes of a BIT range have their outside bits forced to the value not searched for.
    let edge = |b: u8, mask: u8| if bit { b & !mask } else { b | mask };
    let pos = 'search: {
        if first_mask != 0 {
            let mut b = edge(p[start as usize], first_mask);
            if last_mask != 0 && bytes == 1 {
                b = edge(b, last_mask);
            }
            let pos = first_bit(&[b], bit);
            if bytes == 1 || (pos != -1 && pos != 8) {
                break 'search pos;
            }
            start += 1;
            bytes -= 1;
        }
        let whole = bytes - (last_mask != 0) as i64;
        if whole > 0 {
            let s = start as usize;
            let pos = first_bit(&p[s..s + whole as usize], bit);
            if bytes == whole || (pos != -1 && pos != whole << 3) {
                break 'search pos;
            }
            start += whole;
            bytes -= whole;
        }
        first_bit(&[edge(p[end as usize], last_mask)], bit)
    };
    // With an explicit end, the bits past the range are not zeros to be found.
    if end_given && !bit && pos == bytes << 3 {
        ctx.out.int(-1);
        return Ok(());
    }
    ctx.out
        .int(if pos != -1 { pos + (start << 3) } else { pos });
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// BITOP <AND | OR | XOR | NOT> destkey key [key ...]
fn bitop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let name = c_str(&args[1]);
    let op = if eq_ci(name, b"and") {
        BitOp::And
    } else if eq_ci(name, b"or") {
        BitOp::Or
    } else if eq_ci(name, b"xor") {
        BitOp::Xor
    } else if eq_ci(name, b"not") {
        BitOp::Not
    } else {
        return err(ERR_SYNTAX);
    };
    if op == BitOp::Not && args.len() != 4 {
        return err(ERR_BITOP_NOT);
    }
    let mut srcs: Vec<Option<u32>> = Vec::with_capacity(args.len() - 3);
    for key in args.from(3) {
        let found = read_lookup(ctx, key);
        if let Some(i) = found {
            if !ctx.st.dbs[ctx.db].entry(i).val.is_string() {
                return err(ERR_WRONGTYPE);
            }
        }
        srcs.push(found);
    }
    let db = &ctx.st.dbs[ctx.db];
    let maxlen = srcs
        .iter()
        .map(|&s| s.map_or(0, |i| string_len(&db.entry(i).val)))
        .max()
        .unwrap_or(0);
    let mut res = Vec::new();
    if maxlen > 0 {
        if let Some(i) = srcs[0] {
            let mut t = [0u8; 20];
            res.extend_from_slice(db.entry(i).val.as_bytes(&mut t).unwrap_or_default());
        }
        res.resize(maxlen, 0);
        if op == BitOp::Not {
            res.iter_mut().for_each(|b| *b = !*b);
        }
        for &s in &srcs[1..] {
            let Some(i) = s else {
                if op == BitOp::And {
                    res.fill(0);
                }
                continue;
            };
            let mut t = [0u8; 20];
            let b = db.entry(i).val.as_bytes(&mut t).unwrap_or_default();
            let n = b.len();
            match op {
                BitOp::And => {
                    res[..n].iter_mut().zip(b).for_each(|(r, x)| *r &= x);
                    res[n..].fill(0);
                }
                BitOp::Or => res[..n].iter_mut().zip(b).for_each(|(r, x)| *r |= x),
                BitOp::Xor => res[..n].iter_mut().zip(b).for_each(|(r, x)| *r ^= x),
                BitOp::Not => {}
            }
        }
    }
    let now = ctx.st.now;
    let db = &mut ctx.st.dbs[ctx.db];
    if maxlen > 0 {
        db.set(&args[2], Value::Str(Bytes::raw(res)), false, now);
        ctx.dirty = Some(1);
        notify(ctx, STRING, "set", &args[2]);
    } else if db.remove(&args[2], now) {
        ctx.dirty = Some(1);
        notify(ctx, GENERIC, "del", &args[2]);
    } else {
        ctx.dirty = Some(0);
    }
    ctx.out.int(maxlen as i64);
    Ok(())
}

/// Length of a string value, integers by their decimal form.
fn string_len(v: &Value) -> usize {
    let mut tmp = [0u8; 20];
    v.as_bytes(&mut tmp).map_or(0, <[u8]>::len)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldOp {
    Get,
    Set,
    IncrBy,
}

/// One BITFIELD operation, fully parsed.
#[derive(Clone, Copy)]
struct Field {
    op: FieldOp,
    offset: u64,
    bits: u32,
    signed: bool,
    /// SET's value or INCRBY's increment.
    arg: i64,
    overflow: Overflow,
}

/// Walks BITFIELD's arguments: each call returns the next operation (OVERFLOW only changes the mode of
/// those after it), or None at the end.
struct FieldParser<'a, 'b> {
    args: &'a Args<'b>,
    j: usize,
    overflow: Overflow,
    max_bulk: u64,
}

impl FieldParser<'_, '_> {
    fn next(&mut self) -> Option<Result<Field, Error>> {
        let args = self.args;
        loop {
            let j = self.j;
            if j >= args.len() {
                return None;
            }
            let rem = args.len() - j - 1;
            let sub = c_str(&args[j]);
            let op = if eq_ci(sub, b"get") && rem >= 2 {
                FieldOp::Get
            } else if eq_ci(sub, b"set") && rem >= 3 {
                FieldOp::Set
            } else if eq_ci(sub, b"incrby") && rem >= 3 {
                FieldOp::IncrBy
            } else if eq_ci(sub, b"overflow") && rem >= 1 {
                let mode = c_str(&args[j + 1]);
                self.overflow = if eq_ci(mode, b"wrap") {
                    Overflow::Wrap
                } else if eq_ci(mode, b"sat") {
                    Overflow::Sat
                } else if eq_ci(mode, b"fail") {
                    Overflow::Fail
                } else {
                    return Some(err(ERR_BF_OVERFLOW));
                };
                self.j += 2;
                continue;
            } else {
                return Some(err(ERR_SYNTAX));
            };
            return Some(self.field(op, j));
        }
    }

    fn field(&mut self, op: FieldOp, j: usize) -> Result<Field, Error> {
        let args = self.args;
        let (signed, bits) = field_type(&args[j + 1])?;
        let offset = bit_offset(self.max_bulk, &args[j + 2], bits)?;
        let arg = if op == FieldOp::Get {
            0
        } else {
            int_of(&args[j + 3])?
        };
        self.j = j + if op == FieldOp::Get { 3 } else { 4 };
        Ok(Field {
            op,
            offset,
            bits,
            signed,
            arg,
            overflow: self.overflow,
        })
    }
}

/// `i1`..`i64` or `u1`..`u63` (a u64 could not be replied as a signed integer).
fn field_type(arg: &[u8]) -> Result<(bool, u32), Error> {
    let signed = match arg.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return err(ERR_BF_TYPE),
    };
    match parse_i64(c_str(&arg[1..])) {
        Some(n) if n >= 1 && n <= if signed { 64 } else { 63 } => Ok((signed, n as u32)),
        _ => err(ERR_BF_TYPE),
    }
}

/// BITFIELD key [GET encoding offset | [OVERFLOW <WRAP | SAT | FAIL>]
/// <SET encoding offset value | INCRBY encoding offset increment> [GET encoding offset | ...] ...]
fn bitfield(ctx: &mut Ctx, args: &Args) -> CmdResult {
    bitfield_generic(ctx, args, false)
}

/// BITFIELD_RO key [GET encoding offset [GET encoding offset ...]]
fn bitfield_ro(ctx: &mut Ctx, args: &Args) -> CmdResult {
    bitfield_generic(ctx, args, true)
}

fn bitfield_generic(ctx: &mut Ctx, args: &Args, ro_cmd: bool) -> CmdResult {
    let max_bulk = ctx.st.cfg.proto_max_bulk_len;
    let fields = || FieldParser {
        args,
        j: 2,
        overflow: Overflow::Wrap,
        max_bulk,
    };
    // First pass: validate everything before touching the key or writing a byte. The second pass parses
    // the same arguments again, so it cannot fail; that keeps the operations out of a temporary Vec.
    let (mut count, mut readonly, mut highest) = (0usize, true, 0u64);
    let mut p = fields();
    while let Some(f) = p.next() {
        let f = f?;
        count += 1;
        if f.op != FieldOp::Get {
            readonly = false;
            highest = highest.max(f.offset + f.bits as u64 - 1);
        }
    }
    if readonly {
        let found = read_lookup(ctx, &args[1]);
        let mut tmp = [0u8; 20];
        let s = match found {
            Some(i) => string_at(&ctx.st.dbs[ctx.db], i, &mut tmp)?,
            None => &[],
        };
        ctx.out.array(count);
        let mut p = fields();
        while let Some(Ok(f)) = p.next() {
            reply_get(ctx.out, s, &f);
        }
        return Ok(());
    }
    if ro_cmd {
        return err(ERR_BF_RO);
    }
    let mut p = fields();
    let out = &mut *ctx.out;
    let (changed, wrote, changes) =
        with_string_for_write(ctx.st, ctx.db, &args[1], highest, |buf, grown| {
            out.array(count);
            let (mut changed, mut wrote, mut changes) = (grown, false, 0);
            while let Some(Ok(f)) = p.next() {
                let (c, w) = apply(out, buf, &f);
                changed |= c;
                wrote |= w;
                // Redis counts each write that changed its field, or every write once the key was
                // created or grown for them.
                changes += (w && (grown || c)) as u64;
            }
            (changed, wrote, changes)
        })?;
    ctx.dirty = Some(changes);
    // As in Redis, a BITFIELD that changes no bit is not propagated.
    if !changed {
        ctx.prop = Propagate::Nothing;
    }
    // Redis's notification counts every write not refused by OVERFLOW FAIL, changed or not.
    if wrote {
        notify(ctx, STRING, "setbit", &args[1]);
    }
    Ok(())
}

fn reply_get(out: &mut Out, s: &[u8], f: &Field) {
    let v = get_field(s, f.offset, f.bits);
    out.int(if f.signed {
        sign_extend(v, f.bits)
    } else {
        v as i64
    });
}

/// Runs one operation of a writing BITFIELD against the (already grown) string; true if it changed it.
/// Runs one operation on `buf`, writing its reply: (whether a bit changed, whether it wrote at all).
fn apply(out: &mut Out, buf: &mut [u8], f: &Field) -> (bool, bool) {
    if f.op == FieldOp::Get {
        reply_get(out, buf, f);
        return (false, false);
    }
    let raw = get_field(buf, f.offset, f.bits);
    let (reply, new, overflow) = if f.signed {
        let old = sign_extend(raw, f.bits);
        let (new, ovf, ret) = if f.op == FieldOp::IncrBy {
            match signed_overflow(old, f.arg, f.bits, f.overflow) {
                Some(limit) => (limit, true, limit),
                None => {
                    let n = old.wrapping_add(f.arg);
                    (n, false, n)
                }
            }
        } else {
            match signed_overflow(f.arg, 0, f.bits, f.overflow) {
                Some(limit) => (limit, true, old),
                None => (f.arg, false, old),
            }
        };
        (ret, new as u64, ovf)
    } else {
        let old = raw;
        let (new, ovf) = if f.op == FieldOp::IncrBy {
            match unsigned_overflow(old, f.arg, f.bits, f.overflow) {
                Some(limit) => (limit, true),
                None => (old.wrapping_add(f.arg as u64), false),
            }
        } else {
            match unsigned_overflow(f.arg as u64, 0, f.bits, f.overflow) {
                Some(limit) => (limit, true),
                None => (f.arg as u64, false),
            }
        };
        let ret = if f.op == FieldOp::IncrBy { new } else { old };
        (ret as i64, new, ovf)
    };
    if overflow && f.overflow == Overflow::Fail {
        out.null();
        return (false, false);
    }
    out.int(reply);
    set_field(buf, f.offset, f.bits, new);
    (new & mask(f.bits) != raw, true)
}

fn mask(bits: u32) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    }
}

/// The `bits`-wide field at bit `offset`, most significant bit first; bytes past the end read as zero.
fn get_field(p: &[u8], offset: u64, bits: u32) -> u64 {
    let byte = (offset >> 3) as usize;
    // Nine bytes hold any 64-bit field whatever its first bit's position in its byte.
    let mut w: u128 = 0;
    for k in 0..9 {
        let b = p.get(byte.saturating_add(k)).copied().unwrap_or(0);
        w = (w << 8) | b as u128;
    }
    let shift = 72 - (offset & 7) as u32 - bits;
    (w >> shift) as u64 & mask(bits)
}

/// Writes the low `bits` bits of `value` at bit `offset`; the caller made the string long enough.
fn set_field(p: &mut [u8], offset: u64, bits: u32, value: u64) {
    for k in 0..bits as u64 {
        let bit = ((value >> (bits as u64 - 1 - k)) & 1) as u8;
        let o = offset + k;
        if let Some(b) = p.get_mut((o >> 3) as usize) {
            let shift = 7 - (o & 7) as u8;
            *b = (*b & !(1 << shift)) | (bit << shift);
        }
    }
}

fn sign_extend(v: u64, bits: u32) -> i64 {
    if bits < 64 && v & (1 << (bits - 1)) != 0 {
        (v | (u64::MAX << bits)) as i64
    } else {
        v as i64
    }
}

/// Redis's `checkUnsignedBitfieldOverflow`: None when `value + incr` fits in `bits`, else the value to
/// store instead (wrapped or saturated; unused under FAIL).
fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> Option<u64> {
    let max = mask(bits);
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = 0u64.wrapping_sub(value) as i64;
    let wrapped = value.wrapping_add(incr as u64) & max;
    if value > max || (incr > 0 && incr > maxincr) {
        Some(if ow == Overflow::Sat { max } else { wrapped })
    } else if incr < 0 && incr < minincr {
        Some(if ow == Overflow::Sat { 0 } else { wrapped })
    } else {
        None
    }
}

/// Redis's `checkSignedBitfieldOverflow`, with the same conditions (including its 64-bit special cases).
fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> Option<i64> {
    let max: i64 = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let maxincr = (max as u64).wrapping_sub(value as u64) as i64;
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let m = u64::MAX << bits;
            if c & (1 << (bits - 1)) != 0 {
                c |= m;
            } else {
                c &= !m;
            }
        }
        c as i64
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        Some(if ow == Overflow::Sat { max } else { wrap() })
    } else if value < min
        || (bits != 64 && incr < minincr)
        || (value < 0 && incr < 0 && incr < minincr)
    {
        Some(if ow == Overflow::Sat { min } else { wrap() })
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_read_and_write_across_bytes() {
        let mut b = vec![0u8; 10];
        set_field(&mut b, 5, 13, 0x1abc);
        assert_eq!(get_field(&b, 5, 13), 0x1abc);
        set_field(&mut b, 3, 64, u64::MAX - 5);
        assert_eq!(get_field(&b, 3, 64), u64::MAX - 5);
        assert_eq!(get_field(&[0xff], 4, 8), 0xf0);
        assert_eq!(sign_extend(0xff, 8), -1);
    }

    #[test]
    fn overflow_rules() {
        assert_eq!(unsigned_overflow(250, 10, 8, Overflow::Wrap), Some(4));
        assert_eq!(unsigned_overflow(250, 10, 8, Overflow::Sat), Some(255));
        assert_eq!(unsigned_overflow(5, -10, 8, Overflow::Sat), Some(0));
        assert_eq!(unsigned_overflow(5, 10, 8, Overflow::Sat), None);
        assert_eq!(signed_overflow(127, 1, 8, Overflow::Wrap), Some(-128));
        assert_eq!(signed_overflow(-128, -1, 8, Overflow::Sat), Some(-128));
        assert_eq!(
            signed_overflow(i64::MAX, 1, 64, Overflow::Wrap),
            Some(i64::MIN)
        );
        assert_eq!(signed_overflow(0, i64::MIN, 64, Overflow::Sat), None);
    }

    #[test]
    fn bitpos_scan() {
        assert_eq!(first_bit(&[0, 0x10], true), 11);
        assert_eq!(first_bit(&[0xff, 0xff], false), 16);
        assert_eq!(first_bit(&[0, 0], true), -1);
    }
}
