//! The string family over raw RESP: every command's replies and errors as exact bytes (the bytes Redis
//! 7.0.15 sends), multibulk and inline, expiry options, encodings and keyspace statistics; then a
//! differential run of hand-written sequences and seeded random operands against a real `redis-server`.
//!
//! `STRINGS_AGAINST_REDIS=1` runs the byte-level tests against a real redis-server instead of ferrokv,
//! which is how their expected bytes were checked.

mod common;

use std::time::Duration;

use common::{check, RawConn, Rng, TestServer};

fn server() -> TestServer {
    if std::env::var("STRINGS_AGAINST_REDIS").as_deref() == Ok("1") {
        return common::start_redis().expect("redis-server");
    }
    TestServer::start(&[])
}

/// Sends one inline command line (no CRLF) and returns its raw reply.
fn inline(c: &mut RawConn, line: &str) -> String {
    c.send(format!("{line}\r\n").as_bytes());
    String::from_utf8_lossy(&c.read_reply()).into_owned()
}

/// True when the server knows `cmd` (other families may not exist yet on this tree).
fn has(c: &mut RawConn, args: &[&str]) -> bool {
    !c.cmds(args).starts_with("-ERR unknown command")
}

#[test]
fn get_and_set() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["GET", "k"], "$-1\r\n");
    check(&mut c, &["SET", "k", "v"], "+OK\r\n");
    check(&mut c, &["GET", "k"], "$1\r\nv\r\n");
    check(&mut c, &["set", "k", ""], "+OK\r\n");
    check(&mut c, &["get", "k"], "$0\r\n\r\n");
    check(&mut c, &["SET", "n", "-42"], "+OK\r\n");
    check(&mut c, &["GET", "n"], "$3\r\n-42\r\n");
    // Binary-safe keys and values.
    let bin: &[u8] = b"a\r\nb\0c";
    assert_eq!(c.cmd(&[b"SET", bin, bin]), b"+OK\r\n");
    assert_eq!(c.cmd(&[b"GET", bin]), b"$6\r\na\r\nb\0c\r\n");
    let big = "x".repeat(100_000);
    check(&mut c, &["SET", "big", &big], "+OK\r\n");
    check(&mut c, &["GET", "big"], &format!("$100000\r\n{big}\r\n"));
    check(
        &mut c,
        &["GET"],
        "-ERR wrong number of arguments for 'get' command\r\n",
    );
    check(
        &mut c,
        &["SET", "k"],
        "-ERR wrong number of arguments for 'set' command\r\n",
    );
}

#[test]
fn set_conditions_and_get() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["SET", "k", "1", "XX"], "$-1\r\n");
    check(&mut c, &["SET", "k", "1", "NX"], "+OK\r\n");
    check(&mut c, &["SET", "k", "2", "nx"], "$-1\r\n");
    check(&mut c, &["SET", "k", "3", "xx"], "+OK\r\n");
    check(&mut c, &["GET", "k"], "$1\r\n3\r\n");
    // Repeating an option is allowed; conflicting ones are not.
    check(&mut c, &["SET", "k", "4", "XX", "XX"], "+OK\r\n");
    check(
        &mut c,
        &["SET", "k", "v", "NX", "XX"],
        "-ERR syntax error\r\n",
    );
    check(
        &mut c,
        &["SET", "k", "v", "XX", "NX"],
        "-ERR syntax error\r\n",
    );
    check(&mut c, &["SET", "k", "v", "FOO"], "-ERR syntax error\r\n");
    check(
        &mut c,
        &["SET", "k", "v", "PERSIST"],
        "-ERR syntax error\r\n",
    );
    // GET returns the old value, with or without a condition.
    check(&mut c, &["SET", "k", "5", "GET"], "$1\r\n4\r\n");
    check(&mut c, &["SET", "new", "5", "GET"], "$-1\r\n");
    check(&mut c, &["GET", "new"], "$1\r\n5\r\n");
    check(&mut c, &["SET", "k", "6", "NX", "GET"], "$1\r\n5\r\n");
    check(&mut c, &["GET", "k"], "$1\r\n5\r\n");
    check(&mut c, &["SET", "none", "6", "XX", "GET"], "$-1\r\n");
    check(&mut c, &["EXISTS", "none"], ":0\r\n");
    check(&mut c, &["SET", "k", "7", "xx", "get"], "$1\r\n5\r\n");
}

#[test]
fn set_expire_options() {
    let s = server();
    let mut c = s.raw();
    let ttl = has(&mut c, &["TTL", "x"]);
    check(&mut c, &["SET", "k", "v", "EX", "100"], "+OK\r\n");
    if ttl {
        check(&mut c, &["TTL", "k"], ":100\r\n");
    }
    check(&mut c, &["SET", "k", "v", "KEEPTTL"], "+OK\r\n");
    if ttl {
        check(&mut c, &["TTL", "k"], ":100\r\n");
    }
    check(&mut c, &["SET", "k", "v"], "+OK\r\n");
    if ttl {
        check(&mut c, &["TTL", "k"], ":-1\r\n");
    }
    // A repeated expiry keeps the last value.
    check(
        &mut c,
        &["SET", "k", "v", "EX", "10", "EX", "200"],
        "+OK\r\n",
    );
    if ttl {
        check(&mut c, &["TTL", "k"], ":200\r\n");
    }
    check(&mut c, &["SET", "k", "v", "PX", "100000"], "+OK\r\n");
    check(&mut c, &["SET", "k", "v", "EXAT", "99999999999"], "+OK\r\n");
    check(
        &mut c,
        &["SET", "k", "v", "PXAT", "99999999999000"],
        "+OK\r\n",
    );
    // A deadline already past: the key is set and at once gone.
    check(&mut c, &["SET", "k", "v", "EXAT", "1"], "+OK\r\n");
    check(&mut c, &["GET", "k"], "$-1\r\n");
    for bad in [
        &["SET", "k", "v", "EX", "10", "PX", "100"][..],
        &["SET", "k", "v", "EX", "10", "KEEPTTL"],
        &["SET", "k", "v", "KEEPTTL", "PXAT", "10"],
        &["SET", "k", "v", "EXAT", "10", "PXAT", "10"],
        &["SET", "k", "v", "EX"],
        &["SET", "k", "v", "EX", "abc", "NX", "XX"],
    ] {
        check(&mut c, bad, "-ERR syntax error\r\n");
    }
    let invalid = "-ERR invalid expire time in 'set' command\r\n";
    for t in [
        &["EX", "0"][..],
        &["EX", "-5"],
        &["PX", "0"],
        &["EXAT", "0"],
        &["PXAT", "-1"],
        &["EX", "9223372036854776"],
        &["PX", "9223372036854775807"],
        // Fits once multiplied, overflows once the current time is added.
        &["EX", "9223372036854775"],
    ] {
        let mut args = vec!["SET", "k", "v"];
        args.extend_from_slice(t);
        check(&mut c, &args, invalid);
    }
    check(
        &mut c,
        &["SET", "k", "v", "EX", "abc"],
        "-ERR value is not an integer or out of range\r\n",
    );
    check(
        &mut c,
        &["SET", "k", "v", "EX", "1.5"],
        "-ERR value is not an integer or out of range\r\n",
    );
    // The largest representable deadlines are accepted.
    check(&mut c, &["SET", "k", "v", "EX", "9223372036854"], "+OK\r\n");
    check(
        &mut c,
        &["SET", "k", "v", "PXAT", "9223372036854775807"],
        "+OK\r\n",
    );
}

