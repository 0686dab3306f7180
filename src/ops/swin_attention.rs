//! Swin (shifted) window attention over a whole map, the layout glue included: the map is
//! zero-padded to window multiples after the norm (so a padded token's qkv is the projection's
//! bias), cyclically shifted by `shift` (`torch.roll(x, -shift)`), split into `ws` x `ws`
//! windows, attended per window and head with the relative position bias (and, when shifted,
//! the -100 mask across regions the roll brought together), then put back, un-shifted and
//! cropped. The reference composes those steps in tensor ops (differentiable: the training
//! path); kernels do the whole thing by index arithmetic, reading the bias from the table.

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

use super::upload::{upload, upload_int};
use super::window::{relative_position_index, roll, shift_mask, window_partition, window_reverse};
use super::window_attention;

/// Static description of one call.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SwinWindows {
    pub heads: usize,
    /// Window side.
    pub ws: usize,
    /// Cyclic shift (0 for even blocks).
    pub shift: usize,
    /// Attention scale (head_dim^-0.5).
    pub scale: f32,
}

impl SwinWindows {
    /// The padded map size for an `h` x `w` map.
    pub fn padded(&self, h: usize, w: usize) -> (usize, usize) {
        (h.div_ceil(self.ws) * self.ws, w.div_ceil(self.ws) * self.ws)
    }
}

/// `(heads, N, N)` relative position bias of one window, gathered from the
/// `((2ws-1)^2, heads)` table.
pub fn relative_bias<B: Backend>(table: Tensor<B, 2>, ws: usize) -> Tensor<B, 3> {
    let n = ws * ws;
    let heads = table.dims()[1];
    let idx: Vec<i64> = relative_position_index(ws)
        .into_iter()
        .map(|i| i as i64)
        .collect();
    let idx = upload_int::<B, 1>(TensorData::new(idx, [n * n]), &table.device());
    table
        .select(0, idx)
        .reshape([n, n, heads])
        .permute([2, 0, 1])
}

/// * `qkv`: `(B, H, W, 3C)` the qkv projection of the un-padded, un-shifted normalized map,
///   without its bias (the op adds it, so no separate bias pass runs before it)
/// * `qkv_bias`: `(3C)` the projection's bias (also what a padded token's qkv is)
/// * `table`: `((2ws-1)^2, heads)` relative position bias table
///
/// Returns `(B, H, W, C)`, heads interleaved, before the output projection.
pub fn reference<B: Backend>(
    qkv: Tensor<B, 4>,
    qkv_bias: Tensor<B, 1>,
    table: Tensor<B, 2>,
    s: SwinWindows,
) -> Tensor<B, 4> {
    let [b, h, w, c3] = qkv.dims();
    let device = qkv.device();
    let (hp, wp) = s.padded(h, w);
    let mut x = qkv + qkv_bias.clone().reshape([1, 1, 1, c3]);
    if (hp, wp) != (h, w) {
        // Padded tokens: zeros through the projection, i.e. its bias (x + 0 and 0 + bias are
        // exact, so the real tokens are untouched).
        let pad: Vec<f32> = (0..hp * wp)
            .map(|i| (i / wp >= h || i % wp >= w) as u8 as f32)
            .collect();
        let pad = upload::<B, 4>(TensorData::new(pad, [1, hp, wp, 1]), (&device, x.dtype()));
        x = super::pad::pad_zeros(x, [(0, 0), (0, hp - h), (0, wp - w), (0, 0)])
            + pad * qkv_bias.reshape([1, 1, 1, c3]);
    }
    let shift = s.shift as isize;
    if shift > 0 {
        x = roll(roll(x, -shift, 1), -shift, 2);
    }
    let mask = (shift > 0).then(|| shift_mask::<B>(hp, wp, s.ws, s.shift, (&device, x.dtype())));
    let bias = relative_bias(table, s.ws);
    let out = window_attention::reference(window_partition(x, s.ws), s.heads, bias, mask, s.scale);
    let mut y = window_reverse(out, s.ws, hp, wp);
    if shift > 0 {
        y = roll(roll(y, shift, 1), shift, 2);
    }
    if (hp, wp) != (h, w) {
        y = y.slice([0..b, 0..h, 0..w]);
    }
    y
}
