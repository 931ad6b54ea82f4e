//! The 256-byte text block: decoding, encoding and the card fields.
//!
//! The layout is chosen by the type flag at offset 248 (see [`crate::layout`]).
//! Personal fields are held in the masked newtypes of `kiosk-privacy`, and
//! the `Debug` output of [`CardText`] hides the rest of the personal data
//! (sex, ethnicity, birth date, nationality) too. Errors never carry field
//! values.

use std::fmt;

use kiosk_privacy::{Address, IdNumber, PersonName};

use crate::date::{Date, Validity};
use crate::ethnicity::{ethnicity_code, ethnicity_name};
use crate::id_number::check_id_number;
use crate::layout::{self, flag, foreign2017, foreign2023, resident, Field};
use crate::wire::TEXT_BLOCK_LEN;

/// Separator between the English and the Chinese name of a foreigner in
/// [`CardText::name`], when the card holds both.
pub const NAME_SEPARATOR: &str = " / ";

/// Why a text block (or a read reply) could not be decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// The text block is not 256 bytes.
    #[error("text block is {len} bytes, expected 256")]
    BlockLength {
        /// Bytes received.
        len: usize,
    },
    /// The type flag at offset 248 is not one this crate knows.
    #[error("unknown card type flag {flag:#06x}")]
    UnknownDocType {
        /// The flag as a UCS-2 code unit.
        flag: u16,
    },
    /// A code unit is not a character (an unpaired surrogate).
    #[error("invalid ucs-2 text at byte {offset}")]
    BadChar {
        /// Byte offset in the block.
        offset: usize,
    },
    /// The sex field is not a GB/T 2261.1 code.
    #[error("invalid sex code")]
    BadSex,
    /// The ethnicity field is not a GB 3304 code.
    #[error("invalid ethnicity code")]
    BadEthnicity,
    /// A date field does not hold a valid date.
    #[error("invalid {field} date")]
    BadDate {
        /// Which field: `birth`, `valid from`, `valid to`.
        field: &'static str,
    },
    /// The read reply is shorter than its length fields.
    #[error("read reply too short ({len} bytes)")]
    ReplyTooShort {
        /// Bytes received.
        len: usize,
    },
    /// The read reply's length fields do not add up to its size.
    #[error("read reply length mismatch: declared {declared}, got {actual}")]
    ReplyLength {
        /// Size the length fields announce.
        declared: usize,
        /// Size received.
        actual: usize,
    },
    /// A count field (issue or renewal count) is not a number.
    #[error("invalid {field}")]
    BadCount {
        /// Which field: `issue count`, `renewal count`.
        field: &'static str,
    },
    /// The appended block has an odd number of bytes.
    #[error("appended block has odd length {len}")]
    AppendedLength {
        /// Bytes received.
        len: usize,
    },
}

/// Which document the card is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocType {
    /// 居民身份证.
    Resident,
    /// 港澳台居民居住证.
    HmtPermit,
    /// 外国人永久居留身份证, 2017 edition.
    ForeignPermanent2017,
    /// 外国人永久居留身份证, 2023 edition.
    ForeignPermanent2023,
}

impl DocType {
    /// The type flag at offset 248.
    pub fn flag(self) -> char {
        match self {
            DocType::Resident => flag::RESIDENT,
            DocType::HmtPermit => flag::HMT_PERMIT,
            DocType::ForeignPermanent2017 => flag::FOREIGN_2017,
            DocType::ForeignPermanent2023 => flag::FOREIGN_2023,
        }
    }

    /// The document for a type flag.
    pub fn from_flag(c: char) -> Option<DocType> {
        Some(match c {
            flag::RESIDENT => DocType::Resident,
            flag::HMT_PERMIT => DocType::HmtPermit,
            flag::FOREIGN_2017 => DocType::ForeignPermanent2017,
            flag::FOREIGN_2023 => DocType::ForeignPermanent2023,
            _ => return None,
        })
    }
}

/// Sex, GB/T 2261.1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sex {
    /// `0`: unknown.
    Unknown,
    /// `1`: 男.
    Male,
    /// `2`: 女.
    Female,
    /// `9`: unspecified.
    Unspecified,
}

impl Sex {
    /// The GB/T 2261.1 code.
    pub fn code(self) -> char {
        match self {
            Sex::Unknown => '0',
            Sex::Male => '1',
            Sex::Female => '2',
            Sex::Unspecified => '9',
        }
    }

    /// The sex for a GB/T 2261.1 code.
    pub fn from_code(c: char) -> Option<Sex> {
        Some(match c {
            '0' => Sex::Unknown,
            '1' => Sex::Male,
            '2' => Sex::Female,
            '9' => Sex::Unspecified,
            _ => return None,
        })
    }
}

