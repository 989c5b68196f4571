/* Stream registry: one stream per configured (name, key), each owning its packager and its
 * current publisher. Applies the duplicate-publisher policy (ingest.on_duplicate):
 *   takeover-stale (default): a newcomer with the right key replaces a publisher that has sent
 *     no media for ingest.stale_ms (an encoder whose TCP connection died without a FIN, the usual
 *     case when OBS reconnects), and is refused while the current one is still sending, so two
 *     encoders configured with the same key cannot knock each other off in a loop;
 *   takeover: the newcomer always wins; reject: the newcomer is always refused. */
#include "core/stream.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/log.h"
#include "core/secure.h"
#include "overlay/overlay.h"
#include "packager/packager.h"

struct gv_stream {
    gv_stream_config_t cfg; /* borrowed strings from the config */
    gv_pkg_t *pkg;
    gv_overlay_t *ov; /* NULL unless overlay.enabled: then media goes through it to pkg */
    pthread_mutex_t lock;
    gv_publisher_t *publisher;
    gv_dup_policy_t policy;
    int64_t stale_us;
};

struct gv_registry {
    gv_stream_t *streams;
    size_t n;
};

gv_registry_t *gv_registry_create(const gv_config_t *cfg)
{
    gv_registry_t *reg = calloc(1, sizeof(*reg));
    if (!reg)
        return NULL;
    reg->streams = calloc(cfg->n_streams ? cfg->n_streams : 1, sizeof(*reg->streams));
    if (!reg->streams)
        goto fail;
    gv_pkg_opts_t opts = {
        .part_target_ms = cfg->hls.part_target_ms,
        .segment_target_ms = cfg->hls.segment_target_ms,
        .window_segments = cfg->hls.window_segments,
    };
    for (size_t i = 0; i < cfg->n_streams; i++) {
        gv_stream_t *s = &reg->streams[i];
        s->cfg = cfg->streams[i];
        s->policy = cfg->ingest.on_duplicate;
        s->stale_us = (int64_t)cfg->ingest.stale_ms * 1000;
        pthread_mutex_init(&s->lock, NULL);
        reg->n = i + 1;
        s->pkg = gv_pkg_create(s->cfg.name, &opts);
        if (!s->pkg)
            goto fail;
        if (s->cfg.overlay.enabled) {
            s->ov = gv_overlay_create(s->cfg.name, &cfg->streams[i].overlay,
                                      cfg->hls.segment_target_ms, s->pkg);
            if (!s->ov)
                goto fail;
        }
    }
    return reg;
fail:
    gv_registry_destroy(reg);
    return NULL;
}

void gv_registry_destroy(gv_registry_t *reg)
{
    if (!reg)
        return;
    for (size_t i = 0; i < reg->n; i++) {
        gv_overlay_destroy(reg->streams[i].ov); /* its worker feeds pkg: stop it first */
        gv_pkg_destroy(reg->streams[i].pkg);
        pthread_mutex_destroy(&reg->streams[i].lock);
    }
    free(reg->streams);
    free(reg);
}

gv_stream_t *gv_registry_find_by_key(gv_registry_t *reg, const char *key)
{
    /* Every key is compared, even after a match, so timing does not tell which stream it is. */
    gv_stream_t *found = NULL;
    size_t n = strlen(key);
    for (size_t i = 0; i < reg->n; i++) {
        const char *k = reg->streams[i].cfg.key;
        if (gv_secure_equal(k, strlen(k), key, n) && !found)
            found = &reg->streams[i];
    }
    return found;
}

gv_stream_t *gv_registry_find_by_name(gv_registry_t *reg, const char *name)
{
    for (size_t i = 0; i < reg->n; i++)
        if (!strcmp(reg->streams[i].cfg.name, name))
            return &reg->streams[i];
    return NULL;
}

size_t gv_registry_count(gv_registry_t *reg)
{
    return reg->n;
}

gv_stream_t *gv_registry_at(gv_registry_t *reg, size_t i)
{
    return i < reg->n ? &reg->streams[i] : NULL;
}

