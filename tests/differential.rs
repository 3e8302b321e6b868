//! Differential test: the same seeded random command stream goes to ferrokv and to a real `redis-server`,
//! one connection per server kept in lockstep (same db, same protocol), and every reply must be the same
//! bytes. Replies that are unordered (KEYS, CONFIG GET, a full SCAN, SMEMBERS, HGETALL's pairs, full
//! SSCAN/HSCAN/ZSCAN iterations) are compared as sets, and replies that are random or depend on the clock
//! (RANDOMKEY, SPOP, SRANDMEMBER, HRANDFIELD, ZRANDMEMBER, TIME, TTL, CLIENT ID, HELLO's id) by property.
//! Every family shares one small key space, so WRONGTYPE paths run all the time; each collection family
//! favours a couple of keys (`Home`) so its values also grow past the encoding thresholds, which odd seeds
//! lower with CONFIG SET. MULTI/EXEC run inside the stream (EXEC's elements judged one by one), blocking
//! commands only when they cannot block (else inside MULTI), and a subscriber connection per server
//! checks what PUBLISH delivered. `HELLO 3` comes and goes mid-stream.
//! A table of hand-picked raw requests, malformed protocol included, is compared byte for byte on fresh
//! connections, together with whether each server closed the connection.
//!
//! Knobs (all optional):
//! - `DIFF_SEED=n`     run only this seed (decimal or 0x-hex) instead of the fixed list, or `a..b` for a range;
//! - `DIFF_ROUNDS=n`   commands per seed (default 8000; the default run takes ~6 s here in a debug build);
//! - `DIFF_CMDS=a,b`   also enable these generators (names as in `SPECS`, e.g. `lcs`, `object|help`),
//!   or `all` for every generator; `-name` takes one out again (`all,-time`);
//! - `DIFF_HISTORY=n`  show the last n requests in a failure (default 8);
//! - `DIFF_STATS=1`    print, per generator, how many requests were sent and how many got errors or nil;
//! - `DIFF_TRACE=file`  append every request's raw bytes to `file` (to replay a run by hand);
//! - `DIFF_DIRTY=0`   do not compare, after every batch outside MULTI, how much it moved each server's
//!   `rdb_changes_since_last_save` (Redis's dirty counter, which drives the save points);
//! - `DIFF_KEEP_GOING=1` on a mismatch, record it and go on with the next seed (whose servers are fresh)
//!   instead of stopping; with a range of seeds this lists the distinct discrepancies.
//!
//! To add a command: write a generator fn over `Gen::key()` or `Gen::key_in(home)` (so types collide and
//! WRONGTYPE paths run), add a row to `SPECS` with a `Check` (`Sorted` for sets of members, `Pairs` for
//! field/value maps, `Pick` for random picks, `Block` for blocking commands, ...), run it with
//! `DIFF_CMDS=name DIFF_SEED=1..300 DIFF_KEEP_GOING=1`, and add the name to `ENABLED` once it matches.
//! `watch_matches_redis` is a table of which writes invalidate a WATCH (it runs while `watch` is enabled).

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
    "object|refcount",
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
    "config|get-pattern",
    "unknown",
    "config|set-encoding",
    // hashes
    "hset",
    "hmset",
    "hsetnx",
    "hget",
    "hmget",
    "hgetall",
    "hdel",
    "hexists",
    "hlen",
    "hkeys",
    "hvals",
    "hstrlen",
    "hincrby",
    "hincrbyfloat",
    "hrandfield",
    "hscan",
    // sets
    "sadd",
    "srem",
    "smembers",
    "sismember",
    "smismember",
    "scard",
    "spop",
    "srandmember",
    "smove",
    "sinter",
    "sintercard",
    "sunion",
    "sdiff",
    "sinterstore",
    "sunionstore",
    "sdiffstore",
    "sscan",
    // bit operations
    "setbit",
    "getbit",
    "bitcount",
    "bitpos",
    "bitop",
    "bitfield",
    "bitfield_ro",
    // lists
    "lpush",
    "rpush",
    "lpushx",
    "rpushx",
    "lpop",
    "rpop",
    "llen",
    "lrange",
    "lindex",
    "lset",
    "linsert",
    "lrem",
    "ltrim",
    "lpos",
    "lmove",
    "rpoplpush",
    "lmpop",
    "blpop",
    "brpop",
    "blmove",
    "brpoplpush",
    "blmpop",
    // sorted sets
    "zadd",
    "zincrby",
    "zrem",
    "zcard",
    "zscore",
    "zmscore",
    "zcount",
    "zlexcount",
    "zrange",
    "zrangestore",
    "zrangebyscore",
    "zrevrangebyscore",
    "zrangebylex",
    "zrevrangebylex",
    "zrevrange",
    "zrank",
    "zrevrank",
    "zremrangebyrank",
    "zremrangebyscore",
    "zremrangebylex",
    "zpopmin",
    "zpopmax",
    "bzpopmin",
    "bzpopmax",
    "zmpop",
    "bzmpop",
    "zunion",
    "zinter",
    "zdiff",
    "zunionstore",
    "zinterstore",
    "zdiffstore",
    "zintercard",
    "zrandmember",
    "zscan",
    // transactions
    "multi",
    "exec",
    "exec|arity",
    "discard",
    "watch",
    "unwatch",
    // pub/sub
    "publish",
    "spublish",
    "pubsub|channels",
    "pubsub|shardchannels",
    "pubsub|numsub",
    "pubsub|shardnumsub",
    "pubsub|numpat",
];

const DEFAULT_SEEDS: &[u64] = &[1, 2, 3, 4, 5, 6, 7, 8, 0xC0FFEE, 0x5EED_F00D];
const DEFAULT_ROUNDS: usize = 8000;

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

// Arguments of the collection commands. Members come mostly from small pools, so commands keep meeting
// the same members and keys keep growing; now and then a run long enough to cross the default listpack
// (128 entries) and intset (512) limits.
/// Keys a family's commands favour, so its values grow instead of meeting WRONGTYPE most of the time;
/// the rest of the time they take any key (and meet the other types).
type Home = &'static [&'static [u8]];
const HASH: Home = &[b"k6", b"a b"];
const SET: Home = &[b"k7", b"123"];
const LIST: Home = &[b"k8", "ключ".as_bytes()];
const ZSET: Home = &[b"k9", b"[k]"];
/// ZUNION and friends take plain sets as well.
const ZSET_OR_SET: Home = &[b"k9", b"[k]", b"k7"];
const ANY_HOME: Home = &[
    b"k6",
    b"a b",
    b"k7",
    b"123",
    b"k8",
    "ключ".as_bytes(),
    b"k9",
    b"[k]",
];

impl Gen {
    fn key_in(&mut self, home: Home) -> Vec<u8> {
        if !home.is_empty() && self.rng.chance(75) {
            self.rng.pick(home).to_vec()
        } else {
            self.key()
        }
    }

    /// Half the time a key where the collection families live: for TYPE, OBJECT ENCODING, COPY, RENAME,
    /// MOVE.
    fn mixed_key(&mut self) -> Vec<u8> {
        if self.rng.chance(50) {
            self.rng.pick(ANY_HOME).to_vec()
        } else {
            self.key()
        }
    }

    fn pick_s(&mut self, xs: &[&str]) -> Vec<u8> {
        self.rng.pick(xs).as_bytes().to_vec()
    }

    /// A set member, hash field, list element or sorted-set member: letters, small integers (intset),
    /// integers at the intset's 16/32/64-bit widths, integer-looking strings an intset must refuse,
    /// strings around the 64-byte listpack value limit, long strings, the empty string, binary.
    fn member(&mut self) -> Vec<u8> {
        match self.rng.below(24) {
            0..=8 => vec![*self.rng.pick(b"abcdefgh".as_slice())],
            9..=12 => self.rng.range(-3, 12).to_string().into_bytes(),
            13 => self.pick_s(&[
                "9223372036854775807",
                "-9223372036854775808",
                "32767",
                "32768",
                "-32769",
                "2147483648",
                "-2147483649",
            ]),
            14 => self.pick_s(&[
                "01",
                "+1",
                "-0",
                " 1",
                "1.0",
                "1e3",
                "0x10",
                "9223372036854775808",
            ]),
            15 => vec![b'm'; self.rng.range(62, 66) as usize],
            16 => vec![b'z'; self.rng.range(100, 200) as usize],
            17 => (0..self.rng.range(1, 4))
                .map(|_| self.rng.next() as u8)
                .collect(),
            18 | 19 => (0..self.rng.range(2, 3))
                .map(|_| *self.rng.pick(b"abc".as_slice()))
                .collect(),
            20 => Vec::new(),
            _ => self.pick_s(&["1.5", "-2.25", "inf", "nan", "a b", "*", "k?", "ключ"]),
        }
    }

    /// A small integer member (sets that stay intsets).
    fn int_member(&mut self) -> Vec<u8> {
        if self.rng.chance(90) {
            self.rng.range(-5, 20).to_string().into_bytes()
        } else {
            self.pick_s(&["65536", "-2147483649", "9223372036854775807", "-40000"])
        }
    }

    /// `min..=max` members, or now and then a long run of distinct ones.
    fn members(&mut self, min: usize, max: usize) -> Vec<Vec<u8>> {
        match self.rng.below(200) {
            0 => {
                let start = self.rng.range(-20, 20);
                let n = self.rng.range(505, 530);
                (start..start + n)
                    .map(|i| i.to_string().into_bytes())
                    .collect()
            }
            1..=3 => {
                let start = self.rng.below(40);
                let n = self.rng.range(120, 140) as u64;
                (start..start + n)
                    .map(|i| format!("e{i}").into_bytes())
                    .collect()
            }
            _ => (0..self.rng.range(min as i64, max as i64))
                .map(|_| self.member())
                .collect(),
        }
    }

    /// Set members: a third of the time integers only, so intsets form and grow.
    fn set_members(&mut self, min: usize, max: usize) -> Vec<Vec<u8>> {
        if self.rng.chance(35) {
            (0..self.rng.range(min as i64, max as i64))
                .map(|_| self.int_member())
                .collect()
        } else {
            self.members(min, max)
        }
    }

    /// A hash value: mostly short, sometimes around or past the 64-byte listpack value limit.
    fn hval(&mut self) -> Vec<u8> {
        match self.rng.below(20) {
            0..=9 => self.member(),
            10..=13 => self.rng.range(-20, 20).to_string().into_bytes(),
            14 => vec![b'v'; self.rng.range(60, 70) as usize],
            15 => self.float(),
            _ => self.val(),
        }
    }

    /// A count for pops and random picks: small, or zero, negative, out of range, not a number. Never a
    /// large negative count (SRANDMEMBER key -1e18 would build a reply of 1e18 members).
    fn count(&mut self) -> Vec<u8> {
        match self.rng.below(12) {
            0 => self.pick_s(&["0", "-1", "x", "", "1.5", "9223372036854775807"]),
            1 => self.pick_s(&["-9223372036854775808", "-5", "-2", "100"]),
            _ => self.rng.range(1, 6).to_string().into_bytes(),
        }
    }

    /// A timeout for the blocking commands (they are only sent when they cannot block).
    fn timeout(&mut self) -> Vec<u8> {
        self.pick_s(&["0", "0", "0.01", "1", "0.5", "-1", "abc", "", "1e400"])
    }

