//! The messages between the page and the inference worker, sent as JSON strings.
//!
//! The worker owns the model (candle and the tokenizer never load on the page's thread).
//! The page asks it to load the model and to map texts; the worker answers with progress,
//! partial [`ReportMapping`]s as chunks of sentences finish, and a final one. Every
//! mapping message carries the job id it belongs to, so the page ignores the answers of a
//! job it has cancelled or replaced.

use serde::{Deserialize, Serialize};
use ttpmap_mapper::ReportMapping;

use crate::backend::{BackendChoice, BackendStatus};
pub use crate::shard::Shard;

/// Identifies one mapping request; the page increments it for every Map press.
pub type JobId = u64;

/// From the page to the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ToWorker {
    /// Load the model (download or cache, verify) unless it is loaded already.
    LoadModel,
    /// Map `text` (the sentences of `shard`, by default all); loads the model first when
    /// needed. Replaces any running job.
    Map {
        job: JobId,
        text: String,
        #[serde(default)]
        shard: Shard,
    },
    /// Map onto `target` from the next job on (`None`: Enterprise, the classifier).
    SetMatrix {
        #[serde(default)]
        target: Option<SimilarityTarget>,
    },
    /// Encode the prototype texts of `shard` of `texts` (a contiguous part,
    /// [`crate::matrices::shard_range`]) for a user's bundle; loads the model first when
    /// needed. Shares the job numbering with `Map`, and replaces any running job.
    Encode {
        job: JobId,
        texts: Vec<String>,
        #[serde(default)]
        shard: Shard,
    },
    /// Stop `job` after the chunk of sentences (or texts) it is working on.
    Cancel { job: JobId },
    /// Run the model on the GPU (WebGPU) or the CPU; applies from the next job on.
    /// `lose_gpu_after` (tests only) destroys the GPU device after that many batches.
    SetBackend {
        choice: BackendChoice,
        #[serde(default)]
        lose_gpu_after: Option<usize>,
    },
}

/// A matrix mapped by similarity: its compact JSON and its technique vectors' JSON (the
/// page has checked that they belong together and to the shipped model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarityTarget {
    pub matrix: String,
    pub vectors: String,
}

/// Where a model file's bytes come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelSource {
    /// Downloaded from the site.
    Network,
    /// Read from this browser's cache (no network).
    Cache,
}

/// From the worker to the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum FromWorker {
    /// The worker started and listens.
    Started,
    /// Model bytes read so far, of `total` (all files together).
    ModelProgress {
        loaded: u64,
        total: u64,
        source: ModelSource,
    },
    /// The model files are in and verified; the weights are being prepared.
    ModelVerifying,
    /// The model is ready. `threshold` is its calibrated default (0..1).
    ModelReady {
        threshold: f32,
        labels: usize,
        attack_version: String,
        load_ms: f64,
    },
    /// The model could not be loaded; the page offers a retry.
    ModelFailed { message: String },
    /// Sentences scored so far for `job` (by this worker), of the report's `total`.
    MapProgress {
        job: JobId,
        done: usize,
        total: usize,
    },
    /// The mapping so far (streamed while a job runs, at most every few hundred ms).
    Partial { job: JobId, mapping: ReportMapping },
    /// The job finished; `mapping` is final. `ms` is the time spent mapping (model load excluded).
    Done {
        job: JobId,
        mapping: ReportMapping,
        ms: f64,
    },
    /// Prototype texts encoded so far for encoding `job` (by this worker), of `total`.
    EncodeProgress {
        job: JobId,
        done: usize,
        total: usize,
    },
    /// Encoding `job` finished: `rows` is base64 of this worker's rows in the vectors
    /// file's byte form (`ttpmap_mapper::similarity::rows_to_bytes`), `dim` values each.
    Encoded { job: JobId, dim: usize, rows: String },
    /// The job stopped on request.
    Cancelled { job: JobId },
    /// The job failed.
    Failed { job: JobId, message: String },
    /// What the model runs on now (sent when the model is ready, when the choice changes,
    /// and when the GPU fails and the CPU takes over).
    Backend { status: BackendStatus },
}

/// The value of `name` in a URL query string (`?a=1&b=2`).
pub fn query_param<'a>(search: &'a str, name: &str) -> Option<&'a str> {
    search
        .trim_start_matches('?')
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

impl ToWorker {
    /// The same job for one worker of a pool: a Map or Encode with `shard`; other
    /// messages are unchanged.
    pub fn with_shard(&self, shard: Shard) -> ToWorker {
        let mut msg = self.clone();
        if let ToWorker::Map { shard: s, .. } | ToWorker::Encode { shard: s, .. } = &mut msg {
            *s = shard;
        }
        msg
    }

    pub fn to_json(&self) -> String {
        // Plain strings and numbers: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(s: &str) -> Result<Self, String> {
        serde_json::from_str(s).map_err(|e| format!("bad message to the worker: {e}"))
    }
}

impl FromWorker {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(s: &str) -> Result<Self, String> {
        serde_json::from_str(s).map_err(|e| format!("bad message from the worker: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_shard_sets_the_shard_of_jobs_only() {
        let shard = Shard { index: 1, count: 3 };
        let map = ToWorker::Map { job: 4, text: "x".into(), shard: Shard::default() };
        assert_eq!(map.with_shard(shard).to_json(), ToWorker::Map { job: 4, text: "x".into(), shard }.to_json());
        let encode = ToWorker::Encode { job: 5, texts: vec!["y".into()], shard: Shard::default() };
        assert_eq!(encode.with_shard(shard).to_json(), ToWorker::Encode { job: 5, texts: vec!["y".into()], shard }.to_json());
        let cancel = ToWorker::Cancel { job: 4 };
        assert_eq!(cancel.with_shard(shard).to_json(), cancel.to_json());
    }

    #[test]
    fn messages_round_trip_as_tagged_json() {
        let m = ToWorker::Map {
            job: 3,
            text: "a <b> \"c\"".into(),
            shard: Shard { index: 1, count: 2 },
        };
        let json = m.to_json();
        assert!(json.contains(r#""type":"map""#), "{json}");
        assert_eq!(ToWorker::from_json(&json).unwrap(), m);
        // A map without a shard is the whole report.
        assert_eq!(
            ToWorker::from_json(r#"{"type":"map","job":1,"text":"x"}"#).unwrap(),
            ToWorker::Map { job: 1, text: "x".into(), shard: Shard::default() }
        );

        let r = FromWorker::Done {
            job: 3,
            mapping: ReportMapping {
                threshold: 0.5,
                aggregation: Default::default(),
                sentences: 1,
                techniques: vec![],
            },
            ms: 1.5,
        };
        assert_eq!(FromWorker::from_json(&r.to_json()).unwrap(), r);
    }

    #[test]
    fn query_params_are_read_by_name() {
        assert_eq!(query_param("?weights=q8&workers=2", "weights"), Some("q8"));
        assert_eq!(query_param("?weights=q8&workers=2", "workers"), Some("2"));
        assert_eq!(query_param("?xweights=q8", "weights"), None);
        assert_eq!(query_param("", "weights"), None);
    }

    #[test]
    fn unknown_messages_are_errors_not_panics() {
        assert!(ToWorker::from_json(r#"{"type":"launch"}"#).is_err());
        assert!(FromWorker::from_json("not json").is_err());
    }
}
