//! One composition on the on-screen keyboard: the letters typed, the
//! candidates paged to fit the candidate bar, and the words picked so far.
//!
//! Picking a candidate converts the letters it covers; the rest stay to be
//! converted ("zhengdibuchang": pick 征地, then 补偿). When nothing is left,
//! the picked words are committed to the text. Backspace removes the last
//! letter; when it removes the last unconverted letter, the words already
//! picked are committed. Space takes the first candidate; "done" takes the
//! first candidate until everything is converted. A digit or punctuation
//! mark commits what is composed (picks and raw letters) and then itself.

use crate::engine::{Candidate, Engine};

/// At most this many letters are composed at once.
pub const MAX_LETTERS: usize = 30;
/// At most this many candidates on one page.
const MAX_PER_PAGE: usize = 8;

/// A key of the on-screen keyboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    /// A letter a–z (upper case is folded).
    Letter(char),
    /// A digit or punctuation mark, typed as itself.
    Text(String),
    /// Pick the candidate at this position of the current page.
    Pick(usize),
    /// Previous (negative) or next (positive) page of candidates.
    Page(i32),
    Backspace,
    /// Takes the first candidate; without a composition, a space.
    Space,
    /// Ends the composition: what is left is converted with the first
    /// candidate each time, letters that fit no word stay letters.
    Done,
}

/// What a key does to the text being written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Only the composition changed (or nothing did).
    Composing,
    /// Append this to the text.
    Commit(String),
    /// Not composing: delete the text's last character.
    DeleteBack,
}

/// The state of one composition.
#[derive(Debug, Clone)]
pub struct Composer {
    /// Every letter typed in this composition.
    letters: String,
    /// Words picked so far and how many letters each converted.
    picks: Vec<(String, usize)>,
    candidates: Vec<Candidate>,
    /// Start of each page in `candidates`.
    pages: Vec<usize>,
    page: usize,
    /// Width budget of a page, in character cells (each candidate costs its
    /// characters plus one for its margins).
    page_cells: usize,
}

impl Composer {
    /// An empty composition whose pages fit `page_cells` character cells.
    pub fn new(page_cells: usize) -> Composer {
        Composer {
            letters: String::new(),
            picks: Vec::new(),
            candidates: Vec::new(),
            pages: Vec::new(),
            page: 0,
            page_cells: page_cells.max(2),
        }
    }

    /// True while letters are waiting to be converted.
    pub fn is_composing(&self) -> bool {
        !self.letters.is_empty()
    }

    /// Forgets the composition (a new visit, the screen left).
    pub fn clear(&mut self) {
        self.letters.clear();
        self.picks.clear();
        self.candidates.clear();
        self.pages.clear();
        self.page = 0;
    }

    fn converted(&self) -> usize {
        self.picks.iter().map(|(_, n)| n).sum()
    }

    fn remaining(&self) -> &str {
        self.letters.get(self.converted()..).unwrap_or("")
    }

    /// The composing line: the words picked, then the letters left split into syllables.
    pub fn preedit(&self, engine: &Engine) -> String {
        let picked: String = self.picks.iter().map(|(w, _)| w.as_str()).collect();
        let rest = engine.segment(self.remaining()).join(" ");
        match (picked.is_empty(), rest.is_empty()) {
            (_, true) => picked,
            (true, false) => rest,
            (false, false) => format!("{picked} {rest}"),
        }
    }

    /// The candidates on the current page.
    pub fn page_candidates(&self) -> &[Candidate] {
        let Some(&start) = self.pages.get(self.page) else {
            return &[];
        };
        let end = self
            .pages
            .get(self.page + 1)
            .copied()
            .unwrap_or(self.candidates.len());
        self.candidates.get(start..end).unwrap_or(&[])
    }

    pub fn has_prev_page(&self) -> bool {
        self.page > 0
    }

    pub fn has_next_page(&self) -> bool {
        self.page + 1 < self.pages.len()
    }

