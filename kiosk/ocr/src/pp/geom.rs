//! Grey-image geometry for the PP-OCR engine: resampling, quarter turns,
//! minimum-area rectangles of detected text and rotated crops.

/// Rotates an 8-bit grey image clockwise by `degrees` (0, 90, 180 or 270;
/// other values are taken modulo 360 and rounded down to a quarter turn).
///
/// Returns the turned buffer and its width and height. `data` must hold
/// `width * height` bytes; a shorter buffer gives an empty image.
pub fn rotate_gray(data: &[u8], width: u32, height: u32, degrees: u16) -> (Vec<u8>, u32, u32) {
    let (w, h) = (width as usize, height as usize);
    if data.len() < w * h || w == 0 || h == 0 {
        return (Vec::new(), 0, 0);
    }
    let quarter = (degrees % 360) / 90;
    if quarter == 0 {
        return (data[..w * h].to_vec(), width, height);
    }
    let mut out = vec![0u8; w * h];
    for y in 0..h {
        let row = &data[y * w..(y + 1) * w];
        for (x, &v) in row.iter().enumerate() {
            let idx = match quarter {
                // 90° clockwise: the new image is h wide; (x, y) -> (h-1-y, x).
                1 => x * h + (h - 1 - y),
                2 => (h - 1 - y) * w + (w - 1 - x),
                // 270°: (x, y) -> (y, w-1-x).
                _ => (w - 1 - x) * h + y,
            };
            out[idx] = v;
        }
    }
    if quarter == 2 {
        (out, width, height)
    } else {
        (out, height, width)
    }
}

/// Maps a point of a `width` x `height` image into the image turned clockwise
/// by `degrees` (a multiple of 90), in continuous pixel coordinates.
pub(crate) fn rotate_point(p: (f32, f32), width: f32, height: f32, degrees: u16) -> (f32, f32) {
    match (degrees % 360) / 90 {
        0 => p,
        1 => (height - p.1, p.0),
        2 => (width - p.0, height - p.1),
        _ => (p.1, width - p.0),
    }
}

/// Resamples a grey image to `nw` x `nh` with a triangle filter whose support
/// widens when shrinking (so downscaling averages instead of aliasing).
/// Output values are floats in the input's 0..255 range.
pub(crate) fn resize_gray(data: &[u8], w: usize, h: usize, nw: usize, nh: usize) -> Vec<f32> {
    let horizontal = filter_weights(w, nw);
    let vertical = filter_weights(h, nh);
    let mut tmp = vec![0f32; nw * h];
    for y in 0..h {
        let row = &data[y * w..(y + 1) * w];
        for (x, (start, weights)) in horizontal.iter().enumerate() {
            tmp[y * nw + x] = weights
                .iter()
                .enumerate()
                .map(|(i, wt)| wt * row[start + i] as f32)
                .sum();
        }
    }
    let mut out = vec![0f32; nw * nh];
    for (y, (start, weights)) in vertical.iter().enumerate() {
        for (i, wt) in weights.iter().enumerate() {
            let src = &tmp[(start + i) * nw..(start + i + 1) * nw];
            for (o, s) in out[y * nw..(y + 1) * nw].iter_mut().zip(src) {
                *o += wt * s;
            }
        }
    }
    out
}

/// For each output index: the first input index and the normalised weights.
fn filter_weights(n_in: usize, n_out: usize) -> Vec<(usize, Vec<f32>)> {
    let scale = n_in as f32 / n_out as f32;
    let support = scale.max(1.0);
    (0..n_out)
        .map(|o| {
            let center = (o as f32 + 0.5) * scale - 0.5;
            let lo = ((center - support).floor() as isize).max(0) as usize;
            let hi = ((center + support).ceil() as isize)
                .min(n_in as isize - 1)
                .max(0) as usize;
            let mut weights: Vec<f32> = (lo..=hi)
                .map(|i| (1.0 - (i as f32 - center).abs() / support).max(0.0))
                .collect();
            let sum: f32 = weights.iter().sum();
            if sum > 0.0 {
                weights.iter_mut().for_each(|w| *w /= sum);
            } else {
                // Only when the centre falls outside: take the nearest pixel.
                weights.iter_mut().for_each(|w| *w = 0.0);
                let nearest = center.round().clamp(lo as f32, hi as f32) as usize - lo;
                weights[nearest] = 1.0;
            }
            (lo, weights)
        })
        .collect()
}

/// A rotated rectangle: centre, unit vector along its first side, side lengths.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct RotRect {
    pub center: (f32, f32),
    /// Unit vector along the side of length `len_u`.
    pub u: (f32, f32),
    pub len_u: f32,
    /// Length of the side perpendicular to `u`.
    pub len_v: f32,
}

