//! The request parser: RESP multibulk and inline requests, parsed incrementally with Redis 7.0's limits and
//! protocol-error texts. Arguments come out as ranges into the caller's buffer, so nothing is copied; the
//! state kept between calls means a large bulk is never re-scanned as its bytes trickle in.

use crate::util::parse_i64;

/// Longest inline request, and longest `*N`/`$N` header line, before the request is refused.
pub const PROTO_INLINE_MAX_SIZE: usize = 64 * 1024;
/// Redis's `proto-max-bulk-len` default.
pub const PROTO_MAX_BULK_LEN: i64 = 512 * 1024 * 1024;
/// Limits for a client that has not authenticated yet while a password is set.
const UNAUTH_MAX_MULTIBULK: i64 = 10;
const UNAUTH_MAX_BULK: i64 = 16384;

/// Why a request was refused; rendered as `-ERR Protocol error: ...`, after which the client is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtoError {
    TooBigMbulkCount,
    InvalidMultibulkLen,
    UnauthMultibulkLen,
    TooBigBulkCount,
    ExpectedDollar(u8),
    InvalidBulkLen,
    UnauthBulkLen,
    TooBigInline,
    UnbalancedQuotes,
}

impl ProtoError {
    /// Appends the full error reply line, exactly as Redis 7.0 writes it.
    pub fn write_reply(self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"-ERR Protocol error: ");
        let msg: &[u8] = match self {
            ProtoError::TooBigMbulkCount => b"too big mbulk count string",
            ProtoError::InvalidMultibulkLen => b"invalid multibulk length",
            ProtoError::UnauthMultibulkLen => b"unauthenticated multibulk length",
            ProtoError::TooBigBulkCount => b"too big bulk count string",
            ProtoError::ExpectedDollar(c) => {
                out.extend_from_slice(b"expected '$', got '");
                // Redis strips CR/LF from error text so the reply stays one line.
                out.push(if c == b'\r' || c == b'\n' { b' ' } else { c });
                b"'"
            }
            ProtoError::InvalidBulkLen => b"invalid bulk length",
            ProtoError::UnauthBulkLen => b"unauthenticated bulk length",
            ProtoError::TooBigInline => b"too big inline request",
            ProtoError::UnbalancedQuotes => b"unbalanced quotes in request",
        };
        out.extend_from_slice(msg);
        out.extend_from_slice(b"\r\n");
    }
}

/// One step of parsing.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A complete request of this many bytes; its arguments are in `Parser::args`.
    Request(usize),
    /// Bytes that held no command (`*0`, `*-1`, a blank inline line): skip them.
    Empty(usize),
    /// More bytes are needed; the state is kept, call again with the same buffer start plus more bytes.
    Incomplete,
    Error(ProtoError),
}

/// Parser state for one connection. Offsets are relative to the start of the pending request, so the caller
/// may move the unconsumed bytes (to the start of another buffer) between calls.
#[derive(Debug, Default)]
pub struct Parser {
    /// Where parsing resumes.
    pos: usize,
    /// Bulks still expected in the current multibulk; 0 when not inside one.
    remaining: usize,
    /// Length of the bulk whose `$N` header has been read, awaiting its payload.
    bulk: Option<usize>,
    /// Inline requests: bytes already searched for the newline.
    scanned: usize,
    /// Argument ranges of the request being parsed (complete after `Parsed::Request`).
    pub args: Vec<(usize, usize)>,
    /// Inline arguments with escapes or quotes are unescaped here (ranges then point into `scratch` when
    /// `inline_scratch` is set).
    pub scratch: Vec<u8>,
    pub inline_scratch: bool,
}

impl Parser {
    /// True while a request is partly parsed (bytes of it are in the buffer).
    pub fn in_progress(&self) -> bool {
        self.remaining > 0 || self.pos > 0 || self.scanned > 0
    }

    /// The size the buffer must reach for the pending bulk to complete, if one is pending.
    pub fn bulk_target(&self) -> Option<usize> {
        self.bulk.map(|n| self.pos + n + 2)
    }

