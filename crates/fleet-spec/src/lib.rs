//! The fleet.toml model: parsing and validation with precise locations, and the deterministic expansion of groups into concrete nodes.
//!
//! `parse` is pure text → validated `Fleet`; `load` also reads and checks the files the fleet names
//! (Butane snippets, SSH key files) through a caller-provided `FileSource`. Both report every problem at once.

// A library reports through return values and event callbacks; only the binaries print
// (docs/ARCHITECTURE.md; tests/tests/architecture.rs runs clippy with these lints denied).
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod diagnostics;
pub mod duration;
mod expand;
mod files;
mod hints;
pub mod libvirt_uri;
mod load;
mod model;
mod names;
mod raw;
mod read;
mod schema;
mod validate;
mod values;

pub use diagnostics::{Diagnostic, Diagnostics, SHOWN_CHARACTERS, shown};
pub use files::{FileError, FileKind, FileMetadata, FileSource, MemoryFiles, ReadLimit};
pub use hints::closest;
pub use load::{LoadedFleet, load};
pub use model::*;
pub use names::check_node_name;
pub use schema::json_schema;

/// Parse, validate and expand a fleet file's text. Pure: files it names are not read (see [`load`]), so
/// users keep their `ssh_key_files` and snippets are not checked for existence.
///
/// `source_name` is how messages name the file, e.g. `fleet/fleet.toml`.
pub fn parse(source_name: &str, text: &str) -> Result<Fleet, Diagnostics> {
    let analysis = validate::analyze(source_name, text);
    match analysis.fleet {
        Some(fleet) if analysis.diagnostics.is_empty() => Ok(fleet),
        _ => Err(Diagnostics::from_unsorted(analysis.diagnostics)),
    }
}
