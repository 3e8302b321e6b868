//! Keyspace notifications (Redis 7.0's notify.c): the `notify-keyspace-events` classes, and the
//! `__keyspace@<db>__:<key>` / `__keyevent@<db>__:<event>` messages commands publish where Redis calls
//! `notifyKeyspaceEvent`. Off by default; then a call costs one load and a branch. Events only the key
//! table sees (a key reclaimed by expiry, a key added) are logged by the databases and published before
//! the next notification and after each command, so they keep Redis's order.

use super::Ctx;
use crate::store::db::{self, LOGGED_EXPIRED, LOGGED_NEW};

pub const KEYSPACE: u32 = 1;
pub const KEYEVENT: u32 = 1 << 1;
pub const GENERIC: u32 = 1 << 2;
pub const STRING: u32 = 1 << 3;
pub const LIST: u32 = 1 << 4;
pub const SET: u32 = 1 << 5;
pub const HASH: u32 = 1 << 6;
pub const ZSET: u32 = 1 << 7;
pub const EXPIRED: u32 = 1 << 8;
pub const EVICTED: u32 = 1 << 9;
pub const STREAM: u32 = 1 << 10;
/// Not part of `A`, on purpose, as in Redis.
pub const KEY_MISS: u32 = 1 << 11;
pub const MODULE: u32 = 1 << 13;
/// Not part of `A` either.
pub const NEW: u32 = 1 << 14;
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// Redis's CONFIG SET error for a class character it does not know.
pub const ERR_CLASS: &str = "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";

/// Parses a class string as Redis's `keyspaceEventsStringToFlags` (a C string: it ends at a NUL);
/// `None` for an unknown character.
pub fn parse_flags(s: &str) -> Option<u32> {
    let mut flags = 0;
    for c in s.bytes().take_while(|&c| c != 0) {
        flags |= match c {
            b'A' => ALL,
            b'g' => GENERIC,
            b'$' => STRING,
            b'l' => LIST,
            b's' => SET,
            b'h' => HASH,
            b'z' => ZSET,
            b'x' => EXPIRED,
            b'e' => EVICTED,
            b'K' => KEYSPACE,
            b'E' => KEYEVENT,
            b't' => STREAM,
            b'm' => KEY_MISS,
            b'd' => MODULE,
            b'n' => NEW,
            _ => return None,
        };
    }
    Some(flags)
}

/// The canonical class string (`keyspaceEventsFlagsToString`): `A` when every class of it is on.
pub fn render_flags(flags: u32) -> String {
    let mut s = String::new();
    if flags & ALL == ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
            (NEW, 'n'),
        ] {
            if flags & bit != 0 {
                s.push(c);
            }
        }
    }
    for (bit, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
        if flags & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// Tells the databases which events to log for notifications, following new flags.
pub fn apply_flags(flags: u32) {
    let mut kinds = 0;
    if flags & EXPIRED != 0 {
        kinds |= LOGGED_EXPIRED;
    }
    if flags & NEW != 0 {
        kinds |= LOGGED_NEW;
    }
    db::set_notify_logging(kinds);
}

/// Publishes event `event` of class `class` for `key` in the selected database (Redis's
/// `notifyKeyspaceEvent`).
#[inline]
pub fn notify(ctx: &mut Ctx, class: u32, event: &str, key: &[u8]) {
    if ctx.st.cfg.notify_keyspace_events & class != 0 {
        publish(ctx, ctx.db, event, key);
    }
}

/// `notify` for a key of database `db`.
#[inline]
pub fn notify_db(ctx: &mut Ctx, db: usize, class: u32, event: &str, key: &[u8]) {
    if ctx.st.cfg.notify_keyspace_events & class != 0 {
        publish(ctx, db, event, key);
    }
}

/// Publishes the events the databases logged (keys expired or added), oldest first: after each command,
/// and before any other notification so they keep their place.
#[inline]
pub fn flush_logged(ctx: &mut Ctx) {
    if db::take_notify_pending() {
        flush_slow(ctx);
    }
}

/// True when the databases logged events not yet published (the cron publishes what the active expiry
/// cycle reclaimed).
#[inline]
pub fn pending() -> bool {
    db::notify_pending()
}

#[inline(never)]
fn flush_slow(ctx: &mut Ctx) {
    for d in 0..ctx.st.dbs.len() {
        if ctx.st.dbs[d].notify_log.is_empty() {
            continue;
        }
        let log = std::mem::take(&mut ctx.st.dbs[d].notify_log);
        for (kind, key) in &log {
            let (class, event) = if *kind == LOGGED_NEW {
                (NEW, "new")
            } else {
                (EXPIRED, "expired")
            };
            if ctx.st.cfg.notify_keyspace_events & class != 0 {
                emit(ctx, d, event, key);
            }
        }
    }
}

#[inline(never)]
fn publish(ctx: &mut Ctx, db: usize, event: &str, key: &[u8]) {
    flush_logged(ctx);
    if ctx.st.tracking.active() {
        super::tracking::before_notify(ctx, event);
    }
    emit(ctx, db, event, key);
}

fn emit(ctx: &mut Ctx, db: usize, event: &str, key: &[u8]) {
    let flags = ctx.st.cfg.notify_keyspace_events;
    let mut chan = Vec::with_capacity(16 + key.len().max(event.len()));
    if flags & KEYSPACE != 0 {
        channel(&mut chan, b"__keyspace@", db, key);
        super::pubsub::publish_message(ctx, &chan, event.as_bytes(), false);
    }
    if flags & KEYEVENT != 0 {
        channel(&mut chan, b"__keyevent@", db, event.as_bytes());
        super::pubsub::publish_message(ctx, &chan, key, false);
    }
}

fn channel(chan: &mut Vec<u8>, prefix: &[u8], db: usize, tail: &[u8]) {
    chan.clear();
    chan.extend_from_slice(prefix);
    crate::util::push_i64(chan, db as i64);
    chan.extend_from_slice(b"__:");
    chan.extend_from_slice(tail);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_and_render_as_redis() {
        assert_eq!(parse_flags(""), Some(0));
        assert_eq!(render_flags(0), "");
        assert_eq!(render_flags(parse_flags("gKE").unwrap()), "gKE");
        assert_eq!(render_flags(parse_flags("$lshzxeKE").unwrap()), "$lshzxeKE");
        assert_eq!(render_flags(parse_flags("KA").unwrap()), "AK");
        assert_eq!(render_flags(parse_flags("EA").unwrap()), "AE");
        assert_eq!(render_flags(parse_flags("mnAKE").unwrap()), "AKEm");
        assert_eq!(render_flags(parse_flags("nEm").unwrap()), "nEm");
        assert_eq!(render_flags(parse_flags("glshzxetd$").unwrap()), "A");
        assert_eq!(parse_flags("KEA?"), None);
        assert_eq!(parse_flags("a"), None);
    }
}
