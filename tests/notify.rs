//! Keyspace notifications: the `notify-keyspace-events` setting and the exact sequence of
//! `__keyspace@<db>__:<key>` / `__keyevent@<db>__:<event>` messages commands publish, as Redis 7.0 does.

mod common;

use std::time::{Duration, Instant};

use common::{RawConn, TestServer};

fn s(b: Vec<u8>) -> String {
    String::from_utf8_lossy(&b).into_owned()
}

/// A client subscribed to every keyspace channel.
fn subscriber(srv: &TestServer) -> RawConn {
    let mut sub = srv.raw();
    assert_eq!(
        sub.cmds(&["PSUBSCRIBE", "__key*__:*"]),
        "*3\r\n$10\r\npsubscribe\r\n$10\r\n__key*__:*\r\n:1\r\n"
    );
    sub
}

/// The `channel message` pairs the subscriber received up to a marker published through `c`.
fn events(c: &mut RawConn, sub: &mut RawConn) -> Vec<String> {
    c.cmds(&["PUBLISH", "__keyspace@99__:end", "end"]);
    let mut out = Vec::new();
    loop {
        let r = s(sub.read_reply());
        let parts: Vec<&str> = r.split("\r\n").collect();
        assert_eq!(parts[2], "pmessage", "{r:?}");
        let ev = format!("{} {}", parts[6], parts[8]);
        if ev == "__keyspace@99__:end end" {
            return out;
        }
        out.push(ev);
    }
}

/// Keyspace-only events (`K`), as `key event`.
fn ks(list: &[(&str, &str)]) -> Vec<String> {
    list.iter()
        .map(|(k, e)| format!("__keyspace@0__:{k} {e}"))
        .collect()
}

fn run(c: &mut RawConn, cmds: &[&[&str]]) {
    for a in cmds {
        let r = c.cmds(a);
        assert!(!r.starts_with('-'), "{a:?}: {r}");
    }
}

#[test]
fn config_flags_parse_and_render_as_redis() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    let get = |c: &mut RawConn| c.cmds(&["CONFIG", "GET", "notify-keyspace-events"]);
    assert_eq!(
        get(&mut c),
        "*2\r\n$22\r\nnotify-keyspace-events\r\n$0\r\n\r\n"
    );
    for (set, shown) in [
        ("gKE", "gKE"),
        ("$lshzxeKE", "$lshzxeKE"),
        ("KA", "AK"),
        ("EA", "AE"),
        ("mnKEA", "AKEm"),
        ("Ezgn", "gznE"),
        ("g$lshzxetdKE", "AKE"),
        ("", ""),
    ] {
        assert_eq!(
            c.cmds(&["CONFIG", "SET", "notify-keyspace-events", set]),
            "+OK\r\n"
        );
        assert_eq!(
            get(&mut c),
            format!(
                "*2\r\n$22\r\nnotify-keyspace-events\r\n${}\r\n{shown}\r\n",
                shown.len()
            )
        );
    }
    c.cmds(&["CONFIG", "SET", "notify-keyspace-events", "KA"]);
    assert_eq!(
        c.cmds(&["CONFIG", "SET", "notify-keyspace-events", "KEA?"]),
        "-ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid \
         event class character. Use 'Ag$lshzxeKEtmdn'.\r\n"
    );
    assert_eq!(
        get(&mut c),
        "*2\r\n$22\r\nnotify-keyspace-events\r\n$2\r\nAK\r\n"
    );
}

#[test]
fn off_by_default_and_masked_by_class() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    let mut sub = subscriber(&srv);
    run(&mut c, &[&["SET", "a", "1"], &["LPUSH", "l", "x"]]);
    assert!(events(&mut c, &mut sub).is_empty());
    c.cmds(&["CONFIG", "SET", "notify-keyspace-events", "El"]);
    run(
        &mut c,
        &[&["SET", "a", "1"], &["LPUSH", "l", "y"], &["DEL", "a"]],
    );
    assert_eq!(
        events(&mut c, &mut sub),
        ["__keyevent@0__:lpush l"].map(String::from)
    );
    c.cmds(&["CONFIG", "SET", "notify-keyspace-events", "KEg"]);
    c.cmds(&["SELECT", "3"]);
    run(&mut c, &[&["SET", "b", "1"], &["EXPIRE", "b", "100"]]);
    assert_eq!(
        events(&mut c, &mut sub),
        ["__keyspace@3__:b expire", "__keyevent@3__:expire b"].map(String::from)
    );
}

