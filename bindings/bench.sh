#!/usr/bin/env bash
# Per-message encrypt and decrypt at 16 B and 4 KiB through each binding,
# beside native Rust, all measured in this one invocation (BENCHMARKS.md,
# "Bindings"):
#
#   1. criterion, `cargo bench -p chatcrypt-c --bench abi`: native
#      `Session::encrypt`/`decrypt` and the C ABI on handles (both with the
#      OS generator);
#   2. WebAssembly under node: `bindings/wasm/bench/bench.mjs` on the
#      release package (`bindings/wasm/build.sh`; needs what
#      bindings/wasm/ci.sh installs);
#   3. Python: `bindings/uniffi/python/bench/bench.py` on a release build of
#      chatcrypt-uniffi;
#
# then prints each figure as a ratio to the native one, and the size of the
# shipped .wasm (plain and gzip'ed). The machine should be otherwise idle.
#
# Usage: bash bindings/bench.sh   (from anywhere; honours CARGO_TARGET_DIR)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$ROOT"

echo "== native and C ABI (criterion)"
cargo bench -p chatcrypt-c --bench abi 2>&1 | grep -E "^binding/|time:" || true

echo "== WebAssembly under node"
# The package as shipped: wasm-opt -Oz when bindings/wasm/ci.sh installed it.
TOOLS="${CHATCRYPT_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/chatcrypt-wasm-tools}"
opt=$(find "$TOOLS" -path '*/binaryen/bin/wasm-opt' -type f 2>/dev/null | head -n 1 || true)
WASM_OPT="${WASM_OPT:-$opt}" bash bindings/wasm/build.sh | grep -E "wasm-opt|note" || true
node bindings/wasm/bench/bench.mjs | tee "$WORK/wasm.txt"

echo "== Python"
cargo build --release -p chatcrypt-uniffi >/dev/null 2>&1
mkdir -p "$WORK/py/chatcrypt"
cp bindings/uniffi/python/chatcrypt/__init__.py bindings/uniffi/python/chatcrypt/chatcrypt.py "$WORK/py/chatcrypt/"
cp "$TARGET/release/libchatcrypt_uniffi.so" "$WORK/py/chatcrypt/"
PYTHONPATH="$WORK/py" python3 bindings/uniffi/python/bench/bench.py | tee "$WORK/py.txt"

python3 - "$TARGET/criterion/binding" "$WORK/wasm.txt" "$WORK/py.txt" "$ROOT/bindings/wasm/pkg/web/chatcrypt_wasm_bg.wasm" <<'PY'
import gzip, json, os, re, sys

crit, wasm_txt, py_txt, wasm_file = sys.argv[1:5]

def criterion(name):
    with open(os.path.join(crit, name, "new", "estimates.json")) as f:
        return json.load(f)["median"]["point_estimate"] / 1000.0  # microseconds

def timed(path):
    out = {}
    for line in open(path):
        m = re.search(r"(\d+) B: encrypt ([\d.]+) us, decrypt ([\d.]+) us", line)
        if m:
            out[(int(m.group(1)), "encrypt")] = float(m.group(2))
            out[(int(m.group(1)), "decrypt")] = float(m.group(3))
    return out

wasm, py = timed(wasm_txt), timed(py_txt)
print()
print("| operation | native | C ABI | C / native | WebAssembly (node) | wasm / native | Python | Python / native |")
print("|---|---|---|---|---|---|---|---|")
for size in (16, 4096):
    for op in ("encrypt", "decrypt"):
        n = criterion(f"native_{op}_{size}")
        c = criterion(f"c_abi_{op}_{size}")
        w, p = wasm[(size, op)], py[(size, op)]
        print(f"| {op} {size} B | {n:.2f} µs | {c:.2f} µs | {c / n:.2f}× | {w:.2f} µs | {w / n:.1f}× | {p:.2f} µs | {p / n:.1f}× |")
raw = open(wasm_file, "rb").read()
print()
print(f"chatcrypt_wasm_bg.wasm: {len(raw)} bytes, {len(gzip.compress(raw, 9))} gzip'ed (-9)")
PY
