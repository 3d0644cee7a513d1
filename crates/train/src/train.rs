//! Fine-tuning the encoder for multi-label technique classification, with candle's autograd
//! on the CPU.
//!
//! Full fine-tuning of all six layers is too slow on two cores, so the lower
//! `frozen_layers` layers (and the embeddings) keep their pre-trained weights: their output
//! is computed once per example and cached, and each epoch runs only the upper layers and
//! the head forward and backward. The epoch, the report-score rule and the decision
//! threshold are chosen on the calibration reports of both annotation conventions (TRAM and
//! AnnoCTR), with report scores made as the mapping makes them; validation reports are only
//! scored at the end.
//!
//! TRAM's report sentences are negatives only for TRAM's annotation vocabulary
//! ([`crate::data::Negatives`]): their loss is masked for every other label.

use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

use anyhow::{Context, Result};
use candle_core::{Device, Tensor, Var};
use candle_nn::optim::{AdamW, Optimizer, ParamsAdamW};
use ttpmap_mapper::bert::{layer_tensor_names, mean_pool, BertConfig, Encoder};
use ttpmap_mapper::model::{HEAD_BIAS, HEAD_WEIGHT};
use ttpmap_mapper::tokenize::{length_batches, Window, WindowConfig, WordPiece};
use ttpmap_mapper::{AggregateConfig, Aggregation};

use crate::data::{Conventions, Corpus, Example, Negatives, Report, Rng, Source};
use crate::metrics::{evaluate, predicted, Counts, Evaluation, Level};

/// Training settings (recorded in the manifest).
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrainConfig {
    /// Encoder layers kept frozen (from the bottom); the rest are fine-tuned.
    pub frozen_layers: usize,
    pub epochs: usize,
    pub batch_size: usize,
    /// Peak learning rate of the fine-tuned encoder layers.
    pub lr: f64,
    /// Peak learning rate of the classification head.
    pub head_lr: f64,
    /// Longest training example in tokens (with [CLS] and [SEP]); longer ones are cut.
    pub max_tokens: usize,
    /// Weight of TRAM's annotated training sentences relative to other examples.
    pub tram_weight: f32,
    /// Weight of AnnoCTR's training sentences that hold a technique mention.
    pub annoctr_weight: f32,
    /// Examples without labels (weak negatives) drawn afresh for each epoch; the rest of
    /// the examples are all used every epoch.
    pub negatives_per_epoch: usize,
    pub seed: u64,
    /// How a report's sentence probabilities become its technique scores, for choosing the
    /// epoch and calibrating the threshold (the manifest records it for the mapping); `None`
    /// chooses the rule on the calibration reports, with the epoch and the threshold.
    pub aggregation: Option<Aggregation>,
    /// What the corpus takes from each annotation convention (AnnoCTR, TRAM's `[OTHER]`
    /// labels, TRAM's partial-label negatives); the default is the shipped model's recipe.
    pub conventions: Conventions,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            frozen_layers: 4,
            epochs: 4,
            batch_size: 64,
            lr: 1e-4,
            head_lr: 3e-3,
            max_tokens: 128,
            tram_weight: 4.0,
            annoctr_weight: 4.0,
            // More than there are (27,968 without AnnoCTR): every negative in every epoch.
            // With AnnoCTR (about 31,600), run E drew 28,000 afresh each epoch, which keeps
            // the epoch the size it had before.
            negatives_per_epoch: 40_000,
            seed: 42,
            aggregation: Some(Aggregation::MeanOfBestTwo),
            conventions: Conventions::default(),
        }
    }
}

/// What one epoch did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EpochLog {
    pub epoch: usize,
    pub mean_loss: f64,
    /// The calibration objective at the epoch's best rule and threshold.
    pub calibration_f1: f64,
    pub calibration_threshold: f32,
    pub calibration_aggregation: Aggregation,
    /// TRAM calibration micro-F1 (exact IDs; `[OTHER]` labels included where trained on) there.
    pub calibration_tram_f1: f64,
    /// AnnoCTR calibration micro-F1 (parent level) there; 0 without AnnoCTR.
    pub calibration_annoctr_f1: f64,
    pub seconds: f64,
}

