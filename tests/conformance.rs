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
    assert_eq!(
        c.read_reply(),
        b"*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n"
    );
    assert_eq!(c.cmds(&["RESET"]), "+RESET\r\n");
    assert_eq!(c.cmds(&["PING"]), "+PONG\r\n");
}

#[test]
fn config_set_bind_and_port_move_the_listener() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let p = s.port.to_string();
    // The current values are accepted as they are.
    assert_eq!(
        c.cmds(&["CONFIG", "SET", "bind", "127.0.0.1", "port", &p]),
        "+OK\r\n"
    );
    // A port in use: Redis's apply error, and every setting of the command rolled back.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let busy_port = busy.local_addr().unwrap().port().to_string();
    assert_eq!(
        c.cmds(&["CONFIG", "SET", "timeout", "7", "port", &busy_port]),
        "-ERR CONFIG SET failed (possibly related to argument 'port') - Unable to listen on this port. Check server logs.\r\n"
    );
    assert_eq!(
        c.cmds(&["CONFIG", "GET", "timeout"]),
        "*2\r\n$7\r\ntimeout\r\n$1\r\n0\r\n"
    );
    assert_eq!(
        common::RawConn::connect(s.port).cmds(&["PING"]),
        "+PONG\r\n"
    );
    assert_eq!(
        c.cmds(&["CONFIG", "SET", "bind", "192.0.2.1"]),
        "-ERR CONFIG SET failed (possibly related to argument 'bind') - Failed to bind to specified addresses.\r\n"
    );
    assert_eq!(
        common::RawConn::connect(s.port).cmds(&["PING"]),
        "+PONG\r\n"
    );
    // A free port: the server moves there, and the connection that asked stays open.
    let free = common::free_port();
    let fp = free.to_string();
    assert_eq!(c.cmds(&["CONFIG", "SET", "port", &fp]), "+OK\r\n");
    assert_eq!(
        common::RawConn::connect(free).cmds(&["CONFIG", "GET", "port"]),
        format!("*2\r\n$4\r\nport\r\n${}\r\n{fp}\r\n", fp.len())
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", s.port)).is_err());
    assert_eq!(c.cmds(&["PING"]), "+PONG\r\n");
}

#[test]
fn client_query_buffer_limit_closes_the_client() {
    let s = TestServer::start(&[]);
    let mut admin = s.raw();
    assert_eq!(
        admin.cmds(&["CONFIG", "SET", "client-query-buffer-limit", "1000"]),
        "-ERR CONFIG SET failed (possibly related to argument 'client-query-buffer-limit') - argument must be between 1048576 and 9223372036854775807 inclusive\r\n"
    );
    assert_eq!(
        admin.cmds(&["CONFIG", "SET", "client-query-buffer-limit", "1mb"]),
        "+OK\r\n"
    );
    let mut c = s.raw();
    c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3000000\r\n");
    let chunk = vec![b'x'; 64 * 1024];
    for _ in 0..40 {
        // The server may already have closed it: later writes fail, which is the point.
        if std::io::Write::write_all(&mut c.stream, &chunk).is_err() {
            break;
        }
    }
    assert_eq!(c.read_to_close(), b"");
    assert_eq!(admin.cmds(&["DBSIZE"]), ":0\r\n");
}

#[test]
fn hidden_and_replica_settings() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let all = c.cmds(&["CONFIG", "GET", "*"]);
    assert!(!all.contains("key-load-delay"));
    assert_eq!(
        c.cmds(&["CONFIG", "GET", "key-load-delay"]),
        "*2\r\n$14\r\nkey-load-delay\r\n$1\r\n0\r\n"
    );
    assert_eq!(
        c.cmds(&["CONFIG", "GET", "*of"]),
        "*4\r\n$9\r\nreplicaof\r\n$0\r\n\r\n$7\r\nslaveof\r\n$0\r\n\r\n"
    );
    assert_eq!(
        c.cmds(&["CONFIG", "SET", "replicaof", "no one"]),
        "-ERR CONFIG SET failed (possibly related to argument 'replicaof') - can't set immutable config\r\n"
    );
}

