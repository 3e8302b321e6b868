//! Connection commands over raw RESP: PING, ECHO, QUIT, SELECT, AUTH, HELLO, RESET and CLIENT, with the exact
//! bytes Redis 7.0 sends, RESP3 after HELLO 3, `--requirepass` flows, and CLIENT KILL closing real sockets.

mod common;

use std::time::{Duration, Instant};

use common::{RawConn, TestServer};

/// The HELLO reply for a connection with `id` speaking `proto`.
fn hello_reply(proto: u8, id: &str) -> String {
    let head = if proto == 3 { "%7" } else { "*14" };
    format!(
        "{head}\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:{proto}\r\n\
         $2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n\
         $7\r\nmodules\r\n*0\r\n"
    )
}

/// CLIENT ID of the connection, as text.
fn client_id(c: &mut RawConn) -> String {
    let r = c.cmds(&["CLIENT", "ID"]);
    r.trim_start_matches(':').trim_end().to_string()
}

/// The payload of a bulk (`$n`) or verbatim (`=n` + `txt:`) reply.
fn text_of(reply: &str) -> &str {
    let (_, body) = reply.split_once("\r\n").expect("header");
    let body = body.strip_suffix("\r\n").expect("trailer");
    body.strip_prefix("txt:").unwrap_or(body)
}

/// The value of `field=` in one CLIENT LIST line.
fn field<'a>(line: &'a str, name: &str) -> &'a str {
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(name).and_then(|r| r.strip_prefix('=')))
        .unwrap_or_else(|| panic!("no {name} in {line:?}"))
}

/// Reads until the server closes the socket, failing if that takes more than a few seconds.
fn expect_closed(c: &mut RawConn, expected: &str) {
    c.stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let start = Instant::now();
    let got = c.read_to_close();
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "connection was not closed"
    );
    assert_eq!(String::from_utf8_lossy(&got), expected);
}

#[test]
fn ping_and_echo() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmds(&["PING"]), "+PONG\r\n");
    assert_eq!(c.cmds(&["ping", "hi there"]), "$8\r\nhi there\r\n");
    assert_eq!(
        c.cmds(&["PING", "a", "b"]),
        "-ERR wrong number of arguments for 'ping' command\r\n"
    );
    assert_eq!(c.cmds(&["ECHO", ""]), "$0\r\n\r\n");
    assert_eq!(c.cmd(&[b"ECHO", b"a\r\n\0b"]), b"$5\r\na\r\n\0b\r\n");
    assert_eq!(
        c.cmds(&["ECHO"]),
        "-ERR wrong number of arguments for 'echo' command\r\n"
    );
    assert_eq!(
        c.cmds(&["ECHO", "a", "b"]),
        "-ERR wrong number of arguments for 'echo' command\r\n"
    );
    c.send(b"PING\r\nECHO hello\r\n");
    assert_eq!(c.read_reply(), b"+PONG\r\n");
    assert_eq!(c.read_reply(), b"$5\r\nhello\r\n");
}

#[test]
fn quit_replies_then_closes() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    // Whatever follows QUIT in the same packet is never run.
    c.send(b"*1\r\n$4\r\nQUIT\r\n*1\r\n$4\r\nPING\r\n");
    expect_closed(&mut c, "+OK\r\n");
    let mut c = s.raw();
    c.send(b"quit extra args\r\n");
    expect_closed(&mut c, "+OK\r\n");
}

#[test]
fn select_errors_and_isolation() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    for (arg, reply) in [
        ("16", "-ERR DB index is out of range\r\n"),
        ("-1", "-ERR DB index is out of range\r\n"),
        ("x", "-ERR value is not an integer or out of range\r\n"),
        ("1.5", "-ERR value is not an integer or out of range\r\n"),
        (" 1", "-ERR value is not an integer or out of range\r\n"),
        (
            "2147483648",
            "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n",
        ),
        ("15", "+OK\r\n"),
    ] {
        assert_eq!(c.cmds(&["SELECT", arg]), reply, "SELECT {arg:?}");
    }
    assert_eq!(c.cmds(&["SELECT", "1"]), "+OK\r\n");
    assert_eq!(c.cmds(&["SET", "k", "one"]), "+OK\r\n");
    assert_eq!(c.cmds(&["SELECT", "0"]), "+OK\r\n");
    assert_eq!(c.cmds(&["GET", "k"]), "$-1\r\n");
    assert_eq!(
        c.cmds(&["SELECT"]),
        "-ERR wrong number of arguments for 'select' command\r\n"
    );
}

