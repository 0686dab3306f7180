#![cfg(feature = "flex")]
//! The whole-map Swin window attention (shift, pad, partition, reverse, relative bias and mask
//! folded into one op) against its tensor-op reference, on the CPU backend's loops and on the
//! wgpu kernel: maps that are window multiples, that are not, and that are smaller than one
//! window; shifted and not; two images.

use burn::tensor::backend::Backend;
use burn::tensor::{Device, Tensor, TensorData};
use vidt::ops::{SwinWindows, VidtBackend, swin_attention};

fn rand<BB: Backend, const D: usize>(
    shape: [usize; D],
    seed: u64,
    dev: &Device<BB>,
) -> Tensor<BB, D> {
    let n = shape.iter().product();
    let data = vidt::rng::Rng::new(seed).uniforms(n, -1.0, 1.0);
    Tensor::from_data(TensorData::new(data, shape), dev)
}

fn check<BB: VidtBackend>(name: &str, dev: &Device<BB>) {
    let mut worst = 0f32;
    for (case, &(b, h, w, heads, hd, shift)) in [
        (2, 14, 21, 3, 16, 3), // window multiples, shifted
        (1, 11, 16, 3, 16, 3), // padded on both sides, shifted
        (1, 11, 16, 6, 16, 0), // padded, not shifted
        (1, 5, 6, 2, 32, 3),   // smaller than one window
        (1, 25, 38, 12, 16, 3),
        (1, 9, 10, 4, 8, 3), // head dims the CPU blocks by 1 and 3 vectors,
        (1, 8, 9, 1, 24, 3),
        (1, 9, 10, 2, 12, 3), // and one it runs unblocked
    ]
    .iter()
    .enumerate()
    {
        let c = heads * hd;
        let ws = 7;
        let s = SwinWindows {
            heads,
            ws,
            shift,
            scale: (hd as f32).powf(-0.5),
        };
        let seed = 10 * case as u64;
        let qkv = rand::<BB, 4>([b, h, w, 3 * c], seed, dev);
        let bias = rand::<BB, 1>([3 * c], seed + 1, dev);
        let table = rand::<BB, 2>([(2 * ws - 1) * (2 * ws - 1), heads], seed + 2, dev);
        let ours = BB::swin_window_attention(qkv.clone(), bias.clone(), table.clone(), s);
        let reference = swin_attention::reference(qkv, bias, table, s);
        assert_eq!(ours.dims(), [b, h, w, c]);
        let a = ours.into_data().to_vec::<f32>().unwrap();
        let r = reference.into_data().to_vec::<f32>().unwrap();
        let d = a
            .iter()
            .zip(&r)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        println!(
            "{name} case {case} ({b}x{h}x{w}, {heads} heads of {hd}, shift {shift}): max|diff| {d:.2e}"
        );
        assert!(d <= 1e-5, "{name} case {case}: {d}");
        worst = worst.max(d);
    }
    println!("{name}: worst {worst:.2e}");
}

