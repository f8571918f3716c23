// The Kotlin binding's test: a conversation with OS randomness and the
// cross-language vector runner, against the generated chatcrypt.kt. The
// vectors come in the C runner's line format (bindings/c/tests/
// vectors_to_lines.py converts test-vectors/protocol/session.json and
// reject.json; same bytes), and are replayed as bindings/c/tests/vectors.c
// does: every message byte for byte, every plaintext and message id, the
// bundle built from the keys, every draw used, every session stored and
// restored after every event; every reject with its exception class, code,
// detail and draws taken, a failed decrypt leaving the session unchanged.
//
// Usage (kotlin/test/run.sh does it): java ... ChatcryptTestKt <dir with
// session.txt and reject.txt>. Ends with "kotlin: N passed, N failed".

import chatcrypt.*
import java.io.File

// The totals the files hold, pinned: a file that lost (or gained) a case or
// an event fails the runner instead of replaying less than it should.
// Change these only together with the files (and the other bindings'
// runners, which pin the same numbers).
const val SESSION_CASES = 7
const val SESSION_EVENTS = 164
const val REJECT_CASES = 99

var passed = 0
var failed = 0

fun check(ok: Boolean, what: () -> String) {
    if (ok) passed++ else {
        failed++
        System.err.println("FAIL: ${what()}")
    }
}

fun unhex(s: String): ByteArray =
    if (s == "-") ByteArray(0) else ByteArray(s.length / 2) { s.substring(2 * it, 2 * it + 2).toInt(16).toByte() }

fun same(a: ByteArray, b: ByteArray) = a.contentEquals(b)

inline fun <reified E : ChatcryptException> expect(what: String, code: Int, block: () -> Unit) {
    try {
        block()
        check(false) { "$what: no exception" }
    } catch (e: ChatcryptException) {
        check(e is E && e.errorCode() == code) { "$what: got $e (${e.errorName()}), want ${E::class.simpleName} $code" }
    }
}

