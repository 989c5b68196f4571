/* Overlay-internal: what the control API needs from a stream's transcode worker. */
#ifndef GV_OVERLAY_WORKER_H
#define GV_OVERLAY_WORKER_H

#include "overlay/lot_store.h"
#include "overlay/overlay.h"

/* The worker's lot state (lives as long as the worker). */
gv_lot_store_t *gv_overlay_lot_store(gv_overlay_t *ov);

#endif
