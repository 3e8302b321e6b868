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
