//! The sorted-set type and its two encodings, as Redis 7.0 has them. Elements are ordered by score, then
//! by member bytes (memcmp), exactly as Redis orders them.
//!
//! - `listpack`: a flat `Vec` of (member, score) kept in order, searched linearly like Redis's listpack;
//!   used while the set has at most `zset-max-listpack-entries` members of at most
//!   `zset-max-listpack-value` bytes.
//! - `skiplist`: an indexable skiplist (Pugh's, with Redis's per-level spans, so rank queries and rank
//!   ranges cost O(log n)) whose nodes live in an arena addressed by `u32`, plus a hash index from member
//!   to node for O(1) score lookups. A set converts to it once it outgrows the limits and never converts
//!   back, except for results built from scratch (the *STORE commands), which pick their encoding anew.
//!
//! Like the listpack, whose integer-valued scores are stored as integers, the flat form turns a score of
//! -0 into 0; the skiplist keeps the sign.

use std::cmp::Ordering;
use std::sync::OnceLock;

use hashbrown::HashTable;

use super::value::Bytes;
use crate::util::hash_bytes;

/// The size limits of the flat encoding (`zset-max-listpack-entries`, `zset-max-listpack-value`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub entries: usize,
    pub value: usize,
}

/// A score interval, each end inclusive or exclusive (`(1.5`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub minex: bool,
    pub maxex: bool,
}

impl ScoreRange {
    #[inline]
    pub fn gte_min(&self, v: f64) -> bool {
        if self.minex {
            v > self.min
        } else {
            v >= self.min
        }
    }

    #[inline]
    pub fn lte_max(&self, v: f64) -> bool {
        if self.maxex {
            v < self.max
        } else {
            v <= self.max
        }
    }

    fn is_empty(&self) -> bool {
        self.min > self.max || (self.min == self.max && (self.minex || self.maxex))
    }
}

/// One end of a lexicographic range: `-`, `+`, `[member` or `(member`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LexBound<'a> {
    NegInf,
    PosInf,
    Incl(&'a [u8]),
    Excl(&'a [u8]),
}

impl LexBound<'_> {
    /// Rank for comparing bounds with each other (Redis's `sdscmplex`): `-` below every string, `+` above.
    fn key(&self) -> (u8, &[u8]) {
        match *self {
            LexBound::NegInf => (0, &[]),
            LexBound::Incl(s) | LexBound::Excl(s) => (1, s),
            LexBound::PosInf => (2, &[]),
        }
    }

    /// `-` and `+` count as exclusive, as Redis parses them.
    fn exclusive(&self) -> bool {
        !matches!(self, LexBound::Incl(_))
    }
}

/// A lexicographic interval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LexRange<'a> {
    pub min: LexBound<'a>,
    pub max: LexBound<'a>,
}

impl LexRange<'_> {
    #[inline]
    pub fn gte_min(&self, v: &[u8]) -> bool {
        match self.min {
            LexBound::NegInf => true,
            LexBound::PosInf => false,
            LexBound::Incl(m) => v >= m,
            LexBound::Excl(m) => v > m,
        }
    }

    #[inline]
    pub fn lte_max(&self, v: &[u8]) -> bool {
        match self.max {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Incl(m) => v <= m,
            LexBound::Excl(m) => v < m,
        }
    }

    fn is_empty(&self) -> bool {
        match self.min.key().cmp(&self.max.key()) {
            Ordering::Greater => true,
            Ordering::Equal => self.min.exclusive() || self.max.exclusive(),
            Ordering::Less => false,
        }
    }
}

