//! The page's handle on the inference workers: starts them, sends [`ToWorker`] messages and
//! hands each [`FromWorker`] answer (or a worker's death) to a callback, as if one worker
//! answered.
//!
//! Where the machine has the cores (and the memory), several workers share a report
//! ([`plan_workers`]): each gets the text and its [`Shard`], maps the sentences dealt to
//! it, and the page merges their progress and mappings ([`crate::gather::Gather`]), so
//! the heatmap fills in from all of them as they go, Cancel stops all, and the result is
//! the one a single worker gives. Each worker holds its own copy of the model (wasm has
//! no shared memory without cross-origin isolation). The first worker loads the model
//! (downloading it on a first visit); the others start once it is ready, so they read it
//! from the Cache API: one download only.
//!
//! The workers start on the first Map, not at page load: a visitor who only reads a
//! saved mapping or opens a layer never downloads the model code.
//!
//! A worker drops messages that arrive before its wasm has set its message handler, so
//! messages are queued here until it says [`FromWorker::Started`].

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker};

use ttpmap_web_protocol::{
    query_param, BackendChoice, BackendKind, FromWorker, JobError, JobEvent, JobId, ModelEvent, Shard, Task, ToWorker,
    Wire,
};

use crate::gather::{EncodeGather, End, Gather, Outcome};

/// public/worker-boot.js, which loads trunk's `worker.js` and `worker_bg.wasm` (worker
/// builds are not hashed). Relative: the site may live under any path.
const WORKER_URL: &str = "worker-boot.js";

/// Most workers sharing a report.
pub const MAX_WORKERS: usize = 4;

/// How many workers share a report: one per core (`navigator.hardwareConcurrency`), at
/// most one per 512 MB of device memory (`navigator.deviceMemory`, in GB, where the
/// browser tells it; each worker holds its own model, about 200 MB with f32 weights),
/// at most [`MAX_WORKERS`], at least one.
pub fn plan_workers(cores: usize, device_memory_gb: Option<f64>) -> usize {
    let by_memory = device_memory_gb
        .filter(|gb| gb.is_finite() && *gb > 0.0)
        .map_or(usize::MAX, |gb| (gb * 2.0).floor() as usize);
    cores.min(by_memory).clamp(1, MAX_WORKERS)
}

/// The worker count for this page: `?workers=N` in the page's URL (for benchmarks and
/// tests), else [`plan_workers`] from what the browser says about the machine.
fn worker_count(search: &str) -> usize {
    if let Some(n) = query_param(search, "workers").and_then(|n| n.parse::<usize>().ok()) {
        return n.clamp(1, MAX_WORKERS);
    }
    let Some(window) = web_sys::window() else {
        return 1;
    };
    let navigator = window.navigator();
    let cores = navigator.hardware_concurrency();
    let cores = if cores.is_finite() && cores >= 1.0 {
        cores as usize
    } else {
        1
    };
    let memory = js_sys::Reflect::get(&navigator, &"deviceMemory".into())
        .ok()
        .and_then(|m| m.as_f64());
    plan_workers(cores, memory)
}

/// The workers' script URL, passing on the page's `?weights=` (f32, q8 or i16) if given.
fn worker_url(search: &str) -> String {
    match query_param(search, "weights") {
        Some(w) if w.chars().all(|c| c.is_ascii_alphanumeric()) => {
            format!("{WORKER_URL}?weights={w}")
        }
        _ => WORKER_URL.to_string(),
    }
}

/// What the workers said, or that one died.
pub enum WorkerEvent {
    Message(FromWorker),
    /// A worker script failed to load or threw; the workers must be started again.
    Crashed(String),
}

/// The running inference workers. Dropping it terminates them.
pub struct ModelWorker {
    inner: Rc<RefCell<Pool>>,
}