#[test]
fn hello_switches_protocol() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let id = client_id(&mut c);
    assert_eq!(c.cmds(&["HELLO"]), hello_reply(2, &id));
    assert_eq!(c.cmds(&["CLIENT", "GETNAME"]), "$-1\r\n");
    assert_eq!(c.cmds(&["HELLO", "3"]), hello_reply(3, &id));
    assert_eq!(c.cmds(&["CLIENT", "GETNAME"]), "_\r\n");
    // No version keeps the current protocol.
    assert_eq!(c.cmds(&["HELLO"]), hello_reply(3, &id));
    let info = c.cmds(&["CLIENT", "INFO"]);
    assert!(info.starts_with('='), "{info:?}");
    assert!(info[info.find("\r\n").unwrap()..].starts_with("\r\ntxt:id="));
    assert_eq!(field(text_of(&info).trim_end(), "resp"), "3");
    assert_eq!(c.cmds(&["HELLO", "2"]), hello_reply(2, &id));
    assert_eq!(c.cmds(&["CLIENT", "GETNAME"]), "$-1\r\n");
    assert!(c.cmds(&["CLIENT", "INFO"]).starts_with("$"));
}

#[test]
fn hello_errors() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    for (args, reply) in [
        (
            &["HELLO", "4"][..],
            "-NOPROTO unsupported protocol version\r\n",
        ),
        (&["HELLO", "1"], "-NOPROTO unsupported protocol version\r\n"),
        (
            &["HELLO", "abc"],
            "-ERR Protocol version is not an integer or out of range\r\n",
        ),
        (
            &["HELLO", "9", "BAD"],
            "-NOPROTO unsupported protocol version\r\n",
        ),
        (
            &["HELLO", "2", "SETNAME"],
            "-ERR Syntax error in HELLO option 'SETNAME'\r\n",
        ),
        (
            &["HELLO", "2", "AUTH", "a"],
            "-ERR Syntax error in HELLO option 'AUTH'\r\n",
        ),
        (
            &["HELLO", "2", "foo"],
            "-ERR Syntax error in HELLO option 'foo'\r\n",
        ),
        (
            &["HELLO", "3", "SETNAME", "a b"],
            "-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
        ),
        (
            &["HELLO", "3", "AUTH", "nobody", "x"],
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n",
        ),
    ] {
        assert_eq!(c.cmds(args), reply, "{args:?}");
    }
    // None of the failures switched the protocol.
    assert_eq!(c.cmds(&["CLIENT", "GETNAME"]), "$-1\r\n");
    // Without a password the default user takes any; options apply in order, as in Redis 7.0.
    let id = client_id(&mut c);
    assert_eq!(
        c.cmds(&["HELLO", "3", "AUTH", "default", "x", "setname", "n1"]),
        hello_reply(3, &id)
    );
    assert_eq!(c.cmds(&["CLIENT", "GETNAME"]), "$2\r\nn1\r\n");
    assert_eq!(
        c.cmds(&["HELLO", "2", "SETNAME", "n2", "BAD"]),
        "-ERR Syntax error in HELLO option 'BAD'\r\n"
    );
    assert_eq!(c.cmds(&["CLIENT", "GETNAME"]), "$2\r\nn2\r\n");
}

#[test]
fn auth_without_password() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmds(&["AUTH", "x"]),
        "-ERR AUTH <password> called without any password configured for the default user. \
         Are you sure your configuration is correct?\r\n"
    );
    assert_eq!(c.cmds(&["AUTH", "default", "anything"]), "+OK\r\n");
    assert_eq!(
        c.cmds(&["AUTH", "someone", "x"]),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    assert_eq!(c.cmds(&["AUTH", "a", "b", "c"]), "-ERR syntax error\r\n");
    assert_eq!(
        c.cmds(&["AUTH"]),
        "-ERR wrong number of arguments for 'auth' command\r\n"
    );
}

#[test]
fn requirepass_flow() {
    let s = TestServer::start(&["--requirepass", "pw"]);
    let mut c = s.raw();
    let noauth = "-NOAUTH Authentication required.\r\n";
    assert_eq!(c.cmds(&["GET", "k"]), noauth);
    assert_eq!(c.cmds(&["PING"]), noauth);
    assert_eq!(c.cmds(&["CLIENT", "ID"]), noauth);
    assert!(c.cmds(&["NOSUCHCMD"]).starts_with("-ERR unknown command"));
    let hello_noauth = "-NOAUTH HELLO must be called with the client already authenticated, otherwise \
                        the HELLO AUTH <user> <pass> option can be used to authenticate the client and \
                        select the RESP protocol version at the same time\r\n";
    assert_eq!(c.cmds(&["HELLO"]), hello_noauth);
    assert_eq!(c.cmds(&["HELLO", "3"]), hello_noauth);
    let wrongpass = "-WRONGPASS invalid username-password pair or user is disabled.\r\n";
    assert_eq!(c.cmds(&["AUTH", "bad"]), wrongpass);
    assert_eq!(c.cmds(&["AUTH", "default", "bad"]), wrongpass);
    assert_eq!(c.cmds(&["AUTH", "other", "pw"]), wrongpass);
    assert_eq!(c.cmds(&["HELLO", "3", "AUTH", "default", "bad"]), wrongpass);
    assert_eq!(c.cmds(&["PING"]), noauth);
    assert_eq!(c.cmds(&["AUTH", "pw"]), "+OK\r\n");
    assert_eq!(c.cmds(&["PING"]), "+PONG\r\n");
    // A failed AUTH does not undo an earlier success.
    assert_eq!(c.cmds(&["AUTH", "bad"]), wrongpass);
    assert_eq!(c.cmds(&["PING"]), "+PONG\r\n");
    // RESET drops the authentication.
    assert_eq!(c.cmds(&["RESET"]), "+RESET\r\n");
    assert_eq!(c.cmds(&["PING"]), noauth);
    // HELLO authenticates, names and switches protocol in one go.
    let mut d = s.raw();
    assert_eq!(
        d.cmds(&["HELLO", "3", "AUTH", "default", "pw", "SETNAME", "app"]),
        hello_reply(3, "2")
    );
    assert_eq!(d.cmds(&["CLIENT", "GETNAME"]), "$3\r\napp\r\n");
    assert_eq!(d.cmds(&["QUIT"]), "+OK\r\n");
    // QUIT is allowed before authenticating.
    let mut e = s.raw();
    e.send(b"QUIT\r\n");
    expect_closed(&mut e, "+OK\r\n");
}

