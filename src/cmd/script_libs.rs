//! The four C libraries Redis 7.0 loads into its Lua state beside the standard ones (script_lua.c
//! `luaLoadLibraries`): `cjson` (lua-cjson 2.1.0), `cmsgpack` (lua-cmsgpack 0.4.0), `struct` (Roberto
//! Ierusalimschy's struct library) and `bit` (LuaBitOp 1.0.2), rebuilt in Rust with Redis 7.0.15's results
//! byte for byte and its error texts. `open` registers them as globals; script.rs puts them behind its
//! read-only proxies like the standard library tables.
//!
//! The C code leans on two things Rust does not give for free, and both are modelled here:
//! - x86-64's conversions of out-of-range doubles (`(int)`, `(long)`, `(unsigned long)` casts), which decide
//!   what e.g. `struct.pack('L', 2^64)` or a table key of 2^31 turns into;
//! - the Lua C stack limit (LUAI_MAXCSTACK, 8000 slots per C call): the libraries grow the stack with every
//!   nesting level and every returned value, and fail with `stack overflow (...)` or cjson's nesting errors
//!   when it is full. `Slots` counts the same slots, so deep or huge inputs fail with Redis's errors.
//!
//! The C code recurses over nested tables; here cjson's encoder and decoder and cmsgpack's decoder walk
//! iteratively (a cycle under a raised depth limit nests 8000 deep) and keep their open tables in a Lua
//! table (`Held`), since mlua holds every Rust-side Lua value in one of its ~8000 reference slots.

use std::cell::Cell;
use std::rc::Rc;

use mlua::{Lua, MultiValue, Table, Value};

use super::script::raise;
use crate::protocol::reply::fmt_g;

/// LUAI_MAXCSTACK: the slots a C function may use.
const MAXCSTACK: usize = 8000;

/// Registers `cjson`, `struct`, `cmsgpack` and `bit` as globals.
pub fn open(lua: &Lua) -> mlua::Result<()> {
    let g = lua.globals();
    lua.set_named_registry_value(NEXT, g.raw_get::<mlua::Function>("next")?)?;
    g.raw_set("cjson", cjson_new(lua)?)?;
    g.raw_set("struct", struct_lib(lua)?)?;
    g.raw_set("cmsgpack", msgpack_lib(lua)?)?;
    g.raw_set("bit", bit_lib(lua)?)?;
    // Building the tables leaves garbage: collect it now rather than let it count in used_memory_lua.
    lua.gc_collect()
}

type LibFn = fn(&Lua, MultiValue) -> mlua::Result<MultiValue>;

fn register(lua: &Lua, t: &Table, funcs: &[(&str, LibFn)]) -> mlua::Result<()> {
    for &(name, f) in funcs {
        let func = lua.create_function(move |lua, a: MultiValue| {
            let nargs = a.len();
            // mlua keeps each string or table handed back in a slot of its reference stack (about 8000):
            // thousands of them fail as the C stack would, a little earlier than Redis.
            let r = match f(lua, a) {
                Err(mlua::Error::StackError) => {
                    return Err(error(lua, "stack overflow (too many results)"))
                }
                r => r?,
            };
            // mlua needs one slot more than the C API to return results: the last one does not fit.
            if nargs + r.len() >= MAXCSTACK {
                return Err(error(lua, "stack overflow (too many results)"));
            }
            Ok(r)
        })?;
        t.raw_set(name, func)?;
    }
    Ok(())
}

fn one(v: Value) -> mlua::Result<MultiValue> {
    Ok(MultiValue::from_vec(vec![v]))
}

// ---------------------------------------------------------------------------------------------------------
// The Lua C API's checks and errors (lauxlib.c), with the same texts.

/// `luaL_error`: `msg` prefixed with the caller's position (`luaL_where(L, 1)`).
fn error(lua: &Lua, msg: impl AsRef<[u8]>) -> mlua::Error {
    let mut full = super::script::lua_where(lua).into_bytes();
    full.extend_from_slice(msg.as_ref());
    plain_error(lua, &full)
}

/// An error raised by the Lua core itself (no position: the running function is a C one).
fn plain_error(lua: &Lua, msg: &[u8]) -> mlua::Error {
    match lua.create_string(msg) {
        Ok(s) => raise(lua, Value::String(s)),
        Err(e) => e,
    }
}

/// `luaL_argerror`: names the function as the caller's code does (`'?'` when called from C, e.g. pcall).
fn arg_error(lua: &Lua, narg: i64, extra: impl AsRef<[u8]>) -> mlua::Error {
    let (name, method) = lua
        .inspect_stack(0, |d| {
            let n = d.names();
            (
                n.name.map(|s| s.into_owned()),
                n.name_what == Some("method"),
            )
        })
        .unwrap_or((None, false));
    let name = name.unwrap_or_else(|| "?".into());
    let mut msg = Vec::new();
    if method && narg == 1 {
        msg.extend_from_slice(format!("calling '{name}' on bad self (").as_bytes());
    } else {
        let narg = if method { narg - 1 } else { narg };
        msg.extend_from_slice(format!("bad argument #{narg} to '{name}' (").as_bytes());
    }
    msg.extend_from_slice(extra.as_ref());
    msg.push(b')');
    error(lua, msg)
}

fn type_name(v: Option<&Value>) -> &'static str {
    match v {
        None => "no value",
        Some(Value::Nil) => "nil",
        Some(Value::Boolean(_)) => "boolean",
        Some(Value::Integer(_) | Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Table(_)) => "table",
        Some(Value::Function(_)) => "function",
        Some(Value::Thread(_)) => "thread",
        Some(_) => "userdata",
    }
}

/// `luaL_typerror`
fn type_error(lua: &Lua, narg: usize, expected: &str, v: Option<&Value>) -> mlua::Error {
    arg_error(
        lua,
        narg as i64,
        format!("{expected} expected, got {}", type_name(v)),
    )
}

/// A value of type number.
fn num_of(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        _ => None,
    }
}

/// `lua_tonumber` (None where it gives 0 and `lua_isnumber` is false).
fn to_number(lua: &Lua, v: Option<&Value>) -> Option<f64> {
    match v {
        Some(s @ Value::String(_)) => lua.coerce_number(s.clone()).ok().flatten(),
        Some(v) => num_of(v),
        None => None,
    }
}

/// `luaL_checknumber` of argument `i` (0-based).
fn check_number(lua: &Lua, a: &MultiValue, i: usize) -> mlua::Result<f64> {
    to_number(lua, a.get(i)).ok_or_else(|| type_error(lua, i + 1, "number", a.get(i)))
}

/// `luaL_checkinteger`: the number cast to `ptrdiff_t`.
fn check_integer(lua: &Lua, a: &MultiValue, i: usize) -> mlua::Result<i64> {
    check_number(lua, a, i).map(c_i64)
}

/// `luaL_optinteger`
fn opt_integer(lua: &Lua, a: &MultiValue, i: usize, def: i64) -> mlua::Result<i64> {
    match a.get(i) {
        None | Some(Value::Nil) => Ok(def),
        _ => check_integer(lua, a, i),
    }
}

/// `luaL_checklstring`: strings, and numbers as Lua prints them.
fn check_bytes(lua: &Lua, a: &MultiValue, i: usize) -> mlua::Result<Vec<u8>> {
    match a.get(i) {
        Some(v @ (Value::String(_) | Value::Integer(_) | Value::Number(_))) => {
            match lua.coerce_string(v.clone())? {
                Some(s) => Ok(s.as_bytes().to_vec()),
                None => Err(type_error(lua, i + 1, "string", a.get(i))),
            }
        }
        v => Err(type_error(lua, i + 1, "string", v)),
    }
}

/// The slots a C function has used on its Lua stack, for `lua_checkstack` / `luaL_checkstack`.
#[derive(Clone, Copy)]
struct Slots(usize);

impl Slots {
    /// `lua_checkstack(L, n)`
    fn fits(self, n: usize) -> bool {
        self.0 + n <= MAXCSTACK
    }

    /// `luaL_checkstack(L, n, what)`
    fn check(self, lua: &Lua, n: usize, what: &str) -> mlua::Result<()> {
        if self.fits(n) {
            Ok(())
        } else {
            Err(error(lua, format!("stack overflow ({what})")))
        }
    }

    fn up(self, n: usize) -> Slots {
        Slots(self.0 + n)
    }
}

/// x86-64's `(long)d`: out of range (and NaN) gives i64::MIN.
fn c_i64(d: f64) -> i64 {
    if (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&d) {
        d as i64
    } else {
        i64::MIN
    }
}

