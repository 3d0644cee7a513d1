// Starts the wasm app.
//
// Trunk's default loader is an inline <script>, which the page's Content-Security-Policy
// (script-src 'self') forbids. Trunk.toml's `pattern_script` puts this external module in
// its place and hands it the hashed file names as data attributes. URLs stay relative to
// the page, so the site works from any static host and sub-path.
//
// The app and its model are built for WebAssembly SIMD (128-bit). A browser without it
// would fail deep inside the wasm loader with a cryptic compile error, so it is checked
// first, on an 8-instruction module, and the visitor is told plainly.
//
// It also registers the service worker (public/sw.js: offline use after a first visit),
// says when a new version of the site is ready (with a reload button), and, on a host that
// is not a secure context (plain HTTP from a name other than localhost), says what the
// browser withholds there and why.

/** This page's deployment version, stamped by scripts/sw-version.sh ("dev" unbuilt). */
const VERSION = "dev"; // stamped
document.documentElement.dataset.ttpmapVersion = VERSION;

const tag = document.querySelector("script[data-ttpmap-js]");

// (module (func (result v128) i32.const 0 i8x16.splat i8x16.popcnt))
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253,
  15, 253, 98, 11,
]);

function fail(message) {
  const p = document.createElement("p");
  p.className = "startup-error";
  p.setAttribute("role", "alert");
  p.dataset.testid = "startup-error";
  p.textContent = message;
  document.body.prepend(p);
}

/** A notice above the app: `testid`, its text, and an optional button. */
function notice(testid, message, button) {
  const box = document.createElement("div");
  box.className = "site-notice";
  box.setAttribute("role", "status");
  box.dataset.testid = testid;
  const text = document.createElement("span");
  text.textContent = message;
  box.append(text);
  if (button) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = button.label;
    b.dataset.testid = button.testid;
    b.addEventListener("click", button.onClick, { once: true });
    box.append(b);
  }
  document.body.prepend(box);
  return box;
}

/** Says what a page that is not a secure context goes without, and why. */
function noticeInsecureHost() {
  if (window.isSecureContext) return;
  const kept = typeof indexedDB !== "undefined";
  const lost = ["offline use (no service worker)", "the GPU (no WebGPU)"];
  if (!kept) lost.push("keeping the model between visits (no storage)");
  notice(
    "host-notice",
    `This copy of ttpmap is served over plain HTTP from ${location.hostname}, which browsers ` +
      `do not treat as a secure context, so they withhold ${lost.slice(0, -1).join(", ")} and ` +
      `${lost.at(-1)}. Mapping still works, on the CPU` +
      (kept ? ", and the model is kept in this browser's IndexedDB." : "; the model is downloaded on each visit.") +
      " Serve it over HTTPS (or open it as localhost) to have them.",
  );
}

/** Asks a service worker for its deployment version (null if it does not answer). */
function versionOf(worker) {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    const timer = setTimeout(() => resolve(null), 5000);
    channel.port1.onmessage = (e) => {
      clearTimeout(timer);
      resolve(e.data?.ttpmapVersion ?? null);
    };
    worker.postMessage("version", [channel.port2]);
  });
}

/**
 * Registers public/sw.js where the browser has service workers. A new version, once
 * installed, waits; if it is not the version of this page, a notice offers a reload, which
 * lets it take over and reloads the page (page, worker and model of that version together).
 */
async function registerServiceWorker() {
  if (!("serviceWorker" in navigator)) return;
  // Offline, register() fails to fetch sw.js; the registration made before still serves.
  const registration = await navigator.serviceWorker.register("./sw.js").catch(async (e) => {
    const before = await navigator.serviceWorker.getRegistration().catch(() => undefined);
    if (!before) console.warn("ttpmap: the service worker could not be registered; no offline use:", e);
    return before;
  });
  if (!registration) return;
  let reloading = false;
  navigator.serviceWorker.addEventListener("controllerchange", () => {
    if (reloading) location.reload();
  });
  let shown = null;
  const waiting = async (worker) => {
    const version = await versionOf(worker);
    if (registration.waiting !== worker) return;
    if (version === VERSION) {
      // This page already is that version (it came from the network): take it up quietly.
      worker.postMessage("skip-waiting");
      return;
    }
    shown?.remove();
    shown = notice("update-notice", "A new version of ttpmap is ready.", {
      label: "Reload",
      testid: "update-reload",
      onClick: () => {
        reloading = true;
        worker.postMessage("skip-waiting");
      },
    });
  };
  if (registration.waiting) waiting(registration.waiting);
  registration.addEventListener("updatefound", () => {
    const worker = registration.installing;
    worker?.addEventListener("statechange", () => {
      if (worker.state === "installed" && registration.waiting === worker) waiting(worker);
    });
  });
  // The browser looks for a new version on each visit; a page kept open looks too.
  const update = () => registration.update().catch(() => {});
  window.addEventListener("online", update);
  setInterval(update, 60 * 60 * 1000);
}

function hasWasmSimd() {
  try {
    return typeof WebAssembly === "object" && WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

if (!hasWasmSimd()) {
  fail(
    "ttpmap cannot run in this browser: it needs WebAssembly with SIMD, which this browser " +
      "lacks or has turned off. Use a current version of Chrome, Edge, Firefox or Safari (16.4 or later).",
  );
} else {
  noticeInsecureHost();
  registerServiceWorker();
  try {
    const js = new URL(tag.dataset.ttpmapJs, document.baseURI);
    const wasm = new URL(tag.dataset.ttpmapWasm, document.baseURI);
    const { default: init } = await import(js.href);
    await init({ module_or_path: wasm });
  } catch (e) {
    console.error("ttpmap could not start:", e);
    fail("ttpmap could not start in this browser: " + e);
  }
}
