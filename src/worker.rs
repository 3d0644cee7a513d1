//! The inference Web Worker (the `worker` binary): owns the model, maps texts in chunks of
//! sentences, and streams progress and partial mappings to the page.
//!
//! Why a worker: candle and the tokenizer stay out of the page's bundle, and a report that
//! takes minutes to map never blocks the page. Why chunks: the worker is single-threaded,
//! so a Cancel message is only read between chunks; each chunk is sized to take about
//! [`chunk::TARGET_MS`] and the loop yields to the event loop (a `setTimeout(0)` task)
//! after each, so cancelling answers within a fraction of a second without restarting
//! the worker and reloading the model.
//!
//! The model files come from the browser's Cache API (or, where a plain-HTTP host has
//! none, IndexedDB: [`ModelStore`]) when present and verified there; otherwise they are
//! downloaded (with progress), verified against the sha256 in the manifest (built into
//! the worker), and only then kept. A kept file that fails verification is evicted and
//! downloaded again. Requests go only to the site's own files, by relative URL; with the
//! model kept there are none.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::{Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{Cache, DedicatedWorkerGlobalScope, MessageEvent, Response};

use ttpmap_attack::Matrix;
use ttpmap_mapper::model::{read_gguf_f32, ModelFile};
use ttpmap_mapper::segment;
use ttpmap_mapper::similarity::{
    encode_texts, rows_to_bytes, to_base64, SimilarityConfig, SimilarityMapper, TechniqueVectors,
};
use ttpmap_mapper::{
    AggregateConfig, BatchConfig, Classifier, Manifest, MappingBuilder, WeightFormat,
};

use crate::backend::WorkerGpu;
use crate::matrices::shard_range;
use crate::protocol::{query_param, FromWorker, JobId, ModelSource, SimilarityTarget, ToWorker};
use crate::shard::{deal, Shard};

/// The model's folder, relative to the worker script (which sits next to index.html).
const MODEL_DIR: &str = "model/";
/// The manifest of the model in public/model, built into the worker: it names the files
/// and their sha256, so a visit with the model in the cache makes no request at all, and
/// a new model (a new manifest) comes with a new build of the site.
const MANIFEST_JSON: &str = include_str!("../public/model/manifest.json");
/// The Cache API cache that keeps the model files (the service worker, public/sw.js,
/// leaves model/ to it and never deletes it).
const CACHE_NAME: &str = "ttpmap-model";
/// Least time between two partial mappings sent to the page.
const PARTIAL_EVERY_MS: f64 = 400.0;
/// Least time between two download progress messages.
const PROGRESS_EVERY_MS: f64 = 100.0;
/// Sentences tokenized (to deal a shared report) between two looks at the message queue.
const TOKENIZE_SLICE: usize = 1024;

/// How the encoder's dense layers hold their weights unless the worker's URL says
/// otherwise (`worker-boot.js?weights=f32`, passed on from the page's `?weights=`).
/// i16: our integer kernel (`ttpmap_mapper::int8`, `i32x4.dot_i16x8_s`) mapped the
/// 5,000-word report about 1.4-1.5 times as fast as candle's f32 gemm (simd128), which
/// beat candle's Q8_0 quantized matmul, with the same validation evaluation as f32
/// (docs/benchmarks.md).
pub const DEFAULT_WEIGHTS: WeightFormat = WeightFormat::I16;

/// How many sentences to score between two looks at the message queue.
///
/// Small chunks are also the fastest: in the browser, scoring a few sentences at a time
/// (little padding) beat larger length-sorted batches. On the 5,000-word fixture, chunks
/// of about 150 ms mapped in 17 s and chunks of 1.2 s in 25.7 s (tests/e2e/bench.mjs,
/// one run each, back to back on the 2-core development machine).
pub mod chunk {
    /// Aimed-for time per chunk: how long a Cancel may wait.
    pub const TARGET_MS: f64 = 150.0;
    pub const MIN: usize = 1;
    pub const MAX: usize = 64;
    /// The first chunk, before any timing is known.
    pub const FIRST: usize = 8;

