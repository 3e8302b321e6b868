//! Behaviour the Redis 7.0 test suite checks in its server-core and introspection units (CLIENT REPLY,
//! CONFIG SET of run-time settings, COMMAND GETKEYS...), byte for byte as Redis replies.

mod common;

use common::{encode, TestServer};

#[test]
fn client_reply_off_skip_on() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let mut req = Vec::new();
    for cmd in [
        &["CLIENT", "REPLY", "OFF"][..],
        &["PING", "a"],
        &["SET"],
        &["CLIENT", "REPLY", "ON"],
        &["CLIENT", "REPLY", "SKIP"],
        &["PING", "b"],
        &["PING", "c"],
        &["CLIENT", "REPLY", "SKIP"],
        &["CLIENT", "REPLY", "ON"],
        &["CLIENT", "REPLY", "MAYBE"],
    ] {
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        req.extend(encode(&args));
    }
    c.send(&req);
    assert_eq!(c.read_reply(), b"+OK\r\n");
    assert_eq!(c.read_reply(), b"$1\r\nc\r\n");
    assert_eq!(c.read_reply(), b"+OK\r\n");
    assert_eq!(c.read_reply(), b"-ERR syntax error\r\n");
    // Subscription confirmations are pushes: sent even with replies off. RESET turns replies back on.
    c.send(&encode(&[b"CLIENT", b"REPLY", b"OFF"]));
    c.send(&encode(&[b"SUBSCRIBE", b"ch"]));
    assert_eq!(c.read_reply(), b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n");
    assert_eq!(c.cmds(&["RESET"]), "+RESET\r\n");
    assert_eq!(c.cmds(&["PING"]), "+PONG\r\n");
}
