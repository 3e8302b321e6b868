//! Tests for `ferrokv-cli`: reply printing against canned RESP from a tiny fake server (the
//! expected bytes were taken from real redis-cli 7.0 piped and on a pty), connection-loss
//! handling, and end-to-end runs against the real `ferrokv-server`.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(20);

/// A fake server on 127.0.0.1 that serves `script` connections in order: for each request it
/// sends the next canned reply, and an empty reply means "close the connection without
/// answering". Joining the handle yields every raw request it received.
fn fake(script: Vec<Vec<&'static [u8]>>) -> (u16, JoinHandle<Vec<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let handle = thread::spawn(move || {
        let mut requests = Vec::new();
        let deadline = Instant::now() + TIMEOUT;
        for replies in script {
            let mut stream = loop {
                match listener.accept() {
                    Ok((s, _)) => break s,
                    Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(5)),
                    Err(e) => panic!("fake server: no client connected: {e}"),
                }
            };
            stream.set_nonblocking(false).unwrap();
            stream.set_read_timeout(Some(TIMEOUT)).unwrap();
            let (mut buf, mut hung_up) = (Vec::new(), false);
            for reply in replies {
                while common::reply_len(&buf).is_none() {
                    let mut chunk = [0u8; 4096];
                    let n = stream.read(&mut chunk).expect("fake server read");
                    assert!(n > 0, "client hung up before sending a full request");
                    buf.extend_from_slice(&chunk[..n]);
                }
                let n = common::reply_len(&buf).unwrap();
                requests.push(buf.drain(..n).collect());
                hung_up = reply.is_empty();
                if hung_up {
                    break;
                }
                // The client may rightly stop reading (e.g. a reply nested too deep).
                let _ = stream.write_all(reply);
            }
            if !hung_up {
                // Let the client hang up first, so our close never races with its next write.
                let _ = stream.read_to_end(&mut buf);
            }
        }
        requests
    });
    (port, handle)
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs the cli with `args` and `stdin`, killing it if it outlives `TIMEOUT`.
fn cli(args: &[&str], stdin: &str, force_tty: bool) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferrokv-cli"));
    cmd.args(args)
        .env_remove("FAKETTY")
        .env_remove("REDISCLI_AUTH")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if force_tty {
        cmd.env("FERROKV_CLI_FORCE_TTY", "1");
    } else {
        cmd.env_remove("FERROKV_CLI_FORCE_TTY");
    }
    let mut child = cmd.spawn().expect("spawn ferrokv-cli");
    let mut input = child.stdin.take().unwrap();
    let stdin = stdin.as_bytes().to_vec();
    let writer = thread::spawn(move || {
        let _ = input.write_all(&stdin);
    });
    let drain = |mut r: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut v = Vec::new();
            let _ = r.read_to_end(&mut v);
            String::from_utf8_lossy(&v).into_owned()
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("ferrokv-cli {args:?} did not finish in {TIMEOUT:?}");
        }
        thread::sleep(Duration::from_millis(5));
    };
    writer.join().unwrap();
    let run = Run {
        code: status.code().expect("killed by a signal"),
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "cli panicked: {}",
        run.stderr
    );
    run
}

/// One-shot `CMD` against a fake server that answers with `reply`.
fn oneshot(reply: &'static [u8], force_tty: bool) -> Run {
    let (port, server) = fake(vec![vec![reply]]);
    let run = cli(&["-p", &port.to_string(), "CMD"], "", force_tty);
    server.join().unwrap();
    run
}