#[test]
fn short_expiry_really_expires() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["SET", "a", "v", "PX", "50"], "+OK\r\n");
    check(&mut c, &["PSETEX", "b", "50", "v"], "+OK\r\n");
    check(&mut c, &["SET", "c", "v"], "+OK\r\n");
    check(&mut c, &["GETEX", "c", "PX", "50"], "$1\r\nv\r\n");
    check(&mut c, &["SET", "d", "v", "PX", "50"], "+OK\r\n");
    check(&mut c, &["GETEX", "d", "PERSIST"], "$1\r\nv\r\n");
    check(&mut c, &["SET", "e", "1", "PX", "50"], "+OK\r\n");
    check(&mut c, &["INCR", "e"], ":2\r\n");
    std::thread::sleep(Duration::from_millis(150));
    check(
        &mut c,
        &["MGET", "a", "b", "c", "d", "e"],
        "*5\r\n$-1\r\n$-1\r\n$-1\r\n$1\r\nv\r\n$-1\r\n",
    );
    check(&mut c, &["SET", "a", "w", "XX"], "$-1\r\n");
}

#[test]
fn setnx_setex_psetex_getset() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["SETNX", "k", "v"], ":1\r\n");
    check(&mut c, &["SETNX", "k", "w"], ":0\r\n");
    check(&mut c, &["GET", "k"], "$1\r\nv\r\n");
    check(&mut c, &["SETEX", "k", "100", "x"], "+OK\r\n");
    check(&mut c, &["GET", "k"], "$1\r\nx\r\n");
    check(
        &mut c,
        &["SETEX", "k", "0", "x"],
        "-ERR invalid expire time in 'setex' command\r\n",
    );
    check(
        &mut c,
        &["SETEX", "k", "9223372036854776", "x"],
        "-ERR invalid expire time in 'setex' command\r\n",
    );
    check(
        &mut c,
        &["SETEX", "k", "x", "x"],
        "-ERR value is not an integer or out of range\r\n",
    );
    check(&mut c, &["PSETEX", "k", "100000", "y"], "+OK\r\n");
    check(
        &mut c,
        &["PSETEX", "k", "-1", "y"],
        "-ERR invalid expire time in 'psetex' command\r\n",
    );
    check(
        &mut c,
        &["PSETEX", "k", "9223372036854775807", "y"],
        "-ERR invalid expire time in 'psetex' command\r\n",
    );
    check(&mut c, &["GETSET", "k", "z"], "$1\r\ny\r\n");
    check(&mut c, &["GETSET", "new", "z"], "$-1\r\n");
    check(&mut c, &["GET", "new"], "$1\r\nz\r\n");
    if has(&mut c, &["TTL", "x"]) {
        // GETSET, like SET, clears the TTL.
        check(&mut c, &["TTL", "k"], ":-1\r\n");
    }
    check(
        &mut c,
        &["SETEX", "k", "1"],
        "-ERR wrong number of arguments for 'setex' command\r\n",
    );
}

