//! One database: the key table and the expiry index. Entries live in an arena (`Vec`) with a free list, so
//! an entry's index is stable for its lifetime: SCAN's cursor walks indexes (a key present for the whole scan
//! is always returned), a random index is a random key in O(1), and the hash table holds only 4-byte indexes.
//! Keys with a deadline are also kept in a set ordered by deadline, so the active cycle finds expired keys
//! directly instead of sampling. When most keys are gone, cron compacts the arena (live entries move into
//! the lowest holes, a bounded number per tick) and SCAN cursors carry a generation so a walk that spans a
//! compaction starts over rather than miss a key.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};

use hashbrown::HashTable;

use super::value::{Bytes, Value};
use crate::util::{hash_bytes, Rng};

/// A key, its value and its metadata.
#[derive(Debug)]
pub struct Entry {
    pub key: Bytes,
    pub val: Value,
    /// Absolute deadline in unix milliseconds; 0 means no deadline.
    pub expire: u64,
    /// Last access, in seconds of the server's clock (OBJECT IDLETIME).
    pub lru: u32,
    /// A small integer Redis would hold as a private object rather than a shared one (the result of COPY):
    /// OBJECT REFCOUNT says 1. Cleared whenever `set` replaces the value.
    pub unshared: bool,
}

pub struct Db {
    table: HashTable<u32>,
    slots: Vec<Option<Entry>>,
    free: Vec<u32>,
    expires: BTreeSet<(u64, u32)>,
    seed: u64,
    /// Keys removed because their deadline passed (lazily or by the active cycle).
    pub expired: u64,
    /// While some client WATCHes a key here, keys reclaimed by expiry are logged, so the WATCH sees it.
    pub track_expired: bool,
    pub expired_log: Vec<Box<[u8]>>,
    /// While some client WATCHes a key here, every key a command changes is logged, so only the WATCHes
    /// of keys really changed are invalidated (Redis's `signalModifiedKey`).
    pub watching: bool,
    pub touched: Vec<Box<[u8]>>,
    /// While some client tracks keys (client-side caching), changed and expired keys are logged too.
    pub tracking: bool,
    /// Bumped whenever compaction moves entries to lower indexes; SCAN cursors carry it in their high bits,
    /// and a cursor from an older generation starts over (duplicates are allowed, misses are not).
    gen: u64,
    /// A compaction is under way: `free` is ordered so the lowest hole is reused first.
    compacting: bool,
    /// Events only the table sees, for keyspace notifications (a key reclaimed by expiry, a key added),
    /// in order, while those classes are on; published before the next notification and after the command.
    pub notify_log: Vec<(u8, Box<[u8]>)>,
}

/// `notify_log` kinds.
pub const LOGGED_EXPIRED: u8 = 1;
pub const LOGGED_NEW: u8 = 2;

/// Which `notify_log` kinds are recorded (set from `notify-keyspace-events`): process-wide, so the check
/// in the table costs one load, and CONFIG SET need not visit every database.
static NOTIFY_LOG: AtomicU8 = AtomicU8::new(0);
/// Set when some database's `notify_log` holds events, so publishing them costs one load when none do.
static NOTIFY_PENDING: AtomicBool = AtomicBool::new(false);

/// Chooses the `notify_log` kinds recorded from now on (`LOGGED_EXPIRED | LOGGED_NEW`).
pub fn set_notify_logging(kinds: u8) {
    NOTIFY_LOG.store(kinds, Ordering::Relaxed);
}

/// True when some database may hold logged notification events.
#[inline]
pub fn notify_pending() -> bool {
    NOTIFY_PENDING.load(Ordering::Relaxed)
}

/// True when some database may hold logged notification events; clears the mark.
#[inline]
pub fn take_notify_pending() -> bool {
    // A plain load first: a swap is a locked instruction, paid after every command otherwise.
    if !NOTIFY_PENDING.load(Ordering::Relaxed) {
        return false;
    }
    NOTIFY_PENDING.store(false, Ordering::Relaxed);
    true
}