#[test]
fn strings_and_generic_commands() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    c.cmds(&["CONFIG", "SET", "notify-keyspace-events", "KA"]);
    let mut sub = subscriber(&srv);
    run(
        &mut c,
        &[
            &["SET", "s", "1", "EX", "100"],
            &["SET", "s", "1", "NX"],
            &["INCR", "s"],
            &["INCRBYFLOAT", "s", "1.5"],
            &["APPEND", "s", "x"],
            &["SETRANGE", "s", "0", ""],
            &["SETRANGE", "s", "0", "ab"],
            &["GETEX", "s", "PERSIST"],
            &["GETEX", "s", "PERSIST"],
            &["GETEX", "s", "PX", "100000"],
            &["PERSIST", "s"],
            &["MSET", "m1", "1", "m2", "2"],
            &["RENAME", "m1", "r1"],
            &["COPY", "r1", "c1"],
            &["MOVE", "c1", "1"],
            &["GETDEL", "m2"],
            &["DEL", "r1", "nosuch"],
            &["SETBIT", "b", "3", "1"],
            &["SETBIT", "b", "3", "1"],
            &["BITOP", "NOT", "b2", "b"],
            &["BITOP", "AND", "b2", "nosuch"],
            &["BITFIELD", "b", "SET", "u8", "0", "0"],
            &["EXPIRE", "b", "-1"],
        ],
    );
    let mut want = ks(&[
        ("s", "set"),
        ("s", "expire"),
        ("s", "incrby"),
        ("s", "incrbyfloat"),
        ("s", "append"),
        ("s", "setrange"),
        ("s", "persist"),
        ("s", "expire"),
        ("s", "persist"),
        ("m1", "set"),
        ("m2", "set"),
        ("m1", "rename_from"),
        ("r1", "rename_to"),
        ("c1", "copy_to"),
        ("c1", "move_from"),
    ]);
    want.push("__keyspace@1__:c1 move_to".into());
    want.extend(ks(&[
        ("m2", "del"),
        ("r1", "del"),
        ("b", "setbit"),
        ("b2", "set"),
        ("b2", "del"),
        ("b", "setbit"),
        ("b", "del"),
    ]));
    assert_eq!(events(&mut c, &mut sub), want);
}

