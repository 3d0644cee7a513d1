// The WebGPU path: with WebGPU (headless Chromium's SwiftShader adapter, turned on by
// --enable-unsafe-webgpu) the worker maps on the GPU and finds the same techniques as on the
// CPU; without WebGPU, or with the CPU forced (a choice that survives a reload), it reports
// cpu; a GPU lost part-way through a report leaves the CPU to finish it, nothing lost.
//
// SwiftShader runs the shaders on the CPU, far slower than candle: the reports here are
// short fixtures.

import { test, before, after, afterEach } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { startServer, launchBrowser, openPage, gotoApp, foreignRequests, waitForState, REPO_ROOT } from "./lib.mjs";

const FIXTURE = await readFile(path.join(REPO_ROOT, "crates/mapper/tests/fixtures/segment/ta410.txt"), "utf8");
const WEBGPU_ARGS = ["--enable-unsafe-webgpu"];
const SLOW = { timeout: 600_000 };

let server;
const browsers = [];
const pages = [];

before(async () => {
  server = await startServer();
});

after(async () => {
  for (const b of browsers) await b.close();
  await server?.close();
});

afterEach(async () => {
  for (const { page, log } of pages.splice(0)) {
    await page.close();
    assert.deepEqual(foreignRequests(log, server.origin), [], "requests outside the site's origin");
    assert.deepEqual(log.pageErrors, [], "uncaught page errors");
  }
});

/** A fresh browser (own profile) and a page on the app, with localStorage preset. One
 * worker: these tests compare the GPU encoder with the CPU encoder, and a report's first
 * mapping may otherwise be shared between the GPU worker and CPU workers (the pool learns
 * that the first worker runs on WebGPU only once its model is ready). */
async function app(args, storage = {}) {
  const browser = await launchBrowser({ args });
  browsers.push(browser);
  const opened = await openPage(browser.context);
  pages.push(opened);
  await opened.page.addInitScript((entries) => {
    for (const [k, v] of Object.entries(entries)) localStorage.setItem(k, v);
  }, storage);
  await gotoApp(opened, `${server.url}?workers=1`);
  return opened;
}

/** Maps the fixture; returns the backend it reports and the scored cells. */
async function mapFixture(opened) {
  const { page } = opened;
  await page.getByTestId("report-input").fill(FIXTURE);
  await page.getByTestId("map-button").click();
  await waitForState(opened, "done", { timeout: SLOW.timeout });
  const backend = page.getByTestId("backend");
  return {
    backend: await backend.getAttribute("data-backend"),
    text: await backend.innerText(),
    cells: await page.locator('[data-testid="heatmap"] [data-technique-id][data-score]').evaluateAll((els) =>
      Object.fromEntries(els.map((e) => [e.dataset.techniqueId, Number(e.dataset.score)])),
    ),
  };
}

function assertSameCells(gpu, cpu) {
  assert.deepEqual(Object.keys(gpu).sort(), Object.keys(cpu).sort(), "the same techniques are detected");
  for (const [id, score] of Object.entries(cpu)) {
    // Scores are shown 0-100; probabilities within 0.01 may round one apart.
    assert.ok(Math.abs(gpu[id] - score) <= 1, `${id}: ${gpu[id]} on the GPU vs ${score} on the CPU`);
  }
}

let cpuCells;

test("without WebGPU the model runs on the CPU, and says so", SLOW, async () => {
  const opened = await app([]);
  const r = await mapFixture(opened);
  assert.equal(r.backend, "cpu", r.text);
  assert.ok(Object.keys(r.cells).length > 0, "the fixture detects techniques");
  cpuCells = r.cells;
});

test("with WebGPU the model runs on the GPU and detects what the CPU detects", SLOW, async () => {
  const opened = await app(WEBGPU_ARGS);
  const r = await mapFixture(opened);
  assert.equal(r.backend, "webgpu", r.text);
  assert.match(r.text, /WebGPU/);
  assertSameCells(r.cells, cpuCells);
});

test("the analyst can force the CPU where WebGPU is available; the choice survives a reload", SLOW, async () => {
  const opened = await app(WEBGPU_ARGS);
  const { page } = opened;
  await page.getByTestId("backend-choice").selectOption("cpu");
  const r = await mapFixture(opened);
  assert.equal(r.backend, "cpu", r.text);
  assertSameCells(r.cells, cpuCells);
  await page.reload();
  await gotoApp(opened, `${server.url}?workers=1`);
  assert.equal(await page.getByTestId("backend-choice").inputValue(), "cpu");
});

test("a GPU lost part-way through a report: the CPU finishes it and nothing is lost", SLOW, async () => {
  // The worker destroys its device after two batches (a test-only setting).
  const opened = await app(WEBGPU_ARGS, { "ttpmap.debug.lose-gpu-after": "2" });
  const r = await mapFixture(opened);
  assert.equal(r.backend, "cpu", r.text);
  assert.match(r.text, /GPU failed after [1-9]\d* sentences/);
  assertSameCells(r.cells, cpuCells);
});
