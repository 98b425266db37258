//! Butane: the schema, its yaml.v3-faithful decoding, validation and translation to Ignition,
//! in upstream's pipeline order (config/config.go TranslateBytes, config/util/util.go).

pub(crate) mod decimal_mode;
pub(crate) mod decode;
pub(crate) mod schema;
mod sugar;
mod translate;
mod trees;
mod tset;
mod validate;

use fleet_spec::FileSource;

use crate::report::{PathElement, PathTag, Position, Report};
use crate::yaml::{self, Document, NodeKind};
use crate::{ButaneVersion, IgnitionVersion, ignition};
use decode::Decoder;
use translate::{Context, Tr};

/// How to translate.
#[derive(Clone, Copy, Default)]
pub struct TranslateOptions<'a> {
    /// The directory `local`, `contents_local`, `ssh_authorized_keys_local` and trees are
    /// relative to (`butane --files-dir`); without it those fields are errors.
    pub files_dir: Option<&'a dyn FileSource>,
    /// Never gzip inline or local contents (upstream's `NoResourceAutoCompression`).
    pub no_resource_auto_compression: bool,
}

impl std::fmt::Debug for TranslateOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TranslateOptions")
            .field("files_dir", &self.files_dir.map(|_| "FileSource"))
            .field(
                "no_resource_auto_compression",
                &self.no_resource_auto_compression,
            )
            .finish()
    }
}

/// A successful translation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Translation {
    pub config: ignition::Config,
    /// The Butane spec version the document declared.
    pub butane_version: ButaneVersion,
    /// The Ignition spec that version translates to (what `butane` writes).
    pub ignition_version: IgnitionVersion,
    /// Warnings (never errors) in upstream's order.
    pub report: Report,
}

impl Translation {
    /// The config as the `butane` tool writes it (`--pretty` when `pretty`), with a final newline.
    pub fn to_json(&self, pretty: bool) -> String {
        // The config was produced for this very version: nothing can be refused.
        ignition::to_json(
            &self.config,
            self.ignition_version,
            ignition::JsonOptions { pretty },
        )
        .unwrap_or_default()
    }
}

/// Why a translation failed, worded as upstream's error (printed after "Error translating config: ").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TranslateErrorKind {
    /// The YAML could not be read (syntax, types, duplicate keys): yaml.v3's message.
    #[error("{0}")]
    Yaml(String),
    #[error("error parsing variant; must be specified")]
    NoVariant,
    #[error("error parsing version; must be a valid semver")]
    InvalidVersion,
    #[error("No translator exists for variant {variant} with version {version}")]
    UnknownVersion { variant: String, version: String },
    #[error(
        "rhcos variant has been removed; use openshift variant instead: https://coreos.github.io/butane/upgrading-openshift/"
    )]
    RhcosVariant,
    #[error("variant {0} is not supported by fleet; only fcos is")]
    UnsupportedVariant(String),
    /// The report has errors about the Butane source.
    #[error("source config is invalid")]
    InvalidSource,
    /// The report has errors about the Ignition config it would produce.
    #[error("config generated was invalid")]
    InvalidGenerated,
}

/// A failed translation: the reason and every diagnostic found before stopping.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}")]
pub struct TranslateError {
    pub kind: TranslateErrorKind,
    pub report: Report,
    /// For YAML errors: where the parser stopped (yaml.v3 words its own line differently).
    pub position: Option<Position>,
}

impl TranslateError {
    fn bare(kind: TranslateErrorKind) -> Self {
        Self {
            kind,
            report: Report::default(),
            position: None,
        }
    }
}

