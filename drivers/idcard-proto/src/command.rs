//! Request commands and the encoders for requests and replies.
//!
//! Encoders append to the caller's buffer and never allocate beyond it.

use std::fmt;

use crate::status::Status;
use crate::wire::{self, cmd};

/// Serial line rates the reader can switch to with `60 xx`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BaudRate {
    /// 115200 baud (`00`), the default.
    B115200,
    /// 57600 baud (`01`).
    B57600,
    /// 38400 baud (`02`).
    B38400,
    /// 19200 baud (`03`).
    B19200,
    /// 9600 baud (`04`).
    B9600,
}

impl BaudRate {
    /// The PARA byte of the `60 xx` command.
    pub fn code(self) -> u8 {
        match self {
            BaudRate::B115200 => 0x00,
            BaudRate::B57600 => 0x01,
            BaudRate::B38400 => 0x02,
            BaudRate::B19200 => 0x03,
            BaudRate::B9600 => 0x04,
        }
    }

    /// The rate for a PARA byte.
    pub fn from_code(code: u8) -> Option<BaudRate> {
        Some(match code {
            0x00 => BaudRate::B115200,
            0x01 => BaudRate::B57600,
            0x02 => BaudRate::B38400,
            0x03 => BaudRate::B19200,
            0x04 => BaudRate::B9600,
            _ => return None,
        })
    }

    /// Bits per second.
    pub fn bits_per_second(self) -> u32 {
        match self {
            BaudRate::B115200 => 115_200,
            BaudRate::B57600 => 57_600,
            BaudRate::B38400 => 38_400,
            BaudRate::B19200 => 19_200,
            BaudRate::B9600 => 9_600,
        }
    }
}

/// A request to the reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Command {
    /// Reset the SAM (`10 FF`).
    ResetSam,
    /// Query the SAM status (`11 FF`).
    SamStatus,
    /// Read the SAM ID (`12 FF`).
    ReadSamId,
    /// Look for a card in the field (`20 01`).
    FindCard,
    /// Select the card found (`20 02`).
    SelectCard,
    /// Read the text block and the photo (`30 01`).
    ReadTextPhoto,
    /// Read the text block, the photo and the fingerprint (`30 10`).
    ReadTextPhotoFingerprint,
    /// Read the appended block, the newer address (`30 03`).
    ReadAppendedAddress,
    /// Change the baud rate (`60 xx`).
    SetBaud(BaudRate),
}

impl Command {
    /// The CMD and PARA bytes.
    pub fn bytes(self) -> [u8; 2] {
        match self {
            Command::ResetSam => cmd::RESET_SAM,
            Command::SamStatus => cmd::SAM_STATUS,
            Command::ReadSamId => cmd::READ_SAM_ID,
            Command::FindCard => cmd::FIND_CARD,
            Command::SelectCard => cmd::SELECT_CARD,
            Command::ReadTextPhoto => cmd::READ_TEXT_PHOTO,
            Command::ReadTextPhotoFingerprint => cmd::READ_TEXT_PHOTO_FINGERPRINT,
            Command::ReadAppendedAddress => cmd::READ_APPENDED_ADDRESS,
            Command::SetBaud(rate) => [cmd::SET_BAUD, rate.code()],
        }
    }

    /// The command for CMD and PARA bytes (used by simulators).
    pub fn from_bytes(cmd_byte: u8, para: u8) -> Option<Command> {
        let cp = [cmd_byte, para];
        Some(match cp {
            cmd::RESET_SAM => Command::ResetSam,
            cmd::SAM_STATUS => Command::SamStatus,
            cmd::READ_SAM_ID => Command::ReadSamId,
            cmd::FIND_CARD => Command::FindCard,
            cmd::SELECT_CARD => Command::SelectCard,
            cmd::READ_TEXT_PHOTO => Command::ReadTextPhoto,
            cmd::READ_TEXT_PHOTO_FINGERPRINT => Command::ReadTextPhotoFingerprint,
            cmd::READ_APPENDED_ADDRESS => Command::ReadAppendedAddress,
            [cmd::SET_BAUD, code] => Command::SetBaud(BaudRate::from_code(code)?),
            _ => return None,
        })
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Command::ResetSam => "reset sam",
            Command::SamStatus => "sam status",
            Command::ReadSamId => "read sam id",
            Command::FindCard => "find card",
            Command::SelectCard => "select card",
            Command::ReadTextPhoto => "read text and photo",
            Command::ReadTextPhotoFingerprint => "read text, photo and fingerprint",
            Command::ReadAppendedAddress => "read appended address",
            Command::SetBaud(_) => "set baud rate",
        };
        f.write_str(name)
    }
}

