//! The official state_dict as one table: every key of a ViDT checkpoint (naver-ai/vidt), in the
//! official order, with its shape, what the reference does with it, how the official code
//! initializes it and where it lives in our model (module path and layout). Loading, saving,
//! the official initialization, config inference, the model file and parameter counts all read
//! this table; no other file spells an official key.
//!
//! Why not burn-store's key remapping: one official tensor can feed several of ours
//! (`in_proj_weight` is our q, k and v projections), some keys alias others
//! (`transformer.decoder.bbox_embed.*`), some are registered but unused, and our errors name
//! the official key and both shapes; a table that says all of it in one place is shorter than
//! remapping rules plus the exceptions.

use crate::config::VidtConfig;
use crate::model::plus::{N_KEEP, TOKEN_CLASSES, VECTOR_HIDDEN};
use crate::tensor_map::HostTensor;

/// What the reference does with a tensor.
#[derive(Clone, Debug, PartialEq)]
pub enum Kind {
    /// A parameter the model uses.
    Param,
    /// Registered by the reference but never used in its forward pass (counted, not loaded).
    Unused,
    /// The same tensor as the named key (box refinement registers the box MLPs twice).
    Alias(String),
    /// An integer buffer (`relative_position_index`), recomputed by us.
    Buffer,
}

/// How the official code initializes a parameter (applied by [`super::init`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Init {
    Ones,
    Zeros,
    /// timm's `trunc_normal_(std=.02)` ([DET] tokens, their pos embedding, relative-position
    /// tables).
    TruncNormal,
    /// PyTorch's Linear / Conv default for weight and bias: U(±1/sqrt(fan_in)).
    Uniform {
        fan_in: usize,
    },
    /// `xavier_uniform_`: U(±sqrt(6 / (fan_in + fan_out))) from the tensor's shape (Deformable
    /// DETR's transformer matrices and the 1x1 projections).
    Xavier,
    /// Deformable DETR's sampling-offset bias: per head a direction on the square ring, times
    /// the point index.
    SamplingGrid,
    /// The focal-loss prior on the class bias: -log((1 - 0.01) / 0.01).
    FocalPrior,
    /// The first box head's last bias: centre 0, size logits -2.
    BoxSizePrior,
    /// Not a parameter (unused, alias or buffer): nothing to initialize.
    None,
}

/// How an official tensor is laid out in our parameter.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Layout {
    /// The same shape and order.
    Same,
    /// A Linear weight: official `[out, in]`, ours `[in, out]` (burn's row layout).
    Transposed,
    /// A 1x1 convolution `[out, in, 1, 1]` applied as a Linear to channel-last tokens: ours
    /// `[in, out]`.
    Conv1x1,
    /// Row block `part` of `parts` equal blocks (a stacked `in_proj_*`), transposed when it is a
    /// weight.
    Rows {
        part: usize,
        parts: usize,
        transposed: bool,
    },
}

/// Where (part of) an official tensor lives in our model.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// Module path as burn's visitors report it (struct fields and Vec indices, dot-joined).
    pub path: String,
    pub layout: Layout,
}

/// One key of the official state_dict.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: String,
    /// The official shape.
    pub shape: Vec<usize>,
    pub kind: Kind,
    pub init: Init,
    /// Our parameters holding it: one, or one per row block; none unless `kind` is `Param`.
    pub targets: Vec<Target>,
}

