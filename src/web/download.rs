//! A model download streamed into memory, with progress.

use js_sys::{Function, Promise, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::{get, js_message};

/// Streams `url` into memory, calling `on_progress(loaded, total)` as chunks arrive.
pub(super) async fn download(url: &str, on_progress: &JsValue) -> Result<Vec<u8>, String> {
    let fetch: Function = get(&js_sys::global(), "fetch")
        .dyn_into()
        .map_err(|_| "this environment has no fetch()".to_string())?;
    let promise: Promise = fetch
        .call1(&JsValue::NULL, &url.into())
        .map_err(|e| js_message(&e))?
        .unchecked_into();
    let resp: web_sys::Response = JsFuture::from(promise)
        .await
        .map_err(|e| js_message(&e))?
        .unchecked_into();
    if !resp.ok() {
        return Err(format!("HTTP {} {}", resp.status(), resp.status_text()));
    }
    let total = resp
        .headers()
        .get("content-length")
        .ok()
        .flatten()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(0.0);
    let progress = on_progress.dyn_ref::<Function>();
    let report = |loaded: usize| {
        if let Some(f) = progress {
            // A throwing callback must not abort the download.
            let _ = f.call2(&JsValue::NULL, &(loaded as f64).into(), &total.into());
        }
    };
    let Some(body) = resp.body() else {
        let buf = JsFuture::from(resp.array_buffer().map_err(|e| js_message(&e))?)
            .await
            .map_err(|e| js_message(&e))?;
        let bytes = Uint8Array::new(&buf).to_vec();
        report(bytes.len());
        return Ok(bytes);
    };
    let reader = get(&body, "getReader")
        .dyn_into::<Function>()
        .and_then(|f| f.call0(&body))
        .map_err(|e| js_message(&e))?;
    let read: Function = get(&reader, "read")
        .dyn_into()
        .map_err(|_| "the response stream has no reader".to_string())?;
    let mut bytes = Vec::with_capacity(total as usize);
    report(0);
    loop {
        let chunk = read
            .call0(&reader)
            .map_err(|e| js_message(&e))?
            .unchecked_into::<Promise>();
        let chunk = JsFuture::from(chunk).await.map_err(|e| js_message(&e))?;
        if get(&chunk, "done").is_truthy() {
            break;
        }
        let value = get(&chunk, "value");
        match value.dyn_ref::<Uint8Array>() {
            Some(a) => bytes.extend_from_slice(&a.to_vec()),
            None => return Err("the response stream gave a non-byte chunk".into()),
        }
        report(bytes.len());
    }
    Ok(bytes)
}