#[test]
fn unauthenticated_protocol_limits() {
    let s = TestServer::start(&["--requirepass", "pw"]);
    let mut c = s.raw();
    c.send(b"*11\r\n");
    expect_closed(
        &mut c,
        "-ERR Protocol error: unauthenticated multibulk length\r\n",
    );
    let mut c = s.raw();
    c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$16385\r\n");
    expect_closed(
        &mut c,
        "-ERR Protocol error: unauthenticated bulk length\r\n",
    );
    // Ten arguments and 16 KB bulks are still fine, and the limits go once authenticated.
    let mut c = s.raw();
    let big = vec![b'v'; 16384];
    let mut args: Vec<&[u8]> = vec![b"ECHO"];
    args.push(&big);
    assert_eq!(
        c.cmd(&args),
        b"-NOAUTH Authentication required.\r\n".to_vec()
    );
    let ten: Vec<&[u8]> = vec![b"PING"; 10];
    assert_eq!(
        c.cmd(&ten),
        b"-NOAUTH Authentication required.\r\n".to_vec()
    );
    assert_eq!(c.cmds(&["AUTH", "pw"]), "+OK\r\n");
    // Eleven arguments now reach the command (which rejects them itself).
    let eleven: Vec<&[u8]> = vec![b"PING"; 11];
    assert_eq!(
        c.cmd(&eleven),
        b"-ERR wrong number of arguments for 'ping' command\r\n".to_vec()
    );
    // RESET brings the limits back; AUTH in the same packet lifts them for what follows.
    assert_eq!(c.cmds(&["RESET"]), "+RESET\r\n");
    let mut pipeline = common::encode(&[b"AUTH", b"pw"]);
    pipeline.extend_from_slice(&common::encode(&eleven));
    c.send(&pipeline);
    assert_eq!(c.read_reply(), b"+OK\r\n");
    assert_eq!(
        c.read_reply(),
        b"-ERR wrong number of arguments for 'ping' command\r\n"
    );
    let huge = vec![b'x'; 20000];
    let mut want = b"$20000\r\n".to_vec();
    want.extend_from_slice(&huge);
    want.extend_from_slice(b"\r\n");
    assert_eq!(c.cmd(&[b"ECHO", &huge]), want);
    assert_eq!(c.cmds(&["RESET"]), "+RESET\r\n");
    c.send(&common::encode(&eleven));
    expect_closed(
        &mut c,
        "-ERR Protocol error: unauthenticated multibulk length\r\n",
    );
}

#[test]
fn reset_restores_defaults() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmds(&["SELECT", "5"]), "+OK\r\n");
    assert_eq!(c.cmds(&["CLIENT", "SETNAME", "me"]), "+OK\r\n");
    assert_eq!(c.cmds(&["CLIENT", "NO-EVICT", "on"]), "+OK\r\n");
    let id = client_id(&mut c);
    assert_eq!(c.cmds(&["HELLO", "3"]), hello_reply(3, &id));
    let info = c.cmds(&["CLIENT", "INFO"]);
    let line = text_of(&info).trim_end();
    assert_eq!(field(line, "db"), "5");
    assert_eq!(field(line, "name"), "me");
    assert_eq!(field(line, "flags"), "e");
    assert_eq!(c.cmds(&["RESET"]), "+RESET\r\n");
    assert_eq!(c.cmds(&["CLIENT", "GETNAME"]), "$-1\r\n");
    let info = c.cmds(&["CLIENT", "INFO"]);
    assert!(info.starts_with('$'), "RESP2 after RESET: {info:?}");
    let line = text_of(&info).trim_end();
    assert_eq!(field(line, "db"), "0");
    assert_eq!(field(line, "flags"), "N");
    assert_eq!(field(line, "resp"), "2");
    // The connection id survives.
    assert_eq!(client_id(&mut c), id);
    assert_eq!(
        c.cmds(&["RESET", "x"]),
        "-ERR wrong number of arguments for 'reset' command\r\n"
    );
}

