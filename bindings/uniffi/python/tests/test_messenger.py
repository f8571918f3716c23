"""The messenger layer through the Python binding, the flows of
bindings/core/src/messenger_tests.rs: a conversation between two users'
devices through session records (accounts, certificates, device lists,
trust on first use, the persist-then-upload gate, the server's view), sealed
sender with every certificate refusal and a multi-recipient envelope, a
tampered message answered with a retry that brings a new session, device
list and account key changes, padding, and a scripted generator that runs
dry in the middle of a record call. Every refusal is checked by its
exception class and stable code."""

import unittest

import chatcrypt as cc
from chatcrypt import ChatcryptError

NOW = 1_800_000_000
C = cc.constants()


def device(account, device_id, rng):
    """A new device of `account`, certified through bytes, with its first
    one-time prekeys."""
    identity = cc.IdentityKeyPair.generate(rng)
    cert = account.certify(device_id, identity.public_key())
    cert = cc.DeviceCertificate.from_bytes(cert.to_bytes())
    d = cc.LocalDevice(identity, cert, NOW, rng)
    assert d.identity_key() == identity.public_key()
    assert d.replenish(0, 0, rng) == cc.Replenished(one_time=100, kem=20)
    return d


class User:
    def __init__(self, name, n, rng):
        self.id = name.encode()
        self.account = cc.AccountKeyPair.generate(rng)
        self.devices = [device(self.account, i, rng) for i in range(1, n + 1)]

    def list(self, epoch):
        """The device list, from links that travelled as bytes, as a peer
        decodes it."""
        links = [cc.DeviceLink.from_bytes(d.link().to_bytes()) for d in self.devices]
        signed = self.account.sign_device_list(epoch, links)
        return cc.DeviceList.from_bytes(signed.to_bytes())

    def upload(self, i):
        """Device i's upload, persisted first, as the server decodes it."""
        d = self.devices[i]
        stored = d.to_bytes()
        up = d.upload(stored)
        d.mark_uploaded(up)
        return cc.PreKeyUpload.from_bytes(up.to_bytes())


POLICY = cc.default_session_policy()


class Pair:
    """Alice (one device) and Bob (two devices); Alice's record for Bob's
    device 1 has a session initiated from the server's bundle."""

    def __init__(self, rng):
        self.alice = User("alice", 1, rng)
        self.bob = User("bob", 2, rng)
        self.a_peer = cc.PeerAccount.trust_on_first_use(self.bob.id, self.bob.list(1))
        self.b_peer = cc.PeerAccount.trust_on_first_use(self.alice.id, self.alice.list(1))
        self.alice.upload(0)
        up = self.bob.upload(0)
        assert (up.one_time_prekey_count(), up.kem_prekey_count()) == (100, 20)
        bundle = up.bundle(0, 0)
        assert bundle.one_time_prekey_id() is not None
        self.bundle = bundle
        self.a_rec = cc.SessionRecord(1)
        assert self.a_rec.needs_new_session(NOW)
        self.a_rec.initiate(self.alice.devices[0], self.a_peer, bundle, POLICY, NOW, rng)
        self.b_rec = cc.SessionRecord(1)

    def b_decrypt(self, message, rng, device=None, peer=None):
        return self.b_rec.decrypt(device or self.bob.devices[0], peer or self.b_peer, message, POLICY, NOW, rng)

    def a_decrypt(self, message, rng):
        return self.a_rec.decrypt(self.alice.devices[0], self.a_peer, message, POLICY, NOW, rng)


