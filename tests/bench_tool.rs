//! The bundled load tool `ferrokv-bench`, run as a user runs it, against the real `ferrokv-server`: its
//! JSON report (parsed here by a small strict JSON reader, so malformed output fails), open-loop tails,
//! counted error replies, mixes, idle connections, and the message when no server is there.

mod common;

use std::collections::BTreeMap;
use std::process::{Command, Output};

fn bench(port: u16, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferrokv-bench"))
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("run ferrokv-bench")
}

/// Runs the tool with `--json` (appended before any custom command) and returns the parsed object.
fn bench_json(port: u16, args: &[&str]) -> (Json, String) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = bench(port, &all);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "exit {:?}\nstdout: {stdout}\nstderr: {stderr}",
        out.status
    );
    let json = Json::parse(stdout.trim()).unwrap_or_else(|e| panic!("bad JSON ({e}): {stdout}"));
    (json, stderr)
}

fn result<'a>(j: &'a Json, command: &str) -> &'a Json {
    j["results"]
        .items()
        .iter()
        .find(|r| r["command"].str() == command)
        .unwrap_or_else(|| panic!("no result for {command} in {j:?}"))
}

fn check_latencies(r: &Json) {
    let l = &r["latency_ms"];
    let keys = ["p50", "p90", "p99", "p99.9", "p99.99", "max"];
    let vals: Vec<f64> = keys.iter().map(|k| l[*k].num()).collect();
    assert!(vals[0] > 0.0, "p50 {r:?}");
    for w in vals.windows(2) {
        assert!(w[0] <= w[1], "percentiles not ordered: {r:?}");
    }
}

#[test]
fn json_report_per_command() {
    let s = common::TestServer::start(&[]);
    let (j, stderr) = bench_json(
        s.port,
        &["-t", "set,get", "-n", "2000", "-c", "4", "-r", "100"],
    );
    // Piped stderr gets no progress line and, with no errors, nothing at all.
    assert_eq!(stderr, "");
    assert_eq!(j["results"].items().len(), 2);
    for cmd in ["SET", "GET"] {
        let r = result(&j, cmd);
        assert_eq!(r["requests"].num(), 2000.0, "{r:?}");
        assert_eq!(r["errors"].num(), 0.0);
        assert!(r["ops_per_sec"].num() > 0.0);
        check_latencies(r);
    }
    let set = &j["settings"];
    assert_eq!(set["clients"].num(), 4.0);
    assert_eq!(set["keyspace"].num(), 100.0);
    assert_eq!(set["mode"].str(), "closed-loop");
    // The keys really were key:000000000000 .. key:000000000099.
    // 2000 uniform SETs over 100 keys miss one with probability ~2e-7.
    let mut c = s.raw();
    let keys: Vec<String> = (0..100).map(|i| format!("key:{i:012}")).collect();
    let mut args = vec!["EXISTS"];
    args.extend(keys.iter().map(String::as_str));
    assert_eq!(c.cmds(&args), ":100\r\n");
    assert_eq!(c.cmds(&["EXISTS", "key:000000000100"]), ":0\r\n");
}

#[test]
fn open_loop_reports_tail_latency() {
    let s = common::TestServer::start(&[]);
    let (j, _) = bench_json(
        s.port,
        &["-t", "get", "--rate", "2000", "--duration", "1", "-c", "4"],
    );
    let r = result(&j, "GET");
    // 2000 requests were scheduled over the second; all are answered by a healthy server.
    assert_eq!(r["requests"].num() + r["timeouts"].num(), 2000.0, "{r:?}");
    let ops = r["ops_per_sec"].num();
    // requests / (1 s + the last reply's latency): loose, as the machine may be busy.
    assert!((1400.0..2600.0).contains(&ops), "ops/s {ops}");
    check_latencies(r);
    assert_eq!(j["settings"]["mode"].str(), "open-loop");
    assert_eq!(j["settings"]["rate"].num(), 2000.0);
}

#[test]
fn error_replies_are_counted_and_named() {
    let s = common::TestServer::start(&[]);
    let (j, stderr) = bench_json(
        s.port,
        &["-n", "500", "-c", "2", "--", "NOSUCHCOMMAND", "x"],
    );
    let r = result(&j, "NOSUCHCOMMAND x");
    assert_eq!(r["requests"].num(), 500.0);
    assert_eq!(r["errors"].num(), 500.0);
    assert!(
        r["first_error"].str().starts_with("ERR unknown command"),
        "{r:?}"
    );
    assert!(
        stderr.contains("500 of 500 replies were errors"),
        "{stderr}"
    );
}

