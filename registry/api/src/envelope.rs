//! Sealing a registration to the registry's key, and the keyed ID lookup.
//!
//! A terminal holds only the registry's X25519 *public* sealing key. It seals
//! each registration (the JSON of a [`RegistrationUpload`]) in an anonymous
//! sealed box (`crypto_box`: ephemeral X25519, XSalsa20-Poly1305, the
//! libsodium `crypto_box_seal` construction), so once sealed not even the
//! terminal can read it back; only the registry, holding the secret key, opens
//! it. The registry files and finds a petitioner's history under
//! [`id_lookup_key`], an HMAC-SHA256 of the ID number under a lookup key
//! that only the registry holds: terminals send the number over the
//! authenticated channel and the registry hashes it, so a stolen terminal
//! has no key to hash guessed numbers with.
//!
//! Keys are provisioned as one-line text files (see [`SealPublicKey::from_text`]
//! and friends); `#` comment lines and blank lines are ignored.
//!
//! **Key ids.** A box names the key it was sealed to, so that the registry
//! can rotate its sealing key while rows sealed to the old one are still
//! queued on terminals: [`SealPublicKey::seal_bytes`] writes [`BOX_TAG`]
//! (`KSK2`), the 8-byte [`SealKeyId`] of the public key (the first bytes of
//! its SHA-256), then the libsodium sealed box. Boxes of the first format
//! (the sealed box alone, no tag) still open. The registry holds its current
//! and old secret keys in a [`SealKeyRing`], which picks the key by id and
//! answers [`EnvelopeError::UnknownKey`] for an id it does not hold.

use base64::Engine as _;
use crypto_box::aead::OsRng;
use hmac::{Hmac, Mac};
use kiosk_privacy::IdNumber;
use sha2::Sha256;

use crate::RegistrationUpload;

const PUBLIC_PREFIX: &str = "kiosk-seal-public-v1:";
const SECRET_PREFIX: &str = "kiosk-seal-secret-v1:";
const LOOKUP_PREFIX: &str = "kiosk-lookup-key-v1:";
/// The first bytes of a box that names its key (format 2): then the 8-byte
/// [`SealKeyId`], then the sealed box.
pub const BOX_TAG: [u8; 4] = *b"KSK2";
/// The bytes a tagged box adds before the sealed box: [`BOX_TAG`] and the key id.
pub const BOX_HEADER_LEN: usize = BOX_TAG.len() + 8;
/// DER prefix of an X25519 SubjectPublicKeyInfo (RFC 8410), before the 32 key bytes.
const X25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x6e, 0x03, 0x21, 0x00,
];

/// Why a key could not be read or a sealed registration not opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvelopeError {
    /// The key text is not a key of the expected kind.
    #[error("not a {0} (expected a line starting with {1})")]
    BadKey(&'static str, &'static str),
    /// Sealing failed (the system random source).
    #[error("cannot seal the registration")]
    Seal,
    /// The bytes are not a box sealed to this key, or were altered.
    #[error("sealed registration does not open with this key")]
    Open,
    /// The box opened but does not hold a registration.
    #[error("sealed content is not a registration")]
    Content,
    /// The box names a sealing key this holder does not have (a rotated-out
    /// key whose secret half was not kept, or another deployment's key).
    #[error("sealed to key {0}, which this registry does not hold")]
    UnknownKey(SealKeyId),
}

/// The short id of a sealing key: the first 8 bytes of the SHA-256 of the
/// public key, written as 16 hex digits. Not secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SealKeyId([u8; 8]);

impl std::fmt::Display for SealKeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// The key a box names, and the sealed box after the tag; `None` for a box of
/// the first format (no tag).
pub fn box_key_id(sealed: &[u8]) -> Option<(SealKeyId, &[u8])> {
    let rest = sealed.strip_prefix(&BOX_TAG[..])?;
    let id: [u8; 8] = rest.get(..8)?.try_into().ok()?;
    Some((SealKeyId(id), &rest[8..]))
}

/// The registry's public sealing key, as provisioned on every terminal.
#[derive(Clone, PartialEq, Eq)]
pub struct SealPublicKey(crypto_box::PublicKey);

