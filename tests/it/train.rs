#![cfg(feature = "flex")]
//! Training on the CPU backend: thirty steps on a handful of synthetic images at least
//! halve the loss (the whole path — autodiff through the model, matcher, criterion, AdamW with
//! gradient clipping — works).

use crate::common::*;
use burn::tensor::{Tensor, TensorData};
use vidt::coco::Target;
use vidt::coco::synth;
use vidt::train::criterion::Criterion;
use vidt::train::optim::VidtOptim;
use vidt::train::step::{Shard, train_step};

/// `b` synthetic `size`² images (seed 3) as one batch, and their targets.
fn synthetic_batch(size: usize, b: usize) -> (Vec<f32>, Vec<Target>) {
    let mut rng = vidt::rng::Rng::new(3);
    let mut data = Vec::new();
    let mut targets = Vec::new();
    for _ in 0..b {
        let (img, objects) = synth::image(&mut rng, size as u32, size as u32, 3);
        let batch = vidt::detect::preprocess::pad_batch(std::slice::from_ref(&img));
        data.extend(batch.data);
        targets.push(synth::target(&objects, size as u32, size as u32));
    }
    (data, targets)
}

/// `synthetic_batch` as the step's inputs on `dev`: images, an all-valid mask, targets.
fn synthetic_inputs(
    size: usize,
    b: usize,
    dev: &burn::tensor::Device<AB>,
) -> (Tensor<AB, 4>, vidt::PixelMask, Vec<Target>) {
    let (data, targets) = synthetic_batch(size, b);
    let images = Tensor::<AB, 4>::from_data(TensorData::new(data, [b, 3, size, size]), dev);
    (images, vidt::PixelMask::zeros(b, size, size), targets)
}

/// `steps` training steps of `model` on one batch at learning rate `lr` (official AdamW, weight
/// decay 1e-4, clipping 0.1): the loss before each step.
fn train_on(
    mut model: vidt::Vidt<AB>,
    images: &Tensor<AB, 4>,
    mask: &vidt::PixelMask,
    targets: &[Target],
    steps: usize,
    lr: f64,
) -> Vec<f32> {
    let criterion = Criterion::default();
    let mut optim = VidtOptim::new(&model, 1e-4, 0.1);
    let mut losses = Vec::new();
    for _ in 0..steps {
        let shard = Shard {
            images: images.clone(),
            mask: mask.clone(),
            targets: targets.to_vec(),
        };
        let (m, loss) = train_step(model, &mut optim, lr, vec![shard], &criterion, None).unwrap();
        model = m;
        losses.push(loss.total);
    }
    losses
}

#[test]
fn overfits_a_few_synthetic_images() {
    let dev = cpu();
    let model = deterministic_model(&dev);
    let (size, b) = (96usize, 2usize);
    let (images, mask, targets) = synthetic_inputs(size, b, &dev);
    let losses = train_on(model, &images, &mask, &targets, 30, 2e-4);
    println!("losses: {losses:?}");
    let (first, last) = (losses[0], *losses.last().unwrap());
    assert!(
        last.is_finite() && last <= 0.5 * first,
        "loss {first} -> {last}"
    );
}

/// The checkpoint's model without dropout: its steps are deterministic whatever other tests in
/// this process draw from the backend's one random generator meanwhile (dropout draws from it,
/// so the losses of a model with dropout changed from run to run; dropout is tested apart).
fn deterministic_model(dev: &burn::tensor::Device<AB>) -> vidt::Vidt<AB> {
    let w = checkpoint();
    let mut cfg = vidt::official::infer_config(&w).unwrap();
    cfg.dropout = 0.0;
    vidt::official::load::<AB>(&w, &cfg, dev).unwrap()
}

/// Two runs of two training steps from the same model give the same losses to the bit.
#[test]
fn training_steps_are_deterministic() {
    let dev = cpu();
    let model = deterministic_model(&dev);
    let (size, b) = (64usize, 2usize);
    let (images, mask, targets) = synthetic_inputs(size, b, &dev);
    let first = train_on(model.clone(), &images, &mask, &targets, 2, 2e-4);
    let second = train_on(model, &images, &mask, &targets, 2, 2e-4);
    assert_eq!(first, second);
}

