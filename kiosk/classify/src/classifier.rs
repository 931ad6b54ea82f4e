//! The classifier: category, responsible unit and locality suggestions.
//!
//! Create one [`Classifier`] at start-up (building the segmenter's dictionary
//! takes a few hundred milliseconds) and call [`Classifier::classify`] per
//! registration (a few milliseconds for three pages). The first suggestion is
//! the one to show; the others are alternatives for the clerk.

use std::collections::HashMap;
use std::path::Path;

use jieba_rs::Jieba;

use crate::routing::{Keyword, Routing, EXAMPLE_ROUTING};
use crate::taxonomy::Taxonomy;
use crate::{read_file, ClassifyError};

/// How much a word in the petitioner's own description counts, relative to page text.
const DESCRIPTION_WEIGHT: f32 = 1.5;
/// At most this many suggestions are returned.
const MAX_SUGGESTIONS: usize = 3;
/// Keyword points from which a category is a confident suggestion.
pub const CONFIDENT_POINTS: f32 = 3.0;
/// Words up to this many characters also count for the words inside them.
const MAX_COMPOUND: usize = 6;
/// At most this many keywords are quoted as evidence per suggestion.
const MAX_EVIDENCE_WORDS: usize = 4;

/// What the classifier reads from one registration.
#[derive(Debug, Clone, Copy, Default)]
pub struct ClassifyInput<'a> {
    /// The recognised text of each page.
    pub texts: &'a [&'a str],
    /// The petitioner's own description (may be empty).
    pub description: &'a str,
    /// The tile the petitioner chose (`None` or `"unsure"`: the text decides).
    pub tile: Option<&'a str>,
    /// The first 6 digits of the ID number (the address region code).
    pub id_region: Option<&'a str>,
    /// The address printed on the ID card.
    pub address: Option<&'a str>,
    /// The clerk's choice of category, which wins over everything.
    pub override_category: Option<&'a str>,
    /// The clerk's choice of unit (a unit code of the routing file).
    pub override_unit: Option<&'a str>,
}

/// What decided a suggestion's category.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The clerk chose it.
    Clerk,
    /// The petitioner's tile.
    Tile,
    /// The words of the text.
    Text,
    /// Nothing matched: the tile's or the fallback category.
    Fallback,
}

/// One ranked suggestion.
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    /// Category code (taxonomy).
    pub category: String,
    /// Category display name.
    pub category_label: String,
    /// Responsible unit's display name.
    pub unit: String,
    /// Responsible unit's code (routing file).
    pub unit_code: String,
    /// Locality (属地), when known.
    pub locality: Option<String>,
    /// Share of the keyword score this category got, 0..=1.
    pub score: f32,
    /// True when strong evidence backs the category: the clerk chose it, or
    /// its keywords scored at least `CONFIDENT_POINTS` (one strong word or
    /// several weaker ones). Show an unconfident suggestion as a guess.
    pub confident: bool,
    /// True for 涉法涉诉 matters.
    pub legal: bool,
    /// What decided the category.
    pub decision: Decision,
    /// Human-readable reasons: the choice, the words that decided, the locality source.
    pub evidence: Vec<String>,
}

impl Suggestion {
    /// The review screen's line: `建议转办：X（依据：…）`.
    pub fn review_line(&self) -> String {
        let place = self
            .locality
            .as_deref()
            .map(|l| format!("{l} "))
            .unwrap_or_default();
        if self.evidence.is_empty() {
            format!("建议转办：{place}{}", self.unit)
        } else {
            format!(
                "建议转办：{place}{}（依据：{}）",
                self.unit,
                self.evidence.join("、")
            )
        }
    }
}

/// The classifier: taxonomy, routing rules and the segmenter.
pub struct Classifier {
    taxonomy: Taxonomy,
    routing: Routing,
    jieba: Jieba,
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier")
            .field("categories", &self.taxonomy.categories().len())
            .field("units", &self.routing.units.len())
            .field("deployment", &self.routing.name)
            .finish()
    }
}

