//! Ignition's own validation of a config for one spec version (coreos/ignition
//! config/v3_*/types `Validate` methods and config/validate `ValidateDups`), walked in the Go
//! struct order vcontext uses, so that entries come out in upstream's order.

use std::collections::{HashMap, HashSet};

use super::goparse::{clean_path, join_path, parse_unit, parse_url, path_ext, query_first};
use super::model::*;
use super::reflect::{Reflect, Value};
use crate::IgnitionVersion;
use crate::report::{Entry, Path, PathElement, Severity};

pub(crate) const ERR_DUPLICATE: &str = "duplicate entry defined";

/// Ignition's duplicate check, then its validation, both with JSON paths.
pub fn validate(config: &Config, version: IgnitionVersion) -> crate::Report {
    let mut entries = validate_dups(config);
    entries.extend(validate_config(config, version));
    crate::Report { entries }
}

/// `ValidateDups`: within every list (and lists sharing a handle), every entry whose key was
/// already seen.
pub(crate) fn validate_dups(config: &Config) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut path = Vec::new();
    dups_struct(config, &mut path, &mut out);
    out
}

fn dups_struct(value: &dyn Reflect, path: &mut Vec<PathElement>, out: &mut Vec<Entry>) {
    let fields = value.fields();
    let mut lists: HashMap<&'static str, HashSet<std::borrow::Cow<'_, str>>> = HashMap::new();
    for f in &fields {
        let list_name = f.handle.unwrap_or(f.name);
        match &f.value {
            Value::Strings(items) if !f.ignore_dups => {
                let seen = lists.entry(list_name).or_default();
                for (i, item) in items.iter().enumerate() {
                    if !seen.insert(std::borrow::Cow::Borrowed(item.as_str())) {
                        out.push(dup_entry(path, f.name, i));
                    }
                }
            }
            Value::Structs(items) if !f.ignore_dups => {
                let seen = lists.entry(list_name).or_default();
                for (i, item) in items.iter().enumerate() {
                    if !seen.insert(item.key()) {
                        out.push(dup_entry(path, f.name, i));
                    }
                }
            }
            _ => {}
        }
    }
    for f in fields {
        match f.value {
            Value::Struct(s) | Value::StructPointer(Some(s)) => {
                path.push(PathElement::field(f.name));
                dups_struct(s, path, out);
                path.pop();
            }
            Value::Embedded(s) => dups_struct(s, path, out),
            Value::Structs(items) => {
                path.push(PathElement::field(f.name));
                for (i, item) in items.into_iter().enumerate() {
                    path.push(PathElement::Index(i));
                    dups_struct(item, path, out);
                    path.pop();
                }
                path.pop();
            }
            _ => {}
        }
    }
}

fn dup_entry(path: &[PathElement], name: &'static str, index: usize) -> Entry {
    let mut p = path.to_vec();
    p.push(PathElement::field(name));
    p.push(PathElement::Index(index));
    Entry::json(Severity::Error, Path::from_elements(p), ERR_DUPLICATE)
}

struct V {
    version: IgnitionVersion,
    path: Vec<PathElement>,
    out: Vec<Entry>,
}

pub(crate) fn validate_config(config: &Config, version: IgnitionVersion) -> Vec<Entry> {
    let mut v = V {
        version,
        path: Vec::with_capacity(16),
        out: Vec::new(),
    };
    v.config(config);
    v.out
}

mod msg {
    pub(super) const NO_PATH: &str = "path not specified";
    pub(super) const PATH_RELATIVE: &str = "path not absolute";
    pub(super) const DIRTY_PATH: &str = "path is not fully simplified";
    pub(super) const INVALID_URL: &str = "unable to parse url";
    pub(super) const INVALID_SCHEME: &str = "invalid url scheme";
    pub(super) const SOURCE_REQUIRED: &str = "source is required";
    pub(super) const COMPRESSION_INVALID: &str = "invalid compression method";
    pub(super) const VERIFICATION_NIL_SOURCE: &str =
        "source must be specified if verification is specified";
    pub(super) const HEADERS_SCHEME: &str = "cannot use HTTP headers with this source scheme";
    pub(super) const EMPTY_HEADER_NAME: &str = "HTTP header name can't be empty";
    pub(super) const INVALID_HEADER: &str = "unable to parse HTTP header";
    pub(super) const HASH_MALFORMED: &str = "malformed hash specifier";
    pub(super) const HASH_WRONG_SIZE: &str = "incorrect size for hash sum";
    pub(super) const HASH_UNRECOGNIZED: &str = "unrecognized hash function";
    pub(super) const INVALID_PROXY: &str = "proxies must be http(s)";
    pub(super) const INSECURE_PROXY: &str =
        "insecure plaintext HTTP proxy specified for HTTPS resources";
    pub(super) const S3_VERSION: &str = "invalid S3 object VersionId";
    pub(super) const S3_ARN: &str = "invalid S3 ARN format";
}