    /// The next chunk size after `done` sentences took `ms`: scaled towards
    /// [`TARGET_MS`], at most doubling per step so one fast chunk of short sentences does
    /// not make the next one huge.
    pub fn next(current: usize, done: usize, ms: f64) -> usize {
        if done == 0 || !ms.is_finite() || ms <= 0.0 {
            return (current * 2).clamp(MIN, MAX);
        }
        let per_sentence = ms / done as f64;
        let ideal = (TARGET_MS / per_sentence).floor() as usize;
        ideal.min(current * 2).clamp(MIN, MAX)
    }
}

/// Prototype texts encoded between two looks at the message queue.
const ENCODE_CHUNK: usize = 16;

/// A job waiting for the model or for the running job to stop.
enum Job {
    Map { job: JobId, text: String, shard: Shard },
    Encode { job: JobId, texts: Vec<String>, shard: Shard },
}

impl Job {
    fn id(&self) -> JobId {
        match self {
            Job::Map { job, .. } | Job::Encode { job, .. } => *job,
        }
    }
}

/// A matrix mapped by similarity, ready to use.
struct Similarity {
    matrix: Matrix,
    vectors: TechniqueVectors,
    config: SimilarityConfig,
}

impl Similarity {
    fn parse(target: &SimilarityTarget) -> Result<Similarity, String> {
        let matrix = Matrix::from_compact_json(&target.matrix).map_err(|e| format!("The matrix is not valid: {e}"))?;
        let vectors = TechniqueVectors::from_json(&target.vectors).map_err(|e| e.to_string())?;
        let config = SimilarityConfig::for_vectors(&vectors);
        Ok(Similarity { matrix, vectors, config })
    }
}

enum ModelSlot {
    Absent,
    Loading,
    Ready(Rc<Classifier>),
}

struct Engine {
    scope: DedicatedWorkerGlobalScope,
    model: RefCell<ModelSlot>,
    /// The job the page wants answered; `None` after a cancel.
    current: Cell<Option<JobId>>,
    /// The next job to run, once the model is ready and the running job has stopped.
    pending: RefCell<Option<Job>>,
    /// The matrix mapped by similarity (`Ok(None)`: Enterprise, the classifier), or why
    /// the one the page chose cannot be used.
    similarity: RefCell<Result<Option<Rc<Similarity>>, String>>,
    /// Whether the job loop is running.
    running: Cell<bool>,
    /// The GPU encoder, when WebGPU is chosen and granted (see `crate::backend`).
    gpu: WorkerGpu,
}

/// Starts the worker: listens for [`ToWorker`] messages. Called by the `worker` binary.
pub fn start() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let engine = Rc::new(Engine {
        scope: scope.clone(),
        model: RefCell::new(ModelSlot::Absent),
        current: Cell::new(None),
        pending: RefCell::new(None),
        similarity: RefCell::new(Ok(None)),
        running: Cell::new(false),
        gpu: WorkerGpu::default(),
    });
    let handler = {
        let engine = engine.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let Some(json) = ev.data().as_string() else {
                return;
            };
            match ToWorker::from_json(&json) {
                Ok(msg) => engine.clone().receive(msg),
                Err(e) => web_sys::console::error_1(&e.into()),
            }
        })
    };
    scope.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    handler.forget();
    engine.post(&FromWorker::Started);
}

impl Engine {
    fn post(&self, msg: &FromWorker) {
        if let Err(e) = self.scope.post_message(&JsValue::from_str(&msg.to_json())) {
            web_sys::console::error_2(&"ttpmap worker: could not post a message".into(), &e);
        }
    }

    fn now(&self) -> f64 {
        self.scope
            .performance()
            .map_or_else(js_sys::Date::now, |p| p.now())
    }

