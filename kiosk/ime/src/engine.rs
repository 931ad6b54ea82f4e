//! Segmentation of typed letters into syllables and the candidate search.
//!
//! A word matches the typed letters when its syllables, one after the other,
//! each cover the next letters as the whole syllable ("gong"), as its initial
//! only ("g", "zh"; "z" also stands for "zh"), or, at the very end, as the
//! beginning of it ("qia" for "qian"). The search walks the sorted table
//! syllable by syllable, so every way of splitting the letters is tried and
//! only splits that some word follows are explored.

use std::collections::HashMap;

use crate::table::{self, Table};

/// Consonant initials; a lone initial stands for any syllable starting with it.
const INITIALS: [&str; 23] = [
    "zh", "ch", "sh", "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x", "r",
    "z", "c", "s", "y", "w",
];
/// The longest syllable has six letters ("zhuang", "shuang").
const MAX_SYLLABLE: usize = 6;
/// The table's words have at most this many syllables.
const MAX_WORD: usize = 4;
/// How many candidates a look-up returns at most.
const MAX_CANDIDATES: usize = 300;
/// Bound on the entries visited by one look-up (garbage input stays cheap).
const MAX_VISITS: usize = 200_000;

/// How a syllable was typed: in full, its beginning at the end of the input,
/// or its initial only. Ranked in that order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Typed {
    Full = 0,
    Partial = 1,
    Initial = 2,
}

/// One offer of the candidate bar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The characters offered.
    pub text: String,
    /// How many of the typed letters (from the start) it converts.
    pub letters: usize,
}

/// The immutable pinyin engine: the table and the syllable inventory.
#[derive(Debug)]
pub struct Engine {
    table: Table,
    names: Vec<&'static str>,
    by_name: HashMap<&'static str, u16>,
}

impl Default for Engine {
    fn default() -> Self {
        Engine::new()
    }
}

impl Engine {
    /// The engine on the embedded table; takes well under a millisecond.
    pub fn new() -> Engine {
        let names: Vec<&'static str> = table::syllables().collect();
        let by_name = names
            .iter()
            .enumerate()
            .map(|(i, s)| (*s, i as u16))
            .collect();
        Engine {
            table: Table::embedded(),
            names,
            by_name,
        }
    }

    /// Number of entries (word, reading) in the table.
    pub fn entries(&self) -> usize {
        self.table.len()
    }

    /// Bytes of the embedded table.
    pub fn table_bytes(&self) -> usize {
        self.table.bytes()
    }

    /// Whether `s` is a syllable of the table.
    pub fn is_syllable(&self, s: &str) -> bool {
        self.by_name.contains_key(s)
    }

    /// The letters split into syllables as the composing line shows them:
    /// whole syllables where possible, then fewest pieces; initials and an
    /// unfinished end stand alone, letters that fit nothing one by one.
    pub fn segment(&self, letters: &str) -> Vec<String> {
        if !letters.bytes().all(|c| c.is_ascii_lowercase()) {
            return letters.chars().map(String::from).collect();
        }
        let b = letters.as_bytes();
        let n = b.len();
        // best[i]: (cost, previous cut) for the letters before i.
        let mut best: Vec<Option<((u32, u32), usize)>> = vec![None; n + 1];
        best[0] = Some(((0, 0), 0));
        for i in 0..n {
            let Some(((bad, pieces), _)) = best[i] else {
                continue;
            };
            let mut relax = |j: usize, cost: u32| {
                let c = (bad + cost, pieces + 1);
                if best[j].is_none_or(|(old, _)| c < old) {
                    best[j] = Some((c, i));
                }
            };
            for j in i + 1..=(i + MAX_SYLLABLE).min(n) {
                let piece = &letters[i..j];
                if self.is_syllable(piece) {
                    relax(j, 0);
                } else if j == n && self.is_prefix(piece) {
                    relax(j, 1);
                }
            }
            if let Some(init) = initial_at(b, i) {
                relax(i + init.len(), 2);
            }
            relax(i + 1, 10);
        }
        let mut cuts = vec![n];
        let mut at = n;
        while at > 0 {
            let Some((_, prev)) = best[at] else { break };
            cuts.push(prev);
            at = prev;
        }
        cuts.reverse();
        cuts.windows(2)
            .filter_map(|w| letters.get(w[0]..w[1]))
            .map(str::to_string)
            .collect()
    }

