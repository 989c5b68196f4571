/* YAML configuration loader. The document is parsed with libyaml into a node tree (which keeps
 * line/column marks), then walked against one table of typed, bounded keys per section.
 * Every problem is reported once as "file:line:col: key: message" and loading stops there. */
#include "core/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "core/error.h"

typedef enum {
    K_INT,
    K_BOOL,
    K_STRING,
    K_LISTEN,
    K_DUP_POLICY,
    K_LOG_LEVEL,
    K_POSITION,
    K_COLOR,
} key_type_t;

typedef struct {
    const char *name;
    key_type_t type;
    size_t offset; /* into gv_config_t (sections) or gv_overlay_config_t (stream overlay) */
    long min, max; /* K_INT bounds; K_STRING length bounds */
} key_row_t;

typedef struct {
    const char *name;
    const key_row_t *rows;
    size_t n_rows;
    size_t enabled_offset; /* offset of a bool set true when the section is present, or SIZE_MAX */
} section_t;

#define CFG_OFF(field) offsetof(gv_config_t, field)

static const key_row_t http_rows[] = {
    {"listen", K_LISTEN, CFG_OFF(http.listen), 0, 0},
    {"max_header_bytes", K_INT, CFG_OFF(http.max_header_bytes), 1024, 1 << 20},
    {"max_body_bytes", K_INT, CFG_OFF(http.max_body_bytes), 1024, 16 << 20},
    {"timeout_ms", K_INT, CFG_OFF(http.timeout_ms), 1000, 600000},
    {"cors_origin", K_STRING, CFG_OFF(http.cors_origin), 1, 256},
    {"player_dir", K_STRING, CFG_OFF(http.player_dir), 1, 4096},
};

static const key_row_t rtmp_rows[] = {
    {"listen", K_LISTEN, CFG_OFF(rtmp.listen), 0, 0},
    {"max_connections", K_INT, CFG_OFF(rtmp.max_connections), 1, 100000},
    {"max_message_bytes", K_INT, CFG_OFF(rtmp.max_message_bytes), 1024, 64 << 20},
    {"max_chunk_size", K_INT, CFG_OFF(rtmp.max_chunk_size), 128, 16 << 20},
    {"out_chunk_size", K_INT, CFG_OFF(rtmp.out_chunk_size), 128, 65536},
    {"ack_window", K_INT, CFG_OFF(rtmp.ack_window), 4096, 1 << 30},
    {"handshake_timeout_ms", K_INT, CFG_OFF(rtmp.handshake_timeout_ms), 100, 600000},
    {"idle_timeout_ms", K_INT, CFG_OFF(rtmp.idle_timeout_ms), 100, 600000},
};

static const key_row_t srt_rows[] = {
    {"listen", K_LISTEN, CFG_OFF(srt.listen), 0, 0},
    {"latency_ms", K_INT, CFG_OFF(srt.latency_ms), 20, 8000},
    {"max_connections", K_INT, CFG_OFF(srt.max_connections), 1, 100000},
    {"peer_idle_timeout_ms", K_INT, CFG_OFF(srt.peer_idle_timeout_ms), 1000, 600000},
    {"handshake_timeout_ms", K_INT, CFG_OFF(srt.handshake_timeout_ms), 100, 600000},
    {"stats_interval_ms", K_INT, CFG_OFF(srt.stats_interval_ms), 0, 3600000},
};

static const key_row_t hls_rows[] = {
    {"part_target_ms", K_INT, CFG_OFF(hls.part_target_ms), 50, 2000},
    {"segment_target_ms", K_INT, CFG_OFF(hls.segment_target_ms), 500, 20000},
    {"window_segments", K_INT, CFG_OFF(hls.window_segments), 3, 100},
};

static const key_row_t ingest_rows[] = {
    {"on_duplicate", K_DUP_POLICY, CFG_OFF(ingest.on_duplicate), 0, 0},
    {"stale_ms", K_INT, CFG_OFF(ingest.stale_ms), 100, 600000},
};

static const key_row_t api_rows[] = {
    {"token", K_STRING, CFG_OFF(api.token), 8, 256},
};