/// x86-64's `(int)d`.
fn c_i32(d: f64) -> i32 {
    if (-2_147_483_648.0..2_147_483_648.0).contains(&d) {
        d as i32
    } else {
        i32::MIN
    }
}

/// gcc's `(unsigned long)d` on x86-64: values from 2^63 up go through a signed conversion of d - 2^63.
fn c_u64(d: f64) -> u64 {
    const TWO63: f64 = 9.223_372_036_854_776e18;
    if d >= TWO63 {
        (c_i64(d - TWO63) as u64) ^ (1 << 63)
    } else {
        c_i64(d) as u64
    }
}

/// Where the iterative encoders and decoders keep their open tables (and keys): in a Lua table rather than
/// in Rust values, since mlua holds every Rust-side Lua value in a slot of its reference stack, which has
/// room for about 8000 (the same LUAI_MAXCSTACK limit).
struct Held(Table);

impl Held {
    fn new(lua: &Lua) -> mlua::Result<Held> {
        Ok(Held(lua.create_table()?))
    }

    fn table(&self, level: usize) -> mlua::Result<Table> {
        self.0.raw_get(2 * level + 1)
    }

    fn key(&self, level: usize) -> mlua::Result<Value> {
        self.0.raw_get(2 * level + 2)
    }

    fn set(&self, level: usize, t: Option<Table>, key: Value) -> mlua::Result<()> {
        if let Some(t) = t {
            self.0.raw_set(2 * level + 1, t)?;
        }
        self.0.raw_set(2 * level + 2, key)
    }

    fn close(&self, level: usize) -> mlua::Result<Table> {
        let t = self.table(level)?;
        self.0.raw_set(2 * level + 1, Value::Nil)?;
        self.0.raw_set(2 * level + 2, Value::Nil)?;
        Ok(t)
    }
}

/// Lua's `next`, for iterations that must pause (a nested table is written before the next key).
const NEXT: &str = "ferrokv.next";

fn lua_next(lua: &Lua, t: &Table, key: Value) -> mlua::Result<(Value, Value)> {
    let next: mlua::Function = lua.named_registry_value(NEXT)?;
    next.call((t, key))
}

// ---------------------------------------------------------------------------------------------------------
// bit: LuaBitOp. Numbers become 32-bit integers by the 2^52+2^51 trick (modulo 2^32, rounding to nearest);
// results are signed 32-bit numbers.

fn bit_lib(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    register(
        lua,
        &t,
        &[
            ("tobit", |l, a| bret(barg(l, &a, 0)?)),
            ("bnot", |l, a| bret(!barg(l, &a, 0)?)),
            ("band", |l, a| bit_fold(l, &a, |x, y| x & y)),
            ("bor", |l, a| bit_fold(l, &a, |x, y| x | y)),
            ("bxor", |l, a| bit_fold(l, &a, |x, y| x ^ y)),
            ("lshift", |l, a| bit_shift(l, &a, |b, n| b << n)),
            ("rshift", |l, a| bit_shift(l, &a, |b, n| b >> n)),
            ("arshift", |l, a| {
                bit_shift(l, &a, |b, n| ((b as i32) >> n) as u32)
            }),
            ("rol", |l, a| bit_shift(l, &a, |b, n| b.rotate_left(n))),
            ("ror", |l, a| bit_shift(l, &a, |b, n| b.rotate_right(n))),
            ("bswap", |l, a| bret(barg(l, &a, 0)?.swap_bytes())),
            ("tohex", bit_tohex),
        ],
    )?;
    Ok(t)
}

fn barg(lua: &Lua, a: &MultiValue, i: usize) -> mlua::Result<u32> {
    let n = to_number(lua, a.get(i));
    let b = (n.unwrap_or(0.0) + 6_755_399_441_055_744.0).to_bits() as u32;
    if b == 0 && n.is_none() {
        return Err(type_error(lua, i + 1, "number", a.get(i)));
    }
    Ok(b)
}

fn bret(b: u32) -> mlua::Result<MultiValue> {
    one(Value::Number(b as i32 as f64))
}

/// band/bor/bxor: the first argument, then the others from the last one down, as LuaBitOp reads them.
fn bit_fold(lua: &Lua, a: &MultiValue, op: fn(u32, u32) -> u32) -> mlua::Result<MultiValue> {
    let mut b = barg(lua, a, 0)?;
    for i in (1..a.len()).rev() {
        b = op(b, barg(lua, a, i)?);
    }
    bret(b)
}

fn bit_shift(lua: &Lua, a: &MultiValue, op: fn(u32, u32) -> u32) -> mlua::Result<MultiValue> {
    let b = barg(lua, a, 0)?;
    let n = barg(lua, a, 1)? & 31;
    bret(op(b, n))
}

fn bit_tohex(lua: &Lua, a: MultiValue) -> mlua::Result<MultiValue> {
    let mut b = barg(lua, &a, 0)?;
    let mut n = if a.len() < 2 {
        8
    } else {
        barg(lua, &a, 1)? as i32
    };
    let mut digits = b"0123456789abcdef";
    if n < 0 {
        n = n.wrapping_neg();
        digits = b"0123456789ABCDEF";
    }
    // -(-2^31) stays negative; Redis's build then behaves as for any n > 8.
    if !(0..=8).contains(&n) {
        n = 8;
    }
    let mut buf = vec![0u8; n as usize];
    for c in buf.iter_mut().rev() {
        *c = digits[(b & 15) as usize];
        b >>= 4;
    }
    one(Value::String(lua.create_string(&buf)?))
}

// ---------------------------------------------------------------------------------------------------------
// struct: pack/unpack/size with format strings of `<`, `>`, `!n`, `x`, `b B h H l L T i I in In f d c cn s`.
// Native is little-endian, long and size_t are 8 bytes, the default maximum alignment 1 and `!` alone 8.

fn struct_lib(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    register(
        lua,
        &t,
        &[
            ("pack", struct_pack),
            ("unpack", struct_unpack),
            ("size", struct_size),
        ],
    )?;
    Ok(t)
}

const MAXINTSIZE: i32 = 32;

struct Header {
    little: bool,
    align: usize,
}

/// The format string as C sees it (up to a NUL) and the read position.
struct Fmt {
    s: Vec<u8>,
    i: usize,
}

impl Fmt {
    fn new(mut s: Vec<u8>) -> Fmt {
        if let Some(z) = s.iter().position(|&c| c == 0) {
            s.truncate(z);
        }
        Fmt { s, i: 0 }
    }

    fn peek(&self) -> u8 {
        self.s.get(self.i).copied().unwrap_or(0)
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.s.get(self.i).copied()?;
        self.i += 1;
        Some(c)
    }

    fn getnum(&mut self, lua: &Lua, df: i32) -> mlua::Result<i32> {
        if !self.peek().is_ascii_digit() {
            return Ok(df);
        }
        let mut a: i32 = 0;
        while self.peek().is_ascii_digit() {
            let d = (self.peek() - b'0') as i32;
            if a > i32::MAX / 10 || a * 10 > i32::MAX - d {
                return Err(error(lua, "integral size overflow"));
            }
            a = a * 10 + d;
            self.i += 1;
        }
        Ok(a)
    }

    fn optsize(&mut self, lua: &Lua, opt: u8) -> mlua::Result<usize> {
        Ok(match opt {
            b'B' | b'b' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' | b'd' => 8,
            b'f' => 4,
            b'x' => 1,
            b'c' => self.getnum(lua, 1)? as usize,
            b'i' | b'I' => {
                let sz = self.getnum(lua, 4)?;
                if sz > MAXINTSIZE {
                    return Err(error(
                        lua,
                        format!("integral size {sz} is larger than limit of {MAXINTSIZE}"),
                    ));
                }
                sz as usize
            }
            _ => 0,
        })
    }

    fn controloptions(&mut self, lua: &Lua, opt: u8, h: &mut Header) -> mlua::Result<()> {
        match opt {
            b' ' => {}
            b'>' => h.little = false,
            b'<' => h.little = true,
            b'!' => {
                let a = self.getnum(lua, 8)?;
                if !(a > 0 && a & (a - 1) == 0) {
                    return Err(error(lua, format!("alignment {a} is not a power of 2")));
                }
                h.align = a as usize;
            }
            _ => {
                let mut msg = b"invalid format option '".to_vec();
                msg.push(opt);
                msg.push(b'\'');
                return Err(arg_error(lua, 1, msg));
            }
        }
        Ok(())
    }
}

