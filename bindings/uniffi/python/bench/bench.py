"""Per-message encrypt and decrypt through the Python binding, at 16 B and
4 KiB, with the OS generator: one session pair per size, in-order messages
(no ratchet step inside the timed loops), the median of 7 timed runs of N
messages each after one warm-up run. `bindings/bench.sh` sets it beside the
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
    for size in (16, 4096):
        n = 5000 if size == 16 else 2000
        a, b = pair(rng)
        pt = b"a" * size
        enc, dec = [], []
        for run in range(8):
            t = time.perf_counter_ns()
            msgs = [a.encrypt(pt, rng) for _ in range(n)]
            te = (time.perf_counter_ns() - t) / n
            t = time.perf_counter_ns()
            for m in msgs:
                b.decrypt(m, rng)
            td = (time.perf_counter_ns() - t) / n
            if run > 0:  # run 0 warms up
                enc.append(te)
                dec.append(td)
        print(
            f"python {sys.version.split()[0]} {size:4} B: encrypt {statistics.median(enc) / 1000:.2f} us, "
            f"decrypt {statistics.median(dec) / 1000:.2f} us per message"
        )
    # The floor of a call through the generated module: a method without
    # arguments whose Rust side does almost nothing (two foreign calls: the
    # object's handle and the method).
    a, _ = pair(rng)
    floor = []
    for run in range(8):
        t = time.perf_counter_ns()
        for _ in range(20000):
            a.encoded_len()
        if run > 0:
            floor.append((time.perf_counter_ns() - t) / 20000)
    print(f"python {sys.version.split()[0]} call floor: {statistics.median(floor) / 1000:.2f} us per Session.encoded_len()")


if __name__ == "__main__":
    main()
