//! Differential test: the same seeded random command stream goes to ferrokv and to a real `redis-server`,
//! one connection per server kept in lockstep (same db, same protocol), and every reply must be the same
//! bytes. Replies that are unordered (KEYS, CONFIG GET, a full SCAN) are compared as sets, and replies that
//! are random or depend on the clock (RANDOMKEY, TIME, TTL, CLIENT ID, HELLO's id) by property.
//! A table of hand-picked raw requests, malformed protocol included, is compared byte for byte on fresh
//! connections, together with whether each server closed the connection.
//!
//! Knobs (all optional):
//! - `DIFF_SEED=n`     run only this seed (decimal or 0x-hex) instead of the fixed list, or `a..b` for a range;
//! - `DIFF_ROUNDS=n`   commands per seed (default 3000; the default run takes ~1 s here in a debug build);
//! - `DIFF_CMDS=a,b`   also enable these generators (names as in `SPECS`, e.g. `lcs`, `object|help`),
//!   or `all` for every generator; `-name` takes one out again (`all,-time`);
//! - `DIFF_HISTORY=n`  show the last n requests in a failure (default 8);
//! - `DIFF_STATS=1`    print, per generator, how many requests were sent and how many got errors or nil;
//! - `DIFF_TRACE=file`  append every request's raw bytes to `file` (to replay a run by hand);
//! - `DIFF_KEEP_GOING=1` on a mismatch, record it and go on with the next seed (whose servers are fresh)
//!   instead of stopping; with a range of seeds this lists the distinct discrepancies.
//!
//! To add a family (lists, hashes, ...): write one generator fn per command over `Gen::key()` (so types
//! collide and WRONGTYPE paths run), add rows to `SPECS` with a `Check` (`Sorted` for sets of members,
//! `Pairs` for field/value maps, a new property check for random picks like SPOP), run it with
//! `DIFF_CMDS=name DIFF_SEED=1..300 DIFF_KEEP_GOING=1`, and add the names to `ENABLED` once they match.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::TestServer;

/// Generators that run by default: every command here matches Redis 7.0 on the current tree.
const ENABLED: &[&str] = &[
    // strings
    "get",
    "set",
    "setnx",
    "setex",
    "psetex",
    "getset",
    "getdel",
    "getex",
    "mget",
    "mset",
    "msetnx",
    "append",
    "strlen",
    "getrange",
    "substr",
    "setrange",
    "incr",
    "decr",
    "incrby",
    "decrby",
    "incrbyfloat",
    "lcs",
    // keys
    "del",
    "unlink",
    "exists",
    "touch",
    "keys",
    "scan",
    "randomkey",
    "type",
    "rename",
    "renamenx",
    "move",
    "copy",
    "dbsize",
    "flushdb",
    "swapdb",
    "object|encoding",
    "object|freq",
    "object|idletime",
    "object|help",
    // expiry
    "expire",
    "pexpire",
    "expireat",
    "pexpireat",
    "ttl",
    "pttl",
    "expiretime",
    "pexpiretime",
    "persist",
    // connection (QUIT and RESET end or reset the session: their own tests below)
    "ping",
    "echo",
    "select",
    "hello",
    "auth",
    "client|id",
    "client|setname",
    "client|getname",
    "quit",
    "reset",
    // server
    "time",
    "config|get",
    "unknown",
    // Not yet: "object|refcount" (a COPY of a shared small integer has refcount 1 in Redis),
    // "config|get-pattern" (`maxmemory*` lists maxmemory-clients/-samples/-eviction-tenacity in Redis).
];

const DEFAULT_SEEDS: &[u64] = &[1, 2, 3, 4, 5, 6, 7, 8, 0xC0FFEE, 0x5EED_F00D];
const DEFAULT_ROUNDS: usize = 3000;

// ---------------------------------------------------------------------------------------------------------
// A small PRNG (splitmix64): reproducible across platforms, no dependency.

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len() as u64) as usize]
    }
}

// ---------------------------------------------------------------------------------------------------------
// Argument generation.

/// The key space: 20 names, some with binary, space, glob or protocol bytes in them.
const KEYS: &[&[u8]] = &[
    b"k0",
    b"k1",
    b"k2",
    b"k3",
    b"k4",
    b"k5",
    b"k6",
    b"k7",
    b"k8",
    b"k9",
    b"",
    b"a b",
    b"\x00bin\xff\r\n",
    "ключ".as_bytes(),
    b"*",
    b"k?",
    b"[k]",
    b"123",
    b"-1",
    b"a-very-long-key-name-that-goes-on-and-on-past-forty-four-bytes-xxxxxxxx",
];

const PATTERNS: &[&[u8]] = &[
    b"*", b"k*", b"k?", b"k[0-4]", b"k[^0-4]", b"k[4-0]", b"*\\*", b"\\*", b"[", b"[a-", b"k[",
    b"*x*", b"", b"?", b"??", b"\\", b"k\\?", b"*a*b*", b"[\\]k]*", b"K*", b"\x00*", b"*-*",
];

/// Integer-looking arguments, valid and not.
const INTS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "10",
    "100",
    "-100",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "-9223372036854775809",
    "abc",
    "1.5",
    "",
    " 1",
    "1 ",
    "+1",
    "01",
    "-0",
    "0x10",
    "1e3",
    "99999999999999999999999",
];

const FLOATS: &[&str] = &[
    "0",
    "1",
    "-1",
    "0.1",
    "1.5",
    "-2.25",
    "1e10",
    "5.0e3",
    "3.0e-5",
    "1e308",
    "-1e308",
    "inf",
    "-inf",
    "+inf",
    "nan",
    "abc",
    "",
    " 1",
    "1 ",
    "0x10",
    "1.7976931348623157e308",
    "10.50",
    "00.5",
    ".5",
    "5.",
    "9223372036854775807",
];

const CONFIG_NAMES: &[&str] = &[
    "maxmemory",
    "maxmemory-policy",
    "timeout",
    "databases",
    "hz",
    "proto-max-bulk-len",
    "appendonly",
    "loglevel",
    "requirepass",
    "no-such-param",
    "TIMEOUT",
    "MaxMemory",
];

/// CONFIG GET patterns: these list every parameter whose name matches, so they also check that no
/// parameter Redis 7.0 has is missing among those that match. (`*` would list ~190, port included.)
const CONFIG_PATTERNS: &[&str] = &[
    "maxmemory*",
    "*max*bulk*",
    "hz*",
    "time?ut",
    "data*",
    "*policy",
    "require*",
];

struct Gen {
    rng: Rng,
    /// TTL slots already handed out; see `ttl_slot`.
    used_slots: HashSet<u64>,
}

/// An argument: anything that turns into bytes.
trait IntoArg {
    fn into_arg(self) -> Vec<u8>;
}
impl IntoArg for &str {
    fn into_arg(self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}
impl IntoArg for &[u8] {
    fn into_arg(self) -> Vec<u8> {
        self.to_vec()
    }
}
impl IntoArg for Vec<u8> {
    fn into_arg(self) -> Vec<u8> {
        self
    }
}
impl IntoArg for String {
    fn into_arg(self) -> Vec<u8> {
        self.into_bytes()
    }
}

macro_rules! cmd {
    ($($a:expr),* $(,)?) => { vec![$(IntoArg::into_arg($a)),*] };
}

impl Gen {
    fn new(seed: u64) -> Gen {
        Gen {
            rng: Rng(seed),
            used_slots: HashSet::new(),
        }
    }

    fn key(&mut self) -> Vec<u8> {
        // Favour the first few so keys are often reused (and collide with each other's types and TTLs).
        if self.rng.chance(60) {
            KEYS[self.rng.below(6) as usize].to_vec()
        } else if self.rng.chance(3) {
            b"missing".to_vec()
        } else {
            self.rng.pick(KEYS).to_vec()
        }
    }

    fn keys(&mut self, min: usize, max: usize) -> Vec<Vec<u8>> {
        let n = self.rng.range(min as i64, max as i64) as usize;
        (0..n).map(|_| self.key()).collect()
    }

