//! Launcher of `wgsl/attention_heads.wgsl` (see [`crate::ops::attention`]).

use burn::backend::wgpu::{
    KernelSource, SourceKernel, SourceTemplate, into_contiguous, kernel_source,
};
use burn::tensor::{DType, Shape};
use cubecl::CubeDim;
use cubecl::prelude::KernelId;
use cubecl::server::KernelArguments;
use derive_new::new;

use super::{Prim, cube_count, params};
use crate::ops::attention::Heads;

kernel_source!(Raw, "../../wgsl/attention_heads.wgsl");

const WG: u32 = 64;
const MAX_SHARED_BYTES: usize = 16 * 1024;

#[derive(new, Debug)]
struct Attention {
    keys: u32,
    head_dim: u32,
}

impl KernelSource for Attention {
    fn source(&self) -> SourceTemplate {
        Raw::new()
            .source()
            .register("keys", self.keys.to_string())
            .register("head_dim", self.head_dim.to_string())
            .register("workgroup", WG.to_string())
            .register("tile", (WG * self.head_dim).to_string())
    }
    fn id(&self) -> KernelId {
        KernelId::new::<Self>().info((self.keys, self.head_dim))
    }
}

/// Head dims whose K and V chunks fit in 16 KiB of workgroup memory.
pub(crate) fn supported(head_dim: usize) -> bool {
    (1..=64).contains(&head_dim) && 2 * WG as usize * head_dim * 4 <= MAX_SHARED_BYTES
}

/// `k` and `v` may be `q` itself (a packed projection): each is bound as given.
pub(crate) fn forward(q: Prim, k: Prim, v: Prim, s: Heads) -> Prim {
    let (q, k, v) = (into_contiguous(q), into_contiguous(k), into_contiguous(v));
    let row = |t: &Prim| t.meta.shape()[2] as u32;
    let [b, nq, _]: [usize; 3] = q.meta.shape().to_vec().try_into().expect("(B, Q, *)");
    let nk = k.meta.shape()[1];
    let client = q.client.clone();
    let handle = client.empty(b * nq * s.width * core::mem::size_of::<f32>());
    let out = Prim::new_contiguous(
        client.clone(),
        q.device.clone(),
        Shape::from(vec![b, nq, s.width]),
        handle,
        DType::F32,
    );
    let info = [
        b as u32,
        nq as u32,
        s.width as u32,
        s.heads as u32,
        row(&q),
        s.cols[0] as u32,
        row(&k),
        s.cols[1] as u32,
        row(&v),
        s.cols[2] as u32,
        s.scale.to_bits(),
    ];
    let info = params(&q, &info);
    let tiles = nq.div_ceil(WG as usize);
    client.launch(
        Box::new(SourceKernel::new(
            Attention::new(nk as u32, (s.width / s.heads) as u32),
            CubeDim::new_1d(WG),
        )),
        cube_count(b * s.heads * tiles),
        KernelArguments::new().with_buffers(vec![
            q.handle.clone().binding(),
            k.handle.clone().binding(),
            v.handle.clone().binding(),
            out.handle.clone().binding(),
            info.binding(),
        ]),
    );
    out
}
