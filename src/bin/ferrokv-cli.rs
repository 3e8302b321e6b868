//! `ferrokv-cli`: the line client, a std-only stand-in for `redis-cli` 7.0.
//!
//! This file owns everything on the client side: option parsing, splitting typed lines into
//! arguments (redis-cli's `sdssplitargs`), reading RESP2/RESP3 replies, and printing them the
//! way redis-cli does (its "standard" style when stdout is a terminal, its raw style when piped),
//! plus the REPL with redis-cli's prompt, reconnect and `SELECT`/`MULTI` tracking. It uses no
//! crates and nothing from the `ferrokv` library, so it speaks only the wire protocol and works
//! against any Redis-compatible server.

use std::env;
use std::ffi::OsString;
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::net::TcpStream;
use std::os::unix::ffi::OsStringExt;
use std::process::ExitCode;
use std::time::Instant;

const DEFAULT_PORT: u16 = 8006;
/// hiredis has no nesting limit, but our parser and printer recurse; real replies nest a few
/// levels, so this only stops a hostile or broken server from overflowing the stack.
const MAX_DEPTH: usize = 1024;

const USAGE: &str = "\
Usage: ferrokv-cli [OPTIONS] [cmd [arg [arg ...]]]
  -h <hostname>      Server hostname (default: 127.0.0.1).
  -p <port>          Server port (default: 8006).
  -a <password>      Password to use when connecting to the server.
                     You can also use the REDISCLI_AUTH environment variable.
  --pass <password>  Alias of -a.
  --user <username>  Used to send ACL style 'AUTH username pass'. Needs -a.
  -n <db>            Database number.
  -e                 Return exit error code when command execution fails.
  --no-auth-warning  Accepted for redis-cli compatibility (no warning is printed).
  --help, --version  Output this help, or the version, and exit.

With no command, runs the commands read from stdin, one per line (prompting only on a
terminal). Replies print like redis-cli's: annotated on a terminal, raw when piped; set
FERROKV_CLI_FORCE_TTY=1 (or redis-cli's FAKETTY) to force the terminal style.
";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Agg {
    Array,
    Set,
    Map,
    Push,
}

/// One reply, shaped like hiredis' `redisReply`: a map keeps its 2n keys and values flat.
#[derive(Debug)]
enum Reply {
    Status(Vec<u8>),
    Error(Vec<u8>),
    Int(i64),
    Bulk(Vec<u8>),
    Verbatim(Vec<u8>),
    Double(Vec<u8>),
    BigNum(Vec<u8>),
    Bool(bool),
    Nil,
    Agg(Agg, Vec<Reply>),
}

/// Why a connection became unusable, in hiredis' words, which redis-cli prints after "Error: ".
type Fail = String;

const EOF: &str = "Server closed the connection";

/// The bare libc message ("Connection refused"), as hiredis reports it, without Rust's
/// " (os error N)" suffix or resolver prefix.
fn strerror(e: io::Error) -> Fail {
    let s = e.to_string();
    let s = s
        .strip_prefix("failed to lookup address information: ")
        .unwrap_or(&s);
    s.find(" (os error ").map_or(s, |i| &s[..i]).to_string()
}

fn proto<T>(msg: &str) -> Result<T, Fail> {
    Err(msg.to_string())
}

/// Reads one CRLF-terminated line; a bare LF inside it is data, as in hiredis.
fn read_line(r: &mut impl BufRead) -> Result<Vec<u8>, Fail> {
    let mut line = Vec::new();
    loop {
        if r.read_until(b'\n', &mut line).map_err(strerror)? == 0 {
            return Err(EOF.into());
        }
        if line.ends_with(b"\r\n") {
            line.truncate(line.len() - 2);
            return Ok(line);
        }
    }
}