    fn receive(self: Rc<Self>, msg: ToWorker) {
        match msg {
            ToWorker::LoadModel => self.ensure_model(),
            ToWorker::SetBackend {
                choice,
                lose_gpu_after,
            } => {
                self.gpu.set_choice(choice, lose_gpu_after);
                // Before the model is loaded, the choice applies when it is.
                if let Some(classifier) = self.classifier() {
                    let engine = self.clone();
                    spawn_local(async move {
                        if let Some(status) = engine.gpu.apply(&classifier.manifest.encoder).await {
                            engine.post(&FromWorker::Backend { status });
                        }
                    });
                }
            }
            ToWorker::Map { job, text, shard } => {
                self.current.set(Some(job));
                *self.pending.borrow_mut() = Some(Job::Map { job, text, shard });
                self.ensure_model();
                self.drive();
            }
            ToWorker::Encode { job, texts, shard } => {
                self.current.set(Some(job));
                *self.pending.borrow_mut() = Some(Job::Encode { job, texts, shard });
                self.ensure_model();
                self.drive();
            }
            ToWorker::SetMatrix { target } => {
                let parsed = match target {
                    None => Ok(None),
                    Some(t) => Similarity::parse(&t).map(|s| Some(Rc::new(s))),
                };
                if let Err(e) = &parsed {
                    web_sys::console::error_1(&format!("ttpmap worker: {e}").into());
                }
                *self.similarity.borrow_mut() = parsed;
            }
            ToWorker::Cancel { job } => {
                if self.current.get() == Some(job) {
                    self.current.set(None);
                }
                // A job still waiting for the model is answered at once.
                let waiting = self
                    .pending
                    .borrow()
                    .as_ref()
                    .is_some_and(|j| j.id() == job);
                if waiting {
                    self.pending.borrow_mut().take();
                    self.post(&FromWorker::Cancelled { job });
                }
            }
        }
    }

    fn classifier(&self) -> Option<Rc<Classifier>> {
        match &*self.model.borrow() {
            ModelSlot::Ready(c) => Some(c.clone()),
            _ => None,
        }
    }

    /// Starts loading the model unless it is loaded or loading.
    fn ensure_model(self: &Rc<Self>) {
        if !matches!(*self.model.borrow(), ModelSlot::Absent) {
            return;
        }
        *self.model.borrow_mut() = ModelSlot::Loading;
        let engine = self.clone();
        spawn_local(async move {
            let started = engine.now();
            match engine.load_model().await {
                Ok(classifier) => {
                    // The GPU first (when chosen), so that the first job runs on it.
                    if let Some(status) = engine.gpu.apply(&classifier.manifest.encoder).await {
                        engine.post(&FromWorker::Backend { status });
                    }
                    let m = &classifier.manifest;
                    engine.post(&FromWorker::ModelReady {
                        threshold: m.threshold,
                        labels: m.labels.len(),
                        attack_version: m.attack_version.clone(),
                        load_ms: engine.now() - started,
                    });
                    *engine.model.borrow_mut() = ModelSlot::Ready(Rc::new(classifier));
                    engine.drive();
                }
                Err(message) => {
                    *engine.model.borrow_mut() = ModelSlot::Absent;
                    engine.pending.borrow_mut().take();
                    engine.post(&FromWorker::ModelFailed { message });
                }
            }
        });
    }

    /// Runs pending jobs one after another, once the model is ready.
    fn drive(self: &Rc<Self>) {
        if self.running.get() || self.classifier().is_none() {
            return;
        }
        self.running.set(true);
        let engine = self.clone();
        spawn_local(async move {
            loop {
                let Some(classifier) = engine.classifier() else {
                    break;
                };
                let Some(next) = engine.pending.borrow_mut().take() else {
                    break;
                };
                match next {
                    Job::Map { job, text, shard } => engine.run(&classifier, job, &text, shard).await,
                    Job::Encode { job, texts, shard } => engine.encode(&classifier, job, &texts, shard).await,
                }
            }
            engine.running.set(false);
        });
    }

    /// Lets queued messages (a Cancel, a new Map) in; says whether `job` is still wanted,
    /// answering `Cancelled` when it was cancelled rather than replaced.
    async fn still_wanted(&self, job: JobId) -> bool {
        yield_now(&self.scope).await;
        if self.current.get() == Some(job) {
            return true;
        }
        if self.pending.borrow().is_none() {
            self.post(&FromWorker::Cancelled { job });
        }
        false
    }