    /// A value: small and large integers (int encoding), short and long strings (embstr / raw), binary.
    fn val(&mut self) -> Vec<u8> {
        match self.rng.below(12) {
            0 | 1 => self.rng.range(-20, 20).to_string().into_bytes(),
            2 => self.rng.pick(INTS).as_bytes().to_vec(),
            3 => self.rng.pick(FLOATS).as_bytes().to_vec(),
            4 => Vec::new(),
            5 => (0..self.rng.range(1, 8))
                .map(|_| self.rng.next() as u8)
                .collect(),
            6 => {
                // Around the 44-byte embstr limit.
                let n = self.rng.range(40, 48) as usize;
                vec![b'x'; n]
            }
            7 => vec![b'y'; self.rng.range(100, 300) as usize],
            _ => {
                // Over a small alphabet, so LCS and GETRANGE have something to find.
                let n = self.rng.range(1, 12);
                (0..n)
                    .map(|_| *self.rng.pick(b"abcde".as_slice()))
                    .collect()
            }
        }
    }

    fn int(&mut self) -> Vec<u8> {
        if self.rng.chance(50) {
            self.rng.range(-20, 20).to_string().into_bytes()
        } else {
            self.rng.pick(INTS).as_bytes().to_vec()
        }
    }

    fn float(&mut self) -> Vec<u8> {
        if self.rng.chance(30) {
            self.int()
        } else {
            self.rng.pick(FLOATS).as_bytes().to_vec()
        }
    }

    /// A count/offset: mostly small, sometimes negative, huge or not a number.
    fn offset(&mut self) -> Vec<u8> {
        match self.rng.below(10) {
            0 => self.rng.pick(INTS).as_bytes().to_vec(),
            1 => self.rng.range(-30, -1).to_string().into_bytes(),
            _ => self.rng.range(0, 30).to_string().into_bytes(),
        }
    }

    /// `s` in a random letter case: Redis options are case-insensitive.
    fn opt(&mut self, s: &str) -> Vec<u8> {
        match self.rng.below(4) {
            0 => s.to_ascii_lowercase().into_bytes(),
            1 => s.to_ascii_uppercase().into_bytes(),
            _ => s
                .bytes()
                .map(|c| {
                    if self.rng.chance(50) {
                        c.to_ascii_lowercase()
                    } else {
                        c.to_ascii_uppercase()
                    }
                })
                .collect(),
        }
    }

    fn db(&mut self) -> Vec<u8> {
        if self.rng.chance(90) {
            self.rng.range(0, 3).to_string().into_bytes()
        } else {
            self.rng
                .pick(&["16", "-1", "x", "1.0", "15", "999999999999999999999"])
                .as_bytes()
                .to_vec()
        }
    }

    /// A TTL slot unused so far in this run. Every relative TTL is a whole number of slots of 1000 s
    /// (plus less than a second), so two deadlines set at different times never tie or swap order
    /// between the two servers, whatever the few ms between their clocks: NX/XX/GT/LT decide the same.
    fn ttl_slot(&mut self) -> u64 {
        loop {
            let k = self.rng.range(1, 100_000) as u64;
            if self.used_slots.insert(k) {
                return k;
            }
        }
    }

    fn secs(&mut self) -> Vec<u8> {
        match self.rng.below(12) {
            0 => self
                .rng
                .pick(&[
                    "0",
                    "-1",
                    "-1000",
                    "abc",
                    "1.5",
                    "",
                    "9223372036854775807",
                    "9223372036854775",
                    "-9223372036854775808",
                    "9223372036854776",
                ])
                .as_bytes()
                .to_vec(),
            _ => (self.ttl_slot() * 1000).to_string().into_bytes(),
        }
    }

    fn millis(&mut self) -> Vec<u8> {
        match self.rng.below(12) {
            0 => self
                .rng
                .pick(&[
                    "0",
                    "-1",
                    "-1000",
                    "abc",
                    "1.5",
                    "9223372036854775807",
                    "9223372036854775",
                    "-9223372036854775808",
                ])
                .as_bytes()
                .to_vec(),
            _ => {
                let ms = self.ttl_slot() * 1_000_000 + self.rng.below(1000);
                ms.to_string().into_bytes()
            }
        }
    }

    /// An absolute time in seconds: far in the future (unique slot, past any relative TTL) or, if `past`,
    /// in the past.
    fn at_secs(&mut self, past: bool) -> Vec<u8> {
        match self.rng.below(10) + if past { 0 } else { 3 } {
            0..=2 => self.rng.range(1, 1_000_000_000).to_string().into_bytes(),
            3 => self
                .rng
                .pick(&["0", "-1", "abc", "9223372036854775807", "9223372036854776"])
                .as_bytes()
                .to_vec(),
            _ => (4_000_000_000 + self.ttl_slot() * 1000)
                .to_string()
                .into_bytes(),
        }
    }

    fn at_millis(&mut self, past: bool) -> Vec<u8> {
        match self.rng.below(10) + if past { 0 } else { 3 } {
            0..=2 => self
                .rng
                .range(1, 1_000_000_000_000)
                .to_string()
                .into_bytes(),
            3 => self
                .rng
                .pick(&["0", "-1", "abc", "9223372036854775807"])
                .as_bytes()
                .to_vec(),
            _ => ((4_000_000_000 + self.ttl_slot() * 1000) * 1000 + self.rng.below(1000))
                .to_string()
                .into_bytes(),
        }
    }

    /// One expiry option of SET / GETEX with its argument (sometimes missing). Only GETEX gets deadlines
    /// in the past: it deletes the key at once, while SET stores a key that is already expired and that
    /// Redis's active expiry reclaims at a moment of its choosing, so DBSIZE and `SCAN ... TYPE none`
    /// would depend on timing.
    fn expiry_opt(&mut self, v: &mut Vec<Vec<u8>>, getex: bool) {
        let which = self.rng.below(if getex { 6 } else { 5 });
        let (name, arg) = match which {
            0 => ("EX", self.secs()),
            1 => ("PX", self.millis()),
            2 => ("EXAT", self.at_secs(getex)),
            3 => ("PXAT", self.at_millis(getex)),
            4 => ("KEEPTTL", Vec::new()),
            _ => ("PERSIST", Vec::new()),
        };
        v.push(self.opt(name));
        if which < 4 && !self.rng.chance(3) {
            v.push(arg);
        }
    }

