//! The paper: a 576-dot-wide 1-bit strip that text lines, QR
//! codes and raster images are printed onto, rendered with the Noto CJK
//! font the way the printer's built-in 24-dot font would place them.

use std::path::Path;

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use image::{GrayImage, Luma};

use crate::escpos::PAPER_DOTS;
use crate::Align;

/// Where Debian's fonts-noto-cjk puts the CJK fonts.
pub const FONT_PATH: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";
/// Noto Sans CJK SC in the collection.
const FONT_INDEX_SC: u32 = 2;
/// Font size of the printer's Chinese font (24×24) and half-width ASCII (12×24).
const CELL: u32 = 24;
/// The default line feed (ESC 2: about 1/6 inch).
pub const LINE_DOTS: u32 = 34;
/// The whole paper width, 80 mm at 203 dpi.
pub const PAPER_WIDTH_DOTS: u32 = 640;
/// The unprintable margin left and right.
const MARGIN_DOTS: u32 = (PAPER_WIDTH_DOTS - PAPER_DOTS) / 2;
/// Blank paper above the first line.
const TOP_MARGIN: u32 = 16;
const WHITE: u8 = 255;
const BLACK: u8 = 0;

/// Loads the font the paper is drawn with.
pub fn load_font(path: &Path) -> std::io::Result<FontVec> {
    let data = std::fs::read(path)?;
    FontVec::try_from_vec_and_index(data, FONT_INDEX_SC)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))
}

/// One character waiting in the line buffer.
#[derive(Clone, Copy, Debug)]
pub struct Glyph {
    /// The character.
    pub ch: char,
    /// Emphasised.
    pub bold: bool,
    /// Width multiplier.
    pub w: u8,
    /// Height multiplier.
    pub h: u8,
}

impl Glyph {
    pub(crate) fn width_dots(&self) -> u32 {
        let cell = if self.ch.is_ascii() { CELL / 2 } else { CELL };
        cell * u32::from(self.w)
    }
}

/// A strip of paper being printed.
#[derive(Clone, Debug)]
pub struct Paper {
    img: GrayImage,
    y: u32,
}

impl Default for Paper {
    fn default() -> Self {
        Paper {
            img: GrayImage::from_pixel(PAPER_DOTS, TOP_MARGIN, Luma([WHITE])),
            y: TOP_MARGIN,
        }
    }
}

impl Paper {
    /// True when nothing was printed yet.
    pub fn is_blank(&self) -> bool {
        self.img.pixels().all(|p| p.0[0] == WHITE)
    }

    fn grow(&mut self, to: u32) {
        if to > self.img.height() {
            let mut bigger = GrayImage::from_pixel(PAPER_DOTS, to + 256, Luma([WHITE]));
            image::imageops::replace(&mut bigger, &self.img, 0, 0);
            self.img = bigger;
        }
    }

    fn set(&mut self, x: i64, y: i64) {
        if x >= 0 && y >= 0 && (x as u32) < PAPER_DOTS && (y as u32) < self.img.height() {
            self.img.put_pixel(x as u32, y as u32, Luma([BLACK]));
        }
    }

    fn left(width: u32, align: Align) -> u32 {
        let free = PAPER_DOTS.saturating_sub(width);
        match align {
            Align::Left => 0,
            Align::Center => free / 2,
            Align::Right => free,
        }
    }

    /// Feeds `dots` of blank paper.
    pub fn feed(&mut self, dots: u32) {
        self.y += dots;
        self.grow(self.y);
    }

    /// Prints one line of glyphs (an empty line just feeds).
    pub fn print_line(&mut self, font: &FontVec, glyphs: &[Glyph], align: Align) {
        let height = glyphs
            .iter()
            .map(|g| CELL * u32::from(g.h))
            .max()
            .unwrap_or(0);
        let advance = LINE_DOTS.max(height + 10);
        self.grow(self.y + advance);
        let width: u32 = glyphs.iter().map(Glyph::width_dots).sum();
        let mut x = Self::left(width, align);
        let bottom = self.y + height;
        // PxScale is the font's ascent-to-descent height; the printer's
        // 24-dot cell is the em square, which is smaller.
        let em = font.units_per_em().unwrap_or(1000.0);
        let px_per_em = font.height_unscaled() / em;
        for g in glyphs {
            let (w, h) = (f32::from(g.w), f32::from(g.h));
            let cell_w = g.width_dots() as f32;
            let em_y = CELL as f32 * h;
            let mut scale = PxScale {
                x: CELL as f32 * w * px_per_em,
                y: em_y * px_per_em,
            };
            let id = font.glyph_id(g.ch);
            // A glyph wider than its cell (Latin in a CJK font) is narrowed to
            // fit; a narrower one is centred, as in the printer's fixed-pitch font.
            let advance = font.as_scaled(scale).h_advance(id);
            if advance > cell_w {
                scale.x *= cell_w / advance;
            }
            let advance = font.as_scaled(scale).h_advance(id);
            let left = x as f32 + (cell_w - advance).max(0.0) / 2.0;
            // The ideographic em box reaches 0.12 em below the baseline.
            let baseline = bottom as f32 - 0.12 * em_y;
            let glyph = id.with_scale_and_position(scale, ab_glyph::point(left, baseline));
            if let Some(outline) = font.outline_glyph(glyph) {
                let bounds = outline.px_bounds();
                let mut dots = Vec::new();
                outline.draw(|gx, gy, coverage| {
                    if coverage > 0.45 {
                        dots.push((
                            bounds.min.x as i64 + gx as i64,
                            bounds.min.y as i64 + gy as i64,
                        ));
                    }
                });
                for (px, py) in dots {
                    self.set(px, py);
                    if g.bold {
                        self.set(px + 1, py);
                    }
                }
            }
            x += g.width_dots();
        }
        self.y += advance;
    }

    /// Prints a 1-bit image (`dark(x, y)`) of `width`×`height` dots.
    pub fn print_image(
        &mut self,
        width: u32,
        height: u32,
        align: Align,
        dark: impl Fn(u32, u32) -> bool,
    ) {
        self.grow(self.y + height);
        let left = Self::left(width, align);
        for y in 0..height {
            for x in 0..width {
                if dark(x, y) {
                    self.set(i64::from(left + x), i64::from(self.y + y));
                }
            }
        }
        self.y += height;
    }

    /// Finishes the strip (after the cut) as an image of the whole 80 mm
    /// paper: the 576 printable dots centred on 640 dots (80 mm at 203 dpi).
    pub fn finish(mut self) -> GrayImage {
        self.grow(self.y);
        let printed = image::imageops::crop_imm(&self.img, 0, 0, PAPER_DOTS, self.y).to_image();
        let mut paper = GrayImage::from_pixel(PAPER_WIDTH_DOTS, self.y, Luma([WHITE]));
        image::imageops::replace(&mut paper, &printed, i64::from(MARGIN_DOTS), 0);
        paper
    }
}
