//! The evaluation set and its scoring.
//!
//! `eval/cases.toml` holds short synthetic petition texts (SPECIMEN, written
//! for this purpose) with the expected category and unit under the example
//! routing file, and pairs of registrations by one petitioner that are, or
//! are not, the same matter. [`evaluate`] classifies every case as if the
//! petitioner had chosen "not sure" (unless the case names a tile) and counts
//! hits, the confusions, and the repeat check's verdicts on the pairs.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use serde::Deserialize;

use crate::classifier::{Classifier, ClassifyInput};
use crate::repeat::{
    check, PetitionerKey, Probe, RecentRegistrations, RepeatPolicy, StoredRegistration,
    TerminalSecret, TextFingerprint,
};
use crate::{read_file, ClassifyError};

/// The built-in evaluation set.
pub const BUILTIN_CASES: &str = include_str!("../eval/cases.toml");

/// One petition text with its expected answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalCase {
    /// Short identifier.
    pub id: String,
    /// Expected category code.
    pub category: String,
    /// Expected unit code.
    pub unit: String,
    /// The recognised page text.
    pub text: String,
    /// The petitioner's description.
    #[serde(default)]
    pub description: String,
    /// The tile chosen (default: not sure).
    pub tile: Option<String>,
    /// Written after the rules were tuned (reported on its own).
    #[serde(default)]
    pub holdout: bool,
}

/// Two registrations by one petitioner.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepeatPair {
    /// The earlier registration: the id of a case.
    pub first: String,
    /// The later registration's text.
    pub second: String,
    /// True when it is the same matter.
    pub same: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EvalFile {
    case: Vec<EvalCase>,
    #[serde(default)]
    pair: Vec<RepeatPair>,
}

/// The cases and pairs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EvalSet {
    /// Every case.
    pub cases: Vec<EvalCase>,
    /// Every pair.
    pub pairs: Vec<RepeatPair>,
}

impl EvalSet {
    /// Parses an evaluation file.
    pub fn parse(text: &str) -> Result<Self, ClassifyError> {
        let f: EvalFile = toml::from_str(text).map_err(|source| ClassifyError::Parse {
            what: "evaluation",
            source,
        })?;
        for p in &f.pair {
            if !f.case.iter().any(|c| c.id == p.first) {
                return Err(ClassifyError::Invalid {
                    what: "evaluation",
                    detail: format!("pair names unknown case {}", p.first),
                });
            }
        }
        Ok(EvalSet {
            cases: f.case,
            pairs: f.pair,
        })
    }

    /// Loads an evaluation file.
    pub fn load(path: &Path) -> Result<Self, ClassifyError> {
        Self::parse(&read_file(path)?)
    }

    /// The built-in set.
    pub fn builtin() -> Result<Self, ClassifyError> {
        Self::parse(BUILTIN_CASES)
    }
}

/// A case the classifier got wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct Miss {
    /// The case id.
    pub id: String,
    /// Expected category and unit.
    pub expected: (String, String),
    /// Suggested category and unit.
    pub got: (String, String),
    /// The suggestion's evidence.
    pub evidence: Vec<String>,
}

/// Verdict counts of the repeat check on the pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PairCounts {
    /// Same matter, flagged.
    pub true_pos: usize,
    /// Different matter, flagged.
    pub false_pos: usize,
    /// Different matter, not flagged.
    pub true_neg: usize,
    /// Same matter, not flagged.
    pub false_neg: usize,
}

/// The outcome of an evaluation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EvalReport {
    /// Category codes in taxonomy order (the confusion table's axes).
    pub codes: Vec<(String, String)>,
    /// Cases classified.
    pub cases: usize,
    /// Cases with the right category.
    pub category_ok: usize,
    /// Cases with the right unit.
    pub unit_ok: usize,
    /// Cases whose suggestion was confident.
    pub confident: usize,
    /// Confident cases with the right category.
    pub confident_ok: usize,
    /// (expected, suggested) category counts.
    pub confusion: BTreeMap<(String, String), usize>,
    /// The wrong ones.
    pub misses: Vec<Miss>,
    /// Repeat check verdicts.
    pub pairs: PairCounts,
}

impl EvalReport {
    /// Share of cases with the right category.
    pub fn category_accuracy(&self) -> f32 {
        ratio(self.category_ok, self.cases)
    }

    /// Share of cases with the right unit.
    pub fn unit_accuracy(&self) -> f32 {
        ratio(self.unit_ok, self.cases)
    }

    /// The most frequent confusions, most frequent first: (expected, suggested, count).
    pub fn top_confusions(&self, n: usize) -> Vec<(String, String, usize)> {
        let mut v: Vec<_> = self
            .confusion
            .iter()
            .filter(|((e, g), _)| e != g)
            .map(|((e, g), c)| (e.clone(), g.clone(), *c))
            .collect();
        v.sort_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        v.truncate(n);
        v
    }