#[test]
fn getdel_and_getex() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["GETDEL", "k"], "$-1\r\n");
    check(&mut c, &["SET", "k", "12"], "+OK\r\n");
    check(&mut c, &["GETDEL", "k"], "$2\r\n12\r\n");
    check(&mut c, &["EXISTS", "k"], ":0\r\n");

    check(&mut c, &["GETEX", "k"], "$-1\r\n");
    // A missing key answers null before its options' values are looked at.
    check(&mut c, &["GETEX", "k", "EX", "abc"], "$-1\r\n");
    check(&mut c, &["GETEX", "k", "EX", "0"], "$-1\r\n");
    check(&mut c, &["GETEX", "k", "NX"], "-ERR syntax error\r\n");
    check(&mut c, &["SET", "k", "v"], "+OK\r\n");
    check(&mut c, &["GETEX", "k"], "$1\r\nv\r\n");
    let ttl = has(&mut c, &["TTL", "x"]);
    check(&mut c, &["GETEX", "k", "EX", "100"], "$1\r\nv\r\n");
    if ttl {
        check(&mut c, &["TTL", "k"], ":100\r\n");
    }
    check(&mut c, &["GETEX", "k", "PERSIST"], "$1\r\nv\r\n");
    if ttl {
        check(&mut c, &["TTL", "k"], ":-1\r\n");
    }
    check(
        &mut c,
        &["GETEX", "k", "EXAT", "99999999999"],
        "$1\r\nv\r\n",
    );
    check(
        &mut c,
        &["GETEX", "k", "PXAT", "99999999999000"],
        "$1\r\nv\r\n",
    );
    for bad in [
        &["GETEX", "k", "EX", "10", "PX", "10"][..],
        &["GETEX", "k", "PERSIST", "EX", "10"],
        &["GETEX", "k", "EX", "10", "PERSIST"],
        &["GETEX", "k", "KEEPTTL"],
        &["GETEX", "k", "GET"],
        &["GETEX", "k", "EX"],
    ] {
        check(&mut c, bad, "-ERR syntax error\r\n");
    }
    check(&mut c, &["GETEX", "k", "PERSIST", "PERSIST"], "$1\r\nv\r\n");
    let invalid = "-ERR invalid expire time in 'getex' command\r\n";
    check(&mut c, &["GETEX", "k", "EX", "0"], invalid);
    check(&mut c, &["GETEX", "k", "PX", "-1"], invalid);
    check(&mut c, &["GETEX", "k", "EX", "9223372036854776"], invalid);
    check(
        &mut c,
        &["GETEX", "k", "PX", "9223372036854775807"],
        invalid,
    );
    check(
        &mut c,
        &["GETEX", "k", "EX", "x"],
        "-ERR value is not an integer or out of range\r\n",
    );
    // An absolute deadline already reached deletes the key after replying.
    check(&mut c, &["GETEX", "k", "EXAT", "1"], "$1\r\nv\r\n");
    check(&mut c, &["EXISTS", "k"], ":0\r\n");
    check(&mut c, &["SET", "k", "v"], "+OK\r\n");
    check(&mut c, &["GETEX", "k", "PXAT", "1"], "$1\r\nv\r\n");
    check(&mut c, &["EXISTS", "k"], ":0\r\n");
}

#[test]
fn mget_mset_msetnx() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["MGET", "a", "b"], "*2\r\n$-1\r\n$-1\r\n");
    check(&mut c, &["MSET", "a", "1", "b", "two"], "+OK\r\n");
    check(
        &mut c,
        &["MGET", "a", "nope", "b", "a"],
        "*4\r\n$1\r\n1\r\n$-1\r\n$3\r\ntwo\r\n$1\r\n1\r\n",
    );
    check(
        &mut c,
        &["MSET", "a", "1", "b"],
        "-ERR wrong number of arguments for 'mset' command\r\n",
    );
    check(
        &mut c,
        &["MSET", "a"],
        "-ERR wrong number of arguments for 'mset' command\r\n",
    );
    check(
        &mut c,
        &["MSETNX", "x", "1", "y"],
        "-ERR wrong number of arguments for 'msetnx' command\r\n",
    );
    check(&mut c, &["MSETNX", "b", "3", "c", "4"], ":0\r\n");
    check(&mut c, &["EXISTS", "c"], ":0\r\n");
    check(&mut c, &["MSETNX", "c", "3", "d", "4"], ":1\r\n");
    check(&mut c, &["MGET", "c", "d"], "*2\r\n$1\r\n3\r\n$1\r\n4\r\n");
    // The same key twice: the last value wins.
    check(&mut c, &["MSET", "e", "1", "e", "2"], "+OK\r\n");
    check(&mut c, &["MSETNX", "f", "1", "f", "2"], ":1\r\n");
    check(&mut c, &["MGET", "e", "f"], "*2\r\n$1\r\n2\r\n$1\r\n2\r\n");
    check(
        &mut c,
        &["MGET"],
        "-ERR wrong number of arguments for 'mget' command\r\n",
    );
}

#[test]
fn append_and_strlen() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["STRLEN", "k"], ":0\r\n");
    check(&mut c, &["APPEND", "k", "hello"], ":5\r\n");
    check(&mut c, &["APPEND", "k", " world"], ":11\r\n");
    check(&mut c, &["GET", "k"], "$11\r\nhello world\r\n");
    check(&mut c, &["STRLEN", "k"], ":11\r\n");
    check(&mut c, &["APPEND", "k", ""], ":11\r\n");
    check(&mut c, &["SET", "n", "-123"], "+OK\r\n");
    check(&mut c, &["STRLEN", "n"], ":4\r\n");
    check(&mut c, &["APPEND", "n", "45"], ":6\r\n");
    check(&mut c, &["GET", "n"], "$6\r\n-12345\r\n");
    check(&mut c, &["SET", "e", ""], "+OK\r\n");
    check(&mut c, &["STRLEN", "e"], ":0\r\n");
    if has(&mut c, &["TTL", "x"]) {
        check(&mut c, &["SET", "t", "v", "EX", "100"], "+OK\r\n");
        check(&mut c, &["APPEND", "t", "w"], ":2\r\n");
        check(&mut c, &["TTL", "t"], ":100\r\n");
    }
}

#[test]
fn getrange_and_substr() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["GETRANGE", "k", "0", "1"], "$0\r\n\r\n");
    check(&mut c, &["SET", "k", "Hello World"], "+OK\r\n");
    for (a, b, want) in [
        ("0", "4", "Hello"),
        ("-5", "-1", "World"),
        ("-1", "-5", ""),
        ("5", "3", ""),
        ("0", "-1", "Hello World"),
        ("0", "100", "Hello World"),
        ("-100", "2", "Hel"),
        ("20", "30", ""),
        ("-100", "-50", "H"),
        ("-50", "-100", ""),
        ("10", "10", "d"),
        ("-9223372036854775808", "9223372036854775807", "Hello World"),
    ] {
        let reply = format!("${}\r\n{want}\r\n", want.len());
        check(&mut c, &["GETRANGE", "k", a, b], &reply);
        check(&mut c, &["SUBSTR", "k", a, b], &reply);
    }
    check(
        &mut c,
        &["GETRANGE", "k", "x", "1"],
        "-ERR value is not an integer or out of range\r\n",
    );
    check(
        &mut c,
        &["GETRANGE", "k", "0", "1.0"],
        "-ERR value is not an integer or out of range\r\n",
    );
    check(&mut c, &["SET", "n", "12345"], "+OK\r\n");
    check(&mut c, &["GETRANGE", "n", "1", "2"], "$2\r\n23\r\n");
    check(&mut c, &["SET", "e", ""], "+OK\r\n");
    check(&mut c, &["GETRANGE", "e", "0", "-1"], "$0\r\n\r\n");
    check(
        &mut c,
        &["SUBSTR", "k", "0"],
        "-ERR wrong number of arguments for 'substr' command\r\n",
    );
}

