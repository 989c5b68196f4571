/* gavel's configuration: the typed, bounded view of the YAML file. gv_config_load() parses and
 * validates; errors are reported as "file:line:col: key: message". Every limit has a default. */
#ifndef GV_CONFIG_H
#define GV_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    char host[64]; /* numeric address or "localhost"; "0.0.0.0" for any */
    int port;      /* 0 = pick a free port (tests) */
} gv_listen_t;

typedef enum {
    /* A newcomer with the right key takes over when the current publisher has sent no media for
     * ingest.stale_ms (a dead encoder lingering), and is refused while it is still live. */
    GV_DUP_TAKEOVER_STALE = 0,
    GV_DUP_TAKEOVER, /* newcomer always wins */
    GV_DUP_REJECT,   /* newcomer always refused while a publisher is attached */
} gv_dup_policy_t;

/* Per-stream overlay settings (streams[i].overlay); see overlay/overlay.h. */
typedef struct gv_overlay_config {
    bool enabled;
    char *position;      /* "bottom-left" (default), "bottom-right", "top-left", "top-right" */
    int card_width;      /* px at 720p reference, default 640; scaled with the picture height */
    int card_height;     /* default 200 */
    int margin;          /* default 24 */
    int bitrate_kbps;    /* output video bitrate, default 3000 */
    char *preset;        /* x264 preset, default "veryfast" */
    char *font;          /* pango font family list, default "Noto Sans, Noto Sans CJK JP" */
    char *accent_color;  /* "#RRGGBB", default "#FFC400" */
    int queue_frames;    /* bounded input queue, default 90 */
    int decode_nice;     /* added to the decode thread's nice (0..19), default 10 */
} gv_overlay_config_t;

typedef struct {
    char *name;       /* public: URL path component, [A-Za-z0-9_-]{1,64} */
    char *key;        /* private publish key, 1..256 printable chars, no '/', '?', '#' */
    char *passphrase; /* SRT passphrase (optional, 10..80 chars), NULL when absent */
    int line;         /* where the stream was declared, for messages */
    gv_overlay_config_t overlay;
} gv_stream_config_t;

typedef struct gv_config {
    char *path;

    struct {
        gv_listen_t listen;
        int max_header_bytes;    /* default 8192 */
        int max_body_bytes;      /* default 65536 */
        int timeout_ms;          /* idle/read timeout of a connection, default 30000 */
        char *cors_origin;       /* Access-Control-Allow-Origin, default "*" */
        char *player_dir;        /* where hls.min.js is found, default "web/node_modules/hls.js/dist" */
    } http;

    struct {
        bool enabled;            /* false when the rtmp section is absent */
        gv_listen_t listen;
        int max_connections;     /* default 256 */
        int max_message_bytes;   /* default 4 MiB: largest RTMP message accepted */
        int max_chunk_size;      /* default 65536: largest Set Chunk Size accepted from a peer */
        int out_chunk_size;      /* default 4096: chunk size gavel sends */
        int ack_window;          /* default 2500000 bytes */
        int handshake_timeout_ms;/* default 10000: whole handshake+connect+publish phase */
        int idle_timeout_ms;     /* default 10000: no bytes from a publisher for this long */
    } rtmp;

    struct {
        bool enabled;            /* false when the srt section is absent */
        gv_listen_t listen;
        int latency_ms;          /* default 120: SRTO_LATENCY (receiver side), 20..8000 */
        int max_connections;     /* default 256: concurrent SRT sockets (incl. handshaking) */
        int peer_idle_timeout_ms;/* default 5000: SRTO_PEERIDLETIMEO */
        int handshake_timeout_ms;/* default 5000: an accepted socket must send media by then */
        int stats_interval_ms;   /* default 10000: log srt_bstats per publisher; 0 = never */
    } srt;

    struct {
        int part_target_ms;      /* default 200, 50..2000 */
        int segment_target_ms;   /* default 2000, 500..20000, >= 2x part target */
        int window_segments;     /* default 7, 3..100 */
    } hls;

    struct {
        gv_dup_policy_t on_duplicate; /* default takeover-stale */
        int stale_ms;                 /* default 2000 */
    } ingest;

    struct {
        char *token;             /* bearer token of the control API; NULL = API disabled */
    } api;

    struct {
        char *level;             /* error|warn|info|debug|trace, default info */
    } log;

    gv_stream_config_t *streams;
    size_t n_streams;
} gv_config_t;

/* Loads and validates path. On success *out is set and 0 returned. On failure returns
 * GV_ECONFIG (or GV_EIO/GV_ENOMEM) and writes one "file:line:col: key: message" line into err. */
int gv_config_load(const char *path, gv_config_t **out, char *err, size_t errlen);
/* Same from an in-memory document; name is used in messages. */
int gv_config_parse(const char *name, const char *text, size_t len, gv_config_t **out, char *err,
                    size_t errlen);
void gv_config_free(gv_config_t *cfg);
/* Parses "host:port" / "[v6]:port" / ":port" / "port". Returns 0 or GV_EINVAL. */
int gv_listen_parse(const char *s, gv_listen_t *out);

#endif
