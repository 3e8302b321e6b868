//! The generic key family and expiry, at the byte level. Every exact-reply check runs against ferrokv and,
//! when `redis-server` is installed, against real Redis too, so the expected bytes are themselves checked
//! against the oracle.

mod common;

use std::collections::HashSet;
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{RawConn, TestServer};

/// One server under test and a raw connection to it.
struct T {
    _server: TestServer,
    c: RawConn,
    name: &'static str,
}

impl T {
    /// Sends a multibulk request and asserts the exact reply.
    fn ex(&mut self, args: &[&str], want: &str) {
        let got = self.c.cmds(args);
        assert_eq!(got, want, "{} {:?}", self.name, args);
    }

    /// Sends an inline request and asserts the exact reply.
    fn inline(&mut self, line: &str, want: &str) {
        self.c.send(format!("{line}\r\n").as_bytes());
        let got = String::from_utf8_lossy(&self.c.read_reply()).into_owned();
        assert_eq!(got, want, "{} inline {:?}", self.name, line);
    }

    fn q(&mut self, args: &[&str]) -> String {
        self.c.cmds(args)
    }

    fn int(&mut self, args: &[&str]) -> i64 {
        let r = self.q(args);
        r.strip_prefix(':')
            .and_then(|s| s.trim_end().parse().ok())
            .unwrap_or_else(|| panic!("{} {:?}: not an integer reply: {r:?}", self.name, args))
    }

    /// Pipelines many requests and reads all their replies.
    fn pipeline(&mut self, reqs: &[Vec<String>]) -> Vec<String> {
        let mut buf = Vec::new();
        for r in reqs {
            let a: Vec<&[u8]> = r.iter().map(|s| s.as_bytes()).collect();
            buf.extend_from_slice(&common::encode(&a));
        }
        self.c.send(&buf);
        (0..reqs.len())
            .map(|_| String::from_utf8_lossy(&self.c.read_reply()).into_owned())
            .collect()
    }

    /// A SCAN step: the next cursor and the keys.
    fn scan(&mut self, args: &[&str]) -> (String, Vec<String>) {
        let mut a = vec!["SCAN"];
        a.extend_from_slice(args);
        let r = self.q(&a);
        let parts = bulks(&r);
        assert!(r.starts_with("*2\r\n"), "{} {:?}: {r:?}", self.name, a);
        (parts[0].clone(), parts[1..].to_vec())
    }

    fn sorted_keys(&mut self, pattern: &str) -> Vec<String> {
        let mut k = bulks(&self.q(&["KEYS", pattern]));
        k.sort();
        k
    }
}

/// The bulk strings of a (possibly nested) array reply, in order.
fn bulks(reply: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut lines = reply.split("\r\n");
    while let Some(l) = lines.next() {
        if l.starts_with('$') && l != "$-1" {
            out.push(lines.next().unwrap_or_default().to_string());
        }
    }
    out
}

