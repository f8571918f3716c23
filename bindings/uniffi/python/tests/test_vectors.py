"""The cross-language vector runner of the Python binding: replays
test-vectors/protocol/session.json (every case, every event) and
reject.json (every case, with its error) through the Python API only, with
scripted generators holding the vectors' rng_draws. It checks what the C
runner (bindings/c/tests/vectors.c) checks:

session.json: every message byte for byte, every plaintext and message id,
the bundle built from the keys equal to the vector's, the prekeys' public
parts, every draw used and no more; every session is stored and restored
after every event and the replay goes on from the restored one.

reject.json: the exception's variant and stable code, its detail (the Debug
form of chatcrypt::Error, as the file writes it), the draws taken, a failed
accept keeping its one-time prekey, and for decrypt cases the session's
stored form unchanged.

The stable code numbers are read from the C header
(bindings/c/include/chatcrypt.h), so the two bindings must agree.
CHATCRYPT_VECTORS names another directory holding the two files (to show
that a corrupted vector makes this fail)."""

import json
import os
import re
import unittest
from pathlib import Path

import chatcrypt as cc
from chatcrypt import ChatcryptError

ROOT = Path(__file__).resolve().parents[4]
VECTORS = Path(os.environ.get("CHATCRYPT_VECTORS", ROOT / "test-vectors" / "protocol"))
HEADER = ROOT / "bindings" / "c" / "include" / "chatcrypt.h"

# The totals the files hold, pinned: a file that lost (or gained) a case or
# an event fails the runner instead of replaying less than it should.
# Change these only together with the files (and the other bindings'
# runners, which pin the same numbers).
SESSION_CASES = 7
SESSION_EVENTS = 164
REJECT_CASES = 99


def load(name):
    with open(VECTORS / name) as f:
        data = json.load(f)
    assert data["number_of_cases"] == len(data["cases"]), name
    return data


def unhex(s):
    return bytes.fromhex(s) if s else b""


def u32(n):
    return int(n).to_bytes(4, "big")


# The prekeys' stored forms (SPEC.md §10.2, §10.3, §16.2): tag, format
# version 1, then the JSON fields, as tests/support/spec_impl.rs builds them.
def spk_stored(k):
    return b"P\x01" + u32(k["id"]) + unhex(k["private"]) + unhex(k["signature"])


def opk_stored(k):
    return b"O\x01" + u32(k["id"]) + unhex(k["private"])


def kem_stored(k):
    return b"K\x01" + bytes([int(k["type"])]) + u32(k["id"]) + unhex(k["seed"]) + unhex(k["signature"])


def c_codes():
    """CHATCRYPT_ERR_<NAME> -> number, from the committed C header."""
    codes = {}
    for m in re.finditer(r"#define CHATCRYPT_ERR_([A-Z_]+) (-\d+)", HEADER.read_text()):
        codes[m.group(1)] = int(m.group(2))
    return codes


def expected_error(error):
    """'Decode(InvalidFlags(3))' -> ('DecodeInvalidFlags', 'DECODE_INVALID_FLAGS');
    'UnknownPreKey { id: 7 }' -> ('UnknownPreKey', 'UNKNOWN_PREKEY')."""
    m = re.match(r"(Decode\()?([A-Za-z]+)", error)
    variant = ("Decode" if m.group(1) else "") + m.group(2)
    name = re.sub(r"(?<!^)(?=[A-Z])", "_", variant).upper().replace("PRE_KEY", "PREKEY")
    return variant, name


def pq_of(case):
    return {
        None: cc.PqPolicy.ALLOW_CLASSICAL,
        "allow_classical": cc.PqPolicy.ALLOW_CLASSICAL,
        "required": cc.PqPolicy.REQUIRED,
    }[case.get("pq_policy")]


MODE = {"plain": cc.Mode.PLAIN, "header_encryption": cc.Mode.HEADER_ENCRYPTION}
MODE_POLICY = {
    "any": cc.ModePolicy.ANY,
    "header_encryption_only": cc.ModePolicy.HEADER_ENCRYPTION_ONLY,
    "plain_only": cc.ModePolicy.PLAIN_ONLY,
}


