//! One thin launcher per WGSL kernel (`wgsl/`), and the wgpu backend's [`VidtBackend`]
//! implementation that uses them.

mod attention;
mod fusion;
pub mod launches;
mod ms_deform_attn;
mod norms;
mod swin_attention;

use burn::backend::wgpu::{
    BoolElement, CubeBackend, CubeTensor, FloatElement, IntElement, SourceTemplate, WgpuRuntime,
};
use burn::tensor::{DType, Tensor, TensorPrimitive};
use cubecl::CubeCount;

use crate::ops::{
    SwinWindows, VidtBackend, ms_deform_attn as msda_ref, norms as norms_ref,
    swin_attention as swin_ref,
};

/// Largest workgroup count per dispatch dimension (the WebGPU default limit).
const MAX_GROUPS: u32 = 65535;

/// `groups` workgroups as a 2-D dispatch (the kernels flatten `x + y * nx`).
pub(crate) fn cube_count(groups: usize) -> CubeCount {
    let groups = groups.max(1) as u32;
    let x = groups.min(MAX_GROUPS);
    CubeCount::Static(x, groups.div_ceil(x), 1)
}

pub(crate) type Prim = CubeTensor<WgpuRuntime>;

thread_local! {
    /// Parameter buffers by device and contents (see [`params`]).
    static PARAMS: std::cell::RefCell<std::collections::HashMap<(String, Vec<u32>), cubecl::server::Handle>> =
        Default::default();
}

/// A kernel's small parameter buffer (shapes, scale), uploaded once per device and contents
/// and reused: the same few recur in every forward, and on WebGPU each upload is a queue write
/// with its own overhead.
pub(crate) fn params(like: &Prim, values: &[u32]) -> cubecl::server::Handle {
    let key = (format!("{:?}", like.device), values.to_vec());
    PARAMS.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.len() > 4096 {
            cache.clear(); // bounded: shapes of a few image sizes fit many times over
        }
        cache
            .entry(key)
            .or_insert_with(|| {
                crate::ops::upload::noted();
                like.client.create_from_slice(bytemuck::cast_slice(values))
            })
            .clone()
    })
}

/// A contiguous tensor of `shape` in `like`'s dtype on its device, contents undefined (our
/// kernels' outputs).
pub(crate) fn empty(like: &Prim, shape: Vec<usize>) -> Prim {
    let bytes = shape.iter().product::<usize>() * like.dtype.size();
    let handle = like.client.empty(bytes);
    Prim::new_contiguous(
        like.client.clone(),
        like.device.clone(),
        burn::tensor::Shape::from(shape),
        handle,
        like.dtype,
    )
}

/// Whether our kernels take float tensors of these dtypes: all f32, or all f16 (an f16 model,
/// [`crate::model::precision`]); anything else runs the tensor-op reference.
fn kernel_dtypes(dtypes: &[DType]) -> bool {
    matches!(dtypes[0], DType::F32 | DType::F16) && dtypes.iter().all(|&d| d == dtypes[0])
}

/// Fills a kernel template's float storage type: `{{ elem }}` is `f32` or `f16` (with the
/// `enable f16;` directive WGSL requires first); the kernels compute in f32 either way.
pub(crate) fn with_elem(t: SourceTemplate, dtype: DType) -> SourceTemplate {
    let enable = if dtype == DType::F16 {
        "enable f16;"
    } else {
        ""
    };
    t.register("elem", elem(dtype)).register("enable", enable)
}

/// The WGSL storage type of our kernels' float buffers for `dtype`.
pub(crate) fn elem(dtype: DType) -> &'static str {
    if dtype == DType::F16 { "f16" } else { "f32" }
}

fn prim<B: burn::tensor::backend::Backend<FloatTensorPrimitive = Prim>, const D: usize>(
    t: Tensor<B, D>,
) -> Prim {
    t.into_primitive().tensor()
}

fn tensor<B: burn::tensor::backend::Backend<FloatTensorPrimitive = Prim>, const D: usize>(
    p: Prim,
) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(p))
}

/// CUDA beside wgpu (fusion on for both): the references, fused by burn; the WGSL kernels are
/// wgpu's.
#[cfg(feature = "cuda")]
impl<F: FloatElement, I: IntElement, BT: BoolElement> VidtBackend
    for CubeBackend<cubecl::cuda::CudaRuntime, F, I, BT>
{
}

