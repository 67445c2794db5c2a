// make bench's web UI section (bench.pl, section 6), in Debian's Chromium
// under the Playwright of t/ui: what a first load of the workspaces list
// transfers (the bytes on the wire, as the server compressed them), and
// how long its first page takes to show its first row against the list's
// API call alone. Prints one JSON document.
//
//   TERRAPOD_URL, TERRAPOD_CA_FILE, TERRAPOD_ADMIN_EMAIL and
//   TERRAPOD_ADMIN_PASSWORD name the instance; TP_BENCH_UI_ROUNDS the
//   number of timed rounds (default 15).
'use strict';
const path = require('node:path');

const SRC = path.resolve(__dirname, '..');
const { chromium } = require(path.join(SRC, 't/ui/node_modules/@playwright/test'));
const { launchOptions } = require(path.join(SRC, 't/ui/lib/trust.js'));
const { submitSignIn } = require(path.join(SRC, 't/ui/lib/ui.js'));

const URL_ = process.env.TERRAPOD_URL;
const LIST = '/app/default/workspaces';
const ROW = 'main tbody tr[data-workspace]';
const ROUNDS = Number(process.env.TP_BENCH_UI_ROUNDS) || 15;
const admin = { email: process.env.TERRAPOD_ADMIN_EMAIL, password: process.env.TERRAPOD_ADMIN_PASSWORD };

const median = (v) => {
    const s = [...v].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

// Sets window.tpFirstRow to the time since the navigation began
// (performance.now()) at which the first workspace row is in the document.
function watchFirstRow(row) {
    const seen = () => {
        if (document.querySelector(row)) {
            window.tpFirstRow = performance.now();
            observer.disconnect();
        }
    };
    const observer = new MutationObserver(seen);
    observer.observe(document, { childList: true, subtree: true });
}

async function signIn(browser) {
    const context = await browser.newContext({ baseURL: URL_ });
    const page = await context.newPage();
    await page.goto(LIST);
    await page.waitForURL(/\/api\/terrapod\/v1\/auth\/authorize\?/);
    await submitSignIn(page, admin);
    await page.locator(ROW).first().waitFor();
    const state = await context.storageState();
    await context.close();
    return state;
}

// A first load with an empty cache: every script and style sheet the
// page asks for until its first row shows, and a second after, with the
// bytes of its body as transferred and its Content-Encoding.
async function firstLoad(browser, state) {
    const context = await browser.newContext({ baseURL: URL_, storageState: state });
    const page = await context.newPage();
    const pending = [];
    page.on('response', (res) => {
        const type = res.request().resourceType();
        if (type === 'script' || type === 'stylesheet' || type === 'document') {
            pending.push(res.finished().then(async () => ({
                url: new URL(res.url()).pathname,
                type,
                status: res.status(),
                encoding: (await res.allHeaders())['content-encoding'] || 'none',
                bytes: (await res.request().sizes()).responseBodySize,
                // what the file holds, uncompressed
                size: (await res.body()).length,
            })));
        }
    });
    await page.goto(LIST);
    await page.locator(ROW).first().waitFor();
    await page.waitForTimeout(1000);
    const files = await Promise.all(pending);
    await context.close();
    return files;
}

// Timed rounds on a warm page (its assets cached, as a second visit has
// them): a load of the list to its first row, then the list's API call
// (the same URL the page called) from the same page, alternating so that
// the machine's noise hits both alike.
async function timed(browser, state) {
    const context = await browser.newContext({ baseURL: URL_, storageState: state });
    await context.addInitScript(watchFirstRow, ROW);
    const page = await context.newPage();
    let apiURL = null;
    page.on('request', (req) => {
        if (/\/api\/v2\/organizations\/[^/]+\/workspaces\?/.test(req.url())) {
            apiURL = req.url();
        }
    });
    const load = async () => {
        await page.goto(LIST);
        await page.waitForFunction(() => window.tpFirstRow !== undefined);
        return page.evaluate((u) => {
            const nav = performance.getEntriesByType('navigation')[0];
            // the page's own call of the list, from the resource timing
            const list = performance.getEntriesByType('resource').find((e) => e.name === u);
            return {
                firstRow: window.tpFirstRow,
                document: nav.responseEnd,
                script: nav.domContentLoadedEventEnd,
                callStart: list.startTime,
                callEnd: list.responseEnd,
            };
        }, apiURL);
    };
    const call = () => page.evaluate(async (u) => {
        const t0 = performance.now();
        const res = await fetch(u, { headers: { Accept: 'application/vnd.api+json' } });
        await res.json();
        if (!res.ok) {
            throw new Error(`${u}: ${res.status}`);
        }
        return performance.now() - t0;
    }, apiURL);
    // warm: the assets cached, the connection and the server's caches used
    await load();
    await load();
    await call();
    const loads = [], calls = [];
    for (let i = 0; i < ROUNDS; i++) {
        loads.push(await load());
        calls.push(await call());
    }
    await context.close();
    return { apiURL: new URL(apiURL).pathname + new URL(apiURL).search, loads, calls };
}

(async () => {
    const browser = await chromium.launch(launchOptions());
    try {
        const state = await signIn(browser);
        const files = await firstLoad(browser, state);
        const t = await timed(browser, state);
        process.stdout.write(JSON.stringify({
            files,
            api_url: t.apiURL,
            rounds: ROUNDS,
            api_ms: t.calls,
            api_median: median(t.calls),
            // each moment of the loads: ms since the navigation began
            loads: Object.fromEntries(Object.keys(t.loads[0]).map((k) => {
                const v = t.loads.map((l) => l[k]);
                return [k, { ms: v, median: median(v) }];
            })),
        }) + '\n');
    } finally {
        await browser.close();
    }
})().catch((e) => {
    console.error(e);
    process.exit(1);
});
