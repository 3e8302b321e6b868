//! RDB persistence end to end, with the real binary: SAVE then a restart loads every type, deadline and
//! database; BGSAVE completes and LASTSAVE advances; DEBUG RELOAD keeps the data; SHUTDOWN SAVE / NOSAVE
//! and SIGTERM; a save point starts a background save; a corrupt file keeps the server from starting; and,
//! when `redis-server` is installed, files move both ways between ferrokv and Redis 7.0 unchanged.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{RawConn, TempDir, TestServer};

/// Starts ferrokv in `dir` with `extra` flags (no save points unless `extra` has some).
fn start(dir: &TempDir, extra: &[&str]) -> TestServer {
    let mut args = vec!["--dir", dir.path()];
    args.extend_from_slice(extra);
    TestServer::start(&args)
}

/// Every command that builds the dataset: all types and encodings, deadlines, several databases.
fn fill(c: &mut RawConn) {
    let long = "x".repeat(5000);
    let list: Vec<String> = (0..3000).map(|i| format!("item-{i}")).collect();
    let mut cmds: Vec<Vec<String>> = Vec::new();
    let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    for db in ["0", "3", "15"] {
        cmds.push(v(&["SELECT", db]));
        cmds.push(v(&["SET", "int", "12345"]));
        cmds.push(v(&["SET", "str", "hello world"]));
        cmds.push(v(&["SET", "empty", ""]));
        cmds.push(v(&["SET", "long", &long]));
        cmds.push(v(&["RPUSH", "list", "a", "b", "1", "-5", "1000000"]));
        let mut big = v(&["RPUSH", "biglist"]);
        big.extend(list.iter().cloned());
        cmds.push(big);
        cmds.push(v(&["HSET", "hash", "f", "v", "n", "42"]));
        let mut bh = v(&["HSET", "bighash"]);
        for i in 0..600 {
            bh.push(format!("f{i}"));
            bh.push(format!("{i}"));
        }
        cmds.push(bh);
        cmds.push(v(&["SADD", "intset", "1", "2", "-7", "70000"]));
        cmds.push(v(&["SADD", "set", "a", "b", "c"]));
        cmds.push(v(&["ZADD", "zset", "1", "a", "2.5", "b", "-inf", "c"]));
        let mut bz = v(&["ZADD", "bigzset"]);
        for i in 0..200 {
            bz.push(format!("{}.25", i * 3));
            bz.push(format!("m{i}"));
        }
        cmds.push(bz);
        cmds.push(v(&["SET", "ttl", "v", "EX", "1000"]));
        cmds.push(v(&["RPUSH", "ttllist", "a"]));
        cmds.push(v(&["PEXPIREAT", "ttllist", "4102444800000"]));
    }
    cmds.push(v(&["SELECT", "0"]));
    cmds.push(vec!["SET".into(), "bin\x00key".into(), "\u{1}\u{2}".into()]);
    for cmd in cmds {
        let a: Vec<&str> = cmd.iter().map(|s| s.as_str()).collect();
        let r = c.cmds(&a);
        assert!(!r.starts_with('-'), "{a:?} -> {r}");
    }
}

/// Every key of every database: (db, key) -> (type, contents in a canonical order, has a deadline).
type Snapshot = BTreeMap<(i64, Vec<u8>), (String, Vec<Vec<u8>>, bool)>;