#[test]
fn mixed_zipf_on_two_threads_with_idle_connections() {
    let s = common::TestServer::start(&[]);
    let (j, _) = bench_json(
        s.port,
        &[
            "--ratio",
            "1:4",
            "--key-pattern",
            "zipf",
            "-r",
            "1000",
            "-n",
            "5000",
            "-c",
            "6",
            "-P",
            "4",
            "--threads",
            "2",
            "--idle",
            "40",
            "--warmup",
            "0.1",
        ],
    );
    let set = result(&j, "SET")["requests"].num();
    let get = result(&j, "GET")["requests"].num();
    assert_eq!(set + get, 5000.0);
    assert!((900.0..=1100.0).contains(&set), "SET {set} of 5000");
    assert_eq!(result(&j, "GET")["idle_closed"].num(), 0.0);
    let st = &j["settings"];
    assert_eq!(st["ratio"].str(), "1:4");
    assert_eq!(st["key_pattern"].str(), "zipf");
    assert_eq!(st["threads"].num(), 2.0);
    assert_eq!(st["idle"].num(), 40.0);
    // Zipf keys: the hottest key exists, and far fewer than 1000 distinct keys were written.
    let mut c = s.raw();
    assert_eq!(c.cmds(&["EXISTS", "key:000000000000"]), ":1\r\n");
}

#[test]
fn many_connections_connect_in_bounded_waves() {
    // More than one wave of 256 concurrent connects per thread.
    let s = common::TestServer::start(&[]);
    let (j, _) = bench_json(
        s.port,
        &[
            "-t",
            "ping_mbulk",
            "-c",
            "700",
            "-n",
            "7000",
            "--threads",
            "2",
        ],
    );
    assert_eq!(result(&j, "PING_MBULK")["requests"].num(), 7000.0);
}

#[test]
fn duration_and_text_formats() {
    let s = common::TestServer::start(&[]);
    let out = bench(
        s.port,
        &["-t", "ping", "--duration", "0.3", "-c", "3", "-q"],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert!(
        text.contains("PING_INLINE: ") && text.contains("PING_MBULK: "),
        "{text}"
    );
    assert!(text.contains(" requests per second, p50="), "{text}");
    let out = bench(s.port, &["-t", "set", "-n", "300", "-c", "3", "--csv"]);
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("\"test\",\"rps\",\"requests\""),
        "{text}"
    );
    assert!(lines.next().unwrap().starts_with("\"SET\","), "{text}");
}

