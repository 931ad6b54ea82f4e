//! The description screen's input method: the on-screen keyboard's keys go
//! through a `kiosk_ime::Composer` (pinyin → candidates → picked words) and
//! come out as the whole new description for the intake machine
//! (`Event::DescriptionEdited`). The composition lives here, outside the
//! machine, because it needs the candidate table; what is committed lives in
//! the machine's session, so it is wiped with the session.

use intake::{Event, Intake, KeyboardKey, Screen};
use kiosk_ime::{Composer, Engine, Key, Outcome};
use kiosk_privacy::PersonalText;

use crate::view::ViewModel;

/// Width budget of a candidate page in character cells (a candidate costs
/// its characters plus one): about 640 px of candidates at 40 px per character.
const PAGE_CELLS: usize = 16;

/// The input method of the description screen.
#[derive(Debug)]
pub struct Typing {
    engine: Engine,
    composer: Composer,
}

impl Default for Typing {
    fn default() -> Self {
        Typing::new()
    }
}

impl Typing {
    pub fn new() -> Typing {
        Typing {
            engine: Engine::new(),
            composer: Composer::new(PAGE_CELLS),
        }
    }

    /// Runs the keyboard's part of `event` before the machine sees it; returns
    /// the description as it is after the key, when the key changed it.
    pub fn before(&mut self, event: &Event, machine: &Intake) -> Option<PersonalText> {
        if machine.screen() != Screen::Describe {
            self.composer.clear();
            return None;
        }
        let outcome = match event {
            Event::Keyboard(key) => self.composer.press(&self.engine, ime_key(key)),
            // "下一步"/"完成": what is being composed is converted and kept.
            Event::FinishDescription => self.composer.press(&self.engine, Key::Done),
            Event::SkipDescription | Event::Back | Event::Cancel => {
                self.composer.clear();
                return None;
            }
            _ => return None,
        };
        let current = machine
            .session()
            .map(|s| s.description.expose())
            .unwrap_or("");
        match outcome {
            Outcome::Composing => None,
            Outcome::Commit(text) => Some(PersonalText::new(format!("{current}{text}"))),
            Outcome::DeleteBack if current.is_empty() => None,
            Outcome::DeleteBack => {
                let mut text = current.to_string();
                text.pop();
                Some(PersonalText::new(text))
            }
        }
    }

    /// Puts the composition on the view (description screen only).
    pub fn show(&mut self, machine: &Intake, v: &mut ViewModel) {
        if machine.screen() != Screen::Describe || machine.session().is_none() {
            self.composer.clear();
            return;
        }
        v.ime_preedit = self.composer.preedit(&self.engine);
        v.ime_candidates = self
            .composer
            .page_candidates()
            .iter()
            .map(|c| c.text.clone())
            .collect();
        v.ime_has_prev = self.composer.has_prev_page();
        v.ime_has_next = self.composer.has_next_page();
    }
}

fn ime_key(key: &KeyboardKey) -> Key {
    match key {
        KeyboardKey::Letter(c) => Key::Letter(*c),
        KeyboardKey::Text(t) => Key::Text(t.clone()),
        KeyboardKey::Pick(i) => Key::Pick(*i),
        KeyboardKey::Page(d) => Key::Page(*d),
        KeyboardKey::Backspace => Key::Backspace,
        KeyboardKey::Space => Key::Space,
    }
}
