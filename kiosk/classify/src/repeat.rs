//! Repeat detection: keyed petitioner hashes, text fingerprints, the
//! terminal's store of recent registrations, and the check.
//!
//! A registration is a likely repeat of an earlier one when the petitioner
//! is the same (same keyed hash of the ID number, or the registry's history
//! for that ID number) and the matter is the same: the MinHash estimate of the
//! Jaccard similarity of the texts' character shingles is high, or the
//! category is the same and the texts are moderately similar. Registry history
//! entries carry no text today, so a same-category entry there is reported as
//! a *possible* repeat for the petitioner or clerk to confirm.
//!
//! Nothing here holds personal data in the clear: the petitioner key is
//! HMAC-SHA256 of the ID number under the terminal's secret, and a MinHash
//! signature does not give the text back.

use hmac::{Hmac, Mac};
use kiosk_privacy::IdNumber;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use xxhash_rust::xxh3::xxh3_64;
use zeroize::Zeroizing;

/// Length of a MinHash signature (values per text).
pub const MINHASH_LEN: usize = 64;
/// Characters per shingle.
const SHINGLE: usize = 3;

/// The terminal's secret for petitioner keys (from a root-only file or a
/// systemd credential). Never printed.
#[derive(Clone)]
pub struct TerminalSecret(Zeroizing<Vec<u8>>);

impl TerminalSecret {
    /// Wraps the secret bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        TerminalSecret(Zeroizing::new(bytes.into()))
    }
}

impl std::fmt::Debug for TerminalSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TerminalSecret(****)")
    }
}

/// HMAC-SHA256 of the normalised ID number under the terminal secret.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct PetitionerKey([u8; 32]);

impl PetitionerKey {
    /// Derives the key of an ID number (upper-cased, spaces dropped).
    pub fn derive(secret: &TerminalSecret, id: &IdNumber) -> Self {
        let norm: Zeroizing<String> = Zeroizing::new(
            id.expose()
                .chars()
                .filter(|c| !c.is_whitespace())
                .map(|c| c.to_ascii_uppercase())
                .collect(),
        );
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
        let mut mac = match Hmac::<Sha256>::new_from_slice(&secret.0) {
            Ok(m) => m,
            Err(_) => return PetitionerKey([0; 32]),
        };
        mac.update(b"kiosk-petitioner-v1\0");
        mac.update(norm.as_bytes());
        PetitionerKey(mac.finalize().into_bytes().into())
    }

    /// The key as 64 hex digits (for storage).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Debug for PetitionerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PetitionerKey({}…)", &self.to_hex()[..8])
    }
}

impl From<PetitionerKey> for String {
    fn from(k: PetitionerKey) -> String {
        k.to_hex()
    }
}

impl TryFrom<String> for PetitionerKey {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(&s, &mut out)
            .map_err(|_| "petitioner key is not 64 hex digits".to_string())?;
        Ok(PetitionerKey(out))
    }
}

/// A MinHash signature of a text's character shingles (empty for a text
/// too short to have one).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TextFingerprint {
    /// `MINHASH_LEN` minimums, or nothing.
    pub minhash: Vec<u32>,
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

impl TextFingerprint {
    /// Fingerprints the texts of one registration (pages and description).
    /// Only letters and digits count: spacing, punctuation and line breaks
    /// from OCR do not change the fingerprint.
    pub fn of(texts: &[&str]) -> Self {
        let chars: Vec<char> = texts
            .iter()
            .flat_map(|t| t.chars())
            .filter(|c| c.is_alphanumeric())
            .collect();
        if chars.len() < SHINGLE {
            return TextFingerprint::default();
        }
        let mut mins = [u64::MAX; MINHASH_LEN];
        let params: [(u64, u64); MINHASH_LEN] =
            std::array::from_fn(|i| (splitmix(2 * i as u64) | 1, splitmix(2 * i as u64 + 1)));
        let mut buf = [0u8; SHINGLE * 4];
        for w in chars.windows(SHINGLE) {
            let mut len = 0;
            for c in w {
                len += c.encode_utf8(&mut buf[len..]).len();
            }
            let h = xxh3_64(&buf[..len]);
            for (m, (a, b)) in mins.iter_mut().zip(params.iter()) {
                let v = h.wrapping_mul(*a).wrapping_add(*b);
                if v < *m {
                    *m = v;
                }
            }
        }
        TextFingerprint {
            minhash: mins.iter().map(|m| (m >> 32) as u32).collect(),
        }
    }

    /// True when the text was too short to fingerprint.
    pub fn is_empty(&self) -> bool {
        self.minhash.is_empty()
    }