/// Whether (s1, m1) sorts before (s2, m2). Scores are never NaN; -0 and 0 compare equal, as in C.
#[inline]
fn before(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> bool {
    s1 < s2 || (s1 == s2 && m1 < m2)
}

/// The listpack stores integral scores as integers, so -0 reads back as 0.
#[inline]
fn flat_score(s: f64) -> f64 {
    if s == 0.0 {
        0.0
    } else {
        s
    }
}

/// A sorted set.
#[derive(Clone)]
pub struct ZSet {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Flat(Vec<(Bytes, f64)>),
    Skip(Box<SkipList>),
}

impl Default for ZSet {
    fn default() -> ZSet {
        ZSet::new_flat()
    }
}

impl ZSet {
    pub fn new_flat() -> ZSet {
        ZSet {
            repr: Repr::Flat(Vec::new()),
        }
    }

    pub fn new_skiplist() -> ZSet {
        ZSet {
            repr: Repr::Skip(Box::new(SkipList::new())),
        }
    }

    /// The empty set ZADD creates for a new key whose first member is `first_len` bytes long.
    pub fn for_first_member(first_len: usize, limits: Limits) -> ZSet {
        if limits.entries == 0 || first_len > limits.value {
            ZSet::new_skiplist()
        } else {
            ZSet::new_flat()
        }
    }

    /// A set from members in ascending (score, member) order, without duplicates, in the encoding Redis
    /// gives a freshly built result (the *STORE commands).
    pub fn from_sorted(items: Vec<(Bytes, f64)>, limits: Limits) -> ZSet {
        let fits =
            items.len() <= limits.entries && items.iter().all(|(m, _)| m.len() <= limits.value);
        if fits {
            let items = items.into_iter().map(|(m, s)| (m, flat_score(s))).collect();
            ZSet {
                repr: Repr::Flat(items),
            }
        } else {
            ZSet {
                repr: Repr::Skip(Box::new(SkipList::from_sorted(items.into_iter()))),
            }
        }
    }

    /// OBJECT ENCODING name, as Redis 7.0 reports it.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Flat(_) => "listpack",
            Repr::Skip(_) => "skiplist",
        }
    }

    /// Approximate heap bytes owned.
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Flat(v) => {
                v.capacity() * std::mem::size_of::<(Bytes, f64)>()
                    + v.iter().map(|(m, _)| m.heap_size()).sum::<usize>()
            }
            Repr::Skip(s) => s.heap_size(),
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Flat(v) => v.len(),
            Repr::Skip(s) => s.len,
        }
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The score of `member`.
    #[inline]
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Flat(v) => v
                .iter()
                .find(|(m, _)| m.as_slice() == member)
                .map(|&(_, s)| s),
            Repr::Skip(s) => s.find(member).map(|i| s.node(i).score),
        }
    }

    /// The 0-based ascending rank of `member`.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match &self.repr {
            Repr::Flat(v) => v.iter().position(|(m, _)| m.as_slice() == member),
            Repr::Skip(s) => s.find(member).map(|i| s.rank_of(i)),
        }
    }

    /// Adds `member`, which must be absent, converting to the skiplist first when the flat form would
    /// outgrow `limits` (Redis checks before inserting).
    pub fn insert(&mut self, member: &[u8], score: f64, limits: Limits) {
        if let Repr::Flat(v) = &self.repr {
            if v.len() + 1 > limits.entries || member.len() > limits.value {
                self.convert_to_skiplist();
            }
        }
        match &mut self.repr {
            Repr::Flat(v) => {
                let pos = v.partition_point(|(m, s)| before(*s, m.as_slice(), score, member));
                v.insert(pos, (Bytes::new(member), flat_score(score)));
            }
            Repr::Skip(s) => s.insert(member, score),
        }
    }

    /// Changes the score of `member`, which must be present. Returns false if it was absent.
    pub fn set_score(&mut self, member: &[u8], score: f64) -> bool {
        match &mut self.repr {
            Repr::Flat(v) => {
                let Some(i) = v.iter().position(|(m, _)| m.as_slice() == member) else {
                    return false;
                };
                let (m, _) = v.remove(i);
                let pos = v.partition_point(|(x, s)| before(*s, x.as_slice(), score, member));
                v.insert(pos, (m, flat_score(score)));
                true
            }
            Repr::Skip(s) => match s.find(member) {
                Some(i) => {
                    s.update_score(i, score);
                    true
                }
                None => false,
            },
        }
    }

    /// Removes `member`; returns its score if it was present.
    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        match &mut self.repr {
            Repr::Flat(v) => {
                let i = v.iter().position(|(m, _)| m.as_slice() == member)?;
                Some(v.remove(i).1)
            }
            Repr::Skip(s) => {
                let i = s.find(member)?;
                let (_, score) = s.remove_node(i);
                s.maybe_compact();
                Some(score)
            }
        }
    }

    /// The element at 0-based ascending rank `rank`.
    pub fn get(&self, rank: usize) -> Option<(&[u8], f64)> {
        match &self.repr {
            Repr::Flat(v) => v.get(rank).map(|(m, s)| (m.as_slice(), *s)),
            Repr::Skip(s) => {
                let i = s.by_rank(rank)?;
                let n = s.node(i);
                Some((n.member.as_slice(), n.score))
            }
        }
    }

    /// Iterates from the element at ascending rank `rank` towards the end (or the start, if `rev`).
    pub fn iter_from(&self, rank: usize, rev: bool) -> Iter<'_> {
        let pos = match &self.repr {
            Repr::Flat(v) => Pos::Flat(if rank < v.len() { rank } else { usize::MAX }),
            Repr::Skip(s) => Pos::Skip(s.by_rank(rank).unwrap_or(NIL)),
        };
        Iter { z: self, pos, rev }
    }

    /// Iterates every element in ascending order.
    pub fn iter(&self) -> Iter<'_> {
        self.iter_from(0, false)
    }

    /// Rank of the first element with a score in `range`.
    pub fn first_in_range(&self, range: &ScoreRange) -> Option<usize> {
        if range.is_empty() {
            return None;
        }
        match &self.repr {
            Repr::Flat(v) => {
                let i = v.partition_point(|&(_, s)| !range.gte_min(s));
                (i < v.len() && range.lte_max(v[i].1)).then_some(i)
            }
            Repr::Skip(s) => s.first_where(|n| range.gte_min(n.score), |n| range.lte_max(n.score)),
        }
    }

    /// Rank of the last element with a score in `range`.
    pub fn last_in_range(&self, range: &ScoreRange) -> Option<usize> {
        if range.is_empty() {
            return None;
        }
        match &self.repr {
            Repr::Flat(v) => {
                let i = v.partition_point(|&(_, s)| range.lte_max(s));
                (i > 0 && range.gte_min(v[i - 1].1)).then(|| i - 1)
            }
            Repr::Skip(s) => s.last_where(|n| range.lte_max(n.score), |n| range.gte_min(n.score)),
        }
    }

    /// Number of elements with a score in `range`.
    pub fn count_in_range(&self, range: &ScoreRange) -> usize {
        match (self.first_in_range(range), self.last_in_range(range)) {
            (Some(f), Some(l)) if l >= f => l - f + 1,
            _ => 0,
        }
    }

    /// Whether a lex range can hold anything at all, checked against the ends of the set as Redis does
    /// before it searches.
    fn lex_in_range(&self, range: &LexRange) -> bool {
        if range.is_empty() || self.is_empty() {
            return false;
        }
        let last = self.get(self.len() - 1).map(|(m, _)| range.gte_min(m));
        let first = self.get(0).map(|(m, _)| range.lte_max(m));
        last == Some(true) && first == Some(true)
    }

    /// Rank of the first element whose member is in `range`. Lex ranges are meant for sets whose scores
    /// are all equal; for others the answer depends on the search, as in Redis.
    pub fn first_in_lex(&self, range: &LexRange) -> Option<usize> {
        if !self.lex_in_range(range) {
            return None;
        }
        match &self.repr {
            Repr::Flat(v) => {
                let i = v.iter().position(|(m, _)| range.gte_min(m.as_slice()))?;
                range.lte_max(v[i].0.as_slice()).then_some(i)
            }
            Repr::Skip(s) => s.first_where(
                |n| range.gte_min(n.member.as_slice()),
                |n| range.lte_max(n.member.as_slice()),
            ),
        }
    }

    /// Rank of the last element whose member is in `range`.
    pub fn last_in_lex(&self, range: &LexRange) -> Option<usize> {
        if !self.lex_in_range(range) {
            return None;
        }
        match &self.repr {
            Repr::Flat(v) => {
                let i = v.iter().rposition(|(m, _)| range.lte_max(m.as_slice()))?;
                range.gte_min(v[i].0.as_slice()).then_some(i)
            }
            Repr::Skip(s) => s.last_where(
                |n| range.lte_max(n.member.as_slice()),
                |n| range.gte_min(n.member.as_slice()),
            ),
        }
    }

    /// Number of elements whose member is in `range`: walked from the first for the flat form, from the
    /// ranks of the first and last for the skiplist, as Redis counts them.
    pub fn count_in_lex(&self, range: &LexRange) -> usize {
        match &self.repr {
            Repr::Flat(v) => match self.first_in_lex(range) {
                Some(f) => v[f..]
                    .iter()
                    .take_while(|(m, _)| range.lte_max(m.as_slice()))
                    .count(),
                None => 0,
            },
            Repr::Skip(_) => match (self.first_in_lex(range), self.last_in_lex(range)) {
                (Some(f), Some(l)) if l >= f => l - f + 1,
                _ => 0,
            },
        }
    }

    /// Removes the elements of ascending ranks `start..=end` (both within the set); returns how many.
    pub fn remove_ranks(&mut self, start: usize, end: usize) -> usize {
        if start > end || start >= self.len() {
            return 0;
        }
        let end = end.min(self.len() - 1);
        match &mut self.repr {
            Repr::Flat(v) => {
                v.drain(start..=end);
            }
            Repr::Skip(s) => {
                s.remove_run(start, end - start + 1, |_| true);
                s.maybe_compact();
            }
        }
        end - start + 1
    }

    /// Removes the elements with a score in `range`; returns how many.
    pub fn remove_range(&mut self, range: &ScoreRange) -> usize {
        let Some(first) = self.first_in_range(range) else {
            return 0;
        };
        self.remove_while(first, |_, s| range.lte_max(s))
    }

    /// Removes the elements whose member is in `range`; returns how many.
    pub fn remove_lex(&mut self, range: &LexRange) -> usize {
        let Some(first) = self.first_in_lex(range) else {
            return 0;
        };
        self.remove_while(first, |m, _| range.lte_max(m))
    }

    /// Removes elements from rank `first` on while `keep` holds for them.
    fn remove_while(&mut self, first: usize, keep: impl Fn(&[u8], f64) -> bool) -> usize {
        match &mut self.repr {
            Repr::Flat(v) => {
                let n = v[first..]
                    .iter()
                    .take_while(|(m, s)| keep(m.as_slice(), *s))
                    .count();
                v.drain(first..first + n);
                n
            }
            Repr::Skip(s) => {
                let n = s.remove_run(first, usize::MAX, |n| keep(n.member.as_slice(), n.score));
                s.maybe_compact();
                n
            }
        }
    }

    /// Removes and returns the lowest (or, with `max`, the highest) element.
    pub fn pop(&mut self, max: bool) -> Option<(Bytes, f64)> {
        match &mut self.repr {
            Repr::Flat(v) => {
                if v.is_empty() {
                    None
                } else if max {
                    v.pop()
                } else {
                    Some(v.remove(0))
                }
            }
            Repr::Skip(s) => {
                let i = if max { s.tail } else { s.head[0].next };
                if i == NIL {
                    return None;
                }
                let popped = s.remove_node(i);
                s.maybe_compact();
                Some(popped)
            }
        }
    }

    /// One ZSCAN step: calls `f` with members and scores, about `count` of them, from `cursor`; returns the
    /// next cursor (0 when done). The flat form is returned whole in one step, as Redis does. For the
    /// skiplist the cursor is an arena slot, and slots never move while occupied, so a member present
    /// for the whole scan is returned (unless the arena is compacted after mass deletion).
    pub fn scan<'a>(&'a self, cursor: u64, count: usize, mut f: impl FnMut(&'a [u8], f64)) -> u64 {
        match &self.repr {
            Repr::Flat(v) => {
                for (m, s) in v {
                    f(m.as_slice(), *s);
                }
                0
            }
            Repr::Skip(s) => {
                let mut i = cursor.min(s.nodes.len() as u64) as usize;
                let mut seen = 0;
                let limit = count.max(1);
                let mut budget = limit.saturating_mul(10).max(100);
                while i < s.nodes.len() && seen < limit && budget > 0 {
                    if let Some(n) = &s.nodes[i] {
                        f(n.member.as_slice(), n.score);
                        seen += 1;
                    }
                    budget -= 1;
                    i += 1;
                }
                if i >= s.nodes.len() {
                    0
                } else {
                    i as u64
                }
            }
        }
    }

    /// Turns the flat form into the skiplist.
    fn convert_to_skiplist(&mut self) {
        if let Repr::Flat(v) = &mut self.repr {
            let items = std::mem::take(v);
            self.repr = Repr::Skip(Box::new(SkipList::from_sorted(items.into_iter())));
        }
    }

    /// Checks the skiplist's links and spans (tests only).
    #[doc(hidden)]
    pub fn check_invariants(&self) {
        if let Repr::Skip(s) = &self.repr {
            s.check();
        }
    }
}