/// A keyword found in the text, with what it added.
#[derive(Debug, Clone)]
struct Hit {
    text: String,
    count: f32,
    points: f32,
}

impl Classifier {
    /// Builds a classifier from a taxonomy and a routing rule set.
    pub fn new(taxonomy: Taxonomy, routing: Routing) -> Self {
        let mut jieba = Jieba::new();
        for w in routing.all_words() {
            if w.chars().count() > 1 && !jieba.has_word(w) {
                jieba.add_word(w, None, None);
            }
        }
        Classifier {
            taxonomy,
            routing,
            jieba,
        }
    }

    /// Loads the taxonomy and routing files.
    pub fn from_files(taxonomy: &Path, routing: &Path) -> Result<Self, ClassifyError> {
        let tax = Taxonomy::parse(&read_file(taxonomy)?)?;
        let routing = Routing::parse(&read_file(routing)?, &tax)?;
        Ok(Self::new(tax, routing))
    }

    /// The built-in taxonomy with the example routing file of `data/`.
    pub fn builtin() -> Self {
        let tax = Taxonomy::builtin();
        // Both built-in files are checked by unit tests.
        match Routing::parse(EXAMPLE_ROUTING, &tax) {
            Ok(routing) => Self::new(tax, routing),
            Err(_) => {
                let n = tax.categories().len();
                Self::new(tax, minimal_routing(n))
            }
        }
    }

    /// The taxonomy in use.
    pub fn taxonomy(&self) -> &Taxonomy {
        &self.taxonomy
    }

    /// The routing rules in use.
    pub fn routing(&self) -> &Routing {
        &self.routing
    }

    /// Counts the words of the texts; description words count more.
    fn word_counts(&self, input: &ClassifyInput<'_>) -> HashMap<String, f32> {
        let mut counts: HashMap<String, f32> = HashMap::new();
        let mut add = |text: &str, weight: f32| {
            let norm = normalise(text);
            for w in self.jieba.cut(&norm, false) {
                let word = w.word;
                if word.chars().all(|c| !c.is_alphanumeric()) {
                    continue;
                }
                *counts.entry(word.to_string()).or_default() += weight;
                // A compound word (邻居家, 聚众赌博) also counts for the words inside it.
                let chars: Vec<(usize, char)> = word.char_indices().collect();
                if chars.len() > 2 && chars.len() <= MAX_COMPOUND {
                    for i in 0..chars.len() {
                        for j in i + 2..=chars.len() {
                            if i == 0 && j == chars.len() {
                                continue;
                            }
                            let end = chars.get(j).map_or(word.len(), |c| c.0);
                            *counts.entry(word[chars[i].0..end].to_string()).or_default() += weight;
                        }
                    }
                }
            }
        };
        for t in input.texts {
            add(t, 1.0);
        }
        add(input.description, DESCRIPTION_WEIGHT);
        counts
    }