/// ferrokv, then real Redis if installed.
fn servers() -> Vec<T> {
    let fk = TestServer::start(&[]);
    let mut v = vec![T {
        c: fk.raw(),
        _server: fk,
        name: "ferrokv",
    }];
    if let Some(rd) = common::start_redis() {
        v.push(T {
            c: rd.raw(),
            _server: rd,
            name: "redis",
        });
    }
    v
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn wrong_args(cmd: &str) -> String {
    format!("-ERR wrong number of arguments for '{cmd}' command\r\n")
}

#[test]
fn del_unlink_exists() {
    for mut t in servers() {
        t.ex(&["SET", "a", "1"], "+OK\r\n");
        t.ex(&["SET", "b", "2"], "+OK\r\n");
        t.ex(&["EXISTS", "a", "b", "nope", "a"], ":3\r\n");
        t.inline("EXISTS a nope", ":1\r\n");
        t.ex(&["DEL", "a", "nope", "a"], ":1\r\n");
        t.ex(&["EXISTS", "a"], ":0\r\n");
        t.inline("DEL b", ":1\r\n");
        t.inline("DEL b", ":0\r\n");
        t.ex(&["SET", "c", "x"], "+OK\r\n");
        t.ex(&["UNLINK", "c", "c", "nope"], ":1\r\n");
        t.ex(&["SET", "c", "x"], "+OK\r\n");
        t.inline("UNLINK c", ":1\r\n");
        t.ex(&["SET", "", "empty"], "+OK\r\n");
        t.ex(&["EXISTS", ""], ":1\r\n");
        t.ex(&["DEL", ""], ":1\r\n");
        t.ex(&["DEL"], &wrong_args("del"));
        t.ex(&["UNLINK"], &wrong_args("unlink"));
        t.ex(&["EXISTS"], &wrong_args("exists"));
        t.inline("del", &wrong_args("del"));
    }
}

#[test]
fn keys_pattern() {
    for mut t in servers() {
        t.ex(&["KEYS", "*"], "*0\r\n");
        for k in ["foo", "foobar", "bar", "hello", "hallo", "hxllo"] {
            t.ex(&["SET", k, "v"], "+OK\r\n");
        }
        assert_eq!(t.sorted_keys("foo*"), ["foo", "foobar"]);
        assert_eq!(t.sorted_keys("h?llo"), ["hallo", "hello", "hxllo"]);
        assert_eq!(t.sorted_keys("h[ae]llo"), ["hallo", "hello"]);
        assert_eq!(t.sorted_keys("h[^e]llo"), ["hallo", "hxllo"]);
        assert_eq!(t.sorted_keys("*").len(), 6);
        t.ex(&["KEYS", "nomatch"], "*0\r\n");
        t.ex(&["KEYS", "bar"], "*1\r\n$3\r\nbar\r\n");
        t.inline("KEYS ba*", "*1\r\n$3\r\nbar\r\n");
        // The empty key is listed by `*` (the matcher is skipped) and matched by the empty pattern.
        t.ex(&["SET", "", "e"], "+OK\r\n");
        assert!(t.sorted_keys("*").contains(&String::new()));
        t.ex(&["KEYS", ""], "*1\r\n$0\r\n\r\n");
        t.ex(&["KEYS"], &wrong_args("keys"));
        t.ex(&["KEYS", "a", "b"], &wrong_args("keys"));
    }
}

#[test]
fn scan_arguments_and_errors() {
    for mut t in servers() {
        t.ex(&["SET", "a", "1"], "+OK\r\n");
        let one = "*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n";
        let none = "*2\r\n$1\r\n0\r\n*0\r\n";
        t.ex(&["SCAN", "0"], one);
        t.inline("SCAN 0", one);
        // The cursor is read as C's strtoul reads it.
        t.ex(&["SCAN", ""], one);
        t.ex(&["SCAN", "+0"], one);
        t.ex(&["SCAN", "-0"], one);
        // Past the end: the walk is over (Redis may still hand back the keys of its last bucket).
        for c in ["-1", "18446744073709551615"] {
            let r = t.q(&["SCAN", c]);
            assert!(r == none || r == one, "{} SCAN {c}: {r:?}", t.name);
        }
        for bad in ["abc", " 1", "1 ", "18446744073709551616", "0x1", "+", "1.5"] {
            t.ex(&["SCAN", bad], "-ERR invalid cursor\r\n");
        }
        t.ex(&["SCAN", "abc", "COUNT", "0"], "-ERR invalid cursor\r\n");
        t.ex(&["SCAN", "0", "COUNT", "0"], "-ERR syntax error\r\n");
        t.ex(&["SCAN", "0", "COUNT", "-1"], "-ERR syntax error\r\n");
        t.ex(
            &["SCAN", "0", "COUNT", "x"],
            "-ERR value is not an integer or out of range\r\n",
        );
        t.ex(
            &["SCAN", "0", "COUNT", "x", "bogus"],
            "-ERR value is not an integer or out of range\r\n",
        );
        t.ex(
            &["SCAN", "0", "bogus", "COUNT", "x"],
            "-ERR syntax error\r\n",
        );
        for opt in ["COUNT", "MATCH", "TYPE"] {
            t.ex(&["SCAN", "0", opt], "-ERR syntax error\r\n");
        }
        t.ex(&["SCAN", "0", "COUNT", "9223372036854775807"], one);
        t.ex(&["SCAN", "0", "match", "*"], one);
        t.ex(&["SCAN", "0", "MATCH", "b*"], none);
        t.ex(&["SCAN", "0", "TYPE", "STRING"], one);
        t.ex(&["SCAN", "0", "type", "list"], none);
        t.ex(&["SCAN", "0", "TYPE", "nosuchtype"], none);
        t.ex(
            &["SCAN", "0", "MATCH", "a", "COUNT", "5", "TYPE", "string"],
            one,
        );
        t.inline("SCAN 0 MATCH z* COUNT 3", none);
        t.ex(&["SCAN"], &wrong_args("scan"));
    }
}

#[test]
fn scan_count_default_and_match() {
    for mut t in servers() {
        let reqs: Vec<Vec<String>> = (0..100)
            .map(|i| vec!["SET".into(), format!("key:{i}"), "v".into()])
            .collect();
        t.pipeline(&reqs);
        let (cursor, keys) = t.scan(&["0"]);
        assert_ne!(cursor, "0", "{}", t.name);
        assert!(
            !keys.is_empty() && keys.len() <= 20,
            "{} {}",
            t.name,
            keys.len()
        );
        // A full walk with MATCH returns exactly the matching keys, each once.
        let mut seen = Vec::new();
        let mut cursor = "0".to_string();
        loop {
            let (next, keys) = t.scan(&[&cursor, "MATCH", "key:1*", "COUNT", "13"]);
            seen.extend(keys);
            if next == "0" {
                break;
            }
            cursor = next;
        }
        seen.sort();
        let mut want: Vec<String> = (0..100)
            .map(|i| format!("key:{i}"))
            .filter(|k| k.starts_with("key:1"))
            .collect();
        want.sort();
        assert_eq!(seen, want, "{}", t.name);
    }
}

/// Redis's SCAN guarantee: a key present for the whole iteration is returned, however the keyspace
/// changes around it.
#[test]
fn scan_returns_every_stable_key_under_churn() {
    for mut t in servers() {
        let reqs: Vec<Vec<String>> = (0..1000)
            .map(|i| vec!["SET".into(), format!("stable:{i}"), i.to_string()])
            .collect();
        assert!(t.pipeline(&reqs).iter().all(|r| r == "+OK\r\n"));
        let mut seen = HashSet::new();
        let mut cursor = "0".to_string();
        let mut calls = 0;
        let mut churn = 0u32;
        loop {
            let (next, keys) = t.scan(&[&cursor, "COUNT", "7"]);
            seen.extend(keys);
            // Add three keys and delete an older one per step, so slots are freed and reused mid-scan.
            let mut step = Vec::new();
            for _ in 0..3 {
                step.push(vec!["SET".into(), format!("churn:{churn}"), "x".into()]);
                churn += 1;
            }
            if churn > 10 {
                step.push(vec!["DEL".into(), format!("churn:{}", churn - 10)]);
            }
            t.pipeline(&step);
            calls += 1;
            assert!(calls < 10_000, "{}: scan did not finish", t.name);
            if next == "0" {
                break;
            }
            cursor = next;
        }
        for i in 0..1000 {
            assert!(
                seen.contains(&format!("stable:{i}")),
                "{}: stable:{i} missing",
                t.name
            );
        }
    }
}

#[test]
fn randomkey_and_type() {
    for mut t in servers() {
        t.ex(&["RANDOMKEY"], "$-1\r\n");
        t.inline("RANDOMKEY", "$-1\r\n");
        t.ex(&["SET", "only", "v"], "+OK\r\n");
        t.ex(&["RANDOMKEY"], "$4\r\nonly\r\n");
        t.ex(&["SET", "other", "v"], "+OK\r\n");
        for _ in 0..20 {
            let r = t.q(&["RANDOMKEY"]);
            assert!(r == "$4\r\nonly\r\n" || r == "$5\r\nother\r\n", "{r:?}");
        }
        t.ex(&["RANDOMKEY", "x"], &wrong_args("randomkey"));
        t.ex(&["TYPE", "only"], "+string\r\n");
        t.ex(&["SET", "n", "12"], "+OK\r\n");
        t.inline("TYPE n", "+string\r\n");
        t.ex(&["TYPE", "nope"], "+none\r\n");
        t.inline("TYPE nope", "+none\r\n");
        t.ex(&["TYPE"], &wrong_args("type"));
        t.ex(&["TYPE", "a", "b"], &wrong_args("type"));
    }
}

#[test]
fn rename_and_renamenx() {
    for mut t in servers() {
        t.ex(&["RENAME", "nope", "x"], "-ERR no such key\r\n");
        t.ex(&["RENAME", "nope", "nope"], "-ERR no such key\r\n");
        t.ex(&["RENAMENX", "nope", "x"], "-ERR no such key\r\n");
        t.ex(&["RENAMENX", "nope", "nope"], "-ERR no such key\r\n");
        t.ex(&["SET", "a", "1"], "+OK\r\n");
        t.ex(&["RENAME", "a", "a"], "+OK\r\n");
        t.ex(&["RENAMENX", "a", "a"], ":0\r\n");
        t.ex(&["RENAME", "a", "b"], "+OK\r\n");
        t.ex(&["EXISTS", "a"], ":0\r\n");
        t.ex(&["GET", "b"], "$1\r\n1\r\n");
        // Overwriting drops the destination's deadline; the source's deadline travels with the value.
        t.ex(&["SET", "t", "v", "EX", "100"], "+OK\r\n");
        t.ex(&["RENAME", "b", "t"], "+OK\r\n");
        t.ex(&["TTL", "t"], ":-1\r\n");
        t.ex(&["GET", "t"], "$1\r\n1\r\n");
        t.ex(&["SET", "s", "v", "EX", "100"], "+OK\r\n");
        t.inline("RENAME s s2", "+OK\r\n");
        t.ex(&["TTL", "s2"], ":100\r\n");
        t.ex(&["OBJECT", "ENCODING", "t"], "$3\r\nint\r\n");
        t.ex(&["SET", "x", "y"], "+OK\r\n");
        t.ex(&["RENAMENX", "x", "t"], ":0\r\n");
        t.ex(&["GET", "x"], "$1\r\ny\r\n");
        t.ex(&["GET", "t"], "$1\r\n1\r\n");
        t.ex(&["RENAMENX", "x", "fresh"], ":1\r\n");
        t.inline("RENAMENX fresh x", ":1\r\n");
        t.ex(&["GET", "x"], "$1\r\ny\r\n");
        t.ex(&["RENAME", "a"], &wrong_args("rename"));
        t.ex(&["RENAMENX", "a", "b", "c"], &wrong_args("renamenx"));
    }
}

#[test]
fn move_between_databases() {
    for mut t in servers() {
        t.ex(&["SET", "m", "v", "EX", "100"], "+OK\r\n");
        t.ex(
            &["MOVE", "m", "0"],
            "-ERR source and destination objects are the same\r\n",
        );
        t.ex(
            &["MOVE", "m", "x"],
            "-ERR value is not an integer or out of range\r\n",
        );
        t.ex(&["MOVE", "m", "16"], "-ERR DB index is out of range\r\n");
        t.ex(&["MOVE", "m", "-1"], "-ERR DB index is out of range\r\n");
        for big in ["2147483648", "-2147483649", "4294967296"] {
            t.ex(
                &["MOVE", "m", big],
                "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n",
            );
        }
        t.ex(&["MOVE", "nope", "1"], ":0\r\n");
        t.ex(&["MOVE", "m", "1"], ":1\r\n");
        t.ex(&["EXISTS", "m"], ":0\r\n");
        t.ex(&["SELECT", "1"], "+OK\r\n");
        t.ex(&["GET", "m"], "$1\r\nv\r\n");
        t.ex(&["TTL", "m"], ":100\r\n");
        t.ex(&["SET", "busy", "db1"], "+OK\r\n");
        t.ex(&["SELECT", "0"], "+OK\r\n");
        t.ex(&["SET", "busy", "db0"], "+OK\r\n");
        // The destination holds the key: nothing moves.
        t.ex(&["MOVE", "busy", "1"], ":0\r\n");
        t.ex(&["GET", "busy"], "$3\r\ndb0\r\n");
        t.inline("MOVE busy 2", ":1\r\n");
        t.ex(&["SELECT", "2"], "+OK\r\n");
        t.ex(&["GET", "busy"], "$3\r\ndb0\r\n");
        t.ex(&["MOVE", "busy"], &wrong_args("move"));
    }
}

#[test]
fn copy_within_and_across_databases() {
    for mut t in servers() {
        let same = "-ERR source and destination objects are the same\r\n";
        t.ex(&["COPY", "nope", "nope"], same);
        t.ex(&["COPY", "nope", "x"], ":0\r\n");
        t.ex(&["SET", "src", "hello", "EX", "100"], "+OK\r\n");
        t.ex(&["COPY", "src", "src"], same);
        t.ex(&["COPY", "src", "src", "DB", "0"], same);
        t.ex(&["COPY", "src", "x", "DB"], "-ERR syntax error\r\n");
        t.ex(&["COPY", "src", "x", "bogus"], "-ERR syntax error\r\n");
        t.ex(
            &["COPY", "src", "x", "DB", "99"],
            "-ERR DB index is out of range\r\n",
        );
        t.ex(
            &["COPY", "src", "x", "DB", "-1"],
            "-ERR DB index is out of range\r\n",
        );
        t.ex(
            &["COPY", "src", "x", "DB", "y"],
            "-ERR value is not an integer or out of range\r\n",
        );
        t.ex(
            &["COPY", "src", "x", "DB", "4294967296"],
            "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n",
        );
        t.ex(&["COPY", "src", "dst"], ":1\r\n");
        t.ex(&["GET", "dst"], "$5\r\nhello\r\n");
        t.ex(&["TTL", "dst"], ":100\r\n");
        t.ex(&["GET", "src"], "$5\r\nhello\r\n");
        t.ex(&["SET", "old", "x"], "+OK\r\n");
        t.ex(&["COPY", "src", "old"], ":0\r\n");
        t.ex(&["GET", "old"], "$1\r\nx\r\n");
        t.ex(&["COPY", "src", "old", "REPLACE"], ":1\r\n");
        t.ex(&["GET", "old"], "$5\r\nhello\r\n");
        t.ex(&["SET", "plain", "p"], "+OK\r\n");
        t.ex(&["COPY", "plain", "old", "replace"], ":1\r\n");
        t.ex(&["TTL", "old"], ":-1\r\n");
        t.ex(&["COPY", "src", "src", "DB", "3"], ":1\r\n");
        t.inline("COPY src src DB 3", ":0\r\n");
        t.inline("COPY src src DB 3 REPLACE", ":1\r\n");
        t.ex(
            &["COPY", "src", "x", "REPLACE", "DB", "0", "REPLACE"],
            ":1\r\n",
        );
        t.ex(&["SELECT", "3"], "+OK\r\n");
        t.ex(&["GET", "src"], "$5\r\nhello\r\n");
        t.ex(&["TTL", "src"], ":100\r\n");
        t.ex(&["COPY", "src"], &wrong_args("copy"));
    }
}

#[test]
fn touch_counts_existing_keys() {
    for mut t in servers() {
        t.ex(&["SET", "a", "1"], "+OK\r\n");
        t.ex(&["TOUCH", "a", "a", "nope"], ":2\r\n");
        t.inline("TOUCH nope", ":0\r\n");
        t.ex(&["TOUCH"], &wrong_args("touch"));
    }
}

const OBJECT_HELP: &str = "*15\r\n\
+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n\
+ENCODING <key>\r\n\
+    Return the kind of internal representation used in order to store the value\r\n\
+    associated with a <key>.\r\n\
+FREQ <key>\r\n\
+    Return the access frequency index of the <key>. The returned integer is\r\n\
+    proportional to the logarithm of the recent access frequency of the key.\r\n\
+IDLETIME <key>\r\n\
+    Return the idle time of the <key>, that is the approximated number of\r\n\
+    seconds elapsed since the last access to the key.\r\n\
+REFCOUNT <key>\r\n\
+    Return the number of references of the value associated with the specified\r\n\
+    <key>.\r\n\
+HELP\r\n\
+    Prints this help.\r\n";

#[test]
fn object_subcommands() {
    for mut t in servers() {
        t.ex(&["OBJECT", "HELP"], OBJECT_HELP);
        t.inline("object help", OBJECT_HELP);
        t.ex(&["OBJECT"], &wrong_args("object"));
        t.ex(&["OBJECT", "HELP", "x"], &wrong_args("object|help"));
        t.ex(&["OBJECT", "ENCODING"], &wrong_args("object|encoding"));
        t.ex(
            &["OBJECT", "encoding", "a", "b"],
            &wrong_args("object|encoding"),
        );
        t.ex(
            &["OBJECT", "bogus"],
            "-ERR unknown subcommand 'bogus'. Try OBJECT HELP.\r\n",
        );
        t.ex(
            &["OBJECT", "bogus", "k"],
            "-ERR unknown subcommand 'bogus'. Try OBJECT HELP.\r\n",
        );
        for sub in ["ENCODING", "REFCOUNT", "IDLETIME", "FREQ"] {
            t.ex(&["OBJECT", sub, "nope"], "$-1\r\n");
        }
        for (v, enc) in [
            ("12", "int"),
            ("-5", "int"),
            ("0123", "embstr"),
            ("hello", "embstr"),
            (&"x".repeat(44), "embstr"),
            (&"x".repeat(45), "raw"),
        ] {
            t.ex(&["SET", "k", v], "+OK\r\n");
            t.ex(
                &["OBJECT", "ENCODING", "k"],
                &format!("${}\r\n{enc}\r\n", enc.len()),
            );
        }
        t.inline("OBJECT ENCODING k", "$3\r\nraw\r\n");
        // Redis shares the integers 0..9999.
        for (v, rc) in [
            ("0", ":2147483647\r\n"),
            ("9999", ":2147483647\r\n"),
            ("10000", ":1\r\n"),
            ("-1", ":1\r\n"),
            ("abc", ":1\r\n"),
        ] {
            t.ex(&["SET", "k", v], "+OK\r\n");
            t.ex(&["OBJECT", "REFCOUNT", "k"], rc);
        }
        t.ex(&["SET", "fresh", "value"], "+OK\r\n");
        t.ex(&["OBJECT", "IDLETIME", "fresh"], ":0\r\n");
        t.ex(
            &["OBJECT", "FREQ", "fresh"],
            "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note \
             that when switching between policies at runtime LRU and LFU data will take some time \
             to adjust.\r\n",
        );
    }
}

#[test]
fn object_freq_and_idletime_under_lfu() {
    let conf = std::env::temp_dir().join(format!("ferrokv-keys-lfu-{}.conf", std::process::id()));
    std::fs::write(&conf, "maxmemory-policy allkeys-lfu\n").unwrap();
    let s = TestServer::start(&["--config", conf.to_str().unwrap()]);
    let _ = std::fs::remove_file(&conf);
    let mut c = s.raw();
    assert_eq!(c.cmds(&["SET", "k", "v"]), "+OK\r\n");
    assert_eq!(c.cmds(&["OBJECT", "FREQ", "k"]), ":5\r\n");
    assert_eq!(
        c.cmds(&["OBJECT", "IDLETIME", "k"]),
        "-ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when \
         switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"
    );
    assert_eq!(c.cmds(&["OBJECT", "IDLETIME", "nope"]), "$-1\r\n");
}

#[test]
fn expire_options_and_errors() {
    for mut t in servers() {
        t.ex(&["SET", "a", "1"], "+OK\r\n");
        let nx_err = "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n";
        let gtlt_err = "-ERR GT and LT options at the same time are not compatible\r\n";
        // Options are checked before the time, and the time before the key.
        t.ex(&["EXPIRE", "a", "abc", "NX", "XX"], nx_err);
        t.ex(&["EXPIRE", "a", "10", "nx", "gt"], nx_err);
        t.ex(&["EXPIRE", "a", "10", "NX", "LT"], nx_err);
        t.ex(&["EXPIRE", "a", "10", "GT", "LT"], gtlt_err);
        t.ex(&["EXPIRE", "a", "10", "XX", "GT", "LT"], gtlt_err);
        t.ex(
            &["EXPIRE", "a", "abc", "bogus"],
            "-ERR Unsupported option bogus\r\n",
        );
        t.ex(
            &["EXPIRE", "a", "10", "bogus", "NX", "XX"],
            "-ERR Unsupported option bogus\r\n",
        );
        t.ex(
            &["PEXPIRE", "a", "abc"],
            "-ERR value is not an integer or out of range\r\n",
        );
        t.ex(
            &["EXPIRE", "nope", "x", "NX"],
            "-ERR value is not an integer or out of range\r\n",
        );
        for (cmd, v) in [
            ("EXPIRE", "9223372036854775807"),
            ("EXPIRE", "9223372036854775"),
            ("EXPIRE", "-9223372036854776"),
            ("PEXPIRE", "9223372036854775807"),
            ("EXPIREAT", "9223372036854776"),
            ("EXPIREAT", "-9223372036854776"),
        ] {
            t.ex(
                &[cmd, "a", v],
                &format!(
                    "-ERR invalid expire time in '{}' command\r\n",
                    cmd.to_lowercase()
                ),
            );
        }
        t.ex(&["EXPIRE", "nope", "100"], ":0\r\n");
        t.ex(&["EXPIRE", "nope", "-1"], ":0\r\n");
        t.ex(&["EXPIRE", "nope", "100", "NX"], ":0\r\n");
        // NX / XX against a key without a deadline, then with one.
        t.ex(&["EXPIRE", "a", "100", "XX"], ":0\r\n");
        t.ex(&["TTL", "a"], ":-1\r\n");
        t.ex(&["EXPIRE", "a", "100", "NX"], ":1\r\n");
        t.ex(&["EXPIRE", "a", "50", "NX"], ":0\r\n");
        t.ex(&["EXPIRE", "a", "50", "nx", "NX"], ":0\r\n");
        t.ex(&["TTL", "a"], ":100\r\n");
        // GT / LT.
        t.ex(&["EXPIRE", "a", "200", "GT"], ":1\r\n");
        t.ex(&["EXPIRE", "a", "150", "GT"], ":0\r\n");
        t.ex(&["TTL", "a"], ":200\r\n");
        t.ex(&["EXPIRE", "a", "50", "LT"], ":1\r\n");
        t.ex(&["EXPIRE", "a", "60", "LT"], ":0\r\n");
        t.ex(&["EXPIRE", "a", "70", "XX", "GT"], ":1\r\n");
        t.inline("TTL a", ":70\r\n");
        // No deadline counts as infinite: GT never wins, LT always does.
        t.ex(&["PERSIST", "a"], ":1\r\n");
        t.ex(&["EXPIRE", "a", "10", "GT"], ":0\r\n");
        t.ex(&["TTL", "a"], ":-1\r\n");
        t.ex(&["EXPIRE", "a", "10", "LT"], ":1\r\n");
        t.ex(&["TTL", "a"], ":10\r\n");
        t.inline("EXPIRE a 30 gt", ":1\r\n");
        t.inline("PEXPIRE a 40000 XX", ":1\r\n");
        t.ex(&["TTL", "a"], ":40\r\n");
        t.ex(&["EXPIRE"], &wrong_args("expire"));
        t.ex(&["EXPIRE", "a"], &wrong_args("expire"));
        t.ex(&["PEXPIREAT", "a"], &wrong_args("pexpireat"));
    }
}

#[test]
fn expire_in_the_past_deletes() {
    for mut t in servers() {
        for (cmd, v) in [
            ("EXPIRE", "0"),
            ("EXPIRE", "-10"),
            ("EXPIRE", "-9223372036854775"),
            ("PEXPIRE", "-1"),
            ("EXPIREAT", "1"),
            ("PEXPIREAT", "0"),
            ("PEXPIREAT", "-9223372036854775808"),
        ] {
            t.ex(&["SET", "k", "v"], "+OK\r\n");
            t.ex(&[cmd, "k", v], ":1\r\n");
            t.ex(&["EXISTS", "k"], ":0\r\n");
        }
        t.ex(&["SET", "k", "v"], "+OK\r\n");
        t.inline("EXPIRE k -1", ":1\r\n");
        t.ex(&["TTL", "k"], ":-2\r\n");
        t.ex(&["SET", "k", "v"], "+OK\r\n");
        t.inline("EXPIREAT k 1 NX", ":1\r\n");
        t.ex(&["SET", "k", "v"], "+OK\r\n");
        t.inline("PEXPIREAT k 1000", ":1\r\n");
        t.inline("EXISTS k", ":0\r\n");
        t.inline("PEXPIREAT k 1000", ":0\r\n");
        // LT against a deadline still lets a past time through, which deletes.
        t.ex(&["SET", "k", "v", "EX", "100"], "+OK\r\n");
        t.ex(&["EXPIRE", "k", "-1", "LT"], ":1\r\n");
        t.ex(&["EXISTS", "k"], ":0\r\n");
    }
}

#[test]
fn ttl_family() {
    for mut t in servers() {
        for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
            t.ex(&[cmd, "nope"], ":-2\r\n");
            t.inline(&format!("{cmd} nope"), ":-2\r\n");
            t.ex(&[cmd], &wrong_args(&cmd.to_lowercase()));
        }
        t.ex(&["SET", "k", "v"], "+OK\r\n");
        for cmd in ["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"] {
            t.ex(&[cmd, "k"], ":-1\r\n");
        }
        t.ex(&["EXPIREAT", "k", "33177600000"], ":1\r\n");
        t.ex(&["EXPIRETIME", "k"], ":33177600000\r\n");
        t.ex(&["PEXPIRETIME", "k"], ":33177600000000\r\n");
        t.ex(&["PEXPIREAT", "k", "33177600000499"], ":1\r\n");
        t.ex(&["EXPIRETIME", "k"], ":33177600000\r\n");
        t.ex(&["PEXPIREAT", "k", "33177600000500"], ":1\r\n");
        t.ex(&["EXPIRETIME", "k"], ":33177600001\r\n");
        t.ex(&["PEXPIREAT", "k", "9223372036854775807"], ":1\r\n");
        t.ex(&["PEXPIRETIME", "k"], ":9223372036854775807\r\n");
        t.ex(&["EXPIRETIME", "k"], ":9223372036854776\r\n");
        t.ex(&["EXPIREAT", "k", "9223372036854775"], ":1\r\n");
        t.ex(&["PEXPIRETIME", "k"], ":9223372036854775000\r\n");
        // TTL rounds to the nearest second.
        t.ex(&["PEXPIRE", "k", "100000"], ":1\r\n");
        let p = t.int(&["PTTL", "k"]);
        assert!((99_000..=100_000).contains(&p), "{} pttl {p}", t.name);
        t.ex(&["TTL", "k"], ":100\r\n");
        t.ex(&["PEXPIRE", "k", "2900"], ":1\r\n");
        t.ex(&["TTL", "k"], ":3\r\n");
        let at = t.int(&["PEXPIRETIME", "k"]);
        let now = unix_ms() as i64;
        assert!(
            (now..=now + 2900).contains(&at),
            "{} pexpiretime {at}",
            t.name
        );
        let ts = (unix_ms() / 1000 + 1000).to_string();
        t.ex(&["EXPIREAT", "k", &ts], ":1\r\n");
        t.ex(&["EXPIRETIME", "k"], &format!(":{ts}\r\n"));
        let ttl = t.int(&["TTL", "k"]);
        assert!((999..=1000).contains(&ttl), "{} ttl {ttl}", t.name);
        // SET without KEEPTTL clears the deadline.
        t.ex(&["SET", "k", "v2"], "+OK\r\n");
        t.ex(&["TTL", "k"], ":-1\r\n");
    }
}

