//! Launchers of `wgsl/ms_deform_attn_forward.wgsl` and `wgsl/ms_deform_attn_backward.wgsl`.

use burn::backend::wgpu::{
    KernelSource, SourceKernel, SourceTemplate, into_contiguous, kernel_source,
};
use burn::tensor::{DType, Shape};
use cubecl::CubeDim;
use cubecl::prelude::KernelId;
use cubecl::server::KernelArguments;
use derive_new::new;

use super::{Prim, cube_count, params};

kernel_source!(ForwardRaw, "../../wgsl/ms_deform_attn_forward.wgsl");
kernel_source!(BackwardRaw, "../../wgsl/ms_deform_attn_backward.wgsl");

const FORWARD_WG: u32 = 64;
/// Workgroup storage the backward's partial sums may use (WebGPU's default limit).
const MAX_SHARED_BYTES: usize = 16 * 1024;

#[derive(new, Debug)]
struct Forward {
    dtype: DType,
}

impl KernelSource for Forward {
    fn source(&self) -> SourceTemplate {
        let t = ForwardRaw::new()
            .source()
            .register("workgroup", FORWARD_WG.to_string());
        super::with_elem(t, self.dtype)
    }
    fn id(&self) -> KernelId {
        KernelId::new::<Self>().info(self.dtype)
    }
}

#[derive(new, Debug)]
struct Backward {
    channels: u32,
    points: u32,
}

impl KernelSource for Backward {
    fn source(&self) -> SourceTemplate {
        BackwardRaw::new()
            .source()
            .register("channels", self.channels.to_string())
            .register("points", self.points.to_string())
            .register("partials", (3 * self.points * self.channels).to_string())
    }
    fn id(&self) -> KernelId {
        KernelId::new::<Self>().info((self.channels, self.points))
    }
}

/// `[N, S, M, D, Lq, L, P, (H, W, start) per level]`
fn info(value: &Prim, loc: &Prim, shapes: &[(usize, usize)]) -> Vec<u32> {
    let v = value.meta.shape();
    let l = loc.meta.shape();
    let mut info = vec![v[0], v[1], v[2], v[3], l[1], l[3], l[4]]
        .into_iter()
        .map(|x| x as u32)
        .collect::<Vec<_>>();
    let mut start = 0;
    for &(h, w) in shapes {
        info.extend([h as u32, w as u32, start as u32]);
        start += h * w;
    }
    info
}

fn zeros(like: &Prim, shape: Vec<usize>) -> Prim {
    let n: usize = shape.iter().product();
    let handle = like
        .client
        .create_from_slice(bytemuck::cast_slice(&vec![0f32; n]));
    Prim::new_contiguous(
        like.client.clone(),
        like.device.clone(),
        Shape::from(shape),
        handle,
        DType::F32,
    )
}

/// Whether the backward kernel handles `D` channels and `L * P` points per head.
pub(crate) fn backward_supported(channels: usize, points: usize) -> bool {
    (1..=256).contains(&channels) && 3 * points * channels * 4 <= MAX_SHARED_BYTES
}

pub(crate) fn forward(value: Prim, shapes: &[(usize, usize)], loc: Prim, attn: Prim) -> Prim {
    super::launches::note(super::launches::Kernel::MsDeformAttn);
    let (value, loc, attn) = (
        into_contiguous(value),
        into_contiguous(loc),
        into_contiguous(attn),
    );
    let v = value.meta.shape().to_vec();
    let lq = loc.meta.shape()[1];
    let out = super::empty(&value, vec![v[0], lq, v[2] * v[3]]);
    let info = info(&value, &loc, shapes);
    let info = params(&value, &info);
    let total = v[0] * lq * v[2] * v[3];
    value.client.launch(
        Box::new(SourceKernel::new(
            Forward::new(out.dtype),
            CubeDim::new_1d(FORWARD_WG),
        )),
        cube_count(total.div_ceil(FORWARD_WG as usize)),
        KernelArguments::new().with_buffers(vec![
            value.handle.clone().binding(),
            loc.handle.binding(),
            attn.handle.binding(),
            out.handle.clone().binding(),
            info.binding(),
        ]),
    );
    out
}

/// Gradients (value, locations, weights). Callers check [`backward_supported`] first.
pub(crate) fn backward(
    value: Prim,
    shapes: &[(usize, usize)],
    loc: Prim,
    attn: Prim,
    grad_out: Prim,
) -> (Prim, Prim, Prim) {
    super::launches::note(super::launches::Kernel::MsDeformAttnBackward);
    let (value, loc, attn, grad_out) = (
        into_contiguous(value),
        into_contiguous(loc),
        into_contiguous(attn),
        into_contiguous(grad_out),
    );
    let v = value.meta.shape().to_vec();
    let l = loc.meta.shape().to_vec();
    let (d, points) = (v[3], l[3] * l[4]);
    let grad_value = zeros(&value, v.clone());
    let grad_loc = super::empty(&value, l.clone());
    let grad_attn = super::empty(&value, l[..5].to_vec());
    let info = info(&value, &loc, shapes);
    let info = params(&value, &info);
    let groups = v[0] * l[1] * v[2];
    value.client.launch(
        Box::new(SourceKernel::new(
            Backward::new(d as u32, points as u32),
            CubeDim::new_1d(d as u32),
        )),
        cube_count(groups),
        KernelArguments::new().with_buffers(vec![
            value.handle.binding(),
            loc.handle.binding(),
            attn.handle.binding(),
            grad_out.handle.binding(),
            grad_value.handle.clone().binding(),
            grad_loc.handle.clone().binding(),
            grad_attn.handle.clone().binding(),
            info.binding(),
        ]),
    );
    (grad_value, grad_loc, grad_attn)
}