/// hiredis' strict `string2ll`: no '+', no leading zeros, no "-0".
fn parse_int(b: &[u8]) -> Option<i64> {
    let digits = b.strip_prefix(b"-").unwrap_or(b);
    let ok = match digits {
        [b'0'] => b.len() == 1,
        [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
        _ => false,
    };
    if !ok {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

fn valid_double(b: &[u8]) -> bool {
    let s = String::from_utf8_lossy(b).to_ascii_lowercase();
    matches!(s.as_str(), "inf" | "-inf" | "nan" | "-nan")
        || s.parse::<f64>().is_ok_and(|d| d.is_finite())
}

fn read_reply(r: &mut impl BufRead, depth: usize) -> Result<Reply, Fail> {
    // A loop rather than recursion for attributes, so a stream of them cannot grow the stack.
    loop {
        let line = read_line(r)?;
        let (&ty, body) = line.split_first().unwrap_or((&b'\r', &[]));
        let reply = match ty {
            b'+' => Reply::Status(body.to_vec()),
            b'-' => Reply::Error(body.to_vec()),
            b':' => match parse_int(body) {
                Some(n) => Reply::Int(n),
                None => return proto("Bad integer value"),
            },
            b',' if body.len() >= 326 => return proto("Double value is too large"),
            b',' if !valid_double(body) => return proto("Bad double value"),
            b',' => Reply::Double(body.to_vec()),
            b'#' => match body {
                b"t" => Reply::Bool(true),
                b"f" => Reply::Bool(false),
                _ => return proto("Bad bool value"),
            },
            b'_' if body.is_empty() => Reply::Nil,
            b'_' => return proto("Bad nil value"),
            b'(' if body
                .iter()
                .enumerate()
                .all(|(i, &c)| c.is_ascii_digit() || (i == 0 && c == b'-')) =>
            {
                Reply::BigNum(body.to_vec())
            }
            b'(' => return proto("Bad bignum value"),
            b'$' | b'=' | b'!' => {
                let Some(len) = parse_int(body) else {
                    return proto("Bad bulk string length");
                };
                if len == -1 {
                    return Ok(Reply::Nil);
                }
                let Ok(len) = u64::try_from(len) else {
                    return proto("Bulk string length out of range");
                };
                // take() + read_to_end grows with the data actually received instead of
                // trusting a length header with a huge up-front allocation.
                let mut data = Vec::new();
                r.by_ref()
                    .take(len + 2)
                    .read_to_end(&mut data)
                    .map_err(strerror)?;
                if data.len() as u64 != len + 2 {
                    return Err(EOF.into());
                }
                data.truncate(data.len() - 2);
                match ty {
                    b'$' => Reply::Bulk(data),
                    b'!' => Reply::Error(data),
                    _ if data.len() < 4 || data[3] != b':' => return proto(
                        "Verbatim string 4 bytes of content type are missing or incorrectly encoded.",
                    ),
                    _ => Reply::Verbatim(data.split_off(4)),
                }
            }
            b'*' | b'~' | b'%' | b'>' | b'|' => {
                let Some(n) = parse_int(body) else {
                    return proto("Bad multi-bulk length");
                };
                if n == -1 {
                    return Ok(Reply::Nil);
                }
                let pairs = matches!(ty, b'%' | b'|');
                let Some(count) = u64::try_from(n)
                    .ok()
                    .and_then(|n| n.checked_mul(1 + pairs as u64))
                else {
                    return proto("Multi-bulk length out of range");
                };
                if depth >= MAX_DEPTH {
                    return proto(&format!(
                        "No support for nested multi bulk replies with depth > {MAX_DEPTH}"
                    ));
                }
                let mut items = Vec::with_capacity(count.min(1024) as usize);
                for _ in 0..count {
                    items.push(read_reply(r, depth + 1)?);
                }
                let kind = match ty {
                    b'*' => Agg::Array,
                    b'~' => Agg::Set,
                    b'%' => Agg::Map,
                    b'>' => Agg::Push,
                    // Attributes are metadata about the next reply; redis-cli 7.0 cannot parse
                    // them at all, we drop them and return the reply they annotate.
                    _ => continue,
                };
                Reply::Agg(kind, items)
            }
            _ => {
                let got = repr(&[ty]);
                return proto(&format!("Protocol error, got {got} as reply type byte"));
            }
        };
        return Ok(reply);
    }
}

/// redis-cli's `sdscatrepr`: a double-quoted string with C escapes and `\xHH` for the rest.
fn repr(s: &[u8]) -> String {
    let mut out = String::from("\"");
    for &c in s {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x07 => out.push_str("\\a"),
            0x08 => out.push_str("\\b"),
            0x20..=0x7e => out.push(c as char),
            _ => {
                let hex = |n: u8| char::from_digit(n.into(), 16).unwrap_or('0');
                out.extend(['\\', 'x', hex(c >> 4), hex(c & 15)]);
            }
        }
    }
    out.push('"');
    out
}

/// redis-cli's `cliIsMultilineValueTTY`: map values that print over several lines start on
/// their own line so their indexes stay aligned.
fn multiline(r: &Reply) -> bool {
    match r {
        Reply::Agg(Agg::Map, items) => items.len() > 2 || items.get(1).is_some_and(multiline),
        Reply::Agg(_, items) => items.len() > 1 || items.first().is_some_and(multiline),
        _ => false,
    }
}

/// redis-cli's `cliFormatReplyTTY`, including its index alignment (`%*d)` with the width of the
/// largest index) and its habit of not prefixing the first element of a nested aggregate.
fn fmt_tty(r: &Reply, prefix: &str, out: &mut Vec<u8>) {
    let line = |out: &mut Vec<u8>, head: &str, body: &[u8]| {
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(body);
        out.push(b'\n');
    };
    match r {
        Reply::Error(e) => line(out, "(error) ", e),
        Reply::Status(s) | Reply::Verbatim(s) => line(out, "", s),
        Reply::Int(n) => line(out, &format!("(integer) {n}"), b""),
        Reply::Double(d) => line(out, "(double) ", d),
        Reply::BigNum(d) => line(out, "(big number) ", d),
        Reply::Bulk(b) => line(out, &repr(b), b""),
        Reply::Nil => line(out, "(nil)", b""),
        Reply::Bool(b) => line(out, if *b { "(true)" } else { "(false)" }, b""),
        Reply::Agg(kind, items) if items.is_empty() => {
            let what = match kind {
                Agg::Array => "(empty array)",
                Agg::Map => "(empty hash)",
                Agg::Set => "(empty set)",
                Agg::Push => "(empty push)",
            };
            line(out, what, b"");
        }
        Reply::Agg(kind, items) => {
            let step = if *kind == Agg::Map { 2 } else { 1 };
            let width = (items.len() / step).to_string().len();
            let inner = format!("{prefix}{}", " ".repeat(width + 2));
            let sep = match kind {
                Agg::Set => '~',
                Agg::Map => '#',
                _ => ')',
            };
            for (i, chunk) in items.chunks(step).enumerate() {
                let lead = if i == 0 { "" } else { prefix };
                out.extend_from_slice(format!("{lead}{:>width$}{sep} ", i + 1).as_bytes());
                fmt_tty(&chunk[0], &inner, out);
                if let Some(value) = chunk.get(1) {
                    out.pop();
                    out.extend_from_slice(b" => ");
                    if multiline(value) {
                        out.push(b'\n');
                        out.extend_from_slice(inner.as_bytes());
                    }
                    fmt_tty(value, &inner, out);
                }
            }
        }
    }
}

/// redis-cli's `cliFormatReplyRaw`: the piped style, elements joined by newlines.
fn fmt_raw(r: &Reply, out: &mut Vec<u8>) {
    match r {
        Reply::Nil => {}
        Reply::Error(e) => {
            out.extend_from_slice(e);
            out.push(b'\n');
        }
        Reply::Status(s) | Reply::Bulk(s) | Reply::Verbatim(s) => out.extend_from_slice(s),
        Reply::Double(s) | Reply::BigNum(s) => out.extend_from_slice(s),
        Reply::Bool(b) => out.extend_from_slice(if *b { b"(true)" } else { b"(false)" }),
        Reply::Int(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Reply::Agg(kind, items) => {
            let step = if *kind == Agg::Map { 2 } else { 1 };
            for (i, chunk) in items.chunks(step).enumerate() {
                if i > 0 {
                    out.push(b'\n');
                }
                fmt_raw(&chunk[0], out);
                if let Some(value) = chunk.get(1) {
                    out.push(b' ');
                    fmt_raw(value, out);
                }
            }
        }
    }
}

/// redis-cli prints these replies unquoted even on a terminal: they are human-readable reports.
fn raw_output_command(args: &[Vec<u8>]) -> bool {
    let arg = |i: usize| {
        args.get(i)
            .map(|a| a.to_ascii_lowercase())
            .unwrap_or_default()
    };
    let (cmd, sub, n) = (arg(0), arg(1), args.len());
    match cmd.as_slice() {
        b"info" | b"lolwut" => true,
        b"debug" => matches!(
            sub.as_slice(),
            b"htstats" | b"htstats-key" | b"client-eviction"
        ),
        b"memory" => matches!(sub.as_slice(), b"malloc-stats" | b"doctor"),
        b"cluster" => n == 2 && matches!(sub.as_slice(), b"nodes" | b"info"),
        b"client" => matches!(sub.as_slice(), b"list" | b"info"),
        b"latency" => (n == 3 && sub == b"graph") || (n == 2 && sub == b"doctor"),
        b"proxy" => sub == b"info",
        _ => false,
    }
}

fn encode(args: &[Vec<u8>]) -> Vec<u8> {
    let mut v = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        v.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// C `isspace` in the C locale, which `sdssplitargs` uses to skip blanks between arguments.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// redis-cli's `sdssplitargs`, byte for byte; `None` means "Invalid argument(s)".
fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    // Reading past the end yields NUL, like walking the C string redis-cli gets.
    let at = |i: usize| line.get(i).copied().unwrap_or(0);
    let mut args = Vec::new();
    let mut i = 0;
    loop {
        while at(i) != 0 && is_space(at(i)) {
            i += 1;
        }
        if at(i) == 0 {
            return Some(args);
        }
        // `quote` is the open quote character, or 0 outside quotes.
        let (mut quote, mut done, mut cur) = (0u8, false, Vec::new());
        while !done {
            let c = at(i);
            if quote == 0 {
                match c {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => done = true,
                    b'"' | b'\'' => quote = c,
                    _ => cur.push(c),
                }
            } else if let (b'"', b'\\', b'x', Some(h), Some(l)) =
                (quote, c, at(i + 1), hex(at(i + 2)), hex(at(i + 3)))
            {
                cur.push(h * 16 + l);
                i += 3;
            } else if quote == b'"' && c == b'\\' && at(i + 1) != 0 {
                i += 1;
                cur.push(match at(i) {
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'b' => 0x08,
                    b'a' => 0x07,
                    other => other,
                });
            } else if quote == b'\'' && c == b'\\' && at(i + 1) == b'\'' {
                i += 1;
                cur.push(b'\'');
            } else if c == quote {
                // A closing quote glued to more text is an error, not a concatenation.
                if at(i + 1) != 0 && !is_space(at(i + 1)) {
                    return None;
                }
                done = true;
            } else if c == 0 {
                return None; // unterminated quotes
            } else {
                cur.push(c);
            }
            if at(i) != 0 {
                i += 1;
            }
        }
        args.push(cur);
    }
}

/// redis-cli sees arguments as C strings in a few places; this is that view.
fn cstr(a: &[u8]) -> &[u8] {
    a.iter().position(|&b| b == 0).map_or(a, |n| &a[..n])
}

/// C `atoi`: leading blanks, a sign, digits, then stop; garbage gives 0.
fn atoi(a: &[u8]) -> i64 {
    let s = String::from_utf8_lossy(cstr(a));
    let s = s.trim_start_matches(|c: char| c.is_ascii() && is_space(c as u8));
    let end = s
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
        .map_or(s.len(), |(i, _)| i);
    s[..end].parse().unwrap_or(0)
}

/// The REPL's "N COMMAND" repeat prefix, parsed like redis-cli's `strtol` check:
/// `Ok(None)` when the first word is not a number, `Err` when it is one but not a positive count.
fn repeat_prefix(argv: &[Vec<u8>]) -> Result<Option<u64>, ()> {
    if argv.len() < 2 {
        return Ok(None);
    }
    let s = cstr(&argv[0]);
    let t = &s[s.iter().take_while(|&&c| is_space(c)).count()..];
    let digits = t.strip_prefix(b"-").or(t.strip_prefix(b"+")).unwrap_or(t);
    if s.is_empty() {
        return Err(()); // strtol("") consumes nothing yet ends on the NUL: a repeat count of 0
    }
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Ok(None);
    }
    match std::str::from_utf8(t)
        .ok()
        .and_then(|t| t.parse::<i64>().ok())
    {
        Some(n) if n > 0 => Ok(Some(n as u64)),
        _ => Err(()),
    }
}

/// Writes to stdout and flushes so output interleaves with prompts and stays grep-friendly;
/// a closed stdout is ignored rather than panicking like `print!` would.
fn out(bytes: &[u8]) {
    let mut o = io::stdout().lock();
    let _ = o.write_all(bytes);
    let _ = o.flush();
}

fn err_line(parts: &[&[u8]]) {
    let mut e = io::stderr().lock();
    for p in parts {
        let _ = e.write_all(p);
    }
    let _ = e.write_all(b"\n");
}

#[derive(Default)]
struct Cli {
    host: String,
    port: u16,
    user: Option<Vec<u8>>,
    pass: Option<Vec<u8>>,
    /// The database asked for (by -n or a successful SELECT); re-selected after a reconnect.
    input_db: i64,
    /// The database the live connection is in, shown in the prompt.
    db: i64,
    pre_multi_db: i64,
    in_multi: bool,
    tty: bool,
    errcode: bool,
    interactive: bool,
    conn: Option<BufReader<TcpStream>>,
}

impl Cli {
    fn prompt(&self) -> String {
        if self.conn.is_none() {
            return "not connected> ".into();
        }
        let mut p = if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        };
        if self.db != 0 {
            p += &format!("[{}]", self.db);
        }
        if self.in_multi {
            p += "(TX)";
        }
        p + "> "
    }

    /// Connects, then AUTH and SELECT as asked. Like redis-cli 7.0, a refused AUTH or SELECT is
    /// reported but keeps the connection: the user then sees the server's own errors.
    fn connect(&mut self) -> bool {
        self.conn = None;
        self.db = 0;
        self.in_multi = false;
        let stream = match TcpStream::connect((self.host.as_str(), self.port)) {
            Ok(s) => s,
            Err(e) => {
                let msg = format!(
                    "Could not connect to Redis at {}:{}: {}",
                    self.host,
                    self.port,
                    strerror(e)
                );
                err_line(&[msg.as_bytes()]);
                return false;
            }
        };
        let _ = stream.set_nodelay(true);
        self.conn = Some(BufReader::with_capacity(64 * 1024, stream));
        let result = self.auth().and_then(|()| self.select());
        if let Err(f) = result {
            err_line(&[b"Error: ", f.as_bytes()]);
            self.conn = None;
        }
        self.conn.is_some()
    }

    fn auth(&mut self) -> Result<(), Fail> {
        let Some(pass) = self.pass.clone() else {
            return Ok(());
        };
        let mut args = vec![b"AUTH".to_vec()];
        args.extend(self.user.clone());
        args.push(pass);
        if let Reply::Error(e) = self.call(&args)? {
            err_line(&[b"AUTH failed: ", &e]);
        }
        Ok(())
    }

    fn select(&mut self) -> Result<(), Fail> {
        if self.input_db == self.db {
            return Ok(());
        }
        let n = self.input_db.to_string();
        match self.call(&[b"SELECT".to_vec(), n.clone().into_bytes()])? {
            Reply::Error(e) => err_line(&[b"SELECT ", n.as_bytes(), b" failed: ", &e]),
            _ => self.db = self.input_db,
        }
        Ok(())
    }

    fn call(&mut self, args: &[Vec<u8>]) -> Result<Reply, Fail> {
        self.send(&encode(args))?;
        self.recv(false)
    }

    fn send(&mut self, req: &[u8]) -> Result<(), Fail> {
        let conn = self.conn.as_mut().ok_or(EOF)?;
        conn.get_mut().write_all(req).map_err(strerror)
    }

    /// Reads the next reply. Out-of-band RESP3 pushes are shown on a terminal and dropped when
    /// piped (redis-cli's push handler), unless the caller is in pub/sub mode and wants them.
    fn recv(&mut self, want_push: bool) -> Result<Reply, Fail> {
        loop {
            let conn = self.conn.as_mut().ok_or(EOF)?;
            let reply = read_reply(conn, 0)?;
            let Reply::Agg(Agg::Push, items) = &reply else {
                return Ok(reply);
            };
            if want_push {
                return Ok(reply);
            }
            if self.tty {
                let mut buf = Vec::new();
                match items.as_slice() {
                    [Reply::Bulk(kind), Reply::Agg(Agg::Array, keys)]
                        if kind.starts_with(b"invalidate") =>
                    {
                        buf.extend_from_slice(b"-> invalidate: ");
                        for (i, key) in keys.iter().enumerate() {
                            if let Reply::Bulk(k) = key {
                                buf.extend_from_slice(if i > 0 { b", '" } else { b"'" });
                                buf.extend_from_slice(k);
                                buf.push(b'\'');
                            }
                        }
                        buf.push(b'\n');
                    }
                    _ => fmt_tty(&reply, "", &mut buf),
                }
                out(&buf);
            }
        }
    }

    fn print(&self, reply: &Reply, verbatim: bool) {
        let mut buf = Vec::new();
        if verbatim {
            fmt_raw(reply, &mut buf);
        } else if self.tty {
            fmt_tty(reply, "", &mut buf);
        } else {
            fmt_raw(reply, &mut buf);
            buf.push(b'\n');
        }
        out(&buf);
    }

    /// redis-cli's `issueCommandRepeat`: (re)connect if needed, run, and on a broken
    /// connection report it and forget the connection so the next command reconnects.
    /// Returns false when the command failed (exit code 1 in one-shot mode).
    fn issue(&mut self, argv: &[Vec<u8>], repeat: u64) -> bool {
        let name = cstr(&argv[0]).to_ascii_lowercase();
        if name == b"help" || name == b"?" {
            // redis-cli answers from the server's COMMAND DOCS; we only describe ourselves.
            out(
                format!("Type a command and its arguments, or \"quit\" to exit.\n{USAGE}")
                    .as_bytes(),
            );
            return true;
        }
        // Our Python predecessor sent a bare KEYS as KEYS *, and people rely on it.
        let keys_all;
        let argv = if argv.len() == 1 && name == b"keys" {
            keys_all = [argv[0].clone(), b"*".to_vec()];
            &keys_all[..]
        } else {
            argv
        };
        if self.conn.is_none() && !self.connect() {
            return false;
        }
        match self.run(argv, &name, repeat) {
            Ok(ok) => ok,
            Err(f) => {
                err_line(&[b"Error: ", f.as_bytes()]);
                self.conn = None;
                // A lost connection also loses MULTI and SELECT; the reconnect re-selects.
                self.db = 0;
                self.in_multi = false;
                false
            }
        }
    }

    fn run(&mut self, argv: &[Vec<u8>], name: &[u8], repeat: u64) -> Result<bool, Fail> {
        let verbatim = raw_output_command(argv);
        let pubsub = matches!(name, b"subscribe" | b"psubscribe" | b"ssubscribe");
        let req = encode(argv);
        for _ in 0..repeat {
            let reply = match self
                .send(&req)
                .and_then(|()| self.replies(name, pubsub, verbatim))
            {
                // The server closing on SHUTDOWN is success, not a failure.
                Err(_) if name == b"shutdown" => {
                    self.conn = None;
                    return Ok(true);
                }
                Err(f) => return Err(f),
                Ok(None) => return Ok(false),
                Ok(Some(reply)) => reply,
            };
            self.track_state(argv, name, &reply)?;
        }
        Ok(true)
    }

    /// Reads and prints the reply to one command, or a stream of them for MONITOR and
    /// SUBSCRIBE, which go on until an error or a dropped connection. `None` means an error
    /// reply under -e, already reported on stderr.
    fn replies(
        &mut self,
        name: &[u8],
        pubsub: bool,
        verbatim: bool,
    ) -> Result<Option<Reply>, Fail> {
        if pubsub && self.tty {
            out(b"Reading messages... (press Ctrl-C to quit)\n");
        }
        loop {
            let reply = self.recv(pubsub)?;
            if let (Reply::Error(e), true) = (&reply, self.errcode && !self.interactive) {
                err_line(&[e]);
                return Ok(None);
            }
            self.print(&reply, verbatim);
            if !(pubsub || name == b"monitor") || matches!(reply, Reply::Error(_)) {
                return Ok(Some(reply));
            }
        }
    }

    /// Mirrors redis-cli's prompt bookkeeping after SELECT, AUTH, MULTI, EXEC, DISCARD, RESET.
    fn track_state(&mut self, argv: &[Vec<u8>], name: &[u8], reply: &Reply) -> Result<(), Fail> {
        let failed = matches!(reply, Reply::Error(_));
        match (name, argv.len()) {
            (b"select", 2) if !failed => {
                self.db = atoi(&argv[1]);
                self.input_db = self.db;
            }
            (b"auth", 2 | 3) => self.select()?,
            (b"multi", 1) if !failed => {
                self.in_multi = true;
                self.pre_multi_db = self.db;
            }
            (b"exec", 1) if self.in_multi => {
                self.in_multi = false;
                if failed || matches!(reply, Reply::Nil) {
                    self.db = self.pre_multi_db;
                    self.input_db = self.db;
                }
            }
            (b"discard", 1) if !failed => {
                self.in_multi = false;
                self.db = self.pre_multi_db;
                self.input_db = self.db;
            }
            (b"reset", 1) if !failed => {
                self.in_multi = false;
                self.db = 0;
                self.input_db = 0;
            }
            _ => {}
        }
        Ok(())
    }

    /// redis-cli's `repl`. stdin need not be a terminal; the prompt is shown only when it is.
    fn repl(&mut self) {
        self.interactive = true;
        let stdin = io::stdin();
        let show_prompt = stdin.is_terminal();
        let mut input = stdin.lock();
        let mut line = Vec::new();
        loop {
            if show_prompt {
                out(self.prompt().as_bytes());
            }
            line.clear();
            if !matches!(input.read_until(b'\n', &mut line), Ok(n) if n > 0) {
                return;
            }
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            // redis-cli gets each line as a C string, so a NUL byte ends it.
            let Some(argv) = split_args(cstr(&line)) else {
                out(b"Invalid argument(s)\n");
                continue;
            };
            if argv.is_empty() {
                continue;
            }
            let (repeat, skip) = match repeat_prefix(&argv) {
                Ok(Some(n)) => (n, 1),
                Ok(None) => (1, 0),
                Err(()) => {
                    out(b"Invalid redis-cli repeat command option value.\n");
                    continue;
                }
            };
            let first = cstr(&argv[0]).to_ascii_lowercase();
            match first.as_slice() {
                b"quit" | b"exit" => return,
                [b':', ..] => {
                    let pref = argv.get(1).map(|p| p.to_ascii_lowercase());
                    let msg: &[&[u8]] = match pref.as_deref() {
                        Some(b"hints" | b"nohints") if first == b":set" => &[],
                        Some(_) if first == b":set" => {
                            &[b"unknown redis-cli preference '", &argv[1], b"'\n"]
                        }
                        _ => &[b"unknown redis-cli internal command '", &argv[0], b"'\n"],
                    };
                    out(&msg.concat());
                }
                b"restart" => out(b"Use 'restart' only in Lua debugging mode.\n"),
                b"connect" if argv.len() == 3 => {
                    self.host = String::from_utf8_lossy(&argv[1]).into_owned();
                    self.port = u16::try_from(atoi(&argv[2])).unwrap_or(0);
                    self.connect();
                }
                b"clear" if argv.len() == 1 => out(b"\x1b[H\x1b[2J"),
                _ => {
                    let start = Instant::now();
                    self.issue(&argv[skip..], repeat);
                    let secs = start.elapsed().as_secs_f64();
                    if secs >= 0.5 && self.tty {
                        out(format!("({secs:.2}s)\n").as_bytes());
                    }
                }
            }
        }
    }
}

/// Parses redis-cli style options; the first non-option word starts the command.
fn parse_options(args: Vec<Vec<u8>>) -> Result<(Cli, Vec<Vec<u8>>), String> {
    let tty = io::stdout().is_terminal()
        || env::var_os("FAKETTY").is_some()
        || env::var_os("FERROKV_CLI_FORCE_TTY").is_some_and(|v| v == "1");
    let mut cli = Cli {
        host: "127.0.0.1".into(),
        port: DEFAULT_PORT,
        pass: env::var_os("REDISCLI_AUTH").map(OsString::into_vec),
        tty,
        ..Cli::default()
    };
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_slice();
        let value = args
            .get(i + 1)
            .map(|v| String::from_utf8_lossy(v).into_owned());
        let bad = |what: &str, v: &str| {
            format!(
                "Invalid {what} for {}: '{v}'",
                String::from_utf8_lossy(flag)
            )
        };
        match (flag, value) {
            (b"-h", Some(v)) => cli.host = v,
            (b"-p", Some(v)) => cli.port = v.parse().map_err(|_| bad("port", &v))?,
            (b"-a" | b"--pass", Some(_)) => cli.pass = Some(args[i + 1].clone()),
            (b"--user", Some(_)) => cli.user = Some(args[i + 1].clone()),
            (b"-n", Some(v)) => cli.input_db = v.parse().map_err(|_| bad("database number", &v))?,
            (b"-h" | b"--help", _) => {
                out(USAGE.as_bytes());
                std::process::exit(0);
            }
            (b"-v" | b"--version", _) => {
                out(format!("ferrokv-cli {}\n", env!("CARGO_PKG_VERSION")).as_bytes());
                std::process::exit(0);
            }
            (b"-e", _) => cli.errcode = true,
            (b"--no-auth-warning", _) => {}
            ([b'-', ..], _) => {
                let f = String::from_utf8_lossy(flag);
                return Err(format!(
                    "Unrecognized option or bad number of args for: '{f}'"
                ));
            }
            _ => break,
        }
        i += if matches!(flag, b"-e" | b"--no-auth-warning") {
            1
        } else {
            2
        };
    }
    Ok((cli, args[i..].to_vec()))
}

fn main() -> ExitCode {
    let args = env::args_os().skip(1).map(OsString::into_vec).collect();
    let (mut cli, command) = match parse_options(args) {
        Ok(parsed) => parsed,
        Err(msg) => {
            err_line(&[
                msg.as_bytes(),
                b"\nTry 'ferrokv-cli --help' for more information.",
            ]);
            return ExitCode::FAILURE;
        }
    };
    if command.is_empty() {
        // As in redis-cli, a failed first connect is reported and retried on every command.
        cli.connect();
        cli.repl();
        return ExitCode::SUCCESS;
    }
    if !cli.connect() {
        return ExitCode::FAILURE;
    }
    if cli.issue(&command, 1) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
