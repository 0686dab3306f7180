//! Module paths of the model's parameters as burn's visitors and mappers walk them: what
//! loading and saving official checkpoints and the optimizer's parameter groups name a
//! parameter by.

/// The module path of the parameter being visited (burn reports struct fields and Vec indices
/// as it enters them); shared by every visitor that names parameters.
#[derive(Default)]
pub struct PathStack(Vec<String>);

impl PathStack {
    pub fn enter(&mut self, name: &str) {
        self.0.push(name.to_string());
    }
    pub fn exit(&mut self) {
        self.0.pop();
    }
    /// The current path, dot-joined (`backbone.layers.0.blocks.1.attn.qkv.weight`).
    pub fn path(&self) -> String {
        self.0.join(".")
    }
    /// The innermost name (the parameter's field).
    pub fn last(&self) -> &str {
        self.0.last().map(String::as_str).unwrap_or("")
    }
}
