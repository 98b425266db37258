//! Reading an Ignition config from JSON as Go's encoding/json reads it into Ignition's types:
//! field names matched exactly or else case-insensitively, unknown fields ignored (and reported
//! as unused keys, as Ignition's ValidateWithContext does), the first type mismatch an error.

use serde_json::{Map, Value};

use super::model::*;
use crate::IgnitionVersion;
use crate::report::{Entry, Path, PathElement, Severity};

/// A config read from JSON, with the warnings about keys no field of the spec has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedConfig {
    pub config: Config,
    /// `ignition.version` as written.
    pub version: Option<String>,
    pub unused: Vec<Entry>,
}

/// The JSON could not be read into a config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct JsonError {
    pub message: String,
}

/// Read `bytes` as a config of spec `version` (its fields decide what is an unknown key).
pub fn parse_json(bytes: &[u8], version: IgnitionVersion) -> Result<ParsedConfig, JsonError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| JsonError {
        message: go_syntax_message(&e),
    })?;
    let mut r = Reader {
        version,
        path: Vec::new(),
        unused: Vec::new(),
        error: None,
    };
    let mut config = Config::default();
    let mut written_version = None;
    r.object(&value, "Config", |r, m| {
        r.unused(
            m,
            &[
                "ignition",
                "kernelArguments",
                "passwd",
                "storage",
                "systemd",
            ],
            version >= IgnitionVersion::V3_3,
        );
        if let Some(v) = r.get(m, "ignition") {
            r.enter("ignition", |r| {
                r.object(v, "Ignition", |r, m| {
                    r.unused(
                        m,
                        &["config", "proxy", "security", "timeouts", "version"],
                        true,
                    );
                    written_version = r.string(m, "version");
                    config.ignition = r.ignition(m);
                });
            });
        }
        if version >= IgnitionVersion::V3_3
            && let Some(v) = r.get(m, "kernelArguments")
        {
            r.enter("kernelArguments", |r| {
                r.object(v, "KernelArguments", |r, m| {
                    r.unused(m, &["shouldExist", "shouldNotExist"], true);
                    config.kernel_arguments.should_exist = r.strings(m, "shouldExist");
                    config.kernel_arguments.should_not_exist = r.strings(m, "shouldNotExist");
                });
            });
        }
        if let Some(v) = r.get(m, "passwd") {
            r.enter("passwd", |r| {
                r.object(v, "Passwd", |r, m| config.passwd = r.passwd(m))
            });
        }
        if let Some(v) = r.get(m, "storage") {
            r.enter("storage", |r| {
                r.object(v, "Storage", |r, m| config.storage = r.storage(m))
            });
        }
        if let Some(v) = r.get(m, "systemd") {
            r.enter("systemd", |r| {
                r.object(v, "Systemd", |r, m| {
                    r.unused(m, &["units"], true);
                    config.systemd.units = r.list(m, "units", "Unit", |r, m| {
                        r.unused(m, &["contents", "dropins", "enabled", "mask", "name"], true);
                        Unit {
                            contents: r.string(m, "contents"),
                            dropins: r.list(m, "dropins", "Dropin", |r, m| {
                                r.unused(m, &["contents", "name"], true);
                                Dropin {
                                    contents: r.string(m, "contents"),
                                    name: r.string(m, "name").unwrap_or_default(),
                                }
                            }),
                            enabled: r.boolean(m, "enabled"),
                            mask: r.boolean(m, "mask"),
                            name: r.string(m, "name").unwrap_or_default(),
                        }
                    });
                });
            });
        }
    });
    if let Some(message) = r.error {
        return Err(JsonError { message });
    }
    Ok(ParsedConfig {
        config,
        version: written_version,
        unused: r.unused,
    })
}

fn go_syntax_message(e: &serde_json::Error) -> String {
    if e.is_eof() {
        "unexpected end of JSON input".to_owned()
    } else {
        format!("invalid character in JSON ({e})")
    }
}

