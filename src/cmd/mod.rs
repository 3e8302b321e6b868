//! The command table and dispatch: name lookup without allocation, arity and authentication checks with
//! Redis 7.0's error texts, per-command statistics, and the context every command runs in. Each family of
//! commands lives in its own file and exports a `COMMANDS` table.

use std::borrow::Cow;
use std::ops::Index;
use std::sync::OnceLock;

use slab::Slab;

use crate::protocol::Out;
use crate::server::conn::Conn;
use crate::server::State;
use crate::store::Db;

pub mod bitops;
pub mod cluster;
pub mod connection;
pub mod dump;
pub mod expire;
pub mod function;
pub mod geo;
pub mod hash;
pub mod hll;
pub mod keys;
pub mod list;
pub mod memory;
pub mod monitor;
pub mod multi;
pub mod notify;
pub mod persist;
pub mod pubsub;
pub mod repl;
pub mod script;
pub mod script_libs;
pub mod server;
pub mod set;
pub mod slowlog;
pub mod sort;
pub mod stream;
pub mod string;
pub mod tracking;
pub mod zset;

/// A command's error reply: the full text after `-`, e.g. `ERR syntax error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(pub Cow<'static, str>);

pub type CmdResult = Result<(), Error>;

impl From<&'static str> for Error {
    fn from(s: &'static str) -> Error {
        Error(Cow::Borrowed(s))
    }
}

impl From<String> for Error {
    fn from(s: String) -> Error {
        Error(Cow::Owned(s))
    }
}

/// Shorthand for an error result.
pub fn err<T>(msg: impl Into<Error>) -> Result<T, Error> {
    Err(msg.into())
}

pub const ERR_SYNTAX: &str = "ERR syntax error";
pub const ERR_NOT_INT: &str = "ERR value is not an integer or out of range";
pub const ERR_NOT_FLOAT: &str = "ERR value is not a valid float";
pub const ERR_WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
pub const ERR_NO_KEY: &str = "ERR no such key";
pub const ERR_OVERFLOW: &str = "ERR increment or decrement would overflow";
pub const ERR_DB_INDEX: &str = "ERR DB index is out of range";

// Command flags, as COMMAND INFO names them.
pub const WRITE: u32 = 1;
pub const READONLY: u32 = 1 << 1;
pub const DENYOOM: u32 = 1 << 2;
pub const ADMIN: u32 = 1 << 3;
pub const PUBSUB: u32 = 1 << 4;
pub const NOSCRIPT: u32 = 1 << 5;
pub const LOADING: u32 = 1 << 6;
pub const STALE: u32 = 1 << 7;
pub const SKIP_MONITOR: u32 = 1 << 8;
pub const SKIP_SLOWLOG: u32 = 1 << 9;
pub const FAST: u32 = 1 << 10;
pub const NO_AUTH: u32 = 1 << 11;
pub const MAY_REPLICATE: u32 = 1 << 12;
pub const SENTINEL: u32 = 1 << 13;
pub const NO_MANDATORY_KEYS: u32 = 1 << 14;
pub const ALLOW_BUSY: u32 = 1 << 15;
pub const NO_MULTI: u32 = 1 << 16;
pub const BLOCKING: u32 = 1 << 17;
pub const NO_ASYNC_LOADING: u32 = 1 << 18;
pub const ONLY_SENTINEL: u32 = 1 << 19;

/// Flag names in the order Redis lists them in COMMAND INFO.
pub const FLAG_NAMES: &[(u32, &str)] = &[
    (WRITE, "write"),
    (READONLY, "readonly"),
    (DENYOOM, "denyoom"),
    (ADMIN, "admin"),
    (PUBSUB, "pubsub"),
    (NOSCRIPT, "noscript"),
    (BLOCKING, "blocking"),
    (LOADING, "loading"),
    (STALE, "stale"),
    (SKIP_MONITOR, "skip_monitor"),
    (SKIP_SLOWLOG, "skip_slowlog"),
    (FAST, "fast"),
    (NO_AUTH, "no_auth"),
    (MAY_REPLICATE, "may_replicate"),
    (SENTINEL, "sentinel"),
    (ONLY_SENTINEL, "only_sentinel"),
    (NO_MANDATORY_KEYS, "no_mandatory_keys"),
    (NO_ASYNC_LOADING, "no_async_loading"),
    (NO_MULTI, "no_multi"),
    (ALLOW_BUSY, "allow_busy"),
];

