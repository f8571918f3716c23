/* The cross-language vector runner of the C binding: replays
 * test-vectors/protocol/session.json (every case, every event) and
 * reject.json (every case, with its error) through the C API only, with
 * scripted generators holding the vectors' rng_draws.
 *
 * vectors_to_lines.py converts the JSON into session.txt / reject.txt (same
 * bytes, one record per line). Usage: vectors <dir with the two files>.
 *
 * session.txt: messages compared byte for byte with the vector's, every
 * plaintext and message id, the bundle built from the keys equal to the
 * vector's, every draw used; in addition every session is stored and
 * restored after every event and the replay goes on from the restored one.
 * reject.txt: the error code and its detail (the Debug form of
 * chatcrypt::Error, as in the file), the draws taken, and for decrypt
 * cases the session's stored form unchanged. */

#include "common.h"

#define MAX_TOKENS 12
/* The totals the files hold, pinned: a file that lost (or gained) a case
 * or an event fails the runner instead of replaying less than it should.
 * Change these only together with the files (and the other bindings'
 * runners, which pin the same numbers). */
#define SESSION_CASES 7
#define SESSION_EVENTS 164
#define REJECT_CASES 99
#define MAX_SENT 256

/* Splits `line` at spaces into at most `max` tokens; the last one keeps
 * the rest of the line (descriptions). Returns the number of tokens. */
static int split(char *line, char **tok, int max) {
    int n = 0;
    char *p = line;
    while (*p && n < max) {
        while (*p == ' ') p++;
        if (!*p) break;
        tok[n++] = p;
        if (n == max) break;
        char *sp = strchr(p, ' ');
        if (!sp) break;
        *sp = 0;
        p = sp + 1;
    }
    return n;
}

/* How many tokens a record has at most: the last one of `case`, `desc`
 * and `expect` is free text. */
static int max_tokens(const char *line) {
    if (strncmp(line, "case ", 5) == 0) return 4;
    if (strncmp(line, "desc ", 5) == 0) return 2;
    if (strncmp(line, "expect ", 7) == 0) return 4;
    return MAX_TOKENS;
}

static char *read_line(FILE *f, char **buf, size_t *cap) {
    ssize_t n = getline(buf, cap, f);
    if (n < 0) return NULL;
    while (n > 0 && ((*buf)[n - 1] == '\n' || (*buf)[n - 1] == '\r')) (*buf)[--n] = 0;
    return *buf;
}

static int error_code_by_name(const char *name) {
    for (int c = -1; c >= -100; c--)
        if (strcmp(chatcrypt_error_name(c), name) == 0) return c;
    return 1; /* no such code: never equal to a return value */
}

static void last_detail(char *buf, size_t cap) {
    size_t len = 0;
    if (chatcrypt_last_error_detail(buf, cap, &len) != CHATCRYPT_OK) snprintf(buf, cap, "(detail too long)");
}

/* Stores and restores a session, checking the stored form survives. */
static void persist_round_trip(ChatcryptSession **s, const char *what) {
    bytes_t stored, again;
    size_t announced = 0;
    CHECK_OK(chatcrypt_session_encoded_len(*s, &announced));
    GET_BYTES(stored, chatcrypt_session_to_bytes, *s);
    CHECK(stored.len == announced, "%s: encoded_len %zu, to_bytes %zu", what, announced, stored.len);
    ChatcryptSession *restored = NULL;
    CHECK_OK(chatcrypt_session_from_bytes(stored.data, stored.len, &restored));
    if (restored) {
        GET_BYTES(again, chatcrypt_session_to_bytes, restored);
        CHECK(bytes_eq(&again, stored.data, stored.len), "%s: restored session re-encodes differently", what);
        bytes_free(&again);
        chatcrypt_session_free(*s);
        *s = restored;
    }
    bytes_free(&stored);
}

/* ---- session.json ---- */

typedef struct {
    int used;
    bytes_t message;
} sent_t;