impl PartialEq for ZSet {
    fn eq(&self, other: &ZSet) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .zip(other.iter())
                .all(|((m1, s1), (m2, s2))| m1 == m2 && s1.to_bits() == s2.to_bits())
    }
}

impl std::fmt::Debug for ZSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|(m, s)| (String::from_utf8_lossy(m), s)))
            .finish()
    }
}

enum Pos {
    /// An index, or usize::MAX past either end.
    Flat(usize),
    /// A node, or NIL past either end.
    Skip(u32),
}

/// Walks a sorted set from a rank in one direction.
pub struct Iter<'a> {
    z: &'a ZSet,
    pos: Pos,
    rev: bool,
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    #[inline]
    fn next(&mut self) -> Option<(&'a [u8], f64)> {
        match (&self.z.repr, &mut self.pos) {
            (Repr::Flat(v), Pos::Flat(i)) => {
                let (m, s) = v.get(*i)?;
                *i = if self.rev {
                    i.checked_sub(1).unwrap_or(usize::MAX)
                } else {
                    *i + 1
                };
                Some((m.as_slice(), *s))
            }
            (Repr::Skip(sl), Pos::Skip(i)) => {
                if *i == NIL {
                    return None;
                }
                let n = sl.node(*i);
                *i = if self.rev { n.back } else { n.next };
                Some((n.member.as_slice(), n.score))
            }
            _ => None,
        }
    }
}