    fn bad_opt(&mut self) -> Vec<u8> {
        self.rng
            .pick(&["EXX", "N", "NXX", "foo", "", "GETT", "-1", "LEN2", "MATCHX"])
            .as_bytes()
            .to_vec()
    }
}

// ---------------------------------------------------------------------------------------------------------
// Command generators, one per command. Each returns the full argument vector, name first.

// --- strings
fn g_get(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["GET", g.key()]
}
fn g_set(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd![g.opt("SET"), g.key(), g.val()];
    for _ in 0..g.rng.below(4) {
        match g.rng.below(7) {
            0 => v.push(g.opt("NX")),
            1 => v.push(g.opt("XX")),
            2 => v.push(g.opt("GET")),
            3..=5 => g.expiry_opt(&mut v, false),
            _ => v.push(g.bad_opt()),
        }
    }
    v
}
fn g_setnx(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["SETNX", g.key(), g.val()]
}
fn g_setex(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["SETEX", g.key(), g.secs(), g.val()]
}
fn g_psetex(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["PSETEX", g.key(), g.millis(), g.val()]
}
fn g_getset(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["GETSET", g.key(), g.val()]
}
fn g_getdel(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["GETDEL", g.key()]
}
fn g_getex(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["GETEX", g.key()];
    for _ in 0..g.rng.below(3) {
        if g.rng.chance(85) {
            g.expiry_opt(&mut v, true);
        } else {
            v.push(g.bad_opt());
        }
    }
    v
}
fn g_mget(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["MGET"];
    v.extend(g.keys(1, 5));
    v
}
fn mset_args(g: &mut Gen, name: &str) -> Vec<Vec<u8>> {
    let mut v = cmd![name];
    for _ in 0..g.rng.range(1, 4) {
        v.push(g.key());
        v.push(g.val());
    }
    if g.rng.chance(8) {
        v.pop();
    }
    v
}
fn g_mset(g: &mut Gen) -> Vec<Vec<u8>> {
    mset_args(g, "MSET")
}
fn g_msetnx(g: &mut Gen) -> Vec<Vec<u8>> {
    mset_args(g, "MSETNX")
}
fn g_append(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["APPEND", g.key(), g.val()]
}
fn g_strlen(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["STRLEN", g.key()]
}
fn g_getrange(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["GETRANGE", g.key(), g.offset(), g.offset()]
}
fn g_substr(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["SUBSTR", g.key(), g.offset(), g.offset()]
}
fn g_setrange(g: &mut Gen) -> Vec<Vec<u8>> {
    // Offsets stay small, or past proto-max-bulk-len (an error); never a real 512 MB allocation.
    let off = match g.rng.below(10) {
        0 => b"536870912".to_vec(),
        1 => b"-1".to_vec(),
        2 => b"x".to_vec(),
        3 => b"9223372036854775807".to_vec(),
        _ => g.rng.range(0, 60).to_string().into_bytes(),
    };
    cmd!["SETRANGE", g.key(), off, g.val()]
}
fn g_incr(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["INCR", g.key()]
}
fn g_decr(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["DECR", g.key()]
}
fn g_incrby(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["INCRBY", g.key(), g.int()]
}
fn g_decrby(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["DECRBY", g.key(), g.int()]
}
fn g_incrbyfloat(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["INCRBYFLOAT", g.key(), g.float()]
}
fn g_lcs(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["LCS", g.key(), g.key()];
    for _ in 0..g.rng.below(4) {
        match g.rng.below(6) {
            0 => v.push(g.opt("LEN")),
            1 | 2 => v.push(g.opt("IDX")),
            3 => {
                v.push(g.opt("MINMATCHLEN"));
                if !g.rng.chance(5) {
                    let n = g.offset();
                    v.push(n);
                }
            }
            4 => v.push(g.opt("WITHMATCHLEN")),
            _ => v.push(g.bad_opt()),
        }
    }
    v
}

// --- keys
fn g_del(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["DEL"];
    v.extend(g.keys(1, 3));
    v
}
fn g_unlink(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["UNLINK"];
    v.extend(g.keys(1, 3));
    v
}
fn g_exists(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["EXISTS"];
    v.extend(g.keys(1, 4));
    v
}
fn g_touch(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["TOUCH"];
    v.extend(g.keys(1, 4));
    v
}
fn g_keys(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["KEYS", *g.rng.pick(PATTERNS)]
}
fn g_scan(g: &mut Gen) -> Vec<Vec<u8>> {
    let cursor = if g.rng.chance(93) {
        "0"
    } else {
        g.rng
            .pick(&["abc", " 0", "0x", "99999999999999999999999", ""])
    };
    let mut v = cmd!["SCAN", cursor];
    for _ in 0..g.rng.below(3) {
        match g.rng.below(7) {
            0 | 1 => {
                v.push(g.opt("MATCH"));
                v.push(g.rng.pick(PATTERNS).to_vec());
            }
            2 | 3 => {
                v.push(g.opt("COUNT"));
                let n = if g.rng.chance(80) {
                    g.rng.range(1, 30).to_string().into_bytes()
                } else {
                    g.rng
                        .pick(&["0", "-1", "x", "9223372036854775807"])
                        .as_bytes()
                        .to_vec()
                };
                v.push(n);
            }
            4 | 5 => {
                v.push(g.opt("TYPE"));
                v.push(
                    g.rng
                        .pick(&["string", "STRING", "list", "hash", "none", "foo"])
                        .as_bytes()
                        .to_vec(),
                );
            }
            _ => v.push(g.bad_opt()),
        }
    }
    v
}
fn g_randomkey(_g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["RANDOMKEY"]
}
fn g_type(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["TYPE", g.key()]
}
fn g_rename(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["RENAME", g.key(), g.key()]
}
fn g_renamenx(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["RENAMENX", g.key(), g.key()]
}
fn g_move(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["MOVE", g.key(), g.db()]
}
fn g_copy(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["COPY", g.key(), g.key()];
    for _ in 0..g.rng.below(3) {
        match g.rng.below(5) {
            0 | 1 => {
                v.push(g.opt("DB"));
                let d = g.db();
                v.push(d);
            }
            2 | 3 => v.push(g.opt("REPLACE")),
            _ => v.push(g.bad_opt()),
        }
    }
    v
}
fn g_dbsize(_g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["DBSIZE"]
}
fn g_flushdb(g: &mut Gen) -> Vec<Vec<u8>> {
    match g.rng.below(5) {
        0 => cmd!["FLUSHDB", g.opt("ASYNC")],
        1 => cmd!["FLUSHDB", g.opt("SYNC")],
        2 => cmd!["FLUSHDB", g.bad_opt()],
        _ => cmd!["FLUSHDB"],
    }
}
fn g_swapdb(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["SWAPDB", g.db(), g.db()]
}
fn g_object_encoding(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["OBJECT", g.opt("ENCODING"), g.key()]
}
fn g_object_refcount(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["OBJECT", g.opt("REFCOUNT"), g.key()]
}
fn g_object_freq(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["OBJECT", g.opt("FREQ"), g.key()]
}
fn g_object_idletime(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["OBJECT", g.opt("IDLETIME"), g.key()]
}
fn g_object_help(g: &mut Gen) -> Vec<Vec<u8>> {
    if g.rng.chance(70) {
        cmd!["OBJECT", g.opt("HELP")]
    } else {
        cmd!["OBJECT", g.opt("NOSUCH"), g.key()]
    }
}

// --- expiry
fn expire_flags(g: &mut Gen, v: &mut Vec<Vec<u8>>) {
    for _ in 0..g.rng.below(3).saturating_sub(g.rng.below(2)) {
        let f = *g
            .rng
            .pick(&["NX", "XX", "GT", "LT", "NX", "XX", "GT", "LT", "BAD"]);
        let f = g.opt(f);
        v.push(f);
    }
}
fn g_expire(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["EXPIRE", g.key(), g.secs()];
    expire_flags(g, &mut v);
    v
}
fn g_pexpire(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["PEXPIRE", g.key(), g.millis()];
    expire_flags(g, &mut v);
    v
}
fn g_expireat(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["EXPIREAT", g.key(), g.at_secs(true)];
    expire_flags(g, &mut v);
    v
}
fn g_pexpireat(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["PEXPIREAT", g.key(), g.at_millis(true)];
    expire_flags(g, &mut v);
    v
}
fn g_ttl(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["TTL", g.key()]
}
fn g_pttl(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["PTTL", g.key()]
}
fn g_expiretime(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["EXPIRETIME", g.key()]
}
fn g_pexpiretime(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["PEXPIRETIME", g.key()]
}
fn g_persist(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["PERSIST", g.key()]
}

// --- connection
fn g_ping(g: &mut Gen) -> Vec<Vec<u8>> {
    match g.rng.below(3) {
        0 => cmd!["PING"],
        1 => cmd![g.opt("PING"), g.val()],
        _ => cmd!["PING", g.val(), g.val()],
    }
}
fn g_echo(g: &mut Gen) -> Vec<Vec<u8>> {
    // Now and then an argument past 32 KB, which Redis reads on its big-argument path. Only ECHO gets
    // one: in the keyspace it could reach LCS, whose cost is the product of the two lengths.
    if g.rng.chance(5) {
        let n = g.rng.range(30_000, 70_000) as usize;
        let c = b'a' + g.rng.below(26) as u8;
        return cmd!["ECHO", vec![c; n]];
    }
    cmd!["ECHO", g.val()]
}
fn g_select(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["SELECT", g.db()]
}
fn g_hello(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["HELLO"];
    if g.rng.chance(90) {
        let p = *g
            .rng
            .pick(&["2", "3", "2", "3", "2", "3", "1", "4", "x", "-1", ""]);
        v.push(p.into_arg());
        match g.rng.below(8) {
            0 => {
                v.push(g.opt("SETNAME"));
                let n = *g.rng.pick(&["dn", "a b", "", "n\n"]);
                v.push(n.into_arg());
            }
            1 => {
                v.push(g.opt("AUTH"));
                v.push(g.rng.pick(&["default", "nobody"]).into_arg());
                v.push("pw".into_arg());
            }
            2 => v.push(g.bad_opt()),
            _ => {}
        }
    }
    v
}
fn g_auth(g: &mut Gen) -> Vec<Vec<u8>> {
    match g.rng.below(3) {
        0 => cmd!["AUTH", "pw"],
        1 => cmd!["AUTH", "default", "pw"],
        _ => cmd!["AUTH", "nobody", "pw"],
    }
}
fn g_client_id(_g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["CLIENT", "ID"]
}
fn g_client_setname(g: &mut Gen) -> Vec<Vec<u8>> {
    let n = *g
        .rng
        .pick(&["conn-a", "x", "", "a b", "bad\nname", "ok_name-1"]);
    cmd!["CLIENT", g.opt("SETNAME"), n]
}
fn g_client_getname(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["CLIENT", g.opt("GETNAME")]
}

// --- server
fn g_time(_g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["TIME"]
}
fn g_config_get(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["CONFIG", g.opt("GET")];
    for _ in 0..g.rng.range(0, 3) {
        v.push(g.rng.pick(CONFIG_NAMES).into_arg());
    }
    v
}
fn g_config_get_pattern(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["CONFIG", g.opt("GET"), *g.rng.pick(CONFIG_PATTERNS)];
    if g.rng.chance(30) {
        v.push(g.rng.pick(CONFIG_NAMES).into_arg());
    }
    v
}
fn g_unknown(g: &mut Gen) -> Vec<Vec<u8>> {
    let name = *g
        .rng
        .pick(&["FOO", "GETT", "", "sett", "x y", "\x01", "config-get"]);
    let mut v = cmd![name];
    for _ in 0..g.rng.below(4) {
        v.push(g.val());
    }
    v
}

// ---------------------------------------------------------------------------------------------------------
// The table of generators.

/// How two replies are compared.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Check {
    /// Byte for byte.
    Exact,
    /// The top-level aggregate's elements as a sorted list (KEYS).
    Sorted,
    /// The top-level aggregate as a set of (name, value) pairs (CONFIG GET).
    Pairs,
    /// A full SCAN iteration on each side; the key sets must be equal.
    Scan,
    /// A key that exists on its own side, or nil on both.
    RandomKey,
    /// Two integers near now.
    Time,
    /// An integer (or the same non-integer reply).
    Int,
    /// TTL-like integers: -1/-2 equal, others within `tol`.
    Near(i64),
    /// HELLO: equal once the `id` value is masked.
    Hello,
}

