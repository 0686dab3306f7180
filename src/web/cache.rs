//! Model files kept across page loads in the Cache API (`fromUrl`'s `cache` option), with the
//! server's validators (ETag, Last-Modified) so the caller can ask whether the file changed.
//! The cache only stores; whether a cached copy is still good is decided by the caller
//! (`.vidt` files carry a checksum), which deletes a bad entry and downloads again.

use js_sys::{Function, Promise, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::download::{Fetched, header};
use super::{console_warn, get, js_message};

/// The cache named by the `cache` load option: `true` is "vidt-models", a string names its own.
pub(super) fn cache_name(options: &JsValue) -> Result<Option<String>, JsError> {
    let v = get(options, "cache");
    if v.is_undefined() || v.is_null() || v == JsValue::FALSE {
        Ok(None)
    } else if v == JsValue::TRUE {
        Ok(Some("vidt-models".into()))
    } else {
        match v.as_string() {
            Some(s) if !s.is_empty() => Ok(Some(s)),
            _ => Err(JsError::new(
                "bad load options: cache must be true, false or a cache name (a non-empty string)",
            )),
        }
    }
}

async fn call(obj: &JsValue, method: &str, args: &[&JsValue]) -> Result<JsValue, String> {
    let f: Function = get(obj, method)
        .dyn_into()
        .map_err(|_| format!("the Cache API has no {method}()"))?;
    let array: js_sys::Array = args.iter().copied().collect();
    let p = f.apply(obj, &array).map_err(|e| js_message(&e))?;
    JsFuture::from(p.unchecked_into::<Promise>())
        .await
        .map_err(|e| js_message(&e))
}

/// A named cache; `None` where the Cache API is missing (an insecure context), so the model is
/// just downloaded.
pub(super) struct ModelCache(JsValue);

impl ModelCache {
    pub(super) async fn open(name: &str) -> Option<Self> {
        let caches = get(&js_sys::global(), "caches");
        if caches.is_undefined() || caches.is_null() {
            console_warn(
                "vidt: the Cache API is not available here (an insecure context?): the model is \
                 not cached",
            );
            return None;
        }
        match call(&caches, "open", &[&name.into()]).await {
            Ok(c) => Some(Self(c)),
            Err(e) => {
                console_warn(&format!("vidt: cannot open cache {name}: {e}"));
                None
            }
        }
    }

    /// The cached copy of `url`, if any, with its validators.
    pub(super) async fn get(&self, url: &str) -> Option<Fetched> {
        let resp = call(&self.0, "match", &[&url.into()]).await.ok()?;
        let resp = resp.dyn_into::<web_sys::Response>().ok()?;
        let (etag, last_modified) = (header(&resp, "etag"), header(&resp, "last-modified"));
        let buf = JsFuture::from(resp.array_buffer().ok()?).await.ok()?;
        Some(Fetched {
            bytes: Uint8Array::new(&buf).to_vec(),
            etag,
            last_modified,
        })
    }

    /// Stores `file` as `url`'s; a full quota only costs the next load a download.
    pub(super) async fn put(&self, url: &str, file: &Fetched) {
        let stored = match response(file) {
            Ok(resp) => call(&self.0, "put", &[&url.into(), &resp]).await.map(drop),
            Err(e) => Err(js_message(&e)),
        };
        if let Err(e) = stored {
            console_warn(&format!("vidt: cannot cache {url}: {e}"));
        }
    }

    pub(super) async fn delete(&self, url: &str) {
        let _ = call(&self.0, "delete", &[&url.into()]).await;
    }
}

/// `new Response(bytes, { headers })` with the validators to revalidate it by.
fn response(file: &Fetched) -> Result<web_sys::Response, JsValue> {
    let headers = web_sys::Headers::new()?;
    for (k, v) in [("etag", &file.etag), ("last-modified", &file.last_modified)] {
        if let Some(v) = v {
            headers.set(k, v)?;
        }
    }
    let init = web_sys::ResponseInit::new();
    init.set_headers(&headers);
    web_sys::Response::new_with_opt_buffer_source_and_init(
        Some(&Uint8Array::from(file.bytes.as_slice())),
        &init,
    )
}