/// The registry's secret sealing key; it never leaves the registry.
#[derive(Clone)]
pub struct SealSecretKey(crypto_box::SecretKey);

/// The key of the ID lookup hash; it never leaves the registry.
/// Its bytes are zeroed when it is dropped.
#[derive(Clone, PartialEq, Eq, zeroize::Zeroize, zeroize::ZeroizeOnDrop)]
pub struct LookupKey([u8; 32]);

impl std::fmt::Debug for SealPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealPublicKey({})", self.to_text())
    }
}

impl std::fmt::Debug for SealSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealSecretKey(<hidden>)")
    }
}

impl std::fmt::Debug for LookupKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LookupKey(<hidden>)")
    }
}

/// The first line of `text` that is neither blank nor a `#` comment.
fn key_line(text: &str) -> &str {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .unwrap_or("")
}

fn decode32(
    text: &str,
    prefix: &'static str,
    what: &'static str,
) -> Result<[u8; 32], EnvelopeError> {
    let bad = || EnvelopeError::BadKey(what, prefix);
    let b64 = key_line(text).strip_prefix(prefix).ok_or_else(bad)?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64.trim())
        .map_err(|_| bad())?;
    bytes.try_into().map_err(|_| bad())
}

fn encode32(prefix: &str, bytes: &[u8]) -> String {
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    )
}

impl SealPublicKey {
    /// Reads `kiosk-seal-public-v1:<base64 of 32 bytes>`, or a PEM `PUBLIC KEY`
    /// block holding an X25519 SubjectPublicKeyInfo (RFC 8410), as provisioning files carry it.
    pub fn from_text(text: &str) -> Result<Self, EnvelopeError> {
        if text.contains("-----BEGIN PUBLIC KEY-----") {
            return Self::from_pem(text);
        }
        decode32(text, PUBLIC_PREFIX, "public sealing key")
            .map(|b| SealPublicKey(crypto_box::PublicKey::from(b)))
    }

    fn from_pem(text: &str) -> Result<Self, EnvelopeError> {
        let bad = || EnvelopeError::BadKey("X25519 public key PEM", "-----BEGIN PUBLIC KEY-----");
        let body: String = text
            .lines()
            .map(str::trim)
            .skip_while(|l| *l != "-----BEGIN PUBLIC KEY-----")
            .skip(1)
            .take_while(|l| *l != "-----END PUBLIC KEY-----")
            .collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| bad())?;
        let key = der.strip_prefix(&X25519_SPKI_PREFIX[..]).ok_or_else(bad)?;
        let key: [u8; 32] = key.try_into().map_err(|_| bad())?;
        Ok(SealPublicKey(crypto_box::PublicKey::from(key)))
    }

    /// The key as a PEM X25519 SubjectPublicKeyInfo (RFC 8410).
    pub fn to_pem(&self) -> String {
        let mut der = X25519_SPKI_PREFIX.to_vec();
        der.extend_from_slice(self.0.as_bytes());
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(der)
        )
    }

    /// The one-line text form of the key.
    pub fn to_text(&self) -> String {
        encode32(PUBLIC_PREFIX, self.0.as_bytes())
    }

    /// Seals `upload`: only the holder of the matching secret key can open the result.
    pub fn seal(&self, upload: &RegistrationUpload) -> Result<Vec<u8>, EnvelopeError> {
        let json = serde_json::to_vec(upload).map_err(|_| EnvelopeError::Seal)?;
        self.seal_bytes(&json)
    }

    /// Seals arbitrary bytes, in a box that names this key ([`BOX_TAG`]).
    pub fn seal_bytes(&self, plain: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        let sealed = self
            .0
            .seal(&mut OsRng, plain)
            .map_err(|_| EnvelopeError::Seal)?;
        let mut out = Vec::with_capacity(BOX_HEADER_LEN + sealed.len());
        out.extend_from_slice(&BOX_TAG);
        out.extend_from_slice(&self.key_id().0);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// The short id boxes sealed to this key carry.
    pub fn key_id(&self) -> SealKeyId {
        let digest = <Sha256 as sha2::Digest>::digest(self.0.as_bytes());
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        SealKeyId(id)
    }
}

