#![cfg(feature = "flex")]
//! The deformable-attention reference op against the official pure-PyTorch op
//! (`fixture_msda`): forward, and backward through autodiff.
//!
//! The fixture's gradients come from a float32 run only, so an independent float64 oracle
//! (bilinear sampling written out by hand, below) calibrates what float32 can promise.

use crate::common::*;
use burn::tensor::{ElementConversion, Tensor, TensorData};
use vidt::TensorMap;
use vidt::ops::ms_deform_attn;

const TOL: f32 = 1e-5;

fn shapes(f: &TensorMap) -> Vec<(usize, usize)> {
    get(f, "spatial_shapes")
        .data
        .chunks(2)
        .map(|c| (c[0] as usize, c[1] as usize))
        .collect()
}

fn t<BB: burn::tensor::backend::Backend, const D: usize>(
    f: &TensorMap,
    k: &str,
    dev: &burn::tensor::Device<BB>,
) -> Tensor<BB, D> {
    let w = get(f, k);
    Tensor::from_data(TensorData::new(w.data.clone(), w.shape.clone()), dev)
}

#[test]
fn forward_matches_reference() {
    let f = fixture("fixture_msda.safetensors");
    let dev = cpu();
    let out = ms_deform_attn::reference::<B>(
        t(&f, "value", &dev),
        &shapes(&f),
        t(&f, "sampling_locations", &dev),
        t(&f, "attention_weights", &dev),
    );
    assert_close("msda output", out.clone(), get(&f, "output"), TOL);
    assert_close("msda output vs f64", out, get(&f, "output_f64"), TOL);
}

/// The CPU backend's own deformable attention (loops, not the tensor-op reference).
#[test]
fn cpu_loops_match_the_official_forward() {
    use vidt::ops::VidtBackend;
    let f = fixture("fixture_msda.safetensors");
    let dev = cpu();
    let out = B::ms_deform_attn(
        t(&f, "value", &dev),
        &shapes(&f),
        t(&f, "sampling_locations", &dev),
        t(&f, "attention_weights", &dev),
    );
    assert_close("cpu msda output", out.clone(), get(&f, "output"), TOL);
    assert_close("cpu msda output vs f64", out, get(&f, "output_f64"), TOL);
}

/// Float64 forward and gradients of MSDA (value, locations, weights) for `grad_output`.
struct Oracle {
    out: Vec<f64>,
    g_value: Vec<f64>,
    g_loc: Vec<f64>,
    g_w: Vec<f64>,
}

fn oracle(f: &TensorMap) -> Oracle {
    let value = &get(f, "value");
    let loc = &get(f, "sampling_locations").data;
    let aw = &get(f, "attention_weights").data;
    let go = &get(f, "grad_output").data;
    let shp = shapes(f);
    let [n, s, m, d] = value.shape[..] else {
        panic!()
    };
    let dims = &get(f, "sampling_locations").shape;
    let (lq, l, p) = (dims[1], dims[3], dims[4]);
    let v =
        |b: usize, i: usize, h: usize, c: usize| value.data[((b * s + i) * m + h) * d + c] as f64;
    let mut o = Oracle {
        out: vec![0.0; n * lq * m * d],
        g_value: vec![0.0; value.data.len()],
        g_loc: vec![0.0; loc.len()],
        g_w: vec![0.0; aw.len()],
    };
    for b in 0..n {
        for q in 0..lq {
            for h in 0..m {
                let mut start = 0;
                for (li, &(hh, ww)) in shp.iter().enumerate() {
                    for pi in 0..p {
                        let wi = (((b * lq + q) * m + h) * l + li) * p + pi;
                        let (x, y) = (loc[wi * 2] as f64, loc[wi * 2 + 1] as f64);
                        let a = aw[wi] as f64;
                        let (px, py) = (x * ww as f64 - 0.5, y * hh as f64 - 0.5);
                        let (x0, y0) = (px.floor(), py.floor());
                        let (fx, fy) = (px - x0, py - y0);
                        let corners = [
                            (0, 0, (1.0 - fx) * (1.0 - fy), -(1.0 - fy), -(1.0 - fx)),
                            (1, 0, fx * (1.0 - fy), 1.0 - fy, -fx),
                            (0, 1, (1.0 - fx) * fy, -fy, 1.0 - fx),
                            (1, 1, fx * fy, fy, fx),
                        ];
                        let (mut dgx, mut dgy, mut dw) = (0.0, 0.0, 0.0);
                        for (dx, dy, wt, dwx, dwy) in corners {
                            let (cx, cy) = (x0 as i64 + dx, y0 as i64 + dy);
                            if cx < 0 || cy < 0 || cx >= ww as i64 || cy >= hh as i64 {
                                continue;
                            }
                            let i = start + cy as usize * ww + cx as usize;
                            for c in 0..d {
                                let oi = ((b * lq + q) * m + h) * d + c;
                                let g = go[oi] as f64;
                                let val = v(b, i, h, c);
                                o.out[oi] += a * wt * val;
                                o.g_value[((b * s + i) * m + h) * d + c] += a * wt * g;
                                dw += wt * val * g;
                                dgx += a * dwx * val * g;
                                dgy += a * dwy * val * g;
                            }
                        }
                        o.g_w[wi] += dw;
                        o.g_loc[wi * 2] += dgx * ww as f64;
                        o.g_loc[wi * 2 + 1] += dgy * hh as f64;
                    }
                    start += hh * ww;
                }
            }
        }
    }
    o
}

