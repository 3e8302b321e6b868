//! Redis 7.0 Functions: FUNCTION LOAD / DELETE / LIST / STATS / KILL / FLUSH / DUMP / RESTORE / HELP,
//! FCALL and FCALL_RO. Owns the loaded libraries (`State::functions`: each one's code, as given to FUNCTION
//! LOAD, and its registered functions) and their Lua interpreter, a second `script::Scripting` apart from
//! EVAL's (as in Redis, SCRIPT FLUSH leaves it alone). Replies and error texts are Redis 7.0.15's
//! (functions.c, function_lua.c).
//!
//! A library's code runs once, at load, with Redis's library API as its only global (`redis` with
//! `register_function`, `log` and the constants); the functions it registers run later through
//! `script::run_script`, the EVAL machinery, with their keys and arguments as their two parameters.
//! Persistence saves the code of each library (FUNCTION2 records, see `store::rdbfile`), and FUNCTION
//! DUMP's payload is those records with the RDB version and CRC64 of a DUMP.
//!
//! How it differs from Redis: libraries and their functions are listed in load order (Redis's follow its
//! hash tables' order); FUNCTION KILL never finds a function running (see `script`'s module doc).

use std::cell::RefCell;
use std::rc::Rc;

use mlua::{Function, Lua, MultiValue, Value};

use super::script::{self, lua_array, RunTarget, Scripting, Shared, SCRIPT_FLAGS};
use super::server::{lossy, reply_help};
use super::{err, Args, CmdResult, Ctx, Error};
use crate::server::State;
use crate::store::glob::glob_match;
use crate::store::rdb::{self, crc64, RDB_VERSION};
use crate::store::rdbfile;
use crate::util::eq_ci;

/// How long a client's FUNCTION LOAD may run the library's code (Redis's LOAD_TIMEOUT_MS).
const LOAD_TIMEOUT_MS: u64 = 500;

const ERR_NAME: &str = "Library names can only contain letters, numbers, or underscores(_) and must be at least one character long";

/// One registered function.
struct Def {
    name: Vec<u8>,
    desc: Option<Vec<u8>>,
    func: Function,
    flags: u32,
}

struct Library {
    name: Vec<u8>,
    /// The whole payload given to FUNCTION LOAD, shebang line included: what is saved and listed.
    code: Vec<u8>,
    funcs: Vec<Def>,
}

/// The loaded libraries and their interpreter (created on first use).
#[derive(Default)]
pub struct Functions {
    libs: Vec<Library>,
    engine: Option<Box<Scripting>>,
    /// Where `redis.register_function` puts what it registers while a library loads (None otherwise).
    pending: Rc<RefCell<Option<Vec<Def>>>>,
}

impl Functions {
    /// The interpreter, created on first use.
    fn engine(&mut self) -> Result<&Scripting, String> {
        if self.engine.is_none() {
            let pending = self.pending.clone();
            let s = Scripting::with_register(Shared::new(), move |lua| {
                let f = lua.create_function(move |lua, a: MultiValue| {
                    register_function(lua, &pending, a)
                })?;
                Ok(Some(f))
            })
            .map_err(|e| format!("Lua initialization failed: {e}"))?;
            self.engine = Some(Box::new(s));
        }
        Ok(self.engine.as_deref().expect("created above"))
    }

    /// The code of every library, as persistence saves them.
    pub fn codes(&self) -> Vec<Vec<u8>> {
        self.libs.iter().map(|l| l.code.clone()).collect()
    }

    /// Drops every library (FUNCTION FLUSH, and before DEBUG RELOAD loads the file).
    pub fn clear(&mut self) {
        self.libs.clear();
    }

    /// Loads the libraries read from an RDB file, with no time limit; an existing library is replaced
    /// only when `replace` (DEBUG RELOAD MERGE). The error is what Redis logs.
    pub fn load_from_rdb(&mut self, codes: Vec<Vec<u8>>, replace: bool) -> Result<(), String> {
        for code in codes {
            let mut libs = std::mem::take(&mut self.libs);
            let res = self.create(&mut libs, code, replace, 0);
            self.libs = libs;
            res.map_err(|e| format!("Failed loading library, {e}"))?;
        }
        Ok(())
    }

