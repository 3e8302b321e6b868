//! The replication stream, as far as a replica that attaches with SYNC/PSYNC sees it: an empty RDB
//! snapshot, then every write command that changed something, rewritten the way Redis 7.0 propagates it
//! (relative TTLs as absolute PXAT/PEXPIREAT, GETDEL as DEL, keys reclaimed by expiry as DEL), with SELECT
//! whenever the database changes and MULTI/EXEC around transactions of more than one write. The stream
//! has Redis's offsets and a backlog of `repl-backlog-size` bytes, so a replica that reconnects with
//! PSYNC within it continues where it stopped; replicas report their offset with REPLCONF ACK, which
//! `min-replicas-to-write` counts on. There is no persistence and no replica mode: this exists so tools
//! that watch the stream (Redis's own test suite) see what Redis would send.

use std::collections::VecDeque;

use super::{Args, Cmd, CmdResult, Ctx, ADMIN, NOSCRIPT, NO_MULTI};
use crate::protocol::Out;
use crate::server::conn::OwnedArgs;
use crate::server::State;

/// Redis's CONFIG_REPL_BACKLOG_MIN_SIZE: a smaller repl-backlog-size is raised to this.
pub const BACKLOG_MIN: u64 = 16 * 1024;

/// The replication state of this (always master) server.
#[derive(Debug)]
pub struct Repl {
    /// The replication id (40 hex digits), new whenever the backlog starts afresh.
    pub replid: String,
    /// Bytes of stream produced so far (Redis's master_repl_offset).
    pub offset: u64,
    /// The last bytes of the stream, created when the first replica attaches.
    pub backlog: Option<VecDeque<u8>>,
    /// A WAIT blocked this turn: ask the replicas for an acknowledgement before the loop sleeps (Redis's
    /// get_ack_from_slaves), outside any client's command so that no client's WAIT offset includes it.
    pub get_ack: bool,
}

impl Repl {
    pub fn new(rng: &mut crate::util::Rng) -> Repl {
        Repl {
            replid: new_replid(rng),
            offset: 0,
            backlog: None,
            get_ack: false,
        }
    }

    /// Stream offset of the first byte the backlog holds (Redis's repl_backlog->offset).
    pub fn backlog_first(&self) -> u64 {
        match &self.backlog {
            Some(b) => self.offset - b.len() as u64 + 1,
            None => 0,
        }
    }

    /// Appends stream bytes to the backlog, keeping its last `size` bytes.
    fn append(&mut self, bytes: &[u8], size: u64) {
        self.offset += bytes.len() as u64;
        if let Some(b) = &mut self.backlog {
            b.extend(bytes);
            let excess = b.len().saturating_sub(size as usize);
            b.drain(..excess);
        }
    }

    /// Applies a new repl-backlog-size to the backlog held.
    pub fn resize(&mut self, size: u64) {
        if let Some(b) = &mut self.backlog {
            let excess = b.len().saturating_sub(size as usize);
            b.drain(..excess);
            b.shrink_to(size as usize);
        }
    }
}

fn new_replid(rng: &mut crate::util::Rng) -> String {
    (0..40)
        .map(|_| char::from_digit(rng.below(16) as u32, 16).unwrap_or('0'))
        .collect()
}

