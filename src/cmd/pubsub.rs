//! Pub/Sub: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, their UNSUBSCRIBE forms, PUBLISH, SPUBLISH and PUBSUB. The
//! subscriber lists live in `State::waiters` (channel or pattern → clients, in subscription order) and in
//! each `Conn`; messages go straight into the subscribers' own output buffers and the loop flushes them
//! after the turn. Confirmations and messages are arrays under RESP2 and pushes (`>`) under RESP3, as in
//! Redis 7.0. A subscriber whose unsent output passes the pubsub class of client-output-buffer-limit is
//! dropped; the publisher never waits for anyone.

use log::warn;
use slab::Slab;

use super::{err, Args, Cmd, CmdResult, Ctx, LOADING, NOSCRIPT, PUBSUB, STALE};
use crate::protocol::Out;
use crate::server::conn::Conn;
use crate::server::waiters::{KeyMap, Waiters};
use crate::store::glob::glob_match;

const SUB_FLAGS: u32 = PUBSUB | NOSCRIPT | LOADING | STALE;
const INTROSPECT: u32 = PUBSUB | LOADING | STALE;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("subscribe", -2, SUB_FLAGS, (0, 0, 0), subscribe).doc(
        "pubsub",
        "2.0.0",
        "Listen for messages published to the given channels",
        "O(N) where N is the number of channels to subscribe to.",
    ),
    Cmd::new("unsubscribe", -1, SUB_FLAGS, (0, 0, 0), unsubscribe).doc(
        "pubsub",
        "2.0.0",
        "Stop listening for messages posted to the given channels",
        "O(N) where N is the number of clients already subscribed to a channel.",
    ),
    Cmd::new("psubscribe", -2, SUB_FLAGS, (0, 0, 0), psubscribe).doc(
        "pubsub",
        "2.0.0",
        "Listen for messages published to channels matching the given patterns",
        "O(N) where N is the number of patterns the client is already subscribed to.",
    ),
    Cmd::new("punsubscribe", -1, SUB_FLAGS, (0, 0, 0), punsubscribe).doc(
        "pubsub",
        "2.0.0",
        "Stop listening for messages posted to channels matching the given patterns",
        "O(N+M) where N is the number of patterns the client is already subscribed and M is the \
         number of total patterns subscribed in the system (by any client).",
    ),
    Cmd::new("ssubscribe", -2, SUB_FLAGS, (1, -1, 1), ssubscribe).doc(
        "pubsub",
        "7.0.0",
        "Listen for messages published to the given shard channels",
        "O(N) where N is the number of shard channels to subscribe to.",
    ),
    Cmd::new("sunsubscribe", -1, SUB_FLAGS, (1, -1, 1), sunsubscribe).doc(
        "pubsub",
        "7.0.0",
        "Stop listening for messages posted to the given shard channels",
        "O(N) where N is the number of clients already subscribed to a shard channel.",
    ),
    Cmd::new("publish", 3, INTROSPECT | super::FAST, (0, 0, 0), publish).doc(
        "pubsub",
        "2.0.0",
        "Post a message to a channel",
        "O(N+M) where N is the number of clients subscribed to the receiving channel and M is the \
         total number of subscribed patterns (by any client).",
    ),
    Cmd::new("spublish", 3, INTROSPECT | super::FAST, (1, 1, 1), spublish).doc(
        "pubsub",
        "7.0.0",
        "Post a message to a shard channel",
        "O(N) where N is the number of clients subscribed to the receiving shard channel.",
    ),
    Cmd::new("pubsub", -2, 0, (0, 0, 0), container)
        .doc(
            "pubsub",
            "2.8.0",
            "A container for Pub/Sub commands",
            "Depends on subcommand.",
        )
        .subs(PUBSUB_SUBS),
];

