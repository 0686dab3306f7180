mod stage_memory;

pub use stage_memory::*;