const NIL: u32 = u32::MAX;
/// The header's pseudo-index in links.
const HEAD: u32 = u32::MAX - 1;
const MAX_LEVEL: usize = 32;
/// Below this many arena slots a sparse arena is not worth compacting.
const COMPACT_MIN_SLOTS: usize = 1024;

/// One level of a node: the next node at that level and how many level-0 steps it skips.
#[derive(Debug, Clone, Copy)]
struct Level {
    next: u32,
    span: u32,
}

const EMPTY_LEVEL: Level = Level { next: NIL, span: 0 };
/// Marks a node's inline level 1 as not there.
const ABSENT: u32 = u32::MAX - 2;

#[derive(Clone)]
struct Node {
    member: Bytes,
    score: f64,
    back: u32,
    /// Level 0's link; its span is 1 when there is a next node, 0 for the last.
    next: u32,
    /// Level 1, inline so the walk does not leave the node (`next == ABSENT` for one-level nodes).
    l1: Level,
    /// Levels 2 and up: one node in sixteen has any, and an empty box costs no allocation.
    up: Box<[Level]>,
}

impl Node {
    fn height(&self) -> usize {
        if self.l1.next == ABSENT {
            1
        } else {
            2 + self.up.len()
        }
    }
}

/// The process-wide seed of the member hash (random, so clients cannot aim at collisions).
fn hash_seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(crate::util::random_seed)
}

#[derive(Clone)]
struct SkipList {
    nodes: Vec<Option<Node>>,
    free: Vec<u32>,
    head: [Level; MAX_LEVEL],
    /// Levels in use, at least 1.
    level: usize,
    tail: u32,
    len: usize,
    /// Member -> node.
    index: HashTable<u32>,
    /// Heap bytes held by members and upper levels.
    extra: usize,
    rng: u64,
}