#[test]
fn command_getkeys_follows_key_specs() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmds(&["COMMAND", "GETKEYSANDFLAGS", "LMOVE", "k1", "k2", "left", "right"]),
        "*2\r\n*2\r\n$2\r\nk1\r\n*3\r\n+RW\r\n+access\r\n+delete\r\n*2\r\n$2\r\nk2\r\n*2\r\n+RW\r\n+insert\r\n"
    );
    assert_eq!(
        c.cmds(&["COMMAND", "GETKEYSANDFLAGS", "SET", "k", "v", "GET"]),
        "*1\r\n*2\r\n$1\r\nk\r\n*3\r\n+RW\r\n+access\r\n+update\r\n"
    );
    assert_eq!(
        c.cmds(&[
            "COMMAND",
            "GETKEYS",
            "ZUNIONSTORE",
            "d",
            "2",
            "a",
            "b",
            "WEIGHTS",
            "1",
            "2"
        ]),
        "*3\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nb\r\n"
    );
    assert_eq!(
        c.cmds(&["COMMAND", "GETKEYS", "ZUNIONSTORE", "d", "3", "a", "b"]),
        "-ERR Invalid arguments specified for command\r\n"
    );
    assert_eq!(
        c.cmds(&["COMMAND", "GETKEYS", "EVAL", "return 1", "1", "k"]),
        "*1\r\n$1\r\nk\r\n"
    );
    assert_eq!(
        c.cmds(&["COMMAND", "GETKEYS", "EVAL", "return 1", "0"]),
        "*0\r\n"
    );
    assert_eq!(
        c.cmds(&["COMMAND", "GETKEYS", "PING", "x"]),
        "-ERR The command has no key arguments\r\n"
    );
}

#[test]
fn maxmemory_refuses_growth_and_evicts() {
    let s = TestServer::start(&[]);
    let mut a = s.raw();
    let mut b = s.raw();
    assert_eq!(a.cmds(&["SET", "x", "0"]), "+OK\r\n");
    assert_eq!(a.cmds(&["MULTI"]), "+OK\r\n");
    assert_eq!(a.cmds(&["SET", "x", "1"]), "+QUEUED\r\n");
    assert_eq!(b.cmds(&["CONFIG", "SET", "maxmemory", "1"]), "+OK\r\n");
    assert_eq!(
        a.cmds(&["EXEC"]),
        "-EXECABORT Transaction discarded because of: OOM command not allowed when used memory > 'maxmemory'.\r\n"
    );
    const OOM: &str = "-OOM command not allowed when used memory > 'maxmemory'.\r\n";
    assert_eq!(a.cmds(&["SET", "x", "1"]), OOM);
    assert_eq!(a.cmds(&["GET", "x"]), "$1\r\n0\r\n");
    // Inside MULTI everything but EXEC/DISCARD is refused, and DISCARD still works.
    assert_eq!(a.cmds(&["MULTI"]), "+OK\r\n");
    assert_eq!(a.cmds(&["GET", "x"]), OOM);
    assert_eq!(a.cmds(&["DISCARD"]), "+OK\r\n");
    // With an eviction policy keys go to make room; once none is left, the command is still refused.
    assert_eq!(
        b.cmds(&["CONFIG", "SET", "maxmemory-policy", "allkeys-random"]),
        "+OK\r\n"
    );
    assert_eq!(a.cmds(&["SET", "y", "1"]), OOM);
    assert_eq!(a.cmds(&["DBSIZE"]), ":0\r\n");
    assert!(b.cmds(&["INFO", "stats"]).contains("evicted_keys:1\r\n"));
    assert_eq!(b.cmds(&["CONFIG", "SET", "maxmemory", "0"]), "+OK\r\n");
}

#[test]
fn maxmemory_clients_closes_the_biggest_client() {
    let s = TestServer::start(&[]);
    let mut a = s.raw();
    assert_eq!(
        a.cmds(&["CONFIG", "SET", "maxmemory-clients", "200%"]),
        "-ERR CONFIG SET failed (possibly related to argument 'maxmemory-clients') - percentage argument must be less or equal to 100\r\n"
    );
    assert_eq!(
        a.cmds(&["CONFIG", "SET", "maxmemory-clients", "10%"]),
        "+OK\r\n"
    );
    assert_eq!(
        a.cmds(&["CONFIG", "GET", "maxmemory-clients"]),
        "*2\r\n$17\r\nmaxmemory-clients\r\n$3\r\n10%\r\n"
    );
    assert_eq!(
        a.cmds(&["CONFIG", "SET", "maxmemory-clients", "1mb"]),
        "+OK\r\n"
    );
    assert_eq!(a.cmds(&["CLIENT", "NO-EVICT", "ON"]), "+OK\r\n");
    let mut big = s.raw();
    big.send(b"*2\r\n$3\r\nGET\r\n$3000000\r\n");
    big.send(&vec![b'x'; 1_500_000]);
    assert_eq!(big.read_to_close(), b"");
    assert!(a.cmds(&["INFO", "stats"]).contains("evicted_clients:1\r\n"));
    assert_eq!(a.cmds(&["PING"]), "+PONG\r\n");
}

