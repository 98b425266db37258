//! Decoding the YAML node tree into the Butane schema as yaml.v3 decodes into Butane's Go
//! structs: the same lenient scalars (`0644`, `yes`), the same type errors with the same Go type
//! names, null and merge-key handling, and alias limits. Unused keys are found here too, with
//! vcontext's rules: each decoded struct is compared with the YAML mapping at its *decoded* path.

use std::borrow::Cow;

use crate::ButaneVersion;
use crate::report::{Entry, Path, PathElement, Severity};
use crate::yaml::{self, Document, NodeId, NodeKind, Resolved, ScalarStyle3};

/// Which Go package a named type lives in (for yaml.v3's error messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Package {
    Builtin,
    Base,
    Fcos,
    Config,
}

/// A Go type as yaml.v3 prints it in "cannot unmarshal ... into T".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GoType {
    pub(crate) slice: bool,
    pub(crate) package: Package,
    pub(crate) name: &'static str,
}

impl GoType {
    pub(crate) const STRING: GoType = GoType::builtin("string");
    pub(crate) const INT: GoType = GoType::builtin("int");
    pub(crate) const BOOL: GoType = GoType::builtin("bool");

    pub(crate) const fn builtin(name: &'static str) -> Self {
        Self {
            slice: false,
            package: Package::Builtin,
            name,
        }
    }

    pub(crate) const fn base(name: &'static str) -> Self {
        Self {
            slice: false,
            package: Package::Base,
            name,
        }
    }

    pub(crate) const fn fcos(name: &'static str) -> Self {
        Self {
            slice: false,
            package: Package::Fcos,
            name,
        }
    }

    pub(crate) const fn slice_of(self) -> Self {
        Self {
            slice: true,
            ..self
        }
    }

    fn render(self, version: ButaneVersion) -> String {
        let package = match self.package {
            Package::Builtin => "",
            Package::Base => version.base_package(),
            Package::Fcos => version.fcos_package(),
            Package::Config => "config",
        };
        let mut out = String::new();
        if self.slice {
            out.push_str("[]");
        }
        if !package.is_empty() {
            out.push_str(package);
            out.push('.');
        }
        out.push_str(self.name);
        out
    }
}

/// A Butane struct that decodes from a YAML mapping.
pub(crate) trait Decode: Default {
    /// The Go type, for error messages.
    fn go_type(version: ButaneVersion) -> GoType;
    /// Whether `key` is a field of this struct in the decoder's spec version.
    fn has_field(version: ButaneVersion, key: &str) -> bool;
    /// Decode `value` into the field named `key`; `index` is its position in the Go struct.
    /// Returns false when there is no such field.
    fn decode_field(&mut self, d: &mut Decoder<'_, '_>, key: &str, value: NodeId) -> bool;
}

/// The decoder's outcome when yaml.v3 would fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError {
    /// yaml.v3's error text: `yaml: unmarshal errors:\n  line 7: ...` or `yaml: ...`.
    pub(crate) message: String,
    /// Lines the error is about (type errors), for tools that want them.
    pub(crate) lines: Vec<u32>,
}

pub(crate) struct Decoder<'d, 'a> {
    doc: &'d Document<'a>,
    pub(crate) version: ButaneVersion,
    type_errors: Vec<String>,
    type_error_lines: Vec<u32>,
    fatal: Option<String>,
    unused: Vec<(Vec<u32>, Entry)>,
    path: Vec<PathElement>,
    sort_key: Vec<u32>,
    /// The YAML node at `path` is the node being decoded (no alias, merge or dropped element
    /// has made the decoded path diverge from the document).
    direct: bool,
    expanding: Vec<NodeId>,
    merged_fields: Option<Vec<String>>,
    decode_count: u64,
    alias_count: u64,
    alias_depth: u32,
}

