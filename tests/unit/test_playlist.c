/* Unit tests for the LL-HLS playlist renderer: golden text for the common shapes (first
 * segment, normal window, discontinuity, delta updates, ended) and rule checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/error.h"
#include "packager/playlist.h"
#include "testlib.h"

#define T 90000 /* ticks per second */

/* A small model: n segments of 2 s made of ten 0.2 s parts, the last one possibly in
 * progress with k parts. URIs are stored in a static arena. */
typedef struct {
    gv_pl_segment_t segs[32];
    gv_pl_part_t parts[32][12];
    char uris[32][13][48];
    gv_pl_media_t m;
} model_t;

static void build(model_t *mo, int64_t first_msn, int n_complete, int k_open, int parts_window)
{
    memset(mo, 0, sizeof(*mo));
    int n = n_complete + (k_open > 0 ? 1 : 0);
    for (int i = 0; i < n; i++) {
        gv_pl_segment_t *s = &mo->segs[i];
        int64_t msn = first_msn + i;
        bool complete = i < n_complete;
        int np = complete ? 10 : k_open;
        for (int k = 0; k < np; k++) {
            snprintf(mo->uris[i][k], 48, "p-%lld-%d.m4s", (long long)msn, k);
            mo->parts[i][k].uri = mo->uris[i][k];
            mo->parts[i][k].duration = T / 5;
            mo->parts[i][k].independent = k == 0;
        }
        snprintf(mo->uris[i][12], 48, "s-%lld.m4s", (long long)msn);
        s->msn = msn;
        s->uri = mo->uris[i][12];
        s->map_uri = "init-1.mp4";
        s->duration = complete ? 2 * T : 0;
        s->pdt_ms = 1700000000000LL + msn * 2000;
        s->complete = complete;
        s->list_parts = i >= n - parts_window;
        s->parts = mo->parts[i];
        s->n_parts = (size_t)np;
    }
    mo->m.target_duration_s = 2;
    mo->m.part_target_ms = 200;
    mo->m.discontinuity_seq = 0;
    mo->m.segs = mo->segs;
    mo->m.n_segs = (size_t)n;
    static char hint[48];
    if (k_open > 0)
        snprintf(hint, sizeof(hint), "p-%lld-%d.m4s", (long long)(first_msn + n - 1), k_open);
    else
        snprintf(hint, sizeof(hint), "p-%lld-0.m4s", (long long)(first_msn + n));
    mo->m.preload_uri = hint;
}

static char *render(const gv_pl_media_t *m, gv_skip_t skip)
{
    char *out = NULL;
    size_t len = 0;
    int rc = gv_playlist_render_media(m, skip, &out, &len);
    GV_CHECK_INT(rc, 0);
    if (rc)
        return NULL;
    GV_CHECK_INT(strlen(out), len);
    return out;
}

static const char *HEADER = "#EXTM3U\n"
                            "#EXT-X-VERSION:9\n"
                            "#EXT-X-TARGETDURATION:2\n"
                            "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.600,"
                            "CAN-SKIP-UNTIL=12.000,HOLD-BACK=6.000\n"
                            "#EXT-X-PART-INF:PART-TARGET=0.200\n";

static void test_first_segment(void)
{
    static model_t mo;
    build(&mo, 0, 1, 2, 3);
    char *out = render(&mo.m, GV_SKIP_NONE);
    if (!out)
        return;
    char want[4096];
    snprintf(want, sizeof(want),
             "%s#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-DISCONTINUITY-SEQUENCE:0\n"
             "#EXT-X-MAP:URI=\"init-1.mp4\"\n"
             "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:20.000Z\n"
             "#EXT-X-PART:DURATION=0.20000,URI=\"p-0-0.m4s\",INDEPENDENT=YES\n"
             "#EXT-X-PART:DURATION=0.20000,URI=\"p-0-1.m4s\"\n"
             "#EXT-X-PART:DURATION=0.20000,URI=\"p-0-2.m4s\"\n"
             "#EXT-X-PART:DURATION=0.20000,URI=\"p-0-3.m4s\"\n"
             "#EXT-X-PART:DURATION=0.20000,URI=\"p-0-4.m4s\"\n"
             "#EXT-X-PART:DURATION=0.20000,URI=\"p-0-5.m4s\"\n"
             "#EXT-X-PART:DURATION=0.20000,URI=\"p-0-6.m4s\"\n"
             "#EXT-X-PART:DURATION=0.20000,URI=\"p-0-7.m4s\"\n"
             "#EXT-X-PART:DURATION=0.20000,URI=\"p-0-8.m4s\"\n"
             "#EXT-X-PART:DURATION=0.20000,URI=\"p-0-9.m4s\"\n"
             "#EXTINF:2.00000,\ns-0.m4s\n"
             "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:22.000Z\n"
             "#EXT-X-PART:DURATION=0.20000,URI=\"p-1-0.m4s\",INDEPENDENT=YES\n"
             "#EXT-X-PART:DURATION=0.20000,URI=\"p-1-1.m4s\"\n"
             "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"p-1-2.m4s\"\n",
             HEADER);
    GV_CHECK_STR(out, want);
    free(out);
}

