//! A small field-by-field view of the Ignition model, standing in for the Go reflection that
//! upstream's duplicate check (config/validate ValidateDups), merge transcripts (config/merge)
//! and translation bookkeeping (butane translate.getAllPaths) walk over.

use std::borrow::Cow;

use super::model::*;

/// One field of a struct, by its JSON name, in Go declaration order.
pub(crate) struct Field<'a> {
    pub(crate) name: &'static str,
    pub(crate) value: Value<'a>,
    /// Lists appended rather than keyed when merging, and not checked for duplicates.
    pub(crate) ignore_dups: bool,
    /// Lists that share duplicate detection and merging (`Node` for files, directories and
    /// links; `KernelArgument` for both kernel argument lists).
    pub(crate) handle: Option<&'static str>,
}

pub(crate) enum Value<'a> {
    /// A Go value of primitive kind (string, int, bool): `zero` when it is the zero value.
    Primitive { zero: bool },
    /// A Go pointer to a primitive.
    Pointer { set: bool },
    /// A Go struct value.
    Struct(&'a dyn Reflect),
    /// A Go pointer to a struct (spec 3.2.0's `Clevis` and `Custom`).
    StructPointer(Option<&'a dyn Reflect>),
    /// A struct embedded in its parent (`Node` in files, directories and links).
    Embedded(&'a dyn Reflect),
    /// A list of strings (keyed by the string itself).
    Strings(&'a [String]),
    /// A list of keyed structs.
    Structs(Vec<&'a dyn Reflect>),
}

pub(crate) trait Reflect {
    fn fields(&self) -> Vec<Field<'_>>;
    /// Ignition's `Key()` for list elements.
    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed("")
    }
}

fn field<'a>(name: &'static str, value: Value<'a>) -> Field<'a> {
    Field {
        name,
        value,
        ignore_dups: false,
        handle: None,
    }
}

fn prim_str(s: &str) -> Value<'static> {
    Value::Primitive { zero: s.is_empty() }
}

fn ptr<T>(o: &Option<T>) -> Value<'static> {
    Value::Pointer { set: o.is_some() }
}

fn structs<T: Reflect>(list: &[T]) -> Value<'_> {
    Value::Structs(list.iter().map(|x| x as &dyn Reflect).collect())
}

fn ignored(mut f: Field<'_>) -> Field<'_> {
    f.ignore_dups = true;
    f
}

fn handled<'a>(mut f: Field<'a>, handle: &'static str) -> Field<'a> {
    f.handle = Some(handle);
    f
}

impl Reflect for Config {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            field("ignition", Value::Struct(&self.ignition)),
            field("kernelArguments", Value::Struct(&self.kernel_arguments)),
            field("passwd", Value::Struct(&self.passwd)),
            field("storage", Value::Struct(&self.storage)),
            field("systemd", Value::Struct(&self.systemd)),
        ]
    }
}

impl Reflect for Ignition {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            field("config", Value::Struct(&self.config)),
            field("proxy", Value::Struct(&self.proxy)),
            field("security", Value::Struct(&self.security)),
            field("timeouts", Value::Struct(&self.timeouts)),
        ]
    }
}

impl Reflect for IgnitionConfig {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            field("merge", structs(&self.merge)),
            field("replace", Value::Struct(&self.replace)),
        ]
    }
}

impl Reflect for Resource {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            field("compression", ptr(&self.compression)),
            field("httpHeaders", structs(&self.http_headers)),
            field("source", ptr(&self.source)),
            field("verification", Value::Struct(&self.verification)),
        ]
    }

    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.source.as_deref().unwrap_or(""))
    }
}

impl Reflect for HttpHeader {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            field("name", prim_str(&self.name)),
            field("value", ptr(&self.value)),
        ]
    }

    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.name)
    }
}

impl Reflect for Verification {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![field("hash", ptr(&self.hash))]
    }
}

impl Reflect for Proxy {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            field("httpProxy", ptr(&self.http_proxy)),
            field("httpsProxy", ptr(&self.https_proxy)),
            field("noProxy", Value::Strings(&self.no_proxy)),
        ]
    }
}

impl Reflect for Security {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![field("tls", Value::Struct(&self.tls))]
    }
}

impl Reflect for Tls {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![field(
            "certificateAuthorities",
            structs(&self.certificate_authorities),
        )]
    }
}

