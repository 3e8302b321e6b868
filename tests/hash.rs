//! The hash family over raw RESP: every command's replies and errors as exact bytes (the bytes Redis
//! 7.0.15 sends; unordered replies compared sorted), the listpack/hashtable encodings and their
//! conversion thresholds (settable with CONFIG SET, old `ziplist` names included), WRONGTYPE, deletion of
//! an emptied hash, RESP3 forms, HRANDFIELD's result shapes, HSCAN's guarantee, the generic key commands
//! on hashes, and a differential run against a real `redis-server`.
//!
//! `HASH_AGAINST_REDIS=1` runs the byte-level tests against a real redis-server instead of ferrokv,
//! which is how their expected bytes were checked.

mod common;

use std::collections::{BTreeMap, HashSet};

use common::{
    check, check_dirty, check_sorted, differential, sorted, Cmp, RawConn, Rng, TestServer,
};

fn server() -> TestServer {
    if std::env::var("HASH_AGAINST_REDIS").as_deref() == Ok("1") {
        return common::start_redis().expect("redis-server");
    }
    TestServer::start(&[])
}

/// The elements of an array reply as strings (bulk strings only, one level).
fn elements(reply: &str) -> Vec<String> {
    let b = reply.as_bytes();
    let head = reply.find("\r\n").unwrap() + 2;
    let n: i64 = reply[1..head - 2].parse().unwrap();
    let mut out = Vec::new();
    let mut pos = head;
    for _ in 0..n.max(0) {
        let len = common::reply_len(&b[pos..]).unwrap();
        let item = &reply[pos..pos + len];
        match item.as_bytes()[0] {
            b'$' => {
                let body = item.find("\r\n").unwrap() + 2;
                out.push(item[body..item.len() - 2].to_string());
            }
            _ => out.push(item.to_string()),
        }
        pos += len;
    }
    out
}

/// RESP bulk string.
fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

/// RESP array of bulk strings.
fn bulks(xs: &[&str]) -> String {
    let mut s = format!("*{}\r\n", xs.len());
    for x in xs {
        s.push_str(&bulk(x));
    }
    s
}

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

fn encoding(c: &mut RawConn, key: &str) -> String {
    let r = c.cmds(&["OBJECT", "ENCODING", key]);
    elements(&format!("*1\r\n{r}"))[0].clone()
}

#[test]
fn set_get_and_friends() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["HSET", "h", "a", "1", "b", "2"], ":2\r\n");
    check(&mut c, &["HSET", "h", "a", "x", "c", "3"], ":1\r\n");
    check(&mut c, &["HGET", "h", "a"], "$1\r\nx\r\n");
    check(&mut c, &["HGET", "h", "zz"], "$-1\r\n");
    check(&mut c, &["HGET", "nokey", "a"], "$-1\r\n");
    // A listpack keeps insertion order, and so do both servers.
    check(&mut c, &["HKEYS", "h"], &bulks(&["a", "b", "c"]));
    check(&mut c, &["HVALS", "h"], &bulks(&["x", "2", "3"]));
    check(
        &mut c,
        &["HGETALL", "h"],
        &bulks(&["a", "x", "b", "2", "c", "3"]),
    );
    check(
        &mut c,
        &["HMGET", "h", "a", "zz", "c"],
        "*3\r\n$1\r\nx\r\n$-1\r\n$1\r\n3\r\n",
    );
    check(
        &mut c,
        &["HMGET", "nokey", "a", "b"],
        "*2\r\n$-1\r\n$-1\r\n",
    );
    check(&mut c, &["HMSET", "h", "d", "4", "a", "1"], "+OK\r\n");
    check(&mut c, &["HLEN", "h"], ":4\r\n");
    check(&mut c, &["HLEN", "nokey"], ":0\r\n");
    check(&mut c, &["HEXISTS", "h", "d"], ":1\r\n");
    check(&mut c, &["HEXISTS", "h", "e"], ":0\r\n");
    check(&mut c, &["HEXISTS", "nokey", "e"], ":0\r\n");
    check(&mut c, &["HSETNX", "h", "a", "no"], ":0\r\n");
    check(&mut c, &["HSETNX", "h", "e", "5"], ":1\r\n");
    check(&mut c, &["HSETNX", "new", "f", "v"], ":1\r\n");
    check(&mut c, &["HGET", "h", "a"], "$1\r\n1\r\n");
    check(&mut c, &["HSTRLEN", "h", "e"], ":1\r\n");
    check(&mut c, &["HSTRLEN", "h", "zz"], ":0\r\n");
    check(&mut c, &["HSTRLEN", "nokey", "zz"], ":0\r\n");
    check(&mut c, &["HKEYS", "nokey"], "*0\r\n");
    check(&mut c, &["HVALS", "nokey"], "*0\r\n");
    check(&mut c, &["HGETALL", "nokey"], "*0\r\n");
    // Integers, negative numbers and binary data come back as given.
    let bin: &[u8] = b"a\r\nb\0c";
    assert_eq!(c.cmd(&[b"HSET", b"b", bin, bin]), b":1\r\n");
    assert_eq!(c.cmd(&[b"HGET", b"b", bin]), b"$6\r\na\r\nb\0c\r\n");
    for v in [
        "0",
        "-1",
        "12",
        "-129",
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775808",
        "01",
        "-0",
        "+1",
        "1.5",
        "",
    ] {
        check(&mut c, &["HSET", "n", v, v], ":1\r\n");
        check(&mut c, &["HGET", "n", v], &bulk(v));
        check(&mut c, &["HSTRLEN", "n", v], &format!(":{}\r\n", v.len()));
    }
    // HDEL counts what it removed and deletes an emptied hash.
    check(&mut c, &["HDEL", "h", "a", "zz", "a", "b"], ":2\r\n");
    check(&mut c, &["HDEL", "nokey", "a"], ":0\r\n");
    check(&mut c, &["HDEL", "h", "c", "d", "e", "f"], ":3\r\n");
    check(&mut c, &["EXISTS", "h"], ":0\r\n");
    check(&mut c, &["HLEN", "h"], ":0\r\n");
    // Inline form.
    c.send(b"HSET inl f \"two words\"\r\nHGET inl f\r\n");
    assert_eq!(c.read_reply(), b":1\r\n");
    assert_eq!(c.read_reply(), b"$9\r\ntwo words\r\n");
}

