//! SLOWLOG, LATENCY and INFO latencystats against the real binary: what gets logged (slow commands, EXEC's
//! queued commands, a blocked command when it answers), Redis's truncation and redaction of arguments, the
//! latency monitor's events and reports, and the per-command histograms. Slow commands come from DEBUG SLEEP.

mod common;

use common::{RawConn, TestServer};

type Entry = (i64, i64, i64, Vec<Vec<u8>>, String, String);

fn entries(c: &mut redis::Connection, count: &str) -> Vec<Entry> {
    redis::cmd("SLOWLOG")
        .arg("GET")
        .arg(count)
        .query(c)
        .unwrap()
}

fn argv(e: &Entry) -> Vec<String> {
    e.3.iter()
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

#[test]
fn slow_commands_are_logged_with_client_details() {
    let s = TestServer::start(&[]);
    let mut r = s.raw();
    assert_eq!(r.cmds(&["SLOWLOG", "LEN"]), ":0\r\n");
    r.cmds(&["CONFIG", "SET", "slowlog-log-slower-than", "100000"]);
    r.cmds(&["PING"]);
    assert_eq!(r.cmds(&["SLOWLOG", "LEN"]), ":0\r\n");
    r.cmds(&["CLIENT", "SETNAME", "foobar"]);
    assert_eq!(r.cmds(&["DEBUG", "SLEEP", "0.12"]), "+OK\r\n");
    assert_eq!(r.cmds(&["SLOWLOG", "LEN"]), ":1\r\n");
    let mut c = s.redis();
    let e = entries(&mut c, "-1");
    assert_eq!(e.len(), 1);
    assert!(e[0].2 >= 100_000, "duration {}", e[0].2);
    assert_eq!(argv(&e[0]), ["DEBUG", "SLEEP", "0.12"]);
    assert!(e[0].4.starts_with("127.0.0.1:"), "{}", e[0].4);
    assert_eq!(e[0].5, "foobar");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((e[0].1 - now).abs() <= 2);

    // Disabled with a negative threshold.
    r.cmds(&["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
    r.cmds(&["SLOWLOG", "RESET"]);
    r.cmds(&["DEBUG", "SLEEP", "0.01"]);
    assert_eq!(r.cmds(&["SLOWLOG", "LEN"]), ":0\r\n");
}

#[test]
fn max_len_count_and_ids() {
    let s = TestServer::start(&[]);
    let mut r = s.raw();
    r.cmds(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    r.cmds(&["CONFIG", "SET", "slowlog-max-len", "10"]);
    for _ in 0..100 {
        r.cmds(&["PING"]);
    }
    assert_eq!(r.cmds(&["SLOWLOG", "LEN"]), ":10\r\n");
    let mut c = s.redis();
    assert_eq!(entries(&mut c, "5").len(), 5);
    assert_eq!(entries(&mut c, "0").len(), 0);
    let all = entries(&mut c, "-1");
    // Newest first, ids consecutive.
    for w in all.windows(2) {
        assert_eq!(w[0].0, w[1].0 + 1);
    }
    let default: Vec<Entry> = redis::cmd("SLOWLOG").arg("GET").query(&mut c).unwrap();
    assert_eq!(default.len(), 10);
    for bad in ["-2", "abc", "99999999999999999999"] {
        assert_eq!(
            r.cmds(&["SLOWLOG", "GET", bad]),
            "-ERR count should be greater than or equal to -1\r\n"
        );
    }
    assert_eq!(
        r.cmds(&["SLOWLOG", "GET", "1", "2"]),
        "-ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.\r\n"
    );
    r.cmds(&["CONFIG", "SET", "slowlog-max-len", "1"]);
    r.cmds(&["CLIENT", "SETNAME", "last"]);
    let e = entries(&mut c, "-1");
    assert_eq!(e.len(), 1);
    assert_eq!(argv(&e[0]), ["CLIENT", "SETNAME", "last"]);
    assert_eq!(r.cmds(&["SLOWLOG", "RESET"]), "+OK\r\n");
    // SLOWLOG RESET itself is logged after it empties the log.
    assert_eq!(r.cmds(&["SLOWLOG", "LEN"]), ":1\r\n");
}

#[test]
fn long_commands_and_arguments_are_trimmed() {
    let s = TestServer::start(&[]);
    let mut r = s.raw();
    r.cmds(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    r.cmds(&["SLOWLOG", "RESET"]);
    let mut args = vec!["SADD".to_string(), "set".to_string()];
    args.extend((3..=33).map(|i| i.to_string()));
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    r.cmds(&a);
    let long = "A".repeat(129);
    r.cmds(&["SADD", "set", "foo", &long]);
    let mut c = s.redis();
    let e = entries(&mut c, "2");
    let mut want: Vec<String> = args[..31].to_vec();
    want.push("... (2 more arguments)".into());
    assert_eq!(argv(&e[1]), want);
    assert_eq!(
        argv(&e[0]),
        [
            "SADD".to_string(),
            "set".into(),
            "foo".into(),
            format!("{}... (1 more bytes)", &long[..128])
        ]
    );
}

#[test]
fn secrets_are_redacted_and_exec_is_not_logged() {
    let s = TestServer::start(&[]);
    let mut r = s.raw();
    r.cmds(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    r.cmds(&["SLOWLOG", "RESET"]);
    r.cmds(&["AUTH", "secret"]);
    r.cmds(&["AUTH", "user", "secret"]);
    r.cmds(&["HELLO", "2", "AUTH", "default", "pw"]);
    r.cmds(&["HELLO", "x", "AUTH", "default", "pw"]);
    r.cmds(&[
        "CONFIG",
        "SET",
        "requirepass",
        "pw",
        "slowlog-max-len",
        "128",
    ]);
    r.cmds(&["AUTH", "pw"]);
    r.cmds(&["CONFIG", "SET", "requirepass", ""]);
    r.cmds(&["MULTI"]);
    r.cmds(&["SET", "a", "1"]);
    r.cmds(&["EXEC"]);
    r.cmds(&["CONFIG", "SET", "slowlog-log-slower-than", "-1"]);
    let mut c = s.redis();
    let mut got: Vec<Vec<String>> = entries(&mut c, "-1").iter().map(argv).collect();
    got.reverse();
    let want: &[&[&str]] = &[
        &["SLOWLOG", "RESET"],
        &["AUTH", "(redacted)"],
        &["AUTH", "(redacted)", "(redacted)"],
        &["HELLO", "2", "AUTH", "(redacted)", "(redacted)"],
        &["HELLO", "x", "AUTH", "default", "pw"],
        &[
            "CONFIG",
            "SET",
            "requirepass",
            "(redacted)",
            "slowlog-max-len",
            "128",
        ],
        &["AUTH", "(redacted)"],
        &["CONFIG", "SET", "requirepass", "(redacted)"],
        &["MULTI"],
        &["SET", "a", "1"],
    ];
    let want: Vec<Vec<String>> = want
        .iter()
        .map(|e| e.iter().map(|s| s.to_string()).collect())
        .collect();
    // The CONFIG SET that disables the log is judged by the value it set, as in Redis.
    assert_eq!(got, want);
}

#[test]
fn a_blocked_command_is_logged_when_it_answers() {
    let s = TestServer::start(&[]);
    let mut r = s.raw();
    r.cmds(&["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    let mut b = s.raw();
    b.send(&common::encode(&[b"BLPOP", b"l", b"0"]));
    // Wait until it is blocked.
    for _ in 0..200 {
        if r.cmds(&["INFO", "clients"]).contains("blocked_clients:1") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    r.cmds(&["SLOWLOG", "RESET"]);
    r.cmds(&["LPUSH", "l", "foo"]);
    assert_eq!(b.read_reply(), b"*2\r\n$1\r\nl\r\n$3\r\nfoo\r\n");
    let mut c = s.redis();
    let got: Vec<Vec<String>> = entries(&mut c, "-1").iter().map(argv).collect();
    assert_eq!(got[0], ["BLPOP", "l", "0"]);
    assert_eq!(got[1], ["LPUSH", "l", "foo"]);
    let info = r.cmds(&["INFO", "latencystats"]);
    assert!(
        info.contains("latency_percentiles_usec_blpop:p50="),
        "{info}"
    );
}

#[test]
fn latency_monitor_events_and_reports() {
    let s = TestServer::start(&[]);
    let mut r = s.raw();
    assert!(r.cmds(&["LATENCY", "DOCTOR"]).contains("I'm sorry, Dave"));
    r.cmds(&["CONFIG", "SET", "latency-monitor-threshold", "20"]);
    r.cmds(&["DEBUG", "SLEEP", "0.03"]);
    r.cmds(&["PING"]);
    let mut c = s.redis();
    let latest: Vec<(String, i64, i64, i64)> =
        redis::cmd("LATENCY").arg("LATEST").query(&mut c).unwrap();
    assert_eq!(latest.len(), 1);
    assert_eq!(latest[0].0, "command");
    assert!((30..200).contains(&latest[0].2), "{latest:?}");
    assert_eq!(latest[0].2, latest[0].3);
    let history: Vec<(i64, i64)> = redis::cmd("LATENCY")
        .arg("HISTORY")
        .arg("command")
        .query(&mut c)
        .unwrap();
    assert_eq!(history, [(latest[0].1, latest[0].2)]);
    assert_eq!(r.cmds(&["LATENCY", "HISTORY", "blabla"]), "*0\r\n");
    let graph: String = redis::cmd("LATENCY")
        .arg("GRAPH")
        .arg("command")
        .query(&mut c)
        .unwrap();
    assert!(graph.starts_with("command - high "), "{graph}");
    assert!(graph.contains(&"-".repeat(80)), "{graph}");
    assert_eq!(
        r.cmds(&["LATENCY", "GRAPH", "nope"]),
        "-ERR No samples available for event 'nope'\r\n"
    );
    let doctor: String = redis::cmd("LATENCY").arg("DOCTOR").query(&mut c).unwrap();
    assert!(doctor.contains("1. command: 1 latency spikes"), "{doctor}");
    assert_eq!(r.cmds(&["LATENCY", "RESET", "blabla"]), ":0\r\n");
    assert_eq!(r.cmds(&["LATENCY", "RESET", "COMMAND"]), ":1\r\n");
    assert_eq!(r.cmds(&["LATENCY", "LATEST"]), "*0\r\n");
    assert_eq!(
        r.cmds(&["LATENCY", "HELP", "xxx"]),
        "-ERR wrong number of arguments for 'latency|help' command\r\n"
    );
}

#[test]
fn latency_histograms_and_info_latencystats() {
    let s = TestServer::start(&[]);
    let mut r = s.raw();
    r.cmds(&["CONFIG", "RESETSTAT"]);
    r.cmds(&["SET", "a", "b"]);
    r.cmds(&["SET", "c", "d"]);
    r.cmds(&["CLIENT", "ID"]);
    let h = r.cmds(&["LATENCY", "HISTOGRAM", "set", "blabla", "client"]);
    assert!(
        h.starts_with("*4\r\n$3\r\nset\r\n*4\r\n$5\r\ncalls\r\n:2\r\n$14\r\nhistogram_usec\r\n*"),
        "{h}"
    );
    assert!(
        h.contains("$9\r\nclient|id\r\n*4\r\n$5\r\ncalls\r\n:1\r\n"),
        "{h}"
    );
    assert_eq!(r.cmds(&["LATENCY", "HISTOGRAM", "blabla"]), "*0\r\n");
    r.cmds(&["HELLO", "3"]);
    let h = r.cmds(&["LATENCY", "HISTOGRAM", "client|id"]);
    assert!(
        h.starts_with(
            "%1\r\n$9\r\nclient|id\r\n%2\r\n$5\r\ncalls\r\n:1\r\n$14\r\nhistogram_usec\r\n%"
        ),
        "{h}"
    );
    r.cmds(&["HELLO", "2"]);

    let line = |r: &mut RawConn, cmd: &str| -> Option<String> {
        let info = r.cmds(&["INFO", "latencystats"]);
        let key = format!("\r\nlatency_percentiles_usec_{cmd}:");
        let at = info.find(&key)? + key.len();
        Some(info[at..at + info[at..].find("\r\n")?].to_string())
    };
    let v = line(&mut r, "set").unwrap();
    let parts: Vec<&str> = v.split(',').collect();
    assert_eq!(parts.len(), 3, "{v}");
    for (p, name) in parts.iter().zip(["p50=", "p99=", "p99.9="]) {
        let n = p.strip_prefix(name).unwrap_or_else(|| panic!("{v}"));
        assert_eq!(n.split('.').nth(1).map(str::len), Some(3), "{v}");
    }
    assert!(line(&mut r, "config|resetstat").is_some());
    r.cmds(&[
        "CONFIG",
        "SET",
        "latency-tracking-info-percentiles",
        "0.0 50.0 100.0",
    ]);
    assert_eq!(
        r.cmds(&["CONFIG", "GET", "latency-tracking-info-percentiles"]),
        "*2\r\n$33\r\nlatency-tracking-info-percentiles\r\n$8\r\n0 50 100\r\n"
    );
    assert!(line(&mut r, "set").unwrap().starts_with("p0="));
    assert_eq!(
        r.cmds(&["CONFIG", "SET", "latency-tracking-info-percentiles", "10 a"]),
        "-ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - Invalid latency-tracking-info-percentiles parameters\r\n"
    );
    assert_eq!(
        r.cmds(&["CONFIG", "SET", "latency-tracking-info-percentiles", "10 101"]),
        "-ERR CONFIG SET failed (possibly related to argument 'latency-tracking-info-percentiles') - latency-tracking-info-percentiles parameters should sit between [0.0,100.0]\r\n"
    );
    r.cmds(&["CONFIG", "SET", "latency-tracking-info-percentiles", "50"]);
    r.cmds(&["DEBUG", "SLEEP", "0.05"]);
    let p50: f64 = line(&mut r, "debug").unwrap()[4..].parse().unwrap();
    assert!(p50 >= 50000.0, "{p50}");

    r.cmds(&["CONFIG", "RESETSTAT"]);
    assert_eq!(line(&mut r, "set"), None);
    r.cmds(&["CONFIG", "SET", "latency-tracking", "no"]);
    r.cmds(&["SET", "a", "b"]);
    assert!(!r
        .cmds(&["INFO", "latencystats"])
        .contains("latency_percentiles_usec_"));
    r.cmds(&["CONFIG", "SET", "latency-tracking", "yes"]);
    r.cmds(&["SET", "a", "b"]);
    assert!(line(&mut r, "set").is_some());
}

#[test]
fn help_texts() {
    let s = TestServer::start(&[]);
    let mut r = s.raw();
    assert_eq!(
        r.cmds(&["SLOWLOG", "HELP"]),
        "*12\r\n+SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+GET [<count>]\r\n\
         +    Return top <count> entries from the slowlog (default: 10, -1 mean all).\r\n\
         +    Entries are made of:\r\n\
         +    id, timestamp, time in microseconds, arguments array, client IP and port,\r\n\
         +    client name\r\n+LEN\r\n+    Return the length of the slowlog.\r\n+RESET\r\n\
         +    Reset the slowlog.\r\n+HELP\r\n+    Prints this help.\r\n"
    );
    let h = r.cmds(&["LATENCY", "HELP"]);
    assert!(h.starts_with("*17\r\n+LATENCY <subcommand>"), "{h}");
    assert!(h.contains("+HISTOGRAM [COMMAND ...]\r\n"), "{h}");
    assert_eq!(
        r.cmds(&["SLOWLOG", "FOO"]),
        "-ERR unknown subcommand 'FOO'. Try SLOWLOG HELP.\r\n"
    );
}
