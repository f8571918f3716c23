#!/usr/bin/env bash
# The WebAssembly binding's whole CI, on a clean machine: installs what is
# missing (the wasm32-unknown-unknown target; wasm-bindgen-cli at exactly
# the version of the wasm-bindgen crate in Cargo.lock; Debian's chromium;
# npm's binaryen for wasm-opt, into a local tool directory; Debian's nodejs
# if node is missing or older than 20), builds the npm package (build.sh:
# one release build), runs clippy -D warnings on the crate for wasm32, fails
# if the committed TypeScript types differ from the fresh ones, runs every
# node test (the conversation, the messenger layer, the package's entry
# points, the session.json/reject.json and messenger.json/metadata.json
# vector runners, the memory checks and the two demo pages in headless
# Chromium), and checks that the vector runners (session/reject and
# messenger/metadata) fail on a corrupted vector and on a file with one
# case removed. Prints the time of every step.
#
# A registry that refuses an install gives a loud "!!! ... SKIPPED" line:
# for node >= 20, the target or wasm-bindgen-cli the whole binding is
# skipped (exit 0);
# for chromium only the browser test; for binaryen only the wasm-opt pass.
#
# Usage: bash bindings/wasm/ci.sh   (from anywhere; honours CARGO_TARGET_DIR)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
TOOLS="${CHATCRYPT_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/chatcrypt-wasm-tools}"
BINARYEN_VERSION=132.0.0
START=$SECONDS
T=$SECONDS
CURRENT=""
TIMES=""

# Starts a step, closing the one before with its time.
step() {
    if [ -n "$CURRENT" ]; then
        TIMES+="$(printf '%6ss  %s' "$((SECONDS - T))" "$CURRENT")"$'\n'
    fi
    CURRENT="$*"
    T=$SECONDS
    printf '\n== wasm binding: %s\n' "$*"
}
skipped() { printf '\n!!! %s SKIPPED !!!\n\n' "$*" >&2; }

step "node >= 20 (the tests use node:test, import.meta.resolve and the test files' glob)"
node_major() { node --version 2>/dev/null | sed -n 's/^v\([0-9][0-9]*\)\..*/\1/p'; }
if [ "$(node_major)" = "" ] || [ "$(node_major)" -lt 20 ]; then
    # This machine kind ships Node.js 20 (package nodejs 20.x from the
    # machine's apt sources, with npm inside); try apt on a machine that
    # lacks it or has an older one. Only nodejs: that package conflicts with
    # Debian's separate npm package, and Debian 12's own nodejs is 18 (too
    # old), so the version check below decides.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs || true
    fi
fi
if [ "$(node_major)" = "" ] || [ "$(node_major)" -lt 20 ]; then
    skipped "wasm binding: node >= 20 is needed and could not be installed (found: $(node --version 2>/dev/null || echo none)); the WHOLE wasm binding was"
    exit 0
fi
node --version

step "rust target wasm32-unknown-unknown"
if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    if ! rustup target add wasm32-unknown-unknown; then
        skipped "wasm binding: rustup could not install the wasm32-unknown-unknown target; the WHOLE wasm binding was"
        exit 0
    fi
fi

step "wasm-bindgen-cli (the version of the wasm-bindgen crate in Cargo.lock)"
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")
[ -n "$WB_VERSION" ] || { echo "error: no wasm-bindgen in Cargo.lock" >&2; exit 1; }
if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WB_VERSION" ]; then
    # Without its default TLS feature (only wasm-bindgen-test-runner's
    # downloads use it): no ring/rustls to compile. --debug: half the CPU
    # time of a release build (about 1m50s against 4m10s here), and the
    # debug tool still takes under a second per module, with the same
    # output. Its own lock file pins a webpki-roots that crates.io no
    # longer offers, so --locked can fail.
    # --force: cargo's own record may still list the tool when its binary
    # is gone or of another version, and would then install nothing.
    WB_INSTALL=(cargo install wasm-bindgen-cli --version "$WB_VERSION" --no-default-features --debug --force)
    if ! "${WB_INSTALL[@]}" --locked; then
        echo "note: cargo install --locked failed; installing without --locked"
        if ! "${WB_INSTALL[@]}"; then
            skipped "wasm binding: crates.io refused wasm-bindgen-cli $WB_VERSION; the WHOLE wasm binding was"
            exit 0
        fi
    fi
fi
wasm-bindgen --version

step "chromium (Debian) for the demo page test"
CHROMIUM=/usr/bin/chromium
BROWSER=1
if [ ! -x "$CHROMIUM" ]; then
    if [ "$(id -u)" = 0 ] && { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }; then
        :
    else
        skipped "wasm binding: Debian's chromium could not be installed; the headless browser test of demo/ was"
        BROWSER=0
    fi
fi
[ "$BROWSER" = 1 ] && "$CHROMIUM" --version

step "wasm-opt (npm binaryen@$BINARYEN_VERSION, into $TOOLS)"
WASM_OPT="$TOOLS/binaryen-$BINARYEN_VERSION/node_modules/binaryen/bin/wasm-opt"
if [ ! -x "$WASM_OPT" ]; then
    mkdir -p "$TOOLS/binaryen-$BINARYEN_VERSION"
    if ! npm install --prefix "$TOOLS/binaryen-$BINARYEN_VERSION" --no-audit --no-fund --no-save --silent "binaryen@$BINARYEN_VERSION"; then
        skipped "wasm binding: npm refused binaryen@$BINARYEN_VERSION; the wasm-opt pass (smaller .wasm) was"
        WASM_OPT=""
    fi
