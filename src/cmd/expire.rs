//! Expiry commands: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (NX XX GT LT), TTL, PTTL, EXPIRETIME,
//! PEXPIRETIME, PERSIST. Deadlines are unix milliseconds; a deadline already past deletes the key at once,
//! as Redis does on a master.

use super::notify::{notify, GENERIC, KEY_MISS};
use super::{err, int_arg, Args, Cmd, CmdResult, Ctx, FAST, READONLY, WRITE};
use crate::util::eq_ci;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("expire", -3, WRITE | FAST, (1, 1, 1), expire).doc(
        "generic",
        "1.0.0",
        "Set a key's time to live in seconds",
        "O(1)",
    ),
    Cmd::new("pexpire", -3, WRITE | FAST, (1, 1, 1), pexpire).doc(
        "generic",
        "2.6.0",
        "Set a key's time to live in milliseconds",
        "O(1)",
    ),
    Cmd::new("expireat", -3, WRITE | FAST, (1, 1, 1), expireat).doc(
        "generic",
        "1.2.0",
        "Set the expiration for a key as a UNIX timestamp",
        "O(1)",
    ),
    Cmd::new("pexpireat", -3, WRITE | FAST, (1, 1, 1), pexpireat).doc(
        "generic",
        "2.6.0",
        "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
        "O(1)",
    ),
    Cmd::new("ttl", 2, READONLY | FAST, (1, 1, 1), ttl).doc(
        "generic",
        "1.0.0",
        "Get the time to live for a key in seconds",
        "O(1)",
    ),
    Cmd::new("pttl", 2, READONLY | FAST, (1, 1, 1), pttl).doc(
        "generic",
        "2.6.0",
        "Get the time to live for a key in milliseconds",
        "O(1)",
    ),
    Cmd::new("expiretime", 2, READONLY | FAST, (1, 1, 1), expiretime).doc(
        "generic",
        "7.0.0",
        "Get the expiration Unix timestamp for a key",
        "O(1)",
    ),
    Cmd::new("pexpiretime", 2, READONLY | FAST, (1, 1, 1), pexpiretime).doc(
        "generic",
        "7.0.0",
        "Get the expiration Unix timestamp for a key in milliseconds",
        "O(1)",
    ),
    Cmd::new("persist", 2, WRITE | FAST, (1, 1, 1), persist).doc(
        "generic",
        "2.2.0",
        "Remove the expiration from a key",
        "O(1)",
    ),
];

const NX: u8 = 1;
const XX: u8 = 2;
const GT: u8 = 4;
const LT: u8 = 8;

/// Parses the NX | XX | GT | LT options from argument 3 on, with Redis's errors and their precedence.
fn parse_flags(args: &Args) -> Result<u8, super::Error> {
    let mut flags = 0;
    for opt in args.from(3) {
        flags |= if eq_ci(opt, b"nx") {
            NX
        } else if eq_ci(opt, b"xx") {
            XX
        } else if eq_ci(opt, b"gt") {
            GT
        } else if eq_ci(opt, b"lt") {
            LT
        } else {
            // Redis prints the option as a C string: it stops at a NUL.
            let end = opt.iter().position(|&c| c == 0).unwrap_or(opt.len());
            return err(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(&opt[..end])
            ));
        };
    }
    if flags & NX != 0 && flags & (XX | GT | LT) != 0 {
        return err("ERR NX and XX, GT or LT options at the same time are not compatible");
    }
    if flags & GT != 0 && flags & LT != 0 {
        return err("ERR GT and LT options at the same time are not compatible");
    }
    Ok(flags)
}