/// Translate a Butane document to Ignition exactly as upstream `butane` (v0.29.0) does.
pub fn translate(
    input: &[u8],
    options: &TranslateOptions<'_>,
) -> Result<Translation, TranslateError> {
    let text = decode_text(input).map_err(|message| {
        TranslateError::bare(TranslateErrorKind::Yaml(format!(
            "Error unmarshaling yaml: {message}"
        )))
    })?;
    let doc = yaml::load(&text).map_err(|e| TranslateError {
        kind: TranslateErrorKind::Yaml(format!("Error unmarshaling yaml: {}", e.message)),
        report: Report::default(),
        position: Some(Position {
            line: e.line,
            column: e.column,
        }),
    })?;

    // First only version and variant, as upstream picks a translator.
    let (common, _) = Decoder::new(&doc, ButaneVersion::V1_0)
        .decode_root::<schema::CommonFields>()
        .map_err(|e| {
            TranslateError::bare(TranslateErrorKind::Yaml(format!(
                "Error unmarshaling yaml: {}",
                e.message
            )))
        })?;
    if common.variant.is_empty() {
        return Err(TranslateError::bare(TranslateErrorKind::NoVariant));
    }
    let semver = crate::version::GoSemver::parse(&common.version)
        .ok_or_else(|| TranslateError::bare(TranslateErrorKind::InvalidVersion))?;
    let printed = semver.to_string();
    let version = match common.variant.as_str() {
        "fcos" => ButaneVersion::ALL
            .into_iter()
            .find(|v| v.as_str() == printed),
        "rhcos" if printed == "0.1.0" => {
            return Err(TranslateError::bare(TranslateErrorKind::RhcosVariant));
        }
        _ => None,
    };
    let Some(version) = version else {
        let upstream_variant = matches!(
            common.variant.as_str(),
            "flatcar" | "openshift" | "r4e" | "fiot"
        );
        return Err(TranslateError::bare(if upstream_variant {
            TranslateErrorKind::UnsupportedVariant(common.variant)
        } else {
            TranslateErrorKind::UnknownVersion {
                variant: common.variant,
                version: printed,
            }
        }));
    };

    let (config, unused) = Decoder::new(&doc, version)
        .decode_root::<schema::Config>()
        .map_err(|e| TranslateError::bare(TranslateErrorKind::Yaml(e.message)))?;
    let mut report = Report { entries: unused };

    validate::validate(&config, version, &mut report);
    if report.is_fatal() {
        correlate(&doc, &mut report);
        return Err(TranslateError {
            kind: TranslateErrorKind::InvalidSource,
            report,
            position: None,
        });
    }

    let cx = Context {
        version,
        files: options.files_dir,
        auto_compress: !options.no_resource_auto_compression,
    };
    let (out, translation_report, _) = run_translation(&cx, &config, false);
    let base_failed = translation_report.is_fatal();
    report.merge(translation_report);
    let target = version.ignition_version();
    let mut failure = None;
    if report.is_fatal() {
        failure = Some(TranslateErrorKind::InvalidSource);
    } else {
        report.merge(ignition::validate(&out, target));
        if report.is_fatal() {
            failure = Some(TranslateErrorKind::InvalidGenerated);
        }
    }
    if report.entries.iter().any(|e| e.tag == PathTag::Json) {
        // Only now is the translation set needed: translate again, recording it.
        let ts = if base_failed {
            tset::TranslationSet::default()
        } else {
            run_translation(&cx, &config, true).2.unwrap_or_default()
        };
        for entry in &mut report.entries {
            if entry.tag == PathTag::Json {
                entry.path.elements = match ts.get(&entry.path.elements) {
                    Some(from) => from.clone(),
                    None => snake_path(&entry.path.elements),
                };
                entry.tag = PathTag::Yaml;
            }
        }
    }
    correlate(&doc, &mut report);
    match failure {
        Some(kind) => Err(TranslateError {
            kind,
            report,
            position: None,
        }),
        None => Ok(Translation {
            config: out,
            butane_version: version,
            ignition_version: target,
            report,
        }),
    }
}

/// The translation proper: base schema, mount units, trees, then the fcos sugar.
fn run_translation(
    cx: &Context<'_>,
    config: &schema::Config,
    track: bool,
) -> (ignition::Config, Report, Option<tset::TranslationSet>) {
    let mut tr = Tr::new(cx, track);
    let mut out = tr.base_config(config);
    if cx.version.base() >= 2 {
        tr.add_mount_units(config, &mut out);
        tr.process_trees(config, &mut out);
    }
    if cx.version.base() >= 8 {
        tr.process_quadlets(config, &mut out);
    }
    if tr.report.is_fatal() {
        return (ignition::Config::default(), tr.report, None);
    }
    tr.fcos(config, &mut out);
    (out, tr.report, tr.ts)
}