#[test]
fn cpu_loops_match_the_reference() {
    check::<vidt::backend::Cpu>("cpu", &Default::default());
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_kernel_matches_the_reference() {
    // Every case ran the WGSL kernel, not its reference fallback.
    crate::common::launched(vidt::launches::Kernel::SwinWindowAttention, 8, || {
        check::<vidt::backend::Gpu>("wgpu", &Default::default())
    });
}

#[test]
fn padded_tokens_attend_with_the_projection_bias() {
    // A 1x1 map in a 7x7 window: 48 of the 49 keys are padded tokens whose qkv is the bias;
    // with a zero table, every key but the pixel itself is the bias row, so the output is a
    // known mix of the pixel's v and the bias's v.
    type C = vidt::backend::Cpu;
    let dev = Default::default();
    let heads = 1;
    // The pixel's qkv without the bias (the op adds it: v becomes [4, 6]).
    let qkv = Tensor::<C, 4>::from_data(
        TensorData::new(vec![1.0, 0.0, 1.0, 0.0, 3.0, 5.0], [1, 1, 1, 6]),
        &dev,
    );
    let bias = Tensor::<C, 1>::from_data(
        TensorData::new(vec![0.0, 0.0, 0.0, 0.0, 1.0, 1.0], [6]),
        &dev,
    );
    let table = Tensor::<C, 2>::zeros([169, 1], &dev);
    let s = SwinWindows {
        heads,
        ws: 7,
        shift: 0,
        scale: 1.0,
    };
    let out = C::swin_window_attention(qkv, bias, table, s)
        .into_data()
        .to_vec::<f32>()
        .unwrap();
    // Scores: q.k = 1 for the pixel, 0 for the 48 padded keys.
    let (e, n) = (1f32.exp(), 48.0);
    let want = [(4.0 * e + n) / (e + n), (6.0 * e + n) / (e + n)];
    assert!(
        (out[0] - want[0]).abs() < 1e-5 && (out[1] - want[1]).abs() < 1e-5,
        "{out:?} vs {want:?}"
    );
}

/// RAM's joined op (stages 1-3): the windowed attention's rows then the [DET x DET]
/// attention's, as the two references and a `cat` give them; the wgpu kernels write both into
/// one buffer at row offsets, so a wrong offset or row count shows here.
fn check_ram<BB: VidtBackend>(name: &str, dev: &Device<BB>) {
    use vidt::ops::attention::{self, Heads};
    // (B, H, W, heads, head dim, shift, Q): two images, padded maps, Q across a 64-query tile.
    for (case, &(b, h, w, heads, hd, shift, q)) in [
        (2, 11, 16, 3, 16, 3, 70),
        (1, 14, 21, 2, 32, 0, 5),
        (2, 5, 6, 4, 8, 3, 100),
    ]
    .iter()
    .enumerate()
    {
        let c = heads * hd;
        let ws = 7;
        let scale = (hd as f32).powf(-0.5);
        let s = SwinWindows {
            heads,
            ws,
            shift,
            scale,
        };
        let dh = Heads {
            heads,
            width: c,
            cols: [0, c, 2 * c],
            scale,
        };
        let seed = 100 + 10 * case as u64;
        // The map's rows, then Q rows the windowed attention must not read.
        let qkv = rand::<BB, 3>([b, h * w + q, 3 * c], seed, dev);
        let bias = rand::<BB, 1>([3 * c], seed + 1, dev);
        let table = rand::<BB, 2>([(2 * ws - 1) * (2 * ws - 1), heads], seed + 2, dev);
        let det = rand::<BB, 3>([b, q, 3 * c], seed + 3, dev);
        let ours = BB::ram_attention(
            qkv.clone(),
            (h, w),
            bias.clone(),
            table.clone(),
            s,
            det.clone(),
            dh,
        );
        let map = qkv.slice([0..b, 0..h * w]).reshape([b, h, w, 3 * c]);
        let patch = swin_attention::reference(map, bias, table, s).reshape([b, h * w, c]);
        let det = attention::reference(det.clone(), det.clone(), det, dh);
        let reference = Tensor::cat(vec![patch, det], 1);
        assert_eq!(ours.dims(), [b, h * w + q, c]);
        let a = ours.into_data().to_vec::<f32>().unwrap();
        let r = reference.into_data().to_vec::<f32>().unwrap();
        let d = a
            .iter()
            .zip(&r)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f32::max);
        println!("{name} RAM case {case} ({b}x{h}x{w} + {q} [DET]): max|diff| {d:.2e}");
        assert!(d <= 1e-5, "{name} RAM case {case}: {d}");
    }
}

#[test]
fn cpu_ram_attention_matches_the_references() {
    check_ram::<vidt::backend::Cpu>("cpu", &Default::default());
}

#[cfg(feature = "wgpu")]
#[test]
fn wgpu_ram_attention_matches_the_references() {
    // Both kernels ran for every case (not the reference fallback).
    crate::common::launched(vidt::launches::Kernel::Attention, 3, || {
        crate::common::launched(vidt::launches::Kernel::SwinWindowAttention, 3, || {
            check_ram::<vidt::backend::Gpu>("wgpu", &Default::default())
        })
    });
}
