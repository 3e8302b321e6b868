//! One value in Redis's RDB object format, as DUMP writes it and RESTORE reads it: the type byte, the
//! encoded value, the RDB version (2 bytes, little-endian) and a CRC64 of all that (8 bytes, little-endian).
//!
//! Writing follows Redis 7.0's `rdbSaveObject` byte for byte wherever Redis's own bytes are determined by
//! the value: strings (integer forms, LZF compression past 20 bytes), listpack hashes and sorted sets,
//! intsets, and lists as quicklist nodes split as RPUSH would have split them. Hash tables and skiplists
//! come out in our iteration order (Redis's is its dict's, which nothing can rely on).
//!
//! Reading accepts every object format Redis 7.0 can load for strings, lists, sets, hashes and sorted
//! sets (the plain forms, listpacks, intsets, and the older ziplists and quicklists), checks every
//! length against the bytes actually present before allocating, and validates listpacks, ziplists and
//! intsets deeply, so a hostile payload is refused, never trusted.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};

use super::hash::{self, Hash};
use super::list::List;
use super::set::{Elem, Set};
use super::value::{Bytes, Value};
use super::zset::{self, ZSet};
use crate::util::{fmt_i64, parse_i64};

/// The RDB version of Redis 7.0; payloads of a later version are refused.
pub const RDB_VERSION: u16 = 10;

/// `rdbcompression`: whether strings over 20 bytes are LZF-compressed when written. Process-wide, as in
/// Redis, where DUMP payloads and RDB files both follow it.
pub static COMPRESS: AtomicBool = AtomicBool::new(true);

const T_STRING: u8 = 0;
const T_LIST: u8 = 1;
const T_SET: u8 = 2;
const T_ZSET: u8 = 3;
const T_HASH: u8 = 4;
const T_ZSET_2: u8 = 5;
const T_LIST_ZIPLIST: u8 = 10;
const T_SET_INTSET: u8 = 11;
const T_ZSET_ZIPLIST: u8 = 12;
const T_HASH_ZIPLIST: u8 = 13;
const T_LIST_QUICKLIST: u8 = 14;
const T_HASH_LISTPACK: u8 = 16;
const T_ZSET_LISTPACK: u8 = 17;
const T_LIST_QUICKLIST_2: u8 = 18;

const ENC_INT8: u64 = 0;
const ENC_INT16: u64 = 1;
const ENC_INT32: u64 = 2;
const ENC_LZF: u64 = 3;

const QUICKLIST_PLAIN: u64 = 1;
const QUICKLIST_PACKED: u64 = 2;
/// Elements from this size on get a quicklist node of their own, stored bare (`packed_threshold`).
const PLAIN_THRESHOLD: usize = 1 << 30;

/// The configuration that decides encodings when a value is rebuilt.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub hash: hash::Limits,
    pub zset: zset::Limits,
    pub set_max_intset: usize,
    /// `list-max-listpack-size`: how quicklist nodes are filled.
    pub list_fill: i64,
}

/// Why a payload was refused; RESTORE words each as Redis does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadError {
    /// Too short, a later RDB version, or a checksum mismatch.
    Footer,
    /// The body does not decode to a value.
    Format,
}

// ---------------------------------------------------------------------------------------------------
// CRC64 (Jones polynomial, reflected, as Redis's crc64.c).

const fn crc_table() -> [[u64; 256]; 8] {
    // The Jones polynomial 0xad93d23594c935a9, bit-reversed for the reflected algorithm.
    const POLY: u64 = 0x95ac_9329_ac4b_c9b5;
    let mut t = [[0u64; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u64;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { (c >> 1) ^ POLY } else { c >> 1 };
            k += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    // Slicing by 8: t[k][i] is the CRC of byte i followed by k zero bytes.
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = (prev >> 8) ^ t[0][(prev & 0xff) as usize];
            i += 1;
        }
        k += 1;
    }
    t
}

static CRC_TABLE: [[u64; 256]; 8] = crc_table();

