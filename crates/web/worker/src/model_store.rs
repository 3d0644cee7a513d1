//! Where the worker keeps the model files across visits, and how it downloads them.
//!
//! The browser's Cache API (`ttpmap-model`, keyed by name and sha256) in a secure context;
//! where a plain-HTTP host has no `caches`, IndexedDB through the `ttpmapIdbStore` helper
//! that public/worker-boot.js defines. Requests go only to the site's own files, by
//! relative URL; with the model kept there are none.

use js_sys::{Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{Cache, DedicatedWorkerGlobalScope, Response};

use ttpmap_mapper::model::ModelFile;

/// The model's folder, relative to the worker script (which sits next to index.html).
pub const MODEL_DIR: &str = "model/";
/// The Cache API cache that keeps the model files (the service worker, public/sw.js,
/// leaves model/ to it and never deletes it).
const CACHE_NAME: &str = "ttpmap-model";

/// The cache key of a model file: its name and sha256, so a new model never meets an old file.
pub fn cache_key(file: &ModelFile) -> String {
    format!("{MODEL_DIR}{}?sha256={}", file.name, file.sha256)
}

fn describe(e: &JsValue) -> String {
    e.as_string()
        .or_else(|| {
            e.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| format!("{e:?}"))
}

/// Downloads `url` (relative) into memory, calling `progress(bytes so far)` as it comes.
pub async fn fetch_bytes(
    scope: &DedicatedWorkerGlobalScope,
    url: &str,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<u8>, String> {
    let response: Response = JsFuture::from(scope.fetch_with_str(url))
        .await
        .map_err(|e| format!("{url}: {}", describe(&e)))?
        .dyn_into()
        .map_err(|_| format!("{url}: not a response"))?;
    if !response.ok() {
        return Err(format!("{url}: HTTP {}", response.status()));
    }
    let Some(body) = response.body() else {
        return Ok(Vec::new());
    };
    let reader: web_sys::ReadableStreamDefaultReader = body
        .get_reader()
        .dyn_into()
        .map_err(|_| format!("{url}: the body cannot be read"))?;
    let expected = response
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(0);
    let mut out = Vec::with_capacity(expected);
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|e| format!("{url}: the download broke off ({})", describe(&e)))?;
        let done = Reflect::get(&chunk, &"done".into())
            .ok()
            .and_then(|d| d.as_bool())
            .unwrap_or(true);
        if done {
            break;
        }
        let value = Reflect::get(&chunk, &"value".into()).unwrap_or(JsValue::UNDEFINED);
        let bytes: Uint8Array = value.unchecked_into();
        let start = out.len();
        out.resize(start + bytes.length() as usize, 0);
        bytes.copy_to(&mut out[start..]);
        progress(out.len() as u64);
    }
    Ok(out)
}

/// Where the model files are kept across visits: the Cache API in a secure context (HTTPS,
/// localhost), else IndexedDB through the `ttpmapIdbStore` helper that worker-boot.js
/// defines (a plain-HTTP intranet host has no `caches` at all).
pub enum ModelStore {
    Cache(Cache),
    /// worker-boot.js's `{ get, put, delete, keys }`, each returning a promise.
    Idb(JsValue),
}

impl ModelStore {
    /// The store, or `None` where the browser keeps nothing (no Cache API and no
    /// IndexedDB, or both refused): the model is then downloaded on every visit.
    pub async fn open(scope: &DedicatedWorkerGlobalScope) -> Option<ModelStore> {
        // `scope.caches()` does not catch: where `caches` is undefined it hands back
        // `undefined` typed as a CacheStorage, and `.open` then throws a TypeError.
        let caches = Reflect::get(scope, &"caches".into()).unwrap_or(JsValue::UNDEFINED);
        if let Ok(caches) = caches.dyn_into::<web_sys::CacheStorage>() {
            match JsFuture::from(caches.open(CACHE_NAME)).await {
                Ok(cache) => {
                    if let Ok(cache) = cache.dyn_into() {
                        return Some(ModelStore::Cache(cache));
                    }
                }
                Err(e) => web_sys::console::warn_2(
                    &"ttpmap: the Cache API refused; trying IndexedDB:".into(),
                    &e,
                ),
            }
        }
        let idb = Reflect::get(scope, &"ttpmapIdbStore".into()).ok()?;
        if idb.is_object() {
            Some(ModelStore::Idb(idb))
        } else {
            web_sys::console::warn_1(
                &"ttpmap: neither the Cache API nor IndexedDB; the model will not be kept".into(),
            );
            None
        }
    }

    /// Calls the IndexedDB helper's `method` and waits for its promise.
    async fn idb_call(idb: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
        let f: js_sys::Function = Reflect::get(idb, &method.into())?.dyn_into()?;
        let promise: Promise = f.apply(idb, &args.iter().collect::<js_sys::Array>())?.dyn_into()?;
        JsFuture::from(promise).await
    }

    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        match self {
            ModelStore::Cache(cache) => {
                let found = JsFuture::from(cache.match_with_str(key)).await.ok()?;
                let response: Response = found.dyn_into().ok()?;
                let buffer = JsFuture::from(response.array_buffer().ok()?).await.ok()?;
                Some(Uint8Array::new(&buffer).to_vec())
            }
            ModelStore::Idb(idb) => {
                let found = Self::idb_call(idb, "get", &[key.into()]).await.ok()?;
                found.dyn_into::<Uint8Array>().ok().map(|bytes| bytes.to_vec())
            }
        }
    }

    pub async fn put(&self, key: &str, bytes: &[u8]) {
        let body = Uint8Array::from(bytes);
        let stored = match self {
            ModelStore::Cache(cache) => match Response::new_with_opt_buffer_source(Some(&body)) {
                Ok(response) => JsFuture::from(cache.put_with_str(key, &response)).await,
                Err(e) => Err(e),
            },
            ModelStore::Idb(idb) => Self::idb_call(idb, "put", &[key.into(), body.into()]).await,
        };
        if let Err(e) = stored {
            // Quota or private mode: the model still works, it is just downloaded next time.
            web_sys::console::warn_2(&format!("ttpmap: could not keep {key}:").into(), &e);
        }
    }

    pub async fn delete(&self, key: &str) {
        let _ = match self {
            ModelStore::Cache(cache) => JsFuture::from(cache.delete_with_str(key)).await,
            ModelStore::Idb(idb) => Self::idb_call(idb, "delete", &[key.into()]).await,
        };
    }

    /// Deletes kept entries other than `keep` (files of an older model).
    pub async fn evict_others(&self, keep: &[String]) {
        match self {
            ModelStore::Cache(cache) => {
                let Ok(keys) = JsFuture::from(cache.keys()).await else {
                    return;
                };
                let keys: js_sys::Array = keys.unchecked_into();
                for request in keys.iter() {
                    let Ok(request) = request.dyn_into::<web_sys::Request>() else {
                        continue;
                    };
                    let url = request.url();
                    let stale = !keep.iter().any(|k| url.ends_with(&format!("/{k}")));
                    if stale {
                        let _ = JsFuture::from(cache.delete_with_request(&request)).await;
                    }
                }
            }
            ModelStore::Idb(idb) => {
                let Ok(keys) = Self::idb_call(idb, "keys", &[]).await else {
                    return;
                };
                let keys: js_sys::Array = keys.unchecked_into();
                for key in keys.iter() {
                    if key.as_string().is_some_and(|k| !keep.contains(&k)) {
                        let _ = Self::idb_call(idb, "delete", &[key]).await;
                    }
                }
            }
        }
    }
}

