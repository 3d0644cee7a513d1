// ttpmap's service worker: keeps the app, so that after a first visit the page loads and
// maps with the network cut, and takes up a new deployment whole.
//
// - One cache per deployment version ("ttpmap-app-<VERSION>"). scripts/sw-version.sh (a
//   trunk post_build hook) stamps VERSION, a hash over every file of dist/, and FILES, each
//   file's sha256, into this file, so any change to the site changes this script and the
//   browser installs the new version beside the old one.
// - Install fetches the app (page, its wasm/js, styles, the inference worker, the
//   Enterprise matrix), checks every file against its sha256 (a half-finished deployment
//   fails the install and is retried later) and only then keeps the lot. The other
//   matrices and their vectors are kept when the page first asks for them (a visit that
//   stays on Enterprise ATT&CK never downloads them), if their sha256 is this version's.
// - model/ is left alone: the inference worker keeps the model files itself (cache
//   "ttpmap-model", keyed by the sha256 in the manifest built into that worker), so each
//   worker version loads its own model and the 24 MB are not kept twice.
// - Requests go to the network first, so an online page always gets the site as it is
//   now (and the browser tests see every request); the cache answers when the network
//   does not. Nothing but the site's own files, by relative URL.
// - A new version waits until the page says so: boot.js shows "a new version is ready"
//   with a reload button, which sends "skip-waiting"; activate then deletes older caches.

const VERSION = "dev"; // stamped
const FILES = {}; // stamped

const PREFIX = "ttpmap-app-";
const CACHE = PREFIX + VERSION;
const SCOPE = self.registration.scope;

/** Kept when first asked for, not at install. */
const lazy = (path) => path.startsWith("matrices/") && path !== "matrices/enterprise.json";
/** Kept by the inference worker (crates/web/worker/src/model_store.rs). */
const workers = (path) => path.startsWith("model/");

async function sha256(buffer) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", buffer));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** `response` as a cache entry if its body has `path`'s sha256 in this version, else null. */
async function verified(path, response) {
  if (!response.ok) return null;
  const body = await response.arrayBuffer();
  if ((await sha256(body)) !== FILES[path]) return null;
  return new Response(body, { status: response.status, headers: response.headers });
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const paths = Object.keys(FILES).filter((p) => !lazy(p) && !workers(p));
      const entries = await Promise.all(
        paths.map(async (path) => {
          const response = await fetch(new URL(path, SCOPE), { cache: "no-store" });
          const entry = await verified(path, response);
          if (!entry) throw new Error(`ttpmap ${VERSION}: ${path} is not this version's`);
          return [path, entry];
        }),
      );
      const cache = await caches.open(CACHE);
      await Promise.all(entries.map(([path, entry]) => cache.put(new URL(path, SCOPE), entry)));
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith(PREFIX) && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("message", (event) => {
  if (event.data === "skip-waiting") self.skipWaiting();
  else if (event.data === "version") event.ports[0]?.postMessage({ ttpmapVersion: VERSION });
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || !request.url.startsWith(SCOPE)) return;
  const path = request.url.slice(SCOPE.length).split(/[?#]/)[0];
  const key = request.mode === "navigate" || path === "" ? "index.html" : path;
  if (workers(key) || !(key in FILES)) return;
  event.respondWith(
    (async () => {
      try {
        const response = await fetch(request);
        if (lazy(key) && response.ok) event.waitUntil(keep(key, response.clone()));
        return response;
      } catch (offline) {
        const cached = await caches.match(new URL(key, SCOPE), { cacheName: CACHE });
        if (cached) return cached;
        throw offline;
      }
    })(),
  );
});

async function keep(path, response) {
  const entry = await verified(path, response);
  if (entry) await (await caches.open(CACHE)).put(new URL(path, SCOPE), entry);
}
