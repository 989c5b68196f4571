/* Prometheus text for SRT publishers: RTT, receive rate and packet counters (received, lost,
 * dropped as too late, retransmitted) per stream, from the snapshot gv_srt_server_stats takes
 * of srt_bstats. A pure function over an array, so the origin only appends its output. */
#include "ingest/srt_metrics.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>

typedef struct {
    char *buf;
    size_t cap, len;
} out_t;

__attribute__((format(printf, 2, 3))) static void put(out_t *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->len < o->cap ? o->cap - o->len : 0;
    int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->len += (size_t)n;
}

/* Stream names are [A-Za-z0-9_-] (config-validated), so they need no label escaping. */
size_t gv_srt_metrics_render(const gv_srt_stats_t *st, size_t n, char *buf, size_t cap)
{
    out_t o = {buf, cap, 0};
    if (cap)
        buf[0] = '\0';
    put(&o, "# HELP gavel_srt_rtt_seconds smoothed round-trip time to the SRT publisher\n"
            "# TYPE gavel_srt_rtt_seconds gauge\n");
    for (size_t i = 0; i < n; i++)
        put(&o, "gavel_srt_rtt_seconds{stream=\"%s\"} %.4f\n", st[i].stream, st[i].rtt_ms / 1e3);
    put(&o, "# HELP gavel_srt_receive_bits_per_second receive rate from the SRT publisher\n"
            "# TYPE gavel_srt_receive_bits_per_second gauge\n");
    for (size_t i = 0; i < n; i++)
        put(&o, "gavel_srt_receive_bits_per_second{stream=\"%s\"} %.0f\n", st[i].stream,
            st[i].recv_mbps * 1e6);
    static const struct {
        const char *name, *help;
        size_t off;
    } counters[] = {
        {"gavel_srt_packets_received_total", "data packets received",
         offsetof(gv_srt_stats_t, pkt_recv)},
        {"gavel_srt_packets_lost_total", "data packets detected lost (before retransmission)",
         offsetof(gv_srt_stats_t, pkt_loss)},
        {"gavel_srt_packets_dropped_total", "data packets given up as too late",
         offsetof(gv_srt_stats_t, pkt_drop)},
        {"gavel_srt_packets_retransmitted_total", "retransmitted data packets received",
         offsetof(gv_srt_stats_t, pkt_retrans)},
        {"gavel_srt_bytes_received_total", "payload bytes received",
         offsetof(gv_srt_stats_t, bytes_recv)},
    };
    for (size_t c = 0; c < sizeof(counters) / sizeof(counters[0]); c++) {
        put(&o, "# HELP %s %s\n# TYPE %s counter\n", counters[c].name, counters[c].help,
            counters[c].name);
        for (size_t i = 0; i < n; i++) {
            const int64_t *v = (const int64_t *)((const char *)&st[i] + counters[c].off);
            put(&o, "%s{stream=\"%s\"} %" PRId64 "\n", counters[c].name, st[i].stream, *v);
        }
    }
    return o.len;
}