/// The worker behind the four EXPIRE commands: `args[2]` is in seconds when `secs`, and relative to now
/// when `relative`. `name` is the command's name for the invalid-time error.
fn expire_generic(
    ctx: &mut Ctx,
    args: &Args,
    relative: bool,
    secs: bool,
    name: &'static str,
) -> CmdResult {
    let flags = parse_flags(args)?;
    let now = ctx.st.now as i64;
    let invalid = || err(format!("ERR invalid expire time in '{name}' command"));
    let mut when = int_arg(args, 2)?;
    // Negative times are allowed (they delete the key); only an overflow of the conversion is refused.
    if secs {
        match when.checked_mul(1000) {
            Some(ms) => when = ms,
            None => return invalid(),
        }
    }
    if relative {
        match when.checked_add(now) {
            Some(at) => when = at,
            None => return invalid(),
        }
    }
    let db = &mut ctx.st.dbs[ctx.db];
    let Some(i) = db.peek(&args[1], now as u64) else {
        ctx.out.int(0);
        return Ok(());
    };
    if flags != 0 {
        let cur = db.entry(i).expire;
        let has = cur != 0;
        // No deadline counts as an infinite one: GT never beats it, LT always does.
        let refused = (flags & NX != 0 && has)
            || (flags & XX != 0 && !has)
            || (flags & GT != 0 && (!has || when <= cur as i64))
            || (flags & LT != 0 && has && when >= cur as i64);
        if refused {
            ctx.out.int(0);
            return Ok(());
        }
    }
    use super::repl::Propagate;
    if when <= now {
        db.remove_at(i);
        ctx.prop = Propagate::args([&b"DEL"[..], &args[1]]);
        notify(ctx, GENERIC, "del", &args[1]);
    } else {
        db.set_expire(i, when as u64);
        // Replicas get an absolute deadline; any NX/XX/GT/LT flags follow unchanged.
        let mut tmp = [0u8; 20];
        let at = crate::util::fmt_i64(when, &mut tmp);
        ctx.prop = Propagate::args(
            [&b"PEXPIREAT"[..], &args[1], at]
                .into_iter()
                .chain(args.from(3)),
        );
        notify(ctx, GENERIC, "expire", &args[1]);
    }
    // Redis counts a deadline set even when it equals the one the key had.
    ctx.dirty = Some(1);
    ctx.out.int(1);
    Ok(())
}

/// EXPIRE key seconds [NX | XX | GT | LT]
pub fn expire(ctx: &mut Ctx, args: &Args) -> CmdResult {
    expire_generic(ctx, args, true, true, "expire")
}

/// PEXPIRE key milliseconds [NX | XX | GT | LT]
pub fn pexpire(ctx: &mut Ctx, args: &Args) -> CmdResult {
    expire_generic(ctx, args, true, false, "pexpire")
}

/// EXPIREAT key unix-time-seconds [NX | XX | GT | LT]
pub fn expireat(ctx: &mut Ctx, args: &Args) -> CmdResult {
    expire_generic(ctx, args, false, true, "expireat")
}

/// PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]
pub fn pexpireat(ctx: &mut Ctx, args: &Args) -> CmdResult {
    expire_generic(ctx, args, false, false, "pexpireat")
}

/// The worker behind TTL, PTTL, EXPIRETIME and PEXPIRETIME: -2 for a missing key, -1 for no deadline,
/// else the time left (or the deadline when `absolute`), seconds rounded to nearest unless `ms`.
fn ttl_generic(ctx: &mut Ctx, args: &Args, ms: bool, absolute: bool) -> CmdResult {
    let now = ctx.st.now;
    let found = ctx.st.dbs[ctx.db].peek(&args[1], now);
    let stats = &mut ctx.st.stats;
    let Some(i) = found else {
        stats.keyspace_misses += 1;
        notify(ctx, KEY_MISS, "keymiss", &args[1]);
        ctx.out.int(-2);
        return Ok(());
    };
    stats.keyspace_hits += 1;
    let at = ctx.st.dbs[ctx.db].entry(i).expire;
    if at == 0 {
        ctx.out.int(-1);
        return Ok(());
    }
    let t = if absolute { at } else { at.saturating_sub(now) } as i64;
    // Wider arithmetic, so a deadline near i64::MAX rounds as Redis's compiled C does rather than saturating.
    ctx.out.int(if ms {
        t
    } else {
        ((t as i128 + 500) / 1000) as i64
    });
    Ok(())
}

/// TTL key
pub fn ttl(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ttl_generic(ctx, args, false, false)
}

/// PTTL key
pub fn pttl(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ttl_generic(ctx, args, true, false)
}

/// EXPIRETIME key
pub fn expiretime(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ttl_generic(ctx, args, false, true)
}

/// PEXPIRETIME key
pub fn pexpiretime(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ttl_generic(ctx, args, true, true)
}

/// PERSIST key
pub fn persist(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let now = ctx.st.now;
    let db = &mut ctx.st.dbs[ctx.db];
    let cleared = match db.peek(&args[1], now) {
        Some(i) if db.entry(i).expire != 0 => {
            db.set_expire(i, 0);
            true
        }
        _ => false,
    };
    if cleared {
        ctx.dirty = Some(1);
        notify(ctx, GENERIC, "persist", &args[1]);
    }
    ctx.out.int(cleared as i64);
    Ok(())
}
