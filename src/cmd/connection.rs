//! Connection commands: PING, ECHO, QUIT, SELECT, AUTH, HELLO, RESET and CLIENT. They read and change the
//! state of the connection being served (and, for CLIENT LIST/KILL, of the others). During its own turn a
//! connection's selected db and protocol live in `ctx.db` and `ctx.out.resp3`; the loop stores them back
//! into the `Conn` afterwards, so those two fields of the current `Conn` are stale here.

use std::io::Write as _;

use super::tracking::{
    self, client_caching, client_getredir, client_tracking, client_trackinginfo,
};
use super::{
    err, int_arg, Args, Cmd, CmdResult, Ctx, Error, ADMIN, ALLOW_BUSY, ERR_DB_INDEX, ERR_SYNTAX,
    FAST, LOADING, NOSCRIPT, NO_AUTH, SENTINEL, STALE,
};
use crate::server::conn::{Conn, REPLY_OFF, REPLY_SKIP, REPLY_SKIP_NEXT};
use crate::server::waiters::Waiters;
use crate::server::{State, REDIS_VERSION};

/// Flags of the commands a client may send before authenticating (Redis 7.0's AUTH, HELLO, QUIT, RESET).
const HANDSHAKE: u32 = NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY;
const CLIENT_FLAGS: u32 = NOSCRIPT | LOADING | STALE;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("ping", -1, FAST | SENTINEL, (0, 0, 0), ping).doc(
        "connection",
        "1.0.0",
        "Ping the server",
        "O(1)",
    ),
    Cmd::new("echo", 2, LOADING | STALE | FAST, (0, 0, 0), echo).doc(
        "connection",
        "1.0.0",
        "Echo the given string",
        "O(1)",
    ),
    Cmd::new("quit", -1, HANDSHAKE, (0, 0, 0), quit).doc(
        "connection",
        "1.0.0",
        "Close the connection",
        "O(1)",
    ),
    Cmd::new("select", 2, LOADING | STALE | FAST, (0, 0, 0), select).doc(
        "connection",
        "1.0.0",
        "Change the selected database for the current connection",
        "O(1)",
    ),
    Cmd::new("auth", -2, HANDSHAKE, (0, 0, 0), auth).doc(
        "connection",
        "1.0.0",
        "Authenticate to the server",
        "O(N) where N is the number of passwords defined for the user",
    ),
    Cmd::new("hello", -1, HANDSHAKE, (0, 0, 0), hello).doc(
        "connection",
        "6.0.0",
        "Handshake with Redis",
        "O(1)",
    ),
    Cmd::new("reset", 1, HANDSHAKE, (0, 0, 0), reset).doc(
        "connection",
        "6.2.0",
        "Reset the connection",
        "O(1)",
    ),
    Cmd::new("client", -2, 0, (0, 0, 0), client)
        .doc(
            "connection",
            "2.4.0",
            "A container for client connection commands",
            "Depends on subcommand.",
        )
        .subs(CLIENT_SUBS),
];

