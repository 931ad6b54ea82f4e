//! Text detection: the det model's probability map to rotated line boxes.

use tract_onnx::prelude::*;

use super::geom::{min_area_rect, resize_gray, RotRect};
use super::model::{floats, Model};
use crate::OcrError;

/// Probability above which a map pixel is text (PP-OCR's default).
const THRESHOLD: f32 = 0.3;
/// Boxes whose mean probability is lower are dropped (PP-OCR's default).
const BOX_THRESHOLD: f32 = 0.5;
/// How far a box grows beyond the shrunk text kernel the model predicts.
const UNCLIP_RATIO: f32 = 1.6;
/// Components smaller than this many map pixels are noise.
const MIN_PIXELS: usize = 10;
/// At most this many boxes per page (bounds the recognition time).
pub(crate) const MAX_BOXES: usize = 600;

/// The detector's input size for a `w` x `h` page: long side `long_side`,
/// both sides multiples of 32, at least 32.
pub(crate) fn det_size(w: u32, h: u32, long_side: u32) -> (usize, usize) {
    let scale = long_side as f32 / w.max(h) as f32;
    let round32 = |v: u32| (((v as f32 * scale) / 32.0).round() as usize).max(1) * 32;
    (round32(w), round32(h))
}

/// Detects text lines; boxes are in the page's pixel coordinates, with their
/// mean probability.
pub(crate) fn detect(
    model: &mut Model,
    data: &[u8],
    w: u32,
    h: u32,
    long_side: u32,
) -> Result<Vec<(RotRect, f32)>, OcrError> {
    let (dw, dh) = det_size(w, h, long_side);
    let resized = resize_gray(data, w as usize, h as usize, dw, dh);
    // Three identical channels, (v / 255 - 0.5) / 0.5.
    let plane: Vec<f32> = resized.iter().map(|v| v / 127.5 - 1.0).collect();
    let mut input = Vec::with_capacity(plane.len() * 3);
    for _ in 0..3 {
        input.extend_from_slice(&plane);
    }
    let input = Tensor::from_shape(&[1, 3, dh, dw], &input).map_err(|e| OcrError::Inference {
        stage: "det input".to_owned(),
        reason: e.to_string(),
    })?;
    let out = model.run(input, dh, dw)?;
    let prob = floats(&out, "det output")?;
    if prob.len() != dw * dh {
        return Err(OcrError::Inference {
            stage: "det output".to_owned(),
            reason: format!("{} values for a {dw}x{dh} map", prob.len()),
        });
    }
    let (sx, sy) = (w as f32 / dw as f32, h as f32 / dh as f32);
    Ok(boxes_from_map(&prob, dw, dh)
        .into_iter()
        .map(|(r, score)| (r.scaled(sx, sy), score))
        .collect())
}

/// Connected components of the thresholded map (8-connected), each as its
/// minimum-area rectangle grown by the unclip distance.
pub(crate) fn boxes_from_map(prob: &[f32], w: usize, h: usize) -> Vec<(RotRect, f32)> {
    let mut seen = vec![false; w * h];
    let mut boxes = Vec::new();
    let mut stack = Vec::new();
    let mut points = Vec::new();
    for start in 0..w * h {
        if seen[start] || prob[start] <= THRESHOLD {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        points.clear();
        let mut sum = 0.0;
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            sum += prob[i];
            // The pixel's four corners, so a one-pixel-wide run has an area.
            for (cx, cy) in [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)] {
                points.push((x as f32 + cx, y as f32 + cy));
            }
            for dy in -1isize..=1 {
                for dx in -1isize..=1 {
                    let (nx, ny) = (x as isize + dx, y as isize + dy);
                    if nx < 0 || ny < 0 || nx >= w as isize || ny >= h as isize {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if !seen[j] && prob[j] > THRESHOLD {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        let count = points.len() / 4;
        let score = sum / count as f32;
        if count < MIN_PIXELS || score < BOX_THRESHOLD {
            continue;
        }
        let Some(rect) = min_area_rect(&points) else {
            continue;
        };
        if rect.len_u.min(rect.len_v) < 2.0 {
            continue;
        }
        // The offset of the polygon clipper: area * ratio / perimeter.
        let d = rect.len_u * rect.len_v * UNCLIP_RATIO / (2.0 * (rect.len_u + rect.len_v));
        boxes.push((rect.grown(d), score));
        if boxes.len() >= MAX_BOXES {
            break;
        }
    }
    boxes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn det_sizes_are_multiples_of_32() {
        assert_eq!(det_size(1654, 2339, 1280), (896, 1280));
        assert_eq!(det_size(1, 1, 1280), (1280, 1280));
        assert_eq!(det_size(10_000, 3, 960), (960, 32));
    }

    #[test]
    fn two_bars_in_a_map_become_two_grown_boxes() {
        let (w, h) = (100, 40);
        let mut map = vec![0f32; w * h];
        for y in 5..9 {
            for x in 10..90 {
                map[y * w + x] = 0.9;
            }
        }
        for y in 25..29 {
            for x in 20..60 {
                map[y * w + x] = 0.8;
            }
        }
        // A speck below the size limit.
        map[35 * w + 5] = 0.9;
        let boxes = boxes_from_map(&map, w, h);
        assert_eq!(boxes.len(), 2, "{boxes:?}");
        let (first, score) = boxes[0];
        assert!((score - 0.9).abs() < 1e-4);
        // 80x4 grown by 80*4*1.6/168 ≈ 3.05 on each side.
        let (long, short) = (first.len_u.max(first.len_v), first.len_u.min(first.len_v));
        assert!(
            (long - 86.1).abs() < 0.2 && (short - 10.1).abs() < 0.2,
            "{first:?}"
        );
        assert!((first.center.0 - 50.0).abs() < 0.1 && (first.center.1 - 7.0).abs() < 0.1);
        assert!(boxes_from_map(&[0.0; 16], 4, 4).is_empty());
    }
}
