//! Expiry commands: EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT (NX XX GT LT), TTL, PTTL, EXPIRETIME,
//! PEXPIRETIME, PERSIST.

use super::Cmd;

pub static COMMANDS: &[Cmd] = &[];
