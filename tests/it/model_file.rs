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
    export_from(&fixture_path("vidt_nano_perturbed.pth"), name, extra)
}

/// `vidt export` of `weights`; returns the file's path.
fn export_from(weights: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = scratch(name);
    run_ok(
        vidt()
            .arg("export")
            .arg("--weights")
            .arg(weights)
            .arg("--out")
            .arg(&out)
            .args(extra),
    );
    out
}

/// `vidt forward` of `model` on the batch `input` on the CPU; its outputs.
fn forward_cli(model: &Path, input: &Path, extra: &[&str], name: &str) -> TensorMap {
    let out = scratch(name);
    run_ok(forward_cmd("cpu", model, input, &out).args(extra));
    TensorMap::from_file(&out).unwrap()
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

/// The official outputs the q8 file must stay near, and how near (the issue's goal; measured
/// 0.19 and 0.011 on this fixture, f16 0.011 and 0.0005).
const Q8_LOGITS: f32 = 0.25;
const Q8_BOXES: f32 = 0.02;

#[test]
fn q8_export_is_half_of_f16_and_stays_near_the_official_outputs() {
    let f16_file = export("nano-f16-for-q8.vidt", &["--dtype", "f16"]);
    let q8_file = export("nano-q8.vidt", &["--dtype", "q8"]);
    let ratio = size(&q8_file) as f64 / size(&f16_file) as f64;
    println!(
        "f16 {} bytes, q8 {} bytes, ratio {ratio:.4}",
        size(&f16_file),
        size(&q8_file)
    );
    assert!(ratio <= 0.55, "q8/f16 size ratio {ratio}");
    let m = read_model_file(&std::fs::read(&q8_file).unwrap(), "q8").unwrap();
    assert_eq!(m.dtype, StoreDtype::Q8);

    // Every output of the official forward (final and auxiliary heads) within the bounds.
    let input = fixture_path("fixture_nano_perturbed.safetensors");
    let f = fixture("fixture_nano_perturbed.safetensors");
    let ours = forward_cli(&q8_file, &input, &[], "q8-forward.safetensors");
    assert_outputs_close("q8", &ours, &f, (Q8_LOGITS, Q8_BOXES));

    assert_clear_top10_kept(
        "q8",
        get(&f, "pred_logits"),
        ours.require("pred_logits").unwrap(),
        Q8_LOGITS,
    );
}

#[test]
fn forward_on_exported_files_matches_fixture() {
    let input = fixture_path("fixture_nano_perturbed_odd.safetensors");
    let f = fixture("fixture_nano_perturbed_odd.safetensors");
    let full = export("odd-f32.vidt", &["--dtype", "f32"]);
    let four = export("odd-dec4.vidt", &["--dtype", "f32", "--dec-layers", "4"]);
    assert!(size(&four) < size(&full));
    let forward =
        |model: &Path, extra: &[&str], name: &str| forward_cli(model, &input, extra, name);
    let ours = forward(&full, &[], "full.safetensors");
    assert_outputs_close("odd-f32.vidt", &ours, &f, (1e-4, 1e-5));
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

    let mut v3 = bytes.clone();
    v3[8] = 3;
    let e = err_of(&v3);
    assert!(
        e.contains("version 3") && e.contains("reads versions 1 (f32, f16, bf16) and 2 (q8)"),
        "{e}"
    );
    // Version 2 is q8's: an f16 file claiming it is refused, not read as q8.
    let mut v2 = bytes.clone();
    v2[8] = 2;
    let e = err_of(&v2);
    assert!(e.contains("a version 2 file says its dtype is f16"), "{e}");

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

/// The tensors of a model file's payload, owned: key, element type, shape, bytes.
type Stored = Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)>;

/// `bytes` with its payload's tensors edited by `edit` (metadata kept), re-sealed: what a buggy
/// or foreign writer could produce with a valid checksum. `version` replaces the header's.
fn rewrite(bytes: &[u8], version: u32, edit: impl FnOnce(&mut Stored)) -> Vec<u8> {
    let payload = &bytes[HEADER_LEN..];
    let (_, meta) = safetensors::SafeTensors::read_metadata(payload).unwrap();
    let st = safetensors::SafeTensors::deserialize(payload).unwrap();
    let mut tensors: Stored = st
        .tensors()
        .into_iter()
        .map(|(k, v)| (k, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
        .collect();
    edit(&mut tensors);
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = tensors
        .iter()
        .map(|(k, d, s, b)| {
            let v = safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap();
            (k.clone(), v)
        })
        .collect();
    let payload = safetensors::serialize(views, meta.metadata().clone()).unwrap();
    let mut out = bytes[..HEADER_LEN].to_vec();
    out[8..12].copy_from_slice(&version.to_le_bytes());
    out[16..24].copy_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&payload);
    reseal(&mut out);
    out
}

#[test]
fn q8_files_round_trip_and_malformed_ones_are_clear_errors() {
    let cfg = tiny_config();
    let w = vidt::official::initial_weights(&cfg, 1);
    let write =
        |dtype| write_model_file(&w, &cfg, &classes(), dtype, None, Default::default()).unwrap();
    let q8 = write(StoreDtype::Q8);
    assert_eq!(u32::from_le_bytes(q8[8..12].try_into().unwrap()), 2);
    let m = read_model_file(&q8, "q.vidt").unwrap();
    assert_eq!(m.dtype, StoreDtype::Q8);
    // Quantized weights come back within half a step of their row's scale; the rest as f16.
    let quantized = vidt::io::q8::quantized(&cfg);
    let (mut n_q8, mut n_f16) = (0, 0);
    for (key, t) in m.weights.iter() {
        let orig = w.require(key).unwrap();
        if !quantized.contains_key(key) {
            let f16: Vec<f32> = orig
                .data
                .iter()
                .map(|&v| half::f16::from_f32(v).to_f32())
                .collect();
            assert_eq!(t.data, f16, "{key} is not its f16 rounding");
            n_f16 += 1;
            continue;
        }
        let cols = t.numel() / t.shape[0];
        for (r, (a, b)) in t.data.chunks(cols).zip(orig.data.chunks(cols)).enumerate() {
            let bound = b.iter().fold(0.0f32, |m, v| m.max(v.abs())) / 127.0 * 0.5 * 1.0001;
            let d = a
                .iter()
                .zip(b)
                .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
            assert!(d <= bound, "{key} row {r}: {d} > {bound}");
        }
        n_q8 += 1;
    }
    assert!(n_q8 > 10 && n_f16 > 10, "{n_q8} int8 tensors, {n_f16} f16");
    assert!(q8.len() < write(StoreDtype::F16).len());

    let key = "class_embed.0.weight";
    let scale = format!("{key}:scale");
    let e = err_of(&rewrite(&q8, 2, |t| t.retain(|(k, ..)| *k != scale)));
    assert!(
        e.contains(&format!(
            "q8 weight `{key}` has no scales (`{scale}` is missing)"
        )),
        "{e}"
    );
    let e = err_of(&rewrite(&q8, 2, |t| {
        let s = t.iter_mut().find(|(k, ..)| *k == scale).unwrap();
        s.2 = vec![1, s.2[0]];
    }));
    assert!(e.contains(&scale) && e.contains("shape"), "{e}");
    let e = err_of(&rewrite(&q8, 2, |t| {
        let s = t.iter_mut().find(|(k, ..)| k == key).unwrap();
        s.1 = safetensors::Dtype::U8;
    }));
    assert!(
        e.contains(&format!("`{key}` is stored as U8, not I8")),
        "{e}"
    );
    // Only linear weights are int8 in a q8 file, and nothing is in another file.
    let norm = "transformer.decoder.layers.0.norm1.weight";
    let int8 = |t: &mut Stored, k: &str| {
        let s = t.iter_mut().find(|(key, ..)| key == k).unwrap();
        s.1 = safetensors::Dtype::I8;
        s.3.truncate(s.3.len() / 2);
    };
    let e = err_of(&rewrite(&q8, 2, |t| int8(t, norm)));
    assert!(
        e.contains(&format!("`{norm}` is stored as I8"))
            && e.contains("a q8 file quantizes only linear weights"),
        "{e}"
    );
    let f16 = write(StoreDtype::F16);
    let e = err_of(&rewrite(&f16, 1, |t| int8(t, key)));
    assert!(
        e.contains(&format!("`{key}` is stored as I8, not a float type")),
        "{e}"
    );
    // A q8 payload under version 1 (what a reader before q8 would see) is refused.
    let e = err_of(&rewrite(&q8, 1, |_| {}));
    assert!(e.contains("a version 1 file says its dtype is q8"), "{e}");
    assert!(read_model_file(&rewrite(&q8, 2, |_| {}), "same").is_ok());
}

/// On a trained model (the demo's pico, f16), whose scores are separated as the fixture's are
/// not, q8 keeps the detections: the same labels in the same order on both example images,
/// scores within 0.01 and boxes within 2 px (measured: 0.004, 1 px).
#[test]
fn q8_of_the_trained_demo_model_keeps_its_detections() {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/demo.vidt");
    let q8 = export_from(&demo, "demo-q8.vidt", &["--dtype", "q8"]);
    println!("demo f16 {} bytes, q8 {} bytes", size(&demo), size(&q8));
    assert!(size(&q8) as f64 <= 0.55 * size(&demo) as f64);
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let detect = |m: &Path| -> serde_json::Value {
        let out = run_ok(
            vidt()
                .args(["detect", "--device", "cpu", "--weights"])
                .arg(m)
                .arg(examples.join("sample.png"))
                .arg(examples.join("shapes.png")),
        );
        serde_json::from_str(&out).unwrap()
    };
    let (a, b) = (detect(&demo), detect(&q8));
    let (mut score, mut px) = (0.0f64, 0.0f64);
    for (x, y) in a.as_array().unwrap().iter().zip(b.as_array().unwrap()) {
        let (x, y) = (
            x["detections"].as_array().unwrap(),
            y["detections"].as_array().unwrap(),
        );
        assert!(!x.is_empty());
        let labels =
            |d: &[serde_json::Value]| d.iter().map(|d| d["label_id"].clone()).collect::<Vec<_>>();
        assert_eq!(labels(x), labels(y), "q8 labels");
        for (p, q) in x.iter().zip(y) {
            score = score.max((p["score"].as_f64().unwrap() - q["score"].as_f64().unwrap()).abs());
            for j in 0..4 {
                px = px.max((p["box"][j].as_f64().unwrap() - q["box"][j].as_f64().unwrap()).abs());
            }
        }
    }
    println!("demo q8 vs f16: max score diff {score:.4}, max box diff {px:.2} px");
    assert!(score <= 0.01 && px <= 2.0, "score {score}, box {px} px");
}
