#!/usr/bin/env bash
# Constant-time check of chatcrypt under valgrind memcheck (the ctgrind
# technique; see ct/README.md). The single entry point for CI:
#
#   bash ct/run.sh [extra valgrind options, e.g. --gen-suppressions=all]
#
# Installs valgrind and libclang-dev (crabgrind's bindgen) if missing; if
# that is impossible it prints a loud SKIPPED line and exits 0. Otherwise it
# builds ct/ and runs it under valgrind once per backend configuration
# (CT_CONFIGS, default "detected soft") and exits with valgrind's status.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
start=$SECONDS

skip() {
  echo "!!! constant-time check SKIPPED: $* !!!"
  exit 0
}

# --- Tools -----------------------------------------------------------------
missing=()
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
if command -v dpkg >/dev/null 2>&1; then
  dpkg -s libclang-dev >/dev/null 2>&1 || missing+=(libclang-dev)
fi
if [ ${#missing[@]} -gt 0 ]; then
  as_root=()
  if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      as_root=(sudo -n)
    else
      skip "${missing[*]} missing and not root (no sudo) to install"
    fi
  fi
  command -v apt-get >/dev/null 2>&1 || skip "${missing[*]} missing and no apt-get to install"
  echo "ct: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq >/dev/null 2>&1 || skip "apt-get update failed (no network?)"
  "${as_root[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 ||
    skip "apt-get install ${missing[*]} failed (no network?)"
  command -v valgrind >/dev/null 2>&1 || skip "valgrind still missing after install"
fi
command -v cargo >/dev/null 2>&1 || { echo "ct: cargo not found" >&2; exit 1; }
echo "ct: $(valgrind --version), $(cargo --version)"

# --- Build and run -----------------------------------------------------------
# A target dir of its own: the debug info and codegen-units below (and the
# soft configuration's RUSTFLAGS) must not invalidate target/release. One
# codegen unit lets valgrind name inlined frames (with several, inlined
# chatcrypt functions show as "UnknownInlinedFun"), which the suppressions
# match by name.
export CARGO_PROFILE_RELEASE_DEBUG=true
export CARGO_PROFILE_RELEASE_CODEGEN_UNITS=1
export CARGO_TERM_COLOR=never

# detected: each crate's runtime CPU detection picks its backend; under
#   valgrind that is valgrind's virtual CPU (AES-NI, PCLMULQDQ, AVX2; no
#   AVX-512, VAES or SHA-NI), see the "cpu features seen" line.
# soft: the portable backends, forced by the crates' documented cfgs.
soft_flags='--cfg aes_backend="soft" --cfg polyval_backend="soft" --cfg sha2_backend="soft" --cfg curve25519_dalek_backend="serial"'

status=0
summary=()
for config in ${CT_CONFIGS:-detected soft}; do
  case "$config" in
    detected) flags="${RUSTFLAGS:-}" ;;
    soft) flags="${RUSTFLAGS:-} $soft_flags" ;;
    *) echo "ct: unknown configuration '$config' (detected, soft)" >&2; exit 2 ;;
  esac
  dir="target/ct/$config"
  echo
  echo "=== ct: $config: build ($((SECONDS - start)) s)"
  if ! RUSTFLAGS="$flags" CARGO_TARGET_DIR="$dir" cargo build --release -p chatcrypt-ct; then
    echo "ct: $config: build FAILED" >&2
    status=1
    summary+=("$config: build failed")
    continue
  fi
  echo "=== ct: $config: valgrind ($((SECONDS - start)) s)"
  log="$dir/valgrind.log"
  valgrind --error-exitcode=1 --track-origins=yes --num-callers=50 \
    --suppressions=ct/valgrind.supp -s "$@" "$dir/release/chatcrypt-ct" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  counts=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors from [0-9]* contexts (suppressed: \([0-9]*\) from.*/\1 error(s), \2 suppressed/p' "$log" | tail -n 1)
  [ "$rc" = 0 ] || status=$rc
  summary+=("$config: exit $rc, ${counts:-no error summary}")
done

echo
if [ "$status" = 0 ]; then verdict=PASSED; else verdict=FAILED; fi
printf 'ct: constant-time check %s: ' "$verdict"
(IFS=';'; printf '%s' "${summary[*]}" | sed 's/;/; /g')
echo " ($((SECONDS - start)) s)"
exit "$status"
