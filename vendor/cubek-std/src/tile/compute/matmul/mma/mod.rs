mod execute;
mod reader;
mod writer;

pub use execute::*;
pub use reader::*;
pub use writer::*;
