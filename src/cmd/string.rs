//! String commands: GET, SET and the rest of Redis's string family, over `Value::Int` and `Value::Str`.

use super::{
    err, Args, Cmd, CmdResult, Ctx, DENYOOM, ERR_SYNTAX, ERR_WRONGTYPE, FAST, READONLY, WRITE,
};
use crate::store::Value;
use crate::util::{eq_ci, parse_i64};

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("get", 2, READONLY | FAST, (1, 1, 1), get).doc(
        "string",
        "1.0.0",
        "Returns the string value of a key.",
        "O(1)",
    ),
    Cmd::new("set", -3, WRITE | DENYOOM, (1, 1, 1), set).doc(
        "string",
        "1.0.0",
        "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.",
        "O(1)",
    ),
];

/// GET key
pub fn get(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let now = ctx.st.now;
    let db = &mut ctx.st.dbs[ctx.db];
    match db.get(&args[1], now) {
        None => {
            ctx.st.stats.keyspace_misses += 1;
            ctx.out.null();
        }
        Some(e) => {
            ctx.st.stats.keyspace_hits += 1;
            match &e.val {
                Value::Int(n) => ctx.out.bulk_int(*n),
                Value::Str(b) => ctx.out.bulk(b.as_slice()),
                #[allow(unreachable_patterns)]
                _ => return err(ERR_WRONGTYPE),
            }
        }
    }
    Ok(())
}

/// SET key value [NX | XX] [GET] [EX seconds | PX milliseconds | EXAT unix-time-seconds |
/// PXAT unix-time-milliseconds | KEEPTTL]
pub fn set(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut nx = false;
    let mut xx = false;
    let mut get = false;
    let mut keepttl = false;
    let mut expire: Option<(u8, &[u8])> = None;
    let mut i = 3;
    while i < args.len() {
        let a = &args[i];
        let has_next = i + 1 < args.len();
        if eq_ci(a, b"nx") && !xx {
            nx = true;
        } else if eq_ci(a, b"xx") && !nx {
            xx = true;
        } else if eq_ci(a, b"get") {
            get = true;
        } else if eq_ci(a, b"keepttl") && expire.is_none() {
            keepttl = true;
        } else if (eq_ci(a, b"ex") || eq_ci(a, b"px") || eq_ci(a, b"exat") || eq_ci(a, b"pxat"))
            && !keepttl
            && expire.is_none()
            && has_next
        {
            let unit = match a.len() {
                2 if a[0].eq_ignore_ascii_case(&b'e') => b'e',
                2 => b'p',
                _ if a[0].eq_ignore_ascii_case(&b'e') => b'E',
                _ => b'P',
            };
            expire = Some((unit, &args[i + 1]));
            i += 1;
        } else {
            return err(ERR_SYNTAX);
        }
        i += 1;
    }
    let now = ctx.st.now;
    let deadline = match expire {
        None => 0,
        Some((unit, v)) => {
            let name = match unit {
                b'e' | b'p' => "set",
                _ => "set",
            };
            let n = parse_i64(v).ok_or(super::ERR_NOT_INT)?;
            if n <= 0 {
                return err(format!("ERR invalid expire time in '{name}' command"));
            }
            let at = match unit {
                b'e' => n
                    .checked_mul(1000)
                    .and_then(|ms| ms.checked_add(now as i64)),
                b'p' => n.checked_add(now as i64),
                b'E' => n.checked_mul(1000),
                _ => Some(n),
            };
            match at {
                Some(at) if at > 0 => at as u64,
                _ => return err(format!("ERR invalid expire time in '{name}' command")),
            }
        }
    };
    let db = &mut ctx.st.dbs[ctx.db];
    let existing = db.lookup(&args[1], now);
    if get {
        match existing {
            None => ctx.out.null(),
            Some(i) => {
                let mut tmp = [0u8; 20];
                match db.entry(i).val.as_bytes(&mut tmp) {
                    Some(b) => ctx.out.bulk(b),
                    None => return err(ERR_WRONGTYPE),
                }
            }
        }
    }
    if (nx && existing.is_some()) || (xx && existing.is_none()) {
        if !get {
            ctx.out.null();
        }
        return Ok(());
    }
    let i = db.set(&args[1], Value::from_bytes(&args[2]), keepttl, now);
    if deadline != 0 {
        db.set_expire(i, deadline);
    }
    if !get {
        ctx.out.ok();
    }
    Ok(())
}
