//! The worker's message loop: reads [`ToWorker`] messages, keeps the model, the matrix
//! mapped onto and the GPU choice, and runs one job at a time ([`crate::map_job`],
//! [`crate::encode_job`]).
//!
//! The worker is single-threaded, so a Cancel (or a new job) is only read between chunks:
//! a job calls [`Engine::still_wanted`] before each chunk, which yields to the event loop
//! ([`yield_now`]) and says whether the job is still the one the page wants. A new job
//! replaces the running one; one still waiting for the model is answered `Cancelled` at
//! once when cancelled.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use ttpmap_mapper::Classifier;
use ttpmap_web_protocol::{FromWorker, JobError, JobEvent, JobId, ModelEvent, Shard, Task, ToWorker, Wire};

use crate::gpu::WorkerGpu;
use crate::map_job::Similarity;

/// A job waiting for the model or for the running job to stop.
pub struct Job {
    pub id: JobId,
    pub shard: Shard,
    pub task: Task,
}

enum ModelSlot {
    Absent,
    Loading,
    Ready(Rc<Classifier>),
}

/// Everything the worker holds between messages.
pub struct Engine {
    pub scope: DedicatedWorkerGlobalScope,
    model: RefCell<ModelSlot>,
    /// The job the page wants answered; `None` after a cancel.
    current: Cell<Option<JobId>>,
    /// The next job to run, once the model is ready and the running job has stopped.
    pending: RefCell<Option<Job>>,
    /// The matrix mapped by similarity (`Ok(None)`: Enterprise, the classifier), or why
    /// the one the page chose cannot be used.
    pub similarity: RefCell<Result<Option<Rc<Similarity>>, JobError>>,
    /// Whether the job loop is running.
    running: Cell<bool>,
    /// The GPU encoder, when WebGPU is chosen and granted.
    pub gpu: WorkerGpu,
}

/// Starts the worker: listens for [`ToWorker`] messages. Called by the `worker` binary.
pub fn start() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let engine = Rc::new(Engine {
        scope: scope.clone(),
        model: RefCell::new(ModelSlot::Absent),
        current: Cell::new(None),
        pending: RefCell::new(None),
        similarity: RefCell::new(Ok(None)),
        running: Cell::new(false),
        gpu: WorkerGpu::default(),
    });
    let handler = {
        let engine = engine.clone();
        Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let msg = Wire::from_js(&ev.data())
                .ok_or_else(|| "a message that is not one of ours".to_string())
                .and_then(|wire| ToWorker::from_wire(wire).map_err(|e| e.to_string()));
            match msg {
                Ok(msg) => engine.clone().receive(msg),
                Err(e) => web_sys::console::error_1(&format!("ttpmap worker: {e}").into()),
            }
        })
    };
    scope.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    handler.forget();
    engine.post(FromWorker::Started);
}

impl Engine {
    pub fn post(&self, msg: FromWorker) {
        let (value, transfer) = msg.to_wire().to_js();
        if let Err(e) = self.scope.post_message_with_transfer(&value, &transfer) {
            web_sys::console::error_2(&"ttpmap worker: could not post a message".into(), &e);
        }
    }

    /// Tells the page about `job`.
    pub fn post_job(&self, job: JobId, event: JobEvent) {
        self.post(FromWorker::Job { job, event });
    }

    pub fn post_model(&self, event: ModelEvent) {
        self.post(FromWorker::Model { event });
    }

    pub fn now(&self) -> f64 {
        self.scope
            .performance()
            .map_or_else(js_sys::Date::now, |p| p.now())
    }

