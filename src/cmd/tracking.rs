//! Client-side caching (Redis 7.0's tracking.c): CLIENT TRACKING / CACHING / GETREDIR / TRACKINGINFO, the
//! table of keys each tracking client read, the BCAST prefix table, and the invalidation messages (a RESP3
//! `invalidate` push, or a `__redis__:invalidate` Pub/Sub message to a RESP2 redirect client).
//!
//! Keys changed or reclaimed by a command reach `invalidate_key` from the databases' change logs after the
//! command (see `touch_changed_keys` and `after_expiry` in cmd/mod.rs), which the databases keep while any
//! client tracks. As in Redis, tracking is not per database: a key is its name. Invalidations meant for the
//! client whose command caused them wait until its reply is written (`flush_pending`); BCAST clients get
//! the keys changed under their prefixes once per loop iteration (`broadcast`).

use std::collections::{BTreeMap, HashMap};

use super::{err, Args, CmdResult, Ctx, ERR_NOT_INT, ERR_SYNTAX};
use crate::protocol::Out;
use crate::server::conn::Conn;
use crate::server::State;
use crate::util::eq_ci;

/// `ClientTracking::flags`.
pub const BCAST: u8 = 1;
pub const OPTIN: u8 = 1 << 1;
pub const OPTOUT: u8 = 1 << 2;
/// CLIENT CACHING YES (under OPTIN) or NO (under OPTOUT) was given for the next command.
pub const CACHING: u8 = 1 << 3;
pub const NOLOOP: u8 = 1 << 4;
/// The redirect client went away.
pub const BROKEN_REDIR: u8 = 1 << 5;

/// A client's tracking state; `Conn::tracking` is `None` while tracking is off.
#[derive(Debug, Default)]
pub struct ClientTracking {
    pub flags: u8,
    /// Client id invalidations go to (0: this client), and its slab key when it was looked up.
    pub redir: u64,
    redir_slot: usize,
    /// BCAST prefixes, in byte order (as Redis's radix tree lists them).
    pub prefixes: Vec<Box<[u8]>>,
}

/// A BCAST prefix: the keys changed under it since the last broadcast (with the client id that changed
/// each last, 0 for none, for NOLOOP), and its subscribers as (slab key, client id).
#[derive(Debug, Default)]
struct Bcast {
    keys: BTreeMap<Box<[u8]>, u64>,
    clients: Vec<(usize, u64)>,
}

/// An invalidation owed to the running client: its slab key, client id, and the key (None: a flush).
type Pending = (usize, u64, Option<Box<[u8]>>);

/// The server-wide tracking state.
#[derive(Debug, Default)]
pub struct Tracking {
    /// Clients with tracking on (INFO's tracking_clients).
    pub clients: usize,
    /// Some client tracks, or the table still names keys (of clients that stopped: as in Redis, they go
    /// when the key changes). Off, every hook costs one load.
    hot: bool,
    /// Key → the clients (slab key, client id) that may hold it in their cache.
    table: HashMap<Box<[u8]>, Vec<(usize, u64)>>,
    items: u64,
    prefixes: BTreeMap<Box<[u8]>, Bcast>,
    /// Some prefix has keys waiting to be broadcast.
    pub bcast_pending: bool,
    /// Invalidations for the client whose command caused them, sent after its reply: (slab key, client
    /// id, key; None for a flush).
    pending: Vec<Pending>,
    /// The running command already announced a flush (FLUSHALL empties every database in turn).
    flushed: bool,
    /// Rounds in a row the table stayed over tracking-table-max-keys (Redis's timeout_counter).
    limit_rounds: u32,
    /// While a command runs, where its reply starts in the output: messages redirected to the running
    /// client go there, ahead of the reply, as Redis writes them when the key changes.
    pub reply_at: Option<usize>,
    /// Per database, how much of the running command's log of changed keys was already invalidated
    /// (ahead of a keyspace notification, as Redis invalidates when the key changes).
    seen: Vec<usize>,
    /// The running command popped: Redis signals a popped key after its notifications, so the rest wait
    /// for the end of the command.
    popped: bool,
}

impl Tracking {
    pub fn total_keys(&self) -> usize {
        self.table.len()
    }

    pub fn total_items(&self) -> u64 {
        self.items
    }

    pub fn total_prefixes(&self) -> usize {
        self.prefixes.len()
    }

    /// True while any client tracks: the post-command hooks run.
    #[inline]
    pub fn active(&self) -> bool {
        self.hot
    }
}

