// Browser playback check: headless Chromium opens gavel's player page (/watch/<name>), lets hls.js
// play the live stream in low-latency mode, and reports what a viewer would see: no fatal hls.js
// error, playback time advancing, and the live latency hls.js measured.
//
// usage: node browser_play.mjs <base-url> <stream> [play-seconds] [screenshot.png]
// Prints "PASS name (detail)" / "FAIL name: detail" lines and a final "RESULT {json}" line;
// exits 0 only when every check passed.

import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const webDir = process.env.GV_WEB_DIR || path.resolve(here, '../../web');
const require = createRequire(path.join(webDir, 'package.json'));
const { chromium } = require('playwright-core');

const [base, stream, playArg, shotPath] = process.argv.slice(2);
if (!base || !stream) {
    console.error('usage: node browser_play.mjs <base-url> <stream> [play-seconds] [shot.png]');
    process.exit(2);
}
const playSeconds = Number(playArg || 10);
let failed = 0;
let passed = 0;
const result = { fallbackPage: false };

function check(name, ok, detail = '') {
    if (ok) {
        passed++;
        console.log(`PASS ${name}${detail ? ` (${detail})` : ''}`);
    } else {
        failed++;
        console.log(`FAIL ${name}${detail ? `: ${detail}` : ''}`);
    }
    return ok;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Our own page, used only when /watch/<name> does not expose window.gvPlayer.
async function fallbackPage(page) {
    result.fallbackPage = true;
    await page.goto(`${base}/healthz`);
    await page.setContent('<!doctype html><video id="v" muted autoplay playsinline></video>');
    try {
        await page.addScriptTag({ url: `${base}/assets/hls.min.js` });
    } catch (e) {
        await page.addScriptTag({ path: path.join(webDir, 'node_modules/hls.js/dist/hls.min.js') });
    }
    await page.evaluate((src) => {
        window.gvErrors = [];
        const hls = new window.Hls({ lowLatencyMode: true });
        hls.on(window.Hls.Events.ERROR, (_e, d) => {
            if (d.fatal) window.gvErrors.push({ type: d.type, details: d.details });
        });
        hls.loadSource(src);
        hls.attachMedia(document.getElementById('v'));
        window.gvPlayer = hls;
    }, `${base}/live/${stream}/index.m3u8`);
}

const browser = await chromium.launch({
    executablePath: process.env.GV_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run',
        '--autoplay-policy=no-user-gesture-required'],
});
const hardStop = setTimeout(() => {
    console.log('FAIL browser test finished in time: hard limit reached');
    browser.close().finally(() => process.exit(1));
}, (playSeconds + 60) * 1000);

