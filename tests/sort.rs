//! SORT and SORT_RO over raw RESP, as exact bytes (the bytes Redis 7.0.15 sends): numeric and ALPHA
//! sorts, DESC, LIMIT clamping, BY string keys and hash fields, GET `#`, keys and `->field`, STORE (and the
//! deletion of the destination for an empty result), BY without `*` on lists, sets and sorted sets,
//! WRONGTYPE, the double-conversion error, SORT_RO refusing STORE, COMMAND GETKEYS, and a differential run
//! against a real `redis-server` over seeded random cases whose order Redis fully determines.
//!
//! `SORT_AGAINST_REDIS=1` runs the byte-level tests against a real redis-server instead of ferrokv, which
//! is how their expected bytes were checked.

mod common;

use common::{check, RawConn, TestServer};

fn server() -> TestServer {
    if std::env::var("SORT_AGAINST_REDIS").as_deref() == Ok("1") {
        return common::start_redis().expect("redis-server");
    }
    TestServer::start(&[])
}

/// The RESP2 array of these bulk strings (None is a null bulk).
fn arr(items: &[Option<&str>]) -> String {
    let mut s = format!("*{}\r\n", items.len());
    for it in items {
        match it {
            Some(v) => s.push_str(&format!("${}\r\n{v}\r\n", v.len())),
            None => s.push_str("$-1\r\n"),
        }
    }
    s
}

/// The RESP2 array of these bulk strings, none null.
fn strs(items: &[&str]) -> String {
    arr(&items.iter().map(|s| Some(*s)).collect::<Vec<_>>())
}

const BAD_DOUBLE: &str = "-ERR One or more scores can't be converted into double\r\n";
const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

#[test]
fn numeric_alpha_desc() {
    let s = server();
    let mut c = s.raw();
    c.cmds(&["RPUSH", "l", "3", "10", "1", "2", "-1.5", "1e1"]);
    check(
        &mut c,
        &["SORT", "l"],
        &strs(&["-1.5", "1", "2", "3", "10", "1e1"]),
    );
    check(
        &mut c,
        &["SORT", "l", "DESC"],
        &strs(&["1e1", "10", "3", "2", "1", "-1.5"]),
    );
    check(
        &mut c,
        &["SORT", "l", "ALPHA"],
        &strs(&["-1.5", "1", "10", "1e1", "2", "3"]),
    );
    check(
        &mut c,
        &["sort", "l", "alpha", "desc", "asc"],
        &strs(&["-1.5", "1", "10", "1e1", "2", "3"]),
    );
    check(
        &mut c,
        &["SORT_RO", "l", "DESC", "ALPHA"],
        &strs(&["3", "2", "1e1", "10", "1", "-1.5"]),
    );
    // Elements that are not numbers fail a numeric sort; ALPHA takes them.
    c.cmds(&["SADD", "s", "1", "2", "x"]);
    check(&mut c, &["SORT", "s"], BAD_DOUBLE);
    check(&mut c, &["SORT", "s", "ALPHA"], &strs(&["1", "2", "x"]));
    // strtod's forms pass: the empty string is 0, leading spaces, hex and infinities are numbers.
    c.cmds(&["RPUSH", "f", "0x10", "", "inf", "-inf", " 7"]);
    check(
        &mut c,
        &["SORT", "f"],
        &strs(&["-inf", "", " 7", "0x10", "inf"]),
    );
    // Last: Redis reads strtod's ERANGE from an errno it never clears, so after 1e400 its numeric sorts
    // in the same process can fail spuriously.
    for bad in ["nan", "7 ", "abc", "1e400"] {
        c.cmds(&["DEL", "b"]);
        c.cmds(&["RPUSH", "b", "1", bad]);
        check(&mut c, &["SORT", "b"], BAD_DOUBLE);
    }
}

#[test]
fn equal_scores_sort_by_element() {
    let s = server();
    let mut c = s.raw();
    c.cmds(&["SADD", "s", "b", "a", "c", "aa"]);
    check(
        &mut c,
        &["SORT", "s", "BY", "w_*"],
        &strs(&["a", "aa", "b", "c"]),
    );
    check(
        &mut c,
        &["SORT", "s", "BY", "w_*", "DESC"],
        &strs(&["c", "b", "aa", "a"]),
    );
    c.cmds(&["RPUSH", "l", "01", "1", "1.0", "0"]);
    check(&mut c, &["SORT", "l"], &strs(&["0", "01", "1", "1.0"]));
}