pub type Handler = fn(&mut Ctx, &Args) -> CmdResult;

/// One row of the command table.
pub struct Cmd {
    /// Lowercase name (for subcommands, the subcommand alone).
    pub name: &'static str,
    /// Positive: exactly this many arguments, name included; negative: at least that many.
    pub arity: i32,
    pub flags: u32,
    /// First key, last key (negative counts from the end), step; zeros for no keys.
    pub keys: (i32, i32, i32),
    pub handler: Handler,
    pub subs: &'static [Cmd],
    /// COMMAND DOCS: group, summary, since, complexity.
    pub group: &'static str,
    pub summary: &'static str,
    pub since: &'static str,
    pub complexity: &'static str,
}

impl Cmd {
    pub const fn new(
        name: &'static str,
        arity: i32,
        flags: u32,
        keys: (i32, i32, i32),
        handler: Handler,
    ) -> Cmd {
        Cmd {
            name,
            arity,
            flags,
            keys,
            handler,
            subs: &[],
            group: "",
            summary: "",
            since: "",
            complexity: "",
        }
    }

    pub const fn subs(mut self, subs: &'static [Cmd]) -> Cmd {
        self.subs = subs;
        self
    }

    pub const fn doc(
        mut self,
        group: &'static str,
        since: &'static str,
        summary: &'static str,
        complexity: &'static str,
    ) -> Cmd {
        self.group = group;
        self.since = since;
        self.summary = summary;
        self.complexity = complexity;
        self
    }
}

/// A registered command: the row, its container (for subcommands) and its full name (`config|get`).
pub struct Registered {
    pub cmd: &'static Cmd,
    pub parent: Option<&'static Cmd>,
    pub fullname: String,
    /// Registry indexes of the subcommands.
    pub subs: Vec<usize>,
}

/// Every command and subcommand, indexed; top-level names sorted for binary search.
pub struct Registry {
    pub all: Vec<Registered>,
    top: Vec<usize>,
    /// Top-level commands by the hash of their lowercase name: one probe per request.
    by_name: hashbrown::HashTable<usize>,
}

/// Longest command name looked up; no Redis command comes near it.
const MAX_NAME: usize = 32;
const NAME_SEED: u64 = 0x5eed_c0de;

static REGISTRY: OnceLock<Registry> = OnceLock::new();

const FAMILIES: &[&[Cmd]] = &[
    string::COMMANDS,
    keys::COMMANDS,
    expire::COMMANDS,
    multi::COMMANDS,
    repl::COMMANDS,
    memory::COMMANDS,
    monitor::COMMANDS,
    connection::COMMANDS,
    server::COMMANDS,
    script::COMMANDS,
    cluster::COMMANDS,
    pubsub::COMMANDS,
    bitops::COMMANDS,
    zset::COMMANDS,
    hash::COMMANDS,
    set::COMMANDS,
    list::COMMANDS,
    sort::COMMANDS,
    geo::COMMANDS,
    dump::COMMANDS,
    hll::COMMANDS,
    persist::COMMANDS,
    stream::COMMANDS,
    slowlog::COMMANDS,
];