    /// A plain-text report: accuracy, confusion table, misses, repeat counts.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "cases {}", self.cases);
        let _ = writeln!(
            s,
            "category accuracy {:.1}% ({}/{})",
            100.0 * self.category_accuracy(),
            self.category_ok,
            self.cases
        );
        let _ = writeln!(
            s,
            "unit accuracy     {:.1}% ({}/{})",
            100.0 * self.unit_accuracy(),
            self.unit_ok,
            self.cases
        );
        let _ =
            writeln!(
            s,
            "confident suggestions {} of {}, category right in {:.1}% of them; the others {:.1}%",
            self.confident,
            self.cases,
            100.0 * ratio(self.confident_ok, self.confident),
            100.0 * ratio(self.category_ok - self.confident_ok, self.cases - self.confident)
        );
        let _ = writeln!(s, "\nconfusion (rows: expected, columns: suggested)");
        let short = |label: &str| label.chars().take(2).collect::<String>();
        let _ = write!(s, "{:<6}", "");
        for (_, label) in &self.codes {
            let _ = write!(s, " {}", short(label));
        }
        let _ = writeln!(s);
        for (exp, label) in &self.codes {
            let _ = write!(s, "{}  ", short(label));
            for (got, _) in &self.codes {
                match self.confusion.get(&(exp.clone(), got.clone())) {
                    Some(n) => {
                        let _ = write!(s, " {n:>4}");
                    }
                    None => {
                        let _ = write!(s, " {:>4}", ".");
                    }
                }
            }
            let _ = writeln!(s);
        }
        let _ = writeln!(s, "\nmain confusions (expected -> suggested)");
        for (e, g, n) in self.top_confusions(8) {
            let _ = writeln!(s, "  {e} -> {g}: {n}");
        }
        let _ = writeln!(s, "\nmisses");
        for m in &self.misses {
            let _ = writeln!(
                s,
                "  {}: expected {}/{}, got {}/{} ({})",
                m.id,
                m.expected.0,
                m.expected.1,
                m.got.0,
                m.got.1,
                m.evidence.join("、")
            );
        }
        let p = self.pairs;
        let _ = writeln!(
            s,
            "\nrepeat pairs {}: flagged same {} of {} (recall), wrongly flagged {} of {} different",
            p.true_pos + p.false_pos + p.true_neg + p.false_neg,
            p.true_pos,
            p.true_pos + p.false_neg,
            p.false_pos,
            p.false_pos + p.true_neg
        );
        s
    }
}

fn ratio(a: usize, b: usize) -> f32 {
    if b == 0 {
        0.0
    } else {
        a as f32 / b as f32
    }
}

/// Classifies the cases that `keep` selects and checks every pair whose first case is kept.
pub fn evaluate(
    classifier: &Classifier,
    set: &EvalSet,
    keep: impl Fn(&EvalCase) -> bool,
) -> EvalReport {
    let mut r = EvalReport {
        codes: classifier
            .taxonomy()
            .categories()
            .iter()
            .map(|c| (c.code.clone(), c.label.clone()))
            .collect(),
        ..Default::default()
    };
    for case in set.cases.iter().filter(|c| keep(c)) {
        let texts = [case.text.as_str()];
        let input = ClassifyInput {
            texts: &texts,
            description: &case.description,
            tile: case.tile.as_deref(),
            ..Default::default()
        };
        let top = classifier.classify(&input).remove(0);
        r.cases += 1;
        let cat_ok = top.category == case.category;
        let unit_ok = top.unit_code == case.unit;
        r.category_ok += usize::from(cat_ok);
        r.unit_ok += usize::from(unit_ok);
        r.confident += usize::from(top.confident);
        r.confident_ok += usize::from(top.confident && cat_ok);
        *r.confusion
            .entry((case.category.clone(), top.category.clone()))
            .or_default() += 1;
        if !(cat_ok && unit_ok) {
            r.misses.push(Miss {
                id: case.id.clone(),
                expected: (case.category.clone(), case.unit.clone()),
                got: (top.category, top.unit_code),
                evidence: top.evidence,
            });
        }
    }
    let secret = TerminalSecret::new(b"evaluation".to_vec());
    let policy = RepeatPolicy::default();
    for (i, pair) in set.pairs.iter().enumerate() {
        let Some(first) = set.cases.iter().find(|c| c.id == pair.first && keep(c)) else {
            continue;
        };
        let who = PetitionerKey::derive(
            &secret,
            &kiosk_privacy::IdNumber::new(format!("SPECIMEN-{i}")),
        );
        let mut recent = RecentRegistrations::with_capacity(4);
        recent.push(StoredRegistration {
            reference: first.id.clone(),
            registered_at: "2026-01-01T00:00:00Z".into(),
            state: "sent".into(),
            petitioner: who,
            category: first.category.clone(),
            text: TextFingerprint::of(&[&first.text, &first.description]),
        });
        let texts = [pair.second.as_str()];
        let category = classifier
            .classify(&ClassifyInput {
                texts: &texts,
                ..Default::default()
            })
            .remove(0)
            .category;
        let text = TextFingerprint::of(&texts);
        let flagged = !check(
            &policy,
            &Probe {
                petitioner: &who,
                category: &category,
                text: &text,
            },
            &[],
            &recent,
        )
        .is_empty();
        let p = &mut r.pairs;
        match (pair.same, flagged) {
            (true, true) => p.true_pos += 1,
            (true, false) => p.false_neg += 1,
            (false, true) => p.false_pos += 1,
            (false, false) => p.true_neg += 1,
        }
    }
    r
}
