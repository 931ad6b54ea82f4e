//! The description and contact-phone steps between the capture and the
//! review: skipping, editing from the review screen, the phone checks, and
//! that both travel in the seal request and vanish with the session.

use idcard_proto::{CardText, DocType, Sex};
use intake::{Effect, Event, Intake, KeyboardKey, Millis, Screen, Thumb, Timeouts};
use kiosk_privacy::{Address, IdNumber, PersonName, PersonalText};

mod common;
use common::{addressed, CURRENT};

fn card() -> Box<CardText> {
    Box::new(CardText {
        doc_type: DocType::Resident,
        name: PersonName::new("测试样例"),
        sex: Sex::Female,
        ethnicity: None,
        nationality: None,
        birth: None,
        address: Address::new("样本省样本县1号"),
        id_number: IdNumber::new("11010519491231002X"),
        authority: "样本公安局".into(),
        valid_from: None,
        valid_to: None,
    })
}

struct Script {
    m: Intake,
    now: u64,
    effects: Vec<Effect>,
}

impl Script {
    /// A visit with one recognised page, on the description screen.
    fn at_describe() -> Script {
        let mut s = Script {
            m: Intake::new(Timeouts::default()),
            now: 1_000,
            effects: Vec::new(),
        };
        s.send(Event::Start).send(Event::CardRead(card()));
        s.send(Event::ConfirmIdentity)
            .send(Event::ChooseCategory("labour".into()))
            .send(Event::CaptureRequested)
            .send(Event::PageCaptured {
                visit: CURRENT,
                page_id: 1,
                jpeg: vec![1],
                thumb: Thumb {
                    width: 1,
                    height: 1,
                    rgba: vec![0; 4],
                },
            })
            .send(Event::OcrFinished {
                visit: CURRENT,
                page_id: 1,
                result: Some((PersonalText::new("SPECIMEN 拖欠工资"), 90.0)),
                doubtful: vec![],
            })
            .send(Event::FinishCapture);
        assert_eq!(s.m.screen(), Screen::Describe);
        s
    }

    fn send(&mut self, e: Event) -> &mut Self {
        let e = addressed(e, self.m.visit());
        self.now += 100;
        let fx = self.m.handle(e, Millis(self.now));
        self.effects.extend(fx);
        self
    }

    fn digits(&mut self, digits: &str) -> &mut Self {
        for d in digits.chars() {
            self.send(Event::PhoneDigit(d));
        }
        self
    }

    fn phone(&self) -> String {
        self.m
            .session()
            .map(|s| s.phone.expose().to_string())
            .unwrap_or_default()
    }

    /// Submits and returns the description and phone of the seal request.
    fn sealed(&mut self) -> (String, Option<String>) {
        self.effects.clear();
        self.send(Event::Submit);
        let seal = self.effects.iter().find_map(|e| match e {
            Effect::Seal { request: req, .. } => Some((
                req.description.expose().to_string(),
                req.phone.as_ref().map(|p| p.expose().to_string()),
            )),
            _ => None,
        });
        seal.expect("one seal effect")
    }
}

#[test]
fn skipping_the_description_and_giving_a_phone() {
    let mut s = Script::at_describe();
    s.send(Event::Keyboard(KeyboardKey::Letter('g')));
    s.send(Event::DescriptionEdited(PersonalText::new("工资")));
    s.send(Event::SkipDescription);
    assert_eq!(s.m.screen(), Screen::Phone);
    assert!(
        s.m.session().unwrap().description.is_empty(),
        "skip clears it"
    );
    s.digits("13812345678").send(Event::ConfirmPhone);
    assert_eq!(s.m.screen(), Screen::Review);
    assert_eq!(s.sealed(), (String::new(), Some("13812345678".into())));
}

#[test]
fn a_description_is_kept_and_capped() {
    let mut s = Script::at_describe();
    s.send(Event::DescriptionEdited(PersonalText::new(
        "拖欠工资，请求解决。",
    )));
    s.send(Event::FinishDescription);
    assert_eq!(s.m.screen(), Screen::Phone);
    s.send(Event::Back);
    assert_eq!(s.m.screen(), Screen::Describe);
    let long = "字".repeat(intake::MAX_DESCRIPTION_CHARS + 5);
    s.send(Event::DescriptionEdited(PersonalText::new(long)));
    assert_eq!(
        s.m.session().unwrap().description.expose().chars().count(),
        intake::MAX_DESCRIPTION_CHARS
    );
    assert!(s.m.message().unwrap().is_error);
    s.send(Event::DescriptionEdited(PersonalText::new(
        "拖欠工资，请求解决。",
    )));
    assert!(s.m.message().is_none(), "a shorter text clears the warning");
    s.send(Event::FinishDescription)
        .digits("01062345678")
        .send(Event::ConfirmPhone);
    assert_eq!(
        s.sealed(),
        ("拖欠工资，请求解决。".into(), Some("01062345678".into()))
    );
}

