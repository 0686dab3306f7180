//! The inverse of loading: a model's parameters written back under the official state_dict
//! keys and layouts (Linear weights as `[out, in]`, 1x1 convolutions as `[out, in, 1, 1]`,
//! `in_proj_weight` re-joined), including the `transformer.decoder.bbox_embed.*` aliases.
//! Parameters the reference registers but never uses are not part of the model and are not
//! written; the loader does not need them.

use burn::tensor::Tensor;

use super::Vidt;
use super::deformable::MsDeformAttn;
use super::layers::{GroupNorm, LayerNorm, Linear, Mlp3, PatchConv};
use super::neck::{DecoderLayer, Neck, ProjGn, SelfAttention};
use super::ram::ReconfiguredAttention;
use super::swin::{PatchMerging, SwinBackbone, SwinBlock};
use crate::detector::read;
use crate::error::Result;
use crate::ops::VidtBackend;
use crate::weights::{WeightMap, WeightTensor};

fn put<B: VidtBackend, const D: usize>(
    out: &mut WeightMap,
    key: String,
    t: Tensor<B, D>,
) -> Result<()> {
    let shape = t.dims().to_vec();
    out.insert(key, WeightTensor::new(shape, read(t)?));
    Ok(())
}

impl<B: VidtBackend> Linear<B> {
    pub fn save(&self, out: &mut WeightMap, p: &str) -> Result<()> {
        put(out, format!("{p}.weight"), self.weight.val().transpose())?;
        if let Some(b) = &self.bias {
            put(out, format!("{p}.bias"), b.val())?;
        }
        Ok(())
    }

    pub fn save_conv1x1(&self, out: &mut WeightMap, p: &str) -> Result<()> {
        let [i, o] = self.weight.dims();
        put(
            out,
            format!("{p}.weight"),
            self.weight.val().transpose().reshape([o, i, 1, 1]),
        )?;
        if let Some(b) = &self.bias {
            put(out, format!("{p}.bias"), b.val())?;
        }
        Ok(())
    }
}

impl<B: VidtBackend> LayerNorm<B> {
    pub fn save(&self, out: &mut WeightMap, p: &str) -> Result<()> {
        put(out, format!("{p}.weight"), self.weight.val())?;
        put(out, format!("{p}.bias"), self.bias.val())
    }
}

impl<B: VidtBackend> GroupNorm<B> {
    pub fn save(&self, out: &mut WeightMap, p: &str) -> Result<()> {
        put(out, format!("{p}.weight"), self.weight.val())?;
        put(out, format!("{p}.bias"), self.bias.val())
    }
}

impl<B: VidtBackend> PatchConv<B> {
    pub fn save(&self, out: &mut WeightMap, p: &str) -> Result<()> {
        put(out, format!("{p}.weight"), self.weight.val())?;
        put(out, format!("{p}.bias"), self.bias.val())
    }
}

impl<B: VidtBackend> Mlp3<B> {
    pub fn save(&self, out: &mut WeightMap, p: &str) -> Result<()> {
        for (i, l) in self.layers.iter().enumerate() {
            l.save(out, &format!("{p}.layers.{i}"))?;
        }
        Ok(())
    }
}

impl<B: VidtBackend> ReconfiguredAttention<B> {
    pub fn save(&self, out: &mut WeightMap, p: &str) -> Result<()> {
        self.qkv.save(out, &format!("{p}.qkv"))?;
        self.proj.save(out, &format!("{p}.proj"))?;
        put(
            out,
            format!("{p}.relative_position_bias_table"),
            self.relative_position_bias_table.val(),
        )?;
        let n = self.window * self.window;
        let idx = super::window::relative_position_index(self.window)
            .into_iter()
            .map(|v| v as f32)
            .collect();
        out.insert(
            format!("{p}.relative_position_index"),
            WeightTensor::new(vec![n, n], idx),
        );
        Ok(())
    }
}

impl<B: VidtBackend> SwinBlock<B> {
    pub fn save(&self, out: &mut WeightMap, p: &str) -> Result<()> {
        self.norm1.save(out, &format!("{p}.norm1"))?;
        self.attn.save(out, &format!("{p}.attn"))?;
        self.norm2.save(out, &format!("{p}.norm2"))?;
        self.fc1.save(out, &format!("{p}.mlp.fc1"))?;
        self.fc2.save(out, &format!("{p}.mlp.fc2"))?;
        self.det_pos_linear
            .save(out, &format!("{p}.det_pos_linear"))
    }
}

