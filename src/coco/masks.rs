//! Instance masks of a training target (ViDT+): one bitmap per object on the image's canvas,
//! with the pixel boxes the official criterion crops them to; and COCO `segmentation`
//! (polygons or RLE) decoded as pycocotools does.

use serde::{Deserialize, Serialize};

use crate::rle::{Rle, rle_encode, runs_to_mask};

/// The masks of one image's objects, in the order of its `labels`.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InstanceMasks {
    /// The canvas: the (augmented, unpadded) image size, or larger (a padded batch canvas).
    pub height: usize,
    pub width: usize,
    /// `n` bitmaps of `height * width` (0 or 1), row-major, one after another.
    pub data: Vec<u8>,
    /// `[x0, y0, x1, y1]` in canvas pixels per object (the official `xyxy_boxes`: the boxes
    /// before normalization), the crop of each mask's vector target.
    pub boxes_px: Vec<[f32; 4]>,
}

impl InstanceMasks {
    pub fn len(&self) -> usize {
        self.boxes_px.len()
    }

    pub fn is_empty(&self) -> bool {
        self.boxes_px.is_empty()
    }

    /// Object `i`'s bitmap.
    pub fn mask(&self, i: usize) -> &[u8] {
        let n = self.height * self.width;
        &self.data[i * n..(i + 1) * n]
    }
}

impl InstanceMasks {
    /// Mirrors every mask left to right (the image's horizontal flip).
    pub fn flip_horizontal(&mut self) {
        let w = self.width;
        for row in self.data.chunks_mut(w.max(1)) {
            row.reverse();
        }
    }

    /// The masks of the objects `keep` (indices, in order), cropped to `(x0, y0, w, h)`.
    pub fn crop(&self, keep: &[usize], x0: usize, y0: usize, w: usize, h: usize) -> Self {
        let mut data = Vec::with_capacity(keep.len() * w * h);
        for &i in keep {
            let m = self.mask(i);
            for y in y0..y0 + h {
                data.extend_from_slice(&m[y * self.width + x0..y * self.width + x0 + w]);
            }
        }
        Self {
            height: h,
            width: w,
            data,
            boxes_px: keep.iter().map(|&i| self.boxes_px[i]).collect(),
        }
    }

    /// Resized to `(h, w)` as the official `F.interpolate(mode="nearest") > 0.5`: the source
    /// pixel of output `i` is `floor(i * in / out)` (f32, as torch's scale).
    pub fn resize(&self, h: usize, w: usize) -> Self {
        let (sy, sx) = (self.height as f32 / h as f32, self.width as f32 / w as f32);
        let ys: Vec<usize> = (0..h)
            .map(|i| ((i as f32 * sy) as usize).min(self.height - 1))
            .collect();
        let xs: Vec<usize> = (0..w)
            .map(|i| ((i as f32 * sx) as usize).min(self.width - 1))
            .collect();
        let mut data = Vec::with_capacity(self.len() * h * w);
        for i in 0..self.len() {
            let m = self.mask(i);
            for &y in &ys {
                data.extend(xs.iter().map(|&x| m[y * self.width + x]));
            }
        }
        Self {
            height: h,
            width: w,
            data,
            boxes_px: self.boxes_px.clone(),
        }
    }
}

/// A COCO `segmentation`: polygons (`[[x0, y0, x1, y1, ...], ...]`, pixel coordinates) or RLE
/// (`{size: [h, w], counts}`, counts compressed as pycocotools writes them or a list of runs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Segmentation {
    Polygons(Vec<Vec<f64>>),
    Rle { size: [usize; 2], counts: RleCounts },
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RleCounts {
    Compressed(String),
    Runs(Vec<u64>),
}

impl Segmentation {
    /// The `h x w` bitmap (row-major), as pycocotools' `annToMask`: polygons rasterized by its
    /// `rleFrPoly` and merged; what [`validate`](Self::validate) refuses is an error saying so.
    pub fn decode(&self, h: usize, w: usize) -> std::result::Result<Vec<u8>, String> {
        self.validate(h, w)?;
        Ok(match self {
            Segmentation::Polygons(polys) => {
                let mut out = vec![0u8; h * w];
                for p in polys {
                    for (o, v) in out.iter_mut().zip(polygon_mask(p, h, w)) {
                        *o |= v;
                    }
                }
                out
            }
            Segmentation::Rle {
                counts: RleCounts::Compressed(s),
                ..
            } => compressed(s, h, w).decode()?,
            Segmentation::Rle {
                counts: RleCounts::Runs(r),
                ..
            } => runs_to_mask(r, (h, w)),
        })
    }

