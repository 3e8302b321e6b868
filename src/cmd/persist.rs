//! RDB persistence, as Redis 7.0 does it: SAVE, BGSAVE [SCHEDULE], LASTSAVE, DEBUG RELOAD, the save points
//! cron checks against the dirty counter, the final save at SHUTDOWN or SIGTERM, the load at startup, and
//! INFO persistence.
//!
//! A background save forks: the child has a copy-on-write snapshot of the whole process, writes it to
//! `temp-<pid>.rdb`, fsyncs, renames it over `dbfilename` and `_exit`s; the loop never waits for it, and
//! cron reaps it with `waitpid(WNOHANG)` (Redis's `checkChildrenDone`). The child touches nothing but the
//! data and its file: no logging, no sockets, signal handlers back to their defaults, so a signal meant
//! for it cannot reach the parent's signal pipe.

use std::fs::File;
use std::io::{self, BufWriter, Read};
use std::os::fd::{AsRawFd, FromRawFd};
use std::time::Instant;

use log::{info, warn};

use super::{
    err, Args, Cmd, CmdResult, Ctx, ADMIN, FAST, LOADING, NOSCRIPT, NO_ASYNC_LOADING, NO_MULTI,
    STALE,
};
use crate::server::{State, REDIS_VERSION};
use crate::store::rdb::Limits;
use crate::store::rdbfile::{self, LoadOpts, Loaded, SaveOpts};
use crate::store::{hash, zset, Db};
use crate::util::eq_ci;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new(
        "save",
        1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI,
        (0, 0, 0),
        save,
    )
    .doc(
        "server",
        "1.0.0",
        "Synchronously save the dataset to disk",
        "O(N) where N is the total number of keys in all databases",
    ),
    Cmd::new(
        "bgsave",
        -1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
        (0, 0, 0),
        bgsave,
    )
    .doc(
        "server",
        "1.0.0",
        "Asynchronously save the dataset to disk",
        "O(1)",
    ),
    Cmd::new("lastsave", 1, LOADING | STALE | FAST, (0, 0, 0), lastsave).doc(
        "server",
        "1.0.0",
        "Get the UNIX time stamp of the last successful save to disk",
        "O(1)",
    ),
];

const ERR_IN_PROGRESS: &str = "ERR Background save already in progress";
/// Redis's `shared.bgsaveerr`: writes refused while the last background save has failed.
pub const ERR_MISCONF: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";
/// Redis's `shared.err`: a save that failed says only this; the reason is in the log.
const ERR_BARE: &str = "ERR";
/// After a failed background save, cron waits this long (seconds) before trying a save point again.
const BGSAVE_RETRY_DELAY: u64 = 5;

/// A background save in progress.
#[derive(Debug)]
struct Child {
    pid: libc::pid_t,
    /// Unix seconds it started.
    started: u64,
    /// Read end of the pipe the child reports its copy-on-write size on.
    report: Option<File>,
}

/// Persistence state and counters (INFO persistence).
#[derive(Debug)]
pub struct Persist {
    child: Option<Child>,
    /// BGSAVE ran inside MULTI: cron starts it.
    scheduled: bool,
    /// The last background save succeeded (`rdb_last_bgsave_status`).
    last_bgsave_ok: bool,
    /// Unix seconds of the last background save attempt.
    last_try: u64,
    /// `dirty` when the running background save started: what it saved, to subtract when it succeeds.
    dirty_before: u64,
    saves: u64,
    last_bgsave_secs: i64,
    last_cow: u64,
    loaded: Loaded,
    total_forks: u64,
    latest_fork_usec: u64,
}

impl Default for Persist {
    fn default() -> Persist {
        Persist {
            child: None,
            scheduled: false,
            last_bgsave_ok: true,
            last_try: 0,
            dirty_before: 0,
            saves: 0,
            last_bgsave_secs: -1,
            last_cow: 0,
            loaded: Loaded::default(),
            total_forks: 0,
            latest_fork_usec: 0,
        }
    }
}

impl Persist {
    pub fn total_forks(&self) -> u64 {
        self.total_forks
    }

    pub fn latest_fork_usec(&self) -> u64 {
        self.latest_fork_usec
    }
}

/// Writes are refused (Redis's `writeCommandsDeniedByDiskError`): save points are set, the last
/// background save failed, and `stop-writes-on-bgsave-error` is on.
#[inline]
pub fn writes_denied(st: &State) -> bool {
    !st.persist.last_bgsave_ok && st.cfg.stop_writes_on_bgsave_error && !st.cfg.save.is_empty()
}