static PUBSUB_SUBS: &[Cmd] = &[
    Cmd::new("channels", -2, INTROSPECT, (0, 0, 0), pubsub_channels).doc(
        "pubsub",
        "2.8.0",
        "List active channels",
        "O(N) where N is the number of active channels, and assuming constant time pattern matching \
         (relatively short channels and patterns)",
    ),
    Cmd::new("numsub", -2, INTROSPECT, (0, 0, 0), pubsub_numsub).doc(
        "pubsub",
        "2.8.0",
        "Get the count of subscribers for channels",
        "O(N) for the NUMSUB subcommand, where N is the number of requested channels",
    ),
    Cmd::new("numpat", 2, INTROSPECT, (0, 0, 0), pubsub_numpat).doc(
        "pubsub",
        "2.8.0",
        "Get the count of unique patterns pattern subscriptions",
        "O(1)",
    ),
    Cmd::new("shardchannels", -2, INTROSPECT, (0, 0, 0), pubsub_shardchannels).doc(
        "pubsub",
        "7.0.0",
        "List active shard channels",
        "O(N) where N is the number of active shard channels, and assuming constant time pattern \
         matching (relatively short shard channels).",
    ),
    Cmd::new("shardnumsub", -2, INTROSPECT, (0, 0, 0), pubsub_shardnumsub).doc(
        "pubsub",
        "7.0.0",
        "Get the count of subscribers for shard channels",
        "O(N) for the SHARDNUMSUB subcommand, where N is the number of requested shard channels",
    ),
    Cmd::new("help", 2, LOADING | STALE, (0, 0, 0), pubsub_help).doc(
        "pubsub",
        "6.2.0",
        "Show helpful text about the different subcommands",
        "O(1)",
    ),
];

/// The three kinds of subscription: their reply words and where their subscribers are listed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn sub_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"$9\r\nsubscribe\r\n",
            Kind::Pattern => b"$10\r\npsubscribe\r\n",
            Kind::Shard => b"$10\r\nssubscribe\r\n",
        }
    }

    fn unsub_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"$11\r\nunsubscribe\r\n",
            Kind::Pattern => b"$12\r\npunsubscribe\r\n",
            Kind::Shard => b"$12\r\nsunsubscribe\r\n",
        }
    }

    fn map(self, w: &mut Waiters) -> &mut KeyMap<Vec<usize>> {
        match self {
            Kind::Channel => &mut w.channels,
            Kind::Pattern => &mut w.patterns,
            Kind::Shard => &mut w.shard_channels,
        }
    }

    fn list(self, c: &mut Conn) -> &mut Vec<Box<[u8]>> {
        match self {
            Kind::Channel => &mut c.channels,
            Kind::Pattern => &mut c.patterns,
            Kind::Shard => &mut c.shard_channels,
        }
    }

    /// The count a confirmation reports: shard subscriptions are counted apart from the others.
    fn count(self, c: &Conn) -> i64 {
        match self {
            Kind::Shard => c.shard_channels.len() as i64,
            _ => (c.channels.len() + c.patterns.len()) as i64,
        }
    }
}

/// The header of a three- or four-element Pub/Sub reply: an array in RESP2, a push in RESP3.
#[inline]
fn push_header(out: &mut Out, n: u8) {
    out.buf.push(if out.resp3 { b'>' } else { b'*' });
    out.buf.push(b'0' + n);
    out.buf.extend_from_slice(b"\r\n");
}

/// SUBSCRIBE channel [channel ...]
fn subscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    subscribe_generic(ctx, args, Kind::Channel);
    Ok(())
}

/// PSUBSCRIBE pattern [pattern ...]
fn psubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    subscribe_generic(ctx, args, Kind::Pattern);
    Ok(())
}

/// SSUBSCRIBE shardchannel [shardchannel ...]
fn ssubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    // Inside EXEC a client may not enter a state that expects more replies than requests; Redis 7.0
    // makes the exception for SUBSCRIBE and PSUBSCRIBE only, for backward compatibility.
    if ctx.in_exec {
        return err("ERR SSUBSCRIBE isn't allowed for a DENY BLOCKING client");
    }
    subscribe_generic(ctx, args, Kind::Shard);
    Ok(())
}

fn subscribe_generic(ctx: &mut Ctx, args: &Args, kind: Kind) {
    let id = ctx.id;
    let conn = &mut ctx.conns[id];
    for name in args.from(1) {
        // The server-side list is short (one channel's subscribers); the client's own may be long.
        let map = kind.map(&mut ctx.st.waiters);
        let added = match map.get_mut(name) {
            Some(subs) if subs.contains(&id) => false,
            Some(subs) => {
                subs.push(id);
                true
            }
            None => {
                map.insert(name.into(), vec![id]);
                true
            }
        };
        if added {
            kind.list(conn).push(name.into());
        }
        push_header(ctx.out, 3);
        ctx.out.raw(kind.sub_word());
        ctx.out.bulk(name);
        ctx.out.int(kind.count(conn));
    }
}

/// UNSUBSCRIBE [channel [channel ...]]
fn unsubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    unsubscribe_generic(ctx, args, Kind::Channel);
    Ok(())
}

