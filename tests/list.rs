//! The list family over raw RESP: every command's replies and errors as exact bytes (the bytes Redis
//! 7.0.15 sends), RESP3 forms, WRONGTYPE, deletion of an emptied list, range clamping, and the blocking
//! commands: wake-up by a push from another connection, FIFO order, fractional timeouts, BLMOVE chains,
//! CLIENT UNBLOCK, disconnected and pipelining waiters, MULTI, and a seeded differential run against a real
//! `redis-server`.
//!
//! `LIST_AGAINST_REDIS=1` runs the byte-level tests against a real redis-server instead of ferrokv, which
//! is how their expected bytes were checked (Redis times blocks out at its `hz` granularity, so the
//! timing bounds below leave it room).

mod common;

use std::io::ErrorKind;
use std::time::{Duration, Instant};

use common::{check, check_dirty, encode, RawConn, TestServer};

fn server() -> TestServer {
    if std::env::var("LIST_AGAINST_REDIS").as_deref() == Ok("1") {
        return common::start_redis().expect("redis-server");
    }
    TestServer::start(&[])
}

fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

fn bulks(xs: &[&str]) -> String {
    let mut s = format!("*{}\r\n", xs.len());
    for x in xs {
        s.push_str(&bulk(x));
    }
    s
}

/// `[key, element]`, as BLPOP answers.
fn kv(k: &str, v: &str) -> String {
    format!("*2\r\n{}{}", bulk(k), bulk(v))
}

/// `[key, [elements]]`, as LMPOP answers.
fn kvs(k: &str, vs: &[&str]) -> String {
    format!("*2\r\n{}{}", bulk(k), bulks(vs))
}

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const HELLO3: &[&str] = &["HELLO", "3"];

fn send(c: &mut RawConn, args: &[&str]) {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    c.send(&encode(&a));
}

/// True if nothing arrives on `c` for `ms` milliseconds.
fn silent_for(c: &mut RawConn, ms: u64) -> bool {
    c.stream
        .set_read_timeout(Some(Duration::from_millis(ms)))
        .unwrap();
    let mut b = [0u8; 1];
    let r = c.stream.peek(&mut b);
    c.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    matches!(r, Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut))
}

/// Waits (bounded) until the server counts `n` blocked clients.
#[track_caller]
fn wait_blocked(c: &mut RawConn, n: usize) {
    let want = format!("blocked_clients:{n}\r\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if c.cmds(&["INFO", "clients"]).contains(&want) {
            return;
        }
        assert!(Instant::now() < deadline, "never saw {want:?}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn client_id(c: &mut RawConn) -> String {
    c.cmds(&["CLIENT", "ID"])
        .trim_start_matches(':')
        .trim_end()
        .to_string()
}

#[test]
fn push_and_pop() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["LPUSH", "l", "a", "b"], ":2\r\n");
    check(&mut c, &["RPUSH", "l", "c", "d"], ":4\r\n");
    check(
        &mut c,
        &["LRANGE", "l", "0", "-1"],
        &bulks(&["b", "a", "c", "d"]),
    );
    check(&mut c, &["LPUSHX", "l", "x", "y"], ":6\r\n");
    check(&mut c, &["RPUSHX", "l", "z"], ":7\r\n");
    check(&mut c, &["LPUSHX", "nokey", "a", "b"], ":0\r\n");
    check(&mut c, &["RPUSHX", "nokey", "a"], ":0\r\n");
    check(&mut c, &["EXISTS", "nokey"], ":0\r\n");
    check(&mut c, &["LPOP", "l"], &bulk("y"));
    check(&mut c, &["RPOP", "l"], &bulk("z"));
    check(&mut c, &["LPOP", "l", "2"], &bulks(&["x", "b"]));
    // RPOP with a count answers tail first.
    check(&mut c, &["RPOP", "l", "2"], &bulks(&["d", "c"]));
    check(&mut c, &["LPOP", "l", "0"], "*0\r\n");
    check(&mut c, &["RPOP", "l", "10"], &bulks(&["a"]));
    check(&mut c, &["EXISTS", "l"], ":0\r\n");
    // A missing key: a null bulk without a count, a null array with one (even 0).
    check(&mut c, &["LPOP", "l"], "$-1\r\n");
    check(&mut c, &["LPOP", "l", "0"], "*-1\r\n");
    check(&mut c, &["RPOP", "l", "3"], "*-1\r\n");
    let positive = "-ERR value is out of range, must be positive\r\n";
    check(&mut c, &["LPOP", "l", "-1"], positive);
    check(&mut c, &["LPOP", "l", "abc"], positive);
    check(
        &mut c,
        &["LPOP", "l", "1", "2"],
        "-ERR wrong number of arguments for 'lpop' command\r\n",
    );
    check(
        &mut c,
        &["RPOP", "l", "1", "2"],
        "-ERR wrong number of arguments for 'rpop' command\r\n",
    );
    check(
        &mut c,
        &["LPUSH", "l"],
        "-ERR wrong number of arguments for 'lpush' command\r\n",
    );
    check(
        &mut c,
        &["RPUSH", "n", "9223372036854775807", "-1", "x"],
        ":3\r\n",
    );
    check(
        &mut c,
        &["LPOP", "n", "9223372036854775807"],
        &bulks(&["9223372036854775807", "-1", "x"]),
    );
    // RESP3: the null forms become `_`, arrays stay arrays.
    c.cmds(HELLO3);
    check(&mut c, &["LPOP", "nokey"], "_\r\n");
    check(&mut c, &["LPOP", "nokey", "0"], "_\r\n");
    check(&mut c, &["RPUSH", "l", "a"], ":1\r\n");
    check(&mut c, &["LPOP", "l", "0"], "*0\r\n");
    check(&mut c, &["RPOP", "l", "5"], &bulks(&["a"]));
}

