// Deployable anywhere: offline use after a first visit (the service worker, public/sw.js),
// a new deployment taken up whole and announced, and a plain-HTTP host that is not a secure
// context (no service worker, no Cache API, no WebGPU) still mapping, with the model kept in
// IndexedDB and a notice saying what the browser withholds there.

import { test } from "node:test";
import assert from "node:assert/strict";
import { cp, appendFile, readFile } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { harness, gotoApp, waitForState, SHORT_REPORT, REPO_ROOT, DIST } from "./lib.mjs";

// Every test's pages are checked after it (lib.mjs, harness): no request outside the
// site's origin, no console error, no uncaught exception, no dialog. Each test starts its
// own server (one is closed as the network is cut, one serves a copy of dist/) and browser.
const h = harness({ server: false, browser: false });

/** A second report, so the offline map is a new mapping and not the one kept from before. */
const OTHER_REPORT = [
  "The intruders sent phishing emails with a malicious link to staff.",
  "They ran PowerShell scripts to download more tools and created a scheduled task for persistence.",
  "Credentials were dumped from LSASS memory with Mimikatz.",
].join("\n\n");

/** Pastes `text`, presses Map and waits for the mapping; returns the techniques with a score. */
async function mapReport(opened, text) {
  const { page } = opened;
  await page.getByTestId("report-input").fill(text);
  await page.getByTestId("map-button").click();
  await waitForState(opened, "done");
  return page.locator('[data-testid="heatmap"] [data-technique-id][data-score]').count();
}

/** Waits until a service worker controls the page and has kept this version's files. */
async function serviceWorkerReady(page) {
  return page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    if (!navigator.serviceWorker.controller) {
      await new Promise((resolve) => navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true }));
    }
    return caches.keys();
  });
}

test("after a first visit and map, the page loads and maps with the network cut", async () => {
  const server = await h.startServer();
  const browser = await h.launchBrowser();
  const opened = await h.app({ url: server.url, context: browser.context });
  const version = await opened.page.evaluate(() => document.documentElement.dataset.ttpmapVersion);
  assert.match(version, /^[0-9a-f]{16}$/, "the build stamped a version (scripts/sw-version.sh)");
  const kept = await serviceWorkerReady(opened.page);
  assert.ok(kept.includes(`ttpmap-app-${version}`), `the app is kept under its version: ${kept}`);
  assert.ok(await mapReport(opened, SHORT_REPORT) > 0, "the first map found techniques");
  const modelHits = server.hits.get("model/model.gguf");
  assert.equal(modelHits, 1);
  assert.equal(await opened.page.getByTestId("host-notice").count(), 0, "no plain-HTTP notice on localhost");

  // The network cut: the browser offline, and the server gone too.
  await browser.context.setOffline(true);
  await server.close();
  const before = opened.log.requests.length;
  await gotoApp(opened, server.url);
  assert.equal(await opened.page.evaluate(() => document.documentElement.dataset.ttpmapVersion), version);
  await opened.page.getByTestId("clear-button").click();
  assert.ok(await mapReport(opened, OTHER_REPORT) > 0, "the offline map found techniques");
  assert.match(await opened.page.getByTestId("report-input").inputValue(), /Mimikatz/);
  assert.ok(opened.log.requests.length > before, "the reload made its requests (answered offline)");
});

test("a new deployment is installed beside the open page, announced, and taken up whole on reload; the old version's cache is deleted", async () => {
  const root = await h.tempDir("ttpmap-dist-");
  await cp(DIST, root, { recursive: true });
  const server = await h.startServer({ root });
  const browser = await h.launchBrowser();
  const opened = await h.app({ url: server.url, context: browser.context });
  const { page } = opened;
  const old = await page.evaluate(() => document.documentElement.dataset.ttpmapVersion);
  await serviceWorkerReady(page);
  await page.waitForTimeout(500);
  assert.equal(await page.getByTestId("update-notice").count(), 0, "no notice while the version is current");

  // A new deployment: one file changed, the version stamped again as trunk's hook does.
  await appendFile(path.join(root, "model/README.md"), "\nA new deployment.\n");
  execFileSync("sh", [path.join(REPO_ROOT, "scripts/sw-version.sh"), root]);
  const next = (await readFile(path.join(root, "sw.js"), "utf8")).match(/^const VERSION = "([0-9a-f]+)"; \/\/ stamped$/m)[1];
  assert.notEqual(next, old, "a changed file is a new version");

  await page.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => r.update()));
  const notice = page.getByTestId("update-notice");
  await notice.waitFor({ timeout: 30_000 });
  assert.match(await notice.innerText(), /new version of ttpmap is ready/i);
  assert.equal(await page.evaluate(() => document.documentElement.dataset.ttpmapVersion), old, "the open page is untouched");
  const beside = await page.evaluate(() => caches.keys());
  assert.ok(beside.includes(`ttpmap-app-${old}`) && beside.includes(`ttpmap-app-${next}`), `both versions kept while it waits: ${beside}`);

  await Promise.all([page.waitForEvent("load"), page.getByTestId("update-reload").click()]);
  await page.waitForSelector('[data-testid="heatmap"]:not([data-matrix="loading"])', { timeout: 20_000 });
  assert.equal(await page.evaluate(() => document.documentElement.dataset.ttpmapVersion), next, "the page is the new version");
  const after = await page.evaluate(() => caches.keys());
  assert.deepEqual(after.filter((k) => k.startsWith("ttpmap-app-")), [`ttpmap-app-${next}`], "the old version's cache is deleted");
  assert.equal(await page.getByTestId("update-notice").count(), 0, "no notice after the reload");
});

test("over plain HTTP from a non-localhost name, the page maps, keeps the model in IndexedDB, and says what is unavailable", async () => {
  const server = await h.startServer();
  const browser = await h.launchBrowser({ args: ["--host-resolver-rules=MAP ttpmap.test 127.0.0.1"] });
  const origin = server.origin.replace("127.0.0.1", "ttpmap.test");
  const url = origin + new URL(server.url).pathname;
  const opened = await h.app({ url, context: browser.context });
  const { page } = opened;
  const context = await page.evaluate(() => ({
    secure: window.isSecureContext,
    serviceWorker: "serviceWorker" in navigator,
    caches: typeof caches,
  }));
  assert.deepEqual(context, { secure: false, serviceWorker: false, caches: "undefined" }, "not a secure context");
  const notice = page.getByTestId("host-notice");
  const text = await notice.innerText();
  assert.match(text, /plain HTTP from ttpmap\.test/);
  assert.match(text, /offline use/);
  assert.match(text, /GPU/);
  assert.match(text, /kept in this browser's IndexedDB/);

  assert.ok(await mapReport(opened, SHORT_REPORT) > 0, "the map found techniques");
  assert.equal(server.hits.get("model/model.gguf"), 1);
  // Another visit: the model comes from IndexedDB, not the network.
  await gotoApp(opened, url);
  await page.getByTestId("clear-button").click();
  assert.ok(await mapReport(opened, OTHER_REPORT) > 0, "the second map found techniques");
  assert.equal(server.hits.get("model/model.gguf"), 1, "the model was kept across visits");
  assert.equal(server.hits.get("sw.js") ?? 0, 0, "no service worker asked for");
});
