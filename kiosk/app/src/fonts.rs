//! The Chinese font every screen is drawn in: Noto Sans CJK SC (SIL Open
//! Font License 1.1; see THIRD-PARTY.md), regular and bold, from Debian's
//! `fonts-noto-cjk`, which the kiosk package depends on, so the terminal image
//! always carries it.
//!
//! The font is not embedded in the binary: its two collections are 39 MB,
//! which every UI test binary would carry too, and Debian already ships,
//! updates and documents it. Instead, at start-up, the app makes sure Slint
//! finds the family at both weights the screens use; if the system's font
//! configuration does not know it, the app registers the files itself, and
//! if they are missing it says so in the log (the screens would show
//! fallback glyphs or boxes).

use std::path::Path;
use std::sync::Arc;

use slint::fontique_011::fontique;

/// The family the UI names (`default-font-family` in `kiosk/ui/ui/app.slint`).
pub const FAMILY: &str = "Noto Sans CJK SC";

/// Where `fonts-noto-cjk` puts the regular and the bold collection.
pub const FILES: [&str; 2] = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc",
];

/// Where the font came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FontSource {
    /// The system's font configuration found it.
    System,
    /// The app registered the files itself.
    Registered,
    /// Not found: Chinese text will not look right.
    Missing,
}

/// True when the collection has the family at weight 400 and 700.
fn has_regular_and_bold(collection: &mut fontique::Collection) -> bool {
    collection.family_by_name(FAMILY).is_some_and(|family| {
        let has = |weight: f32| {
            family
                .fonts()
                .iter()
                .any(|f| (f.weight().value() - weight).abs() < 1.0)
        };
        has(400.0) && has(700.0)
    })
}

/// Makes sure `collection` has the font, registering `files` if needed.
pub fn ensure_in(collection: &mut fontique::Collection, files: &[&str]) -> FontSource {
    if has_regular_and_bold(collection) {
        return FontSource::System;
    }
    for path in files {
        match std::fs::read(Path::new(path)) {
            Ok(bytes) => {
                collection.register_fonts(fontique::Blob::new(Arc::new(bytes)), None);
            }
            Err(e) => log::error!("cannot read the font file {path}: {e}"),
        }
    }
    if has_regular_and_bold(collection) {
        FontSource::Registered
    } else {
        FontSource::Missing
    }
}

/// Makes sure Slint draws the screens in Noto Sans CJK SC. Call once the
/// window exists (Slint's platform is then set up).
pub fn ensure_chinese_font() -> FontSource {
    let mut collection = slint::fontique_011::shared_collection();
    let source = ensure_in(&mut collection, &FILES);
    match source {
        FontSource::System => log::info!("font {FAMILY}: from the system"),
        FontSource::Registered => log::info!("font {FAMILY}: registered from {}", FILES[0]),
        FontSource::Missing => {
            log::error!("font {FAMILY} is missing: install fonts-noto-cjk")
        }
    }
    source
}

#[cfg(test)]
mod tests {
    use super::*;

    fn empty_collection() -> fontique::Collection {
        fontique::Collection::new(fontique::CollectionOptions {
            shared: false,
            system_fonts: false,
        })
    }

    #[test]
    fn the_packaged_files_provide_both_weights() {
        let mut c = empty_collection();
        assert!(!has_regular_and_bold(&mut c));
        assert_eq!(ensure_in(&mut c, &FILES), FontSource::Registered);
        assert_eq!(ensure_in(&mut c, &FILES), FontSource::System);
    }

    #[test]
    fn missing_files_are_reported_not_fatal() {
        let mut c = empty_collection();
        assert_eq!(
            ensure_in(&mut c, &["/nonexistent/NotoSansCJK-Regular.ttc"]),
            FontSource::Missing
        );
        // Only the regular weight is not enough.
        assert_eq!(ensure_in(&mut c, &FILES[..1]), FontSource::Missing);
    }

    #[test]
    fn slint_finds_the_font_on_this_system() {
        let _ =
            slint::platform::set_platform(Box::new(i_slint_backend_testing::TestingBackend::new(
                i_slint_backend_testing::TestingBackendOptions {
                    mock_time: true,
                    threading: false,
                    ..Default::default()
                },
            )));
        assert_ne!(ensure_chinese_font(), FontSource::Missing);
    }
}