#[test]
fn client_setname_getname_id() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let mut d = s.raw();
    let (a, b) = (client_id(&mut c), client_id(&mut d));
    assert!(b.parse::<u64>().unwrap() > a.parse::<u64>().unwrap());
    assert_eq!(c.cmds(&["CLIENT", "GETNAME"]), "$-1\r\n");
    let bad = "-ERR Client names cannot contain spaces, newlines or special characters.\r\n";
    for name in ["a b", "a\nb", "é", "tab\t"] {
        assert_eq!(c.cmds(&["CLIENT", "SETNAME", name]), bad, "{name:?}");
    }
    assert_eq!(c.cmds(&["CLIENT", "SETNAME", "my-app:1!~"]), "+OK\r\n");
    assert_eq!(c.cmds(&["client", "getname"]), "$10\r\nmy-app:1!~\r\n");
    assert_eq!(c.cmds(&["CLIENT", "SETNAME", ""]), "+OK\r\n");
    assert_eq!(c.cmds(&["CLIENT", "GETNAME"]), "$-1\r\n");
    for (args, reply) in [
        (
            &["CLIENT"][..],
            "-ERR wrong number of arguments for 'client' command\r\n",
        ),
        (
            &["CLIENT", "SETNAME"],
            "-ERR wrong number of arguments for 'client|setname' command\r\n",
        ),
        (
            &["CLIENT", "GETNAME", "x"],
            "-ERR wrong number of arguments for 'client|getname' command\r\n",
        ),
        (
            &["CLIENT", "ID", "x"],
            "-ERR wrong number of arguments for 'client|id' command\r\n",
        ),
        (
            &["CLIENT", "foo"],
            "-ERR unknown subcommand 'foo'. Try CLIENT HELP.\r\n",
        ),
        (&["CLIENT", "NO-EVICT", "maybe"], "-ERR syntax error\r\n"),
        (&["CLIENT", "NO-EVICT", "OFF"], "+OK\r\n"),
        (&["CLIENT", "GETREDIR"], ":-1\r\n"),
        (
            &["CLIENT", "TRACKINGINFO"],
            "*6\r\n$5\r\nflags\r\n*1\r\n$3\r\noff\r\n$8\r\nredirect\r\n:-1\r\n$8\r\nprefixes\r\n*0\r\n",
        ),
    ] {
        assert_eq!(c.cmds(args), reply, "{args:?}");
    }
}

#[test]
fn client_help_lists_every_line() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let help = c.cmds(&["CLIENT", "HELP"]);
    assert!(help.starts_with(
        "*48\r\n+CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+CACHING (YES|NO)\r\n"
    ));
    assert!(help.ends_with("+HELP\r\n+    Prints this help.\r\n"));
    assert_eq!(help.matches("\r\n+").count(), 48);
}

