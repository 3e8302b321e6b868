//! Lua scripting, EVAL-style: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT LOAD / EXISTS / FLUSH / KILL /
//! DEBUG / HELP. Owns the one Lua 5.1 state of the server (in `State::scripting`, reset by SCRIPT FLUSH), the
//! script cache keyed by the SHA1 of the body, the `redis.*` API, and the conversions between Lua values and
//! RESP2/RESP3 replies, all with Redis 7.0.15's replies and error texts (eval.c, script_lua.c, script.c).
//!
//! How it differs from Redis, and why:
//! - A `redis.call` runs the command through `dispatch` with a reply buffer of its own (as EXEC does, so
//!   blocking commands answer at once); the RESP bytes are then read back into Lua values, as Redis does.
//! - Redis keeps serving other clients while a script runs past `busy-reply-threshold` (`lua-time-limit`)
//!   and lets SCRIPT KILL stop it. ferrokv has one thread and cannot answer anyone meanwhile, so a count
//!   hook aborts a script that runs past the threshold with Redis's SCRIPT KILL error; SCRIPT KILL itself
//!   always finds nothing running (`NOTBUSY`).
//! - Redis's Lua is patched with read-only tables. Plain Lua 5.1 has none, so the globals and the library
//!   tables are empty proxies whose metatables refuse writes and report unknown globals with Redis's texts;
//!   `rawset` and `setmetatable` refuse the proxies. `pairs` over a library table sees nothing.
//! - The Lua heap is capped at 1 GiB (`LUA_MEMORY_LIMIT`) while a script or library runs: a runaway
//!   allocation fails the script instead of the server. Redis has no cap. Redis's cjson, cmsgpack, struct and bit libraries are Rust ones (script_libs.rs).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Instant;

use mlua::{Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value, VmState};

use super::server::reply_help;
use super::{
    dispatch, err, registry, Args, Cmd, CmdResult, Ctx, Error, ALLOW_BUSY, DENYOOM, LOADING,
    MAY_REPLICATE, NOSCRIPT, NO_MANDATORY_KEYS, READONLY, SKIP_MONITOR, STALE, WRITE,
};
use crate::protocol::reply::fmt_double;
use crate::protocol::Out;
use crate::server::{State, REDIS_VERSION};
use crate::util::eq_ci;

const SCRIPT_RUN: u32 = NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS;

pub static COMMANDS: &[Cmd] = &[
    Cmd::new("script", -2, 0, (0, 0, 0), super::server::container)
        .doc(
            "scripting",
            "2.6.0",
            "A container for Lua scripts management commands",
            "Depends on subcommand.",
        )
        .subs(SCRIPT_SUBS),
    Cmd::new("eval", -3, SCRIPT_RUN | MAY_REPLICATE, (0, 0, 0), eval).doc(
        "scripting",
        "2.6.0",
        "Execute a Lua script server side",
        "Depends on the script that is executed.",
    ),
    Cmd::new("eval_ro", -3, SCRIPT_RUN | READONLY, (0, 0, 0), eval_ro).doc(
        "scripting",
        "7.0.0",
        "Execute a read-only Lua script server side",
        "Depends on the script that is executed.",
    ),
    Cmd::new(
        "evalsha",
        -3,
        SCRIPT_RUN | MAY_REPLICATE,
        (0, 0, 0),
        evalsha,
    )
    .doc(
        "scripting",
        "2.6.0",
        "Execute a Lua script server side",
        "Depends on the script that is executed.",
    ),
    Cmd::new(
        "evalsha_ro",
        -3,
        SCRIPT_RUN | READONLY,
        (0, 0, 0),
        evalsha_ro,
    )
    .doc(
        "scripting",
        "7.0.0",
        "Execute a read-only Lua script server side",
        "Depends on the script that is executed.",
    ),
];

static SCRIPT_SUBS: &[Cmd] = &[
    Cmd::new("load", 3, NOSCRIPT | STALE, (0, 0, 0), script_load).doc(
        "scripting",
        "2.6.0",
        "Load the specified Lua script into the script cache.",
        "O(N) with N being the length in bytes of the script body.",
    ),
    Cmd::new("exists", -3, NOSCRIPT, (0, 0, 0), script_exists).doc(
        "scripting",
        "2.6.0",
        "Check existence of scripts in the script cache.",
        "O(N) with N being the number of scripts to check (so checking a single script is an O(1) operation).",
    ),
    Cmd::new("flush", -2, NOSCRIPT, (0, 0, 0), script_flush).doc(
        "scripting",
        "2.6.0",
        "Remove all the scripts from the script cache.",
        "O(N) with N being the number of scripts in cache",
    ),
    Cmd::new("kill", 2, NOSCRIPT | ALLOW_BUSY, (0, 0, 0), super::server::not_busy).doc(
        "scripting",
        "2.6.0",
        "Kill the script currently in execution.",
        "O(1)",
    ),
    Cmd::new("debug", 3, NOSCRIPT, (0, 0, 0), script_debug).doc(
        "scripting",
        "3.2.0",
        "Set the debug mode for executed scripts.",
        "O(1)",
    ),
    Cmd::new("help", 2, LOADING | STALE, (0, 0, 0), script_help).doc(
        "scripting",
        "5.0.0",
        "Show helpful text about the different subcommands",
        "O(1)",
    ),
];

/// The cap on the Lua heap (see the module doc).
const LUA_MEMORY_LIMIT: usize = 1 << 30;
/// Instructions between two looks at the clock, as Redis's count hook.
const HOOK_EVERY: u32 = 100_000;
const KILLED: &str = "ERR Script killed by user with SCRIPT KILL...";
const LOAD_TIMEOUT: &str = "ERR FUNCTION LOAD timeout";

// Shebang flags (Redis's SCRIPT_FLAG_*).
const F_NO_WRITES: u32 = 1;
const F_ALLOW_OOM: u32 = 1 << 1;
const F_ALLOW_STALE: u32 = 1 << 2;
const F_NO_CLUSTER: u32 = 1 << 3;
const F_ALLOW_CROSS_SLOT: u32 = 1 << 4;
const F_EVAL_COMPAT: u32 = 1 << 5;

/// The flags a shebang or a function declares, by name, in the order Redis lists them
/// (`scripts_flags_def`).
pub(crate) const SCRIPT_FLAGS: [(&str, u32); 5] = [
    ("no-writes", F_NO_WRITES),
    ("allow-oom", F_ALLOW_OOM),
    ("allow-stale", F_ALLOW_STALE),
    ("no-cluster", F_NO_CLUSTER),
    ("allow-cross-slot-keys", F_ALLOW_CROSS_SLOT),
];

impl Shared {
    pub(crate) fn new() -> Rc<Shared> {
        Rc::new(Shared {
            running: Cell::new(false),
            loading: Cell::new(false),
            start: Cell::new(Instant::now()),
            limit_ms: Cell::new(0),
            killed: Cell::new(false),
            resp3: Cell::new(false),
            rand48: Cell::new(0x1234_ABCD_330E),
            gc_count: Cell::new(0),
            current: Cell::new((std::ptr::null_mut(), std::ptr::null_mut())),
            scratch: RefCell::default(),
        })
    }
}

/// State shared by the `'static` parts of the Lua API (hook, setresp, math.random) and the running script.
pub(crate) struct Shared {
    running: Cell<bool>,
    /// A library's code runs (FUNCTION LOAD): the hook's abort is Redis's load timeout instead.
    loading: Cell<bool>,
    start: Cell<Instant>,
    limit_ms: Cell<u64>,
    killed: Cell<bool>,
    /// The script client's protocol (redis.setresp), RESP2 by default.
    resp3: Cell<bool>,
    /// Redis's rand48 state: one sequence for the server's life, as Redis's global one.
    rand48: Cell<u64>,
    /// Runs since the last garbage-collection step (Redis's LUA_GC_CYCLE_PERIOD).
    gc_count: Cell<u32>,
    /// The running script's `Ctx` and `Run` (null between runs), for redis.call and redis.pcall: two
    /// functions made once, rather than scoped closures made (and collected) for every run.
    current: Cell<(*mut (), *mut ())>,
    /// redis.call's buffers (arguments, their ranges, the reply), kept between calls so that a call
    /// allocates nothing of its own once they have grown.
    scratch: RefCell<Scratch>,
}

