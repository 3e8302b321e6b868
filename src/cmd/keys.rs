//! Keyspace commands: DEL, EXISTS, KEYS and the rest of the generic key family, plus expiry.

use super::{Args, Cmd, CmdResult, Ctx, READONLY, WRITE};
use crate::store::glob::glob_match;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("del", -2, WRITE, (1, -1, 1), del).doc(
        "generic",
        "1.0.0",
        "Deletes one or more keys.",
        "O(N) where N is the number of keys that will be removed.",
    ),
    Cmd::new("exists", -2, READONLY | super::FAST, (1, -1, 1), exists).doc(
        "generic",
        "1.0.0",
        "Determines whether one or more keys exist.",
        "O(N) where N is the number of keys to check.",
    ),
    Cmd::new("keys", 2, READONLY, (0, 0, 0), keys).doc(
        "generic",
        "1.0.0",
        "Returns all key names that match a pattern.",
        "O(N) with N being the number of keys in the database.",
    ),
];

/// DEL key [key ...]
pub fn del(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let now = ctx.st.now;
    let db = &mut ctx.st.dbs[ctx.db];
    let n = args.from(1).filter(|k| db.remove(k, now)).count();
    ctx.out.int(n as i64);
    Ok(())
}

/// EXISTS key [key ...]
pub fn exists(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let now = ctx.st.now;
    let db = &mut ctx.st.dbs[ctx.db];
    let n = args.from(1).filter(|k| db.peek(k, now).is_some()).count();
    ctx.out.int(n as i64);
    Ok(())
}

/// KEYS pattern
pub fn keys(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let now = ctx.st.now;
    let pat = &args[1];
    // Redis skips the matcher for a lone `*`, so even the empty key is listed.
    let all = pat == b"*";
    let mut found: Vec<&[u8]> = Vec::new();
    let db = &ctx.st.dbs[ctx.db];
    db.for_each(now, |e| {
        if all || glob_match(pat, e.key.as_slice(), false) {
            found.push(e.key.as_slice());
        }
    });
    ctx.out.array(found.len());
    for k in found {
        ctx.out.bulk(k);
    }
    Ok(())
}