impl SealSecretKey {
    /// A fresh random key pair (for provisioning, the demo and tests).
    pub fn generate() -> Self {
        SealSecretKey(crypto_box::SecretKey::generate(&mut OsRng))
    }

    /// Reads `kiosk-seal-secret-v1:<base64 of 32 bytes>`.
    pub fn from_text(text: &str) -> Result<Self, EnvelopeError> {
        decode32(text, SECRET_PREFIX, "secret sealing key")
            .map(|b| SealSecretKey(crypto_box::SecretKey::from(b)))
    }

    /// The one-line text form of the key (a secret: store it root-only).
    pub fn to_text(&self) -> String {
        encode32(SECRET_PREFIX, &self.0.to_bytes())
    }

    /// The public half, to provision on terminals.
    pub fn public_key(&self) -> SealPublicKey {
        SealPublicKey(self.0.public_key())
    }

    /// The id of this key's public half.
    pub fn key_id(&self) -> SealKeyId {
        self.public_key().key_id()
    }

    /// Opens a sealed box (either format) and returns its bytes; a box naming
    /// another key is [`EnvelopeError::UnknownKey`].
    pub fn open_bytes(&self, sealed: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        match box_key_id(sealed) {
            Some((id, inner)) if id == self.key_id() => self.unseal(inner),
            // (A box of the first format may begin like a tag: see SealKeyRing.)
            Some((id, _)) => self.unseal(sealed).map_err(|_| EnvelopeError::UnknownKey(id)),
            None => self.unseal(sealed),
        }
    }

    /// Opens a sealed registration.
    pub fn open(&self, sealed: &[u8]) -> Result<RegistrationUpload, EnvelopeError> {
        open_registration(&self.open_bytes(sealed)?)
    }

    /// Opens the sealed box alone (no tag).
    fn unseal(&self, sealed: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        self.0.unseal(sealed).map_err(|_| EnvelopeError::Open)
    }
}

fn open_registration(plain: &[u8]) -> Result<RegistrationUpload, EnvelopeError> {
    serde_json::from_slice(plain).map_err(|_| EnvelopeError::Content)
}

/// Whatever opens sealed boxes: one secret key, or a [`SealKeyRing`].
pub trait OpenSealed {
    /// Opens a sealed box and returns its bytes.
    fn open_sealed(&self, sealed: &[u8]) -> Result<Vec<u8>, EnvelopeError>;
}

impl OpenSealed for SealSecretKey {
    fn open_sealed(&self, sealed: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        self.open_bytes(sealed)
    }
}

impl OpenSealed for SealKeyRing {
    fn open_sealed(&self, sealed: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        self.open_bytes(sealed)
    }
}

/// The registry's secret sealing keys: the current one (whose public half
/// the terminals hold) and old ones kept to open what was sealed before a
/// rotation. A box is opened with the key it names; a box of the first
/// format (no key id) with whichever key opens it.
#[derive(Clone, Debug)]
pub struct SealKeyRing {
    /// The current key first, then the old ones.
    keys: Vec<(SealKeyId, SealSecretKey)>,
}

impl SealKeyRing {
    /// A ring of the `current` key and `old` ones (a key given twice is kept once).
    pub fn new(current: SealSecretKey, old: Vec<SealSecretKey>) -> Self {
        let mut keys: Vec<(SealKeyId, SealSecretKey)> = Vec::with_capacity(1 + old.len());
        for key in std::iter::once(current).chain(old) {
            let id = key.key_id();
            if !keys.iter().any(|(known, _)| *known == id) {
                keys.push((id, key));
            }
        }
        SealKeyRing { keys }
    }

    /// The ids of the keys held, the current one first.
    pub fn key_ids(&self) -> Vec<SealKeyId> {
        self.keys.iter().map(|(id, _)| *id).collect()
    }