/// redis.call's argument bytes, the argument ranges in them, and the reply buffer.
type Scratch = (Vec<u8>, Vec<(usize, usize)>, Vec<u8>);

struct Script {
    func: Function,
    flags: u32,
}

/// The Lua interpreter and the script cache.
pub struct Scripting {
    lua: Lua,
    scripts: HashMap<[u8; 40], Script>,
    /// The SHA1 of each cached body, by body: a script sent again with EVAL is found by a hash lookup
    /// instead of a SHA1 of its whole body (Redis keeps the body in its script dict too).
    by_body: HashMap<Box<[u8]>, [u8; 40]>,
    /// Bytes of the cached bodies and their SHA keys (INFO's used_memory_scripts_eval).
    body_bytes: usize,
    /// The real globals behind the protected `_G` proxy (KEYS and ARGV are set here).
    globals: Table,
    runner: Function,
    /// Runs a library's code with the load-time globals (`loadrun` in the prelude).
    load_runner: Function,
    shared: Rc<Shared>,
}

/// The Lua side of the API: protection, the error handler, pcall, and the redis.* wrappers around the
/// Rust helpers in `rt`. Errors raised from this chunk are located at the caller by the handler, which
/// skips frames whose source is `=ferrokv`.
const PRELUDE: &str = r#"
local rt, version, version_num = ...
local dbg = debug
local type, select, error, tostring, opcall, oxpcall = type, select, error, tostring, pcall, xpcall
local orawset, osetmetatable = rawset, setmetatable
local G = _G
local take = rt.take

-- Errors raised by the Rust side of the API arrive as userdata; the value they stand for waits in `take`.
local function unwrap(e)
  if type(e) == 'userdata' then
    local p = take()
    if p ~= nil then return p end
  end
  return e
end

local function handler(err)
  err = unwrap(err)
  local l = 2
  local i = dbg.getinfo(l, 'nSl')
  if i and i.what == 'C' then l = l + 1; i = dbg.getinfo(l, 'nSl') end
  while i and i.source == '=ferrokv' do l = l + 1; i = dbg.getinfo(l, 'nSl') end
  if type(err) ~= 'table' then err = {err = 'ERR ' .. tostring(err)} end
  if i then err['source'] = i.source; err['line'] = i.currentline end
  return err
end

local function fix(ok, ...)
  if ok then return true, ... end
  local e = unwrap((...))
  if type(e) == 'table' then
    local m = e.err
    if type(m) == 'string' or type(m) == 'number' then e = m end
  end
  return false, e
end
local function pcall(...) return fix(opcall(...)) end

local redis = rt.redis
redis.error_reply = function(...)
  local e = ...
  if select('#', ...) ~= 1 or type(e) ~= 'string' then return rt.errtab('wrong number or type of arguments') end
  if e:sub(1, 1) ~= '-' then e = '-' .. e end
  return rt.errtab(e)
end
redis.status_reply = function(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then return rt.errtab('wrong number or type of arguments') end
  return {ok = s}
end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REDIS_VERSION, redis.REDIS_VERSION_NUM = version, version_num
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.replicate_commands = function() return true end
redis.breakpoint = function() return false end
redis.debug = function() end
math.random = rt.random
math.randomseed = rt.randomseed

-- The real globals move behind proxies; writes anywhere in them are refused.
local protected = {}
local function ro() error('Attempt to modify a readonly table', 2) end
local function proxy(t)
  local p = {}
  protected[p] = true
  osetmetatable(p, {__index = t, __newindex = ro, __metatable = false})
  return p
end
local real = {}
local cur = real
for k, v in next, G do real[k] = v end
for k in next, real do orawset(G, k, nil) end
real.dofile, real.loadfile, real.print, real.module, real.require, real.package, real.newproxy = nil
real.pcall = pcall
real.redis = proxy(redis)
real.string = proxy(real.string)
real.math = proxy(real.math)
real.table = proxy(real.table)
real.coroutine = proxy(real.coroutine)
real.cjson, real.struct, real.cmsgpack, real.bit = proxy(real.cjson), proxy(real.struct), proxy(real.cmsgpack), proxy(real.bit)
real.debug = nil
real._G = G
real.__redis__err__handler = handler
real.rawset = function(t, k, v)
  if protected[t] then error('Attempt to modify a readonly table', 0) end
  return orawset(t, k, v)
end
real.setmetatable = function(t, m)
  if protected[t] then error('Attempt to modify a readonly table', 0) end
  return osetmetatable(t, m)
end
local oloadstring = real.loadstring
real.loadstring = function(s, ...)
  -- Redis's Lua loads no bytecode.
  if type(s) == 'string' and s:sub(1, 1) == '\27' then return nil, 'binary chunks are not allowed' end
  return oloadstring(s, ...)
end
protected[G] = true
local gmeta = {
  __index = function(_, k)
    local v = cur[k]
    if v == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end
    return v
  end,
  __newindex = ro,
}
gmeta.__metatable = proxy(gmeta)
osetmetatable(G, gmeta)
-- A function (FCALL) gets its keys and arguments as its two parameters; an EVAL script gets none.
local function run(f, ...)
  take()
  if select('#', ...) == 0 then return oxpcall(f, handler) end
  local keys, argv = ...
  return oxpcall(function() return f(keys, argv) end, handler)
end
-- What a library's code sees while it loads (Redis's library API): `redis` with register_function, log
-- and the constants, nothing else; no error handler, as Redis runs it with a plain pcall.
local libredis = {register_function = rt.register, log = redis.log, REDIS_VERSION = version,
  REDIS_VERSION_NUM = version_num, LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3}
local libproxy = {}
protected[libproxy] = true
osetmetatable(libproxy, {
  __index = function(_, k)
    local v = libredis[k]
    if v == nil then
      error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
    end
    return v
  end,
  __newindex = ro,
  __metatable = false,
})
local libapi = {redis = libproxy}
local function loadrun(f)
  take()
  cur = libapi
  local ok, e = opcall(f)
  cur = real
  if ok then return true end
  return false, unwrap(e)
end
return real, run, loadrun
"#;

impl Scripting {
    fn new(shared: Rc<Shared>) -> mlua::Result<Scripting> {
        Scripting::with_register(shared, |_| Ok(None))
    }

