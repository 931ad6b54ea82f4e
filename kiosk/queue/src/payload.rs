//! How a sealed registration is stored in the `payload` column.
//!
//! This module is the one place that knows the encoding of the personal
//! payload: today plain `serde_json` bytes plus a SHA-256 digest that lets a
//! claim detect a damaged row. Encryption at rest will replace [`encode`] and
//! [`decode`] without touching the rest of the queue.

use registry_api::RegistrationUpload;
use sha2::{Digest, Sha256};

/// Why a stored payload cannot be turned back into an upload.
#[derive(Debug, thiserror::Error)]
pub enum PayloadError {
    /// The bytes do not hash to the digest stored beside them.
    #[error("payload digest mismatch")]
    DigestMismatch,
    /// The bytes are not a registration. The serde message is not kept, as it may quote the data.
    #[error("payload does not decode")]
    Undecodable,
    /// The payload column is empty on a row that should still have it.
    #[error("payload missing")]
    Missing,
}

/// The bytes stored for `upload`, and their digest.
pub(crate) fn encode(upload: &RegistrationUpload) -> Result<(Vec<u8>, String), serde_json::Error> {
    let bytes = serde_json::to_vec(upload)?;
    let digest = digest(&bytes);
    Ok((bytes, digest))
}

/// The upload stored as `bytes`, checked against `expected_digest`.
pub(crate) fn decode(
    bytes: Option<&[u8]>,
    expected_digest: &str,
) -> Result<RegistrationUpload, PayloadError> {
    let bytes = bytes.ok_or(PayloadError::Missing)?;
    if digest(bytes) != expected_digest {
        return Err(PayloadError::DigestMismatch);
    }
    serde_json::from_slice(bytes).map_err(|_| PayloadError::Undecodable)
}

/// Lower-case hex SHA-256 of the stored bytes.
pub(crate) fn digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_utils::specimen_upload;

    #[test]
    fn round_trips_and_rejects_damage() {
        let upload = specimen_upload(1);
        let (bytes, dig) = encode(&upload).unwrap();
        assert_eq!(decode(Some(&bytes), &dig).unwrap(), upload);
        let mut bad = bytes.clone();
        bad[3] ^= 0x55;
        assert!(matches!(
            decode(Some(&bad), &dig),
            Err(PayloadError::DigestMismatch)
        ));
        let garbage = b"not json".to_vec();
        assert!(matches!(
            decode(Some(&garbage), &digest(&garbage)),
            Err(PayloadError::Undecodable)
        ));
        assert!(matches!(decode(None, &dig), Err(PayloadError::Missing)));
    }
}
