//! The list type. Redis 7.0 keeps every list in a quicklist (a linked list of listpacks) and `OBJECT
//! ENCODING` always says `quicklist`; here a list is a ring buffer of small strings (`VecDeque<Bytes>`):
//! O(1) pushes and pops at both ends and O(1) indexing, and an element of up to 22 bytes lives inside its
//! 24-byte slot with no heap block of its own. An empty list is never stored: the commands delete the key.

use std::collections::VecDeque;

use super::value::Bytes;

/// A list value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct List {
    items: VecDeque<Bytes>,
}

/// Capacity below which popping never gives memory back.
const KEEP_CAP: usize = 64;

impl List {
    pub fn new() -> List {
        List::default()
    }

    /// OBJECT ENCODING name, as Redis 7.0 reports it.
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    /// Approximate heap bytes owned.
    pub fn heap_size(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<Bytes>()
            + self.items.iter().map(Bytes::heap_size).sum::<usize>()
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.items.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Adds `v` at the head or the tail.
    #[inline]
    pub fn push(&mut self, v: Bytes, head: bool) {
        if head {
            self.items.push_front(v);
        } else {
            self.items.push_back(v);
        }
    }

    /// Removes the head or tail element.
    #[inline]
    pub fn pop(&mut self, head: bool) -> Option<Bytes> {
        let v = if head {
            self.items.pop_front()
        } else {
            self.items.pop_back()
        };
        self.maybe_shrink();
        v
    }

    /// The element at `i` (from the head, 0-based).
    #[inline]
    pub fn get(&self, i: usize) -> Option<&Bytes> {
        self.items.get(i)
    }

    /// Replaces the element at `i`; false if there is none.
    pub fn set(&mut self, i: usize, v: Bytes) -> bool {
        match self.items.get_mut(i) {
            Some(slot) => {
                *slot = v;
                true
            }
            None => false,
        }
    }

    /// Elements `start..=end` from the head; the caller has clamped both into the list.
    pub fn range(&self, start: usize, end: usize) -> impl DoubleEndedIterator<Item = &Bytes> {
        self.items.range(start..=end)
    }

    /// Every element, head first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Bytes> + ExactSizeIterator {
        self.items.iter()
    }

    /// Inserts `v` so that it ends up at index `i`.
    pub fn insert(&mut self, i: usize, v: Bytes) {
        self.items.insert(i, v);
    }

    /// Keeps only the elements `start..=end` (both within the list, `start <= end`).
    pub fn trim(&mut self, start: usize, end: usize) {
        self.items.truncate(end + 1);
        self.items.drain(..start);
        self.maybe_shrink();
    }

    /// Removes `n` elements from the head or the tail.
    pub fn remove_ends(&mut self, n: usize, head: bool) {
        let n = n.min(self.items.len());
        if head {
            self.items.drain(..n);
        } else {
            self.items.truncate(self.items.len() - n);
        }
        self.maybe_shrink();
    }

    /// Removes elements equal to `v`: all of them when `limit` is None, else the first `limit` from the head
    /// (or from the tail, with `from_tail`). Returns how many went.
    pub fn remove_matching(&mut self, v: &[u8], limit: Option<u64>, from_tail: bool) -> usize {
        let before = self.items.len();
        match (limit, from_tail) {
            (None, _) => self.items.retain(|e| e.as_slice() != v),
            (Some(limit), false) => {
                let mut left = limit;
                self.items.retain(|e| {
                    if left > 0 && e.as_slice() == v {
                        left -= 1;
                        false
                    } else {
                        true
                    }
                });
            }
            (Some(limit), true) => {
                // Counted from the tail: the matches to keep are the first (total - limit) from the head.
                let total = self.items.iter().filter(|e| e.as_slice() == v).count() as u64;
                let mut keep = total.saturating_sub(limit);
                self.items.retain(|e| {
                    if e.as_slice() != v {
                        true
                    } else if keep > 0 {
                        keep -= 1;
                        true
                    } else {
                        false
                    }
                });
            }
        }
        self.maybe_shrink();
        before - self.items.len()
    }

    /// Gives memory back once the list has shrunk to a quarter of its capacity, so a drained queue does
    /// not keep its peak size; halving leaves room, keeping pushes and pops amortized O(1).
    #[inline]
    fn maybe_shrink(&mut self) {
        let cap = self.items.capacity();
        if cap > KEEP_CAP && self.items.len() * 4 < cap {
            self.items.shrink_to((self.items.len() * 2).max(KEEP_CAP));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> List {
        let mut l = List::new();
        for i in items {
            l.push(Bytes::new(i.as_bytes()), false);
        }
        l
    }

    fn items(l: &List) -> Vec<String> {
        l.iter()
            .map(|b| String::from_utf8_lossy(b.as_slice()).into_owned())
            .collect()
    }

    #[test]
    fn remove_matching_counts_from_either_end() {
        let mut l = list(&["a", "b", "a", "c", "a"]);
        assert_eq!(l.remove_matching(b"a", Some(1), true), 1);
        assert_eq!(items(&l), ["a", "b", "a", "c"]);
        assert_eq!(l.remove_matching(b"a", Some(1), false), 1);
        assert_eq!(items(&l), ["b", "a", "c"]);
        assert_eq!(l.remove_matching(b"a", None, false), 1);
        assert_eq!(items(&l), ["b", "c"]);
        assert_eq!(l.remove_matching(b"z", Some(u64::MAX), true), 0);
    }

    #[test]
    fn trim_and_ends() {
        let mut l = list(&["a", "b", "c", "d", "e"]);
        l.trim(1, 3);
        assert_eq!(items(&l), ["b", "c", "d"]);
        l.remove_ends(2, false);
        assert_eq!(items(&l), ["b"]);
        l.remove_ends(5, true);
        assert!(l.is_empty());
    }

    #[test]
    fn drained_list_gives_memory_back() {
        let mut l = List::new();
        for i in 0..10_000 {
            l.push(Bytes::new(format!("{i}").as_bytes()), true);
        }
        while l.len() > 3 {
            l.pop(false);
        }
        assert!(l.items.capacity() <= 4 * KEEP_CAP);
        assert_eq!(items(&l), ["9999", "9998", "9997"]);
    }
}