impl V {
    fn at(&self, tail: &[PathElement]) -> Path {
        let mut p = self.path.clone();
        p.extend_from_slice(tail);
        Path::from_elements(p)
    }

    fn error(&mut self, tail: &[PathElement], message: impl Into<String>) {
        let path = self.at(tail);
        self.out.push(Entry::json(Severity::Error, path, message));
    }

    fn warn(&mut self, tail: &[PathElement], message: impl Into<String>) {
        let path = self.at(tail);
        self.out.push(Entry::json(Severity::Warning, path, message));
    }

    fn error_result(&mut self, tail: &[PathElement], result: Result<(), String>) {
        if let Err(message) = result {
            self.error(tail, message);
        }
    }

    fn within(&mut self, name: &'static str, f: impl FnOnce(&mut Self)) {
        self.path.push(PathElement::field(name));
        f(self);
        self.path.pop();
    }

    fn each<T>(&mut self, name: &'static str, list: &[T], mut f: impl FnMut(&mut Self, &T)) {
        self.path.push(PathElement::field(name));
        for (i, item) in list.iter().enumerate() {
            self.path.push(PathElement::Index(i));
            f(self, item);
            self.path.pop();
        }
        self.path.pop();
    }

    fn since(&self, version: IgnitionVersion) -> bool {
        self.version >= version
    }

    fn config(&mut self, c: &Config) {
        // Config.Validate: files, directories and links must not shadow unit files.
        let mut unit_paths: HashSet<String> = HashSet::new();
        for unit in &c.systemd.units {
            if unit.contents.as_deref().is_some_and(|s| !s.is_empty()) {
                unit_paths.insert(format!("/etc/systemd/system/{}", unit.name));
            }
            for dropin in &unit.dropins {
                if dropin.contents.as_deref().is_some_and(|s| !s.is_empty()) {
                    unit_paths.insert(format!(
                        "/etc/systemd/system/{}.d/{}",
                        unit.name, dropin.name
                    ));
                }
            }
        }
        let conflict = "path conflicts with systemd unit or dropin";
        for (i, f) in c.storage.files.iter().enumerate() {
            if unit_paths.contains(&f.node.path) {
                self.error(&p(&[s("storage"), s("files"), n(i), s("path")]), conflict);
            }
        }
        for (i, d) in c.storage.directories.iter().enumerate() {
            if unit_paths.contains(&d.node.path) {
                self.error(
                    &p(&[s("storage"), s("directories"), n(i), s("path")]),
                    conflict,
                );
            }
        }
        for (i, l) in c.storage.links.iter().enumerate() {
            if unit_paths.contains(&l.node.path) {
                self.error(&p(&[s("storage"), s("links"), n(i), s("path")]), conflict);
            }
        }
        self.within("ignition", |v| v.ignition(&c.ignition));
        self.within("storage", |v| v.storage(&c.storage));
        self.within("systemd", |v| v.systemd(&c.systemd));
    }

    fn ignition(&mut self, i: &Ignition) {
        self.within("config", |v| {
            if v.since(IgnitionVersion::V3_1) {
                for (index, r) in i.config.merge.iter().enumerate() {
                    let result = v.required_source(r);
                    v.error_result(&[s("merge"), n(index)], result);
                }
            }
            v.each("merge", &i.config.merge, |v, r| v.config_reference(r));
            v.within("replace", |v| v.config_reference(&i.config.replace));
        });
        if self.since(IgnitionVersion::V3_1) {
            self.within("proxy", |v| v.proxy(&i.proxy));
        }
        self.within("security", |v| {
            v.within("tls", |v| {
                let cas = &i.security.tls.certificate_authorities;
                if v.since(IgnitionVersion::V3_1) {
                    for (index, r) in cas.iter().enumerate() {
                        let result = v.required_source(r);
                        v.error_result(&[s("certificateAuthorities"), n(index)], result);
                    }
                    v.each("certificateAuthorities", cas, |v, r| v.resource(r));
                } else {
                    v.each("certificateAuthorities", cas, |v, r| {
                        let result = v.url(r.source.as_deref().unwrap_or(""));
                        v.error_result(&[s("source")], result);
                        v.within("verification", |v| v.verification(&r.verification));
                    });
                }
            });
        });
    }