    /// Parses the request at the start of `buf`. `unauth` applies the stricter limits for clients that have
    /// not authenticated.
    pub fn parse(&mut self, buf: &[u8], unauth: bool) -> Parsed {
        if self.remaining == 0 {
            let Some(&first) = buf.first() else {
                return Parsed::Incomplete;
            };
            if first != b'*' {
                return self.parse_inline(buf);
            }
            self.args.clear();
            self.inline_scratch = false;
            let Some(cr) = find_cr(buf, 1) else {
                if buf.len() > PROTO_INLINE_MAX_SIZE {
                    return Parsed::Error(ProtoError::TooBigMbulkCount);
                }
                return Parsed::Incomplete;
            };
            // The '\n' after the '\r' must be there too before the line counts.
            if cr + 1 >= buf.len() {
                return Parsed::Incomplete;
            }
            let n = match parse_i64(&buf[1..cr]) {
                Some(n) if n <= i32::MAX as i64 => n,
                _ => return Parsed::Error(ProtoError::InvalidMultibulkLen),
            };
            if unauth && n > UNAUTH_MAX_MULTIBULK {
                return Parsed::Error(ProtoError::UnauthMultibulkLen);
            }
            if n <= 0 {
                return Parsed::Empty(cr + 2);
            }
            self.remaining = n as usize;
            self.pos = cr + 2;
            self.bulk = None;
            // Reserve modestly: the count is the client's claim, not yet backed by bytes.
            self.args.reserve((n as usize).min(1024));
        }
        while self.remaining > 0 {
            let len = match self.bulk {
                Some(len) => len,
                None => {
                    let Some(cr) = find_cr(buf, self.pos) else {
                        if buf.len() - self.pos > PROTO_INLINE_MAX_SIZE {
                            return Parsed::Error(ProtoError::TooBigBulkCount);
                        }
                        return Parsed::Incomplete;
                    };
                    if cr + 1 >= buf.len() {
                        return Parsed::Incomplete;
                    }
                    if buf[self.pos] != b'$' {
                        return Parsed::Error(ProtoError::ExpectedDollar(buf[self.pos]));
                    }
                    let len = match parse_i64(&buf[self.pos + 1..cr]) {
                        Some(n) if (0..=PROTO_MAX_BULK_LEN).contains(&n) => n,
                        _ => return Parsed::Error(ProtoError::InvalidBulkLen),
                    };
                    if unauth && len > UNAUTH_MAX_BULK {
                        return Parsed::Error(ProtoError::UnauthBulkLen);
                    }
                    self.pos = cr + 2;
                    self.bulk = Some(len as usize);
                    len as usize
                }
            };
            // Like Redis, the two bytes after the payload are taken as CRLF without being checked.
            if buf.len() - self.pos < len + 2 {
                return Parsed::Incomplete;
            }
            self.args.push((self.pos, self.pos + len));
            self.pos += len + 2;
            self.bulk = None;
            self.remaining -= 1;
        }
        let n = self.pos;
        self.pos = 0;
        Parsed::Request(n)
    }

    fn parse_inline(&mut self, buf: &[u8]) -> Parsed {
        // As with headers, Redis's `strchr` for the newline stops at a NUL, so a line holding a NUL before
        // its newline stays incomplete; `scanned` then rests on the NUL, so later calls find it at once.
        let hit = buf[self.scanned..]
            .iter()
            .position(|&c| c == b'\n' || c == 0)
            .map(|p| self.scanned + p);
        let nl = match hit {
            Some(p) if buf[p] == b'\n' => p,
            _ => {
                if buf.len() > PROTO_INLINE_MAX_SIZE {
                    self.scanned = 0;
                    return Parsed::Error(ProtoError::TooBigInline);
                }
                self.scanned = hit.unwrap_or(buf.len());
                return Parsed::Incomplete;
            }
        };
        self.scanned = 0;
        let mut line = &buf[..nl];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        self.args.clear();
        self.scratch.clear();
        self.inline_scratch = false;
        match split_args(line, &mut self.args, &mut self.scratch) {
            Ok(copied) => self.inline_scratch = copied,
            Err(()) => return Parsed::Error(ProtoError::UnbalancedQuotes),
        }
        if self.args.is_empty() {
            return Parsed::Empty(nl + 1);
        }
        Parsed::Request(nl + 1)
    }
}

