//! Redis 7.0 Functions: FUNCTION LOAD / LIST / DELETE / FLUSH / DUMP / RESTORE / STATS, FCALL and FCALL_RO,
//! compared byte for byte with a real redis-server where one is installed, plus persistence round trips
//! (SAVE and restart, RDB files and DUMP payloads crossing between Redis and ferrokv) and the runaway-function
//! abort.

mod common;

use std::time::Instant;

use common::{crc64, differential, start_redis, Cmp, TempDir, TestServer};

/// Requests whose replies must match Redis's exactly (listings up to order), in order (later ones see what earlier ones loaded).
const REQUESTS: &[&[&str]] = &[
    &["function", "flush"],
    &["function", "load", "#!lua name=t1\nlocal x = string.len('a')"],
    &["function", "load", "#!lua name=t2\nerror('boom')"],
    &["function", "load", "#!lua name=t3\nredis.register_function('f', 1)"],
    &["function", "load", "#!lua name=t4\nredis.call('set','a','b')"],
    &["function", "load", "#!lua name=t5\nredis.register_function('f', function() return redis.register_function end)"],
    &["fcall", "f", "0"],
    &["function", "load", "#!lua name=t6\nredis.register_function('g', function(k,a) return redis.call('get', 'zz') .. KEYS[1] end)"],
    &["fcall", "g", "0"],
    &["function", "load", "#!lua name=t7\nredis.register_function('h', function(k,a) return {k[1], a[1], #k, #a} end)"],
    &["fcall", "H", "1", "a", "b", "c"],
    &["function", "load", "#!lua name=t8\nlocal a = 1\nwhile true do a = a + 1 end"],
    &["function", "load", "#!lua name=t9\nredis.register_function{function_name='x', callback=function() return 1 end, flags={'no-writes', 'bad'}}"],
    &["function", "load", "#!lua name=t9\nredis.register_function{function_name='x', callback=function() return 1 end, flags={'no-writes', 'allow-oom'}, description='hi'}"],
    &["function", "list", "libraryname", "t9"],
    &["function", "list", "libraryname", "t9", "withcode"],
    &["function", "stats"],
    &["function", "load", "return 1"],
    &["function", "load", "#!lua"],
    &["function", "load", "#!lua name=a name=b\n"],
    &["function", "load", "#!lua foo=bar\n"],
    &["function", "load", "#!lua\n"],
    &["function", "load", "#!luax name=z\n"],
    &["function", "load", "#!lua name=z-z\n"],
    &["function", "load", "#!lua name=z\n"],
    &["function", "load", "#!lua name=z\nredis.register_function('a', function() end) redis.register_function('a', function() end)"],
    &["function", "load", "#!lua name=z\nredis.register_function('h', function() end)"],
    &["function", "load", "#!lua name=z\nredis.register_function('a-b', function() end)"],
    &["function", "load", "#!lua name=z\nredis.register_function()"],
    &["function", "load", "#!lua name=z\nredis.register_function('a')"],
    &["function", "load", "#!lua name=z\nredis.register_function(1, function() end, 3)"],
    &["function", "load", "#!lua name=z\nredis.register_function{}"],
    &["function", "load", "#!lua name=z\nredis.register_function{callback=function() end}"],
    &["function", "load", "#!lua name=z\nredis.register_function{function_name='q'}"],
    &["function", "load", "#!lua name=z\nredis.register_function{function_name='q', callback=1}"],
    &["function", "load", "#!lua name=z\nredis.register_function{function_name='q', callback=function() end, flags=1}"],
    &["function", "load", "#!lua name=z\nredis.register_function{function_name='q', callback=function() end, foo=1}"],
    &["function", "load", "#!lua name=z\nredis.register_function{function_name={}, callback=function() end}"],
    &["function", "load", "#!lua name=z\nredis.register_function{function_name='q', callback=function() end, description={}}"],
    &["function", "load", "#!lua name=z\nredis.register_function(5)"],
    &["function", "load", "#!lua name=z\nredis.register_function('q', function() end"],
    &["function", "load", "#!lua name=z\nredis.log(redis.LOG_WARNING, 'x') redis.register_function('q', function() return redis.REDIS_VERSION end)"],
    &["fcall", "q", "0"],
    &["function", "load", "replace", "#!lua name=z\nredis.register_function('q2', function(k, a) return redis.call('set', k[1], a[1]) end)"],
    &["fcall", "q", "0"],
    &["fcall", "q2", "1", "k", "v"],
    &["fcall_ro", "q2", "1", "k", "v"],
    &["fcall", "x", "0"],
    &["fcall_ro", "x", "0"],
    &["fcall", "q2", "x"],
    &["fcall", "q2", "5"],
    &["function", "load", "#!lua name=w\nredis.register_function{function_name='w', callback=function(k) return redis.call('set', k[1], 1) end, flags={'no-writes'}}"],
    &["fcall", "w", "1", "a"],
    &["function", "load", "#!lua name=e\nredis.register_function('e1', function() error('oops') end) redis.register_function('e2', function() return redis.error_reply('MY err') end) redis.register_function('e3', function() return redis.call('nosuch') end) redis.register_function('e4', function() return {err='x'} end)"],
    &["fcall", "e1", "0"],
    &["fcall", "e2", "0"],
    &["fcall", "e3", "0"],
    &["fcall", "e4", "0"],
    &["function", "delete", "nosuch"],
    &["function", "delete", "e"],
    &["function", "list", "withcode", "withcode"],
    &["function", "list", "libraryname"],
    &["function", "list", "foo"],
    &["function", "restore", "garbage"],
    &["function", "restore", "x", "bad"],
    &["function", "kill"],
    &["function", "help"],
    &["function", "stats"],
    &["function", "flush", "x"],
    // The subcommand as typed, in Redis's generic error.
    &["FUNCTION", "FLUSH", "a", "b"],
    &["FUNCTION", "Restore", "x", "y", "z"],
    &["function", "flush", "sync"],
    &["function", "list"],
    &["function", "dump"],    // Flags, descriptions and the RESP2 view of the list.
    &["function", "load", "#!lua name=fl\nredis.register_function{function_name='f1', callback=function() return 1 end, flags={'allow-stale', 'no-cluster', 'allow-cross-slot-keys', 'ALLOW-OOM'}, description='d'}"],
    &["function", "list", "libraryname", "FL", "withcode"],
    &["function", "load", "#!lua name=fl_ro\nredis.register_function{function_name='f2', callback=function(k, a) return redis.call('get', k[1]) end, flags={'no-writes'}}"],
    &["function", "list", "libraryname", "fl_?o"],
    &["fcall", "f1", "0"],
    &["fcall_ro", "f1", "0"],
    &["fcall_ro", "f2", "1", "k"],
    &["fcall", "F2", "1", "k"],
    &["function", "load", "#!lua name=fl2\nredis.register_function('f1', function() return 2 end)"],
    &["function", "load", "#!lua name=fl2\nredis.register_function('F1', function() return 2 end)"],
    &["function", "load", "replace", "#!lua name=fl\nredis.register_function('f3', function() return 3 end)"],
    &["fcall", "f1", "0"],
    &["fcall", "f3", "0"],
    &["function", "load", "bogus", "#!lua name=fl\n"],
    &["function", "load", "replace"],
    &["function", "load", "#!lua name=\"quoted lib\"\nredis.register_function('qq', function() return 1 end)"],
    &["function", "load", "#!lua name=\"unbalanced\nredis.register_function('qq', function() return 1 end)"],
    &["function", "load", "#!LUA NAME=upper\nredis.register_function('up', function() return redis.setresp(3) end)"],
    &["fcall", "up", "0"],
    // Run-time behaviour: the script's globals, redis.* and errors with the function's name.
    &["function", "load", "#!lua name=rt\nlocal cnt = 0\nredis.register_function('counter', function() cnt = cnt + 1 return cnt end)\nredis.register_function('glob', function() x = 1 end)\nredis.register_function('sha', function(k, a) return redis.sha1hex(a[1]) end)\nredis.register_function('pc', function() return redis.pcall('incr', 'str') end)\nredis.register_function('resp', function() redis.setresp(3) return redis.call('hgetall', 'nohash') end)\nredis.register_function('tbl', function() return {1, 'two', {3}, {ok='fine'}} end)"],
    &["fcall", "counter", "0"],
    &["fcall", "counter", "0"],
    &["fcall", "glob", "0"],
    &["fcall", "sha", "0", "abc"],
    &["set", "str", "notanumber"],
    &["fcall", "pc", "0"],
    &["fcall", "resp", "0"],
    &["fcall", "tbl", "0"],
    &["function", "stats"],
    &["function", "delete", "rt"],
    &["fcall", "counter", "0"],
    &["script", "flush"],
    &["fcall", "f3", "0"],
    &["flushall"],
    &["fcall", "f3", "0"],
    &["function", "delete", "fl"],
    &["function", "delete", "fl_ro"],
    &["function", "delete", "upper"],
    &["function", "delete", "quoted lib"],
    &["function", "list"],
    &["function", "stats"],
];

