//! Server commands at the byte level: CONFIG, INFO, COMMAND, DEBUG, FLUSHALL/FLUSHDB/SWAPDB/DBSIZE, the
//! scripting stubs and SHUTDOWN. Exact-reply checks run against ferrokv and, when `redis-server` is
//! installed, against real Redis 7.0 too (started with DEBUG enabled), so the expected bytes are themselves
//! checked against the oracle.

mod common;

use std::io::Write as _;
use std::time::{Duration, Instant};

use common::{RawConn, TestServer};

/// A real redis-server with DEBUG enabled, or None (a skip) when it is not installed outside CI.
fn start_oracle() -> Option<TestServer> {
    common::start_redis_in(None, &["--enable-debug-command", "yes"])
}

/// ferrokv, then the oracle when there is one: each check runs on both.
fn targets() -> Vec<(&'static str, TestServer)> {
    let mut v = vec![("ferrokv", TestServer::start(&[]))];
    if let Some(r) = start_oracle() {
        v.push(("redis", r));
    }
    v
}

fn ex(c: &mut RawConn, who: &str, args: &[&str], want: &str) {
    let got = c.cmds(args);
    assert_eq!(got, want, "{who} {args:?}");
}

/// Splits a flat RESP2 array of bulk strings (CONFIG GET's reply) into its strings.
fn bulks(reply: &str) -> Vec<String> {
    let mut lines = reply.split("\r\n");
    let head = lines.next().unwrap();
    let n: usize = head[1..].parse().unwrap();
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let len: usize = lines.next().unwrap()[1..].parse().unwrap();
        let s = lines.next().unwrap().to_string();
        assert_eq!(s.len(), len, "value with CRLF inside: {reply:?}");
        out.push(s);
    }
    out
}

/// The body of an INFO reply (RESP2 bulk).
fn info(c: &mut RawConn, args: &[&str]) -> String {
    let mut a = vec!["INFO"];
    a.extend_from_slice(args);
    let r = c.cmds(&a);
    let body = r.split_once("\r\n").unwrap().1;
    body.strip_suffix("\r\n").unwrap().to_string()
}

fn info_field(text: &str, key: &str) -> Option<String> {
    text.split("\r\n")
        .find_map(|l| l.strip_prefix(&format!("{key}:")).map(str::to_string))
}

