//! Model files by URL and by official name (`src/io/fetch.rs`), against a local HTTP server on
//! 127.0.0.1 (nothing here reaches the internet): a URL load and its offline reuse, a server
//! that announces more bytes than it sends, a 404, no network and no cache, and the official
//! names resolving to the official URLs (served from a seeded cache).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::{run_ok, scratch_in, vidt};
use vidt::io::fetch::{cache_file_name, official_url};

fn demo_model() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/demo.vidt")
}

/// Serves `/demo.vidt` (the demo model), `/short.vidt` (announces 1000 bytes more than it sends)
/// and 404 for the rest; returns the base URL and the request count.
fn server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let body = std::fs::read(demo_model()).unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            seen.fetch_add(1, Ordering::SeqCst);
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            if reader.read_line(&mut request).is_err() {
                continue;
            }
            // The headers, up to the blank line.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let path = request.split_whitespace().nth(1).unwrap_or("/").to_string();
            let (status, announced, sent): (&str, usize, &[u8]) = match path.as_str() {
                "/demo.vidt" => ("200 OK", body.len(), &body),
                "/short.vidt" => ("200 OK", body.len() + 1000, &body),
                _ => ("404 Not Found", 9, b"not found"),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\ncontent-length: {announced}\r\nconnection: close\r\n\r\n"
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(sent);
        }
    });
    (base, count)
}

/// `vidt info SPEC` with the cache in `cache`: (success, stdout, stderr).
fn info(spec: &str, cache: &Path) -> (bool, String, String) {
    let out = vidt()
        .args(["info", spec])
        .env("VIDT_CACHE", cache)
        .output()
        .unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (out.status.success(), text(out.stdout), text(out.stderr))
}

/// `vidt info`'s JSON without its `file` (where the model was read from).
fn report(json: &str) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(json).unwrap();
    v.as_object_mut().unwrap().remove("file");
    v
}

/// A cache folder of this process that does not exist yet.
fn empty_cache(name: &str) -> PathBuf {
    let cache = scratch_in("fetch", name);
    let _ = std::fs::remove_dir_all(&cache);
    cache
}

fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn a_url_is_downloaded_once_then_used_offline() {
    let cache = empty_cache("cache-url");
    let (base, count) = server();
    let url = format!("{base}/demo.vidt");
    let local = run_ok(vidt().args(["info", demo_model().to_str().unwrap()]));

    let (ok, out, err) = info(&url, &cache);
    assert!(ok, "vidt info URL failed: {err}");
    assert_eq!(
        report(&out),
        report(&local),
        "the downloaded model is the served file"
    );
    assert_eq!(count.load(Ordering::SeqCst), 1);
    assert_eq!(
        files(&cache),
        [cache_file_name(&url)],
        "one complete file in the cache"
    );
    assert_eq!(
        std::fs::read(cache.join(cache_file_name(&url))).unwrap(),
        std::fs::read(demo_model()).unwrap()
    );

    let (ok, out, err) = info(&url, &cache);
    assert!(ok, "{err}");
    assert_eq!(report(&out), report(&local));
    assert_eq!(
        count.load(Ordering::SeqCst),
        1,
        "the cached copy is used without the network"
    );
}

#[test]
fn a_short_download_or_a_404_is_an_error_and_leaves_nothing() {
    let cache = empty_cache("cache-bad");
    let (base, _) = server();

    let url = format!("{base}/short.vidt");
    let len = std::fs::metadata(demo_model()).unwrap().len();
    let (ok, _, err) = info(&url, &cache);
    assert!(!ok, "a short download must fail");
    assert!(err.contains(&format!("cannot download {url}")), "{err}");
    assert!(
        err.contains(&format!("ended after {} of {} bytes", len, len + 1000)),
        "says the body was cut: {err}"
    );
    assert_eq!(
        files(&cache),
        Vec::<String>::new(),
        "nothing left in the cache"
    );

    let url = format!("{base}/missing.vidt");
    let (ok, _, err) = info(&url, &cache);
    assert!(!ok);
    assert!(
        err.contains(&format!("cannot download {url}: HTTP 404")),
        "{err}"
    );
    assert_eq!(files(&cache), Vec::<String>::new());
}

#[test]
fn no_network_and_no_cache_names_the_url() {
    let cache = empty_cache("cache-offline");
    // A port nobody listens on.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/vidt_nano_50.pth");
    let (ok, _, err) = info(&url, &cache);
    assert!(!ok);
    assert!(err.contains(&format!("cannot download {url}")), "{err}");
    assert!(err.contains("no cached copy in"), "{err}");
}

#[test]
fn official_names_resolve_to_the_official_urls() {
    for size in ["nano", "tiny", "small", "base"] {
        for epochs in [50, 150] {
            let name = format!("vidt_{size}_{epochs}");
            assert_eq!(
                official_url(&name).as_deref(),
                Some(
                    format!(
                        "https://github.com/naver-ai/vidt/releases/download/v0.1-vidt/{name}.pth"
                    )
                    .as_str()
                )
            );
        }
    }
    assert_eq!(official_url("vidt_nano_51"), None);
    assert_eq!(official_url("vidt_pico_50"), None);

    // A name is looked up in the cache as its URL (seeded here: no internet in tests).
    let cache = empty_cache("cache-names");
    std::fs::create_dir_all(&cache).unwrap();
    let url = official_url("vidt_nano_50").unwrap();
    std::fs::copy(demo_model(), cache.join(cache_file_name(&url))).unwrap();
    let (ok, out, err) = info("vidt_nano_50", &cache);
    assert!(ok, "vidt info vidt_nano_50 from the cache: {err}");
    assert_eq!(
        report(&out),
        report(&run_ok(
            vidt().args(["info", demo_model().to_str().unwrap()])
        ))
    );
    // Not an official name: a path, and a missing one is named.
    let (ok, _, err) = info("vidt_nano_51", &cache);
    assert!(!ok);
    assert!(err.contains("vidt_nano_51"), "{err}");
}
