// The messenger layer through the Kotlin binding (the generated
// chatcrypt.kt), with OS randomness: a conversation between two users'
// devices through session records (accounts, certificates, device lists
// from links that travel as bytes, trust on first use, the persist-then-
// upload gate, the server's view of an upload, a replay refused with the
// record unchanged, stored forms plain and sealed, account safety numbers)
// and sealed sender (certificates, every refusal, a multi-recipient
// envelope split by the server), each refusal checked by its exception
// class and stable code. The Python tests (python/tests/test_messenger.py)
// cover the other flows too.
//
// Usage (kotlin/test/run.sh does it): java ... messengertest.MessengerTestKt.
// Ends with "kotlin messenger: N passed, N failed".
package messengertest

import chatcrypt.*

const val NOW: ULong = 1_800_000_000uL

var passed = 0
var failed = 0

fun check(ok: Boolean, what: () -> String) {
    if (ok) passed++ else {
        failed++
        System.err.println("FAIL: ${what()}")
    }
}

fun same(a: ByteArray, b: ByteArray) = a.contentEquals(b)

inline fun <reified E : ChatcryptException> expect(what: String, code: Int, block: () -> Unit): E? {
    try {
        block()
        check(false) { "$what: no exception" }
    } catch (e: ChatcryptException) {
        check(e is E && e.errorCode() == code) { "$what: got $e (${e.errorName()}), want ${E::class.simpleName} $code" }
        return e as? E
    }
    return null
}

fun device(account: AccountKeyPair, id: UInt, rng: Rng): LocalDevice {
    val identity = IdentityKeyPair.generate(rng)
    val cert = DeviceCertificate.fromBytes(account.certify(id, identity.publicKey()).toBytes())
    val d = LocalDevice(identity, cert, NOW, rng)
    check(same(d.identityKey(), identity.publicKey())) { "device identity key" }
    check(d.replenish(0u, 0u, rng) == Replenished(100u, 20u)) { "first replenish" }
    return d
}

class User(name: String, n: Int, rng: Rng) {
    val id = name.toByteArray()
    val account = AccountKeyPair.generate(rng)
    val devices = (1..n).map { device(account, it.toUInt(), rng) }.toMutableList()

    /** The device list, from links that travelled as bytes. */
    fun list(epoch: ULong): DeviceList {
        val links = devices.map { DeviceLink.fromBytes(it.link().toBytes()) }
        return DeviceList.fromBytes(account.signDeviceList(epoch, links).toBytes())
    }

    /** Device i's upload, persisted first, as the server decodes it. */
    fun upload(i: Int): PreKeyUpload {
        val d = devices[i]
        val up = d.upload(d.toBytes())
        d.markUploaded(up)
        return PreKeyUpload.fromBytes(up.toBytes())
    }
}

class Pair2(rng: Rng) {
    val alice = User("alice", 1, rng)
    val bob = User("bob", 2, rng)
    val aPeer = PeerAccount.trustOnFirstUse(bob.id, bob.list(1uL))
    val bPeer = PeerAccount.trustOnFirstUse(alice.id, alice.list(1uL))
    val aRec = SessionRecord(1u)
    val bRec = SessionRecord(1u)

    init {
        alice.upload(0)
        val up = bob.upload(0)
        check(up.oneTimePrekeyCount() == 100uL && up.kemPrekeyCount() == 20uL) { "upload counts" }
        check(aRec.needsNewSession(NOW)) { "an empty record needs a session" }
        aRec.initiate(alice.devices[0], aPeer, up.bundle(0uL, 0uL), defaultSessionPolicy(), NOW, rng)
    }
}

