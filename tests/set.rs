//! The set family over raw RESP: every command's replies and errors as exact bytes (the bytes Redis
//! 7.0.15 sends; unordered replies compared sorted), the intset/hashtable encodings and their conversion
//! (`set-max-intset-entries`, non-integer members, the encodings of stored results), WRONGTYPE, deletion
//! of an emptied set, the *STORE commands overwriting any destination, RESP3 set replies, SPOP and
//! SRANDMEMBER result shapes, SSCAN's guarantee, and a differential run against a real `redis-server`.
//!
//! `SET_AGAINST_REDIS=1` runs the byte-level tests against a real redis-server instead of ferrokv, which
//! is how their expected bytes were checked.

mod common;

use std::collections::HashSet;

use common::{
    check, check_dirty, check_sorted, differential, sorted, Cmp, RawConn, Rng, TestServer,
};

fn server() -> TestServer {
    if std::env::var("SET_AGAINST_REDIS").as_deref() == Ok("1") {
        return common::start_redis().expect("redis-server");
    }
    TestServer::start(&[])
}

/// The bulk strings of an array or set reply.
fn elements(reply: &str) -> Vec<String> {
    let b = reply.as_bytes();
    let head = reply.find("\r\n").unwrap() + 2;
    let n: i64 = reply[1..head - 2].parse().unwrap();
    let mut out = Vec::new();
    let mut pos = head;
    for _ in 0..n.max(0) {
        let len = common::reply_len(&b[pos..]).unwrap();
        let item = &reply[pos..pos + len];
        let body = item.find("\r\n").unwrap() + 2;
        out.push(item[body..item.len() - 2].to_string());
        pos += len;
    }
    out
}

fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

/// RESP2 array (or, with `t = '~'`, RESP3 set) of bulk strings.
fn agg(t: char, xs: &[&str]) -> String {
    let mut s = format!("{t}{}\r\n", xs.len());
    for x in xs {
        s.push_str(&bulk(x));
    }
    s
}

fn bulks(xs: &[&str]) -> String {
    agg('*', xs)
}

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

fn encoding(c: &mut RawConn, key: &str) -> String {
    let r = c.cmds(&["OBJECT", "ENCODING", key]);
    elements(&format!("*1\r\n{r}"))[0].clone()
}

/// SADD of many members in one command.
fn sadd_many(c: &mut RawConn, key: &str, members: impl Iterator<Item = String>) -> String {
    let mut args = vec!["SADD".to_string(), key.to_string()];
    args.extend(members);
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    c.cmds(&a)
}

#[test]
fn basic_commands() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["SADD", "s", "3", "1", "2", "1"], ":3\r\n");
    check(&mut c, &["SADD", "s", "2", "4"], ":1\r\n");
    // An intset answers in ascending order, in both servers.
    check(&mut c, &["SMEMBERS", "s"], &bulks(&["1", "2", "3", "4"]));
    check(&mut c, &["SCARD", "s"], ":4\r\n");
    check(&mut c, &["SCARD", "nokey"], ":0\r\n");
    check(&mut c, &["SISMEMBER", "s", "2"], ":1\r\n");
    check(&mut c, &["SISMEMBER", "s", "02"], ":0\r\n");
    check(&mut c, &["SISMEMBER", "s", "x"], ":0\r\n");
    check(&mut c, &["SISMEMBER", "nokey", "x"], ":0\r\n");
    check(
        &mut c,
        &["SMISMEMBER", "s", "1", "x", "4", "1"],
        "*4\r\n:1\r\n:0\r\n:1\r\n:1\r\n",
    );
    check(
        &mut c,
        &["SMISMEMBER", "nokey", "1", "2"],
        "*2\r\n:0\r\n:0\r\n",
    );
    check(&mut c, &["SMEMBERS", "nokey"], "*0\r\n");
    check(&mut c, &["SADD", "w", "b", "a", "c"], ":3\r\n");
    check_sorted(&mut c, &["SMEMBERS", "w"], &bulks(&["a", "b", "c"]));
    check(&mut c, &["SISMEMBER", "w", "a"], ":1\r\n");
    let bin: &[u8] = b"a\r\nb\0c";
    assert_eq!(c.cmd(&[b"SADD", b"w", bin, b""]), b":2\r\n");
    assert_eq!(c.cmd(&[b"SISMEMBER", b"w", bin]), b":1\r\n");
    assert_eq!(c.cmd(&[b"SISMEMBER", b"w", b""]), b":1\r\n");
    // SREM counts what it removed and deletes an emptied set.
    check(&mut c, &["SREM", "s", "1", "1", "9", "x"], ":1\r\n");
    check(&mut c, &["SREM", "nokey", "1"], ":0\r\n");
    check(&mut c, &["SREM", "s", "2", "3", "4", "5"], ":3\r\n");
    check(&mut c, &["EXISTS", "s"], ":0\r\n");
    check(&mut c, &["SCARD", "s"], ":0\r\n");
    // Inline form.
    c.send(b"SADD inl \"two words\" x\r\nSISMEMBER inl \"two words\"\r\n");
    assert_eq!(c.read_reply(), b":2\r\n");
    assert_eq!(c.read_reply(), b":1\r\n");
}

