//! Writing a config as JSON exactly as upstream Butane does: Go's encoding/json (the clarketm
//! fork with `omitempty` on structs), keys in the Go struct order of the target spec version,
//! `<`, `>`, `&`, U+2028 and U+2029 escaped, other non-ASCII written raw, compact or indented
//! by two spaces (`MarshalIndent`), and a final newline as the `butane` tool writes it.

use std::fmt::Write as _;

use super::model::*;
use crate::IgnitionVersion;

/// How to write JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JsonOptions {
    /// Two-space indentation (`butane --pretty`) instead of compact output.
    pub pretty: bool,
}

/// The config uses fields the target spec version does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Ignition spec {version} has no field {}; translate for a newer spec or remove {}",
    paths.join(", "),
    if paths.len() == 1 { "it" } else { "them" }
)]
pub struct UnsupportedFields {
    pub version: IgnitionVersion,
    /// JSON paths such as `$.storage.luks.0.discard`.
    pub paths: Vec<String>,
}

/// Serialise `config` for spec `version`, ending with a newline.
pub fn to_json(
    config: &Config,
    version: IgnitionVersion,
    options: JsonOptions,
) -> Result<String, UnsupportedFields> {
    let mut w = Writer {
        out: String::with_capacity(4096),
        pretty: options.pretty,
        stack: Vec::new(),
        version,
        path: Vec::new(),
        unsupported: Vec::new(),
    };
    w.config(config);
    if !w.unsupported.is_empty() {
        return Err(UnsupportedFields {
            version,
            paths: w.unsupported,
        });
    }
    w.out.push('\n');
    Ok(w.out)
}

/// Append `s` as a JSON string literal with Go's escaping (HTML-safe).
pub(crate) fn write_go_string(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(s.len() + 2);
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let escape: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            b'<' => "\\u003c",
            b'>' => "\\u003e",
            b'&' => "\\u0026",
            0xe2 if bytes.get(i + 1) == Some(&0x80)
                && matches!(bytes.get(i + 2), Some(0xa8 | 0xa9)) =>
            {
                if bytes[i + 2] == 0xa8 {
                    "\\u2028"
                } else {
                    "\\u2029"
                }
            }
            0..=0x1f => "",
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&s[start..i]);
        if escape.is_empty() {
            out.push_str("\\u00");
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0xf) as usize] as char);
            i += 1;
        } else {
            out.push_str(escape);
            i += if b == 0xe2 { 3 } else { 1 };
        }
        start = i;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

struct Writer {
    out: String,
    pretty: bool,
    /// whether each open container already has an element
    stack: Vec<bool>,
    version: IgnitionVersion,
    path: Vec<String>,
    unsupported: Vec<String>,
}

impl Writer {
    fn newline(&mut self, depth: usize) {
        self.out.push('\n');
        for _ in 0..depth {
            self.out.push_str("  ");
        }
    }

    fn before_element(&mut self) {
        let depth = self.stack.len();
        if let Some(has) = self.stack.last_mut() {
            if *has {
                self.out.push(',');
            }
            *has = true;
            if self.pretty {
                self.newline(depth);
            }
        }
    }

    fn open(&mut self, c: char) {
        self.out.push(c);
        self.stack.push(false);
    }

    fn close(&mut self, c: char) {
        let had = self.stack.pop().unwrap_or(false);
        if had && self.pretty {
            let depth = self.stack.len();
            self.newline(depth);
        }
        self.out.push(c);
    }

    fn key(&mut self, name: &str) {
        self.before_element();
        write_go_string(&mut self.out, name);
        self.out.push(':');
        if self.pretty {
            self.out.push(' ');
        }
    }

    fn str_value(&mut self, s: &str) {
        write_go_string(&mut self.out, s);
    }

    fn field_str(&mut self, name: &str, s: &str) {
        self.key(name);
        self.str_value(s);
    }

    fn field_opt_str(&mut self, name: &str, s: &Option<String>) {
        if let Some(s) = s {
            self.field_str(name, s);
        }
    }

    fn field_opt_bool(&mut self, name: &str, b: Option<bool>) {
        if let Some(b) = b {
            self.key(name);
            self.out.push_str(if b { "true" } else { "false" });
        }
    }

    fn field_int(&mut self, name: &str, i: i64) {
        self.key(name);
        let _ = write!(self.out, "{i}");
    }