pub fn registry() -> &'static Registry {
    REGISTRY.get_or_init(|| {
        let mut all = Vec::new();
        let mut top = Vec::new();
        for fam in FAMILIES {
            for cmd in fam.iter() {
                let idx = all.len();
                top.push(idx);
                all.push(Registered {
                    cmd,
                    parent: None,
                    fullname: cmd.name.to_string(),
                    subs: Vec::new(),
                });
                for sub in cmd.subs {
                    let s = all.len();
                    all.push(Registered {
                        cmd: sub,
                        parent: Some(cmd),
                        fullname: format!("{}|{}", cmd.name, sub.name),
                        subs: Vec::new(),
                    });
                    all[idx].subs.push(s);
                }
            }
        }
        top.sort_by(|&a, &b| all[a].cmd.name.cmp(all[b].cmd.name));
        let mut by_name = hashbrown::HashTable::new();
        for &i in &top {
            let h = crate::util::hash_bytes(NAME_SEED, all[i].cmd.name.as_bytes());
            by_name.insert_unique(h, i, |&j: &usize| {
                crate::util::hash_bytes(NAME_SEED, all[j].cmd.name.as_bytes())
            });
        }
        Registry { all, top, by_name }
    })
}

impl Registry {
    /// The index of a top-level command, case-insensitively.
    pub fn find(&self, name: &[u8]) -> Option<usize> {
        if name.len() > MAX_NAME {
            return None;
        }
        let mut buf = [0u8; MAX_NAME];
        let lower = &mut buf[..name.len()];
        lower.copy_from_slice(name);
        lower.make_ascii_lowercase();
        let h = crate::util::hash_bytes(NAME_SEED, lower);
        self.by_name
            .find(h, |&i| self.all[i].cmd.name.as_bytes() == &*lower)
            .copied()
    }

    /// The index of a subcommand of the command at `parent`.
    pub fn find_sub(&self, parent: usize, name: &[u8]) -> Option<usize> {
        self.all[parent]
            .subs
            .iter()
            .copied()
            .find(|&i| self.all[i].cmd.name.as_bytes().eq_ignore_ascii_case(name))
    }

    /// Top-level commands in name order.
    pub fn top_level(&self) -> impl Iterator<Item = &Registered> {
        self.top.iter().map(|&i| &self.all[i])
    }
}

/// The arguments of one request, name included, as slices of the read buffer.
pub struct Args<'a> {
    buf: &'a [u8],
    ranges: &'a [(usize, usize)],
}

impl<'a> Args<'a> {
    pub fn new(buf: &'a [u8], ranges: &'a [(usize, usize)]) -> Args<'a> {
        Args { buf, ranges }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    #[inline]
    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        self.ranges.get(i).map(|&(a, b)| &self.buf[a..b])
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &'a [u8]> + ExactSizeIterator + '_ {
        let buf = self.buf;
        self.ranges.iter().map(move |&(a, b)| &buf[a..b])
    }

    /// The arguments from `from` on.
    pub fn from(
        &self,
        from: usize,
    ) -> impl DoubleEndedIterator<Item = &'a [u8]> + ExactSizeIterator + '_ {
        let buf = self.buf;
        self.ranges[from.min(self.ranges.len())..]
            .iter()
            .map(move |&(a, b)| &buf[a..b])
    }
}

impl Index<usize> for Args<'_> {
    type Output = [u8];
    #[inline]
    fn index(&self, i: usize) -> &[u8] {
        let (a, b) = self.ranges[i];
        &self.buf[a..b]
    }
}