/// PUNSUBSCRIBE [pattern [pattern ...]]
fn punsubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    unsubscribe_generic(ctx, args, Kind::Pattern);
    Ok(())
}

/// SUNSUBSCRIBE [shardchannel [shardchannel ...]]
fn sunsubscribe(ctx: &mut Ctx, args: &Args) -> CmdResult {
    unsubscribe_generic(ctx, args, Kind::Shard);
    Ok(())
}

fn unsubscribe_generic(ctx: &mut Ctx, args: &Args, kind: Kind) {
    let id = ctx.id;
    let conn = &mut ctx.conns[id];
    let map = kind.map(&mut ctx.st.waiters);
    if args.len() > 1 {
        for name in args.from(1) {
            if Waiters::unsubscribe(map, name, id) {
                let list = kind.list(conn);
                if let Some(p) = list.iter().position(|x| **x == *name) {
                    list.remove(p);
                }
            }
            unsub_reply(ctx.out, kind, Some(name), kind.count(conn));
        }
        return;
    }
    // Without arguments: every subscription of the kind, each confirmed; with none, one reply still.
    let all = std::mem::take(kind.list(conn));
    if all.is_empty() {
        unsub_reply(ctx.out, kind, None, kind.count(conn));
        return;
    }
    let mut left = all.len() as i64;
    let others = kind.count(conn);
    for name in &all {
        Waiters::unsubscribe(map, name, id);
        left -= 1;
        unsub_reply(ctx.out, kind, Some(name), others + left);
    }
}

fn unsub_reply(out: &mut Out, kind: Kind, name: Option<&[u8]>, count: i64) {
    push_header(out, 3);
    out.raw(kind.unsub_word());
    match name {
        Some(n) => out.bulk(n),
        None => out.null(),
    }
    out.int(count);
}

/// PUBLISH channel message
fn publish(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let n = publish_message(ctx, &args[1], &args[2], false);
    ctx.out.int(n as i64);
    Ok(())
}

/// SPUBLISH shardchannel message
fn spublish(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let n = publish_message(ctx, &args[1], &args[2], true);
    ctx.out.int(n as i64);
    Ok(())
}

/// Delivers `msg` to the subscribers of `channel` (then, unless sharded, to those of every matching
/// pattern, as Redis orders them) and returns how many deliveries there were. Usable by any command
/// that publishes (keyspace notifications).
pub fn publish_message(ctx: &mut Ctx, channel: &[u8], msg: &[u8], shard: bool) -> usize {
    let st = &mut *ctx.st;
    let mut d = Deliver {
        conns: &mut *ctx.conns,
        out: &mut *ctx.out,
        arena: &st.arena,
        arena_in_out: ctx.arena_in_out,
        me: ctx.id,
        wake: &mut st.waiters.wake,
        to_close: &mut st.to_close,
        limit: st.cfg.obuf[2],
        now: st.now,
    };
    let mut receivers = 0;
    let map = if shard {
        &st.waiters.shard_channels
    } else {
        &st.waiters.channels
    };
    if let Some(subs) = map.get(channel) {
        let word: &[u8] = if shard {
            b"$8\r\nsmessage\r\n"
        } else {
            b"$7\r\nmessage\r\n"
        };
        for &target in subs {
            d.send(target, |out| {
                push_header(out, 3);
                out.raw(word);
                out.bulk(channel);
                out.bulk(msg);
            });
        }
        receivers += subs.len();
    }
    if shard {
        return receivers;
    }
    for (pattern, subs) in &st.waiters.patterns {
        if !glob_match(pattern, channel, false) {
            continue;
        }
        for &target in subs {
            d.send(target, |out| {
                push_header(out, 4);
                out.raw(b"$8\r\npmessage\r\n");
                out.bulk(pattern);
                out.bulk(channel);
                out.bulk(msg);
            });
        }
        receivers += subs.len();
    }
    receivers
}

/// What delivering a message needs, borrowed apart from the subscriber maps it walks.
struct Deliver<'a> {
    conns: &'a mut Slab<Conn>,
    out: &'a mut Out,
    /// The reply arena, when it is not `out` itself (see `Ctx::arena_in_out`).
    arena: &'a [u8],
    arena_in_out: bool,
    me: usize,
    wake: &'a mut Vec<usize>,
    to_close: &'a mut Vec<usize>,
    limit: crate::config::ObufLimit,
    now: u64,
}

