//! HyperLogLog over raw RESP, as exact bytes (the bytes Redis 7.0.15 sends and stores): the string layout
//! PFADD builds (header, sparse opcodes), the cached cardinality and its stale bit, promotion to dense at
//! `hll-sparse-max-bytes`, PFMERGE, PFDEBUG, the errors for non-HLL and corrupt strings, and a seeded
//! differential run against a real `redis-server` that compares every reply and the HLL bytes themselves,
//! and swaps HLL strings between the two servers with GET/SET.

mod common;

use common::{check, RawConn, TestServer};

/// The raw bytes of a bulk reply.
fn bulk(reply: &[u8]) -> Vec<u8> {
    let nl = reply.windows(2).position(|w| w == b"\r\n").expect("header");
    reply[nl + 2..reply.len() - 2].to_vec()
}

const NOT_HLL: &str = "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n";
const INVALID: &str = "-INVALIDOBJ Corrupted HLL object detected\r\n";
const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

/// An empty HLL: sparse, one XZERO opcode covering all 16384 registers.
const EMPTY: &[u8] = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f\xff";
/// `PFADD k a b c` in Redis 7.0.15, byte for byte.
const ABC: &[u8] = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80`\xf3\x80P\xb1\x84K\xfb\x80BZ";

#[test]
fn layout_matches_redis() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    check(&mut c, &["PFADD", "e"], ":1\r\n");
    assert_eq!(bulk(&c.cmd(&[b"GET", b"e"])), EMPTY);
    check(&mut c, &["TYPE", "e"], "+string\r\n");
    check(&mut c, &["OBJECT", "ENCODING", "e"], "$3\r\nraw\r\n");
    check(&mut c, &["PFADD", "k", "a", "b", "c"], ":1\r\n");
    assert_eq!(bulk(&c.cmd(&[b"GET", b"k"])), ABC);
    check(
        &mut c,
        &["PFDEBUG", "DECODE", "k"],
        "$44\r\nZ:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603\r\n",
    );
    check(&mut c, &["PFDEBUG", "ENCODING", "k"], "+sparse\r\n");
    // Counting stores the cardinality in the header and clears the stale bit.
    check(&mut c, &["PFCOUNT", "k"], ":3\r\n");
    let mut cached = ABC.to_vec();
    cached[8] = 3;
    cached[15] = 0;
    assert_eq!(bulk(&c.cmd(&[b"GET", b"k"])), cached);
    // Adding what is already there leaves the cache valid; a new register marks it stale.
    check(&mut c, &["PFADD", "k", "a", "b", "c"], ":0\r\n");
    check(&mut c, &["GETRANGE", "k", "15", "15"], "$1\r\n\0\r\n");
    check(&mut c, &["PFADD", "k", "1", "2", "3"], ":1\r\n");
    assert_eq!(c.cmd(&[b"GETRANGE", b"k", b"15", b"15"]), b"$1\r\n\x80\r\n");
    check(&mut c, &["PFCOUNT", "k"], ":6\r\n");
    check(&mut c, &["PFADD", "k", ""], ":1\r\n");
}

#[test]
fn counts_merges_and_promotion() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    check(&mut c, &["PFCOUNT", "nokey"], ":0\r\n");
    check(&mut c, &["PFCOUNT", "nokey", "other"], ":0\r\n");
    check(&mut c, &["EXISTS", "nokey"], ":0\r\n");
    check(&mut c, &["PFADD", "h1", "a", "b", "c"], ":1\r\n");
    check(&mut c, &["PFADD", "h2", "b", "c", "d"], ":1\r\n");
    check(&mut c, &["PFADD", "h3", "c", "d", "e"], ":1\r\n");
    check(&mut c, &["PFCOUNT", "h1", "h2", "h3"], ":5\r\n");
    check(&mut c, &["PFMERGE", "u", "h1", "h2", "h3"], "+OK\r\n");
    check(&mut c, &["PFCOUNT", "u"], ":5\r\n");
    check(&mut c, &["PFDEBUG", "ENCODING", "u"], "+sparse\r\n");
    // A merge with no sources creates an empty HLL whose cache is stale.
    check(&mut c, &["PFMERGE", "m"], "+OK\r\n");
    let mut stale = EMPTY.to_vec();
    stale[15] = 0x80;
    assert_eq!(bulk(&c.cmd(&[b"GET", b"m"])), stale);

    // Past hll-sparse-max-bytes the HLL turns dense (16 + 12288 bytes).
    check(
        &mut c,
        &["CONFIG", "SET", "hll-sparse-max-bytes", "200"],
        "+OK\r\n",
    );
    check(
        &mut c,
        &["CONFIG", "GET", "hll-sparse-max-bytes"],
        "*2\r\n$20\r\nhll-sparse-max-bytes\r\n$3\r\n200\r\n",
    );
    let elems: Vec<String> = (0..100).map(|i| format!("e{i}")).collect();
    let mut args = vec!["PFADD", "big"];
    args.extend(elems.iter().map(String::as_str));
    check(&mut c, &args, ":1\r\n");
    check(&mut c, &["PFDEBUG", "ENCODING", "big"], "+dense\r\n");
    check(&mut c, &["STRLEN", "big"], ":12304\r\n");
    check(&mut c, &["PFCOUNT", "big"], ":100\r\n");
    // A dense source makes the destination dense.
    check(&mut c, &["PFMERGE", "u", "big"], "+OK\r\n");
    check(&mut c, &["PFDEBUG", "ENCODING", "u"], "+dense\r\n");
    check(&mut c, &["PFCOUNT", "u"], ":105\r\n");
    check(&mut c, &["PFDEBUG", "TODENSE", "u"], ":0\r\n");
    check(&mut c, &["PFDEBUG", "TODENSE", "h1"], ":1\r\n");
    check(
        &mut c,
        &["PFDEBUG", "DECODE", "h1"],
        "-ERR HLL encoding is not sparse\r\n",
    );
    let regs = c.cmd(&[b"PFDEBUG", b"GETREG", b"h1"]);
    assert!(regs.starts_with(b"*16384\r\n:0\r\n"));
    check(
        &mut c,
        &["CONFIG", "SET", "hll-sparse-max-bytes", "3000"],
        "+OK\r\n",
    );
    check(&mut c, &["PFSELFTEST"], "+OK\r\n");
}

#[test]
fn errors() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    check(
        &mut c,
        &["PFADD"],
        "-ERR wrong number of arguments for 'pfadd' command\r\n",
    );
    check(
        &mut c,
        &["PFDEBUG", "GETREG"],
        "-ERR wrong number of arguments for 'pfdebug' command\r\n",
    );
    c.cmds(&["SET", "str", "bar"]);
    c.cmds(&["SET", "int", "12345"]);
    c.cmds(&["RPUSH", "list", "a"]);
    for k in ["str", "int"] {
        check(&mut c, &["PFADD", k, "x"], NOT_HLL);
        check(&mut c, &["PFCOUNT", k], NOT_HLL);
        check(&mut c, &["PFCOUNT", "nokey", k], NOT_HLL);
        check(&mut c, &["PFMERGE", "dest", k], NOT_HLL);
        check(&mut c, &["PFMERGE", k, "nokey"], NOT_HLL);
        check(&mut c, &["PFDEBUG", "ENCODING", k], NOT_HLL);
    }
    check(&mut c, &["PFADD", "list", "x"], WRONGTYPE);
    check(&mut c, &["PFCOUNT", "list"], WRONGTYPE);
    check(&mut c, &["PFMERGE", "dest", "list"], WRONGTYPE);
    check(&mut c, &["EXISTS", "dest"], ":0\r\n");
    check(
        &mut c,
        &["PFDEBUG", "ENCODING", "nokey"],
        "-ERR The specified key does not exist\r\n",
    );
    c.cmds(&["PFADD", "h", "a", "b", "c"]);
    check(
        &mut c,
        &["PFDEBUG", "nope", "h"],
        "-ERR Unknown PFDEBUG subcommand 'nope'\r\n",
    );

    // Corruptions Redis's own tests make.
    c.cmds(&["APPEND", "h", "hello"]);
    check(&mut c, &["PFCOUNT", "h"], INVALID);
    c.cmds(&["DEL", "h"]);
    c.cmds(&["PFADD", "h", "a", "b", "c"]);
    c.cmds(&["SETRANGE", "h", "0", "0123"]);
    check(&mut c, &["PFCOUNT", "h"], NOT_HLL);
    c.cmds(&["DEL", "h"]);
    c.cmds(&["PFADD", "h", "a", "b", "c"]);
    c.cmds(&["SETRANGE", "h", "4", "x"]);
    check(&mut c, &["PFCOUNT", "h"], NOT_HLL);
    c.cmds(&["DEL", "h"]);
    c.cmds(&["PFADD", "h", "a", "b", "c"]);
    c.cmds(&["SETRANGE", "h", "4", "\0"]);
    check(&mut c, &["PFCOUNT", "h"], NOT_HLL);
    // A VAL run past the last register: every reader refuses it.
    let mut bad = EMPTY.to_vec();
    bad.push(0x80);
    c.cmd(&[b"SET", b"v", &bad]);
    check(&mut c, &["PFCOUNT", "v", "nokey"], INVALID);
    check(&mut c, &["PFMERGE", "d", "v"], INVALID);
    check(&mut c, &["PFDEBUG", "TODENSE", "v"], INVALID);
    check(&mut c, &["PING"], "+PONG\r\n");
}

/// Runs `args` on both servers and asserts the same reply; returns Redis's.
#[track_caller]
fn both(f: &mut RawConn, r: &mut RawConn, args: &[&[u8]]) -> Vec<u8> {
    let want = r.cmd(args);
    let got = f.cmd(args);
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&want),
        "{:?}",
        args.iter()
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect::<Vec<_>>()
    );
    want
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Random PFADD / PFCOUNT / PFMERGE / PFDEBUG sequences (with promotion thresholds changing, random
/// corruption, and HLL strings moved between the servers) give the same replies and the same bytes on
/// ferrokv and on a real redis-server.
#[test]
fn differential_against_redis() {
    let Some(redis) = common::start_redis() else {
        return;
    };
    let s = TestServer::start(&[]);
    let (mut f, mut r) = (s.raw(), redis.raw());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let keys: [&[u8]; 5] = [b"h0", b"h1", b"h2", b"h3", b"h4"];
    for step in 0..2500 {
        let k = keys[rng.below(keys.len() as u64) as usize];
        match rng.below(100) {
            0..=44 => {
                let n = [0, 1, 1, 2, 3, 8, 40, 200][rng.below(8) as usize];
                let space = [10, 1000, 100_000, 1 << 40][rng.below(4) as usize];
                let elems: Vec<Vec<u8>> = (0..n)
                    .map(|_| rng.below(space).to_string().into_bytes())
                    .collect();
                let mut args: Vec<&[u8]> = vec![b"PFADD", k];
                args.extend(elems.iter().map(Vec::as_slice));
                both(&mut f, &mut r, &args);
            }
            45..=59 => {
                both(&mut f, &mut r, &[b"PFCOUNT", k]);
            }
            60..=67 => {
                let k2 = keys[rng.below(keys.len() as u64) as usize];
                both(&mut f, &mut r, &[b"PFCOUNT", k, k2, b"missing"]);
            }
            68..=77 => {
                let k2 = keys[rng.below(keys.len() as u64) as usize];
                let k3 = keys[rng.below(keys.len() as u64) as usize];
                both(&mut f, &mut r, &[b"PFMERGE", k, k2, k3]);
            }
            78..=81 => {
                both(&mut f, &mut r, &[b"PFDEBUG", b"TODENSE", k]);
            }
            82..=84 => {
                both(&mut f, &mut r, &[b"PFDEBUG", b"DECODE", k]);
            }
            85..=86 => {
                let v = ["0", "40", "100", "300", "3000"][rng.below(5) as usize];
                both(
                    &mut f,
                    &mut r,
                    &[b"CONFIG", b"SET", b"hll-sparse-max-bytes", v.as_bytes()],
                );
            }
            87..=90 => {
                // Redis's bytes stored into ferrokv and ferrokv's into Redis.
                let from_redis = r.cmd(&[b"GET", k]);
                if from_redis.starts_with(b"$-1") {
                    continue;
                }
                let data = bulk(&from_redis);
                let dst = keys[rng.below(keys.len() as u64) as usize];
                f.cmd(&[b"SET", dst, &data]);
                let from_f = bulk(&f.cmd(&[b"GET", dst]));
                r.cmd(&[b"SET", dst, &from_f]);
            }
            91..=93 => {
                let len = both(&mut f, &mut r, &[b"STRLEN", k]);
                let len: u64 = std::str::from_utf8(&len[1..len.len() - 2])
                    .expect("int")
                    .parse()
                    .expect("int");
                if len > 0 {
                    let pos = rng.below(len).to_string();
                    let byte = [rng.below(256) as u8];
                    both(&mut f, &mut r, &[b"SETRANGE", k, pos.as_bytes(), &byte]);
                }
            }
            94 => {
                both(&mut f, &mut r, &[b"DEL", k]);
            }
            _ => {
                both(&mut f, &mut r, &[b"OBJECT", b"ENCODING", k]);
            }
        }
        if step % 10 == 0 {
            for k in keys {
                both(&mut f, &mut r, &[b"GET", k]);
            }
        }
    }
}