    fn receive(self: Rc<Self>, msg: ToWorker) {
        match msg {
            ToWorker::LoadModel => self.ensure_model(),
            ToWorker::SetBackend {
                choice,
                lose_gpu_after,
            } => {
                self.gpu.set_choice(choice, lose_gpu_after);
                // Before the model is loaded, the choice applies when it is.
                if let Some(classifier) = self.classifier() {
                    let engine = self.clone();
                    spawn_local(async move {
                        if let Some(status) = engine.gpu.apply(&classifier.manifest.encoder).await {
                            engine.post(FromWorker::Backend { status });
                        }
                    });
                }
            }
            ToWorker::Run { job, shard, task } => {
                self.current.set(Some(job));
                *self.pending.borrow_mut() = Some(Job { id: job, shard, task });
                self.ensure_model();
                self.drive();
            }
            ToWorker::SetMatrix { target } => {
                let parsed = match target {
                    None => Ok(None),
                    Some(t) => Similarity::parse(t).map(|s| Some(Rc::new(s))),
                };
                if let Err(e) = &parsed {
                    web_sys::console::error_1(&format!("ttpmap worker: the matrix cannot be used: {e:?}").into());
                }
                *self.similarity.borrow_mut() = parsed;
            }
            ToWorker::Cancel { job } => {
                if self.current.get() == Some(job) {
                    self.current.set(None);
                }
                // A job still waiting for the model is answered at once.
                let waiting = self.pending.borrow().as_ref().is_some_and(|j| j.id == job);
                if waiting {
                    self.pending.borrow_mut().take();
                    self.post_job(job, JobEvent::Cancelled);
                }
            }
        }
    }

    fn classifier(&self) -> Option<Rc<Classifier>> {
        match &*self.model.borrow() {
            ModelSlot::Ready(c) => Some(c.clone()),
            _ => None,
        }
    }

    /// Starts loading the model unless it is loaded or loading.
    fn ensure_model(self: &Rc<Self>) {
        if !matches!(*self.model.borrow(), ModelSlot::Absent) {
            return;
        }
        *self.model.borrow_mut() = ModelSlot::Loading;
        let engine = self.clone();
        spawn_local(async move {
            let started = engine.now();
            match engine.load_model().await {
                Ok(classifier) => {
                    // The GPU first (when chosen), so that the first job runs on it.
                    if let Some(status) = engine.gpu.apply(&classifier.manifest.encoder).await {
                        engine.post(FromWorker::Backend { status });
                    }
                    let m = &classifier.manifest;
                    engine.post_model(ModelEvent::Ready {
                        threshold: m.threshold,
                        labels: m.labels.len(),
                        attack_version: m.attack_version.clone(),
                        load_ms: engine.now() - started,
                    });
                    *engine.model.borrow_mut() = ModelSlot::Ready(Rc::new(classifier));
                    engine.drive();
                }
                Err(error) => {
                    *engine.model.borrow_mut() = ModelSlot::Absent;
                    engine.pending.borrow_mut().take();
                    engine.post_model(ModelEvent::Failed { error });
                }
            }
        });
    }

    /// Runs pending jobs one after another, once the model is ready.
    fn drive(self: &Rc<Self>) {
        if self.running.get() || self.classifier().is_none() {
            return;
        }
        self.running.set(true);
        let engine = self.clone();
        spawn_local(async move {
            loop {
                let Some(classifier) = engine.classifier() else {
                    break;
                };
                let Some(next) = engine.pending.borrow_mut().take() else {
                    break;
                };
                match next.task {
                    Task::Map { text } => engine.map(&classifier, next.id, &text, next.shard).await,
                    Task::Encode { texts } => engine.encode(&classifier, next.id, &texts, next.shard).await,
                }
            }
            engine.running.set(false);
        });
    }

    /// Lets queued messages (a Cancel, a new job) in; says whether `job` is still wanted,
    /// answering `Cancelled` when it was cancelled rather than replaced.
    pub async fn still_wanted(&self, job: JobId) -> bool {
        yield_now(&self.scope).await;
        if self.current.get() == Some(job) {
            return true;
        }
        if self.pending.borrow().is_none() {
            self.post_job(job, JobEvent::Cancelled);
        }
        false
    }
}

/// Resolves after the tasks queued before it, so the page's messages (a Cancel) are
/// handled first. A MessageChannel message rather than `setTimeout(0)`, which browsers
/// clamp to 4 ms when nested (hundreds of chunks per report).
pub async fn yield_now(scope: &DedicatedWorkerGlobalScope) {
    let promise = Promise::new(&mut |resolve, _| match web_sys::MessageChannel::new() {
        Ok(channel) => {
            channel.port1().set_onmessage(Some(&resolve));
            let _ = channel.port2().post_message(&JsValue::NULL);
        }
        Err(_) => {
            let _ = scope.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
        }
    });
    let _ = JsFuture::from(promise).await;
}