#[test]
fn persist_removes_deadline() {
    for mut t in servers() {
        t.ex(&["PERSIST", "nope"], ":0\r\n");
        t.ex(&["SET", "k", "v"], "+OK\r\n");
        t.ex(&["PERSIST", "k"], ":0\r\n");
        t.ex(&["EXPIRE", "k", "100"], ":1\r\n");
        t.ex(&["PERSIST", "k"], ":1\r\n");
        t.ex(&["TTL", "k"], ":-1\r\n");
        t.ex(&["PEXPIRE", "k", "100"], ":1\r\n");
        t.inline("PERSIST k", ":1\r\n");
        t.inline("PERSIST k", ":0\r\n");
        t.ex(&["PERSIST"], &wrong_args("persist"));
        t.ex(&["PERSIST", "a", "b"], &wrong_args("persist"));
    }
}

/// Keys past their deadline are invisible to every command, reclaimed or not.
#[test]
fn expired_keys_are_invisible() {
    for mut t in servers() {
        t.ex(&["SET", "gone", "v", "PX", "100"], "+OK\r\n");
        t.ex(&["SET", "gone2", "v"], "+OK\r\n");
        t.ex(&["PEXPIRE", "gone2", "100"], ":1\r\n");
        t.ex(&["SET", "stay", "v"], "+OK\r\n");
        let p = t.int(&["PTTL", "gone"]);
        assert!((1..=100).contains(&p), "{} pttl {p}", t.name);
        t.ex(&["TTL", "gone"], ":0\r\n");
        sleep(Duration::from_millis(150));
        t.ex(&["KEYS", "*"], "*1\r\n$4\r\nstay\r\n");
        t.ex(&["SCAN", "0"], "*2\r\n$1\r\n0\r\n*1\r\n$4\r\nstay\r\n");
        t.ex(&["EXISTS", "gone", "gone2"], ":0\r\n");
        t.ex(&["TYPE", "gone"], "+none\r\n");
        t.ex(&["TTL", "gone2"], ":-2\r\n");
        t.ex(&["PTTL", "gone"], ":-2\r\n");
        t.ex(&["OBJECT", "ENCODING", "gone"], "$-1\r\n");
        t.ex(&["GET", "gone"], "$-1\r\n");
        t.ex(&["RENAME", "gone", "x"], "-ERR no such key\r\n");
        t.ex(&["MOVE", "gone", "1"], ":0\r\n");
        t.ex(&["COPY", "gone", "x"], ":0\r\n");
        t.ex(&["EXPIRE", "gone", "100"], ":0\r\n");
        t.ex(&["PERSIST", "gone"], ":0\r\n");
        t.ex(&["TOUCH", "gone"], ":0\r\n");
        t.ex(&["DEL", "gone", "gone2"], ":0\r\n");
        t.ex(&["RANDOMKEY"], "$4\r\nstay\r\n");
    }
}