    /// `numkeys key...`: the right count mostly, sometimes zero, negative, too many or not a number.
    fn numkeys(&mut self, v: &mut Vec<Vec<u8>>, min: usize, max: usize, home: Home) {
        let keys: Vec<Vec<u8>> = (0..self.rng.range(min as i64, max as i64))
            .map(|_| self.key_in(home))
            .collect();
        let n = match self.rng.below(20) {
            0 => self.pick_s(&["0", "-1", "x", "99"]),
            1 => (keys.len() + 1).to_string().into_bytes(),
            2 => keys.len().saturating_sub(1).to_string().into_bytes(),
            _ => keys.len().to_string().into_bytes(),
        };
        v.push(n);
        v.extend(keys);
    }

    fn score(&mut self) -> Vec<u8> {
        match self.rng.below(12) {
            0..=5 => self.rng.range(-5, 5).to_string().into_bytes(),
            6 | 7 => self.pick_s(&["1.5", "-2.25", "0.1", "3.0e-5", "1e308", "-1e308", "0.3"]),
            8 => self.pick_s(&[
                "inf", "-inf", "+inf", "nan", "abc", "", " 1", "0x10", "1e", "-0", "(1", "1 ",
            ]),
            _ => self.float(),
        }
    }

    /// A score range bound: inclusive, `(` exclusive, infinities, and malformed ones.
    fn score_bound(&mut self) -> Vec<u8> {
        match self.rng.below(12) {
            0..=3 => self.rng.range(-5, 5).to_string().into_bytes(),
            4 | 5 => format!("({}", self.rng.range(-5, 5)).into_bytes(),
            6 | 7 => self.pick_s(&["-inf", "+inf", "inf", "(-inf", "(+inf", "-inf", "+inf"]),
            8 => self.pick_s(&["1.5", "(1.5", "0.1", "(0.3", "1e308", "(-2.25"]),
            9 => self.pick_s(&["abc", "((1", "(", "", "(abc", "1 ", "nan", "(nan", "[1"]),
            _ => self.score(),
        }
    }

    /// A lex range bound: `-`, `+`, `[x`, `(x`, and malformed ones.
    fn lex_bound(&mut self) -> Vec<u8> {
        match self.rng.below(12) {
            0 => b"-".to_vec(),
            1 => b"+".to_vec(),
            2..=5 => {
                let mut m = b"[".to_vec();
                m.extend(self.member());
                m
            }
            6..=8 => {
                let mut m = b"(".to_vec();
                m.extend(self.member());
                m
            }
            9 => self.pick_s(&["[", "(", "[\u{ff}", "(\u{0}"]),
            _ => self.pick_s(&["a", "", "+a", "-a", "]a", "*"]),
        }
    }

    /// A bit offset: small, or out of range / not a number. Never a valid large one (SETBIT at 2^32-1
    /// would allocate 512 MB).
    fn bit_offset(&mut self) -> Vec<u8> {
        match self.rng.below(12) {
            0 => self.pick_s(&["-1", "4294967296", "x", "", "1.5", "9223372036854775807"]),
            1 => self.rng.range(0, 3000).to_string().into_bytes(),
            _ => self.rng.range(0, 200).to_string().into_bytes(),
        }
    }

    fn direction(&mut self) -> Vec<u8> {
        if self.rng.chance(95) {
            let d = *self.rng.pick(&["LEFT", "RIGHT"]);
            self.opt(d)
        } else {
            self.bad_opt()
        }
    }

    fn channel(&mut self) -> Vec<u8> {
        self.pick_s(&[
            "ch:1", "ch:2", "ch:3", "hello", "hallo", "sh:1", "nobody", "", "CH:1",
        ])
    }