    /// Ranked suggestions for one registration; never empty.
    pub fn classify(&self, input: &ClassifyInput<'_>) -> Vec<Suggestion> {
        let counts = self.word_counts(input);
        let cats = self.taxonomy.categories();
        let hits: Vec<Vec<Hit>> = self
            .routing
            .category_keywords
            .iter()
            .map(|k| match_keywords(k, &counts))
            .collect();
        let raw: Vec<f32> = hits
            .iter()
            .map(|h| h.iter().map(|x| x.points).sum())
            .collect();
        let total: f32 = raw.iter().sum();
        let share = |i: usize| if total > 0.0 { raw[i] / total } else { 0.0 };

        // Rank by score; ties keep file order.
        let mut order: Vec<usize> = (0..cats.len()).collect();
        order.sort_by(|&a, &b| raw[b].total_cmp(&raw[a]).then(a.cmp(&b)));

        let tile = input.tile.filter(|t| *t != intake::UNSURE);
        let clerk = input.override_category.and_then(|c| self.taxonomy.index(c));
        let (first, decision) = if let Some(c) = clerk {
            (c, Decision::Clerk)
        } else if let Some(t) = tile.filter(|t| !self.taxonomy.covered_by_tile(t).is_empty()) {
            let covered = self.taxonomy.covered_by_tile(t);
            match order.iter().find(|i| covered.contains(i) && raw[**i] > 0.0) {
                Some(&i) => (i, Decision::Tile),
                None => (self.taxonomy.index(t).unwrap_or(covered[0]), Decision::Tile),
            }
        } else if total > 0.0 {
            (order[0], Decision::Text)
        } else {
            (
                self.taxonomy.index("other").unwrap_or(order[0]),
                Decision::Fallback,
            )
        };

        let locality = self.locality(input);
        let mut out = Vec::with_capacity(MAX_SUGGESTIONS);
        let push = |i: usize, decision: Decision, out: &mut Vec<Suggestion>| {
            let cat = &cats[i];
            let mut evidence = Vec::new();
            match decision {
                Decision::Clerk => evidence.push("接访人员选定".to_string()),
                Decision::Tile => {
                    let tile_label = tile
                        .and_then(intake::category::by_code)
                        .map_or("", |t| t.label);
                    evidence.push(format!("申请人选择“{tile_label}”"));
                }
                Decision::Fallback => evidence.push("未找到分类关键词".to_string()),
                Decision::Text => {}
            }
            let mut h = hits[i].clone();
            h.sort_by(|a, b| b.points.total_cmp(&a.points));
            for x in h.iter().take(MAX_EVIDENCE_WORDS) {
                evidence.push(quote(&x.text, x.count));
            }
            let clerk_unit = if decision == Decision::Clerk {
                input.override_unit.and_then(|u| self.routing.unit_index(u))
            } else {
                None
            };
            let unit = match clerk_unit {
                Some(u) => u,
                None => {
                    let (u, unit_word) = self.unit_for(i, &counts);
                    if let Some(w) = unit_word {
                        evidence.push(format!("单位依据“{w}”"));
                    }
                    u
                }
            };
            if cat.legal {
                evidence.push("涉法涉诉事项".to_string());
            }
            if let Some((_, why)) = &locality {
                evidence.push(why.clone());
            }
            let unit_def = &self.routing.units[unit];
            out.push(Suggestion {
                category: cat.code.clone(),
                category_label: cat.label.clone(),
                unit: unit_def.name.clone(),
                unit_code: unit_def.code.clone(),
                locality: locality.as_ref().map(|(l, _)| l.clone()),
                score: share(i),
                confident: decision == Decision::Clerk || raw[i] >= CONFIDENT_POINTS,
                legal: cat.legal,
                decision,
                evidence,
            });
        };
        push(first, decision, &mut out);
        for &i in order
            .iter()
            .filter(|&&i| i != first && raw[i] > 0.0)
            .take(MAX_SUGGESTIONS - 1)
        {
            push(i, Decision::Text, &mut out);
        }
        out
    }

    /// The unit for category `cat`: the best unit rule, else the category's unit.
    fn unit_for(&self, cat: usize, counts: &HashMap<String, f32>) -> (usize, Option<String>) {
        let mut best: Option<(f32, usize, String)> = None;
        for rule in self
            .routing
            .unit_rules
            .iter()
            .filter(|r| r.categories.contains(&cat))
        {
            let hits = match_keywords(&rule.keywords, counts);
            let points: f32 = hits.iter().map(|h| h.points).sum();
            if points > 0.0 && best.as_ref().is_none_or(|b| points > b.0) {
                let top = hits
                    .iter()
                    .max_by(|a, b| a.points.total_cmp(&b.points))
                    .map(|h| h.text.clone());
                best = Some((points, rule.unit, top.unwrap_or_default()));
            }
        }
        match best {
            Some((_, unit, word)) => (unit, Some(word)),
            None => (self.routing.category_unit[cat], None),
        }
    }