#[test]
fn connection_failure_names_the_address() {
    let port = common::free_port();
    let out = bench(port, &["-t", "get", "-n", "10"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(err.contains("refused"), "{err}");
}

#[test]
fn bad_flags_are_refused() {
    let out = bench(1, &["-n", "10", "--duration", "1"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not both"));
    let out = bench(1, &["--key-pattern", "zipf"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("-r"));
    let help = bench(1, &["--help"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("-h, --host"));
}

/// A strict JSON reader, enough to check the tool's output is well-formed and to read its fields.
#[derive(Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(BTreeMap<String, Json>),
}

static NULL: Json = Json::Null;

impl std::ops::Index<&str> for Json {
    type Output = Json;
    fn index(&self, k: &str) -> &Json {
        match self {
            Json::Obj(m) => m
                .get(k)
                .unwrap_or_else(|| panic!("no key {k:?} in {self:?}")),
            _ => &NULL,
        }
    }
}

impl Json {
    fn num(&self) -> f64 {
        match self {
            Json::Num(n) => *n,
            other => panic!("not a number: {other:?}"),
        }
    }

    fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            other => panic!("not a string: {other:?}"),
        }
    }

    fn items(&self) -> &[Json] {
        match self {
            Json::Arr(v) => v,
            other => panic!("not an array: {other:?}"),
        }
    }

    fn parse(s: &str) -> Result<Json, String> {
        let b = s.as_bytes();
        let mut pos = 0;
        let v = value(b, &mut pos)?;
        skip_ws(b, &mut pos);
        if pos != b.len() {
            return Err(format!("trailing bytes at {pos}"));
        }
        Ok(v)
    }
}

fn skip_ws(b: &[u8], pos: &mut usize) {
    while *pos < b.len() && b[*pos].is_ascii_whitespace() {
        *pos += 1;
    }
}

fn expect(b: &[u8], pos: &mut usize, lit: &str) -> Result<(), String> {
    if b[*pos..].starts_with(lit.as_bytes()) {
        *pos += lit.len();
        Ok(())
    } else {
        Err(format!("expected {lit:?} at {pos}"))
    }
}

fn value(b: &[u8], pos: &mut usize) -> Result<Json, String> {
    skip_ws(b, pos);
    match b.get(*pos) {
        Some(b'{') => {
            *pos += 1;
            let mut m = BTreeMap::new();
            skip_ws(b, pos);
            if b.get(*pos) == Some(&b'}') {
                *pos += 1;
                return Ok(Json::Obj(m));
            }
            loop {
                skip_ws(b, pos);
                let Json::Str(k) = string(b, pos)? else {
                    unreachable!()
                };
                skip_ws(b, pos);
                expect(b, pos, ":")?;
                let v = value(b, pos)?;
                if m.insert(k.clone(), v).is_some() {
                    return Err(format!("duplicate key {k}"));
                }
                skip_ws(b, pos);
                match b.get(*pos) {
                    Some(b',') => *pos += 1,
                    Some(b'}') => {
                        *pos += 1;
                        return Ok(Json::Obj(m));
                    }
                    _ => return Err(format!("bad object at {pos}")),
                }
            }
        }
        Some(b'[') => {
            *pos += 1;
            let mut v = Vec::new();
            skip_ws(b, pos);
            if b.get(*pos) == Some(&b']') {
                *pos += 1;
                return Ok(Json::Arr(v));
            }
            loop {
                v.push(value(b, pos)?);
                skip_ws(b, pos);
                match b.get(*pos) {
                    Some(b',') => *pos += 1,
                    Some(b']') => {
                        *pos += 1;
                        return Ok(Json::Arr(v));
                    }
                    _ => return Err(format!("bad array at {pos}")),
                }
            }
        }
        Some(b'"') => string(b, pos),
        Some(b't') => expect(b, pos, "true").map(|_| Json::Bool(true)),
        Some(b'f') => expect(b, pos, "false").map(|_| Json::Bool(false)),
        Some(b'n') => expect(b, pos, "null").map(|_| Json::Null),
        Some(c) if *c == b'-' || c.is_ascii_digit() => {
            let start = *pos;
            while *pos < b.len()
                && matches!(b[*pos], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
            {
                *pos += 1;
            }
            let t = std::str::from_utf8(&b[start..*pos]).unwrap();
            t.parse()
                .map(Json::Num)
                .map_err(|_| format!("bad number {t:?}"))
        }
        _ => Err(format!("unexpected input at {pos}")),
    }
}

fn string(b: &[u8], pos: &mut usize) -> Result<Json, String> {
    expect(b, pos, "\"")?;
    let mut out = String::new();
    loop {
        let Some(&c) = b.get(*pos) else {
            return Err("unterminated string".into());
        };
        *pos += 1;
        match c {
            b'"' => return Ok(Json::Str(out)),
            b'\\' => {
                let e = *b.get(*pos).ok_or("bad escape")?;
                *pos += 1;
                match e {
                    b'"' => out.push('"'),
                    b'\\' => out.push('\\'),
                    b'/' => out.push('/'),
                    b'n' => out.push('\n'),
                    b'r' => out.push('\r'),
                    b't' => out.push('\t'),
                    b'u' => {
                        let hex =
                            std::str::from_utf8(&b[*pos..*pos + 4]).map_err(|e| e.to_string())?;
                        let cp = u32::from_str_radix(hex, 16).map_err(|e| e.to_string())?;
                        out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                        *pos += 4;
                    }
                    _ => return Err("bad escape".into()),
                }
            }
            c if c < 0x20 => return Err("control character in string".into()),
            _ => {
                // Copy a whole UTF-8 sequence.
                let start = *pos - 1;
                let mut end = *pos;
                while end < b.len() && (b[end] & 0xC0) == 0x80 {
                    end += 1;
                }
                out.push_str(std::str::from_utf8(&b[start..end]).map_err(|e| e.to_string())?);
                *pos = end;
            }
        }
    }
}
