//! The set type in Redis 7.0's two encodings, and the dense hash table it shares with the hash type.
//!
//! - `intset`: a sorted array of integers in the narrowest width (2, 4 or 8 bytes) that holds them all,
//!   used while every member is the canonical decimal form of an i64 and there are at most
//!   `set-max-intset-entries` of them (Redis 7.0 has no listpack sets).
//! - `hashtable`: a [`Table`]. Like Redis, a set never converts back to an intset by shrinking.
//!
//! [`Table`] keeps its items dense in a `Vec` (a removal moves the last item into the hole) with a
//! `HashTable<u32>` of positions beside it, so a random member is one uniform index and an item costs its
//! own bytes plus about five. Items only ever move *down*, so a cursor that walks positions from the top
//! returns every item present for the whole walk (SSCAN/HSCAN's guarantee), whatever is added or removed
//! between calls.

use std::sync::OnceLock;

use hashbrown::HashTable;

use super::value::Bytes;
use crate::util::{fmt_i64, hash_bytes, parse_i64, random_seed};

/// A member (or a hash field or value) as a compact encoding stores it: bytes, or an integer kept in
/// binary. Either way it stands for one byte string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem<'a> {
    Str(&'a [u8]),
    Int(i64),
}

impl<'a> Elem<'a> {
    /// The string this element stands for (integers are formatted into `tmp`).
    #[inline]
    pub fn bytes<'b>(&self, tmp: &'b mut [u8; 20]) -> &'b [u8]
    where
        'a: 'b,
    {
        match *self {
            Elem::Str(s) => s,
            Elem::Int(n) => fmt_i64(n, tmp),
        }
    }

    /// Length of the string this element stands for.
    pub fn len(&self) -> usize {
        let mut tmp = [0u8; 20];
        self.bytes(&mut tmp).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// An owned copy of the string.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut tmp = [0u8; 20];
        self.bytes(&mut tmp).to_vec()
    }
}

/// The seed of every collection's hash table: random per process, so clients cannot pick colliding
/// members (what Redis's SipHash is for).
fn seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(random_seed)
}

/// What a [`Table`] item is looked up by.
pub trait Keyed {
    fn key(&self) -> &[u8];
}