#[test]
fn errors_and_wrongtype() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["SET", "str", "x"], "+OK\r\n");
    for args in [
        &["HSET", "str", "a", "1"][..],
        &["HSETNX", "str", "a", "1"],
        &["HMSET", "str", "a", "1"],
        &["HGET", "str", "a"],
        &["HMGET", "str", "a"],
        &["HDEL", "str", "a"],
        &["HEXISTS", "str", "a"],
        &["HLEN", "str"],
        &["HSTRLEN", "str", "a"],
        &["HKEYS", "str"],
        &["HVALS", "str"],
        &["HGETALL", "str"],
        &["HINCRBY", "str", "a", "1"],
        &["HINCRBYFLOAT", "str", "a", "1"],
        &["HRANDFIELD", "str"],
        &["HRANDFIELD", "str", "1"],
        &["HRANDFIELD", "str", "-1", "WITHVALUES"],
        &["HSCAN", "str", "0"],
        &["HSCAN", "str", "0", "COUNT", "0"],
    ] {
        check(&mut c, args, WRONGTYPE);
    }
    check(&mut c, &["GET", "str"], "$1\r\nx\r\n");
    let arity = |n: &str| format!("-ERR wrong number of arguments for '{n}' command\r\n");
    check(&mut c, &["HSET", "h"], &arity("hset"));
    check(&mut c, &["HSET", "h", "a"], &arity("hset"));
    check(&mut c, &["HSET", "h", "a", "1", "b"], &arity("hset"));
    check(&mut c, &["HMSET", "h", "a", "1", "b"], &arity("hmset"));
    check(&mut c, &["HSETNX", "h", "a"], &arity("hsetnx"));
    check(&mut c, &["HGET", "h"], &arity("hget"));
    check(&mut c, &["HMGET", "h"], &arity("hmget"));
    check(&mut c, &["HDEL", "h"], &arity("hdel"));
    check(&mut c, &["HGETALL"], &arity("hgetall"));
    check(&mut c, &["HRANDFIELD"], &arity("hrandfield"));
    check(&mut c, &["HSCAN", "h"], &arity("hscan"));
    check(&mut c, &["HINCRBY", "h", "a"], &arity("hincrby"));
    check(&mut c, &["EXISTS", "h"], ":0\r\n");
    // Argument errors come before the type check where Redis parses first.
    check(
        &mut c,
        &["HINCRBY", "str", "a", "x"],
        "-ERR value is not an integer or out of range\r\n",
    );
    check(
        &mut c,
        &["HINCRBYFLOAT", "str", "a", "x"],
        "-ERR value is not a valid float\r\n",
    );
    check(
        &mut c,
        &["HRANDFIELD", "str", "x"],
        "-ERR value is not an integer or out of range\r\n",
    );
    check(&mut c, &["HSCAN", "str", "x"], "-ERR invalid cursor\r\n");
}

