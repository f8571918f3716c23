"""Per-message encrypt and decrypt through the Python binding, at 16 B and
4 KiB, with the OS generator: one session pair per size, in-order messages
(no ratchet step inside the timed loops), the median of 7 timed runs of N
messages each after one warm-up run, the sizes taking turns. `bindings/bench.sh` sets it beside the
native and C ABI figures of the criterion bench `chatcrypt-c/abi`, measured
in the same invocation.

Usage: PYTHONPATH=bindings/uniffi/python python3 bindings/uniffi/python/bench/bench.py
(after bindings/uniffi/ci.sh or a build that put the library beside the module)
"""

import statistics
import sys
import time

import chatcrypt as cc


def pair(rng):
    bob = cc.IdentityKeyPair.generate(rng)
    spk = cc.SignedPreKey.generate(bob, 1, rng)
    opk = cc.OneTimePreKey.generate(2, rng)
    kem = cc.KemPreKey.generate(bob, 3, rng)
    bundle = cc.PreKeyBundle(bob, spk, opk, kem)
    alice = cc.IdentityKeyPair.generate(rng)
    a = cc.Session.initiate(alice, bundle, cc.Mode.PLAIN, cc.PqPolicy.REQUIRED, rng)
    first = cc.PreKeyMessage.from_bytes(a.encrypt(b"hi", rng))
    accepted = cc.accept_session(
        bob, spk, opk, cc.KemPreKeyUse.ONE_TIME(key=kem), first, cc.ModePolicy.ANY, cc.PqPolicy.REQUIRED, rng
    )
    b = accepted.session
    a.decrypt(b.encrypt(b"hi", rng), rng)
    b.decrypt(a.encrypt(b"ok", rng), rng)
    return a, b


def main():
    rng = cc.Rng.os()
    sizes = (16, 4096)
    count = {16: 5000, 4096: 2000}
    pairs = {size: pair(rng) for size in sizes}
    times = {key: [] for key in [(size, op) for size in sizes for op in ("encrypt", "decrypt")] + ["floor"]}
    # The runs of the sizes and of the call floor take turns, so that a slow
    # spell of a shared machine weighs on all of them alike.
    for run in range(8):
        for size in sizes:
            a, b = pairs[size]
            pt = b"a" * size
            n = count[size]
            t = time.perf_counter_ns()
            msgs = [a.encrypt(pt, rng) for _ in range(n)]
            te = (time.perf_counter_ns() - t) / n
            t = time.perf_counter_ns()
            for m in msgs:
                b.decrypt(m, rng)
            td = (time.perf_counter_ns() - t) / n
            if run > 0:  # run 0 warms up
                times[(size, "encrypt")].append(te)
                times[(size, "decrypt")].append(td)
        # The floor of a call through the generated module: a method without
        # arguments whose Rust side does almost nothing (two foreign calls:
        # the object's handle and the method).
        a = pairs[16][0]
        t = time.perf_counter_ns()
        for _ in range(20000):
            a.encoded_len()
        if run > 0:
            times["floor"].append((time.perf_counter_ns() - t) / 20000)
    version = sys.version.split()[0]
    for size in sizes:
        enc = statistics.median(times[(size, "encrypt")]) / 1000
        dec = statistics.median(times[(size, "decrypt")]) / 1000
        print(f"python {version} {size:4} B: encrypt {enc:.2f} us, decrypt {dec:.2f} us per message")
    print(f"python {version} call floor: {statistics.median(times['floor']) / 1000:.2f} us per Session.encoded_len()")


if __name__ == "__main__":
    main()