const NESTED: &[u8] = b"*12\r\n$1\r\na\r\n:5\r\n$-1\r\n-ERR inner\r\n+OK\r\n*2\r\n$1\r\nx\r\n*2\r\n$1\r\ny\r\n$1\r\nz\r\n*0\r\n$0\r\n\r\n$4\r\na\nb\x01\r\n$3\r\n\xc3\xa9\"\r\n*-1\r\n*11\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n:6\r\n:7\r\n:8\r\n:9\r\n:10\r\n*2\r\n:1\r\n:2\r\n";
const MAP: &[u8] = b"%2\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nk2\r\n*2\r\n:1\r\n%1\r\n+a\r\n,1.5\r\n";
const MAP_VALUES: &[u8] = b"%4\r\n+a\r\n*0\r\n+b\r\n*1\r\n:1\r\n+c\r\n*1\r\n*2\r\n:1\r\n:2\r\n+d\r\n%1\r\n+x\r\n~2\r\n:1\r\n:2\r\n";

#[test]
fn raw_output_matches_redis_cli_piped() {
    let cases: &[(&[u8], &str)] = &[
        (
            NESTED,
            "a\n5\n\nERR inner\n\nOK\nx\ny\nz\n\n\na\nb\u{1}\né\"\n\n1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n1\n2\n",
        ),
        (MAP, "k v\nk2 1\na 1.5\n"),
        (MAP_VALUES, "a \nb 1\nc 1\n2\nd x 1\n2\n"),
        (b"~3\r\n$1\r\na\r\n:1\r\n_\r\n", "a\n1\n\n"),
        (b",1.5\r\n", "1.5\n"),
        (b"*2\r\n#t\r\n#f\r\n", "(true)\n(false)\n"),
        (b"=15\r\ntxt:hello\nworld\r\n", "hello\nworld\n"),
        (b"-ERR bad thing\r\n", "ERR bad thing\n\n"),
        (b"$-1\r\n", "\n"),
        (b"_\r\n", "\n"),
        (b":-42\r\n", "-42\n"),
        (b"+PONG\r\n", "PONG\n"),
        (b"*0\r\n", "\n"),
        (b"%0\r\n", "\n"),
        // A RESP3 push is out of band: redis-cli drops it when piped and prints the reply.
        (b">2\r\n$3\r\nfoo\r\n:1\r\n+OK\r\n", "OK\n"),
        // Attributes annotate the next reply and are not printed.
        (b"|1\r\n+key\r\n:1\r\n:7\r\n", "7\n"),
    ];
    for (reply, expected) in cases {
        let run = oneshot(reply, false);
        assert_eq!(
            run.stdout,
            *expected,
            "reply {:?}",
            String::from_utf8_lossy(reply)
        );
        assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    }
}

#[test]
fn tty_output_matches_redis_cli_on_a_terminal() {
    let cases: &[(&[u8], &str)] = &[
        (
            NESTED,
            " 1) \"a\"\n 2) (integer) 5\n 3) (nil)\n 4) (error) ERR inner\n 5) OK\n 6) 1) \"x\"\n    2) 1) \"y\"\n       2) \"z\"\n 7) (empty array)\n 8) \"\"\n 9) \"a\\nb\\x01\"\n10) \"\\xc3\\xa9\\\"\"\n11) (nil)\n12)  1) (integer) 1\n     2) (integer) 2\n     3) (integer) 3\n     4) (integer) 4\n     5) (integer) 5\n     6) (integer) 6\n     7) (integer) 7\n     8) (integer) 8\n     9) (integer) 9\n    10) (integer) 10\n    11) 1) (integer) 1\n        2) (integer) 2\n",
        ),
        (
            MAP,
            "1# \"k\" => \"v\"\n2# \"k2\" => \n   1) (integer) 1\n   2) 1# a => (double) 1.5\n",
        ),
        (
            MAP_VALUES,
            "1# a => (empty array)\n2# b => 1) (integer) 1\n3# c => \n   1) 1) (integer) 1\n      2) (integer) 2\n4# d => \n   1# x => \n      1~ (integer) 1\n      2~ (integer) 2\n",
        ),
        (b"~3\r\n$1\r\na\r\n:1\r\n_\r\n", "1~ \"a\"\n2~ (integer) 1\n3~ (nil)\n"),
        (b",1.5\r\n", "(double) 1.5\n"),
        (b"*2\r\n#t\r\n#f\r\n", "1) (true)\n2) (false)\n"),
        (b"(12345678901234567890\r\n", "(big number) 12345678901234567890\n"),
        (b"=15\r\ntxt:hello\nworld\r\n", "hello\nworld\n"),
        (b"-ERR bad thing\r\n", "(error) ERR bad thing\n"),
        (b"$-1\r\n", "(nil)\n"),
        (b"*-1\r\n", "(nil)\n"),
        (b":-42\r\n", "(integer) -42\n"),
        (b"+PONG\r\n", "PONG\n"),
        (b"*0\r\n", "(empty array)\n"),
        (b"%0\r\n", "(empty hash)\n"),
        (b"~0\r\n", "(empty set)\n"),
        (b">2\r\n$3\r\nfoo\r\n:1\r\n+OK\r\n", "1) \"foo\"\n2) (integer) 1\nOK\n"),
        (
            b"$9\r\n\x00\x07\x08\t\r\n\\\x7f\xff\r\n",
            "\"\\x00\\a\\b\\t\\r\\n\\\\\\x7f\\xff\"\n",
        ),
    ];
    for (reply, expected) in cases {
        let run = oneshot(reply, true);
        assert_eq!(
            run.stdout,
            *expected,
            "reply {:?}",
            String::from_utf8_lossy(reply)
        );
        assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    }
}

