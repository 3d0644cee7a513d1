//! Which encoder the inference worker runs: the GPU through WebGPU (ttpmap-gpu's wgpu
//! encoder) when the browser grants an adapter, else candle on the CPU. The analyst may
//! force either ([`BackendChoice`]; the page keeps it in localStorage). The worker says
//! what it actually runs on ([`BackendStatus`]), and the page shows it in an element with
//! `data-testid="backend"` and `data-backend="webgpu"` or `"cpu"`.
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
    /// Why it runs on the CPU when the choice allowed the GPU.
    pub reason: Option<CpuReason>,
}

/// Why the worker runs on the CPU although the analyst's choice allowed the GPU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum CpuReason {
    /// No GPU encoder could be made (no adapter, not enough memory, ...): `detail` says why.
    NoGpu { detail: String },
    /// The GPU failed during a job, after `after_sentences` sentences; the CPU finished it.
    GpuFailed { after_sentences: usize, detail: String },
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
}