#[test]
fn functions_match_redis() {
    differential(|run| {
        for req in REQUESTS {
            // Redis lists libraries in its hash table's (seeded) order; the table's libraries hold one function
            // each where a listing shows them, as the order within a library is the same hash order.
            let listing = req.len() > 2 && req[1] == "list";
            run(req, if listing { Cmp::Sorted } else { Cmp::Exact });
        }
    });
}

#[test]
fn resp3_function_replies_match_redis() {
    differential(|run| {
        run(&["hello", "3"], Cmp::Shape);
        run(&["function", "load", "#!lua name=r3\nredis.register_function{function_name='a', callback=function() return {double = 1.5} end, flags={'no-writes', 'allow-oom'}, description='x'}"], Cmp::Exact);
        run(&["function", "load", "#!lua name=r3b\nredis.register_function('b', function() redis.setresp(3) return redis.call('hgetall', 'none') end)"], Cmp::Exact);
        run(&["function", "list"], Cmp::Sorted);
        run(&["function", "list", "withcode"], Cmp::Sorted);
        run(&["function", "stats"], Cmp::Exact);
        run(&["fcall", "a", "0"], Cmp::Exact);
        run(&["fcall", "b", "0"], Cmp::Exact);
    });
}

/// The value of a RESP bulk reply.
fn bulk(r: &[u8]) -> Vec<u8> {
    assert_eq!(r[0], b'$', "{}", String::from_utf8_lossy(r));
    let nl = r.iter().position(|&c| c == b'\n').unwrap();
    let n: usize = std::str::from_utf8(&r[1..nl - 1]).unwrap().parse().unwrap();
    r[nl + 1..nl + 1 + n].to_vec()
}

