//! Loading the model for the commands that classify (the shipped one built into the binary,
//! or `--model DIR`), verified against its manifest's sha256, and the encoder it runs on
//! (`--backend`): the CPU, or the GPU through wgpu with a fallback.

use std::borrow::Cow;
use std::cell::RefCell;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use ttpmap_gpu::GpuEncoder;
use ttpmap_mapper::{AggregateConfig, BatchConfig, Classifier, LoadedModel, Manifest, ModelFiles, ReportMapping, Scoring, WeightFormat};

/// `--model DIR`, shared by the commands that classify.
#[derive(Debug, Clone, clap::Args)]
pub struct ModelArgs {
    /// Folder holding manifest.json, model.gguf and tokenizer.json (default: the shipped
    /// model, built into ttpmap).
    #[arg(long = "model", id = "model", value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Which encoder runs the model: `auto` (a hardware GPU through wgpu when there is one,
    /// else the CPU), `cpu`, or `wgpu` (any adapter, software ones such as lavapipe included).
    /// If the GPU fails, the CPU finishes the report.
    #[arg(long, value_enum, default_value_t = Backend::Auto)]
    pub backend: Backend,
    /// For tests of the fallback: destroy the GPU device after this many batches.
    #[arg(long, hide = true, value_name = "BATCHES")]
    pub lose_gpu_after: Option<usize>,
    /// How the CPU encoder's dense layers hold their weights: `f32` (dequantized at load),
    /// `q8` (the file's Q8_0 blocks, candle's quantized matmul) or `i16` (11-bit integers
    /// per output row, our integer kernel).
    #[arg(long, value_name = "FORMAT", default_value = "f32")]
    pub weights: WeightFormat,
}

/// `--backend`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// A hardware GPU when wgpu finds one; the CPU otherwise (software adapters are far
    /// slower than candle on the same CPU).
    Auto,
    /// candle on the CPU.
    Cpu,
    /// The wgpu encoder on whatever adapter wgpu offers (Vulkan natively).
    Wgpu,
}

/// A model file: from `dir`, or built into the binary.
fn read(dir: Option<&Path>, name: &str) -> Result<Cow<'static, [u8]>> {
    match dir {
        Some(dir) => {
            let p = dir.join(name);
            let bytes = std::fs::read(&p)
                .with_context(|| format!("cannot read {} (--model DIR needs {})", p.display(), Manifest::FILES.join(", ")))?;
            Ok(Cow::Owned(bytes))
        }
        None => crate::shipped::model_file(name).map(Cow::Borrowed).with_context(|| format!("ttpmap has no built-in {name}")),
    }
}

/// Reads and verifies the model in `dir` (the built-in one if `None`): the classifier (its
/// CPU encoder's dense weights held as `format`) and the f32 tensors (which the GPU encoder
/// uploads).
fn load_tensors(dir: Option<&Path>, format: WeightFormat) -> Result<LoadedModel> {
    let manifest = Manifest::from_json(&String::from_utf8_lossy(&read(dir, Manifest::FILE)?))?;
    let context = || match dir {
        Some(dir) => format!("cannot load the model in {}", dir.display()),
        None => "cannot load the model built into ttpmap".to_string(),
    };
    let files = ModelFiles::verify(manifest, read(dir, Manifest::WEIGHTS)?, read(dir, Manifest::TOKENIZER)?).with_context(context)?;
    Classifier::from_files(&files, format).with_context(context)
}

/// Reads and verifies the model in `dir` (the built-in one if `None`), for CPU-only work
/// (`ttpmap vectors`).
pub fn load(dir: Option<&Path>) -> Result<Classifier> {
    Ok(load_tensors(dir, WeightFormat::F32)?.classifier)
}

/// The model and the encoder that runs it. After a GPU failure the GPU is dropped and
/// every later report runs on the CPU.
pub struct Engine {
    pub classifier: Classifier,
    /// A cell, so that a mapping borrowing `classifier` can still drop the GPU.
    gpu: RefCell<Option<GpuEncoder>>,
}

impl Engine {
    /// Loads the model and, unless `--backend cpu`, the GPU encoder; says on stderr which
    /// encoder runs and why.
    pub fn load(args: &ModelArgs) -> Result<Self> {
        let LoadedModel { classifier, tensors } = load_tensors(args.dir.as_deref(), args.weights)?;
        let gpu = match args.backend {
            Backend::Cpu => None,
            Backend::Auto | Backend::Wgpu => {
                match pollster::block_on(GpuEncoder::new(classifier.manifest.encoder.clone(), &tensors)) {
                    Ok(gpu) if args.backend == Backend::Auto && gpu.is_software() => {
                        eprintln!("backend: cpu (the only GPU adapter, {}, is a software one; --backend wgpu uses it)", gpu.adapter_name());
                        None
                    }
                    Ok(gpu) => {
                        eprintln!("backend: wgpu on {}", gpu.adapter_name());
                        Some(gpu)
                    }
                    Err(e) if args.backend == Backend::Wgpu => {
                        eprintln!("warning: the GPU encoder is unavailable ({e}); using the CPU");
                        None
                    }
                    Err(e) => {
                        eprintln!("backend: cpu ({e})");
                        None
                    }
                }
            }
        };
        if let (Some(gpu), Some(n)) = (&gpu, args.lose_gpu_after) {
            gpu.lose_device_after_batches(n);
        }
        Ok(Self { classifier, gpu: RefCell::new(gpu) })
    }

    /// "wgpu" or "cpu": what will run the next report.
    pub fn backend_name(&self) -> &'static str {
        if self.gpu.borrow().is_some() {
            "wgpu"
        } else {
            "cpu"
        }
    }

    /// Maps one report text with `scoring` (the classifier, or a mapping built on it): the
    /// classifier's encoder on the GPU when there is one, else or after a GPU failure on
    /// the CPU (which then finishes the report and maps every later one).
    pub fn map(
        &self,
        scoring: Scoring<'_>,
        text: &str,
        agg: AggregateConfig,
        batch: BatchConfig,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<ReportMapping> {
        let gpu = self.gpu.borrow();
        let (mapping, fallback) = pollster::block_on(ttpmap_gpu::map_with_fallback(gpu.as_ref(), scoring, text, agg, batch, progress))?;
        drop(gpu);
        if let Some(f) = fallback {
            eprintln!(
                "warning: the GPU failed after {} sentences ({}); the CPU finished the report and maps the rest",
                f.after_sentences, f.error
            );
            self.gpu.replace(None);
        }
        Ok(mapping)
    }

    /// [`Engine::map`] with the classifier over its own labels.
    pub fn map_report(&self, text: &str, agg: AggregateConfig, batch: BatchConfig, progress: &mut dyn FnMut(usize, usize)) -> Result<ReportMapping> {
        self.map(Scoring::Classifier(&self.classifier), text, agg, batch, progress)
    }
}
