//! The reply status byte (SW3) as a plain `Copy` enum.
//!
//! Codes and meanings from `/work/shared/IDCARD.md`, section "Status byte".

use std::fmt;

/// Status byte (SW3) of a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// `90`: operation succeeded.
    Ok,
    /// `91`: the field has no content.
    NoContent,
    /// `9F`: a card was found.
    CardFound,
    /// `10`: the reader saw a bad checksum in the request.
    ChecksumError,
    /// `11`: the reader saw a bad length in the request.
    LengthError,
    /// `21`: command error.
    CommandError,
    /// `23`: unauthorised operation.
    Unauthorised,
    /// `24`: unrecognised error.
    Unrecognised,
    /// `31`: card to SAM authentication failed.
    CardAuthFailed,
    /// `32`: SAM to card authentication failed.
    SamAuthFailed,
    /// `33`: information verification error.
    VerifyFailed,
    /// `40`: unrecognised card type.
    UnknownCardType,
    /// `41`: reading the card failed.
    ReadFailed,
    /// `47`: random number generation failed.
    RandomFailed,
    /// `60`: SAM self-test failed.
    SamSelfTestFailed,
    /// `66`: SAM not authorised.
    SamNotAuthorised,
    /// `80`: no card found.
    FindCardFailed,
    /// `81`: selecting the card failed.
    SelectCardFailed,
    /// Any other code.
    Other(u8),
}

impl Status {
    /// The status for a raw SW3 byte.
    pub fn from_code(code: u8) -> Status {
        match code {
            0x90 => Status::Ok,
            0x91 => Status::NoContent,
            0x9F => Status::CardFound,
            0x10 => Status::ChecksumError,
            0x11 => Status::LengthError,
            0x21 => Status::CommandError,
            0x23 => Status::Unauthorised,
            0x24 => Status::Unrecognised,
            0x31 => Status::CardAuthFailed,
            0x32 => Status::SamAuthFailed,
            0x33 => Status::VerifyFailed,
            0x40 => Status::UnknownCardType,
            0x41 => Status::ReadFailed,
            0x47 => Status::RandomFailed,
            0x60 => Status::SamSelfTestFailed,
            0x66 => Status::SamNotAuthorised,
            0x80 => Status::FindCardFailed,
            0x81 => Status::SelectCardFailed,
            other => Status::Other(other),
        }
    }

    /// The raw SW3 byte.
    pub fn code(self) -> u8 {
        match self {
            Status::Ok => 0x90,
            Status::NoContent => 0x91,
            Status::CardFound => 0x9F,
            Status::ChecksumError => 0x10,
            Status::LengthError => 0x11,
            Status::CommandError => 0x21,
            Status::Unauthorised => 0x23,
            Status::Unrecognised => 0x24,
            Status::CardAuthFailed => 0x31,
            Status::SamAuthFailed => 0x32,
            Status::VerifyFailed => 0x33,
            Status::UnknownCardType => 0x40,
            Status::ReadFailed => 0x41,
            Status::RandomFailed => 0x47,
            Status::SamSelfTestFailed => 0x60,
            Status::SamNotAuthorised => 0x66,
            Status::FindCardFailed => 0x80,
            Status::SelectCardFailed => 0x81,
            Status::Other(code) => code,
        }
    }

    /// True for `90` and `9F`, the two success codes.
    pub fn is_success(self) -> bool {
        matches!(self, Status::Ok | Status::CardFound)
    }

    fn description(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::NoContent => "no content",
            Status::CardFound => "card found",
            Status::ChecksumError => "checksum error",
            Status::LengthError => "length error",
            Status::CommandError => "command error",
            Status::Unauthorised => "unauthorised operation",
            Status::Unrecognised => "unrecognised error",
            Status::CardAuthFailed => "card to sam authentication failed",
            Status::SamAuthFailed => "sam to card authentication failed",
            Status::VerifyFailed => "information verification error",
            Status::UnknownCardType => "unrecognised card type",
            Status::ReadFailed => "read failed",
            Status::RandomFailed => "random number failed",
            Status::SamSelfTestFailed => "sam self-test failed",
            Status::SamNotAuthorised => "sam not authorised",
            Status::FindCardFailed => "no card found",
            Status::SelectCardFailed => "select card failed",
            Status::Other(_) => "unknown status",
        }
    }
}

impl From<u8> for Status {
    fn from(code: u8) -> Status {
        Status::from_code(code)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:02x})", self.description(), self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips() {
        for code in 0..=255u8 {
            assert_eq!(Status::from_code(code).code(), code);
        }
        assert_eq!(Status::from_code(0x9F), Status::CardFound);
        assert_eq!(Status::from_code(0x55), Status::Other(0x55));
    }

    #[test]
    fn display_is_short() {
        assert_eq!(Status::FindCardFailed.to_string(), "no card found (80)");
        assert_eq!(Status::Other(0x55).to_string(), "unknown status (55)");
    }
}