impl fmt::Display for Sex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Sex::Unknown => "未知",
            Sex::Male => "男",
            Sex::Female => "女",
            Sex::Unspecified => "未说明",
        })
    }
}

/// The decoded text block.
#[derive(Clone, PartialEq, Eq)]
pub struct CardText {
    /// Document type, from the flag at offset 248.
    pub doc_type: DocType,
    /// Name. For foreigners the English name, followed by
    /// [`NAME_SEPARATOR`] and the Chinese name when the card has one.
    pub name: PersonName,
    /// Sex.
    pub sex: Sex,
    /// Ethnicity (GB 3304 name); `None` for non-resident documents.
    pub ethnicity: Option<&'static str>,
    /// Nationality, GB/T 2659 alpha-3; foreigners only.
    pub nationality: Option<String>,
    /// Birth date.
    pub birth: Option<Date>,
    /// Address; empty for foreigners.
    pub address: Address,
    /// ID number, or the permanent residence number for foreigners.
    pub id_number: IdNumber,
    /// Issuing authority (for 2017 foreign cards, the authority code).
    pub authority: String,
    /// Start of validity.
    pub valid_from: Option<Date>,
    /// End of validity.
    pub valid_to: Option<Validity>,
}

impl CardText {
    /// True when the document number has the right form: GB 11643 for
    /// resident cards, 2023 foreign cards and HMT permits (which also must
    /// start with 810000, 820000 or 830000); 15 ASCII letters or digits
    /// for 2017 foreign cards.
    pub fn id_number_ok(&self) -> bool {
        let s = self.id_number.expose();
        match self.doc_type {
            DocType::Resident | DocType::ForeignPermanent2023 => check_id_number(s).is_ok(),
            DocType::HmtPermit => {
                ["810000", "820000", "830000"]
                    .iter()
                    .any(|p| s.starts_with(p))
                    && check_id_number(s).is_ok()
            }
            DocType::ForeignPermanent2017 => {
                s.len() == 15
                    && s.bytes()
                        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
            }
        }
    }

    /// True when the card is past its "valid to" date on `today`. A card
    /// without a readable end of validity counts as expired.
    pub fn is_expired(&self, today: Date) -> bool {
        match self.valid_to {
            Some(Validity::Until(end)) => today > end,
            Some(Validity::LongTerm) => false,
            None => true,
        }
    }
}

impl fmt::Debug for CardText {
    // Sex, ethnicity, birth date, nationality and the issuing authority
    // (which narrows down where the holder lives) are personal data too, so
    // they are shown only as present or absent.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = |present: bool| if present { "<hidden>" } else { "<none>" };
        f.debug_struct("CardText")
            .field("doc_type", &self.doc_type)
            .field("name", &self.name)
            .field("sex", &format_args!("<hidden>"))
            .field(
                "ethnicity",
                &format_args!("{}", hidden(self.ethnicity.is_some())),
            )
            .field(
                "nationality",
                &format_args!("{}", hidden(self.nationality.is_some())),
            )
            .field("birth", &format_args!("{}", hidden(self.birth.is_some())))
            .field("address", &self.address)
            .field("id_number", &self.id_number)
            .field(
                "authority",
                &format_args!("{}", hidden(!self.authority.is_empty())),
            )
            .field("valid_from", &self.valid_from)
            .field("valid_to", &self.valid_to)
            .finish()
    }
}

