//! Which way up a page lies, for the Tesseract engine.
//!
//! A petitioner puts a page down any way round. The straightened page keeps
//! the orientation it had on the desk, so before recognition the engine
//! reads the page's densest square of text in all four quarter turns and
//! keeps the turn in which Tesseract is sure of the most characters. A
//! sideways or upside-down page gives short, unsure words; upright text
//! gives long runs of confident ones. The tile is read at half resolution;
//! an upright page is settled by one reading, a turned one takes four.

use crate::{OcrEngine, OcrError};

/// Side of the square tile read in each orientation, as a share of the page's short side.
const TILE_SHARE: f32 = 0.45;
/// The tile is searched for on a grid of this many steps per tile side.
const TILE_STEPS: u32 = 4;
/// Words recognised with at least this confidence count towards a turn's score.
const SURE: f32 = 70.0;
/// A turn must be sure of at least this many characters to be chosen over upright.
const MIN_SURE_CHARS: usize = 6;
/// Upright text this sure (characters) needs no reading the other ways round.
const CLEARLY_UPRIGHT: usize = 40;
/// Grey level below which a pixel is ink, for choosing the tile.
const INK: u8 = 128;

/// A square grey image at half its side (2x2 pixel means); tiles of fewer
/// than 400 pixels a side stay as they are.
fn halve(data: &[u8], side: u32) -> (Vec<u8>, u32) {
    if side < 400 {
        return (data.to_vec(), side);
    }
    let (s, half) = (side as usize, side as usize / 2);
    let mut out = Vec::with_capacity(half * half);
    for y in 0..half {
        for x in 0..half {
            let at = |dy: usize, dx: usize| u16::from(data[(2 * y + dy) * s + 2 * x + dx]);
            out.push(((at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1) + 2) / 4) as u8);
        }
    }
    (out, half as u32)
}

/// The square tile (left, top, side) of the page holding the most ink.
fn densest_tile(data: &[u8], width: u32, height: u32) -> (u32, u32, u32) {
    let side = ((width.min(height) as f32 * TILE_SHARE) as u32).max(1);
    let step = (side / TILE_STEPS).max(1);
    // Ink per cell of `step` pixels, summed over tiles of TILE_STEPS cells.
    let (cols, rows) = (width / step, height / step);
    let mut cells = vec![0u32; (cols * rows) as usize];
    for (y, row) in data.chunks_exact(width as usize).enumerate() {
        let cy = y as u32 / step;
        if cy >= rows {
            break;
        }
        for (x, &v) in row.iter().enumerate() {
            let cx = x as u32 / step;
            if cx < cols && v < INK {
                cells[(cy * cols + cx) as usize] += 1;
            }
        }
    }
    let mut best = (0, 0, 0u32);
    for ty in 0..=rows.saturating_sub(TILE_STEPS) {
        for tx in 0..=cols.saturating_sub(TILE_STEPS) {
            let ink: u32 = (ty..(ty + TILE_STEPS).min(rows))
                .flat_map(|cy| (tx..(tx + TILE_STEPS).min(cols)).map(move |cx| (cy, cx)))
                .map(|(cy, cx)| cells[(cy * cols + cx) as usize])
                .sum();
            if ink > best.2 {
                best = (tx * step, ty * step, ink);
            }
        }
    }
    let side = side.min(width - best.0).min(height - best.1);
    (best.0, best.1, side)
}

impl OcrEngine {
    /// The clockwise turn (0, 90, 180 or 270 degrees) that sets this grey
    /// page upright, by reading its densest tile of text each way round.
    /// A page with no readable text is left as it is (0).
    pub fn detect_orientation(
        &mut self,
        data: &[u8],
        width: u32,
        height: u32,
    ) -> Result<u16, OcrError> {
        crate::engine::check_input(data, width, height)?;
        let (left, top, side) = densest_tile(data, width, height);
        let tile: Vec<u8> = (top..top + side)
            .flat_map(|y| {
                let start = (y * width + left) as usize;
                data[start..start + side as usize].iter().copied()
            })
            .collect();
        // Half resolution reads as well for this purpose, four times faster.
        let (tile, side) = halve(&tile, side);
        let mut scores = [0usize; 4];
        for k in 0..4 {
            let (turned, w, h) = crate::rotate_gray(&tile, side, side, 90 * k as u16);
            let text = self.recognize_gray(&turned, w, h)?;
            scores[k] = text
                .words
                .iter()
                .filter(|w| w.confidence >= SURE)
                .map(|w| w.text.chars().filter(|c| c.is_alphanumeric()).count())
                .sum();
            if k == 0 && scores[0] >= CLEARLY_UPRIGHT {
                // Most pages lie the right way up: one reading settles it.
                return Ok(0);
            }
        }
        let best = (0..4)
            .max_by_key(|&k| (scores[k], usize::from(k == 0)))
            .unwrap_or(0);
        log::debug!("orientation scores {scores:?}");
        if best == 0 || scores[best] < MIN_SURE_CHARS || scores[best] <= scores[0] {
            return Ok(0);
        }
        Ok(90 * best as u16)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_densest_tile_is_found() {
        let (w, h) = (200u32, 300u32);
        let mut img = vec![255u8; (w * h) as usize];
        for y in 200..260 {
            for x in 100..170 {
                if (x + y) % 3 == 0 {
                    img[(y * w + x) as usize] = 0;
                }
            }
        }
        let (left, top, side) = densest_tile(&img, w, h);
        assert_eq!(side, 90);
        assert!(left <= 100 && left + side >= 170, "{left} {side}");
        assert!(top <= 200 && top + side >= 260, "{top} {side}");
    }
}
