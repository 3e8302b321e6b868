//! MONITOR: clients that asked to see every command the server runs, and the line each one gets per
//! command (Redis's `replicationFeedMonitors`), with secrets redacted as Redis does.

use super::{Args, Cmd, CmdResult, Ctx, ADMIN, LOADING, NOSCRIPT, STALE};
use crate::protocol::Out;

pub static COMMANDS: &[Cmd] = &[Cmd::new(
    "monitor",
    1,
    ADMIN | NOSCRIPT | LOADING | STALE,
    (0, 0, 0),
    monitor,
)
.doc(
    "server",
    "1.0.0",
    "Listen for all requests received by the server in real time",
    "",
)];

/// MONITOR
fn monitor(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    // Redis's CLIENT_DENY_BLOCKING: a client in a transaction expects one reply per command.
    if ctx.in_exec {
        return super::err("ERR MONITOR isn't allowed for DENY BLOCKING client");
    }
    let c = &mut ctx.conns[ctx.id];
    // Already a monitor (or a replica): Redis ignores it, without a reply.
    if c.monitor || c.replica {
        return Ok(());
    }
    c.monitor = true;
    ctx.st.monitors.push(ctx.id);
    ctx.out.ok();
    Ok(())
}

/// Ends `id`'s MONITOR mode (RESET, or the client going away).
pub fn stop(st: &mut crate::server::State, conn: &mut crate::server::conn::Conn, id: usize) {
    if conn.monitor {
        conn.monitor = false;
        st.monitors.retain(|&m| m != id);
    }
}

/// EVAL*, EVALSHA* and FCALL* are kept from the monitors by their flags and shown here instead, by their
/// handlers before they run: Redis wants a script's own commands to appear after the script.
pub fn feed_script(ctx: &mut Ctx, args: &Args) {
    if !ctx.st.monitors.is_empty() && !ctx.in_script {
        feed(ctx, ctx.db, args);
    }
}

/// Sends every monitor the line for a command the client being served just ran in `db`.
pub fn feed(ctx: &mut Ctx, db: usize, args: &Args) {
    let mut line = Vec::with_capacity(64);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    line.push(b'+');
    // Commands a script runs show as coming from Redis's script client, `lua`.
    let who = if ctx.in_script {
        "lua".to_string()
    } else {
        ctx.conns[ctx.id].addr.to_string()
    };
    line.extend_from_slice(
        format!(
            "{}.{:06} [{} {}] ",
            now.as_secs(),
            now.subsec_micros(),
            db,
            who
        )
        .as_bytes(),
    );
    let redact = redacted_from(args);
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            line.push(b' ');
        }
        if redact.is_some_and(|(from, to)| i >= from && i < to) {
            line.extend_from_slice(b"\"(redacted)\"");
        } else {
            repr(&mut line, a);
        }
    }
    line.extend_from_slice(b"\r\n");
    for k in 0..ctx.st.monitors.len() {
        let m = ctx.st.monitors[k];
        ctx.push_to(m, |out: &mut Out| out.buf.extend_from_slice(&line));
    }
}

/// The argument positions (from, to) Redis replaces by `(redacted)` before showing a command: AUTH's
/// credentials and HELLO's AUTH pair. (CONFIG SET, which redacts secret settings, is an admin command and
/// never shown.)
fn redacted_from(args: &Args) -> Option<(usize, usize)> {
    let name = &args[0];
    if name.eq_ignore_ascii_case(b"auth") {
        return Some((1, args.len()));
    }
    if name.eq_ignore_ascii_case(b"hello") {
        let pos = args
            .iter()
            .skip(2)
            .position(|a| a.eq_ignore_ascii_case(b"auth"))?
            + 2;
        if pos + 2 < args.len() {
            return Some((pos + 1, pos + 3));
        }
    }
    None
}

/// Redis's `sdscatrepr`: double quotes, C escapes, `\xHH` for what isn't printable.
pub fn repr(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'\\' | b'"' => {
                out.push(b'\\');
                out.push(c);
            }
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            7 => out.extend_from_slice(b"\\a"),
            8 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(c),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\x");
                out.push(HEX[(c >> 4) as usize]);
                out.push(HEX[(c & 15) as usize]);
            }
        }
    }
    out.push(b'"');
}
