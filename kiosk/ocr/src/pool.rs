//! A fixed pool of OCR worker threads, each owning one `OcrEngine`.
//!
//! Jobs go in with `submit` (or `submit_in`, under a group such as one
//! visitor's visit) and results come out, tagged with the caller's job id,
//! through `try_recv` (for a UI event loop) or `recv_timeout`. `discard`
//! drops the jobs of a group that have not started: they never run and never
//! answer. Dropping the pool lets the workers finish their current page and
//! joins them; the jobs still waiting are dropped.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::{EngineKind, OcrConfig, OcrEngine, OcrError, OcrText, PpConfig, PpEngine};

/// Outcome of one job: the caller's id and the text or the error.
pub type OcrResult = (u64, Result<OcrText, OcrError>);

struct Job {
    id: u64,
    group: u64,
    gray: Vec<u8>,
    width: u32,
    height: u32,
}

/// The jobs waiting for a worker; `closed` once the pool is dropped.
#[derive(Default)]
struct Waiting {
    jobs: VecDeque<Job>,
    closed: bool,
}

/// The queue the workers take jobs from.
#[derive(Default)]
struct JobQueue {
    waiting: Mutex<Waiting>,
    ready: Condvar,
}

impl JobQueue {
    /// The next job, waiting for one; `None` once the pool is closed.
    fn take(&self) -> Option<Job> {
        let mut w = self.waiting.lock().ok()?;
        loop {
            if w.closed {
                return None;
            }
            if let Some(job) = w.jobs.pop_front() {
                return Some(job);
            }
            w = self.ready.wait(w).ok()?;
        }
    }

    fn close(&self) {
        if let Ok(mut w) = self.waiting.lock() {
            w.closed = true;
            w.jobs.clear();
        }
        self.ready.notify_all();
    }
}

/// The group of jobs submitted with [`OcrPool::submit`].
pub const NO_GROUP: u64 = 0;

/// Worker threads recognising pages in the background.
pub struct OcrPool {
    jobs: Arc<JobQueue>,
    results_tx: Sender<OcrResult>,
    results: Mutex<Receiver<OcrResult>>,
    workers: Vec<JoinHandle<()>>,
    /// The engine every worker reads with (Tesseract if any worker lacks PP-OCR).
    engine: EngineKind,
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
        let jobs = Arc::new(JobQueue::default());
        let (results_tx, results_rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel::<Result<EngineKind, OcrError>>();
        let mut workers = Vec::with_capacity(n_workers);
        for worker_idx in 0..n_workers {
            let cfg = cfg.clone();
            let jobs = Arc::clone(&jobs);
            let results_tx = results_tx.clone();
            let ready_tx = ready_tx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("ocr-{worker_idx}"))
                .spawn(move || worker(&cfg, &jobs, &results_tx, &ready_tx));
            match spawned {
                Ok(handle) => workers.push(handle),
                Err(err) => log::error!("cannot start ocr worker: {err}"),
            }
        }
        drop(ready_tx);
        let mut pool = OcrPool {
            jobs,
            results_tx,
            results: Mutex::new(results_rx),
            workers,
            engine: cfg.engine,
        };
        if pool.workers.is_empty() {
            return Err(OcrError::PoolClosed);
        }
        for _ in 0..pool.workers.len() {
            match ready_rx.recv() {
                Ok(Ok(EngineKind::Tesseract)) => pool.engine = EngineKind::Tesseract,
                Ok(Ok(EngineKind::PpOcr)) => {}
                // Dropping the pool stops and joins the workers that did start.
                Ok(Err(err)) => return Err(err),
                Err(_) => return Err(OcrError::PoolClosed),
            }
        }
        log::info!(
            "ocr pool ready with {} workers ({:?})",
            pool.workers.len(),
            pool.engine
        );
        Ok(pool)
    }

    /// The engine the pool reads pages with: PP-OCR, or Tesseract when it was
    /// chosen or PP-OCR's models did not load. The page given to the pool
    /// should suit it (`kiosk_camera::PageOptions::flatten_illumination`
    /// helps Tesseract and harms PP-OCR).
    pub fn engine(&self) -> EngineKind {
        self.engine
    }

    /// Queues a grey page of `width * height` bytes; its result comes back tagged with `job`.
    pub fn submit(&self, job: u64, gray: Vec<u8>, width: u32, height: u32) {
        self.submit_in(NO_GROUP, job, gray, width, height);
    }

    /// [`OcrPool::submit`] under `group`, which [`OcrPool::discard`] can drop.
    pub fn submit_in(&self, group: u64, job: u64, gray: Vec<u8>, width: u32, height: u32) {
        let alive = self.workers.iter().any(|w| !w.is_finished());
        let queued = alive
            && match self.jobs.waiting.lock() {
                Ok(mut w) if !w.closed => {
                    w.jobs.push_back(Job {
                        id: job,
                        group,
                        gray,
                        width,
                        height,
                    });
                    true
                }
                _ => false,
            };
        if queued {
            self.jobs.ready.notify_one();
        } else {
            // Every worker is gone; answer at once so the caller does not wait forever.
            let _ = self.results_tx.send((job, Err(OcrError::PoolClosed)));
        }
    }

    /// Drops the jobs of `group` that no worker has started; they never
    /// answer. A job already running answers as usual. Returns how many were dropped.
    pub fn discard(&self, group: u64) -> usize {
        let Ok(mut w) = self.jobs.waiting.lock() else {
            return 0;
        };
        let before = w.jobs.len();
        w.jobs.retain(|j| j.group != group);
        before - w.jobs.len()
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
        // Closing the queue ends each worker's loop after its current page.
        self.jobs.close();
        for handle in self.workers.drain(..) {
            let _ = handle.join();
        }
    }
}

