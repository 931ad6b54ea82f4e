//! A page photographed by a 720p camera reads nearly as well as the same page
//! from the 8 MP document camera: the terminal's pipeline (page outline,
//! upscaling to the engine's text height, PP-OCR) at most doubles the CER.
//!
//! The pair is `052-pair-8mp` and `052-pair-720p` of the corpus: one
//! rendering of one page, photographed by the corpus generator at both
//! resolutions with the same light and pose (`make_corpus.py`).

use kiosk_camera::Frame;
use ocr_eval::{corpus_dir, load_corpus, score, terminal_pipeline};

#[test]
// Figures only (no text) go to stderr for `--nocapture`.
#[allow(clippy::print_stderr)]
fn a_720p_page_reads_at_most_twice_the_cer_of_its_8mp_photo() {
    let corpus = load_corpus(&corpus_dir()).unwrap();
    let sample = |stem: &str| {
        corpus
            .iter()
            .find(|s| s.stem == stem)
            .unwrap_or_else(|| panic!("{stem} is missing from the corpus"))
    };
    let (big, small) = (sample("052-pair-8mp"), sample("052-pair-720p"));
    assert_eq!(big.truth, small.truth, "the pair shows one page");

    let mut pipeline = terminal_pipeline().unwrap();
    let big_frame = Frame::from_file(&big.image).unwrap();
    let small_frame = Frame::from_file(&small.image).unwrap();
    assert!(big_frame.size().0 >= 3000, "8 MP frame is {:?}", big_frame.size());
    assert!(small_frame.size().0 <= 1280, "720p frame is {:?}", small_frame.size());

    let big_score = score(&mut pipeline, big, &big_frame).unwrap();
    let small_score = score(&mut pipeline, small, &small_frame).unwrap();
    eprintln!(
        "8 MP CER {:.4} ({} fields of {}), 720p CER {:.4} ({} of {})",
        big_score.cer,
        big_score.fields_found,
        big_score.fields_total,
        small_score.cer,
        small_score.fields_found,
        small_score.fields_total
    );
    assert!(big_score.cer < 0.05, "the 8 MP page itself reads badly: CER {:.4}", big_score.cer);
    assert!(
        small_score.cer <= 2.0 * big_score.cer,
        "720p CER {:.4} is over twice the 8 MP page's {:.4}",
        small_score.cer,
        big_score.cer
    );
    assert_eq!(
        small_score.fields_found, big_score.fields_found,
        "the 720p page loses key fields"
    );
}