impl<'d, 'a> Decoder<'d, 'a> {
    pub(crate) fn new(doc: &'d Document<'a>, version: ButaneVersion) -> Self {
        Self {
            doc,
            version,
            type_errors: Vec::new(),
            type_error_lines: Vec::new(),
            fatal: None,
            unused: Vec::new(),
            path: Vec::with_capacity(16),
            sort_key: Vec::with_capacity(16),
            direct: true,
            expanding: Vec::new(),
            merged_fields: None,
            decode_count: 0,
            alias_count: 0,
            alias_depth: 0,
        }
    }

    /// Decode the document root into `T`; on success also return the unused-key warnings in
    /// vcontext's traversal order.
    pub(crate) fn decode_root<T: Decode>(mut self) -> Result<(T, Vec<Entry>), DecodeError> {
        let mut value = T::default();
        if let Some(root) = self.doc.root {
            self.struct_value(root, &mut value, T::go_type(self.version), true);
        }
        if let Some(message) = self.fatal {
            return Err(DecodeError {
                message,
                lines: Vec::new(),
            });
        }
        if !self.type_errors.is_empty() {
            return Err(DecodeError {
                message: format!(
                    "yaml: unmarshal errors:\n  {}",
                    self.type_errors.join("\n  ")
                ),
                lines: self.type_error_lines,
            });
        }
        self.unused.sort_by(|a, b| a.0.cmp(&b.0));
        Ok((value, self.unused.into_iter().map(|(_, e)| e).collect()))
    }

    fn failed(&self) -> bool {
        self.fatal.is_some()
    }

    fn fail(&mut self, message: String) {
        if self.fatal.is_none() {
            self.fatal = Some(format!("yaml: {message}"));
        }
    }

    fn type_error(&mut self, node: NodeId, target: GoType) {
        let n = self.doc.node(node);
        let tag = self.doc.short_tag(node);
        let mut shown = String::new();
        if tag != yaml::SEQ_TAG && tag != yaml::MAP_TAG {
            let value = n.value();
            if value.len() > 10 {
                let mut cut = 7;
                while !value.is_char_boundary(cut) {
                    cut -= 1;
                }
                shown = format!(" `{}...`", &value[..cut]);
            } else {
                shown = format!(" `{value}`");
            }
        }
        self.type_errors.push(format!(
            "line {}: cannot unmarshal {tag}{shown} into {}",
            n.line,
            target.render(self.version)
        ));
        self.type_error_lines.push(n.line);
    }

    /// yaml.v3's per-node bookkeeping; false stops decoding (a fatal error was recorded).
    fn count(&mut self) -> bool {
        if self.failed() {
            return false;
        }
        self.decode_count += 1;
        if self.alias_depth > 0 {
            self.alias_count += 1;
        }
        if self.alias_count > 100 && self.decode_count > 1000 {
            let ratio = self.alias_count as f64 / self.decode_count as f64;
            let allowed = match self.decode_count {
                0..=400_000 => 0.99,
                4_000_000.. => 0.10,
                n => 0.99 - 0.89 * ((n - 400_000) as f64 / 3_600_000.0),
            };
            if ratio > allowed {
                self.fail("document contains excessive aliasing".to_owned());
                return false;
            }
        }
        true
    }

    /// Follow an alias the way yaml.v3 does; returns the target, or None after a fatal error.
    fn enter_alias(&mut self, node: NodeId) -> Option<(NodeId, bool)> {
        let NodeKind::Alias { target, name } = &self.doc.node(node).kind else {
            return None;
        };
        if self.expanding.contains(&node) {
            let name = name.to_string();
            self.fail(format!("anchor '{name}' value contains itself"));
            return None;
        }
        self.expanding.push(node);
        self.alias_depth += 1;
        let was_direct = self.direct;
        self.direct = false;
        Some((*target, was_direct))
    }

    fn leave_alias(&mut self, was_direct: bool) {
        self.expanding.pop();
        self.alias_depth -= 1;
        self.direct = was_direct;
    }

    fn is_alias(&self, node: NodeId) -> bool {
        matches!(self.doc.node(node).kind, NodeKind::Alias { .. })
    }