#[test]
fn config_get_and_set_match_redis() {
    for (who, s) in targets() {
        let mut c = s.raw();
        let c = &mut c;
        ex(
            c,
            who,
            &["CONFIG", "GET", "hz"],
            "*2\r\n$2\r\nhz\r\n$2\r\n10\r\n",
        );
        // A plain name answers under the spelling asked for, once.
        ex(
            c,
            who,
            &["CONFIG", "GET", "HZ", "hz"],
            "*2\r\n$2\r\nHZ\r\n$2\r\n10\r\n",
        );
        ex(
            c,
            who,
            &["CONFIG", "GET", "save"],
            "*2\r\n$4\r\nsave\r\n$0\r\n\r\n",
        );
        ex(
            c,
            who,
            &["CONFIG", "GET", "appendonly"],
            "*2\r\n$10\r\nappendonly\r\n$2\r\nno\r\n",
        );
        ex(c, who, &["CONFIG", "GET", "nosuch*"], "*0\r\n");
        ex(
            c,
            who,
            &["CONFIG", "SET", "hz", "abc"],
            "-ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer\r\n",
        );
        ex(
            c,
            who,
            &["CONFIG", "SET", "foo", "1"],
            "-ERR Unknown option or number of arguments for CONFIG SET - 'foo'\r\n",
        );
        ex(
            c,
            who,
            &["CONFIG", "SET", "hz"],
            "-ERR wrong number of arguments for 'config|set' command\r\n",
        );
        ex(
            c,
            who,
            &["CONFIG", "SET", "hz", "10", "maxmemory"],
            "-ERR syntax error\r\n",
        );
        ex(
            c,
            who,
            &["CONFIG", "SET", "hz", "10", "HZ", "11"],
            "-ERR CONFIG SET failed (possibly related to argument 'HZ') - duplicate parameter\r\n",
        );
        ex(
            c,
            who,
            &["CONFIG", "SET", "databases", "5"],
            "-ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config\r\n",
        );
        ex(
            c,
            who,
            &["CONFIG", "SET", "maxmemory", "abc"],
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value\r\n",
        );
        ex(
            c,
            who,
            &["CONFIG", "SET", "maxclients", "0"],
            "-ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive\r\n",
        );
        ex(
            c,
            who,
            &["CONFIG", "SET", "timeout", "-1"],
            "-ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive\r\n",
        );
        ex(
            c,
            who,
            &["CONFIG", "SET", "appendonly", "maybe"],
            "-ERR CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'\r\n",
        );
        ex(
            c,
            who,
            &["CONFIG", "SET", "loglevel", "loud"],
            "-ERR CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the following: debug, verbose, notice, warning\r\n",
        );
        ex(
            c,
            who,
            &["CONFIG", "SET", "save", "3600 1 300"],
            "-ERR CONFIG SET failed (possibly related to argument 'save') - Invalid save parameters\r\n",
        );
        ex(
            c,
            who,
            &["CONFIG", "SET", "client-output-buffer-limit", "normal 0 0"],
            "-ERR CONFIG SET failed (possibly related to argument 'client-output-buffer-limit') - Wrong number of arguments in buffer limit configuration.\r\n",
        );
        // All or nothing: a bad value later in the list leaves the earlier ones unchanged.
        ex(
            c,
            who,
            &["CONFIG", "SET", "hz", "20", "maxmemory", "abc"],
            "-ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value\r\n",
        );
        ex(
            c,
            who,
            &["CONFIG", "GET", "hz"],
            "*2\r\n$2\r\nhz\r\n$2\r\n10\r\n",
        );
        ex(
            c,
            who,
            &["CONFIG", "SET", "hz", "20", "maxmemory", "1mb"],
            "+OK\r\n",
        );
        ex(
            c,
            who,
            &["CONFIG", "GET", "hz"],
            "*2\r\n$2\r\nhz\r\n$2\r\n20\r\n",
        );
        ex(
            c,
            who,
            &["CONFIG", "GET", "maxmemory"],
            "*2\r\n$9\r\nmaxmemory\r\n$7\r\n1048576\r\n",
        );
        // hz is clamped to 1..=500, as Redis does.
        ex(
            c,
            who,
            &["CONFIG", "SET", "hz", "1000", "maxmemory", "0"],
            "+OK\r\n",
        );
        ex(
            c,
            who,
            &["CONFIG", "GET", "hz"],
            "*2\r\n$2\r\nhz\r\n$3\r\n500\r\n",
        );
        ex(c, who, &["CONFIG", "SET", "hz", "10"], "+OK\r\n");
        ex(c, who, &["CONFIG", "SET", "loglevel", "NOTICE"], "+OK\r\n");
        ex(
            c,
            who,
            &["CONFIG", "GET", "loglevel"],
            "*2\r\n$8\r\nloglevel\r\n$6\r\nnotice\r\n",
        );
        ex(
            c,
            who,
            &[
                "CONFIG",
                "SET",
                "client-output-buffer-limit",
                "replica 1mb 2 3",
            ],
            "+OK\r\n",
        );
        let obuf = c.cmds(&["CONFIG", "GET", "client-output-buffer-limit"]);
        assert!(
            obuf.contains(" slave 1048576 2 3 pubsub "),
            "{who} {obuf:?}"
        );
        ex(
            c,
            who,
            &["CONFIG", "SET", "save", "3600 1 300 100"],
            "+OK\r\n",
        );
        ex(
            c,
            who,
            &["CONFIG", "GET", "save"],
            "*2\r\n$4\r\nsave\r\n$14\r\n3600 1 300 100\r\n",
        );
        ex(c, who, &["CONFIG", "SET", "save", ""], "+OK\r\n");
        ex(c, who, &["CONFIG", "SET", "maxclients", "5000"], "+OK\r\n");
        ex(
            c,
            who,
            &["CONFIG", "GET", "maxclients"],
            "*2\r\n$10\r\nmaxclients\r\n$4\r\n5000\r\n",
        );
        ex(
            c,
            who,
            &["CONFIG", "REWRITE"],
            "-ERR The server is running without a config file\r\n",
        );
        ex(
            c,
            who,
            &["CONFIG", "FOO"],
            "-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n",
        );
        ex(
            c,
            who,
            &["CONFIG"],
            "-ERR wrong number of arguments for 'config' command\r\n",
        );
        let help = c.cmds(&["CONFIG", "HELP"]);
        assert!(
            help.starts_with(
                "*11\r\n+CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
            ),
            "{who} {help:?}"
        );
    }
}

#[test]
fn config_get_star_restores_like_the_redis_test_suite() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    // What Redis's test suite does around every test block against an external server.
    assert_eq!(c.cmds(&["SELECT", "9"]), "+OK\r\n");
    assert_eq!(c.cmds(&["FLUSHALL"]), "+OK\r\n");
    assert_eq!(c.cmds(&["FUNCTION", "FLUSH"]), "+OK\r\n");
    assert_eq!(
        c.cmds(&["DEBUG", "LOG", "### Starting test foo"]),
        "+OK\r\n"
    );
    let all = bulks(&c.cmds(&["CONFIG", "GET", "*"]));
    assert!(all.len() >= 20 && all.len().is_multiple_of(2));
    let names: Vec<&String> = all.iter().step_by(2).collect();
    let mut uniq = names.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), names.len(), "duplicates in CONFIG GET *");
    for want in ["save", "appendonly", "maxmemory", "hz", "port", "databases"] {
        assert!(names.iter().any(|n| *n == want), "{want} missing");
    }
    let pairs: Vec<(&String, &String)> = all
        .iter()
        .step_by(2)
        .zip(all.iter().skip(1).step_by(2))
        .collect();
    for (name, value) in &pairs {
        let r = c.cmds(&["CONFIG", "SET", name, value]);
        assert!(
            r == "+OK\r\n"
                || r.ends_with("- can't set immutable config\r\n")
                || r.ends_with("- can't set protected config\r\n"),
            "CONFIG SET {name} {value:?} -> {r:?}"
        );
    }
    // Every value reads back unchanged after being set to itself.
    assert_eq!(bulks(&c.cmds(&["CONFIG", "GET", "*"])), all);
    // Several patterns at once, no duplicates.
    let some = bulks(&c.cmds(&["CONFIG", "GET", "max*", "maxmemory", "hz"]));
    let mut keys: Vec<&String> = some.iter().step_by(2).collect();
    let n = keys.len();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), n);
    assert!(keys.iter().any(|k| *k == "hz") && keys.iter().any(|k| *k == "maxclients"));
    // The port actually bound.
    assert_eq!(
        bulks(&c.cmds(&["CONFIG", "GET", "port"]))[1],
        s.port.to_string()
    );
}