impl Reflect for Timeouts {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            field("httpResponseHeaders", ptr(&self.http_response_headers)),
            field("httpTotal", ptr(&self.http_total)),
        ]
    }
}

impl Reflect for KernelArguments {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            handled(
                field("shouldExist", Value::Strings(&self.should_exist)),
                "KernelArgument",
            ),
            handled(
                field("shouldNotExist", Value::Strings(&self.should_not_exist)),
                "KernelArgument",
            ),
        ]
    }
}

impl Reflect for Passwd {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            field("groups", structs(&self.groups)),
            field("users", structs(&self.users)),
        ]
    }
}

impl Reflect for PasswdGroup {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            field("gid", ptr(&self.gid)),
            field("name", prim_str(&self.name)),
            field("passwordHash", ptr(&self.password_hash)),
            field("shouldExist", ptr(&self.should_exist)),
            field("system", ptr(&self.system)),
        ]
    }

    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.name)
    }
}

impl Reflect for PasswdUser {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            field("gecos", ptr(&self.gecos)),
            field("groups", Value::Strings(&self.groups)),
            field("homeDir", ptr(&self.home_dir)),
            field("name", prim_str(&self.name)),
            field("noCreateHome", ptr(&self.no_create_home)),
            field("noLogInit", ptr(&self.no_log_init)),
            field("noUserGroup", ptr(&self.no_user_group)),
            field("passwordHash", ptr(&self.password_hash)),
            field("primaryGroup", ptr(&self.primary_group)),
            field(
                "sshAuthorizedKeys",
                Value::Strings(&self.ssh_authorized_keys),
            ),
            field("shell", ptr(&self.shell)),
            field("shouldExist", ptr(&self.should_exist)),
            field("system", ptr(&self.system)),
            field("uid", ptr(&self.uid)),
        ]
    }

    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.name)
    }
}

impl Reflect for Storage {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            handled(field("directories", structs(&self.directories)), "Node"),
            field("disks", structs(&self.disks)),
            handled(field("files", structs(&self.files)), "Node"),
            field("filesystems", structs(&self.filesystems)),
            handled(field("links", structs(&self.links)), "Node"),
            field("luks", structs(&self.luks)),
            field("raid", structs(&self.raid)),
        ]
    }
}

impl Reflect for Node {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            field("group", Value::Struct(&self.group)),
            field("overwrite", ptr(&self.overwrite)),
            field("path", prim_str(&self.path)),
            field("user", Value::Struct(&self.user)),
        ]
    }

    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.path)
    }
}

impl Reflect for NodeUser {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![field("id", ptr(&self.id)), field("name", ptr(&self.name))]
    }
}

impl Reflect for NodeGroup {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![field("id", ptr(&self.id)), field("name", ptr(&self.name))]
    }
}

impl Reflect for Directory {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            field("", Value::Embedded(&self.node)),
            field("mode", ptr(&self.mode)),
        ]
    }

    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.node.path)
    }
}

impl Reflect for File {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            field("", Value::Embedded(&self.node)),
            ignored(field("append", structs(&self.append))),
            field("contents", Value::Struct(&self.contents)),
            field("mode", ptr(&self.mode)),
        ]
    }

    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.node.path)
    }
}

impl Reflect for Link {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            field("", Value::Embedded(&self.node)),
            field("hard", ptr(&self.hard)),
            field("target", ptr(&self.target)),
        ]
    }

    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.node.path)
    }
}

impl Reflect for Disk {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            field("device", prim_str(&self.device)),
            field("partitions", structs(&self.partitions)),
            field("wipeTable", ptr(&self.wipe_table)),
        ]
    }

    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.device)
    }
}

impl Reflect for Partition {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            field("guid", ptr(&self.guid)),
            field("label", ptr(&self.label)),
            field(
                "number",
                Value::Primitive {
                    zero: self.number == 0,
                },
            ),
            field("resize", ptr(&self.resize)),
            field("shouldExist", ptr(&self.should_exist)),
            field("sizeMiB", ptr(&self.size_mib)),
            field("startMiB", ptr(&self.start_mib)),
            field("typeGuid", ptr(&self.type_guid)),
            field("wipePartitionEntry", ptr(&self.wipe_partition_entry)),
        ]
    }

    fn key(&self) -> Cow<'_, str> {
        if self.number != 0 {
            Cow::Owned(format!("number:{}", self.number))
        } else if let Some(label) = &self.label {
            Cow::Owned(format!("label:{label}"))
        } else {
            Cow::Borrowed("")
        }
    }
}

