//! Work too heavy for the async runtime's workers.
//!
//! The daemon's tokio runtime has one worker per core and also serves TCP, the control socket
//! and the metrics page. Validating a transferred zone, indexing it and publishing it, or
//! writing its copy, takes seconds at a million names: done on a worker, it would stall
//! those. [`run`] moves such work to tokio's blocking pool.

/// Runs `work` on tokio's blocking pool and waits for it; a panic in it goes on here.
pub async fn run<R: Send + 'static>(work: impl FnOnce() -> R + Send + 'static) -> R {
    tokio::task::spawn_blocking(work)
        .await
        .unwrap_or_else(|error| std::panic::resume_unwind(error.into_panic()))
}
