//! The hash type in Redis 7.0's two encodings:
//!
//! - `listpack`: one exact-size heap block holding field, value, field, value, ... each as a one-byte
//!   header and its bytes, scanned linearly; kept while there are at most `hash-max-listpack-entries`
//!   fields and no field or value is longer than `hash-max-listpack-value`. New fields go at the end and
//!   an updated value keeps its place, so iteration follows insertion order as a listpack does.
//! - `hashtable`: a [`Table`] of (field, value) pairs. Like Redis, a hash never converts back.
//!
//! A hash is a 16-byte handle held inline in `Value` (no box of its own): a small hash costs the key's
//! slot plus one block of about 2 bytes of overhead per field and value, which is what keeps a million
//! small hashes under Redis's RSS.
//!
//! Element encoding in the block (canonical, so two elements are equal exactly when their encoded bytes
//! are, and a lookup is a byte comparison):
//! - `0x00..=0xEF`: a string of that many bytes follows;
//! - `0xF1..=0xF8`: an integer in 1 to 8 little-endian two's-complement bytes, used for a canonical i64
//!   (`string2ll`) when it is shorter than its digits, as listpacks store integers;
//! - `0xF9`/`0xFA`/`0xFB`: a string whose length follows as a u16/u32/u64.

use super::set::{Elem, Table};
use super::value::Bytes;
use crate::util::parse_i64;

const SHORT_MAX: usize = 0xEF;
const INT_TAG: u8 = 0xF0;
const STR16: u8 = 0xF9;
const STR32: u8 = 0xFA;
const STR64: u8 = 0xFB;

/// The conversion thresholds, read from the config by the commands.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// `hash-max-listpack-entries`
    pub entries: usize,
    /// `hash-max-listpack-value`
    pub value: usize,
}

/// The canonical encoding of one string: its header (with the integer bytes, for an integer) and the body.
struct Enc<'a> {
    head: [u8; 9],
    hlen: usize,
    body: &'a [u8],
}

impl Enc<'_> {
    fn new(s: &[u8]) -> Enc<'_> {
        let mut head = [0u8; 9];
        if (2..=20).contains(&s.len()) {
            if let Some(n) = parse_i64(s) {
                let k = int_width(n);
                if k < s.len() {
                    head[0] = INT_TAG + k as u8;
                    head[1..=k].copy_from_slice(&n.to_le_bytes()[..k]);
                    return Enc {
                        head,
                        hlen: 1 + k,
                        body: &[],
                    };
                }
            }
        }
        let n = s.len();
        let hlen = if n <= SHORT_MAX {
            head[0] = n as u8;
            1
        } else if let Ok(m) = u16::try_from(n) {
            head[0] = STR16;
            head[1..3].copy_from_slice(&m.to_le_bytes());
            3
        } else if let Ok(m) = u32::try_from(n) {
            head[0] = STR32;
            head[1..5].copy_from_slice(&m.to_le_bytes());
            5
        } else {
            head[0] = STR64;
            head[1..9].copy_from_slice(&(n as u64).to_le_bytes());
            9
        };
        Enc {
            head,
            hlen,
            body: s,
        }
    }

    #[inline]
    fn size(&self) -> usize {
        self.hlen + self.body.len()
    }

    fn push(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(&self.head[..self.hlen]);
        buf.extend_from_slice(self.body);
    }

    /// Whether the element at `pos` of `buf` is this one.
    #[inline]
    fn is_at(&self, buf: &[u8], pos: usize) -> bool {
        let b = pos + self.hlen;
        buf.get(pos..b) == Some(&self.head[..self.hlen])
            && buf.get(b..b + self.body.len()) == Some(self.body)
    }
}

/// Bytes of two's complement `n` needs (1..=8).
fn int_width(n: i64) -> usize {
    let magnitude = if n < 0 { !n } else { n };
    let bits = 64 - magnitude.leading_zeros() as usize + 1;
    bits.div_ceil(8)
}