#[test]
fn limit_clamps() {
    let s = server();
    let mut c = s.raw();
    c.cmds(&["RPUSH", "l", "5", "4", "3", "2", "1"]);
    let cases: &[(&str, &str, &[&str])] = &[
        ("0", "2", &["1", "2"]),
        ("1", "2", &["2", "3"]),
        ("3", "10", &["4", "5"]),
        ("-5", "2", &["1", "2"]),
        ("2", "-1", &["3", "4", "5"]),
        ("2", "-7", &["3", "4", "5"]),
        ("2", "0", &[]),
        ("5", "1", &[]),
        ("100", "100", &[]),
    ];
    for (off, n, want) in cases {
        check(&mut c, &["SORT", "l", "LIMIT", off, n], &strs(want));
    }
    check(
        &mut c,
        &["SORT", "l", "LIMIT", "1", "2", "DESC"],
        &strs(&["4", "3"]),
    );
    check(
        &mut c,
        &["SORT", "l", "LIMIT", "x", "1"],
        "-ERR value is not an integer or out of range\r\n",
    );
    check(
        &mut c,
        &["SORT", "l", "LIMIT", "1"],
        "-ERR syntax error\r\n",
    );
    check(&mut c, &["SORT", "nokey", "LIMIT", "0", "1"], "*0\r\n");
}

#[test]
fn by_keys_and_hash_fields() {
    let s = server();
    let mut c = s.raw();
    c.cmds(&["RPUSH", "l", "a", "b", "c", "d"]);
    c.cmds(&["MSET", "w_a", "3", "w_b", "1", "w_c", "2"]);
    // d has no weight: it sorts as 0.
    check(
        &mut c,
        &["SORT", "l", "BY", "w_*"],
        &strs(&["d", "b", "c", "a"]),
    );
    // A weight key of another type counts as missing.
    c.cmds(&["RPUSH", "w_d", "9"]);
    check(
        &mut c,
        &["SORT", "l", "BY", "w_*"],
        &strs(&["d", "b", "c", "a"]),
    );
    c.cmds(&["HSET", "h_a", "f", "2.5"]);
    c.cmds(&["HSET", "h_b", "f", "-1"]);
    c.cmds(&["HSET", "h_c", "g", "100"]);
    check(
        &mut c,
        &["SORT", "l", "BY", "h_*->f"],
        &strs(&["b", "c", "d", "a"]),
    );
    check(
        &mut c,
        &["SORT", "l", "BY", "h_*->f", "LIMIT", "0", "2", "DESC"],
        &strs(&["a", "d"]),
    );
    // ALPHA BY: missing values first, then by the bytes found.
    c.cmds(&["MSET", "n_a", "pear", "n_b", "apple"]);
    check(
        &mut c,
        &["SORT", "l", "BY", "n_*", "ALPHA"],
        &strs(&["c", "d", "b", "a"]),
    );
    c.cmds(&["SET", "w_c", "oops"]);
    check(&mut c, &["SORT", "l", "BY", "w_*"], BAD_DOUBLE);
    // `->` with nothing after it is part of the key name.
    c.cmds(&["SET", "x:a->", "100"]);
    check(
        &mut c,
        &["SORT", "l", "BY", "nosort", "GET", "x:*->"],
        &arr(&[Some("100"), None, None, None]),
    );
}

#[test]
fn get_patterns() {
    let s = server();
    let mut c = s.raw();
    c.cmds(&["RPUSH", "l", "2", "1", "3"]);
    c.cmds(&["MSET", "o_1", "one", "o_2", "two"]);
    c.cmds(&["HSET", "h_1", "name", "uno", "n", "11"]);
    check(
        &mut c,
        &[
            "SORT",
            "l",
            "GET",
            "#",
            "GET",
            "o_*",
            "GET",
            "h_*->name",
            "GET",
            "h_*->n",
        ],
        &arr(&[
            Some("1"),
            Some("one"),
            Some("uno"),
            Some("11"),
            Some("2"),
            Some("two"),
            None,
            None,
            Some("3"),
            None,
            None,
            None,
        ]),
    );
    // A pattern without `*` names no key.
    c.cmds(&["SET", "fixed", "v"]);
    check(
        &mut c,
        &["SORT", "l", "GET", "fixed", "LIMIT", "0", "1"],
        &arr(&[None]),
    );
    check(&mut c, &["SORT", "l", "GET"], "-ERR syntax error\r\n");
}