    /// An interpreter whose library API (what a library's code sees while it loads) offers the
    /// `register_function` that `register` makes; the functions engine passes one, EVAL's none.
    pub(crate) fn with_register(
        shared: Rc<Shared>,
        register: impl FnOnce(&Lua) -> mlua::Result<Option<Function>>,
    ) -> mlua::Result<Scripting> {
        // SAFETY: the debug library is loaded only to build the error handler, then removed from the
        // globals scripts see; no C module is ever loaded.
        let lua = unsafe {
            Lua::unsafe_new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
                LuaOptions::default(),
            )
        };
        let rt = lua.create_table()?;
        let redis = lua.create_table()?;
        rt.raw_set(
            "errtab",
            lua.create_function(|lua, s: mlua::LuaString| err_table(lua, &s.as_bytes()))?,
        )?;
        rt.raw_set(
            "take",
            lua.create_function(|lua, ()| {
                let v: Value = lua.named_registry_value(PENDING)?;
                lua.set_named_registry_value(PENDING, Value::Nil)?;
                Ok(v)
            })?,
        )?;
        // The API functions that can fail are Rust (C) functions, as in Redis, so that a failing
        // `return redis.call(...)` keeps the script's frame for the error's line (Lua frames would be
        // replaced by the tail call).
        let rust_redis: [(&str, ApiFn); 4] = [
            ("sha1hex", api_sha1hex),
            ("log", api_log),
            ("set_repl", api_set_repl),
            ("setresp", api_setresp),
        ];
        for (name, f) in rust_redis {
            let sh = shared.clone();
            redis.raw_set(name, lua.create_function(move |lua, a| f(lua, &sh, a))?)?;
        }
        for (name, raise_errors) in [("call", true), ("pcall", false)] {
            let sh = shared.clone();
            redis.raw_set(
                name,
                lua.create_function(move |lua, a| api_call(lua, &sh, a, raise_errors))?,
            )?;
        }
        let sh = shared.clone();
        rt.raw_set(
            "random",
            lua.create_function(move |lua, a| api_random(lua, &sh, a))?,
        )?;
        let sh = shared.clone();
        rt.raw_set(
            "randomseed",
            lua.create_function(move |lua, a| api_randomseed(lua, &sh, a))?,
        )?;
        rt.raw_set("redis", redis.clone())?;
        if let Some(f) = register(&lua)? {
            rt.raw_set("register", f)?;
        }
        super::script_libs::open(&lua)?;
        let (major, minor, patch) = version_parts(REDIS_VERSION);
        let (globals, runner, load_runner): (Table, Function, Function) =
            lua.load(PRELUDE).set_name("=ferrokv").call((
                rt.clone(),
                REDIS_VERSION,
                (major << 16) | (minor << 8) | patch,
            ))?;
        let sh = shared.clone();
        lua.set_global_hook(
            HookTriggers::new().every_nth_instruction(HOOK_EVERY),
            move |lua, _| timeout_hook(lua, &sh),
        )?;
        Ok(Scripting {
            lua,
            scripts: HashMap::new(),
            by_body: HashMap::new(),
            body_bytes: 0,
            globals,
            runner,
            load_runner,
            shared,
        })
    }

    /// The Lua state, for the functions engine's compiles.
    pub(crate) fn lua(&self) -> &Lua {
        &self.lua
    }

    /// Runs a library's compiled code with the load-time globals and `timeout_ms` (0: none) as its
    /// limit. The error is Redis's message: an error table's text, or `ERR ` and a raised string.
    pub(crate) fn load_library(&self, chunk: Function, timeout_ms: u64) -> Result<(), Vec<u8>> {
        let sh = &self.shared;
        sh.loading.set(true);
        sh.killed.set(false);
        sh.start.set(Instant::now());
        sh.limit_ms.set(timeout_ms);
        let res = capped(&self.lua, || self.load_runner.call::<MultiValue>(chunk));
        sh.loading.set(false);
        self.after_run();
        if sh.killed.get() {
            return Err(LOAD_TIMEOUT.as_bytes().to_vec());
        }
        let mut vals = res
            .map_err(|e| format!("ERR {e}").into_bytes())?
            .into_iter();
        if matches!(vals.next(), Some(Value::Boolean(true))) {
            return Ok(());
        }
        Err(match vals.next() {
            Some(Value::Table(t)) => match t.raw_get::<Value>("err") {
                Ok(v) => lua_str(v).unwrap_or_default().into_bytes(),
                Err(_) => Vec::new(),
            },
            Some(v) => {
                let mut m = b"ERR ".to_vec();
                m.extend_from_slice(lua_str(v).unwrap_or_default().as_bytes());
                m
            }
            None => Vec::new(),
        })
    }

    /// Puts the plain count hook back after a run the hook aborted.
    fn after_run(&self) {
        // Scripts cannot keep data between runs (no globals), so a heap this big after one is garbage,
        // typically from a script that ran out of memory: give it back now rather than at Lua's next cycle.
        if self.lua.used_memory() > LUA_MEMORY_LIMIT / 4 {
            let _ = self.lua.gc_collect();
        }
        // Like Redis, a garbage-collection step every 50 runs keeps the heap from growing until Lua's own
        // full cycle, which would cost one unlucky script a long pause.
        let n = self.shared.gc_count.get() + 1;
        self.shared.gc_count.set(n % 50);
        if n == 50 {
            let _ = self.lua.gc_step();
        }
        if self.shared.killed.get() {
            let sh = self.shared.clone();
            let _ = self.lua.set_global_hook(
                HookTriggers::new().every_nth_instruction(HOOK_EVERY),
                move |lua, _| timeout_hook(lua, &sh),
            );
        }
    }

    /// Compiles `body` into the cache (unless there already) and returns its SHA1; errors are Redis's
    /// reply texts.
    fn create(&mut self, body: &[u8]) -> Result<[u8; 40], Error> {
        if let Some(sha) = self.by_body.get(body) {
            return Ok(*sha);
        }
        let sha = sha1_hex_bytes(body);
        if self.scripts.contains_key(&sha) {
            return Ok(sha);
        }
        let (flags, skip) = shebang_flags(body).map_err(|e| Error::from(format!("ERR {e}")))?;
        let func = compile(&self.lua, &body[skip..], "@user_script").map_err(|msg| {
            Error::from(format!("ERR Error compiling script (new function): {msg}"))
        })?;
        self.scripts.insert(sha, Script { func, flags });
        self.by_body.insert(body.into(), sha);
        self.body_bytes += body.len() + 40;
        Ok(sha)
    }
}

/// Where a Rust API function leaves the Lua value it raises (see `raise`).
const PENDING: &str = "ferrokv.pending";

type ApiFn = fn(&Lua, &Rc<Shared>, MultiValue) -> mlua::Result<MultiValue>;

/// Raises `v` (an error table or message) from a Rust function: mlua raises its own userdata, so the value
/// waits in the registry for the error handler and `pcall`, which put it in the userdata's place.
pub(super) fn raise(lua: &Lua, v: Value) -> mlua::Error {
    match lua.set_named_registry_value(PENDING, v) {
        Ok(()) => mlua::Error::runtime("ferrokv: redis API error"),
        Err(e) => e,
    }
}

/// Raises Redis's error table for `msg` (`luaPushError` + `luaError`).
pub(crate) fn raise_err(lua: &Lua, msg: &[u8]) -> mlua::Error {
    match err_table(lua, msg) {
        Ok(t) => raise(lua, Value::Table(t)),
        Err(e) => e,
    }
}

/// Runs `f` with the heap capped at `LUA_MEMORY_LIMIT` (a runaway allocation, even inside one C call such
/// as string.rep, fails with Lua's "not enough memory"). Only while Lua code runs: with a limit set, mlua
/// wraps every table and string it creates in a protected call, which doubled the cost of a short EVAL
/// when the limit covered building KEYS and ARGV too.
fn capped<T>(lua: &Lua, f: impl FnOnce() -> T) -> T {
    let _ = lua.set_memory_limit(LUA_MEMORY_LIMIT);
    let out = f();
    let _ = lua.set_memory_limit(0);
    out
}

/// `luaL_where(L, 1)`: the calling Lua code's `source:line: `, or nothing when that is a C function.
pub(super) fn lua_where(lua: &Lua) -> String {
    lua.inspect_stack(1, |d| {
        let line = d.current_line().unwrap_or(0);
        let src = d
            .source()
            .short_src
            .map(|s| s.to_string())
            .unwrap_or_default();
        (line > 0).then(|| format!("{src}:{line}: "))
    })
    .flatten()
    .unwrap_or_default()
}

/// Compiles `body` as a text chunk named `name`; a syntax error is Lua's message alone.
pub(crate) fn compile(lua: &Lua, body: &[u8], name: &str) -> Result<Function, String> {
    lua.load(body)
        .set_name(name)
        .set_mode(mlua::chunk::ChunkMode::Text)
        .into_function()
        .map_err(|e| match e {
            mlua::Error::SyntaxError { message, .. } => message,
            other => other.to_string(),
        })
}

/// Raises `msg` as `luaL_error` does: prefixed with the calling script's position.
fn raise_msg(lua: &Lua, msg: &str) -> mlua::Error {
    let pos = lua_where(lua);
    match lua.create_string(format!("{pos}{msg}")) {
        Ok(s) => raise(lua, Value::String(s)),
        Err(e) => e,
    }
}

/// `lua_tonumber`: numbers and numeric strings, anything else 0.
fn to_number(lua: &Lua, v: &Value) -> f64 {
    match lua.coerce_number(v.clone()) {
        Ok(Some(n)) => n,
        _ => 0.0,
    }
}

fn is_number(lua: &Lua, v: &Value) -> bool {
    matches!(lua.coerce_number(v.clone()), Ok(Some(_)))
}