/// Decodes the element at `pos`; returns it and the position after it. `buf` is always a block this module
/// wrote, so its headers are well formed.
#[inline]
fn elem_at(buf: &[u8], pos: usize) -> (Elem<'_>, usize) {
    let h = buf[pos];
    let (start, len) = match h {
        0..=0xEF => (pos + 1, h as usize),
        0xF1..=0xF8 => {
            let k = (h - INT_TAG) as usize;
            let mut b = [0u8; 8];
            b[..k].copy_from_slice(&buf[pos + 1..pos + 1 + k]);
            let shift = 64 - 8 * k as u32;
            let n = (i64::from_le_bytes(b) << shift) >> shift;
            return (Elem::Int(n), pos + 1 + k);
        }
        STR16 => (
            pos + 3,
            u16::from_le_bytes([buf[pos + 1], buf[pos + 2]]) as usize,
        ),
        STR32 => {
            let mut b = [0u8; 4];
            b.copy_from_slice(&buf[pos + 1..pos + 5]);
            (pos + 5, u32::from_le_bytes(b) as usize)
        }
        _ => {
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[pos + 1..pos + 9]);
            (pos + 9, u64::from_le_bytes(b) as usize)
        }
    };
    (Elem::Str(&buf[start..start + len]), start + len)
}

/// Where a field sits in a block: its start, its value's start, and the end of the value.
struct Found {
    field: usize,
    value: usize,
    end: usize,
}

fn pack_find(buf: &[u8], field: &Enc) -> Option<Found> {
    let mut pos = 0;
    while pos < buf.len() {
        let (_, value) = elem_at(buf, pos);
        let (_, end) = elem_at(buf, value);
        if field.is_at(buf, pos) {
            return Some(Found {
                field: pos,
                value,
                end,
            });
        }
        pos = end;
    }
    None
}

fn pack_len(buf: &[u8]) -> usize {
    let mut pos = 0;
    let mut n = 0;
    while pos < buf.len() {
        pos = elem_at(buf, pos).1;
        n += 1;
    }
    n / 2
}

/// Sets `field` to `value` in a block being edited; true if the field is new.
fn pack_set(buf: &mut Vec<u8>, field: &[u8], value: &[u8]) -> bool {
    let f = Enc::new(field);
    let v = Enc::new(value);
    match pack_find(buf, &f) {
        Some(at) => {
            if at.end - at.value == v.size() {
                buf[at.value..at.value + v.hlen].copy_from_slice(&v.head[..v.hlen]);
                buf[at.value + v.hlen..at.end].copy_from_slice(v.body);
            } else {
                let mut enc = Vec::with_capacity(v.size());
                v.push(&mut enc);
                buf.splice(at.value..at.end, enc);
            }
            false
        }
        None => {
            buf.reserve_exact(f.size() + v.size());
            f.push(buf);
            v.push(buf);
            true
        }
    }
}

#[derive(Clone)]
enum Repr {
    Pack(Box<[u8]>),
    Table(Box<Table<(Bytes, Bytes)>>),
}

/// A hash value.
#[derive(Clone)]
pub struct Hash {
    repr: Repr,
}

impl Default for Hash {
    fn default() -> Hash {
        Hash::new()
    }
}

