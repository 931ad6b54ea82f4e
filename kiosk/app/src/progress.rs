//! Words for the waits: what the terminal is doing while the petitioner
//! waits more than about half a second, shown as the screen's message when
//! nothing else is.
//!
//! The other waits say so on their own screens: the card screen tells that
//! reading takes a few seconds ("放好后请不要移动，几秒钟就能读好"), the
//! identity screen shows "正在查询…" with a spinner while the history loads,
//! and each page shows "识别中…" until it is recognised.

use intake::{Intake, Ocr, Screen};

/// The progress text for the machine's current state, if it is waiting.
pub fn message(m: &Intake) -> Option<String> {
    let session = m.session();
    match m.screen() {
        // Taking, straightening and checking a page: up to a second or two.
        Screen::Capture => session
            .filter(|s| s.capture_busy)
            .map(|_| "正在拍照并处理这一页，请不要移动材料".to_string()),
        // Submitting waits for the pages still being recognised, then seals.
        Screen::Submitting => {
            let pending = session.map_or(0, |s| {
                s.pages
                    .iter()
                    .filter(|p| matches!(p.ocr, Ocr::Pending))
                    .count()
            });
            Some(if pending > 0 {
                format!("正在识别材料上的文字，还有{pending}页")
            } else {
                "正在保存登记".to_string()
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use idcard_proto::{CardText, DocType, Sex};
    use intake::{Event, Millis, Thumb, Timeouts, VisitId};
    use kiosk_privacy::{Address, IdNumber, PersonName, PersonalText};

    use super::*;

    fn card() -> Box<CardText> {
        Box::new(CardText {
            doc_type: DocType::Resident,
            name: PersonName::new("测试样例"),
            sex: Sex::Male,
            ethnicity: Some("汉"),
            nationality: None,
            birth: None,
            address: Address::new("北京市东城区样本路1号"),
            id_number: IdNumber::new("11010519491231002X"),
            authority: "样本公安局".into(),
            valid_from: None,
            valid_to: None,
        })
    }

    fn page(visit: VisitId, page_id: u32) -> Event {
        Event::PageCaptured {
            visit,
            page_id,
            jpeg: vec![1],
            thumb: Thumb {
                width: 1,
                height: 1,
                rgba: vec![0; 4],
            },
        }
    }

    #[test]
    fn capturing_and_submitting_say_what_is_happening() {
        let mut m = Intake::new(Timeouts::default());
        let mut t = 0;
        let mut send = |m: &mut Intake, e: Event| {
            t += 100;
            m.handle(e, Millis(t));
        };
        for e in [
            Event::Start,
            Event::CardRead(card()),
            Event::ConfirmIdentity,
            Event::ChooseCategory("labour".into()),
        ] {
            send(&mut m, e);
        }
        assert_eq!(m.screen(), Screen::Capture);
        assert_eq!(message(&m), None);
        send(&mut m, Event::CaptureRequested);
        assert!(message(&m).is_some_and(|t| t.contains("正在拍照")));
        let v = m.visit();
        send(&mut m, page(v, 1));
        assert_eq!(message(&m), None);
        send(&mut m, Event::CaptureRequested);
        send(&mut m, page(v, 2));
        send(&mut m, Event::FinishCapture);
        send(&mut m, Event::SkipDescription);
        send(&mut m, Event::NoPhone);
        send(&mut m, Event::NoPhoneConfirmed(true));
        assert_eq!(m.screen(), Screen::Review);
        send(&mut m, Event::Submit);
        assert_eq!(m.screen(), Screen::Submitting);
        assert_eq!(
            message(&m).as_deref(),
            Some("正在识别材料上的文字，还有2页")
        );
        for page_id in [1, 2] {
            send(
                &mut m,
                Event::OcrFinished {
                    visit: v,
                    page_id,
                    result: Some((PersonalText::new("样本"), 90.0)),
                    doubtful: Vec::new(),
                },
            );
        }
        // Recognised: the seal is under way.
        assert_eq!(message(&m).as_deref(), Some("正在保存登记"));
    }
}
