// Mapping a report in the browser: the model download (progress, cache, corruption and
// retry), the heatmap, evidence, threshold, decisions, exports and import, persistence,
// cancel, responsiveness, and bad input. The model runs in the page's Web Worker.

import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import {
  startServer, launchBrowser, openPage, gotoApp, foreignRequests, waitForState, SHORT_REPORT,
  REPO_ROOT,
} from "./lib.mjs";

const LONG_REPORT = await readFile(path.join(REPO_ROOT, "tests/fixtures/report-5000w.txt"), "utf8");
const TITLE = SHORT_REPORT.split("\n")[0];

let server;
let browser;
const pages = [];

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** A fresh page on the app; its log is checked after each test. */
async function app({ allowErrors = [] } = {}) {
  const opened = await openPage(browser.context);
  opened.allowErrors = allowErrors;
  pages.push(opened);
  await gotoApp(opened, server.url);
  return opened;
}

afterEach(async () => {
  for (const { page, log, allowErrors } of pages.splice(0)) {
    await page.close();
    assert.deepEqual(foreignRequests(log, server.origin), [], "requests outside the site's origin");
    const unexpected = log.consoleErrors.filter((m) => !allowErrors.some((re) => re.test(m)));
    assert.deepEqual(unexpected, [], "console errors");
    assert.deepEqual(log.pageErrors, [], "uncaught page errors");
    assert.deepEqual(log.dialogs, [], "dialogs");
  }
});

/** Scores shown on technique cells: { "T1566.001": 87, ... }. */
async function scoredCells(page) {
  return page.locator('[data-testid="heatmap"] [data-technique-id][data-score]').evaluateAll((els) =>
    Object.fromEntries(els.map((e) => [e.dataset.techniqueId, Number(e.dataset.score)])),
  );
}

/** Pastes `text` and presses Map. */
async function map(page, text) {
  await page.getByTestId("report-input").fill(text);
  await page.getByTestId("map-button").click();
}

/** Records every data-phase the progress line goes through (set up before the page loads). */
async function recordPhases(page) {
  await page.addInitScript(() => {
    window.__phases = [];
    new MutationObserver(() => {
      const phase = document.querySelector('[data-testid="progress"]')?.dataset.phase;
      if (phase && window.__phases.at(-1) !== phase) window.__phases.push(phase);
    }).observe(document, { subtree: true, childList: true, attributes: true });
  });
}

/** Sets a range input to `value` as a user would (input, then change). */
async function setThreshold(page, value) {
  await page.getByTestId("threshold").fill(String(value));
}

async function download(page, testid) {
  const [file] = await Promise.all([page.waitForEvent("download"), page.getByTestId(testid).click()]);
  const body = await readFile(await file.path(), "utf8");
  return { name: file.suggestedFilename(), body };
}

test("the first map downloads the model with progress; the mapping survives a reload; later maps use the cached model, even offline", async () => {
  const opened = await openPage(browser.context);
  opened.allowErrors = [];
  pages.push(opened);
  await recordPhases(opened.page);
  await gotoApp(opened, server.url);
  const { page } = opened;
  assert.equal(await page.getByTestId("heatmap").getAttribute("data-state"), "idle");

  await map(page, SHORT_REPORT);
  await waitForState(opened, "done");
  const phases = await page.evaluate(() => window.__phases);
  assert.ok(phases.includes("model"), `the download showed progress: ${phases}`);
  assert.ok(phases.includes("mapping"), `mapping showed progress: ${phases}`);
  assert.equal(phases.at(-1), "done");
  assert.equal(server.hits.get("model/model.gguf"), 1, "the model was downloaded once");

  const scores = await scoredCells(page);
  assert.ok(Object.keys(scores).length > 0, "some techniques are detected");
  for (const [id, score] of Object.entries(scores)) {
    assert.ok(Number.isInteger(score) && score >= 0 && score <= 100, `${id}: ${score}`);
  }
  assert.equal(await page.getByTestId("mapping-title").innerText(), TITLE);
  assert.match(await page.getByTestId("progress").innerText(), /Mapped \d+ sentences in/);

  // Reload: the text, the mapping and the threshold come back from localStorage.
  await gotoApp(opened, server.url);
  assert.equal(await page.getByTestId("report-input").inputValue(), SHORT_REPORT);
  assert.equal(await page.getByTestId("heatmap").getAttribute("data-state"), "done");
  assert.deepEqual(await scoredCells(page), scores);

  // Map again: the model comes from the Cache API, not the network.
  await page.getByTestId("map-button").click();
  await waitForState(opened, "done");
  assert.equal(server.hits.get("model/model.gguf"), 1, "the cached model was used");
  assert.deepEqual(await scoredCells(page), scores, "the same text maps the same way");

  // Offline (the site unreachable for the manifest too): the cached model still loads.
  server.hidden.add("model/manifest.json");
  try {
    await gotoApp(opened, server.url);
    await page.getByTestId("map-button").click();
    await waitForState(opened, "done");
    assert.equal(server.hits.get("model/model.gguf"), 1);
    assert.deepEqual(await scoredCells(page), scores);
  } finally {
    server.hidden.delete("model/manifest.json");
  }
});