    fn field_opt_int(&mut self, name: &str, i: Option<i64>) {
        if let Some(i) = i {
            self.field_int(name, i);
        }
    }

    fn field_strings(&mut self, name: &str, list: &[String]) {
        if list.is_empty() {
            return;
        }
        self.key(name);
        self.open('[');
        for s in list {
            self.before_element();
            self.str_value(s);
        }
        self.close(']');
    }

    fn field_list<T>(
        &mut self,
        name: &'static str,
        list: &[T],
        mut each: impl FnMut(&mut Self, &T),
    ) {
        if list.is_empty() {
            return;
        }
        self.key(name);
        self.open('[');
        self.path.push(name.to_owned());
        for (i, item) in list.iter().enumerate() {
            self.path.push(i.to_string());
            self.before_element();
            each(self, item);
            self.path.pop();
        }
        self.path.pop();
        self.close(']');
    }

    fn field_object(&mut self, name: &'static str, body: impl FnOnce(&mut Self)) {
        self.key(name);
        self.path.push(name.to_owned());
        self.open('{');
        body(self);
        self.close('}');
        self.path.pop();
    }

    /// A field the target version lacks: fine when empty, refused otherwise.
    fn absent(&mut self, name: &str, empty: bool) {
        if !empty {
            let mut path = String::from("$");
            for p in &self.path {
                path.push('.');
                path.push_str(p);
            }
            path.push('.');
            path.push_str(name);
            self.unsupported.push(path);
        }
    }

    fn since(&self, version: IgnitionVersion) -> bool {
        self.version >= version
    }

    fn config(&mut self, c: &Config) {
        use IgnitionVersion as V;
        self.open('{');
        self.field_object("ignition", |w| w.ignition(&c.ignition));
        if w_since(self, V::V3_3) {
            if !c.kernel_arguments.is_zero() {
                self.field_object("kernelArguments", |w| {
                    w.field_strings("shouldExist", &c.kernel_arguments.should_exist);
                    w.field_strings("shouldNotExist", &c.kernel_arguments.should_not_exist);
                });
            }
        } else {
            self.absent("kernelArguments", c.kernel_arguments.is_zero());
        }
        if !c.passwd.is_zero() {
            self.field_object("passwd", |w| w.passwd(&c.passwd));
        }
        if !c.storage.is_zero() {
            self.field_object("storage", |w| w.storage(&c.storage));
        }
        if !c.systemd.is_zero() {
            self.field_object("systemd", |w| {
                w.field_list("units", &c.systemd.units, |w, u| w.unit(u));
            });
        }
        self.close('}');
    }

    fn ignition(&mut self, i: &Ignition) {
        use IgnitionVersion as V;
        if !i.config.is_zero() {
            self.field_object("config", |w| {
                w.field_list("merge", &i.config.merge, |w, r| w.config_reference(r));
                if !i.config.replace.is_zero() {
                    w.field_object("replace", |w| w.config_reference_body(&i.config.replace));
                }
            });
        }
        if self.since(V::V3_1) {
            if !i.proxy.is_zero() {
                self.field_object("proxy", |w| {
                    w.field_opt_str("httpProxy", &i.proxy.http_proxy);
                    w.field_opt_str("httpsProxy", &i.proxy.https_proxy);
                    w.field_strings("noProxy", &i.proxy.no_proxy);
                });
            }
        } else {
            self.absent("proxy", i.proxy.is_zero());
        }
        if !i.security.is_zero() {
            self.field_object("security", |w| {
                w.field_object("tls", |w| {
                    w.field_list(
                        "certificateAuthorities",
                        &i.security.tls.certificate_authorities,
                        |w, r| w.ca_reference(r),
                    );
                });
            });
        }
        if !i.timeouts.is_zero() {
            self.field_object("timeouts", |w| {
                w.field_opt_int("httpResponseHeaders", i.timeouts.http_response_headers);
                w.field_opt_int("httpTotal", i.timeouts.http_total);
            });
        }
        let version = self.version.as_str();
        self.field_str("version", version);
    }

    /// An object in a list.
    fn object_item(&mut self, body: impl FnOnce(&mut Self)) {
        self.open('{');
        body(self);
        self.close('}');
    }

    fn config_reference(&mut self, r: &Resource) {
        self.object_item(|w| w.config_reference_body(r));
    }

