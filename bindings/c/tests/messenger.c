/* The messenger layer through the C API, the flows of
 * bindings/core/src/messenger_tests.rs: (1) a conversation between two
 * users (alice with one device, bob with two) through session records, with
 * accounts, certificates, device lists signed from links passed as bytes,
 * trust on first use, persist-then-upload and the server's view of the
 * upload, a replay refused and stored forms round-tripping; (2) sealed
 * sender with every certificate refusal and a multi-recipient envelope
 * split by the server; (3) a tampered message, a retry from the error code,
 * a new session; an unknown prekey's id read after the failure; (4) device
 * list and account key changes; (5) padding; (6) a scripted generator that
 * runs dry in a record call. Exact values and exact codes; every handle is
 * freed (ASan's leak check in CI). */

#include "common.h"

#define NOW 1800000000ULL
#define MSG(s) (const uint8_t *)(s), strlen(s)
#define MAXDEV 4

typedef struct {
    const char *id;
    ChatcryptAccount *account;
    ChatcryptLocalDevice *devices[MAXDEV];
    int n;
} user_t;

static bytes_t account_key(const ChatcryptAccount *a) {
    bytes_t k;
    GET_BYTES(k, chatcrypt_account_public_key, a);
    CHECK(k.len == CHATCRYPT_KEY_LEN, "account key length %zu", k.len);
    return k;
}

static bytes_t device_key(const ChatcryptLocalDevice *d) {
    bytes_t k;
    GET_BYTES(k, chatcrypt_local_device_identity_key, d);
    return k;
}

static bytes_t stored_device(const ChatcryptLocalDevice *d) {
    bytes_t b;
    GET_BYTES(b, chatcrypt_local_device_to_bytes, d);
    return b;
}

static bytes_t stored_record(const ChatcryptSessionRecord *r) {
    bytes_t b;
    GET_BYTES(b, chatcrypt_session_record_to_bytes, r);
    return b;
}

/* A device of `account`: certificate through bytes, 100 + 20 one-time prekeys. */
static ChatcryptLocalDevice *make_device(const ChatcryptAccount *account, uint32_t id, ChatcryptRng *rng) {
    ChatcryptIdentity *identity = NULL;
    ChatcryptDeviceCertificate *cert = NULL, *decoded = NULL;
    ChatcryptLocalDevice *d = NULL;
    CHECK_OK(chatcrypt_identity_generate(rng, &identity));
    bytes_t ik;
    GET_BYTES(ik, chatcrypt_identity_public_key, identity);
    CHECK_OK(chatcrypt_account_certify(account, id, ik.data, ik.len, &cert));
    bytes_t wire;
    GET_BYTES(wire, chatcrypt_device_certificate_to_bytes, cert);
    CHECK(wire.len == CHATCRYPT_DEVICE_CERTIFICATE_LEN, "certificate length %zu", wire.len);
    CHECK_OK(chatcrypt_device_certificate_from_bytes(wire.data, wire.len, &decoded));
    uint32_t got_id = 0;
    CHECK_OK(chatcrypt_device_certificate_device(decoded, &got_id));
    CHECK(got_id == id, "certificate device %u", got_id);
    bytes_t ak = account_key(account);
    CHECK_OK(chatcrypt_device_certificate_verify(decoded, ak.data, ak.len));
    CHECK_OK(chatcrypt_local_device_new(identity, decoded, NOW, rng, &d));
    bytes_t dk = device_key(d);
    CHECK(bytes_eq(&dk, ik.data, ik.len), "the device's identity key is the identity's");
    uint32_t made_x = 0, made_k = 0;
    CHECK_OK(chatcrypt_local_device_replenish(d, 0, 0, rng, &made_x, &made_k));
    CHECK(made_x == 100 && made_k == 20, "replenished %u, %u", made_x, made_k);
    bytes_free(&ik);
    bytes_free(&wire);
    bytes_free(&ak);
    bytes_free(&dk);
    chatcrypt_device_certificate_free(cert);
    chatcrypt_device_certificate_free(decoded);
    chatcrypt_identity_free(identity);
    return d;
}

static user_t make_user(const char *name, int n, ChatcryptRng *rng) {
    user_t u = {name, NULL, {NULL}, n};
    CHECK_OK(chatcrypt_account_generate(rng, &u.account));
    for (int i = 0; i < n; i++) u.devices[i] = make_device(u.account, (uint32_t)(i + 1), rng);
    return u;
}

static void free_user(user_t *u) {
    for (int i = 0; i < u->n; i++) chatcrypt_local_device_free(u->devices[i]);
    chatcrypt_account_free(u->account);
}

/* The device list at `epoch`, signed from links that travelled as bytes,
 * decoded from its encoding as a peer receives it. */
static ChatcryptDeviceList *user_list(const user_t *u, uint64_t epoch) {
    bytes_t links = {xmalloc((size_t)u->n * CHATCRYPT_DEVICE_LINK_LEN), 0};
    for (int i = 0; i < u->n; i++) {
        ChatcryptDeviceLink *link = NULL;
        CHECK_OK(chatcrypt_local_device_link(u->devices[i], &link));
        size_t len = 0;
        CHECK_OK(chatcrypt_device_link_to_bytes(link, links.data + links.len, CHATCRYPT_DEVICE_LINK_LEN, &len));
        CHECK(len == CHATCRYPT_DEVICE_LINK_LEN, "link length %zu", len);
        links.len += len;
        chatcrypt_device_link_free(link);
    }
    ChatcryptDeviceList *signed_list = NULL, *list = NULL;
    CHECK_OK(chatcrypt_account_sign_device_list(u->account, epoch, links.data, links.len, &signed_list));
    bytes_t wire;
    GET_BYTES(wire, chatcrypt_device_list_to_bytes, signed_list);
    CHECK_OK(chatcrypt_device_list_from_bytes(wire.data, wire.len, &list));
    /* The list's links are the ones it was signed from. */
    bytes_t back;
    GET_BYTES(back, chatcrypt_device_list_links, list);
    CHECK(bytes_eq(&back, links.data, links.len), "the list's links are the signed ones");
    bytes_free(&links);
    bytes_free(&wire);
    bytes_free(&back);
    chatcrypt_device_list_free(signed_list);
    return list;
}

/* Device `i`'s upload, persisted first, as the server decodes it. */
static ChatcryptPreKeyUpload *user_upload(user_t *u, int i) {
    ChatcryptLocalDevice *d = u->devices[i];
    bytes_t stored = stored_device(d);
    ChatcryptPreKeyUpload *up = NULL, *server = NULL;
    CHECK_OK(chatcrypt_local_device_upload(d, stored.data, stored.len, &up));
    CHECK_OK(chatcrypt_local_device_mark_uploaded(d, up));
    bytes_t wire;
    GET_BYTES(wire, chatcrypt_prekey_upload_to_bytes, up);
    CHECK_OK(chatcrypt_prekey_upload_from_bytes(wire.data, wire.len, &server));
    bytes_free(&stored);
    bytes_free(&wire);
    chatcrypt_prekey_upload_free(up);
    return server;
}

typedef struct {
    user_t alice, bob;
    ChatcryptPeerAccount *a_peer; /* alice's view of bob */
    ChatcryptPeerAccount *b_peer; /* bob's view of alice */
    ChatcryptSessionRecord *a_rec; /* alice's record for bob's device 1 */
    ChatcryptSessionRecord *b_rec; /* bob's (device 1) record for alice's */
    ChatcryptBundle *bundle;       /* the bundle alice initiated with */
} pair_t;

static pair_t make_pair(ChatcryptRng *rng) {
    pair_t p;
    p.alice = make_user("alice", 1, rng);
    p.bob = make_user("bob", 2, rng);
    ChatcryptDeviceList *bl = user_list(&p.bob, 1), *al = user_list(&p.alice, 1);
    CHECK_OK(chatcrypt_peer_account_trust_on_first_use(MSG("bob"), bl, &p.a_peer));
    CHECK_OK(chatcrypt_peer_account_trust_on_first_use(MSG("alice"), al, &p.b_peer));
    chatcrypt_device_list_free(bl);
    chatcrypt_device_list_free(al);
    chatcrypt_prekey_upload_free(user_upload(&p.alice, 0));
    ChatcryptPreKeyUpload *up = user_upload(&p.bob, 0);
    size_t nx = 0, nk = 0;
    CHECK_OK(chatcrypt_prekey_upload_counts(up, &nx, &nk));
    CHECK(nx == 100 && nk == 20, "upload counts %zu, %zu", nx, nk);
    p.bundle = NULL;
    CHECK_OK(chatcrypt_prekey_upload_bundle(up, 1, 0, 1, 0, &p.bundle));
    chatcrypt_prekey_upload_free(up);
    p.a_rec = p.b_rec = NULL;
    CHECK_OK(chatcrypt_session_record_new(1, &p.a_rec));
    int needs = -1;
    CHECK_OK(chatcrypt_session_record_needs_new_session(p.a_rec, NOW, &needs));
    CHECK(needs == 1, "an empty record needs a session");
    CHECK_OK(chatcrypt_session_record_initiate(p.a_rec, p.alice.devices[0], p.a_peer, p.bundle, NULL, NOW, rng));
    CHECK_OK(chatcrypt_session_record_new(1, &p.b_rec));
    return p;
}