    // ---- scalars -------------------------------------------------------------------------

    /// The resolved form of a scalar as yaml.v3's `d.scalar` sees it: (tag, resolved value,
    /// decoded text for `!!binary`).
    fn resolve_scalar(
        &mut self,
        node: NodeId,
    ) -> Option<(Cow<'static, str>, Resolved, Option<String>)> {
        let NodeKind::Scalar { value, tag, style } = &self.doc.node(node).kind else {
            return None;
        };
        if tag.as_ref() == yaml::STR_TAG || (tag.is_empty() && *style != ScalarStyle3::Plain) {
            return Some((Cow::Borrowed(yaml::STR_TAG), Resolved::Str, None));
        }
        match yaml::resolve(tag, value) {
            Err(message) => {
                self.fail(message);
                None
            }
            Ok((rtag, resolved)) => {
                if rtag.as_ref() == yaml::BINARY_TAG {
                    use base64::Engine as _;
                    let cleaned: String = value.chars().filter(|c| !c.is_whitespace()).collect();
                    match base64::engine::general_purpose::STANDARD.decode(cleaned) {
                        Ok(bytes) => Some((
                            rtag,
                            resolved,
                            Some(crate::go_lossy_utf8(&bytes).into_owned()),
                        )),
                        Err(_) => {
                            self.fail("!!binary value contains invalid base64 data".to_owned());
                            None
                        }
                    }
                } else {
                    Some((rtag, resolved, None))
                }
            }
        }
    }

    /// Check a mapping for duplicate keys (yaml.v3's uniqueKeys); false when it has some.
    fn unique_keys(&mut self, node: NodeId) -> bool {
        let NodeKind::Mapping { pairs, .. } = &self.doc.node(node).kind else {
            return true;
        };
        let before = self.type_errors.len();
        for (i, (ki, _)) in pairs.iter().enumerate() {
            let a = self.doc.node(*ki);
            for (kj, _) in &pairs[i + 1..] {
                let b = self.doc.node(*kj);
                if a.kind_code() == b.kind_code() && a.value() == b.value() {
                    self.type_errors.push(format!(
                        "line {}: mapping key {} already defined at line {}",
                        b.line,
                        crate::go_quote(b.value()),
                        a.line
                    ));
                    self.type_error_lines.push(b.line);
                }
            }
        }
        self.type_errors.len() == before
    }

    /// Decode into a Go string-kinded value. `Some(text)` when set, `None` on null or error.
    pub(crate) fn string_value(&mut self, node: NodeId, target: GoType) -> Option<String> {
        if !self.count() {
            return None;
        }
        if self.is_alias(node) {
            let (target_node, was_direct) = self.enter_alias(node)?;
            let result = self.string_value(target_node, target);
            self.leave_alias(was_direct);
            return result;
        }
        match &self.doc.node(node).kind {
            NodeKind::Scalar { value, .. } => {
                let value = value.to_string();
                let (_, resolved, binary) = self.resolve_scalar(node)?;
                if resolved == Resolved::Null {
                    return None;
                }
                Some(binary.unwrap_or(value))
            }
            NodeKind::Mapping { .. } => {
                if self.unique_keys(node) {
                    self.type_error(node, target);
                }
                None
            }
            NodeKind::Sequence { .. } => {
                self.type_error(node, target);
                None
            }
            NodeKind::Alias { .. } => None,
        }
    }