struct Reader {
    version: IgnitionVersion,
    path: Vec<PathElement>,
    unused: Vec<Entry>,
    error: Option<String>,
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

impl Reader {
    fn enter(&mut self, name: &'static str, f: impl FnOnce(&mut Self)) {
        self.path.push(PathElement::field(name));
        f(self);
        self.path.pop();
    }

    fn mismatch(&mut self, v: &Value, go_type: &str) {
        if self.error.is_none() {
            let field = self
                .path
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(".");
            self.error = Some(format!(
                "json: cannot unmarshal {} into Go struct field {field} of type {go_type}",
                kind(v)
            ));
        }
    }

    fn object(&mut self, v: &Value, go_type: &str, f: impl FnOnce(&mut Self, &Map<String, Value>)) {
        match v {
            Value::Object(m) => f(self, m),
            Value::Null => {}
            other => self.mismatch(other, go_type),
        }
    }

    /// Go matches a key exactly, or else case-insensitively.
    fn get<'v>(&self, m: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
        m.get(name).or_else(|| {
            m.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
    }

    fn unused(&mut self, m: &Map<String, Value>, fields: &[&str], _known: bool) {
        for key in m.keys() {
            if !fields.contains(&key.as_str()) {
                let mut p = self.path.clone();
                p.push(PathElement::Key(key.clone()));
                self.unused.push(Entry::new(
                    Severity::Warning,
                    Path::from_elements(p),
                    format!("unused key {key}"),
                ));
            }
        }
    }

    fn string(&mut self, m: &Map<String, Value>, name: &'static str) -> Option<String> {
        match self.get(m, name)? {
            Value::String(s) => Some(s.clone()),
            Value::Null => None,
            other => {
                let other = other.clone();
                self.enter(name, |r| r.mismatch(&other, "string"));
                None
            }
        }
    }

    fn int(&mut self, m: &Map<String, Value>, name: &'static str) -> Option<i64> {
        match self.get(m, name)? {
            Value::Number(n) if n.as_i64().is_some() => n.as_i64(),
            Value::Null => None,
            other => {
                let other = other.clone();
                self.enter(name, |r| r.mismatch(&other, "int"));
                None
            }
        }
    }

    fn boolean(&mut self, m: &Map<String, Value>, name: &'static str) -> Option<bool> {
        match self.get(m, name)? {
            Value::Bool(b) => Some(*b),
            Value::Null => None,
            other => {
                let other = other.clone();
                self.enter(name, |r| r.mismatch(&other, "bool"));
                None
            }
        }
    }

    fn strings(&mut self, m: &Map<String, Value>, name: &'static str) -> Vec<String> {
        match self.get(m, name) {
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                self.enter(name, |r| {
                    for item in items {
                        match item {
                            Value::String(s) => out.push(s.clone()),
                            Value::Null => out.push(String::new()),
                            other => r.mismatch(other, "string"),
                        }
                    }
                });
                out
            }
            None | Some(Value::Null) => Vec::new(),
            Some(other) => {
                let other = other.clone();
                self.enter(name, |r| r.mismatch(&other, "[]string"));
                Vec::new()
            }
        }
    }

    fn list<T: Default>(
        &mut self,
        m: &Map<String, Value>,
        name: &'static str,
        go_type: &str,
        mut each: impl FnMut(&mut Self, &Map<String, Value>) -> T,
    ) -> Vec<T> {
        match self.get(m, name) {
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                self.enter(name, |r| {
                    for (i, item) in items.iter().enumerate() {
                        r.path.push(PathElement::Index(i));
                        match item {
                            Value::Object(obj) => out.push(each(r, obj)),
                            Value::Null => out.push(T::default()),
                            other => r.mismatch(other, go_type),
                        }
                        r.path.pop();
                    }
                });
                out
            }
            None | Some(Value::Null) => Vec::new(),
            Some(other) => {
                let other = other.clone();
                self.enter(name, |r| r.mismatch(&other, go_type));
                Vec::new()
            }
        }
    }

