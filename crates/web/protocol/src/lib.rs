//! The messages between the page (`ttpmap-web-page`) and the inference worker
//! (`ttpmap-web-worker`): the one crate both sides depend on.
//!
//! The worker owns the model (candle and the tokenizer never load on the page's thread).
//! The page asks it to load the model and to run jobs ([`Task`]: map a text, encode a
//! bundle's prototype texts); the worker answers with model events ([`ModelEvent`]) and
//! job events ([`JobEvent`]): progress, partial [`ReportMapping`]s as chunks of sentences
//! finish, and the end. Every job event carries the [`JobId`] it belongs to, so the page
//! ignores the answers of a job it has cancelled or replaced. Failures cross as data
//! ([`ModelError`], [`JobError`], [`CpuReason`]) and the page words them. Messages cross as
//! JSON text with their bytes beside it, not inside it ([`wire`]).

pub mod backend;
pub mod error;
pub mod job;
pub mod shard;
pub mod wire;

use serde::{Deserialize, Serialize};
use ttpmap_attack::Matrix;
use ttpmap_mapper::ReportMapping;

pub use backend::{BackendChoice, BackendKind, BackendStatus, CpuReason};
pub use error::{JobError, ModelError};
pub use job::JobId;
pub use shard::{deal, shard_range, Shard};
pub use wire::Wire;

/// From the page to the worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ToWorker {
    /// Load the model (download or cache, verify) unless it is loaded already.
    LoadModel,
    /// Run `task` on `shard` of its input (by default all); loads the model first when
    /// needed. Replaces any running job.
    Run {
        job: JobId,
        #[serde(default)]
        shard: Shard,
        task: Task,
    },
    /// Map onto `target` from the next job on (`None`: Enterprise, the classifier).
    SetMatrix {
        #[serde(default)]
        target: Option<SimilarityTarget>,
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

/// What a job does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Task {
    /// Map `text`: the sentences of the job's shard ([`deal`]).
    Map { text: String },
    /// Encode the prototype texts of a user's bundle: the job's shard of them
    /// ([`shard_range`]).
    Encode { texts: Vec<String> },
}

/// A matrix mapped by similarity: the matrix and its technique vectors (the page has
/// checked that they belong together and to the shipped model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimilarityTarget {
    pub matrix: Matrix,
    /// The vectors file (`ttpmap-vectors/1` JSON, as `TechniqueVectors::to_json` writes
    /// it): bytes beside the message, not a string inside it.
    #[serde(skip)]
    pub vectors: Vec<u8>,
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
    /// Loading the model.
    Model { event: ModelEvent },
    /// About `job`.
    Job { job: JobId, event: JobEvent },
    /// What the model runs on now (sent when the model is ready, when the choice changes,
    /// and when the GPU fails and the CPU takes over).
    Backend { status: BackendStatus },
}

/// Loading the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ModelEvent {
    /// Model bytes read so far, of `total` (all files together).
    Progress {
        loaded: u64,
        total: u64,
        source: ModelSource,
    },
    /// The model files are in and verified; the weights are being prepared.
    Verifying,
    /// The model is ready. `threshold` is its calibrated default (0..1).
    Ready {
        threshold: f32,
        labels: usize,
        attack_version: String,
        load_ms: f64,
    },
    /// The model could not be loaded; the page offers a retry.
    Failed { error: ModelError },
}

/// What happened to a job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum JobEvent {
    /// Sentences scored so far (by this worker), of the report's `total`.
    MapProgress { done: usize, total: usize },
    /// The mapping so far (streamed while a job runs, at most every few hundred ms).
    Partial { mapping: ReportMapping },
    /// The mapping finished; `mapping` is final. `ms` is the time spent mapping (model load excluded).
    Done { mapping: ReportMapping, ms: f64 },
    /// Prototype texts encoded so far (by this worker), of `total`.
    EncodeProgress { done: usize, total: usize },
    /// The encoding finished: `rows` are this worker's rows in the vectors file's byte form
    /// (`ttpmap_mapper::similarity::rows_to_bytes`), `dim` values each; bytes beside the
    /// message, not inside it.
    Encoded {
        dim: usize,
        #[serde(skip)]
        rows: Vec<u8>,
    },
    /// The job stopped on request.
    Cancelled,
    /// The job failed.
    Failed { error: JobError },
}

/// The value of `name` in a URL query string (`?a=1&b=2`): the page's `?workers=` and
/// `?weights=`, and the worker's `?weights=` that the page passes on.
pub fn query_param<'a>(search: &'a str, name: &str) -> Option<&'a str> {
    search
        .trim_start_matches('?')
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

impl ToWorker {
    /// The same job for one worker of a pool: a `Run` with `shard`; other messages are
    /// unchanged.
    pub fn with_shard(&self, shard: Shard) -> ToWorker {
        let mut msg = self.clone();
        if let ToWorker::Run { shard: s, .. } = &mut msg {
            *s = shard;
        }
        msg
    }

    /// The job a `Run` or `Cancel` is about.
    pub fn job(&self) -> Option<JobId> {
        match self {
            ToWorker::Run { job, .. } | ToWorker::Cancel { job } => Some(*job),
            _ => None,
        }
    }