    fn config_reference(&mut self, r: &Resource) {
        if self.since(IgnitionVersion::V3_1) {
            self.resource(r);
        } else {
            let result = self.url_nil_ok(r.source.as_deref());
            self.error_result(&[s("source")], result);
            self.within("verification", |v| v.verification(&r.verification));
        }
    }

    fn required_source(&self, r: &Resource) -> Result<(), String> {
        match r.source.as_deref() {
            None | Some("") => Err(msg::SOURCE_REQUIRED.to_owned()),
            Some(source) => self.url(source),
        }
    }

    /// Resource.Validate (FileContents.Validate in 3.0), then its fields.
    fn resource(&mut self, r: &Resource) {
        if let Some(c) = r.compression.as_deref()
            && !matches!(c, "" | "gzip")
        {
            self.error(&[s("compression")], msg::COMPRESSION_INVALID);
        }
        if r.verification.hash.is_some() && r.source.is_none() {
            self.error(
                &[s("verification"), s("hash")],
                msg::VERIFICATION_NIL_SOURCE,
            );
        }
        let result = self.url_nil_ok(r.source.as_deref());
        self.error_result(&[s("source")], result);
        if self.since(IgnitionVersion::V3_1) && !r.http_headers.is_empty() {
            let result = match r.source.as_deref() {
                None | Some("") => Err(msg::INVALID_URL.to_owned()),
                Some(source) => match parse_url(source) {
                    Err(()) => Err(msg::INVALID_URL.to_owned()),
                    Ok(u) if matches!(u.scheme.as_str(), "http" | "https") => Ok(()),
                    Ok(_) => Err(msg::HEADERS_SCHEME.to_owned()),
                },
            };
            self.error_result(&[s("httpHeaders")], result);
        }
        self.each("httpHeaders", &r.http_headers, |v, h| {
            if h.name.is_empty() {
                v.error(&[s("name")], msg::EMPTY_HEADER_NAME);
            }
            if h.value.as_deref() == Some("") {
                v.error(&[s("value")], msg::INVALID_HEADER);
            }
        });
        self.within("verification", |v| v.verification(&r.verification));
    }

    fn verification(&mut self, ver: &Verification) {
        let Some(hash) = ver.hash.as_deref() else {
            return;
        };
        let Some((function, sum)) = hash.split_once('-') else {
            self.error(&[s("hash")], msg::HASH_MALFORMED);
            return;
        };
        let size = match function {
            "sha512" => 128,
            "sha256" if self.since(IgnitionVersion::V3_1) => 64,
            _ => {
                self.error(&[s("hash")], msg::HASH_UNRECOGNIZED);
                return;
            }
        };
        if sum.len() != size {
            self.error(&[s("hash")], msg::HASH_WRONG_SIZE);
        }
    }

    fn url_nil_ok(&self, source: Option<&str>) -> Result<(), String> {
        match source {
            None | Some("") => Ok(()),
            Some(url) => self.url(url),
        }
    }

    /// `validateURL`.
    fn url(&self, s: &str) -> Result<(), String> {
        let u = parse_url(s).map_err(|()| msg::INVALID_URL.to_owned())?;
        match u.scheme.as_str() {
            "http" | "https" | "tftp" => Ok(()),
            "gs" if self.since(IgnitionVersion::V3_2) => Ok(()),
            "s3" => {
                if self.since(IgnitionVersion::V3_4)
                    && query_first(&u.raw_query, "versionId").is_some_and(|v| v.is_empty())
                {
                    return Err(msg::S3_VERSION.to_owned());
                }
                Ok(())
            }
            "arn" if self.since(IgnitionVersion::V3_4) => {
                let full = format!("arn:{}", u.opaque);
                if full.matches(':').count() < 5 {
                    return Err(msg::S3_ARN.to_owned());
                }
                let sections: Vec<&str> = full.splitn(6, ':').collect();
                if sections.len() != 6 || sections[2] != "s3" {
                    return Err(msg::S3_ARN.to_owned());
                }
                let slashes = full.split('/').count();
                if (sections[5].starts_with("accesspoint/") && slashes < 3) || slashes < 2 {
                    return Err(msg::S3_ARN.to_owned());
                }
                if query_first(&u.raw_query, "versionId").is_some_and(|v| v.is_empty()) {
                    return Err(msg::S3_VERSION.to_owned());
                }
                Ok(())
            }
            "data" => super::dataurl::decode_data_url(s).map(|_| ()),
            _ => Err(msg::INVALID_SCHEME.to_owned()),
        }
    }

