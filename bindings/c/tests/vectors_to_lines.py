#!/usr/bin/env python3
"""Converts test-vectors/protocol/session.json and reject.json into a line
format that the C vector runner (vectors.c) reads without a JSON parser.

Only the layout changes: every byte string is copied as it is (lowercase
hex), and the prekeys' stored forms (SPEC.md §10.2, §10.3, §16.2) are the
tag, the format version 1 and the JSON fields concatenated, as
tests/support/spec_impl.rs builds them. All decisions (what to compare,
which error) stay in the C runner, which replays everything through the C
API. "-" stands for an empty or absent byte string.

Usage: vectors_to_lines.py <test-vectors/protocol dir> <out dir>
writes <out dir>/session.txt and <out dir>/reject.txt.
"""

import json
import os
import re
import sys


def h(s):
    return s if s else "-"


def u32(n):
    return "%08x" % n


def spk_stored(k):
    return "5001" + u32(k["id"]) + k["private"] + k["signature"]


def opk_stored(k):
    return "4f01" + u32(k["id"]) + k["private"] if k else "-"


def kem_stored(k):
    return "4b01" + "%02x" % k["type"] + u32(k["id"]) + k["seed"] + k["signature"] if k else "-"


def code_name(error):
    """`Decode(InvalidPublicKey)` -> DECODE_INVALID_PUBLIC_KEY,
    `UnknownPreKey { id: 7 }` -> UNKNOWN_PREKEY (the facade's ErrorCode names)."""
    m = re.match(r"(Decode\()?([A-Za-z]+)", error)
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", m.group(2)).upper().replace("PRE_KEY", "PREKEY")
    return ("DECODE_" if m.group(1) else "") + snake


def pq_of(case):
    return {None: 1, "allow_classical": 1, "required": 0}[case.get("pq_policy")]


MODE_POLICY = {"any": 0, "header_encryption_only": 1, "plain_only": 2}


def load(src, name):
    with open(os.path.join(src, name)) as f:
        data = json.load(f)
    assert data["number_of_cases"] == len(data["cases"]), name
    return data


def session(src, out):
    data = load(src, "session.json")
    lines, events = [], 0
    for case in data["cases"]:
        keys = case["bob"]["keys"]
        kem = keys.get("kem_prekey")
        mode = {"plain": 0, "header_encryption": 1}[case["mode"]]
        lines.append("case %d %d %s" % (mode, 1 if kem else 0, case["description"]))
        alice = case["alice"]
        lines.append("alice %s %s" % (alice["identity"]["seed"], h("".join(alice["rng_draws"]))))
        bob = case["bob"]
        lines.append(
            "bob %s %s %s"
            % (keys["identity"]["seed"], keys["identity"]["ed25519_public"], h("".join(bob["rng_draws"])))
        )
        spk = keys["signed_prekey"]
        lines.append("spk %s %s %s" % (spk_stored(spk), spk["public"], spk["signature"]))
        opk = keys.get("one_time_prekey")
        lines.append("opk %s %s" % (opk_stored(opk), opk["public"] if opk else "-"))
        lines.append("kem %s %s" % (kem_stored(kem), kem["public_encoding"] if kem else "-"))
        lines.append("bundle %s" % case["bundle"])
        for e in case["events"]:
            if e["op"] == "send":
                lines.append("send %s %d %s %s" % (e["from"][0], e["id"], h(e["plaintext"]), e["message"]))
            elif e["op"] == "deliver":
                lines.append("deliver %s %d %s %s" % (e["to"][0], e["id"], h(e["plaintext"]), e["message_id"]))
            else:
                raise ValueError("unknown op %r" % e["op"])
            events += 1
        lines.append("end")
    lines.append("count %d %d" % (len(data["cases"]), events))
    with open(os.path.join(out, "session.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


def reject(src, out):
    data = load(src, "reject.json")
    lines = []
    for case in data["cases"]:
        kind, error = case["kind"], case["error"]
        lines.append("desc %s" % case["description"])
        consumed = 0
        if kind == "bundle":
            lines.append("bundle %s" % case["bundle"])
        elif kind == "initiate":
            lines.append("initiate %s %d %s" % (case["initiator_seed"], pq_of(case), case["bundle"]))
            # An initiate that fails in its DHs drew ek_A (and, hybrid, the
            # KEM message) first: tests/protocol_vectors.rs `reject`.
            if error == "NonContributory":
                hybrid = int(case["bundle"][2:4], 16) & 0x02 != 0
                consumed = 32 * (1 + int(hybrid))
        elif kind == "accept":
            r = case["responder"]
            lines.append(
                "accept %s %s %s %s %d %d %s"
                % (
                    r["identity"]["seed"],
                    spk_stored(r["signed_prekey"]),
                    opk_stored(r.get("one_time_prekey")),
                    kem_stored(r.get("kem_prekey")),
                    MODE_POLICY[case["policy"]],
                    pq_of(case),
                    case["message"],
                )
            )
        elif kind == "decrypt":
            lines.append("decrypt %s %s" % (case["state"], case["message"]))
        else:
            raise ValueError("unknown kind %r" % kind)
        lines.append("expect %s %d %s" % (code_name(error), consumed, error))
    lines.append("count %d" % len(data["cases"]))
    with open(os.path.join(out, "reject.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    session(src, out)
    reject(src, out)