/// Everything a command may touch: server state, all connections, and the reply buffer of its own.
pub struct Ctx<'a> {
    pub st: &'a mut State,
    pub conns: &'a mut Slab<Conn>,
    /// Slab key of the connection being served.
    pub id: usize,
    /// Its selected database.
    pub db: usize,
    pub out: &'a mut Out,
    /// Running a blocked client's command again because a key it waits on was signalled.
    pub reexec: bool,
    /// Set by `block` during a re-run that still finds nothing: the client keeps its place in line.
    pub still_blocked: bool,
    /// Running queued commands inside EXEC: blocking commands must not block.
    pub in_exec: bool,
    /// Running a command from a Lua script (Redis's CLIENT_SCRIPT); `in_exec` is set too.
    pub in_script: bool,
    /// `out.buf` is the shared reply arena (other clients' replies of this iteration are in it), not the
    /// client's own buffer.
    pub arena_in_out: bool,
    /// How the running write command reaches replicas; handlers set it when Redis rewrites the command.
    pub prop: repl::Propagate,
    /// During a re-run (`reexec`), the signalled key: Redis serves a blocked client from that key alone,
    /// whatever its other keys hold.
    pub ready_key: Option<&'a [u8]>,
    /// Redis's own change count for the running command, where it is not one per changing command (HSET
    /// counts its fields, DEL its deleted keys, SADD its added members): what the command adds to the dirty
    /// counter that drives the save points.
    pub dirty: Option<u64>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        st: &'a mut State,
        conns: &'a mut Slab<Conn>,
        id: usize,
        db: usize,
        out: &'a mut Out,
    ) -> Ctx<'a> {
        Ctx {
            st,
            conns,
            id,
            db,
            out,
            reexec: false,
            still_blocked: false,
            in_exec: false,
            in_script: false,
            arena_in_out: false,
            prop: repl::Propagate::AsIs,
            ready_key: None,
            dirty: None,
        }
    }
}

impl Ctx<'_> {
    /// Tells clients blocked on `key` (in the selected db) that it may now have what they wait for.
    #[inline]
    pub fn signal_key(&mut self, key: &[u8]) {
        self.st.waiters.signal(self.db, key);
    }

    /// Marks clients WATCHing `key` in `db` so their EXEC fails.
    #[inline]
    pub fn touch_key(&mut self, db: usize, key: &[u8]) {
        if self.st.waiters.watch_count > 0 {
            multi::touch_watched(self.st, self.conns, db, key);
        }
        if self.st.tracking.active() {
            tracking::invalidate_key(self, key, true, true);
        }
    }

    /// Call before `db` is emptied (FLUSHDB, FLUSHALL) or swapped with `replaced_with` (SWAPDB, both ways):
    /// invalidates the WATCHes whose key really changes.
    pub fn touch_all_watched(&mut self, db: usize, replaced_with: Option<usize>) {
        if self.st.waiters.watch_count > 0 {
            multi::touch_all_watched_in_db(self.st, self.conns, db, replaced_with);
        }
        if replaced_with.is_none() {
            tracking::on_flush(self);
        }
    }

    /// True when a command that finds nothing may block here; inside EXEC it must answer at once instead.
    pub fn may_block(&self) -> bool {
        !self.in_exec
    }

    /// Blocks the client on `keys` until `deadline` (unix ms, 0 forever): the command writes no reply now and
    /// is run again when a key is signalled; on timeout the client gets a null array (`null_array`) or a
    /// null bulk. During such a re-run the client simply keeps waiting, in its place.
    pub fn block(&mut self, args: &Args, keys: Vec<Box<[u8]>>, deadline: u64, null_array: bool) {
        if self.reexec {
            self.still_blocked = true;
            return;
        }
        self.st.waiters.block(self.id, self.db, &keys, deadline);
        self.conns[self.id].blocked = Some(Box::new(crate::server::conn::Blocked {
            cmd: crate::server::conn::OwnedArgs::from_args(args),
            db: self.db,
            keys,
            deadline,
            timeout_null_array: null_array,
            wait: None,
        }));
    }

    /// Appends a Pub/Sub-style message to client `target`'s output: into this turn's buffer when it is the
    /// client being served, else into its own buffer, flushed by the loop after the turn.
    pub fn push_to(&mut self, target: usize, write: impl FnOnce(&mut Out)) {
        if target == self.id {
            write(self.out);
            return;
        }
        let Some(c) = self.conns.get_mut(target) else {
            return;
        };
        // Replies the target got earlier in this iteration go first.
        let arena = if self.arena_in_out {
            &self.out.buf
        } else {
            &self.st.arena
        };
        c.materialize(arena);
        let mut out = Out {
            buf: std::mem::take(&mut c.wbuf),
            resp3: c.resp3,
        };
        write(&mut out);
        c.wbuf = out.buf;
        self.st.waiters.wake.push(target);
    }

    /// The selected database.
    #[inline]
    pub fn db(&mut self) -> &mut Db {
        &mut self.st.dbs[self.db]
    }

    /// The connection being served.
    #[inline]
    pub fn conn(&mut self) -> &mut Conn {
        &mut self.conns[self.id]
    }
}