    fn proxy(&mut self, p: &Proxy) {
        for (name, value, http_ok) in [
            ("httpProxy", &p.http_proxy, true),
            ("httpsProxy", &p.https_proxy, false),
        ] {
            let Some(value) = value else {
                continue;
            };
            match parse_url(value) {
                Err(()) => self.error(&[s(name)], msg::INVALID_URL),
                Ok(u) if !matches!(u.scheme.as_str(), "http" | "https") => {
                    self.error(&[s(name)], msg::INVALID_PROXY);
                }
                Ok(u) if u.scheme == "http" && !http_ok => {
                    self.warn(&[s(name)], msg::INSECURE_PROXY);
                }
                Ok(_) => {}
            }
        }
    }

    fn node(&mut self, node: &Node) {
        if let Err(message) = validate_path(&node.path) {
            self.error(&[s("path")], message);
        }
    }

    fn node_owner_fields(&mut self, node: &Node) {
        let both = "cannot set both id and name";
        if node.group.id.is_some() && node.group.name.as_deref().is_some_and(|n| !n.is_empty()) {
            self.error(&[s("group")], both);
        }
        if node.user.id.is_some() && node.user.name.as_deref().is_some_and(|n| !n.is_empty()) {
            self.error(&[s("user")], both);
        }
    }

    fn mode(&mut self, mode: Option<i64>) {
        if let Some(m) = mode {
            if !(0..=0o7777).contains(&m) {
                self.error(&[s("mode")], "illegal file mode");
            }
            if !self.since(IgnitionVersion::V3_6) && (m as u32) & 0o7000 != 0 {
                self.warn(
                    &[s("mode")],
                    "setuid/setgid/sticky bits are not supported or functional in spec versions older than 3.6.0",
                );
            }
        }
    }

    fn storage(&mut self, st: &Storage) {
        // Storage.Validate
        for (i, d) in st.directories.iter().enumerate() {
            for l in &st.links {
                if d.node.path.starts_with(&format!("{}/", l.node.path)) {
                    self.error(
                        &[s("directories"), n(i)],
                        "directory path includes link in config",
                    );
                }
            }
        }
        for (i, f) in st.files.iter().enumerate() {
            for l in &st.links {
                if f.node.path.starts_with(&format!("{}/", l.node.path)) {
                    self.error(&[s("files"), n(i)], "file path includes link in config");
                }
            }
        }
        for (i, l1) in st.links.iter().enumerate() {
            for l2 in &st.links {
                if l1.node.path.starts_with(&format!("{}/", l2.node.path)) {
                    self.error(&[s("links"), n(i)], "link path includes link in config");
                }
            }
            let target = if self.since(IgnitionVersion::V3_3) {
                match l1.target.as_deref() {
                    None | Some("") => {
                        self.error(&[s("links"), n(i), s("target")], "link target is required");
                        continue;
                    }
                    Some(t) => t,
                }
            } else {
                l1.target.as_deref().unwrap_or("")
            };
            if l1.hard != Some(true) {
                continue;
            }
            let mut resolved = clean_path(target);
            if !resolved.starts_with('/') {
                resolved = join_path(&l1.node.path, target);
            }
            for d in &st.directories {
                if resolved == d.node.path {
                    self.error(&[s("links"), n(i)], "hard link target is a directory");
                }
            }
            let ignored = "user/group ignored for hard link";
            if l1.node.user.id.is_some() {
                self.warn(&[s("links"), n(i), s("user"), s("id")], ignored);
            }
            if l1.node.user.name.is_some() {
                self.warn(&[s("links"), n(i), s("user"), s("name")], ignored);
            }
            if l1.node.group.id.is_some() {
                self.warn(&[s("links"), n(i), s("group"), s("id")], ignored);
            }
            if l1.node.group.name.is_some() {
                self.warn(&[s("links"), n(i), s("group"), s("name")], ignored);
            }
        }
        let disks: HashMap<&str, &Disk> = st.disks.iter().map(|d| (d.device.as_str(), d)).collect();
        for (i, f) in st.filesystems.iter().enumerate() {
            if let Some(disk) = disks.get(f.device.as_str()) {
                if !disk.partitions.is_empty() {
                    self.warn(
                        &[s("filesystems"), n(i), s("device")],
                        "filesystem overwrites partitioned device",
                    );
                } else if f.wipe_filesystem != Some(true) && disk.wipe_table == Some(true) {
                    self.warn(
                        &[s("filesystems"), n(i), s("device")],
                        "device matches disk with wipeTable enabled; filesystem will be wiped",
                    );
                }
            }
        }

        self.each("directories", &st.directories, |v, d| {
            v.node(&d.node);
            v.mode(d.mode);
            v.node_owner_fields(&d.node);
        });
        self.each("disks", &st.disks, |v, d| v.disk(d));
        self.each("files", &st.files, |v, f| {
            v.node(&f.node);
            v.mode(f.mode);
            if f.node.overwrite == Some(true) && f.contents.source.is_none() {
                v.error(
                    &[s("overwrite")],
                    "overwrite must be false if source is unspecified",
                );
            }
            v.node_owner_fields(&f.node);
            v.each("append", &f.append, |v, r| v.resource(r));
            v.within("contents", |v| v.resource(&f.contents));
        });
        self.each("filesystems", &st.filesystems, |v, f| v.filesystem(f));
        self.each("links", &st.links, |v, l| {
            v.node(&l.node);
            v.node_owner_fields(&l.node);
        });
        if self.since(IgnitionVersion::V3_2) {
            self.each("luks", &st.luks, |v, l| v.luks(l));
        }
        self.each("raid", &st.raid, |v, r| v.raid(r));
    }

