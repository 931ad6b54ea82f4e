//! Field positions in the 256-byte text block, one table per card type.
//!
//! Byte offsets and lengths from `/work/shared/IDCARD.md`, section "The
//! 256-byte text block". Every field is UCS-2 little-endian padded with
//! spaces, so lengths are even.

/// A field: byte offset and byte length in the text block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Field {
    /// Byte offset.
    pub off: usize,
    /// Byte length.
    pub len: usize,
}

const fn f(off: usize, len: usize) -> Field {
    Field { off, len }
}

/// The card type flag, common to all layouts.
pub const TYPE_FLAG: Field = f(248, 2);

/// Flag values at [`TYPE_FLAG`].
pub mod flag {
    /// Resident identity card.
    pub const RESIDENT: char = ' ';
    /// Hong Kong, Macao and Taiwan residents' residence permit.
    pub const HMT_PERMIT: char = 'J';
    /// Foreign permanent resident card, 2017 edition.
    pub const FOREIGN_2017: char = 'I';
    /// Foreign permanent resident card, 2023 edition.
    pub const FOREIGN_2023: char = 'Y';
}

/// Resident identity card (flag `' '`).
pub mod resident {
    use super::{f, Field};
    /// Name.
    pub const NAME: Field = f(0, 30);
    /// Sex code (GB/T 2261.1).
    pub const SEX: Field = f(30, 2);
    /// Ethnicity code (GB 3304), two digits.
    pub const ETHNICITY: Field = f(32, 4);
    /// Birth date `YYYYMMDD`.
    pub const BIRTH: Field = f(36, 16);
    /// Address.
    pub const ADDRESS: Field = f(52, 70);
    /// ID number.
    pub const ID_NUMBER: Field = f(122, 36);
    /// Issuing authority.
    pub const AUTHORITY: Field = f(158, 30);
    /// Valid from `YYYYMMDD`.
    pub const VALID_FROM: Field = f(188, 16);
    /// Valid to `YYYYMMDD` or 长期.
    pub const VALID_TO: Field = f(204, 16);
}

/// Hong Kong, Macao and Taiwan residence permit (flag `J`).
pub mod hmt {
    pub use super::resident::{
        ADDRESS, AUTHORITY, BIRTH, ID_NUMBER, NAME, SEX, VALID_FROM, VALID_TO,
    };
    use super::{f, Field};
    /// Pass number (in [`crate::TextExtras`], not `CardText`).
    pub const PASS_NUMBER: Field = f(220, 18);
    /// Issue count (in [`crate::TextExtras`]).
    pub const ISSUE_COUNT: Field = f(238, 4);
}

/// Foreign permanent resident card, 2017 (flag `I`).
pub mod foreign2017 {
    use super::{f, Field};
    /// English name.
    pub const ENGLISH_NAME: Field = f(0, 120);
    /// Sex code.
    pub const SEX: Field = f(120, 2);
    /// Permanent residence number (15 characters).
    pub const PR_NUMBER: Field = f(122, 30);
    /// Nationality, GB/T 2659 alpha-3.
    pub const NATIONALITY: Field = f(152, 6);
    /// Chinese name.
    pub const CHINESE_NAME: Field = f(158, 30);
    /// Valid from.
    pub const VALID_FROM: Field = f(188, 16);
    /// Valid to.
    pub const VALID_TO: Field = f(204, 16);
    /// Birth date.
    pub const BIRTH: Field = f(220, 16);
    /// Card version (not surfaced in `CardText`).
    pub const CARD_VERSION: Field = f(236, 4);
    /// Issuing authority code.
    pub const AUTHORITY_CODE: Field = f(240, 8);
}

/// Foreign permanent resident card, 2023 (flag `Y`).
pub mod foreign2023 {
    use super::{f, Field};
    /// Chinese name.
    pub const CHINESE_NAME: Field = f(0, 30);
    /// Sex code.
    pub const SEX: Field = f(30, 2);
    /// Renewal count (one source says "nation"; not surfaced).
    pub const RENEWAL_COUNT: Field = f(32, 4);
    /// Birth date.
    pub const BIRTH: Field = f(36, 16);
    /// English name, characters 1 to 35.
    pub const ENGLISH_NAME_1: Field = f(52, 70);
    /// ID number (18 characters).
    pub const ID_NUMBER: Field = f(122, 36);
    /// Reserved; one source reads the issuing authority here.
    pub const AUTHORITY: Field = f(158, 30);
    /// Valid from.
    pub const VALID_FROM: Field = f(188, 16);
    /// Valid to.
    pub const VALID_TO: Field = f(204, 16);
    /// English name, characters 36 to 46.
    pub const ENGLISH_NAME_2: Field = f(220, 22);
    /// Nationality, GB/T 2659 alpha-3.
    pub const NATIONALITY: Field = f(242, 6);
    /// Link to the old permanent residence number (not surfaced).
    pub const OLD_PR_LINK: Field = f(250, 6);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_fit_and_are_even() {
        let all = [
            resident::NAME,
            resident::SEX,
            resident::ETHNICITY,
            resident::BIRTH,
            resident::ADDRESS,
            resident::ID_NUMBER,
            resident::AUTHORITY,
            resident::VALID_FROM,
            resident::VALID_TO,
            hmt::PASS_NUMBER,
            hmt::ISSUE_COUNT,
            foreign2017::ENGLISH_NAME,
            foreign2017::SEX,
            foreign2017::PR_NUMBER,
            foreign2017::NATIONALITY,
            foreign2017::CHINESE_NAME,
            foreign2017::BIRTH,
            foreign2017::CARD_VERSION,
            foreign2017::AUTHORITY_CODE,
            foreign2023::ENGLISH_NAME_1,
            foreign2023::ENGLISH_NAME_2,
            foreign2023::NATIONALITY,
            foreign2023::OLD_PR_LINK,
            TYPE_FLAG,
        ];
        for fld in all {
            assert!(
                fld.off % 2 == 0 && fld.len % 2 == 0 && fld.off + fld.len <= 256,
                "{fld:?}"
            );
        }
    }
}
