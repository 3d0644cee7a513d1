// The one harness of the browser tests: a static server for dist/, a headless Chromium,
// pages that log what they do, and `harness()`, which every tests/e2e/*.test.mjs calls once
// so that each file holds only its tests and every test gets the same checks after it.
//
// The server is deliberately tiny and strict: it serves only files under dist/, mounted at
// a sub-path (BASE), so a leading "/" anywhere in the site shows up as a 404 and a failed
// test. Every test page records each request it makes, so a test can assert that nothing
// leaves the site's own origin.

import http from "node:http";
import { before, beforeEach, afterEach, after } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(here, "../..");
export const DIST = process.env.TTPMAP_DIST ?? path.join(REPO_ROOT, "dist");
export const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";

/** The sub-path the site is served under; the site must not assume it lives at "/". */
export const BASE = "/ttpmap/";

/**
 * Stand-ins for generated artifacts that a build may not contain yet, as
 * { "path/in/dist": "file on disk" }. Served only when dist/ lacks the file.
 * The fixture matrix is a 41-technique cut of Enterprise ATT&CK v18.1 (all 14 tactics).
 */
export const FALLBACKS = {
  "matrices/enterprise.json": path.join(here, "fixtures", "enterprise.json"),
};

/** The 14 Enterprise tactics, in ATT&CK order. */
export const ENTERPRISE_TACTICS = [
  "TA0043", "TA0042", "TA0001", "TA0002", "TA0003", "TA0004", "TA0005",
  "TA0006", "TA0007", "TA0008", "TA0009", "TA0011", "TA0010", "TA0040",
];

const MIME = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".txt": "text/plain; charset=utf-8",
  ".gguf": "application/octet-stream",
  ".bin": "application/octet-stream",
  ".safetensors": "application/octet-stream",
};

