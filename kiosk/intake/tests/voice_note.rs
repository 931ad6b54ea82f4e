//! The voice note on the description screen: the microphone goes on and
//! off through effects, the note travels in the seal request, a note with
//! no speech is refused with the spoken hint, a late note never reaches the
//! next visit, recording keeps the inactivity timer from running out, and
//! the note can be played and deleted on the review screen.

use std::time::Duration;

use idcard_proto::{CardText, DocType, Sex};
use intake::{
    Effect, Event, Intake, MessageKind, Millis, Screen, Thumb, Timeouts, Voice, VoiceNote,
};
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

fn note(bytes: &[u8], ms: u32) -> VoiceNote {
    VoiceNote {
        ogg_opus: zeroize::Zeroizing::new(bytes.to_vec()),
        duration_ms: ms,
    }
}

struct Script {
    m: Intake,
    now: u64,
    effects: Vec<Effect>,
}

impl Script {
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
                result: Some((PersonalText::new("SPECIMEN"), 90.0)),
                doubtful: vec![],
            })
            .send(Event::FinishCapture);
        assert_eq!(s.m.screen(), Screen::Describe);
        s.effects.clear();
        s
    }

    fn send(&mut self, e: Event) -> &mut Self {
        let e = addressed(e, self.m.visit());
        self.now += 100;
        let fx = self.m.handle(e, Millis(self.now));
        self.effects.extend(fx);
        self
    }

    fn voice(&self) -> Voice {
        self.m
            .session()
            .map(|s| s.voice.clone())
            .unwrap_or_default()
    }

    fn took(&mut self, f: impl Fn(&Effect) -> bool) -> bool {
        let found = self.effects.iter().any(f);
        self.effects.clear();
        found
    }
}

#[test]
fn a_recorded_note_travels_in_the_seal_request() {
    let mut s = Script::at_describe();
    s.send(Event::VoiceRecord);
    assert!(s.took(|e| matches!(e, Effect::StartRecording { .. })));
    assert_eq!(s.voice(), Voice::Recording);
    // A second press while recording does not start it twice.
    s.send(Event::VoiceRecord);
    assert!(!s.took(|e| matches!(e, Effect::StartRecording { .. })));
    s.send(Event::VoiceStop);
    assert!(s.took(|e| matches!(e, Effect::StopRecording { .. })));
    s.send(Event::VoiceRecorded {
        visit: CURRENT,
        note: note(b"OggS-note", 4200),
    });
    assert_eq!(s.voice(), Voice::Recorded(note(b"OggS-note", 4200)));
    s.send(Event::VoicePlay);
    assert!(s.took(|e| matches!(e, Effect::PlayVoice { note, .. } if note.duration_ms == 4200)));
    // "下一步" with the note and no text; no phone; the review; submit.
    s.send(Event::FinishDescription)
        .send(Event::NoPhone)
        .send(Event::NoPhoneConfirmed(true));
    assert_eq!(s.m.screen(), Screen::Review);
    s.send(Event::VoicePlay);
    assert!(s.took(|e| matches!(e, Effect::PlayVoice { .. })));
    s.send(Event::Submit);
    let sealed = s.effects.iter().find_map(|e| match e {
        Effect::Seal { request, .. } => Some(request.voice_note.clone()),
        _ => None,
    });
    assert_eq!(sealed, Some(Some(note(b"OggS-note", 4200))));
}

#[test]
fn a_note_without_speech_is_refused_with_the_hint_and_the_next_one_works() {
    let mut s = Script::at_describe();
    s.send(Event::VoiceRecord).send(Event::VoiceStop);
    s.send(Event::VoiceRefused {
        visit: CURRENT,
        no_speech: true,
    });
    assert_eq!(s.voice(), Voice::Empty);
    let msg = s.m.message().expect("the hint");
    assert_eq!(msg.kind, MessageKind::VoiceNoSpeech);
    assert!(msg.text.contains("没有听到声音") && msg.is_error);
    // A failed microphone says so, differently.
    s.send(Event::VoiceRecord).send(Event::VoiceRefused {
        visit: CURRENT,
        no_speech: false,
    });
    assert!(s.m.message().unwrap().text.contains("无法录音"));
    // The next recording works, and clears the message.
    s.send(Event::VoiceRecord);
    assert!(s.m.message().is_none());
    s.send(Event::VoiceRecorded {
        visit: CURRENT,
        note: note(b"second", 1500),
    });
    assert!(matches!(s.voice(), Voice::Recorded(_)));
    // Deleting it, then recording again replaces nothing left over.
    s.send(Event::VoiceDelete);
    assert_eq!(s.voice(), Voice::Empty);
    assert!(s.took(|e| matches!(e, Effect::StopVoice { .. })));
}

#[test]
fn leaving_the_screen_stops_the_microphone_and_the_note_arrives_later() {
    let mut s = Script::at_describe();
    s.send(Event::VoiceRecord);
    s.effects.clear();
    s.send(Event::FinishDescription);
    assert!(s.took(|e| matches!(e, Effect::StopRecording { .. })));
    assert_eq!(s.m.screen(), Screen::Phone);
    s.send(Event::NoPhone).send(Event::NoPhoneConfirmed(true));
    // Submitted before the note is encoded: the seal waits for it.
    s.send(Event::Submit);
    assert!(!s.took(|e| matches!(e, Effect::Seal { .. })));
    s.send(Event::VoiceRecorded {
        visit: CURRENT,
        note: note(b"late but ours", 900),
    });
    let sealed = s.effects.iter().find_map(|e| match e {
        Effect::Seal { request, .. } => Some(request.voice_note.is_some()),
        _ => None,
    });
    assert_eq!(sealed, Some(true));
}

#[test]
fn a_note_of_an_ended_visit_never_reaches_the_next_one() {
    let mut s = Script::at_describe();
    s.send(Event::VoiceRecord);
    let old = s.m.visit();
    s.send(Event::Cancel);
    assert_eq!(s.m.screen(), Screen::Welcome);
    // The next visitor.
    s.send(Event::Start).send(Event::CardRead(card()));
    let late = s.m.handle(
        Event::VoiceRecorded {
            visit: old,
            note: note(b"the previous visitor", 3000),
        },
        Millis(s.now + 100),
    );
    assert!(late.is_empty());
    assert_eq!(s.voice(), Voice::Empty);
    let refused = s.m.handle(
        Event::VoiceRefused {
            visit: old,
            no_speech: true,
        },
        Millis(s.now + 200),
    );
    assert!(refused.is_empty() && s.m.message().is_none());
}

#[test]
fn speaking_keeps_the_screen_from_timing_out() {
    let mut s = Script::at_describe();
    s.send(Event::VoiceRecord);
    let t = Timeouts::default();
    // Far past the inactivity limit, ticking as the shell does, no touch.
    let end = s.now + (t.inactivity + t.still_there).as_millis() as u64 * 2;
    while s.now < end {
        s.now += 250;
        let _ = s.m.handle(Event::Tick, Millis(s.now));
    }
    assert_eq!(s.m.screen(), Screen::Describe);
    assert!(!s.m.asking_still_there(Millis(s.now)));
    // Once the note is in, the timer runs again.
    s.send(Event::VoiceRecorded {
        visit: CURRENT,
        note: note(b"n", 100),
    });
    let later = s.now + (t.inactivity + t.still_there + Duration::from_secs(1)).as_millis() as u64;
    let _ = s.m.handle(Event::Tick, Millis(later));
    assert_eq!(s.m.screen(), Screen::Welcome);
    assert!(s.m.session().is_none());
}
