//! The sorted-set family over raw RESP: every command's replies and errors as exact bytes (the bytes
//! Redis 7.0.15 sends), RESP2 and RESP3, multibulk and inline; encodings and their conversion at the
//! configured thresholds; rank queries on a 10,000-member set against a reference sorted Vec; and a
//! seeded differential run against a real `redis-server` when one is installed.
//!
//! `ZSET_AGAINST_REDIS=1` runs the byte-level tests against a real redis-server instead of ferrokv,
//! which is how their expected bytes were checked.

mod common;

use common::{check, check_dirty, RawConn, TestServer};

fn server() -> TestServer {
    if std::env::var("ZSET_AGAINST_REDIS").as_deref() == Ok("1") {
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

/// A RESP bulk string.
fn b(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

/// A RESP2 array of bulk strings.
fn arr(items: &[&str]) -> String {
    let mut s = format!("*{}\r\n", items.len());
    for i in items {
        s.push_str(&b(i));
    }
    s
}

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const NOT_FLOAT: &str = "-ERR value is not a valid float\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const RANGE_FLOAT: &str = "-ERR min or max is not a float\r\n";
const RANGE_LEX: &str = "-ERR min or max not valid string range item\r\n";

#[test]
fn zadd_options_and_errors() {
    let s = server();
    let mut c = s.raw();
    check(
        &mut c,
        &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
        ":3\r\n",
    );
    check(&mut c, &["ZADD", "z", "1", "a"], ":0\r\n");
    check(&mut c, &["ZADD", "z", "CH", "5", "a", "6", "d"], ":2\r\n");
    check(&mut c, &["ZADD", "z", "5", "a", "6", "d"], ":0\r\n");
    check(&mut c, &["ZADD", "z", "INCR", "1", "a"], "$1\r\n6\r\n");
    check(&mut c, &["ZADD", "z", "XX", "INCR", "1", "nope"], "$-1\r\n");
    check(&mut c, &["ZADD", "z", "NX", "INCR", "1", "a"], "$-1\r\n");
    check(&mut c, &["ZADD", "z", "NX", "1", "a", "9", "e"], ":1\r\n");
    check(&mut c, &["ZSCORE", "z", "a"], "$1\r\n6\r\n");
    check(&mut c, &["ZADD", "z", "XX", "1", "a", "9", "f"], ":0\r\n");
    check(&mut c, &["ZSCORE", "z", "a"], "$1\r\n1\r\n");
    check(&mut c, &["ZSCORE", "z", "f"], "$-1\r\n");
    // GT and LT only ever move an existing score one way; new members are still added.
    check(
        &mut c,
        &["ZADD", "z", "GT", "CH", "0", "a", "7", "g"],
        ":1\r\n",
    );
    check(&mut c, &["ZADD", "z", "GT", "CH", "10", "a"], ":1\r\n");
    check(
        &mut c,
        &["ZADD", "z", "LT", "CH", "20", "a", "0", "b"],
        ":1\r\n",
    );
    check(
        &mut c,
        &["ZADD", "z", "XX", "GT", "CH", "1", "a", "100", "a"],
        ":1\r\n",
    );
    check(&mut c, &["ZADD", "z", "GT", "INCR", "-1", "a"], "$-1\r\n");
    check(
        &mut c,
        &["ZADD", "z", "LT", "INCR", "-1", "a"],
        "$2\r\n99\r\n",
    );
    check(
        &mut c,
        &["zadd", "z", "xx", "nx", "1", "a"],
        "-ERR XX and NX options at the same time are not compatible\r\n",
    );
    for opts in [["GT", "LT"], ["GT", "NX"], ["LT", "NX"]] {
        let mut a = vec!["ZADD", "z"];
        a.extend(opts);
        a.extend(["1", "a"]);
        check(
            &mut c,
            &a,
            "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n",
        );
    }
    check(
        &mut c,
        &["ZADD", "z", "INCR", "1", "a", "2", "b"],
        "-ERR INCR option supports a single increment-element pair\r\n",
    );
    // Pairs are counted before options are checked, scores before the key is touched.
    check(&mut c, &["ZADD", "z", "XX", "NX", "1"], SYNTAX);
    check(&mut c, &["ZADD", "z", "1", "a", "2"], SYNTAX);
    check(
        &mut c,
        &["ZADD", "z", "GT"],
        "-ERR wrong number of arguments for 'zadd' command\r\n",
    );
    check(&mut c, &["ZADD", "z", "GT", "1"], SYNTAX);
    check(&mut c, &["ZADD", "z", "1", "a", "x", "b"], NOT_FLOAT);
    check(&mut c, &["ZADD", "z", "nan", "a"], NOT_FLOAT);
    check(&mut c, &["ZADD", "new", "1", "a", "x", "b"], NOT_FLOAT);
    check(&mut c, &["EXISTS", "new"], ":0\r\n");
    check(&mut c, &["ZADD", "new", "XX", "1", "a"], ":0\r\n");
    check(&mut c, &["ZADD", "new", "XX", "INCR", "1", "a"], "$-1\r\n");
    check(&mut c, &["EXISTS", "new"], ":0\r\n");
    // inf + -inf is NaN: refused, nothing changes.
    check(&mut c, &["ZADD", "n", "INCR", "inf", "a"], "$3\r\ninf\r\n");
    check(
        &mut c,
        &["ZADD", "n", "INCR", "-inf", "a"],
        "-ERR resulting score is not a number (NaN)\r\n",
    );
    check(
        &mut c,
        &["ZINCRBY", "n", "-inf", "a"],
        "-ERR resulting score is not a number (NaN)\r\n",
    );
    check(&mut c, &["ZSCORE", "n", "a"], "$3\r\ninf\r\n");
}

#[test]
fn scores_parse_with_strtod_and_print_as_g17() {
    let s = server();
    let mut c = s.raw();
    for (input, shown) in [
        ("1.5", "1.5"),
        ("0.1", "0.10000000000000001"),
        ("-2", "-2"),
        ("+3", "3"),
        ("1e17", "1e+17"),
        ("123456789012345678", "1.2345678901234568e+17"),
        ("1e16", "10000000000000000"),
        ("0.0001", "0.0001"),
        ("0.00001", "1.0000000000000001e-05"),
        ("0x10", "16"),
        ("inf", "inf"),
        ("+Infinity", "inf"),
        ("-inf", "-inf"),
        ("1e-310", "9.9999999999999694e-311"),
        ("  ", ""),
    ] {
        if shown.is_empty() {
            check(&mut c, &["ZADD", "p", input, "m"], NOT_FLOAT);
            continue;
        }
        check(&mut c, &["ZADD", "p", input, "m"], ":1\r\n");
        check(&mut c, &["ZSCORE", "p", "m"], &b(shown));
        check(&mut c, &["ZREM", "p", "m"], ":1\r\n");
    }
    for bad in [
        "", " 1", "1 ", "1e400", "-1e400", "1e-400", "nan", "abc", "1.5x",
    ] {
        check(&mut c, &["ZADD", "p", bad, "m"], NOT_FLOAT);
    }
    assert_eq!(
        c.cmd(&[b"ZADD", b"p", b"1\x002", b"m"]),
        NOT_FLOAT.as_bytes()
    );
    // Range ends go through strtod without the whole-string rules: the empty string is 0, leading
    // spaces pass, overflow is infinity.
    check(
        &mut c,
        &["ZADD", "r", "0", "zero", "1", "one", "2", "two"],
        ":3\r\n",
    );
    check(&mut c, &["ZRANGEBYSCORE", "r", "", ""], &arr(&["zero"]));
    check(
        &mut c,
        &["ZRANGEBYSCORE", "r", " 1", "1e400"],
        &arr(&["one", "two"]),
    );
    check(
        &mut c,
        &["ZRANGEBYSCORE", "r", "(", "0x2"],
        &arr(&["one", "two"]),
    );
    check(&mut c, &["ZRANGEBYSCORE", "r", "1 ", "2"], RANGE_FLOAT);
    check(&mut c, &["ZRANGEBYSCORE", "r", "(nan", "2"], RANGE_FLOAT);
    check(&mut c, &["ZRANGEBYSCORE", "r", "1", "x"], RANGE_FLOAT);
    assert_eq!(
        c.cmd(&[b"ZRANGEBYSCORE", b"r", b"2\x00junk", b"+inf"]),
        arr(&["two"]).as_bytes()
    );
    // -0: the compact encoding stores integral scores as integers, the skiplist keeps the sign.
    check(&mut c, &["ZADD", "neg", "-0", "a"], ":1\r\n");
    check(&mut c, &["ZSCORE", "neg", "a"], &b("0"));
    check(&mut c, &["ZADD", "neg", "INCR", "-0", "b"], &b("-0"));
    check(&mut c, &["ZSCORE", "neg", "b"], &b("0"));
    check(
        &mut c,
        &["ZADD", "negs", "-0", "x".repeat(65).as_str()],
        ":1\r\n",
    );
    check(
        &mut c,
        &["ZSCORE", "negs", "x".repeat(65).as_str()],
        &b("-0"),
    );
}

#[test]
fn zincrby_zrem_zcard_zscore_zmscore() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["ZINCRBY", "z", "2.5", "a"], &b("2.5"));
    check(&mut c, &["ZINCRBY", "z", "-1", "a"], &b("1.5"));
    check(&mut c, &["ZINCRBY", "z", "x", "a"], NOT_FLOAT);
    check(&mut c, &["ZINCRBY", "z", "nx", "a"], SYNTAX);
    check(
        &mut c,
        &["ZINCRBY", "z", "1"],
        "-ERR wrong number of arguments for 'zincrby' command\r\n",
    );
    check(&mut c, &["ZADD", "z", "2", "b", "3", "c"], ":2\r\n");
    check(&mut c, &["ZCARD", "z"], ":3\r\n");
    check(&mut c, &["ZCARD", "nokey"], ":0\r\n");
    check(&mut c, &["ZSCORE", "z", "nope"], "$-1\r\n");
    check(&mut c, &["ZSCORE", "nokey", "a"], "$-1\r\n");
    check(
        &mut c,
        &["ZMSCORE", "z", "a", "nope", "c"],
        "*3\r\n$3\r\n1.5\r\n$-1\r\n$1\r\n3\r\n",
    );
    check(
        &mut c,
        &["ZMSCORE", "nokey", "a", "b"],
        "*2\r\n$-1\r\n$-1\r\n",
    );
    check(
        &mut c,
        &["ZMSCORE", "z"],
        "-ERR wrong number of arguments for 'zmscore' command\r\n",
    );
    check(&mut c, &["ZREM", "z", "a", "nope", "a"], ":1\r\n");
    check(&mut c, &["ZREM", "nokey", "a"], ":0\r\n");
    check(&mut c, &["ZREM", "z", "b", "c", "d"], ":2\r\n");
    check(&mut c, &["EXISTS", "z"], ":0\r\n");
}

#[test]
fn zrange_by_rank() {
    let s = server();
    let mut c = s.raw();
    check(
        &mut c,
        &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"],
        ":4\r\n",
    );
    check(
        &mut c,
        &["ZRANGE", "z", "0", "-1"],
        &arr(&["a", "b", "c", "d"]),
    );
    check(
        &mut c,
        &["ZRANGE", "z", "1", "2", "WITHSCORES"],
        &arr(&["b", "2", "c", "3"]),
    );
    check(&mut c, &["ZRANGE", "z", "-2", "-1"], &arr(&["c", "d"]));
    check(
        &mut c,
        &["ZRANGE", "z", "-100", "100"],
        &arr(&["a", "b", "c", "d"]),
    );
    check(&mut c, &["ZRANGE", "z", "3", "1"], "*0\r\n");
    check(&mut c, &["ZRANGE", "z", "4", "10"], "*0\r\n");
    check(&mut c, &["ZRANGE", "z", "0", "-100"], "*0\r\n");
    check(&mut c, &["ZRANGE", "z", "0", "1", "REV"], &arr(&["d", "c"]));
    check(
        &mut c,
        &["ZREVRANGE", "z", "0", "-1", "WITHSCORES"],
        &arr(&["d", "4", "c", "3", "b", "2", "a", "1"]),
    );
    check(&mut c, &["ZREVRANGE", "z", "1", "1"], &arr(&["c"]));
    check(&mut c, &["ZRANGE", "nokey", "0", "-1"], "*0\r\n");
    check(&mut c, &["ZRANGE", "z", "x", "1"], NOT_INT);
    check(&mut c, &["ZREVRANGE", "z", "0", "1", "REV"], SYNTAX);
    check(&mut c, &["ZRANGE", "z", "0", "-1", "REV", "REV"], SYNTAX);
    check(
        &mut c,
        &["ZRANGE", "z", "0", "-1", "BYSCORE", "BYLEX"],
        SYNTAX,
    );
    check(&mut c, &["ZRANGE", "z", "0", "-1", "LIMIT", "0"], SYNTAX);
    check(
        &mut c,
        &["ZRANGE", "z", "0", "-1", "LIMIT", "x", "1"],
        NOT_INT,
    );
    check(
        &mut c,
        &["ZRANGE", "z", "0", "-1", "LIMIT", "0", "5"],
        "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n",
    );
    // A count of -1 is "no LIMIT" to Redis's check.
    check(
        &mut c,
        &["ZRANGE", "z", "0", "-1", "LIMIT", "2", "-1"],
        &arr(&["a", "b", "c", "d"]),
    );
    check(
        &mut c,
        &["ZRANGE", "z", "0", "-1", "WITHSCORES", "WITHSCORES"],
        &arr(&["a", "1", "b", "2", "c", "3", "d", "4"]),
    );
    check(
        &mut c,
        &["ZRANGE", "z", "0"],
        "-ERR wrong number of arguments for 'zrange' command\r\n",
    );
}

#[test]
fn zrange_by_score_and_lex() {
    let s = server();
    let mut c = s.raw();
    check(
        &mut c,
        &[
            "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
        ],
        ":5\r\n",
    );
    check(
        &mut c,
        &["ZRANGEBYSCORE", "z", "-inf", "+inf"],
        &arr(&["a", "b", "c", "d", "e"]),
    );
    check(
        &mut c,
        &["ZRANGEBYSCORE", "z", "(2", "4", "WITHSCORES"],
        &arr(&["c", "3", "d", "4"]),
    );
    check(
        &mut c,
        &["ZRANGEBYSCORE", "z", "2", "(4"],
        &arr(&["b", "c"]),
    );
    check(&mut c, &["ZRANGEBYSCORE", "z", "(3", "(3"], "*0\r\n");
    check(&mut c, &["ZRANGEBYSCORE", "z", "3", "3"], &arr(&["c"]));
    check(&mut c, &["ZRANGEBYSCORE", "z", "4", "2"], "*0\r\n");
    check(
        &mut c,
        &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "1", "2"],
        &arr(&["b", "c"]),
    );
    check(
        &mut c,
        &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "3", "-1"],
        &arr(&["d", "e"]),
    );
    check(
        &mut c,
        &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "-1", "2"],
        "*0\r\n",
    );
    check(
        &mut c,
        &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "0", "0"],
        "*0\r\n",
    );
    check(
        &mut c,
        &["ZRANGEBYSCORE", "z", "-inf", "+inf", "LIMIT", "9", "1"],
        "*0\r\n",
    );
    check(
        &mut c,
        &["ZRANGEBYSCORE", "z", "-inf", "+inf", "REV"],
        SYNTAX,
    );
    check(
        &mut c,
        &[
            "ZREVRANGEBYSCORE",
            "z",
            "+inf",
            "-inf",
            "WITHSCORES",
            "LIMIT",
            "1",
            "2",
        ],
        &arr(&["d", "4", "c", "3"]),
    );
    check(
        &mut c,
        &["ZREVRANGEBYSCORE", "z", "(4", "2"],
        &arr(&["c", "b"]),
    );
    check(&mut c, &["ZREVRANGEBYSCORE", "z", "2", "4"], "*0\r\n");
    check(
        &mut c,
        &["ZRANGE", "z", "(1", "3", "BYSCORE"],
        &arr(&["b", "c"]),
    );
    check(
        &mut c,
        &[
            "ZRANGE", "z", "3", "(1", "BYSCORE", "REV", "LIMIT", "0", "1",
        ],
        &arr(&["c"]),
    );
    check(&mut c, &["ZRANGEBYSCORE", "z", "a", "b"], RANGE_FLOAT);
    check(&mut c, &["ZRANGEBYSCORE", "nokey", "a", "b"], RANGE_FLOAT);
    check(&mut c, &["ZRANGEBYSCORE", "nokey", "0", "1"], "*0\r\n");

    check(
        &mut c,
        &[
            "ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e",
        ],
        ":5\r\n",
    );
    check(
        &mut c,
        &["ZRANGEBYLEX", "l", "-", "+"],
        &arr(&["a", "b", "c", "d", "e"]),
    );
    check(&mut c, &["ZRANGEBYLEX", "l", "[b", "(d"], &arr(&["b", "c"]));
    check(
        &mut c,
        &["ZRANGEBYLEX", "l", "(b", "[d", "LIMIT", "1", "5"],
        &arr(&["d"]),
    );
    check(&mut c, &["ZRANGEBYLEX", "l", "+", "-"], "*0\r\n");
    check(&mut c, &["ZRANGEBYLEX", "l", "-", "-"], "*0\r\n");
    check(&mut c, &["ZRANGEBYLEX", "l", "(c", "[c"], "*0\r\n");
    check(&mut c, &["ZRANGEBYLEX", "l", "[c", "[c"], &arr(&["c"]));
    check(&mut c, &["ZRANGEBYLEX", "l", "[", "[b"], &arr(&["a", "b"]));
    check(
        &mut c,
        &["ZREVRANGEBYLEX", "l", "+", "-", "LIMIT", "1", "2"],
        &arr(&["d", "c"]),
    );
    check(
        &mut c,
        &["ZREVRANGEBYLEX", "l", "[d", "(a"],
        &arr(&["d", "c", "b"]),
    );
    check(
        &mut c,
        &["ZRANGE", "l", "[b", "[c", "BYLEX"],
        &arr(&["b", "c"]),
    );
    check(
        &mut c,
        &["ZRANGE", "l", "[c", "[b", "BYLEX", "REV"],
        &arr(&["c", "b"]),
    );
    check(&mut c, &["ZRANGEBYLEX", "l", "a", "[b"], RANGE_LEX);
    check(&mut c, &["ZRANGEBYLEX", "l", "-x", "+"], RANGE_LEX);
    check(
        &mut c,
        &["ZRANGEBYLEX", "l", "-", "+", "WITHSCORES"],
        "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n",
    );
    check(
        &mut c,
        &["ZRANGE", "l", "-", "+", "BYLEX", "WITHSCORES"],
        "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n",
    );
    assert_eq!(c.cmd(&[b"ZRANGEBYLEX", b"l", b"+\x00x", b"+"]), b"*0\r\n");
}

