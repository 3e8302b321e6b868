//! Client-side caching: CLIENT TRACKING and its invalidation messages, byte for byte, on ferrokv and (when
//! installed) side by side with redis-server.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::TestServer;

/// A raw connection that collects whatever arrives until the line goes quiet.
struct Cli {
    s: TcpStream,
}

impl Cli {
    fn new(port: u16) -> Cli {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_millis(40))).unwrap();
        Cli { s }
    }

    fn send(&mut self, args: &[&str]) {
        let mut b = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            b.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
        }
        self.s.write_all(&b).unwrap();
    }

    /// Everything received until nothing more comes for a moment (bounded at 3 s).
    fn drain(&mut self) -> String {
        let mut out = Vec::new();
        let start = Instant::now();
        let mut buf = [0u8; 65536];
        loop {
            match self.s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
                Err(_) => break,
            }
            if start.elapsed() > Duration::from_secs(3) {
                break;
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// Sends a command and returns what this connection received after it.
    fn cmd(&mut self, args: &[&str]) -> String {
        self.send(args);
        self.drain()
    }

    fn id(&mut self) -> String {
        let r = self.cmd(&["CLIENT", "ID"]);
        r.trim_start_matches(':').trim_end().to_string()
    }
}

const HELLO3_PREFIX: &str = "%7\r\n";

fn inv(keys: &[&str]) -> String {
    let mut s = format!(">2\r\n$10\r\ninvalidate\r\n*{}\r\n", keys.len());
    for k in keys {
        s += &format!("${}\r\n{k}\r\n", k.len());
    }
    s
}

fn msg(keys: &[&str]) -> String {
    let mut s = format!(
        "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*{}\r\n",
        keys.len()
    );
    for k in keys {
        s += &format!("${}\r\n{k}\r\n", k.len());
    }
    s
}

#[test]
fn resp3_invalidation_after_reads() {
    let s = TestServer::start(&[]);
    let (mut a, mut b) = (Cli::new(s.port), Cli::new(s.port));
    assert!(a.cmd(&["HELLO", "3"]).starts_with(HELLO3_PREFIX));
    assert_eq!(a.cmd(&["CLIENT", "TRACKING", "on"]), "+OK\r\n");
    b.cmd(&["SET", "a", "1"]);
    assert_eq!(a.cmd(&["GET", "a"]), "$1\r\n1\r\n");
    assert_eq!(b.cmd(&["SET", "a", "2"]), "+OK\r\n");
    assert_eq!(a.drain(), inv(&["a"]));
    // Not read since: no message.
    b.cmd(&["SET", "a", "3"]);
    assert_eq!(a.drain(), "");
    a.cmd(&["MGET", "a", "h", "zz"]);
    b.cmd(&["MSET", "a", "1", "h", "2", "q", "3"]);
    assert_eq!(a.drain(), inv(&["a"]) + &inv(&["h"]));
    // The client's own write: the message follows the reply.
    a.cmd(&["GET", "a"]);
    assert_eq!(a.cmd(&["SET", "a", "x"]), format!("+OK\r\n{}", inv(&["a"])));
    a.cmd(&["HSET", "hh", "f", "1"]);
    a.cmd(&["HGET", "hh", "f"]);
    assert_eq!(
        a.cmd(&["HDEL", "hh", "f"]),
        format!(":1\r\n{}", inv(&["hh"]))
    );
    // After a transaction's whole reply.
    a.cmd(&["MSET", "a", "1", "b", "2"]);
    a.cmd(&["GET", "a"]);
    a.cmd(&["MULTI"]);
    a.cmd(&["INCR", "a"]);
    a.cmd(&["GET", "b"]);
    assert_eq!(
        a.cmd(&["EXEC"]),
        format!("*2\r\n:2\r\n$1\r\n2\r\n{}", inv(&["a"]))
    );
    // Flushes invalidate everything with a null.
    a.cmd(&["GET", "a"]);
    assert_eq!(
        b.cmd(&["FLUSHALL"]),
        "+OK\r\n",
        "the flushing client is not tracking"
    );
    assert_eq!(a.drain(), ">2\r\n$10\r\ninvalidate\r\n_\r\n");
    a.cmd(&["MULTI"]);
    a.cmd(&["FLUSHDB"]);
    assert_eq!(
        a.cmd(&["EXEC"]),
        "*1\r\n+OK\r\n>2\r\n$10\r\ninvalidate\r\n_\r\n"
    );
}

#[test]
fn resp2_redirect_to_subscriber() {
    let s = TestServer::start(&[]);
    let (mut a, mut r, mut w) = (Cli::new(s.port), Cli::new(s.port), Cli::new(s.port));
    let rid = r.id();
    r.cmd(&["SUBSCRIBE", "__redis__:invalidate"]);
    assert_eq!(
        a.cmd(&["CLIENT", "TRACKING", "on", "REDIRECT", &rid]),
        "+OK\r\n"
    );
    assert_eq!(a.cmd(&["CLIENT", "GETREDIR"]), format!(":{rid}\r\n"));
    for (read, write) in [
        (vec!["GET", "k"], vec!["SET", "k", "1"]),
        (vec!["HGET", "h", "f"], vec!["HSET", "h", "f", "v"]),
        (vec!["LRANGE", "l", "0", "-1"], vec!["RPUSH", "l", "x"]),
        (vec!["SMEMBERS", "s"], vec!["SADD", "s", "x"]),
        (vec!["ZSCORE", "z", "m"], vec!["ZADD", "z", "1", "m"]),
        (vec!["XLEN", "x"], vec!["XADD", "x", "1-1", "f", "v"]),
    ] {
        a.cmd(&read);
        w.cmd(&write);
        assert_eq!(r.drain(), msg(&[read[1]]), "{write:?}");
    }
    a.cmd(&["GET", "k"]);
    w.cmd(&["FLUSHALL"]);
    assert_eq!(
        r.drain(),
        "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n$-1\r\n"
    );
    // A key that expires is invalidated too (by the active cycle here).
    w.cmd(&["SET", "e", "v", "PX", "300"]);
    a.cmd(&["GET", "e"]);
    std::thread::sleep(Duration::from_millis(900));
    assert_eq!(r.drain(), msg(&["e"]));
    let aid = a.id();
    let list = a.cmd(&["CLIENT", "LIST", "ID", &aid]);
    assert!(list.contains(" flags=t "), "{list}");
    assert!(list.contains(&format!(" redir={rid} ")), "{list}");
    // RESP2 without a redirect gets nothing (and no error).
    assert_eq!(a.cmd(&["CLIENT", "TRACKING", "off"]), "+OK\r\n");
    assert_eq!(a.cmd(&["CLIENT", "GETREDIR"]), ":-1\r\n");
}

#[test]
fn bcast_prefixes_and_noloop() {
    let s = TestServer::start(&[]);
    let (mut a, mut r, mut w) = (Cli::new(s.port), Cli::new(s.port), Cli::new(s.port));
    let rid = r.id();
    r.cmd(&["SUBSCRIBE", "__redis__:invalidate"]);
    let on = ["CLIENT", "TRACKING", "on", "BCAST", "REDIRECT", &rid];
    let mut args = on.to_vec();
    args.extend(["PREFIX", "a:", "PREFIX", "b:"]);
    assert_eq!(a.cmd(&args), "+OK\r\n");
    a.cmd(&["MULTI"]);
    for k in ["a:2", "a:1", "b:1", "c:1"] {
        a.cmd(&["INCR", k]);
    }
    a.cmd(&["EXEC"]);
    assert_eq!(r.drain(), msg(&["a:1", "a:2"]) + &msg(&["b:1"]));
    let info = a.cmd(&["CLIENT", "TRACKINGINFO"]);
    assert!(info.contains("$5\r\nbcast\r\n"), "{info}");
    assert!(info.contains("*2\r\n$2\r\na:\r\n$2\r\nb:\r\n"), "{info}");
    assert_eq!(
        a.cmd(&["CLIENT", "TRACKING", "on", "BCAST", "PREFIX", "a"]),
        "-ERR Prefix 'a' overlaps with an existing prefix 'a:'. Prefixes for a single client must not overlap.\r\n"
    );
    assert_eq!(
        a.cmd(&["CLIENT", "TRACKING", "on"]),
        "-ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode.\r\n"
    );
    let info = w.cmd(&["INFO", "stats"]);
    assert!(info.contains("tracking_total_prefixes:2\r\n"), "{info}");
    a.cmd(&["CLIENT", "TRACKING", "off"]);
    let mut args = on.to_vec();
    args.push("NOLOOP");
    a.cmd(&args);
    w.cmd(&["SET", "o1", "1"]);
    assert_eq!(r.drain(), msg(&["o1"]));
    a.cmd(&["SET", "loop", "1"]);
    assert_eq!(r.drain(), "");
    let list = w.cmd(&["CLIENT", "LIST"]);
    assert!(list.contains(" flags=tB "), "{list}");
}

#[test]
fn optin_optout_and_broken_redirect() {
    let s = TestServer::start(&[]);
    let (mut a, mut r, mut w) = (Cli::new(s.port), Cli::new(s.port), Cli::new(s.port));
    a.cmd(&["HELLO", "3"]);
    a.cmd(&["CLIENT", "TRACKING", "on", "OPTIN"]);
    a.cmd(&["GET", "k"]);
    w.cmd(&["SET", "k", "1"]);
    assert_eq!(a.drain(), "");
    assert_eq!(a.cmd(&["CLIENT", "CACHING", "yes"]), "+OK\r\n");
    a.cmd(&["GET", "k"]);
    w.cmd(&["SET", "k", "2"]);
    assert_eq!(a.drain(), inv(&["k"]));
    assert_eq!(
        a.cmd(&["CLIENT", "CACHING", "no"]),
        "-ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.\r\n"
    );
    a.cmd(&["CLIENT", "TRACKING", "off"]);
    a.cmd(&["CLIENT", "TRACKING", "on", "OPTOUT"]);
    a.cmd(&["CLIENT", "CACHING", "no"]);
    a.cmd(&["GET", "k"]);
    w.cmd(&["SET", "k", "3"]);
    assert_eq!(a.drain(), "");
    a.cmd(&["CLIENT", "TRACKING", "off"]);
    assert_eq!(
        a.cmd(&["CLIENT", "CACHING", "yes"]),
        "-ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled\r\n"
    );
    // The redirect client goes away.
    let rid = r.id();
    a.cmd(&["CLIENT", "TRACKING", "on", "REDIRECT", &rid]);
    a.cmd(&["GET", "k"]);
    drop(r);
    std::thread::sleep(Duration::from_millis(50));
    w.cmd(&["SET", "k", "4"]);
    assert_eq!(
        a.drain(),
        format!(">2\r\n$21\r\ntracking-redir-broken\r\n:{rid}\r\n")
    );
    let info = a.cmd(&["CLIENT", "TRACKINGINFO"]);
    assert!(info.contains("$15\r\nbroken_redirect\r\n"), "{info}");
    let list = w.cmd(&["CLIENT", "LIST"]);
    assert!(list.contains(" flags=tR "), "{list}");
    // RESET turns tracking off.
    a.cmd(&["RESET"]);
    assert_eq!(a.cmd(&["CLIENT", "GETREDIR"]), ":-1\r\n");
    let info = w.cmd(&["INFO", "clients"]);
    assert!(info.contains("tracking_clients:0\r\n"), "{info}");
}

#[test]
fn table_limit_and_info() {
    let s = TestServer::start(&[]);
    let (mut a, mut r, mut w) = (Cli::new(s.port), Cli::new(s.port), Cli::new(s.port));
    let rid = r.id();
    r.cmd(&["SUBSCRIBE", "__redis__:invalidate"]);
    a.cmd(&["CLIENT", "TRACKING", "on", "REDIRECT", &rid]);
    for i in 0..250 {
        a.send(&["GET", &format!("key{i}")]);
    }
    assert_eq!(a.drain(), "$-1\r\n".repeat(250));
    let info = w.cmd(&["INFO", "stats"]);
    assert!(info.contains("tracking_total_keys:250\r\n"), "{info}");
    assert!(info.contains("tracking_total_items:250\r\n"), "{info}");
    assert!(w
        .cmd(&["INFO", "clients"])
        .contains("tracking_clients:1\r\n"));
    assert_eq!(
        w.cmd(&["CONFIG", "SET", "tracking-table-max-keys", "1"]),
        "+OK\r\n"
    );
    std::thread::sleep(Duration::from_millis(600));
    let got = r.drain();
    assert_eq!(got.matches("__redis__:invalidate").count(), 249, "{got}");
    let info = w.cmd(&["INFO", "stats"]);
    assert!(info.contains("tracking_total_keys:1\r\n"), "{info}");
}

/// The same sequences on ferrokv and redis-server give each client the same bytes.
#[test]
fn matches_redis() {
    let Some(redis) = common::start_redis() else {
        println!("SKIPPED: redis-server not installed");
        return;
    };
    let ours = TestServer::start(&[]);
    type Step<'a> = (usize, &'a [&'a str]);
    let steps: &[Step] = &[
        (0, &["HELLO", "3"]),
        (1, &["SUBSCRIBE", "__redis__:invalidate"]),
        (0, &["CLIENT", "TRACKING", "on"]),
        (2, &["CLIENT", "TRACKING", "on", "REDIRECT", "{1}"]),
        (0, &["MGET", "a", "b", "c"]),
        (2, &["MGET", "a", "b"]),
        (2, &["SET", "a", "1"]),
        (0, &["HSET", "h", "f", "v"]),
        (0, &["HGETALL", "h"]),
        (2, &["HGET", "h", "f"]),
        (0, &["DEL", "h", "c"]),
        (2, &["EXPIRE", "b", "100"]),
        (0, &["GET", "b"]),
        (2, &["SET", "b", "x"]),
        (0, &["CLIENT", "TRACKINGINFO"]),
        (2, &["CLIENT", "TRACKINGINFO"]),
        (0, &["CLIENT", "TRACKING", "on", "OPTIN", "OPTOUT"]),
        (0, &["CLIENT", "TRACKING", "on", "PREFIX", "x"]),
        (0, &["CLIENT", "TRACKING", "on", "REDIRECT", "0"]),
        (0, &["CLIENT", "TRACKING", "on", "REDIRECT", "x"]),
        (0, &["CLIENT", "TRACKING", "on", "NOPE"]),
        (0, &["CLIENT", "TRACKING", "maybe"]),
        (0, &["CLIENT", "CACHING", "yes"]),
        (0, &["CLIENT", "GETREDIR"]),
        (2, &["CLIENT", "GETREDIR"]),
        (0, &["GET", "a"]),
        (2, &["FLUSHDB"]),
        (0, &["PING"]),
    ];
    let run = |port: u16| -> Vec<(usize, usize, String)> {
        // Ids above any small number a reply holds (HELLO's proto).
        let _spare: Vec<Cli> = (0..5).map(|_| Cli::new(port)).collect();
        let mut cs: Vec<Cli> = (0..3).map(|_| Cli::new(port)).collect();
        let ids: Vec<String> = cs.iter_mut().map(|c| c.id()).collect();
        let mut log = Vec::new();
        for (n, (i, args)) in steps.iter().enumerate() {
            let args: Vec<String> = args.iter().map(|a| a.replace("{1}", &ids[1])).collect();
            let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
            cs[*i].send(&args);
            for (j, c) in cs.iter_mut().enumerate() {
                let mut got = c.drain();
                for (k, id) in ids.iter().enumerate() {
                    got = got.replace(&format!(":{id}\r\n"), &format!(":<id{k}>\r\n"));
                }
                if !got.is_empty() {
                    log.push((n, j, got));
                }
            }
        }
        log
    };
    let (want, got) = (run(redis.port), run(ours.port));
    for (w, g) in want.iter().zip(got.iter()) {
        assert_eq!(w, g, "step {:?}", steps[w.0]);
    }
    assert_eq!(want.len(), got.len());
}

#[test]
fn redirected_message_to_the_writer_precedes_its_reply() {
    let s = TestServer::start(&[]);
    let (mut a, mut b) = (Cli::new(s.port), Cli::new(s.port));
    b.cmd(&["HELLO", "3"]);
    let bid = b.id();
    a.cmd(&["CLIENT", "TRACKING", "on", "REDIRECT", &bid]);
    a.cmd(&["MGET", "k", "j"]);
    // Redis writes the message when the key changes, before the command's reply.
    assert_eq!(b.cmd(&["SET", "k", "v"]), inv(&["k"]) + "+OK\r\n");
    b.cmd(&["MULTI"]);
    b.cmd(&["SET", "k", "1"]);
    b.cmd(&["SET", "j", "2"]);
    // k was not read again since; j's message sits between the two replies.
    assert_eq!(
        b.cmd(&["EXEC"]),
        format!("*2\r\n+OK\r\n{}+OK\r\n", inv(&["j"]))
    );
}

#[test]
fn invalidation_precedes_the_keyspace_notification() {
    let s = TestServer::start(&[]);
    let (mut a, mut b) = (Cli::new(s.port), Cli::new(s.port));
    a.cmd(&["HELLO", "3"]);
    a.cmd(&["CONFIG", "SET", "notify-keyspace-events", "KA"]);
    a.cmd(&["PSUBSCRIBE", "__keyspace@0__:*"]);
    a.cmd(&["CLIENT", "TRACKING", "on"]);
    a.cmd(&["GET", "a"]);
    b.cmd(&["SET", "a", "1"]);
    let event = ">4\r\n$8\r\npmessage\r\n$16\r\n__keyspace@0__:*\r\n$16\r\n__keyspace@0__:a\r\n$3\r\nset\r\n";
    assert_eq!(a.drain(), inv(&["a"]) + event);
}