fun conversation() {
    val rng = Rng.os()
    val policy = defaultSessionPolicy()
    check(policy == SessionPolicy(Mode.PLAIN, PqPolicy.REQUIRED, ModePolicy.ANY, PqPolicy.REQUIRED)) { "default policy" }
    val p = Pair2(rng)
    check(p.aPeer.trustLevel() == TrustLevel.TRUSTED_ON_FIRST_USE) { "trust on first use" }
    check(p.aPeer.deviceList().devices() == listOf(1u, 2u)) { "Bob's devices" }
    val expected = p.aRec.encryptedLen(9uL, Padding.defaultPolicy())
    val first = p.aRec.encrypt(p.aPeer, "hello Bob".toByteArray(), NOW, rng)
    check(first.size.toULong() == expected) { "encryptedLen" }
    check(messageType(first) == MessageType.PRE_KEY) { "first message type" }
    val got = p.bRec.decrypt(p.bob.devices[0], p.bPeer, first, policy, NOW, rng)
    check(String(got.plaintext) == "hello Bob" && got.newSession && got.messageId.size == 52) { "first message" }
    check(p.bob.devices[0].oneTimePrekeyCounts() == PreKeyCounts(99uL, 19uL)) { "prekeys consumed" }
    // A replay is a duplicate, and changes nothing.
    val before = p.bRec.toBytes()
    expect<ChatcryptException.Duplicate>("replay", -16) { p.bRec.decrypt(p.bob.devices[0], p.bPeer, first, policy, NOW, rng) }
    check(same(p.bRec.toBytes(), before)) { "a replay changed the record" }
    val reply = p.bRec.encrypt(p.bPeer, "hello Alice".toByteArray(), NOW, rng)
    val back = p.aRec.decrypt(p.alice.devices[0], p.aPeer, reply, policy, NOW, rng)
    check(String(back.plaintext) == "hello Alice" && !back.newSession) { "reply" }
    check(same(p.aRec.currentSessionId()!!, p.bRec.currentSessionId()!!)) { "one session id" }

    // A tampered message: Auth, the record unchanged; the exception itself
    // makes the retry, which brings Alice to a new session.
    val second = p.aRec.encrypt(p.aPeer, "two".toByteArray(), NOW, rng)
    val tampered = second.copyOf().also { it[it.size - 1] = (it[it.size - 1].toInt() xor 1).toByte() }
    val kept = p.bRec.toBytes()
    val auth = expect<ChatcryptException.Auth>("tampered", -15) {
        p.bRec.decrypt(p.bob.devices[0], p.bPeer, tampered, policy, NOW, rng)
    }
    check(same(p.bRec.toBytes(), kept)) { "a tampered message changed the record" }
    check(auth?.errorPrekeyId() == null) { "Auth carries no prekey id" }
    val retry = RetryMessage.fromBytes(p.bob.devices[0].retryFor(p.alice.devices[0].identityKey(), second, auth!!, NOW)!!.toBytes())
    check(retry.reason() == RetryReason.NO_SESSION && retry.toBytes().size == 159) { "retry: ${retry.reason()}" }
    check(p.bob.devices[0].retryFor(p.alice.devices[0].identityKey(), first, ChatcryptException.Duplicate(-16, "Duplicate"), NOW) == null) {
        "a duplicate calls for no retry"
    }
    val copy = SessionRecord.fromBytes(p.aRec.toBytes())
    check(copy.handleRetry(p.alice.devices[0], p.aPeer, retry) == RetryOutcome.START_NEW_SESSION) { "retry handled" }
    check(copy.needsNewSession(NOW) && copy.archivedCount() == 1uL) { "new session needed" }
    expect<ChatcryptException.NoSession>("no session after the retry", -27) { copy.encrypt(p.aPeer, ByteArray(1), NOW, rng) }

    // Stored forms round-trip, plain and sealed; a stale device form is not an upload.
    val key = ByteArray(32) { 7 }
    val aRec = SessionRecord.open(key, p.aRec.seal(key, rng))
    val bDev = LocalDevice.fromBytes(p.bob.devices[0].toBytes())
    val bPeer = PeerAccount.open(key, p.bPeer.seal(key, rng))
    val none = Padding(PaddingKind.NONE, 0u)
    val m = aRec.encryptPadded(p.aPeer, "x".toByteArray(), none, NOW, rng)
    check(String(p.bRec.decrypt(bDev, bPeer, m, policy, NOW, rng).plaintext) == "x") { "after restore" }
    val stale = bDev.toBytes()
    bDev.rotateSignedPrekey(NOW + 1uL, rng)
    expect<ChatcryptException.NotPersisted>("a stale stored form", -29) { bDev.upload(stale) }
    bDev.markUploaded(bDev.upload(bDev.toBytes()))
    check(!bDev.needsUpload()) { "uploaded" }

    // Both users compute the same account safety number.
    val aSn = p.aPeer.safetyNumber(p.alice.id, p.alice.account.publicKey())
    val bSn = SafetyNumber.forAccounts(p.bob.id, p.bob.account.publicKey(), p.alice.id, p.alice.account.publicKey())
    check(aSn.displayable() == bSn.displayable() && aSn.displayable().length == 60) { "account safety numbers" }
    check(bSn.compareScanned(aSn.scannable())) { "scanned" }

    // Refusals: a short link, a short key, a rollback.
    expect<ChatcryptException.DecodeTruncated>("99-byte link", -70) { DeviceLink.fromBytes(ByteArray(99)) }
    expect<ChatcryptException.InvalidArgument>("31-byte identity key", -1) { p.alice.account.certify(1u, ByteArray(31)) }
    p.bob.devices.add(device(p.bob.account, 3u, rng))
    val update = p.aPeer.updateDeviceList(p.bob.list(2uL))
    check(update == DeviceListUpdate(DeviceListChange.UPDATED, listOf(3u), listOf(), listOf())) { "device added: $update" }
    expect<ChatcryptException.DeviceListRollback>("rollback", -25) { p.aPeer.updateDeviceList(p.bob.list(1uL)) }
    println("kotlin messenger conversation: done")
}

