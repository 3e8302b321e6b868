//! Criterion benchmarks of the request path without sockets: parsing, parsing plus executing GET and SET
//! (single and pipelined ×16, values of 10 B, 1 KB and 100 KB), the glob matcher, and the keyspace at
//! 1,000,000 keys. Reported per command (Throughput::Elements).

use std::hint::black_box;
use std::net::{TcpListener, TcpStream};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ferrokv::cmd::{dispatch, Args, Ctx};
use ferrokv::config::Config;
use ferrokv::protocol::{Out, Parsed, Parser};
use ferrokv::server::conn::Conn;
use ferrokv::server::State;
use ferrokv::store::glob::glob_match;
use ferrokv::store::{Db, Value};
use slab::Slab;

fn encode(args: &[&[u8]], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// A pipeline of `n` copies of one request.
fn pipeline(args: &[&[u8]], n: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for _ in 0..n {
        encode(args, &mut v);
    }
    v
}

/// A server state and one connection (a real loopback socket, never read or written here).
fn harness() -> (State, Slab<Conn>, usize, TcpStream) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(l.local_addr().unwrap()).unwrap();
    let (srv, addr) = l.accept().unwrap();
    let mut conns = Slab::new();
    let id = conns.insert(Conn::new(
        mio::net::TcpStream::from_std(srv),
        1,
        addr,
        0,
        true,
    ));
    (State::new(Config::default()), conns, id, client)
}

/// Parses and executes every request in `input`, as the loop does for one turn.
fn run(
    st: &mut State,
    conns: &mut Slab<Conn>,
    id: usize,
    parser: &mut Parser,
    out: &mut Out,
    input: &[u8],
) {
    let mut pos = 0;
    loop {
        match parser.parse(&input[pos..], false) {
            Parsed::Request(n) => {
                let args = Args::new(&input[pos..], &parser.args);
                let mut ctx = Ctx::new(st, conns, id, 0, out);
                dispatch(&mut ctx, &args);
                pos += n;
            }
            Parsed::Empty(n) => pos += n,
            _ => break,
        }
    }
}

fn bench_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    for (name, size) in [("10B", 10), ("1KB", 1024), ("100KB", 100 * 1024)] {
        let val = vec![b'x'; size];
        for depth in [1usize, 16] {
            let input = pipeline(&[b"SET", b"key:000001", &val], depth);
            g.throughput(Throughput::Elements(depth as u64));
            g.bench_function(format!("SET {name} x{depth}"), |b| {
                let mut p = Parser::default();
                b.iter(|| {
                    let mut pos = 0;
                    while let Parsed::Request(n) = p.parse(&input[pos..], false) {
                        black_box(&p.args);
                        pos += n;
                    }
                })
            });
        }
    }
    g.finish();
}

fn bench_execute(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse+execute");
    for (name, size) in [("10B", 10), ("1KB", 1024), ("100KB", 100 * 1024)] {
        let val = vec![b'x'; size];
        for depth in [1usize, 16] {
            let set = pipeline(&[b"SET", b"key:000001", &val], depth);
            let get = pipeline(&[b"GET", b"key:000001"], depth);
            let (mut st, mut conns, id, _client) = harness();
            let mut parser = Parser::default();
            let mut out = Out::default();
            g.throughput(Throughput::Elements(depth as u64));
            g.bench_function(format!("SET {name} x{depth}"), |b| {
                b.iter(|| {
                    out.buf.clear();
                    run(&mut st, &mut conns, id, &mut parser, &mut out, &set);
                })
            });
            g.bench_function(format!("GET {name} x{depth}"), |b| {
                b.iter(|| {
                    out.buf.clear();
                    run(&mut st, &mut conns, id, &mut parser, &mut out, &get);
                })
            });
        }
    }
    g.finish();
}

fn bench_glob(c: &mut Criterion) {
    let mut g = c.benchmark_group("glob");
    g.throughput(Throughput::Elements(1));
    for (pat, s) in [
        (&b"key:*"[..], &b"key:0123456"[..]),
        (b"*:0?2[0-9]*", b"key:0123456"),
        (b"a*a*a*a*a*b", b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
    ] {
        g.bench_function(String::from_utf8_lossy(pat).into_owned(), |b| {
            b.iter(|| glob_match(black_box(pat), black_box(s), false))
        });
    }
    g.finish();
}

fn bench_keyspace(c: &mut Criterion) {
    let mut g = c.benchmark_group("keyspace 1M keys");
    let mut db = Db::new(42);
    let keys: Vec<Vec<u8>> = (0..1_000_000)
        .map(|i| format!("key:{i:07}").into_bytes())
        .collect();
    for k in &keys {
        db.set(k, Value::from_bytes(b"0123456789abcdef"), false, 1);
    }
    g.throughput(Throughput::Elements(1));
    let mut i = 0usize;
    g.bench_function("lookup hit", |b| {
        b.iter(|| {
            i = (i + 7919) % keys.len();
            black_box(db.lookup(&keys[i], 1));
        })
    });
    g.bench_function("lookup miss", |b| {
        b.iter(|| black_box(db.lookup(b"nosuchkey:12345", 1)))
    });
    g.bench_function("remove+insert", |b| {
        b.iter_batched(
            || {
                i = (i + 7919) % keys.len();
                i
            },
            |k| {
                db.remove(&keys[k], 1);
                db.set(&keys[k], Value::Int(1), false, 1);
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_parse,
    bench_execute,
    bench_glob,
    bench_keyspace
);
criterion_main!(benches);