    fn disk(&mut self, d: &Disk) {
        if d.device.is_empty() {
            self.error(&[s("device")], "disk device is required");
        } else {
            if let Err(message) = validate_path(&d.device) {
                self.error(&[s("device")], message);
            }
            // partition numbers collide: the second entry of the first colliding number
            let mut by_number: Vec<(i64, Vec<usize>)> = Vec::new();
            for (i, part) in d.partitions.iter().enumerate() {
                if part.number != 0 {
                    match by_number.iter_mut().find(|(num, _)| *num == part.number) {
                        Some((_, list)) => list.push(i),
                        None => by_number.push((part.number, vec![i])),
                    }
                }
            }
            if let Some((_, list)) = by_number.iter().find(|(_, list)| list.len() > 1) {
                self.error(&[s("partitions"), n(list[1])], "partition numbers collide");
            }
            if let Some(i) = partitions_overlap(&d.partitions) {
                self.error(&[s("partitions"), n(i)], "partitions overlap");
            }
            let has_zero = d.partitions.iter().any(|p| p.number == 0);
            let has_not_exist = d.partitions.iter().any(|p| p.should_exist == Some(false));
            if has_zero && has_not_exist {
                self.error(
                    &[s("partitions")],
                    "shouldExist is false for a partition and other partition(s) has start or size 0",
                );
            }
            let mut labels: HashSet<&str> = HashSet::new();
            if let Some(i) = d.partitions.iter().position(|p| {
                p.label
                    .as_deref()
                    .is_some_and(|label| !labels.insert(label))
            }) {
                self.error(
                    &[s("partitions"), n(i)],
                    "cannot use the same partition label twice",
                );
            }
        }
        self.each("partitions", &d.partitions, |v, part| {
            if part.should_exist == Some(false)
                && (part.label.is_some()
                    || part.type_guid.as_deref().is_some_and(|g| !g.is_empty())
                    || part.guid.as_deref().is_some_and(|g| !g.is_empty())
                    || part.start_mib.is_some()
                    || part.size_mib.is_some())
            {
                v.error(
                    &[],
                    "shouldExist specified false with other options also specified",
                );
            }
            if part.number == 0 && part.label.is_none() {
                v.error(&[], "a partition number >= 1 or a label must be specified");
            }
            if let Some(label) = part.label.as_deref() {
                if label.len() > 36 {
                    v.error(
                        &[s("label")],
                        "partition labels may not exceed 36 characters",
                    );
                } else if label.contains(':') {
                    v.error(
                        &[s("label")],
                        "partition label will be truncated to text before the colon",
                    );
                }
            }
            let guid_error = "doesn't match the form \"01234567-89AB-CDEF-EDCB-A98765432101\"";
            if part.guid.as_deref().is_some_and(|g| !valid_guid(g)) {
                v.error(&[s("guid")], guid_error);
            }
            if part.type_guid.as_deref().is_some_and(|g| !valid_guid(g)) {
                v.error(&[s("typeGuid")], guid_error);
            }
        });
    }

