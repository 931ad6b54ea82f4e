//! Byte constants of the reader frame and its checksum.
//!
//! Source: `/work/shared/IDCARD.md`, sections "Frame", "Commands" and
//! "Read reply data", themselves cross-checked between several public
//! implementations of the SAM reader protocol (GA 467 is not public).
//!
//! ```text
//! offset  len  request              response
//! 0       5    AA AA AA 96 69       same
//! 5       2    LEN (big-endian)     same      bytes after LEN, checksum included
//! 7       1    CMD                  SW1 = 00
//! 8       1    PARA                 SW2 = 00
//! 9       1    (checksum)           SW3 = status
//! 10      n    data                 data
//! last    1    checksum             checksum  XOR of bytes 5 .. last-1
//! ```

/// The five-byte preamble that starts every request and every reply.
pub const PREAMBLE: [u8; 5] = [0xAA, 0xAA, 0xAA, 0x96, 0x69];

/// Bytes before the body: preamble and the two-byte LEN.
pub const HEADER_LEN: usize = 7;

/// Offset of the big-endian LEN field.
pub const LEN_OFFSET: usize = 5;

/// The smallest LEN of a reply: SW1, SW2, SW3 and the checksum.
pub const MIN_REPLY_LEN: u16 = 4;

/// The smallest LEN of a request: CMD, PARA and the checksum.
pub const MIN_REQUEST_LEN: u16 = 3;

/// The largest LEN the decoder accepts. The biggest real reply (text, photo
/// and a 1024-byte fingerprint) has LEN 2314; anything past this is noise.
pub const MAX_LEN: u16 = 4096;

/// Length of the text block in a read reply.
pub const TEXT_BLOCK_LEN: usize = 256;

/// Length of the compressed WLT photo in a read reply.
pub const PHOTO_LEN: usize = 1024;

/// Length of the appended address block (`30 03`).
pub const APPENDED_ADDRESS_LEN: usize = 70;

/// Command bytes (CMD, PARA).
pub mod cmd {
    /// Reset the SAM (`10 FF`).
    pub const RESET_SAM: [u8; 2] = [0x10, 0xFF];
    /// SAM status (`11 FF`).
    pub const SAM_STATUS: [u8; 2] = [0x11, 0xFF];
    /// Read the SAM ID (`12 FF`).
    pub const READ_SAM_ID: [u8; 2] = [0x12, 0xFF];
    /// Find a card (`20 01`).
    pub const FIND_CARD: [u8; 2] = [0x20, 0x01];
    /// Select the card (`20 02`).
    pub const SELECT_CARD: [u8; 2] = [0x20, 0x02];
    /// Read text and photo (`30 01`).
    pub const READ_TEXT_PHOTO: [u8; 2] = [0x30, 0x01];
    /// Read text, photo and fingerprint (`30 10`).
    pub const READ_TEXT_PHOTO_FINGERPRINT: [u8; 2] = [0x30, 0x10];
    /// Read the appended block, the newer address (`30 03`).
    pub const READ_APPENDED_ADDRESS: [u8; 2] = [0x30, 0x03];
    /// Change the baud rate (`60 xx`).
    pub const SET_BAUD: u8 = 0x60;
}

/// XOR checksum over `bytes`, which must run from the LEN field up to the
/// byte before the checksum.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |acc, b| acc ^ b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_of_bare_commands_match_the_table() {
        // CMD PARA -> checksum, from IDCARD.md "Commands".
        let table: [([u8; 2], u8); 8] = [
            (cmd::RESET_SAM, 0xEC),
            (cmd::SAM_STATUS, 0xED),
            (cmd::READ_SAM_ID, 0xEE),
            (cmd::FIND_CARD, 0x22),
            (cmd::SELECT_CARD, 0x21),
            (cmd::READ_TEXT_PHOTO, 0x32),
            (cmd::READ_TEXT_PHOTO_FINGERPRINT, 0x23),
            (cmd::READ_APPENDED_ADDRESS, 0x30),
        ];
        for (cp, chk) in table {
            assert_eq!(checksum(&[0x00, 0x03, cp[0], cp[1]]), chk, "{cp:02x?}");
        }
    }

    #[test]
    fn checksum_of_find_card_reply() {
        let reply = [
            0xAA, 0xAA, 0xAA, 0x96, 0x69, 0x00, 0x08, 0x00, 0x00, 0x9F, 0, 0, 0, 0, 0x97,
        ];
        assert_eq!(checksum(&reply[LEN_OFFSET..reply.len() - 1]), 0x97);
    }
}