#[test]
fn errors_and_wrongtype() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["HSET", "h", "a", "1"], ":1\r\n");
    check(&mut c, &["SADD", "s", "1"], ":1\r\n");
    for args in [
        &["SADD", "h", "a"][..],
        &["SREM", "h", "a"],
        &["SMEMBERS", "h"],
        &["SISMEMBER", "h", "a"],
        &["SMISMEMBER", "h", "a"],
        &["SCARD", "h"],
        &["SPOP", "h"],
        &["SPOP", "h", "0"],
        &["SRANDMEMBER", "h"],
        &["SRANDMEMBER", "h", "1"],
        &["SINTER", "s", "h"],
        &["SINTER", "nokey", "h"],
        &["SINTERSTORE", "d", "nokey", "h"],
        &["SINTERCARD", "2", "nokey", "h"],
        &["SUNION", "s", "h"],
        &["SDIFF", "nokey", "h"],
        &["SUNIONSTORE", "d", "s", "h"],
        &["SDIFFSTORE", "d", "s", "h"],
        &["SMOVE", "s", "h", "1"],
        &["SMOVE", "h", "s", "1"],
        &["SSCAN", "h", "0"],
        &["SSCAN", "h", "0", "COUNT", "0"],
    ] {
        check(&mut c, args, WRONGTYPE);
    }
    check(&mut c, &["EXISTS", "d"], ":0\r\n");
    check(&mut c, &["SCARD", "s"], ":1\r\n");
    let arity = |n: &str| format!("-ERR wrong number of arguments for '{n}' command\r\n");
    check(&mut c, &["SADD", "s"], &arity("sadd"));
    check(&mut c, &["SREM", "s"], &arity("srem"));
    check(&mut c, &["SMISMEMBER", "s"], &arity("smismember"));
    check(&mut c, &["SMOVE", "s", "d"], &arity("smove"));
    check(&mut c, &["SINTERSTORE", "d"], &arity("sinterstore"));
    check(&mut c, &["SINTERCARD", "1"], &arity("sintercard"));
    check(&mut c, &["SSCAN", "s"], &arity("sscan"));
    check(&mut c, &["SPOP", "s", "1", "2"], "-ERR syntax error\r\n");
    check(
        &mut c,
        &["SRANDMEMBER", "s", "1", "2"],
        "-ERR syntax error\r\n",
    );
    let positive = "-ERR value is out of range, must be positive\r\n";
    check(&mut c, &["SPOP", "s", "-1"], positive);
    check(&mut c, &["SPOP", "s", "x"], positive);
    check(&mut c, &["SPOP", "h", "x"], positive);
    check(
        &mut c,
        &["SRANDMEMBER", "h", "x"],
        "-ERR value is not an integer or out of range\r\n",
    );
    check(
        &mut c,
        &["SRANDMEMBER", "s", "-9223372036854775808"],
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n",
    );
    let numkeys = "-ERR numkeys should be greater than 0\r\n";
    check(&mut c, &["SINTERCARD", "0", "s"], numkeys);
    check(&mut c, &["SINTERCARD", "-1", "s"], numkeys);
    check(&mut c, &["SINTERCARD", "x", "s"], numkeys);
    let too_many = "-ERR Number of keys can't be greater than number of args\r\n";
    check(&mut c, &["SINTERCARD", "2", "s"], too_many);
    check(
        &mut c,
        &["SINTERCARD", "9223372036854775807", "s"],
        too_many,
    );
    check(
        &mut c,
        &["SINTERCARD", "1", "s", "LIMIT"],
        "-ERR syntax error\r\n",
    );
    check(
        &mut c,
        &["SINTERCARD", "1", "s", "foo", "1"],
        "-ERR syntax error\r\n",
    );
    let limit = "-ERR LIMIT can't be negative\r\n";
    check(&mut c, &["SINTERCARD", "1", "s", "LIMIT", "-1"], limit);
    check(&mut c, &["SINTERCARD", "1", "s", "LIMIT", "x"], limit);
}

