#![cfg(all(feature = "wgpu", feature = "flex"))]
//! The WGSL kernels on burn's wgpu backend (Mesa lavapipe in CI) against the official
//! fixtures and against the tensor-op reference on the same device.

use crate::common::*;
use burn::backend::Autodiff;
use burn::tensor::{Device, Tensor, TensorData};
use vidt::TensorMap;
use vidt::launches::{Kernel, launches};
use vidt::ops::{VidtBackend, ms_deform_attn};

type W = vidt::backend::Gpu;

fn gpu() -> Device<W> {
    Default::default()
}

fn rand<const D: usize>(shape: [usize; D], seed: u64, lo: f32, hi: f32) -> Tensor<W, D> {
    let n = shape.iter().product();
    Tensor::from_data(
        TensorData::new(vidt::rng::Rng::new(seed).uniforms(n, lo, hi), shape),
        &gpu(),
    )
}

fn shapes(f: &TensorMap) -> Vec<(usize, usize)> {
    get(f, "spatial_shapes")
        .data
        .chunks(2)
        .map(|c| (c[0] as usize, c[1] as usize))
        .collect()
}

#[test]
fn msda_forward_kernel_matches_fixture() {
    let f = fixture("fixture_msda.safetensors");
    let dev = gpu();
    launched(Kernel::MsDeformAttn, 1, || {
        let out = W::ms_deform_attn(
            tensor(&f, "value", &dev),
            &shapes(&f),
            tensor(&f, "sampling_locations", &dev),
            tensor(&f, "attention_weights", &dev),
        );
        assert_close("kernel msda output", out.clone(), get(&f, "output"), 1e-5);
        assert_close(
            "kernel msda output vs f64",
            out,
            get(&f, "output_f64"),
            1e-5,
        );
    });
}

#[test]
fn msda_forward_kernel_matches_reference_on_random_cases() {
    // Odd level shapes, one and several levels, points well outside the maps.
    let cases: [(&[(usize, usize)], usize, usize, usize, usize); 3] = [
        (&[(13, 17), (7, 9), (4, 5), (2, 3)], 2, 37, 8, 4),
        (&[(5, 3)], 1, 11, 3, 2),
        (&[(31, 1), (1, 29), (6, 6)], 3, 5, 2, 3),
    ];
    for (i, (lv, n, lq, m, p)) in cases.into_iter().enumerate() {
        let s: usize = lv.iter().map(|(h, w)| h * w).sum();
        let (l, d) = (lv.len(), 32);
        let value = rand([n, s, m, d], 10 + i as u64, -2.0, 2.0);
        let loc = rand([n, lq, m, l, p, 2], 20 + i as u64, -0.3, 1.3);
        let w = rand([n, lq, m, l, p], 30 + i as u64, 0.0, 1.0);
        let diff = launched(Kernel::MsDeformAttn, 1, || {
            let kernel = W::ms_deform_attn(value.clone(), lv, loc.clone(), w.clone());
            max_abs_diff(kernel, ms_deform_attn::reference(value, lv, loc, w))
        });
        println!("case {i} ({lv:?}, N={n}, Lq={lq}, M={m}, P={p}): kernel vs reference {diff:.3e}");
        assert!(diff <= 1e-5, "case {i}: {diff}");
    }
}

/// EPFF's upsampling trains on wgpu: forward and gradient as burn's bilinear `interpolate` on
/// the CPU (burn 0.21's cubecl backends have no backward for `interpolate` itself).
#[test]
fn epff_upsampling_differentiates_on_wgpu() {
    crate::plus_model::check_epff_upsampling::<Autodiff<W>>("wgpu", &gpu());
}

#[test]
fn msda_backward_kernel_matches_fixture() {
    type A = Autodiff<W>;
    assert!(W::has_ms_deform_attn_backward());
    let f = fixture("fixture_msda.safetensors");
    let dev = gpu();
    let value: Tensor<A, 4> = tensor(&f, "value", &dev).require_grad();
    let loc: Tensor<A, 6> = tensor(&f, "sampling_locations", &dev).require_grad();
    let w: Tensor<A, 5> = tensor(&f, "attention_weights", &dev).require_grad();
    let out = A::ms_deform_attn(value.clone(), &shapes(&f), loc.clone(), w.clone());
    let go: Tensor<A, 3> = tensor(&f, "grad_output", &dev);
    // The backward kernel ran, not autodiff of the reference.
    launched(Kernel::MsDeformAttnBackward, 1, || {
        let grads = (out * go).sum().backward();
        assert_close(
            "kernel grad value",
            value.grad(&grads).unwrap(),
            get(&f, "grad_value"),
            1e-4,
        );
        assert_close(
            "kernel grad sampling_locations",
            loc.grad(&grads).unwrap(),
            get(&f, "grad_sampling_locations"),
            1e-4,
        );
        assert_close(
            "kernel grad attention_weights",
            w.grad(&grads).unwrap(),
            get(&f, "grad_attention_weights"),
            1e-4,
        );
    });
}

