//! Pub/Sub over real connections: confirmations and messages byte for byte (RESP2 arrays, RESP3 pushes),
//! patterns and their order, shard channels, the commands a RESP2 subscriber may send, UNSUBSCRIBE
//! without arguments, PUBSUB introspection, transactions, the pubsub output-buffer limit, and a scripted
//! comparison with a real redis-server.

mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use common::{RawConn, TestServer};

fn s(b: Vec<u8>) -> String {
    String::from_utf8_lossy(&b).into_owned()
}

/// Reads `n` replies from `c` and concatenates them.
fn replies(c: &mut RawConn, n: usize) -> String {
    (0..n).map(|_| s(c.read_reply())).collect()
}

/// Runs `f` against ferrokv, then against a real redis-server when one is installed, so every expected
/// reply below is Redis's own.
fn on_both(f: impl Fn(u16)) {
    let srv = TestServer::start(&[]);
    f(srv.port);
    if let Some(redis) = common::start_redis() {
        f(redis.port);
    }
}

const ONLY_SUB: &str =
    "only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context";

#[test]
fn subscribe_publish_exact_bytes() {
    on_both(|port| {
        let mut sub = RawConn::connect(port);
        let mut publ = RawConn::connect(port);
        sub.send(&common::encode(&[
            b"SUBSCRIBE",
            b"chan1",
            b"chan2",
            b"chan1",
        ]));
        assert_eq!(
            replies(&mut sub, 3),
            "*3\r\n$9\r\nsubscribe\r\n$5\r\nchan1\r\n:1\r\n\
             *3\r\n$9\r\nsubscribe\r\n$5\r\nchan2\r\n:2\r\n\
             *3\r\n$9\r\nsubscribe\r\n$5\r\nchan1\r\n:2\r\n"
        );
        assert_eq!(publ.cmds(&["PUBLISH", "chan1", "hello"]), ":1\r\n");
        assert_eq!(publ.cmds(&["PUBLISH", "chan2", "world"]), ":1\r\n");
        assert_eq!(publ.cmds(&["PUBLISH", "chan3", "nobody"]), ":0\r\n");
        assert_eq!(
            replies(&mut sub, 2),
            "*3\r\n$7\r\nmessage\r\n$5\r\nchan1\r\n$5\r\nhello\r\n\
             *3\r\n$7\r\nmessage\r\n$5\r\nchan2\r\n$5\r\nworld\r\n"
        );
        // Binary-safe names and payloads.
        sub.cmd(&[b"SUBSCRIBE", b"b\x00\r\n"]);
        assert_eq!(
            publ.cmd(&[b"PUBLISH", b"b\x00\r\n", b"\xff\r\n"]),
            b":1\r\n"
        );
        assert_eq!(
            sub.read_reply(),
            b"*3\r\n$7\r\nmessage\r\n$4\r\nb\x00\r\n\r\n$3\r\n\xff\r\n\r\n"
        );
        assert_eq!(
            sub.cmds(&["UNSUBSCRIBE", "chan1"]),
            "*3\r\n$11\r\nunsubscribe\r\n$5\r\nchan1\r\n:2\r\n"
        );
        assert_eq!(publ.cmds(&["PUBLISH", "chan1", "hello"]), ":0\r\n");
        // Two subscribers of one channel both get the message.
        let mut sub2 = RawConn::connect(port);
        sub2.cmds(&["SUBSCRIBE", "chan2"]);
        assert_eq!(publ.cmds(&["PUBLISH", "chan2", "x"]), ":2\r\n");
        let m = "*3\r\n$7\r\nmessage\r\n$5\r\nchan2\r\n$1\r\nx\r\n";
        assert_eq!(s(sub.read_reply()), m);
        assert_eq!(s(sub2.read_reply()), m);
    });
}

