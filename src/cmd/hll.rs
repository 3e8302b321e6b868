//! HyperLogLog (Redis 7.0's hyperloglog.c): PFADD, PFCOUNT, PFMERGE, PFDEBUG and PFSELFTEST. An HLL is an
//! ordinary string value laid out byte for byte as Redis lays it out, so GET/SET, DUMP/RESTORE and
//! replication carry HLLs between ferrokv and Redis unchanged:
//!
//! - a 16-byte header: `HYLL`, the encoding (0 dense, 1 sparse), three zero bytes, and the cached
//!   cardinality as 8 little-endian bytes whose top bit marks the cache stale;
//! - dense: 16384 registers of 6 bits, packed from the least significant bit of each byte up;
//! - sparse: run-length opcodes, `00xxxxxx` ZERO (1..64 zero registers), `01xxxxxx yyyyyyyy` XZERO
//!   (1..16384 zero registers), `1vvvvvxx` VAL (1..4 registers of value 1..32).
//!
//! Every edit of the sparse form follows Redis's algorithm step by step (split the opcode that covers
//! the register, then merge equal neighbouring VALs within five opcodes), because the bytes must come
//! out identical, not merely decode to the same registers.

use super::notify::{notify, STRING};
use super::repl::{self, Propagate};
use super::{
    err, read_lookup, Args, Cmd, CmdResult, Ctx, Error, ADMIN, DENYOOM, ERR_WRONGTYPE, FAST,
    MAY_REPLICATE, READONLY, WRITE,
};
use crate::store::{Bytes, Value};

const HDR: usize = 16;
const P: u32 = 14;
const Q: usize = 64 - P as usize;
const REGS: usize = 1 << P;
const BITS: usize = 6;
const DENSE_SIZE: usize = HDR + (REGS * BITS).div_ceil(8);
const DENSE: u8 = 0;
const SPARSE: u8 = 1;
/// Byte of the header whose top bit marks the cached cardinality stale (`card[7]`).
const CACHE_BYTE: usize = 15;
const HASH_SEED: u64 = 0xadc8_3b19;
const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
const ZERO_MAX_LEN: usize = 64;
const XZERO_MAX_LEN: usize = 16384;
/// 0.5 / ln(2), the bias constant of the estimator at infinity.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

pub const ERR_NOT_HLL: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
pub const ERR_INVALID: &str = "INVALIDOBJ Corrupted HLL object detected";

const G: &str = "hyperloglog";

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("pfadd", -2, WRITE | DENYOOM | FAST, (1, 1, 1), pfadd).doc(
        G,
        "2.8.9",
        "Adds the specified elements to the specified HyperLogLog.",
        "O(1) to add every element.",
    ),
    Cmd::new("pfcount", -2, READONLY | MAY_REPLICATE, (1, -1, 1), pfcount).doc(
        G,
        "2.8.9",
        "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).",
        "O(1) with a very small average constant time when called with a single key. O(N) with N \
         being the number of keys, and much bigger constant times, when called with multiple keys.",
    ),
    Cmd::new("pfdebug", 3, WRITE | DENYOOM | ADMIN, (2, 2, 1), pfdebug).doc(
        G,
        "2.8.9",
        "Internal commands for debugging HyperLogLog values",
        "N/A",
    ),
    Cmd::new("pfmerge", -2, WRITE | DENYOOM, (1, -1, 1), pfmerge).doc(
        G,
        "2.8.9",
        "Merge N different HyperLogLogs into a single one.",
        "O(N) to merge N HyperLogLogs, but with high constant times.",
    ),
    Cmd::new("pfselftest", 1, ADMIN, (0, 0, 0), pfselftest).doc(
        G,
        "2.8.9",
        "An internal command for testing HyperLogLog values",
        "N/A",
    ),
];

// ---------------------------------------------------------------------------------------------------
// Hashing