#[test]
fn client_list_format() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let mut d = s.raw();
    assert_eq!(d.cmds(&["CLIENT", "SETNAME", "other"]), "+OK\r\n");
    assert_eq!(d.cmds(&["SELECT", "7"]), "+OK\r\n");
    let list = c.cmds(&["CLIENT", "LIST"]);
    assert!(list.starts_with('$'));
    let text = text_of(&list);
    assert!(text.ends_with('\n'));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text:?}");
    let keys: Vec<&str> = lines[0]
        .split(' ')
        .map(|kv| kv.split('=').next().unwrap())
        .collect();
    assert_eq!(
        keys.join(" "),
        "id addr laddr fd name age idle flags db sub psub ssub multi qbuf qbuf-free argv-mem \
         multi-mem rbs rbp obl oll omem tot-mem events cmd user redir resp"
    );
    let me = lines[0];
    assert_eq!(field(me, "name"), "");
    assert_eq!(field(me, "laddr"), format!("127.0.0.1:{}", s.port));
    assert!(field(me, "addr").starts_with("127.0.0.1:"));
    assert_eq!(field(me, "flags"), "N");
    assert_eq!(field(me, "cmd"), "client|list");
    // The request as it sits in the query buffer: *2 $6 CLIENT $4 LIST.
    assert_eq!(field(me, "qbuf"), "26");
    assert_eq!(field(me, "argv-mem"), "10");
    assert_eq!(field(me, "user"), "default");
    assert_eq!(field(me, "redir"), "-1");
    assert_eq!(field(me, "resp"), "2");
    assert_eq!(field(me, "events"), "r");
    let other = lines[1];
    assert_eq!(field(other, "name"), "other");
    assert_eq!(field(other, "db"), "7");
    assert_eq!(field(other, "cmd"), "select");
    assert_eq!(field(other, "qbuf"), "0");
    // A fresh connection has run nothing yet.
    let mut e = s.raw();
    let eid = client_id(&mut e);
    let _f = s.raw();
    // The server may not have accepted the silent connection yet: wait for it, boundedly.
    let mut list = String::new();
    for _ in 0..200 {
        list = c.cmds(&["CLIENT", "LIST"]);
        if text_of(&list).lines().count() == 4 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let lines: Vec<&str> = text_of(&list).lines().collect();
    assert_eq!(lines.len(), 4);
    assert_eq!(field(lines[2], "id"), eid);
    assert_eq!(field(lines[2], "cmd"), "client|id");
    assert_eq!(field(lines[3], "cmd"), "NULL");
    // Rejected commands count as the last one; unknown ones clear it (cmd=NULL), as in Redis.
    assert_eq!(
        e.cmds(&["GET"]),
        "-ERR wrong number of arguments for 'get' command\r\n"
    );
    let list = c.cmds(&["CLIENT", "LIST", "ID", &eid]);
    assert_eq!(field(text_of(&list).trim_end(), "cmd"), "get");
    assert!(e
        .cmds(&["NOSUCH"])
        .starts_with("-ERR unknown command 'NOSUCH'"));
    let list = c.cmds(&["CLIENT", "LIST", "ID", &eid]);
    assert_eq!(field(text_of(&list).trim_end(), "cmd"), "NULL");
    assert!(e
        .cmds(&["CLIENT", "NOSUCH"])
        .starts_with("-ERR unknown subcommand"));
    let list = c.cmds(&["CLIENT", "LIST", "ID", &eid]);
    assert_eq!(field(text_of(&list).trim_end(), "cmd"), "NULL");
    // CLIENT INFO is this connection's line.
    let info = c.cmds(&["CLIENT", "INFO"]);
    let line = text_of(&info);
    assert!(line.ends_with('\n') && line.lines().count() == 1);
    assert_eq!(field(line.trim_end(), "cmd"), "client|info");
    assert_eq!(
        c.cmds(&["CLIENT", "INFO", "x"]),
        "-ERR wrong number of arguments for 'client|info' command\r\n"
    );
}

#[test]
fn client_list_filters() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let mut d = s.raw();
    let (cid, did) = (client_id(&mut c), client_id(&mut d));
    let list = c.cmds(&["CLIENT", "LIST", "TYPE", "NORMAL"]);
    assert_eq!(text_of(&list).lines().count(), 2);
    for t in ["pubsub", "master", "replica", "slave"] {
        assert_eq!(c.cmds(&["CLIENT", "LIST", "TYPE", t]), "$0\r\n\r\n", "{t}");
    }
    // IDs come back in the order asked, unknown ones skipped.
    let list = c.cmds(&["CLIENT", "LIST", "ID", &did, "999", &cid]);
    let ids: Vec<&str> = text_of(&list).lines().map(|l| field(l, "id")).collect();
    assert_eq!(ids, [did.as_str(), cid.as_str()]);
    for (args, reply) in [
        (
            &["CLIENT", "LIST", "TYPE", "foo"][..],
            "-ERR Unknown client type 'foo'\r\n",
        ),
        (&["CLIENT", "LIST", "TYPE"], "-ERR syntax error\r\n"),
        (&["CLIENT", "LIST", "ID"], "-ERR syntax error\r\n"),
        (&["CLIENT", "LIST", "foo", "bar"], "-ERR syntax error\r\n"),
        (
            &["CLIENT", "LIST", "TYPE", "normal", "ID", "1"],
            "-ERR syntax error\r\n",
        ),
        (
            &["CLIENT", "LIST", "ID", "1", "x"],
            "-ERR Invalid client ID\r\n",
        ),
        (&["CLIENT", "LIST", "ID", "0", "-1"], "$0\r\n\r\n"),
    ] {
        assert_eq!(c.cmds(args), reply, "{args:?}");
    }
    let id = client_id(&mut c);
    assert_eq!(c.cmds(&["HELLO", "3"]), hello_reply(3, &id));
    let list = c.cmds(&["CLIENT", "LIST", "TYPE", "pubsub"]);
    assert_eq!(list, "=4\r\ntxt:\r\n");
}