/// What a replica told us about itself (REPLCONF).
#[derive(Debug, Default)]
pub struct Link {
    /// REPLCONF listening-port.
    pub port: u16,
    /// The offset of the last REPLCONF ACK, and when (unix ms) it came (or when the replica attached).
    pub ack_offset: u64,
    pub ack_ms: u64,
    /// REPLCONF capa psync2: it understands `+CONTINUE <replid>`.
    pub psync2: bool,
}

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("wait", 3, NOSCRIPT, (0, 0, 0), wait).doc(
        "generic",
        "3.0.0",
        "Wait for the synchronous replication of all the write commands sent in the context of the current connection",
        "O(1)",
    ),
    Cmd::new(
        "role",
        1,
        NOSCRIPT | super::LOADING | super::STALE | super::FAST,
        (0, 0, 0),
        role,
    )
    .doc(
        "server",
        "2.8.12",
        "Return the role of the instance in the context of replication",
        "O(1)",
    ),
    Cmd::new(
        "sync",
        1,
        ADMIN | NOSCRIPT | NO_MULTI | super::NO_ASYNC_LOADING,
        (0, 0, 0),
        sync,
    )
    .doc(
        "server",
        "1.0.0",
        "Internal command used for replication",
        "",
    ),
    Cmd::new(
        "psync",
        -3,
        ADMIN | NOSCRIPT | NO_MULTI | super::NO_ASYNC_LOADING,
        (0, 0, 0),
        psync,
    )
    .doc(
        "server",
        "2.8.0",
        "Internal command used for replication",
        "",
    ),
    Cmd::new(
        "replicaof",
        3,
        ADMIN | NOSCRIPT | super::STALE | super::NO_ASYNC_LOADING,
        (0, 0, 0),
        replicaof,
    )
    .doc(
        "server",
        "5.0.0",
        "Make the server a replica of another instance, or promote it as master.",
        "O(1)",
    ),
    Cmd::new(
        "slaveof",
        3,
        ADMIN | NOSCRIPT | super::STALE | super::NO_ASYNC_LOADING,
        (0, 0, 0),
        replicaof,
    )
    .doc(
        "server",
        "1.0.0",
        "Make the server a replica of another instance, or promote it as master.",
        "O(1)",
    ),
    Cmd::new(
        "replconf",
        -1,
        ADMIN | NOSCRIPT | super::LOADING | super::STALE | super::ALLOW_BUSY,
        (0, 0, 0),
        replconf,
    )
    .doc(
        "server",
        "3.0.0",
        "An internal command for configuring the replication stream",
        "O(1)",
    ),
];

/// An RDB holding no keys: magic, version 10, EOF opcode, and a zero checksum (which loaders skip).
const EMPTY_RDB: &[u8] = b"REDIS0010\xff\0\0\0\0\0\0\0\0";

/// How the command being run is propagated, if it changed anything.
#[derive(Debug, Default)]
pub enum Propagate {
    /// As the client sent it.
    #[default]
    AsIs,
    /// Not at all (it changed nothing a replica needs).
    Nothing,
    /// As these arguments instead.
    As(OwnedArgs),
}

impl Propagate {
    /// Arguments built from byte slices.
    pub fn args<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> Propagate {
        let mut o = OwnedArgs::default();
        for p in parts {
            let start = o.buf.len();
            o.buf.extend_from_slice(p);
            o.ranges.push((start, o.buf.len()));
        }
        Propagate::As(o)
    }
}

fn attach(ctx: &mut Ctx, fullresync: bool) {
    let st = &mut *ctx.st;
    if st.repl.backlog.is_none() {
        // As Redis: the first replica starts the backlog, under a new replication id.
        st.repl.replid = new_replid(&mut st.rng);
        st.repl.backlog = Some(VecDeque::new());
    }
    if fullresync {
        let line = format!("+FULLRESYNC {} {}\r\n", st.repl.replid, st.repl.offset);
        ctx.out.raw(line.as_bytes());
    }
    ctx.out.raw(b"$");
    crate::util::push_i64(&mut ctx.out.buf, EMPTY_RDB.len() as i64);
    ctx.out.raw(b"\r\n");
    ctx.out.raw(EMPTY_RDB);
    online(ctx);
    // The next propagated command starts with a SELECT.
    ctx.st.repl_db = None;
}

/// Makes the client a replica receiving the stream from now on.
fn online(ctx: &mut Ctx) {
    let id = ctx.id;
    let now = ctx.st.now;
    let c = &mut ctx.conns[id];
    c.replica = true;
    let link = c.repl_link.get_or_insert_with(Default::default);
    link.ack_ms = now;
    for db in ctx.st.dbs.iter_mut() {
        db.track_expired = true;
    }
    if !ctx.st.replicas.contains(&id) {
        ctx.st.replicas.push(id);
    }
}

/// SYNC
fn sync(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    attach(ctx, false);
    Ok(())
}

/// PSYNC replicationid offset
fn psync(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if try_continue(ctx, &args[1], &args[2]) {
        return Ok(());
    }
    attach(ctx, true);
    Ok(())
}