impl Check {
    /// Needs more commands to check, so it cannot sit in the middle of a pipeline.
    fn needs_followup(self) -> bool {
        matches!(self, Check::Scan | Check::RandomKey)
    }
}

struct Spec {
    /// Lowercase name, `cmd|sub` for subcommands; what `ENABLED` and `DIFF_CMDS` list.
    name: &'static str,
    /// Relative frequency.
    weight: u32,
    gen: fn(&mut Gen) -> Vec<Vec<u8>>,
    check: Check,
}

const fn spec(
    name: &'static str,
    weight: u32,
    gen: fn(&mut Gen) -> Vec<Vec<u8>>,
    check: Check,
) -> Spec {
    Spec {
        name,
        weight,
        gen,
        check,
    }
}

use Check::*;

const SPECS: &[Spec] = &[
    // strings
    spec("get", 10, g_get, Exact),
    spec("set", 14, g_set, Exact),
    spec("setnx", 3, g_setnx, Exact),
    spec("setex", 3, g_setex, Exact),
    spec("psetex", 3, g_psetex, Exact),
    spec("getset", 3, g_getset, Exact),
    spec("getdel", 3, g_getdel, Exact),
    spec("getex", 4, g_getex, Exact),
    spec("mget", 4, g_mget, Exact),
    spec("mset", 4, g_mset, Exact),
    spec("msetnx", 3, g_msetnx, Exact),
    spec("append", 4, g_append, Exact),
    spec("strlen", 3, g_strlen, Exact),
    spec("getrange", 4, g_getrange, Exact),
    spec("substr", 2, g_substr, Exact),
    spec("setrange", 4, g_setrange, Exact),
    spec("incr", 4, g_incr, Exact),
    spec("decr", 3, g_decr, Exact),
    spec("incrby", 4, g_incrby, Exact),
    spec("decrby", 3, g_decrby, Exact),
    spec("incrbyfloat", 4, g_incrbyfloat, Exact),
    spec("lcs", 4, g_lcs, Exact),
    // keys
    spec("del", 5, g_del, Exact),
    spec("unlink", 3, g_unlink, Exact),
    spec("exists", 4, g_exists, Exact),
    spec("touch", 2, g_touch, Exact),
    spec("keys", 3, g_keys, Sorted),
    spec("scan", 3, g_scan, Scan),
    spec("randomkey", 2, g_randomkey, RandomKey),
    spec("type", 3, g_type, Exact),
    spec("rename", 3, g_rename, Exact),
    spec("renamenx", 3, g_renamenx, Exact),
    spec("move", 3, g_move, Exact),
    spec("copy", 3, g_copy, Exact),
    spec("dbsize", 2, g_dbsize, Exact),
    spec("flushdb", 1, g_flushdb, Exact),
    spec("swapdb", 2, g_swapdb, Exact),
    spec("object|encoding", 3, g_object_encoding, Exact),
    spec("object|refcount", 2, g_object_refcount, Exact),
    spec("object|freq", 1, g_object_freq, Exact),
    spec("object|idletime", 1, g_object_idletime, Int),
    spec("object|help", 1, g_object_help, Exact),
    // expiry
    spec("expire", 5, g_expire, Exact),
    spec("pexpire", 4, g_pexpire, Exact),
    spec("expireat", 4, g_expireat, Exact),
    spec("pexpireat", 4, g_pexpireat, Exact),
    spec("ttl", 4, g_ttl, Near(2)),
    spec("pttl", 4, g_pttl, Near(2000)),
    spec("expiretime", 3, g_expiretime, Near(2)),
    spec("pexpiretime", 3, g_pexpiretime, Near(2000)),
    spec("persist", 3, g_persist, Exact),
    // connection
    spec("ping", 2, g_ping, Exact),
    spec("echo", 2, g_echo, Exact),
    spec("select", 3, g_select, Exact),
    spec("hello", 2, g_hello, Hello),
    spec("auth", 1, g_auth, Exact),
    spec("client|id", 1, g_client_id, Int),
    spec("client|setname", 1, g_client_setname, Exact),
    spec("client|getname", 1, g_client_getname, Exact),
    // server
    spec("time", 1, g_time, Time),
    spec("config|get", 1, g_config_get, Pairs),
    spec("config|get-pattern", 1, g_config_get_pattern, Pairs),
    spec("unknown", 1, g_unknown, Exact),
];

// ---------------------------------------------------------------------------------------------------------
// Replies as trees, for the comparisons that are not byte for byte.

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Resp {
    /// `+ - : , _ # (` with the line's text.
    Line(u8, Vec<u8>),
    /// `$ = !` with the payload (None for `$-1`).
    Bulk(u8, Option<Vec<u8>>),
    /// `* ~ > % |` with the elements (None for `*-1`); maps hold 2n flat elements.
    Agg(u8, Option<Vec<Resp>>),
}