#[test]
fn encodings_and_conversions() {
    let s = server();
    let mut c = s.raw();
    check(
        &mut c,
        &["CONFIG", "GET", "set-max-intset-entries"],
        &bulks(&["set-max-intset-entries", "512"]),
    );
    for (m, enc) in [
        ("1", "intset"),
        ("-9223372036854775808", "intset"),
        ("9223372036854775807", "intset"),
        ("9223372036854775808", "hashtable"),
        ("01", "hashtable"),
        ("-0", "hashtable"),
        ("+1", "hashtable"),
        (" 1", "hashtable"),
        ("1.0", "hashtable"),
        ("x", "hashtable"),
    ] {
        let key = format!("k{m}");
        check(&mut c, &["SADD", &key, m], ":1\r\n");
        assert_eq!(encoding(&mut c, &key), enc, "{m:?}");
    }
    // Widening keeps order and membership.
    check(
        &mut c,
        &["SADD", "w", "5", "-3", "70000", "-9223372036854775808"],
        ":4\r\n",
    );
    check(
        &mut c,
        &["SMEMBERS", "w"],
        &bulks(&["-9223372036854775808", "-3", "5", "70000"]),
    );
    check(&mut c, &["SADD", "w", "x"], ":1\r\n");
    assert_eq!(encoding(&mut c, "w"), "hashtable");
    check_sorted(
        &mut c,
        &["SMEMBERS", "w"],
        &bulks(&["-9223372036854775808", "-3", "5", "70000", "x"]),
    );
    // 512 integers stay an intset; the 513th converts, for good.
    assert_eq!(
        sadd_many(&mut c, "big", (0..512).map(|i| i.to_string())),
        ":512\r\n"
    );
    assert_eq!(encoding(&mut c, "big"), "intset");
    check(&mut c, &["SADD", "big", "512"], ":1\r\n");
    assert_eq!(encoding(&mut c, "big"), "hashtable");
    check(&mut c, &["SREM", "big", "512", "511"], ":2\r\n");
    assert_eq!(encoding(&mut c, "big"), "hashtable");
    check(&mut c, &["SCARD", "big"], ":511\r\n");
    check(&mut c, &["SISMEMBER", "big", "100"], ":1\r\n");
    // Settable.
    check(
        &mut c,
        &["CONFIG", "SET", "set-max-intset-entries", "2"],
        "+OK\r\n",
    );
    check(&mut c, &["SADD", "t", "1", "2"], ":2\r\n");
    assert_eq!(encoding(&mut c, "t"), "intset");
    check(&mut c, &["SADD", "t", "3"], ":1\r\n");
    assert_eq!(encoding(&mut c, "t"), "hashtable");
    check(
        &mut c,
        &["CONFIG", "SET", "set-max-intset-entries", "0"],
        "+OK\r\n",
    );
    check(&mut c, &["SADD", "z", "1"], ":1\r\n");
    assert_eq!(encoding(&mut c, "z"), "hashtable");
    check(
        &mut c,
        &["CONFIG", "SET", "set-max-intset-entries", "-1"],
        "-ERR CONFIG SET failed (possibly related to argument 'set-max-intset-entries') - argument must be between 0 and 9223372036854775807 inclusive\r\n",
    );
    check(
        &mut c,
        &["CONFIG", "SET", "set-max-intset-entries", "512"],
        "+OK\r\n",
    );
    // Stored results start as an intset, as Redis builds them.
    check(&mut c, &["SADD", "letters", "a", "b"], ":2\r\n");
    check(&mut c, &["SADD", "nums", "2", "1", "a"], ":3\r\n");
    assert_eq!(encoding(&mut c, "nums"), "hashtable");
    check(&mut c, &["SDIFFSTORE", "d", "nums", "letters"], ":2\r\n");
    assert_eq!(encoding(&mut c, "d"), "intset");
    check(&mut c, &["SMEMBERS", "d"], &bulks(&["1", "2"]));
    check(&mut c, &["SUNIONSTORE", "d", "nums", "letters"], ":4\r\n");
    assert_eq!(encoding(&mut c, "d"), "hashtable");
    // SMOVE creates its destination for the member.
    check(&mut c, &["SMOVE", "nums", "m1", "1"], ":1\r\n");
    assert_eq!(encoding(&mut c, "m1"), "intset");
    check(&mut c, &["SMOVE", "nums", "m2", "a"], ":1\r\n");
    assert_eq!(encoding(&mut c, "m2"), "hashtable");
    // SPOP keeping few of many rebuilds the set, which may become an intset again.
    assert_eq!(
        sadd_many(&mut c, "p", (0..600).map(|i| i.to_string())),
        ":600\r\n"
    );
    assert_eq!(encoding(&mut c, "p"), "hashtable");
    let got = elements(&c.cmds(&["SPOP", "p", "550"]));
    assert_eq!(got.len(), 550);
    check(&mut c, &["SCARD", "p"], ":50\r\n");
    assert_eq!(encoding(&mut c, "p"), "intset");
}