#[test]
fn nosort_keeps_native_order() {
    let s = server();
    let mut c = s.raw();
    c.cmds(&["LPUSH", "l", "2", "1", "4", "3", "5"]);
    check(
        &mut c,
        &["SORT", "l", "BY", "nosort"],
        &strs(&["5", "3", "4", "1", "2"]),
    );
    check(
        &mut c,
        &["SORT", "l", "BY", "nosort", "DESC", "LIMIT", "1", "2"],
        &strs(&["1", "4"]),
    );
    c.cmds(&[
        "ZADD", "z", "1", "a", "5", "b", "2", "c", "10", "d", "3", "e",
    ]);
    check(&mut c, &["OBJECT", "ENCODING", "z"], "$8\r\nlistpack\r\n");
    check(
        &mut c,
        &["SORT", "z", "BY", "nosort"],
        &strs(&["a", "c", "e", "b", "d"]),
    );
    check(
        &mut c,
        &["SORT", "z", "BY", "nosort", "DESC"],
        &strs(&["d", "b", "e", "c", "a"]),
    );
    check(
        &mut c,
        &["SORT", "z", "BY", "nosort", "DESC", "LIMIT", "1", "2"],
        &strs(&["b", "e"]),
    );
    check(
        &mut c,
        &["SORT", "z", "BY", "nosort", "LIMIT", "-10", "100"],
        &strs(&["a", "c", "e", "b", "d"]),
    );
    check(
        &mut c,
        &["SORT", "z", "BY", "nosort", "LIMIT", "5", "10"],
        "*0\r\n",
    );
    // Sorting a sorted set converts it to a skiplist for good, as Redis does.
    check(&mut c, &["OBJECT", "ENCODING", "z"], "$8\r\nskiplist\r\n");
    // A BY without `*` wins even when a later BY has one.
    check(
        &mut c,
        &["SORT", "z", "BY", "nosort", "BY", "w_*"],
        &strs(&["a", "c", "e", "b", "d"]),
    );
    // An intset comes out in its (ascending) order.
    c.cmds(&["SADD", "s", "3", "1", "2"]);
    check(
        &mut c,
        &["SORT", "s", "BY", "nosort"],
        &strs(&["1", "2", "3"]),
    );
    // A set stored unsorted is sorted by bytes, so the result does not depend on its layout.
    c.cmds(&["SADD", "t", "b", "c", "a", "10", "9"]);
    check(
        &mut c,
        &["SORT", "t", "BY", "nosort", "STORE", "d"],
        ":5\r\n",
    );
    check(
        &mut c,
        &["LRANGE", "d", "0", "-1"],
        &strs(&["10", "9", "a", "b", "c"]),
    );
}

#[test]
fn store() {
    let s = server();
    let mut c = s.raw();
    c.cmds(&["RPUSH", "l", "3", "1", "2"]);
    c.cmds(&["SET", "dst", "old"]);
    c.cmds(&["EXPIRE", "dst", "100"]);
    check(&mut c, &["SORT", "l", "STORE", "dst"], ":3\r\n");
    check(&mut c, &["TYPE", "dst"], "+list\r\n");
    check(&mut c, &["TTL", "dst"], ":-1\r\n");
    check(
        &mut c,
        &["LRANGE", "dst", "0", "-1"],
        &strs(&["1", "2", "3"]),
    );
    // GET results are stored; a missing value is stored as an empty string.
    c.cmds(&["SET", "o_2", "two"]);
    check(
        &mut c,
        &["SORT", "l", "GET", "o_*", "GET", "#", "STORE", "dst"],
        ":6\r\n",
    );
    check(
        &mut c,
        &["LRANGE", "dst", "0", "-1"],
        &strs(&["", "1", "two", "2", "", "3"]),
    );
    // Sorting a list into itself.
    check(&mut c, &["SORT", "l", "DESC", "STORE", "l"], ":3\r\n");
    check(&mut c, &["LRANGE", "l", "0", "-1"], &strs(&["3", "2", "1"]));
    // An empty result deletes the destination and creates nothing.
    check(&mut c, &["SORT", "nokey", "STORE", "dst"], ":0\r\n");
    check(&mut c, &["EXISTS", "dst"], ":0\r\n");
    check(
        &mut c,
        &["SORT", "l", "LIMIT", "10", "10", "STORE", "dst"],
        ":0\r\n",
    );
    check(&mut c, &["EXISTS", "dst"], ":0\r\n");
    // The last STORE wins.
    check(&mut c, &["SORT", "l", "STORE", "a", "STORE", "b"], ":3\r\n");
    check(&mut c, &["EXISTS", "a", "b"], ":1\r\n");
    check(&mut c, &["EXISTS", "b"], ":1\r\n");
}

