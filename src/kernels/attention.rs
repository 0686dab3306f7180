//! Launcher of `wgsl/attention_heads.wgsl` (see [`crate::ops::attention`]).

use burn::backend::wgpu::{
    KernelSource, SourceKernel, SourceTemplate, into_contiguous, kernel_source,
};
use burn::tensor::DType;
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
    /// q, k and v are one buffer, bound once.
    packed: bool,
    dtype: DType,
}

impl KernelSource for Attention {
    fn source(&self) -> SourceTemplate {
        let elem = super::elem(self.dtype);
        let (kv, k, v, out) = if self.packed {
            (String::new(), "q", "q", 1)
        } else {
            (
                format!(
                    "@group(0) @binding(1) var<storage, read_write> k: array<{elem}>;\n\
                     @group(0) @binding(2) var<storage, read_write> v: array<{elem}>;"
                ),
                "k",
                "v",
                3,
            )
        };
        let t = Raw::new()
            .source()
            .register("kv_bindings", kv)
            .register("k", k)
            .register("v", v)
            .register("out_binding", out.to_string())
            .register("info_binding", (out + 1).to_string())
            .register("keys", self.keys.to_string())
            .register("head_dim", self.head_dim.to_string())
            .register("workgroup", WG.to_string())
            .register("tile", (WG * self.head_dim).to_string());
        super::with_elem(t, self.dtype)
    }
    fn id(&self) -> KernelId {
        KernelId::new::<Self>().info((self.keys, self.head_dim, self.packed, self.dtype))
    }
}

/// Head dims whose K and V chunks fit in 16 KiB of workgroup memory.
pub(crate) fn supported(head_dim: usize) -> bool {
    (1..=64).contains(&head_dim) && 2 * WG as usize * head_dim * 4 <= MAX_SHARED_BYTES
}

/// `kv`: separate k and v, or `None` when q is the packed qkv that k and v are read from too
/// (bound once).
pub(crate) fn forward(q: Prim, kv: Option<(Prim, Prim)>, s: Heads) -> Prim {
    let [b, nq, _]: [usize; 3] = q.meta.shape().to_vec().try_into().expect("(B, Q, *)");
    let out = super::empty(&q, vec![b, nq, s.width]);
    launch(q, kv, s, &out, (nq, 0));
    out
}

/// Writes the attention into `out`, `(B, rows, width)` contiguous, at rows `off + i` of each
/// image (`rows`, `off`).
pub(crate) fn launch(
    q: Prim,
    kv: Option<(Prim, Prim)>,
    s: Heads,
    out: &Prim,
    (rows, off): (usize, usize),
) {
    super::launches::note(super::launches::Kernel::Attention);
    let q = into_contiguous(q);
    let packed = kv.is_none();
    let (k, v) = match kv {
        Some((k, v)) => (into_contiguous(k), into_contiguous(v)),
        None => (q.clone(), q.clone()),
    };
    let row = |t: &Prim| t.meta.shape()[2] as u32;
    let [b, nq, _]: [usize; 3] = q.meta.shape().to_vec().try_into().expect("(B, Q, *)");
    let nk = k.meta.shape()[1];
    let client = q.client.clone();
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
        rows as u32,
        off as u32,
    ];
    let info = params(&q, &info);
    let tiles = nq.div_ceil(WG as usize);
    // In the order of the template's bindings: k and v only when they are not q.
    let mut bindings = vec![q.handle.clone().binding()];
    if !packed {
        bindings.extend([k.handle.clone().binding(), v.handle.clone().binding()]);
    }
    bindings.extend([out.handle.clone().binding(), info.binding()]);
    client.launch(
        Box::new(SourceKernel::new(
            Attention::new(nk as u32, (s.width / s.heads) as u32, packed, out.dtype),
            CubeDim::new_1d(WG),
        )),
        cube_count(b * s.heads * tiles),
        KernelArguments::new().with_buffers(bindings),
    );
}