#[test]
fn zrangestore() {
    let s = server();
    let mut c = s.raw();
    check(
        &mut c,
        &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
        ":3\r\n",
    );
    check(&mut c, &["ZRANGESTORE", "d", "z", "0", "1"], ":2\r\n");
    check(
        &mut c,
        &["ZRANGE", "d", "0", "-1", "WITHSCORES"],
        &arr(&["a", "1", "b", "2"]),
    );
    check(
        &mut c,
        &[
            "ZRANGESTORE",
            "d",
            "z",
            "+inf",
            "(1",
            "BYSCORE",
            "REV",
            "LIMIT",
            "0",
            "1",
        ],
        ":1\r\n",
    );
    check(
        &mut c,
        &["ZRANGE", "d", "0", "-1", "WITHSCORES"],
        &arr(&["c", "3"]),
    );
    check(
        &mut c,
        &["ZRANGESTORE", "d", "z", "[b", "+", "BYLEX"],
        ":2\r\n",
    );
    check(&mut c, &["ZRANGE", "d", "0", "-1"], &arr(&["b", "c"]));
    check(
        &mut c,
        &["ZRANGESTORE", "d", "z", "0", "-1", "WITHSCORES"],
        SYNTAX,
    );
    check(&mut c, &["ZRANGESTORE", "d", "z", "0", "-1", "LIMIT", "0", "1"], "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n");
    // Any old value is replaced (and its deadline dropped); an empty result deletes the destination.
    check(&mut c, &["SET", "s", "x", "EX", "100"], "+OK\r\n");
    check(&mut c, &["ZRANGESTORE", "s", "z", "0", "0"], ":1\r\n");
    check(&mut c, &["TTL", "s"], ":-1\r\n");
    check(&mut c, &["TYPE", "s"], "+zset\r\n");
    check(&mut c, &["ZRANGESTORE", "s", "z", "5", "6"], ":0\r\n");
    check(&mut c, &["EXISTS", "s"], ":0\r\n");
    check(&mut c, &["SET", "s", "x"], "+OK\r\n");
    check(&mut c, &["ZRANGESTORE", "s", "nokey", "0", "-1"], ":0\r\n");
    check(&mut c, &["EXISTS", "s"], ":0\r\n");
    check(&mut c, &["SET", "str", "x"], "+OK\r\n");
    check(&mut c, &["ZRANGESTORE", "d", "str", "0", "-1"], WRONGTYPE);
    check(&mut c, &["ZRANGESTORE", "z", "z", "1", "1"], ":1\r\n");
    check(&mut c, &["ZRANGE", "z", "0", "-1"], &arr(&["b"]));
}

#[test]
fn zcount_zlexcount_zrank() {
    let s = server();
    let mut c = s.raw();
    check(
        &mut c,
        &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
        ":3\r\n",
    );
    check(&mut c, &["ZCOUNT", "z", "-inf", "+inf"], ":3\r\n");
    check(&mut c, &["ZCOUNT", "z", "(1", "3"], ":2\r\n");
    check(&mut c, &["ZCOUNT", "z", "(1", "(2"], ":0\r\n");
    check(&mut c, &["ZCOUNT", "z", "x", "3"], RANGE_FLOAT);
    check(&mut c, &["ZCOUNT", "nokey", "0", "1"], ":0\r\n");
    check(&mut c, &["ZRANK", "z", "a"], ":0\r\n");
    check(&mut c, &["ZRANK", "z", "c"], ":2\r\n");
    check(&mut c, &["ZREVRANK", "z", "c"], ":0\r\n");
    check(&mut c, &["ZRANK", "z", "nope"], "$-1\r\n");
    check(&mut c, &["ZREVRANK", "nokey", "a"], "$-1\r\n");
    check(
        &mut c,
        &["ZRANK", "z", "a", "WITHSCORE"],
        "-ERR wrong number of arguments for 'zrank' command\r\n",
    );
    check(
        &mut c,
        &["ZADD", "l", "0", "a", "0", "b", "0", "c"],
        ":3\r\n",
    );
    check(&mut c, &["ZLEXCOUNT", "l", "-", "+"], ":3\r\n");
    check(&mut c, &["ZLEXCOUNT", "l", "(a", "[c"], ":2\r\n");
    check(&mut c, &["ZLEXCOUNT", "l", "+", "-"], ":0\r\n");
    check(&mut c, &["ZLEXCOUNT", "l", "x", "+"], RANGE_LEX);
    check(&mut c, &["ZLEXCOUNT", "nokey", "-", "+"], ":0\r\n");
}