test("expected techniques are detected in a short report, with their evidence highlighted", async () => {
  const opened = await app();
  const { page } = opened;
  await map(page, SHORT_REPORT);
  await waitForState(opened, "done");
  // Each behaviour shows as the sub-technique or its parent.
  const scores = await scoredCells(page);
  const expected = [
    ["T1566.001", "T1566"], // spearphishing attachment
    ["T1053.005", "T1053"], // scheduled task
    ["T1003.001", "T1003"], // LSASS memory
  ];
  for (const ids of expected) {
    assert.ok(ids.some((id) => id in scores), `one of ${ids} is detected: ${JSON.stringify(scores)}`);
  }

  // Open the evidence of the best-scored technique.
  const [best] = Object.entries(scores).sort((a, b) => b[1] - a[1])[0];
  await page.locator(`[data-testid="heatmap"] [data-technique-id="${best}"]`).first().click();
  const panel = page.getByTestId("evidence-panel");
  await panel.waitFor();
  assert.equal(await panel.getAttribute("data-technique-id"), best);
  assert.equal(await panel.getByTestId("evidence-status").getAttribute("data-status"), "detected");
  const items = panel.getByTestId("evidence-item");
  assert.ok((await items.count()) >= 1, "at least one evidence sentence");
  const firstScore = Number(await items.first().getAttribute("data-score"));
  assert.equal(firstScore, scores[best], "the best sentence carries the technique's score");
  // The report view shows the text with the evidence highlighted, as text.
  const marks = panel.getByTestId("report-view").locator("mark");
  assert.ok((await marks.count()) >= 1);
  const marked = await marks.first().innerText();
  assert.ok(SHORT_REPORT.includes(marked.trim()), `highlight is a sentence of the report: ${marked}`);
  assert.equal(
    (await panel.getByTestId("report-view").innerText()).replace(/\s+/g, " ").trim(),
    SHORT_REPORT.replace(/\s+/g, " ").trim(),
  );
  await panel.getByTestId("evidence-close").click();
  await panel.waitFor({ state: "detached" });
});

test("the threshold re-filters the heatmap at once, without the model", async () => {
  const opened = await app();
  const { page } = opened;
  await map(page, SHORT_REPORT);
  await waitForState(opened, "done");
  const atDefault = await scoredCells(page);
  const hitsBefore = server.hits.get("worker-boot.js");

  await setThreshold(page, 100);
  assert.deepEqual(await scoredCells(page), {}, "nothing reaches 100");
  assert.equal(await page.getByTestId("heatmap").getAttribute("data-detected"), "0");

  await setThreshold(page, 5);
  const low = await scoredCells(page);
  assert.ok(Object.keys(low).length >= Object.keys(atDefault).length);
  for (const [id, score] of Object.entries(low)) assert.ok(score >= 5, `${id} ${score}`);
  for (const id of Object.keys(atDefault)) assert.ok(id in low, `${id} stays at a lower threshold`);
  assert.equal(await page.getByTestId("threshold-value").innerText(), "5");

  // "Detected only" leaves only rows with something detected in them.
  await page.getByTestId("detected-only").check();
  const rows = await page.locator('[data-testid="heatmap"] li.technique').evaluateAll((lis) =>
    lis.map((li) => li.querySelector("[data-score]") !== null),
  );
  assert.ok(rows.length > 0 && rows.every(Boolean), `every row shown holds a detection: ${rows}`);
  await page.getByTestId("detected-only").uncheck();
  assert.equal(server.hits.get("worker-boot.js"), hitsBefore, "no new worker");
});