impl SkipList {
    fn new() -> SkipList {
        SkipList {
            nodes: Vec::new(),
            free: Vec::new(),
            head: [EMPTY_LEVEL; MAX_LEVEL],
            level: 1,
            tail: NIL,
            len: 0,
            index: HashTable::new(),
            extra: 0,
            rng: hash_seed() | 1,
        }
    }

    #[inline]
    fn node(&self, i: u32) -> &Node {
        // Links and the index only ever hold indexes of occupied slots.
        self.nodes[i as usize].as_ref().expect("live skiplist node")
    }

    #[inline]
    fn node_mut(&mut self, i: u32) -> &mut Node {
        self.nodes[i as usize].as_mut().expect("live skiplist node")
    }

    #[inline]
    fn fwd(&self, x: u32, i: usize) -> Level {
        if x == HEAD {
            return self.head[i];
        }
        let n = self.node(x);
        match i {
            0 => Level {
                next: n.next,
                span: (n.next != NIL) as u32,
            },
            1 => n.l1,
            _ => n.up[i - 2],
        }
    }

    #[inline]
    fn set_fwd(&mut self, x: u32, i: usize, l: Level) {
        if x == HEAD {
            self.head[i] = l;
            return;
        }
        let n = self.node_mut(x);
        match i {
            0 => n.next = l.next,
            1 => n.l1 = l,
            _ => n.up[i - 2] = l,
        }
    }

    /// Redis's level distribution: each extra level with probability 1/4 (a pair of zero bits).
    fn random_level(&mut self) -> usize {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        let r = x.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 32;
        (1 + r.trailing_zeros() as usize / 2).min(MAX_LEVEL)
    }

    fn hash(member: &[u8]) -> u64 {
        hash_bytes(hash_seed(), member)
    }

    fn find(&self, member: &[u8]) -> Option<u32> {
        let nodes = &self.nodes;
        self.index
            .find(Self::hash(member), |&j| {
                nodes[j as usize]
                    .as_ref()
                    .is_some_and(|n| n.member.as_slice() == member)
            })
            .copied()
    }

    fn index_insert(&mut self, idx: u32) {
        let nodes = &self.nodes;
        let member_of = |j: u32| -> &[u8] {
            nodes[j as usize]
                .as_ref()
                .map_or(&[][..], |n| n.member.as_slice())
        };
        let h = Self::hash(member_of(idx));
        self.index
            .insert_unique(h, idx, |&j| Self::hash(member_of(j)));
    }

