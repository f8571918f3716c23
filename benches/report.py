#!/usr/bin/env python3
"""Prints the BENCHMARKS.md table from the last criterion run.

Run `cargo bench --workspace` first (chatcrypt, the primitive floor and
vodozemac in one invocation), then `python3 benches/report.py`. Reads the
median point estimates in target/criterion/<group>/<case>/new/estimates.json.
"""
import json
import os
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "target", "criterion")


def median_ns(group, case):
    path = os.path.join(ROOT, group, case, "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"]
    except FileNotFoundError:
        return None


def fmt(ns):
    if ns is None:
        return "n/a"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} µs"
    return f"{ns:.0f} ns"


def ratio(a, b):
    return "n/a" if a is None or b is None else f"{a / b:.2f}×"


rows = []
for size in ["16", "256", "4096", "65536"]:
    floor = median_ns("floor", f"msg_{size}") or median_ns("floor", f"msg/{size}")
    for op in ["encrypt", "decrypt"]:
        ours = median_ns(op, size)
        vz = median_ns(f"vodozemac_{op}", size)
        rows.append((f"{op} {size} B", ours, floor, vz, "floor/msg"))
he_rows = []
for size in ["16", "256", "4096", "65536"]:
    for op in ["encrypt", "decrypt"]:
        he_rows.append((f"{op} {size} B", median_ns(f"{op}_he", size), median_ns(op, size)))
rt = median_ns("ratchet", "round_trip_16")
step = median_ns("floor", "ratchet_step")
msg16 = median_ns("floor", "msg_16") or median_ns("floor", "msg/16")
rt_floor = None if step is None or msg16 is None else 2 * step + 2 * msg16
rows.append(("ratchet round trip (16 B each way)", rt, rt_floor, median_ns("vodozemac_ratchet", "round_trip_16"),
             "2 × floor/ratchet_step + 2 × floor/msg/16"))
for op in ["initiate", "accept"]:
    rows.append((f"handshake {op}", median_ns("handshake", op), median_ns("floor", op),
                 median_ns("vodozemac_handshake", op), f"floor/{op}"))
rows.append(("handshake bundle creation", median_ns("handshake", "bundle"), None, None, ""))
rows.append(("state encode (session)", median_ns("state", "encode"), None, None, ""))
rows.append(("state decode (session)", median_ns("state", "decode"), None, None, ""))

print("| operation | chatcrypt | floor | ratio to floor | vodozemac | vodozemac / chatcrypt |")
print("|---|---|---|---|---|---|")
for name, ours, floor, vz, _ in rows:
    print(f"| {name} | {fmt(ours)} | {fmt(floor)} | {ratio(ours, floor)} | {fmt(vz)} | {ratio(vz, ours)} |")
if "--floors" in sys.argv:
    print()
    for name, *_rest, floor_name in rows:
        print(f"- {name}: floor = {floor_name or 'none'}")

print()
print("| header encryption | with HE | plain | HE / plain |")
print("|---|---|---|---|")
for name, he, plain in he_rows:
    print(f"| {name} | {fmt(he)} | {fmt(plain)} | {ratio(he, plain)} |")

# Hardening figures (issue 11): forged-message cost against a genuine
# decrypt, and the cost of restoring a session against a message.
dec16 = median_ns("decrypt", "16")
dec16_he = median_ns("decrypt_he", "16")
print()
print("| hardening | chatcrypt | against | ratio |")
print("|---|---|---|---|")
for name, ours, ref, ref_name in [
    ("forgery/worst (plain)", median_ns("forgery", "worst"), dec16, "decrypt/16"),
    ("forgery/worst_he", median_ns("forgery", "worst_he"), dec16_he, "decrypt_he/16"),
    ("forgery/record_worst (5 sessions)", median_ns("forgery", "record_worst"), median_ns("forgery", "worst"), "forgery/worst"),
    ("state/decode (Session::from_bytes)", median_ns("state", "decode"), dec16, "decrypt/16"),
    ("state/open (sealed)", median_ns("state", "open"), dec16, "decrypt/16"),
    ("state/seal", median_ns("state", "seal"), dec16, "decrypt/16"),
    ("cycle/open_decrypt_seal", median_ns("cycle", "open_decrypt_seal"), msg16, "floor/msg/16"),
]:
    print(f"| {name} | {fmt(ours)} | {ref_name} {fmt(ref)} | {ratio(ours, ref)} |")

