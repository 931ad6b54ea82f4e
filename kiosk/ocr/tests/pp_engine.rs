//! The PP-OCR engine on the real models and the SPECIMEN letter: accuracy,
//! the four orientations, bad input and altered model files.
//!
//! The models come from `scripts/install-deps.sh` (or the folder named by
//! `KIOSK_PPOCR_DIR`); without them these tests fail, they never skip.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use kiosk_camera::{process_page, test_utils, Frame};
use kiosk_ocr::{rotate_gray, OcrError, PpConfig, PpEngine, PP_MODEL_DIR};

fn model_dir() -> PathBuf {
    let dir = std::env::var_os("KIOSK_PPOCR_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(PP_MODEL_DIR));
    assert!(
        dir.join("PP-OCRv6_rec_small.onnx").is_file(),
        "PP-OCR models missing in {}: run scripts/install-deps.sh (or set KIOSK_PPOCR_DIR)",
        dir.display()
    );
    dir
}

fn engine() -> PpEngine {
    PpEngine::new(&PpConfig {
        model_dir: model_dir(),
        ..PpConfig::default()
    })
    .expect("PP-OCR models load")
}

/// The straightened SPECIMEN letter (page 1) and its printed text.
fn letter() -> &'static (Vec<u8>, u32, u32, String) {
    static PAGE: OnceLock<(Vec<u8>, u32, u32, String)> = OnceLock::new();
    PAGE.get_or_init(|| {
        let page = process_page(&Frame::from_file(test_utils::sample_page(1)).unwrap()).unwrap();
        let truth = std::fs::read_to_string(test_utils::sample_truth(1)).unwrap();
        (page.gray, page.width, page.height, truth)
    })
}

fn cer(truth: &str, got: &str) -> f64 {
    // The grey SPECIMEN mark is not part of the printed text.
    1.0 - common::char_accuracy(truth, &got.replace("样本", "").replace("SPECIMEN", ""))
}

#[test]
// Figures only, never the text.
#[allow(clippy::print_stderr)]
fn specimen_letter_is_read_upright_in_all_four_orientations() {
    let mut engine = engine();
    let (gray, w, h, truth) = letter();
    let upright = engine.recognize_gray(gray, *w, *h).unwrap();
    let upright_cer = cer(truth, &upright.text);
    eprintln!(
        "upright: cer {upright_cer:.3}, {:?}, {:?}",
        upright.duration,
        engine.last_timings()
    );
    assert!(upright_cer <= 0.05, "letter CER {upright_cer:.3}");
    assert_eq!(upright.rotation_degrees, 0);
    assert!(upright.mean_confidence > 80.0, "{upright:?}");
    // Every word has a box inside the page and a confidence.
    assert!(upright.words.len() > 100);
    for word in &upright.words {
        let (x, y, bw, bh) = word.bbox;
        assert!(x + bw <= *w + 2 && y + bh <= *h + 2, "{word:?}");
        assert!((0.0..=100.0).contains(&word.confidence));
    }
    for turned_by in [90u16, 180, 270] {
        let (turned, tw, th) = rotate_gray(gray, *w, *h, turned_by);
        let res = engine.recognize_gray(&turned, tw, th).unwrap();
        let against_upright = 1.0 - common::char_accuracy(&upright.text, &res.text);
        eprintln!(
            "turned {turned_by}: rotation {}, cer vs upright {against_upright:.3}, cer {:.3}, {:?}",
            res.rotation_degrees,
            cer(truth, &res.text),
            res.duration
        );
        assert_eq!(
            res.rotation_degrees,
            (360 - turned_by) % 360,
            "page turned by {turned_by}"
        );
        assert!(
            against_upright <= 0.05,
            "turned {turned_by}: {against_upright:.3}"
        );
        // The boxes are in the upright page's coordinates.
        let (uw, uh) = if turned_by == 180 { (tw, th) } else { (th, tw) };
        assert!(res
            .words
            .iter()
            .all(|wd| wd.bbox.0 <= uw && wd.bbox.1 <= uh));
    }
}

#[test]
fn bad_input_is_a_typed_error_and_the_engine_goes_on() {
    let mut engine = engine();
    assert!(matches!(
        engine.recognize_gray(&[255; 99], 10, 10),
        Err(OcrError::BufferSize {
            expected: 100,
            actual: 99
        })
    ));
    assert!(matches!(
        engine.recognize_gray(&[], 0, 10),
        Err(OcrError::BadDimensions {
            width: 0,
            height: 10
        })
    ));
    assert!(matches!(
        engine.recognize_gray(&[], 20_000, 5),
        Err(OcrError::BadDimensions { .. })
    ));
    // Blank, black, tiny and very thin pages give no text, not an error.
    for (value, w, h) in [
        (255u8, 640, 900),
        (0, 300, 200),
        (128, 1, 1),
        (255, 3000, 2),
    ] {
        let res = engine
            .recognize_gray(&vec![value; w * h], w as u32, h as u32)
            .unwrap();
        assert!(res.text.chars().count() <= 2, "{w}x{h} of {value}: {res:?}");
    }
    // Noise.
    let noise: Vec<u8> = (0..500u32 * 400)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    assert!(engine.recognize_gray(&noise, 500, 400).is_ok());
    // And the next real page is read.
    let (gray, w, h, truth) = letter();
    let res = engine.recognize_gray(gray, *w, *h).unwrap();
    assert!(cer(truth, &res.text) <= 0.05);
}

#[test]
fn an_altered_or_missing_model_file_is_refused_at_load() {
    let src = model_dir();
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&src).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).unwrap();
    }
    let cfg = PpConfig {
        model_dir: dir.path().to_path_buf(),
        ..PpConfig::default()
    };
    // One byte changed, same size.
    let cls = dir.path().join("ch_ppocr_mobile_v2.0_cls_mobile.onnx");
    let mut bytes = std::fs::read(&cls).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&cls, &bytes).unwrap();
    match PpEngine::new(&cfg) {
        Err(OcrError::ModelMismatch { file, what }) => {
            assert_eq!(file, "ch_ppocr_mobile_v2.0_cls_mobile.onnx");
            assert_eq!(what, "sha256");
        }
        other => panic!("expected a mismatch, got {other:?}"),
    }
    // One byte more.
    bytes[middle] ^= 0x01;
    bytes.push(0);
    std::fs::write(&cls, &bytes).unwrap();
    assert!(matches!(
        PpEngine::new(&cfg),
        Err(OcrError::ModelMismatch { what: "size", .. })
    ));
    // Missing.
    std::fs::remove_file(&cls).unwrap();
    let err = PpEngine::new(&cfg).unwrap_err();
    assert!(matches!(err, OcrError::ModelFile { .. }));
    assert!(err.to_string().contains("install-deps.sh"));
}
