//! The fleet.toml model: parsing and validation with precise locations, and the deterministic expansion of groups into concrete nodes.

mod files;
mod model;

pub use files::{FileSource, MemoryFiles};
pub use model::*;