/// The engines of one worker: PP-OCR when chosen and its models load, and
/// Tesseract, loaded only when needed (no PP-OCR, or a page PP-OCR failed
/// on), so a PP-OCR worker stays within its memory budget.
struct Engines {
    cfg: OcrConfig,
    tesseract: Option<OcrEngine>,
    pp: Option<PpEngine>,
}

impl Engines {
    fn new(cfg: &OcrConfig) -> Result<Self, OcrError> {
        let pp = match cfg.engine {
            EngineKind::Tesseract => None,
            EngineKind::PpOcr => match PpEngine::new(&PpConfig {
                model_dir: cfg.pp_model_dir.clone(),
                ..PpConfig::default()
            }) {
                Ok(pp) => Some(pp),
                Err(err) => {
                    // Missing or altered models: the terminal keeps working on Tesseract.
                    log::error!("PP-OCR unavailable, reading pages with Tesseract: {err}");
                    None
                }
            },
        };
        // Without PP-OCR, Tesseract must load now: a pool that cannot read fails to start.
        let tesseract = if pp.is_none() {
            Some(OcrEngine::new(cfg)?)
        } else {
            None
        };
        Ok(Engines {
            cfg: cfg.clone(),
            tesseract,
            pp,
        })
    }

    fn recognize(&mut self, job: &Job) -> Result<OcrText, OcrError> {
        if let Some(pp) = self.pp.as_mut() {
            match pp.recognize_gray(&job.gray, job.width, job.height) {
                Ok(text) => return Ok(text),
                Err(err @ (OcrError::BadDimensions { .. } | OcrError::BufferSize { .. })) => {
                    return Err(err)
                }
                Err(err) => log::warn!("PP-OCR failed on job {} ({err}); trying Tesseract", job.id),
            }
        }
        let tesseract = match self.tesseract.as_mut() {
            Some(t) => t,
            None => self.tesseract.insert(OcrEngine::new(&self.cfg)?),
        };
        if self.cfg.orientation {
            tesseract.recognize_page(&job.gray, job.width, job.height)
        } else {
            tesseract.recognize_gray(&job.gray, job.width, job.height)
        }
    }
}

fn worker(
    cfg: &OcrConfig,
    jobs: &JobQueue,
    results: &Sender<OcrResult>,
    ready: &Sender<Result<EngineKind, OcrError>>,
) {
    let mut engines = match Engines::new(cfg) {
        Ok(engines) => {
            let _ = ready.send(Ok(if engines.pp.is_some() {
                EngineKind::PpOcr
            } else {
                EngineKind::Tesseract
            }));
            engines
        }
        Err(err) => {
            let _ = ready.send(Err(err));
            return;
        }
    };
    // The lock is held only while taking a job, not while recognising it.
    while let Some(job) = jobs.take() {
        let res = catch_unwind(AssertUnwindSafe(|| engines.recognize(&job))).unwrap_or_else(|_| {
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
    fn discarded_jobs_never_run_and_other_groups_go_on() {
        let pool = OcrPool::new(&OcrConfig {
            workers: 1,
            ..config()
        })
        .unwrap();
        // Visit 1 leaves four pages; the worker can have started one at most.
        for job in 1..=4 {
            pool.submit_in(1, job, vec![255; 1200 * 1600], 1200, 1600);
        }
        let dropped = pool.discard(1);
        assert!((3..=4).contains(&dropped), "dropped {dropped}");
        assert_eq!(pool.discard(1), 0, "nothing of the group is left");
        pool.submit_in(2, 10, vec![255; 200 * 100], 200, 100);
        let mut got = Vec::new();
        while let Some((id, _)) = pool.recv_timeout(Duration::from_secs(30)) {
            got.push(id);
            if id == 10 {
                break;
            }
        }
        assert_eq!(got.last(), Some(&10), "the next visit's page is recognised: {got:?}");
        assert!(got.len() <= 2, "at most the running job of visit 1 answered: {got:?}");
        assert_eq!(got.len(), 5 - dropped, "{got:?}");
        assert!(pool.recv_timeout(Duration::from_millis(200)).is_none());
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