#[test]
fn client_kill_closes_other_connections() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    // By ID.
    let mut d = s.raw();
    let did = client_id(&mut d);
    assert_eq!(c.cmds(&["CLIENT", "KILL", "ID", &did]), ":1\r\n");
    expect_closed(&mut d, "");
    assert_eq!(c.cmds(&["CLIENT", "KILL", "ID", &did]), ":0\r\n");
    // Old form by address, and then there is no such client.
    let mut d = s.raw();
    let info = d.cmds(&["CLIENT", "INFO"]);
    let addr = field(text_of(&info).trim_end(), "addr").to_string();
    assert_eq!(c.cmds(&["CLIENT", "KILL", &addr]), "+OK\r\n");
    expect_closed(&mut d, "");
    assert_eq!(
        c.cmds(&["CLIENT", "KILL", &addr]),
        "-ERR No such client\r\n"
    );
    // By type, skipping the caller by default; the killed ones leave CLIENT LIST.
    let mut d = s.raw();
    let mut e = s.raw();
    assert_eq!(d.cmds(&["PING"]), "+PONG\r\n");
    assert_eq!(e.cmds(&["PING"]), "+PONG\r\n");
    assert_eq!(
        c.cmds(&["CLIENT", "KILL", "TYPE", "normal", "USER", "default"]),
        ":2\r\n"
    );
    expect_closed(&mut d, "");
    expect_closed(&mut e, "");
    assert_eq!(c.cmds(&["PING"]), "+PONG\r\n");
    let list = c.cmds(&["CLIENT", "LIST"]);
    assert_eq!(text_of(&list).lines().count(), 1);
    // By ADDR and LADDR.
    let mut d = s.raw();
    let info = d.cmds(&["CLIENT", "INFO"]);
    let addr = field(text_of(&info).trim_end(), "addr").to_string();
    assert_eq!(c.cmds(&["CLIENT", "KILL", "ADDR", "1.2.3.4:5"]), ":0\r\n");
    assert_eq!(c.cmds(&["CLIENT", "KILL", "ADDR", &addr]), ":1\r\n");
    expect_closed(&mut d, "");
    let mut d = s.raw();
    assert_eq!(d.cmds(&["PING"]), "+PONG\r\n");
    let laddr = format!("127.0.0.1:{}", s.port);
    assert_eq!(c.cmds(&["CLIENT", "KILL", "LADDR", &laddr]), ":1\r\n");
    expect_closed(&mut d, "");
}

#[test]
fn client_kill_self_replies_first() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let id = client_id(&mut c);
    // The reply arrives, then the close; what followed in the pipeline is never run.
    c.send(format!("CLIENT KILL ID {id} SKIPME no\r\nPING\r\n").as_bytes());
    expect_closed(&mut c, ":1\r\n");
    let mut c = s.raw();
    let info = c.cmds(&["CLIENT", "INFO"]);
    let addr = field(text_of(&info).trim_end(), "addr").to_string();
    c.send(format!("CLIENT KILL {addr}\r\n").as_bytes());
    expect_closed(&mut c, "+OK\r\n");
    // SKIPME yes (the default) spares the caller.
    let mut c = s.raw();
    let id = client_id(&mut c);
    assert_eq!(c.cmds(&["CLIENT", "KILL", "ID", &id]), ":0\r\n");
    assert_eq!(c.cmds(&["PING"]), "+PONG\r\n");
}

#[test]
fn client_kill_errors() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    for (args, reply) in [
        (
            &["CLIENT", "KILL", "ID", "abc"][..],
            "-ERR client-id should be greater than 0\r\n",
        ),
        (
            &["CLIENT", "KILL", "ID", "0"],
            "-ERR client-id should be greater than 0\r\n",
        ),
        (
            &["CLIENT", "KILL", "TYPE", "foo"],
            "-ERR Unknown client type 'foo'\r\n",
        ),
        (
            &["CLIENT", "KILL", "SKIPME", "maybe"],
            "-ERR syntax error\r\n",
        ),
        (
            &["CLIENT", "KILL", "USER", "nobody"],
            "-ERR No such user 'nobody'\r\n",
        ),
        (&["CLIENT", "KILL", "FOO", "bar"], "-ERR syntax error\r\n"),
        (
            &["CLIENT", "KILL", "ID", "1", "ID"],
            "-ERR syntax error\r\n",
        ),
        (&["CLIENT", "KILL", "MAXAGE", "10"], "-ERR syntax error\r\n"),
        // A single argument is the old form: an address that matches nobody.
        (&["CLIENT", "KILL", "ID"], "-ERR No such client\r\n"),
        (
            &["CLIENT", "KILL"],
            "-ERR wrong number of arguments for 'client|kill' command\r\n",
        ),
        (&["CLIENT", "KILL", "TYPE", "pubsub"], ":0\r\n"),
        (&["CLIENT", "KILL", "TYPE", "master"], ":0\r\n"),
    ] {
        assert_eq!(c.cmds(args), reply, "{args:?}");
    }
}