    /// Decode into a Go `int`.
    pub(crate) fn int_value(&mut self, node: NodeId) -> Option<i64> {
        if !self.count() {
            return None;
        }
        if self.is_alias(node) {
            let (target_node, was_direct) = self.enter_alias(node)?;
            let result = self.int_value(target_node);
            self.leave_alias(was_direct);
            return result;
        }
        match &self.doc.node(node).kind {
            NodeKind::Scalar { .. } => {
                let (_, resolved, _) = self.resolve_scalar(node)?;
                match resolved {
                    Resolved::Null => None,
                    Resolved::Int(i) => Some(i),
                    Resolved::Uint(u) if u <= i64::MAX as u64 => Some(u as i64),
                    Resolved::Float(f) if f <= i64::MAX as f64 => Some(f as i64),
                    _ => {
                        self.type_error(node, GoType::INT);
                        None
                    }
                }
            }
            NodeKind::Mapping { .. } => {
                if self.unique_keys(node) {
                    self.type_error(node, GoType::INT);
                }
                None
            }
            NodeKind::Sequence { .. } => {
                self.type_error(node, GoType::INT);
                None
            }
            NodeKind::Alias { .. } => None,
        }
    }

    /// Decode into a Go `bool` (YAML 1.1 words like `yes` and `off` accepted, as yaml.v3 does
    /// for typed booleans).
    pub(crate) fn bool_value(&mut self, node: NodeId) -> Option<bool> {
        if !self.count() {
            return None;
        }
        if self.is_alias(node) {
            let (target_node, was_direct) = self.enter_alias(node)?;
            let result = self.bool_value(target_node);
            self.leave_alias(was_direct);
            return result;
        }
        match &self.doc.node(node).kind {
            NodeKind::Scalar { value, .. } => {
                let value = value.to_string();
                let (_, resolved, binary) = self.resolve_scalar(node)?;
                let text = binary.as_deref().unwrap_or(&value);
                match resolved {
                    Resolved::Null => None,
                    Resolved::Bool(b) => Some(b),
                    Resolved::Str => match text {
                        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => Some(true),
                        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => Some(false),
                        _ => {
                            self.type_error(node, GoType::BOOL);
                            None
                        }
                    },
                    _ => {
                        self.type_error(node, GoType::BOOL);
                        None
                    }
                }
            }
            NodeKind::Mapping { .. } => {
                if self.unique_keys(node) {
                    self.type_error(node, GoType::BOOL);
                }
                None
            }
            NodeKind::Sequence { .. } => {
                self.type_error(node, GoType::BOOL);
                None
            }
            NodeKind::Alias { .. } => None,
        }
    }

    // ---- fields ---------------------------------------------------------------------------

    pub(crate) fn set_string(&mut self, node: NodeId, out: &mut String) {
        if let Some(s) = self.string_value(node, GoType::STRING) {
            *out = s;
        }
    }

    pub(crate) fn set_opt_string(&mut self, node: NodeId, out: &mut Option<String>) {
        *out = self.string_value(node, GoType::STRING);
    }

    pub(crate) fn set_opt_int(&mut self, node: NodeId, out: &mut Option<i64>) {
        *out = self.int_value(node);
    }

    pub(crate) fn set_int(&mut self, node: NodeId, out: &mut i64) {
        if let Some(i) = self.int_value(node) {
            *out = i;
        }
    }

    pub(crate) fn set_opt_bool(&mut self, node: NodeId, out: &mut Option<bool>) {
        *out = self.bool_value(node);
    }

    pub(crate) fn set_bool(&mut self, node: NodeId, out: &mut bool) {
        if let Some(b) = self.bool_value(node) {
            *out = b;
        }
    }

    /// Decode a sequence of strings (Go `[]string` or `[]NamedString`).
    pub(crate) fn set_strings(&mut self, node: NodeId, out: &mut Vec<String>, element: GoType) {
        *out = self.list_value(node, element, |d, item| d.string_value(item, element));
    }

    /// Decode a sequence of structs.
    pub(crate) fn set_list<T: Decode>(&mut self, node: NodeId, out: &mut Vec<T>) {
        let element = T::go_type(self.version);
        *out = self.list_value(node, element, |d, item| {
            let mut value = T::default();
            d.struct_value(item, &mut value, element, false)
                .then_some(value)
        });
    }