    /// `ignition.config.merge/replace`: `ConfigReference` in 3.0 (source always written), else a Resource.
    fn config_reference_body(&mut self, r: &Resource) {
        if self.since(IgnitionVersion::V3_1) {
            self.resource_body(r);
            return;
        }
        self.absent(
            "compression",
            r.compression.as_deref().is_none_or(str::is_empty),
        );
        self.absent("httpHeaders", r.http_headers.is_empty());
        self.key("source");
        match &r.source {
            Some(s) => self.str_value(s),
            None => self.out.push_str("null"),
        }
        self.verification(&r.verification);
    }

    /// `security.tls.certificateAuthorities`: `CaReference` in 3.0 (source a plain string).
    fn ca_reference(&mut self, r: &Resource) {
        self.object_item(|w| {
            if w.since(IgnitionVersion::V3_1) {
                w.resource_body(r);
                return;
            }
            w.absent(
                "compression",
                r.compression.as_deref().is_none_or(str::is_empty),
            );
            w.absent("httpHeaders", r.http_headers.is_empty());
            w.field_str("source", r.source.as_deref().unwrap_or(""));
            w.verification(&r.verification);
        });
    }

    fn resource_body(&mut self, r: &Resource) {
        self.field_opt_str("compression", &r.compression);
        if self.since(IgnitionVersion::V3_1) {
            self.field_list("httpHeaders", &r.http_headers, |w, h| {
                w.object_item(|w| {
                    w.field_str("name", &h.name);
                    w.field_opt_str("value", &h.value);
                });
            });
        } else {
            self.absent("httpHeaders", r.http_headers.is_empty());
        }
        self.field_opt_str("source", &r.source);
        self.verification(&r.verification);
    }

    fn verification(&mut self, v: &Verification) {
        if !v.is_zero() {
            self.field_object("verification", |w| w.field_opt_str("hash", &v.hash));
        }
    }

    fn resource_field(&mut self, name: &'static str, r: &Resource) {
        if !r.is_zero() {
            self.field_object(name, |w| w.resource_body(r));
        }
    }

    fn passwd(&mut self, p: &Passwd) {
        use IgnitionVersion as V;
        self.field_list("groups", &p.groups, |w, g| {
            w.object_item(|w| {
                w.field_opt_int("gid", g.gid);
                w.field_str("name", &g.name);
                w.field_opt_str("passwordHash", &g.password_hash);
                if w.since(V::V3_2) {
                    w.field_opt_bool("shouldExist", g.should_exist);
                } else {
                    w.absent("shouldExist", g.should_exist.is_none());
                }
                w.field_opt_bool("system", g.system);
            });
        });
        self.field_list("users", &p.users, |w, u| {
            w.object_item(|w| {
                w.field_opt_str("gecos", &u.gecos);
                w.field_strings("groups", &u.groups);
                w.field_opt_str("homeDir", &u.home_dir);
                w.field_str("name", &u.name);
                w.field_opt_bool("noCreateHome", u.no_create_home);
                w.field_opt_bool("noLogInit", u.no_log_init);
                w.field_opt_bool("noUserGroup", u.no_user_group);
                w.field_opt_str("passwordHash", &u.password_hash);
                w.field_opt_str("primaryGroup", &u.primary_group);
                w.field_strings("sshAuthorizedKeys", &u.ssh_authorized_keys);
                w.field_opt_str("shell", &u.shell);
                if w.since(V::V3_2) {
                    w.field_opt_bool("shouldExist", u.should_exist);
                } else {
                    w.absent("shouldExist", u.should_exist.is_none());
                }
                w.field_opt_bool("system", u.system);
                w.field_opt_int("uid", u.uid);
            });
        });
    }

    fn node(&mut self, n: &Node) {
        if !n.group.is_zero() {
            self.field_object("group", |w| {
                w.field_opt_int("id", n.group.id);
                w.field_opt_str("name", &n.group.name);
            });
        }
        self.field_opt_bool("overwrite", n.overwrite);
        self.field_str("path", &n.path);
        if !n.user.is_zero() {
            self.field_object("user", |w| {
                w.field_opt_int("id", n.user.id);
                w.field_opt_str("name", &n.user.name);
            });
        }
    }