const LIB_A: &str =
    "#!lua name=liba\nredis.register_function('fa', function(k, a) return {k[1], a[1]} end)";
const LIB_B: &str = "#!lua name=libb\nredis.register_function{function_name='fb', callback=function() return 'b' end, flags={'no-writes'}}";

#[test]
fn dump_and_restore_cross_between_redis_and_ferrokv() {
    let Some(redis) = start_redis() else {
        return;
    };
    let ours = TestServer::start(&[]);
    let (mut r, mut f) = (redis.raw(), ours.raw());
    // One library: the payloads are the same bytes.
    for c in [&mut r, &mut f] {
        assert_eq!(c.cmds(&["function", "load", LIB_A]), "$4\r\nliba\r\n");
    }
    let dump_r = bulk(&r.cmd(&[b"function", b"dump"]));
    assert_eq!(dump_r, bulk(&f.cmd(&[b"function", b"dump"])));
    // Redis's payload restores here, with Redis's replies for each policy.
    for (policy, _) in [("append", 0), ("replace", 0), ("flush", 0)] {
        let a = f.cmd(&[b"function", b"restore", &dump_r, policy.as_bytes()]);
        let b = r.cmd(&[b"function", b"restore", &dump_r, policy.as_bytes()]);
        assert_eq!(
            String::from_utf8_lossy(&a),
            String::from_utf8_lossy(&b),
            "{policy}"
        );
    }
    // Two libraries: ours restored into a flushed Redis lists the same.
    for c in [&mut r, &mut f] {
        assert_eq!(c.cmds(&["function", "load", LIB_B]), "$4\r\nlibb\r\n");
    }
    let dump_f = bulk(&f.cmd(&[b"function", b"dump"]));
    assert_eq!(r.cmds(&["function", "flush"]), "+OK\r\n");
    assert_eq!(
        String::from_utf8_lossy(&r.cmd(&[b"function", b"restore", &dump_f])),
        "+OK\r\n"
    );
    for lib in ["liba", "libb"] {
        let args = ["function", "list", "withcode", "libraryname", lib];
        assert_eq!(r.cmds(&args), f.cmds(&args), "{lib}");
    }
    assert_eq!(
        r.cmds(&["fcall", "fa", "1", "k", "v"]),
        f.cmds(&["fcall", "fa", "1", "k", "v"])
    );
    // Error cases: a bad checksum, a key's DUMP, a function collision from another library.
    let mut bad = dump_f.clone();
    bad[3] ^= 1;
    let key_dump = {
        r.cmds(&["set", "k", "v"]);
        bulk(&r.cmd(&[b"dump", b"k"]))
    };
    let clash = "#!lua name=other\nredis.register_function('fa', function() return 1 end)";
    let mut clash_dump = Vec::new();
    for c in [&mut r, &mut f] {
        c.cmds(&["function", "flush"]);
        c.cmds(&["function", "load", clash]);
    }
    let other = bulk(&r.cmd(&[b"function", b"dump"]));
    clash_dump.extend_from_slice(&other);
    for c in [&mut r, &mut f] {
        c.cmds(&["function", "flush"]);
        c.cmds(&["function", "load", LIB_A]);
    }
    for payload in [&bad, &key_dump, &clash_dump, &dump_f] {
        for policy in ["append", "replace"] {
            let a = f.cmd(&[b"function", b"restore", payload, policy.as_bytes()]);
            let b = r.cmd(&[b"function", b"restore", payload, policy.as_bytes()]);
            assert_eq!(
                String::from_utf8_lossy(&a),
                String::from_utf8_lossy(&b),
                "{policy}"
            );
        }
    }
}