#define OV_OFF(field) offsetof(gv_overlay_config_t, field)
static const key_row_t overlay_rows[] = {
    {"enabled", K_BOOL, OV_OFF(enabled), 0, 0},
    {"position", K_POSITION, OV_OFF(position), 0, 0},
    {"card_width", K_INT, OV_OFF(card_width), 200, 1280},
    {"card_height", K_INT, OV_OFF(card_height), 80, 720},
    {"margin", K_INT, OV_OFF(margin), 0, 200},
    {"bitrate_kbps", K_INT, OV_OFF(bitrate_kbps), 200, 50000},
    {"preset", K_STRING, OV_OFF(preset), 1, 32},
    {"font", K_STRING, OV_OFF(font), 1, 256},
    {"accent_color", K_COLOR, OV_OFF(accent_color), 0, 0},
    {"queue_frames", K_INT, OV_OFF(queue_frames), 8, 1000},
    {"decode_nice", K_INT, OV_OFF(decode_nice), 0, 19},
};

static const key_row_t log_rows[] = {
    {"level", K_LOG_LEVEL, CFG_OFF(log.level), 0, 0},
};

#define N_ROWS(a) (sizeof(a) / sizeof((a)[0]))
static const section_t sections[] = {
    {"http", http_rows, N_ROWS(http_rows), SIZE_MAX},
    {"rtmp", rtmp_rows, N_ROWS(rtmp_rows), CFG_OFF(rtmp.enabled)},
    {"srt", srt_rows, N_ROWS(srt_rows), CFG_OFF(srt.enabled)},
    {"hls", hls_rows, N_ROWS(hls_rows), SIZE_MAX},
    {"ingest", ingest_rows, N_ROWS(ingest_rows), SIZE_MAX},
    {"api", api_rows, N_ROWS(api_rows), SIZE_MAX},
    {"log", log_rows, N_ROWS(log_rows), SIZE_MAX},
};

typedef struct {
    const char *file;
    yaml_document_t *doc;
    char *err;
    size_t errlen;
} ctx_t;

__attribute__((format(printf, 4, 5))) static int fail(ctx_t *c, const yaml_node_t *node,
                                                      const char *key, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    int line = node ? (int)node->start_mark.line + 1 : 1;
    int col = node ? (int)node->start_mark.column + 1 : 1;
    snprintf(c->err, c->errlen, "%s:%d:%d: %s: %s", c->file, line, col, key, msg);
    return GV_ECONFIG;
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool scalar_is_quoted(const yaml_node_t *n)
{
    return n->data.scalar.style == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
           n->data.scalar.style == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
}

int gv_listen_parse(const char *s, gv_listen_t *out)
{
    const char *host = "0.0.0.0";
    size_t host_len = strlen(host);
    const char *port_s;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (!end || end[1] != ':')
            return GV_EINVAL;
        host = s + 1;
        host_len = (size_t)(end - host);
        port_s = end + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (colon) {
            if (colon != s) {
                host = s;
                host_len = (size_t)(colon - s);
            }
            port_s = colon + 1;
        } else {
            port_s = s;
        }
    }
    if (host_len == 0 || host_len >= sizeof(out->host))
        return GV_EINVAL;
    char *end;
    errno = 0;
    long port = strtol(port_s, &end, 10);
    if (errno || end == port_s || *end || port < 0 || port > 65535)
        return GV_EINVAL;
    memcpy(out->host, host, host_len);
    out->host[host_len] = '\0';
    out->port = (int)port;
    return 0;
}