    /// Decode a sequence of structs into a named slice type (`HTTPHeaders`).
    pub(crate) fn set_named_list<T: Decode>(
        &mut self,
        node: NodeId,
        out: &mut Vec<T>,
        slice_type: GoType,
    ) {
        let element = T::go_type(self.version);
        *out = self.list_value_typed(node, slice_type, |d, item| {
            let mut value = T::default();
            d.struct_value(item, &mut value, element, false)
                .then_some(value)
        });
    }

    /// Decode a struct field in place (Go struct value).
    pub(crate) fn set_struct<T: Decode>(&mut self, node: NodeId, out: &mut T) {
        let go_type = T::go_type(self.version);
        self.struct_value(node, out, go_type, true);
    }

    /// Decode a pointer-to-struct field (Butane v0_3's `*Clevis`, `*Custom`).
    pub(crate) fn set_opt_struct<T: Decode>(
        &mut self,
        node: NodeId,
        out: &mut Option<T>,
        go_type: GoType,
    ) {
        if self.resolves_to_null(node) {
            // yaml.v3 leaves a nil pointer for null without visiting a struct.
            let _ = self.count();
            *out = None;
            return;
        }
        let value = out.get_or_insert_with(T::default);
        self.struct_value(node, value, go_type, true);
    }

    fn resolves_to_null(&self, node: NodeId) -> bool {
        self.doc.is_null(node)
    }

    fn list_value<T>(
        &mut self,
        node: NodeId,
        element: GoType,
        each: impl FnMut(&mut Self, NodeId) -> Option<T>,
    ) -> Vec<T> {
        self.list_value_typed(node, element.slice_of(), each)
    }

    /// `slice_type` is the Go type of the whole list, for errors.
    fn list_value_typed<T>(
        &mut self,
        node: NodeId,
        slice_type: GoType,
        mut each: impl FnMut(&mut Self, NodeId) -> Option<T>,
    ) -> Vec<T> {
        if !self.count() {
            return Vec::new();
        }
        if self.is_alias(node) {
            let Some((target_node, was_direct)) = self.enter_alias(node) else {
                return Vec::new();
            };
            // Re-enter without counting twice, as yaml.v3 counts the alias and its target.
            let result = self.list_value_typed(target_node, slice_type, each);
            self.leave_alias(was_direct);
            return result;
        }
        let doc = self.doc;
        match &doc.node(node).kind {
            NodeKind::Sequence { items, .. } => {
                let mut out = Vec::with_capacity(items.len());
                let was_direct = self.direct;
                for &item in items {
                    let index = out.len();
                    self.path.push(PathElement::Index(index));
                    self.sort_key.push(u32::try_from(index).unwrap_or(u32::MAX));
                    let value = each(self, item);
                    self.path.pop();
                    self.sort_key.pop();
                    match value {
                        Some(v) => out.push(v),
                        // A dropped element shifts the decoded indices of the ones after it.
                        None => self.direct = false,
                    }
                    if self.failed() {
                        break;
                    }
                }
                self.direct = was_direct;
                out
            }
            NodeKind::Scalar { .. } => {
                if !self.doc.is_null(node) && self.resolve_scalar(node).is_some() {
                    self.type_error(node, slice_type);
                }
                Vec::new()
            }
            NodeKind::Mapping { .. } => {
                if self.unique_keys(node) {
                    self.type_error(node, slice_type);
                }
                Vec::new()
            }
            NodeKind::Alias { .. } => Vec::new(),
        }
    }