/// redis.call / redis.pcall: runs the command for the script `run_script` is running, or refuses as
/// Redis does outside a run.
fn api_call(lua: &Lua, sh: &Rc<Shared>, a: MultiValue, raise_errors: bool) -> mlua::Result<Value> {
    let (ctx, run) = sh.current.get();
    if ctx.is_null() {
        return Err(raise_err(
            lua,
            b"redis.call/pcall can only be called inside a script invocation",
        ));
    }
    // SAFETY: `run_script` stores both pointers from exclusive borrows that it leaves untouched until
    // the script returns, and clears them before using them again. The server is single-threaded, and
    // no command a script may run starts another script (EVAL*, FCALL* and FUNCTION are NOSCRIPT), so
    // these are the only live references while the call runs.
    let (ctx, run) = unsafe { (&mut *(ctx as *mut Ctx), &mut *(run as *mut Run)) };
    redis_call(lua, ctx, run, raise_errors, a)
}

/// redis.sha1hex(string)
fn api_sha1hex(lua: &Lua, _: &Rc<Shared>, a: MultiValue) -> mlua::Result<MultiValue> {
    if a.len() != 1 {
        return Err(raise_err(lua, b"wrong number of arguments"));
    }
    let s = match lua.coerce_string(a[0].clone()) {
        Ok(Some(s)) => s.as_bytes().to_vec(),
        _ => Vec::new(),
    };
    Ok(MultiValue::from_vec(vec![Value::String(
        lua.create_string(sha1_hex(&s))?,
    )]))
}

/// redis.log(level, message, ...)
fn api_log(lua: &Lua, _: &Rc<Shared>, a: MultiValue) -> mlua::Result<MultiValue> {
    if a.len() < 2 {
        return Err(raise_err(
            lua,
            b"redis.log() requires two arguments or more.",
        ));
    }
    if !is_number(lua, &a[0]) {
        return Err(raise_err(
            lua,
            b"First argument must be a number (log level).",
        ));
    }
    let level = to_number(lua, &a[0]) as i32;
    if !(0..=3).contains(&level) {
        return Err(raise_err(lua, b"Invalid debug level."));
    }
    let mut msg = Vec::new();
    for (j, v) in a.iter().enumerate().skip(1) {
        if let Value::String(_) | Value::Number(_) | Value::Integer(_) = v {
            if let Ok(Some(s)) = lua.coerce_string(v.clone()) {
                if j != 1 {
                    msg.push(b' ');
                }
                msg.extend_from_slice(&s.as_bytes());
            }
        }
    }
    let msg = String::from_utf8_lossy(&msg);
    match level {
        0 => log::debug!("{msg}"),
        1 | 2 => log::info!("{msg}"),
        _ => log::warn!("{msg}"),
    }
    Ok(MultiValue::new())
}

/// redis.set_repl(flags): validated; ferrokv replicates a script's effects either way.
fn api_set_repl(lua: &Lua, sh: &Rc<Shared>, a: MultiValue) -> mlua::Result<MultiValue> {
    if !sh.running.get() {
        return Err(raise_err(
            lua,
            b"redis.set_repl can only be called inside a script invocation",
        ));
    }
    if a.len() != 1 {
        return Err(raise_err(lua, b"redis.set_repl() requires two arguments."));
    }
    let flags = to_number(lua, &a[0]) as i32;
    if flags & !3 != 0 {
        return Err(raise_err(
            lua,
            b"Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.",
        ));
    }
    Ok(MultiValue::new())
}

/// redis.setresp(2 | 3): the protocol of the replies redis.call hands the script.
fn api_setresp(lua: &Lua, sh: &Rc<Shared>, a: MultiValue) -> mlua::Result<MultiValue> {
    if !sh.running.get() {
        return Err(raise_err(
            lua,
            b"redis.setresp can only be called inside a script invocation",
        ));
    }
    if a.len() != 1 {
        return Err(raise_err(lua, b"redis.setresp() requires one argument."));
    }
    let r = to_number(lua, &a[0]) as i32;
    if r != 2 && r != 3 {
        return Err(raise_err(lua, b"RESP version must be 2 or 3."));
    }
    sh.resp3.set(r == 3);
    Ok(MultiValue::new())
}

/// `luaL_checkint` for math.random's arguments.
fn check_int(lua: &Lua, a: &MultiValue, i: usize, func: &str) -> mlua::Result<i32> {
    match a.get(i) {
        Some(v) if is_number(lua, v) => Ok(to_number(lua, v) as i64 as i32),
        v => {
            let got = v.map_or("no value", |v| v.type_name());
            Err(raise_msg(
                lua,
                &format!(
                    "bad argument #{} to '{func}' (number expected, got {got})",
                    i + 1
                ),
            ))
        }
    }
}

/// math.random([m [, n]]), on Redis's rand48 so every platform gives the same sequence.
fn api_random(lua: &Lua, sh: &Rc<Shared>, a: MultiValue) -> mlua::Result<MultiValue> {
    if !sh.running.get() {
        return Err(raise_msg(
            lua,
            "math.random can only be called inside a script invocation",
        ));
    }
    let r = (next_rand48(&sh.rand48) % i32::MAX as i64) as f64 / i32::MAX as f64;
    let v = match a.len() {
        0 => r,
        1 => {
            let u = check_int(lua, &a, 0, "random")?;
            if u < 1 {
                return Err(raise_msg(
                    lua,
                    "bad argument #1 to 'random' (interval is empty)",
                ));
            }
            (r * u as f64).floor() + 1.0
        }
        2 => {
            let l = check_int(lua, &a, 0, "random")?;
            let u = check_int(lua, &a, 1, "random")?;
            if l > u {
                return Err(raise_msg(
                    lua,
                    "bad argument #2 to 'random' (interval is empty)",
                ));
            }
            (r * (u as f64 - l as f64 + 1.0)).floor() + l as f64
        }
        _ => return Err(raise_msg(lua, "wrong number of arguments")),
    };
    Ok(MultiValue::from_vec(vec![Value::Number(v)]))
}

/// math.randomseed(n)
fn api_randomseed(lua: &Lua, sh: &Rc<Shared>, a: MultiValue) -> mlua::Result<MultiValue> {
    if !sh.running.get() {
        return Err(raise_msg(
            lua,
            "math.randomseed can only be called inside a script invocation",
        ));
    }
    let seed = check_int(lua, &a, 0, "randomseed")? as u32 as u64;
    sh.rand48.set((seed << 16) | 0x330E);
    Ok(MultiValue::new())
}

/// The timeout check of the count hook. Once a script is aborted, every later hook call fails it again
/// (and the hook fires on every line), so a `pcall` in the script cannot swallow the abort.
fn timeout_hook(lua: &Lua, sh: &Rc<Shared>) -> mlua::Result<VmState> {
    if !sh.running.get() && !sh.loading.get() {
        return Ok(VmState::Continue);
    }
    if !sh.killed.get() {
        let limit = sh.limit_ms.get();
        if limit == 0 || (sh.start.get().elapsed().as_millis() as u64) < limit {
            return Ok(VmState::Continue);
        }
        if !sh.loading.get() {
            log::warn!("Lua script ran past busy-reply-threshold ({limit} ms): aborted.");
        }
        sh.killed.set(true);
        let sh2 = sh.clone();
        lua.set_global_hook(
            HookTriggers::new().every_line().every_nth_instruction(1000),
            move |lua, _| timeout_hook(lua, &sh2),
        )?;
    }
    if sh.loading.get() {
        return Err(mlua::Error::runtime(LOAD_TIMEOUT));
    }
    Err(mlua::Error::runtime(KILLED))
}

fn version_parts(v: &str) -> (i64, i64, i64) {
    let mut it = v.split('.').map(|p| p.parse::<i64>().unwrap_or(0));
    (
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
        it.next().unwrap_or(0),
    )
}

/// Redis's `redisLrand48`: the 48-bit linear congruential generator of lrand48, top 31 bits.
fn next_rand48(state: &Cell<u64>) -> i64 {
    let x = state.get().wrapping_mul(0x5_DEEC_E66D).wrapping_add(0xB) & ((1 << 48) - 1);
    state.set(x);
    (x >> 17) as i64
}