/// A deadline travels with the value through RENAME, MOVE and COPY, and still fires.
#[test]
fn deadlines_travel_and_fire() {
    for mut t in servers() {
        t.ex(&["SET", "r", "v", "PX", "150"], "+OK\r\n");
        t.ex(&["SET", "m", "v", "PX", "150"], "+OK\r\n");
        t.ex(&["SET", "c", "v", "PX", "150"], "+OK\r\n");
        t.ex(&["RENAME", "r", "r2"], "+OK\r\n");
        t.ex(&["MOVE", "m", "1"], ":1\r\n");
        t.ex(&["COPY", "c", "c2"], ":1\r\n");
        for k in ["r2", "c", "c2"] {
            let p = t.int(&["PTTL", k]);
            assert!((1..=150).contains(&p), "{} {k} pttl {p}", t.name);
        }
        sleep(Duration::from_millis(200));
        t.ex(&["EXISTS", "r2", "c", "c2"], ":0\r\n");
        t.ex(&["SELECT", "1"], "+OK\r\n");
        t.ex(&["EXISTS", "m"], ":0\r\n");
    }
}

/// The active cycle reclaims expired keys that nobody reads.
#[test]
fn active_expiry_reclaims_unread_keys() {
    for mut t in servers() {
        let reqs: Vec<Vec<String>> = (0..500)
            .map(|i| {
                vec![
                    "SET".into(),
                    format!("tmp:{i}"),
                    "v".into(),
                    "PX".into(),
                    "50".into(),
                ]
            })
            .collect();
        assert!(t.pipeline(&reqs).iter().all(|r| r == "+OK\r\n"));
        t.ex(&["SET", "keep", "v"], "+OK\r\n");
        t.ex(&["DBSIZE"], ":501\r\n");
        sleep(Duration::from_millis(400));
        // Redis samples rather than walking deadlines, so it may take a few more cycles.
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let n = t.int(&["DBSIZE"]);
            if n == 1 {
                break;
            }
            assert!(
                t.name != "ferrokv" && Instant::now() < deadline,
                "{}: {n} keys left",
                t.name
            );
            sleep(Duration::from_millis(50));
        }
    }
}