/// Redis's masterTryPartialResynchronization: when the replica's id is ours and the offset it asks for
/// is still in the backlog, it gets `+CONTINUE` and the stream from there.
fn try_continue(ctx: &mut Ctx, replid: &[u8], offset: &[u8]) -> bool {
    let r = &ctx.st.repl;
    let Some(b) = &r.backlog else {
        return false;
    };
    let Some(off) = crate::util::parse_i64(offset).and_then(|o| u64::try_from(o).ok()) else {
        return false;
    };
    let first = r.backlog_first();
    if replid != r.replid.as_bytes() || off < first || off > first + b.len() as u64 {
        return false;
    }
    let skip = (off - first) as usize;
    let psync2 = ctx.conns[ctx.id]
        .repl_link
        .as_ref()
        .is_some_and(|l| l.psync2);
    if psync2 {
        let line = format!("+CONTINUE {}\r\n", r.replid);
        ctx.out.raw(line.as_bytes());
    } else {
        ctx.out.raw(b"+CONTINUE\r\n");
    }
    let (x, y) = b.as_slices();
    if skip < x.len() {
        ctx.out.raw(&x[skip..]);
        ctx.out.raw(y);
    } else {
        ctx.out.raw(&y[skip - x.len()..]);
    }
    online(ctx);
    true
}

/// REPLICAOF host port | NO ONE (and its old name SLAVEOF)
///
/// This server is always a master: `NO ONE` is what it already is; it cannot follow a master, so a
/// valid host and port get an error saying so.
fn replicaof(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args[1].eq_ignore_ascii_case(b"no") && args[2].eq_ignore_ascii_case(b"one") {
        ctx.out.ok();
        return Ok(());
    }
    if ctx.conns[ctx.id].replica {
        return super::err("ERR Command is not valid when client is a replica.");
    }
    match crate::util::parse_i64(&args[2]) {
        Some(p) if (0..=65535).contains(&p) => {
            super::err("ERR ferrokv has no replica mode: it cannot replicate from a master")
        }
        _ => super::err("ERR Invalid master port"),
    }
}

/// REPLCONF <option> <value> [<option> <value> ...]
fn replconf(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len().is_multiple_of(2) {
        return super::err(super::ERR_SYNTAX);
    }
    let now = ctx.st.now;
    let mut i = 1;
    while i + 1 < args.len() {
        let (opt, val) = (&args[i], &args[i + 1]);
        let link = ctx.conns[ctx.id]
            .repl_link
            .get_or_insert_with(Default::default);
        if opt.eq_ignore_ascii_case(b"listening-port") {
            link.port = super::int_arg(args, i + 1)? as u16;
        } else if opt.eq_ignore_ascii_case(b"capa") {
            link.psync2 |= val.eq_ignore_ascii_case(b"psync2");
        } else if opt.eq_ignore_ascii_case(b"ack") {
            // An ACK gets no reply, and is only taken from an attached replica.
            if let Some(off) = crate::util::parse_i64(val) {
                if off as u64 > link.ack_offset {
                    link.ack_offset = off as u64;
                }
                link.ack_ms = now;
            }
            release_waits(ctx);
            return Ok(());
        } else if opt.eq_ignore_ascii_case(b"getack") {
            return Ok(());
        } else if !(opt.eq_ignore_ascii_case(b"ip-address")
            || opt.eq_ignore_ascii_case(b"rdb-only")
            || opt.eq_ignore_ascii_case(b"rdb-filter-only"))
        {
            return super::err(format!(
                "ERR Unrecognized REPLCONF option: {}",
                String::from_utf8_lossy(opt)
            ));
        }
        i += 2;
    }
    ctx.out.ok();
    Ok(())
}

/// Replicas that acknowledged within `min-replicas-max-lag` seconds (Redis's good replicas).
pub fn good_replicas(st: &State, conns: &slab::Slab<crate::server::conn::Conn>) -> usize {
    let lag_ms = st.cfg.min_replicas_max_lag * 1000;
    st.replicas
        .iter()
        .filter_map(|&r| conns.get(r))
        .filter_map(|c| c.repl_link.as_ref())
        .filter(|l| st.now.saturating_sub(l.ack_ms) <= lag_ms)
        .count()
}