static int set_value(ctx_t *c, void *base, const key_row_t *row, const char *path, yaml_node_t *v)
{
    void *field = (char *)base + row->offset;
    const char *s = scalar(v);
    if (!s)
        return fail(c, v, path, "expected a scalar value, got a %s",
                    v->type == YAML_MAPPING_NODE ? "mapping" : "sequence");
    switch (row->type) {
    case K_INT: {
        if (scalar_is_quoted(v))
            return fail(c, v, path, "expected an integer, got a string");
        char *end;
        errno = 0;
        long val = strtol(s, &end, 10);
        if (errno || end == s || *end)
            return fail(c, v, path, "expected an integer, got \"%s\"", s);
        if (val < row->min || val > row->max)
            return fail(c, v, path, "%ld is out of range [%ld, %ld]", val, row->min, row->max);
        *(int *)field = (int)val;
        return 0;
    }
    case K_BOOL:
        if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on"))
            *(bool *)field = true;
        else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off"))
            *(bool *)field = false;
        else
            return fail(c, v, path, "expected true or false, got \"%s\"", s);
        return 0;
    case K_STRING: {
        size_t len = strlen(s);
        if ((long)len < row->min || (long)len > row->max)
            return fail(c, v, path, "length %zu is out of range [%ld, %ld]", len, row->min,
                        row->max);
        char *dup = strdup(s);
        if (!dup)
            return GV_ENOMEM;
        free(*(char **)field);
        *(char **)field = dup;
        return 0;
    }
    case K_LISTEN:
        if (gv_listen_parse(s, (gv_listen_t *)field) != 0)
            return fail(c, v, path, "expected \"host:port\" with port 0..65535, got \"%s\"", s);
        return 0;
    case K_DUP_POLICY: {
        gv_dup_policy_t *p = field;
        if (!strcmp(s, "takeover-stale"))
            *p = GV_DUP_TAKEOVER_STALE;
        else if (!strcmp(s, "takeover"))
            *p = GV_DUP_TAKEOVER;
        else if (!strcmp(s, "reject"))
            *p = GV_DUP_REJECT;
        else
            return fail(c, v, path, "expected takeover-stale, takeover or reject, got \"%s\"", s);
        return 0;
    }
    case K_LOG_LEVEL: {
        static const char *const levels[] = {"error", "warn", "info", "debug", "trace"};
        for (size_t i = 0; i < 5; i++) {
            if (!strcmp(s, levels[i])) {
                free(*(char **)field);
                *(char **)field = strdup(s);
                return *(char **)field ? 0 : GV_ENOMEM;
            }
        }
        return fail(c, v, path, "expected error, warn, info, debug or trace, got \"%s\"", s);
    }
    case K_POSITION: {
        static const char *const pos[] = {"bottom-left", "bottom-right", "top-left", "top-right"};
        for (size_t i = 0; i < 4; i++) {
            if (!strcmp(s, pos[i])) {
                free(*(char **)field);
                *(char **)field = strdup(s);
                return *(char **)field ? 0 : GV_ENOMEM;
            }
        }
        return fail(c, v, path,
                    "expected bottom-left, bottom-right, top-left or top-right, got \"%s\"", s);
    }
    case K_COLOR: {
        bool ok = strlen(s) == 7 && s[0] == '#';
        for (size_t i = 1; ok && i < 7; i++)
            ok = strchr("0123456789abcdefABCDEF", s[i]) != NULL;
        if (!ok)
            return fail(c, v, path, "expected a colour as \"#RRGGBB\", got \"%s\"", s);
        free(*(char **)field);
        *(char **)field = strdup(s);
        return *(char **)field ? 0 : GV_ENOMEM;
    }
    }
    return GV_EINVAL;
}

static int load_section(ctx_t *c, gv_config_t *cfg, const section_t *sec, yaml_node_t *map)
{
    if (map->type != YAML_MAPPING_NODE)
        return fail(c, map, sec->name, "expected a mapping");
    if (sec->enabled_offset != SIZE_MAX)
        *(bool *)((char *)cfg + sec->enabled_offset) = true;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        const char *ks = scalar(k);
        char path[128];
        snprintf(path, sizeof(path), "%s.%s", sec->name, ks ? ks : "?");
        const key_row_t *row = NULL;
        for (size_t i = 0; ks && i < sec->n_rows; i++)
            if (!strcmp(sec->rows[i].name, ks))
                row = &sec->rows[i];
        if (!row)
            return fail(c, k, path, "unknown key");
        int rc = set_value(c, cfg, row, path, v);
        if (rc)
            return rc;
    }
    return 0;
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

static bool valid_key(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 256)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == '/' || ch == '?' || ch == '#' || ch == ',' ||
            ch == '&' || ch == '=')
            return false;
    }
    return true;
}

