//! Geo commands over raw RESP, as exact bytes (the bytes Redis 7.0.15 sends): GEOADD's options and
//! errors, GEOPOS/GEOHASH/GEODIST (RESP2 and RESP3), GEORADIUS/GEORADIUSBYMEMBER/GEOSEARCH with every
//! option and error, STORE/STOREDIST/GEOSEARCHSTORE (and deleting the destination for an empty result),
//! GEOADD replicated and counted as itself, COMMAND GETKEYS for GEORADIUS's STORE keys, and a seeded
//! differential run against a real `redis-server` over random geo sets and queries.
//!
//! `GEO_AGAINST_REDIS=1` runs the byte-level tests against a real redis-server instead of ferrokv, which
//! is how their expected bytes were checked.

mod common;

use common::{RawConn, TestServer};

fn server() -> TestServer {
    if std::env::var("GEO_AGAINST_REDIS").as_deref() == Ok("1") {
        return common::start_redis().expect("redis-server");
    }
    TestServer::start(&[])
}

#[track_caller]
fn run_table(c: &mut RawConn, table: &[(&[&str], &str)]) {
    for (args, want) in table {
        assert_eq!(c.cmds(args), *want, "{args:?}");
    }
}

#[test]
fn sicily_resp2_and_resp3() {
    let s = server();
    let mut c = s.raw();
    let resp2: &[(&[&str], &str)] = &[
        (&["GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"], ":2\r\n"),
        (&["ZRANGE", "Sicily", "0", "-1", "WITHSCORES"], "*4\r\n$7\r\nPalermo\r\n$16\r\n3479099956230698\r\n$7\r\nCatania\r\n$16\r\n3479447370796909\r\n"),
        (&["GEODIST", "Sicily", "Palermo", "Catania"], "$11\r\n166274.1516\r\n"),
        (&["GEODIST", "Sicily", "Palermo", "Catania", "km"], "$8\r\n166.2742\r\n"),
        (&["GEODIST", "Sicily", "Palermo", "Catania", "MI"], "$8\r\n103.3182\r\n"),
        (&["GEODIST", "Sicily", "Palermo", "Catania", "ft"], "$11\r\n545518.8700\r\n"),
        (&["GEODIST", "Sicily", "Palermo", "nope"], "$-1\r\n"),
        (&["GEODIST", "nokey", "a", "b"], "$-1\r\n"),
        (&["GEODIST", "Sicily", "Palermo", "Catania", "km", "x"], "-ERR syntax error\r\n"),
        (&["GEODIST", "Sicily", "Palermo", "Catania", "yd"], "-ERR unsupported unit provided. please use M, KM, FT, MI\r\n"),
        (&["GEOPOS", "Sicily", "Palermo", "nope", "Catania"], "*3\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n*-1\r\n*2\r\n$20\r\n15.08726745843887329\r\n$20\r\n37.50266842333162032\r\n"),
        (&["GEOPOS", "nokey", "a"], "*1\r\n*-1\r\n"),
        (&["GEOPOS", "Sicily"], "*0\r\n"),
        (&["GEOHASH", "Sicily", "Palermo", "Catania", "nope"], "*3\r\n$11\r\nsqc8b49rny0\r\n$11\r\nsqdtr74hyu0\r\n$-1\r\n"),
        (&["GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST"], "*2\r\n*2\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n*2\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n"),
        (&["GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHCOORD", "WITHDIST", "WITHHASH", "ASC"], "*2\r\n*4\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n*2\r\n$20\r\n15.08726745843887329\r\n$20\r\n37.50266842333162032\r\n*4\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n:3479099956230698\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n"),
        (&["GEORADIUS", "Sicily", "15", "37", "200", "km", "COUNT", "1", "DESC"], "*1\r\n$7\r\nPalermo\r\n"),
        (&["GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km", "WITHDIST", "ASC"], "*2\r\n*2\r\n$7\r\nPalermo\r\n$6\r\n0.0000\r\n*2\r\n$7\r\nCatania\r\n$8\r\n166.2742\r\n"),
        (&["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "400", "400", "km", "ASC", "WITHCOORD", "WITHDIST"], "*2\r\n*3\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n*2\r\n$20\r\n15.08726745843887329\r\n$20\r\n37.50266842333162032\r\n*3\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n"),
        (&["GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "100", "km"], "*1\r\n$7\r\nPalermo\r\n"),
        (&["GEOADD", "Sicily", "NX", "XX", "1", "2", "x"], "-ERR syntax error\r\n"),
        (&["GEOADD", "Sicily", "1", "2"], "-ERR wrong number of arguments for 'geoadd' command\r\n"),
        (&["GEOADD", "Sicily", "200", "100", "x"], "-ERR invalid longitude,latitude pair 200.000000,100.000000\r\n"),
        (&["GEOADD", "Sicily", "1", "x", "x"], "-ERR value is not a valid float\r\n"),
        (&["GEOADD", "Sicily", "CH", "XX", "13.361389", "38.115557", "Palermo", "1", "1", "new"], ":0\r\n"),
        (&["GEOADD", "Sicily", "NX", "13.361389", "38", "Palermo"], ":0\r\n"),
        (&["GEORADIUS", "Sicily", "15", "37", "-1", "km"], "-ERR radius cannot be negative\r\n"),
        (&["GEORADIUS", "Sicily", "15", "37", "x", "km"], "-ERR need numeric radius\r\n"),
        (&["GEORADIUS", "Sicily", "15", "37", "1", "yd"], "-ERR unsupported unit provided. please use M, KM, FT, MI\r\n"),
        (&["GEORADIUS", "Sicily", "15", "37", "1", "km", "COUNT", "0"], "-ERR COUNT must be > 0\r\n"),
        (&["GEORADIUS", "Sicily", "15", "37", "1", "km", "COUNT", "x"], "-ERR value is not an integer or out of range\r\n"),
        (&["GEORADIUS", "Sicily", "15", "37", "1", "km", "ANY"], "-ERR the ANY argument requires COUNT argument\r\n"),
        (&["GEORADIUS", "Sicily", "15", "37", "1", "km", "WITHDIST", "STORE", "d"], "-ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n"),
        (&["GEORADIUS_RO", "Sicily", "15", "37", "1", "km", "STORE", "d"], "-ERR syntax error\r\n"),
        (&["GEORADIUSBYMEMBER", "Sicily", "nope", "1", "km"], "-ERR could not decode requested zset member\r\n"),
        (&["GEORADIUSBYMEMBER", "nokey", "nope", "x", "km", "STORE", "d"], ":0\r\n"),
        (&["GEOSEARCH", "Sicily", "BYRADIUS", "1", "km"], "-ERR wrong number of arguments for 'geosearch' command\r\n"),
        (&["GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "COUNT", "1"], "-ERR exactly one of BYRADIUS and BYBOX can be specified for GEOSEARCH\r\n"),
        (&["geosearch", "Sicily", "FROMLONLAT", "1", "1", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km"], "-ERR syntax error\r\n"),
        (&["GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYBOX", "1", "-1", "km"], "-ERR height or width cannot be negative\r\n"),
        (&["GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYBOX", "x", "1", "km"], "-ERR need numeric width\r\n"),
        (&["GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYBOX", "1", "x", "km"], "-ERR need numeric height\r\n"),
        (&["GEOSEARCH", "Sicily", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "STOREDIST"], "-ERR syntax error\r\n"),
        (&["GEOSEARCHSTORE", "d", "Sicily", "FROMLONLAT", "1", "1", "BYRADIUS", "1", "km", "WITHDIST"], "-ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n"),
        (&["GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "dst"], ":2\r\n"),
        (&["ZRANGE", "dst", "0", "-1", "WITHSCORES"], "*4\r\n$7\r\nPalermo\r\n$16\r\n3479099956230698\r\n$7\r\nCatania\r\n$16\r\n3479447370796909\r\n"),
        (&["GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "dst"], ":2\r\n"),
        (&["ZRANGE", "dst", "0", "-1", "WITHSCORES"], "*4\r\n$7\r\nCatania\r\n$18\r\n56.441257870158204\r\n$7\r\nPalermo\r\n$18\r\n190.44242984775784\r\n"),
        (&["GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "COUNT", "1", "STOREDIST"], ":1\r\n"),
        (&["ZRANGE", "dst", "0", "-1", "WITHSCORES"], "*2\r\n$7\r\nCatania\r\n$18\r\n56.441257870158204\r\n"),
        (&["GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "100", "37", "BYRADIUS", "1", "km"], ":0\r\n"),
        (&["EXISTS", "dst"], ":0\r\n"),
        (&["SET", "s", "x"], "+OK\r\n"),
        (&["GEOPOS", "s", "a"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (&["GEORADIUS", "s", "1000", "1000", "x", "km"], "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
    ];
    run_table(&mut c, resp2);
    c.cmds(&["HELLO", "3"]);
    let resp3: &[(&[&str], &str)] = &[
        (&["GEOPOS", "Sicily", "Palermo", "nope"], "*2\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n_\r\n"),
        (&["GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "ASC", "WITHCOORD", "WITHDIST", "WITHHASH"], "*2\r\n*4\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n:3479447370796909\r\n*2\r\n,15.08726745843887329\r\n,37.50266842333162032\r\n*4\r\n$7\r\nPalermo\r\n$8\r\n190.4424\r\n:3479099956230698\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n"),
        (&["GEODIST", "Sicily", "Palermo", "nope"], "_\r\n"),
        (&["GEOHASH", "Sicily", "nope"], "*1\r\n_\r\n"),
    ];
    run_table(&mut c, resp3);
}

/// The RESP2 array of these bulk strings.
fn arr(items: &[&str]) -> String {
    let mut s = format!("*{}\r\n", items.len());
    for v in items {
        s.push_str(&format!("${}\r\n{v}\r\n", v.len()));
    }
    s
}

#[test]
fn scores_written_by_zadd_decode_as_redis_decodes_them() {
    let s = server();
    let mut c = s.raw();
    c.cmds(&[
        "ZADD",
        "z",
        "-1",
        "neg",
        "1e30",
        "huge",
        "2.5",
        "frac",
        "4503599627370496",
        "top",
        "9.3e18",
        "past63",
    ]);
    assert_eq!(
        c.cmds(&["GEOPOS", "z", "neg", "huge", "frac", "top", "past63"]),
        "*5\r\n*2\r\n$3\r\n180\r\n$19\r\n85.0511287799999991\r\n\
         *2\r\n$22\r\n-179.99999731779098511\r\n$21\r\n-85.05112751263942528\r\n\
         *2\r\n$22\r\n-179.99999195337295532\r\n$21\r\n-85.05112751263942528\r\n\
         *2\r\n$22\r\n-179.99999731779098511\r\n$19\r\n85.0511287799999991\r\n\
         *2\r\n$3\r\n180\r\n$19\r\n85.0511287799999991\r\n"
    );
    assert_eq!(
        c.cmds(&["GEOHASH", "z", "neg", "huge", "top"]),
        arr(&["bp05b5048p0", "00bh0hbj200", "bp05b5048p0"])
    );
}

#[test]
fn geoadd_counts_as_itself_and_getkeys_finds_store_keys() {
    let s = server();
    let mut c = s.raw();
    c.cmds(&["CONFIG", "RESETSTAT"]);
    c.cmds(&["GEOADD", "foo", "0", "0", "bar"]);
    c.cmds(&["SET", "str", "1"]);
    assert!(c
        .cmds(&["GEOADD", "str", "0", "0", "bar"])
        .starts_with("-WRONGTYPE"));
    let stats = c.cmds(&["INFO", "commandstats"]);
    assert!(
        stats.contains("cmdstat_geoadd:calls=2,") && stats.contains("failed_calls=1"),
        "{stats}"
    );
    assert!(!stats.contains("cmdstat_zadd"), "{stats}");
    assert_eq!(
        c.cmds(&[
            "COMMAND",
            "GETKEYS",
            "GEORADIUS",
            "src",
            "1",
            "2",
            "3",
            "km",
            "STOREDIST",
            "d2",
            "STORE",
            "d"
        ]),
        arr(&["src", "d", "d2"])
    );
    assert_eq!(
        c.cmds(&[
            "COMMAND",
            "GETKEYS",
            "GEOSEARCHSTORE",
            "d",
            "s",
            "FROMMEMBER",
            "m",
            "BYRADIUS",
            "1",
            "km"
        ]),
        arr(&["d", "s"])
    );
    let info = c.cmds(&["COMMAND", "INFO", "GEORADIUS", "GEORADIUS_RO"]);
    let (radius, ro) = info.split_at(info.find("georadius_ro").unwrap());
    assert!(
        radius.contains("movablekeys") && !ro.contains("movablekeys"),
        "{info}"
    );
}

/// A replica's view of the server: SYNC, skip the snapshot, then read the command stream.
struct ReplStream {
    c: RawConn,
}

impl ReplStream {
    fn attach(s: &TestServer) -> ReplStream {
        let mut c = s.raw();
        c.send(b"SYNC\r\n");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n") {
            std::io::Read::read_exact(&mut c.stream, &mut byte).unwrap();
            // Redis sends newlines while it prepares the snapshot.
            if !(head.is_empty() && byte[0] == b'\n') {
                head.push(byte[0]);
            }
        }
        let len: usize = String::from_utf8_lossy(&head[1..head.len() - 2])
            .parse()
            .unwrap();
        let mut rdb = vec![0u8; len];
        std::io::Read::read_exact(&mut c.stream, &mut rdb).unwrap();
        ReplStream { c }
    }

    fn next(&mut self) -> String {
        loop {
            let r = String::from_utf8_lossy(&self.c.read_reply()).into_owned();
            if !r.to_ascii_lowercase().contains("\r\nping\r\n") {
                return r;
            }
        }
    }
}

#[test]
fn geoadd_reaches_replicas_as_zadd() {
    let s = server();
    let mut repl = ReplStream::attach(&s);
    let mut c = s.raw();
    c.cmds(&["GEOADD", "g", "CH", "13.361389", "38.115556", "Palermo"]);
    assert_eq!(repl.next(), arr(&["SELECT", "0"]));
    assert_eq!(
        repl.next(),
        arr(&["zadd", "g", "CH", "3479099956230698", "Palermo"])
    );
    // Changing nothing, searching without STORE, or storing nothing over nothing: not replicated.
    c.cmds(&["GEOADD", "g", "NX", "1", "1", "Palermo"]);
    c.cmds(&["GEORADIUS", "g", "13", "38", "100", "km"]);
    c.cmds(&["GEORADIUS", "g", "100", "38", "1", "km", "STORE", "none"]);
    c.cmds(&["GEORADIUS", "g", "13", "38", "100", "km", "STORE", "d"]);
    assert_eq!(
        repl.next(),
        arr(&["GEORADIUS", "g", "13", "38", "100", "km", "STORE", "d"])
    );
    c.cmds(&["SET", "end", "1"]);
    assert_eq!(repl.next(), arr(&["SET", "end", "1"]));
}

// ---------------------------------------------------------------------------------------------------
// Differential run against a real redis-server.

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545F4914F6CDD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    fn pick<'a>(&mut self, v: &[&'a str]) -> &'a str {
        v[self.below(v.len())]
    }
}

const LAT_LIMIT: f64 = 85.05112878;

/// Random geo sets (clusters at every scale, poles, the antimeridian, repeated points for ties), then
/// random queries of every command and option; every reply must equal Redis's, byte for byte, in
/// RESP2 and RESP3. Results without ASC/DESC are compared as sent: the cell order is Redis's.
#[test]
fn random_queries_match_redis() {
    let Some(redis) = common::start_redis() else {
        println!("SKIPPED: redis-server not installed");
        return;
    };
    let ferro = TestServer::start(&[]);
    let (mut r, mut f) = (redis.raw(), ferro.raw());
    let mut mismatches = Vec::new();
    for seed in 1..=3u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E3779B97F4A7C15) | 1);
        for resp in ["2", "3"] {
            r.cmds(&["HELLO", resp]);
            f.cmds(&["HELLO", resp]);
            let mut both = |args: &[String]| {
                let a: Vec<&str> = args.iter().map(String::as_str).collect();
                let (x, y) = (r.cmds(&a), f.cmds(&a));
                if x != y && mismatches.len() < 10 {
                    mismatches.push(format!("{a:?}\n  redis: {x:?}\n  ferro: {y:?}"));
                }
            };
            both(&["FLUSHALL".into()]);
            let keys = ["g1", "g2"];
            let mut members: Vec<Vec<String>> = vec![Vec::new(); 2];
            let mut centres = Vec::new();
            for (ki, k) in keys.iter().enumerate() {
                for _ in 0..1 + rng.below(5) {
                    let mut clon = rng.range(-180.0, 180.0);
                    let mut clat = rng.range(-85.0, 85.0);
                    if rng.below(5) == 0 {
                        clat = [84.9, -84.9, 0.0, 66.5, -80.5][rng.below(5)];
                    }
                    if rng.below(5) == 0 {
                        clon = [179.9, -179.9, 0.0][rng.below(3)];
                    }
                    centres.push((clon, clat));
                    let spread = [0.0001, 0.01, 0.5, 5.0, 50.0][rng.below(5)];
                    let mut args = vec!["GEOADD".to_string(), k.to_string()];
                    for _ in 0..[3, 10, 40, 150][rng.below(4)] {
                        let (mut lon, mut lat) = (
                            (clon + rng.range(-spread, spread)).clamp(-180.0, 180.0),
                            (clat + rng.range(-spread, spread)).clamp(-LAT_LIMIT, LAT_LIMIT),
                        );
                        if rng.below(7) == 0 {
                            (lon, lat) = (clon, clat);
                        }
                        let m = format!("m{}", rng.below(400));
                        let prec = [2, 6, 10][rng.below(3)];
                        args.push(format!("{lon:.prec$}"));
                        args.push(format!("{lat:.prec$}"));
                        args.push(m.clone());
                        members[ki].push(m);
                    }
                    both(&args);
                }
            }
            let units = ["m", "km", "ft", "mi", "KM", "Mi"];
            for _ in 0..700 {
                let ki = rng.below(3);
                let k = if ki < 2 { keys[ki] } else { "nokey" };
                let pool = &members[ki.min(1)];
                let m = if rng.below(20) == 0 {
                    "nomember".to_string()
                } else {
                    pool[rng.below(pool.len())].clone()
                };
                let (clon, clat) = centres[rng.below(centres.len())];
                let d = [0.0, 0.001, 0.1, 1.0, 10.0][rng.below(5)];
                let lon = format!("{:.6}", (clon + rng.range(-d, d)).clamp(-180.0, 180.0));
                let lat = format!("{:.6}", (clat + rng.range(-d, d)).clamp(-85.05, 85.05));
                let rad = [
                    "0", "1", "100", "1000", "50000", "500000", "5000000", "20000000", "1234.5",
                ][rng.below(9)];
                let unit = rng.pick(&units);
                let mut opts: Vec<&str> = Vec::new();
                for _ in 0..rng.below(4) {
                    match rng.below(7) {
                        0 => opts.push("WITHDIST"),
                        1 => opts.push("WITHHASH"),
                        2 => opts.push("WITHCOORD"),
                        3 => opts.push(rng.pick(&["ASC", "DESC"])),
                        4 => opts.extend(["COUNT", rng.pick(&["1", "2", "3", "10", "50"])]),
                        5 => opts.extend(["COUNT", rng.pick(&["1", "5"]), "ANY"]),
                        _ => opts.push(rng.pick(&["ANY", "COUNT", "WITHDIST"])),
                    }
                }
                let plain: Vec<&str> = opts
                    .iter()
                    .copied()
                    .filter(|o| !o.starts_with("WITH"))
                    .collect();
                let from: Vec<&str> = if rng.below(2) == 0 {
                    vec!["FROMMEMBER", &m]
                } else {
                    vec!["FROMLONLAT", &lon, &lat]
                };
                let by: Vec<&str> = if rng.below(2) == 0 {
                    vec!["BYRADIUS", rad, unit]
                } else {
                    vec![
                        "BYBOX",
                        rad,
                        rng.pick(&["1", "500", "20000", "3000000"]),
                        unit,
                    ]
                };
                let m2 = pool[rng.below(pool.len())].as_str();
                let cmd: Vec<&str> = match rng.below(9) {
                    0 => vec!["GEOPOS", k, &m, m2, "nomember"],
                    1 => vec!["GEOHASH", k, &m, m2, "nomember"],
                    2 => vec!["GEODIST", k, &m, m2, unit],
                    3 => [&["GEORADIUS", k, &lon, &lat, rad, unit][..], &opts].concat(),
                    4 => [&["GEORADIUSBYMEMBER_RO", k, &m, rad, unit][..], &opts].concat(),
                    5 | 6 => [&["GEOSEARCH", k][..], &from, &by, &opts].concat(),
                    7 => {
                        let dist: &[&str] = if rng.below(2) == 0 {
                            &["STOREDIST"]
                        } else {
                            &[]
                        };
                        [&["GEOSEARCHSTORE", "dst", k][..], &from, &by, &plain, dist].concat()
                    }
                    _ => {
                        let st = rng.pick(&["STORE", "STOREDIST"]);
                        [
                            &["GEORADIUS", k, &lon, &lat, rad, unit][..],
                            &plain,
                            &[st, "dst"],
                        ]
                        .concat()
                    }
                };
                both(&cmd.iter().map(|s| s.to_string()).collect::<Vec<_>>());
                if cmd[0].starts_with("GEOSEARCHSTORE") || cmd.contains(&"dst") {
                    both(&["ZRANGE", "dst", "0", "-1", "WITHSCORES"].map(String::from));
                    both(&["OBJECT", "ENCODING", "dst"].map(String::from));
                }
            }
        }
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Redis 7.0.15's dirty counts (`rdb_changes_since_last_save`) for the storing searches: one per member
/// stored, one for a destination deleted by an empty result, none otherwise.
#[test]
fn dirty_counts_as_redis() {
    let s = server();
    let mut c = s.raw();
    c.cmds(&[
        "GEOADD", "g", "13.36", "38.11", "Palermo", "15.08", "37.50", "Catania",
    ]);
    let table: &[(&str, u64)] = &[
        ("GEOSEARCHSTORE d g FROMMEMBER Catania BYRADIUS 300 km", 2),
        ("GEOSEARCHSTORE d g FROMMEMBER Catania BYBOX 1 1 m", 1),
        ("GEOSEARCHSTORE d g FROMLONLAT 0 0 BYRADIUS 1 m", 1),
        ("GEOSEARCHSTORE d g FROMLONLAT 0 0 BYRADIUS 1 m", 0),
        ("GEORADIUS g 15 37 200 km STORE d", 2),
        ("GEORADIUS nokey 15 37 200 km STORE d", 1),
        ("GEORADIUS nokey 15 37 200 km STORE d", 0),
        ("GEORADIUS g 15 37 200 km", 0),
    ];
    common::check_dirty_lines(&mut c, table);
}
