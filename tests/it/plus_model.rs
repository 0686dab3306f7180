#![cfg(feature = "flex")]
//! ViDT+ forward parity on the CPU backend against the official implementation
//! (`fixture_plus_nano_perturbed` from `vidt_plus_nano_perturbed_f16`): the configuration
//! inferred from the checkpoint's keys, the EPFF outputs level by level, the token-labeling
//! logits, then logits, boxes, UQR vectors and IoU logits of every level.

use crate::common::*;
use vidt::model::{ForwardOptions, Vidt};

const CHECKPOINT: &str = "vidt_plus_nano_perturbed_f16.safetensors";
const FIXTURE: &str = "fixture_plus_nano_perturbed.safetensors";
/// The bounds for the final outputs (float32 reference on CPU).
const TOL_LOGITS: f32 = 1e-4;
const TOL_BOXES: f32 = 1e-5;
const TOL_VECTORS: f32 = 1e-4;
const TOL_IOUS: f32 = 1e-4;
/// Intermediates, relative to the tensor's magnitude (as the vanilla parity test).
const TOL_REL: f32 = 2e-5;

fn model() -> (Vidt<B>, burn::tensor::Device<B>) {
    let w = fixture(CHECKPOINT);
    let cfg = vidt::official::infer_config(&w).expect("config");
    assert!(cfg.plus, "the ViDT+ checkpoint is not recognised as ViDT+");
    assert_eq!(cfg.det_tokens, 300);
    assert_eq!(cfg.preset.as_deref(), Some("swin_nano"));
    assert_eq!(vidt::official::parameter_count(&cfg), 17_822_727);
    let dev = cpu();
    (vidt::official::load(&w, &cfg, &dev).expect("load"), dev)
}

#[test]
fn plus_nano_matches_the_reference_level_by_level() {
    let f = fixture(FIXTURE);
    let (m, dev) = model();
    let x = tensor(&f, "input", &dev);
    let mask = mask_of(&f, "mask");
    let opts = ForwardOptions {
        keep_intermediates: true,
        ..Default::default()
    };
    let nk = m.forward_traced(x, &mask, opts).expect("forward").neck;
    let b = mask.batch;

    assert_eq!(nk.srcs.len(), 4);
    for (l, (src, &(h, w))) in nk.srcs.iter().zip(&nk.shapes).enumerate() {
        let r = get(&f, &format!("neck_src_{l}"));
        let c = src.dims()[2];
        assert_close(
            &format!("neck_src_{l} (EPFF)"),
            src.clone().swap_dims(1, 2).reshape([b, c, h, w]),
            r,
            TOL_REL * max_abs(r).max(1.0),
        );
    }
    assert_eq!(nk.token_logits.len(), 4);
    for (l, (t, &(h, w))) in nk.token_logits.iter().zip(&nk.shapes).enumerate() {
        let r = get(&f, &format!("token_logits_{l}"));
        let c = t.dims()[2];
        assert_close(
            &format!("token_logits_{l}"),
            t.clone().reshape([b, h, w, c]),
            r,
            TOL_REL * max_abs(r).max(1.0),
        );
    }

    let levels = nk.logits.len();
    assert_eq!(levels, 7);
    assert_eq!((nk.vectors.len(), nk.ious.len()), (7, 7));
    for i in 0..levels {
        let name = |what: &str| {
            if i == levels - 1 {
                format!("pred_{what}")
            } else {
                format!("aux_{i}_pred_{what}")
            }
        };
        let checks = [
            ("logits", &nk.logits[i], TOL_LOGITS),
            ("boxes", &nk.boxes[i], TOL_BOXES),
            ("vectors", &nk.vectors[i], TOL_VECTORS),
            ("ious", &nk.ious[i], TOL_IOUS),
        ];
        for (what, t, tol) in checks {
            let key = name(what);
            assert_close(&key, t.clone(), get(&f, &key), tol);
        }
    }
}

/// `named()` (what `vidt forward` writes) carries the ViDT+ outputs under the fixture's names.
#[test]
fn plus_outputs_are_named_as_the_fixture() {
    let f = fixture(FIXTURE);
    let (m, dev) = model();
    let x = tensor(&f, "input", &dev);
    let out = m
        .forward(x, &mask_of(&f, "mask"), ForwardOptions::default())
        .expect("forward");
    let named = out.named();
    assert_eq!(named.len(), 28);
    for (name, t) in named {
        assert_close(&format!("named {name}"), t, get(&f, &name), TOL_LOGITS);
    }
}

/// `vidt info` on the ViDT+ checkpoint: recognised, every key known, the official count.
#[test]
fn info_knows_every_plus_key() {
    let stdout = run_ok(vidt().arg("info").arg(fixture_path(CHECKPOINT)));
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(v["config"]["plus"], true);
    assert_eq!(v["config"]["det_tokens"], 300);
    assert_eq!(v["parameters"], 17_822_727);
    assert_eq!(v["parameters_in_file"], 17_822_727);
    assert_eq!(v["keys"], 631);
    assert_eq!(v["unknown_keys"].as_array().unwrap().len(), 0);
}