#[test]
fn zremrange() {
    let s = server();
    let mut c = s.raw();
    check(
        &mut c,
        &[
            "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
        ],
        ":5\r\n",
    );
    check(&mut c, &["ZREMRANGEBYRANK", "z", "0", "0"], ":1\r\n");
    check(&mut c, &["ZREMRANGEBYRANK", "z", "-1", "-1"], ":1\r\n");
    check(&mut c, &["ZREMRANGEBYRANK", "z", "5", "10"], ":0\r\n");
    check(&mut c, &["ZREMRANGEBYRANK", "z", "x", "1"], NOT_INT);
    check(&mut c, &["ZRANGE", "z", "0", "-1"], &arr(&["b", "c", "d"]));
    check(&mut c, &["ZREMRANGEBYSCORE", "z", "(2", "3"], ":1\r\n");
    check(&mut c, &["ZREMRANGEBYSCORE", "z", "x", "3"], RANGE_FLOAT);
    check(&mut c, &["ZREMRANGEBYSCORE", "z", "-inf", "+inf"], ":2\r\n");
    check(&mut c, &["EXISTS", "z"], ":0\r\n");
    check(
        &mut c,
        &["ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d"],
        ":4\r\n",
    );
    check(&mut c, &["ZREMRANGEBYLEX", "l", "[b", "(d"], ":2\r\n");
    check(&mut c, &["ZREMRANGEBYLEX", "l", "x", "y"], RANGE_LEX);
    check(&mut c, &["ZRANGE", "l", "0", "-1"], &arr(&["a", "d"]));
    check(&mut c, &["ZREMRANGEBYLEX", "l", "-", "+"], ":2\r\n");
    check(&mut c, &["EXISTS", "l"], ":0\r\n");
    check(&mut c, &["ZREMRANGEBYRANK", "nokey", "0", "-1"], ":0\r\n");
    check(&mut c, &["ZREMRANGEBYSCORE", "nokey", "0", "1"], ":0\r\n");
    check(&mut c, &["ZREMRANGEBYLEX", "nokey", "-", "+"], ":0\r\n");
}

#[test]
fn zpop_and_zmpop() {
    let s = server();
    let mut c = s.raw();
    check(
        &mut c,
        &["ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d"],
        ":4\r\n",
    );
    check(&mut c, &["ZPOPMIN", "z"], &arr(&["a", "1"]));
    check(&mut c, &["ZPOPMAX", "z"], &arr(&["d", "4"]));
    check(&mut c, &["ZPOPMIN", "z", "0"], "*0\r\n");
    check(&mut c, &["ZPOPMAX", "z", "10"], &arr(&["c", "3", "b", "2"]));
    check(&mut c, &["EXISTS", "z"], ":0\r\n");
    check(&mut c, &["ZPOPMIN", "z"], "*0\r\n");
    check(
        &mut c,
        &["ZPOPMIN", "z", "-1"],
        "-ERR value is out of range, must be positive\r\n",
    );
    check(
        &mut c,
        &["ZPOPMIN", "z", "x"],
        "-ERR value is out of range, must be positive\r\n",
    );
    check(&mut c, &["ZPOPMIN", "z", "1", "2"], SYNTAX);
    check(
        &mut c,
        &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
        ":3\r\n",
    );
    check(
        &mut c,
        &["ZMPOP", "2", "nokey", "z", "MIN"],
        "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n",
    );
    check(
        &mut c,
        &["ZMPOP", "1", "z", "max", "COUNT", "5"],
        "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
    );
    check(&mut c, &["EXISTS", "z"], ":0\r\n");
    check(&mut c, &["ZMPOP", "1", "z", "MIN"], "*-1\r\n");
    check(
        &mut c,
        &["ZMPOP", "0", "z", "MIN"],
        "-ERR numkeys should be greater than 0\r\n",
    );
    check(
        &mut c,
        &["ZMPOP", "x", "z", "MIN"],
        "-ERR numkeys should be greater than 0\r\n",
    );
    check(
        &mut c,
        &["ZMPOP", "1", "z", "MIN", "COUNT", "0"],
        "-ERR count should be greater than 0\r\n",
    );
    check(
        &mut c,
        &["ZMPOP", "1", "z", "MIN", "COUNT", "x"],
        "-ERR count should be greater than 0\r\n",
    );
    check(
        &mut c,
        &["ZMPOP", "1", "z", "MIN", "COUNT", "1", "COUNT", "1"],
        SYNTAX,
    );
    check(&mut c, &["ZMPOP", "1", "z", "MIN", "COUNT"], SYNTAX);
    check(&mut c, &["ZMPOP", "1", "z", "MID"], SYNTAX);
    check(&mut c, &["ZMPOP", "2", "z", "MIN"], SYNTAX);
    check(
        &mut c,
        &["ZMPOP", "9223372036854775807", "z", "MIN"],
        SYNTAX,
    );
    check(&mut c, &["SET", "str", "x"], "+OK\r\n");
    check(&mut c, &["ZMPOP", "2", "nokey", "str", "MIN"], WRONGTYPE);
    check(&mut c, &["ZPOPMAX", "str"], WRONGTYPE);
}

#[test]
fn set_operations() {
    let s = server();
    let mut c = s.raw();
    check(
        &mut c,
        &["ZADD", "a", "1", "x", "2", "y", "3", "z"],
        ":3\r\n",
    );
    check(
        &mut c,
        &["ZADD", "b", "10", "y", "20", "z", "30", "w"],
        ":3\r\n",
    );
    check(
        &mut c,
        &["ZUNION", "2", "a", "b", "WITHSCORES"],
        &arr(&["x", "1", "y", "12", "z", "23", "w", "30"]),
    );
    check(
        &mut c,
        &["ZUNION", "2", "a", "b", "WEIGHTS", "2", "0.5"],
        &arr(&["x", "y", "w", "z"]),
    );
    check(
        &mut c,
        &["ZUNION", "2", "a", "b", "AGGREGATE", "MIN", "WITHSCORES"],
        &arr(&["x", "1", "y", "2", "z", "3", "w", "30"]),
    );
    check(
        &mut c,
        &["ZINTER", "2", "a", "b", "AGGREGATE", "max", "WITHSCORES"],
        &arr(&["y", "10", "z", "20"]),
    );
    check(
        &mut c,
        &["ZINTER", "2", "a", "b", "WEIGHTS", "-1", "1", "WITHSCORES"],
        &arr(&["y", "8", "z", "17"]),
    );
    check(&mut c, &["ZINTER", "2", "a", "nokey"], "*0\r\n");
    check(
        &mut c,
        &["ZDIFF", "2", "a", "b", "WITHSCORES"],
        &arr(&["x", "1"]),
    );
    check(&mut c, &["ZDIFF", "2", "a", "a"], "*0\r\n");
    check(&mut c, &["ZDIFF", "1", "nokey"], "*0\r\n");
    check(&mut c, &["ZINTERCARD", "2", "a", "b"], ":2\r\n");
    check(
        &mut c,
        &["ZINTERCARD", "2", "a", "b", "LIMIT", "1"],
        ":1\r\n",
    );
    check(
        &mut c,
        &["ZINTERCARD", "2", "a", "b", "LIMIT", "0"],
        ":2\r\n",
    );
    check(
        &mut c,
        &["ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"],
        ":4\r\n",
    );
    check(
        &mut c,
        &["ZRANGE", "d", "0", "-1", "WITHSCORES"],
        &arr(&["x", "1", "y", "22", "z", "43", "w", "60"]),
    );
    check(&mut c, &["ZINTERSTORE", "d", "2", "a", "b"], ":2\r\n");
    check(&mut c, &["ZDIFFSTORE", "d", "2", "b", "a"], ":1\r\n");
    check(
        &mut c,
        &["ZRANGE", "d", "0", "-1", "WITHSCORES"],
        &arr(&["w", "30"]),
    );
    check(&mut c, &["SET", "d", "str"], "+OK\r\n");
    check(&mut c, &["ZUNIONSTORE", "d", "1", "a"], ":3\r\n");
    check(&mut c, &["ZINTERSTORE", "d", "2", "a", "nokey"], ":0\r\n");
    check(&mut c, &["EXISTS", "d"], ":0\r\n");
    // inf * 0 and inf + -inf are taken as 0.
    check(&mut c, &["ZADD", "i1", "inf", "m"], ":1\r\n");
    check(&mut c, &["ZADD", "i2", "-inf", "m"], ":1\r\n");
    check(
        &mut c,
        &["ZUNION", "2", "i1", "i2", "WITHSCORES"],
        &arr(&["m", "0"]),
    );
    check(
        &mut c,
        &["ZUNION", "1", "i1", "WEIGHTS", "0", "WITHSCORES"],
        &arr(&["m", "0"]),
    );
    check(
        &mut c,
        &["ZINTER", "2", "i1", "i2", "AGGREGATE", "MAX", "WITHSCORES"],
        &arr(&["m", "inf"]),
    );
    // Errors, in Redis's order: numkeys, key types, then options.
    check(
        &mut c,
        &["ZUNION", "0", "a"],
        "-ERR at least 1 input key is needed for 'zunion' command\r\n",
    );
    check(
        &mut c,
        &["ZINTERSTORE", "d", "0", "a"],
        "-ERR at least 1 input key is needed for 'zinterstore' command\r\n",
    );
    check(
        &mut c,
        &["ZINTERCARD", "0", "a"],
        "-ERR at least 1 input key is needed for 'zintercard' command\r\n",
    );
    check(&mut c, &["ZUNION", "x", "a"], NOT_INT);
    check(&mut c, &["ZUNION", "3", "a", "b"], SYNTAX);
    check(&mut c, &["SET", "str", "x"], "+OK\r\n");
    check(&mut c, &["ZUNION", "2", "a", "str", "FOO"], WRONGTYPE);
    check(&mut c, &["ZUNION", "2", "a", "b", "WEIGHTS", "1"], SYNTAX);
    check(
        &mut c,
        &["ZUNION", "2", "a", "b", "WEIGHTS", "1", "x"],
        "-ERR weight value is not a float\r\n",
    );
    check(
        &mut c,
        &["ZUNION", "2", "a", "b", "AGGREGATE", "AVG"],
        SYNTAX,
    );
    check(
        &mut c,
        &["ZUNIONSTORE", "d", "2", "a", "b", "WITHSCORES"],
        SYNTAX,
    );
    check(
        &mut c,
        &["ZDIFF", "2", "a", "b", "WEIGHTS", "1", "1"],
        SYNTAX,
    );
    check(
        &mut c,
        &["ZDIFF", "2", "a", "b", "AGGREGATE", "SUM"],
        SYNTAX,
    );
    check(&mut c, &["ZINTERCARD", "2", "a", "b", "WITHSCORES"], SYNTAX);
    check(
        &mut c,
        &["ZINTERCARD", "2", "a", "b", "LIMIT", "-1"],
        "-ERR LIMIT can't be negative\r\n",
    );
    check(
        &mut c,
        &["ZINTERCARD", "2", "a", "b", "LIMIT", "x"],
        "-ERR LIMIT can't be negative\r\n",
    );
}