fn save_opts(st: &State) -> SaveOpts<'static> {
    let functions = st.functions.codes();
    SaveOpts {
        now: crate::server::unix_ms(),
        version: REDIS_VERSION,
        used_mem: super::server::used_memory(),
        list_fill: st.cfg.list_max_listpack_size,
        checksum: st.cfg.rdbchecksum,
        save_lru: st.cfg.maxmemory_policy.ends_with("-lru"),
        key_delay_us: st.cfg.rdb_key_save_delay,
        functions,
    }
}

/// The encoding thresholds a loaded value is built with (RDB files and RESTORE payloads alike).
pub(crate) fn rdb_limits(cfg: &crate::config::Config) -> Limits {
    Limits {
        hash: hash::Limits {
            entries: cfg.hash_max_listpack_entries,
            value: cfg.hash_max_listpack_value,
        },
        zset: zset::Limits {
            entries: cfg.zset_max_listpack_entries,
            value: cfg.zset_max_listpack_value,
        },
        set_max_intset: cfg.set_max_intset_entries,
        list_fill: cfg.list_max_listpack_size,
    }
}

fn load_opts(st: &State, replace: bool) -> LoadOpts {
    LoadOpts {
        lim: rdb_limits(&st.cfg),
        now: crate::server::unix_ms(),
        checksum: st.cfg.rdbchecksum,
        replace,
    }
}

fn temp_name(pid: u32) -> String {
    format!("temp-{pid}.rdb")
}

/// Writes the snapshot to `temp-<pid>.rdb` in the working directory, fsyncs it, renames it over
/// `target` and fsyncs the directory, so the file is either the old one or the whole new one. The error
/// names the step that failed.
fn write_file(dbs: &[Db], opts: &SaveOpts, target: &str) -> Result<u64, (&'static str, io::Error)> {
    let tmp = temp_name(std::process::id());
    let f = File::create(&tmp).map_err(|e| ("open", e))?;
    let written = (|| {
        let mut w = BufWriter::with_capacity(64 * 1024, f);
        let keys = rdbfile::save(&mut w, dbs, opts).map_err(|e| ("rdbSaveRio", e))?;
        let f = w.into_inner().map_err(|e| ("fflush", e.into_error()))?;
        f.sync_all().map_err(|e| ("fsync", e))?;
        Ok(keys)
    })();
    let keys = match written {
        Ok(k) => k,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    if let Err(e) = std::fs::rename(&tmp, target) {
        let _ = std::fs::remove_file(&tmp);
        return Err(("rename", e));
    }
    // The rename itself must reach the disk (Redis's fsyncFileDir).
    File::open(".")
        .and_then(|d| d.sync_all())
        .map_err(|e| ("fsyncFileDir", e))?;
    Ok(keys)
}

fn cwd() -> String {
    std::env::current_dir()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// Redis's `rdbSave`: a synchronous save. On success the dirty counter restarts and LASTSAVE advances.
pub fn save_now(st: &mut State) -> bool {
    let opts = save_opts(st);
    match write_file(&st.dbs, &opts, &st.cfg.dbfilename) {
        Ok(_) => {
            info!("DB saved on disk");
            st.dirty = 0;
            st.lastsave = crate::server::unix_ms() / 1000;
            st.persist.last_bgsave_ok = true;
            true
        }
        Err(("open", e)) => {
            warn!(
                "Failed opening the temp RDB file {} (in server root dir {}) for saving: {e}",
                temp_name(std::process::id()),
                cwd()
            );
            false
        }
        Err(("rename", e)) => {
            warn!(
                "Error moving temp DB file {} on the final destination {} (in server root dir {}): {e}",
                temp_name(std::process::id()),
                st.cfg.dbfilename,
                cwd()
            );
            false
        }
        Err((op, e)) => {
            warn!("Write error saving DB on disk({op}): {e}");
            false
        }
    }
}

/// Bytes of this process's pages written since the fork (Redis's `rdb_last_cow_size`).
fn private_dirty() -> u64 {
    let mut s = String::new();
    if File::open("/proc/self/smaps_rollup")
        .and_then(|mut f| f.read_to_string(&mut s))
        .is_err()
    {
        return 0;
    }
    s.lines()
        .filter_map(|l| l.strip_prefix("Private_Dirty:"))
        .filter_map(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .sum::<u64>()
        * 1024
}

/// Redis's `rdbSaveBackground`: forks a child that writes the snapshot. False if a save is already
/// running or the fork failed.
pub fn bgsave_start(st: &mut State) -> bool {
    if st.persist.child.is_some() {
        return false;
    }
    st.persist.saves += 1;
    st.persist.dirty_before = st.dirty;
    st.persist.last_try = st.now / 1000;
    let opts = save_opts(st);
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe2 fills the two descriptors on success; on failure the report is simply absent.
    let piped = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } == 0;
    let started = Instant::now();
    // SAFETY: after fork the child runs only `child_main`, which writes the file from its copy of the
    // data and leaves with `_exit`; it never returns into the loop.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        child_main(st, &opts, piped.then_some(fds[1]));
    }
    let fork_usec = started.elapsed().as_micros() as u64;
    // SAFETY: fds are ours; the parent keeps only the read end.
    let report = piped.then(|| unsafe {
        libc::close(fds[1]);
        File::from_raw_fd(fds[0])
    });
    if pid < 0 {
        st.persist.last_bgsave_ok = false;
        warn!(
            "Can't save in background: fork: {}",
            io::Error::last_os_error()
        );
        return false;
    }
    st.persist.total_forks += 1;
    st.persist.latest_fork_usec = fork_usec;
    info!("Background saving started by pid {pid}");
    st.persist.child = Some(Child {
        pid,
        started: st.now / 1000,
        report,
    });
    true
}

/// The forked child: write, report the copy-on-write size, exit. Never returns.
fn child_main(st: &State, opts: &SaveOpts, report: Option<libc::c_int>) -> ! {
    // SAFETY: resetting signal dispositions and closing inherited descriptors only affects this process.
    unsafe {
        libc::signal(libc::SIGTERM, libc::SIG_DFL);
        libc::signal(libc::SIGINT, libc::SIG_DFL);
        if let Some(l) = &st.listeners {
            for s in &l.socks {
                libc::close(s.as_raw_fd());
            }
        }
    }
    let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        write_file(&st.dbs, opts, &st.cfg.dbfilename).is_ok()
    }))
    .unwrap_or(false);
    if let (true, Some(fd)) = (ok, report) {
        let cow = private_dirty().to_le_bytes();
        // SAFETY: eight bytes into an empty pipe never block; the result does not matter.
        unsafe {
            libc::write(fd, cow.as_ptr().cast(), cow.len());
        }
    }
    // SAFETY: `_exit` skips atexit handlers and destructors, which belong to the parent.
    unsafe { libc::_exit(if ok { 0 } else { 1 }) }
}

