//! Which encoder the inference worker runs: the GPU through WebGPU (ttpmap-gpu's wgpu
//! encoder) when the browser grants an adapter, else candle on the CPU. The analyst may
//! force either; the choice is kept in localStorage. The worker says what it actually runs
//! on ([`BackendKind`]), and the page shows it in an element with `data-testid="backend"`
//! and `data-backend="webgpu"` or `"cpu"`.
//!
//! The worker falls back to the CPU on any GPU error, also part-way through a report (the
//! failed chunk is scored again on the CPU; nothing is lost), and then stays on the CPU.

use serde::{Deserialize, Serialize};

/// What the analyst asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendChoice {
    /// WebGPU when the browser grants an adapter, else the CPU.
    #[default]
    Auto,
    /// WebGPU (still the CPU when the browser has none).
    Webgpu,
    /// The CPU; WebGPU is never requested.
    Cpu,
}

impl BackendChoice {
    pub const ALL: [BackendChoice; 3] = [BackendChoice::Auto, BackendChoice::Webgpu, BackendChoice::Cpu];

    pub fn as_str(self) -> &'static str {
        match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Webgpu => "webgpu",
            BackendChoice::Cpu => "cpu",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn label(self) -> &'static str {
        match self {
            BackendChoice::Auto => "Auto",
            BackendChoice::Webgpu => "GPU (WebGPU)",
            BackendChoice::Cpu => "CPU",
        }
    }

    /// Whether the worker should request a WebGPU adapter.
    pub fn wants_gpu(self) -> bool {
        self != BackendChoice::Cpu
    }
}

/// What the worker runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BackendKind {
    Webgpu,
    Cpu,
}

impl BackendKind {
    /// The `data-backend` value.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Webgpu => "webgpu",
            BackendKind::Cpu => "cpu",
        }
    }
}

/// The worker's report of its backend, shown by the page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendStatus {
    pub kind: BackendKind,
    /// The adapter in words, on WebGPU.
    pub adapter: Option<String>,
    /// Why it runs on the CPU when the choice allowed the GPU (no adapter, a GPU failure).
    pub reason: Option<String>,
}

impl BackendStatus {
    /// The text of the backend indicator.
    pub fn describe(&self) -> String {
        match (self.kind, &self.adapter, &self.reason) {
            (BackendKind::Webgpu, Some(a), _) => format!("GPU (WebGPU: {a})"),
            (BackendKind::Webgpu, None, _) => "GPU (WebGPU)".into(),
            (BackendKind::Cpu, _, Some(r)) => format!("CPU ({r})"),
            (BackendKind::Cpu, _, None) => "CPU".into(),
        }
    }
}

const CHOICE_KEY: &str = "ttpmap.backend";

/// The analyst's saved choice (Auto when none is saved or storage is unavailable).
pub fn load_choice() -> BackendChoice {
    local_storage()
        .and_then(|s| s.get_item(CHOICE_KEY).ok().flatten())
        .and_then(|v| BackendChoice::parse(&v))
        .unwrap_or_default()
}

pub fn save_choice(choice: BackendChoice) {
    if let Some(s) = local_storage() {
        if s.set_item(CHOICE_KEY, choice.as_str()).is_err() {
            leptos::logging::warn!("ttpmap: could not keep the backend choice");
        }
    }
}

/// For tests of the fallback in the browser: with `ttpmap.debug.lose-gpu-after` = N in
/// localStorage, the worker destroys its GPU device after N batches.
pub fn debug_lose_gpu_after() -> Option<usize> {
    local_storage()?.get_item("ttpmap.debug.lose-gpu-after").ok().flatten()?.parse().ok()
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The worker's side: the GPU encoder (when the choice allows and the browser grants an
/// adapter) and the model's f32 weights it is built from.
#[derive(Default)]
pub struct WorkerGpu {
    choice: std::cell::Cell<BackendChoice>,
    lose_after: std::cell::Cell<Option<usize>>,
    tensors: std::cell::RefCell<Option<std::rc::Rc<std::collections::HashMap<String, candle_core::Tensor>>>>,
    encoder: std::cell::RefCell<Option<std::rc::Rc<ttpmap_gpu::GpuEncoder>>>,
}

impl WorkerGpu {
    /// The encoder the next job runs on, if it is the GPU.
    pub fn encoder(&self) -> Option<std::rc::Rc<ttpmap_gpu::GpuEncoder>> {
        self.encoder.borrow().clone()
    }

    pub fn set_choice(&self, choice: BackendChoice, lose_after: Option<usize>) {
        self.choice.set(choice);
        self.lose_after.set(lose_after);
    }

    /// Keeps the model's weights (shared with the classifier) for building the GPU encoder.
    pub fn set_weights(&self, tensors: std::collections::HashMap<String, candle_core::Tensor>) {
        *self.tensors.borrow_mut() = Some(std::rc::Rc::new(tensors));
    }

    /// Brings the encoder in line with the choice: requests WebGPU and uploads the model
    /// when the GPU is wanted and not there yet, drops it when the CPU is forced. Returns
    /// what the model runs on now; `None` before the model is loaded.
    pub async fn apply(&self, cfg: &ttpmap_mapper::bert::BertConfig) -> Option<BackendStatus> {
        let cpu = |reason: Option<String>| BackendStatus { kind: BackendKind::Cpu, adapter: None, reason };
        if !self.choice.get().wants_gpu() {
            // Dropped, not destroyed: a job still running on it finishes there, and its
            // memory is freed when that job lets go of it.
            self.encoder.borrow_mut().take();
            return Some(cpu(None));
        }
        let existing = self.encoder();
        let encoder = match existing {
            Some(e) => e,
            None => {
                let tensors = self.tensors.borrow().clone()?;
                match ttpmap_gpu::GpuEncoder::new(cfg.clone(), &tensors).await {
                    Ok(e) => {
                        let e = std::rc::Rc::new(e);
                        *self.encoder.borrow_mut() = Some(e.clone());
                        e
                    }
                    Err(e) => return Some(cpu(Some(e.to_string()))),
                }
            }
        };
        if let Some(n) = self.lose_after.get() {
            encoder.lose_device_after_batches(n);
        }
        Some(BackendStatus { kind: BackendKind::Webgpu, adapter: Some(encoder.adapter_name()), reason: None })
    }

    /// The GPU failed during a job: it is dropped, the CPU runs from now on.
    pub fn fell_back(&self, fallback: &ttpmap_gpu::Fallback) -> BackendStatus {
        self.encoder.borrow_mut().take();
        BackendStatus {
            kind: BackendKind::Cpu,
            adapter: None,
            reason: Some(format!(
                "the GPU failed after {} sentences ({}); the CPU finished the report",
                fallback.after_sentences, fallback.error
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choices_round_trip_through_their_names() {
        for c in BackendChoice::ALL {
            assert_eq!(BackendChoice::parse(c.as_str()), Some(c));
        }
        assert_eq!(BackendChoice::parse("tpu"), None);
        assert!(!BackendChoice::Cpu.wants_gpu() && BackendChoice::Auto.wants_gpu());
    }

    #[test]
    fn the_indicator_names_the_adapter_or_the_reason() {
        let gpu = BackendStatus { kind: BackendKind::Webgpu, adapter: Some("SwiftShader".into()), reason: None };
        assert_eq!(gpu.describe(), "GPU (WebGPU: SwiftShader)");
        let cpu = BackendStatus { kind: BackendKind::Cpu, adapter: None, reason: Some("no WebGPU adapter".into()) };
        assert_eq!(cpu.describe(), "CPU (no WebGPU adapter)");
    }
}
