/* RTMP handshake responder (see rtmp_handshake.h). The digest variant places a 32-byte
 * HMAC-SHA256 inside a 764-byte area of C1/S1 at an offset derived from four bytes of that
 * area; S2 is then signed with a key derived from the client's digest. */
#include "ingest/rtmp_handshake.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>

#include "core/error.h"
#include "ingest/bytes.h"

/* Public protocol constants: the textual key prefixes and the shared 32-byte tail. */
static const char client_text[] = "Genuine Adobe Flash Player 001";
static const char server_text[] = "Genuine Adobe Flash Media Server 001";
static const uint8_t key_tail[32] = {
    0xf0, 0xee, 0xc2, 0x4a, 0x80, 0x68, 0xbe, 0xe8, 0x2e, 0x00, 0xd0, 0xd1, 0x02, 0x9e, 0x7e, 0x57,
    0x6e, 0xec, 0x5d, 0x2d, 0x29, 0x80, 0x6f, 0xab, 0x93, 0xb8, 0xe6, 0x36, 0xcf, 0xeb, 0x31, 0xae,
};

/* Server flash-media version put in S1 for the digest variant (any non-zero value works). */
static const uint8_t server_version[4] = {4, 5, 0, 1};

#define AREA_SIZE 764
#define OFFSET_RANGE (AREA_SIZE - GV_RTMP_HS_DIGEST_SIZE - 4) /* 728 */

static size_t digest_pos(const uint8_t *block, size_t base)
{
    unsigned sum = (unsigned)block[base] + block[base + 1] + block[base + 2] + block[base + 3];
    return base + 4 + sum % OFFSET_RANGE;
}

static void hmac(const uint8_t *key, size_t keylen, const uint8_t *data, size_t len,
                 uint8_t out[GV_RTMP_HS_DIGEST_SIZE])
{
    unsigned outlen = GV_RTMP_HS_DIGEST_SIZE;
    HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &outlen);
}

/* HMAC over the block without the 32 digest bytes at pos, keyed with the short text key. */
static void block_digest(const uint8_t *block, size_t pos, bool server,
                         uint8_t out[GV_RTMP_HS_DIGEST_SIZE])
{
    uint8_t msg[GV_RTMP_HS_SIZE - GV_RTMP_HS_DIGEST_SIZE];
    memcpy(msg, block, pos);
    memcpy(msg + pos, block + pos + GV_RTMP_HS_DIGEST_SIZE,
           GV_RTMP_HS_SIZE - pos - GV_RTMP_HS_DIGEST_SIZE);
    const char *key = server ? server_text : client_text;
    hmac((const uint8_t *)key, strlen(key), msg, sizeof(msg), out);
}

int gv_rtmp_handshake_find_digest(const uint8_t *block, bool server)
{
    static const size_t bases[2] = {772, 8};
    for (int i = 0; i < 2; i++) {
        size_t pos = digest_pos(block, bases[i]);
        uint8_t d[GV_RTMP_HS_DIGEST_SIZE];
        block_digest(block, pos, server, d);
        if (CRYPTO_memcmp(d, block + pos, sizeof(d)) == 0)
            return (int)pos;
    }
    return -1;
}

int gv_rtmp_handshake_imprint(uint8_t *block, size_t base, bool server)
{
    size_t pos = digest_pos(block, base);
    block_digest(block, pos, server, block + pos);
    return (int)pos;
}

/* The S2 signature: HMAC(HMAC(full server key, client digest), S2 without its last 32 bytes). */
static void s2_signature(const uint8_t *s2, const uint8_t *client_digest,
                         uint8_t out[GV_RTMP_HS_DIGEST_SIZE])
{
    uint8_t full[sizeof(server_text) - 1 + sizeof(key_tail)];
    memcpy(full, server_text, sizeof(server_text) - 1);
    memcpy(full + sizeof(server_text) - 1, key_tail, sizeof(key_tail));
    uint8_t key[GV_RTMP_HS_DIGEST_SIZE];
    hmac(full, sizeof(full), client_digest, GV_RTMP_HS_DIGEST_SIZE, key);
    hmac(key, sizeof(key), s2, GV_RTMP_HS_SIZE - GV_RTMP_HS_DIGEST_SIZE, out);
}

bool gv_rtmp_handshake_check_s2(const uint8_t *s2, const uint8_t *c1)
{
    int pos = gv_rtmp_handshake_find_digest(c1, false);
    if (pos < 0)
        return false;
    uint8_t sig[GV_RTMP_HS_DIGEST_SIZE];
    s2_signature(s2, c1 + pos, sig);
    return CRYPTO_memcmp(sig, s2 + GV_RTMP_HS_SIZE - GV_RTMP_HS_DIGEST_SIZE, sizeof(sig)) == 0;
}

int gv_rtmp_handshake_respond(const uint8_t *c0c1, const uint8_t *random, uint32_t uptime_ms,
                              uint8_t *out, bool *digest)
{
    if (c0c1[0] != GV_RTMP_VERSION)
        return c0c1[0] == 6 ? GV_EUNSUPP : GV_EPROTO;
    const uint8_t *c1 = c0c1 + 1;
    uint8_t *s1 = out + 1, *s2 = out + 1 + GV_RTMP_HS_SIZE;
    out[0] = GV_RTMP_VERSION;
    gv_wr_u32be(s1, uptime_ms);
    memcpy(s1 + 8, random, GV_RTMP_HS_SIZE - 8);

    /* Clients that use the digest scheme announce a non-zero version in C1[4..8]. */
    int cpos = -1;
    if (c1[4] | c1[5] | c1[6] | c1[7])
        cpos = gv_rtmp_handshake_find_digest(c1, false);
    if (cpos < 0) {
        memset(s1 + 4, 0, 4);
        memcpy(s2, c1, GV_RTMP_HS_SIZE);
        *digest = false;
        return 0;
    }
    memcpy(s1 + 4, server_version, 4);
    gv_rtmp_handshake_imprint(s1, cpos >= 772 ? 772 : 8, true);
    memcpy(s2, random + GV_RTMP_HS_SIZE, GV_RTMP_HS_SIZE);
    s2_signature(s2, c1 + cpos, s2 + GV_RTMP_HS_SIZE - GV_RTMP_HS_DIGEST_SIZE);
    *digest = true;
    return 0;
}

int gv_rtmp_handshake_check_c2(const uint8_t *c2)
{
    (void)c2;
    return 0;
}
