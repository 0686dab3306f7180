//! The high-level detector: a loaded model, its configuration and class names, and one call
//! from a normalized batch to detections. The CLI and the wasm API are thin over this.

use burn::tensor::TensorData;

use super::options::{DetectOptions, DetectRequest, Resolved};
use super::postprocess::{Detection, nms, postprocess};
use super::uqr::{MaskCodec, detection_mask};
use crate::config::VidtConfig;
use crate::defaults;
use crate::error::{Result, VidtError};
use crate::io::{LoadedModel, Recommendations};
use crate::model::precision::Precision;
use crate::model::{ForwardOptions, PixelMask, Vidt, VidtOutput};
use crate::ops::OpImpl;
use crate::ops::VidtBackend;
use crate::ops::upload::upload;
use crate::tensor_map::{TensorMap, read};

pub struct Detector<B: VidtBackend> {
    pub model: Vidt<B>,
    pub config: VidtConfig,
    pub names: Vec<String>,
    pub device: B::Device,
    pub ops: OpImpl,
    /// Shorter image side to resize to: the model file's, else the official 800.
    pub input_size: usize,
    /// The model file's display recommendations (threshold, NMS), if any.
    pub recommended: Recommendations,
}

impl<B: VidtBackend> Detector<B> {
    /// Loads a checkpoint's tensors, inferring the configuration from them.
    pub fn from_weights(w: TensorMap, device: &B::Device) -> Result<Self> {
        Self::from_loaded(&LoadedModel::from_weights(w)?, device)
    }

    /// Default options: the model's recommendations where it has them, else the defaults.
    pub fn default_options(&self) -> DetectOptions {
        let d = DetectOptions::default();
        DetectOptions {
            threshold: self.recommended.threshold.unwrap_or(d.threshold),
            nms_iou: self.recommended.nms_iou,
            ..d
        }
    }

    /// The same detector in `precision` (its parameters cast; inputs follow); an error when the
    /// device does not compute in it ([`crate::model::precision::cast`]).
    pub fn with_precision(mut self, precision: Precision) -> Result<Self> {
        self.model = crate::model::precision::cast(self.model, precision, &self.device)?;
        Ok(self)
    }

    /// The precision the model runs in.
    pub fn precision(&self) -> Precision {
        Precision::of(self.model.dtype()).unwrap_or_default()
    }

    /// The same detector with the hot ops implemented by `ops` (the reference for comparisons).
    pub fn with_ops(mut self, ops: OpImpl) -> Self {
        self.ops = ops;
        self
    }

    /// [`Self::default_options`] with what the caller set, and the sizes to resize to; an
    /// out-of-range value is an error naming it ([`DetectRequest::resolve`]).
    pub fn resolve(&self, request: &DetectRequest) -> Result<Resolved> {
        request.resolve(
            self.default_options(),
            self.config.dec_layers,
            self.input_size,
            &self.names,
        )
    }

    /// Builds a loaded model (configuration and class names as stored or inferred).
    pub fn from_loaded(m: &LoadedModel, device: &B::Device) -> Result<Self> {
        Ok(Self {
            model: crate::official::load(&m.weights, &m.config, device)?,
            config: m.config.clone(),
            names: m.classes.clone(),
            device: device.clone(),
            ops: OpImpl::Auto,
            input_size: m.input_size.unwrap_or(defaults::INPUT_SIZE),
            recommended: m.recommended,
        })
    }

    /// A `.vidt` model file or a safetensors checkpoint in memory (the browser's path).
    pub fn from_bytes(bytes: &[u8], name: &str, device: &B::Device) -> Result<Self> {
        Self::from_loaded(&LoadedModel::from_bytes(bytes, name)?, device)
    }

