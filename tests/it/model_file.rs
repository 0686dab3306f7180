#![cfg(feature = "flex")]
//! The web model file (`vidt export`, `.vidt`): f16 is compact and detects like f32, exported
//! files run exactly as the checkpoint (and with dropped decoder layers as the fixture's
//! `aux_4`), and bad files are clear errors — also under 12,000 fuzzed truncations and flips
//! (3 properties x 4,000 proptest cases).

use std::path::{Path, PathBuf};

use crate::common::*;
use proptest::prelude::*;
use vidt::TensorMap;
use vidt::config::SwinConfig;
use vidt::io::LoadedModel;
use vidt::io::Recommendations;
use vidt::io::model_file::{HEADER_LEN, read_model_file, write_model_file};
use vidt::tensor_map::Dtype as StoreDtype;
use vidt::{DetectOptions, Detector, VidtConfig};

fn scratch(name: &str) -> PathBuf {
    scratch_in("model-file", name)
}

/// `vidt export` of the fixture checkpoint; returns the file's path.
fn export(name: &str, extra: &[&str]) -> PathBuf {
    let out = scratch(name);
    run_ok(
        vidt()
            .arg("export")
            .arg("--weights")
            .arg(fixture_path("vidt_nano_perturbed.pth"))
            .arg("--out")
            .arg(&out)
            .args(extra),
    );
    out
}

fn size(p: &Path) -> u64 {
    std::fs::metadata(p).unwrap().len()
}

#[test]
fn f16_export_is_compact_and_detects_like_f32() {
    let f32_file = export("nano-f32.vidt", &["--dtype", "f32"]);
    let f16_file = export("nano-f16.vidt", &["--dtype", "f16"]);
    let ratio = size(&f16_file) as f64 / size(&f32_file) as f64;
    println!(
        "f32 {} bytes, f16 {} bytes, ratio {ratio:.4}",
        size(&f32_file),
        size(&f16_file)
    );
    assert!(ratio <= 0.55, "f16/f32 size ratio {ratio}");

    let f = fixture("fixture_nano_perturbed.safetensors");
    let x = get(&f, "input");
    let shape: [usize; 4] = x.shape.clone().try_into().unwrap();
    let mask = mask_of(&f, "mask");
    let pth = Detector::<B>::from_file(fixture_path("vidt_nano_perturbed.pth"), &cpu()).unwrap();
    let full = Detector::<B>::from_file(&f32_file, &cpu()).unwrap();
    let half = Detector::<B>::from_file(&f16_file, &cpu()).unwrap();
    assert_eq!(full.config, pth.config);
    assert_eq!(half.config, pth.config);

    // f32 export: the same numbers as the checkpoint, bit for bit.
    let a = pth.forward(&x.data, shape, &mask, None).unwrap();
    let b = full.forward(&x.data, shape, &mask, None).unwrap();
    assert_eq!(
        vidt::tensor_map::read(a.pred_logits).unwrap(),
        vidt::tensor_map::read(b.pred_logits).unwrap()
    );
    let b32 = vidt::tensor_map::read(b.pred_boxes).unwrap();
    assert_eq!(vidt::tensor_map::read(a.pred_boxes).unwrap(), b32);

    // f16: the top-10 detections per image keep their labels; boxes within 1e-2. The scores of
    // this perturbed model are nearly tied (0.063 vs 0.063), so f16 may rank a different query
    // of the same class 10th: boxes are compared per query, over every query (normalized cxcywh).
    let opts = DetectOptions {
        threshold: 0.0,
        top_k: 10,
        dec_layers: None,
        nms_iou: None,
        labels: None,
    };
    let sizes = vec![(1, 1); shape[0]];
    let d32 = full
        .detect(&x.data, shape, &mask, &sizes, opts.clone())
        .unwrap();
    let d16 = half.detect(&x.data, shape, &mask, &sizes, opts).unwrap();
    let mut score_err = 0.0f32;
    for (img, (a, b)) in d32.iter().zip(&d16).enumerate() {
        assert_eq!(a.len(), 10);
        assert_eq!(b.len(), 10);
        let la: Vec<usize> = a.iter().map(|d| d.label_id).collect();
        let lb: Vec<usize> = b.iter().map(|d| d.label_id).collect();
        assert_eq!(la, lb, "image {img}: top-10 labels f32 vs f16");
        for (p, q) in a.iter().zip(b) {
            score_err = score_err.max((p.score - q.score).abs());
        }
    }
    let b16 = vidt::tensor_map::read(
        half.forward(&x.data, shape, &mask, None)
            .unwrap()
            .pred_boxes,
    )
    .unwrap();
    let box_err = b32
        .iter()
        .zip(&b16)
        .map(|(u, v)| (u - v).abs())
        .fold(0.0f32, f32::max);
    println!(
        "f16 vs f32: max box diff {box_err:.2e} (normalized, all queries), top-10 max score diff {score_err:.2e}"
    );
    assert!(box_err <= 1e-2, "f16 boxes differ by {box_err}");
}