/// Parses the reply at the start of `b`: Ok(None) if it is incomplete, Err if it is not RESP.
fn parse_prefix(b: &[u8]) -> Result<Option<(Resp, usize)>, String> {
    fn at(b: &[u8], pos: usize) -> Result<Option<(Resp, usize)>, String> {
        let Some(&t) = b.get(pos) else {
            return Ok(None);
        };
        let Some(e) = b[pos..].windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let e = pos + e;
        let head = b[pos + 1..e].to_vec();
        let mut next = e + 2;
        let n = || -> Result<i64, String> {
            std::str::from_utf8(&head)
                .ok()
                .and_then(|h| h.parse().ok())
                .ok_or_else(|| format!("bad length line {:?}", esc(&b[pos..e])))
        };
        let r = match t {
            b'$' | b'=' | b'!' => {
                let n = n()?;
                if n < 0 {
                    return Ok(Some((Resp::Bulk(t, None), next)));
                }
                let end = next + n as usize;
                if b.len() < end + 2 {
                    return Ok(None);
                }
                if &b[end..end + 2] != b"\r\n" {
                    return Err("bulk not followed by CRLF".into());
                }
                let data = b[next..end].to_vec();
                next = end + 2;
                Resp::Bulk(t, Some(data))
            }
            b'*' | b'~' | b'>' | b'%' | b'|' => {
                let n = n()?;
                if n < 0 {
                    return Ok(Some((Resp::Agg(t, None), next)));
                }
                let n = if matches!(t, b'%' | b'|') { 2 * n } else { n };
                let mut v = Vec::new();
                for _ in 0..n {
                    let Some((r, p)) = at(b, next)? else {
                        return Ok(None);
                    };
                    v.push(r);
                    next = p;
                }
                Resp::Agg(t, Some(v))
            }
            b'+' | b'-' | b':' | b',' | b'_' | b'#' | b'(' => Resp::Line(t, head),
            _ => return Err(format!("bad reply type byte {:?}", t as char)),
        };
        Ok(Some((r, next)))
    }
    at(b, 0)
}

/// Parses one complete reply (as returned by `Wire::read_reply`).
fn parse_resp(b: &[u8]) -> Resp {
    match parse_prefix(b) {
        Ok(Some((r, _))) => r,
        other => panic!("not a complete reply ({other:?}): {}", esc(b)),
    }
}

/// A raw connection that reads whole replies as bytes, and says so when one does not come.
struct Wire {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Wire {
    /// Connects to a loopback port; reads and writes give up after 5 s, so a lost reply fails the test
    /// instead of hanging it.
    fn connect(port: u16) -> Wire {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream
            .set_write_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Wire {
            stream,
            buf: Vec::new(),
        }
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    fn read_reply(&mut self) -> Result<Vec<u8>, String> {
        loop {
            match parse_prefix(&self.buf) {
                Ok(Some((_, n))) => return Ok(self.buf.drain(..n).collect()),
                Ok(None) => {}
                Err(e) => return Err(format!("malformed reply ({e}): {}", esc(&self.buf))),
            }
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Err(format!("connection closed; partial: {}", esc(&self.buf))),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) => return Err(format!("no reply ({e}); partial: {}", esc(&self.buf))),
            }
        }
    }

    fn cmd(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.send(&common::encode(args));
        self.read_reply().unwrap_or_else(|e| panic!("{e}"))
    }
}

fn is_error(b: &[u8]) -> bool {
    b.first() == Some(&b'-')
}

fn as_int(r: &Resp) -> Option<i64> {
    match r {
        Resp::Line(b':', s) => std::str::from_utf8(s).ok()?.parse().ok(),
        Resp::Bulk(_, Some(s)) => std::str::from_utf8(s).ok()?.parse().ok(),
        _ => None,
    }
}

/// Shows bytes readably: printable ASCII as is, `\r\n` and others escaped.
fn esc(b: &[u8]) -> String {
    let mut s = String::new();
    for &c in b {
        match c {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\\' => s.push_str("\\\\"),
            b'"' => s.push_str("\\\""),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
    }
    s
}

fn esc_args(args: &[Vec<u8>]) -> String {
    args.iter()
        .map(|a| format!("\"{}\"", esc(a)))
        .collect::<Vec<_>>()
        .join(" ")
}

// ---------------------------------------------------------------------------------------------------------
// Encoding requests: multibulk, or inline (quoted the way sdssplitargs unquotes).

fn encode_inline(args: &[Vec<u8>], lf_only: bool) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for (i, a) in args.iter().enumerate() {
        // A NUL ends the line for Redis's C-string splitter, so such commands go as multibulk.
        if a.contains(&0) {
            return None;
        }
        if i > 0 {
            out.push(b' ');
        }
        let plain = !a.is_empty()
            && a.iter()
                .all(|&c| (0x21..=0x7e).contains(&c) && c != b'"' && c != b'\'');
        if plain {
            out.extend_from_slice(a);
            continue;
        }
        out.push(b'"');
        for &c in a {
            match c {
                b'"' => out.extend_from_slice(b"\\\""),
                b'\\' => out.extend_from_slice(b"\\\\"),
                0x20..=0x7e => out.push(c),
                _ => out.extend_from_slice(format!("\\x{c:02x}").as_bytes()),
            }
        }
        out.push(b'"');
    }
    // Past 64 KB an inline request is an error, or not, depending on how Redis's reads cut it.
    if out.len() > 60_000 {
        return None;
    }
    out.extend_from_slice(if lf_only { b"\n" } else { b"\r\n" });
    Some(out)
}

fn encode_multibulk(args: &[Vec<u8>]) -> Vec<u8> {
    let refs: Vec<&[u8]> = args.iter().map(|a| a.as_slice()).collect();
    common::encode(&refs)
}

// ---------------------------------------------------------------------------------------------------------
// The runner.

/// Which generators run: `ENABLED` plus `DIFF_CMDS`.
fn enabled_names() -> BTreeSet<String> {
    let mut set: BTreeSet<String> = ENABLED.iter().map(|s| s.to_string()).collect();
    if let Ok(extra) = std::env::var("DIFF_CMDS") {
        for n in extra.split(',').map(|s| s.trim().to_ascii_lowercase()) {
            if n == "all" {
                set.extend(SPECS.iter().map(|s| s.name.to_string()));
            } else if let Some(n) = n.strip_prefix('-') {
                set.remove(n);
            } else if !n.is_empty() {
                assert!(
                    SPECS.iter().any(|s| s.name == n),
                    "DIFF_CMDS names an unknown generator {n:?}"
                );
                set.insert(n);
            }
        }
    }
    set
}

fn is_enabled(name: &str) -> bool {
    enabled_names().contains(name)
}

struct Mismatch {
    name: &'static str,
    text: String,
}

struct Run {
    seed: u64,
    rounds: usize,
    fk: Wire,
    rd: Wire,
    fk_srv: TestServer,
    rd_srv: TestServer,
    /// Recent requests, for context in a failure.
    history: Vec<String>,
    keep_going: bool,
    mismatches: Vec<Mismatch>,
    index: usize,
    aborted: bool,
    /// Per generator: requests, error replies, null or empty replies (Redis's side), for `DIFF_STATS`.
    stats: BTreeMap<&'static str, [u64; 3]>,
}

impl Run {
    /// A fresh pair of servers and one connection to each; None if redis-server is not installed.
    fn new(seed: u64, rounds: usize, keep_going: bool) -> Option<Run> {
        let (fk_srv, rd_srv) = pair()?;
        Some(Run {
            seed,
            rounds,
            fk: Wire::connect(fk_srv.port),
            rd: Wire::connect(rd_srv.port),
            fk_srv,
            rd_srv,
            history: Vec::new(),
            keep_going,
            mismatches: Vec::new(),
            index: 0,
            aborted: false,
            stats: BTreeMap::new(),
        })
    }

    fn fail(&mut self, name: &'static str, args: &[Vec<u8>], what: &str, fk: &[u8], rd: &[u8]) {
        let shown = std::env::var("DIFF_HISTORY")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(8);
        let from = self.history.len().saturating_sub(shown);
        let text = format!(
            "differential mismatch: DIFF_SEED={:#x} DIFF_ROUNDS={} command #{} ({name}): {what}\n  \
             command : {}\n  ferrokv : {}\n  redis   : {}\n  recent commands:\n    {}",
            self.seed,
            self.rounds,
            self.index,
            esc_args(args),
            esc(fk),
            esc(rd),
            self.history[from..].join("\n    ")
        );
        if !self.keep_going {
            panic!("{text}");
        }
        self.mismatches.push(Mismatch { name, text });
        // The two keyspaces may now differ, so the rest of this seed would only echo this mismatch.
        self.aborted = true;
    }

