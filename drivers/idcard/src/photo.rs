//! The card photo: a 1024-byte compressed "WLT" blob that only the vendor's
//! decoder library turns into an image.
//!
//! The library is loaded at run time from a configured path with
//! `libloading`, so a terminal without it still builds, starts and reads
//! cards: [`decode_photo`] then returns [`Photo::NotDecodable`] with
//! [`NOT_DECODABLE`], and the read itself never fails because of the photo.
//!
//! The function expected is the common vendor convention (`libwlt2bmp`):
//!
//! ```c
//! int unpack(const unsigned char *wlt, unsigned char *bmp, int flag);
//! ```
//!
//! It writes a 102×126 24-bit BMP (38,862 bytes) to `bmp` and returns 1 on
//! success. The symbol name and the flag are configurable
//! ([`PhotoDecoderConfig`]) because vendors differ. The output buffer is
//! larger than any such BMP, and the result is checked (BMP signature,
//! sizes) before it is used.

use std::path::PathBuf;

/// What the clerk's screen shows instead of a photo without the decoder.
pub const NOT_DECODABLE: &str = "photo not decodable on this terminal";

/// Width of the decoded photo in pixels.
pub const PHOTO_WIDTH: u32 = 102;
/// Height of the decoded photo in pixels.
pub const PHOTO_HEIGHT: u32 = 126;

/// Room given to the vendor function for its BMP (the real one is 38,862).
const BMP_BUFFER: usize = 64 * 1024;

/// Why the decoder library could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// The library could not be loaded.
    #[error("cannot load the photo decoder library")]
    Load(#[source] libloading::Error),
    /// The library lacks the configured function.
    #[error("photo decoder library has no function {0}")]
    Symbol(String, #[source] libloading::Error),
}

/// Where the vendor decoder is and how to call it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhotoDecoderConfig {
    /// Path of the shared library.
    pub library: PathBuf,
    /// Exported function name.
    pub symbol: String,
    /// Third argument of the function (602 in `libwlt2bmp`).
    pub flag: i32,
}

impl PhotoDecoderConfig {
    /// The `libwlt2bmp` convention (`unpack`, flag 602) at `library`.
    pub fn new(library: impl Into<PathBuf>) -> PhotoDecoderConfig {
        PhotoDecoderConfig {
            library: library.into(),
            symbol: "unpack".to_string(),
            flag: 602,
        }
    }
}

type UnpackFn = unsafe extern "C" fn(*const u8, *mut u8, i32) -> i32;

/// A loaded vendor decoder.
pub struct PhotoDecoder {
    // Keeps the library mapped while `unpack` may be called.
    _lib: libloading::Library,
    unpack: UnpackFn,
    flag: i32,
}

impl std::fmt::Debug for PhotoDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhotoDecoder")
            .field("flag", &self.flag)
            .finish_non_exhaustive()
    }
}

impl PhotoDecoder {
    /// Loads the library and looks up its function.
    pub fn load(cfg: &PhotoDecoderConfig) -> Result<PhotoDecoder, PhotoError> {
        // SAFETY: loading runs the library's initialisers. The path is the
        // vendor decoder named in the terminal's configuration, installed
        // by the administrator; nothing else is loaded from it.
        let lib = unsafe { libloading::Library::new(&cfg.library) }.map_err(PhotoError::Load)?;
        // SAFETY: the configured symbol is documented (module docs) to have
        // the `UnpackFn` signature; the pointer is copied out while the
        // library stays loaded in `_lib` for as long as it is used.
        let unpack = unsafe {
            let sym: libloading::Symbol<'_, UnpackFn> = lib
                .get(cfg.symbol.as_bytes())
                .map_err(|e| PhotoError::Symbol(cfg.symbol.clone(), e))?;
            *sym
        };
        Ok(PhotoDecoder {
            _lib: lib,
            unpack,
            flag: cfg.flag,
        })
    }

    /// Loads the decoder when a path is configured and the library loads;
    /// otherwise logs why not and returns `None` (photos then show
    /// [`NOT_DECODABLE`]).
    pub fn load_optional(cfg: Option<&PhotoDecoderConfig>) -> Option<PhotoDecoder> {
        let cfg = cfg?;
        match PhotoDecoder::load(cfg) {
            Ok(d) => Some(d),
            Err(e) => {
                log::warn!("{e}; {NOT_DECODABLE}");
                None
            }
        }
    }

