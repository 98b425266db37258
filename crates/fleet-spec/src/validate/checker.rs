//! What every table's validation shares: where problems go, how spans become locations, and the files the
//! fleet names, collected for the loader.

use std::path::PathBuf;

use crate::diagnostics::shown;
use crate::model::Location;
use crate::read::{Context, Field, Located, Span};

/// Files the fleet names, with where it names them, for the loader to read and check.
#[derive(Debug, Clone, Default)]
pub(crate) struct FileRefs {
    pub(crate) snippets: Vec<(PathBuf, Location)>,
    pub(crate) key_files: Vec<(PathBuf, Location)>,
}

/// The shared context each table module is handed with its raw input: it records problems (every one,
/// validation never stops at the first) and the files named, and turns spans into lines and columns.
pub(super) struct Checker<'c, 'a> {
    context: &'c mut Context<'a>,
    files: &'c mut FileRefs,
}

impl<'c, 'a> Checker<'c, 'a> {
    pub(super) fn new(context: &'c mut Context<'a>, files: &'c mut FileRefs) -> Self {
        Checker { context, files }
    }

    pub(super) fn error(&mut self, span: Span, message: impl Into<String>) {
        self.context.error(span, message);
    }

    /// A problem found at a location already resolved, such as a container's once levels are merged.
    pub(super) fn error_at(&mut self, location: Location, message: impl Into<String>) {
        self.context.error_at(location, message);
    }

    pub(super) fn location(&self, span: Span) -> Location {
        self.context.location(span)
    }

    /// A required key: reports it when missing; `None` when missing or already reported as invalid.
    pub(super) fn required<'f, T>(
        &mut self,
        field: &'f Field<T>,
        table_span: Span,
        table_path: &str,
        key: &str,
        hint: &str,
    ) -> Option<&'f Located<T>> {
        match field {
            Field::Present(located) => Some(located),
            Field::Invalid => None,
            Field::Missing => {
                self.error(
                    table_span,
                    format!(
                        "{table_path}: missing key `{key_shown}`{hint}",
                        key_shown = shown(key)
                    ),
                );
                None
            }
        }
    }

    /// A Butane snippet the fleet names here, for the loader to read.
    pub(super) fn snippet_named(&mut self, path: PathBuf, declared_at: Location) {
        self.files.snippets.push((path, declared_at));
    }

    /// An SSH key file the fleet names here, for the loader to read.
    pub(super) fn key_file_named(&mut self, path: PathBuf, declared_at: Location) {
        self.files.key_files.push((path, declared_at));
    }
}