#[test]
fn lists_hashes_sets_and_sorted_sets() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    c.cmds(&["CONFIG", "SET", "notify-keyspace-events", "KA"]);
    let mut sub = subscriber(&srv);
    run(
        &mut c,
        &[
            &["RPUSH", "l", "a", "b", "c"],
            &["LPUSHX", "nosuch", "a"],
            &["LINSERT", "l", "BEFORE", "b", "x"],
            &["LSET", "l", "0", "z"],
            &["LREM", "l", "0", "nothere"],
            &["LREM", "l", "1", "x"],
            &["LMOVE", "l", "l2", "LEFT", "RIGHT"],
            &["LTRIM", "l", "0", "0"],
            &["LPOP", "l", "5"],
            &["RPOP", "l2"],
            &["HSET", "h", "f", "1", "g", "2"],
            &["HSETNX", "h", "f", "1"],
            &["HINCRBY", "h", "f", "2"],
            &["HINCRBYFLOAT", "h", "f", "0.5"],
            &["HDEL", "h", "nothere"],
            &["HDEL", "h", "f", "g"],
            &["SADD", "s", "1", "2"],
            &["SADD", "s", "1"],
            &["SMOVE", "s", "t", "1"],
            &["SUNIONSTORE", "u", "s", "t"],
            &["SINTERSTORE", "u", "s", "t"],
            &["SREM", "s", "2"],
            &["SPOP", "t", "10"],
            &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
            &["ZADD", "z", "1", "a"],
            &["ZINCRBY", "z", "1", "a"],
            &["ZREM", "z", "nothere"],
            &["ZREMRANGEBYSCORE", "z", "3", "3"],
            &["ZRANGESTORE", "z2", "z", "0", "-1"],
            &["ZPOPMIN", "z"],
            &["ZPOPMAX", "z", "5"],
            &["ZUNIONSTORE", "z3", "1", "z2"],
            &["RPUSH", "srt", "2", "1"],
            &["SORT", "srt", "STORE", "srt2"],
        ],
    );
    let want = ks(&[
        ("l", "rpush"),
        ("l", "linsert"),
        ("l", "lset"),
        ("l", "lrem"),
        ("l2", "rpush"),
        ("l", "lpop"),
        ("l", "ltrim"),
        ("l", "lpop"),
        ("l", "del"),
        ("l2", "rpop"),
        ("l2", "del"),
        ("h", "hset"),
        ("h", "hincrby"),
        ("h", "hincrbyfloat"),
        ("h", "hdel"),
        ("h", "del"),
        ("s", "sadd"),
        ("s", "srem"),
        ("t", "sadd"),
        ("u", "sunionstore"),
        ("u", "del"),
        ("s", "srem"),
        ("s", "del"),
        ("t", "spop"),
        ("t", "del"),
        ("z", "zadd"),
        ("z", "zincr"),
        ("z", "zremrangebyscore"),
        ("z2", "zrangestore"),
        ("z", "zpopmin"),
        ("z", "zpopmax"),
        ("z", "del"),
        ("z3", "zunionstore"),
        ("srt", "rpush"),
        ("srt2", "sortstore"),
    ]);
    assert_eq!(events(&mut c, &mut sub), want);
}

#[test]
fn blocked_pop_served_by_a_push() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    c.cmds(&["CONFIG", "SET", "notify-keyspace-events", "KEl"]);
    let mut sub = subscriber(&srv);
    let mut waiter = srv.raw();
    waiter.send(&common::encode(&[b"BLPOP", b"q", b"5"]));
    // Let BLPOP block before the push.
    std::thread::sleep(Duration::from_millis(100));
    c.cmds(&["LPUSH", "q", "v"]);
    assert_eq!(s(waiter.read_reply()), "*2\r\n$1\r\nq\r\n$1\r\nv\r\n");
    assert_eq!(
        events(&mut c, &mut sub),
        [
            "__keyspace@0__:q lpush",
            "__keyevent@0__:lpush q",
            "__keyspace@0__:q lpop",
            "__keyevent@0__:lpop q",
        ]
        .map(String::from)
    );
}