    /// Decodes a WLT blob into a BMP, or says why not.
    pub fn decode(&self, wlt: &[u8]) -> Photo {
        if wlt.len() != idcard_proto::wire::PHOTO_LEN {
            return Photo::NotDecodable("photo blob has an unexpected size");
        }
        let mut bmp = vec![0u8; BMP_BUFFER];
        // SAFETY: `wlt` holds the 1024 bytes the function reads; `bmp` is
        // larger than the largest BMP it writes (38,862 bytes).
        let rc = unsafe { (self.unpack)(wlt.as_ptr(), bmp.as_mut_ptr(), self.flag) };
        if rc != 1 {
            return Photo::NotDecodable("photo decoder failed");
        }
        match bmp_size(&bmp) {
            Some((size, width, height)) => {
                bmp.truncate(size);
                Photo::Decoded(DecodedPhoto { bmp, width, height })
            }
            None => Photo::NotDecodable("photo decoder returned no image"),
        }
    }
}

/// A decoded photo.
#[derive(Clone, PartialEq, Eq)]
pub struct DecodedPhoto {
    /// The BMP file, as the vendor library wrote it.
    pub bmp: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

impl std::fmt::Debug for DecodedPhoto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DecodedPhoto({}x{}, {} bytes)",
            self.width,
            self.height,
            self.bmp.len()
        )
    }
}

/// The photo for the screen and the registration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Photo {
    /// Decoded by the vendor library.
    Decoded(DecodedPhoto),
    /// Not decoded; the text to show instead ([`NOT_DECODABLE`] when no
    /// decoder is installed). The blob is still kept in the identity.
    NotDecodable(&'static str),
}

/// Decodes `wlt` with `decoder` when there is one; never fails.
pub fn decode_photo(decoder: Option<&PhotoDecoder>, wlt: &[u8]) -> Photo {
    match decoder {
        Some(d) => d.decode(wlt),
        None => Photo::NotDecodable(NOT_DECODABLE),
    }
}

/// File size, width and height of a BMP header, when it is one of sane
/// size.
fn bmp_size(b: &[u8]) -> Option<(usize, u32, u32)> {
    if b.get(..2)? != b"BM" {
        return None;
    }
    let u32_at =
        |o: usize| -> Option<u32> { Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?)) };
    let size = usize::try_from(u32_at(2)?).ok()?;
    let width = u32_at(18)?;
    let height = i32::from_le_bytes(b.get(22..26)?.try_into().ok()?).unsigned_abs();
    if size < 54 || size > b.len() || width == 0 || height == 0 || width > 4096 || height > 4096 {
        return None;
    }
    Some((size, width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_decoder_the_photo_is_not_decodable() {
        assert_eq!(
            decode_photo(None, &[0; 1024]),
            Photo::NotDecodable(NOT_DECODABLE)
        );
        assert_eq!(NOT_DECODABLE, "photo not decodable on this terminal");
    }

    #[test]
    fn a_missing_library_is_a_typed_error_and_optional_load_gives_none() {
        let cfg = PhotoDecoderConfig::new("/nonexistent/libwlt2bmp.so");
        assert!(matches!(PhotoDecoder::load(&cfg), Err(PhotoError::Load(_))));
        assert!(PhotoDecoder::load_optional(Some(&cfg)).is_none());
        assert!(PhotoDecoder::load_optional(None).is_none());
    }

    #[test]
    fn bmp_header_checks() {
        let mut b = vec![0u8; 100];
        assert_eq!(bmp_size(&b), None);
        b[..2].copy_from_slice(b"BM");
        b[2..6].copy_from_slice(&100u32.to_le_bytes());
        b[18..22].copy_from_slice(&102u32.to_le_bytes());
        b[22..26].copy_from_slice(&126i32.to_le_bytes());
        assert_eq!(bmp_size(&b), Some((100, 102, 126)));
        b[2..6].copy_from_slice(&1000u32.to_le_bytes());
        assert_eq!(bmp_size(&b), None);
    }
}
