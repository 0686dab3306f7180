//! Pixels from whatever the page has: `<img>`, `<video>`, `<canvas>`, `ImageBitmap`,
//! `ImageData`, `OffscreenCanvas`, `VideoFrame`, or a plain `{ data, width, height }`.

use js_sys::{Function, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use super::{get, js_message};

/// A source's pixels as read: RGBA of `width` x `height`, and the source's own size (boxes are
/// given in it). The two sizes differ when the browser drew the source at the model's input
/// size ([`Resize::Fast`]).
pub(super) struct Pixels {
    pub rgba: Vec<u8>,
    pub width: usize,
    pub height: usize,
    /// `(height, width)` of the source.
    pub original: (usize, usize),
}

/// Who resizes a source to the model's input size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Resize {
    /// The full-size pixels are read back and resized on the CPU as the official pipeline does
    /// (bilinear, the image crate's `Triangle`): the default for still images.
    Official,
    /// The browser draws the source at the input size (`drawImage` with a destination size,
    /// on the GPU where the canvas is accelerated) and only those pixels are read back: the
    /// default for `<video>` and `VideoFrame`, whose full frames cost tens of ms to read.
    /// Where the input size is larger than the source (an upscale), the source's own pixels
    /// are read and resized officially; pixel data (`ImageData`, `{ data, width, height }`) is
    /// already on the CPU: official too.
    Fast,
}

impl Resize {
    /// `options.resize` (`"official"` or `"fast"`), else the source kind's default.
    pub(super) fn of(options: &JsValue, source: &JsValue) -> Result<Self, JsError> {
        let v = get(options, "resize");
        match v.as_string().as_deref() {
            _ if v.is_undefined() => Ok(if is_video(source) {
                Resize::Fast
            } else {
                Resize::Official
            }),
            Some("official") => Ok(Resize::Official),
            Some("fast") => Ok(Resize::Fast),
            _ => Err(JsError::new(&format!(
                "bad detect options: resize {} is not \"official\" or \"fast\"",
                js_sys::JSON::stringify(&v)
                    .map(String::from)
                    .unwrap_or_else(|_| "?".into())
            ))),
        }
    }
}

/// A `<video>` or a `VideoFrame` (told apart from images by their size properties).
fn is_video(source: &JsValue) -> bool {
    source.is_object()
        && ["videoWidth", "displayWidth"]
            .iter()
            .any(|k| get(source, k).as_f64().is_some())
}

/// The pixels of an image-like source; with [`Resize::Fast`], drawn by the browser at
/// `fit(height, width)` of the source's size.
pub(super) fn pixels(
    source: &JsValue,
    resize: Resize,
    fit: impl Fn(usize, usize) -> crate::error::Result<(usize, usize)>,
) -> Result<Pixels, JsError> {
    if !source.is_object() {
        return Err(JsError::new(
            "detect needs an image, video, canvas, ImageBitmap, ImageData or VideoFrame",
        ));
    }
    let num = |k: &str| get(source, k).as_f64().filter(|v| *v >= 0.0);
    // ImageData, or a plain { data, width, height } (tests, workers, decoded frames).
    let data = get(source, "data");
    if data.is_object() {
        let (Some(w), Some(h)) = (num("width"), num("height")) else {
            return Err(JsError::new(
                "source.data needs source.width and source.height",
            ));
        };
        let bytes = if let Some(a) = data.dyn_ref::<js_sys::Uint8ClampedArray>() {
            a.to_vec()
        } else if let Some(a) = data.dyn_ref::<Uint8Array>() {
            a.to_vec()
        } else {
            return Err(JsError::new(
                "source.data must be a Uint8Array or Uint8ClampedArray",
            ));
        };
        let (w, h) = (w as usize, h as usize);
        if bytes.len() != w * h * 4 || w == 0 || h == 0 {
            return Err(JsError::new(&format!(
                "source.data has {} bytes; {w}x{h} RGBA needs {}",
                bytes.len(),
                w * h * 4
            )));
        }
        return Ok(Pixels {
            rgba: bytes,
            width: w,
            height: h,
            original: (h, w),
        });
    }
    // The intrinsic size: <img> natural, <video> frame, VideoFrame display, else width/height.
    let size = [
        ("naturalWidth", "naturalHeight"),
        ("videoWidth", "videoHeight"),
        ("displayWidth", "displayHeight"),
        ("width", "height"),
    ]
    .into_iter()
    .find_map(|(wk, hk)| Some((num(wk)?, num(hk)?)));
    let Some((w, h)) = size else {
        return Err(JsError::new(
            "detect needs an image, video, canvas, ImageBitmap, ImageData or VideoFrame",
        ));
    };
    let (w, h) = (w as u32, h as u32);
    if w == 0 || h == 0 {
        return Err(JsError::new(
            "the source has no pixels yet (image not loaded, or video without a frame)",
        ));
    }
    let (tw, th) = match resize {
        Resize::Official => (w, h),
        Resize::Fast => {
            let (th, tw) = fit(h as usize, w as usize).map_err(|e| JsError::new(&e.to_string()))?;
            // Upscaling: the source's own pixels are fewer, and resized exactly.
            if tw as u64 * th as u64 >= w as u64 * h as u64 {
                (w, h)
            } else {
                (tw as u32, th as u32)
            }
        }
    };
    let canvas =
        web_sys::OffscreenCanvas::new(tw, th).map_err(|e| JsError::new(&js_message(&e)))?;
    let ctx = canvas
        .get_context("2d")
        .map_err(|e| JsError::new(&js_message(&e)))?
        .ok_or_else(|| JsError::new("no 2d context on an OffscreenCanvas"))?
        .unchecked_into::<web_sys::OffscreenCanvasRenderingContext2d>();
    // drawImage takes every source kind; web-sys would need one binding per kind.
    let draw: Function = get(&ctx, "drawImage")
        .dyn_into()
        .map_err(|_| JsError::new("OffscreenCanvas 2d context has no drawImage"))?;
    // Drawn scaled, the source is filtered bilinearly (imageSmoothingQuality "low", the
    // default): the official resize's filter, not its exact sampling positions.
    let args = js_sys::Array::of5(source, &0.into(), &0.into(), &tw.into(), &th.into());
    draw.apply(&ctx, &args)
        .map_err(|e| JsError::new(&format!("cannot draw the source: {}", js_message(&e))))?;
    let image = ctx
        .get_image_data(0.0, 0.0, tw as f64, th as f64)
        .map_err(|e| JsError::new(&format!("cannot read the pixels: {}", js_message(&e))))?;
    Ok(Pixels {
        rgba: image.data().0,
        width: tw as usize,
        height: th as usize,
        original: (h as usize, w as usize),
    })
}
