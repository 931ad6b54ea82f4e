//! The WLT photo decoder loaded at run time: a tiny stand-in vendor library
//! is compiled here with the system C compiler (`cc`, from build-essential)
//! and loaded through the configured path; a missing library never fails a
//! read.

use std::path::{Path, PathBuf};
use std::process::Command;

use kiosk_idcard::photo::{
    decode_photo, Photo, PhotoDecoder, PhotoDecoderConfig, PhotoError, NOT_DECODABLE, PHOTO_HEIGHT,
    PHOTO_WIDTH,
};

/// A stand-in for the vendor's `libwlt2bmp`: `unpack` writes a 102x126
/// 24-bit BMP whose pixels are derived from the blob, and returns 1; it
/// returns 0 when the blob starts with 0xFF (a "corrupt" photo) or the flag
/// is not 602.
const FAKE_DECODER: &str = r#"
#include <string.h>
static void put32(unsigned char *p, unsigned v) { p[0]=v; p[1]=v>>8; p[2]=v>>16; p[3]=v>>24; }
int unpack(const unsigned char *wlt, unsigned char *bmp, int flag) {
    if (flag != 602 || wlt[0] == 0xFF) return 0;
    const int w = 102, h = 126, row = 308; /* 102*3 padded to 4 */
    unsigned size = 54 + row * h;
    memset(bmp, 0, size);
    bmp[0] = 'B'; bmp[1] = 'M'; put32(bmp + 2, size); put32(bmp + 10, 54);
    put32(bmp + 14, 40); put32(bmp + 18, w); put32(bmp + 22, h);
    bmp[26] = 1; bmp[28] = 24; put32(bmp + 34, row * h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w * 3; x++)
            bmp[54 + y * row + x] = wlt[(y * w * 3 + x) % 1024];
    return 1;
}
"#;

fn build_fake_decoder(dir: &Path) -> PathBuf {
    let src = dir.join("fakewlt.c");
    let lib = dir.join("libfakewlt.so");
    std::fs::write(&src, FAKE_DECODER).unwrap();
    let status = Command::new("cc")
        .args(["-shared", "-fPIC", "-O1", "-o"])
        .arg(&lib)
        .arg(&src)
        .status()
        .expect("cc (build-essential) must be installed");
    assert!(status.success(), "cc failed");
    lib
}

#[test]
fn a_configured_library_decodes_the_photo() {
    let dir = tempfile::tempdir().unwrap();
    let lib = build_fake_decoder(dir.path());
    let decoder = PhotoDecoder::load(&PhotoDecoderConfig::new(&lib)).expect("load");
    let wlt: Vec<u8> = (0..1024).map(|i| (i % 200) as u8 + 1).collect();
    match decoder.decode(&wlt) {
        Photo::Decoded(p) => {
            assert_eq!((p.width, p.height), (PHOTO_WIDTH, PHOTO_HEIGHT));
            assert_eq!(p.bmp.len(), 38_862);
            assert_eq!(&p.bmp[..2], b"BM");
            assert_eq!(p.bmp[54], wlt[0]);
        }
        other => panic!("{other:?}"),
    }
    // The decoder failing on a blob is an outcome, not an error.
    let mut bad = wlt.clone();
    bad[0] = 0xFF;
    assert_eq!(
        decoder.decode(&bad),
        Photo::NotDecodable("photo decoder failed")
    );
    assert_eq!(
        decoder.decode(&wlt[..10]),
        Photo::NotDecodable("photo blob has an unexpected size")
    );
    assert!(matches!(
        decode_photo(Some(&decoder), &wlt),
        Photo::Decoded(_)
    ));
}

#[test]
fn wrong_symbol_or_flag_or_no_library() {
    let dir = tempfile::tempdir().unwrap();
    let lib = build_fake_decoder(dir.path());
    let mut cfg = PhotoDecoderConfig::new(&lib);
    cfg.symbol = "GetBmp".into();
    assert!(matches!(
        PhotoDecoder::load(&cfg),
        Err(PhotoError::Symbol(..))
    ));
    cfg.symbol = "unpack".into();
    cfg.flag = 1;
    let d = PhotoDecoder::load(&cfg).unwrap();
    assert_eq!(
        d.decode(&[1; 1024]),
        Photo::NotDecodable("photo decoder failed")
    );

    let absent =
        PhotoDecoder::load_optional(Some(&PhotoDecoderConfig::new(dir.path().join("none.so"))));
    assert!(absent.is_none());
    assert_eq!(
        decode_photo(absent.as_ref(), &[1; 1024]),
        Photo::NotDecodable(NOT_DECODABLE)
    );
}
