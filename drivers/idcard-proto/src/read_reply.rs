//! Splitting the data of a `30 01` / `30 10` reply by its length fields.
//!
//! Layout from `/work/shared/IDCARD.md`, "Read reply data": big-endian text
//! length, photo length and (for `30 10`) fingerprint length, then the three
//! blocks in that order. Sizes come from the length fields, never from
//! constants.

use std::fmt;

use crate::text::TextError;

/// The blocks of a read reply.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ReadReply {
    /// The text block (256 bytes on every known card).
    pub text: Vec<u8>,
    /// The compressed WLT photo.
    pub photo: Vec<u8>,
    /// The fingerprint block; empty for `30 01`.
    pub fingerprint: Vec<u8>,
}

impl fmt::Debug for ReadReply {
    // Every block is personal data: show only sizes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReadReply")
            .field("text_len", &self.text.len())
            .field("photo_len", &self.photo.len())
            .field("fingerprint_len", &self.fingerprint.len())
            .finish()
    }
}

/// Splits reply data (the bytes after SW3) of `30 01` (`with_fingerprint`
/// false) or `30 10` (true). The length fields must add up to the data size.
pub fn split_read_reply(data: &[u8], with_fingerprint: bool) -> Result<ReadReply, TextError> {
    let n_lens = if with_fingerprint { 3 } else { 2 };
    let head = data
        .get(..2 * n_lens)
        .ok_or(TextError::ReplyTooShort { len: data.len() })?;
    let lens: Vec<usize> = head
        .chunks_exact(2)
        .map(|p| usize::from(u16::from_be_bytes([p[0], p[1]])))
        .collect();
    let declared = 2 * n_lens + lens.iter().sum::<usize>();
    if declared != data.len() {
        return Err(TextError::ReplyLength {
            declared,
            actual: data.len(),
        });
    }
    let mut rest = &data[2 * n_lens..];
    let mut take = |n: usize| {
        let (block, tail) = rest.split_at(n);
        rest = tail;
        block.to_vec()
    };
    let text = take(lens[0]);
    let photo = take(lens[1]);
    let fingerprint = if with_fingerprint {
        take(lens[2])
    } else {
        Vec::new()
    };
    Ok(ReadReply {
        text,
        photo,
        fingerprint,
    })
}

/// Builds reply data for `30 01` (no fingerprint given) or `30 10`, for
/// simulators and tests. Blocks longer than 65535 bytes are cut.
pub fn encode_read_reply(text: &[u8], photo: &[u8], fingerprint: Option<&[u8]>) -> Vec<u8> {
    let cut = |b: &[u8]| -> usize { b.len().min(usize::from(u16::MAX)) };
    let mut blocks = vec![text, photo];
    blocks.extend(fingerprint);
    let mut out = Vec::new();
    for b in &blocks {
        out.extend_from_slice(&(cut(b) as u16).to_be_bytes());
    }
    for b in &blocks {
        out.extend_from_slice(&b[..cut(b)]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_text_and_photo() {
        let data = encode_read_reply(&[1; 256], &[2; 1024], None);
        assert_eq!(data.len(), 1284);
        assert_eq!(data[..4], [0x01, 0x00, 0x04, 0x00]);
        let r = split_read_reply(&data, false).unwrap();
        assert_eq!(
            (r.text, r.photo.len(), r.fingerprint.len()),
            (vec![1; 256], 1024, 0)
        );
    }

    #[test]
    fn splits_every_fingerprint_size() {
        for fp_len in [0, 512, 1024] {
            let data = encode_read_reply(&[1; 256], &[2; 1024], Some(&vec![3; fp_len]));
            // Whole frame: 7 header + 3 status + data + 1 checksum.
            assert_eq!(data.len() + 11, [1297, 1809, 2321][fp_len / 512]);
            let r = split_read_reply(&data, true).unwrap();
            assert_eq!(r.fingerprint, vec![3; fp_len]);
            assert_eq!(r.photo, vec![2; 1024]);
        }
    }

    #[test]
    fn odd_sizes_follow_the_length_fields() {
        let data = encode_read_reply(&[1; 10], &[2; 3], None);
        let r = split_read_reply(&data, false).unwrap();
        assert_eq!((r.text.len(), r.photo.len()), (10, 3));
    }

    #[test]
    fn bad_lengths_are_errors() {
        assert_eq!(
            split_read_reply(&[1, 0], false),
            Err(TextError::ReplyTooShort { len: 2 })
        );
        let mut data = encode_read_reply(&[1; 256], &[2; 1024], None);
        data.pop();
        assert_eq!(
            split_read_reply(&data, false),
            Err(TextError::ReplyLength {
                declared: 1284,
                actual: 1283
            })
        );
        let data = encode_read_reply(&[1; 256], &[2; 1024], None);
        // Read as if it carried a fingerprint length: the sizes cannot add up.
        assert!(split_read_reply(&data, true).is_err());
    }

    #[test]
    fn debug_shows_sizes_only() {
        let r = ReadReply {
            text: vec![0x4B; 4],
            photo: vec![],
            fingerprint: vec![],
        };
        assert_eq!(
            format!("{r:?}"),
            "ReadReply { text_len: 4, photo_len: 0, fingerprint_len: 0 }"
        );
    }
}
