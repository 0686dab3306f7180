mod config;
mod swizzle;

pub use config::StageMemoryConfig;
pub use swizzle::*;