#[test]
fn plain_sets_count_with_score_one() {
    let s = server();
    let mut c = s.raw();
    if !has(&mut c, &["SADD", "s", "x", "q"]) {
        eprintln!("SKIPPED: no set family on this tree yet");
        return;
    }
    check(&mut c, &["SADD", "n", "1", "2", "3"], ":3\r\n");
    check(
        &mut c,
        &["ZADD", "a", "5", "x", "2", "y", "7", "2"],
        ":3\r\n",
    );
    check(
        &mut c,
        &["ZUNION", "2", "a", "s", "WITHSCORES"],
        &arr(&["q", "1", "y", "2", "x", "6", "2", "7"]),
    );
    check(
        &mut c,
        &["ZINTER", "2", "a", "s", "WEIGHTS", "1", "3", "WITHSCORES"],
        &arr(&["x", "8"]),
    );
    check(
        &mut c,
        &["ZINTER", "2", "n", "a", "WITHSCORES"],
        &arr(&["2", "8"]),
    );
    check(
        &mut c,
        &["ZDIFF", "2", "n", "a", "WITHSCORES"],
        &arr(&["1", "1", "3", "1"]),
    );
    check(&mut c, &["ZINTERCARD", "2", "s", "a"], ":1\r\n");
    check(&mut c, &["ZUNIONSTORE", "d", "1", "n"], ":3\r\n");
    check(
        &mut c,
        &["ZRANGE", "d", "0", "-1", "WITHSCORES"],
        &arr(&["1", "1", "2", "1", "3", "1"]),
    );
    check(&mut c, &["ZRANGE", "s", "0", "-1"], WRONGTYPE);
}

#[test]
fn zrandmember_properties() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["ZRANDMEMBER", "nokey"], "$-1\r\n");
    check(&mut c, &["ZRANDMEMBER", "nokey", "5"], "*0\r\n");
    check(
        &mut c,
        &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
        ":3\r\n",
    );
    check(&mut c, &["ZRANDMEMBER", "z", "0"], "*0\r\n");
    check(&mut c, &["ZRANDMEMBER", "z", "0", "WITHSCORES"], "*0\r\n");
    check(
        &mut c,
        &["ZRANDMEMBER", "z", "5", "WITHSCORES"],
        &arr(&["c", "3", "b", "2", "a", "1"]),
    );
    check(&mut c, &["ZRANDMEMBER", "z", "x"], NOT_INT);
    check(&mut c, &["ZRANDMEMBER", "z", "1", "FOO"], SYNTAX);
    check(
        &mut c,
        &["ZRANDMEMBER", "z", "1", "WITHSCORES", "x"],
        SYNTAX,
    );
    check(&mut c, &["ZRANDMEMBER", "z", "-9223372036854775808"], "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n");
    check(
        &mut c,
        &["ZRANDMEMBER", "z", "4611686018427387904", "WITHSCORES"],
        "-ERR value is out of range\r\n",
    );
    let one = c.cmds(&["ZRANDMEMBER", "z"]);
    assert!([b("a"), b("b"), b("c")].contains(&one), "{one}");
    // Negative counts repeat members; positive counts never do.
    let r = c.cmds(&["ZRANDMEMBER", "z", "-20"]);
    assert!(r.starts_with("*20\r\n"), "{r}");
    let r = c.cmds(&["ZRANDMEMBER", "z", "-4", "WITHSCORES"]);
    assert!(r.starts_with("*8\r\n"), "{r}");
    let mut big = vec!["ZADD", "big"];
    let members: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    let scores: Vec<String> = (0..300).map(|i| i.to_string()).collect();
    for (m, s) in members.iter().zip(&scores) {
        big.push(s);
        big.push(m);
    }
    c.cmds(&big);
    for key in ["z", "big"] {
        for n in [1, 2, 50, 150, 290] {
            let r = c.cmd(&[
                b"ZRANDMEMBER",
                key.as_bytes(),
                n.to_string().as_bytes(),
                b"WITHSCORES",
            ]);
            let items = parse_flat(&r);
            let size = if key == "z" { 3 } else { 300 };
            assert_eq!(items.len(), 2 * n.min(size), "{key} {n}");
            let mut seen = std::collections::HashSet::new();
            for p in items.chunks(2) {
                assert!(seen.insert(p[0].clone()), "repeated member");
                let want = if key == "z" {
                    (p[0].as_bytes()[0] - b'a' + 1).to_string()
                } else {
                    p[0][1..].to_string()
                };
                assert_eq!(p[1], want);
            }
        }
    }
    c.cmds(&["HELLO", "3"]);
    let r = c.cmds(&["ZRANDMEMBER", "z", "-2", "WITHSCORES"]);
    assert!(r.starts_with("*2\r\n*2\r\n$1\r\n"), "{r}");
    assert!(r.contains("\r\n,"), "{r}");
}

/// The bulk strings of a flat RESP2 array.
fn parse_flat(r: &[u8]) -> Vec<String> {
    let s = String::from_utf8_lossy(r);
    let mut lines = s.split("\r\n");
    let n: usize = lines.next().unwrap()[1..].parse().unwrap();
    let mut out = Vec::new();
    for _ in 0..n {
        let _len = lines.next().unwrap();
        out.push(lines.next().unwrap().to_string());
    }
    out
}

#[test]
fn zscan() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["ZSCAN", "nokey", "0"], "*2\r\n$1\r\n0\r\n*0\r\n");
    check(&mut c, &["ZSCAN", "nokey", "x"], "-ERR invalid cursor\r\n");
    check(
        &mut c,
        &[
            "ZADD", "z", "1e17", "a", "1.5", "b", "-0", "c", "inf", "d", "1e19", "e",
        ],
        ":5\r\n",
    );
    // The compact form comes back whole, in order, with the scores as the listpack holds them.
    check(&mut c, &["ZSCAN", "z", "0"], "*2\r\n$1\r\n0\r\n*10\r\n$1\r\nc\r\n$1\r\n0\r\n$1\r\nb\r\n$3\r\n1.5\r\n$1\r\na\r\n$18\r\n100000000000000000\r\n$1\r\ne\r\n$5\r\n1e+19\r\n$1\r\nd\r\n$3\r\ninf\r\n");
    check(
        &mut c,
        &["ZSCAN", "z", "0", "MATCH", "[ab]", "COUNT", "1"],
        "*2\r\n$1\r\n0\r\n*4\r\n$1\r\nb\r\n$3\r\n1.5\r\n$1\r\na\r\n$18\r\n100000000000000000\r\n",
    );
    check(&mut c, &["ZSCAN", "z", "0", "COUNT", "0"], SYNTAX);
    check(&mut c, &["ZSCAN", "z", "0", "COUNT", "x"], NOT_INT);
    check(&mut c, &["ZSCAN", "z", "0", "MATCH"], SYNTAX);
    check(&mut c, &["ZSCAN", "z", "0", "TYPE", "zset"], SYNTAX);
    check(
        &mut c,
        &["ZSCAN", "z", "18446744073709551616"],
        "-ERR invalid cursor\r\n",
    );
    check(&mut c, &["SET", "str", "x"], "+OK\r\n");
    check(&mut c, &["ZSCAN", "str", "0"], WRONGTYPE);
    check(&mut c, &["ZSCAN", "str", "x"], "-ERR invalid cursor\r\n");
    // The skiplist is walked in steps; every member comes back, with `%.17g` scores.
    let mut args = vec!["ZADD".to_string(), "big".to_string()];
    for i in 0..1000 {
        args.push(format!("{}", i as f64 / 4.0));
        args.push(format!("m{i}"));
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    check(&mut c, &a, ":1000\r\n");
    let mut seen = std::collections::HashMap::new();
    let mut cursor = "0".to_string();
    let mut steps = 0;
    loop {
        let r = c.cmd(&[b"ZSCAN", b"big", cursor.as_bytes(), b"COUNT", b"50"]);
        let s = String::from_utf8_lossy(&r).into_owned();
        let mut lines = s.split("\r\n");
        lines.next();
        lines.next();
        cursor = lines.next().unwrap().to_string();
        let rest: Vec<&str> = lines.collect();
        let body = rest.join("\r\n");
        for p in parse_flat(body.as_bytes()).chunks(2) {
            seen.insert(p[0].clone(), p[1].clone());
        }
        steps += 1;
        if cursor == "0" {
            break;
        }
    }
    assert!(steps > 5, "{steps}");
    assert_eq!(seen.len(), 1000);
    assert_eq!(seen["m2"], "0.5");
    assert_eq!(seen["m999"], "249.75");
}

#[test]
fn resp3_shapes() {
    let s = server();
    let mut c = s.raw();
    assert!(c.cmds(&["HELLO", "3"]).starts_with('%'));
    check(
        &mut c,
        &["ZADD", "z", "1", "a", "2.5", "b", "inf", "c"],
        ":3\r\n",
    );
    check(&mut c, &["ZSCORE", "z", "b"], ",2.5\r\n");
    check(&mut c, &["ZSCORE", "z", "c"], ",inf\r\n");
    check(&mut c, &["ZSCORE", "z", "nope"], "_\r\n");
    check(&mut c, &["ZSCORE", "nokey", "a"], "_\r\n");
    check(&mut c, &["ZMSCORE", "z", "a", "nope"], "*2\r\n,1\r\n_\r\n");
    check(&mut c, &["ZINCRBY", "z", "1", "a"], ",2\r\n");
    check(&mut c, &["ZADD", "z", "XX", "INCR", "1", "nope"], "_\r\n");
    check(&mut c, &["ZRANK", "z", "nope"], "_\r\n");
    check(
        &mut c,
        &["ZRANGE", "z", "0", "-1"],
        "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n",
    );
    check(
        &mut c,
        &["ZRANGE", "z", "0", "1", "WITHSCORES"],
        "*2\r\n*2\r\n$1\r\na\r\n,2\r\n*2\r\n$1\r\nb\r\n,2.5\r\n",
    );
    check(
        &mut c,
        &[
            "ZREVRANGEBYSCORE",
            "z",
            "+inf",
            "-inf",
            "WITHSCORES",
            "LIMIT",
            "0",
            "1",
        ],
        "*1\r\n*2\r\n$1\r\nc\r\n,inf\r\n",
    );
    check(
        &mut c,
        &["ZUNION", "1", "z", "WITHSCORES"],
        "*3\r\n*2\r\n$1\r\na\r\n,2\r\n*2\r\n$1\r\nb\r\n,2.5\r\n*2\r\n$1\r\nc\r\n,inf\r\n",
    );
    check(
        &mut c,
        &["ZRANDMEMBER", "z", "5", "WITHSCORES"],
        "*3\r\n*2\r\n$1\r\nc\r\n,inf\r\n*2\r\n$1\r\nb\r\n,2.5\r\n*2\r\n$1\r\na\r\n,2\r\n",
    );
    check(&mut c, &["ZRANDMEMBER", "nokey"], "_\r\n");
    check(&mut c, &["ZSCAN", "z", "0"], "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n2\r\n$1\r\nb\r\n$3\r\n2.5\r\n$1\r\nc\r\n$3\r\ninf\r\n");
    // A single pop stays flat; with a count the pairs nest.
    check(&mut c, &["ZPOPMIN", "z"], "*2\r\n$1\r\na\r\n,2\r\n");
    check(
        &mut c,
        &["ZPOPMAX", "z", "1"],
        "*1\r\n*2\r\n$1\r\nc\r\n,inf\r\n",
    );
    check(
        &mut c,
        &["ZMPOP", "1", "z", "MIN"],
        "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n",
    );
    check(&mut c, &["ZMPOP", "1", "z", "MIN"], "_\r\n");
    check(&mut c, &["ZPOPMIN", "z", "2"], "*0\r\n");
}