    /// Decode a mapping into a struct; false when yaml.v3's unmarshal would report "not good"
    /// (null, wrong kind, duplicate keys), which drops a list element. `visit_null`: a null
    /// value still leaves a (zero) struct for vcontext to visit, except in a list.
    fn struct_value<T: Decode>(
        &mut self,
        node: NodeId,
        out: &mut T,
        go_type: GoType,
        visit_null: bool,
    ) -> bool {
        if !self.count() {
            return false;
        }
        if self.is_alias(node) {
            let Some((target_node, was_direct)) = self.enter_alias(node) else {
                return false;
            };
            let good = self.struct_value(target_node, out, go_type, visit_null);
            self.leave_alias(was_direct);
            return good;
        }
        match &self.doc.node(node).kind {
            NodeKind::Mapping { .. } => {
                if !self.unique_keys(node) {
                    return false;
                }
                self.visit_struct::<T>(node);
                self.mapping_struct(node, out, go_type);
                true
            }
            NodeKind::Scalar { .. } => {
                if self.doc.is_null(node) {
                    // A zero struct is still visited by vcontext's unused-key check.
                    if visit_null {
                        self.visit_struct::<T>(node);
                    }
                    return false;
                }
                if self.resolve_scalar(node).is_some() {
                    self.type_error(node, go_type);
                }
                false
            }
            NodeKind::Sequence { .. } => {
                self.type_error(node, go_type);
                false
            }
            NodeKind::Alias { .. } => false,
        }
    }