fun conversation() {
    val rng = Rng.os()
    val alice = IdentityKeyPair.generate(rng)
    val bobId = IdentityKeyPair.generate(rng)
    val spk = SignedPreKey.generate(bobId, 7u, rng)
    val opk = OneTimePreKey.generate(1001u, rng)
    val kem = KemPreKey.generate(bobId, 9001u, rng)
    val published = PreKeyBundle.fromBytes(PreKeyBundle(bobId, spk, opk, kem).toBytes())
    published.verify()
    val sa = Session.initiate(alice, published, Mode.HEADER_ENCRYPTION, PqPolicy.REQUIRED, rng)
    val first = sa.encrypt("hello Bob".toByteArray(), rng)
    check(messageType(first) == MessageType.PRE_KEY) { "first message type" }
    val pkm = PreKeyMessage.fromBytes(first)
    val accepted = acceptSession(bobId, spk, opk, KemPreKeyUse.OneTime(kem), pkm, ModePolicy.ANY, PqPolicy.REQUIRED, rng)
    val sb = accepted.session
    check(String(accepted.plaintext) == "hello Bob") { "first plaintext" }
    check(opk.isConsumed() && kem.isConsumed()) { "one-time prekeys consumed" }
    expect<ChatcryptException.Consumed>("a consumed prekey", -6) { opk.id() }
    check(sa.isPostQuantum() && sb.isPostQuantum()) { "hybrid" }
    check(same(sb.remoteIdentity(), alice.publicKey())) { "Bob's session is with Alice" }

    // Both directions, then out of order.
    val reply = sb.encrypt("hi Alice".toByteArray(), rng)
    check(String(sa.decrypt(reply, rng)) == "hi Alice") { "reply" }
    val sent = (0 until 5).map { sa.encrypt("m$it".toByteArray(), rng) }
    for (i in listOf(4, 0, 3, 1, 2)) {
        val got = sb.decryptWithId(sent[i], rng)
        check(String(got.plaintext) == "m$i" && got.messageId.size == 52) { "out of order $i" }
    }

    // Tampering: AUTH, the session unchanged and still working.
    val m = sb.encrypt("secret".toByteArray(), rng)
    val before = sa.toBytes()
    val bad = m.copyOf().also { it[it.size - 1] = (it[it.size - 1].toInt() xor 1).toByte() }
    expect<ChatcryptException.Auth>("tampered message", -15) { sa.decrypt(bad, rng) }
    try {
        sa.decrypt(bad, rng)
    } catch (e: ChatcryptException.Auth) {
        check(e.code == -15 && e.detail == "Auth" && e.errorName() == "AUTH" && e.errorDetail() == "Auth") { "Auth fields: $e" }
    }
    check(same(sa.toBytes(), before)) { "a failed decrypt changed the session" }
    check(String(sa.decrypt(m, rng)) == "secret") { "the genuine message after the forgery" }
    expect<ChatcryptException.Duplicate>("replay", -16) { sa.decrypt(m, rng) }

    // Persistence, plain and sealed.
    val key = ByteArray(32) { it.toByte() }
    val sa2 = Session.open(key, sa.seal(key, rng))
    val sb2 = Session.fromBytes(sb.toBytes())
    check(String(sb2.decrypt(sa2.encrypt("after restore".toByteArray(), rng), rng)) == "after restore") { "restored" }
    expect<ChatcryptException.InvalidArgument>("short sealing key", -1) { Session.open(ByteArray(31), ByteArray(0)) }
    expect<ChatcryptException.RngExhausted>("dry scripted rng", -5) { sa2.encrypt(ByteArray(1), Rng.scripted(ByteArray(15))) }

    // Refusals with their exact exception: keys of the wrong length, a
    // truncated message (the session unchanged). (An unknown enum value
    // cannot be written in Kotlin: Mode, ModePolicy and PqPolicy are enums.)
    val ik = bobId.publicKey()
    expect<ChatcryptException.InvalidArgument>("31-byte identity key", -1) {
        PreKeyBundle.fromParts(ik.copyOf(31), 7u, spk.publicKey(), spk.signature(), null, null)
    }
    expect<ChatcryptException.InvalidArgument>("31-byte signed prekey", -1) {
        PreKeyBundle.fromParts(ik, 7u, spk.publicKey().copyOf(31), spk.signature(), null, null)
    }
    expect<ChatcryptException.InvalidArgument>("63-byte signature", -1) {
        PreKeyBundle.fromParts(ik, 7u, spk.publicKey(), spk.signature().copyOf(63), null, null)
    }
    expect<ChatcryptException.InvalidArgument>("31-byte seed", -1) { IdentityKeyPair.fromSeed(ByteArray(31)) }
    expect<ChatcryptException.InvalidArgument>("31-byte safety number key", -1) {
        SafetyNumber("a".toByteArray(), ik.copyOf(31), "b".toByteArray(), ik)
    }
    val whole = sa2.encrypt("cut short".toByteArray(), rng)
    val kept = sb2.toBytes()
    expect<ChatcryptException.DecodeTruncated>("truncated message", -70) { sb2.decrypt(whole.copyOf(10), rng) }
    expect<ChatcryptException.Auth>("message one byte short", -15) { sb2.decrypt(whole.copyOf(whole.size - 1), rng) }
    check(same(sb2.toBytes(), kept)) { "a truncated message changed the session" }
    check(String(sb2.decrypt(whole, rng)) == "cut short") { "the whole message after the truncated ones" }

    // Without an Rng, calls use the operating system's generator.
    val sc = Session.initiate(IdentityKeyPair.generate(), published, Mode.PLAIN, PqPolicy.REQUIRED)
    check(!same(sc.encrypt(ByteArray(3)), sc.encrypt(ByteArray(3)))) { "the OS generator by default" }

    val n1 = SafetyNumber("alice".toByteArray(), alice.publicKey(), "bob".toByteArray(), bobId.publicKey())
    val n2 = SafetyNumber("bob".toByteArray(), bobId.publicKey(), "alice".toByteArray(), alice.publicKey())
    check(n1.displayable() == n2.displayable() && n1.compareScanned(n2.scannable())) { "safety numbers" }
    println("kotlin conversation: done")
}

fun persist(s: Session, at: String): Session {
    val stored = s.toBytes()
    check(s.encodedLen() == stored.size.toULong()) { "$at: encoded_len" }
    val restored = Session.fromBytes(stored)
    check(same(restored.toBytes(), stored)) { "$at: restored session re-encodes differently" }
    return restored
}