    fn chan_pattern(&mut self) -> Vec<u8> {
        self.pick_s(&["*", "ch:*", "h*", "nomatch", "ch:[12]", "", "?", "sh:*"])
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
                        .pick(&[
                            "string", "STRING", "list", "hash", "set", "zset", "ZSET", "none",
                            "foo",
                        ])
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
    cmd!["TYPE", g.mixed_key()]
}
fn g_rename(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["RENAME", g.mixed_key(), g.mixed_key()]
}
fn g_renamenx(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["RENAMENX", g.mixed_key(), g.mixed_key()]
}
fn g_move(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["MOVE", g.mixed_key(), g.db()]
}
fn g_copy(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["COPY", g.mixed_key(), g.mixed_key()];
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
    cmd!["OBJECT", g.opt("ENCODING"), g.mixed_key()]
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

// --- hashes
fn field_values(g: &mut Gen, v: &mut Vec<Vec<u8>>) {
    for f in g.members(1, 3) {
        v.push(f);
        v.push(g.hval());
    }
    if g.rng.chance(5) {
        v.pop();
    }
}
fn g_hset(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd![g.opt("HSET"), g.key_in(HASH)];
    field_values(g, &mut v);
    v
}
fn g_hmset(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["HMSET", g.key_in(HASH)];
    field_values(g, &mut v);
    v
}
fn g_hsetnx(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["HSETNX", g.key_in(HASH), g.member(), g.hval()]
}
fn g_hget(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["HGET", g.key_in(HASH), g.member()]
}
fn g_hmget(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["HMGET", g.key_in(HASH)];
    for _ in 0..g.rng.range(1, 4) {
        v.push(g.member());
    }
    v
}
fn g_hgetall(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["HGETALL", g.key_in(HASH)]
}
fn g_hdel(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["HDEL", g.key_in(HASH)];
    for _ in 0..g.rng.range(1, 3) {
        v.push(g.member());
    }
    v
}
fn g_hexists(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["HEXISTS", g.key_in(HASH), g.member()]
}
fn g_hlen(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["HLEN", g.key_in(HASH)]
}
fn g_hkeys(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["HKEYS", g.key_in(HASH)]
}
fn g_hvals(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["HVALS", g.key_in(HASH)]
}
fn g_hstrlen(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["HSTRLEN", g.key_in(HASH), g.member()]
}
fn g_hincrby(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["HINCRBY", g.key_in(HASH), g.member(), g.int()]
}
fn g_hincrbyfloat(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["HINCRBYFLOAT", g.key_in(HASH), g.member(), g.float()]
}
fn g_hrandfield(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["HRANDFIELD", g.key_in(HASH)];
    if g.rng.chance(70) {
        v.push(g.count());
        if g.rng.chance(50) {
            v.push(if g.rng.chance(95) {
                g.opt("WITHVALUES")
            } else {
                g.bad_opt()
            });
        }
    }
    v
}
/// `cursor [MATCH pattern] [COUNT n]` for SSCAN / HSCAN / ZSCAN.
fn scan_opts(g: &mut Gen, v: &mut Vec<Vec<u8>>) {
    v.push(if g.rng.chance(95) {
        b"0".to_vec()
    } else {
        // Only invalid ones: a valid cursor other than 0 names a hash table position, which differs.
        g.pick_s(&["abc", " 1", "1.5", "99999999999999999999999"])
    });
    for _ in 0..g.rng.below(3) {
        match g.rng.below(5) {
            0 | 1 => {
                v.push(g.opt("MATCH"));
                let p = g.pick_s(&["*", "a*", "?", "[a-c]", "*1*", "e1*", "m*", "", "\\*"]);
                v.push(p);
            }
            2 | 3 => {
                v.push(g.opt("COUNT"));
                let n = if g.rng.chance(85) {
                    g.rng.range(1, 40).to_string().into_bytes()
                } else {
                    g.pick_s(&["0", "-1", "x"])
                };
                v.push(n);
            }
            _ => v.push(g.bad_opt()),
        }
    }
}
fn g_hscan(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["HSCAN", g.key_in(HASH)];
    scan_opts(g, &mut v);
    v
}

// --- sets
fn g_sadd(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd![g.opt("SADD"), g.key_in(SET)];
    v.extend(g.set_members(1, 4));
    v
}
fn g_srem(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["SREM", g.key_in(SET)];
    v.extend(g.set_members(1, 3));
    v
}
fn g_smembers(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["SMEMBERS", g.key_in(SET)]
}
fn g_sismember(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["SISMEMBER", g.key_in(SET), g.member()]
}
fn g_smismember(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["SMISMEMBER", g.key_in(SET)];
    v.extend(g.set_members(1, 4));
    v
}
fn g_scard(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["SCARD", g.key_in(SET)]
}
fn g_spop(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["SPOP", g.key_in(SET)];
    if g.rng.chance(60) {
        v.push(g.count());
    }
    v
}
fn g_srandmember(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["SRANDMEMBER", g.key_in(SET)];
    if g.rng.chance(70) {
        v.push(g.count());
    }
    v
}
fn g_smove(g: &mut Gen) -> Vec<Vec<u8>> {
    let m = if g.rng.chance(50) {
        g.int_member()
    } else {
        g.member()
    };
    cmd!["SMOVE", g.key_in(SET), g.key_in(SET), m]
}
fn keys_cmd(g: &mut Gen, name: &str, min: usize, max: usize, home: Home) -> Vec<Vec<u8>> {
    let mut v = cmd![name];
    for _ in 0..g.rng.range(min as i64, max as i64) {
        v.push(g.key_in(home));
    }
    v
}
fn g_sinter(g: &mut Gen) -> Vec<Vec<u8>> {
    keys_cmd(g, "SINTER", 1, 3, SET)
}
fn g_sunion(g: &mut Gen) -> Vec<Vec<u8>> {
    keys_cmd(g, "SUNION", 1, 3, SET)
}
fn g_sdiff(g: &mut Gen) -> Vec<Vec<u8>> {
    keys_cmd(g, "SDIFF", 1, 3, SET)
}
fn g_sinterstore(g: &mut Gen) -> Vec<Vec<u8>> {
    keys_cmd(g, "SINTERSTORE", 2, 4, SET)
}
fn g_sunionstore(g: &mut Gen) -> Vec<Vec<u8>> {
    keys_cmd(g, "SUNIONSTORE", 2, 4, SET)
}
fn g_sdiffstore(g: &mut Gen) -> Vec<Vec<u8>> {
    keys_cmd(g, "SDIFFSTORE", 2, 4, SET)
}
fn limit_opt(g: &mut Gen, v: &mut Vec<Vec<u8>>) {
    if g.rng.chance(40) {
        v.push(g.opt("LIMIT"));
        let n = if g.rng.chance(80) {
            g.rng.range(0, 5).to_string().into_bytes()
        } else {
            g.pick_s(&["-1", "x", "9223372036854775807"])
        };
        v.push(n);
    } else if g.rng.chance(5) {
        v.push(g.bad_opt());
    }
}
fn g_sintercard(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["SINTERCARD"];
    g.numkeys(&mut v, 1, 3, SET);
    limit_opt(g, &mut v);
    v
}
fn g_sscan(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["SSCAN", g.key_in(SET)];
    scan_opts(g, &mut v);
    v
}

// --- bit operations
fn g_setbit(g: &mut Gen) -> Vec<Vec<u8>> {
    let b = g.pick_s(&["0", "1", "1", "0", "1", "2", "-1", "x"]);
    cmd!["SETBIT", g.key(), g.bit_offset(), b]
}
fn g_getbit(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["GETBIT", g.key(), g.bit_offset()]
}
fn range_unit(g: &mut Gen, v: &mut Vec<Vec<u8>>) {
    if g.rng.chance(40) {
        let u = if g.rng.chance(90) {
            let u = *g.rng.pick(&["BYTE", "BIT"]);
            g.opt(u)
        } else {
            g.bad_opt()
        };
        v.push(u);
    }
}
fn g_bitcount(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["BITCOUNT", g.key()];
    if g.rng.chance(60) {
        v.push(g.offset());
        v.push(g.offset());
        range_unit(g, &mut v);
    }
    v
}
fn g_bitpos(g: &mut Gen) -> Vec<Vec<u8>> {
    let b = g.pick_s(&["0", "1", "0", "1", "2", "x"]);
    let mut v = cmd!["BITPOS", g.key(), b];
    if g.rng.chance(60) {
        v.push(g.offset());
        if g.rng.chance(60) {
            v.push(g.offset());
            range_unit(g, &mut v);
        }
    }
    v
}
fn g_bitop(g: &mut Gen) -> Vec<Vec<u8>> {
    let op = match g.rng.below(9) {
        0 | 1 => g.opt("AND"),
        2 | 3 => g.opt("OR"),
        4 | 5 => g.opt("XOR"),
        6 | 7 => g.opt("NOT"),
        _ => g.bad_opt(),
    };
    let mut v = cmd!["BITOP", op, g.key()];
    v.extend(g.keys(1, 3));
    v
}
fn bitfield_type(g: &mut Gen) -> Vec<u8> {
    g.pick_s(&[
        "i1", "i5", "i8", "i16", "i32", "i63", "i64", "u1", "u7", "u8", "u16", "u32", "u63", "u64",
        "i65", "x8", "I8", "U3", "", "i0",
    ])
}
fn bitfield_offset(g: &mut Gen) -> Vec<u8> {
    match g.rng.below(8) {
        0 => format!("#{}", g.rng.range(0, 20)).into_bytes(),
        1 => g.pick_s(&["#x", "#-1", "-1", "4294967296", "x", "#"]),
        _ => g.rng.range(0, 300).to_string().into_bytes(),
    }
}
fn bitfield_ops(g: &mut Gen, v: &mut Vec<Vec<u8>>, read_only: bool) {
    for _ in 0..g.rng.range(1, 4) {
        let op = if read_only && g.rng.chance(90) {
            0
        } else {
            g.rng.below(6)
        };
        match op {
            0 | 1 => {
                v.push(g.opt("GET"));
                v.push(bitfield_type(g));
                v.push(bitfield_offset(g));
            }
            2 => {
                v.push(g.opt("SET"));
                v.push(bitfield_type(g));
                v.push(bitfield_offset(g));
                v.push(g.int());
            }
            3 => {
                v.push(g.opt("INCRBY"));
                v.push(bitfield_type(g));
                v.push(bitfield_offset(g));
                v.push(g.int());
            }
            4 => {
                v.push(g.opt("OVERFLOW"));
                let o = g.pick_s(&["WRAP", "SAT", "FAIL", "sat", "bad"]);
                v.push(o);
            }
            _ => v.push(g.bad_opt()),
        }
    }
}
fn g_bitfield(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["BITFIELD", g.key()];
    bitfield_ops(g, &mut v, false);
    v
}
fn g_bitfield_ro(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["BITFIELD_RO", g.key()];
    bitfield_ops(g, &mut v, true);
    v
}

// --- lists
fn push_cmd(g: &mut Gen, name: &str) -> Vec<Vec<u8>> {
    let mut v = cmd![g.opt(name), g.key_in(LIST)];
    v.extend(g.members(1, 4));
    v
}
fn g_lpush(g: &mut Gen) -> Vec<Vec<u8>> {
    push_cmd(g, "LPUSH")
}
fn g_rpush(g: &mut Gen) -> Vec<Vec<u8>> {
    push_cmd(g, "RPUSH")
}
fn g_lpushx(g: &mut Gen) -> Vec<Vec<u8>> {
    push_cmd(g, "LPUSHX")
}
fn g_rpushx(g: &mut Gen) -> Vec<Vec<u8>> {
    push_cmd(g, "RPUSHX")
}
fn pop_cmd(g: &mut Gen, name: &str) -> Vec<Vec<u8>> {
    let mut v = cmd![name, g.key_in(LIST)];
    if g.rng.chance(40) {
        v.push(g.count());
    }
    v
}
fn g_lpop(g: &mut Gen) -> Vec<Vec<u8>> {
    pop_cmd(g, "LPOP")
}
fn g_rpop(g: &mut Gen) -> Vec<Vec<u8>> {
    pop_cmd(g, "RPOP")
}
fn g_llen(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["LLEN", g.key_in(LIST)]
}
fn g_lrange(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["LRANGE", g.key_in(LIST), g.offset(), g.offset()]
}
fn g_lindex(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["LINDEX", g.key_in(LIST), g.offset()]
}
fn g_lset(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["LSET", g.key_in(LIST), g.offset(), g.member()]
}
fn g_linsert(g: &mut Gen) -> Vec<Vec<u8>> {
    let w = match g.rng.below(10) {
        0..=4 => g.opt("BEFORE"),
        5..=8 => g.opt("AFTER"),
        _ => g.bad_opt(),
    };
    cmd!["LINSERT", g.key_in(LIST), w, g.member(), g.member()]
}
fn g_lrem(g: &mut Gen) -> Vec<Vec<u8>> {
    let n = if g.rng.chance(90) {
        g.rng.range(-3, 3).to_string().into_bytes()
    } else {
        g.int()
    };
    cmd!["LREM", g.key_in(LIST), n, g.member()]
}
fn g_ltrim(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["LTRIM", g.key_in(LIST), g.offset(), g.offset()]
}
fn g_lpos(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["LPOS", g.key_in(LIST), g.member()];
    for _ in 0..g.rng.below(4) {
        match g.rng.below(7) {
            0 | 1 => {
                v.push(g.opt("RANK"));
                let r = if g.rng.chance(85) {
                    g.rng.range(-3, 3).to_string().into_bytes()
                } else {
                    g.pick_s(&["-9223372036854775808", "9223372036854775807", "x"])
                };
                v.push(r);
            }
            2 | 3 => {
                v.push(g.opt("COUNT"));
                let c = if g.rng.chance(85) {
                    g.rng.range(0, 4).to_string().into_bytes()
                } else {
                    g.pick_s(&["-1", "x"])
                };
                v.push(c);
            }
            4 | 5 => {
                v.push(g.opt("MAXLEN"));
                let c = if g.rng.chance(85) {
                    g.rng.range(0, 6).to_string().into_bytes()
                } else {
                    g.pick_s(&["-1", "x"])
                };
                v.push(c);
            }
            _ => v.push(g.bad_opt()),
        }
    }
    v
}
fn g_lmove(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd![
        "LMOVE",
        g.key_in(LIST),
        g.key_in(LIST),
        g.direction(),
        g.direction()
    ]
}
fn g_rpoplpush(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["RPOPLPUSH", g.key_in(LIST), g.key_in(LIST)]
}
fn mpop_tail(g: &mut Gen, v: &mut Vec<Vec<u8>>, ends: [&str; 2]) {
    let e = if g.rng.chance(95) {
        let e = *g.rng.pick(&ends);
        g.opt(e)
    } else {
        g.bad_opt()
    };
    v.push(e);
    if g.rng.chance(50) {
        v.push(g.opt("COUNT"));
        v.push(g.count());
    }
}
fn g_lmpop(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["LMPOP"];
    g.numkeys(&mut v, 1, 3, LIST);
    mpop_tail(g, &mut v, ["LEFT", "RIGHT"]);
    v
}
fn g_blpop(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = keys_cmd(g, "BLPOP", 1, 3, LIST);
    v.push(g.timeout());
    v
}
fn g_brpop(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = keys_cmd(g, "BRPOP", 1, 3, LIST);
    v.push(g.timeout());
    v
}
fn g_blmove(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd![
        "BLMOVE",
        g.key_in(LIST),
        g.key_in(LIST),
        g.direction(),
        g.direction(),
        g.timeout()
    ]
}
fn g_brpoplpush(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["BRPOPLPUSH", g.key_in(LIST), g.key_in(LIST), g.timeout()]
}
fn g_blmpop(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["BLMPOP", g.timeout()];
    g.numkeys(&mut v, 1, 3, LIST);
    mpop_tail(g, &mut v, ["LEFT", "RIGHT"]);
    v
}

// --- sorted sets
fn g_zadd(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd![g.opt("ZADD"), g.key_in(ZSET)];
    for _ in 0..g.rng.below(3) {
        let f = *g
            .rng
            .pick(&["NX", "XX", "GT", "LT", "CH", "CH", "INCR", "INCR"]);
        v.push(g.opt(f));
    }
    let ms = g.members(1, 3);
    let one = ms.len() == 1 || g.rng.chance(30);
    for m in ms.into_iter().take(if one { 1 } else { usize::MAX }) {
        v.push(g.score());
        v.push(m);
    }
    if g.rng.chance(4) {
        v.pop();
    }
    v
}
fn g_zincrby(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["ZINCRBY", g.key_in(ZSET), g.score(), g.member()]
}
fn g_zrem(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["ZREM", g.key_in(ZSET)];
    for _ in 0..g.rng.range(1, 3) {
        v.push(g.member());
    }
    v
}
fn g_zcard(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["ZCARD", g.key_in(ZSET)]
}
fn g_zscore(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["ZSCORE", g.key_in(ZSET), g.member()]
}
fn g_zmscore(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["ZMSCORE", g.key_in(ZSET)];
    for _ in 0..g.rng.range(1, 4) {
        v.push(g.member());
    }
    v
}
fn g_zcount(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["ZCOUNT", g.key_in(ZSET), g.score_bound(), g.score_bound()]
}
fn g_zlexcount(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["ZLEXCOUNT", g.key_in(ZSET), g.lex_bound(), g.lex_bound()]
}
fn limit(g: &mut Gen, v: &mut Vec<Vec<u8>>) {
    v.push(g.opt("LIMIT"));
    let off = if g.rng.chance(85) {
        g.rng.range(0, 4).to_string().into_bytes()
    } else {
        g.pick_s(&["-1", "x"])
    };
    let n = if g.rng.chance(85) {
        g.rng.range(-1, 5).to_string().into_bytes()
    } else {
        g.pick_s(&["x", "9223372036854775807", "-5"])
    };
    v.push(off);
    v.push(n);
}
/// ZRANGE / ZRANGESTORE: by index, BYSCORE or BYLEX, with REV, LIMIT and (ZRANGE only) WITHSCORES.
fn zrange_args(g: &mut Gen, v: &mut Vec<Vec<u8>>, store: bool) {
    let mode = g.rng.below(3);
    match mode {
        0 => {
            v.push(g.offset());
            v.push(g.offset());
        }
        1 => {
            v.push(g.score_bound());
            v.push(g.score_bound());
        }
        _ => {
            v.push(g.lex_bound());
            v.push(g.lex_bound());
        }
    }
    let mut opts: Vec<Vec<Vec<u8>>> = Vec::new();
    if mode == 1 || g.rng.chance(5) {
        opts.push(vec![g.opt("BYSCORE")]);
    }
    if mode == 2 || g.rng.chance(5) {
        opts.push(vec![g.opt("BYLEX")]);
    }
    if g.rng.chance(40) {
        opts.push(vec![g.opt("REV")]);
    }
    if g.rng.chance(if mode == 0 { 5 } else { 40 }) {
        let mut l = Vec::new();
        limit(g, &mut l);
        opts.push(l);
    }
    if !store && g.rng.chance(40) || g.rng.chance(3) {
        opts.push(vec![g.opt("WITHSCORES")]);
    }
    if g.rng.chance(30) {
        // Options in any order.
        for i in (1..opts.len()).rev() {
            let j = g.rng.below(i as u64 + 1) as usize;
            opts.swap(i, j);
        }
    }
    v.extend(opts.into_iter().flatten());
}
fn g_zrange(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["ZRANGE", g.key_in(ZSET)];
    zrange_args(g, &mut v, false);
    v
}
fn g_zrangestore(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["ZRANGESTORE", g.key_in(ZSET), g.key_in(ZSET)];
    zrange_args(g, &mut v, true);
    v
}
fn by_score(g: &mut Gen, name: &str) -> Vec<Vec<u8>> {
    let mut v = cmd![name, g.key_in(ZSET), g.score_bound(), g.score_bound()];
    if g.rng.chance(40) {
        v.push(g.opt("WITHSCORES"));
    }
    if g.rng.chance(30) {
        limit(g, &mut v);
    }
    if g.rng.chance(5) {
        v.push(g.bad_opt());
    }
    v
}
fn g_zrangebyscore(g: &mut Gen) -> Vec<Vec<u8>> {
    by_score(g, "ZRANGEBYSCORE")
}
fn g_zrevrangebyscore(g: &mut Gen) -> Vec<Vec<u8>> {
    by_score(g, "ZREVRANGEBYSCORE")
}
fn by_lex(g: &mut Gen, name: &str) -> Vec<Vec<u8>> {
    let mut v = cmd![name, g.key_in(ZSET), g.lex_bound(), g.lex_bound()];
    if g.rng.chance(30) {
        limit(g, &mut v);
    }
    if g.rng.chance(5) {
        v.push(g.bad_opt());
    }
    v
}
fn g_zrangebylex(g: &mut Gen) -> Vec<Vec<u8>> {
    by_lex(g, "ZRANGEBYLEX")
}
fn g_zrevrangebylex(g: &mut Gen) -> Vec<Vec<u8>> {
    by_lex(g, "ZREVRANGEBYLEX")
}
fn g_zrevrange(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["ZREVRANGE", g.key_in(ZSET), g.offset(), g.offset()];
    if g.rng.chance(40) {
        v.push(g.opt("WITHSCORES"));
    }
    v
}
fn g_zrank(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["ZRANK", g.key_in(ZSET), g.member()]
}
fn g_zrevrank(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["ZREVRANK", g.key_in(ZSET), g.member()]
}
fn g_zremrangebyrank(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["ZREMRANGEBYRANK", g.key_in(ZSET), g.offset(), g.offset()]
}
fn g_zremrangebyscore(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd![
        "ZREMRANGEBYSCORE",
        g.key_in(ZSET),
        g.score_bound(),
        g.score_bound()
    ]
}
fn g_zremrangebylex(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd![
        "ZREMRANGEBYLEX",
        g.key_in(ZSET),
        g.lex_bound(),
        g.lex_bound()
    ]
}
fn g_zpopmin(g: &mut Gen) -> Vec<Vec<u8>> {
    pop_cmd(g, "ZPOPMIN")
}
fn g_zpopmax(g: &mut Gen) -> Vec<Vec<u8>> {
    pop_cmd(g, "ZPOPMAX")
}
fn g_bzpopmin(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = keys_cmd(g, "BZPOPMIN", 1, 3, ZSET);
    v.push(g.timeout());
    v
}
fn g_bzpopmax(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = keys_cmd(g, "BZPOPMAX", 1, 3, ZSET);
    v.push(g.timeout());
    v
}
fn g_zmpop(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["ZMPOP"];
    g.numkeys(&mut v, 1, 3, ZSET);
    mpop_tail(g, &mut v, ["MIN", "MAX"]);
    v
}
fn g_bzmpop(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["BZMPOP", g.timeout()];
    g.numkeys(&mut v, 1, 3, ZSET);
    mpop_tail(g, &mut v, ["MIN", "MAX"]);
    v
}
/// `numkeys key... [WEIGHTS w...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]` of ZUNION / ZINTER (and the
/// STORE forms without WITHSCORES; ZDIFF takes neither WEIGHTS nor AGGREGATE).
fn zsetop_args(g: &mut Gen, v: &mut Vec<Vec<u8>>, store: bool, diff: bool) {
    let before = v.len();
    g.numkeys(v, 1, 3, ZSET_OR_SET);
    let n = v.len() - before - 1;
    if !diff || g.rng.chance(5) {
        if g.rng.chance(35) {
            v.push(g.opt("WEIGHTS"));
            let m = if g.rng.chance(90) { n } else { n + 1 };
            for _ in 0..m {
                let w = g.pick_s(&["1", "2", "-1", "0", "0.5", "1.5", "inf", "-inf", "nan", "x"]);
                v.push(w);
            }
        }
        if g.rng.chance(35) {
            v.push(g.opt("AGGREGATE"));
            let a = g.pick_s(&["SUM", "MIN", "MAX", "sum", "max", "avg"]);
            v.push(a);
        }
    }
    if (!store && g.rng.chance(50)) || g.rng.chance(3) {
        v.push(g.opt("WITHSCORES"));
    }
    if g.rng.chance(3) {
        v.push(g.bad_opt());
    }
}
fn g_zunion(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["ZUNION"];
    zsetop_args(g, &mut v, false, false);
    v
}
fn g_zinter(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["ZINTER"];
    zsetop_args(g, &mut v, false, false);
    v
}
fn g_zdiff(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["ZDIFF"];
    zsetop_args(g, &mut v, false, true);
    v
}
fn g_zunionstore(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["ZUNIONSTORE", g.key_in(ZSET)];
    zsetop_args(g, &mut v, true, false);
    v
}
fn g_zinterstore(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["ZINTERSTORE", g.key_in(ZSET)];
    zsetop_args(g, &mut v, true, false);
    v
}
fn g_zdiffstore(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["ZDIFFSTORE", g.key_in(ZSET)];
    zsetop_args(g, &mut v, true, true);
    v
}
fn g_zintercard(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["ZINTERCARD"];
    g.numkeys(&mut v, 1, 3, ZSET);
    limit_opt(g, &mut v);
    v
}
fn g_zrandmember(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["ZRANDMEMBER", g.key_in(ZSET)];
    if g.rng.chance(70) {
        v.push(g.count());
        if g.rng.chance(50) {
            v.push(if g.rng.chance(95) {
                g.opt("WITHSCORES")
            } else {
                g.bad_opt()
            });
        }
    }
    v
}
fn g_zscan(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["ZSCAN", g.key_in(ZSET)];
    scan_opts(g, &mut v);
    v
}

// --- transactions
fn g_multi(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd![g.opt("MULTI")]
}
fn g_exec(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd![g.opt("EXEC")]
}
/// EXEC with the wrong number of arguments (kept out of the random arity changes of `exec`).
fn g_exec_arity(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd![g.opt("EXEC"), "extra"]
}
fn g_discard(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd![g.opt("DISCARD")]
}
fn g_watch(g: &mut Gen) -> Vec<Vec<u8>> {
    keys_cmd(g, "WATCH", 1, 3, ANY_HOME)
}
fn g_unwatch(_g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["UNWATCH"]
}

// --- pub/sub (the run's subscriber connections listen to ch:1, ch:2, sh:1, ch:* and h?llo)
fn g_publish(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["PUBLISH", g.channel(), g.val()]
}
fn g_spublish(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["SPUBLISH", g.channel(), g.val()]
}
fn g_pubsub_channels(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["PUBSUB", g.opt("CHANNELS")];
    if g.rng.chance(70) {
        v.push(g.chan_pattern());
    }
    v
}
fn g_pubsub_shardchannels(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["PUBSUB", g.opt("SHARDCHANNELS")];
    if g.rng.chance(70) {
        v.push(g.chan_pattern());
    }
    v
}
fn g_pubsub_numsub(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["PUBSUB", g.opt("NUMSUB")];
    for _ in 0..g.rng.below(4) {
        v.push(g.channel());
    }
    v
}
fn g_pubsub_shardnumsub(g: &mut Gen) -> Vec<Vec<u8>> {
    let mut v = cmd!["PUBSUB", g.opt("SHARDNUMSUB")];
    for _ in 0..g.rng.below(4) {
        v.push(g.channel());
    }
    v
}
fn g_pubsub_numpat(g: &mut Gen) -> Vec<Vec<u8>> {
    cmd!["PUBSUB", g.opt("NUMPAT")]
}

// --- encodings: the thresholds move mid-run (the next write converts; nothing converts back)
fn g_config_set_encoding(g: &mut Gen) -> Vec<Vec<u8>> {
    let name = g.pick_s(&[
        "hash-max-listpack-entries",
        "hash-max-listpack-value",
        "hash-max-ziplist-entries",
        "set-max-intset-entries",
        "zset-max-listpack-entries",
        "zset-max-listpack-value",
        "zset-max-ziplist-value",
        "list-max-listpack-size",
    ]);
    let val = g.pick_s(&[
        "0", "1", "2", "3", "4", "8", "16", "64", "128", "512", "-1", "-2", "x", "1kb",
    ]);
    cmd!["CONFIG", g.opt("SET"), name, val]
}

// ---------------------------------------------------------------------------------------------------------
// The table of generators.

/// How two replies are compared.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Check {
    /// Byte for byte.
    Exact,
    /// Byte for byte, and never queued in MULTI: OBJECT REFCOUNT, which in Redis counts the queued
    /// command's own reference to a value that an earlier command of the same transaction stored.
    NotInMulti,
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
    /// SSCAN (1) / HSCAN, ZSCAN (2): a full iteration on each side; the sets of elements (groups of this
    /// many strings) must be equal.
    ElemScan(usize),
    /// SRANDMEMBER / HRANDFIELD / ZRANDMEMBER: the same shape on both sides, and on each side members of
    /// the key (with their values), as many as the count asks, distinct for a positive count.
    Pick(Kind),
    /// SPOP: the same shape, popped members gone, popped + left the same set on both sides; then
    /// ferrokv's set is made equal to Redis's again.
    Spop,
    /// A blocking command: byte for byte, sent only when it cannot block (a key exists, or inside MULTI).
    Block,
    /// EXEC: each element checked with the rule of the command that was queued for it.
    Exec,
    /// A lex range (ZRANGEBYLEX, ZLEXCOUNT, ZREMRANGEBYLEX, ZRANGE ... BYLEX): byte for byte, except on a
    /// skiplist whose scores differ, where Redis's answer depends on the random levels of its nodes (lex
    /// ranges are only defined when all scores are equal); then any answer goes, and a key it wrote is
    /// deleted on both sides.
    Lex,
}

/// The type behind a random pick.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Set,
    Hash,
    Zset,
}

