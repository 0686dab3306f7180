//! Model files by URL and by official name (`src/io/fetch.rs`), against a local HTTP server on
//! 127.0.0.1 (nothing here reaches the internet): a URL load and its offline reuse, a server
//! that announces more bytes than it sends, a 404, no network and no cache, and the official
//! names resolving to the official URLs (served from a seeded cache), and every official
//! release's layout (ViDT, distilled, ViDT+, optimized ViDT+) by name from a local release
//! server (`VIDT_RELEASES`).

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use crate::common::{fixture_path, run_ok, scratch_in, vidt};
use vidt::io::fetch::{cache_file_name, official_url};

fn demo_model() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/demo.vidt")
}

/// Serves `/demo.vidt` (the demo model), `/short.vidt` (announces 1000 bytes more than it sends)
/// and 404 for the rest; returns the base URL and the request count.
fn server() -> (String, Arc<AtomicUsize>) {
    let body = std::fs::read(demo_model()).unwrap();
    let (base, count, _) = serve(vec![
        ("/demo.vidt".into(), body.len(), body.clone()),
        ("/short.vidt".into(), body.len() + 1000, body),
    ]);
    (base, count)
}

/// Serves each `(path, announced length, body)` of `routes`, 404 for the rest; returns the
/// base URL, the request count and the paths asked for.
fn serve(
    routes: Vec<(String, usize, Vec<u8>)>,
) -> (String, Arc<AtomicUsize>, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let asked = Arc::new(Mutex::new(Vec::new()));
    let log = asked.clone();
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
            log.lock().unwrap().push(path.clone());
            let (status, announced, sent): (&str, usize, &[u8]) =
                match routes.iter().find(|r| r.0 == path) {
                    Some((_, announced, body)) => ("200 OK", *announced, body),
                    None => ("404 Not Found", 9, b"not found"),
                };
            let head = format!(
                "HTTP/1.1 {status}\r\ncontent-length: {announced}\r\nconnection: close\r\n\r\n"
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(sent);
        }
    });
    (base, count, asked)
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

/// The ViDT+ fixture checkpoint cut to its first 3 decoder layers (and their 4 heads), as the
/// optimized ViDT+ releases drop decoding layers, written to a scratch safetensors file.
fn three_layer_plus() -> Vec<u8> {
    let mut w =
        vidt::TensorMap::from_file(fixture_path("vidt_plus_nano_perturbed_f16.safetensors"))
            .unwrap();
    let dropped = |k: &str| {
        (3..6).any(|i| k.contains(&format!("decoder.layers.{i}.")))
            || ["class_embed", "bbox_embed", "iou_embed", "vector_embed"]
                .iter()
                .any(|h| (4..7).any(|i| k.contains(&format!("{h}.{i}."))))
    };
    let keys: Vec<String> = w.keys().filter(|k| dropped(k)).map(String::from).collect();
    assert!(!keys.is_empty());
    for k in keys {
        w.remove(&k);
    }
    let file = scratch_in("fetch", "three_layers.safetensors");
    vidt::io::write_safetensors(&file, &w, vidt::tensor_map::Dtype::F16).unwrap();
    std::fs::read(file).unwrap()
}