fun session(file: File) {
    var cases = 0
    var events = 0
    var mode = Mode.PLAIN
    var hybrid = false
    var what = ""
    lateinit var rngA: Rng
    lateinit var rngB: Rng
    lateinit var alice: IdentityKeyPair
    lateinit var bob: IdentityKeyPair
    lateinit var spk: SignedPreKey
    var opk: OneTimePreKey? = null
    var kem: KemPreKey? = null
    lateinit var bundle: PreKeyBundle
    var sa: Session? = null
    var sb: Session? = null
    val sent = HashMap<Int, ByteArray>()
    for (line in file.readLines()) {
        val t = line.split(" ", limit = if (line.startsWith("case ")) 4 else 12)
        when (t[0]) {
            "case" -> {
                mode = if (t[1] == "1") Mode.HEADER_ENCRYPTION else Mode.PLAIN
                hybrid = t[2] == "1"
                what = t[3]
            }
            "alice" -> {
                alice = IdentityKeyPair.fromSeed(unhex(t[1]))
                rngA = Rng.scripted(unhex(t[2]))
            }
            "bob" -> {
                bob = IdentityKeyPair.fromSeed(unhex(t[1]))
                check(same(bob.publicKey(), unhex(t[2]))) { "$what: Bob's public key" }
                rngB = Rng.scripted(unhex(t[3]))
            }
            "spk" -> {
                spk = SignedPreKey.fromBytes(unhex(t[1]))
                check(same(spk.publicKey(), unhex(t[2])) && same(spk.signature(), unhex(t[3]))) { "$what: signed prekey" }
                check(same(spk.toBytes(), unhex(t[1]))) { "$what: signed prekey stored form" }
            }
            "opk" -> if (t[1] != "-") {
                opk = OneTimePreKey.fromBytes(unhex(t[1])).also {
                    check(same(it.publicKey(), unhex(t[2]))) { "$what: one-time prekey public" }
                }
            }
            "kem" -> {
                check((t[1] != "-") == hybrid) { "$what: a KEM prekey iff hybrid" }
                if (t[1] != "-") kem = KemPreKey.fromBytes(unhex(t[1])).also {
                    check(same(it.publicBytes(), unhex(t[2]))) { "$what: KEM prekey public encoding" }
                }
            }
            "bundle" -> {
                val want = unhex(t[1])
                check(same(PreKeyBundle(bob, spk, opk, kem).toBytes(), want)) { "$what: the bundle of the vector's keys" }
                bundle = PreKeyBundle.fromBytes(want)
                bundle.verify()
            }
            "send" -> {
                val fromAlice = t[1] == "a"
                val id = t[2].toInt()
                val at = "$what: event $events (send $id)"
                val pq = if (hybrid) PqPolicy.REQUIRED else PqPolicy.ALLOW_CLASSICAL
                if (fromAlice && sa == null) sa = Session.initiate(alice, bundle, mode, pq, rngA)
                val s = if (fromAlice) sa!! else sb!!
                val pt = unhex(t[3])
                val want = unhex(t[4])
                check(s.encryptedLen(pt.size.toULong()) == want.size.toULong()) { "$at: encrypted_len" }
                check(same(s.encrypt(pt, if (fromAlice) rngA else rngB), want)) { "$at: message differs from the vector" }
                sent[id] = want
                if (fromAlice) sa = persist(s, at) else sb = persist(s, at)
                events++
            }
            "deliver" -> {
                val toAlice = t[1] == "a"
                val id = t[2].toInt()
                val at = "$what: event $events (deliver $id)"
                val m = sent.getValue(id)
                val pt: ByteArray
                val mid: ByteArray
                if (!toAlice && sb == null) {
                    check(messageType(m) == MessageType.PRE_KEY) { "$at: the first message is a PreKeyMessage" }
                    val pkm = PreKeyMessage.fromBytes(m)
                    check(pkm.signedPrekeyId() == spk.id() && (pkm.kemPrekeyId() != null) == hybrid) { "$at: prekey ids" }
                    check(pkm.mode() == mode && same(pkm.senderIdentity(), alice.publicKey())) { "$at: mode, sender" }
                    val usesOpk = pkm.oneTimePrekeyId() != null
                    val pq = if (hybrid) PqPolicy.REQUIRED else PqPolicy.ALLOW_CLASSICAL
                    val a = acceptSession(bob, spk, if (usesOpk) opk else null, kem?.let { KemPreKeyUse.OneTime(it) },
                        pkm, ModePolicy.ANY, pq, rngB)
                    if (usesOpk) check(opk!!.isConsumed()) { "$at: the one-time prekey is consumed" }
                    kem?.let { k -> check(k.isConsumed()) { "$at: the one-time KEM prekey is consumed" } }
                    sb = a.session
                    pt = a.plaintext
                    mid = a.messageId
                } else {
                    val d = (if (toAlice) sa!! else sb!!).decryptWithId(m, if (toAlice) rngA else rngB)
                    pt = d.plaintext
                    mid = d.messageId
                }
                check(same(pt, unhex(t[3]))) { "$at: plaintext" }
                check(same(mid, unhex(t[4]))) { "$at: message id" }
                if (toAlice) sa = persist(sa!!, at) else sb = persist(sb!!, at)
                events++
            }
            "end" -> {
                check(rngA.remaining() == 0UL && rngB.remaining() == 0UL) { "$what: draws left unused" }
                opk = null; kem = null; sa = null; sb = null; sent.clear()
                cases++
            }
            "count" -> {
                check(cases == t[1].toInt() && events == t[2].toInt()) { "session: $cases cases, $events events replayed" }
            }
            else -> check(false) { "malformed line in session.txt: $line" }
        }
    }
    check(cases == SESSION_CASES && events == SESSION_EVENTS) {
        "session: $cases cases, $events events replayed, $SESSION_CASES and $SESSION_EVENTS pinned"
    }
    println("session.json: $cases cases, $events events replayed through the Kotlin API")
}