async function isFile(p) {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

/**
 * Serves `root` at http://127.0.0.1:<random port><BASE>; paths in `hidden` answer 404.
 * Returns { origin, url, served: string[] (paths that were answered from FALLBACKS),
 * hits: Map<path, count> (every path requested), corrupt: Set<path> (add a path to serve
 * it with some bytes flipped, as a broken download would), hidden: Set<path> (paths that
 * answer 404, changeable while serving), close() }.
 */
export async function startServer({ root = DIST, base = BASE, fallbacks = FALLBACKS, hidden = [] } = {}) {
  if (!existsSync(path.join(root, "index.html"))) {
    throw new Error(`${root}/index.html is missing: build the site first (TRUNK_OFFLINE=true trunk build --release)`);
  }
  const rootAbs = path.resolve(root);
  const servedFallbacks = [];
  const hits = new Map();
  const corrupt = new Set();
  const hiddenNow = new Set(hidden);
  const server = http.createServer(async (req, res) => {
    const send = (status, body, type = "text/plain; charset=utf-8") => {
      res.writeHead(status, { "content-type": type, "cache-control": "no-store" });
      res.end(body);
    };
    try {
      if (req.method !== "GET" && req.method !== "HEAD") return send(405, "method not allowed");
      const { pathname } = new URL(req.url, "http://localhost");
      if (!pathname.startsWith(base)) return send(404, `not under ${base}: ${pathname}`);
      let rel = decodeURIComponent(pathname.slice(base.length));
      if (rel === "" || rel.endsWith("/")) rel += "index.html";
      hits.set(rel, (hits.get(rel) ?? 0) + 1);
      let file = path.resolve(rootAbs, rel);
      if (file !== rootAbs && !file.startsWith(rootAbs + path.sep)) return send(403, "forbidden");
      if (hiddenNow.has(rel) || !(await isFile(file))) {
        const fallback = hiddenNow.has(rel) ? undefined : fallbacks[rel];
        if (!fallback) return send(404, `not found: ${rel}`);
        file = fallback;
        servedFallbacks.push(rel);
      }
      let body = await readFile(file);
      if (corrupt.has(rel)) body = flipBytes(body);
      const type = MIME[path.extname(file).toLowerCase()] ?? "application/octet-stream";
      res.writeHead(200, { "content-type": type, "content-length": body.length, "cache-control": "no-store" });
      res.end(req.method === "HEAD" ? undefined : body);
    } catch (e) {
      send(500, String(e));
    }
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address();
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    url: origin + base,
    served: servedFallbacks,
    hits,
    corrupt,
    hidden: hiddenNow,
    // Idempotent: a test may close the server itself (the network cut) before the harness does.
    close: () => new Promise((resolve) => {
      if (!server.listening) return resolve();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** A copy of `body` with one byte in every 4 KiB inverted (same length, wrong sha256). */
export function flipBytes(body) {
  const out = Buffer.from(body);
  for (let i = 0; i < out.length; i += 4096) out[i] ^= 0xff;
  return out;
}

/** Chromium flags: headless, and quiet on the (closed) network. */
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
];

/**
 * Launches Debian's Chromium with a fresh profile directory.
 * Returns { context, close() }; `close` also deletes the profile.
 */
export async function launchBrowser({ args = [], viewport = { width: 1600, height: 1000 } } = {}) {
  const userDataDir = await mkdtemp(path.join(tmpdir(), "ttpmap-e2e-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [...CHROMIUM_ARGS, ...args],
    viewport,
  });
  return {
    context,
    userDataDir,
    close: async () => {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Opens a new page that records what it does (for a test, use the harness's `openPage`,
 * which also checks the record after the test):
 * requests (every URL), consoleErrors, pageErrors and dialogs (which are dismissed).
 */
export async function openPage(context) {
  const page = await context.newPage();
  const log = { requests: [], consoleErrors: [], pageErrors: [], dialogs: [] };
  page.on("request", (r) => log.requests.push(r.url()));
  page.on("console", (m) => {
    if (m.type() === "error") log.consoleErrors.push(m.text());
  });
  page.on("pageerror", (e) => log.pageErrors.push(String(e)));
  page.on("dialog", (d) => {
    log.dialogs.push(`${d.type()}: ${d.message()}`);
    d.dismiss().catch(() => {});
  });
  return { page, log };
}

/**
 * Loads the app and waits until the matrix is drawn (or failed to load).
 * On a timeout the error carries the page's console errors: usually the real cause.
 */
export async function gotoApp({ page, log }, url, { timeout = 20_000 } = {}) {
  await page.goto(url);
  try {
    await page.waitForSelector('[data-testid="heatmap"]:not([data-matrix="loading"])', { timeout });
  } catch (e) {
    const errors = [...log.consoleErrors, ...log.pageErrors];
    throw new Error(`the app did not start at ${url}: ${errors.join(" | ") || e.message}`);
  }
}

/** Requests that went anywhere but `origin` (data: URLs excepted, they never leave the page). */
export function foreignRequests(log, origin) {
  return log.requests.filter((u) => !u.startsWith("data:") && new URL(u).origin !== origin);
}

/**
 * Waits until the heatmap's data-state is one of `states` (a string or an array).
 * On a timeout the error names the state it was in and the page's errors.
 */
export async function waitForState({ page, log }, states, { timeout = 120_000 } = {}) {
  const wanted = [].concat(states);
  try {
    await page.waitForFunction(
      (wanted) => wanted.includes(document.querySelector('[data-testid="heatmap"]')?.dataset.state),
      wanted,
      { timeout, polling: 100 },
    );
  } catch (e) {
    const state = await page.getByTestId("heatmap").getAttribute("data-state").catch(() => "?");
    const status = await page.getByTestId("progress").innerText().catch(() => "");
    const error = await page.getByTestId("map-error").innerText().catch(() => "");
    const errors = [...log.consoleErrors, ...log.pageErrors].join(" | ");
    throw new Error(`heatmap never reached ${wanted.join("|")} (state ${state}; ${status} ${error} ${errors})`);
  }
}

/** A short report: a few paragraphs describing well-known techniques. */
export const SHORT_REPORT = [
  "Operation Winter Lantern: intrusion into a regional utility",
  "",
  "The actor gained initial access by sending spearphishing emails with malicious Microsoft Word attachments to employees of the finance department. When a victim opened the document and enabled macros, the embedded VBA code ran a PowerShell command that downloaded the second-stage loader from a compromised WordPress site.",
  "",
  "For persistence, the loader created a scheduled task named \"OneDriveUpdate\" with schtasks.exe that ran the implant every hour with SYSTEM privileges.",
  "",
  "The operators then dumped credentials from LSASS memory with Mimikatz and a renamed copy of procdump, and used the stolen domain administrator password to move laterally over RDP to the file servers.",
  "",
  "Finally, they compressed the collected documents into password-protected RAR archives and exfiltrated them over the existing HTTPS command and control channel.",
].join("\n");

/**
 * The checks every test page passes after its test: no request left `origin` (the site's
 * own), no console error but those matching one of `allowConsoleErrors` (RegExps, each
 * given by the test that provokes it), no uncaught exception, no dialog.
 */
export function assertCleanPage(log, origin, allowConsoleErrors = []) {
  assert.deepEqual(foreignRequests(log, origin), [], "requests outside the site's origin");
  const unexpected = log.consoleErrors.filter((m) => !allowConsoleErrors.some((re) => re.test(m)));
  assert.deepEqual(unexpected, [], "console errors");
  assert.deepEqual(log.pageErrors, [], "uncaught page errors");
  assert.deepEqual(log.dialogs, [], "dialogs");
}

/**
 * Registers the node:test hooks of one test file and returns its harness, `h`:
 *
 * - `h.server`, `h.browser`: the file's server for dist/ and its Chromium, started before
 *   its first test (unless `{ server: false }` / `{ browser: false }`), closed after its last.
 * - `h.startServer(options)`, `h.launchBrowser(options)`, `h.tempDir(prefix)`: more of each
 *   for one test (a server with files hidden, a fresh profile, Chromium flags, a copy of
 *   dist/), closed or deleted after that test.
 * - `h.openPage({ context, origin, allowConsoleErrors })`: a logging page (see openPage) in
 *   `context` (the file's browser by default) whose only allowed origin is `origin` (the
 *   file's server by default).
 * - `h.app({ query, url, context, origin, init, allowConsoleErrors })`: such a page on the
 *   app (`url`, by default the file's server, plus `query`), loaded once the matrix is
 *   drawn; `init(page)` runs first (init scripts).
 *
 * After each test, for every page it opened: localStorage is cleared (tests do not leak
 * into each other), the page is closed and assertCleanPage checks its log; then the test's
 * own browsers, servers and folders go. A test that expects a console error passes
 * `allowConsoleErrors` for that page, with the reason beside it.
 */
export function harness({ server: withServer = true, browser: withBrowser = true } = {}) {
  const fileScope = { pages: [], browsers: [], servers: [], dirs: [] };
  let testScope = null;
  const scope = () => testScope ?? fileScope;

  const h = {
    server: undefined,
    browser: undefined,
    async startServer(options) {
      const server = await startServer(options);
      scope().servers.push(server);
      return server;
    },
    async launchBrowser(options) {
      const browser = await launchBrowser(options);
      scope().browsers.push(browser);
      return browser;
    },
    async tempDir(prefix = "ttpmap-e2e-") {
      const dir = await mkdtemp(path.join(tmpdir(), prefix));
      scope().dirs.push(dir);
      return dir;
    },
    async openPage({ context, origin, allowConsoleErrors = [] } = {}) {
      context ??= h.browser?.context;
      origin ??= h.server?.origin;
      assert.ok(context, "openPage needs a browser context (this file launches none)");
      assert.ok(origin, "openPage needs the site's origin (this file starts no server)");
      const opened = await openPage(context);
      scope().pages.push({ ...opened, origin, allowConsoleErrors });
      return opened;
    },
    async app({ query = "", url, context, origin, init, allowConsoleErrors } = {}) {
      url ??= h.server.url;
      origin ??= new URL(url).origin;
      const opened = await h.openPage({ context, origin, allowConsoleErrors });
      if (init) await init(opened.page);
      await gotoApp(opened, url + query);
      return opened;
    },
  };

  /** Checks and closes `s`'s pages, then closes the rest of it; throws the first failure. */
  async function release(s) {
    const failures = [];
    for (const { page, log, origin, allowConsoleErrors } of s.pages.splice(0)) {
      await page.evaluate(() => localStorage.clear()).catch(() => {});
      await page.close().catch(() => {});
      try {
        assertCleanPage(log, origin, allowConsoleErrors);
      } catch (e) {
        failures.push(e);
      }
    }
    for (const browser of s.browsers.splice(0)) await browser.close().catch((e) => failures.push(e));
    for (const server of s.servers.splice(0)) {
      if (server.served.length) {
        console.log(`# stand-ins served (not in dist/): ${[...new Set(server.served)].join(", ")}`);
      }
      await server.close();
    }
    for (const dir of s.dirs.splice(0)) await rm(dir, { recursive: true, force: true });
    if (failures.length) throw failures[0];
  }

  before(async () => {
    if (withServer) h.server = await h.startServer();
    if (withBrowser) h.browser = await h.launchBrowser();
  });
  beforeEach(() => {
    testScope = { pages: [], browsers: [], servers: [], dirs: [] };
  });
  afterEach(async () => {
    const s = testScope;
    testScope = null;
    await release(s);
  });
  after(() => release(fileScope));
  return h;
}
