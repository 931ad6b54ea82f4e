//! Accessibility checks of the kiosk screens (issue 6, item 4), headless on
//! Slint's testing backend:
//!
//! - **Contrast.** Every foreground/background pair of `ui/theme.slint`'s
//!   colours that the screens use meets WCAG 2 AA: 4.5:1 for body text, 3:1
//!   for large text (≥ 24 px, or ≥ 18.7 px bold; titles, badge glyphs) and for
//!   the borders and badges that carry meaning (WCAG 1.4.11). The colours are
//!   read from `theme.slint` itself, and every `Theme` colour a `.slint` file
//!   uses as a text colour must appear in the table below, so a new colour
//!   cannot slip past it.
//! - **Touch targets.** Every button of every screen, portrait 1080×1920 and
//!   landscape 1920×1080, is at least 90 px wide *and* high. The arithmetic:
//!   a 21.5" 16:9 1080p panel has a diagonal of √(1920² + 1080²) = 2202.9 px
//!   over 21.5 × 25.4 = 546.1 mm, a pitch of 0.248 mm, so 90 px = 22.3 mm and
//!   15 mm = 61 px there. 90 px is 15 mm at a pitch of 0.167 mm, i.e. on a
//!   14.5" 1080p panel: the 90 px floor keeps targets at 15 mm or more on
//!   every panel from 14.5" up. (The buttons are in fact at least 120 px.)
//! - **Type size.** Body text (`Theme.font-body`) and small text are at least
//!   32 px, and no `.slint` file sets a smaller size except the demo panel,
//!   which a terminal never shows.

#[allow(dead_code)]
#[path = "ui/support.rs"]
mod support;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use kiosk_ui::{Intake, Screen};
use slint::{ComponentHandle, PhysicalSize};

use support::{all_buttons, new_window, LANDSCAPE, PORTRAIT};

/// What a colour pair is used for, and so the ratio it needs.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Use {
    /// Running text at `font-body`/`font-small`, button captions: 4.5:1.
    Body,
    /// Text of 24 px and more, or bold 18.7 px and more (WCAG "large"): 3:1.
    Large,
    /// The edge of a notice or a badge's shape (WCAG 1.4.11): 3:1.
    Graphic,
}

impl Use {
    fn min_ratio(self) -> f64 {
        match self {
            Use::Body => 4.5,
            Use::Large | Use::Graphic => 3.0,
        }
    }
}

/// Foreground, background, use, and where.
const PAIRS: &[(&str, &str, Use, &str)] = &[
    ("text", "page", Use::Body, "titles and text on the page"),
    ("go", "surface", Use::Body, "the phone screen's \"号码格式正确\""),
    ("text", "surface", Use::Body, "text in panels"),
    ("text-muted", "page", Use::Body, "subtitles"),
    (
        "text-muted",
        "surface",
        Use::Body,
        "labels in panels, the step bar",
    ),
    (
        "text-muted",
        "footer",
        Use::Body,
        "the hall's name in the footer",
    ),
    (
        "text-muted",
        "info-bg",
        Use::Body,
        "secondary text in info boxes",
    ),
    ("text", "info-bg", Use::Body, "text in info boxes"),
    (
        "text",
        "warn-bg",
        Use::Body,
        "the repeat question on the review screen",
    ),
    (
        "text",
        "ok-bg",
        Use::Body,
        "text on the receipt's green band",
    ),
    (
        "text-on-dark",
        "header",
        Use::Body,
        "the header's title and step names",
    ),
    (
        "text-on-dark",
        "primary",
        Use::Body,
        "primary button captions",
    ),
    (
        "text-on-dark",
        "primary-pressed",
        Use::Body,
        "pressed primary buttons",
    ),
    ("text-on-dark", "go", Use::Body, "green button captions"),
    (
        "text-on-dark",
        "go-pressed",
        Use::Body,
        "pressed green buttons",
    ),
    ("text-on-dark", "danger", Use::Body, "white on red"),
    ("primary", "surface", Use::Body, "secondary button captions"),
    (
        "primary",
        "pressed-light",
        Use::Body,
        "pressed secondary buttons",
    ),
    ("danger", "surface", Use::Body, "delete button captions"),
    (
        "danger",
        "pressed-light",
        Use::Body,
        "pressed delete buttons",
    ),
    (
        "disabled-text",
        "disabled",
        Use::Body,
        "disabled button captions",
    ),
    ("info-text", "info-bg", Use::Body, "info notices"),
    (
        "warn-text",
        "warn-bg",
        Use::Body,
        "warnings, the timeout strip",
    ),
    ("error-text", "error-bg", Use::Body, "error notices"),
    (
        "primary",
        "info-bg",
        Use::Large,
        "category tile glyphs (61 px bold)",
    ),
    (
        "header",
        "text-on-dark",
        Use::Large,
        "the current step's number in the header (32 px bold)",
    ),
    (
        "text-on-dark",
        "info-line",
        Use::Large,
        "the info badge's i (38 px bold)",
    ),
    (
        "text-on-dark",
        "warn-line",
        Use::Large,
        "the warning badge's ! (38 px bold)",
    ),
    (
        "text-on-dark",
        "error-line",
        Use::Large,
        "the error badge's ! (38 px bold)",
    ),
    (
        "info-line",
        "info-bg",
        Use::Graphic,
        "the border of info notices",
    ),
    (
        "warn-line",
        "warn-bg",
        Use::Graphic,
        "the border of warnings",
    ),
    (
        "error-line",
        "error-bg",
        Use::Graphic,
        "the border of error notices",
    ),
    (
        "warn-line",
        "page",
        Use::Graphic,
        "the warning triangle on the fault screen",
    ),
    (
        "text",
        "warn-line",
        Use::Graphic,
        "the triangle's exclamation mark",
    ),
    (
        "primary",
        "surface",
        Use::Graphic,
        "the border of secondary buttons",
    ),
    (
        "go",
        "page",
        Use::Graphic,
        "the check badge on the receipt screen",
    ),
];