/// SCAN cursors: the slot index in the low bits, the compaction generation above.
const CURSOR_BITS: u32 = 40;
const CURSOR_MASK: u64 = (1 << CURSOR_BITS) - 1;
const GEN_MASK: u64 = (1 << (64 - CURSOR_BITS)) - 1;
/// Arenas smaller than this are never compacted: the holes cost less than the work.
const COMPACT_MIN: usize = 4096;

/// Bumped by every change to any database (and every mutable access): a write command that left it alone
/// did nothing. One process-wide counter, so telling costs a load, not a walk over the databases; plain
/// load and store, as only the loop thread writes it.
static MUTS: AtomicU64 = AtomicU64::new(0);

#[inline]
pub fn bump_muts() {
    MUTS.store(
        MUTS.load(Ordering::Relaxed).wrapping_add(1),
        Ordering::Relaxed,
    );
}

/// The change counter (see `bump_muts`).
#[inline]
pub fn muts() -> u64 {
    MUTS.load(Ordering::Relaxed)
}

/// True when a deadline has passed. Redis keeps a key alive through its deadline millisecond.
#[inline]
pub fn is_past(expire: u64, now: u64) -> bool {
    expire != 0 && now > expire
}

impl Db {
    pub fn new(seed: u64) -> Db {
        Db {
            table: HashTable::new(),
            slots: Vec::new(),
            free: Vec::new(),
            expires: BTreeSet::new(),
            seed,
            expired: 0,
            track_expired: false,
            expired_log: Vec::new(),
            watching: false,
            touched: Vec::new(),
            tracking: false,
            gen: 0,
            compacting: false,
            notify_log: Vec::new(),
        }
    }

    #[cold]
    fn log_notify(&mut self, kind: u8, key: &[u8]) {
        self.notify_log.push((kind, key.into()));
        NOTIFY_PENDING.store(true, Ordering::Relaxed);
    }

    /// Number of keys, counting expired ones not yet reclaimed (as Redis's DBSIZE does).
    #[inline]
    pub fn len(&self) -> usize {
        self.table.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Number of keys with a deadline.
    pub fn expires_len(&self) -> usize {
        self.expires.len()
    }

    #[inline]
    fn find(&self, key: &[u8]) -> Option<u32> {
        let h = hash_bytes(self.seed, key);
        let slots = &self.slots;
        self.table
            .find(h, |&i| {
                slots[i as usize]
                    .as_ref()
                    .is_some_and(|e| e.key.as_slice() == key)
            })
            .copied()
    }

    /// Index of a live key, reclaiming it first if its deadline has passed. Does not touch the LRU clock.
    #[inline]
    pub fn peek(&mut self, key: &[u8], now: u64) -> Option<u32> {
        let i = self.find(key)?;
        if is_past(self.entry(i).expire, now) {
            self.reclaim_expired(i);
            return None;
        }
        Some(i)
    }

    /// Index of a live key, recording the access for OBJECT IDLETIME.
    #[inline]
    pub fn lookup(&mut self, key: &[u8], now: u64) -> Option<u32> {
        let i = self.peek(key, now)?;
        if let Some(e) = self.slots[i as usize].as_mut() {
            e.lru = touched_stamp(e.lru, now);
        }
        Some(i)
    }

    /// The live entry for `key`, if any.
    #[inline]
    pub fn get(&mut self, key: &[u8], now: u64) -> Option<&mut Entry> {
        let i = self.lookup(key, now)?;
        Some(self.entry_mut(i))
    }

    #[inline]
    pub fn entry(&self, i: u32) -> &Entry {
        // Indexes handed out by this Db always point at occupied slots until removed.
        self.slots[i as usize].as_ref().expect("live slot")
    }

    #[inline]
    pub fn entry_mut(&mut self, i: u32) -> &mut Entry {
        // Handing out a mutable entry counts as a change: replication decides by `muts` whether a write
        // command did anything.
        bump_muts();
        if self.watching || self.tracking {
            self.note_touched(i);
        }
        self.slots[i as usize].as_mut().expect("live slot")
    }

    #[cold]
    fn note_touched(&mut self, i: u32) {
        let key = self.entry(i).key.as_slice().into();
        self.touched.push(key);
    }

    /// Inserts a key known to be absent; returns its index.
    pub fn insert_new(&mut self, key: &[u8], val: Value, now: u64) -> u32 {
        bump_muts();
        let entry = Entry {
            key: Bytes::new(key),
            val,
            expire: 0,
            lru: new_stamp(now),
            unshared: false,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(entry);
                i
            }
            None => {
                self.slots.push(Some(entry));
                (self.slots.len() - 1) as u32
            }
        };
        let h = hash_bytes(self.seed, key);
        let (slots, seed) = (&self.slots, self.seed);
        self.table.insert_unique(h, i, |&j| {
            hash_bytes(seed, slots[j as usize].as_ref().unwrap().key.as_slice())
        });
        if self.watching || self.tracking {
            self.note_touched(i);
        }
        if NOTIFY_LOG.load(Ordering::Relaxed) & LOGGED_NEW != 0 {
            self.log_notify(LOGGED_NEW, key);
        }
        i
    }