static CLIENT_SUBS: &[Cmd] = &[
    Cmd::new("id", 2, CLIENT_FLAGS, (0, 0, 0), client_id).doc(
        "connection",
        "5.0.0",
        "Returns the client ID for the current connection",
        "O(1)",
    ),
    Cmd::new("info", 2, CLIENT_FLAGS, (0, 0, 0), client_info).doc(
        "connection",
        "6.2.0",
        "Returns information about the current client connection.",
        "O(1)",
    ),
    Cmd::new("getredir", 2, CLIENT_FLAGS, (0, 0, 0), client_getredir).doc(
        "connection",
        "6.0.0",
        "Get tracking notifications redirection client ID if any",
        "O(1)",
    ),
    Cmd::new("getname", 2, CLIENT_FLAGS, (0, 0, 0), client_getname).doc(
        "connection",
        "2.6.9",
        "Get the current connection name",
        "O(1)",
    ),
    Cmd::new(
        "trackinginfo",
        2,
        CLIENT_FLAGS,
        (0, 0, 0),
        client_trackinginfo,
    )
    .doc(
        "connection",
        "6.2.0",
        "Return information about server assisted client side caching for the current connection",
        "O(1)",
    ),
    Cmd::new(
        "no-evict",
        3,
        ADMIN | CLIENT_FLAGS,
        (0, 0, 0),
        client_no_evict,
    )
    .doc(
        "connection",
        "7.0.0",
        "Set client eviction mode for the current connection",
        "O(1)",
    ),
    Cmd::new("reply", 3, CLIENT_FLAGS | SENTINEL, (0, 0, 0), client_reply).doc(
        "connection",
        "3.2.0",
        "Instruct the server whether to reply to commands",
        "O(1)",
    ),
    Cmd::new("setname", 3, CLIENT_FLAGS, (0, 0, 0), client_setname).doc(
        "connection",
        "2.6.9",
        "Set the current connection name",
        "O(1)",
    ),
    Cmd::new("list", -2, ADMIN | CLIENT_FLAGS, (0, 0, 0), client_list).doc(
        "connection",
        "2.4.0",
        "Get the list of client connections",
        "O(N) where N is the number of client connections",
    ),
    Cmd::new("kill", -3, ADMIN | CLIENT_FLAGS, (0, 0, 0), client_kill).doc(
        "connection",
        "2.4.0",
        "Kill the connection of a client",
        "O(N) where N is the number of client connections",
    ),
    Cmd::new(
        "unblock",
        -3,
        ADMIN | CLIENT_FLAGS,
        (0, 0, 0),
        client_unblock,
    )
    .doc(
        "connection",
        "5.0.0",
        "Unblock a client blocked in a blocking command from a different connection",
        "O(log N) where N is the number of client connections",
    ),
    Cmd::new("tracking", -3, CLIENT_FLAGS, (0, 0, 0), client_tracking).doc(
        "connection",
        "6.0.0",
        "Enable or disable server assisted client side caching support",
        "O(1). Some options may introduce additional complexity.",
    ),
    Cmd::new("caching", 3, CLIENT_FLAGS, (0, 0, 0), client_caching).doc(
        "connection",
        "6.0.0",
        "Instruct the server about tracking or not keys in the next request",
        "O(1)",
    ),
    Cmd::new("help", 2, LOADING | STALE, (0, 0, 0), client_help).doc(
        "connection",
        "5.0.0",
        "Show helpful text about the different subcommands",
        "O(1)",
    ),
];

const ERR_WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
const ERR_BAD_NAME: &str =
    "ERR Client names cannot contain spaces, newlines or special characters.";

/// PING [message]
pub fn ping(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 2 {
        return err("ERR wrong number of arguments for 'ping' command");
    }
    // A RESP2 subscriber can only read push-shaped replies, so Redis answers it with an array.
    if !ctx.out.resp3 && ctx.conns[ctx.id].subscriptions() > 0 {
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(args.get(1).unwrap_or(b""));
    } else if args.len() == 1 {
        ctx.out.simple("PONG");
    } else {
        ctx.out.bulk(&args[1]);
    }
    Ok(())
}

/// ECHO message
pub fn echo(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ctx.out.bulk(&args[1]);
    Ok(())
}

/// QUIT
pub fn quit(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.out.ok();
    ctx.conn().close_after_reply = true;
    Ok(())
}

/// SELECT index
pub fn select(ctx: &mut Ctx, args: &Args) -> CmdResult {
    // Redis reads the index as a C int, with an error of its own (sic) beyond i32.
    let n = int_arg(args, 1)?;
    let n = i32::try_from(n).map_err(|_| {
        Error::from("ERR value is out of range, value must between -2147483648 and 2147483647")
    })?;
    if n < 0 || n as usize >= ctx.st.dbs.len() {
        return err(ERR_DB_INDEX);
    }
    ctx.db = n as usize;
    ctx.out.ok();
    Ok(())
}

/// The password of the `default` user, if one is set (`requirepass`).
fn password(st: &State) -> Option<&[u8]> {
    st.cfg.requirepass.as_deref().filter(|p| !p.is_empty())
}

/// Whether `user`/`pass` authenticate. Only the `default` user exists; without a password it takes any.
fn credentials_ok(st: &State, user: &[u8], pass: &[u8]) -> bool {
    if user != b"default" {
        return false;
    }
    match password(st) {
        None => true,
        Some(want) => {
            // Compare every byte whatever the first mismatch, so timing does not reveal a prefix.
            let mut diff = want.len() ^ pass.len();
            for (i, &w) in want.iter().enumerate() {
                diff |= (w ^ pass.get(i).copied().unwrap_or(!w)) as usize;
            }
            diff == 0
        }
    }
}