#[test]
fn libraries_survive_save_and_restart() {
    let dir = TempDir::new("fn-rdb");
    let s = TestServer::start(&["--dir", dir.path()]);
    let mut c = s.raw();
    assert_eq!(c.cmds(&["function", "load", LIB_A]), "$4\r\nliba\r\n");
    assert_eq!(c.cmds(&["function", "load", LIB_B]), "$4\r\nlibb\r\n");
    c.cmds(&["set", "k", "v"]);
    let listed = c.cmds(&["function", "list", "withcode"]);
    assert_eq!(c.cmds(&["debug", "reload"]), "+OK\r\n");
    assert_eq!(c.cmds(&["function", "list", "withcode"]), listed);
    assert_eq!(c.cmds(&["save"]), "+OK\r\n");
    drop(s);
    let s = TestServer::start(&["--dir", dir.path()]);
    let mut c = s.raw();
    assert_eq!(c.cmds(&["function", "list", "withcode"]), listed);
    assert_eq!(c.cmds(&["fcall", "fb", "0"]), "$1\r\nb\r\n");
    assert_eq!(c.cmds(&["get", "k"]), "$1\r\nv\r\n");
    drop(s);
    // Our file loads into Redis.
    let Some(redis) = common::start_redis_in(Some(dir.path()), &[]) else {
        return;
    };
    let mut r = redis.raw();
    assert_eq!(r.cmds(&["fcall", "fb", "0"]), "$1\r\nb\r\n");
    assert_eq!(
        r.cmds(&["fcall", "fa", "1", "x", "y"]),
        "*2\r\n$1\r\nx\r\n$1\r\ny\r\n"
    );
    // And Redis's file loads here.
    r.cmds(&["function", "flush"]);
    let lib_c = "#!lua name=libc\nredis.register_function('fc', function() return 'c' end)";
    r.cmds(&["function", "load", lib_c]);
    assert_eq!(r.cmds(&["save"]), "+OK\r\n");
    drop(redis);
    let s = TestServer::start(&["--dir", dir.path()]);
    let mut c = s.raw();
    assert_eq!(c.cmds(&["fcall", "fc", "0"]), "$1\r\nc\r\n");
    assert_eq!(c.cmds(&["fcall", "fa", "0"]), "-ERR Function not found\r\n");
}

