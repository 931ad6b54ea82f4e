//! A fixed pool of OCR worker threads, each owning one `OcrEngine`.
//!
//! Jobs go in with `submit` and results come out, tagged with the caller's job
//! id, through `try_recv` (for a UI event loop) or `recv_timeout`. Dropping
//! the pool lets the workers finish their current page and joins them.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::{OcrConfig, OcrEngine, OcrError, OcrText};

/// Outcome of one job: the caller's id and the text or the error.
pub type OcrResult = (u64, Result<OcrText, OcrError>);

struct Job {
    id: u64,
    gray: Vec<u8>,
    width: u32,
    height: u32,
}

/// Worker threads recognising pages in the background.
pub struct OcrPool {
    jobs: Option<Sender<Job>>,
    results_tx: Sender<OcrResult>,
    results: Mutex<Receiver<OcrResult>>,
    workers: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for OcrPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OcrPool")
            .field("workers", &self.workers.len())
            .finish()
    }
}

impl OcrPool {
    /// Starts `cfg.workers` threads (at least one) and waits until each has loaded its engine.
    pub fn new(cfg: &OcrConfig) -> Result<Self, OcrError> {
        let n_workers = cfg.workers.max(1);
        let (jobs_tx, jobs_rx) = mpsc::channel::<Job>();
        let jobs_rx = Arc::new(Mutex::new(jobs_rx));
        let (results_tx, results_rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), OcrError>>();
        let mut workers = Vec::with_capacity(n_workers);
        for worker_idx in 0..n_workers {
            let cfg = cfg.clone();
            let jobs_rx = Arc::clone(&jobs_rx);
            let results_tx = results_tx.clone();
            let ready_tx = ready_tx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("ocr-{worker_idx}"))
                .spawn(move || worker(&cfg, &jobs_rx, &results_tx, &ready_tx));
            match spawned {
                Ok(handle) => workers.push(handle),
                Err(err) => log::error!("cannot start ocr worker: {err}"),
            }
        }
        drop(ready_tx);
        let pool = OcrPool {
            jobs: Some(jobs_tx),
            results_tx,
            results: Mutex::new(results_rx),
            workers,
        };
        if pool.workers.is_empty() {
            return Err(OcrError::PoolClosed);
        }
        for _ in 0..pool.workers.len() {
            match ready_rx.recv() {
                Ok(Ok(())) => {}
                // Dropping the pool stops and joins the workers that did start.
                Ok(Err(err)) => return Err(err),
                Err(_) => return Err(OcrError::PoolClosed),
            }
        }
        log::info!("ocr pool ready with {} workers", pool.workers.len());
        Ok(pool)
    }

    /// Queues a grey page of `width * height` bytes; its result comes back tagged with `job`.
    pub fn submit(&self, job: u64, gray: Vec<u8>, width: u32, height: u32) {
        let sent = match &self.jobs {
            Some(jobs) => jobs
                .send(Job {
                    id: job,
                    gray,
                    width,
                    height,
                })
                .is_ok(),
            None => false,
        };
        if !sent {
            // Every worker is gone; answer at once so the caller does not wait forever.
            let _ = self.results_tx.send((job, Err(OcrError::PoolClosed)));
        }
    }

    /// Returns a finished result if one is ready.
    pub fn try_recv(&self) -> Option<OcrResult> {
        self.results.lock().ok()?.try_recv().ok()
    }

    /// Waits up to `d` for a finished result.
    pub fn recv_timeout(&self, d: Duration) -> Option<OcrResult> {
        self.results.lock().ok()?.recv_timeout(d).ok()
    }
}

impl Drop for OcrPool {
    fn drop(&mut self) {
        // Closing the job channel ends each worker's loop after its current page.
        self.jobs = None;
        for handle in self.workers.drain(..) {
            let _ = handle.join();
        }
    }
}

fn worker(
    cfg: &OcrConfig,
    jobs: &Mutex<Receiver<Job>>,
    results: &Sender<OcrResult>,
    ready: &Sender<Result<(), OcrError>>,
) {
    let mut engine = match OcrEngine::new(cfg) {
        Ok(engine) => {
            let _ = ready.send(Ok(()));
            engine
        }
        Err(err) => {
            let _ = ready.send(Err(err));
            return;
        }
    };
    loop {
        // Hold the lock only while taking a job, not while recognising it.
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let res = catch_unwind(AssertUnwindSafe(|| {
            engine.recognize_gray(&job.gray, job.width, job.height)
        }))
        .unwrap_or_else(|_| {
            log::error!("ocr worker panicked on job {}", job.id);
            Err(OcrError::WorkerPanicked)
        });
        if let Err(err) = &res {
            log::warn!("ocr job {} failed: {err}", job.id);
        }
        if results.send((job.id, res)).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::config;

    #[test]
    fn pool_returns_results_tagged_with_job_ids() {
        let pool = OcrPool::new(&OcrConfig {
            workers: 2,
            ..config()
        })
        .unwrap();
        assert!(pool.try_recv().is_none());
        pool.submit(7, vec![255; 200 * 100], 200, 100);
        pool.submit(8, vec![255; 10], 200, 100);
        let mut got = Vec::new();
        for _ in 0..2 {
            got.push(pool.recv_timeout(Duration::from_secs(60)).unwrap());
        }
        got.sort_by_key(|(id, _)| *id);
        assert_eq!(got[0].0, 7);
        assert!(got[0].1.as_ref().unwrap().text.trim().is_empty());
        assert_eq!(got[1].0, 8);
        assert!(matches!(
            got[1].1,
            Err(OcrError::BufferSize {
                expected: 20_000,
                actual: 10
            })
        ));
        assert!(pool.recv_timeout(Duration::from_millis(10)).is_none());
    }

    #[test]
    fn pool_with_missing_language_fails_to_start() {
        let cfg = OcrConfig {
            language: "no_such_lang".to_owned(),
            workers: 2,
            ..config()
        };
        assert!(matches!(OcrPool::new(&cfg), Err(OcrError::Init { .. })));
    }
}