/// AUTH [username] password
pub fn auth(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 3 {
        return err(ERR_SYNTAX);
    }
    let (user, pass): (&[u8], &[u8]) = if args.len() == 2 {
        if password(ctx.st).is_none() {
            return err(
                "ERR AUTH <password> called without any password configured for the default user. \
                 Are you sure your configuration is correct?",
            );
        }
        (b"default", &args[1])
    } else {
        (&args[1], &args[2])
    };
    // A failed AUTH leaves an authenticated connection authenticated, as in Redis.
    if !credentials_ok(ctx.st, user, pass) {
        return err(ERR_WRONGPASS);
    }
    ctx.conn().authed = true;
    ctx.out.ok();
    Ok(())
}

/// Checks a client name as Redis does: printable ASCII without spaces, so CLIENT LIST splits on spaces.
fn valid_name(name: &[u8]) -> bool {
    name.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

/// Sets (or, with an empty name, clears) the connection's name.
fn set_name(conn: &mut Conn, name: &[u8]) -> CmdResult {
    if !valid_name(name) {
        return err(ERR_BAD_NAME);
    }
    conn.name = (!name.is_empty()).then(|| name.into());
    Ok(())
}

/// HELLO [protover [AUTH username password] [SETNAME clientname]]
pub fn hello(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut ver = 0;
    if args.len() >= 2 {
        ver = crate::util::parse_i64(&args[1])
            .ok_or_else(|| Error::from("ERR Protocol version is not an integer or out of range"))?;
        if !(2..=3).contains(&ver) {
            return err("NOPROTO unsupported protocol version");
        }
    }
    // Redis 7.0 applies each option as it reads it: an AUTH or SETNAME before a bad option takes effect
    // even though the command fails.
    let mut j = 2;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let opt = &args[j];
        if opt.eq_ignore_ascii_case(b"AUTH") && more >= 2 {
            if !credentials_ok(ctx.st, &args[j + 1], &args[j + 2]) {
                return err(ERR_WRONGPASS);
            }
            ctx.conn().authed = true;
            j += 3;
        } else if opt.eq_ignore_ascii_case(b"SETNAME") && more >= 1 {
            set_name(ctx.conn(), &args[j + 1])?;
            j += 2;
        } else {
            let mut msg = String::from("ERR Syntax error in HELLO option '");
            msg.push_str(&String::from_utf8_lossy(c_str(opt)));
            msg.push('\'');
            return err(msg);
        }
    }
    if !ctx.conns[ctx.id].authed {
        return err(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO \
             AUTH <user> <pass> option can be used to authenticate the client and select the RESP \
             protocol version at the same time",
        );
    }
    if ver != 0 {
        ctx.out.resp3 = ver == 3;
    }
    let id = ctx.conns[ctx.id].id as i64;
    let proto = if ctx.out.resp3 { 3 } else { 2 };
    let out = &mut *ctx.out;
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(REDIS_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(proto);
    out.bulk(b"id");
    out.int(id);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
    Ok(())
}

/// RESET
pub fn reset(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let authed = password(ctx.st).is_none();
    ctx.db = 0;
    ctx.out.resp3 = false;
    let id = ctx.id;
    let c = &mut ctx.conns[id];
    c.name = None;
    c.authed = authed;
    c.no_evict = false;
    // As Redis's clearClientConnectionState: replies come back on (a SKIP already in force still applies).
    c.reply &= !(REPLY_OFF | REPLY_SKIP_NEXT);
    c.multi = None;
    c.multi_error = false;
    c.watch_dirty = false;
    crate::cmd::monitor::stop(ctx.st, c, id);
    tracking::disable(ctx.st, c, id);
    // Subscriptions and watches end silently (no unsubscribe messages), as in Redis.
    crate::cmd::multi::unwatch_all(ctx.st, ctx.conns, id);
    let c = &mut ctx.conns[id];
    let w = &mut ctx.st.waiters;
    for ch in c.channels.drain(..) {
        Waiters::unsubscribe(&mut w.channels, &ch, id);
    }
    for p in c.patterns.drain(..) {
        Waiters::unsubscribe(&mut w.patterns, &p, id);
    }
    for ch in c.shard_channels.drain(..) {
        Waiters::unsubscribe(&mut w.shard_channels, &ch, id);
    }
    ctx.out.simple("RESET");
    Ok(())
}

/// The bytes before the first NUL, as C's `%s` prints them in Redis's error messages.
fn c_str(s: &[u8]) -> &[u8] {
    &s[..s.iter().position(|&c| c == 0).unwrap_or(s.len())]
}

/// The container; dispatch resolves every subcommand (and rejects a bare CLIENT by arity) first.
fn client(_ctx: &mut Ctx, _args: &Args) -> CmdResult {
    err("ERR wrong number of arguments for 'client' command")
}

/// CLIENT ID
pub fn client_id(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let id = ctx.conn().id as i64;
    ctx.out.int(id);
    Ok(())
}

/// CLIENT GETNAME
pub fn client_getname(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let Ctx { conns, id, out, .. } = ctx;
    match &conns[*id].name {
        Some(n) => out.bulk(n),
        None => out.null(),
    }
    Ok(())
}

/// CLIENT SETNAME connection-name
pub fn client_setname(ctx: &mut Ctx, args: &Args) -> CmdResult {
    set_name(ctx.conn(), &args[2])?;
    ctx.out.ok();
    Ok(())
}

/// CLIENT NO-EVICT ON | OFF
pub fn client_no_evict(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let on = match &args[2] {
        a if a.eq_ignore_ascii_case(b"on") => true,
        a if a.eq_ignore_ascii_case(b"off") => false,
        _ => return err(ERR_SYNTAX),
    };
    ctx.conn().no_evict = on;
    ctx.out.ok();
    Ok(())
}

/// CLIENT REPLY ON | OFF | SKIP
pub fn client_reply(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mode = &args[2];
    let c = ctx.conn();
    if mode.eq_ignore_ascii_case(b"on") {
        c.reply &= !(REPLY_OFF | REPLY_SKIP);
        ctx.out.ok();
    } else if mode.eq_ignore_ascii_case(b"off") {
        c.reply |= REPLY_OFF;
    } else if mode.eq_ignore_ascii_case(b"skip") {
        if c.reply & REPLY_OFF == 0 {
            c.reply |= REPLY_SKIP_NEXT;
        }
    } else {
        return err(ERR_SYNTAX);
    }
    Ok(())
}

/// Commands whose replies are Pub/Sub pushes, which CLIENT REPLY OFF | SKIP does not silence.
pub fn is_subscribe_cmd(name: &[u8]) -> bool {
    [
        &b"subscribe"[..],
        b"unsubscribe",
        b"psubscribe",
        b"punsubscribe",
        b"ssubscribe",
        b"sunsubscribe",
    ]
    .iter()
    .any(|n| n.eq_ignore_ascii_case(name))
}

/// Client classes of CLIENT LIST TYPE and CLIENT KILL TYPE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Replica,
    Pubsub,
    Master,
}

