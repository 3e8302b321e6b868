#!/usr/bin/env bash
# Where each server's CPU goes in the unpipelined GET -c 50 row: runs redis-benchmark against ferrokv and
# Redis 7.0 (alternating, ROUNDS rounds), samples each server with `perf record` during its run, and prints
# the server's CPU per request split into kernel and user space, its sleeps per request, and the top kernel
# symbols. Shows the floor the kernel sets: both servers pay the same TCP path per request.
# Needs `perf` (apt-get install linux-perf). Usage: tools/kernel-share.sh [ROUNDS]
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${1:-3}"
N=600000
cargo build --release --bin ferrokv-server >/dev/null 2>&1
FK_PORT=7721
RD_PORT=7722
BIN="$PWD/target/release/ferrokv-server"
WORK=$(mktemp -d)
(cd "$WORK" && exec "$BIN" --port "$FK_PORT" --save '' >/dev/null 2>&1) &
FK=$!
(cd "$WORK" && exec redis-server --port "$RD_PORT" --save '' --appendonly no >/dev/null 2>&1) &
RD=$!
trap 'kill $FK $RD 2>/dev/null; sleep 0.2; rm -rf "$WORK"' EXIT
sleep 0.5
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
vcs() { awk '/^voluntary_ctxt_switches/ {print $2}' "/proc/$1/status"; }
hz=$(getconf CLK_TCK)
run() { # name pid port round
  local name=$1 pid=$2 port=$3 round=$4 data="$WORK/perf.$1.$4"
  redis-benchmark -p "$port" -t get -n 50000 -r 100000 -c 50 -q >/dev/null
  local t0 v0 t1 v1 rps kshare
  t0=$(ticks "$pid"); v0=$(vcs "$pid")
  perf record -q -o "$data" -F 2999 -g -p "$pid" >/dev/null 2>&1 &
  local prec=$!
  rps=$(redis-benchmark -p "$port" -t get -n "$N" -r 100000 -c 50 --csv | tail -1 | cut -d, -f2 | tr -d '"')
  kill -INT "$prec"; wait "$prec" || true
  t1=$(ticks "$pid"); v1=$(vcs "$pid")
  kshare=$(perf report -i "$data" --no-children --sort dso -q --stdio -g none 2>/dev/null |
    awk '/kernel/ {gsub("%", "", $1); print $1}')
  awk -v n="$name" -v r="$rps" -v t=$((t1 - t0)) -v v=$((v1 - v0)) -v N="$N" -v hz="$hz" -v k="$kshare" \
    'BEGIN { c = t / hz * 1e6 / N; printf "%-8s %9.0f req/s %6.3f us CPU/req = %6.3f kernel + %6.3f user  %6.3f sleeps/req\n", n, r, c, c * k / 100, c * (100 - k) / 100, v / N }'
}
for round in $(seq "$ROUNDS"); do
  run ferrokv "$FK" "$FK_PORT" "$round"
  run redis "$RD" "$RD_PORT" "$round"
done
for name in ferrokv redis; do
  echo "== $name: top symbols, last round"
  perf report -i "$WORK/perf.$name.$ROUNDS" --no-children --sort sym -q --stdio -g none 2>/dev/null | head -8
done