#[test]
fn encodings_convert_at_thresholds() {
    let s = server();
    let mut c = s.raw();
    check(
        &mut c,
        &["CONFIG", "GET", "zset-max-listpack-entries"],
        &arr(&["zset-max-listpack-entries", "128"]),
    );
    check(
        &mut c,
        &["CONFIG", "GET", "zset-max-ziplist-value"],
        &arr(&["zset-max-ziplist-value", "64"]),
    );
    let m64 = "a".repeat(64);
    let m65 = "a".repeat(65);
    check(&mut c, &["ZADD", "e", "1", &m64], ":1\r\n");
    check(&mut c, &["OBJECT", "ENCODING", "e"], &b("listpack"));
    check(&mut c, &["ZADD", "e", "1", &m65], ":1\r\n");
    check(&mut c, &["OBJECT", "ENCODING", "e"], &b("skiplist"));
    // Never converted back by removals.
    check(&mut c, &["ZREM", "e", &m65], ":1\r\n");
    check(&mut c, &["OBJECT", "ENCODING", "e"], &b("skiplist"));
    check(&mut c, &["ZADD", "e2", "1", &m65], ":1\r\n");
    check(&mut c, &["OBJECT", "ENCODING", "e2"], &b("skiplist"));
    let mut args: Vec<String> = vec!["ZADD".into(), "n".into()];
    for i in 0..128 {
        args.push(i.to_string());
        args.push(format!("m{i}"));
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    check(&mut c, &a, ":128\r\n");
    check(&mut c, &["OBJECT", "ENCODING", "n"], &b("listpack"));
    check(&mut c, &["ZADD", "n", "5", "m1"], ":0\r\n");
    check(&mut c, &["OBJECT", "ENCODING", "n"], &b("listpack"));
    check(&mut c, &["ZADD", "n", "500", "m500"], ":1\r\n");
    check(&mut c, &["OBJECT", "ENCODING", "n"], &b("skiplist"));
    check(&mut c, &["ZRANK", "n", "m500"], ":128\r\n");
    // Results built from scratch pick their encoding anew.
    check(&mut c, &["ZRANGESTORE", "r", "n", "0", "127"], ":128\r\n");
    check(&mut c, &["OBJECT", "ENCODING", "r"], &b("listpack"));
    check(&mut c, &["ZRANGESTORE", "r", "n", "0", "128"], ":129\r\n");
    check(&mut c, &["OBJECT", "ENCODING", "r"], &b("skiplist"));
    check(
        &mut c,
        &[
            "ZRANGESTORE",
            "r",
            "n",
            "-inf",
            "+inf",
            "BYSCORE",
            "LIMIT",
            "0",
            "10",
        ],
        ":10\r\n",
    );
    check(&mut c, &["OBJECT", "ENCODING", "r"], &b("listpack"));
    check(&mut c, &["ZUNIONSTORE", "u", "1", "e"], ":1\r\n");
    check(&mut c, &["OBJECT", "ENCODING", "u"], &b("listpack"));
    check(&mut c, &["ZINTERSTORE", "u", "1", "n"], ":129\r\n");
    check(&mut c, &["OBJECT", "ENCODING", "u"], &b("skiplist"));
    // CONFIG SET moves the thresholds (the 7.0 aliases too).
    check(
        &mut c,
        &["CONFIG", "SET", "zset-max-listpack-entries", "2"],
        "+OK\r\n",
    );
    check(&mut c, &["ZADD", "t", "1", "a", "2", "b"], ":2\r\n");
    check(&mut c, &["OBJECT", "ENCODING", "t"], &b("listpack"));
    check(&mut c, &["ZADD", "t", "3", "c"], ":1\r\n");
    check(&mut c, &["OBJECT", "ENCODING", "t"], &b("skiplist"));
    check(
        &mut c,
        &["CONFIG", "SET", "zset-max-ziplist-entries", "0"],
        "+OK\r\n",
    );
    check(
        &mut c,
        &["CONFIG", "GET", "zset-max-listpack-entries"],
        &arr(&["zset-max-listpack-entries", "0"]),
    );
    check(&mut c, &["ZADD", "t0", "1", "a"], ":1\r\n");
    check(&mut c, &["OBJECT", "ENCODING", "t0"], &b("skiplist"));
    check(
        &mut c,
        &["CONFIG", "SET", "zset-max-listpack-entries", "128"],
        "+OK\r\n",
    );
    check(
        &mut c,
        &["CONFIG", "SET", "zset-max-ziplist-value", "3"],
        "+OK\r\n",
    );
    check(&mut c, &["ZADD", "v", "1", "abc"], ":1\r\n");
    check(&mut c, &["OBJECT", "ENCODING", "v"], &b("listpack"));
    check(&mut c, &["ZADD", "v", "1", "abcd"], ":1\r\n");
    check(&mut c, &["OBJECT", "ENCODING", "v"], &b("skiplist"));
    check(
        &mut c,
        &["CONFIG", "SET", "zset-max-listpack-value", "1kb"],
        "+OK\r\n",
    );
    check(
        &mut c,
        &["CONFIG", "GET", "zset-max-listpack-value"],
        &arr(&["zset-max-listpack-value", "1024"]),
    );
    check(
        &mut c,
        &["CONFIG", "SET", "zset-max-listpack-entries", "-1"],
        "-ERR CONFIG SET failed (possibly related to argument 'zset-max-listpack-entries') - argument must be between 0 and 9223372036854775807 inclusive\r\n",
    );
    check(
        &mut c,
        &["CONFIG", "SET", "zset-max-listpack-value", "x"],
        "-ERR CONFIG SET failed (possibly related to argument 'zset-max-listpack-value') - argument must be a memory value\r\n",
    );
}

#[test]
fn wrong_type_everywhere() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["SET", "str", "x"], "+OK\r\n");
    for cmd in [
        &["ZADD", "str", "1", "a"][..],
        &["ZINCRBY", "str", "1", "a"],
        &["ZREM", "str", "a"],
        &["ZCARD", "str"],
        &["ZSCORE", "str", "a"],
        &["ZMSCORE", "str", "a"],
        &["ZCOUNT", "str", "0", "1"],
        &["ZLEXCOUNT", "str", "-", "+"],
        &["ZRANGE", "str", "0", "-1"],
        &["ZRANGEBYSCORE", "str", "0", "1"],
        &["ZREVRANGEBYSCORE", "str", "1", "0"],
        &["ZRANGEBYLEX", "str", "-", "+"],
        &["ZREVRANGEBYLEX", "str", "+", "-"],
        &["ZREVRANGE", "str", "0", "-1"],
        &["ZRANK", "str", "a"],
        &["ZREVRANK", "str", "a"],
        &["ZREMRANGEBYRANK", "str", "0", "1"],
        &["ZREMRANGEBYSCORE", "str", "0", "1"],
        &["ZREMRANGEBYLEX", "str", "-", "+"],
        &["ZPOPMIN", "str"],
        &["ZPOPMAX", "str", "2"],
        &["ZMPOP", "1", "str", "MAX"],
        &["ZUNION", "1", "str"],
        &["ZINTER", "1", "str"],
        &["ZDIFF", "1", "str"],
        &["ZUNIONSTORE", "d", "1", "str"],
        &["ZINTERSTORE", "d", "1", "str"],
        &["ZDIFFSTORE", "d", "1", "str"],
        &["ZINTERCARD", "1", "str"],
        &["ZRANDMEMBER", "str"],
        &["ZRANDMEMBER", "str", "2"],
        &["ZSCAN", "str", "0"],
        &["ZRANGESTORE", "d", "str", "0", "-1"],
    ] {
        check(&mut c, cmd, WRONGTYPE);
    }
    check(&mut c, &["GET", "str"], "$1\r\nx\r\n");
    check(&mut c, &["EXISTS", "d"], ":0\r\n");
    check(&mut c, &["ZADD", "z", "1", "a"], ":1\r\n");
    check(&mut c, &["GET", "z"], WRONGTYPE);
    check(&mut c, &["TYPE", "z"], "+zset\r\n");
}

#[test]
fn inline_forms() {
    let s = server();
    let mut c = s.raw();
    assert_eq!(inline(&mut c, "ZADD z 1 a 2 b 3.5 c"), ":3\r\n");
    assert_eq!(
        inline(&mut c, "zrange z 0 -1 withscores"),
        arr(&["a", "1", "b", "2", "c", "3.5"])
    );
    assert_eq!(inline(&mut c, "ZRANGEBYSCORE z (1 +inf"), arr(&["b", "c"]));
    assert_eq!(inline(&mut c, "ZSCORE z c"), b("3.5"));
    assert_eq!(inline(&mut c, "ZINCRBY z 0.5 c"), b("4"));
    assert_eq!(inline(&mut c, "ZRANK z c"), ":2\r\n");
    assert_eq!(inline(&mut c, "ZPOPMIN z"), arr(&["a", "1"]));
    assert_eq!(inline(&mut c, "ZADD z \"\" \"\""), NOT_FLOAT);
    assert_eq!(inline(&mut c, "ZADD z 1 \"\""), ":1\r\n");
    assert_eq!(inline(&mut c, "ZRANGEBYLEX z [ (b"), arr(&[""]));
}

#[test]
fn keyspace_hits_and_misses() {
    let s = server();
    let mut c = s.raw();
    let stat = |c: &mut RawConn, name: &str| -> u64 {
        let info = c.cmds(&["INFO", "stats"]);
        info.split("\r\n")
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .unwrap()
            .parse()
            .unwrap()
    };
    check(&mut c, &["ZADD", "z", "1", "a"], ":1\r\n");
    check(&mut c, &["CONFIG", "RESETSTAT"], "+OK\r\n");
    // Reads count hits and misses, writes (ZADD, ZREM, ZPOPMIN) neither.
    c.cmds(&["ZSCORE", "z", "a"]);
    c.cmds(&["ZRANGE", "nokey", "0", "-1"]);
    c.cmds(&["ZUNIONSTORE", "d", "2", "z", "nokey"]);
    c.cmds(&["ZADD", "z", "2", "b"]);
    c.cmds(&["ZPOPMIN", "nokey"]);
    assert_eq!(stat(&mut c, "keyspace_hits"), 2);
    assert_eq!(stat(&mut c, "keyspace_misses"), 2);
}

/// A small deterministic PRNG, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
}

/// Parses a flat RESP2 array of (member, score) pairs.
fn pairs(r: &[u8]) -> Vec<(String, f64)> {
    parse_flat(r)
        .chunks(2)
        .map(|p| (p[0].clone(), p[1].parse().unwrap()))
        .collect()
}

