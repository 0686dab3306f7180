//! Shared test helpers: fixture loading (a missing fixture fails the test) and comparisons.
#![allow(dead_code)]

use std::path::PathBuf;

use burn::tensor::backend::Backend;
use burn::tensor::{Device, Tensor};
use vidt::PixelMask;
use vidt::{HostTensor, TensorMap};

/// The `vidt` binary of this build.
pub fn vidt() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_vidt"))
}

/// `vidt forward --device D --weights W --input IN --output OUT`; callers add their flags
/// (`--precision`, `--dec-layers`, ...) and run it.
pub fn forward_cmd(
    device: &str,
    weights: &std::path::Path,
    input: &std::path::Path,
    output: &std::path::Path,
) -> std::process::Command {
    let mut cmd = vidt();
    cmd.args(["forward", "--device", device, "--weights"])
        .arg(weights)
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(output);
    cmd
}

/// Runs `cmd`; fails the test with its stderr unless it succeeds. Returns its stdout.
pub fn run_ok(cmd: &mut std::process::Command) -> String {
    let out = cmd.output().expect("run vidt");
    assert!(
        out.status.success(),
        "vidt failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `name` in a scratch directory of this process (`tag` keeps test binaries apart).
pub fn scratch_in(tag: &str, name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vidt-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A fresh scratch directory `tag-PID` holding `data/`, a synthetic 64x64 dataset of `images`
/// images, and the path `run/` for a training run's output.
pub fn synthetic_run(
    tag: &str,
    images: usize,
    seed: u64,
) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let root = std::env::temp_dir().join(format!("{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (data, out) = (root.join("data"), root.join("run"));
    run_ok(
        vidt()
            .args(["synth", "--size", "64x64", "--images"])
            .arg(images.to_string())
            .arg("--seed")
            .arg(seed.to_string())
            .arg("--out")
            .arg(&data),
    );
    (root, data, out)
}

pub fn fixtures_dir() -> PathBuf {
    let dir = std::env::var("VIDT_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures"));
    assert!(
        dir.is_dir(),
        "fixture directory {} is missing (set VIDT_FIXTURES)",
        dir.display()
    );
    dir
}

pub fn fixture_path(name: &str) -> PathBuf {
    let p = fixtures_dir().join(name);
    assert!(p.is_file(), "fixture {} is missing", p.display());
    p
}

pub fn fixture(name: &str) -> TensorMap {
    TensorMap::from_file(fixture_path(name))
        .unwrap_or_else(|e| panic!("cannot read fixture {name}: {e}"))
}

pub fn checkpoint() -> TensorMap {
    fixture("vidt_nano_perturbed.pth")
}

/// The CPU reference backend the parity tests run on.
pub type B = vidt::backend::Cpu;
/// The same with autodiff.
pub type AB = burn::backend::Autodiff<B>;

pub fn cpu() -> Device<B> {
    Default::default()
}

pub fn get<'a>(f: &'a TensorMap, key: &str) -> &'a HostTensor {
    f.require(key).unwrap_or_else(|e| panic!("fixture: {e}"))
}

/// Fixture tensor `key` on `dev`.
pub fn tensor<BB: Backend, const D: usize>(
    f: &TensorMap,
    key: &str,
    dev: &Device<BB>,
) -> Tensor<BB, D> {
    get(f, key).to_tensor(dev)
}

/// Rows of `N` values.
pub fn rows<const N: usize>(t: &HostTensor) -> Vec<[f32; N]> {
    t.data
        .chunks(N)
        .map(|c| std::array::from_fn(|i| c[i]))
        .collect()
}

/// The fixture's targets of images `0..n`: `target_{b}_labels` and `target_{b}_boxes`
/// (normalized cxcywh), without masks.
pub fn fixture_targets(f: &TensorMap, n: usize) -> Vec<vidt::coco::Target> {
    (0..n)
        .map(|b| vidt::coco::Target {
            labels: get(f, &format!("target_{b}_labels"))
                .data
                .iter()
                .map(|&v| v as usize)
                .collect(),
            boxes: rows(get(f, &format!("target_{b}_boxes"))),
            masks: None,
        })
        .collect()
}

pub fn mask_of(f: &TensorMap, key: &str) -> PixelMask {
    let m = get(f, key);
    PixelMask::new(
        m.shape[0],
        m.shape[1],
        m.shape[2],
        m.data.iter().map(|&v| v as u8).collect(),
    )
}

pub fn values<BB: Backend, const D: usize>(t: Tensor<BB, D>) -> (Vec<usize>, Vec<f32>) {
    let dims = t.dims().to_vec();
    (dims, vidt::tensor_map::read(t).expect("read back"))
}

/// Max |a - b| of two tensors of one shape, each on its own backend.
pub fn max_abs_diff<B1: Backend, B2: Backend, const D: usize>(
    a: Tensor<B1, D>,
    b: Tensor<B2, D>,
) -> f32 {
    assert_eq!(a.dims(), b.dims());
    let ((_, a), (_, b)) = (values(a), values(b));
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Max |a - b|; panics on a shape mismatch.
pub fn max_diff(name: &str, ours: (&[usize], &[f32]), theirs: &HostTensor) -> f32 {
    assert_eq!(ours.0, theirs.shape.as_slice(), "{name}: shape");
    ours.1
        .iter()
        .zip(&theirs.data)
        .map(|(a, b)| {
            assert!(a.is_finite(), "{name}: non-finite value {a}");
            (a - b).abs()
        })
        .fold(0.0, f32::max)
}

pub fn max_abs(t: &HostTensor) -> f32 {
    t.data.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

/// Asserts `max|ours - fixture| <= tol` and prints the figure.
pub fn assert_close<BB: Backend, const D: usize>(
    name: &str,
    ours: Tensor<BB, D>,
    theirs: &HostTensor,
    tol: f32,
) -> f32 {
    let (dims, data) = values(ours);
    let d = max_diff(name, (&dims, &data), theirs);
    println!(
        "{name:<32} max|diff| = {d:.3e}  (max|ref| = {:.3e}, tol {tol:.0e})",
        max_abs(theirs)
    );
    assert!(d <= tol, "{name}: max |diff| {d:e} > {tol:e}");
    d
}

/// Asserts `|ours - fixture| <= tol * max(1, |fixture|)` elementwise (for values whose
/// magnitude makes an absolute f32 bound meaningless) and prints the figures.
pub fn assert_close_rel<BB: Backend, const D: usize>(
    name: &str,
    ours: Tensor<BB, D>,
    theirs: &HostTensor,
    tol: f32,
) -> f32 {
    let (dims, data) = values(ours);
    let abs = max_diff(name, (&dims, &data), theirs);
    let rel = data
        .iter()
        .zip(&theirs.data)
        .map(|(a, b)| (a - b).abs() / b.abs().max(1.0))
        .fold(0.0, f32::max);
    println!(
        "{name:<32} max|diff| = {abs:.3e}, max|diff|/max(1,|ref|) = {rel:.3e}  (max|ref| = {:.3e}, tol {tol:.0e} relative)",
        max_abs(theirs)
    );
    assert!(rel <= tol, "{name}: relative diff {rel:e} > {tol:e}");
    rel
}

/// Runs `f` and asserts it launched `kernel` at least `at_least` times: the WGSL kernel ran,
/// not its tensor-op fallback (which gives the same numbers). Other tests only add launches.
/// Fusion defers the launch until a result is read, so `f` reads its results.
#[cfg(feature = "wgpu")]
pub fn launched<T>(kernel: vidt::launches::Kernel, at_least: usize, f: impl FnOnce() -> T) -> T {
    let before = vidt::launches::launches(kernel);
    let out = f();
    let n = vidt::launches::launches(kernel) - before;
    assert!(
        n >= at_least,
        "{kernel:?}: {n} launches, expected at least {at_least}"
    );
    out
}

/// No clear top-10 detection lost: a (query, class) pair whose official logit leads the 11th
/// by more than twice `bound` (the logits' bound) cannot be overtaken within the bound, so it
/// must stay in `ours`' top 10, per image. Prints how many of the top 10 stayed.
pub fn assert_clear_top10_kept(label: &str, theirs: &HostTensor, ours: &HostTensor, bound: f32) {
    assert_eq!(theirs.shape, ours.shape, "{label}: pred_logits shape");
    let per_image = theirs.shape[1] * theirs.shape[2];
    let top = |v: &[f32]| {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&a, &b| v[b].total_cmp(&v[a]));
        idx
    };
    for (img, (t, o)) in theirs
        .data
        .chunks(per_image)
        .zip(ours.data.chunks(per_image))
        .enumerate()
    {
        let (rt, ro) = (top(t), top(o));
        let eleventh = t[rt[10]];
        let clear: Vec<usize> = rt[..10]
            .iter()
            .copied()
            .filter(|&i| t[i] - eleventh > 2.0 * bound)
            .collect();
        let kept = rt[..10].iter().filter(|i| ro[..10].contains(i)).count();
        println!(
            "image {img}: {label} keeps {kept} of the official top 10; {} of them clear (lead > {})",
            clear.len(),
            2.0 * bound
        );
        for i in clear {
            assert!(
                ro[..10].contains(&i),
                "image {img}: {label}: clear detection {i} lost"
            );
        }
    }
}

/// Every output of a `vidt forward` (`ours`: `pred_*` and 6 aux pairs) against the fixture `f`:
/// each `*logits` tensor within `logits`, the rest within `boxes`. Returns the largest logits
/// and boxes differences.
pub fn assert_outputs_close(
    label: &str,
    ours: &TensorMap,
    f: &TensorMap,
    (logits, boxes): (f32, f32),
) -> (f32, f32) {
    assert_eq!(ours.len(), 14, "{label}: pred_* and 6 aux pairs");
    let mut worst = (0.0f32, 0.0f32);
    for key in ours.keys() {
        let o = ours.require(key).unwrap();
        let d = max_diff(key, (&o.shape, &o.data), get(f, key));
        let (tol, w) = if key.ends_with("logits") {
            (logits, &mut worst.0)
        } else {
            (boxes, &mut worst.1)
        };
        println!("{label} {key}: max error {d:.4} against the official (bound {tol})");
        assert!(d <= tol, "{label} {key}: {d} > {tol}");
        *w = w.max(d);
    }
    worst
}