    fn alloc(&mut self, member: Bytes, score: f64, height: usize) -> u32 {
        let up = height.saturating_sub(2);
        self.extra += member.heap_size() + up * std::mem::size_of::<Level>();
        let node = Node {
            member,
            score,
            back: NIL,
            next: NIL,
            l1: if height > 1 {
                EMPTY_LEVEL
            } else {
                Level {
                    next: ABSENT,
                    span: 0,
                }
            },
            up: vec![EMPTY_LEVEL; up].into_boxed_slice(),
        };
        match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = Some(node);
                i
            }
            None => {
                self.nodes.push(Some(node));
                (self.nodes.len() - 1) as u32
            }
        }
    }

    fn insert(&mut self, member: &[u8], score: f64) {
        let height = self.random_level();
        let idx = self.alloc(Bytes::new(member), score, height);
        self.link(idx);
        self.index_insert(idx);
    }

    /// Links the allocated node `idx` into place (Redis's `zslInsert`, with the node's own height).
    fn link(&mut self, idx: u32) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0u32; MAX_LEVEL];
        {
            let me = self.node(idx);
            let (score, member) = (me.score, me.member.as_slice());
            let mut x = HEAD;
            for i in (0..self.level).rev() {
                rank[i] = if i == self.level - 1 { 0 } else { rank[i + 1] };
                loop {
                    let f = self.fwd(x, i);
                    if f.next == NIL {
                        break;
                    }
                    let n = self.node(f.next);
                    if !before(n.score, n.member.as_slice(), score, member) {
                        break;
                    }
                    rank[i] += f.span;
                    x = f.next;
                }
                update[i] = x;
            }
        }
        let height = self.node(idx).height();
        if height > self.level {
            for i in self.level..height {
                rank[i] = 0;
                update[i] = HEAD;
                self.head[i].span = self.len as u32;
            }
            self.level = height;
        }
        for i in 0..height {
            let u = self.fwd(update[i], i);
            let skipped = rank[0] - rank[i];
            self.set_fwd(
                idx,
                i,
                Level {
                    next: u.next,
                    span: u.span - skipped,
                },
            );
            self.set_fwd(
                update[i],
                i,
                Level {
                    next: idx,
                    span: skipped + 1,
                },
            );
        }
        for (i, &u) in update.iter().enumerate().take(self.level).skip(height) {
            let mut l = self.fwd(u, i);
            l.span += 1;
            self.set_fwd(u, i, l);
        }
        let back = if update[0] == HEAD { NIL } else { update[0] };
        let next = self.node(idx).next;
        self.node_mut(idx).back = back;
        if next != NIL {
            self.node_mut(next).back = idx;
        } else {
            self.tail = idx;
        }
        self.len += 1;
    }

    /// The predecessors of node `idx` at every level.
    fn find_update(&self, idx: u32) -> [u32; MAX_LEVEL] {
        let me = self.node(idx);
        let (score, member) = (me.score, me.member.as_slice());
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f.next == NIL {
                    break;
                }
                let n = self.node(f.next);
                if !before(n.score, n.member.as_slice(), score, member) {
                    break;
                }
                x = f.next;
            }
            update[i] = x;
        }
        update
    }

    /// Unlinks node `x` given its predecessors (Redis's `zslDeleteNode`); the slot stays allocated.
    fn unlink(&mut self, x: u32, update: &[u32; MAX_LEVEL]) {
        for (i, &u) in update.iter().enumerate().take(self.level) {
            let ul = self.fwd(u, i);
            if ul.next == x {
                let xl = self.fwd(x, i);
                self.set_fwd(
                    u,
                    i,
                    Level {
                        next: xl.next,
                        span: ul.span + xl.span - 1,
                    },
                );
            } else {
                self.set_fwd(
                    u,
                    i,
                    Level {
                        next: ul.next,
                        span: ul.span - 1,
                    },
                );
            }
        }
        let (next, back) = {
            let n = self.node(x);
            (n.next, n.back)
        };
        if next != NIL {
            self.node_mut(next).back = back;
        } else {
            self.tail = back;
        }
        while self.level > 1 && self.head[self.level - 1].next == NIL {
            self.level -= 1;
        }
        self.len -= 1;
    }

    /// Frees an unlinked node's slot and index entry, returning its member and score.
    fn release(&mut self, x: u32) -> (Bytes, f64) {
        let h = Self::hash(self.node(x).member.as_slice());
        if let Ok(e) = self.index.find_entry(h, |&j| j == x) {
            e.remove();
        }
        let n = self.nodes[x as usize].take().expect("live skiplist node");
        self.extra -= n.member.heap_size() + n.up.len() * std::mem::size_of::<Level>();
        if self.len == 0 {
            // Empty: give the arena back.
            self.nodes = Vec::new();
            self.free = Vec::new();
            self.index = HashTable::new();
        } else {
            self.free.push(x);
        }
        (n.member, n.score)
    }

    fn remove_node(&mut self, x: u32) -> (Bytes, f64) {
        let update = self.find_update(x);
        self.unlink(x, &update);
        self.release(x)
    }

    /// Moves node `idx` to a new score (Redis's `zslUpdateScore`: in place when the order holds).
    fn update_score(&mut self, idx: u32, score: f64) {
        let (back, next) = {
            let n = self.node(idx);
            (n.back, n.next)
        };
        let fits_back = back == NIL || self.node(back).score < score;
        let fits_next = next == NIL || self.node(next).score > score;
        if fits_back && fits_next {
            self.node_mut(idx).score = score;
            return;
        }
        let update = self.find_update(idx);
        self.unlink(idx, &update);
        self.node_mut(idx).score = score;
        self.link(idx);
    }

    /// 0-based rank of node `idx`.
    fn rank_of(&self, idx: u32) -> usize {
        let me = self.node(idx);
        let (score, member) = (me.score, me.member.as_slice());
        let mut x = HEAD;
        let mut rank = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f.next == NIL {
                    break;
                }
                let n = self.node(f.next);
                if !before(n.score, n.member.as_slice(), score, member) {
                    break;
                }
                rank += f.span as usize;
                x = f.next;
            }
        }
        rank
    }

    /// The node at 0-based rank `rank`.
    fn by_rank(&self, rank: usize) -> Option<u32> {
        if rank >= self.len {
            return None;
        }
        let target = rank + 1;
        let mut traversed = 0usize;
        let mut x = HEAD;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f.next == NIL || traversed + f.span as usize > target {
                    break;
                }
                traversed += f.span as usize;
                x = f.next;
            }
            if traversed == target {
                return Some(x);
            }
        }
        None
    }

    /// Rank of the first node where `past_start` holds, searched the way Redis's skiplist does (moving
    /// forward while it does not), provided `in_end` holds there too.
    fn first_where(
        &self,
        past_start: impl Fn(&Node) -> bool,
        in_end: impl Fn(&Node) -> bool,
    ) -> Option<usize> {
        if self.tail == NIL
            || !past_start(self.node(self.tail))
            || !in_end(self.node(self.head[0].next))
        {
            return None;
        }
        let mut x = HEAD;
        let mut rank = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f.next == NIL || past_start(self.node(f.next)) {
                    break;
                }
                rank += f.span as usize;
                x = f.next;
            }
        }
        let first = self.fwd(x, 0).next;
        (first != NIL && in_end(self.node(first))).then_some(rank)
    }

    /// Rank of the last node where `in_end` holds (moving forward while it does), provided `past_start`
    /// holds there too.
    fn last_where(
        &self,
        in_end: impl Fn(&Node) -> bool,
        past_start: impl Fn(&Node) -> bool,
    ) -> Option<usize> {
        if self.tail == NIL
            || !past_start(self.node(self.tail))
            || !in_end(self.node(self.head[0].next))
        {
            return None;
        }
        let mut x = HEAD;
        let mut rank = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f.next == NIL || !in_end(self.node(f.next)) {
                    break;
                }
                rank += f.span as usize;
                x = f.next;
            }
        }
        (x != HEAD && past_start(self.node(x))).then(|| rank - 1)
    }

    /// Removes up to `max` nodes from rank `start` on while `keep` holds; returns how many.
    fn remove_run(&mut self, start: usize, max: usize, keep: impl Fn(&Node) -> bool) -> usize {
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        let mut traversed = 0usize;
        for i in (0..self.level).rev() {
            loop {
                let f = self.fwd(x, i);
                if f.next == NIL || traversed + f.span as usize > start {
                    break;
                }
                traversed += f.span as usize;
                x = f.next;
            }
            update[i] = x;
        }
        let mut cur = self.fwd(x, 0).next;
        let mut removed = 0;
        while cur != NIL && removed < max && keep(self.node(cur)) {
            let next = self.node(cur).next;
            self.unlink(cur, &update);
            self.release(cur);
            removed += 1;
            cur = next;
        }
        removed
    }

    /// Builds a list from members in ascending order, linking each at the tail in O(1).
    fn from_sorted(items: impl Iterator<Item = (Bytes, f64)>) -> SkipList {
        let mut sl = SkipList::new();
        let (lower, _) = items.size_hint();
        sl.nodes.reserve(lower);
        sl.index.reserve(lower, |_| 0);
        let mut last = [HEAD; MAX_LEVEL];
        let mut last_rank = [0u32; MAX_LEVEL];
        let mut prev = NIL;
        for (k, (member, score)) in items.enumerate() {
            let rank = k as u32 + 1;
            let height = sl.random_level();
            let idx = sl.alloc(member, score, height);
            sl.node_mut(idx).back = prev;
            sl.level = sl.level.max(height);
            for i in 0..height {
                sl.set_fwd(
                    last[i],
                    i,
                    Level {
                        next: idx,
                        span: rank - last_rank[i],
                    },
                );
                last[i] = idx;
                last_rank[i] = rank;
            }
            sl.index_insert(idx);
            prev = idx;
            sl.len += 1;
        }
        sl.tail = prev;
        // A level's last link spans the nodes left after it, as zslInsert keeps it.
        for i in 0..sl.level {
            let mut l = sl.fwd(last[i], i);
            l.span = sl.len as u32 - last_rank[i];
            sl.set_fwd(last[i], i, l);
        }
        sl
    }

    /// After mass deletion the arena is mostly holes: rebuild it dense, in order.
    fn maybe_compact(&mut self) {
        if self.nodes.len() < COMPACT_MIN_SLOTS || self.len * 8 > self.nodes.len() {
            return;
        }
        let mut old = std::mem::take(&mut self.nodes);
        let mut items = Vec::with_capacity(self.len);
        let mut x = self.head[0].next;
        while x != NIL {
            let Some(n) = old[x as usize].take() else {
                break;
            };
            x = n.next;
            items.push((n.member, n.score));
        }
        let rng = self.rng;
        *self = SkipList::from_sorted(items.into_iter());
        self.rng = rng;
    }

    fn heap_size(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Option<Node>>()
            + self.free.capacity() * 4
            + self.index.capacity() * 5
            + self.extra
    }

    /// Verifies order, back links, spans and the index against a plain walk (tests only).
    fn check(&self) {
        let mut order = Vec::new();
        let mut x = self.head[0].next;
        let mut prev = NIL;
        while x != NIL {
            let n = self.node(x);
            assert_eq!(n.back, prev, "back link");
            if prev != NIL {
                let p = self.node(prev);
                assert!(before(
                    p.score,
                    p.member.as_slice(),
                    n.score,
                    n.member.as_slice()
                ));
            }
            assert_eq!(self.find(n.member.as_slice()), Some(x), "index");
            order.push(x);
            prev = x;
            x = n.next;
        }
        assert_eq!(prev, self.tail, "tail");
        assert_eq!(order.len(), self.len, "len");
        assert_eq!(self.index.len(), self.len, "index len");
        let pos: std::collections::HashMap<u32, usize> =
            order.iter().enumerate().map(|(r, &i)| (i, r + 1)).collect();
        for i in 0..self.level {
            let mut x = HEAD;
            let mut rank = 0usize;
            loop {
                let l = self.fwd(x, i);
                if l.next == NIL {
                    assert_eq!(l.span as usize, self.len - rank, "tail span at level {i}");
                    break;
                }
                let r = pos[&l.next];
                assert_eq!(l.span as usize, r - rank, "span at level {i}");
                rank = r;
                x = l.next;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIG: Limits = Limits {
        entries: 0,
        value: 0,
    };

    fn reference(z: &ZSet) -> Vec<(Vec<u8>, f64)> {
        z.iter().map(|(m, s)| (m.to_vec(), s)).collect()
    }

    #[test]
    fn skiplist_matches_a_sorted_vec() {
        let mut z = ZSet::new_skiplist();
        let mut model: Vec<(Vec<u8>, f64)> = Vec::new();
        let mut seed = 12345u64;
        let mut rnd = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for step in 0..20_000 {
            let m = format!("m{}", rnd(3000)).into_bytes();
            let s = rnd(50) as f64;
            match rnd(5) {
                0 | 1 => {
                    if z.score(&m).is_none() {
                        z.insert(&m, s, BIG);
                        model.push((m.clone(), s));
                    } else {
                        z.set_score(&m, s);
                        model.iter_mut().find(|(x, _)| *x == m).unwrap().1 = s;
                    }
                }
                2 => {
                    let a = z.remove(&m);
                    let b = model
                        .iter()
                        .position(|(x, _)| *x == m)
                        .map(|i| model.remove(i).1);
                    assert_eq!(a, b);
                }
                3 => {
                    let lo = rnd(50) as f64;
                    let r = ScoreRange {
                        min: lo,
                        max: lo + 3.0,
                        minex: false,
                        maxex: true,
                    };
                    let n = z.remove_range(&r);
                    let before = model.len();
                    model.retain(|(_, s)| !(r.gte_min(*s) && r.lte_max(*s)));
                    assert_eq!(n, before - model.len());
                }
                _ => {
                    if !model.is_empty() {
                        let a = rnd(model.len() as u64) as usize;
                        let b = a + rnd(5) as usize;
                        let n = z.remove_ranks(a, b);
                        model.sort_by(|x, y| x.1.partial_cmp(&y.1).unwrap().then(x.0.cmp(&y.0)));
                        let end = b.min(model.len() - 1);
                        model.drain(a..=end);
                        assert_eq!(n, end - a + 1);
                    }
                }
            }
            if step % 997 == 0 {
                z.check_invariants();
            }
        }
        model.sort_by(|x, y| x.1.partial_cmp(&y.1).unwrap().then(x.0.cmp(&y.0)));
        assert_eq!(reference(&z), model);
        z.check_invariants();
        for (r, (m, s)) in model.iter().enumerate() {
            assert_eq!(z.rank(m), Some(r));
            assert_eq!(z.score(m), Some(*s));
            assert_eq!(z.get(r).map(|(m, _)| m.to_vec()), Some(m.clone()));
        }
    }

    #[test]
    fn skiplist_nodes_fill_one_cache_line() {
        assert_eq!(std::mem::size_of::<Option<Node>>(), 64);
    }

    #[test]
    fn flat_converts_past_the_limits() {
        let lim = Limits {
            entries: 3,
            value: 5,
        };
        let mut z = ZSet::for_first_member(1, lim);
        for (i, m) in ["a", "b", "c"].iter().enumerate() {
            z.insert(m.as_bytes(), i as f64, lim);
        }
        assert_eq!(z.encoding(), "listpack");
        z.insert(b"d", 0.5, lim);
        assert_eq!(z.encoding(), "skiplist");
        assert_eq!(z.rank(b"d"), Some(1));
        let mut z = ZSet::for_first_member(1, lim);
        z.insert(b"abcdef", 1.0, lim);
        assert_eq!(z.encoding(), "skiplist");
    }

    #[test]
    fn negative_zero_follows_the_encoding() {
        let mut flat = ZSet::new_flat();
        flat.insert(
            b"a",
            -0.0,
            Limits {
                entries: 128,
                value: 64,
            },
        );
        assert!(flat.score(b"a").unwrap().is_sign_positive());
        let mut skip = ZSet::new_skiplist();
        skip.insert(b"a", -0.0, BIG);
        assert!(skip.score(b"a").unwrap().is_sign_negative());
    }

    #[test]
    fn mass_deletion_compacts_the_arena() {
        let mut z = ZSet::new_skiplist();
        for i in 0..10_000 {
            z.insert(format!("{i:05}").as_bytes(), i as f64, BIG);
        }
        assert_eq!(z.remove_ranks(0, 9_899), 9_900);
        z.check_invariants();
        assert_eq!(z.len(), 100);
        assert_eq!(z.get(0).unwrap().0, b"09900");
        assert!(z.heap_size() < 100_000, "{}", z.heap_size());
    }
}

#[cfg(test)]
mod bench {
    use super::*;

    /// `cargo test --release --lib bench_skiplist -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn bench_skiplist() {
        let lim = Limits {
            entries: 128,
            value: 64,
        };
        let mut z = ZSet::new_flat();
        let mut seed = 42u64;
        let t = std::time::Instant::now();
        let n: u64 = std::env::var("ZBENCH_N")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        for _ in 0..n {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let m = format!("element:{}", seed % n);
            let s = ((seed >> 20) % n) as f64;
            match z.score(m.as_bytes()) {
                Some(_) => {
                    z.set_score(m.as_bytes(), s);
                }
                None => z.insert(m.as_bytes(), s, lim),
            }
        }
        eprintln!("1M zadd: {:?}, len {}", t.elapsed(), z.len());
        let t = std::time::Instant::now();
        let mut acc = 0;
        for i in 0..n / 5 {
            let m = format!("element:{}", i * 5);
            acc += z.rank(m.as_bytes()).unwrap_or(0);
        }
        eprintln!("200k zrank: {:?} ({acc})", t.elapsed());
        let t = std::time::Instant::now();
        while z.pop(false).is_some() {}
        eprintln!("pop all: {:?}", t.elapsed());
    }
}
