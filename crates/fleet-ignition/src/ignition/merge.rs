//! Merging configs by Ignition's rules (coreos/ignition config/merge): a parent and a child,
//! structs merged field by field with the child winning, pointers replaced only when the child
//! sets them, keyed lists merged entry by entry in place with the remaining child entries
//! appended, some lists simply concatenated, and files/directories/links sharing one key space.
//! Optionally records upstream's merge transcript, which Butane uses to map diagnostics back.

use std::collections::HashMap;

use super::model::*;
use super::reflect::{Reflect, Value};
use crate::report::PathElement;

/// Merge `child` into `parent` as Ignition merges a child config into its parent.
pub fn merge(parent: &Config, child: &Config) -> Config {
    let mut m = Merger::new(false);
    m.config(parent, child)
}

/// One transcript line: a result path and where its value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mapping {
    pub(crate) from_child: bool,
    pub(crate) from: Vec<PathElement>,
    pub(crate) to: Vec<PathElement>,
}

/// Merge and return upstream's transcript (children before parents, as Ignition lists them).
pub(crate) fn merge_transcribed(parent: &Config, child: &Config) -> (Config, Vec<Mapping>) {
    let mut m = Merger::new(true);
    let result = m.config(parent, child);
    (result, m.mappings)
}

struct Merger {
    record: bool,
    mappings: Vec<Mapping>,
    parent: Vec<PathElement>,
    child: Vec<PathElement>,
    result: Vec<PathElement>,
}

fn field(name: &'static str) -> PathElement {
    PathElement::field(name)
}

impl Merger {
    fn new(record: bool) -> Self {
        Self {
            record,
            mappings: Vec::new(),
            parent: Vec::new(),
            child: Vec::new(),
            result: Vec::new(),
        }
    }

    fn push(&mut self, name: &'static str) {
        self.parent.push(field(name));
        self.child.push(field(name));
        self.result.push(field(name));
    }

    fn pop(&mut self) {
        self.parent.pop();
        self.child.pop();
        self.result.pop();
    }

    fn one(&mut self, from_child: bool, from: &[PathElement], to: &[PathElement]) {
        if self.record {
            self.mappings.push(Mapping {
                from_child,
                from: from.to_vec(),
                to: to.to_vec(),
            });
        }
    }

    fn one_parent(&mut self) {
        if self.record {
            let (from, to) = (self.parent.clone(), self.result.clone());
            self.one(false, &from, &to);
        }
    }

    fn one_child(&mut self) {
        if self.record {
            let (from, to) = (self.child.clone(), self.result.clone());
            self.one(true, &from, &to);
        }
    }

    /// Go's `transcribe`: record every populated leaf of `value` (taken wholesale from one side).
    fn transcribe(&mut self, from_child: bool, value: &Value<'_>, embedded: bool) -> bool {
        if !self.record {
            return false;
        }
        let mut from = if from_child {
            self.child.clone()
        } else {
            self.parent.clone()
        };
        let mut to = self.result.clone();
        transcribe_into(
            &mut self.mappings,
            from_child,
            &mut from,
            &mut to,
            value,
            embedded,
        )
    }

    fn prim<T: Clone + IsZero>(&mut self, name: &'static str, _parent: &T, child: &T) -> T {
        self.push(name);
        if !child.is_zero() {
            self.one_child();
        }
        self.pop();
        child.clone()
    }

    fn opt<T: Clone>(
        &mut self,
        name: &'static str,
        parent: &Option<T>,
        child: &Option<T>,
    ) -> Option<T> {
        self.push(name);
        let result = match child {
            None => {
                if parent.is_some() {
                    self.one_parent();
                }
                parent.clone()
            }
            Some(_) => {
                self.one_child();
                child.clone()
            }
        };
        self.pop();
        result
    }

    fn strukt<T: Clone + IsZero + Reflect>(
        &mut self,
        name: &'static str,
        parent: &T,
        child: &T,
        merge: impl FnOnce(&mut Self, &T, &T) -> T,
    ) -> T {
        self.push(name);
        let result = if child.is_zero() {
            self.transcribe(false, &Value::Struct(parent), false);
            parent.clone()
        } else if parent.is_zero() {
            self.transcribe(true, &Value::Struct(child), false);
            child.clone()
        } else {
            let merged = merge(self, parent, child);
            self.one_parent();
            self.one_child();
            merged
        };
        self.pop();
        result
    }