static int load_stream(ctx_t *c, gv_config_t *cfg, size_t idx, yaml_node_t *map)
{
    char path[96];
    snprintf(path, sizeof(path), "streams[%zu]", idx);
    if (map->type != YAML_MAPPING_NODE)
        return fail(c, map, path, "expected a mapping with name and key");
    gv_stream_config_t *st = &cfg->streams[idx];
    st->line = (int)map->start_mark.line + 1;
    st->overlay.card_width = 640;
    st->overlay.card_height = 200;
    st->overlay.margin = 24;
    st->overlay.bitrate_kbps = 3000;
    st->overlay.queue_frames = 90;
    st->overlay.decode_nice = 10;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        const char *ks = scalar(k);
        const char *vs = scalar(v);
        char kpath[160];
        snprintf(kpath, sizeof(kpath), "%s.%s", path, ks ? ks : "?");
        char **dst = NULL;
        if (ks && !strcmp(ks, "overlay")) {
            if (v->type != YAML_MAPPING_NODE)
                return fail(c, v, kpath, "expected a mapping");
            for (yaml_node_pair_t *q = v->data.mapping.pairs.start;
                 q < v->data.mapping.pairs.top; q++) {
                yaml_node_t *ok_ = yaml_document_get_node(c->doc, q->key);
                yaml_node_t *ov = yaml_document_get_node(c->doc, q->value);
                const char *oks = scalar(ok_);
                char opath[224];
                snprintf(opath, sizeof(opath), "%s.%s", kpath, oks ? oks : "?");
                const key_row_t *row = NULL;
                for (size_t i = 0; oks && i < N_ROWS(overlay_rows); i++)
                    if (!strcmp(overlay_rows[i].name, oks))
                        row = &overlay_rows[i];
                if (!row)
                    return fail(c, ok_, opath, "unknown key");
                int rc = set_value(c, &st->overlay, row, opath, ov);
                if (rc)
                    return rc;
            }
            continue;
        }
        if (ks && !strcmp(ks, "name")) {
            if (!vs || !valid_name(vs))
                return fail(c, v, kpath, "expected 1..64 characters of [A-Za-z0-9_-]");
            dst = &st->name;
        } else if (ks && !strcmp(ks, "key")) {
            if (!vs || !valid_key(vs))
                return fail(c, v, kpath,
                            "expected 1..256 printable characters without spaces or / ? # , & =");
            dst = &st->key;
        } else if (ks && !strcmp(ks, "passphrase")) {
            if (!vs || strlen(vs) < 10 || strlen(vs) > 79)
                return fail(c, v, kpath, "expected 10..79 characters (SRT's AES passphrase)");
            dst = &st->passphrase;
        } else {
            return fail(c, k, kpath, "unknown key");
        }
        free(*dst);
        *dst = strdup(vs);
        if (!*dst)
            return GV_ENOMEM;
    }
    if (!st->name)
        return fail(c, map, path, "missing required key \"name\"");
    gv_overlay_config_t *ov = &st->overlay;
    if (!ov->position && !(ov->position = strdup("bottom-left")))
        return GV_ENOMEM;
    if (!ov->preset && !(ov->preset = strdup("veryfast")))
        return GV_ENOMEM;
    if (!ov->font && !(ov->font = strdup("Noto Sans, Noto Sans CJK JP")))
        return GV_ENOMEM;
    if (!ov->accent_color && !(ov->accent_color = strdup("#FFC400")))
        return GV_ENOMEM;
    if (!st->key)
        return fail(c, map, path, "missing required key \"key\"");
    for (size_t j = 0; j < idx; j++) {
        if (!strcmp(cfg->streams[j].name, st->name))
            return fail(c, map, path, "duplicate stream name \"%s\" (first declared on line %d)",
                        st->name, cfg->streams[j].line);
        if (!strcmp(cfg->streams[j].key, st->key))
            return fail(c, map, path, "duplicate publish key (also used by stream \"%s\")",
                        cfg->streams[j].name);
    }
    return 0;
}

static void set_defaults(gv_config_t *cfg)
{
    gv_listen_parse("127.0.0.1:8080", &cfg->http.listen);
    cfg->http.max_header_bytes = 8192;
    cfg->http.max_body_bytes = 65536;
    cfg->http.timeout_ms = 30000;
    gv_listen_parse("0.0.0.0:1935", &cfg->rtmp.listen);
    cfg->rtmp.max_connections = 256;
    cfg->rtmp.max_message_bytes = 4 << 20;
    cfg->rtmp.max_chunk_size = 65536;
    cfg->rtmp.out_chunk_size = 4096;
    cfg->rtmp.ack_window = 2500000;
    cfg->rtmp.handshake_timeout_ms = 10000;
    cfg->rtmp.idle_timeout_ms = 10000;
    gv_listen_parse("0.0.0.0:9000", &cfg->srt.listen);
    cfg->srt.latency_ms = 120;
    cfg->srt.max_connections = 256;
    cfg->srt.peer_idle_timeout_ms = 5000;
    cfg->srt.handshake_timeout_ms = 5000;
    cfg->srt.stats_interval_ms = 10000;
    cfg->hls.part_target_ms = 200;
    cfg->hls.segment_target_ms = 2000;
    cfg->hls.window_segments = 7;
    cfg->ingest.on_duplicate = GV_DUP_TAKEOVER_STALE;
    cfg->ingest.stale_ms = 2000;
}

static int fill_string_defaults(gv_config_t *cfg)
{
    if (!cfg->http.cors_origin && !(cfg->http.cors_origin = strdup("*")))
        return GV_ENOMEM;
    if (!cfg->http.player_dir && !(cfg->http.player_dir = strdup("web/node_modules/hls.js/dist")))
        return GV_ENOMEM;
    if (!cfg->log.level && !(cfg->log.level = strdup("info")))
        return GV_ENOMEM;
    return 0;
}

