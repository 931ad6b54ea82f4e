//! Fields of the text block that [`crate::CardText`] does not carry: the
//! HMT permit's pass number and issue count, the 2023 foreign card's
//! renewal count and the 2017 foreign card's version.
//!
//! They live apart so that `CardText` keeps its shape for its users; decode
//! them from the same block with [`decode_text_extras`].

use std::fmt;

use kiosk_privacy::IdNumber;

use crate::layout::{foreign2017, foreign2023, hmt, Field};
use crate::text::{decode_doc_type, field, put, TextError};
use crate::DocType;

/// The extra fields of one text block; `None` where the card type has none
/// or the field is blank.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TextExtras {
    /// Pass number (港澳台居民来往内地通行证号), HMT permits only. Masked: a
    /// document number.
    pub pass_number: Option<IdNumber>,
    /// Issue count (签发次数), HMT permits only.
    pub issue_count: Option<u16>,
    /// Renewal count (换证次数), 2023 foreign cards only.
    pub renewal_count: Option<u16>,
    /// Card version, 2017 foreign cards only.
    pub card_version: Option<String>,
}

impl fmt::Debug for TextExtras {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TextExtras")
            .field("pass_number", &self.pass_number)
            .field("issue_count", &self.issue_count)
            .field("renewal_count", &self.renewal_count)
            .field("card_version", &self.card_version)
            .finish()
    }
}

/// Decodes the extra fields of a 256-byte text block.
pub fn decode_text_extras(block: &[u8]) -> Result<TextExtras, TextError> {
    let doc_type = decode_doc_type(block)?;
    let count = |fld: Field, what: &'static str| -> Result<Option<u16>, TextError> {
        let s = field(block, fld)?;
        if s.is_empty() {
            return Ok(None);
        }
        s.parse::<u16>()
            .map(Some)
            .map_err(|_| TextError::BadCount { field: what })
    };
    let mut extras = TextExtras::default();
    match doc_type {
        DocType::Resident => {}
        DocType::HmtPermit => {
            let pass = field(block, hmt::PASS_NUMBER)?;
            extras.pass_number = (!pass.is_empty()).then(|| IdNumber::new(pass));
            extras.issue_count = count(hmt::ISSUE_COUNT, "issue count")?;
        }
        DocType::ForeignPermanent2017 => {
            let v = field(block, foreign2017::CARD_VERSION)?;
            extras.card_version = (!v.is_empty()).then_some(v);
        }
        DocType::ForeignPermanent2023 => {
            extras.renewal_count = count(foreign2023::RENEWAL_COUNT, "renewal count")?;
        }
    }
    Ok(extras)
}

/// Writes `extras` into a text block made by [`crate::encode_text`], for
/// simulators and tests. Fields the block's card type has no room for are
/// not written.
pub fn encode_text_extras(block: &mut [u8; crate::wire::TEXT_BLOCK_LEN], extras: &TextExtras) {
    let Ok(doc_type) = decode_doc_type(block) else {
        return;
    };
    match doc_type {
        DocType::Resident => {}
        DocType::HmtPermit => {
            if let Some(p) = &extras.pass_number {
                put(block, hmt::PASS_NUMBER, p.expose());
            }
            if let Some(n) = extras.issue_count {
                put(block, hmt::ISSUE_COUNT, &format!("{n:02}"));
            }
        }
        DocType::ForeignPermanent2017 => {
            if let Some(v) = &extras.card_version {
                put(block, foreign2017::CARD_VERSION, v);
            }
        }
        DocType::ForeignPermanent2023 => {
            if let Some(n) = extras.renewal_count {
                put(block, foreign2023::RENEWAL_COUNT, &format!("{n:02}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{encode_text, Address, CardText, Date, PersonName, Sex, Validity};

    fn card(doc_type: DocType, number: &str) -> CardText {
        CardText {
            doc_type,
            name: PersonName::new("样例"),
            sex: Sex::Male,
            ethnicity: None,
            nationality: (doc_type == DocType::ForeignPermanent2023).then(|| "CAN".to_string()),
            birth: Date::new(1990, 1, 1),
            address: Address::default(),
            id_number: IdNumber::new(number),
            authority: "样例局".to_string(),
            valid_from: Date::new(2020, 1, 1),
            valid_to: Date::new(2030, 1, 1).map(Validity::Until),
        }
    }

    #[test]
    fn hmt_pass_number_and_issue_count_round_trip() {
        let mut block = encode_text(&card(DocType::HmtPermit, "810000199001010015"));
        assert_eq!(decode_text_extras(&block).unwrap(), TextExtras::default());
        let extras = TextExtras {
            pass_number: Some(IdNumber::new("H12345678")),
            issue_count: Some(1),
            ..TextExtras::default()
        };
        encode_text_extras(&mut block, &extras);
        let back = decode_text_extras(&block).unwrap();
        assert_eq!(back, extras);
        assert_eq!(back.pass_number.unwrap().expose(), "H12345678");
        assert!(!format!("{:?}", decode_text_extras(&block).unwrap()).contains("H12345678"));
        // The main decode is unaffected by the extra fields.
        assert!(crate::decode_text(&block).is_ok());
    }

    #[test]
    fn renewal_count_and_card_version() {
        let mut block = encode_text(&card(DocType::ForeignPermanent2023, "911234199001010012"));
        encode_text_extras(&mut block, &TextExtras { renewal_count: Some(3), ..TextExtras::default() });
        assert_eq!(decode_text_extras(&block).unwrap().renewal_count, Some(3));

        let mut block = encode_text(&card(DocType::ForeignPermanent2017, "CAN123456789012"));
        encode_text_extras(&mut block, &TextExtras { card_version: Some("01".into()), ..TextExtras::default() });
        assert_eq!(decode_text_extras(&block).unwrap().card_version.as_deref(), Some("01"));
    }

    #[test]
    fn bad_count_and_short_block_are_errors() {
        let mut block = encode_text(&card(DocType::HmtPermit, "810000199001010015"));
        put(&mut block, hmt::ISSUE_COUNT, "x1");
        assert_eq!(
            decode_text_extras(&block),
            Err(TextError::BadCount { field: "issue count" })
        );
        assert_eq!(
            decode_text_extras(&block[..10]),
            Err(TextError::BlockLength { len: 10 })
        );
    }
}
