#!/usr/bin/env bash
# How CPU placement decides unpipelined redis-benchmark numbers on this machine: runs GET -c 50 against
# ferrokv and Redis 7.0 (alternating, ROUNDS rounds) with the scheduler free, with server and client pinned
# to different CPUs, and with both pinned to the same CPU; prints req/s, the server's CPU per request and
# its voluntary context switches per request. Usage: tools/placement.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"
N=200000
cargo build --release --bin ferrokv-server >/dev/null 2>&1
FK_PORT=7711
RD_PORT=7712
BIN="$PWD/target/release/ferrokv-server"
WORK=$(mktemp -d)
# Started in a scratch directory, so nothing either server might save lands in the repository.
(cd "$WORK" && exec "$BIN" --port "$FK_PORT" >/dev/null 2>&1) &
FK=$!
(cd "$WORK" && exec redis-server --port "$RD_PORT" --save '' --appendonly no >/dev/null 2>&1) &
RD=$!
trap 'kill $FK $RD 2>/dev/null; sleep 0.2; rm -rf "$WORK"' EXIT
sleep 0.5
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
vcs() { awk '/^voluntary_ctxt_switches/ {print $2}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)
run() { # name pid port client_cpus server_cpus
  local name=$1 pid=$2 port=$3 ccpu=$4 scpu=$5
  taskset -pc "$scpu" "$pid" >/dev/null
  local t0 v0 t1 v1 rps
  t0=$(ticks "$pid"); v0=$(vcs "$pid")
  rps=$(taskset -c "$ccpu" redis-benchmark -p "$port" -t get -n "$N" -r 10000 -c 50 --csv | tail -1 | cut -d, -f2 | tr -d '"')
  t1=$(ticks "$pid"); v1=$(vcs "$pid")
  awk -v n="$name" -v r="$rps" -v t=$((t1 - t0)) -v v=$((v1 - v0)) -v N="$N" -v hz="$hz" \
    'BEGIN { printf "%-8s %10.0f req/s %7.3f us CPU/req %6.3f sleeps/req\n", n, r, t / hz * 1e6 / N, v / N }'
}
for mode in "free:0,1:0,1" "apart:0:1" "shared:1:1"; do
  IFS=: read -r label ccpu scpu <<<"$mode"
  echo "== $label (client on CPU $ccpu, server on CPU $scpu)"
  for _ in $(seq "$ROUNDS"); do
    run ferrokv "$FK" "$FK_PORT" "$ccpu" "$scpu"
    run redis "$RD" "$RD_PORT" "$ccpu" "$scpu"
  done
done
