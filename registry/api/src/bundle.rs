//! The sealed bundle: a registration's metadata box and its page boxes in one
//! request body, so the common upload is a single request.
//!
//! Layout (all integers big-endian): the 4 magic bytes `KSB1`, then parts, each
//! `u32 index`, `u32 length`, `length` bytes. Index 0 is the metadata box and
//! comes first, exactly once; indexes 1, 2, … are the page boxes, and
//! [`VOICE_NOTE_PART`] the voice note's box, each at most once. A bundle may
//! carry only some parts (the registry stages them and answers 202 with the
//! ones it misses). A bundle has at most [`MAX_PARTS`] parts: the decoder
//! stops at the first one over, so a body of a million empty parts costs
//! nothing but its read.

/// The part index of the voice note's box: the highest `u32`, which no page
/// can have (pages are 1 to [`crate::MAX_PAGES`]). The same number names the
/// note wherever parts are named: in a bundle, in the 202 answer's
/// `missing_pages` (last, since they are ascending), in the path of a staged
/// part (`PUT …/pages/4294967295`, [`crate::sealed_page_path`]) and in the
/// terminal's queue, where the box waits beside the page boxes.
pub const VOICE_NOTE_PART: u32 = u32::MAX;

// A page index can never reach the voice note's.
const _: () = assert!((crate::MAX_PAGES as u64) < VOICE_NOTE_PART as u64);

/// The most parts a bundle may have: the metadata, one per page and the voice note.
pub const MAX_PARTS: usize = crate::MAX_PAGES + 2;

/// The first four bytes of every bundle.
pub const BUNDLE_MAGIC: &[u8; 4] = b"KSB1";

/// Why a body is not a well-formed bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("bundle does not start with KSB1")]
    Magic,
    #[error("bundle is truncated")]
    Truncated,
    #[error("bundle does not start with the metadata part")]
    NoMetadata,
    #[error("bundle has part {0} twice or out of place")]
    Duplicate(u32),
    #[error("bundle has more than {MAX_PARTS} parts")]
    TooManyParts,
}

/// A bundle split into its parts, borrowing from the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle<'a> {
    /// The metadata box (the registration's JSON with empty page images, sealed).
    pub metadata: &'a [u8],
    /// `(index, page box)` in the order sent.
    pub pages: Vec<(u32, &'a [u8])>,
    /// The voice note's box (part [`VOICE_NOTE_PART`]), when it came.
    pub voice_note: Option<&'a [u8]>,
}