/// Appends the request frame for `command` to `out`.
pub fn encode_command(command: Command, out: &mut Vec<u8>) {
    let [cmd_byte, para] = command.bytes();
    encode_frame(&[cmd_byte, para], &[], out);
}

/// Appends a reply frame (`SW1 = SW2 = 00`, `SW3 = status`, then `data`) to
/// `out`. Used by simulators and tests.
///
/// `data` longer than the protocol allows (see [`wire::MAX_LEN`]) still
/// encodes, with LEN saturated, so that simulators can produce broken frames.
pub fn encode_reply(status: Status, data: &[u8], out: &mut Vec<u8>) {
    encode_frame(&[0x00, 0x00, status.code()], data, out);
}

fn encode_frame(head: &[u8], data: &[u8], out: &mut Vec<u8>) {
    let len = head.len() + data.len() + 1;
    let len = u16::try_from(len).unwrap_or(u16::MAX);
    let start = out.len();
    out.extend_from_slice(&wire::PREAMBLE);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(head);
    out.extend_from_slice(data);
    let chk = wire::checksum(&out[start + wire::LEN_OFFSET..]);
    out.push(chk);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_card_request_bytes() {
        let mut out = vec![0x55];
        encode_command(Command::FindCard, &mut out);
        assert_eq!(
            out,
            [0x55, 0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03, 0x20, 0x01, 0x22]
        );
    }

    #[test]
    fn every_command_round_trips_through_its_bytes() {
        let all = [
            Command::ResetSam,
            Command::SamStatus,
            Command::ReadSamId,
            Command::FindCard,
            Command::SelectCard,
            Command::ReadTextPhoto,
            Command::ReadTextPhotoFingerprint,
            Command::ReadAppendedAddress,
            Command::SetBaud(BaudRate::B115200),
            Command::SetBaud(BaudRate::B9600),
        ];
        for c in all {
            let [a, b] = c.bytes();
            assert_eq!(Command::from_bytes(a, b), Some(c));
        }
        assert_eq!(Command::from_bytes(0x60, 0x05), None);
        assert_eq!(Command::from_bytes(0x99, 0x99), None);
    }

    #[test]
    fn every_command_encodes_to_the_documented_frame() {
        // CMD PARA and checksum from IDCARD.md, "Commands".
        let table = [
            (Command::ResetSam, [0x10, 0xFF, 0xEC]),
            (Command::SamStatus, [0x11, 0xFF, 0xED]),
            (Command::ReadSamId, [0x12, 0xFF, 0xEE]),
            (Command::FindCard, [0x20, 0x01, 0x22]),
            (Command::SelectCard, [0x20, 0x02, 0x21]),
            (Command::ReadTextPhoto, [0x30, 0x01, 0x32]),
            (Command::ReadTextPhotoFingerprint, [0x30, 0x10, 0x23]),
            (Command::ReadAppendedAddress, [0x30, 0x03, 0x30]),
            (Command::SetBaud(BaudRate::B115200), [0x60, 0x00, 0x63]),
            (Command::SetBaud(BaudRate::B57600), [0x60, 0x01, 0x62]),
            (Command::SetBaud(BaudRate::B38400), [0x60, 0x02, 0x61]),
            (Command::SetBaud(BaudRate::B19200), [0x60, 0x03, 0x60]),
            (Command::SetBaud(BaudRate::B9600), [0x60, 0x04, 0x67]),
        ];
        for (command, tail) in table {
            let mut out = Vec::new();
            encode_command(command, &mut out);
            let mut want = vec![0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x03];
            want.extend_from_slice(&tail);
            assert_eq!(out, want, "{command}");
        }
    }

    #[test]
    fn set_baud_encodes_its_rate() {
        let mut out = Vec::new();
        encode_command(Command::SetBaud(BaudRate::B9600), &mut out);
        assert_eq!(out[5..], [0x00, 0x03, 0x60, 0x04, 0x03 ^ 0x60 ^ 0x04]);
    }

    #[test]
    fn find_card_reply_matches_the_reference_bytes() {
        let mut out = Vec::new();
        encode_reply(Status::CardFound, &[0, 0, 0, 0], &mut out);
        assert_eq!(
            out,
            [0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x08, 0x00, 0x00, 0x9F, 0, 0, 0, 0, 0x97]
        );
    }
}