const ERR_CACHING: &str = "ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled";

/// Whether the client at `slot` speaks RESP3 (during its own turn the protocol lives in `ctx.out`).
fn resp3_of(ctx: &Ctx, slot: usize) -> bool {
    if slot == ctx.id {
        ctx.out.resp3
    } else {
        ctx.conns.get(slot).is_some_and(|c| c.resp3)
    }
}

/// The slab key of the connection with client id `id`.
fn slot_of(ctx: &Ctx, id: u64) -> Option<usize> {
    ctx.conns
        .iter()
        .find(|(_, c)| c.id == id && !c.kill)
        .map(|(s, _)| s)
}

/// What an invalidation message carries after its header.
enum Payload<'a> {
    Key(&'a [u8]),
    /// Everything: a flush. RESP3 or RESP2 null as the tracking client (not the redirect) speaks.
    Null(bool),
    /// A ready-made array of keys (BCAST).
    Proto(&'a [u8]),
}

/// Sends an invalidation to the tracking client at `slot` (Redis's sendTrackingMessage): to itself over
/// RESP3, or to its redirect client as a push (RESP3) or a `__redis__:invalidate` message (a subscribed
/// RESP2 client); a redirect client that went away gets the tracking client a `tracking-redir-broken`.
fn send(ctx: &mut Ctx, slot: usize, payload: Payload) {
    let Some(c) = ctx.conns.get_mut(slot) else {
        return;
    };
    let (redir, redir_slot) = c
        .tracking
        .as_ref()
        .map_or((0, 0), |t| (t.redir, t.redir_slot));
    let mut target = slot;
    if redir != 0 {
        if ctx.conns.get(redir_slot).is_some_and(|r| r.id == redir) {
            target = redir_slot;
        } else {
            if let Some(t) = ctx.conns[slot].tracking.as_mut() {
                t.flags |= BROKEN_REDIR;
            }
            if resp3_of(ctx, slot) {
                ctx.push_to(slot, |o| {
                    o.raw(b">2\r\n$21\r\ntracking-redir-broken\r\n");
                    o.int(redir as i64);
                });
            }
            return;
        }
    }
    let header: &[u8] = if resp3_of(ctx, target) {
        b">2\r\n$10\r\ninvalidate\r\n"
    } else if target != slot && ctx.conns[target].subscriptions() > 0 {
        b"*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n"
    } else {
        // RESP2 has no pushes on the tracking connection itself.
        return;
    };
    let write = |o: &mut Out| {
        o.raw(header);
        match payload {
            Payload::Key(k) => {
                o.raw(b"*1\r\n");
                o.bulk(k);
            }
            Payload::Null(true) => o.raw(b"_\r\n"),
            Payload::Null(false) => o.raw(b"$-1\r\n"),
            Payload::Proto(p) => o.raw(p),
        }
    };
    match ctx.st.tracking.reply_at {
        Some(at) if target == ctx.id && at <= ctx.out.buf.len() => {
            let mut o = Out {
                buf: Vec::new(),
                resp3: true,
            };
            write(&mut o);
            ctx.out.buf.splice(at..at, o.buf.iter().copied());
            ctx.st.tracking.reply_at = Some(at + o.buf.len());
        }
        _ => ctx.push_to(target, write),
    }
}

/// A key changed (or was reclaimed, `by_client` false): tells the clients that may cache it, and with
/// `bcast` queues it for the BCAST prefixes it falls under (Redis's trackingInvalidateKey).
pub fn invalidate_key(ctx: &mut Ctx, key: &[u8], bcast: bool, by_client: bool) {
    let me = if by_client {
        ctx.conns.get(ctx.id).map_or(0, |c| c.id)
    } else {
        0
    };
    let tr = &mut ctx.st.tracking;
    if bcast && !tr.prefixes.is_empty() {
        for (p, bs) in tr.prefixes.iter_mut() {
            if key.starts_with(p) {
                bs.keys.insert(key.into(), me);
                tr.bcast_pending = true;
            }
        }
    }
    let Some(ids) = tr.table.remove(key) else {
        return;
    };
    tr.items -= ids.len() as u64;
    if tr.clients == 0 && tr.table.is_empty() {
        refresh(ctx.st);
    }
    for (slot, id) in ids {
        let Some(c) = ctx.conns.get(slot).filter(|c| c.id == id) else {
            continue;
        };
        let Some(t) = c.tracking.as_ref() else {
            continue;
        };
        if t.flags & BCAST != 0 {
            continue;
        }
        if slot == ctx.id {
            if t.flags & NOLOOP != 0 {
                continue;
            }
            // The reply to the command comes first.
            ctx.st.tracking.pending.push((slot, id, Some(key.into())));
        } else {
            send(ctx, slot, Payload::Key(key));
        }
    }
}

/// Before a keyspace notification goes out: invalidates the keys the running command changed so far, so
/// the messages keep Redis's order (invalidation first).
pub fn before_notify(ctx: &mut Ctx, event: &str) {
    if ctx.st.tracking.popped || matches!(event, "lpop" | "rpop" | "spop" | "zpopmin" | "zpopmax") {
        ctx.st.tracking.popped = true;
        return;
    }
    for db in 0..ctx.st.dbs.len() {
        let len = ctx.st.dbs[db].touched.len();
        let from = already_invalidated(&ctx.st.tracking, db).min(len);
        if from == len {
            continue;
        }
        let keys: Vec<Box<[u8]>> = ctx.st.dbs[db].touched[from..].to_vec();
        let seen = &mut ctx.st.tracking.seen;
        if seen.len() <= db {
            seen.resize(db + 1, 0);
        }
        seen[db] = len;
        for k in &keys {
            invalidate_key(ctx, k, true, true);
        }
    }
}

/// How many keys at the start of database `db`'s change log `before_notify` already invalidated.
pub fn already_invalidated(tr: &Tracking, db: usize) -> usize {
    tr.seen.get(db).copied().unwrap_or(0)
}

/// The change logs were drained or cleared: nothing of them is invalidated yet.
pub fn reset_seen(tr: &mut Tracking) {
    tr.seen.clear();
    tr.popped = false;
}

/// A database is being emptied: every tracking client learns its whole cache is stale, once per command
/// (Redis's trackingInvalidateKeysOnFlush), and the table starts over.
pub fn on_flush(ctx: &mut Ctx) {
    if ctx.st.tracking.flushed {
        return;
    }
    // The mark is cleared after the command, which only happens while someone tracks.
    if ctx.st.tracking.clients > 0 {
        ctx.st.tracking.flushed = true;
        let targets: Vec<(usize, u64)> = ctx
            .conns
            .iter()
            .filter(|(_, c)| c.tracking.is_some())
            .map(|(s, c)| (s, c.id))
            .collect();
        for (slot, id) in targets {
            if slot == ctx.id {
                ctx.st.tracking.pending.push((slot, id, None));
            } else {
                let r3 = resp3_of(ctx, slot);
                send(ctx, slot, Payload::Null(r3));
            }
        }
    }
    ctx.st.tracking.table = HashMap::new();
    ctx.st.tracking.items = 0;
    refresh(ctx.st);
}

/// Sends the invalidations the last command owed its own client, after its reply.
pub fn flush_pending(ctx: &mut Ctx) {
    if ctx.st.tracking.pending.is_empty() {
        return;
    }
    for (slot, id, key) in std::mem::take(&mut ctx.st.tracking.pending) {
        if ctx.conns.get(slot).is_none_or(|c| c.id != id) {
            continue;
        }
        match key {
            Some(k) => send(ctx, slot, Payload::Key(&k)),
            None => {
                let r3 = resp3_of(ctx, slot);
                send(ctx, slot, Payload::Null(r3));
            }
        }
    }
}

/// After each command while someone tracks: remembers the keys a read served to a tracking client
/// (Redis's trackingRememberKeys), and ends the command's CLIENT CACHING and flush state.
pub fn after_command(ctx: &mut Ctx, idx: usize, args: &Args) {
    ctx.st.tracking.flushed = false;
    let r = &super::registry().all[idx];
    let Some(t) = ctx.conns.get(ctx.id).and_then(|c| c.tracking.as_ref()) else {
        return;
    };
    if r.cmd.flags & super::READONLY == 0 || t.flags & BCAST != 0 {
        return;
    }
    let caching = t.flags & CACHING != 0;
    if (t.flags & OPTIN != 0 && !caching) || (t.flags & OPTOUT != 0 && caching) {
        return;
    }
    // Shard channels are keys only for cluster routing.
    if r.cmd.flags & super::PUBSUB != 0 {
        return;
    }
    let argv: Vec<&[u8]> = args.iter().collect();
    let positions = super::server::key_positions(r, &argv);
    let me = (ctx.id, ctx.conns[ctx.id].id);
    let tr = &mut ctx.st.tracking;
    for p in positions {
        let ids = tr.table.entry(argv[p].into()).or_default();
        if !ids.iter().any(|&(_, id)| id == me.1) {
            ids.push(me);
            tr.items += 1;
        }
    }
}

/// Ends the effect of CLIENT CACHING once the next command (or transaction) ran, as Redis's resetClient.
pub fn end_caching(ctx: &mut Ctx, name: &[u8]) {
    let Some(c) = ctx.conns.get_mut(ctx.id) else {
        return;
    };
    if c.multi.is_some() || eq_ci(name, b"client") {
        return;
    }
    if let Some(t) = c.tracking.as_mut() {
        t.flags &= !CACHING;
    }
}

/// Keeps the table within tracking-table-max-keys by invalidating keys, a bounded number per call that
/// grows while the table stays over (Redis's trackingLimitUsedSlots). Messages go out at once.
pub fn limit(ctx: &mut Ctx) {
    let max = ctx.st.cfg.tracking_table_max_keys as usize;
    if ctx.st.tracking.clients == 0 || max == 0 || ctx.st.tracking.table.len() <= max {
        ctx.st.tracking.limit_rounds = 0;
        return;
    }
    let effort = 100 * (ctx.st.tracking.limit_rounds as usize + 1);
    let victims: Vec<Box<[u8]>> = {
        let tr = &ctx.st.tracking;
        let over = tr.table.len() - max;
        tr.table.keys().take(effort.min(over)).cloned().collect()
    };
    for k in &victims {
        invalidate_key(ctx, k, false, false);
    }
    // Not inside a command: the running client's share goes out before its reply.
    flush_pending(ctx);
    if ctx.st.tracking.table.len() <= max {
        ctx.st.tracking.limit_rounds = 0;
    } else {
        ctx.st.tracking.limit_rounds += 1;
    }
}

/// Sends each BCAST prefix's changed keys to its subscribers (Redis's trackingBroadcastInvalidationMessages,
/// run before the loop sleeps).
pub fn broadcast(ctx: &mut Ctx) {
    ctx.st.tracking.bcast_pending = false;
    let prefixes: Vec<Box<[u8]>> = ctx
        .st
        .tracking
        .prefixes
        .iter()
        .filter(|(_, b)| !b.keys.is_empty())
        .map(|(p, _)| p.clone())
        .collect();
    for p in prefixes {
        let Some(bs) = ctx.st.tracking.prefixes.get_mut(&p) else {
            continue;
        };
        let keys = std::mem::take(&mut bs.keys);
        let clients = bs.clients.clone();
        let all = build_keys(&keys, None);
        for (slot, id) in clients {
            let Some(c) = ctx.conns.get(slot).filter(|c| c.id == id) else {
                continue;
            };
            if c.tracking.as_ref().is_some_and(|t| t.flags & NOLOOP != 0) {
                if let Some(own) = build_keys(&keys, Some(id)) {
                    send(ctx, slot, Payload::Proto(&own));
                }
            } else if let Some(all) = &all {
                send(ctx, slot, Payload::Proto(all));
            }
        }
    }
}

/// The RESP array of `keys`, leaving out those `skip` changed last (NOLOOP); None when empty for NOLOOP.
fn build_keys(keys: &BTreeMap<Box<[u8]>, u64>, skip: Option<u64>) -> Option<Vec<u8>> {
    let n = keys.values().filter(|&&by| Some(by) != skip).count();
    if n == 0 && skip.is_some() {
        return None;
    }
    let mut out = Out {
        buf: Vec::new(),
        resp3: false,
    };
    out.array(n);
    for (k, &by) in keys {
        if Some(by) != skip {
            out.bulk(k);
        }
    }
    Some(out.buf)
}

/// Turns the hooks and the databases' logging of changed keys on or off as tracking starts or ends.
fn refresh(st: &mut State) {
    let tr = &mut st.tracking;
    let hot = tr.clients > 0 || !tr.table.is_empty();
    if hot == tr.hot {
        return;
    }
    tr.hot = hot;
    if !hot {
        // Nothing flushes them until someone tracks again.
        tr.pending.clear();
    }
    set_db_logging(st, hot);
}

fn set_db_logging(st: &mut State, on: bool) {
    for db in st.dbs.iter_mut() {
        db.tracking = on;
        if !on {
            if !db.watching {
                db.touched.clear();
            }
            if !db.track_expired {
                db.expired_log.clear();
            }
        }
    }
}

/// Turns tracking off for `c` (CLIENT TRACKING OFF, RESET, close): leaves its BCAST prefixes. Its entries
/// in the table go lazily, as in Redis.
pub fn disable(st: &mut State, c: &mut Conn, slot: usize) {
    let Some(t) = c.tracking.take() else {
        return;
    };
    for p in &t.prefixes {
        if let Some(bs) = st.tracking.prefixes.get_mut(p) {
            bs.clients.retain(|&(s, id)| !(s == slot && id == c.id));
            if bs.clients.is_empty() {
                st.tracking.prefixes.remove(p);
            }
        }
    }
    st.tracking.clients -= 1;
    refresh(st);
}

/// CLIENT TRACKING ON|OFF [REDIRECT client-id] [PREFIX prefix [PREFIX prefix ...]] [BCAST] [OPTIN]
/// [OPTOUT] [NOLOOP]
pub fn client_tracking(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut redir: i64 = 0;
    let mut redir_slot = 0;
    let mut opts = 0u8;
    let mut prefixes: Vec<&[u8]> = Vec::new();
    let mut j = 3;
    while j < args.len() {
        let a = &args[j];
        let more = j + 1 < args.len();
        if eq_ci(a, b"redirect") && more {
            j += 1;
            if redir != 0 {
                return err("ERR A client can only redirect to a single other client");
            }
            redir = crate::util::parse_i64(&args[j]).ok_or(ERR_NOT_INT)?;
            match slot_of(ctx, redir as u64).filter(|_| redir > 0) {
                Some(s) => redir_slot = s,
                None => return err("ERR The client ID you want redirect to does not exist"),
            }
        } else if eq_ci(a, b"bcast") {
            opts |= BCAST;
        } else if eq_ci(a, b"optin") {
            opts |= OPTIN;
        } else if eq_ci(a, b"optout") {
            opts |= OPTOUT;
        } else if eq_ci(a, b"noloop") {
            opts |= NOLOOP;
        } else if eq_ci(a, b"prefix") && more {
            j += 1;
            prefixes.push(&args[j]);
        } else {
            return err(ERR_SYNTAX);
        }
        j += 1;
    }
    if eq_ci(&args[2], b"off") {
        let c = &mut ctx.conns[ctx.id];
        disable(ctx.st, c, ctx.id);
        ctx.out.ok();
        return Ok(());
    }
    if !eq_ci(&args[2], b"on") {
        return err(ERR_SYNTAX);
    }
    if opts & BCAST == 0 && !prefixes.is_empty() {
        return err("ERR PREFIX option requires BCAST mode to be enabled");
    }
    let cur = ctx.conns[ctx.id].tracking.as_ref().map(|t| t.flags);
    if let Some(f) = cur {
        if (f & BCAST != 0) != (opts & BCAST != 0) {
            return err("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.");
        }
    }
    if opts & BCAST != 0 && opts & (OPTIN | OPTOUT) != 0 {
        return err("ERR OPTIN and OPTOUT are not compatible with BCAST");
    }
    if opts & OPTIN != 0 && opts & OPTOUT != 0 {
        return err("ERR You can't specify both OPTIN mode and OPTOUT mode");
    }
    let f = cur.unwrap_or(0);
    if (opts & OPTIN != 0 && f & OPTOUT != 0) || (opts & OPTOUT != 0 && f & OPTIN != 0) {
        return err("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode.");
    }
    if opts & BCAST != 0 {
        check_collisions(ctx, &prefixes)?;
    }
    // Valid: enable (Redis's enableTracking).
    let slot = ctx.id;
    let cid = ctx.conns[slot].id;
    if ctx.conns[slot].tracking.is_none() {
        ctx.st.tracking.clients += 1;
        refresh(ctx.st);
    }
    let t = ctx.conns[slot]
        .tracking
        .get_or_insert_with(Default::default);
    // CACHING survives re-enabling, as in Redis; the modes are set anew.
    t.flags &= CACHING;
    t.flags |= opts & (BCAST | OPTIN | OPTOUT | NOLOOP);
    t.redir = redir as u64;
    t.redir_slot = redir_slot;
    if opts & BCAST != 0 {
        let mut add: Vec<&[u8]> = prefixes.clone();
        if add.is_empty() {
            add.push(b"");
        }
        for p in add {
            let bs = ctx.st.tracking.prefixes.entry(p.into()).or_default();
            if !bs.clients.iter().any(|&(_, id)| id == cid) {
                bs.clients.push((slot, cid));
            }
            let t = ctx.conns[slot]
                .tracking
                .get_or_insert_with(Default::default);
            if let Err(at) = t.prefixes.binary_search_by(|x| (**x).cmp(p)) {
                t.prefixes.insert(at, p.into());
            }
        }
    }
    ctx.out.ok();
    Ok(())
}

/// Redis's checkPrefixCollisionsOrReply: two prefixes of one client must not cover the same keys.
fn check_collisions(ctx: &Ctx, prefixes: &[&[u8]]) -> CmdResult {
    let overlap = |a: &[u8], b: &[u8]| {
        let n = a.len().min(b.len());
        a[..n] == b[..n]
    };
    let own: &[Box<[u8]>] = ctx.conns[ctx.id]
        .tracking
        .as_ref()
        .map_or(&[], |t| t.prefixes.as_slice());
    for (i, p) in prefixes.iter().enumerate() {
        if let Some(q) = own.iter().find(|q| overlap(q, p)) {
            return err(format!(
                "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                c_str(p),
                c_str(q)
            ));
        }
        if let Some(q) = prefixes[i + 1..].iter().find(|q| overlap(p, q)) {
            return err(format!(
                "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                c_str(p),
                c_str(q)
            ));
        }
    }
    Ok(())
}

/// A byte string as C's `%s` prints it: up to the first NUL.
fn c_str(s: &[u8]) -> String {
    let end = s.iter().position(|&c| c == 0).unwrap_or(s.len());
    String::from_utf8_lossy(&s[..end]).into_owned()
}

/// CLIENT CACHING YES|NO
pub fn client_caching(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let Some(t) = ctx.conns[ctx.id].tracking.as_mut() else {
        return err(ERR_CACHING);
    };
    if eq_ci(&args[2], b"yes") {
        if t.flags & OPTIN == 0 {
            return err(
                "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            );
        }
    } else if eq_ci(&args[2], b"no") {
        if t.flags & OPTOUT == 0 {
            return err(
                "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            );
        }
    } else {
        return err(ERR_SYNTAX);
    }
    t.flags |= CACHING;
    ctx.out.ok();
    Ok(())
}

/// CLIENT GETREDIR
pub fn client_getredir(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let r = ctx.conns[ctx.id]
        .tracking
        .as_ref()
        .map_or(-1, |t| t.redir as i64);
    ctx.out.int(r);
    Ok(())
}

/// CLIENT TRACKINGINFO
pub fn client_trackinginfo(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let t = ctx.conns[ctx.id].tracking.as_ref();
    let f = t.map_or(0, |t| t.flags);
    let mut names: Vec<&[u8]> = vec![if t.is_some() { b"on" } else { b"off" }];
    if f & BCAST != 0 {
        names.push(b"bcast");
    }
    if f & OPTIN != 0 {
        names.push(b"optin");
        if f & CACHING != 0 {
            names.push(b"caching-yes");
        }
    }
    if f & OPTOUT != 0 {
        names.push(b"optout");
        if f & CACHING != 0 {
            names.push(b"caching-no");
        }
    }
    if f & NOLOOP != 0 {
        names.push(b"noloop");
    }
    if f & BROKEN_REDIR != 0 {
        names.push(b"broken_redirect");
    }
    let redir = t.map_or(-1, |t| t.redir as i64);
    let prefixes: Vec<Box<[u8]>> = t.map_or_else(Vec::new, |t| t.prefixes.clone());
    let out = &mut *ctx.out;
    out.map(3);
    out.bulk(b"flags");
    out.set(names.len());
    for n in names {
        out.bulk(n);
    }
    out.bulk(b"redirect");
    out.int(redir);
    out.bulk(b"prefixes");
    out.array(prefixes.len());
    for p in &prefixes {
        out.bulk(p);
    }
    Ok(())
}

/// CLIENT LIST's tracking letters (`t`, `R`, `B`) for `c`.
pub fn list_flags(c: &Conn, o: &mut Vec<u8>) {
    if let Some(t) = &c.tracking {
        o.push(b't');
        if t.flags & BROKEN_REDIR != 0 {
            o.push(b'R');
        }
        if t.flags & BCAST != 0 {
            o.push(b'B');
        }
    }
}

/// CLIENT LIST's `redir=` value.
pub fn list_redir(c: &Conn) -> i64 {
    c.tracking.as_ref().map_or(-1, |t| t.redir as i64)
}