fn ui_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("ui")
}

/// Every `.slint` file of the UI with its text.
fn slint_files() -> Vec<(PathBuf, String)> {
    fn walk(dir: &Path, out: &mut Vec<(PathBuf, String)>) {
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .expect("the ui directory is readable")
            .map(|e| e.expect("a directory entry").path())
            .collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "slint") {
                let text = std::fs::read_to_string(&path).expect("a .slint file is readable");
                out.push((path, text));
            }
        }
    }
    let mut out = Vec::new();
    walk(&ui_dir(), &mut out);
    out
}

/// `out property <TYPE> NAME: VALUE;` lines of theme.slint, by name.
fn theme_values(kind: &str) -> HashMap<String, String> {
    let text = std::fs::read_to_string(ui_dir().join("theme.slint")).expect("theme.slint");
    let prefix = format!("out property <{kind}> ");
    text.lines()
        .filter_map(|l| l.trim().strip_prefix(&prefix))
        .filter_map(|l| l.split_once(':'))
        .map(|(name, value)| {
            (
                name.trim().to_string(),
                value.trim().trim_end_matches(';').trim().to_string(),
            )
        })
        .collect()
}

fn theme_colours() -> HashMap<String, [u8; 3]> {
    theme_values("color")
        .into_iter()
        .map(|(name, value)| {
            let hex = value.strip_prefix('#').unwrap_or(&value);
            assert_eq!(hex.len(), 6, "Theme.{name} = {value}: use #rrggbb (opaque)");
            let byte = |i: usize| {
                u8::from_str_radix(&hex[i..i + 2], 16)
                    .unwrap_or_else(|_| panic!("Theme.{name} = {value} is not a colour"))
            };
            let rgb = [byte(0), byte(2), byte(4)];
            (name, rgb)
        })
        .collect()
}

fn theme_lengths() -> HashMap<String, f64> {
    theme_values("length")
        .into_iter()
        .filter_map(|(name, value)| Some((name, value.strip_suffix("px")?.parse().ok()?)))
        .collect()
}

/// WCAG 2 relative luminance of an sRGB colour.
fn luminance(rgb: [u8; 3]) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(rgb[0]) + 0.7152 * channel(rgb[1]) + 0.0722 * channel(rgb[2])
}

/// WCAG 2 contrast ratio, 1 to 21.
fn contrast(a: [u8; 3], b: [u8; 3]) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

#[test]
fn the_contrast_formula_gives_the_known_ratios() {
    assert!((contrast([0, 0, 0], [255, 255, 255]) - 21.0).abs() < 1e-9);
    assert!((contrast([0x77, 0x77, 0x77], [255, 255, 255]) - 4.48).abs() < 0.01);
    assert!((contrast([10, 20, 30], [10, 20, 30]) - 1.0).abs() < 1e-9);
}