    /// Redis's `functionsCreateWithLibraryCtx`: compiles and runs `code` and adds the library to
    /// `libs` (replacing one of the same name when `replace`). Returns the library's name; the error is
    /// Redis's text without its `ERR `.
    fn create(
        &mut self,
        libs: &mut Vec<Library>,
        code: Vec<u8>,
        replace: bool,
        timeout_ms: u64,
    ) -> Result<Vec<u8>, String> {
        let (engine_name, name, body_at) = metadata(&code)?;
        if !valid_name(&name) {
            return Err(ERR_NAME.into());
        }
        if !eq_ci(&engine_name, b"lua") {
            return Err(format!("Engine '{}' not found", lossy(&engine_name)));
        }
        let old = libs.iter().position(|l| l.name == name);
        if old.is_some() && !replace {
            return Err(format!("Library '{}' already exists", lossy(&name)));
        }
        let funcs = self.run_library(&code[body_at..], timeout_ms)?;
        if funcs.is_empty() {
            return Err("No functions registered".into());
        }
        let others = libs
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != old)
            .flat_map(|(_, l)| l.funcs.iter());
        for f in others {
            if let Some(d) = funcs.iter().find(|d| eq_ci(&d.name, &f.name)) {
                return Err(format!("Function {} already exists", lossy(&d.name)));
            }
        }
        let lib = Library {
            name: name.clone(),
            code,
            funcs,
        };
        match old {
            Some(i) => libs[i] = lib,
            None => libs.push(lib),
        }
        Ok(name)
    }

    /// Compiles a library's body and runs it with the library API; returns what it registered.
    fn run_library(&mut self, body: &[u8], timeout_ms: u64) -> Result<Vec<Def>, String> {
        let pending = self.pending.clone();
        let engine = self.engine()?;
        let chunk = super::script::compile(engine.lua(), body, "@user_function")
            .map_err(|msg| format!("Error compiling function: {msg}"))?;
        *pending.borrow_mut() = Some(Vec::new());
        let res = engine.load_library(chunk, timeout_ms);
        let funcs = pending.borrow_mut().take().unwrap_or_default();
        match res {
            Ok(()) => Ok(funcs),
            Err(e) => Err(format!("Error registering functions: {}", lossy(&e))),
        }
    }

    fn find(&self, name: &[u8]) -> Option<&Def> {
        self.libs
            .iter()
            .flat_map(|l| l.funcs.iter())
            .find(|f| eq_ci(&f.name, name))
    }

    fn function_count(&self) -> usize {
        self.libs.iter().map(|l| l.funcs.len()).sum()
    }
}

/// Redis's `functionsVerifyName`: letters, digits and underscores, at least one.
fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// Redis's `functionExtractLibMetaData`: the engine and library name from the shebang line
/// (`#!lua name=mylib`), and where the body starts (at the line's newline, so line numbers hold).
fn metadata(code: &[u8]) -> Result<(Vec<u8>, Vec<u8>, usize), String> {
    if !code.starts_with(b"#!") {
        return Err("Missing library metadata".into());
    }
    // The payload is a C string to Redis: nothing past a NUL counts.
    let text = &code[..code.iter().position(|&c| c == 0).unwrap_or(code.len())];
    let Some(end) = text.iter().position(|&c| c == b'\n') else {
        return Err("Invalid library metadata".into());
    };
    let (mut ranges, mut scratch) = (Vec::new(), Vec::new());
    let copied = crate::protocol::parse::split_args(&code[..end], &mut ranges, &mut scratch)
        .map_err(|_| "Invalid library metadata".to_string())?;
    let src: &[u8] = if copied { &scratch } else { &code[..end] };
    let parts: Vec<&[u8]> = ranges.iter().map(|&(a, b)| &src[a..b]).collect();
    if parts.is_empty() {
        return Err("Invalid library metadata".into());
    }
    let engine = parts[0].get(2..).unwrap_or_default().to_vec();
    let mut name = None;
    for p in &parts[1..] {
        if p.len() >= 5 && eq_ci(&p[..5], b"name=") {
            if name.is_some() {
                return Err(
                    "Invalid metadata value, name argument was given multiple times".into(),
                );
            }
            name = Some(p[5..].to_vec());
            continue;
        }
        return Err(format!("Invalid metadata value given: {}", lossy(p)));
    }
    let name = name.ok_or("Library name was not given")?;
    Ok((engine, name, end))
}

// ---------------------------------------------------------------------------------------------------------
// redis.register_function

/// `lua_isstring` + `lua_tostring`: strings and numbers.
fn lua_string(lua: &Lua, v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(_) | Value::Integer(_) | Value::Number(_) => lua
            .coerce_string(v.clone())
            .ok()
            .flatten()
            .map(|s| s.as_bytes().to_vec()),
        _ => None,
    }
}