#[test]
fn store_wakes_blocked_clients() {
    let s = server();
    let mut c = s.raw();
    let mut waiter = s.raw();
    c.cmds(&["RPUSH", "l", "b", "a"]);
    waiter.send(&common::encode(&[b"BLPOP", b"dst", b"5"]));
    // Let the BLPOP reach the server before the SORT does.
    std::thread::sleep(std::time::Duration::from_millis(100));
    check(&mut c, &["SORT", "l", "ALPHA", "STORE", "dst"], ":2\r\n");
    let got = waiter.read_reply();
    assert_eq!(String::from_utf8_lossy(&got), strs(&["dst", "a"]));
    check(&mut c, &["LRANGE", "dst", "0", "-1"], &strs(&["b"]));
}

#[test]
fn errors_and_types() {
    let s = server();
    let mut c = s.raw();
    c.cmds(&["SET", "str", "x"]);
    c.cmds(&["HSET", "h", "f", "v"]);
    check(&mut c, &["SORT", "str"], WRONGTYPE);
    check(&mut c, &["SORT_RO", "h"], WRONGTYPE);
    check(&mut c, &["SORT", "nokey"], "*0\r\n");
    check(
        &mut c,
        &["SORT", "nokey", "BY", "nosort", "GET", "#"],
        "*0\r\n",
    );
    // Options are checked before the key.
    check(&mut c, &["SORT", "str", "bogus"], "-ERR syntax error\r\n");
    check(
        &mut c,
        &["SORT_RO", "l", "STORE", "d"],
        "-ERR syntax error\r\n",
    );
    check(
        &mut c,
        &["SORT"],
        "-ERR wrong number of arguments for 'sort' command\r\n",
    );
    check(
        &mut c,
        &[
            "COMMAND", "GETKEYS", "SORT", "abc", "STORE", "invalid", "STORE", "def",
        ],
        &strs(&["abc", "def"]),
    );
    check(
        &mut c,
        &[
            "COMMAND", "GETKEYS", "SORT", "abc", "LIMIT", "STORE", "x", "GET", "STORE",
        ],
        &strs(&["abc"]),
    );
    check(
        &mut c,
        &["COMMAND", "GETKEYS", "SORT_RO", "abc", "GET", "x"],
        &strs(&["abc"]),
    );
}

/// A tiny deterministic generator, so the differential run is reproducible.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[self.next() as usize % from.len()]
    }
}