/// The trained model and how it was chosen.
pub struct Trained {
    /// Every f32 tensor of the model: encoder (HF names) and head.
    pub tensors: HashMap<String, Tensor>,
    pub threshold: f32,
    /// The report-score rule chosen (or given).
    pub aggregation: Aggregation,
    pub epochs: Vec<EpochLog>,
    pub best_epoch: usize,
    /// TRAM validation reports against their list labels.
    pub validation: Evaluation,
    /// TRAM validation reports with the `[OTHER]` labels added to their gold.
    pub validation_with_other: Evaluation,
    /// TRAM calibration reports (`[OTHER]` labels included where they were trained on).
    pub calibration: Evaluation,
    /// AnnoCTR validation reports (its `dev/`).
    pub annoctr_validation: Evaluation,
    /// AnnoCTR calibration reports.
    pub annoctr_calibration: Evaluation,
    pub cache_seconds: f64,
}

/// The calibration sets: TRAM's (scored on exact IDs, `[OTHER]` labels included where they
/// are trained on) and AnnoCTR's (scored at the parent level, the convention's own
/// granularity; empty unless AnnoCTR is trained on). The objective is the mean of the
/// micro-F1s of the sets that have reports, so neither convention swamps the other.
struct Calibration<'a> {
    sets: Vec<(&'a [Report], Level, bool)>,
}

impl Calibration<'_> {
    /// (objective, per-set F1s) of the given per-set report scores at `threshold`.
    fn score(&self, scores: &[Vec<Vec<f32>>], labels: &[String], threshold: f32) -> (f64, Vec<f64>) {
        let f1s: Vec<f64> = self
            .sets
            .iter()
            .zip(scores)
            .map(|((reports, level, with_other), s)| {
                let mut c = Counts::default();
                for (r, sc) in reports.iter().zip(s) {
                    let gold = if *with_other { r.gold_with_other() } else { r.gold.clone() };
                    c.add(&level.apply(&gold), &level.apply(&predicted(sc, labels, threshold)));
                }
                c.f1()
            })
            .collect();
        let used: Vec<f64> = self.sets.iter().zip(&f1s).filter(|((r, _, _), _)| !r.is_empty()).map(|(_, f)| *f).collect();
        (used.iter().sum::<f64>() / used.len().max(1) as f64, f1s)
    }

    /// The threshold (0.05..0.95 by 0.01) that maximises the objective.
    fn best_threshold(&self, scores: &[Vec<Vec<f32>>], labels: &[String]) -> (f32, f64, Vec<f64>) {
        let mut best = (0.5f32, -1.0f64, Vec::new());
        for step in 5..=95 {
            let t = step as f32 / 100.0;
            let (f, parts) = self.score(scores, labels, t);
            if f > best.1 {
                best = (t, f, parts);
            }
        }
        best
    }
}

/// Numerically stable binary cross-entropy with logits, summed over the labels `mask` keeps
/// (1) per row, weighted per row, averaged over rows: `max(x,0) - x*y + log(1 + exp(-|x|))`.
pub fn bce_with_logits(logits: &Tensor, targets: &Tensor, mask: &Tensor, row_weights: &Tensor) -> candle_core::Result<Tensor> {
    let per = ((logits.relu()? - (logits * targets)?)? + (logits.abs()?.neg()?.exp()? + 1.0)?.log()?)?;
    let rows = (per * mask)?.sum(1)?;
    let n = rows.dims1()? as f64;
    (rows * row_weights)?.sum_all()? / n
}

/// Token ids of a training example: [CLS] ... [SEP], cut to `max_tokens`.
fn example_ids(tok: &WordPiece, text: &str, max_tokens: usize) -> Result<Vec<u32>> {
    let w = tok.windows(&[text], WindowConfig { max_tokens, overlap: 0 })?;
    Ok(w.into_iter().next().map(|w| w.ids).unwrap_or_default())
}