static void free_pair(pair_t *p) {
    chatcrypt_session_record_free(p->a_rec);
    chatcrypt_session_record_free(p->b_rec);
    chatcrypt_peer_account_free(p->a_peer);
    chatcrypt_peer_account_free(p->b_peer);
    chatcrypt_bundle_free(p->bundle);
    free_user(&p->alice);
    free_user(&p->bob);
}

/* Encrypts `text` (default padding), sized by _encrypted_len. */
static bytes_t rec_encrypt(ChatcryptSessionRecord *r, const ChatcryptPeerAccount *peer, const char *text,
                           ChatcryptRng *rng) {
    size_t need = 0;
    CHECK_OK(chatcrypt_session_record_encrypted_len(r, strlen(text), CHATCRYPT_PADDING_DEFAULT_KIND,
                                                    CHATCRYPT_PADDING_DEFAULT_PARAM, &need));
    bytes_t m = {xmalloc(need), 0};
    CHECK_OK(chatcrypt_session_record_encrypt(r, peer, MSG(text), NOW, rng, m.data, need, &m.len));
    CHECK(m.len == need, "encrypt wrote %zu of %zu", m.len, need);
    return m;
}

/* Decrypts `m`; on success checks the plaintext is `text` and returns
 * *new_session. */
static int rec_decrypt(ChatcryptSessionRecord *r, ChatcryptLocalDevice *d, const ChatcryptPeerAccount *peer,
                       const bytes_t *m, const char *text, ChatcryptRng *rng, int *new_session) {
    uint8_t *out = xmalloc(m->len);
    uint8_t id[CHATCRYPT_MESSAGE_ID_LEN];
    size_t len = 0;
    int rc = chatcrypt_session_record_decrypt(r, d, peer, m->data, m->len, NULL, NOW, rng, out, m->len, &len, id,
                                              sizeof id, new_session);
    if (rc == CHATCRYPT_OK && text)
        CHECK(len == strlen(text) && memcmp(out, text, len) == 0, "plaintext of \"%s\"", text);
    free(out);
    return rc;
}

static int sn_equal(ChatcryptSafetyNumber *a, ChatcryptSafetyNumber *b) {
    char da[CHATCRYPT_SAFETY_NUMBER_DIGITS + 1], db[CHATCRYPT_SAFETY_NUMBER_DIGITS + 1];
    size_t la = 0, lb = 0;
    CHECK_OK(chatcrypt_safety_number_displayable(a, da, sizeof da, &la));
    CHECK_OK(chatcrypt_safety_number_displayable(b, db, sizeof db, &lb));
    CHECK(la == CHATCRYPT_SAFETY_NUMBER_DIGITS + 1 && strlen(da) == CHATCRYPT_SAFETY_NUMBER_DIGITS,
          "safety number digits %zu", la);
    return la == lb && strcmp(da, db) == 0;
}

/* ------------------------------------------------------------------------ */

