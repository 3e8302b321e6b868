//! Server commands: SHUTDOWN, INFO, CONFIG, COMMAND, DEBUG, FLUSHALL, DBSIZE, TIME and friends.

use super::{Args, Cmd, CmdResult, Ctx, ADMIN, LOADING, NOSCRIPT, NO_MULTI, STALE};
use crate::server::Shutdown;

pub static COMMANDS: &[Cmd] = &[Cmd::new(
    "shutdown",
    -1,
    ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | super::SENTINEL | super::ALLOW_BUSY,
    (0, 0, 0),
    shutdown,
)
.doc(
    "server",
    "1.0.0",
    "Synchronously saves the database(s) to disk and shuts down the Redis server.",
    "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)",
)];

/// SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT]
pub fn shutdown(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    ctx.st.shutdown = Some(Shutdown::Command);
    Ok(())
}
