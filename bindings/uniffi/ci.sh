#!/usr/bin/env bash
# The UniFFI binding's whole CI, on a clean machine: builds chatcrypt-uniffi
# once (the cdylib and its own uniffi-bindgen, debug profile), regenerates
# the Python, Kotlin and Swift sources and fails if they differ from the
# committed ones, copies the library beside the Python module and runs the
# Python tests (unittest: a conversation, the messenger layer
# (python/tests/test_messenger.py: two users' devices through session
# records, sealed sender, retries, trust changes, padding, a generator that
# runs dry) and the cross-language vector runner over
# test-vectors/protocol/session.json and reject.json), and
# checks that the vector runner fails on corrupted copies of the files.
# clippy -D warnings runs on the crate (all targets).
#
# Then it compiles and runs the Kotlin test (kotlin/test/run.sh: the
# generated kotlin/chatcrypt/chatcrypt.kt with kotlin/test/ChatcryptTest.kt,
# a conversation and the vector runner, and kotlin/test/MessengerTest.kt,
# the messenger layer's conversation, retry and sealed sender) with the
# Kotlin compiler from the npm registry and JNA from Debian (about 70 s
# cold, most of it compiling chatcrypt.kt); CHATCRYPT_KOTLIN=0
# leaves it out. The Swift sources are only generated and drift-checked:
# no registry this project reaches offers a Swift toolchain.
#
# Usage: bash bindings/uniffi/ci.sh   (from anywhere; honours CARGO_TARGET_DIR)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

T0=$SECONDS
LAST=$SECONDS
step() {
    if [ -n "${STEP:-}" ]; then printf -- '-- uniffi binding: %s took %ds\n' "$STEP" $((SECONDS - LAST)); fi
    STEP="$*"
    LAST=$SECONDS
    if [ -n "$STEP" ]; then printf '\n== uniffi binding: %s\n' "$STEP"; fi
}

step "python3"
if ! command -v python3 >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && apt-get install -y -qq python3
    else
        echo "error: python3 is missing and cannot be installed here (not root or no apt-get)" >&2
        exit 1
    fi
fi
python3 --version

step "build chatcrypt-uniffi (cdylib + uniffi-bindgen)"
cd "$ROOT"
cargo build -p chatcrypt-uniffi --config "$HERE/build-profile.toml"
LIB="$TARGET/debug/libchatcrypt_uniffi.so"
BINDGEN="$TARGET/debug/uniffi-bindgen"
"$BINDGEN" --version

step "clippy -D warnings (chatcrypt-uniffi, all targets)"
# The crate's deny-lints and clippy's defaults: the root's clippy step covers
# only the root crate. Same profile config as the build, same target dir.
cargo clippy -p chatcrypt-uniffi --all-targets --config "$HERE/build-profile.toml" -- -D warnings

step "generate Python, Kotlin and Swift; drift check against the committed sources"
for lang in python kotlin swift; do
    "$BINDGEN" generate --library "$LIB" --language "$lang" --no-format --out-dir "$WORK/gen/$lang" >/dev/null
done
drift=0
diff -u "$HERE/python/chatcrypt/chatcrypt.py" "$WORK/gen/python/chatcrypt.py" || drift=1
diff -ru "$HERE/kotlin/chatcrypt" "$WORK/gen/kotlin/chatcrypt" || drift=1
diff -ru "$HERE/swift" "$WORK/gen/swift" || drift=1
if [ "$drift" != 0 ]; then
    echo "error: the generated bindings are out of date: regenerate them with" >&2
    echo "  bash bindings/uniffi/generate.sh" >&2
    exit 1
fi
echo "python/chatcrypt/chatcrypt.py, kotlin/chatcrypt/chatcrypt.kt and swift/ up to date"

step "Python tests (unittest)"
cp "$LIB" "$HERE/python/chatcrypt/"
python3 "$HERE/python/tests/run.py"

step "the Python vector runner fails on corrupted vector files"
# A message byte flipped, an expected error changed, a case removed from
# each file (number_of_cases kept consistent: only the pinned totals catch
# it), and a reject case whose setup (a stored key) is broken so that it
# fails with the very error the case expects: each must fail the runner.
python3 - "$ROOT/test-vectors/protocol" "$WORK/corrupt" <<'EOF'
import json, os, sys
src, out = sys.argv[1], sys.argv[2]

def flip_byte(s, r):
    e = [e for e in s["cases"][3]["events"] if e["op"] == "send"][2]
    e["message"] = e["message"][:-2] + "%02x" % (int(e["message"][-2:], 16) ^ 1)

def change_error(s, r):
    r["cases"][5]["error"] = "Duplicate" if r["cases"][5]["error"] == "Auth" else "Auth"

def drop_session_case(s, r):
    del s["cases"][-1]
    s["number_of_cases"] -= 1

def drop_reject_case(s, r):
    del r["cases"][-1]
    r["number_of_cases"] -= 1

def break_setup(s, r):
    c = next(c for c in r["cases"] if c["kind"] == "accept" and c["error"] == "Decode(Truncated)")
    c["responder"]["signed_prekey"]["signature"] = c["responder"]["signed_prekey"]["signature"][:-2]

for f in (flip_byte, change_error, drop_session_case, drop_reject_case, break_setup):
    d = os.path.join(out, f.__name__)
    os.makedirs(d)
    files = {}
    for name in ("session", "reject"):
        with open(os.path.join(src, name + ".json")) as fh:
            files[name] = json.load(fh)
    f(files["session"], files["reject"])
    for name, data in files.items():
        with open(os.path.join(d, name + ".json"), "w") as fh:
            json.dump(data, fh)
EOF
for d in "$WORK"/corrupt/*; do
    if CHATCRYPT_VECTORS="$d" CHATCRYPT_TESTS=test_vectors.py python3 "$HERE/python/tests/run.py" >"$d.log" 2>&1; then
        echo "error: the Python vector runner passed on corrupted vectors ($(basename "$d"))" >&2
        exit 1
    fi
    echo "$(basename "$d"): $(tail -1 "$d.log") <- fails, as it must"
done

if [ "${CHATCRYPT_KOTLIN:-1}" != 0 ]; then
    step "Kotlin test (kotlinc from the npm registry, JNA from Debian)"
    bash "$HERE/kotlin/test/run.sh" "$LIB"
else
    step ""
    echo "!!! Kotlin test SKIPPED: CHATCRYPT_KOTLIN=0 was set" >&2
fi

step ""
echo "!!! Swift test SKIPPED: no registry this project reaches offers a Swift toolchain; swift/ is generated and drift-checked only"
printf '== uniffi binding: done in %ds\n' $((SECONDS - T0))
