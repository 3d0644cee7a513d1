//! What the analyst reads about the worker: its failures ([`ModelError`], [`JobError`]),
//! what the model runs on ([`BackendStatus`]) and the backend choices, worded here (the
//! worker sends them as data).

use ttpmap_web_protocol::{BackendChoice, BackendKind, BackendStatus, CpuReason, JobError, ModelError};

/// Why the model could not be loaded, and what to do.
pub fn model_error(error: &ModelError) -> String {
    match error {
        ModelError::WorkerStart { detail } => format!("The mapping worker could not start: {detail}"),
        ModelError::Manifest { detail } => format!("The model's manifest is not valid: {detail}"),
        ModelError::MissingFile { name } => format!("The model's manifest lists no {name}."),
        ModelError::Download { detail } => {
            format!("Could not download the model ({detail}). Check the connection and retry.")
        }
        ModelError::Corrupted { detail } => {
            format!("The downloaded model is corrupted and was not used: {detail}. Retry to download it again.")
        }
        ModelError::Load { detail } => format!("The model could not be loaded: {detail}"),
    }
}

/// Why a job failed.
pub fn job_error(error: &JobError) -> String {
    match error {
        JobError::Vectors { detail } => format!("The technique vectors are not valid: {detail}"),
        JobError::Text { detail } => format!("The model failed on this text: {detail}"),
        JobError::BundleTexts { detail } => format!("The model failed on the bundle's texts: {detail}"),
        JobError::Rows { detail } => format!("The workers' technique vectors do not fit together: {detail}"),
    }
}

/// The backend indicator's text.
pub fn backend_status(status: &BackendStatus) -> String {
    match (status.kind, &status.adapter, &status.reason) {
        (BackendKind::Webgpu, Some(a), _) => format!("GPU (WebGPU: {a})"),
        (BackendKind::Webgpu, None, _) => "GPU (WebGPU)".into(),
        (BackendKind::Cpu, _, Some(r)) => format!("CPU ({})", cpu_reason(r)),
        (BackendKind::Cpu, _, None) => "CPU".into(),
    }
}

fn cpu_reason(reason: &CpuReason) -> String {
    match reason {
        CpuReason::NoGpu { detail } => detail.clone(),
        CpuReason::GpuFailed { after_sentences, detail } => {
            format!("the GPU failed after {after_sentences} sentences ({detail}); the CPU finished the report")
        }
    }
}

/// The backend selector's label of a choice.
pub fn backend_choice(choice: BackendChoice) -> &'static str {
    match choice {
        BackendChoice::Auto => "Auto",
        BackendChoice::Webgpu => "GPU (WebGPU)",
        BackendChoice::Cpu => "CPU",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_indicator_names_the_adapter_or_the_reason() {
        let gpu = BackendStatus { kind: BackendKind::Webgpu, adapter: Some("SwiftShader".into()), reason: None };
        assert_eq!(backend_status(&gpu), "GPU (WebGPU: SwiftShader)");
        let cpu = BackendStatus {
            kind: BackendKind::Cpu,
            adapter: None,
            reason: Some(CpuReason::NoGpu { detail: "no WebGPU adapter".into() }),
        };
        assert_eq!(backend_status(&cpu), "CPU (no WebGPU adapter)");
        let fell = BackendStatus {
            kind: BackendKind::Cpu,
            adapter: None,
            reason: Some(CpuReason::GpuFailed { after_sentences: 12, detail: "device lost".into() }),
        };
        assert_eq!(
            backend_status(&fell),
            "CPU (the GPU failed after 12 sentences (device lost); the CPU finished the report)"
        );
    }

    #[test]
    fn download_failures_say_to_retry_and_corruption_says_it_was_not_used() {
        // The browser tests look for these words.
        let download = model_error(&ModelError::Download { detail: "model/model.gguf: HTTP 503".into() });
        assert!(download.starts_with("Could not download the model (model/model.gguf: HTTP 503)"), "{download}");
        assert!(download.ends_with("retry."), "{download}");
        let corrupted = model_error(&ModelError::Corrupted { detail: "sha256 differs".into() });
        assert!(corrupted.contains("corrupted and was not used: sha256 differs"), "{corrupted}");
    }
}
