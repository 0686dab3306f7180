//! Annotated images: detections drawn onto a copy of the input (`vidt detect --output-dir`),
//! as the demo page draws them: a box outline per detection and, above it (inside when there
//! is no room), a tag in the box's colour with "label NN%" in black. Glyphs come from the
//! public-domain 8x8 bitmap font of `font8x8`, scaled with the image.

use font8x8::UnicodeFonts;
use image::{Rgb, RgbImage};

use super::postprocess::Detection;
use super::uqr::BoxMask;

/// Outline width and glyph scale for an image: the demo page's `max(2, min(w, h) / 160)`.
fn line_width(img: &RgbImage) -> i64 {
    (img.width().min(img.height()) as f32 / 160.0)
        .round()
        .max(2.0) as i64
}

/// Colour of a label (the same hue walk for every image).
pub fn label_color(label: usize) -> Rgb<u8> {
    hsv((label * 47 % 360) as f32)
}

/// The tag text of a detection, as the demo page writes it.
pub fn tag_text(d: &Detection) -> String {
    format!("{} {:.0}%", d.label, d.score * 100.0)
}

/// Draws every detection: its mask (ViDT+) tinted in the box's colour, outline, then its tag.
pub fn annotate(img: &mut RgbImage, dets: &[Detection]) {
    let line = line_width(img);
    for d in dets {
        if let Some(m) = &d.mask {
            tint(img, m, label_color(d.label_id));
        }
    }
    for d in dets {
        let color = label_color(d.label_id);
        let [x0, y0, x1, y1] = d.bbox.map(|v| v as i64);
        for t in 0..line {
            fill(img, (x0, y0 + t), (x1, y0 + t), color);
            fill(img, (x0, y1 - t), (x1, y1 - t), color);
            fill(img, (x0 + t, y0), (x0 + t, y1), color);
            fill(img, (x1 - t, y0), (x1 - t, y1), color);
        }
        let tag = tag_text(d);
        let (tx, ty, tw, th) = tag_rect(d.bbox, &tag, line);
        fill(img, (tx, ty), (tx + tw - 1, ty + th - 1), color);
        text(
            img,
            (tx + line, ty + line),
            &tag,
            scale(line),
            Rgb([0, 0, 0]),
        );
    }
}

/// Half-transparent `color` over the mask's pixels (as the demo page's 50% fill).
fn tint(img: &mut RgbImage, m: &BoxMask, color: Rgb<u8>) {
    for y in m.y..(m.y + m.height).min(img.height() as usize) {
        for x in m.x..(m.x + m.width).min(img.width() as usize) {
            if m.contains(x, y) {
                let p = img.get_pixel_mut(x as u32, y as u32);
                for (c, &k) in p.0.iter_mut().zip(&color.0) {
                    *c = ((*c as u16 + k as u16) / 2) as u8;
                }
            }
        }
    }
}

/// Glyph scale: 8 px glyphs at line width 2, growing with it.
fn scale(line: i64) -> i64 {
    (line / 2).max(1)
}

/// Where the tag `text` of a box goes: `(x, y, width, height)`, above the box when it fits.
pub fn tag_rect(bbox: [f32; 4], text: &str, line: i64) -> (i64, i64, i64, i64) {
    let s = scale(line);
    let chars = text.chars().count() as i64;
    let (tw, th) = (chars * 8 * s + 2 * line, 8 * s + 2 * line);
    let (x0, y0) = (bbox[0] as i64, bbox[1] as i64);
    let ty = if y0 - th >= 0 { y0 - th } else { y0 };
    (x0, ty, tw, th)
}

/// `s` at `(x, y)` (top-left), each font pixel an `scale` x `scale` square; characters the
/// font lacks are drawn as `?`.
fn text(img: &mut RgbImage, (x, y): (i64, i64), s: &str, scale: i64, color: Rgb<u8>) {
    for (i, ch) in s.chars().enumerate() {
        let glyph = font8x8::BASIC_FONTS
            .get(ch)
            .or_else(|| font8x8::LATIN_FONTS.get(ch))
            .unwrap_or_else(|| font8x8::BASIC_FONTS.get('?').expect("'?' is in the font"));
        let gx = x + i as i64 * 8 * scale;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits >> col & 1 == 1 {
                    let (px, py) = (gx + col * scale, y + row as i64 * scale);
                    fill(img, (px, py), (px + scale - 1, py + scale - 1), color);
                }
            }
        }
    }
}