fn snapshot(port: u16) -> Snapshot {
    let mut out = BTreeMap::new();
    for db in 0..16 {
        let mut r = redis::Client::open(format!("redis://127.0.0.1:{port}/{db}"))
            .unwrap()
            .get_connection()
            .unwrap();
        let keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(&mut r).unwrap();
        for k in keys {
            let t: String = redis::cmd("TYPE").arg(&k).query(&mut r).unwrap();
            let mut v: Vec<Vec<u8>> = match t.as_str() {
                "string" => vec![redis::cmd("GET").arg(&k).query(&mut r).unwrap()],
                "list" => redis::cmd("LRANGE")
                    .arg(&k)
                    .arg(0)
                    .arg(-1)
                    .query(&mut r)
                    .unwrap(),
                "hash" => redis::cmd("HGETALL").arg(&k).query(&mut r).unwrap(),
                "set" => redis::cmd("SMEMBERS").arg(&k).query(&mut r).unwrap(),
                "zset" => redis::cmd("ZRANGE")
                    .arg(&k)
                    .arg(0)
                    .arg(-1)
                    .arg("WITHSCORES")
                    .query(&mut r)
                    .unwrap(),
                other => panic!("unexpected type {other}"),
            };
            if t == "hash" {
                let mut pairs: Vec<Vec<u8>> = v.chunks(2).map(|p| p.concat()).collect();
                pairs.sort();
                v = pairs;
            } else if t == "set" {
                v.sort();
            }
            let ttl: i64 = redis::cmd("PTTL").arg(&k).query(&mut r).unwrap();
            out.insert((db, k), (t, v, ttl > 0));
        }
    }
    out
}

fn info_field(c: &mut RawConn, name: &str) -> String {
    let text = c.cmds(&["INFO", "persistence"]);
    let prefix = format!("{name}:");
    text.split("\r\n")
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{name} missing from {text}"))
        .to_string()
}

/// Waits for `f` to hold, up to `secs` seconds.
fn wait_for(secs: u64, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Waits for the server process to exit; true if it exited successfully.
fn wait_exit(s: &mut TestServer) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            return st.success();
        }
        assert!(Instant::now() < deadline, "server still running");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn save_then_restart_loads_everything() {
    let dir = TempDir::new("persist");
    let before = {
        let s = start(&dir, &[]);
        let mut c = s.raw();
        fill(&mut c);
        assert_eq!(c.cmds(&["SAVE"]), "+OK\r\n");
        assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
        assert_eq!(info_field(&mut c, "rdb_saves"), "1");
        snapshot(s.port)
        // Dropped: killed with SIGKILL, so only SAVE wrote the file.
    };
    assert!(dir.0.join("dump.rdb").exists());
    let s = start(&dir, &[]);
    let after = snapshot(s.port);
    assert_eq!(before.len(), after.len());
    assert_eq!(before, after);
    let mut c = s.raw();
    let loaded = info_field(&mut c, "rdb_last_load_keys_loaded");
    assert_eq!(loaded, before.len().to_string());
    let ttl: i64 = c.cmds(&["TTL", "ttl"])[1..].trim().parse().unwrap();
    assert!((990..=1000).contains(&ttl), "{ttl}");
    // The encodings come back as Redis would choose them.
    for (k, enc) in [
        ("int", "int"),
        ("list", "quicklist"),
        ("hash", "listpack"),
        ("bighash", "hashtable"),
        ("intset", "intset"),
        ("zset", "listpack"),
        ("bigzset", "skiplist"),
    ] {
        assert_eq!(
            c.cmds(&["OBJECT", "ENCODING", k]),
            format!("${}\r\n{enc}\r\n", enc.len()),
            "{k}"
        );
    }
}

#[test]
fn keys_past_their_deadline_are_not_loaded() {
    let dir = TempDir::new("persist");
    {
        let s = start(&dir, &[]);
        let mut c = s.raw();
        c.cmds(&["SET", "short", "v", "PX", "300"]);
        c.cmds(&["SET", "keep", "v"]);
        assert_eq!(c.cmds(&["SAVE"]), "+OK\r\n");
    }
    std::thread::sleep(Duration::from_millis(400));
    let s = start(&dir, &[]);
    let mut c = s.raw();
    assert_eq!(c.cmds(&["DBSIZE"]), ":1\r\n");
    assert_eq!(info_field(&mut c, "rdb_last_load_keys_expired"), "1");
    assert_eq!(info_field(&mut c, "rdb_last_load_keys_loaded"), "1");
}