fn diff64(a: &[f32], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (*x as f64 - y).abs())
        .fold(0.0, f64::max)
}

#[test]
fn backward_matches_reference() {
    let f = fixture("fixture_msda.safetensors");
    let o = oracle(&f);
    // The oracle is the same op: it reproduces the official float64 forward.
    let f64_out = &get(&f, "output_f64").data;
    let oracle_err = o
        .out
        .iter()
        .zip(f64_out)
        .map(|(a, b)| (a - *b as f64).abs())
        .fold(0.0, f64::max);
    println!("oracle vs official f64 output: {oracle_err:.3e}");
    assert!(
        oracle_err < 1e-6,
        "oracle forward differs from output_f64 by {oracle_err}"
    );

    let dev = cpu();
    let value: Tensor<AB, 4> = t(&f, "value", &dev).require_grad();
    let loc: Tensor<AB, 6> = t(&f, "sampling_locations", &dev).require_grad();
    let w: Tensor<AB, 5> = t(&f, "attention_weights", &dev).require_grad();
    let out = ms_deform_attn::reference(value.clone(), &shapes(&f), loc.clone(), w.clone());
    let go: Tensor<AB, 3> = t(&f, "grad_output", &dev);
    let grads = (out * go).sum().backward();
    let ours = [
        (
            "grad_value",
            values(value.grad(&grads).expect("grad")),
            &o.g_value,
        ),
        (
            "grad_sampling_locations",
            values(loc.grad(&grads).expect("grad")),
            &o.g_loc,
        ),
        (
            "grad_attention_weights",
            values(w.grad(&grads).expect("grad")),
            &o.g_w,
        ),
    ];
    // Gradients sum many products (the location gradient is also scaled by the map size, up to
    // 20 per unit), so their float32 error grows with their magnitude: the official float32
    // gradients themselves sit up to ~2e-5 from the float64 truth. Two bounds:
    // (a) ours vs the float64 oracle within 1e-5 of the tensor's scale, max(1, max|g|);
    // (b) ours vs the official float32 gradients within 1e-5 plus the official one's own error.
    for (name, (dims, g), truth) in ours {
        let official = get(&f, name);
        let scale = truth.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        let ours_err = diff64(&g, truth);
        let official_err = diff64(&official.data, truth);
        let vs_official = max_diff(name, (&dims, &g), official) as f64;
        println!(
            "{name:<24} ours vs official {vs_official:.3e} | vs f64 oracle: ours {ours_err:.3e}, official {official_err:.3e} (max|g| {scale:.2e})"
        );
        assert!(
            ours_err <= 1e-5 * scale,
            "{name}: {ours_err:e} from the float64 oracle"
        );
        assert!(
            vs_official <= 1e-5 + official_err,
            "{name}: {vs_official:e} from the official gradient"
        );
    }
}

/// Deformable attention over the un-projected memory (samples gathered, then projected: the
/// CPU's loops) against the projection followed by the reference, on the
/// fixture's sampling with a memory, value projection and bias of our own and a third of the
/// pixels padded.
fn check_projected<BB: vidt::ops::VidtBackend>(name: &str, dev: &burn::tensor::Device<BB>) {
    let f = fixture("fixture_msda.safetensors");
    let [n, s, m, d] = get(&f, "value").shape[..] else {
        panic!("value is 4-D")
    };
    let c = 24;
    let wave =
        |len: usize, k: f32| -> Vec<f32> { (0..len).map(|i| (i as f32 * k).sin() * 0.8).collect() };
    let memory = Tensor::<BB, 3>::from_data(TensorData::new(wave(n * s * c, 0.37), [n, s, c]), dev);
    let keep: Vec<f32> = (0..n * s).map(|i| (i % 3 != 1) as u8 as f32).collect();
    let keep = Tensor::<BB, 3>::from_data(TensorData::new(keep, [n, s, 1]), dev);
    let weight =
        Tensor::<BB, 2>::from_data(TensorData::new(wave(c * m * d, 0.91), [c, m * d]), dev);
    let bias = Tensor::<BB, 1>::from_data(TensorData::new(wave(m * d, 1.7), [m * d]), dev);
    let (loc, w) = (
        t::<BB, 6>(&f, "sampling_locations", dev),
        t::<BB, 5>(&f, "attention_weights", dev),
    );
    let value = ms_deform_attn::project::<BB>(
        memory.clone(),
        keep.clone(),
        weight.clone(),
        Some(bias.clone()),
        m,
    );
    let reference = ms_deform_attn::reference(value, &shapes(&f), loc.clone(), w.clone());
    let ours =
        BB::ms_deform_attn_projected(memory, keep, weight, Some(bias), m, &shapes(&f), loc, w);
    let scale: f32 = reference.clone().abs().max().into_scalar().elem();
    let diff = max_abs_diff(ours, reference);
    println!("{name}: projected msda vs projection + reference: {diff:.2e} (max |ref| {scale:.2})");
    assert!(scale > 0.1, "the case is not degenerate");
    assert!(diff <= 1e-5 * scale.max(1.0), "{name}: {diff}");
}

#[test]
fn cpu_projected_value_matches_projection_then_reference() {
    check_projected::<B>("cpu", &cpu());
}