/// redis.register_function(name, callback) or redis.register_function{function_name=, callback=,
/// flags=, description=}: checks the arguments as Redis does and adds the function to the library
/// being loaded.
fn register_function(
    lua: &Lua,
    pending: &RefCell<Option<Vec<Def>>>,
    a: MultiValue,
) -> mlua::Result<()> {
    if pending.borrow().is_none() {
        return Err(script::raise_err(
            lua,
            b"redis.register_function can only be called on FUNCTION LOAD command",
        ));
    }
    let def = read_register_args(lua, a).map_err(|e| script::raise_err(lua, e.as_bytes()))?;
    let mut p = pending.borrow_mut();
    let funcs = p.as_mut().expect("checked above");
    if !valid_name(&def.name) {
        return Err(script::raise_err(lua, ERR_NAME.as_bytes()));
    }
    if funcs.iter().any(|f| f.name == def.name) {
        return Err(script::raise_err(
            lua,
            b"Function already exists in the library",
        ));
    }
    funcs.push(def);
    Ok(())
}

fn read_register_args(lua: &Lua, a: MultiValue) -> Result<Def, &'static str> {
    let a: Vec<Value> = a.into_iter().collect();
    if a.is_empty() || a.len() > 2 {
        return Err("wrong number of arguments to redis.register_function");
    }
    if a.len() == 2 {
        let name = lua_string(lua, &a[0])
            .ok_or("first argument to redis.register_function must be a string")?;
        let Value::Function(func) = &a[1] else {
            return Err("second argument to redis.register_function must be a function");
        };
        return Ok(Def {
            name,
            desc: None,
            func: func.clone(),
            flags: 0,
        });
    }
    let Value::Table(t) = &a[0] else {
        return Err("calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).");
    };
    let (mut name, mut desc, mut func, mut flags) = (None, None, None, 0);
    for pair in t.pairs::<Value, Value>() {
        let (k, v) = pair.map_err(|_| "unknown argument given to redis.register_function")?;
        let key = lua_string(lua, &k)
            .ok_or("named argument key given to redis.register_function is not a string")?;
        if eq_ci(&key, b"function_name") {
            name = Some(lua_string(lua, &v).ok_or(
                "function_name argument given to redis.register_function must be a string",
            )?);
        } else if eq_ci(&key, b"description") {
            desc =
                Some(lua_string(lua, &v).ok_or(
                    "description argument given to redis.register_function must be a string",
                )?);
        } else if eq_ci(&key, b"callback") {
            let Value::Function(f) = v else {
                return Err(
                    "callback argument given to redis.register_function must be a function",
                );
            };
            func = Some(f);
        } else if eq_ci(&key, b"flags") {
            let Value::Table(ft) = v else {
                return Err("flags argument to redis.register_function must be a table representing function flags");
            };
            flags = 0;
            for i in 1.. {
                let f = ft.raw_get::<Value>(i).unwrap_or(Value::Nil);
                if f.is_nil() {
                    break;
                }
                let s = lua_string(lua, &f).ok_or("unknown flag given")?;
                let (_, bit) = SCRIPT_FLAGS
                    .iter()
                    .find(|(n, _)| eq_ci(n.as_bytes(), &s))
                    .ok_or("unknown flag given")?;
                flags |= bit;
            }
        } else {
            return Err("unknown argument given to redis.register_function");
        }
    }
    let name = name.ok_or("redis.register_function must get a function name argument")?;
    let func = func.ok_or("redis.register_function must get a callback argument")?;
    Ok(Def {
        name,
        desc,
        func,
        flags,
    })
}

// ---------------------------------------------------------------------------------------------------------
// Commands

/// FUNCTION LOAD [REPLACE] function-code
pub fn function_load(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut replace = false;
    let mut i = 2;
    while i < args.len() - 1 {
        if eq_ci(&args[i], b"replace") {
            replace = true;
            i += 1;
            continue;
        }
        return Err(Error::from(format!(
            "ERR Unknown option given: {}",
            lossy(&args[i])
        )));
    }
    if i >= args.len() {
        return err("ERR Function code is missing");
    }
    let fs = &mut ctx.st.functions;
    let mut libs = std::mem::take(&mut fs.libs);
    let res = fs.create(&mut libs, args[i].to_vec(), replace, LOAD_TIMEOUT_MS);
    fs.libs = libs;
    let name = res.map_err(|e| Error::from(format!("ERR {e}")))?;
    ctx.dirty = Some(1);
    ctx.out.bulk(&name);
    Ok(())
}

