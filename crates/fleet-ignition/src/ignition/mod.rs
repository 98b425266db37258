//! The Ignition config model with upstream's JSON output, data URLs, validation and merging.

mod compare;
mod dataurl;
mod goparse;
mod json;
mod merge;
mod model;
mod parse;
mod reflect;
mod validate;

pub use compare::semantic_difference;
pub use dataurl::{
    DataUrl, DecodedDataUrl, data_url_contents, decode_data_url, make_data_url,
    make_percent_data_url,
};
pub use json::{JsonOptions, UnsupportedFields, to_json};
pub use merge::merge;
pub use model::*;
pub use parse::{JsonError, ParsedConfig, parse_json};
pub use validate::validate;

pub(crate) use goparse::join_path as go_path_join;
pub(crate) use merge::{Mapping, merge_transcribed};
pub(crate) use reflect::{Reflect, all_paths};