impl<B: VidtBackend> PatchMerging<B> {
    pub fn save(&self, out: &mut WeightMap, p: &str) -> Result<()> {
        self.norm.save(out, &format!("{p}.norm"))?;
        self.reduction.save(out, &format!("{p}.reduction"))
    }
}

impl<B: VidtBackend> SwinBackbone<B> {
    pub fn save(&self, out: &mut WeightMap) -> Result<()> {
        self.patch_embed.save(out, "backbone.patch_embed.proj")?;
        self.patch_norm.save(out, "backbone.patch_embed.norm")?;
        put(out, "backbone.det_token".into(), self.det_token.val())?;
        put(
            out,
            "backbone.det_pos_embed".into(),
            self.det_pos_embed.val(),
        )?;
        for (s, stage) in self.stages.iter().enumerate() {
            for (i, blk) in stage.blocks.iter().enumerate() {
                blk.save(out, &format!("backbone.layers.{s}.blocks.{i}"))?;
            }
            stage
                .downsample
                .save(out, &format!("backbone.layers.{s}.downsample"))?;
        }
        Ok(())
    }
}

impl<B: VidtBackend> SelfAttention<B> {
    pub fn save(&self, out: &mut WeightMap, p: &str) -> Result<()> {
        let w = Tensor::cat(
            vec![
                self.q.weight.val().transpose(),
                self.k.weight.val().transpose(),
                self.v.weight.val().transpose(),
            ],
            0,
        );
        put(out, format!("{p}.in_proj_weight"), w)?;
        let bias = |l: &Linear<B>| l.bias.as_ref().expect("in_proj has a bias").val();
        put(
            out,
            format!("{p}.in_proj_bias"),
            Tensor::cat(vec![bias(&self.q), bias(&self.k), bias(&self.v)], 0),
        )?;
        self.out_proj.save(out, &format!("{p}.out_proj"))
    }
}

impl<B: VidtBackend> MsDeformAttn<B> {
    pub fn save(&self, out: &mut WeightMap, p: &str) -> Result<()> {
        self.sampling_offsets
            .save(out, &format!("{p}.sampling_offsets"))?;
        self.attention_weights
            .save(out, &format!("{p}.attention_weights"))?;
        self.value_proj.save(out, &format!("{p}.value_proj"))?;
        self.output_proj.save(out, &format!("{p}.output_proj"))
    }
}

impl<B: VidtBackend> DecoderLayer<B> {
    pub fn save(&self, out: &mut WeightMap, p: &str) -> Result<()> {
        self.self_attn.save(out, &format!("{p}.self_attn"))?;
        self.norm2.save(out, &format!("{p}.norm2"))?;
        self.cross_attn.save(out, &format!("{p}.cross_attn"))?;
        self.norm1.save(out, &format!("{p}.norm1"))?;
        self.linear1.save(out, &format!("{p}.linear1"))?;
        self.linear2.save(out, &format!("{p}.linear2"))?;
        self.norm3.save(out, &format!("{p}.norm3"))
    }
}

impl<B: VidtBackend> ProjGn<B> {
    pub fn save(&self, out: &mut WeightMap, p: &str) -> Result<()> {
        self.conv.save_conv1x1(out, &format!("{p}.0"))?;
        self.gn.save(out, &format!("{p}.1"))
    }
}

impl<B: VidtBackend> Neck<B> {
    pub fn save(&self, out: &mut WeightMap) -> Result<()> {
        for (i, p) in self.input_proj.iter().enumerate() {
            p.save(out, &format!("input_proj.{i}"))?;
        }
        self.tgt_proj.save(out, "tgt_proj")?;
        self.query_pos_proj.save(out, "query_pos_proj")?;
        self.reference_points
            .save(out, "transformer.reference_points")?;
        for (i, l) in self.layers.iter().enumerate() {
            l.save(out, &format!("transformer.decoder.layers.{i}"))?;
        }
        for (i, c) in self.class_embed.iter().enumerate() {
            c.save(out, &format!("class_embed.{i}"))?;
        }
        for (i, b) in self.bbox_embed.iter().enumerate() {
            b.save(out, &format!("bbox_embed.{i}"))?;
            // Box refinement registers the same MLPs under the decoder too.
            b.save(out, &format!("transformer.decoder.bbox_embed.{i}"))?;
        }
        Ok(())
    }
}

impl<B: VidtBackend> Vidt<B> {
    /// Every parameter under its official key.
    pub fn to_weights(&self) -> Result<WeightMap> {
        let mut out = WeightMap::new();
        self.backbone.save(&mut out)?;
        self.neck.save(&mut out)?;
        Ok(out)
    }
}