/// MurmurHash2, 64-bit (MurmurHash64A), reading words little-endian as Redis does on every platform.
pub fn murmur64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (key.len() as u64).wrapping_mul(M);
    let mut words = key.chunks_exact(8);
    for w in &mut words {
        let mut k = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = words.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= u64::from(b) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element lands in, and the length of the `0..01` run in the rest of its hash (1..=51).
#[inline]
fn pat_len(ele: &[u8]) -> (usize, u8) {
    let hash = murmur64a(ele, HASH_SEED);
    let index = (hash as usize) & (REGS - 1);
    // The bit above the Q used ones ends the run, so it never exceeds Q + 1.
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

// ---------------------------------------------------------------------------------------------------
// Dense registers

#[inline]
fn dense_get(regs: &[u8], i: usize) -> u8 {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    // Past the last register Redis reads the string's NUL terminator.
    let b0 = u32::from(regs[byte]);
    let b1 = u32::from(regs.get(byte + 1).copied().unwrap_or(0));
    (((b0 >> fb) | (b1 << (8 - fb))) & 63) as u8
}

#[inline]
fn dense_set(regs: &mut [u8], i: usize, val: u8) {
    let byte = i * BITS / 8;
    let fb = (i * BITS) & 7;
    let v = u32::from(val);
    regs[byte] = (u32::from(regs[byte]) & !(63u32 << fb) | (v << fb)) as u8;
    if let Some(b) = regs.get_mut(byte + 1) {
        *b = (u32::from(*b) & !(63u32 >> (8 - fb)) | (v >> (8 - fb))) as u8;
    }
}

/// Raises register `i` to `val` if it is lower; true if it changed.
#[inline]
fn dense_raise(regs: &mut [u8], i: usize, val: u8) -> bool {
    if val > dense_get(regs, i) {
        dense_set(regs, i, val);
        true
    } else {
        false
    }
}

// ---------------------------------------------------------------------------------------------------
// Sparse opcodes

#[derive(Clone, Copy)]
enum Op {
    /// Registers set to zero.
    Zero(usize),
    /// Registers set to zero, the two-byte form.
    XZero(usize),
    /// Registers (1..=4) set to a value (1..=32).
    Val(u8, usize),
}

impl Op {
    /// Registers covered.
    #[inline]
    fn span(self) -> usize {
        match self {
            Op::Zero(n) | Op::XZero(n) | Op::Val(_, n) => n,
        }
    }

    /// Bytes taken.
    #[inline]
    fn len(self) -> usize {
        match self {
            Op::XZero(_) => 2,
            _ => 1,
        }
    }
}

/// The opcode at `p` (< s.len()). A truncated XZERO reads a zero second byte, as Redis reads the NUL
/// terminator there.
#[inline]
fn op_at(s: &[u8], p: usize) -> Op {
    let b = s[p];
    if b & 0xc0 == 0 {
        Op::Zero(usize::from(b & 0x3f) + 1)
    } else if b & 0x80 != 0 {
        Op::Val(((b >> 2) & 0x1f) + 1, usize::from(b & 3) + 1)
    } else {
        let lo = s.get(p + 1).copied().unwrap_or(0);
        Op::XZero(((usize::from(b & 0x3f) << 8) | usize::from(lo)) + 1)
    }
}

#[inline]
fn val_op(val: u8, len: usize) -> u8 {
    (((usize::from(val).wrapping_sub(1) << 2) | len.wrapping_sub(1)) | 0x80) as u8
}

/// Appends a ZERO or XZERO opcode for `len` zero registers, the short form when it fits.
fn push_zeros(seq: &mut [u8; 5], n: &mut usize, len: usize) {
    if len > ZERO_MAX_LEN {
        let l = len - 1;
        seq[*n] = ((l >> 8) | 0x40) as u8;
        seq[*n + 1] = (l & 0xff) as u8;
        *n += 2;
    } else {
        seq[*n] = (len - 1) as u8;
        *n += 1;
    }
}

/// A new, empty HLL: sparse, all registers in XZERO opcodes, cache valid at 0.
fn new_hll() -> Vec<u8> {
    let ops = REGS.div_ceil(XZERO_MAX_LEN);
    let mut s = vec![0u8; HDR + ops * 2];
    s[..4].copy_from_slice(b"HYLL");
    s[4] = SPARSE;
    let mut left = REGS;
    let mut p = HDR;
    while left > 0 {
        let n = left.min(XZERO_MAX_LEN);
        let mut seq = [0u8; 5];
        let mut k = 0;
        push_zeros(&mut seq, &mut k, n);
        s[p..p + 2].copy_from_slice(&seq[..2]);
        p += 2;
        left -= n;
    }
    s
}

/// The dense form of a sparse HLL (header and cached cardinality kept), or None if the opcodes do not
/// cover exactly the 16384 registers. A VAL run past the last register is corrupt even when the runs
/// before it add up, as in Redis 7.0.15 with the CVE-2025-32023 fix that distributions ship.
fn sparse_to_dense(s: &[u8]) -> Option<Vec<u8>> {
    let mut d = vec![0u8; DENSE_SIZE];
    d[..HDR].copy_from_slice(&s[..HDR]);
    d[4] = DENSE;
    let regs = &mut d[HDR..];
    let mut idx = 0;
    let mut p = HDR;
    while p < s.len() {
        let op = op_at(s, p);
        match op {
            Op::Zero(n) | Op::XZero(n) => idx += n,
            Op::Val(v, n) => {
                if idx + n > REGS {
                    return None;
                }
                for _ in 0..n {
                    dense_set(regs, idx, v);
                    idx += 1;
                }
            }
        }
        p += op.len();
    }
    (idx == REGS).then_some(d)
}

/// Raises register `index` of the sparse HLL `s` to `count`, as Redis's hllSparseSet: 1 if it changed,
/// 0 if not, -1 if the HLL is corrupt. Turns `s` dense when the value does not fit a VAL opcode or the
/// string would grow past `max_bytes`.
fn sparse_set(s: &mut Vec<u8>, index: usize, count: u8, max_bytes: usize) -> i32 {
    if count > VAL_MAX_VALUE {
        return promote(s, index, count);
    }
    // Find the opcode covering the register.
    let mut p = HDR;
    let mut first = 0;
    let mut prev = None;
    let mut span = 0;
    while p < s.len() {
        let op = op_at(s, p);
        span = op.span();
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += op.len();
        first += span;
    }
    if span == 0 || p >= s.len() {
        return -1;
    }
    let op = op_at(s, p);
    match op {
        Op::Val(old, _) if old >= count => return 0,
        Op::Val(_, 1) | Op::Zero(1) => {
            s[p] = val_op(count, 1);
            merge_vals(s, prev.unwrap_or(HDR));
            return 1;
        }
        _ => {}
    }
    // Split the opcode into up to three: what comes before the register, the register, what follows.
    let last = first + span - 1;
    let mut seq = [0u8; 5];
    let mut n = 0;
    match op {
        Op::Val(cur, _) => {
            if index != first {
                seq[n] = val_op(cur, index - first);
                n += 1;
            }
            seq[n] = val_op(count, 1);
            n += 1;
            if index != last {
                seq[n] = val_op(cur, last - index);
                n += 1;
            }
        }
        Op::Zero(_) | Op::XZero(_) => {
            if index != first {
                push_zeros(&mut seq, &mut n, index - first);
            }
            seq[n] = val_op(count, 1);
            n += 1;
            if index != last {
                push_zeros(&mut seq, &mut n, last - index);
            }
        }
    }
    let old_len = op.len();
    let new_len = s.len() + n - old_len;
    if n > old_len && new_len > max_bytes {
        return promote(s, index, count);
    }
    // A truncated XZERO at the very end counts two bytes in Redis too, so the result is cut to the
    // length Redis computes.
    let tail = (p + old_len).min(s.len());
    s.splice(p..tail, seq[..n].iter().copied());
    s.truncate(new_len);
    merge_vals(s, prev.unwrap_or(HDR));
    1
}

/// Merges adjacent VAL opcodes of equal value (while the run fits one opcode), scanning up to five
/// opcodes from `p`; then marks the cached cardinality stale.
fn merge_vals(s: &mut Vec<u8>, mut p: usize) {
    let mut budget = 5;
    while p < s.len() && budget > 0 {
        budget -= 1;
        let b = s[p];
        if b & 0xc0 == 0x40 {
            p += 2;
            continue;
        }
        if b & 0xc0 == 0 {
            p += 1;
            continue;
        }
        if p + 1 < s.len() && s[p + 1] & 0x80 != 0 {
            if let (Op::Val(v1, l1), Op::Val(v2, l2)) = (op_at(s, p), op_at(s, p + 1)) {
                if v1 == v2 && l1 + l2 <= VAL_MAX_LEN {
                    s[p + 1] = val_op(v1, l1 + l2);
                    s.remove(p);
                    // Try the merged opcode against its right neighbour too.
                    continue;
                }
            }
        }
        p += 1;
    }
    s[CACHE_BYTE] |= 0x80;
}

/// Turns the sparse `s` dense and raises the register there.
fn promote(s: &mut Vec<u8>, index: usize, count: u8) -> i32 {
    match sparse_to_dense(s) {
        Some(d) => {
            *s = d;
            i32::from(dense_raise(&mut s[HDR..], index, count))
        }
        None => -1,
    }
}

/// Adds one element: 1 if a register changed, 0 if not, -1 if the HLL is corrupt.
fn add(s: &mut Vec<u8>, ele: &[u8], max_bytes: usize) -> i32 {
    let (index, count) = pat_len(ele);
    match s[4] {
        DENSE => i32::from(dense_raise(&mut s[HDR..], index, count)),
        SPARSE => sparse_set(s, index, count, max_bytes),
        _ => -1,
    }
}

// ---------------------------------------------------------------------------------------------------
// Counting and merging

/// Histogram of register values; false if a sparse HLL does not cover exactly 16384 registers.
fn histogram(s: &[u8], h: &mut [u64; 64]) -> bool {
    if s[4] == DENSE {
        for c in s[HDR..].chunks_exact(3) {
            let (a, b, d) = (c[0], c[1], c[2]);
            h[usize::from(a & 63)] += 1;
            h[usize::from((a >> 6 | b << 2) & 63)] += 1;
            h[usize::from((b >> 4 | d << 4) & 63)] += 1;
            h[usize::from(d >> 2)] += 1;
        }
        return true;
    }
    let mut idx = 0;
    let mut p = HDR;
    while p < s.len() {
        let op = op_at(s, p);
        match op {
            Op::Zero(n) | Op::XZero(n) => h[0] += n as u64,
            Op::Val(v, n) => h[usize::from(v)] += n as u64,
        }
        idx += op.span();
        p += op.len();
    }
    idx == REGS
}

/// Ertl's sigma (arXiv:1702.01284).
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let prev = z;
        z += x * y;
        y += y;
        if prev == z {
            return z;
        }
    }
}