#[test]
fn patterns_and_their_order() {
    on_both(|port| {
        let mut sub = RawConn::connect(port);
        let mut publ = RawConn::connect(port);
        sub.send(&common::encode(&[b"PSUBSCRIBE", b"foo.*", b"bar.*"]));
        assert_eq!(
            replies(&mut sub, 2),
            "*3\r\n$10\r\npsubscribe\r\n$5\r\nfoo.*\r\n:1\r\n\
             *3\r\n$10\r\npsubscribe\r\n$5\r\nbar.*\r\n:2\r\n"
        );
        assert_eq!(publ.cmds(&["PUBLISH", "foo.1", "hello"]), ":1\r\n");
        for miss in ["foo1", "barfoo.1", "qux.1"] {
            assert_eq!(publ.cmds(&["PUBLISH", miss, "hello"]), ":0\r\n");
        }
        assert_eq!(
            s(sub.read_reply()),
            "*4\r\n$8\r\npmessage\r\n$5\r\nfoo.*\r\n$5\r\nfoo.1\r\n$5\r\nhello\r\n"
        );
        // Channel and pattern counts are shared; the channel's message comes before the pattern's.
        assert_eq!(
            sub.cmds(&["SUBSCRIBE", "foo.bar"]),
            "*3\r\n$9\r\nsubscribe\r\n$7\r\nfoo.bar\r\n:3\r\n"
        );
        assert_eq!(publ.cmds(&["PUBLISH", "foo.bar", "m"]), ":2\r\n");
        assert_eq!(
            replies(&mut sub, 2),
            "*3\r\n$7\r\nmessage\r\n$7\r\nfoo.bar\r\n$1\r\nm\r\n\
             *4\r\n$8\r\npmessage\r\n$5\r\nfoo.*\r\n$7\r\nfoo.bar\r\n$1\r\nm\r\n"
        );
        assert_eq!(
            sub.cmds(&["PUNSUBSCRIBE", "foo.*"]),
            "*3\r\n$12\r\npunsubscribe\r\n$5\r\nfoo.*\r\n:2\r\n"
        );
        assert_eq!(publ.cmds(&["PUBLISH", "foo.1", "hello"]), ":0\r\n");
        assert_eq!(publ.cmds(&["PUBSUB", "NUMPAT"]), ":1\r\n");
        // The same pattern from two clients is one pattern for NUMPAT, two receivers for PUBLISH.
        let mut sub2 = RawConn::connect(port);
        sub2.cmds(&["PSUBSCRIBE", "bar.*"]);
        assert_eq!(publ.cmds(&["PUBSUB", "NUMPAT"]), ":1\r\n");
        assert_eq!(publ.cmds(&["PUBLISH", "bar.x", "y"]), ":2\r\n");
    });
}

#[test]
fn resp3_pushes() {
    on_both(|port| {
        let mut sub = RawConn::connect(port);
        let mut publ = RawConn::connect(port);
        sub.cmds(&["HELLO", "3"]);
        assert_eq!(
            sub.cmds(&["SUBSCRIBE", "ch1"]),
            ">3\r\n$9\r\nsubscribe\r\n$3\r\nch1\r\n:1\r\n"
        );
        assert_eq!(
            sub.cmds(&["PSUBSCRIBE", "c*"]),
            ">3\r\n$10\r\npsubscribe\r\n$2\r\nc*\r\n:2\r\n"
        );
        assert_eq!(
            sub.cmds(&["SSUBSCRIBE", "s1"]),
            ">3\r\n$10\r\nssubscribe\r\n$2\r\ns1\r\n:1\r\n"
        );
        assert_eq!(publ.cmds(&["PUBLISH", "ch1", "hello"]), ":2\r\n");
        assert_eq!(
            replies(&mut sub, 2),
            ">3\r\n$7\r\nmessage\r\n$3\r\nch1\r\n$5\r\nhello\r\n\
             >4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$3\r\nch1\r\n$5\r\nhello\r\n"
        );
        assert_eq!(publ.cmds(&["SPUBLISH", "s1", "x"]), ":1\r\n");
        assert_eq!(
            s(sub.read_reply()),
            ">3\r\n$8\r\nsmessage\r\n$2\r\ns1\r\n$1\r\nx\r\n"
        );
        // A RESP3 subscriber may run any command, and PING answers as usual.
        assert_eq!(sub.cmds(&["PING"]), "+PONG\r\n");
        assert_eq!(sub.cmds(&["GET", "nokey"]), "_\r\n");
        assert_eq!(
            sub.cmds(&["UNSUBSCRIBE"]),
            ">3\r\n$11\r\nunsubscribe\r\n$3\r\nch1\r\n:1\r\n"
        );
        assert_eq!(
            sub.cmds(&["UNSUBSCRIBE"]),
            ">3\r\n$11\r\nunsubscribe\r\n_\r\n:1\r\n"
        );
        assert_eq!(
            sub.cmds(&["PUNSUBSCRIBE"]),
            ">3\r\n$12\r\npunsubscribe\r\n$2\r\nc*\r\n:0\r\n"
        );
        assert_eq!(
            sub.cmds(&["SUNSUBSCRIBE"]),
            ">3\r\n$12\r\nsunsubscribe\r\n$2\r\ns1\r\n:0\r\n"
        );
    });
}

