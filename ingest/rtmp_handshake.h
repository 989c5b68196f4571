/* RTMP handshake, server side, as pure functions over buffers: C0+C1 in, S0+S1+S2 out. Plain
 * handshake, and the HMAC-SHA256 "digest" variant some Flash-era clients use (answered when C1
 * carries a valid digest, plain otherwise). */
#ifndef GV_RTMP_HANDSHAKE_H
#define GV_RTMP_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GV_RTMP_VERSION 3
#define GV_RTMP_HS_SIZE 1536
#define GV_RTMP_HS_C0C1_SIZE (1 + GV_RTMP_HS_SIZE)
#define GV_RTMP_HS_S0S1S2_SIZE (1 + 2 * GV_RTMP_HS_SIZE)
/* Random bytes the caller supplies to one respond call. */
#define GV_RTMP_HS_RANDOM_SIZE (2 * GV_RTMP_HS_SIZE)
#define GV_RTMP_HS_DIGEST_SIZE 32

/* Builds S0+S1+S2 (GV_RTMP_HS_S0S1S2_SIZE bytes into out) from C0+C1 (GV_RTMP_HS_C0C1_SIZE
 * bytes). random supplies GV_RTMP_HS_RANDOM_SIZE bytes; uptime_ms goes in S1's time field.
 * *digest tells whether the digest variant was answered. Returns 0, GV_EUNSUPP for C0 = 6
 * (encrypted RTMPE) or GV_EPROTO for any other version than 3. */
int gv_rtmp_handshake_respond(const uint8_t *c0c1, const uint8_t *random, uint32_t uptime_ms,
                              uint8_t *out, bool *digest);

/* Checks C2 (GV_RTMP_HS_SIZE bytes). Clients disagree on what C2 echoes, so any content is
 * accepted; the function exists so the state machine has one place for the rule. */
int gv_rtmp_handshake_check_c2(const uint8_t *c2);

/* Digest helpers, exposed for tests and for a client-side use. block is one 1536-byte C1/S1.
 * find returns the offset of a valid digest keyed for the client (server=false) or server
 * (server=true), trying the offset-772 scheme then the offset-8 scheme; -1 when none. */
int gv_rtmp_handshake_find_digest(const uint8_t *block, bool server);
/* Writes a digest into block using the scheme whose digest area starts at base (8 or 772);
 * returns its offset. */
int gv_rtmp_handshake_imprint(uint8_t *block, size_t base, bool server);
/* True when S2 carries the signature derived from the digest found in c1. */
bool gv_rtmp_handshake_check_s2(const uint8_t *s2, const uint8_t *c1);

#endif