    /// Stores `val` at `key`, replacing any value; the deadline is cleared unless `keep_ttl`.
    pub fn set(&mut self, key: &[u8], val: Value, keep_ttl: bool, now: u64) -> u32 {
        match self.peek(key, now) {
            Some(i) => {
                if !keep_ttl {
                    self.set_expire(i, 0);
                }
                let e = self.entry_mut(i);
                e.val = val;
                // Under LFU an overwritten key keeps (and bumps) its counter, as Redis's dbSetValue does.
                e.lru = touched_stamp(e.lru, now);
                e.unshared = false;
                i
            }
            None => self.insert_new(key, val, now),
        }
    }

    /// Removes the live key `key`; returns whether it existed.
    pub fn remove(&mut self, key: &[u8], now: u64) -> bool {
        match self.peek(key, now) {
            Some(i) => {
                self.remove_at(i);
                true
            }
            None => false,
        }
    }

    /// The deadline of `key` if it is in the table (expired or not) and has one.
    pub fn peek_deadline(&self, key: &[u8]) -> Option<u64> {
        let i = self.find(key)?;
        let at = self.entry(i).expire;
        (at != 0).then_some(at)
    }

    /// Index of `key` if it is in the table, even if its deadline has passed (Redis's `dictFind`).
    pub fn find_raw(&self, key: &[u8]) -> Option<u32> {
        self.find(key)
    }

    /// True if `key` is in the table, even if its deadline has passed (Redis's `dictFind`).
    pub fn contains_raw(&self, key: &[u8]) -> bool {
        self.find(key).is_some()
    }

    /// Removes the entry at `i` because its deadline passed.
    pub fn reclaim_expired(&mut self, i: u32) {
        let e = self.unlink(i);
        self.expired += 1;
        if self.track_expired || self.tracking {
            self.expired_log.push(e.key.as_slice().into());
        }
        if NOTIFY_LOG.load(Ordering::Relaxed) & LOGGED_EXPIRED != 0 {
            self.log_notify(LOGGED_EXPIRED, e.key.as_slice());
        }
    }

    /// Removes the entry at `i` and returns it.
    pub fn remove_at(&mut self, i: u32) -> Entry {
        if self.watching || self.tracking {
            self.note_touched(i);
        }
        self.unlink(i)
    }

    fn unlink(&mut self, i: u32) -> Entry {
        bump_muts();
        let h = hash_bytes(self.seed, self.entry(i).key.as_slice());
        if let Ok(slot) = self.table.find_entry(h, |&j| j == i) {
            slot.remove();
        }
        let e = self.slots[i as usize].take().expect("live slot");
        if e.expire != 0 {
            self.expires.remove(&(e.expire, i));
        }
        if self.table.is_empty() {
            // Everything is gone: give the arena back rather than keep a field of empty slots.
            self.slots = Vec::new();
            self.free = Vec::new();
            self.compacting = false;
        } else {
            self.free.push(i);
        }
        e
    }

    /// Sets (or with 0 clears) the deadline of the entry at `i`.
    pub fn set_expire(&mut self, i: u32, at: u64) {
        let e = self.slots[i as usize].as_mut().expect("live slot");
        let old = std::mem::replace(&mut e.expire, at);
        if old == 0 && at == 0 {
            return;
        }
        // Setting the deadline a key already has is still a write to Redis (EXPIRE propagates, WATCH fails).
        bump_muts();
        if self.watching || self.tracking {
            self.note_touched(i);
        }
        if old == at {
            return;
        }
        if old != 0 {
            self.expires.remove(&(old, i));
        }
        if at != 0 {
            self.expires.insert((at, i));
        }
    }