/// Redis's `killRDBChild` as prepareForShutdown and FLUSHALL use it: the child is told to stop (SIGUSR1,
/// which does not count as a failure), reaped, and its temp file removed.
pub fn kill_child(st: &mut State) {
    let Some(c) = st.persist.child.take() else {
        return;
    };
    let mut status = 0;
    // SAFETY: signalling and reaping our own child.
    unsafe {
        libc::kill(c.pid, libc::SIGUSR1);
        libc::waitpid(c.pid, &mut status, 0);
    }
    let _ = std::fs::remove_file(temp_name(c.pid as u32));
}

/// Called from cron: reaps a finished background save, else starts one when a save point is reached or
/// one was scheduled (Redis's serverCron).
pub fn cron(st: &mut State) {
    let now = st.now / 1000;
    if let Some(c) = &st.persist.child {
        let mut status = 0;
        // SAFETY: non-blocking wait on our own child.
        let r = unsafe { libc::waitpid(c.pid, &mut status, libc::WNOHANG) };
        if r == c.pid || r < 0 {
            child_done(st, status, r < 0);
        }
        return;
    }
    let p = &st.persist;
    let may_retry = now.saturating_sub(p.last_try) > BGSAVE_RETRY_DELAY || p.last_bgsave_ok;
    if !may_retry {
        return;
    }
    if let Some((secs, changes)) =
        save_point_reached(&st.cfg.save, st.dirty, now.saturating_sub(st.lastsave))
    {
        info!("{changes} changes in {secs} seconds. Saving...");
        bgsave_start(st);
    } else if st.persist.scheduled && bgsave_start(st) {
        st.persist.scheduled = false;
    }
}

/// The first save point `"<secs> <changes> ..."` met by `dirty` changes over `elapsed` seconds.
fn save_point_reached(points: &str, dirty: u64, elapsed: u64) -> Option<(u64, u64)> {
    let mut words = points.split(' ');
    while let (Some(s), Some(c)) = (words.next(), words.next()) {
        let (Ok(secs), Ok(changes)) = (s.parse::<u64>(), c.parse::<u64>()) else {
            continue;
        };
        if dirty >= changes && elapsed > secs {
            return Some((secs, changes));
        }
    }
    None
}