    /// An embedded struct (`Node`): same rules, no path element and no mapping of its own.
    fn embedded(&mut self, parent: &Node, child: &Node) -> Node {
        if child.is_zero() {
            self.transcribe(false, &Value::Embedded(parent), true);
            parent.clone()
        } else if parent.is_zero() {
            self.transcribe(true, &Value::Embedded(child), true);
            child.clone()
        } else {
            self.node(parent, child)
        }
    }

    /// A Go pointer to a struct (spec 3.2.0's clevis): merged when both are set.
    fn opt_struct<T: Clone + Reflect>(
        &mut self,
        name: &'static str,
        parent: &Option<T>,
        child: &Option<T>,
        merge: impl FnOnce(&mut Self, &T, &T) -> T,
    ) -> Option<T> {
        self.push(name);
        let result = match (parent, child) {
            (Some(p), Some(c)) => {
                let merged = merge(self, p, c);
                self.one_parent();
                self.one_child();
                Some(merged)
            }
            (_, None) => {
                if let Some(p) = parent {
                    self.transcribe(false, &Value::Struct(p), false);
                }
                parent.clone()
            }
            (_, Some(c)) => {
                self.transcribe(true, &Value::Struct(c), false);
                child.clone()
            }
        };
        self.pop();
        result
    }

    /// A list concatenated (IgnoreDuplicates).
    fn appended<T: Clone + Reflect>(
        &mut self,
        name: &'static str,
        parent: &[T],
        child: &[T],
    ) -> Vec<T> {
        let mut result = Vec::with_capacity(parent.len() + child.len());
        self.push(name);
        for (i, item) in parent.iter().enumerate() {
            self.parent.push(PathElement::Index(i));
            self.result.push(PathElement::Index(result.len()));
            self.transcribe(false, &Value::Struct(item), false);
            self.parent.pop();
            self.result.pop();
            result.push(item.clone());
        }
        for (i, item) in child.iter().enumerate() {
            self.child.push(PathElement::Index(i));
            self.result.push(PathElement::Index(result.len()));
            self.transcribe(true, &Value::Struct(item), false);
            self.child.pop();
            self.result.pop();
            result.push(item.clone());
        }
        if !parent.is_empty() {
            self.one_parent();
        }
        if !child.is_empty() {
            self.one_child();
        }
        self.pop();
        result
    }

    fn appended_strings(
        &mut self,
        name: &'static str,
        parent: &[String],
        child: &[String],
    ) -> Vec<String> {
        let mut result = Vec::with_capacity(parent.len() + child.len());
        self.push(name);
        for (i, item) in parent.iter().enumerate() {
            if !item.is_empty() {
                let from = with(&self.parent, PathElement::Index(i));
                let to = with(&self.result, PathElement::Index(result.len()));
                self.one(false, &from, &to);
            }
            result.push(item.clone());
        }
        for (i, item) in child.iter().enumerate() {
            if !item.is_empty() {
                let from = with(&self.child, PathElement::Index(i));
                let to = with(&self.result, PathElement::Index(result.len()));
                self.one(true, &from, &to);
            }
            result.push(item.clone());
        }
        if !parent.is_empty() {
            self.one_parent();
        }
        if !child.is_empty() {
            self.one_child();
        }
        self.pop();
        result
    }