    fn filesystem(&mut self, f: &Filesystem) {
        if let Some(path) = f.path.as_deref().filter(|p| !p.is_empty())
            && let Err(message) = validate_path(path)
        {
            self.error(&[s("path")], message);
        }
        if let Err(message) = validate_path(&f.device) {
            self.error(&[s("device")], message);
        }
        let format = f.format.as_deref().filter(|s| !s.is_empty());
        match format {
            None => {
                if f.path.as_deref().is_some_and(|s| !s.is_empty())
                    || f.label.as_deref().is_some_and(|s| !s.is_empty())
                    || f.uuid.as_deref().is_some_and(|s| !s.is_empty())
                    || f.wipe_filesystem == Some(true)
                    || !f.mount_options.is_empty()
                    || !f.options.is_empty()
                {
                    self.error(
                        &[s("format")],
                        "format cannot be empty when path, label, uuid, wipeFilesystem, options, or mountOptions is specified",
                    );
                }
            }
            Some(fmt) => {
                let valid = matches!(fmt, "ext4" | "btrfs" | "xfs" | "swap" | "vfat")
                    || (fmt == "none" && self.since(IgnitionVersion::V3_3));
                if !valid {
                    self.error(&[s("format")], "invalid filesystem format");
                }
            }
        }
        if let Some(label) = f.label.as_deref().filter(|l| !l.is_empty()) {
            let too_long = match format {
                None => Some("filesystem must specify format if label is specified"),
                Some("ext4") if label.len() > 16 => {
                    Some("filesystem labels cannot be longer than 16 characters when using ext4")
                }
                Some("btrfs") if label.len() > 256 => {
                    Some("filesystem labels cannot be longer than 256 characters when using btrfs")
                }
                Some("xfs") if label.len() > 12 => {
                    Some("filesystem labels cannot be longer than 12 characters when using xfs")
                }
                Some("swap") if label.len() > 15 => {
                    Some("filesystem labels cannot be longer than 15 characters when using swap")
                }
                Some("vfat") if label.len() > 11 => {
                    Some("filesystem labels cannot be longer than 11 characters when using vfat")
                }
                _ => None,
            };
            if let Some(message) = too_long {
                self.error(&[s("label")], message);
            }
        }
    }

    fn luks(&mut self, l: &Luks) {
        use IgnitionVersion as Ver;
        if l.name.contains('/') {
            self.error(&[s("name")], "device names cannot contain slashes");
        }
        if l.label.as_deref().is_some_and(|label| label.len() > 47) {
            self.error(
                &[s("label")],
                "luks device labels cannot be longer than 47 characters",
            );
        }
        match l.device.as_deref() {
            None | Some("") => self.error(&[s("device")], "disk device is required"),
            Some(device) => {
                if let Err(message) = validate_path(device) {
                    self.error(&[s("device")], message);
                }
            }
        }
        let clevis = l.clevis.clone().unwrap_or_default();
        let others = !clevis.tang.is_empty()
            || clevis.tpm2 == Some(true)
            || clevis.threshold.is_some_and(|t| t != 0);
        let custom_set = if self.version == Ver::V3_2 {
            l.clevis.is_some() && clevis.custom.is_some()
        } else {
            clevis
                .custom
                .as_ref()
                .and_then(|c| c.pin.as_deref())
                .is_some_and(|p| !p.is_empty())
        };
        if custom_set && others {
            self.error(
                &[s("clevis")],
                "cannot use custom clevis config with tpm2, tang, or threshold",
            );
        }
        if self.url_nil_ok(l.key_file.source.as_deref()).is_err() {
            self.error(&[s("keys")], "invalid key-file source");
        }
        if self.since(Ver::V3_5) {
            let clevis_present = clevis
                .custom
                .as_ref()
                .and_then(|c| c.pin.as_deref())
                .is_some_and(|p| !p.is_empty())
                || others;
            let cex_present = l.cex.enabled == Some(true);
            if clevis_present && cex_present {
                self.error(&[s("cex")], "cannot use cex with clevis");
            }
            if cex_present && l.key_file.source.as_deref().is_some_and(|s| !s.is_empty()) {
                self.error(&[s("cex")], "cannot use key file with cex");
            }
        }
        if l.clevis.is_some() || self.version != Ver::V3_2 {
            self.within("clevis", |v| {
                if let Some(custom) = clevis.custom.as_ref() {
                    v.within("custom", |v| v.clevis_custom(custom));
                } else if v.version != Ver::V3_2 {
                    v.within("custom", |v| v.clevis_custom(&ClevisCustom::default()));
                }
                v.each("tang", &clevis.tang, |v, t| v.tang(t));
            });
        }
        self.within("keyFile", |v| v.resource(&l.key_file));
    }

    fn clevis_custom(&mut self, c: &ClevisCustom) {
        use IgnitionVersion as Ver;
        let pin = c.pin.as_deref().unwrap_or("");
        let config = c.config.as_deref().unwrap_or("");
        if self.version == Ver::V3_2 {
            if pin.is_empty() && config.is_empty() {
                return;
            }
            if !matches!(pin, "tpm2" | "tang" | "sss") {
                self.error(&[s("pin")], "unsupported clevis pin");
            }
            if config.is_empty() {
                self.error(&[s("config")], "missing required custom clevis config");
            }
            return;
        }
        if pin.is_empty() && config.is_empty() && c.needs_network != Some(true) {
            return;
        }
        if pin.is_empty() {
            self.error(&[s("pin")], "missing required custom clevis pin");
        } else if !self.since(Ver::V3_6) && !matches!(pin, "tpm2" | "tang" | "sss") {
            self.error(&[s("pin")], "unsupported clevis pin");
        }
        if config.is_empty() {
            self.error(&[s("config")], "missing required custom clevis config");
        }
    }