    fn is_prefix(&self, piece: &str) -> bool {
        self.names.iter().any(|s| s.starts_with(piece))
    }

    /// The syllables the letters from `pos` can stand for: (end, syllable, how).
    fn options(&self, letters: &str, pos: usize) -> Vec<(usize, u16, Typed)> {
        let b = letters.as_bytes();
        let n = b.len();
        let mut out: Vec<(usize, u16, Typed)> = Vec::new();
        let mut add = |end: usize, id: u16, how: Typed| match out
            .iter_mut()
            .find(|(e, i, _)| *e == end && *i == id)
        {
            Some(o) => o.2 = o.2.min(how),
            None => out.push((end, id, how)),
        };
        for end in pos + 1..=(pos + MAX_SYLLABLE).min(n) {
            if let Some(&id) = letters.get(pos..end).and_then(|p| self.by_name.get(p)) {
                add(end, id, Typed::Full);
            }
        }
        if pos < n && n - pos <= MAX_SYLLABLE {
            let rest = &letters[pos..];
            for (id, s) in self.names.iter().enumerate() {
                if s.len() > rest.len() && s.starts_with(rest) {
                    add(n, id as u16, Typed::Partial);
                }
            }
        }
        // An initial stands alone only when no vowel follows it: "gz" is
        // abbreviated, "go…" is being spelled out.
        let abbreviated = initial_at(b, pos).filter(|init| {
            b.get(pos + init.len())
                .is_none_or(|c| !b"aeiouv".contains(c))
        });
        if let Some(init) = abbreviated {
            for (id, s) in self.names.iter().enumerate() {
                if s.starts_with(init) && s.len() > init.len() {
                    add(pos + init.len(), id as u16, Typed::Initial);
                }
            }
        }
        out
    }

