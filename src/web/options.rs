//! What crosses the boundary: load and detect options from JS objects (unknown names refused,
//! every value checked, the error naming it) and detections back as plain JS objects.

use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use super::get;
use crate::defaults;
use crate::detect::{DetectOptions, Detection};

/// Refuses option names not in `known` (a misspelt option would otherwise be silently ignored).
pub(super) fn check_keys(options: &JsValue, known: &[&str], what: &str) -> Result<(), JsError> {
    let Some(obj) = options.dyn_ref::<js_sys::Object>() else {
        return Err(JsError::new(&format!("{what} options must be an object")));
    };
    for key in js_sys::Object::keys(obj)
        .iter()
        .filter_map(|k| k.as_string())
    {
        if !known.contains(&key.as_str()) {
            return Err(JsError::new(&format!(
                "unknown {what} option `{key}` (known: {})",
                known.join(", ")
            )));
        }
    }
    Ok(())
}

/// Checked before a download, so a misspelt option fails fast.
pub(super) fn check_load_options(options: &JsValue) -> Result<(), JsError> {
    if options.is_undefined() || options.is_null() {
        return Ok(());
    }
    if !get(options, "worker").is_undefined() {
        return Err(JsError::new(
            "the worker option needs the package's entry (import from \"vidt\" or \
             vidt/index.js, not vidt/vidt.js)",
        ));
    }
    check_keys(
        options,
        &["backend", "onProgress", "cache", "onDeviceLost"],
        "load",
    )
}

/// `detect`'s options over `defaults` (the model's), with the model's decoder layers and default
/// input size; returns them and the (shorter side, longer side at most) to resize to.
pub(super) fn detect_options(
    options: &JsValue,
    defaults: DetectOptions,
    decoder_layers: usize,
    input_size: usize,
) -> Result<(DetectOptions, (usize, usize)), JsError> {
    let o: JsDetectOptions = if options.is_undefined() || options.is_null() {
        JsDetectOptions::default()
    } else {
        check_keys(
            options,
            &[
                "threshold",
                "topK",
                "decoderLayers",
                "inputSize",
                "maxSize",
                "nmsIou",
            ],
            "detect",
        )?;
        serde_wasm_bindgen::from_value(options.clone())
            .map_err(|e| JsError::new(&format!("bad detect options: {e}")))?
    };
    let bad = |what: String| Err(JsError::new(&format!("bad detect options: {what}")));
    let threshold = o.threshold.unwrap_or(defaults.threshold as f64);
    if !(0.0..=1.0).contains(&threshold) {
        return bad(format!("threshold {threshold} is not in [0, 1]"));
    }
    let top_k = o.top_k.unwrap_or(defaults::TOP_K as f64);
    if !(top_k >= 1.0 && top_k.fract() == 0.0) {
        return bad(format!("topK {top_k} is not a positive integer"));
    }
    let dec_layers = match o.decoder_layers {
        None => None,
        Some(k) if k >= 1.0 && k.fract() == 0.0 && k as usize <= decoder_layers => Some(k as usize),
        Some(k) => {
            return bad(format!(
                "decoderLayers {k} is not an integer in 1..={}",
                decoder_layers
            ));
        }
    };
    // null turns the model's NMS off; a number sets the IoU.
    let nms_iou = match o.nms_iou {
        None => defaults.nms_iou,
        Some(None) => None,
        Some(Some(t)) if t > 0.0 && t <= 1.0 => Some(t as f32),
        Some(Some(t)) => return bad(format!("nmsIou {t} is not in (0, 1]")),
    };
    let size = o.input_size.unwrap_or(input_size as f64);
    if !(32.0..=2048.0).contains(&size) || size.fract() != 0.0 {
        return bad(format!("inputSize {size} is not an integer in 32..=2048"));
    }
    let max_size = match o.max_size {
        None => None,
        Some(m) if m >= size && m <= 4096.0 && m.fract() == 0.0 => Some(m as usize),
        Some(m) => {
            return bad(format!(
                "maxSize {m} is not an integer in inputSize ({size})..=4096"
            ));
        }
    };
    Ok((
        DetectOptions {
            threshold: threshold as f32,
            top_k: top_k as usize,
            dec_layers,
            nms_iou,
        },
        (
            size as usize,
            defaults::max_size_for(size as usize, max_size),
        ),
    ))
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JsDetectOptions {
    threshold: Option<f64>,
    top_k: Option<f64>,
    decoder_layers: Option<f64>,
    input_size: Option<f64>,
    max_size: Option<f64>,
    /// Absent: the model's default; `null`: off.
    #[serde(default, deserialize_with = "present")]
    nms_iou: Option<Option<f64>>,
}

/// Tells an explicit `null` (`Some(None)`) from an absent key (`None`, via `default`).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<f64>>, D::Error> {
    Option::<f64>::deserialize(d).map(Some)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct JsDetection {
    score: f32,
    label: String,
    label_id: usize,
    #[serde(rename = "box")]
    bbox: JsBox,
    /// ViDT+ models: the instance mask, as the bitmap of its extent in source pixels.
    #[serde(skip_serializing_if = "Option::is_none")]
    mask: Option<JsMask>,
}

#[derive(Serialize)]
struct JsMask {
    x: usize,
    y: usize,
    width: usize,
    height: usize,
    /// A `Uint8Array` (bytes serialize to one), 1 inside the mask.
    data: serde_bytes::ByteBuf,
}

#[derive(Serialize)]
struct JsBox {
    xmin: f32,
    ymin: f32,
    xmax: f32,
    ymax: f32,
}

impl From<Detection> for JsDetection {
    fn from(d: Detection) -> Self {
        let [xmin, ymin, xmax, ymax] = d.bbox;
        Self {
            score: d.score,
            label: d.label,
            label_id: d.label_id,
            bbox: JsBox {
                xmin,
                ymin,
                xmax,
                ymax,
            },
            mask: d.mask.map(|m| JsMask {
                x: m.x,
                y: m.y,
                width: m.width,
                height: m.height,
                data: serde_bytes::ByteBuf::from(m.data),
            }),
        }
    }
}
