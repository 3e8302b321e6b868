//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH. Queueing happens in `dispatch`; this module runs
//! the queue and keeps WATCH's bookkeeping, including Redis 7.0's rules for keys that were already expired
//! (though not yet reclaimed) when watched: their later deletion is no change.

use slab::Slab;

use super::{dispatch, err, Args, Cmd, CmdResult, Ctx, ALLOW_BUSY, FAST, LOADING, NOSCRIPT, STALE};
use crate::server::conn::Conn;
use crate::server::State;
use crate::store::db::is_past;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(
        "multi",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (0, 0, 0),
        multi,
    )
    .doc(
        "transactions",
        "1.2.0",
        "Mark the start of a transaction block",
        "O(1)",
    ),
    Cmd::new(
        "exec",
        1,
        NOSCRIPT | LOADING | STALE | super::SKIP_SLOWLOG,
        (0, 0, 0),
        exec,
    )
    .doc(
        "transactions",
        "1.2.0",
        "Execute all commands issued after MULTI",
        "Depends on commands in the transaction",
    ),
    Cmd::new(
        "discard",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (0, 0, 0),
        discard,
    )
    .doc(
        "transactions",
        "2.0.0",
        "Discard all commands issued after MULTI",
        "O(N), when N is the number of queued commands",
    ),
    Cmd::new(
        "watch",
        -2,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (1, -1, 1),
        watch,
    )
    .doc(
        "transactions",
        "2.2.0",
        "Watch the given keys to determine execution of the MULTI/EXEC block",
        "O(1) for every key.",
    ),
    Cmd::new(
        "unwatch",
        1,
        NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY,
        (0, 0, 0),
        unwatch,
    )
    .doc(
        "transactions",
        "2.2.0",
        "Forget about all watched keys",
        "O(1)",
    ),
];

/// MULTI
fn multi(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let c = ctx.conn();
    if c.multi.is_some() {
        return err("ERR MULTI calls can not be nested");
    }
    c.multi = Some(Vec::new());
    c.multi_error = false;
    ctx.out.ok();
    Ok(())
}

/// DISCARD
fn discard(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    if ctx.conn().multi.is_none() {
        return err("ERR DISCARD without MULTI");
    }
    end_transaction(ctx.st, ctx.conns, ctx.id);
    ctx.out.ok();
    Ok(())
}

/// EXEC
fn exec(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    if ctx.conn().multi.is_none() {
        return err("ERR EXEC without MULTI");
    }
    if watched_key_expired(ctx.st, &ctx.conns[ctx.id]) {
        ctx.conn().watch_dirty = true;
    }
    let c = ctx.conn();
    let (aborted, dirty) = (c.multi_error, c.watch_dirty);
    let queue = c.multi.take().unwrap_or_default();
    end_transaction(ctx.st, ctx.conns, ctx.id);
    if aborted {
        return err("EXECABORT Transaction discarded because of previous errors.");
    }
    if dirty {
        ctx.out.null_array();
        return Ok(());
    }
    ctx.out.array(queue.len());
    let saved = ctx.in_exec;
    ctx.in_exec = true;
    super::repl::begin_exec(ctx);
    for q in &queue {
        dispatch(ctx, &q.args());
        if ctx.conns[ctx.id].close_after_reply {
            break;
        }
    }
    super::repl::end_exec(ctx);
    ctx.in_exec = saved;
    Ok(())
}

/// WATCH key [key ...]
fn watch(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if ctx.conn().multi.is_some() {
        return err("ERR WATCH inside MULTI is not allowed");
    }
    let now = ctx.st.now;
    let db = ctx.db;
    for key in args.from(1) {
        if ctx.conns[ctx.id]
            .watched
            .iter()
            .any(|(d, k, _)| *d == db && **k == *key)
        {
            continue;
        }
        let d = &mut ctx.st.dbs[db];
        let stale = d.contains_raw(key) && d.peek_deadline(key).is_some_and(|at| is_past(at, now));
        d.track_expired = true;
        d.watching = true;
        ctx.st.waiters.watched[db]
            .entry(key.into())
            .or_default()
            .push(ctx.id);
        ctx.st.waiters.watch_count += 1;
        ctx.conns[ctx.id].watched.push((db, key.into(), stale));
    }
    ctx.out.ok();
    Ok(())
}

