//! Awaiting a buffer mapping without blocking: natively the device is polled until the map
//! callback has run; in the browser the callback runs from the event loop and wakes the future.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use crate::GpuError;

#[derive(Default)]
struct Slot {
    result: Option<Result<(), wgpu::BufferAsyncError>>,
    waker: Option<Waker>,
}

/// Resolves when `map_async` on a buffer has completed.
struct Mapped(Arc<Mutex<Slot>>);

impl Future for Mapped {
    type Output = Result<(), wgpu::BufferAsyncError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match slot.result.take() {
            Some(r) => Poll::Ready(r),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Maps the first `bytes` of `buffer` for reading, waits, and copies them out as f32s.
pub(crate) async fn read_f32(device: &wgpu::Device, buffer: &wgpu::Buffer, bytes: u64) -> Result<Vec<f32>, GpuError> {
    let slot = Arc::new(Mutex::new(Slot::default()));
    let shared = slot.clone();
    buffer.map_async(wgpu::MapMode::Read, 0..bytes, move |r| {
        let mut s = shared.lock().unwrap_or_else(|e| e.into_inner());
        s.result = Some(r);
        if let Some(w) = s.waker.take() {
            w.wake();
        }
    });
    // Natively nothing drives the callback but polling; in the browser this returns at once.
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| GpuError::Readback(format!("while waiting for the GPU: {e}")))?;
    Mapped(slot).await.map_err(|e| GpuError::Readback(e.to_string()))?;
    let out = {
        let view = buffer.get_mapped_range(0..bytes).map_err(|e| GpuError::Readback(e.to_string()))?;
        bytemuck::pod_collect_to_vec::<u8, f32>(&view)
    };
    buffer.unmap();
    Ok(out)
}