#[test]
fn algebra() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["SADD", "a", "1", "2", "3", "x"], ":4\r\n");
    check(&mut c, &["SADD", "b", "2", "3", "4"], ":3\r\n");
    check(&mut c, &["SADD", "c", "3", "x", "y"], ":3\r\n");
    check(&mut c, &["SINTER", "a", "b"], &bulks(&["2", "3"]));
    check(&mut c, &["SINTER", "a", "b", "c"], &bulks(&["3"]));
    check(&mut c, &["SINTER", "a", "nokey"], "*0\r\n");
    check_sorted(&mut c, &["SINTER", "a", "a"], &bulks(&["1", "2", "3", "x"]));
    check_sorted(
        &mut c,
        &["SUNION", "a", "b", "nokey"],
        &bulks(&["1", "2", "3", "4", "x"]),
    );
    check(&mut c, &["SUNION", "b", "nokey"], &bulks(&["2", "3", "4"]));
    check(&mut c, &["SUNION", "nokey"], "*0\r\n");
    check_sorted(&mut c, &["SDIFF", "a", "b"], &bulks(&["1", "x"]));
    check(&mut c, &["SDIFF", "a", "b", "c"], &bulks(&["1"]));
    check(&mut c, &["SDIFF", "nokey", "a"], "*0\r\n");
    check(&mut c, &["SDIFF", "a", "a"], "*0\r\n");
    check(&mut c, &["SDIFF", "a", "b", "a"], "*0\r\n");
    check_sorted(
        &mut c,
        &["SDIFF", "a", "nokey"],
        &bulks(&["1", "2", "3", "x"]),
    );
    check(&mut c, &["SINTERCARD", "2", "a", "b"], ":2\r\n");
    check(
        &mut c,
        &["SINTERCARD", "2", "a", "b", "LIMIT", "1"],
        ":1\r\n",
    );
    check(
        &mut c,
        &["SINTERCARD", "2", "a", "b", "LIMIT", "0"],
        ":2\r\n",
    );
    check(
        &mut c,
        &["SINTERCARD", "1", "a", "limit", "1", "LIMIT", "3"],
        ":3\r\n",
    );
    check(&mut c, &["SINTERCARD", "2", "a", "nokey"], ":0\r\n");
    check(&mut c, &["SINTERCARD", "2", "a", "a"], ":4\r\n");
    // STORE: overwrites any destination (type and TTL), deletes it on an empty result.
    check(&mut c, &["SET", "d", "string"], "+OK\r\n");
    check(&mut c, &["EXPIRE", "d", "100"], ":1\r\n");
    check(&mut c, &["SINTERSTORE", "d", "a", "b"], ":2\r\n");
    check(&mut c, &["TYPE", "d"], "+set\r\n");
    check(&mut c, &["TTL", "d"], ":-1\r\n");
    check(&mut c, &["SMEMBERS", "d"], &bulks(&["2", "3"]));
    check(&mut c, &["SUNIONSTORE", "d", "a", "c"], ":5\r\n");
    check_sorted(
        &mut c,
        &["SMEMBERS", "d"],
        &bulks(&["1", "2", "3", "x", "y"]),
    );
    check(&mut c, &["SDIFFSTORE", "d", "c", "a"], ":1\r\n");
    check(&mut c, &["SMEMBERS", "d"], &bulks(&["y"]));
    check(&mut c, &["SINTERSTORE", "d", "a", "nokey"], ":0\r\n");
    check(&mut c, &["EXISTS", "d"], ":0\r\n");
    check(&mut c, &["SET", "d", "string"], "+OK\r\n");
    check(&mut c, &["SDIFFSTORE", "d", "a", "a"], ":0\r\n");
    check(&mut c, &["EXISTS", "d"], ":0\r\n");
    check(&mut c, &["SUNIONSTORE", "d", "nokey"], ":0\r\n");
    // The destination may be a source.
    check(&mut c, &["SUNIONSTORE", "a", "a", "b"], ":5\r\n");
    check_sorted(
        &mut c,
        &["SMEMBERS", "a"],
        &bulks(&["1", "2", "3", "4", "x"]),
    );
    check(&mut c, &["SINTERSTORE", "b", "b", "c"], ":1\r\n");
    check(&mut c, &["SMEMBERS", "b"], &bulks(&["3"]));
}