impl RotRect {
    /// The same rectangle described with `u` along `dir`'s nearest side
    /// direction (of the four: ±u, ±v), so crops read along `dir`.
    pub fn facing(&self, dir: (f32, f32)) -> RotRect {
        let v = (-self.u.1, self.u.0);
        let candidates = [
            (self.u, self.len_u, self.len_v),
            ((-self.u.0, -self.u.1), self.len_u, self.len_v),
            (v, self.len_v, self.len_u),
            ((-v.0, -v.1), self.len_v, self.len_u),
        ];
        let best = candidates
            .iter()
            .max_by(|a, b| dot(a.0, dir).total_cmp(&dot(b.0, dir)))
            .copied()
            .unwrap_or(candidates[0]);
        RotRect {
            center: self.center,
            u: best.0,
            len_u: best.1,
            len_v: best.2,
        }
    }

    /// The direction of the longer side.
    pub fn long_axis(&self) -> (f32, f32) {
        if self.len_u >= self.len_v {
            self.u
        } else {
            (-self.u.1, self.u.0)
        }
    }

    /// Grows each side by `2 * d` (the rectangle's offset by `d`).
    pub fn grown(&self, d: f32) -> RotRect {
        RotRect {
            len_u: self.len_u + 2.0 * d,
            len_v: self.len_v + 2.0 * d,
            ..*self
        }
    }

    /// Scales the rectangle's coordinates by (sx, sy) (a resize of the image).
    /// Exact for axis-aligned scaling when sx == sy; close enough for the
    /// small aspect changes of rounding sides to multiples of 32.
    pub fn scaled(&self, sx: f32, sy: f32) -> RotRect {
        let u = (self.u.0 * sx, self.u.1 * sy);
        let v = (-self.u.1 * sx, self.u.0 * sy);
        let nu = norm(u).max(f32::EPSILON);
        RotRect {
            center: (self.center.0 * sx, self.center.1 * sy),
            u: (u.0 / nu, u.1 / nu),
            len_u: self.len_u * nu,
            len_v: self.len_v * norm(v),
        }
    }

    /// The point at `a` along u and `b` along v, from the corner at -u/2, -v/2.
    pub fn point(&self, a: f32, b: f32) -> (f32, f32) {
        let v = (-self.u.1, self.u.0);
        let a = a - self.len_u / 2.0;
        let b = b - self.len_v / 2.0;
        (
            self.center.0 + a * self.u.0 + b * v.0,
            self.center.1 + a * self.u.1 + b * v.1,
        )
    }
}

fn dot(a: (f32, f32), b: (f32, f32)) -> f32 {
    a.0 * b.0 + a.1 * b.1
}

fn norm(a: (f32, f32)) -> f32 {
    dot(a, a).sqrt()
}

/// Minimum-area rectangle around points (rotating calipers over the convex
/// hull). `None` for fewer than one point.
pub(crate) fn min_area_rect(points: &[(f32, f32)]) -> Option<RotRect> {
    let hull = convex_hull(points);
    let first = *hull.first()?;
    if hull.len() < 3 {
        let last = *hull.last()?;
        let d = (last.0 - first.0, last.1 - first.1);
        let len = norm(d);
        let u = if len > 0.0 {
            (d.0 / len, d.1 / len)
        } else {
            (1.0, 0.0)
        };
        return Some(RotRect {
            center: ((first.0 + last.0) / 2.0, (first.1 + last.1) / 2.0),
            u,
            len_u: len,
            len_v: 0.0,
        });
    }
    let mut best: Option<(f32, RotRect)> = None;
    for i in 0..hull.len() {
        let a = hull[i];
        let b = hull[(i + 1) % hull.len()];
        let d = (b.0 - a.0, b.1 - a.1);
        let len = norm(d);
        if len == 0.0 {
            continue;
        }
        let u = (d.0 / len, d.1 / len);
        let v = (-u.1, u.0);
        let (mut min_u, mut max_u, mut min_v, mut max_v) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
        for p in &hull {
            let pu = dot(*p, u);
            let pv = dot(*p, v);
            min_u = min_u.min(pu);
            max_u = max_u.max(pu);
            min_v = min_v.min(pv);
            max_v = max_v.max(pv);
        }
        let area = (max_u - min_u) * (max_v - min_v);
        if best.as_ref().is_none_or(|(a, _)| area < *a) {
            let cu = (min_u + max_u) / 2.0;
            let cv = (min_v + max_v) / 2.0;
            best = Some((
                area,
                RotRect {
                    center: (cu * u.0 + cv * v.0, cu * u.1 + cv * v.1),
                    u,
                    len_u: max_u - min_u,
                    len_v: max_v - min_v,
                },
            ));
        }
    }
    best.map(|(_, r)| r)
}

