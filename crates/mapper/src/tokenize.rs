//! WordPiece tokenization, windowing of long sentences, and length-grouped batching.
//!
//! Sentences longer than the window are split into overlapping windows rather than cut:
//! every token of a 3,000-word "sentence" is seen by the encoder, and the caller combines
//! the windows' scores (max) back into one score per sentence.
//!
//! The tokenizer itself ([`WordPiece`], the `tokenizers` crate) is behind the crate's
//! `model` feature; windows and batches are plain.

#[cfg(feature = "model")]
use tokenizers::Tokenizer;

/// Errors from loading or running the tokenizer.
#[derive(Debug, thiserror::Error)]
pub enum TokenizeError {
    /// The tokenizer.json bytes could not be parsed.
    #[error("cannot read tokenizer.json: {0}")]
    Load(String),
    /// The tokenizer failed on a piece of text.
    #[error("tokenizer failed: {0}")]
    Encode(String),
    /// The vocabulary lacks [CLS] or [SEP].
    #[error("tokenizer vocabulary lacks the special token {0}")]
    MissingSpecial(&'static str),
}

/// How sentences become encoder inputs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowConfig {
    /// Most tokens in one encoder input, [CLS] and [SEP] included.
    pub max_tokens: usize,
    /// Tokens shared by consecutive windows of one long sentence.
    pub overlap: usize,
}

impl Default for WindowConfig {
    fn default() -> Self {
        Self { max_tokens: 128, overlap: 32 }
    }
}

/// One encoder input: a sentence or a window of a long one.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Index of the sentence this window belongs to.
    pub sentence: usize,
    /// Token ids, starting with [CLS] and ending with [SEP].
    pub ids: Vec<u32>,
}

/// The WordPiece tokenizer of the encoder, with truncation and padding switched off.
#[cfg(feature = "model")]
pub struct WordPiece {
    inner: Tokenizer,
    cls: u32,
    sep: u32,
}

#[cfg(feature = "model")]
impl WordPiece {
    /// Loads a Hugging Face tokenizer.json.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, TokenizeError> {
        let mut inner = Tokenizer::from_bytes(bytes).map_err(|e| TokenizeError::Load(e.to_string()))?;
        inner.with_padding(None);
        inner.with_truncation(None).map_err(|e| TokenizeError::Load(e.to_string()))?;
        let cls = inner.token_to_id("[CLS]").ok_or(TokenizeError::MissingSpecial("[CLS]"))?;
        let sep = inner.token_to_id("[SEP]").ok_or(TokenizeError::MissingSpecial("[SEP]"))?;
        Ok(Self { inner, cls, sep })
    }

    /// Token ids of `text` without special tokens.
    pub fn ids(&self, text: &str) -> Result<Vec<u32>, TokenizeError> {
        let enc = self.inner.encode_fast(text, false).map_err(|e| TokenizeError::Encode(e.to_string()))?;
        Ok(enc.get_ids().to_vec())
    }

    /// Encoder inputs for `sentences`: one window per sentence, several for long ones.
    /// A sentence with no tokens still gets one ([CLS], [SEP]) window so every index is scored.
    pub fn windows<S: AsRef<str>>(&self, sentences: &[S], cfg: WindowConfig) -> Result<Vec<Window>, TokenizeError> {
        let mut out = Vec::with_capacity(sentences.len());
        for (i, s) in sentences.iter().enumerate() {
            let ids = self.ids(s.as_ref())?;
            self.push_windows(i, &ids, cfg, &mut out);
        }
        Ok(out)
    }

    fn push_windows(&self, sentence: usize, ids: &[u32], cfg: WindowConfig, out: &mut Vec<Window>) {
        let body = cfg.max_tokens.saturating_sub(2).max(1);
        let step = body.saturating_sub(cfg.overlap).max(1);
        let mut start = 0;
        loop {
            let end = (start + body).min(ids.len());
            let mut w = Vec::with_capacity(end - start + 2);
            w.push(self.cls);
            w.extend_from_slice(&ids[start..end]);
            w.push(self.sep);
            out.push(Window { sentence, ids: w });
            if end >= ids.len() {
                break;
            }
            start += step;
        }
    }
}

/// A padded batch of windows of similar length.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// Indices into the window list this batch was made from.
    pub windows: Vec<usize>,
    /// Padded length of every row.
    pub seq_len: usize,
    /// Row-major `[rows, seq_len]` ids, padded with 0.
    pub ids: Vec<u32>,
    /// Row-major `[rows, seq_len]` mask: 1.0 for tokens, 0.0 for padding.
    pub mask: Vec<f32>,
}

/// Groups windows by length into batches of at most `max_rows` rows and `max_tokens`
/// padded tokens, so that little compute is spent on padding.
pub fn length_batches(windows: &[Window], max_rows: usize, max_tokens: usize) -> Vec<Batch> {
    let mut order: Vec<usize> = (0..windows.len()).collect();
    order.sort_by_key(|&i| (windows[i].ids.len(), i));
    let mut batches = Vec::new();
    let mut cur: Vec<usize> = Vec::new();
    for &i in &order {
        let len = windows[i].ids.len();
        // Sorted ascending, so `len` is the padded length if i joins the batch.
        if !cur.is_empty() && (cur.len() + 1 > max_rows.max(1) || (cur.len() + 1) * len > max_tokens) {
            batches.push(make_batch(windows, std::mem::take(&mut cur)));
        }
        cur.push(i);
    }
    if !cur.is_empty() {
        batches.push(make_batch(windows, cur));
    }
    batches
}

fn make_batch(windows: &[Window], rows: Vec<usize>) -> Batch {
    let seq_len = rows.iter().map(|&i| windows[i].ids.len()).max().unwrap_or(0);
    let mut ids = vec![0u32; rows.len() * seq_len];
    let mut mask = vec![0f32; rows.len() * seq_len];
    for (r, &i) in rows.iter().enumerate() {
        let w = &windows[i].ids;
        ids[r * seq_len..r * seq_len + w.len()].copy_from_slice(w);
        mask[r * seq_len..r * seq_len + w.len()].iter_mut().for_each(|m| *m = 1.0);
    }
    Batch { windows: rows, seq_len, ids, mask }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn win(sentence: usize, n: usize) -> Window {
        Window { sentence, ids: vec![7; n] }
    }

    #[test]
    fn batches_cover_every_window_once() {
        let ws: Vec<Window> = (0..50).map(|i| win(i, 3 + (i * 7) % 40)).collect();
        let bs = length_batches(&ws, 8, 200);
        let mut seen: Vec<usize> = bs.iter().flat_map(|b| b.windows.clone()).collect();
        seen.sort();
        assert_eq!(seen, (0..50).collect::<Vec<_>>());
    }

    #[test]
    fn batches_respect_row_and_token_budgets() {
        let ws: Vec<Window> = (0..50).map(|i| win(i, 3 + (i * 7) % 40)).collect();
        for b in length_batches(&ws, 8, 200) {
            assert!(b.windows.len() <= 8);
            assert!(b.windows.len() == 1 || b.windows.len() * b.seq_len <= 200);
            assert_eq!(b.ids.len(), b.windows.len() * b.seq_len);
        }
    }

    #[test]
    fn padding_is_masked() {
        let ws = vec![win(0, 3), win(1, 5)];
        let b = &length_batches(&ws, 8, 1000)[0];
        assert_eq!(b.seq_len, 5);
        assert_eq!(&b.mask[..5], &[1.0, 1.0, 1.0, 0.0, 0.0]);
        assert_eq!(&b.ids[3..5], &[0, 0]);
    }
}