#[test]
fn smove() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["SADD", "a", "1", "2"], ":2\r\n");
    check(&mut c, &["SMOVE", "a", "b", "9"], ":0\r\n");
    check(&mut c, &["EXISTS", "b"], ":0\r\n");
    check(&mut c, &["SMOVE", "nokey", "b", "1"], ":0\r\n");
    check(&mut c, &["SET", "str", "x"], "+OK\r\n");
    check(&mut c, &["SMOVE", "nokey", "str", "1"], ":0\r\n");
    check(&mut c, &["SMOVE", "a", "a", "1"], ":1\r\n");
    check(&mut c, &["SMOVE", "a", "a", "9"], ":0\r\n");
    check(&mut c, &["SMOVE", "a", "b", "1"], ":1\r\n");
    check(&mut c, &["SMEMBERS", "a"], &bulks(&["2"]));
    check(&mut c, &["SMEMBERS", "b"], &bulks(&["1"]));
    check(&mut c, &["SADD", "b", "2"], ":1\r\n");
    check(&mut c, &["SMOVE", "a", "b", "2"], ":1\r\n");
    check(&mut c, &["EXISTS", "a"], ":0\r\n");
    check(&mut c, &["SMEMBERS", "b"], &bulks(&["1", "2"]));
}

#[test]
fn spop_and_srandmember_shapes() {
    let s = server();
    let mut c = s.raw();
    for (key, members) in [
        ("ints", (0..20).map(|i| i.to_string()).collect::<Vec<_>>()),
        ("strs", (0..20).map(|i| format!("m{i}")).collect()),
    ] {
        let all: HashSet<String> = members.iter().cloned().collect();
        assert_eq!(sadd_many(&mut c, key, members.into_iter()), ":20\r\n");
        let one = elements(&format!("*1\r\n{}", c.cmds(&["SRANDMEMBER", key])));
        assert!(all.contains(&one[0]));
        for n in [1usize, 5, 7, 19, 20, 21, 1000] {
            let got = elements(&c.cmds(&["SRANDMEMBER", key, &n.to_string()]));
            assert_eq!(got.len(), n.min(20), "{key} {n}");
            assert_eq!(
                got.iter().collect::<HashSet<_>>().len(),
                got.len(),
                "distinct"
            );
            assert!(got.iter().all(|m| all.contains(m)));
        }
        let got = elements(&c.cmds(&["SRANDMEMBER", key, "-100"]));
        assert_eq!(got.len(), 100);
        assert!(got.iter().all(|m| all.contains(m)));
        check(&mut c, &["SRANDMEMBER", key, "0"], "*0\r\n");
        check(&mut c, &["SCARD", key], ":20\r\n");
        // SPOP: distinct, removed; then the rest (count >= size) deletes the key.
        let mut popped = HashSet::new();
        let one = elements(&format!("*1\r\n{}", c.cmds(&["SPOP", key])));
        popped.insert(one[0].clone());
        for n in ["2", "14"] {
            for m in elements(&c.cmds(&["SPOP", key, n])) {
                assert!(all.contains(&m) && popped.insert(m), "distinct pops");
            }
        }
        check(&mut c, &["SCARD", key], ":3\r\n");
        check(&mut c, &["SPOP", key, "0"], "*0\r\n");
        for m in elements(&c.cmds(&["SPOP", key, "10"])) {
            assert!(popped.insert(m));
        }
        assert_eq!(popped, all);
        check(&mut c, &["EXISTS", key], ":0\r\n");
    }
    check(&mut c, &["SADD", "one", "x"], ":1\r\n");
    check(&mut c, &["SPOP", "one"], "$1\r\nx\r\n");
    check(&mut c, &["EXISTS", "one"], ":0\r\n");
    check(&mut c, &["SPOP", "nokey"], "$-1\r\n");
    check(&mut c, &["SPOP", "nokey", "3"], "*0\r\n");
    check(&mut c, &["SRANDMEMBER", "nokey"], "$-1\r\n");
    check(&mut c, &["SRANDMEMBER", "nokey", "3"], "*0\r\n");
    check(&mut c, &["SRANDMEMBER", "nokey", "-3"], "*0\r\n");
}

#[test]
fn huge_negative_count_is_cut_at_the_output_limit() {
    let s = TestServer::start(&["--client-output-buffer-limit", "normal 1mb 0 0"]);
    let mut c = s.raw();
    c.cmds(&["SADD", "s", "a"]);
    c.send(&common::encode(&[
        b"SRANDMEMBER",
        b"s",
        b"-9223372036854775807",
    ]));
    let got = c.read_to_close();
    assert!(got.len() < 8 << 20, "stopped near the limit: {}", got.len());
    let mut d = s.raw();
    check(&mut d, &["PING"], "+PONG\r\n");
}