static void test_normal_window(void)
{
    static model_t mo;
    /* 7 complete segments, only the last 2 complete ones list parts, plus an open one. */
    build(&mo, 100, 7, 1, 3);
    mo.m.discontinuity_seq = 4;
    char *out = render(&mo.m, GV_SKIP_NONE);
    if (!out)
        return;
    char want[8192];
    int off = snprintf(want, sizeof(want),
                       "%s#EXT-X-MEDIA-SEQUENCE:100\n#EXT-X-DISCONTINUITY-SEQUENCE:4\n"
                       "#EXT-X-MAP:URI=\"init-1.mp4\"\n",
                       HEADER);
    /* 1700000000 s is 2023-11-14T22:13:20Z; segment msn starts 2*msn s later. */
    for (int i = 0; i < 8; i++) {
        int secs = 13 * 60 + 20 + (100 + i) * 2;
        off += snprintf(want + off, sizeof(want) - (size_t)off,
                        "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:%02d:%02d.000Z\n", secs / 60,
                        secs % 60);
        int nparts = i < 5 ? 0 : i < 7 ? 10 : 1;
        for (int k = 0; k < nparts; k++)
            off += snprintf(want + off, sizeof(want) - (size_t)off,
                            "#EXT-X-PART:DURATION=0.20000,URI=\"p-%d-%d.m4s\"%s\n", 100 + i, k,
                            k == 0 ? ",INDEPENDENT=YES" : "");
        if (i < 7)
            off += snprintf(want + off, sizeof(want) - (size_t)off, "#EXTINF:2.00000,\ns-%d.m4s\n",
                            100 + i);
    }
    snprintf(want + off, sizeof(want) - (size_t)off,
             "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"p-107-1.m4s\"\n");
    GV_CHECK_STR(out, want);
    GV_CHECK(strstr(out, "#EXTINF:2.00000,\ns-100.m4s\n") != NULL);
    GV_CHECK(strstr(out, "p-104-") == NULL);      /* old segments: no parts */
    GV_CHECK(strstr(out, "p-105-0.m4s") != NULL); /* recent: parts listed */
    GV_CHECK(strstr(out, "#EXT-X-PART:DURATION=0.20000,URI=\"p-107-0.m4s\",INDEPENDENT=YES\n"
                         "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"p-107-1.m4s\"\n") != NULL);
    GV_CHECK(strstr(out, "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:16:40.000Z\n#EXTINF:2.00000,"
                         "\ns-100.m4s\n") != NULL);
    int pdt = 0;
    for (const char *p = out; (p = strstr(p, "#EXT-X-PROGRAM-DATE-TIME:")); p++)
        pdt++;
    GV_CHECK_INT(pdt, 8);
    GV_CHECK(strstr(out, "ENDLIST") == NULL);
    free(out);
}

static void test_discontinuity(void)
{
    static model_t mo;
    build(&mo, 10, 3, 2, 4);
    mo.segs[2].discontinuity = true;
    mo.segs[2].map_uri = "init-2.mp4";
    mo.segs[3].map_uri = "init-2.mp4";
    mo.m.discontinuity_seq = 1;
    char *out = render(&mo.m, GV_SKIP_NONE);
    if (!out)
        return;
    GV_CHECK(strstr(out, "#EXT-X-DISCONTINUITY-SEQUENCE:1\n") != NULL);
    GV_CHECK(strstr(out,
                    "#EXTINF:2.00000,\ns-11.m4s\n"
                    "#EXT-X-DISCONTINUITY\n"
                    "#EXT-X-MAP:URI=\"init-2.mp4\"\n"
                    "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:13:44.000Z\n"
                    "#EXT-X-PART:DURATION=0.20000,URI=\"p-12-0.m4s\",INDEPENDENT=YES\n") != NULL);
    /* The open segment shares init-2: no second MAP for it. */
    const char *m2 = strstr(out, "init-2.mp4");
    GV_CHECK(m2 && strstr(m2 + 1, "#EXT-X-MAP") == NULL);
    /* Exactly one DISCONTINUITY tag. */
    const char *d = strstr(out, "#EXT-X-DISCONTINUITY\n");
    GV_CHECK(d && strstr(d + 1, "#EXT-X-DISCONTINUITY\n") == NULL);
    free(out);
}