    /// Estimated Jaccard similarity of the two texts' shingle sets, 0..=1;
    /// `None` when either has no fingerprint.
    pub fn similarity(&self, other: &TextFingerprint) -> Option<f32> {
        if self.minhash.len() != MINHASH_LEN || other.minhash.len() != MINHASH_LEN {
            return None;
        }
        let same = self
            .minhash
            .iter()
            .zip(&other.minhash)
            .filter(|(a, b)| a == b)
            .count();
        Some(same as f32 / MINHASH_LEN as f32)
    }
}

/// One earlier registration kept on the terminal, without personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredRegistration {
    /// The local reference, or the case number once known.
    pub reference: String,
    /// When it was sealed, RFC 3339.
    pub registered_at: String,
    /// Its state as last known (`queued`, `sent`, `registered`, …).
    pub state: String,
    /// Keyed hash of the petitioner's ID number.
    pub petitioner: PetitionerKey,
    /// Category code.
    pub category: String,
    /// Fingerprint of its texts.
    pub text: TextFingerprint,
}

/// The terminal's recent registrations, newest last; a plain struct that
/// serialises with serde (for example as JSON in the queue database).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentRegistrations {
    /// How many entries are kept; older ones are dropped.
    pub capacity: usize,
    /// The entries, oldest first.
    pub entries: Vec<StoredRegistration>,
}

impl Default for RecentRegistrations {
    fn default() -> Self {
        RecentRegistrations {
            capacity: 10_000,
            entries: Vec::new(),
        }
    }
}

impl RecentRegistrations {
    /// An empty store keeping at most `capacity` entries.
    pub fn with_capacity(capacity: usize) -> Self {
        RecentRegistrations {
            capacity,
            entries: Vec::new(),
        }
    }

    /// Adds a sealed registration, dropping the oldest beyond capacity.
    pub fn push(&mut self, entry: StoredRegistration) {
        self.entries.push(entry);
        if self.entries.len() > self.capacity {
            let excess = self.entries.len() - self.capacity;
            self.entries.drain(..excess);
        }
    }

    /// Updates the reference and state of an entry (e.g. when the case number arrives).
    pub fn update(&mut self, reference: &str, new_reference: &str, state: &str) -> bool {
        match self.entries.iter_mut().find(|e| e.reference == reference) {
            Some(e) => {
                e.reference = new_reference.to_string();
                e.state = state.to_string();
                true
            }
            None => false,
        }
    }
}

/// An earlier case from the registry's history answer (already the same
/// petitioner: the history is queried by ID number).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EarlierCase {
    /// The case number.
    pub reference: String,
    /// RFC 3339.
    pub registered_at: String,
    /// The registry's state word.
    pub state: String,
    /// Category code.
    pub category: String,
    /// Its text fingerprint, if the registry sends one.
    pub text: Option<TextFingerprint>,
}

/// Thresholds of the repeat check.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RepeatPolicy {
    /// Text similarity at which the matter is the same whatever the category.
    pub same_text: f32,
    /// Text similarity that suffices when the category is also the same.
    pub same_category_text: f32,
}

impl Default for RepeatPolicy {
    fn default() -> Self {
        RepeatPolicy {
            same_text: 0.5,
            same_category_text: 0.2,
        }
    }
}

/// How sure a repeat match is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strength {
    /// Same petitioner and category, no text to compare: ask.
    Possible,
    /// Same petitioner and the texts match.
    Likely,
}

/// Where the earlier registration came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchSource {
    /// The registry's history answer.
    Registry,
    /// The terminal's own recent registrations.
    Terminal,
}

/// An earlier registration the new one probably repeats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepeatMatch {
    /// Case number or local reference.
    pub reference: String,
    /// RFC 3339.
    pub registered_at: String,
    /// Its state.
    pub state: String,
    /// Its category code.
    pub category: String,
    /// Estimated text similarity, when both texts were fingerprinted.
    pub similarity: Option<f32>,
    /// How sure.
    pub strength: Strength,
    /// Where it came from.
    pub source: MatchSource,
}

impl RepeatMatch {
    /// The question for the petitioner and clerk: "same matter as …?".
    pub fn question(&self) -> String {
        let date = self.registered_at.get(..10).unwrap_or(&self.registered_at);
        format!(
            "与{date}登记的{}（{}）是同一件事吗？",
            self.reference,
            state_label(&self.state)
        )
    }
}

fn state_label(state: &str) -> &str {
    match state {
        "registered" => "已登记",
        "accepted" => "已受理",
        "in_progress" => "办理中",
        "answered" => "已答复",
        "closed" => "已办结",
        "queued" | "pending" => "待上传",
        "sent" => "已上传",
        other => other,
    }
}