/// FCALL function numkeys [key [key ...]] [arg [arg ...]]
pub fn fcall(ctx: &mut Ctx, args: &Args) -> CmdResult {
    fcall_generic(ctx, args, false)
}

/// FCALL_RO function numkeys [key [key ...]] [arg [arg ...]]
pub fn fcall_ro(ctx: &mut Ctx, args: &Args) -> CmdResult {
    fcall_generic(ctx, args, true)
}

fn fcall_generic(ctx: &mut Ctx, args: &Args, ro: bool) -> CmdResult {
    super::monitor::feed_script(ctx, args);
    let fs = &mut ctx.st.functions;
    let Some(def) = fs.find(&args[1]) else {
        return err("ERR Function not found");
    };
    let (func, flags, name) = (def.func.clone(), def.flags, lossy(&def.name));
    let n =
        crate::util::parse_i64(&args[2]).ok_or(Error::from("ERR Bad number of keys provided"))?;
    if n > args.len() as i64 - 3 {
        return err("ERR Number of keys can't be greater than number of args");
    }
    if n < 0 {
        return err("ERR Number of keys can't be negative");
    }
    let nkeys = n as usize;
    let lua = fs
        .engine()
        .map_err(|e| Error::from(format!("ERR {e}")))?
        .lua()
        .clone();
    let tables = lua_array(&lua, &mut args.from(3).take(nkeys))
        .and_then(|k| Ok((k, lua_array(&lua, &mut args.from(3 + nkeys))?)))
        .map_err(|e| Error::from(format!("ERR Error running script: {e}")))?;
    let target = RunTarget {
        func,
        flags,
        name: &name,
        cmd: if ro { "fcall_ro" } else { "fcall" },
        fn_args: Some(tables),
    };
    script::run_script(
        ctx,
        args,
        ro,
        target,
        |st| st.functions.engine.as_deref_mut(),
        |_| Ok(()),
    )
}

/// FUNCTION DELETE library-name
pub fn function_delete(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let libs = &mut ctx.st.functions.libs;
    let Some(i) = libs.iter().position(|l| l.name == args[2]) else {
        return err("ERR Library not found");
    };
    libs.remove(i);
    ctx.dirty = Some(1);
    ctx.out.ok();
    Ok(())
}