    /// Removes up to `max` keys whose deadline has passed, soonest first; returns how many.
    pub fn active_expire(&mut self, now: u64, max: usize) -> usize {
        let mut n = 0;
        while n < max {
            let Some(&(at, i)) = self.expires.first() else {
                break;
            };
            if !is_past(at, now) {
                break;
            }
            self.reclaim_expired(i);
            n += 1;
        }
        n
    }

    /// Moves every key out into the returned Db and leaves this one empty with its settings and counters,
    /// so the old contents can be freed elsewhere (FLUSHALL ASYNC drops them on a background thread).
    pub fn take(&mut self) -> Db {
        bump_muts();
        let empty = Db {
            expired: self.expired,
            track_expired: self.track_expired,
            expired_log: std::mem::take(&mut self.expired_log),
            watching: self.watching,
            tracking: self.tracking,
            notify_log: std::mem::take(&mut self.notify_log),
            ..Db::new(self.seed)
        };
        std::mem::replace(self, empty)
    }

    /// Deletes every key.
    pub fn clear(&mut self) {
        bump_muts();
        *self = Db {
            expired: self.expired,
            track_expired: self.track_expired,
            watching: self.watching,
            tracking: self.tracking,
            notify_log: std::mem::take(&mut self.notify_log),
            ..Db::new(self.seed)
        };
    }

    /// One SCAN step from `cursor`: calls `f` for live entries (expired ones are skipped, not reclaimed),
    /// visiting about `count` keys; returns the next cursor, 0 when the walk is complete.
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        now: u64,
        mut f: impl FnMut(&'a Entry),
    ) -> u64 {
        let mut i = self.cursor_index(cursor);
        let mut seen = 0;
        let limit = count.max(1);
        // Bound the empty slots walked per call too, so a sparse arena cannot stall the loop.
        let mut budget = limit.saturating_mul(10).max(100);
        while i < self.slots.len() && seen < limit && budget > 0 {
            if let Some(e) = &self.slots[i] {
                seen += 1;
                if !is_past(e.expire, now) {
                    f(e);
                }
            }
            budget -= 1;
            i += 1;
        }
        self.next_cursor(i)
    }

    /// Like `scan`, but hands `f` every occupied slot with its index, expired or not, so the caller can
    /// reclaim the expired keys it meets (Redis's SCAN deletes them) once the walk is over.
    pub fn scan_slots(&self, cursor: u64, count: usize, mut f: impl FnMut(u32, &Entry)) -> u64 {
        let mut i = self.cursor_index(cursor);
        let mut seen = 0;
        let limit = count.max(1);
        let mut budget = limit.saturating_mul(10).max(100);
        while i < self.slots.len() && seen < limit && budget > 0 {
            if let Some(e) = &self.slots[i] {
                seen += 1;
                f(i as u32, e);
            }
            budget -= 1;
            i += 1;
        }
        self.next_cursor(i)
    }

    /// The slot a SCAN cursor points at: from the start if it was issued before entries last moved.
    fn cursor_index(&self, cursor: u64) -> usize {
        if cursor >> CURSOR_BITS != self.gen & GEN_MASK {
            return 0;
        }
        (cursor & CURSOR_MASK).min(self.slots.len() as u64) as usize
    }

    /// The SCAN cursor that starts at slot `i`.
    pub fn next_cursor(&self, i: usize) -> u64 {
        if i >= self.slots.len() {
            0
        } else {
            (self.gen & GEN_MASK) << CURSOR_BITS | i as u64
        }
    }

