//! The controller's receipt printer: the receipt waits for its case number
//! (or the configured wait), the counter queue's ticket is issued and
//! printed, a receipt that could not be printed is shown on screen, and a
//! case's notice is printed for the petitioner who asked for it.

use intake::{CaseNotice, Event, Message, MessageKind, VisitId};
use kiosk_printer::{NoticeSlip, PrintJob, PrintOutcome, PrintReport, PrinterError, Receipt};

use super::Shell;
use crate::update::Update;

impl Shell {
    /// Prints the pending receipt once its case number is known or the wait
    /// is over, and turns printer reports into events.
    pub(super) fn drive_printer(&mut self) {
        let wait = self.terminal.print_wait;
        let due = match &self.visit.to_print {
            Some((r, since)) => r.case_number.is_some() || since.elapsed() >= wait,
            None => false,
        };
        if due {
            if let Some((receipt, _)) = self.visit.to_print.take() {
                self.print_receipt(receipt);
            }
        }
        while let Ok(report) = self.terminal.print_rx.try_recv() {
            if self.terminal.tech.printer_report(&report) {
                continue;
            }
            let PrintReport::Printed { tag, result } = report else {
                continue;
            };
            if self.visit.notice_tag == Some(tag) {
                self.visit.notice_tag = None;
                let message = notice_message(result.as_ref());
                log::info!("notice printed={}", message.kind == MessageKind::NoticePrinted);
                self.post(Event::NoticePrinted {
                    visit: self.visit.id,
                    message,
                });
                continue;
            }
            let Some((local_ref, job)) = self.terminal.printing.remove(&tag) else {
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
            let kind = if ok {
                MessageKind::ReceiptPrinted
            } else {
                MessageKind::ReceiptOnScreen
            };
            self.post(Event::ReceiptPrinted {
                local_ref,
                message: Message::new(kind, message, !ok),
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
        let tag = self.terminal.print_tag();
        match &self.terminal.printer {
            Some(printer) => {
                printer.print(tag, job.clone());
                self.terminal.printing.insert(tag, (local_ref, job));
            }
            None => {
                // A hall without a printer: the receipt is shown on screen.
                self.show_receipt_picture(&job);
                self.post(Event::ReceiptPrinted {
                    local_ref,
                    message: Message::new(MessageKind::ReceiptOnScreen, "请拍下屏幕上的回执", false),
                });
            }
        }
    }

    /// Prints `notice` of `case_number` for the visit in front of the
    /// terminal; the report comes back as `NoticePrinted` for this visit.
    pub(super) fn print_notice(&mut self, visit: VisitId, case_number: String, notice: CaseNotice) {
        let slip = NoticeSlip {
            terminal_id: self.terminal.terminal_id.clone(),
            hall_name: self.terminal.hall_name.clone(),
            case_number,
            title: notice.title,
            issued_at: notice.issued_at,
            text: notice.text,
            printed_at: chrono::Local::now().naive_local(),
        };
        let refused = |text: &str| Event::NoticePrinted {
            visit,
            message: Message::new(MessageKind::NoticeNotPrinted, text, true),
        };
        let job = match slip.to_job() {
            Ok(job) => job,
            Err(e) => {
                log::error!("notice of {} could not be laid out: {e}", slip.case_number);
                self.post(refused("告知书无法打印，请到接待窗口领取"));
                return;
            }
        };
        let tag = self.terminal.print_tag();
        match &self.terminal.printer {
            Some(printer) => {
                log::info!("printing the notice of {}", slip.case_number);
                printer.print(tag, job);
                self.visit.notice_tag = Some(tag);
            }
            None => self.post(refused(
                "本机没有打印机。告知书内容见屏幕，纸质告知书请到接待窗口领取",
            )),
        }
    }

    /// Issues and prints the counter queue's ticket, when the hall runs one.
    /// A ticket that cannot be issued or printed never holds up the receipt.
    pub(super) fn issue_ticket(&mut self, local_ref: &str) {
        let tag = self.terminal.print_tag();
        let t = &self.terminal;
        let Some((counter, window)) = &t.tickets else {
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
            terminal_id: t.terminal_id.clone(),
            hall_name: t.hall_name.clone(),
            number: number.clone(),
            window: window.clone(),
            ahead: None,
            issued_at: now.naive_local(),
        };
        match (ticket.to_job(), &t.printer) {
            (Ok(job), Some(printer)) => {
                // Not tracked in `printing`: its report changes nothing on screen.
                printer.print(tag, job);
            }
            (Err(e), _) => log::error!("queue ticket {number} could not be laid out: {e}"),
            (Ok(_), None) => {}
        }
        self.post(Event::TicketIssued {
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

/// What the petitioner is told when the printer reports on a notice.
fn notice_message(result: Result<&PrintOutcome, &PrinterError>) -> Message {
    let why = match result {
        Ok(PrintOutcome::Printed { .. }) => {
            return Message::new(MessageKind::NoticePrinted, "告知书已打印，请取走", false)
        }
        Ok(PrintOutcome::Interrupted { status }) | Err(PrinterError::NotReady(status)) => {
            if status.paper_out {
                "打印机缺纸"
            } else if status.cover_open {
                "打印机盖未关好"
            } else {
                "打印机故障"
            }
        }
        Err(PrinterError::Absent { .. } | PrinterError::Open(_) | PrinterError::NoReply) => {
            "打印机未连接"
        }
        Err(PrinterError::Io(_)) => "打印机故障",
    };
    Message::new(
        MessageKind::NoticeNotPrinted,
        format!("{why}，告知书未能打印。内容见屏幕，纸质告知书请到接待窗口领取"),
        true,
    )
}
