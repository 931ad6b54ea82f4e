//! Paths of the synthetic SPECIMEN photos shipped in `samples/`, for tests and the demo.

use std::path::PathBuf;

/// The `samples/` folder of this crate.
pub fn samples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("samples")
}

/// The printf pattern of the page sequence the demo camera plays.
pub fn page_sequence_pattern() -> String {
    samples_dir()
        .join("pages")
        .join("page-%03d.jpg")
        .to_string_lossy()
        .into_owned()
}

/// The photo of specimen page `n` (1-based).
pub fn sample_page(n: usize) -> PathBuf {
    samples_dir().join("pages").join(format!("page-{n:03}.jpg"))
}

/// All specimen page photos, in sequence order.
pub fn sample_pages() -> Vec<PathBuf> {
    (1..).map(sample_page).take_while(|p| p.exists()).collect()
}

/// The photo of the empty desk.
pub fn empty_desk() -> PathBuf {
    samples_dir().join("empty-desk.jpg")
}

/// The known text of specimen page `n` (1-based), one paragraph a line, without the specimen mark.
pub fn sample_truth(n: usize) -> PathBuf {
    samples_dir().join("truth").join(format!("page-{n:03}.txt"))
}