fun sealedSender() {
    val rng = Rng.os()
    val policy = defaultSessionPolicy()
    val p = Pair2(rng)
    val server = ServerKeyPair.generate(rng)
    val aDev = p.alice.devices[0]
    val cert = SenderCertificate.fromBytes(
        server.issue(41uL, NOW + 86_400uL, p.alice.account.publicKey(), 1u, aDev.identityKey()).toBytes()
    )
    check(cert.serial() == 41uL && cert.toBytes().size == 182) { "certificate" }
    val inner = p.aRec.encryptedLen(12uL, Padding.defaultPolicy())
    val envelope = p.aRec.encryptSealed(aDev, p.aPeer, cert, "sealed hello".toByteArray(), NOW, rng)
    check(envelope.size.toULong() == constants().sealedEnvelopeOverhead + 4uL + inner) { "envelope length" }
    val bIdentity = p.bob.devices[0].identity()
    val roots = CertificatePolicy(NOW)
    expect<ChatcryptException.UntrustedCertificate>("no root", -38) { openEnvelope(bIdentity, envelope, roots) }
    roots.addRoot(server.publicKey())
    val opened = openEnvelope(bIdentity, envelope, roots)
    check(same(opened.certificate().identityKey(), aDev.identityKey())) { "the sender" }
    val got = p.bRec.decryptSealed(p.bob.devices[0], p.bPeer, opened, policy, NOW, rng)
    check(String(got.plaintext) == "sealed hello") { "sealed plaintext" }
    expect<ChatcryptException.SenderMismatch>("a record for device 2", -41) {
        SessionRecord(2u).decryptSealed(p.bob.devices[0], p.bPeer, opened, policy, NOW, rng)
    }
    val revoked = CertificatePolicy(NOW).also { it.addRoot(server.publicKey()); it.revoke(41uL) }
    expect<ChatcryptException.CertificateRevoked>("revoked", -39) { openEnvelope(bIdentity, envelope, revoked) }
    val late = CertificatePolicy(NOW + 86_400uL).also { it.addRoot(server.publicKey()) }
    expect<ChatcryptException.CertificateExpired>("expired", -40) { openEnvelope(bIdentity, envelope, late) }

    // Multi-recipient: sealed once, split by the server, opened by each.
    val recipients = p.bob.devices.map { it.identityKey() }
    val multi = sealMulti(aDev.identity(), cert, recipients, "to both".toByteArray(), Padding.defaultPolicy(), rng)
    val parts = splitMultiRecipient(multi)
    check(parts.size == 2) { "two parts" }
    for (d in p.bob.devices) {
        val part = parts.first { same(it.recipient, d.identityKey()) }
        check(String(openEnvelope(d.identity(), part.envelope, roots).content()) == "to both") { "opened by each" }
    }
    val part0 = parts.first { same(it.recipient, recipients[0]) }
    expect<ChatcryptException.Auth>("another device's part", -15) {
        openEnvelope(p.bob.devices[1].identity(), part0.envelope, roots)
    }
    println("kotlin messenger sealed sender: done")
}

fun main() {
    for ((name, test) in listOf<kotlin.Pair<String, () -> Unit>>(
        "messenger conversation" to ::conversation,
        "sealed sender" to ::sealedSender,
    )) {
        try {
            test()
        } catch (e: Throwable) {
            failed++
            System.err.println("FAIL: $name threw $e")
            e.printStackTrace()
        }
    }
    println("kotlin messenger: $passed passed, $failed failed")
    if (failed != 0 || passed == 0) kotlin.system.exitProcess(1)
}