#[test]
fn resp3_forms() {
    let s = server();
    let mut c = s.raw();
    c.cmds(&["HELLO", "3"]);
    check(&mut c, &["SADD", "s", "3", "1", "2"], ":3\r\n");
    check(&mut c, &["SMEMBERS", "s"], &agg('~', &["1", "2", "3"]));
    check(&mut c, &["SMEMBERS", "nokey"], "~0\r\n");
    check(&mut c, &["SINTER", "s", "nokey"], "~0\r\n");
    check(&mut c, &["SINTER", "s", "s"], &agg('~', &["1", "2", "3"]));
    check(
        &mut c,
        &["SUNION", "s", "nokey"],
        &agg('~', &["1", "2", "3"]),
    );
    check(
        &mut c,
        &["SDIFF", "s", "nokey"],
        &agg('~', &["1", "2", "3"]),
    );
    check(&mut c, &["SPOP", "s", "0"], "~0\r\n");
    check(&mut c, &["SPOP", "nokey", "2"], "~0\r\n");
    check(&mut c, &["SPOP", "nokey"], "_\r\n");
    check(&mut c, &["SRANDMEMBER", "nokey"], "_\r\n");
    check(&mut c, &["SRANDMEMBER", "s", "0"], "*0\r\n");
    check(&mut c, &["SRANDMEMBER", "nokey", "2"], "*0\r\n");
    check_sorted(&mut c, &["SRANDMEMBER", "s", "5"], &bulks(&["1", "2", "3"]));
    assert!(c.cmds(&["SRANDMEMBER", "s", "-5"]).starts_with("*5\r\n"));
    check(&mut c, &["SMISMEMBER", "s", "1", "9"], "*2\r\n:1\r\n:0\r\n");
    check(&mut c, &["SISMEMBER", "s", "1"], ":1\r\n");
    check(&mut c, &["SINTERCARD", "1", "s"], ":3\r\n");
    check(
        &mut c,
        &["SSCAN", "s", "0"],
        "*2\r\n$1\r\n0\r\n*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n",
    );
    let r = c.cmds(&["SPOP", "s", "3"]);
    assert_eq!(sorted(&r), agg('~', &["1", "2", "3"]));
}

#[test]
fn sscan_small_and_large() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["SADD", "s", "1", "2", "12"], ":3\r\n");
    check(
        &mut c,
        &["SSCAN", "s", "0", "COUNT", "1"],
        "*2\r\n$1\r\n0\r\n*3\r\n$1\r\n1\r\n$1\r\n2\r\n$2\r\n12\r\n",
    );
    check(
        &mut c,
        &["SSCAN", "s", "-1", "MATCH", "1*"],
        "*2\r\n$1\r\n0\r\n*2\r\n$1\r\n1\r\n$2\r\n12\r\n",
    );
    check(&mut c, &["SSCAN", "s", "x"], "-ERR invalid cursor\r\n");
    check(
        &mut c,
        &["SSCAN", "s", "18446744073709551616"],
        "-ERR invalid cursor\r\n",
    );
    check(
        &mut c,
        &["SSCAN", "s", "0", "COUNT", "0"],
        "-ERR syntax error\r\n",
    );
    check(
        &mut c,
        &["SSCAN", "s", "0", "TYPE", "set"],
        "-ERR syntax error\r\n",
    );
    check(
        &mut c,
        &["SSCAN", "nokey", "0", "COUNT", "0"],
        "*2\r\n$1\r\n0\r\n*0\r\n",
    );
    check(&mut c, &["SSCAN", "nokey", "x"], "-ERR invalid cursor\r\n");

    assert_eq!(
        sadd_many(&mut c, "big", (0..3000).map(|i| format!("m{i}"))),
        ":3000\r\n"
    );
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let r = c.cmds(&["SSCAN", "big", &cursor, "COUNT", "40"]);
        cursor = elements(&r)[0].clone();
        let items = elements(&r[r.find("\r\n*").unwrap() + 2..]);
        assert!(items.len() <= 60, "about COUNT per call: {}", items.len());
        seen.extend(items);
        calls += 1;
        c.cmds(&["SREM", "big", &format!("m{}", 2000 + calls)]);
        c.cmds(&["SADD", "big", &format!("new{calls}")]);
        if cursor == "0" {
            break;
        }
        assert!(calls < 1000);
    }
    for i in 0..2000 {
        assert!(seen.contains(&format!("m{i}")), "m{i} missing");
    }
}

#[test]
fn generic_key_commands() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["SADD", "s", "1", "x"], ":2\r\n");
    check(&mut c, &["TYPE", "s"], "+set\r\n");
    check(&mut c, &["OBJECT", "ENCODING", "s"], "$9\r\nhashtable\r\n");
    check(&mut c, &["COPY", "s", "s2"], ":1\r\n");
    check(&mut c, &["SADD", "s2", "y"], ":1\r\n");
    check(&mut c, &["SCARD", "s"], ":2\r\n");
    check(&mut c, &["RENAME", "s2", "s3"], "+OK\r\n");
    check(&mut c, &["SCARD", "s3"], ":3\r\n");
    check(&mut c, &["MOVE", "s3", "1"], ":1\r\n");
    check(&mut c, &["SELECT", "1"], "+OK\r\n");
    check(&mut c, &["SISMEMBER", "s3", "y"], ":1\r\n");
    check(&mut c, &["SELECT", "0"], "+OK\r\n");
    check(&mut c, &["HSET", "h", "a", "1"], ":1\r\n");
    check(
        &mut c,
        &["SCAN", "0", "TYPE", "set"],
        "*2\r\n$1\r\n0\r\n*1\r\n$1\r\ns\r\n",
    );
}

