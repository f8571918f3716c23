"""A conversation through the Python binding with OS randomness: bundle,
hybrid handshake, messages both ways and out of order, tampering and
replays (each raising its ChatcryptError with the stable code, the session
unchanged), persistence plain and sealed, one-time prekeys consumed once,
a scripted generator that runs dry, wrong lengths, safety numbers."""

import unittest

import chatcrypt as cc
from chatcrypt import ChatcryptError


class Bob:
    """Bob's device: identity, signed prekey, one-time prekey, one-time KEM
    prekey, and the bundle he publishes."""

    def __init__(self, rng):
        self.identity = cc.IdentityKeyPair.generate(rng)
        self.spk = cc.SignedPreKey.generate(self.identity, 7, rng)
        self.opk = cc.OneTimePreKey.generate(1001, rng)
        self.kem = cc.KemPreKey.generate(self.identity, 9001, rng)
        self.bundle = cc.PreKeyBundle(self.identity, self.spk, self.opk, self.kem)


def handshake(rng, mode=cc.Mode.HEADER_ENCRYPTION):
    """Alice initiates from Bob's published bundle and sends; Bob accepts.
    Returns (alice's session, bob's session, bob)."""
    alice = cc.IdentityKeyPair.generate(rng)
    bob = Bob(rng)
    published = cc.PreKeyBundle.from_bytes(bob.bundle.to_bytes())
    published.verify()
    sa = cc.Session.initiate(alice, published, mode, cc.PqPolicy.REQUIRED, rng)
    first = sa.encrypt(b"hello Bob", rng)
    assert cc.message_type(first) == cc.MessageType.PRE_KEY
    pkm = cc.PreKeyMessage.from_bytes(first)
    assert pkm.one_time_prekey_id() == 1001
    accepted = cc.accept_session(
        bob.identity,
        bob.spk,
        bob.opk,
        cc.KemPreKeyUse.ONE_TIME(key=bob.kem),
        pkm,
        cc.ModePolicy.ANY,
        cc.PqPolicy.REQUIRED,
        rng,
    )
    assert accepted.plaintext == b"hello Bob"
    return sa, accepted.session, bob, alice, accepted