/// Per-command counters for INFO commandstats.
#[derive(Debug, Default, Clone)]
pub struct CmdStat {
    pub calls: u64,
    pub usec: u64,
    /// Exact running total behind `usec`, so sub-microsecond commands still add up.
    pub nanos: u64,
    pub rejected: u64,
    pub failed: u64,
}

/// Appends `s` truncated to `max` bytes, stopping at a NUL as C's `%.*s` does.
fn push_c_str(out: &mut Vec<u8>, s: &[u8], max: usize) {
    let end = s.iter().position(|&c| c == 0).unwrap_or(s.len()).min(max);
    out.extend_from_slice(&s[..end]);
}

fn reject(ctx: &mut Ctx, args: &Args, idx: Option<usize>, msg: &[u8]) {
    // Redis records the looked-up command (NULL when unknown) even when it rejects it: CLIENT LIST's cmd=.
    let c = &mut ctx.conns[ctx.id];
    c.last_cmd = idx;
    // A command refused while queueing makes the whole transaction fail at EXEC.
    if c.multi.is_some() {
        c.multi_error = true;
    }
    if let Some(i) = idx {
        ctx.st.cmdstats[i].rejected += 1;
        let r = &registry().all[i];
        if r.parent.is_none() && r.cmd.name == "exec" {
            // A refused EXEC discards the transaction and says why (Redis's execCommandAbort); reasons
            // Redis formats itself carry no ERR prefix there.
            multi::end_transaction(ctx.st, ctx.conns, ctx.id);
            let why = msg.strip_prefix(b"ERR ").unwrap_or(msg);
            let mut full = b"EXECABORT Transaction discarded because of: ".to_vec();
            full.extend_from_slice(why);
            ctx.st.count_error(&full);
            ctx.out.error(&full);
            // Monitors saw MULTI; EXEC shows them the transaction is over.
            if !ctx.st.monitors.is_empty() {
                monitor::feed(ctx, ctx.db, args);
            }
            return;
        }
    }
    ctx.st.count_error(msg);
    ctx.out.error(msg);
}

/// Runs one request and applies the client's CLIENT REPLY state to what it wrote.
pub fn dispatch(ctx: &mut Ctx, args: &Args) {
    let start = ctx.out.buf.len();
    run(ctx, args);
    // Blocked XREADGROUPs whose stream or group this command took away get their error.
    if !ctx.st.waiters.stream_groups.is_empty() {
        stream::check_group_waits(ctx);
    }
    // Keys the command's lookups reclaimed by expiry (or added) tell their subscribers now.
    notify::flush_logged(ctx);
    // EXEC's queued commands answer as part of EXEC; a client that blocked keeps its state until its
    // command answers.
    let tracking = ctx.st.tracking.active();
    if ctx.in_exec || ctx.still_blocked {
        if tracking && !ctx.in_exec {
            tracking::flush_pending(ctx);
        }
        return;
    }
    if tracking {
        tracking::end_caching(ctx, &args[0]);
    }
    if let Some(c) = ctx.conns.get_mut(ctx.id) {
        if c.reply != 0 && c.blocked.is_none() {
            // (Un)subscription confirmations are pushes, which Redis sends even with replies off.
            let from = if connection::is_subscribe_cmd(&args[0]) {
                ctx.out.buf.len()
            } else {
                start
            };
            c.finish_reply(&mut ctx.out.buf, from);
        }
    }
    if tracking {
        // Invalidations this client's own command caused follow its reply.
        tracking::flush_pending(ctx);
    }
}