/// Ertl's tau (arXiv:1702.01284).
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let prev = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if prev == z {
            return z / 3.0;
        }
    }
}

/// The estimate from a register histogram, with Ertl's improved estimator as Redis 7.0 computes it.
fn estimate(h: &[u64; 64]) -> u64 {
    let m = REGS as f64;
    let mut z = m * tau((m - h[Q + 1] as f64) / m);
    for j in (1..=Q).rev() {
        z += h[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(h[0] as f64 / m);
    (ALPHA_INF * m * m / z).round() as u64
}

/// The estimated cardinality of one HLL, or None if it is corrupt.
fn count(s: &[u8]) -> Option<u64> {
    let mut h = [0u64; 64];
    histogram(s, &mut h).then(|| estimate(&h))
}

/// Folds an HLL into byte-per-register maxima; false if it is corrupt.
fn merge(max: &mut [u8; REGS], s: &[u8]) -> bool {
    if s[4] == DENSE {
        let regs = &s[HDR..];
        for (i, m) in max.iter_mut().enumerate() {
            let v = dense_get(regs, i);
            if v > *m {
                *m = v;
            }
        }
        return true;
    }
    let mut i = 0;
    let mut p = HDR;
    while p < s.len() {
        let op = op_at(s, p);
        match op {
            Op::Zero(n) | Op::XZero(n) => i += n,
            Op::Val(v, n) => {
                if i + n > REGS {
                    return false;
                }
                for m in &mut max[i..i + n] {
                    if v > *m {
                        *m = v;
                    }
                }
                i += n;
            }
        }
        p += op.len();
    }
    i == REGS
}

// ---------------------------------------------------------------------------------------------------
// Values

/// The bytes of a value that holds an HLL, or Redis's error for one that does not (isHLLObjectOrReply).
fn hll_bytes(v: &Value) -> Result<&[u8], Error> {
    let s = match v {
        Value::Str(b) => b.as_slice(),
        // An integer-encoded string is no HLL whatever its digits.
        Value::Int(_) => return err(ERR_NOT_HLL),
        _ => return err(ERR_WRONGTYPE),
    };
    let valid = s.len() >= HDR
        && &s[..4] == b"HYLL"
        && s[4] <= SPARSE
        && (s[4] != DENSE || s.len() == DENSE_SIZE);
    if !valid {
        return err(ERR_NOT_HLL);
    }
    Ok(s)
}

/// Redis's dbUnshareStringValue: the string in its own `raw` buffer, editable in place.
fn unshare(v: &mut Value) -> &mut [u8] {
    if !matches!(v, Value::Str(Bytes::Raw(_))) {
        let s = Value::take_string(v);
        *v = Value::Str(Bytes::raw(s));
    }
    match v {
        Value::Str(Bytes::Raw(b)) => b,
        _ => &mut [],
    }
}

/// Runs `f` over the string value as a growable buffer, storing the result back in the `raw` encoding.
fn edit<R>(v: &mut Value, f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    let mut s = Value::take_string(v);
    let r = f(&mut s);
    *v = Value::Str(Bytes::raw(s));
    r
}

// ---------------------------------------------------------------------------------------------------
// Commands

/// PFADD key [element [element ...]]
fn pfadd(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = &args[1];
    let now = ctx.st.now;
    let max_bytes = ctx.st.cfg.hll_sparse_max_bytes;
    let db = &mut ctx.st.dbs[ctx.db];
    let adds = |s: &mut Vec<u8>, mut updated: u64| -> Result<u64, Error> {
        for ele in args.from(2) {
            match add(s, ele, max_bytes) {
                1 => updated += 1,
                -1 => return err(ERR_INVALID),
                _ => {}
            }
        }
        if updated > 0 {
            s[CACHE_BYTE] |= 0x80;
        }
        Ok(updated)
    };
    let updated = match db.lookup(key, now) {
        None => {
            // Creating the key counts as a change.
            let mut s = new_hll();
            let n = adds(&mut s, 1)?;
            db.insert_new(key, Value::Str(Bytes::raw(s)), now);
            n
        }
        Some(i) => {
            hll_bytes(&db.entry(i).val)?;
            edit(&mut db.entry_mut(i).val, |s| adds(s, 0))?
        }
    };
    if updated == 0 {
        // Redis leaves the dirty count alone: no propagation, no WATCH invalidation.
        ctx.prop = Propagate::Nothing;
        ctx.out.int(0);
        return Ok(());
    }
    // Redis counts every changed register as a change.
    ctx.dirty = Some(updated);
    notify(ctx, STRING, "pfadd", key);
    ctx.out.int(1);
    Ok(())
}

/// PFCOUNT key [key ...]
fn pfcount(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 2 {
        // The cardinality of the union, from byte-per-register maxima.
        let mut max = [0u8; REGS];
        for key in args.from(1) {
            let Some(i) = read_lookup(ctx, key) else {
                continue;
            };
            let s = hll_bytes(&ctx.st.dbs[ctx.db].entry(i).val)?;
            if !merge(&mut max, s) {
                return err(ERR_INVALID);
            }
        }
        let mut h = [0u64; 64];
        for &v in max.iter() {
            h[usize::from(v)] += 1;
        }
        ctx.out.int(estimate(&h) as i64);
        return Ok(());
    }
    let key = &args[1];
    let Some(i) = read_lookup(ctx, key) else {
        ctx.out.int(0);
        return Ok(());
    };
    let db = &mut ctx.st.dbs[ctx.db];
    hll_bytes(&db.entry(i).val)?;
    let s = unshare(&mut db.entry_mut(i).val);
    let mut card = [0u8; 8];
    card.copy_from_slice(&s[8..HDR]);
    if s[CACHE_BYTE] & 0x80 == 0 {
        ctx.out.int(u64::from_le_bytes(card) as i64);
        return Ok(());
    }
    let Some(n) = count(s) else {
        return err(ERR_INVALID);
    };
    s[8..HDR].copy_from_slice(&n.to_le_bytes());
    // PFCOUNT is a read-only command that writes the cache back into the string; Redis signals the key
    // and counts a change, so WATCH fails and replicas run it too.
    ctx.touch_key(ctx.db, key);
    ctx.dirty = Some(1);
    if !ctx.st.replicas.is_empty() && !ctx.conns[ctx.id].replica {
        repl::feed(ctx, ctx.db, args);
    }
    ctx.out.int(n as i64);
    Ok(())
}

/// PFMERGE destkey [sourcekey [sourcekey ...]]
fn pfmerge(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut max = [0u8; REGS];
    let mut use_dense = false;
    // The destination takes part in the union too.
    for key in args.from(1) {
        let Some(i) = read_lookup(ctx, key) else {
            continue;
        };
        let s = hll_bytes(&ctx.st.dbs[ctx.db].entry(i).val)?;
        use_dense |= s[4] == DENSE;
        if !merge(&mut max, s) {
            return err(ERR_INVALID);
        }
    }
    let key = &args[1];
    let now = ctx.st.now;
    let max_bytes = ctx.st.cfg.hll_sparse_max_bytes;
    let db = &mut ctx.st.dbs[ctx.db];
    let write = |s: &mut Vec<u8>| -> CmdResult {
        if use_dense && s[4] == SPARSE {
            // The destination was merged above, so it is well formed.
            *s = sparse_to_dense(s).ok_or(ERR_INVALID)?;
        }
        for (j, &m) in max.iter().enumerate() {
            if m == 0 {
                continue;
            }
            if s[4] == DENSE {
                dense_raise(&mut s[HDR..], j, m);
            } else {
                sparse_set(s, j, m, max_bytes);
            }
        }
        s[CACHE_BYTE] |= 0x80;
        Ok(())
    };
    match db.lookup(key, now) {
        None => {
            let mut s = new_hll();
            write(&mut s)?;
            db.insert_new(key, Value::Str(Bytes::raw(s)), now);
        }
        Some(i) => edit(&mut db.entry_mut(i).val, write)?,
    }
    // Redis counts a merge once, even one that raised no register.
    ctx.dirty = Some(1);
    // Redis announces a merge as a mass PFADD.
    notify(ctx, STRING, "pfadd", key);
    ctx.out.ok();
    Ok(())
}

/// PFDEBUG <GETREG | DECODE | ENCODING | TODENSE> key
fn pfdebug(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (sub, key) = (&args[1], &args[2]);
    let now = ctx.st.now;
    let db = &mut ctx.st.dbs[ctx.db];
    let Some(i) = db.lookup(key, now) else {
        return err("ERR The specified key does not exist");
    };
    hll_bytes(&db.entry(i).val)?;
    // Redis unshares the string whatever the subcommand; only a conversion to dense counts as a change.
    if !matches!(db.entry(i).val, Value::Str(Bytes::Raw(_))) {
        unshare(&mut db.entry_mut(i).val);
    }
    ctx.prop = Propagate::Nothing;
    ctx.dirty = Some(0);
    let Value::Str(b) = &db.entry(i).val else {
        return err(ERR_INVALID);
    };
    let s = b.as_slice();
    let sparse = s[4] == SPARSE;
    if sub.eq_ignore_ascii_case(b"getreg") {
        if sparse {
            let d = sparse_to_dense(s).ok_or(ERR_INVALID)?;
            to_dense(db, i, key, d);
            ctx.prop = Propagate::AsIs;
            ctx.dirty = Some(1);
        }
        let Value::Str(b) = &db.entry(i).val else {
            return err(ERR_INVALID);
        };
        let regs = &b.as_slice()[HDR..];
        ctx.out.array(REGS);
        for j in 0..REGS {
            ctx.out.int(i64::from(dense_get(regs, j)));
        }
    } else if sub.eq_ignore_ascii_case(b"decode") {
        if !sparse {
            return err("ERR HLL encoding is not sparse");
        }
        let mut text = String::new();
        let mut p = HDR;
        while p < s.len() {
            let op = op_at(s, p);
            let _ = match op {
                Op::Zero(n) => write_fmt(&mut text, format_args!("z:{n} ")),
                Op::XZero(n) => write_fmt(&mut text, format_args!("Z:{n} ")),
                Op::Val(v, n) => write_fmt(&mut text, format_args!("v:{v},{n} ")),
            };
            p += op.len();
        }
        ctx.out.bulk(text.trim_matches(' ').as_bytes());
    } else if sub.eq_ignore_ascii_case(b"encoding") {
        ctx.out.simple(if sparse { "sparse" } else { "dense" });
    } else if sub.eq_ignore_ascii_case(b"todense") {
        if sparse {
            let d = sparse_to_dense(s).ok_or(ERR_INVALID)?;
            to_dense(db, i, key, d);
            ctx.prop = Propagate::AsIs;
            ctx.dirty = Some(1);
        }
        ctx.out.int(i64::from(sparse));
    } else {
        let end = sub.iter().position(|&c| c == 0).unwrap_or(sub.len());
        return err(format!(
            "ERR Unknown PFDEBUG subcommand '{}'",
            String::from_utf8_lossy(&sub[..end])
        ));
    }
    Ok(())
}

/// Stores the dense form made by PFDEBUG: a change replicas must see, but Redis does not signal the key,
/// so WATCHes of it survive.
fn to_dense(db: &mut crate::store::Db, i: u32, key: &[u8], dense: Vec<u8>) {
    db.entry_mut(i).val = Value::Str(Bytes::raw(dense));
    db.touched.retain(|k| &k[..] != key);
}

fn write_fmt(s: &mut String, a: std::fmt::Arguments) -> std::fmt::Result {
    std::fmt::Write::write_fmt(s, a)
}

/// PFSELFTEST
fn pfselftest(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    const CYCLES: usize = 1000;
    let rng = &mut ctx.st.rng;
    // Register access: every 6-bit counter keeps its value and leaves its neighbours alone.
    let mut regs = vec![0u8; DENSE_SIZE - HDR];
    let mut want = vec![0u8; REGS];
    for _ in 0..CYCLES {
        for (i, w) in want.iter_mut().enumerate() {
            let r = (rng.next_u64() & 63) as u8;
            *w = r;
            dense_set(&mut regs, i, r);
        }
        for (i, &w) in want.iter().enumerate() {
            let v = dense_get(&regs, i);
            if v != w {
                return err(format!("TESTFAILED Register {i} should be {w} but is {v}"));
            }
        }
    }
    // Approximation error, with a dense and a sparse HLL fed the same elements.
    let max_bytes = ctx.st.cfg.hll_sparse_max_bytes;
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..4].copy_from_slice(b"HYLL");
    let mut o = new_hll();
    let relerr = 1.04 / (REGS as f64).sqrt();
    let mut checkpoint: u64 = 1;
    let seed = rng.next_u64();
    for j in 1..=10_000_000u64 {
        let ele = (j ^ seed).to_le_bytes();
        let (index, cnt) = pat_len(&ele);
        dense_raise(&mut dense[HDR..], index, cnt);
        add(&mut o, &ele, max_bytes);
        if j != checkpoint {
            continue;
        }
        if j < (max_bytes / 2) as u64 && o[4] != SPARSE {
            return err("TESTFAILED sparse encoding not used");
        }
        let card = count(&dense).unwrap_or(0);
        if count(&o) != Some(card) {
            return err("TESTFAILED dense/sparse disagree");
        }
        let abserr = checkpoint.abs_diff(card);
        let maxerr = if j == 10 {
            1
        } else {
            (relerr * 6.0 * checkpoint as f64).ceil() as u64
        };
        if abserr > maxerr {
            return err(format!(
                "TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"
            ));
        }
        checkpoint *= 10;
    }
    ctx.out.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regs_of(s: &[u8]) -> Vec<u8> {
        let d = if s[4] == SPARSE {
            sparse_to_dense(s).expect("valid")
        } else {
            s.to_vec()
        };
        (0..REGS).map(|i| dense_get(&d[HDR..], i)).collect()
    }

    #[test]
    fn empty_hll_matches_redis() {
        let s = new_hll();
        assert_eq!(s, b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff");
        assert_eq!(count(&s), Some(0));
    }

    #[test]
    fn sparse_and_dense_agree() {
        let mut sp = new_hll();
        let mut de = sparse_to_dense(&sp).expect("valid");
        for n in 0..5000u32 {
            let e = n.to_string();
            let a = add(&mut sp, e.as_bytes(), 3000);
            let b = add(&mut de, e.as_bytes(), 3000);
            assert_eq!(a, b, "element {n}");
            assert_eq!(regs_of(&sp), regs_of(&de));
        }
        assert_eq!(sp[4], DENSE, "promoted past 3000 bytes");
        let c = count(&sp).expect("valid");
        assert!((4800..5200).contains(&c), "{c}");
    }

    #[test]
    fn dense_registers_round_trip() {
        let mut regs = vec![0u8; DENSE_SIZE - HDR];
        for i in 0..REGS {
            dense_set(&mut regs, i, (i % 64) as u8);
        }
        for i in 0..REGS {
            assert_eq!(dense_get(&regs, i), (i % 64) as u8);
        }
    }
}
