//! The inverse of loading: a model's parameters written back under the official keys and
//! layouts (Linear weights `[out, in]`, 1x1 convolutions `[out, in, 1, 1]`, `in_proj_*`
//! re-stacked), with the `transformer.decoder.bbox_embed.*` aliases and the
//! `relative_position_index` buffers, as the table says. Parameters the reference registers but
//! never uses are not part of the model and are not written; the loader does not need them.

use std::collections::HashMap;

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;

use super::keys::{Kind, Layout, table};
use crate::config::VidtConfig;
use crate::error::{Result, VidtError};
use crate::model::Vidt;
use crate::model::paths::PathStack;
use crate::ops::VidtBackend;
use crate::ops::window::relative_position_index;
use crate::tensor_map::{HostTensor, TensorMap};

/// Every parameter of `model` (of configuration `cfg`) under its official key.
pub fn save<B: VidtBackend>(model: &Vidt<B>, cfg: &VidtConfig) -> Result<TensorMap> {
    let mut c = Collect {
        stack: PathStack::default(),
        out: HashMap::new(),
        error: None,
    };
    model.visit(&mut c);
    if let Some(e) = c.error {
        return Err(e);
    }
    let mut out = TensorMap::new();
    let entries = table(cfg);
    for e in &entries {
        let t = match &e.kind {
            Kind::Param => {
                let parts = e
                    .targets
                    .iter()
                    .map(|t| {
                        let p = c.out.get(&t.path).ok_or_else(|| {
                            VidtError::Unsupported(format!(
                                "internal: the model has no parameter `{}` for `{}`",
                                t.path, e.key
                            ))
                        })?;
                        Ok((t.layout, p))
                    })
                    .collect::<Result<Vec<(Layout, &HostTensor)>>>()?;
                Layout::join(&e.shape, &parts)
            }
            Kind::Buffer => {
                let w = (e.shape[0] as f64).sqrt().round() as usize;
                let idx = relative_position_index(w).into_iter().map(|v| v as f32);
                HostTensor::new(e.shape.clone(), idx.collect())
            }
            Kind::Alias(_) | Kind::Unused => continue,
        };
        out.insert(e.key.clone(), t);
    }
    for e in &entries {
        if let Kind::Alias(of) = &e.kind {
            let t = out.require(of)?.clone();
            out.insert(e.key.clone(), t);
        }
    }
    Ok(out)
}

struct Collect {
    stack: PathStack,
    out: HashMap<String, HostTensor>,
    error: Option<VidtError>,
}

impl<B: VidtBackend> ModuleVisitor<B> for Collect {
    fn enter_module(&mut self, name: &str, _: &str) {
        self.stack.enter(name);
    }

    fn exit_module(&mut self, _: &str, _: &str) {
        self.stack.exit();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        match HostTensor::from_tensor(param.val()) {
            Ok(t) => {
                self.out.insert(self.stack.path(), t);
            }
            Err(e) => self.error = Some(e),
        }
    }
}