#[test]
fn ranges_indexes_and_trim() {
    let s = server();
    let mut c = s.raw();
    check(
        &mut c,
        &["RPUSH", "l", "a", "b", "c", "d", "e", "f"],
        ":6\r\n",
    );
    let all = bulks(&["a", "b", "c", "d", "e", "f"]);
    check(&mut c, &["LRANGE", "l", "0", "-1"], &all);
    check(&mut c, &["LRANGE", "l", "-100", "100"], &all);
    check(
        &mut c,
        &["LRANGE", "l", "-9223372036854775808", "9223372036854775807"],
        &all,
    );
    check(&mut c, &["LRANGE", "l", "1", "2"], &bulks(&["b", "c"]));
    check(&mut c, &["LRANGE", "l", "-2", "-1"], &bulks(&["e", "f"]));
    check(&mut c, &["LRANGE", "l", "2", "1"], "*0\r\n");
    check(&mut c, &["LRANGE", "l", "-1", "-2"], "*0\r\n");
    check(&mut c, &["LRANGE", "l", "6", "10"], "*0\r\n");
    check(&mut c, &["LRANGE", "l", "5", "10"], &bulks(&["f"]));
    check(&mut c, &["LRANGE", "nokey", "0", "-1"], "*0\r\n");
    check(&mut c, &["LRANGE", "l", "a", "b"], NOT_INT);
    check(&mut c, &["LRANGE", "nokey", "x", "1"], NOT_INT);
    check(&mut c, &["LLEN", "l"], ":6\r\n");
    check(&mut c, &["LLEN", "nokey"], ":0\r\n");

    check(&mut c, &["LINDEX", "l", "0"], &bulk("a"));
    check(&mut c, &["LINDEX", "l", "-1"], &bulk("f"));
    check(&mut c, &["LINDEX", "l", "-6"], &bulk("a"));
    check(&mut c, &["LINDEX", "l", "-7"], "$-1\r\n");
    check(&mut c, &["LINDEX", "l", "6"], "$-1\r\n");
    check(&mut c, &["LINDEX", "l", "9223372036854775807"], "$-1\r\n");
    check(&mut c, &["LINDEX", "l", "-9223372036854775808"], "$-1\r\n");
    check(&mut c, &["LINDEX", "l", "x"], NOT_INT);
    // The key is looked up before the index is read.
    check(&mut c, &["LINDEX", "nokey", "x"], "$-1\r\n");

    check(&mut c, &["LSET", "l", "-1", "F"], "+OK\r\n");
    check(&mut c, &["LSET", "l", "0", "A"], "+OK\r\n");
    check(
        &mut c,
        &["LSET", "l", "6", "x"],
        "-ERR index out of range\r\n",
    );
    check(
        &mut c,
        &["LSET", "l", "-7", "x"],
        "-ERR index out of range\r\n",
    );
    check(
        &mut c,
        &["LSET", "l", "9223372036854775807", "x"],
        "-ERR index out of range\r\n",
    );
    check(&mut c, &["LSET", "l", "x", "x"], NOT_INT);
    check(&mut c, &["LSET", "nokey", "0", "x"], "-ERR no such key\r\n");
    check(&mut c, &["LSET", "nokey", "x", "x"], "-ERR no such key\r\n");
    check(
        &mut c,
        &["LRANGE", "l", "0", "-1"],
        &bulks(&["A", "b", "c", "d", "e", "F"]),
    );

    check(&mut c, &["LTRIM", "l", "1", "-2"], "+OK\r\n");
    check(
        &mut c,
        &["LRANGE", "l", "0", "-1"],
        &bulks(&["b", "c", "d", "e"]),
    );
    check(
        &mut c,
        &["LTRIM", "l", "-9223372036854775808", "9223372036854775807"],
        "+OK\r\n",
    );
    check(&mut c, &["LLEN", "l"], ":4\r\n");
    check(&mut c, &["LTRIM", "l", "-2", "100"], "+OK\r\n");
    check(&mut c, &["LRANGE", "l", "0", "-1"], &bulks(&["d", "e"]));
    check(&mut c, &["LTRIM", "l", "x", "1"], NOT_INT);
    check(&mut c, &["LTRIM", "nokey", "0", "1"], "+OK\r\n");
    check(&mut c, &["LTRIM", "nokey", "x", "1"], NOT_INT);
    // An empty range deletes the key.
    check(&mut c, &["LTRIM", "l", "5", "1"], "+OK\r\n");
    check(&mut c, &["EXISTS", "l"], ":0\r\n");
    c.cmds(HELLO3);
    check(&mut c, &["LINDEX", "nokey", "0"], "_\r\n");
}