#[test]
fn large_zset_ranks_match_a_reference() {
    let s = server();
    let mut c = s.raw();
    let mut rng = Rng(0x5eed_1234);
    let mut model: Vec<(f64, String)> = Vec::new();
    let mut members = std::collections::HashMap::new();
    // 10,000 members with many score ties, added in batches.
    for _ in 0..100 {
        let mut args: Vec<String> = vec!["ZADD".into(), "big".into()];
        for _ in 0..100 {
            let m = format!("member:{:05}", rng.below(1_000_000));
            let score = (rng.below(2000) as f64) / 4.0;
            if members.contains_key(&m) {
                continue;
            }
            members.insert(m.clone(), score);
            args.push(score.to_string());
            args.push(m);
        }
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        c.cmds(&a);
    }
    model.extend(members.iter().map(|(m, s)| (*s, m.clone())));
    let sort = |model: &mut Vec<(f64, String)>| {
        model.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap().then(a.1.cmp(&b.1)));
    };
    sort(&mut model);
    let n = model.len();
    check(&mut c, &["ZCARD", "big"], &format!(":{n}\r\n"));
    check(&mut c, &["OBJECT", "ENCODING", "big"], &b("skiplist"));
    for _ in 0..300 {
        let r = rng.below(n as u64) as usize;
        let (_, m) = &model[r];
        check(&mut c, &["ZRANK", "big", m], &format!(":{r}\r\n"));
        check(
            &mut c,
            &["ZREVRANK", "big", m],
            &format!(":{}\r\n", n - 1 - r),
        );
        let start = rng.range(-(n as i64), n as i64 - 1);
        let len = rng.range(0, 20);
        let stop = start + len;
        let got = c.cmd(&[
            b"ZRANGE",
            b"big",
            start.to_string().as_bytes(),
            stop.to_string().as_bytes(),
            b"WITHSCORES",
        ]);
        let lo = if start < 0 {
            (start + n as i64).max(0)
        } else {
            start
        } as usize;
        let hi = if stop < 0 { stop + n as i64 } else { stop }.min(n as i64 - 1);
        let want: Vec<(String, f64)> = if (lo as i64) > hi {
            Vec::new()
        } else {
            model[lo..=hi as usize]
                .iter()
                .map(|(s, m)| (m.clone(), *s))
                .collect()
        };
        assert_eq!(pairs(&got), want, "ZRANGE {start} {stop}");
        let min = rng.below(2000) as f64 / 4.0;
        let max = min + rng.below(40) as f64 / 4.0;
        let count = model.iter().filter(|(s, _)| *s > min && *s <= max).count();
        check(
            &mut c,
            &["ZCOUNT", "big", &format!("({min}"), &max.to_string()],
            &format!(":{count}\r\n"),
        );
        let got = c.cmd(&[
            b"ZREVRANGEBYSCORE",
            b"big",
            max.to_string().as_bytes(),
            min.to_string().as_bytes(),
            b"WITHSCORES",
            b"LIMIT",
            b"1",
            b"5",
        ]);
        let want: Vec<(String, f64)> = model
            .iter()
            .rev()
            .filter(|(s, _)| *s >= min && *s <= max)
            .skip(1)
            .take(5)
            .map(|(s, m)| (m.clone(), *s))
            .collect();
        assert_eq!(pairs(&got), want, "ZREVRANGEBYSCORE {max} {min}");
    }
    // Removals by rank and by score keep the ranks right.
    for _ in 0..20 {
        let a = rng.below(model.len() as u64) as usize;
        let e = (a + rng.below(50) as usize).min(model.len() - 1);
        check(
            &mut c,
            &["ZREMRANGEBYRANK", "big", &a.to_string(), &e.to_string()],
            &format!(":{}\r\n", e - a + 1),
        );
        model.drain(a..=e);
        let min = rng.below(2000) as f64 / 4.0;
        let before = model.len();
        model.retain(|(s, _)| *s != min);
        check(
            &mut c,
            &[
                "ZREMRANGEBYSCORE",
                "big",
                &min.to_string(),
                &min.to_string(),
            ],
            &format!(":{}\r\n", before - model.len()),
        );
    }
    for (r, (_, m)) in model.iter().enumerate().step_by(97) {
        check(&mut c, &["ZRANK", "big", m], &format!(":{r}\r\n"));
    }
    let got = c.cmd(&[b"ZRANGE", b"big", b"0", b"-1", b"WITHSCORES"]);
    let want: Vec<(String, f64)> = model.iter().map(|(s, m)| (m.clone(), *s)).collect();
    assert_eq!(pairs(&got), want);
    // Pops take from the ends.
    let got = c.cmd(&[b"ZPOPMIN", b"big", b"3"]);
    let want: Vec<(String, f64)> = model.drain(..3).map(|(s, m)| (m, s)).collect();
    assert_eq!(pairs(&got), want);
    let got = c.cmd(&[b"ZPOPMAX", b"big", b"2"]);
    let want: Vec<(String, f64)> = (0..2)
        .map(|_| model.pop().map(|(s, m)| (m, s)).unwrap())
        .collect();
    assert_eq!(pairs(&got), want);
    check(&mut c, &["ZCARD", "big"], &format!(":{}\r\n", model.len()));
}

/// ferrokv and a real redis-server side by side: every command goes to both and the raw replies must
/// match byte for byte.
struct Pair {
    f: RawConn,
    r: RawConn,
}

impl Pair {
    #[track_caller]
    fn run(&mut self, args: &[String]) {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        let want = self.r.cmd(&a);
        let got = self.f.cmd(&a);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&want),
            "{args:?}"
        );
    }
}

fn score_arg(rng: &mut Rng) -> String {
    match rng.below(10) {
        0..=5 => rng.range(-20, 20).to_string(),
        6 | 7 => (rng.range(-2000, 2000) as f64 / 8.0).to_string(),
        8 => ["inf", "-inf", "+inf", "-0", "1e300", "0x1p3", "1.1", "0.1"][rng.below(8) as usize]
            .to_string(),
        _ => format!("{}", rng.range(-5_000_000, 5_000_000) as f64 / 100_003.0),
    }
}

fn bound_arg(rng: &mut Rng) -> String {
    let s = score_arg(rng);
    if rng.below(3) == 0 {
        format!("({s}")
    } else {
        s
    }
}

fn lex_arg(rng: &mut Rng) -> String {
    match rng.below(10) {
        0 => "-".into(),
        1 => "+".into(),
        k => format!("{}m{}", if k % 2 == 0 { "(" } else { "[" }, rng.below(200)),
    }
}

#[test]
fn differential_random() {
    let Some(redis) = common::start_redis() else {
        return;
    };
    let ferro = TestServer::start(&[]);
    let mut p = Pair {
        f: ferro.raw(),
        r: redis.raw(),
    };
    let mut rng = Rng(0xd1ff_0042);
    let keys = ["z1", "z2", "z3"];
    let s = |v: &[&str]| -> Vec<String> { v.iter().map(|x| x.to_string()).collect() };
    for i in 0..6000 {
        if i % 1500 == 0 {
            let proto = if i % 3000 == 0 { "3" } else { "2" };
            p.f.cmds(&["HELLO", proto]);
            p.r.cmds(&["HELLO", proto]);
        }
        // Now and then a plain set, so the WRONGTYPE paths (and sets as union inputs) are exercised.
        let k = if rng.below(25) == 0 {
            "s1".to_string()
        } else {
            keys[rng.below(3) as usize].to_string()
        };
        let member = |rng: &mut Rng| {
            let span = [10, 60, 200][rng.below(3) as usize];
            format!("m{}", rng.below(span))
        };
        let args: Vec<String> = match rng.below(25) {
            0..=4 => {
                let mut a = s(&["ZADD", &k]);
                for o in ["NX", "XX", "GT", "LT", "CH"] {
                    if rng.below(8) == 0 {
                        a.push(o.into());
                    }
                }
                let pairs = if rng.below(6) == 0 {
                    150
                } else {
                    rng.range(1, 8)
                };
                for _ in 0..pairs {
                    a.push(score_arg(&mut rng));
                    a.push(member(&mut rng));
                }
                a
            }
            5 => vec!["ZINCRBY".into(), k, score_arg(&mut rng), member(&mut rng)],
            6 => vec!["ZREM".into(), k, member(&mut rng), member(&mut rng)],
            7 => {
                let mut a = vec![
                    "ZRANGE".into(),
                    k,
                    rng.range(-30, 30).to_string(),
                    rng.range(-30, 30).to_string(),
                ];
                if rng.below(2) == 0 {
                    a.push("WITHSCORES".into());
                }
                if rng.below(3) == 0 {
                    a.push("REV".into());
                }
                a
            }
            8 | 9 => {
                let cmd = if rng.below(2) == 0 {
                    "ZRANGEBYSCORE"
                } else {
                    "ZREVRANGEBYSCORE"
                };
                let mut a = vec![cmd.into(), k, bound_arg(&mut rng), bound_arg(&mut rng)];
                if rng.below(2) == 0 {
                    a.push("WITHSCORES".into());
                }
                if rng.below(3) == 0 {
                    a.extend([
                        "LIMIT".into(),
                        rng.range(-1, 10).to_string(),
                        rng.range(-1, 10).to_string(),
                    ]);
                }
                a
            }
            10 => vec!["ZRANK".into(), k, member(&mut rng)],
            11 => vec!["ZREVRANK".into(), k, member(&mut rng)],
            12 => vec!["ZCOUNT".into(), k, bound_arg(&mut rng), bound_arg(&mut rng)],
            13 => vec![
                "ZREMRANGEBYSCORE".into(),
                k,
                bound_arg(&mut rng),
                bound_arg(&mut rng),
            ],
            14 => vec![
                "ZREMRANGEBYRANK".into(),
                k,
                rng.range(-10, 10).to_string(),
                rng.range(-10, 10).to_string(),
            ],
            15 => {
                let cmd = if rng.below(2) == 0 {
                    "ZPOPMIN"
                } else {
                    "ZPOPMAX"
                };
                let mut a = vec![cmd.into(), k];
                if rng.below(2) == 0 {
                    a.push(rng.range(0, 5).to_string());
                }
                a
            }
            16 => vec!["ZMSCORE".into(), k, member(&mut rng), member(&mut rng)],
            17 => {
                let ops = ["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"];
                let op = ops[rng.below(3) as usize];
                let n = rng.range(1, 3) as usize;
                let mut a = vec![
                    op.to_string(),
                    ["dst", "z1", "z2"][rng.below(3) as usize].to_string(),
                    n.to_string(),
                ];
                for _ in 0..n {
                    a.push(["z1", "z2", "z3", "nokey", "s1"][rng.below(5) as usize].to_string());
                }
                if op != "ZDIFFSTORE" && rng.below(2) == 0 {
                    a.push("WEIGHTS".into());
                    for _ in 0..n {
                        a.push(["1", "2", "-1", "0.5", "0"][rng.below(5) as usize].to_string());
                    }
                }
                if op != "ZDIFFSTORE" && rng.below(2) == 0 {
                    a.extend([
                        "AGGREGATE".into(),
                        ["SUM", "MIN", "MAX"][rng.below(3) as usize].to_string(),
                    ]);
                }
                a
            }
            18 => {
                let ops = ["ZUNION", "ZINTER", "ZDIFF"];
                let op = ops[rng.below(3) as usize];
                let n = rng.range(1, 3) as usize;
                let mut a = vec![op.to_string(), n.to_string()];
                for _ in 0..n {
                    a.push(["z1", "z2", "z3", "nokey", "s1"][rng.below(5) as usize].to_string());
                }
                if rng.below(2) == 0 {
                    a.push("WITHSCORES".into());
                }
                a
            }
            19 => vec![
                "ZRANGESTORE".into(),
                "dst".into(),
                k,
                bound_arg(&mut rng),
                bound_arg(&mut rng),
                "BYSCORE".into(),
            ],
            20 => vec!["ZADD".into(), "lx".into(), "0".into(), member(&mut rng)],
            21 => {
                let cmd = if rng.below(2) == 0 {
                    "ZRANGEBYLEX"
                } else {
                    "ZREVRANGEBYLEX"
                };
                let mut a = vec![
                    cmd.into(),
                    "lx".into(),
                    lex_arg(&mut rng),
                    lex_arg(&mut rng),
                ];
                if rng.below(3) == 0 {
                    a.extend([
                        "LIMIT".into(),
                        rng.range(-1, 5).to_string(),
                        rng.range(-1, 5).to_string(),
                    ]);
                }
                a
            }
            22 => vec![
                ["ZLEXCOUNT", "ZREMRANGEBYLEX"][rng.below(2) as usize].into(),
                "lx".into(),
                lex_arg(&mut rng),
                lex_arg(&mut rng),
            ],
            23 => vec![
                "SADD".into(),
                "s1".into(),
                member(&mut rng),
                rng.below(20).to_string(),
            ],
            _ => vec!["OBJECT".into(), "ENCODING".into(), k],
        };
        p.run(&args);
    }
    for k in ["z1", "z2", "z3", "lx", "dst", "s1"] {
        p.run(&s(&["ZRANGE", k, "0", "-1", "WITHSCORES"]));
    }
}