/// UNWATCH
fn unwatch(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    unwatch_all(ctx.st, ctx.conns, ctx.id);
    ctx.conn().watch_dirty = false;
    ctx.out.ok();
    Ok(())
}

/// Leaves MULTI state and forgets every WATCH (after EXEC or DISCARD, as Redis does).
pub(crate) fn end_transaction(st: &mut State, conns: &mut Slab<Conn>, id: usize) {
    let c = &mut conns[id];
    c.multi = None;
    c.multi_error = false;
    unwatch_all(st, conns, id);
    conns[id].watch_dirty = false;
}

pub(crate) fn unwatch_all(st: &mut State, conns: &mut Slab<Conn>, id: usize) {
    let w = &mut st.waiters;
    for (db, key, _) in conns[id].watched.drain(..) {
        crate::server::waiters::Waiters::unsubscribe(&mut w.watched[db], &key, id);
        w.watch_count = w.watch_count.saturating_sub(1);
        if w.watched[db].is_empty() {
            st.dbs[db].watching = false;
            st.dbs[db].touched.clear();
            if st.replicas.is_empty() {
                st.dbs[db].track_expired = false;
                st.dbs[db].expired_log.clear();
            }
        }
    }
}

/// A key that was live when watched has passed its deadline since (Redis's `isWatchedKeyExpired`).
fn watched_key_expired(st: &State, c: &Conn) -> bool {
    c.watched.iter().any(|(db, key, stale)| {
        !*stale
            && st.dbs[*db]
                .peek_deadline(key)
                .is_some_and(|at| is_past(at, st.now))
    })
}

/// Invalidates the WATCHes on `key` in `db` after it changed (Redis's `touchWatchedKey`).
pub fn touch_watched(st: &State, conns: &mut Slab<Conn>, db: usize, key: &[u8]) {
    let Some(ids) = st.waiters.watchers(db, key) else {
        return;
    };
    let present = st.dbs[db].contains_raw(key);
    for &id in ids {
        let Some(c) = conns.get_mut(id) else { continue };
        let mut dirty = true;
        for w in c.watched.iter_mut() {
            if w.0 == db && *w.1 == *key && w.2 {
                // Watched while already expired: its deletion is no logical change.
                if !present {
                    w.2 = false;
                }
                dirty = false;
            }
        }
        if dirty {
            c.watch_dirty = true;
        }
    }
}

/// Before `emptied` is flushed or swapped with `replaced_with`, invalidates the WATCHes whose key really
/// changes (Redis's `touchAllWatchedKeysInDb`).
pub fn touch_all_watched_in_db(
    st: &State,
    conns: &mut Slab<Conn>,
    emptied: usize,
    replaced_with: Option<usize>,
) {
    let now = st.now;
    for (key, ids) in &st.waiters.watched[emptied] {
        let in_emptied = st.dbs[emptied].contains_raw(key);
        let in_other = replaced_with.is_some_and(|o| st.dbs[o].contains_raw(key));
        if !in_emptied && !in_other {
            continue;
        }
        let other_expired = replaced_with.is_some_and(|o| {
            st.dbs[o]
                .peek_deadline(key)
                .is_some_and(|at| is_past(at, now))
        });
        for &id in ids {
            let Some(c) = conns.get_mut(id) else { continue };
            let Some(w) = c
                .watched
                .iter_mut()
                .find(|w| w.0 == emptied && *w.1 == **key)
            else {
                continue;
            };
            if w.2 {
                if !in_other {
                    w.2 = false;
                    continue;
                } else if other_expired {
                    continue;
                }
            } else if !in_emptied && other_expired {
                continue;
            }
            c.watch_dirty = true;
        }
    }
}