static void run_session(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) die("cannot open session.txt");
    char *buf = NULL, *tok[MAX_TOKENS];
    size_t cap = 0;
    int cases = 0, events = 0;
    int mode = 0, hybrid = 0;
    char what[512] = "";
    ChatcryptRng *rng_a = NULL, *rng_b = NULL;
    ChatcryptIdentity *alice = NULL, *bob = NULL;
    ChatcryptSignedPreKey *spk = NULL;
    ChatcryptOneTimePreKey *opk = NULL;
    ChatcryptKemPreKey *kem = NULL;
    ChatcryptBundle *bundle = NULL;
    ChatcryptSession *sa = NULL, *sb = NULL;
    sent_t sent[MAX_SENT];
    memset(sent, 0, sizeof sent);

    while (read_line(f, &buf, &cap)) {
        int n = split(buf, tok, max_tokens(buf));
        if (n == 0) continue;
        const char *k = tok[0];
        if (strcmp(k, "case") == 0 && n == 4) {
            mode = atoi(tok[1]);
            hybrid = atoi(tok[2]);
            snprintf(what, sizeof what, "%s", tok[3]);
        } else if (strcmp(k, "alice") == 0 && n == 3) {
            bytes_t seed = unhex(tok[1]), draws = unhex(tok[2]);
            CHECK_OK(chatcrypt_identity_from_seed(seed.data, seed.len, &alice));
            CHECK_OK(chatcrypt_rng_scripted(draws.data, draws.len, &rng_a));
            bytes_free(&seed);
            bytes_free(&draws);
        } else if (strcmp(k, "bob") == 0 && n == 4) {
            bytes_t seed = unhex(tok[1]), pub = unhex(tok[2]), draws = unhex(tok[3]), mine;
            CHECK_OK(chatcrypt_identity_from_seed(seed.data, seed.len, &bob));
            GET_BYTES(mine, chatcrypt_identity_public_key, bob);
            CHECK(bytes_eq(&pub, mine.data, mine.len), "%s: Bob's public key", what);
            CHECK_OK(chatcrypt_rng_scripted(draws.data, draws.len, &rng_b));
            bytes_free(&seed);
            bytes_free(&pub);
            bytes_free(&draws);
            bytes_free(&mine);
        } else if (strcmp(k, "spk") == 0 && n == 4) {
            bytes_t stored = unhex(tok[1]), pub = unhex(tok[2]), sig = unhex(tok[3]), got;
            CHECK_OK(chatcrypt_signed_prekey_from_bytes(stored.data, stored.len, &spk));
            GET_BYTES(got, chatcrypt_signed_prekey_public_key, spk);
            CHECK(bytes_eq(&pub, got.data, got.len), "%s: signed prekey public", what);
            bytes_free(&got);
            GET_BYTES(got, chatcrypt_signed_prekey_signature, spk);
            CHECK(bytes_eq(&sig, got.data, got.len), "%s: signed prekey signature", what);
            bytes_free(&got);
            GET_BYTES(got, chatcrypt_signed_prekey_to_bytes, spk);
            CHECK(bytes_eq(&stored, got.data, got.len), "%s: signed prekey stored form", what);
            bytes_free(&got);
            bytes_free(&stored);
            bytes_free(&pub);
            bytes_free(&sig);
        } else if (strcmp(k, "opk") == 0 && n == 3) {
            if (strcmp(tok[1], "-") != 0) {
                bytes_t stored = unhex(tok[1]), pub = unhex(tok[2]), got;
                CHECK_OK(chatcrypt_one_time_prekey_from_bytes(stored.data, stored.len, &opk));
                GET_BYTES(got, chatcrypt_one_time_prekey_public_key, opk);
                CHECK(bytes_eq(&pub, got.data, got.len), "%s: one-time prekey public", what);
                bytes_free(&got);
                bytes_free(&stored);
                bytes_free(&pub);
            }
        } else if (strcmp(k, "kem") == 0 && n == 3) {
            CHECK((strcmp(tok[1], "-") != 0) == hybrid, "%s: a KEM prekey iff hybrid", what);
            if (strcmp(tok[1], "-") != 0) {
                bytes_t stored = unhex(tok[1]), pub = unhex(tok[2]), got;
                CHECK_OK(chatcrypt_kem_prekey_from_bytes(stored.data, stored.len, &kem));
                GET_BYTES(got, chatcrypt_kem_prekey_public, kem);
                CHECK(got.len == CHATCRYPT_KEM_PREKEY_PUBLIC_LEN, "%s: KEM public length", what);
                CHECK(bytes_eq(&pub, got.data, got.len), "%s: KEM prekey public encoding", what);
                bytes_free(&got);
                bytes_free(&stored);
                bytes_free(&pub);
            }
        } else if (strcmp(k, "bundle") == 0 && n == 2) {
            bytes_t want = unhex(tok[1]), got;
            ChatcryptBundle *mine = NULL;
            CHECK_OK(chatcrypt_bundle_new(bob, spk, opk, kem, &mine));
            GET_BYTES(got, chatcrypt_bundle_to_bytes, mine);
            CHECK(bytes_eq(&want, got.data, got.len), "%s: the bundle of the vector's keys", what);
            bytes_free(&got);
            chatcrypt_bundle_free(mine);
            CHECK_OK(chatcrypt_bundle_from_bytes(want.data, want.len, &bundle));
            CHECK_OK(chatcrypt_bundle_verify(bundle));
            GET_BYTES(got, chatcrypt_bundle_to_bytes, bundle);
            CHECK(bytes_eq(&want, got.data, got.len), "%s: bundle re-encodes", what);
            bytes_free(&got);
            bytes_free(&want);
        } else if (strcmp(k, "send") == 0 && n == 5) {
            int from_alice = tok[1][0] == 'a';
            int id = atoi(tok[2]);
            bytes_t pt = unhex(tok[3]), want = unhex(tok[4]);
            char at[600];
            snprintf(at, sizeof at, "%s: event %d (send %d)", what, events, id);
            if (from_alice && !sa) {
                uint32_t pq = hybrid ? CHATCRYPT_PQ_REQUIRED : CHATCRYPT_PQ_ALLOW_CLASSICAL;
                CHECK_OK(chatcrypt_session_initiate(alice, bundle, (uint32_t)mode, pq, rng_a, &sa));
                int pqs = -1;
                uint32_t m = 9;
                CHECK_OK(chatcrypt_session_info(sa, &m, NULL, NULL, &pqs, NULL));
                CHECK(pqs == hybrid && m == (uint32_t)mode, "%s: Alice's session kind", at);
            }
            ChatcryptSession *s = from_alice ? sa : sb;
            ChatcryptRng *rng = from_alice ? rng_a : rng_b;
            size_t elen = 0, mlen = 0;
            CHECK_OK(chatcrypt_session_encrypted_len(s, pt.len, &elen));
            CHECK(elen == want.len, "%s: encrypted_len %zu, vector %zu", at, elen, want.len);
            uint8_t *msg = xmalloc(elen);
            CHECK_OK(chatcrypt_session_encrypt(s, rng, pt.data, pt.len, msg, elen, &mlen));
            CHECK(bytes_eq(&want, msg, mlen), "%s: message differs from the vector", at);
            free(msg);
            if (id < 0 || id >= MAX_SENT || sent[id].used) die("bad or repeated message id in session.txt");
            sent[id].used = 1;
            sent[id].message = want;
            persist_round_trip(from_alice ? &sa : &sb, at);
            bytes_free(&pt);
            events++;
        } else if (strcmp(k, "deliver") == 0 && n == 5) {
            int to_alice = tok[1][0] == 'a';
            int id = atoi(tok[2]);
            bytes_t pt = unhex(tok[3]), want_id = unhex(tok[4]);
            char at[600];
            snprintf(at, sizeof at, "%s: event %d (deliver %d)", what, events, id);
            if (id < 0 || id >= MAX_SENT || !sent[id].used) die("delivered before sent");
            bytes_t *m = &sent[id].message;
            uint8_t mid[CHATCRYPT_MESSAGE_ID_LEN];
            uint8_t *out = xmalloc(m->len);
            size_t out_len = 0;
            if (!to_alice && !sb) {
                /* Bob accepts on the first message he receives. */
                ChatcryptPreKeyMessage *pkm = NULL;
                uint32_t type = 0;
                CHECK_OK(chatcrypt_message_type(m->data, m->len, &type));
                CHECK(type == CHATCRYPT_MESSAGE_TYPE_PREKEY, "%s: the first message is a PreKeyMessage", at);
                CHECK_OK(chatcrypt_prekey_message_from_bytes(m->data, m->len, &pkm));
                uint32_t spk_id = 0, opk_id = 0, kem_id = 0, want_spk = 0, pkm_mode = 9;
                int has_opk = -1, has_kem = -1, pq = -1;
                CHECK_OK(chatcrypt_prekey_message_prekey_ids(pkm, &spk_id, &has_opk, &opk_id, &has_kem, &kem_id));
                CHECK_OK(chatcrypt_signed_prekey_id(spk, &want_spk));
                CHECK(spk_id == want_spk, "%s: signed prekey id", at);
                CHECK(has_kem == hybrid, "%s: KEM part", at);
                CHECK_OK(chatcrypt_prekey_message_kind(pkm, &pkm_mode, &pq));
                CHECK(pkm_mode == (uint32_t)mode && pq == hybrid, "%s: PreKeyMessage mode/pq", at);
                bytes_t sender, alice_pub;
                GET_BYTES(sender, chatcrypt_prekey_message_sender_identity, pkm);
                GET_BYTES(alice_pub, chatcrypt_identity_public_key, alice);
                CHECK(bytes_eq(&sender, alice_pub.data, alice_pub.len), "%s: sender identity", at);
                bytes_free(&sender);
                bytes_free(&alice_pub);
                uint32_t pq_policy = hybrid ? CHATCRYPT_PQ_REQUIRED : CHATCRYPT_PQ_ALLOW_CLASSICAL;
                CHECK_OK(chatcrypt_session_accept(bob, spk, has_opk ? opk : NULL, kem, 1, pkm,
                                                  CHATCRYPT_MODE_POLICY_ANY, pq_policy, rng_b, &sb, out, m->len,
                                                  &out_len, mid, sizeof mid));
                if (has_opk && opk) {
                    int consumed = -1;
                    CHECK_OK(chatcrypt_one_time_prekey_is_consumed(opk, &consumed));
                    CHECK(consumed == 1, "%s: the one-time prekey is consumed", at);
                }
                if (kem) {
                    int consumed = -1;
                    CHECK_OK(chatcrypt_kem_prekey_is_consumed(kem, &consumed));
                    CHECK(consumed == 1, "%s: the one-time KEM prekey is consumed", at);
                }
                chatcrypt_prekey_message_free(pkm);
            } else {
                ChatcryptSession *s = to_alice ? sa : sb;
                CHECK_OK(chatcrypt_session_decrypt(s, to_alice ? rng_a : rng_b, m->data, m->len, out, m->len,
                                                   &out_len, mid, sizeof mid));
            }
            CHECK(bytes_eq(&pt, out, out_len), "%s: plaintext", at);
            CHECK(bytes_eq(&want_id, mid, sizeof mid), "%s: message id", at);
            if (to_alice ? sa : sb) persist_round_trip(to_alice ? &sa : &sb, at);
            free(out);
            bytes_free(&pt);
            bytes_free(&want_id);
            events++;
        } else if (strcmp(k, "end") == 0 && n == 1) {
            size_t left_a = 99, left_b = 99;
            CHECK_OK(chatcrypt_rng_remaining(rng_a, &left_a));
            CHECK_OK(chatcrypt_rng_remaining(rng_b, &left_b));
            CHECK(left_a == 0 && left_b == 0, "%s: draws left unused (Alice %zu, Bob %zu bytes)", what, left_a,
                  left_b);
            chatcrypt_rng_free(rng_a);
            chatcrypt_rng_free(rng_b);
            chatcrypt_identity_free(alice);
            chatcrypt_identity_free(bob);
            chatcrypt_signed_prekey_free(spk);
            chatcrypt_one_time_prekey_free(opk);
            chatcrypt_kem_prekey_free(kem);
            chatcrypt_bundle_free(bundle);
            chatcrypt_session_free(sa);
            chatcrypt_session_free(sb);
            rng_a = rng_b = NULL;
            alice = bob = NULL;
            spk = NULL;
            opk = NULL;
            kem = NULL;
            bundle = NULL;
            sa = sb = NULL;
            for (int i = 0; i < MAX_SENT; i++)
                if (sent[i].used) {
                    bytes_free(&sent[i].message);
                    sent[i].used = 0;
                }
            cases++;
        } else if (strcmp(k, "count") == 0 && n == 3) {
            CHECK(cases == atoi(tok[1]), "session: %d cases replayed, the file has %s", cases, tok[1]);
            CHECK(events == atoi(tok[2]), "session: %d events replayed, the file has %s", events, tok[2]);
        } else {
            die("malformed line in session.txt");
        }
    }
    free(buf);
    fclose(f);
    CHECK(cases == SESSION_CASES, "session: %d cases replayed, %d pinned", cases, SESSION_CASES);
    CHECK(events == SESSION_EVENTS, "session: %d events replayed, %d pinned", events, SESSION_EVENTS);
    printf("session.json: %d cases, %d events replayed through the C API\n", cases, events);
}