/// The whole model on `dev` (our kernels where the backend has them) against the fixture: the
/// GPU bounds (logits 1e-3, boxes 1e-4; a GPU sums in another order than the float32 CPU).
pub fn check_model_on<BB: VidtBackend>(name: &str, label: &str, dev: &Device<BB>) {
    let f = fixture(name);
    let w = checkpoint();
    let cfg = vidt::official::infer_config(&w).unwrap();
    let model = vidt::official::load::<BB>(&w, &cfg, dev).unwrap();
    let mask = mask_of(&f, "mask");
    let out = model
        .forward(tensor(&f, "input", dev), &mask, Default::default())
        .unwrap();
    assert_close(
        &format!("{name} {label} pred_logits"),
        out.pred_logits,
        get(&f, "pred_logits"),
        1e-3,
    );
    assert_close(
        &format!("{name} {label} pred_boxes"),
        out.pred_boxes,
        get(&f, "pred_boxes"),
        1e-4,
    );
    for (i, (l, b)) in out.aux.into_iter().enumerate() {
        assert_close(
            &format!("{name} {label} aux_{i}_pred_logits"),
            l,
            get(&f, &format!("aux_{i}_pred_logits")),
            1e-3,
        );
        assert_close(
            &format!("{name} {label} aux_{i}_pred_boxes"),
            b,
            get(&f, &format!("aux_{i}_pred_boxes")),
            1e-4,
        );
    }
}

/// The model on wgpu against the fixture, launching each of our kernels the nano forward uses
/// (the whole-model half of `--reference-ops`' contract: with the kernels, each one runs).
fn check_model(name: &str) {
    // Every kernel but the backward, which only training runs.
    let kernels: Vec<Kernel> = Kernel::ALL
        .into_iter()
        .filter(|&k| k != Kernel::MsDeformAttnBackward)
        .collect();
    let before: Vec<usize> = kernels.iter().map(|&k| launches(k)).collect();
    check_model_on::<W>(name, "wgpu", &gpu());
    for (k, b) in kernels.iter().zip(before) {
        assert!(launches(*k) > b, "{name}: the {k:?} kernel never ran");
    }
}

#[test]
fn model_on_wgpu_with_kernels_matches_fixture() {
    check_model("fixture_nano_perturbed.safetensors");
}

#[test]
fn model_on_wgpu_with_kernels_matches_odd_fixture() {
    check_model("fixture_nano_perturbed_odd.safetensors");
}

/// `vidt forward --device wgpu` keeps the CPU contract (same tensor names, same fixture).
#[test]
fn cli_forward_on_wgpu_matches_fixture() {
    let dir = std::env::temp_dir().join(format!("vidt-wgpu-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("out.safetensors");
    for reference in [false, true] {
        let mut cmd = forward_cmd(
            "wgpu",
            &fixture_path("vidt_nano_perturbed.pth"),
            &fixture_path("fixture_nano_perturbed.safetensors"),
            &out,
        );
        if reference {
            cmd.arg("--reference-ops");
        }
        let status = cmd.output().unwrap();
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        let ours = TensorMap::from_file(&out).unwrap();
        let f = fixture("fixture_nano_perturbed.safetensors");
        let label = format!("wgpu cli (reference ops: {reference})");
        assert_outputs_close(&label, &ours, &f, (1e-3, 1e-4));
    }
}

/// The ViDT+ nano on wgpu with our kernels against `fixture_plus_nano_perturbed` on every
/// level, at the GPU bounds (logits 1e-3, boxes 1e-4; vectors and IoU logits as logits).
#[test]
fn plus_model_on_wgpu_matches_fixture() {
    let f = fixture("fixture_plus_nano_perturbed.safetensors");
    let w = fixture("vidt_plus_nano_perturbed_f16.safetensors");
    let cfg = vidt::official::infer_config(&w).unwrap();
    assert!(cfg.plus);
    let dev = gpu();
    let model = vidt::official::load::<W>(&w, &cfg, &dev).unwrap();
    let out = model
        .forward(
            tensor(&f, "input", &dev),
            &mask_of(&f, "mask"),
            Default::default(),
        )
        .unwrap();
    let named = out.named();
    assert_eq!(named.len(), 28, "logits, boxes, vectors, IoUs of 7 levels");
    for (name, tensor) in named {
        let tol = if name.ends_with("boxes") { 1e-4 } else { 1e-3 };
        assert_close(&format!("ViDT+ wgpu {name}"), tensor, get(&f, &name), tol);
    }
}

/// `--reference-ops` switches every hot op: `vidt bench model` on wgpu counts the launches of
/// each WGSL kernel in one forward per mode (its own process: no other test adds to them). With
/// the reference, none; with the kernels, each of the six the nano forward uses.
#[test]
fn reference_ops_launch_none_of_our_kernels_and_the_kernels_each() {
    let out = run_ok(
        vidt()
            .args([
                "bench", "model", "--device", "wgpu", "--sizes", "96x128", "--runs", "1",
            ])
            .arg("--weights")
            .arg(fixture_path("vidt_nano_perturbed.pth")),
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let l = &v["results"][0]["wgsl_launches"];
    println!("WGSL launches per forward: {l}");
    let (reference, kernels) = (
        l["reference_ops"].as_object().unwrap(),
        l["kernels"].as_object().unwrap(),
    );
    assert_eq!(reference.len(), 7);
    for (k, n) in reference {
        assert_eq!(n.as_u64(), Some(0), "{k} launched under --reference-ops");
    }
    for k in [
        "LayerNorm",
        "Softmax",
        "GroupNorm",
        "Attention",
        "SwinWindowAttention",
        "MsDeformAttn",
    ] {
        assert!(
            kernels[k].as_u64().unwrap() > 0,
            "{k} never launched with the kernels"
        );
    }
}