    /// Reads one reply from each server; a missing reply ends the run (the streams are out of step).
    fn read_both(&mut self, name: &'static str, args: &[Vec<u8>]) -> (Vec<u8>, Vec<u8>) {
        let fk = self.fk.read_reply();
        let rd = self.rd.read_reply();
        match (fk, rd) {
            (Ok(f), Ok(r)) => (f, r),
            (f, r) => {
                // Say whether a server died, and how (a panic shows as exit status 101).
                let exited = |srv: &mut TestServer| match srv.child.try_wait() {
                    Ok(Some(st)) => format!(" [process exited: {st}]"),
                    _ => String::new(),
                };
                let (fx, rx) = (exited(&mut self.fk_srv), exited(&mut self.rd_srv));
                let show = |x: Result<Vec<u8>, String>| x.map_or_else(|e| e, |b| esc(&b));
                let (f, r) = (show(f) + &fx, show(r) + &rx);
                self.keep_going = false;
                self.fail(
                    name,
                    args,
                    "a server did not reply",
                    f.as_bytes(),
                    r.as_bytes(),
                );
                unreachable!()
            }
        }
    }

    /// Sends the same bytes to both servers.
    fn send(&mut self, bytes: &[u8]) {
        self.fk.send(bytes);
        self.rd.send(bytes);
    }

    fn compare(&mut self, spec: &Spec, args: &[Vec<u8>], fk: Vec<u8>, rd: Vec<u8>) {
        if fk == rd {
            if is_error(&fk) {
                return;
            }
            if spec.check == Check::Scan {
                self.scan_rest(spec, args, &fk, &rd);
            }
            if spec.check == Check::RandomKey {
                self.randomkey_exists(spec, args, &fk, &rd);
            }
            return;
        }
        // A differing error, or an error on one side only, is always a mismatch.
        if is_error(&fk) || is_error(&rd) {
            return self.fail(spec.name, args, "replies differ", &fk, &rd);
        }
        let (f, r) = (parse_resp(&fk), parse_resp(&rd));
        let ok = match spec.check {
            Check::Exact => false,
            Check::Sorted => sorted(&f) == sorted(&r),
            Check::Pairs => pairs(&f) == pairs(&r),
            Check::Int => as_int(&f).is_some() && as_int(&r).is_some(),
            Check::Near(tol) => match (as_int(&f), as_int(&r)) {
                (Some(a), Some(b)) => a >= 0 && b >= 0 && (a - b).abs() <= tol,
                _ => false,
            },
            Check::Time => {
                time_ok(&f)
                    && time_ok(&r)
                    && std::mem::discriminant(&f) == std::mem::discriminant(&r)
            }
            Check::Hello => mask_id(f) == mask_id(r),
            Check::RandomKey => {
                let ok = matches!(
                    (&f, &r),
                    (Resp::Bulk(b'$', Some(_)), Resp::Bulk(b'$', Some(_)))
                );
                if ok {
                    self.randomkey_exists(spec, args, &fk, &rd);
                }
                ok
            }
            Check::Scan => {
                let ok = scan_page(&f).is_some() && scan_page(&r).is_some();
                if ok {
                    self.scan_rest(spec, args, &fk, &rd);
                }
                ok
            }
        };
        if !ok {
            self.fail(spec.name, args, "replies differ", &fk, &rd);
        }
    }

    /// RANDOMKEY's key must exist on the side that returned it.
    fn randomkey_exists(&mut self, spec: &Spec, args: &[Vec<u8>], fk: &[u8], rd: &[u8]) {
        for (side, reply) in [("ferrokv", fk), ("redis", rd)] {
            let Resp::Bulk(_, Some(key)) = parse_resp(reply) else {
                continue;
            };
            let conn = if side == "ferrokv" {
                &mut self.fk
            } else {
                &mut self.rd
            };
            let exists = conn.cmd(&[b"EXISTS", &key]);
            if exists != b":1\r\n" {
                self.fail(
                    spec.name,
                    args,
                    &format!("{side}'s RANDOMKEY returned a key that does not exist"),
                    fk,
                    rd,
                );
            }
        }
    }

    /// Finishes the SCAN iteration on each side and compares the key sets.
    fn scan_rest(&mut self, spec: &Spec, args: &[Vec<u8>], fk: &[u8], rd: &[u8]) {
        let opts = &args[2..];
        let mut sets = Vec::new();
        for (side, first) in [(0, fk), (1, rd)] {
            let Some((mut cursor, mut keys)) = scan_page(&parse_resp(first)) else {
                return self.fail(spec.name, args, "not a SCAN page", fk, rd);
            };
            let mut pages = 0;
            while cursor != b"0" {
                pages += 1;
                if pages > 10_000 {
                    return self.fail(
                        spec.name,
                        args,
                        "SCAN did not finish in 10000 pages",
                        fk,
                        rd,
                    );
                }
                let mut req: Vec<&[u8]> = vec![b"SCAN", &cursor];
                req.extend(opts.iter().map(|a| a.as_slice()));
                let conn = if side == 0 {
                    &mut self.fk
                } else {
                    &mut self.rd
                };
                let reply = conn.cmd(&req);
                let Some((c, k)) = scan_page(&parse_resp(&reply)) else {
                    return self.fail(
                        spec.name,
                        args,
                        "SCAN continuation is not a page",
                        &reply,
                        b"",
                    );
                };
                cursor = c;
                keys.extend(k);
            }
            sets.push(keys);
        }
        if sets[0] != sets[1] {
            let show =
                |s: &BTreeSet<Vec<u8>>| s.iter().map(|k| esc(k)).collect::<Vec<_>>().join(", ");
            let (a, b) = (show(&sets[0]), show(&sets[1]));
            self.fail(
                spec.name,
                args,
                "full SCAN key sets differ",
                a.as_bytes(),
                b.as_bytes(),
            );
        }
    }

    fn pick<'s>(&mut self, g: &mut Gen, specs: &[&'s Spec], total: u32) -> &'s Spec {
        let mut x = g.rng.below(total as u64) as u32;
        for s in specs {
            if x < s.weight {
                return s;
            }
            x -= s.weight;
        }
        specs[specs.len() - 1]
    }

    fn go(&mut self, specs: &[&Spec]) {
        let mut g = Gen::new(self.seed);
        let total: u32 = specs.iter().map(|s| s.weight).sum();
        while self.index < self.rounds && !self.aborted {
            // Sometimes pipeline a few commands in one write.
            let batch = if g.rng.chance(15) {
                g.rng.range(2, 6) as usize
            } else {
                1
            };
            let mut reqs: Vec<(&Spec, Vec<Vec<u8>>)> = Vec::new();
            let mut bytes = Vec::new();
            for _ in 0..batch {
                let spec = self.pick(&mut g, specs, total);
                if batch > 1 && spec.check.needs_followup() {
                    continue;
                }
                let mut args = (spec.gen)(&mut g);
                // Now and then, the wrong number of arguments.
                if g.rng.chance(3) {
                    if g.rng.chance(50) && args.len() > 1 {
                        args.pop();
                    } else {
                        args.push(b"extra".to_vec());
                    }
                }
                let inline = if g.rng.chance(15) {
                    encode_inline(&args, g.rng.chance(30))
                } else {
                    None
                };
                let form = if inline.is_some() {
                    "inline"
                } else {
                    "multibulk"
                };
                bytes.extend(inline.unwrap_or_else(|| encode_multibulk(&args)));
                self.history.push(format!(
                    "#{} [{form}] {}",
                    self.index + reqs.len(),
                    esc_args(&args)
                ));
                reqs.push((spec, args));
            }
            if let Some(path) = std::env::var_os("DIFF_TRACE") {
                // Every request's exact bytes, so a run can be replayed by hand against one server.
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .expect("open DIFF_TRACE");
                f.write_all(&bytes).expect("write DIFF_TRACE");
            }
            if g.rng.chance(10) && bytes.len() > 1 {
                // The same bytes in several writes, so requests also arrive cut at arbitrary points.
                let mut cuts: Vec<usize> = (0..g.rng.range(1, 3))
                    .map(|_| g.rng.range(1, bytes.len() as i64 - 1) as usize)
                    .collect();
                cuts.sort();
                let mut from = 0;
                for c in cuts.into_iter().chain([bytes.len()]) {
                    self.send(&bytes[from..c]);
                    from = c;
                }
            } else {
                self.send(&bytes);
            }
            for (spec, args) in reqs {
                let (fk, rd) = self.read_both(spec.name, &args);
                let st = self.stats.entry(spec.name).or_default();
                st[0] += 1;
                st[1] += is_error(&rd) as u64;
                st[2] += matches!(
                    rd.as_slice(),
                    b"$-1\r\n" | b"*-1\r\n" | b"_\r\n" | b"*0\r\n"
                ) as u64;
                if !self.aborted {
                    self.compare(spec, &args, fk, rd);
                }
                self.index += 1;
            }
        }
    }
}