#[test]
fn forward_on_exported_files_matches_fixture() {
    let input = fixture_path("fixture_nano_perturbed_odd.safetensors");
    let f = fixture("fixture_nano_perturbed_odd.safetensors");
    let full = export("odd-f32.vidt", &["--dtype", "f32"]);
    let four = export("odd-dec4.vidt", &["--dtype", "f32", "--dec-layers", "4"]);
    assert!(size(&four) < size(&full));
    let forward = |model: &Path, extra: &[&str], name: &str| {
        let out = scratch(name);
        run_ok(
            vidt()
                .args(["forward", "--device", "cpu", "--weights"])
                .arg(model)
                .arg("--input")
                .arg(&input)
                .arg("--output")
                .arg(&out)
                .args(extra),
        );
        TensorMap::from_file(&out).unwrap()
    };
    let ours = forward(&full, &[], "full.safetensors");
    assert_eq!(ours.len(), 14);
    for key in ours.keys() {
        let tol = if key.ends_with("logits") { 1e-4 } else { 1e-5 };
        let o = ours.require(key).unwrap();
        let d = max_diff(key, (&o.shape, &o.data), get(&f, key));
        assert!(d <= tol, "{key}: {d}");
    }
    // Decoder layers dropped at export and at run time: head 4 is the output (aux_4).
    for (model, extra, name) in [
        (&four, &[][..], "four.safetensors"),
        (&full, &["--dec-layers", "4"][..], "full-k4.safetensors"),
    ] {
        let ours = forward(model, extra, name);
        assert_eq!(ours.len(), 2 + 2 * 4, "{name}");
        for (k, tol) in [("logits", 1e-4), ("boxes", 1e-5)] {
            let o = ours.require(&format!("pred_{k}")).unwrap();
            let d = max_diff(
                name,
                (&o.shape, &o.data),
                get(&f, &format!("aux_4_pred_{k}")),
            );
            println!("{name}: pred_{k} vs aux_4 {d:.2e}");
            assert!(d <= tol, "{name} pred_{k} vs aux_4: {d}");
        }
    }
    // The dropped layers are not in the file.
    let m = read_model_file(&std::fs::read(&four).unwrap(), "four").unwrap();
    assert_eq!(m.config.dec_layers, 4);
    assert!(
        !m.weights
            .contains("transformer.decoder.layers.4.norm1.weight")
    );
    assert!(!m.weights.contains("class_embed.5.weight"));
    assert!(m.weights.contains("class_embed.4.weight"));
}

/// A tiny model (kilobytes), so fuzzing reads it thousands of times quickly.
fn tiny_config() -> VidtConfig {
    VidtConfig {
        preset: None,
        swin: SwinConfig {
            embed_dim: 8,
            depths: vec![1, 1, 1, 1],
            num_heads: vec![1, 2, 4, 8],
            window_size: 2,
            drop_path_rate: 0.0,
        },
        det_tokens: 4,
        d_model: 32,
        dec_layers: 2,
        dec_heads: 8,
        dec_points: 1,
        dim_feedforward: 16,
        num_classes: 3,
        dropout: 0.1,
        plus: false,
    }
}

fn classes() -> Vec<String> {
    ["square", "disc", "triangle"].map(String::from).to_vec()
}