#[test]
fn incr_commands() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["HINCRBY", "h", "n", "5"], ":5\r\n");
    check(&mut c, &["HINCRBY", "h", "n", "-7"], ":-2\r\n");
    check(
        &mut c,
        &["HSET", "h", "s", "abc", "sp", " 1", "e", "1e5"],
        ":3\r\n",
    );
    check(
        &mut c,
        &["HINCRBY", "h", "s", "1"],
        "-ERR hash value is not an integer\r\n",
    );
    check(
        &mut c,
        &["HINCRBY", "h", "s", "x"],
        "-ERR value is not an integer or out of range\r\n",
    );
    check(
        &mut c,
        &["HSET", "h", "big", "9223372036854775807"],
        ":1\r\n",
    );
    check(
        &mut c,
        &["HINCRBY", "h", "big", "1"],
        "-ERR increment or decrement would overflow\r\n",
    );
    check(
        &mut c,
        &["HINCRBY", "h", "big", "-1"],
        ":9223372036854775806\r\n",
    );
    check(
        &mut c,
        &["HINCRBYFLOAT", "h", "big", "1"],
        "$19\r\n9223372036854775807\r\n",
    );
    check(
        &mut c,
        &["HINCRBYFLOAT", "h", "f", "1.5e3"],
        "$4\r\n1500\r\n",
    );
    check(
        &mut c,
        &["HINCRBYFLOAT", "h", "f", "0.1"],
        "$22\r\n1500.09999999999999998\r\n",
    );
    check(&mut c, &["HINCRBYFLOAT", "h", "g", "0.1"], "$3\r\n0.1\r\n");
    check(&mut c, &["HINCRBYFLOAT", "h", "g", "0.2"], "$3\r\n0.3\r\n");
    check(&mut c, &["HINCRBYFLOAT", "h", "e", "1"], "$6\r\n100001\r\n");
    check(&mut c, &["HINCRBY", "h", "e", "1"], ":100002\r\n");
    check(
        &mut c,
        &["HINCRBYFLOAT", "h", "sp", "1"],
        "-ERR hash value is not a float\r\n",
    );
    check(
        &mut c,
        &["HINCRBYFLOAT", "h", "s", "1"],
        "-ERR hash value is not a float\r\n",
    );
    check(
        &mut c,
        &["HINCRBYFLOAT", "h", "f", "inf"],
        "-ERR value is NaN or Infinity\r\n",
    );
    check(
        &mut c,
        &["HINCRBYFLOAT", "h", "f", "nan"],
        "-ERR value is not a valid float\r\n",
    );
    check(
        &mut c,
        &["HINCRBYFLOAT", "h", "f", " 1"],
        "-ERR value is not a valid float\r\n",
    );
    check(
        &mut c,
        &["HGET", "h", "f"],
        "$22\r\n1500.09999999999999998\r\n",
    );
    // A result longer than hash-max-listpack-value converts the hash, as Redis 7.0's hashTypeSet does.
    check(
        &mut c,
        &["HINCRBYFLOAT", "x", "a", "1e100"],
        "$100\r\n9999999999999999999669353532207342619498699019828496079271391541752018669482644324418977840117055488\r\n",
    );
    assert_eq!(encoding(&mut c, "x"), "hashtable");
}