fn parse_type(name: &[u8]) -> Result<ClientType, Error> {
    let t = if name.eq_ignore_ascii_case(b"normal") {
        ClientType::Normal
    } else if name.eq_ignore_ascii_case(b"slave") || name.eq_ignore_ascii_case(b"replica") {
        ClientType::Replica
    } else if name.eq_ignore_ascii_case(b"pubsub") {
        ClientType::Pubsub
    } else if name.eq_ignore_ascii_case(b"master") {
        ClientType::Master
    } else {
        return err(format!(
            "ERR Unknown client type '{}'",
            String::from_utf8_lossy(c_str(name))
        ));
    };
    Ok(t)
}

/// A client attached with SYNC/PSYNC is a replica, a subscriber a Pub/Sub client; this server is never a
/// replica itself, so no connection is a master.
fn client_type(c: &Conn) -> ClientType {
    if c.replica {
        ClientType::Replica
    } else if c.subscriptions() > 0 {
        ClientType::Pubsub
    } else {
        ClientType::Normal
    }
}

/// The current request as the query buffer held it (its RESP multibulk size) and its argument bytes,
/// for the `qbuf` and `argv-mem` fields of the connection being served.
fn request_sizes(args: &Args) -> (usize, usize) {
    let digits = |n: usize| n.to_string().len();
    let mut qbuf = 3 + digits(args.len());
    let mut argv = 0;
    for a in args.iter() {
        qbuf += 5 + digits(a.len()) + a.len();
        argv += a.len();
    }
    (qbuf, argv)
}