impl Entry {
    pub fn is_param(&self) -> bool {
        self.kind == Kind::Param
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

// Key prefixes and the leaves config inference probes. The table below spells every key
// through these or in place; inference (`super::infer`) uses the same functions.
pub(crate) const PATCH_EMBED_PROJ: &str = "backbone.patch_embed.proj";
pub(crate) const DET_TOKEN: &str = "backbone.det_token";
pub(crate) const DET_POS_EMBED: &str = "backbone.det_pos_embed";
pub(crate) const CLASS_EMBED: &str = "class_embed";
pub(crate) const REL_POS_TABLE: &str = "attn.relative_position_bias_table";
pub(crate) const SAMPLING_OFFSETS: &str = "cross_attn.sampling_offsets";
pub(crate) const ATTENTION_WEIGHTS: &str = "cross_attn.attention_weights";

/// ViDT+'s EPFF module (`FPNFusionModule.multi_scaler`).
pub(crate) const EPFF: &str = "fusion.multi_scaler";
/// The bottleneck width of EPFF's residual convolution units (DPT's).
pub(crate) const EPFF_UNIT_WIDTH: usize = 64;

pub(crate) fn weight(prefix: &str) -> String {
    format!("{prefix}.weight")
}

/// `backbone.layers.{s}.blocks.{b}`
pub(crate) fn block(s: usize, b: usize) -> String {
    format!("backbone.layers.{s}.blocks.{b}")
}

/// The first LayerNorm of a Swin block (present for every block: inference counts them).
pub(crate) fn block_norm1(s: usize, b: usize) -> String {
    format!("{}.norm1", block(s, b))
}

/// `transformer.decoder.layers.{i}`
pub(crate) fn decoder_layer(i: usize) -> String {
    format!("transformer.decoder.layers.{i}")
}

/// The first LayerNorm of a decoder layer (inference counts them).
pub(crate) fn decoder_norm1(i: usize) -> String {
    format!("{}.norm1", decoder_layer(i))
}

/// The first FFN layer of a decoder layer (its rows give `dim_feedforward`).
pub(crate) fn decoder_linear1(i: usize) -> String {
    format!("{}.linear1", decoder_layer(i))
}

/// EPFF's 1x1 reduction of level `i` (its presence marks a ViDT+ checkpoint).
pub(crate) fn epff_layer_rn(i: usize) -> String {
    format!("{EPFF}.layer_{i}_rn")
}

pub(crate) fn class_embed(i: usize) -> String {
    format!("{CLASS_EMBED}.{i}")
}

/// Builds the table, keeping the official order.
struct Builder {
    v: Vec<Entry>,
}

impl Builder {
    fn entry(&mut self, key: String, shape: Vec<usize>, kind: Kind, init: Init, t: Vec<Target>) {
        self.v.push(Entry {
            key,
            shape,
            kind,
            init,
            targets: t,
        });
    }

    fn param(&mut self, key: String, path: String, shape: Vec<usize>, layout: Layout, init: Init) {
        let targets = vec![Target { path, layout }];
        self.entry(key, shape, Kind::Param, init, targets);
    }

    fn unused(&mut self, key: String, shape: Vec<usize>) {
        self.entry(key, shape, Kind::Unused, Init::None, vec![]);
    }

    /// `{key}.weight` `[out, in]` (and `{key}.bias`) -> our Linear at `path` (`weight` `[in,
    /// out]`, `bias`).
    fn linear(&mut self, key: &str, path: &str, (d_in, d_out): (usize, usize), init: (Init, Init)) {
        let (w, b) = init;
        self.param(
            weight(key),
            format!("{path}.weight"),
            vec![d_out, d_in],
            Layout::Transposed,
            w,
        );
        if b != Init::None {
            self.param(
                format!("{key}.bias"),
                format!("{path}.bias"),
                vec![d_out],
                Layout::Same,
                b,
            );
        }
    }

    /// PyTorch's default-initialized Linear with bias.
    fn torch_linear(&mut self, key: &str, path: &str, d_in: usize, d_out: usize) {
        let u = Init::Uniform { fan_in: d_in };
        self.linear(key, path, (d_in, d_out), (u, u));
    }

    /// An `nn.LayerNorm` -> burn's `LayerNorm` (`gamma`, `beta`).
    fn layer_norm(&mut self, key: &str, path: &str, n: usize) {
        let (w, b) = (weight(key), format!("{key}.bias"));
        self.param(
            w,
            format!("{path}.gamma"),
            vec![n],
            Layout::Same,
            Init::Ones,
        );
        self.param(
            b,
            format!("{path}.beta"),
            vec![n],
            Layout::Same,
            Init::Zeros,
        );
    }

    fn unused_linear(&mut self, key: &str, d_in: usize, d_out: usize) {
        self.unused(weight(key), vec![d_out, d_in]);
    }

    fn unused_norm(&mut self, key: &str, n: usize) {
        self.unused(weight(key), vec![n]);
        self.unused(format!("{key}.bias"), vec![n]);
    }

    /// `nn.Sequential(Conv2d(c_in, d, 1), GroupNorm(32, d))` -> our `ProjGn` (`conv` as a
    /// Linear on channel-last tokens, `gn`), xavier weight and zero bias as the reference.
    fn proj_gn(&mut self, key: &str, path: &str, c_in: usize, d: usize) {
        self.param(
            format!("{key}.0.weight"),
            format!("{path}.conv.weight"),
            vec![d, c_in, 1, 1],
            Layout::Conv1x1,
            Init::Xavier,
        );
        self.param(
            format!("{key}.0.bias"),
            format!("{path}.conv.bias"),
            vec![d],
            Layout::Same,
            Init::Zeros,
        );
        for (leaf, init) in [("weight", Init::Ones), ("bias", Init::Zeros)] {
            self.param(
                format!("{key}.1.{leaf}"),
                format!("{path}.gn.{leaf}"),
                vec![d],
                Layout::Same,
                init,
            );
        }
    }

    /// A 3-layer MLP `{key}.layers.{0,1,2}` of widths `in -> hidden -> hidden -> out`: the first
    /// two PyTorch default-initialized, the last as `last` says (weight, bias).
    fn mlp3(&mut self, key: &str, path: &str, dims: [usize; 3], last: (Init, Init)) {
        let [d_in, hidden, d_out] = dims;
        for (l, i) in [(0, d_in), (1, hidden)] {
            let (k, p) = (format!("{key}.layers.{l}"), format!("{path}.layers.{l}"));
            self.torch_linear(&k, &p, i, hidden);
        }
        let (k, p) = (format!("{key}.layers.2"), format!("{path}.layers.2"));
        self.linear(&k, &p, (hidden, d_out), last);
    }

    /// The MLP `of.layers.*` registered again as `key.layers.*` (a head shared by every level).
    fn mlp3_alias(&mut self, key: &str, of: &str, dims: [usize; 3]) {
        let [d_in, hidden, d_out] = dims;
        for (l, i, o) in [(0, d_in, hidden), (1, hidden, hidden), (2, hidden, d_out)] {
            for (leaf, shape) in [("weight", vec![o, i]), ("bias", vec![o])] {
                let (k, a) = (
                    format!("{key}.layers.{l}.{leaf}"),
                    format!("{of}.layers.{l}.{leaf}"),
                );
                self.entry(k, shape, Kind::Alias(a), Init::None, vec![]);
            }
        }
    }

    /// The 3-layer box MLP (PyTorch default init, then the last layer zeroed; `first` is box
    /// head 0, whose size bias starts at -2).
    fn box_mlp(&mut self, key: &str, path: &str, d: usize, first: bool) {
        let bias = if first {
            Init::BoxSizePrior
        } else {
            Init::Zeros
        };
        self.mlp3(key, path, [d, d, 4], (Init::Zeros, bias));
    }

    /// The box MLP `of.layers.*` registered again as `key.layers.*`.
    fn box_mlp_alias(&mut self, key: &str, of: &str, d: usize) {
        self.mlp3_alias(key, of, [d, d, 4]);
    }

    /// A 1x1 convolution `{key}` `[out, in, 1, 1]` with bias -> our Linear at `path`.
    fn conv1x1(
        &mut self,
        key: &str,
        path: &str,
        (c_in, c_out): (usize, usize),
        init: (Init, Init),
    ) {
        self.param(
            weight(key),
            format!("{path}.weight"),
            vec![c_out, c_in, 1, 1],
            Layout::Conv1x1,
            init.0,
        );
        self.param(
            format!("{key}.bias"),
            format!("{path}.bias"),
            vec![c_out],
            Layout::Same,
            init.1,
        );
    }

    /// DPT's residual convolution unit `{key}.conv{1,2,3}` (1x1 `d -> 64`, 3x3 `64 -> 64`, 1x1
    /// `64 -> d`, PyTorch's default init) -> ours at `path`; registered only when `path` is
    /// `None` (the coarsest fusion block's unused unit).
    fn residual_conv_unit(&mut self, key: &str, path: Option<&str>, d: usize) {
        let r = EPFF_UNIT_WIDTH;
        let convs = [("conv1", d, r, 1), ("conv2", r, r, 3), ("conv3", r, d, 1)];
        for (name, c_in, c_out, k) in convs {
            let key = format!("{key}.{name}");
            let u = Init::Uniform {
                fan_in: c_in * k * k,
            };
            match path {
                Some(p) if k == 1 => {
                    self.conv1x1(&key, &format!("{p}.{name}"), (c_in, c_out), (u, u))
                }
                Some(p) => {
                    let p = format!("{p}.{name}");
                    let w = vec![c_out, c_in, k, k];
                    self.param(weight(&key), format!("{p}.weight"), w, Layout::Same, u);
                    let b = vec![c_out];
                    self.param(
                        format!("{key}.bias"),
                        format!("{p}.bias"),
                        b,
                        Layout::Same,
                        u,
                    );
                }
                None => {
                    self.unused(weight(&key), vec![c_out, c_in, k, k]);
                    self.unused(format!("{key}.bias"), vec![c_out]);
                }
            }
        }
    }
}

/// ViDT+'s EPFF (`FPNFusionModule`), coarsest level first as the official code registers it:
/// per level the 1x1 reduction and GroupNorm, then the fusion block (smoothing after the
/// upsampling and two residual units; the coarsest level's block only runs its second unit).
fn epff(t: &mut Builder, c: &VidtConfig) {
    let d = c.d_model;
    let channels = c.level_channels();
    let top = channels.len() - 1;
    for (i, &ch) in channels.iter().enumerate().rev() {
        let p = "neck.fusion";
        t.conv1x1(
            &epff_layer_rn(i),
            &format!("{p}.layer_rn.{i}"),
            (ch, d),
            (Init::Xavier, Init::Zeros),
        );
        let k = format!("{EPFF}.p_norm_{i}");
        for (leaf, init) in [("weight", Init::Ones), ("bias", Init::Zeros)] {
            let (key, path) = (format!("{k}.{leaf}"), format!("{p}.p_norm.{i}.{leaf}"));
            t.param(key, path, vec![d], Layout::Same, init);
        }
        let k = format!("{EPFF}.refinenet_{i}");
        let u = Init::Uniform { fan_in: d };
        if i == top {
            t.unused(weight(&format!("{k}.smoothing")), vec![d, d, 1, 1]);
            t.unused(format!("{k}.smoothing.bias"), vec![d]);
            t.residual_conv_unit(&format!("{k}.resConfUnit1"), None, d);
            let path = format!("{p}.coarsest");
            t.residual_conv_unit(&format!("{k}.resConfUnit2"), Some(&path), d);
        } else {
            let b = format!("{p}.refinenet.{i}");
            t.conv1x1(
                &format!("{k}.smoothing"),
                &format!("{b}.smoothing"),
                (d, d),
                (u, u),
            );
            for unit in [1, 2] {
                let (key, path) = (format!("{k}.resConfUnit{unit}"), format!("{b}.unit{unit}"));
                t.residual_conv_unit(&key, Some(&path), d);
            }
        }
    }
}

/// The official state_dict of a model of configuration `c`, in the official order (decoder
/// layers and heads past `c.dec_layers` are not part of it: a checkpoint with more is read
/// with those ignored, the paper's decoding-layer drop).
pub fn table(c: &VidtConfig) -> Vec<Entry> {
    let mut t = Builder { v: Vec::new() };
    let d = c.d_model;
    let levels = c.num_levels();
    let (heads, points) = (c.dec_heads, c.dec_points);
    let xavier_zero = (Init::Xavier, Init::Zeros);
    t.unused("transformer.level_embed".into(), vec![levels, d]);
    for i in 0..c.dec_layers {
        let (k, p) = (decoder_layer(i), format!("neck.layers.{i}"));
        let hlp = heads * levels * points;
        t.linear(
            &format!("{k}.{SAMPLING_OFFSETS}"),
            &format!("{p}.cross_attn.sampling_offsets"),
            (d, hlp * 2),
            (Init::Zeros, Init::SamplingGrid),
        );
        t.linear(
            &format!("{k}.{ATTENTION_WEIGHTS}"),
            &format!("{p}.cross_attn.attention_weights"),
            (d, hlp),
            (Init::Zeros, Init::Zeros),
        );
        for m in ["value_proj", "output_proj"] {
            t.linear(
                &format!("{k}.cross_attn.{m}"),
                &format!("{p}.cross_attn.{m}"),
                (d, d),
                xavier_zero,
            );
        }
        t.layer_norm(&format!("{k}.norm1"), &format!("{p}.norm1"), d);
        // nn.MultiheadAttention's stacked q/k/v projection: three Linears of ours.
        let qkv = |part, leaf: &str| Target {
            path: format!("{p}.self_attn.{}.{leaf}", ["q", "k", "v"][part]),
            layout: Layout::Rows {
                part,
                parts: 3,
                transposed: leaf == "weight",
            },
        };
        t.entry(
            format!("{k}.self_attn.in_proj_weight"),
            vec![3 * d, d],
            Kind::Param,
            Init::Xavier,
            (0..3).map(|i| qkv(i, "weight")).collect(),
        );
        t.entry(
            format!("{k}.self_attn.in_proj_bias"),
            vec![3 * d],
            Kind::Param,
            Init::Zeros,
            (0..3).map(|i| qkv(i, "bias")).collect(),
        );
        t.linear(
            &format!("{k}.self_attn.out_proj"),
            &format!("{p}.self_attn.out_proj"),
            (d, d),
            xavier_zero,
        );
        t.layer_norm(&format!("{k}.norm2"), &format!("{p}.norm2"), d);
        let ff = c.dim_feedforward;
        for (m, io) in [("linear1", (d, ff)), ("linear2", (ff, d))] {
            let u = Init::Uniform { fan_in: io.0 };
            t.linear(
                &format!("{k}.{m}"),
                &format!("{p}.{m}"),
                io,
                (Init::Xavier, u),
            );
        }
        t.layer_norm(&format!("{k}.norm3"), &format!("{p}.norm3"), d);
    }
    let heads_out = c.dec_layers + 1;
    for i in 0..heads_out {
        t.box_mlp_alias(
            &format!("transformer.decoder.bbox_embed.{i}"),
            &format!("bbox_embed.{i}"),
            d,
        );
    }
    t.linear(
        "transformer.reference_points",
        "neck.reference_points",
        (d, 2),
        (Init::Xavier, Init::Uniform { fan_in: d }),
    );
    if c.plus {
        // The token-labeling head (its weights xavier, as every transformer matrix).
        let p = "neck.token_head";
        let bias = Init::Uniform { fan_in: d };
        t.linear(
            "transformer.enc_output",
            &format!("{p}.enc_output"),
            (d, d),
            (Init::Xavier, bias),
        );
        t.layer_norm(
            "transformer.enc_output_norm",
            &format!("{p}.enc_output_norm"),
            d,
        );
        let classes = (d, TOKEN_CLASSES);
        let init = (Init::Xavier, Init::FocalPrior);
        t.linear(
            "transformer.token_embed",
            &format!("{p}.token_embed"),
            classes,
            init,
        );
    }
    for i in 0..heads_out {
        let u = Init::Uniform { fan_in: d };
        t.linear(
            &class_embed(i),
            &format!("neck.class_embed.{i}"),
            (d, c.num_classes),
            (u, Init::FocalPrior),
        );
    }
    for i in 0..heads_out {
        t.box_mlp(
            &format!("bbox_embed.{i}"),
            &format!("neck.bbox_embed.{i}"),
            d,
            i == 0,
        );
    }
    backbone(&mut t, c);
    if c.plus {
        // The UQR head: one MLP shared by every level (registered once per level), its last
        // layer zeroed and its bias from the third coefficient on at -2, as the official init.
        let dims = [d, VECTOR_HIDDEN, N_KEEP];
        t.mlp3(
            "vector_embed.0",
            "neck.vector_embed",
            dims,
            (Init::Zeros, Init::BoxSizePrior),
        );
        for i in 1..heads_out {
            t.mlp3_alias(&format!("vector_embed.{i}"), "vector_embed.0", dims);
        }
        epff(&mut t, c);
    } else {
        for (i, ch) in c.level_channels().into_iter().enumerate() {
            t.proj_gn(
                &format!("input_proj.{i}"),
                &format!("neck.input_proj.{i}"),
                ch,
                d,
            );
        }
    }
    t.proj_gn("tgt_proj", "neck.tgt_proj", c.det_dim(), d);
    t.proj_gn("query_pos_proj", "neck.query_pos_proj", d, d);
    if c.plus {
        // The IoU-aware head: one per level (box refinement clones it), PyTorch's default init.
        let u = Init::Uniform { fan_in: d };
        for i in 0..heads_out {
            let (k, p) = (format!("iou_embed.{i}"), format!("neck.iou_embed.{i}"));
            t.mlp3(&k, &p, [d, d, 1], (u, u));
        }
    }
    t.v
}

/// The Swin backbone with RAM: [DET] tokens, patch embedding, the four stages (blocks and
/// patch merging) and the reference's unused extras.
fn backbone(t: &mut Builder, c: &VidtConfig) {
    let s = &c.swin;
    let (e, d, w) = (s.embed_dim, c.d_model, s.window_size);
    let q = c.det_tokens;
    for (k, shape) in [(DET_TOKEN, vec![1, q, e]), (DET_POS_EMBED, vec![1, q, d])] {
        t.param(k.into(), k.into(), shape, Layout::Same, Init::TruncNormal);
    }
    let fan_in = 3 * 4 * 4;
    t.param(
        weight(PATCH_EMBED_PROJ),
        format!("{PATCH_EMBED_PROJ}.weight"),
        vec![e, 3, 4, 4],
        Layout::Same,
        Init::Uniform { fan_in },
    );
    t.param(
        format!("{PATCH_EMBED_PROJ}.bias"),
        format!("{PATCH_EMBED_PROJ}.bias"),
        vec![e],
        Layout::Same,
        Init::Uniform { fan_in },
    );
    t.layer_norm("backbone.patch_embed.norm", "backbone.patch_embed.norm", e);
    let n = s.num_stages();
    for st in 0..n {
        let dim = s.stage_dim(st);
        for b in 0..s.depths[st] {
            // Our block mirrors the official names: path = key.
            let k = block(st, b);
            let at = |leaf: &str| format!("{k}.{leaf}");
            t.layer_norm(&block_norm1(st, b), &block_norm1(st, b), dim);
            let table_key = at(REL_POS_TABLE);
            t.param(
                table_key.clone(),
                table_key,
                vec![(2 * w - 1) * (2 * w - 1), s.num_heads[st]],
                Layout::Same,
                Init::TruncNormal,
            );
            t.entry(
                at("attn.relative_position_index"),
                vec![w * w, w * w],
                Kind::Buffer,
                Init::None,
                vec![],
            );
            t.torch_linear(&at("attn.qkv"), &at("attn.qkv"), dim, 3 * dim);
            t.torch_linear(&at("attn.proj"), &at("attn.proj"), dim, dim);
            t.layer_norm(&at("norm2"), &at("norm2"), dim);
            t.torch_linear(&at("mlp.fc1"), &at("mlp.fc1"), dim, 4 * dim);
            t.torch_linear(&at("mlp.fc2"), &at("mlp.fc2"), 4 * dim, dim);
            t.torch_linear(&at("det_pos_linear"), &at("det_pos_linear"), d, dim);
        }
        let out = if st + 1 < n { 2 * dim } else { d };
        let k = format!("backbone.layers.{st}.downsample");
        let reduction = format!("{k}.reduction");
        let u = Init::Uniform { fan_in: 4 * dim };
        t.linear(&reduction, &reduction, (4 * dim, out), (u, Init::None));
        t.layer_norm(&format!("{k}.norm"), &format!("{k}.norm"), 4 * dim);
        t.unused_linear(&format!("{k}.expansion"), dim, out);
        t.unused_norm(&format!("{k}.norm2"), dim);
    }
    for st in 1..n {
        t.unused_norm(&format!("backbone.norm{st}"), s.stage_dim(st));
    }
}

/// Trainable parameters of the reference model (`model.parameters()`): the unused-but-
/// registered parameters included; the alias keys and the buffers not.
pub fn parameter_count(c: &VidtConfig) -> usize {
    table(c)
        .iter()
        .filter(|e| matches!(e.kind, Kind::Param | Kind::Unused))
        .map(Entry::numel)
        .sum()
}

/// Parameters this implementation uses.
pub fn used_parameter_count(c: &VidtConfig) -> usize {
    table(c)
        .iter()
        .filter(|e| e.is_param())
        .map(Entry::numel)
        .sum()
}

impl Layout {
    /// Our shape for a part of an official tensor of shape `official`.
    pub fn ours(&self, official: &[usize]) -> Vec<usize> {
        match *self {
            Layout::Same => official.to_vec(),
            Layout::Transposed => vec![official[1], official[0]],
            Layout::Conv1x1 => vec![official[1], official[0]],
            Layout::Rows {
                parts, transposed, ..
            } => {
                let rows = official[0] / parts;
                match (transposed, official.len()) {
                    (true, 2) => vec![official[1], rows],
                    _ => {
                        let mut s = official.to_vec();
                        s[0] = rows;
                        s
                    }
                }
            }
        }
    }

    /// Our part of the official tensor `t`.
    pub fn to_ours(&self, t: &HostTensor) -> HostTensor {
        match *self {
            Layout::Same => t.clone(),
            Layout::Transposed | Layout::Conv1x1 => {
                let (r, c) = (t.shape[0], t.shape[1]);
                HostTensor::new(vec![c, r], transpose(&t.data, r, c))
            }
            Layout::Rows {
                part,
                parts,
                transposed,
            } => {
                let rows = t.shape[0] / parts;
                let per_row: usize = t.shape[1..].iter().product();
                let block = &t.data[part * rows * per_row..(part + 1) * rows * per_row];
                if transposed {
                    HostTensor::new(vec![per_row, rows], transpose(block, rows, per_row))
                } else {
                    let mut shape = t.shape.clone();
                    shape[0] = rows;
                    HostTensor::new(shape, block.to_vec())
                }
            }
        }
    }

    /// The official tensor of shape `official` from our parts, in target order (the inverse
    /// of [`Layout::to_ours`]).
    pub fn join(official: &[usize], parts: &[(Layout, &HostTensor)]) -> HostTensor {
        let mut data = Vec::with_capacity(official.iter().product());
        for (layout, t) in parts {
            match *layout {
                Layout::Same => data.extend_from_slice(&t.data),
                Layout::Transposed
                | Layout::Conv1x1
                | Layout::Rows {
                    transposed: true, ..
                } => {
                    let (r, c) = (t.shape[0], t.shape[1]);
                    data.extend(transpose(&t.data, r, c));
                }
                Layout::Rows { .. } => data.extend_from_slice(&t.data),
            }
        }
        HostTensor::new(official.to_vec(), data)
    }
}

/// The `[c, r]` transpose of a row-major `[r, c]` matrix.
fn transpose(data: &[f32], r: usize, c: usize) -> Vec<f32> {
    let mut out = vec![0f32; data.len()];
    for i in 0..r {
        for j in 0..c {
            out[j * r + i] = data[i * c + j];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_invert() {
        let w = HostTensor::new(vec![6, 2], (0..12).map(|v| v as f32).collect());
        for layout in [Layout::Same, Layout::Transposed] {
            let ours = layout.to_ours(&w);
            assert_eq!(ours.shape, layout.ours(&w.shape));
            assert_eq!(Layout::join(&w.shape, &[(layout, &ours)]), w);
        }
        let parts: Vec<(Layout, HostTensor)> = (0..3)
            .map(|part| {
                let l = Layout::Rows {
                    part,
                    parts: 3,
                    transposed: true,
                };
                (l, l.to_ours(&w))
            })
            .collect();
        // Part 1 is rows 2..4 ([[4, 5], [6, 7]]), transposed.
        assert_eq!(parts[1].1.data, vec![4.0, 6.0, 5.0, 7.0]);
        let refs: Vec<(Layout, &HostTensor)> = parts.iter().map(|(l, t)| (*l, t)).collect();
        assert_eq!(Layout::join(&w.shape, &refs), w);
    }

    #[test]
    fn every_key_once_and_every_path_once() {
        for c in [
            VidtConfig::preset("nano").unwrap(),
            VidtConfig::preset("nano").unwrap().plus(),
        ] {
            every_key_once(&c);
        }
    }

    #[test]
    fn plus_nano_counts_the_official_parameters() {
        // `sum(p.numel() for p in model.parameters())` of the official ViDT+ nano with 300
        // [DET] tokens (fixtures.json), and its 631 state_dict keys.
        let c = VidtConfig::preset("nano").unwrap().plus();
        assert_eq!(parameter_count(&c), 17_822_727);
        assert_eq!(table(&c).len(), 631);
    }

    fn every_key_once(c: &VidtConfig) {
        let t = table(c);
        let keys: std::collections::HashSet<&str> = t.iter().map(|e| e.key.as_str()).collect();
        assert_eq!(keys.len(), t.len());
        let paths: Vec<&str> = t
            .iter()
            .flat_map(|e| e.targets.iter().map(|t| t.path.as_str()))
            .collect();
        let unique: std::collections::HashSet<&str> = paths.iter().copied().collect();
        assert_eq!(unique.len(), paths.len());
        for e in &t {
            if let Kind::Alias(of) = &e.kind {
                assert!(keys.contains(of.as_str()), "{} aliases missing {of}", e.key);
            }
        }
    }
}