#[test]
fn encodings_and_thresholds() {
    let s = server();
    let mut c = s.raw();
    check(
        &mut c,
        &["CONFIG", "GET", "hash-max-listpack-entries"],
        &bulks(&["hash-max-listpack-entries", "512"]),
    );
    check(
        &mut c,
        &["CONFIG", "GET", "hash-max-ziplist-value"],
        &bulks(&["hash-max-ziplist-value", "64"]),
    );
    check_sorted(
        &mut c,
        &["CONFIG", "GET", "hash-max-*"],
        &bulks(&[
            "hash-max-listpack-entries",
            "512",
            "hash-max-ziplist-entries",
            "512",
            "hash-max-listpack-value",
            "64",
            "hash-max-ziplist-value",
            "64",
        ]),
    );
    // Default thresholds: 512 fields, 64-byte strings.
    let mut args: Vec<String> = vec!["HSET".into(), "big".into()];
    for i in 0..512 {
        args.push(format!("f{i}"));
        args.push("v".into());
    }
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    check(&mut c, &a, ":512\r\n");
    assert_eq!(encoding(&mut c, "big"), "listpack");
    check(&mut c, &["HSET", "big", "f0", "w"], ":0\r\n");
    assert_eq!(encoding(&mut c, "big"), "listpack");
    check(&mut c, &["HSET", "big", "f512", "v"], ":1\r\n");
    assert_eq!(encoding(&mut c, "big"), "hashtable");
    check(&mut c, &["HLEN", "big"], ":513\r\n");
    check(&mut c, &["HGET", "big", "f0"], "$1\r\nw\r\n");
    // Never back: deleting down to one field keeps the hash table.
    for i in 1..513 {
        c.cmds(&["HDEL", "big", &format!("f{i}")]);
    }
    check(&mut c, &["HLEN", "big"], ":1\r\n");
    assert_eq!(encoding(&mut c, "big"), "hashtable");

    let v64 = "x".repeat(64);
    let v65 = "x".repeat(65);
    check(&mut c, &["HSET", "v", "a", &v64], ":1\r\n");
    assert_eq!(encoding(&mut c, "v"), "listpack");
    check(&mut c, &["HSET", "v", "b", &v65], ":1\r\n");
    assert_eq!(encoding(&mut c, "v"), "hashtable");
    check(&mut c, &["HSET", "k", &v65, "1"], ":1\r\n");
    assert_eq!(encoding(&mut c, "k"), "hashtable");
    // HSETNX converts only when it sets.
    check(&mut c, &["HSET", "nx", "a", "1"], ":1\r\n");
    check(&mut c, &["HSETNX", "nx", "a", &v65], ":0\r\n");
    assert_eq!(encoding(&mut c, "nx"), "listpack");
    check(&mut c, &["HSETNX", "nx", "b", &v65], ":1\r\n");
    assert_eq!(encoding(&mut c, "nx"), "hashtable");

    // Settable, under either name.
    check(
        &mut c,
        &["CONFIG", "SET", "hash-max-ziplist-entries", "2"],
        "+OK\r\n",
    );
    check(
        &mut c,
        &["CONFIG", "GET", "hash-max-listpack-entries"],
        &bulks(&["hash-max-listpack-entries", "2"]),
    );
    check(&mut c, &["HSET", "t", "a", "1", "b", "2"], ":2\r\n");
    assert_eq!(encoding(&mut c, "t"), "listpack");
    check(&mut c, &["HSET", "t", "c", "3"], ":1\r\n");
    assert_eq!(encoding(&mut c, "t"), "hashtable");
    check(
        &mut c,
        &["HSET", "t3", "a", "1", "b", "2", "a", "3"],
        ":2\r\n",
    );
    assert_eq!(encoding(&mut c, "t3"), "listpack");
    check(
        &mut c,
        &["CONFIG", "SET", "hash-max-listpack-entries", "0"],
        "+OK\r\n",
    );
    check(&mut c, &["HSET", "z", "a", "1"], ":1\r\n");
    assert_eq!(encoding(&mut c, "z"), "hashtable");
    check(
        &mut c,
        &[
            "CONFIG",
            "SET",
            "hash-max-listpack-entries",
            "512",
            "hash-max-listpack-value",
            "0",
        ],
        "+OK\r\n",
    );
    check(&mut c, &["HSET", "e", "", ""], ":1\r\n");
    assert_eq!(encoding(&mut c, "e"), "listpack");
    check(&mut c, &["HSET", "e2", "a", ""], ":1\r\n");
    assert_eq!(encoding(&mut c, "e2"), "hashtable");
    check(
        &mut c,
        &["CONFIG", "SET", "hash-max-listpack-value", "1mb"],
        "+OK\r\n",
    );
    check(
        &mut c,
        &["CONFIG", "GET", "hash-max-listpack-value"],
        &bulks(&["hash-max-listpack-value", "1048576"]),
    );
    check(
        &mut c,
        &["CONFIG", "SET", "hash-max-listpack-entries", "-1"],
        "-ERR CONFIG SET failed (possibly related to argument 'hash-max-listpack-entries') - argument must be between 0 and 9223372036854775807 inclusive\r\n",
    );
    check(
        &mut c,
        &["CONFIG", "SET", "hash-max-listpack-entries", "1k"],
        "-ERR CONFIG SET failed (possibly related to argument 'hash-max-listpack-entries') - argument couldn't be parsed into an integer\r\n",
    );
    check(
        &mut c,
        &["CONFIG", "SET", "hash-max-listpack-value", "abc"],
        "-ERR CONFIG SET failed (possibly related to argument 'hash-max-listpack-value') - argument must be a memory value\r\n",
    );
}