/// Redis's `luaPushErrorBuff`: `-CODE msg` keeps its code, anything else gets `ERR`; the message is
/// trimmed of CR/LF at both ends.
fn err_table(lua: &Lua, s: &[u8]) -> mlua::Result<Table> {
    let (code, msg): (&[u8], &[u8]) = if let Some(rest) = s.strip_prefix(b"-") {
        match rest.iter().position(|&c| c == b' ') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (b"ERR", rest),
        }
    } else {
        (b"ERR", s)
    };
    let is_crlf = |c: &u8| *c == b'\r' || *c == b'\n';
    let start = msg.iter().position(|c| !is_crlf(c)).unwrap_or(msg.len());
    let end = msg
        .iter()
        .rposition(|c| !is_crlf(c))
        .map_or(start, |i| i + 1);
    let mut full = code.to_vec();
    full.push(b' ');
    full.extend_from_slice(&msg[start..end.max(start)]);
    // lua_pushstring stops at a NUL.
    if let Some(nul) = full.iter().position(|&c| c == 0) {
        full.truncate(nul);
    }
    let t = lua.create_table()?;
    t.raw_set("err", lua.create_string(&full)?)?;
    Ok(t)
}

/// Reads the shebang line (`#!lua flags=no-writes,...`): the flags and how many bytes to skip before
/// compiling. Without one the script runs in compatibility mode.
fn shebang_flags(body: &[u8]) -> Result<(u32, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((F_EVAL_COMPAT, 0));
    }
    let Some(end) = body.iter().position(|&c| c == b'\n') else {
        return Err("Invalid script shebang".into());
    };
    let line = String::from_utf8_lossy(&body[..end]);
    let parts: Vec<&str> = line.split_ascii_whitespace().collect();
    if parts.is_empty() {
        return Err("Invalid engine in script shebang".into());
    }
    if parts[0] != "#!lua" {
        return Err(format!("Unexpected engine in script shebang: {}", parts[0]));
    }
    let mut flags = 0;
    for p in &parts[1..] {
        let Some(list) = p.strip_prefix("flags=") else {
            return Err(format!("Unknown lua shebang option: {p}"));
        };
        for f in list.split(',').filter(|_| !list.is_empty()) {
            let Some((_, bit)) = SCRIPT_FLAGS.iter().find(|(name, _)| *name == f) else {
                return Err(format!("Unexpected flag in script shebang: {f}"));
            };
            flags |= bit;
        }
    }
    Ok((flags, end))
}

/// INFO memory's scripting lines: Lua heap bytes, cached scripts, and the bytes of their bodies.
pub fn memory(st: &State) -> (usize, usize, usize) {
    match &st.scripting {
        Some(s) => (s.lua.used_memory(), s.scripts.len(), s.body_bytes),
        // An idle Redis 7.0 reports its fresh interpreter's size.
        None => (31744, 0, 0),
    }
}

/// The interpreter, created on first use.
fn scripting(st: &mut State) -> Result<&mut Scripting, Error> {
    if st.scripting.is_none() {
        let s = Scripting::new(Shared::new())
            .map_err(|e| Error::from(format!("ERR Lua initialization failed: {e}")))?;
        st.scripting = Some(Box::new(s));
    }
    Ok(st.scripting.as_mut().unwrap())
}

/// Redis's numkeys checks of EVAL and EVALSHA, which come before the script is looked at.
fn numkeys(args: &Args) -> Result<usize, Error> {
    let n = crate::util::parse_i64(&args[2]).ok_or(Error::from(super::ERR_NOT_INT))?;
    if n > args.len() as i64 - 3 {
        return err("ERR Number of keys can't be greater than number of args");
    }
    if n < 0 {
        return err("ERR Number of keys can't be negative");
    }
    Ok(n as usize)
}

/// EVAL script numkeys [key [key ...]] [arg [arg ...]]
fn eval(ctx: &mut Ctx, args: &Args) -> CmdResult {
    eval_generic(ctx, args, false, false)
}

/// EVAL_RO script numkeys [key [key ...]] [arg [arg ...]]
fn eval_ro(ctx: &mut Ctx, args: &Args) -> CmdResult {
    eval_generic(ctx, args, false, true)
}

/// EVALSHA sha1 numkeys [key [key ...]] [arg [arg ...]]
fn evalsha(ctx: &mut Ctx, args: &Args) -> CmdResult {
    eval_generic(ctx, args, true, false)
}

/// EVALSHA_RO sha1 numkeys [key [key ...]] [arg [arg ...]]
fn evalsha_ro(ctx: &mut Ctx, args: &Args) -> CmdResult {
    eval_generic(ctx, args, true, true)
}

const NOSCRIPT_ERR: &str = "NOSCRIPT No matching script. Please use EVAL.";

fn eval_generic(ctx: &mut Ctx, args: &Args, by_sha: bool, ro: bool) -> CmdResult {
    super::monitor::feed_script(ctx, args);
    // EVALSHA turns away a SHA of the wrong length before it reads numkeys, as Redis's evalShaCommand.
    if by_sha && args[1].len() != 40 {
        return err(NOSCRIPT_ERR);
    }
    let nkeys = numkeys(args)?;
    let s = scripting(ctx.st)?;
    let sha = if by_sha {
        let mut sha = [0u8; 40];
        sha.copy_from_slice(&args[1]);
        sha.make_ascii_lowercase();
        if !s.scripts.contains_key(&sha) {
            return err(NOSCRIPT_ERR);
        }
        sha
    } else {
        s.create(&args[1])?
    };
    let script = &s.scripts[&sha];
    let (func, flags) = (script.func.clone(), script.flags);
    let sha_str = String::from_utf8_lossy(&sha).into_owned();
    let (lua, globals) = (s.lua.clone(), s.globals.clone());
    let set_array = |name: &str, items: &mut dyn Iterator<Item = &[u8]>| -> mlua::Result<()> {
        globals.raw_set(name, lua_array(&lua, items)?)
    };
    let run = |_: &mut Ctx| -> CmdResult {
        set_array("KEYS", &mut args.from(3).take(nkeys))
            .and_then(|_| set_array("ARGV", &mut args.from(3 + nkeys)))
            .map_err(lua_fail)?;
        Ok(())
    };
    let target = RunTarget {
        func,
        flags,
        name: &sha_str,
        cmd: "eval",
        fn_args: None,
    };
    run_script(ctx, args, ro, target, |st| st.scripting.as_deref_mut(), run)
}

/// A Lua array of the strings `items` (KEYS and ARGV, a function's keys and arguments).
pub(crate) fn lua_array(lua: &Lua, items: &mut dyn Iterator<Item = &[u8]>) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for (i, a) in items.enumerate() {
        t.raw_set(i + 1, lua.create_string(a)?)?;
    }
    Ok(t)
}

/// What `run_script` runs: the compiled script or function, its flags, the name its errors give, the
/// command admission checks name, and a function's (keys, args) parameters.
pub(crate) struct RunTarget<'a> {
    pub func: Function,
    pub flags: u32,
    pub name: &'a str,
    pub cmd: &'a str,
    pub fn_args: Option<(Table, Table)>,
}

