//! The GPU encoder's lifecycle in the worker: built from the model's f32 weights when the
//! analyst's choice allows the GPU and the browser grants a WebGPU adapter, dropped when
//! the CPU is forced or after a GPU failure (the CPU takes over; see `map_job`).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use candle_core::Tensor;
use ttpmap_gpu::{Fallback, GpuEncoder};
use ttpmap_mapper::bert::BertConfig;
use ttpmap_web_protocol::{BackendChoice, BackendKind, BackendStatus, CpuReason};

/// The GPU encoder (when the choice allows and the browser grants an adapter) and the
/// model's f32 weights it is built from.
#[derive(Default)]
pub struct WorkerGpu {
    choice: Cell<BackendChoice>,
    lose_after: Cell<Option<usize>>,
    tensors: RefCell<Option<Rc<HashMap<String, Tensor>>>>,
    encoder: RefCell<Option<Rc<GpuEncoder>>>,
}

impl WorkerGpu {
    /// The encoder the next job runs on, if it is the GPU.
    pub fn encoder(&self) -> Option<Rc<GpuEncoder>> {
        self.encoder.borrow().clone()
    }

    pub fn set_choice(&self, choice: BackendChoice, lose_after: Option<usize>) {
        self.choice.set(choice);
        self.lose_after.set(lose_after);
    }

    /// Keeps the model's weights (shared with the classifier) for building the GPU encoder.
    pub fn set_weights(&self, tensors: HashMap<String, Tensor>) {
        *self.tensors.borrow_mut() = Some(Rc::new(tensors));
    }

    /// Brings the encoder in line with the choice: requests WebGPU and uploads the model
    /// when the GPU is wanted and not there yet, drops it when the CPU is forced. Returns
    /// what the model runs on now; `None` before the model is loaded.
    pub async fn apply(&self, cfg: &BertConfig) -> Option<BackendStatus> {
        let cpu = |reason: Option<CpuReason>| BackendStatus { kind: BackendKind::Cpu, adapter: None, reason };
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
                match GpuEncoder::new(cfg.clone(), &tensors).await {
                    Ok(e) => {
                        let e = Rc::new(e);
                        *self.encoder.borrow_mut() = Some(e.clone());
                        e
                    }
                    Err(e) => return Some(cpu(Some(CpuReason::NoGpu { detail: e.to_string() }))),
                }
            }
        };
        if let Some(n) = self.lose_after.get() {
            encoder.lose_device_after_batches(n);
        }
        Some(BackendStatus { kind: BackendKind::Webgpu, adapter: Some(encoder.adapter_name()), reason: None })
    }

    /// The GPU failed during a job: it is dropped, the CPU runs from now on.
    pub fn fell_back(&self, fallback: &Fallback) -> BackendStatus {
        self.encoder.borrow_mut().take();
        BackendStatus {
            kind: BackendKind::Cpu,
            adapter: None,
            reason: Some(CpuReason::GpuFailed {
                after_sentences: fallback.after_sentences,
                detail: fallback.error.to_string(),
            }),
        }
    }
}