    /// Gives back the memory of deleted keys: once fewer than a quarter of the arena's slots are live, live
    /// entries at the end move into the lowest holes (at most `max` per call, so the loop never stalls),
    /// then the arena and the hash table shrink. Returns how many entries moved.
    pub fn compact_step(&mut self, max: usize) -> usize {
        if !self.compacting {
            if self.slots.capacity() < COMPACT_MIN || self.table.len() * 4 >= self.slots.capacity()
            {
                return 0;
            }
            self.compacting = true;
            // Highest first, so `pop` (here and in insert_new) hands out the lowest hole.
            self.free.sort_unstable_by(|a, b| b.cmp(a));
        }
        let mut moved = 0;
        loop {
            while matches!(self.slots.last(), Some(None)) {
                self.slots.pop();
            }
            let end = self.slots.len();
            let hole = loop {
                match self.free.pop() {
                    // Holes past the end went with the truncation.
                    Some(h) if (h as usize) < end && self.slots[h as usize].is_none() => {
                        break Some(h)
                    }
                    Some(_) => continue,
                    None => break None,
                }
            };
            let Some(hole) = hole else {
                self.compacting = false;
                self.free = Vec::new();
                self.slots.shrink_to_fit();
                if self.table.capacity() > 2 * self.table.len() + 64 {
                    let (slots, seed) = (&self.slots, self.seed);
                    self.table.shrink_to(0, |&j| {
                        hash_bytes(seed, slots[j as usize].as_ref().unwrap().key.as_slice())
                    });
                }
                break;
            };
            if moved == max {
                self.free.push(hole);
                break;
            }
            let from = (end - 1) as u32;
            let e = self.slots[end - 1].take().expect("live slot");
            let h = hash_bytes(self.seed, e.key.as_slice());
            if let Some(x) = self.table.find_mut(h, |&j| j == from) {
                *x = hole;
            }
            if e.expire != 0 {
                self.expires.remove(&(e.expire, from));
                self.expires.insert((e.expire, hole));
            }
            self.slots[hole as usize] = Some(e);
            moved += 1;
        }
        if moved > 0 {
            self.gen = self.gen.wrapping_add(1);
        }
        moved
    }

    /// Calls `f` for every live entry.
    pub fn for_each<'a>(&'a self, now: u64, mut f: impl FnMut(&'a Entry)) {
        for e in self.slots.iter().flatten() {
            if !is_past(e.expire, now) {
                f(e);
            }
        }
    }

    /// A random live key's index, reclaiming expired keys it meets (as Redis's RANDOMKEY does).
    pub fn random(&mut self, rng: &mut Rng, now: u64) -> Option<u32> {
        for _ in 0..64 {
            if self.table.is_empty() {
                return None;
            }
            let i = rng.below(self.slots.len() as u64) as u32;
            if let Some(e) = &self.slots[i as usize] {
                if is_past(e.expire, now) {
                    self.reclaim_expired(i);
                    continue;
                }
                return Some(i);
            }
        }
        // A sparse arena: walk from a random start instead of sampling forever.
        let n = self.slots.len();
        if n == 0 {
            return None;
        }
        let start = rng.below(n as u64) as usize;
        for k in 0..n {
            let i = ((start + k) % n) as u32;
            if let Some(e) = &self.slots[i as usize] {
                if !is_past(e.expire, now) {
                    return Some(i);
                }
            }
        }
        None
    }

    /// A key with a deadline, the first at or after a random point of the deadline range (expired keys not
    /// yet reclaimed included): the sample the volatile maxmemory policies evict from.
    pub fn random_volatile(&self, rng: &mut Rng) -> Option<u32> {
        let lo = self.expires.first()?.0;
        let hi = self.expires.last()?.0;
        let at = lo + rng.below(hi - lo + 1);
        self.expires
            .range((at, 0)..)
            .next()
            .or_else(|| self.expires.last())
            .map(|&(_, i)| i)
    }

    /// Approximate heap bytes held by the table structures (not the values).
    /// Arena bytes held by no key (freed slots and spare capacity): new keys reuse them, so memory limits
    /// count them as free, as an allocator's freed memory is.
    pub fn spare_bytes(&self) -> usize {
        (self.slots.capacity() - self.table.len()) * std::mem::size_of::<Option<Entry>>()
    }

    pub fn overhead_bytes(&self) -> usize {
        self.table.capacity() * 5
            + self.slots.capacity() * std::mem::size_of::<Option<Entry>>()
            + self.free.capacity() * 4
            + self.expires.len() * 24
    }
}

