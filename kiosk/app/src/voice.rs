//! Spoken prompts in the app: the `[voice]` settings, which prompt a screen
//! or a message calls for, and a [`Sink`] wrapper that says it when the view
//! changes. The prompts themselves (texts, WAVs, playback) are `kiosk-voice`.
//!
//! A screen's own prompt is said when the screen appears (the welcome
//! screen's only when a touch led there, not at start-up, after the receipt
//! or after the inactivity timeout, when nobody may be there); a message's prompt
//! when the message appears (the camera's advice, a page taken, a card not
//! read, the printer's answer); "still there?" when the inactivity countdown
//! starts on a form screen. Only fixed texts are spoken: messages are matched
//! to a prompt, never read out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use intake::{MessageKind, Screen};
use kiosk_voice::{Player, PlayerConfig, Prompt};

use crate::config::VoiceConfig;
use crate::update::{Sink, Update};
use crate::view::ViewModel;

/// How `aplay` is run for these settings.
pub(crate) fn player_config(cfg: &VoiceConfig) -> PlayerConfig {
        PlayerConfig {
            device: cfg.device.clone(),
            volume: cfg.volume,
            dir: (!cfg.dir.as_os_str().is_empty()).then(|| cfg.dir.clone()),
        }
}

/// What a screen says when it appears; the staff screens say nothing.
pub fn screen_prompt(screen: Screen) -> Option<Prompt> {
    Some(match screen {
        Screen::Welcome => Prompt::Welcome,
        Screen::Card => Prompt::PlaceCard,
        Screen::Identity => Prompt::CardRead,
        Screen::Category => Prompt::ChooseCategory,
        Screen::Capture => Prompt::PlacePage,
        Screen::Describe => Prompt::Describe,
        Screen::Phone => Prompt::Phone,
        Screen::Review => Prompt::Review,
        Screen::Submitting => Prompt::Submitting,
        Screen::Receipt => Prompt::Registered,
        Screen::Fault => Prompt::Fault,
        Screen::Progress => Prompt::Progress,
        Screen::Rating => Prompt::Rating,
        Screen::StaffLogin
        | Screen::ClerkMenu
        | Screen::ManualId
        | Screen::QueueView
        | Screen::Technician => return None,
    })
}

/// What a message of this kind on a screen calls for; `None` for messages
/// that need no voice (advice such as "too dark", which the screen shows).
/// Matched on the message's kind, never on its words.
pub fn message_prompt(screen: Screen, kind: MessageKind, is_error: bool) -> Option<Prompt> {
    use MessageKind as K;
    match (screen, kind) {
        (Screen::Card, K::CardUnread) => Some(Prompt::CardRetry),
        (Screen::Card, _) if is_error => Some(Prompt::CardRetry),
        (Screen::Capture, K::HoldStill) => Some(Prompt::HoldStill),
        (Screen::Capture, K::PageBlank) => Some(Prompt::PageBlank),
        (Screen::Capture, K::PageDuplicate) => Some(Prompt::PageDuplicate),
        (Screen::Capture, K::PageTaken) => Some(Prompt::PageTaken),
        (Screen::Capture, K::PlacePage) => Some(Prompt::PlacePage),
        (Screen::Capture, _) if is_error => Some(Prompt::PageRetry),
        (Screen::Capture, _) => None,
        (Screen::Describe, K::VoiceNoSpeech) => Some(Prompt::VoiceNoSpeech),
        (Screen::Receipt, K::ReceiptOnScreen) => Some(Prompt::ReceiptOnScreen),
        (Screen::Receipt, _) if is_error => Some(Prompt::ReceiptOnScreen),
        (Screen::Receipt, K::ReceiptPrinted) => Some(Prompt::TakeReceipt),
        // The fault screen's own prompt already says to ask staff.
        (Screen::Fault, _) => None,
        _ if is_error => Some(Prompt::LookAtScreen),
        _ => None,
    }
}

/// The same prompt is not said again within this time on one screen (the
/// camera's advice can flicker between two states).
const REPEAT_AFTER: Duration = Duration::from_secs(8);

/// Decides, view by view, what is said.
#[derive(Debug)]
pub struct Announcer<F: FnMut(Prompt)> {
    say: F,
    screen: Option<Screen>,
    message: String,
    counting: bool,
    said: HashMap<Prompt, Instant>,
}

