// Starts the inference worker (a classic worker: trunk builds it with wasm-bindgen's
// no-modules target as worker.js + worker_bg.wasm, next to this file).
//
// Failing to start (no wasm, an older browser) is reported to the page as a model
// failure, which it shows with a retry; an unhandled rejection would be silent.

// Where the Cache API is missing (a page served over plain HTTP from a host other than
// localhost is not a secure context), the worker keeps the model files in IndexedDB
// through this helper (crates/web/worker/src/model_store.rs, ModelStore): { get, put, delete, keys }, each a
// promise; `get` answers the stored Uint8Array or undefined.
self.ttpmapIdbStore =
  typeof indexedDB === "undefined"
    ? undefined
    : (() => {
        const open = () =>
          new Promise((resolve, reject) => {
            const req = indexedDB.open("ttpmap-model", 1);
            req.onupgradeneeded = () => req.result.createObjectStore("files");
            req.onsuccess = () => resolve(req.result);
            req.onerror = () => reject(req.error);
          });
        const run = async (mode, act) => {
          const db = await open();
          try {
            return await new Promise((resolve, reject) => {
              const tx = db.transaction("files", mode);
              const req = act(tx.objectStore("files"));
              tx.oncomplete = () => resolve(req.result);
              tx.onerror = tx.onabort = () => reject(tx.error);
            });
          } finally {
            db.close();
          }
        };
        return {
          get: (key) => run("readonly", (s) => s.get(key)),
          put: (key, bytes) => run("readwrite", (s) => s.put(bytes, key)),
          delete: (key) => run("readwrite", (s) => s.delete(key)),
          keys: () => run("readonly", (s) => s.getAllKeys()),
        };
      })();

importScripts("./worker.js");
wasm_bindgen({ module_or_path: "./worker_bg.wasm" }).catch((e) => {
  // A ModelError::WorkerStart (crates/web/protocol), which the page words.
  self.postMessage(
    JSON.stringify({ type: "model", event: { kind: "failed", error: { kind: "worker-start", detail: String(e) } } }),
  );
});