/// Decodes the 256-byte UCS-2LE text block.
pub fn decode_text(block: &[u8]) -> Result<CardText, TextError> {
    let doc_type = decode_doc_type(block)?;
    let text = |fld: Field| field(block, fld);
    match doc_type {
        // The HMT permit shares the resident positions (see `layout::hmt`).
        DocType::Resident | DocType::HmtPermit => {
            let ethnicity = if doc_type == DocType::Resident {
                parse_ethnicity(&text(resident::ETHNICITY)?)?
            } else {
                None
            };
            Ok(CardText {
                doc_type,
                name: PersonName::new(text(resident::NAME)?),
                sex: parse_sex(&text(resident::SEX)?)?,
                ethnicity,
                nationality: None,
                birth: parse_date(&text(resident::BIRTH)?, "birth")?,
                address: Address::new(text(resident::ADDRESS)?),
                id_number: IdNumber::new(text(resident::ID_NUMBER)?),
                authority: text(resident::AUTHORITY)?,
                valid_from: parse_date(&text(resident::VALID_FROM)?, "valid from")?,
                valid_to: parse_validity(&text(resident::VALID_TO)?)?,
            })
        }
        DocType::ForeignPermanent2017 => {
            use foreign2017 as l;
            let english = text(l::ENGLISH_NAME)?;
            let chinese = text(l::CHINESE_NAME)?;
            Ok(CardText {
                doc_type,
                name: PersonName::new(join_names(&english, &chinese)),
                sex: parse_sex(&text(l::SEX)?)?,
                ethnicity: None,
                nationality: non_empty(text(l::NATIONALITY)?),
                birth: parse_date(&text(l::BIRTH)?, "birth")?,
                address: Address::default(),
                id_number: IdNumber::new(text(l::PR_NUMBER)?),
                authority: text(l::AUTHORITY_CODE)?,
                valid_from: parse_date(&text(l::VALID_FROM)?, "valid from")?,
                valid_to: parse_validity(&text(l::VALID_TO)?)?,
            })
        }
        DocType::ForeignPermanent2023 => {
            use foreign2023 as l;
            // The English name is split in two fields; join before trimming.
            let mut english = raw_field(block, l::ENGLISH_NAME_1)?;
            english.push_str(&raw_field(block, l::ENGLISH_NAME_2)?);
            let english = trim(&english).to_string();
            let chinese = text(l::CHINESE_NAME)?;
            Ok(CardText {
                doc_type,
                name: PersonName::new(join_names(&english, &chinese)),
                sex: parse_sex(&text(l::SEX)?)?,
                ethnicity: None,
                nationality: non_empty(text(l::NATIONALITY)?),
                birth: parse_date(&text(l::BIRTH)?, "birth")?,
                address: Address::default(),
                id_number: IdNumber::new(text(l::ID_NUMBER)?),
                authority: text(l::AUTHORITY)?,
                valid_from: parse_date(&text(l::VALID_FROM)?, "valid from")?,
                valid_to: parse_validity(&text(l::VALID_TO)?)?,
            })
        }
    }
}

/// The document type of a 256-byte text block, from its flag at offset 248.
pub(crate) fn decode_doc_type(block: &[u8]) -> Result<DocType, TextError> {
    if block.len() != TEXT_BLOCK_LEN {
        return Err(TextError::BlockLength { len: block.len() });
    }
    let flag_unit = u16::from_le_bytes([
        block[layout::TYPE_FLAG.off],
        block[layout::TYPE_FLAG.off + 1],
    ]);
    char::from_u32(u32::from(flag_unit))
        .and_then(DocType::from_flag)
        .ok_or(TextError::UnknownDocType { flag: flag_unit })
}

/// Encodes `card` as a 256-byte text block; the inverse of [`decode_text`]
/// for every document type. For simulators and tests: text longer than a
/// field is cut, characters outside the BMP become `?`, and fields the
/// layout has no room for are not written.
pub fn encode_text(card: &CardText) -> [u8; TEXT_BLOCK_LEN] {
    let mut block = [0u8; TEXT_BLOCK_LEN];
    for unit in block.chunks_exact_mut(2) {
        unit.copy_from_slice(&[0x20, 0x00]);
    }
    let date = |d: Option<Date>| d.map(Date::to_yyyymmdd).unwrap_or_default();
    let valid_to = card
        .valid_to
        .map(Validity::to_card_text)
        .unwrap_or_default();
    let sex = card.sex.code().to_string();
    let nationality = card.nationality.as_deref().unwrap_or("");
    let b = &mut block;
    match card.doc_type {
        DocType::Resident | DocType::HmtPermit => {
            use resident as l;
            put(b, l::NAME, card.name.expose());
            put(b, l::SEX, &sex);
            if card.doc_type == DocType::Resident {
                let code = card.ethnicity.and_then(ethnicity_code);
                put(
                    b,
                    l::ETHNICITY,
                    &code.map(|c| format!("{c:02}")).unwrap_or_default(),
                );
            }
            put(b, l::BIRTH, &date(card.birth));
            put(b, l::ADDRESS, card.address.expose());
            put(b, l::ID_NUMBER, card.id_number.expose());
            put(b, l::AUTHORITY, &card.authority);
            put(b, l::VALID_FROM, &date(card.valid_from));
            put(b, l::VALID_TO, &valid_to);
        }
        DocType::ForeignPermanent2017 => {
            use foreign2017 as l;
            let (english, chinese) = split_names(card.name.expose());
            put(b, l::ENGLISH_NAME, english);
            put(b, l::SEX, &sex);
            put(b, l::PR_NUMBER, card.id_number.expose());
            put(b, l::NATIONALITY, nationality);
            put(b, l::CHINESE_NAME, chinese);
            put(b, l::VALID_FROM, &date(card.valid_from));
            put(b, l::VALID_TO, &valid_to);
            put(b, l::BIRTH, &date(card.birth));
            put(b, l::AUTHORITY_CODE, &card.authority);
        }
        DocType::ForeignPermanent2023 => {
            use foreign2023 as l;
            let (english, chinese) = split_names(card.name.expose());
            let first_len = l::ENGLISH_NAME_1.len / 2;
            let split = english
                .char_indices()
                .nth(first_len)
                .map_or(english.len(), |(i, _)| i);
            put(b, l::CHINESE_NAME, chinese);
            put(b, l::SEX, &sex);
            put(b, l::BIRTH, &date(card.birth));
            put(b, l::ENGLISH_NAME_1, &english[..split]);
            put(b, l::ID_NUMBER, card.id_number.expose());
            put(b, l::AUTHORITY, &card.authority);
            put(b, l::VALID_FROM, &date(card.valid_from));
            put(b, l::VALID_TO, &valid_to);
            put(b, l::ENGLISH_NAME_2, &english[split..]);
            put(b, l::NATIONALITY, nationality);
        }
    }
    let mut flag_buf = [0u16; 1];
    card.doc_type.flag().encode_utf16(&mut flag_buf);
    block[layout::TYPE_FLAG.off..][..2].copy_from_slice(&flag_buf[0].to_le_bytes());
    block
}