#[test]
fn hashtable_replies_sorted() {
    let s = server();
    let mut c = s.raw();
    check(
        &mut c,
        &["CONFIG", "SET", "hash-max-listpack-entries", "1"],
        "+OK\r\n",
    );
    check(
        &mut c,
        &["HSET", "h", "a", "1", "b", "2", "c", "3"],
        ":3\r\n",
    );
    assert_eq!(encoding(&mut c, "h"), "hashtable");
    check_sorted(&mut c, &["HKEYS", "h"], &bulks(&["a", "b", "c"]));
    check_sorted(&mut c, &["HVALS", "h"], &bulks(&["1", "2", "3"]));
    let all = sorted(&c.cmds(&["HGETALL", "h"]));
    assert_eq!(all.len(), bulks(&["a", "1", "b", "2", "c", "3"]).len());
    let got = elements(&c.cmds(&["HGETALL", "h"]));
    let pairs: BTreeMap<_, _> = got
        .chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect();
    assert_eq!(pairs.len(), 3);
    assert_eq!(pairs["b"], "2");
    check(&mut c, &["HDEL", "h", "b"], ":1\r\n");
    check(&mut c, &["HGET", "h", "c"], "$1\r\n3\r\n");
    check(&mut c, &["HDEL", "h", "a", "c"], ":2\r\n");
    check(&mut c, &["EXISTS", "h"], ":0\r\n");
}

#[test]
fn resp3_forms() {
    let s = server();
    let mut c = s.raw();
    c.cmds(&["HELLO", "3"]);
    check(&mut c, &["HSET", "h", "a", "1", "b", "2"], ":2\r\n");
    check(
        &mut c,
        &["HGETALL", "h"],
        "%2\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n",
    );
    check(&mut c, &["HGETALL", "nokey"], "%0\r\n");
    check(&mut c, &["HKEYS", "h"], &bulks(&["a", "b"]));
    check(&mut c, &["HKEYS", "nokey"], "*0\r\n");
    check(&mut c, &["HGET", "h", "zz"], "_\r\n");
    check(&mut c, &["HGET", "nokey", "zz"], "_\r\n");
    check(&mut c, &["HMGET", "h", "zz", "a"], "*2\r\n_\r\n$1\r\n1\r\n");
    check(&mut c, &["HRANDFIELD", "nokey"], "_\r\n");
    check(&mut c, &["HRANDFIELD", "nokey", "3"], "*0\r\n");
    check(&mut c, &["HRANDFIELD", "h", "0", "WITHVALUES"], "*0\r\n");
    check_sorted(
        &mut c,
        &["HRANDFIELD", "h", "5", "WITHVALUES"],
        "*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
    );
    let r = c.cmds(&["HRANDFIELD", "h", "-3", "WITHVALUES"]);
    assert!(r.starts_with("*3\r\n*2\r\n$1\r\n"), "{r:?}");
    check(
        &mut c,
        &["HSCAN", "h", "0"],
        "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n",
    );
    check(&mut c, &["HSCAN", "nokey", "0"], "*2\r\n$1\r\n0\r\n*0\r\n");
}

/// Field names of a reply of fields (with or without values).
fn field_set(fields: &[String]) -> HashSet<String> {
    fields.iter().cloned().collect()
}

