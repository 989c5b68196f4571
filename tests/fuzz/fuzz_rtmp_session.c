/* libFuzzer target: a whole RTMP session. A fixed plain handshake is fed first so the input
 * drives the chunk stream, commands and media; the first byte picks the feed split. The
 * registry (from a parsed config with the key "fuzzkey") lives across runs, like a server's. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/stream.h"
#include "ingest/rtmp_handshake.h"
#include "ingest/rtmp_session.h"

static gv_config_t *cfg;
static gv_registry_t *reg;

static void init(void)
{
    const char *text = "rtmp:\n  listen: \"127.0.0.1:0\"\n  max_message_bytes: 65536\n"
                       "  ack_window: 4096\n"
                       "ingest:\n  on_duplicate: takeover\n"
                       "streams:\n  - name: fuzz\n    key: \"fuzzkey\"\n";
    char err[256];
    if (gv_config_parse("fuzz.yaml", text, strlen(text), &cfg, err, sizeof(err)) != 0)
        abort();
    reg = gv_registry_create(cfg);
    if (!reg)
        abort();
    gv_log_set_level(GV_LOG_ERROR);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!reg)
        init();
    if (size < 1)
        return 0;
    gv_rtmp_session_opts_t o = {.cfg = cfg, .reg = reg, .peer = "fuzz:1"};
    gv_rtmp_session_t *s = gv_rtmp_session_create(&o);
    gv_bytes_t out;
    gv_bytes_init(&out, 0);
    static uint8_t hs[GV_RTMP_HS_C0C1_SIZE + GV_RTMP_HS_SIZE];
    hs[0] = 3;
    int rc = gv_rtmp_session_feed(s, hs, sizeof(hs), &out);
    size_t step = 1 + (size_t)data[0] * 8, pos = 1;
    while (rc == 0 && pos < size) {
        size_t n = size - pos < step ? size - pos : step;
        gv_bytes_reset(&out);
        rc = gv_rtmp_session_feed(s, data + pos, n, &out);
        pos += n;
    }
    gv_bytes_free(&out);
    gv_rtmp_session_destroy(s);
    return 0;
}