/// Reads from `c` until `want` bytes arrived.
fn read_exact_len(c: &mut common::RawConn, want: usize) -> Vec<u8> {
    let mut got = Vec::new();
    while got.len() < want {
        let mut chunk = [0u8; 4096];
        let n = std::io::Read::read(&mut c.stream, &mut chunk).expect("read");
        assert!(n > 0, "closed after {got:?}");
        got.extend_from_slice(&chunk[..n]);
    }
    got
}

#[test]
fn replication_offsets_backlog_and_min_replicas() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let mut r = s.raw();
    assert_eq!(
        r.cmds(&["REPLCONF", "listening-port", "7777", "capa", "psync2"]),
        "+OK\r\n"
    );
    r.send(&encode(&[b"PSYNC", b"?", b"-1"]));
    // +FULLRESYNC <replid> 0, then the empty RDB as a bulk without its trailing CRLF.
    let head = read_exact_len(&mut r, 56 + 5 + 18);
    let head = String::from_utf8_lossy(&head).into_owned();
    let replid = head[12..52].to_string();
    assert_eq!(&head[..12], "+FULLRESYNC ");
    assert!(head[52..].starts_with(" 0\r\n$18\r\nREDIS0010"), "{head}");
    assert_eq!(c.cmds(&["SET", "a", "1"]), "+OK\r\n");
    let stream = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n";
    assert_eq!(read_exact_len(&mut r, stream.len()), stream);
    let info = c.cmds(&["INFO", "replication"]);
    assert!(info.contains("connected_slaves:1\r\n"), "{info}");
    assert!(info.contains("slave0:ip=127.0.0.1,port=7777,state=online,offset=0,"));
    assert!(info.contains(&format!("master_repl_offset:{}\r\n", stream.len())));
    r.send(&encode(&[b"REPLCONF", b"ACK", b"50"]));
    assert!(c
        .cmds(&["CLIENT", "LIST", "TYPE", "replica"])
        .contains("flags=S "));
    // A replica that comes back within the backlog continues from its offset.
    drop(r);
    let mut r2 = s.raw();
    assert_eq!(r2.cmds(&["REPLCONF", "capa", "psync2"]), "+OK\r\n");
    r2.send(&encode(&[b"PSYNC", replid.as_bytes(), b"25"]));
    let want = format!("+CONTINUE {replid}\r\n");
    let got = read_exact_len(&mut r2, want.len() + stream.len() - 24);
    assert_eq!(&got[..want.len()], want.as_bytes());
    assert_eq!(&got[want.len()..], &stream[24..]);
    // Writes need as many good replicas as min-replicas-to-write asks.
    assert_eq!(
        c.cmds(&["CONFIG", "SET", "min-replicas-to-write", "2"]),
        "+OK\r\n"
    );
    assert_eq!(
        c.cmds(&["SET", "b", "1"]),
        "-NOREPLICAS Not enough good replicas to write.\r\n"
    );
    assert_eq!(c.cmds(&["GET", "a"]), "$1\r\n1\r\n");
    assert_eq!(
        c.cmds(&["CONFIG", "SET", "min-slaves-to-write", "1"]),
        "+OK\r\n"
    );
    assert_eq!(c.cmds(&["SET", "b", "1"]), "+OK\r\n");
    assert_eq!(
        c.cmds(&["CONFIG", "SET", "repl-backlog-size", "100"]),
        "+OK\r\n"
    );
    assert_eq!(
        c.cmds(&["CONFIG", "GET", "repl-backlog-size"]),
        "*2\r\n$17\r\nrepl-backlog-size\r\n$5\r\n16384\r\n"
    );
    assert_eq!(c.cmds(&["REPLICAOF", "NO", "ONE"]), "+OK\r\n");
}

#[test]
fn publish_and_flushes_reach_replicas_even_when_nothing_changed() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let mut r = s.raw();
    r.send(&encode(&[b"SYNC"]));
    let _ = read_exact_len(&mut r, 5 + 18);
    for cmd in [
        &["MULTI"][..],
        &["PUBLISH", "ch", "m"],
        &["EXEC"],
        &["FLUSHDB"],
    ] {
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
        c.cmd(&args);
    }
    let want = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$1\r\nm\r\n*1\r\n$7\r\nFLUSHDB\r\n";
    assert_eq!(read_exact_len(&mut r, want.len()), want);
}

