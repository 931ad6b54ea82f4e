//! Personal data types whose `Debug` and `Display` never show the value.
//!
//! Every piece of personal data the terminal handles (ID numbers, names,
//! addresses, phone numbers, free text the petitioner wrote) travels in one of
//! these newtypes. Formatting them for a log or an error message prints a mask
//! such as `****************47`; only [`Secret::expose`] (and serde, behind the
//! `serde` feature that only the queue, the uplink and the registry enable)
//! reaches the raw value. Values are zeroed when dropped.
//!
//! [`redact`] is the second layer: it scrubs anything that looks like an ID
//! number or a phone number out of free text (support bundles, foreign error
//! strings) before it is written anywhere.

use std::fmt;

use zeroize::Zeroize;

mod export;
pub use export::{is_cjk, redact_for_export, CJK_PLACEHOLDER};

/// How a kind of personal data is shown when formatted.
pub trait MaskStyle {
    /// Short lower-case word naming the kind, used in masks: `id`, `name`.
    const KIND: &'static str;
    /// How many trailing characters stay visible (0 hides everything).
    const VISIBLE_TAIL: usize;
}

macro_rules! pii_kind {
    ($(#[$m:meta])* $ty:ident, $marker:ident, $kind:literal, $tail:literal) => {
        #[doc(hidden)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $marker;
        impl MaskStyle for $marker {
            const KIND: &'static str = $kind;
            const VISIBLE_TAIL: usize = $tail;
        }
        $(#[$m])*
        pub type $ty = Secret<$marker>;
    };
}

pii_kind!(
    /// A resident ID number (or permit / permanent residence number).
    IdNumber, IdNumberKind, "id", 2
);
pii_kind!(
    /// A person's name in any script.
    PersonName, PersonNameKind, "name", 0
);
pii_kind!(
    /// A postal address.
    Address, AddressKind, "address", 0
);
pii_kind!(
    /// A telephone number.
    PhoneNumber, PhoneNumberKind, "phone", 2
);
pii_kind!(
    /// Free text written by or about the petitioner (descriptions, OCR output).
    PersonalText, PersonalTextKind, "text", 0
);
pii_kind!(
    /// A staff PIN as typed on the screen (clerk or technician), until it is checked.
    StaffPin, StaffPinKind, "pin", 0
);

/// A string holding personal data of kind `K`.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Secret<K: MaskStyle> {
    value: String,
    _kind: std::marker::PhantomData<K>,
}

impl<K: MaskStyle> Secret<K> {
    /// Wraps a raw value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret { value: value.into(), _kind: std::marker::PhantomData }
    }

    /// The raw value. Call it only where the value must leave as itself: the
    /// screen, the sealed queue record, the registry request.
    pub fn expose(&self) -> &str {
        &self.value
    }

    /// True when the value is empty.
    pub fn is_empty(&self) -> bool {
        self.value.is_empty()
    }

    /// The masked form, the same text `Display` prints.
    pub fn masked(&self) -> String {
        mask(&self.value, K::VISIBLE_TAIL)
    }
}

impl<K: MaskStyle> Drop for Secret<K> {
    fn drop(&mut self) {
        self.value.zeroize();
    }
}

impl<K: MaskStyle> fmt::Display for Secret<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl<K: MaskStyle> fmt::Debug for Secret<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}({})", K::KIND, self.masked())
    }
}

impl<K: MaskStyle> From<&str> for Secret<K> {
    fn from(s: &str) -> Self {
        Secret::new(s)
    }
}

impl<K: MaskStyle> From<String> for Secret<K> {
    fn from(s: String) -> Self {
        Secret::new(s)
    }
}

#[cfg(feature = "serde")]
impl<K: MaskStyle> serde::Serialize for Secret<K> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.value)
    }
}

#[cfg(feature = "serde")]
impl<'de, K: MaskStyle> serde::Deserialize<'de> for Secret<K> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

/// Masks all but the last `visible_tail` characters; never reveals the length
/// of short values exactly (at least four stars).
pub fn mask(value: &str, visible_tail: usize) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.is_empty() {
        return String::from("<empty>");
    }
    // A tail is shown only when it leaves most of the value hidden.
    let tail = if chars.len() >= visible_tail * 4 { visible_tail } else { 0 };
    let hidden = (chars.len() - tail).max(4);
    let mut out = "*".repeat(hidden);
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// Replaces anything that looks like an ID number (15 or 18 characters of
/// digits, the last possibly `X`) or a mobile phone number (11 digits from
/// `1`) in `text` with a mask. For text that did not come through the typed
/// newtypes: foreign error strings, support bundles.
pub fn redact(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii_digit() && (i == 0 || !chars[i - 1].is_ascii_alphanumeric()) {
            let mut j = i;
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            if j < chars.len() && (chars[j] == 'X' || chars[j] == 'x') && j - i == 17 {
                j += 1;
            }
            let run = j - i;
            let bounded = j == chars.len() || !chars[j].is_ascii_alphanumeric();
            let looks_personal =
                bounded && (run == 18 || run == 15 || (run == 11 && chars[i] == '1'));
            if looks_personal {
                out.push_str("[redacted]");
            } else {
                out.extend(&chars[i..j]);
            }
            i = j;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_number_is_masked_in_debug_and_display() {
        let id = IdNumber::new("11010519491231002X");
        assert_eq!(id.to_string(), "****************2X");
        assert_eq!(format!("{id:?}"), "id(****************2X)");
        assert!(!format!("{id:?} {id}").contains("1101051949"));
        assert_eq!(id.expose(), "11010519491231002X");
    }

    #[test]
    fn names_show_nothing() {
        let name = PersonName::new("张三");
        assert_eq!(name.to_string(), "****");
        assert!(!format!("{name:?}").contains('张'));
    }

    #[test]
    fn short_values_hide_their_tail() {
        assert_eq!(mask("123", 2), "****");
        assert_eq!(mask("", 2), "<empty>");
    }

    #[test]
    fn redact_scrubs_id_and_phone_numbers() {
        let s = "card 11010519491231002X phone 13812345678 page 12 ref 2026";
        let r = redact(s);
        assert_eq!(r, "card [redacted] phone [redacted] page 12 ref 2026");
        assert_eq!(redact("abc11010519491231002X"), "abc11010519491231002X".to_string());
    }
}
