//! Model downloads: streamed into memory with progress, abortable (`signal`), and the
//! revalidation of a cached copy with the server (ETag / Last-Modified, else the length).

use js_sys::{Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::{get, js_message};

/// A model file and the validators the server sent with it (kept with it in the cache).
pub(super) struct Fetched {
    pub bytes: Vec<u8>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

/// What the server says of a cached copy.
pub(super) enum Revalidated {
    Unchanged,
    Changed(Fetched),
}

/// `fetch(url, { method, headers, signal, cache: "no-store" })`: the Cache API keeps the model,
/// so the HTTP cache must not answer for the server (a conditional request must reach it).
async fn fetch(
    url: &str,
    method: &str,
    headers: &[(&str, &str)],
    signal: &JsValue,
) -> Result<web_sys::Response, String> {
    let fetch: Function = get(&js_sys::global(), "fetch")
        .dyn_into()
        .map_err(|_| "this environment has no fetch()".to_string())?;
    let init = Object::new();
    let h = Object::new();
    for (k, v) in headers {
        Reflect::set(&h, &(*k).into(), &(*v).into()).map_err(|e| js_message(&e))?;
    }
    for (k, v) in [
        ("method", JsValue::from(method)),
        ("headers", h.into()),
        ("cache", "no-store".into()),
        ("signal", signal.clone()),
    ] {
        Reflect::set(&init, &k.into(), &v).map_err(|e| js_message(&e))?;
    }
    let promise: Promise = fetch
        .call2(&JsValue::NULL, &url.into(), &init)
        .map_err(|e| js_message(&e))?
        .unchecked_into();
    Ok(JsFuture::from(promise)
        .await
        .map_err(|e| js_message(&e))?
        .unchecked_into())
}

/// A response header, if the server sent it.
pub(super) fn header(resp: &web_sys::Response, name: &str) -> Option<String> {
    resp.headers().get(name).ok().flatten()
}

/// Streams `url` into memory, calling `on_progress(loaded, total)` as chunks arrive.
pub(super) async fn download(
    url: &str,
    on_progress: &JsValue,
    signal: &JsValue,
) -> Result<Fetched, String> {
    let resp = fetch(url, "GET", &[], signal).await?;
    if !resp.ok() {
        return Err(format!("HTTP {} {}", resp.status(), resp.status_text()));
    }
    body(resp, on_progress).await
}

/// Asks the server whether `url` still is the cached copy: a conditional GET when the copy has
/// validators (304: unchanged; 200: the new file, streamed), else a HEAD compared by length.
pub(super) async fn revalidate(
    url: &str,
    cached: &Fetched,
    on_progress: &JsValue,
    signal: &JsValue,
) -> Result<Revalidated, String> {
    let mut conditions = Vec::new();
    if let Some(e) = &cached.etag {
        conditions.push(("if-none-match", e.as_str()));
    }
    if let Some(m) = &cached.last_modified {
        conditions.push(("if-modified-since", m.as_str()));
    }
    if conditions.is_empty() {
        let resp = fetch(url, "HEAD", &[], signal).await?;
        if !resp.ok() {
            return Err(format!("HTTP {} {}", resp.status(), resp.status_text()));
        }
        let length = header(&resp, "content-length").and_then(|s| s.parse::<usize>().ok());
        return Ok(if length == Some(cached.bytes.len()) {
            Revalidated::Unchanged
        } else {
            Revalidated::Changed(download(url, on_progress, signal).await?)
        });
    }
    let resp = fetch(url, "GET", &conditions, signal).await?;
    match resp.status() {
        304 => Ok(Revalidated::Unchanged),
        _ if resp.ok() => Ok(Revalidated::Changed(body(resp, on_progress).await?)),
        _ => Err(format!("HTTP {} {}", resp.status(), resp.status_text())),
    }
}

/// The response's body, streamed, and its validators.
async fn body(resp: web_sys::Response, on_progress: &JsValue) -> Result<Fetched, String> {
    let etag = header(&resp, "etag");
    let last_modified = header(&resp, "last-modified");
    let total = header(&resp, "content-length")
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(0.0);
    let progress = on_progress.dyn_ref::<Function>();
    let report = |loaded: usize| {
        if let Some(f) = progress {
            // A throwing callback must not abort the download.
            let _ = f.call2(&JsValue::NULL, &(loaded as f64).into(), &total.into());
        }
    };
    let done = |bytes| Fetched {
        bytes,
        etag: etag.clone(),
        last_modified: last_modified.clone(),
    };
    let Some(body) = resp.body() else {
        let buf = JsFuture::from(resp.array_buffer().map_err(|e| js_message(&e))?)
            .await
            .map_err(|e| js_message(&e))?;
        let bytes = Uint8Array::new(&buf).to_vec();
        report(bytes.len());
        return Ok(done(bytes));
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
    Ok(done(bytes))
}