fun reject(file: File) {
    var cases = 0
    var what = ""
    val draws = ByteArray(32) { 0x42 } + ByteArray(32) { 0x43 }
    lateinit var rng: Rng
    var error: ChatcryptException? = null
    var state: ByteArray? = null
    var session: Session? = null
    var opk: OneTimePreKey? = null
    fun attempt(block: () -> Unit) {
        try {
            block()
        } catch (e: ChatcryptException) {
            error = e
        }
    }
    for (line in file.readLines()) {
        val t = line.split(" ", limit = if (line.startsWith("desc ")) 2 else if (line.startsWith("expect ")) 4 else 12)
        when (t[0]) {
            "desc" -> {
                what = t.getOrElse(1) { "" }
                rng = Rng.scripted(draws)
                error = null; state = null; session = null; opk = null
            }
            "bundle" -> attempt { PreKeyBundle.fromBytes(unhex(t[1])).verify() }
            // The setup (the parties' keys from their stored forms, the
            // stored session) runs outside attempt {}: a setup failure throws
            // out of reject() and fails the test, it never counts as the
            // expected rejection. Only the call the case rejects (decoding
            // and using the rejected bundle or message) runs inside.
            "initiate" -> {
                val id = IdentityKeyPair.fromSeed(unhex(t[1]))
                val pq = if (t[2] == "0") PqPolicy.REQUIRED else PqPolicy.ALLOW_CLASSICAL
                attempt { Session.initiate(id, PreKeyBundle.fromBytes(unhex(t[3])), Mode.PLAIN, pq, rng) }
            }
            "accept" -> {
                val id = IdentityKeyPair.fromSeed(unhex(t[1]))
                val spk = SignedPreKey.fromBytes(unhex(t[2]))
                if (t[3] != "-") opk = OneTimePreKey.fromBytes(unhex(t[3]))
                val kem = if (t[4] != "-") KemPreKeyUse.LastResort(KemPreKey.fromBytes(unhex(t[4]))) else null
                val policy = when (t[5]) {
                    "0" -> ModePolicy.ANY
                    "1" -> ModePolicy.HEADER_ENCRYPTION_ONLY
                    "2" -> ModePolicy.PLAIN_ONLY
                    else -> error("unknown mode policy ${t[5]}")
                }
                val pq = if (t[6] == "0") PqPolicy.REQUIRED else PqPolicy.ALLOW_CLASSICAL
                attempt { acceptSession(id, spk, opk, kem, PreKeyMessage.fromBytes(unhex(t[7])), policy, pq, rng) }
            }
            "decrypt" -> {
                state = unhex(t[1])
                session = Session.fromBytes(state!!)
                attempt { session!!.decrypt(unhex(t[2]), rng) }
            }
            "expect" -> {
                val e = error
                val wantCode = (-1 downTo -100).firstOrNull { errorCodeName(it) == t[1] }
                check(e != null && e.errorName() == t[1] && e.errorCode() == wantCode) { "$what: got $e, want ${t[1]}" }
                check(e != null && e::class.simpleName?.uppercase() == t[1].replace("_", "")) { "$what: class ${e?.let { it::class.simpleName }}" }
                val detail = e?.errorDetail()
                check(detail == t[3]) { "$what: detail \"$detail\", want \"${t[3]}\"" }
                check(draws.size.toULong() - rng.remaining()!! == t[2].toULong()) { "$what: bytes drawn" }
                opk?.let { k -> check(!k.isConsumed()) { "$what: a failed accept keeps the one-time prekey" } }
                session?.let { s -> check(same(s.toBytes(), state!!)) { "$what: a failed decrypt changed the session" } }
                cases++
            }
            "count" -> check(cases == t[1].toInt()) { "reject: $cases cases replayed, the file has ${t[1]}" }
            else -> check(false) { "malformed line in reject.txt: $line" }
        }
    }
    check(cases == REJECT_CASES) { "reject: $cases cases replayed, $REJECT_CASES pinned" }
    println("reject.json: $cases cases rejected with the expected exception, code and detail")
}

fun main(args: Array<String>) {
    val dir = File(args.getOrElse(0) { "." })
    for ((name, test) in listOf<Pair<String, () -> Unit>>(
        "conversation" to ::conversation,
        "session.json" to { session(File(dir, "session.txt")) },
        "reject.json" to { reject(File(dir, "reject.txt")) },
    )) {
        try {
            test()
        } catch (e: Throwable) {
            failed++
            System.err.println("FAIL: $name threw $e")
            e.printStackTrace()
        }
    }
    println("kotlin: $passed passed, $failed failed")
    if (failed != 0 || passed == 0) kotlin.system.exitProcess(1)
}
