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
    pub fn append(
        &mut self,
        id: StreamId,
        fv: &[&[u8]],
        lim: NodeLimits,
    ) -> Result<(), AppendError> {
        if id <= self.last_id {
            return Err(AppendError::NotGreater);
        }
        let total: usize = fv.iter().map(|s| s.len()).sum();
        if total > LISTPACK_MAX_SIZE {
            return Err(AppendError::TooLarge);
        }
        let numfields = fv.len() / 2;
        let fields = || fv.iter().step_by(2).copied();
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
                let master = Strs::new(fields());
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
            size += fv
                .iter()
                .skip(1)
                .step_by(2)
                .map(|v| lp_str_size(v))
                .sum::<usize>();
        } else {
            size +=
                lp_int_size(numfields as i64) + fv.iter().map(|v| lp_str_size(v)).sum::<usize>();
            lp_count += numfields + 1;
        }
        size += lp_int_size(lp_count as i64);
        node.fixed += size;
        node.live += 1;
        node.last = id;
        self.entries.insert(id, Strs::new(fv.iter().copied()));
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

/// Redis's RDB_TYPE_STREAM_LISTPACKS_2.
const RDB_TYPE_STREAM: u8 = 19;

/// Appends the stream as `rdbSaveObjectType` + `rdbSaveObject` would. Not yet written: the body holds
/// the stream's metadata with no entries and no groups.
pub fn save_rdb(out: &mut Vec<u8>, s: &Stream) {
    out.push(RDB_TYPE_STREAM);
    rdb_len(out, 0);
    rdb_len(out, 0);
    rdb_len(out, s.last_id.ms);
    rdb_len(out, s.last_id.seq);
    rdb_len(out, s.first_id.ms);
    rdb_len(out, s.first_id.seq);
    rdb_len(out, s.max_deleted.ms);
    rdb_len(out, s.max_deleted.seq);
    rdb_len(out, s.entries_added);
    rdb_len(out, 0);
}

/// `rdbSaveLen`.
fn rdb_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
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
            s.append(StreamId::new(i, 0), &[b"f", b"v"], LIM).unwrap();
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
    fn strs_round_trip() {
        let s = Strs::new([&b"a"[..], b"", &[7u8; 300][..]].into_iter());
        let v: Vec<&[u8]> = s.iter().collect();
        assert_eq!(v, vec![&b"a"[..], b"", &[7u8; 300][..]]);
        assert_eq!(s.len(), 3);
    }
}
