//! The library's layout: dependencies between `src/` modules run one way, and no files import
//! each other in a circle. Read from the source text: every `crate::` and `super::` path
//! (in `use` items and inline) is resolved to the file of the module it names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Top-level modules from the bottom up: a module may use those before it, never after.
const FLOORS: &[&[&str]] = &[
    &["error"],
    &["config", "defaults", "tensor_map", "rng", "boxes", "rle"],
    &["backend"],
    &["ops"],
    &["kernels", "cpu"],
    &["model"],
    &["official"],
    &["io"],
    &["detect"],
    &["coco"],
    &["train"],
    &["bench"],
    &["web"],
];

fn floor(top: &str) -> usize {
    FLOORS
        .iter()
        .position(|f| f.contains(&top))
        .unwrap_or_else(|| panic!("top-level module `{top}` is not in FLOORS"))
}

/// Module path of every library file (`src/bin` is the CLI, not the library).
fn modules(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if p.file_name().unwrap() != "bin" {
                    stack.push(p);
                }
                continue;
            }
            if p.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let rel = p.strip_prefix(src).unwrap();
            let mut parts: Vec<String> = rel
                .iter()
                .map(|c| c.to_string_lossy().trim_end_matches(".rs").to_string())
                .collect();
            if parts.last().is_some_and(|l| l == "mod" || l == "lib") {
                parts.pop();
            }
            out.insert(parts, p);
        }
    }
    out
}

/// The text without comments, string literals and the unit-test module at the end (so paths in
/// docs do not count, and a test module's `super` is not taken for the file's).
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]").next().unwrap_or("");
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            while i < b.len() && !b[i..].starts_with(b"*/") {
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
}

fn ident_at(s: &[u8], mut i: usize) -> (String, usize) {
    let start = i;
    while i < s.len() && (s[i].is_ascii_alphanumeric() || s[i] == b'_') {
        i += 1;
    }
    (String::from_utf8_lossy(&s[start..i]).to_string(), i)
}

/// Every path after `crate::` / `super::` (braces expanded one level), with its root module
/// path resolved against `here` (the module of the file).
fn references(code: &str, here: &[String]) -> Vec<Vec<String>> {
    let s = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < s.len() {
        let boundary = i == 0 || !(s[i - 1].is_ascii_alphanumeric() || s[i - 1] == b'_');
        let (word, end) = ident_at(s, i);
        if word.is_empty() {
            i += 1;
            continue;
        }
        if !boundary || (word != "crate" && word != "super") || !s[end..].starts_with(b"::") {
            i = end;
            continue;
        }
        // The module the path starts from.
        // `super` is the parent of the file's module (for a mod.rs too: the directory's parent).
        let mut base: Vec<String> = if word == "crate" {
            vec![]
        } else {
            here[..here.len().saturating_sub(1)].to_vec()
        };
        let mut j = end;
        let mut segs = Vec::new();
        while s[j..].starts_with(b"::") {
            j += 2;
            if s.get(j) == Some(&b'{') {
                break;
            }
            let (seg, e) = ident_at(s, j);
            if seg == "super" {
                base.pop();
            } else if !seg.is_empty() {
                segs.push(seg);
            }
            j = e;
        }
        let mut prefix = base.clone();
        prefix.extend(segs);
        if s.get(j) == Some(&b'{') {
            // One level of `{a, b::c, d::{..}}`: each item's leading path.
            let mut depth = 0;
            let mut item = String::new();
            let mut items = Vec::new();
            j += 1;
            while j < s.len() {
                match s[j] {
                    b'{' => depth += 1,
                    b'}' if depth == 0 => break,
                    b'}' => depth -= 1,
                    b',' if depth == 0 => items.push(std::mem::take(&mut item)),
                    c if depth == 0 => item.push(c as char),
                    _ => {}
                }
                j += 1;
            }
            items.push(item);
            for it in items {
                let mut p = prefix.clone();
                p.extend(
                    it.trim()
                        .split("::")
                        .map(|x| x.trim().to_string())
                        .filter(|x| !x.is_empty() && x != "self" && x != "*"),
                );
                out.push(p);
            }
        } else {
            out.push(prefix);
        }
        i = j.max(end);
    }
    out
}