    fn mapping_struct<T: Decode>(&mut self, node: NodeId, out: &mut T, go_type: GoType) {
        let doc = self.doc;
        let NodeKind::Mapping { pairs, .. } = &doc.node(node).kind else {
            return;
        };
        let merged = self.merged_fields.take();
        let mut merged_local = merged;
        let mut merge_node = None;
        let mut done: Vec<std::borrow::Cow<'_, str>> = Vec::new();
        for &(key, value) in pairs {
            if self.failed() {
                return;
            }
            if self.is_merge_key(key) {
                merge_node = Some(value);
                continue;
            }
            let name: std::borrow::Cow<'_, str> = match &doc.node(key).kind {
                // The common case: a plain string key, read without allocating.
                NodeKind::Scalar { value, tag, .. } if tag.as_ref() == yaml::STR_TAG => {
                    if !self.count() {
                        return;
                    }
                    std::borrow::Cow::Borrowed(value.as_ref())
                }
                _ => match self.string_value(key, GoType::STRING) {
                    Some(name) => std::borrow::Cow::Owned(name),
                    None => continue,
                },
            };
            if let Some(merged) = merged_local.as_mut() {
                if merged.iter().any(|m| *m == name) {
                    continue;
                }
                merged.push(name.to_string());
            }
            if T::has_field(self.version, &name) {
                if done.contains(&name) {
                    let line = self.doc.node(key).line;
                    self.type_errors.push(format!(
                        "line {line}: field {name} already set in type {}",
                        go_type.render(self.version)
                    ));
                    self.type_error_lines.push(line);
                    continue;
                }
                done.push(name.clone());
                out.decode_field(self, &name, value);
            }
        }
        self.merged_fields = merged_local;
        if let Some(merge) = merge_node {
            self.merge(node, merge, out, go_type);
        }
    }

    fn is_merge_key(&self, key: NodeId) -> bool {
        matches!(
            &self.doc.node(key).kind,
            NodeKind::Scalar { value, tag, .. } if value == "<<" && (tag.is_empty() || tag == "!" || tag == yaml::MERGE_TAG)
        )
    }

    fn merge<T: Decode>(&mut self, parent: NodeId, merge: NodeId, out: &mut T, go_type: GoType) {
        let saved = self.merged_fields.take();
        let fields = match saved.clone() {
            Some(f) => f,
            None => {
                let mut set = Vec::new();
                if let NodeKind::Mapping { pairs, .. } = &self.doc.node(parent).kind {
                    for (key, _) in pairs {
                        if let NodeKind::Scalar { value, .. } = &self.doc.node(*key).kind
                            && matches!(self.doc.short_tag(*key), yaml::STR_TAG | yaml::MERGE_TAG)
                        {
                            set.push(value.to_string());
                        }
                    }
                }
                set
            }
        };
        self.merged_fields = Some(fields);
        let was_direct = self.direct;
        self.direct = false;
        let wants_map = |d: &Self, n: NodeId| -> bool {
            match &d.doc.node(n).kind {
                NodeKind::Mapping { .. } => true,
                NodeKind::Alias { target, .. } => {
                    matches!(d.doc.node(*target).kind, NodeKind::Mapping { .. })
                }
                _ => false,
            }
        };
        let sources: Vec<NodeId> = match &self.doc.node(merge).kind {
            NodeKind::Mapping { .. } | NodeKind::Alias { .. } => vec![merge],
            NodeKind::Sequence { items, .. } => items.clone(),
            NodeKind::Scalar { .. } => Vec::new(),
        };
        if sources.is_empty() || !sources.iter().all(|&s| wants_map(self, s)) {
            self.fail("map merge requires map or sequence of maps as the value".to_owned());
        } else {
            for source in sources {
                if self.failed() {
                    break;
                }
                self.merge_source(source, out, go_type);
            }
        }
        self.direct = was_direct;
        self.merged_fields = saved;
    }

    /// yaml.v3 decodes a merge source into the same struct, skipping keys already set.
    fn merge_source<T: Decode>(&mut self, node: NodeId, out: &mut T, go_type: GoType) {
        if !self.count() {
            return;
        }
        if self.is_alias(node) {
            let Some((target, was_direct)) = self.enter_alias(node) else {
                return;
            };
            self.merge_source(target, out, go_type);
            self.leave_alias(was_direct);
            return;
        }
        if self.unique_keys(node) {
            self.mapping_struct(node, out, go_type);
        }
    }

    // ---- unused keys ------------------------------------------------------------------------

    /// The YAML node at the current decoded path, following vcontext's `tree.Get`.
    fn node_at_path(&self) -> Option<NodeId> {
        let mut node = self.doc.root?;
        for element in &self.path {
            match (&self.doc.node(node).kind, element) {
                (NodeKind::Mapping { pairs, .. }, PathElement::Field(name)) => {
                    node = pairs
                        .iter()
                        .rev()
                        .find(|(k, _)| self.doc.node(*k).value() == name.as_ref())
                        .map(|(_, v)| *v)?;
                }
                (NodeKind::Sequence { items, .. }, PathElement::Index(i)) => {
                    node = *items.get(*i)?;
                }
                _ => return None,
            }
        }
        Some(node)
    }

    fn visit_struct<T: Decode>(&mut self, actual: NodeId) {
        let node = if self.direct {
            Some(actual)
        } else {
            self.node_at_path()
        };
        let Some(node) = node else {
            return;
        };
        let sort_key = |d: &Self| {
            let mut key = d.sort_key.clone();
            key.push(0);
            key
        };
        match &self.doc.node(node).kind {
            NodeKind::Mapping { pairs, .. } => {
                let mut seen: Vec<&str> = Vec::new();
                for (k, _) in pairs {
                    let name = self.doc.node(*k).value();
                    if seen.contains(&name) || T::has_field(self.version, name) {
                        continue;
                    }
                    seen.push(name);
                    let path = Path::from_elements(self.path.clone())
                        .join(PathElement::Key(name.to_owned()));
                    let key = sort_key(self);
                    self.unused.push((
                        key,
                        Entry::new(Severity::Warning, path, format!("unused key {name}")),
                    ));
                }
            }
            _ => {
                let path = Path::from_elements(self.path.clone());
                let message = format!(
                    "context tree does not match content tree at {path}. Line and column reporting may be inconsistent. Unused keys may not be reported"
                );
                let key = sort_key(self);
                self.unused
                    .push((key, Entry::new(Severity::Warning, path, message)));
            }
        }
    }

    /// Run `decode` with `name` (field number `index` of the struct) appended to the path.
    pub(crate) fn in_field(
        &mut self,
        name: &'static str,
        index: u32,
        decode: impl FnOnce(&mut Self),
    ) {
        self.path.push(PathElement::field(name));
        self.sort_key.push(index + 1);
        decode(self);
        self.path.pop();
        self.sort_key.pop();
    }
}