static void test_skip(void)
{
    static model_t mo;
    /* 12 complete 2 s segments + 3 parts (0.6 s): total 24.6 s; boundary 12.6 s from the
     * start, so segments ending at or before 12.6 s (6 of them) are skippable. */
    build(&mo, 50, 12, 3, 3);
    mo.segs[4].discontinuity = true; /* skipped: only counted in the header */
    mo.segs[4].map_uri = "init-2.mp4";
    for (int i = 5; i < 13; i++)
        mo.segs[i].map_uri = "init-2.mp4";
    mo.m.discontinuity_seq = 7;
    GV_CHECK_INT(gv_playlist_skippable(&mo.m), 6);
    for (int v = 0; v < 2; v++) {
        char *out = render(&mo.m, v ? GV_SKIP_V2 : GV_SKIP_YES);
        if (!out)
            return;
        char want[1024];
        snprintf(want, sizeof(want),
                 "%s#EXT-X-MEDIA-SEQUENCE:50\n#EXT-X-DISCONTINUITY-SEQUENCE:7\n"
                 "#EXT-X-SKIP:SKIPPED-SEGMENTS=6%s\n"
                 "#EXT-X-MAP:URI=\"init-2.mp4\"\n"
                 "#EXT-X-PROGRAM-DATE-TIME:2023-11-14T22:15:12.000Z\n"
                 "#EXTINF:2.00000,\ns-56.m4s\n",
                 HEADER, v ? ",RECENTLY-REMOVED-DATERANGES=\"\"" : "");
        GV_CHECK(strncmp(out, want, strlen(want)) == 0);
        if (strncmp(out, want, strlen(want)) != 0)
            fprintf(stderr, "got:\n%s\nwant prefix:\n%s\n", out, want);
        GV_CHECK(strstr(out, "s-55.m4s") == NULL);
        GV_CHECK(strstr(out, "#EXT-X-DISCONTINUITY\n") == NULL);
        GV_CHECK(strstr(out, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"p-62-3.m4s\"\n") != NULL);
        free(out);
    }
    /* Too short to skip anything: no SKIP tag at all. */
    build(&mo, 0, 5, 1, 3);
    char *out = render(&mo.m, GV_SKIP_YES);
    if (out) {
        GV_CHECK(strstr(out, "EXT-X-SKIP") == NULL);
        GV_CHECK(strstr(out, "s-0.m4s") != NULL);
        free(out);
    }
}