    /// The sentences of `shard`, in text order: all of them for a whole report; else the
    /// deal by token count that every worker sharing the report computes alike.
    async fn my_sentences(
        &self,
        classifier: &Classifier,
        job: JobId,
        text: &str,
        sentences: &[segment::Sentence],
        shard: Shard,
    ) -> Result<Option<Vec<usize>>, String> {
        if shard.is_whole() {
            return Ok(Some((0..sentences.len()).collect()));
        }
        let mut tokens = vec![0usize; sentences.len()];
        for from in (0..sentences.len()).step_by(TOKENIZE_SLICE) {
            if !self.still_wanted(job).await {
                return Ok(None);
            }
            let to = (from + TOKENIZE_SLICE).min(sentences.len());
            let texts: Vec<&str> = sentences[from..to].iter().map(|s| s.text(text)).collect();
            let windows = classifier
                .windows(&texts)
                .map_err(|e| format!("The model failed on this text: {e}"))?;
            for w in windows {
                tokens[from + w.sentence] += w.ids.len();
            }
        }
        let owner = deal(&tokens, shard.count);
        Ok(Some(
            (0..sentences.len())
                .filter(|&s| owner[s] == shard.index)
                .collect(),
        ))
    }

    /// Maps the sentences of `shard` of `text` for `job`, chunk by chunk, until done,
    /// cancelled or replaced. Progress counts this worker's sentences of the report's total.
    async fn run(&self, classifier: &Classifier, job: JobId, text: &str, shard: Shard) {
        let started = self.now();
        let sentences = segment::sentences(text);
        let total = sentences.len();
        let similarity = match &*self.similarity.borrow() {
            Ok(s) => s.clone(),
            Err(message) => {
                self.post(&FromWorker::Failed { job, message: message.clone() });
                return;
            }
        };
        // Similarity runs on the CPU encoder (its pooled vectors); the classifier may use the GPU.
        let mapper = similarity
            .as_ref()
            .map(|s| SimilarityMapper::new(classifier, &s.vectors, &s.matrix, s.config));
        let (mut builder, threshold) = match &mapper {
            Some(m) => (
                MappingBuilder::new(m.labels(), AggregateConfig::default()),
                m.config().threshold,
            ),
            None => (
                classifier.mapping_builder(AggregateConfig::default()),
                classifier.manifest.threshold,
            ),
        };
        // The GPU while it works; on a GPU error the CPU scores that chunk again and the rest.
        let gpu = self.gpu.encoder();
        let mut scorer = ttpmap_gpu::Scorer::new(classifier, gpu.as_deref());
        let mut fell_back = false;
        self.post(&FromWorker::MapProgress {
            job,
            done: 0,
            total,
        });
        let mut mine = match self
            .my_sentences(classifier, job, text, &sentences, shard)
            .await
        {
            Ok(Some(mine)) => mine,
            Ok(None) => return,
            Err(message) => {
                self.post(&FromWorker::Failed { job, message });
                return;
            }
        };
        // Shortest first: a chunk (a few sentences, ~150 ms) is one or two encoder batches,
        // padded to its longest sentence, so chunks of sentences in text order padded the
        // fixture report to about twice its real tokens. The mapping does not depend on the
        // order (evidence is ordered by score, then offset).
        mine.sort_by_key(|&s| sentences[s].end - sentences[s].start);
        let mut last_partial = started;
        let mut size = chunk::FIRST;
        let mut at = 0;
        while at < mine.len() {
            if !self.still_wanted(job).await {
                return;
            }
            let end = (at + size).min(mine.len());
            let texts: Vec<&str> = mine[at..end]
                .iter()
                .map(|&s| sentences[s].text(text))
                .collect();
            let t0 = self.now();
            let scored = match &mapper {
                Some(m) => m.sentence_scores(&texts, BatchConfig::default()).map_err(|e| e.to_string()),
                None => scorer.sentence_probs(&texts, BatchConfig::default()).await.map_err(|e| e.to_string()),
            };
            let probs = match scored {
                Ok(p) => p,
                Err(e) => {
                    self.post(&FromWorker::Failed {
                        job,
                        message: format!("The model failed on this text: {e}"),
                    });
                    return;
                }
            };
            for (&s, p) in mine[at..end].iter().zip(&probs) {
                builder.add(sentences[s].start, sentences[s].end, p);
            }
            if let (false, Some(f)) = (fell_back, scorer.fallback()) {
                fell_back = true;
                web_sys::console::warn_1(&format!("ttpmap: GPU failed, continuing on the CPU: {}", f.error).into());
                let status = self.gpu.fell_back(f);
                self.post(&FromWorker::Backend { status });
            }
            size = chunk::next(size, end - at, self.now() - t0);
            at = end;
            self.post(&FromWorker::MapProgress {
                job,
                done: at,
                total,
            });
            if at < mine.len() && self.now() - last_partial >= PARTIAL_EVERY_MS {
                last_partial = self.now();
                self.post(&FromWorker::Partial {
                    job,
                    mapping: builder.snapshot(threshold),
                });
            }
        }
        self.post(&FromWorker::Done {
            job,
            mapping: builder.snapshot(threshold),
            ms: self.now() - started,
        });
    }