/// Looks the command up, checks arity and authentication, runs it, and records its statistics.
fn run(ctx: &mut Ctx, args: &Args) {
    let reg = registry();
    let name = &args[0];
    let Some(mut idx) = reg.find(name) else {
        let mut msg = b"ERR unknown command '".to_vec();
        push_c_str(&mut msg, name, 128);
        msg.extend_from_slice(b"', with args beginning with: ");
        let mut list = Vec::new();
        for a in args.from(1) {
            if list.len() >= 128 {
                break;
            }
            // Redis's `'%.*s' ` with 128 - sdslen(args): the room is measured before the opening quote.
            let room = 128 - list.len();
            list.push(b'\'');
            push_c_str(&mut list, a, room);
            list.extend_from_slice(b"' ");
        }
        msg.extend_from_slice(&list);
        reject(ctx, args, None, &msg);
        return;
    };
    if !reg.all[idx].subs.is_empty() && args.len() >= 2 {
        match reg.find_sub(idx, &args[1]) {
            Some(s) => idx = s,
            None => {
                let mut msg = b"ERR unknown subcommand '".to_vec();
                push_c_str(&mut msg, &args[1], 128);
                msg.extend_from_slice(b"'. Try ");
                msg.extend(name.iter().map(|c| c.to_ascii_uppercase()));
                msg.extend_from_slice(b" HELP.");
                reject(ctx, args, None, &msg);
                return;
            }
        }
    }
    let r = &reg.all[idx];
    let cmd = r.cmd;
    let argc = args.len() as i32;
    if (cmd.arity > 0 && cmd.arity != argc) || argc < -cmd.arity {
        let msg = format!("ERR wrong number of arguments for '{}' command", r.fullname);
        reject(ctx, args, Some(idx), msg.as_bytes());
        return;
    }
    let flags = cmd.flags | r.parent.map_or(0, |p| p.flags & NO_AUTH);
    if flags & NO_AUTH == 0 && !ctx.conns[ctx.id].authed {
        reject(ctx, args, Some(idx), b"NOAUTH Authentication required.");
        return;
    }
    let conn = &ctx.conns[ctx.id];
    if conn.multi.is_some() && flags & NO_MULTI != 0 {
        reject(
            ctx,
            args,
            Some(idx),
            b"ERR Command not allowed inside a transaction",
        );
        return;
    }
    let top = r.parent.map_or(cmd.name, |p| p.name);
    // Redis marks a monitor as a replica, and replicas may not touch the keyspace.
    if conn.monitor && flags & (READONLY | WRITE | MAY_REPLICATE) != 0 {
        reject(
            ctx,
            args,
            Some(idx),
            b"ERR Replica can't interact with the keyspace",
        );
        return;
    }
    // maxmemory and the like, checked before queueing too; not for EXEC's queued commands or re-runs.
    if !ctx.in_exec && !ctx.reexec && server::admission_needed(ctx.st) {
        if let Some(e) = server::admission(ctx, flags, top) {
            reject(ctx, args, Some(idx), e.as_bytes());
            return;
        }
    }
    let tracking = ctx.st.tracking.active();
    if tracking && !ctx.in_exec && !ctx.reexec {
        // Keys evicted above and keys over tracking-table-max-keys are invalidated before the reply.
        tracking::limit(ctx);
        tracking::flush_pending(ctx);
    }
    let conn = &ctx.conns[ctx.id];
    // Inside EXEC Redis runs the queued commands directly, so a SUBSCRIBE there does not restrict the rest.
    if !ctx.out.resp3
        && !ctx.in_exec
        && conn.subscriptions() > 0
        && !matches!(
            top,
            "ping"
                | "subscribe"
                | "ssubscribe"
                | "unsubscribe"
                | "sunsubscribe"
                | "psubscribe"
                | "punsubscribe"
                | "quit"
                | "reset"
        )
    {
        let msg = format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            r.fullname
        );
        reject(ctx, args, Some(idx), msg.as_bytes());
        return;
    }
    if conn.multi.is_some()
        && !ctx.in_exec
        && !matches!(
            top,
            "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
        )
    {
        let queued = crate::server::conn::OwnedArgs::from_args(args);
        if let Some(q) = ctx.conns[ctx.id].multi.as_mut() {
            q.push(queued);
        }
        ctx.out.simple("QUEUED");
        return;
    }
    ctx.conns[ctx.id].last_cmd = Some(idx);
    let repl = !ctx.st.replicas.is_empty() && !ctx.conns[ctx.id].replica;
    // Whether a write changed anything (per-database change counters) feeds WATCH, replication and the
    // dirty count; reads skip the bookkeeping.
    let track = repl || ctx.st.waiters.watch_count > 0 || cmd.flags & WRITE != 0 || tracking;
    let muts = if track { repl::total_muts(ctx) } else { 0 };
    if ctx.st.waiters.watch_count > 0 || tracking {
        // Keys changed outside a command (eviction touches its own) are not this command's.
        for db in ctx.st.dbs.iter_mut() {
            db.touched.clear();
        }
        tracking::reset_seen(&mut ctx.st.tracking);
    }
    ctx.prop = repl::Propagate::AsIs;
    if tracking {
        ctx.st.tracking.reply_at = Some(ctx.out.buf.len());
    }
    ctx.dirty = None;
    let offset = ctx.st.repl.offset;
    let start = crate::util::now_ns();
    let res = (cmd.handler)(ctx, args);
    let mut changed = false;
    if track {
        let reclaimed = after_expiry(ctx);
        // Keys reclaimed by expiry were handled on their own; a write that left the rest alone (a failed
        // SET NX, DEL of a missing key, a blocking pop still waiting, a SETBIT to the bit it had) counts as
        // no change.
        let waiting = ctx.still_blocked || ctx.conns[ctx.id].blocked.is_some();
        changed = cmd.flags & WRITE != 0
            && res.is_ok()
            && !waiting
            && !matches!(ctx.prop, repl::Propagate::Nothing)
            && repl::total_muts(ctx) > muts + reclaimed;
        if ctx.st.waiters.watch_count > 0 || tracking {
            touch_changed_keys(ctx, changed);
        }
    }
    match ctx.dirty.take() {
        Some(n) => ctx.st.dirty += n,
        None => ctx.st.dirty += changed as u64,
    }
    if tracking {
        tracking::after_command(ctx, idx, args);
        ctx.st.tracking.reply_at = None;
    }
    if repl && (changed || (res.is_ok() && repl::always_propagated(cmd.name))) {
        match std::mem::take(&mut ctx.prop) {
            repl::Propagate::AsIs => repl::feed(ctx, ctx.db, args),
            repl::Propagate::As(o) => repl::feed(ctx, ctx.db, &o.args()),
            repl::Propagate::Nothing => {}
        }
    }
    if ctx.st.repl.offset != offset {
        ctx.conns[ctx.id].woff = ctx.st.repl.offset;
    }
    if !ctx.st.monitors.is_empty() && !ctx.reexec && flags & (SKIP_MONITOR | ADMIN) == 0 {
        monitor::feed(ctx, ctx.db, args);
    }
    let ns = crate::util::now_ns().saturating_sub(start);
    let st = &mut *ctx.st;
    let cs = &mut st.cmdstats[idx];
    // A blocking command counts once, when first called, however often it is retried (Redis's call());
    // the retries add their time.
    if !ctx.reexec {
        st.stats.commands += 1;
        cs.calls += 1;
    }
    cs.nanos += ns;
    cs.usec = cs.nanos / 1000;
    if let Err(e) = res {
        cs.failed += 1;
        st.count_error(e.0.as_bytes());
        ctx.out.error(e.0.as_bytes());
    }
    slowlog::after_call(ctx, idx, args, cmd.flags, ns);
}