#[test]
fn linsert_lrem_lpos() {
    let s = server();
    let mut c = s.raw();
    check(
        &mut c,
        &["RPUSH", "l", "a", "b", "c", "a", "b", "c", "a"],
        ":7\r\n",
    );
    check(&mut c, &["LINSERT", "l", "before", "b", "X"], ":8\r\n");
    check(&mut c, &["LINSERT", "l", "AFTER", "c", "Y"], ":9\r\n");
    check(&mut c, &["LINSERT", "l", "after", "zz", "Y"], ":-1\r\n");
    check(&mut c, &["LINSERT", "nokey", "after", "a", "Y"], ":0\r\n");
    check(&mut c, &["LINSERT", "l", "middle", "a", "Y"], SYNTAX);
    check(&mut c, &["LINSERT", "nokey", "middle", "a", "Y"], SYNTAX);
    check(
        &mut c,
        &["LINSERT", "l", "before", "a"],
        "-ERR wrong number of arguments for 'linsert' command\r\n",
    );
    check(
        &mut c,
        &["LRANGE", "l", "0", "-1"],
        &bulks(&["a", "X", "b", "c", "Y", "a", "b", "c", "a"]),
    );
    check(&mut c, &["LREM", "l", "0", "a"], ":3\r\n");
    check(&mut c, &["LREM", "l", "-1", "c"], ":1\r\n");
    check(&mut c, &["LREM", "l", "1", "b"], ":1\r\n");
    check(&mut c, &["LREM", "l", "1", "zz"], ":0\r\n");
    check(&mut c, &["LREM", "l", "x", "b"], NOT_INT);
    check(&mut c, &["LREM", "nokey", "1", "b"], ":0\r\n");
    check(
        &mut c,
        &["LRANGE", "l", "0", "-1"],
        &bulks(&["X", "c", "Y", "b"]),
    );
    check(
        &mut c,
        &["RPUSH", "m", "x", "y", "x", "x", "y", "x"],
        ":6\r\n",
    );
    check(&mut c, &["LREM", "m", "-2", "x"], ":2\r\n");
    check(
        &mut c,
        &["LRANGE", "m", "0", "-1"],
        &bulks(&["x", "y", "x", "y"]),
    );
    check(
        &mut c,
        &["LREM", "m", "-9223372036854775808", "x"],
        ":2\r\n",
    );
    check(&mut c, &["LREM", "m", "5", "y"], ":2\r\n");
    check(&mut c, &["EXISTS", "m"], ":0\r\n");

    check(&mut c, &["DEL", "l"], ":1\r\n");
    check(
        &mut c,
        &["RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c"],
        ":8\r\n",
    );
    check(&mut c, &["LPOS", "l", "c"], ":2\r\n");
    check(&mut c, &["LPOS", "l", "c", "RANK", "2"], ":6\r\n");
    check(&mut c, &["LPOS", "l", "c", "rank", "-1"], ":7\r\n");
    check(
        &mut c,
        &["LPOS", "l", "c", "rank", "-2", "count", "0"],
        "*2\r\n:6\r\n:2\r\n",
    );
    check(
        &mut c,
        &["LPOS", "l", "c", "count", "2"],
        "*2\r\n:2\r\n:6\r\n",
    );
    check(
        &mut c,
        &["LPOS", "l", "c", "count", "0", "rank", "2"],
        "*2\r\n:6\r\n:7\r\n",
    );
    check(&mut c, &["LPOS", "l", "c", "maxlen", "3"], ":2\r\n");
    check(&mut c, &["LPOS", "l", "c", "maxlen", "2"], "$-1\r\n");
    check(
        &mut c,
        &["LPOS", "l", "c", "maxlen", "3", "count", "0"],
        "*1\r\n:2\r\n",
    );
    check(
        &mut c,
        &["LPOS", "l", "c", "rank", "-1", "maxlen", "2", "count", "5"],
        "*2\r\n:7\r\n:6\r\n",
    );
    check(&mut c, &["LPOS", "l", "z"], "$-1\r\n");
    check(&mut c, &["LPOS", "l", "z", "count", "0"], "*0\r\n");
    check(&mut c, &["LPOS", "nokey", "z"], "$-1\r\n");
    check(&mut c, &["LPOS", "nokey", "z", "count", "1"], "*0\r\n");
    check(
        &mut c,
        &["LPOS", "l", "c", "rank", "1", "rank", "2"],
        ":6\r\n",
    );
    check(
        &mut c,
        &["LPOS", "l", "c", "rank", "-9223372036854775808"],
        ":7\r\n",
    );
    check(
        &mut c,
        &["LPOS", "l", "c", "rank", "0"],
        "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use \
         negative to start from the end of the list\r\n",
    );
    check(
        &mut c,
        &["LPOS", "l", "c", "count", "-1"],
        "-ERR COUNT can't be negative\r\n",
    );
    check(
        &mut c,
        &["LPOS", "l", "c", "count", "x"],
        "-ERR COUNT can't be negative\r\n",
    );
    check(
        &mut c,
        &["LPOS", "l", "c", "maxlen", "-1"],
        "-ERR MAXLEN can't be negative\r\n",
    );
    check(
        &mut c,
        &["LPOS", "nokey", "c", "maxlen", "-1"],
        "-ERR MAXLEN can't be negative\r\n",
    );
    check(&mut c, &["LPOS", "l", "c", "rank", "x"], NOT_INT);
    check(&mut c, &["LPOS", "l", "c", "foo"], SYNTAX);
    check(&mut c, &["LPOS", "l", "c", "rank"], SYNTAX);
    c.cmds(HELLO3);
    check(&mut c, &["LPOS", "l", "z"], "_\r\n");
    check(&mut c, &["LPOS", "nokey", "z", "count", "1"], "*0\r\n");
}

#[test]
fn lmove_rpoplpush_lmpop() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["RPUSH", "l", "a", "b", "c"], ":3\r\n");
    // Same key: a rotation.
    check(&mut c, &["LMOVE", "l", "l", "LEFT", "RIGHT"], &bulk("a"));
    check(
        &mut c,
        &["LRANGE", "l", "0", "-1"],
        &bulks(&["b", "c", "a"]),
    );
    check(&mut c, &["LMOVE", "l", "l", "right", "left"], &bulk("a"));
    check(&mut c, &["RPOPLPUSH", "l", "l"], &bulk("c"));
    check(
        &mut c,
        &["LRANGE", "l", "0", "-1"],
        &bulks(&["c", "a", "b"]),
    );
    check(&mut c, &["LMOVE", "l", "d", "left", "right"], &bulk("c"));
    check(&mut c, &["LMOVE", "l", "d", "right", "left"], &bulk("b"));
    check(&mut c, &["RPOPLPUSH", "l", "d"], &bulk("a"));
    check(&mut c, &["EXISTS", "l"], ":0\r\n");
    check(
        &mut c,
        &["LRANGE", "d", "0", "-1"],
        &bulks(&["a", "b", "c"]),
    );
    check(&mut c, &["LMOVE", "d", "d", "up", "left"], SYNTAX);
    check(&mut c, &["LMOVE", "nokey", "d", "left", "left"], "$-1\r\n");
    check(&mut c, &["RPOPLPUSH", "nokey", "d"], "$-1\r\n");
    check(&mut c, &["SET", "s", "x"], "+OK\r\n");
    check(&mut c, &["LMOVE", "d", "s", "left", "left"], WRONGTYPE);
    check(&mut c, &["LMOVE", "s", "d", "left", "left"], WRONGTYPE);
    // A missing source answers before the destination's type is looked at.
    check(&mut c, &["LMOVE", "nokey", "s", "left", "left"], "$-1\r\n");
    check(
        &mut c,
        &["LRANGE", "d", "0", "-1"],
        &bulks(&["a", "b", "c"]),
    );

    check(&mut c, &["LMPOP", "1", "d", "left"], &kvs("d", &["a"]));
    check(
        &mut c,
        &["LMPOP", "2", "nokey", "d", "RIGHT", "COUNT", "10"],
        &kvs("d", &["c", "b"]),
    );
    check(
        &mut c,
        &["LMPOP", "2", "nokey", "nokey2", "left"],
        "*-1\r\n",
    );
    let numkeys = "-ERR numkeys should be greater than 0\r\n";
    check(&mut c, &["LMPOP", "0", "d", "left"], numkeys);
    check(&mut c, &["LMPOP", "-1", "d", "left"], numkeys);
    check(&mut c, &["LMPOP", "x", "d", "left"], numkeys);
    check(&mut c, &["LMPOP", "3", "d", "left"], SYNTAX);
    check(&mut c, &["LMPOP", "2", "d", "left"], SYNTAX);
    check(
        &mut c,
        &["LMPOP", "9223372036854775807", "d", "left"],
        SYNTAX,
    );
    check(&mut c, &["LMPOP", "1", "d", "middle"], SYNTAX);
    let count = "-ERR count should be greater than 0\r\n";
    check(&mut c, &["LMPOP", "1", "d", "left", "count", "0"], count);
    check(&mut c, &["LMPOP", "1", "d", "left", "count", "-1"], count);
    check(&mut c, &["LMPOP", "1", "d", "left", "count", "x"], count);
    check(
        &mut c,
        &["LMPOP", "1", "d", "left", "count", "1", "count", "2"],
        SYNTAX,
    );
    check(&mut c, &["LMPOP", "1", "d", "left", "count"], SYNTAX);
    check(&mut c, &["LMPOP", "1", "d", "left", "foo"], SYNTAX);
    check(
        &mut c,
        &["LMPOP", "1", "d"],
        "-ERR wrong number of arguments for 'lmpop' command\r\n",
    );
    check(&mut c, &["LMPOP", "1", "s", "left"], WRONGTYPE);
    check(&mut c, &["LMPOP", "2", "nokey", "s", "left"], WRONGTYPE);
    check(&mut c, &["RPUSH", "d", "1", "2"], ":2\r\n");
    // The first non-empty list wins, before a wrong type further on is seen.
    check(&mut c, &["LMPOP", "2", "d", "s", "left"], &kvs("d", &["1"]));
    c.cmds(HELLO3);
    check(&mut c, &["LMPOP", "1", "d", "left"], &kvs("d", &["2"]));
    check(&mut c, &["LMPOP", "1", "d", "left"], "_\r\n");
    check(&mut c, &["LMOVE", "nokey", "d", "left", "left"], "_\r\n");
}