test("dismissing and adding techniques change the heatmap and the exported layer; the layer validates and opens again", async () => {
  const opened = await app();
  const { page } = opened;
  await map(page, SHORT_REPORT);
  await waitForState(opened, "done");
  await setThreshold(page, 10);
  const scores = await scoredCells(page);
  const ids = Object.keys(scores);
  assert.ok(ids.length >= 2, `needs two detections: ${JSON.stringify(scores)}`);
  const dismissed = ids[ids.length - 1];

  // Dismiss one detection from its evidence panel.
  await page.locator(`[data-testid="heatmap"] [data-technique-id="${dismissed}"]`).first().click();
  await page.getByTestId("dismiss-button").click();
  assert.equal(await page.getByTestId("evidence-status").getAttribute("data-status"), "dismissed");
  assert.ok(!(dismissed in (await scoredCells(page))), "a dismissed detection leaves the heatmap");
  await page.getByTestId("evidence-close").click();

  // Add a technique by hand, by name.
  await page.getByTestId("add-technique").fill("Indicator Removal");
  await page.getByTestId("add-technique-button").click();
  await page.locator('[data-testid="heatmap"] [data-technique-id="T1070"][data-score="100"]').first().waitFor();
  await page.getByTestId("evidence-close").click();

  // The exported layer follows the decisions and passes the layer rules.
  const { name, body } = await download(page, "export-layer");
  assert.match(name, /^ttpmap-operation-winter-lantern.*\.layer\.json$/);
  const layer = JSON.parse(body);
  assert.equal(layer.name, TITLE);
  assert.equal(layer.domain, "enterprise-attack");
  assert.ok(layer.gradient.minValue < layer.gradient.maxValue, "gradient min < max");
  const entries = new Map();
  for (const t of layer.techniques) {
    assert.ok(!("tactic" in t) || (typeof t.tactic === "string" && t.tactic !== ""), `no "" tactic: ${t.techniqueID}`);
    if ("score" in t) assert.equal(typeof t.score, "number", `${t.techniqueID} score is a number`);
    entries.set(t.techniqueID, t);
  }
  for (const [id, t] of entries) {
    if ("score" in t && id.includes(".")) {
      const parent = entries.get(id.split(".")[0]);
      assert.equal(parent?.showSubtechniques, true, `parent of ${id} shows its sub-techniques`);
    }
  }
  assert.ok(!entries.get(dismissed)?.score, "the dismissed technique is not in the layer");
  assert.equal(entries.get("T1070")?.score, 100, "the added technique is");
  const scored = [...entries].filter(([, t]) => "score" in t).map(([id]) => id).sort();
  const shown = Object.keys(await scoredCells(page)).sort();
  assert.deepEqual(scored, shown, "the layer scores what the heatmap shows");
  const evidence = [...entries.values()].find((t) => t.comment);
  assert.ok(evidence, "evidence is quoted in comments");

  // The SVG image shows the same cells.
  const svg = await download(page, "export-svg");
  assert.match(svg.name, /\.svg$/);
  assert.match(svg.body, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  for (const id of shown) assert.ok(svg.body.includes(`data-technique-id="${id}" data-score=`), `${id} in the SVG`);

  // Opening the layer shows the same heatmap.
  await page.getByTestId("clear-button").click();
  assert.deepEqual(await scoredCells(page), {});
  await page.getByTestId("import-layer").setInputFiles({ name: "layer.json", mimeType: "application/json", buffer: Buffer.from(body) });
  await waitForState(opened, "done", { timeout: 10_000 });
  assert.equal(await page.getByTestId("mapping-title").innerText(), TITLE);
  const reopened = await scoredCells(page);
  for (const id of shown) assert.equal(reopened[id], entries.get(id).score, `${id} keeps its score`);
  await page.getByTestId("clear-button").click();
});

/** Milliseconds from clicking the first sub-technique toggle to its aria-expanded flipping
 * (then clicks it back). */
async function clickLatency(page) {
  return page.evaluate(async () => {
    const toggle = document.querySelector('[data-testid="subtechnique-toggle"]');
    const before = toggle.getAttribute("aria-expanded");
    const clicked = performance.now();
    toggle.click();
    await new Promise((resolve) => {
      const check = () => (toggle.getAttribute("aria-expanded") !== before ? resolve() : requestAnimationFrame(check));
      check();
    });
    const ms = performance.now() - clicked;
    toggle.click();
    return ms;
  });
}

/** The longest gap between 20 ms timer ticks on the page's main thread over `ms`. */
async function worstStall(page, ms) {
  return page.evaluate(async (ms) => {
    let worst = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      worst = Math.max(worst, now - last);
      last = now;
    }, 20);
    await new Promise((r) => setTimeout(r, ms));
    clearInterval(timer);
    return worst;
  }, ms);
}