    fn nested<T: Default>(
        &mut self,
        m: &Map<String, Value>,
        name: &'static str,
        go_type: &str,
        f: impl FnOnce(&mut Self, &Map<String, Value>) -> T,
    ) -> T {
        let mut out = T::default();
        if let Some(v) = self.get(m, name) {
            self.enter(name, |r| r.object(v, go_type, |r, m| out = f(r, m)));
        }
        out
    }

    fn resource(&mut self, m: &Map<String, Value>) -> Resource {
        let v31 = self.version >= IgnitionVersion::V3_1;
        self.unused(
            m,
            if v31 {
                &["compression", "httpHeaders", "source", "verification"]
            } else {
                &["compression", "source", "verification"]
            },
            true,
        );
        Resource {
            compression: self.string(m, "compression"),
            http_headers: if v31 {
                self.list(m, "httpHeaders", "HTTPHeader", |r, m| {
                    r.unused(m, &["name", "value"], true);
                    HttpHeader {
                        name: r.string(m, "name").unwrap_or_default(),
                        value: r.string(m, "value"),
                    }
                })
            } else {
                Vec::new()
            },
            source: self.string(m, "source"),
            verification: self.nested(m, "verification", "Verification", |r, m| {
                r.unused(m, &["hash"], true);
                Verification {
                    hash: r.string(m, "hash"),
                }
            }),
        }
    }

    fn ignition(&mut self, m: &Map<String, Value>) -> Ignition {
        Ignition {
            config: self.nested(m, "config", "IgnitionConfig", |r, m| {
                r.unused(m, &["merge", "replace"], true);
                IgnitionConfig {
                    merge: r.list(m, "merge", "Resource", Self::resource),
                    replace: r.nested(m, "replace", "Resource", Self::resource),
                }
            }),
            proxy: self.nested(m, "proxy", "Proxy", |r, m| {
                r.unused(m, &["httpProxy", "httpsProxy", "noProxy"], true);
                Proxy {
                    http_proxy: r.string(m, "httpProxy"),
                    https_proxy: r.string(m, "httpsProxy"),
                    no_proxy: r.strings(m, "noProxy"),
                }
            }),
            security: self.nested(m, "security", "Security", |r, m| {
                r.unused(m, &["tls"], true);
                Security {
                    tls: r.nested(m, "tls", "TLS", |r, m| {
                        r.unused(m, &["certificateAuthorities"], true);
                        Tls {
                            certificate_authorities: r.list(
                                m,
                                "certificateAuthorities",
                                "Resource",
                                Self::resource,
                            ),
                        }
                    }),
                }
            }),
            timeouts: self.nested(m, "timeouts", "Timeouts", |r, m| {
                r.unused(m, &["httpResponseHeaders", "httpTotal"], true);
                Timeouts {
                    http_response_headers: r.int(m, "httpResponseHeaders"),
                    http_total: r.int(m, "httpTotal"),
                }
            }),
        }
    }

    fn passwd(&mut self, m: &Map<String, Value>) -> Passwd {
        self.unused(m, &["groups", "users"], true);
        Passwd {
            groups: self.list(m, "groups", "PasswdGroup", |r, m| {
                r.unused(
                    m,
                    &["gid", "name", "passwordHash", "shouldExist", "system"],
                    true,
                );
                PasswdGroup {
                    gid: r.int(m, "gid"),
                    name: r.string(m, "name").unwrap_or_default(),
                    password_hash: r.string(m, "passwordHash"),
                    should_exist: r.boolean(m, "shouldExist"),
                    system: r.boolean(m, "system"),
                }
            }),
            users: self.list(m, "users", "PasswdUser", |r, m| {
                r.unused(
                    m,
                    &[
                        "gecos",
                        "groups",
                        "homeDir",
                        "name",
                        "noCreateHome",
                        "noLogInit",
                        "noUserGroup",
                        "passwordHash",
                        "primaryGroup",
                        "sshAuthorizedKeys",
                        "shell",
                        "shouldExist",
                        "system",
                        "uid",
                    ],
                    true,
                );
                PasswdUser {
                    gecos: r.string(m, "gecos"),
                    groups: r.strings(m, "groups"),
                    home_dir: r.string(m, "homeDir"),
                    name: r.string(m, "name").unwrap_or_default(),
                    no_create_home: r.boolean(m, "noCreateHome"),
                    no_log_init: r.boolean(m, "noLogInit"),
                    no_user_group: r.boolean(m, "noUserGroup"),
                    password_hash: r.string(m, "passwordHash"),
                    primary_group: r.string(m, "primaryGroup"),
                    ssh_authorized_keys: r.strings(m, "sshAuthorizedKeys"),
                    shell: r.string(m, "shell"),
                    should_exist: r.boolean(m, "shouldExist"),
                    system: r.boolean(m, "system"),
                    uid: r.int(m, "uid"),
                }
            }),
        }
    }

