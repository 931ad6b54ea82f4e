//! How a sealed registration is stored in the `payload` column.
//!
//! This module is the one place that knows the encoding of the personal
//! payload: the JSON of the upload in a sealed box to the registry's public
//! key (`registry_api::envelope`), so the terminal cannot read it back, plus
//! two digests: `sealed_sha256` of the stored box, which lets a claim detect a
//! damaged row, and `payload_sha256` of the plain JSON, which lets a repeated
//! seal of the same idempotency key tell "the same registration" from "a
//! different one". The plain JSON holds the random idempotency key and the
//! page images, so its digest cannot be guessed back.

use registry_api::envelope::{EnvelopeError, SealPublicKey};
use registry_api::{RegistrationUpload, VoiceNoteError, VOICE_NOTE_PART};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Why a stored payload cannot be handed to the uplink.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// The bytes do not hash to the digest stored beside them.
    #[error("payload digest mismatch")]
    DigestMismatch,
    /// The payload column is empty on a row that should still have it.
    #[error("payload missing")]
    Missing,
}

/// A registration as sealed for storage: the metadata box (the upload with
/// every page's `jpeg_base64` and the voice note's `ogg_opus_base64` left
/// empty; index, sha256, size, duration and OCR text stay), one box per page
/// holding its JPEG bytes, and one holding the voice note's Ogg Opus bytes.
#[derive(Debug)]
pub(crate) struct Sealed {
    pub bytes: Vec<u8>,
    pub sealed_sha256: String,
    pub content_sha256: String,
    pub pages: Vec<SealedPageBox>,
    /// The voice note's box, its `index` [`VOICE_NOTE_PART`].
    pub voice_note: Option<SealedPageBox>,
}

/// One page's JPEG (or the voice note's bytes) in a sealed box.
#[derive(Debug)]
pub(crate) struct SealedPageBox {
    pub index: u32,
    pub bytes: Vec<u8>,
    pub sealed_sha256: String,
}

impl Sealed {
    /// The stored size of all boxes together.
    pub fn total_len(&self) -> usize {
        self.bytes.len()
            + self.parts().map(|p| p.bytes.len()).sum::<usize>()
    }

    /// The boxes besides the metadata: the pages, then the voice note.
    pub fn parts(&self) -> impl Iterator<Item = &SealedPageBox> {
        self.pages.iter().chain(self.voice_note.as_ref())
    }
}

/// Seals `upload` to `key` as a metadata box, one box per page and one for
/// the voice note. The note is checked first (size, hash, Ogg Opus: the
/// registry refuses the whole registration otherwise), and its decoded
/// bytes are zeroed once sealed.
pub(crate) fn seal(upload: &RegistrationUpload, key: &SealPublicKey) -> Result<Sealed, SealError> {
    let mut meta = upload.clone();
    let voice_note = match &mut meta.voice_note {
        Some(note) => {
            let ogg = Zeroizing::new(note.ogg_opus().map_err(SealError::VoiceNote)?);
            let bytes = key.seal_bytes(&ogg).map_err(SealError::Envelope)?;
            zeroize::Zeroize::zeroize(&mut note.ogg_opus_base64);
            Some(SealedPageBox { index: VOICE_NOTE_PART, sealed_sha256: digest(&bytes), bytes })
        }
        None => None,
    };
    let json = Zeroizing::new(serde_json::to_vec(upload).map_err(|_| SealError::Encode)?);
    let content_sha256 = digest(&json);
    drop(json);
    let mut pages = Vec::with_capacity(upload.pages.len());
    for page in &mut meta.pages {
        let jpeg = page.jpeg().map_err(|_| SealError::Encode)?;
        let bytes = key.seal_bytes(&jpeg).map_err(SealError::Envelope)?;
        pages.push(SealedPageBox { index: page.index, sealed_sha256: digest(&bytes), bytes });
        page.jpeg_base64 = String::new();
    }
    let json = serde_json::to_vec(&meta).map_err(|_| SealError::Encode)?;
    let bytes = key.seal_bytes(&json).map_err(SealError::Envelope)?;
    drop(json);
    Ok(Sealed { sealed_sha256: digest(&bytes), bytes, content_sha256, pages, voice_note })
}

