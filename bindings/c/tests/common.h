/* Shared helpers of the C tests: checks that count, hex, buffers. */
#ifndef CHATCRYPT_TEST_COMMON_H
#define CHATCRYPT_TEST_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chatcrypt.h"

static int checks_passed = 0;
static int checks_failed = 0;

/* A check: counts a pass, or prints where it failed and counts a failure. */
#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        if (cond) {                                                           \
            checks_passed++;                                                  \
        } else {                                                              \
            checks_failed++;                                                  \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, \
                    #cond);                                                   \
            fprintf(stderr, __VA_ARGS__);                                     \
            fprintf(stderr, "\n");                                            \
        }                                                                     \
    } while (0)

/* A call that must return `want`; on a mismatch prints both codes' names
 * and the last error's detail. */
#define CHECK_RC(call, want)                                                   \
    do {                                                                       \
        int rc_ = (call);                                                      \
        if (rc_ == (want)) {                                                   \
            checks_passed++;                                                   \
        } else {                                                               \
            checks_failed++;                                                   \
            char detail_[256];                                                 \
            size_t dl_ = 0;                                                    \
            if (chatcrypt_last_error_detail(detail_, sizeof detail_, &dl_) !=  \
                CHATCRYPT_OK)                                                  \
                detail_[0] = 0;                                                \
            fprintf(stderr, "%s:%d: %s returned %s (%d), want %s: %s\n",       \
                    __FILE__, __LINE__, #call, chatcrypt_error_name(rc_), rc_, \
                    chatcrypt_error_name(want), detail_);                      \
        }                                                                      \
    } while (0)

#define CHECK_OK(call) CHECK_RC(call, CHATCRYPT_OK)

/* Fatal: the test cannot go on (an allocation, a malformed vector file). */
static inline void die(const char *what) {
    fprintf(stderr, "fatal: %s\n", what);
    exit(2);
}

static inline void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) die("out of memory");
    return p;
}

/* A byte string owned by the test. */
typedef struct {
    uint8_t *data;
    size_t len;
} bytes_t;

static inline void bytes_free(bytes_t *b) {
    free(b->data);
    b->data = NULL;
    b->len = 0;
}

static inline int bytes_eq(const bytes_t *a, const uint8_t *b, size_t len) {
    return a->len == len && (len == 0 || memcmp(a->data, b, len) == 0);
}

static inline int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes lowercase hex; "-" is the empty string. */
static inline bytes_t unhex(const char *s) {
    bytes_t b = {NULL, 0};
    if (strcmp(s, "-") == 0) {
        b.data = xmalloc(1);
        return b;
    }
    size_t n = strlen(s);
    if (n % 2) die("odd-length hex");
    b.data = xmalloc(n / 2);
    b.len = n / 2;
    for (size_t i = 0; i < b.len; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) die("bad hex");
        b.data[i] = (uint8_t)(hi * 16 + lo);
    }
    return b;
}

/* Runs an output-buffer getter twice, libsodium style: first with no
 * buffer to learn the size (which must report BUFFER_TOO_SMALL unless the
 * output is empty), then into a buffer of exactly that size. */
#define GET_BYTES(result, getter, ...)                                        \
    do {                                                                      \
        size_t need_ = 0;                                                     \
        int rc1_ = getter(__VA_ARGS__, NULL, 0, &need_);                      \
        CHECK(rc1_ == CHATCRYPT_ERR_BUFFER_TOO_SMALL ||                       \
                  (rc1_ == CHATCRYPT_OK && need_ == 0),                       \
              "%s size query: %s", #getter, chatcrypt_error_name(rc1_));      \
        (result).data = xmalloc(need_);                                       \
        (result).len = 0;                                                     \
        CHECK_OK(getter(__VA_ARGS__, (result).data, need_, &(result).len));   \
        CHECK((result).len == need_, "%s length %zu, announced %zu", #getter, \
              (result).len, need_);                                           \
    } while (0)

/* The closing line CI reads: "<name>: N passed, N failed". */
static inline int finish(const char *name) {
    printf("%s: %d passed, %d failed\n", name, checks_passed, checks_failed);
    return checks_failed == 0 ? 0 : 1;
}

#endif
