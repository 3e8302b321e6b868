//! RESP on the client side: encode a request once into a template, and frame replies in a read buffer
//! without allocating (the tool only needs to know where each reply ends and whether it is an error).

/// Encodes `args` as a RESP multibulk request.
pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut v = Vec::new();
    v.push(b'*');
    v.extend_from_slice(args.len().to_string().as_bytes());
    v.extend_from_slice(b"\r\n");
    for a in args {
        v.push(b'$');
        v.extend_from_slice(a.len().to_string().as_bytes());
        v.extend_from_slice(b"\r\n");
        v.extend_from_slice(a);
        v.extend_from_slice(b"\r\n");
    }
    v
}

/// One complete reply at the front of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    /// Bytes the reply takes.
    pub len: usize,
    /// A `-ERR ...` (or RESP3 `!`) reply.
    pub error: bool,
}

/// Frames the first reply in `buf`: `Ok(None)` while it is incomplete, `Err` on bytes that are not RESP
/// (the message says what was seen). Nested aggregates are walked with a counter, not recursion, so a
/// hostile depth cannot overflow the stack.
pub fn frame(buf: &[u8]) -> Result<Option<Frame>, String> {
    let error = matches!(buf.first(), Some(b'-') | Some(b'!'));
    let mut pos = 0;
    // Values still to skip: the reply itself plus the children of every aggregate header seen so far.
    let mut pending: u64 = 1;
    while pending > 0 {
        let Some(&kind) = buf.get(pos) else {
            return Ok(None);
        };
        let Some(eol) = line_end(buf, pos + 1)? else {
            return Ok(None);
        };
        pending -= 1;
        let next = eol + 2;
        match kind {
            b'+' | b'-' | b':' | b',' | b'_' | b'#' | b'(' => pos = next,
            b'$' | b'=' | b'!' => {
                let n = int(&buf[pos + 1..eol])?;
                if n < 0 {
                    pos = next;
                } else {
                    let end = next + n as usize + 2;
                    if buf.len() < end {
                        return Ok(None);
                    }
                    pos = end;
                }
            }
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                let n = int(&buf[pos + 1..eol])?;
                if n > 0 {
                    let per = if matches!(kind, b'%' | b'|') { 2 } else { 1 };
                    pending = pending.saturating_add(n as u64 * per);
                }
                pos = next;
            }
            other => {
                let end = buf.len().min(pos + 40);
                return Err(format!(
                    "unexpected byte {:?} at the start of a reply: {:?}",
                    other as char,
                    String::from_utf8_lossy(&buf[pos..end])
                ));
            }
        }
    }
    Ok(Some(Frame { len: pos, error }))
}

/// The error text of an error reply (`-ERR x` -> `ERR x`), for reporting.
pub fn error_text(reply: &[u8]) -> String {
    let mut s = String::new();
    error_text_into(reply, &mut s);
    s
}

/// Like `error_text`, into a reused buffer.
pub fn error_text_into(reply: &[u8], dst: &mut String) {
    let body = reply.get(1..).unwrap_or_default();
    let body = body.strip_suffix(b"\r\n").unwrap_or(body);
    let body = match reply.first() {
        // A RESP3 blob error: `!<len>\r\n<text>\r\n`.
        Some(b'!') => body
            .iter()
            .position(|&b| b == b'\n')
            .map_or(body, |p| &body[p + 1..]),
        _ => body,
    };
    dst.clear();
    dst.push_str(&String::from_utf8_lossy(body));
}

/// Index of the `\r` of the first `\r\n` at or after `from`; a `\n` without its `\r` is not RESP.
#[inline]
fn line_end(buf: &[u8], from: usize) -> Result<Option<usize>, String> {
    let Some(rest) = buf.get(from..) else {
        return Ok(None);
    };
    let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
        return Ok(None);
    };
    if nl == 0 || rest[nl - 1] != b'\r' {
        return Err(format!(
            "a reply line ends without \\r\\n: {:?}",
            String::from_utf8_lossy(&rest[..nl])
        ));
    }
    Ok(Some(from + nl - 1))
}

fn int(b: &[u8]) -> Result<i64, String> {
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 18 {
        return Err(format!(
            "bad length {:?} in a reply",
            String::from_utf8_lossy(b)
        ));
    }
    let mut v: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return Err(format!(
                "bad length {:?} in a reply",
                String::from_utf8_lossy(b)
            ));
        }
        v = v * 10 + (d - b'0') as i64;
    }
    Ok(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(len: usize, error: bool) -> Result<Option<Frame>, String> {
        Ok(Some(Frame { len, error }))
    }

    #[test]
    fn frames_every_kind() {
        assert_eq!(frame(b"+OK\r\nrest"), ok(5, false));
        assert_eq!(frame(b"-ERR x\r\n"), ok(8, true));
        assert_eq!(frame(b":12\r\n"), ok(5, false));
        assert_eq!(frame(b"$3\r\nabc\r\n"), ok(9, false));
        assert_eq!(frame(b"$-1\r\n"), ok(5, false));
        assert_eq!(frame(b"*2\r\n$1\r\na\r\n:1\r\n"), ok(15, false));
        assert_eq!(frame(b"*-1\r\n"), ok(5, false));
        assert_eq!(frame(b"*0\r\n"), ok(4, false));
        assert_eq!(frame(b"*2\r\n*1\r\n+a\r\n+b\r\n"), ok(16, false));
        assert_eq!(frame(b"%1\r\n+a\r\n+b\r\n"), ok(12, false));
    }

    #[test]
    fn incomplete_at_every_split() {
        let whole = b"*3\r\n$3\r\nabc\r\n*1\r\n:5\r\n-ERR no\r\n";
        for cut in 0..whole.len() {
            assert_eq!(frame(&whole[..cut]), Ok(None), "cut {cut}");
        }
        assert_eq!(frame(whole), ok(whole.len(), false));
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(frame(b"HTTP/1.1 400\r\n").is_err());
        assert!(frame(b"$x\r\n").is_err());
    }

    #[test]
    fn error_texts() {
        assert_eq!(error_text(b"-ERR unknown\r\n"), "ERR unknown");
        assert_eq!(error_text(b"!5\r\nERR x\r\n"), "ERR x");
    }
}