/// The same requests on real Redis and on ferrokv give the same bytes (connection ids aside).
#[test]
fn matches_redis() {
    let Some(redis) = common::start_redis() else {
        return;
    };
    let ours = TestServer::start(&[]);
    let script: &[&[&str]] = &[
        &["PING"],
        &["PING", "x"],
        &["HELLO", "4"],
        &["HELLO", "x"],
        &["HELLO", "2", "AUTH", "u"],
        &["HELLO", "3", "SETNAME", "a b"],
        &["AUTH", "pw"],
        &["AUTH", "default", "pw"],
        &["AUTH", "x", "y"],
        &["AUTH", "x", "y", "z"],
        &["CLIENT", "SETNAME", "n"],
        &["CLIENT", "GETNAME"],
        &["CLIENT", "NO-EVICT", "on"],
        &["CLIENT", "NO-EVICT", "x"],
        &["CLIENT", "HELP"],
        &["CLIENT", "LIST", "TYPE", "pubsub"],
        &["CLIENT", "LIST", "TYPE", "x"],
        &["CLIENT", "LIST", "ID", "x"],
        &["CLIENT", "KILL", "1.1.1.1:1"],
        &["CLIENT", "KILL", "ID", "99999"],
        &["CLIENT", "KILL", "ID", "-5"],
        &["CLIENT", "KILL", "USER", "x"],
        &["CLIENT", "GETREDIR"],
        &["CLIENT", "TRACKINGINFO"],
        &["CLIENT", "FOO"],
        &["SELECT", "99"],
        &["SELECT", "99999999999"],
        &["RESET"],
        &["CLIENT", "GETNAME"],
        &["QUIT"],
    ];
    let mut a = redis.raw();
    let mut b = ours.raw();
    for args in script {
        assert_eq!(a.cmds(args), b.cmds(args), "{args:?}");
    }
}