    /// Opens a sealed box and returns its bytes.
    pub fn open_bytes(&self, sealed: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        if let Some((id, inner)) = box_key_id(sealed) {
            if let Some((_, key)) = self.keys.iter().find(|(known, _)| *known == id) {
                return key.unseal(inner);
            }
            // A box of the first format begins with a random ephemeral key:
            // one in 2^32 begins like a tag. Such a box still opens below.
            return self.open_untagged(sealed).map_err(|_| EnvelopeError::UnknownKey(id));
        }
        self.open_untagged(sealed)
    }

    /// Opens a sealed registration.
    pub fn open(&self, sealed: &[u8]) -> Result<RegistrationUpload, EnvelopeError> {
        open_registration(&self.open_bytes(sealed)?)
    }

    /// A box of the first format: tried with every key, the current one first.
    fn open_untagged(&self, sealed: &[u8]) -> Result<Vec<u8>, EnvelopeError> {
        self.keys
            .iter()
            .find_map(|(_, key)| key.unseal(sealed).ok())
            .ok_or(EnvelopeError::Open)
    }
}

impl LookupKey {
    /// A fresh random lookup key (for provisioning, the demo and tests).
    pub fn generate() -> Self {
        let secret = crypto_box::SecretKey::generate(&mut OsRng);
        LookupKey(secret.to_bytes())
    }

    /// Reads `kiosk-lookup-key-v1:<base64 of 32 bytes>`.
    pub fn from_text(text: &str) -> Result<Self, EnvelopeError> {
        decode32(text, LOOKUP_PREFIX, "lookup key").map(LookupKey)
    }

    /// The one-line text form of the key (a secret).
    pub fn to_text(&self) -> String {
        encode32(LOOKUP_PREFIX, &self.0)
    }
}