#[test]
fn bgsave_completes_and_lastsave_advances() {
    let dir = TempDir::new("persist");
    let s = start(&dir, &[]);
    let mut c = s.raw();
    let last0: u64 = c.cmds(&["LASTSAVE"])[1..].trim().parse().unwrap();
    std::thread::sleep(Duration::from_millis(1100));
    for i in 0..5 {
        c.cmds(&["SET", &format!("k{i}"), "v"]);
    }
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "5");
    // Slow enough (50 ms per key) to be caught in progress.
    assert_eq!(
        c.cmds(&["CONFIG", "SET", "rdb-key-save-delay", "50000"]),
        "+OK\r\n"
    );
    assert_eq!(c.cmds(&["BGSAVE"]), "+Background saving started\r\n");
    assert_eq!(
        c.cmds(&["BGSAVE"]),
        "-ERR Background save already in progress\r\n"
    );
    assert_eq!(
        c.cmds(&["BGSAVE", "SCHEDULE"]),
        "-ERR Background save already in progress\r\n"
    );
    assert_eq!(
        c.cmds(&["SAVE"]),
        "-ERR Background save already in progress\r\n"
    );
    assert_eq!(info_field(&mut c, "rdb_bgsave_in_progress"), "1");
    // The server keeps serving while the child writes.
    assert_eq!(c.cmds(&["SET", "during", "1"]), "+OK\r\n");
    assert!(wait_for(10, || info_field(
        &mut c,
        "rdb_bgsave_in_progress"
    ) == "0"));
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    // The write made during the save is still to be saved.
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "1");
    let last1: u64 = c.cmds(&["LASTSAVE"])[1..].trim().parse().unwrap();
    assert!(last1 > last0, "{last0} {last1}");
    assert!(dir.0.join("dump.rdb").exists());
    assert!(
        !std::fs::read_dir(&dir.0).unwrap().any(|e| e
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("temp-")),
        "temp file left behind"
    );
    assert_eq!(c.cmds(&["BGSAVE", "foo"]), "-ERR syntax error\r\n");
    // Inside a transaction it is scheduled, and cron runs it.
    c.cmds(&["CONFIG", "SET", "rdb-key-save-delay", "0"]);
    assert_eq!(c.cmds(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.cmds(&["BGSAVE"]), "+QUEUED\r\n");
    assert_eq!(c.cmds(&["EXEC"]), "*1\r\n+Background saving scheduled\r\n");
    assert!(wait_for(10, || {
        info_field(&mut c, "rdb_saves") == "2"
            && info_field(&mut c, "rdb_bgsave_in_progress") == "0"
    }));
    drop(c);
    drop(s);
    let s = start(&dir, &[]);
    let mut c = s.raw();
    assert_eq!(c.cmds(&["DBSIZE"]), ":6\r\n");
}

#[test]
fn debug_reload_keeps_the_data() {
    let dir = TempDir::new("persist");
    let s = start(&dir, &[]);
    let mut c = s.raw();
    fill(&mut c);
    let before = snapshot(s.port);
    assert_eq!(c.cmds(&["DEBUG", "RELOAD"]), "+OK\r\n");
    assert_eq!(snapshot(s.port), before);
    assert_eq!(
        c.cmds(&["DEBUG", "RELOAD", "BOGUS"]),
        "-ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.\r\n"
    );
    // NOSAVE loads the file as it is: a key written since is gone.
    c.cmds(&["SET", "new", "1"]);
    assert_eq!(c.cmds(&["DEBUG", "RELOAD", "NOSAVE"]), "+OK\r\n");
    assert_eq!(c.cmds(&["EXISTS", "new"]), ":0\r\n");
    // NOFLUSH MERGE adds the file's keys to what is there.
    c.cmds(&["SET", "new", "1"]);
    assert_eq!(
        c.cmds(&["DEBUG", "RELOAD", "NOSAVE", "NOFLUSH", "MERGE"]),
        "+OK\r\n"
    );
    assert_eq!(c.cmds(&["EXISTS", "new", "int"]), ":2\r\n");
}

