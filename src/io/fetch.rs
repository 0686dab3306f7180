//! Model files by URL or by official name, downloaded once into a cache: everywhere a model
//! file is taken (`--weights`, `--init`, `--teacher`, `vidt export`, `vidt info`), a local path,
//! an `http(s)://` URL or an official name (`vidt_nano_50`, `vidt_plus_nano_det300`, ...: every
//! checkpoint of [`crate::official::zoo`]) is accepted.
//!
//! The cache is `VIDT_CACHE` (default `~/.cache/vidt`); a cached file is used without the
//! network. A download goes to a temporary file renamed only when complete, so an interrupted
//! or short one (fewer bytes than announced) leaves nothing behind. `VIDT_RELEASES` replaces the
//! official releases' download root for names (tests serve the releases from 127.0.0.1).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Result, VidtError};

/// The URL of an official checkpoint name (`vidt_nano_50`, `vidt_nano_50_distil`,
/// `vidt_plus_nano_det300`, ...; `vidt models` lists them), under `VIDT_RELEASES` when set.
pub fn official_url(name: &str) -> Option<String> {
    crate::official::official_model(name).map(|m| m.url_under(releases_base().as_deref()))
}

/// `VIDT_RELEASES`, the download root that replaces the official releases' when set.
pub fn releases_base() -> Option<String> {
    std::env::var("VIDT_RELEASES")
        .ok()
        .filter(|b| !b.is_empty())
}

fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// Where downloads are kept: `VIDT_CACHE`, else `~/.cache/vidt`.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("VIDT_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache/vidt")
}

/// The cache file of `url` (in [`cache_dir`]).
pub fn cached_path(url: &str) -> PathBuf {
    cache_dir().join(cache_file_name(url))
}

/// `url`'s last path segment, prefixed by a hash of the whole URL (two URLs with the same file
/// name do not collide).
pub fn cache_file_name(url: &str) -> String {
    let base = url
        .split(['?', '#'])
        .next()
        .unwrap_or(url)
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
        .unwrap_or("download");
    let safe: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{:08x}-{safe}", crc32fast::hash(url.as_bytes()))
}

/// A model file argument as a local path: an existing path as given; an official name or an
/// `http(s)://` URL as its cached download (fetched first when not cached yet).
pub fn resolve(spec: &Path) -> Result<PathBuf> {
    let Some(s) = spec.to_str() else {
        return Ok(spec.to_path_buf());
    };
    if is_url(s) {
        return fetch(s);
    }
    if !spec.exists() {
        if let Some(url) = official_url(s) {
            return fetch(&url);
        }
    }
    Ok(spec.to_path_buf())
}

/// The cached copy of `url`, downloaded when missing.
pub fn fetch(url: &str) -> Result<PathBuf> {
    let path = cached_path(url);
    if path.is_file() {
        return Ok(path);
    }
    let dir = cache_dir();
    std::fs::create_dir_all(&dir).map_err(|e| VidtError::Io {
        path: dir.clone(),
        reason: format!("cannot create the download cache: {e}"),
    })?;
    let tmp = dir.join(format!(
        ".{}.part-{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("download"),
        std::process::id()
    ));
    let done = download(url, &tmp).and_then(|()| {
        std::fs::rename(&tmp, &path).map_err(|e| VidtError::Io {
            path: path.clone(),
            reason: format!("cannot move the download into the cache: {e}"),
        })
    });
    if done.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    done.map(|()| path)
}

fn download(url: &str, to: &Path) -> Result<()> {
    let err = |reason: String| VidtError::Download {
        url: url.to_string(),
        reason,
    };
    let mut resp = ureq::get(url).call().map_err(|e| match e {
        ureq::Error::StatusCode(code) => err(format!("HTTP {code}")),
        e => err(format!(
            "{e} (no cached copy in {}; VIDT_CACHE sets the folder)",
            cache_dir().display()
        )),
    })?;
    let total: Option<u64> = resp
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let bar = progress_bar(url, total);
    let mut file = std::fs::File::create(to).map_err(|e| VidtError::Io {
        path: to.to_path_buf(),
        reason: e.to_string(),
    })?;
    // No size limit: checkpoints are hundreds of MB (ureq's default caps bodies at 10 MB).
    let mut body = resp.body_mut().with_config().limit(u64::MAX).reader();
    let mut buf = vec![0u8; 1 << 16];
    let mut received = 0u64;
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) => {
                let of = total.map_or(String::new(), |t| format!(" of {t}"));
                return Err(err(format!(
                    "the download ended after {received}{of} bytes ({e})"
                )));
            }
        };
        file.write_all(&buf[..n]).map_err(|e| VidtError::Io {
            path: to.to_path_buf(),
            reason: e.to_string(),
        })?;
        received += n as u64;
        if let Some(b) = &bar {
            b.set_position(received);
        }
    }
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let Some(total) = total.filter(|t| received != *t) {
        return Err(err(format!(
            "the download ended after {received} of {total} bytes"
        )));
    }
    file.sync_all().map_err(|e| VidtError::Io {
        path: to.to_path_buf(),
        reason: e.to_string(),
    })?;
    eprintln!(
        "downloaded {url} ({received} bytes) into {}",
        to.parent().unwrap_or(to).display()
    );
    Ok(())
}

/// A progress bar on a terminal (none in logs and pipes).
fn progress_bar(url: &str, total: Option<u64>) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = total.map_or_else(
        indicatif::ProgressBar::new_spinner,
        indicatif::ProgressBar::new,
    );
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_message(url.rsplit('/').next().unwrap_or(url).to_string());
    Some(bar)
}