/// Random access to a hash's pairs by position, for HRANDFIELD.
pub enum View<'a> {
    Pack { buf: &'a [u8], fields: Vec<u32> },
    Table(&'a Table<(Bytes, Bytes)>),
}

impl View<'_> {
    pub fn len(&self) -> usize {
        match self {
            View::Pack { fields, .. } => fields.len(),
            View::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The field and value at position `i` (< len).
    #[inline]
    pub fn pair(&self, i: usize) -> (Elem<'_>, Elem<'_>) {
        match self {
            View::Pack { buf, fields } => {
                let (f, v) = elem_at(buf, fields[i] as usize);
                (f, elem_at(buf, v).0)
            }
            View::Table(t) => {
                let (f, v) = &t.items()[i];
                (Elem::Str(f.as_slice()), Elem::Str(v.as_slice()))
            }
        }
    }
}

impl Hash {
    /// An empty hash (listpack-encoded, no allocation yet).
    pub fn new() -> Hash {
        Hash {
            repr: Repr::Pack(Box::default()),
        }
    }

    /// OBJECT ENCODING name, as Redis 7.0 reports it.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Pack(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    /// Approximate heap bytes owned.
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Pack(b) => b.len(),
            Repr::Table(t) => {
                std::mem::size_of::<Table<(Bytes, Bytes)>>()
                    + t.heap_size()
                    + t.items()
                        .iter()
                        .map(|(f, v)| f.heap_size() + v.heap_size())
                        .sum::<usize>()
            }
        }
    }

    /// Number of fields (a walk of the block for a listpack, as it holds at most a few hundred).
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Pack(b) => pack_len(b),
            Repr::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        match &self.repr {
            Repr::Pack(b) => b.is_empty(),
            Repr::Table(t) => t.is_empty(),
        }
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<Elem<'_>> {
        match &self.repr {
            Repr::Pack(b) => {
                let at = pack_find(b, &Enc::new(field))?;
                Some(elem_at(b, at.value).0)
            }
            Repr::Table(t) => t.get(field).map(|(_, v)| Elem::Str(v.as_slice())),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        match &self.repr {
            Repr::Pack(b) => pack_find(b, &Enc::new(field)).is_some(),
            Repr::Table(t) => t.position(field).is_some(),
        }
    }

    /// Converts a listpack to a hash table.
    fn convert(&mut self) {
        if let Repr::Pack(b) = &self.repr {
            let mut t = Table::with_capacity(pack_len(b));
            let (mut tf, mut tv) = ([0u8; 20], [0u8; 20]);
            let mut pos = 0;
            while pos < b.len() {
                let (f, v) = elem_at(b, pos);
                let (v, end) = elem_at(b, v);
                t.push((Bytes::new(f.bytes(&mut tf)), Bytes::new(v.bytes(&mut tv))));
                pos = end;
            }
            self.repr = Repr::Table(Box::new(t));
        }
    }

    /// Sets every (field, value) pair in order; returns how many fields are new. As Redis's HSET does, a
    /// listpack converts first if any string is longer than `lim.value`, and after the writes if it holds
    /// more than `lim.entries` fields.
    pub fn set_pairs<'a>(
        &mut self,
        pairs: impl Iterator<Item = (&'a [u8], &'a [u8])> + Clone,
        lim: Limits,
    ) -> usize {
        if let Repr::Pack(_) = self.repr {
            if pairs
                .clone()
                .any(|(f, v)| f.len() > lim.value || v.len() > lim.value)
            {
                self.convert();
            }
        }
        let mut added = 0;
        match &mut self.repr {
            Repr::Pack(b) => {
                let mut buf = std::mem::take(b).into_vec();
                if buf.is_empty() {
                    // A new hash: one allocation for all of its pairs.
                    let size = pairs
                        .clone()
                        .map(|(f, v)| Enc::new(f).size() + Enc::new(v).size());
                    buf.reserve_exact(size.sum());
                }
                for (f, v) in pairs {
                    added += pack_set(&mut buf, f, v) as usize;
                }
                // Exact size: a listpack is reallocated on every change too, and the slack would cost
                // more than the copy.
                *b = buf.into_boxed_slice();
                if added > 0 && pack_len(b) > lim.entries {
                    self.convert();
                }
            }
            Repr::Table(t) => {
                for (f, v) in pairs {
                    match t.position(f) {
                        Some(i) => t.at_mut(i).1 = Bytes::new(v),
                        None => {
                            t.push((Bytes::new(f), Bytes::new(v)));
                            added += 1;
                        }
                    }
                }
            }
        }
        added
    }

    /// Sets one field; true if it is new.
    pub fn set(&mut self, field: &[u8], value: &[u8], lim: Limits) -> bool {
        self.set_pairs(std::iter::once((field, value)), lim) == 1
    }

    /// Removes `field`; false if absent.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Pack(b) => match pack_find(b, &Enc::new(field)) {
                Some(at) => {
                    let mut buf = Vec::with_capacity(b.len() - (at.end - at.field));
                    buf.extend_from_slice(&b[..at.field]);
                    buf.extend_from_slice(&b[at.end..]);
                    *b = buf.into_boxed_slice();
                    true
                }
                None => false,
            },
            Repr::Table(t) => t.remove(field).is_some(),
        }
    }

    /// Calls `f` with every field and value, in the encoding's order.
    pub fn for_each<'a>(&'a self, mut f: impl FnMut(Elem<'a>, Elem<'a>)) {
        match &self.repr {
            Repr::Pack(b) => {
                let mut pos = 0;
                while pos < b.len() {
                    let (k, v) = elem_at(b, pos);
                    let (v, end) = elem_at(b, v);
                    f(k, v);
                    pos = end;
                }
            }
            Repr::Table(t) => {
                for (k, v) in t.items() {
                    f(Elem::Str(k.as_slice()), Elem::Str(v.as_slice()));
                }
            }
        }
    }

    /// Positional access for random picks.
    pub fn view(&self) -> View<'_> {
        match &self.repr {
            Repr::Pack(b) => {
                let mut fields = Vec::new();
                let mut pos = 0;
                while pos < b.len() {
                    fields.push(pos as u32);
                    let v = elem_at(b, pos).1;
                    pos = elem_at(b, v).1;
                }
                View::Pack { buf: b, fields }
            }
            Repr::Table(t) => View::Table(t),
        }
    }

    /// One HSCAN step: a listpack is returned whole with cursor 0, as Redis does; a hash table walks
    /// [`Table::scan`]'s cursor.
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        mut f: impl FnMut(Elem<'a>, Elem<'a>),
    ) -> u64 {
        match &self.repr {
            Repr::Pack(_) => {
                self.for_each(f);
                0
            }
            Repr::Table(t) => t.scan(cursor, count, |(k, v)| {
                f(Elem::Str(k.as_slice()), Elem::Str(v.as_slice()))
            }),
        }
    }
}