/// yaml.v3 reads UTF-8 (a byte order mark is skipped) and UTF-16 with a byte order mark.
fn decode_text(input: &[u8]) -> Result<std::borrow::Cow<'_, str>, String> {
    use std::borrow::Cow;
    let utf16 = |bytes: &[u8], little: bool| -> Result<String, String> {
        let units: Vec<u16> = bytes
            .chunks(2)
            .map(|c| {
                let pair = [c[0], *c.get(1).unwrap_or(&0)];
                if little {
                    u16::from_le_bytes(pair)
                } else {
                    u16::from_be_bytes(pair)
                }
            })
            .collect();
        String::from_utf16(&units).map_err(|_| "yaml: invalid Unicode character".to_owned())
    };
    if let Some(rest) = input.strip_prefix(b"\xff\xfe") {
        return utf16(rest, true).map(Cow::Owned);
    }
    if let Some(rest) = input.strip_prefix(b"\xfe\xff") {
        return utf16(rest, false).map(Cow::Owned);
    }
    let input = input.strip_prefix(b"\xef\xbb\xbf").unwrap_or(input);
    std::str::from_utf8(input).map(Cow::Borrowed).map_err(|e| {
        if e.error_len().is_none() {
            "yaml: incomplete UTF-8 octet sequence".to_owned()
        } else {
            "yaml: invalid leading UTF-8 octet".to_owned()
        }
    })
}

/// Butane's fallback for JSON paths missing from the translation set: camelCase to snake_case.
fn snake_path(elements: &[PathElement]) -> Vec<PathElement> {
    elements
        .iter()
        .map(|e| match e {
            PathElement::Field(name) => PathElement::Field(snake(name).into()),
            other => other.clone(),
        })
        .collect()
}

fn snake(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut rest = name;
    while let Some(c) = rest.chars().next() {
        if rest.starts_with("MiB") {
            out.push_str("_mib");
            rest = &rest[3..];
            continue;
        }
        if c.is_ascii_uppercase() {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// vcontext's `Correlate`: the position of the deepest node of the YAML tree along each path.
fn correlate(doc: &Document<'_>, report: &mut Report) {
    for entry in &mut report.entries {
        entry.position = deepest_position(doc, &entry.path.elements);
    }
}

fn deepest_position(doc: &Document<'_>, elements: &[PathElement]) -> Option<Position> {
    let root = doc.root?;
    let mut node = root;
    let mut position = at(doc, root);
    for element in elements {
        match (&doc.node(node).kind, element) {
            (NodeKind::Mapping { pairs, .. }, PathElement::Field(name)) => {
                match pairs
                    .iter()
                    .rev()
                    .find(|(k, _)| doc.node(*k).value() == name.as_ref())
                {
                    Some((_, value)) => {
                        node = *value;
                        position = at(doc, node);
                    }
                    None => break,
                }
            }
            (NodeKind::Mapping { pairs, .. }, PathElement::Key(key)) => {
                if let Some((k, _)) = pairs
                    .iter()
                    .rev()
                    .find(|(k, _)| doc.node(*k).value() == key)
                {
                    position = at(doc, *k);
                }
                break;
            }
            (NodeKind::Sequence { items, .. }, PathElement::Index(i)) => match items.get(*i) {
                Some(item) => {
                    node = *item;
                    position = at(doc, node);
                }
                None => break,
            },
            _ => break,
        }
    }
    position
}

fn at(doc: &Document<'_>, node: yaml::NodeId) -> Option<Position> {
    let n = doc.node(node);
    Some(Position {
        line: n.line,
        column: n.column,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_like_butane() {
        assert_eq!(snake("sizeMiB"), "size_mib");
        assert_eq!(snake("wipeTable"), "wipe_table");
        assert_eq!(snake("sshAuthorizedKeys"), "ssh_authorized_keys");
        assert_eq!(snake("typeGuid"), "type_guid");
        assert_eq!(snake("path"), "path");
    }
}
