//! [`PrintWorker`]: the printer on its own thread, so that printing never
//! holds up the intake flow. Jobs go in without blocking; each result comes
//! back through the report callback, tagged with the caller's number.
//!
//! The printer is opened on first use and opened again after a failure
//! that may have been the line (absent, no reply, i/o): a printer plugged
//! in or switched on later is picked up by the next job or status query.

use std::sync::mpsc::{self, Receiver, Sender};
use std::thread::{self, JoinHandle};

use log::{debug, info};

use crate::{
    EscPosPrinter, PrintJob, PrintOutcome, PrinterConfig, PrinterError, PrinterStatus,
    ReceiptPrinter,
};

/// Opens the printer (again).
pub type Opener = Box<dyn FnMut() -> Result<Box<dyn ReceiptPrinter>, PrinterError> + Send>;

/// The result of one request.
#[derive(Debug)]
pub enum PrintReport {
    /// A job finished (or could not start).
    Printed {
        /// The caller's tag from [`PrintWorker::print`].
        tag: u64,
        /// What happened.
        result: Result<PrintOutcome, PrinterError>,
    },
    /// A status query finished.
    Status(Result<PrinterStatus, PrinterError>),
}

enum Request {
    Print(u64, PrintJob),
    Status,
}

/// The printer thread. Dropping it lets queued jobs finish, then stops.
#[derive(Debug)]
pub struct PrintWorker {
    tx: Option<Sender<Request>>,
    thread: Option<JoinHandle<()>>,
}

impl EscPosPrinter {
    /// An [`Opener`] for an ESC/POS printer with `cfg`.
    pub fn opener(cfg: PrinterConfig) -> Opener {
        Box::new(move || {
            EscPosPrinter::open(cfg.clone()).map(|p| Box::new(p) as Box<dyn ReceiptPrinter>)
        })
    }
}

impl PrintWorker {
    /// Starts the thread. `report` is called on it for every request.
    pub fn spawn(
        open: Opener,
        report: impl FnMut(PrintReport) + Send + 'static,
    ) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let thread = thread::Builder::new()
            .name("printer".to_string())
            .spawn(move || run(open, rx, report))?;
        Ok(PrintWorker {
            tx: Some(tx),
            thread: Some(thread),
        })
    }

    /// Queues `job`; never blocks. The report carries `tag`.
    pub fn print(&self, tag: u64, job: PrintJob) {
        self.send(Request::Print(tag, job));
    }

    /// Queues a status query; never blocks.
    pub fn query_status(&self) {
        self.send(Request::Status);
    }

    fn send(&self, req: Request) {
        if let Some(tx) = &self.tx {
            // The thread only ends when the worker is dropped.
            let _ = tx.send(req);
        }
    }
}

impl Drop for PrintWorker {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(mut open: Opener, rx: Receiver<Request>, mut report: impl FnMut(PrintReport)) {
    let mut printer: Option<Box<dyn ReceiptPrinter>> = None;
    for req in rx {
        if printer.is_none() {
            match open() {
                Ok(p) => printer = Some(p),
                Err(e) => {
                    info!("printer: {e}");
                    report(match req {
                        Request::Print(tag, _) => PrintReport::Printed {
                            tag,
                            result: Err(e),
                        },
                        Request::Status => PrintReport::Status(Err(e)),
                    });
                    continue;
                }
            }
        }
        let Some(p) = printer.as_mut() else { continue };
        let (msg, line_failed) = match req {
            Request::Print(tag, job) => {
                let result = p.print(&job);
                let failed = matches!(&result, Err(e) if line_error(e));
                (PrintReport::Printed { tag, result }, failed)
            }
            Request::Status => {
                let result = p.status();
                let failed = matches!(&result, Err(e) if line_error(e));
                (PrintReport::Status(result), failed)
            }
        };
        if line_failed {
            debug!("printer: closing the line, reopening on the next request");
            printer = None;
        }
        report(msg);
    }
}

/// Errors after which the device is opened again.
fn line_error(e: &PrinterError) -> bool {
    !matches!(e, PrinterError::NotReady(_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;
    use std::time::Duration;

    #[test]
    fn an_absent_printer_is_reported_and_retried() {
        let (tx, rx) = channel();
        let cfg = PrinterConfig {
            path: "/dev/kiosk/no-printer-here".into(),
            ..PrinterConfig::default()
        };
        let worker = PrintWorker::spawn(EscPosPrinter::opener(cfg), move |r| {
            let _ = tx.send(r);
        })
        .expect("spawns");
        worker.print(7, PrintJob::default());
        worker.query_status();
        let first = rx.recv_timeout(Duration::from_secs(5)).expect("report");
        assert!(matches!(
            first,
            PrintReport::Printed {
                tag: 7,
                result: Err(PrinterError::Absent { .. })
            }
        ));
        let second = rx.recv_timeout(Duration::from_secs(5)).expect("report");
        assert!(matches!(
            second,
            PrintReport::Status(Err(PrinterError::Absent { .. }))
        ));
    }
}