#[test]
fn huge_random_count_closes_the_client_at_the_output_limit() {
    let s = TestServer::start(&["--client-output-buffer-limit", "normal 1mb 0 0"]);
    let mut c = s.raw();
    check(&mut c, &["ZADD", "z", "1", "a", "2", "b"], ":2\r\n");
    c.send(&common::encode(&[
        b"ZRANDMEMBER",
        b"z",
        b"-100000000",
        b"WITHSCORES",
    ]));
    let got = c.read_to_close();
    assert!(got.len() < 4 << 20, "{} bytes", got.len());
    let mut c = s.raw();
    check(&mut c, &["ZCARD", "z"], ":2\r\n");
}

// ---------------------------------------------------------------------------------------------------
// BZPOPMIN, BZPOPMAX, BZMPOP.

const HELLO3: &[&str] = &["HELLO", "3"];
const TIMEOUT_FLOAT: &str = "-ERR timeout is not a float or out of range\r\n";
const TIMEOUT_NEG: &str = "-ERR timeout is negative\r\n";

/// Sends a command without reading its reply (it blocks).
fn send(c: &mut RawConn, args: &[&str]) {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    c.send(&common::encode(&a));
}

/// True if nothing arrives on `c` for `ms` milliseconds.
fn silent_for(c: &mut RawConn, ms: u64) -> bool {
    use std::time::Duration;
    c.stream
        .set_read_timeout(Some(Duration::from_millis(ms)))
        .unwrap();
    let mut b = [0u8; 1];
    let r = c.stream.peek(&mut b);
    c.stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    matches!(r, Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut))
}

/// Waits (bounded) until the server counts `n` blocked clients.
#[track_caller]
fn wait_blocked(c: &mut RawConn, n: usize) {
    use std::time::{Duration, Instant};
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

/// BZPOPMIN/BZPOPMAX's RESP2 reply.
fn kms(key: &str, member: &str, score: &str) -> String {
    arr(&[key, member, score])
}

/// BZMPOP's RESP2 reply: the key and [member, score] pairs.
fn mpop_reply(key: &str, pairs: &[(&str, &str)]) -> String {
    let mut s = format!("*2\r\n{}*{}\r\n", b(key), pairs.len());
    for (m, sc) in pairs {
        s.push_str(&arr(&[m, sc]));
    }
    s
}

#[test]
fn blocking_pops_serve_at_once_and_check_arguments() {
    let s = server();
    let mut c = s.raw();
    check(
        &mut c,
        &[
            "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
        ],
        ":5\r\n",
    );
    check(&mut c, &["BZPOPMIN", "z", "0"], &kms("z", "a", "1"));
    check(&mut c, &["BZPOPMAX", "z", "0"], &kms("z", "e", "5"));
    check(
        &mut c,
        &["BZPOPMIN", "nokey", "z", "0"],
        &kms("z", "b", "2"),
    );
    check(
        &mut c,
        &["BZMPOP", "0", "2", "nokey", "z", "MAX", "COUNT", "5"],
        &mpop_reply("z", &[("d", "4"), ("c", "3")]),
    );
    check(&mut c, &["EXISTS", "z"], ":0\r\n");
    check(&mut c, &["ZADD", "z", "1.5", "a"], ":1\r\n");
    check(
        &mut c,
        &["bzmpop", "0", "1", "z", "min"],
        &mpop_reply("z", &[("a", "1.5")]),
    );

    // A key of another type met before any sorted set is WRONGTYPE, even with a sorted set after it.
    check(&mut c, &["SET", "str", "x"], "+OK\r\n");
    check(&mut c, &["ZADD", "z", "1", "a"], ":1\r\n");
    check(&mut c, &["BZPOPMIN", "nokey", "str", "z", "0"], WRONGTYPE);
    check(&mut c, &["BZPOPMAX", "str", "0"], WRONGTYPE);
    check(&mut c, &["BZMPOP", "0", "2", "str", "z", "MIN"], WRONGTYPE);
    check(&mut c, &["BZPOPMIN", "z", "str", "0"], &kms("z", "a", "1"));

    // The timeout is checked before any key.
    for t in ["abc", "nan", " 1", "1 ", "", "1e"] {
        check(&mut c, &["BZPOPMIN", "str", t], TIMEOUT_FLOAT);
    }
    for t in [
        "-1",
        "-0.002",
        "inf",
        "-inf",
        "1e16",
        "1e400",
        "9223372036854775.808",
    ] {
        check(&mut c, &["BZPOPMAX", "str", t], TIMEOUT_NEG);
    }
    // BZMPOP checks numkeys and its options first, then the timeout.
    for (args, want) in [
        (
            &["0", "z", "MIN"][..],
            "-ERR numkeys should be greater than 0\r\n",
        ),
        (
            &["-1", "z", "MIN"],
            "-ERR numkeys should be greater than 0\r\n",
        ),
        (
            &["x", "z", "MIN"],
            "-ERR numkeys should be greater than 0\r\n",
        ),
        (&["5", "z", "MIN"], SYNTAX),
        (&["1", "z", "MID"], SYNTAX),
        (&["1", "z", "MIN", "COUNT"], SYNTAX),
        (
            &["1", "z", "MIN", "COUNT", "0"],
            "-ERR count should be greater than 0\r\n",
        ),
        (&["1", "z", "MIN", "COUNT", "1", "COUNT", "1"], SYNTAX),
        (&["1", "z", "MIN"], TIMEOUT_FLOAT),
        (&["1", "str", "MIN", "COUNT", "2"], TIMEOUT_FLOAT),
    ] {
        let mut v = vec!["BZMPOP", "abc"];
        v.extend_from_slice(args);
        check(&mut c, &v, want);
    }
    check(&mut c, &["BZMPOP", "-1", "1", "z", "MIN"], TIMEOUT_NEG);
    for (cmd, args) in [("bzpopmin", "-3"), ("bzpopmax", "-3"), ("bzmpop", "-5")] {
        check(
            &mut c,
            &[cmd, "z"],
            &format!("-ERR wrong number of arguments for '{cmd}' command\r\n"),
        );
        let info = c.cmds(&["COMMAND", "INFO", cmd]);
        assert!(info.contains(&format!(":{args}\r\n")), "{info}");
    }
}

#[test]
fn blocking_pops_time_out_with_fractional_seconds() {
    use std::time::{Duration, Instant};
    let s = server();
    let mut c = s.raw();
    for (cmd, want) in [
        (&["BZPOPMIN", "a", "b", "0.2"][..], "*-1\r\n"),
        (&["BZPOPMAX", "a", "0x1p-3"], "*-1\r\n"),
        (
            &["BZMPOP", "0.15", "2", "a", "b", "MAX", "COUNT", "3"],
            "*-1\r\n",
        ),
    ] {
        let t = Instant::now();
        check(&mut c, cmd, want);
        let took = t.elapsed();
        assert!(took >= Duration::from_millis(100), "{cmd:?} {took:?}");
        assert!(took < Duration::from_secs(3), "{cmd:?} {took:?}");
    }
    // Under a millisecond rounds up to one, not down to 0 (forever); a negative one rounds to 0.
    check(&mut c, &["BZPOPMIN", "a", "0.0001"], "*-1\r\n");
    check(&mut c, &["BZMPOP", "1e-4", "1", "a", "MIN"], "*-1\r\n");
    let mut w = s.raw();
    send(&mut w, &["BZPOPMIN", "a", "-0.0001"]);
    wait_blocked(&mut c, 1);
    assert!(silent_for(&mut w, 100));
    check(&mut c, &["ZADD", "a", "7", "m"], ":1\r\n");
    assert_eq!(w.read_reply(), kms("a", "m", "7").as_bytes());

    // RESP3: the timeout is a null.
    c.cmds(HELLO3);
    check(&mut c, &["BZPOPMIN", "a", "0.01"], "_\r\n");
    check(&mut c, &["BZMPOP", "0.01", "1", "a", "MIN"], "_\r\n");
}

#[test]
fn blocking_pops_wake_on_writes_from_another_connection() {
    let s = server();
    let mut a = s.raw();
    let mut p = s.raw();
    send(&mut a, &["BZPOPMIN", "z", "0"]);
    wait_blocked(&mut p, 1);
    assert!(silent_for(&mut a, 50));
    check(&mut p, &["ZADD", "z", "2", "b", "1", "a"], ":2\r\n");
    assert_eq!(a.read_reply(), kms("z", "a", "1").as_bytes());
    wait_blocked(&mut p, 0);
    check(&mut p, &["ZRANGE", "z", "0", "-1"], &arr(&["b"]));

    // Served from the key that got data, whichever of its keys comes first.
    send(&mut a, &["BZPOPMAX", "x", "y", "0"]);
    wait_blocked(&mut p, 1);
    check(&mut p, &["ZADD", "y", "5", "five", "6", "six"], ":2\r\n");
    assert_eq!(a.read_reply(), kms("y", "six", "6").as_bytes());

    // BZMPOP served after blocking pops up to COUNT.
    send(&mut a, &["BZMPOP", "0", "2", "m", "n", "MIN", "COUNT", "2"]);
    wait_blocked(&mut p, 1);
    check(
        &mut p,
        &["ZADD", "n", "1", "a", "2", "b", "3", "c"],
        ":3\r\n",
    );
    assert_eq!(
        a.read_reply(),
        mpop_reply("n", &[("a", "1"), ("b", "2")]).as_bytes()
    );
    check(&mut p, &["ZCARD", "n"], ":1\r\n");

    // Other writes that create a sorted set wake it too.
    send(&mut a, &["BZPOPMIN", "inc", "0"]);
    wait_blocked(&mut p, 1);
    check(&mut p, &["ZINCRBY", "inc", "2.5", "m"], "$3\r\n2.5\r\n");
    assert_eq!(a.read_reply(), kms("inc", "m", "2.5").as_bytes());
    send(&mut a, &["BZPOPMAX", "dst", "0"]);
    wait_blocked(&mut p, 1);
    check(&mut p, &["ZUNIONSTORE", "dst", "1", "y"], ":1\r\n");
    assert_eq!(a.read_reply(), kms("dst", "five", "5").as_bytes());

    // A key of another type keeps the waiter waiting; the sorted set that replaces it serves it.
    send(&mut a, &["BZPOPMIN", "k", "0"]);
    wait_blocked(&mut p, 1);
    check(&mut p, &["RPUSH", "k", "x"], ":1\r\n");
    assert!(silent_for(&mut a, 50));
    check(&mut p, &["DEL", "k"], ":1\r\n");
    check(&mut p, &["ZADD", "k", "3", "z"], ":1\r\n");
    assert_eq!(a.read_reply(), kms("k", "z", "3").as_bytes());
    wait_blocked(&mut p, 0);
}

#[test]
fn blocking_pops_serve_waiters_first_come_first_served() {
    let s = server();
    let mut w: Vec<RawConn> = (0..3).map(|_| s.raw()).collect();
    let mut p = s.raw();
    for (i, c) in w.iter_mut().enumerate() {
        send(c, &["BZPOPMIN", "q", "0"]);
        wait_blocked(&mut p, i + 1);
    }
    // One ZADD of two members serves the first two waiters, in the order they came.
    check(&mut p, &["ZADD", "q", "1", "a", "2", "b"], ":2\r\n");
    assert_eq!(w[0].read_reply(), kms("q", "a", "1").as_bytes());
    assert_eq!(w[1].read_reply(), kms("q", "b", "2").as_bytes());
    assert!(silent_for(&mut w[2], 50));
    check(&mut p, &["EXISTS", "q"], ":0\r\n");
    check(&mut p, &["ZADD", "q", "3", "c", "4", "d"], ":2\r\n");
    assert_eq!(w[2].read_reply(), kms("q", "c", "3").as_bytes());
    check(&mut p, &["ZRANGE", "q", "0", "-1"], &arr(&["d"]));
    wait_blocked(&mut p, 0);

    // A BZMPOP waiter with a COUNT takes what it asks for before the next one is served.
    send(&mut w[0], &["BZMPOP", "0", "1", "r", "MAX", "COUNT", "2"]);
    wait_blocked(&mut p, 1);
    send(&mut w[1], &["BZPOPMAX", "r", "0"]);
    wait_blocked(&mut p, 2);
    check(
        &mut p,
        &["ZADD", "r", "1", "a", "2", "b", "3", "c"],
        ":3\r\n",
    );
    assert_eq!(
        w[0].read_reply(),
        mpop_reply("r", &[("c", "3"), ("b", "2")]).as_bytes()
    );
    assert_eq!(w[1].read_reply(), kms("r", "a", "1").as_bytes());
    check(&mut p, &["EXISTS", "r"], ":0\r\n");
}

#[test]
fn blocking_pops_resp3_shapes() {
    let s = server();
    let mut c = s.raw();
    c.cmds(HELLO3);
    check(
        &mut c,
        &["ZADD", "z", "1", "a", "2.5", "b", "3", "c", "inf", "d"],
        ":4\r\n",
    );
    check(
        &mut c,
        &["BZPOPMIN", "z", "0"],
        "*3\r\n$1\r\nz\r\n$1\r\na\r\n,1\r\n",
    );
    check(
        &mut c,
        &["BZPOPMAX", "z", "0"],
        "*3\r\n$1\r\nz\r\n$1\r\nd\r\n,inf\r\n",
    );
    check(
        &mut c,
        &["BZMPOP", "0", "1", "z", "MIN", "COUNT", "9"],
        "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nb\r\n,2.5\r\n*2\r\n$1\r\nc\r\n,3\r\n",
    );
    // Served after blocking, the reply keeps the waiter's protocol.
    let mut p = s.raw();
    send(&mut c, &["BZPOPMAX", "z", "0"]);
    wait_blocked(&mut p, 1);
    check(&mut p, &["ZADD", "z", "0.5", "h"], ":1\r\n");
    assert_eq!(c.read_reply(), b"*3\r\n$1\r\nz\r\n$1\r\nh\r\n,0.5\r\n");
}

#[test]
fn blocking_pops_inside_multi_answer_at_once() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["SET", "str", "x"], "+OK\r\n");
    c.cmds(&["MULTI"]);
    for cmd in [
        &["BZPOPMIN", "z", "0"][..],
        &["BZPOPMAX", "z", "10"],
        &["BZMPOP", "0", "1", "z", "MIN"],
        &["ZADD", "z", "1", "a", "2", "b"],
        &["BZPOPMAX", "z", "0"],
        &["BZMPOP", "0", "1", "z", "MIN", "COUNT", "5"],
        &["BZPOPMIN", "str", "0"],
        &["BZPOPMIN", "z", "abc"],
    ] {
        check(&mut c, cmd, "+QUEUED\r\n");
    }
    check(
        &mut c,
        &["EXEC"],
        &format!(
            "*8\r\n*-1\r\n*-1\r\n*-1\r\n:2\r\n{}{}{WRONGTYPE}{TIMEOUT_FLOAT}",
            kms("z", "b", "2"),
            mpop_reply("z", &[("a", "1")])
        ),
    );
    c.cmds(HELLO3);
    c.cmds(&["MULTI"]);
    c.cmds(&["BZPOPMIN", "z", "0"]);
    c.cmds(&["BZMPOP", "0", "1", "z", "MAX"]);
    check(&mut c, &["EXEC"], "*2\r\n_\r\n_\r\n");
    wait_blocked(&mut c, 0);
}

