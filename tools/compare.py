#!/usr/bin/env python3
"""Side-by-side benchmark of ferrokv and Redis on this machine: starts both servers with equivalent
settings, runs the same redis-benchmark workloads against each alternately (A B A B ...), and prints the
median throughput and server CPU time per request (utime+stime from /proc/PID/stat over the run, divided
by the requests), with the ratio ferrokv/Redis.

Rows 1-3 are driven by redis-benchmark; rows 4-5 by ferrokv-bench (GET while 10,000 idle connections are
held open; a 1:10 SET:GET zipf mix sent open-loop at 80% of Redis's measured peak, for p99/p99.9); row 6
(--memory) is RSS growth for 1,000,000 keys and for 10,000 idle connections.

Usage: tools/compare.py [--rounds 3] [--ferrokv target/release/ferrokv-server] [--redis redis-server]
                        [--bench target/release/ferrokv-bench] [--memory] [--only REGEX]
"""
import json
import argparse
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import time

CLK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[11], fields[12] are utime, stime (14th/15th of the full line)
    return (int(fields[11]) + int(fields[12])) / CLK


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_port(port, timeout=10):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server on port {port} did not start")


def start(kind, binary, port):
    if kind == "ferrokv":
        # No save points, as Redis below: neither server may load or leave a dump.rdb in the repository.
        cmd = [binary, "--port", str(port), "--maxclients", "19000", "--loglevel", "warning",
               "--save", ""]
    else:
        cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--maxclients", "19000",
               "--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    return p


def bench(port, test, flags, n):
    # A test is a redis-benchmark test name, or a whole command (a list) for redis-benchmark to send.
    what = test if isinstance(test, list) else ["-t", test]
    cmd = ["redis-benchmark", "-p", str(port), "-n", str(n), "-r", "100000", "--csv"] + flags
    cmd = cmd[:3] + (what if not isinstance(test, list) else []) + cmd[3:] + (what if isinstance(test, list) else [])
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600).stdout
    # Some tests (LRANGE_*) first report the LPUSH that fills the list: the last row is the test's own.
    found = None
    for line in out.splitlines():
        m = re.match(r'"([^"]+)","([0-9.]+)"', line)
        if m:
            found = float(m.group(2))
    if found is not None:
        return found
    raise SystemExit(f"no result from {' '.join(cmd)}:\n{out}")


ROWS = [
    ("SET -c 50", "set", ["-c", "50"], 300_000),
    ("GET -c 50", "get", ["-c", "50"], 300_000),
    ("SET -c 50 -P 16", "set", ["-c", "50", "-P", "16"], 3_000_000),
    ("GET -c 50 -P 16", "get", ["-c", "50", "-P", "16"], 3_000_000),
    ("SET -c 2000", "set", ["-c", "2000"], 300_000),
    ("GET -c 2000", "get", ["-c", "2000"], 300_000),
]


def fbench(binary, port, args):
    """Runs ferrokv-bench with --json and returns its parsed output."""
    cmd = [binary, "-p", str(port), "--json"] + args
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    return json.loads(out.stdout)


def total_ops(res):
    return sum(r["ops_per_sec"] for r in res["results"])


def total_requests(res):
    return sum(r["requests"] for r in res["results"])


def worst(res, q):
    return max(r["latency_ms"][q] for r in res["results"])


# Issue #4's data-structure rows (redis-benchmark's own tests), -c 50, no pipelining.
GET_SCRIPT = ["EVAL", "return redis.call('get',KEYS[1])", "1", "key:__rand_int__"]
SCRIPT_ROWS = [
    ("EVAL return 1 -c 50", ["EVAL", "return 1", "0"], ["-c", "50"], 200_000),
    ("EVAL return 1 -c 50 -P 16", ["EVAL", "return 1", "0"], ["-c", "50", "-P", "16"], 1_000_000),
    ("EVAL redis.call GET -c 50 -P 16", GET_SCRIPT, ["-c", "50", "-P", "16"], 1_000_000),
]

TYPE_ROWS = [(t.upper() + " -c 50", t, ["-c", "50"], 200_000)
             for t in ["lpush", "rpush", "lpop", "rpop", "sadd", "hset", "spop", "zadd", "zpopmin"]] + [
    ("LRANGE_100 -c 50", "lrange_100", ["-c", "50"], 50_000),
    ("LRANGE_600 -c 50", "lrange_600", ["-c", "50"], 20_000),
]


