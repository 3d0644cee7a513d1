//! Loading the model: each file the classifier reads, as the manifest (built into the
//! worker) lists it, from the model store when it holds a good copy, else downloaded with
//! progress; each checked against the manifest's sha256 once, as it arrives, before it is
//! used or kept; then the classifier (and the f32 weights the GPU encoder is built from).

use ttpmap_mapper::model::ModelFile;
use ttpmap_mapper::{Classifier, Manifest, ModelFiles, WeightFormat};
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
    /// Reads, verifies and loads the model: each file the classifier reads is checked
    /// once, as it arrives ([`ModelFiles::add`]), and the classifier is built from the
    /// checked files ([`Classifier::from_files`]).
    pub async fn load_model(&self) -> Result<Classifier, ModelError> {
        let manifest = Manifest::from_json(MANIFEST_JSON).map_err(|e| ModelError::Manifest { detail: e.to_string() })?;
        let mut needed = Vec::new();
        for name in [Manifest::WEIGHTS, Manifest::TOKENIZER] {
            let file = manifest.files.iter().find(|f| f.name == name);
            needed.push(file.cloned().ok_or_else(|| ModelError::MissingFile { name: name.into() })?);
        }
        let store = ModelStore::open(&self.scope).await;
        let total: u64 = needed.iter().map(|f| f.bytes).sum();
        let mut files = ModelFiles::new(manifest);
        let mut loaded = 0u64;
        for file in &needed {
            loaded += self.model_file(&mut files, file, store.as_ref(), loaded, total).await?;
        }
        self.post_model(ModelEvent::Verifying);
        yield_now(&self.scope).await;
        if let Some(store) = &store {
            let keep: Vec<String> = needed.iter().map(cache_key).collect();
            store.evict_others(&keep).await;
        }
        let search = self.scope.location().search();
        let format = query_param(&search, "weights")
            .and_then(|w| w.parse().ok())
            .unwrap_or(DEFAULT_WEIGHTS);
        let model = Classifier::from_files(&files, format).map_err(|e| ModelError::Load { detail: e.to_string() })?;
        drop(files);
        // Shared with the classifier (candle tensors are reference-counted); the GPU
        // encoder is built from them.
        self.gpu.set_weights(model.tensors);
        Ok(model.classifier)
    }

    /// One model file, checked and added to `files`: from the store if it holds a good
    /// copy, else downloaded (and kept in the store once it checks). Says its bytes.
    async fn model_file(
        &self,
        files: &mut ModelFiles<'static>,
        file: &ModelFile,
        store: Option<&ModelStore>,
        before: u64,
        total: u64,
    ) -> Result<u64, ModelError> {
        let key = cache_key(file);
        if let Some(store) = store {
            if let Some(bytes) = store.get(&key).await {
                let n = bytes.len() as u64;
                if files.add(&file.name, bytes).is_ok() {
                    self.post_model(ModelEvent::Progress {
                        loaded: before + n,
                        total,
                        source: ModelSource::Cache,
                    });
                    return Ok(n);
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
        let n = bytes.len() as u64;
        self.post_model(ModelEvent::Progress {
            loaded: before + n,
            total,
            source: ModelSource::Network,
        });
        files
            .add(&file.name, bytes)
            .map_err(|e| ModelError::Corrupted { detail: e.to_string() })?;
        if let (Some(store), Some(bytes)) = (store, files.get(&file.name)) {
            store.put(&key, bytes).await;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::{Manifest, MANIFEST_JSON};

    #[test]
    fn the_built_in_manifest_names_the_model_files_with_their_sha256() {
        let manifest = Manifest::from_json(MANIFEST_JSON).unwrap();
        for name in [Manifest::WEIGHTS, Manifest::TOKENIZER] {
            let file = manifest.files.iter().find(|f| f.name == name).unwrap();
            assert_eq!(file.sha256.len(), 64, "{name}");
            assert!(file.bytes > 0, "{name}");
        }
    }
}