/// The optimizer's groups follow naver-ai/vidt `build_optimizer`: applied to the official
/// state_dict keys, its rule (backbone tensors that are 1-D, biases, `det_token` or
/// `det_pos_embed` get no weight decay) exempts exactly as many elements as ours does.
#[test]
fn optimizer_groups_follow_the_official_recipe() {
    let w = checkpoint();
    let cfg = vidt::official::infer_config(&w).unwrap();
    let model = vidt::official::load::<AB>(&w, &cfg, &cpu()).unwrap();
    let mut official = [0usize; 2]; // backbone [no decay, decay] elements
    for (k, t) in vidt::official::save(&model, &cfg).unwrap().iter() {
        // named_parameters(): buffers (relative_position_index) are not parameters.
        if !k.contains("backbone") || k.ends_with("relative_position_index") {
            continue;
        }
        let last = k.rsplit('.').next().unwrap();
        let exempt = t.shape.len() == 1
            || k.ends_with(".bias")
            || last == "det_token"
            || last == "det_pos_embed";
        official[usize::from(!exempt)] += t.data.len();
    }
    let mut ours = [0usize; 2];
    let infos = vidt::train::optim::param_infos(&model);
    for p in &infos {
        if p.path.starts_with("backbone.") {
            ours[usize::from(!p.no_decay)] += p.shape.iter().product::<usize>();
        } else {
            assert!(!p.no_decay, "{} is outside the backbone", p.path);
        }
    }
    println!("backbone elements [no decay, decay]: official {official:?}, ours {ours:?}");
    assert!(official[0] > 0 && official[1] > 0);
    assert_eq!(ours, official);
    let find = |s: &str| infos.iter().find(|p| p.path.ends_with(s)).unwrap();
    assert!(find("det_token").no_decay && !find("relative_position_bias_table").no_decay);
}

/// Data parallel: a batch split over two replicas (two threads) gives the loss, the gradient
/// norm and the update of the whole batch on one. Images of one size (no padding differences),
/// dropout and drop-path off (no random masks).
#[test]
fn data_parallel_step_equals_the_full_batch_step() {
    let w = checkpoint();
    let mut cfg = vidt::official::infer_config(&w).unwrap();
    cfg.dropout = 0.0;
    cfg.swin.drop_path_rate = 0.0;
    let dev = cpu();
    let (size, b) = (64usize, 2usize);
    let (data, mut targets) = synthetic_batch(size, b);
    // Unequal box counts: per-shard normalization would weigh the two images differently.
    targets[0].labels.truncate(1);
    targets[0].boxes.truncate(1);
    targets[1].labels.push(1);
    targets[1].boxes.push([0.3, 0.7, 0.2, 0.25]);
    let per = 3 * size * size;
    let image = |i: usize, n: usize| {
        Tensor::<AB, 4>::from_data(
            TensorData::new(data[i * per..(i + n) * per].to_vec(), [n, 3, size, size]),
            &dev,
        )
    };
    let lr = 1e-4;
    let step = |shards: Vec<Shard<AB>>| {
        let model = vidt::official::load::<AB>(&w, &cfg, &dev).unwrap();
        let mut optim = VidtOptim::new(&model, 1e-4, 0.1);
        let (m, loss) =
            train_step(model, &mut optim, lr, shards, &Criterion::default(), None).unwrap();
        (vidt::official::save(&m, &cfg).unwrap(), loss)
    };
    let (whole, l1) = step(vec![Shard {
        images: image(0, 2),
        mask: vidt::PixelMask::zeros(2, size, size),
        targets: targets.clone(),
    }]);
    let (split, l2) = step(
        (0..2)
            .map(|i| Shard {
                images: image(i, 1),
                mask: vidt::PixelMask::zeros(1, size, size),
                targets: vec![targets[i].clone()],
            })
            .collect(),
    );
    println!("whole {l1:?}\nsplit {l2:?}");
    assert!(targets[0].labels.len() != targets[1].labels.len());
    assert!((l1.total - l2.total).abs() <= 1e-5 * l1.total.abs());
    assert!((l1.grad_norm - l2.grad_norm).abs() <= 1e-4 * l1.grad_norm);
    assert!(l1.grad_norm > 0.1, "clipping is exercised");
    let (mut moved, mut differ) = (0f32, 0f32);
    for (k, t) in whole.iter() {
        let s = split.require(k).unwrap();
        let w0 = w.require(k).ok().map(|t| t.data.clone());
        for (i, (a, b)) in t.data.iter().zip(&s.data).enumerate() {
            differ = differ.max((a - b).abs());
            if let Some(w0) = &w0 {
                moved = moved.max((a - w0[i]).abs());
            }
        }
    }
    println!("largest update {moved:e}, largest difference {differ:e}");
    assert!(moved > 0.5 * lr as f32 && differ <= 0.01 * moved);
}