def idle_conns_rss(pid, port, n=10_000):
    """RSS growth for n idle connections that each sent one PING."""
    before = rss_kb(pid)
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"PING\r\n")
        socks.append(s)
    for s in socks:
        assert s.recv(16) == b"+PONG\r\n"
    time.sleep(0.5)
    after = rss_kb(pid)
    for s in socks:
        s.close()
    return (after - before) * 1024 / n


def keys_rss(pid, port, n=1_000_000):
    """RSS growth for n keys key:0000000... with 16-byte values, loaded with redis-cli --pipe."""
    before = rss_kb(pid)
    val = b"v" * 16
    buf = bytearray()
    for i in range(n):
        k = b"key:%07d" % i
        buf += b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$16\r\n%s\r\n" % (len(k), k, val)
    subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=bytes(buf), capture_output=True, check=True)
    time.sleep(0.5)
    after = rss_kb(pid)
    subprocess.run(["redis-cli", "-p", str(port), "FLUSHALL"], capture_output=True)
    return (after - before) * 1024 / n


def hashes_rss(pid, port, n=1_000_000):
    """RSS growth for n hashes hash:0000000... of 10 fields f0..f9 with 8-byte values (redis-cli --pipe)."""
    before = rss_kb(pid)
    buf = bytearray()
    for i in range(n):
        k = b"hash:%07d" % i
        buf += b"*22\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n" % (len(k), k)
        for f in range(10):
            buf += b"$2\r\nf%d\r\n$8\r\nv%07d\r\n" % (f, (i * 10 + f) % 10_000_000)
    subprocess.run(["redis-cli", "-p", str(port), "--pipe"], input=bytes(buf), capture_output=True, check=True)
    time.sleep(0.5)
    after = rss_kb(pid)
    subprocess.run(["redis-cli", "-p", str(port), "FLUSHALL"], capture_output=True)
    return (after - before) * 1024 / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ferrokv", default="target/release/ferrokv-server")
    ap.add_argument("--redis", default=shutil.which("redis-server") or "redis-server")
    ap.add_argument("--bench", default="target/release/ferrokv-bench")
    ap.add_argument("--memory", action="store_true", help="also measure RSS rows")
    ap.add_argument("--only", default="", help="regex of rows to run")
    ap.add_argument("--types", action="store_true", help="also run the list/set/hash/zset rows")
    ap.add_argument("--scripts", action="store_true", help="also run the EVAL rows")
    ap.add_argument("--hashes", action="store_true", help="also measure RSS of 1,000,000 10-field hashes")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 20000), hard))

    servers = {}
    for kind, binary in (("ferrokv", args.ferrokv), ("redis", args.redis)):
        port = free_port()
        servers[kind] = (start(kind, binary, port), port)
    extra = (TYPE_ROWS if args.types else []) + (SCRIPT_ROWS if args.scripts else [])
    rows = [r for r in ROWS + extra if re.search(args.only, r[0])]
    res = {(r[0], k): [] for r in rows for k in servers}
    try:
        for rnd in range(args.rounds):
            for name, test, flags, n in rows:
                order = ("ferrokv", "redis") if rnd % 2 == 0 else ("redis", "ferrokv")
                for kind in order:
                    proc, port = servers[kind]
                    c0 = cpu_seconds(proc.pid)
                    rps = bench(port, test, flags, n)
                    c1 = cpu_seconds(proc.pid)
                    us = (c1 - c0) / n * 1e6
                    res[(name, kind)].append((rps, us))
                    print(f"round {rnd + 1} {name:18} {kind:8} {rps:12.0f} req/s {us:7.3f} us CPU/req", file=sys.stderr)
        bench_rows = []
        if os.path.exists(args.bench) and re.search(args.only, "GET --idle 10000"):
            name = "GET --idle 10000 (ferrokv-bench)"
            bench_rows.append(name)
            for kind in ("ferrokv", "redis"):
                res[(name, kind)] = []
            for rnd in range(args.rounds):
                order = ("ferrokv", "redis") if rnd % 2 == 0 else ("redis", "ferrokv")
                for kind in order:
                    proc, port = servers[kind]
                    c0 = cpu_seconds(proc.pid)
                    out = fbench(args.bench, port, ["-t", "get", "-c", "50", "-n", "300000", "-r", "100000",
                                                    "--idle", "10000"])
                    c1 = cpu_seconds(proc.pid)
                    n = total_requests(out)
                    res[(name, kind)].append((total_ops(out), (c1 - c0) / n * 1e6))
                    print(f"round {rnd + 1} {name} {kind:8} {total_ops(out):12.0f} req/s", file=sys.stderr)
        mixed = None
        if os.path.exists(args.bench) and re.search(args.only, "mixed 1:10 zipf"):
            common = ["--ratio", "1:10", "--key-pattern", "zipf", "-r", "100000", "-c", "50"]
            peak = total_ops(fbench(args.bench, servers["redis"][1], common + ["--duration", "5"]))
            rate = int(peak * 0.8)
            mixed = {"rate": rate, "peak": peak, "ferrokv": [], "redis": []}
            for rnd in range(args.rounds):
                order = ("ferrokv", "redis") if rnd % 2 == 0 else ("redis", "ferrokv")
                for kind in order:
                    proc, port = servers[kind]
                    c0 = cpu_seconds(proc.pid)
                    out = fbench(args.bench, port, common + ["--rate", str(rate), "--duration", "10",
                                                             "--warmup", "1"])
                    c1 = cpu_seconds(proc.pid)
                    n = total_requests(out)
                    mixed[kind].append((worst(out, "p99"), worst(out, "p99.9"), (c1 - c0) / n * 1e6))
                    print(f"round {rnd + 1} mixed {kind:8} p99 {worst(out, 'p99')} ms", file=sys.stderr)
        print()
        print("| workload | ferrokv req/s | Redis req/s | ratio | ferrokv CPU µs/req | Redis CPU µs/req | ratio |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for name, *_ in rows:
            f = res[(name, "ferrokv")]
            r = res[(name, "redis")]
            fr = statistics.median(x[0] for x in f)
            rr = statistics.median(x[0] for x in r)
            fc = statistics.median(x[1] for x in f)
            rc = statistics.median(x[1] for x in r)
            print(f"| {name} | {fr:,.0f} | {rr:,.0f} | {fr / rr:.2f} | {fc:.3f} | {rc:.3f} | {fc / rc:.2f} |")
        for name in bench_rows:
            f = res[(name, "ferrokv")]
            r = res[(name, "redis")]
            fr = statistics.median(x[0] for x in f)
            rr = statistics.median(x[0] for x in r)
            fc = statistics.median(x[1] for x in f)
            rc = statistics.median(x[1] for x in r)
            print(f"| {name} | {fr:,.0f} | {rr:,.0f} | {fr / rr:.2f} | {fc:.3f} | {rc:.3f} | {fc / rc:.2f} |")
        if mixed:
            print()
            print(f"Mixed 1:10 SET:GET, zipf keys, open loop at {mixed['rate']:,} req/s "
                  f"(80% of Redis's closed-loop peak {mixed['peak']:,.0f}); latency from the scheduled send time:")
            print()
            print("| server | p99 ms | p99.9 ms | CPU µs/req |")
            print("|---|---:|---:|---:|")
            for kind in ("ferrokv", "redis"):
                m = mixed[kind]
                print(f"| {kind} | {statistics.median(x[0] for x in m):.3f} | "
                      f"{statistics.median(x[1] for x in m):.3f} | {statistics.median(x[2] for x in m):.3f} |")
        if args.memory:
            print()
            print("| memory | ferrokv | Redis | ratio |")
            print("|---|---:|---:|---:|")
            fi = idle_conns_rss(servers["ferrokv"][0].pid, servers["ferrokv"][1])
            ri = idle_conns_rss(servers["redis"][0].pid, servers["redis"][1])
            print(f"| RSS per idle connection (10,000 after one PING) | {fi:,.0f} B | {ri:,.0f} B | {fi / ri:.2f} |")
            fk = keys_rss(servers["ferrokv"][0].pid, servers["ferrokv"][1])
            rk = keys_rss(servers["redis"][0].pid, servers["redis"][1])
            print(f"| RSS per key (1,000,000 keys, 16-byte values) | {fk:,.1f} B | {rk:,.1f} B | {fk / rk:.2f} |")
        if args.hashes:
            if not args.memory:
                print()
                print("| memory | ferrokv | Redis | ratio |")
                print("|---|---:|---:|---:|")
            fh = hashes_rss(servers["ferrokv"][0].pid, servers["ferrokv"][1])
            rh = hashes_rss(servers["redis"][0].pid, servers["redis"][1])
            print(f"| RSS per hash (1,000,000 hashes of 10 fields, 8-byte values) | {fh:,.1f} B | {rh:,.1f} B "
                  f"| {fh / rh:.2f} |")
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