fn tiny_file() -> Vec<u8> {
    let cfg = tiny_config();
    let w = vidt::official::initial_weights(&cfg, 1);
    write_model_file(
        &w,
        &cfg,
        &classes(),
        StoreDtype::F16,
        Some(192),
        Recommendations {
            threshold: Some(0.4),
            nms_iou: Some(0.7),
        },
    )
    .unwrap()
}

fn err_of(bytes: &[u8]) -> String {
    match read_model_file(bytes, "m.vidt") {
        Ok(_) => panic!("accepted a bad file"),
        Err(e) => e.to_string(),
    }
}

/// Recomputes the checksum after an edit of the payload (reaches the checks behind it).
fn reseal(bytes: &mut [u8]) {
    let crc = crc32fast::hash(&bytes[HEADER_LEN..]);
    bytes[12..16].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn model_file_round_trip_and_clear_errors() {
    let bytes = tiny_file();
    let m = read_model_file(&bytes, "m.vidt").unwrap();
    assert_eq!(m.config, tiny_config());
    assert_eq!(m.classes, classes());
    assert_eq!(m.dtype, StoreDtype::F16);
    assert_eq!(m.input_size, Some(192));
    // Loads into a model on the CPU backend; names and config come from the file.
    let det = Detector::<B>::from_bytes(&bytes, "m.vidt", &cpu()).unwrap();
    assert_eq!(det.names, classes());
    assert_eq!(
        det.input_size, 192,
        "the file's input size is the detector's default"
    );
    // So are its recommended threshold and NMS.
    let d = det.default_options();
    assert_eq!((d.threshold, d.nms_iou), (0.4, Some(0.7)));
    let bad = Recommendations {
        threshold: Some(1.5),
        nms_iou: None,
    };
    let w = vidt::official::initial_weights(&tiny_config(), 1);
    let e = write_model_file(&w, &tiny_config(), &classes(), StoreDtype::F16, None, bad)
        .unwrap_err()
        .to_string();
    assert!(e.contains("threshold 1.5"), "{e}");

    let n = bytes.len();
    for cut in [0, 7, 8, 23, 24, 100, n / 2, n - 1] {
        let e = err_of(&bytes[..cut]);
        assert!(
            e.contains("m.vidt") && (e.contains("truncated") || e.contains("shorter")),
            "cut at {cut}: {e}"
        );
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(err_of(&longer).contains("trailing bytes"));

    let mut flipped = bytes.clone();
    flipped[n - 5] ^= 0x10;
    let e = err_of(&flipped);
    assert!(
        e.contains("checksum mismatch") && e.contains("corrupted"),
        "{e}"
    );

    let mut v2 = bytes.clone();
    v2[8] = 2;
    let e = err_of(&v2);
    assert!(
        e.contains("version 2") && e.contains("reads version 1"),
        "{e}"
    );

    let e = err_of(b"PK\x03\x04 this is a zip file and not a model file at all");
    assert!(e.contains("not a vidt model file"), "{e}");

    // A configuration that does not match the tensors (checksum valid): named tensor.
    let cfg = tiny_config();
    let w = vidt::official::initial_weights(&cfg, 1);
    let mut fewer = cfg.clone();
    fewer.dec_layers = 1;
    let one = write_model_file(
        &w,
        &fewer,
        &classes(),
        StoreDtype::F32,
        None,
        Default::default(),
    )
    .unwrap();
    let two = write_model_file(
        &w,
        &cfg,
        &classes(),
        StoreDtype::F32,
        None,
        Default::default(),
    )
    .unwrap();
    // Splice: the 1-layer file's metadata over the 2-layer file's tensors is not possible
    // byte-wise, so rewrite the metadata in place (same length: "dec_layers":2 -> 1).
    let mut tampered = two.clone();
    let needle = b"dec_layers\\\":2";
    let at = tampered
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("config in metadata");
    tampered[at + "dec_layers\\\":".len()] = b'1';
    reseal(&mut tampered);
    let e = err_of(&tampered);
    assert!(
        e.contains("bbox_embed.2.layers.0.bias") && e.contains("not part of"),
        "{e}"
    );
    assert!(read_model_file(&one, "one").is_ok());

    // Writer-side checks.
    let e = write_model_file(
        &w,
        &cfg,
        &classes()[..2],
        StoreDtype::F16,
        None,
        Default::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("2 class names"), "{e}");
    let mut big = w.clone();
    let key = "class_embed.0.weight";
    let mut t = big.require(key).unwrap().clone();
    t.data[3] = 1e6;
    big.insert(key, t);
    let e = write_model_file(
        &big,
        &cfg,
        &classes(),
        StoreDtype::F16,
        None,
        Default::default(),
    )
    .unwrap_err();
    assert!(
        e.to_string().contains(key) && e.to_string().contains("overflows"),
        "{e}"
    );
    let mut missing = w.clone();
    missing.remove("backbone.det_token");
    let e = write_model_file(
        &missing,
        &cfg,
        &classes(),
        StoreDtype::F16,
        None,
        Default::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("backbone.det_token"), "{e}");

    // Through the file loaders, the path is named.
    let p = scratch("truncated.vidt");
    std::fs::write(&p, &bytes[..n / 3]).unwrap();
    let e = match Detector::<B>::from_file(&p, &cpu()) {
        Ok(_) => panic!("loaded a truncated file"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("truncated.vidt") && e.contains("truncated"),
        "{e}"
    );
    let e = LoadedModel::from_file(&p).unwrap_err().to_string();
    assert!(e.contains("truncated.vidt"), "{e}");
}

#[test]
fn class_names_from_files() {
    let dir = scratch("classes");
    std::fs::create_dir_all(&dir).unwrap();
    let coco = dir.join("annotations.json");
    std::fs::write(
        &coco,
        r#"{"images": [], "annotations": [], "categories": [{"id": 1, "name": "square"}, {"id": 3, "name": "triangle"}]}"#,
    )
    .unwrap();
    let names = vidt::io::classes::class_names_from_file(&coco, 4).unwrap();
    assert_eq!(names, ["class 0", "square", "class 2", "triangle"]);
    let e = vidt::io::classes::class_names_from_file(&coco, 3).unwrap_err();
    assert!(e.to_string().contains("id 3"), "{e}");
    let txt = dir.join("names.txt");
    std::fs::write(&txt, "cat\ndog\n").unwrap();
    assert_eq!(
        vidt::io::classes::class_names_from_file(&txt, 2).unwrap(),
        ["cat", "dog"]
    );
}

fn check_no_panic(bytes: &[u8]) {
    // Any outcome but a panic is fine; a file that parses must also build.
    if let Ok(m) = read_model_file(bytes, "fuzz.vidt") {
        let _ = vidt::official::load::<B>(&m.weights, &m.config, &cpu());
    }
}

fn tiny() -> &'static [u8] {
    static FILE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    FILE.get_or_init(tiny_file)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, ..ProptestConfig::default() })]

    /// Truncation at any length.
    #[test]
    fn fuzz_truncations(cut in 0usize..100_000) {
        let b = tiny();
        check_no_panic(&b[..cut % b.len()]);
    }

    /// 1-8 flipped bytes anywhere (the checksum or header checks catch them).
    #[test]
    fn fuzz_byte_flips(flips in prop::collection::vec((any::<usize>(), 1u8..=255), 1..8)) {
        let mut b = tiny().to_vec();
        let n = b.len();
        for (at, x) in flips {
            b[at % n] ^= x;
        }
        check_no_panic(&b);
    }

    /// Flips in the safetensors header (metadata, shapes, offsets) with the checksum redone,
    /// so the parsers behind the checksum see them.
    #[test]
    fn fuzz_resealed_header_flips(flips in prop::collection::vec((any::<usize>(), 1u8..=255), 1..4)) {
        let mut b = tiny().to_vec();
        let header = u64::from_le_bytes(b[HEADER_LEN..HEADER_LEN + 8].try_into().unwrap()) as usize;
        for (at, x) in flips {
            b[HEADER_LEN + at % (8 + header)] ^= x;
        }
        reseal(&mut b);
        check_no_panic(&b);
    }
}
