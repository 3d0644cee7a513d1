// The WebGPU path: with WebGPU (headless Chromium's SwiftShader adapter, turned on by
// --enable-unsafe-webgpu) the worker maps on the GPU and finds the same techniques as on the
// CPU; without WebGPU, or with the CPU forced (a choice that survives a reload), it reports
// cpu; a GPU lost part-way through a report leaves the CPU to finish it, nothing lost.
//
// SwiftShader runs the shaders on the CPU, far slower than candle: the reports here are
// short fixtures.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { harness, gotoApp, waitForState, REPO_ROOT } from "./lib.mjs";

const FIXTURE = await readFile(path.join(REPO_ROOT, "crates/mapper/tests/fixtures/segment/ta410.txt"), "utf8");
const WEBGPU_ARGS = ["--enable-unsafe-webgpu"];
const SLOW = { timeout: 600_000 };

// Every test's pages are checked after it (lib.mjs, harness): no request outside the
// site's origin, no console error, no uncaught exception, no dialog. Each test launches its
// own browser (its flags differ), closed after it.
const h = harness({ browser: false });

/** A fresh browser (own profile) and a page on the app, with localStorage preset. One
 * worker: these tests compare the GPU encoder with the CPU encoder, and a report's first
 * mapping may otherwise be shared between the GPU worker and CPU workers (the pool learns
 * that the first worker runs on WebGPU only once its model is ready). */
async function app(args, storage = {}, allowConsoleErrors = []) {
  const browser = await h.launchBrowser({ args });
  const init = (page) => page.addInitScript((entries) => {
    for (const [k, v] of Object.entries(entries)) localStorage.setItem(k, v);
  }, storage);
  return h.app({ context: browser.context, query: "?workers=1", init, allowConsoleErrors });
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
  // One full load of the same address, awaited until the matrix is drawn: a reload followed
  // by a second navigation would abort the first load part-way (and its errors are noise).
  await gotoApp(opened, page.url());
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