/// INFO's keyspace_hits/misses count the reads Redis counts, and not the writes.
#[test]
fn keyspace_hits_and_misses() {
    fn stats(t: &mut T) -> (i64, i64) {
        let info = t.q(&["INFO", "stats"]);
        let field = |name: &str| -> i64 {
            info.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or_else(|| panic!("no {name} in INFO"))
        };
        (field("keyspace_hits:"), field("keyspace_misses:"))
    }
    for mut t in servers() {
        t.ex(&["SET", "a", "1"], "+OK\r\n");
        t.ex(&["SET", "b", "x"], "+OK\r\n");
        for (args, hits, misses) in [
            (&["EXISTS", "a", "nope"][..], 1, 1),
            (&["TYPE", "a"], 1, 0),
            (&["TYPE", "nope"], 0, 1),
            (&["TTL", "a"], 1, 0),
            (&["PTTL", "nope"], 0, 1),
            (&["EXPIRETIME", "a"], 1, 0),
            (&["OBJECT", "ENCODING", "a"], 1, 0),
            (&["OBJECT", "REFCOUNT", "nope"], 0, 1),
            (&["TOUCH", "a", "nope"], 1, 1),
            (&["COPY", "a", "c"], 1, 0),
            (&["COPY", "nope", "d"], 0, 1),
            (&["SCAN", "0", "TYPE", "string"], 3, 0),
            (&["SCAN", "0", "MATCH", "a", "TYPE", "string"], 1, 0),
            (&["SCAN", "0"], 0, 0),
            (&["KEYS", "*"], 0, 0),
            (&["RANDOMKEY"], 0, 0),
            (&["RENAME", "c", "e"], 0, 0),
            (&["MOVE", "e", "1"], 0, 0),
            (&["EXPIRE", "a", "100"], 0, 0),
            (&["PERSIST", "a"], 0, 0),
            (&["RENAMENX", "b", "z"], 0, 0),
            (&["DEL", "z", "nope"], 0, 0),
        ] {
            let (h0, m0) = stats(&mut t);
            t.q(args);
            let (h1, m1) = stats(&mut t);
            assert_eq!((h1 - h0, m1 - m0), (hits, misses), "{} {:?}", t.name, args);
        }
    }
}