    fn storage(&mut self, s: &Storage) {
        use IgnitionVersion as V;
        self.field_list("directories", &s.directories, |w, d| {
            w.object_item(|w| {
                w.node(&d.node);
                w.field_opt_int("mode", d.mode);
            });
        });
        self.field_list("disks", &s.disks, |w, d| {
            w.object_item(|w| {
                w.field_str("device", &d.device);
                w.field_list("partitions", &d.partitions, |w, p| w.partition(p));
                w.field_opt_bool("wipeTable", d.wipe_table);
            });
        });
        self.field_list("files", &s.files, |w, f| {
            w.object_item(|w| {
                w.node(&f.node);
                w.field_list("append", &f.append, |w, r| {
                    w.object_item(|w| w.resource_body(r));
                });
                w.resource_field("contents", &f.contents);
                w.field_opt_int("mode", f.mode);
            });
        });
        self.field_list("filesystems", &s.filesystems, |w, f| {
            w.object_item(|w| {
                w.field_str("device", &f.device);
                w.field_opt_str("format", &f.format);
                w.field_opt_str("label", &f.label);
                if w.since(V::V3_1) {
                    w.field_strings("mountOptions", &f.mount_options);
                } else {
                    w.absent("mountOptions", f.mount_options.is_empty());
                }
                w.field_strings("options", &f.options);
                w.field_opt_str("path", &f.path);
                w.field_opt_str("uuid", &f.uuid);
                w.field_opt_bool("wipeFilesystem", f.wipe_filesystem);
            });
        });
        self.field_list("links", &s.links, |w, l| {
            w.object_item(|w| {
                w.node(&l.node);
                w.field_opt_bool("hard", l.hard);
                if w.since(V::V3_3) {
                    w.field_opt_str("target", &l.target);
                } else {
                    w.field_str("target", l.target.as_deref().unwrap_or(""));
                }
            });
        });
        if self.since(V::V3_2) {
            self.field_list("luks", &s.luks, |w, l| w.luks(l));
        } else {
            self.absent("luks", s.luks.is_empty());
        }
        self.field_list("raid", &s.raid, |w, r| {
            w.object_item(|w| {
                if w.since(V::V3_3) {
                    w.field_strings("devices", &r.devices);
                    w.field_opt_str("level", &r.level);
                } else {
                    if r.devices.is_empty() {
                        w.key("devices");
                        w.out.push_str("null");
                    } else {
                        w.field_strings("devices", &r.devices);
                    }
                    w.field_str("level", r.level.as_deref().unwrap_or(""));
                }
                w.field_str("name", &r.name);
                w.field_strings("options", &r.options);
                w.field_opt_int("spares", r.spares);
            });
        });
    }

    fn partition(&mut self, p: &Partition) {
        self.object_item(|w| {
            w.field_opt_str("guid", &p.guid);
            w.field_opt_str("label", &p.label);
            if p.number != 0 {
                w.field_int("number", p.number);
            }
            if w.since(IgnitionVersion::V3_2) {
                w.field_opt_bool("resize", p.resize);
            } else {
                w.absent("resize", p.resize.is_none());
            }
            w.field_opt_bool("shouldExist", p.should_exist);
            w.field_opt_int("sizeMiB", p.size_mib);
            w.field_opt_int("startMiB", p.start_mib);
            w.field_opt_str("typeGuid", &p.type_guid);
            w.field_opt_bool("wipePartitionEntry", p.wipe_partition_entry);
        });
    }

    fn luks(&mut self, l: &Luks) {
        use IgnitionVersion as V;
        self.object_item(|w| {
            if w.since(V::V3_5) {
                if !l.cex.is_zero() {
                    w.field_object("cex", |w| w.field_opt_bool("enabled", l.cex.enabled));
                }
            } else {
                w.absent("cex", l.cex.is_zero());
            }
            if w.version == V::V3_2 {
                if let Some(clevis) = &l.clevis {
                    w.field_object("clevis", |w| w.clevis(clevis));
                }
            } else if let Some(clevis) = l.clevis.as_ref().filter(|c| !clevis_is_zero(c)) {
                w.field_object("clevis", |w| w.clevis(clevis));
            }
            w.field_opt_str("device", &l.device);
            if w.since(V::V3_4) {
                w.field_opt_bool("discard", l.discard);
            } else {
                w.absent("discard", l.discard.is_none());
            }
            w.resource_field("keyFile", &l.key_file);
            w.field_opt_str("label", &l.label);
            w.field_str("name", &l.name);
            if w.since(V::V3_4) {
                w.field_strings("openOptions", &l.open_options);
            } else {
                w.absent("openOptions", l.open_options.is_empty());
            }
            w.field_strings("options", &l.options);
            w.field_opt_str("uuid", &l.uuid);
            w.field_opt_bool("wipeVolume", l.wipe_volume);
        });
    }

