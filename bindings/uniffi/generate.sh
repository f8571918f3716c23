#!/usr/bin/env bash
# Regenerates the committed Python, Kotlin and Swift sources from the
# library, with this crate's own uniffi-bindgen (the same uniffi version as
# the library). Run it after changing src/lib.rs or uniffi.toml, then
# commit python/chatcrypt/chatcrypt.py, kotlin/chatcrypt/ and swift/.
#
# Usage: bash bindings/uniffi/generate.sh   (from anywhere; honours CARGO_TARGET_DIR)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"

cd "$ROOT"
cargo build -p chatcrypt-uniffi --config "$HERE/build-profile.toml"
LIB="$TARGET/debug/libchatcrypt_uniffi.so"
rm -rf "$HERE/kotlin/chatcrypt" "$HERE/swift"
"$TARGET/debug/uniffi-bindgen" generate --library "$LIB" --language python --no-format --out-dir "$HERE/python/chatcrypt"
"$TARGET/debug/uniffi-bindgen" generate --library "$LIB" --language kotlin --no-format --out-dir "$HERE/kotlin"
"$TARGET/debug/uniffi-bindgen" generate --library "$LIB" --language swift --no-format --out-dir "$HERE/swift"