/// Runs a script or function of the interpreter `engine` picks, with Redis's checks before it
/// (scriptPrepareForRun), the redis.call API during it, and its reply or error after it. `setup` runs
/// once the checks passed (EVAL sets KEYS and ARGV there).
pub(crate) fn run_script(
    ctx: &mut Ctx,
    args: &Args,
    ro: bool,
    target: RunTarget,
    engine: fn(&mut State) -> Option<&mut Scripting>,
    setup: impl FnOnce(&mut Ctx) -> CmdResult,
) -> CmdResult {
    let RunTarget {
        func,
        flags,
        name: sha_str,
        cmd,
        fn_args,
    } = target;
    if flags & F_EVAL_COMPAT == 0 && flags & F_NO_WRITES == 0 && ro {
        return err("ERR Can not execute a script with write flag using *_ro command.");
    }
    let compat = flags & F_EVAL_COMPAT != 0;
    if !compat && flags & F_NO_WRITES == 0 && super::server::admission_needed(ctx.st) {
        // A script that declares flags and may write runs as a write command (Redis's
        // scriptFlagsToCmdFlags): the checks EVAL skipped apply now, with processCommand's texts.
        let denyoom = if flags & F_ALLOW_OOM == 0 { DENYOOM } else { 0 };
        if let Some(e) = super::server::admission(ctx, WRITE | denyoom, cmd) {
            return Err(Error::from(e));
        }
    }
    let read_only = ro || (!compat && flags & F_NO_WRITES != 0);
    let allow_oom = !compat && flags & (F_ALLOW_OOM | F_NO_WRITES) != 0;
    // Redis's pre_command_oom_state: whether memory was over maxmemory when the script started.
    let oom = ctx.st.cfg.maxmemory > 0
        && super::server::evict::perform(ctx) == super::server::evict::Evict::Fail;
    setup(ctx)?;
    let s = engine(ctx.st).ok_or(Error::from("ERR Lua engine is not initialized"))?;
    let (lua, runner, shared) = (s.lua.clone(), s.runner.clone(), s.shared.clone());

    // The script's replies to other clients' output (PUBLISH) must find the reply arena where they look.
    let arena_swapped = ctx.arena_in_out;
    if arena_swapped {
        ctx.st.arena = std::mem::take(&mut ctx.out.buf);
    }
    shared.running.set(true);
    shared.killed.set(false);
    shared.resp3.set(false);
    shared.start.set(Instant::now());
    shared.limit_ms.set(ctx.st.cfg.busy_reply_threshold);
    let mut run = Run {
        db: ctx.db,
        read_only,
        deny_oom: oom && !allow_oom,
        write_dirty: false,
        shared: shared.clone(),
    };
    // `ctx` and `run` are not touched again until the pointers are cleared (see `api_call`).
    shared.current.set((
        &mut *ctx as *mut Ctx as *mut (),
        &mut run as *mut Run as *mut (),
    ));
    let result = capped(&lua, || match fn_args {
        Some((keys, argv)) => runner.call::<MultiValue>((func, keys, argv)),
        None => runner.call::<MultiValue>(func),
    });
    shared
        .current
        .set((std::ptr::null_mut(), std::ptr::null_mut()));
    shared.running.set(false);
    if let Some(s) = engine(ctx.st) {
        s.after_run();
    }
    if arena_swapped {
        ctx.out.buf = std::mem::take(&mut ctx.st.arena);
    }
    let mut vals = result.map_err(lua_fail)?.into_iter();
    let ok = matches!(vals.next(), Some(Value::Boolean(true)));
    let v = vals.next().unwrap_or(Value::Nil);
    if ok {
        let resp2_bools = !shared.resp3.get();
        let mut errs = Vec::new();
        to_reply(ctx.out, &v, resp2_bools, 0, &mut errs);
        let mut counted_any = false;
        for (msg, counted) in &errs {
            if *counted {
                eval_failed(ctx, args);
            } else {
                ctx.st.count_error(msg);
                counted_any = true;
            }
        }
        if counted_any {
            eval_failed(ctx, args);
        }
        return Ok(());
    }
    // The error handler's table: {err=, source=, line=}.
    let Value::Table(t) = v else {
        let msg = match &v {
            Value::String(s) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
            _ => "execution failure".into(),
        };
        let msg: String = msg.chars().take(100).collect();
        return Err(Error::from(format!(
            "ERR Error running script {sha_str}, {msg}"
        )));
    };
    let mut msg = match t.raw_get::<Value>("err") {
        Ok(Value::String(s)) => s.as_bytes().to_vec(),
        Ok(Value::Number(n)) => fmt_lua_number(n).into_bytes(),
        Ok(Value::Integer(n)) => n.to_string().into_bytes(),
        _ => b"ERR unknown error".to_vec(),
    };
    if shared.killed.get() {
        msg = KILLED.as_bytes().to_vec();
    }
    let source = t.raw_get::<Value>("source").ok().and_then(lua_str);
    let line = t.raw_get::<Value>("line").ok().and_then(lua_str);
    if let (Some(src), Some(line)) = (source, line) {
        msg.extend_from_slice(format!(" script: {sha_str}, on {src}:{line}.").as_bytes());
    }
    if matches!(
        t.raw_get::<Value>("ignore_error_stats_update"),
        Ok(Value::Boolean(true))
    ) {
        // The command's own error was counted when it ran; EVAL still counts as failed.
        ctx.out.error(&msg);
        eval_failed(ctx, args);
        return Ok(());
    }
    Err(Error::from(String::from_utf8_lossy(&msg).into_owned()))
}

/// Counts a failed call of the running EVAL whose error stats were already counted.
fn eval_failed(ctx: &mut Ctx, args: &Args) {
    if let Some(i) = registry().find(&args[0]) {
        ctx.st.cmdstats[i].failed += 1;
    }
}

fn lua_fail(e: mlua::Error) -> Error {
    Error::from(format!("ERR Error running script: {e}").replace(['\r', '\n'], " "))
}

/// `lua_tostring` of a string or number.
fn lua_str(v: Value) -> Option<String> {
    match v {
        Value::String(s) => Some(String::from_utf8_lossy(&s.as_bytes()).into_owned()),
        Value::Integer(n) => Some(n.to_string()),
        Value::Number(n) => Some(fmt_lua_number(n)),
        _ => None,
    }
}

/// Lua 5.1's `%.14g`.
fn fmt_lua_number(n: f64) -> String {
    if n.is_finite() {
        crate::protocol::reply::fmt_g(n, 14)
    } else {
        fmt_double(n)
    }
}

/// What a running script carries between its redis.call's.
struct Run {
    /// The script client's database (SELECT inside a script changes it alone).
    db: usize,
    read_only: bool,
    /// Memory was over maxmemory at the start and the script may not ignore it.
    deny_oom: bool,
    /// A write command already ran: later ones cannot be refused half-way.
    write_dirty: bool,
    shared: Rc<Shared>,
}

/// redis.call / redis.pcall: returns the reply, and whether it is an error the caller must raise.
fn redis_call(
    lua: &Lua,
    ctx: &mut Ctx,
    run: &mut Run,
    raise_errors: bool,
    args: MultiValue,
) -> mlua::Result<Value> {
    let fail = |msg: &[u8]| -> mlua::Result<Value> {
        let t = err_table(lua, msg)?;
        if raise_errors {
            Err(raise(lua, Value::Table(t)))
        } else {
            Ok(Value::Table(t))
        }
    };
    if args.is_empty() {
        return fail(b"Please specify at least one argument for this redis lib call");
    }
    let shared = run.shared.clone();
    let mut scratch = shared.scratch.borrow_mut();
    let (buf, ranges, reply) = &mut *scratch;
    buf.clear();
    ranges.clear();
    for v in args.iter() {
        let start = buf.len();
        match v {
            Value::String(s) => buf.extend_from_slice(&s.as_bytes()),
            Value::Integer(n) => crate::util::push_i64(buf, *n),
            Value::Number(n) => buf.extend_from_slice(fmt_double(*n).as_bytes()),
            _ => return fail(b"Lua redis lib command arguments must be strings or integers"),
        }
        ranges.push((start, buf.len()));
    }
    let cargs = Args::new(buf, ranges);
    // Writes refused by the server's state: failed persistence, too few replicas.
    let write_denied = if super::persist::writes_denied(ctx.st) {
        Some(MISCONF)
    } else if ctx.st.cfg.min_replicas_to_write > 0
        && !super::repl::enough_replicas(ctx.st, ctx.conns)
    {
        Some("-NOREPLICAS Not enough good replicas to write.")
    } else {
        None
    };
    if let Err((idx, e)) = check_call(&cargs, run, write_denied) {
        // Redis's afterErrorReply and ERROR_COMMAND_REJECTED for the refused command.
        if let Some(i) = idx {
            ctx.st.cmdstats[i].rejected += 1;
        }
        ctx.st
            .count_error(e.strip_prefix('-').unwrap_or("ERR").as_bytes());
        let t = err_table(lua, e.as_bytes())?;
        t.raw_set("ignore_error_stats_update", true)?;
        if raise_errors {
            return Err(raise(lua, Value::Table(t)));
        }
        return Ok(Value::Table(t));
    }
    reply.clear();
    let mut out = Out {
        buf: std::mem::take(reply),
        resp3: run.shared.resp3.get(),
    };
    {
        let mut sub = Ctx::new(ctx.st, ctx.conns, ctx.id, run.db, &mut out);
        sub.in_exec = true;
        sub.in_script = true;
        dispatch(&mut sub, &cargs);
        run.db = sub.db;
    }
    let mut pos = 0;
    let v = resp_to_lua(lua, &out.buf, &mut pos);
    let failed = out.buf.first() == Some(&b'-');
    // A big reply or argument is not worth keeping the memory for.
    if out.buf.capacity() <= SCRATCH_KEEP {
        *reply = out.buf;
    }
    if buf.capacity() > SCRATCH_KEEP {
        *buf = Vec::new();
    }
    drop(scratch);
    let v = v?;
    if failed {
        if let Value::Table(t) = &v {
            t.raw_set("ignore_error_stats_update", true)?;
        }
    }
    if failed && raise_errors {
        return Err(raise(lua, v));
    }
    Ok(v)
}