/// Redis's checkGoodReplicasStatus: writes are refused while fewer than `min-replicas-to-write` replicas
/// are good (when both settings are on).
pub fn enough_replicas(st: &State, conns: &slab::Slab<crate::server::conn::Conn>) -> bool {
    st.cfg.min_replicas_to_write == 0
        || st.cfg.min_replicas_max_lag == 0
        || good_replicas(st, conns) >= st.cfg.min_replicas_to_write as usize
}

/// Commands Redis propagates even when they change no key (its forceCommandPropagation): PUBLISH so
/// replicas' subscribers get the message, FLUSHALL/FLUSHDB so an empty database is emptied there too.
pub fn always_propagated(name: &str) -> bool {
    matches!(name, "publish" | "spublish" | "flushall" | "flushdb")
}

/// Sends one command in database `db` to every replica (or to the transaction being collected).
pub fn feed(ctx: &mut Ctx, db: usize, args: &Args) {
    if let Some(pending) = ctx.st.repl_pending.as_mut() {
        pending.push((db, OwnedArgs::from_args(args)));
        return;
    }
    write_to_replicas(ctx, db, args);
}

fn write_to_replicas(ctx: &mut Ctx, db: usize, args: &Args) {
    let select = ctx.st.repl_db != Some(db);
    ctx.st.repl_db = Some(db);
    let mut out = Out::default();
    if select {
        let mut tmp = [0u8; 20];
        let n = crate::util::fmt_i64(db as i64, &mut tmp);
        write_command(&mut out, [&b"SELECT"[..], n].into_iter());
    }
    write_command(&mut out, args.iter());
    let size = ctx.st.cfg.repl_backlog_size;
    ctx.st.repl.append(&out.buf, size);
    let replicas = ctx.st.replicas.clone();
    for r in replicas {
        ctx.push_to(r, |o| o.raw(&out.buf));
    }
}

fn write_command<'a>(out: &mut Out, args: impl ExactSizeIterator<Item = &'a [u8]>) {
    out.array(args.len());
    for a in args {
        out.bulk(a);
    }
}

/// Starts collecting the writes of a transaction.
pub fn begin_exec(ctx: &mut Ctx) {
    if !ctx.st.replicas.is_empty() {
        ctx.st.repl_pending = Some(Vec::new());
    }
}

/// Sends what the transaction wrote: alone if it is a single command, else inside MULTI/EXEC.
pub fn end_exec(ctx: &mut Ctx) {
    let Some(pending) = ctx.st.repl_pending.take() else {
        return;
    };
    if pending.is_empty() {
        return;
    }
    let wrap = pending.len() > 1;
    let first_db = pending[0].0;
    if wrap {
        let multi = OwnedArgs::from_args(&Args::new(b"MULTI", &[(0, 5)]));
        write_to_replicas(ctx, first_db, &multi.args());
    }
    for (db, cmd) in &pending {
        write_to_replicas(ctx, *db, &cmd.args());
    }
    if wrap {
        // EXEC goes in whatever database the stream is in by now: no SELECT before it.
        let last_db = pending[pending.len() - 1].0;
        let exec = OwnedArgs::from_args(&Args::new(b"EXEC", &[(0, 4)]));
        write_to_replicas(ctx, last_db, &exec.args());
    }
}

/// The databases' change counter, to tell whether a write command changed anything.
#[inline]
pub fn total_muts(_ctx: &Ctx) -> u64 {
    crate::store::db::muts()
}

/// Propagates keys reclaimed by expiry since the last call as DEL.
pub fn feed_expired(ctx: &mut Ctx, db: usize, keys: &[Box<[u8]>]) {
    for k in keys {
        let del = OwnedArgs::from_args(&Args::new(b"DEL", &[(0, 3)]));
        let mut o = del;
        let start = o.buf.len();
        o.buf.extend_from_slice(k);
        o.ranges.push((start, o.buf.len()));
        feed(ctx, db, &o.args());
    }
}

