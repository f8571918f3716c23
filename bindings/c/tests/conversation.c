/* A whole conversation through the C API with OS randomness: Bob's keys
 * and bundle, Alice's hybrid handshake, messages both ways delivered out of
 * order, a tampered message rejected with CHATCRYPT_ERR_AUTH and the
 * session unchanged, a replay, buffer sizing, persistence (plain and
 * sealed), one-time prekeys consumed once, a scripted generator running
 * dry, NULL arguments, safety numbers. Every handle is freed: run under
 * AddressSanitizer, a leaked or double-freed handle fails the run. */

#include "common.h"

#define MSG(s) (const uint8_t *)(s), strlen(s)

/* Encrypts `text`, sizing the buffer with chatcrypt_session_encrypted_len. */
static bytes_t encrypt(ChatcryptSession *s, ChatcryptRng *rng, const char *text) {
    bytes_t m;
    size_t need = 0;
    CHECK_OK(chatcrypt_session_encrypted_len(s, strlen(text), &need));
    m.data = xmalloc(need);
    m.len = 0;
    CHECK_OK(chatcrypt_session_encrypt(s, rng, MSG(text), m.data, need, &m.len));
    CHECK(m.len == need, "encrypt wrote %zu of %zu", m.len, need);
    return m;
}

/* Decrypts and checks the plaintext is `text`. */
static void expect_plaintext(ChatcryptSession *s, ChatcryptRng *rng, const bytes_t *m, const char *text) {
    uint8_t *out = xmalloc(m->len);
    size_t len = 0;
    CHECK_OK(chatcrypt_session_decrypt(s, rng, m->data, m->len, out, m->len, &len, NULL, 0));
    CHECK(len == strlen(text) && memcmp(out, text, len) == 0, "plaintext of \"%s\"", text);
    free(out);
}

static bytes_t stored(const ChatcryptSession *s) {
    bytes_t b;
    GET_BYTES(b, chatcrypt_session_to_bytes, s);
    return b;
}

