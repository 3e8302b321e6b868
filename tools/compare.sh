#!/usr/bin/env bash
# Builds ferrokv and ferrokv-bench in release mode, then runs the side-by-side comparison with Debian's
# redis-server (installed if missing) and prints the tables recorded in BENCHMARKS.md.
# Usage: tools/compare.sh [--rounds N] [--memory] [--only REGEX]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null
fi
cargo build --release --bin ferrokv-server --bin ferrokv-bench
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
exec python3 tools/compare.py --ferrokv target/release/ferrokv-server --bench target/release/ferrokv-bench "$@"
