//! `vidt train --pretrained`: an ImageNet Swin classification checkpoint (written here in the
//! Swin layout: `patch_embed.*`, `layers.{i}.blocks.{j}.*`, the first three stages'
//! `downsample.{reduction,norm}`, plus what ViDT has not: `head.*`, `norm.*` and a
//! `relative_position_index` buffer) loaded into the backbone as the official
//! `load_state_dict(strict=False)`: the report, the shape-mismatch error naming the key and
//! both shapes, and with `--lr 0` the first checkpoint's backbone equal to the file bit for bit.

use std::path::Path;

use crate::common::*;
use vidt::tensor_map::{Dtype, HostTensor, TensorMap};

/// A pico backbone in the Swin classification layout, from another seed than the run's.
fn swin_checkpoint() -> TensorMap {
    let mut cfg = vidt::config::VidtConfig::preset("pico").unwrap();
    cfg.num_classes = 4;
    let w = vidt::official::initial_weights(&cfg, 77);
    let mut swin = TensorMap::new();
    for (k, t) in w.iter() {
        let Some(k) = k.strip_prefix("backbone.") else {
            continue;
        };
        let stage_merge = ["layers.0.", "layers.1.", "layers.2."].iter().any(|s| {
            k.starts_with(s)
                && (k.contains(".downsample.reduction.") || k.contains(".downsample.norm."))
        });
        if k.starts_with("patch_embed.")
            || (k.starts_with("layers.") && k.contains(".blocks.") && !k.contains("det_pos_linear"))
            || stage_merge
        {
            swin.insert(k, t.clone());
        }
    }
    let c = *w
        .require("backbone.layers.3.blocks.0.norm1.weight")
        .unwrap()
        .shape
        .first()
        .unwrap();
    swin.insert(
        "head.weight",
        HostTensor::new(vec![1000, c], vec![0.5; 1000 * c]),
    );
    swin.insert("head.bias", HostTensor::new(vec![1000], vec![0.0; 1000]));
    swin.insert("norm.weight", HostTensor::new(vec![c], vec![1.0; c]));
    swin.insert("norm.bias", HostTensor::new(vec![c], vec![0.0; c]));
    swin.insert(
        "layers.0.blocks.0.attn.relative_position_index",
        HostTensor::new(vec![49, 49], vec![3.0; 49 * 49]),
    );
    swin
}

fn train(data: &Path, out: &Path, pretrained: &Path) -> std::process::Output {
    vidt()
        .args([
            "train",
            "--device",
            "cpu",
            "--preset",
            "pico",
            "--num-classes",
            "4",
        ])
        .args([
            "--epochs",
            "1",
            "--batch-size",
            "2",
            "--scales",
            "64",
            "--max-size",
            "64",
        ])
        .args(["--lr", "0", "--dropout", "0", "--pretrained"])
        .arg(pretrained)
        .arg("--data")
        .arg(data)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn an_imagenet_swin_loads_into_the_backbone() {
    let (root, data, out) = synthetic_run("vidt-pretrained", 2, 5);
    let swin = swin_checkpoint();
    let file = root.join("swin.safetensors");
    vidt::io::write_safetensors(&file, &swin, Dtype::F32).unwrap();

    let r = train(&data, &out, &file);
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(r.status.success(), "{err}");
    let learned = swin.len() - 5;
    assert!(
        err.contains(&format!("loaded {learned} backbone tensors")),
        "reports what loaded: {err}"
    );
    assert!(err.contains("ignored 5 (head.bias, head.weight, layers.0.blocks.0.attn.relative_position_index, norm.bias, ...)"), "and what not: {err}");

    // lr 0: AdamW changes nothing, so the checkpoint's backbone is the file's, bit for bit.
    let (state, trained) = vidt::train::checkpoint::read_checkpoint(&out).unwrap();
    assert_eq!(state.step, 1);
    let mut same = 0;
    for (k, t) in swin.iter() {
        let Ok(have) = trained.get(&format!("backbone.{k}"), &t.shape) else {
            continue;
        };
        if k.starts_with("head.") || k.starts_with("norm.") || k.contains("relative_position_index")
        {
            continue;
        }
        assert!(
            have.data
                .iter()
                .zip(&t.data)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "backbone.{k} is not the file's"
        );
        same += 1;
    }
    assert_eq!(same, learned, "every loaded tensor is in the checkpoint");
    // ViDT's own parts keep the official initialization of the run's seed.
    let init = vidt::official::initial_weights(&state.config, state.options.seed);
    for k in [
        "backbone.det_token",
        "backbone.layers.3.downsample.reduction.weight",
    ] {
        let shape = init.shape(k).unwrap().to_vec();
        assert_eq!(
            trained.get(k, &shape).unwrap().data,
            init.get(k, &shape).unwrap().data,
            "{k}"
        );
    }

    // A tensor of another size: an error naming the key and both shapes; nothing trained.
    let mut bad = swin.clone();
    let k = "layers.0.blocks.0.attn.qkv.weight";
    let t = bad.require(k).unwrap().clone();
    let mut shape = t.shape.clone();
    shape[0] += 3;
    bad.insert(
        k,
        HostTensor::new(shape.clone(), vec![0.0; shape.iter().product()]),
    );
    let bad_file = root.join("bad.safetensors");
    vidt::io::write_safetensors(&bad_file, &bad, Dtype::F32).unwrap();
    let r = train(&data, &root.join("run-bad"), &bad_file);
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(!r.status.success());
    assert!(
        err.contains(&format!(
            "key `{k}` has shape {shape:?}, the backbone's `backbone.{k}` has {:?}",
            t.shape
        )),
        "{err}"
    );
    assert!(!root.join("run-bad/state.json").exists());

    // `imagenet` for a preset without an official Swin: a clear error.
    let r = train(&data, &root.join("run-pico"), Path::new("imagenet"));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(!r.status.success());
    assert!(
        err.contains("the preset `pico` has no ImageNet Swin checkpoint"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn imagenet_resolves_to_the_official_swin_of_the_preset() {
    let url = |p| vidt::official::imagenet_url(p).unwrap();
    assert_eq!(
        url("nano"),
        "https://github.com/naver-ai/vidt/releases/download/v0.1-swin/swin_nano_patch4_window7_224.pth"
    );
    assert_eq!(
        url("tiny"),
        "https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_tiny_patch4_window7_224.pth"
    );
    assert_eq!(
        url("small"),
        "https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_small_patch4_window7_224.pth"
    );
    assert_eq!(
        url("base"),
        "https://github.com/SwinTransformer/storage/releases/download/v1.0.0/swin_base_patch4_window7_224_22k.pth"
    );
}
