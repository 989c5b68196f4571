/* Refcounted media units and codec config records (see media.h). */
#include "core/media.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

gv_codec_config_t *gv_codec_config_create(gv_codec_t codec, const uint8_t *data, size_t size)
{
    gv_codec_config_t *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->data = malloc(size ? size : 1);
    if (!c->data) {
        free(c);
        return NULL;
    }
    if (size)
        memcpy(c->data, data, size);
    c->size = size;
    c->codec = codec;
    c->refs = 1;
    return c;
}

gv_codec_config_t *gv_codec_config_ref(gv_codec_config_t *c)
{
    if (c)
        __atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
    return c;
}

void gv_codec_config_unref(gv_codec_config_t *c)
{
    if (c && __atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        free(c->data);
        free(c);
    }
}

bool gv_codec_config_equal(const gv_codec_config_t *a, const gv_codec_config_t *b)
{
    if (a == b)
        return true;
    if (!a || !b)
        return false;
    return a->codec == b->codec && a->size == b->size && memcmp(a->data, b->data, a->size) == 0;
}

gv_unit_t *gv_unit_create(gv_track_t track, gv_codec_config_t *config, const uint8_t *payload,
                          size_t size)
{
    gv_unit_t *u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    u->data = malloc(size ? size : 1);
    if (!u->data) {
        free(u);
        return NULL;
    }
    if (size)
        memcpy(u->data, payload, size);
    u->size = size;
    u->track = track;
    u->config = gv_codec_config_ref(config);
    u->codec = config ? config->codec : GV_CODEC_NONE;
    u->keyframe = track == GV_TRACK_AUDIO;
    u->refs = 1;
    u->arrival_us = gv_now_us();
    return u;
}

gv_unit_t *gv_unit_ref(gv_unit_t *u)
{
    if (u)
        __atomic_add_fetch(&u->refs, 1, __ATOMIC_RELAXED);
    return u;
}

void gv_unit_unref(gv_unit_t *u)
{
    if (u && __atomic_sub_fetch(&u->refs, 1, __ATOMIC_ACQ_REL) == 0) {
        gv_codec_config_unref(u->config);
        free(u->data);
        free(u);
    }
}

int64_t gv_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t gv_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const char *gv_codec_name(gv_codec_t c)
{
    switch (c) {
    case GV_CODEC_H264:
        return "h264";
    case GV_CODEC_HEVC:
        return "hevc";
    case GV_CODEC_AAC:
        return "aac";
    default:
        return "none";
    }
}