struct Pool {
    count: usize,
    url: String,
    /// Slot `i` holds worker `i` once started; only the first starts at once.
    workers: Vec<Option<OneWorker>>,
    /// The messages for each worker not started yet, in order.
    waiting: Vec<Vec<ToWorker>>,
    /// The job whose answers are being gathered.
    gather: Option<(JobId, Gather)>,
    /// The encoding job whose rows are being gathered (a user's bundle).
    encoding: Option<(JobId, EncodeGather)>,
    /// Whether the first worker runs the model on the GPU (WebGPU): then it maps whole
    /// reports alone, since CPU workers beside it would only slow the GPU's host side.
    /// The other workers always run on the CPU (one GPU device per page is enough).
    gpu: bool,
    on_event: Rc<dyn Fn(WorkerEvent)>,
    weak: Weak<RefCell<Pool>>,
}

impl ModelWorker {
    /// Starts the (first) worker; `on_event` receives everything the workers say.
    pub fn spawn(on_event: impl Fn(WorkerEvent) + 'static) -> Result<Self, String> {
        let search = web_sys::window()
            .and_then(|w| w.location().search().ok())
            .unwrap_or_default();
        let count = worker_count(&search);
        let inner = Rc::new_cyclic(|weak| {
            RefCell::new(Pool {
                count,
                url: worker_url(&search),
                workers: (0..count).map(|_| None).collect(),
                waiting: vec![Vec::new(); count],
                gather: None,
                encoding: None,
                gpu: false,
                on_event: Rc::new(on_event),
                weak: weak.clone(),
            })
        });
        inner.borrow_mut().start(0)?;
        Ok(ModelWorker { inner })
    }

    /// Sends `msg` to every worker (a job with each its shard), now or once started.
    pub fn send(&self, msg: ToWorker) {
        let answer = self.inner.borrow_mut().send(&msg);
        if let Some(answer) = answer {
            // Answered later, as a worker would: the page is inside its own handler now.
            let on_event = self.inner.borrow().on_event.clone();
            wasm_bindgen_futures::spawn_local(async move {
                on_event(WorkerEvent::Message(answer));
            });
        }
    }
}

impl Pool {
    fn start(&mut self, i: usize) -> Result<(), String> {
        let weak = self.weak.clone();
        let worker = OneWorker::spawn(&self.url, move |ev| {
            if let Some(pool) = weak.upgrade() {
                let out = pool.borrow_mut().receive(i, ev);
                // Borrow released: the page may send (or drop the pool) from its handler.
                let on_event = pool.borrow().on_event.clone();
                for ev in out {
                    on_event(ev);
                }
            }
        })?;
        if i > 0 {
            worker.send(ToWorker::SetBackend {
                choice: BackendChoice::Cpu,
                lose_gpu_after: None,
            });
        }
        for msg in std::mem::take(&mut self.waiting[i]) {
            worker.send(msg);
        }
        self.workers[i] = Some(worker);
        Ok(())
    }

    /// Sends `msg`; returns the answer to the page when sending it ended the job (a
    /// Cancel that only workers not started yet had to hear).
    fn send(&mut self, msg: &ToWorker) -> Option<FromWorker> {
        let mut answer = None;
        let per_worker: Vec<ToWorker> = match msg {
            ToWorker::Run { job, task, .. } => {
                let count = if self.gpu { 1 } else { self.count };
                match task {
                    Task::Map { .. } => self.gather = Some((*job, Gather::new(count))),
                    Task::Encode { .. } => self.encoding = Some((*job, EncodeGather::new(count))),
                }
                (0..count)
                    .map(|index| msg.with_shard(Shard { index, count }))
                    .collect()
            }
            // The analyst's choice is the first worker's; the others stay on the CPU.
            ToWorker::SetBackend { .. } => vec![msg.clone()],
            other => vec![other.clone(); self.count],
        };
        for (i, msg) in per_worker.into_iter().enumerate() {
            match (&self.workers[i], &msg) {
                (Some(w), _) => w.send(msg),
                // A worker not started yet never runs the cancelled job: it has ended.
                (None, ToWorker::Cancel { job }) => {
                    let before = self.waiting[i].len();
                    self.waiting[i].retain(|m| !matches!(m, ToWorker::Run { job: j, .. } if j == job));
                    if self.waiting[i].len() < before {
                        if let Some((j, g)) = &mut self.gather {
                            if j == job {
                                answer = outcome(*job, g.end(i, End::Cancelled)).or(answer);
                            }
                        }
                    }
                }
                (None, _) => {
                    // A new job replaces a waiting one, as it would in a running worker.
                    if matches!(msg, ToWorker::Run { .. }) {
                        self.waiting[i].retain(|m| !matches!(m, ToWorker::Run { .. }));
                    }
                    self.waiting[i].push(msg);
                }
            }
        }
        answer
    }