/// Redis's `crc64(crc, data)`.
pub fn crc64(mut crc: u64, data: &[u8]) -> u64 {
    let t = &CRC_TABLE;
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let v = crc ^ u64::from_le_bytes(w);
        crc = t[7][(v & 0xff) as usize]
            ^ t[6][((v >> 8) & 0xff) as usize]
            ^ t[5][((v >> 16) & 0xff) as usize]
            ^ t[4][((v >> 24) & 0xff) as usize]
            ^ t[3][((v >> 32) & 0xff) as usize]
            ^ t[2][((v >> 40) & 0xff) as usize]
            ^ t[1][((v >> 48) & 0xff) as usize]
            ^ t[0][(v >> 56) as usize];
    }
    for &b in chunks.remainder() {
        crc = t[0][((crc ^ b as u64) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

// ---------------------------------------------------------------------------------------------------
// LZF, as liblzf 3.6 with Redis's settings (HLOG 16, VERY_FAST), so the compressed bytes are Redis's.

const LZF_HLOG: u32 = 16;
const LZF_HSIZE: usize = 1 << LZF_HLOG;
const LZF_MAX_LIT: usize = 1 << 5;
const LZF_MAX_OFF: usize = 1 << 13;
const LZF_MAX_REF: usize = (1 << 8) + (1 << 3);

#[inline]
fn lzf_idx(h: u32) -> usize {
    ((h >> (3 * 8 - LZF_HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (LZF_HSIZE - 1)
}

/// liblzf's hash table of recent positions, kept per thread and emptied in O(1) by a generation stamp in
/// each slot's high half: DUMP of a big hash compresses many strings, and zeroing 256 KB for each would
/// cost far more than compressing them. Positions are kept in 32 bits, as liblzf's offsets are.
struct HashTab {
    slots: Vec<u64>,
    gen: u64,
}

thread_local! {
    static LZF_TABLE: std::cell::RefCell<Option<HashTab>> = const { std::cell::RefCell::new(None) };
}

impl HashTab {
    /// The thread's table, emptied (a new one if it is in use or not made yet).
    fn take() -> HashTab {
        let mut t = LZF_TABLE
            .try_with(|c| c.try_borrow_mut().ok().and_then(|mut s| s.take()))
            .ok()
            .flatten()
            .unwrap_or_else(|| HashTab {
                slots: vec![0; LZF_HSIZE],
                gen: 0,
            });
        t.gen += 1;
        if t.gen > u32::MAX as u64 {
            t.slots.fill(0);
            t.gen = 1;
        }
        t
    }

    #[inline]
    fn get(&self, slot: usize) -> usize {
        let v = self.slots[slot];
        if v >> 32 == self.gen {
            (v & 0xffff_ffff) as usize
        } else {
            0
        }
    }

    #[inline]
    fn set(&mut self, slot: usize, pos: usize) {
        self.slots[slot] = (self.gen << 32) | (pos as u32 as u64);
    }
}

impl Drop for HashTab {
    fn drop(&mut self) {
        let slots = std::mem::take(&mut self.slots);
        if slots.len() == LZF_HSIZE {
            let gen = self.gen;
            // At thread exit the slot is gone already; the table is then simply freed.
            let _ = LZF_TABLE.try_with(|c| {
                if let Ok(mut slot) = c.try_borrow_mut() {
                    *slot = Some(HashTab { slots, gen });
                }
            });
        }
    }
}

/// Compresses `input` into at most `out_len` bytes; None when it does not fit (`lzf_compress` returning
/// 0). The hash table starts empty: Redis leaves it uninitialized, which only ever matters when stale
/// stack contents happen to point at a real match.
pub fn lzf_compress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let in_len = input.len();
    if in_len == 0 || out_len == 0 {
        return None;
    }
    let mut htab = HashTab::take();
    let mut out = vec![0u8; out_len];
    let at = |i: usize| input[i] as u32;
    let mut ip = 0usize;
    let mut op = 1usize; // start a literal run; its header byte is at op - lit - 1
    let mut lit = 0usize;
    let mut hval = (at(0) << 8) | input.get(1).map_or(0, |&b| b as u32);
    while in_len >= 3 && ip < in_len - 2 {
        hval = (hval << 8) | at(ip + 2);
        let slot = lzf_idx(hval);
        let r = htab.get(slot);
        htab.set(slot, ip);
        // Slots hold positions with 0 for empty, and like liblzf's `ref > in_data` a match at position
        // 0 is never taken; every stored position is below `ip`.
        let matched = r > 0
            && r < ip
            && ip - r - 1 < LZF_MAX_OFF
            && input[r + 2] == input[ip + 2]
            && input[r..r + 2] == input[ip..ip + 2];
        if matched {
            let rf = r;
            let off = ip - rf - 1;
            let maxlen = (in_len - ip - 2).min(LZF_MAX_REF);
            if op + 3 + 1 >= out_len && op - usize::from(lit == 0) + 3 + 1 >= out_len {
                return None;
            }
            out[op - lit - 1] = (lit as u8).wrapping_sub(1);
            op -= usize::from(lit == 0);
            // liblzf first compares 16 bytes unrolled without looking at `maxlen` (the input is long
            // enough for them), then byte by byte up to `maxlen`; the match length follows suit.
            let mut len = 2usize;
            let mut mismatch = false;
            if maxlen > 16 {
                for _ in 0..16 {
                    len += 1;
                    if input[rf + len] != input[ip + len] {
                        mismatch = true;
                        break;
                    }
                }
            }
            if !mismatch {
                loop {
                    len += 1;
                    if !(len < maxlen && input[rf + len] == input[ip + len]) {
                        break;
                    }
                }
            }
            len -= 2;
            ip += 1;
            if len < 7 {
                out[op] = ((off >> 8) + (len << 5)) as u8;
                op += 1;
            } else {
                out[op] = ((off >> 8) + (7 << 5)) as u8;
                out[op + 1] = (len - 7) as u8;
                op += 2;
            }
            out[op] = off as u8;
            op += 1;
            lit = 0;
            op += 1;
            ip += len + 1;
            if ip >= in_len - 2 {
                break;
            }
            ip -= 2;
            hval = (at(ip) << 8) | at(ip + 1);
            hval = (hval << 8) | at(ip + 2);
            htab.set(lzf_idx(hval), ip);
            ip += 1;
            hval = (hval << 8) | at(ip + 2);
            htab.set(lzf_idx(hval), ip);
            ip += 1;
        } else {
            if op >= out_len {
                return None;
            }
            lit += 1;
            out[op] = input[ip];
            op += 1;
            ip += 1;
            if lit == LZF_MAX_LIT {
                out[op - lit - 1] = (lit - 1) as u8;
                lit = 0;
                op += 1;
            }
        }
    }
    if op + 3 > out_len {
        return None;
    }
    while ip < in_len {
        lit += 1;
        out[op] = input[ip];
        op += 1;
        ip += 1;
        if lit == LZF_MAX_LIT {
            out[op - lit - 1] = (lit - 1) as u8;
            lit = 0;
            op += 1;
        }
    }
    out[op - lit - 1] = (lit as u8).wrapping_sub(1);
    op -= usize::from(lit == 0);
    out.truncate(op);
    Some(out)
}

/// Decompresses `input`, which must expand to exactly `out_len` bytes. The output grows with what the
/// input really produces, so a lying length cannot make it allocate more than the data justifies.
pub fn lzf_decompress(input: &[u8], out_len: usize) -> Option<Vec<u8>> {
    let mut out: Vec<u8> = Vec::with_capacity(out_len.min(input.len().saturating_mul(4)));
    let mut ip = 0;
    while ip < input.len() {
        let ctrl = input[ip] as usize;
        ip += 1;
        if ctrl < LZF_MAX_LIT {
            let n = ctrl + 1;
            if out.len() + n > out_len || ip + n > input.len() {
                return None;
            }
            out.extend_from_slice(&input[ip..ip + n]);
            ip += n;
        } else {
            let mut len = ctrl >> 5;
            if ip >= input.len() {
                return None;
            }
            if len == 7 {
                len += input[ip] as usize;
                ip += 1;
                if ip >= input.len() {
                    return None;
                }
            }
            let back = ((ctrl & 0x1f) << 8) + input[ip] as usize + 1;
            ip += 1;
            len += 2;
            if out.len() + len > out_len || back > out.len() {
                return None;
            }
            let start = out.len() - back;
            if back >= len {
                out.extend_from_within(start..start + len);
            } else {
                // Overlapping: a run that repeats the bytes it is producing.
                for k in 0..len {
                    let b = out[start + k];
                    out.push(b);
                }
            }
        }
    }
    (out.len() == out_len).then_some(out)
}

// ---------------------------------------------------------------------------------------------------
// Writing.

/// `rdbSaveLen`: a length in 1, 2, 5 or 9 bytes.
pub fn save_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(((n >> 8) as u8) | 0x40);
        out.push(n as u8);
    } else if n <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// `rdbSaveRawString`: small integers in 1, 2 or 4 bytes; LZF for strings over 20 bytes when it
/// compresses (Redis's `rdbcompression yes`); else the length and the bytes.
pub fn save_string(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= 11 {
        if let Some(n) = parse_i64(s) {
            if let Ok(v) = i8::try_from(n) {
                out.push(0xC0);
                out.push(v as u8);
                return;
            }
            if let Ok(v) = i16::try_from(n) {
                out.push(0xC1);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            }
            if let Ok(v) = i32::try_from(n) {
                out.push(0xC2);
                out.extend_from_slice(&v.to_le_bytes());
                return;
            }
        }
    }
    if s.len() > 20 && COMPRESS.load(Ordering::Relaxed) {
        if let Some(c) = lzf_compress(s, s.len() - 4) {
            out.push(0xC3);
            save_len(out, c.len() as u64);
            save_len(out, s.len() as u64);
            out.extend_from_slice(&c);
            return;
        }
    }
    save_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

fn save_elem(out: &mut Vec<u8>, e: Elem) {
    let mut tmp = [0u8; 20];
    save_string(out, e.bytes(&mut tmp));
}

/// A listpack under construction, in Redis's exact encoding.
struct Listpack {
    buf: Vec<u8>,
    count: usize,
}

impl Listpack {
    fn new() -> Listpack {
        Listpack {
            buf: vec![0; 6],
            count: 0,
        }
    }

    /// Bytes the finished listpack will take.
    fn size(&self) -> usize {
        self.buf.len() + 1
    }

    fn backlen(&mut self, l: usize) {
        let l = l as u64;
        let b = &mut self.buf;
        if l <= 127 {
            b.push(l as u8);
        } else if l < 16383 {
            b.extend_from_slice(&[(l >> 7) as u8, (l & 127) as u8 | 128]);
        } else if l < 2097151 {
            b.extend_from_slice(&[
                (l >> 14) as u8,
                ((l >> 7) & 127) as u8 | 128,
                (l & 127) as u8 | 128,
            ]);
        } else if l < 268435455 {
            b.extend_from_slice(&[
                (l >> 21) as u8,
                ((l >> 14) & 127) as u8 | 128,
                ((l >> 7) & 127) as u8 | 128,
                (l & 127) as u8 | 128,
            ]);
        } else {
            b.extend_from_slice(&[
                (l >> 28) as u8,
                ((l >> 21) & 127) as u8 | 128,
                ((l >> 14) & 127) as u8 | 128,
                ((l >> 7) & 127) as u8 | 128,
                (l & 127) as u8 | 128,
            ]);
        }
    }

    fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        let b = &mut self.buf;
        if (0..=127).contains(&v) {
            b.push(v as u8);
        } else if (-4096..=4095).contains(&v) {
            let u = (v as u64) & 0x1fff;
            b.extend_from_slice(&[(u >> 8) as u8 | 0xC0, u as u8]);
        } else if (-32768..=32767).contains(&v) {
            b.push(0xF1);
            b.extend_from_slice(&(v as i16).to_le_bytes());
        } else if (-8388608..=8388607).contains(&v) {
            b.push(0xF2);
            b.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
        } else if let Ok(w) = i32::try_from(v) {
            b.push(0xF3);
            b.extend_from_slice(&w.to_le_bytes());
        } else {
            b.push(0xF4);
            b.extend_from_slice(&v.to_le_bytes());
        }
        let l = self.buf.len() - start;
        self.backlen(l);
        self.count += 1;
    }

    /// Appends a string, stored as an integer when it is one (`lpEncodeGetType`).
    fn push_str(&mut self, s: &[u8]) {
        if s.len() <= 20 {
            if let Some(v) = parse_i64(s) {
                self.push_int(v);
                return;
            }
        }
        let start = self.buf.len();
        let n = s.len();
        let b = &mut self.buf;
        if n < 64 {
            b.push(n as u8 | 0x80);
        } else if n < 4096 {
            b.extend_from_slice(&[(n >> 8) as u8 | 0xE0, n as u8]);
        } else {
            b.push(0xF0);
            b.extend_from_slice(&(n as u32).to_le_bytes());
        }
        b.extend_from_slice(s);
        let l = self.buf.len() - start;
        self.backlen(l);
        self.count += 1;
    }

    fn push_elem(&mut self, e: Elem) {
        match e {
            Elem::Int(n) => self.push_int(n),
            Elem::Str(s) => self.push_str(s),
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.buf.push(0xFF);
        let total = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        let n = self.count.min(u16::MAX as usize) as u16;
        self.buf[4..6].copy_from_slice(&n.to_le_bytes());
        self.buf
    }
}

/// Whether a quicklist node of `sz` bytes and `count` elements takes one more element of `len` bytes
/// (`_quicklistNodeAllowInsert`).
fn node_takes(sz: usize, count: usize, len: usize, fill: i64) -> bool {
    const LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
    let new_sz = sz + len + 8;
    if fill < 0 {
        if let Some(&lim) = LEVELS.get((-fill - 1) as usize) {
            if new_sz <= lim {
                return true;
            }
        }
    }
    new_sz <= 8192 && (count as i64) < fill
}

/// Score as a sorted-set listpack holds it: an integer when the double is one within ±2^62
/// (`double2ll`), else Redis's `d2string` text.
fn push_score(lp: &mut Listpack, d: f64) {
    const LIM: f64 = (i64::MAX / 2) as f64;
    if (-LIM..=LIM).contains(&d) && d.fract() == 0.0 {
        lp.push_int(d as i64);
    } else {
        lp.push_str(crate::protocol::reply::fmt_double(d).as_bytes());
    }
}

/// The DUMP payload of `val`: object type, object, RDB version, CRC64. `list_fill` is
/// `list-max-listpack-size`, which decides how a list is cut into quicklist nodes.
pub fn dump(val: &Value, list_fill: i64) -> Vec<u8> {
    let mut out = Vec::new();
    save_object(&mut out, val, list_fill);
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Appends `val` as `rdbSaveObjectType` + `rdbSaveObject` write it: the type byte, then the object. An RDB
/// file puts the key between the two, after the first byte.
pub fn save_object(out: &mut Vec<u8>, val: &Value, list_fill: i64) {
    match val {
        Value::Int(n) => {
            out.push(T_STRING);
            let mut tmp = [0u8; 20];
            save_string(out, fmt_i64(*n, &mut tmp));
        }
        Value::Str(b) => {
            out.push(T_STRING);
            save_string(out, b.as_slice());
        }
        Value::List(l) => {
            out.push(T_LIST_QUICKLIST_2);
            dump_list(out, l, list_fill);
        }
        Value::Set(s) => match s.intset_width() {
            Some(w) => {
                out.push(T_SET_INTSET);
                let mut blob = Vec::with_capacity(8 + s.len() * w as usize);
                blob.extend_from_slice(&(w as u32).to_le_bytes());
                blob.extend_from_slice(&(s.len() as u32).to_le_bytes());
                for e in s.iter() {
                    if let Elem::Int(n) = e {
                        blob.extend_from_slice(&n.to_le_bytes()[..w as usize]);
                    }
                }
                save_string(out, &blob);
            }
            None => {
                out.push(T_SET);
                save_len(out, s.len() as u64);
                for e in s.iter() {
                    save_elem(out, e);
                }
            }
        },
        Value::Hash(h) => {
            if h.encoding() == "listpack" {
                out.push(T_HASH_LISTPACK);
                let mut lp = Listpack::new();
                h.for_each(|f, v| {
                    lp.push_elem(f);
                    lp.push_elem(v);
                });
                save_string(out, &lp.finish());
            } else {
                out.push(T_HASH);
                save_len(out, h.len() as u64);
                h.for_each(|f, v| {
                    save_elem(out, f);
                    save_elem(out, v);
                });
            }
        }
        Value::Stream(s) => super::stream::save_rdb(out, s),
        Value::ZSet(z) => {
            if z.encoding() == "listpack" {
                out.push(T_ZSET_LISTPACK);
                let mut lp = Listpack::new();
                for (m, s) in z.iter() {
                    lp.push_str(m);
                    push_score(&mut lp, s);
                }
                save_string(out, &lp.finish());
            } else {
                // Greatest first, as Redis walks its skiplist from the tail.
                out.push(T_ZSET_2);
                save_len(out, z.len() as u64);
                for (m, s) in z.iter_from(z.len().saturating_sub(1), true) {
                    save_string(out, m);
                    out.extend_from_slice(&s.to_le_bytes());
                }
            }
        }
    }
}

/// A list as quicklist nodes, cut where RPUSH would have started a new node.
fn dump_list(out: &mut Vec<u8>, l: &List, fill: i64) {
    enum Node<'a> {
        Packed(Listpack),
        Plain(&'a [u8]),
    }
    let mut nodes: Vec<Node> = Vec::new();
    for e in l.iter() {
        let s = e.as_slice();
        if s.len() >= PLAIN_THRESHOLD {
            nodes.push(Node::Plain(s));
            continue;
        }
        match nodes.last_mut() {
            Some(Node::Packed(lp)) if node_takes(lp.size(), lp.count, s.len(), fill) => {
                lp.push_str(s)
            }
            _ => {
                let mut lp = Listpack::new();
                lp.push_str(s);
                nodes.push(Node::Packed(lp));
            }
        }
    }
    save_len(out, nodes.len() as u64);
    for n in nodes {
        match n {
            Node::Packed(lp) => {
                save_len(out, QUICKLIST_PACKED);
                save_string(out, &lp.finish());
            }
            Node::Plain(s) => {
                save_len(out, QUICKLIST_PLAIN);
                save_string(out, s);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// Reading.

/// Checks the footer: at least 10 bytes, an RDB version Redis 7.0 knows, a matching CRC64.
pub fn verify(payload: &[u8]) -> bool {
    if payload.len() < 10 {
        return false;
    }
    let f = payload.len() - 10;
    let ver = u16::from_le_bytes([payload[f], payload[f + 1]]);
    if ver > RDB_VERSION {
        return false;
    }
    let mut crc = [0u8; 8];
    crc.copy_from_slice(&payload[f + 2..]);
    crc64(0, &payload[..f + 2]) == u64::from_le_bytes(crc)
}

type Res<T> = Result<T, LoadError>;

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn left(&self) -> usize {
        self.buf.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Res<&'a [u8]> {
        if n > self.left() {
            return Err(LoadError::Format);
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn byte(&mut self) -> Res<u8> {
        Ok(self.take(1)?[0])
    }

    /// A length, or (true, encoding) for a specially encoded string.
    fn len_or_enc(&mut self) -> Res<(bool, u64)> {
        let b = self.byte()?;
        Ok(match b >> 6 {
            0 => (false, (b & 0x3f) as u64),
            1 => (false, (((b & 0x3f) as u64) << 8) | self.byte()? as u64),
            3 => (true, (b & 0x3f) as u64),
            _ if b == 0x80 => {
                let mut w = [0u8; 4];
                w.copy_from_slice(self.take(4)?);
                (false, u32::from_be_bytes(w) as u64)
            }
            _ if b == 0x81 => {
                let mut w = [0u8; 8];
                w.copy_from_slice(self.take(8)?);
                (false, u64::from_be_bytes(w))
            }
            _ => return Err(LoadError::Format),
        })
    }

    fn len(&mut self) -> Res<u64> {
        match self.len_or_enc()? {
            (false, n) => Ok(n),
            (true, _) => Err(LoadError::Format),
        }
    }

    /// A count of items that each take at least one byte: more than the bytes left is a lie.
    fn count(&mut self) -> Res<usize> {
        let n = self.len()?;
        if n > self.left() as u64 {
            return Err(LoadError::Format);
        }
        Ok(n as usize)
    }

    fn string(&mut self) -> Res<Cow<'a, [u8]>> {
        let (enc, n) = self.len_or_enc()?;
        if !enc {
            let n = usize::try_from(n).map_err(|_| LoadError::Format)?;
            return Ok(Cow::Borrowed(self.take(n)?));
        }
        let v = match n {
            ENC_INT8 => self.byte()? as i8 as i64,
            ENC_INT16 => {
                let b = self.take(2)?;
                i16::from_le_bytes([b[0], b[1]]) as i64
            }
            ENC_INT32 => {
                let b = self.take(4)?;
                i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64
            }
            ENC_LZF => {
                let clen = self.len()?;
                let len = self.len()?;
                let clen = usize::try_from(clen).map_err(|_| LoadError::Format)?;
                let len = usize::try_from(len).map_err(|_| LoadError::Format)?;
                let c = self.take(clen)?;
                return lzf_decompress(c, len)
                    .map(Cow::Owned)
                    .ok_or(LoadError::Format);
            }
            _ => return Err(LoadError::Format),
        };
        let mut tmp = [0u8; 20];
        Ok(Cow::Owned(fmt_i64(v, &mut tmp).to_vec()))
    }

    fn binary_double(&mut self) -> Res<f64> {
        let mut w = [0u8; 8];
        w.copy_from_slice(self.take(8)?);
        Ok(f64::from_le_bytes(w))
    }

    /// The old text form of a double: a length byte (253 nan, 254 inf, 255 -inf) and `%.17g` text.
    fn text_double(&mut self) -> Res<f64> {
        match self.byte()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let s = self.take(n as usize)?;
                let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
                let (v, used, _) = crate::cmd::zset::c_strtod(&s[..end]);
                if used == 0 {
                    return Err(LoadError::Format);
                }
                Ok(v)
            }
        }
    }
}

/// Every entry of a listpack, which must be well formed throughout (Redis's deep `lpValidateIntegrity`).
fn listpack_entries(lp: &[u8]) -> Res<Vec<Elem<'_>>> {
    let bad = Err(LoadError::Format);
    if lp.len() < 7 || lp[lp.len() - 1] != 0xFF {
        return bad;
    }
    let total = u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize;
    let declared = u16::from_le_bytes([lp[4], lp[5]]) as usize;
    if total != lp.len() {
        return bad;
    }
    let end = lp.len() - 1;
    let mut out = Vec::with_capacity(declared.min(end / 2));
    let mut p = 6;
    while p < end {
        let b = lp[p];
        let need = |n: usize| {
            if p + n <= end {
                Ok(())
            } else {
                Err(LoadError::Format)
            }
        };
        let int_at = |k: usize| -> i64 {
            let mut w = [0u8; 8];
            w[..k].copy_from_slice(&lp[p + 1..p + 1 + k]);
            let shift = 64 - 8 * k as u32;
            (i64::from_le_bytes(w) << shift) >> shift
        };
        let (e, len) = if b & 0x80 == 0 {
            (Elem::Int((b & 0x7f) as i64), 1)
        } else if b & 0xC0 == 0x80 {
            let n = (b & 0x3f) as usize;
            need(1 + n)?;
            (Elem::Str(&lp[p + 1..p + 1 + n]), 1 + n)
        } else if b & 0xE0 == 0xC0 {
            need(2)?;
            let u = (((b & 0x1f) as i64) << 8) | lp[p + 1] as i64;
            (Elem::Int(if u >= 1 << 12 { u - (1 << 13) } else { u }), 2)
        } else if b & 0xF0 == 0xE0 {
            need(2)?;
            let n = (((b & 0x0f) as usize) << 8) | lp[p + 1] as usize;
            need(2 + n)?;
            (Elem::Str(&lp[p + 2..p + 2 + n]), 2 + n)
        } else {
            match b {
                0xF0 => {
                    need(5)?;
                    let n = u32::from_le_bytes([lp[p + 1], lp[p + 2], lp[p + 3], lp[p + 4]]);
                    let n = n as usize;
                    need(5usize.checked_add(n).ok_or(LoadError::Format)?)?;
                    (Elem::Str(&lp[p + 5..p + 5 + n]), 5 + n)
                }
                0xF1 => {
                    need(3)?;
                    (Elem::Int(int_at(2)), 3)
                }
                0xF2 => {
                    need(4)?;
                    (Elem::Int(int_at(3)), 4)
                }
                0xF3 => {
                    need(5)?;
                    (Elem::Int(int_at(4)), 5)
                }
                0xF4 => {
                    need(9)?;
                    (Elem::Int(int_at(8)), 9)
                }
                _ => return bad,
            }
        };
        // The back-length that follows must say `len`, in the fewest bytes.
        let mut bl = Listpack {
            buf: Vec::new(),
            count: 0,
        };
        bl.backlen(len);
        need(len + bl.buf.len())?;
        if lp[p + len..p + len + bl.buf.len()] != bl.buf[..] {
            return bad;
        }
        out.push(e);
        p += len + bl.buf.len();
    }
    if declared != u16::MAX as usize && declared != out.len() {
        return bad;
    }
    Ok(out)
}

/// Every entry of a ziplist (the pre-7.0 compact encoding), deeply validated as Redis does on load.
fn ziplist_entries(zl: &[u8]) -> Res<Vec<Elem<'_>>> {
    let bad = Err(LoadError::Format);
    if zl.len() < 11 || zl[zl.len() - 1] != 0xFF {
        return bad;
    }
    let total = u32::from_le_bytes([zl[0], zl[1], zl[2], zl[3]]) as usize;
    let tail = u32::from_le_bytes([zl[4], zl[5], zl[6], zl[7]]) as usize;
    let declared = u16::from_le_bytes([zl[8], zl[9]]) as usize;
    if total != zl.len() || tail > zl.len() - 1 {
        return bad;
    }
    let end = zl.len() - 1;
    let mut out = Vec::with_capacity(declared.min(end / 2));
    let mut p = 10;
    let mut prev_len = 0usize;
    let mut last = 10;
    while p < end {
        let start = p;
        let need = |at: usize, n: usize| {
            if at.checked_add(n).is_some_and(|x| x <= end) {
                Ok(())
            } else {
                Err(LoadError::Format)
            }
        };
        need(p, 1)?;
        let prevlen = if zl[p] < 254 {
            p += 1;
            zl[p - 1] as usize
        } else if zl[p] == 254 {
            need(p, 5)?;
            let v = u32::from_le_bytes([zl[p + 1], zl[p + 2], zl[p + 3], zl[p + 4]]);
            p += 5;
            v as usize
        } else {
            return bad;
        };
        if prevlen != prev_len {
            return bad;
        }
        need(p, 1)?;
        let b = zl[p];
        let int_at = |at: usize, k: usize| -> i64 {
            let mut w = [0u8; 8];
            w[..k].copy_from_slice(&zl[at..at + k]);
            let shift = 64 - 8 * k as u32;
            (i64::from_le_bytes(w) << shift) >> shift
        };
        let e = match b >> 6 {
            0 => {
                let n = (b & 0x3f) as usize;
                need(p + 1, n)?;
                p += 1 + n;
                Elem::Str(&zl[p - n..p])
            }
            1 => {
                need(p, 2)?;
                let n = (((b & 0x3f) as usize) << 8) | zl[p + 1] as usize;
                need(p + 2, n)?;
                p += 2 + n;
                Elem::Str(&zl[p - n..p])
            }
            2 => {
                if b != 0x80 {
                    return bad;
                }
                need(p, 5)?;
                let n = u32::from_be_bytes([zl[p + 1], zl[p + 2], zl[p + 3], zl[p + 4]]) as usize;
                need(p + 5, n)?;
                p += 5 + n;
                Elem::Str(&zl[p - n..p])
            }
            _ => {
                let k = match b {
                    0xC0 => 2,
                    0xD0 => 4,
                    0xE0 => 8,
                    0xF0 => 3,
                    0xFE => 1,
                    0xF1..=0xFD => 0,
                    _ => return bad,
                };
                need(p + 1, k)?;
                let v = if k == 0 {
                    (b & 0x0f) as i64 - 1
                } else {
                    int_at(p + 1, k)
                };
                p += 1 + k;
                Elem::Int(v)
            }
        };
        out.push(e);
        prev_len = p - start;
        last = start;
    }
    if (!out.is_empty() && tail != last) || (out.is_empty() && tail != 10) {
        return bad;
    }
    if declared != u16::MAX as usize && declared != out.len() {
        return bad;
    }
    Ok(out)
}

/// The integers of an intset blob: a known width, the exact size, strictly ascending, not empty.
fn intset_members(b: &[u8]) -> Res<Vec<i64>> {
    let bad = Err(LoadError::Format);
    if b.len() < 8 {
        return bad;
    }
    let w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let n = u32::from_le_bytes([b[4], b[5], b[6], b[7]]) as usize;
    if !matches!(w, 2 | 4 | 8) || n == 0 || n.checked_mul(w) != Some(b.len() - 8) {
        return bad;
    }
    let mut out = Vec::with_capacity(n);
    for c in b[8..].chunks_exact(w) {
        let mut v = [0u8; 8];
        v[..w].copy_from_slice(c);
        let shift = 64 - 8 * w as u32;
        let x = (i64::from_le_bytes(v) << shift) >> shift;
        if out.last().is_some_and(|&p| x <= p) {
            return bad;
        }
        out.push(x);
    }
    Ok(out)
}

fn elem_bytes(e: Elem) -> Bytes {
    let mut tmp = [0u8; 20];
    Bytes::new(e.bytes(&mut tmp))
}

/// Limits that keep whatever goes in compact, or that force the big encoding at once.
const KEEP_COMPACT_HASH: hash::Limits = hash::Limits {
    entries: usize::MAX,
    value: usize::MAX,
};
const FORCE_TABLE_HASH: hash::Limits = hash::Limits {
    entries: 0,
    value: 0,
};

/// A hash from listpack/ziplist pairs: compact unless there are more pairs than the limit (Redis checks
/// only the count here, not the lengths).
fn hash_from_pairs(items: &[Elem], lim: &Limits) -> Res<Value> {
    if items.is_empty() || !items.len().is_multiple_of(2) {
        return Err(LoadError::Format);
    }
    let hl = if items.len() / 2 > lim.hash.entries {
        FORCE_TABLE_HASH
    } else {
        KEEP_COMPACT_HASH
    };
    let mut h = Hash::new();
    for pair in items.chunks_exact(2) {
        let (mut tf, mut tv) = ([0u8; 20], [0u8; 20]);
        if !h.set(pair[0].bytes(&mut tf), pair[1].bytes(&mut tv), hl) {
            return Err(LoadError::Format);
        }
    }
    Ok(Value::Hash(h))
}

/// A sorted set from (member, score) pairs in any order: duplicates and NaN refused.
fn zset_from(mut items: Vec<(Bytes, f64)>, zl: zset::Limits) -> Res<Value> {
    if items.is_empty() || items.iter().any(|(_, s)| s.is_nan()) {
        return Err(LoadError::Format);
    }
    let mut seen = HashSet::with_capacity(items.len());
    if !items.iter().all(|(m, _)| seen.insert(m.as_slice())) {
        return Err(LoadError::Format);
    }
    drop(seen);
    items.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.as_slice().cmp(b.0.as_slice()))
    });
    Ok(Value::ZSet(Box::new(ZSet::from_sorted(items, zl))))
}

/// A sorted set from listpack/ziplist pairs: compact unless there are more pairs than the limit.
fn zset_from_pairs(items: &[Elem], lim: &Limits) -> Res<Value> {
    if items.is_empty() || !items.len().is_multiple_of(2) {
        return Err(LoadError::Format);
    }
    let mut v = Vec::with_capacity(items.len() / 2);
    for pair in items.chunks_exact(2) {
        let score = match pair[1] {
            Elem::Int(n) => n as f64,
            // Redis reads at most 127 bytes of a score with strtod (`zzlStrtod`).
            Elem::Str(s) => {
                let s = &s[..s.len().min(127)];
                let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
                crate::cmd::zset::c_strtod(&s[..end]).0
            }
        };
        v.push((elem_bytes(pair[0]), score));
    }
    let zl = if v.len() > lim.zset.entries {
        zset::Limits {
            entries: 0,
            value: 0,
        }
    } else {
        zset::Limits {
            entries: usize::MAX,
            value: usize::MAX,
        }
    };
    zset_from(v, zl)
}

fn set_from_ints(ints: &[i64], lim: &Limits) -> Value {
    let mut s = if ints.len() > lim.set_max_intset {
        Set::for_member(b"")
    } else {
        Set::new_intset()
    };
    for &n in ints {
        s.insert_elem(Elem::Int(n), usize::MAX);
    }
    Value::Set(Box::new(s))
}

/// Rebuilds the value in a DUMP payload (whose footer `verify` has accepted), choosing encodings by `lim`
/// as Redis's `rdbLoadObject` does.
pub fn load(payload: &[u8], lim: &Limits) -> Result<Value, LoadError> {
    if payload.len() < 10 {
        return Err(LoadError::Footer);
    }
    // The footer stays readable, as in Redis, which reads the body from the whole argument: a body cut
    // short runs on into the version and checksum bytes.
    let mut r = Reader {
        buf: payload,
        pos: 0,
    };
    let t = r.byte()?;
    load_body(t, &mut r, lim)
}

/// Reads a value of object type `t` at `*pos` in `buf` (an RDB file, where the type byte and the key come
/// first), advancing `*pos` past it.
pub fn read_value(t: u8, buf: &[u8], pos: &mut usize, lim: &Limits) -> Result<Value, LoadError> {
    let mut r = Reader { buf, pos: *pos };
    let v = load_body(t, &mut r, lim)?;
    *pos = r.pos;
    Ok(v)
}

/// Reads an RDB length at `*pos` (`rdbLoadLen`), advancing past it.
pub fn read_len(buf: &[u8], pos: &mut usize) -> Result<u64, LoadError> {
    let mut r = Reader { buf, pos: *pos };
    let n = r.len()?;
    *pos = r.pos;
    Ok(n)
}

/// Reads an RDB string at `*pos` (plain, integer-encoded or LZF), advancing past it.
pub fn read_string<'a>(buf: &'a [u8], pos: &mut usize) -> Result<Cow<'a, [u8]>, LoadError> {
    let mut r = Reader { buf, pos: *pos };
    let s = r.string()?;
    *pos = r.pos;
    Ok(s)
}

fn load_body(t: u8, r: &mut Reader, lim: &Limits) -> Result<Value, LoadError> {
    match t {
        T_STRING => Ok(Value::from_bytes(&r.string()?)),
        T_LIST => {
            let n = r.count()?;
            let mut l = List::new();
            for _ in 0..n {
                l.push(Bytes::new(&r.string()?), false);
            }
            nonempty_list(l)
        }
        T_LIST_QUICKLIST | T_LIST_QUICKLIST_2 => {
            let nodes = r.count()?;
            let mut l = List::new();
            for _ in 0..nodes {
                let container = if t == T_LIST_QUICKLIST_2 {
                    r.len()?
                } else {
                    QUICKLIST_PACKED
                };
                let data = r.string()?;
                if data.is_empty() {
                    return Err(LoadError::Format);
                }
                match container {
                    QUICKLIST_PLAIN => l.push(Bytes::new(&data), false),
                    QUICKLIST_PACKED => {
                        let items = if t == T_LIST_QUICKLIST_2 {
                            listpack_entries(&data)?
                        } else {
                            ziplist_entries(&data)?
                        };
                        for e in items {
                            l.push(elem_bytes(e), false);
                        }
                    }
                    _ => return Err(LoadError::Format),
                }
            }
            nonempty_list(l)
        }
        T_LIST_ZIPLIST => {
            let data = r.string()?;
            let mut l = List::new();
            for e in ziplist_entries(&data)? {
                l.push(elem_bytes(e), false);
            }
            nonempty_list(l)
        }
        T_SET => {
            let n = r.count()?;
            if n == 0 {
                return Err(LoadError::Format);
            }
            let max = lim.set_max_intset.min(1 << 30);
            let mut s = if n > max {
                Set::for_member(b"")
            } else {
                Set::new_intset()
            };
            for _ in 0..n {
                if !s.insert(&r.string()?, max) {
                    return Err(LoadError::Format);
                }
            }
            Ok(Value::Set(Box::new(s)))
        }
        T_SET_INTSET => {
            let data = r.string()?;
            Ok(set_from_ints(&intset_members(&data)?, lim))
        }
        T_ZSET | T_ZSET_2 => {
            let n = r.count()?;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                let m = Bytes::new(&r.string()?);
                let s = if t == T_ZSET_2 {
                    r.binary_double()?
                } else {
                    r.text_double()?
                };
                v.push((m, s));
            }
            zset_from(v, lim.zset)
        }
        T_ZSET_LISTPACK | T_ZSET_ZIPLIST => {
            let data = r.string()?;
            let items = if t == T_ZSET_LISTPACK {
                listpack_entries(&data)?
            } else {
                ziplist_entries(&data)?
            };
            zset_from_pairs(&items, lim)
        }
        T_HASH => {
            let n = r.count()?;
            if n == 0 {
                return Err(LoadError::Format);
            }
            let hl = if n > lim.hash.entries {
                FORCE_TABLE_HASH
            } else {
                lim.hash
            };
            let mut h = Hash::new();
            for _ in 0..n {
                let f = r.string()?;
                let v = r.string()?;
                if !h.set(&f, &v, hl) {
                    return Err(LoadError::Format);
                }
            }
            Ok(Value::Hash(h))
        }
        T_HASH_LISTPACK | T_HASH_ZIPLIST => {
            let data = r.string()?;
            let items = if t == T_HASH_LISTPACK {
                listpack_entries(&data)?
            } else {
                ziplist_entries(&data)?
            };
            hash_from_pairs(&items, lim)
        }
        super::stream::RDB_TYPE_STREAM | super::stream::RDB_TYPE_STREAM_2 => {
            super::stream::load_rdb(t, r.buf, &mut r.pos)
        }
        _ => Err(LoadError::Format),
    }
}