impl<F: FloatElement, I: IntElement, BT: BoolElement> VidtBackend
    for CubeBackend<WgpuRuntime, F, I, BT>
{
    fn ms_deform_attn(
        value: Tensor<Self, 4>,
        shapes: &[(usize, usize)],
        locations: Tensor<Self, 6>,
        weights: Tensor<Self, 5>,
    ) -> Tensor<Self, 3> {
        if !kernel_dtypes(&[value.dtype(), locations.dtype(), weights.dtype()]) {
            return msda_ref::reference(value, shapes, locations, weights);
        }
        tensor(ms_deform_attn::forward(
            prim(value),
            shapes,
            prim(locations),
            prim(weights),
        ))
    }

    fn has_ms_deform_attn_backward() -> bool {
        true
    }

    fn ms_deform_attn_backward(
        value: Tensor<Self, 4>,
        shapes: &[(usize, usize)],
        locations: Tensor<Self, 6>,
        weights: Tensor<Self, 5>,
        grad_output: Tensor<Self, 3>,
    ) -> (Tensor<Self, 4>, Tensor<Self, 6>, Tensor<Self, 5>) {
        let [_, _, _, d] = value.dims();
        let [_, _, _, l, p, _] = locations.dims();
        if value.dtype() != DType::F32 || !ms_deform_attn::backward_supported(d, l * p) {
            return msda_ref::reference_backward(value, shapes, locations, weights, grad_output);
        }
        let (gv, gl, gw) = ms_deform_attn::backward(
            prim(value),
            shapes,
            prim(locations),
            prim(weights),
            prim(grad_output),
        );
        (tensor(gv), tensor(gl), tensor(gw))
    }

    fn attention_heads(
        q: Tensor<Self, 3>,
        k: Tensor<Self, 3>,
        v: Tensor<Self, 3>,
        s: crate::ops::attention::Heads,
    ) -> Tensor<Self, 3> {
        if !kernel_dtypes(&[q.dtype(), k.dtype(), v.dtype()])
            || !attention::supported(s.width / s.heads)
        {
            return crate::ops::attention::reference(q, k, v, s);
        }
        tensor(attention::forward(prim(q), Some((prim(k), prim(v))), s))
    }

    fn attention_heads_packed(
        qkv: Tensor<Self, 3>,
        s: crate::ops::attention::Heads,
    ) -> Tensor<Self, 3> {
        if !kernel_dtypes(&[qkv.dtype()]) || !attention::supported(s.width / s.heads) {
            return crate::ops::attention::reference(qkv.clone(), qkv.clone(), qkv, s);
        }
        tensor(attention::forward(prim(qkv), None, s))
    }

    fn layer_norm_last(
        x: Tensor<Self, 3>,
        gamma: Tensor<Self, 1>,
        beta: Tensor<Self, 1>,
        eps: f64,
    ) -> Tensor<Self, 3> {
        if !kernel_dtypes(&[x.dtype(), gamma.dtype(), beta.dtype()]) {
            return norms_ref::layer_norm_reference(x, gamma, beta, eps);
        }
        tensor(norms::layer_norm(prim(x), prim(gamma), prim(beta), eps))
    }

    fn softmax_last(x: Tensor<Self, 4>) -> Tensor<Self, 4> {
        if !kernel_dtypes(&[x.dtype()]) {
            return norms_ref::softmax_reference(x);
        }
        tensor(norms::softmax(prim(x)))
    }

    fn group_norm_tokens(
        x: Tensor<Self, 3>,
        weight: Tensor<Self, 1>,
        bias: Tensor<Self, 1>,
        groups: usize,
        eps: f64,
    ) -> Tensor<Self, 3> {
        if !kernel_dtypes(&[x.dtype(), weight.dtype(), bias.dtype()]) || x.dims()[2] % groups != 0 {
            return norms_ref::group_norm_reference(x, weight, bias, groups, eps);
        }
        tensor(norms::group_norm(
            prim(x),
            prim(weight),
            prim(bias),
            groups,
            eps,
        ))
    }

    fn swin_window_attention(
        qkv: Tensor<Self, 4>,
        qkv_bias: Tensor<Self, 1>,
        table: Tensor<Self, 2>,
        s: SwinWindows,
    ) -> Tensor<Self, 4> {
        let c = qkv.dims()[3] / 3;
        let dtypes = [qkv.dtype(), qkv_bias.dtype(), table.dtype()];
        if !kernel_dtypes(&dtypes) || !swin_attention::supported(s.ws, c / s.heads) {
            return swin_ref::reference(qkv, qkv_bias, table, s);
        }
        tensor(swin_attention::forward(
            prim(qkv),
            prim(qkv_bias),
            prim(table),
            s,
        ))
    }

    /// Both kernels write into one `(B, H*W + Q, C)` buffer, the patch rows then the [DET]
    /// rows; the windowed attention reads the map's rows of `qkv` in place.
    fn ram_attention(
        qkv: Tensor<Self, 3>,
        (h, w): (usize, usize),
        qkv_bias: Tensor<Self, 1>,
        table: Tensor<Self, 2>,
        s: SwinWindows,
        det_qkv: Tensor<Self, 3>,
        heads: crate::ops::attention::Heads,
    ) -> Tensor<Self, 3> {
        let [b, _, c3] = qkv.dims();
        let (c, q) = (c3 / 3, det_qkv.dims()[1]);
        let dtypes = [
            qkv.dtype(),
            det_qkv.dtype(),
            qkv_bias.dtype(),
            table.dtype(),
        ];
        let kernels = kernel_dtypes(&dtypes)
            && swin_attention::supported(s.ws, c / s.heads)
            && attention::supported(heads.width / heads.heads);
        if !kernels {
            return crate::ops::ram_attention_joined(
                qkv,
                (h, w),
                det_qkv,
                |qkv| Self::swin_window_attention(qkv, qkv_bias, table, s),
                |qkv| Self::attention_heads_packed(qkv, heads),
            );
        }
        let qkv = prim(qkv);
        let rows = h * w + q;
        let out = empty(&qkv, vec![b, rows, c]);
        let (bias, table) = (prim(qkv_bias), prim(table));
        swin_attention::launch(qkv, (h, w), bias, table, s, &out, (rows, 0));
        attention::launch(prim(det_qkv), None, heads, &out, (rows, h * w));
        tensor(out)
    }
}
