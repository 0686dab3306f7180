#![cfg(feature = "flex")]
//! Checkpoint import: the official layout and key set, parameter counts, dtypes, and a clear
//! one-line error for every kind of bad checkpoint.

use crate::common::*;
use vidt::config::VidtConfig;
use vidt::io::write_safetensors;
use vidt::official::Kind as EntryKind;
use vidt::tensor_map::Dtype;
use vidt::{Detector, VidtError};
use vidt::{HostTensor, TensorMap};

fn scratch(name: &str) -> std::path::PathBuf {
    scratch_in("test", name)
}

fn load_err(path: &std::path::Path) -> String {
    match Detector::<B>::from_file(path, &cpu()) {
        Ok(_) => panic!("{} loaded, expected an error", path.display()),
        Err(e) => {
            let s = e.to_string();
            assert!(!s.contains('\n'), "error is not one line: {s}");
            println!("{}: {s}", path.file_name().unwrap().to_string_lossy());
            s
        }
    }
}

#[test]
fn schema_equals_official_state_dict() {
    let w = checkpoint();
    assert_eq!(w.len(), 485);
    let cfg = vidt::official::infer_config(&w).unwrap();
    assert_eq!(cfg.preset.as_deref(), Some("swin_nano"));
    assert_eq!(
        (
            cfg.det_tokens,
            cfg.dec_layers,
            cfg.num_classes,
            cfg.dec_points
        ),
        (100, 6, 91, 4)
    );
    assert_eq!(cfg, {
        let mut p = VidtConfig::preset("nano").unwrap();
        p.dropout = cfg.dropout;
        p
    });
    let schema = vidt::official::table(&cfg);
    assert_eq!(schema.len(), 485);
    for e in &schema {
        assert_eq!(w.shape(&e.key), Some(e.shape.as_slice()), "{}", e.key);
    }
    // The file's parameters (aliases and index buffers not counted) equal the schema's count.
    let in_file: usize = schema
        .iter()
        .filter(|e| !matches!(e.kind, EntryKind::Alias(_) | EntryKind::Buffer))
        .map(|e| w.get(&e.key, &e.shape).unwrap().numel())
        .sum();
    assert_eq!(in_file, vidt::official::parameter_count(&cfg));
}

#[test]
fn parameter_counts_equal_reference() {
    for (preset, n) in [
        ("nano", 15_728_677),
        ("tiny", 37_962_901),
        ("small", 60_465_061),
        ("base", 99_959_635),
    ] {
        let cfg = VidtConfig::preset(preset).unwrap();
        println!(
            "{preset}: {} parameters ({} used by inference), {} state_dict keys",
            vidt::official::parameter_count(&cfg),
            vidt::official::used_parameter_count(&cfg),
            vidt::official::table(&cfg).len()
        );
        assert_eq!(vidt::official::parameter_count(&cfg), n, "{preset}");
    }
    assert_eq!(
        vidt::official::table(&VidtConfig::preset("small").unwrap()).len(),
        677
    );
}

