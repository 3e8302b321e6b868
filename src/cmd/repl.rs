//! The replication stream, as far as a replica that attaches with SYNC/PSYNC sees it: an empty RDB
//! snapshot, then every write command that changed something, rewritten the way Redis 7.0 propagates it
//! (relative TTLs as absolute PXAT/PEXPIREAT, GETDEL as DEL, keys reclaimed by expiry as DEL), with SELECT
//! whenever the database changes and MULTI/EXEC around transactions of more than one write. There is no
//! persistence and no replica mode: this exists so tools that watch the stream (Redis's own test suite)
//! see what Redis would send.

use super::{Args, Cmd, CmdResult, Ctx, ADMIN, NOSCRIPT, NO_MULTI};
use crate::protocol::Out;
use crate::server::conn::OwnedArgs;

pub static COMMANDS: &[Cmd] = &[
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
    let id = ctx.id;
    if fullresync {
        let line = format!("+FULLRESYNC {} 0\r\n", ctx.st.run_id);
        ctx.out.raw(line.as_bytes());
    }
    ctx.out.raw(b"$");
    crate::util::push_i64(&mut ctx.out.buf, EMPTY_RDB.len() as i64);
    ctx.out.raw(b"\r\n");
    ctx.out.raw(EMPTY_RDB);
    ctx.conns[id].replica = true;
    for db in ctx.st.dbs.iter_mut() {
        db.track_expired = true;
    }
    if !ctx.st.replicas.contains(&id) {
        ctx.st.replicas.push(id);
    }
    // The next propagated command starts with a SELECT.
    ctx.st.repl_db = None;
}

/// SYNC
fn sync(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    attach(ctx, false);
    Ok(())
}

/// PSYNC replicationid offset
fn psync(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    attach(ctx, true);
    Ok(())
}

/// REPLCONF <option> <value> [<option> <value> ...]
fn replconf(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.out.ok();
    Ok(())
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
    let replicas = ctx.st.replicas.clone();
    for r in replicas {
        ctx.push_to(r, |out| {
            if select {
                let mut tmp = [0u8; 20];
                let n = crate::util::fmt_i64(db as i64, &mut tmp);
                write_command(out, [&b"SELECT"[..], n].into_iter());
            }
            write_command(out, args.iter());
        });
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

/// Sum of every database's change counter, to tell whether a write command changed anything.
pub fn total_muts(ctx: &Ctx) -> u64 {
    ctx.st.dbs.iter().map(|d| d.muts).sum()
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
