#![cfg(all(feature = "wgpu", feature = "flex"))]
//! The model in f16 on wgpu (`--precision f16`): lavapipe has `shaderFloat16`, so the f16 path
//! a GPU with `shader-f16` takes is tested here against the official outputs, at bounds of its
//! own (f32 keeps the GPU bounds, tests/it/kernels.rs).

use crate::common::*;
use vidt::TensorMap;

/// f16 against the official outputs (measured on this fixture: logits 0.046, boxes 0.0018;
/// f16 has 11 bits of mantissa, so ~1e-3 relative on every activation, through 12 Swin blocks
/// and 6 decoder layers).
const F16_LOGITS: f32 = 0.15;
const F16_BOXES: f32 = 0.01;

/// `vidt forward --precision f16` of the fixture on `device`.
fn f16_forward(device: &str, out: &std::path::Path) -> std::process::Command {
    let mut cmd = forward_cmd(
        device,
        &fixture_path("vidt_nano_perturbed.pth"),
        &fixture_path("fixture_nano_perturbed.safetensors"),
        out,
    );
    cmd.args(["--precision", "f16"]);
    cmd
}

/// `vidt forward --device wgpu --precision f16`: every output within the f16 bounds.
#[test]
fn f16_forward_on_wgpu_stays_near_the_official_outputs() {
    let out = scratch_in("f16", "f16.safetensors");
    run_ok(&mut f16_forward("wgpu", &out));
    let ours = TensorMap::from_file(&out).unwrap();
    let f = fixture("fixture_nano_perturbed.safetensors");
    let (logits, _) = assert_outputs_close("f16", &ours, &f, (F16_LOGITS, F16_BOXES));
    assert_clear_top10_kept(
        "f16",
        get(&f, "pred_logits"),
        ours.require("pred_logits").unwrap(),
        F16_LOGITS,
    );
    // f16 really ran: f32 on wgpu is within 1e-3 of the official (kernels.rs); f16 rounding
    // shows well above that.
    assert!(
        logits > 1e-3,
        "f16 logits within f32's bound ({logits}): did f16 run?"
    );
}

#[test]
fn f16_on_a_device_without_it_is_a_clear_error() {
    // flex (the CPU) does not compute in f16 here: the switch refuses rather than runs f32.
    let o = f16_forward("cpu", &scratch_in("f16", "cpu.safetensors"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    println!("{err}");
    assert!(
        !o.status.success() && err.contains("precision f16"),
        "{err}"
    );
}

/// In f16 our WGSL kernels run (their f16 variants: f16 storage, f32 arithmetic), not their
/// tensor-op references, and the odd-sized fixture (padded windows, odd merges) stays within
/// the f16 bounds.
#[test]
fn f16_model_runs_our_kernels_in_f16_on_the_odd_fixture() {
    use vidt::launches::{Kernel, launches};
    use vidt::model::precision::Precision;
    type W = vidt::backend::Gpu;
    let name = "fixture_nano_perturbed_odd.safetensors";
    let det = vidt::Detector::<W>::from_weights(checkpoint(), &Default::default())
        .unwrap()
        .with_precision(Precision::F16)
        .unwrap();
    assert_eq!(det.precision(), Precision::F16);
    let f = fixture(name);
    let inp = vidt::detect::ForwardInput::from_tensors(&f, name).unwrap();
    let kernels: Vec<Kernel> = Kernel::ALL
        .into_iter()
        .filter(|&k| k != Kernel::MsDeformAttnBackward)
        .collect();
    let before: Vec<usize> = kernels.iter().map(|&k| launches(k)).collect();
    let out = det.forward(&inp.data, inp.shape, &inp.mask, None).unwrap();
    assert_eq!(
        out.pred_logits.dtype(),
        burn::tensor::DType::F16,
        "the outputs are f16"
    );
    for (k, b) in kernels.iter().zip(before) {
        assert!(launches(*k) > b, "f16: the {k:?} kernel never ran");
    }
    let logits = assert_close(
        &format!("{name} f16 pred_logits"),
        out.pred_logits,
        get(&f, "pred_logits"),
        F16_LOGITS,
    );
    assert_close(
        &format!("{name} f16 pred_boxes"),
        out.pred_boxes,
        get(&f, "pred_boxes"),
        F16_BOXES,
    );
    assert!(
        logits > 1e-3,
        "f16 logits within f32's bound ({logits}): did f16 run?"
    );
}
