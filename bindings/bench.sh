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
#   4. criterion again, native only, with the software backends of the
#      `aes`, `polyval` and `sha2` crates forced by their `cfg`s, in its own
#      target directory: WebAssembly has no AES, carry-less multiply or SHA
#      instructions and runs the same software AES and POLYVAL (its
#      SHA-256 is sha2's SIMD128 version);
#
# then prints each figure as a ratio to the native one (and WebAssembly's
# also to native with software crypto), and the size of the shipped .wasm
# (plain and gzip'ed). The machine should be otherwise idle.
#
# Usage: bash bindings/bench.sh   (from anywhere; honours CARGO_TARGET_DIR)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$ROOT"

# Every step must succeed: its output goes to a log that is checked before
# anything is read from it, and criterion's estimates from earlier runs are
# removed first, so that no figure of another invocation can be reported.
SOFT="$TARGET/soft-crypto"
rm -rf "$TARGET/criterion/binding" "$SOFT/criterion/binding"
run() { # run LOG COMMAND...: the command's output into $WORK/LOG; fail loudly
    local log="$WORK/$1"; shift
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        echo "error: bench step failed: $*" >&2
        exit 1
    fi
}

echo "== native and C ABI (criterion)"
run abi.txt cargo bench -p chatcrypt-c --bench abi
grep -E "^binding/|time:" "$WORK/abi.txt"

echo "== WebAssembly under node"
# The package as shipped: wasm-opt -Oz when bindings/wasm/ci.sh installed it.
TOOLS="${CHATCRYPT_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/chatcrypt-wasm-tools}"
opt=$(find "$TOOLS" -path '*/binaryen/bin/wasm-opt' -type f 2>/dev/null | head -n 1 || true)
run build.txt env WASM_OPT="${WASM_OPT:-$opt}" bash bindings/wasm/build.sh
grep -E "wasm-opt|note|bytes" "$WORK/build.txt" || true
run wasm.txt node bindings/wasm/bench/bench.mjs
cat "$WORK/wasm.txt"

echo "== Python"
run py-build.txt cargo build --release -p chatcrypt-uniffi
mkdir -p "$WORK/py/chatcrypt"
cp bindings/uniffi/python/chatcrypt/__init__.py bindings/uniffi/python/chatcrypt/chatcrypt.py "$WORK/py/chatcrypt/"
cp "$TARGET/release/libchatcrypt_uniffi.so" "$WORK/py/chatcrypt/"
run py.txt env PYTHONPATH="$WORK/py" python3 bindings/uniffi/python/bench/bench.py
cat "$WORK/py.txt"

echo "== native with software AES, GHASH and SHA-256 (criterion)"
SOFT_CFG='--cfg aes_backend="soft" --cfg polyval_backend="soft" --cfg sha2_backend="soft"'
run soft.txt env -u CARGO_ENCODED_RUSTFLAGS CARGO_TARGET_DIR="$SOFT" \
    RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }$SOFT_CFG" cargo bench -p chatcrypt-c --bench abi -- native
grep -E "^binding/|time:" "$WORK/soft.txt"

python3 - "$TARGET/criterion/binding" "$WORK/wasm.txt" "$WORK/py.txt" "$ROOT/bindings/wasm/pkg/web/chatcrypt_wasm_bg.wasm" "$SOFT/criterion/binding" <<'PY'
import json, os, re, subprocess, sys

crit, wasm_txt, py_txt, wasm_file, soft = sys.argv[1:6]

def criterion(name, root=crit):
    with open(os.path.join(root, name, "new", "estimates.json")) as f:
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
rows, soft_rows = [], []
for size in (16, 4096):
    for op in ("encrypt", "decrypt"):
        n = criterion(f"native_{op}_{size}")
        c = criterion(f"c_abi_{op}_{size}")
        s = criterion(f"native_{op}_{size}", soft)
        w, p = wasm[(size, op)], py[(size, op)]
        # The cfgs took effect only if software AES-GCM is much slower.
        if size == 4096 and s / n < 3:
            sys.exit(f"error: native-soft is only {s / n:.1f}x native at 4 KiB: the software backends were not used")
        rows.append(f"| {op} {size} B | {n:.2f} µs | {c:.2f} µs | {c / n:.2f}× | {w:.2f} µs | {w / n:.1f}× | {p:.2f} µs | {p / n:.1f}× |")
        soft_rows.append(f"| {op} {size} B | {s:.2f} µs | {w:.2f} µs | {w / s:.2f}× | {s / n:.1f}× |")
print()
print("| operation | native | C ABI | C / native | WebAssembly (node) | wasm / native | Python | Python / native |")
print("|---|---|---|---|---|---|---|---|")
print("\n".join(rows))
print()
print("| operation | native, software crypto | WebAssembly (node) | wasm / native-soft | native-soft / native |")
print("|---|---|---|---|---|")
print("\n".join(soft_rows))
raw = open(wasm_file, "rb").read()
print()
gz = len(subprocess.run(["gzip", "-9", "-c", wasm_file], check=True, capture_output=True).stdout)
print(f"chatcrypt_wasm_bg.wasm: {len(raw)} bytes, {gz} gzip'ed (gzip -9, as build.sh prints it)")
PY