/// Strips the fields that vary from run to run out of a CLIENT LIST line.
fn stable_fields(line: &str) -> String {
    line.split(' ')
        .filter(|kv| {
            let k = kv.split('=').next().unwrap_or("");
            !matches!(
                k,
                "id" | "addr"
                    | "laddr"
                    | "fd"
                    | "age"
                    | "idle"
                    | "qbuf-free"
                    | "rbs"
                    | "rbp"
                    | "tot-mem"
                    | "multi-mem"
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// True (after a note) when the server does not have `cmd` yet, so the test depending on it is skipped.
fn missing(c: &mut RawConn, probe: &[&str]) -> bool {
    let r = c.cmds(probe);
    if r.starts_with("-ERR unknown command") {
        eprintln!("SKIPPED: {} is not implemented", probe[0]);
        return true;
    }
    false
}

#[test]
fn subscribed_clients() {
    let s = TestServer::start(&[]);
    let mut a = s.raw();
    let mut b = s.raw();
    if missing(&mut b, &["SUBSCRIBE", "ch"]) {
        return;
    }
    assert_eq!(
        b.cmds(&["PSUBSCRIBE", "p*"]),
        "*3\r\n$10\r\npsubscribe\r\n$2\r\np*\r\n:2\r\n"
    );
    // A RESP2 subscriber gets PING as an array.
    assert_eq!(b.cmds(&["PING"]), "*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    assert_eq!(b.cmds(&["PING", "hi"]), "*2\r\n$4\r\npong\r\n$2\r\nhi\r\n");
    let list = a.cmds(&["CLIENT", "LIST", "TYPE", "pubsub"]);
    assert_eq!(
        stable_fields(text_of(&list).trim_end()),
        "name= flags=P db=0 sub=1 psub=1 ssub=0 multi=-1 qbuf=0 argv-mem=0 obl=0 oll=0 omem=0 \
         events=r cmd=ping user=default redir=-1 resp=2"
    );
    assert_eq!(
        a.cmds(&["CLIENT", "KILL", "TYPE", "pubsub", "ID", "99999"]),
        ":0\r\n"
    );
    // RESET ends the subscriptions silently.
    assert_eq!(b.cmds(&["RESET"]), "+RESET\r\n");
    assert_eq!(b.cmds(&["PING"]), "+PONG\r\n");
    assert_eq!(a.cmds(&["CLIENT", "LIST", "TYPE", "pubsub"]), "$0\r\n\r\n");
    if !missing(&mut a, &["PUBLISH", "ch", "x"]) {
        assert_eq!(a.cmds(&["PUBLISH", "ch", "x"]), ":0\r\n");
    }
    // Under RESP3 PING keeps its usual reply.
    let id = client_id(&mut b);
    assert_eq!(b.cmds(&["HELLO", "3"]), hello_reply(3, &id));
    assert_eq!(
        b.cmds(&["SUBSCRIBE", "ch"]),
        ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
    );
    assert_eq!(b.cmds(&["PING"]), "+PONG\r\n");
    assert_eq!(b.cmds(&["PING", "x"]), "$1\r\nx\r\n");
    assert_eq!(a.cmds(&["CLIENT", "KILL", "TYPE", "pubsub"]), ":1\r\n");
    expect_closed(&mut b, "");
}

#[test]
fn transaction_state_in_client_list_and_reset() {
    let s = TestServer::start(&[]);
    let mut a = s.raw();
    let mut b = s.raw();
    let bid = client_id(&mut b);
    if missing(&mut b, &["MULTI"]) {
        return;
    }
    assert_eq!(b.cmds(&["PING"]), "+QUEUED\r\n");
    assert_eq!(b.cmds(&["GET", "k"]), "+QUEUED\r\n");
    let list = a.cmds(&["CLIENT", "LIST", "ID", &bid]);
    let line = text_of(&list).trim_end();
    assert_eq!(field(line, "flags"), "x");
    assert_eq!(field(line, "multi"), "2");
    // RESET discards the transaction.
    assert_eq!(b.cmds(&["RESET"]), "+RESET\r\n");
    assert_eq!(b.cmds(&["EXEC"]), "-ERR EXEC without MULTI\r\n");
    let list = a.cmds(&["CLIENT", "LIST", "ID", &bid]);
    let line = text_of(&list).trim_end();
    assert_eq!(field(line, "flags"), "N");
    assert_eq!(field(line, "multi"), "-1");
    if missing(&mut b, &["WATCH", "k"]) {
        return;
    }
    assert_eq!(a.cmds(&["SET", "k", "1"]), "+OK\r\n");
    let list = a.cmds(&["CLIENT", "LIST", "ID", &bid]);
    assert_eq!(field(text_of(&list).trim_end(), "flags"), "d");
    // RESET forgets the watch: a new transaction runs.
    assert_eq!(b.cmds(&["RESET"]), "+RESET\r\n");
    assert_eq!(b.cmds(&["MULTI"]), "+OK\r\n");
    assert_eq!(b.cmds(&["PING"]), "+QUEUED\r\n");
    assert_eq!(b.cmds(&["EXEC"]), "*1\r\n+PONG\r\n");
}

#[test]
fn client_unblock() {
    let s = TestServer::start(&[]);
    let mut a = s.raw();
    let mut b = s.raw();
    let bid = client_id(&mut b);
    for (args, reply) in [
        (
            &["CLIENT", "UNBLOCK", "x"][..],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (
            &["CLIENT", "UNBLOCK", "x", "foo"],
            "-ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR\r\n",
        ),
        (
            &["CLIENT", "UNBLOCK", "x", "error"],
            "-ERR value is not an integer or out of range\r\n",
        ),
        (&["CLIENT", "UNBLOCK", "999"], ":0\r\n"),
        (&["CLIENT", "UNBLOCK", &bid, "TIMEOUT"], ":0\r\n"),
        (
            &["CLIENT", "unblock", "999", "TIMEOUT", "x"],
            "-ERR unknown subcommand or wrong number of arguments for 'unblock'. Try CLIENT HELP.\r\n",
        ),
        (
            &["CLIENT", "UNBLOCK"],
            "-ERR wrong number of arguments for 'client|unblock' command\r\n",
        ),
    ] {
        assert_eq!(a.cmds(args), reply, "{args:?}");
    }
    b.send(&common::encode(&[b"BLPOP", b"bk", b"0"]));
    // Wait (boundedly) until the server has b blocked.
    let mut blocked = false;
    for _ in 0..200 {
        let list = a.cmds(&["CLIENT", "LIST", "ID", &bid]);
        let line = text_of(&list).trim_end().to_string();
        if field(&line, "cmd") == "blpop" && field(&line, "flags") == "b" {
            blocked = true;
            break;
        }
        if field(&line, "cmd") == "NULL" {
            eprintln!("SKIPPED: BLPOP is not implemented");
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(blocked);
    let list = a.cmds(&["CLIENT", "LIST", "ID", &bid]);
    assert_eq!(field(text_of(&list).trim_end(), "argv-mem"), "8");
    assert_eq!(a.cmds(&["CLIENT", "UNBLOCK", &bid]), ":1\r\n");
    assert_eq!(b.read_reply(), b"*-1\r\n");
    assert_eq!(a.cmds(&["CLIENT", "UNBLOCK", &bid]), ":0\r\n");
    b.send(&common::encode(&[b"BLPOP", b"bk", b"0"]));
    for _ in 0..200 {
        let list = a.cmds(&["CLIENT", "LIST", "ID", &bid]);
        if field(text_of(&list).trim_end(), "flags") == "b" {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    // Two requests in one turn unblock once.
    a.send(format!("CLIENT UNBLOCK {bid} ERROR\r\nCLIENT UNBLOCK {bid}\r\n").as_bytes());
    assert_eq!(a.read_reply(), b":1\r\n");
    assert_eq!(a.read_reply(), b":0\r\n");
    assert_eq!(
        b.read_reply(),
        b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n"
    );
    // A blocked client can be killed.
    b.send(&common::encode(&[b"BLPOP", b"bk", b"0"]));
    for _ in 0..200 {
        let list = a.cmds(&["CLIENT", "LIST", "ID", &bid]);
        if field(text_of(&list).trim_end(), "flags") == "b" {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(a.cmds(&["CLIENT", "KILL", "ID", &bid]), ":1\r\n");
    expect_closed(&mut b, "");
}
