//! Butane to Ignition translation (fcos 1.0.0 to 1.7.0 and 1.8.0-experimental), as the
//! upstream `butane` tool (v0.29.0) does it, and the typed Ignition model later steps compose:
//! bytes in, bytes out, no I/O (local files come through a caller's [`FileSource`]).
//!
//! # API
//!
//! - [`translate`]`(bytes, &`[`TranslateOptions`]`)` → [`Translation`] (typed
//!   [`ignition::Config`], the spec versions, a [`Report`] of warnings) or [`TranslateError`]
//!   (the reason and the [`Report`]). Entries carry a Butane path (`$.storage.files.0.path`)
//!   and a YAML [`Position`]; [`Report::render_raw`] and [`Report::render_pretty`] print them
//!   as upstream does.
//! - [`ignition::Config`]: one model for Ignition 3.0.0 to 3.7.0-experimental.
//!   [`ignition::to_json`] writes it for a chosen [`IgnitionVersion`] exactly as `butane`
//!   does (key order, escaping, `--pretty`), refusing fields that version lacks.
//! - [`ignition::merge`]: Ignition's parent/child merge, to compose snippets written for
//!   different fcos versions: translate each, merge, write once at the fleet's version.
//! - [`ignition::validate`]: Ignition's own validation for a spec version.
//! - [`ignition::make_data_url`] / [`ignition::data_url_contents`]: upstream's data URL choice
//!   and its inverse.
//! - [`render`]: one node's Ignition from the fleet's snippets (translated once in a
//!   [`render::SnippetLibrary`]), what fleet.toml generates for it, and the
//!   [`render::NodePayload`] the caller assembles (files, directories, links, units).
//! - [`ini`]: the typed writer of systemd units and NetworkManager keyfiles.
//!
//! ```
//! use fleet_ignition::{TranslateOptions, translate};
//! let butane = b"variant: fcos\nversion: 1.4.0\nstorage:\n  files:\n    - path: /etc/hostname\n      contents:\n        inline: node-1\n";
//! let translation = translate(butane, &TranslateOptions::default()).unwrap();
//! assert_eq!(
//!     translation.to_json(false),
//!     "{\"ignition\":{\"version\":\"3.3.0\"},\"storage\":{\"files\":[{\"path\":\"/etc/hostname\",\"contents\":{\"compression\":\"\",\"source\":\"data:,node-1\"}}]}}\n"
//! );
//! ```

// A library reports through return values and event callbacks; only the binaries print
// (docs/ARCHITECTURE.md; tests/tests/architecture.rs runs clippy with these lints denied).
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod butane;
pub mod ignition;
pub mod ini;
pub mod render;
mod report;
mod util;
mod version;
mod yaml;

pub use butane::{TranslateError, TranslateErrorKind, TranslateOptions, Translation, translate};
pub use fleet_spec::FileSource;
pub use report::{Entry, Path, PathElement, Position, Report, Severity};
pub use version::{ButaneVersion, IgnitionVersion, UnknownIgnitionVersion};

pub(crate) use util::{go_lossy_utf8, go_quote};