#[test]
fn dependencies_run_one_way_and_never_in_a_circle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mods = modules(&src);
    let mut edges: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (m, file) in &mods {
        let text = code(&std::fs::read_to_string(file).unwrap());
        for path in references(&text, m) {
            // The deepest module the path names (the rest is an item in it).
            let mut target = path.clone();
            while !mods.contains_key(&target) {
                target.pop();
            }
            if &target == m {
                continue;
            }
            if target.is_empty() {
                problems.push(format!(
                    "{}: `crate::{}` goes through the crate root; name the defining module",
                    file.display(),
                    path.join("::")
                ));
                continue;
            }
            if !m.is_empty() && target[0] != m[0] && floor(&target[0]) >= floor(&m[0]) {
                problems.push(format!(
                    "{}: `{}` uses `{}`, which is not below it",
                    file.display(),
                    m[0],
                    path.join("::")
                ));
            }
            edges.entry(m.clone()).or_default().insert(target);
        }
    }
    // Circles: a depth-first search that meets a file still on its stack.
    fn visit(
        m: &Vec<String>,
        edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        state: &mut BTreeMap<Vec<String>, u8>,
        stack: &mut Vec<Vec<String>>,
        circles: &mut Vec<String>,
    ) {
        state.insert(m.clone(), 1);
        stack.push(m.clone());
        for t in edges.get(m).into_iter().flatten() {
            match state.get(t).copied().unwrap_or(0) {
                0 => visit(t, edges, state, stack, circles),
                1 => {
                    let from = stack.iter().position(|s| s == t).unwrap();
                    let names: Vec<String> = stack[from..].iter().map(|s| s.join("::")).collect();
                    circles.push(format!("{} -> {}", names.join(" -> "), t.join("::")));
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(m.clone(), 2);
    }
    let mut state = BTreeMap::new();
    let mut circles = Vec::new();
    for m in mods.keys() {
        if state.get(m).copied().unwrap_or(0) == 0 {
            visit(m, &edges, &mut state, &mut Vec::new(), &mut circles);
        }
    }
    let n_edges: usize = edges.values().map(BTreeSet::len).sum();
    println!(
        "{} library files, {n_edges} file-to-file imports",
        mods.len()
    );
    problems.extend(circles.into_iter().map(|c| format!("circle: {c}")));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_checker_sees_a_circle_and_an_upward_import() {
    // The same scanner on made-up files: it must resolve `super::` and braces, or the test
    // above could pass by seeing nothing.
    let refs = references(
        &code("use super::keys::{table, Kind};\nfn f() { crate::io::write(); } // crate::x"),
        &["official".into(), "load".into()],
    );
    assert_eq!(
        refs,
        vec![
            vec!["official".to_string(), "keys".into(), "table".into()],
            vec!["official".to_string(), "keys".into(), "Kind".into()],
            vec!["io".to_string(), "write".into()],
        ]
    );
    assert!(floor("io") > floor("official"));
}

/// The hot ops `--reference-ops` switches (`vidt::ops::with_ops`): the model and the detector
/// call each through its `crate::ops` dispatcher, never as the backend's method (`B::op`),
/// which would run the backend's own whatever the switch says.
const HOT_OPS: &[&str] = &[
    "ms_deform_attn",
    "ms_deform_attn_projected",
    "attention_heads",
    "attention_heads_packed",
    "swin_window_attention",
    "linear_last",
    "layer_norm_last",
    "gelu_tokens",
    "softmax_last",
    "group_norm_tokens",
];

/// `B::op(` calls of a hot op in `code` (after [`code`] stripped comments and strings).
fn direct_hot_op_calls(code: &str) -> Vec<String> {
    HOT_OPS
        .iter()
        .filter(|op| {
            code.match_indices(&format!("::{op}("))
                .any(|(i, _)| code[..i].ends_with('B') || code[..i].ends_with("Self"))
        })
        .map(|op| op.to_string())
        .collect()
}

#[test]
fn the_model_calls_every_hot_op_through_the_switch() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut problems = Vec::new();
    for (m, file) in modules(&src) {
        // `ops` defines the dispatchers; the backends and their bench/fusion wiring implement
        // or time the methods themselves.
        if !matches!(
            m.first().map(String::as_str),
            Some("model" | "detect" | "train")
        ) {
            continue;
        }
        for op in direct_hot_op_calls(&code(&std::fs::read_to_string(&file).unwrap())) {
            problems.push(format!(
                "{}: B::{op}( bypasses --reference-ops",
                file.display()
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    // The checker sees one.
    assert_eq!(
        direct_hot_op_calls("let y = B::softmax_last(x); let z = crate::ops::gelu_tokens::<B>(y);"),
        ["softmax_last"]
    );
}
