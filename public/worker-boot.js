// Starts the inference worker (a classic worker: trunk builds it with wasm-bindgen's
// no-modules target as worker.js + worker_bg.wasm, next to this file).
//
// Failing to start (no wasm, an older browser) is reported to the page as a model
// failure, which it shows with a retry; an unhandled rejection would be silent.
importScripts("./worker.js");
wasm_bindgen({ module_or_path: "./worker_bg.wasm" }).catch((e) => {
  self.postMessage(
    JSON.stringify({ type: "model-failed", message: "The mapping worker could not start: " + e }),
  );
});