#[test]
fn subscribed_resp2_client_is_restricted() {
    on_both(|port| {
        let mut c = RawConn::connect(port);
        c.cmds(&["SUBSCRIBE", "somechannel"]);
        assert_eq!(c.cmds(&["PING"]), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
        assert_eq!(
            c.cmds(&["PING", "foo"]),
            "*2\r\n$4\r\npong\r\n$3\r\nfoo\r\n"
        );
        assert_eq!(
            c.cmds(&["GET", "x"]),
            format!("-ERR Can't execute 'get': {ONLY_SUB}\r\n")
        );
        assert_eq!(
            c.cmds(&["PUBSUB", "NUMSUB"]),
            format!("-ERR Can't execute 'pubsub|numsub': {ONLY_SUB}\r\n")
        );
        assert_eq!(
            c.cmds(&["PSUBSCRIBE", "p*"]),
            "*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:2\r\n"
        );
        c.cmds(&["UNSUBSCRIBE"]);
        assert_eq!(
            c.cmds(&["SET", "k", "v"]),
            format!("-ERR Can't execute 'set': {ONLY_SUB}\r\n")
        );
        c.cmds(&["PUNSUBSCRIBE"]);
        // Out of subscribed mode once nothing is left.
        assert_eq!(c.cmds(&["PING"]), "+PONG\r\n");
        assert_eq!(c.cmds(&["SET", "k", "v"]), "+OK\r\n");
        // Shard subscriptions restrict too, and RESET ends every subscription silently.
        c.cmds(&["SSUBSCRIBE", "s"]);
        assert!(c
            .cmds(&["GET", "k"])
            .starts_with("-ERR Can't execute 'get'"));
        assert_eq!(c.cmds(&["RESET"]), "+RESET\r\n");
        assert_eq!(c.cmds(&["GET", "k"]), "$1\r\nv\r\n");
        let mut other = RawConn::connect(port);
        assert_eq!(
            other.cmds(&["PUBSUB", "SHARDNUMSUB", "s"]),
            "*2\r\n$1\r\ns\r\n:0\r\n"
        );
        // QUIT is allowed while subscribed.
        c.cmds(&["SUBSCRIBE", "q"]);
        assert_eq!(c.cmds(&["QUIT"]), "+OK\r\n");
    });
}

#[test]
fn unsubscribe_all_and_nothing() {
    on_both(|port| {
        let mut c = RawConn::connect(port);
        let mut publ = RawConn::connect(port);
        // Nothing to leave: one reply with a null name, from a client that is not subscribed at all.
        assert_eq!(
            c.cmds(&["UNSUBSCRIBE"]),
            "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n"
        );
        assert_eq!(
            c.cmds(&["PUNSUBSCRIBE"]),
            "*3\r\n$12\r\npunsubscribe\r\n$-1\r\n:0\r\n"
        );
        assert_eq!(
            c.cmds(&["SUNSUBSCRIBE"]),
            "*3\r\n$12\r\nsunsubscribe\r\n$-1\r\n:0\r\n"
        );
        c.send(&common::encode(&[b"UNSUBSCRIBE", b"foo", b"bar"]));
        assert_eq!(
            replies(&mut c, 2),
            "*3\r\n$11\r\nunsubscribe\r\n$3\r\nfoo\r\n:0\r\n*3\r\n$11\r\nunsubscribe\r\n$3\r\nbar\r\n:0\r\n"
        );
        c.send(&common::encode(&[b"SUBSCRIBE", b"c1", b"c2", b"c3"]));
        replies(&mut c, 3);
        c.cmds(&["PSUBSCRIBE", "p*"]);
        // Every channel is left, each confirmed with the count left (patterns included), in any order.
        c.send(&common::encode(&[b"UNSUBSCRIBE"]));
        let mut names = Vec::new();
        for left in [3, 2, 1] {
            let r = s(c.read_reply());
            let tail = format!(":{left}\r\n");
            assert!(
                r.starts_with("*3\r\n$11\r\nunsubscribe\r\n$2\r\n") && r.ends_with(&tail),
                "{r:?}"
            );
            names.push(r[26..28].to_string());
        }
        names.sort();
        assert_eq!(names, ["c1", "c2", "c3"]);
        for ch in ["c1", "c2", "c3"] {
            assert_eq!(publ.cmds(&["PUBLISH", ch, "hello"]), ":0\r\n");
        }
        assert_eq!(publ.cmds(&["PUBLISH", "px", "hello"]), ":1\r\n");
        assert_eq!(
            s(c.read_reply()),
            "*4\r\n$8\r\npmessage\r\n$2\r\np*\r\n$2\r\npx\r\n$5\r\nhello\r\n"
        );
        assert_eq!(
            c.cmds(&["PUNSUBSCRIBE"]),
            "*3\r\n$12\r\npunsubscribe\r\n$2\r\np*\r\n:0\r\n"
        );
        assert_eq!(publ.cmds(&["PUBSUB", "NUMPAT"]), ":0\r\n");
    });
}

#[test]
fn shard_channels_count_apart() {
    on_both(|port| {
        let mut c = RawConn::connect(port);
        let mut publ = RawConn::connect(port);
        c.cmds(&["SUBSCRIBE", "ch1"]);
        assert_eq!(
            c.cmds(&["SSUBSCRIBE", "ch1"]),
            "*3\r\n$10\r\nssubscribe\r\n$3\r\nch1\r\n:1\r\n"
        );
        c.send(&common::encode(&[b"SSUBSCRIBE", b"s2", b"s2"]));
        assert_eq!(
            replies(&mut c, 2),
            "*3\r\n$10\r\nssubscribe\r\n$2\r\ns2\r\n:2\r\n*3\r\n$10\r\nssubscribe\r\n$2\r\ns2\r\n:2\r\n"
        );
        // SPUBLISH reaches shard subscribers only, PUBLISH the others only.
        assert_eq!(publ.cmds(&["SPUBLISH", "ch1", "a"]), ":1\r\n");
        assert_eq!(
            s(c.read_reply()),
            "*3\r\n$8\r\nsmessage\r\n$3\r\nch1\r\n$1\r\na\r\n"
        );
        assert_eq!(publ.cmds(&["PUBLISH", "ch1", "b"]), ":1\r\n");
        assert_eq!(
            s(c.read_reply()),
            "*3\r\n$7\r\nmessage\r\n$3\r\nch1\r\n$1\r\nb\r\n"
        );
        assert_eq!(
            c.cmds(&["SUNSUBSCRIBE", "s2"]),
            "*3\r\n$12\r\nsunsubscribe\r\n$2\r\ns2\r\n:1\r\n"
        );
        assert_eq!(
            c.cmds(&["UNSUBSCRIBE", "ch1"]),
            "*3\r\n$11\r\nunsubscribe\r\n$3\r\nch1\r\n:0\r\n"
        );
        // Still in subscribed mode through the shard channel.
        assert!(c.cmds(&["GET", "k"]).starts_with("-ERR Can't execute"));
    });
}

#[test]
fn pubsub_introspection() {
    on_both(|port| {
        let mut a = RawConn::connect(port);
        let mut b = RawConn::connect(port);
        let mut q = RawConn::connect(port);
        a.send(&common::encode(&[
            b"SUBSCRIBE",
            b"news.it",
            b"news.art",
            b"x",
        ]));
        replies(&mut a, 3);
        b.cmds(&["SUBSCRIBE", "news.it"]);
        b.cmds(&["PSUBSCRIBE", "news.*"]);
        a.cmds(&["SSUBSCRIBE", "sh1"]);
        let sorted = |r: String| {
            let mut lines: Vec<String> = r
                .split("\r\n")
                .skip(1)
                .collect::<Vec<_>>()
                .chunks(2)
                .filter(|c| c.len() == 2)
                .map(|c| c[1].to_string())
                .collect();
            lines.sort();
            (
                r.split("\r\n").next().unwrap_or_default().to_string(),
                lines,
            )
        };
        assert_eq!(
            sorted(q.cmds(&["PUBSUB", "CHANNELS"])),
            (
                "*3".to_string(),
                vec!["news.art".into(), "news.it".into(), "x".into()]
            )
        );
        assert_eq!(
            sorted(q.cmds(&["pubsub", "channels", "news.*"])),
            ("*2".to_string(), vec!["news.art".into(), "news.it".into()])
        );
        assert_eq!(q.cmds(&["PUBSUB", "CHANNELS", "zz*"]), "*0\r\n");
        assert_eq!(
            q.cmds(&["PUBSUB", "NUMSUB", "news.it", "x", "none"]),
            "*6\r\n$7\r\nnews.it\r\n:2\r\n$1\r\nx\r\n:1\r\n$4\r\nnone\r\n:0\r\n"
        );
        assert_eq!(q.cmds(&["PUBSUB", "NUMSUB"]), "*0\r\n");
        assert_eq!(q.cmds(&["PUBSUB", "NUMPAT"]), ":1\r\n");
        assert_eq!(q.cmds(&["PUBSUB", "SHARDCHANNELS"]), "*1\r\n$3\r\nsh1\r\n");
        assert_eq!(q.cmds(&["PUBSUB", "SHARDCHANNELS", "x*"]), "*0\r\n");
        assert_eq!(
            q.cmds(&["PUBSUB", "SHARDNUMSUB", "sh1", "news.it"]),
            "*4\r\n$3\r\nsh1\r\n:1\r\n$7\r\nnews.it\r\n:0\r\n"
        );
        let help = q.cmds(&["PUBSUB", "HELP"]);
        assert!(help.starts_with(
            "*14\r\n+PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+CHANNELS [<pattern>]\r\n"
        ));
        assert!(help.ends_with("+HELP\r\n+    Prints this help.\r\n"));
        for (args, reply) in [
            (
                &["PUBSUB", "FOO"][..],
                "-ERR unknown subcommand 'FOO'. Try PUBSUB HELP.\r\n",
            ),
            (
                &["PUBSUB", "NUMPAT", "x"],
                "-ERR wrong number of arguments for 'pubsub|numpat' command\r\n",
            ),
            (
                &["pubsub", "Channels", "a", "b"],
                "-ERR unknown subcommand or wrong number of arguments for 'Channels'. Try PUBSUB HELP.\r\n",
            ),
            (
                &["PUBSUB", "SHARDCHANNELS", "a", "b"],
                "-ERR unknown subcommand or wrong number of arguments for 'SHARDCHANNELS'. Try PUBSUB HELP.\r\n",
            ),
            (
                &["PUBSUB"],
                "-ERR wrong number of arguments for 'pubsub' command\r\n",
            ),
            (
                &["PUBSUB", "HELP", "x"],
                "-ERR wrong number of arguments for 'pubsub|help' command\r\n",
            ),
            (
                &["SUBSCRIBE"],
                "-ERR wrong number of arguments for 'subscribe' command\r\n",
            ),
            (
                &["PUBLISH", "x"],
                "-ERR wrong number of arguments for 'publish' command\r\n",
            ),
        ] {
            assert_eq!(q.cmds(args), reply, "{args:?}");
        }
        // A closed connection leaves every list it was on.
        drop(a);
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let r = q.cmds(&["PUBSUB", "NUMSUB", "news.it", "x"]);
            if r == "*4\r\n$7\r\nnews.it\r\n:1\r\n$1\r\nx\r\n:0\r\n" {
                break;
            }
            assert!(Instant::now() < deadline, "{r:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(q.cmds(&["PUBSUB", "SHARDCHANNELS"]), "*0\r\n");
        assert_eq!(q.cmds(&["PUBLISH", "news.it", "m"]), ":2\r\n");
    });
}

#[test]
fn transactions_deliver_inline() {
    on_both(|port| {
        let mut c = RawConn::connect(port);
        let mut other = RawConn::connect(port);
        other.cmds(&["HELLO", "3"]);
        other.cmds(&["SUBSCRIBE", "zz"]);
        assert_eq!(c.cmds(&["MULTI"]), "+OK\r\n");
        for cmd in [
            &["SUBSCRIBE", "zz"][..],
            &["PUBLISH", "zz", "1"],
            &["GET", "zz"],
            &["SSUBSCRIBE", "zz"],
        ] {
            assert_eq!(c.cmds(cmd), "+QUEUED\r\n");
        }
        // Inside EXEC a message to oneself lands in place, and the subscription restricts nothing until after.
        // (The message is one element more than the array announces, as in Redis 7.0: two reads.)
        c.send(&common::encode(&[b"EXEC"]));
        assert_eq!(
            replies(&mut c, 2),
            "*4\r\n*3\r\n$9\r\nsubscribe\r\n$2\r\nzz\r\n:1\r\n\
             *3\r\n$7\r\nmessage\r\n$2\r\nzz\r\n$1\r\n1\r\n:2\r\n$-1\r\n\
             -ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client\r\n"
        );
        assert_eq!(
            s(other.read_reply()),
            ">3\r\n$7\r\nmessage\r\n$2\r\nzz\r\n$1\r\n1\r\n"
        );
        assert!(c
            .cmds(&["GET", "zz"])
            .starts_with("-ERR Can't execute 'get'"));
        // Publishing to oneself outside a transaction: the message comes before the count.
        other.send(&common::encode(&[b"PUBLISH", b"zz", b"me"]));
        assert_eq!(
            replies(&mut other, 2),
            ">3\r\n$7\r\nmessage\r\n$2\r\nzz\r\n$2\r\nme\r\n:2\r\n"
        );
        assert_eq!(
            s(c.read_reply()),
            "*3\r\n$7\r\nmessage\r\n$2\r\nzz\r\n$2\r\nme\r\n"
        );
    });
}

#[test]
fn subscriber_that_never_reads_is_dropped() {
    on_both(|port| {
        RawConn::connect(port).cmds(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 1mb 0 0",
        ]);
        let mut sub = RawConn::connect(port);
        let mut publ = RawConn::connect(port);
        let mut watcher = RawConn::connect(port);
        watcher.cmds(&["SUBSCRIBE", "big"]);
        sub.cmds(&["SUBSCRIBE", "big"]);
        let msg = vec![b'x'; 100_000];
        let start = Instant::now();
        // Enough to fill the socket buffers and pass 1 MB of unsent output many times over; the publisher is
        // answered at once every time, whatever the subscriber does.
        let mut receivers = Vec::new();
        for _ in 0..400 {
            let r = publ.cmd(&[b"PUBLISH", b"big", &msg]);
            receivers.push(String::from_utf8_lossy(&r).into_owned());
            // Keep the reading subscriber drained so it is never at risk.
            let m = watcher.read_reply();
            assert_eq!(m.len(), 100_000 + 37);
        }
        assert!(start.elapsed() < Duration::from_secs(30));
        assert_eq!(receivers[0], ":2\r\n");
        assert_eq!(receivers.last().map(String::as_str), Some(":1\r\n"));
        // The dropped subscriber reads what was sent before the drop, then EOF.
        sub.stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut all = Vec::new();
        let _ = sub.stream.read_to_end(&mut all);
        assert!(all.len() < 400 * 100_000, "got {} bytes", all.len());
        assert_eq!(
            publ.cmds(&["PUBSUB", "NUMSUB", "big"]),
            "*2\r\n$3\r\nbig\r\n:1\r\n"
        );
    });
}

/// The same script against ferrokv and redis-server, two connections each, compared byte for byte.
#[test]
fn scripted_against_real_redis() {
    let Some(redis) = common::start_redis() else {
        return;
    };
    let ours = TestServer::start(&[]);
    let script: &[(usize, &[&str])] = &[
        (0, &["SUBSCRIBE", "a", "b"]),
        // One matching pattern per client and message: Redis orders patterns by its hash table.
        (1, &["PSUBSCRIBE", "a*", "b"]),
        (1, &["SUBSCRIBE", "a"]),
        (2, &["PUBLISH", "a", "m1"]),
        (2, &["PUBLISH", "b", "m2"]),
        (2, &["PUBSUB", "NUMSUB", "a", "b", "c"]),
        (2, &["PUBSUB", "NUMPAT"]),
        (0, &["PING"]),
        (0, &["PING", "x"]),
        (0, &["SET", "k", "v"]),
        (0, &["UNSUBSCRIBE", "a", "zz"]),
        (1, &["PUNSUBSCRIBE", "a*"]),
        (2, &["PUBLISH", "a", "m3"]),
        (1, &["UNSUBSCRIBE", "a"]),
        (1, &["PUNSUBSCRIBE"]),
        (1, &["PUNSUBSCRIBE"]),
        (1, &["SSUBSCRIBE", "s"]),
        (2, &["SPUBLISH", "s", "m4"]),
        (2, &["PUBSUB", "SHARDNUMSUB", "s"]),
        (1, &["SUNSUBSCRIBE"]),
        (1, &["SUBSCRIBE", "r3"]),
        (2, &["PUBLISH", "r3", "m5"]),
        (1, &["UNSUBSCRIBE"]),
        (1, &["UNSUBSCRIBE"]),
        (0, &["UNSUBSCRIBE"]),
        (0, &["SET", "k", "v"]),
        (2, &["PUBSUB", "CHANNELS"]),
        (2, &["PUBSUB", "HELP"]),
        (2, &["PUBSUB", "NUMSUB", "x", "y"]),
    ];
    let run = |port: u16| -> Vec<String> {
        let mut conns: Vec<RawConn> = (0..3).map(|_| RawConn::connect(port)).collect();
        let mut log = Vec::new();
        for (who, args) in script {
            let a: Vec<&[u8]> = args.iter().map(|x| x.as_bytes()).collect();
            conns[*who].send(&common::encode(&a));
            // Every command here answers on its own connection; messages to the others go out in the
            // same event-loop turn. So wait for the answer (however loaded the machine), give the other
            // sockets a moment, then read everything, in connection order.
            let mut first = Vec::new();
            let mut buf = [0u8; 65536];
            conns[*who]
                .stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            if let Ok(n) = conns[*who].stream.read(&mut buf) {
                first.extend_from_slice(&buf[..n]);
            }
            std::thread::sleep(Duration::from_millis(20));
            for (i, c) in conns.iter_mut().enumerate() {
                c.stream.set_nonblocking(true).unwrap();
                let mut got = if i == *who {
                    std::mem::take(&mut first)
                } else {
                    Vec::new()
                };
                while let Ok(n) = c.stream.read(&mut buf) {
                    if n == 0 {
                        break;
                    }
                    got.extend_from_slice(&buf[..n]);
                }
                c.stream.set_nonblocking(false).unwrap();
                if !got.is_empty() {
                    log.push(format!("{args:?} -> conn{i}: {}", s(got)));
                }
            }
        }
        log
    };
    let theirs = run(redis.port);
    let mine = run(ours.port);
    assert_eq!(mine, theirs);
}