/// Fills the rectangle between two corners (inclusive), clipped to the image.
fn fill(img: &mut RgbImage, (x0, y0): (i64, i64), (x1, y1): (i64, i64), color: Rgb<u8>) {
    let (w, h) = (img.width() as i64, img.height() as i64);
    for y in y0.max(0)..=y1.min(h - 1) {
        for x in x0.max(0)..=x1.min(w - 1) {
            img.put_pixel(x as u32, y as u32, color);
        }
    }
}

fn hsv(h: f32) -> Rgb<u8> {
    let x = 1.0 - ((h / 60.0) % 2.0 - 1.0).abs();
    let (r, g, b) = match (h / 60.0) as u32 {
        0 => (1.0, x, 0.0),
        1 => (x, 1.0, 0.0),
        2 => (0.0, 1.0, x),
        3 => (0.0, x, 1.0),
        4 => (x, 0.0, 1.0),
        _ => (1.0, 0.0, x),
    };
    Rgb([(r * 255.0) as u8, (g * 255.0) as u8, (b * 255.0) as u8])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(label: &str, score: f32, bbox: [f32; 4]) -> Detection {
        Detection {
            score,
            label_id: 3,
            label: label.into(),
            bbox,
            query: 0,
            mask: None,
        }
    }

    #[test]
    fn a_mask_is_tinted_half_way_to_the_box_colour_and_only_its_pixels() {
        let white = Rgb([255, 255, 255]);
        let mut img = RgbImage::from_pixel(120, 100, white);
        let mut d = det("disc", 0.9, [20.0, 20.0, 80.0, 80.0]);
        let full: Vec<u8> = (0..100 * 120)
            .map(|p| {
                let (y, x) = ((p / 120) as f32 - 50.0, (p % 120) as f32 - 50.0);
                (x * x + y * y < 400.0) as u8
            })
            .collect();
        d.mask = Some(BoxMask::from_image(&full, (100, 120)));
        annotate(&mut img, std::slice::from_ref(&d));
        let c = label_color(3);
        let half = Rgb(c.0.map(|k| ((255 + k as u16) / 2) as u8));
        assert_eq!(*img.get_pixel(50, 50), half, "inside the mask");
        assert_eq!(
            *img.get_pixel(30, 30),
            white,
            "in the box, outside the mask"
        );
    }

    #[test]
    fn tag_carries_the_label_and_score_in_black_on_the_box_colour() {
        let white = Rgb([255, 255, 255]);
        let mut img = RgbImage::from_pixel(320, 240, white);
        let d = det("square", 0.614, [100.0, 80.0, 200.0, 180.0]);
        annotate(&mut img, std::slice::from_ref(&d));
        let (tx, ty, tw, th) = tag_rect(d.bbox, &tag_text(&d), line_width(&img));
        assert!(ty + th <= 80, "the tag sits above the box");
        assert_eq!(
            tw,
            10 * 8 + 4,
            "\"square 61%\": 10 glyphs of 8 px plus the margins"
        );
        let (mut ink, mut paper) = (0, 0);
        for y in ty..ty + th {
            for x in tx..tx + tw {
                match *img.get_pixel(x as u32, y as u32) {
                    Rgb([0, 0, 0]) => ink += 1,
                    p if p == label_color(3) => paper += 1,
                    p => panic!("unexpected colour {p:?} in the tag"),
                }
            }
        }
        assert!(ink > 100 && paper > ink, "ink {ink}, paper {paper}");
        // Another text draws other pixels: the glyphs are really the text's.
        let mut other = RgbImage::from_pixel(320, 240, white);
        annotate(&mut other, &[det("square", 0.714, d.bbox)]);
        assert_ne!(img, other);
        // The outline in the label's colour, the inside untouched.
        assert_eq!(*img.get_pixel(150, 80), label_color(3));
        assert_eq!(*img.get_pixel(150, 130), white);
    }

    #[test]
    fn a_box_at_the_top_keeps_its_tag_inside() {
        let mut img = RgbImage::new(64, 64);
        let d = det("x", 1.0, [0.0, 0.0, 63.0, 63.0]);
        annotate(&mut img, std::slice::from_ref(&d));
        assert_eq!(tag_rect(d.bbox, &tag_text(&d), line_width(&img)).1, 0);
    }
}
