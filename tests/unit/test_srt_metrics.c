/* Unit tests for the SRT metrics renderer: exact Prometheus lines for two publishers, the
 * families declared with no publisher, and snprintf-like truncation. */
#include <stdlib.h>
#include <string.h>

#include "ingest/srt_metrics.h"
#include "testlib.h"

static void test_two_publishers(void)
{
    gv_srt_stats_t st[2] = {
        {.stream = "seller-1", .rtt_ms = 41.25, .recv_mbps = 1.8, .pkt_recv = 4000,
         .pkt_loss = 132, .pkt_drop = 0, .pkt_retrans = 145, .bytes_recv = 5264000},
        {.stream = "seller-2", .rtt_ms = 0.5, .recv_mbps = 3.0, .pkt_recv = 7,
         .pkt_loss = 0, .pkt_drop = 2, .pkt_retrans = 0, .bytes_recv = 9212},
    };
    char buf[4096];
    size_t n = gv_srt_metrics_render(st, 2, buf, sizeof(buf));
    GV_CHECK(n == strlen(buf));
    GV_CHECK(strstr(buf, "# TYPE gavel_srt_rtt_seconds gauge\n") != NULL);
    GV_CHECK(strstr(buf, "gavel_srt_rtt_seconds{stream=\"seller-1\"} 0.0413\n") != NULL);
    GV_CHECK(strstr(buf, "gavel_srt_receive_bits_per_second{stream=\"seller-2\"} 3000000\n"));
    GV_CHECK(strstr(buf, "# TYPE gavel_srt_packets_lost_total counter\n") != NULL);
    GV_CHECK(strstr(buf, "gavel_srt_packets_lost_total{stream=\"seller-1\"} 132\n") != NULL);
    GV_CHECK(strstr(buf, "gavel_srt_packets_dropped_total{stream=\"seller-2\"} 2\n") != NULL);
    GV_CHECK(strstr(buf, "gavel_srt_packets_retransmitted_total{stream=\"seller-1\"} 145\n"));
    GV_CHECK(strstr(buf, "gavel_srt_bytes_received_total{stream=\"seller-2\"} 9212\n") != NULL);
    GV_CHECK(strstr(buf, "gavel_srt_packets_received_total{stream=\"seller-1\"} 4000\n"));
    /* Every line is a comment or "name{labels} value". */
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
        GV_CHECK(line[0] == '#' || (strstr(line, "{stream=\"") && strchr(line, ' ')));
}

static void test_no_publishers(void)
{
    char buf[2048];
    size_t n = gv_srt_metrics_render(NULL, 0, buf, sizeof(buf));
    GV_CHECK(n > 0 && n == strlen(buf));
    GV_CHECK(strstr(buf, "# TYPE gavel_srt_packets_dropped_total counter") != NULL);
    GV_CHECK(strstr(buf, "{stream=") == NULL);
}

static void test_truncation(void)
{
    gv_srt_stats_t st = {.stream = "s", .rtt_ms = 1};
    char full[2048], small[64];
    size_t need = gv_srt_metrics_render(&st, 1, full, sizeof(full));
    memset(small, 'x', sizeof(small));
    size_t n = gv_srt_metrics_render(&st, 1, small, sizeof(small));
    GV_CHECK_INT(n, need);                 /* reports the length it needs */
    GV_CHECK_INT(strlen(small), sizeof(small) - 1); /* and stays terminated */
    GV_CHECK(strncmp(small, full, sizeof(small) - 1) == 0);
    GV_CHECK_INT(gv_srt_metrics_render(&st, 1, NULL, 0), need);
}

int main(void)
{
    static const gv_test_case_t cases[] = {
        GV_TEST(test_two_publishers),
        GV_TEST(test_no_publishers),
        GV_TEST(test_truncation),
    };
    return gv_test_run(cases, sizeof(cases) / sizeof(cases[0]));
}