fn gettoalign(len: usize, h: &Header, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    size.wrapping_sub(len & size.wrapping_sub(1)) & size.wrapping_sub(1)
}

fn is_int_opt(opt: u8) -> bool {
    matches!(
        opt,
        b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I'
    )
}

/// struct.pack(fmt, v1, v2, ...)
fn struct_pack(lua: &Lua, mut a: MultiValue) -> mlua::Result<MultiValue> {
    let mut fmt = Fmt::new(check_bytes(lua, &a, 0)?);
    // b_pack pushes a nil above its arguments: one argument too many reads as nil, not as no value.
    a.push_back(Value::Nil);
    let mut h = Header {
        little: true,
        align: 1,
    };
    let mut arg = 1; // 0-based index of the next value
    let mut out = Vec::new();
    let mut total = 0usize;
    while let Some(opt) = fmt.next() {
        let mut size = fmt.optsize(lua, opt)?;
        let toalign = gettoalign(total, &h, opt, size);
        total = total.wrapping_add(toalign);
        out.resize(out.len() + toalign, 0);
        match opt {
            _ if is_int_opt(opt) => {
                let n = check_number(lua, &a, arg)?;
                arg += 1;
                let mut value = if n < 0.0 { c_i64(n) as u64 } else { c_u64(n) };
                let mut buf = vec![0u8; size];
                let mut put = |c: &mut u8| {
                    *c = value as u8;
                    value = value.checked_shr(8).unwrap_or(0);
                };
                if h.little {
                    buf.iter_mut().for_each(&mut put);
                } else {
                    buf.iter_mut().rev().for_each(&mut put);
                }
                out.extend_from_slice(&buf);
            }
            b'x' => out.push(0),
            b'f' => {
                let f = check_number(lua, &a, arg)? as f32;
                arg += 1;
                out.extend_from_slice(&if h.little {
                    f.to_le_bytes()
                } else {
                    f.to_be_bytes()
                });
            }
            b'd' => {
                let d = check_number(lua, &a, arg)?;
                arg += 1;
                out.extend_from_slice(&if h.little {
                    d.to_le_bytes()
                } else {
                    d.to_be_bytes()
                });
            }
            b'c' | b's' => {
                let s = check_bytes(lua, &a, arg)?;
                arg += 1;
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    // The C code checks after moving to the next argument, so it names that one.
                    return Err(arg_error(lua, arg as i64 + 1, "string too short"));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                    size += 1;
                }
            }
            _ => fmt.controloptions(lua, opt, &mut h)?,
        }
        total = total.wrapping_add(size);
    }
    one(Value::String(lua.create_string(&out)?))
}

fn getinteger(buf: &[u8], little: bool, signed: bool) -> f64 {
    let mut l: u64 = 0;
    let mut take = |c: &u8| l = (l << 8) | *c as u64;
    if little {
        buf.iter().rev().for_each(&mut take);
    } else {
        buf.iter().for_each(&mut take);
    }
    if !signed {
        return l as f64;
    }
    // `~0 << (size*8 - 1)`, with x86's shift count modulo 64.
    let shift = ((buf.len() as u32 * 8).wrapping_sub(1)) & 63;
    let mask = u64::MAX << shift;
    if l & mask != 0 {
        l |= mask;
    }
    l as i64 as f64
}

/// struct.unpack(fmt, data [, pos]): the values, then the position after them.
fn struct_unpack(lua: &Lua, a: MultiValue) -> mlua::Result<MultiValue> {
    let mut fmt = Fmt::new(check_bytes(lua, &a, 0)?);
    let data = check_bytes(lua, &a, 1)?;
    let ld = data.len();
    let mut pos = opt_integer(lua, &a, 2, 1)? as usize;
    if pos == 0 {
        return Err(arg_error(lua, 3, "offset must be 1 or greater"));
    }
    pos -= 1;
    let mut h = Header {
        little: true,
        align: 1,
    };
    let mut res: Vec<Value> = Vec::new();
    let too_short = |lua: &Lua| arg_error(lua, 2, "data string too short");
    while let Some(opt) = fmt.next() {
        let mut size = fmt.optsize(lua, opt)?;
        pos = pos.wrapping_add(gettoalign(pos, &h, opt, size));
        if !(size <= ld && pos <= ld - size) {
            return Err(too_short(lua));
        }
        Slots(a.len() + res.len()).check(lua, 2, "too many results")?;
        match opt {
            _ if is_int_opt(opt) => {
                let v = getinteger(&data[pos..pos + size], h.little, opt.is_ascii_lowercase());
                res.push(Value::Number(v));
            }
            b'x' => {}
            b'f' => {
                let b: [u8; 4] = data[pos..pos + 4].try_into().unwrap_or_default();
                let f = if h.little {
                    f32::from_le_bytes(b)
                } else {
                    f32::from_be_bytes(b)
                };
                res.push(Value::Number(f as f64));
            }
            b'd' => {
                let b: [u8; 8] = data[pos..pos + 8].try_into().unwrap_or_default();
                let d = if h.little {
                    f64::from_le_bytes(b)
                } else {
                    f64::from_be_bytes(b)
                };
                res.push(Value::Number(d));
            }
            b'c' => {
                if size == 0 {
                    let prev = res.last().and_then(|v| to_number(lua, Some(v)));
                    let Some(n) = prev else {
                        return Err(error(lua, "format 'c0' needs a previous size"));
                    };
                    size = c_u64(n) as usize;
                    res.pop();
                    if !(size <= ld && pos <= ld - size) {
                        return Err(too_short(lua));
                    }
                }
                res.push(Value::String(lua.create_string(&data[pos..pos + size])?));
            }
            b's' => {
                let Some(z) = data[pos..].iter().position(|&c| c == 0) else {
                    return Err(error(lua, "unfinished string in data"));
                };
                size = z + 1;
                res.push(Value::String(lua.create_string(&data[pos..pos + z])?));
            }
            _ => fmt.controloptions(lua, opt, &mut h)?,
        }
        pos = pos.wrapping_add(size);
    }
    res.push(Value::Number(pos.wrapping_add(1) as i64 as f64));
    Ok(MultiValue::from_vec(res))
}

/// struct.size(fmt)
fn struct_size(lua: &Lua, a: MultiValue) -> mlua::Result<MultiValue> {
    let mut fmt = Fmt::new(check_bytes(lua, &a, 0)?);
    let mut h = Header {
        little: true,
        align: 1,
    };
    let mut pos = 0usize;
    while let Some(opt) = fmt.next() {
        let size = fmt.optsize(lua, opt)?;
        pos = pos.wrapping_add(gettoalign(pos, &h, opt, size));
        if opt == b's' {
            return Err(arg_error(lua, 1, "option 's' has no fixed size"));
        } else if opt == b'c' && size == 0 {
            return Err(arg_error(lua, 1, "option 'c0' has no fixed size"));
        }
        if !opt.is_ascii_alphanumeric() {
            fmt.controloptions(lua, opt, &mut h)?;
        }
        pos = pos.wrapping_add(size);
    }
    one(Value::Number(pos as i64 as f64))
}

// ---------------------------------------------------------------------------------------------------------
// cmsgpack: MessagePack. A table whose keys are exactly 1..n packs as an array (the empty table too), any
// other as a map in `lua_next` order; tables nested 16 deep pack as nil (cycles end there). Numbers that are
// integers pack as the smallest integer type, others as float 32 when exact, else float 64.

fn msgpack_lib(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    register(
        lua,
        &t,
        &[
            ("pack", mp_pack),
            ("unpack", |l, a| {
                let top = Slots(a.len());
                mp_unpack_full(l, &a, 0, 0, top)
            }),
            ("unpack_one", |l, a| {
                let offset = opt_integer(l, &a, 1, 0)?;
                mp_unpack_full(l, &a, 1, offset, Slots(a.len().min(1)))
            }),
            ("unpack_limit", |l, a| {
                let limit = check_integer(l, &a, 1)?;
                let offset = opt_integer(l, &a, 2, 0)?;
                mp_unpack_full(l, &a, limit, offset, Slots(a.len().min(1)))
            }),
        ],
    )?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(t)
}

const MP_MAX_NESTING: usize = 16;

/// cmsgpack.pack(v1, v2, ...): the values packed one after the other.
fn mp_pack(lua: &Lua, a: MultiValue) -> mlua::Result<MultiValue> {
    let n = a.len();
    if n == 0 {
        return Err(arg_error(lua, 0, "MessagePack pack needs input."));
    }
    if !Slots(n).fits(n) {
        return Err(arg_error(
            lua,
            0,
            "Too many arguments for MessagePack pack.",
        ));
    }
    let mut out = Vec::new();
    for (i, v) in a.iter().enumerate() {
        let top = Slots(n + i);
        top.check(lua, 1, "in function mp_check")?;
        mp_encode(lua, &mut out, v, 0, top.up(1))?;
    }
    one(Value::String(lua.create_string(&out)?))
}