#[test]
fn wrongtype_and_metadata() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["SET", "s", "x"], "+OK\r\n");
    for cmd in [
        &["LPUSH", "s", "a"][..],
        &["RPUSH", "s", "a"],
        &["LPUSHX", "s", "a"],
        &["RPUSHX", "s", "a"],
        &["LPOP", "s"],
        &["RPOP", "s", "0"],
        &["LLEN", "s"],
        &["LRANGE", "s", "0", "-1"],
        &["LINDEX", "s", "x"],
        &["LSET", "s", "x", "x"],
        &["LINSERT", "s", "before", "a", "b"],
        &["LREM", "s", "0", "a"],
        &["LTRIM", "s", "0", "1"],
        &["LPOS", "s", "a"],
        &["LPOS", "s", "a", "count", "0"],
        &["BLPOP", "s", "0"],
        &["BRPOP", "nokey", "s", "0"],
        &["BLMOVE", "s", "d", "left", "left", "0"],
        &["BRPOPLPUSH", "s", "d", "0"],
        &["BLMPOP", "0", "1", "s", "left"],
    ] {
        check(&mut c, cmd, WRONGTYPE);
    }
    // Argument errors come before the key's type is looked at.
    check(
        &mut c,
        &["LPOP", "s", "-1"],
        "-ERR value is out of range, must be positive\r\n",
    );
    check(&mut c, &["LRANGE", "s", "0", "x"], NOT_INT);
    check(&mut c, &["LREM", "s", "x", "v"], NOT_INT);
    check(&mut c, &["LINSERT", "s", "middle", "a", "b"], SYNTAX);
    check(&mut c, &["RPUSH", "l", "a"], ":1\r\n");
    check(&mut c, &["TYPE", "l"], "+list\r\n");
    check(&mut c, &["OBJECT", "ENCODING", "l"], &bulk("quicklist"));
    let big = "x".repeat(10_000);
    check(&mut c, &["RPUSH", "l", &big], ":2\r\n");
    check(&mut c, &["OBJECT", "ENCODING", "l"], &bulk("quicklist"));
    check(&mut c, &["LINDEX", "l", "1"], &bulk(&big));

    check(
        &mut c,
        &["CONFIG", "GET", "list-max-listpack-size"],
        &bulks(&["list-max-listpack-size", "-2"]),
    );
    check(
        &mut c,
        &["CONFIG", "SET", "list-max-ziplist-size", "5"],
        "+OK\r\n",
    );
    check(
        &mut c,
        &["CONFIG", "GET", "list-max-listpack-size"],
        &bulks(&["list-max-listpack-size", "5"]),
    );
    check(
        &mut c,
        &["CONFIG", "GET", "list-max-ziplist-size"],
        &bulks(&["list-max-ziplist-size", "5"]),
    );
    check(
        &mut c,
        &["CONFIG", "SET", "list-max-listpack-size", "-2147483648"],
        "+OK\r\n",
    );
    check(
        &mut c,
        &["CONFIG", "SET", "list-max-listpack-size", "2147483648"],
        "-ERR CONFIG SET failed (possibly related to argument 'list-max-listpack-size') - argument \
         must be between -2147483648 and 2147483647 inclusive\r\n",
    );
    check(
        &mut c,
        &["CONFIG", "SET", "list-max-listpack-size", "1k"],
        "-ERR CONFIG SET failed (possibly related to argument 'list-max-listpack-size') - argument \
         couldn't be parsed into an integer\r\n",
    );
    check(
        &mut c,
        &["CONFIG", "SET", "list-compress-depth", "-1"],
        "-ERR CONFIG SET failed (possibly related to argument 'list-compress-depth') - argument must \
         be between 0 and 2147483647 inclusive\r\n",
    );
    check(
        &mut c,
        &["CONFIG", "SET", "list-compress-depth", "3"],
        "+OK\r\n",
    );
    check(
        &mut c,
        &["CONFIG", "GET", "list-compress-depth"],
        &bulks(&["list-compress-depth", "3"]),
    );
}

#[test]
fn inline_and_pipelined_forms() {
    let s = server();
    let mut c = s.raw();
    c.send(b"RPUSH l a \"b c\" d\r\nLRANGE l 0 -1\r\nLPOP l 2\r\nLLEN l\r\n");
    assert_eq!(c.read_reply(), b":3\r\n");
    assert_eq!(c.read_reply(), bulks(&["a", "b c", "d"]).as_bytes());
    assert_eq!(c.read_reply(), bulks(&["a", "b c"]).as_bytes());
    assert_eq!(c.read_reply(), b":1\r\n");
}