    /// The locality and why: a locality named in the text, in the address, or the region code.
    fn locality(&self, input: &ClassifyInput<'_>) -> Option<(String, String)> {
        let find = |text: &str| {
            let norm = normalise(text);
            self.routing.localities.iter().find_map(|l| {
                l.words
                    .iter()
                    .find(|w| norm.contains(w.as_str()))
                    .map(|w| (l.name.clone(), w.clone()))
            })
        };
        let in_text = input
            .texts
            .iter()
            .copied()
            .chain([input.description])
            .find_map(find);
        if let Some((name, w)) = in_text {
            return Some((name, format!("属地：文中“{w}”")));
        }
        if let Some((name, w)) = input.address.and_then(find) {
            return Some((name, format!("属地：住址“{w}”")));
        }
        let region = input
            .id_region
            .filter(|r| r.len() == 6 && r.bytes().all(|b| b.is_ascii_digit()))?;
        if let Some(l) = self
            .routing
            .localities
            .iter()
            .find(|l| l.region.as_deref() == Some(region))
        {
            return Some((l.name.clone(), format!("属地：区划{region}")));
        }
        if region == self.routing.region {
            return Some((self.routing.name.clone(), format!("属地：区划{region}")));
        }
        let same_city = region.get(..4) == self.routing.region.get(..4);
        let name = if same_city {
            format!("本市其他区县（{region}）")
        } else {
            format!("外地户籍（{region}）")
        };
        Some((name, format!("属地：区划{region}")))
    }
}

/// A routing with only a fallback unit (used if the built-in file were broken).
fn minimal_routing(n_categories: usize) -> Routing {
    Routing {
        name: String::new(),
        region: "000000".into(),
        fallback_unit: 0,
        units: vec![crate::routing::UnitDef {
            code: "xfj".into(),
            name: "信访部门".into(),
        }],
        category_unit: vec![0; n_categories],
        category_keywords: vec![Vec::new(); n_categories],
        unit_rules: Vec::new(),
        localities: Vec::new(),
    }
}

/// Finds the keywords whose parts all occur; a word's points grow with its
/// count, to at most twice its weight.
fn match_keywords(keywords: &[Keyword], counts: &HashMap<String, f32>) -> Vec<Hit> {
    let mut hits = Vec::new();
    for k in keywords {
        let mut n = f32::INFINITY;
        for p in &k.parts {
            n = n.min(counts.get(p).copied().unwrap_or(0.0));
        }
        if n > 0.0 {
            let points = k.weight * (1.0 + (n - 1.0) / 2.0).min(2.0);
            hits.push(Hit {
                text: k.text.clone(),
                count: n,
                points,
            });
        }
    }
    hits
}

fn quote(word: &str, count: f32) -> String {
    let word = word.replace('+', "”“");
    if count >= 2.0 {
        format!("“{word}”×{}", count.floor())
    } else {
        format!("“{word}”")
    }
}