/// Output of the frozen layers for each window, unpadded, `[len * hidden]`.
fn cache_lower(enc: &Encoder, windows: &[Window], frozen: usize, log: &mut dyn FnMut(&str)) -> Result<Vec<Vec<f32>>> {
    let hidden = enc.config().hidden_size;
    let mut out = vec![Vec::new(); windows.len()];
    let batches = length_batches(windows, 64, 4096);
    let n = batches.len();
    for (bi, b) in batches.into_iter().enumerate() {
        let rows = b.windows.len();
        let ids = Tensor::from_vec(b.ids, (rows, b.seq_len), &Device::Cpu)?;
        let mask = Tensor::from_vec(b.mask, (rows, b.seq_len), &Device::Cpu)?;
        let h = enc.run_layers(&enc.embed(&ids, false)?, &mask, 0..frozen, false)?;
        let h = h.to_vec3::<f32>()?;
        for (r, w) in b.windows.iter().enumerate() {
            let len = windows[*w].ids.len();
            let mut v = Vec::with_capacity(len * hidden);
            for row in &h[r][..len] {
                v.extend_from_slice(row);
            }
            out[*w] = v;
        }
        if bi % 50 == 0 || bi + 1 == n {
            log(&format!("  cached batch {}/{}", bi + 1, n));
        }
    }
    Ok(out)
}

/// Pads cached states of `rows` into `[B, T, H]` and a `[B, T]` mask.
fn padded(cache: &[Vec<f32>], rows: &[usize], hidden: usize) -> candle_core::Result<(Tensor, Tensor)> {
    let t = rows.iter().map(|&r| cache[r].len() / hidden).max().unwrap_or(1);
    let mut h = vec![0f32; rows.len() * t * hidden];
    let mut m = vec![0f32; rows.len() * t];
    for (i, &r) in rows.iter().enumerate() {
        let len = cache[r].len() / hidden;
        h[i * t * hidden..i * t * hidden + len * hidden].copy_from_slice(&cache[r]);
        m[i * t..i * t + len].iter_mut().for_each(|x| *x = 1.0);
    }
    Ok((Tensor::from_vec(h, (rows.len(), t, hidden), &Device::Cpu)?, Tensor::from_vec(m, (rows.len(), t), &Device::Cpu)?))
}

/// The model under training: the encoder (its upper layers backed by `Var`s) and the head.
struct Model {
    enc: Encoder,
    head_w: Var,
    head_b: Var,
    layer_vars: Vec<(String, Var)>,
    frozen: usize,
}

impl Model {
    fn logits(&self, hidden: &Tensor, mask: &Tensor, train: bool) -> candle_core::Result<Tensor> {
        let layers = self.enc.config().num_hidden_layers;
        let h = self.enc.run_layers(hidden, mask, self.frozen..layers, train)?;
        let pooled = mean_pool(&h, mask)?;
        pooled.matmul(&self.head_w.as_tensor().t()?)?.broadcast_add(self.head_b.as_tensor())
    }

    fn snapshot(&self, base: &HashMap<String, Tensor>) -> candle_core::Result<HashMap<String, Tensor>> {
        let mut t = base.clone();
        for (n, v) in &self.layer_vars {
            t.insert(n.clone(), v.as_tensor().copy()?);
        }
        t.insert(HEAD_WEIGHT.into(), self.head_w.as_tensor().copy()?);
        t.insert(HEAD_BIAS.into(), self.head_b.as_tensor().copy()?);
        Ok(t)
    }
}

