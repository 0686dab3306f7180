//! Launchers of `wgsl/layer_norm.wgsl`, `wgsl/softmax.wgsl` and `wgsl/group_norm.wgsl`: one
//! workgroup per row (per image and group for GroupNorm), one dispatch per call.

use burn::backend::wgpu::{
    KernelSource, SourceKernel, SourceTemplate, into_contiguous, kernel_source,
};
use burn::tensor::DType;
use cubecl::CubeDim;
use cubecl::prelude::KernelId;
use cubecl::server::KernelArguments;
use derive_new::new;

use super::{Prim, cube_count, params, with_elem};

kernel_source!(LayerNormRaw, "../../wgsl/layer_norm.wgsl");
kernel_source!(SoftmaxRaw, "../../wgsl/softmax.wgsl");
kernel_source!(GroupNormRaw, "../../wgsl/group_norm.wgsl");

const WG: u32 = 128;

/// Which of the three kernels.
#[derive(new, Debug)]
struct Norm {
    kind: u8,
    dtype: DType,
}

impl KernelSource for Norm {
    fn source(&self) -> SourceTemplate {
        let raw = match self.kind {
            0 => LayerNormRaw::new().source(),
            1 => SoftmaxRaw::new().source(),
            _ => GroupNormRaw::new().source(),
        };
        with_elem(raw.register("workgroup", WG.to_string()), self.dtype)
    }
    fn id(&self) -> KernelId {
        KernelId::new::<Self>().info((self.kind, self.dtype))
    }
}

fn empty_like(x: &Prim) -> Prim {
    super::empty(x, x.meta.shape().to_vec())
}

fn launch(kind: u8, groups: usize, tensors: Vec<&Prim>, out: &Prim, info: &[u32]) {
    use super::launches::{Kernel, note};
    note([Kernel::LayerNorm, Kernel::Softmax, Kernel::GroupNorm][kind as usize]);
    let client = out.client.clone();
    let info = params(out, info);
    let mut buffers: Vec<_> = tensors
        .into_iter()
        .map(|t| t.handle.clone().binding())
        .collect();
    buffers.push(out.handle.clone().binding());
    buffers.push(info.binding());
    client.launch(
        Box::new(SourceKernel::new(
            Norm::new(kind, out.dtype),
            CubeDim::new_1d(WG),
        )),
        cube_count(groups),
        KernelArguments::new().with_buffers(buffers),
    );
}

pub(crate) fn layer_norm(x: Prim, gamma: Prim, beta: Prim, eps: f64) -> Prim {
    let (x, gamma, beta) = (
        into_contiguous(x),
        into_contiguous(gamma),
        into_contiguous(beta),
    );
    let shape = x.meta.shape().to_vec();
    let d = *shape.last().expect("rank >= 1");
    let rows = shape.iter().product::<usize>() / d.max(1);
    let out = empty_like(&x);
    let info = [rows as u32, d as u32, (eps as f32).to_bits()];
    launch(0, rows, vec![&x, &gamma, &beta], &out, &info);
    out
}

pub(crate) fn softmax(x: Prim) -> Prim {
    let x = into_contiguous(x);
    let shape = x.meta.shape().to_vec();
    let d = *shape.last().expect("rank >= 1");
    let rows = shape.iter().product::<usize>() / d.max(1);
    let out = empty_like(&x);
    launch(1, rows, vec![&x], &out, &[rows as u32, d as u32]);
    out
}

pub(crate) fn group_norm(x: Prim, weight: Prim, bias: Prim, groups: usize, eps: f64) -> Prim {
    let (x, w, b) = (
        into_contiguous(x),
        into_contiguous(weight),
        into_contiguous(bias),
    );
    let [bn, n, c]: [usize; 3] = x.meta.shape().to_vec().try_into().expect("(B, N, C)");
    let out = empty_like(&x);
    let info = [
        bn as u32,
        n as u32,
        c as u32,
        groups as u32,
        (eps as f32).to_bits(),
    ];
    launch(2, bn * groups, vec![&x, &w, &b], &out, &info);
    out
}
