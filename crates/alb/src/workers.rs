//! Where client connections are served: on the caller's tokio runtime, or on the data plane's own
//! thread-per-core workers.
//!
//! Why workers: on the 2-core benchmark box, where the load generator and the targets compete for
//! the same cores, a work-stealing runtime with 2 threads served about half the requests of a
//! single thread (a preempted worker holds the tasks it queued; stealing and cross-thread wake-ups
//! add the rest). Each worker here is one OS thread with a current-thread runtime, like an nginx
//! worker process: it accepts on its own copy of every listening socket, serves the connections
//! it accepted, and keeps its own upstream connections ([`slot`] picks its share of each target's
//! pool), so a request never leaves its thread.

use std::cell::Cell;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// Where [`crate::start_serving`] runs client connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Serving {
    /// On the runtime that called `start` (tests; a berth that serves little traffic).
    #[default]
    CallerRuntime,
    /// On this many dedicated threads, one current-thread runtime each.
    Workers(NonZeroUsize),
}

thread_local! {
    /// This thread's worker number, when it is a worker.
    static WORKER: Cell<Option<usize>> = const { Cell::new(None) };
}

/// How many pool slots each target has (see [`slot`]).
pub const SLOTS: usize = 8;

/// The pool slot of the current thread: one per worker (modulo [`SLOTS`] - 1), and slot 0 for any
/// other thread. A connection registered with one worker's reactor is then reused by that worker.
pub fn slot() -> usize {
    WORKER.with(|w| w.get().map_or(0, |i| 1 + i % (SLOTS - 1)))
}

/// The running worker threads.
#[derive(Debug)]
pub(crate) struct Workers {
    pub handles: Vec<Handle>,
    stops: Vec<oneshot::Sender<()>>,
    done: Vec<oneshot::Receiver<()>>,
}

impl Workers {
    /// Starts `n` worker threads. `live` counts open client connections: a stopping worker waits
    /// (up to 5 s) for it to reach zero so that in-flight requests finish.
    pub fn start(n: NonZeroUsize, live: Arc<AtomicUsize>) -> std::io::Result<Self> {
        let mut workers = Self { handles: Vec::new(), stops: Vec::new(), done: Vec::new() };
        for i in 0..n.get() {
            let (handle_tx, handle_rx) = std::sync::mpsc::channel();
            let (stop_tx, stop_rx) = oneshot::channel::<()>();
            let (done_tx, done_rx) = oneshot::channel::<()>();
            let live = live.clone();
            std::thread::Builder::new().name(format!("alb-worker-{i}")).spawn(move || {
                WORKER.with(|w| w.set(Some(i)));
                match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(runtime) => {
                        let _ = handle_tx.send(Ok(runtime.handle().clone()));
                        runtime.block_on(async move {
                            let _ = stop_rx.await;
                            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
                            while live.load(Ordering::Acquire) > 0 && tokio::time::Instant::now() < deadline {
                                tokio::time::sleep(Duration::from_millis(10)).await;
                            }
                        });
                    }
                    Err(e) => {
                        let _ = handle_tx.send(Err(e));
                    }
                }
                let _ = done_tx.send(());
            })?;
            let handle = handle_rx.recv().map_err(|_| std::io::Error::other("worker thread died"))??;
            workers.handles.push(handle);
            workers.stops.push(stop_tx);
            workers.done.push(done_rx);
        }
        Ok(workers)
    }

    /// Stops every worker once its connections are done (bounded) and waits for the threads.
    pub async fn stop(self) {
        for stop in self.stops {
            let _ = stop.send(());
        }
        for done in self.done {
            let _ = done.await;
        }
    }
}

/// Counts one open client connection for as long as it lives.
pub(crate) struct LiveConn(Arc<AtomicUsize>);

impl LiveConn {
    pub fn new(live: &Arc<AtomicUsize>) -> Self {
        live.fetch_add(1, Ordering::AcqRel);
        Self(live.clone())
    }
}

impl Drop for LiveConn {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}