/// Finds the `\r` ending a header line. Redis 7.0 searches with `strchr`, which stops at a NUL: a header
/// with a NUL before its `\r` never completes (the client waits until the 64 KB limit refuses it).
#[inline]
fn find_cr(buf: &[u8], from: usize) -> Option<usize> {
    let p = from
        + buf
            .get(from..)?
            .iter()
            .position(|&c| c == b'\r' || c == 0)?;
    (buf[p] == b'\r').then_some(p)
}

#[inline]
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn hex_val(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Splits an inline line the way Redis's `sdssplitargs` does: whitespace separates, `"..."` takes
/// `\n \r \t \b \a \xHH` and `\<any>` escapes, `'...'` takes `\'`, a closing quote must be followed by a
/// space or the end, and a NUL byte ends the line. Arguments that need no unescaping are ranges into `line`;
/// if any needs it, every argument is copied into `scratch` instead (returns true).
#[allow(clippy::result_unit_err)]
pub fn split_args(
    line: &[u8],
    args: &mut Vec<(usize, usize)>,
    scratch: &mut Vec<u8>,
) -> Result<bool, ()> {
    let end = line.iter().position(|&c| c == 0).unwrap_or(line.len());
    let line = &line[..end];
    if !line.contains(&b'"') && !line.contains(&b'\'') {
        let mut i = 0;
        while i < line.len() {
            while i < line.len() && is_space(line[i]) {
                i += 1;
            }
            let start = i;
            while i < line.len() && !is_space(line[i]) {
                i += 1;
            }
            if i > start {
                args.push((start, i));
            }
        }
        return Ok(false);
    }
    let mut i = 0;
    loop {
        while i < line.len() && is_space(line[i]) {
            i += 1;
        }
        if i >= line.len() {
            return Ok(true);
        }
        let start = scratch.len();
        let (mut inq, mut insq) = (false, false);
        loop {
            let c = line.get(i).copied();
            if inq {
                match c {
                    None => return Err(()),
                    Some(b'\\')
                        if i + 3 < line.len()
                            && line[i + 1] == b'x'
                            && hex_val(line[i + 2]).is_some()
                            && hex_val(line[i + 3]).is_some() =>
                    {
                        scratch.push(
                            hex_val(line[i + 2]).unwrap() * 16 + hex_val(line[i + 3]).unwrap(),
                        );
                        i += 3;
                    }
                    Some(b'\\') if i + 1 < line.len() => {
                        i += 1;
                        scratch.push(match line[i] {
                            b'n' => b'\n',
                            b'r' => b'\r',
                            b't' => b'\t',
                            b'b' => 8,
                            b'a' => 7,
                            other => other,
                        });
                    }
                    Some(b'"') => {
                        if i + 1 < line.len() && !is_space(line[i + 1]) {
                            return Err(());
                        }
                        i += 1;
                        break;
                    }
                    Some(other) => scratch.push(other),
                }
            } else if insq {
                match c {
                    None => return Err(()),
                    Some(b'\\') if i + 1 < line.len() && line[i + 1] == b'\'' => {
                        i += 1;
                        scratch.push(b'\'');
                    }
                    Some(b'\'') => {
                        if i + 1 < line.len() && !is_space(line[i + 1]) {
                            return Err(());
                        }
                        i += 1;
                        break;
                    }
                    Some(other) => scratch.push(other),
                }
            } else {
                match c {
                    None => break,
                    Some(ch) if is_space(ch) => break,
                    Some(b'"') => inq = true,
                    Some(b'\'') => insq = true,
                    Some(other) => scratch.push(other),
                }
            }
            i += 1;
        }
        args.push((start, scratch.len()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in chunks of the given sizes, collecting every request's arguments.
    fn run_chunked(input: &[u8], cuts: &[usize]) -> Result<Vec<Vec<Vec<u8>>>, ProtoError> {
        let mut p = Parser::default();
        let mut buf: Vec<u8> = Vec::new();
        let mut out = Vec::new();
        let mut fed = 0;
        let mut cuts = cuts.iter().copied().chain(std::iter::once(input.len()));
        loop {
            loop {
                match p.parse(&buf, false) {
                    Parsed::Request(n) => {
                        let src: &[u8] = if p.inline_scratch { &p.scratch } else { &buf };
                        out.push(p.args.iter().map(|&(a, b)| src[a..b].to_vec()).collect());
                        buf.drain(..n);
                    }
                    Parsed::Empty(n) => {
                        buf.drain(..n);
                    }
                    Parsed::Incomplete => break,
                    Parsed::Error(e) => return Err(e),
                }
            }
            let Some(cut) = cuts.next() else { break };
            let cut = cut.min(input.len());
            if cut > fed {
                buf.extend_from_slice(&input[fed..cut]);
                fed = cut;
            }
            if fed == input.len() && cut == input.len() {
                // One more round to drain what the last chunk completed.
                loop {
                    match p.parse(&buf, false) {
                        Parsed::Request(n) => {
                            let src: &[u8] = if p.inline_scratch { &p.scratch } else { &buf };
                            out.push(p.args.iter().map(|&(a, b)| src[a..b].to_vec()).collect());
                            buf.drain(..n);
                        }
                        Parsed::Empty(n) => {
                            buf.drain(..n);
                        }
                        Parsed::Incomplete => break,
                        Parsed::Error(e) => return Err(e),
                    }
                }
                break;
            }
        }
        Ok(out)
    }

    fn whole(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ProtoError> {
        run_chunked(input, &[])
    }

    fn v(args: &[&str]) -> Vec<Vec<u8>> {
        args.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    /// Every request must parse the same whole, byte by byte, and split at every offset.
    fn check_all_splits(input: &[u8], expect: &[Vec<Vec<u8>>]) {
        assert_eq!(whole(input).unwrap(), expect, "whole");
        let bytewise: Vec<usize> = (1..input.len()).collect();
        assert_eq!(
            run_chunked(input, &bytewise).unwrap(),
            expect,
            "byte by byte"
        );
        for cut in 1..input.len() {
            assert_eq!(
                run_chunked(input, &[cut]).unwrap(),
                expect,
                "split at {cut}"
            );
        }
    }

    #[test]
    fn multibulk_every_split() {
        check_all_splits(
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n*1\r\n$4\r\nPING\r\n",
            &[v(&["SET", "k", "hello"]), v(&["PING"])],
        );
        check_all_splits(b"*2\r\n$3\r\nGET\r\n$0\r\n\r\n", &[v(&["GET", ""])]);
        check_all_splits(b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n", &[v(&["PING"])]);
    }

    #[test]
    fn inline_every_split() {
        check_all_splits(
            b"SET a 1\r\nGET a\n  \r\nPING\r\n",
            &[v(&["SET", "a", "1"]), v(&["GET", "a"]), v(&["PING"])],
        );
        check_all_splits(
            b"SET \"a b\" 'c d'\r\nECHO \"\\x41\\n\"\r\n",
            &[v(&["SET", "a b", "c d"]), v(&["ECHO", "A\n"])],
        );
    }

    #[test]
    fn binary_payloads_are_not_scanned() {
        let mut req = b"*2\r\n$4\r\nECHO\r\n$6\r\n".to_vec();
        req.extend_from_slice(b"a\r\n\0*$");
        req.extend_from_slice(b"\r\n");
        check_all_splits(&req, &[vec![b"ECHO".to_vec(), b"a\r\n\0*$".to_vec()]]);
    }

    #[test]
    fn protocol_errors_match_redis() {
        use ProtoError::*;
        for (input, err) in [
            (&b"*abc\r\n"[..], InvalidMultibulkLen),
            (b"*2147483648\r\n", InvalidMultibulkLen),
            (b"*01\r\n", InvalidMultibulkLen),
            (b"*1\r\n$-1\r\n", InvalidBulkLen),
            (b"*1\r\n$536870913\r\n", InvalidBulkLen),
            (b"*1\r\n$x\r\n", InvalidBulkLen),
            (b"*1\r\n:1\r\n", ExpectedDollar(b':')),
            (b"SET \"a\r\n", UnbalancedQuotes),
            (b"SET \"a\"b\r\n", UnbalancedQuotes),
            (b"SET 'a\r\n", UnbalancedQuotes),
        ] {
            assert_eq!(
                whole(input),
                Err(err),
                "{:?}",
                String::from_utf8_lossy(input)
            );
        }
        let long = vec![b'a'; PROTO_INLINE_MAX_SIZE + 1];
        assert_eq!(whole(&long), Err(TooBigInline));
        let mut long = b"*".to_vec();
        long.extend(vec![b'1'; PROTO_INLINE_MAX_SIZE + 1]);
        assert_eq!(whole(&long), Err(TooBigMbulkCount));
        let mut long = b"*1\r\n$".to_vec();
        long.extend(vec![b'1'; PROTO_INLINE_MAX_SIZE + 1]);
        assert_eq!(whole(&long), Err(TooBigBulkCount));
    }

    #[test]
    fn nul_before_line_end_stalls_like_strchr() {
        for input in [
            &b"ECHO a\0b\r\n"[..],
            b"*1\0\r\n",
            b"*1\r\n$4\0\r\nPING\r\n",
        ] {
            let mut p = Parser::default();
            assert_eq!(p.parse(input, false), Parsed::Incomplete);
            assert_eq!(p.parse(input, false), Parsed::Incomplete);
        }
        let mut long = b"\0".to_vec();
        long.extend(vec![b'\n'; PROTO_INLINE_MAX_SIZE]);
        assert_eq!(whole(&long), Err(ProtoError::TooBigInline));
        assert_eq!(
            whole(b"PING\r\n\0\r\n").map(|r| r.len()),
            Ok(1),
            "the request before the NUL line still runs"
        );
    }

    #[test]
    fn unauthenticated_limits() {
        let mut p = Parser::default();
        assert_eq!(
            p.parse(b"*11\r\n", true),
            Parsed::Error(ProtoError::UnauthMultibulkLen)
        );
        let mut p = Parser::default();
        assert_eq!(
            p.parse(b"*1\r\n$16385\r\n", true),
            Parsed::Error(ProtoError::UnauthBulkLen)
        );
        let mut p = Parser::default();
        assert_eq!(p.parse(b"*10\r\n$16384\r\n", true), Parsed::Incomplete);
    }

    #[test]
    fn error_text() {
        let mut out = Vec::new();
        ProtoError::ExpectedDollar(b'x').write_reply(&mut out);
        assert_eq!(out, b"-ERR Protocol error: expected '$', got 'x'\r\n");
    }

    #[test]
    fn split_args_like_sdssplitargs() {
        for (line, expect) in [
            (&b"a b  c"[..], Some(v(&["a", "b", "c"]))),
            (b"\"a\\tb\" x", Some(v(&["a\tb", "x"]))),
            (b"'it\\'s'", Some(v(&["it's"]))),
            (b"a\"b c\"", Some(v(&["ab c"]))),
            (b"\"\"", Some(v(&[""]))),
            (b"\"\\x4\"", Some(v(&["x4"]))),
            (b"\"abc", None),
            (b"'abc'd", None),
            (b"a\0b c", Some(v(&["a"]))),
        ] {
            let mut args = Vec::new();
            let mut scratch = Vec::new();
            let got = split_args(line, &mut args, &mut scratch)
                .ok()
                .map(|copied| {
                    let src: &[u8] = if copied { &scratch } else { line };
                    args.iter()
                        .map(|&(a, b)| src[a..b].to_vec())
                        .collect::<Vec<_>>()
                });
            assert_eq!(got, expect, "{:?}", String::from_utf8_lossy(line));
        }
    }
}
