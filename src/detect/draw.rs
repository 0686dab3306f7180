//! Annotated images: detections drawn onto a copy of the input (`vidt detect --output-dir`).

use image::RgbImage;

/// Draws 3-pixel box outlines, one colour per label.
pub fn annotate(img: &mut RgbImage, boxes: &[([f32; 4], usize)]) {
    let (w, h) = (img.width() as i64, img.height() as i64);
    for &(b, label) in boxes {
        let hue = (label * 47 % 360) as f32;
        let color = hsv(hue);
        let (x0, y0, x1, y1) = (b[0] as i64, b[1] as i64, b[2] as i64, b[3] as i64);
        for t in 0..3 {
            for x in x0..=x1 {
                for y in [y0 + t, y1 - t] {
                    if (0..w).contains(&x) && (0..h).contains(&y) {
                        img.put_pixel(x as u32, y as u32, color);
                    }
                }
            }
            for y in y0..=y1 {
                for x in [x0 + t, x1 - t] {
                    if (0..w).contains(&x) && (0..h).contains(&y) {
                        img.put_pixel(x as u32, y as u32, color);
                    }
                }
            }
        }
    }
}

fn hsv(h: f32) -> image::Rgb<u8> {
    let x = 1.0 - ((h / 60.0) % 2.0 - 1.0).abs();
    let (r, g, b) = match (h / 60.0) as u32 {
        0 => (1.0, x, 0.0),
        1 => (x, 1.0, 0.0),
        2 => (0.0, 1.0, x),
        3 => (0.0, x, 1.0),
        4 => (x, 0.0, 1.0),
        _ => (1.0, 0.0, x),
    };
    image::Rgb([(r * 255.0) as u8, (g * 255.0) as u8, (b * 255.0) as u8])
}