#[test]
fn setrange() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["SETRANGE", "k", "5", "hi"], ":7\r\n");
    check(&mut c, &["GET", "k"], "$7\r\n\0\0\0\0\0hi\r\n");
    check(&mut c, &["SETRANGE", "k", "0", "HELLO"], ":7\r\n");
    check(&mut c, &["GET", "k"], "$7\r\nHELLOhi\r\n");
    check(&mut c, &["SETRANGE", "k", "6", "XYZ"], ":9\r\n");
    check(&mut c, &["GET", "k"], "$9\r\nHELLOhXYZ\r\n");
    check(&mut c, &["SETRANGE", "k", "2", ""], ":9\r\n");
    // Writing nothing to a missing key creates nothing.
    check(&mut c, &["SETRANGE", "none", "2", ""], ":0\r\n");
    check(&mut c, &["EXISTS", "none"], ":0\r\n");
    check(&mut c, &["SET", "n", "12345"], "+OK\r\n");
    check(&mut c, &["SETRANGE", "n", "1", "X"], ":5\r\n");
    check(&mut c, &["GET", "n"], "$5\r\n1X345\r\n");
    check(
        &mut c,
        &["SETRANGE", "k", "-1", "x"],
        "-ERR offset is out of range\r\n",
    );
    check(
        &mut c,
        &["SETRANGE", "k", "x", "x"],
        "-ERR value is not an integer or out of range\r\n",
    );
    let too_big = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";
    check(&mut c, &["SETRANGE", "k", "536870912", "x"], too_big);
    check(
        &mut c,
        &["SETRANGE", "k", "536870900", &"y".repeat(20)],
        too_big,
    );
    check(
        &mut c,
        &["SETRANGE", "k", "9223372036854775807", "x"],
        too_big,
    );
    check(&mut c, &["GET", "k"], "$9\r\nHELLOhXYZ\r\n");
}

#[test]
fn size_limit_follows_proto_max_bulk_len() {
    let s = server();
    let mut c = s.raw();
    if c.cmds(&["CONFIG", "SET", "proto-max-bulk-len", "1mb"]) != "+OK\r\n" {
        eprintln!("SKIPPED: CONFIG SET proto-max-bulk-len not available");
        return;
    }
    let too_big = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";
    check(&mut c, &["SETRANGE", "k", "1048575", "x"], ":1048576\r\n");
    check(&mut c, &["APPEND", "k", "x"], too_big);
    check(&mut c, &["SETRANGE", "k", "1048576", "x"], too_big);
    check(&mut c, &["STRLEN", "k"], ":1048576\r\n");
    let a = "x".repeat(600);
    check(&mut c, &["MSET", "a", &a, "b", &a], "+OK\r\n");
    check(
        &mut c,
        &["LCS", "a", "b", "LEN"],
        "-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\r\n",
    );
    check(
        &mut c,
        &["CONFIG", "SET", "proto-max-bulk-len", "512mb"],
        "+OK\r\n",
    );
    check(&mut c, &["LCS", "a", "b", "LEN"], ":600\r\n");
}

#[test]
fn incr_family() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["INCR", "n"], ":1\r\n");
    check(&mut c, &["INCR", "n"], ":2\r\n");
    check(&mut c, &["DECR", "n"], ":1\r\n");
    check(&mut c, &["INCRBY", "n", "10"], ":11\r\n");
    check(&mut c, &["DECRBY", "n", "5"], ":6\r\n");
    check(&mut c, &["INCRBY", "n", "-7"], ":-1\r\n");
    check(&mut c, &["GET", "n"], "$2\r\n-1\r\n");
    check(&mut c, &["DECR", "m"], ":-1\r\n");
    let not_int = "-ERR value is not an integer or out of range\r\n";
    check(&mut c, &["INCRBY", "n", "x"], not_int);
    check(&mut c, &["INCRBY", "n", "1.0"], not_int);
    check(&mut c, &["DECRBY", "n", "99999999999999999999"], not_int);
    check(
        &mut c,
        &["DECRBY", "n", "-9223372036854775808"],
        "-ERR decrement would overflow\r\n",
    );
    let overflow = "-ERR increment or decrement would overflow\r\n";
    check(&mut c, &["SET", "n", "9223372036854775807"], "+OK\r\n");
    check(&mut c, &["INCR", "n"], overflow);
    check(&mut c, &["SET", "n", "-9223372036854775808"], "+OK\r\n");
    check(&mut c, &["DECR", "n"], overflow);
    check(&mut c, &["INCRBY", "n", "9223372036854775807"], ":-1\r\n");
    for v in [" 1", "1 ", "01", "abc", "", "-0", "+1", "1.5", "0x10"] {
        check(&mut c, &["SET", "s", v], "+OK\r\n");
        check(&mut c, &["INCR", "s"], not_int);
    }
    if has(&mut c, &["TTL", "x"]) {
        check(&mut c, &["SET", "t", "5", "EX", "100"], "+OK\r\n");
        check(&mut c, &["INCR", "t"], ":6\r\n");
        check(&mut c, &["TTL", "t"], ":100\r\n");
    }
    check(
        &mut c,
        &["INCR"],
        "-ERR wrong number of arguments for 'incr' command\r\n",
    );
    check(
        &mut c,
        &["INCRBY", "n"],
        "-ERR wrong number of arguments for 'incrby' command\r\n",
    );
}