    /// Encodes this worker's part ([`shard_range`]) of a bundle's prototype texts for
    /// `job`, a chunk at a time (a Cancel is read between chunks), and posts the rows.
    async fn encode(&self, classifier: &Classifier, job: JobId, texts: &[String], shard: Shard) {
        let mine = &texts[shard_range(texts.len(), shard)];
        let total = mine.len();
        self.post(&FromWorker::EncodeProgress { job, done: 0, total });
        // Encoded shortest first (a chunk is padded to its longest text), rows kept in
        // the texts' order.
        let mut order: Vec<usize> = (0..total).collect();
        order.sort_by_key(|&i| mine[i].len());
        let mut rows: Vec<Vec<u8>> = vec![Vec::new(); total];
        let mut dim = 0;
        for (i, chunk) in order.chunks(ENCODE_CHUNK).enumerate() {
            if !self.still_wanted(job).await {
                return;
            }
            let texts: Vec<&str> = chunk.iter().map(|&t| mine[t].as_str()).collect();
            match encode_texts(classifier, &texts, BatchConfig::default(), &mut |_, _| {}) {
                Ok(vectors) => {
                    dim = vectors.first().map_or(dim, Vec::len);
                    for (&t, v) in chunk.iter().zip(&vectors) {
                        rows[t] = rows_to_bytes(v, dim);
                    }
                }
                Err(e) => {
                    self.post(&FromWorker::Failed { job, message: format!("The model failed on the bundle's texts: {e}") });
                    return;
                }
            }
            let done = (i * ENCODE_CHUNK + chunk.len()).min(total);
            self.post(&FromWorker::EncodeProgress { job, done, total });
        }
        self.post(&FromWorker::Encoded { job, dim, rows: to_base64(&rows.concat()) });
    }

    /// Reads, verifies and loads the model.
    async fn load_model(&self) -> Result<Classifier, String> {
        let manifest = Manifest::from_json(MANIFEST_JSON)
            .map_err(|e| format!("The model's manifest is not valid: {e}"))?;
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
        let (Some(gguf), Some(tokenizer)) = (gguf, tokenizer) else {
            return Err("The model's manifest lists no model.gguf or tokenizer.json.".into());
        };
        self.post(&FromWorker::ModelVerifying);
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
        let tensors = read_gguf_f32(&gguf, &candle_core::Device::Cpu)
            .map_err(|e| format!("The model could not be loaded: {e}"))?;
        let classifier = match format {
            WeightFormat::F32 => Classifier::from_tensors(manifest, &tensors, &tokenizer),
            WeightFormat::Q8 => Classifier::from_verified(manifest, &gguf, &tokenizer, format),
            WeightFormat::I16 => Classifier::from_tensors_as(manifest, &tensors, &tokenizer, format),
        }
        .map_err(|e| format!("The model could not be loaded: {e}"))?;
        drop(gguf);
        // Shared with the classifier (candle tensors are reference-counted); the GPU
        // encoder is built from them.
        self.gpu.set_weights(tensors);
        Ok(classifier)
    }

