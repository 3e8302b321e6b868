//! The stream type (Redis 7.0's `t_stream.c` semantics). Entries live in an ordered map from ID to one
//! boxed block holding their fields and values (varint-prefixed), so an entry costs one heap block.
//!
//! Redis keeps entries in listpacks hung off a radix tree, and some of its behaviour shows that layout:
//! approximate trimming (`MAXLEN ~`) removes only whole nodes, a deleted entry leaves a tombstone in its
//! node until the node goes, `XINFO STREAM` counts the nodes. So beside the entries this keeps a model of
//! the nodes: where each starts, its last ID (tombstones included), its live and deleted counts, its master
//! fields and the exact byte size its listpack would have; a node closes, as in Redis, when it holds
//! `stream-node-max-entries` entries or its bytes plus the next entry's reach `stream-node-max-bytes`.
//! Consumer groups hold their pending entries list (PEL) and consumers as Redis 7.0 does.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A stream entry ID: milliseconds and a sequence number, ordered as a 128-bit number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    pub fn is_zero(&self) -> bool {
        self.ms == 0 && self.seq == 0
    }

    /// The next ID; None past the greatest (Redis's `streamIncrID` failing).
    pub fn incr(self) -> Option<StreamId> {
        if self.seq == u64::MAX {
            if self.ms == u64::MAX {
                None
            } else {
                Some(StreamId::new(self.ms + 1, 0))
            }
        } else {
            Some(StreamId::new(self.ms, self.seq + 1))
        }
    }

    /// The previous ID; None before 0-0.
    pub fn decr(self) -> Option<StreamId> {
        if self.seq == 0 {
            if self.ms == 0 {
                None
            } else {
                Some(StreamId::new(self.ms - 1, u64::MAX))
            }
        } else {
            Some(StreamId::new(self.ms, self.seq - 1))
        }
    }

    /// Appends `<ms>-<seq>`.
    pub fn push_to(&self, out: &mut Vec<u8>) {
        push_u64(out, self.ms);
        out.push(b'-');
        push_u64(out, self.seq);
    }

    /// `<ms>-<seq>` formatted on the stack.
    pub fn fmt(&self) -> IdText {
        let mut t = IdText {
            buf: [0; 41],
            len: 0,
        };
        let mut tmp = [0u8; 20];
        let a = fmt_u64(self.ms, &mut tmp);
        t.buf[..a.len()].copy_from_slice(a);
        let mut n = a.len();
        t.buf[n] = b'-';
        n += 1;
        let b = fmt_u64(self.seq, &mut tmp);
        t.buf[n..n + b.len()].copy_from_slice(b);
        t.len = n + b.len();
        t
    }
}

/// A formatted ID.
pub struct IdText {
    buf: [u8; 41],
    len: usize,
}

impl IdText {
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

fn fmt_u64(mut v: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &buf[i..]
}

pub fn push_u64(out: &mut Vec<u8>, v: u64) {
    let mut tmp = [0u8; 20];
    out.extend_from_slice(fmt_u64(v, &mut tmp));
}

/// Redis's `string2ull` on a C string: `string2ll` first (a negative number is refused), else
/// `strtoull` (leading spaces, a sign, leading zeros; a `-` negates modulo 2^64), the whole text used.
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    let s = &s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())];
    if let Some(v) = crate::util::parse_i64(s) {
        return (v >= 0).then_some(v as u64);
    }
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    if i >= s.len() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in &s[i..] {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

// ---------------------------------------------------------------------------------------------------
// Entry blocks.

fn put_varint(out: &mut Vec<u8>, mut v: usize) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(b: &[u8], pos: &mut usize) -> usize {
    let mut v = 0usize;
    let mut shift = 0;
    while let Some(&c) = b.get(*pos) {
        *pos += 1;
        v |= ((c & 0x7f) as usize) << shift;
        if c & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    v
}

/// A sequence of byte strings in one heap block: the count, then each string with its length.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Strs(Box<[u8]>);

impl Strs {
    pub fn new<'a>(items: impl ExactSizeIterator<Item = &'a [u8]> + Clone) -> Strs {
        let size: usize = items.clone().map(|s| s.len() + 2).sum::<usize>() + 4;
        let mut b = Vec::with_capacity(size);
        put_varint(&mut b, items.len());
        for s in items {
            put_varint(&mut b, s.len());
            b.extend_from_slice(s);
        }
        Strs(b.into_boxed_slice())
    }

    /// Like `new`, from a function that yields the strings afresh (walked twice: size, then copy).
    pub fn from_fn<'a, I: ExactSizeIterator<Item = &'a [u8]>>(items: &impl Fn() -> I) -> Strs {
        let size: usize = items().map(|s| s.len() + 2).sum::<usize>() + 4;
        let mut b = Vec::with_capacity(size);
        put_varint(&mut b, items().len());
        for s in items() {
            put_varint(&mut b, s.len());
            b.extend_from_slice(s);
        }
        Strs(b.into_boxed_slice())
    }

    pub fn len(&self) -> usize {
        let mut p = 0;
        get_varint(&self.0, &mut p)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> StrsIter<'_> {
        let mut pos = 0;
        let left = get_varint(&self.0, &mut pos);
        StrsIter {
            b: &self.0,
            pos,
            left,
        }
    }

    pub fn heap_size(&self) -> usize {
        self.0.len()
    }
}

pub struct StrsIter<'a> {
    b: &'a [u8],
    pos: usize,
    left: usize,
}

