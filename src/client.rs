//! The page's handle on the inference worker: starts it, sends [`ToWorker`] messages and
//! hands each [`FromWorker`] answer (or the worker's death) to a callback.
//!
//! The worker is started on the first Map, not at page load: a visitor who only reads a
//! saved mapping or opens a layer never downloads the model code.
//!
//! A worker drops messages that arrive before its wasm has set its message handler, so
//! messages are queued here until the worker says [`FromWorker::Started`].

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker};

use crate::protocol::{FromWorker, ToWorker};

/// public/worker-boot.js, which loads trunk's `worker.js` and `worker_bg.wasm` (worker
/// builds are not hashed). Relative: the site may live under any path.
const WORKER_URL: &str = "worker-boot.js";

/// What the worker said, or that it died.
pub enum WorkerEvent {
    Message(FromWorker),
    /// The worker script failed to load or threw; it must be started again.
    Crashed(String),
}

/// A running inference worker. Dropping it terminates the worker.
pub struct ModelWorker {
    worker: Worker,
    /// Messages waiting for the worker to start; `None` once it has.
    queue: Rc<RefCell<Option<Vec<String>>>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

impl ModelWorker {
    /// Starts the worker; `on_event` receives everything it says.
    pub fn spawn(on_event: impl Fn(WorkerEvent) + 'static) -> Result<Self, String> {
        let worker = Worker::new(WORKER_URL)
            .map_err(|e| format!("the mapping worker could not start: {e:?}"))?;
        let on_event = Rc::new(on_event);
        let queue = Rc::new(RefCell::new(Some(Vec::<String>::new())));
        let on_message = {
            let on_event = on_event.clone();
            let queue = queue.clone();
            let worker = worker.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
                let Some(json) = ev.data().as_string() else {
                    return;
                };
                match FromWorker::from_json(&json) {
                    Ok(FromWorker::Started) => {
                        for msg in queue.borrow_mut().take().unwrap_or_default() {
                            post(&worker, &msg);
                        }
                    }
                    Ok(msg) => on_event(WorkerEvent::Message(msg)),
                    Err(e) => leptos::logging::error!("{e}"),
                }
            })
        };
        let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |ev: ErrorEvent| {
            ev.prevent_default();
            let message = ev.message();
            let message = if message.is_empty() {
                "the mapping worker could not be loaded".to_string()
            } else {
                message
            };
            on_event(WorkerEvent::Crashed(message));
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(ModelWorker {
            worker,
            queue,
            _on_message: on_message,
            _on_error: on_error,
        })
    }

    /// Sends `msg` now, or once the worker has started.
    pub fn send(&self, msg: &ToWorker) {
        let json = msg.to_json();
        match self.queue.borrow_mut().as_mut() {
            Some(waiting) => waiting.push(json),
            None => post(&self.worker, &json),
        }
    }
}

fn post(worker: &Worker, json: &str) {
    if let Err(e) = worker.post_message(&JsValue::from_str(json)) {
        leptos::logging::error!("could not message the mapping worker: {e:?}");
    }
}

impl Drop for ModelWorker {
    fn drop(&mut self) {
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.terminate();
    }
}
