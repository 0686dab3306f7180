//! The official optimizer (naver-ai/vidt `main.py`, `build_optimizer`): AdamW over three
//! parameter groups — everything outside the backbone (decayed), backbone tensors without decay
//! (1-D tensors, biases, `det_token`, `det_pos_embed`) and the other backbone tensors (decayed)
//! — all at `--lr` (the official `--lr_backbone` flag is parsed but never used), after clipping
//! the global gradient norm as `torch.nn.utils.clip_grad_norm_` does.
//!
//! Also here: the gradients of data-parallel replicas summed on the main device, and the Adam
//! moments written with each checkpoint under the parameters' module paths (so a resumed run
//! continues with them).

use std::collections::HashMap;

use burn::module::{AutodiffModule, ModuleVisitor, Param, ParamId};
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::record::AdaptorRecord;
use burn::optim::{
    AdamW, AdamWConfig, AdamWState, AdaptiveMomentumState, GradientsParams, Optimizer,
};
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{Tensor, TensorData};

use crate::error::{Result, VidtError};
use crate::model::Vidt;
use crate::model::paths::PathStack;
use crate::ops::VidtBackend;
use crate::tensor_map::read;
use crate::tensor_map::{HostTensor, TensorMap};

type Adam<B> = OptimizerAdaptor<AdamW, Vidt<B>, B>;
type Records<B> = HashMap<ParamId, AdaptorRecord<AdamW, B>>;

/// One trainable tensor: its module path (e.g. `backbone.layers.0.blocks.1.attn.qkv.weight`)
/// and whether the official recipe exempts it from weight decay.
#[derive(Clone, Debug)]
pub struct ParamInfo {
    pub id: ParamId,
    pub path: String,
    pub shape: Vec<usize>,
    pub no_decay: bool,
}

/// Collects [`ParamInfo`]s; `stack` is the module path as burn's visitor reports it (struct
/// fields and Vec indices).
struct Collect {
    stack: PathStack,
    out: Vec<ParamInfo>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Collect {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.stack.enter(name);
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.stack.exit();
    }
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let path = self.stack.path();
        let last = self.stack.last();
        // main.py: `"backbone" in name` and (1-D, `.bias`, or in `no_weight_decay()`).
        let no_decay = path.starts_with("backbone.")
            && (D == 1 || last == "bias" || last == "det_token" || last == "det_pos_embed");
        self.out.push(ParamInfo {
            id: param.id,
            path,
            shape: param.val().dims().to_vec(),
            no_decay,
        });
    }
}

/// Every float parameter of the model, in visiting order.
pub fn param_infos<B>(model: &Vidt<B>) -> Vec<ParamInfo>
where
    B: AutodiffBackend + VidtBackend,
    Vidt<B>: AutodiffModule<B>,
{
    let mut c = Collect {
        stack: PathStack::default(),
        out: Vec::new(),
    };
    burn::module::Module::visit(model, &mut c);
    c.out
}

/// Sums each parameter's gradient over the replicas onto `device`, and the squared global norm.
struct Reduce<'a, B: AutodiffBackend> {
    replicas: Vec<GradientsParams>,
    device: &'a B::Device,
    out: GradientsParams,
    sq_norm: Option<Tensor<B::InnerBackend, 1>>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Reduce<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let mut sum: Option<Tensor<B::InnerBackend, D>> = None;
        for g in &mut self.replicas {
            if let Some(t) = g.remove::<B::InnerBackend, D>(param.id) {
                let t = t.to_device(self.device);
                sum = Some(match sum {
                    Some(s) => s + t,
                    None => t,
                });
            }
        }
        if let Some(s) = sum {
            let sq = s.clone().powi_scalar(2).sum();
            self.sq_norm = Some(match self.sq_norm.take() {
                Some(n) => n + sq,
                None => sq,
            });
            self.out.register::<B::InnerBackend, D>(param.id, s);
        }
    }
}