    /// A keyed list: `child_keys` maps every key of the child's lists sharing this list's
    /// handle to (list name, index), the last entry winning as in Go's map.
    #[expect(
        clippy::too_many_arguments,
        reason = "mirrors upstream's mergeStruct slice case"
    )]
    fn keyed<T: Clone>(
        &mut self,
        name: &'static str,
        parent: &[T],
        child: &[T],
        child_keys: &HashMap<String, (&'static str, usize)>,
        key: impl Fn(&T) -> String,
        mut merge_item: impl FnMut(&mut Self, &T, &T) -> Option<T>,
        transcribe_item: impl Fn(&mut Self, bool, &T),
    ) -> Vec<T> {
        if parent.is_empty() && child.is_empty() {
            return Vec::new();
        }
        let mut result = Vec::with_capacity(parent.len() + child.len());
        self.push(name);
        let parent_keys: Vec<String> = parent.iter().map(&key).collect();
        let mut from_parent = false;
        let mut from_child = false;
        for (i, item) in parent.iter().enumerate() {
            let k = &parent_keys[i];
            match child_keys.get(k) {
                Some((list, child_index)) if *list == name => {
                    from_parent = true;
                    from_child = true;
                    let child_item = &child[*child_index];
                    self.parent.push(PathElement::Index(i));
                    self.child.push(PathElement::Index(*child_index));
                    self.result.push(PathElement::Index(result.len()));
                    if let Some(merged) = merge_item(self, item, child_item) {
                        result.push(merged);
                    }
                    self.parent.pop();
                    self.child.pop();
                    self.result.pop();
                }
                Some(_) => {}
                None => {
                    self.parent.push(PathElement::Index(i));
                    self.result.push(PathElement::Index(result.len()));
                    transcribe_item(self, false, item);
                    self.parent.pop();
                    self.result.pop();
                    result.push(item.clone());
                    from_parent = true;
                }
            }
        }
        for (i, item) in child.iter().enumerate() {
            if !parent_keys.contains(&key(item)) {
                self.child.push(PathElement::Index(i));
                self.result.push(PathElement::Index(result.len()));
                transcribe_item(self, true, item);
                self.child.pop();
                self.result.pop();
                result.push(item.clone());
                from_child = true;
            }
        }
        if from_parent {
            self.one_parent();
        }
        if from_child {
            self.one_child();
        }
        self.pop();
        result
    }

    fn keyed_structs<T: Clone + Reflect>(
        &mut self,
        name: &'static str,
        parent: &[T],
        child: &[T],
        child_keys: &HashMap<String, (&'static str, usize)>,
        merge: impl Fn(&mut Self, &T, &T) -> T,
    ) -> Vec<T> {
        self.keyed(
            name,
            parent,
            child,
            child_keys,
            |t| t.key().into_owned(),
            |m, p, c| {
                let merged = merge(m, p, c);
                m.one_parent();
                m.one_child();
                Some(merged)
            },
            |m, from_child, t| {
                m.transcribe(from_child, &Value::Struct(t), false);
            },
        )
    }

    fn keyed_strings(
        &mut self,
        name: &'static str,
        parent: &[String],
        child: &[String],
        child_keys: &HashMap<String, (&'static str, usize)>,
    ) -> Vec<String> {
        self.keyed(
            name,
            parent,
            child,
            child_keys,
            Clone::clone,
            |m, _, c| {
                if !c.is_empty() {
                    m.one_child();
                }
                Some(c.clone())
            },
            |m, from_child, s| {
                if !s.is_empty() {
                    if from_child {
                        m.one_child();
                    } else {
                        m.one_parent();
                    }
                }
            },
        )
    }

    fn simple_keys<T: Reflect>(
        name: &'static str,
        child: &[T],
    ) -> HashMap<String, (&'static str, usize)> {
        child
            .iter()
            .enumerate()
            .map(|(i, t)| (t.key().into_owned(), (name, i)))
            .collect()
    }

    fn string_keys(name: &'static str, child: &[String]) -> HashMap<String, (&'static str, usize)> {
        child
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), (name, i)))
            .collect()
    }

    fn structs<T: Clone + Reflect>(
        &mut self,
        name: &'static str,
        parent: &[T],
        child: &[T],
        merge: impl Fn(&mut Self, &T, &T) -> T,
    ) -> Vec<T> {
        let keys = Self::simple_keys(name, child);
        self.keyed_structs(name, parent, child, &keys, merge)
    }

    fn strings(&mut self, name: &'static str, parent: &[String], child: &[String]) -> Vec<String> {
        let keys = Self::string_keys(name, child);
        self.keyed_strings(name, parent, child, &keys)
    }

    // ---- the model ------------------------------------------------------------------------

    fn config(&mut self, p: &Config, c: &Config) -> Config {
        Config {
            ignition: self.strukt("ignition", &p.ignition, &c.ignition, Self::ignition),
            kernel_arguments: self.strukt(
                "kernelArguments",
                &p.kernel_arguments,
                &c.kernel_arguments,
                Self::kernel_arguments,
            ),
            passwd: self.strukt("passwd", &p.passwd, &c.passwd, Self::passwd),
            storage: self.strukt("storage", &p.storage, &c.storage, Self::storage),
            systemd: self.strukt("systemd", &p.systemd, &c.systemd, |m, p, c| Systemd {
                units: m.structs("units", &p.units, &c.units, Self::unit),
            }),
        }
    }

    fn ignition(&mut self, p: &Ignition, c: &Ignition) -> Ignition {
        Ignition {
            config: self.strukt("config", &p.config, &c.config, |m, p, c| IgnitionConfig {
                merge: m.structs("merge", &p.merge, &c.merge, Self::resource),
                replace: m.strukt("replace", &p.replace, &c.replace, Self::resource),
            }),
            proxy: self.strukt("proxy", &p.proxy, &c.proxy, |m, p, c| Proxy {
                http_proxy: m.opt("httpProxy", &p.http_proxy, &c.http_proxy),
                https_proxy: m.opt("httpsProxy", &p.https_proxy, &c.https_proxy),
                no_proxy: m.strings("noProxy", &p.no_proxy, &c.no_proxy),
            }),
            security: self.strukt("security", &p.security, &c.security, |m, p, c| Security {
                tls: m.strukt("tls", &p.tls, &c.tls, |m, p, c| Tls {
                    certificate_authorities: m.structs(
                        "certificateAuthorities",
                        &p.certificate_authorities,
                        &c.certificate_authorities,
                        Self::resource,
                    ),
                }),
            }),
            timeouts: self.strukt("timeouts", &p.timeouts, &c.timeouts, |m, p, c| Timeouts {
                http_response_headers: m.opt(
                    "httpResponseHeaders",
                    &p.http_response_headers,
                    &c.http_response_headers,
                ),
                http_total: m.opt("httpTotal", &p.http_total, &c.http_total),
            }),
        }
    }

    fn resource(&mut self, p: &Resource, c: &Resource) -> Resource {
        let header_keys = Self::simple_keys("httpHeaders", &c.http_headers);
        Resource {
            compression: self.opt("compression", &p.compression, &c.compression),
            http_headers: self.keyed(
                "httpHeaders",
                &p.http_headers,
                &c.http_headers,
                &header_keys,
                |h| h.name.clone(),
                |m, p, c| {
                    // A child header without a value removes the parent's.
                    c.value.as_ref()?;
                    let merged = HttpHeader {
                        name: m.prim("name", &p.name, &c.name),
                        value: m.opt("value", &p.value, &c.value),
                    };
                    m.one_parent();
                    m.one_child();
                    Some(merged)
                },
                |m, from_child, h| {
                    m.transcribe(from_child, &Value::Struct(h), false);
                },
            ),
            source: self.opt("source", &p.source, &c.source),
            verification: self.strukt(
                "verification",
                &p.verification,
                &c.verification,
                |m, p, c| Verification {
                    hash: m.opt("hash", &p.hash, &c.hash),
                },
            ),
        }
    }

    fn kernel_arguments(&mut self, p: &KernelArguments, c: &KernelArguments) -> KernelArguments {
        let mut keys: HashMap<String, (&'static str, usize)> = HashMap::new();
        for (i, s) in c.should_exist.iter().enumerate() {
            keys.insert(s.clone(), ("shouldExist", i));
        }
        for (i, s) in c.should_not_exist.iter().enumerate() {
            keys.insert(s.clone(), ("shouldNotExist", i));
        }
        KernelArguments {
            should_exist: self.keyed_strings(
                "shouldExist",
                &p.should_exist,
                &c.should_exist,
                &keys,
            ),
            should_not_exist: self.keyed_strings(
                "shouldNotExist",
                &p.should_not_exist,
                &c.should_not_exist,
                &keys,
            ),
        }
    }

    fn passwd(&mut self, p: &Passwd, c: &Passwd) -> Passwd {
        Passwd {
            groups: self.structs("groups", &p.groups, &c.groups, |m, p, c| PasswdGroup {
                gid: m.opt("gid", &p.gid, &c.gid),
                name: m.prim("name", &p.name, &c.name),
                password_hash: m.opt("passwordHash", &p.password_hash, &c.password_hash),
                should_exist: m.opt("shouldExist", &p.should_exist, &c.should_exist),
                system: m.opt("system", &p.system, &c.system),
            }),
            users: self.structs("users", &p.users, &c.users, |m, p, c| PasswdUser {
                gecos: m.opt("gecos", &p.gecos, &c.gecos),
                groups: m.strings("groups", &p.groups, &c.groups),
                home_dir: m.opt("homeDir", &p.home_dir, &c.home_dir),
                name: m.prim("name", &p.name, &c.name),
                no_create_home: m.opt("noCreateHome", &p.no_create_home, &c.no_create_home),
                no_log_init: m.opt("noLogInit", &p.no_log_init, &c.no_log_init),
                no_user_group: m.opt("noUserGroup", &p.no_user_group, &c.no_user_group),
                password_hash: m.opt("passwordHash", &p.password_hash, &c.password_hash),
                primary_group: m.opt("primaryGroup", &p.primary_group, &c.primary_group),
                ssh_authorized_keys: m.strings(
                    "sshAuthorizedKeys",
                    &p.ssh_authorized_keys,
                    &c.ssh_authorized_keys,
                ),
                shell: m.opt("shell", &p.shell, &c.shell),
                should_exist: m.opt("shouldExist", &p.should_exist, &c.should_exist),
                system: m.opt("system", &p.system, &c.system),
                uid: m.opt("uid", &p.uid, &c.uid),
            }),
        }
    }

    fn storage(&mut self, p: &Storage, c: &Storage) -> Storage {
        let mut nodes: HashMap<String, (&'static str, usize)> = HashMap::new();
        for (i, d) in c.directories.iter().enumerate() {
            nodes.insert(d.node.path.clone(), ("directories", i));
        }
        for (i, f) in c.files.iter().enumerate() {
            nodes.insert(f.node.path.clone(), ("files", i));
        }
        for (i, l) in c.links.iter().enumerate() {
            nodes.insert(l.node.path.clone(), ("links", i));
        }
        Storage {
            directories: self.keyed_structs(
                "directories",
                &p.directories,
                &c.directories,
                &nodes,
                |m, p, c| Directory {
                    node: m.embedded(&p.node, &c.node),
                    mode: m.opt("mode", &p.mode, &c.mode),
                },
            ),
            disks: self.structs("disks", &p.disks, &c.disks, |m, p, c| Disk {
                device: m.prim("device", &p.device, &c.device),
                partitions: m.structs("partitions", &p.partitions, &c.partitions, Self::partition),
                wipe_table: m.opt("wipeTable", &p.wipe_table, &c.wipe_table),
            }),
            files: self.keyed_structs("files", &p.files, &c.files, &nodes, Self::file),
            filesystems: self.structs("filesystems", &p.filesystems, &c.filesystems, |m, p, c| {
                Filesystem {
                    device: m.prim("device", &p.device, &c.device),
                    format: m.opt("format", &p.format, &c.format),
                    label: m.opt("label", &p.label, &c.label),
                    mount_options: m.appended_strings(
                        "mountOptions",
                        &p.mount_options,
                        &c.mount_options,
                    ),
                    options: m.appended_strings("options", &p.options, &c.options),
                    path: m.opt("path", &p.path, &c.path),
                    uuid: m.opt("uuid", &p.uuid, &c.uuid),
                    wipe_filesystem: m.opt(
                        "wipeFilesystem",
                        &p.wipe_filesystem,
                        &c.wipe_filesystem,
                    ),
                }
            }),
            links: self.keyed_structs("links", &p.links, &c.links, &nodes, |m, p, c| Link {
                node: m.embedded(&p.node, &c.node),
                hard: m.opt("hard", &p.hard, &c.hard),
                target: m.opt("target", &p.target, &c.target),
            }),
            luks: self.structs("luks", &p.luks, &c.luks, Self::luks),
            raid: self.structs("raid", &p.raid, &c.raid, |m, p, c| Raid {
                devices: m.strings("devices", &p.devices, &c.devices),
                level: m.opt("level", &p.level, &c.level),
                name: m.prim("name", &p.name, &c.name),
                options: m.appended_strings("options", &p.options, &c.options),
                spares: m.opt("spares", &p.spares, &c.spares),
            }),
        }
    }

    fn node(&mut self, p: &Node, c: &Node) -> Node {
        Node {
            group: self.strukt("group", &p.group, &c.group, |m, p, c| NodeGroup {
                id: m.opt("id", &p.id, &c.id),
                name: m.opt("name", &p.name, &c.name),
            }),
            overwrite: self.opt("overwrite", &p.overwrite, &c.overwrite),
            path: self.prim("path", &p.path, &c.path),
            user: self.strukt("user", &p.user, &c.user, |m, p, c| NodeUser {
                id: m.opt("id", &p.id, &c.id),
                name: m.opt("name", &p.name, &c.name),
            }),
        }
    }

    fn file(&mut self, p: &File, c: &File) -> File {
        let node = self.embedded(&p.node, &c.node);
        // FileEmbedded1 is merged as a whole struct first: taken from one side when the other is zero.
        let p_rest_zero = p.append.is_empty() && p.contents.is_zero() && p.mode.is_none();
        let c_rest_zero = c.append.is_empty() && c.contents.is_zero() && c.mode.is_none();
        if c_rest_zero || p_rest_zero {
            let from = if c_rest_zero { p } else { c };
            let rest = File {
                node: Node::default(),
                append: from.append.clone(),
                contents: from.contents.clone(),
                mode: from.mode,
            };
            self.transcribe(!c_rest_zero, &Value::Embedded(&FileRest(&rest)), true);
            return File { node, ..rest };
        }
        File {
            node,
            append: self.appended("append", &p.append, &c.append),
            contents: self.strukt("contents", &p.contents, &c.contents, Self::resource),
            mode: self.opt("mode", &p.mode, &c.mode),
        }
    }

    fn partition(&mut self, p: &Partition, c: &Partition) -> Partition {
        Partition {
            guid: self.opt("guid", &p.guid, &c.guid),
            label: self.opt("label", &p.label, &c.label),
            number: self.prim("number", &p.number, &c.number),
            resize: self.opt("resize", &p.resize, &c.resize),
            should_exist: self.opt("shouldExist", &p.should_exist, &c.should_exist),
            size_mib: self.opt("sizeMiB", &p.size_mib, &c.size_mib),
            start_mib: self.opt("startMiB", &p.start_mib, &c.start_mib),
            type_guid: self.opt("typeGuid", &p.type_guid, &c.type_guid),
            wipe_partition_entry: self.opt(
                "wipePartitionEntry",
                &p.wipe_partition_entry,
                &c.wipe_partition_entry,
            ),
        }
    }

    fn luks(&mut self, p: &Luks, c: &Luks) -> Luks {
        Luks {
            cex: self.strukt("cex", &p.cex, &c.cex, |m, p, c| Cex {
                enabled: m.opt("enabled", &p.enabled, &c.enabled),
            }),
            clevis: self.opt_struct("clevis", &p.clevis, &c.clevis, |m, p, c| Clevis {
                custom: m.opt_struct("custom", &p.custom, &c.custom, |m, p, c| ClevisCustom {
                    config: m.opt("config", &p.config, &c.config),
                    needs_network: m.opt("needsNetwork", &p.needs_network, &c.needs_network),
                    pin: m.opt("pin", &p.pin, &c.pin),
                }),
                tang: m.structs("tang", &p.tang, &c.tang, |m, p, c| Tang {
                    advertisement: m.opt("advertisement", &p.advertisement, &c.advertisement),
                    thumbprint: m.opt("thumbprint", &p.thumbprint, &c.thumbprint),
                    url: m.prim("url", &p.url, &c.url),
                }),
                threshold: m.opt("threshold", &p.threshold, &c.threshold),
                tpm2: m.opt("tpm2", &p.tpm2, &c.tpm2),
            }),
            device: self.opt("device", &p.device, &c.device),
            discard: self.opt("discard", &p.discard, &c.discard),
            key_file: self.strukt("keyFile", &p.key_file, &c.key_file, Self::resource),
            label: self.opt("label", &p.label, &c.label),
            name: self.prim("name", &p.name, &c.name),
            open_options: self.strings("openOptions", &p.open_options, &c.open_options),
            options: self.appended_strings("options", &p.options, &c.options),
            uuid: self.opt("uuid", &p.uuid, &c.uuid),
            wipe_volume: self.opt("wipeVolume", &p.wipe_volume, &c.wipe_volume),
        }
    }

    fn unit(&mut self, p: &Unit, c: &Unit) -> Unit {
        Unit {
            contents: self.opt("contents", &p.contents, &c.contents),
            dropins: self.structs("dropins", &p.dropins, &c.dropins, |m, p, c| Dropin {
                contents: m.opt("contents", &p.contents, &c.contents),
                name: m.prim("name", &p.name, &c.name),
            }),
            enabled: self.opt("enabled", &p.enabled, &c.enabled),
            mask: self.opt("mask", &p.mask, &c.mask),
            name: self.prim("name", &p.name, &c.name),
        }
    }
}

/// The non-`Node` half of a file (Ignition's `FileEmbedded1`), for transcribing it whole.
struct FileRest<'a>(&'a File);

