#!/usr/bin/env bash
# Runs units of Redis 7.0's own test suite (Debian's redis source package) against ferrokv in external mode,
# each unit on a fresh server, and prints per unit the tests passed and failed and the first exception (an
# exception ends a unit early unless DURABLE=1, which runs on past it).
# Usage: tools/redis-tests.sh [unit/type/list unit/multi ...]   (default: the units BENCHMARKS.md lists)
set -uo pipefail
cd "$(dirname "$0")/.."
SRC="${REDIS_SRC:-/tmp/redis-src/redis-7.0.15}"
PORT="${PORT:-7500}"
if [ ! -x "$SRC/runtest" ]; then
  # Fetch the source package: needs deb-src entries and tclsh.
  if [ ! -f /etc/apt/sources.list.d/ferrokv-src.sources ] && ! grep -rqs '^Types: deb-src' /etc/apt/sources.list.d/; then
    cat >/etc/apt/sources.list.d/ferrokv-src.sources <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  fi
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tcl dpkg-dev >/dev/null
  mkdir -p "$(dirname "$SRC")"
  (cd "$(dirname "$SRC")" && apt-get source --download-only redis >/dev/null && tar xzf redis_7.0.*.orig.tar.gz)
fi
UNITS=("$@")
if [ ${#UNITS[@]} -eq 0 ]; then
  UNITS=(unit/type/list unit/type/list-2 unit/type/list-3 unit/type/hash unit/type/set unit/type/zset
    unit/type/string unit/type/incr unit/type/stream unit/type/stream-cgroups unit/multi unit/pubsub
    unit/bitops unit/bitfield unit/other unit/introspection unit/introspection-2 unit/keyspace unit/expire
    unit/scan unit/dump unit/sort unit/geo unit/hyperloglog unit/protocol unit/quit unit/info-command)
fi
cargo build --release --bin ferrokv-server >/dev/null 2>&1 || { echo "build failed"; exit 1; }
BIN="$PWD/target/release/ferrokv-server"
for u in "${UNITS[@]}"; do
  dir=$(mktemp -d)
  (cd "$dir" && exec "$BIN" --port "$PORT" --save '' --loglevel warning >/dev/null 2>&1) &
  pid=$!
  sleep 0.4
  log=$(cd "$SRC" && timeout 900 ./runtest --host 127.0.0.1 --port "$PORT" --tags -needs:debug --timeout 60 \
    ${DURABLE:+--durable} --single "$u" 2>&1 | sed 's/\x1b\[[0-9;]*m//g')
  ok=$(grep -ac '^\[ok\]' <<<"$log")
  err=$(grep -a '^\[err\]' <<<"$log" | sort -u)
  exc=$(grep -a '^\[exception\]' <<<"$log" | head -1 | cut -c1-160)
  printf '%-28s ok %4d  err %3d  %s\n' "$u" "$ok" "$(grep -c . <<<"$err")" "$exc"
  [ -n "$err" ] && sed 's/^/    /' <<<"$err"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  rm -rf "$dir"
done
