/* The per-stream player page served at /watch/<name>: hls.js in low-latency mode, tuned from the
 * stream's part and segment targets, with a small status line (latency, buffer) so a person can
 * see the stream is live. Exposes window.gvPlayer (the Hls instance) and window.gvErrors (fatal
 * errors) for browser tests. */
#include <stdio.h>

#include <event2/buffer.h>

#include "packager/origin_http.h"

/* Milliseconds as decimal seconds ("0.600"), independent of the C locale. */
static void fmt_s(char *out, size_t cap, int ms)
{
    snprintf(out, cap, "%d.%03d", ms / 1000, ms % 1000);
}

/* hls.js settings (1.6), all derived from the playlist's targets:
 * - liveSyncDuration = PART-HOLD-BACK (3 parts): where the player joins and what it aims for.
 * - liveMaxLatencyDuration = target + 2 parts: on a playlist update with the playhead further
 *   than that behind the edge, hls.js seeks to the target (within the buffer: liveSyncMode
 *   "buffered"). It is raised with the target after a stall so the two never chase each other.
 * - Smaller drift is caught up by playing at 1.1x while the latency is more than half a part
 *   above the target and more than 2 parts are buffered. hls.js's own catch-up is off
 *   (maxLiveSyncPlaybackRate 1): it only runs with more than 1 s buffered, which never happens
 *   this close to the edge, and would reset the rate otherwise.
 * - liveSyncOnStallIncrease = 1 part (hls.js default: 1 s): each stall backs the target off by
 *   one part (hls.js caps the total at the target duration); after 30 s without a stall the
 *   page steps it back down by one part, never below PART-HOLD-BACK.
 * - The video starts playing once hls.js has buffered its start position, not when the
 *   manifest is parsed: an early play() makes hls.js see a stall at time 0 before it seeks to
 *   the start position, which would add a stall step to the target from the first second. */
void gv_origin_player_page(struct evbuffer *buf, const char *name, int part_target_ms,
                           int segment_target_ms)
{
    if (part_target_ms <= 0)
        part_target_ms = 200;
    if (segment_target_ms < 2 * part_target_ms)
        segment_target_ms = 2 * part_target_ms;
    char sync[32], maxlat[32], step[32], back[32];
    fmt_s(sync, sizeof(sync), 3 * part_target_ms);
    fmt_s(maxlat, sizeof(maxlat), 5 * part_target_ms);
    fmt_s(step, sizeof(step), part_target_ms);
    fmt_s(back, sizeof(back), 2 * segment_target_ms);
    evbuffer_add_printf(
        buf,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>gavel: %s</title>\n"
        "<style>body{margin:0;background:#111;color:#ddd;font:14px system-ui,sans-serif}"
        "video{display:block;width:100%%;max-height:90vh;background:#000}"
        "#status{padding:8px 12px}</style>\n"
        "</head><body>\n"
        "<video id=\"video\" muted autoplay playsinline controls></video>\n"
        "<div id=\"status\">loading&hellip;</div>\n"
        "<script src=\"/assets/hls.min.js\"></script>\n"
        "<script>\n"
        "(function(){\n"
        "  var src = '/live/%s/index.m3u8';\n"
        "  var video = document.getElementById('video');\n"
        "  var status = document.getElementById('status');\n"
        "  var SYNC = %s, MAXLAT = %s, STEP = %s;\n"
        "  window.gvErrors = [];\n"
        "  if (window.Hls && Hls.isSupported()) {\n"
        "    var hls = new Hls({lowLatencyMode: true, liveSyncDuration: SYNC,\n"
        "                       liveMaxLatencyDuration: MAXLAT, liveSyncMode: 'buffered',\n"
        "                       liveSyncOnStallIncrease: STEP, maxLiveSyncPlaybackRate: 1,\n"
        "                       backBufferLength: %s,\n"
        "                       manifestLoadingMaxRetry: 60, manifestLoadingRetryDelay: 1000});\n"
        "    window.gvPlayer = hls;\n"
        "    var lastStall = 0, started = false;\n"
        "    var follow = function(){ hls.config.liveMaxLatencyDuration =\n"
        "      Math.max(MAXLAT, (hls.targetLatency || SYNC) + MAXLAT - SYNC); };\n"
        "    hls.on(Hls.Events.ERROR, function(e, d){\n"
        "      if (d.details === Hls.ErrorDetails.BUFFER_STALLED_ERROR) {\n"
        "        lastStall = Date.now(); follow(); }\n"
        "      if (d.fatal) { window.gvErrors.push(d.type + ': ' + d.details);\n"
        "        status.textContent = 'error: ' + d.details;\n"
        "        if (d.type === Hls.ErrorTypes.NETWORK_ERROR) setTimeout(function(){"
        " hls.loadSource(src); }, 1000);\n"
        "        else if (d.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError(); }\n"
        "    });\n"
        "    hls.on(Hls.Events.FRAG_BUFFERED, function(){\n"
        "      if (!started) { started = true; video.play().catch(function(){}); }\n"
        "    });\n"
        "    hls.on(Hls.Events.MANIFEST_LOADING, function(){ started = false; });\n"
        "    video.addEventListener('playing', function(){\n"
        "      if (!lastStall) { lastStall = Date.now(); hls.targetLatency = SYNC; follow(); }\n"
        "    });\n"
        "    video.addEventListener('timeupdate', function(){\n"
        "      var lat = hls.latency, t = hls.targetLatency, b = video.buffered;\n"
        "      var fwd = b.length ? b.end(b.length-1) - video.currentTime : 0;\n"
        "      var fast = video.playbackRate > 1;\n"
        "      var want = (lat > 0 && t !== null && (fast ? lat > t + 0.02 && fwd > 1.5*STEP\n"
        "                  : lat > t + STEP/2 && fwd > 2*STEP)) ? 1.1 : 1;\n"
        "      if (video.playbackRate !== want) video.playbackRate = want;\n"
        "    });\n"
        "    hls.loadSource(src);\n"
        "    hls.attachMedia(video);\n"
        "    setInterval(function(){\n"
        "      var t = hls.targetLatency;\n"
        "      if (lastStall && t > SYNC + 0.001 && Date.now() - lastStall > 30000) {\n"
        "        lastStall = Date.now(); hls.targetLatency = Math.max(SYNC, t - STEP);\n"
        "        follow(); }\n"
        "      if (!isNaN(hls.latency)) status.textContent = 'live \\u2022 latency ' +\n"
        "        hls.latency.toFixed(2) + ' s \\u2022 buffer ' +\n"
        "        (video.buffered.length ? (video.buffered.end(video.buffered.length-1) -\n"
        "         video.currentTime).toFixed(2) : '0') + ' s';\n"
        "    }, 500);\n"
        "  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {\n"
        "    video.src = src;\n"
        "  } else {\n"
        "    status.textContent = 'this browser cannot play HLS';\n"
        "  }\n"
        "})();\n"
        "</script>\n</body></html>\n",
        name, name, sync, maxlat, step, back);
}