#[test]
fn incrbyfloat_matches_long_double() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["SET", "x", "0.1"], "+OK\r\n");
    check(&mut c, &["INCRBYFLOAT", "x", "0.2"], "$3\r\n0.3\r\n");
    check(&mut c, &["INCRBYFLOAT", "f", "10.5"], "$4\r\n10.5\r\n");
    check(&mut c, &["INCRBYFLOAT", "f", "0.1"], "$4\r\n10.6\r\n");
    check(&mut c, &["INCRBYFLOAT", "f", "-5"], "$3\r\n5.6\r\n");
    // 5.6 carries long double's error, and %.17Lf shows it once the integer part grows.
    check(
        &mut c,
        &["INCRBYFLOAT", "f", "1e3"],
        "$22\r\n1005.59999999999999998\r\n",
    );
    check(&mut c, &["SET", "f", "1"], "+OK\r\n");
    check(&mut c, &["INCRBYFLOAT", "f", "0x10"], "$2\r\n17\r\n");
    check(&mut c, &["INCRBYFLOAT", "f", "-17"], "$1\r\n0\r\n");
    check(&mut c, &["SET", "f", "1.5"], "+OK\r\n");
    check(&mut c, &["INCRBYFLOAT", "f", "1e-20"], "$3\r\n1.5\r\n");
    check(&mut c, &["SET", "f", "-0.5"], "+OK\r\n");
    check(&mut c, &["INCRBYFLOAT", "f", "0.5"], "$1\r\n0\r\n");
    check(&mut c, &["SET", "f", "10"], "+OK\r\n");
    check(&mut c, &["INCRBYFLOAT", "f", "+.5"], "$4\r\n10.5\r\n");
    check(&mut c, &["INCRBYFLOAT", "f", "5."], "$4\r\n15.5\r\n");
    // Beyond double's range, as long double allows.
    check(&mut c, &["SET", "f", "1.7976931348623157e308"], "+OK\r\n");
    let r = c.cmds(&["INCRBYFLOAT", "f", "1.7976931348623157e308"]);
    let want = "35953862697246313999184209354820886809677289388865835697062884153035325704624879270940\
                3737216774171128857586838851041378617416726902272110715794556052955234146997955372576789\
                6712363265880911888698590748945812549613388347692977582455524366671979077056642065650095\
                03223382416235440319971852753604933726679072768";
    assert_eq!(r, format!("$309\r\n{want}\r\n"));
    let bad = "-ERR value is not a valid float\r\n";
    for incr in ["x", "nan", " 1", "1 ", "", "1e5000", "1e-5000", "1_0"] {
        check(&mut c, &["INCRBYFLOAT", "f", incr], bad);
    }
    assert_eq!(c.cmd(&[b"INCRBYFLOAT", b"f", b"1\0x"]), bad.as_bytes());
    let nan = "-ERR increment would produce NaN or Infinity\r\n";
    for incr in ["inf", "-inf", "infinity"] {
        check(&mut c, &["INCRBYFLOAT", "f", incr], nan);
    }
    check(&mut c, &["SET", "f", "abc"], "+OK\r\n");
    check(&mut c, &["INCRBYFLOAT", "f", "1"], bad);
    check(&mut c, &["SET", "f", " 1"], "+OK\r\n");
    check(&mut c, &["INCRBYFLOAT", "f", "1"], bad);
    if has(&mut c, &["TTL", "x"]) {
        check(&mut c, &["SET", "t", "5", "EX", "100"], "+OK\r\n");
        check(&mut c, &["INCRBYFLOAT", "t", "1.5"], "$3\r\n6.5\r\n");
        check(&mut c, &["TTL", "t"], ":100\r\n");
    }
}