/* ---- reject.json ---- */

static void run_reject(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) die("cannot open reject.txt");
    char *buf = NULL, *tok[MAX_TOKENS];
    size_t cap = 0;
    int cases = 0, rc = 1;
    char what[512] = "";
    bytes_t state = {NULL, 0};
    ChatcryptSession *session = NULL;
    ChatcryptRng *rng = NULL;
    uint8_t draws[64];
    memset(draws, 0x42, 32);
    memset(draws + 32, 0x43, 32);

    while (read_line(f, &buf, &cap)) {
        int n = split(buf, tok, max_tokens(buf));
        if (n == 0) continue;
        const char *k = tok[0];
        if (strcmp(k, "desc") == 0) {
            snprintf(what, sizeof what, "%s", n > 1 ? tok[1] : "");
            chatcrypt_rng_free(rng);
            rng = NULL;
            CHECK_OK(chatcrypt_rng_scripted(draws, sizeof draws, &rng));
        } else if (strcmp(k, "bundle") == 0 && n == 2) {
            bytes_t b = unhex(tok[1]);
            ChatcryptBundle *bundle = NULL;
            rc = chatcrypt_bundle_from_bytes(b.data, b.len, &bundle);
            if (rc == CHATCRYPT_OK) rc = chatcrypt_bundle_verify(bundle);
            chatcrypt_bundle_free(bundle);
            bytes_free(&b);
        } else if (strcmp(k, "initiate") == 0 && n == 4) {
            bytes_t seed = unhex(tok[1]), b = unhex(tok[3]);
            ChatcryptIdentity *id = NULL;
            ChatcryptBundle *bundle = NULL;
            ChatcryptSession *s = NULL;
            CHECK_OK(chatcrypt_identity_from_seed(seed.data, seed.len, &id));
            rc = chatcrypt_bundle_from_bytes(b.data, b.len, &bundle);
            if (rc == CHATCRYPT_OK)
                rc = chatcrypt_session_initiate(id, bundle, CHATCRYPT_MODE_PLAIN, (uint32_t)atoi(tok[2]), rng, &s);
            CHECK(s == NULL, "%s: a failed call leaves its out-handle NULL", what);
            chatcrypt_session_free(s);
            chatcrypt_bundle_free(bundle);
            chatcrypt_identity_free(id);
            bytes_free(&seed);
            bytes_free(&b);
        } else if (strcmp(k, "accept") == 0 && n == 8) {
            bytes_t seed = unhex(tok[1]), spk_b = unhex(tok[2]), opk_b = unhex(tok[3]), kem_b = unhex(tok[4]),
                    m = unhex(tok[7]);
            ChatcryptIdentity *id = NULL;
            ChatcryptSignedPreKey *spk = NULL;
            ChatcryptOneTimePreKey *opk = NULL;
            ChatcryptKemPreKey *kem = NULL;
            ChatcryptPreKeyMessage *pkm = NULL;
            ChatcryptSession *s = NULL;
            CHECK_OK(chatcrypt_identity_from_seed(seed.data, seed.len, &id));
            CHECK_OK(chatcrypt_signed_prekey_from_bytes(spk_b.data, spk_b.len, &spk));
            if (opk_b.len) CHECK_OK(chatcrypt_one_time_prekey_from_bytes(opk_b.data, opk_b.len, &opk));
            if (kem_b.len) CHECK_OK(chatcrypt_kem_prekey_from_bytes(kem_b.data, kem_b.len, &kem));
            rc = chatcrypt_prekey_message_from_bytes(m.data, m.len, &pkm);
            if (rc == CHATCRYPT_OK) {
                uint8_t *pt = xmalloc(m.len);
                size_t pt_len = 0;
                /* The last-resort KEM prekey, as tests/protocol_vectors.rs. */
                rc = chatcrypt_session_accept(id, spk, opk, kem, 0, pkm, (uint32_t)atoi(tok[5]),
                                              (uint32_t)atoi(tok[6]), rng, &s, pt, m.len, &pt_len, NULL, 0);
                free(pt);
                if (opk) {
                    int consumed = -1;
                    CHECK_OK(chatcrypt_one_time_prekey_is_consumed(opk, &consumed));
                    CHECK(consumed == 0, "%s: a failed accept keeps the one-time prekey", what);
                }
            }
            CHECK(s == NULL, "%s: a failed call leaves its out-handle NULL", what);
            chatcrypt_session_free(s);
            chatcrypt_prekey_message_free(pkm);
            chatcrypt_kem_prekey_free(kem);
            chatcrypt_one_time_prekey_free(opk);
            chatcrypt_signed_prekey_free(spk);
            chatcrypt_identity_free(id);
            bytes_free(&seed);
            bytes_free(&spk_b);
            bytes_free(&opk_b);
            bytes_free(&kem_b);
            bytes_free(&m);
        } else if (strcmp(k, "decrypt") == 0 && n == 3) {
            bytes_t m = unhex(tok[2]);
            state = unhex(tok[1]);
            CHECK_OK(chatcrypt_session_from_bytes(state.data, state.len, &session));
            uint8_t *out = xmalloc(m.len);
            size_t out_len = 0;
            rc = chatcrypt_session_decrypt(session, rng, m.data, m.len, out, m.len, &out_len, NULL, 0);
            free(out);
            bytes_free(&m);
        } else if (strcmp(k, "expect") == 0 && n == 4) {
            int want = error_code_by_name(tok[1]);
            size_t consumed = (size_t)atoi(tok[2]), left = 0;
            char detail[512];
            last_detail(detail, sizeof detail);
            CHECK(rc == want, "%s: returned %s (%d), want %s", what, chatcrypt_error_name(rc), rc, tok[1]);
            CHECK(strcmp(detail, tok[3]) == 0, "%s: detail \"%s\", want \"%s\"", what, detail, tok[3]);
            CHECK_OK(chatcrypt_rng_remaining(rng, &left));
            CHECK(left == sizeof draws - consumed, "%s: %zu bytes drawn, want %zu", what, sizeof draws - left,
                  consumed);
            if (session) {
                bytes_t after;
                GET_BYTES(after, chatcrypt_session_to_bytes, session);
                CHECK(bytes_eq(&state, after.data, after.len), "%s: a failed decrypt changed the session", what);
                bytes_free(&after);
                chatcrypt_session_free(session);
                session = NULL;
                bytes_free(&state);
            }
            rc = 1;
            cases++;
        } else if (strcmp(k, "count") == 0 && n == 2) {
            CHECK(cases == atoi(tok[1]), "reject: %d cases replayed, the file has %s", cases, tok[1]);
        } else {
            die("malformed line in reject.txt");
        }
    }
    chatcrypt_rng_free(rng);
    free(buf);
    fclose(f);
    CHECK(cases == REJECT_CASES, "reject: %d cases replayed, %d pinned", cases, REJECT_CASES);
    printf("reject.json: %d cases rejected with the expected code and detail\n", cases);
}

int main(int argc, char **argv) {
    if (argc != 2) die("usage: vectors <dir with session.txt and reject.txt>");
    char path[4096];
    snprintf(path, sizeof path, "%s/session.txt", argv[1]);
    run_session(path);
    snprintf(path, sizeof path, "%s/reject.txt", argv[1]);
    run_reject(path);
    return finish("vectors");
}