/// Appends one CLIENT LIST line (without the newline) for the connection at slab key `key`, with Redis
/// 7.0's fields in its order.
fn push_info(ctx: &Ctx, key: usize, args: &Args, o: &mut Vec<u8>) {
    let c = &ctx.conns[key];
    let me = key == ctx.id;
    let (db, resp3) = if me {
        (ctx.db, ctx.out.resp3)
    } else {
        (c.db, c.resp3)
    };
    let (qbuf, qbuf_free, argv_mem) = if me {
        let (q, a) = request_sizes(args);
        (q, 0, a)
    } else {
        // A blocked client keeps its command's arguments, as Redis keeps its argv.
        let argv = c.blocked.as_ref().map_or(0, |b| b.cmd.buf.len());
        (c.rbuf.len(), c.rbuf.capacity() - c.rbuf.len(), argv)
    };
    let (multi, multi_mem) = match &c.multi {
        Some(q) => (q.len() as i64, q.iter().map(|a| a.buf.len()).sum()),
        None => (-1, 0),
    };
    // Redis keeps the first 16 KB of unsent replies in a fixed buffer (obl) and the rest in a list (oll,
    // omem); the same split of our single buffer keeps the fields meaningful to tools that watch them.
    let pending = if me { 0 } else { c.pending_out() };
    let obl = pending.min(16 * 1024);
    let omem = pending - obl;
    let tot_mem = std::mem::size_of::<Conn>()
        + c.rbuf.capacity()
        + c.wbuf.capacity()
        + c.name.as_ref().map_or(0, |n| n.len())
        + argv_mem
        + multi_mem;
    let now_s = ctx.st.now / 1000;
    let _ = write!(o, "id={} addr={} laddr=", c.id, c.addr);
    match c.laddr {
        Some(l) => {
            let _ = write!(o, "{l}");
        }
        None => o.push(b'?'),
    }
    let _ = write!(o, " fd={} name=", c.fd());
    if let Some(n) = &c.name {
        o.extend_from_slice(n);
    }
    let _ = write!(
        o,
        " age={} idle={} flags=",
        now_s.saturating_sub(c.created_ms / 1000),
        now_s.saturating_sub(c.last_ms / 1000)
    );
    // Redis's letters, in its order.
    let flags_at = o.len();
    if c.monitor {
        o.push(b'O');
    } else if c.replica {
        o.push(b'S');
    }
    if c.subscriptions() > 0 {
        o.push(b'P');
    }
    if c.multi.is_some() {
        o.push(b'x');
    }
    if c.blocked.is_some() {
        o.push(b'b');
    }
    tracking::list_flags(c, o);
    if c.watch_dirty {
        o.push(b'd');
    }
    if c.close_after_reply {
        o.push(b'c');
    }
    if c.kill {
        o.push(b'A');
    }
    if c.no_evict {
        o.push(b'e');
    }
    if o.len() == flags_at {
        o.push(b'N');
    }
    let _ = write!(
        o,
        " db={db} sub={} psub={} ssub={} multi={multi} qbuf={qbuf} qbuf-free={qbuf_free} \
         argv-mem={argv_mem} multi-mem={multi_mem} rbs={} rbp={} obl={obl} oll={} omem={omem} \
         tot-mem={tot_mem} events=r{} cmd=",
        c.channels.len(),
        c.patterns.len(),
        c.shard_channels.len(),
        c.wbuf.capacity(),
        c.wbuf.len(),
        (omem > 0) as u8,
        if c.writable { "w" } else { "" },
    );
    match c.last_cmd {
        Some(i) => o.extend_from_slice(super::registry().all[i].fullname.as_bytes()),
        None => o.extend_from_slice(b"NULL"),
    }
    let _ = write!(
        o,
        " user=default redir={} resp={}",
        tracking::list_redir(c),
        if resp3 { 3 } else { 2 }
    );
}

/// What a connection holds in memory (CLIENT LIST's `tot-mem` without the request being run), for
/// maxmemory-clients.
pub fn client_memory(c: &Conn) -> usize {
    std::mem::size_of::<Conn>()
        + c.rbuf.capacity()
        + c.wbuf.capacity()
        + c.name.as_ref().map_or(0, |n| n.len())
        + c.blocked.as_ref().map_or(0, |b| b.cmd.buf.len())
        + c.multi
            .as_ref()
            .map_or(0, |q| q.iter().map(|a| a.buf.len()).sum())
}

