//! Swin window glue in tensor ops (what the references compose and the kernels fold away):
//! partition/reverse of channel-last maps, the cyclic roll, the -100 shift mask and the
//! relative-position index (recomputed here rather than read from the checkpoint buffer).

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

/// PyTorch's `torch.roll` along `dim` (element i moves to i + shift, cyclically), written as
/// slice + concat: burn 0.21's `roll` shifts negative amounts the other way.
pub fn roll<B: Backend, const D: usize>(x: Tensor<B, D>, shift: isize, dim: usize) -> Tensor<B, D> {
    let n = x.dims()[dim] as isize;
    let s = shift.rem_euclid(n) as usize;
    if s == 0 {
        return x;
    }
    let n = n as usize;
    let tail = x.clone().narrow(dim, n - s, s);
    let head = x.narrow(dim, 0, n - s);
    Tensor::cat(vec![tail, head], dim)
}

/// `(B, H, W, C)` -> `(B * nW, ws*ws, C)`, windows in row-major order per image.
pub fn window_partition<B: Backend>(x: Tensor<B, 4>, ws: usize) -> Tensor<B, 3> {
    let [b, h, w, c] = x.dims();
    x.reshape([b, h / ws, ws, w / ws, ws, c])
        .permute([0, 1, 3, 2, 4, 5])
        .reshape([b * (h / ws) * (w / ws), ws * ws, c])
}

/// Inverse of [`window_partition`].
pub fn window_reverse<B: Backend>(
    windows: Tensor<B, 3>,
    ws: usize,
    h: usize,
    w: usize,
) -> Tensor<B, 4> {
    let [bn, _, c] = windows.dims();
    let b = bn / ((h / ws) * (w / ws));
    windows
        .reshape([b, h / ws, w / ws, ws, ws, c])
        .permute([0, 1, 3, 2, 4, 5])
        .reshape([b, h, w, c])
}

/// `(nW, N, N)` additive mask for shifted windows on a padded `(hp, wp)` map: 0 within a
/// region, -100 across regions (the cyclic roll brings unrelated pixels together).
pub fn shift_mask_data(hp: usize, wp: usize, ws: usize, shift: usize) -> Vec<f32> {
    let region = |i: usize, n: usize| -> usize {
        if i < n - ws {
            0
        } else if i < n - shift {
            1
        } else {
            2
        }
    };
    let mut img = vec![0usize; hp * wp];
    for y in 0..hp {
        for x in 0..wp {
            img[y * wp + x] = region(y, hp) * 3 + region(x, wp);
        }
    }
    let (nh, nw, n) = (hp / ws, wp / ws, ws * ws);
    let mut out = Vec::with_capacity(nh * nw * n * n);
    for wy in 0..nh {
        for wx in 0..nw {
            let ids: Vec<usize> = (0..n)
                .map(|i| img[(wy * ws + i / ws) * wp + wx * ws + i % ws])
                .collect();
            for a in 0..n {
                for b in 0..n {
                    out.push(if ids[a] == ids[b] { 0.0 } else { -100.0 });
                }
            }
        }
    }
    out
}

pub fn shift_mask<B: Backend>(
    hp: usize,
    wp: usize,
    ws: usize,
    shift: usize,
    options: (&B::Device, burn::tensor::DType),
) -> Tensor<B, 3> {
    let n = ws * ws;
    let nw = (hp / ws) * (wp / ws);
    super::upload::upload(
        TensorData::new(shift_mask_data(hp, wp, ws, shift), [nw, n, n]),
        options,
    )
}

/// `relative_position_index[i * N + j]` for tokens i, j of a window.
pub fn relative_position_index(ws: usize) -> Vec<usize> {
    let n = ws * ws;
    let mut idx = Vec::with_capacity(n * n);
    for i in 0..n {
        for j in 0..n {
            let dy = (i / ws) as isize - (j / ws) as isize + ws as isize - 1;
            let dx = (i % ws) as isize - (j % ws) as isize + ws as isize - 1;
            idx.push((dy * (2 * ws as isize - 1) + dx) as usize);
        }
    }
    idx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_index_corners() {
        let idx = relative_position_index(7);
        // Same token -> centre of the 13x13 table.
        assert_eq!(idx[0], 6 * 13 + 6);
        // Token 0 vs token 48 (dy = dx = -6) -> row 0, col 0.
        assert_eq!(idx[48], 0);
        // Token 48 vs token 0 (dy = dx = +6) -> last entry.
        assert_eq!(idx[48 * 49], 168);
    }

    #[cfg(feature = "flex")]
    #[test]
    fn roll_follows_pytorch() {
        type B = crate::backend::Cpu;
        let x = Tensor::<B, 1>::from_floats([0.0, 1.0, 2.0, 3.0], &Default::default());
        let get = |t: Tensor<B, 1>| t.into_data().to_vec::<f32>().unwrap();
        // torch.roll([0,1,2,3], -1) == [1,2,3,0]; torch.roll(.., 1) == [3,0,1,2]
        assert_eq!(get(roll(x.clone(), -1, 0)), vec![1.0, 2.0, 3.0, 0.0]);
        assert_eq!(get(roll(x.clone(), 1, 0)), vec![3.0, 0.0, 1.0, 2.0]);
        assert_eq!(get(roll(x, 4, 0)), vec![0.0, 1.0, 2.0, 3.0]);
    }

    #[test]
    fn shift_mask_is_zero_inside_first_window() {
        let m = shift_mask_data(14, 14, 7, 3);
        // Window (0,0) lies entirely in region 0.
        assert!(m[..49 * 49].iter().all(|&v| v == 0.0));
        // The last window mixes regions.
        assert!(m[3 * 49 * 49..].iter().any(|&v| v == -100.0));
    }
}
