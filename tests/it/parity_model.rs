#![cfg(feature = "flex")]
//! Whole-model parity on the CPU backend against the official implementation's outputs
//! (`fixture_nano_perturbed*`), stage by stage, then the final and auxiliary outputs.

use crate::common::*;
use burn::tensor::Tensor;
use vidt::model::{ForwardOptions, Vidt};

/// Final outputs: the bounds the issue sets (float32 reference on CPU).
const TOL_LOGITS: f32 = 1e-4;
const TOL_BOXES: f32 = 1e-5;
/// Intermediates: relative to the tensor's magnitude (stage outputs reach ~10^2).
const TOL_REL: f32 = 2e-5;

fn rel_tol(t: &vidt::HostTensor) -> f32 {
    TOL_REL * max_abs(t).max(1.0)
}

fn model() -> (Vidt<B>, burn::tensor::Device<B>) {
    let w = checkpoint();
    let cfg = vidt::official::infer_config(&w).expect("config");
    let dev = cpu();
    (vidt::official::load(&w, &cfg, &dev).expect("load"), dev)
}

fn check_fixture(name: &str) {
    let f = fixture(name);
    let (m, dev) = model();
    let mask = mask_of(&f, "mask");
    let opts = ForwardOptions {
        keep_intermediates: true,
        ..Default::default()
    };
    let tr = m
        .forward_traced(tensor(&f, "input", &dev), &mask, opts)
        .expect("forward");
    let bb = &tr.backbone;

    let pe = get(&f, "backbone_patch_embed");
    assert_close(
        "backbone_patch_embed",
        bb.patch_embed.clone().unwrap(),
        pe,
        rel_tol(pe),
    );
    for (i, st) in bb.stages.iter().enumerate() {
        let hw = get(&f, &format!("backbone_stage{i}_hw"));
        let ours: Vec<f32> = st.hw.iter().map(|&v| v as f32).collect();
        assert_eq!(ours, hw.data, "backbone_stage{i}_hw");
        for (key, t) in [("out", &st.out), ("down", &st.down)] {
            let r = get(&f, &format!("backbone_stage{i}_{key}"));
            assert_close(
                &format!("backbone_stage{i}_{key}"),
                t.clone(),
                r,
                rel_tol(r),
            );
        }
    }
    for (l, (feat, h, w)) in bb.features.iter().enumerate() {
        let [b, _, c] = feat.dims();
        let r = get(&f, &format!("backbone_feat_{l}"));
        assert_close(
            &format!("backbone_feat_{l}"),
            feat.clone().swap_dims(1, 2).reshape([b, c, *h, *w]),
            r,
            rel_tol(r),
        );
    }
    let r = get(&f, "backbone_det_tgt");
    assert_close(
        "backbone_det_tgt",
        bb.det_tgt.clone().swap_dims(1, 2),
        r,
        rel_tol(r),
    );
    let r = get(&f, "backbone_det_pos");
    assert_close(
        "backbone_det_pos",
        bb.det_pos.clone().swap_dims(1, 2),
        r,
        0.0,
    );

    let nk = &tr.neck;
    for (l, src) in nk.srcs.iter().enumerate() {
        let m = &nk.masks[l];
        let [b, _, c] = src.dims();
        let r = get(&f, &format!("neck_src_{l}"));
        assert_close(
            &format!("neck_src_{l}"),
            src.clone()
                .swap_dims(1, 2)
                .reshape([b, c, m.height, m.width]),
            r,
            rel_tol(r),
        );
        let rm = mask_of(&f, &format!("neck_mask_{l}"));
        assert_eq!(m, &rm, "neck_mask_{l}");
    }
    let r = get(&f, "neck_det_tgt");
    assert_close("neck_det_tgt", nk.det_tgt.clone(), r, rel_tol(r));
    let r = get(&f, "neck_det_pos");
    assert_close("neck_det_pos", nk.det_pos.clone(), r, rel_tol(r));
    let r = get(&f, "neck_hs");
    assert_close(
        "neck_hs",
        Tensor::stack::<4>(nk.hs.clone(), 0),
        r,
        rel_tol(r),
    );
    assert_close(
        "neck_init_reference",
        nk.init_reference.clone(),
        get(&f, "neck_init_reference"),
        TOL_BOXES,
    );
    assert_close(
        "neck_inter_references",
        Tensor::stack::<4>(nk.boxes.clone(), 0),
        get(&f, "neck_inter_references"),
        TOL_BOXES,
    );

    let levels = nk.logits.len();
    assert_eq!(levels, 7);
    assert_close(
        "pred_logits",
        nk.logits[6].clone(),
        get(&f, "pred_logits"),
        TOL_LOGITS,
    );
    assert_close(
        "pred_boxes",
        nk.boxes[6].clone(),
        get(&f, "pred_boxes"),
        TOL_BOXES,
    );
    for i in 0..6 {
        assert_close(
            &format!("aux_{i}_pred_logits"),
            nk.logits[i].clone(),
            get(&f, &format!("aux_{i}_pred_logits")),
            TOL_LOGITS,
        );
        assert_close(
            &format!("aux_{i}_pred_boxes"),
            nk.boxes[i].clone(),
            get(&f, &format!("aux_{i}_pred_boxes")),
            TOL_BOXES,
        );
    }
}

#[test]
fn nano_perturbed_matches_reference_stage_by_stage() {
    check_fixture("fixture_nano_perturbed.safetensors");
}

#[test]
fn nano_perturbed_odd_sizes_match_reference() {
    check_fixture("fixture_nano_perturbed_odd.safetensors");
}

/// Decoding-layer drop at run time: 4 layers give the reference's aux_4 (head 4) exactly.
#[test]
fn four_decoder_layers_equal_aux_4() {
    let f = fixture("fixture_nano_perturbed.safetensors");
    let (m, dev) = model();
    let mask = mask_of(&f, "mask");
    let out = m
        .forward(
            tensor(&f, "input", &dev),
            &mask,
            ForwardOptions {
                dec_layers: Some(4),
                ..Default::default()
            },
        )
        .expect("forward");
    assert_eq!(out.aux.len(), 4);
    assert_close(
        "k=4 pred_logits vs aux_4",
        out.pred_logits,
        get(&f, "aux_4_pred_logits"),
        TOL_LOGITS,
    );
    assert_close(
        "k=4 pred_boxes vs aux_4",
        out.pred_boxes,
        get(&f, "aux_4_pred_boxes"),
        TOL_BOXES,
    );
    for i in 0..4 {
        assert_close(
            &format!("k=4 aux_{i}_pred_logits"),
            out.aux[i].0.clone(),
            get(&f, &format!("aux_{i}_pred_logits")),
            TOL_LOGITS,
        );
    }
}