    /// Applies one key.
    pub fn press(&mut self, engine: &Engine, key: Key) -> Outcome {
        match key {
            Key::Letter(c) => {
                let c = c.to_ascii_lowercase();
                if c.is_ascii_lowercase() && self.letters.len() < MAX_LETTERS {
                    self.letters.push(c);
                    self.refresh(engine);
                }
                Outcome::Composing
            }
            Key::Text(t) => {
                let mut out = self.take_all();
                out.push_str(&t);
                Outcome::Commit(out)
            }
            Key::Pick(i) => match self.page_candidates().get(i).cloned() {
                Some(c) => self.pick(engine, c),
                None => Outcome::Composing,
            },
            Key::Page(delta) => {
                let last = self.pages.len().saturating_sub(1) as i64;
                self.page = (self.page as i64 + i64::from(delta)).clamp(0, last.max(0)) as usize;
                Outcome::Composing
            }
            Key::Backspace => {
                if !self.is_composing() {
                    return Outcome::DeleteBack;
                }
                if self.remaining().is_empty() {
                    return Outcome::Commit(self.take_all());
                }
                self.letters.pop();
                if self.remaining().is_empty() {
                    return Outcome::Commit(self.take_all());
                }
                self.refresh(engine);
                Outcome::Composing
            }
            Key::Space => {
                if !self.is_composing() {
                    return Outcome::Commit(" ".into());
                }
                match self.candidates.first().cloned() {
                    Some(c) => self.pick(engine, c),
                    None => Outcome::Commit(self.take_all()),
                }
            }
            Key::Done => {
                if !self.is_composing() {
                    return Outcome::Composing;
                }
                // Each pick converts at least one letter, so this ends.
                for _ in 0..=MAX_LETTERS {
                    let Some(c) = self.candidates.first().cloned() else {
                        break;
                    };
                    if let Outcome::Commit(text) = self.pick(engine, c) {
                        return Outcome::Commit(text);
                    }
                }
                Outcome::Commit(self.take_all())
            }
        }
    }

    fn pick(&mut self, engine: &Engine, c: Candidate) -> Outcome {
        let left = self.remaining().len();
        let n = c.letters.min(left);
        self.picks.push((c.text, n));
        if n >= left {
            let text: String = self.picks.iter().map(|(w, _)| w.as_str()).collect();
            self.clear();
            return Outcome::Commit(text);
        }
        self.refresh(engine);
        Outcome::Composing
    }

    /// Everything composed, as it stands: picks, then unconverted letters.
    fn take_all(&mut self) -> String {
        let mut out: String = self.picks.iter().map(|(w, _)| w.as_str()).collect();
        out.push_str(self.remaining());
        self.clear();
        out
    }