#[test]
fn lcs() {
    let s = server();
    let mut c = s.raw();
    check(
        &mut c,
        &["MSET", "a", "ohmytext", "b", "mynewtext"],
        "+OK\r\n",
    );
    check(&mut c, &["LCS", "a", "b"], "$6\r\nmytext\r\n");
    check(&mut c, &["LCS", "a", "b", "LEN"], ":6\r\n");
    check(
        &mut c,
        &["LCS", "a", "b", "IDX"],
        "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n\
         *2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n",
    );
    check(
        &mut c,
        &["LCS", "a", "b", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"],
        "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n\
         $3\r\nlen\r\n:6\r\n",
    );
    check(
        &mut c,
        &["LCS", "a", "b", "idx", "withmatchlen"],
        "*4\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n\
         *3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:6\r\n",
    );
    check(
        &mut c,
        &["LCS", "a", "b", "IDX", "MINMATCHLEN", "-5"],
        "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n\
         *2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n",
    );
    check(&mut c, &["LCS", "a", "b", "LEN", "WITHMATCHLEN"], ":6\r\n");
    check(&mut c, &["LCS", "a", "none"], "$0\r\n\r\n");
    check(
        &mut c,
        &["LCS", "none", "a", "IDX"],
        "*4\r\n$7\r\nmatches\r\n*0\r\n$3\r\nlen\r\n:0\r\n",
    );
    check(
        &mut c,
        &["LCS", "a", "b", "IDX", "LEN"],
        "-ERR If you want both the length and indexes, please just use IDX.\r\n",
    );
    check(&mut c, &["LCS", "a", "b", "FOO"], "-ERR syntax error\r\n");
    check(
        &mut c,
        &["LCS", "a", "b", "MINMATCHLEN"],
        "-ERR syntax error\r\n",
    );
    check(
        &mut c,
        &["LCS", "a", "b", "MINMATCHLEN", "x"],
        "-ERR value is not an integer or out of range\r\n",
    );
    check(&mut c, &["MSET", "n", "12345", "m", "2x34y5"], "+OK\r\n");
    check(&mut c, &["LCS", "n", "m"], "$4\r\n2345\r\n");
    check(
        &mut c,
        &["LCS", "a"],
        "-ERR wrong number of arguments for 'lcs' command\r\n",
    );
}

#[test]
fn inline_forms() {
    let s = server();
    let mut c = s.raw();
    assert_eq!(inline(&mut c, "SET k v"), "+OK\r\n");
    assert_eq!(inline(&mut c, "GET k"), "$1\r\nv\r\n");
    assert_eq!(inline(&mut c, "set q \"a b\" EX 100 GET"), "$-1\r\n");
    assert_eq!(inline(&mut c, "GET q"), "$3\r\na b\r\n");
    assert_eq!(inline(&mut c, "INCRBY n 5"), ":5\r\n");
    assert_eq!(inline(&mut c, "INCRBYFLOAT n 0.25"), "$4\r\n5.25\r\n");
    assert_eq!(inline(&mut c, "MSET a 1 b 2"), "+OK\r\n");
    assert_eq!(
        inline(&mut c, "MGET a b c"),
        "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n"
    );
    assert_eq!(inline(&mut c, "APPEND a 23"), ":3\r\n");
    assert_eq!(inline(&mut c, "GETRANGE a 1 -1"), "$2\r\n23\r\n");
    assert_eq!(inline(&mut c, "SET k v NX XX"), "-ERR syntax error\r\n");
    assert_eq!(
        inline(&mut c, "MSET a"),
        "-ERR wrong number of arguments for 'mset' command\r\n"
    );
    assert_eq!(inline(&mut c, "LCS a b LEN"), ":1\r\n");
}

#[test]
fn pipelined_replies_in_order() {
    let s = server();
    let mut c = s.raw();
    let mut req = Vec::new();
    for i in 0..200 {
        let v = i.to_string();
        req.extend(common::encode(&[b"SET", b"k", v.as_bytes()]));
        req.extend(common::encode(&[b"INCR", b"k"]));
        req.extend(common::encode(&[b"GETSET", b"k", b"x"]));
    }
    c.send(&req);
    for i in 0..200 {
        assert_eq!(c.read_reply(), b"+OK\r\n");
        assert_eq!(c.read_reply(), format!(":{}\r\n", i + 1).into_bytes());
        let n = (i + 1).to_string();
        assert_eq!(
            c.read_reply(),
            format!("${}\r\n{n}\r\n", n.len()).into_bytes()
        );
    }
}

#[test]
fn wrong_type_sets_nothing() {
    let s = server();
    let mut c = s.raw();
    let made = c.cmds(&["LPUSH", "l", "x"]) == ":1\r\n"
        || c.cmds(&["SADD", "l", "x"]) == ":1\r\n"
        || c.cmds(&["HSET", "l", "f", "v"]) == ":1\r\n";
    if !made {
        eprintln!("SKIPPED: no non-string type on this tree yet");
        return;
    }
    let wt = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
    for args in [
        &["GET", "l"][..],
        &["SET", "l", "v", "GET"],
        &["GETSET", "l", "v"],
        &["GETDEL", "l"],
        &["GETEX", "l"],
        &["GETEX", "l", "EX", "0"],
        &["APPEND", "l", "v"],
        &["STRLEN", "l"],
        &["GETRANGE", "l", "0", "1"],
        &["SETRANGE", "l", "0", "v"],
        &["SETRANGE", "l", "0", ""],
        &["INCR", "l"],
        &["DECRBY", "l", "2"],
        &["INCRBYFLOAT", "l", "1"],
    ] {
        check(&mut c, args, wt);
    }
    check(
        &mut c,
        &["LCS", "l", "none"],
        "-ERR The specified keys must contain string values\r\n",
    );
    check(&mut c, &["MGET", "l", "none"], "*2\r\n$-1\r\n$-1\r\n");
    check(&mut c, &["SET", "l", "v", "NX"], "$-1\r\n");
    // The option errors come first; a plain SET replaces any type.
    check(
        &mut c,
        &["SET", "l", "v", "GET", "EX", "0"],
        "-ERR invalid expire time in 'set' command\r\n",
    );
    check(&mut c, &["SET", "l", "v"], "+OK\r\n");
    check(&mut c, &["GET", "l"], "$1\r\nv\r\n");
}

#[test]
fn encodings_follow_redis() {
    let s = server();
    let mut c = s.raw();
    if !has(&mut c, &["OBJECT", "ENCODING", "x"]) {
        eprintln!("SKIPPED: OBJECT not on this tree yet");
        return;
    }
    let long = "x".repeat(45);
    let steps: &[(&[&str], &str)] = &[
        (&["SET", "a", "123"], "int"),
        (&["SET", "a", "0123"], "embstr"),
        (&["SET", "a", &long[..44]], "embstr"),
        (&["SET", "a", &long], "raw"),
        (&["SET", "a", "11111111111111111111"], "embstr"),
        (&["SETEX", "a", "100", "12"], "int"),
        (&["GETSET", "a", "99"], "int"),
        (&["SET", "a", "7", "GET"], "int"),
        (&["MSET", "a", "-5"], "int"),
        (&["APPEND", "b", "12"], "int"),
        (&["APPEND", "b", "3"], "raw"),
        (&["SET", "b", "12"], "int"),
        (&["APPEND", "b", ""], "raw"),
        (&["SETRANGE", "c", "0", "ab"], "raw"),
        (&["SET", "c", "v"], "embstr"),
        (&["SETRANGE", "c", "0", ""], "embstr"),
        (&["SETRANGE", "c", "0", "w"], "raw"),
        (&["INCR", "d"], "int"),
        (&["INCRBYFLOAT", "d", "1"], "embstr"),
        (&["INCRBY", "d", "1"], "int"),
        (&["INCRBYFLOAT", "e", &"1".repeat(50)], "raw"),
    ];
    for (args, enc) in steps {
        let r = c.cmds(args);
        assert!(!r.starts_with('-'), "{args:?}: {r}");
        let key = args[1];
        check(
            &mut c,
            &["OBJECT", "ENCODING", key],
            &format!("${}\r\n{enc}\r\n", enc.len()),
        );
    }
}

#[test]
fn resp3_replies() {
    let s = server();
    let mut c = s.raw();
    if !c.cmds(&["HELLO", "3"]).starts_with('%') {
        eprintln!("SKIPPED: HELLO 3 not on this tree yet");
        return;
    }
    check(&mut c, &["GET", "k"], "_\r\n");
    check(&mut c, &["SET", "k", "v", "XX"], "_\r\n");
    check(&mut c, &["SET", "k", "v", "GET"], "_\r\n");
    check(&mut c, &["GETDEL", "none"], "_\r\n");
    check(&mut c, &["GETEX", "none"], "_\r\n");
    check(&mut c, &["MGET", "k", "none"], "*2\r\n$1\r\nv\r\n_\r\n");
    check(
        &mut c,
        &["MSET", "a", "ohmytext", "b", "mynewtext"],
        "+OK\r\n",
    );
    check(
        &mut c,
        &["LCS", "a", "b", "IDX", "WITHMATCHLEN"],
        "%2\r\n$7\r\nmatches\r\n*2\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n\
         *3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n$3\r\nlen\r\n:6\r\n",
    );
    check(&mut c, &["INCRBYFLOAT", "f", "1.5"], "$3\r\n1.5\r\n");
}

#[test]
fn keyspace_hits_and_misses() {
    let s = server();
    let mut c = s.raw();
    let read = |c: &mut RawConn| -> Option<(u64, u64)> {
        let info = c.cmds(&["INFO", "stats"]);
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
        };
        Some((field("keyspace_hits:")?, field("keyspace_misses:")?))
    };
    let Some(before) = read(&mut c) else {
        eprintln!("SKIPPED: INFO stats has no keyspace counters on this tree yet");
        return;
    };
    for args in [
        &["SET", "a", "1"][..],
        &["GET", "a"],                 // hit
        &["GET", "zz"],                // miss
        &["MGET", "a", "zz", "a"],     // 2 hits, 1 miss
        &["SET", "a", "2", "GET"],     // hit
        &["SET", "q", "2", "GET"],     // miss
        &["GETSET", "a", "3"],         // hit
        &["GETDEL", "q"],              // hit
        &["GETEX", "a"],               // hit
        &["GETEX", "zz"],              // miss
        &["STRLEN", "a"],              // hit
        &["STRLEN", "zz"],             // miss
        &["GETRANGE", "a", "0", "1"],  // hit
        &["GETRANGE", "zz", "0", "1"], // miss
        &["GETRANGE", "zz", "x", "1"], // error before the lookup
        &["SUBSTR", "a", "0", "1"],    // hit
        &["LCS", "a", "zz"],           // hit, miss
        &["APPEND", "a", "x"],         // write lookups count nothing
        &["SETRANGE", "a", "0", "y"],
        &["INCR", "c"],
        &["INCRBYFLOAT", "c", "1"],
        &["SET", "a", "v", "NX"],
        &["MSETNX", "a", "1"],
        &["SETNX", "a", "1"],
        &["GETEX", "a", "EX", "0"],           // hit, then the error
        &["SET", "a", "v", "EX", "0", "GET"], // error before the lookup
    ] {
        c.cmds(args);
    }
    let after = read(&mut c).expect("stats");
    assert_eq!((after.0 - before.0, after.1 - before.1), (12, 7));
}