class Conversation(unittest.TestCase):
    def setUp(self):
        self.rng = cc.Rng.os()

    def test_handshake_then_messages_both_ways(self):
        sa, sb, bob, alice, accepted = handshake(self.rng)
        self.assertEqual(len(accepted.message_id), cc.constants().message_id_len)
        self.assertTrue(sa.is_post_quantum())
        self.assertTrue(sb.is_post_quantum())
        self.assertEqual(sa.mode(), cc.Mode.HEADER_ENCRYPTION)
        self.assertTrue(sa.is_initiator())
        self.assertFalse(sb.is_initiator())
        self.assertTrue(sa.awaiting_reply())
        self.assertEqual(sa.remote_identity(), bob.identity.public_key())
        self.assertEqual(sb.remote_identity(), alice.public_key())
        self.assertEqual(sb.local_identity(), bob.identity.public_key())
        reply = sb.encrypt(b"hi Alice", self.rng)
        self.assertEqual(cc.message_type(reply), cc.MessageType.MESSAGE)
        got = sa.decrypt_with_id(reply, self.rng)
        self.assertEqual(got.plaintext, b"hi Alice")
        self.assertEqual(len(got.message_id), 52)
        self.assertFalse(sa.awaiting_reply())
        for i in range(5):
            m = sa.encrypt(b"a%d" % i, self.rng)
            self.assertEqual(sb.decrypt(m, self.rng), b"a%d" % i)
            m = sb.encrypt(b"b%d" % i, self.rng)
            self.assertEqual(sa.decrypt(m, self.rng), b"b%d" % i)

    def test_encrypted_len_is_the_message_length(self):
        sa, sb, *_ = handshake(self.rng)
        for n in (0, 1, 16, 4096):
            want = sa.encrypted_len(n)
            self.assertEqual(len(sa.encrypt(bytes(n), self.rng)), want)

    def test_out_of_order_messages_decrypt_and_keys_are_kept(self):
        sa, sb, *_ = handshake(self.rng)
        sb.decrypt(sa.encrypt(b"x", self.rng), self.rng)
        sent = [sb.encrypt(b"m%d" % i, self.rng) for i in range(6)]
        order = [5, 0, 3, 1, 4, 2]
        self.assertEqual(sa.decrypt(sent[5], self.rng), b"m5")
        self.assertEqual(sa.skipped_key_count(), 5)
        for i in order[1:]:
            self.assertEqual(sa.decrypt(sent[i], self.rng), b"m%d" % i)
        self.assertEqual(sa.skipped_key_count(), 0)

    def test_a_tampered_message_raises_auth_and_changes_nothing(self):
        sa, sb, *_ = handshake(self.rng)
        sb.decrypt(sa.encrypt(b"x", self.rng), self.rng)
        m = bytearray(sa.encrypt(b"secret", self.rng))
        m[-1] ^= 1
        before = sb.to_bytes()
        with self.assertRaises(ChatcryptError.Auth) as ctx:
            sb.decrypt(bytes(m), self.rng)
        e = ctx.exception
        self.assertIsInstance(e, ChatcryptError)
        self.assertIsInstance(e, Exception)
        self.assertEqual(e.code, -15)
        self.assertEqual(e.error_code(), -15)
        self.assertEqual(e.error_name(), "AUTH")
        self.assertEqual(e.detail, "Auth")
        self.assertEqual(e.error_detail(), "Auth")
        self.assertEqual(sb.to_bytes(), before)
        m[-1] ^= 1
        self.assertEqual(sb.decrypt(bytes(m), self.rng), b"secret")

    def test_a_replay_raises_duplicate(self):
        sa, sb, *_ = handshake(self.rng)
        m = sa.encrypt(b"once", self.rng)
        # The first message after the handshake still carries it; Bob's
        # session takes it as a normal message.
        self.assertEqual(sb.decrypt(m, self.rng), b"once")
        with self.assertRaises(ChatcryptError.Duplicate) as ctx:
            sb.decrypt(m, self.rng)
        self.assertEqual(ctx.exception.code, -16)

    def test_garbage_raises_a_decode_error(self):
        sa, sb, *_ = handshake(self.rng)
        with self.assertRaises(ChatcryptError.DecodeTruncated) as ctx:
            sb.decrypt(b"\x02", self.rng)
        self.assertEqual(ctx.exception.code, -70)
        with self.assertRaises(ChatcryptError.DecodeUnsupportedVersion) as ctx:
            cc.message_type(b"\x09\x01")
        self.assertEqual(ctx.exception.code, -72)

    def test_sessions_survive_storage_plain_and_sealed(self):
        sa, sb, *_ = handshake(self.rng)
        stored = sb.to_bytes()
        self.assertEqual(len(stored), sb.encoded_len())
        sb2 = cc.Session.from_bytes(stored)
        key = bytes(range(32))
        sealed = sa.seal(key, self.rng)
        self.assertEqual(len(sealed), len(sa.to_bytes()) + cc.constants().sealed_overhead)
        sa2 = cc.Session.open(key, sealed)
        self.assertEqual(sa2.to_bytes(), sa.to_bytes())
        m = sa2.encrypt(b"after restore", self.rng)
        self.assertEqual(sb2.decrypt(m, self.rng), b"after restore")
        self.assertEqual(sa2.decrypt(sb2.encrypt(b"back", self.rng), self.rng), b"back")
        with self.assertRaises(ChatcryptError.Auth):
            cc.Session.open(bytes(32), sealed)
        with self.assertRaises(ChatcryptError.InvalidArgument) as ctx:
            cc.Session.open(bytes(31), sealed)
        self.assertEqual(ctx.exception.code, -1)

    def test_identity_and_prekeys_survive_storage(self):
        rng = self.rng
        ident = cc.IdentityKeyPair.generate(rng)
        self.assertEqual(cc.IdentityKeyPair.from_seed(ident.seed()).public_key(), ident.public_key())
        self.assertEqual(cc.IdentityKeyPair.from_bytes(ident.to_bytes()).public_key(), ident.public_key())
        key = b"k" * 32
        self.assertEqual(cc.IdentityKeyPair.open(key, ident.seal(key, rng)).public_key(), ident.public_key())
        spk = cc.SignedPreKey.generate(ident, 3, rng)
        spk2 = cc.SignedPreKey.from_bytes(spk.to_bytes())
        self.assertEqual((spk2.id(), spk2.public_key(), spk2.signature()), (3, spk.public_key(), spk.signature()))
        opk = cc.OneTimePreKey.generate(4, rng)
        self.assertEqual(cc.OneTimePreKey.from_bytes(opk.to_bytes()).public_key(), opk.public_key())
        kem = cc.KemPreKey.generate(ident, 5, rng)
        kem2 = cc.KemPreKey.from_bytes(kem.to_bytes())
        self.assertEqual(kem2.public_bytes(), kem.public_bytes())
        self.assertEqual(len(kem.public_bytes()), cc.constants().kem_prekey_public_len)
        self.assertEqual((kem2.id(), kem2.kem_type()), (5, 1))
        cc.identity_key_check(ident.public_key())
        with self.assertRaises(ChatcryptError.InvalidArgument):
            cc.identity_key_check(b"short")

    def test_a_bundle_from_published_parts_equals_the_owners(self):
        bob = Bob(self.rng)
        parts = cc.PreKeyBundle.from_parts(
            bob.identity.public_key(),
            bob.spk.id(),
            bob.spk.public_key(),
            bob.spk.signature(),
            cc.OneTimePreKeyPublic(id=bob.opk.id(), key=bob.opk.public_key()),
            bob.kem.public_bytes(),
        )
        parts.verify()
        self.assertEqual(parts.to_bytes(), bob.bundle.to_bytes())
        self.assertEqual(parts.identity_key(), bob.identity.public_key())
        self.assertEqual(parts.signed_prekey_id(), 7)
        self.assertEqual(parts.one_time_prekey_id(), 1001)
        self.assertEqual(parts.kem_prekey_id(), 9001)
        forged = bytearray(bob.spk.signature())
        forged[0] ^= 1
        bad = cc.PreKeyBundle.from_parts(
            bob.identity.public_key(), bob.spk.id(), bob.spk.public_key(), bytes(forged), None, None
        )
        with self.assertRaises(ChatcryptError.BadSignature) as ctx:
            bad.verify()
        self.assertEqual(ctx.exception.code, -10)

    def test_one_time_prekeys_are_consumed_by_one_accept_only(self):
        rng = self.rng
        bob = Bob(rng)
        alice = cc.IdentityKeyPair.generate(rng)
        sa = cc.Session.initiate(alice, bob.bundle, cc.Mode.PLAIN, cc.PqPolicy.REQUIRED, rng)
        pkm = cc.PreKeyMessage.from_bytes(sa.encrypt(b"first", rng))
        self.assertEqual(pkm.sender_identity(), alice.public_key())
        self.assertEqual(pkm.kem_prekey_id(), cc.KemPreKeyId(kem_type=1, id=9001))
        self.assertEqual(pkm.mode(), cc.Mode.PLAIN)
        self.assertTrue(pkm.is_post_quantum())
        # A refused policy leaves both one-time keys as they were.
        with self.assertRaises(ChatcryptError.ModeNotAllowed) as ctx:
            cc.accept_session(
                bob.identity, bob.spk, bob.opk, cc.KemPreKeyUse.ONE_TIME(key=bob.kem), pkm,
                cc.ModePolicy.HEADER_ENCRYPTION_ONLY, cc.PqPolicy.REQUIRED, rng,
            )
        self.assertEqual(ctx.exception.detail, "ModeNotAllowed { mode: Plain }")
        self.assertFalse(bob.opk.is_consumed())
        self.assertFalse(bob.kem.is_consumed())
        accepted = cc.accept_session(
            bob.identity, bob.spk, bob.opk, cc.KemPreKeyUse.ONE_TIME(key=bob.kem), pkm,
            cc.ModePolicy.ANY, cc.PqPolicy.REQUIRED, rng,
        )
        self.assertEqual(accepted.plaintext, b"first")
        self.assertTrue(accepted.session.matches(pkm))
        self.assertTrue(bob.opk.is_consumed())
        self.assertTrue(bob.kem.is_consumed())
        with self.assertRaises(ChatcryptError.Consumed) as ctx:
            bob.opk.id()
        self.assertEqual(ctx.exception.code, -6)
        with self.assertRaises(ChatcryptError.Consumed):
            cc.accept_session(
                bob.identity, bob.spk, bob.opk, None, pkm, cc.ModePolicy.ANY, cc.PqPolicy.REQUIRED, rng
            )
        with self.assertRaises(ChatcryptError.Consumed):
            cc.PreKeyBundle(bob.identity, bob.spk, bob.opk, None)

    def test_a_last_resort_kem_prekey_is_not_consumed(self):
        rng = self.rng
        bob = Bob(rng)
        alice = cc.IdentityKeyPair.generate(rng)
        bundle = cc.PreKeyBundle(bob.identity, bob.spk, None, bob.kem)
        sa = cc.Session.initiate(alice, bundle, cc.Mode.PLAIN, cc.PqPolicy.REQUIRED, rng)
        pkm = cc.PreKeyMessage.from_bytes(sa.encrypt(b"first", rng))
        self.assertIsNone(pkm.one_time_prekey_id())
        accepted = cc.accept_session(
            bob.identity, bob.spk, None, cc.KemPreKeyUse.LAST_RESORT(key=bob.kem), pkm,
            cc.ModePolicy.ANY, cc.PqPolicy.REQUIRED, rng,
        )
        self.assertEqual(accepted.plaintext, b"first")
        self.assertFalse(bob.kem.is_consumed())

    def test_a_classical_bundle_needs_allow_classical(self):
        rng = self.rng
        bob = Bob(rng)
        alice = cc.IdentityKeyPair.generate(rng)
        classical = cc.PreKeyBundle(bob.identity, bob.spk, bob.opk, None)
        with self.assertRaises(ChatcryptError.PostQuantumRequired) as ctx:
            cc.Session.initiate(alice, classical, cc.Mode.PLAIN, cc.PqPolicy.REQUIRED, rng)
        self.assertEqual(ctx.exception.code, -21)
        sa = cc.Session.initiate(alice, classical, cc.Mode.PLAIN, cc.PqPolicy.ALLOW_CLASSICAL, rng)
        self.assertFalse(sa.is_post_quantum())

    def test_a_scripted_generator_that_runs_dry_fails_and_changes_nothing(self):
        sa, sb, *_ = handshake(self.rng)
        dry = cc.Rng.scripted(b"\x01" * 15)  # an encrypt draws 16 bytes
        self.assertTrue(dry.is_scripted())
        self.assertIsNone(self.rng.remaining())
        before = sa.to_bytes()
        with self.assertRaises(ChatcryptError.RngExhausted) as ctx:
            sa.encrypt(b"x", dry)
        self.assertEqual(ctx.exception.code, -5)
        self.assertEqual(dry.remaining(), 15)
        self.assertEqual(sa.to_bytes(), before)
        enough = cc.Rng.scripted(b"\x01" * 16)
        sb.decrypt(sa.encrypt(b"x", enough), self.rng)
        self.assertEqual(enough.remaining(), 0)

    def test_without_an_rng_every_call_uses_the_os_generator(self):
        alice, bob = cc.IdentityKeyPair.generate(), Bob(self.rng)
        bundle = cc.PreKeyBundle(bob.identity, cc.SignedPreKey.generate(bob.identity, 8), cc.OneTimePreKey.generate(9), bob.kem)
        sa = cc.Session.initiate(alice, bundle, cc.Mode.PLAIN, cc.PqPolicy.REQUIRED)
        pkm = cc.PreKeyMessage.from_bytes(sa.encrypt(b"no rng"))
        self.assertNotEqual(sa.encrypt(b"same"), sa.encrypt(b"same"))
        kem = cc.KemPreKeyUse.ONE_TIME(key=bob.kem)
        with self.assertRaises(ChatcryptError.UnknownPreKey) as ctx:  # the signed prekey is not Bob's 7
            cc.accept_session(bob.identity, bob.spk, None, kem, pkm, cc.ModePolicy.ANY, cc.PqPolicy.REQUIRED)
        self.assertEqual(ctx.exception.detail, "UnknownPreKey { id: 8 }")
        self.assertEqual(len(alice.seal(bytes(32))), len(alice.to_bytes()) + cc.constants().sealed_overhead)

    def test_wrong_argument_types_are_refused_before_the_call(self):
        with self.assertRaises(TypeError):
            cc.IdentityKeyPair.from_seed("not bytes")

    def test_refusals_raise_their_exact_exception(self):
        """Wrong-length keys, a truncated message, unknown enum values, a
        consumed one-time prekey and a tampered message, each with its
        exact exception type (and code)."""
        rng = self.rng
        bob = Bob(rng)
        ik, spk_pub, sig = bob.identity.public_key(), bob.spk.public_key(), bob.spk.signature()
        kem_pub = bob.kem.public_bytes()
        # Keys of the wrong length.
        for args in [
            (ik[:31], 7, spk_pub, sig, None, kem_pub),
            (ik + b"\x00", 7, spk_pub, sig, None, kem_pub),
            (ik, 7, spk_pub[:31], sig, None, kem_pub),
            (ik, 7, spk_pub, sig[:63], None, kem_pub),
            (ik, 7, spk_pub, sig, cc.OneTimePreKeyPublic(id=1, key=bytes(31)), kem_pub),
        ]:
            with self.assertRaises(ChatcryptError.InvalidArgument) as ctx:
                cc.PreKeyBundle.from_parts(*args)
            self.assertEqual(ctx.exception.code, -1)
        with self.assertRaises(ChatcryptError.DecodeTruncated):  # the KEM key is an encoding
            cc.PreKeyBundle.from_parts(ik, 7, spk_pub, sig, None, kem_pub[:-1])
        with self.assertRaises(ChatcryptError.InvalidArgument):
            cc.SafetyNumber(b"alice", ik[:31], b"bob", ik)
        with self.assertRaises(ChatcryptError.InvalidArgument):
            cc.IdentityKeyPair.from_seed(bytes(31))

        # Unknown enum values: refused by the generated code before the call.
        alice = cc.IdentityKeyPair.generate(rng)
        bundle = cc.PreKeyBundle.from_bytes(bob.bundle.to_bytes())
        for bad in [0, 1, 7, None, "PLAIN"]:
            with self.assertRaises(ValueError):
                cc.Session.initiate(alice, bundle, bad, cc.PqPolicy.REQUIRED, rng)
            with self.assertRaises(ValueError):
                cc.Session.initiate(alice, bundle, cc.Mode.PLAIN, bad, rng)
        sa = cc.Session.initiate(alice, bundle, cc.Mode.PLAIN, cc.PqPolicy.REQUIRED, rng)
        first = sa.encrypt(b"first", rng)
        pkm = cc.PreKeyMessage.from_bytes(first)
        kem_use = cc.KemPreKeyUse.ONE_TIME(key=bob.kem)
        for bad in [0, 3, None]:
            with self.assertRaises(ValueError):
                cc.accept_session(bob.identity, bob.spk, bob.opk, kem_use, pkm, bad, cc.PqPolicy.REQUIRED, rng)
        self.assertFalse(bob.opk.is_consumed())

        # A tampered first message: Auth, the prekeys kept.
        bad = bytearray(first)
        bad[-1] ^= 1
        with self.assertRaises(ChatcryptError.Auth):
            cc.accept_session(
                bob.identity, bob.spk, bob.opk, kem_use, cc.PreKeyMessage.from_bytes(bytes(bad)),
                cc.ModePolicy.ANY, cc.PqPolicy.REQUIRED, rng,
            )
        self.assertFalse(bob.opk.is_consumed())
        self.assertFalse(bob.kem.is_consumed())
        accepted = cc.accept_session(
            bob.identity, bob.spk, bob.opk, kem_use, pkm, cc.ModePolicy.ANY, cc.PqPolicy.REQUIRED, rng
        )
        sb = accepted.session
        # The one-time prekey is consumed: a second accept is refused.
        with self.assertRaises(ChatcryptError.Consumed) as ctx:
            cc.accept_session(
                bob.identity, bob.spk, bob.opk, None, pkm, cc.ModePolicy.ANY, cc.PqPolicy.REQUIRED, rng
            )
        self.assertEqual(ctx.exception.error_name(), "CONSUMED")

        # A truncated message: a decode error (or Auth when only the tag is
        # short), the session unchanged; the whole message still decrypts.
        m = sa.encrypt(b"cut short", rng)
        before = sb.to_bytes()
        with self.assertRaises(ChatcryptError.DecodeTruncated) as ctx:
            sb.decrypt(m[:10], rng)
        self.assertEqual(ctx.exception.code, -70)
        with self.assertRaises(ChatcryptError.Auth):
            sb.decrypt(m[:-1], rng)
        self.assertEqual(sb.to_bytes(), before)
        self.assertEqual(sb.decrypt(m, rng), b"cut short")

    def test_safety_numbers_agree_on_both_sides(self):
        rng = self.rng
        a, b = cc.IdentityKeyPair.generate(rng), cc.IdentityKeyPair.generate(rng)
        mine = cc.SafetyNumber(b"alice", a.public_key(), b"bob", b.public_key())
        theirs = cc.SafetyNumber(b"bob", b.public_key(), b"alice", a.public_key())
        self.assertEqual(mine.displayable(), theirs.displayable())
        self.assertEqual(len(mine.displayable()), 60)
        self.assertTrue(mine.displayable().isdigit())
        self.assertTrue(mine.compare_scanned(theirs.scannable()))
        other = cc.SafetyNumber(b"bob", b.public_key(), b"mallory", b.public_key())
        self.assertFalse(mine.compare_scanned(other.scannable()))

    def test_every_error_code_has_its_variant_and_name(self):
        names = {}
        for code in range(-1, -100, -1):
            name = cc.error_code_name(code)
            if name is not None:
                names[code] = name
        self.assertEqual(len(names), 49)
        self.assertEqual(names[-15], "AUTH")
        self.assertEqual(names[-70], "DECODE_TRUNCATED")
        self.assertIsNone(cc.error_code_name(0))
        for name in names.values():
            variant = "".join(w.capitalize() for w in name.split("_")).replace("Prekey", "PreKey")
            self.assertTrue(issubclass(getattr(ChatcryptError, variant), ChatcryptError), variant)


if __name__ == "__main__":
    unittest.main()