/// Writes a bundle of `metadata` and the `(index, box)` parts (pages, and
/// the voice note as [`VOICE_NOTE_PART`]).
pub fn encode<'a>(metadata: &[u8], pages: impl IntoIterator<Item = (u32, &'a [u8])>) -> Vec<u8> {
    let pages: Vec<(u32, &[u8])> = pages.into_iter().collect();
    let len = 4 + 8 + metadata.len() + pages.iter().map(|(_, b)| 8 + b.len()).sum::<usize>();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(BUNDLE_MAGIC);
    for (index, bytes) in std::iter::once((0, metadata)).chain(pages) {
        out.extend_from_slice(&index.to_be_bytes());
        // Parts are far below 4 GiB (the registry's body limit is 32 MiB).
        out.extend_from_slice(&u32::try_from(bytes.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(bytes);
    }
    out
}

/// Splits a bundle into its parts without copying them.
pub fn decode(body: &[u8]) -> Result<Bundle<'_>, BundleError> {
    let rest = body.strip_prefix(BUNDLE_MAGIC).ok_or(BundleError::Magic)?;
    let mut parts = Vec::new();
    let mut rest = rest;
    while !rest.is_empty() {
        if parts.len() == MAX_PARTS {
            return Err(BundleError::TooManyParts);
        }
        let (head, tail) = rest.split_at_checked(8).ok_or(BundleError::Truncated)?;
        let index = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
        let len = u32::from_be_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let (bytes, tail) = tail.split_at_checked(len).ok_or(BundleError::Truncated)?;
        parts.push((index, bytes));
        rest = tail;
    }
    let mut parts = parts.into_iter();
    let metadata = match parts.next() {
        Some((0, bytes)) => bytes,
        _ => return Err(BundleError::NoMetadata),
    };
    let mut pages: Vec<(u32, &[u8])> = parts.collect();
    let mut seen = std::collections::BTreeSet::new();
    for (index, _) in &pages {
        if *index == 0 || !seen.insert(*index) {
            return Err(BundleError::Duplicate(*index));
        }
    }
    let voice_note = pages
        .iter()
        .position(|(index, _)| *index == VOICE_NOTE_PART)
        .map(|at| pages.remove(at).1);
    Ok(Bundle {
        metadata,
        pages,
        voice_note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_malformed_bodies() {
        let body = encode(b"meta", [(1, &b"one"[..]), (3, &b""[..])]);
        let b = decode(&body).unwrap();
        assert_eq!(b.metadata, b"meta");
        assert_eq!(b.pages, vec![(1, &b"one"[..]), (3, &b""[..])]);
        assert_eq!(decode(b"KSB0"), Err(BundleError::Magic));
        assert_eq!(decode(&body[..body.len() - 9]), Err(BundleError::Truncated));
        assert_eq!(decode(b"KSB1"), Err(BundleError::NoMetadata));
        let no_meta = encode(b"meta", []);
        let mut wrong = no_meta.clone();
        wrong[7] = 1; // the first part claims to be page 1
        assert_eq!(decode(&wrong), Err(BundleError::NoMetadata));
        let twice = encode(b"m", [(2, &b"a"[..]), (2, &b"b"[..])]);
        assert_eq!(decode(&twice), Err(BundleError::Duplicate(2)));
        let zero = encode(b"m", [(0, &b"a"[..])]);
        assert_eq!(decode(&zero), Err(BundleError::Duplicate(0)));
    }

    #[test]
    fn the_voice_note_rides_as_its_own_part_at_most_once() {
        let body = encode(b"meta", [(1, &b"one"[..]), (VOICE_NOTE_PART, &b"voice"[..]), (2, &b"two"[..])]);
        let b = decode(&body).unwrap();
        assert_eq!(b.pages, vec![(1, &b"one"[..]), (2, &b"two"[..])]);
        assert_eq!(b.voice_note, Some(&b"voice"[..]));
        // Alone with the metadata (a registration without pages).
        let body = encode(b"meta", [(VOICE_NOTE_PART, &b"voice"[..])]);
        let alone = decode(&body).unwrap();
        assert!(alone.pages.is_empty());
        assert_eq!(alone.voice_note, Some(&b"voice"[..]));
        assert_eq!(decode(&encode(b"meta", [(1, &b"one"[..])])).unwrap().voice_note, None);
        let twice = encode(b"m", [(VOICE_NOTE_PART, &b"a"[..]), (VOICE_NOTE_PART, &b"b"[..])]);
        assert_eq!(decode(&twice), Err(BundleError::Duplicate(VOICE_NOTE_PART)));
        // Every page and the voice note fit; one part more does not.
        let mut full: Vec<(u32, &[u8])> = (1..=crate::MAX_PAGES as u32).map(|i| (i, &b"p"[..])).collect();
        full.push((VOICE_NOTE_PART, &b"v"[..]));
        let body = encode(b"m", full.clone());
        let whole = decode(&body).unwrap();
        assert_eq!((whole.pages.len(), whole.voice_note.is_some()), (crate::MAX_PAGES, true));
        full.push((crate::MAX_PAGES as u32 + 1, &b"p"[..]));
        assert_eq!(decode(&encode(b"m", full)), Err(BundleError::TooManyParts));
    }

    #[test]
    fn a_bundle_of_a_million_empty_parts_is_refused_at_the_first_part_over() {
        let full: Vec<(u32, &[u8])> = (1..=crate::MAX_PAGES as u32).map(|i| (i, &b"p"[..])).collect();
        assert_eq!(decode(&encode(b"m", full.clone())).unwrap().pages.len(), crate::MAX_PAGES);
        let mut over = full;
        over.push((crate::MAX_PAGES as u32 + 1, &b"p"[..]));
        over.push((crate::MAX_PAGES as u32 + 2, &b"p"[..]));
        assert_eq!(decode(&encode(b"m", over)), Err(BundleError::TooManyParts));
        // Refused after reading MAX_PARTS part headers, not a million.
        let million = encode(b"m", (1..=1_000_000u32).map(|i| (i, &b""[..])));
        assert_eq!(decode(&million), Err(BundleError::TooManyParts));
    }
}