/// The largest redis.call buffer kept for the next call.
const SCRATCH_KEEP: usize = 64 << 10;

/// `persist::ERR_MISCONF` with its dash, as scripts see Redis's shared error.
const MISCONF: &str = "-MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

/// Redis's `scriptCall` checks before a command runs from a script.
fn check_call(
    args: &Args,
    run: &mut Run,
    write_denied: Option<&'static str>,
) -> Result<(), (Option<usize>, &'static str)> {
    let reg = registry();
    let Some(mut idx) = reg.find(&args[0]) else {
        return Err((None, "Unknown Redis command called from script"));
    };
    if !reg.all[idx].subs.is_empty() && args.len() >= 2 {
        match reg.find_sub(idx, &args[1]) {
            Some(s) => idx = s,
            None => return Err((None, "Unknown Redis command called from script")),
        }
    }
    let refuse = |msg| Err((Some(idx), msg));
    let cmd = reg.all[idx].cmd;
    let argc = args.len() as i32;
    if (cmd.arity > 0 && cmd.arity != argc) || argc < -cmd.arity {
        return refuse("Wrong number of args calling Redis command from script");
    }
    if cmd.flags & NOSCRIPT != 0 {
        return refuse("This Redis command is not allowed from script");
    }
    // PUBLISH and SPUBLISH are may-replicate in Redis too, a flag ferrokv's table leaves to EVAL and PFCOUNT.
    let may_replicate =
        cmd.flags & MAY_REPLICATE != 0 || matches!(cmd.name, "publish" | "spublish");
    if run.read_only && (cmd.flags & WRITE != 0 || may_replicate) {
        return refuse("Write commands are not allowed from read-only scripts.");
    }
    if cmd.flags & WRITE != 0 && !run.write_dirty {
        if let Some(e) = write_denied {
            return refuse(e);
        }
    }
    if run.deny_oom && !run.write_dirty && cmd.flags & DENYOOM != 0 {
        return refuse("-OOM command not allowed when used memory > 'maxmemory'.");
    }
    if cmd.flags & WRITE != 0 {
        run.write_dirty = true;
    }
    Ok(())
}

/// One RESP reply (as a command wrote it) as a Lua value, the way Redis's `redisProtocolToLuaType` reads
/// it. `pos` advances past it.
fn resp_to_lua(lua: &Lua, b: &[u8], pos: &mut usize) -> mlua::Result<Value> {
    let line = |pos: &mut usize| -> &[u8] {
        let start = (*pos + 1).min(b.len());
        let end = b[start..]
            .windows(2)
            .position(|w| w == b"\r\n")
            .map_or(b.len(), |i| start + i);
        *pos = (end + 2).min(b.len());
        &b[start..end]
    };
    let num = |s: &[u8]| crate::util::parse_i64(s).unwrap_or(0);
    let Some(&t) = b.get(*pos) else {
        return Ok(Value::Nil);
    };
    Ok(match t {
        b':' => Value::Number(num(line(pos)) as f64),
        b'$' => {
            let n = num(line(pos));
            if n < 0 {
                Value::Boolean(false)
            } else {
                let end = (*pos + n as usize).min(b.len());
                let s = lua.create_string(&b[*pos..end])?;
                *pos = (end + 2).min(b.len());
                Value::String(s)
            }
        }
        b'+' => {
            let s = line(pos);
            let t = lua.create_table()?;
            t.raw_set("ok", lua.create_string(s)?)?;
            Value::Table(t)
        }
        b'-' => {
            let s = line(pos);
            let mut e = b"-".to_vec();
            e.extend_from_slice(s);
            Value::Table(err_table(lua, &e)?)
        }
        b'*' | b'~' | b'>' => {
            let n = num(line(pos));
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let arr = lua.create_table()?;
            if t == b'~' {
                for _ in 0..n {
                    let k = resp_to_lua(lua, b, pos)?;
                    if !k.is_nil() {
                        arr.raw_set(k, true)?;
                    }
                }
                let w = lua.create_table()?;
                w.raw_set("set", arr)?;
                Value::Table(w)
            } else {
                for i in 0..n {
                    let v = resp_to_lua(lua, b, pos)?;
                    arr.raw_set(i + 1, v)?;
                }
                Value::Table(arr)
            }
        }
        b'%' => {
            let n = num(line(pos));
            let m = lua.create_table()?;
            for _ in 0..n.max(0) {
                let k = resp_to_lua(lua, b, pos)?;
                let v = resp_to_lua(lua, b, pos)?;
                if !k.is_nil() {
                    m.raw_set(k, v)?;
                }
            }
            let w = lua.create_table()?;
            w.raw_set("map", m)?;
            Value::Table(w)
        }
        b'|' => {
            let n = num(line(pos));
            for _ in 0..2 * n.max(0) {
                resp_to_lua(lua, b, pos)?;
            }
            resp_to_lua(lua, b, pos)?
        }
        b'_' => {
            line(pos);
            Value::Nil
        }
        b'#' => Value::Boolean(line(pos) == b"t"),
        b',' => {
            let s = String::from_utf8_lossy(line(pos)).into_owned();
            let d: f64 = match s.as_str() {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                s => s.parse().unwrap_or(f64::NAN),
            };
            let w = lua.create_table()?;
            w.raw_set("double", d)?;
            Value::Table(w)
        }
        b'(' => {
            let s = line(pos);
            let w = lua.create_table()?;
            w.raw_set("big_number", lua.create_string(s)?)?;
            Value::Table(w)
        }
        b'=' => {
            let n = num(line(pos)).max(0) as usize;
            let end = (*pos + n).min(b.len());
            let body = &b[*pos..end];
            *pos = (end + 2).min(b.len());
            let (fmt, s) = if body.len() >= 4 {
                (&body[..3], &body[4..])
            } else {
                (&b"txt"[..], body)
            };
            let v = lua.create_table()?;
            v.raw_set("string", lua.create_string(s)?)?;
            v.raw_set("format", lua.create_string(fmt)?)?;
            let w = lua.create_table()?;
            w.raw_set("verbatim_string", v)?;
            Value::Table(w)
        }
        _ => {
            *pos = b.len();
            Value::Nil
        }
    })
}

/// The error replies a script's result holds: their text, and whether Redis's stats already counted them
/// (`ignore_error_stats_update`).
type Errs = Vec<(Vec<u8>, bool)>;

/// Redis's reply to a too deeply nested result (its Lua stack check).
const MAX_DEPTH: usize = 1000;

/// A Lua value as the script's reply, as Redis's `luaReplyToRedisReply`; `resp2_bools` when the script
/// did not switch to RESP3 (booleans then become 1 and null).
fn to_reply(out: &mut Out, v: &Value, resp2_bools: bool, depth: usize, errs: &mut Errs) {
    if depth > MAX_DEPTH {
        out.error(b"ERR reached lua stack limit");
        errs.push((b"ERR reached lua stack limit".to_vec(), false));
        return;
    }
    match v {
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Boolean(b) => {
            if resp2_bools {
                if *b {
                    out.int(1);
                } else {
                    out.null();
                }
            } else {
                out.boolean(*b);
            }
        }
        Value::Integer(n) => out.int(*n),
        Value::Number(n) => out.int(lua_to_i64(*n)),
        Value::Table(t) => table_reply(out, t, resp2_bools, depth, errs),
        _ => out.null(),
    }
}