    /// Candidates for the typed letters (a–z; anything else yields none):
    /// first the words that convert the most letters, and among those the
    /// ones typed most fully, then the most frequent. Each word appears once.
    pub fn candidates(&self, letters: &str) -> Vec<Candidate> {
        if letters.is_empty() || !letters.bytes().all(|c| c.is_ascii_lowercase()) {
            return Vec::new();
        }
        let mut found: HashMap<&'static str, (usize, u32, u32)> = HashMap::new();
        let mut visits = 0usize;
        self.descend(
            letters,
            0,
            0,
            0..self.table.len(),
            0,
            &mut found,
            &mut visits,
        );
        let mut list: Vec<(&'static str, (usize, u32, u32))> = found.into_iter().collect();
        list.sort_by(|(wa, (la, pa, fa)), (wb, (lb, pb, fb))| {
            lb.cmp(la)
                .then(pa.cmp(pb))
                .then(fb.cmp(fa))
                .then(wa.cmp(wb))
        });
        list.truncate(MAX_CANDIDATES);
        list.into_iter()
            .map(|(w, (letters, _, _))| Candidate {
                text: w.to_string(),
                letters,
            })
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn descend(
        &self,
        letters: &str,
        pos: usize,
        depth: usize,
        range: std::ops::Range<usize>,
        penalty: u32,
        found: &mut HashMap<&'static str, (usize, u32, u32)>,
        visits: &mut usize,
    ) {
        if depth > 0 {
            for i in range.clone() {
                let e = self.table.entry(i);
                if e.len() != depth {
                    break;
                }
                *visits += 1;
                let offer = (pos, penalty, e.freq);
                let slot = found.entry(e.word).or_insert(offer);
                // More letters, then fewer abbreviations, then higher frequency.
                if (offer.0, std::cmp::Reverse(offer.1), offer.2)
                    > (slot.0, std::cmp::Reverse(slot.1), slot.2)
                {
                    *slot = offer;
                }
            }
        }
        if depth == MAX_WORD || pos >= letters.len() || *visits > MAX_VISITS {
            return;
        }
        for (end, syl, how) in self.options(letters, pos) {
            let sub = self.table.narrow(range.clone(), depth, syl);
            if !sub.is_empty() {
                self.descend(
                    letters,
                    end,
                    depth + 1,
                    sub,
                    penalty + how as u32,
                    found,
                    visits,
                );
            }
        }
    }
}

/// The consonant initial the letters start with at `pos`, if any.
fn initial_at(b: &[u8], pos: usize) -> Option<&'static str> {
    let rest = b.get(pos..)?;
    INITIALS
        .iter()
        .copied()
        .find(|i| rest.starts_with(i.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn top(engine: &Engine, letters: &str, n: usize) -> Vec<String> {
        engine
            .candidates(letters)
            .into_iter()
            .take(n)
            .map(|c| c.text)
            .collect()
    }

    #[test]
    fn segments_full_syllables_initials_and_an_unfinished_end() {
        let e = Engine::new();
        assert_eq!(e.segment("gongzi"), ["gong", "zi"]);
        assert_eq!(e.segment("zhengdibuchang"), ["zheng", "di", "bu", "chang"]);
        assert_eq!(e.segment("gz"), ["g", "z"]);
        assert_eq!(e.segment("tuoqia"), ["tuo", "qia"]);
        assert_eq!(e.segment("xian"), ["xian"]);
        assert_eq!(e.segment("zhuan"), ["zhuan"]);
        assert!(e.segment("").is_empty());
    }

    #[test]
    fn tuoqian_offers_tuoqian_among_the_first_three() {
        let e = Engine::new();
        let t = top(&e, "tuoqian", 3);
        assert!(t.iter().any(|w| w == "拖欠"), "{t:?}");
    }

    #[test]
    fn gongzi_offers_wages_on_the_first_page() {
        let e = Engine::new();
        let t = top(&e, "gongzi", 5);
        assert!(t.iter().any(|w| w == "工资"), "{t:?}");
    }

    #[test]
    fn long_input_offers_the_compound_or_its_first_word() {
        let e = Engine::new();
        let c = e.candidates("zhengdibuchang");
        let first = &c[0];
        assert!(
            first.text == "征地补偿" || (first.text == "征地" && first.letters == 7),
            "{c:?}"
        );
        assert!(
            c.iter().take(5).any(|x| x.text == "征地补偿"),
            "domain word offered"
        );
    }

    #[test]
    fn initials_only_find_wages() {
        let e = Engine::new();
        let c = e.candidates("gz");
        let pos = c.iter().position(|x| x.text == "工资");
        assert!(
            pos.is_some_and(|p| p < 40),
            "工资 at {pos:?} in {:?}",
            &c[..c.len().min(10)]
        );
        assert_eq!(c[pos.unwrap_or(0)].letters, 2);
    }

    #[test]
    fn an_unfinished_last_syllable_is_completed() {
        let e = Engine::new();
        assert!(top(&e, "tuoqia", 5).iter().any(|w| w == "拖欠"));
        assert!(top(&e, "xinf", 5).iter().any(|w| w == "信访"));
    }

    #[test]
    fn domain_words_come_first() {
        let e = Engine::new();
        for (letters, word) in [
            ("chaiqian", "拆迁"),
            ("xinfang", "信访"),
            ("cunweihui", "村委会"),
            ("zhenzhengfu", "镇政府"),
            ("buchang", "补偿"),
            ("zhengdi", "征地"),
        ] {
            let t = top(&e, letters, 3);
            assert!(t.iter().any(|w| w == word), "{letters}: {t:?}");
        }
    }

    #[test]
    fn single_syllables_offer_characters_then_shorter_conversions_follow() {
        let e = Engine::new();
        let c = e.candidates("shi");
        assert!(c.iter().take(5).any(|x| x.text == "是"), "{:?}", &c[..5]);
        let c = e.candidates("womenyao");
        assert_eq!(
            c.last().map(|x| x.letters),
            Some(2),
            "single characters of wo come last"
        );
        assert!(c.iter().any(|x| x.text == "我们" && x.letters == 5));
    }

    #[test]
    fn garbage_gives_no_candidates_and_no_panic() {
        let e = Engine::new();
        for junk in [
            "",
            "vvvv",
            "iiiii",
            "uuu",
            "qqqqqqqqqqqqqqqqqqqqqqqqqqqqqq",
            "ABC",
            "gong zi",
            "字",
        ] {
            let c = e.candidates(junk);
            assert!(c.iter().all(|x| x.letters <= junk.len()), "{junk:?}");
            let _ = e.segment(junk);
        }
        assert!(e.candidates("vvvv").is_empty());
        assert!(e.candidates("ABC").is_empty());
    }
}