impl<'a> Iterator for StrsIter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let n = get_varint(self.b, &mut self.pos);
        let s = self.b.get(self.pos..self.pos + n)?;
        self.pos += n;
        Some(s)
    }
    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for StrsIter<'_> {}

// ---------------------------------------------------------------------------------------------------
// Listpack sizes, for the node model.

fn lp_backlen(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

fn lp_int_size(v: i64) -> usize {
    let enc = match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8388608..=8388607 => 4,
        -2147483648..=2147483647 => 5,
        _ => 9,
    };
    enc + 1
}

fn lp_str_size(s: &[u8]) -> usize {
    if s.len() < 21 {
        if let Some(v) = crate::util::parse_i64(s) {
            return lp_int_size(v);
        }
    }
    let enc = if s.len() < 64 {
        1 + s.len()
    } else if s.len() < 4096 {
        2 + s.len()
    } else {
        5 + s.len()
    };
    enc + lp_backlen(enc)
}

/// Redis's STREAM_LISTPACK_MAX_SIZE.
const LISTPACK_MAX_SIZE: usize = 1 << 30;

/// One radix-tree node of Redis's layout, keyed in `Stream::nodes` by its master ID (its first entry's).
#[derive(Debug, Clone, PartialEq)]
struct Node {
    /// The ID of the last entry added to it, tombstone or not.
    last: StreamId,
    live: u64,
    deleted: u64,
    /// Listpack bytes besides the header, the terminator and the live/deleted counters.
    fixed: usize,
    /// The master entry's field names.
    master: Strs,
}

impl Node {
    fn lp_bytes(&self) -> usize {
        6 + 1 + lp_int_size(self.live as i64) + lp_int_size(self.deleted as i64) + self.fixed
    }
}

/// Node limits (`stream-node-max-bytes`, `stream-node-max-entries`).
#[derive(Debug, Clone, Copy)]
pub struct NodeLimits {
    pub max_bytes: usize,
    pub max_entries: u64,
}

// ---------------------------------------------------------------------------------------------------
// Consumer groups.

/// Redis's SCG_INVALID_ENTRIES_READ.
pub const INVALID_READ: i64 = -1;

/// A delivered, not yet acknowledged entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Nack {
    pub consumer: Arc<[u8]>,
    pub delivery_time: i64,
    pub delivery_count: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Consumer {
    pub seen_time: i64,
    pub pel: BTreeSet<StreamId>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub last_id: StreamId,
    pub entries_read: i64,
    pub pel: BTreeMap<StreamId, Nack>,
    pub consumers: BTreeMap<Arc<[u8]>, Consumer>,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: i64) -> Group {
        Group {
            last_id,
            entries_read,
            pel: BTreeMap::new(),
            consumers: BTreeMap::new(),
        }
    }

    /// Adds consumer `name` if absent; returns whether it was created.
    pub fn create_consumer(&mut self, name: &[u8], now: i64) -> bool {
        if self.consumers.contains_key(name) {
            return false;
        }
        self.consumers.insert(
            Arc::from(name),
            Consumer {
                seen_time: now,
                pel: BTreeSet::new(),
            },
        );
        true
    }

    /// The shared name of consumer `name` (which must exist).
    pub fn consumer_name(&self, name: &[u8]) -> Option<Arc<[u8]>> {
        self.consumers.get_key_value(name).map(|(k, _)| k.clone())
    }

    /// Removes `id` from the group PEL and its consumer's; returns whether it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        match self.pel.remove(&id) {
            Some(n) => {
                if let Some(c) = self.consumers.get_mut(&*n.consumer) {
                    c.pel.remove(&id);
                }
                true
            }
            None => false,
        }
    }

    /// Gives pending entry `id` to `consumer` (creating the NACK if missing), as delivery or claim do.
    pub fn assign(&mut self, id: StreamId, consumer: &Arc<[u8]>) -> &mut Nack {
        let prev = self.pel.get(&id).map(|n| n.consumer.clone());
        if let Some(p) = prev {
            if *p != **consumer {
                if let Some(c) = self.consumers.get_mut(&*p) {
                    c.pel.remove(&id);
                }
            }
        }
        if let Some(c) = self.consumers.get_mut(&**consumer) {
            c.pel.insert(id);
        }
        // A new NACK starts as Redis's streamCreateNACK makes it: delivered once.
        let nack = self.pel.entry(id).or_insert_with(|| Nack {
            consumer: consumer.clone(),
            delivery_time: 0,
            delivery_count: 1,
        });
        nack.consumer = consumer.clone();
        nack
    }

    /// Deletes a consumer and its pending entries; returns how many it had.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        for id in &c.pel {
            self.pel.remove(id);
        }
        Some(c.pel.len())
    }

    fn heap_size(&self) -> usize {
        self.pel.len() * 64
            + self
                .consumers
                .iter()
                .map(|(k, c)| k.len() + 64 + c.pel.len() * 24)
                .sum::<usize>()
    }
}

