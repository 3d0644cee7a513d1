//! Adapter and device acquisition, the limits the encoder asks for, and the device's health:
//! uncaptured errors and device loss are recorded (never panicked on) and turned into `Err`s.

use std::sync::{Arc, Mutex};

use crate::GpuError;

/// Which adapter to prefer when several are offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PowerPreference {
    /// The discrete GPU where there is one (the default).
    #[default]
    HighPerformance,
    /// The integrated GPU, to save battery.
    LowPower,
}

/// Errors the device reported outside an error scope, and whether it was lost.
#[derive(Default)]
struct Health {
    lost: Option<String>,
    uncaptured: Option<String>,
}

/// A device and queue with their limits and health.
pub(crate) struct Gpu {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub limits: wgpu::Limits,
    pub adapter: wgpu::AdapterInfo,
    health: Arc<Mutex<Health>>,
}

impl Gpu {
    /// Requests an adapter and a device with the WebGPU default limits, raised to the
    /// adapter's maximum for buffer sizes (the word-embedding table alone is 47 MB).
    pub async fn new(power: PowerPreference) -> Result<Self, GpuError> {
        let instance = instance().await?;
        let power_preference = match power {
            PowerPreference::HighPerformance => wgpu::PowerPreference::HighPerformance,
            PowerPreference::LowPower => wgpu::PowerPreference::LowPower,
        };
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions { power_preference, ..Default::default() })
            .await
            .map_err(|e| GpuError::NoAdapter(e.to_string()))?;
        let offered = adapter.limits();
        let required_limits = wgpu::Limits {
            max_storage_buffer_binding_size: offered.max_storage_buffer_binding_size,
            max_buffer_size: offered.max_buffer_size,
            ..wgpu::Limits::default()
        };
        let desc = wgpu::DeviceDescriptor { label: Some("ttpmap encoder"), required_limits, ..Default::default() };
        let (device, queue) = adapter.request_device(&desc).await.map_err(|e| GpuError::Device(e.to_string()))?;
        let health = Arc::new(Mutex::new(Health::default()));
        let h = health.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let mut h = h.lock().unwrap_or_else(|p| p.into_inner());
            h.uncaptured.get_or_insert_with(|| e.to_string());
        }));
        let h = health.clone();
        device.set_device_lost_callback(move |reason, msg| {
            let mut h = h.lock().unwrap_or_else(|p| p.into_inner());
            h.lost = Some(format!("{reason:?}: {msg}"));
        });
        Ok(Self { limits: device.limits(), adapter: adapter.get_info(), device, queue, health })
    }

    /// `Err` if the device was lost or reported an error outside an error scope since the
    /// last check; the uncaptured error is cleared once reported.
    pub fn check(&self) -> Result<(), GpuError> {
        let mut h = self.health.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(lost) = &h.lost {
            return Err(GpuError::Lost(lost.clone()));
        }
        match h.uncaptured.take() {
            Some(e) => Err(GpuError::Validation(e)),
            None => Ok(()),
        }
    }

    /// Destroys the device now (freeing its memory) and marks it lost.
    pub fn destroy(&self) {
        self.health.lock().unwrap_or_else(|p| p.into_inner()).lost.get_or_insert_with(|| "destroyed by its owner".into());
        self.device.destroy();
    }

    /// Runs `f` inside validation and out-of-memory error scopes and reports what they caught.
    pub async fn scoped<T>(&self, f: impl FnOnce() -> Result<T, GpuError>) -> Result<T, GpuError> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let v = validation.pop().await;
        let o = oom.pop().await;
        self.check()?;
        if let Some(e) = o {
            return Err(GpuError::OutOfMemory(e.to_string()));
        }
        if let Some(e) = v {
            return Err(GpuError::Validation(e.to_string()));
        }
        out
    }
}

#[cfg(target_arch = "wasm32")]
async fn instance() -> Result<wgpu::Instance, GpuError> {
    // Instance::new panics where navigator.gpu is inaccessible; ask first.
    if !wgpu::util::is_browser_webgpu_supported().await {
        return Err(GpuError::NoAdapter("this browser offers no WebGPU adapter".into()));
    }
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = wgpu::Backends::BROWSER_WEBGPU;
    Ok(wgpu::Instance::new(desc))
}

#[cfg(not(target_arch = "wasm32"))]
async fn instance() -> Result<wgpu::Instance, GpuError> {
    // WGPU_BACKEND and friends are honoured, for debugging.
    Ok(wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env()))
}