#[test]
fn blocking_argument_errors_and_immediate_service() {
    let s = server();
    let mut c = s.raw();
    let not_float = "-ERR timeout is not a float or out of range\r\n";
    let negative = "-ERR timeout is negative\r\n";
    for t in ["abc", "0.1x", " 1", "nan", ""] {
        check(&mut c, &["BLPOP", "l", t], not_float);
    }
    for t in ["-1", "inf", "-inf", "1e400", "9223372036854775807", "1e16"] {
        check(&mut c, &["BLPOP", "l", t], negative);
    }
    check(
        &mut c,
        &["BLMOVE", "l", "d", "left", "left", "x"],
        not_float,
    );
    check(&mut c, &["BLMOVE", "l", "d", "up", "left", "x"], SYNTAX);
    check(&mut c, &["BRPOPLPUSH", "l", "d", "-1"], negative);
    check(&mut c, &["BLMPOP", "x", "1", "l", "left"], not_float);
    check(
        &mut c,
        &["BLMPOP", "0", "0", "l", "left"],
        "-ERR numkeys should be greater than 0\r\n",
    );
    check(&mut c, &["BLMPOP", "0", "1", "l", "middle"], SYNTAX);
    // BLMPOP reads its COUNT before its timeout.
    check(
        &mut c,
        &["BLMPOP", "x", "1", "l", "left", "count", "0"],
        "-ERR count should be greater than 0\r\n",
    );
    check(&mut c, &["BLMPOP", "-1", "1", "l", "left"], negative);
    check(
        &mut c,
        &["BLPOP", "l"],
        "-ERR wrong number of arguments for 'blpop' command\r\n",
    );

    check(&mut c, &["RPUSH", "l", "a", "b", "c"], ":3\r\n");
    check(&mut c, &["BLPOP", "nokey", "l", "0"], &kv("l", "a"));
    check(&mut c, &["BRPOP", "l", "nokey", "0"], &kv("l", "c"));
    check(&mut c, &["BRPOPLPUSH", "l", "d", "0"], &bulk("b"));
    check(
        &mut c,
        &["BLMOVE", "d", "l", "left", "right", "0"],
        &bulk("b"),
    );
    check(&mut c, &["RPUSH", "l", "x", "y"], ":3\r\n");
    check(
        &mut c,
        &["BLMPOP", "0", "2", "nokey", "l", "right", "count", "2"],
        &kvs("l", &["y", "x"]),
    );
    c.cmds(HELLO3);
    check(&mut c, &["BLPOP", "l", "0"], &kv("l", "b"));
}

#[test]
fn multi_never_blocks() {
    let s = server();
    let mut c = s.raw();
    c.cmds(&["MULTI"]);
    for cmd in [
        &["BLPOP", "l", "10"][..],
        &["BRPOP", "l", "10"],
        &["BLMOVE", "l", "d", "left", "left", "10"],
        &["BRPOPLPUSH", "l", "d", "0"],
        &["BLMPOP", "0", "1", "l", "left"],
        &["RPUSH", "l", "v"],
        &["BLPOP", "l", "0"],
    ] {
        check(&mut c, cmd, "+QUEUED\r\n");
    }
    check(
        &mut c,
        &["EXEC"],
        &format!(
            "*7\r\n*-1\r\n*-1\r\n$-1\r\n$-1\r\n*-1\r\n:1\r\n{}",
            kv("l", "v")
        ),
    );
    c.cmds(HELLO3);
    c.cmds(&["MULTI"]);
    c.cmds(&["BLPOP", "l", "10"]);
    c.cmds(&["BLMOVE", "l", "d", "left", "left", "10"]);
    c.cmds(&["BLMPOP", "10", "1", "l", "left"]);
    check(&mut c, &["EXEC"], "*3\r\n_\r\n_\r\n_\r\n");
}

#[test]
fn blpop_wakes_on_push_from_another_connection() {
    let s = server();
    let mut a = s.raw();
    let mut b = s.raw();
    send(&mut a, &["BLPOP", "q", "0"]);
    wait_blocked(&mut b, 1);
    assert!(silent_for(&mut a, 50));
    check(&mut b, &["LPUSH", "q", "v"], ":1\r\n");
    assert_eq!(a.read_reply(), kv("q", "v").as_bytes());
    // The element went to the waiter: nothing is left.
    check(&mut b, &["EXISTS", "q"], ":0\r\n");
    wait_blocked(&mut b, 0);

    // RESP3: the same array.
    a.cmds(HELLO3);
    send(&mut a, &["BRPOP", "x", "q", "0"]);
    wait_blocked(&mut b, 1);
    check(&mut b, &["RPUSH", "q", "1", "2"], ":2\r\n");
    assert_eq!(a.read_reply(), kv("q", "2").as_bytes());
    check(&mut b, &["LRANGE", "q", "0", "-1"], &bulks(&["1"]));

    // BLMPOP served after blocking pops up to COUNT from the key that got data.
    send(
        &mut a,
        &["BLMPOP", "0", "2", "m", "n", "LEFT", "COUNT", "2"],
    );
    wait_blocked(&mut b, 1);
    check(&mut b, &["RPUSH", "n", "a", "b", "c"], ":3\r\n");
    assert_eq!(a.read_reply(), kvs("n", &["a", "b"]).as_bytes());

    // A key moved into place by RENAME wakes the waiter too.
    send(&mut a, &["BLPOP", "target", "0"]);
    wait_blocked(&mut b, 1);
    check(&mut b, &["RENAME", "n", "target"], "+OK\r\n");
    assert_eq!(a.read_reply(), kv("target", "c").as_bytes());
}

#[test]
fn fifo_order_across_three_clients() {
    let s = server();
    let mut w: Vec<RawConn> = (0..3).map(|_| s.raw()).collect();
    let mut p = s.raw();
    for (i, c) in w.iter_mut().enumerate() {
        send(c, &["BLPOP", "q", "0"]);
        wait_blocked(&mut p, i + 1);
    }
    // One push of two elements serves the first two waiters, in the order they came.
    check(&mut p, &["RPUSH", "q", "1", "2"], ":2\r\n");
    assert_eq!(w[0].read_reply(), kv("q", "1").as_bytes());
    assert_eq!(w[1].read_reply(), kv("q", "2").as_bytes());
    assert!(silent_for(&mut w[2], 50));
    check(&mut p, &["RPUSH", "q", "3", "4"], ":2\r\n");
    assert_eq!(w[2].read_reply(), kv("q", "3").as_bytes());
    check(&mut p, &["LRANGE", "q", "0", "-1"], &bulks(&["4"]));
    wait_blocked(&mut p, 0);
}