    /// One model file, verified: from the cache if it holds a good copy, else downloaded.
    async fn model_file(
        &self,
        manifest: &Manifest,
        file: &ModelFile,
        store: Option<&ModelStore>,
        before: u64,
        total: u64,
    ) -> Result<Vec<u8>, String> {
        let key = cache_key(file);
        if let Some(store) = store {
            if let Some(bytes) = store.get(&key).await {
                if manifest.verify(&file.name, &bytes).is_ok() {
                    self.post(&FromWorker::ModelProgress {
                        loaded: before + bytes.len() as u64,
                        total,
                        source: ModelSource::Cache,
                    });
                    return Ok(bytes);
                }
                web_sys::console::warn_1(
                    &format!(
                        "ttpmap: the cached {} is corrupted; downloading it again",
                        file.name
                    )
                    .into(),
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
                self.post(&FromWorker::ModelProgress {
                    loaded: before + n,
                    total,
                    source: ModelSource::Network,
                });
            }
        })
        .await
        .map_err(|e| {
            format!("Could not download the model ({e}). Check the connection and retry.")
        })?;
        self.post(&FromWorker::ModelProgress {
            loaded: before + bytes.len() as u64,
            total,
            source: ModelSource::Network,
        });
        if let Err(e) = manifest.verify(&file.name, &bytes) {
            return Err(format!(
                "The downloaded model is corrupted and was not used: {e}. Retry to download it again."
            ));
        }
        if let Some(store) = store {
            store.put(&key, &bytes).await;
        }
        Ok(bytes)
    }
}

/// The cache key of a model file: its name and sha256, so a new model never meets an old file.
fn cache_key(file: &ModelFile) -> String {
    format!("{MODEL_DIR}{}?sha256={}", file.name, file.sha256)
}

/// Resolves after the tasks queued before it, so the page's messages (a Cancel) are
/// handled first. A MessageChannel message rather than `setTimeout(0)`, which browsers
/// clamp to 4 ms when nested (hundreds of chunks per report).
async fn yield_now(scope: &DedicatedWorkerGlobalScope) {
    let promise = Promise::new(&mut |resolve, _| match web_sys::MessageChannel::new() {
        Ok(channel) => {
            channel.port1().set_onmessage(Some(&resolve));
            let _ = channel.port2().post_message(&JsValue::NULL);
        }
        Err(_) => {
            let _ = scope.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
        }
    });
    let _ = JsFuture::from(promise).await;
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
async fn fetch_bytes(
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
enum ModelStore {
    Cache(Cache),
    /// worker-boot.js's `{ get, put, delete, keys }`, each returning a promise.
    Idb(JsValue),
}

impl ModelStore {
    /// The store, or `None` where the browser keeps nothing (no Cache API and no
    /// IndexedDB, or both refused): the model is then downloaded on every visit.
    async fn open(scope: &DedicatedWorkerGlobalScope) -> Option<ModelStore> {
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

    async fn get(&self, key: &str) -> Option<Vec<u8>> {
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

    async fn put(&self, key: &str, bytes: &[u8]) {
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

    async fn delete(&self, key: &str) {
        let _ = match self {
            ModelStore::Cache(cache) => JsFuture::from(cache.delete_with_str(key)).await,
            ModelStore::Idb(idb) => Self::idb_call(idb, "delete", &[key.into()]).await,
        };
    }

    /// Deletes kept entries other than `keep` (files of an older model).
    async fn evict_others(&self, keep: &[String]) {
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

#[cfg(test)]
mod tests {
    use super::{chunk, Manifest, MANIFEST_JSON};

    #[test]
    fn the_built_in_manifest_names_the_model_files_with_their_sha256() {
        let manifest = Manifest::from_json(MANIFEST_JSON).unwrap();
        for name in ["model.gguf", "tokenizer.json"] {
            let file = manifest.files.iter().find(|f| f.name == name).unwrap();
            assert_eq!(file.sha256.len(), 64, "{name}");
            assert!(file.bytes > 0, "{name}");
        }
    }

    #[test]
    fn chunks_aim_at_the_target_time() {
        // 50 ms per sentence: 3 sentences fill 150 ms.
        assert_eq!(chunk::next(8, 8, 400.0), 3);
    }

    #[test]
    fn chunks_grow_at_most_twofold_and_stay_in_bounds() {
        assert_eq!(chunk::next(8, 8, 8.0), 16);
        assert_eq!(chunk::next(64, 64, 1.0), chunk::MAX);
        assert_eq!(chunk::next(8, 8, 100_000.0), chunk::MIN);
        assert_eq!(chunk::next(8, 0, 0.0), 16);
        assert_eq!(chunk::next(8, 8, f64::NAN), 16);
    }
}
