//! From the official state_dict to our model: every parameter of [`Vidt::new`] is looked up by
//! its module path in the key table, read under its official key with the official shape
//! (errors name the key and both shapes) and laid out as ours.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{Tensor, TensorData};

use super::keys::{Layout, table};
use crate::config::VidtConfig;
use crate::error::{Result, VidtError};
use crate::model::Vidt;
use crate::model::paths::PathStack;
use crate::ops::VidtBackend;
use crate::tensor_map::TensorMap;

/// Builds the model of `cfg` from `w` (a checkpoint's tensors by official key) on `device`.
/// Tensors `cfg` does not use are ignored (decoder layers past `cfg.dec_layers` included).
pub fn load<B: VidtBackend>(
    w: &TensorMap,
    cfg: &VidtConfig,
    device: &B::Device,
) -> Result<Vidt<B>> {
    let entries = table(cfg);
    let mut by_path = HashMap::new();
    for e in &entries {
        for t in &e.targets {
            by_path.insert(
                t.path.clone(),
                (e.key.as_str(), e.shape.as_slice(), t.layout),
            );
        }
    }
    let targets = by_path.len();
    let mut filler = Fill {
        w,
        by_path,
        stack: PathStack::default(),
        device: device.clone(),
        filled: 0,
        error: None,
    };
    let model = Vidt::new(cfg, device).map(&mut filler);
    if let Some(e) = filler.error {
        return Err(e);
    }
    if filler.filled != targets {
        return Err(VidtError::Unsupported(format!(
            "internal: the key table names {targets} parameters, the model has {}",
            filler.filled
        )));
    }
    Ok(model)
}

struct Fill<'a, B: VidtBackend> {
    w: &'a TensorMap,
    by_path: HashMap<String, (&'a str, &'a [usize], Layout)>,
    stack: PathStack,
    device: B::Device,
    filled: usize,
    error: Option<VidtError>,
}

impl<B: VidtBackend> Fill<'_, B> {
    fn tensor<const D: usize>(&self, path: &str, ours: &[usize]) -> Result<Tensor<B, D>> {
        let &(key, shape, layout) = self.by_path.get(path).ok_or_else(|| {
            VidtError::Unsupported(format!(
                "internal: parameter `{path}` is not in the key table"
            ))
        })?;
        let t = layout.to_ours(self.w.get(key, shape)?);
        if t.shape != ours {
            return Err(VidtError::Unsupported(format!(
                "internal: `{key}` lays out as {:?}, parameter `{path}` is {ours:?}",
                t.shape
            )));
        }
        Ok(Tensor::from_data(
            TensorData::new(t.data, t.shape),
            &self.device,
        ))
    }
}

impl<B: VidtBackend> ModuleMapper<B> for Fill<'_, B> {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.stack.enter(name);
    }

    fn exit_module(&mut self, _: &str, _: &str) {
        self.stack.exit();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        if self.error.is_some() {
            return param;
        }
        let path = self.stack.path();
        let ours = param.lazy_shape().to_vec();
        match self.tensor::<D>(&path, &ours) {
            Ok(t) => {
                self.filled += 1;
                // As `Param::from_tensor`: trainable on an autodiff backend.
                Param::initialized(param.id, t.require_grad())
            }
            Err(e) => {
                self.error = Some(e);
                param
            }
        }
    }
}