/// Decoder-layer drop on ViDT+: a model file exported with `--dec-layers 4` (f16, the
/// checkpoint's own precision) runs four layers, and its outputs are the full model's level 4
/// (logits, boxes, vectors, IoU logits) with the lower levels as they were.
#[test]
fn plus_model_file_with_four_decoder_layers_equals_level_4() {
    let dir = scratch_in("plus-k4", "");
    let file = dir.join("plus4.vidt");
    let out = dir.join("out.safetensors");
    run_ok(
        vidt()
            .args(["export", "--dtype", "f16", "--dec-layers", "4", "--weights"])
            .arg(fixture_path(CHECKPOINT))
            .arg("--out")
            .arg(&file),
    );
    run_ok(&mut forward_cmd("cpu", &file, &fixture_path(FIXTURE), &out));
    let f = fixture(FIXTURE);
    let ours = vidt::TensorMap::from_file(&out).unwrap();
    assert_eq!(ours.len(), 4 * 5, "final + 4 aux levels of 4 outputs");
    for what in ["logits", "boxes", "vectors", "ious"] {
        let tol = if what == "boxes" {
            TOL_BOXES
        } else {
            TOL_LOGITS
        };
        // Ours under its name, the full model's tensor it must equal.
        let mut pairs = vec![(format!("pred_{what}"), format!("aux_4_pred_{what}"))];
        pairs.extend((0..4).map(|i| {
            let n = format!("aux_{i}_pred_{what}");
            (n.clone(), n)
        }));
        for (name, reference) in pairs {
            let o = ours.require(&name).unwrap();
            let d = max_diff(&name, (&o.shape, &o.data), get(&f, &reference));
            assert!(d <= tol, "{name} vs {reference}: {d}");
        }
    }
}

/// EPFF's upsampling (interpolation-matrix matmuls on the tokens) against burn's own bilinear
/// `interpolate` (corners aligned) on the CPU, forward and gradient, for the size pairs the
/// pyramid makes (doubling, odd sizes, a single row); `BB` is the backend under test.
pub fn check_epff_upsampling<BB>(label: &str, dev: &burn::tensor::Device<BB>)
where
    BB: burn::tensor::backend::AutodiffBackend + vidt::ops::VidtBackend,
{
    use burn::tensor::module::interpolate;
    use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
    use burn::tensor::{Tensor, TensorData};
    let (b, c) = (2, 6);
    for (i, &((h, w), (oh, ow))) in [
        ((5, 5), (10, 10)),
        ((3, 4), (5, 7)),
        ((1, 2), (2, 3)),
        ((7, 3), (13, 6)),
        ((4, 4), (4, 4)),
    ]
    .iter()
    .enumerate()
    {
        let mut rng = vidt::rng::Rng::new(40 + i as u64);
        let x = rng.uniforms(b * h * w * c, -1.0, 1.0);
        let g = rng.uniforms(b * oh * ow * c, -1.0, 1.0);
        // Ours on `BB`, in token layout.
        let xt: Tensor<BB, 3> =
            Tensor::<BB, 3>::from_data(TensorData::new(x.clone(), [b, h * w, c]), dev)
                .require_grad();
        let gt = Tensor::<BB, 3>::from_data(TensorData::new(g.clone(), [b, oh * ow, c]), dev);
        let ours = vidt::model::epff::upsample_aligned(xt.clone(), (h, w), (oh, ow));
        let grads = (ours.clone() * gt).sum().backward();
        let ours_grad = xt.grad(&grads).unwrap();
        // burn's interpolate on the CPU, in map layout.
        let dc = cpu();
        let xm = Tensor::<AB, 4>::from_data(TensorData::new(x, [b, h, w, c]), &dc)
            .permute([0, 3, 1, 2])
            .require_grad();
        let gm = Tensor::<AB, 4>::from_data(TensorData::new(g, [b, oh, ow, c]), &dc)
            .permute([0, 3, 1, 2]);
        let theirs = interpolate(
            xm.clone(),
            [oh, ow],
            InterpolateOptions::new(InterpolateMode::Bilinear).with_align_corners(true),
        );
        let grads = (theirs.clone() * gm).sum().backward();
        let theirs_grad = xm.grad(&grads).unwrap().permute([0, 2, 3, 1]);
        let fwd = max_abs_diff(ours, theirs.permute([0, 2, 3, 1]).reshape([b, oh * ow, c]));
        let bwd = max_abs_diff(ours_grad, theirs_grad.reshape([b, h * w, c]));
        println!("{label} upsample {h}x{w} -> {oh}x{ow}: forward {fwd:.2e}, gradient {bwd:.2e}");
        assert!(
            fwd <= 1e-6 && bwd <= 1e-5,
            "{label} {h}x{w} -> {oh}x{ow}: {fwd} {bwd}"
        );
    }
}

#[test]
fn epff_upsampling_equals_bilinear_interpolate() {
    check_epff_upsampling::<AB>("cpu", &cpu());
}