/// Redis's getClientEvictionLimit: the bytes all normal and Pub/Sub clients may hold together (0: no
/// limit). A percentage is of maxmemory; never below 128 KB, so a bad setting cannot cut everyone off.
fn client_eviction_limit(st: &State) -> usize {
    let m = st.cfg.maxmemory_clients;
    let limit = if m < 0 && st.cfg.maxmemory > 0 {
        (st.cfg.maxmemory as f64 * -(m as f64) / 100.0) as usize
    } else if m > 0 {
        m as usize
    } else {
        return 0;
    };
    limit.max(128 * 1024)
}

/// Redis's evictClients: while the clients together hold more than maxmemory-clients, the biggest
/// evictable ones (not replicas, not CLIENT NO-EVICT) are marked to be closed, logged and counted.
pub fn evict_clients(st: &mut State, conns: &mut slab::Slab<Conn>) {
    let limit = client_eviction_limit(st);
    if limit == 0 {
        return;
    }
    let mut total = 0;
    let mut evictable = Vec::new();
    for (k, c) in conns.iter() {
        if c.replica || c.kill {
            continue;
        }
        let mem = client_memory(c);
        total += mem;
        if !c.no_evict {
            evictable.push((mem, k));
        }
    }
    if total < limit {
        return;
    }
    evictable.sort_unstable_by(|a, b| b.cmp(a));
    for (mem, k) in evictable {
        if total < limit {
            return;
        }
        let c = &mut conns[k];
        log::info!(
            "Evicting client: id={} addr={} name={} tot-mem={mem}",
            c.id,
            c.addr,
            String::from_utf8_lossy(c.name.as_deref().unwrap_or(b""))
        );
        c.kill = true;
        st.to_close.push(k);
        st.stats.evicted_clients += 1;
        total -= mem;
    }
    if total >= limit {
        log::warn!("Over client maxmemory after evicting all evictable clients");
    }
}

/// CLIENT INFO
pub fn client_info(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut o = Vec::with_capacity(300);
    push_info(ctx, ctx.id, args, &mut o);
    o.push(b'\n');
    ctx.out.verbatim(&o);
    Ok(())
}

/// Slab keys of the live connections, oldest first (Redis lists clients in connection order).
fn clients_by_age(ctx: &Ctx) -> Vec<usize> {
    let mut v: Vec<(u64, usize)> = ctx
        .conns
        .iter()
        .filter(|(_, c)| !c.kill)
        .map(|(k, c)| (c.id, k))
        .collect();
    v.sort_unstable();
    v.into_iter().map(|(_, k)| k).collect()
}

/// CLIENT LIST [TYPE NORMAL | MASTER | REPLICA | PUBSUB] [ID client-id [client-id ...]]
pub fn client_list(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut o = Vec::new();
    if args.len() == 4 && args[2].eq_ignore_ascii_case(b"type") {
        let t = parse_type(&args[3])?;
        for k in clients_by_age(ctx) {
            if client_type(&ctx.conns[k]) == t {
                push_info(ctx, k, args, &mut o);
                o.push(b'\n');
            }
        }
    } else if args.len() > 3 && args[2].eq_ignore_ascii_case(b"id") {
        let mut ids = Vec::with_capacity(args.len() - 3);
        for a in args.from(3) {
            let id =
                crate::util::parse_i64(a).ok_or_else(|| Error::from("ERR Invalid client ID"))?;
            ids.push(id);
        }
        for id in ids {
            let found = ctx
                .conns
                .iter()
                .find(|(_, c)| c.id as i64 == id && !c.kill)
                .map(|(k, _)| k);
            if let Some(k) = found {
                push_info(ctx, k, args, &mut o);
                o.push(b'\n');
            }
        }
    } else if args.len() != 2 {
        return err(ERR_SYNTAX);
    } else {
        for k in clients_by_age(ctx) {
            push_info(ctx, k, args, &mut o);
            o.push(b'\n');
        }
    }
    ctx.out.verbatim(&o);
    Ok(())
}

/// What CLIENT KILL matches; every filter given must match.
#[derive(Default)]
struct KillFilter<'a> {
    addr: Option<&'a [u8]>,
    laddr: Option<&'a [u8]>,
    ctype: Option<ClientType>,
    id: Option<u64>,
    skipme: bool,
}