/// FUNCTION LIST [LIBRARYNAME library-name-pattern] [WITHCODE]
pub fn function_list(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (mut withcode, mut pattern) = (false, None);
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if !withcode && eq_ci(a, b"withcode") {
            withcode = true;
        } else if pattern.is_none() && eq_ci(a, b"libraryname") {
            if i + 1 >= args.len() {
                return err("ERR library name argument was not given");
            }
            i += 1;
            pattern = Some(&args[i]);
        } else {
            return Err(Error::from(format!("ERR Unknown argument {}", lossy(a))));
        }
        i += 1;
    }
    let libs: Vec<&Library> = ctx
        .st
        .functions
        .libs
        .iter()
        .filter(|l| pattern.is_none_or(|p| glob_match(p, &l.name, true)))
        .collect();
    let out = &mut *ctx.out;
    out.array(libs.len());
    for l in libs {
        out.map(if withcode { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(&l.name);
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array(l.funcs.len());
        for f in &l.funcs {
            out.map(3);
            out.bulk(b"name");
            out.bulk(&f.name);
            out.bulk(b"description");
            match &f.desc {
                Some(d) => out.bulk(d),
                None => out.null(),
            }
            out.bulk(b"flags");
            let names: Vec<&str> = SCRIPT_FLAGS
                .iter()
                .filter(|(_, bit)| f.flags & bit != 0)
                .map(|(n, _)| *n)
                .collect();
            out.set(names.len());
            for n in names {
                out.simple(n);
            }
        }
        if withcode {
            out.bulk(b"library_code");
            out.bulk(&l.code);
        }
    }
    Ok(())
}

/// FUNCTION STATS: nothing is ever running while a command is served (see `script`'s module doc).
pub fn function_stats(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let fs = &ctx.st.functions;
    let (nlib, nfunc) = (fs.libs.len(), fs.function_count());
    let out = &mut *ctx.out;
    out.map(2);
    out.bulk(b"running_script");
    out.null();
    out.bulk(b"engines");
    out.map(1);
    out.bulk(b"LUA");
    out.map(2);
    out.bulk(b"libraries_count");
    out.int(nlib as i64);
    out.bulk(b"functions_count");
    out.int(nfunc as i64);
    Ok(())
}

/// FUNCTION FLUSH [ASYNC | SYNC]
pub fn function_flush(ctx: &mut Ctx, args: &Args) -> CmdResult {
    match args.len() {
        2 => {}
        3 if eq_ci(&args[2], b"async") || eq_ci(&args[2], b"sync") => {}
        3 => return err("ERR FUNCTION FLUSH only supports SYNC|ASYNC option"),
        _ => return Err(super::subcommand_syntax(args)),
    }
    ctx.st.functions.clear();
    ctx.dirty = Some(1);
    ctx.out.ok();
    Ok(())
}

/// FUNCTION DUMP: the FUNCTION2 records of every library, the RDB version and the CRC64, as Redis.
pub fn function_dump(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let mut out = Vec::new();
    rdbfile::save_functions(&mut out, &ctx.st.functions.codes());
    out.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(0, &out);
    out.extend_from_slice(&crc.to_le_bytes());
    ctx.out.bulk(&out);
    Ok(())
}

/// FUNCTION RESTORE serialized-value [FLUSH | APPEND | REPLACE]
pub fn function_restore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 4 {
        return Err(super::subcommand_syntax(args));
    }
    #[derive(PartialEq)]
    enum Policy {
        Flush,
        Append,
        Replace,
    }
    let policy =
        match args.get(3) {
            None => Policy::Append,
            Some(p) if eq_ci(p, b"append") => Policy::Append,
            Some(p) if eq_ci(p, b"replace") => Policy::Replace,
            Some(p) if eq_ci(p, b"flush") => Policy::Flush,
            Some(_) => return err(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ),
        };
    let data = &args[2];
    if !rdb::verify(data) {
        return err("ERR DUMP payload version or checksum are wrong");
    }
    let fs = &mut ctx.st.functions;
    let mut restored = Vec::new();
    let mut pos = 0;
    while data.len().saturating_sub(pos) > 10 {
        let t = data[pos];
        pos += 1;
        let code = match rdbfile::read_function(t, data, &mut pos) {
            Ok(Some(code)) => code,
            Ok(None) => return err("ERR given type is not a function"),
            Err(e) => return Err(Error::from(format!("ERR {e}"))),
        };
        fs.create(&mut restored, code, false, 0)
            .map_err(|e| Error::from(format!("ERR {e}")))?;
    }
    if policy == Policy::Flush {
        fs.libs = restored;
    } else {
        join(&mut fs.libs, restored, policy == Policy::Replace)
            .map_err(|e| Error::from(format!("ERR {e}")))?;
    }
    ctx.dirty = Some(1);
    ctx.out.ok();
    Ok(())
}

/// Redis's `libraryJoin`: adds the restored libraries to `dst`, replacing those of the same name only
/// when `replace`; nothing changes on an error.
fn join(dst: &mut Vec<Library>, src: Vec<Library>, replace: bool) -> Result<(), String> {
    let mut kept: Vec<&Library> = Vec::new();
    for l in dst.iter() {
        if src.iter().any(|s| s.name == l.name) {
            if !replace {
                return Err(format!("Library {} already exists", lossy(&l.name)));
            }
        } else {
            kept.push(l);
        }
    }
    for f in src.iter().flat_map(|l| l.funcs.iter()) {
        if kept
            .iter()
            .flat_map(|l| l.funcs.iter())
            .any(|k| eq_ci(&k.name, &f.name))
        {
            return Err(format!("Function {} already exists", lossy(&f.name)));
        }
    }
    dst.retain(|l| !src.iter().any(|s| s.name == l.name));
    dst.extend(src);
    Ok(())
}

/// FUNCTION KILL: nothing runs while a command is served.
pub fn function_kill(_ctx: &mut Ctx, _args: &Args) -> CmdResult {
    err("NOTBUSY No scripts in execution right now.")
}

/// FUNCTION HELP
pub fn function_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    reply_help(
        ctx.out,
        "FUNCTION",
        &[
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
        ],
    );
    Ok(())
}

/// INFO memory's functions lines: (functions, libraries, Lua heap bytes, overhead bytes).
pub fn memory(st: &State) -> (usize, usize, usize, usize) {
    let fs = &st.functions;
    // An idle Redis 7.0 reports its fresh interpreter's size and its bookkeeping.
    let vm = fs.engine.as_ref().map_or(33792, |e| e.lua().used_memory());
    let overhead = 200
        + fs.libs
            .iter()
            .map(|l| 64 + l.name.len() + l.code.len() + l.funcs.len() * 96)
            .sum::<usize>();
    (fs.function_count(), fs.libs.len(), vm, overhead)
}