#[test]
fn half_precision_safetensors_load() {
    let w = checkpoint();
    let mut map = w.clone();
    map.retain(|k, _| !k.ends_with("relative_position_index"));
    for (dtype, name) in [
        (vidt::tensor_map::Dtype::F16, "f16.safetensors"),
        (vidt::tensor_map::Dtype::BF16, "bf16.safetensors"),
    ] {
        let p = scratch(name);
        vidt::io::write_safetensors(&p, &map, dtype).unwrap();
        let back = TensorMap::from_file(&p).unwrap();
        let key = "backbone.layers.2.blocks.3.attn.qkv.weight";
        let orig = &w.require(key).unwrap().data;
        let got = &back.require(key).unwrap().data;
        let expect: Vec<f32> = match dtype {
            vidt::tensor_map::Dtype::F16 => orig
                .iter()
                .map(|&v| half::f16::from_f32(v).to_f32())
                .collect(),
            _ => orig
                .iter()
                .map(|&v| half::bf16::from_f32(v).to_f32())
                .collect(),
        };
        assert_eq!(got, &expect, "{name}");
        // The model loads from it (relative_position_index is recomputed, not needed).
        Detector::<B>::from_file(&p, &cpu()).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn truncated_pth_is_a_clear_error() {
    let bytes = std::fs::read(fixture_path("vidt_nano_perturbed.pth")).unwrap();
    for (name, len) in [
        ("trunc-head.pth", 100),
        ("trunc-half.pth", bytes.len() / 2),
        ("trunc-tail.pth", bytes.len() - 10),
    ] {
        let p = scratch(name);
        std::fs::write(&p, &bytes[..len]).unwrap();
        let e = load_err(&p);
        // The file and the reason: its zip directory (at the end) is missing or cut.
        assert!(
            e.contains(name)
                && e.contains("not a readable checkpoint")
                && e.contains("invalid Zip archive"),
            "{e}"
        );
    }
}

/// The browser reads a `.pth` from memory with our own zip + pickle reader; the native file
/// reader is pytorch-reader's. Both must give the same tensors, bit for bit.
#[test]
fn pth_bytes_read_as_the_file_reader() {
    let path = fixture_path("vidt_nano_perturbed.pth");
    let from_file = TensorMap::from_file(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let from_bytes = TensorMap::from_bytes(&bytes, "model bytes").unwrap();
    assert_eq!(from_file.len(), 485, "the fixture's key count");
    assert_eq!(from_bytes.len(), from_file.len());
    let theirs: std::collections::HashMap<&str, &HostTensor> = from_bytes.iter().collect();
    for (key, t) in from_file.iter() {
        let u = theirs
            .get(key)
            .unwrap_or_else(|| panic!("{key} missing from memory"));
        assert_eq!(u.shape, t.shape, "{key}");
        let bits = |d: &[f32]| d.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert!(bits(&u.data) == bits(&t.data), "{key}: values differ");
    }
    // Cut anywhere: an error naming the source, never a panic.
    for len in [0, 100, bytes.len() / 2, bytes.len() - 10] {
        let e = match TensorMap::from_bytes(&bytes[..len], "cut.pth") {
            Ok(_) => panic!("{len} bytes loaded"),
            Err(e) => e.to_string(),
        };
        assert!(e.contains("cut.pth"), "{len}: {e}");
    }
}

#[test]
fn truncated_safetensors_is_a_clear_error() {
    let w = checkpoint();
    let p = scratch("full.safetensors");
    write_safetensors(&p, &w, Dtype::F32).unwrap();
    let bytes = std::fs::read(&p).unwrap();
    let t = scratch("trunc.safetensors");
    std::fs::write(&t, &bytes[..bytes.len() - 1000]).unwrap();
    let e = load_err(&t);
    assert!(
        e.contains("trunc.safetensors") && e.contains("safetensors"),
        "{e}"
    );
}

#[test]
fn missing_key_is_named() {
    let mut map = checkpoint();
    map.remove("transformer.decoder.layers.3.norm2.weight");
    let p = scratch("missing.safetensors");
    write_safetensors(&p, &map, Dtype::F32).unwrap();
    let e = load_err(&p);
    assert!(
        e.contains("transformer.decoder.layers.3.norm2.weight") && e.contains("missing"),
        "{e}"
    );
}

#[test]
fn wrong_shape_names_key_and_both_shapes() {
    let mut map = checkpoint();
    map.insert(
        "bbox_embed.2.layers.1.weight",
        HostTensor::new(vec![256, 255], vec![0.0; 256 * 255]),
    );
    let p = scratch("shape.safetensors");
    write_safetensors(&p, &map, Dtype::F32).unwrap();
    let e = load_err(&p);
    assert!(
        e.contains("bbox_embed.2.layers.1.weight")
            && e.contains("[256, 255]")
            && e.contains("[256, 256]"),
        "{e}"
    );
}

#[test]
fn tiny_sized_tensor_in_nano_file_is_named() {
    // A swin_tiny stage-3 block in a nano checkpoint: 384-wide instead of 192.
    let mut map = checkpoint();
    map.insert(
        "backbone.layers.2.blocks.1.mlp.fc1.weight",
        HostTensor::new(vec![1536, 384], vec![0.0; 1536 * 384]),
    );
    let p = scratch("tiny-in-nano.safetensors");
    write_safetensors(&p, &map, Dtype::F32).unwrap();
    let e = load_err(&p);
    assert!(
        e.contains("backbone.layers.2.blocks.1.mlp.fc1.weight")
            && e.contains("[1536, 384]")
            && e.contains("[768, 192]"),
        "{e}"
    );
}

#[test]
fn not_a_checkpoint_is_a_clear_error() {
    let p = scratch("garbage.pth");
    std::fs::write(&p, b"this is not a checkpoint at all").unwrap();
    let e = load_err(&p);
    assert!(e.contains("garbage.pth"), "{e}");
    let e = match Detector::<B>::from_file(scratch("does-not-exist.pth"), &cpu()) {
        Err(e) => e,
        Ok(_) => panic!("loaded a missing file"),
    };
    assert!(matches!(e, VidtError::Io { .. }), "{e}");
}

#[test]
fn wrong_rank_in_a_config_tensor_is_an_error_not_a_panic() {
    let mut map = checkpoint();
    map.insert(
        "backbone.det_token",
        HostTensor::new(vec![4800], vec![0.0; 4800]),
    );
    let p = scratch("rank.safetensors");
    write_safetensors(&p, &map, Dtype::F32).unwrap();
    let e = load_err(&p);
    assert!(
        e.contains("backbone.det_token") && e.contains("[4800]"),
        "{e}"
    );
}

/// Saving writes back every used parameter, alias and index buffer of the official state_dict,
/// bit for bit.
#[test]
fn save_round_trips_the_official_state_dict() {
    let w = checkpoint();
    let cfg = vidt::official::infer_config(&w).unwrap();
    let model = vidt::official::load::<B>(&w, &cfg, &cpu()).unwrap();
    let saved = vidt::official::save(&model, &cfg).unwrap();
    let mut written = 0;
    for e in vidt::official::table(&cfg) {
        match e.kind {
            EntryKind::Unused => assert!(!saved.contains(&e.key), "{} is unused", e.key),
            _ => {
                let ours = saved
                    .get(&e.key, &e.shape)
                    .unwrap_or_else(|err| panic!("{err}"));
                assert_eq!(ours.data, w.require(&e.key).unwrap().data, "{}", e.key);
                written += 1;
            }
        }
    }
    assert_eq!(saved.len(), written);
}

/// The official initialization loads through the normal loader, and has its documented
/// properties: box refinement and sampling offsets start inert (every decoder level predicts
/// the backbone-only level's boxes) and class scores start at the 0.01 prior.
#[test]
fn initial_weights_have_the_official_properties() {
    for preset in ["nano", "tiny"] {
        let cfg = VidtConfig::preset(preset).unwrap();
        let w = vidt::official::initial_weights(&cfg, 1);
        assert_eq!(
            w.len(),
            vidt::official::table(&cfg)
                .iter()
                .filter(|e| e.kind == EntryKind::Param)
                .count()
        );
        // nn.MultiheadAttention zeroes its projection biases (`_reset_parameters`), and the
        // transformer's xavier pass only touches matrices.
        for (k, t) in w.iter() {
            if k.ends_with("self_attn.in_proj_bias") || k.ends_with("self_attn.out_proj.bias") {
                assert!(t.data.iter().all(|&v| v == 0.0), "{k} is not zero");
            }
        }
        if preset == "tiny" {
            continue; // loading is enough; the forward below runs on nano only
        }
        let model = vidt::official::load::<B>(&w, &cfg, &cpu()).unwrap();
        let x = burn::tensor::Tensor::<B, 4>::from_data(
            burn::tensor::TensorData::new(
                vidt::rng::Rng::new(9).uniforms(3 * 64 * 96, -2.0, 2.0),
                [1, 3, 64, 96],
            ),
            &cpu(),
        );
        let out = model
            .forward(x, &vidt::PixelMask::zeros(1, 64, 96), Default::default())
            .unwrap();
        let (_, level0) = values(out.aux[0].1.clone());
        for (i, (_, b)) in out.aux.iter().enumerate().skip(1) {
            let (_, bi) = values(b.clone());
            let d = bi
                .iter()
                .zip(&level0)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(d < 1e-6, "aux {i} boxes differ from level 0 by {d}");
        }
        let (_, logits) = values(out.pred_logits);
        let mean = logits.iter().sum::<f32>() / logits.len() as f32;
        assert!((mean + 4.595).abs() < 0.5, "mean logit {mean}");
    }
}

/// `pico` (ours, not official): builds from its initialization, runs, and is recognized by
/// configuration inference.
#[test]
fn pico_preset_builds_runs_and_is_inferred() {
    let cfg = VidtConfig::preset("pico").unwrap();
    let w = vidt::official::initial_weights(&cfg, 5);
    assert_eq!(vidt::official::infer_config(&w).unwrap(), cfg);
    let model = vidt::official::load::<B>(&w, &cfg, &cpu()).unwrap();
    let x = burn::tensor::Tensor::<B, 4>::zeros([1, 3, 64, 64], &cpu());
    let out = model
        .forward(
            x,
            &vidt::PixelMask::zeros(1, 64, 64),
            vidt::ForwardOptions::default(),
        )
        .unwrap();
    assert_eq!(out.pred_logits.dims(), [1, 30, 91]);
    assert_eq!(out.aux.len(), 3);
    println!("pico: {} parameters", vidt::official::parameter_count(&cfg));
}
