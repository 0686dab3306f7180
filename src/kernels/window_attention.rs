//! Launcher of `wgsl/window_attention.wgsl`.

use burn::backend::wgpu::{
    KernelSource, SourceKernel, SourceTemplate, into_contiguous, kernel_source,
};
use burn::tensor::{DType, Shape};
use cubecl::CubeDim;
use cubecl::prelude::KernelId;
use cubecl::server::KernelArguments;
use derive_new::new;

use super::{Prim, cube_count, params};

kernel_source!(Raw, "../../wgsl/window_attention.wgsl");

/// Workgroup size: one invocation per token of a window (7x7 = 49, 8x8 = 64 at most).
const WG: u32 = 64;
const MAX_SHARED_BYTES: usize = 16 * 1024;

#[derive(new, Debug)]
struct WindowAttention {
    tokens: u32,
    head_dim: u32,
}

impl KernelSource for WindowAttention {
    fn source(&self) -> SourceTemplate {
        Raw::new()
            .source()
            .register("tokens", self.tokens.to_string())
            .register("head_dim", self.head_dim.to_string())
            .register("workgroup", WG.to_string())
            .register("tile", (self.tokens * self.head_dim).to_string())
    }
    fn id(&self) -> KernelId {
        KernelId::new::<Self>().info((self.tokens, self.head_dim))
    }
}

/// Windows of at most 64 tokens whose K and V tiles fit in 16 KiB of workgroup memory.
pub(crate) fn supported(tokens: usize, head_dim: usize) -> bool {
    tokens <= WG as usize && head_dim >= 1 && 2 * tokens * head_dim * 4 <= MAX_SHARED_BYTES
}

pub(crate) fn forward(qkv: Prim, heads: usize, bias: Prim, mask: Option<Prim>, scale: f32) -> Prim {
    super::launches::note(super::launches::Kernel::WindowAttention);
    let qkv = into_contiguous(qkv);
    let bias = into_contiguous(bias);
    let [bw, n, c3]: [usize; 3] = qkv.meta.shape().to_vec().try_into().expect("(B_, N, 3C)");
    let c = c3 / 3;
    let hd = c / heads;
    let client = qkv.client.clone();
    let handle = client.empty(bw * n * c * core::mem::size_of::<f32>());
    let out = Prim::new_contiguous(
        client.clone(),
        qkv.device.clone(),
        Shape::from(vec![bw, n, c]),
        handle,
        DType::F32,
    );
    let (mask_handle, nw) = match mask {
        Some(m) => {
            let m = into_contiguous(m);
            let nw = m.meta.shape()[0];
            (m.handle, nw)
        }
        // Unshifted windows: bind a placeholder the kernel never reads.
        None => (params(&qkv, &[0]), 0),
    };
    let info = [
        bw as u32,
        heads as u32,
        c as u32,
        nw as u32,
        scale.to_bits(),
    ];
    let info = params(&qkv, &info);
    client.launch(
        Box::new(SourceKernel::new(
            WindowAttention::new(n as u32, hd as u32),
            CubeDim::new_1d(WG),
        )),
        cube_count(bw * heads),
        KernelArguments::new().with_buffers(vec![
            qkv.handle.binding(),
            bias.handle.binding(),
            mask_handle.binding(),
            out.handle.clone().binding(),
            info.binding(),
        ]),
    );
    out
}