/// Every official release's names resolve to their URLs under `VIDT_RELEASES` (a local server
/// here, with a small checkpoint in each release's layout at the official path), are downloaded
/// once into the cache, and load with the configuration the official evaluation commands use
/// (`vidt models`' `det_tokens` / `dec_layers`, where the README states them).
#[test]
fn every_official_release_resolves_by_name_from_a_release_server() {
    let cache = empty_cache("cache-releases");
    let vanilla = std::fs::read(fixture_path("vidt_nano_perturbed.pth")).unwrap();
    let plus = std::fs::read(fixture_path("vidt_plus_nano_perturbed_f16.safetensors")).unwrap();
    let optimized = three_layer_plus();
    let route = |p: &str, body: &Vec<u8>| (p.to_string(), body.len(), body.clone());
    let (base, _, asked) = serve(vec![
        route("/v0.1-vidt/vidt_nano_50.pth", &vanilla),
        route("/v0.1-vidt-distil/vidt_nano_50.pth", &vanilla),
        route("/v0.1-vidt-plus/vidt_plus_nano_det300.pth", &plus),
        route(
            "/v0.1-vidt-plus-optimized/vidt_plus_swin_nano_optimized.pth",
            &optimized,
        ),
    ]);
    // (name, path asked for, [DET] tokens, decoder layers, ViDT+)
    let cases = [
        ("vidt_nano_50", "/v0.1-vidt/vidt_nano_50.pth", 100, 6, false),
        (
            "vidt_nano_50_distil",
            "/v0.1-vidt-distil/vidt_nano_50.pth",
            100,
            6,
            false,
        ),
        (
            "vidt_plus_nano_det300",
            "/v0.1-vidt-plus/vidt_plus_nano_det300.pth",
            300,
            6,
            true,
        ),
        (
            "vidt_plus_swin_nano_optimized",
            "/v0.1-vidt-plus-optimized/vidt_plus_swin_nano_optimized.pth",
            300,
            3,
            true,
        ),
    ];
    let info_by_name = |name: &str| {
        vidt()
            .args(["info", name])
            .env("VIDT_CACHE", &cache)
            .env("VIDT_RELEASES", &base)
            .output()
            .unwrap()
    };
    for (name, path, tokens, layers, plus) in cases {
        let out = info_by_name(name);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "vidt info {name}: {err}");
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let c = &v["config"];
        assert_eq!(
            (
                c["det_tokens"].as_u64(),
                c["dec_layers"].as_u64(),
                c["plus"].as_bool()
            ),
            (Some(tokens), Some(layers), Some(plus)),
            "{name}: configuration inferred from the keys"
        );
        assert_eq!(
            asked.lock().unwrap().last().map(String::as_str),
            Some(path),
            "{name}"
        );
        // Where the README states the evaluation's settings, the keys give the same.
        let m = vidt::official::official_model(name).unwrap();
        assert_eq!(m.variant == "ViDT+", plus, "{name}");
        assert_eq!(m.det_tokens, Some(tokens as u32), "{name}");
        if let Some(l) = m.dec_layers {
            assert_eq!(l, layers as u32, "{name}");
        }
    }
    // Distilled and undistilled share a file name, not a URL: two cache entries.
    assert_eq!(files(&cache).len(), 4, "{:?}", files(&cache));
    let n = asked.lock().unwrap().len();
    assert!(
        info_by_name("vidt_nano_50_distil").status.success(),
        "from the cache"
    );
    assert_eq!(asked.lock().unwrap().len(), n, "the cached copy is used");
}

/// `vidt models` lists every official name with its README figures; `--json` gives the same
/// rows with their URLs; every name resolves.
#[test]
fn models_lists_every_official_checkpoint() {
    let text = run_ok(vidt().arg("models"));
    let json: serde_json::Value =
        serde_json::from_str(&run_ok(vidt().args(["models", "--json"]))).unwrap();
    let rows = json.as_array().unwrap();
    // 8 ViDT, 3 distilled, 4 ViDT+, 3 optimized ViDT+ (the READMEs' releases).
    assert_eq!(rows.len(), 18);
    for release in [
        "v0.1-vidt",
        "v0.1-vidt-distil",
        "v0.1-vidt-plus",
        "v0.1-vidt-plus-optimized",
    ] {
        assert!(rows.iter().any(|r| r["release"] == release), "{release}");
    }
    for r in rows {
        let name = r["name"].as_str().unwrap();
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{name} "))),
            "{name} in the table"
        );
        assert_eq!(r["url"].as_str(), official_url(name).as_deref(), "{name}");
        assert!(r["ap"].as_f64().unwrap() > 30.0, "{name}: AP as printed");
    }
    let nano = rows
        .iter()
        .find(|r| r["name"] == "vidt_plus_nano_det300")
        .unwrap();
    assert_eq!(
        nano["url"],
        "https://github.com/naver-ai/vidt/releases/download/v0.1-vidt-plus/vidt_plus_nano_det300.pth"
    );
    assert_eq!(
        (nano["ap"].as_f64(), nano["variant"].as_str()),
        (Some(45.3), Some("ViDT+"))
    );
}
