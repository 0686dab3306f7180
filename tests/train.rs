#![cfg(feature = "flex")]
//! Training on the CPU backend: twenty steps on a handful of synthetic images at least
//! halve the loss (the whole path — autodiff through the model, matcher, criterion, AdamW with
//! gradient clipping — works).

mod common;

use burn::grad_clipping::GradientClippingConfig;
use burn::optim::AdamWConfig;
use burn::tensor::{Tensor, TensorData};
use common::*;
use vidt::train::Target;
use vidt::train::criterion::Criterion;
use vidt::train::step::train_step;
use vidt::train::synth;

#[test]
fn overfits_a_few_synthetic_images() {
    let w = checkpoint();
    let cfg = vidt::VidtConfig::infer(&w).unwrap();
    let dev = cpu();
    let mut model = vidt::Vidt::<AB>::load(&w, &cfg, &dev).unwrap();
    let mut rng = synth::Rng::new(3);
    let (size, b) = (96usize, 2usize);
    let mut data = Vec::new();
    let mut targets = Vec::new();
    for _ in 0..b {
        let (img, objects) = synth::image(&mut rng, size as u32, size as u32, 3);
        let batch = vidt::preprocess::make_batch(std::slice::from_ref(&img), size, size);
        data.extend(batch.data);
        let s = size as f32;
        targets.push(Target {
            labels: objects.iter().map(|o| o.category).collect(),
            boxes: objects
                .iter()
                .map(|o| {
                    let [x0, y0, x1, y1] = o.bbox;
                    [
                        (x0 + x1) / 2.0 / s,
                        (y0 + y1) / 2.0 / s,
                        (x1 - x0) / s,
                        (y1 - y0) / s,
                    ]
                })
                .collect(),
        });
    }
    let images = Tensor::<AB, 4>::from_data(TensorData::new(data, [b, 3, size, size]), &dev);
    let mask = vidt::PixelMask::zeros(b, size, size);
    let criterion = Criterion::default();
    let mut optim = AdamWConfig::new()
        .with_weight_decay(1e-4)
        .with_grad_clipping(Some(GradientClippingConfig::Norm(0.1)))
        .init();
    let mut losses = Vec::new();
    for _ in 0..20 {
        let (m, loss) = train_step(
            model,
            &mut optim,
            2e-4,
            images.clone(),
            &mask,
            &targets,
            &criterion,
            None,
        )
        .unwrap();
        model = m;
        losses.push(loss.total);
    }
    println!("losses: {losses:?}");
    let (first, last) = (losses[0], *losses.last().unwrap());
    assert!(
        last.is_finite() && last <= 0.5 * first,
        "loss {first} -> {last}"
    );
}

/// A run killed during an epoch resumes from the last complete checkpoint and finishes with
/// the same number of steps as an uninterrupted run; its checkpoint loads as a detector.
#[test]
fn killed_run_resumes_and_finishes_all_steps() {
    let root = std::env::temp_dir().join(format!("vidt-train-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (data, out) = (root.join("data"), root.join("run"));
    run_ok(
        vidt()
            .args([
                "synth", "--images", "4", "--seed", "9", "--size", "64x64", "--out",
            ])
            .arg(&data),
    );
    let teacher = root.join("teacher.vidt");
    run_ok(
        vidt()
            .arg("export")
            .arg("--weights")
            .arg(fixture_path("vidt_nano_perturbed.pth"))
            .args(["--dtype", "f16", "--out"])
            .arg(&teacher),
    );
    let train = |extra: &[&str]| {
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
        .arg(&out)
        .arg("--init")
        .arg(fixture_path("vidt_nano_perturbed.pth"))
        // Token-matching distillation on (a teacher of other weights), kept across --resume.
        .arg("--teacher")
        .arg(&teacher)
        .args(extra);
        c.output().unwrap()
    };
    // Killed at step 3 of 6: mid-epoch 2, after epoch 1's checkpoint.
    let killed = train(&["--abort-after-steps", "3"]);
    assert_eq!(
        killed.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&killed.stderr)
    );
    let (state, _) = vidt::train::fit::read_checkpoint(&out).unwrap();
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
    let (state, _) = vidt::train::fit::read_checkpoint(&out).unwrap();
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
    vidt::Detector::<B>::from_file(vidt::train::fit::checkpoint_weights_path(&out, 3), &cpu())
        .unwrap();
}

/// Dropout (decoder, 0.1) is active under autodiff and absent at inference.
#[test]
fn dropout_only_in_training() {
    fn logits<BB: vidt::ops::VidtBackend>() -> [Vec<f32>; 2] {
        let w = checkpoint();
        let cfg = vidt::VidtConfig::infer(&w).unwrap();
        let dev: burn::tensor::Device<BB> = Default::default();
        let m = vidt::Vidt::<BB>::load(&w, &cfg, &dev).unwrap();
        let mask = vidt::PixelMask::zeros(1, 64, 64);
        let x = vidt::bench::pseudo_random(3 * 64 * 64, 1, -2.0, 2.0);
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