# Post-quantum figures (issue 13): the hybrid handshake against its floor
# (classical floor + one ML-KEM-1024 encapsulation / decapsulation on the
# crate; `_sig` also verifies the KEM prekey's signature), against our
# classical handshake and against vodozemac's; the hot path in the same run.
print()
print("| post-quantum | chatcrypt | against | ratio |")
print("|---|---|---|---|")
ih, ah = median_ns("handshake", "initiate_hybrid"), median_ns("handshake", "accept_hybrid")
for name, ours, ref, ref_name in [
    ("initiate_hybrid", ih, median_ns("floor", "initiate_hybrid"), "floor/initiate_hybrid"),
    ("initiate_hybrid", ih, median_ns("floor", "initiate_hybrid_sig"), "floor/initiate_hybrid_sig"),
    ("accept_hybrid", ah, median_ns("floor", "accept_hybrid"), "floor/accept_hybrid"),
    ("initiate_hybrid", ih, median_ns("handshake", "initiate"), "classical initiate"),
    ("accept_hybrid", ah, median_ns("handshake", "accept"), "classical accept"),
    ("initiate_hybrid", ih, median_ns("vodozemac_handshake", "initiate"), "vodozemac initiate"),
    ("accept_hybrid", ah, median_ns("vodozemac_handshake", "accept"), "vodozemac accept"),
    ("kem_prekey (generate + sign)", median_ns("handshake", "kem_prekey"), median_ns("handshake", "bundle"),
     "classical bundle creation"),
    ("encrypt/16 (hot path)", median_ns("encrypt", "16"), msg16, "floor/msg/16"),
    ("decrypt/16 (hot path)", dec16, msg16, "floor/msg/16"),
]:
    print(f"| {name} | {fmt(ours)} | {ref_name} {fmt(ref)} | {ratio(ours, ref)} |")

# Messenger fan-out (benches/protocol.rs `fan_out`): one 64-byte payload
# encrypted for N devices through their session records, per device, against
# one Session::encrypt of the same payload (the per-device floor).
print()
print("| fan-out (64 B) | total | per device | session_encrypt | per device / encrypt |")
print("|---|---|---|---|---|")
enc = median_ns("fan_out", "session_encrypt")
for n in [1, 3, 6]:
    total = median_ns("fan_out", f"devices_{n}")
    per = None if total is None else total / n
    print(f"| {n} device{'s' if n > 1 else ''} | {fmt(total)} | {fmt(per)} | {fmt(enc)} | {ratio(per, enc)} |")

# Attachments (benches/protocol.rs `attachment`, SPEC.md §22): a 1 MiB and a
# 64 MiB file through the chunk API against raw AES-256-GCM over the same
# 64 KiB chunks (same nonces, no digest) in the same run. The target
# is a throughput of at least 0.9× the floor's.
print()
print("| attachment | chatcrypt | throughput | floor | floor throughput | throughput / floor |")
print("|---|---|---|---|---|---|")


def gib_s(size, ns):
    return "n/a" if ns is None else f"{size / ns * 1e9 / 2**30:.2f} GiB/s"


for size, label in [(1 << 20, "1 MiB"), (64 << 20, "64 MiB")]:
    for op in ["encrypt", "decrypt"]:
        ours = median_ns("attachment", f"{op}_{size}") or median_ns("attachment", f"{op}/{size}")
        floor = median_ns("attachment", f"floor_{op}_{size}") or median_ns("attachment", f"floor_{op}/{size}")
        print(f"| {op} {label} | {fmt(ours)} | {gib_s(size, ours)} | {fmt(floor)} | {gib_s(size, floor)} "
              f"| {ratio(floor, ours)} |")

# Sealed sender (benches/protocol.rs `sealed`, SPEC.md §27): sealing and
# opening one envelope around a session message of a 160-byte padded text,
# beside the session message itself; the envelope's extra cost as a ratio to
# one receiving DH ratchet step (`floor/ratchet_step`: a key generation, two
# X25519 and two KDF_RK) in the same run.
print()
print("| sealed sender | time | extra over the session message | extra / floor ratchet_step |")
print("|---|---|---|---|")
step = median_ns("floor", "ratchet_step")
for op, base in [("seal", "session_encrypt"), ("open", "session_decrypt")]:
    ours, plain = median_ns("sealed", op), median_ns("sealed", base)
    extra = None if ours is None or plain is None else ours - plain
    print(f"| {op} (session message {fmt(plain)}) | {fmt(ours)} | {fmt(extra)} | {ratio(extra, step)} |")
for case in ["forged_open", "forged_open_max"]:
    ours = median_ns("sealed", case)
    print(f"| {case} | {fmt(ours)} | | {ratio(ours, step)} |")
print()
print("| recipients | seal_multi | per recipient | separate envelopes | per recipient | multi / separate |")
print("|---|---|---|---|---|---|")
for n in [1, 10, 100]:
    multi = median_ns("sealed", f"multi_{n}") or median_ns("sealed", f"multi/{n}")
    sep = median_ns("sealed", f"separate_{n}") or median_ns("sealed", f"separate/{n}")
    per_m = None if multi is None else multi / n
    per_s = None if sep is None else sep / n
    print(f"| {n} | {fmt(multi)} | {fmt(per_m)} | {fmt(sep)} | {fmt(per_s)} | {ratio(multi, sep)} |")
split = median_ns("sealed", "split_100") or median_ns("sealed", "split/100")
print(f"\nserver split of a 100-recipient envelope: {fmt(split)} ({fmt(None if split is None else split / 100)} per recipient)")