#[test]
fn shutdown_save_and_nosave() {
    let dir = TempDir::new("persist");
    // No save points: SHUTDOWN does not save, SHUTDOWN SAVE does.
    let mut s = start(&dir, &[]);
    let mut c = s.raw();
    c.cmds(&["SET", "a", "1"]);
    c.send(&common::encode(&[b"SHUTDOWN"]));
    assert_eq!(c.read_to_close(), b"");
    assert!(wait_exit(&mut s));
    assert!(!dir.0.join("dump.rdb").exists());
    let mut s = start(&dir, &[]);
    let mut c = s.raw();
    c.cmds(&["SET", "a", "1"]);
    c.send(&common::encode(&[b"SHUTDOWN", b"SAVE"]));
    assert_eq!(c.read_to_close(), b"");
    assert!(wait_exit(&mut s));
    assert!(dir.0.join("dump.rdb").exists());
    // With save points: NOSAVE leaves the file as it was.
    let mut s = start(&dir, &["--save", "3600 1"]);
    let mut c = s.raw();
    assert_eq!(c.cmds(&["GET", "a"]), "$1\r\n1\r\n");
    c.cmds(&["SET", "b", "2"]);
    c.send(&common::encode(&[b"SHUTDOWN", b"NOSAVE"]));
    assert_eq!(c.read_to_close(), b"");
    assert!(wait_exit(&mut s));
    // ...and SIGTERM saves.
    let mut s = start(&dir, &["--save", "3600 1"]);
    let mut c = s.raw();
    assert_eq!(c.cmds(&["EXISTS", "a", "b"]), ":1\r\n");
    c.cmds(&["SET", "c", "3"]);
    // SAFETY: signalling the child process this test started.
    unsafe {
        libc::kill(s.child.id() as i32, libc::SIGTERM);
    }
    assert!(wait_exit(&mut s));
    let s = start(&dir, &[]);
    let mut c = s.raw();
    assert_eq!(c.cmds(&["EXISTS", "a", "b", "c"]), ":2\r\n");
    // A save that fails keeps the server up.
    std::fs::remove_file(dir.0.join("dump.rdb")).unwrap();
    std::fs::create_dir(dir.0.join("dump.rdb")).unwrap();
    assert_eq!(
        c.cmds(&["SHUTDOWN", "SAVE"]),
        "-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
    );
    assert_eq!(c.cmds(&["SAVE"]), "-ERR\r\n");
    assert_eq!(c.cmds(&["PING"]), "+PONG\r\n");
}

#[test]
fn save_points_start_a_background_save() {
    let dir = TempDir::new("persist");
    let s = start(&dir, &["--save", "1 2"]);
    let mut c = s.raw();
    assert_eq!(
        c.cmds(&["CONFIG", "GET", "save"]),
        "*2\r\n$4\r\nsave\r\n$3\r\n1 2\r\n"
    );
    c.cmds(&["SET", "a", "1"]);
    // One change is not enough.
    std::thread::sleep(Duration::from_millis(2200));
    assert_eq!(info_field(&mut c, "rdb_saves"), "0");
    c.cmds(&["SET", "b", "1"]);
    assert!(wait_for(5, || info_field(&mut c, "rdb_saves") == "1"
        && info_field(&mut c, "rdb_bgsave_in_progress") == "0"));
    assert_eq!(info_field(&mut c, "rdb_changes_since_last_save"), "0");
    assert!(dir.0.join("dump.rdb").exists());
    let stats = c.cmds(&["INFO", "stats"]);
    assert!(stats.contains("total_forks:1\r\n"), "{stats}");
}

#[test]
fn flushall_saves_when_save_points_are_set() {
    let dir = TempDir::new("persist");
    {
        let s = start(&dir, &["--save", "3600 1"]);
        let mut c = s.raw();
        c.cmds(&["SET", "a", "1"]);
        assert_eq!(c.cmds(&["SAVE"]), "+OK\r\n");
        assert_eq!(c.cmds(&["FLUSHALL"]), "+OK\r\n");
    }
    let s = start(&dir, &[]);
    assert_eq!(s.raw().cmds(&["DBSIZE"]), ":0\r\n");
}

