//! The ViDT detector: Swin backbone with RAM + neck (deformable decoder) + heads, as burn
//! modules. The modules know nothing of checkpoints: [`crate::official`] builds them from the
//! official state_dict.

pub mod deformable;
pub mod epff;
pub mod layers;
pub mod mask;
pub mod neck;
pub mod paths;
pub mod plus;
pub mod position;
pub mod precision;
pub mod ram;
pub mod swin;

use burn::module::Module;
use burn::tensor::Tensor;

use crate::config::VidtConfig;
use crate::error::{Result, VidtError};
use crate::ops::OpImpl;
use crate::ops::VidtBackend;
pub use mask::PixelMask;
use neck::{Neck, NeckOutput};
use swin::{BackboneOutput, SwinBackbone};

/// Smallest image side the backbone supports: the stage-4 cross-attention mask starts at the
/// patch grid / 8, which must not be empty.
pub const MIN_SIDE: usize = 32;

#[derive(Module, Debug)]
pub struct Vidt<B: VidtBackend> {
    pub backbone: SwinBackbone<B>,
    pub neck: Neck<B>,
}

/// Final and auxiliary predictions.
#[derive(Clone, Debug)]
pub struct VidtOutput<B: VidtBackend> {
    /// `(B, Q, classes)` of the last decoder layer run.
    pub pred_logits: Tensor<B, 3>,
    /// `(B, Q, 4)` (cx, cy, w, h) normalized to the (unpadded) image.
    pub pred_boxes: Tensor<B, 3>,
    /// `(logits, boxes)` of levels 0..k-1 (level 0 = backbone-only detector).
    pub aux: Vec<(Tensor<B, 3>, Tensor<B, 3>)>,
    /// ViDT+ only (else empty): UQR vectors `(B, Q, 256)` and IoU logits `(B, Q, 1)` of every
    /// level, the last one the final output's.
    pub vectors: Vec<Tensor<B, 3>>,
    pub ious: Vec<Tensor<B, 3>>,
}

impl<B: VidtBackend> VidtOutput<B> {
    /// The outputs under the names `vidt forward` (and the fixtures) use: `pred_logits`,
    /// `pred_boxes`, then `aux_{i}_pred_{logits,boxes}`; for ViDT+ also `pred_vectors`,
    /// `pred_ious` and `aux_{i}_pred_{vectors,ious}`.
    pub fn named(self) -> Vec<(String, Tensor<B, 3>)> {
        let mut v = vec![
            ("pred_logits".to_string(), self.pred_logits),
            ("pred_boxes".to_string(), self.pred_boxes),
        ];
        for (i, (l, b)) in self.aux.into_iter().enumerate() {
            v.push((format!("aux_{i}_pred_logits"), l));
            v.push((format!("aux_{i}_pred_boxes"), b));
        }
        for (name, levels) in [("vectors", self.vectors), ("ious", self.ious)] {
            let last = levels.len().saturating_sub(1);
            for (i, t) in levels.into_iter().enumerate() {
                if i == last {
                    v.push((format!("pred_{name}"), t));
                } else {
                    v.push((format!("aux_{i}_pred_{name}"), t));
                }
            }
        }
        v
    }
}

/// Forward options.
#[derive(Clone, Copy, Debug, Default)]
pub struct ForwardOptions {
    /// Run only the first k decoder layers (head k becomes the output).
    pub dec_layers: Option<usize>,
    /// Keep intermediates (for parity checks).
    pub keep_intermediates: bool,
    pub ops: OpImpl,
}

/// Everything a traced forward computed.
pub struct VidtTrace<B: VidtBackend> {
    pub backbone: BackboneOutput<B>,
    pub neck: NeckOutput<B>,
}

impl<B: VidtBackend> Vidt<B> {
    /// The dtype of the parameters, which the forward's inputs and constants take
    /// ([`precision`]).
    pub fn dtype(&self) -> burn::tensor::DType {
        self.backbone.det_token.val().dtype()
    }

    /// The model of `cfg` with every parameter still lazy (nothing allocated):
    /// [`crate::official::load`] fills it from a checkpoint.
    pub fn new(cfg: &VidtConfig, device: &B::Device) -> Self {
        Self {
            backbone: SwinBackbone::new(cfg, device),
            neck: Neck::new(cfg, device),
        }
    }

    /// Number of decoder layers loaded.
    pub fn dec_layers(&self) -> usize {
        self.neck.layers.len()
    }

    /// `images`: `(B, 3, H, W)` ImageNet-normalized; `mask`: `(B, H, W)`, 1 = padded.
    pub fn forward(
        &self,
        images: Tensor<B, 4>,
        mask: &PixelMask,
        opts: ForwardOptions,
    ) -> Result<VidtOutput<B>> {
        Ok(Self::outputs(self.forward_traced(images, mask, opts)?.neck))
    }

    /// Like [`Self::forward`], returning the backbone and neck intermediates as well.
    pub fn forward_traced(
        &self,
        images: Tensor<B, 4>,
        mask: &PixelMask,
        opts: ForwardOptions,
    ) -> Result<VidtTrace<B>> {
        let [b, c, h, w] = images.dims();
        if c != 3 {
            return Err(VidtError::Input {
                name: "input".into(),
                reason: format!("expected 3 channels, got {c} (shape [{b}, {c}, {h}, {w}])"),
            });
        }
        if (mask.batch, mask.height, mask.width) != (b, h, w) {
            return Err(VidtError::Input {
                name: "mask".into(),
                reason: format!(
                    "shape [{}, {}, {}] does not match the input's [{b}, {h}, {w}]",
                    mask.batch, mask.height, mask.width
                ),
            });
        }
        if h < MIN_SIDE || w < MIN_SIDE {
            return Err(VidtError::Input {
                name: "input".into(),
                reason: format!("image {h}x{w} is smaller than {MIN_SIDE}x{MIN_SIDE}"),
            });
        }
        if let Some(k) = opts.dec_layers
            && k > self.dec_layers()
        {
            return Err(VidtError::Input {
                name: "dec_layers".into(),
                reason: format!(
                    "{k} decoder layers requested, the model has {}",
                    self.dec_layers()
                ),
            });
        }
        // `opts.ops` decides every hot op of this forward, once.
        crate::ops::with_ops(opts.ops, || {
            let backbone = self.backbone.forward(images, mask, opts.keep_intermediates);
            // Token logits serve the token-labeling loss (training) and parity checks only.
            let tokens = opts.keep_intermediates || B::ad_enabled(&backbone.det_tgt.device());
            let neck = self
                .neck
                .forward(backbone.clone(), mask, opts.dec_layers, tokens);
            Ok(VidtTrace { backbone, neck })
        })
    }

    /// The final and auxiliary predictions of a neck pass.
    pub fn outputs(neck: NeckOutput<B>) -> VidtOutput<B> {
        let mut logits = neck.logits;
        let mut boxes = neck.boxes;
        let pred_logits = logits.pop().expect("at least one level");
        let pred_boxes = boxes.pop().expect("at least one level");
        VidtOutput {
            pred_logits,
            pred_boxes,
            aux: logits.into_iter().zip(boxes).collect(),
            vectors: neck.vectors,
            ious: neck.ious,
        }
    }
}