#[test]
fn an_invalid_phone_is_refused_with_a_reason() {
    let mut s = Script::at_describe();
    s.send(Event::SkipDescription);
    s.send(Event::ConfirmPhone);
    assert_eq!(s.m.screen(), Screen::Phone, "empty is refused");
    assert!(s.m.message().unwrap().is_error);
    s.digits("1381234567").send(Event::ConfirmPhone);
    assert_eq!(s.m.screen(), Screen::Phone);
    assert_eq!(s.m.message().unwrap().text, "手机号码是11位数字，请核对");
    s.send(Event::PhoneDigit('x'));
    assert_eq!(s.phone(), "1381234567", "only digits are typed");
    s.send(Event::PhoneBackspace);
    assert_eq!(s.phone(), "138123456");
    assert!(s.m.message().is_none(), "editing clears the message");
    s.digits("123456789");
    assert_eq!(s.phone().len(), intake::phone::MAX_DIGITS, "capped");
    s.send(Event::PhoneClear);
    assert_eq!(s.phone(), "");
    s.digits("12812345678").send(Event::ConfirmPhone);
    assert_eq!(
        s.m.message().unwrap().text,
        "手机号码应以13至19开头，请核对"
    );
}

#[test]
fn no_phone_needs_a_confirmation() {
    let mut s = Script::at_describe();
    s.send(Event::SkipDescription).digits("1381234");
    s.send(Event::NoPhone);
    assert!(s.m.confirming_no_phone());
    s.send(Event::NoPhoneConfirmed(false));
    assert_eq!(s.m.screen(), Screen::Phone);
    assert!(!s.m.confirming_no_phone());
    assert_eq!(s.phone(), "1381234", "the digits stay");
    s.send(Event::NoPhone).send(Event::NoPhoneConfirmed(true));
    assert_eq!(s.m.screen(), Screen::Review);
    assert!(s.m.session().unwrap().no_phone);
    assert_eq!(s.sealed(), (String::new(), None));
}

#[test]
fn editing_from_the_review_returns_to_the_review() {
    let mut s = Script::at_describe();
    s.send(Event::SkipDescription)
        .digits("13812345678")
        .send(Event::ConfirmPhone);
    s.send(Event::EditDescription);
    assert_eq!(s.m.screen(), Screen::Describe);
    s.send(Event::DescriptionEdited(PersonalText::new("征地补偿")))
        .send(Event::FinishDescription);
    assert_eq!(s.m.screen(), Screen::Review, "straight back");
    s.send(Event::EditPhone);
    assert_eq!(s.m.screen(), Screen::Phone);
    s.send(Event::Back);
    assert_eq!(
        s.m.screen(),
        Screen::Review,
        "back returns to the review too"
    );
    s.send(Event::Back);
    assert_eq!(
        s.m.screen(),
        Screen::Phone,
        "from the review, back is the phone"
    );
    s.send(Event::Back);
    assert_eq!(s.m.screen(), Screen::Describe);
    s.send(Event::Back);
    assert_eq!(s.m.screen(), Screen::Capture);
}

#[test]
fn cancel_and_timeout_wipe_description_and_phone() {
    let mut s = Script::at_describe();
    s.send(Event::DescriptionEdited(PersonalText::new("征地补偿")))
        .send(Event::FinishDescription)
        .digits("13812345678");
    s.send(Event::Cancel);
    assert_eq!(s.m.screen(), Screen::Welcome);
    assert!(s.m.session().is_none());

    let mut s = Script::at_describe();
    s.send(Event::DescriptionEdited(PersonalText::new("征地补偿")))
        .send(Event::FinishDescription)
        .digits("1381234");
    assert!(s.m.seconds_left(Millis(s.now)).is_none());
    // No touch: "still there?" first, then the wipe.
    let t = Timeouts::default();
    s.now += (t.inactivity + t.still_there).as_millis() as u64;
    s.send(Event::Tick);
    assert_eq!(s.m.screen(), Screen::Welcome, "the phone screen times out");
    assert!(s.m.session().is_none());
}

#[test]
fn keyboard_keys_count_as_activity() {
    let mut s = Script::at_describe();
    let limit = Timeouts::default().inactivity.as_millis() as u64;
    s.now += limit - 1_000;
    s.send(Event::Keyboard(KeyboardKey::Letter('a')));
    s.now += limit - 1_000;
    s.send(Event::Tick);
    assert_eq!(s.m.screen(), Screen::Describe);
}
