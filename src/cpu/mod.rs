//! The CPU backend's hot ops (burn's `flex`), as plain loops over contiguous f32: Swin window
//! attention straight from the qkv map by index arithmetic (shift, pad, partition, reverse and
//! the relative bias folded in), whole-sequence multi-head attention, deformable attention's
//! bilinear sampling (with the value projection applied to the samples, not the memory), the
//! linear layers, GELU and GroupNorm. Threads over independent windows / queries natively
//! (rayon, the pool flex and gemm share); one thread in the browser, where this is the CPU
//! fallback. Inference only: under autodiff the tensor-op
//! references run (they are differentiable), so training is unchanged.

mod attend;
mod attention;
mod erf;
mod exp;
mod group_norm;
mod linear;
mod ms_deform_attn;
mod simd;
mod swin_attention;

use burn::backend::Flex;
use burn::tensor::{DType, Tensor, TensorData};
use burn_flex::FlexTensor;

use crate::ops::attention::{self as attention_ref, Heads};
use crate::ops::{
    SwinWindows, VidtBackend, ms_deform_attn as msda_ref, norms as norms_ref,
    swin_attention as swin_ref,
};

/// The tensor as a contiguous f32 primitive (no copy when it already is one); `None` for
/// another element type (the caller falls back to the reference).
fn contiguous<const D: usize>(t: &Tensor<Flex, D>) -> Option<FlexTensor> {
    (t.dtype() == DType::F32).then(|| t.clone().into_primitive().tensor().to_contiguous())
}

/// An optional bias as [`contiguous`]: `Some(None)` when there is none, `None` when it has
/// another element type.
fn contiguous_bias(bias: &Option<Tensor<Flex, 1>>) -> Option<Option<FlexTensor>> {
    match bias {
        None => Some(None),
        Some(b) => contiguous(b).map(Some),
    }
}

fn tensor<const D: usize>(data: Vec<f32>, shape: [usize; D]) -> Tensor<Flex, D> {
    Tensor::from_data(TensorData::new(data, shape), &Default::default())
}

/// Runs `f(i, chunk)` over the `chunk`-sized pieces of `out`, in parallel where there are
/// threads.
fn for_chunks(out: &mut [f32], chunk: usize, f: impl Fn(usize, &mut [f32]) + Send + Sync) {
    #[cfg(not(target_arch = "wasm32"))]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, o)| f(i, o));
    }
    #[cfg(target_arch = "wasm32")]
    out.chunks_mut(chunk).enumerate().for_each(|(i, o)| f(i, o));
}

impl VidtBackend for Flex {
    /// No: flex stores f16 but computes it through f32 (slower, not faster), our CPU loops take
    /// f32, and the browser's CPU fallback leaves flex's f16 kernels out (vendor/README.md).
    fn runs_f16(_: &Self::Device) -> bool {
        false
    }

    fn linear_last<const D: usize>(
        x: Tensor<Self, D>,
        weight: Tensor<Self, 2>,
        bias: Option<Tensor<Self, 1>>,
    ) -> Tensor<Self, D> {
        let dims = x.dims();
        let [k, n] = weight.dims();
        let b = contiguous_bias(&bias);
        match (contiguous(&x), contiguous(&weight), b) {
            (Some(xv), Some(wv), Some(bv)) if D >= 2 && dims[D - 1] == k => {
                let m = dims[..D - 1].iter().product();
                let out = linear::forward(
                    xv.storage(),
                    wv.storage(),
                    bv.as_ref().map(|b| b.storage()),
                    m,
                    k,
                    n,
                );
                let mut shape = dims;
                shape[D - 1] = n;
                tensor(out, shape)
            }
            _ => burn::tensor::module::linear(x, weight, bias),
        }
    }

    fn attention_heads(
        q: Tensor<Self, 3>,
        k: Tensor<Self, 3>,
        v: Tensor<Self, 3>,
        heads: Heads,
    ) -> Tensor<Self, 3> {
        let ([b, nq, rq], [bk, nk, rk], [bv, nv, rv]) = (q.dims(), k.dims(), v.dims());
        let fits = bk == b
            && bv == b
            && nv == nk
            && heads.width % heads.heads == 0
            && [rq, rk, rv]
                .iter()
                .zip(heads.cols)
                .all(|(&r, c)| c + heads.width <= r);
        if let (true, Some(qv), Some(kv), Some(vv)) =
            (fits, contiguous(&q), contiguous(&k), contiguous(&v))
        {
            let parts = [qv.storage(), kv.storage(), vv.storage()];
            if let Some(out) = attention::forward(parts, [rq, rk, rv], (b, nq, nk), heads) {
                return tensor(out, [b, nq, heads.width]);
            }
        }
        attention_ref::reference(q, k, v, heads)
    }

