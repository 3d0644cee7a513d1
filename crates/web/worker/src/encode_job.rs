//! The encode job: encodes this worker's part of a user's bundle's prototype texts (the
//! page builds the bundle's technique vectors from every worker's rows), a chunk at a
//! time so a Cancel is read between chunks.

use ttpmap_mapper::similarity::{encode_texts, rows_to_bytes};
use ttpmap_mapper::{BatchConfig, Classifier};
use ttpmap_web_protocol::{shard_range, JobError, JobEvent, JobId, Shard};

use crate::engine::Engine;

/// Prototype texts encoded between two looks at the message queue.
const ENCODE_CHUNK: usize = 16;

impl Engine {
    /// Encodes this worker's part ([`shard_range`]) of a bundle's prototype texts for
    /// `job`, a chunk at a time (a Cancel is read between chunks), and posts the rows.
    pub async fn encode(&self, classifier: &Classifier, job: JobId, texts: &[String], shard: Shard) {
        let mine = &texts[shard_range(texts.len(), shard)];
        let total = mine.len();
        self.post_job(job, JobEvent::EncodeProgress { done: 0, total });
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
                    self.post_job(job, JobEvent::Failed { error: JobError::BundleTexts { detail: e.to_string() } });
                    return;
                }
            }
            let done = (i * ENCODE_CHUNK + chunk.len()).min(total);
            self.post_job(job, JobEvent::EncodeProgress { done, total });
        }
        self.post_job(job, JobEvent::Encoded { dim, rows: rows.concat() });
    }
}
