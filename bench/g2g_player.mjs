// Drives a player page in headless Chromium (playwright-core) with the barcode probe
// (g2g_probe.js) injected before the page's own scripts, and prints the probe's measurements as
// one JSON line on stdout. Pages: the product's player (opts.pageUrl, e.g. gavel's /watch/<name>,
// mode "product") or the bench page g2g.html, served with hls.js by request interception under
// <origin>/__bench__/ so it is same-origin with the server under test (no CORS needed).
// Usage: node g2g_player.mjs '<json>' with keys: origin, pageUrl, src, lowLatency, warmupMs,
// durationMs, mode ("product" | "live" | "still"), stillsDir, stills (file names), timeoutMs,
// layout, hlsConfig.
import { createRequire } from "module";
import { readFileSync } from "fs";
import path from "path";
import { fileURLToPath } from "url";

const here = path.dirname(fileURLToPath(import.meta.url));
const webDir = path.join(here, "..", "web");
const require = createRequire(path.join(webDir, "package.json"));
const { chromium } = require("playwright-core");

const opts = JSON.parse(process.argv[2] || "{}");
const origin = opts.origin.replace(/\/$/, "");
const pageHtml = readFileSync(path.join(here, "g2g.html"));
const probeJs = readFileSync(path.join(here, "g2g_probe.js"), "utf8");
const hlsJs = readFileSync(path.join(webDir, "node_modules", "hls.js", "dist", "hls.min.js"));

const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
           "--autoplay-policy=no-user-gesture-required"],
});
let result;
try {
    const page = await browser.newPage({ viewport: { width: 800, height: 450 } });
    page.on("console", (m) => {
        if (m.type() === "error" || m.type() === "warning")
            process.stderr.write(`[page ${m.type()}] ${m.text()}\n`);
    });
    if (process.env.G2G_LOG_REQUESTS) {
        const t0 = Date.now(), started = new Map();
        page.on("request", (r) => started.set(r, Date.now()));
        page.on("requestfinished", async (r) => {
            const t = Date.now() - t0;
            if (t > Number(process.env.G2G_LOG_REQUESTS)) return;
            const resp = await r.response();
            process.stderr.write(`[req] ${started.get(r) - t0}..${t} ms ` +
                                 `${resp ? resp.status() : "-"} ${r.url().replace(origin, "")}\n`);
        });
    }
    page.on("pageerror", (e) => process.stderr.write(`[page exception] ${e}\n`));
    await page.route(`${origin}/__bench__/**`, async (route) => {
        const name = new URL(route.request().url()).pathname.replace(/^\/__bench__\//, "");
        if (name === "g2g.html")
            return route.fulfill({ status: 200, contentType: "text/html", body: pageHtml });
        if (name === "hls.min.js")
            return route.fulfill({ status: 200, contentType: "text/javascript", body: hlsJs });
        if (name.startsWith("still/") && opts.stillsDir) {
            const file = path.basename(name);
            return route.fulfill({ status: 200, contentType: "image/png",
                                   body: readFileSync(path.join(opts.stillsDir, file)) });
        }
        return route.fulfill({ status: 404, body: "" });
    });
    const cfg = {
        mode: opts.mode || (opts.pageUrl ? "product" : "live"),
        src: opts.src,
        lowLatency: opts.lowLatency !== false,
        warmupMs: opts.warmupMs ?? 5000,
        durationMs: opts.durationMs ?? 30000,
        hlsConfig: opts.hlsConfig || {},
        earlyMs: Number(process.env.G2G_EARLY_MS || 4000),
        stills: (opts.stills || []).map((f) => `${origin}/__bench__/still/${f}`),
    };
    if (opts.layout) cfg.layout = opts.layout;
    await page.addInitScript((c) => { window.BENCH = c; }, cfg);
    await page.addInitScript({ content: probeJs });
    await page.goto(opts.pageUrl || `${origin}/__bench__/g2g.html`);
    const timeoutMs = opts.timeoutMs ?? (cfg.warmupMs + cfg.durationMs + 30000);
    await page.waitForFunction(() => window.benchState && window.benchState.done, null,
                               { timeout: timeoutMs, polling: 250 })
        .catch(() => {});
    result = await page.evaluate(() => window.benchState);
    if (!result.done) result.error = result.error || "timed out";
} catch (e) {
    result = { done: false, error: String(e) };
} finally {
    await browser.close();
}
process.stdout.write(JSON.stringify(result) + "\n");
