//! End-to-end check on the SPECIMEN photos: camera frame, page processing, OCR.

mod common;

use std::time::{Duration, Instant};

use kiosk_camera::{process_page, test_utils, Frame};
use kiosk_ocr::{EngineKind, OcrConfig, OcrEngine, OcrPool};

/// Phrases each specimen page must yield (see `drivers/camera/samples/make_specimens.py`).
const EXPECTED: [&[&str]; 3] = [
    &["信访材料", "拖欠工资", "请求依法处理"],
    &["信访材料", "征地补偿款"],
    // Tesseract's fast model reads 此致 as 此臻 on this page since the page's
    // true aspect is recovered (a 1% change of size); PP-OCR reads it right
    // (tests/pp_engine.rs).
    &["李某某", "信访人"],
];

#[test]
// The measured figures are printed for `cargo test -- --nocapture`; they hold no text.
#[allow(clippy::print_stderr)]
fn specimen_pages_contain_known_phrases() {
    if common::rerun_with_omp_limit("specimen_pages_contain_known_phrases") {
        return;
    }
    let mut engine = OcrEngine::new(&OcrConfig::default()).unwrap();
    let pages = test_utils::sample_pages();
    assert_eq!(pages.len(), EXPECTED.len());
    for (page_idx, (path, phrases)) in pages.iter().zip(EXPECTED).enumerate() {
        let frame = Frame::from_file(path).unwrap();
        let started = Instant::now();
        let page = process_page(&frame).unwrap();
        let processed = started.elapsed();
        let res = engine
            .recognize_gray(&page.gray, page.width, page.height)
            .unwrap();
        let truth = std::fs::read_to_string(test_utils::sample_truth(page_idx + 1)).unwrap();
        // The red SPECIMEN mark is not part of the known text.
        let accuracy = common::char_accuracy(
            &truth,
            &res.text.replace("样本", "").replace("SPECIMEN", ""),
        );
        // Figures only, never the text: it stands for personal data.
        eprintln!(
            "page {}: process {processed:?}, ocr {:?}, {} chars, confidence {}, accuracy {accuracy:.3}, jpeg {} bytes",
            page_idx + 1,
            res.duration,
            res.text.chars().count(),
            res.mean_confidence,
            page.jpeg.len()
        );
        for phrase in phrases {
            assert!(
                res.text.contains(phrase),
                "page {} lacks {phrase}",
                page_idx + 1
            );
        }
        assert!(
            accuracy > 0.85,
            "page {} accuracy {accuracy:.3}",
            page_idx + 1
        );
        assert!(res.mean_confidence > 50.0);
    }
}

#[test]
fn pool_recognises_specimen_pages_in_parallel() {
    if common::rerun_with_omp_limit("pool_recognises_specimen_pages_in_parallel") {
        return;
    }
    let pool = OcrPool::new(&OcrConfig {
        workers: 2,
        engine: EngineKind::Tesseract,
        ..OcrConfig::default()
    })
    .unwrap();
    for (job, path) in test_utils::sample_pages().iter().enumerate() {
        let page = process_page(&Frame::from_file(path).unwrap()).unwrap();
        pool.submit(100 + job as u64, page.gray, page.width, page.height);
    }
    let mut got = Vec::new();
    while got.len() < 3 {
        got.push(
            pool.recv_timeout(Duration::from_secs(120))
                .expect("ocr result in time"),
        );
    }
    got.sort_by_key(|(job, _)| *job);
    let ids: Vec<u64> = got.iter().map(|(job, _)| *job).collect();
    assert_eq!(ids, [100, 101, 102]);
    assert!(got[1].1.as_ref().unwrap().text.contains("征地补偿款"));
    assert!(got[0].1.as_ref().unwrap().text.contains("拖欠工资"));
    assert!(pool.try_recv().is_none());
}

#[test]
fn a_page_put_down_any_way_round_is_read_upright() {
    if common::rerun_with_omp_limit("a_page_put_down_any_way_round_is_read_upright") {
        return;
    }
    let mut engine = OcrEngine::new(&OcrConfig::default()).unwrap();
    for n in [1, 3] {
        let page = process_page(&Frame::from_file(test_utils::sample_page(n)).unwrap()).unwrap();
        assert_eq!(
            engine
                .detect_orientation(&page.gray, page.width, page.height)
                .unwrap(),
            0,
            "page {n} upright"
        );
        for put_down in [90u16, 180, 270] {
            // The page lies turned `put_down` degrees clockwise; the engine
            // must find the turn back.
            let (gray, w, h) = kiosk_ocr::rotate_gray(&page.gray, page.width, page.height, put_down);
            let turn = engine.detect_orientation(&gray, w, h).unwrap();
            assert_eq!(turn, (360 - put_down) % 360, "page {n} put down at {put_down}");
        }
    }
    // A blank page stays as it is.
    assert_eq!(engine.detect_orientation(&[255; 400 * 600], 400, 600).unwrap(), 0);
    assert!(engine.detect_orientation(&[255; 10], 400, 600).is_err());
}

#[test]
fn a_pool_whose_pp_models_are_altered_reads_with_tesseract() {
    if common::rerun_with_omp_limit("a_pool_whose_pp_models_are_altered_reads_with_tesseract") {
        return;
    }
    // A model folder whose files are there but altered: PP-OCR refuses them
    // at load, and the terminal goes on reading with Tesseract.
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(kiosk_ocr::PP_MODEL_DIR).unwrap() {
        let entry = entry.unwrap();
        let mut bytes = std::fs::read(entry.path()).unwrap();
        if let Some(b) = bytes.get_mut(1000) {
            *b ^= 1;
        }
        std::fs::write(dir.path().join(entry.file_name()), bytes).unwrap();
    }
    let pool = OcrPool::new(&OcrConfig {
        engine: EngineKind::PpOcr,
        pp_model_dir: dir.path().to_path_buf(),
        ..OcrConfig::default()
    })
    .unwrap();
    let page = process_page(&Frame::from_file(test_utils::sample_page(1)).unwrap()).unwrap();
    pool.submit(7, page.gray, page.width, page.height);
    let (job, result) = pool.recv_timeout(Duration::from_secs(60)).expect("an answer");
    assert_eq!(job, 7);
    assert!(result.unwrap().text.contains("拖欠工资"));
}
