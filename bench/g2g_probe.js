// Glass-to-glass latency probe, loaded before any other script of the page (g2g_player.mjs adds
// it as an init script, after window.BENCH). On every presented frame it reads the capture-time
// barcode the publisher drew into the picture and records Date.now() - captured, plus what
// playback did meanwhile (waiting events, stall time, seeks, hls.js errors, playback rate).
// Modes (BENCH.mode):
//   "product": the page under test is gavel's own /watch/<name>; the probe waits for the page to
//              assign window.gvPlayer (its Hls instance) and measures the page's #video element.
//              BENCH.hlsConfig, if not empty, is merged over the page's own hls.js config.
//   "live":    the bench page g2g.html; the probe creates its own Hls with BENCH.hlsConfig.
//   "still":   decodes the PNG stills in BENCH.stills (decoder self-test).
// Barcode layout (must match glass_to_glass.py): blocks of BLOCK px starting at (X0, Y0); row 0 =
// bits 0..15 of (capture ms mod 2^32), row 1 = bits 16..31, row 2 = NOT(row0 XOR row1) as a
// check; white = 1. Results are left in window.benchState.
(function () {
"use strict";
const cfg = Object.assign({
    mode: "live",
    src: "",               // playlist URL ("live")
    lowLatency: true,      // hls.js lowLatencyMode ("live")
    warmupMs: 5000,        // after the first decoded frame
    durationMs: 30000,
    stills: [],
    hlsConfig: {},
    layout: {x0: 16, y0: 16, block: 32, cols: 16, rows: 3},
}, window.BENCH || {});

const L = cfg.layout;
let canvas = null, ctx = null;

const state = window.benchState = {
    done: false, error: null, samples: [], frames: 0, decodeFailures: 0, firstDecodeAt: null,
    startedAt: Date.now(), waiting: 0, hlsErrors: [], hlsLatency: [], dropped: 0, stills: [],
    playbackRates: [], targetLatency: [], events: [], playerConfig: null, ticks: [],
    // Counted inside the measurement window only (after warm-up):
    win: {waiting: 0, stallMs: 0, seeks: 0, errors: [], rateChanges: 0},
};
function note(what) {
    state.events.push([Date.now() - state.startedAt, what]);
    if (state.events.length > 300) state.events.shift();
}
function inWindow() {
    return state.firstDecodeAt !== null && Date.now() - state.firstDecodeAt >= cfg.warmupMs;
}

function ensureCanvas() {
    if (canvas) return;
    canvas = document.createElement("canvas");
    canvas.width = L.x0 + L.cols * L.block;
    canvas.height = L.y0 + L.rows * L.block;
    ctx = canvas.getContext("2d", {willReadFrequently: true});
}

// Reads the barcode from a drawable whose pixels map 1:1 (after scaling to 1280 wide) onto the
// canvas. Returns the 32-bit capture value, or null when the check row disagrees.
function decode(src, srcW, srcH) {
    ensureCanvas();
    const sx = srcW / 1280, sy = srcH / 720;
    ctx.drawImage(src, 0, 0, canvas.width * sx, canvas.height * sy, 0, 0, canvas.width,
                  canvas.height);
    const img = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    const half = L.block >> 2; // sample the central half of each block
    const bits = [];
    for (let r = 0; r < L.rows; r++) {
        const row = [];
        for (let c = 0; c < L.cols; c++) {
            const cx = L.x0 + c * L.block + (L.block >> 1);
            const cy = L.y0 + r * L.block + (L.block >> 1);
            let sum = 0, n = 0;
            for (let y = cy - half; y < cy + half; y++) {
                for (let x = cx - half; x < cx + half; x++) {
                    const i = (y * canvas.width + x) * 4;
                    sum += 0.299 * img[i] + 0.587 * img[i + 1] + 0.114 * img[i + 2];
                    n++;
                }
            }
            row.push(sum / n > 128 ? 1 : 0);
        }
        bits.push(row);
    }
    let lo = 0, hi = 0;
    for (let c = 0; c < L.cols; c++) {
        if (bits[2][c] !== 1 - (bits[0][c] ^ bits[1][c])) return null;
        lo += bits[0][c] * 2 ** c;
        hi += bits[1][c] * 2 ** c;
    }
    return hi * 65536 + lo;
}

// Signed difference now - captured on the 2^32 ms ring.
function latencyMs(now, captured) {
    let d = (now % 4294967296) - captured;
    if (d < -2147483648) d += 4294967296;
    if (d > 2147483648) d -= 4294967296;
    return d;
}

function finish(err) {
    if (state.done) return;
    state.error = err || null;
    state.done = true;
}

async function runStills() {
    for (const url of cfg.stills) {
        const im = new Image();
        im.src = url;
        await im.decode();
        state.stills.push({url, value: decode(im, im.naturalWidth, im.naturalHeight)});
    }
    finish();
}

const KEYS = ["lowLatencyMode", "liveSyncDuration", "liveMaxLatencyDuration",
              "maxLiveSyncPlaybackRate", "liveSyncOnStallIncrease",
              "backBufferLength", "maxBufferHole", "startPosition", "liveSyncMode"];

// Measures playback of video driven by the Hls instance hls (already constructed, possibly not
// yet loading).
function attach(video, hls, Hls) {
    const pc = {};
    for (const k of KEYS) pc[k] = hls.config[k] === undefined ? null : hls.config[k];
    state.playerConfig = pc;
    const bufInfo = () => {
        const b = video.buffered;
        return "t=" + video.currentTime.toFixed(3) + " buf=" +
            (b.length ? b.start(0).toFixed(3) + "-" + b.end(b.length - 1).toFixed(3) +
             "(" + b.length + ")" : "none");
    };
    hls.on(Hls.Events.ERROR, (ev, d) => {
        const what = (d.fatal ? "FATAL " : "") + d.type + "/" + d.details;
        state.hlsErrors.push(what);
        if (inWindow()) state.win.errors.push(what);
        note("hls error " + d.details + " " + bufInfo());
        if (d.fatal) finish("hls.js fatal error: " + d.details);
    });
    hls.on(Hls.Events.MANIFEST_PARSED, () => note("manifest parsed"));
    // Startup diagnostics (first 4 s, BENCH.earlyMs): what was loaded and buffered.
    const early = () => Date.now() - state.startedAt < (cfg.earlyMs || 4000);
    hls.on(Hls.Events.FRAG_LOADING, (ev, d) => {
        if (early()) note("loading " + d.frag.sn + (d.part ? "." + d.part.index : "") + " " +
                          d.frag.type);
    });
    const ranges = (r) => {
        let t = "";
        for (let i = 0; r && i < r.length; i++)
            t += (i ? "," : "") + r.start(i).toFixed(3) + "-" + r.end(i).toFixed(3);
        return t || "none";
    };
    hls.on(Hls.Events.BUFFER_APPENDED, (ev, d) => {
        if (early()) note("appended " + d.type + " " + d.frag.sn +
                          (d.part ? "." + d.part.index : "") + " " +
                          Object.keys(d.timeRanges || {}).map(
                              (k) => k + "=" + ranges(d.timeRanges[k])).join(" "));
    });
    hls.on(Hls.Events.FRAG_BUFFERED, (ev, d) => {
        if (early()) note("buffered " + d.frag.sn + (d.part ? "." + d.part.index : "") + " " +
                          d.frag.type + " " + bufInfo());
    });
    let waitingSince = null;
    video.addEventListener("waiting", () => {
        state.waiting++;
        if (inWindow()) { state.win.waiting++; waitingSince = Date.now(); }
        note("waiting at " + bufInfo());
    });
    const resumed = () => {
        if (waitingSince !== null) { state.win.stallMs += Date.now() - waitingSince; }
        waitingSince = null;
    };
    video.addEventListener("playing", () => { resumed(); note("playing " + bufInfo()); });
    video.addEventListener("seeking", () => {
        if (inWindow()) state.win.seeks++;
        note("seeking to " + video.currentTime.toFixed(3) + " " + bufInfo());
    });
    video.addEventListener("ratechange", () => { if (inWindow()) state.win.rateChanges++; });

    let lastSampleAt = 0;
    const onFrame = (now, meta) => {
        if (state.done) return;
        const wall = Date.now();
        state.frames++;
        resumed();
        const v = decode(video, meta.width || video.videoWidth, meta.height || video.videoHeight);
        if (v === null) {
            state.decodeFailures++;
        } else {
            if (state.firstDecodeAt === null) {
                state.firstDecodeAt = wall;
                note("first frame decoded, latency " + latencyMs(wall, v) + " ms");
            }
            if (wall - state.firstDecodeAt >= cfg.warmupMs) {
                state.samples.push(latencyMs(wall, v));
                if (wall - lastSampleAt > 1000) {
                    lastSampleAt = wall;
                    state.hlsLatency.push(hls.latency);
                    state.playbackRates.push(video.playbackRate);
                    state.targetLatency.push(hls.targetLatency);
                    const det = hls.latestLevelDetails, b = video.buffered;
                    state.ticks.push({
                        g2g: latencyMs(wall, v), lat: hls.latency,
                        fwd: b.length ? b.end(b.length - 1) - video.currentTime : 0,
                        edge: det ? det.edge - video.currentTime : null,
                        age: det ? det.age : null});
                }
            }
            if (wall - state.firstDecodeAt >= cfg.warmupMs + cfg.durationMs) {
                const q = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : null;
                state.dropped = q ? q.droppedVideoFrames : 0;
                hls.destroy();
                finish();
                return;
            }
        }
        video.requestVideoFrameCallback(onFrame);
    };
    video.requestVideoFrameCallback(onFrame);
}

function runOwnPlayer() {
    const video = document.getElementById("v");
    if (!Hls.isSupported()) { finish("hls.js not supported"); return; }
    const hls = new Hls(Object.assign({lowLatencyMode: cfg.lowLatency, enableWorker: true,
                                       backBufferLength: 10}, cfg.hlsConfig));
    window.hls = hls;
    attach(video, hls, Hls);
    hls.loadSource(cfg.src);
    hls.attachMedia(video);
    video.play().catch(() => {});
}

// Product page: wrap the Hls class when the page's hls.min.js defines it (so extra config can be
// merged in), and start measuring when the page publishes its instance as window.gvPlayer.
function hookProductPage() {
    let HlsClass, player;
    const extra = cfg.hlsConfig || {};
    Object.defineProperty(window, "Hls", {
        configurable: true,
        get() { return HlsClass; },
        set(C) {
            HlsClass = Object.keys(extra).length === 0 ? C : class extends C {
                constructor(c) { super(Object.assign({}, c, extra)); }
            };
        },
    });
    Object.defineProperty(window, "gvPlayer", {
        configurable: true,
        get() { return player; },
        set(h) {
            player = h;
            const video = document.getElementById("video");
            if (!video) { finish("product page has no #video element"); return; }
            attach(video, h, HlsClass);
        },
    });
    setTimeout(() => { if (!player) finish("product page never set window.gvPlayer"); }, 20000);
}

if (cfg.mode === "still") {
    window.addEventListener("DOMContentLoaded", () => runStills().catch(e => finish(String(e))));
} else if (cfg.mode === "product") {
    hookProductPage();
} else {
    window.addEventListener("DOMContentLoaded", runOwnPlayer);
}
})();