#[test]
fn theme_colour_pairs_meet_wcag_aa() {
    let colours = theme_colours();
    assert!(
        colours.len() >= 20,
        "theme.slint colours not found: {colours:?}"
    );
    let mut failures = Vec::new();
    for (fg, bg, use_, what) in PAIRS {
        let (Some(f), Some(b)) = (colours.get(*fg), colours.get(*bg)) else {
            panic!("Theme.{fg} or Theme.{bg} does not exist ({what})");
        };
        let ratio = contrast(*f, *b);
        if ratio < use_.min_ratio() {
            failures.push(format!(
                "{fg} on {bg} ({what}): {ratio:.2}:1, needs {}:1",
                use_.min_ratio()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The `Theme` colour names in the values of `property:` across the UI
/// (`color: a ? Theme.x : Theme.y;` gives x and y).
fn theme_names_in(property: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let key = format!("{property}:");
    for (_, text) in slint_files() {
        let mut rest = text.as_str();
        while let Some(at) = rest.find(&key) {
            let before = rest[..at].chars().last();
            let value_start = at + key.len();
            let value_end = rest[value_start..]
                .find(';')
                .map_or(rest.len(), |e| value_start + e);
            // `border-color:` and the like are other properties.
            if !before.is_some_and(|c| c == '-' || c.is_alphanumeric()) {
                let value = &rest[value_start..value_end];
                for part in value.split("Theme.").skip(1) {
                    let name: String = part
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-')
                        .collect();
                    names.insert(name);
                }
            }
            rest = &rest[value_end.min(rest.len())..];
            if rest.len() <= 1 {
                break;
            }
            rest = &rest[1..];
        }
    }
    names
}

#[test]
fn every_text_colour_used_by_the_screens_is_checked() {
    let text_colours = theme_names_in("color");
    assert!(text_colours.contains("text"), "{text_colours:?}");
    let checked: BTreeSet<&str> = PAIRS
        .iter()
        .filter(|(_, _, u, _)| *u != Use::Graphic)
        .map(|(fg, _, _, _)| *fg)
        .collect();
    let unchecked: Vec<&String> = text_colours
        .iter()
        .filter(|c| !checked.contains(c.as_str()))
        .collect();
    assert!(
        unchecked.is_empty(),
        "text colours without a contrast check: {unchecked:?} (add their pairs to PAIRS)"
    );
}

#[test]
fn body_text_is_at_least_32_px_everywhere_but_the_demo_panel() {
    let sizes = theme_lengths();
    for name in ["font-body", "font-small"] {
        let px = sizes.get(name).copied().unwrap_or(0.0);
        assert!(px >= 32.0, "Theme.{name} is {px} px");
    }
    let mut small = Vec::new();
    for (path, text) in slint_files() {
        let file = path
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        for (at, _) in text.match_indices("font-size:") {
            let value = text[at + "font-size:".len()..]
                .split(';')
                .next()
                .unwrap_or("")
                .trim();
            let px = if let Some(name) = value.strip_prefix("Theme.") {
                sizes.get(name).copied()
            } else {
                value.strip_suffix("px").and_then(|v| v.parse::<f64>().ok())
            };
            // Anything else passes a parameter on; its values are checked where they are set.
            let Some(px) = px else { continue };
            // The component this line belongs to.
            let component = text[..at]
                .rfind("component ")
                .map(|c| {
                    text[c + "component ".len()..]
                        .split_whitespace()
                        .next()
                        .unwrap_or("")
                })
                .unwrap_or("");
            if px < 32.0 && !(file == "chrome.slint" && component == "DemoPanel") {
                small.push(format!("{file}: {component}: font-size {value} = {px} px"));
            }
        }
    }
    assert!(small.is_empty(), "text below 32 px:\n{}", small.join("\n"));
}

/// The smallest side of a petitioner's touch target, in pixels (see the top of this file).
const MIN_SIDE: f32 = 90.0;

const SCREENS: [Screen; 11] = [
    Screen::Welcome,
    Screen::Card,
    Screen::Identity,
    Screen::Category,
    Screen::Capture,
    Screen::Review,
    Screen::Submitting,
    Screen::Receipt,
    Screen::Fault,
    Screen::Progress,
    Screen::Rating,
];

/// Extra settings of a screen on top of the SPECIMEN data.
type Tweak = fn(&Intake);

/// Every button of every screen (and of the review screen's repeat question)
/// is at least `MIN_SIDE` on both sides.
fn check_buttons(size: PhysicalSize) -> usize {
    let ui = new_window(size);
    let mut small = Vec::new();
    let mut n_checked = 0;
    let mut variants: Vec<(Screen, Tweak)> =
        SCREENS.iter().map(|s| (*s, (|_| ()) as Tweak)).collect();
    variants.push((Screen::Review, |i| {
        i.set_repeat_question("与2026-11-02登记的XF-2026-000001（已登记）是同一件事吗？".into())
    }));
    variants.push((Screen::Card, |i| i.set_demo(true)));
    for (screen, tweak) in variants {
        support::fill_specimen(&ui);
        let intake = ui.global::<Intake>();
        intake.set_screen(screen);
        tweak(&intake);
        for b in all_buttons(&ui) {
            let label = b.accessible_label().unwrap_or_default().to_string();
            // The demo panel stands in for the card reader; a terminal never shows it.
            if label.starts_with("演示：") {
                continue;
            }
            n_checked += 1;
            let sz = b.size();
            if sz.width < MIN_SIDE || sz.height < MIN_SIDE {
                small.push(format!(
                    "{screen:?} {}x{}: {label:?} is {}x{} px",
                    size.width, size.height, sz.width, sz.height
                ));
            }
        }
    }
    assert!(
        small.is_empty(),
        "touch targets below {MIN_SIDE} px:\n{}",
        small.join("\n")
    );
    n_checked
}

#[test]
fn every_button_is_at_least_90_px_on_both_sides_in_portrait() {
    let n = check_buttons(PORTRAIT);
    // Welcome, card, identity, category (9 tiles), capture, review, receipt...
    assert!(
        n >= 25,
        "only {n} buttons found: is debug info on in build.rs?"
    );
}

#[test]
fn every_button_is_at_least_90_px_on_both_sides_in_landscape() {
    let n = check_buttons(LANDSCAPE);
    assert!(n >= 25, "only {n} buttons found");
}