    fn node(&mut self, m: &Map<String, Value>) -> Node {
        let owner = |r: &mut Self, name: &'static str| -> (Option<i64>, Option<String>) {
            r.nested(m, name, "NodeUser", |r, m| {
                r.unused(m, &["id", "name"], true);
                (r.int(m, "id"), r.string(m, "name"))
            })
        };
        let (gid, gname) = owner(self, "group");
        let (uid, uname) = owner(self, "user");
        Node {
            group: NodeGroup {
                id: gid,
                name: gname,
            },
            overwrite: self.boolean(m, "overwrite"),
            path: self.string(m, "path").unwrap_or_default(),
            user: NodeUser {
                id: uid,
                name: uname,
            },
        }
    }

    fn storage(&mut self, m: &Map<String, Value>) -> Storage {
        let v = self.version;
        self.unused(
            m,
            &[
                "directories",
                "disks",
                "files",
                "filesystems",
                "links",
                "luks",
                "raid",
            ],
            true,
        );
        Storage {
            directories: self.list(m, "directories", "Directory", |r, m| {
                r.unused(m, &["group", "overwrite", "path", "user", "mode"], true);
                Directory {
                    node: r.node(m),
                    mode: r.int(m, "mode"),
                }
            }),
            disks: self.list(m, "disks", "Disk", |r, m| {
                r.unused(m, &["device", "partitions", "wipeTable"], true);
                Disk {
                    device: r.string(m, "device").unwrap_or_default(),
                    partitions: r.list(m, "partitions", "Partition", |r, m| {
                        r.unused(
                            m,
                            &[
                                "guid",
                                "label",
                                "number",
                                "resize",
                                "shouldExist",
                                "sizeMiB",
                                "startMiB",
                                "typeGuid",
                                "wipePartitionEntry",
                            ],
                            true,
                        );
                        Partition {
                            guid: r.string(m, "guid"),
                            label: r.string(m, "label"),
                            number: r.int(m, "number").unwrap_or(0),
                            resize: r.boolean(m, "resize"),
                            should_exist: r.boolean(m, "shouldExist"),
                            size_mib: r.int(m, "sizeMiB"),
                            start_mib: r.int(m, "startMiB"),
                            type_guid: r.string(m, "typeGuid"),
                            wipe_partition_entry: r.boolean(m, "wipePartitionEntry"),
                        }
                    }),
                    wipe_table: r.boolean(m, "wipeTable"),
                }
            }),
            files: self.list(m, "files", "File", |r, m| {
                r.unused(
                    m,
                    &[
                        "group",
                        "overwrite",
                        "path",
                        "user",
                        "append",
                        "contents",
                        "mode",
                    ],
                    true,
                );
                File {
                    node: r.node(m),
                    append: r.list(m, "append", "Resource", Self::resource),
                    contents: r.nested(m, "contents", "Resource", Self::resource),
                    mode: r.int(m, "mode"),
                }
            }),
            filesystems: self.list(m, "filesystems", "Filesystem", |r, m| {
                r.unused(
                    m,
                    &[
                        "device",
                        "format",
                        "label",
                        "mountOptions",
                        "options",
                        "path",
                        "uuid",
                        "wipeFilesystem",
                    ],
                    true,
                );
                Filesystem {
                    device: r.string(m, "device").unwrap_or_default(),
                    format: r.string(m, "format"),
                    label: r.string(m, "label"),
                    mount_options: r.strings(m, "mountOptions"),
                    options: r.strings(m, "options"),
                    path: r.string(m, "path"),
                    uuid: r.string(m, "uuid"),
                    wipe_filesystem: r.boolean(m, "wipeFilesystem"),
                }
            }),
            links: self.list(m, "links", "Link", |r, m| {
                r.unused(
                    m,
                    &["group", "overwrite", "path", "user", "hard", "target"],
                    true,
                );
                Link {
                    node: r.node(m),
                    hard: r.boolean(m, "hard"),
                    target: r.string(m, "target"),
                }
            }),
            luks: if v >= IgnitionVersion::V3_2 {
                self.list(m, "luks", "Luks", |r, m| {
                    r.unused(
                        m,
                        &[
                            "cex",
                            "clevis",
                            "device",
                            "discard",
                            "keyFile",
                            "label",
                            "name",
                            "openOptions",
                            "options",
                            "uuid",
                            "wipeVolume",
                        ],
                        true,
                    );
                    Luks {
                        cex: r.nested(m, "cex", "Cex", |r, m| Cex {
                            enabled: r.boolean(m, "enabled"),
                        }),
                        clevis: r.get(m, "clevis").is_some().then(|| {
                            r.nested(m, "clevis", "Clevis", |r, m| Clevis {
                                custom: r.get(m, "custom").is_some().then(|| {
                                    r.nested(m, "custom", "ClevisCustom", |r, m| ClevisCustom {
                                        config: r.string(m, "config"),
                                        needs_network: r.boolean(m, "needsNetwork"),
                                        pin: r.string(m, "pin"),
                                    })
                                }),
                                tang: r.list(m, "tang", "Tang", |r, m| Tang {
                                    advertisement: r.string(m, "advertisement"),
                                    thumbprint: r.string(m, "thumbprint"),
                                    url: r.string(m, "url").unwrap_or_default(),
                                }),
                                threshold: r.int(m, "threshold"),
                                tpm2: r.boolean(m, "tpm2"),
                            })
                        }),
                        device: r.string(m, "device"),
                        discard: r.boolean(m, "discard"),
                        key_file: r.nested(m, "keyFile", "Resource", Self::resource),
                        label: r.string(m, "label"),
                        name: r.string(m, "name").unwrap_or_default(),
                        open_options: r.strings(m, "openOptions"),
                        options: r.strings(m, "options"),
                        uuid: r.string(m, "uuid"),
                        wipe_volume: r.boolean(m, "wipeVolume"),
                    }
                })
            } else {
                Vec::new()
            },
            raid: self.list(m, "raid", "Raid", |r, m| {
                r.unused(m, &["devices", "level", "name", "options", "spares"], true);
                Raid {
                    devices: r.strings(m, "devices"),
                    level: r.string(m, "level"),
                    name: r.string(m, "name").unwrap_or_default(),
                    options: r.strings(m, "options"),
                    spares: r.int(m, "spares"),
                }
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_config_with_unknown_keys() {
        let parsed = parse_json(
            br#"{"ignition": {"version": "3.3.0"}, "storage": {"files": [{"path": "/x", "Mode": 420, "bogus": 1}]}}"#,
            IgnitionVersion::V3_3,
        )
        .unwrap();
        assert_eq!(parsed.version.as_deref(), Some("3.3.0"));
        assert_eq!(parsed.config.storage.files[0].mode, Some(420));
        let unused: Vec<String> = parsed.unused.iter().map(|e| e.path.to_string()).collect();
        assert_eq!(
            unused,
            vec!["$.storage.files.0.Mode", "$.storage.files.0.bogus"]
        );
        assert!(parse_json(b"{", IgnitionVersion::V3_3).is_err());
        assert!(parse_json(br#"{"ignition": {"version": 3}}"#, IgnitionVersion::V3_3).is_err());
    }
}
