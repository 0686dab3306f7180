//! Launcher of `wgsl/swin_window_attention.wgsl`: the whole shifted-window attention of a map
//! (see [`crate::ops::swin_attention`]) in one dispatch.

use burn::backend::wgpu::{
    KernelSource, SourceKernel, SourceTemplate, into_contiguous, kernel_source,
};
use burn::tensor::DType;
use cubecl::CubeDim;
use cubecl::prelude::KernelId;
use cubecl::server::KernelArguments;
use derive_new::new;

use super::{Prim, cube_count, params};
use crate::ops::SwinWindows;

kernel_source!(Raw, "../../wgsl/swin_window_attention.wgsl");

/// Workgroup size: one invocation per token of a window (7x7 = 49, 8x8 = 64 at most).
const WG: u32 = 64;
const MAX_SHARED_BYTES: usize = 16 * 1024;

#[derive(new, Debug)]
struct SwinAttention {
    window: u32,
    head_dim: u32,
    dtype: DType,
}

impl KernelSource for SwinAttention {
    fn source(&self) -> SourceTemplate {
        let tokens = self.window * self.window;
        let t = Raw::new()
            .source()
            .register("window", self.window.to_string())
            .register("tokens", tokens.to_string())
            .register("head_dim", self.head_dim.to_string())
            .register("workgroup", WG.to_string())
            .register("tile", (tokens * self.head_dim).to_string());
        super::with_elem(t, self.dtype)
    }
    fn id(&self) -> KernelId {
        KernelId::new::<Self>().info((self.window, self.head_dim, self.dtype))
    }
}

/// Windows of at most 64 tokens whose K and V tiles fit in 16 KiB of workgroup memory.
pub(crate) fn supported(ws: usize, head_dim: usize) -> bool {
    let tokens = ws * ws;
    tokens <= WG as usize && head_dim >= 1 && 2 * tokens * head_dim * 4 <= MAX_SHARED_BYTES
}

pub(crate) fn forward(qkv: Prim, qkv_bias: Prim, table: Prim, s: SwinWindows) -> Prim {
    let [b, h, w, c3]: [usize; 4] = qkv.meta.shape().to_vec().try_into().expect("(B, H, W, 3C)");
    let out = super::empty(&qkv, vec![b, h, w, c3 / 3]);
    launch(qkv, (h, w), qkv_bias, table, s, &out, (h * w, 0));
    out
}

/// The attention of the `(h, w)` map whose pixel `(y, x)` is row `y * w + x` of each image's
/// rows in `qkv` (`(B, H, W, 3C)`, or `(B, rows, 3C)` with the map's rows first), written into
/// `out`, `(B, rows, C)` contiguous, at rows `off + y * w + x` of each image (`rows`, `off`).
pub(crate) fn launch(
    qkv: Prim,
    (h, w): (usize, usize),
    qkv_bias: Prim,
    table: Prim,
    s: SwinWindows,
    out: &Prim,
    (rows, off): (usize, usize),
) {
    super::launches::note(super::launches::Kernel::SwinWindowAttention);
    let qkv = into_contiguous(qkv);
    let qkv_bias = into_contiguous(qkv_bias);
    let table = into_contiguous(table);
    let dims = qkv.meta.shape().to_vec();
    let (b, c3) = (dims[0], dims[dims.len() - 1]);
    let in_rows = dims[1..dims.len() - 1].iter().product::<usize>();
    assert!(in_rows >= h * w, "qkv has {in_rows} rows, the map {h}x{w}");
    let c = c3 / 3;
    let (hp, wp) = s.padded(h, w);
    let client = qkv.client.clone();
    let info = [
        b as u32,
        h as u32,
        w as u32,
        c as u32,
        s.heads as u32,
        hp as u32,
        wp as u32,
        s.shift as u32,
        s.scale.to_bits(),
        in_rows as u32,
        rows as u32,
        off as u32,
    ];
    let info = params(&qkv, &info);
    let windows = b * (hp / s.ws) * (wp / s.ws);
    client.launch(
        Box::new(SourceKernel::new(
            SwinAttention::new(s.ws as u32, (c / s.heads) as u32, out.dtype),
            CubeDim::new_1d(WG),
        )),
        cube_count(windows * s.heads),
        KernelArguments::new().with_buffers(vec![
            qkv.handle.binding(),
            qkv_bias.handle.binding(),
            table.handle.binding(),
            out.handle.clone().binding(),
            info.binding(),
        ]),
    );
}