/// Drops whitespace that OCR puts between Chinese characters and digits;
/// keeps one space between two Latin words.
pub(crate) fn normalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            pending_space = true;
            continue;
        }
        if pending_space
            && c.is_ascii_alphabetic()
            && out.chars().last().is_some_and(|p| p.is_ascii_alphabetic())
        {
            out.push(' ');
        }
        pending_space = false;
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;

    fn clf() -> &'static Classifier {
        static C: OnceLock<Classifier> = OnceLock::new();
        C.get_or_init(Classifier::builtin)
    }

    fn first(input: ClassifyInput<'_>) -> Suggestion {
        clf().classify(&input).remove(0)
    }

    #[test]
    fn text_decides_when_unsure_and_evidence_names_the_words() {
        let s = first(ClassifyInput {
            texts: &["我 村 土 地 被 征 收 ， 补偿款 至今 未 发放 。"],
            description: "征地补偿",
            tile: Some("unsure"),
            ..Default::default()
        });
        assert_eq!(s.category, "land");
        assert_eq!(s.decision, Decision::Text);
        assert_eq!(s.unit_code, "zrzy");
        assert!(
            s.evidence.iter().any(|e| e.contains("征地")),
            "{:?}",
            s.evidence
        );
        assert!(s.score > 0.5);
        assert!(
            s.review_line()
                .starts_with("建议转办：区自然资源和规划局（依据："),
            "{}",
            s.review_line()
        );
    }

    #[test]
    fn the_tile_wins_and_alternatives_follow() {
        let input = ClassifyInput {
            texts: &["包工头拖欠我们工资三个月"],
            tile: Some("conduct"),
            ..Default::default()
        };
        let all = clf().classify(&input);
        assert_eq!(all[0].category, "conduct");
        assert_eq!(all[0].decision, Decision::Tile);
        assert_eq!(all[1].category, "labour");
        assert_eq!(all[1].unit_code, "ldjc");
    }

    #[test]
    fn the_other_tile_picks_among_its_categories() {
        let s = first(ClassifyInput {
            texts: &["化工厂夜里偷排废水，河水发黑有异味"],
            tile: Some("other"),
            ..Default::default()
        });
        assert_eq!(s.category, "environment");
        assert_eq!(s.decision, Decision::Tile);
        let s = first(ClassifyInput {
            texts: &["想咨询一下"],
            tile: Some("other"),
            ..Default::default()
        });
        assert_eq!(s.category, "other");
    }

    #[test]
    fn the_clerk_overrides_category_and_unit() {
        let s = first(ClassifyInput {
            texts: &["法院判决后对方拒不履行，申请强制执行一年没有结果"],
            tile: Some("land"),
            override_category: Some("law"),
            override_unit: Some("jcy"),
            ..Default::default()
        });
        assert_eq!(
            (s.category.as_str(), s.unit_code.as_str(), s.decision),
            ("law", "jcy", Decision::Clerk)
        );
        assert!(s.legal);
    }

    #[test]
    fn legal_matters_go_to_the_configured_organ() {
        let s = first(ClassifyInput {
            texts: &["法院判决后对方拒不履行，申请强制执行一年没有结果"],
            ..Default::default()
        });
        assert_eq!((s.category.as_str(), s.unit_code.as_str()), ("law", "fy"));
        assert!(s.evidence.iter().any(|e| e == "涉法涉诉事项"));
        let s = first(ClassifyInput {
            texts: &["我被人打伤报案后派出所一直不立案"],
            tile: Some("law"),
            ..Default::default()
        });
        assert_eq!(s.unit_code, "gaj");
    }

    #[test]
    fn locality_from_text_address_or_region() {
        let base = ClassifyInput {
            texts: &["拖欠工资"],
            id_region: Some("130406"),
            ..Default::default()
        };
        assert_eq!(first(base).locality.as_deref(), Some("峰峰矿区"));
        let addr = ClassifyInput {
            address: Some("河北省邯郸市峰峰矿区大社镇某村"),
            ..base
        };
        assert_eq!(first(addr).locality.as_deref(), Some("大社镇"));
        let text = ClassifyInput {
            texts: &["临水镇某工地拖欠工资"],
            ..addr
        };
        assert_eq!(first(text).locality.as_deref(), Some("临水镇"));
        let away = ClassifyInput {
            id_region: Some("110105"),
            ..base
        };
        assert_eq!(first(away).locality.as_deref(), Some("外地户籍（110105）"));
        let city = ClassifyInput {
            id_region: Some("130402"),
            ..base
        };
        assert_eq!(
            first(city).locality.as_deref(),
            Some("本市其他区县（130402）")
        );
        assert_eq!(
            first(ClassifyInput {
                id_region: Some("12"),
                ..base
            })
            .locality,
            None
        );
    }

    #[test]
    fn nothing_matched_falls_back_to_other() {
        let all = clf().classify(&ClassifyInput::default());
        assert_eq!(all.len(), 1);
        assert_eq!(
            (all[0].category.as_str(), all[0].unit_code.as_str()),
            ("other", "xfj")
        );
        assert_eq!(all[0].decision, Decision::Fallback);
    }

    #[test]
    fn normalise_joins_ocr_spaced_chinese() {
        assert_eq!(
            normalise("拖 欠 工 资\n 2 0 2 6 年 abc def"),
            "拖欠工资2026年abc def"
        );
    }
}

#[cfg(test)]
mod thread_tests {
    #[test]
    fn classifier_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<super::Classifier>();
    }
}