#[test]
fn expired_keys_lazily_and_actively() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    c.cmds(&["CONFIG", "SET", "notify-keyspace-events", "KExgm$"]);
    let mut sub = subscriber(&srv);
    // Lazily: the read reclaims the key, then misses it.
    c.cmds(&["SET", "lazy", "1", "PX", "20"]);
    c.cmds(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    std::thread::sleep(Duration::from_millis(60));
    c.cmds(&["GET", "lazy"]);
    c.cmds(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
    let got = events(&mut c, &mut sub);
    assert_eq!(
        got,
        [
            "__keyspace@0__:lazy set",
            "__keyevent@0__:set lazy",
            "__keyspace@0__:lazy expire",
            "__keyevent@0__:expire lazy",
            "__keyspace@0__:lazy expired",
            "__keyevent@0__:expired lazy",
            "__keyspace@0__:lazy keymiss",
            "__keyevent@0__:keymiss lazy",
        ]
        .map(String::from)
    );
    // A write on an expired key: the expiry first, then the write.
    c.cmds(&["SET", "w", "1", "PX", "20"]);
    c.cmds(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    std::thread::sleep(Duration::from_millis(60));
    c.cmds(&["SET", "w", "2"]);
    c.cmds(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
    let got = events(&mut c, &mut sub);
    assert_eq!(
        got[4..],
        [
            "__keyspace@0__:w expired",
            "__keyevent@0__:expired w",
            "__keyspace@0__:w set",
            "__keyevent@0__:set w",
        ]
        .map(String::from)
    );
    // Actively: nobody reads the key, the cron reclaims it.
    c.cmds(&["CONFIG", "SET", "notify-keyspace-events", "Ex"]);
    c.cmds(&["PSETEX", "active", "50", "1"]);
    let start = Instant::now();
    assert_eq!(
        s(sub.read_reply()),
        "*4\r\n$8\r\npmessage\r\n$10\r\n__key*__:*\r\n$22\r\n__keyevent@0__:expired\r\n$6\r\nactive\r\n"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[test]
fn new_keys_only_when_created() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    c.cmds(&["CONFIG", "SET", "notify-keyspace-events", "En"]);
    let mut sub = subscriber(&srv);
    run(
        &mut c,
        &[
            &["SET", "foo", "bar"],
            &["SET", "foo", "baz"],
            &["SET", "bar", "bar"],
            &["HSET", "h", "f", "v"],
            &["HSET", "h", "g", "v"],
        ],
    );
    assert_eq!(
        events(&mut c, &mut sub),
        [
            "__keyevent@0__:new foo",
            "__keyevent@0__:new bar",
            "__keyevent@0__:new h"
        ]
        .map(String::from)
    );
}

#[test]
fn key_misses_on_reads_only() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    c.cmds(&["CONFIG", "SET", "notify-keyspace-events", "Km"]);
    let mut sub = subscriber(&srv);
    run(
        &mut c,
        &[
            &["GET", "a"],
            &["LRANGE", "b", "0", "-1"],
            &["HGET", "c", "f"],
            &["EXISTS", "d"],
            &["SET", "e", "1"],
            &["GET", "e"],
            &["DEL", "f"],
            &["LPOP", "g"],
        ],
    );
    assert_eq!(
        events(&mut c, &mut sub),
        ks(&[
            ("a", "keymiss"),
            ("b", "keymiss"),
            ("c", "keymiss"),
            ("d", "keymiss")
        ])
    );
}

#[test]
fn resp3_subscriber_gets_pushes() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    c.cmds(&["CONFIG", "SET", "notify-keyspace-events", "E$"]);
    let mut sub = srv.raw();
    sub.cmds(&["HELLO", "3"]);
    sub.cmds(&["PSUBSCRIBE", "__keyevent@*"]);
    c.cmds(&["SET", "k", "v"]);
    assert_eq!(
        s(sub.read_reply()),
        ">4\r\n$8\r\npmessage\r\n$12\r\n__keyevent@*\r\n$18\r\n__keyevent@0__:set\r\n$1\r\nk\r\n"
    );
    // A client subscribed in RESP3 may write, and hears its own events in order with its replies.
    assert_eq!(
        s(sub.cmd(&[b"SET", b"k", b"w"])),
        ">4\r\n$8\r\npmessage\r\n$12\r\n__keyevent@*\r\n$18\r\n__keyevent@0__:set\r\n$1\r\nk\r\n"
    );
    assert_eq!(s(sub.read_reply()), "+OK\r\n");
}

/// RESTORE fires `restore` (after `new`), and a REPLACE whose TTL has already passed fires `del`, as in
/// Redis's restoreCommand.
#[test]
fn restore_events() {
    let srv = TestServer::start(&[]);
    let mut c = srv.raw();
    c.cmds(&["CONFIG", "SET", "notify-keyspace-events", "Kgn"]);
    run(&mut c, &[&["SET", "src", "hello"]]);
    let dump = c.cmd(&[b"DUMP", b"src"]);
    let payload = &dump[dump.iter().position(|&b| b == b'\n').unwrap() + 1..dump.len() - 2];
    let mut sub = subscriber(&srv);
    for args in [
        &[&b"RESTORE"[..], b"k", b"0", payload][..],
        &[b"RESTORE", b"k", b"0", payload, b"REPLACE"],
        &[b"RESTORE", b"k", b"1", payload, b"REPLACE", b"ABSTTL"],
    ] {
        assert_eq!(c.cmd(args), b"+OK\r\n");
    }
    assert_eq!(
        events(&mut c, &mut sub),
        ks(&[
            ("k", "new"),
            ("k", "restore"),
            ("k", "new"),
            ("k", "restore"),
            ("k", "del")
        ])
    );
}