/// Scales every gradient by `coef` and sorts it into the decayed or the exempt group.
struct Split<'a, B: AutodiffBackend> {
    all: GradientsParams,
    coef: f64,
    params: &'a HashMap<ParamId, ParamInfo>,
    decay_grads: GradientsParams,
    no_decay_grads: GradientsParams,
    _b: std::marker::PhantomData<B>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for Split<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if let Some(g) = self.all.remove::<B::InnerBackend, D>(param.id) {
            let g = if self.coef < 1.0 {
                g.mul_scalar(self.coef)
            } else {
                g
            };
            let target = if exempt(self.params, param.id) {
                &mut self.no_decay_grads
            } else {
                &mut self.decay_grads
            };
            target.register::<B::InnerBackend, D>(param.id, g);
        }
    }
}

/// AdamW with the official parameter groups and global-norm clipping.
pub struct VidtOptim<B>
where
    B: AutodiffBackend + VidtBackend,
    Vidt<B>: AutodiffModule<B>,
{
    decay: Adam<B>,
    no_decay: Adam<B>,
    /// Path and group of every parameter, by id (ids survive optimizer steps).
    params: HashMap<ParamId, ParamInfo>,
    clip_norm: f32,
}

fn exempt(params: &HashMap<ParamId, ParamInfo>, id: ParamId) -> bool {
    params.get(&id).is_some_and(|p| p.no_decay)
}

/// What one optimizer step saw.
#[derive(Clone, Copy, Debug)]
pub struct StepStats {
    /// Global gradient norm before clipping.
    pub grad_norm: f32,
}

impl<B> VidtOptim<B>
where
    B: AutodiffBackend + VidtBackend,
    B::InnerBackend: VidtBackend,
    Vidt<B>: AutodiffModule<B>,
{
    /// `clip_norm <= 0` disables clipping (official `--clip_max_norm 0`).
    pub fn new(model: &Vidt<B>, weight_decay: f32, clip_norm: f32) -> Self {
        let params = param_infos(model).into_iter().map(|p| (p.id, p)).collect();
        Self {
            decay: AdamWConfig::new()
                .with_weight_decay(weight_decay)
                .init::<B, Vidt<B>>(),
            no_decay: AdamWConfig::new()
                .with_weight_decay(0.0)
                .init::<B, Vidt<B>>(),
            params,
            clip_norm,
        }
    }

    /// One update from the gradients of one or more replicas (summed on `device`, where the
    /// model lives).
    pub fn step(
        &mut self,
        lr: f64,
        model: Vidt<B>,
        replicas: Vec<GradientsParams>,
        device: &B::Device,
    ) -> Result<(Vidt<B>, StepStats)> {
        let mut reduce = Reduce::<B> {
            replicas,
            device,
            out: GradientsParams::new(),
            sq_norm: None,
        };
        burn::module::Module::visit(&model, &mut reduce);
        let grad_norm = match reduce.sq_norm {
            Some(n) => read(n)?[0].sqrt(),
            None => 0.0,
        };
        if !grad_norm.is_finite() {
            return Err(VidtError::Unsupported(format!(
                "gradient norm is {grad_norm}: training diverged (lower --lr?)"
            )));
        }
        // torch: clip_coef = max_norm / (total_norm + 1e-6), applied when below 1.
        let coef = if self.clip_norm > 0.0 {
            self.clip_norm as f64 / (grad_norm as f64 + 1e-6)
        } else {
            1.0
        };
        let mut split = Split::<B> {
            all: reduce.out,
            coef,
            params: &self.params,
            decay_grads: GradientsParams::new(),
            no_decay_grads: GradientsParams::new(),
            _b: std::marker::PhantomData,
        };
        burn::module::Module::visit(&model, &mut split);
        let model = self.decay.step(lr, model, split.decay_grads);
        let model = self.no_decay.step(lr, model, split.no_decay_grads);
        Ok((model, StepStats { grad_norm }))
    }

    /// The Adam moments by parameter path: `PATH.exp_avg`, `PATH.exp_avg_sq` and `PATH.step`
    /// (torch's names); parameters that never had a gradient have none.
    pub fn state(&self, model: &Vidt<B>) -> Result<TensorMap> {
        // burn keeps them in its own (hashbrown) map type.
        let mut records: Records<B> = self.decay.to_record().into_iter().collect();
        records.extend(self.no_decay.to_record());
        let mut v = SaveState::<B> {
            params: &self.params,
            records,
            out: TensorMap::new(),
            error: None,
        };
        burn::module::Module::visit(model, &mut v);
        match v.error {
            Some(e) => Err(e),
            None => Ok(v.out),
        }
    }

    /// Restores moments written by [`state`](Self::state) for the same architecture. A key
    /// whose shape differs from its parameter is an error naming both.
    pub fn load_state(&mut self, model: &Vidt<B>, state: &TensorMap) -> Result<usize> {
        let mut v = LoadState::<B> {
            params: &self.params,
            state,
            decay: Vec::new(),
            no_decay: Vec::new(),
            error: None,
        };
        burn::module::Module::visit(model, &mut v);
        if let Some(e) = v.error {
            return Err(e);
        }
        let n = v.decay.len() + v.no_decay.len();
        let (decay, no_decay) = (v.decay, v.no_decay);
        self.decay = self.decay.clone().load_record(decay.into_iter().collect());
        self.no_decay = self
            .no_decay
            .clone()
            .load_record(no_decay.into_iter().collect());
        Ok(n)
    }
}