#[test]
fn copy_of_a_shared_integer_is_private() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    const SHARED: &str = ":2147483647\r\n";
    assert_eq!(c.cmds(&["SET", "a", "5"]), "+OK\r\n");
    assert_eq!(c.cmds(&["OBJECT", "REFCOUNT", "a"]), SHARED);
    assert_eq!(c.cmds(&["COPY", "a", "b"]), ":1\r\n");
    assert_eq!(c.cmds(&["OBJECT", "REFCOUNT", "b"]), ":1\r\n");
    assert_eq!(c.cmds(&["OBJECT", "ENCODING", "b"]), "$3\r\nint\r\n");
    assert_eq!(c.cmds(&["RENAME", "b", "c"]), "+OK\r\n");
    assert_eq!(c.cmds(&["OBJECT", "REFCOUNT", "c"]), ":1\r\n");
    assert_eq!(c.cmds(&["INCR", "c"]), ":6\r\n");
    assert_eq!(c.cmds(&["OBJECT", "REFCOUNT", "c"]), SHARED);
    assert_eq!(c.cmds(&["COPY", "a", "d"]), ":1\r\n");
    assert_eq!(c.cmds(&["SET", "d", "5"]), "+OK\r\n");
    assert_eq!(c.cmds(&["OBJECT", "REFCOUNT", "d"]), SHARED);
}

/// WAIT: counts the replicas that acknowledged the client's last write, asks them with REPLCONF GETACK
/// while it blocks, and answers with the count when they do, when its timeout ends, or when CLIENT
/// UNBLOCK ends it.
#[test]
fn wait_counts_acknowledging_replicas() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let mut admin = s.raw();
    // No replica: WAIT 0 answers at once, WAIT 1 at its timeout.
    assert_eq!(c.cmds(&["WAIT", "0", "0"]), ":0\r\n");
    let t = std::time::Instant::now();
    assert_eq!(c.cmds(&["WAIT", "1", "100"]), ":0\r\n");
    assert!(t.elapsed() >= std::time::Duration::from_millis(90));
    let mut r = s.raw();
    assert_eq!(r.cmds(&["REPLCONF", "listening-port", "7777"]), "+OK\r\n");
    r.send(&encode(&[b"PSYNC", b"?", b"-1"]));
    read_exact_len(&mut r, 56 + 5 + 18);
    assert_eq!(c.cmds(&["SET", "a", "1"]), "+OK\r\n");
    let stream = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n";
    assert_eq!(read_exact_len(&mut r, stream.len()), stream);
    // Blocks, and asks the replica for an acknowledgement.
    c.send(&encode(&[b"WAIT", b"1", b"0"]));
    let getack = b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n";
    assert_eq!(read_exact_len(&mut r, getack.len()), getack);
    // An acknowledgement short of the write leaves it waiting; one past it ends the wait.
    r.send(&encode(&[b"REPLCONF", b"ACK", b"10"]));
    assert_eq!(admin.cmds(&["PING"]), "+PONG\r\n");
    let off = (stream.len() + getack.len()).to_string();
    r.send(&encode(&[b"REPLCONF", b"ACK", off.as_bytes()]));
    assert_eq!(c.read_reply(), b":1\r\n");
    // Enough already: at once. More than there are: at the timeout, with the count.
    assert_eq!(c.cmds(&["WAIT", "1", "0"]), ":1\r\n");
    assert_eq!(c.cmds(&["WAIT", "2", "50"]), ":1\r\n");
    // A new write not yet acknowledged; CLIENT UNBLOCK ends the wait with the count so far.
    assert_eq!(c.cmds(&["SET", "a", "2"]), "+OK\r\n");
    let id = c.cmds(&["CLIENT", "ID"]);
    let id = id.trim_start_matches(':').trim_end();
    c.send(&encode(&[b"WAIT", b"1", b"0"]));
    // The server must have blocked it before the unblock: the GETACK shows it did.
    let set2 = b"*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n2\r\n";
    assert_eq!(
        read_exact_len(&mut r, set2.len() + getack.len()).len(),
        set2.len() + getack.len()
    );
    assert_eq!(admin.cmds(&["CLIENT", "UNBLOCK", id]), ":1\r\n");
    assert_eq!(c.read_reply(), b":0\r\n");
    // In MULTI it cannot block: the count at once.
    assert_eq!(c.cmds(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.cmds(&["WAIT", "5", "0"]), "+QUEUED\r\n");
    assert_eq!(c.cmds(&["EXEC"]), "*1\r\n:0\r\n");
}