#[test]
fn info_is_printed_verbatim_in_both_modes() {
    for tty in [false, true] {
        let (port, server) = fake(vec![vec![b"$13\r\n# Server\r\nx:1\r\n"]]);
        let run = cli(&["-p", &port.to_string(), "INFO"], "", tty);
        server.join().unwrap();
        assert_eq!(run.stdout, "# Server\r\nx:1");
    }
}

#[test]
fn error_reply_exits_zero_unless_dash_e() {
    let run = oneshot(b"-ERR nope\r\n", false);
    assert_eq!((run.code, run.stdout.as_str()), (0, "ERR nope\n\n"));
    let (port, server) = fake(vec![vec![b"-ERR nope\r\n"]]);
    let run = cli(&["-e", "-p", &port.to_string(), "CMD"], "", false);
    server.join().unwrap();
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (1, "", "ERR nope\n")
    );
}

#[test]
fn protocol_errors_and_deep_nesting_do_not_crash() {
    let run = oneshot(b"?x\r\n", false);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "Error: Protocol error, got \"?\" as reply type byte\n"
    );
    let run = oneshot(b":007\r\n", false);
    assert_eq!(
        (run.code, run.stderr.as_str()),
        (1, "Error: Bad integer value\n")
    );

    let deep: &'static [u8] = [b"*1\r\n".repeat(1000), b":1\r\n".to_vec()].concat().leak();
    let run = oneshot(deep, false);
    assert_eq!((run.code, run.stdout.as_str()), (0, "1\n"));
    let too_deep: &'static [u8] = [b"*1\r\n".repeat(100_000), b":1\r\n".to_vec()]
        .concat()
        .leak();
    let run = oneshot(too_deep, true);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.starts_with("Error: No support for nested"),
        "{}",
        run.stderr
    );
}

#[test]
fn dropped_connection_in_oneshot_mode_fails_cleanly() {
    let run = oneshot(b"", false);
    assert_eq!(run.code, 1);
    assert_eq!(run.stdout, "");
    assert_eq!(run.stderr, "Error: Server closed the connection\n");
}

#[test]
fn interactive_mode_reconnects_after_a_drop() {
    let (port, server) = fake(vec![vec![b"+OK\r\n", b""], vec![b"+PONG\r\n"]]);
    let run = cli(&["-p", &port.to_string()], "PING\nPING\nPING\n", false);
    server.join().unwrap();
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout, "OK\nPONG\n");
    assert_eq!(run.stderr, "Error: Server closed the connection\n");
}

