//! Connection commands: PING, ECHO, QUIT, SELECT, AUTH, HELLO, RESET and CLIENT.

use super::{err, int_arg, Args, Cmd, CmdResult, Ctx, ERR_DB_INDEX, FAST, LOADING, NO_AUTH, STALE};

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("ping", -1, FAST | super::SENTINEL, (0, 0, 0), ping).doc(
        "connection",
        "1.0.0",
        "Returns the server's liveliness response.",
        "O(1)",
    ),
    Cmd::new("echo", 2, FAST, (0, 0, 0), echo).doc(
        "connection",
        "1.0.0",
        "Returns the given string.",
        "O(1)",
    ),
    Cmd::new(
        "quit",
        -1,
        NO_AUTH | LOADING | STALE | FAST | super::ALLOW_BUSY,
        (0, 0, 0),
        quit,
    )
    .doc("connection", "1.0.0", "Closes the connection.", "O(1)"),
    Cmd::new("select", 2, LOADING | STALE | FAST, (0, 0, 0), select).doc(
        "connection",
        "1.0.0",
        "Changes the selected database.",
        "O(1)",
    ),
];

/// PING [message]
pub fn ping(ctx: &mut Ctx, args: &Args) -> CmdResult {
    match args.len() {
        1 => ctx.out.simple("PONG"),
        2 => ctx.out.bulk(&args[1]),
        _ => return err("ERR wrong number of arguments for 'ping' command"),
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
    let n = int_arg(args, 1)
        .map_err(|_| super::Error::from("ERR value is not an integer or out of range"))?;
    if n < 0 || n as usize >= ctx.st.dbs.len() {
        return err(ERR_DB_INDEX);
    }
    ctx.db = n as usize;
    ctx.out.ok();
    Ok(())
}