fn mp_header(out: &mut Vec<u8>, n: usize, fix: u8, fix_max: usize, op16: u8) {
    if n <= fix_max {
        out.push(fix | n as u8);
    } else if n <= 0xffff {
        out.push(op16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(op16 + 1);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn mp_encode_int(out: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        if n <= 127 {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// Encodes `v`, which sits at the top of `top` slots.
fn mp_encode(
    lua: &Lua,
    out: &mut Vec<u8>,
    v: &Value,
    level: usize,
    top: Slots,
) -> mlua::Result<()> {
    match v {
        Value::String(s) => {
            let b = s.as_bytes();
            let len = b.len();
            if len < 32 {
                out.push(0xa0 | len as u8);
            } else if len <= 0xff {
                out.extend_from_slice(&[0xd9, len as u8]);
            } else if len <= 0xffff {
                out.push(0xda);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            } else {
                out.push(0xdb);
                out.extend_from_slice(&(len as u32).to_be_bytes());
            }
            out.extend_from_slice(&b);
        }
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(_) | Value::Number(_) => {
            let n = num_of(v).unwrap_or(0.0);
            if !n.is_infinite() && c_i64(n) as f64 == n {
                mp_encode_int(out, c_i64(n));
            } else if n == (n as f32) as f64 {
                out.push(0xca);
                out.extend_from_slice(&(n as f32).to_be_bytes());
            } else {
                out.push(0xcb);
                out.extend_from_slice(&n.to_be_bytes());
            }
        }
        Value::Table(t) if level != MP_MAX_NESTING => mp_encode_table(lua, out, t, level, top)?,
        _ => out.push(0xc0),
    }
    Ok(())
}

fn mp_encode_table(
    lua: &Lua,
    out: &mut Vec<u8>,
    t: &Table,
    level: usize,
    top: Slots,
) -> mlua::Result<()> {
    top.check(lua, 2, "in function table_is_an_array")?;
    let (mut count, mut max) = (0i32, 0i32);
    let mut array = true;
    for kv in t.pairs::<Value, Value>() {
        let (k, _) = kv?;
        match num_of(&k) {
            Some(n) if n > 0.0 && !n.is_infinite() && c_i32(n) as f64 == n => {
                if n > max as f64 {
                    max = c_i32(n);
                }
                count = count.wrapping_add(1);
            }
            _ => {
                array = false;
                break;
            }
        }
    }
    if array && max == count {
        let len = t.raw_len();
        mp_header(out, len, 0x90, 15, 0xdc);
        top.check(lua, 1, "in function mp_encode_lua_table_as_array")?;
        for j in 1..=len {
            let v: Value = t.raw_get(j)?;
            mp_encode(lua, out, &v, level + 1, top.up(1))?;
        }
    } else {
        top.check(lua, 3, "in function mp_encode_lua_table_as_map")?;
        let mut n = 0;
        for kv in t.pairs::<Value, Value>() {
            kv?;
            n += 1;
        }
        mp_header(out, n, 0x80, 15, 0xde);
        for kv in t.pairs::<Value, Value>() {
            let (k, v) = kv?;
            mp_encode(lua, out, &k, level + 1, top.up(3))?;
            mp_encode(lua, out, &v, level + 1, top.up(2))?;
        }
    }
    Ok(())
}

/// Why decoding stopped.
enum MpFail {
    Eof,
    BadFmt,
    Lua(mlua::Error),
}

impl From<mlua::Error> for MpFail {
    fn from(e: mlua::Error) -> MpFail {
        MpFail::Lua(e)
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    p: usize,
}

impl Cursor<'_> {
    fn left(&self) -> usize {
        self.s.len() - self.p
    }

    fn need(&self, n: usize) -> Result<(), MpFail> {
        if self.left() < n {
            Err(MpFail::Eof)
        } else {
            Ok(())
        }
    }

    /// The `n` bytes after the type byte (`need` checked).
    fn arg(&self, n: usize) -> &[u8] {
        &self.s[self.p + 1..self.p + 1 + n]
    }

    fn be(&self, n: usize) -> u64 {
        self.arg(n).iter().fold(0, |a, &c| (a << 8) | c as u64)
    }
}

fn mp_unpack_full(
    lua: &Lua,
    a: &MultiValue,
    limit: i64,
    offset: i64,
    top: Slots,
) -> mlua::Result<MultiValue> {
    let s = check_bytes(lua, a, 0)?;
    let len = s.len();
    if offset < 0 || limit < 0 {
        return Err(error(
            lua,
            format!(
                "Invalid request to unpack with offset of {} and limit of {}.",
                offset as i32, len as i32
            ),
        ));
    } else if offset as u64 > len as u64 {
        return Err(error(
            lua,
            format!(
                "Start offset {} greater than input length {}.",
                offset as i32, len as i32
            ),
        ));
    }
    let decode_all = limit == 0 && offset == 0;
    let limit = if decode_all { i32::MAX as i64 } else { limit };
    let mut c = Cursor {
        s: &s,
        p: offset as usize,
    };
    let mut res = Vec::new();
    let mut cnt: i64 = 0;
    while c.left() > 0 && cnt < limit {
        match mp_decode(lua, &mut c, top.up(res.len())) {
            Ok(v) => res.push(v),
            Err(MpFail::Eof) => return Err(error(lua, "Missing bytes in input.")),
            Err(MpFail::BadFmt) => return Err(error(lua, "Bad data format in input.")),
            Err(MpFail::Lua(e)) => return Err(e),
        }
        cnt += 1;
    }
    if !decode_all {
        top.up(res.len())
            .check(lua, 1, "in function mp_unpack_full")?;
        let next = if c.left() == 0 { -1 } else { c.p as i64 };
        res.insert(0, Value::Number(next as f64));
    }
    Ok(MultiValue::from_vec(res))
}

/// What a type byte starts: a whole value, or an array or map whose elements follow.
enum Head {
    Value(Value),
    Array(usize),
    Map(usize),
}

/// A table being filled while decoding (the C code recurses; this keeps the nesting on the heap, the
/// tables and map keys in `Held`).
enum Open {
    Array { left: usize, idx: usize },
    Map { left: usize, has_key: bool },
}

/// Decodes one value, to be pushed above `top` slots. The slots match the C recursion's: an array holds
/// its table and the pending index, a map its table and, while its value is decoded, the key.
fn mp_decode(lua: &Lua, c: &mut Cursor, top: Slots) -> Result<Value, MpFail> {
    let held = Held::new(lua)?;
    let mut open: Vec<Open> = Vec::new();
    let mut extra = 0;
    loop {
        let at = top.up(extra);
        let mut value = match mp_decode_head(lua, c, at)? {
            Head::Value(v) => v,
            Head::Array(len) => {
                let t = lua.create_table()?;
                at.up(1)
                    .check(lua, 1, "in function mp_decode_to_lua_array")?;
                if len > 0 {
                    held.set(open.len(), Some(t), Value::Nil)?;
                    open.push(Open::Array { left: len, idx: 1 });
                    extra += 2;
                    continue;
                }
                Value::Table(t)
            }
            Head::Map(len) => {
                let t = lua.create_table()?;
                if len > 0 {
                    held.set(open.len(), Some(t), Value::Nil)?;
                    open.push(Open::Map {
                        left: len,
                        has_key: false,
                    });
                    extra += 1;
                    continue;
                }
                Value::Table(t)
            }
        };
        // Store the value in its table; every table it completes is stored in turn.
        loop {
            let level = open.len().saturating_sub(1);
            let done = match open.last_mut() {
                None => return Ok(value),
                Some(Open::Array { left, idx }) => {
                    held.table(level)?.raw_set(*idx, value)?;
                    *idx += 1;
                    *left -= 1;
                    *left == 0
                }
                Some(Open::Map { left, has_key }) => {
                    if !*has_key {
                        held.set(level, None, value)?;
                        *has_key = true;
                        extra += 1;
                        break;
                    }
                    *has_key = false;
                    let k = held.key(level)?;
                    match &k {
                        Value::Nil => return Err(plain_error(lua, b"table index is nil").into()),
                        Value::Number(n) if n.is_nan() => {
                            return Err(plain_error(lua, b"table index is NaN").into())
                        }
                        _ => held.table(level)?.raw_set(k, value)?,
                    }
                    extra -= 1;
                    *left -= 1;
                    *left == 0
                }
            };
            if !done {
                break;
            }
            extra -= match open.pop() {
                Some(Open::Array { .. }) => 2,
                _ => 1,
            };
            value = Value::Table(held.close(level)?);
        }
    }
}

/// Reads one type byte and what it carries (`mp_decode_to_lua_type` without the recursion).
fn mp_decode_head(lua: &Lua, c: &mut Cursor, top: Slots) -> Result<Head, MpFail> {
    c.need(1)?;
    top.check(
        lua,
        1,
        "too many return values at once; use unpack_one or unpack_limit instead.",
    )?;
    let t = c.s[c.p];
    let num = |n: f64| Value::Number(n);
    let (v, used) = match t {
        0xcc | 0xd0 => {
            c.need(2)?;
            let b = c.arg(1)[0];
            (num(if t == 0xcc { b as f64 } else { b as i8 as f64 }), 2)
        }
        0xcd | 0xd1 => {
            c.need(3)?;
            let u = c.be(2) as u16;
            (num(if t == 0xcd { u as f64 } else { u as i16 as f64 }), 3)
        }
        0xce | 0xd2 => {
            c.need(5)?;
            let u = c.be(4) as u32;
            (num(if t == 0xce { u as f64 } else { u as i32 as f64 }), 5)
        }
        0xcf | 0xd3 => {
            c.need(9)?;
            // lua_pushunsigned is lua_pushinteger on 64-bit builds: both read back as signed.
            (num(c.be(8) as i64 as f64), 9)
        }
        0xc0 => (Value::Nil, 1),
        0xc3 => (Value::Boolean(true), 1),
        0xc2 => (Value::Boolean(false), 1),
        0xca => {
            c.need(5)?;
            (num(f32::from_bits(c.be(4) as u32) as f64), 5)
        }
        0xcb => {
            c.need(9)?;
            (num(f64::from_bits(c.be(8))), 9)
        }
        0xd9..=0xdb => {
            let h = match t {
                0xd9 => 1,
                0xda => 2,
                _ => 4,
            };
            c.need(1 + h)?;
            let l = c.be(h) as usize;
            if t == 0xdb {
                c.p += 1 + h;
                c.need(l)?;
                let s = lua.create_string(&c.s[c.p..c.p + l])?;
                c.p += l;
                return Ok(Head::Value(Value::String(s)));
            }
            c.need(1 + h + l)?;
            let s = lua.create_string(&c.s[c.p + 1 + h..c.p + 1 + h + l])?;
            (Value::String(s), 1 + h + l)
        }
        0xdc..=0xdf => {
            let h = if t & 1 == 0 { 2 } else { 4 };
            c.need(1 + h)?;
            let l = c.be(h) as usize;
            c.p += 1 + h;
            return Ok(if t < 0xde {
                Head::Array(l)
            } else {
                Head::Map(l)
            });
        }
        _ if t & 0x80 == 0 => (num(t as f64), 1),
        _ if t & 0xe0 == 0xe0 => (num(t as i8 as f64), 1),
        _ if t & 0xe0 == 0xa0 => {
            let l = (t & 0x1f) as usize;
            c.need(1 + l)?;
            (
                Value::String(lua.create_string(&c.s[c.p + 1..c.p + 1 + l])?),
                1 + l,
            )
        }
        _ if t & 0xf0 == 0x90 => {
            c.p += 1;
            return Ok(Head::Array((t & 0xf) as usize));
        }
        _ if t & 0xf0 == 0x80 => {
            c.p += 1;
            return Ok(Head::Map((t & 0xf) as usize));
        }
        _ => return Err(MpFail::BadFmt),
    };
    c.p += used;
    Ok(Head::Value(v))
}

// ---------------------------------------------------------------------------------------------------------
// cjson: JSON with lua-cjson's choices: numbers as `%.14g`, "/" escaped as "\/", empty tables as {}, arrays
// only for tables with keys 1..n that are not excessively sparse, null as the NULL lightuserdata cjson.null,
// and its configuration functions (each cjson table, including those made by cjson.new, has its own).

#[derive(Clone)]
struct JsonCfg {
    sparse_convert: Cell<i32>,
    sparse_ratio: Cell<i32>,
    sparse_safe: Cell<i32>,
    encode_max_depth: Cell<i32>,
    decode_max_depth: Cell<i32>,
    encode_invalid_numbers: Cell<i32>,
    decode_invalid_numbers: Cell<i32>,
    encode_keep_buffer: Cell<i32>,
    precision: Cell<i32>,
}

impl Default for JsonCfg {
    fn default() -> JsonCfg {
        JsonCfg {
            sparse_convert: Cell::new(0),
            sparse_ratio: Cell::new(2),
            sparse_safe: Cell::new(10),
            encode_max_depth: Cell::new(1000),
            decode_max_depth: Cell::new(1000),
            encode_invalid_numbers: Cell::new(0),
            decode_invalid_numbers: Cell::new(1),
            encode_keep_buffer: Cell::new(1),
            precision: Cell::new(14),
        }
    }
}

type JsonFn = fn(&Lua, &JsonCfg, MultiValue) -> mlua::Result<MultiValue>;

fn cjson_new(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let cfg = Rc::new(JsonCfg::default());
    let funcs: [(&str, JsonFn); 9] = [
        ("encode", json_encode),
        ("decode", json_decode),
        ("encode_sparse_array", |l, c, a| {
            json_arg_init(l, &a, 3)?;
            Ok(MultiValue::from_vec(vec![
                json_enum_option(l, &a, 0, &c.sparse_convert, None)?,
                json_int_option(l, &a, 1, &c.sparse_ratio, 0, i32::MAX)?,
                json_int_option(l, &a, 2, &c.sparse_safe, 0, i32::MAX)?,
            ]))
        }),
        ("encode_max_depth", |l, c, a| {
            json_arg_init(l, &a, 1)?;
            one(json_int_option(l, &a, 0, &c.encode_max_depth, 1, i32::MAX)?)
        }),
        ("decode_max_depth", |l, c, a| {
            json_arg_init(l, &a, 1)?;
            one(json_int_option(l, &a, 0, &c.decode_max_depth, 1, i32::MAX)?)
        }),
        ("encode_number_precision", |l, c, a| {
            json_arg_init(l, &a, 1)?;
            one(json_int_option(l, &a, 0, &c.precision, 1, 14)?)
        }),
        ("encode_keep_buffer", |l, c, a| {
            json_arg_init(l, &a, 1)?;
            one(json_enum_option(l, &a, 0, &c.encode_keep_buffer, None)?)
        }),
        ("encode_invalid_numbers", |l, c, a| {
            json_arg_init(l, &a, 1)?;
            one(json_enum_option(
                l,
                &a,
                0,
                &c.encode_invalid_numbers,
                Some(&["off", "on", "null"]),
            )?)
        }),
        ("decode_invalid_numbers", |l, c, a| {
            json_arg_init(l, &a, 1)?;
            one(json_enum_option(l, &a, 0, &c.decode_invalid_numbers, None)?)
        }),
    ];
    for (name, f) in funcs {
        let cfg = cfg.clone();
        t.raw_set(name, lua.create_function(move |l, a| f(l, &cfg, a))?)?;
    }
    t.raw_set("new", lua.create_function(|l, ()| cjson_new(l))?)?;
    t.raw_set("null", Value::NULL)?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    Ok(t)
}

fn json_arg_init(lua: &Lua, a: &MultiValue, args: usize) -> mlua::Result<()> {
    if a.len() > args {
        return Err(arg_error(lua, args as i64 + 1, "found too many arguments"));
    }
    Ok(())
}

fn json_int_option(
    lua: &Lua,
    a: &MultiValue,
    i: usize,
    setting: &Cell<i32>,
    min: i32,
    max: i32,
) -> mlua::Result<Value> {
    if !matches!(a.get(i), None | Some(Value::Nil)) {
        let v = check_integer(lua, a, i)? as i32;
        if !(min <= v && v <= max) {
            // lua-cjson names argument 1 whichever option is wrong.
            return Err(arg_error(
                lua,
                1,
                format!("expected integer between {min} and {max}"),
            ));
        }
        setting.set(v);
    }
    Ok(Value::Number(setting.get() as f64))
}

fn json_enum_option(
    lua: &Lua,
    a: &MultiValue,
    i: usize,
    setting: &Cell<i32>,
    options: Option<&[&str]>,
) -> mlua::Result<Value> {
    let options = options.unwrap_or(&["off", "on"]);
    match a.get(i) {
        None | Some(Value::Nil) => {}
        Some(Value::Boolean(b)) => setting.set(*b as i32),
        Some(_) => {
            let s = check_bytes(lua, a, i)?;
            match options.iter().position(|o| o.as_bytes() == s.as_slice()) {
                Some(p) => setting.set(p as i32),
                None => {
                    let mut msg = b"invalid option '".to_vec();
                    msg.extend_from_slice(&s);
                    msg.push(b'\'');
                    return Err(arg_error(lua, i as i64 + 1, msg));
                }
            }
        }
    }
    let v = setting.get();
    Ok(if v == 0 || v == 1 {
        Value::Boolean(v == 1)
    } else {
        Value::String(lua.create_string(options[v as usize])?)
    })
}

/// cjson.encode(value)
fn json_encode(lua: &Lua, cfg: &JsonCfg, a: MultiValue) -> mlua::Result<MultiValue> {
    if a.len() != 1 {
        return Err(arg_error(lua, 1, "expected 1 argument"));
    }
    let mut out = Vec::new();
    json_append(lua, cfg, &mut out, &a[0])?;
    one(Value::String(lua.create_string(&out)?))
}

fn json_exception(lua: &Lua, v: &Value, reason: &str) -> mlua::Error {
    let t = match v {
        Value::LightUserData(_) => "userdata",
        v => type_name(Some(v)),
    };
    error(lua, format!("Cannot serialise {t}: {reason}"))
}

fn json_append_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\x08' => out.extend_from_slice(b"\\b"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\x0c' => out.extend_from_slice(b"\\f"),
            b'\r' => out.extend_from_slice(b"\\r"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{c:04x}").as_bytes()),
            _ => out.push(c),
        }
    }
    out.push(b'"');
}

fn json_append_number(lua: &Lua, cfg: &JsonCfg, out: &mut Vec<u8>, v: &Value) -> mlua::Result<()> {
    let n = num_of(v).unwrap_or(0.0);
    match cfg.encode_invalid_numbers.get() {
        0 if !n.is_finite() => return Err(json_exception(lua, v, "must not be NaN or Inf")),
        1 if n.is_nan() => {
            out.extend_from_slice(b"nan");
            return Ok(());
        }
        2 if !n.is_finite() => {
            out.extend_from_slice(b"null");
            return Ok(());
        }
        _ => {}
    }
    if n.is_infinite() {
        out.extend_from_slice(if n > 0.0 { b"inf" } else { b"-inf" });
    } else {
        out.extend_from_slice(fmt_g(n, cfg.precision.get() as usize).as_bytes());
    }
    Ok(())
}

/// A table being written (the C code recurses; this keeps the nesting on the heap, the tables and keys in
/// `Held`).
enum JsonOpen {
    Array { len: i32, i: i32 },
    Object { started: bool },
}

/// Appends `root`, an argument (one slot). The slots match the C recursion's: an array element sits above
/// its table, an object value above its table and key.
fn json_append(lua: &Lua, cfg: &JsonCfg, out: &mut Vec<u8>, root: &Value) -> mlua::Result<()> {
    let held = Held::new(lua)?;
    let mut open: Vec<JsonOpen> = Vec::new();
    let mut top = Slots(1);
    let mut next = Some(root.clone());
    loop {
        if let Some(v) = next.take() {
            match &v {
                Value::String(s) => json_append_string(out, &s.as_bytes()),
                Value::Integer(_) | Value::Number(_) => json_append_number(lua, cfg, out, &v)?,
                Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
                Value::Nil => out.extend_from_slice(b"null"),
                Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
                Value::Table(t) => {
                    let depth = open.len() as i32 + 1;
                    if depth > cfg.encode_max_depth.get() || !top.fits(3) {
                        return Err(error(
                            lua,
                            format!("Cannot serialise, excessive nesting ({depth})"),
                        ));
                    }
                    let len = json_array_length(lua, cfg, t, &v)?;
                    held.set(open.len(), Some(t.clone()), Value::Nil)?;
                    if len > 0 {
                        out.push(b'[');
                        open.push(JsonOpen::Array { len, i: 0 });
                        top = top.up(1);
                    } else {
                        out.push(b'{');
                        open.push(JsonOpen::Object { started: false });
                        top = top.up(2);
                    }
                }
                _ => return Err(json_exception(lua, &v, "type not supported")),
            }
        }
        let level = open.len().saturating_sub(1);
        match open.last_mut() {
            None => return Ok(()),
            Some(JsonOpen::Array { len, i }) => {
                if *i < *len {
                    if *i > 0 {
                        out.push(b',');
                    }
                    *i += 1;
                    next = Some(held.table(level)?.raw_get(*i)?);
                    continue;
                }
                out.push(b']');
                top = Slots(top.0 - 1);
            }
            Some(JsonOpen::Object { started }) => {
                let t = held.table(level)?;
                let key = if *started {
                    held.key(level)?
                } else {
                    Value::Nil
                };
                let (k, x) = lua_next(lua, &t, key)?;
                if !k.is_nil() {
                    if *started {
                        out.push(b',');
                    }
                    *started = true;
                    match &k {
                        Value::Integer(_) | Value::Number(_) => {
                            out.push(b'"');
                            json_append_number(lua, cfg, out, &k)?;
                            out.extend_from_slice(b"\":");
                        }
                        Value::String(s) => {
                            json_append_string(out, &s.as_bytes());
                            out.push(b':');
                        }
                        _ => {
                            return Err(json_exception(
                                lua,
                                &k,
                                "table key must be a number or string",
                            ))
                        }
                    }
                    held.set(level, None, k)?;
                    next = Some(x);
                    continue;
                }
                out.push(b'}');
                top = Slots(top.0 - 2);
            }
        }
        held.close(level)?;
        open.pop();
    }
}

/// The array length of a table with only positive integer keys (C `int` arithmetic), else -1.
fn json_array_length(lua: &Lua, cfg: &JsonCfg, t: &Table, table: &Value) -> mlua::Result<i32> {
    let (mut max, mut items) = (0i32, 0i32);
    for kv in t.pairs::<Value, Value>() {
        let (k, _) = kv?;
        match num_of(&k) {
            Some(k) if k != 0.0 && k.floor() == k && k >= 1.0 => {
                if k > max as f64 {
                    max = c_i32(k);
                }
                items = items.wrapping_add(1);
            }
            _ => return Ok(-1),
        }
    }
    let ratio = cfg.sparse_ratio.get();
    if ratio > 0 && max > items.wrapping_mul(ratio) && max > cfg.sparse_safe.get() {
        if cfg.sparse_convert.get() == 0 {
            return Err(json_exception(lua, table, "excessively sparse array"));
        }
        return Ok(-1);
    }
    Ok(max)
}

#[derive(Clone, Copy, PartialEq)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    Str,
    Num(f64),
    Bool(bool),
    Null,
    Colon,
    Comma,
    End,
    Error(&'static str),
}

impl Tok {
    fn name(self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str => "T_STRING",
            Tok::Num(_) => "T_NUMBER",
            Tok::Bool(_) => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error(e) => e,
        }
    }
}

struct JsonParser<'a> {
    lua: &'a Lua,
    cfg: &'a JsonCfg,
    data: &'a [u8],
    ptr: usize,
    depth: i32,
    /// The last string token's bytes.
    tmp: Vec<u8>,
}

/// cjson.decode(text)
fn json_decode(lua: &Lua, cfg: &JsonCfg, a: MultiValue) -> mlua::Result<MultiValue> {
    if a.len() != 1 {
        return Err(arg_error(lua, 1, "expected 1 argument"));
    }
    let data = check_bytes(lua, &a, 0)?;
    if data.len() >= 2 && (data[0] == 0 || data[1] == 0) {
        return Err(error(lua, "JSON parser does not support UTF-16 or UTF-32"));
    }
    let mut p = JsonParser {
        lua,
        cfg,
        data: &data,
        ptr: 0,
        depth: 0,
        tmp: Vec::new(),
    };
    let (tok, at) = p.next_token();
    let v = p.value(tok, at)?;
    let (tok, at) = p.next_token();
    if tok != Tok::End {
        return Err(p.parse_error("the end", tok, at));
    }
    one(v)
}

impl JsonParser<'_> {
    /// The byte at `i`, NUL past the end: the C parser reads a NUL-terminated string.
    fn at(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    fn starts(&self, word: &[u8]) -> bool {
        word.iter()
            .enumerate()
            .all(|(i, &c)| self.at(self.ptr + i) == c)
    }

    fn starts_ci(&self, p: usize, word: &[u8]) -> bool {
        word.iter()
            .enumerate()
            .all(|(i, &c)| self.at(p + i).to_ascii_lowercase() == c)
    }

    /// The next token and its index; an error token's index is where the scan stopped.
    fn next_token(&mut self) -> (Tok, usize) {
        while matches!(self.at(self.ptr), b' ' | b'\t' | b'\n' | b'\r') {
            self.ptr += 1;
        }
        let start = self.ptr;
        let ch = self.at(start);
        let single = match ch {
            b'{' => Some(Tok::ObjBegin),
            b'}' => Some(Tok::ObjEnd),
            b'[' => Some(Tok::ArrBegin),
            b']' => Some(Tok::ArrEnd),
            b',' => Some(Tok::Comma),
            b':' => Some(Tok::Colon),
            _ => None,
        };
        if let Some(t) = single {
            self.ptr += 1;
            return (t, start);
        }
        match ch {
            0 => (Tok::End, start),
            b'"' => self.string_token(),
            b'-' | b'0'..=b'9' => {
                if self.cfg.decode_invalid_numbers.get() == 0 && self.is_invalid_number() {
                    return (Tok::Error("invalid number"), self.ptr);
                }
                self.number_token()
            }
            b'f' | b'i' | b'I' | b'n' | b'N' | b't' | b'+' => {
                if self.starts(b"true") {
                    self.ptr += 4;
                    (Tok::Bool(true), start)
                } else if self.starts(b"false") {
                    self.ptr += 5;
                    (Tok::Bool(false), start)
                } else if self.starts(b"null") {
                    self.ptr += 4;
                    (Tok::Null, start)
                } else if self.cfg.decode_invalid_numbers.get() != 0 && self.is_invalid_number() {
                    self.number_token()
                } else {
                    (Tok::Error("invalid token"), self.ptr)
                }
            }
            _ => (Tok::Error("invalid token"), self.ptr),
        }
    }

    /// Numbers strtod takes but strict JSON does not: a leading +, hex, leading zeros, inf and nan.
    fn is_invalid_number(&self) -> bool {
        let mut p = self.ptr;
        if self.at(p) == b'+' {
            return true;
        }
        if self.at(p) == b'-' {
            p += 1;
        }
        let c = self.at(p);
        if c == b'0' {
            let c2 = self.at(p + 1);
            return c2 | 0x20 == b'x' || c2.is_ascii_digit();
        } else if c <= b'9' || c >= 0x80 {
            return false;
        }
        self.starts_ci(p, b"inf") || self.starts_ci(p, b"nan")
    }

    fn number_token(&mut self) -> (Tok, usize) {
        let start = self.ptr;
        let end = self.data[start.min(self.data.len())..]
            .iter()
            .position(|&c| c == 0)
            .map_or(self.data.len(), |z| start + z);
        match strtod(&self.data[start.min(end)..end]) {
            Some((n, used)) => {
                self.ptr += used;
                (Tok::Num(n), start)
            }
            None => (Tok::Error("invalid number"), start),
        }
    }

    fn string_token(&mut self) -> (Tok, usize) {
        let start = self.ptr;
        self.ptr += 1;
        self.tmp.clear();
        loop {
            let ch = self.at(self.ptr);
            if ch == b'"' {
                break;
            }
            if ch == 0 {
                return (Tok::Error("unexpected end of string"), self.ptr);
            }
            if ch == b'\\' {
                let esc = match self.at(self.ptr + 1) {
                    b'"' => b'"',
                    b'\\' => b'\\',
                    b'/' => b'/',
                    b'b' => b'\x08',
                    b't' => b'\t',
                    b'n' => b'\n',
                    b'f' => b'\x0c',
                    b'r' => b'\r',
                    b'u' => {
                        if self.unicode_escape() {
                            continue;
                        }
                        return (Tok::Error("invalid unicode escape code"), self.ptr);
                    }
                    _ => return (Tok::Error("invalid escape code"), self.ptr),
                };
                self.ptr += 1;
                self.tmp.push(esc);
            } else {
                self.tmp.push(ch);
            }
            self.ptr += 1;
        }
        self.ptr += 1;
        (Tok::Str, start)
    }

    fn hex4(&self, p: usize) -> Option<u32> {
        (0..4).try_fold(0u32, |a, i| {
            let d = (self.at(p + i) as char).to_digit(16)?;
            Some((a << 4) | d)
        })
    }

    /// `\uXXXX` (or a surrogate pair of them) at `ptr`, appended as UTF-8.
    fn unicode_escape(&mut self) -> bool {
        let Some(mut cp) = self.hex4(self.ptr + 2) else {
            return false;
        };
        let mut len = 6;
        if cp & 0xF800 == 0xD800 {
            if cp & 0x400 != 0 {
                return false;
            }
            if self.at(self.ptr + 6) != b'\\' || self.at(self.ptr + 7) != b'u' {
                return false;
            }
            let Some(low) = self.hex4(self.ptr + 8) else {
                return false;
            };
            if low & 0xFC00 != 0xDC00 {
                return false;
            }
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        let mut buf = [0u8; 4];
        let n = if cp <= 0x7F {
            buf[0] = cp as u8;
            1
        } else if cp <= 0x7FF {
            buf[0] = (cp >> 6) as u8 | 0xC0;
            buf[1] = (cp & 0x3F) as u8 | 0x80;
            2
        } else if cp <= 0xFFFF {
            buf[0] = (cp >> 12) as u8 | 0xE0;
            buf[1] = ((cp >> 6) & 0x3F) as u8 | 0x80;
            buf[2] = (cp & 0x3F) as u8 | 0x80;
            3
        } else {
            buf[0] = (cp >> 18) as u8 | 0xF0;
            buf[1] = ((cp >> 12) & 0x3F) as u8 | 0x80;
            buf[2] = ((cp >> 6) & 0x3F) as u8 | 0x80;
            buf[3] = (cp & 0x3F) as u8 | 0x80;
            4
        };
        self.tmp.extend_from_slice(&buf[..n]);
        self.ptr += len;
        true
    }

    fn parse_error(&self, expected: &str, tok: Tok, at: usize) -> mlua::Error {
        error(
            self.lua,
            format!(
                "Expected {expected} but found {} at character {}",
                tok.name(),
                at + 1
            ),
        )
    }

    /// Enters an object or array whose contents need `slots` more slots above `top`.
    fn descend(&mut self, top: Slots, slots: usize) -> mlua::Result<()> {
        self.depth += 1;
        if self.depth <= self.cfg.decode_max_depth.get() && top.fits(slots) {
            return Ok(());
        }
        Err(error(
            self.lua,
            format!(
                "Found too many nested data structures ({}) at character {}",
                self.depth, self.ptr
            ),
        ))
    }

    /// After an object's `{` or `,`: the key, its colon, and the token starting the value.
    fn key(&mut self, tok: Tok, at: usize) -> mlua::Result<(mlua::LuaString, Tok, usize)> {
        if tok != Tok::Str {
            return Err(self.parse_error("object key string", tok, at));
        }
        let key = self.lua.create_string(&self.tmp)?;
        let (tok, at) = self.next_token();
        if tok != Tok::Colon {
            return Err(self.parse_error("colon", tok, at));
        }
        let (tok, at) = self.next_token();
        Ok((key, tok, at))
    }

    /// The value starting with `tok` (an argument sits below it). The C parser recurses; the open tables
    /// wait here on the heap, taking the slots the C recursion takes: an object its table and key, an array
    /// its table.
    fn value(&mut self, mut tok: Tok, mut at: usize) -> mlua::Result<Value> {
        // Per open table: whether it is an object, and an array's next index; the tables and the object
        // keys wait in `held`.
        let held = Held::new(self.lua)?;
        let mut open: Vec<(bool, i64)> = Vec::new();
        let mut top = Slots(1);
        loop {
            let mut value = match tok {
                Tok::Str => Value::String(self.lua.create_string(&self.tmp)?),
                Tok::Num(n) => Value::Number(n),
                Tok::Bool(b) => Value::Boolean(b),
                Tok::Null => Value::NULL,
                Tok::ObjBegin | Tok::ArrBegin => {
                    let obj = tok == Tok::ObjBegin;
                    self.descend(top, if obj { 3 } else { 2 })?;
                    let t = self.lua.create_table()?;
                    (tok, at) = self.next_token();
                    if tok == (if obj { Tok::ObjEnd } else { Tok::ArrEnd }) {
                        self.depth -= 1;
                        Value::Table(t)
                    } else {
                        let mut key = Value::Nil;
                        if obj {
                            let (k, t2, a2) = self.key(tok, at)?;
                            (key, tok, at) = (Value::String(k), t2, a2);
                            top = top.up(2);
                        } else {
                            top = top.up(1);
                        }
                        held.set(open.len(), Some(t), key)?;
                        open.push((obj, 1));
                        continue;
                    }
                }
                _ => return Err(self.parse_error("value", tok, at)),
            };
            // Store the value; every table it completes is stored in turn.
            loop {
                let level = open.len().saturating_sub(1);
                let Some((obj, idx)) = open.last_mut() else {
                    return Ok(value);
                };
                let obj = *obj;
                let t = held.table(level)?;
                if obj {
                    t.raw_set(held.key(level)?, value)?;
                } else {
                    t.raw_set(*idx, value)?;
                    *idx += 1;
                }
                (tok, at) = self.next_token();
                if tok == (if obj { Tok::ObjEnd } else { Tok::ArrEnd }) {
                    self.depth -= 1;
                    top = Slots(top.0 - if obj { 2 } else { 1 });
                    value = Value::Table(held.close(level)?);
                    open.pop();
                    continue;
                }
                if tok != Tok::Comma {
                    let what = if obj {
                        "comma or object end"
                    } else {
                        "comma or array end"
                    };
                    return Err(self.parse_error(what, tok, at));
                }
                (tok, at) = self.next_token();
                if obj {
                    let (k, t2, a2) = self.key(tok, at)?;
                    (tok, at) = (t2, a2);
                    held.set(level, None, Value::String(k))?;
                }
                break;
            }
        }
    }
}

/// glibc's `strtod` in the C locale over `s` (no leading spaces): the value and the bytes it used, None
/// when no number starts there. Decimal, hexadecimal (`0x1.8p3`), `inf`/`infinity` and `nan`/`nan(...)`.
fn strtod(s: &[u8]) -> Option<(f64, usize)> {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut i = 0;
    let neg = match at(0) {
        b'-' => {
            i = 1;
            true
        }
        b'+' => {
            i = 1;
            false
        }
        _ => false,
    };
    let sign = |v: f64| if neg { -v } else { v };
    let ci = |p: usize, w: &[u8]| {
        w.iter()
            .enumerate()
            .all(|(k, &c)| at(p + k).to_ascii_lowercase() == c)
    };
    if ci(i, b"inf") {
        let used = if ci(i, b"infinity") { i + 8 } else { i + 3 };
        return Some((sign(f64::INFINITY), used));
    }
    if ci(i, b"nan") {
        let mut used = i + 3;
        if at(used) == b'(' {
            let mut j = used + 1;
            while at(j).is_ascii_alphanumeric() || at(j) == b'_' {
                j += 1;
            }
            if at(j) == b')' {
                used = j + 1;
            }
        }
        return Some((sign(f64::NAN), used));
    }
    if at(i) == b'0' && at(i + 1) | 0x20 == b'x' {
        let h = i + 2;
        let hex_start =
            at(h).is_ascii_hexdigit() || (at(h) == b'.' && at(h + 1).is_ascii_hexdigit());
        if hex_start {
            let (v, used) = hex_float(s, h);
            return Some((sign(v), used));
        }
        // "0x" without hex digits: just the 0.
        return Some((sign(0.0), i + 1));
    }
    let mut j = i;
    let mut digits = 0;
    while at(j).is_ascii_digit() {
        j += 1;
        digits += 1;
    }
    if at(j) == b'.' {
        j += 1;
        while at(j).is_ascii_digit() {
            j += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return None;
    }
    if at(j) | 0x20 == b'e' {
        let mut k = j + 1;
        if matches!(at(k), b'+' | b'-') {
            k += 1;
        }
        if at(k).is_ascii_digit() {
            while at(k).is_ascii_digit() {
                k += 1;
            }
            j = k;
        }
    }
    let text = std::str::from_utf8(&s[i..j]).ok()?;
    let v: f64 = text.parse().ok()?;
    Some((sign(v), j))
}

/// The hex digits (and optional binary exponent) from `h`, correctly rounded to nearest even.
fn hex_float(s: &[u8], h: usize) -> (f64, usize) {
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut mant: u64 = 0;
    let mut sticky = false;
    let mut exp: i64 = 0;
    let mut j = h;
    let mut seen_dot = false;
    loop {
        let c = at(j);
        if c == b'.' && !seen_dot {
            seen_dot = true;
        } else if let Some(d) = (c as char).to_digit(16) {
            if mant >> 60 == 0 {
                mant = (mant << 4) | d as u64;
                if seen_dot {
                    exp -= 4;
                }
            } else {
                sticky |= d != 0;
                if !seen_dot {
                    exp += 4;
                }
            }
        } else {
            break;
        }
        j += 1;
    }
    if at(j) | 0x20 == b'p' {
        let mut k = j + 1;
        let eneg = at(k) == b'-';
        if matches!(at(k), b'+' | b'-') {
            k += 1;
        }
        if at(k).is_ascii_digit() {
            let mut e: i64 = 0;
            while at(k).is_ascii_digit() {
                e = (e * 10 + (at(k) - b'0') as i64).min(1 << 40);
                k += 1;
            }
            exp += if eneg { -e } else { e };
            j = k;
        }
    }
    (scale_bits(mant, sticky, exp), j)
}

/// `mant * 2^exp` (plus a sticky fraction below mant's last bit) rounded to nearest even.
fn scale_bits(mant: u64, sticky: bool, exp: i64) -> f64 {
    if mant == 0 {
        return 0.0;
    }
    // Normalise to 64 bits: value = m * 2^(e), with m's top bit set.
    let lz = mant.leading_zeros() as i64;
    let m = mant << lz;
    let e = exp - lz; // value = m * 2^e
    let top = e + 63; // exponent of the leading bit
    if top > 1023 {
        return f64::INFINITY;
    }
    // Bits kept: 53 for normals, fewer for subnormals (the least bit is 2^-1074).
    let keep = if top >= -1022 { 53 } else { 53 - (-1022 - top) };
    if keep <= 0 {
        // Below half the smallest subnormal, or exactly at it / above (rounding).
        if keep == 0 {
            let half = m == 1 << 63 && !sticky;
            return if half { 0.0 } else { f64::from_bits(1) };
        }
        return 0.0;
    }
    let drop = 64 - keep as u32;
    let mut q = m >> drop;
    let rem = m & ((1u64 << drop) - 1);
    let halfway = 1u64 << (drop - 1);
    if rem > halfway || (rem == halfway && (sticky || q & 1 == 1)) {
        q += 1;
    }
    // q * 2^(e + drop)
    let qe = e + drop as i64;
    let v = q as f64;
    ldexp(v, qe)
}

fn ldexp(mut v: f64, mut e: i64) -> f64 {
    // Exact while the result is representable; q has at most 54 bits so each step is exact.
    while e > 0 {
        let step = e.min(1000);
        v *= 2f64.powi(step as i32);
        e -= step;
    }
    while e < 0 {
        let step = (-e).min(1000);
        v /= 2f64.powi(step as i32);
        e += step;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtod_forms() {
        assert_eq!(strtod(b"12.5e1x"), Some((125.0, 6)));
        assert_eq!(strtod(b"-0x10"), Some((-16.0, 5)));
        assert_eq!(strtod(b"0x1.8p1"), Some((3.0, 7)));
        assert_eq!(strtod(b"0xg"), Some((0.0, 1)));
        assert_eq!(strtod(b"1e"), Some((1.0, 1)));
        assert_eq!(strtod(b"Infinity"), Some((f64::INFINITY, 8)));
        assert_eq!(strtod(b"-"), None);
        assert_eq!(strtod(b"."), None);
        assert!(strtod(b"nan(12)").is_some_and(|(v, n)| v.is_nan() && n == 7));
        assert_eq!(strtod(b"0x1p-1074"), Some((f64::from_bits(1), 9)));
        assert_eq!(strtod(b"0x1p1024"), Some((f64::INFINITY, 8)));
        assert_eq!(
            strtod(b"0x1fffffffffffff8"),
            Some((0x1fffffffffffff8u64 as f64, 17))
        );
    }

    #[test]
    fn c_casts() {
        assert_eq!(c_u64(18446744073709551616.0), 0);
        assert_eq!(c_u64(f64::NAN), 1 << 63);
        assert_eq!(c_u64(9223372036854779904.0), (1 << 63) + 4096);
        assert_eq!(c_i32(2147483648.0), i32::MIN);
    }
}
