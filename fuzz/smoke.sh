#!/usr/bin/env bash
# Builds the fuzz targets and runs each for a short time (default 30 s),
# seeded with the committed corpus. Needs a nightly toolchain; without one it
# says so loudly and exits 0 (the corpora are still replayed by `cargo test`).
#   bash fuzz/smoke.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-30}
if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "!!! fuzz smoke run SKIPPED: no nightly toolchain on this machine (rustup toolchain install nightly)"
  exit 0
fi
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
cargo +nightly fuzz build -O
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for target in $(cargo +nightly fuzz list); do
  python3 - "$target" "$tmp/$target" <<'PY'
import os, sys
target, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
lines = [l.strip() for l in open(f"corpora/{target}.hex") if l.strip() and not l.startswith("#")]
for i, l in enumerate(lines):
    open(os.path.join(out, f"c{i}"), "wb").write(bytes.fromhex(l))
PY
  echo "--- fuzzing $target for ${secs}s"
  if ! cargo +nightly fuzz run -O "$target" "$tmp/$target" -- -max_total_time="$secs" -print_final_stats=1 \
      >"$tmp/$target.log" 2>&1; then
    tail -n 40 "$tmp/$target.log"
    echo "!!! fuzz target $target failed"
    exit 1
  fi
  grep -E "stat::number_of_executed_units|stat::new_units_added|Done " "$tmp/$target.log" || true
done
echo "fuzz smoke run passed (${secs}s per target)"