/// Random lists, sorted sets and intsets with weights, hash fields and GET targets, sorted with random
/// options; sources and options are kept to those whose order Redis fully determines (no hash-table
/// iteration order, no ties under ALPHA BY).
#[test]
fn differential_against_redis() {
    let Some(redis) = common::start_redis() else {
        return;
    };
    let ours = TestServer::start(&[]);
    let (mut a, mut b) = (ours.raw(), redis.raw());
    let mut rng = Lcg(7);
    let elems = [
        "1", "2", "3", "10", "-1", "0", "-0", "1.5", "01", "a", "b", "B", "ab", "", "7", "42", "x",
    ];
    let weights = [
        "1", "2", "3", "10", "-1", "0", "1.5", "8", "100", "-7.25", "1e3", "", "inf",
    ];
    let mut bad = Vec::new();
    for case in 0..400 {
        let mut both = |args: &[&str]| (a.cmds(args), b.cmds(args));
        both(&["FLUSHALL"]);
        let n = rng.next() % 12;
        let kind = rng.next() % 3;
        let mut members = Vec::new();
        for _ in 0..n {
            let e = if kind == 2 {
                (rng.next() % 40).to_string()
            } else {
                rng.pick(&elems).to_string()
            };
            members.push(e);
        }
        for e in &members {
            match kind {
                0 => both(&["RPUSH", "src", e]),
                1 => both(&["ZADD", "src", &(rng.next() % 4).to_string(), e]),
                _ => both(&["SADD", "src", e]),
            };
            if !rng.next().is_multiple_of(3) {
                both(&["SET", &format!("w_{e}"), rng.pick(&weights)]);
            }
            if rng.next().is_multiple_of(2) {
                both(&["HSET", &format!("h_{e}"), "f", rng.pick(&weights)]);
            }
            if rng.next().is_multiple_of(2) {
                both(&["SET", &format!("o_{e}"), &format!("v{e}")]);
            }
        }
        let mut args: Vec<String> = vec!["SORT".into(), "src".into()];
        for _ in 0..rng.next() % 5 {
            let opt: Vec<String> = match rng.next() % 7 {
                0 => vec!["DESC".into()],
                1 => vec!["ALPHA".into()],
                2 => vec![
                    "LIMIT".into(),
                    ((rng.next() % 8) as i64 - 2).to_string(),
                    ((rng.next() % 10) as i64 - 2).to_string(),
                ],
                3 => vec!["BY".into(), rng.pick(&["w_*", "h_*->f", "nosort"]).into()],
                4 | 5 => vec![
                    "GET".into(),
                    rng.pick(&["#", "o_*", "w_*", "h_*->f"]).into(),
                ],
                _ => vec!["STORE".into(), "dst".into()],
            };
            args.extend(opt);
        }
        let has = |w: &str| args.iter().any(|a| a == w);
        // Unsorted sets come out in table order; ALPHA BY leaves ties in whatever order the sort made.
        if (kind == 2 && has("nosort") && !has("STORE")) || (has("ALPHA") && has("BY")) {
            continue;
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let (x, y) = both(&refs);
        let (x2, y2) = both(&["LRANGE", "dst", "0", "-1"]);
        if x != y || x2 != y2 {
            bad.push(format!(
                "case {case}: {refs:?}\n  ours {x:?} {x2:?}\n redis {y:?} {y2:?}"
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn watch_sees_only_the_destination() {
    let s = server();
    let (mut c, mut other) = (s.raw(), s.raw());
    c.cmds(&["ZADD", "z", "2", "b", "1", "a"]);
    let tx = |c: &mut RawConn, other: &mut RawConn, watch: &str, cmd: &[&str], want: &str| {
        check(c, &["WATCH", watch], "+OK\r\n");
        other.cmds(cmd);
        c.cmds(&["MULTI"]);
        c.cmds(&["PING"]);
        check(c, &["EXEC"], want);
    };
    // Sorting (and re-encoding) the source is no change to it.
    tx(
        &mut c,
        &mut other,
        "z",
        &["SORT", "z", "ALPHA", "STORE", "d"],
        "*1\r\n+PONG\r\n",
    );
    tx(
        &mut c,
        &mut other,
        "d",
        &["SORT", "z", "ALPHA", "DESC", "STORE", "d"],
        "*-1\r\n",
    );
    // An empty result deletes the destination: a change; with nothing to delete, none.
    tx(
        &mut c,
        &mut other,
        "d",
        &["SORT", "nokey", "STORE", "d"],
        "*-1\r\n",
    );
    tx(
        &mut c,
        &mut other,
        "d",
        &["SORT", "nokey", "STORE", "d"],
        "*1\r\n+PONG\r\n",
    );
    tx(
        &mut c,
        &mut other,
        "z",
        &["SORT_RO", "z", "ALPHA"],
        "*1\r\n+PONG\r\n",
    );
}

/// Redis 7.0.15's dirty counts (`rdb_changes_since_last_save`) for SORT: one per element stored, one for
/// a destination deleted by an empty result, none for a plain SORT.
#[test]
fn dirty_counts_as_redis() {
    let s = server();
    let mut c = s.raw();
    c.cmds(&["RPUSH", "l", "3", "1", "2"]);
    let table: &[(&[&str], u64)] = &[
        (&["SORT", "l"], 0),
        (&["SORT", "l", "STORE", "d"], 3),
        (&["SORT", "l", "GET", "#", "GET", "nosuch", "STORE", "d"], 6),
        (&["SORT", "l", "LIMIT", "0", "0", "STORE", "d"], 1),
        (&["SORT", "l", "LIMIT", "0", "0", "STORE", "d"], 0),
    ];
    common::check_dirty(&mut c, table);
}