    fn gelu_tokens(x: Tensor<Self, 3>) -> Tensor<Self, 3> {
        let dims = x.dims();
        let Some(p) = contiguous(&x) else {
            return burn::tensor::activation::gelu(x);
        };
        // flex's formula with a vectorizable erf (`erf.rs`), on every thread.
        let input = p.storage::<f32>();
        let mut out = vec![0f32; input.len()];
        for_chunks(&mut out, 1 << 14, |i, o| {
            let src = &input[i << 14..];
            simd::wide(|| {
                for (y, &v) in o.iter_mut().zip(src) {
                    *y = 0.5 * v * (1.0 + erf::erf(v / core::f32::consts::SQRT_2));
                }
            })
        });
        tensor(out, dims)
    }

    fn group_norm_tokens(
        x: Tensor<Self, 3>,
        weight: Tensor<Self, 1>,
        bias: Tensor<Self, 1>,
        groups: usize,
        eps: f64,
    ) -> Tensor<Self, 3> {
        let dims = x.dims();
        match (contiguous(&x), contiguous(&weight), contiguous(&bias)) {
            (Some(v), Some(w), Some(b)) if dims[2] % groups == 0 => {
                let out =
                    group_norm::forward(v.storage(), w.storage(), b.storage(), dims, groups, eps);
                tensor(out, dims)
            }
            _ => norms_ref::group_norm_reference(x, weight, bias, groups, eps),
        }
    }

    fn swin_window_attention(
        qkv: Tensor<Self, 4>,
        qkv_bias: Tensor<Self, 1>,
        table: Tensor<Self, 2>,
        s: SwinWindows,
    ) -> Tensor<Self, 4> {
        let dims = qkv.dims();
        let [b, h, w, c3] = dims;
        let heads = table.dims()[1];
        if c3 % (3 * s.heads) != 0 || heads != s.heads {
            return swin_ref::reference(qkv, qkv_bias, table, s);
        }
        match (contiguous(&qkv), contiguous(&qkv_bias), contiguous(&table)) {
            (Some(x), Some(bias), Some(tab)) => {
                let (x, bias, tab) = (x.storage(), bias.storage(), tab.storage());
                let out = swin_attention::forward(x, bias, tab, dims, s);
                tensor(out, [b, h, w, c3 / 3])
            }
            _ => swin_ref::reference(qkv, qkv_bias, table, s),
        }
    }

    fn ms_deform_attn(
        value: Tensor<Self, 4>,
        shapes: &[(usize, usize)],
        locations: Tensor<Self, 6>,
        weights: Tensor<Self, 5>,
    ) -> Tensor<Self, 3> {
        let vd = value.dims();
        let ld = locations.dims();
        match (
            contiguous(&value),
            contiguous(&locations),
            contiguous(&weights),
        ) {
            (Some(v), Some(l), Some(a)) => {
                let (v, l, a) = (v.storage(), l.storage(), a.storage());
                let out = ms_deform_attn::forward(v, vd, shapes, l, ld, a);
                tensor(out, [vd[0], ld[1], vd[2] * vd[3]])
            }
            _ => msda_ref::reference(value, shapes, locations, weights),
        }
    }

    fn ms_deform_attn_projected(
        memory: Tensor<Self, 3>,
        keep: Tensor<Self, 3>,
        weight: Tensor<Self, 2>,
        bias: Option<Tensor<Self, 1>>,
        heads: usize,
        shapes: &[(usize, usize)],
        locations: Tensor<Self, 6>,
        weights: Tensor<Self, 5>,
    ) -> Tensor<Self, 3> {
        let dims @ [n, s, c] = memory.dims();
        let [c_in, width] = weight.dims();
        let ld = locations.dims();
        let fits = c_in == c && keep.dims() == [n, s, 1] && width % heads == 0 && ld[2] == heads;
        let b = contiguous_bias(&bias);
        let parts = (
            contiguous(&memory),
            contiguous(&keep),
            contiguous(&weight),
            contiguous(&locations),
            contiguous(&weights),
        );
        match (parts, b) {
            ((Some(mv), Some(kv), Some(wv), Some(l), Some(a)), Some(bv)) if fits => {
                let mem = ms_deform_attn::Memory {
                    memory: mv.storage(),
                    keep: kv.storage(),
                    weight: wv.storage(),
                    bias: bv.as_ref().map(|b| b.storage()),
                    dims,
                };
                let out =
                    ms_deform_attn::projected(&mem, heads, shapes, l.storage(), ld, a.storage());
                tensor(out, [n, ld[1], width])
            }
            _ => {
                let value = msda_ref::project::<Self>(memory, keep, weight, bias, heads);
                Self::ms_deform_attn(value, shapes, locations, weights)
            }
        }
    }
}
