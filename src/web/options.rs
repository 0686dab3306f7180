//! What crosses the boundary: load and detect options from JS objects (unknown names refused,
//! every value checked, the error naming it) and detections back as plain JS objects.

use serde::Serialize;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use super::get;
use crate::detect::options::DetectRequest;
use crate::detect::{DetectOptions, Detection};
use crate::model::precision::Precision;

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
        &[
            "backend",
            "precision",
            "onProgress",
            "cache",
            "onDeviceLost",
            "signal",
        ],
        "load",
    )?;
    wanted_precision(options).map(|_| ())
}

/// The load option `precision`: `None` when unset (the best the device has).
pub(super) fn wanted_precision(options: &JsValue) -> Result<Option<Precision>, JsError> {
    let p = get(options, "precision");
    if p.is_undefined() || p.is_null() {
        return Ok(None);
    }
    match p.as_string().as_deref().and_then(Precision::from_name) {
        Some(precision) => Ok(Some(precision)),
        None => Err(JsError::new(&format!(
            "bad load options: precision must be \"f32\" or \"f16\", not {}",
            js_sys::JSON::stringify(&p)
                .ok()
                .and_then(|s| s.as_string())
                .unwrap_or_else(|| format!("{p:?}"))
        ))),
    }
}

/// `detect`'s options over `defaults` (the model's), with the model's decoder layers, default
/// input size and class names; returns them and the (shorter side, longer side at most) to
/// resize to. The values are checked by [`DetectRequest::resolve`], as the CLI's.
pub(super) fn detect_options(
    options: &JsValue,
    defaults: DetectOptions,
    decoder_layers: usize,
    input_size: usize,
    classes: &[String],
) -> Result<(DetectOptions, (usize, usize)), JsError> {
    let request: DetectRequest = if options.is_undefined() || options.is_null() {
        DetectRequest::default()
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
                "labels",
                "resize",
            ],
            "detect",
        )?;
        serde_wasm_bindgen::from_value(options.clone())
            .map_err(|e| JsError::new(&format!("bad detect options: {e}")))?
    };
    let r = request
        .resolve(defaults, decoder_layers, input_size, classes)
        .map_err(|e| JsError::new(&e.to_string()))?;
    Ok((r.options, r.sizes))
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