test("a long report maps with progress while the page stays responsive, and Cancel stops it quickly", async (t) => {
  const opened = await app();
  const { page } = opened;
  await map(page, LONG_REPORT);
  // Wait until sentences are being scored.
  await page.waitForFunction(() => {
    const p = document.querySelector('[data-testid="progress"]');
    return p?.dataset.phase === "mapping" && Number(p.dataset.done) > 0;
  }, null, { timeout: 120_000 });
  assert.equal(await page.getByTestId("heatmap").getAttribute("data-state"), "mapping");
  const total = Number(await page.getByTestId("progress").getAttribute("data-total"));
  assert.ok(total > 100, `the report has many sentences: ${total}`);

  // The page answers while the worker maps: a click has its effect at once, timers keep
  // their pace (partial mappings arriving cost the page a little).
  const clickMs = await clickLatency(page);
  const worst = await worstStall(page, 1500);
  assert.ok(clickMs < 200, `a click answered in ${clickMs} ms`);
  assert.ok(worst < 400, `the longest main-thread stall was ${worst} ms`);
  assert.equal(await page.getByTestId("heatmap").getAttribute("data-state"), "mapping", "still mapping");

  const started = Date.now();
  await page.getByTestId("cancel-button").click();
  await waitForState(opened, "idle", { timeout: 10_000 });
  const cancelMs = Date.now() - started;
  t.diagnostic(`click answered in ${clickMs.toFixed(0)} ms; longest stall ${worst.toFixed(0)} ms; cancel answered in ${cancelMs} ms`);
  assert.ok(cancelMs < 3000, `cancelled in ${cancelMs} ms`);
  assert.equal(await page.getByTestId("progress").getAttribute("data-phase"), "cancelled");
  const done = Number(await page.getByTestId("progress").getAttribute("data-done"));
  assert.ok(done < total, `stopped at ${done} of ${total}`);
  assert.equal(await page.getByTestId("report-input").inputValue(), LONG_REPORT, "the text is kept");
  assert.equal(await page.getByTestId("map-button").isEnabled(), true, "it can be mapped again");
  await page.getByTestId("clear-button").click();
});

test("a 2 MB paste maps with progress and can be cancelled", async (t) => {
  const opened = await app();
  const { page } = opened;
  let big = "";
  while (big.length < 2_000_000) big += LONG_REPORT + "\n\n";
  await page.getByTestId("report-input").evaluate((el, text) => {
    el.value = text;
    el.dispatchEvent(new Event("input", { bubbles: true }));
  }, big);
  await page.getByTestId("map-button").click();
  await page.waitForFunction(() => {
    const p = document.querySelector('[data-testid="progress"]');
    return p?.dataset.phase === "mapping" && Number(p.dataset.done) > 0;
  }, null, { timeout: 120_000 });
  const total = Number(await page.getByTestId("progress").getAttribute("data-total"));
  assert.ok(total > 10_000, `${total} sentences`);
  // The page still answers while partial mappings of the big text stream in.
  const clickMs = await clickLatency(page);
  const stall = await worstStall(page, 1500);
  const t0 = Date.now();
  await page.getByTestId("cancel-button").click();
  await waitForState(opened, "idle", { timeout: 10_000 });
  const cancelMs = Date.now() - t0;
  t.diagnostic(`${total} sentences; click answered in ${clickMs.toFixed(0)} ms; longest stall ${stall.toFixed(0)} ms; cancel answered in ${cancelMs} ms`);
  assert.ok(clickMs < 200, `a click answered in ${clickMs} ms`);
  assert.ok(stall < 400, `the longest main-thread stall was ${stall} ms`);
  assert.ok(cancelMs < 3000, `cancelled in ${cancelMs} ms`);
  assert.equal((await page.getByTestId("report-input").inputValue()).length, big.length);
  await page.getByTestId("clear-button").click();
});