fn sorted(r: &Resp) -> Option<(u8, Vec<Resp>)> {
    match r {
        Resp::Agg(t, Some(v)) => {
            let mut v = v.clone();
            v.sort();
            Some((*t, v))
        }
        _ => None,
    }
}

fn pairs(r: &Resp) -> Option<(u8, BTreeMap<Resp, Resp>)> {
    match r {
        Resp::Agg(t, Some(v)) if v.len().is_multiple_of(2) => Some((
            *t,
            v.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect(),
        )),
        _ => None,
    }
}

fn time_ok(r: &Resp) -> bool {
    let Resp::Agg(b'*', Some(v)) = r else {
        return false;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    matches!(v.as_slice(), [s @ Resp::Bulk(b'$', _), us @ Resp::Bulk(b'$', _)]
        if as_int(s).is_some_and(|s| (s - now).abs() <= 5)
            && as_int(us).is_some_and(|u| (0..1_000_000).contains(&u)))
}

fn mask_id(r: Resp) -> Resp {
    match r {
        Resp::Agg(t, Some(mut v)) => {
            for i in (0..v.len().saturating_sub(1)).step_by(2) {
                if matches!(&v[i], Resp::Bulk(_, Some(k)) if k == b"id")
                    && as_int(&v[i + 1]).is_some()
                {
                    v[i + 1] = Resp::Line(b':', b"ID".to_vec());
                }
            }
            Resp::Agg(t, Some(v))
        }
        other => other,
    }
}

/// A SCAN reply: (cursor, keys).
fn scan_page(r: &Resp) -> Option<(Vec<u8>, BTreeSet<Vec<u8>>)> {
    let Resp::Agg(b'*', Some(v)) = r else {
        return None;
    };
    let [Resp::Bulk(b'$', Some(cursor)), Resp::Agg(b'*', Some(keys))] = v.as_slice() else {
        return None;
    };
    let mut set = BTreeSet::new();
    for k in keys {
        let Resp::Bulk(b'$', Some(k)) = k else {
            return None;
        };
        set.insert(k.clone());
    }
    Some((cursor.clone(), set))
}

fn seeds() -> Vec<u64> {
    match std::env::var("DIFF_SEED") {
        Ok(s) => {
            let num = |s: &str| -> u64 {
                let s = s.trim();
                let n = match s.strip_prefix("0x") {
                    Some(h) => u64::from_str_radix(h, 16),
                    None => s.parse(),
                };
                n.unwrap_or_else(|_| {
                    panic!("DIFF_SEED must be an integer or a range a..b, got {s:?}")
                })
            };
            match s.split_once("..") {
                Some((a, b)) => (num(a)..num(b)).collect(),
                None => vec![num(&s)],
            }
        }
        Err(_) => DEFAULT_SEEDS.to_vec(),
    }
}

fn rounds() -> usize {
    std::env::var("DIFF_ROUNDS")
        .ok()
        .map(|s| s.trim().parse().expect("DIFF_ROUNDS must be an integer"))
        .unwrap_or(DEFAULT_ROUNDS)
}

fn pair() -> Option<(TestServer, TestServer)> {
    let Some(redis) = common::start_redis() else {
        println!("SKIPPED: redis-server not installed");
        return None;
    };
    Some((TestServer::start(&[]), redis))
}

#[test]
fn random_streams_match_redis() {
    let enabled = enabled_names();
    let specs: Vec<&Spec> = SPECS.iter().filter(|s| enabled.contains(s.name)).collect();
    let off: Vec<&str> = SPECS
        .iter()
        .filter(|s| !enabled.contains(s.name))
        .map(|s| s.name)
        .collect();
    if !off.is_empty() {
        println!("generators not enabled: {}", off.join(" "));
    }
    let keep_going = std::env::var("DIFF_KEEP_GOING").is_ok_and(|v| v != "0" && !v.is_empty());
    let rounds = rounds();
    let started = Instant::now();
    let mut mismatches = Vec::new();
    let mut stats: BTreeMap<&str, [u64; 3]> = BTreeMap::new();
    for seed in seeds() {
        // A fresh pair of servers per seed, so a seed's run depends on nothing but the seed.
        let Some(mut run) = Run::new(seed, rounds, keep_going) else {
            return;
        };
        run.go(&specs);
        mismatches.append(&mut run.mismatches);
        for (name, st) in run.stats {
            let t = stats.entry(name).or_insert([0; 3]);
            (0..3).for_each(|i| t[i] += st[i]);
        }
    }
    println!(
        "differential: {} seeds x {rounds} commands in {:?}",
        seeds().len(),
        started.elapsed()
    );
    if std::env::var_os("DIFF_STATS").is_some() {
        println!(
            "{:<22} {:>8} {:>8} {:>8}",
            "generator", "sent", "errors", "nil/empty"
        );
        for (name, [n, e, z]) in &stats {
            println!("{name:<22} {n:>8} {e:>8} {z:>8}");
        }
    }
    if !mismatches.is_empty() {
        let mut per_cmd: BTreeMap<&str, usize> = BTreeMap::new();
        for m in &mismatches {
            let n = per_cmd.entry(m.name).or_default();
            *n += 1;
            if *n <= 3 {
                eprintln!("{}\n", m.text);
            }
        }
        panic!("{} mismatches, per command: {per_cmd:?}", mismatches.len());
    }
}

// ---------------------------------------------------------------------------------------------------------
// Deterministic cases on fresh connections.

/// Sends `bytes` on a fresh connection and collects everything the server sends back until it closes the
/// connection or stays silent for `idle`. Returns (bytes received, closed by the server).
fn observe(port: u16, bytes: &[u8], idle: Duration) -> (Vec<u8>, bool) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    s.set_read_timeout(Some(idle)).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    // The server may close while we are still writing a large request; that is an answer, not a failure.
    let _ = s.write_all(bytes);
    let mut got = Vec::new();
    let mut buf = [0u8; 65536];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return (got, false)
            }
            Err(_) => return (got, true),
        }
        if Instant::now() > deadline {
            return (got, false);
        }
    }
}