/// C's `(long long)` of a double, as x86-64 does it (out of range gives i64::MIN).
fn lua_to_i64(n: f64) -> i64 {
    if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

fn table_reply(out: &mut Out, t: &Table, resp2_bools: bool, depth: usize, errs: &mut Errs) {
    let get = |k: &str| t.raw_get::<Value>(k).unwrap_or(Value::Nil);
    if let Value::String(e) = get("err") {
        let mut msg = b"-".to_vec();
        msg.extend_from_slice(&e.as_bytes());
        // addReplyErrorFormat: the text goes out as given after the dash.
        out.error(&msg[1..]);
        let counted = matches!(get("ignore_error_stats_update"), Value::Boolean(true));
        errs.push((msg[1..].to_vec(), counted));
        return;
    }
    if let Value::String(s) = get("ok") {
        let s: Vec<u8> = s
            .as_bytes()
            .iter()
            .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
            .collect();
        out.buf.push(b'+');
        out.buf.extend_from_slice(&s);
        out.buf.extend_from_slice(b"\r\n");
        return;
    }
    match get("double") {
        Value::Number(d) => {
            out.double(d);
            return;
        }
        Value::Integer(d) => {
            out.double(d as f64);
            return;
        }
        _ => {}
    }
    if let Value::String(s) = get("big_number") {
        let s: Vec<u8> = s
            .as_bytes()
            .iter()
            .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
            .collect();
        if out.resp3 {
            out.buf.push(b'(');
            out.buf.extend_from_slice(&s);
            out.buf.extend_from_slice(b"\r\n");
        } else {
            out.bulk(&s);
        }
        return;
    }
    if let Value::Table(v) = get("verbatim_string") {
        if let (Ok(Value::String(f)), Ok(Value::String(s))) =
            (v.raw_get::<Value>("format"), v.raw_get::<Value>("string"))
        {
            let s = s.as_bytes();
            if out.resp3 {
                let mut fmt = [b' '; 3];
                for (d, c) in fmt.iter_mut().zip(f.as_bytes().iter()) {
                    *d = *c;
                }
                out.buf.push(b'=');
                out.buf
                    .extend_from_slice((s.len() + 4).to_string().as_bytes());
                out.buf.extend_from_slice(b"\r\n");
                out.buf.extend_from_slice(&fmt);
                out.buf.push(b':');
                out.buf.extend_from_slice(&s);
                out.buf.extend_from_slice(b"\r\n");
            } else {
                out.bulk(&s);
            }
            return;
        }
    }
    if let Value::Table(m) = get("map") {
        let pairs: Vec<(Value, Value)> = m.pairs::<Value, Value>().filter_map(|p| p.ok()).collect();
        out.map(pairs.len());
        for (k, v) in &pairs {
            to_reply(out, k, resp2_bools, depth + 1, errs);
            to_reply(out, v, resp2_bools, depth + 1, errs);
        }
        return;
    }
    if let Value::Table(s) = get("set") {
        let keys: Vec<Value> = s
            .pairs::<Value, Value>()
            .filter_map(|p| p.ok().map(|p| p.0))
            .collect();
        out.set(keys.len());
        for k in &keys {
            to_reply(out, k, resp2_bools, depth + 1, errs);
        }
        return;
    }
    let mut items = Vec::new();
    for i in 1.. {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(v),
        }
    }
    out.array(items.len());
    for v in &items {
        to_reply(out, v, resp2_bools, depth + 1, errs);
    }
}

/// SCRIPT LOAD script
fn script_load(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let sha = scripting(ctx.st)?.create(&args[2])?;
    ctx.out.bulk(&sha);
    Ok(())
}

/// SCRIPT EXISTS sha1 [sha1 ...]
fn script_exists(ctx: &mut Ctx, args: &Args) -> CmdResult {
    ctx.out.array(args.len() - 2);
    for a in args.from(2) {
        let found = a.len() == 40
            && ctx.st.scripting.as_ref().is_some_and(|s| {
                let mut k = [0u8; 40];
                k.copy_from_slice(a);
                s.scripts.contains_key(&k)
            });
        ctx.out.int(found as i64);
    }
    Ok(())
}

/// SCRIPT FLUSH [ASYNC | SYNC]: a fresh interpreter and an empty cache.
fn script_flush(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mode_ok = args.len() == 2
        || (args.len() == 3 && (eq_ci(&args[2], b"async") || eq_ci(&args[2], b"sync")));
    if !mode_ok {
        return err("ERR SCRIPT FLUSH only support SYNC|ASYNC option");
    }
    if let Some(old) = ctx.st.scripting.take() {
        let shared = old.shared.clone();
        drop(old);
        let s = Scripting::new(shared)
            .map_err(|e| Error::from(format!("ERR Lua initialization failed: {e}")))?;
        ctx.st.scripting = Some(Box::new(s));
    }
    ctx.out.ok();
    Ok(())
}

/// SCRIPT DEBUG YES | SYNC | NO: there is no debugger, so only NO is accepted.
fn script_debug(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let a = &args[2];
    if eq_ci(a, b"no") {
        ctx.out.ok();
        Ok(())
    } else if eq_ci(a, b"yes") || eq_ci(a, b"sync") {
        err("ERR ferrokv has no Lua debugger")
    } else {
        err("ERR Use SCRIPT DEBUG YES/SYNC/NO")
    }
}

/// SCRIPT HELP
fn script_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    reply_help(
        ctx.out,
        "SCRIPT",
        &[
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------
// SHA1 (FIPS 180-1), for the script cache and redis.sha1hex.

/// The SHA1 digest of `data`.
pub fn sha1(data: &[u8]) -> [u8; 20] {
    let mut h: [u32; 5] = [
        0x6745_2301,
        0xEFCD_AB89,
        0x98BA_DCFE,
        0x1032_5476,
        0xC3D2_E1F0,
    ];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64).wrapping_mul(8)).to_be_bytes());
    for block in msg.chunks_exact(64) {
        let mut w = [0u32; 80];
        for (i, c) in block.chunks_exact(4).enumerate() {
            w[i] = u32::from_be_bytes([c[0], c[1], c[2], c[3]]);
        }
        for i in 16..80 {
            w[i] = (w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16]).rotate_left(1);
        }
        let [mut a, mut b, mut c, mut d, mut e] = h;
        for (i, wi) in w.iter().enumerate() {
            let (f, k) = match i {
                0..=19 => ((b & c) | (!b & d), 0x5A82_7999),
                20..=39 => (b ^ c ^ d, 0x6ED9_EBA1),
                40..=59 => ((b & c) | (b & d) | (c & d), 0x8F1B_BCDC),
                _ => (b ^ c ^ d, 0xCA62_C1D6),
            };
            let t = a
                .rotate_left(5)
                .wrapping_add(f)
                .wrapping_add(e)
                .wrapping_add(k)
                .wrapping_add(*wi);
            e = d;
            d = c;
            c = b.rotate_left(30);
            b = a;
            a = t;
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e]) {
            *x = x.wrapping_add(y);
        }
    }
    let mut out = [0u8; 20];
    for (i, x) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&x.to_be_bytes());
    }
    out
}

fn sha1_hex_bytes(data: &[u8]) -> [u8; 40] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 40];
    for (i, b) in sha1(data).iter().enumerate() {
        out[2 * i] = HEX[(b >> 4) as usize];
        out[2 * i + 1] = HEX[(b & 15) as usize];
    }
    out
}

/// Lowercase hex SHA1, as redis.sha1hex and SCRIPT LOAD answer.
pub fn sha1_hex(data: &[u8]) -> String {
    String::from_utf8_lossy(&sha1_hex_bytes(data)).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_known_vectors() {
        assert_eq!(sha1_hex(b""), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(
            sha1_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1"
        );
        // The body of `EVAL "return 1" 0`, as Redis names it.
        assert_eq!(
            sha1_hex(b"return 1"),
            "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"
        );
    }

    #[test]
    fn rand48_matches_redis() {
        let s = Cell::new(0x1234_ABCD_330E);
        // lrand48's first outputs from its default seed.
        assert_eq!(next_rand48(&s), 851401618);
        assert_eq!(next_rand48(&s), 1804928587);
    }

    #[test]
    fn misconf_text_is_persists_own() {
        assert_eq!(&MISCONF[1..], crate::cmd::persist::ERR_MISCONF);
    }

    #[test]
    fn shebang() {
        assert_eq!(shebang_flags(b"return 1"), Ok((F_EVAL_COMPAT, 0)));
        assert_eq!(
            shebang_flags(b"#!lua flags=no-writes\nreturn 1"),
            Ok((F_NO_WRITES, 21))
        );
        assert!(shebang_flags(b"#!lua").is_err());
    }
}