static void test_dateranges(void)
{
    static model_t mo;
    build(&mo, 50, 12, 3, 3);
    gv_pl_daterange_t old = {.id = "lot-1-start", .klass = "com.gavel.lot",
                             .attrs = "X-LOT-ID=\"1\"", .start_ms = 1700000001500,
                             .duration_s = -1};
    gv_pl_daterange_t fresh = {.id = "lot-1-end", .klass = "com.gavel.lot",
                               .attrs = "X-LOT-ID=\"1\",X-STATE=\"sold\"",
                               .start_ms = 1700000030250, .duration_s = 2.5};
    mo.segs[1].dateranges = &old;
    mo.segs[1].n_dateranges = 1;
    mo.segs[11].dateranges = &fresh;
    mo.segs[11].n_dateranges = 1;
    const char *removed[] = {"lot-0-start", "lot-0-end"};
    mo.m.removed_daterange_ids = removed;
    mo.m.n_removed_dateranges = 2;
    char *full = render(&mo.m, GV_SKIP_NONE);
    char *yes = render(&mo.m, GV_SKIP_YES);
    char *v2 = render(&mo.m, GV_SKIP_V2);
    const char *old_line = "#EXT-X-DATERANGE:ID=\"lot-1-start\",CLASS=\"com.gavel.lot\","
                           "START-DATE=\"2023-11-14T22:13:21.500Z\",X-LOT-ID=\"1\"\n";
    const char *new_line = "#EXT-X-DATERANGE:ID=\"lot-1-end\",CLASS=\"com.gavel.lot\","
                           "START-DATE=\"2023-11-14T22:13:50.250Z\",DURATION=2.500,"
                           "X-LOT-ID=\"1\",X-STATE=\"sold\"\n";
    if (full && yes && v2) {
        /* Full: each range right after its segment's PDT, before its parts/EXTINF. */
        const char *o = strstr(full, old_line);
        GV_CHECK(o != NULL);
        GV_CHECK(o && strstr(o, "s-51.m4s") != NULL && strstr(o, "s-52.m4s") != NULL);
        GV_CHECK(strstr(full, new_line) != NULL);
        GV_CHECK(strstr(full, "RECENTLY-REMOVED") == NULL);
        /* YES: segment 51 is skipped but its range must still be there, after the skip. */
        const char *sk = strstr(yes, "#EXT-X-SKIP:SKIPPED-SEGMENTS=6\n");
        GV_CHECK(sk != NULL);
        GV_CHECK(sk && strstr(sk, old_line) != NULL);
        GV_CHECK(strstr(yes, new_line) != NULL);
        /* v2: skipped ranges may go, and the recently removed ones are listed. */
        GV_CHECK(strstr(v2, old_line) == NULL);
        GV_CHECK(strstr(v2, new_line) != NULL);
        GV_CHECK(strstr(v2, "#EXT-X-SKIP:SKIPPED-SEGMENTS=6,RECENTLY-REMOVED-DATERANGES="
                            "\"lot-0-start\tlot-0-end\"\n") != NULL);
    }
    free(full);
    free(yes);
    free(v2);
}

static void test_ended(void)
{
    static model_t mo;
    build(&mo, 3, 4, 0, 3);
    mo.m.ended = true;
    char *out = render(&mo.m, GV_SKIP_NONE);
    if (!out)
        return;
    size_t n = strlen(out);
    const char *tail = "#EXTINF:2.00000,\ns-6.m4s\n#EXT-X-ENDLIST\n";
    GV_CHECK(n > strlen(tail) && strcmp(out + n - strlen(tail), tail) == 0);
    GV_CHECK(strstr(out, "PRELOAD-HINT") == NULL);
    free(out);
}

static void test_invalid(void)
{
    gv_pl_media_t m = {.target_duration_s = 2, .part_target_ms = 200};
    char *out = NULL;
    size_t len = 0;
    GV_CHECK_INT(gv_playlist_render_media(&m, GV_SKIP_NONE, &out, &len), GV_EINVAL);
    GV_CHECK_INT(gv_playlist_render_media(NULL, GV_SKIP_NONE, &out, &len), GV_EINVAL);
    gv_pl_variant_t v = {0};
    GV_CHECK_INT(gv_playlist_render_multivariant(&v, &out, &len), GV_EINVAL);
}

/* Rule checks over a rendered playlist: every part <= PART-TARGET, INDEPENDENT exactly where
 * the description says so, PDT/MAP before the first part, and the hint equals the URI of the
 * next EXT-X-PART after one more part is pushed. */