/* The policy decision shared by attach and the pre-accept check; caller holds s->lock. */
static bool policy_accepts(const gv_stream_t *s, int64_t *idle_out)
{
    gv_publisher_t *old = s->publisher;
    if (!old)
        return true;
    int64_t idle = gv_mono_us() - old->last_media_mono_us;
    if (idle_out)
        *idle_out = idle;
    return s->policy == GV_DUP_TAKEOVER ||
           (s->policy == GV_DUP_TAKEOVER_STALE && idle >= s->stale_us);
}

bool gv_stream_would_accept(gv_stream_t *s)
{
    pthread_mutex_lock(&s->lock);
    bool ok = policy_accepts(s, NULL);
    pthread_mutex_unlock(&s->lock);
    return ok;
}

/* Forgets the current publisher and tells the stage it fed that its input ended. Called with
 * s->lock held. */
static void drop_publisher(gv_stream_t *s)
{
    s->publisher = NULL;
    if (s->ov)
        gv_overlay_publish_end(s->ov);
    else
        gv_pkg_publish_end(s->pkg);
}

int gv_stream_attach(gv_stream_t *s, gv_publisher_t *p)
{
    pthread_mutex_lock(&s->lock);
    gv_publisher_t *old = s->publisher;
    if (old) {
        int64_t idle = 0;
        if (!policy_accepts(s, &idle)) {
            pthread_mutex_unlock(&s->lock);
            gv_log(GV_LOG_WARN, s->cfg.name,
                   "refused %s publisher %s: stream is being published by %s %s "
                   "(last media %lld ms ago)",
                   p->proto, p->peer, old->proto, old->peer, (long long)(idle / 1000));
            return GV_EBUSY;
        }
        gv_log(GV_LOG_WARN, s->cfg.name, "%s publisher %s takes over from %s %s (idle %lld ms)",
               p->proto, p->peer, old->proto, old->peer, (long long)(idle / 1000));
        drop_publisher(s);
        old->kick(old, "taken over by a newer publisher");
    }
    p->last_media_mono_us = gv_mono_us();
    s->publisher = p;
    if (s->ov)
        gv_overlay_publish_begin(s->ov);
    else
        gv_pkg_publish_begin(s->pkg);
    pthread_mutex_unlock(&s->lock);
    gv_log(GV_LOG_INFO, s->cfg.name, "publish started by %s %s", p->proto, p->peer);
    return 0;
}

void gv_stream_detach(gv_stream_t *s, gv_publisher_t *p)
{
    pthread_mutex_lock(&s->lock);
    bool was = s->publisher == p;
    if (was) {
        drop_publisher(s);
    }
    pthread_mutex_unlock(&s->lock);
    if (was)
        gv_log(GV_LOG_INFO, s->cfg.name, "publish ended by %s %s", p->proto, p->peer);
}

int gv_stream_push(gv_stream_t *s, gv_publisher_t *p, gv_unit_t *u)
{
    pthread_mutex_lock(&s->lock);
    if (s->publisher != p) {
        pthread_mutex_unlock(&s->lock);
        return GV_ECLOSED;
    }
    p->last_media_mono_us = gv_mono_us();
    int rc = s->ov ? gv_overlay_push(s->ov, u) : gv_pkg_push(s->pkg, u);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

void gv_registry_finish_all(gv_registry_t *reg)
{
    for (size_t i = 0; i < reg->n; i++) {
        gv_stream_t *s = &reg->streams[i];
        pthread_mutex_lock(&s->lock);
        s->publisher = NULL;
        gv_pkg_finish(s->pkg);
        pthread_mutex_unlock(&s->lock);
    }
}

const char *gv_stream_name(const gv_stream_t *s)
{
    return s->cfg.name;
}

const gv_stream_config_t *gv_stream_config(const gv_stream_t *s)
{
    return &s->cfg;
}

gv_pkg_t *gv_stream_packager(gv_stream_t *s)
{
    return s->pkg;
}

gv_overlay_t *gv_stream_overlay(gv_stream_t *s)
{
    return s->ov;
}

bool gv_stream_is_live(gv_stream_t *s)
{
    pthread_mutex_lock(&s->lock);
    bool live = s->publisher != NULL;
    pthread_mutex_unlock(&s->lock);
    return live;
}