    /// Worker `i` said `ev`: what the page is told.
    fn receive(&mut self, i: usize, ev: WorkerEvent) -> Vec<WorkerEvent> {
        let msg = match ev {
            WorkerEvent::Message(msg) => msg,
            crashed => return vec![crashed],
        };
        let forward = match msg {
            FromWorker::Model { event } => self.model_event(i, event).map(|event| FromWorker::Model { event }),
            // The page shows what the first worker runs on (the others run on the CPU).
            FromWorker::Backend { .. } if i > 0 => None,
            FromWorker::Backend { status } => {
                self.gpu = status.kind == BackendKind::Webgpu;
                Some(FromWorker::Backend { status })
            }
            FromWorker::Job { job, event } => self.job_event(i, job, event).map(|event| FromWorker::Job { job, event }),
            other => Some(other),
        };
        let mut out = Vec::new();
        if let (0, Some(FromWorker::Model { event: ModelEvent::Ready { .. } })) = (i, &forward) {
            // The model is cached now: start the others.
            for k in 1..self.count {
                if self.workers[k].is_none() {
                    if let Err(e) = self.start(k) {
                        out.push(WorkerEvent::Crashed(e));
                        return out;
                    }
                }
            }
        }
        out.extend(forward.map(WorkerEvent::Message));
        out
    }

    /// What the page hears of worker `i`'s model: only the first worker loads the model
    /// from the network, and the others' loads (from the cache) would make the progress
    /// bar jump.
    fn model_event(&mut self, i: usize, event: ModelEvent) -> Option<ModelEvent> {
        match event {
            ModelEvent::Progress { .. } | ModelEvent::Verifying if i > 0 => None,
            event => Some(event),
        }
    }

    /// What the page hears of worker `i`'s part of `job`: the workers' answers gathered
    /// when the job is the one being gathered (else passed on; the page ignores answers
    /// of jobs it no longer awaits).
    fn job_event(&mut self, i: usize, job: JobId, event: JobEvent) -> Option<JobEvent> {
        let gather = match &mut self.gather {
            Some((j, g)) if *j == job => Some(g),
            _ => None,
        };
        let encoding = match &mut self.encoding {
            Some((j, g)) if *j == job => Some(g),
            _ => None,
        };
        match (event, gather, encoding) {
            (JobEvent::MapProgress { done, total }, Some(g), _) => {
                let (done, total) = g.progress(i, done, total);
                Some(JobEvent::MapProgress { done, total })
            }
            (JobEvent::Partial { mapping }, Some(g), _) => Some(JobEvent::Partial { mapping: g.partial(i, mapping) }),
            (JobEvent::Done { mapping, ms }, Some(g), _) => outcome_event(g.end(i, End::Done { mapping, ms })),
            (JobEvent::Cancelled, Some(g), _) => outcome_event(g.end(i, End::Cancelled)),
            (JobEvent::EncodeProgress { done, total }, _, Some(g)) => {
                Some(JobEvent::EncodeProgress { done: g.progress(i, done), total })
            }
            (JobEvent::Encoded { dim, rows }, _, Some(g)) => match g.finish(i, dim, rows) {
                Ok(Some(all)) => {
                    self.encoding = None;
                    Some(JobEvent::Encoded { dim: all.dim, rows: all.rows })
                }
                Ok(None) => None,
                Err(detail) => Some(JobEvent::Failed { error: JobError::Rows { detail } }),
            },
            (JobEvent::Cancelled, _, Some(_)) => {
                self.encoding = None;
                Some(JobEvent::Cancelled)
            }
            // An encoding job's progress and rows only count while it is gathered.
            (JobEvent::EncodeProgress { .. } | JobEvent::Encoded { .. }, _, None) => None,
            (event, _, _) => Some(event),
        }
    }
}