/// ROLE: always a master here (there is no replica mode): its replication offset and, for each online
/// replica, the address, listening port and acknowledged offset, as Redis's roleCommand lists them.
fn role(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let st = &*ctx.st;
    let links: Vec<(String, u64, u64)> = st
        .replicas
        .iter()
        .filter_map(|&r| ctx.conns.get(r))
        .filter_map(|c| {
            let l = c.repl_link.as_ref()?;
            Some((c.addr.ip().to_string(), l.port as u64, l.ack_offset))
        })
        .collect();
    let offset = st.repl.offset as i64;
    let out = &mut *ctx.out;
    out.array(3);
    out.bulk(b"master");
    out.int(offset);
    out.array(links.len());
    for (ip, port, ack) in links {
        out.array(3);
        out.bulk(ip.as_bytes());
        out.bulk(port.to_string().as_bytes());
        out.bulk(ack.to_string().as_bytes());
    }
    Ok(())
}

/// How many online replicas acknowledged `offset` (Redis's replicationCountAcksByOffset).
pub fn acks_for(st: &State, conns: &slab::Slab<crate::server::conn::Conn>, offset: u64) -> i64 {
    st.replicas
        .iter()
        .filter_map(|&r| conns.get(r)?.repl_link.as_ref())
        .filter(|l| l.ack_offset >= offset)
        .count() as i64
}

/// WAIT numreplicas timeout: answers at once when enough replicas acknowledged this client's last
/// propagated write (or the client cannot block: MULTI), else blocks until they do or the timeout ends,
/// asking the replicas for an acknowledgement meanwhile (REPLCONF GETACK), as Redis does.
fn wait(ctx: &mut Ctx, args: &Args) -> CmdResult {
    // Redis reads the timeout first.
    let timeout = crate::util::parse_i64(&args[2]).ok_or(super::Error::from(
        "ERR timeout is not an integer or out of range",
    ))?;
    if timeout < 0 {
        return super::err("ERR timeout is negative");
    }
    let deadline = if timeout > 0 {
        let now = crate::server::unix_ms() as i64;
        if timeout > i64::MAX - now {
            return super::err("ERR timeout is out of range");
        }
        (now + timeout) as u64
    } else {
        0
    };
    let num = super::int_arg(args, 1)?;
    let offset = ctx.conns[ctx.id].woff;
    let acked = acks_for(ctx.st, ctx.conns, offset);
    if acked >= num || ctx.in_exec {
        ctx.out.int(acked);
        return Ok(());
    }
    ctx.block(args, Vec::new(), deadline, false);
    if let Some(b) = ctx.conns[ctx.id].blocked.as_mut() {
        b.wait = Some((offset, num));
        ctx.st.waiters.acks.push(ctx.id);
    }
    // Ask for acknowledgements before sleeping rather than wait for the replicas' one-second ACK.
    ctx.st.repl.get_ack = true;
    Ok(())
}

/// Sends the replicas `REPLCONF GETACK *` (see `Repl::get_ack`).
pub fn request_acks(ctx: &mut Ctx) {
    ctx.st.repl.get_ack = false;
    if ctx.st.replicas.is_empty() {
        return;
    }
    // In the database the stream is in, so no SELECT goes with it.
    let db = ctx.st.repl_db.unwrap_or(0);
    let (buf, ranges) = (b"REPLCONFGETACK*", [(0, 8), (8, 14), (14, 15)]);
    write_to_replicas(ctx, db, &Args::new(buf, &ranges));
}

/// Ends the waits of WAIT clients whose offset enough replicas now acknowledged (after the turn, with
/// their count, by the same path as a timeout).
fn release_waits(ctx: &mut Ctx) {
    if ctx.st.waiters.acks.is_empty() {
        return;
    }
    let mut still = Vec::new();
    for cid in std::mem::take(&mut ctx.st.waiters.acks) {
        let Some((offset, num)) = ctx
            .conns
            .get(cid)
            .and_then(|c| c.blocked.as_ref())
            .and_then(|b| b.wait)
        else {
            continue;
        };
        if acks_for(ctx.st, ctx.conns, offset) >= num {
            ctx.st.waiters.unblock_requests.push((cid, false));
        } else {
            still.push(cid);
        }
    }
    ctx.st.waiters.acks = still;
}
