#!/usr/bin/env bash
# Compiles the generated Kotlin binding (kotlin/chatcrypt/chatcrypt.kt) with
# kotlin/test/ChatcryptTest.kt and kotlin/test/MessengerTest.kt and runs
# them on the JVM against the library: a conversation, the messenger layer
# (a conversation through session records, sealed sender) and the vector
# runner (session.json and reject.json in the
# C runner's line format, made by bindings/c/tests/vectors_to_lines.py).
#
# The Kotlin compiler comes from the npm registry (JetBrains' package
# `kotlin-compiler`, the kotlinc distribution; Maven Central is not reached
# from this project's machines and Debian's `kotlin` 1.3 is too old), JNA
# from Debian (libjna-java), Java 17 from the machine. A registry that
# refuses gives a loud SKIPPED line and exit 0.
#
# Usage: bash bindings/uniffi/kotlin/test/run.sh <path to libchatcrypt_uniffi.so>
# (CHATCRYPT_VECTORS names another directory holding the two JSON files.)
set -euo pipefail

KOTLIN_VERSION=2.4.20
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
UNIFFI="$(cd "$HERE/../.." && pwd)"
ROOT="$(cd "$UNIFFI/../.." && pwd)"
LIB="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/chatcrypt"
KOTLIN_HOME="$CACHE/kotlin-compiler-$KOTLIN_VERSION"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

skip() {
    echo "!!! Kotlin test SKIPPED: $*" >&2
    exit 0
}

as_root_install() {
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        apt-get install -y -qq "$@" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$@" >/dev/null; } ||
            skip "apt-get install $* failed"
    else
        skip "$* missing and not installable here (not root or no apt-get)"
    fi
}

command -v java >/dev/null 2>&1 || as_root_install openjdk-17-jdk-headless
command -v npm >/dev/null 2>&1 || as_root_install npm
[ -f /usr/share/java/jna.jar ] || as_root_install libjna-java
JNA=/usr/share/java/jna.jar

if [ ! -x "$KOTLIN_HOME/bin/kotlinc" ]; then
    echo "fetching kotlin-compiler@$KOTLIN_VERSION from the npm registry"
    (cd "$WORK" && npm pack --silent "kotlin-compiler@$KOTLIN_VERSION" >/dev/null) ||
        skip "the npm registry refused kotlin-compiler@$KOTLIN_VERSION"
    mkdir -p "$CACHE"
    rm -rf "$KOTLIN_HOME.tmp"
    mkdir "$KOTLIN_HOME.tmp"
    tar xzf "$WORK/kotlin-compiler-$KOTLIN_VERSION.tgz" -C "$KOTLIN_HOME.tmp" --strip-components=1
    mv "$KOTLIN_HOME.tmp" "$KOTLIN_HOME"
fi
"$KOTLIN_HOME/bin/kotlinc" -version 2>&1
java -version 2>&1 | head -1

python3 "$ROOT/bindings/c/tests/vectors_to_lines.py" "${CHATCRYPT_VECTORS:-$ROOT/test-vectors/protocol}" "$WORK"

echo "compiling chatcrypt.kt, ChatcryptTest.kt and MessengerTest.kt"
"$KOTLIN_HOME/bin/kotlinc" -nowarn -cp "$JNA" -d "$WORK/test.jar" \
    "$UNIFFI/kotlin/chatcrypt/chatcrypt.kt" "$HERE/ChatcryptTest.kt" "$HERE/MessengerTest.kt"

CP="$WORK/test.jar:$KOTLIN_HOME/lib/kotlin-stdlib.jar:$JNA"
java -Djna.library.path="$(dirname "$LIB")" -cp "$CP" ChatcryptTestKt "$WORK"
# The messenger layer: a conversation through session records and sealed sender.
java -Djna.library.path="$(dirname "$LIB")" -cp "$CP" messengertest.MessengerTestKt