/// The key under which a petitioner's history is filed and looked up:
/// lower-case hex HMAC-SHA256 of the ID number (trimmed, check letter
/// upper-cased) under `key`. Without the key, the hash cannot be recomputed
/// from a guessed ID number.
pub fn id_lookup_key(key: &LookupKey, id: &IdNumber) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key.0)
        .unwrap_or_else(|_| unreachable!("hmac takes any key length"));
    let normalised = zeroize::Zeroizing::new(id.expose().trim().to_ascii_uppercase());
    mac.update(normalised.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_text_and_refuse_the_wrong_kind() {
        let secret = SealSecretKey::generate();
        let public = secret.public_key();
        let text = format!("# registry key\n\n{}\n", public.to_text());
        assert_eq!(SealPublicKey::from_text(&text).unwrap(), public);
        let again = SealSecretKey::from_text(&secret.to_text()).unwrap();
        assert_eq!(again.public_key(), public);
        // A secret key file where a public one belongs is refused, and vice versa.
        assert!(SealPublicKey::from_text(&secret.to_text()).is_err());
        assert!(SealSecretKey::from_text(&public.to_text()).is_err());
        assert!(LookupKey::from_text("kiosk-lookup-key-v1:AAAA").is_err());
        // The PEM form provisioning files carry.
        assert_eq!(SealPublicKey::from_text(&public.to_pem()).unwrap(), public);
        assert!(public
            .to_pem()
            .starts_with("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VuAyEA"));
        let ed25519 = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n";
        assert!(
            SealPublicKey::from_text(ed25519).is_err(),
            "an Ed25519 key is not a sealing key"
        );
        assert!(!format!("{secret:?}").contains(&secret.to_text()[SECRET_PREFIX.len()..]));
    }

    #[test]
    fn only_the_secret_key_opens_a_sealed_box() {
        let secret = SealSecretKey::generate();
        let sealed = secret
            .public_key()
            .seal_bytes(b"SPECIMEN 11010519491231002X")
            .unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"110105"));
        assert_eq!(
            secret.open_bytes(&sealed).unwrap(),
            b"SPECIMEN 11010519491231002X"
        );
        let other = SealSecretKey::generate();
        assert_eq!(
            other.open_bytes(&sealed),
            Err(EnvelopeError::UnknownKey(secret.key_id()))
        );
        let mut damaged = sealed.clone();
        damaged[40] ^= 1;
        assert_eq!(secret.open_bytes(&damaged), Err(EnvelopeError::Open));
        assert_eq!(
            secret.open(&secret.public_key().seal_bytes(b"{}").unwrap()),
            Err(EnvelopeError::Content)
        );
    }

    /// A box of the first format: the sealed box alone, no tag.
    fn untagged(key: &SealSecretKey, plain: &[u8]) -> Vec<u8> {
        key.public_key().0.seal(&mut OsRng, plain).unwrap()
    }

    #[test]
    fn a_box_names_its_key_and_old_boxes_still_open() {
        let secret = SealSecretKey::generate();
        let public = secret.public_key();
        let sealed = public.seal_bytes(b"SPECIMEN").unwrap();
        let (id, inner) = box_key_id(&sealed).expect("a new box names its key");
        assert_eq!(id, public.key_id());
        assert_eq!(id, secret.key_id());
        assert_eq!(id.to_string().len(), 16);
        assert_eq!(sealed.len(), BOX_HEADER_LEN + inner.len());
        assert_ne!(public.key_id(), SealSecretKey::generate().key_id());
        // Boxes sealed before key ids still open, alone and on a ring.
        let old = untagged(&secret, b"SPECIMEN old format");
        assert_eq!(box_key_id(&old), None);
        assert_eq!(secret.open_bytes(&old).unwrap(), b"SPECIMEN old format");
        let ring = SealKeyRing::new(SealSecretKey::generate(), vec![secret.clone()]);
        assert_eq!(ring.open_bytes(&old).unwrap(), b"SPECIMEN old format");
        // A damaged tag (its key id) does not open with another key.
        let mut retagged = sealed.clone();
        retagged[BOX_TAG.len()] ^= 1;
        assert!(matches!(
            secret.open_bytes(&retagged),
            Err(EnvelopeError::UnknownKey(_))
        ));
    }

    #[test]
    fn a_ring_opens_with_the_key_a_box_names_and_refuses_unknown_ones() {
        let key1 = SealSecretKey::generate();
        let key2 = SealSecretKey::generate();
        let ring = SealKeyRing::new(key2.clone(), vec![key1.clone(), key2.clone()]);
        assert_eq!(ring.key_ids(), [key2.key_id(), key1.key_id()]);
        for key in [&key1, &key2] {
            let sealed = key.public_key().seal_bytes(b"SPECIMEN").unwrap();
            assert_eq!(ring.open_bytes(&sealed).unwrap(), b"SPECIMEN");
        }
        let stranger = SealSecretKey::generate();
        let sealed = stranger.public_key().seal_bytes(b"SPECIMEN").unwrap();
        let err = ring.open_bytes(&sealed).unwrap_err();
        assert_eq!(err, EnvelopeError::UnknownKey(stranger.key_id()));
        assert!(err.to_string().contains(&stranger.key_id().to_string()));
        // Without key 1, what was sealed to it is refused by name.
        let rotated = SealKeyRing::new(key2.clone(), Vec::new());
        let sealed = key1.public_key().seal_bytes(b"SPECIMEN").unwrap();
        assert_eq!(
            rotated.open_bytes(&sealed),
            Err(EnvelopeError::UnknownKey(key1.key_id()))
        );
        // A registration opens through the ring too; a truncated tag is no box.
        assert_eq!(
            ring.open(&key1.public_key().seal_bytes(b"{}").unwrap()),
            Err(EnvelopeError::Content)
        );
        assert_eq!(ring.open_bytes(b"KSK2\x01"), Err(EnvelopeError::Open));
    }

    #[test]
    fn lookup_key_is_keyed_and_normalised() {
        let k1 = LookupKey::generate();
        let k2 = LookupKey::generate();
        let a = id_lookup_key(&k1, &IdNumber::new("11010519491231002x "));
        assert_eq!(a, id_lookup_key(&k1, &IdNumber::new("11010519491231002X")));
        assert_ne!(a, id_lookup_key(&k2, &IdNumber::new("11010519491231002X")));
        assert_eq!(a.len(), 64);
        assert!(!a.contains("110105"));
    }
}