/// Handles keys reclaimed by expiry since the last call (logged only while someone WATCHes or a replica
/// listens): touches WATCHes and propagates them as DEL. Returns how many there were.
pub fn after_expiry(ctx: &mut Ctx) -> u64 {
    // Databases log reclaimed keys only while someone WATCHes or a replica listens.
    if ctx.st.waiters.watch_count == 0 && ctx.st.replicas.is_empty() && !ctx.st.tracking.active() {
        return 0;
    }
    let mut n = 0;
    for db in 0..ctx.st.dbs.len() {
        if ctx.st.dbs[db].expired_log.is_empty() {
            continue;
        }
        let log = std::mem::take(&mut ctx.st.dbs[db].expired_log);
        n += log.len() as u64;
        if ctx.st.waiters.watch_count > 0 {
            for key in &log {
                multi::touch_watched(ctx.st, ctx.conns, db, key);
            }
        }
        if !ctx.st.replicas.is_empty() {
            repl::feed_expired(ctx, db, &log);
        }
        if ctx.st.tracking.active() {
            for key in &log {
                tracking::invalidate_key(ctx, key, true, false);
            }
        }
    }
    n
}

/// Invalidates the WATCHes of the keys the command changed, as the databases logged them; a command that
/// changed nothing (a SETBIT to the bit it had) invalidates none.
fn touch_changed_keys(ctx: &mut Ctx, changed: bool) {
    for db in 0..ctx.st.dbs.len() {
        if ctx.st.dbs[db].touched.is_empty() {
            continue;
        }
        let mut log = std::mem::take(&mut ctx.st.dbs[db].touched);
        if changed && ctx.st.waiters.watch_count > 0 {
            for key in &log {
                multi::touch_watched(ctx.st, ctx.conns, db, key);
            }
        }
        if changed && ctx.st.tracking.active() {
            let from = tracking::already_invalidated(&ctx.st.tracking, db).min(log.len());
            for key in &log[from..] {
                tracking::invalidate_key(ctx, key, true, true);
            }
        }
        // Invalidating logs nothing: the emptied log goes back, keeping its allocation.
        log.clear();
        ctx.st.dbs[db].touched = log;
    }
    tracking::reset_seen(&mut ctx.st.tracking);
}