// ---------------------------------------------------------------------------------------------------------
// Differential: the same requests to ferrokv and to redis-server, byte for byte.

struct Pair {
    ours: RawConn,
    redis: RawConn,
    mismatches: Vec<String>,
}

impl Pair {
    fn run(&mut self, args: &[&str]) {
        let a = self.ours.cmds(args);
        let b = self.redis.cmds(args);
        if a != b && self.mismatches.len() < 20 {
            self.mismatches
                .push(format!("{args:?}\n  redis:   {b:?}\n  ferrokv: {a:?}"));
        }
    }
}

fn pair() -> Option<(TestServer, TestServer, Pair)> {
    let redis = common::start_redis()?;
    let ours = TestServer::start(&[]);
    let p = Pair {
        ours: ours.raw(),
        redis: redis.raw(),
        mismatches: Vec::new(),
    };
    Some((ours, redis, p))
}

#[test]
fn differential_sequences() {
    let Some((_o, _r, mut p)) = pair() else {
        return;
    };
    let m = "9223372036854775807";
    let cases: &[&[&[&str]]] = &[
        &[
            &["SET", "k", "v", "ex", "10", "px", "100"],
            &["SET", "k", "v", "EXAT", "9223372036854775"],
        ],
        &[
            &["SET", "k", "v", "PXAT", m],
            &["SET", "k", "v", "px", "9223372036854000000"],
        ],
        &[
            &["SET", "k", "v", "keepttl", "keepttl"],
            &["SET", "k", "v", "get", "get", "nx"],
        ],
        &[
            &["SET", "k", "1"],
            &["SET", "k", "2", "NX", "GET"],
            &["SET", "k", "3", "XX", "GET"],
            &["GET", "k"],
        ],
        &[
            &["SETNX", "k", "a"],
            &["SETNX", "k", "b"],
            &["GETSET", "k", "c"],
            &["GETDEL", "k"],
            &["GETDEL", "k"],
        ],
        &[
            &["SETEX", "k", "100", "v"],
            &["SETEX", "k", "-1", "v"],
            &["PSETEX", "k", "0", "v"],
            &["PSETEX", "k", "x", "v"],
        ],
        &[
            &["GETEX", "k", "PX"],
            &["SET", "k", "v"],
            &["GETEX", "k", "PXAT", "1", "PXAT", "2"],
            &["GET", "k"],
        ],
        &[
            &["MSET", "a", "1", "b", "2", "c", "3"],
            &["MGET", "a", "b", "c", "d"],
            &["MSETNX", "d", "4", "a", "5"],
            &["MSETNX", "d", "4"],
        ],
        &[
            &["APPEND", "s", "12"],
            &["APPEND", "s", "ab"],
            &["STRLEN", "s"],
            &["GETRANGE", "s", "1", "-2"],
            &["SUBSTR", "s", "-3", "5"],
        ],
        &[
            &["SETRANGE", "s", "3", "xyz"],
            &["SETRANGE", "s", "0", "Q"],
            &["GET", "s"],
            &["SETRANGE", "s", "0", ""],
        ],
        &[
            &["INCR", "n"],
            &["INCRBY", "n", "-9223372036854775808"],
            &["DECRBY", "n", m],
            &["DECR", "n"],
            &["INCR", "n"],
        ],
        &[
            &["SET", "f", "3.0"],
            &["INCRBYFLOAT", "f", "1.0e1"],
            &["INCRBYFLOAT", "f", "-13"],
            &["INCRBYFLOAT", "f", "0.1"],
            &["INCRBYFLOAT", "f", "0.7"],
        ],
        &[
            &["SET", "f", "1e300"],
            &["INCRBYFLOAT", "f", "1e300"],
            &["INCRBYFLOAT", "f", "-3e300"],
        ],
        &[
            &["INCRBYFLOAT", "f", "123456789012345678901234567890"],
            &["INCRBYFLOAT", "f", "0.0000000000000000001"],
        ],
        &[
            &["SET", "f", "-0.0000000000000000001"],
            &["INCRBYFLOAT", "f", "0"],
            &["INCRBYFLOAT", "f", "4e-4950"],
        ],
        &[
            &["MSET", "a", "abcabcbb", "b", "bcbbabcab"],
            &["LCS", "a", "b"],
            &["LCS", "a", "b", "IDX", "WITHMATCHLEN"],
            &["LCS", "a", "b", "IDX", "MINMATCHLEN", "2"],
        ],
        &[
            &["LCS", "a", "a", "IDX"],
            &["LCS", "x", "y", "LEN"],
            &["LCS", "a", "b", "MINMATCHLEN", "1", "MINMATCHLEN", "x"],
        ],
    ];
    for case in cases {
        p.run(&["DEL", "k", "a", "b", "c", "d", "s", "n", "f"]);
        for args in *case {
            p.run(args);
        }
    }
    assert!(p.mismatches.is_empty(), "{}", p.mismatches.join("\n"));
}