/// Redis's `backgroundSaveDoneHandlerDisk`.
fn child_done(st: &mut State, status: libc::c_int, lost: bool) {
    let Some(mut c) = st.persist.child.take() else {
        return;
    };
    let now = crate::server::unix_ms() / 1000;
    st.persist.last_bgsave_secs = now.saturating_sub(c.started) as i64;
    let exited = !lost && libc::WIFEXITED(status);
    if exited && libc::WEXITSTATUS(status) == 0 {
        info!("Background saving terminated with success");
        st.dirty = st.dirty.saturating_sub(st.persist.dirty_before);
        st.lastsave = now;
        st.persist.last_bgsave_ok = true;
        let mut cow = [0u8; 8];
        if let Some(f) = c.report.as_mut() {
            if f.read_exact(&mut cow).is_ok() {
                st.persist.last_cow = u64::from_le_bytes(cow);
                info!(
                    "Fork CoW for RDB: current {} MB",
                    st.persist.last_cow / (1024 * 1024)
                );
            }
        }
    } else if exited || lost {
        warn!("Background saving error");
        st.persist.last_bgsave_ok = false;
    } else {
        let sig = libc::WTERMSIG(status);
        warn!("Background saving terminated by signal {sig}");
        let _ = std::fs::remove_file(temp_name(c.pid as u32));
        if sig != libc::SIGUSR1 {
            st.persist.last_bgsave_ok = false;
        }
    }
}

/// How SHUTDOWN asked about saving.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownSave {
    /// Save when save points are configured (SHUTDOWN alone, SIGTERM, SIGINT).
    Default,
    Save,
    NoSave,
}

/// Redis's `prepareForShutdown`, its persistence part: a running background save is killed, then the
/// final snapshot is written when asked or when save points are configured. False when that save failed
/// and `force` is off: the server must not exit.
pub fn prepare_shutdown(st: &mut State, how: ShutdownSave, force: bool) -> bool {
    if st.persist.child.is_some() {
        warn!("There is a child saving an .rdb. Killing it!");
        kill_child(st);
    }
    let save = match how {
        ShutdownSave::Save => true,
        ShutdownSave::NoSave => false,
        ShutdownSave::Default => !st.cfg.save.is_empty(),
    };
    if save {
        info!("Saving the final RDB snapshot before exiting.");
        if !save_now(st) {
            if force {
                warn!("Error trying to save the DB. Exit anyway.");
            } else {
                warn!("Error trying to save the DB, can't exit.");
                return false;
            }
        }
    }
    true
}

/// FLUSHALL's persistence part (Redis's `flushAllDataAndResetRDB`): a running background save is
/// dropped, and with save points configured the now empty dataset is saved at once, so a restart does not
/// bring the data back.
pub fn after_flushall(st: &mut State) {
    if st.persist.child.is_some() {
        kill_child(st);
    }
    if !st.cfg.save.is_empty() {
        save_now(st);
    }
}

/// Reads the RDB file `path` and loads it into `dbs`.
fn load_file(st: &mut State, path: &str, replace: bool) -> Result<Loaded, String> {
    let buf = std::fs::read(path).map_err(|e| e.to_string())?;
    let opts = load_opts(st, replace);
    // Loaded keys are not "new" keys: Redis sends no keyspace event for them.
    crate::store::db::set_notify_logging(0);
    let mut functions = Vec::new();
    let loaded = rdbfile::load(&buf, &mut st.dbs, &mut functions, &opts);
    super::notify::apply_flags(st.cfg.notify_keyspace_events);
    let loaded = loaded?;
    st.functions.load_from_rdb(functions, replace)?;
    st.persist.loaded = loaded;
    Ok(loaded)
}