fn outcome_event(o: Outcome) -> Option<JobEvent> {
    match o {
        Outcome::Waiting => None,
        Outcome::Done { mapping, ms } => Some(JobEvent::Done { mapping, ms }),
        Outcome::Cancelled => Some(JobEvent::Cancelled),
    }
}

fn outcome(job: JobId, o: Outcome) -> Option<FromWorker> {
    outcome_event(o).map(|event| FromWorker::Job { job, event })
}

/// One running worker. Dropping it terminates the worker.
struct OneWorker {
    worker: Worker,
    /// Messages waiting for the worker to start; `None` once it has.
    queue: Rc<RefCell<Option<Vec<Wire>>>>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

impl OneWorker {
    fn spawn(url: &str, on_event: impl Fn(WorkerEvent) + 'static) -> Result<Self, String> {
        let worker =
            Worker::new(url).map_err(|e| format!("the mapping worker could not start: {e:?}"))?;
        let on_event = Rc::new(on_event);
        let queue = Rc::new(RefCell::new(Some(Vec::<Wire>::new())));
        let on_message = {
            let on_event = on_event.clone();
            let queue = queue.clone();
            let worker = worker.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
                let Some(wire) = Wire::from_js(&ev.data()) else {
                    return;
                };
                match FromWorker::from_wire(wire) {
                    Ok(FromWorker::Started) => {
                        for msg in queue.borrow_mut().take().unwrap_or_default() {
                            post(&worker, &msg);
                        }
                    }
                    Ok(msg) => on_event(WorkerEvent::Message(msg)),
                    Err(e) => leptos::logging::error!("from the mapping worker: {e}"),
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
        Ok(OneWorker {
            worker,
            queue,
            _on_message: on_message,
            _on_error: on_error,
        })
    }

    /// Sends `msg` now, or once the worker has started.
    fn send(&self, msg: ToWorker) {
        let wire = msg.to_wire();
        match self.queue.borrow_mut().as_mut() {
            Some(waiting) => waiting.push(wire),
            None => post(&self.worker, &wire),
        }
    }
}

fn post(worker: &Worker, wire: &Wire) {
    let (value, transfer) = wire.to_js();
    if let Err(e) = worker.post_message_with_transfer(&value, &transfer) {
        leptos::logging::error!("could not message the mapping worker: {e:?}");
    }
}

impl Drop for OneWorker {
    fn drop(&mut self) {
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.terminate();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_follow_cores_capped_by_memory_and_a_maximum() {
        assert_eq!(plan_workers(2, None), 2);
        assert_eq!(plan_workers(1, Some(8.0)), 1);
        assert_eq!(plan_workers(16, None), MAX_WORKERS);
        assert_eq!(plan_workers(8, Some(1.0)), 2);
        assert_eq!(plan_workers(8, Some(0.5)), 1);
        assert_eq!(plan_workers(8, Some(0.25)), 1);
        assert_eq!(plan_workers(0, None), 1);
        assert_eq!(plan_workers(4, Some(f64::NAN)), 4);
    }

    #[test]
    fn the_worker_url_passes_on_a_weight_format_only() {
        assert_eq!(worker_url(""), "worker-boot.js");
        assert_eq!(worker_url("?weights=q8&x=1"), "worker-boot.js?weights=q8");
        assert_eq!(worker_url("?weights=a%2Fb"), "worker-boot.js");
    }
}
