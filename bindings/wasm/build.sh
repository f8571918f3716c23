#!/usr/bin/env bash
# Builds the npm package in bindings/wasm/pkg: the release .wasm
# (wasm32-unknown-unknown, opt-level 3, WebAssembly SIMD), the JavaScript glue and the
# TypeScript types of wasm-bindgen for node (pkg/node, CommonJS) and for
# browsers and bundlers (pkg/web, ES module), and wasm-opt -Oz on the .wasm
# when a recent enough wasm-opt is found (see below). The hand-written files of
# pkg/ (package.json, README.md, index.js, index.d.ts, chatcrypt_error.js)
# are left as they are.
#
# Needs: the wasm32-unknown-unknown target and wasm-bindgen-cli at exactly
# the version of the wasm-bindgen crate in Cargo.lock (ci.sh installs both).
# Usage: bash bindings/wasm/build.sh   (from anywhere; honours CARGO_TARGET_DIR)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
PKG="$HERE/pkg"

# Speed for the shipped module, without touching the workspace's profiles
# (the root Cargo.toml owns them). Measured with bindings/bench.sh
# (BENCHMARKS.md, "Bindings"): opt-level 3 with WebAssembly SIMD (simd128)
# runs a message about 1.5 times faster than opt-level "s" without it, for a
# module about a quarter larger. SIMD needs Chrome/Edge 91, Firefox 89,
# Safari 16.4 or node 16.4 and later; CHATCRYPT_WASM_SIMD=0 builds a module
# without it for older engines.
export CARGO_PROFILE_RELEASE_OPT_LEVEL="${CARGO_PROFILE_RELEASE_OPT_LEVEL:-3}"
case "${CHATCRYPT_WASM_SIMD:-1}" in
    0) SIMD=0 ;;
    1) SIMD=1 ;;
    *) echo "error: CHATCRYPT_WASM_SIMD must be 0 or 1 (got: $CHATCRYPT_WASM_SIMD)" >&2; exit 1 ;;
esac
if [ "$SIMD" = 1 ]; then
    # Cargo takes extra flags from one source only (CARGO_ENCODED_RUSTFLAGS,
    # else RUSTFLAGS, else the target's rustflags): add the feature to the
    # one it will use. With --target, RUSTFLAGS reaches only wasm32 code.
    if [ -n "${CARGO_ENCODED_RUSTFLAGS+set}" ]; then
        export CARGO_ENCODED_RUSTFLAGS="${CARGO_ENCODED_RUSTFLAGS:+$CARGO_ENCODED_RUSTFLAGS$'\x1f'}-Ctarget-feature=+simd128"
    elif [ -n "${RUSTFLAGS+set}" ]; then
        export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C target-feature=+simd128"
    else
        export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="${CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS:+$CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS }-C target-feature=+simd128"
    fi
fi
export CARGO_PROFILE_RELEASE_LTO="${CARGO_PROFILE_RELEASE_LTO:-true}"
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS="${CARGO_PROFILE_RELEASE_CODEGEN_UNITS:-1}"
export CARGO_PROFILE_RELEASE_PANIC="${CARGO_PROFILE_RELEASE_PANIC:-abort}"

cd "$ROOT"
cargo build --release -p chatcrypt-wasm --target wasm32-unknown-unknown
WASM="$TARGET/wasm32-unknown-unknown/release/chatcrypt_wasm.wasm"

for t in node web; do
    target=$([ "$t" = node ] && echo nodejs || echo web)
    rm -f "$PKG/$t/chatcrypt_wasm.js" "$PKG/$t/chatcrypt_wasm_bg.wasm" "$PKG/$t/chatcrypt_wasm_bg.wasm.d.ts"
    wasm-bindgen --target "$target" --out-dir "$PKG/$t" "$WASM"
    # The low-level exports' types are of no use to callers.
    rm -f "$PKG/$t/chatcrypt_wasm_bg.wasm.d.ts"
done

# wasm-opt: $WASM_OPT, else the one on PATH; version 117 or later (Debian
# 12's binaryen 108 turns wasm-bindgen's externref table into a funcref one
# and the module fails to load). ci.sh installs npm's binaryen@132.0.0.
WASM_OPT="${WASM_OPT:-$(command -v wasm-opt || true)}"
opt_version=$([ -n "$WASM_OPT" ] && "$WASM_OPT" --version 2>/dev/null | grep -o '[0-9][0-9]*' | head -1 || echo 0)
if [ -n "$WASM_OPT" ] && [ "${opt_version:-0}" -ge 117 ]; then
    # Both targets get the same module from wasm-bindgen: optimise it once.
    "$WASM_OPT" -Oz "$PKG/node/chatcrypt_wasm_bg.wasm" -o "$PKG/node/chatcrypt_wasm_bg.wasm.opt"
    mv "$PKG/node/chatcrypt_wasm_bg.wasm.opt" "$PKG/node/chatcrypt_wasm_bg.wasm"
    cp "$PKG/node/chatcrypt_wasm_bg.wasm" "$PKG/web/chatcrypt_wasm_bg.wasm"
    echo "wasm-opt -Oz ($("$WASM_OPT" --version)) applied"
    # The module has SIMD exactly when it was asked for.
    if "$WASM_OPT" --print-features "$PKG/node/chatcrypt_wasm_bg.wasm" -o /dev/null | grep -qx -- --enable-simd; then
        has_simd=1
    else
        has_simd=0
    fi
    if [ "$has_simd" != "$SIMD" ]; then
        echo "error: the module's SIMD use ($has_simd) is not what CHATCRYPT_WASM_SIMD asked for ($SIMD)" >&2
        exit 1
    fi
else
    echo "note: no wasm-opt >= 117 (found: ${WASM_OPT:-none} ${opt_version:-}), the .wasm is not post-optimised"
fi
cmp -s "$PKG/node/chatcrypt_wasm_bg.wasm" "$PKG/web/chatcrypt_wasm_bg.wasm"
size=$(wc -c <"$PKG/node/chatcrypt_wasm_bg.wasm")
gz=$(gzip -9 -c "$PKG/node/chatcrypt_wasm_bg.wasm" | wc -c)
echo "chatcrypt_wasm_bg.wasm: $size bytes, $gz gzip -9"
