//! Who waits for what: clients blocked on keys, keys signalled ready for them, block deadlines, WATCHed
//! keys and Pub/Sub subscribers. Commands register and signal here; the loop serves blocked clients after
//! each command and flushes the connections that were given output outside their own turn. Clients are
//! named by slab key; `forget` removes every trace of a closed connection, so a reused key never inherits.

use std::collections::{BTreeSet, HashMap, VecDeque};

/// Per-database maps keyed by key bytes.
pub type KeyMap<T> = HashMap<Box<[u8]>, T>;

#[derive(Debug, Default)]
pub struct Waiters {
    /// Clients blocked on each key, first come first served; one map per database.
    pub blocked: Vec<KeyMap<VecDeque<usize>>>,
    /// Keys that got data while clients wait on them, in signal order.
    pub ready: VecDeque<(usize, Box<[u8]>)>,
    /// Block deadlines (unix ms, client).
    pub timers: BTreeSet<(u64, usize)>,
    /// Clients watching each key; one map per database.
    pub watched: Vec<KeyMap<Vec<usize>>>,
    pub channels: KeyMap<Vec<usize>>,
    pub patterns: KeyMap<Vec<usize>>,
    pub shard_channels: KeyMap<Vec<usize>>,
    /// Connections given output outside their own turn (Pub/Sub messages, unblocked clients).
    pub wake: Vec<usize>,
    /// Number of (client, key) WATCH registrations; 0 skips all WATCH bookkeeping.
    pub watch_count: usize,
    /// CLIENT UNBLOCK requests: (client, reply with an error rather than the timeout reply).
    pub unblock_requests: Vec<(usize, bool)>,
    /// Clients blocked in WAIT, checked when a replica acknowledges an offset.
    pub acks: Vec<usize>,
    /// Clients blocked in XREADGROUP: (client, db, key, group). Their key is signalled when the stream or
    /// the group goes away, so they get their error (see `cmd::stream::check_group_waits`).
    pub stream_groups: Vec<StreamGroupWait>,
}

/// A client blocked in XREADGROUP: (client, db, key, group).
pub type StreamGroupWait = (usize, usize, Box<[u8]>, Box<[u8]>);

impl Waiters {
    pub fn new(databases: usize) -> Waiters {
        Waiters {
            blocked: (0..databases).map(|_| KeyMap::new()).collect(),
            watched: (0..databases).map(|_| KeyMap::new()).collect(),
            ..Waiters::default()
        }
    }

    /// Queues `key` for the blocked clients' benefit, if any wait on it.
    #[inline]
    pub fn signal(&mut self, db: usize, key: &[u8]) {
        if !self.blocked[db].is_empty() && self.blocked[db].contains_key(key) {
            self.ready.push_back((db, key.into()));
        }
    }

    /// Registers client `id` as blocked on `keys` until `deadline` (0: forever).
    pub fn block(&mut self, id: usize, db: usize, keys: &[Box<[u8]>], deadline: u64) {
        for k in keys {
            let q = self.blocked[db].entry(k.clone()).or_default();
            if !q.contains(&id) {
                q.push_back(id);
            }
        }
        if deadline != 0 {
            self.timers.insert((deadline, id));
        }
    }

    /// Removes client `id` from the queues of `keys` and from the timers.
    pub fn unblock(&mut self, id: usize, db: usize, keys: &[Box<[u8]>], deadline: u64) {
        for k in keys {
            if let Some(q) = self.blocked[db].get_mut(k) {
                q.retain(|&c| c != id);
                if q.is_empty() {
                    self.blocked[db].remove(k);
                }
            }
        }
        if deadline != 0 {
            self.timers.remove(&(deadline, id));
        }
    }

    /// Marks every client watching `key` in `db`; returns the clients to flag dirty.
    #[inline]
    pub fn watchers(&self, db: usize, key: &[u8]) -> Option<&Vec<usize>> {
        if self.watched[db].is_empty() {
            return None;
        }
        self.watched[db].get(key)
    }

    /// Removes `id` from a subscriber map entry, dropping the entry when it empties.
    pub fn unsubscribe(map: &mut KeyMap<Vec<usize>>, name: &[u8], id: usize) -> bool {
        let Some(v) = map.get_mut(name) else {
            return false;
        };
        let before = v.len();
        v.retain(|&c| c != id);
        let removed = v.len() != before;
        if v.is_empty() {
            map.remove(name);
        }
        removed
    }
}