// ---------------------------------------------------------------------------------------------------
// The stream.

#[derive(Debug, Clone, PartialEq)]
pub struct Stream {
    entries: BTreeMap<StreamId, Strs>,
    nodes: BTreeMap<StreamId, Node>,
    pub last_id: StreamId,
    /// The first live entry's ID, 0-0 when empty (Redis's `first_id`).
    pub first_id: StreamId,
    pub max_deleted: StreamId,
    pub entries_added: u64,
    pub groups: BTreeMap<Box<[u8]>, Group>,
}

/// Why an append failed.
#[derive(Debug, PartialEq, Eq)]
pub enum AppendError {
    /// The ID is not greater than the last one.
    NotGreater,
    /// The fields and values are too big for a node.
    TooLarge,
}

/// Trimming: MAXLEN or MINID, exact or approximate, with a limit of entries removed (0: none).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TrimBy {
    MaxLen(u64),
    MinId(StreamId),
}

impl Default for Stream {
    fn default() -> Self {
        Stream::new()
    }
}

impl Stream {
    pub fn new() -> Stream {
        Stream {
            entries: BTreeMap::new(),
            nodes: BTreeMap::new(),
            last_id: StreamId::MIN,
            first_id: StreamId::MIN,
            max_deleted: StreamId::MIN,
            entries_added: 0,
            groups: BTreeMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Radix-tree keys: the number of listpack nodes.
    pub fn nodes(&self) -> usize {
        self.nodes.len()
    }

    pub fn heap_size(&self) -> usize {
        self.entries
            .values()
            .map(|e| e.heap_size() + 48)
            .sum::<usize>()
            + self
                .nodes
                .values()
                .map(|n| n.master.heap_size() + 80)
                .sum::<usize>()
            + self
                .groups
                .iter()
                .map(|(k, g)| k.len() + 96 + g.heap_size())
                .sum::<usize>()
    }

    /// The ID the next entry gets: `ms`-based after the last one (Redis's `streamNextID`), or the given
    /// one, or `ms-*` with its sequence chosen. Does not check it exceeds the last ID.
    pub fn next_id(&self, now_ms: u64, given: Option<(StreamId, bool)>) -> Option<StreamId> {
        match given {
            Some((id, true)) => Some(id),
            Some((id, false)) => {
                if self.last_id.ms == id.ms {
                    if self.last_id.seq == u64::MAX {
                        return None;
                    }
                    Some(StreamId::new(id.ms, self.last_id.seq + 1))
                } else {
                    Some(StreamId::new(id.ms, 0))
                }
            }
            None => {
                if now_ms > self.last_id.ms {
                    Some(StreamId::new(now_ms, 0))
                } else {
                    // Wraps to 0-0 past the greatest ID, which the caller then refuses.
                    Some(self.last_id.incr().unwrap_or(StreamId::MIN))
                }
            }
        }
    }

    /// Appends an entry with `fv` (fields and values alternating) at `id`, which must exceed the last ID.
    pub fn append<'a, I: ExactSizeIterator<Item = &'a [u8]>>(
        &mut self,
        id: StreamId,
        fv: impl Fn() -> I,
        lim: NodeLimits,
    ) -> Result<(), AppendError> {
        if id <= self.last_id {
            return Err(AppendError::NotGreater);
        }
        let total: usize = fv().map(|s| s.len()).sum();
        if total > LISTPACK_MAX_SIZE {
            return Err(AppendError::TooLarge);
        }
        let numfields = fv().len() / 2;
        let fields = || fv().step_by(2);
        // Whether the tail node takes the entry, as streamAppendItem decides.
        let mut tail = self.nodes.iter_mut().next_back();
        if let Some((_, node)) = &tail {
            let max_bytes = if lim.max_bytes == 0 || lim.max_bytes > LISTPACK_MAX_SIZE {
                LISTPACK_MAX_SIZE
            } else {
                lim.max_bytes
            };
            let full = node.lp_bytes() + total >= max_bytes
                || (lim.max_entries != 0 && node.live + node.deleted >= lim.max_entries);
            if full {
                tail = None;
            }
        }
        let (master_id, node) = match tail {
            Some((&m, node)) => (m, node),
            None => {
                let master = Strs::from_fn(&fields);
                let fixed = lp_int_size(numfields as i64)
                    + fields().map(lp_str_size).sum::<usize>()
                    + lp_int_size(0);
                self.nodes.insert(
                    id,
                    Node {
                        last: id,
                        live: 0,
                        deleted: 0,
                        fixed,
                        master,
                    },
                );
                let node = self.nodes.get_mut(&id).expect("just inserted");
                (id, node)
            }
        };
        let same = node.master.len() == numfields && node.master.iter().eq(fields());
        let mut size = lp_int_size(if same { 2 } else { 0 })
            + lp_int_size(id.ms.wrapping_sub(master_id.ms) as i64)
            + lp_int_size(id.seq.wrapping_sub(master_id.seq) as i64);
        let mut lp_count = numfields + 3;
        if same {
            size += fv().skip(1).step_by(2).map(lp_str_size).sum::<usize>();
        } else {
            size += lp_int_size(numfields as i64) + fv().map(lp_str_size).sum::<usize>();
            lp_count += numfields + 1;
        }
        size += lp_int_size(lp_count as i64);
        node.fixed += size;
        node.live += 1;
        node.last = id;
        self.entries.insert(id, Strs::from_fn(&fv));
        self.entries_added += 1;
        self.last_id = id;
        if self.entries.len() == 1 {
            self.first_id = id;
        }
        Ok(())
    }

    pub fn get(&self, id: StreamId) -> Option<&Strs> {
        self.entries.get(&id)
    }

    pub fn contains(&self, id: StreamId) -> bool {
        self.entries.contains_key(&id)
    }

    /// Entries from `start` to `end` inclusive, forwards or backwards.
    pub fn range(
        &self,
        start: StreamId,
        end: StreamId,
        rev: bool,
    ) -> Box<dyn Iterator<Item = (StreamId, &Strs)> + '_> {
        if start > end {
            return Box::new(std::iter::empty());
        }
        let r = self.entries.range(start..=end).map(|(k, v)| (*k, v));
        if rev {
            Box::new(r.rev())
        } else {
            Box::new(r)
        }
    }

    /// The last live entry's ID (Redis's `streamLastValidID`), 0-0 when empty.
    pub fn last_valid_id(&self) -> StreamId {
        self.entries
            .keys()
            .next_back()
            .copied()
            .unwrap_or(StreamId::MIN)
    }

    /// The first entry's ID, tombstones included (`streamGetEdgeID(s,1,0,..)`): the greatest ID when
    /// there is none.
    pub fn first_edge_with_tombstones(&self) -> StreamId {
        self.nodes.keys().next().copied().unwrap_or(StreamId::MAX)
    }

    fn node_of(&self, id: StreamId) -> Option<StreamId> {
        self.nodes.range(..=id).next_back().map(|(k, _)| *k)
    }

    /// Removes a live entry, leaving a tombstone in its node (the node goes when nothing live is left).
    fn tombstone(&mut self, id: StreamId, drop_empty_node: bool) -> bool {
        if self.entries.remove(&id).is_none() {
            return false;
        }
        if let Some(m) = self.node_of(id) {
            let remove = match self.nodes.get_mut(&m) {
                Some(n) => {
                    n.live -= 1;
                    n.deleted += 1;
                    n.live == 0 && drop_empty_node
                }
                None => false,
            };
            if remove {
                self.nodes.remove(&m);
            }
        }
        true
    }

    /// XDEL of one ID: true when it existed. Keeps `first_id` and `max_deleted` as Redis does.
    pub fn delete(&mut self, id: StreamId) -> bool {
        if !self.tombstone(id, true) {
            return false;
        }
        if id > self.max_deleted {
            self.max_deleted = id;
        }
        if self.entries.is_empty() {
            self.first_id = StreamId::MIN;
        } else if id == self.first_id {
            self.first_id = self.last_valid_first();
        }
        true
    }

    fn last_valid_first(&self) -> StreamId {
        self.entries.keys().next().copied().unwrap_or(StreamId::MIN)
    }

    /// Redis's `streamTrim`: whole nodes from the head, then (unless `approx`) entries inside the next
    /// node; at most `limit` entries when it is not 0. Returns how many entries were removed.
    pub fn trim(&mut self, by: TrimBy, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        while let Some((&master, node)) = self.nodes.iter().next() {
            let length = self.entries.len() as u64;
            if let TrimBy::MaxLen(max) = by {
                if length <= max {
                    break;
                }
            }
            let entries = node.live;
            if limit != 0 && deleted + entries > limit {
                break;
            }
            let remove_node = match by {
                TrimBy::MaxLen(max) => length - entries >= max,
                TrimBy::MinId(min) => node.last < min,
            };
            if remove_node {
                let last = node.last;
                self.nodes.remove(&master);
                let ids: Vec<StreamId> =
                    self.entries.range(master..=last).map(|(k, _)| *k).collect();
                for id in ids {
                    self.entries.remove(&id);
                }
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            let last = node.last;
            let ids: Vec<StreamId> = self.entries.range(master..=last).map(|(k, _)| *k).collect();
            for id in ids {
                let stop = match by {
                    TrimBy::MaxLen(max) => self.entries.len() as u64 <= max,
                    TrimBy::MinId(min) => id >= min,
                };
                if stop {
                    break;
                }
                // A node emptied here stays, as in Redis (only whole-node removal drops it).
                self.tombstone(id, false);
                deleted += 1;
            }
            break;
        }
        if self.entries.is_empty() {
            self.first_id = StreamId::MIN;
        } else if deleted > 0 {
            self.first_id = self.last_valid_first();
        }
        deleted
    }

    /// Redis's `streamRangeHasTombstones` from `start` to the end.
    pub fn has_tombstones_from(&self, start: StreamId) -> bool {
        if self.entries.is_empty() || self.max_deleted.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted {
            return false;
        }
        start <= self.max_deleted
    }

    /// Redis's `streamEstimateDistanceFromFirstEverEntry`: the read counter of `id`, or INVALID_READ.
    pub fn estimate_distance(&self, id: StreamId) -> i64 {
        if self.entries_added == 0 {
            return 0;
        }
        if self.entries.is_empty() && id <= self.last_id {
            return self.entries_added as i64;
        }
        if id == self.last_id {
            return self.entries_added as i64;
        } else if id > self.last_id {
            return INVALID_READ;
        }
        if self.max_deleted.is_zero() || self.max_deleted < self.first_id {
            if id < self.first_id {
                return (self.entries_added - self.entries.len() as u64) as i64;
            } else if id == self.first_id {
                return (self.entries_added - self.entries.len() as u64 + 1) as i64;
            }
        }
        INVALID_READ
    }

    /// A group's lag (`streamReplyWithCGLag`), None when it cannot be told.
    pub fn lag(&self, g: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if g.entries_read != INVALID_READ && !self.has_tombstones_from(g.last_id) {
            return Some(self.entries_added as i64 - g.entries_read);
        }
        let read = self.estimate_distance(g.last_id);
        (read != INVALID_READ).then(|| self.entries_added as i64 - read)
    }

    /// Moves group `g`'s last-delivered ID to `id` (an entry just delivered past it), keeping its read
    /// counter as streamReplyWithRange does.
    pub fn advance_group(&mut self, group: &[u8], id: StreamId) {
        let tomb = self.has_tombstones_from(id);
        let est = if self.entries_added != 0 {
            Some(self.estimate_distance(id))
        } else {
            None
        };
        if let Some(g) = self.groups.get_mut(group) {
            if id > g.last_id {
                if g.entries_read != INVALID_READ && !tomb {
                    g.entries_read += 1;
                } else if let Some(e) = est {
                    g.entries_read = e;
                }
                g.last_id = id;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// RDB.

/// Redis's RDB_TYPE_STREAM_LISTPACKS (before 7.0) and RDB_TYPE_STREAM_LISTPACKS_2.
pub const RDB_TYPE_STREAM: u8 = 15;
pub const RDB_TYPE_STREAM_2: u8 = 19;

const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;

/// A listpack being written.
struct LpWriter {
    buf: Vec<u8>,
    count: usize,
}

impl LpWriter {
    fn new() -> LpWriter {
        LpWriter {
            buf: vec![0; 6],
            count: 0,
        }
    }

    fn backlen(&mut self, l: usize) {
        let l = l as u64;
        let b: &[u8] = &match l {
            0..=127 => [l as u8, 0, 0, 0, 0],
            128..=16382 => [(l >> 7) as u8, (l & 127) as u8 | 128, 0, 0, 0],
            16383..=2097150 => [
                (l >> 14) as u8,
                ((l >> 7) & 127) as u8 | 128,
                (l & 127) as u8 | 128,
                0,
                0,
            ],
            2097151..=268435454 => [
                (l >> 21) as u8,
                ((l >> 14) & 127) as u8 | 128,
                ((l >> 7) & 127) as u8 | 128,
                (l & 127) as u8 | 128,
                0,
            ],
            _ => [
                (l >> 28) as u8,
                ((l >> 21) & 127) as u8 | 128,
                ((l >> 14) & 127) as u8 | 128,
                ((l >> 7) & 127) as u8 | 128,
                (l & 127) as u8 | 128,
            ],
        }[..lp_backlen(l as usize)];
        self.buf.extend_from_slice(b);
    }

    fn int(&mut self, v: i64) {
        let start = self.buf.len();
        match v {
            0..=127 => self.buf.push(v as u8),
            -4096..=4095 => {
                let u = (v as u64) & 0x1fff;
                self.buf.push(0xC0 | (u >> 8) as u8);
                self.buf.push(u as u8);
            }
            -32768..=32767 => {
                self.buf.push(0xF1);
                self.buf.extend_from_slice(&(v as i16).to_le_bytes());
            }
            -8388608..=8388607 => {
                self.buf.push(0xF2);
                self.buf.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
            }
            -2147483648..=2147483647 => {
                self.buf.push(0xF3);
                self.buf.extend_from_slice(&(v as i32).to_le_bytes());
            }
            _ => {
                self.buf.push(0xF4);
                self.buf.extend_from_slice(&v.to_le_bytes());
            }
        }
        let l = self.buf.len() - start;
        self.backlen(l);
        self.count += 1;
    }

    fn str(&mut self, s: &[u8]) {
        if s.len() < 21 {
            if let Some(v) = crate::util::parse_i64(s) {
                return self.int(v);
            }
        }
        let start = self.buf.len();
        let n = s.len();
        if n < 64 {
            self.buf.push(0x80 | n as u8);
        } else if n < 4096 {
            self.buf.push(0xE0 | (n >> 8) as u8);
            self.buf.push(n as u8);
        } else {
            self.buf.push(0xF0);
            self.buf.extend_from_slice(&(n as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        let l = self.buf.len() - start;
        self.backlen(l);
        self.count += 1;
    }

    fn finish(mut self) -> Vec<u8> {
        self.buf.push(0xFF);
        let total = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        let n = self.count.min(65535) as u16;
        self.buf[4..6].copy_from_slice(&n.to_le_bytes());
        self.buf
    }
}

/// One element read back from a listpack.
enum LpElem<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl LpElem<'_> {
    fn int(&self) -> Option<i64> {
        match self {
            LpElem::Int(v) => Some(*v),
            LpElem::Str(s) => crate::util::parse_i64(s),
        }
    }

    fn bytes(&self) -> Vec<u8> {
        match self {
            LpElem::Int(v) => v.to_string().into_bytes(),
            LpElem::Str(s) => s.to_vec(),
        }
    }
}

fn lp_read(lp: &[u8]) -> Option<Vec<LpElem<'_>>> {
    if lp.len() < 7 || lp[lp.len() - 1] != 0xFF {
        return None;
    }
    let total = u32::from_le_bytes([lp[0], lp[1], lp[2], lp[3]]) as usize;
    if total != lp.len() {
        return None;
    }
    let end = lp.len() - 1;
    let mut out = Vec::new();
    let mut p = 6;
    while p < end {
        let b = lp[p];
        let (elem, len) = if b & 0x80 == 0 {
            (LpElem::Int((b & 0x7f) as i64), 1)
        } else if b & 0xC0 == 0x80 {
            let n = (b & 0x3f) as usize;
            (LpElem::Str(lp.get(p + 1..p + 1 + n)?), 1 + n)
        } else if b & 0xE0 == 0xC0 {
            let u = (((b & 0x1f) as u64) << 8) | *lp.get(p + 1)? as u64;
            let v = if u >= 1 << 12 {
                u as i64 - (1 << 13)
            } else {
                u as i64
            };
            (LpElem::Int(v), 2)
        } else if b & 0xF0 == 0xE0 {
            let n = (((b & 0x0f) as usize) << 8) | *lp.get(p + 1)? as usize;
            (LpElem::Str(lp.get(p + 2..p + 2 + n)?), 2 + n)
        } else {
            match b {
                0xF0 => {
                    let l = lp.get(p + 1..p + 5)?;
                    let n = u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize;
                    (LpElem::Str(lp.get(p + 5..p.checked_add(5 + n)?)?), 5 + n)
                }
                0xF1 => {
                    let l = lp.get(p + 1..p + 3)?;
                    (LpElem::Int(i16::from_le_bytes([l[0], l[1]]) as i64), 3)
                }
                0xF2 => {
                    let l = lp.get(p + 1..p + 4)?;
                    let v = (i32::from_le_bytes([0, l[0], l[1], l[2]]) >> 8) as i64;
                    (LpElem::Int(v), 4)
                }
                0xF3 => {
                    let l = lp.get(p + 1..p + 5)?;
                    (
                        LpElem::Int(i32::from_le_bytes([l[0], l[1], l[2], l[3]]) as i64),
                        5,
                    )
                }
                0xF4 => {
                    let l: [u8; 8] = lp.get(p + 1..p + 9)?.try_into().ok()?;
                    (LpElem::Int(i64::from_le_bytes(l)), 9)
                }
                _ => return None,
            }
        };
        p += len + lp_backlen(len);
        if p > end {
            return None;
        }
        out.push(elem);
    }
    Some(out)
}

fn id_bytes(id: StreamId) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&id.ms.to_be_bytes());
    b[8..].copy_from_slice(&id.seq.to_be_bytes());
    b
}

fn id_from_bytes(b: &[u8]) -> Option<StreamId> {
    let b: [u8; 16] = b.try_into().ok()?;
    Some(StreamId::new(
        u64::from_be_bytes(b[..8].try_into().ok()?),
        u64::from_be_bytes(b[8..].try_into().ok()?),
    ))
}

/// Appends the stream as `rdbSaveObjectType` + `rdbSaveObject` write it (RDB_TYPE_STREAM_LISTPACKS_2).
/// Each node's listpack holds its live entries, encoded as Redis encodes them; deleted entries, which
/// this server does not keep, are left out (so a stream with none is byte for byte Redis's).
pub fn save_rdb(out: &mut Vec<u8>, s: &Stream) {
    use super::rdb::{save_len, save_string};
    out.push(RDB_TYPE_STREAM_2);
    save_len(out, s.nodes.len() as u64);
    for (&master, node) in &s.nodes {
        let mut lp = LpWriter::new();
        let mfields = node.master.len();
        lp.int(node.live as i64);
        lp.int(0);
        lp.int(mfields as i64);
        for f in node.master.iter() {
            lp.str(f);
        }
        lp.int(0);
        for (&id, fv) in s.entries.range(master..=node.last) {
            let n = fv.len() / 2;
            let same = n == mfields && fv.iter().step_by(2).eq(node.master.iter());
            lp.int(if same { FLAG_SAMEFIELDS } else { 0 });
            lp.int(id.ms.wrapping_sub(master.ms) as i64);
            lp.int(id.seq.wrapping_sub(master.seq) as i64);
            if same {
                for v in fv.iter().skip(1).step_by(2) {
                    lp.str(v);
                }
                lp.int(n as i64 + 3);
            } else {
                lp.int(n as i64);
                for x in fv.iter() {
                    lp.str(x);
                }
                lp.int(2 * n as i64 + 4);
            }
        }
        save_string(out, &id_bytes(master));
        save_string(out, &lp.finish());
    }
    save_len(out, s.entries.len() as u64);
    save_len(out, s.last_id.ms);
    save_len(out, s.last_id.seq);
    save_len(out, s.first_id.ms);
    save_len(out, s.first_id.seq);
    save_len(out, s.max_deleted.ms);
    save_len(out, s.max_deleted.seq);
    save_len(out, s.entries_added);
    save_len(out, s.groups.len() as u64);
    for (name, g) in &s.groups {
        save_string(out, name);
        save_len(out, g.last_id.ms);
        save_len(out, g.last_id.seq);
        save_len(out, g.entries_read as u64);
        save_len(out, g.pel.len() as u64);
        for (id, n) in &g.pel {
            out.extend_from_slice(&id_bytes(*id));
            out.extend_from_slice(&n.delivery_time.to_le_bytes());
            save_len(out, n.delivery_count);
        }
        save_len(out, g.consumers.len() as u64);
        for (cname, c) in &g.consumers {
            save_string(out, cname);
            out.extend_from_slice(&c.seen_time.to_le_bytes());
            save_len(out, c.pel.len() as u64);
            for id in &c.pel {
                out.extend_from_slice(&id_bytes(*id));
            }
        }
    }
}

/// Reads a stream body of type `t` (15 or 19) at `*pos`, as Redis's rdbLoadObject does.
pub fn load_rdb(t: u8, buf: &[u8], pos: &mut usize) -> Result<super::Value, super::rdb::LoadError> {
    load_rdb_inner(t, buf, pos)
        .ok_or(super::rdb::LoadError::Format)
        .map(|s| super::Value::Stream(Box::new(s)))
}

fn load_rdb_inner(t: u8, buf: &[u8], pos: &mut usize) -> Option<Stream> {
    use super::rdb::{read_len, read_string};
    let len = |pos: &mut usize| read_len(buf, pos).ok();
    let raw = |pos: &mut usize, n: usize| -> Option<&[u8]> {
        let b = buf.get(*pos..pos.checked_add(n)?)?;
        *pos += n;
        Some(b)
    };
    let mut s = Stream::new();
    let nodes = len(pos)?;
    for _ in 0..nodes {
        let key = read_string(buf, pos).ok()?;
        let master = id_from_bytes(&key)?;
        let lp = read_string(buf, pos).ok()?;
        let elems = lp_read(&lp)?;
        let mut it = elems.iter();
        let live = it.next()?.int()?;
        let deleted = it.next()?.int()?;
        let mf = usize::try_from(it.next()?.int()?).ok()?;
        let mut mfields = Vec::with_capacity(mf.min(1024));
        for _ in 0..mf {
            mfields.push(it.next()?.bytes());
        }
        if it.next()?.int()? != 0 {
            return None;
        }
        let mut last = master;
        let (mut nlive, mut ndel) = (0i64, 0i64);
        while let Some(flags) = it.next() {
            let flags = flags.int()?;
            let ms = master.ms.wrapping_add(it.next()?.int()? as u64);
            let seq = master.seq.wrapping_add(it.next()?.int()? as u64);
            let id = StreamId::new(ms, seq);
            let mut fv: Vec<Vec<u8>> = Vec::new();
            if flags & FLAG_SAMEFIELDS != 0 {
                for f in &mfields {
                    fv.push(f.clone());
                    fv.push(it.next()?.bytes());
                }
            } else {
                let n = usize::try_from(it.next()?.int()?).ok()?;
                for _ in 0..2 * n {
                    fv.push(it.next()?.bytes());
                }
            }
            it.next()?.int()?;
            if id < last || (id == last && nlive + ndel > 0) {
                return None;
            }
            last = id;
            if flags & FLAG_DELETED != 0 {
                ndel += 1;
            } else {
                nlive += 1;
                let refs: Vec<&[u8]> = fv.iter().map(|v| v.as_slice()).collect();
                s.entries.insert(id, Strs::new(refs.iter().copied()));
            }
        }
        if nlive != live || ndel != deleted {
            return None;
        }
        let fixed = lp
            .len()
            .checked_sub(7 + lp_int_size(live) + lp_int_size(deleted))?;
        let mrefs: Vec<&[u8]> = mfields.iter().map(|v| v.as_slice()).collect();
        if s.nodes.contains_key(&master) {
            return None;
        }
        s.nodes.insert(
            master,
            Node {
                last,
                live: live as u64,
                deleted: deleted as u64,
                fixed,
                master: Strs::new(mrefs.iter().copied()),
            },
        );
    }
    let length = len(pos)?;
    if length != s.entries.len() as u64 {
        return None;
    }
    s.last_id = StreamId::new(len(pos)?, len(pos)?);
    if t == RDB_TYPE_STREAM_2 {
        s.first_id = StreamId::new(len(pos)?, len(pos)?);
        s.max_deleted = StreamId::new(len(pos)?, len(pos)?);
        s.entries_added = len(pos)?;
    } else {
        s.entries_added = length;
        s.first_id = s.last_valid_first();
    }
    let groups = len(pos)?;
    for _ in 0..groups {
        let name = read_string(buf, pos).ok()?.into_owned();
        let last = StreamId::new(len(pos)?, len(pos)?);
        let read = if t == RDB_TYPE_STREAM_2 {
            len(pos)? as i64
        } else {
            s.estimate_distance(last)
        };
        let mut g = Group::new(last, read);
        let pel = len(pos)?;
        let mut times = BTreeMap::new();
        for _ in 0..pel {
            let id = id_from_bytes(raw(pos, 16)?)?;
            let t: [u8; 8] = raw(pos, 8)?.try_into().ok()?;
            let count = len(pos)?;
            if times.insert(id, (i64::from_le_bytes(t), count)).is_some() {
                return None;
            }
        }
        let consumers = len(pos)?;
        for _ in 0..consumers {
            let cname = read_string(buf, pos).ok()?;
            let seen: [u8; 8] = raw(pos, 8)?.try_into().ok()?;
            if !g.create_consumer(&cname, i64::from_le_bytes(seen)) {
                return None;
            }
            let shared = g.consumer_name(&cname)?;
            let n = len(pos)?;
            for _ in 0..n {
                let id = id_from_bytes(raw(pos, 16)?)?;
                let (time, count) = times.remove(&id)?;
                let nack = g.assign(id, &shared);
                nack.delivery_time = time;
                nack.delivery_count = count;
            }
        }
        // Every pending entry belongs to some consumer.
        if !times.is_empty() || s.groups.contains_key(name.as_slice()) {
            return None;
        }
        s.groups.insert(name.into_boxed_slice(), g);
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIM: NodeLimits = NodeLimits {
        max_bytes: 4096,
        max_entries: 100,
    };

    #[test]
    fn ids_format_and_step() {
        assert_eq!(StreamId::new(1, 2).fmt().as_bytes(), b"1-2");
        assert_eq!(
            StreamId::MAX.fmt().as_bytes(),
            b"18446744073709551615-18446744073709551615"
        );
        assert_eq!(StreamId::new(1, u64::MAX).incr(), Some(StreamId::new(2, 0)));
        assert_eq!(StreamId::MAX.incr(), None);
        assert_eq!(StreamId::MIN.decr(), None);
        assert_eq!(parse_u64(b"-1"), None);
        assert_eq!(parse_u64(b" +01"), Some(1));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"1a"), None);
    }

    #[test]
    fn nodes_split_and_trim_whole() {
        let mut s = Stream::new();
        for i in 1..=250u64 {
            let fv: [&[u8]; 2] = [b"f", b"v"];
            s.append(StreamId::new(i, 0), || fv.iter().copied(), LIM)
                .unwrap();
        }
        assert_eq!(s.nodes(), 3);
        assert_eq!(s.trim(TrimBy::MaxLen(120), true, 0), 100);
        assert_eq!(s.len(), 150);
        assert_eq!(s.trim(TrimBy::MaxLen(120), false, 0), 30);
        assert_eq!(s.len(), 120);
        assert_eq!(s.first_id, StreamId::new(131, 0));
        assert!(s.delete(StreamId::new(131, 0)));
        assert_eq!(s.first_id, StreamId::new(132, 0));
        assert_eq!(s.max_deleted, StreamId::new(131, 0));
    }

    #[test]
    fn rdb_round_trip() {
        let mut s = Stream::new();
        for i in 1..=150u64 {
            let v = i.to_string();
            let fv: [&[u8]; 4] = [b"f", v.as_bytes(), b"name", &[b'x'; 70]];
            s.append(
                StreamId::new(i, i),
                || fv[..if i % 3 == 0 { 2 } else { 4 }].iter().copied(),
                LIM,
            )
            .unwrap();
        }
        s.delete(StreamId::new(5, 5));
        let mut g = Group::new(StreamId::new(9, 9), 3);
        g.create_consumer(b"alice", 1234);
        let a = g.consumer_name(b"alice").unwrap();
        g.assign(StreamId::new(7, 7), &a).delivery_time = 99;
        s.groups.insert(b"grp"[..].into(), g);
        let mut out = Vec::new();
        save_rdb(&mut out, &s);
        let mut pos = 1;
        let v = load_rdb(out[0], &out, &mut pos).unwrap();
        assert_eq!(pos, out.len());
        let super::super::Value::Stream(back) = v else {
            panic!("not a stream")
        };
        assert_eq!(back.entries, s.entries);
        assert_eq!(back.groups, s.groups);
        assert_eq!(back.last_id, s.last_id);
        assert_eq!(back.max_deleted, s.max_deleted);
    }

    #[test]
    fn strs_round_trip() {
        let s = Strs::new([&b"a"[..], b"", &[7u8; 300][..]].into_iter());
        let v: Vec<&[u8]> = s.iter().collect();
        assert_eq!(v, vec![&b"a"[..], b"", &[7u8; 300][..]]);
        assert_eq!(s.len(), 3);
    }
}