    fn refresh(&mut self, engine: &Engine) {
        self.candidates = engine.candidates(self.remaining());
        self.pages.clear();
        self.page = 0;
        let mut cells = 0;
        let mut on_page = 0;
        for (i, c) in self.candidates.iter().enumerate() {
            let cost = c.text.chars().count() + 1;
            if i == 0 || cells + cost > self.page_cells || on_page == MAX_PER_PAGE {
                self.pages.push(i);
                cells = 0;
                on_page = 0;
            }
            cells += cost;
            on_page += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn typed(c: &mut Composer, e: &Engine, letters: &str) {
        for l in letters.chars() {
            assert_eq!(c.press(e, Key::Letter(l)), Outcome::Composing);
        }
    }

    fn pick_word(c: &mut Composer, e: &Engine, word: &str) -> Outcome {
        for _ in 0..40 {
            if let Some(i) = c.page_candidates().iter().position(|x| x.text == word) {
                return c.press(e, Key::Pick(i));
            }
            if !c.has_next_page() {
                break;
            }
            c.press(e, Key::Page(1));
        }
        panic!("{word} not offered");
    }

    #[test]
    fn typing_and_picking_commits_the_word() {
        let e = Engine::new();
        let mut c = Composer::new(16);
        typed(&mut c, &e, "gongzi");
        assert_eq!(c.preedit(&e), "gong zi");
        assert!(c.page_candidates().iter().any(|x| x.text == "工资"));
        assert_eq!(
            pick_word(&mut c, &e, "工资"),
            Outcome::Commit("工资".into())
        );
        assert!(!c.is_composing());
        assert!(c.page_candidates().is_empty());
    }

    #[test]
    fn picking_part_converts_the_rest_later() {
        let e = Engine::new();
        let mut c = Composer::new(16);
        typed(&mut c, &e, "zhengdibuchang");
        assert_eq!(pick_word(&mut c, &e, "征地"), Outcome::Composing);
        assert_eq!(c.preedit(&e), "征地 bu chang");
        assert_eq!(
            pick_word(&mut c, &e, "补偿"),
            Outcome::Commit("征地补偿".into())
        );
    }

    #[test]
    fn pages_fit_the_budget_and_turn() {
        let e = Engine::new();
        let mut c = Composer::new(12);
        typed(&mut c, &e, "shi");
        let first: Vec<String> = c.page_candidates().iter().map(|x| x.text.clone()).collect();
        let cells: usize = c
            .page_candidates()
            .iter()
            .map(|x| x.text.chars().count() + 1)
            .sum();
        assert!(cells <= 12 && !first.is_empty());
        assert!(!c.has_prev_page() && c.has_next_page());
        c.press(&e, Key::Page(1));
        assert!(c.has_prev_page());
        assert_ne!(c.page_candidates()[0].text, first[0]);
        c.press(&e, Key::Page(-5));
        assert_eq!(c.page_candidates()[0].text, first[0]);
    }

    #[test]
    fn backspace_space_text_and_done() {
        let e = Engine::new();
        let mut c = Composer::new(16);
        assert_eq!(c.press(&e, Key::Backspace), Outcome::DeleteBack);
        assert_eq!(c.press(&e, Key::Space), Outcome::Commit(" ".into()));
        typed(&mut c, &e, "tuoqianx");
        assert_eq!(c.press(&e, Key::Backspace), Outcome::Composing);
        assert_eq!(c.preedit(&e), "tuo qian");
        let Outcome::Commit(first) = c.press(&e, Key::Space) else {
            panic!("space commits the first candidate");
        };
        assert_eq!(first.chars().count(), 2);
        typed(&mut c, &e, "ab");
        assert_eq!(
            c.press(&e, Key::Text("，".into())),
            Outcome::Commit("ab，".into())
        );
        typed(&mut c, &e, "gongzi");
        assert_eq!(c.press(&e, Key::Done), Outcome::Commit("工资".into()));
        typed(&mut c, &e, "vvv");
        assert_eq!(c.press(&e, Key::Done), Outcome::Commit("vvv".into()));
        assert_eq!(c.press(&e, Key::Done), Outcome::Composing);
        typed(&mut c, &e, "zhengdiq");
        pick_word(&mut c, &e, "征地");
        assert_eq!(c.press(&e, Key::Backspace), Outcome::Commit("征地".into()));
    }

    #[test]
    fn garbage_keys_leave_a_sensible_state() {
        let e = Engine::new();
        let mut c = Composer::new(16);
        for k in ['1', '你', ' ', 'A'] {
            c.press(&e, Key::Letter(k));
        }
        assert_eq!(c.preedit(&e), "a");
        assert_eq!(c.press(&e, Key::Pick(99)), Outcome::Composing);
        c.clear();
        typed(&mut c, &e, &"v".repeat(40));
        assert_eq!(c.preedit(&e).replace(' ', "").len(), MAX_LETTERS);
        assert!(c.page_candidates().is_empty());
        assert_eq!(c.press(&e, Key::Page(3)), Outcome::Composing);
        assert_eq!(
            c.press(&e, Key::Space),
            Outcome::Commit("v".repeat(MAX_LETTERS))
        );
    }
}