static void test_rules(void)
{
    static model_t mo;
    build(&mo, 0, 3, 4, 4);
    mo.parts[1][3].duration = T / 5 - 9; /* slightly short part */
    char *out = render(&mo.m, GV_SKIP_NONE);
    if (!out)
        return;
    char hint[64] = "";
    const char *h = strstr(out, "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"");
    GV_CHECK(h != NULL);
    if (h)
        sscanf(h + strlen("#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\""), "%63[^\"]", hint);
    int indep = 0;
    for (const char *p = out; (p = strstr(p, "#EXT-X-PART:DURATION=")); p++) {
        double d = strtod(p + strlen("#EXT-X-PART:DURATION="), NULL);
        GV_CHECK(d <= 0.2 + 1e-9);
        const char *eol = strchr(p, '\n');
        const char *ind = strstr(p, "INDEPENDENT=YES");
        if (ind && ind < eol) {
            indep++;
            GV_CHECK(strstr(p, "-0.m4s\"") && strstr(p, "-0.m4s\"") < eol);
        }
    }
    GV_CHECK_INT(indep, 4);
    GV_CHECK(strstr(out, "DURATION=0.19990,") != NULL);
    free(out);
    /* Push one more part: it must carry the hinted URI. */
    build(&mo, 0, 3, 5, 4);
    out = render(&mo.m, GV_SKIP_NONE);
    if (!out)
        return;
    char line[128];
    snprintf(line, sizeof(line), "#EXT-X-PART:DURATION=0.20000,URI=\"%s\"\n", hint);
    GV_CHECK(strstr(out, line) != NULL);
    free(out);
}

static void test_multivariant(void)
{
    gv_pl_variant_t v = {
        .bandwidth = 3200000,
        .average_bandwidth = 2900000,
        .codecs = "avc1.64001f,mp4a.40.2",
        .width = 1280,
        .height = 720,
        .frame_rate = 30000.0 / 1001.0,
        .independent_segments = true,
        .uri = "media.m3u8",
    };
    char *out = NULL;
    size_t len = 0;
    GV_CHECK_INT(gv_playlist_render_multivariant(&v, &out, &len), 0);
    GV_CHECK_STR(out, "#EXTM3U\n#EXT-X-VERSION:9\n#EXT-X-INDEPENDENT-SEGMENTS\n"
                      "#EXT-X-STREAM-INF:BANDWIDTH=3200000,AVERAGE-BANDWIDTH=2900000,"
                      "CODECS=\"avc1.64001f,mp4a.40.2\",RESOLUTION=1280x720,FRAME-RATE=29.970\n"
                      "media.m3u8\n");
    free(out);
    v.width = 0;
    v.frame_rate = 0;
    v.independent_segments = false;
    v.average_bandwidth = 0;
    GV_CHECK_INT(gv_playlist_render_multivariant(&v, &out, &len), 0);
    GV_CHECK_STR(out, "#EXTM3U\n#EXT-X-VERSION:9\n"
                      "#EXT-X-STREAM-INF:BANDWIDTH=3200000,CODECS=\"avc1.64001f,mp4a.40.2\"\n"
                      "media.m3u8\n");
    free(out);
}

static void test_fmt_ticks(void)
{
    char b[32];
    gv_playlist_fmt_ticks(b, sizeof(b), 90000, 5);
    GV_CHECK_STR(b, "1.00000");
    gv_playlist_fmt_ticks(b, sizeof(b), 3003, 5);
    GV_CHECK_STR(b, "0.03337");
    gv_playlist_fmt_ticks(b, sizeof(b), 180000 * 3, 3);
    GV_CHECK_STR(b, "6.000");
    gv_playlist_fmt_ticks(b, sizeof(b), 0, 5);
    GV_CHECK_STR(b, "0.00000");
}

/* PROGRAM-DATE-TIME is formatted without gmtime_r: compare with it over leap years, century
 * rules, month ends and millisecond carries. */
static void test_pdt_calendar(void)
{
    static const int64_t fixed[] = {0, 999, 951782399999LL /* 2000-02-28T23:59:59.999 */,
                                    951868800000LL /* 2000-03-01 */, 1709251199500LL,
                                    4107542400000LL /* 2100-03-01 */, 253402300799999LL};
    model_t mo;
    build(&mo, 0, 1, 0, 1);
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 2000; i++) {
        int64_t ms;
        if (i < (int)(sizeof(fixed) / sizeof(fixed[0]))) {
            ms = fixed[i];
        } else {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            ms = (int64_t)(x % 253402300800000ULL);
        }
        mo.segs[0].pdt_ms = ms;
        time_t t = (time_t)(ms / 1000);
        struct tm tm;
        GV_CHECK(gmtime_r(&t, &tm) != NULL);
        char want[96];
        snprintf(want, sizeof(want), "#EXT-X-PROGRAM-DATE-TIME:%04d-%02d-%02dT%02d:%02d:%02d.%03dZ\n",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                 (int)(ms % 1000));
        char *out = render(&mo.m, GV_SKIP_NONE);
        GV_CHECK(out && strstr(out, want) != NULL);
        if (out && !strstr(out, want)) {
            fprintf(stderr, "ms %lld: want %s", (long long)ms, want);
            free(out);
            break;
        }
        free(out);
    }
}

GV_TEST_MAIN(GV_TEST(test_first_segment), GV_TEST(test_normal_window), GV_TEST(test_discontinuity),
             GV_TEST(test_skip), GV_TEST(test_dateranges), GV_TEST(test_ended), GV_TEST(test_invalid), GV_TEST(test_rules),
             GV_TEST(test_multivariant), GV_TEST(test_fmt_ticks), GV_TEST(test_pdt_calendar))
