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