class Messenger(unittest.TestCase):
    def setUp(self):
        self.rng = cc.Rng.os()

    def raises(self, cls, fn, *args):
        """Calls fn(*args), which must raise exactly `cls`; returns it."""
        with self.assertRaises(ChatcryptError) as cm:
            fn(*args)
        self.assertIs(type(cm.exception), cls, cm.exception)
        return cm.exception

    def test_constants(self):
        # SPEC.md's sizes: certificate 2+32+4+32+64, link 4+32+64, retry
        # 2+1+4+16+8+32+32+64, sender certificate 2+8+8+32+4+32+32+64,
        # envelope header 2+32+32+16 + certificate + 16-byte tag.
        self.assertEqual(
            (
                C.device_certificate_len,
                C.device_link_len,
                C.max_devices,
                C.max_user_id_len,
                C.retry_message_len,
                C.sender_certificate_len,
                C.sealed_envelope_overhead,
                C.max_sealed_recipients,
            ),
            (134, 100, 16, 255, 159, 182, 280, 1024),
        )
        self.assertEqual(C.max_split_len, 32 * 1024 * 1024)
        self.assertEqual(POLICY.mode, cc.Mode.PLAIN)
        self.assertEqual(POLICY.pq, cc.PqPolicy.REQUIRED)
        self.assertEqual(POLICY.accept_mode, cc.ModePolicy.ANY)
        self.assertEqual(POLICY.accept_pq, cc.PqPolicy.REQUIRED)

    def test_a_conversation_between_two_users(self):
        rng = self.rng
        p = Pair(rng)
        self.assertEqual(p.a_peer.trust_level(), cc.TrustLevel.TRUSTED_ON_FIRST_USE)
        self.assertEqual(p.a_peer.device_list().devices(), [1, 2])
        self.assertEqual(p.a_peer.user_id(), b"bob")
        self.assertEqual(p.a_peer.account_key(), p.bob.account.public_key())
        self.assertEqual(p.a_peer.device_identity(2), p.bob.devices[1].identity_key())
        self.assertEqual(len(p.alice.devices[0].certificate().to_bytes()), C.device_certificate_len)
        self.assertEqual(len(p.alice.devices[0].link().to_bytes()), C.device_link_len)
        expected = p.a_rec.encrypted_len(9, cc.Padding.default_policy())
        first = p.a_rec.encrypt(p.a_peer, b"hello Bob", NOW, rng)
        self.assertEqual(len(first), expected)
        self.assertEqual(cc.message_type(first), cc.MessageType.PRE_KEY)
        # The default padding hides the length: a two-byte text gives as long a message.
        q = Pair(rng)
        self.assertEqual(len(q.a_rec.encrypt(q.a_peer, b"hi", NOW, rng)), len(first))
        got = p.b_decrypt(first, rng)
        self.assertEqual(got.plaintext, b"hello Bob")
        self.assertTrue(got.new_session)
        self.assertEqual(len(got.message_id), C.message_id_len)
        self.assertEqual(p.bob.devices[0].one_time_prekey_counts(), cc.PreKeyCounts(one_time=99, kem=19))
        # A replay is a duplicate, and changes nothing.
        before = p.b_rec.to_bytes()
        self.raises(ChatcryptError.Duplicate, p.b_decrypt, first, rng)
        self.assertEqual(p.b_rec.to_bytes(), before)
        reply = p.b_rec.encrypt(p.b_peer, b"hello Alice", NOW, rng)
        self.assertEqual(cc.message_type(reply), cc.MessageType.MESSAGE)
        got = p.a_decrypt(reply, rng)
        self.assertEqual(got.plaintext, b"hello Alice")
        self.assertFalse(got.new_session)
        self.assertEqual(len(p.a_rec.current_session_id()), 32)
        self.assertEqual(p.a_rec.current_session_id(), p.b_rec.current_session_id())
        self.assertEqual(p.b_rec.device(), 1)
        # Stored forms round-trip, plain and sealed.
        key = bytes([7]) * 32
        a_rec = cc.SessionRecord.open(key, p.a_rec.seal(key, rng))
        self.assertEqual(a_rec.to_bytes(), p.a_rec.to_bytes())
        b_dev = cc.LocalDevice.from_bytes(p.bob.devices[0].to_bytes())
        self.assertEqual(b_dev.to_bytes(), p.bob.devices[0].to_bytes())
        b_peer = cc.PeerAccount.open(key, p.b_peer.seal(key, rng))
        self.assertEqual(b_peer.to_bytes(), p.b_peer.to_bytes())
        account = cc.AccountKeyPair.open(key, p.alice.account.seal(key, rng))
        self.assertEqual(account.public_key(), p.alice.account.public_key())
        self.assertEqual(cc.AccountKeyPair.from_seed(account.seed()).public_key(), account.public_key())
        self.raises(ChatcryptError.Auth, cc.SessionRecord.open, bytes([8]) * 32, p.a_rec.seal(key, rng))
        none = cc.Padding(cc.PaddingKind.NONE, 0)
        expected = a_rec.encrypted_len(1, none)
        m = a_rec.encrypt_padded(p.a_peer, b"x", none, NOW, rng)
        self.assertEqual(len(m), expected)
        self.raises(ChatcryptError.TooLarge, a_rec.encrypted_len, C.max_plaintext_len, none)
        got = p.b_rec.decrypt(b_dev, b_peer, m, POLICY, NOW, rng)
        self.assertEqual(got.plaintext, b"x")
        # Both users compute the same account safety number.
        a_sn = p.a_peer.safety_number(p.alice.id, p.alice.account.public_key())
        b_sn = cc.SafetyNumber.for_accounts(
            p.bob.id, p.bob.account.public_key(), p.alice.id, p.alice.account.public_key()
        )
        self.assertEqual(a_sn.displayable(), b_sn.displayable())
        self.assertEqual(len(a_sn.displayable()), C.safety_number_digits)
        self.assertTrue(b_sn.compare_scanned(a_sn.scannable()))

    def test_upload_needs_the_persisted_form(self):
        rng = self.rng
        u = User("carol", 1, rng)
        d = u.devices[0]
        stale = d.to_bytes()
        self.assertTrue(d.needs_upload())
        d.rotate_signed_prekey(NOW + 1, rng)
        self.raises(ChatcryptError.NotPersisted, d.upload, stale)
        self.assertTrue(d.needs_upload())
        up = d.upload(d.to_bytes())
        d.mark_uploaded(up)
        self.assertFalse(d.needs_upload())
        self.assertEqual(d.replenish(100, 20, rng), cc.Replenished(one_time=0, kem=0))
        # The server's view: the upload from bytes, bundles by index.
        server = cc.PreKeyUpload.from_bytes(up.to_bytes())
        self.assertEqual(server.identity_key(), d.identity_key())
        self.assertEqual(server.certificate().device(), 1)
        self.assertEqual(server.certificate().account_key(), u.account.public_key())
        server.certificate().verify(u.account.public_key())
        b = server.bundle(99, 19)
        b.verify()
        self.assertEqual(b.identity_key(), d.identity_key())
        self.assertIsNone(server.bundle().one_time_prekey_id())
        self.raises(ChatcryptError.DecodeInvalidValue, server.bundle, 100, None)

    def test_sealed_sender_through_records(self):
        rng = self.rng
        p = Pair(rng)
        server = cc.ServerKeyPair.generate(rng)
        a_dev = p.alice.devices[0]
        cert = server.issue(41, NOW + 86_400, p.alice.account.public_key(), 1, a_dev.identity_key())
        cert = cc.SenderCertificate.from_bytes(cert.to_bytes())
        self.assertEqual(len(cert.to_bytes()), C.sender_certificate_len)
        self.assertEqual((cert.serial(), cert.expires(), cert.device()), (41, NOW + 86_400, 1))
        self.assertEqual(cert.issuer(), server.public_key())
        self.assertEqual(cert.account_key(), p.alice.account.public_key())
        inner = p.a_rec.encrypted_len(12, cc.Padding.default_policy())
        envelope = p.a_rec.encrypt_sealed(a_dev, p.a_peer, cert, b"sealed hello", NOW, rng)
        self.assertEqual(len(envelope), C.sealed_envelope_overhead + 4 + inner)
        b_identity = p.bob.devices[0].identity()
        policy = cc.CertificatePolicy(NOW)
        # No root: untrusted.
        self.raises(ChatcryptError.UntrustedCertificate, cc.open_envelope, b_identity, envelope, policy)
        self.raises(ChatcryptError.UntrustedCertificate, cert.validate, policy)
        policy.add_root(server.public_key())
        cert.validate(policy)
        opened = cc.open_envelope(b_identity, envelope, policy)
        self.assertEqual(opened.certificate().serial(), 41)
        self.assertEqual(opened.certificate().identity_key(), a_dev.identity_key())
        got = p.b_rec.decrypt_sealed(p.bob.devices[0], p.b_peer, opened, POLICY, NOW, rng)
        self.assertEqual(got.plaintext, b"sealed hello")
        self.assertTrue(got.new_session)
        # A record for another device refuses it (the certificate names device 1).
        wrong = cc.SessionRecord(2)
        self.raises(
            ChatcryptError.SenderMismatch, wrong.decrypt_sealed, p.bob.devices[0], p.b_peer, opened, POLICY, NOW, rng
        )
        # Revoked and expired certificates.
        revoked = cc.CertificatePolicy(NOW)
        revoked.add_root(server.public_key())
        revoked.revoke(41)
        self.raises(ChatcryptError.CertificateRevoked, cc.open_envelope, b_identity, envelope, revoked)
        late = cc.CertificatePolicy(NOW + 86_400)
        late.add_root(server.public_key())
        self.raises(ChatcryptError.CertificateExpired, cc.open_envelope, b_identity, envelope, late)
        # A kept policy moved on: valid below the expiry, expired at it.
        kept = cc.CertificatePolicy(NOW)
        kept.add_root(server.public_key())
        kept.set_now(NOW + 86_399)
        self.assertEqual(kept.now(), NOW + 86_399)
        self.assertEqual(p.bob.devices[0].open_envelope(envelope, kept).content(), opened.content())
        kept.set_now(NOW + 86_400)
        self.raises(ChatcryptError.CertificateExpired, p.bob.devices[0].open_envelope, envelope, kept)
        self.raises(ChatcryptError.CertificateExpired, cert.validate, kept)
        # Multi-recipient: sealed once, split by the server, opened by each.
        recipients = [d.identity_key() for d in p.bob.devices]
        a_identity = a_dev.identity()
        multi = cc.seal_multi(a_identity, cert, recipients, b"to both", cc.Padding.default_policy(), rng)
        parts = cc.split_multi_recipient(multi)
        self.assertEqual(sorted(x.recipient for x in parts), sorted(recipients))
        for d in p.bob.devices:
            part = next(x for x in parts if x.recipient == d.identity_key())
            self.assertEqual(cc.open_envelope(d.identity(), part.envelope, policy).content(), b"to both")
        # The split in ranges: the same envelopes, in the same order.
        self.assertEqual(cc.split_multi_recipient_range(multi, 0, 1), parts[:1])
        self.assertEqual(cc.split_multi_recipient_range(multi, 1, 5), parts[1:])
        self.assertEqual(cc.split_multi_recipient_range(multi, 2, 5), [])
        self.raises(ChatcryptError.DecodeTruncated, cc.split_multi_recipient, multi[:10])
        # The device opens its part with its own key.
        part1 = next(x for x in parts if x.recipient == recipients[1])
        self.assertEqual(p.bob.devices[1].open_envelope(part1.envelope, policy).content(), b"to both")
        # One part is not for the other device.
        part0 = next(x for x in parts if x.recipient == recipients[0])
        self.raises(ChatcryptError.Auth, cc.open_envelope, p.bob.devices[1].identity(), part0.envelope, policy)
        # A single envelope: opened by its recipient, with its content.
        single = cc.seal_envelope(a_identity, cert, recipients[1], b"just you", cc.Padding(cc.PaddingKind.BLOCKS, 64), rng)
        self.assertEqual(cc.open_envelope(p.bob.devices[1].identity(), single, policy).content(), b"just you")
        # Sealing with a certificate of someone else is refused.
        self.raises(
            ChatcryptError.WrongIdentity,
            cc.seal_envelope,
            b_identity,
            cert,
            recipients[1],
            b"x",
            cc.Padding.default_policy(),
            rng,
        )
        self.raises(
            ChatcryptError.InvalidArgument,
            cc.seal_multi,
            a_identity,
            cert,
            [recipients[0][:31]],
            b"x",
            cc.Padding.default_policy(),
            rng,
        )
        # The server key's seed gives the same key.
        self.assertEqual(cc.ServerKeyPair.from_seed(server.seed()).public_key(), server.public_key())

    def test_a_failed_message_brings_a_retry_and_a_new_session(self):
        rng = self.rng
        p = Pair(rng)
        first = p.a_rec.encrypt(p.a_peer, b"one", NOW, rng)
        p.b_decrypt(first, rng)
        second = bytearray(p.a_rec.encrypt(p.a_peer, b"two", NOW, rng))
        second[-1] ^= 1
        tampered = bytes(second)
        before = p.b_rec.to_bytes()
        err = self.raises(ChatcryptError.Auth, p.b_decrypt, tampered, rng)
        self.assertEqual(p.b_rec.to_bytes(), before)
        self.assertEqual(err.error_name(), "AUTH")
        self.assertIsNone(err.error_prekey_id())
        a_key = p.alice.devices[0].identity_key()
        b_dev = p.bob.devices[0]
        retry = b_dev.retry_for(a_key, tampered, err, NOW)
        # The same retry from the code alone.
        by_code = b_dev.retry_for_code(a_key, tampered, err.code, 0, NOW)
        self.assertEqual(by_code.to_bytes(), retry.to_bytes())
        retry = cc.RetryMessage.from_bytes(retry.to_bytes())
        self.assertEqual(len(retry.to_bytes()), C.retry_message_len)
        # Alice's messages still carry the handshake: a failed handshake.
        self.assertEqual(retry.reason(), cc.RetryReason.HANDSHAKE_FAILED)
        self.assertEqual(retry.author(), b_dev.identity_key())
        self.assertEqual(retry.recipient(), a_key)
        self.assertEqual(retry.timestamp(), NOW)
        self.assertEqual(retry.prekey_id(), 0)
        self.assertEqual(len(retry.message_digest()), 16)
        # A duplicate calls for no retry.
        dup = self.raises(ChatcryptError.Duplicate, p.b_decrypt, first, rng)
        self.assertIsNone(b_dev.retry_for(a_key, first, dup, NOW))
        self.raises(ChatcryptError.InvalidArgument, b_dev.retry_for_code, a_key, first, 12345, 0, NOW)
        # A prekey id goes only with UnknownPreKey.
        self.raises(ChatcryptError.InvalidArgument, b_dev.retry_for_code, a_key, tampered, err.code, 7, NOW)
        # Alice's record: the tampered copy is not what she sent, so ignored...
        self.assertEqual(p.a_rec.handle_retry(p.alice.devices[0], p.a_peer, retry), cc.RetryOutcome.IGNORED)
        # ...but a retry for her genuine message starts a new session.
        second[-1] ^= 1
        genuine = b_dev.retry_for(a_key, bytes(second), err, NOW)
        self.assertEqual(
            p.a_rec.handle_retry(p.alice.devices[0], p.a_peer, genuine), cc.RetryOutcome.START_NEW_SESSION
        )
        self.assertEqual(p.a_rec.archived_count(), 1)
        self.assertTrue(p.a_rec.needs_new_session(NOW))
        self.raises(ChatcryptError.NoSession, p.a_rec.encrypt, p.a_peer, b"three", NOW, rng)
        self.raises(ChatcryptError.NoSession, p.a_rec.encrypted_len, 5, cc.Padding.default_policy())

    def test_an_unknown_prekey_carries_its_id_into_the_retry(self):
        rng = self.rng
        p = Pair(rng)
        # A second session from the same bundle: its one-time prekeys are
        # consumed by the first one when it reaches Bob.
        again = cc.SessionRecord(1)
        again.initiate(p.alice.devices[0], p.a_peer, p.bundle, POLICY, NOW, rng)
        late = again.encrypt(p.a_peer, b"late", NOW, rng)
        p.b_decrypt(p.a_rec.encrypt(p.a_peer, b"first", NOW, rng), rng)
        pkm = cc.PreKeyMessage.from_bytes(late)
        other = cc.SessionRecord(1)
        before = p.bob.devices[0].to_bytes()
        err = self.raises(
            ChatcryptError.UnknownPreKey, other.decrypt, p.bob.devices[0], p.b_peer, late, POLICY, NOW, rng
        )
        self.assertEqual(p.bob.devices[0].to_bytes(), before)
        self.assertEqual(err.prekey_id, err.error_prekey_id())
        self.assertIn(err.prekey_id, (pkm.one_time_prekey_id(), pkm.kem_prekey_id().id))
        self.assertEqual(err.detail, "UnknownPreKey { id: %d }" % err.prekey_id)
        a_key = p.alice.devices[0].identity_key()
        retry = p.bob.devices[0].retry_for(a_key, late, err, NOW)
        self.assertEqual(retry.reason(), cc.RetryReason.UNKNOWN_PRE_KEY)
        self.assertEqual(retry.prekey_id(), err.prekey_id)
        by_code = p.bob.devices[0].retry_for_code(a_key, late, err.code, err.prekey_id, NOW)
        self.assertEqual(by_code.to_bytes(), retry.to_bytes())
        # An id the message does not name is refused.
        unnamed = max(pkm.signed_prekey_id(), pkm.one_time_prekey_id(), pkm.kem_prekey_id().id) + 1
        self.raises(ChatcryptError.InvalidArgument, p.bob.devices[0].retry_for_code, a_key, late, err.code, unnamed, NOW)
        # The retry makes Alice drop that session and start another.
        self.assertEqual(again.handle_retry(p.alice.devices[0], p.a_peer, retry), cc.RetryOutcome.START_NEW_SESSION)

    def test_device_list_changes_and_account_key_changes(self):
        rng = self.rng
        p = Pair(rng)
        # Bob adds a device: epoch 2.
        p.bob.devices.append(device(p.bob.account, 3, rng))
        update = p.a_peer.update_device_list(p.bob.list(2))
        self.assertEqual(
            update,
            cc.DeviceListUpdate(change=cc.DeviceListChange.UPDATED, added=[3], removed=[], reinstalled=[]),
        )
        self.assertEqual(p.a_peer.device_list().devices(), [1, 2, 3])
        self.assertEqual(p.a_peer.device_list().epoch(), 2)
        self.assertEqual(p.a_peer.update_device_list(p.bob.list(2)).change, cc.DeviceListChange.UNCHANGED)
        # A rollback is refused, and changes nothing.
        before = p.a_peer.to_bytes()
        self.raises(ChatcryptError.DeviceListRollback, p.a_peer.update_device_list, p.bob.list(1))
        self.assertEqual(p.a_peer.to_bytes(), before)
        # A new account key: pending, every device refused until the decision.
        other = User("bob", 1, rng)
        update = p.a_peer.update_device_list(other.list(1))
        self.assertEqual(update.change, cc.DeviceListChange.ACCOUNT_KEY_CHANGED)
        pending = p.a_peer.pending_account_key()
        self.assertEqual(pending, other.account.public_key())
        self.raises(ChatcryptError.AccountKeyChanged, p.a_rec.encrypt, p.a_peer, b"x", NOW, rng)
        self.raises(ChatcryptError.AccountKeyChanged, p.a_peer.mark_verified)
        rejected = cc.PeerAccount.from_bytes(p.a_peer.to_bytes())
        rejected.reject_account_key_change()
        self.assertIsNone(rejected.pending_account_key())
        self.raises(ChatcryptError.NoPendingChange, rejected.reject_account_key_change)
        self.raises(ChatcryptError.AccountKeyChanged, p.a_peer.accept_account_key_change, p.bob.account.public_key())
        p.a_peer.accept_account_key_change(pending)
        self.assertEqual(p.a_peer.trust_level(), cc.TrustLevel.TRUSTED_ON_FIRST_USE)
        # The old session's device is now listed with another identity key.
        self.raises(ChatcryptError.WrongIdentity, p.a_rec.encrypt, p.a_peer, b"x", NOW, rng)
        self.raises(ChatcryptError.UnknownDevice, p.a_peer.device_identity, 2)
        self.raises(ChatcryptError.WrongIdentity, p.a_peer.authorize, 1, p.bob.devices[0].identity_key())
        p.a_peer.authorize(1, other.devices[0].identity_key())
        p.a_peer.mark_verified()
        self.assertEqual(p.a_peer.trust_level(), cc.TrustLevel.VERIFIED)
        # Verified first contact needs the list's key.
        self.raises(
            ChatcryptError.AccountKeyChanged, cc.PeerAccount.verified, p.bob.id, p.alice.account.public_key(), p.bob.list(3)
        )
        v = cc.PeerAccount.verified(p.bob.id, p.bob.account.public_key(), p.bob.list(3))
        self.assertEqual(v.trust_level(), cc.TrustLevel.VERIFIED)
        # Links and keys of the wrong length, a long user id.
        self.raises(ChatcryptError.DecodeTruncated, cc.DeviceLink.from_bytes, bytes(99))
        self.raises(ChatcryptError.InvalidArgument, p.alice.account.certify, 1, bytes(31))
        self.raises(ChatcryptError.TooLarge, cc.PeerAccount.trust_on_first_use, b"x" * 256, p.bob.list(4))
        # A link for another account does not go into a list.
        foreign = cc.DeviceLink(p.alice.devices[0].identity(), p.alice.account.public_key(), 9)
        self.raises(ChatcryptError.BadSignature, p.bob.account.sign_device_list, 5, [foreign])
        # A certificate checked against another account key.
        self.raises(
            ChatcryptError.WrongIdentity, p.alice.devices[0].certificate().verify, p.bob.account.public_key()
        )
        # A certificate whose signature is flipped does not decode.
        raw = bytearray(p.alice.devices[0].certificate().to_bytes())
        raw[-1] ^= 1
        self.raises(ChatcryptError.BadSignature, cc.DeviceCertificate.from_bytes, bytes(raw))
        # The list's accessors.
        lst = p.bob.list(6)
        self.assertEqual(lst.identity_of(3), p.bob.devices[2].identity_key())
        self.assertIsNone(lst.identity_of(4))
        self.assertEqual([l.device() for l in lst.links()], [1, 2, 3])
        self.assertEqual(lst.account_key(), p.bob.account.public_key())

    def test_removed_and_reinstalled_devices(self):
        rng = self.rng
        p = Pair(rng)
        # Bob drops device 2 and reinstalls device 1 (a new identity key).
        p.bob.devices = [device(p.bob.account, 1, rng)]
        update = p.a_peer.update_device_list(p.bob.list(2))
        self.assertEqual(
            update,
            cc.DeviceListUpdate(change=cc.DeviceListChange.UPDATED, added=[], removed=[2], reinstalled=[1]),
        )
        self.raises(ChatcryptError.UnknownDevice, p.a_peer.device_identity, 2)
        self.assertEqual(p.a_peer.device_identity(1), p.bob.devices[0].identity_key())
        # The session with the old install of device 1 is refused.
        self.raises(ChatcryptError.WrongIdentity, p.a_rec.encrypt, p.a_peer, b"x", NOW, rng)
        # Another list with the same epoch conflicts.
        p.bob.devices.append(device(p.bob.account, 5, rng))
        self.raises(ChatcryptError.DeviceListConflict, p.a_peer.update_device_list, p.bob.list(2))

    def test_padding_policies(self):
        d = cc.Padding.default_policy()
        self.assertEqual((d.kind(), d.param()), (cc.PaddingKind.PADME, 160))
        self.raises(ChatcryptError.InvalidArgument, cc.Padding, cc.PaddingKind.BLOCKS, 0)
        self.raises(ChatcryptError.InvalidArgument, cc.Padding, cc.PaddingKind.NONE, 5)
        self.raises(ChatcryptError.InvalidArgument, cc.Padding, cc.PaddingKind.PADME, 65_536)
        with self.assertRaises(ValueError):
            cc.Padding(3, 0)
        blocks = cc.Padding(cc.PaddingKind.BLOCKS, 16)
        self.assertEqual((blocks.kind(), blocks.param()), (cc.PaddingKind.BLOCKS, 16))
        self.assertEqual(blocks.padded_len(13), 32)
        padded = blocks.pad(b"thirteen byte", C.max_plaintext_len)
        self.assertEqual(len(padded), 32)
        # kind || u16 param || content || 0x80 || zeros (SPEC.md §26).
        self.assertEqual(padded[:3], bytes([1, 0, 16]))
        self.assertEqual(padded[16], 0x80)
        self.assertEqual(padded[17:], bytes(15))
        self.assertEqual(cc.unpad(padded), b"thirteen byte")
        bad = bytearray(padded)
        bad[31] = 1
        self.raises(ChatcryptError.Padding, cc.unpad, bytes(bad))
        self.raises(ChatcryptError.TooLarge, blocks.pad, bytes(40), 32)

    def test_a_generator_that_runs_dry_changes_nothing(self):
        rng = self.rng
        p = Pair(rng)
        first = p.a_rec.encrypt(p.a_peer, b"hello", NOW, rng)
        # Accepting the first message draws 32 bytes after it has consumed
        # the prekeys; with 31 the record and the device are as they were.
        rec_before = p.b_rec.to_bytes()
        dev_before = p.bob.devices[0].to_bytes()
        dry = cc.Rng.scripted(bytes([1]) * 31)
        self.raises(ChatcryptError.RngExhausted, p.b_decrypt, first, dry)
        self.assertEqual(p.b_rec.to_bytes(), rec_before)
        self.assertEqual(p.bob.devices[0].to_bytes(), dev_before)
        self.assertEqual(p.bob.devices[0].one_time_prekey_counts(), cc.PreKeyCounts(one_time=100, kem=20))
        exact = cc.Rng.scripted(bytes([1]) * 32)
        got = p.b_decrypt(first, exact)
        self.assertEqual(got.plaintext, b"hello")
        self.assertEqual(exact.remaining(), 0)
        # Encrypting draws a 16-byte guard: with 15 nothing changes.
        before = p.b_rec.to_bytes()
        self.raises(ChatcryptError.RngExhausted, p.b_rec.encrypt, p.b_peer, b"r", NOW, cc.Rng.scripted(bytes(15)))
        self.assertEqual(p.b_rec.to_bytes(), before)
        reply = p.b_rec.encrypt(p.b_peer, b"reply", NOW, rng)
        # Alice's ratchet step on the reply draws 32 bytes.
        rec_before = p.a_rec.to_bytes()
        self.raises(ChatcryptError.RngExhausted, p.a_decrypt, reply, cc.Rng.scripted(bytes(31)))
        self.assertEqual(p.a_rec.to_bytes(), rec_before)
        enough = cc.Rng.scripted(bytes([1]) * 32)
        self.assertEqual(p.a_decrypt(reply, enough).plaintext, b"reply")
        self.assertEqual(enough.remaining(), 0)
        # Replenishing draws too (100 X25519 and 20 KEM prekeys).
        dev_before = p.bob.devices[0].to_bytes()
        self.raises(ChatcryptError.RngExhausted, p.bob.devices[0].replenish, 0, 0, cc.Rng.scripted(bytes(100)))
        self.assertEqual(p.bob.devices[0].to_bytes(), dev_before)
        self.assertEqual(p.bob.devices[0].replenish(0, 0, rng), cc.Replenished(one_time=100, kem=20))


if __name__ == "__main__":
    unittest.main()
