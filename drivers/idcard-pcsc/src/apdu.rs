//! The APDUs of the PC/SC dialects and the parsing of their responses.
//!
//! Source: `/work/shared/IDCARD.md`, "Transport": readers with a built-in
//! SAM answer the vendor pseudo-APDU `FF B0 P1 00 00`; `P1 = 0` returns the
//! text block at response offset 4 (after two big-endian lengths, text and
//! photo, as in the serial read reply), `P1 = 1..=5` return the photo in
//! chunks. `FF CA 00 00 00` (PC/SC part 3 GET DATA) returns the card's
//! identifier on any contactless reader. Sizes come from the length fields
//! and the responses, never from constants.

use idcard_proto::TextError;

/// SW1 SW2 of success.
pub const SW_OK: u16 = 0x9000;

/// `FF CA 00 00 00`: the card's physical identifier (PUPI for type B).
pub const GET_UID: [u8; 5] = [0xFF, 0xCA, 0x00, 0x00, 0x00];

/// The highest `P1` of the photo chunks.
pub const MAX_PHOTO_CHUNKS: u8 = 5;

/// `FF B0 P1 00 00`: the vendor read (`P1 = 0` text, `1..=5` photo).
pub fn vendor_read(p1: u8) -> [u8; 5] {
    [0xFF, 0xB0, p1, 0x00, 0x00]
}

/// Splits a response into data and SW1 SW2; `None` when shorter than 2.
pub fn split_sw(resp: &[u8]) -> Option<(&[u8], u16)> {
    let n = resp.len().checked_sub(2)?;
    Some((&resp[..n], u16::from_be_bytes([resp[n], resp[n + 1]])))
}

/// The text block and the announced photo size of a `P1 = 0` response.
#[derive(Clone, PartialEq, Eq)]
pub struct TextResponse {
    /// The text block (its declared length).
    pub text: Vec<u8>,
    /// Photo bytes the chunks will carry.
    pub photo_len: usize,
}

impl std::fmt::Debug for TextResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextResponse")
            .field("text_len", &self.text.len())
            .field("photo_len", &self.photo_len)
            .finish()
    }
}

/// Parses the data of a `P1 = 0` response: text length and photo length
/// (big-endian), then the text block.
pub fn parse_text_response(data: &[u8]) -> Result<TextResponse, TextError> {
    let head = data
        .get(..4)
        .ok_or(TextError::ReplyTooShort { len: data.len() })?;
    let text_len = usize::from(u16::from_be_bytes([head[0], head[1]]));
    let photo_len = usize::from(u16::from_be_bytes([head[2], head[3]]));
    let text = data
        .get(4..4 + text_len)
        .ok_or(TextError::ReplyLength {
            declared: 4 + text_len,
            actual: data.len(),
        })?
        .to_vec();
    Ok(TextResponse { text, photo_len })
}

/// Builds a `P1 = 0` response's data (for the virtual card and tests).
pub fn encode_text_response(text: &[u8], photo_len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + text.len());
    out.extend_from_slice(&(text.len().min(0xFFFF) as u16).to_be_bytes());
    out.extend_from_slice(&(photo_len.min(0xFFFF) as u16).to_be_bytes());
    out.extend_from_slice(text);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apdus_are_the_documented_bytes() {
        assert_eq!(vendor_read(0), [0xFF, 0xB0, 0x00, 0x00, 0x00]);
        assert_eq!(vendor_read(5), [0xFF, 0xB0, 0x05, 0x00, 0x00]);
        assert_eq!(GET_UID, [0xFF, 0xCA, 0x00, 0x00, 0x00]);
    }

    #[test]
    fn responses_split_and_parse() {
        assert_eq!(split_sw(&[1, 2, 0x90, 0x00]), Some((&[1u8, 2][..], 0x9000)));
        assert_eq!(split_sw(&[0x90]), None);
        let data = encode_text_response(&[7; 256], 1024);
        assert_eq!(data[..4], [0x01, 0x00, 0x04, 0x00]);
        let r = parse_text_response(&data).unwrap();
        assert_eq!((r.text.len(), r.photo_len), (256, 1024));
        assert_eq!(
            parse_text_response(&data[..100]),
            Err(TextError::ReplyLength { declared: 260, actual: 100 })
        );
        assert_eq!(parse_text_response(&[1]), Err(TextError::ReplyTooShort { len: 1 }));
    }
}