/// Loads `dir/dbfilename` before the server accepts clients, as Redis's `loadDataFromDisk`. A missing
/// file is an empty dataset; a file that cannot be read or loaded is an error (the server must not start
/// and later overwrite it).
pub fn load_at_startup(st: &mut State) -> Result<(), String> {
    let path = st.cfg.dbfilename.clone();
    match std::fs::metadata(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(format!("Fatal error loading the DB: {e}. Exiting.")),
        Ok(_) => {}
    }
    let started = Instant::now();
    match load_file(st, &path, false) {
        Ok(l) => {
            info!(
                "Done loading RDB, keys loaded: {}, keys expired: {}.",
                l.keys, l.expired
            );
            info!(
                "DB loaded from disk: {:.3} seconds",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Err(e) => Err(format!(
            "Fatal error loading the DB ({}/{path}): {e}. Exiting.",
            cwd()
        )),
    }
}

// ---------------------------------------------------------------------------------------------------------
// Commands

/// SAVE
pub fn save(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    if ctx.st.persist.child.is_some() {
        return err(ERR_IN_PROGRESS);
    }
    ctx.st.persist.saves += 1;
    if !save_now(ctx.st) {
        return err(ERR_BARE);
    }
    ctx.out.ok();
    Ok(())
}

/// BGSAVE [SCHEDULE]
pub fn bgsave(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 1 && !(args.len() == 2 && eq_ci(&args[1], b"schedule")) {
        return err(super::ERR_SYNTAX);
    }
    if ctx.st.persist.child.is_some() {
        return err(ERR_IN_PROGRESS);
    }
    if ctx.in_exec {
        // A fork inside a transaction would be a snapshot of half of it; cron starts it afterwards.
        ctx.st.persist.scheduled = true;
        ctx.out.simple("Background saving scheduled");
        return Ok(());
    }
    if !bgsave_start(ctx.st) {
        return err(ERR_BARE);
    }
    ctx.out.simple("Background saving started");
    Ok(())
}

/// LASTSAVE
pub fn lastsave(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.out.int(ctx.st.lastsave as i64);
    Ok(())
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: saves, empties every database and loads the file back.
pub fn debug_reload(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (mut merge, mut flush, mut save) = (false, true, true);
    for a in args.from(2) {
        if eq_ci(a, b"merge") {
            merge = true;
        } else if eq_ci(a, b"noflush") {
            flush = false;
        } else if eq_ci(a, b"nosave") {
            save = false;
        } else {
            return err("ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.");
        }
    }
    if save && !save_now(ctx.st) {
        return err(ERR_BARE);
    }
    if flush {
        for i in 0..ctx.st.dbs.len() {
            ctx.touch_all_watched(i, None);
            ctx.st.dbs[i].clear();
        }
        // Redis's emptyData takes the function libraries too.
        ctx.st.functions.clear();
    }
    let path = ctx.st.cfg.dbfilename.clone();
    if let Err(e) = load_file(ctx.st, &path, merge) {
        warn!("Error loading the RDB dump for DEBUG RELOAD: {e}");
        return err("ERR Error trying to load the RDB dump, check server logs.");
    }
    warn!("DB reloaded by DEBUG RELOAD");
    ctx.out.ok();
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// INFO

fn line(s: &mut String, k: &str, v: impl std::fmt::Display) {
    use std::fmt::Write as _;
    let _ = write!(s, "{k}:{v}\r\n");
}

/// INFO persistence, field for field as Redis 7.0 prints it (there is no AOF and no module fork).
pub fn info(st: &State, s: &mut String) {
    let p = &st.persist;
    let now = st.now / 1000;
    s.push_str("loading:0\r\nasync_loading:0\r\n");
    s.push_str("current_cow_peak:0\r\ncurrent_cow_size:0\r\ncurrent_cow_size_age:0\r\n");
    s.push_str("current_fork_perc:0.00\r\ncurrent_save_keys_processed:0\r\n");
    s.push_str("current_save_keys_total:0\r\n");
    line(s, "rdb_changes_since_last_save", st.dirty);
    line(s, "rdb_bgsave_in_progress", p.child.is_some() as u8);
    line(s, "rdb_last_save_time", st.lastsave);
    line(
        s,
        "rdb_last_bgsave_status",
        if p.last_bgsave_ok { "ok" } else { "err" },
    );
    line(s, "rdb_last_bgsave_time_sec", p.last_bgsave_secs);
    line(
        s,
        "rdb_current_bgsave_time_sec",
        p.child
            .as_ref()
            .map_or(-1, |c| now.saturating_sub(c.started) as i64),
    );
    line(s, "rdb_saves", p.saves);
    line(s, "rdb_last_cow_size", p.last_cow);
    line(s, "rdb_last_load_keys_expired", p.loaded.expired);
    line(s, "rdb_last_load_keys_loaded", p.loaded.keys);
    s.push_str("aof_enabled:0\r\naof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\n");
    s.push_str("aof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\n");
    s.push_str("aof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\n");
    s.push_str("aof_rewrites_consecutive_failures:0\r\naof_last_write_status:ok\r\n");
    s.push_str(
        "aof_last_cow_size:0\r\nmodule_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n",
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_points() {
        let p = "3600 1 300 100 60 10000";
        assert_eq!(save_point_reached(p, 0, 10_000), None);
        assert_eq!(save_point_reached(p, 1, 3600), None);
        assert_eq!(save_point_reached(p, 1, 3601), Some((3600, 1)));
        assert_eq!(save_point_reached(p, 100, 301), Some((300, 100)));
        assert_eq!(save_point_reached(p, 10_000, 61), Some((60, 10000)));
        assert_eq!(save_point_reached("", 10_000, 10_000), None);
    }
}