/// Runs every case against both servers in parallel threads and compares (reply bytes, closed).
fn compare_cases(cases: &[(&str, Vec<u8>)]) {
    let Some((fk, rd)) = pair() else {
        return;
    };
    // Cases that leave the connection open are judged after this much silence; generous for loaded CI.
    let idle = Duration::from_millis(2000);
    let results: Vec<_> = std::thread::scope(|sc| {
        let handles: Vec<_> = cases
            .iter()
            .map(|(_, bytes)| {
                let (pf, pr) = (fk.port, rd.port);
                sc.spawn(move || (observe(pf, bytes, idle), observe(pr, bytes, idle)))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut failures = Vec::new();
    for ((name, bytes), ((fb, fc), (rb, rc))) in cases.iter().zip(results) {
        if fb != rb || fc != rc {
            let shown = if bytes.len() > 200 {
                format!("{}... ({} bytes)", esc(&bytes[..200]), bytes.len())
            } else {
                esc(bytes)
            };
            failures.push(format!(
                "case {name}: request {shown}\n  ferrokv (closed={fc}): {}\n  redis   (closed={rc}): {}",
                esc(&fb),
                esc(&rb)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn tricky_requests_match_redis() {
    let mut cases: Vec<(&str, Vec<u8>)> = vec![
        ("bulk length -5", b"*1\r\n$-5\r\n".to_vec()),
        ("bulk length -1", b"*2\r\n$4\r\nECHO\r\n$-1\r\n".to_vec()),
        ("multibulk count abc", b"*abc\r\n".to_vec()),
        ("multibulk count empty", b"*\r\n".to_vec()),
        ("multibulk count trailing space", b"*1 \r\n".to_vec()),
        ("multibulk count over INT_MAX", b"*2147483648\r\n".to_vec()),
        ("multibulk count INT_MAX waits", b"*2147483647\r\n".to_vec()),
        ("multibulk count 0", b"*0\r\nPING\r\n".to_vec()),
        ("multibulk count -1", b"*-1\r\nPING\r\n".to_vec()),
        ("bulk length abc", b"*1\r\n$abc\r\n".to_vec()),
        ("bulk length empty", b"*1\r\n$\r\n".to_vec()),
        ("bulk length over 512MB", b"*1\r\n$536870913\r\n".to_vec()),
        ("expected $ got f", b"*1\r\nfoo\r\n".to_vec()),
        ("expected $ got :", b"*2\r\n$3\r\nGET\r\n:1\r\n".to_vec()),
        (
            "bulk not followed by CRLF",
            b"*1\r\n$4\r\nPINGxx*1\r\n$4\r\nPING\r\n".to_vec(),
        ),
        ("incomplete bulk waits", b"*1\r\n$4\r\nPI".to_vec()),
        ("incomplete count waits", b"*2\r\n$4\r\nECHO\r\n".to_vec()),
        ("unbalanced double quote", b"SET \"a b\r\n".to_vec()),
        ("unbalanced single quote", b"ECHO 'abc\r\n".to_vec()),
        ("quote followed by text", b"ECHO \"a\"b\r\n".to_vec()),
        ("inline LF only", b"PING\n".to_vec()),
        ("inline quoted name", b"\"PING\"\r\n".to_vec()),
        (
            "inline escapes",
            b"ECHO \"\\x41\\n\\t\\\\\\\"z\\q\"\r\n".to_vec(),
        ),
        (
            "inline single-quote escape",
            b"ECHO 'a\\'b' 'c\\d'\r\n".to_vec(),
        ),
        ("inline bad hex escape", b"ECHO \"\\xZZ\"\r\n".to_vec()),
        ("inline spaces and tabs", b"   ECHO \t  x   \r\n".to_vec()),
        ("inline empty lines", b"\r\n\r\n\n PING\r\n".to_vec()),
        ("inline empty quoted arg", b"ECHO \"\"\r\n".to_vec()),
        ("inline lowercase", b"ping\r\n".to_vec()),
        (
            "inline then multibulk",
            b"PING\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\n".to_vec(),
        ),
        (
            "reply then protocol error",
            b"*1\r\n$4\r\nPING\r\n*x\r\nPING\r\n".to_vec(),
        ),
        ("empty command name", b"*1\r\n$0\r\n\r\n".to_vec()),
        ("dollar as inline", b"$3\r\nfoo\r\n".to_vec()),
        ("unknown with args", b"NOPE a b c\r\n".to_vec()),
        (
            "unknown long args",
            format!("NOPE {}\r\n", "z".repeat(300)).into_bytes(),
        ),
        ("arity get", b"*1\r\n$3\r\nGET\r\n".to_vec()),
        ("inline CR inside", b"ECHO a\rb\r\n".to_vec()),
        ("inline NUL", b"ECHO a\x00b\r\n".to_vec()),
        ("multibulk count -5", b"*-5\r\nPING\r\n".to_vec()),
        ("multibulk count +1", b"*+1\r\n$4\r\nPING\r\n".to_vec()),
        ("multibulk count 01", b"*01\r\n$4\r\nPING\r\n".to_vec()),
        ("bulk length 04", b"*1\r\n$04\r\nPING\r\n".to_vec()),
        ("bulk length +4", b"*1\r\n$+4\r\nPING\r\n".to_vec()),
        ("multibulk with LF only waits", b"*1\n$4\nPING\n".to_vec()),
        (
            "blank line after multibulk",
            b"*1\r\n$4\r\nPING\r\n\r\nPING\r\n".to_vec(),
        ),
        ("inline only spaces", b"   \r\nPING\r\n".to_vec()),
        ("inline tab separated", b"ECHO\tx\r\n".to_vec()),
        (
            "inline escaped CRLF in quotes",
            b"ECHO \"a\\r\\nb\"\r\n".to_vec(),
        ),
        (
            "inline uppercase hex escape",
            b"ECHO \"\\x4A\\x4a\"\r\n".to_vec(),
        ),
        (
            "inline adjacent quoted args",
            b"ECHO \"a\"\"b\"\r\n".to_vec(),
        ),
        ("inline single quote then text", b"ECHO 'a'b\r\n".to_vec()),
        ("inline arity error", b"GET\r\n".to_vec()),
        (
            "inline pipelined three",
            b"PING\r\nECHO a\r\nPING b\r\n".to_vec(),
        ),
        ("empty bulk arg", b"*2\r\n$4\r\nECHO\r\n$0\r\n\r\n".to_vec()),
    ];
    // A bulk past 32 KB (Redis's big-argument path), then a normal request.
    let mut big_arg = b"*2\r\n$4\r\nECHO\r\n$40000\r\n".to_vec();
    big_arg.extend(std::iter::repeat_n(b'q', 40_000));
    big_arg.extend_from_slice(b"\r\n*1\r\n$4\r\nPING\r\n");
    cases.push(("big bulk then ping", big_arg));
    // A long inline argument just under the 64 KB limit.
    let mut long_inline = b"ECHO ".to_vec();
    long_inline.extend(std::iter::repeat_n(b'w', 60_000));
    long_inline.extend_from_slice(b"\r\n");
    cases.push(("long inline under the limit", long_inline));
    // Past 64 KB without a newline.
    let mut big_inline = b"ECHO ".to_vec();
    big_inline.extend(std::iter::repeat_n(b'a', 70_000));
    cases.push(("too big inline", big_inline));
    let mut big_count = b"*1".to_vec();
    big_count.extend(std::iter::repeat_n(b'1', 70_000));
    cases.push(("too big multibulk count", big_count));
    let mut big_bulk_count = b"*1\r\n$".to_vec();
    big_bulk_count.extend(std::iter::repeat_n(b'1', 70_000));
    cases.push(("too big bulk count", big_bulk_count));
    compare_cases(&cases);
}

#[test]
fn quit_matches_redis() {
    if !is_enabled("quit") {
        println!("SKIPPED: quit not enabled");
        return;
    }
    compare_cases(&[
        ("quit inline", b"QUIT\r\n".to_vec()),
        ("quit multibulk", b"*1\r\n$4\r\nQUIT\r\n".to_vec()),
        ("quit with an argument", b"QUIT now\r\n".to_vec()),
        ("pipeline past quit", b"PING\r\nQUIT\r\nPING\r\n".to_vec()),
        ("quit lowercase", b"*1\r\n$4\r\nquit\r\n".to_vec()),
    ]);
}

#[test]
fn reset_matches_redis() {
    if !is_enabled("reset") {
        println!("SKIPPED: reset not enabled");
        return;
    }
    let Some(mut run) = Run::new(0, 0, false) else {
        return;
    };
    let steps: &[(&[&str], Check)] = &[
        (&["SET", "k0", "db0"], Exact),
        (&["HELLO", "3"], Hello),
        (&["SELECT", "2"], Exact),
        (&["SET", "k0", "db2"], Exact),
        (&["CLIENT", "SETNAME", "before-reset"], Exact),
        (&["GET", "missing"], Exact),
        (&["RESET"], Exact),
        (&["GET", "missing"], Exact),
        (&["GET", "k0"], Exact),
        (&["CLIENT", "GETNAME"], Exact),
        (&["RESET", "extra"], Exact),
        (&["reset"], Exact),
        (&["PING"], Exact),
    ];
    for (i, (args, check)) in steps.iter().enumerate() {
        let args: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
        let spec = Spec {
            name: "reset",
            weight: 1,
            gen: g_dbsize,
            check: *check,
        };
        run.index = i;
        run.history.push(esc_args(&args));
        run.send(&encode_multibulk(&args));
        let (fk, rd) = run.read_both("reset", &args);
        run.compare(&spec, &args, fk, rd);
    }
}