#[test]
fn blocking_pops_and_watch() {
    let s = server();
    let mut a = s.raw();
    let mut b = s.raw();
    // Popping invalidates a WATCH on the key popped from, not on the other keys named.
    for pop in [
        &["BZMPOP", "0", "2", "z", "other", "MIN"][..],
        &["ZMPOP", "1", "z", "MAX"],
        &["BZPOPMIN", "z", "0"],
    ] {
        check(&mut a, &["ZADD", "z", "1", "a"], ":1\r\n");
        check(&mut a, &["WATCH", "z"], "+OK\r\n");
        assert!(b.cmds(pop).starts_with("*"), "{pop:?}");
        a.cmds(&["MULTI"]);
        a.cmds(&["PING"]);
        check(&mut a, &["EXEC"], "*-1\r\n");
    }
    check(&mut a, &["ZADD", "z", "1", "a"], ":1\r\n");
    check(&mut a, &["WATCH", "other"], "+OK\r\n");
    check(
        &mut b,
        &["BZMPOP", "0", "2", "other", "z", "MIN"],
        &mpop_reply("z", &[("a", "1")]),
    );
    a.cmds(&["MULTI"]);
    a.cmds(&["PING"]);
    check(&mut a, &["EXEC"], "*1\r\n+PONG\r\n");
    // A waiter that is still waiting touches nothing.
    check(&mut a, &["WATCH", "w"], "+OK\r\n");
    send(&mut b, &["BZPOPMIN", "w", "0"]);
    wait_blocked(&mut a, 1);
    a.cmds(&["MULTI"]);
    a.cmds(&["PING"]);
    check(&mut a, &["EXEC"], "*1\r\n+PONG\r\n");
    // Served after blocking, it does.
    check(&mut a, &["WATCH", "w"], "+OK\r\n");
    let mut p = s.raw();
    check(&mut p, &["ZADD", "w", "1", "a"], ":1\r\n");
    assert_eq!(b.read_reply(), kms("w", "a", "1").as_bytes());
    a.cmds(&["MULTI"]);
    a.cmds(&["PING"]);
    check(&mut a, &["EXEC"], "*-1\r\n");
}

/// The commands a replica receives after the initial snapshot, PINGs skipped.
struct ReplStream {
    c: RawConn,
}

impl ReplStream {
    fn attach(s: &TestServer) -> ReplStream {
        let mut c = s.raw();
        c.send(b"SYNC\r\n");
        // The snapshot: `$<len>\r\n` and that many bytes, with no CRLF after them.
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n") {
            std::io::Read::read_exact(&mut c.stream, &mut byte).unwrap();
            head.push(byte[0]);
        }
        let len: usize = String::from_utf8_lossy(&head[1..head.len() - 2])
            .parse()
            .unwrap();
        let mut rdb = vec![0u8; len];
        std::io::Read::read_exact(&mut c.stream, &mut rdb).unwrap();
        ReplStream { c }
    }

    fn next(&mut self) -> String {
        loop {
            let r = String::from_utf8_lossy(&self.c.read_reply()).into_owned();
            if !r.contains("\r\nPING\r\n") && !r.contains("\r\nping\r\n") {
                return r;
            }
        }
    }
}

#[test]
fn blocking_pops_reach_replicas_as_zpop() {
    let s = TestServer::start(&[]);
    let mut repl = ReplStream::attach(&s);
    let mut c = s.raw();
    let mut w = s.raw();
    check(
        &mut c,
        &[
            "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
        ],
        ":5\r\n",
    );
    assert_eq!(repl.next(), arr(&["SELECT", "0"]));
    assert!(repl.next().contains("ZADD"));
    c.cmds(&["BZPOPMIN", "nokey", "z", "0"]);
    assert_eq!(repl.next(), arr(&["ZPOPMIN", "z"]));
    c.cmds(&["BZPOPMAX", "z", "0"]);
    assert_eq!(repl.next(), arr(&["ZPOPMAX", "z"]));
    // BZMPOP as ZPOPMIN/ZPOPMAX with the count it really popped.
    c.cmds(&["BZMPOP", "0", "1", "z", "MAX", "COUNT", "9"]);
    assert_eq!(repl.next(), arr(&["ZPOPMAX", "z", "3"]));
    // Timed out or answered at once inside MULTI with nothing: nothing propagated. Served after
    // blocking: the pop it did.
    c.cmds(&["BZPOPMIN", "z", "0.01"]);
    send(&mut w, &["BZPOPMAX", "z", "0"]);
    wait_blocked(&mut c, 1);
    c.cmds(&["ZADD", "z", "1", "a", "2", "b"]);
    assert!(repl.next().contains("ZADD"));
    assert_eq!(repl.next(), arr(&["ZPOPMAX", "z"]));
    assert_eq!(w.read_reply(), kms("z", "b", "2").as_bytes());
    send(&mut w, &["BZMPOP", "0", "1", "y", "MIN"]);
    wait_blocked(&mut c, 1);
    c.cmds(&["ZADD", "y", "1", "a"]);
    assert!(repl.next().contains("ZADD"));
    assert_eq!(repl.next(), arr(&["ZPOPMIN", "y", "1"]));
    check(&mut c, &["SET", "end", "1"], "+OK\r\n");
    assert_eq!(repl.next(), arr(&["SET", "end", "1"]));
}

/// The dirty counter (`rdb_changes_since_last_save`) moves as Redis 7.0.15 moves it: ZADD added plus
/// updated (an unchanged score counts nothing), one per member removed or popped, a STORE one.
#[test]
fn dirty_counts_like_redis() {
    let s = server();
    let mut c = s.raw();
    check_dirty(
        &mut c,
        &[
            (&["ZADD", "z", "1", "a", "2", "b", "3", "c"], 3),
            (&["ZADD", "z", "1", "a", "5", "b", "4", "d"], 2),
            (&["ZINCRBY", "z", "0", "a"], 0),
            (&["ZADD", "z", "XX", "7", "new"], 0),
            (&["ZREM", "z", "a", "nx", "b"], 2),
            (&["ZADD", "z", "1", "a", "2", "b", "5", "e"], 3),
            (&["ZREMRANGEBYSCORE", "z", "0", "2"], 2),
            (&["ZPOPMIN", "z", "0"], 0),
            (&["ZPOPMAX", "z", "2"], 2),
            (&["ZUNIONSTORE", "d", "1", "z"], 1),
            (&["ZRANGESTORE", "d", "z", "5", "6"], 1),
            (&["ZRANGESTORE", "d", "z", "5", "6"], 0),
        ],
    );
}
