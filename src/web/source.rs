//! Pixels from whatever the page has: `<img>`, `<video>`, `<canvas>`, `ImageBitmap`,
//! `ImageData`, `OffscreenCanvas`, `VideoFrame`, or a plain `{ data, width, height }`.

use js_sys::{Function, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use super::{get, js_message};

/// The RGBA pixels and `(width, height)` of an image-like source.
pub(super) fn pixels(source: &JsValue) -> Result<(Vec<u8>, usize, usize), JsError> {
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
        return Ok((bytes, w, h));
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
    let canvas = web_sys::OffscreenCanvas::new(w, h).map_err(|e| JsError::new(&js_message(&e)))?;
    let ctx = canvas
        .get_context("2d")
        .map_err(|e| JsError::new(&js_message(&e)))?
        .ok_or_else(|| JsError::new("no 2d context on an OffscreenCanvas"))?
        .unchecked_into::<web_sys::OffscreenCanvasRenderingContext2d>();
    // drawImage takes every source kind; web-sys would need one binding per kind.
    let draw: Function = get(&ctx, "drawImage")
        .dyn_into()
        .map_err(|_| JsError::new("OffscreenCanvas 2d context has no drawImage"))?;
    draw.call3(&ctx, source, &0.into(), &0.into())
        .map_err(|e| JsError::new(&format!("cannot draw the source: {}", js_message(&e))))?;
    let image = ctx
        .get_image_data(0.0, 0.0, w as f64, h as f64)
        .map_err(|e| JsError::new(&format!("cannot read the pixels: {}", js_message(&e))))?;
    Ok((image.data().0, w as usize, h as usize))
}