    pub fn to_wire(mut self) -> Wire {
        let bytes = match &mut self {
            ToWorker::SetMatrix { target: Some(t) } => Some(std::mem::take(&mut t.vectors)),
            _ => None,
        };
        Wire::new(&self, bytes)
    }

    pub fn from_wire(wire: Wire) -> Result<Self, wire::WireError> {
        let (mut msg, bytes): (ToWorker, _) = wire.open()?;
        if let (ToWorker::SetMatrix { target: Some(t) }, Some(bytes)) = (&mut msg, bytes) {
            t.vectors = bytes;
        }
        Ok(msg)
    }
}

impl FromWorker {
    pub fn to_wire(mut self) -> Wire {
        let bytes = match &mut self {
            FromWorker::Job { event: JobEvent::Encoded { rows, .. }, .. } => Some(std::mem::take(rows)),
            _ => None,
        };
        Wire::new(&self, bytes)
    }

    pub fn from_wire(wire: Wire) -> Result<Self, wire::WireError> {
        let (mut msg, bytes): (FromWorker, _) = wire.open()?;
        if let (FromWorker::Job { event: JobEvent::Encoded { rows, .. }, .. }, Some(bytes)) = (&mut msg, bytes) {
            *rows = bytes;
        }
        Ok(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(n: u64) -> JobId {
        (0..n).fold(JobId::default(), |j, _| j.next())
    }

    #[test]
    fn with_shard_sets_the_shard_of_jobs_only() {
        let shard = Shard { index: 1, count: 3 };
        let run = ToWorker::Run { job: job(4), shard: Shard::default(), task: Task::Map { text: "x".into() } };
        assert_eq!(run.with_shard(shard), ToWorker::Run { job: job(4), shard, task: Task::Map { text: "x".into() } });
        let cancel = ToWorker::Cancel { job: job(4) };
        assert_eq!(cancel.with_shard(shard), cancel);
    }

    #[test]
    fn messages_round_trip_as_tagged_json() {
        let m = ToWorker::Run {
            job: job(3),
            shard: Shard { index: 1, count: 2 },
            task: Task::Map { text: "a <b> \"c\"".into() },
        };
        let wire = m.clone().to_wire();
        assert!(wire.json.contains(r#""type":"run""#), "{}", wire.json);
        assert_eq!(wire.bytes, None);
        assert_eq!(ToWorker::from_wire(wire).unwrap(), m);
        // A job without a shard is the whole input.
        assert_eq!(
            ToWorker::from_wire(Wire::text(r#"{"type":"run","job":1,"task":{"kind":"map","text":"x"}}"#)).unwrap(),
            ToWorker::Run { job: job(1), shard: Shard::default(), task: Task::Map { text: "x".into() } }
        );

        let r = FromWorker::Job {
            job: job(3),
            event: JobEvent::Done {
                mapping: ReportMapping {
                    threshold: 0.5,
                    aggregation: Default::default(),
                    sentences: 1,
                    techniques: vec![],
                },
                ms: 1.5,
            },
        };
        assert_eq!(FromWorker::from_wire(r.clone().to_wire()).unwrap(), r);
    }

    #[test]
    fn bytes_travel_beside_the_json() {
        let rows = vec![0u8, 255, 7, 128];
        let m = FromWorker::Job { job: job(2), event: JobEvent::Encoded { dim: 3, rows: rows.clone() } };
        let wire = m.clone().to_wire();
        assert_eq!(wire.bytes.as_deref(), Some(&rows[..]));
        assert!(!wire.json.contains("rows"), "{}", wire.json);
        assert_eq!(FromWorker::from_wire(wire).unwrap(), m);

        let vectors = br#"{"format":"ttpmap-vectors/1"}"#.to_vec();
        let matrix = Matrix::from_compact_json(
            r#"{"format":"ttpmap-matrix/1","id":"m","name":"M","version":"","domain":"d","tactics":[],"techniques":[],"provenance":null}"#,
        )
        .unwrap();
        let set = ToWorker::SetMatrix { target: Some(SimilarityTarget { matrix, vectors: vectors.clone() }) };
        let wire = set.clone().to_wire();
        assert_eq!(wire.bytes.as_deref(), Some(&vectors[..]));
        assert_eq!(ToWorker::from_wire(wire).unwrap(), set);
    }

    #[test]
    fn the_boot_scripts_failure_message_is_understood() {
        // public/worker-boot.js posts this when the worker's wasm cannot start.
        let json = r#"{"type":"model","event":{"kind":"failed","error":{"kind":"worker-start","detail":"TypeError: x"}}}"#;
        assert_eq!(
            FromWorker::from_wire(Wire::text(json)).unwrap(),
            FromWorker::Model {
                event: ModelEvent::Failed { error: ModelError::WorkerStart { detail: "TypeError: x".into() } }
            }
        );
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
        assert!(ToWorker::from_wire(Wire::text(r#"{"type":"launch"}"#)).is_err());
        assert!(FromWorker::from_wire(Wire::text("not json")).is_err());
    }
}