impl Check {
    /// Needs more commands to check (or to decide whether to send it), so it cannot sit in the middle of
    /// a pipeline.
    fn needs_followup(self) -> bool {
        matches!(
            self,
            Check::Scan
                | Check::RandomKey
                | Check::ElemScan(_)
                | Check::Pick(_)
                | Check::Spop
                | Check::Block
                | Check::Lex
        )
    }

    /// Can be queued in MULTI: the EXEC element is judged without further commands.
    fn queueable(self) -> bool {
        (!self.needs_followup() || self == Check::Block) && self != Check::NotInMulti
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
    spec("object|encoding", 6, g_object_encoding, Exact),
    spec("object|refcount", 2, g_object_refcount, NotInMulti),
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
    spec("config|set-encoding", 1, g_config_set_encoding, Exact),
    // hashes
    spec("hset", 6, g_hset, Exact),
    spec("hmset", 2, g_hmset, Exact),
    spec("hsetnx", 2, g_hsetnx, Exact),
    spec("hget", 3, g_hget, Exact),
    spec("hmget", 2, g_hmget, Exact),
    spec("hgetall", 2, g_hgetall, Pairs),
    spec("hdel", 3, g_hdel, Exact),
    spec("hexists", 2, g_hexists, Exact),
    spec("hlen", 2, g_hlen, Exact),
    spec("hkeys", 2, g_hkeys, Sorted),
    spec("hvals", 2, g_hvals, Sorted),
    spec("hstrlen", 2, g_hstrlen, Exact),
    spec("hincrby", 3, g_hincrby, Exact),
    spec("hincrbyfloat", 3, g_hincrbyfloat, Exact),
    spec("hrandfield", 2, g_hrandfield, Pick(Kind::Hash)),
    spec("hscan", 2, g_hscan, ElemScan(2)),
    // sets
    spec("sadd", 7, g_sadd, Exact),
    spec("srem", 3, g_srem, Exact),
    spec("smembers", 2, g_smembers, Sorted),
    spec("sismember", 2, g_sismember, Exact),
    spec("smismember", 2, g_smismember, Exact),
    spec("scard", 2, g_scard, Exact),
    spec("spop", 2, g_spop, Spop),
    spec("srandmember", 2, g_srandmember, Pick(Kind::Set)),
    spec("smove", 2, g_smove, Exact),
    spec("sinter", 2, g_sinter, Sorted),
    spec("sintercard", 2, g_sintercard, Exact),
    spec("sunion", 2, g_sunion, Sorted),
    spec("sdiff", 2, g_sdiff, Sorted),
    spec("sinterstore", 2, g_sinterstore, Exact),
    spec("sunionstore", 2, g_sunionstore, Exact),
    spec("sdiffstore", 2, g_sdiffstore, Exact),
    spec("sscan", 2, g_sscan, ElemScan(1)),
    // bit operations
    spec("setbit", 4, g_setbit, Exact),
    spec("getbit", 2, g_getbit, Exact),
    spec("bitcount", 2, g_bitcount, Exact),
    spec("bitpos", 2, g_bitpos, Exact),
    spec("bitop", 2, g_bitop, Exact),
    spec("bitfield", 3, g_bitfield, Exact),
    spec("bitfield_ro", 1, g_bitfield_ro, Exact),
    // lists
    spec("lpush", 5, g_lpush, Exact),
    spec("rpush", 5, g_rpush, Exact),
    spec("lpushx", 2, g_lpushx, Exact),
    spec("rpushx", 2, g_rpushx, Exact),
    spec("lpop", 2, g_lpop, Exact),
    spec("rpop", 2, g_rpop, Exact),
    spec("llen", 2, g_llen, Exact),
    spec("lrange", 3, g_lrange, Exact),
    spec("lindex", 2, g_lindex, Exact),
    spec("lset", 2, g_lset, Exact),
    spec("linsert", 2, g_linsert, Exact),
    spec("lrem", 2, g_lrem, Exact),
    spec("ltrim", 2, g_ltrim, Exact),
    spec("lpos", 2, g_lpos, Exact),
    spec("lmove", 2, g_lmove, Exact),
    spec("rpoplpush", 1, g_rpoplpush, Exact),
    spec("lmpop", 2, g_lmpop, Exact),
    spec("blpop", 1, g_blpop, Block),
    spec("brpop", 1, g_brpop, Block),
    spec("blmove", 1, g_blmove, Block),
    spec("brpoplpush", 1, g_brpoplpush, Block),
    spec("blmpop", 1, g_blmpop, Block),
    // sorted sets
    spec("zadd", 8, g_zadd, Exact),
    spec("zincrby", 2, g_zincrby, Exact),
    spec("zrem", 2, g_zrem, Exact),
    spec("zcard", 2, g_zcard, Exact),
    spec("zscore", 2, g_zscore, Exact),
    spec("zmscore", 2, g_zmscore, Exact),
    spec("zcount", 2, g_zcount, Exact),
    spec("zlexcount", 2, g_zlexcount, Lex),
    spec("zrange", 4, g_zrange, Lex),
    spec("zrangestore", 2, g_zrangestore, Lex),
    spec("zrangebyscore", 2, g_zrangebyscore, Exact),
    spec("zrevrangebyscore", 2, g_zrevrangebyscore, Exact),
    spec("zrangebylex", 2, g_zrangebylex, Lex),
    spec("zrevrangebylex", 2, g_zrevrangebylex, Lex),
    spec("zrevrange", 2, g_zrevrange, Exact),
    spec("zrank", 2, g_zrank, Exact),
    spec("zrevrank", 2, g_zrevrank, Exact),
    spec("zremrangebyrank", 1, g_zremrangebyrank, Exact),
    spec("zremrangebyscore", 1, g_zremrangebyscore, Exact),
    spec("zremrangebylex", 1, g_zremrangebylex, Lex),
    spec("zpopmin", 2, g_zpopmin, Exact),
    spec("zpopmax", 2, g_zpopmax, Exact),
    spec("bzpopmin", 1, g_bzpopmin, Block),
    spec("bzpopmax", 1, g_bzpopmax, Block),
    spec("zmpop", 2, g_zmpop, Exact),
    spec("bzmpop", 1, g_bzmpop, Block),
    spec("zunion", 2, g_zunion, Exact),
    spec("zinter", 2, g_zinter, Exact),
    spec("zdiff", 2, g_zdiff, Exact),
    spec("zunionstore", 2, g_zunionstore, Exact),
    spec("zinterstore", 2, g_zinterstore, Exact),
    spec("zdiffstore", 2, g_zdiffstore, Exact),
    spec("zintercard", 2, g_zintercard, Exact),
    spec("zrandmember", 2, g_zrandmember, Pick(Kind::Zset)),
    spec("zscan", 2, g_zscan, ElemScan(2)),
    // transactions
    spec("multi", 4, g_multi, Exact),
    spec("exec", 2, g_exec, Exec),
    spec("exec|arity", 1, g_exec_arity, Exec),
    spec("discard", 1, g_discard, Exact),
    spec("watch", 3, g_watch, Exact),
    spec("unwatch", 1, g_unwatch, Exact),
    // pub/sub
    spec("publish", 2, g_publish, Exact),
    spec("spublish", 1, g_spublish, Exact),
    spec("pubsub|channels", 1, g_pubsub_channels, Sorted),
    spec("pubsub|shardchannels", 1, g_pubsub_shardchannels, Sorted),
    spec("pubsub|numsub", 1, g_pubsub_numsub, Exact),
    spec("pubsub|shardnumsub", 1, g_pubsub_shardnumsub, Exact),
    spec("pubsub|numpat", 1, g_pubsub_numpat, Exact),
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

/// A request to send: its generator, its arguments, and whether it goes inline (Some(LF only)).
type Request = (&'static Spec, Vec<Vec<u8>>, Option<bool>);

struct Mismatch {
    name: &'static str,
    text: String,
}

struct Run {
    seed: u64,
    rounds: usize,
    fk: Wire,
    rd: Wire,
    /// One subscriber connection per server (ferrokv's first), listening to a few channels and patterns
    /// so that PUBLISH, NUMSUB and NUMPAT have something to count; what they receive is compared at the end.
    subs: [Wire; 2],
    fk_srv: TestServer,
    rd_srv: TestServer,
    /// Recent requests, for context in a failure.
    history: Vec<String>,
    keep_going: bool,
    mismatches: Vec<Mismatch>,
    index: usize,
    aborted: bool,
    /// Per generator: requests, error replies, null or empty replies (Redis's side), for `DIFF_STATS`;
    /// rows in parentheses count what the checks did (SPOP resyncs, lenient lex ranges, ...).
    stats: BTreeMap<&'static str, [u64; 3]>,
    /// Inside MULTI, as the requests sent so far put it (see `multi_effect`).
    multi: bool,
    /// What the open transaction queued (name, check, arguments), to judge EXEC's elements.
    queued: Vec<(&'static str, Check, Vec<Vec<u8>>)>,
    /// The lex range request being judged reads a skiplist with differing scores (see `Check::Lex`).
    lenient: bool,
    /// `rdb_changes_since_last_save` of each server after the last batch (unless `DIFF_DIRTY=0`).
    dirty: Option<[i64; 2]>,
    /// The harness itself wrote to one or both servers during this batch (to resync after a random or
    /// undefined result), so the batch's dirty counts cannot be compared.
    resynced: bool,
}

/// What a request does to the MULTI state: MULTI enters it (a nested one is refused and changes nothing),
/// EXEC, DISCARD and RESET leave it. With the wrong arity they are refused, and inside MULTI that only
/// marks the transaction failed; but EXEC's arity error is an EXECABORT that ends the transaction.
fn multi_effect(args: &[Vec<u8>]) -> Option<bool> {
    let name = args[0].to_ascii_uppercase();
    if name == b"EXEC" {
        return Some(false);
    }
    if args.len() != 1 {
        return None;
    }
    match name.as_slice() {
        b"MULTI" => Some(true),
        b"DISCARD" | b"RESET" => Some(false),
        _ => None,
    }
}

fn spec_named(name: &str) -> &'static Spec {
    SPECS
        .iter()
        .find(|s| s.name == name)
        .expect("a generator of that name")
}

/// Small encoding thresholds, set on both servers for odd seeds so that conversions happen often; even
/// seeds keep the defaults (and cross them with long runs of members).
const SMALL_THRESHOLDS: &[&str] = &[
    "CONFIG",
    "SET",
    "hash-max-listpack-entries",
    "6",
    "hash-max-listpack-value",
    "16",
    "set-max-intset-entries",
    "6",
    "zset-max-listpack-entries",
    "6",
    "zset-max-listpack-value",
    "16",
];

impl Run {
    /// A fresh pair of servers and one connection to each; None if redis-server is not installed.
    fn new(seed: u64, rounds: usize, keep_going: bool) -> Option<Run> {
        let (fk_srv, rd_srv) = pair()?;
        let mut run = Run {
            seed,
            rounds,
            fk: Wire::connect(fk_srv.port),
            rd: Wire::connect(rd_srv.port),
            subs: [Wire::connect(fk_srv.port), Wire::connect(rd_srv.port)],
            fk_srv,
            rd_srv,
            history: Vec::new(),
            keep_going,
            mismatches: Vec::new(),
            index: 0,
            aborted: false,
            stats: BTreeMap::new(),
            multi: false,
            queued: Vec::new(),
            lenient: false,
            dirty: None,
            resynced: false,
        };
        run.setup();
        Some(run)
    }

    /// Per seed: the encoding thresholds, and the subscribers (in RESP3 for half the seeds).
    fn setup(&mut self) {
        let mut steps: Vec<(Vec<&str>, bool)> = Vec::new();
        if self.seed % 2 == 1 {
            steps.push((SMALL_THRESHOLDS.to_vec(), false));
        }
        let resp3 = self.seed % 4 >= 2;
        if resp3 {
            steps.push((vec!["HELLO", "3"], true));
        }
        steps.push((vec!["SUBSCRIBE", "ch:1", "ch:2"], true));
        steps.push((vec!["PSUBSCRIBE", "ch:*", "h?llo"], true));
        steps.push((vec!["SSUBSCRIBE", "sh:1", "ch:1"], true));
        for (args, sub) in steps {
            let refs: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            let owned: Vec<Vec<u8>> = refs.iter().map(|a| a.to_vec()).collect();
            let (mut f, mut r) = (Vec::new(), Vec::new());
            // A (P|S)SUBSCRIBE of n channels answers n times.
            let n = if sub && args[0] != "HELLO" {
                args.len() - 1
            } else {
                1
            };
            for i in 0..2 {
                let conn = match (sub, i) {
                    (true, 0) => &mut self.subs[0],
                    (true, _) => &mut self.subs[1],
                    (false, 0) => &mut self.fk,
                    _ => &mut self.rd,
                };
                conn.send(&common::encode(&refs));
                let out = if i == 0 { &mut f } else { &mut r };
                for _ in 0..n {
                    out.extend(conn.read_reply().unwrap_or_else(|e| panic!("{e}")));
                }
            }
            if args[0] == "HELLO" {
                (f, r) = (Vec::new(), Vec::new());
            }
            if f != r {
                self.fail("setup", &owned, "replies differ", &f, &r);
            }
        }
    }

    /// Ends the seed: every message the subscribers got, in order, must be the same.
    fn drain_subscribers(&mut self) {
        let mut got: Vec<Vec<Vec<u8>>> = Vec::new();
        for conn in &mut self.subs {
            conn.send(&common::encode(&[b"PING"]));
            let mut msgs = Vec::new();
            loop {
                match conn.read_reply() {
                    Ok(r) if r == b"+PONG\r\n" || r == b"*2\r\n$4\r\npong\r\n$0\r\n\r\n" => break,
                    Ok(r) => msgs.push(r),
                    Err(e) => {
                        msgs.push(e.into_bytes());
                        break;
                    }
                }
            }
            got.push(msgs);
        }
        let (f, r) = (&got[0], &got[1]);
        if f != r {
            let i = f.iter().zip(r).take_while(|(a, b)| a == b).count();
            let none = b"(nothing)".to_vec();
            let what = format!(
                "subscriber messages differ at #{i} (ferrokv got {}, redis {})",
                f.len(),
                r.len()
            );
            let (a, b) = (
                f.get(i).unwrap_or(&none).clone(),
                r.get(i).unwrap_or(&none).clone(),
            );
            self.fail("publish", &[b"(subscriber)".to_vec()], &what, &a, &b);
        }
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
            match spec.check {
                Check::Scan => self.scan_rest(spec, args, &fk, &rd, 1, 1),
                Check::ElemScan(n) => self.scan_rest(spec, args, &fk, &rd, 2, n),
                Check::RandomKey => self.randomkey_exists(spec, args, &fk, &rd),
                _ => {}
            }
            return;
        }
        // A differing error, or an error on one side only, is always a mismatch.
        if is_error(&fk) || is_error(&rd) {
            return self.fail(spec.name, args, "replies differ", &fk, &rd);
        }
        let (f, r) = (parse_resp(&fk), parse_resp(&rd));
        let differ = || Err("replies differ".to_string());
        let verdict: Result<(), String> = match spec.check {
            Check::Exact | Check::Block | Check::NotInMulti => differ(),
            Check::Lex if self.lenient => Ok(()),
            Check::Sorted if sorted(&f) == sorted(&r) => Ok(()),
            Check::Pairs if pairs(&f) == pairs(&r) => Ok(()),
            Check::Int if as_int(&f).is_some() && as_int(&r).is_some() => Ok(()),
            Check::Near(tol) => match (as_int(&f), as_int(&r)) {
                (Some(a), Some(b)) if a >= 0 && b >= 0 && (a - b).abs() <= tol => Ok(()),
                _ => differ(),
            },
            Check::Time
                if time_ok(&f)
                    && time_ok(&r)
                    && std::mem::discriminant(&f) == std::mem::discriminant(&r) =>
            {
                Ok(())
            }
            Check::Hello if mask_id(f.clone()) == mask_id(r.clone()) => Ok(()),
            Check::RandomKey
                if matches!(
                    (&f, &r),
                    (Resp::Bulk(b'$', Some(_)), Resp::Bulk(b'$', Some(_)))
                ) =>
            {
                self.randomkey_exists(spec, args, &fk, &rd);
                Ok(())
            }
            Check::Scan if scan_page(&f, 1).is_some() && scan_page(&r, 1).is_some() => {
                self.scan_rest(spec, args, &fk, &rd, 1, 1);
                Ok(())
            }
            Check::ElemScan(n) if scan_page(&f, n).is_some() && scan_page(&r, n).is_some() => {
                self.scan_rest(spec, args, &fk, &rd, 2, n);
                Ok(())
            }
            Check::Pick(kind) => self.check_pick(kind, args, &f, &r),
            Check::Spop => self.check_spop(args, &f, &r),
            Check::Exec => self.check_exec(&fk, &rd),
            _ => differ(),
        };
        if let Err(what) = verdict {
            self.fail(spec.name, args, &what, &fk, &rd);
        }
    }

    fn count(&mut self, what: &'static str) {
        self.stats.entry(what).or_default()[0] += 1;
    }

    fn conn(&mut self, side: usize) -> &mut Wire {
        if side == 0 {
            &mut self.fk
        } else {
            &mut self.rd
        }
    }

    /// A collection's contents on one side: member -> value (score for a sorted set, empty for a set).
    fn contents(
        &mut self,
        side: usize,
        kind: Kind,
        key: &[u8],
    ) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, String> {
        let req: Vec<&[u8]> = match kind {
            Kind::Set => vec![b"SMEMBERS", key],
            Kind::Hash => vec![b"HGETALL", key],
            Kind::Zset => vec![b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"],
        };
        let bytes = self.conn(side).cmd(&req);
        let reply = parse_resp(&bytes);
        let bad = || format!("cannot read the key's contents: {}", esc(&bytes));
        match kind {
            Kind::Set => {
                let Resp::Agg(_, Some(v)) = &reply else {
                    return Err(bad());
                };
                v.iter()
                    .map(|m| leaf(m).map(|m| (m, Vec::new())))
                    .collect::<Option<_>>()
                    .ok_or_else(bad)
            }
            _ => pair_list(&reply)
                .map(|v| v.into_iter().collect())
                .ok_or_else(bad),
        }
    }

    /// The contents of `key` on both sides, which must be equal (the servers are in lockstep).
    fn both_contents(
        &mut self,
        kind: Kind,
        key: &[u8],
    ) -> Result<BTreeMap<Vec<u8>, Vec<u8>>, String> {
        let (cf, cr) = (self.contents(0, kind, key)?, self.contents(1, kind, key)?);
        if cf != cr {
            return Err(format!(
                "the key's contents differ: ferrokv {} / redis {}",
                show_map(&cf),
                show_map(&cr)
            ));
        }
        Ok(cf)
    }

    fn check_pick(
        &mut self,
        kind: Kind,
        args: &[Vec<u8>],
        f: &Resp,
        r: &Resp,
    ) -> Result<(), String> {
        if shape(f) != shape(r) {
            return Err("reply shapes differ".into());
        }
        self.count("(random pick checked)");
        let content = self.both_contents(kind, &args[1])?;
        validate_pick(args, f, &content).map_err(|e| format!("ferrokv's pick: {e}"))?;
        validate_pick(args, r, &content).map_err(|e| format!("redis's pick: {e}"))
    }

    /// SPOP popped different members on each side. Check what each did, then make ferrokv's set equal
    /// to Redis's (SADD what only ferrokv popped, SREM what only Redis popped). Should that leave the two
    /// encodings different (a threshold lowered since the set grew), the key is deleted on both.
    fn check_spop(&mut self, args: &[Vec<u8>], f: &Resp, r: &Resp) -> Result<(), String> {
        if shape(f) != shape(r) {
            return Err("reply shapes differ".into());
        }
        let popped = |x: &Resp| -> Option<Vec<Vec<u8>>> {
            match x {
                Resp::Bulk(_, None) => Some(Vec::new()),
                Resp::Bulk(_, Some(m)) => Some(vec![m.clone()]),
                Resp::Agg(_, Some(v)) => v.iter().map(leaf).collect(),
                _ => None,
            }
        };
        let (Some(pf), Some(pr)) = (popped(f), popped(r)) else {
            return Err("not a member or a list of members".into());
        };
        let key = &args[1];
        let (lf, lr) = (
            self.contents(0, Kind::Set, key)?,
            self.contents(1, Kind::Set, key)?,
        );
        let (sf, sr): (BTreeSet<Vec<u8>>, BTreeSet<Vec<u8>>) =
            (pf.iter().cloned().collect(), pr.iter().cloned().collect());
        for (side, p, s, left) in [("ferrokv", &pf, &sf, &lf), ("redis", &pr, &sr, &lr)] {
            if s.len() != p.len() {
                return Err(format!("{side} popped a member twice"));
            }
            if s.iter().any(|m| left.contains_key(m)) {
                return Err(format!("{side} popped a member that is still there"));
            }
        }
        let all = |s: &BTreeSet<Vec<u8>>, left: &BTreeMap<Vec<u8>, Vec<u8>>| {
            s.iter()
                .cloned()
                .chain(left.keys().cloned())
                .collect::<BTreeSet<_>>()
        };
        if all(&sf, &lf) != all(&sr, &lr) {
            return Err("popped + left differ between the servers".into());
        }
        self.count("(spop resync)");
        self.resynced = true;
        let add: Vec<&[u8]> = sf.difference(&sr).map(|m| m.as_slice()).collect();
        let rem: Vec<&[u8]> = sr.difference(&sf).map(|m| m.as_slice()).collect();
        for (name, ms) in [(b"SADD".as_slice(), add), (b"SREM".as_slice(), rem)] {
            if !ms.is_empty() {
                let mut req: Vec<&[u8]> = vec![name, key];
                req.extend(ms);
                self.fk.cmd(&req);
            }
        }
        if self.contents(0, Kind::Set, key)? != lr {
            return Err("could not make ferrokv's set equal to Redis's after SPOP".into());
        }
        let enc: [&[u8]; 3] = [b"OBJECT", b"ENCODING", key];
        if self.fk.cmd(&enc) != self.rd.cmd(&enc) {
            self.count("(spop resync by DEL)");
            self.fk.cmd(&[b"DEL", key]);
            self.rd.cmd(&[b"DEL", key]);
        }
        Ok(())
    }

    /// EXEC's elements, each judged by the rule of the command queued for it.
    fn check_exec(&mut self, fk: &[u8], rd: &[u8]) -> Result<(), String> {
        let queued = std::mem::take(&mut self.queued);
        let (Some(ef), Some(er)) = (elems(fk), elems(rd)) else {
            return Err("replies differ".into());
        };
        if ef.len() != er.len() || ef.len() != queued.len() {
            return Err(format!(
                "EXEC replied {} and {} elements for {} queued commands",
                ef.len(),
                er.len(),
                queued.len()
            ));
        }
        self.stats
            .entry("(EXEC elements judged one by one)")
            .or_default()[0] += queued.len() as u64;
        for ((name, check, args), (f, r)) in queued.into_iter().zip(ef.into_iter().zip(er)) {
            if self.aborted {
                break;
            }
            let spec = Spec {
                name,
                weight: 0,
                gen: g_dbsize,
                check,
            };
            self.history
                .push(format!("  (EXEC element) {}", esc_args(&args)));
            self.compare(&spec, &args, f, r);
        }
        Ok(())
    }

    /// Whether a lex range request reads a skiplist whose scores are not all equal (asked of Redis).
    fn lex_is_random(&mut self, args: &[Vec<u8>]) -> bool {
        let upper: Vec<Vec<u8>> = args.iter().map(|a| a.to_ascii_uppercase()).collect();
        let bylex = upper.iter().any(|a| a == b"BYLEX");
        let src = match upper[0].as_slice() {
            b"ZRANGESTORE" if bylex => args.get(2),
            b"ZRANGE" if bylex => args.get(1),
            b"ZRANGESTORE" | b"ZRANGE" => None,
            _ => args.get(1),
        };
        let Some(src) = src else {
            return false;
        };
        if self.rd.cmd(&[b"OBJECT", b"ENCODING", src]) != b"$8\r\nskiplist\r\n" {
            return false;
        }
        let Ok(content) = self.contents(1, Kind::Zset, src) else {
            return false;
        };
        content.values().collect::<BTreeSet<_>>().len() > 1
    }

    /// Whether a blocking command would wait: every key it reads is missing (then it goes in MULTI).
    fn would_block(&mut self, args: &[Vec<u8>]) -> bool {
        let n = args.len();
        let keys: &[Vec<u8>] = match args[0].to_ascii_uppercase().as_slice() {
            b"BLPOP" | b"BRPOP" | b"BZPOPMIN" | b"BZPOPMAX" if n >= 3 => &args[1..n - 1],
            b"BLMOVE" | b"BRPOPLPUSH" if n >= 2 => &args[1..2],
            b"BLMPOP" | b"BZMPOP" if n >= 3 => {
                match std::str::from_utf8(&args[2])
                    .ok()
                    .and_then(|s| s.parse::<usize>().ok())
                {
                    Some(k) if k >= 1 && 3 + k <= n => &args[3..3 + k],
                    _ => &[],
                }
            }
            _ => &[],
        };
        let keys = keys.to_vec();
        !keys.iter().any(|k| {
            let req: [&[u8]; 2] = [b"EXISTS", k];
            self.fk.cmd(&req) != b":0\r\n" || self.rd.cmd(&req) != b":0\r\n"
        })
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

    /// Finishes the (S|H|Z)SCAN iteration on each side and compares the sets of elements. The cursor is
    /// argument `at`; elements come in groups of `group` (field and value).
    fn scan_rest(
        &mut self,
        spec: &Spec,
        args: &[Vec<u8>],
        fk: &[u8],
        rd: &[u8],
        at: usize,
        group: usize,
    ) {
        let mut sets = Vec::new();
        for (side, first) in [(0, fk), (1, rd)] {
            let Some((mut cursor, mut elems)) = scan_page(&parse_resp(first), group) else {
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
                let mut req: Vec<&[u8]> = args[..at].iter().map(|a| a.as_slice()).collect();
                req.push(&cursor);
                req.extend(args[at + 1..].iter().map(|a| a.as_slice()));
                let reply = self.conn(side).cmd(&req);
                let Some((c, e)) = scan_page(&parse_resp(&reply), group) else {
                    return self.fail(
                        spec.name,
                        args,
                        "SCAN continuation is not a page",
                        &reply,
                        b"",
                    );
                };
                cursor = c;
                elems.extend(e);
            }
            sets.push(elems);
        }
        if sets[0] != sets[1] {
            let show = |s: &ScanElems| {
                s.iter()
                    .map(|e| e.iter().map(|x| esc(x)).collect::<Vec<_>>().join("="))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let (a, b) = (show(&sets[0]), show(&sets[1]));
            self.fail(
                spec.name,
                args,
                "full SCAN element sets differ",
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

    fn go(&mut self, specs: &[&'static Spec]) {
        let dirty_knob = std::env::var("DIFF_DIRTY").map_or(true, |v| v != "0");
        let mut g = Gen::new(self.seed);
        let total: u32 = specs.iter().map(|s| s.weight).sum();
        // The MULTI state as the requests generated so far leave it (ahead of `self.multi` by a batch).
        let mut multi = self.multi;
        while self.index < self.rounds && !self.aborted {
            // Sometimes pipeline a few commands in one write.
            let batch = if g.rng.chance(15) {
                g.rng.range(2, 6) as usize
            } else {
                1
            };
            let mut reqs: Vec<Request> = Vec::new();
            for _ in 0..batch {
                let spec = if multi && g.rng.chance(12) {
                    // End transactions after a few commands.
                    spec_named(if g.rng.chance(85) { "exec" } else { "discard" })
                } else {
                    let spec = self.pick(&mut g, specs, total);
                    let ok = if multi {
                        spec.check.queueable()
                    } else {
                        batch == 1 || !spec.check.needs_followup()
                    };
                    if !ok {
                        continue;
                    }
                    spec
                };
                let mut args = (spec.gen)(&mut g);
                // Now and then, the wrong number of arguments (for EXEC, that is `exec|arity`).
                if g.rng.chance(3) && spec.name != "exec" {
                    if g.rng.chance(50) && args.len() > 1 {
                        args.pop();
                    } else {
                        args.push(b"extra".to_vec());
                    }
                }
                let inline = g.rng.chance(15).then(|| g.rng.chance(30));
                if let Some(m) = multi_effect(&args) {
                    multi = m;
                }
                reqs.push((spec, args, inline));
            }
            self.lenient = false;
            if let [(spec, args, _)] = reqs.as_slice() {
                if spec.check == Check::Lex && !self.multi {
                    let args = args.clone();
                    self.lenient = self.lex_is_random(&args);
                    if self.lenient {
                        self.count("(lex on mixed scores)");
                    }
                }
            }
            // A blocking command that would wait goes in a transaction, where it answers at once.
            if let [(spec, args, _)] = reqs.as_slice() {
                if spec.check == Check::Block && !self.multi && self.would_block(args) {
                    let (spec, args) = (*spec, args.clone());
                    self.count("(blocking in MULTI)");
                    reqs = vec![
                        (spec_named("multi"), cmd!["MULTI"], None),
                        (spec, args, None),
                        (spec_named("exec"), cmd!["EXEC"], None),
                    ];
                }
            }
            let mut bytes = Vec::new();
            for (i, (_, args, inline)) in reqs.iter().enumerate() {
                let inline = inline.and_then(|lf| encode_inline(args, lf));
                let form = if inline.is_some() {
                    "inline"
                } else {
                    "multibulk"
                };
                bytes.extend(inline.unwrap_or_else(|| encode_multibulk(args)));
                self.history
                    .push(format!("#{} [{form}] {}", self.index + i, esc_args(args)));
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
            let mut names = Vec::new();
            for (spec, args, _) in reqs {
                let (fk, rd) = self.read_both(spec.name, &args);
                let st = self.stats.entry(spec.name).or_default();
                st[0] += 1;
                st[1] += is_error(&rd) as u64;
                st[2] += matches!(
                    rd.as_slice(),
                    b"$-1\r\n" | b"*-1\r\n" | b"_\r\n" | b"*0\r\n"
                ) as u64;
                if !self.aborted {
                    self.judge(spec, &args, fk, rd);
                }
                self.index += 1;
                names.push(spec.name);
            }
            if dirty_knob && !self.multi && !self.aborted {
                self.judge_dirty(&names);
            }
        }
        if !self.aborted {
            self.drain_subscribers();
        }
    }

    /// Compares how much the last batch moved each server's dirty counter (`rdb_changes_since_last_save`,
    /// which drives the save points); a difference is a mismatch named after the batch's first command.
    fn judge_dirty(&mut self, names: &[&'static str]) {
        let mut now = [0i64; 2];
        for (i, w) in [&mut self.fk, &mut self.rd].into_iter().enumerate() {
            let info = w.cmd(&[b"INFO", b"persistence"]);
            let text = String::from_utf8_lossy(&info);
            now[i] = text
                .split("rdb_changes_since_last_save:")
                .nth(1)
                .and_then(|t| t.split('\r').next())
                .and_then(|t| t.parse().ok())
                .expect("rdb_changes_since_last_save in INFO");
        }
        // What the harness wrote itself, and a lex range over mixed scores (whose result is undefined, so
        // the two servers may remove different counts), say nothing about the servers' counting.
        let skip = std::mem::take(&mut self.resynced) || self.lenient;
        if let (Some(before), false) = (self.dirty.replace(now), skip) {
            let (fk, rd) = (now[0] - before[0], now[1] - before[1]);
            if fk != rd {
                let name = names.first().copied().unwrap_or("?");
                let from = self.history.len().saturating_sub(names.len());
                let text = format!(
                    "seed {:#x}: dirty moved by {fk} on ferrokv, {rd} on redis, after:\n    {}",
                    self.seed,
                    self.history[from..].join("\n    ")
                );
                if !self.keep_going {
                    panic!("{text}");
                }
                self.mismatches.push(Mismatch { name, text });
            }
        }
    }

    /// Compares one reply pair, keeping track of MULTI: a command both servers queued is judged when
    /// EXEC answers for it.
    fn judge(&mut self, spec: &'static Spec, args: &[Vec<u8>], fk: Vec<u8>, rd: Vec<u8>) {
        let effect = multi_effect(args);
        if self.multi && effect.is_none() && fk == b"+QUEUED\r\n" && rd == fk {
            self.queued.push((spec.name, spec.check, args.to_vec()));
            return;
        }
        self.compare(spec, args, fk, rd);
        if spec.check == Check::Lex && self.lenient && !self.aborted {
            let upper = args[0].to_ascii_uppercase();
            if upper == b"ZREMRANGEBYLEX" || upper == b"ZRANGESTORE" {
                // The two sides may now hold different members (or one side none): start afresh.
                let req: [&[u8]; 2] = [b"DEL", &args[1]];
                self.fk.cmd(&req);
                self.rd.cmd(&req);
                self.resynced = true;
            }
        }
        match effect {
            Some(true) if self.multi => {}
            Some(m) => {
                self.multi = m;
                self.queued.clear();
            }
            None => {}
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

/// Elements of a SCAN-like reply, each a group of strings (a key; a field and its value).
type ScanElems = BTreeSet<Vec<Vec<u8>>>;

/// A SCAN reply: (cursor, elements in groups of `group` strings).
fn scan_page(r: &Resp, group: usize) -> Option<(Vec<u8>, ScanElems)> {
    let Resp::Agg(b'*', Some(v)) = r else {
        return None;
    };
    let [Resp::Bulk(b'$', Some(cursor)), Resp::Agg(b'*', Some(items))] = v.as_slice() else {
        return None;
    };
    if !items.len().is_multiple_of(group) {
        return None;
    }
    let mut set = BTreeSet::new();
    for chunk in items.chunks(group) {
        let mut e = Vec::new();
        for x in chunk {
            let Resp::Bulk(b'$', Some(x)) = x else {
                return None;
            };
            e.push(x.clone());
        }
        set.insert(e);
    }
    Some((cursor.clone(), set))
}

/// A string leaf: a bulk's payload or a RESP3 double's text.
fn leaf(r: &Resp) -> Option<Vec<u8>> {
    match r {
        Resp::Bulk(_, Some(b)) => Some(b.clone()),
        Resp::Line(b',', s) => Some(s.clone()),
        _ => None,
    }
}

/// (member, value) pairs: flat (RESP2 arrays, RESP3 maps) or as 2-element arrays (RESP3 WITHSCORES).
fn pair_list(r: &Resp) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    let Resp::Agg(_, Some(v)) = r else {
        return None;
    };
    let nested = !v.is_empty()
        && v.iter()
            .all(|e| matches!(e, Resp::Agg(_, Some(p)) if p.len() == 2));
    let flat: Vec<&Resp> = if nested {
        v.iter()
            .flat_map(|e| match e {
                Resp::Agg(_, Some(p)) => p.iter().collect::<Vec<_>>(),
                _ => Vec::new(),
            })
            .collect()
    } else {
        v.iter().collect()
    };
    if !flat.len().is_multiple_of(2) {
        return None;
    }
    flat.chunks(2)
        .map(|p| Some((leaf(p[0])?, leaf(p[1])?)))
        .collect()
}

/// The reply with every string emptied: what two random picks of the same request must share.
fn shape(r: &Resp) -> Resp {
    match r {
        Resp::Bulk(t, Some(_)) => Resp::Bulk(*t, Some(Vec::new())),
        Resp::Line(b',', _) => Resp::Line(b',', Vec::new()),
        Resp::Agg(t, Some(v)) => Resp::Agg(*t, Some(v.iter().map(shape).collect())),
        other => other.clone(),
    }
}

fn show_map(m: &BTreeMap<Vec<u8>, Vec<u8>>) -> String {
    m.iter()
        .map(|(k, v)| format!("{}={}", esc(k), esc(v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A random pick (SRANDMEMBER / HRANDFIELD / ZRANDMEMBER key [count [WITH...]]) against the key's
/// contents: members of the key with their values; without a count one member (nil for no key); with a
/// count >= 0 min(count, size) distinct ones, with a negative count exactly |count| (repeats allowed).
fn validate_pick(
    args: &[Vec<u8>],
    reply: &Resp,
    content: &BTreeMap<Vec<u8>, Vec<u8>>,
) -> Result<(), String> {
    let Some(count) = args.get(2) else {
        return match reply {
            Resp::Bulk(_, None) if content.is_empty() => Ok(()),
            Resp::Bulk(_, Some(m)) if content.contains_key(m) => Ok(()),
            _ => Err("not one member of the key".into()),
        };
    };
    let count: i64 = std::str::from_utf8(count)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or("a count that is not an integer was accepted")?;
    let with_values = args.len() > 3;
    let items: Vec<(Vec<u8>, Option<Vec<u8>>)> = if with_values {
        pair_list(reply)
            .ok_or("not a list of pairs")?
            .into_iter()
            .map(|(m, v)| (m, Some(v)))
            .collect()
    } else {
        let Resp::Agg(_, Some(v)) = reply else {
            return Err("not an array".into());
        };
        v.iter()
            .map(|e| leaf(e).map(|m| (m, None)))
            .collect::<Option<_>>()
            .ok_or("not an array of strings")?
    };
    for (m, v) in &items {
        match content.get(m) {
            None => return Err(format!("{} is not a member", esc(m))),
            Some(val) if v.as_ref().is_some_and(|v| v != val) => {
                return Err(format!("{}'s value is not {}", esc(m), esc(val)))
            }
            _ => {}
        }
    }
    let want = if content.is_empty() {
        0
    } else if count >= 0 {
        (count as u64).min(content.len() as u64)
    } else {
        count.unsigned_abs()
    };
    if items.len() as u64 != want {
        return Err(format!("{} members, not {want}", items.len()));
    }
    if count >= 0 && items.iter().map(|(m, _)| m).collect::<BTreeSet<_>>().len() != items.len() {
        return Err("a member twice for a positive count".into());
    }
    Ok(())
}

/// The raw bytes of each element of an array reply (EXEC's), or None if it is not an array.
fn elems(b: &[u8]) -> Option<Vec<Vec<u8>>> {
    if b.first() != Some(&b'*') {
        return None;
    }
    let e = b.windows(2).position(|w| w == b"\r\n")?;
    let n: i64 = std::str::from_utf8(&b[1..e]).ok()?.parse().ok()?;
    let mut pos = e + 2;
    let mut out = Vec::new();
    for _ in 0..n {
        let (_, len) = parse_prefix(&b[pos..]).ok()??;
        out.push(b[pos..pos + len].to_vec());
        pos += len;
    }
    Some(out)
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
    let specs: Vec<&'static Spec> = SPECS.iter().filter(|s| enabled.contains(s.name)).collect();
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

/// Which writes invalidate a WATCH: Redis signals a key only when the command really modified it (with
/// a few exceptions of its own, e.g. LTRIM always), never a key it only read or did not find. One
/// command at a time, on both servers: WATCH key, the command, then MULTI / PING / EXEC.
#[test]
fn watch_matches_redis() {
    if !is_enabled("watch") {
        println!("SKIPPED: watch not enabled");
        return;
    }
    let Some((fk, rd)) = pair() else {
        return;
    };
    let setup: &[&[&str]] = &[
        &["ZADD", "z", "1", "a", "2", "b"],
        &["ZADD", "z2", "1", "a"],
        &["RPUSH", "l", "a", "b"],
        &["RPUSH", "l2", "x"],
        &["SADD", "s", "a", "b"],
        &["SADD", "s2", "b"],
        &["HSET", "h", "f", "v"],
        &["SET", "str", "abc"],
        &["SET", "t", "v", "PXAT", "4102444800000"],
    ];
    let cases: &[(&str, &[&str])] = &[
        ("t", &["PEXPIREAT", "t", "4102444800000"]),
        ("t", &["EXPIREAT", "t", "4102444800"]),
        ("t", &["PERSIST", "t"]),
        ("str", &["PERSIST", "str"]),
        ("t", &["GETEX", "t", "PXAT", "4102444800000"]),
        ("z", &["ZMPOP", "1", "z", "MIN"]),
        ("z", &["ZMPOP", "2", "nokey", "z", "MIN"]),
        ("l", &["LMPOP", "1", "l", "LEFT"]),
        ("dst", &["ZUNIONSTORE", "dst", "1", "z"]),
        ("z", &["ZUNIONSTORE", "dst", "1", "z"]),
        ("dst", &["ZINTERSTORE", "dst", "2", "z", "z2"]),
        ("dst", &["ZDIFFSTORE", "dst", "1", "z"]),
        ("dst", &["ZRANGESTORE", "dst", "z", "0", "-1"]),
        ("z", &["ZRANGESTORE", "dst", "z", "0", "-1"]),
        ("dst", &["SINTERSTORE", "dst", "s", "s2"]),
        ("s", &["SINTERSTORE", "dst", "s", "s2"]),
        ("dst", &["SUNIONSTORE", "dst", "s"]),
        ("dst", &["SDIFFSTORE", "dst", "s"]),
        ("dst", &["BITOP", "OR", "dst", "str"]),
        ("str", &["BITOP", "OR", "dst", "str"]),
        ("l", &["LMOVE", "l", "l2", "LEFT", "LEFT"]),
        ("l2", &["LMOVE", "l", "l2", "LEFT", "LEFT"]),
        ("l2", &["RPOPLPUSH", "l", "l2"]),
        ("s", &["SMOVE", "s", "s2", "a"]),
        ("s2", &["SMOVE", "s", "s2", "a"]),
        ("s2", &["SMOVE", "s", "s2", "b"]),
        ("dst", &["COPY", "z", "dst"]),
        ("z", &["COPY", "z", "dst"]),
        ("z", &["RENAME", "z", "dst"]),
        ("dst", &["RENAME", "z", "dst"]),
        ("z", &["MOVE", "z", "1"]),
        ("nokey", &["DEL", "z", "nokey"]),
        ("nokey", &["UNLINK", "z", "nokey"]),
        ("nokey", &["MSETNX", "nokey", "1", "str", "2"]),
        ("z", &["ZREM", "z", "nope"]),
        ("z", &["ZREM", "z", "a"]),
        ("z", &["ZADD", "z", "1", "a"]),
        ("z", &["ZADD", "z", "5", "a"]),
        ("z", &["ZINCRBY", "z", "0", "a"]),
        ("z", &["ZREMRANGEBYSCORE", "z", "5", "6"]),
        ("z", &["ZPOPMIN", "z", "0"]),
        ("h", &["HINCRBYFLOAT", "h", "g", "0"]),
        ("h", &["HDEL", "h", "zz"]),
        ("h", &["HSET", "h", "f", "v"]),
        ("str", &["SETRANGE", "str", "0", ""]),
        ("str", &["SETBIT", "str", "0", "0"]),
        ("str", &["BITFIELD", "str", "GET", "u8", "0"]),
        ("str", &["BITFIELD", "str", "SET", "u8", "0", "97"]),
        ("str", &["APPEND", "str", ""]),
        ("str", &["INCRBYFLOAT", "str", "0"]),
        ("l", &["LREM", "l", "0", "zz"]),
        ("l", &["LTRIM", "l", "0", "-1"]),
        ("l", &["LSET", "l", "0", "a"]),
        ("l", &["LINSERT", "l", "BEFORE", "zz", "q"]),
        ("l", &["LPOP", "l", "0"]),
        ("l", &["BLPOP", "l", "0"]),
        ("l", &["BLMPOP", "0", "1", "l", "LEFT"]),
        ("s", &["SPOP", "s", "0"]),
        ("s", &["SREM", "s", "zz"]),
        ("z", &["EXPIRE", "z", "100"]),
        ("z", &["PERSIST", "z"]),
    ];
    let mut conns = [Wire::connect(fk.port), Wire::connect(rd.port)];
    let mut failures = Vec::new();
    for (key, cmd) in cases {
        let mut got = Vec::new();
        for c in &mut conns {
            c.cmd(&[b"FLUSHALL"]);
            for s in setup {
                let s: Vec<&[u8]> = s.iter().map(|a| a.as_bytes()).collect();
                c.cmd(&s);
            }
            c.cmd(&[b"WATCH", key.as_bytes()]);
            let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
            let reply = c.cmd(&args);
            c.cmd(&[b"MULTI"]);
            c.cmd(&[b"PING"]);
            let exec = c.cmd(&[b"EXEC"]);
            got.push((reply, exec));
        }
        if got[0] != got[1] {
            failures.push(format!(
                "WATCH {key}; {}: ferrokv {} then EXEC {}, redis {} then EXEC {}",
                cmd.join(" "),
                esc(&got[0].0),
                esc(&got[0].1),
                esc(&got[1].0),
                esc(&got[1].1)
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

/// What a MONITOR client sees, line by line, against Redis: the timestamp and the client's address are
/// masked, the rest (quoting, the db, MULTI/EXEC order, redaction, what is left out) must be equal.
#[test]
fn monitor_matches_redis() {
    let Some((fk, rd)) = pair() else {
        return;
    };
    let script: &[&[&str]] = &[
        &["SET", "foo", "bar\n\x01\"x\\"],
        &["GET", "foo"],
        &["SELECT", "2"],
        &["SET", "a", "1"],
        &["SELECT", "0"],
        &["MULTI"],
        &["SET", "x", "1"],
        &["EXEC"],
        &["MULTI"],
        &["NOSUCH"],
        &["EXEC"],
        &["AUTH", "a", "b"],
        &["AUTH", "x"],
        &["HELLO", "2", "AUTH", "u", "p"],
        &["CONFIG", "GET", "maxmemory"],
        &["CLIENT", "SETNAME", "bob"],
        &["CLIENT", "LIST"],
        &["GET"],
        &["BLPOP", "nolist", "0.01"],
        &["EXEC", "x"],
        &["MULTI"],
        &["EXEC", "extra"],
        &[
            "EVAL",
            "redis.call('set',KEYS[1],ARGV[1]) return redis.call('get',KEYS[1])",
            "1",
            "k2",
            "v",
        ],
        &["EVALSHA", "0000000000000000000000000000000000000000", "0"],
        &["FCALL", "nofn", "0"],
        &["PING"],
    ];
    let mut seen = Vec::new();
    for port in [fk.port, rd.port] {
        let mut m = Wire::connect(port);
        assert_eq!(m.cmd(&[b"MONITOR"]), b"+OK\r\n");
        let mut c = Wire::connect(port);
        for args in script {
            let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
            c.cmd(&args);
        }
        // A monitor may not touch the keyspace; its own PING is shown to it after its reply.
        let mut lines = Vec::new();
        // Not shown: NOSUCH and GET (rejected), CONFIG GET and CLIENT LIST (admin). Shown twice more: the
        // SET and GET the EVAL runs, as from `lua`.
        for _ in 0..script.len() - 4 + 2 {
            lines.push(m.read_reply().expect("monitor line"));
        }
        lines.push(m.cmd(&[b"GET", b"k"]));
        lines.push(m.cmd(&[b"PING"]));
        lines.push(m.read_reply().expect("monitor line"));
        lines.push(m.cmd(&[b"RESET"]));
        lines.push(m.cmd(&[b"GET", b"k"]));
        let masked: Vec<String> = lines
            .iter()
            .map(|l| {
                let s = String::from_utf8_lossy(l).to_string();
                match (s.find(" ["), s.find("] ")) {
                    (Some(a), Some(b)) if s.starts_with('+') && a < b => {
                        let db = s[a + 2..b].split(' ').next().unwrap_or("").to_string();
                        format!("+T [{db} ADDR]{}", &s[b + 1..])
                    }
                    _ => s,
                }
            })
            .collect();
        seen.push(masked);
    }
    assert_eq!(seen[0], seen[1]);
}
