//! Thin layers loaded straight from official keys (PyTorch layouts): Linear, LayerNorm,
//! channel-last GroupNorm and the patch-embedding convolution.

use burn::module::{Module, Param};
use burn::tensor::activation;
use burn::tensor::module::{conv2d, layer_norm, linear};
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor};

use crate::error::Result;
use crate::weights::WeightMap;

/// `y = x W^T + b`, weight kept as `[in, out]` (burn's layout; PyTorch's is transposed).
#[derive(Module, Debug)]
pub struct Linear {
    pub weight: Param<Tensor<2>>,
    pub bias: Option<Param<Tensor<1>>>,
}

impl Linear {
    pub fn load(
        w: &WeightMap,
        prefix: &str,
        d_in: usize,
        d_out: usize,
        bias: bool,
        device: &Device,
    ) -> Result<Self> {
        let weight = w
            .tensor::<2>(&format!("{prefix}.weight"), [d_out, d_in], device)?
            .transpose();
        let bias = if bias {
            Some(Param::from_tensor(w.tensor::<1>(
                &format!("{prefix}.bias"),
                [d_out],
                device,
            )?))
        } else {
            None
        };
        Ok(Self {
            weight: Param::from_tensor(weight),
            bias,
        })
    }

    /// A 1x1 convolution stored as `[out, in, 1, 1]`, used as a Linear on channel-last tokens.
    pub fn load_conv1x1(
        w: &WeightMap,
        prefix: &str,
        d_in: usize,
        d_out: usize,
        device: &Device,
    ) -> Result<Self> {
        let weight = w
            .tensor::<4>(&format!("{prefix}.weight"), [d_out, d_in, 1, 1], device)?
            .reshape([d_out, d_in])
            .transpose();
        let bias = w.tensor::<1>(&format!("{prefix}.bias"), [d_out], device)?;
        Ok(Self {
            weight: Param::from_tensor(weight),
            bias: Some(Param::from_tensor(bias)),
        })
    }

    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        linear(x, self.weight.val(), self.bias.as_ref().map(|b| b.val()))
    }
}

/// LayerNorm over the last dimension, eps 1e-5 (PyTorch default).
#[derive(Module, Debug)]
pub struct LayerNorm {
    pub weight: Param<Tensor<1>>,
    pub bias: Param<Tensor<1>>,
}

impl LayerNorm {
    pub fn load(w: &WeightMap, prefix: &str, dim: usize, device: &Device) -> Result<Self> {
        Ok(Self {
            weight: Param::from_tensor(w.tensor::<1>(
                &format!("{prefix}.weight"),
                [dim],
                device,
            )?),
            bias: Param::from_tensor(w.tensor::<1>(&format!("{prefix}.bias"), [dim], device)?),
        })
    }

    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        layer_norm(x, self.weight.val(), Some(self.bias.val()), 1e-5)
    }
}

/// GroupNorm(32) on channel-last tokens `(B, N, C)`: statistics per image and group over all
/// N positions and C/G channels (the padded pixels included, as in the reference).
#[derive(Module, Debug)]
pub struct GroupNorm {
    pub weight: Param<Tensor<1>>,
    pub bias: Param<Tensor<1>>,
    pub groups: usize,
}

impl GroupNorm {
    pub fn load(
        w: &WeightMap,
        prefix: &str,
        dim: usize,
        groups: usize,
        device: &Device,
    ) -> Result<Self> {
        Ok(Self {
            weight: Param::from_tensor(w.tensor::<1>(
                &format!("{prefix}.weight"),
                [dim],
                device,
            )?),
            bias: Param::from_tensor(w.tensor::<1>(&format!("{prefix}.bias"), [dim], device)?),
            groups,
        })
    }

    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, n, c] = x.dims();
        let g = self.groups;
        let xg = x
            .reshape([b, n, g, c / g])
            .swap_dims(1, 2)
            .reshape([b, g, n * (c / g)]);
        let (var, mean) = xg.clone().var_mean_bias(2);
        let xn = (xg - mean).div(var.add_scalar(1e-5).sqrt());
        let xn = xn
            .reshape([b, g, n, c / g])
            .swap_dims(1, 2)
            .reshape([b, n, c]);
        xn * self.weight.val().reshape([1, 1, c]) + self.bias.val().reshape([1, 1, c])
    }
}

/// The 4x4 / stride-4 patch-embedding convolution.
#[derive(Module, Debug)]
pub struct PatchConv {
    pub weight: Param<Tensor<4>>,
    pub bias: Param<Tensor<1>>,
    pub patch: usize,
}

impl PatchConv {
    pub fn load(
        w: &WeightMap,
        prefix: &str,
        c_in: usize,
        c_out: usize,
        patch: usize,
        device: &Device,
    ) -> Result<Self> {
        Ok(Self {
            weight: Param::from_tensor(w.tensor::<4>(
                &format!("{prefix}.weight"),
                [c_out, c_in, patch, patch],
                device,
            )?),
            bias: Param::from_tensor(w.tensor::<1>(&format!("{prefix}.bias"), [c_out], device)?),
            patch,
        })
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let p = self.patch;
        conv2d(
            x,
            self.weight.val(),
            Some(self.bias.val()),
            ConvOptions::new([p, p], [0, 0], [1, 1], 1),
        )
    }
}

/// The 3-layer box MLP (ReLU between layers).
#[derive(Module, Debug)]
pub struct Mlp3 {
    pub layers: Vec<Linear>,
}

impl Mlp3 {
    pub fn load(
        w: &WeightMap,
        prefix: &str,
        d: usize,
        d_out: usize,
        device: &Device,
    ) -> Result<Self> {
        Ok(Self {
            layers: vec![
                Linear::load(w, &format!("{prefix}.layers.0"), d, d, true, device)?,
                Linear::load(w, &format!("{prefix}.layers.1"), d, d, true, device)?,
                Linear::load(w, &format!("{prefix}.layers.2"), d, d_out, true, device)?,
            ],
        })
    }

    pub fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let x = activation::relu(self.layers[0].forward(x));
        let x = activation::relu(self.layers[1].forward(x));
        self.layers[2].forward(x)
    }
}