    /// A `.pth`, `.safetensors` or `.vidt` file.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_file(path: impl AsRef<std::path::Path>, device: &B::Device) -> Result<Self> {
        Self::from_loaded(&LoadedModel::from_file(path)?, device)
    }

    /// Runs the model on a normalized `(B, 3, H, W)` batch.
    pub fn forward(
        &self,
        images: &[f32],
        shape: [usize; 4],
        mask: &PixelMask,
        dec_layers: Option<usize>,
    ) -> Result<VidtOutput<B>> {
        if images.len() != shape.iter().product::<usize>() {
            return Err(VidtError::Input {
                name: "input".into(),
                reason: format!("{} values for shape {shape:?}", images.len()),
            });
        }
        let x = upload::<B, 4>(
            TensorData::new(images.to_vec(), shape),
            (&self.device, self.model.dtype()),
        );
        self.model.forward(
            x,
            mask,
            ForwardOptions {
                dec_layers,
                keep_intermediates: false,
                ops: self.ops,
            },
        )
    }

    /// `vidt forward`'s contract: the outputs of [`Self::forward`] by name, on the host.
    pub fn forward_named(
        &self,
        inp: &ForwardInput,
        dec_layers: Option<usize>,
    ) -> Result<TensorMap> {
        let out = self.forward(&inp.data, inp.shape, &inp.mask, dec_layers)?;
        out.named()
            .into_iter()
            .map(|(name, t)| Ok((name, crate::tensor_map::HostTensor::from_tensor(t)?)))
            .collect()
    }

    /// Detections per image; `sizes` are the original `(h, w)` the boxes are scaled to.
    pub fn detect(
        &self,
        images: &[f32],
        shape: [usize; 4],
        mask: &PixelMask,
        sizes: &[(usize, usize)],
        opts: DetectOptions,
    ) -> Result<Vec<Vec<Detection>>> {
        let out = self.forward(images, shape, mask, opts.dec_layers)?;
        let logits = read(out.pred_logits)?;
        let boxes = read(out.pred_boxes)?;
        let vectors = out.vectors.last().cloned().map(read).transpose()?;
        Ok(self.decode(&logits, &boxes, vectors.as_deref(), sizes, opts))
    }

    /// Post-processing of read-back outputs (shared with the async browser path); with a
    /// ViDT+ model's final UQR `vectors` `(B, Q, 256)`, each kept detection gets its mask.
    pub fn decode(
        &self,
        logits: &[f32],
        boxes: &[f32],
        vectors: Option<&[f32]>,
        sizes: &[(usize, usize)],
        opts: DetectOptions,
    ) -> Vec<Vec<Detection>> {
        let (q, c) = (self.config.det_tokens, self.config.num_classes);
        let decoder = vectors.map(|_| MaskCodec::default());
        sizes
            .iter()
            .enumerate()
            .map(|(bi, &size)| {
                let dets: Vec<Detection> = postprocess(
                    &logits[bi * q * c..(bi + 1) * q * c],
                    &boxes[bi * q * 4..(bi + 1) * q * 4],
                    c,
                    size,
                    opts.top_k,
                    &self.names,
                    opts.labels.as_deref(),
                )
                .into_iter()
                .filter(|d| d.score >= opts.threshold)
                .collect();
                let mut dets = match opts.nms_iou {
                    Some(t) => nms(dets, t),
                    None => dets,
                };
                if let (Some(v), Some(dec)) = (vectors, &decoder) {
                    let k = v.len() / (sizes.len() * q);
                    for d in &mut dets {
                        let vector = &v[(bi * q + d.query) * k..(bi * q + d.query + 1) * k];
                        d.mask = Some(detection_mask(dec, vector, d.bbox, size));
                    }
                }
                dets
            })
            .collect()
    }
}

/// A raw forward's input as `vidt forward` and the browser's `forward` read it: tensors
/// `input` (B,3,H,W) and `mask` (B,H,W, nonzero = padded).
pub struct ForwardInput {
    pub data: Vec<f32>,
    pub shape: [usize; 4],
    pub mask: PixelMask,
}

impl ForwardInput {
    /// `name` (a file or URL) is used in errors.
    pub fn from_tensors(inp: &TensorMap, name: &str) -> Result<Self> {
        let bad = |reason: String| VidtError::Input {
            name: name.to_string(),
            reason,
        };
        let x = inp
            .require("input")
            .map_err(|_| bad("has no tensor `input`".into()))?;
        let m = inp
            .require("mask")
            .map_err(|_| bad("has no tensor `mask`".into()))?;
        let shape: [usize; 4] = x
            .shape
            .clone()
            .try_into()
            .map_err(|_| bad(format!("`input` must be (B,3,H,W), got {:?}", x.shape)))?;
        if shape[1] != 3 {
            return Err(bad(format!("`input` must be (B,3,H,W), got {:?}", x.shape)));
        }
        if m.shape != [shape[0], shape[2], shape[3]] {
            return Err(bad(format!(
                "`mask` has shape {:?}, expected {:?}",
                m.shape,
                [shape[0], shape[2], shape[3]]
            )));
        }
        let mask = PixelMask::new(
            shape[0],
            shape[2],
            shape[3],
            m.data.iter().map(|&v| (v != 0.0) as u8).collect(),
        );
        Ok(Self {
            data: x.data.clone(),
            shape,
            mask,
        })
    }
}
