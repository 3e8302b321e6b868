#!/usr/bin/env python3
"""Checks ferrokv-bench against redis-benchmark on a real Redis: starts redis-server on a free loopback port,
runs the same settings with each tool alternately (A B A B ...), and prints per round the ops/s each tool
reports, the CPU each client spent per request and the CPU the server spent per request (utime+stime from
/proc over the run), then the medians and the median of the per-round ratios.

Rows:
  get      -t get -n 300000 -r 10000 -c 50
  get-P16  -t get -n 300000 -r 10000 -c 50 -P 16
  eval     a Lua loop that costs the server tens of microseconds per request: the server is the bottleneck
           whatever the client costs, so both tools should measure the same thing

Usage: tools/ferrokv-bench/validate.py [--rounds 5] [--rows get,get-P16,eval]
       [--bench target/release/ferrokv-bench] [--port PORT (use a running server instead)]
"""
import argparse
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time

CLK = os.sysconf("SC_CLK_TCK")
LUA = "local x=0 for i=1,3000 do x=x+i end return x"
ROWS = {
    "get": (["-t", "get", "-n", "300000", "-r", "10000", "-c", "50"], [], 300000),
    "get-P16": (["-t", "get", "-n", "300000", "-r", "10000", "-c", "50", "-P", "16"], [], 300000),
    "eval": (["-n", "30000", "-c", "50"], ["EVAL", LUA, "0"], 30000),
}


def server_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_redis_benchmark(port, opts, cmd):
    out = subprocess.run(["redis-benchmark", "-p", str(port), *opts, "--csv", *cmd],
                         capture_output=True, text=True, check=True).stdout
    rows = [l for l in out.splitlines() if l.startswith('"') and not l.startswith('"test"')]
    return float(rows[0].split('","')[1])


def run_ferrokv_bench(bench, port, opts, cmd):
    out = subprocess.run([bench, "-p", str(port), *opts, "--json", *cmd],
                         capture_output=True, text=True, check=True).stdout
    r = json.loads(out)["results"][0]
    if r["errors"]:
        sys.exit(f"ferrokv-bench saw {r['errors']} errors: {r['first_error']}")
    return r["ops_per_sec"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--rows", default="get,get-P16,eval")
    ap.add_argument("--bench", default="target/release/ferrokv-bench")
    ap.add_argument("--port", type=int)
    args = ap.parse_args()
    proc, tmp = None, None
    port = args.port
    if port is None:
        port = free_port()
        tmp = tempfile.TemporaryDirectory()
        proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                 "--appendonly", "no", "--dir", tmp.name],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), 0.1).close()
                break
            except OSError:
                time.sleep(0.05)
    pid = proc.pid if proc else int(subprocess.run(
        ["redis-cli", "-p", str(port), "info", "server"], capture_output=True, text=True
    ).stdout.split("process_id:")[1].split()[0])
    try:
        for name in args.rows.split(","):
            opts, cmd, n = ROWS[name]
            print(f"== {name}: {' '.join(opts + cmd)}  (load average {os.getloadavg()[0]:.2f})")
            res = {"redis-benchmark": [], "ferrokv-bench": []}
            ratios = []
            for i in range(args.rounds):
                line = []
                for tool in res:
                    c0, s0 = children_cpu(), server_cpu(pid)
                    if tool == "redis-benchmark":
                        ops = run_redis_benchmark(port, opts, cmd)
                    else:
                        ops = run_ferrokv_bench(args.bench, port, opts, cmd)
                    c1, s1 = children_cpu(), server_cpu(pid)
                    res[tool].append(ops)
                    line.append(f"{tool} {ops:>10.0f} ops/s (client {(c1 - c0) / n * 1e6:.2f} us/req, "
                                f"server {(s1 - s0) / n * 1e6:.2f} us/req)")
                ratios.append(res["ferrokv-bench"][-1] / res["redis-benchmark"][-1])
                print(f"  round {i + 1}: " + " | ".join(line) + f" | ratio {ratios[-1]:.3f}", flush=True)
            mr, mf = (statistics.median(v) for v in res.values())
            print(f"  median: redis-benchmark {mr:.0f}, ferrokv-bench {mf:.0f}, ratio of medians {mf / mr:.3f}, "
                  f"median ratio {statistics.median(ratios):.3f}")
    finally:
        if proc:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    main()