impl Reflect for FileRest<'_> {
    fn fields(&self) -> Vec<super::reflect::Field<'_>> {
        self.0
            .fields()
            .into_iter()
            .filter(|f| !matches!(f.value, Value::Embedded(_)))
            .collect()
    }
}

fn with(path: &[PathElement], element: PathElement) -> Vec<PathElement> {
    let mut p = path.to_vec();
    p.push(element);
    p
}

/// Go's `transcribe`; `embedded` is the field's `Anonymous` flag.
fn transcribe_into(
    out: &mut Vec<Mapping>,
    from_child: bool,
    from: &mut Vec<PathElement>,
    to: &mut Vec<PathElement>,
    value: &Value<'_>,
    embedded: bool,
) -> bool {
    let mut record = |from: &[PathElement], to: &[PathElement]| {
        out.push(Mapping {
            from_child,
            from: from.to_vec(),
            to: to.to_vec(),
        });
    };
    match value {
        Value::Primitive { zero } => {
            if *zero {
                return false;
            }
            record(from, to);
            true
        }
        Value::Pointer { set } => {
            if !*set {
                return false;
            }
            record(from, to);
            true
        }
        Value::StructPointer(None) => false,
        Value::StructPointer(Some(s)) => {
            transcribe_into(out, from_child, from, to, &Value::Struct(*s), embedded)
        }
        Value::Struct(s) | Value::Embedded(s) => {
            let mut any = false;
            for f in s.fields() {
                let is_embedded = matches!(f.value, Value::Embedded(_));
                if !is_embedded {
                    from.push(PathElement::field(f.name));
                    to.push(PathElement::field(f.name));
                }
                any |= transcribe_into(out, from_child, from, to, &f.value, is_embedded);
                if !is_embedded {
                    from.pop();
                    to.pop();
                }
            }
            let embedded = embedded || matches!(value, Value::Embedded(_));
            if any && !embedded {
                out.push(Mapping {
                    from_child,
                    from: from.clone(),
                    to: to.clone(),
                });
            }
            any
        }
        Value::Strings(list) => {
            let mut any = false;
            for (i, s) in list.iter().enumerate() {
                if !s.is_empty() {
                    from.push(PathElement::Index(i));
                    to.push(PathElement::Index(i));
                    out.push(Mapping {
                        from_child,
                        from: from.clone(),
                        to: to.clone(),
                    });
                    from.pop();
                    to.pop();
                    any = true;
                }
            }
            if any {
                out.push(Mapping {
                    from_child,
                    from: from.clone(),
                    to: to.clone(),
                });
            }
            any
        }
        Value::Structs(list) => {
            let mut any = false;
            for (i, s) in list.iter().enumerate() {
                from.push(PathElement::Index(i));
                to.push(PathElement::Index(i));
                any |= transcribe_into(out, from_child, from, to, &Value::Struct(*s), false);
                from.pop();
                to.pop();
            }
            if any {
                out.push(Mapping {
                    from_child,
                    from: from.clone(),
                    to: to.clone(),
                });
            }
            any
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, mode: Option<i64>) -> File {
        File {
            node: Node {
                path: path.into(),
                ..Node::default()
            },
            mode,
            ..File::default()
        }
    }

    #[test]
    fn child_wins_in_place_and_extras_are_appended() {
        let mut parent = Config::default();
        parent.storage.files = vec![file("/a", Some(0o644)), file("/b", Some(0o600))];
        let mut child = Config::default();
        child.storage.files = vec![file("/c", None), file("/a", Some(0o755))];
        let merged = merge(&parent, &child);
        let got: Vec<_> = merged
            .storage
            .files
            .iter()
            .map(|f| (f.node.path.as_str(), f.mode))
            .collect();
        assert_eq!(
            got,
            vec![("/a", Some(0o755)), ("/b", Some(0o600)), ("/c", None)]
        );
    }

    #[test]
    fn pointers_only_replaced_when_the_child_sets_them() {
        let mut parent = Config::default();
        parent.storage.files = vec![file("/a", Some(0o644))];
        parent.storage.files[0].node.overwrite = Some(true);
        let mut child = Config::default();
        child.storage.files = vec![file("/a", None)];
        child.storage.files[0].node.user.name = Some("core".into());
        let merged = merge(&parent, &child);
        let f = &merged.storage.files[0];
        assert_eq!(f.mode, Some(0o644));
        assert_eq!(f.node.overwrite, Some(true));
        assert_eq!(f.node.user.name.as_deref(), Some("core"));
    }

    #[test]
    fn files_directories_and_links_share_one_key_space() {
        let mut parent = Config::default();
        parent.storage.files = vec![file("/x", Some(0o644))];
        let mut child = Config::default();
        child.storage.directories = vec![Directory {
            node: Node {
                path: "/x".into(),
                ..Node::default()
            },
            mode: Some(0o755),
        }];
        let merged = merge(&parent, &child);
        assert!(merged.storage.files.is_empty());
        assert_eq!(merged.storage.directories.len(), 1);
    }

    #[test]
    fn appended_lists_and_string_lists() {
        let mut parent = Config::default();
        parent.storage.filesystems = vec![Filesystem {
            device: "/dev/a".into(),
            mount_options: vec!["noatime".into()],
            ..Filesystem::default()
        }];
        parent.passwd.users = vec![PasswdUser {
            name: "core".into(),
            ssh_authorized_keys: vec!["k1".into(), "k2".into()],
            ..PasswdUser::default()
        }];
        parent.kernel_arguments.should_exist = vec!["quiet".into()];
        let mut child = Config::default();
        child.storage.filesystems = vec![Filesystem {
            device: "/dev/a".into(),
            mount_options: vec!["noatime".into()],
            ..Filesystem::default()
        }];
        child.passwd.users = vec![PasswdUser {
            name: "core".into(),
            ssh_authorized_keys: vec!["k3".into(), "k1".into()],
            ..PasswdUser::default()
        }];
        child.kernel_arguments.should_not_exist = vec!["quiet".into()];
        let merged = merge(&parent, &child);
        assert_eq!(
            merged.storage.filesystems[0].mount_options,
            vec!["noatime", "noatime"]
        );
        assert_eq!(
            merged.passwd.users[0].ssh_authorized_keys,
            vec!["k1", "k2", "k3"]
        );
        assert!(merged.kernel_arguments.should_exist.is_empty());
        assert_eq!(merged.kernel_arguments.should_not_exist, vec!["quiet"]);
    }

    #[test]
    fn header_without_value_removes_the_parents() {
        let header = |v: Option<&str>| HttpHeader {
            name: "Authorization".into(),
            value: v.map(Into::into),
        };
        let mut parent = Config::default();
        parent.ignition.config.replace.http_headers = vec![header(Some("a"))];
        parent.ignition.config.replace.source = Some("https://x".into());
        let mut child = Config::default();
        child.ignition.config.replace.http_headers = vec![header(None)];
        let merged = merge(&parent, &child);
        assert!(merged.ignition.config.replace.http_headers.is_empty());
        assert_eq!(
            merged.ignition.config.replace.source.as_deref(),
            Some("https://x")
        );
    }

    #[test]
    fn transcript_maps_results_to_parent_and_child() {
        let mut parent = Config::default();
        parent.storage.files = vec![file("/p", None)];
        let mut child = Config::default();
        child.storage.files = vec![file("/c", Some(0o644))];
        let (merged, mappings) = merge_transcribed(&parent, &child);
        assert_eq!(merged.storage.files.len(), 2);
        let show = |p: &[PathElement]| {
            p.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(".")
        };
        let lines: Vec<String> = mappings
            .iter()
            .map(|m| {
                format!(
                    "{}:{} -> {}",
                    if m.from_child { "child" } else { "parent" },
                    show(&m.from),
                    show(&m.to)
                )
            })
            .collect();
        assert!(lines.contains(&"child:storage.files.0.mode -> storage.files.1.mode".to_owned()));
        assert!(lines.contains(&"parent:storage.files.0.path -> storage.files.0.path".to_owned()));
        assert!(lines.contains(&"child:storage.files.0 -> storage.files.1".to_owned()));
    }
}