impl PartialEq for Hash {
    fn eq(&self, other: &Hash) -> bool {
        if self.len() != other.len() {
            return false;
        }
        let mut same = true;
        self.for_each(|f, v| {
            let mut tf = [0u8; 20];
            same &= other.get(f.bytes(&mut tf)).is_some_and(|w| {
                let (mut a, mut b) = ([0u8; 20], [0u8; 20]);
                w.bytes(&mut a) == v.bytes(&mut b)
            });
        });
        same
    }
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut m = f.debug_map();
        self.for_each(|k, v| {
            m.entry(
                &String::from_utf8_lossy(&k.to_vec()),
                &String::from_utf8_lossy(&v.to_vec()),
            );
        });
        m.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIM: Limits = Limits {
        entries: 128,
        value: 64,
    };

    fn s(e: Option<Elem>) -> Option<Vec<u8>> {
        e.map(|e| e.to_vec())
    }

    #[test]
    fn handle_is_two_words() {
        assert_eq!(std::mem::size_of::<Hash>(), 16);
    }

    #[test]
    fn elements_round_trip() {
        for v in [
            "",
            "0",
            "1",
            "12",
            "-1",
            "-12",
            "127",
            "128",
            "-128",
            "-129",
            "32767",
            "65536",
            "9223372036854775807",
            "-9223372036854775808",
            "01",
            "-0",
            "+1",
            "1.5",
            " 1",
            "abc",
        ] {
            let mut buf = Vec::new();
            Enc::new(v.as_bytes()).push(&mut buf);
            let (e, end) = elem_at(&buf, 0);
            assert_eq!(e.to_vec(), v.as_bytes(), "{v}");
            assert_eq!(end, buf.len());
            assert!(Enc::new(v.as_bytes()).is_at(&buf, 0));
        }
        for n in [0usize, 239, 240, 65535, 65536, 100_000] {
            let v = vec![b'x'; n];
            let mut buf = Vec::new();
            Enc::new(&v).push(&mut buf);
            assert_eq!(elem_at(&buf, 0), (Elem::Str(&v), buf.len()));
        }
        // "12345678" is stored in 4 bytes plus a header.
        assert_eq!(Enc::new(b"12345678").size(), 5);
    }

    #[test]
    fn set_get_remove_and_convert() {
        let mut h = Hash::new();
        assert!(h.set(b"f", b"1", LIM));
        assert!(!h.set(b"f", b"22", LIM));
        assert!(h.set(b"10", b"value", LIM));
        assert!(!h.set(b"f", b"333333333333", LIM));
        assert_eq!(s(h.get(b"f")), Some(b"333333333333".to_vec()));
        assert_eq!(s(h.get(b"10")), Some(b"value".to_vec()));
        assert_eq!(h.get(b"010"), None);
        assert_eq!(h.len(), 2);
        assert_eq!(h.encoding(), "listpack");
        assert!(h.remove(b"f") && !h.remove(b"f"));
        assert_eq!(h.len(), 1);
        for i in 0..129 {
            h.set(format!("k{i}").as_bytes(), b"v", LIM);
            if i == 126 {
                assert_eq!(h.encoding(), "listpack");
            }
        }
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.len(), 130);
        assert_eq!(s(h.get(b"10")), Some(b"value".to_vec()));
        let mut g = Hash::new();
        g.set(b"a", &[b'x'; 65], LIM);
        assert_eq!(g.encoding(), "hashtable");
        let mut g2 = Hash::new();
        g2.set(b"a", &[b'x'; 64], LIM);
        assert_eq!(g2.encoding(), "listpack");
    }
}