impl Keyed for Bytes {
    #[inline]
    fn key(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Keyed for (Bytes, Bytes) {
    #[inline]
    fn key(&self) -> &[u8] {
        self.0.as_slice()
    }
}

/// A hash table of items with distinct keys, dense in a `Vec` (see the module notes).
#[derive(Clone)]
pub struct Table<E> {
    items: Vec<E>,
    index: HashTable<u32>,
}

impl<E> Default for Table<E> {
    fn default() -> Table<E> {
        Table {
            items: Vec::new(),
            index: HashTable::new(),
        }
    }
}

impl<E: Keyed> Table<E> {
    pub fn with_capacity(n: usize) -> Table<E> {
        Table {
            items: Vec::with_capacity(n),
            index: HashTable::with_capacity(n),
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Every item, in position order.
    #[inline]
    pub fn items(&self) -> &[E] {
        &self.items
    }

    /// The position of the item with `key`.
    #[inline]
    pub fn position(&self, key: &[u8]) -> Option<usize> {
        let h = hash_bytes(seed(), key);
        let items = &self.items;
        self.index
            .find(h, |&i| items[i as usize].key() == key)
            .map(|&i| i as usize)
    }

    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<&E> {
        self.position(key).map(|i| &self.items[i])
    }

    /// The item at position `i`; the caller must not change its key.
    #[inline]
    pub fn at_mut(&mut self, i: usize) -> &mut E {
        &mut self.items[i]
    }

    /// Adds an item whose key is known to be absent.
    pub fn push(&mut self, e: E) {
        let i = self.items.len() as u32;
        let h = hash_bytes(seed(), e.key());
        self.items.push(e);
        let items = &self.items;
        self.index
            .insert_unique(h, i, |&j| hash_bytes(seed(), items[j as usize].key()));
    }

    /// Removes the item at position `i`; the last item takes its place.
    pub fn remove_at(&mut self, i: usize) -> E {
        let h = hash_bytes(seed(), self.items[i].key());
        if let Ok(slot) = self.index.find_entry(h, |&j| j as usize == i) {
            slot.remove();
        }
        let e = self.items.swap_remove(i);
        if i < self.items.len() {
            let moved = self.items.len() as u32;
            let h = hash_bytes(seed(), self.items[i].key());
            if let Some(slot) = self.index.find_mut(h, |&j| j == moved) {
                *slot = i as u32;
            }
        }
        let n = self.items.len();
        if self.items.capacity() > 64 && n * 4 < self.items.capacity() {
            // Give memory back after mass removals, as Redis's dict shrinks (items only move down, so
            // this keeps the scan guarantee).
            self.items.shrink_to(n * 2);
            let items = &self.items;
            self.index
                .shrink_to(n * 2, |&j| hash_bytes(seed(), items[j as usize].key()));
        }
        e
    }

    /// Removes the item with `key`.
    pub fn remove(&mut self, key: &[u8]) -> Option<E> {
        let i = self.position(key)?;
        Some(self.remove_at(i))
    }

    /// One SCAN step. The cursor is the number of positions still to visit (0 to start): this visits up
    /// to `count` positions below it, from the top down, and returns the new bound, 0 when done. Items
    /// present throughout are all visited because removals only move items down and additions go on top.
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut f: impl FnMut(&'a E)) -> u64 {
        let n = self.items.len() as u64;
        let hi = if cursor == 0 || cursor > n {
            n as usize
        } else {
            cursor as usize
        };
        let lo = hi.saturating_sub(count.max(1));
        for e in self.items[lo..hi].iter().rev() {
            f(e);
        }
        lo as u64
    }

    /// Heap bytes of the two arrays (not what items own).
    pub fn heap_size(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<E>() + self.index.capacity() * 5
    }
}

/// An intset: sorted integers in the narrowest width that holds them all.
#[derive(Debug, Clone)]
enum Ints {
    W16(Vec<i16>),
    W32(Vec<i32>),
    W64(Vec<i64>),
}

/// Runs `$e` with `$v` bound to the array, whatever its width.
macro_rules! each {
    ($s:expr, $v:ident => $e:expr) => {
        match $s {
            Ints::W16($v) => $e,
            Ints::W32($v) => $e,
            Ints::W64($v) => $e,
        }
    };
}

/// 2, 4 or 8: the width an intset needs to hold `n`.
fn width(n: i64) -> u8 {
    if i16::try_from(n).is_ok() {
        2
    } else if i32::try_from(n).is_ok() {
        4
    } else {
        8
    }
}

impl Ints {
    fn width(&self) -> u8 {
        match self {
            Ints::W16(_) => 2,
            Ints::W32(_) => 4,
            Ints::W64(_) => 8,
        }
    }

    #[inline]
    fn len(&self) -> usize {
        each!(self, v => v.len())
    }

    #[inline]
    fn get(&self, i: usize) -> i64 {
        match self {
            Ints::W16(v) => i64::from(v[i]),
            Ints::W32(v) => i64::from(v[i]),
            Ints::W64(v) => v[i],
        }
    }

    /// Position of `n`, if present.
    fn find(&self, n: i64) -> Option<usize> {
        if width(n) > self.width() {
            return None;
        }
        // `n` fits the width (checked above), so the casts are exact.
        match self {
            Ints::W16(v) => v.binary_search(&(n as i16)).ok(),
            Ints::W32(v) => v.binary_search(&(n as i32)).ok(),
            Ints::W64(v) => v.binary_search(&n).ok(),
        }
    }

    /// Adds `n`, widening the array first if it does not fit; false if already present.
    fn insert(&mut self, n: i64) -> bool {
        let w = width(n);
        if w > self.width() {
            let all: Vec<i64> = (0..self.len()).map(|i| self.get(i)).collect();
            *self = match w {
                4 => Ints::W32(all.into_iter().map(|x| x as i32).collect()),
                _ => Ints::W64(all),
            };
        }
        match self {
            Ints::W16(v) => sorted_insert(v, n as i16),
            Ints::W32(v) => sorted_insert(v, n as i32),
            Ints::W64(v) => sorted_insert(v, n),
        }
    }

    fn remove_at(&mut self, i: usize) {
        each!(self, v => {
            v.remove(i);
            if v.capacity() > 16 && v.len() * 2 < v.capacity() {
                v.shrink_to_fit();
            }
        })
    }

    fn heap_size(&self) -> usize {
        each!(self, v => v.capacity()) * self.width() as usize
    }
}

fn sorted_insert<T: Ord>(v: &mut Vec<T>, x: T) -> bool {
    match v.binary_search(&x) {
        Ok(_) => false,
        Err(p) => {
            v.insert(p, x);
            true
        }
    }
}

#[derive(Clone)]
enum Repr {
    Ints(Ints),
    Table(Table<Bytes>),
}

/// A set value.
#[derive(Clone)]
pub struct Set {
    repr: Repr,
}

impl Default for Set {
    fn default() -> Set {
        Set::new_intset()
    }
}

impl Set {
    /// An empty intset, which is how Redis starts the result of SINTERSTORE, SUNION and friends.
    pub fn new_intset() -> Set {
        Set {
            repr: Repr::Ints(Ints::W16(Vec::new())),
        }
    }

    /// An empty set of the encoding Redis's `setTypeCreate` picks for a first member `m`.
    pub fn for_member(m: &[u8]) -> Set {
        if parse_i64(m).is_some() {
            Set::new_intset()
        } else {
            Set {
                repr: Repr::Table(Table::default()),
            }
        }
    }

    /// OBJECT ENCODING name, as Redis 7.0 reports it.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Ints(_) => "intset",
            Repr::Table(_) => "hashtable",
        }
    }

    /// The integer width (2, 4 or 8 bytes) of an intset, which only ever widens as in Redis; None for a
    /// hash table. DUMP writes it, so the payload matches Redis's byte for byte.
    pub fn intset_width(&self) -> Option<u8> {
        match &self.repr {
            Repr::Ints(v) => Some(v.width()),
            Repr::Table(_) => None,
        }
    }

    /// Approximate heap bytes owned.
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Ints(v) => v.heap_size(),
            Repr::Table(t) => t.heap_size() + t.items().iter().map(Bytes::heap_size).sum::<usize>(),
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Ints(v) => v.len(),
            Repr::Table(t) => t.len(),
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The member at position `i` (< len); positions are what random picks and iteration use.
    #[inline]
    pub fn at(&self, i: usize) -> Elem<'_> {
        match &self.repr {
            Repr::Ints(v) => Elem::Int(v.get(i)),
            Repr::Table(t) => Elem::Str(t.items()[i].as_slice()),
        }
    }

    /// Every member, in the encoding's order (ascending for an intset).
    pub fn iter(&self) -> impl Iterator<Item = Elem<'_>> + '_ {
        (0..self.len()).map(|i| self.at(i))
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match &self.repr {
            Repr::Ints(v) => parse_i64(m).is_some_and(|n| v.find(n).is_some()),
            Repr::Table(t) => t.position(m).is_some(),
        }
    }

    pub fn contains_elem(&self, e: Elem) -> bool {
        match (e, &self.repr) {
            (Elem::Int(n), Repr::Ints(v)) => v.find(n).is_some(),
            (Elem::Int(n), Repr::Table(t)) => {
                let mut tmp = [0u8; 20];
                t.position(fmt_i64(n, &mut tmp)).is_some()
            }
            (Elem::Str(s), _) => self.contains(s),
        }
    }

    /// Converts an intset to a hash table.
    fn convert(&mut self) {
        if let Repr::Ints(v) = &self.repr {
            let mut t = Table::with_capacity(v.len());
            let mut tmp = [0u8; 20];
            for i in 0..v.len() {
                t.push(Bytes::new(fmt_i64(v.get(i), &mut tmp)));
            }
            self.repr = Repr::Table(t);
        }
    }

    /// Adds `m`; false if already a member. An intset becomes a hash table on a non-integer member or
    /// past `max_intset` members, as Redis's `setTypeAdd` does.
    pub fn insert(&mut self, m: &[u8], max_intset: usize) -> bool {
        if let Repr::Ints(v) = &mut self.repr {
            match parse_i64(m) {
                Some(n) => {
                    if !v.insert(n) {
                        return false;
                    }
                    if v.len() > max_intset {
                        self.convert();
                    }
                    return true;
                }
                None => self.convert(),
            }
        }
        match &mut self.repr {
            Repr::Table(t) => {
                if t.position(m).is_some() {
                    return false;
                }
                t.push(Bytes::new(m));
                true
            }
            Repr::Ints(_) => false,
        }
    }

    /// Like `insert`, for an element of another set.
    pub fn insert_elem(&mut self, e: Elem, max_intset: usize) -> bool {
        match (e, &mut self.repr) {
            (Elem::Int(n), Repr::Ints(v)) => {
                if !v.insert(n) {
                    return false;
                }
                if v.len() > max_intset {
                    self.convert();
                }
                true
            }
            _ => {
                let mut tmp = [0u8; 20];
                self.insert(e.bytes(&mut tmp), max_intset)
            }
        }
    }

    /// Removes `m`; false if it was not a member.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Ints(v) => match parse_i64(m).and_then(|n| v.find(n)) {
                Some(i) => {
                    v.remove_at(i);
                    true
                }
                None => false,
            },
            Repr::Table(t) => t.remove(m).is_some(),
        }
    }

    /// Removes the member at position `i` (< len).
    pub fn remove_at(&mut self, i: usize) {
        match &mut self.repr {
            Repr::Ints(v) => v.remove_at(i),
            Repr::Table(t) => {
                t.remove_at(i);
            }
        }
    }

    /// One SSCAN step: an intset is returned whole with cursor 0, as Redis does; a hash table walks
    /// [`Table::scan`]'s cursor.
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut f: impl FnMut(Elem<'a>)) -> u64 {
        match &self.repr {
            Repr::Ints(v) => {
                for i in 0..v.len() {
                    f(Elem::Int(v.get(i)));
                }
                0
            }
            Repr::Table(t) => t.scan(cursor, count, |b| f(Elem::Str(b.as_slice()))),
        }
    }
}