#[test]
fn hrandfield_shapes() {
    let s = server();
    let mut c = s.raw();
    let mut all = HashSet::new();
    for (i, name) in ["small", "large"].iter().enumerate() {
        if i == 1 {
            c.cmds(&["CONFIG", "SET", "hash-max-listpack-entries", "4"]);
        }
        for f in 0..10 {
            c.cmds(&["HSET", name, &format!("f{f}"), &format!("v{f}")]);
            all.insert(format!("f{f}"));
        }
        assert_eq!(
            encoding(&mut c, name),
            if i == 0 { "listpack" } else { "hashtable" }
        );
        let one = elements(&format!("*1\r\n{}", c.cmds(&["HRANDFIELD", name])));
        assert!(all.contains(&one[0]));
        // Positive: distinct fields, at most the whole hash.
        for n in [1, 3, 9, 10, 11, 1000] {
            let got = elements(&c.cmds(&["HRANDFIELD", name, &n.to_string()]));
            assert_eq!(got.len(), n.min(10), "{name} {n}");
            assert_eq!(field_set(&got).len(), got.len(), "distinct");
            assert!(got.iter().all(|f| all.contains(f)));
        }
        // Negative: exactly |count|, repeats allowed.
        let got = elements(&c.cmds(&["HRANDFIELD", name, "-50"]));
        assert_eq!(got.len(), 50);
        assert!(got.iter().all(|f| all.contains(f)));
        // WITHVALUES in RESP2: flat pairs that belong together.
        for n in ["5", "-20", "100"] {
            let got = elements(&c.cmds(&["HRANDFIELD", name, n, "withvalues"]));
            let want = n
                .parse::<i64>()
                .unwrap()
                .unsigned_abs()
                .min(if n.starts_with('-') { u64::MAX } else { 10 });
            assert_eq!(got.len() as u64, want * 2, "{name} {n}");
            for p in got.chunks(2) {
                assert_eq!(p[0][1..], p[1][1..], "{p:?}");
            }
        }
        check(&mut c, &["HRANDFIELD", name, "0"], "*0\r\n");
    }
    check(
        &mut c,
        &["HRANDFIELD", "small", "-9223372036854775808"],
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n",
    );
    for n in [
        "-9223372036854775807",
        "-4611686018427387904",
        "9223372036854775807",
    ] {
        check(
            &mut c,
            &["HRANDFIELD", "small", n, "WITHVALUES"],
            "-ERR value is out of range\r\n",
        );
    }
    check(
        &mut c,
        &["HRANDFIELD", "small", "1", "WITHVALUE"],
        "-ERR syntax error\r\n",
    );
    check(
        &mut c,
        &["HRANDFIELD", "small", "1", "WITHVALUES", "x"],
        "-ERR syntax error\r\n",
    );
    check(
        &mut c,
        &["HRANDFIELD", "small", "1.5"],
        "-ERR value is not an integer or out of range\r\n",
    );
    check(&mut c, &["HRANDFIELD", "nokey", "5"], "*0\r\n");
    check(&mut c, &["HRANDFIELD", "nokey"], "$-1\r\n");
}

#[test]
fn huge_negative_count_is_cut_at_the_output_limit() {
    let s = TestServer::start(&["--client-output-buffer-limit", "normal 1mb 0 0"]);
    let mut c = s.raw();
    c.cmds(&["HSET", "h", "a", "1"]);
    c.send(&common::encode(&[
        b"HRANDFIELD",
        b"h",
        b"-9223372036854775807",
    ]));
    let got = c.read_to_close();
    assert!(got.len() < 8 << 20, "stopped near the limit: {}", got.len());
    // The server is still there for others.
    let mut d = s.raw();
    check(&mut d, &["PING"], "+PONG\r\n");
}