struct SaveState<'a, B: AutodiffBackend> {
    params: &'a HashMap<ParamId, ParamInfo>,
    records: Records<B>,
    out: TensorMap,
    error: Option<VidtError>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for SaveState<'_, B>
where
    B::InnerBackend: VidtBackend,
{
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let Some(r) = self.records.remove(&param.id) else {
            return;
        };
        let s: AdamWState<B::InnerBackend, D> = r.into_state::<D>();
        let m = s.momentum;
        let shape = m.moment_1.dims().to_vec();
        let p = &self.params[&param.id].path;
        let mut put = |key: String, t: Tensor<B::InnerBackend, D>| match read(t) {
            Ok(data) => {
                self.out.insert(key, HostTensor::new(shape.clone(), data));
            }
            Err(e) => self.error = Some(e),
        };
        put(format!("{p}.exp_avg"), m.moment_1);
        put(format!("{p}.exp_avg_sq"), m.moment_2);
        self.out.insert(
            format!("{p}.step"),
            HostTensor::new(vec![1], vec![m.time as f32]),
        );
    }
}

struct LoadState<'a, B: AutodiffBackend> {
    params: &'a HashMap<ParamId, ParamInfo>,
    state: &'a TensorMap,
    decay: Vec<(ParamId, AdaptorRecord<AdamW, B>)>,
    no_decay: Vec<(ParamId, AdaptorRecord<AdamW, B>)>,
    error: Option<VidtError>,
}

impl<B: AutodiffBackend> ModuleVisitor<B> for LoadState<'_, B> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        let info = &self.params[&param.id];
        let p = &info.path;
        let (Some(m1), Some(m2), Some(step)) = (
            self.state.require(&format!("{p}.exp_avg")).ok(),
            self.state.require(&format!("{p}.exp_avg_sq")).ok(),
            self.state.require(&format!("{p}.step")).ok(),
        ) else {
            return;
        };
        let dims = info.shape.clone();
        for (k, t) in [("exp_avg", m1), ("exp_avg_sq", m2)] {
            if t.shape != dims || t.data.len() != dims.iter().product::<usize>() {
                self.error = Some(VidtError::Input {
                    name: format!("optimizer state {p}.{k}"),
                    reason: format!("shape {:?}, parameter has {dims:?}", t.shape),
                });
                return;
            }
        }
        let device = param.lazy_device();
        let t = |w: &HostTensor| {
            Tensor::<B::InnerBackend, D>::from_data(
                TensorData::new(w.data.clone(), dims.clone()),
                &device,
            )
        };
        let time = step.data.first().copied().unwrap_or(0.0) as usize;
        let state = AdamWState::new(AdaptiveMomentumState::new(time, t(m1), t(m2)));
        let record = AdaptorRecord::<AdamW, B>::from_state(state);
        if exempt(self.params, param.id) {
            self.no_decay.push((param.id, record));
        } else {
            self.decay.push((param.id, record));
        }
    }
}
