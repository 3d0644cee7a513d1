//! Loading the model: each file of the manifest (built into the worker) from the model
//! store when it holds a verified copy, else downloaded with progress and verified
//! against the manifest's sha256 before it is used or kept; then the classifier (and the
//! f32 weights the GPU encoder is built from).

use ttpmap_mapper::model::{read_gguf_f32, ModelFile};
use ttpmap_mapper::{Classifier, Manifest, WeightFormat};
use ttpmap_web_protocol::{query_param, ModelError, ModelEvent, ModelSource};

use crate::engine::{yield_now, Engine};
use crate::model_store::{cache_key, fetch_bytes, ModelStore, MODEL_DIR};

/// The manifest of the model in public/model, built into the worker: it names the files
/// and their sha256, so a visit with the model in the cache makes no request at all, and
/// a new model (a new manifest) comes with a new build of the site.
pub const MANIFEST_JSON: &str = include_str!("../../../../public/model/manifest.json");
/// Least time between two download progress messages.
const PROGRESS_EVERY_MS: f64 = 100.0;

/// How the encoder's dense layers hold their weights unless the worker's URL says
/// otherwise (`worker-boot.js?weights=f32`, passed on from the page's `?weights=`).
/// i16: our integer kernel (`ttpmap_mapper::int8`, `i32x4.dot_i16x8_s`) mapped the
/// 5,000-word report about 1.4-1.5 times as fast as candle's f32 gemm (simd128), which
/// beat candle's Q8_0 quantized matmul, with the same validation evaluation as f32
/// (docs/benchmarks.md).
pub const DEFAULT_WEIGHTS: WeightFormat = WeightFormat::I16;

impl Engine {
    /// Reads, verifies and loads the model.
    pub async fn load_model(&self) -> Result<Classifier, ModelError> {
        let manifest = Manifest::from_json(MANIFEST_JSON).map_err(|e| ModelError::Manifest { detail: e.to_string() })?;
        let store = ModelStore::open(&self.scope).await;
        let total: u64 = manifest.files.iter().map(|f| f.bytes).sum();
        let mut loaded = 0u64;
        let mut gguf = None;
        let mut tokenizer = None;
        for file in &manifest.files {
            let bytes = self
                .model_file(&manifest, file, store.as_ref(), loaded, total)
                .await?;
            loaded += bytes.len() as u64;
            match file.name.as_str() {
                "model.gguf" => gguf = Some(bytes),
                "tokenizer.json" => tokenizer = Some(bytes),
                _ => {}
            }
        }
        let Some(gguf) = gguf else {
            return Err(ModelError::MissingFile { name: "model.gguf".into() });
        };
        let Some(tokenizer) = tokenizer else {
            return Err(ModelError::MissingFile { name: "tokenizer.json".into() });
        };
        self.post_model(ModelEvent::Verifying);
        yield_now(&self.scope).await;
        if let Some(store) = &store {
            let keep: Vec<String> = manifest.files.iter().map(cache_key).collect();
            store.evict_others(&keep).await;
        }
        // Both files were verified against the manifest above (Classifier::load would
        // hash the 24 MB again): build the classifier from the verified bytes.
        let search = self.scope.location().search();
        let format = query_param(&search, "weights")
            .and_then(|w| w.parse().ok())
            .unwrap_or(DEFAULT_WEIGHTS);
        let load = |e: &dyn std::fmt::Display| ModelError::Load { detail: e.to_string() };
        let tensors = read_gguf_f32(&gguf, &candle_core::Device::Cpu).map_err(|e| load(&e))?;
        let classifier = match format {
            WeightFormat::F32 => Classifier::from_tensors(manifest, &tensors, &tokenizer),
            WeightFormat::Q8 => Classifier::from_verified(manifest, &gguf, &tokenizer, format),
            WeightFormat::I16 => Classifier::from_tensors_as(manifest, &tensors, &tokenizer, format),
        }
        .map_err(|e| load(&e))?;
        drop(gguf);
        // Shared with the classifier (candle tensors are reference-counted); the GPU
        // encoder is built from them.
        self.gpu.set_weights(tensors);
        Ok(classifier)
    }

    /// One model file, verified: from the store if it holds a good copy, else downloaded.
    async fn model_file(
        &self,
        manifest: &Manifest,
        file: &ModelFile,
        store: Option<&ModelStore>,
        before: u64,
        total: u64,
    ) -> Result<Vec<u8>, ModelError> {
        let key = cache_key(file);
        if let Some(store) = store {
            if let Some(bytes) = store.get(&key).await {
                if manifest.verify(&file.name, &bytes).is_ok() {
                    self.post_model(ModelEvent::Progress {
                        loaded: before + bytes.len() as u64,
                        total,
                        source: ModelSource::Cache,
                    });
                    return Ok(bytes);
                }
                web_sys::console::warn_1(
                    &format!("ttpmap: the cached {} is corrupted; downloading it again", file.name).into(),
                );
                store.delete(&key).await;
            }
        }
        let url = format!("{MODEL_DIR}{}", file.name);
        let mut last = 0f64;
        let bytes = fetch_bytes(&self.scope, &url, &mut |n| {
            let now = self.now();
            if now - last >= PROGRESS_EVERY_MS {
                last = now;
                self.post_model(ModelEvent::Progress {
                    loaded: before + n,
                    total,
                    source: ModelSource::Network,
                });
            }
        })
        .await
        .map_err(|detail| ModelError::Download { detail })?;
        self.post_model(ModelEvent::Progress {
            loaded: before + bytes.len() as u64,
            total,
            source: ModelSource::Network,
        });
        if let Err(e) = manifest.verify(&file.name, &bytes) {
            return Err(ModelError::Corrupted { detail: e.to_string() });
        }
        if let Some(store) = store {
            store.put(&key, &bytes).await;
        }
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::{Manifest, MANIFEST_JSON};

    #[test]
    fn the_built_in_manifest_names_the_model_files_with_their_sha256() {
        let manifest = Manifest::from_json(MANIFEST_JSON).unwrap();
        for name in ["model.gguf", "tokenizer.json"] {
            let file = manifest.files.iter().find(|f| f.name == name).unwrap();
            assert_eq!(file.sha256.len(), 64, "{name}");
            assert!(file.bytes > 0, "{name}");
        }
    }
}