#[test]
fn served_from_the_signalled_key() {
    let s = server();
    let mut a = s.raw();
    let mut b = s.raw();
    // Pushed in one transaction, k2 first: the waiter is served from k2, as Redis does.
    send(&mut a, &["BLPOP", "k1", "k2", "0"]);
    wait_blocked(&mut b, 1);
    b.cmds(&["MULTI"]);
    b.cmds(&["RPUSH", "k2", "b"]);
    b.cmds(&["RPUSH", "k1", "a"]);
    check(&mut b, &["EXEC"], "*2\r\n:1\r\n:1\r\n");
    assert_eq!(a.read_reply(), kv("k2", "b").as_bytes());
    check(&mut b, &["LRANGE", "k1", "0", "-1"], &bulks(&["a"]));
    b.cmds(&["DEL", "k1"]);

    // A key of another type among the waited ones does not stop a push to another from serving it.
    send(&mut a, &["BLPOP", "k1", "k2", "0"]);
    wait_blocked(&mut b, 1);
    check(&mut b, &["SET", "k1", "str"], "+OK\r\n");
    check(&mut b, &["RPUSH", "k2", "v"], ":1\r\n");
    assert_eq!(a.read_reply(), kv("k2", "v").as_bytes());
    b.cmds(&["DEL", "k1"]);

    // LPUSH then DEL in one transaction wakes nobody: the client keeps waiting, in its place.
    send(&mut a, &["BLPOP", "k1", "0"]);
    wait_blocked(&mut b, 1);
    b.cmds(&["MULTI"]);
    b.cmds(&["LPUSH", "k1", "x"]);
    b.cmds(&["DEL", "k1"]);
    check(&mut b, &["EXEC"], "*2\r\n:1\r\n:1\r\n");
    assert!(silent_for(&mut a, 50));
    wait_blocked(&mut b, 1);
    check(&mut b, &["RPUSH", "k1", "y"], ":1\r\n");
    assert_eq!(a.read_reply(), kv("k1", "y").as_bytes());
}

#[test]
fn fractional_timeouts() {
    let s = server();
    let redis = std::env::var("LIST_AGAINST_REDIS").as_deref() == Ok("1");
    // Redis checks deadlines at its `hz` (100 ms); ferrokv wakes at the deadline itself.
    let slack = if redis { 400 } else { 150 };
    let mut c = s.raw();
    let cases: &[(&[&str], &str)] = &[
        (&["BLPOP", "q", "0.1"], "*-1\r\n"),
        (&["BRPOP", "q", "w", "0.1"], "*-1\r\n"),
        (&["BLMPOP", "0.1", "1", "q", "left"], "*-1\r\n"),
        // Timing out, BLMOVE and BRPOPLPUSH answer a null array too (not the null bulk of MULTI).
        (&["BLMOVE", "q", "d", "left", "left", "0.1"], "*-1\r\n"),
        (&["BRPOPLPUSH", "q", "d", "1e-1"], "*-1\r\n"),
    ];
    for (cmd, want) in cases {
        let t = Instant::now();
        check(&mut c, cmd, want);
        let ms = t.elapsed().as_millis() as u64;
        assert!((95..100 + slack).contains(&ms), "{cmd:?} took {ms} ms");
    }
    c.cmds(HELLO3);
    let t = Instant::now();
    check(&mut c, &["BLPOP", "q", "0.05"], "_\r\n");
    check(
        &mut c,
        &["BLMOVE", "q", "d", "left", "left", "0.05"],
        "_\r\n",
    );
    assert!(t.elapsed() < Duration::from_millis(100 + 2 * slack));
    // A deadline does not fire early for a client that was served, nor keep it after.
    let mut p = s.raw();
    send(&mut c, &["BLPOP", "q", "0.2"]);
    wait_blocked(&mut p, 1);
    p.cmds(&["RPUSH", "q", "v"]);
    assert_eq!(c.read_reply(), kv("q", "v").as_bytes());
    assert!(silent_for(&mut c, 300));
}

#[test]
fn blmove_chain_and_wrong_destination() {
    let s = server();
    let mut a = s.raw();
    let mut b = s.raw();
    let mut p = s.raw();
    // x -> y (a), y -> z (b): one push into x travels to z.
    send(&mut a, &["BLMOVE", "x", "y", "LEFT", "LEFT", "0"]);
    wait_blocked(&mut p, 1);
    send(&mut b, &["BRPOPLPUSH", "y", "z", "0"]);
    wait_blocked(&mut p, 2);
    check(&mut p, &["RPUSH", "x", "e"], ":1\r\n");
    assert_eq!(a.read_reply(), bulk("e").as_bytes());
    assert_eq!(b.read_reply(), bulk("e").as_bytes());
    check(&mut p, &["EXISTS", "x", "y"], ":0\r\n");
    check(&mut p, &["LRANGE", "z", "0", "-1"], &bulks(&["e"]));
    wait_blocked(&mut p, 0);

    // A destination of another type: the waiter gets WRONGTYPE and the element stays where it was.
    p.cmds(&["SET", "s", "str"]);
    send(&mut a, &["BLMOVE", "src", "s", "left", "left", "0"]);
    wait_blocked(&mut p, 1);
    check(&mut p, &["RPUSH", "src", "v"], ":1\r\n");
    assert_eq!(a.read_reply(), WRONGTYPE.as_bytes());
    check(&mut p, &["LRANGE", "src", "0", "-1"], &bulks(&["v"]));

    // The source is looked at first: with it missing, even a wrong-typed destination blocks.
    let id = client_id(&mut a);
    send(&mut a, &["BLMOVE", "none", "s", "left", "left", "0"]);
    wait_blocked(&mut p, 1);
    check(&mut p, &["CLIENT", "UNBLOCK", &id], ":1\r\n");
    assert_eq!(a.read_reply(), b"*-1\r\n");
}