/// Why sealing failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SealError {
    #[error("cannot encode the registration")]
    Encode,
    #[error(transparent)]
    Envelope(EnvelopeError),
    #[error(transparent)]
    VoiceNote(VoiceNoteError),
}

/// The stored box, checked against `expected_digest`.
pub(crate) fn check(bytes: Option<Vec<u8>>, expected_digest: &str) -> Result<Vec<u8>, PayloadError> {
    let bytes = bytes.ok_or(PayloadError::Missing)?;
    if digest(&bytes) != expected_digest {
        return Err(PayloadError::DigestMismatch);
    }
    Ok(bytes)
}

/// Lower-case hex SHA-256 of the stored bytes.
pub(crate) fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::{specimen_upload, specimen_upload_with_voice};
    use registry_api::envelope::SealSecretKey;

    #[test]
    fn seals_to_the_key_and_detects_damage() {
        let secret = SealSecretKey::generate();
        let upload = specimen_upload(1);
        let sealed = seal(&upload, &secret.public_key()).unwrap();
        let meta = secret.open(&sealed.bytes).unwrap();
        assert_eq!(meta.pages.len(), upload.pages.len());
        for ((m, p), b) in meta.pages.iter().zip(&upload.pages).zip(&sealed.pages) {
            assert!(m.jpeg_base64.is_empty(), "page bytes left in the metadata box");
            assert_eq!((m.index, &m.sha256), (p.index, &p.sha256));
            assert_eq!(b.index, p.index);
            assert_eq!(secret.open_bytes(&b.bytes).unwrap(), p.jpeg().unwrap());
        }
        let mut rebuilt = meta.clone();
        for (m, p) in rebuilt.pages.iter_mut().zip(&upload.pages) {
            m.jpeg_base64 = p.jpeg_base64.clone();
        }
        assert_eq!(rebuilt, upload);
        let again = seal(&upload, &secret.public_key()).unwrap();
        assert_eq!(again.content_sha256, sealed.content_sha256);
        assert_ne!(again.bytes, sealed.bytes, "every seal uses a fresh ephemeral key");
        let ok = check(Some(sealed.bytes.clone()), &sealed.sealed_sha256).unwrap();
        assert_eq!(ok, sealed.bytes);
        let mut bad = sealed.bytes.clone();
        bad[3] ^= 0x55;
        assert!(matches!(check(Some(bad), &sealed.sealed_sha256), Err(PayloadError::DigestMismatch)));
        assert!(matches!(check(None, &sealed.sealed_sha256), Err(PayloadError::Missing)));
        assert!(sealed.voice_note.is_none());
    }

    #[test]
    fn the_voice_note_is_sealed_in_a_box_of_its_own() {
        let secret = SealSecretKey::generate();
        let upload = specimen_upload_with_voice(1);
        let note = upload.voice_note.clone().unwrap();
        let sealed = seal(&upload, &secret.public_key()).unwrap();
        let meta = secret.open(&sealed.bytes).unwrap();
        let kept = meta.voice_note.clone().unwrap();
        assert!(kept.ogg_opus_base64.is_empty(), "the note's bytes in the metadata box");
        assert_eq!((&kept.sha256, kept.size_bytes, kept.duration_ms), (&note.sha256, note.size_bytes, note.duration_ms));
        let voice = sealed.voice_note.as_ref().unwrap();
        assert_eq!(voice.index, VOICE_NOTE_PART);
        assert_eq!(secret.open_bytes(&voice.bytes).unwrap(), note.ogg_opus().unwrap());
        assert_eq!(voice.sealed_sha256, digest(&voice.bytes));
        assert_eq!(sealed.total_len(), sealed.bytes.len() + sealed.pages.iter().map(|p| p.bytes.len()).sum::<usize>() + voice.bytes.len());
        // The same registration with or without the note is not the same content.
        assert_ne!(seal(&specimen_upload(1), &secret.public_key()).unwrap().content_sha256, sealed.content_sha256);
    }
}