fn nonempty_list(l: List) -> Res<Value> {
    if l.is_empty() {
        Err(LoadError::Format)
    } else {
        Ok(Value::List(Box::new(l)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_matches_redis() {
        assert_eq!(crc64(0, b"123456789"), 0xe9c6d914c4b8d9ca);
        let long: Vec<u8> = (0..1000u32).map(|i| (i * 7 + 3) as u8).collect();
        let mut bitwise = 0u64;
        for &b in &long {
            bitwise ^= b as u64;
            for _ in 0..8 {
                bitwise = if bitwise & 1 != 0 {
                    (bitwise >> 1) ^ 0x95ac_9329_ac4b_c9b5
                } else {
                    bitwise >> 1
                };
            }
        }
        assert_eq!(crc64(0, &long), bitwise);
    }

    #[test]
    fn lzf_round_trips() {
        for input in [
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec(),
            b"abcabcabcabcabcabcabcabcabcabcxyzxyzxyzabc".to_vec(),
            (0..5000u32).map(|i| (i % 251) as u8).collect(),
            (0..5000u32).map(|i| (i * i % 13) as u8).collect(),
        ] {
            let c = lzf_compress(&input, input.len() - 4).expect("compressible");
            assert_eq!(lzf_decompress(&c, input.len()).as_deref(), Some(&input[..]));
            assert!(lzf_decompress(&c, input.len() + 1).is_none());
        }
        let random: Vec<u8> = (0..64u64)
            .map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8)
            .collect();
        assert!(lzf_compress(&random, random.len() - 4).is_none());
    }

    #[test]
    fn listpack_round_trips() {
        let strs: Vec<Vec<u8>> = [
            "0",
            "127",
            "128",
            "-1",
            "-4096",
            "4095",
            "4096",
            "-32768",
            "32767",
            "-8388608",
            "8388607",
            "8388608",
            "2147483647",
            "-2147483649",
            "9223372036854775807",
            "-9223372036854775808",
            "01",
            "-0",
            "",
            "abc",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .chain([
            vec![b'x'; 63],
            vec![b'y'; 64],
            vec![b'z'; 4095],
            vec![b'w'; 4096],
        ])
        .collect();
        let mut lp = Listpack::new();
        for s in &strs {
            lp.push_str(s);
        }
        let buf = lp.finish();
        let back = listpack_entries(&buf).unwrap();
        assert_eq!(back.len(), strs.len());
        for (e, s) in back.iter().zip(&strs) {
            assert_eq!(&e.to_vec(), s);
        }
        let mut bad = buf.clone();
        bad[7] ^= 0x40;
        let _ = listpack_entries(&bad);
        for cut in 0..buf.len() {
            assert!(listpack_entries(&buf[..cut]).is_err());
        }
    }
}