#[test]
fn hscan_small_and_large() {
    let s = server();
    let mut c = s.raw();
    check(
        &mut c,
        &["HSET", "h", "a", "1", "b", "2", "ab", "3"],
        ":3\r\n",
    );
    // Small: everything at once, cursor 0, whatever the cursor and COUNT.
    check(
        &mut c,
        &["HSCAN", "h", "0", "COUNT", "1"],
        "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$2\r\nab\r\n$1\r\n3\r\n",
    );
    check(
        &mut c,
        &["HSCAN", "h", "17", "MATCH", "a*"],
        "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$2\r\nab\r\n$1\r\n3\r\n",
    );
    check(&mut c, &["HSCAN", "h", "x"], "-ERR invalid cursor\r\n");
    check(
        &mut c,
        &["HSCAN", "h", "0", "COUNT", "0"],
        "-ERR syntax error\r\n",
    );
    check(
        &mut c,
        &["HSCAN", "h", "0", "COUNT", "x"],
        "-ERR value is not an integer or out of range\r\n",
    );
    check(
        &mut c,
        &["HSCAN", "h", "0", "MATCH"],
        "-ERR syntax error\r\n",
    );
    check(
        &mut c,
        &["HSCAN", "h", "0", "TYPE", "hash"],
        "-ERR syntax error\r\n",
    );
    check(
        &mut c,
        &["HSCAN", "h", "0", "NOVALUES"],
        "-ERR syntax error\r\n",
    );
    // Missing key: the empty scan, before the options are even parsed.
    check(
        &mut c,
        &["HSCAN", "nokey", "0", "COUNT", "0"],
        "*2\r\n$1\r\n0\r\n*0\r\n",
    );

    // Large: every field present for the whole scan is returned, despite churn between calls.
    for i in 0..2000 {
        c.cmds(&["HSET", "big", &format!("f{i}"), &i.to_string()]);
    }
    assert_eq!(encoding(&mut c, "big"), "hashtable");
    let mut seen = HashSet::new();
    let mut cursor = "0".to_string();
    let mut calls = 0;
    loop {
        let r = c.cmds(&["HSCAN", "big", &cursor, "COUNT", "50"]);
        let head = elements(&r);
        cursor = head[0].clone();
        let inner = &r[r.find("\r\n*").unwrap() + 2..];
        let items = elements(inner);
        assert!(
            items.len() <= 2 * 60,
            "about COUNT per call: {}",
            items.len()
        );
        for p in items.chunks(2) {
            if !p[0].starts_with("new") {
                assert_eq!(format!("f{}", p[1]), p[0]);
            }
            seen.insert(p[0].clone());
        }
        calls += 1;
        // Churn: remove fields 1500.. and add new ones while scanning.
        c.cmds(&["HDEL", "big", &format!("f{}", 1500 + calls)]);
        c.cmds(&["HSET", "big", &format!("new{calls}"), "x"]);
        if cursor == "0" {
            break;
        }
        assert!(calls < 1000);
    }
    for i in 0..1500 {
        assert!(seen.contains(&format!("f{i}")), "f{i} missing");
    }
    let r = c.cmds(&["HSCAN", "big", "0", "MATCH", "f1?", "COUNT", "100000"]);
    assert!(r.starts_with("*2\r\n$1\r\n0\r\n*20\r\n"), "{r:?}");
}

#[test]
fn generic_key_commands() {
    let s = server();
    let mut c = s.raw();
    check(&mut c, &["HSET", "h", "a", "1"], ":1\r\n");
    check(&mut c, &["TYPE", "h"], "+hash\r\n");
    check(&mut c, &["OBJECT", "ENCODING", "h"], "$8\r\nlistpack\r\n");
    check(&mut c, &["COPY", "h", "h2"], ":1\r\n");
    check(&mut c, &["HSET", "h2", "b", "2"], ":1\r\n");
    check(&mut c, &["HLEN", "h"], ":1\r\n");
    check(&mut c, &["RENAME", "h2", "h3"], "+OK\r\n");
    check(&mut c, &["HGETALL", "h3"], &bulks(&["a", "1", "b", "2"]));
    check(&mut c, &["MOVE", "h3", "1"], ":1\r\n");
    check(&mut c, &["SELECT", "1"], "+OK\r\n");
    check(&mut c, &["HGET", "h3", "b"], "$1\r\n2\r\n");
    check(&mut c, &["SELECT", "0"], "+OK\r\n");
    check(&mut c, &["SET", "s", "x"], "+OK\r\n");
    check(
        &mut c,
        &["SCAN", "0", "TYPE", "hash"],
        "*2\r\n$1\r\n0\r\n*1\r\n$1\r\nh\r\n",
    );
    check(&mut c, &["EXPIRE", "h", "100"], ":1\r\n");
    check(&mut c, &["HSET", "h", "c", "3"], ":1\r\n");
    check(&mut c, &["TTL", "h"], ":100\r\n");
    check(&mut c, &["SET", "h", "now a string"], "+OK\r\n");
    check(&mut c, &["TYPE", "h"], "+string\r\n");
}

// ---------------------------------------------------------------------------------------------------------
// Differential: the same requests to ferrokv and to redis-server.