    fn tang(&mut self, t: &Tang) {
        match parse_url(&t.url) {
            Err(()) => self.error(&[s("url")], msg::INVALID_URL),
            Ok(u) if !matches!(u.scheme.as_str(), "http" | "https") => {
                self.error(&[s("url")], msg::INVALID_SCHEME);
            }
            Ok(_) => {}
        }
        if t.thumbprint.as_deref().is_none_or(str::is_empty) {
            self.error(&[s("thumbprint")], "thumbprint is required");
        }
        if self.since(IgnitionVersion::V3_4)
            && let Some(adv) = t.advertisement.as_deref().filter(|a| !a.is_empty())
            && serde_json::from_str::<serde_json::Value>(adv).is_err()
        {
            self.error(&[s("advertisement")], "advertisement is not valid JSON");
        }
    }

    fn raid(&mut self, r: &Raid) {
        let level = r.level.as_deref().unwrap_or("");
        let level_error = if level.is_empty() && self.since(IgnitionVersion::V3_3) {
            Some("raid level is required")
        } else {
            match level {
                "linear" | "raid0" | "0" | "stripe" => r
                    .spares
                    .is_some_and(|s| s != 0)
                    .then_some("spares unsupported for linear and raid0 arrays"),
                "raid1" | "1" | "mirror" | "raid4" | "4" | "raid5" | "5" | "raid6" | "6"
                | "raid10" | "10" => None,
                _ => Some("unrecognized raid level"),
            }
        };
        if let Some(message) = level_error {
            self.error(&[s("level")], message);
        }
        if r.devices.is_empty() {
            self.error(&[s("devices")], "raid devices required");
        }
        self.each("devices", &r.devices, |v, d| {
            if let Err(message) = validate_path(d) {
                v.error(&[], message);
            }
        });
    }

    fn systemd(&mut self, sd: &Systemd) {
        // Systemd.Validate: enabled instances of templates that have no [Install] section.
        let by_name: HashMap<&str, &Unit> = sd.units.iter().map(|u| (u.name.as_str(), u)).collect();
        for (index, unit) in sd.units.iter().enumerate() {
            if unit.enabled != Some(true) {
                continue;
            }
            let Some(template) = instance_template(&unit.name) else {
                continue;
            };
            let Some(template_unit) = by_name.get(template.as_str()) else {
                continue;
            };
            let Some(contents) = template_unit.contents.as_deref().filter(|c| !c.is_empty()) else {
                continue;
            };
            let Ok(parsed) = parse_unit(contents) else {
                continue;
            };
            if !parsed.has_install {
                self.warn(
                    &[s("units"), n(index), s("contents")],
                    format!(
                        "template unit {} for {} doesn't have Install section",
                        crate::go_quote(&template),
                        crate::go_quote(&unit.name)
                    ),
                );
            }
        }
        self.each("units", &sd.units, |v, u| {
            if !is_unit_extension(path_ext(&u.name)) {
                v.error(&[s("name")], "invalid systemd unit extension");
            }
            let parsed = match u.contents.as_deref() {
                None => Ok(super::goparse::UnitFile {
                    has_install: false,
                    options: 0,
                }),
                Some(contents) => parse_unit(contents),
            };
            match parsed {
                Err(e) => v.error(&[s("contents")], format!("invalid unit content: {e}")),
                Ok(parsed) => {
                    let contents_empty = u.contents.as_deref().is_none_or(str::is_empty);
                    if u.enabled == Some(true) && !contents_empty && !parsed.has_install
                    {
                        v.warn(
                            &[s("contents")],
                            format!(
                                "unit {} is enabled, but has no install section so enable does nothing",
                                crate::go_quote(&u.name)
                            ),
                        );
                    }
                }
            }
            v.each("dropins", &u.dropins, |v, d| {
                if let Some(contents) = d.contents.as_deref()
                    && let Err(e) = parse_unit(contents)
                {
                    v.error(&[s("contents")], format!("invalid unit content: {e}"));
                }
                if path_ext(&d.name) != ".conf" {
                    v.error(&[s("name")], "invalid systemd drop-in extension");
                }
            });
        });
    }
}