/// Under an LFU policy each key carries Redis's logarithmic access counter: it starts at 5, grows by one
/// per access while lfu-log-factor is 0, survives an overwrite, and the least used key is evicted first.
#[test]
fn lfu_counters_and_eviction() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmds(&["OBJECT", "FREQ", "nokey"]),
        "$-1\r\n",
        "missing key"
    );
    assert_eq!(c.cmds(&["SET", "a", "1"]), "+OK\r\n");
    assert!(c
        .cmds(&["OBJECT", "FREQ", "a"])
        .starts_with("-ERR An LFU maxmemory policy is not selected"));
    assert_eq!(
        c.cmds(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"]),
        "+OK\r\n"
    );
    assert_eq!(c.cmds(&["CONFIG", "SET", "lfu-log-factor", "0"]), "+OK\r\n");
    assert_eq!(
        c.cmds(&["CONFIG", "GET", "lfu-decay-time"]),
        "*2\r\n$14\r\nlfu-decay-time\r\n$1\r\n1\r\n"
    );
    assert_eq!(c.cmds(&["SET", "hot", "v"]), "+OK\r\n");
    assert_eq!(c.cmds(&["OBJECT", "FREQ", "hot"]), ":5\r\n");
    for _ in 0..10 {
        assert_eq!(c.cmds(&["GET", "hot"]), "$1\r\nv\r\n");
    }
    assert_eq!(c.cmds(&["OBJECT", "FREQ", "hot"]), ":15\r\n");
    // An overwrite keeps the counter and counts as one more access.
    assert_eq!(c.cmds(&["SET", "hot", "w"]), "+OK\r\n");
    assert_eq!(c.cmds(&["OBJECT", "FREQ", "hot"]), ":16\r\n");
    // RESTORE ... FREQ sets it.
    let dump = c.cmd(&[b"DUMP", b"hot"]);
    let payload = &dump[dump.iter().position(|&b| b == b'\n').unwrap() + 1..dump.len() - 2];
    assert_eq!(
        c.cmd(&[b"RESTORE", b"copy", b"0", payload, b"FREQ", b"100"]),
        b"+OK\r\n"
    );
    assert_eq!(c.cmds(&["OBJECT", "FREQ", "copy"]), ":100\r\n");
    // With memory short, the cold keys go before the hot ones.
    let big = "x".repeat(200);
    for i in 0..200 {
        c.cmds(&["SET", &format!("cold{i}"), &big]);
    }
    let used: u64 = c
        .cmds(&["INFO", "memory"])
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory");
    assert_eq!(
        c.cmds(&["CONFIG", "SET", "maxmemory", &(used - 20_000).to_string()]),
        "+OK\r\n"
    );
    c.cmds(&["SET", "trigger", "x"]);
    assert_eq!(c.cmds(&["EXISTS", "hot", "copy"]), ":2\r\n");
    let left: i64 = c.cmds(&["DBSIZE"]).trim()[1..].parse().unwrap();
    assert!(
        left < 204 && left > 100,
        "a part of the cold keys went: {left} left"
    );
}

/// removed, EXPIRE one even for the deadline the key had, RENAME to itself nothing.
#[test]
fn dirty_counts_as_redis() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let table: &[(&[&str], u64)] = &[
        (&["MSET", "a", "1", "b", "2", "c", "3"], 3),
        (&["DEL", "a", "b", "nokey"], 2),
        (&["UNLINK", "nokey"], 0),
        (&["EXPIRE", "c", "100"], 1),
        (&["EXPIRE", "c", "100"], 1),
        (&["EXPIRE", "c", "100", "NX"], 0),
        (&["PERSIST", "c"], 1),
        (&["PERSIST", "c"], 0),
        (&["RENAME", "c", "c"], 0),
        (&["RENAME", "c", "d"], 1),
        (&["COPY", "d", "e"], 1),
        (&["COPY", "d", "e"], 0),
        (&["MOVE", "e", "1"], 1),
        (&["SWAPDB", "0", "0"], 1),
        (&["MSET", "x", "1", "y", "2"], 2),
        (&["FLUSHDB"], 3),
        (&["FLUSHDB"], 0),
        (&["SELECT", "1"], 0),
        (&["FLUSHALL"], 1),
    ];
    common::check_dirty(&mut c, table);
}
