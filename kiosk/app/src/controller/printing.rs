//! The controller's receipt printer: the receipt waits for its case number
//! (or the configured wait), the counter queue's ticket is issued and
//! printed, and a receipt that could not be printed is shown on screen.

use intake::Event;
use kiosk_printer::{PrintJob, PrintOutcome, PrintReport, Receipt};

use super::{Shell, Update};

impl Shell {
    /// Prints the pending receipt once its case number is known or the wait
    /// is over, and turns printer reports into events.
    pub(super) fn drive_printer(&mut self) {
        let due = match &self.to_print {
            Some((r, since)) => r.case_number.is_some() || since.elapsed() >= self.print_wait,
            None => false,
        };
        if due {
            if let Some((receipt, _)) = self.to_print.take() {
                self.print_receipt(receipt);
            }
        }
        while let Ok(report) = self.print_rx.try_recv() {
            if self.tech.printer_report(&report) {
                continue;
            }
            let PrintReport::Printed { tag, result } = report else {
                continue;
            };
            let Some((local_ref, job)) = self.printing.remove(&tag) else {
                continue;
            };
            let (message, ok) = match result {
                Ok(PrintOutcome::Printed { status }) => (status.message_zh().to_string(), true),
                Ok(PrintOutcome::Interrupted { status }) => {
                    (status.message_zh().to_string(), false)
                }
                Err(e) => {
                    log::warn!("receipt {local_ref} not printed: {e}");
                    (kiosk_printer::error_message_zh(&e).to_string(), false)
                }
            };
            log::info!("receipt {local_ref}: printed={ok}");
            if !ok {
                self.show_receipt_picture(&job);
            }
            self.handle(Event::ReceiptPrinted {
                local_ref,
                message,
                ok,
            });
        }
    }

    pub(super) fn print_receipt(&mut self, receipt: Receipt) {
        let local_ref = receipt.local_reference.clone();
        let job = match receipt.to_job() {
            Ok(job) => job,
            Err(e) => {
                log::error!("receipt {local_ref} could not be laid out: {e}");
                return;
            }
        };
        match &self.printer {
            Some(printer) => {
                let tag = self.next_print_tag;
                self.next_print_tag += 1;
                printer.print(tag, job.clone());
                self.printing.insert(tag, (local_ref, job));
            }
            None => {
                // A hall without a printer: the receipt is shown on screen.
                self.show_receipt_picture(&job);
                self.handle(Event::ReceiptPrinted {
                    local_ref,
                    message: "请拍下屏幕上的回执".into(),
                    ok: true,
                });
            }
        }
    }

    /// Issues and prints the counter queue's ticket, when the hall runs one.
    /// A ticket that cannot be issued or printed never holds up the receipt.
    pub(super) fn issue_ticket(&mut self, local_ref: &str) {
        let Some((counter, window)) = &self.tickets else {
            return;
        };
        let now = chrono::Local::now();
        let number = match counter.issue(now.date_naive()) {
            Ok(n) => n,
            Err(e) => {
                log::error!("no queue ticket: {e}");
                return;
            }
        };
        log::info!("queue ticket {number} for {local_ref}");
        let ticket = kiosk_printer::QueueTicket {
            terminal_id: self.terminal_id.clone(),
            hall_name: self.hall_name.clone(),
            number: number.clone(),
            window: window.clone(),
            ahead: None,
            issued_at: now.naive_local(),
        };
        match (ticket.to_job(), &self.printer) {
            (Ok(job), Some(printer)) => {
                // Not tracked in `printing`: its report changes nothing on screen.
                let tag = self.next_print_tag;
                self.next_print_tag += 1;
                printer.print(tag, job);
            }
            (Err(e), _) => log::error!("queue ticket {number} could not be laid out: {e}"),
            (Ok(_), None) => {}
        }
        let _ = self.events.send(Event::TicketIssued {
            local_ref: local_ref.to_string(),
            number,
        });
    }

    pub(super) fn show_receipt_picture(&self, job: &PrintJob) {
        let font = std::path::Path::new(kiosk_printer::FONT_PATH);
        match kiosk_printer::PaperRenderer::new(font) {
            Ok(mut renderer) => {
                let img = renderer.render(job);
                let (width, height) = img.dimensions();
                let rgba = img
                    .pixels()
                    .flat_map(|p| [p.0[0], p.0[0], p.0[0], 255])
                    .collect();
                (self.sink)(Update::ReceiptPicture {
                    width,
                    height,
                    rgba,
                });
            }
            Err(e) => log::error!("cannot draw the receipt for the screen: {e}"),
        }
    }

}