impl<F: FnMut(Prompt)> Announcer<F> {
    pub fn new(say: F) -> Self {
        Announcer {
            say,
            screen: None,
            message: String::new(),
            counting: false,
            said: HashMap::new(),
        }
    }

    /// Looks at a new view and says what it calls for, if anything.
    pub fn on_view(&mut self, v: &ViewModel) {
        let screen = v.screen.unwrap_or(Screen::Welcome);
        let counting = v.seconds_left > 0 && screen != Screen::Receipt;
        let message = || {
            v.message_kind
                .and_then(|kind| message_prompt(screen, kind, v.message_is_error))
        };
        let prompt = if self.screen != Some(screen) {
            self.said.clear();
            // Back to the welcome screen on its own (start-up, the receipt's
            // end, the inactivity timeout): nobody may be there to hear it.
            let unattended = matches!(self.screen, None | Some(Screen::Receipt)) || self.counting;
            if screen == Screen::Welcome && unattended {
                None
            } else if v.message.is_empty() {
                screen_prompt(screen)
            } else {
                message().or(screen_prompt(screen))
            }
        } else if counting && !self.counting {
            Some(Prompt::StillThere)
        } else if v.message != self.message && !v.message.is_empty() {
            message()
        } else {
            None
        };
        self.screen = Some(screen);
        self.message.clone_from(&v.message);
        self.counting = counting;
        if let Some(p) = prompt {
            let now = Instant::now();
            let recent = self
                .said
                .get(&p)
                .is_some_and(|t| now.duration_since(*t) < REPEAT_AFTER);
            if !recent {
                self.said.insert(p, now);
                (self.say)(p);
            }
        }
    }
}

/// One view for the voice: no prompt while the microphone is on or a voice
/// note plays (it would be recorded, or talk over the note), and the one
/// playing stops; otherwise the announcer decides.
fn on_update<F: FnMut(Prompt)>(announcer: &mut Announcer<F>, hush: impl FnOnce(), v: &ViewModel) {
    if v.voice_state == 1 || v.voice_playing {
        hush();
    } else {
        announcer.on_view(v);
    }
}