#[test]
fn differential_sequences() {
    differential(|run| {
        use Cmp::*;
        for (args, cmp) in [
            (&["HSET", "h", "a", "1", "b", "2"][..], Exact),
            (&["HGETALL", "h"], Exact),
            (&["HRANDFIELD", "h", "2", "WITHVALUES"], Sorted),
            (&["HRANDFIELD", "h", "-5", "WITHVALUES"], Shape),
            (&["HINCRBYFLOAT", "h", "a", "1e400"], Exact),
            (&["OBJECT", "ENCODING", "h"], Exact),
            (&["HINCRBYFLOAT", "h", "b", "-0.0"], Exact),
            (&["HINCRBYFLOAT", "h", "c", "3.0000000000000000001"], Exact),
            (&["HINCRBY", "h", "c", "1"], Exact),
            (&["HGETALL", "h"], Sorted),
            (&["HELLO", "3"], Shape),
            (&["HGETALL", "h"], Sorted),
            (&["HRANDFIELD", "h", "-2", "WITHVALUES"], Shape),
            (&["HRANDFIELD", "h", "9", "WITHVALUES"], Sorted),
            (&["HMGET", "h", "a", "zz"], Exact),
            (&["HELLO", "2"], Shape),
        ] {
            run(args, cmp);
        }
    });
}

#[test]
fn differential_random_workload() {
    differential(|run| {
        let mut rng = Rng(0x4a5b);
        let keys = ["h1", "h2", "h3", "str", "s"];
        let fields = [
            "a",
            "b",
            "c",
            "12",
            "-7",
            "0",
            "x".repeat(70).leak(),
            "",
            "f1",
            "f2",
        ];
        let values = [
            "1",
            "-3",
            "abc",
            "1.5",
            "9223372036854775807",
            " 2",
            "",
            "0100",
        ];
        run(&["SET", "str", "x"], Cmp::Exact);
        run(&["SADD", "s", "m"], Cmp::Exact);
        run(
            &["CONFIG", "SET", "hash-max-listpack-entries", "6"],
            Cmp::Exact,
        );
        for _ in 0..3000 {
            let k = rng.pick(&keys);
            let f = rng.pick(&fields);
            let f2 = rng.pick(&fields);
            let v = rng.pick(&values);
            let n = (rng.below(13) as i64 - 6).to_string();
            match rng.below(18) {
                0 => run(&["HSET", k, f, v, f2, v], Cmp::Exact),
                1 => run(&["HSETNX", k, f, v], Cmp::Exact),
                2 => run(&["HGET", k, f], Cmp::Exact),
                3 => run(&["HMGET", k, f, f2], Cmp::Exact),
                4 => run(&["HDEL", k, f, f2], Cmp::Exact),
                5 => run(&["HEXISTS", k, f], Cmp::Exact),
                6 => run(&["HLEN", k], Cmp::Exact),
                7 => run(&["HSTRLEN", k, f], Cmp::Exact),
                8 => run(&["HKEYS", k], Cmp::Sorted),
                9 => run(&["HVALS", k], Cmp::Sorted),
                10 => run(&["HGETALL", k], Cmp::Sorted),
                11 => run(&["HINCRBY", k, f, &n], Cmp::Exact),
                12 => run(&["HINCRBYFLOAT", k, f, v], Cmp::Exact),
                13 => run(&["HRANDFIELD", k, &n], Cmp::Shape),
                14 => run(&["HRANDFIELD", k, &n, "WITHVALUES"], Cmp::Shape),
                15 => run(&["HSCAN", k, "0", "COUNT", "100"], Cmp::Shape),
                16 => run(&["OBJECT", "ENCODING", k], Cmp::Exact),
                _ => run(&["EXISTS", k], Cmp::Exact),
            }
        }
    });
}

/// The dirty counter (`rdb_changes_since_last_save`) moves as Redis 7.0.15 moves it: HSET counts every
/// pair given, changed or not; HDEL each deleted field; HINCRBY one even for an increment of 0.
#[test]
fn dirty_counts_like_redis() {
    let s = server();
    let mut c = s.raw();
    check_dirty(
        &mut c,
        &[
            (&["HSET", "h", "a", "1", "b", "2"], 2),
            (&["HSET", "h", "a", "1", "b", "2"], 2),
            (&["HMSET", "h", "a", "1", "c", "3"], 2),
            (&["HSETNX", "h", "a", "5"], 0),
            (&["HSETNX", "h", "z", "5"], 1),
            (&["HINCRBY", "h", "a", "0"], 1),
            (&["HINCRBYFLOAT", "h", "a", "0"], 1),
            (&["HDEL", "h", "a", "zz", "b"], 2),
            (&["HDEL", "nx", "a"], 0),
        ],
    );
}