/// Decodes the reply data of `30 03` (the appended address). `None` when
/// the block is blank.
pub fn decode_appended_address(data: &[u8]) -> Result<Option<Address>, TextError> {
    if data.len() & 1 == 1 {
        return Err(TextError::AppendedLength { len: data.len() });
    }
    let s = field(
        data,
        Field {
            off: 0,
            len: data.len(),
        },
    )?;
    Ok(if s.is_empty() {
        None
    } else {
        Some(Address::new(s))
    })
}

/// Encodes an appended address block (70 bytes) for simulators and tests.
pub fn encode_appended_address(address: &str) -> Vec<u8> {
    let mut block = [0x20u8, 0x00].repeat(crate::wire::APPENDED_ADDRESS_LEN / 2);
    put(
        &mut block,
        Field {
            off: 0,
            len: crate::wire::APPENDED_ADDRESS_LEN,
        },
        address,
    );
    block
}

fn trim(s: &str) -> &str {
    s.trim_matches(|c| c == ' ' || c == '\0')
}

fn raw_field(block: &[u8], fld: Field) -> Result<String, TextError> {
    let bytes = block
        .get(fld.off..fld.off + fld.len)
        .ok_or(TextError::BlockLength { len: block.len() })?;
    let units = bytes
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]));
    let mut out = String::with_capacity(fld.len);
    for (i, unit) in units.enumerate() {
        let c = char::from_u32(u32::from(unit)).ok_or(TextError::BadChar {
            offset: fld.off + 2 * i,
        })?;
        out.push(c);
    }
    Ok(out)
}

pub(crate) fn field(block: &[u8], fld: Field) -> Result<String, TextError> {
    raw_field(block, fld).map(|s| trim(&s).to_string())
}

pub(crate) fn put(block: &mut [u8], fld: Field, s: &str) {
    let units = s.chars().map(|c| {
        let mut buf = [0u16; 2];
        match c.encode_utf16(&mut buf) {
            [unit] => *unit,
            _ => u16::from(b'?'),
        }
    });
    for (slot, unit) in block[fld.off..fld.off + fld.len]
        .chunks_exact_mut(2)
        .zip(units)
    {
        slot.copy_from_slice(&unit.to_le_bytes());
    }
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() {
        None
    } else {
        Some(s)
    }
}

fn join_names(english: &str, chinese: &str) -> String {
    match (english.is_empty(), chinese.is_empty()) {
        (false, false) => format!("{english}{NAME_SEPARATOR}{chinese}"),
        (true, _) => chinese.to_string(),
        (false, true) => english.to_string(),
    }
}

fn split_names(name: &str) -> (&str, &str) {
    name.split_once(NAME_SEPARATOR).unwrap_or((name, ""))
}

fn parse_sex(s: &str) -> Result<Sex, TextError> {
    if s.is_empty() {
        return Ok(Sex::Unknown);
    }
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Sex::from_code(c).ok_or(TextError::BadSex),
        _ => Err(TextError::BadSex),
    }
}

fn parse_ethnicity(s: &str) -> Result<Option<&'static str>, TextError> {
    if s.is_empty() {
        return Ok(None);
    }
    if s.len() != 2 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TextError::BadEthnicity);
    }
    let code = s.parse::<u8>().map_err(|_| TextError::BadEthnicity)?;
    ethnicity_name(code)
        .map(Some)
        .ok_or(TextError::BadEthnicity)
}

fn parse_date(s: &str, field: &'static str) -> Result<Option<Date>, TextError> {
    if s.is_empty() {
        return Ok(None);
    }
    Date::parse_yyyymmdd(s)
        .map(Some)
        .ok_or(TextError::BadDate { field })
}

fn parse_validity(s: &str) -> Result<Option<Validity>, TextError> {
    if s.is_empty() {
        return Ok(None);
    }
    Validity::parse(s)
        .map(Some)
        .ok_or(TextError::BadDate { field: "valid to" })
}

#[cfg(test)]
mod tests;