/// Wraps the screen's sink so that every view also goes past the announcer.
/// Returns the sink unchanged when the voice is off or cannot start.
pub fn announcing(sink: Sink, cfg: &VoiceConfig) -> Sink {
    if !cfg.enabled {
        return sink;
    }
    let player = match Player::spawn(player_config(cfg)) {
        Ok(p) => p,
        Err(e) => {
            log::warn!("spoken prompts off: {e}");
            return sink;
        }
    };
    let player = Arc::new(player);
    let speaker = player.clone();
    let announcer = Mutex::new(Announcer::new(move |p| speaker.play(p)));
    Arc::new(move |update: Update| {
        if let Update::View(v) = &update {
            if let Ok(mut a) = announcer.lock() {
                on_update(&mut a, || player.hush(), v);
            }
        }
        sink(update)
    })
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;

    #[test]
    fn no_prompt_plays_while_the_microphone_is_on_or_a_note_plays() {
        let said = Rc::new(RefCell::new(Vec::new()));
        let log = said.clone();
        let mut a = Announcer::new(move |p| log.borrow_mut().push(p));
        let hushed = RefCell::new(0);
        let mut v = ViewModel {
            screen: Some(Screen::Describe),
            voice_state: 1,
            ..ViewModel::default()
        };
        on_update(&mut a, || *hushed.borrow_mut() += 1, &v);
        v.voice_state = 0;
        v.voice_playing = true;
        on_update(&mut a, || *hushed.borrow_mut() += 1, &v);
        assert!(said.borrow().is_empty(), "{:?}", said.borrow());
        assert_eq!(*hushed.borrow(), 2);
        // The note refused for silence, the microphone off: the hint is spoken.
        v.voice_playing = false;
        v.message = "没有听到声音，请靠近话筒再说一次".into();
        v.message_kind = Some(MessageKind::VoiceNoSpeech);
        v.message_is_error = true;
        on_update(&mut a, || *hushed.borrow_mut() += 1, &v);
        assert!(said.borrow().contains(&Prompt::VoiceNoSpeech), "{:?}", said.borrow());
        assert_eq!(*hushed.borrow(), 2);
    }

    const ALL_SCREENS: [Screen; 13] = [
        Screen::Progress,
        Screen::Rating,
        Screen::Welcome,
        Screen::Card,
        Screen::Describe,
        Screen::Phone,
        Screen::Identity,
        Screen::Category,
        Screen::Capture,
        Screen::Review,
        Screen::Submitting,
        Screen::Receipt,
        Screen::Fault,
    ];

    #[test]
    fn every_screen_has_its_own_prompt() {
        let prompts: Vec<Prompt> = ALL_SCREENS.iter().filter_map(|s| screen_prompt(*s)).collect();
        let mut unique = prompts.clone();
        unique.dedup();
        assert_eq!(unique.len(), ALL_SCREENS.len(), "{prompts:?}");
        // Every one was synthesised at build time.
        assert!(prompts.iter().all(|p| p.built_wav().is_some()));
    }

    /// A view; the message's kind follows from the words as the machine and
    /// the controller would give it (the announcer itself only reads the kind).
    fn view(screen: Screen, message: &str, is_error: bool, seconds_left: u64) -> ViewModel {
        use MessageKind as K;
        let kind = match message {
            "" => None,
            "请保持材料不动" => Some(K::HoldStill),
            "请将材料平放在拍摄区域内" => Some(K::PlacePage),
            "正在拍照，请勿移动" => Some(K::Advice),
            "这一页是空白页，请翻到有字的一面" => Some(K::PageBlank),
            "这一页已经拍过了，请放下一页" => Some(K::PageDuplicate),
            "摄像头暂时不可用，请稍后再拍" => Some(K::PageRetry),
            "回执已打印，请取走" => Some(K::ReceiptPrinted),
            m if m.starts_with("已拍第") => Some(K::PageTaken),
            m if m.starts_with("未能读取证件") => Some(K::CardUnread),
            _ if is_error => Some(K::Refused),
            _ => Some(K::Info),
        };
        ViewModel {
            screen: Some(screen),
            message: message.into(),
            message_kind: kind,
            message_is_error: is_error,
            seconds_left,
            ..ViewModel::default()
        }
    }

    type Said = Rc<RefCell<Vec<Prompt>>>;

    fn announcer() -> (Announcer<impl FnMut(Prompt)>, Said) {
        let said = Rc::new(RefCell::new(Vec::new()));
        let log = said.clone();
        (Announcer::new(move |p| log.borrow_mut().push(p)), said)
    }

    #[test]
    fn a_visit_is_spoken_screen_by_screen_and_situation_by_situation() {
        let (mut a, said) = announcer();
        for v in [
            view(Screen::Welcome, "", false, 0),
            view(Screen::Card, "", false, 0),
            view(
                Screen::Card,
                "未能读取证件，请把证件放平，稍等片刻",
                true,
                0,
            ),
            view(Screen::Identity, "", false, 0),
            view(Screen::Category, "", false, 0),
            view(Screen::Category, "", false, 20),
            view(Screen::Category, "", false, 19),
            view(Screen::Capture, "", false, 0),
            view(Screen::Capture, "请保持材料不动", false, 0),
            view(Screen::Capture, "正在拍照，请勿移动", false, 0),
            view(Screen::Capture, "已拍第1页", false, 0),
            view(Screen::Capture, "这一页是空白页，请翻到有字的一面", true, 0),
            view(Screen::Capture, "这一页已经拍过了，请放下一页", true, 0),
            view(Screen::Capture, "摄像头暂时不可用，请稍后再拍", true, 0),
            view(Screen::Review, "", false, 0),
            view(Screen::Review, "请至少拍摄一页材料", true, 0),
            view(Screen::Submitting, "", false, 0),
            view(Screen::Receipt, "", false, 30),
            view(Screen::Receipt, "回执已打印，请取走", false, 29),
            view(Screen::Welcome, "", false, 0),
        ] {
            a.on_view(&v);
        }
        use Prompt::*;
        assert_eq!(
            *said.borrow(),
            [
                PlaceCard,
                CardRetry,
                CardRead,
                ChooseCategory,
                StillThere,
                PlacePage,
                HoldStill,
                PageTaken,
                PageBlank,
                PageDuplicate,
                PageRetry,
                Review,
                LookAtScreen,
                Submitting,
                Registered,
                TakeReceipt,
            ]
        );
    }

    #[test]
    fn welcome_is_said_after_a_cancel_but_not_after_a_timeout() {
        let (mut a, said) = announcer();
        a.on_view(&view(Screen::Category, "", false, 0));
        a.on_view(&view(Screen::Welcome, "", false, 0));
        a.on_view(&view(Screen::Category, "", false, 0));
        a.on_view(&view(Screen::Category, "", false, 1));
        a.on_view(&view(Screen::Welcome, "", false, 0));
        use Prompt::*;
        assert_eq!(
            *said.borrow(),
            [ChooseCategory, Welcome, ChooseCategory, StillThere]
        );
    }

    #[test]
    fn flickering_advice_is_not_repeated_and_unchanged_views_say_nothing() {
        let (mut a, said) = announcer();
        a.on_view(&view(Screen::Capture, "", false, 0));
        for _ in 0..3 {
            a.on_view(&view(Screen::Capture, "请保持材料不动", false, 0));
            a.on_view(&view(Screen::Capture, "请保持材料不动", false, 0));
            a.on_view(&view(Screen::Capture, "请将材料平放在拍摄区域内", false, 0));
        }
        assert_eq!(*said.borrow(), [Prompt::PlacePage, Prompt::HoldStill]);
    }

    #[test]
    fn a_receipt_that_was_not_printed_asks_for_a_photo() {
        assert_eq!(
            message_prompt(Screen::Receipt, MessageKind::ReceiptOnScreen, true),
            Some(Prompt::ReceiptOnScreen)
        );
        assert_eq!(
            message_prompt(Screen::Receipt, MessageKind::ReceiptOnScreen, false),
            Some(Prompt::ReceiptOnScreen)
        );
        assert_eq!(
            message_prompt(Screen::Receipt, MessageKind::ReceiptPrinted, false),
            Some(Prompt::TakeReceipt)
        );
    }

    #[test]
    fn the_words_of_a_message_never_choose_its_prompt() {
        // The same words under another kind say something else, or nothing.
        let (mut a, said) = announcer();
        a.on_view(&view(Screen::Capture, "", false, 0));
        let mut v = view(Screen::Capture, "请保持材料不动", false, 0);
        v.message_kind = Some(MessageKind::Advice);
        a.on_view(&v);
        let mut v = view(Screen::Capture, "这一页已经拍过了", true, 0);
        v.message_kind = Some(MessageKind::PageBlank);
        a.on_view(&v);
        assert_eq!(*said.borrow(), [Prompt::PlacePage, Prompt::PageBlank]);
    }

    #[test]
    fn the_sink_says_the_screen_prompt_on_the_sound_device() {
        // ALSA's `file` device writes what aplay plays into a WAV file.
        let dir = tempfile::tempdir().unwrap();
        let heard = dir.path().join("heard.wav");
        let cfg = VoiceConfig {
            device: format!("file:FILE={},FORMAT=wav", heard.display()),
            volume: 100,
            ..VoiceConfig::default()
        };
        let shown = Arc::new(Mutex::new(Vec::new()));
        let inner: Sink = {
            let shown = shown.clone();
            Arc::new(move |u: Update| {
                if let Update::View(v) = u {
                    shown.lock().unwrap().push(v.screen);
                }
            })
        };
        let sink = announcing(inner, &cfg);
        sink(Update::View(Box::new(view(Screen::Card, "", false, 0))));
        assert_eq!(*shown.lock().unwrap(), [Some(Screen::Card)]);

        let expected = kiosk_voice::wav::parse(Prompt::PlaceCard.built_wav().unwrap())
            .unwrap()
            .data_len;
        let deadline = Instant::now() + Duration::from_secs(10);
        let got = loop {
            let len = std::fs::read(&heard)
                .ok()
                .and_then(|b| kiosk_voice::wav::parse(&b).ok())
                .map_or(0, |i| i.data_len);
            if len >= expected || Instant::now() > deadline {
                break len;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        assert!(got >= expected, "heard {got} of {expected} bytes");
    }

    #[test]
    fn settings_are_checked() {
        let cfg: crate::Config = toml::from_str("[voice]\nvolume = 101\n").unwrap();
        assert!(cfg
            .validate()
            .unwrap_err()
            .to_string()
            .contains("voice.volume"));
        assert!(toml::from_str::<crate::Config>("[voice]\nspeed = 2\n").is_err());
        let cfg: crate::Config =
            toml::from_str("[voice]\nenabled = false\ndir = \"/srv/voice\"\n").unwrap();
        assert!(!cfg.voice.enabled);
        assert_eq!(
            player_config(&cfg.voice).dir.as_deref(),
            Some(std::path::Path::new("/srv/voice"))
        );
    }
}