impl Deliver<'_> {
    fn send(&mut self, target: usize, write: impl FnOnce(&mut Out)) {
        if target == self.me {
            // The publisher's own reply stream, in order with its other replies (inside EXEC too).
            write(self.out);
            return;
        }
        let Some(c) = self.conns.get_mut(target) else {
            return;
        };
        // A client on its way out gets nothing more, but still counts as a receiver, as in Redis.
        if c.kill || c.close_after_reply {
            return;
        }
        // Replies the subscriber got earlier in this iteration go first.
        let arena: &[u8] = if self.arena_in_out {
            &self.out.buf
        } else {
            self.arena
        };
        c.materialize(arena);
        let was_idle = c.pending_out() == 0;
        let mut out = Out {
            buf: std::mem::take(&mut c.wbuf),
            resp3: c.resp3,
        };
        write(&mut out);
        c.wbuf = out.buf;
        // A client with output already pending is either on the wake list from earlier this turn or
        // waiting for WRITABLE: listing it once keeps the list small when one turn publishes a lot.
        if was_idle {
            self.wake.push(target);
        }
        if over_limit(c, self.limit, self.now) {
            warn!(
                "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
                c.id, c.addr
            );
            c.kill = true;
            self.to_close.push(target);
        }
    }
}

/// Redis's `checkClientOutputBufferLimits` for the pubsub class: over the hard limit at once, over the
/// soft limit once it has stayed there longer than its seconds.
fn over_limit(c: &mut Conn, limit: crate::config::ObufLimit, now: u64) -> bool {
    let used = c.pending_out() as u64;
    if limit.hard > 0 && used >= limit.hard {
        return true;
    }
    if limit.soft > 0 && used >= limit.soft {
        if c.soft_since_ms == 0 {
            c.soft_since_ms = now;
            return false;
        }
        return now.saturating_sub(c.soft_since_ms) > limit.soft_secs * 1000;
    }
    c.soft_since_ms = 0;
    false
}

/// A container called with a subcommand the dispatcher did not resolve; arity keeps this unreachable.
fn container(_ctx: &mut Ctx, _args: &Args) -> CmdResult {
    err(super::ERR_SYNTAX)
}

/// Redis's generic subcommand error, for a known subcommand given too many arguments.
fn subcommand_error(args: &Args) -> CmdResult {
    Err(super::subcommand_syntax(args))
}

/// PUBSUB CHANNELS [pattern]
fn pubsub_channels(ctx: &mut Ctx, args: &Args) -> CmdResult {
    channel_list(ctx, args, false)
}

/// PUBSUB SHARDCHANNELS [pattern]
fn pubsub_shardchannels(ctx: &mut Ctx, args: &Args) -> CmdResult {
    channel_list(ctx, args, true)
}

fn channel_list(ctx: &mut Ctx, args: &Args, shard: bool) -> CmdResult {
    if args.len() > 3 {
        return subcommand_error(args);
    }
    let map = if shard {
        &ctx.st.waiters.shard_channels
    } else {
        &ctx.st.waiters.channels
    };
    let pat = args.get(2);
    let matches = |ch: &[u8]| pat.is_none_or(|p| glob_match(p, ch, false));
    let n = map.keys().filter(|c| matches(c)).count();
    ctx.out.array(n);
    for ch in map.keys().filter(|c| matches(c)) {
        ctx.out.bulk(ch);
    }
    Ok(())
}

/// PUBSUB NUMSUB [channel [channel ...]]
fn pubsub_numsub(ctx: &mut Ctx, args: &Args) -> CmdResult {
    numsub(ctx, args, false)
}

/// PUBSUB SHARDNUMSUB [shardchannel [shardchannel ...]]
fn pubsub_shardnumsub(ctx: &mut Ctx, args: &Args) -> CmdResult {
    numsub(ctx, args, true)
}

fn numsub(ctx: &mut Ctx, args: &Args, shard: bool) -> CmdResult {
    let map = if shard {
        &ctx.st.waiters.shard_channels
    } else {
        &ctx.st.waiters.channels
    };
    ctx.out.array(2 * (args.len() - 2));
    for ch in args.from(2) {
        ctx.out.bulk(ch);
        ctx.out.int(map.get(ch).map_or(0, |v| v.len() as i64));
    }
    Ok(())
}

/// PUBSUB NUMPAT
fn pubsub_numpat(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.out.int(ctx.st.waiters.patterns.len() as i64);
    Ok(())
}

const PUBSUB_HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

/// PUBSUB HELP
fn pubsub_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.out.array(PUBSUB_HELP.len());
    for line in PUBSUB_HELP {
        ctx.out.simple(line);
    }
    Ok(())
}