/// Andrew's monotone chain; counter-clockwise, without repeated points.
fn convex_hull(points: &[(f32, f32)]) -> Vec<(f32, f32)> {
    let mut pts = points.to_vec();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    pts.dedup();
    if pts.len() < 3 {
        return pts;
    }
    let cross = |o: (f32, f32), a: (f32, f32), b: (f32, f32)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    let mut hull: Vec<(f32, f32)> = Vec::with_capacity(pts.len() * 2);
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &(f32, f32)>> = if pass == 0 {
            Box::new(pts.iter())
        } else {
            Box::new(pts.iter().rev())
        };
        for &p in iter {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    hull
}

/// Samples `rect` of a grey image into an `out_w` x `out_h` float buffer
/// (bilinear, edges replicated), reading along `rect.u` left to right.
pub(crate) fn crop_rect(
    data: &[u8],
    w: usize,
    h: usize,
    rect: &RotRect,
    out_w: usize,
    out_h: usize,
) -> Vec<f32> {
    let mut out = vec![0f32; out_w * out_h];
    if w == 0 || h == 0 || out_w == 0 || out_h == 0 {
        return out;
    }
    let su = rect.len_u / out_w as f32;
    let sv = rect.len_v / out_h as f32;
    let px = |x: isize, y: isize| -> f32 {
        let x = x.clamp(0, w as isize - 1) as usize;
        let y = y.clamp(0, h as isize - 1) as usize;
        data[y * w + x] as f32
    };
    for oy in 0..out_h {
        for ox in 0..out_w {
            let (x, y) = rect.point((ox as f32 + 0.5) * su, (oy as f32 + 0.5) * sv);
            let (x, y) = (x - 0.5, y - 0.5);
            let (x0, y0) = (x.floor(), y.floor());
            let (fx, fy) = (x - x0, y - y0);
            let (x0, y0) = (x0 as isize, y0 as isize);
            let top = px(x0, y0) * (1.0 - fx) + px(x0 + 1, y0) * fx;
            let bottom = px(x0, y0 + 1) * (1.0 - fx) + px(x0 + 1, y0 + 1) * fx;
            out[oy * out_w + ox] = top * (1.0 - fy) + bottom * fy;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quarter_turns_compose_to_identity() {
        let (w, h) = (3u32, 2u32);
        let img: Vec<u8> = (0..6).collect();
        let (r90, w90, h90) = rotate_gray(&img, w, h, 90);
        assert_eq!((w90, h90), (2, 3));
        // Clockwise: the bottom-left pixel (3) becomes the top-left one.
        assert_eq!(r90, vec![3, 0, 4, 1, 5, 2]);
        let (r180, _, _) = rotate_gray(&img, w, h, 180);
        assert_eq!(r180, vec![5, 4, 3, 2, 1, 0]);
        let (back, bw, bh) = rotate_gray(&r90, w90, h90, 270);
        assert_eq!((back, bw, bh), (img.clone(), w, h));
        assert_eq!(rotate_gray(&img, w, h, 360).0, img);
        assert_eq!(rotate_gray(&img[..5], w, h, 90).0, Vec::<u8>::new());
    }

    #[test]
    fn rotated_points_follow_the_pixels() {
        // Pixel (0,1) of a 3x2 image (its centre at 0.5,1.5) goes to (0,0) at 90°.
        assert_eq!(rotate_point((0.5, 1.5), 3.0, 2.0, 90), (0.5, 0.5));
        assert_eq!(rotate_point((0.5, 1.5), 3.0, 2.0, 270), (1.5, 2.5));
    }

    #[test]
    fn min_area_rect_of_a_tilted_bar() {
        let angle: f32 = 0.3;
        let (c, s) = (angle.cos(), angle.sin());
        let mut pts = Vec::new();
        for i in 0..=100 {
            for j in 0..=10 {
                let (a, b) = (i as f32, j as f32);
                pts.push((50.0 + a * c - b * s, 20.0 + a * s + b * c));
            }
        }
        let r = min_area_rect(&pts).unwrap();
        let (long, short) = (r.len_u.max(r.len_v), r.len_u.min(r.len_v));
        assert!(
            (long - 100.0).abs() < 0.5 && (short - 10.0).abs() < 0.5,
            "{r:?}"
        );
        let axis = r.long_axis();
        assert!((axis.1 / axis.0 - angle.tan()).abs() < 0.01, "{r:?}");
        let facing = r.facing((1.0, 0.0));
        assert!(facing.u.0 > 0.9 && (facing.len_u - 100.0).abs() < 0.5);
        assert!(min_area_rect(&[]).is_none());
        assert!(min_area_rect(&[(1.0, 1.0)]).is_some());
    }

    #[test]
    fn resize_keeps_flat_images_flat_and_averages_when_shrinking() {
        let flat = vec![200u8; 50 * 30];
        let out = resize_gray(&flat, 50, 30, 17, 64);
        assert!(out.iter().all(|v| (v - 200.0).abs() < 0.01));
        // Alternating columns average to grey when halved.
        let stripes: Vec<u8> = (0..40 * 4)
            .map(|i| if i % 2 == 0 { 0 } else { 255 })
            .collect();
        let out = resize_gray(&stripes, 40, 4, 20, 4);
        assert!(out.iter().all(|v| (v - 127.5).abs() < 40.0), "{out:?}");
    }
}