    fn clevis(&mut self, c: &Clevis) {
        use IgnitionVersion as V;
        if self.version == V::V3_2 {
            if let Some(custom) = &c.custom {
                self.field_object("custom", |w| {
                    w.field_str("config", custom.config.as_deref().unwrap_or(""));
                    w.field_opt_bool("needsNetwork", custom.needs_network);
                    w.field_str("pin", custom.pin.as_deref().unwrap_or(""));
                });
            }
        } else if let Some(custom) = c.custom.as_ref().filter(|c| !c.is_zero()) {
            self.field_object("custom", |w| {
                w.field_opt_str("config", &custom.config);
                w.field_opt_bool("needsNetwork", custom.needs_network);
                w.field_opt_str("pin", &custom.pin);
            });
        }
        self.field_list("tang", &c.tang, |w, t| {
            w.object_item(|w| {
                if w.since(V::V3_4) {
                    w.field_opt_str("advertisement", &t.advertisement);
                } else {
                    w.absent("advertisement", t.advertisement.is_none());
                }
                w.field_opt_str("thumbprint", &t.thumbprint);
                if !t.url.is_empty() {
                    w.field_str("url", &t.url);
                }
            });
        });
        self.field_opt_int("threshold", c.threshold);
        self.field_opt_bool("tpm2", c.tpm2);
    }

    fn unit(&mut self, u: &Unit) {
        self.object_item(|w| {
            w.field_opt_str("contents", &u.contents);
            w.field_list("dropins", &u.dropins, |w, d| {
                w.object_item(|w| {
                    w.field_opt_str("contents", &d.contents);
                    w.field_str("name", &d.name);
                });
            });
            w.field_opt_bool("enabled", u.enabled);
            w.field_opt_bool("mask", u.mask);
            w.field_str("name", &u.name);
        });
    }
}

fn w_since(w: &Writer, version: IgnitionVersion) -> bool {
    w.since(version)
}

/// Whether a clevis section is empty for specs where it is a plain struct (3.3.0 and newer).
pub(crate) fn clevis_is_zero(c: &Clevis) -> bool {
    c.custom.as_ref().is_none_or(IsZero::is_zero)
        && c.tang.is_empty()
        && c.threshold.is_none()
        && c.tpm2.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_go() {
        let mut out = String::new();
        write_go_string(&mut out, "a<b>&\"\\\n\t\u{1}\u{2028}é☃");
        assert_eq!(
            out,
            "\"a\\u003cb\\u003e\\u0026\\\"\\\\\\n\\t\\u0001\\u2028é☃\""
        );
    }

    #[test]
    fn pretty_and_compact() {
        let mut config = Config::default();
        config.storage.files.push(File {
            node: Node {
                path: "/etc/x".into(),
                ..Node::default()
            },
            mode: Some(420),
            ..File::default()
        });
        let compact = to_json(&config, IgnitionVersion::V3_3, JsonOptions::default()).unwrap();
        assert_eq!(
            compact,
            "{\"ignition\":{\"version\":\"3.3.0\"},\"storage\":{\"files\":[{\"path\":\"/etc/x\",\"mode\":420}]}}\n"
        );
        let pretty = to_json(&config, IgnitionVersion::V3_3, JsonOptions { pretty: true }).unwrap();
        assert_eq!(
            pretty,
            "{\n  \"ignition\": {\n    \"version\": \"3.3.0\"\n  },\n  \"storage\": {\n    \"files\": [\n      {\n        \"path\": \"/etc/x\",\n        \"mode\": 420\n      }\n    ]\n  }\n}\n"
        );
    }

    #[test]
    fn refuses_fields_the_version_lacks() {
        let mut config = Config::default();
        config.kernel_arguments.should_exist.push("quiet".into());
        config.storage.luks.push(Luks {
            name: "data".into(),
            discard: Some(true),
            ..Luks::default()
        });
        let error = to_json(&config, IgnitionVersion::V3_2, JsonOptions::default()).unwrap_err();
        assert_eq!(
            error.paths,
            vec!["$.kernelArguments", "$.storage.luks.0.discard"]
        );
        assert!(to_json(&config, IgnitionVersion::V3_4, JsonOptions::default()).is_ok());
    }
}