/// What the petitioner or clerk answered; recorded in the registration.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "answer")]
pub enum RepeatAnswer {
    /// No likely repeat was found, so nothing was asked.
    #[default]
    NotAsked,
    /// Confirmed: the same matter as this earlier case.
    SameAs { reference: String },
    /// Denied: a new matter.
    NewMatter,
}

/// The new registration, as the check sees it.
#[derive(Debug, Clone, Copy)]
pub struct Probe<'a> {
    /// Keyed hash of the petitioner.
    pub petitioner: &'a PetitionerKey,
    /// The category the registration carries.
    pub category: &'a str,
    /// Its fingerprint.
    pub text: &'a TextFingerprint,
}

fn judge(
    policy: &RepeatPolicy,
    probe: &Probe<'_>,
    category: &str,
    text: Option<&TextFingerprint>,
) -> Option<(Strength, Option<f32>)> {
    let same_category = probe.category == category;
    match text.and_then(|t| probe.text.similarity(t)) {
        Some(sim)
            if sim >= policy.same_text || (same_category && sim >= policy.same_category_text) =>
        {
            Some((Strength::Likely, Some(sim)))
        }
        Some(_) => None,
        None if same_category => Some((Strength::Possible, None)),
        None => None,
    }
}

/// Checks a new registration against the registry's history (same
/// petitioner) and the terminal's recent registrations; strongest and most
/// similar first. A case found in both is reported once (the registry's).
pub fn check(
    policy: &RepeatPolicy,
    probe: &Probe<'_>,
    history: &[EarlierCase],
    recent: &RecentRegistrations,
) -> Vec<RepeatMatch> {
    let mut out = Vec::new();
    for h in history {
        if let Some((strength, similarity)) = judge(policy, probe, &h.category, h.text.as_ref()) {
            out.push(RepeatMatch {
                reference: h.reference.clone(),
                registered_at: h.registered_at.clone(),
                state: h.state.clone(),
                category: h.category.clone(),
                similarity,
                strength,
                source: MatchSource::Registry,
            });
        }
    }
    for e in recent
        .entries
        .iter()
        .rev()
        .filter(|e| e.petitioner == *probe.petitioner)
    {
        if out.iter().any(|m| m.reference == e.reference) {
            continue;
        }
        if let Some((strength, similarity)) = judge(policy, probe, &e.category, Some(&e.text)) {
            out.push(RepeatMatch {
                reference: e.reference.clone(),
                registered_at: e.registered_at.clone(),
                state: e.state.clone(),
                category: e.category.clone(),
                similarity,
                strength,
                source: MatchSource::Terminal,
            });
        }
    }
    out.sort_by(|a, b| {
        b.strength.cmp(&a.strength).then(
            b.similarity
                .unwrap_or(0.0)
                .total_cmp(&a.similarity.unwrap_or(0.0)),
        )
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LETTER: &str = "我是临水镇东村村民，2019年村里修路占用我家承包地两亩，至今没有给任何补偿，多次找村委会和镇政府都没有结果，请求依法给予补偿。";
    const SAME_OCR: &str = "我是临水镇东村村民 ， 2019年村里修路占用我家承包地两亩 ，至今没有给任何补偿， 多次找村委会和镇政府都没有结果 请求依法给予补偿";
    const REWORDED: &str = "我是临水镇东村村民，2019年修路占了我家承包地两亩，一直没有给补偿，找村委会和镇政府多次都没有结果，请求给予补偿，今天再来反映。";
    const OTHER: &str = "我在县城某建筑工地干活，包工头拖欠我和十几个工友半年工资共计八万元，电话不接，请求帮助讨要。";

    fn key(id: &str) -> PetitionerKey {
        PetitionerKey::derive(
            &TerminalSecret::new(b"terminal-secret".to_vec()),
            &IdNumber::new(id),
        )
    }

    fn stored(
        reference: &str,
        who: PetitionerKey,
        category: &str,
        text: &str,
    ) -> StoredRegistration {
        StoredRegistration {
            reference: reference.into(),
            registered_at: "2026-03-02T09:00:00+08:00".into(),
            state: "sent".into(),
            petitioner: who,
            category: category.into(),
            text: TextFingerprint::of(&[text]),
        }
    }

    #[test]
    fn petitioner_key_is_keyed_and_hides_the_number() {
        let a = key("11010519491231002x");
        assert_eq!(a, key("11010519491231002X"));
        assert_ne!(a, key("110105194912310037"));
        let other_terminal = PetitionerKey::derive(
            &TerminalSecret::new(b"x".to_vec()),
            &IdNumber::new("11010519491231002X"),
        );
        assert_ne!(a, other_terminal);
        let json = serde_json::to_string(&a).expect("json");
        assert!(!json.contains("1101051949"));
        assert_eq!(
            serde_json::from_str::<PetitionerKey>(&json).expect("back"),
            a
        );
        assert!(format!("{a:?}").len() < 30);
    }

    #[test]
    fn fingerprint_ignores_ocr_spacing_and_tracks_rewording() {
        let a = TextFingerprint::of(&[LETTER]);
        assert_eq!(a.similarity(&TextFingerprint::of(&[SAME_OCR])), Some(1.0));
        let reworded = a
            .similarity(&TextFingerprint::of(&[REWORDED]))
            .expect("sim");
        let other = a.similarity(&TextFingerprint::of(&[OTHER])).expect("sim");
        assert!(reworded > 0.3 && reworded < 1.0, "reworded {reworded}");
        assert!(other < 0.1, "other {other}");
        assert!(TextFingerprint::of(&["短"]).is_empty());
        assert_eq!(TextFingerprint::of(&["短"]).similarity(&a), None);
    }

    #[test]
    fn check_finds_same_petitioner_same_matter_only() {
        let me = key("11010519491231002X");
        let mut recent = RecentRegistrations::with_capacity(3);
        recent.push(stored("T-1", me, "rural", LETTER));
        recent.push(stored("T-2", me, "labour", OTHER));
        recent.push(stored("T-3", key("110105194912310037"), "rural", LETTER));
        let text = TextFingerprint::of(&[REWORDED]);
        let probe = Probe {
            petitioner: &me,
            category: "rural",
            text: &text,
        };
        let found = check(&RepeatPolicy::default(), &probe, &[], &recent);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(
            (found[0].reference.as_str(), found[0].strength),
            ("T-1", Strength::Likely)
        );
        assert_eq!(
            found[0].question(),
            "与2026-03-02登记的T-1（已上传）是同一件事吗？"
        );
        recent.push(stored("T-4", me, "land", "新的事情新的事情新的事情"));
        assert_eq!(recent.entries.len(), 3);
        assert_eq!(recent.entries[0].reference, "T-2");
        assert!(check(&RepeatPolicy::default(), &probe, &[], &recent).is_empty());
    }

    #[test]
    fn registry_history_without_text_gives_possible_matches() {
        let me = key("11010519491231002X");
        let text = TextFingerprint::of(&[LETTER]);
        let probe = Probe {
            petitioner: &me,
            category: "rural",
            text: &text,
        };
        let history = [
            EarlierCase {
                reference: "FF-1".into(),
                registered_at: "2025-11-01T10:00:00Z".into(),
                state: "in_progress".into(),
                category: "rural".into(),
                text: None,
            },
            EarlierCase {
                reference: "FF-2".into(),
                registered_at: "2025-12-01T10:00:00Z".into(),
                state: "closed".into(),
                category: "labour".into(),
                text: None,
            },
            EarlierCase {
                reference: "FF-3".into(),
                registered_at: "2026-01-01T10:00:00Z".into(),
                state: "closed".into(),
                category: "land".into(),
                text: Some(TextFingerprint::of(&[SAME_OCR])),
            },
        ];
        let found = check(
            &RepeatPolicy::default(),
            &probe,
            &history,
            &RecentRegistrations::default(),
        );
        let refs: Vec<_> = found
            .iter()
            .map(|m| (m.reference.as_str(), m.strength))
            .collect();
        assert_eq!(
            refs,
            [("FF-3", Strength::Likely), ("FF-1", Strength::Possible)]
        );
        assert_eq!(
            found[1].question(),
            "与2025-11-01登记的FF-1（办理中）是同一件事吗？"
        );
    }

    #[test]
    fn store_and_answer_round_trip_through_serde() {
        let mut recent = RecentRegistrations::default();
        recent.push(stored("T-1", key("11010519491231002X"), "rural", LETTER));
        assert!(recent.update("T-1", "FF-9", "registered"));
        let json = serde_json::to_string(&recent).expect("json");
        assert!(!json.contains("临水"));
        assert_eq!(
            serde_json::from_str::<RecentRegistrations>(&json).expect("back"),
            recent
        );
        let ans = serde_json::to_string(&RepeatAnswer::SameAs {
            reference: "FF-9".into(),
        })
        .expect("json");
        assert_eq!(ans, r#"{"answer":"same_as","reference":"FF-9"}"#);
    }
}