/// Declare a Butane struct and its decoder: `"yaml_key" [if cond] => field: kind` per field, in
/// Go declaration order (which is vcontext's traversal order). `$v` names the spec version in
/// conditions.
macro_rules! butane_struct {
    (
        $(#[$meta:meta])*
        struct $name:ident as $go:expr, |$v:ident| {
            $( $key:literal $(if $cond:expr)? => $field:ident : $kind:ident $(($($arg:tt)*))? ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Default, PartialEq, Eq)]
        pub(crate) struct $name {
            $( pub(crate) $field: butane_struct!(@type $kind $(($($arg)*))?), )*
        }

        impl $crate::butane::decode::Decode for $name {
            fn go_type($v: $crate::ButaneVersion) -> $crate::butane::decode::GoType {
                let _ = $v;
                $go
            }

            fn has_field($v: $crate::ButaneVersion, key: &str) -> bool {
                let _ = $v;
                $(
                    if key == $key $(&& ($cond))? {
                        return true;
                    }
                )*
                false
            }

            #[allow(unused_assignments, reason = "the field counter is read by every arm but the last")]
            fn decode_field(
                &mut self,
                d: &mut $crate::butane::decode::Decoder<'_, '_>,
                key: &str,
                value: $crate::yaml::NodeId,
            ) -> bool {
                let $v = d.version;
                let _ = $v;
                let mut index: u32 = 0;
                $(
                    if key == $key $(&& ($cond))? {
                        d.in_field($key, index, |d| {
                            butane_struct!(@decode d, value, self.$field, $kind $(($($arg)*))?);
                        });
                        return true;
                    }
                    index += 1;
                )*
                false
            }
        }
    };
    (@type string) => { String };
    (@type opt_string) => { Option<String> };
    (@type int) => { i64 };
    (@type opt_int) => { Option<i64> };
    (@type boolean) => { bool };
    (@type opt_bool) => { Option<bool> };
    (@type strings($go:expr)) => { Vec<String> };
    (@type list($t:ty)) => { Vec<$t> };
    (@type named_list($t:ty, $go:expr)) => { Vec<$t> };
    (@type opt_as_structure($t:ty)) => { Option<$t> };
    (@type structure($t:ty)) => { $t };
    (@type opt_structure($t:ty, $go:expr)) => { Option<$t> };

    (@decode $d:ident, $value:ident, $target:expr, string) => { $d.set_string($value, &mut $target) };
    (@decode $d:ident, $value:ident, $target:expr, opt_string) => { $d.set_opt_string($value, &mut $target) };
    (@decode $d:ident, $value:ident, $target:expr, int) => { $d.set_int($value, &mut $target) };
    (@decode $d:ident, $value:ident, $target:expr, opt_int) => { $d.set_opt_int($value, &mut $target) };
    (@decode $d:ident, $value:ident, $target:expr, boolean) => { $d.set_bool($value, &mut $target) };
    (@decode $d:ident, $value:ident, $target:expr, opt_bool) => { $d.set_opt_bool($value, &mut $target) };
    (@decode $d:ident, $value:ident, $target:expr, strings($go:expr)) => { $d.set_strings($value, &mut $target, $go) };
    (@decode $d:ident, $value:ident, $target:expr, list($t:ty)) => { $d.set_list($value, &mut $target) };
    (@decode $d:ident, $value:ident, $target:expr, named_list($t:ty, $go:expr)) => { $d.set_named_list($value, &mut $target, $go) };
    (@decode $d:ident, $value:ident, $target:expr, opt_as_structure($t:ty)) => { $d.set_struct($value, $target.get_or_insert_with(Default::default)) };
    (@decode $d:ident, $value:ident, $target:expr, structure($t:ty)) => { $d.set_struct($value, &mut $target) };
    (@decode $d:ident, $value:ident, $target:expr, opt_structure($t:ty, $go:expr)) => { $d.set_opt_struct($value, &mut $target, $go) };
}

pub(crate) use butane_struct;