/// A run killed during an epoch resumes from the last complete checkpoint (weights, Adam
/// moments, step count) and finishes with the same number of steps and the same weights as an
/// uninterrupted run; its checkpoint loads as a detector.
#[test]
fn killed_run_resumes_and_finishes_all_steps() {
    let (root, data, out) = synthetic_run("vidt-train", 4, 9);
    let teacher = root.join("teacher.vidt");
    run_ok(
        vidt()
            .arg("export")
            .arg("--weights")
            .arg(fixture_path("vidt_nano_perturbed.pth"))
            .args(["--dtype", "f16", "--out"])
            .arg(&teacher),
    );
    let train_in = |out: &std::path::Path, extra: &[&str]| {
        let mut c = vidt();
        c.args([
            "train",
            "--device",
            "cpu",
            "--epochs",
            "3",
            "--batch-size",
            "2",
            "--scales",
            "64",
            "--max-size",
            "64",
            "--data",
        ])
        .arg(&data)
        .arg("--out")
        .arg(out)
        .arg("--init")
        .arg(fixture_path("vidt_nano_perturbed.pth"))
        // Token-matching distillation on (a teacher of other weights), kept across --resume.
        .arg("--teacher")
        .arg(&teacher)
        .args(extra);
        c.output().unwrap()
    };
    let train = |extra: &[&str]| train_in(&out, extra);
    // Killed at step 3 of 6: mid-epoch 2, after epoch 1's checkpoint.
    let killed = train(&["--abort-after-steps", "3"]);
    let stderr = String::from_utf8_lossy(&killed.stderr);
    assert!(!killed.status.success(), "{stderr}");
    assert!(stderr.contains("interrupted after 3 steps"), "{stderr}");
    let (state, _) = vidt::train::checkpoint::read_checkpoint(&out).unwrap();
    assert_eq!((state.epoch, state.step), (1, 2));
    // Starting over in the same directory is refused; --resume continues.
    let refused = train(&[]);
    assert!(
        !refused.status.success() && String::from_utf8_lossy(&refused.stderr).contains("--resume")
    );
    let resumed = train(&["--resume"]);
    assert!(
        resumed.status.success(),
        "{}",
        String::from_utf8_lossy(&resumed.stderr)
    );
    let (state, _) = vidt::train::checkpoint::read_checkpoint(&out).unwrap();
    assert_eq!((state.epoch, state.step, state.history.len()), (3, 6, 3));
    // Every step, before and after the resume, logged its distillation loss.
    let log = std::fs::read_to_string(out.join("train.log")).unwrap();
    let steps: Vec<&str> = log.lines().filter(|l| l.contains(" step ")).collect();
    assert_eq!(steps.len(), 3 + 4, "{log}");
    assert!(steps.iter().all(|l| l.contains(" distil ")), "{log}");
    // Only the last checkpoint is kept, and it is a loadable official-layout file.
    let files: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert!(
        files.contains(&"checkpoint-0003.safetensors".to_string())
            && !files
                .iter()
                .any(|f| f.contains("0002") || f.ends_with(".tmp")),
        "{files:?}"
    );
    assert!(files.contains(&"optimizer-0003.safetensors".to_string()));
    vidt::Detector::<B>::from_file(
        vidt::train::checkpoint::checkpoint_weights_path(&out, 3),
        &cpu(),
    )
    .unwrap();
    // The same run, uninterrupted.
    let whole = root.join("whole");
    let r = train_in(&whole, &[]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let (_, a) = vidt::train::checkpoint::read_checkpoint(&out).unwrap();
    let (_, b) = vidt::train::checkpoint::read_checkpoint(&whole).unwrap();
    let mut diff = 0f32;
    for (k, t) in a.iter() {
        for (x, y) in t.data.iter().zip(&b.require(k).unwrap().data) {
            diff = diff.max((x - y).abs());
        }
    }
    println!("resumed vs uninterrupted weights: max |diff| = {diff:e}");
    assert!(diff <= 1e-6, "{diff}");
}

/// Dropout (decoder, 0.1) is active under autodiff and absent at inference.
#[test]
fn dropout_only_in_training() {
    fn logits<BB: vidt::ops::VidtBackend>() -> [Vec<f32>; 2] {
        let w = checkpoint();
        let cfg = vidt::official::infer_config(&w).unwrap();
        let dev: burn::tensor::Device<BB> = Default::default();
        let m = vidt::official::load::<BB>(&w, &cfg, &dev).unwrap();
        let mask = vidt::PixelMask::zeros(1, 64, 64);
        let x = vidt::rng::Rng::new(1).uniforms(3 * 64 * 64, -2.0, 2.0);
        let run = || {
            values(
                m.forward(
                    Tensor::from_data(TensorData::new(x.clone(), [1, 3, 64, 64]), &dev),
                    &mask,
                    Default::default(),
                )
                .unwrap()
                .pred_logits,
            )
            .1
        };
        [run(), run()]
    }
    let [a, b] = logits::<AB>();
    assert_ne!(a, b, "training forwards should differ (dropout)");
    let [a, b] = logits::<B>();
    assert_eq!(a, b, "inference is deterministic");
}

/// `vidt train --devices 0,0`: data parallel over two replicas (here both on the one CPU) from
/// the command line takes the same step as one device (without dropout, the step is
/// deterministic: the replicas' gradients, each normalized by the whole batch's boxes, sum to
/// the whole batch's); a malformed device list is refused by name.
#[test]
fn trains_data_parallel_from_the_command_line() {
    let (root, data, _) = synthetic_run("vidt-dp", 4, 5);
    let train = |devices: &str, out: &std::path::Path| {
        vidt()
            .args(["train", "--device", "cpu", "--devices", devices])
            .args(["--preset", "pico", "--num-classes", "4", "--dropout", "0"])
            .args([
                "--epochs",
                "1",
                "--batch-size",
                "4",
                "--scales",
                "64",
                "--max-size",
                "64",
            ])
            .arg("--data")
            .arg(&data)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap()
    };
    let bad = train("0,x", &root.join("bad"));
    assert!(
        !bad.status.success() && String::from_utf8_lossy(&bad.stderr).contains("--devices"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let runs = [("0", root.join("one")), ("0,0", root.join("two"))];
    for (devices, out) in &runs {
        let r = train(devices, out);
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    }
    let (state, one) = vidt::train::checkpoint::read_checkpoint(&runs[0].1).unwrap();
    let (state2, two) = vidt::train::checkpoint::read_checkpoint(&runs[1].1).unwrap();
    assert_eq!((state.epoch, state.step), (1, 1));
    assert_eq!((state2.epoch, state2.step), (1, 1));
    let (l1, l2) = (state.history[0].train_loss, state2.history[0].train_loss);
    assert!((l1 - l2).abs() <= 1e-4 * l1.abs(), "loss {l1} vs {l2}");
    // Against the starting weights (the same seed's official init): the step moved them.
    let init = vidt::official::initial_weights(&state.config, state.options.seed);
    let (mut moved, mut apart) = (0f32, 0f32);
    for (k, a) in one.iter() {
        let Ok(b) = two.get(k, &a.shape) else {
            panic!("{k} missing from the data-parallel run")
        };
        let Ok(w0) = init.get(k, &a.shape) else {
            continue; // aliases and buffers
        };
        for ((x, y), z) in a.data.iter().zip(&b.data).zip(&w0.data) {
            moved = moved.max((x - z).abs());
            apart = apart.max((x - y).abs());
        }
    }
    println!("data parallel vs one device: update up to {moved:.3e}, apart by {apart:.3e}");
    assert!(moved >= 5e-5, "the step changed nothing ({moved})");
    assert!(apart <= 1e-6, "two replicas end {apart} from one device");
    let _ = std::fs::remove_dir_all(&root);
}

/// Fine-tuning to a new class count re-initializes the class heads (fresh, focal prior) and keeps
/// every other tensor of the checkpoint; `vidt train --init W --num-classes N` trains it.
#[test]
fn fine_tuning_to_new_classes_reinitializes_only_the_class_heads() {
    let w = checkpoint();
    let cfg = vidt::official::infer_config(&w).unwrap();
    assert_ne!(cfg.num_classes, 4);
    let (cfg4, w4) = vidt::official::with_new_classes(&w, &cfg, 4, 1);
    assert_eq!(vidt::official::infer_config(&w4).unwrap().num_classes, 4);
    assert_eq!(cfg4.num_classes, 4);
    let mut heads = 0;
    for (k, t) in w.iter() {
        if k.starts_with("class_embed.") {
            let n = w4.require(k).unwrap();
            assert_eq!(n.shape[0], 4, "{k}");
            if k.ends_with(".bias") {
                let prior = -((1.0f32 - 0.01) / 0.01).ln();
                assert!(n.data.iter().all(|&v| (v - prior).abs() < 1e-6), "{k}");
            }
            heads += 1;
        } else {
            assert_eq!(w4.require(k).unwrap(), t, "{k} changed");
        }
    }
    assert_eq!(heads, 2 * (cfg.dec_layers + 1));
    vidt::official::load::<B>(&w4, &cfg4, &cpu()).unwrap();

    let (root, data, out) = synthetic_run("vidt-ft", 2, 5);
    run_ok(
        vidt()
            .args([
                "train",
                "--device",
                "cpu",
                "--num-classes",
                "4",
                "--epochs",
                "1",
                "--batch-size",
                "2",
                "--scales",
                "64",
                "--max-size",
                "64",
                "--init",
            ])
            .arg(fixture_path("vidt_nano_perturbed.pth"))
            .arg("--data")
            .arg(&data)
            .arg("--out")
            .arg(&out),
    );
    let (state, trained) = vidt::train::checkpoint::read_checkpoint(&out).unwrap();
    assert_eq!(state.config.num_classes, 4);
    assert_eq!(
        vidt::official::infer_config(&trained).unwrap().num_classes,
        4
    );
    let _ = std::fs::remove_dir_all(&root);
}

/// ViDT+ (a pico with 30 [DET] tokens, as small as a CPU trains) learns on synthetic shapes
/// with their instance masks: the criterion gives every ViDT+ term on its outputs, and forty
/// steps from scratch take at least a third off the total (the vector loss, most of it, falls
/// as the DCT vectors fit the masks).
#[test]
fn plus_overfits_a_few_synthetic_images_with_masks() {
    let mut cfg = vidt::config::VidtConfig::preset("pico").unwrap().plus();
    cfg.det_tokens = 30;
    cfg.num_classes = 4;
    cfg.dropout = 0.0; // deterministic, as `deterministic_model`
    let dev = cpu();
    let w = vidt::official::initial_weights(&cfg, 7);
    let model = vidt::official::load::<AB>(&w, &cfg, &dev).unwrap();
    let (size, b) = (64usize, 2usize);
    let (images, mask, targets) = synthetic_inputs(size, b, &dev);
    assert!(
        targets.iter().all(|t| t.masks.is_some()),
        "synth targets carry masks"
    );
    let criterion = Criterion::default();
    {
        let trace = model
            .forward_traced(images.clone(), &mask, Default::default())
            .unwrap();
        let (levels, plus) = vidt::train::criterion::criterion_inputs(trace.neck);
        assert!(plus.is_some(), "a ViDT+ model has ViDT+ outputs");
        let named = criterion
            .forward_plus(&levels, plus.as_ref(), &targets, 4.0)
            .unwrap()
            .named()
            .unwrap();
        for term in [
            "loss_iouaware",
            "loss_vector",
            "loss_token_focal",
            "loss_token_dice",
            "loss_vector_0",
        ] {
            let v = named.iter().find(|(n, _)| n == term).map(|(_, v)| *v);
            assert!(v.is_some_and(|v| v.is_finite() && v > 0.0), "{term}: {v:?}");
        }
    }
    let losses = train_on(model, &images, &mask, &targets, 40, 1e-3);
    println!("ViDT+ losses: {losses:?}");
    let (first, last) = (losses[0], *losses.last().unwrap());
    assert!(
        last.is_finite() && last <= 0.67 * first,
        "loss {first} -> {last}"
    );
}

/// `vidt train --plus` from scratch on `vidt synth` data (masks as RLE) writes a ViDT+ run whose
/// checkpoint detects with masks; data without masks is refused, naming the image.
#[test]
fn trains_plus_from_the_command_line() {
    let (root, data, out) = synthetic_run("vidt-plus", 2, 4);
    let train_on = |device: &str, data: &std::path::Path, out: &std::path::Path| {
        vidt()
            .args([
                "train",
                "--device",
                device,
                "--plus",
                "--preset",
                "pico",
                "--det-tokens",
                "20",
            ])
            .args(["--num-classes", "4", "--epochs", "1", "--batch-size", "2"])
            .args(["--scales", "64", "--max-size", "64", "--data"])
            .arg(data)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap()
    };
    let train = |data: &std::path::Path, out: &std::path::Path| train_on("cpu", data, out);
    let r = train(&data, &out);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    // The same epoch on wgpu (EPFF's upsampling differentiates there too).
    let gpu_out = root.join("gpu-run");
    let gpu = train_on("wgpu", &data, &gpu_out);
    assert!(
        gpu.status.success(),
        "{}",
        String::from_utf8_lossy(&gpu.stderr)
    );
    let (gpu_state, _) = vidt::train::checkpoint::read_checkpoint(&gpu_out).unwrap();
    assert!(gpu_state.config.plus && gpu_state.history[0].train_loss.is_finite());
    let (state, weights) = vidt::train::checkpoint::read_checkpoint(&out).unwrap();
    assert!(state.config.plus && state.config.det_tokens == 20);
    assert!(state.history[0].train_loss.is_finite());
    let ckpt = root.join("plus.safetensors");
    vidt::io::write_safetensors(&ckpt, &weights, vidt::tensor_map::Dtype::F32).unwrap();
    let stdout = run_ok(
        vidt()
            .args(["detect", "--device", "cpu", "--threshold", "0", "--weights"])
            .arg(&ckpt)
            .arg(data.join("images/000000.png")),
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let dets = v[0]["detections"].as_array().unwrap();
    assert!(!dets.is_empty() && dets.iter().all(|d| d["segmentation"]["counts"].is_string()));

    // The same data with its segmentations taken out.
    let bare = root.join("bare");
    std::fs::create_dir_all(&bare).unwrap();
    let mut ann: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("annotations.json")).unwrap())
            .unwrap();
    for a in ann["annotations"].as_array_mut().unwrap() {
        a.as_object_mut().unwrap().remove("segmentation");
    }
    std::fs::write(bare.join("annotations.json"), ann.to_string()).unwrap();
    std::os::unix::fs::symlink(data.join("images"), bare.join("images")).unwrap();
    let r = train(&bare, &root.join("bare-run"));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        !r.status.success() && err.contains("000000.png") && err.contains("instance masks"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&root);
}

/// Fine-tuning a ViDT+ checkpoint (`--init`, the official nano with 300 tokens) with a ViDT+
/// teacher (token-matching distillation): the run stays ViDT+ and its step is finite.
#[test]
fn fine_tunes_a_plus_checkpoint_with_a_plus_teacher() {
    let (root, data, out) = synthetic_run("vidt-plus-ft", 2, 6);
    let plus = fixture_path("vidt_plus_nano_perturbed_f16.safetensors");
    let teacher = root.join("teacher.vidt");
    run_ok(
        vidt()
            .args(["export", "--dtype", "f16", "--weights"])
            .arg(&plus)
            .arg("--out")
            .arg(&teacher),
    );
    run_ok(
        vidt()
            .args([
                "train",
                "--device",
                "cpu",
                "--epochs",
                "1",
                "--batch-size",
                "2",
            ])
            .args(["--scales", "64", "--max-size", "64", "--data"])
            .arg(&data)
            .arg("--out")
            .arg(&out)
            .arg("--init")
            .arg(&plus)
            .arg("--teacher")
            .arg(&teacher),
    );
    let (state, _) = vidt::train::checkpoint::read_checkpoint(&out).unwrap();
    assert!(state.config.plus && state.config.det_tokens == 300);
    assert_eq!(state.step, 1);
    assert!(state.history[0].train_loss.is_finite());
    let _ = std::fs::remove_dir_all(&root);
}