int main(void) {
    ChatcryptRng *rng = NULL;
    CHECK_OK(chatcrypt_rng_os(&rng));

    /* ---- Bob publishes a bundle ---- */
    ChatcryptIdentity *bob = NULL;
    ChatcryptSignedPreKey *spk = NULL;
    ChatcryptOneTimePreKey *opk = NULL;
    ChatcryptKemPreKey *kem = NULL;
    ChatcryptBundle *bob_bundle = NULL;
    CHECK_OK(chatcrypt_identity_generate(rng, &bob));
    CHECK_OK(chatcrypt_signed_prekey_generate(bob, 1, rng, &spk));
    CHECK_OK(chatcrypt_one_time_prekey_generate(100, rng, &opk));
    CHECK_OK(chatcrypt_kem_prekey_generate(bob, 200, rng, &kem));
    CHECK_OK(chatcrypt_bundle_new(bob, spk, opk, kem, &bob_bundle));
    bytes_t wire_bundle;
    GET_BYTES(wire_bundle, chatcrypt_bundle_to_bytes, bob_bundle);

    /* The same bundle from its public parts, as a key server holds them. */
    bytes_t ik, spk_pub, spk_sig, opk_pub, kem_pub;
    GET_BYTES(ik, chatcrypt_identity_public_key, bob);
    GET_BYTES(spk_pub, chatcrypt_signed_prekey_public_key, spk);
    GET_BYTES(spk_sig, chatcrypt_signed_prekey_signature, spk);
    GET_BYTES(opk_pub, chatcrypt_one_time_prekey_public_key, opk);
    GET_BYTES(kem_pub, chatcrypt_kem_prekey_public, kem);
    /* A key server checks identity keys it is handed: Bob's passes; a short
     * one, the identity point (small order) and a y >= p (non-canonical)
     * do not. */
    CHECK_OK(chatcrypt_identity_key_check(ik.data, ik.len));
    CHECK_RC(chatcrypt_identity_key_check(ik.data, ik.len - 1), CHATCRYPT_ERR_INVALID_ARGUMENT);
    uint8_t bad_ik[CHATCRYPT_KEY_LEN] = {1};
    CHECK_RC(chatcrypt_identity_key_check(bad_ik, sizeof bad_ik), CHATCRYPT_ERR_DECODE_INVALID_PUBLIC_KEY);
    memset(bad_ik, 0xff, sizeof bad_ik);
    bad_ik[CHATCRYPT_KEY_LEN - 1] = 0x7f;
    CHECK_RC(chatcrypt_identity_key_check(bad_ik, sizeof bad_ik), CHATCRYPT_ERR_DECODE_INVALID_PUBLIC_KEY);
    uint8_t kem_type = 0;
    CHECK_OK(chatcrypt_kem_prekey_kem_type(kem, &kem_type));
    CHECK(kem_type == 1 && kem_type == kem_pub.data[0], "the KEM prekey is ML-KEM-1024 (type 1), the first byte of its public encoding");
    CHECK(ik.len == CHATCRYPT_KEY_LEN && spk_sig.len == CHATCRYPT_SIGNATURE_LEN &&
              kem_pub.len == CHATCRYPT_KEM_PREKEY_PUBLIC_LEN,
          "public part lengths");
    ChatcryptBundle *from_parts = NULL;
    CHECK_OK(chatcrypt_bundle_from_parts(ik.data, ik.len, 1, spk_pub.data, spk_pub.len, spk_sig.data, spk_sig.len, 100,
                                         opk_pub.data, opk_pub.len, kem_pub.data, kem_pub.len, &from_parts));
    bytes_t parts_bytes;
    GET_BYTES(parts_bytes, chatcrypt_bundle_to_bytes, from_parts);
    CHECK(bytes_eq(&parts_bytes, wire_bundle.data, wire_bundle.len), "bundle from parts equals the key pairs' bundle");
    /* A forged signature: decodes, does not verify. */
    spk_sig.data[0] ^= 1;
    ChatcryptBundle *forged = NULL;
    CHECK_OK(chatcrypt_bundle_from_parts(ik.data, ik.len, 1, spk_pub.data, spk_pub.len, spk_sig.data, spk_sig.len, 0,
                                         NULL, 0, kem_pub.data, kem_pub.len, &forged));
    CHECK_RC(chatcrypt_bundle_verify(forged), CHATCRYPT_ERR_BAD_SIGNATURE);

    /* ---- Alice starts a hybrid session from the bundle ---- */
    ChatcryptIdentity *alice = NULL;
    ChatcryptBundle *bundle = NULL;
    ChatcryptSession *a = NULL;
    CHECK_OK(chatcrypt_identity_generate(rng, &alice));
    CHECK_OK(chatcrypt_bundle_from_bytes(wire_bundle.data, wire_bundle.len, &bundle));
    CHECK_OK(chatcrypt_bundle_verify(bundle));
    uint32_t ids[3] = {0, 0, 0};
    int has[2] = {-1, -1};
    CHECK_OK(chatcrypt_bundle_prekey_ids(bundle, &ids[0], &has[0], &ids[1], &has[1], &ids[2]));
    CHECK(ids[0] == 1 && has[0] == 1 && ids[1] == 100 && has[1] == 1 && ids[2] == 200, "bundle prekey ids");
    /* Without a KEM prekey the default policy refuses the classical handshake. */
    ChatcryptBundle *classical = NULL;
    ChatcryptSession *refused = NULL;
    CHECK_OK(chatcrypt_bundle_new(bob, spk, opk, NULL, &classical));
    CHECK_RC(chatcrypt_session_initiate(alice, classical, CHATCRYPT_MODE_PLAIN, CHATCRYPT_PQ_REQUIRED, rng, &refused),
             CHATCRYPT_ERR_POST_QUANTUM_REQUIRED);
    CHECK(refused == NULL, "a failed initiate leaves its out-handle NULL");
    CHECK_RC(chatcrypt_session_initiate(alice, bundle, 7, CHATCRYPT_PQ_REQUIRED, rng, &refused),
             CHATCRYPT_ERR_INVALID_ARGUMENT);
    CHECK_OK(chatcrypt_session_initiate(alice, bundle, CHATCRYPT_MODE_HEADER_ENCRYPTION, CHATCRYPT_PQ_REQUIRED, rng, &a));
    bytes_t a1 = encrypt(a, rng, "hello Bob");
    bytes_t a2 = encrypt(a, rng, "are you there?");

    /* ---- Bob accepts from the second PreKeyMessage (out of order) ---- */
    uint32_t type = 0;
    CHECK_OK(chatcrypt_message_type(a2.data, a2.len, &type));
    CHECK(type == CHATCRYPT_MESSAGE_TYPE_PREKEY, "a PreKeyMessage");
    ChatcryptPreKeyMessage *pkm = NULL;
    CHECK_OK(chatcrypt_prekey_message_from_bytes(a2.data, a2.len, &pkm));
    CHECK_OK(chatcrypt_prekey_message_prekey_ids(pkm, &ids[0], &has[0], &ids[1], &has[1], &ids[2]));
    CHECK(ids[0] == 1 && has[0] == 1 && ids[1] == 100 && has[1] == 1 && ids[2] == 200, "PreKeyMessage prekey ids");
    uint32_t mode = 9;
    int pq = -1;
    CHECK_OK(chatcrypt_prekey_message_kind(pkm, &mode, &pq));
    CHECK(mode == CHATCRYPT_MODE_HEADER_ENCRYPTION && pq == 1, "PreKeyMessage mode and hybrid");
    bytes_t sender, alice_pub;
    GET_BYTES(sender, chatcrypt_prekey_message_sender_identity, pkm);
    GET_BYTES(alice_pub, chatcrypt_identity_public_key, alice);
    CHECK(bytes_eq(&sender, alice_pub.data, alice_pub.len), "sender identity");

    ChatcryptSession *b = NULL;
    /* accept's plaintext buffer needs the message's length (an upper bound). */
    uint8_t pt[4096], mid[CHATCRYPT_MESSAGE_ID_LEN];
    size_t pt_len = 0;
    /* A policy that refuses header encryption: refused, prekeys kept. */
    CHECK_RC(chatcrypt_session_accept(bob, spk, opk, kem, 1, pkm, CHATCRYPT_MODE_POLICY_PLAIN_ONLY, CHATCRYPT_PQ_REQUIRED,
                                      rng, &b, pt, sizeof pt, &pt_len, mid, sizeof mid),
             CHATCRYPT_ERR_MODE_NOT_ALLOWED);
    char detail[128];
    size_t detail_len = 0;
    CHECK_OK(chatcrypt_last_error_detail(detail, sizeof detail, &detail_len));
    CHECK(strcmp(detail, "ModeNotAllowed { mode: HeaderEncryption }") == 0, "detail: %s", detail);
    CHECK(detail_len == strlen(detail) + 1, "detail length counts the NUL");
    int consumed = -1;
    CHECK_OK(chatcrypt_one_time_prekey_is_consumed(opk, &consumed));
    CHECK(consumed == 0, "a refused accept keeps the one-time prekey");
    /* A plaintext buffer below the message's length: refused before any work. */
    CHECK_RC(chatcrypt_session_accept(bob, spk, opk, kem, 1, pkm, CHATCRYPT_MODE_POLICY_ANY, CHATCRYPT_PQ_REQUIRED, rng,
                                      &b, pt, 3, &pt_len, mid, sizeof mid),
             CHATCRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK(pt_len == a2.len, "accept announces the message's length (%zu)", pt_len);
    uint8_t *big = xmalloc(a2.len);
    CHECK_OK(chatcrypt_session_accept(bob, spk, opk, kem, 1, pkm, CHATCRYPT_MODE_POLICY_ANY, CHATCRYPT_PQ_REQUIRED, rng,
                                      &b, big, a2.len, &pt_len, mid, sizeof mid));
    CHECK(pt_len == 14 && memcmp(big, "are you there?", 14) == 0, "the accepted plaintext");
    free(big);
    CHECK_OK(chatcrypt_one_time_prekey_is_consumed(opk, &consumed));
    CHECK(consumed == 1, "the one-time prekey is consumed");
    CHECK_OK(chatcrypt_kem_prekey_is_consumed(kem, &consumed));
    CHECK(consumed == 1, "the one-time KEM prekey is consumed");
    uint32_t id = 0;
    CHECK_RC(chatcrypt_one_time_prekey_id(opk, &id), CHATCRYPT_ERR_CONSUMED);
    ChatcryptSession *again = NULL;
    CHECK_RC(chatcrypt_session_accept(bob, spk, opk, kem, 1, pkm, CHATCRYPT_MODE_POLICY_ANY, CHATCRYPT_PQ_REQUIRED, rng,
                                      &again, pt, sizeof pt, &pt_len, NULL, 0),
             CHATCRYPT_ERR_CONSUMED);
    CHECK(again == NULL, "no second session from a consumed prekey");

    /* The earlier PreKeyMessage of the same handshake goes to decrypt. */
    ChatcryptPreKeyMessage *pkm1 = NULL;
    int matches = -1;
    CHECK_OK(chatcrypt_prekey_message_from_bytes(a1.data, a1.len, &pkm1));
    CHECK_OK(chatcrypt_session_matches(b, pkm1, &matches));
    CHECK(matches == 1, "the first PreKeyMessage matches Bob's session");
    expect_plaintext(b, rng, &a1, "hello Bob");

    /* ---- Bob replies three times; Alice reads them 3, 1, 2 ---- */
    bytes_t b1 = encrypt(b, rng, "hi Alice"), b2 = encrypt(b, rng, "two"), b3 = encrypt(b, rng, "three");
    int awaiting = -1;
    size_t skipped = 99;
    expect_plaintext(a, rng, &b3, "three");
    CHECK_OK(chatcrypt_session_info(a, NULL, NULL, &awaiting, NULL, &skipped));
    CHECK(awaiting == 0 && skipped == 2, "after the third reply: awaiting %d, skipped %zu", awaiting, skipped);
    expect_plaintext(a, rng, &b1, "hi Alice");
    expect_plaintext(a, rng, &b2, "two");
    CHECK_OK(chatcrypt_session_info(a, NULL, NULL, NULL, NULL, &skipped));
    CHECK(skipped == 0, "all skipped keys used");

    /* ---- Tampering: AUTH, session unchanged; then the genuine one ---- */
    bytes_t a3 = encrypt(a, rng, "genuine");
    bytes_t before = stored(b);
    a3.data[a3.len - 1] ^= 0x01;
    size_t out_len = 0;
    CHECK_RC(chatcrypt_session_decrypt(b, rng, a3.data, a3.len, pt, sizeof pt, &out_len, NULL, 0), CHATCRYPT_ERR_AUTH);
    CHECK_OK(chatcrypt_last_error_detail(detail, sizeof detail, &detail_len));
    CHECK(strcmp(detail, "Auth") == 0, "detail: %s", detail);
    bytes_t after = stored(b);
    CHECK(bytes_eq(&after, before.data, before.len), "a tampered message leaves the session unchanged");
    bytes_free(&after);
    a3.data[a3.len - 1] ^= 0x01;
    /* Overlapping buffers (in place) are refused before any work, and
     * nothing changes: decrypting into the message, encrypting into the
     * plaintext. */
    {
        bytes_t in_place = {xmalloc(a3.len), a3.len};
        memcpy(in_place.data, a3.data, a3.len);
        CHECK_RC(chatcrypt_session_decrypt(b, rng, in_place.data, in_place.len, in_place.data, in_place.len,
                                           &out_len, NULL, 0),
                 CHATCRYPT_ERR_INVALID_ARGUMENT);
        CHECK(memcmp(in_place.data, a3.data, a3.len) == 0, "an in-place decrypt wrote nothing");
        bytes_t unchanged = stored(b);
        CHECK(bytes_eq(&unchanged, before.data, before.len), "an in-place decrypt leaves the session unchanged");
        bytes_free(&unchanged);
        size_t need = 0, len = 0;
        CHECK_OK(chatcrypt_session_encrypted_len(a, 5, &need));
        uint8_t *buf = xmalloc(need);
        memcpy(buf, "hello", 5);
        bytes_t a_before = stored(a);
        CHECK_RC(chatcrypt_session_encrypt(a, rng, buf, 5, buf, need, &len), CHATCRYPT_ERR_INVALID_ARGUMENT);
        bytes_t a_after = stored(a);
        CHECK(bytes_eq(&a_after, a_before.data, a_before.len), "an in-place encrypt leaves the session unchanged");
        bytes_free(&a_before);
        bytes_free(&a_after);
        free(buf);
        bytes_free(&in_place);
    }
    /* Too small a buffer: the exact need, nothing changed. */
    CHECK_RC(chatcrypt_session_decrypt(b, rng, a3.data, a3.len, pt, 2, &out_len, NULL, 0),
             CHATCRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK(out_len == strlen("genuine"), "decrypt announces %zu", out_len);
    after = stored(b);
    CHECK(bytes_eq(&after, before.data, before.len), "a too-small buffer leaves the session unchanged");
    bytes_free(&after);
    expect_plaintext(b, rng, &a3, "genuine");
    CHECK_RC(chatcrypt_session_decrypt(b, rng, a3.data, a3.len, pt, sizeof pt, &out_len, NULL, 0),
             CHATCRYPT_ERR_DUPLICATE);
    CHECK_RC(chatcrypt_session_decrypt(b, rng, a3.data, 5, pt, sizeof pt, &out_len, NULL, 0),
             CHATCRYPT_ERR_DECODE_TRUNCATED);

    /* ---- A scripted generator that runs dry: an error, nothing changed ---- */
    ChatcryptRng *dry = NULL;
    uint8_t three[3] = {1, 2, 3};
    CHECK_OK(chatcrypt_rng_scripted(three, sizeof three, &dry));
    bytes_t b_before = stored(b);
    uint8_t wire[512];
    CHECK_RC(chatcrypt_session_encrypt(b, dry, MSG("x"), wire, sizeof wire, &out_len), CHATCRYPT_ERR_RNG_EXHAUSTED);
    after = stored(b);
    CHECK(bytes_eq(&after, b_before.data, b_before.len), "a dry generator leaves the session unchanged");
    bytes_free(&after);
    bytes_free(&b_before);
    size_t left = 0;
    CHECK_OK(chatcrypt_rng_remaining(dry, &left));
    CHECK(left == 3, "a request it cannot fill takes nothing (%zu left)", left);
    CHECK_RC(chatcrypt_rng_remaining(rng, &left), CHATCRYPT_ERR_INVALID_ARGUMENT);
    chatcrypt_rng_free(dry);

    /* ---- Persistence: Bob's session stored, freed, restored; sealed too ---- */
    bytes_t saved = stored(b);
    chatcrypt_session_free(b);
    b = NULL;
    CHECK_OK(chatcrypt_session_from_bytes(saved.data, saved.len, &b));
    bytes_t a4 = encrypt(a, rng, "after restore");
    expect_plaintext(b, rng, &a4, "after restore");
    uint8_t key[CHATCRYPT_KEY_LEN], wrong[CHATCRYPT_KEY_LEN];
    memset(key, 7, sizeof key);
    memset(wrong, 8, sizeof wrong);
    size_t enc_len = 0, sealed_len = 0;
    CHECK_OK(chatcrypt_session_encoded_len(b, &enc_len));
    uint8_t *sealed = xmalloc(enc_len + CHATCRYPT_SEALED_OVERHEAD);
    CHECK_OK(chatcrypt_session_seal(b, key, sizeof key, rng, sealed, enc_len + CHATCRYPT_SEALED_OVERHEAD, &sealed_len));
    CHECK(sealed_len == enc_len + CHATCRYPT_SEALED_OVERHEAD, "sealed length");
    ChatcryptSession *opened = NULL;
    CHECK_RC(chatcrypt_session_open(wrong, sizeof wrong, sealed, sealed_len, &opened), CHATCRYPT_ERR_AUTH);
    CHECK(opened == NULL, "no session from a wrong key");
    CHECK_OK(chatcrypt_session_open(key, sizeof key, sealed, sealed_len, &opened));
    bytes_t b_now = stored(b), opened_bytes = stored(opened);
    CHECK(bytes_eq(&opened_bytes, b_now.data, b_now.len), "the opened session equals the sealed one");
    bytes_free(&b_now);
    bytes_free(&opened_bytes);
    free(sealed);
    bytes_t b4 = encrypt(opened, rng, "from the opened session");
    expect_plaintext(a, rng, &b4, "from the opened session");
    bytes_t remote, local;
    GET_BYTES(remote, chatcrypt_session_remote_identity, b);
    GET_BYTES(local, chatcrypt_session_local_identity, b);
    CHECK(bytes_eq(&remote, alice_pub.data, alice_pub.len) && bytes_eq(&local, ik.data, ik.len), "session identities");

    /* Identity and prekey stored forms. */
    bytes_t id_bytes, seed, spk_bytes;
    GET_BYTES(id_bytes, chatcrypt_identity_to_bytes, bob);
    GET_BYTES(seed, chatcrypt_identity_seed, bob);
    GET_BYTES(spk_bytes, chatcrypt_signed_prekey_to_bytes, spk);
    CHECK(id_bytes.len == CHATCRYPT_IDENTITY_STORED_LEN && seed.len == CHATCRYPT_KEY_LEN &&
              spk_bytes.len == CHATCRYPT_SIGNED_PREKEY_STORED_LEN,
          "stored lengths");
    ChatcryptIdentity *bob2 = NULL, *bob3 = NULL;
    CHECK_OK(chatcrypt_identity_from_bytes(id_bytes.data, id_bytes.len, &bob2));
    CHECK_OK(chatcrypt_identity_from_seed(seed.data, seed.len, &bob3));
    bytes_t pub2, pub3;
    GET_BYTES(pub2, chatcrypt_identity_public_key, bob2);
    GET_BYTES(pub3, chatcrypt_identity_public_key, bob3);
    CHECK(bytes_eq(&pub2, ik.data, ik.len) && bytes_eq(&pub3, ik.data, ik.len), "identity round trips");
    uint8_t sealed_id[CHATCRYPT_IDENTITY_STORED_LEN + CHATCRYPT_SEALED_OVERHEAD];
    size_t sealed_id_len = 0;
    ChatcryptIdentity *bob4 = NULL;
    CHECK_OK(chatcrypt_identity_seal(bob, key, sizeof key, rng, sealed_id, sizeof sealed_id, &sealed_id_len));
    CHECK(sealed_id_len == sizeof sealed_id, "sealed identity length %zu", sealed_id_len);
    CHECK_RC(chatcrypt_identity_open(wrong, sizeof wrong, sealed_id, sealed_id_len, &bob4), CHATCRYPT_ERR_AUTH);
    CHECK_OK(chatcrypt_identity_open(key, sizeof key, sealed_id, sealed_id_len, &bob4));
    bytes_t pub4;
    GET_BYTES(pub4, chatcrypt_identity_public_key, bob4);
    CHECK(bytes_eq(&pub4, ik.data, ik.len), "sealed identity round trip");
    bytes_free(&pub4);
    chatcrypt_identity_free(bob4);
    ChatcryptIdentity *none = NULL;
    CHECK_RC(chatcrypt_identity_from_seed(seed.data, 31, &none), CHATCRYPT_ERR_INVALID_ARGUMENT);
    CHECK(none == NULL, "a failed from_seed leaves the out-handle NULL");
    CHECK_RC(chatcrypt_identity_from_bytes(id_bytes.data, id_bytes.len - 1, &none), CHATCRYPT_ERR_DECODE_TRUNCATED);

    /* ---- NULL and junk arguments: codes, never a crash ---- */
    CHECK_RC(chatcrypt_session_encrypt(NULL, rng, MSG("x"), wire, sizeof wire, &out_len), CHATCRYPT_ERR_INVALID_ARGUMENT);
    CHECK_RC(chatcrypt_session_encrypt(a, NULL, MSG("x"), wire, sizeof wire, &out_len), CHATCRYPT_ERR_INVALID_ARGUMENT);
    CHECK_RC(chatcrypt_session_encrypt(a, rng, NULL, 5, wire, sizeof wire, &out_len), CHATCRYPT_ERR_INVALID_ARGUMENT);
    CHECK_RC(chatcrypt_session_encrypt(a, rng, MSG("x"), NULL, 4096, &out_len), CHATCRYPT_ERR_INVALID_ARGUMENT);
    CHECK_RC(chatcrypt_session_encrypt(a, rng, MSG("x"), wire, sizeof wire, NULL), CHATCRYPT_ERR_INVALID_ARGUMENT);
    CHECK_RC(chatcrypt_session_encrypt(a, rng, MSG("x"), NULL, 0, &out_len), CHATCRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK_RC(chatcrypt_rng_os(NULL), CHATCRYPT_ERR_INVALID_ARGUMENT);
    chatcrypt_bundle_free(from_parts);
    from_parts = (ChatcryptBundle *)(void *)detail; /* junk, never dereferenced */
    CHECK_RC(chatcrypt_bundle_from_bytes(NULL, 0, &from_parts), CHATCRYPT_ERR_DECODE_TRUNCATED);
    CHECK(from_parts == NULL, "a failed decode sets the out-handle to NULL");
    CHECK_RC(chatcrypt_bundle_verify(NULL), CHATCRYPT_ERR_INVALID_ARGUMENT);
    CHECK_RC(chatcrypt_session_info(NULL, NULL, NULL, NULL, NULL, NULL), CHATCRYPT_ERR_INVALID_ARGUMENT);
    chatcrypt_session_free(NULL);
    chatcrypt_rng_free(NULL);
    chatcrypt_identity_free(NULL);
    chatcrypt_bundle_free(NULL);
    CHECK(strcmp(chatcrypt_error_name(CHATCRYPT_OK), "OK") == 0, "name of OK");
    CHECK(strcmp(chatcrypt_error_name(CHATCRYPT_ERR_AUTH), "AUTH") == 0, "name of AUTH");
    CHECK(strcmp(chatcrypt_error_name(CHATCRYPT_ERR_DECODE_INVALID_PUBLIC_KEY), "DECODE_INVALID_PUBLIC_KEY") == 0,
          "name of DECODE_INVALID_PUBLIC_KEY");
    CHECK(strcmp(chatcrypt_error_name(12345), "UNKNOWN") == 0, "name of an unknown code");
    int named = 0;
    for (int c = -1; c >= -100; c--) named += strcmp(chatcrypt_error_name(c), "UNKNOWN") != 0;
    CHECK(named == 49, "49 named error codes, got %d", named);

    /* ---- Refusals with their exact codes (the tampered message (AUTH)
     * and the consumed one-time prekey (CONSUMED) are checked above) ---- */
    {
        /* Keys of the wrong length. */
        ChatcryptBundle *nb = NULL;
        CHECK_RC(chatcrypt_bundle_from_parts(ik.data, 31, 1, spk_pub.data, spk_pub.len, spk_sig.data, spk_sig.len, 0, NULL,
                                             0, kem_pub.data, kem_pub.len, &nb),
                 CHATCRYPT_ERR_INVALID_ARGUMENT);
        CHECK_RC(chatcrypt_bundle_from_parts(ik.data, ik.len, 1, spk_pub.data, 33, spk_sig.data, spk_sig.len, 0, NULL, 0,
                                             kem_pub.data, kem_pub.len, &nb),
                 CHATCRYPT_ERR_INVALID_ARGUMENT);
        CHECK_RC(chatcrypt_bundle_from_parts(ik.data, ik.len, 1, spk_pub.data, spk_pub.len, spk_sig.data, spk_sig.len, 0,
                                             NULL, 0, kem_pub.data, kem_pub.len - 1, &nb),
                 CHATCRYPT_ERR_DECODE_TRUNCATED); /* the KEM key is an encoding (type byte, key) */
        CHECK(nb == NULL, "no bundle from wrong-length keys");
        ChatcryptSafetyNumber *sn = NULL;
        CHECK_RC(chatcrypt_safety_number_new(MSG("alice"), alice_pub.data, 31, MSG("bob"), ik.data, ik.len, &sn),
                 CHATCRYPT_ERR_INVALID_ARGUMENT);
        ChatcryptSession *ns = NULL;
        uint8_t short_key[31] = {0};
        CHECK_RC(chatcrypt_session_open(short_key, sizeof short_key, before.data, before.len, &ns),
                 CHATCRYPT_ERR_INVALID_ARGUMENT);
        CHECK(ns == NULL, "no session from a wrong-length storage key");

        /* A truncated message: a decode error, the session unchanged. */
        bytes_t m = encrypt(a, rng, "cut short");
        bytes_t kept = stored(b);
        CHECK_RC(chatcrypt_session_decrypt(b, rng, m.data, 10, pt, sizeof pt, &out_len, NULL, 0),
                 CHATCRYPT_ERR_DECODE_TRUNCATED);
        CHECK_RC(chatcrypt_session_decrypt(b, rng, m.data, m.len - 1, pt, sizeof pt, &out_len, NULL, 0),
                 CHATCRYPT_ERR_AUTH);
        bytes_t now = stored(b);
        CHECK(bytes_eq(&now, kept.data, kept.len), "a truncated message leaves the session unchanged");
        expect_plaintext(b, rng, &m, "cut short");

        /* Unknown enum values: refused before any work. */
        ChatcryptBundle *fresh = NULL;
        CHECK_OK(chatcrypt_bundle_from_bytes(parts_bytes.data, parts_bytes.len, &fresh));
        CHECK_RC(chatcrypt_session_initiate(alice, fresh, 2, CHATCRYPT_PQ_REQUIRED, rng, &ns),
                 CHATCRYPT_ERR_INVALID_ARGUMENT);
        CHECK_RC(chatcrypt_session_initiate(alice, fresh, CHATCRYPT_MODE_PLAIN, 2, rng, &ns),
                 CHATCRYPT_ERR_INVALID_ARGUMENT);
        CHECK(ns == NULL, "no session from an unknown mode or policy");
        CHECK_RC(chatcrypt_session_accept(bob, spk, NULL, NULL, 0, pkm, 3, CHATCRYPT_PQ_REQUIRED, rng, &ns, pt, sizeof pt,
                                          &pt_len, NULL, 0),
                 CHATCRYPT_ERR_INVALID_ARGUMENT);
        CHECK_RC(chatcrypt_session_accept(bob, spk, NULL, NULL, 0, pkm, CHATCRYPT_MODE_POLICY_ANY, 2, rng, &ns, pt,
                                          sizeof pt, &pt_len, NULL, 0),
                 CHATCRYPT_ERR_INVALID_ARGUMENT);
        CHECK(ns == NULL, "no session from an unknown accept policy");
        chatcrypt_bundle_free(fresh);
        bytes_free(&m);
        bytes_free(&kept);
        bytes_free(&now);
    }

    /* ---- Safety numbers ---- */
    ChatcryptSafetyNumber *on_a = NULL, *on_b = NULL;
    CHECK_OK(chatcrypt_safety_number_new(MSG("alice"), alice_pub.data, alice_pub.len, MSG("bob"), ik.data, ik.len, &on_a));
    CHECK_OK(chatcrypt_safety_number_new(MSG("bob"), ik.data, ik.len, MSG("alice"), alice_pub.data, alice_pub.len, &on_b));
    char digits_a[CHATCRYPT_SAFETY_NUMBER_DIGITS + 1], digits_b[CHATCRYPT_SAFETY_NUMBER_DIGITS + 1];
    size_t dl = 0;
    CHECK_OK(chatcrypt_safety_number_displayable(on_a, digits_a, sizeof digits_a, &dl));
    CHECK_OK(chatcrypt_safety_number_displayable(on_b, digits_b, sizeof digits_b, &dl));
    CHECK(strlen(digits_a) == CHATCRYPT_SAFETY_NUMBER_DIGITS && strcmp(digits_a, digits_b) == 0, "same digits");
    bytes_t scan;
    GET_BYTES(scan, chatcrypt_safety_number_scannable, on_a);
    CHECK_OK(chatcrypt_safety_number_compare(on_b, scan.data, scan.len, &matches));
    CHECK(matches == 1, "Bob's device accepts Alice's QR code");
    CHECK_OK(chatcrypt_safety_number_compare(on_a, scan.data, scan.len, &matches));
    CHECK(matches == 0, "a device's own QR code does not match");

    /* ---- Every handle and buffer freed ---- */
    chatcrypt_safety_number_free(on_a);
    chatcrypt_safety_number_free(on_b);
    chatcrypt_identity_free(bob2);
    chatcrypt_identity_free(bob3);
    chatcrypt_session_free(opened);
    chatcrypt_session_free(a);
    chatcrypt_session_free(b);
    chatcrypt_prekey_message_free(pkm);
    chatcrypt_prekey_message_free(pkm1);
    chatcrypt_bundle_free(bundle);
    chatcrypt_bundle_free(classical);
    chatcrypt_bundle_free(forged);
    chatcrypt_bundle_free(bob_bundle);
    chatcrypt_kem_prekey_free(kem);
    chatcrypt_one_time_prekey_free(opk);
    chatcrypt_signed_prekey_free(spk);
    chatcrypt_identity_free(alice);
    chatcrypt_identity_free(bob);
    chatcrypt_rng_free(rng);
    bytes_t *all[] = {&wire_bundle, &ik,   &spk_pub, &spk_sig, &opk_pub,   &kem_pub, &parts_bytes, &a1,   &a2,
                      &sender,      &alice_pub, &b1, &b2,      &b3,        &a3,      &before,      &saved, &a4,
                      &b4,          &remote, &local, &id_bytes, &seed,     &spk_bytes, &pub2,      &pub3, &scan};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) bytes_free(all[i]);
    return finish("conversation");
}