test("an image dropped as a report is refused with a clear message, the text kept", async () => {
  const opened = await app();
  const { page } = opened;
  await page.getByTestId("report-input").fill("kept text");
  const png = Buffer.from("89504e470d0a1a0a0000000d4948445200000001000000010806000000", "hex");
  await page.getByTestId("open-file").setInputFiles({ name: "diagram.png", mimeType: "image/png", buffer: png });
  await page.getByTestId("notice").waitFor();
  assert.match(await page.getByTestId("notice").innerText(), /diagram\.png: this looks like a PNG image, not a report/);
  assert.equal(await page.getByTestId("report-input").inputValue(), "kept text");

  // A text file is read into the box, and its name becomes the report's title.
  await page.getByTestId("open-file").setInputFiles({
    name: "winter-lantern.md", mimeType: "text/markdown",
    buffer: Buffer.from("# Winter Lantern\n\nThe actor used **PowerShell**."),
  });
  await page.waitForFunction(() => document.querySelector('[data-testid="report-input"]').value.startsWith("Winter Lantern"));
  assert.equal(await page.getByTestId("report-input").inputValue(), "Winter Lantern\n\nThe actor used PowerShell.");
  await page.getByTestId("clear-button").click();
});

test("a corrupted model download shows an error and a retry, the text kept; a corrupted cached model is downloaded again", async () => {
  // A fresh profile: nothing cached yet.
  const fresh = await launchBrowser();
  const opened = await openPage(fresh.context);
  const { page, log } = opened;
  try {
    await gotoApp(opened, server.url);
    const hits = () => server.hits.get("model/model.gguf") ?? 0;
    const before = hits();
    server.corrupt.add("model/model.gguf");
    await map(page, SHORT_REPORT);
    await waitForState(opened, "error");
    assert.match(await page.getByTestId("map-error").innerText(), /corrupted/i);
    assert.equal(await page.getByTestId("report-input").inputValue(), SHORT_REPORT, "the text is kept");
    assert.equal(hits(), before + 1);

    server.corrupt.clear();
    await page.getByTestId("retry-button").click();
    await waitForState(opened, "done");
    assert.equal(hits(), before + 2, "retry downloaded it again");
    assert.equal(await page.getByTestId("map-error").count(), 0);

    // Damage the cached copy: the next load notices, evicts it and downloads it again.
    const damaged = await page.evaluate(async () => {
      const cache = await caches.open("ttpmap-model");
      const keys = (await cache.keys()).map((r) => r.url).filter((u) => u.includes("model.gguf"));
      for (const k of keys) await cache.put(k, new Response(new Uint8Array([1, 2, 3])));
      return keys.length;
    });
    assert.equal(damaged, 1, "the model was cached under one key");
    await gotoApp(opened, server.url);
    await page.getByTestId("map-button").click();
    await waitForState(opened, "done");
    assert.equal(hits(), before + 3, "the damaged copy was replaced by a download");
    assert.deepEqual(foreignRequests(log, server.origin), []);
    assert.deepEqual(log.pageErrors, []);
    assert.ok(log.consoleErrors.every((m) => /corrupted/.test(m)), log.consoleErrors.join("\n"));
  } finally {
    server.corrupt.clear();
    await page.close();
    await fresh.close();
  }
});

test("a browser without WebAssembly SIMD gets a clear message", async () => {
  const opened = await openPage(browser.context);
  opened.allowErrors = [];
  pages.push(opened);
  const { page } = opened;
  await page.addInitScript(() => {
    WebAssembly.validate = () => false;
  });
  await page.goto(server.url);
  const message = page.getByTestId("startup-error");
  await message.waitFor({ timeout: 10_000 });
  assert.match(await message.innerText(), /needs WebAssembly with SIMD/);
  assert.equal(await page.getByTestId("heatmap").count(), 0, "the app did not start");
});
