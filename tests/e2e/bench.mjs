// Measures the built site in headless Chromium:
//   node tests/e2e/bench.mjs [report.txt] [--query '?workers=1&weights=q8']
// (default tests/fixtures/report-5000w.txt; the query is added to the app's URL: `workers`
// sets how many inference workers share the report, `weights` the worker's weight format,
// f32, q8 or i16). Not a test: it prints figures for docs/benchmarks.md.
//
// - first visit: every file the page fetches to map its first report (the model
//   included), raw and gzip-compressed (what a compressing static host would send);
// - cold: a new page (model in the browser's cache) from pressing Map to the finished
//   heatmap: worker start, model load from the cache (sha256 + weights), mapping;
// - warm: Map again on the same page (model already loaded).
// Model download time is excluded from cold and warm.
// Peak memory: the most that Chromium's processes (browser, page, workers, GPU, utility)
// held together, as the sum of their proportional set sizes (Pss, /proc/PID/smaps_rollup:
// shared pages split between the processes sharing them), sampled every 100 ms.

import { readFile, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { gzipSync } from "node:zlib";
import os from "node:os";
import { startServer, launchBrowser, openPage, gotoApp, waitForState, SHORT_REPORT, DIST, REPO_ROOT } from "./lib.mjs";

const argv = process.argv.slice(2);
const queryAt = argv.indexOf("--query");
const query = queryAt >= 0 ? argv.splice(queryAt, 2)[1] : "";
const reportPath = path.resolve(argv[0] ?? path.join(REPO_ROOT, "tests/fixtures/report-5000w.txt"));
const report = await readFile(reportPath, "utf8");
const words = report.split(/\s+/).filter(Boolean).length;

const server = await startServer();
const browser = await launchBrowser();
const appUrl = server.url + query;

/** Sum of the Pss of the processes started with this browser's profile, in bytes. */
async function chromiumPss() {
  let total = 0;
  for (const pid of await readdir("/proc").catch(() => [])) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (!cmd.includes(browser.userDataDir)) continue;
    const rollup = await readFile(`/proc/${pid}/smaps_rollup`, "utf8").catch(() => "");
    const kb = Number(rollup.match(/^Pss:\s+(\d+) kB/m)?.[1] ?? 0);
    total += kb * 1024;
  }
  return total;
}

/** Samples chromiumPss() every 100 ms; stop() gives the peak. */
function memorySampler() {
  let peak = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = Math.max(peak, await chromiumPss());
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return { stop: async () => ((running = false), await loop, peak) };
}

/**
 * Presses Map and times it in the page: to the first scored cell on the heatmap (first
 * result) and to data-state "done" (the whole report). The worker's own mapping time
 * (model load excluded) is in the status line: "Mapped N sentences in X s".
 */
async function mapAndTime(opened, text) {
  const { page } = opened;
  const memory = memorySampler();
  opened.workerLog ??= [];
  const mappedBefore = opened.workerLog.filter((m) => m.startsWith("ttpmap: mapped")).length;
  if ((await page.getByTestId("report-input").inputValue()) !== text) {
    await page.getByTestId("report-input").fill(text);
  }
  // Clear the heatmap of a previous run, so "first result" is this run's.
  await page.evaluate(() => {
    window.__first = null;
    const heatmap = document.querySelector('[data-testid="heatmap"]');
    new MutationObserver((_, obs) => {
      if (window.__t0 && heatmap.dataset.state === "mapping" && heatmap.querySelector("[data-score]")) {
        window.__first = performance.now() - window.__t0;
        obs.disconnect();
      }
    }).observe(heatmap, { subtree: true, attributes: true, childList: true });
  });
  await page.evaluate(() => {
    window.__t0 = performance.now();
    document.querySelector('[data-testid="map-button"]').click();
  });
  await waitForState(opened, "done", { timeout: 900_000 });
  const ms = await page.evaluate(() => performance.now() - window.__t0);
  const firstMs = await page.evaluate(() => window.__first);
  const status = await page.getByTestId("progress").innerText();
  const sentences = Number(await page.getByTestId("progress").getAttribute("data-total"));
  const detected = Number(await page.getByTestId("heatmap").getAttribute("data-detected"));
  // The worker's own mapping time, logged by the page: "ttpmap: mapped N sentences in X ms".
  const mappedLines = () => opened.workerLog.filter((m) => m.startsWith("ttpmap: mapped"));
  for (let i = 0; i < 100 && mappedLines().length < mappedBefore + 1; i++) await page.waitForTimeout(50);
  const mapped = mappedLines().at(-1);
  const mapS = Number(mapped?.match(/in ([\d.]+) ms/)?.[1]) / 1000;
  const peakBytes = await memory.stop();
  return { ms, firstMs, mapS, sentences, detected, status, peakBytes };
}