#[test]
fn a_corrupt_file_keeps_the_server_from_starting() {
    let dir = TempDir::new("persist");
    {
        let s = start(&dir, &[]);
        let mut c = s.raw();
        fill(&mut c);
        assert_eq!(c.cmds(&["SAVE"]), "+OK\r\n");
    }
    let path = dir.0.join("dump.rdb");
    let good = std::fs::read(&path).unwrap();
    let mut flipped = good.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x40;
    for (what, bytes) in [
        ("flipped", flipped),
        ("cut", good[..good.len() - 20].to_vec()),
        ("garbage", b"not an rdb file at all".to_vec()),
    ] {
        std::fs::write(&path, &bytes).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_ferrokv-server"))
            .args(["--port", "0", "--save", "", "--dir", dir.path()])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!out.status.success(), "{what}: started anyway");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("Fatal error loading the DB"), "{what}: {err}");
        assert!(out.stdout.is_empty(), "{what}: announced itself");
    }
    // Good bytes again: it starts.
    std::fs::write(&path, &good).unwrap();
    let s = start(&dir, &[]);
    assert!(s.raw().cmds(&["DBSIZE"]).starts_with(":"));
}

#[test]
fn files_move_both_ways_between_ferrokv_and_redis() {
    // ferrokv writes, Redis reads.
    let dir = TempDir::new("persist");
    let ours = {
        let s = start(&dir, &[]);
        let mut c = s.raw();
        fill(&mut c);
        assert_eq!(c.cmds(&["SAVE"]), "+OK\r\n");
        snapshot(s.port)
    };
    let Some(r) = common::start_redis_in(Some(dir.path()), &[]) else {
        return;
    };
    assert_eq!(snapshot(r.port), ours);
    // Redis writes (its own encodings of the same data), ferrokv reads.
    let mut rc = r.raw();
    assert_eq!(rc.cmds(&["SET", "from-redis", "1"]), "+OK\r\n");
    assert_eq!(rc.cmds(&["SAVE"]), "+OK\r\n");
    let theirs = snapshot(r.port);
    drop(rc);
    drop(r);
    let s = start(&dir, &[]);
    assert_eq!(snapshot(s.port), theirs);
}

#[test]
fn a_failed_background_save_stops_writes() {
    let dir = TempDir::new("persist");
    let s = start(&dir, &["--save", "3600 1"]);
    let mut c = s.raw();
    // A directory in the file's place: the child cannot rename its temp file over it.
    std::fs::create_dir(dir.0.join("dump.rdb")).unwrap();
    assert_eq!(c.cmds(&["BGSAVE"]), "+Background saving started\r\n");
    assert!(wait_for(10, || info_field(
        &mut c,
        "rdb_bgsave_in_progress"
    ) == "0"));
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "err");
    let misconf = "-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.\r\n";
    assert_eq!(c.cmds(&["SET", "a", "1"]), misconf);
    assert_eq!(c.cmds(&["PING"]), misconf);
    assert_eq!(c.cmds(&["GET", "a"]), "$-1\r\n");
    assert_eq!(c.cmds(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.cmds(&["SET", "a", "1"]), misconf);
    assert_eq!(
        c.cmds(&["EXEC"]),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    // Off, or without save points, writes go through.
    assert_eq!(
        c.cmds(&["CONFIG", "SET", "stop-writes-on-bgsave-error", "no"]),
        "+OK\r\n"
    );
    assert_eq!(c.cmds(&["SET", "a", "1"]), "+OK\r\n");
    c.cmds(&["CONFIG", "SET", "stop-writes-on-bgsave-error", "yes"]);
    assert_eq!(c.cmds(&["SET", "a", "1"]), misconf);
    // A save that works clears it.
    std::fs::remove_dir(dir.0.join("dump.rdb")).unwrap();
    assert_eq!(c.cmds(&["SAVE"]), "+OK\r\n");
    assert_eq!(info_field(&mut c, "rdb_last_bgsave_status"), "ok");
    assert_eq!(c.cmds(&["SET", "a", "2"]), "+OK\r\n");
}
