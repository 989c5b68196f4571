/* The per-stream player page served at /watch/<name>: hls.js in low-latency mode, with a small
 * status line (latency, buffer) so a person can see the stream is live. Exposes window.gvPlayer
 * (the Hls instance) and window.gvErrors (fatal errors) for browser tests. */
#include <event2/buffer.h>

#include "packager/origin_http.h"

void gv_origin_player_page(struct evbuffer *buf, const char *name)
{
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
        "  window.gvErrors = [];\n"
        "  if (window.Hls && Hls.isSupported()) {\n"
        "    var hls = new Hls({lowLatencyMode: true, backBufferLength: 30,\n"
        "                       manifestLoadingMaxRetry: 60, manifestLoadingRetryDelay: 1000});\n"
        "    window.gvPlayer = hls;\n"
        "    hls.on(Hls.Events.ERROR, function(e, d){\n"
        "      if (d.fatal) { window.gvErrors.push(d.type + ': ' + d.details);\n"
        "        status.textContent = 'error: ' + d.details;\n"
        "        if (d.type === Hls.ErrorTypes.NETWORK_ERROR) setTimeout(function(){"
        " hls.loadSource(src); }, 1000);\n"
        "        else if (d.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError(); }\n"
        "    });\n"
        "    hls.loadSource(src);\n"
        "    hls.attachMedia(video);\n"
        "    hls.on(Hls.Events.MANIFEST_PARSED, function(){ video.play().catch(function(){}); });\n"
        "    setInterval(function(){\n"
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
        name, name);
}