fi
export WASM_OPT

step "build the npm package (build.sh)"
for t in node web; do cp "$HERE/pkg/$t/chatcrypt_wasm.d.ts" "$WORK/$t.d.ts"; done
bash "$HERE/build.sh"

step "clippy -D warnings (chatcrypt-wasm, wasm32-unknown-unknown, all targets)"
# The crate's deny-lints (unwrap, panic, indexing) and clippy's defaults:
# the root's clippy step covers only the root crate.
(cd "$ROOT" && cargo clippy -p chatcrypt-wasm --all-targets --target wasm32-unknown-unknown -- -D warnings)

step "TypeScript types drift check (pkg/*/chatcrypt_wasm.d.ts)"
for t in node web; do
    if ! diff -u "$WORK/$t.d.ts" "$HERE/pkg/$t/chatcrypt_wasm.d.ts"; then
        echo "error: bindings/wasm/pkg/$t/chatcrypt_wasm.d.ts is out of date: run bash bindings/wasm/build.sh and commit it" >&2
        exit 1
    fi
done
echo "types up to date"

step "node tests (conversation, messenger, package entry points, vectors, memory, demo pages in headless Chromium)"
cd "$HERE"
CHATCRYPT_REQUIRE_CHROMIUM=$BROWSER node --test tests/*.test.mjs

step "the vector runner fails on a corrupted vector"
python3 - "$ROOT/test-vectors/protocol" "$WORK" <<'EOF'
import json, sys
src, out = sys.argv[1], sys.argv[2]
def flip_last_byte(d):
    # The last byte of the third message sent in the fourth case.
    e = [e for e in d["cases"][3]["events"] if e["op"] == "send"][2]
    e["message"] = e["message"][:-2] + "%02x" % (int(e["message"][-2:], 16) ^ 1)

def change_detail(d):
    d["cases"][5]["error"] += "X"

# One case fewer, number_of_cases kept consistent: only the pinned totals
# can catch it.
def drop_case(d):
    del d["cases"][-1]
    d["number_of_cases"] -= 1

CORRUPTIONS = {
    "session": ("session", flip_last_byte),
    "reject": ("reject", change_detail),
    "session-case": ("session", drop_case),
    "reject-case": ("reject", drop_case),
}
for name, (target, corrupt) in CORRUPTIONS.items():
    for which in ("session", "reject"):
        with open(f"{src}/{which}.json") as f:
            data = json.load(f)
        if which == target:
            corrupt(data)
        with open(f"{out}/{name}-{which}.json", "w") as f:
            json.dump(data, f)
EOF
for name in session reject session-case reject-case; do
    mkdir -p "$WORK/$name"
    mv "$WORK/$name-session.json" "$WORK/$name/session.json"
    mv "$WORK/$name-reject.json" "$WORK/$name/reject.json"
    if CHATCRYPT_VECTORS="$WORK/$name" node --test tests/vectors.test.mjs >"$WORK/$name.log" 2>&1; then
        echo "error: the vector runner passed with a corrupted vector file ($name)" >&2
        exit 1
    fi
    grep -E "^# (pass|fail) " "$WORK/$name.log" | tr '\n' ' '
    grep -m1 -A1 "^  error:" "$WORK/$name.log" | tail -1 | sed 's/^ *//' | tr '\n' ' ' || true
    echo "<- corrupted vector file ($name) fails the runner, as it must"
done

step "the messenger vector runner fails on a corrupted vector"
# messenger.json and metadata.json: a flipped byte of a device certificate,
# and one padding case removed (only the pinned totals can catch it).
python3 - "$ROOT/test-vectors/protocol" "$WORK" <<'EOF'
import json, sys
src, out = sys.argv[1], sys.argv[2]
def flip(d):
    c = [c for c in d["cases"] if c["kind"] == "device_certificate"][0]
    c["certificate"] = c["certificate"][:-2] + "%02x" % (int(c["certificate"][-2:], 16) ^ 1)
def drop(d):
    del d["cases"][[i for i, c in enumerate(d["cases"]) if c["kind"] == "padding"][5]]
    d["number_of_cases"] -= 1
for name, target, corrupt in (("m-flip", "messenger", flip), ("m-drop", "metadata", drop)):
    for which in ("messenger", "metadata"):
        with open(f"{src}/{which}.json") as f:
            data = json.load(f)
        if which == target:
            corrupt(data)
        with open(f"{out}/{name}-{which}.json", "w") as f:
            json.dump(data, f)
EOF
for name in m-flip m-drop; do
    mkdir -p "$WORK/$name"
    mv "$WORK/$name-messenger.json" "$WORK/$name/messenger.json"
    mv "$WORK/$name-metadata.json" "$WORK/$name/metadata.json"
    if CHATCRYPT_VECTORS="$WORK/$name" node --test tests/messenger_vectors.test.mjs >"$WORK/$name.log" 2>&1; then
        echo "error: the messenger vector runner passed with a corrupted vector file ($name)" >&2
        exit 1
    fi
    grep -E "^# (pass|fail) " "$WORK/$name.log" | tr '\n' ' '
    echo "<- corrupted vector file ($name) fails the messenger runner, as it must"
done

step "done"
printf 'wasm binding: step times\n%s%6ss  total\n' "$TIMES" "$((SECONDS - START))"