fn s(name: &'static str) -> PathElement {
    PathElement::field(name)
}

fn n(index: usize) -> PathElement {
    PathElement::Index(index)
}

fn p(elements: &[PathElement]) -> Vec<PathElement> {
    elements.to_vec()
}

/// `validatePath`.
pub(crate) fn validate_path(path: &str) -> Result<(), &'static str> {
    if path.is_empty() {
        return Err(msg::NO_PATH);
    }
    if !path.starts_with('/') {
        return Err(msg::PATH_RELATIVE);
    }
    if clean_path(path) != path {
        return Err(msg::DIRTY_PATH);
    }
    Ok(())
}

fn is_unit_extension(ext: &str) -> bool {
    matches!(
        ext,
        ".service"
            | ".socket"
            | ".device"
            | ".mount"
            | ".automount"
            | ".swap"
            | ".target"
            | ".path"
            | ".timer"
            | ".snapshot"
            | ".slice"
            | ".scope"
    )
}

/// `^(.+?)@(.+?)\.service$`: the template (`name@.service`) of an instance unit.
fn instance_template(name: &str) -> Option<String> {
    let stem = name.strip_suffix(".service")?;
    let at = stem[1.min(stem.len())..].find('@')? + 1.min(stem.len());
    if at + 1 >= stem.len() {
        return None;
    }
    Some(format!("{}@.service", &stem[..at]))
}

fn valid_guid(guid: &str) -> bool {
    if guid.is_empty() {
        return true;
    }
    let groups: Vec<&str> = guid.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|c| c.is_ascii_hexdigit()))
}

fn partitions_overlap(partitions: &[Partition]) -> Option<usize> {
    let end = |p: &Partition| -> i64 {
        let (start, size) = (p.start_mib.unwrap_or(0), p.size_mib.unwrap_or(0));
        if size == 0 { start } else { start + size - 1 }
    };
    for (pi, p) in partitions.iter().enumerate() {
        let (Some(p_start), Some(_)) = (p.start_mib, p.size_mib) else {
            continue;
        };
        if p_start == 0 {
            continue;
        }
        for (oi, o) in partitions.iter().enumerate() {
            let (Some(o_start), Some(_)) = (o.start_mib, o.size_mib) else {
                continue;
            };
            if pi == oi || o_start == 0 {
                continue;
            }
            if (p_start >= o_start && p_start <= end(o))
                || (end(p) >= o_start && end(p) <= end(o))
                || (p_start < o_start && end(p) > end(o))
            {
                return Some(oi);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_templates() {
        assert_eq!(
            instance_template("a@b.service").as_deref(),
            Some("a@.service")
        );
        assert_eq!(
            instance_template("a@b@c.service").as_deref(),
            Some("a@.service")
        );
        assert_eq!(
            instance_template("@a@b.service").as_deref(),
            Some("@a@.service")
        );
        assert_eq!(instance_template("a@.service"), None);
        assert_eq!(instance_template("@x.service"), None);
        assert_eq!(instance_template("a.service"), None);
    }

    #[test]
    fn duplicates_are_reported_after_the_first() {
        let mut config = Config::default();
        for path in ["/a", "/a", "/b"] {
            config.storage.files.push(File {
                node: Node {
                    path: path.into(),
                    ..Node::default()
                },
                ..File::default()
            });
        }
        config.storage.directories.push(Directory {
            node: Node {
                path: "/b".into(),
                ..Node::default()
            },
            mode: None,
        });
        let entries = validate_dups(&config);
        let paths: Vec<String> = entries.iter().map(|e| e.path.to_string()).collect();
        assert_eq!(paths, vec!["$.storage.files.1", "$.storage.files.2"]);
    }

    #[test]
    fn paths_and_units() {
        let mut config = Config::default();
        config.storage.files.push(File {
            node: Node {
                path: "etc/relative".into(),
                ..Node::default()
            },
            contents: Resource {
                source: Some("http://[::1".into()),
                ..Resource::default()
            },
            ..File::default()
        });
        config.systemd.units.push(Unit {
            name: "fleet-agent".into(),
            contents: Some("[Service]\nExecStart=/bin/true\n".into()),
            ..Unit::default()
        });
        let report = validate(&config, IgnitionVersion::V3_3);
        let lines: Vec<String> = report
            .entries
            .iter()
            .map(|e| format!("{}: {}", e.path, e.message))
            .collect();
        assert_eq!(
            lines,
            vec![
                "$.storage.files.0.path: path not absolute",
                "$.storage.files.0.contents.source: unable to parse url",
                "$.systemd.units.0.name: invalid systemd unit extension",
            ]
        );
    }
}