const load = () => os.loadavg().map((l) => l.toFixed(2)).join(" ");
const loadBefore = load();

try {
  // First visit: fetch everything, model included.
  const first = await openPage(browser.context);
  await gotoApp(first, appUrl);
  await mapAndTime(first, SHORT_REPORT);
  const files = [];
  for (const rel of server.hits.keys()) {
    const body = await readFile(path.join(DIST, rel)).catch(() => null);
    if (body) files.push({ file: rel, bytes: body.length, gzip: gzipSync(body, { level: 9 }).length });
  }
  await first.page.close();
  const kind = (f) =>
    f.startsWith("model/") ? "model" : f.startsWith("matrices/") ? "matrices" : f.endsWith(".wasm") ? "wasm"
      : f.endsWith(".js") ? "js" : f.endsWith(".css") ? "css" : "other";
  const byKind = {};
  for (const f of files) {
    const k = (byKind[kind(f.file)] ??= { bytes: 0, gzip: 0 });
    k.bytes += f.bytes;
    k.gzip += f.gzip;
  }
  const total = files.reduce((a, f) => ({ bytes: a.bytes + f.bytes, gzip: a.gzip + f.gzip }), { bytes: 0, gzip: 0 });

  // Cold: a new page; the model comes from the Cache API.
  const opened = await openPage(browser.context);
  const worker = [];
  opened.workerLog = worker;
  opened.page.on("console", (m) => m.text().startsWith("ttpmap:") && worker.push(m.text()));
  await gotoApp(opened, appUrl);
  const cores = await opened.page.evaluate(() => navigator.hardwareConcurrency);
  const cold = await mapAndTime(opened, report);
  // Warm: the same page again, twice.
  const warm1 = await mapAndTime(opened, report);
  const warm2 = await mapAndTime(opened, report);
  await opened.page.getByTestId("clear-button").click();
  await opened.page.close();

  const mb = (n) => (n / 1e6).toFixed(2) + " MB";
  console.log(`report: ${path.relative(REPO_ROOT, reportPath)} (${words} words, ${cold.sentences} sentences)`);
  console.log(`first visit: ${mb(total.bytes)} (${mb(total.gzip)} gzip)`);
  for (const [k, v] of Object.entries(byKind)) console.log(`  ${k.padEnd(9)} ${mb(v.bytes)} (${mb(v.gzip)} gzip)`);
  for (const f of files.sort((a, b) => b.bytes - a.bytes)) console.log(`    ${f.file.padEnd(44)} ${String(f.bytes).padStart(9)} ${String(f.gzip).padStart(9)}`);
  const s = (ms) => (ms == null ? "-" : (ms / 1000).toFixed(1) + " s");
  const line = (name, r) =>
    `${name}: ${s(r.ms)} end to end (first result ${s(r.firstMs)}; worker mapping ${r.mapS.toFixed(1)} s, ${(r.sentences / r.mapS).toFixed(1)} sentences/s; peak memory ${(r.peakBytes / 2 ** 20).toFixed(0)} MiB)`;
  console.log(`app URL query: ${query || "(none)"}; navigator.hardwareConcurrency ${cores}`);
  console.log(`machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), load average ${loadBefore} before, ${load()} after`);
  console.log(line("cold (new page: worker start, model from the cache, mapping)", cold));
  console.log(line("warm 1 (same page, model loaded)", warm1));
  console.log(line("warm 2", warm2));
  console.log(`detected at the default threshold: ${warm2.detected}`);
  console.log(`worker: ${worker.join("; ")}`);
  console.log(JSON.stringify({ query, words, sentences: cold.sentences, firstVisit: { total, byKind, files }, cold, warm: [warm1, warm2], load: [loadBefore, load()] }));
} finally {
  await browser.close();
  await server.close();
}