try {
    const page = await browser.newPage();
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => {
        if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
    });

    const mse = await page.evaluate(() => window.MediaSource &&
        MediaSource.isTypeSupported('video/mp4; codecs="avc1.64001f,mp4a.40.2"'));
    check('Chromium MSE supports H.264 + AAC in fMP4', mse);

    const resp = await page.goto(`${base}/watch/${stream}`);
    check('/watch page loads', resp && resp.status() === 200, `status ${resp && resp.status()}`);
    let hasPlayer = false;
    try {
        await page.waitForFunction(() => window.gvPlayer && Array.isArray(window.gvErrors),
            null, { timeout: 8000 });
        hasPlayer = true;
    } catch (e) {
        hasPlayer = false;
    }
    check('/watch page exposes window.gvPlayer and window.gvErrors', hasPlayer,
        hasPlayer ? '' : 'falling back to a test page that loads /assets/hls.min.js');
    if (!hasPlayer) await fallbackPage(page);

    // Our own error listener besides the page's, so nothing fatal goes unseen.
    await page.evaluate(() => {
        window.__gvAllErrors = [];
        window.gvPlayer.on('hlsError', (_e, d) => {
            window.__gvAllErrors.push({ type: d.type, details: d.details, fatal: !!d.fatal });
        });
    });

    // Wait for playback to start.
    let startOk = true;
    const t0 = Date.now();
    try {
        await page.waitForFunction(() => {
            const v = document.querySelector('video');
            return v && v.currentTime > 0 && !v.paused;
        }, null, { timeout: 20000, polling: 100 });
    } catch (e) {
        startOk = false;
    }
    result.startupMs = Date.now() - t0;
    check('playback starts within 20 s', startOk, `${result.startupMs} ms`);

    const sample = () => page.evaluate(() => {
        const v = document.querySelector('video');
        const h = window.gvPlayer;
        const d = h.latestLevelDetails;
        const pd = h.playingDate;
        return {
            t: v.currentTime, paused: v.paused, readyState: v.readyState,
            latency: h.latency, targetLatency: h.targetLatency, lowLatencyMode: h.lowLatencyMode,
            parts: d && d.partList ? d.partList.length : 0, live: d ? d.live : null,
            canBlockReload: d ? d.canBlockReload : null,
            wallLatency: pd ? (Date.now() - pd.getTime()) / 1000 : null,
            errors: window.gvErrors.length,
        };
    });

    const samples = [];
    if (startOk) {
        for (let i = 0; i <= playSeconds; i++) {
            samples.push(await sample());
            if (i < playSeconds) await sleep(1000);
        }
    }
    const first = samples[0];
    const last = samples[samples.length - 1];
    const all = await page.evaluate(() => ({
        page: window.gvErrors, ours: window.__gvAllErrors,
    }));
    const fatal = all.ours.filter((e) => e.fatal).concat(all.page || []);
    result.samples = samples;
    result.errors = all.ours;
    result.pageErrors = pageErrors;
    check('no fatal hls.js error', fatal.length === 0, JSON.stringify(fatal).slice(0, 400));
    if (samples.length) {
        const advanced = last.t - first.t;
        result.advanced = advanced;
        check(`video.currentTime advanced >= ${playSeconds - 2} s in ${playSeconds} s`,
            advanced >= playSeconds - 2, `${advanced.toFixed(2)} s`);
        check('hls.js runs in low-latency mode with parts', last.lowLatencyMode && last.parts > 0,
            `lowLatencyMode=${last.lowLatencyMode} parts=${last.parts}`);
        check('hls.js saw CAN-BLOCK-RELOAD', last.canBlockReload === true, `${last.canBlockReload}`);
        const lat = samples.map((s) => s.latency).filter((x) => Number.isFinite(x) && x > 0);
        lat.sort((a, b) => a - b);
        result.latencyMedian = lat.length ? lat[Math.floor(lat.length / 2)] : null;
        result.latencyLast = last.latency;
        result.wallLatencyLast = last.wallLatency;
        result.targetLatency = last.targetLatency;
        console.log(`INFO live latency (hls.latency): median ${result.latencyMedian?.toFixed(2)} s,` +
            ` last ${last.latency?.toFixed(2)} s, target ${last.targetLatency?.toFixed(2)} s;` +
            ` wall-clock via PDT ${last.wallLatency?.toFixed(2)} s`);
        const stalls = all.ours.filter((e) => e.details === 'bufferStalledError').length;
        result.stalls = stalls;
        const kinds = [...new Set(all.ours.map((e) => `${e.type}/${e.details}`))].join(', ');
        console.log(`INFO non-fatal hls.js errors: ${all.ours.length} (stalls ${stalls})` +
            (kinds ? `: ${kinds}` : ''));
        if (pageErrors.length) console.log(`INFO page errors: ${pageErrors.slice(0, 5).join(' | ')}`);
    }
    if (shotPath) await page.screenshot({ path: shotPath });
} catch (e) {
    check('browser test ran', false, String(e && e.stack || e));
} finally {
    clearTimeout(hardStop);
    await browser.close();
}
console.log(`RESULT ${JSON.stringify(result)}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