impl PartialEq for Set {
    fn eq(&self, other: &Set) -> bool {
        self.len() == other.len() && self.iter().all(|e| other.contains_elem(e))
    }
}

impl std::fmt::Debug for Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut l = f.debug_set();
        for e in self.iter() {
            l.entry(&String::from_utf8_lossy(&e.to_vec()));
        }
        l.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intset_widens_sorts_and_converts() {
        let mut s = Set::for_member(b"5");
        assert_eq!(s.encoding(), "intset");
        for m in ["5", "-3", "70000", "5", "-9223372036854775808"] {
            s.insert(m.as_bytes(), 512);
        }
        let got: Vec<Vec<u8>> = s.iter().map(|e| e.to_vec()).collect();
        assert_eq!(
            got,
            [&b"-9223372036854775808"[..], b"-3", b"5", b"70000"].map(<[u8]>::to_vec)
        );
        assert!(s.contains(b"70000") && !s.contains(b"070000") && !s.contains(b"x"));
        assert!(s.insert(b"x", 512));
        assert_eq!(s.encoding(), "hashtable");
        assert!(s.contains(b"70000") && s.contains(b"x"));
        assert!(s.remove(b"-3") && !s.remove(b"-3"));
        assert_eq!(s.len(), 4);

        let mut s = Set::new_intset();
        for i in 0..3 {
            s.insert(i.to_string().as_bytes(), 2);
        }
        assert_eq!(s.encoding(), "hashtable");
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn table_scan_survives_churn() {
        let mut t: Table<Bytes> = Table::default();
        for i in 0..1000 {
            t.push(Bytes::new(format!("m{i}").as_bytes()));
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            cursor = t.scan(cursor, 7, |b| {
                seen.insert(b.as_slice().to_vec());
            });
            // Remove members that are not part of the stable set, add new ones.
            round += 1;
            if round % 2 == 0 {
                t.remove(format!("m{}", 900 + round % 100).as_bytes());
            }
            t.push(Bytes::new(format!("new{round}").as_bytes()));
            if cursor == 0 {
                break;
            }
        }
        for i in 0..900 {
            assert!(seen.contains(format!("m{i}").as_bytes()), "m{i}");
        }
        for i in 0..t.len() {
            assert_eq!(t.position(t.items()[i].as_slice()), Some(i));
        }
    }
}
