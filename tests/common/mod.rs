//! Test support shared by the integration tests: start the real `ferrokv-server` binary on an ephemeral
//! port (or a real `redis-server` as the oracle), and talk raw RESP to it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A running server process, killed when dropped.
pub struct TestServer {
    pub port: u16,
    pub child: Child,
    /// The working directory `start` made for it (removed on drop), unless the test chose one.
    pub dir: Option<TempDir>,
}

/// A fresh directory under the system temp dir, removed with everything in it when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let p = std::env::temp_dir().join(format!(
            "ferrokv-{tag}-{}-{}-{nanos}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }

    pub fn path(&self) -> &str {
        self.0.to_str().expect("utf-8 temp path")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TestServer {
    /// Starts `ferrokv-server --port 0 <extra>` and waits for its `listening on 127.0.0.1:PORT` line.
    /// Unless `extra` says otherwise, it runs in a temp directory of its own (so it neither loads a stale
    /// dump.rdb nor leaves one behind) with no save points (like the oracle, started with `--save ''`).
    pub fn start(extra: &[&str]) -> TestServer {
        let has = |flag: &str| extra.contains(&flag);
        let dir = (!has("--dir")).then(|| TempDir::new("test"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferrokv-server"));
        cmd.arg("--port").arg("0");
        if let Some(d) = &dir {
            cmd.arg("--dir").arg(d.path());
        }
        if !has("--save") {
            cmd.arg("--save").arg("");
        }
        let mut child = cmd
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ferrokv-server");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read ready line");
        let port = line
            .trim()
            .strip_prefix("listening on 127.0.0.1:")
            .unwrap_or_else(|| panic!("unexpected ready line {line:?}"))
            .parse()
            .expect("port");
        TestServer { port, child, dir }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn raw(&self) -> RawConn {
        RawConn::connect(self.port)
    }

    pub fn redis(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .unwrap()
            .get_connection()
            .unwrap()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Finds a free loopback port by binding port 0 and releasing it.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts a real `redis-server` (the oracle) on a spare port, or returns None if it is not installed.
/// Under `CI=true` a missing redis-server is a failure, elsewhere a skip.
pub fn start_redis() -> Option<TestServer> {
    start_redis_in(None, &[])
}

/// `start_redis` over the RDB file in `dir` (loaded at startup, written by SAVE) when given, and with
/// `extra` arguments (`--enable-debug-command yes`).
pub fn start_redis_in(dir: Option<&str>, extra: &[&str]) -> Option<TestServer> {
    // The port is picked before redis-server binds it, so another test can take it in between: a server
    // that exits (address in use) is started again on another port, and only a `+PONG` proves the
    // listener is this redis-server (a bare connect can even reach itself on a free loopback port).
    for _ in 0..5 {
        let port = free_port();
        // Without a directory, its own empty one: a dump.rdb left anywhere shared (a SAVE by another
        // test) must not be loaded into the oracle.
        let own = dir.is_none().then(|| TempDir::new("redis"));
        let path = dir.unwrap_or_else(|| own.as_ref().map_or("", |d| d.path()));
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                path,
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                if std::env::var("CI").as_deref() == Ok("true") {
                    panic!("redis-server is required under CI=true: {e}");
                }
                eprintln!(
                    "SKIPPED: redis-server not installed ({e}); install redis-server to run this test"
                );
                return None;
            }
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if matches!(child.try_wait(), Ok(Some(_))) {
                break;
            }
            if answers_ping(port) {
                return Some(TestServer {
                    port,
                    child,
                    dir: own,
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("redis-server did not start");
}

fn answers_ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let mut buf = [0u8; 7];
    s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
}

/// A raw RESP connection: send bytes, read whole replies as raw bytes.
pub struct RawConn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl RawConn {
    pub fn connect(port: u16) -> RawConn {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        RawConn {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// Sends one command as a RESP multibulk and returns its raw reply.
    pub fn cmd(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send(&encode(args));
        self.read_reply()
    }

    /// Like `cmd` with string arguments, returning the reply as a (lossy) string.
    pub fn cmds(&mut self, args: &[&str]) -> String {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        String::from_utf8_lossy(&self.cmd(&a)).into_owned()
    }

    /// Reads exactly one complete RESP2/RESP3 reply (panics on timeout or EOF).
    pub fn read_reply(&mut self) -> Vec<u8> {
        loop {
            if let Some(n) = reply_len(&self.buf) {
                return self.buf.drain(..n).collect();
            }
            let mut chunk = [0u8; 65536];
            let n = self.stream.read(&mut chunk).expect("read reply");
            assert!(
                n > 0,
                "connection closed; partial: {:?}",
                String::from_utf8_lossy(&self.buf)
            );
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Reads until the server closes the connection; returns everything received.
    pub fn read_to_close(&mut self) -> Vec<u8> {
        let mut out = std::mem::take(&mut self.buf);
        let _ = self.stream.read_to_end(&mut out);
        out
    }
}

/// Encodes arguments as a RESP multibulk request.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// Length of the first complete RESP2/RESP3 reply in `b`, or None if incomplete.
pub fn reply_len(b: &[u8]) -> Option<usize> {
    let line_end = |from: usize| -> Option<usize> {
        b[from..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map(|p| from + p)
    };
    fn parse_at(b: &[u8], pos: usize, line_end: &dyn Fn(usize) -> Option<usize>) -> Option<usize> {
        if pos >= b.len() {
            return None;
        }
        let e = line_end(pos)?;
        // Only length headers are parsed; error and status lines may hold any bytes.
        let head = std::str::from_utf8(&b[pos + 1..e]).unwrap_or("");
        match b[pos] {
            b'+' | b'-' | b':' | b',' | b'_' | b'#' | b'(' => Some(e + 2),
            b'$' | b'=' | b'!' => {
                let n: i64 = head.parse().ok()?;
                if n < 0 {
                    return Some(e + 2);
                }
                let end = e + 2 + n as usize + 2;
                (b.len() >= end).then_some(end)
            }
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                let n: i64 = head.parse().ok()?;
                let n = if n < 0 {
                    0
                } else if matches!(b[pos], b'%' | b'|') {
                    2 * n
                } else {
                    n
                };
                let mut p = e + 2;
                for _ in 0..n {
                    p = parse_at(b, p, line_end)?;
                }
                Some(p)
            }
            other => panic!(
                "bad reply type byte {:?} in {:?}",
                other as char,
                String::from_utf8_lossy(b)
            ),
        }
    }
    parse_at(b, 0, &line_end)
}

// ---------------------------------------------------------------------------------------------------------
// Shared by the per-family tests: assertions, and the same requests to ferrokv and to redis-server.

/// Sends one command and asserts its raw reply.
#[track_caller]
pub fn check(c: &mut RawConn, args: &[&str], want: &str) {
    assert_eq!(c.cmds(args), want, "{args:?}");
}

/// Sends one command and asserts its reply with the elements of its top-level aggregate sorted.
#[track_caller]
pub fn check_sorted(c: &mut RawConn, args: &[&str], want: &str) {
    assert_eq!(sorted(&c.cmds(args)), sorted(want), "{args:?}");
}

/// Sends each command and asserts how far it moved the dirty counter (`rdb_changes_since_last_save`),
/// against the counts Redis 7.0.15 gives.
#[track_caller]
pub fn check_dirty(c: &mut RawConn, rows: &[(&[&str], u64)]) {
    fn changes(c: &mut RawConn) -> u64 {
        let info = c.cmds(&["INFO", "persistence"]);
        let v = info.split("rdb_changes_since_last_save:").nth(1).unwrap();
        v[..v.find("\r\n").unwrap()].parse().unwrap()
    }
    for (args, want) in rows {
        let before = changes(c);
        c.cmds(args);
        assert_eq!(changes(c) - before, *want, "dirty count of {args:?}");
    }
}

/// `check_dirty` over requests written one per line, arguments split at spaces.
pub fn check_dirty_lines(c: &mut RawConn, rows: &[(&str, u64)]) {
    for &(line, want) in rows {
        let args: Vec<&str> = line.split(' ').collect();
        check_dirty(c, &[(&args, want)]);
    }
}

/// A reply with the elements of its top-level array, set or map sorted (map pairs stay together), so
/// replies whose order Redis leaves to its hash table compare equal.
pub fn sorted(reply: &str) -> String {
    let b = reply.as_bytes();
    if !matches!(b.first(), Some(b'*' | b'~' | b'%')) {
        return reply.to_string();
    }
    let head = reply.find("\r\n").unwrap() + 2;
    let n: i64 = reply[1..head - 2].parse().unwrap();
    if n <= 0 {
        return reply.to_string();
    }
    let per = if b[0] == b'%' { 2 } else { 1 };
    let mut items = Vec::new();
    let mut pos = head;
    for _ in 0..n {
        let start = pos;
        for _ in 0..per {
            pos += reply_len(&b[pos..]).unwrap();
        }
        items.push(&reply[start..pos]);
    }
    items.sort();
    format!("{}{}", &reply[..head], items.concat())
}

/// splitmix64, for reproducible workloads.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    pub fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len() as u64) as usize]
    }
}

/// How a reply is compared: exactly, with its elements sorted, or by shape only (random picks).
#[derive(Clone, Copy)]
pub enum Cmp {
    Exact,
    Sorted,
    Shape,
}

/// The type byte and element count of a reply (an error's full text, since errors are deterministic).
pub fn shape(r: &str) -> String {
    if r.starts_with('-') {
        return r.to_string();
    }
    r.split("\r\n").next().unwrap_or("").to_string()
}

/// Runs the requests `run` sends through the given closure against ferrokv and a real redis-server (when
/// installed) and asserts that every reply compares equal the way each request asks.
pub fn differential(mut run: impl FnMut(&mut dyn FnMut(&[&str], Cmp))) {
    let Some(redis) = start_redis() else {
        return;
    };
    let ours = TestServer::start(&[]);
    let (mut a, mut b) = (ours.raw(), redis.raw());
    let mut bad = Vec::new();
    let mut n = 0;
    run(&mut |args: &[&str], cmp: Cmp| {
        n += 1;
        let (x, y) = (a.cmds(args), b.cmds(args));
        let same = match cmp {
            Cmp::Exact => x == y,
            Cmp::Sorted => sorted(&x) == sorted(&y),
            Cmp::Shape => shape(&x) == shape(&y),
        };
        if !same && bad.len() < 10 {
            bad.push(format!("{args:?}\n  redis:   {y:?}\n  ferrokv: {x:?}"));
        }
    });
    assert!(
        bad.is_empty(),
        "{} of {n} differ:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

/// Redis's CRC64 (Jones, reflected), bit by bit: independent of the server's table-driven one, for the
/// DUMP and FUNCTION DUMP payloads tests forge or check.
pub fn crc64(data: &[u8]) -> u64 {
    let mut crc = 0u64;
    for &b in data {
        crc ^= b as u64;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x95ac_9329_ac4b_c9b5
            } else {
                crc >> 1
            };
        }
    }
    crc
}