/// CLIENT KILL ip:port | CLIENT KILL [ID client-id] [TYPE NORMAL | MASTER | SLAVE | REPLICA | PUBSUB]
/// [USER username] [ADDR ip:port] [LADDR ip:port] [SKIPME YES | NO] ...
pub fn client_kill(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let old_form = args.len() == 3;
    let mut f = KillFilter {
        skipme: true,
        ..KillFilter::default()
    };
    if old_form {
        f.addr = Some(&args[2]);
        // The old form may kill the caller itself.
        f.skipme = false;
    } else {
        let mut i = 2;
        while i < args.len() {
            let opt = &args[i];
            let Some(val) = args.get(i + 1) else {
                return err(ERR_SYNTAX);
            };
            if opt.eq_ignore_ascii_case(b"id") {
                match crate::util::parse_i64(val) {
                    Some(n) if n >= 1 => f.id = Some(n as u64),
                    _ => return err("ERR client-id should be greater than 0"),
                }
            } else if opt.eq_ignore_ascii_case(b"type") {
                f.ctype = Some(parse_type(val)?);
            } else if opt.eq_ignore_ascii_case(b"addr") {
                f.addr = Some(val);
            } else if opt.eq_ignore_ascii_case(b"laddr") {
                f.laddr = Some(val);
            } else if opt.eq_ignore_ascii_case(b"user") {
                // `default` is the only user, and every connection is authenticated as it.
                if val != b"default" {
                    return err(format!(
                        "ERR No such user '{}'",
                        String::from_utf8_lossy(c_str(val))
                    ));
                }
            } else if opt.eq_ignore_ascii_case(b"skipme") {
                if val.eq_ignore_ascii_case(b"yes") {
                    f.skipme = true;
                } else if val.eq_ignore_ascii_case(b"no") {
                    f.skipme = false;
                } else {
                    return err(ERR_SYNTAX);
                }
            } else {
                return err(ERR_SYNTAX);
            }
            i += 2;
        }
    }
    let mut killed = 0i64;
    let mut kill_me = false;
    let mut text = Vec::new();
    for (k, c) in ctx.conns.iter_mut() {
        if c.kill {
            continue;
        }
        if let Some(a) = f.addr {
            text.clear();
            let _ = write!(text, "{}", c.addr);
            if text != a {
                continue;
            }
        }
        if let Some(a) = f.laddr {
            text.clear();
            if let Some(l) = c.laddr {
                let _ = write!(text, "{l}");
            }
            if text != a {
                continue;
            }
        }
        if f.ctype.is_some_and(|t| t != client_type(c)) || f.id.is_some_and(|id| id != c.id) {
            continue;
        }
        if k == ctx.id {
            if f.skipme {
                continue;
            }
            kill_me = true;
        } else {
            c.kill = true;
            ctx.st.to_close.push(k);
        }
        killed += 1;
    }
    if old_form {
        if killed == 0 {
            return err("ERR No such client");
        }
        ctx.out.ok();
    } else {
        ctx.out.int(killed);
    }
    // Only now that the reply is queued: it must reach the client before the close.
    if kill_me {
        ctx.conn().close_after_reply = true;
    }
    Ok(())
}

/// CLIENT UNBLOCK client-id [TIMEOUT | ERROR]
pub fn client_unblock(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 4 {
        // Redis 7.0 checks this count in the handler, with its generic subcommand error.
        return Err(super::subcommand_syntax(args));
    }
    let mut error = false;
    if let Some(reason) = args.get(3) {
        if reason.eq_ignore_ascii_case(b"error") {
            error = true;
        } else if !reason.eq_ignore_ascii_case(b"timeout") {
            return err("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
        }
    }
    let id = int_arg(args, 2)?;
    let reqs = &mut ctx.st.waiters.unblock_requests;
    // The loop ends the wait after this turn; a second request in the same turn finds it already ending.
    let target = ctx
        .conns
        .iter()
        .find(|(_, c)| c.id as i64 == id && c.blocked.is_some() && !c.kill)
        .map(|(k, _)| k)
        .filter(|k| !reqs.iter().any(|&(r, _)| r == *k));
    match target {
        Some(k) => {
            reqs.push((k, error));
            ctx.out.int(1);
        }
        None => ctx.out.int(0),
    }
    Ok(())
}

const CLIENT_HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "HELP",
    "    Prints this help.",
];

/// CLIENT HELP
pub fn client_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.out.array(CLIENT_HELP.len());
    for line in CLIENT_HELP {
        ctx.out.simple(line);
    }
    Ok(())
}