/// Sentence probabilities of each report (sentence index -> label probabilities), as the
/// mapping makes them: a sentence's probability is the best of its windows'.
fn sentence_probs(model: &Model, reports: &[(Vec<usize>, usize)], cache: &[Vec<f32>], windows: &[Window], n_reports: usize) -> Result<Vec<HashMap<usize, Vec<f32>>>> {
    let hidden = model.enc.config().hidden_size;
    let labels = model.head_b.as_tensor().dims1()?;
    // `reports[i]` = (window indices, report index)
    let owner: HashMap<usize, usize> = reports.iter().flat_map(|(ws, r)| ws.iter().map(move |w| (*w, *r))).collect();
    let all: Vec<usize> = reports.iter().flat_map(|(ws, _)| ws.iter().copied()).collect();
    let sub: Vec<Window> = all.iter().map(|&w| windows[w].clone()).collect();
    // Per report: sentence index -> label probabilities.
    let mut sentences: Vec<HashMap<usize, Vec<f32>>> = vec![HashMap::new(); n_reports];
    for b in length_batches(&sub, 64, 4096) {
        let rows: Vec<usize> = b.windows.iter().map(|&i| all[i]).collect();
        let (h, m) = padded(cache, &rows, hidden)?;
        let p = candle_nn::ops::sigmoid(&model.logits(&h, &m, false)?)?.to_vec2::<f32>()?;
        for (w, probs) in rows.iter().zip(p) {
            let s = sentences[owner[w]].entry(windows[*w].sentence).or_insert_with(|| vec![0f32; labels]);
            for (a, b) in s.iter_mut().zip(probs) {
                *a = a.max(b);
            }
        }
    }
    Ok(sentences)
}

/// Report-level label scores from [`sentence_probs`]: `rule` combines a report's sentences
/// (those under the mapping's floor count 0).
fn aggregate(sentences: &[HashMap<usize, Vec<f32>>], labels: usize, rule: Aggregation) -> Vec<Vec<f32>> {
    let floor = AggregateConfig::default().floor;
    sentences.iter().map(|report| (0..labels).map(|l| rule.score_probs(report.values().map(|p| p[l]), floor)).collect()).collect()
}

/// Windows of every sentence of `reports`, and for each report its window indices.
fn report_windows(tok: &WordPiece, reports: &[Report], wcfg: WindowConfig) -> Result<(Vec<Window>, Vec<(Vec<usize>, usize)>)> {
    let mut windows = Vec::new();
    let mut per = Vec::new();
    for (ri, r) in reports.iter().enumerate() {
        let texts: Vec<&str> = r.sentences.iter().map(|&(s, e)| &r.text[s..e]).collect();
        let start = windows.len();
        windows.extend(tok.windows(&texts, wcfg)?);
        per.push(((start..windows.len()).collect(), ri));
    }
    Ok((windows, per))
}

