#!/usr/bin/env bash
# The C binding's whole CI, on a clean machine: installs cbindgen if it is
# missing, builds chatcrypt-c and chatcrypt-bindings-core and runs their Rust
# tests, fails if the committed header differs from a fresh cbindgen run,
# compiles the C tests with the system cc (-Wall -Wextra -Werror), runs them,
# checks that the vector runner fails on corrupted copies of the vectors,
# and runs them again under AddressSanitizer + UndefinedBehaviorSanitizer
# when this cc can build and run such programs (a loud skip otherwise).
#
# Usage: bash bindings/c/ci.sh   (from anywhere; honours CARGO_TARGET_DIR)
set -euo pipefail

CBINDGEN_VERSION=0.29.4
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
CC="${CC:-cc}"

START=$SECONDS
# Each step's line carries the seconds since the start (the step timings).
step() { printf '\n== c binding: %s (at %ds)\n' "$*" "$((SECONDS - START))"; }

step "cbindgen $CBINDGEN_VERSION"
if ! command -v cbindgen >/dev/null 2>&1 || [ "$(cbindgen --version)" != "cbindgen $CBINDGEN_VERSION" ]; then
    cargo install --locked cbindgen --version "$CBINDGEN_VERSION"
fi
cbindgen --version

step "build and Rust tests (chatcrypt-bindings-core, chatcrypt-c)"
cd "$ROOT"
cargo build -p chatcrypt-c
cargo test -p chatcrypt-bindings-core -p chatcrypt-c
# The crates' own deny-lints (unwrap, panic, indexing, undocumented unsafe):
# the root's clippy step covers only the root crate.
cargo clippy -p chatcrypt-bindings-core -p chatcrypt-c --all-targets -- -D warnings

step "header drift check (include/chatcrypt.h)"
cd "$HERE"
cbindgen --quiet --config cbindgen.toml --crate chatcrypt-c --output "$WORK/chatcrypt.h"
if ! diff -u include/chatcrypt.h "$WORK/chatcrypt.h"; then
    echo "error: bindings/c/include/chatcrypt.h is out of date: regenerate it with" >&2
    echo "  (cd bindings/c && cbindgen --config cbindgen.toml --crate chatcrypt-c --output include/chatcrypt.h)" >&2
    exit 1
fi
echo "header up to date"

step "vectors to line format"
python3 tests/vectors_to_lines.py "$ROOT/test-vectors/protocol" "$WORK"

LIB="$TARGET/debug"
CFLAGS=(-std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror -Iinclude)
LIBS=(-lpthread -ldl -lm)

step "compile the C tests with $CC (conversation against the shared library, vectors and messenger against the static one)"
"$CC" "${CFLAGS[@]}" tests/conversation.c -L"$LIB" -Wl,-rpath,"$LIB" -lchatcrypt_c "${LIBS[@]}" -o "$WORK/conversation"
"$CC" "${CFLAGS[@]}" tests/messenger.c "$LIB/libchatcrypt_c.a" "${LIBS[@]}" -o "$WORK/messenger"
"$CC" "${CFLAGS[@]}" tests/vectors.c "$LIB/libchatcrypt_c.a" "${LIBS[@]}" -o "$WORK/vectors"
if command -v c++ >/dev/null 2>&1; then
    c++ -fsyntax-only -Wall -Wextra -Werror -x c++ include/chatcrypt.h
    echo "header compiles as C++"
else
    echo "!!! C++ header check SKIPPED: no c++ compiler on this machine (Debian's g++ provides one)" >&2
fi

step "run the C tests"
"$WORK/conversation"
"$WORK/messenger"
"$WORK/vectors" "$WORK"

step "the vector runner fails on corrupted vector files"
# An expected error changed, and a case removed from each file
# (number_of_cases kept consistent: only the pinned totals catch it).
python3 - "$ROOT/test-vectors/protocol" "$WORK/corrupt" <<'EOF'
import json, os, sys
src, out = sys.argv[1], sys.argv[2]

def change_error(s, r):
    r["cases"][5]["error"] = "Duplicate" if r["cases"][5]["error"] == "Auth" else "Auth"

def drop_session_case(s, r):
    del s["cases"][-1]
    s["number_of_cases"] -= 1

def drop_reject_case(s, r):
    del r["cases"][-1]
    r["number_of_cases"] -= 1

for f in (change_error, drop_session_case, drop_reject_case):
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
    python3 tests/vectors_to_lines.py "$d" "$d" >/dev/null
    if "$WORK/vectors" "$d" >"$d.log" 2>&1; then
        echo "error: the C vector runner passed on corrupted vectors ($(basename "$d"))" >&2
        exit 1
    fi
    echo "$(basename "$d"): $(tail -1 "$d.log") <- fails, as it must"
done

step "AddressSanitizer + UndefinedBehaviorSanitizer"
SAN=(-g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
printf 'int main(void){return 0;}\n' >"$WORK/probe.c"
if "$CC" "${SAN[@]}" "$WORK/probe.c" -o "$WORK/probe" 2>/dev/null && "$WORK/probe" 2>/dev/null; then
    "$CC" "${CFLAGS[@]}" "${SAN[@]}" tests/conversation.c "$LIB/libchatcrypt_c.a" "${LIBS[@]}" -o "$WORK/conversation-asan"
    "$CC" "${CFLAGS[@]}" "${SAN[@]}" tests/vectors.c "$LIB/libchatcrypt_c.a" "${LIBS[@]}" -o "$WORK/vectors-asan"
    "$CC" "${CFLAGS[@]}" "${SAN[@]}" tests/messenger.c "$LIB/libchatcrypt_c.a" "${LIBS[@]}" -o "$WORK/messenger-asan"
    ASAN_OPTIONS=detect_leaks=1 "$WORK/conversation-asan"
    ASAN_OPTIONS=detect_leaks=1 "$WORK/messenger-asan"
    ASAN_OPTIONS=detect_leaks=1 "$WORK/vectors-asan" "$WORK"
else
    echo "SKIPPED: $CC cannot build and run -fsanitize=address,undefined programs here; the C tests ran without sanitizers only" >&2
fi

step "done"