static void a_conversation_between_two_users(ChatcryptRng *rng) {
    pair_t p = make_pair(rng);
    /* The default padding hides the length: 9 and 2 bytes give one size. */
    size_t l9 = 0, l2 = 0;
    CHECK_OK(chatcrypt_session_record_encrypted_len(p.a_rec, 9, CHATCRYPT_PADDING_DEFAULT_KIND,
                                                    CHATCRYPT_PADDING_DEFAULT_PARAM, &l9));
    CHECK_OK(chatcrypt_session_record_encrypted_len(p.a_rec, 2, CHATCRYPT_PADDING_DEFAULT_KIND,
                                                    CHATCRYPT_PADDING_DEFAULT_PARAM, &l2));
    CHECK(l9 == l2, "padded lengths %zu and %zu", l9, l2);
    /* A buffer too small: the size, and the record unchanged. */
    bytes_t before = stored_record(p.a_rec);
    uint8_t small[8];
    size_t need = 0;
    CHECK_RC(chatcrypt_session_record_encrypt(p.a_rec, p.a_peer, MSG("hello Bob"), NOW, rng, small, sizeof small,
                                              &need),
             CHATCRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK(need == l9, "needed %zu, want %zu", need, l9);
    bytes_t after = stored_record(p.a_rec);
    CHECK(bytes_eq(&after, before.data, before.len), "a too-small buffer leaves the record as it was");
    bytes_free(&before);
    bytes_free(&after);

    bytes_t first = rec_encrypt(p.a_rec, p.a_peer, "hello Bob", rng);
    uint32_t type = 0;
    CHECK_OK(chatcrypt_message_type(first.data, first.len, &type));
    CHECK(type == CHATCRYPT_MESSAGE_TYPE_PREKEY, "the first message carries the handshake");
    int new_session = -1;
    CHECK_OK(rec_decrypt(p.b_rec, p.bob.devices[0], p.b_peer, &first, "hello Bob", rng, &new_session));
    CHECK(new_session == 1, "the first message starts a session");
    size_t nx = 0, nk = 0;
    CHECK_OK(chatcrypt_local_device_one_time_prekey_counts(p.bob.devices[0], &nx, &nk));
    CHECK(nx == 99 && nk == 19, "prekeys left %zu, %zu", nx, nk);
    /* A replay is a duplicate and changes nothing. */
    before = stored_record(p.b_rec);
    CHECK_RC(rec_decrypt(p.b_rec, p.bob.devices[0], p.b_peer, &first, NULL, rng, NULL), CHATCRYPT_ERR_DUPLICATE);
    after = stored_record(p.b_rec);
    CHECK(bytes_eq(&after, before.data, before.len), "a replay leaves the record as it was");
    bytes_free(&after);
    /* In place (the plaintext over the message) is refused before any work. */
    bytes_t copy = {xmalloc(first.len), first.len};
    memcpy(copy.data, first.data, first.len);
    size_t in_place = 0;
    CHECK_RC(chatcrypt_session_record_decrypt(p.b_rec, p.bob.devices[0], p.b_peer, copy.data, copy.len, NULL, NOW, rng,
                                              copy.data, copy.len, &in_place, NULL, 0, NULL),
             CHATCRYPT_ERR_INVALID_ARGUMENT);
    CHECK(bytes_eq(&copy, first.data, first.len), "the message is untouched");
    CHECK_RC(chatcrypt_session_record_encrypt(p.b_rec, p.b_peer, copy.data, 5, NOW, rng, copy.data + 2, copy.len - 2,
                                              &in_place),
             CHATCRYPT_ERR_INVALID_ARGUMENT);
    after = stored_record(p.b_rec);
    CHECK(bytes_eq(&after, before.data, before.len), "refused overlaps leave the record as it was");
    bytes_free(&after);
    bytes_free(&copy);
    /* NULL handles and out-pointers. */
    CHECK_RC(chatcrypt_account_public_key(NULL, NULL, 0, &in_place), CHATCRYPT_ERR_INVALID_ARGUMENT);
    CHECK_RC(chatcrypt_local_device_one_time_prekey_counts(p.bob.devices[0], NULL, &nk), CHATCRYPT_ERR_INVALID_ARGUMENT);
    CHECK_RC(chatcrypt_session_record_new(1, NULL), CHATCRYPT_ERR_INVALID_ARGUMENT);
    chatcrypt_session_record_free(NULL);
    chatcrypt_local_device_free(NULL);
    chatcrypt_opened_envelope_free(NULL);
    /* The reply. */
    bytes_t reply = rec_encrypt(p.b_rec, p.b_peer, "hello Alice", rng);
    CHECK_OK(rec_decrypt(p.a_rec, p.alice.devices[0], p.a_peer, &reply, "hello Alice", rng, &new_session));
    CHECK(new_session == 0, "a reply starts no session");
    bytes_free(&before);
    uint8_t sa[32], sb[32];
    size_t la = 0, lb = 0;
    int ha = 0, hb = 0;
    CHECK_OK(chatcrypt_session_record_current_session_id(p.a_rec, &ha, sa, sizeof sa, &la));
    CHECK_OK(chatcrypt_session_record_current_session_id(p.b_rec, &hb, sb, sizeof sb, &lb));
    CHECK(ha == 1 && hb == 1 && la == 32 && lb == 32 && memcmp(sa, sb, 32) == 0, "one session id on both sides");

    /* Stored forms round-trip, plain and sealed. */
    const uint8_t key[32] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
                             7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
    bytes_t sealed_rec, sealed_peer, plain_rec = stored_record(p.a_rec);
    size_t n = 0;
    CHECK_RC(chatcrypt_session_record_seal(p.a_rec, key, sizeof key, rng, NULL, 0, &n), CHATCRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK(n == plain_rec.len + CHATCRYPT_SEALED_OVERHEAD, "sealed record length %zu", n);
    sealed_rec.data = xmalloc(n);
    CHECK_OK(chatcrypt_session_record_seal(p.a_rec, key, sizeof key, rng, sealed_rec.data, n, &sealed_rec.len));
    GET_BYTES(sealed_peer, chatcrypt_peer_account_seal, p.b_peer, key, sizeof key, rng);
    ChatcryptSessionRecord *a_rec2 = NULL;
    ChatcryptPeerAccount *b_peer2 = NULL;
    ChatcryptLocalDevice *b_dev2 = NULL;
    CHECK_OK(chatcrypt_session_record_open(key, sizeof key, sealed_rec.data, sealed_rec.len, &a_rec2));
    ChatcryptSessionRecord *none = NULL;
    CHECK_RC(chatcrypt_session_record_open(key, 31, sealed_rec.data, sealed_rec.len, &none),
             CHATCRYPT_ERR_INVALID_ARGUMENT);
    CHECK(none == NULL, "no record on error");
    CHECK_OK(chatcrypt_peer_account_open(key, sizeof key, sealed_peer.data, sealed_peer.len, &b_peer2));
    bytes_t dev_bytes = stored_device(p.bob.devices[0]);
    CHECK_OK(chatcrypt_local_device_from_bytes(dev_bytes.data, dev_bytes.len, &b_dev2));
    bytes_t rec2 = stored_record(a_rec2);
    CHECK(bytes_eq(&rec2, plain_rec.data, plain_rec.len), "the opened record is the stored one");
    /* A message padded with none, from the restored record. */
    size_t xl = 0;
    CHECK_OK(chatcrypt_session_record_encrypted_len(a_rec2, 1, CHATCRYPT_PADDING_NONE, 0, &xl));
    bytes_t x = {xmalloc(xl), 0};
    CHECK_OK(chatcrypt_session_record_encrypt_padded(a_rec2, p.a_peer, MSG("x"), CHATCRYPT_PADDING_NONE, 0, NOW, rng,
                                                     x.data, xl, &x.len));
    CHECK(x.len == xl && xl < l9, "unpadded message %zu bytes (padded %zu)", xl, l9);
    CHECK_OK(rec_decrypt(p.b_rec, b_dev2, b_peer2, &x, "x", rng, NULL));

    /* Both users compute the same account safety number. */
    bytes_t ak = account_key(p.alice.account), bk = account_key(p.bob.account);
    ChatcryptSafetyNumber *a_sn = NULL, *b_sn = NULL;
    CHECK_OK(chatcrypt_peer_account_safety_number(p.a_peer, MSG("alice"), ak.data, ak.len, &a_sn));
    CHECK_OK(chatcrypt_safety_number_for_accounts(MSG("bob"), bk.data, bk.len, MSG("alice"), ak.data, ak.len, &b_sn));
    CHECK(sn_equal(a_sn, b_sn), "both users see one safety number");
    bytes_t scan;
    GET_BYTES(scan, chatcrypt_safety_number_scannable, a_sn);
    int match = 0;
    CHECK_OK(chatcrypt_safety_number_compare(b_sn, scan.data, scan.len, &match));
    CHECK(match == 1, "the scanned code matches");

    /* The peer's view: bob's list, devices 1 and 2, alice's pinned key. */
    ChatcryptDeviceList *bl = NULL;
    CHECK_OK(chatcrypt_peer_account_device_list(p.a_peer, &bl));
    uint32_t ids[CHATCRYPT_MAX_DEVICES];
    size_t count = 0;
    CHECK_RC(chatcrypt_device_list_devices(bl, ids, 1, &count), CHATCRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK(count == 2, "device count %zu", count);
    CHECK_OK(chatcrypt_device_list_devices(bl, ids, CHATCRYPT_MAX_DEVICES, &count));
    CHECK(count == 2 && ids[0] == 1 && ids[1] == 2, "devices %zu: %u %u", count, ids[0], ids[1]);
    uint64_t epoch = 0;
    CHECK_OK(chatcrypt_device_list_epoch(bl, &epoch));
    CHECK(epoch == 1, "epoch %llu", (unsigned long long)epoch);
    bytes_t d2 = device_key(p.bob.devices[1]);
    int listed = -1;
    uint8_t k[32];
    CHECK_OK(chatcrypt_device_list_identity_of(bl, 2, &listed, k, sizeof k, &n));
    CHECK(listed == 1 && n == 32 && memcmp(k, d2.data, 32) == 0, "device 2's identity key");
    CHECK_OK(chatcrypt_device_list_identity_of(bl, 3, &listed, k, sizeof k, &n));
    CHECK(listed == 0 && n == 0, "device 3 is not listed");
    uint32_t level = 9;
    CHECK_OK(chatcrypt_peer_account_trust_level(p.a_peer, &level));
    CHECK(level == CHATCRYPT_TRUST_ON_FIRST_USE, "trust level %u", level);
    CHECK_OK(chatcrypt_peer_account_authorize(p.a_peer, 2, d2.data, d2.len));
    CHECK_RC(chatcrypt_peer_account_authorize(p.a_peer, 3, d2.data, d2.len), CHATCRYPT_ERR_UNKNOWN_DEVICE);
    CHECK_RC(chatcrypt_peer_account_authorize(p.a_peer, 1, d2.data, d2.len), CHATCRYPT_ERR_WRONG_IDENTITY);
    bytes_t uid;
    GET_BYTES(uid, chatcrypt_peer_account_user_id, p.a_peer);
    CHECK(bytes_eq(&uid, (const uint8_t *)"bob", 3), "peer user id");
    /* Links of a wrong total length. */
    ChatcryptDeviceList *bad = NULL;
    uint8_t links[CHATCRYPT_DEVICE_LINK_LEN + 1] = {0};
    CHECK_RC(chatcrypt_account_sign_device_list(p.bob.account, 2, links, sizeof links, &bad),
             CHATCRYPT_ERR_INVALID_ARGUMENT);
    CHECK(bad == NULL, "no list on error");
    CHECK_RC(chatcrypt_session_record_decrypt(NULL, p.bob.devices[0], p.b_peer, x.data, x.len, NULL, NOW, rng, k,
                                              sizeof k, &n, NULL, 0, NULL),
             CHATCRYPT_ERR_INVALID_ARGUMENT);

    bytes_free(&first);
    bytes_free(&reply);
    bytes_free(&sealed_rec);
    bytes_free(&sealed_peer);
    bytes_free(&plain_rec);
    bytes_free(&dev_bytes);
    bytes_free(&rec2);
    bytes_free(&x);
    bytes_free(&ak);
    bytes_free(&bk);
    bytes_free(&scan);
    bytes_free(&d2);
    bytes_free(&uid);
    chatcrypt_device_list_free(bl);
    chatcrypt_safety_number_free(a_sn);
    chatcrypt_safety_number_free(b_sn);
    chatcrypt_session_record_free(a_rec2);
    chatcrypt_peer_account_free(b_peer2);
    chatcrypt_local_device_free(b_dev2);
    free_pair(&p);
}

static void upload_needs_the_persisted_form(ChatcryptRng *rng) {
    user_t u = make_user("carol", 1, rng);
    ChatcryptLocalDevice *d = u.devices[0];
    bytes_t stale = stored_device(d);
    CHECK_OK(chatcrypt_local_device_rotate_signed_prekey(d, NOW + 1, rng));
    ChatcryptPreKeyUpload *up = NULL;
    CHECK_RC(chatcrypt_local_device_upload(d, stale.data, stale.len, &up), CHATCRYPT_ERR_NOT_PERSISTED);
    CHECK(up == NULL, "no upload on error");
    int needs = 0;
    CHECK_OK(chatcrypt_local_device_needs_upload(d, &needs));
    CHECK(needs == 1, "keys wait for an upload");
    bytes_t fresh = stored_device(d);
    CHECK_OK(chatcrypt_local_device_upload(d, fresh.data, fresh.len, &up));
    CHECK_OK(chatcrypt_local_device_mark_uploaded(d, up));
    CHECK_OK(chatcrypt_local_device_needs_upload(d, &needs));
    CHECK(needs == 0, "nothing waits after the upload");
    uint32_t mx = 9, mk = 9;
    CHECK_OK(chatcrypt_local_device_replenish(d, 100, 20, rng, &mx, &mk));
    CHECK(mx == 0 && mk == 0, "nothing to replenish: %u %u", mx, mk);
    ChatcryptBundle *b = NULL;
    CHECK_RC(chatcrypt_prekey_upload_bundle(up, 1, 100, 0, 0, &b), CHATCRYPT_ERR_DECODE_INVALID_VALUE);
    CHECK(b == NULL, "no bundle on error");
    /* The server's view of the upload: the device's certificate and key. */
    ChatcryptDeviceCertificate *cert = NULL;
    CHECK_OK(chatcrypt_prekey_upload_certificate(up, &cert));
    bytes_t ik, ck, dk = device_key(d);
    GET_BYTES(ik, chatcrypt_prekey_upload_identity_key, up);
    GET_BYTES(ck, chatcrypt_device_certificate_identity_key, cert);
    CHECK(bytes_eq(&ik, dk.data, dk.len) && bytes_eq(&ck, dk.data, dk.len), "the upload names the device");
    bytes_free(&stale);
    bytes_free(&fresh);
    bytes_free(&ik);
    bytes_free(&ck);
    bytes_free(&dk);
    chatcrypt_device_certificate_free(cert);
    chatcrypt_prekey_upload_free(up);
    free_user(&u);
}

/* Issues a certificate for alice's device through bytes. */
static ChatcryptSenderCertificate *issue(const ChatcryptServerKey *server, uint64_t serial, uint64_t expires,
                                         const user_t *u, uint32_t device_id) {
    bytes_t ak = account_key(u->account), ik = device_key(u->devices[device_id - 1]);
    ChatcryptSenderCertificate *cert = NULL, *decoded = NULL;
    CHECK_OK(chatcrypt_server_key_issue(server, serial, expires, ak.data, ak.len, device_id, ik.data, ik.len, &cert));
    bytes_t wire;
    GET_BYTES(wire, chatcrypt_sender_certificate_to_bytes, cert);
    CHECK(wire.len == CHATCRYPT_SENDER_CERTIFICATE_LEN, "certificate length %zu", wire.len);
    CHECK_OK(chatcrypt_sender_certificate_from_bytes(wire.data, wire.len, &decoded));
    bytes_free(&ak);
    bytes_free(&ik);
    bytes_free(&wire);
    chatcrypt_sender_certificate_free(cert);
    return decoded;
}

/* Opens with the device (and checks chatcrypt_open with a copy of its
 * identity gives the same code). */
static int open_rc(const ChatcryptLocalDevice *d, const bytes_t *envelope, const ChatcryptCertificatePolicy *policy) {
    ChatcryptIdentity *id = NULL;
    ChatcryptOpenedEnvelope *o = NULL, *o2 = NULL;
    CHECK_OK(chatcrypt_local_device_identity(d, &id));
    int rc = chatcrypt_local_device_open_envelope(d, envelope->data, envelope->len, policy, &o);
    CHECK((rc == CHATCRYPT_OK) == (o != NULL), "an opened envelope exactly on success");
    CHECK_RC(chatcrypt_open(id, envelope->data, envelope->len, policy, &o2), rc);
    chatcrypt_opened_envelope_free(o);
    chatcrypt_opened_envelope_free(o2);
    chatcrypt_identity_free(id);
    return rc;
}

static void sealed_sender_through_records(ChatcryptRng *rng) {
    pair_t p = make_pair(rng);
    ChatcryptServerKey *server = NULL;
    CHECK_OK(chatcrypt_server_key_generate(rng, &server));
    ChatcryptSenderCertificate *cert = issue(server, 41, NOW + 86400, &p.alice, 1);
    uint64_t serial = 0, expires = 0;
    CHECK_OK(chatcrypt_sender_certificate_serial(cert, &serial));
    CHECK_OK(chatcrypt_sender_certificate_expires(cert, &expires));
    CHECK(serial == 41 && expires == NOW + 86400, "certificate serial and expiry");
    bytes_t root;
    GET_BYTES(root, chatcrypt_server_key_public_key, server);
    bytes_t issuer;
    GET_BYTES(issuer, chatcrypt_sender_certificate_issuer, cert);
    CHECK(bytes_eq(&issuer, root.data, root.len), "the issuer is the server key");

    size_t inner = 0;
    CHECK_OK(chatcrypt_session_record_encrypted_len(p.a_rec, 12, CHATCRYPT_PADDING_DEFAULT_KIND,
                                                    CHATCRYPT_PADDING_DEFAULT_PARAM, &inner));
    size_t need = 0;
    CHECK_RC(chatcrypt_session_record_encrypt_sealed(p.a_rec, p.alice.devices[0], p.a_peer, cert, MSG("sealed hello"),
                                                     NOW, rng, NULL, 0, &need),
             CHATCRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK(need == inner + CHATCRYPT_SEALED_ENVELOPE_OVERHEAD + 4, "sealed length %zu (inner %zu)", need, inner);
    bytes_t envelope = {xmalloc(need), 0};
    CHECK_OK(chatcrypt_session_record_encrypt_sealed(p.a_rec, p.alice.devices[0], p.a_peer, cert,
                                                     MSG("sealed hello"), NOW, rng, envelope.data, need,
                                                     &envelope.len));
    CHECK(envelope.len == need, "sealed envelope %zu of %zu", envelope.len, need);

    ChatcryptCertificatePolicy *policy = NULL, *revoked = NULL, *late = NULL;
    CHECK_OK(chatcrypt_certificate_policy_new(NOW, &policy));
    /* No root: untrusted. */
    CHECK_RC(open_rc(p.bob.devices[0], &envelope, policy), CHATCRYPT_ERR_UNTRUSTED_CERTIFICATE);
    CHECK_OK(chatcrypt_certificate_policy_add_root(policy, root.data, root.len));
    CHECK_OK(chatcrypt_sender_certificate_validate(cert, policy));
    ChatcryptIdentity *b_id = NULL;
    CHECK_OK(chatcrypt_local_device_identity(p.bob.devices[0], &b_id));
    ChatcryptOpenedEnvelope *opened = NULL;
    CHECK_OK(chatcrypt_open(b_id, envelope.data, envelope.len, policy, &opened));
    ChatcryptSenderCertificate *sender = NULL;
    CHECK_OK(chatcrypt_opened_envelope_certificate(opened, &sender));
    bytes_t sender_ik, a_ik = device_key(p.alice.devices[0]);
    GET_BYTES(sender_ik, chatcrypt_sender_certificate_identity_key, sender);
    CHECK(bytes_eq(&sender_ik, a_ik.data, a_ik.len), "the certificate names alice's device");
    CHECK_OK(chatcrypt_sender_certificate_serial(sender, &serial));
    CHECK(serial == 41, "opened serial %llu", (unsigned long long)serial);
    bytes_t content;
    GET_BYTES(content, chatcrypt_opened_envelope_content, opened);
    uint8_t *pt = xmalloc(content.len);
    size_t pt_len = 0;
    int new_session = -1;
    /* A record for another device refuses it (the certificate names device 1). */
    ChatcryptSessionRecord *wrong = NULL;
    CHECK_OK(chatcrypt_session_record_new(2, &wrong));
    CHECK_RC(chatcrypt_session_record_decrypt_sealed(wrong, p.bob.devices[0], p.b_peer, opened, NULL, NOW, rng, pt,
                                                     content.len, &pt_len, NULL, 0, NULL),
             CHATCRYPT_ERR_SENDER_MISMATCH);
    CHECK_RC(chatcrypt_session_record_decrypt_sealed(p.b_rec, p.bob.devices[0], p.b_peer, opened, NULL, NOW, rng, pt,
                                                     content.len - 1, &pt_len, NULL, 0, NULL),
             CHATCRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK(pt_len == content.len, "needed %zu", pt_len);
    CHECK_OK(chatcrypt_session_record_decrypt_sealed(p.b_rec, p.bob.devices[0], p.b_peer, opened, NULL, NOW, rng, pt,
                                                     content.len, &pt_len, NULL, 0, &new_session));
    CHECK(pt_len == 12 && memcmp(pt, "sealed hello", 12) == 0 && new_session == 1, "sealed plaintext");
    /* Revoked and expired certificates. */
    CHECK_OK(chatcrypt_certificate_policy_new(NOW, &revoked));
    CHECK_OK(chatcrypt_certificate_policy_add_root(revoked, root.data, root.len));
    CHECK_OK(chatcrypt_certificate_policy_revoke(revoked, 41));
    CHECK_RC(open_rc(p.bob.devices[0], &envelope, revoked), CHATCRYPT_ERR_CERTIFICATE_REVOKED);
    CHECK_OK(chatcrypt_certificate_policy_new(NOW + 86400, &late));
    CHECK_OK(chatcrypt_certificate_policy_add_root(late, root.data, root.len));
    CHECK_RC(open_rc(p.bob.devices[0], &envelope, late), CHATCRYPT_ERR_CERTIFICATE_EXPIRED);
    CHECK_RC(chatcrypt_sender_certificate_validate(cert, late), CHATCRYPT_ERR_CERTIFICATE_EXPIRED);
    /* A kept policy moved on: expired from its new time on. */
    uint64_t at = 0;
    CHECK_OK(chatcrypt_certificate_policy_set_now(policy, NOW + 86399));
    CHECK_OK(chatcrypt_certificate_policy_now(policy, &at));
    CHECK(at == NOW + 86399, "policy time %llu", (unsigned long long)at);
    CHECK_OK(open_rc(p.bob.devices[0], &envelope, policy));
    CHECK_OK(chatcrypt_certificate_policy_set_now(policy, NOW + 86400));
    CHECK_RC(open_rc(p.bob.devices[0], &envelope, policy), CHATCRYPT_ERR_CERTIFICATE_EXPIRED);
    CHECK_OK(chatcrypt_certificate_policy_set_now(policy, NOW));

    /* Multi-recipient: sealed once, split by the server, opened by each. */
    bytes_t k0 = device_key(p.bob.devices[0]), k1 = device_key(p.bob.devices[1]);
    uint8_t recipients[64];
    memcpy(recipients, k0.data, 32);
    memcpy(recipients + 32, k1.data, 32);
    ChatcryptIdentity *a_id = NULL;
    CHECK_OK(chatcrypt_local_device_identity(p.alice.devices[0], &a_id));
    bytes_t multi;
    GET_BYTES(multi, chatcrypt_seal_multi, a_id, cert, recipients, sizeof recipients, MSG("to both"),
              CHATCRYPT_PADDING_DEFAULT_KIND, CHATCRYPT_PADDING_DEFAULT_PARAM, rng);
    CHECK_RC(chatcrypt_seal_multi(a_id, cert, recipients, 63, MSG("x"), 0, 0, rng, NULL, 0, &need),
             CHATCRYPT_ERR_INVALID_ARGUMENT);
    ChatcryptRecipientEnvelopes *parts = NULL;
    CHECK_OK(chatcrypt_split_multi_recipient(multi.data, multi.len, &parts));
    size_t count = 0;
    CHECK_OK(chatcrypt_recipient_envelopes_count(parts, &count));
    CHECK(count == 2, "parts %zu", count);
    bytes_t part_for[2] = {{NULL, 0}, {NULL, 0}};
    for (size_t i = 0; i < count && i < 2; i++) {
        bytes_t rk, env;
        GET_BYTES(rk, chatcrypt_recipient_envelopes_recipient, parts, i);
        GET_BYTES(env, chatcrypt_recipient_envelopes_envelope, parts, i);
        int which = bytes_eq(&rk, k0.data, 32) ? 0 : bytes_eq(&rk, k1.data, 32) ? 1 : -1;
        CHECK(which >= 0, "part %zu is for one of bob's devices", i);
        if (which >= 0) part_for[which] = env;
        else bytes_free(&env);
        bytes_free(&rk);
    }
    CHECK_RC(chatcrypt_recipient_envelopes_envelope(parts, 2, NULL, 0, &need), CHATCRYPT_ERR_INVALID_ARGUMENT);
    /* In ranges: the second alone, then nothing past the end. */
    ChatcryptRecipientEnvelopes *range = NULL;
    CHECK_OK(chatcrypt_split_multi_recipient_range(multi.data, multi.len, 1, 5, &range));
    CHECK_OK(chatcrypt_recipient_envelopes_count(range, &count));
    bytes_t second_whole, second_range;
    GET_BYTES(second_whole, chatcrypt_recipient_envelopes_envelope, parts, 1);
    GET_BYTES(second_range, chatcrypt_recipient_envelopes_envelope, range, 0);
    CHECK(count == 1 && bytes_eq(&second_range, second_whole.data, second_whole.len), "the range holds the second");
    chatcrypt_recipient_envelopes_free(range);
    CHECK_OK(chatcrypt_split_multi_recipient_range(multi.data, multi.len, 2, 5, &range));
    CHECK_OK(chatcrypt_recipient_envelopes_count(range, &count));
    CHECK(count == 0, "nothing past the end: %zu", count);
    chatcrypt_recipient_envelopes_free(range);
    bytes_free(&second_whole);
    bytes_free(&second_range);
    CHECK(CHATCRYPT_MAX_SPLIT_LEN == 32u * 1024 * 1024, "the split limit");
    for (int i = 0; i < 2; i++) {
        ChatcryptIdentity *id = NULL;
        ChatcryptOpenedEnvelope *o = NULL;
        CHECK_OK(chatcrypt_local_device_identity(p.bob.devices[i], &id));
        CHECK_OK(chatcrypt_open(id, part_for[i].data, part_for[i].len, policy, &o));
        bytes_t c;
        GET_BYTES(c, chatcrypt_opened_envelope_content, o);
        CHECK(bytes_eq(&c, (const uint8_t *)"to both", 7), "device %d reads the multi-recipient content", i + 1);
        bytes_free(&c);
        chatcrypt_opened_envelope_free(o);
        chatcrypt_identity_free(id);
    }
    /* One part is not for the other device. */
    CHECK_RC(open_rc(p.bob.devices[1], &part_for[0], policy), CHATCRYPT_ERR_AUTH);
    /* A single envelope: sized before drawing, opened; with someone else's
     * certificate refused before sealing. */
    size_t padded = 0;
    CHECK_OK(chatcrypt_padding_padded_len(CHATCRYPT_PADDING_BLOCKS, 64, 5, &padded));
    CHECK(padded == 64, "padded %zu", padded);
    bytes_t single;
    GET_BYTES(single, chatcrypt_seal, a_id, cert, k1.data, k1.len, MSG("hello"), CHATCRYPT_PADDING_BLOCKS, 64, rng);
    CHECK(single.len == CHATCRYPT_SEALED_ENVELOPE_OVERHEAD + 64, "single envelope %zu", single.len);
    CHECK_OK(open_rc(p.bob.devices[1], &single, policy));
    CHECK_RC(chatcrypt_seal(b_id, cert, k1.data, k1.len, MSG("x"), CHATCRYPT_PADDING_DEFAULT_KIND,
                            CHATCRYPT_PADDING_DEFAULT_PARAM, rng, NULL, 0, &need),
             CHATCRYPT_ERR_BUFFER_TOO_SMALL);
    uint8_t big[1024];
    CHECK_RC(chatcrypt_seal(b_id, cert, k1.data, k1.len, MSG("x"), CHATCRYPT_PADDING_DEFAULT_KIND,
                            CHATCRYPT_PADDING_DEFAULT_PARAM, rng, big, sizeof big, &need),
             CHATCRYPT_ERR_WRONG_IDENTITY);

    bytes_free(&root);
    bytes_free(&issuer);
    bytes_free(&envelope);
    bytes_free(&sender_ik);
    bytes_free(&a_ik);
    bytes_free(&content);
    bytes_free(&k0);
    bytes_free(&k1);
    bytes_free(&multi);
    bytes_free(&part_for[0]);
    bytes_free(&part_for[1]);
    bytes_free(&single);
    free(pt);
    chatcrypt_recipient_envelopes_free(parts);
    chatcrypt_identity_free(a_id);
    chatcrypt_identity_free(b_id);
    chatcrypt_sender_certificate_free(sender);
    chatcrypt_opened_envelope_free(opened);
    chatcrypt_session_record_free(wrong);
    chatcrypt_certificate_policy_free(policy);
    chatcrypt_certificate_policy_free(revoked);
    chatcrypt_certificate_policy_free(late);
    chatcrypt_sender_certificate_free(cert);
    chatcrypt_server_key_free(server);
    free_pair(&p);
}

static ChatcryptRetryMessage *retry_for(const ChatcryptLocalDevice *d, const bytes_t *sender, const bytes_t *failed,
                                        int code, uint32_t prekey_id) {
    ChatcryptRetryMessage *r = (ChatcryptRetryMessage *)1;
    CHECK_OK(chatcrypt_local_device_retry_for_code(d, sender->data, sender->len, failed->data, failed->len, code,
                                                   prekey_id, NOW, &r));
    return r;
}

static void a_failed_message_brings_a_retry_and_a_new_session(ChatcryptRng *rng) {
    pair_t p = make_pair(rng);
    bytes_t first = rec_encrypt(p.a_rec, p.a_peer, "one", rng);
    CHECK_OK(rec_decrypt(p.b_rec, p.bob.devices[0], p.b_peer, &first, "one", rng, NULL));
    bytes_t second = rec_encrypt(p.a_rec, p.a_peer, "two", rng);
    second.data[second.len - 1] ^= 1;
    int rc = rec_decrypt(p.b_rec, p.bob.devices[0], p.b_peer, &second, NULL, rng, NULL);
    CHECK_RC(rc, CHATCRYPT_ERR_AUTH);
    int has = -1;
    uint32_t id = 99;
    CHECK_OK(chatcrypt_last_error_prekey_id(&has, &id));
    CHECK(has == 0 && id == 0, "AUTH names no prekey");
    bytes_t a_key = device_key(p.alice.devices[0]), b_key = device_key(p.bob.devices[0]);
    ChatcryptRetryMessage *retry = retry_for(p.bob.devices[0], &a_key, &second, rc, id);
    CHECK(retry != NULL, "AUTH calls for a retry");
    CHECK(retry_for(p.bob.devices[0], &a_key, &second, CHATCRYPT_ERR_DUPLICATE, 0) == NULL,
          "a duplicate calls for no retry");
    ChatcryptRetryMessage *none = NULL;
    CHECK_RC(chatcrypt_local_device_retry_for_code(p.bob.devices[0], a_key.data, a_key.len, second.data, second.len,
                                                   -1000, 0, NOW, &none),
             CHATCRYPT_ERR_INVALID_ARGUMENT);
    bytes_t wire;
    GET_BYTES(wire, chatcrypt_retry_message_to_bytes, retry);
    CHECK(wire.len == CHATCRYPT_RETRY_MESSAGE_LEN, "retry length %zu", wire.len);
    ChatcryptRetryMessage *decoded = NULL;
    CHECK_OK(chatcrypt_retry_message_from_bytes(wire.data, wire.len, &decoded));
    uint32_t reason = 0, pk = 9;
    uint64_t ts = 0;
    CHECK_OK(chatcrypt_retry_message_reason(decoded, &reason));
    CHECK_OK(chatcrypt_retry_message_prekey_id(decoded, &pk));
    CHECK_OK(chatcrypt_retry_message_timestamp(decoded, &ts));
    /* Alice's messages still carry the handshake: a failed handshake. */
    CHECK(reason == CHATCRYPT_RETRY_HANDSHAKE_FAILED && pk == 0 && ts == NOW, "retry %u %u %llu", reason, pk,
          (unsigned long long)ts);
    bytes_t author, recipient, digest;
    GET_BYTES(author, chatcrypt_retry_message_author, decoded);
    GET_BYTES(recipient, chatcrypt_retry_message_recipient, decoded);
    GET_BYTES(digest, chatcrypt_retry_message_message_digest, decoded);
    CHECK(bytes_eq(&author, b_key.data, b_key.len) && bytes_eq(&recipient, a_key.data, a_key.len),
          "retry author and recipient");
    CHECK(digest.len == CHATCRYPT_MESSAGE_DIGEST_LEN, "digest length %zu", digest.len);
    /* A replay of the first: DUPLICATE, no prekey. */
    CHECK_RC(rec_decrypt(p.b_rec, p.bob.devices[0], p.b_peer, &first, NULL, rng, NULL), CHATCRYPT_ERR_DUPLICATE);
    /* Alice's record: the tampered copy is not what she sent, so ignored... */
    uint32_t outcome = 9;
    CHECK_OK(chatcrypt_session_record_handle_retry(p.a_rec, p.alice.devices[0], p.a_peer, decoded, &outcome));
    CHECK(outcome == CHATCRYPT_RETRY_IGNORED, "outcome %u", outcome);
    /* ...but a retry for her genuine message starts a new session. */
    second.data[second.len - 1] ^= 1;
    ChatcryptRetryMessage *genuine = retry_for(p.bob.devices[0], &a_key, &second, CHATCRYPT_ERR_AUTH, 0);
    CHECK_OK(chatcrypt_session_record_handle_retry(p.a_rec, p.alice.devices[0], p.a_peer, genuine, &outcome));
    CHECK(outcome == CHATCRYPT_RETRY_START_NEW_SESSION, "outcome %u", outcome);
    size_t archived = 0;
    int needs = 0;
    CHECK_OK(chatcrypt_session_record_archived_count(p.a_rec, &archived));
    CHECK_OK(chatcrypt_session_record_needs_new_session(p.a_rec, NOW, &needs));
    CHECK(archived == 1 && needs == 1, "archived %zu, needs %d", archived, needs);
    uint8_t buf[512];
    size_t n = 0;
    CHECK_RC(chatcrypt_session_record_encrypt(p.a_rec, p.a_peer, MSG("three"), NOW, rng, buf, sizeof buf, &n),
             CHATCRYPT_ERR_NO_SESSION);
    size_t len = 0;
    CHECK_RC(chatcrypt_session_record_encrypted_len(p.a_rec, 5, 0, 0, &len), CHATCRYPT_ERR_NO_SESSION);

    /* An unknown prekey: the server hands out one-time prekey 0 again. The
     * id the error names is read after the call, and gives the retry. */
    uint32_t spk_id = 0, opk_id = 0, kem_id = 0;
    int has_opk = 0, has_kem = 0;
    CHECK_OK(chatcrypt_bundle_prekey_ids(p.bundle, &spk_id, &has_opk, &opk_id, &has_kem, &kem_id));
    CHECK(has_opk == 1, "the bundle has a one-time prekey");
    ChatcryptSessionRecord *again = NULL, *fresh = NULL;
    CHECK_OK(chatcrypt_session_record_new(1, &again));
    CHECK_OK(chatcrypt_session_record_initiate(again, p.alice.devices[0], p.a_peer, p.bundle, NULL, NOW, rng));
    bytes_t stale = rec_encrypt(again, p.a_peer, "stale", rng);
    CHECK_OK(chatcrypt_session_record_new(1, &fresh));
    rc = rec_decrypt(fresh, p.bob.devices[0], p.b_peer, &stale, NULL, rng, NULL);
    CHECK_RC(rc, CHATCRYPT_ERR_UNKNOWN_PREKEY);
    CHECK_OK(chatcrypt_last_error_prekey_id(&has, &id));
    CHECK(has == 1 && id == opk_id, "UNKNOWN_PREKEY names prekey %u (want %u)", id, opk_id);
    ChatcryptRetryMessage *r2 = retry_for(p.bob.devices[0], &a_key, &stale, rc, id);
    CHECK(r2 != NULL, "an unknown prekey calls for a retry");
    if (r2) {
        CHECK_OK(chatcrypt_retry_message_reason(r2, &reason));
        CHECK_OK(chatcrypt_retry_message_prekey_id(r2, &pk));
        CHECK(reason == CHATCRYPT_RETRY_UNKNOWN_PREKEY && pk == opk_id, "retry reason %u, prekey %u", reason, pk);
    }
    /* A later success clears nothing, a later other error clears the id. */
    CHECK_RC(rec_decrypt(p.b_rec, p.bob.devices[0], p.b_peer, &first, NULL, rng, NULL), CHATCRYPT_ERR_DUPLICATE);
    CHECK_OK(chatcrypt_last_error_prekey_id(&has, &id));
    CHECK(has == 0 && id == 0, "the id belongs to the last error only");

    bytes_free(&first);
    bytes_free(&second);
    bytes_free(&stale);
    bytes_free(&a_key);
    bytes_free(&b_key);
    bytes_free(&wire);
    bytes_free(&author);
    bytes_free(&recipient);
    bytes_free(&digest);
    chatcrypt_retry_message_free(retry);
    chatcrypt_retry_message_free(decoded);
    chatcrypt_retry_message_free(genuine);
    chatcrypt_retry_message_free(r2);
    chatcrypt_session_record_free(again);
    chatcrypt_session_record_free(fresh);
    free_pair(&p);
}

static size_t ids_of(int (*getter)(const ChatcryptDeviceListUpdate *, uint32_t *, size_t, size_t *),
                     const ChatcryptDeviceListUpdate *u, uint32_t *ids) {
    size_t n = 0;
    CHECK_OK(getter(u, ids, CHATCRYPT_MAX_DEVICES, &n));
    return n;
}

static uint32_t update_change(ChatcryptPeerAccount *peer, const ChatcryptDeviceList *list, int want_rc) {
    ChatcryptDeviceListUpdate *u = NULL;
    uint32_t change = 99;
    CHECK_RC(chatcrypt_peer_account_update_device_list(peer, list, &u), want_rc);
    if (u) CHECK_OK(chatcrypt_device_list_update_change(u, &change));
    chatcrypt_device_list_update_free(u);
    return change;
}

static void device_list_changes_and_account_key_changes(ChatcryptRng *rng) {
    pair_t p = make_pair(rng);
    /* Bob adds a device: epoch 2. */
    p.bob.devices[2] = make_device(p.bob.account, 3, rng);
    p.bob.n = 3;
    ChatcryptDeviceList *l2 = user_list(&p.bob, 2), *l1 = user_list(&p.bob, 1);
    ChatcryptDeviceListUpdate *u = NULL;
    CHECK_OK(chatcrypt_peer_account_update_device_list(p.a_peer, l2, &u));
    uint32_t change = 99, ids[CHATCRYPT_MAX_DEVICES];
    CHECK_OK(chatcrypt_device_list_update_change(u, &change));
    CHECK(change == CHATCRYPT_DEVICE_LIST_UPDATED, "change %u", change);
    size_t n = ids_of(chatcrypt_device_list_update_added, u, ids);
    CHECK(n == 1 && ids[0] == 3, "added %zu: %u", n, ids[0]);
    CHECK(ids_of(chatcrypt_device_list_update_removed, u, ids) == 0, "none removed");
    CHECK(ids_of(chatcrypt_device_list_update_reinstalled, u, ids) == 0, "none reinstalled");
    chatcrypt_device_list_update_free(u);
    ChatcryptDeviceList *held = NULL;
    CHECK_OK(chatcrypt_peer_account_device_list(p.a_peer, &held));
    CHECK_OK(chatcrypt_device_list_devices(held, ids, CHATCRYPT_MAX_DEVICES, &n));
    CHECK(n == 3 && ids[0] == 1 && ids[1] == 2 && ids[2] == 3, "devices now 1, 2, 3");
    chatcrypt_device_list_free(held);
    CHECK(update_change(p.a_peer, l2, CHATCRYPT_OK) == CHATCRYPT_DEVICE_LIST_UNCHANGED, "the same list again");
    /* A rollback is refused. */
    update_change(p.a_peer, l1, CHATCRYPT_ERR_DEVICE_LIST_ROLLBACK);
    /* A new account key: pending, every device refused until the decision. */
    user_t other = make_user("bob", 1, rng);
    ChatcryptDeviceList *ol = user_list(&other, 1);
    CHECK(update_change(p.a_peer, ol, CHATCRYPT_OK) == CHATCRYPT_DEVICE_LIST_ACCOUNT_KEY_CHANGED, "a new account key");
    int pending = 0;
    uint8_t pk[32];
    size_t pk_len = 0;
    CHECK_OK(chatcrypt_peer_account_pending_account_key(p.a_peer, &pending, pk, sizeof pk, &pk_len));
    bytes_t ok_key = account_key(other.account), old_key = account_key(p.bob.account);
    CHECK(pending == 1 && bytes_eq(&ok_key, pk, pk_len), "the pending key is the new account's");
    /* The capacity is checked first: a buffer that holds the message. */
    uint8_t buf[4096];
    CHECK_RC(chatcrypt_session_record_encrypt(p.a_rec, p.a_peer, MSG("x"), NOW, rng, buf, sizeof buf, &n),
             CHATCRYPT_ERR_ACCOUNT_KEY_CHANGED);
    CHECK_RC(chatcrypt_peer_account_mark_verified(p.a_peer), CHATCRYPT_ERR_ACCOUNT_KEY_CHANGED);
    /* Rejecting, on a copy through the stored form. */
    bytes_t pb;
    GET_BYTES(pb, chatcrypt_peer_account_to_bytes, p.a_peer);
    ChatcryptPeerAccount *rejected = NULL;
    CHECK_OK(chatcrypt_peer_account_from_bytes(pb.data, pb.len, &rejected));
    CHECK_OK(chatcrypt_peer_account_reject_account_key_change(rejected));
    CHECK_RC(chatcrypt_peer_account_reject_account_key_change(rejected), CHATCRYPT_ERR_NO_PENDING_CHANGE);
    uint8_t none_key[32];
    size_t none_len = 9;
    CHECK_OK(chatcrypt_peer_account_pending_account_key(rejected, &pending, none_key, sizeof none_key, &none_len));
    CHECK(pending == 0 && none_len == 0, "nothing pending after the rejection");
    CHECK_RC(chatcrypt_peer_account_accept_account_key_change(p.a_peer, old_key.data, old_key.len),
             CHATCRYPT_ERR_ACCOUNT_KEY_CHANGED);
    CHECK_OK(chatcrypt_peer_account_accept_account_key_change(p.a_peer, pk, pk_len));
    uint32_t level = 9;
    CHECK_OK(chatcrypt_peer_account_trust_level(p.a_peer, &level));
    CHECK(level == CHATCRYPT_TRUST_ON_FIRST_USE, "trust level %u", level);
    /* The old session's device is now listed with another identity key. */
    CHECK_RC(chatcrypt_session_record_encrypt(p.a_rec, p.a_peer, MSG("x"), NOW, rng, buf, sizeof buf, &n),
             CHATCRYPT_ERR_WRONG_IDENTITY);
    CHECK_OK(chatcrypt_peer_account_mark_verified(p.a_peer));
    CHECK_OK(chatcrypt_peer_account_trust_level(p.a_peer, &level));
    CHECK(level == CHATCRYPT_TRUST_VERIFIED, "trust level %u", level);
    /* Verified first contact needs the list's key. */
    ChatcryptPeerAccount *v = NULL;
    bytes_t ak = account_key(p.alice.account);
    CHECK_RC(chatcrypt_peer_account_verified(MSG("bob"), ak.data, ak.len, l2, &v), CHATCRYPT_ERR_ACCOUNT_KEY_CHANGED);
    CHECK(v == NULL, "no peer on error");
    CHECK_OK(chatcrypt_peer_account_verified(MSG("bob"), old_key.data, old_key.len, l2, &v));
    /* Links and keys of the wrong length; a user id too long. */
    ChatcryptDeviceLink *link = NULL;
    uint8_t zeros[256] = {0};
    CHECK_RC(chatcrypt_device_link_from_bytes(zeros, 99, &link), CHATCRYPT_ERR_DECODE_TRUNCATED);
    ChatcryptDeviceCertificate *cert = NULL;
    CHECK_RC(chatcrypt_account_certify(p.alice.account, 1, zeros, 31, &cert), CHATCRYPT_ERR_INVALID_ARGUMENT);
    ChatcryptPeerAccount *too_long = NULL;
    memset(zeros, 'x', sizeof zeros);
    CHECK_RC(chatcrypt_peer_account_trust_on_first_use(zeros, 256, l2, &too_long), CHATCRYPT_ERR_TOO_LARGE);
    /* A link made from an identity key pair, for an account. */
    ChatcryptIdentity *id = NULL;
    CHECK_OK(chatcrypt_local_device_identity(p.bob.devices[0], &id));
    CHECK_OK(chatcrypt_device_link_new(id, old_key.data, old_key.len, 1, &link));
    uint32_t dev = 0;
    CHECK_OK(chatcrypt_device_link_device(link, &dev));
    bytes_t lk, dk = device_key(p.bob.devices[0]);
    GET_BYTES(lk, chatcrypt_device_link_identity_key, link);
    CHECK(dev == 1 && bytes_eq(&lk, dk.data, dk.len), "link device and key");

    bytes_free(&ok_key);
    bytes_free(&old_key);
    bytes_free(&pb);
    bytes_free(&ak);
    bytes_free(&lk);
    bytes_free(&dk);
    chatcrypt_identity_free(id);
    chatcrypt_device_link_free(link);
    chatcrypt_peer_account_free(v);
    chatcrypt_peer_account_free(rejected);
    chatcrypt_device_list_free(l1);
    chatcrypt_device_list_free(l2);
    chatcrypt_device_list_free(ol);
    free_user(&other);
    free_pair(&p);
}

static void padding_policies(void) {
    CHECK_OK(chatcrypt_padding_check(CHATCRYPT_PADDING_DEFAULT_KIND, CHATCRYPT_PADDING_DEFAULT_PARAM));
    CHECK(CHATCRYPT_PADDING_DEFAULT_KIND == CHATCRYPT_PADDING_PADME && CHATCRYPT_PADDING_DEFAULT_PARAM == 160,
          "the default is Padme 160");
    CHECK_RC(chatcrypt_padding_check(CHATCRYPT_PADDING_BLOCKS, 0), CHATCRYPT_ERR_INVALID_ARGUMENT);
    CHECK_RC(chatcrypt_padding_check(CHATCRYPT_PADDING_NONE, 5), CHATCRYPT_ERR_INVALID_ARGUMENT);
    CHECK_RC(chatcrypt_padding_check(3, 0), CHATCRYPT_ERR_INVALID_ARGUMENT);
    CHECK_RC(chatcrypt_padding_check(CHATCRYPT_PADDING_PADME, 65536), CHATCRYPT_ERR_INVALID_ARGUMENT);
    size_t n = 0;
    CHECK_OK(chatcrypt_padding_padded_len(CHATCRYPT_PADDING_BLOCKS, 16, 13, &n));
    CHECK(n == 32, "padded length %zu", n);
    CHECK_OK(chatcrypt_padding_padded_len(CHATCRYPT_PADDING_DEFAULT_KIND, CHATCRYPT_PADDING_DEFAULT_PARAM, 1, &n));
    CHECK(n == 160, "default padded length of 1 byte: %zu", n);
    uint8_t padded[64], small[8], content[64];
    size_t len = 0;
    CHECK_RC(chatcrypt_pad(CHATCRYPT_PADDING_BLOCKS, 16, MSG("thirteen byte"), CHATCRYPT_MAX_PLAINTEXT_LEN, small,
                           sizeof small, &len),
             CHATCRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK(len == 32, "needed %zu", len);
    CHECK_OK(chatcrypt_pad(CHATCRYPT_PADDING_BLOCKS, 16, MSG("thirteen byte"), CHATCRYPT_MAX_PLAINTEXT_LEN, padded,
                           sizeof padded, &len));
    CHECK(len == 32, "padded %zu", len);
    /* kind || u16 param || content || 0x80 || zeros (SPEC.md §26). */
    CHECK(padded[0] == 1 && padded[1] == 0 && padded[2] == 16 && padded[16] == 0x80 && padded[31] == 0,
          "the padding's bytes");
    CHECK_OK(chatcrypt_unpad(padded, 32, content, sizeof content, &n));
    CHECK(n == 13 && memcmp(content, "thirteen byte", 13) == 0, "unpadded %zu", n);
    CHECK_RC(chatcrypt_unpad(padded, 32, content, 31, &n), CHATCRYPT_ERR_BUFFER_TOO_SMALL);
    CHECK_RC(chatcrypt_unpad(padded, 32, padded + 1, 40, &n), CHATCRYPT_ERR_INVALID_ARGUMENT);
    padded[31] = 1;
    CHECK_RC(chatcrypt_unpad(padded, 32, content, sizeof content, &n), CHATCRYPT_ERR_PADDING);
    uint8_t forty[40] = {0};
    CHECK_RC(chatcrypt_pad(CHATCRYPT_PADDING_BLOCKS, 16, forty, sizeof forty, 32, padded, sizeof padded, &len),
             CHATCRYPT_ERR_TOO_LARGE);
}

static void a_generator_that_runs_dry_changes_nothing(ChatcryptRng *rng) {
    pair_t p = make_pair(rng);
    bytes_t first = rec_encrypt(p.a_rec, p.a_peer, "hello", rng);
    /* Accepting the first message draws 32 bytes after it has consumed the
     * prekeys; with fewer, the record and the device are as they were. */
    bytes_t rec_before = stored_record(p.b_rec), dev_before = stored_device(p.bob.devices[0]);
    uint8_t ones[32];
    memset(ones, 1, sizeof ones);
    ChatcryptRng *dry = NULL, *exact = NULL;
    CHECK_OK(chatcrypt_rng_scripted(ones, 31, &dry));
    CHECK_RC(rec_decrypt(p.b_rec, p.bob.devices[0], p.b_peer, &first, NULL, dry, NULL), CHATCRYPT_ERR_RNG_EXHAUSTED);
    bytes_t rec_after = stored_record(p.b_rec), dev_after = stored_device(p.bob.devices[0]);
    CHECK(bytes_eq(&rec_after, rec_before.data, rec_before.len), "the record is as it was");
    CHECK(bytes_eq(&dev_after, dev_before.data, dev_before.len), "the device (prekeys included) is as it was");
    CHECK_OK(chatcrypt_rng_scripted(ones, 32, &exact));
    int new_session = -1;
    CHECK_OK(rec_decrypt(p.b_rec, p.bob.devices[0], p.b_peer, &first, "hello", exact, &new_session));
    size_t left = 9;
    CHECK_OK(chatcrypt_rng_remaining(exact, &left));
    CHECK(left == 0 && new_session == 1, "the accept drew exactly 32 bytes (%zu left)", left);
    /* Encrypting draws 16; with 15 nothing changes. */
    bytes_free(&rec_before);
    bytes_free(&rec_after);
    rec_before = stored_record(p.b_rec);
    ChatcryptRng *dry15 = NULL;
    CHECK_OK(chatcrypt_rng_scripted(ones, 15, &dry15));
    uint8_t buf[512];
    size_t n = 0;
    CHECK_RC(chatcrypt_session_record_encrypt(p.b_rec, p.b_peer, MSG("r"), NOW, dry15, buf, sizeof buf, &n),
             CHATCRYPT_ERR_RNG_EXHAUSTED);
    rec_after = stored_record(p.b_rec);
    CHECK(bytes_eq(&rec_after, rec_before.data, rec_before.len), "encrypt: the record is as it was");
    /* Replenishing draws too: 100 bytes are not enough for 100 + 20 keys. */
    bytes_free(&dev_before);
    bytes_free(&dev_after);
    ChatcryptPreKeyUpload *up = user_upload(&p.bob, 0);
    dev_before = stored_device(p.bob.devices[0]);
    uint8_t threes[100];
    memset(threes, 3, sizeof threes);
    ChatcryptRng *dry100 = NULL;
    CHECK_OK(chatcrypt_rng_scripted(threes, sizeof threes, &dry100));
    uint32_t mx = 9, mk = 9;
    CHECK_RC(chatcrypt_local_device_replenish(p.bob.devices[0], 0, 0, dry100, &mx, &mk), CHATCRYPT_ERR_RNG_EXHAUSTED);
    CHECK(mx == 0 && mk == 0, "nothing made");
    dev_after = stored_device(p.bob.devices[0]);
    CHECK(bytes_eq(&dev_after, dev_before.data, dev_before.len), "replenish: the device is as it was");
    CHECK_OK(chatcrypt_local_device_replenish(p.bob.devices[0], 0, 0, rng, &mx, &mk));
    CHECK(mx == 100 && mk == 20, "replenished %u, %u", mx, mk);

    bytes_free(&first);
    bytes_free(&rec_before);
    bytes_free(&rec_after);
    bytes_free(&dev_before);
    bytes_free(&dev_after);
    chatcrypt_prekey_upload_free(up);
    chatcrypt_rng_free(dry);
    chatcrypt_rng_free(exact);
    chatcrypt_rng_free(dry15);
    chatcrypt_rng_free(dry100);
    free_pair(&p);
}

int main(void) {
    ChatcryptRng *rng = NULL;
    CHECK_OK(chatcrypt_rng_os(&rng));
    a_conversation_between_two_users(rng);
    upload_needs_the_persisted_form(rng);
    sealed_sender_through_records(rng);
    a_failed_message_brings_a_retry_and_a_new_session(rng);
    device_list_changes_and_account_key_changes(rng);
    padding_policies();
    a_generator_that_runs_dry_changes_nothing(rng);
    chatcrypt_rng_free(rng);
    return finish("messenger");
}