#[test]
fn client_unblock() {
    let s = server();
    let mut a = s.raw();
    let mut p = s.raw();
    let id = client_id(&mut a);
    check(&mut p, &["CLIENT", "UNBLOCK", &id], ":0\r\n");
    send(&mut a, &["BLPOP", "q", "0"]);
    wait_blocked(&mut p, 1);
    check(&mut p, &["CLIENT", "UNBLOCK", &id, "TIMEOUT"], ":1\r\n");
    assert_eq!(a.read_reply(), b"*-1\r\n");
    send(&mut a, &["BLMPOP", "0", "1", "q", "left"]);
    wait_blocked(&mut p, 1);
    check(&mut p, &["CLIENT", "UNBLOCK", &id, "error"], ":1\r\n");
    assert_eq!(
        a.read_reply(),
        b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    check(&mut p, &["CLIENT", "UNBLOCK", &id, "error"], ":0\r\n");
    check(
        &mut p,
        &["CLIENT", "UNBLOCK", &id, "foo"],
        "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n",
    );
    // An unblocked client can block again and be served normally.
    send(&mut a, &["BRPOPLPUSH", "q", "d", "0"]);
    wait_blocked(&mut p, 1);
    p.cmds(&["RPUSH", "q", "v"]);
    assert_eq!(a.read_reply(), bulk("v").as_bytes());
    a.cmds(HELLO3);
    send(&mut a, &["BLPOP", "q", "0"]);
    wait_blocked(&mut p, 1);
    check(&mut p, &["CLIENT", "UNBLOCK", &id], ":1\r\n");
    assert_eq!(a.read_reply(), b"_\r\n");
}

#[test]
fn disconnected_waiter_does_not_eat_an_element() {
    let s = server();
    let mut p = s.raw();
    let mut gone = s.raw();
    send(&mut gone, &["BLPOP", "q", "0"]);
    wait_blocked(&mut p, 1);
    let mut a = s.raw();
    send(&mut a, &["BLPOP", "q", "0"]);
    wait_blocked(&mut p, 2);
    drop(gone);
    wait_blocked(&mut p, 1);
    check(&mut p, &["RPUSH", "q", "v"], ":1\r\n");
    assert_eq!(a.read_reply(), kv("q", "v").as_bytes());
}

#[test]
fn pipelined_commands_wait_for_the_unblock() {
    let s = server();
    let mut a = s.raw();
    let mut p = s.raw();
    let mut req = Vec::new();
    for cmd in [
        &["BLPOP", "q", "0"][..],
        &["RPUSH", "q", "after"],
        &["LRANGE", "q", "0", "-1"],
    ] {
        let args: Vec<&[u8]> = cmd.iter().map(|s| s.as_bytes()).collect();
        req.extend_from_slice(&encode(&args));
    }
    a.send(&req);
    wait_blocked(&mut p, 1);
    assert!(silent_for(&mut a, 50));
    // The RPUSH behind the BLPOP has not run.
    check(&mut p, &["EXISTS", "q"], ":0\r\n");
    check(&mut p, &["RPUSH", "q", "first"], ":1\r\n");
    assert_eq!(a.read_reply(), kv("q", "first").as_bytes());
    assert_eq!(a.read_reply(), b":1\r\n");
    assert_eq!(a.read_reply(), bulks(&["after"]).as_bytes());
}

#[test]
fn a_waiter_does_not_invalidate_watch() {
    let s = server();
    let mut a = s.raw();
    let mut w = s.raw();
    check(&mut w, &["WATCH", "q"], "+OK\r\n");
    send(&mut a, &["BLPOP", "q", "0"]);
    wait_blocked(&mut w, 1);
    w.cmds(&["MULTI"]);
    w.cmds(&["PING"]);
    check(&mut w, &["EXEC"], "*1\r\n+PONG\r\n");
    // LMPOP (keys found through numkeys) does invalidate it.
    let mut p = s.raw();
    p.cmds(&["RPUSH", "q", "a"]);
    assert_eq!(a.read_reply(), kv("q", "a").as_bytes());
    p.cmds(&["RPUSH", "m", "a", "b"]);
    check(&mut w, &["WATCH", "m"], "+OK\r\n");
    p.cmds(&["LMPOP", "1", "m", "left"]);
    w.cmds(&["MULTI"]);
    w.cmds(&["PING"]);
    check(&mut w, &["EXEC"], "*-1\r\n");
}

// ---------------------------------------------------------------------------------------------------------
// Differential run against a real redis-server.

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

/// One random list command (or a write of another type, so WRONGTYPE paths are hit), as strings.
fn random_command(r: &mut Rng) -> Vec<String> {
    let keys = ["a", "b", "c", "s"];
    let vals = [
        "x",
        "y",
        "z",
        "1",
        "-7",
        "long-value-beyond-twenty-two-bytes",
    ];
    let idx = ["0", "1", "-1", "2", "-3", "5", "-100", "100"];
    let wh = ["LEFT", "RIGHT", "left"];
    let k = |r: &mut Rng| r.pick(&keys).to_string();
    let v = |r: &mut Rng| r.pick(&vals).to_string();
    let i = |r: &mut Rng| r.pick(&idx).to_string();
    let mut cmd: Vec<String> = Vec::new();
    match r.below(24) {
        0 | 1 => {
            cmd.push(r.pick(&["LPUSH", "RPUSH"]).into());
            cmd.push(k(r));
            for _ in 0..1 + r.below(4) {
                cmd.push(v(r));
            }
        }
        2 => cmd.extend([r.pick(&["LPUSHX", "RPUSHX"]).into(), k(r), v(r)]),
        3 => cmd.extend([r.pick(&["LPOP", "RPOP"]).into(), k(r)]),
        4 => cmd.extend([
            r.pick(&["LPOP", "RPOP"]).into(),
            k(r),
            r.pick(&["0", "1", "3", "10", "-1"]).into(),
        ]),
        5 => cmd.extend(["LLEN".into(), k(r)]),
        6 | 7 => cmd.extend(["LRANGE".into(), k(r), i(r), i(r)]),
        8 => cmd.extend(["LINDEX".into(), k(r), i(r)]),
        9 => cmd.extend(["LSET".into(), k(r), i(r), v(r)]),
        10 => cmd.extend([
            "LINSERT".into(),
            k(r),
            r.pick(&["BEFORE", "after"]).into(),
            v(r),
            v(r),
        ]),
        11 => cmd.extend([
            "LREM".into(),
            k(r),
            r.pick(&["0", "1", "-1", "2", "-2"]).into(),
            v(r),
        ]),
        12 => cmd.extend(["LTRIM".into(), k(r), i(r), i(r)]),
        13 => {
            cmd.extend(["LPOS".into(), k(r), v(r)]);
            for _ in 0..r.below(3) {
                match r.below(3) {
                    0 => cmd.extend(["RANK".into(), r.pick(&["1", "2", "-1", "-2", "0"]).into()]),
                    1 => cmd.extend(["COUNT".into(), r.pick(&["0", "1", "2", "-1"]).into()]),
                    _ => cmd.extend(["MAXLEN".into(), r.pick(&["0", "1", "3"]).into()]),
                }
            }
        }
        14 => cmd.extend([
            "LMOVE".into(),
            k(r),
            k(r),
            r.pick(&wh).into(),
            r.pick(&wh).into(),
        ]),
        15 => cmd.extend(["RPOPLPUSH".into(), k(r), k(r)]),
        16 => {
            let n = 1 + r.below(3);
            cmd.extend(["LMPOP".into(), n.to_string()]);
            for _ in 0..n {
                cmd.push(k(r));
            }
            cmd.push(r.pick(&wh).into());
            if r.below(2) == 0 {
                cmd.extend(["COUNT".into(), r.pick(&["1", "2", "5", "0"]).into()]);
            }
        }
        // Blocking forms on keys that may be empty: only ones that answer at once (a list with data, a
        // wrong type, an argument error) are sent outside MULTI; see `differential_random_workload`.
        17 => cmd.extend([r.pick(&["BLPOP", "BRPOP"]).into(), k(r), k(r), "0".into()]),
        18 => cmd.extend([
            "BLMOVE".into(),
            k(r),
            k(r),
            r.pick(&wh).into(),
            r.pick(&wh).into(),
            "0".into(),
        ]),
        19 => cmd.extend([
            "BLMPOP".into(),
            "0".into(),
            "2".into(),
            k(r),
            k(r),
            r.pick(&wh).into(),
        ]),
        20 => cmd.extend(["SET".into(), "s".into(), v(r)]),
        21 => cmd.extend(["DEL".into(), k(r)]),
        22 => cmd.extend(["EXISTS".into(), k(r)]),
        _ => cmd.extend(["TYPE".into(), k(r)]),
    }
    cmd
}

/// True when a blocking command would find every key it reads empty, judged by asking `c` (Redis) first.
fn would_block(c: &mut RawConn, cmd: &[String]) -> bool {
    let keys: Vec<&String> = match cmd[0].as_str() {
        "BLPOP" | "BRPOP" => cmd[1..cmd.len() - 1].iter().collect(),
        "BLMOVE" => vec![&cmd[1]],
        "BLMPOP" => cmd[3..cmd.len() - 1].iter().collect(),
        _ => return false,
    };
    keys.iter().all(|k| c.cmds(&["EXISTS", k]) == ":0\r\n")
}

#[test]
fn differential_random_workload() {
    let Some(redis) = common::start_redis() else {
        return;
    };
    let ours = TestServer::start(&[]);
    for seed in [1u64, 0xfeed, 0x5eed_1157] {
        let mut r = Rng(seed);
        let mut a = redis.raw();
        let mut b = ours.raw();
        a.cmds(&["FLUSHALL"]);
        b.cmds(&["FLUSHALL"]);
        if seed == 0xfeed {
            a.cmds(HELLO3);
            b.cmds(HELLO3);
        }
        for n in 0..1500 {
            let cmd = random_command(&mut r);
            let args: Vec<&str> = cmd.iter().map(String::as_str).collect();
            // A blocking command that would wait runs inside MULTI, where it answers at once.
            let wrap = would_block(&mut a, &cmd);
            let (ra, rb) = if wrap {
                a.cmds(&["MULTI"]);
                b.cmds(&["MULTI"]);
                a.cmds(&args);
                b.cmds(&args);
                (a.cmds(&["EXEC"]), b.cmds(&["EXEC"]))
            } else {
                (a.cmds(&args), b.cmds(&args))
            };
            assert_eq!(rb, ra, "seed {seed:#x}, command #{n}: {args:?}");
        }
        for k in ["a", "b", "c", "s"] {
            let dump = |c: &mut RawConn| (c.cmds(&["TYPE", k]), c.cmds(&["LRANGE", k, "0", "-1"]));
            assert_eq!(dump(&mut b), dump(&mut a), "seed {seed:#x}, key {k}");
        }
    }
}

/// A blocking command counts as one call however often a push makes it look again, and a CLIENT UNBLOCK
/// ERROR counts as its failure (Redis 7.0's call() and updateStatsOnUnblock).
#[test]
fn blocked_commands_count_once_in_commandstats() {
    let s = server();
    let mut a = s.raw();
    let mut b = s.raw();
    check(&mut b, &["CONFIG", "RESETSTAT"], "+OK\r\n");
    send(&mut a, &["BLPOP", "l", "l2", "0"]);
    wait_blocked(&mut b, 1);
    // A push to a key it waits on that another client empties first makes it look again and wait on.
    check(&mut b, &["MULTI"], "+OK\r\n");
    check(&mut b, &["RPUSH", "l2", "x"], "+QUEUED\r\n");
    check(&mut b, &["DEL", "l2"], "+QUEUED\r\n");
    b.cmds(&["EXEC"]);
    check(&mut b, &["LPUSH", "l", "v"], ":1\r\n");
    assert_eq!(String::from_utf8_lossy(&a.read_reply()), bulks(&["l", "v"]));
    let id = client_id(&mut a);
    send(&mut a, &["BLPOP", "n", "0"]);
    wait_blocked(&mut b, 1);
    check(&mut b, &["CLIENT", "UNBLOCK", &id, "ERROR"], ":1\r\n");
    assert_eq!(
        String::from_utf8_lossy(&a.read_reply()),
        "-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    let stats = b.cmds(&["INFO", "commandstats"]);
    let line = stats
        .lines()
        .find(|l| l.starts_with("cmdstat_blpop:"))
        .expect("blpop stats");
    assert!(line.starts_with("cmdstat_blpop:calls=2,"), "{line}");
    assert!(line.ends_with("failed_calls=1"), "{line}");
    assert!(b
        .cmds(&["INFO", "errorstats"])
        .contains("errorstat_UNBLOCKED:count=1"));
}

/// The dirty counter (`rdb_changes_since_last_save`) moves as Redis 7.0.15 moves it: one per element
/// pushed, popped, removed or trimmed; a waiting BLPOP or BLMOVE served by a push counts nothing of its
/// own, a waiting BLMPOP its elements.
#[test]
fn dirty_counts_like_redis() {
    let s = server();
    let mut c = s.raw();
    let mut w = s.raw();
    check_dirty(
        &mut c,
        &[
            (&["LPUSH", "l", "a", "b", "c"], 3),
            (&["LPUSHX", "nx", "a", "b"], 0),
            (&["LINSERT", "l", "BEFORE", "zz", "x"], 0),
            (&["LREM", "l", "0", "a"], 1),
            (&["LTRIM", "l", "0", "-1"], 0),
            (&["RPUSH", "l", "d", "e", "f"], 3),
            (&["LTRIM", "l", "1", "-2"], 2),
            (&["LPOP", "l", "0"], 0),
            (&["RPOP", "l", "5"], 3),
        ],
    );
    send(&mut w, &["BLPOP", "q", "0"]);
    wait_blocked(&mut c, 1);
    check_dirty(&mut c, &[(&["RPUSH", "q", "a", "b", "c"], 3)]);
    assert_eq!(w.read_reply(), kv("q", "a").as_bytes());
    send(&mut w, &["BLMOVE", "m", "q", "LEFT", "LEFT", "0"]);
    wait_blocked(&mut c, 1);
    check_dirty(&mut c, &[(&["RPUSH", "m", "a"], 1)]);
    assert_eq!(w.read_reply(), bulk("a").as_bytes());
    send(&mut w, &["BLMPOP", "0", "1", "m", "LEFT", "COUNT", "2"]);
    wait_blocked(&mut c, 1);
    check_dirty(&mut c, &[(&["RPUSH", "m", "a", "b", "c"], 5)]);
    w.read_reply();
}