/// A random decimal operand of the kinds clients send INCRBYFLOAT.
fn float_operand(r: &mut Rng) -> String {
    match r.below(6) {
        0 => r.range(-1_000_000, 1_000_000).to_string(),
        1 => format!("{}.{:0w$}", r.range(-1000, 1000), r.below(1_000_000), w = 6),
        2 => format!("{}e{}", r.range(1, 9), r.range(-400, 400)),
        3 => format!("0.{}{}", "0".repeat(r.below(20) as usize), r.range(1, 999)),
        4 => (r.next() as i64).to_string(),
        _ => format!(
            "{}{}.{}",
            if r.below(2) == 0 { "-" } else { "" },
            r.below(100),
            r.below(10_000_000_000)
        ),
    }
}

#[test]
fn differential_random_operands() {
    let Some((_o, _r, mut p)) = pair() else {
        return;
    };
    let mut r = Rng(0x5EED_0005);
    for _ in 0..600 {
        let v = float_operand(&mut r);
        p.run(&["SET", "f", &v]);
        p.run(&["INCRBYFLOAT", "f", &float_operand(&mut r)]);
        p.run(&["INCRBYFLOAT", "f", &float_operand(&mut r)]);
    }
    for i in 0..200 {
        let alpha: &[&str] = if i % 2 == 0 {
            &["a", "b"]
        } else {
            &["a", "b", "c", "d"]
        };
        let a: String = (0..r.below(24)).map(|_| r.pick(alpha)).collect();
        let b: String = (0..r.below(24)).map(|_| r.pick(alpha)).collect();
        p.run(&["MSET", "a", &a, "b", &b]);
        p.run(&["LCS", "a", "b"]);
        p.run(&["LCS", "a", "b", "LEN"]);
        p.run(&["LCS", "a", "b", "IDX", "WITHMATCHLEN"]);
        let min = r.below(4).to_string();
        p.run(&["LCS", "a", "b", "IDX", "MINMATCHLEN", &min]);
    }
    for _ in 0..300 {
        let s: String = (0..r.below(9)).map(|_| r.pick(&["x", "y", "z"])).collect();
        p.run(&["SET", "s", &s]);
        let (a, b) = (r.range(-12, 12).to_string(), r.range(-12, 12).to_string());
        p.run(&["GETRANGE", "s", &a, &b]);
        let off = r.below(10).to_string();
        p.run(&["SETRANGE", "s", &off, r.pick(&["", "a", "bcd"])]);
        p.run(&["APPEND", "s", r.pick(&["", "1", "xy"])]);
        p.run(&["GET", "s"]);
    }
    assert!(p.mismatches.is_empty(), "{}", p.mismatches.join("\n"));
}

/// write that did nothing.
#[test]
fn dirty_counts_as_redis() {
    let s = server();
    let mut c = s.raw();
    let table: &[(&[&str], u64)] = &[
        (&["SET", "k", "v"], 1),
        (&["SET", "k", "v"], 1),
        (&["SET", "k", "w", "NX"], 0),
        (&["MSET", "a", "1", "a", "2", "b", "3"], 3),
        (&["MSETNX", "a", "1", "c", "2"], 0),
        (&["MSETNX", "c", "1", "d", "2"], 2),
        (&["APPEND", "k", ""], 1),
        (&["SETRANGE", "k", "0", ""], 0),
        (&["SETRANGE", "k", "0", "v"], 1),
        (&["INCRBY", "a", "0"], 1),
        (&["INCRBYFLOAT", "a", "0"], 1),
        (&["GETEX", "k"], 0),
        (&["GETEX", "k", "PERSIST"], 0),
        (&["GETEX", "k", "EX", "100"], 1),
        (&["GETEX", "k", "PERSIST"], 1),
        (&["GETDEL", "k"], 1),
        (&["GETDEL", "k"], 0),
        (&["LCS", "a", "b"], 0),
    ];
    common::check_dirty(&mut c, table);
}