static int load_root(ctx_t *c, gv_config_t *cfg, yaml_node_t *root)
{
    if (!root || root->type != YAML_MAPPING_NODE)
        return fail(c, root, "(document)", "expected a mapping of sections at the top level");
    yaml_node_t *hls_node = root;
    bool have_streams = false;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(c->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(c->doc, p->value);
        const char *ks = scalar(k);
        if (ks && !strcmp(ks, "streams")) {
            if (v->type != YAML_SEQUENCE_NODE)
                return fail(c, v, "streams", "expected a list of streams");
            size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
            if (n > 10000)
                return fail(c, v, "streams", "too many streams (%zu > 10000)", n);
            cfg->streams = calloc(n ? n : 1, sizeof(*cfg->streams));
            if (!cfg->streams)
                return GV_ENOMEM;
            cfg->n_streams = n;
            for (size_t i = 0; i < n; i++) {
                int rc = load_stream(c, cfg, i,
                                     yaml_document_get_node(c->doc,
                                                            v->data.sequence.items.start[i]));
                if (rc)
                    return rc;
            }
            have_streams = true;
            continue;
        }
        const section_t *sec = NULL;
        for (size_t i = 0; ks && i < N_ROWS(sections); i++)
            if (!strcmp(sections[i].name, ks))
                sec = &sections[i];
        if (!sec)
            return fail(c, k, ks ? ks : "?", "unknown section");
        if (!strcmp(sec->name, "hls"))
            hls_node = v;
        int rc = load_section(c, cfg, sec, v);
        if (rc)
            return rc;
    }
    if (!have_streams || cfg->n_streams == 0)
        return fail(c, root, "streams", "at least one stream is required");
    if (cfg->hls.segment_target_ms < 2 * cfg->hls.part_target_ms)
        return fail(c, hls_node, "hls.segment_target_ms",
                    "must be at least twice hls.part_target_ms (%d < 2 x %d)",
                    cfg->hls.segment_target_ms, cfg->hls.part_target_ms);
    return 0;
}

int gv_config_parse(const char *name, const char *text, size_t len, gv_config_t **out, char *err,
                    size_t errlen)
{
    *out = NULL;
    if (errlen)
        err[0] = '\0';
    gv_config_t *cfg = calloc(1, sizeof(*cfg));
    if (!cfg)
        return GV_ENOMEM;
    cfg->path = strdup(name);
    set_defaults(cfg);

    ctx_t c = {.file = name, .err = err, .errlen = errlen};
    yaml_parser_t parser;
    yaml_document_t doc;
    int rc;
    if (!yaml_parser_initialize(&parser)) {
        rc = GV_ENOMEM;
        goto fail_cfg;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &doc)) {
        snprintf(err, errlen, "%s:%d:%d: (syntax): %s%s%s", name, (int)parser.problem_mark.line + 1,
                 (int)parser.problem_mark.column + 1, parser.problem ? parser.problem : "error",
                 parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        rc = GV_ECONFIG;
        goto fail_cfg;
    }
    c.doc = &doc;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root)
        rc = fail(&c, NULL, "(document)", "the file is empty");
    else
        rc = load_root(&c, cfg, root);
    if (rc == 0)
        rc = fill_string_defaults(cfg);
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (rc)
        goto fail_cfg;
    *out = cfg;
    return 0;

fail_cfg:
    gv_config_free(cfg);
    return rc;
}

int gv_config_load(const char *path, gv_config_t **out, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s:1:1: (file): cannot open: %s", path, strerror(errno));
        return GV_EIO;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > (8u << 20)) {
                free(buf);
                fclose(f);
                snprintf(err, errlen, "%s:1:1: (file): larger than 8 MiB", path);
                return GV_ECONFIG;
            }
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return GV_ENOMEM;
            }
            buf = nb;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    int ioerr = ferror(f);
    fclose(f);
    if (ioerr) {
        free(buf);
        snprintf(err, errlen, "%s:1:1: (file): read error", path);
        return GV_EIO;
    }
    int rc = gv_config_parse(path, buf ? buf : "", len, out, err, errlen);
    free(buf);
    return rc;
}

void gv_config_free(gv_config_t *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_streams; i++) {
        free(cfg->streams[i].name);
        free(cfg->streams[i].key);
        free(cfg->streams[i].passphrase);
        free(cfg->streams[i].overlay.position);
        free(cfg->streams[i].overlay.preset);
        free(cfg->streams[i].overlay.font);
        free(cfg->streams[i].overlay.accent_color);
    }
    free(cfg->streams);
    free(cfg->http.cors_origin);
    free(cfg->http.player_dir);
    free(cfg->log.level);
    free(cfg->api.token);
    free(cfg->path);
    free(cfg);
}