/// The LRU clock: seconds, wrapping in u32.
#[inline]
pub fn lru_clock(now_ms: u64) -> u32 {
    (now_ms / 1000) as u32
}

// Under an LFU maxmemory policy an entry's `lru` holds what Redis keeps in its 24 LRU bits instead: the
// minute of the last decrement (16 bits) and a logarithmic access counter (8 bits). Process-wide settings,
// read on every access, so plain relaxed atomics written by CONFIG SET on the loop thread.
static LFU: AtomicBool = AtomicBool::new(false);
static LFU_LOG_FACTOR: AtomicU64 = AtomicU64::new(10);
static LFU_DECAY_TIME: AtomicU64 = AtomicU64::new(1);
static LFU_RNG: AtomicU64 = AtomicU64::new(0x853c_49e6_748f_ea9b);

/// The counter a new key starts with (`LFU_INIT_VAL`).
pub const LFU_INIT_VAL: u32 = 5;

/// Switches access tracking between LRU and LFU (maxmemory-policy), and sets lfu-log-factor and
/// lfu-decay-time.
pub fn set_lfu(on: bool) {
    LFU.store(on, Ordering::Relaxed);
}
pub fn set_lfu_log_factor(v: u64) {
    LFU_LOG_FACTOR.store(v, Ordering::Relaxed);
}
pub fn set_lfu_decay_time(v: u64) {
    LFU_DECAY_TIME.store(v, Ordering::Relaxed);
}
fn lfu_log_factor() -> u64 {
    LFU_LOG_FACTOR.load(Ordering::Relaxed)
}
fn lfu_decay_time() -> u64 {
    LFU_DECAY_TIME.load(Ordering::Relaxed)
}

#[inline]
pub fn lfu_on() -> bool {
    LFU.load(Ordering::Relaxed)
}

fn lfu_minutes(now_ms: u64) -> u32 {
    ((now_ms / 60_000) & 0xffff) as u32
}

/// The access counter of a stamp, decayed by one per `lfu-decay-time` minutes since its last decrement
/// (Redis's LFUDecrAndReturn).
pub fn lfu_counter(stamp: u32, now_ms: u64) -> u32 {
    let ldt = (stamp >> 8) & 0xffff;
    let counter = stamp & 0xff;
    let now = lfu_minutes(now_ms);
    let elapsed = if now >= ldt {
        now - ldt
    } else {
        65535 - ldt + now
    };
    let decay = lfu_decay_time();
    let periods = (elapsed as u64).checked_div(decay).unwrap_or(0);
    counter.saturating_sub(periods.min(255) as u32)
}

/// A stamp with this counter, as of now.
pub fn lfu_stamp(counter: u32, now_ms: u64) -> u32 {
    lfu_minutes(now_ms) << 8 | counter.min(255)
}

/// The stamp after one access: decay, then a logarithmic increment (Redis's updateLFU and LFULogIncr).
fn lfu_touch(stamp: u32, now_ms: u64) -> u32 {
    let mut counter = lfu_counter(stamp, now_ms);
    if counter < 255 {
        let x = LFU_RNG
            .load(Ordering::Relaxed)
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        LFU_RNG.store(x, Ordering::Relaxed);
        let r = (x >> 11) as f64 / (1u64 << 53) as f64;
        let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
        if r < 1.0 / (base * lfu_log_factor() as f64 + 1.0) {
            counter += 1;
        }
    }
    lfu_stamp(counter, now_ms)
}

/// The access stamp of a key just created.
#[inline]
pub fn new_stamp(now_ms: u64) -> u32 {
    if lfu_on() {
        lfu_stamp(LFU_INIT_VAL, now_ms)
    } else {
        lru_clock(now_ms)
    }
}

