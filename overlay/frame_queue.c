/* Bounded ordered queue between the decode and the compose+encode threads (see
 * frame_queue.h): a fixed ring of items under one mutex, two condition variables. */
#include "overlay/frame_queue.h"

#include <pthread.h>
#include <stdlib.h>

#include "core/error.h"

struct gv_frame_queue {
    pthread_mutex_t mu;
    pthread_cond_t not_full, not_empty;
    gv_fq_item_t *ring;
    int cap_items, cap_pictures;
    int head, n, pictures;
    bool closed;
};

gv_frame_queue_t *gv_frame_queue_create(int max_pictures, int max_items)
{
    if (max_pictures < 1 || max_items < max_pictures)
        return NULL;
    gv_frame_queue_t *q = calloc(1, sizeof(*q));
    if (!q)
        return NULL;
    q->ring = calloc((size_t)max_items, sizeof(*q->ring));
    if (!q->ring) {
        free(q);
        return NULL;
    }
    q->cap_items = max_items;
    q->cap_pictures = max_pictures;
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->not_full, NULL);
    pthread_cond_init(&q->not_empty, NULL);
    return q;
}

void gv_frame_queue_destroy(gv_frame_queue_t *q, void (*free_data)(gv_fq_item_t *it))
{
    if (!q)
        return;
    for (int i = 0; i < q->n; i++) {
        gv_fq_item_t *it = &q->ring[(q->head + i) % q->cap_items];
        if (free_data)
            free_data(it);
    }
    pthread_cond_destroy(&q->not_empty);
    pthread_cond_destroy(&q->not_full);
    pthread_mutex_destroy(&q->mu);
    free(q->ring);
    free(q);
}

static bool full(const gv_frame_queue_t *q, bool picture)
{
    return q->n == q->cap_items || (picture && q->pictures >= q->cap_pictures);
}

int gv_frame_queue_push(gv_frame_queue_t *q, const gv_fq_item_t *it)
{
    pthread_mutex_lock(&q->mu);
    while (!q->closed && full(q, it->picture))
        pthread_cond_wait(&q->not_full, &q->mu);
    if (q->closed) {
        pthread_mutex_unlock(&q->mu);
        return GV_ECLOSED;
    }
    q->ring[(q->head + q->n) % q->cap_items] = *it;
    q->n++;
    if (it->picture)
        q->pictures++;
    pthread_cond_signal(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

int gv_frame_queue_pop(gv_frame_queue_t *q, gv_fq_item_t *out)
{
    pthread_mutex_lock(&q->mu);
    while (q->n == 0 && !q->closed)
        pthread_cond_wait(&q->not_empty, &q->mu);
    if (q->n == 0) {
        pthread_mutex_unlock(&q->mu);
        return GV_ECLOSED;
    }
    *out = q->ring[q->head];
    q->head = (q->head + 1) % q->cap_items;
    q->n--;
    if (out->picture)
        q->pictures--;
    pthread_cond_signal(&q->not_full);
    pthread_mutex_unlock(&q->mu);
    return 0;
}

void gv_frame_queue_close(gv_frame_queue_t *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = true;
    pthread_cond_broadcast(&q->not_full);
    pthread_cond_broadcast(&q->not_empty);
    pthread_mutex_unlock(&q->mu);
}

int gv_frame_queue_pictures(gv_frame_queue_t *q)
{
    pthread_mutex_lock(&q->mu);
    int n = q->pictures;
    pthread_mutex_unlock(&q->mu);
    return n;
}

int gv_frame_queue_items(gv_frame_queue_t *q)
{
    pthread_mutex_lock(&q->mu);
    int n = q->n;
    pthread_mutex_unlock(&q->mu);
    return n;
}