#[test]
fn odd_payloads_and_libraries_never_bring_the_server_down() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmds(&["function", "load", LIB_A]);
    c.cmds(&["function", "load", LIB_B]);
    let dump = bulk(&c.cmd(&[b"function", b"dump"]));
    // Every cut and every single-byte change of a good payload, with its checksum made right again.
    let fix = |mut p: Vec<u8>| {
        if p.len() >= 10 {
            let f = p.len() - 8;
            let crc = crc64(&p[..f]);
            p[f..].copy_from_slice(&crc.to_le_bytes());
        }
        p
    };
    assert_eq!(fix(dump.clone()), dump);
    let mut payloads = Vec::new();
    for cut in 0..dump.len() {
        let mut p = dump[..cut].to_vec();
        p.extend_from_slice(&dump[dump.len() - 10..]);
        payloads.push(fix(p));
    }
    for i in 0..dump.len() - 10 {
        let mut p = dump.clone();
        p[i] = p[i].wrapping_add(0x41);
        payloads.push(fix(p));
    }
    for p in &payloads {
        let r = c.cmd(&[b"function", b"restore", p, b"replace"]);
        assert!(
            r[0] == b'+' || r[0] == b'-',
            "{}",
            String::from_utf8_lossy(&r)
        );
    }
    for code in [
        "#!lua name=x\nredis.register_function('f', function() return redis.call('function', 'flush') end)",
        "#!lua name=y\nredis.register_function('g', function() return redis.call('fcall', 'g', 0) end)",
        "#!lua name=z\nlocal t = {} for i = 1, 10 do redis.register_function('h' .. i, function() return i end) end",
        "#!lua name=w\nredis.register_function(string)",
        "#!lua name=v\0\nredis.register_function('v', function() return 1 end)",
    ] {
        let r = c.cmds(&["function", "load", "replace", code]);
        assert!(r.starts_with('$') || r.starts_with('-'), "{r}");
    }
    for f in ["f", "g", "h3", "v"] {
        let r = c.cmds(&["fcall", f, "0"]);
        assert!(!r.is_empty(), "{r}");
    }
    assert_eq!(c.cmds(&["ping"]), "+PONG\r\n");
}

#[test]
fn runaway_function_is_aborted_and_the_server_answers() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmds(&["config", "set", "busy-reply-threshold", "200"]),
        "+OK\r\n"
    );
    let lib = "#!lua name=spin\nredis.register_function('spin', function() while true do end end)";
    assert_eq!(c.cmds(&["function", "load", lib]), "$4\r\nspin\r\n");
    let t = Instant::now();
    let r = c.cmds(&["fcall", "spin", "0"]);
    assert!(
        r.starts_with(
            "-ERR Script killed by user with SCRIPT KILL... script: spin, on @user_function:2."
        ),
        "{r}"
    );
    assert!(t.elapsed().as_secs() < 5);
    // A library whose code never ends fails its load after Redis's 500 ms.
    let r = c.cmds(&["function", "load", "#!lua name=loop\nwhile true do end"]);
    assert_eq!(
        r,
        "-ERR Error registering functions: ERR FUNCTION LOAD timeout\r\n"
    );
    // The aborted load leaves the function runner as it was.
    let r = c.cmds(&["fcall", "spin", "0"]);
    assert!(r.starts_with("-ERR Script killed by user"), "{r}");
    assert_eq!(
        c.cmds(&["function", "kill"]),
        "-NOTBUSY No scripts in execution right now.\r\n"
    );
    assert_eq!(c.cmds(&["ping"]), "+PONG\r\n");
}