/// The access stamp after reading or writing the key.
#[inline]
pub fn touched_stamp(old: u32, now_ms: u64) -> u32 {
    if lfu_on() {
        lfu_touch(old, now_ms)
    } else {
        lru_clock(now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_lookup_remove() {
        let mut db = Db::new(7);
        for i in 0..1000u32 {
            db.set(format!("k{i}").as_bytes(), Value::Int(i as i64), false, 1);
        }
        assert_eq!(db.len(), 1000);
        for i in (0..1000u32).step_by(2) {
            assert!(db.remove(format!("k{i}").as_bytes(), 1));
        }
        assert_eq!(db.len(), 500);
        assert!(db.get(b"k1", 1).is_some());
        assert!(db.get(b"k2", 1).is_none());
        for i in 0..1000u32 {
            db.remove(format!("k{i}").as_bytes(), 1);
        }
        assert!(db.is_empty());
    }

    #[test]
    fn expiry_is_lazy_and_active() {
        let mut db = Db::new(1);
        let i = db.set(b"a", Value::Int(1), false, 0);
        db.set_expire(i, 100);
        let j = db.set(b"b", Value::Int(2), false, 0);
        db.set_expire(j, 200);
        assert!(db.get(b"a", 100).is_some(), "alive through its deadline ms");
        assert!(db.get(b"a", 101).is_none());
        assert_eq!(db.len(), 1);
        assert_eq!(db.active_expire(150, 10), 0);
        assert_eq!(db.active_expire(201, 10), 1);
        assert!(db.is_empty());
        assert_eq!(db.expires_len(), 0);
        assert_eq!(db.expired, 2);
    }

    #[test]
    fn scan_returns_every_stable_key() {
        let mut db = Db::new(3);
        for i in 0..500 {
            db.set(format!("k{i}").as_bytes(), Value::Int(i), false, 0);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        loop {
            cursor = db.scan(cursor, 7, 0, |e| {
                seen.insert(e.key.as_slice().to_vec());
            });
            // Churn during the scan must not hide keys present throughout.
            db.set(format!("new{cursor}").as_bytes(), Value::Int(0), false, 0);
            if cursor == 0 {
                break;
            }
        }
        for i in 0..500 {
            assert!(seen.contains(format!("k{i}").as_bytes()));
        }
    }

    #[test]
    fn compaction_gives_slots_back_and_scan_still_sees_every_key() {
        let mut db = Db::new(5);
        for i in 0..20_000 {
            let k = format!("k{i}");
            let idx = db.set(k.as_bytes(), Value::Int(i), false, 0);
            if i % 3 == 0 {
                db.set_expire(idx, 1_000_000 + i as u64);
            }
        }
        // Keep one key in 16, spread over the whole arena.
        for i in 0..20_000 {
            if i % 16 != 0 {
                assert!(db.remove(format!("k{i}").as_bytes(), 0));
            }
        }
        let kept: Vec<i64> = (0..20_000).filter(|i| i % 16 == 0).collect();
        // A SCAN in progress across the compaction.
        let mut seen = std::collections::HashSet::new();
        let mut cursor = db.scan(0, 50, 0, |e| {
            seen.insert(e.key.as_slice().to_vec());
        });
        assert_ne!(cursor, 0);
        let mut steps = 0;
        while db.compact_step(100) > 0 || db.compacting {
            steps += 1;
            assert!(steps < 10_000);
        }
        assert!(steps > 1, "bounded steps");
        assert_eq!(db.slots.len(), kept.len());
        assert!(db.slots.capacity() < 2 * kept.len());
        assert!(db.free.is_empty());
        for &i in &kept {
            let idx = db.peek(format!("k{i}").as_bytes(), 0).expect("kept key");
            assert_eq!(db.entry(idx).key.as_slice(), format!("k{i}").as_bytes());
            let want = if i % 3 == 0 { 1_000_000 + i as u64 } else { 0 };
            assert_eq!(db.entry(idx).expire, want);
            if want != 0 {
                assert!(db.expires.contains(&(want, idx)));
            }
        }
        assert_eq!(
            db.expires.len(),
            kept.iter().filter(|i| *i % 3 == 0).count()
        );
        loop {
            cursor = db.scan(cursor, 50, 0, |e| {
                seen.insert(e.key.as_slice().to_vec());
            });
            if cursor == 0 {
                break;
            }
        }
        for &i in &kept {
            assert!(seen.contains(format!("k{i}").as_bytes()), "k{i} missed");
        }
        // New keys reuse the arena from the start.
        let idx = db.set(b"fresh", Value::Int(1), false, 0);
        assert_eq!(idx as usize, kept.len());
    }
}
