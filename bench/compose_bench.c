/* Compose cost per frame: the lot card (640x200 at 720p, scaled) composed onto yuv420p frames
 * at 720p and 1080p, in three scenarios: (a) steady state, nothing changes; (b) the countdown
 * ticks every second; (c) as (b) plus a new bid every 10 frames (re-render, highlight, convert).
 * Frames advance 1/30 s of lot time each. Prints mean and p99 per scenario, in ms, of the
 * thread's CPU time (robust on a shared machine) and of wall-clock time.
 *
 *   compose_bench [frames]      (default 3000 frames per scenario; build optimised) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "overlay/compose.h"

static int cmp_double(const void *a, const void *b);

static double clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

typedef struct {
    double mean, p99;
} stat_t;

static stat_t summarize(double *t, int n)
{
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += t[i];
    qsort(t, n, sizeof(double), cmp_double);
    stat_t s = {sum / n, t[(int)(n * 0.99)]};
    return s;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static gv_lot_t make_lot(int64_t ends_at_ms)
{
    gv_lot_t l;
    memset(&l, 0, sizeof(l));
    snprintf(l.id, sizeof(l.id), "lot-42");
    snprintf(l.title, sizeof(l.title), "1986 Fleer RC Clyde Drexler BGS 8.5 Auto");
    snprintf(l.currency, sizeof(l.currency), "USD");
    snprintf(l.leader, sizeof(l.leader), "drexler_fan");
    l.current_bid = 125000;
    l.bid_count = 23;
    l.ends_at_ms = ends_at_ms;
    l.state = GV_LOT_LIVE;
    snprintf(l.labels[0], sizeof(l.labels[0]), "Free shipping");
    l.n_labels = 1;
    return l;
}

typedef enum { STEADY, TICK, BIDS } scenario_t;

static int run(int fw, int fh, scenario_t sc, int frames, stat_t *cpu, stat_t *wall)
{
    gv_overlay_config_t cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.card_width = 640;
    cfg.card_height = 200;
    cfg.margin = 24;
    cfg.position = "bottom-left";
    gv_composer_t *c = gv_composer_create(&cfg, fw, fh, GV_CS_BT709);
    if (!c)
        return -1;
    uint8_t *planes[3];
    int ls[3] = {fw, fw / 2, fw / 2};
    for (int p = 0; p < 3; p++) {
        int ph = p ? fh / 2 : fh;
        planes[p] = malloc((size_t)ls[p] * ph);
        for (int y = 0; y < ph; y++)
            for (int x = 0; x < ls[p]; x++)
                planes[p][(size_t)y * ls[p] + x] =
                    (uint8_t)(p ? 128 + (x - y) % 32 : 16 + (x + y) % 220);
    }
    int64_t t0 = 1714588200000LL, ends = t0 + 50 * 60 * 1000;
    gv_lot_t lot = make_lot(ends);
    uint64_t version = 1;
    gv_composer_set_lot(c, &lot, version, NULL, 0, 0, 0);
    gv_composer_apply(c, t0, planes, ls); /* first render: fonts load; not measured */

    double *tc = malloc(sizeof(double) * frames), *tw = malloc(sizeof(double) * frames);
    for (int i = 0; i < frames; i++) {
        int64_t now = sc == STEADY ? t0 : t0 + (int64_t)i * 1000 / 30;
        double a = clock_ms(CLOCK_MONOTONIC), ac = clock_ms(CLOCK_THREAD_CPUTIME_ID);
        if (sc == BIDS && i % 10 == 9) {
            lot.current_bid += 500;
            lot.bid_count++;
            gv_composer_set_lot(c, &lot, ++version, NULL, 0, 0, 0);
        }
        gv_composer_apply(c, now, planes, ls);
        tc[i] = clock_ms(CLOCK_THREAD_CPUTIME_ID) - ac;
        tw[i] = clock_ms(CLOCK_MONOTONIC) - a;
    }
    *cpu = summarize(tc, frames);
    *wall = summarize(tw, frames);
    free(tc);
    free(tw);
    for (int p = 0; p < 3; p++)
        free(planes[p]);
    gv_composer_destroy(c);
    return 0;
}

int main(int argc, char **argv)
{
    int frames = 3000;
    if (argc > 1) {
        char *end;
        long v = strtol(argv[1], &end, 10);
        if (*end || v < 100 || v > 1000000) {
            fprintf(stderr, "usage: %s [frames >= 100]\n", argv[0]);
            return 2;
        }
        frames = (int)v;
    }
    static const char *const names[] = {"steady (no change)", "timer tick each second",
                                        "bid every 10 frames"};
    static const int res[2][2] = {{1280, 720}, {1920, 1080}};
    printf("gavel compose, card 640x200 @720p (scaled), %d frames per row, ms/frame\n", frames);
    printf("%-6s %-24s %10s %10s %10s %10s\n", "frame", "scenario", "cpu mean", "cpu p99",
           "wall mean", "wall p99");
    for (int r = 0; r < 2; r++) {
        for (int s = 0; s < 3; s++) {
            stat_t cpu, wall;
            if (run(res[r][0], res[r][1], (scenario_t)s, frames, &cpu, &wall) != 0) {
                fprintf(stderr, "composer create failed\n");
                return 1;
            }
            char fr[16];
            snprintf(fr, sizeof(fr), "%dp", res[r][1]);
            printf("%-6s %-24s %10.4f %10.4f %10.4f %10.4f\n", fr, names[s], cpu.mean, cpu.p99,
                   wall.mean, wall.p99);
            fflush(stdout);
        }
    }
    return 0;
}