/// Fine-tunes `base` (HF BERT tensors) on `corpus`. `log` receives progress lines.
pub fn train(corpus: &Corpus, base: &HashMap<String, Tensor>, bert: &BertConfig, tok: &WordPiece, cfg: &TrainConfig, log: &mut dyn FnMut(&str)) -> Result<Trained> {
    let dev = Device::Cpu;
    let hidden = bert.hidden_size;
    let n_labels = corpus.labels.len();
    let frozen = cfg.frozen_layers.min(bert.num_hidden_layers);
    let frozen_enc = Encoder::from_tensors(bert.clone(), base).context("base encoder")?;

    // 1. Cache the frozen layers' output for training examples and held-out reports.
    let t0 = Instant::now();
    log(&format!("tokenizing {} training examples", corpus.examples.len()));
    let mut train_windows = Vec::with_capacity(corpus.examples.len());
    for (i, e) in corpus.examples.iter().enumerate() {
        train_windows.push(Window { sentence: i, ids: example_ids(tok, &e.text, cfg.max_tokens)? });
    }
    log("caching frozen-layer outputs for training examples");
    let train_cache = cache_lower(&frozen_enc, &train_windows, frozen, log)?;
    log("caching frozen-layer outputs for calibration and validation reports");
    let held = |reports: &[Report], log: &mut dyn FnMut(&str)| HeldOut::new(&frozen_enc, tok, reports, frozen, log);
    let [tram_cal, annoctr_cal, tram_val, annoctr_val] =
        [&corpus.calibration, &corpus.annoctr_calibration, &corpus.validation, &corpus.annoctr_validation].map(|r| held(r, log));
    let (tram_cal, annoctr_cal, tram_val, annoctr_val) = (tram_cal?, annoctr_cal?, tram_val?, annoctr_val?);
    let cache_seconds = t0.elapsed().as_secs_f64();
    log(&format!("cache built in {cache_seconds:.0} s"));

    // 2. Trainable variables: upper layers and the head.
    let mut tensors = base.clone();
    let mut layer_vars = Vec::new();
    for i in frozen..bert.num_hidden_layers {
        for n in layer_tensor_names(i) {
            let v = Var::from_tensor(&base[&n])?;
            tensors.insert(n.clone(), v.as_tensor().clone());
            layer_vars.push((n, v));
        }
    }
    let mut rng = Rng::new(cfg.seed);
    let init: Vec<f32> = (0..n_labels * hidden).map(|_| ((rng.next_u64() >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 0.02).collect();
    let head_w = Var::from_tensor(&Tensor::from_vec(init, (n_labels, hidden), &dev)?)?;
    // Start at a low prior (p = 0.01) so the first steps don't fight 691 confident positives.
    let head_b = Var::from_tensor(&Tensor::full(-4.6f32, n_labels, &dev)?)?;
    let model = Model { enc: Encoder::from_tensors(bert.clone(), &tensors)?, head_w, head_b, layer_vars, frozen };

    let adam = |lr| ParamsAdamW { lr, weight_decay: 0.01, ..Default::default() };
    let mut opt_enc = AdamW::new(model.layer_vars.iter().map(|(_, v)| v.clone()).collect(), adam(cfg.lr))?;
    let mut opt_head = AdamW::new(vec![model.head_w.clone(), model.head_b.clone()], adam(cfg.head_lr))?;

    let weights: Vec<f32> = corpus.examples.iter().map(|e| example_weight(e, cfg)).collect();
    // Loss mask of examples that are negatives only for TRAM's annotation vocabulary.
    let vocabulary_mask: Vec<f32> = corpus.labels.iter().map(|l| if corpus.tram_vocabulary.contains(&l.id) { 1.0 } else { 0.0 }).collect();
    let positives: Vec<usize> = (0..corpus.examples.len()).filter(|&i| !corpus.examples[i].labels.is_empty()).collect();
    let negatives: Vec<usize> = (0..corpus.examples.len()).filter(|&i| corpus.examples[i].labels.is_empty()).collect();
    let per_epoch = positives.len() + negatives.len().min(cfg.negatives_per_epoch);
    let steps_per_epoch = per_epoch.div_ceil(cfg.batch_size);
    let total_steps = (steps_per_epoch * cfg.epochs).max(1);
    let warmup = (total_steps / 20).max(1);
    let label_ids: Vec<String> = corpus.labels.iter().map(|l| l.id.clone()).collect();
    let with_other = corpus.conventions.tram_other_labels;
    let calibration = Calibration { sets: vec![(&corpus.calibration, Level::Exact, with_other), (&corpus.annoctr_calibration, Level::Parent, false)] };
    let rules: Vec<Aggregation> = match cfg.aggregation {
        Some(rule) => vec![rule],
        None => vec![Aggregation::BestSentence, Aggregation::MeanOfBestTwo],
    };

    let mut epochs = Vec::new();
    let mut best: Option<(f64, usize, f32, Aggregation, HashMap<String, Tensor>)> = None;
    let mut step = 0usize;
    for epoch in 1..=cfg.epochs {
        let te = Instant::now();
        let mut negs = negatives.clone();
        rng.shuffle(&mut negs);
        negs.truncate(cfg.negatives_per_epoch);
        let chosen: Vec<usize> = positives.iter().chain(&negs).copied().collect();
        let batches = epoch_batches(&chosen, &train_windows, cfg.batch_size, &mut rng);
        let mut loss_sum = 0.0;
        for (bi, rows) in batches.iter().enumerate() {
            let (h, m) = padded(&train_cache, rows, hidden)?;
            let (targets, mask) = multi_hot(&corpus.examples, rows, n_labels, &vocabulary_mask)?;
            let w = Tensor::from_vec(rows.iter().map(|&r| weights[r]).collect::<Vec<f32>>(), rows.len(), &dev)?;
            let loss = bce_with_logits(&model.logits(&h, &m, true)?, &targets, &mask, &w)?;
            let grads = loss.backward()?;
            let scale = if step < warmup { (step + 1) as f64 / warmup as f64 } else { (total_steps - step) as f64 / (total_steps - warmup).max(1) as f64 };
            opt_enc.set_learning_rate(cfg.lr * scale);
            opt_head.set_learning_rate(cfg.head_lr * scale);
            opt_enc.step(&grads)?;
            opt_head.step(&grads)?;
            step += 1;
            loss_sum += loss.to_scalar::<f32>()? as f64;
            if bi % 100 == 0 {
                log(&format!("epoch {epoch} batch {}/{} loss {:.4} ({:.0} s)", bi + 1, batches.len(), loss_sum / (bi + 1) as f64, te.elapsed().as_secs_f64()));
            }
        }
        let probs = [tram_cal.sentence_probs(&model)?, annoctr_cal.sentence_probs(&model)?];
        let mut epoch_best: Option<(f64, f32, Aggregation, Vec<f64>)> = None;
        for &rule in &rules {
            let scores: Vec<Vec<Vec<f32>>> = probs.iter().map(|p| aggregate(p, n_labels, rule)).collect();
            let (t, f1, parts) = calibration.best_threshold(&scores, &label_ids);
            log(&format!("  epoch {epoch}, {rule:?}: calibration objective {f1:.3} (TRAM {:.3}, AnnoCTR {:.3}) at threshold {t:.2}", parts[0], parts[1]));
            if epoch_best.as_ref().is_none_or(|b| f1 > b.0) {
                epoch_best = Some((f1, t, rule, parts));
            }
        }
        let (f1, t, rule, parts) = epoch_best.context("no report-score rule")?;
        let e = EpochLog {
            epoch,
            mean_loss: loss_sum / batches.len().max(1) as f64,
            calibration_f1: f1,
            calibration_threshold: t,
            calibration_aggregation: rule,
            calibration_tram_f1: parts[0],
            calibration_annoctr_f1: parts[1],
            seconds: te.elapsed().as_secs_f64(),
        };
        log(&format!("epoch {epoch}: loss {:.4}, calibration objective {:.3} ({rule:?}, threshold {:.2}) ({:.0} s)", e.mean_loss, f1, t, e.seconds));
        epochs.push(e);
        if best.as_ref().is_none_or(|b| f1 > b.0) {
            best = Some((f1, epoch, t, rule, model.snapshot(base)?));
        }
    }
    let (_, best_epoch, threshold, aggregation, tensors) = best.context("no epoch ran")?;

    // 3. Score held-out reports with the chosen weights and threshold.
    let chosen = Model {
        enc: Encoder::from_tensors(bert.clone(), &tensors)?,
        head_w: Var::from_tensor(&tensors[HEAD_WEIGHT])?,
        head_b: Var::from_tensor(&tensors[HEAD_BIAS])?,
        layer_vars: Vec::new(),
        frozen,
    };
    let vocabulary = &corpus.tram_vocabulary;
    let eval_on = |set: &HeldOut, reports: &[Report], with_other: bool, vocabulary: Option<&BTreeSet<String>>| -> Result<Evaluation> {
        let scores = aggregate(&set.sentence_probs(&chosen)?, n_labels, aggregation);
        let pairs: Vec<_> = reports.iter().zip(&scores).map(|(r, s)| (if with_other { r.gold_with_other() } else { r.gold.clone() }, predicted(s, &label_ids, threshold))).collect();
        Ok(evaluate(&pairs, &corpus.matrix, threshold, vocabulary))
    };
    let calibration = eval_on(&tram_cal, &corpus.calibration, with_other, Some(vocabulary))?;
    let validation = eval_on(&tram_val, &corpus.validation, false, Some(vocabulary))?;
    let validation_with_other = eval_on(&tram_val, &corpus.validation, true, None)?;
    let annoctr_calibration = eval_on(&annoctr_cal, &corpus.annoctr_calibration, false, None)?;
    let annoctr_validation = eval_on(&annoctr_val, &corpus.annoctr_validation, false, None)?;
    for (name, e) in [("TRAM validation", &validation), ("TRAM validation with [OTHER] labels", &validation_with_other), ("AnnoCTR validation (dev)", &annoctr_validation)] {
        log(&format!(
            "{name} ({} reports): micro P {:.3} R {:.3} F1 {:.3}; parent level P {:.3} R {:.3} F1 {:.3}; per-document F1 {:.3}",
            e.reports, e.exact.precision, e.exact.recall, e.exact.f1, e.parent.precision, e.parent.recall, e.parent.f1, e.per_document_f1
        ));
    }
    Ok(Trained { tensors, threshold, aggregation, epochs, best_epoch, validation, validation_with_other, calibration, annoctr_validation, annoctr_calibration, cache_seconds })
}

/// Held-out reports with the frozen layers' output of their sentences' windows cached.
struct HeldOut {
    windows: Vec<Window>,
    per: Vec<(Vec<usize>, usize)>,
    cache: Vec<Vec<f32>>,
    reports: usize,
}

impl HeldOut {
    fn new(enc: &Encoder, tok: &WordPiece, reports: &[Report], frozen: usize, log: &mut dyn FnMut(&str)) -> Result<Self> {
        let (windows, per) = report_windows(tok, reports, WindowConfig::default())?;
        let cache = cache_lower(enc, &windows, frozen, log)?;
        Ok(Self { windows, per, cache, reports: reports.len() })
    }

    fn sentence_probs(&self, model: &Model) -> Result<Vec<HashMap<usize, Vec<f32>>>> {
        sentence_probs(model, &self.per, &self.cache, &self.windows, self.reports)
    }
}

fn example_weight(e: &Example, cfg: &TrainConfig) -> f32 {
    match e.source {
        Source::TramAnnotated => cfg.tram_weight,
        Source::AnnoctrAnnotated => cfg.annoctr_weight,
        _ => 1.0,
    }
}

/// Shuffled batches of similar-length examples: shuffle, sort within chunks by length,
/// cut into batches, shuffle the batches.
fn epoch_batches(examples: &[usize], windows: &[Window], batch: usize, rng: &mut Rng) -> Vec<Vec<usize>> {
    let mut order: Vec<usize> = examples.to_vec();
    rng.shuffle(&mut order);
    let mut batches = Vec::new();
    for chunk in order.chunks(batch * 50) {
        let mut c = chunk.to_vec();
        c.sort_by_key(|&i| windows[i].ids.len());
        batches.extend(c.chunks(batch).map(|b| b.to_vec()));
    }
    rng.shuffle(&mut batches);
    batches
}

/// Targets and loss mask of `rows`: an example's labels are 1; its other labels are 0, and
/// count in the loss where it is a negative for them ([`Negatives`]; `vocabulary_mask` is 1
/// on TRAM's annotation vocabulary).
fn multi_hot(examples: &[Example], rows: &[usize], n_labels: usize, vocabulary_mask: &[f32]) -> candle_core::Result<(Tensor, Tensor)> {
    let mut t = vec![0f32; rows.len() * n_labels];
    let mut m = vec![1f32; rows.len() * n_labels];
    for (i, &r) in rows.iter().enumerate() {
        let e = &examples[r];
        if e.negatives == Negatives::TramVocabulary {
            m[i * n_labels..(i + 1) * n_labels].copy_from_slice(vocabulary_mask);
        }
        for &l in &e.labels {
            t[i * n_labels + l as usize] = 1.0;
            m[i * n_labels + l as usize] = 1.0;
        }
    }
    Ok((Tensor::from_vec(t, (rows.len(), n_labels), &Device::Cpu)?, Tensor::from_vec(m, (rows.len(), n_labels), &Device::Cpu)?))
}