// ---------------------------------------------------------------------------------------------------------
// Differential: the same requests to ferrokv and to redis-server.

#[test]
fn differential_sequences() {
    differential(|run| {
        use Cmp::*;
        for (args, cmp) in [
            (&["SADD", "a", "3", "1", "2", "x"][..], Exact),
            (&["SADD", "b", "2", "3", "4"], Exact),
            (&["SINTER", "a", "b"], Sorted),
            (&["SINTERSTORE", "i", "a", "b"], Exact),
            (&["SMEMBERS", "i"], Exact),
            (&["OBJECT", "ENCODING", "i"], Exact),
            (&["SUNIONSTORE", "u", "a", "b"], Exact),
            (&["OBJECT", "ENCODING", "u"], Exact),
            (&["SDIFFSTORE", "u", "b", "a"], Exact),
            (&["SMEMBERS", "u"], Exact),
            (&["OBJECT", "ENCODING", "u"], Exact),
            (&["SPOP", "a", "0"], Exact),
            (&["SPOP", "a", "10"], Sorted),
            (&["EXISTS", "a"], Exact),
            (&["SRANDMEMBER", "b", "-5"], Shape),
            (&["SRANDMEMBER", "b", "5"], Sorted),
            (&["HELLO", "3"], Shape),
            (&["SMEMBERS", "b"], Exact),
            (&["SUNION", "b", "nokey"], Exact),
            (&["SPOP", "b", "0"], Exact),
            (&["SRANDMEMBER", "b", "0"], Exact),
            (&["SPOP", "b", "5"], Sorted),
            (&["HELLO", "2"], Shape),
        ] {
            run(args, cmp);
        }
    });
}

#[test]
fn differential_random_workload() {
    differential(|run| {
        let mut rng = Rng(0x5e7);
        let keys = ["s1", "s2", "s3", "str", "h"];
        let members = ["1", "2", "3", "-5", "a", "b", "01", "", "70000", "x"];
        run(&["SET", "str", "x"], Cmp::Exact);
        run(&["HSET", "h", "f", "v"], Cmp::Exact);
        run(
            &["CONFIG", "SET", "set-max-intset-entries", "4"],
            Cmp::Exact,
        );
        for _ in 0..3000 {
            let k = rng.pick(&keys);
            let k2 = rng.pick(&keys);
            let k3 = rng.pick(&keys);
            let m = rng.pick(&members);
            let m2 = rng.pick(&members);
            let n = (rng.below(13) as i64 - 6).to_string();
            match rng.below(20) {
                0 | 1 => run(&["SADD", k, m, m2], Cmp::Exact),
                2 => run(&["SREM", k, m, m2], Cmp::Exact),
                3 => run(&["SMEMBERS", k], Cmp::Sorted),
                4 => run(&["SISMEMBER", k, m], Cmp::Exact),
                5 => run(&["SMISMEMBER", k, m, m2], Cmp::Exact),
                6 => run(&["SCARD", k], Cmp::Exact),
                7 => run(&["SMOVE", k, k2, m], Cmp::Exact),
                8 => run(&["SINTER", k, k2], Cmp::Sorted),
                9 => run(&["SUNION", k, k2, k3], Cmp::Sorted),
                10 => run(&["SDIFF", k, k2, k3], Cmp::Sorted),
                11 => run(&["SINTERSTORE", k, k2, k3], Cmp::Exact),
                12 => run(&["SUNIONSTORE", k, k2, k3], Cmp::Exact),
                13 => run(&["SDIFFSTORE", k, k2, k3], Cmp::Exact),
                14 => run(&["SINTERCARD", "2", k, k2, "LIMIT", &n], Cmp::Exact),
                15 => run(&["SRANDMEMBER", k, &n], Cmp::Shape),
                16 => run(&["SSCAN", k, "0", "COUNT", "100"], Cmp::Shape),
                // Only the deterministic SPOPs: nothing, or everything.
                17 => run(
                    &["SPOP", k, if rng.below(2) == 0 { "0" } else { "100" }],
                    Cmp::Sorted,
                ),
                18 => run(&["OBJECT", "ENCODING", k], Cmp::Exact),
                _ => run(&["TYPE", k], Cmp::Exact),
            }
        }
    });
}

/// A SYNC client's view of the replication stream: the commands after the initial snapshot.
struct ReplStream {
    stream: std::net::TcpStream,
    buf: Vec<u8>,
}

