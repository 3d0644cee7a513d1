// Starts the wasm app.
//
// Trunk's default loader is an inline <script>, which the page's Content-Security-Policy
// (script-src 'self') forbids. Trunk.toml's `pattern_script` puts this external module in
// its place and hands it the hashed file names as data attributes. URLs stay relative to
// the page, so the site works from any static host and sub-path.
const tag = document.querySelector("script[data-ttpmap-js]");
try {
  const js = new URL(tag.dataset.ttpmapJs, document.baseURI);
  const wasm = new URL(tag.dataset.ttpmapWasm, document.baseURI);
  const { default: init } = await import(js.href);
  await init({ module_or_path: wasm });
} catch (e) {
  console.error("ttpmap could not start:", e);
  const p = document.createElement("p");
  p.className = "error";
  p.textContent = "ttpmap could not start in this browser: " + e;
  document.body.prepend(p);
}