#[test]
fn config_rewrite_writes_the_file() {
    let dir = std::env::temp_dir().join(format!("ferrokv-conf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ferrokv.conf");
    std::fs::write(&path, "# my settings\nhz 15\ntimeout 0\n").unwrap();
    let s = TestServer::start(&["--config", path.to_str().unwrap()]);
    let mut c = s.raw();
    assert_eq!(
        c.cmds(&["CONFIG", "GET", "hz"]),
        "*2\r\n$2\r\nhz\r\n$2\r\n15\r\n"
    );
    let text = info(&mut c, &["server"]);
    let cf = info_field(&text, "config_file").unwrap();
    assert!(cf.ends_with("ferrokv.conf"), "{cf}");
    assert_eq!(
        c.cmds(&["CONFIG", "SET", "hz", "25", "maxmemory", "2mb"]),
        "+OK\r\n"
    );
    assert_eq!(c.cmds(&["CONFIG", "REWRITE"]), "+OK\r\n");
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(
        after.starts_with("# my settings\nhz 25\ntimeout 0\n"),
        "{after}"
    );
    assert!(after.contains("\nmaxmemory 2097152\n"), "{after}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn config_resetstat_clears_counters() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    c.cmds(&["SET", "a", "1"]);
    c.cmds(&["GET", "a"]);
    c.cmds(&["NOSUCHCOMMAND"]);
    let before = info(&mut c, &["stats", "commandstats", "errorstats"]);
    assert!(before.contains("cmdstat_set:calls=1,"), "{before}");
    assert!(before.contains("errorstat_ERR:count=1"), "{before}");
    assert_eq!(c.cmds(&["CONFIG", "RESETSTAT"]), "+OK\r\n");
    let after = info(&mut c, &["stats", "commandstats", "errorstats"]);
    assert!(!after.contains("cmdstat_set"), "{after}");
    assert!(!after.contains("errorstat_"), "{after}");
    assert_eq!(
        info_field(&after, "total_error_replies").as_deref(),
        Some("0")
    );
    // Only CONFIG RESETSTAT itself has run since.
    assert_eq!(
        info_field(&after, "total_commands_processed").as_deref(),
        Some("1")
    );
}

#[test]
fn info_sections_and_figures() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let text = info(&mut c, &[]);
    let titles: Vec<&str> = text.split("\r\n").filter(|l| l.starts_with('#')).collect();
    assert_eq!(
        titles,
        [
            "# Server",
            "# Clients",
            "# Memory",
            "# Persistence",
            "# Stats",
            "# Replication",
            "# CPU",
            "# Modules",
            "# Errorstats",
            "# Cluster",
            "# Keyspace"
        ]
    );
    assert!(
        text.starts_with("# Server\r\nredis_version:7.0.15\r\n"),
        "{text}"
    );
    // Sections are separated by one empty line.
    assert!(text.contains("\r\n\r\n# Clients\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\n# Keyspace\r\n"), "{text:?}");
    assert_eq!(
        info_field(&text, "redis_mode").as_deref(),
        Some("standalone")
    );
    assert_eq!(info_field(&text, "tcp_port"), Some(s.port.to_string()));
    assert_eq!(
        info_field(&text, "process_id"),
        Some(s.child.id().to_string())
    );
    assert_eq!(info_field(&text, "role").as_deref(), Some("master"));
    assert_eq!(info_field(&text, "connected_slaves").as_deref(), Some("0"));
    assert_eq!(info_field(&text, "connected_clients").as_deref(), Some("1"));
    assert_eq!(
        info_field(&text, "multiplexing_api").as_deref(),
        Some("epoll")
    );
    assert_eq!(info_field(&text, "run_id").unwrap().len(), 40);
    let rss: u64 = info_field(&text, "used_memory_rss")
        .unwrap()
        .parse()
        .unwrap();
    assert!(rss > 100_000, "rss {rss}");
    let used: u64 = info_field(&text, "used_memory").unwrap().parse().unwrap();
    assert!(used > 0);
    let cpu: f64 = info_field(&text, "used_cpu_user").unwrap().parse().unwrap();
    assert!(cpu >= 0.0);
    assert!(info_field(&text, "uptime_in_seconds").is_some());

    let mut other = s.raw();
    other.cmds(&["PING"]);
    let clients = info(&mut c, &["clients"]);
    assert_eq!(
        info_field(&clients, "connected_clients").as_deref(),
        Some("2")
    );
    let stats = info(&mut c, &["stats"]);
    let conns: u64 = info_field(&stats, "total_connections_received")
        .unwrap()
        .parse()
        .unwrap();
    assert!(conns >= 2);

    assert_eq!(info(&mut c, &["keyspace"]), "# Keyspace\r\n");
    c.cmds(&["SET", "k", "v"]);
    assert_eq!(
        info(&mut c, &["keyspace"]),
        "# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n"
    );
    c.cmds(&["SET", "t", "v", "EX", "1000"]);
    let ks = info(&mut c, &["keyspace"]);
    let avg: u64 = ks
        .split("avg_ttl=")
        .nth(1)
        .unwrap()
        .trim_end()
        .parse()
        .unwrap();
    assert!(
        ks.starts_with("# Keyspace\r\ndb0:keys=2,expires=1,avg_ttl="),
        "{ks}"
    );
    assert!(avg > 990_000 && avg <= 1_000_000, "{avg}");
    c.cmds(&["GET", "k"]);
    c.cmds(&["GET", "missing"]);
    let stats = info(&mut c, &["stats"]);
    assert!(
        info_field(&stats, "keyspace_hits")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert!(
        info_field(&stats, "keyspace_misses")
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );

    // Section names are case-insensitive; several in one call keep Redis's order.
    assert_eq!(
        info(&mut c, &["CLUSTER", "modules"]),
        "# Modules\r\n\r\n# Cluster\r\ncluster_enabled:0\r\n"
    );
    assert_eq!(c.cmds(&["INFO", "nosuch"]), "$0\r\n\r\n");
    let all = info(&mut c, &["everything"]);
    assert!(all.contains("# Commandstats\r\ncmdstat_"), "{all}");
    assert!(all.contains("cmdstat_set:calls=2,usec="), "{all}");
    assert!(
        all.contains(",rejected_calls=0,failed_calls=0\r\n"),
        "{all}"
    );
    let default = info(&mut c, &["default"]);
    assert!(!default.contains("# Commandstats"));
    let cs = info(&mut c, &["commandstats"]);
    assert!(cs.starts_with("# Commandstats\r\n"), "{cs}");
    assert!(!cs.contains("# Server"));

    // RESP3: a verbatim string.
    c.cmds(&["HELLO", "3"]);
    let r = c.cmds(&["INFO", "cluster"]);
    assert_eq!(r, "=34\r\ntxt:# Cluster\r\ncluster_enabled:0\r\n\r\n");
}

#[test]
fn command_count_info_docs_list() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let count: usize = c.cmds(&["COMMAND", "COUNT"])[1..]
        .trim_end()
        .parse()
        .unwrap();
    assert_eq!(count, ferrokv::cmd::registry().top_level().count());
    let all = c.cmds(&["COMMAND"]);
    assert!(
        all.starts_with(&format!("*{count}\r\n*10\r\n")),
        "{}",
        &all[..40]
    );
    let info_all = c.cmds(&["COMMAND", "INFO"]);
    assert_eq!(all, info_all);
    let docs = c.cmds(&["COMMAND", "DOCS"]);
    assert!(docs.starts_with(&format!("*{}\r\n", 2 * count)));

    // Flags, categories and key positions from the table; tips and key specs as Redis 7.0 has them.
    let get = "*10\r\n$3\r\nget\r\n:2\r\n*2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@read\r\n+@string\r\n+@fast\r\n*0\r\n*1\r\n*6\r\n$5\r\nflags\r\n*2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n*4\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n*2\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n*4\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n*6\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n*0\r\n";
    assert_eq!(c.cmds(&["COMMAND", "INFO", "get"]), format!("*1\r\n{get}"));
    assert_eq!(
        c.cmds(&["COMMAND", "INFO", "nosuch", "GET"]),
        format!("*2\r\n$-1\r\n{get}")
    );
    assert_eq!(
        c.cmds(&["COMMAND", "INFO", "config|get"]),
        "*1\r\n*10\r\n$10\r\nconfig|get\r\n:-3\r\n*4\r\n+admin\r\n+noscript\r\n+loading\r\n+stale\r\n:0\r\n:0\r\n:0\r\n*3\r\n+@admin\r\n+@slow\r\n+@dangerous\r\n*0\r\n*0\r\n*0\r\n"
    );
    let config = c.cmds(&["COMMAND", "INFO", "config"]);
    assert!(
        config.starts_with("*1\r\n*10\r\n$6\r\nconfig\r\n:-2\r\n*0\r\n:0\r\n:0\r\n:0\r\n*1\r\n+@slow\r\n*0\r\n*0\r\n*5\r\n*10\r\n$10\r\nconfig|"),
        "{config}"
    );
    assert_eq!(
        c.cmds(&["COMMAND", "DOCS", "get"]),
        "*2\r\n$3\r\nget\r\n*10\r\n$7\r\nsummary\r\n$22\r\nGet the value of a key\r\n$5\r\nsince\r\n$5\r\n1.0.0\r\n$5\r\ngroup\r\n$6\r\nstring\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n$9\r\narguments\r\n*1\r\n*6\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n$14\r\nkey_spec_index\r\n:0\r\n"
    );
    let cdocs = c.cmds(&["COMMAND", "DOCS", "config"]);
    assert!(
        cdocs
            .contains("$11\r\nsubcommands\r\n*10\r\n$10\r\nconfig|get\r\n*12\r\n$7\r\nsummary\r\n"),
        "{cdocs}"
    );
    assert_eq!(c.cmds(&["COMMAND", "DOCS", "nosuch"]), "*0\r\n");
    let list = c.cmds(&["COMMAND", "LIST", "FILTERBY", "PATTERN", "config*"]);
    assert!(list.starts_with("*6\r\n$6\r\nconfig\r\n"), "{list}");
    assert!(list.contains("$10\r\nconfig|set\r\n"), "{list}");
    let full = c.cmds(&["COMMAND", "LIST"]);
    assert!(full.contains("$10\r\nconfig|get\r\n") && full.contains("$3\r\nget\r\n"));
    let fast = c.cmds(&["COMMAND", "LIST", "FILTERBY", "ACLCAT", "fast"]);
    assert!(fast.contains("$3\r\nget\r\n") && !fast.contains("$6\r\nconfig\r\n"));
    assert_eq!(
        c.cmds(&["COMMAND", "LIST", "FILTERBY", "MODULE", "x"]),
        "*0\r\n"
    );
    assert_eq!(
        c.cmds(&["COMMAND", "LIST", "FILTERBY", "PATTERN"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        c.cmds(&["COMMAND", "GETKEYS", "SET", "a", "b"]),
        "*1\r\n$1\r\na\r\n"
    );
    assert_eq!(
        c.cmds(&["COMMAND", "GETKEYS", "DEL", "a", "b", "c"]),
        "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
    assert_eq!(
        c.cmds(&["COMMAND", "GETKEYS", "PING", "x"]),
        "-ERR The command has no key arguments\r\n"
    );
    assert_eq!(
        c.cmds(&["COMMAND", "GETKEYS", "nosuch", "x"]),
        "-ERR Invalid command specified\r\n"
    );
    assert_eq!(
        c.cmds(&["COMMAND", "GETKEYS", "GET", "a", "b"]),
        "-ERR Invalid number of arguments specified for command\r\n"
    );
    // RESP3: flags, categories, tips, key specs and subcommands are sets.
    c.cmds(&["HELLO", "3"]);
    assert_eq!(
        c.cmds(&["COMMAND", "INFO", "get"]),
        "*1\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n+readonly\r\n+fast\r\n:1\r\n:1\r\n:1\r\n~3\r\n+@read\r\n+@string\r\n+@fast\r\n~0\r\n~1\r\n%3\r\n$5\r\nflags\r\n~2\r\n+RO\r\n+access\r\n$12\r\nbegin_search\r\n%2\r\n$4\r\ntype\r\n$5\r\nindex\r\n$4\r\nspec\r\n%1\r\n$5\r\nindex\r\n:1\r\n$9\r\nfind_keys\r\n%2\r\n$4\r\ntype\r\n$5\r\nrange\r\n$4\r\nspec\r\n%3\r\n$7\r\nlastkey\r\n:0\r\n$7\r\nkeystep\r\n:1\r\n$5\r\nlimit\r\n:0\r\n~0\r\n"
    );
    assert!(c
        .cmds(&["COMMAND", "DOCS", "get"])
        .starts_with("%1\r\n$3\r\nget\r\n%5\r\n"));
}

#[test]
fn debug_protocol_and_errors_match_redis() {
    for (who, s) in targets() {
        let mut c = s.raw();
        let c = &mut c;
        let resp2: &[(&str, &str)] = &[
            ("string", "$11\r\nHello World\r\n"),
            ("integer", ":12345\r\n"),
            ("double", "$5\r\n3.141\r\n"),
            ("bignum", "$37\r\n1234567999999999999999999999999999999\r\n"),
            ("null", "$-1\r\n"),
            ("array", "*3\r\n:0\r\n:1\r\n:2\r\n"),
            ("set", "*3\r\n:0\r\n:1\r\n:2\r\n"),
            ("map", "*6\r\n:0\r\n:0\r\n:1\r\n:1\r\n:2\r\n:0\r\n"),
            ("attrib", "$39\r\nSome real reply following the attribute\r\n"),
            ("push", "-ERR RESP2 is not supported by this command\r\n"),
            ("verbatim", "$25\r\nThis is a verbatim\nstring\r\n"),
            ("true", ":1\r\n"),
            ("false", ":0\r\n"),
            ("nope", "-ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false\r\n"),
        ];
        for (kind, want) in resp2 {
            ex(c, who, &["DEBUG", "PROTOCOL", kind], want);
        }
        ex(
            c,
            who,
            &["DEBUG", "JMAP"],
            "-ERR unknown subcommand or wrong number of arguments for 'JMAP'. Try DEBUG HELP.\r\n",
        );
        ex(
            c,
            who,
            &["DEBUG", "LOG", "a", "b"],
            "-ERR unknown subcommand or wrong number of arguments for 'LOG'. Try DEBUG HELP.\r\n",
        );
        ex(c, who, &["DEBUG", "LOG", "hello from a test"], "+OK\r\n");
        ex(c, who, &["DEBUG", "SLEEP", "0"], "+OK\r\n");
        ex(c, who, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"], "+OK\r\n");
        ex(c, who, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"], "+OK\r\n");
        ex(
            c,
            who,
            &["DEBUG", "OBJECT", "nokey"],
            "-ERR no such key\r\n",
        );
        ex(
            c,
            who,
            &["DEBUG", "ERROR", "MYERR it broke"],
            "-MYERR it broke\r\n",
        );
        ex(
            c,
            who,
            &["DEBUG"],
            "-ERR wrong number of arguments for 'debug' command\r\n",
        );
        c.cmds(&["SET", "k", "v"]);
        let obj = c.cmds(&["DEBUG", "OBJECT", "k"]);
        assert!(obj.starts_with("+Value at:0x"), "{who} {obj}");
        assert!(
            obj.contains(" refcount:1 encoding:embstr serializedlength:2 lru:"),
            "{who} {obj}"
        );
        assert!(obj.ends_with(" lru_seconds_idle:0\r\n"), "{who} {obj}");
        c.cmds(&["SET", "n", "123"]);
        let obj = c.cmds(&["DEBUG", "OBJECT", "n"]);
        assert!(
            obj.contains(" refcount:2147483647 encoding:int serializedlength:2 lru:"),
            "{who} {obj}"
        );

        assert!(c.cmds(&["HELLO", "3"]).starts_with('%'), "{who}");
        let resp3: &[(&str, &str)] = &[
            ("string", "$11\r\nHello World\r\n"),
            ("double", ",3.141\r\n"),
            ("bignum", "(1234567999999999999999999999999999999\r\n"),
            ("null", "_\r\n"),
            ("set", "~3\r\n:0\r\n:1\r\n:2\r\n"),
            ("map", "%3\r\n:0\r\n#f\r\n:1\r\n#t\r\n:2\r\n#f\r\n"),
            ("verbatim", "=29\r\ntxt:This is a verbatim\nstring\r\n"),
            ("true", "#t\r\n"),
            ("false", "#f\r\n"),
        ];
        for (kind, want) in resp3 {
            ex(c, who, &["DEBUG", "PROTOCOL", kind], want);
        }
        // An attribute, then the reply it annotates; a push, then a reply of its own.
        ex(
            c,
            who,
            &["DEBUG", "PROTOCOL", "attrib"],
            "|1\r\n$14\r\nkey-popularity\r\n*2\r\n$7\r\nkey:123\r\n:90\r\n",
        );
        assert_eq!(
            String::from_utf8_lossy(&c.read_reply()),
            "$39\r\nSome real reply following the attribute\r\n"
        );
        ex(
            c,
            who,
            &["DEBUG", "PROTOCOL", "push"],
            ">2\r\n$16\r\nserver-cpu-usage\r\n:42\r\n",
        );
        assert_eq!(
            String::from_utf8_lossy(&c.read_reply()),
            "$40\r\nSome real reply following the push reply\r\n"
        );
    }
}

#[test]
fn debug_sleep_blocks_the_server() {
    let s = TestServer::start(&[]);
    let mut a = s.raw();
    let mut b = s.raw();
    let t0 = Instant::now();
    a.send(&common::encode(&[b"DEBUG", b"SLEEP", b"0.5"]));
    std::thread::sleep(Duration::from_millis(100));
    // The loop is asleep inside DEBUG SLEEP: the other client waits for it to end.
    assert_eq!(b.cmds(&["PING"]), "+PONG\r\n");
    assert!(
        t0.elapsed() >= Duration::from_millis(450),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(String::from_utf8_lossy(&a.read_reply()), "+OK\r\n");
}

#[test]
fn flush_swap_dbsize_match_redis() {
    for (who, s) in targets() {
        let mut c = s.raw();
        let c = &mut c;
        ex(c, who, &["FLUSHALL"], "+OK\r\n");
        ex(c, who, &["DBSIZE"], ":0\r\n");
        ex(c, who, &["SET", "a", "1"], "+OK\r\n");
        ex(c, who, &["SET", "b", "2"], "+OK\r\n");
        ex(c, who, &["DBSIZE"], ":2\r\n");
        ex(c, who, &["SWAPDB", "0", "1"], "+OK\r\n");
        ex(c, who, &["DBSIZE"], ":0\r\n");
        ex(c, who, &["SELECT", "1"], "+OK\r\n");
        ex(c, who, &["DBSIZE"], ":2\r\n");
        ex(c, who, &["GET", "a"], "$1\r\n1\r\n");
        ex(c, who, &["FLUSHDB", "SYNC"], "+OK\r\n");
        ex(c, who, &["DBSIZE"], ":0\r\n");
        ex(c, who, &["SELECT", "0"], "+OK\r\n");
        ex(c, who, &["SET", "x", "1"], "+OK\r\n");
        ex(c, who, &["SELECT", "2"], "+OK\r\n");
        ex(c, who, &["SET", "y", "1"], "+OK\r\n");
        ex(c, who, &["FLUSHDB", "ASYNC"], "+OK\r\n");
        ex(c, who, &["DBSIZE"], ":0\r\n");
        ex(c, who, &["SELECT", "0"], "+OK\r\n");
        ex(c, who, &["DBSIZE"], ":1\r\n");
        ex(c, who, &["FLUSHALL", "ASYNC"], "+OK\r\n");
        ex(c, who, &["DBSIZE"], ":0\r\n");
        ex(
            c,
            who,
            &["FLUSHALL", "sync", "async"],
            "-ERR syntax error\r\n",
        );
        ex(c, who, &["FLUSHDB", "foo"], "-ERR syntax error\r\n");
        ex(
            c,
            who,
            &["SWAPDB", "a", "b"],
            "-ERR invalid first DB index\r\n",
        );
        ex(
            c,
            who,
            &["SWAPDB", "0", "b"],
            "-ERR invalid second DB index\r\n",
        );
        ex(
            c,
            who,
            &["SWAPDB", "0", "100"],
            "-ERR DB index is out of range\r\n",
        );
        ex(
            c,
            who,
            &["SWAPDB", "-1", "0"],
            "-ERR DB index is out of range\r\n",
        );
        ex(c, who, &["SWAPDB", "0", "0"], "+OK\r\n");
        ex(
            c,
            who,
            &["SWAPDB", "0"],
            "-ERR wrong number of arguments for 'swapdb' command\r\n",
        );
        let t = c.cmds(&["TIME"]);
        assert!(t.starts_with("*2\r\n$10\r\n"), "{who} {t}");
        let last = c.cmds(&["LASTSAVE"]);
        assert!(last.starts_with(':'), "{who} {last}");
    }
}

#[test]
fn flushall_async_frees_a_large_keyspace() {
    let s = TestServer::start(&[]);
    let mut c = s.raw();
    let mut req = Vec::new();
    for i in 0..5000 {
        let k = format!("key:{i}");
        req.extend_from_slice(&common::encode(&[b"SET", k.as_bytes(), b"some value"]));
    }
    c.send(&req);
    for _ in 0..5000 {
        c.read_reply();
    }
    assert_eq!(c.cmds(&["DBSIZE"]), ":5000\r\n");
    assert_eq!(c.cmds(&["FLUSHALL", "ASYNC"]), "+OK\r\n");
    assert_eq!(c.cmds(&["DBSIZE"]), ":0\r\n");
    assert_eq!(c.cmds(&["SET", "after", "1"]), "+OK\r\n");
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let m = info(&mut c, &["memory"]);
        if info_field(&m, "lazyfreed_objects").as_deref() == Some("5000") {
            assert_eq!(
                info_field(&m, "lazyfree_pending_objects").as_deref(),
                Some("0")
            );
            break;
        }
        assert!(Instant::now() < deadline, "lazyfree never finished: {m}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn scripting_commands_match_redis_where_nothing_is_loaded() {
    for (who, s) in targets() {
        let mut c = s.raw();
        let c = &mut c;
        ex(c, who, &["FUNCTION", "FLUSH"], "+OK\r\n");
        ex(c, who, &["FUNCTION", "FLUSH", "ASYNC"], "+OK\r\n");
        ex(
            c,
            who,
            &["FUNCTION", "FLUSH", "foo"],
            "-ERR FUNCTION FLUSH only supports SYNC|ASYNC option\r\n",
        );
        ex(c, who, &["FUNCTION", "LIST"], "*0\r\n");
        ex(c, who, &["FUNCTION", "LIST", "WITHCODE"], "*0\r\n");
        ex(
            c,
            who,
            &["FUNCTION", "LIST", "LIBRARYNAME"],
            "-ERR library name argument was not given\r\n",
        );
        ex(
            c,
            who,
            &["FUNCTION", "KILL"],
            "-NOTBUSY No scripts in execution right now.\r\n",
        );
        ex(
            c,
            who,
            &["FUNCTION", "DELETE", "x"],
            "-ERR Library not found\r\n",
        );
        assert_eq!(
            c.cmd(&[b"FUNCTION", b"DUMP"]),
            b"$10\r\n\n\0]\x9b\\@\x0f\x7f\xa2\xda\r\n",
            "{who}"
        );
        ex(c, who, &["SCRIPT", "FLUSH"], "+OK\r\n");
        ex(
            c,
            who,
            &["SCRIPT", "FLUSH", "x"],
            "-ERR SCRIPT FLUSH only support SYNC|ASYNC option\r\n",
        );
        ex(
            c,
            who,
            &["SCRIPT", "EXISTS", "a", "b"],
            "*2\r\n:0\r\n:0\r\n",
        );
        ex(
            c,
            who,
            &["SCRIPT", "KILL"],
            "-NOTBUSY No scripts in execution right now.\r\n",
        );
        ex(
            c,
            who,
            &["EVALSHA", "abc", "0"],
            "-NOSCRIPT No matching script. Please use EVAL.\r\n",
        );
        ex(
            c,
            who,
            &["EVAL", "return 1", "x"],
            "-ERR value is not an integer or out of range\r\n",
        );
        ex(
            c,
            who,
            &["EVAL", "return 1", "2", "a"],
            "-ERR Number of keys can't be greater than number of args\r\n",
        );
        ex(
            c,
            who,
            &["EVAL"],
            "-ERR wrong number of arguments for 'eval' command\r\n",
        );
        ex(c, who, &["FCALL", "f", "0"], "-ERR Function not found\r\n");
    }
}

#[test]
fn shutdown_ends_the_process_cleanly() {
    let mut s = TestServer::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmds(&["SHUTDOWN", "ABORT"]),
        "-ERR No shutdown in progress.\r\n"
    );
    assert_eq!(
        c.cmds(&["SHUTDOWN", "NOSAVE", "SAVE"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        c.cmds(&["SHUTDOWN", "ABORT", "NOW"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(c.cmds(&["SHUTDOWN", "foo"]), "-ERR syntax error\r\n");
    // A directory where the dump should go makes the save fail, so SHUTDOWN SAVE refuses, as Redis does.
    let dir = s.dir.as_ref().expect("temp dir").0.join("dump.rdb");
    std::fs::create_dir(&dir).unwrap();
    assert_eq!(
        c.cmds(&["SHUTDOWN", "SAVE"]),
        "-ERR Errors trying to SHUTDOWN. Check logs.\r\n"
    );
    assert_eq!(c.cmds(&["PING"]), "+PONG\r\n");
    c.stream
        .write_all(&common::encode(&[b"SHUTDOWN", b"NOSAVE"]))
        .unwrap();
    assert_eq!(c.read_to_close(), b"", "no reply before the close");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(st) = s.child.try_wait().unwrap() {
            break st;
        }
        assert!(
            Instant::now() < deadline,
            "server still running after SHUTDOWN"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "exit status {status:?}");
}

/// Every command and subcommand of a family as Redis names them (`config|get`).
fn family_names(cmds: &[ferrokv::cmd::Cmd]) -> Vec<String> {
    let mut v = Vec::new();
    for c in cmds {
        if c.subs.is_empty() {
            v.push(c.name.to_string());
        }
        for s in c.subs {
            v.push(format!("{}|{}", c.name, s.name));
        }
    }
    v
}

#[test]
fn command_info_and_docs_of_server_commands_match_redis() {
    let Some(oracle) = start_oracle() else {
        return;
    };
    let s = TestServer::start(&[]);
    let (mut f, mut r) = (s.raw(), oracle.raw());
    // Containers are compared through their subcommands: Redis lists those in hash order.
    let mut names = family_names(ferrokv::cmd::server::COMMANDS);
    names.extend(family_names(ferrokv::cmd::script::COMMANDS));
    assert!(names.len() > 40);
    for proto in ["2", "3"] {
        f.cmds(&["HELLO", proto]);
        r.cmds(&["HELLO", proto]);
        for n in &names {
            for sub in ["INFO", "DOCS"] {
                let want = r.cmds(&["COMMAND", sub, n]);
                assert_eq!(
                    f.cmds(&["COMMAND", sub, n]),
                    want,
                    "RESP{proto} COMMAND {sub} {n}"
                );
            }
        }
    }
}

#[test]
fn flushes_and_swapdb_invalidate_watches_like_redis() {
    for (who, s) in targets() {
        let (mut a, mut b) = (s.raw(), s.raw());
        let exec_after = |a: &mut RawConn| {
            a.cmds(&["MULTI"]);
            a.cmds(&["PING"]);
            a.cmds(&["EXEC"])
        };
        a.cmds(&["FLUSHALL"]);
        a.cmds(&["SET", "k", "1"]);
        a.cmds(&["WATCH", "k"]);
        b.cmds(&["FLUSHALL"]);
        assert_eq!(
            exec_after(&mut a),
            "*-1\r\n",
            "{who} FLUSHALL of a watched key"
        );
        a.cmds(&["WATCH", "missing"]);
        b.cmds(&["FLUSHALL"]);
        assert_eq!(
            exec_after(&mut a),
            "*1\r\n+PONG\r\n",
            "{who} nothing changed"
        );
        a.cmds(&["WATCH", "x"]);
        b.cmds(&["SELECT", "1"]);
        b.cmds(&["SET", "x", "1"]);
        b.cmds(&["SWAPDB", "0", "1"]);
        assert_eq!(
            exec_after(&mut a),
            "*-1\r\n",
            "{who} SWAPDB brought the key in"
        );
        a.cmds(&["SET", "y", "1"]);
        a.cmds(&["WATCH", "y"]);
        b.cmds(&["SELECT", "0"]);
        b.cmds(&["FLUSHDB", "ASYNC"]);
        assert_eq!(exec_after(&mut a), "*-1\r\n", "{who} FLUSHDB ASYNC");
    }
}

/// A standalone Redis has the cluster commands and answers each that cluster support is disabled; clients
/// probe CLUSTER INFO that way. Their COMMAND INFO and DOCS entries are Redis's own.
#[test]
fn cluster_commands_match_a_standalone_redis() {
    common::differential(|run| {
        for req in [
            &["CLUSTER", "INFO"][..],
            &["CLUSTER", "SLOTS"],
            &["CLUSTER", "SHARDS"],
            &["CLUSTER", "KEYSLOT", "foo"],
            &["CLUSTER", "HELP"],
            &["CLUSTER", "ADDSLOTS"],
            &["CLUSTER", "NOSUCH"],
            &["CLUSTER"],
            &["READONLY"],
            &["READWRITE"],
            &["ASKING"],
            &["READONLY", "x"],
            &["EVAL", "return redis.call('cluster','reset')", "0"],
            &["EVAL", "return redis.pcall('cluster','info')", "0"],
            &[
                "COMMAND",
                "INFO",
                "cluster|info",
                "cluster|setslot",
                "readonly",
                "asking",
            ],
            &["COMMAND", "DOCS", "cluster|addslotsrange", "readwrite"],
        ] {
            run(req, common::Cmp::Exact);
        }
    });
}

/// ROLE and WAIT of a master without replicas, and their COMMAND entries, as Redis gives them.
#[test]
fn role_and_wait_match_redis() {
    common::differential(|run| {
        run(&["ROLE"], common::Cmp::Exact);
        run(&["ROLE", "x"], common::Cmp::Exact);
        run(&["COMMAND", "INFO", "role"], common::Cmp::Exact);
        run(&["COMMAND", "DOCS", "role"], common::Cmp::Exact);
        for req in [
            &["WAIT", "0", "0"][..],
            &["WAIT", "x", "0"],
            &["WAIT", "0", "x"],
            &["WAIT", "-1", "0"],
            &["WAIT", "0", "-1"],
            &["WAIT", "1.5", "0"],
            &["WAIT", "0", "1.5"],
            &["WAIT", "1", "20"],
            &["WAIT"],
            &["COMMAND", "INFO", "wait"],
            &["COMMAND", "DOCS", "wait"],
        ] {
            run(req, common::Cmp::Exact);
        }
    });
}