    /// Checks what can be checked without rasterizing (cheap enough for every annotation of a
    /// large file): polygon lengths, RLE size and runs.
    pub fn validate(&self, h: usize, w: usize) -> std::result::Result<(), String> {
        match self {
            Segmentation::Polygons(polys) => {
                for (i, p) in polys.iter().enumerate() {
                    if p.len() < 6 || p.len() % 2 != 0 || p.iter().any(|v| !v.is_finite()) {
                        return Err(format!(
                            "polygon {i} has {} coordinates (an even number >= 6 expected)",
                            p.len()
                        ));
                    }
                }
                Ok(())
            }
            Segmentation::Rle { size, counts } => {
                if *size != [h, w] {
                    return Err(format!("RLE of size {size:?} on a {h}x{w} image"));
                }
                match counts {
                    RleCounts::Compressed(s) => compressed(s, h, w).runs().map(|_| ()),
                    RleCounts::Runs(r) if r.iter().sum::<u64>() == (h * w) as u64 => Ok(()),
                    RleCounts::Runs(_) => Err(format!("RLE runs do not cover the {h}x{w} mask")),
                }
            }
        }
    }

    /// The compressed RLE of a bitmap (what `vidt synth` writes).
    pub fn from_mask(mask: &[u8], h: usize, w: usize) -> Self {
        rle_encode(mask, (h, w)).into()
    }
}

impl From<Rle> for Segmentation {
    fn from(r: Rle) -> Self {
        Segmentation::Rle {
            size: r.size,
            counts: RleCounts::Compressed(r.counts),
        }
    }
}

/// A compressed `counts` string as the RLE of an `h x w` mask.
fn compressed(counts: &str, h: usize, w: usize) -> Rle {
    Rle {
        size: [h, w],
        counts: counts.to_string(),
    }
}

/// pycocotools' `rleFrPoly`: the polygon upsampled 5x, its boundary walked, the crossings of
/// pixel-centre columns kept as run boundaries. Returns the row-major `h x w` bitmap.
fn polygon_mask(xy: &[f64], h: usize, w: usize) -> Vec<u8> {
    let scale = 5.0;
    let k = xy.len() / 2;
    let mut x: Vec<i64> = (0..k).map(|j| (scale * xy[2 * j] + 0.5) as i64).collect();
    let mut y: Vec<i64> = (0..k)
        .map(|j| (scale * xy[2 * j + 1] + 0.5) as i64)
        .collect();
    x.push(x[0]);
    y.push(y[0]);
    let (mut u, mut v) = (Vec::new(), Vec::new());
    for j in 0..k {
        let (mut xs, mut xe, mut ys, mut ye) = (x[j], x[j + 1], y[j], y[j + 1]);
        let (dx, dy) = ((xe - xs).abs(), (ys - ye).abs());
        let flip = (dx >= dy && xs > xe) || (dx < dy && ys > ye);
        if flip {
            std::mem::swap(&mut xs, &mut xe);
            std::mem::swap(&mut ys, &mut ye);
        }
        if dx >= dy {
            let s = if dx == 0 {
                0.0
            } else {
                (ye - ys) as f64 / dx as f64
            };
            for d in 0..=dx {
                let t = if flip { dx - d } else { d };
                u.push(t + xs);
                v.push((ys as f64 + s * t as f64 + 0.5) as i64);
            }
        } else {
            let s = (xe - xs) as f64 / dy as f64;
            for d in 0..=dy {
                let t = if flip { dy - d } else { d };
                v.push(t + ys);
                u.push((xs as f64 + s * t as f64 + 0.5) as i64);
            }
        }
    }
    // Points on the y-boundary, downsampled to pixel columns.
    let mut a: Vec<u64> = Vec::new();
    for j in 1..u.len() {
        if u[j] == u[j - 1] {
            continue;
        }
        let xd = if u[j] < u[j - 1] { u[j] } else { u[j] - 1 } as f64;
        let xd = (xd + 0.5) / scale - 0.5;
        if xd.floor() != xd || xd < 0.0 || xd > (w as f64 - 1.0) {
            continue;
        }
        let yd = if v[j] < v[j - 1] { v[j] } else { v[j - 1] } as f64;
        let yd = ((yd + 0.5) / scale - 0.5).clamp(0.0, h as f64).ceil();
        a.push(xd as u64 * h as u64 + yd as u64);
    }
    a.push((h * w) as u64);
    a.sort_unstable();
    let mut prev = 0;
    for t in a.iter_mut() {
        let cur = *t;
        *t -= prev;
        prev = cur;
    }
    // Zero-length runs merge their neighbours.
    let mut runs = vec![a[0]];
    let mut j = 1;
    while j < a.len() {
        if a[j] > 0 {
            runs.push(a[j]);
            j += 1;
        } else {
            j += 1;
            if j < a.len() {
                *runs.last_mut().expect("one run") += a[j];
                j += 1;
            }
        }
    }
    // The runs end at h * w (pushed above): they cover the mask.
    runs_to_mask(&runs, (h, w))
}