#[test]
fn refused_connection_is_reported() {
    let port = common::free_port();
    let refused = format!("Could not connect to Redis at 127.0.0.1:{port}: Connection refused\n");
    let run = cli(&["-p", &port.to_string(), "PING"], "", false);
    assert_eq!((run.code, run.stderr.clone()), (1, refused.clone()));
    // Interactive mode reports the first attempt and retries on every command.
    let run = cli(&["-p", &port.to_string()], "PING\n", false);
    assert_eq!((run.code, run.stderr), (0, refused.repeat(2)));
}

#[test]
fn interactive_mode_splits_like_redis_cli() {
    let (port, server) = fake(vec![vec![b"+OK\r\n", b"+OK\r\n", b"*0\r\n"]]);
    let input =
        "SET \"a b\\x41\\n\" 'c\\'d'\n\n   \n\"bad\"x\n'open\nSET  x   y  \nkeys\nquit\nPING\n";
    let run = cli(&["-p", &port.to_string()], input, false);
    let requests = server.join().unwrap();
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stdout,
        "OK\nInvalid argument(s)\nInvalid argument(s)\nOK\n\n"
    );
    let expected: Vec<Vec<u8>> = vec![
        common::encode(&[b"SET", b"a bA\n", b"c'd"]),
        common::encode(&[b"SET", b"x", b"y"]),
        // A bare KEYS means KEYS *.
        common::encode(&[b"keys", b"*"]),
    ];
    assert_eq!(requests, expected);
}

#[test]
fn auth_and_select_are_sent_on_connect() {
    let (port, server) = fake(vec![vec![
        b"-WRONGPASS invalid username-password pair\r\n",
        b"+OK\r\n",
        b"$1\r\nv\r\n",
    ]]);
    let run = cli(
        &["-p", &port.to_string(), "-a", "pw", "-n", "2", "GET", "k"],
        "",
        false,
    );
    let requests = server.join().unwrap();
    // As in redis-cli 7.0, a failed AUTH is reported but the command still runs.
    assert_eq!(
        run.stderr,
        "AUTH failed: WRONGPASS invalid username-password pair\n"
    );
    assert_eq!((run.code, run.stdout.as_str()), (0, "v\n"));
    let expected: Vec<Vec<u8>> = vec![
        common::encode(&[b"AUTH", b"pw"]),
        common::encode(&[b"SELECT", b"2"]),
        common::encode(&[b"GET", b"k"]),
    ];
    assert_eq!(requests, expected);
}

#[test]
fn flags() {
    let run = cli(&["--bogus"], "", false);
    assert_eq!(run.code, 1);
    assert!(run
        .stderr
        .starts_with("Unrecognized option or bad number of args for: '--bogus'"));
    let run = cli(&["-p", "notaport", "PING"], "", false);
    assert_eq!(run.code, 1);
    assert!(run.stderr.starts_with("Invalid port for -p: 'notaport'"));
    let run = cli(&["--help"], "", false);
    assert_eq!(run.code, 0);
    assert!(run.stdout.starts_with("Usage: ferrokv-cli"));
}

#[test]
fn end_to_end_against_ferrokv_server() {
    let server = common::TestServer::start(&[]);
    let port = server.port.to_string();
    let oneshot = |args: &[&str]| {
        let run = cli(&[&["-p", port.as_str()], args].concat(), "", false);
        assert_eq!((run.code, run.stderr.as_str()), (0, ""), "{args:?}");
        run.stdout
    };
    assert_eq!(oneshot(&["SET", "k", "v"]), "OK\n");
    assert_eq!(oneshot(&["GET", "k"]), "v\n");
    assert_eq!(oneshot(&["GET", "missing"]), "\n");
    assert_eq!(oneshot(&["DEL", "k"]), "1\n");

    let run = cli(&["-p", &port], "SET a 1\nGET a\nKEYS\n", false);
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "OK\n1\na\n", "")
    );
    let run = cli(&["-p", &port], "GET a\nKEYS\nGET missing\nPING\n", true);
    assert_eq!(run.stdout, "\"1\"\n1) \"a\"\n(nil)\nPONG\n");
}