/// Looks `key` up in the selected database for reading, counting a keyspace hit or miss as Redis's
/// `lookupKeyRead` does (write lookups count neither).
pub fn read_lookup(ctx: &mut Ctx, key: &[u8]) -> Option<u32> {
    let now = ctx.st.now;
    let found = ctx.st.dbs[ctx.db].lookup(key, now);
    if found.is_some() {
        ctx.st.stats.keyspace_hits += 1;
    } else {
        ctx.st.stats.keyspace_misses += 1;
        notify::notify(ctx, notify::KEY_MISS, "keymiss", key);
    }
    found
}

/// Redis's addReplySubcommandSyntaxError: the subcommand as typed (`%.128s`: up to a NUL, at most 128
/// bytes) and the command upper-cased.
pub fn subcommand_syntax(args: &Args) -> Error {
    let sub = &args[1];
    let end = sub
        .iter()
        .position(|&c| c == 0)
        .unwrap_or(sub.len())
        .min(128);
    Error::from(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        String::from_utf8_lossy(&sub[..end]),
        String::from_utf8_lossy(&args[0]).to_ascii_uppercase()
    ))
}

/// The argument at `i` as an integer, or Redis's "not an integer" error.
pub fn int_arg(args: &Args, i: usize) -> Result<i64, Error> {
    crate::util::parse_i64(&args[i]).ok_or_else(|| ERR_NOT_INT.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_lowercase_and_unique() {
        let reg = registry();
        let mut names: Vec<&str> = reg.top_level().map(|r| r.cmd.name).collect();
        for n in &names {
            assert_eq!(*n, n.to_ascii_lowercase());
        }
        let len = names.len();
        names.dedup();
        assert_eq!(names.len(), len, "duplicate command names");
        assert!(reg.find(b"GeT").is_some());
        assert!(reg.find(b"nope").is_none());
    }
}