class Vectors(unittest.TestCase):
    def persist_round_trip(self, session, at):
        """Stores and restores a session; the replay goes on with the copy."""
        stored = session.to_bytes()
        self.assertEqual(session.encoded_len(), len(stored), at)
        restored = cc.Session.from_bytes(stored)
        self.assertEqual(restored.to_bytes(), stored, "%s: restored session re-encodes differently" % at)
        return restored

    def test_session_json_replays_byte_for_byte(self):
        data = load("session.json")
        cases = events = 0
        for case in data["cases"]:
            what = case["description"]
            keys = case["bob"]["keys"]
            kem_json = keys.get("kem_prekey")
            hybrid = kem_json is not None
            mode = MODE[case["mode"]]
            pq = cc.PqPolicy.REQUIRED if hybrid else cc.PqPolicy.ALLOW_CLASSICAL

            alice = cc.IdentityKeyPair.from_seed(unhex(case["alice"]["identity"]["seed"]))
            rng_a = cc.Rng.scripted(unhex("".join(case["alice"]["rng_draws"])))
            bob = cc.IdentityKeyPair.from_seed(unhex(keys["identity"]["seed"]))
            self.assertEqual(bob.public_key(), unhex(keys["identity"]["ed25519_public"]), what)
            rng_b = cc.Rng.scripted(unhex("".join(case["bob"]["rng_draws"])))

            spk_json = keys["signed_prekey"]
            spk = cc.SignedPreKey.from_bytes(spk_stored(spk_json))
            self.assertEqual(spk.public_key(), unhex(spk_json["public"]), what)
            self.assertEqual(spk.signature(), unhex(spk_json["signature"]), what)
            self.assertEqual(spk.to_bytes(), spk_stored(spk_json), what)
            self.assertEqual(spk.id(), spk_json["id"], what)
            opk = None
            if keys.get("one_time_prekey"):
                opk = cc.OneTimePreKey.from_bytes(opk_stored(keys["one_time_prekey"]))
                self.assertEqual(opk.public_key(), unhex(keys["one_time_prekey"]["public"]), what)
            kem = None
            if hybrid:
                kem = cc.KemPreKey.from_bytes(kem_stored(kem_json))
                self.assertEqual(len(kem.public_bytes()), cc.constants().kem_prekey_public_len, what)
                self.assertEqual(kem.public_bytes(), unhex(kem_json["public_encoding"]), what)

            want_bundle = unhex(case["bundle"])
            mine = cc.PreKeyBundle(bob, spk, opk, kem)
            self.assertEqual(mine.to_bytes(), want_bundle, "%s: the bundle of the vector's keys" % what)
            bundle = cc.PreKeyBundle.from_bytes(want_bundle)
            bundle.verify()
            self.assertEqual(bundle.to_bytes(), want_bundle, "%s: bundle re-encodes" % what)

            sa = sb = None
            sent = {}
            for e in case["events"]:
                at = "%s: event %d (%s %d)" % (what, events, e["op"], e["id"])
                if e["op"] == "send":
                    from_alice = e["from"] == "alice"
                    if from_alice and sa is None:
                        sa = cc.Session.initiate(alice, bundle, mode, pq, rng_a)
                        self.assertEqual(sa.is_post_quantum(), hybrid, at)
                        self.assertEqual(sa.mode(), mode, at)
                    s, rng = (sa, rng_a) if from_alice else (sb, rng_b)
                    pt, want = unhex(e["plaintext"]), unhex(e["message"])
                    self.assertEqual(s.encrypted_len(len(pt)), len(want), at)
                    self.assertEqual(s.encrypt(pt, rng), want, "%s: message differs from the vector" % at)
                    self.assertNotIn(e["id"], sent, at)
                    sent[e["id"]] = want
                    if from_alice:
                        sa = self.persist_round_trip(sa, at)
                    else:
                        sb = self.persist_round_trip(sb, at)
                elif e["op"] == "deliver":
                    to_alice = e["to"] == "alice"
                    m = sent[e["id"]]
                    if not to_alice and sb is None:
                        # Bob accepts on the first message he receives.
                        self.assertEqual(cc.message_type(m), cc.MessageType.PRE_KEY, at)
                        pkm = cc.PreKeyMessage.from_bytes(m)
                        self.assertEqual(pkm.to_bytes(), m, at)
                        self.assertEqual(pkm.signed_prekey_id(), spk.id(), at)
                        self.assertEqual(pkm.kem_prekey_id() is not None, hybrid, at)
                        self.assertEqual(pkm.mode(), mode, at)
                        self.assertEqual(pkm.is_post_quantum(), hybrid, at)
                        self.assertEqual(pkm.sender_identity(), alice.public_key(), at)
                        uses_opk = pkm.one_time_prekey_id() is not None
                        accepted = cc.accept_session(
                            bob,
                            spk,
                            opk if uses_opk else None,
                            cc.KemPreKeyUse.ONE_TIME(key=kem) if kem else None,
                            pkm,
                            cc.ModePolicy.ANY,
                            pq,
                            rng_b,
                        )
                        if uses_opk and opk is not None:
                            self.assertTrue(opk.is_consumed(), "%s: the one-time prekey is consumed" % at)
                        if kem is not None:
                            self.assertTrue(kem.is_consumed(), "%s: the one-time KEM prekey is consumed" % at)
                        sb = accepted.session
                        got_pt, got_id = accepted.plaintext, accepted.message_id
                    else:
                        s, rng = (sa, rng_a) if to_alice else (sb, rng_b)
                        got = s.decrypt_with_id(m, rng)
                        got_pt, got_id = got.plaintext, got.message_id
                    self.assertEqual(got_pt, unhex(e["plaintext"]), "%s: plaintext" % at)
                    self.assertEqual(got_id, unhex(e["message_id"]), "%s: message id" % at)
                    if to_alice:
                        sa = self.persist_round_trip(sa, at)
                    else:
                        sb = self.persist_round_trip(sb, at)
                else:
                    self.fail("unknown op %r" % e["op"])
                events += 1
            self.assertEqual(
                (rng_a.remaining(), rng_b.remaining()), (0, 0), "%s: draws left unused (Alice, Bob)" % what
            )
            cases += 1
        self.assertEqual(cases, len(data["cases"]))
        self.assertEqual((cases, events), (SESSION_CASES, SESSION_EVENTS), "session.json: cases and events (pinned)")
        print("\nsession.json: %d cases, %d events replayed through the Python API" % (cases, events))

    def test_reject_json_raises_each_error_with_its_code_and_detail(self):
        data = load("reject.json")
        codes = c_codes()
        self.assertEqual(len(codes), 49, "the C header's error codes")
        draws = b"\x42" * 32 + b"\x43" * 32
        cases = 0
        for case in data["cases"]:
            what, kind, error = case["description"], case["kind"], case["error"]
            rng = cc.Rng.scripted(draws)
            consumed = 0
            state = session = opk = None
            # The setup (the parties' keys from their stored forms, the
            # stored session) runs here, outside the region that expects the
            # error: a setup failure is a test error, never a rejection. Only
            # the call the case rejects (decoding and using the rejected
            # input) runs under assertRaises.
            if kind == "bundle":

                def run():
                    # A bundle case rejects the decoding or the signature:
                    # both are the calls under test (no setup).
                    cc.PreKeyBundle.from_bytes(unhex(case["bundle"])).verify()

            elif kind == "initiate":
                ident = cc.IdentityKeyPair.from_seed(unhex(case["initiator_seed"]))
                if error == "NonContributory":
                    # initiate draws ek_A (and, hybrid, the KEM message)
                    # before its DHs fail: tests/protocol_vectors.rs.
                    hybrid = unhex(case["bundle"])[1] & 0x02 != 0
                    consumed = 32 * (1 + int(hybrid))

                def run():
                    # The bundle is the input the case rejects: decoding it
                    # is part of the call under test.
                    bundle = cc.PreKeyBundle.from_bytes(unhex(case["bundle"]))
                    cc.Session.initiate(ident, bundle, cc.Mode.PLAIN, pq_of(case), rng)

            elif kind == "accept":
                r = case["responder"]
                ident = cc.IdentityKeyPair.from_seed(unhex(r["identity"]["seed"]))
                spk = cc.SignedPreKey.from_bytes(spk_stored(r["signed_prekey"]))
                if r.get("one_time_prekey"):
                    opk = cc.OneTimePreKey.from_bytes(opk_stored(r["one_time_prekey"]))
                kem = None
                if r.get("kem_prekey"):
                    # The last-resort KEM prekey, as tests/protocol_vectors.rs.
                    kem = cc.KemPreKeyUse.LAST_RESORT(key=cc.KemPreKey.from_bytes(kem_stored(r["kem_prekey"])))
                policy = MODE_POLICY[case["policy"]]

                def run():
                    # The message is the input the case rejects: decoding it
                    # is part of the call under test (many cases are decode
                    # errors of the PreKeyMessage).
                    pkm = cc.PreKeyMessage.from_bytes(unhex(case["message"]))
                    cc.accept_session(ident, spk, opk, kem, pkm, policy, pq_of(case), rng)

            elif kind == "decrypt":
                state = unhex(case["state"])
                session = cc.Session.from_bytes(state)

                def run():
                    session.decrypt(unhex(case["message"]), rng)

            else:
                self.fail("unknown kind %r" % kind)
            with self.assertRaises(ChatcryptError, msg="%s: no error" % what) as ctx:
                run()
            e = ctx.exception
            variant, name = expected_error(error)
            self.assertIsInstance(e, getattr(ChatcryptError, variant), "%s: raised %r" % (what, e))
            self.assertEqual(e.code, codes[name], "%s: code" % what)
            self.assertEqual(e.error_name(), name, what)
            self.assertEqual(e.detail, error, "%s: detail" % what)
            self.assertEqual(len(draws) - rng.remaining(), consumed, "%s: bytes drawn" % what)
            if opk is not None:
                self.assertFalse(opk.is_consumed(), "%s: a failed accept keeps the one-time prekey" % what)
            if session is not None:
                self.assertEqual(session.to_bytes(), state, "%s: a failed decrypt changed the session" % what)
            cases += 1
        self.assertEqual(cases, len(data["cases"]))
        self.assertEqual(cases, REJECT_CASES, "reject.json: cases (pinned)")
        print("\nreject.json: %d cases rejected with the expected exception, code and detail" % cases)


if __name__ == "__main__":
    unittest.main()