impl Reflect for Filesystem {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            field("device", prim_str(&self.device)),
            field("format", ptr(&self.format)),
            field("label", ptr(&self.label)),
            ignored(field("mountOptions", Value::Strings(&self.mount_options))),
            ignored(field("options", Value::Strings(&self.options))),
            field("path", ptr(&self.path)),
            field("uuid", ptr(&self.uuid)),
            field("wipeFilesystem", ptr(&self.wipe_filesystem)),
        ]
    }

    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.device)
    }
}

impl Reflect for Luks {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            field("cex", Value::Struct(&self.cex)),
            field(
                "clevis",
                Value::StructPointer(self.clevis.as_ref().map(|c| c as &dyn Reflect)),
            ),
            field("device", ptr(&self.device)),
            field("discard", ptr(&self.discard)),
            field("keyFile", Value::Struct(&self.key_file)),
            field("label", ptr(&self.label)),
            field("name", prim_str(&self.name)),
            field("openOptions", Value::Strings(&self.open_options)),
            ignored(field("options", Value::Strings(&self.options))),
            field("uuid", ptr(&self.uuid)),
            field("wipeVolume", ptr(&self.wipe_volume)),
        ]
    }

    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.name)
    }
}

impl Reflect for Cex {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![field("enabled", ptr(&self.enabled))]
    }
}

impl Reflect for Clevis {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            field(
                "custom",
                Value::StructPointer(self.custom.as_ref().map(|c| c as &dyn Reflect)),
            ),
            field("tang", structs(&self.tang)),
            field("threshold", ptr(&self.threshold)),
            field("tpm2", ptr(&self.tpm2)),
        ]
    }
}

impl Reflect for ClevisCustom {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            field("config", ptr(&self.config)),
            field("needsNetwork", ptr(&self.needs_network)),
            field("pin", ptr(&self.pin)),
        ]
    }
}

impl Reflect for Tang {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            field("advertisement", ptr(&self.advertisement)),
            field("thumbprint", ptr(&self.thumbprint)),
            field("url", prim_str(&self.url)),
        ]
    }

    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.url)
    }
}

impl Reflect for Raid {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            field("devices", Value::Strings(&self.devices)),
            field("level", ptr(&self.level)),
            field("name", prim_str(&self.name)),
            ignored(field("options", Value::Strings(&self.options))),
            field("spares", ptr(&self.spares)),
        ]
    }

    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.name)
    }
}

impl Reflect for Systemd {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![field("units", structs(&self.units))]
    }
}

impl Reflect for Unit {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            field("contents", ptr(&self.contents)),
            field("dropins", structs(&self.dropins)),
            field("enabled", ptr(&self.enabled)),
            field("mask", ptr(&self.mask)),
            field("name", prim_str(&self.name)),
        ]
    }

    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.name)
    }
}

impl Reflect for Dropin {
    fn fields(&self) -> Vec<Field<'_>> {
        vec![
            field("contents", ptr(&self.contents)),
            field("name", prim_str(&self.name)),
        ]
    }

    fn key(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.name)
    }
}

/// Butane's `getAllPaths(v, includeZeroFields=true)`: every field path under `value`, each
/// appended to `prefix`, children before their parents.
pub(crate) fn all_paths(
    value: &dyn Reflect,
    prefix: &mut Vec<crate::report::PathElement>,
    out: &mut Vec<Vec<crate::report::PathElement>>,
) {
    use crate::report::PathElement;
    for f in value.fields() {
        if let Value::Embedded(inner) = f.value {
            all_paths(inner, prefix, out);
            continue;
        }
        prefix.push(PathElement::field(f.name));
        match f.value {
            Value::Struct(inner) | Value::StructPointer(Some(inner)) => {
                all_paths(inner, prefix, out)
            }
            Value::Strings(items) => {
                for i in 0..items.len() {
                    prefix.push(PathElement::Index(i));
                    out.push(prefix.clone());
                    prefix.pop();
                }
            }
            Value::Structs(items) => {
                for (i, item) in items.into_iter().enumerate() {
                    prefix.push(PathElement::Index(i));
                    all_paths(item, prefix, out);
                    out.push(prefix.clone());
                    prefix.pop();
                }
            }
            _ => {}
        }
        out.push(prefix.clone());
        prefix.pop();
    }
}