impl ReplStream {
    fn attach(s: &TestServer) -> ReplStream {
        use std::io::Write;
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", s.port)).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .unwrap();
        stream.write_all(b"SYNC\r\n").unwrap();
        let mut r = ReplStream {
            stream,
            buf: Vec::new(),
        };
        // The snapshot: `$<len>\r\n` and that many bytes, with no CRLF after them.
        let head = loop {
            if let Some(p) = r.buf.windows(2).position(|w| w == b"\r\n") {
                break p;
            }
            r.fill();
        };
        let len: usize = std::str::from_utf8(&r.buf[1..head])
            .unwrap()
            .parse()
            .unwrap();
        while r.buf.len() < head + 2 + len {
            r.fill();
        }
        r.buf.drain(..head + 2 + len);
        r
    }

    fn fill(&mut self) {
        use std::io::Read;
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk).unwrap();
        assert!(n > 0, "stream closed");
        self.buf.extend_from_slice(&chunk[..n]);
    }

    /// The next propagated command (PINGs skipped), as strings.
    fn next(&mut self) -> Vec<String> {
        loop {
            if let Some(n) = common::reply_len(&self.buf) {
                let raw: Vec<u8> = self.buf.drain(..n).collect();
                let cmd = elements(&String::from_utf8_lossy(&raw));
                if !cmd[0].eq_ignore_ascii_case("ping") {
                    return cmd;
                }
                continue;
            }
            self.fill();
        }
    }
}

#[test]
fn random_writes_propagate_as_their_effect() {
    let s = TestServer::start(&[]);
    let mut repl = ReplStream::attach(&s);
    let mut c = s.raw();
    check(&mut c, &["SADD", "one", "a"], ":1\r\n");
    assert_eq!(repl.next(), ["SELECT", "0"]);
    assert_eq!(repl.next(), ["SADD", "one", "a"]);
    // No-ops are not propagated; the next command shows up right after the last real write.
    check(&mut c, &["SADD", "one", "a"], ":0\r\n");
    check(&mut c, &["SREM", "one", "zz"], ":0\r\n");
    check(&mut c, &["SPOP", "one", "0"], "*0\r\n");
    check(&mut c, &["SMOVE", "one", "one", "a"], ":1\r\n");
    check(&mut c, &["SPOP", "one"], "$1\r\na\r\n");
    assert_eq!(repl.next(), ["SREM", "one", "a"]);
    check(&mut c, &["HINCRBYFLOAT", "h", "f", "1.5e1"], "$2\r\n15\r\n");
    assert_eq!(repl.next(), ["HSET", "h", "f", "15"]);
    check(&mut c, &["HSETNX", "h", "f", "x"], ":0\r\n");
    check(&mut c, &["HDEL", "h", "zz"], ":0\r\n");
    assert_eq!(
        sadd_many(&mut c, "s", (0..10).map(|i| format!("m{i}"))),
        ":10\r\n"
    );
    assert_eq!(repl.next()[..2], ["SADD", "s"]);
    let popped = elements(&c.cmds(&["SPOP", "s", "3"]));
    let mut srem = repl.next();
    assert_eq!(srem[..2], ["SREM", "s"]);
    let mut popped_sorted = popped.clone();
    popped_sorted.sort();
    srem[2..].sort();
    assert_eq!(srem[2..], popped_sorted[..]);
    let popped = elements(&c.cmds(&["SPOP", "s", "6"]));
    assert_eq!(popped.len(), 6);
    assert_eq!(repl.next().len(), 8);
    assert!(c.cmds(&["SPOP", "s", "6"]).starts_with("*1\r\n"));
    assert_eq!(repl.next(), ["DEL", "s"]);
}

/// The dirty counter (`rdb_changes_since_last_save`) moves as Redis 7.0.15 moves it: one per member
/// added, removed or popped; SMOVE one plus one when the destination gains the member; a STORE one.
#[test]
fn dirty_counts_like_redis() {
    let s = server();
    let mut c = s.raw();
    check_dirty(
        &mut c,
        &[
            (&["SADD", "s", "a", "b", "c"], 3),
            (&["SADD", "s", "a", "d"], 1),
            (&["SREM", "s", "a", "zz", "b"], 2),
            (&["SADD", "t", "d"], 1),
            (&["SMOVE", "s", "t", "d"], 1),
            (&["SMOVE", "s", "u", "c"], 2),
            (&["SADD", "s", "1", "2", "3", "4"], 4),
            (&["SPOP", "s", "0"], 0),
            (&["SPOP", "s", "3"], 3),
            (&["SUNIONSTORE", "d", "s", "t"], 1),
            (&["SINTERSTORE", "d", "s", "nx"], 1),
            (&["SINTERSTORE", "d", "s", "nx"], 0),
        ],
    );
}
