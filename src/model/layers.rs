//! Thin layers loaded straight from official keys (PyTorch layouts): Linear<B>, LayerNorm<B>,
//! channel-last GroupNorm and the patch-embedding convolution.

use burn::module::{Module, Param};
use burn::tensor::Tensor;
use burn::tensor::activation;
use burn::tensor::module::{conv2d, linear};
use burn::tensor::ops::ConvOptions;

use crate::error::Result;
use crate::ops::VidtBackend;
use crate::weights::WeightMap;

/// `y = x W^T + b`, weight kept as `[in, out]` (burn's layout; PyTorch's is transposed).
#[derive(Module, Debug)]
pub struct Linear<B: VidtBackend> {
    pub weight: Param<Tensor<B, 2>>,
    pub bias: Option<Param<Tensor<B, 1>>>,
}

impl<B: VidtBackend> Linear<B> {
    pub fn load(
        w: &WeightMap,
        prefix: &str,
        d_in: usize,
        d_out: usize,
        bias: bool,
        device: &B::Device,
    ) -> Result<Self> {
        let weight = w
            .tensor::<B, 2>(&format!("{prefix}.weight"), [d_out, d_in], device)?
            .transpose();
        let bias = if bias {
            Some(Param::from_tensor(w.tensor::<B, 1>(
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
        device: &B::Device,
    ) -> Result<Self> {
        let weight = w
            .tensor::<B, 4>(&format!("{prefix}.weight"), [d_out, d_in, 1, 1], device)?
            .reshape([d_out, d_in])
            .transpose();
        let bias = w.tensor::<B, 1>(&format!("{prefix}.bias"), [d_out], device)?;
        Ok(Self {
            weight: Param::from_tensor(weight),
            bias: Some(Param::from_tensor(bias)),
        })
    }

    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        linear(x, self.weight.val(), self.bias.as_ref().map(|b| b.val()))
    }
}

/// LayerNorm over the last dimension, eps 1e-5 (PyTorch default).
#[derive(Module, Debug)]
pub struct LayerNorm<B: VidtBackend> {
    pub weight: Param<Tensor<B, 1>>,
    pub bias: Param<Tensor<B, 1>>,
}

impl<B: VidtBackend> LayerNorm<B> {
    pub fn load(w: &WeightMap, prefix: &str, dim: usize, device: &B::Device) -> Result<Self> {
        Ok(Self {
            weight: Param::from_tensor(w.tensor::<B, 1>(
                &format!("{prefix}.weight"),
                [dim],
                device,
            )?),
            bias: Param::from_tensor(w.tensor::<B, 1>(&format!("{prefix}.bias"), [dim], device)?),
        })
    }

    pub fn forward<const D: usize>(&self, x: Tensor<B, D>) -> Tensor<B, D> {
        let d = x.dims()[D - 1];
        let (var, mean) = x.clone().var_mean_bias(D - 1);
        let xn = (x - mean).div(var.add_scalar(1e-5).sqrt());
        let shape: [usize; D] = std::array::from_fn(|i| if i == D - 1 { d } else { 1 });
        xn * self.weight.val().reshape(shape) + self.bias.val().reshape(shape)
    }
}

/// GroupNorm(32) on channel-last tokens `(B, N, C)`: statistics per image and group over all
/// N positions and C/G channels (the padded pixels included, as in the reference).
#[derive(Module, Debug)]
pub struct GroupNorm<B: VidtBackend> {
    pub weight: Param<Tensor<B, 1>>,
    pub bias: Param<Tensor<B, 1>>,
    pub groups: usize,
}

impl<B: VidtBackend> GroupNorm<B> {
    pub fn load(
        w: &WeightMap,
        prefix: &str,
        dim: usize,
        groups: usize,
        device: &B::Device,
    ) -> Result<Self> {
        Ok(Self {
            weight: Param::from_tensor(w.tensor::<B, 1>(
                &format!("{prefix}.weight"),
                [dim],
                device,
            )?),
            bias: Param::from_tensor(w.tensor::<B, 1>(&format!("{prefix}.bias"), [dim], device)?),
            groups,
        })
    }

    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
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
pub struct PatchConv<B: VidtBackend> {
    pub weight: Param<Tensor<B, 4>>,
    pub bias: Param<Tensor<B, 1>>,
    pub patch: usize,
}

impl<B: VidtBackend> PatchConv<B> {
    pub fn load(
        w: &WeightMap,
        prefix: &str,
        c_in: usize,
        c_out: usize,
        patch: usize,
        device: &B::Device,
    ) -> Result<Self> {
        Ok(Self {
            weight: Param::from_tensor(w.tensor::<B, 4>(
                &format!("{prefix}.weight"),
                [c_out, c_in, patch, patch],
                device,
            )?),
            bias: Param::from_tensor(w.tensor::<B, 1>(
                &format!("{prefix}.bias"),
                [c_out],
                device,
            )?),
            patch,
        })
    }

    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
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
pub struct Mlp3<B: VidtBackend> {
    pub layers: Vec<Linear<B>>,
}

impl<B: VidtBackend> Mlp3<B> {
    pub fn load(
        w: &WeightMap,
        prefix: &str,
        d: usize,
        d_out: usize,
        device: &B::Device,
    ) -> Result<Self> {
        Ok(Self {
            layers: vec![
                Linear::load(w, &format!("{prefix}.layers.0"), d, d, true, device)?,
                Linear::load(w, &format!("{prefix}.layers.1"), d, d, true, device)?,
                Linear::load(w, &format!("{prefix}.layers.2"), d, d_out, true, device)?,
            ],
        })
    }

    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3> {
        let x = activation::relu(self.layers[0].forward(x));
        let x = activation::relu(self.layers[1].forward(x));
        self.layers[2].forward(x)
    }
}
