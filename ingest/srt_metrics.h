/* Prometheus text for SRT publishers' transport statistics (see srt_metrics.c). */
#ifndef GV_SRT_METRICS_H
#define GV_SRT_METRICS_H

#include <stddef.h>

#include "ingest/ingest.h"

/* Renders the gavel_srt_* metric families for n publishers into buf (NUL-terminated, at most
 * cap bytes). Returns the length written, or the length needed when it does not fit (like
 * snprintf). Families are declared even when n is 0, so dashboards see them from the start. */
size_t gv_srt_metrics_render(const gv_srt_stats_t *st, size_t n, char *buf, size_t cap);

#endif
