//! Translating the Butane base schema to the Ignition model (upstream base/v0_N/translate.go):
//! fields copied under their Ignition names, resources turned into data URLs, local files read
//! through the caller's [`FileSource`], mount units generated; trees are in `trees.rs` and the
//! fcos sugar in `sugar.rs`. When asked, it also records the translation set.

use fleet_spec::{FileError, FileSource, ReadLimit};

use super::schema::{self, Config};
use super::tset::{Elements, TranslationSet};
use crate::ButaneVersion;
use crate::ignition::{self, make_data_url, make_percent_data_url};
use crate::report::{Entry, Path, PathElement, Report, Severity};

/// What a translation needs besides the document.
pub(crate) struct Context<'o> {
    pub(crate) version: ButaneVersion,
    pub(crate) files: Option<&'o dyn FileSource>,
    pub(crate) auto_compress: bool,
}

pub(crate) const ERR_NO_FILES_DIR: &str =
    "local file paths are relative to a files directory that must be specified with -d/--files-dir";
pub(crate) const ERR_FILES_DIR_ESCAPE: &str =
    "local file path traverses outside the files directory";

/// The translator's state: the current YAML and JSON paths, the report, and the translation
/// set when one is being recorded.
pub(crate) struct Tr<'c, 'o> {
    pub(crate) cx: &'c Context<'o>,
    pub(crate) y: Elements,
    pub(crate) j: Elements,
    pub(crate) ts: Option<TranslationSet>,
    adds: usize,
    pub(crate) report: Report,
    /// Bytes of local files embedded so far, held under `ReadLimit::BUTANE_LOCAL_TOTAL`.
    local_bytes: u64,
}

fn f(name: &'static str) -> PathElement {
    PathElement::field(name)
}

impl<'c, 'o> Tr<'c, 'o> {
    pub(crate) fn new(cx: &'c Context<'o>, track: bool) -> Self {
        Self {
            cx,
            y: Vec::with_capacity(16),
            j: Vec::with_capacity(16),
            ts: track.then(TranslationSet::default),
            adds: 0,
            report: Report::default(),
            local_bytes: 0,
        }
    }

    pub(crate) fn base(&self) -> u8 {
        self.cx.version.base()
    }

    pub(crate) fn tracking(&self) -> bool {
        self.ts.is_some()
    }

    /// Record "the current YAML path produced the current JSON path".
    pub(crate) fn rec(&mut self) {
        if let Some(ts) = &mut self.ts {
            ts.add(self.y.clone(), self.j.clone());
            self.adds += 1;
        }
    }

    /// Record a translation between the current paths extended by the given tails.
    pub(crate) fn rec_to(&mut self, y_tail: &[PathElement], j_tail: &[PathElement]) {
        if let Some(ts) = &mut self.ts {
            let mut from = self.y.clone();
            from.extend_from_slice(y_tail);
            let mut to = self.j.clone();
            to.extend_from_slice(j_tail);
            ts.add(from, to);
            self.adds += 1;
        }
    }

    pub(crate) fn enter(&mut self, y: &'static str, j: &'static str) {
        self.y.push(f(y));
        self.j.push(f(j));
    }

    pub(crate) fn enter_index(&mut self, i: usize) {
        self.y.push(PathElement::Index(i));
        self.j.push(PathElement::Index(i));
    }

    pub(crate) fn leave(&mut self) {
        self.y.pop();
        self.j.pop();
    }

    /// An error at the current YAML path extended by `tail`.
    pub(crate) fn error_at(&mut self, tail: &[PathElement], message: impl Into<String>) {
        let mut p = self.y.clone();
        p.extend_from_slice(tail);
        self.report
            .push(Entry::new(Severity::Error, Path::from_elements(p), message));
    }

    fn prim(&mut self, y: &'static str, j: &'static str) {
        if self.tracking() {
            self.enter(y, j);
            self.rec();
            self.leave();
        }
    }

    fn ptr<T>(&mut self, y: &'static str, j: &'static str, value: &Option<T>) {
        if value.is_some() {
            self.prim(y, j);
        }
    }

    fn prim_list(&mut self, y: &'static str, j: &'static str, len: usize) {
        if self.tracking() && len > 0 {
            self.enter(y, j);
            for i in 0..len {
                self.enter_index(i);
                self.rec();
                self.leave();
            }
            self.rec();
            self.leave();
        }
    }

    /// An automatically translated struct: its fields, then itself when it is not zero.
    fn auto<T>(
        &mut self,
        y: &'static str,
        j: &'static str,
        zero: bool,
        body: impl FnOnce(&mut Self) -> T,
    ) -> T {
        self.enter(y, j);
        let out = body(self);
        if !zero {
            self.rec();
        }
        self.leave();
        out
    }

    /// A field translated by one of upstream's custom translators: itself recorded when the
    /// translator recorded anything.
    fn custom<T>(
        &mut self,
        y: &'static str,
        j: &'static str,
        body: impl FnOnce(&mut Self) -> T,
    ) -> T {
        self.enter(y, j);
        let before = self.adds;
        let out = body(self);
        if self.adds > before {
            self.rec();
        }
        self.leave();
        out
    }

    /// A list of elements; `each` translates one element (with the index pushed).
    fn list<S, T>(
        &mut self,
        y: &'static str,
        j: &'static str,
        items: &[S],
        mut each: impl FnMut(&mut Self, &S) -> T,
    ) -> Vec<T> {
        self.enter(y, j);
        let out = items
            .iter()
            .enumerate()
            .map(|(i, item)| {
                self.enter_index(i);
                let t = each(self, item);
                self.leave();
                t
            })
            .collect::<Vec<_>>();
        if !items.is_empty() {
            self.rec();
        }
        self.leave();
        out
    }

    /// A custom translator applied at the current (already entered) element.
    fn custom_here<T>(&mut self, body: impl FnOnce(&mut Self) -> T) -> T {
        let before = self.adds;
        let out = body(self);
        if self.adds > before {
            self.rec();
        }
        out
    }

    // ---- the config -----------------------------------------------------------------------

    /// Upstream's `ToIgn3_xUnvalidated` of the base schema.
    pub(crate) fn base_config(&mut self, c: &Config) -> ignition::Config {
        let mut out = ignition::Config {
            ignition: self.custom("ignition", "ignition", |tr| tr.ignition(&c.ignition)),
            ..ignition::Config::default()
        };
        if self.tracking() {
            self.rec_to(&[f("version")], &[f("ignition"), f("version")]);
            self.rec_to(&[f("ignition")], &[f("ignition")]);
        }
        if self.base() >= 4 {
            let ka = &c.kernel_arguments;
            out.kernel_arguments = self.auto(
                "kernel_arguments",
                "kernelArguments",
                *ka == Default::default(),
                |tr| {
                    tr.prim_list("should_exist", "shouldExist", ka.should_exist.len());
                    tr.prim_list(
                        "should_not_exist",
                        "shouldNotExist",
                        ka.should_not_exist.len(),
                    );
                    ignition::KernelArguments {
                        should_exist: ka.should_exist.clone(),
                        should_not_exist: ka.should_not_exist.clone(),
                    }
                },
            );
        }
        out.passwd = self.auto("passwd", "passwd", c.passwd == Default::default(), |tr| {
            tr.passwd(&c.passwd)
        });
        out.storage = self.auto(
            "storage",
            "storage",
            c.storage == Default::default(),
            |tr| tr.storage(&c.storage),
        );
        out.systemd = self.auto(
            "systemd",
            "systemd",
            c.systemd == Default::default(),
            |tr| {
                let units = tr.list("units", "units", &c.systemd.units, |tr, u| tr.unit(u));
                ignition::Systemd { units }
            },
        );
        out
    }

    fn ignition(&mut self, i: &schema::Ignition) -> ignition::Ignition {
        let mut out = ignition::Ignition::default();
        if self.base() == 1 {
            out.config = self.auto("config", "config", i.config == Default::default(), |tr| {
                let merge = tr.list("merge", "merge", &i.config.merge_v1, |tr, r| {
                    tr.config_reference(r)
                });
                let replace = tr.auto(
                    "replace",
                    "replace",
                    i.config.replace_v1 == Default::default(),
                    |tr| tr.config_reference(&i.config.replace_v1),
                );
                ignition::IgnitionConfig { merge, replace }
            });
            out.security = self.auto(
                "security",
                "security",
                i.security == Default::default(),
                |tr| {
                    let tls = tr.auto("tls", "tls", i.security.tls == Default::default(), |tr| {
                        let certificate_authorities = tr.list(
                            "certificate_authorities",
                            "certificateAuthorities",
                            &i.security.tls.certificate_authorities_v1,
                            |tr, ca| {
                                tr.prim("source", "source");
                                let verification = tr.verification(&ca.verification);
                                if *ca != Default::default() {
                                    tr.rec();
                                }
                                ignition::Resource {
                                    source: ca.source.clone(),
                                    verification,
                                    ..ignition::Resource::default()
                                }
                            },
                        );
                        ignition::Tls {
                            certificate_authorities,
                        }
                    });
                    ignition::Security { tls }
                },
            );
        } else {
            out.config = self.auto("config", "config", i.config == Default::default(), |tr| {
                let merge = tr.list("merge", "merge", &i.config.merge, |tr, r| {
                    tr.custom_here(|tr| tr.resource(r))
                });
                let replace = tr.custom("replace", "replace", |tr| tr.resource(&i.config.replace));
                ignition::IgnitionConfig { merge, replace }
            });
            out.proxy = self.auto("proxy", "proxy", i.proxy == Default::default(), |tr| {
                tr.ptr("http_proxy", "httpProxy", &i.proxy.http_proxy);
                tr.ptr("https_proxy", "httpsProxy", &i.proxy.https_proxy);
                tr.prim_list("no_proxy", "noProxy", i.proxy.no_proxy.len());
                ignition::Proxy {
                    http_proxy: i.proxy.http_proxy.clone(),
                    https_proxy: i.proxy.https_proxy.clone(),
                    no_proxy: i.proxy.no_proxy.clone(),
                }
            });
            out.security = self.auto(
                "security",
                "security",
                i.security == Default::default(),
                |tr| {
                    let tls = tr.auto("tls", "tls", i.security.tls == Default::default(), |tr| {
                        let certificate_authorities = tr.list(
                            "certificate_authorities",
                            "certificateAuthorities",
                            &i.security.tls.certificate_authorities,
                            |tr, r| tr.custom_here(|tr| tr.resource(r)),
                        );
                        ignition::Tls {
                            certificate_authorities,
                        }
                    });
                    ignition::Security { tls }
                },
            );
        }
        out.timeouts = self.auto(
            "timeouts",
            "timeouts",
            i.timeouts == Default::default(),
            |tr| {
                tr.ptr(
                    "http_response_headers",
                    "httpResponseHeaders",
                    &i.timeouts.http_response_headers,
                );
                tr.ptr("http_total", "httpTotal", &i.timeouts.http_total);
                ignition::Timeouts {
                    http_response_headers: i.timeouts.http_response_headers,
                    http_total: i.timeouts.http_total,
                }
            },
        );
        out
    }

    fn config_reference(&mut self, r: &schema::ConfigReference) -> ignition::Resource {
        self.ptr("source", "source", &r.source);
        let verification = self.verification(&r.verification);
        if *r != Default::default() {
            self.rec();
        }
        ignition::Resource {
            source: r.source.clone(),
            verification,
            ..ignition::Resource::default()
        }
    }

    fn verification(&mut self, v: &schema::Verification) -> ignition::Verification {
        self.auto(
            "verification",
            "verification",
            *v == Default::default(),
            |tr| {
                tr.ptr("hash", "hash", &v.hash);
                ignition::Verification {
                    hash: v.hash.clone(),
                }
            },
        )
    }

    /// `translateResource` (spec 1.1.0+) and `translateFileContents` (1.0.0), at the current path.
    pub(crate) fn resource(&mut self, r: &schema::Resource) -> ignition::Resource {
        let verification = self.verification(&r.verification);
        let mut out = ignition::Resource {
            verification,
            ..ignition::Resource::default()
        };
        if self.base() == 1 {
            self.ptr("source", "source", &r.source);
            self.ptr("compression", "compression", &r.compression);
            out.source = r.source.clone();
            out.compression = r.compression.clone();
            if let Some(inline) = &r.inline {
                out.source = Some(make_percent_data_url(inline.as_bytes()));
                self.rec_to(&[f("inline")], &[f("source")]);
            }
            return out;
        }
        out.http_headers = self.list("http_headers", "httpHeaders", &r.http_headers, |tr, h| {
            tr.prim("name", "name");
            tr.ptr("value", "value", &h.value);
            if *h != Default::default() {
                tr.rec();
            }
            ignition::HttpHeader {
                name: h.name.clone(),
                value: h.value.clone(),
            }
        });
        self.ptr("source", "source", &r.source);
        self.ptr("compression", "compression", &r.compression);
        out.source = r.source.clone();
        out.compression = r.compression.clone();
        if let Some(local) = &r.local {
            let contents = match self.read_local(local) {
                Ok(contents) => contents,
                Err(message) => {
                    self.error_at(&[f("local")], message);
                    return out;
                }
            };
            if self.y_string().starts_with("$.ignition.config") {
                let resource_path = Path::from_elements(self.y.clone());
                let (child, invalid) =
                    validate_child_config(self.cx.version, &resource_path, &contents);
                self.report.merge(child);
                if invalid {
                    return out;
                }
            }
            let url = make_data_url(&contents, out.compression.as_deref(), self.cx.auto_compress);
            out.source = Some(url.url);
            self.rec_to(&[f("local")], &[f("source")]);
            if let Some(compression) = url.compression {
                out.compression = Some(compression);
                self.rec_to(&[f("local")], &[f("compression")]);
            }
        }
        if let Some(inline) = &r.inline {
            let url = make_data_url(
                inline.as_bytes(),
                out.compression.as_deref(),
                self.cx.auto_compress,
            );
            out.source = Some(url.url);
            self.rec_to(&[f("inline")], &[f("source")]);
            if let Some(compression) = url.compression {
                out.compression = Some(compression);
                self.rec_to(&[f("inline")], &[f("compression")]);
            }
        }
        out
    }

    fn y_string(&self) -> String {
        Path::from_elements(self.y.clone()).to_string()
    }

    /// Read a `local` file: relative to the files directory, never outside it.
    pub(crate) fn read_local(&mut self, local: &str) -> Result<Vec<u8>, String> {
        if self.cx.files.is_none() {
            return Err(ERR_NO_FILES_DIR.to_owned());
        }
        let relative = files_dir_relative(local).ok_or_else(|| ERR_FILES_DIR_ESCAPE.to_owned())?;
        self.read_files_dir(&relative)
    }

    /// Read a file of the files directory (already checked to stay inside it), within both the
    /// limit for one file and what is left of the limit for everything this config embeds.
    pub(crate) fn read_files_dir(&mut self, relative: &str) -> Result<Vec<u8>, String> {
        let Some(files) = self.cx.files else {
            return Err(ERR_NO_FILES_DIR.to_owned());
        };
        let left = ReadLimit::BUTANE_LOCAL_TOTAL.bytes - self.local_bytes;
        let limit = if left < ReadLimit::BUTANE_LOCAL_FILE.bytes {
            ReadLimit {
                bytes: left,
                ..ReadLimit::BUTANE_LOCAL_TOTAL
            }
        } else {
            ReadLimit::BUTANE_LOCAL_FILE
        };
        match files.read(std::path::Path::new(relative), limit) {
            Ok(contents) => {
                self.local_bytes += contents.len() as u64;
                Ok(contents)
            }
            Err(FileError::TooLarge { .. }) if limit != ReadLimit::BUTANE_LOCAL_FILE => {
                Err(format!(
                    "read {}: with it, the files this config embeds would exceed {}",
                    files.display_path(std::path::Path::new(relative)),
                    ReadLimit::BUTANE_LOCAL_TOTAL
                ))
            }
            Err(error) => Err(go_io_error("open", files, relative, &error)),
        }
    }

    fn passwd(&mut self, p: &schema::Passwd) -> ignition::Passwd {
        let groups = self.list("groups", "groups", &p.groups, |tr, g| {
            tr.ptr("gid", "gid", &g.gid);
            tr.prim("name", "name");
            tr.ptr("password_hash", "passwordHash", &g.password_hash);
            tr.ptr("should_exist", "shouldExist", &g.should_exist);
            tr.ptr("system", "system", &g.system);
            if *g != Default::default() {
                tr.rec();
            }
            ignition::PasswdGroup {
                gid: g.gid,
                name: g.name.clone(),
                password_hash: g.password_hash.clone(),
                should_exist: g.should_exist,
                system: g.system,
            }
        });
        let users = self.list("users", "users", &p.users, |tr, u| {
            if tr.base() >= 5 {
                tr.custom_here(|tr| tr.passwd_user(u))
            } else {
                let user = tr.passwd_user(u);
                if *u != Default::default() {
                    tr.rec();
                }
                user
            }
        });
        ignition::Passwd { groups, users }
    }

    fn passwd_user(&mut self, u: &schema::PasswdUser) -> ignition::PasswdUser {
        self.ptr("gecos", "gecos", &u.gecos);
        self.prim_list("groups", "groups", u.groups.len());
        self.ptr("home_dir", "homeDir", &u.home_dir);
        self.prim("name", "name");
        self.ptr("no_create_home", "noCreateHome", &u.no_create_home);
        self.ptr("no_log_init", "noLogInit", &u.no_log_init);
        self.ptr("no_user_group", "noUserGroup", &u.no_user_group);
        self.ptr("password_hash", "passwordHash", &u.password_hash);
        self.ptr("primary_group", "primaryGroup", &u.primary_group);
        self.ptr("shell", "shell", &u.shell);
        self.ptr("should_exist", "shouldExist", &u.should_exist);
        self.prim_list(
            "ssh_authorized_keys",
            "sshAuthorizedKeys",
            u.ssh_authorized_keys.len(),
        );
        self.ptr("system", "system", &u.system);
        self.ptr("uid", "uid", &u.uid);
        let mut out = ignition::PasswdUser {
            gecos: u.gecos.clone(),
            groups: u.groups.clone(),
            home_dir: u.home_dir.clone(),
            name: u.name.clone(),
            no_create_home: u.no_create_home,
            no_log_init: u.no_log_init,
            no_user_group: u.no_user_group,
            password_hash: u.password_hash.clone(),
            primary_group: u.primary_group.clone(),
            ssh_authorized_keys: u.ssh_authorized_keys.clone(),
            shell: u.shell.clone(),
            should_exist: u.should_exist,
            system: u.system,
            uid: u.uid,
        };
        if !u.ssh_authorized_keys_local.is_empty() {
            self.rec_to(&[f("ssh_authorized_keys_local")], &[f("sshAuthorizedKeys")]);
            if self.cx.files.is_none() {
                self.error_at(&[f("ssh_authorized_keys_local")], ERR_NO_FILES_DIR);
                return out;
            }
            for (index, file) in u.ssh_authorized_keys_local.iter().enumerate() {
                let keys = match self.read_local(file) {
                    Ok(keys) => keys,
                    Err(message) => {
                        self.error_at(
                            &[f("ssh_authorized_keys_local"), PathElement::Index(index)],
                            message,
                        );
                        continue;
                    }
                };
                let text = crate::go_lossy_utf8(&keys);
                for line in text.split('\n') {
                    let line = line.strip_suffix('\r').unwrap_or(line);
                    if line.is_empty() {
                        continue;
                    }
                    let key_index = out.ssh_authorized_keys.len();
                    self.rec_to(
                        &[f("ssh_authorized_keys_local"), PathElement::Index(index)],
                        &[f("sshAuthorizedKeys"), PathElement::Index(key_index)],
                    );
                    out.ssh_authorized_keys.push(line.to_owned());
                }
            }
        }
        out
    }

    fn node_owner(
        &mut self,
        user: &schema::NodeUser,
        group: &schema::NodeGroup,
    ) -> (ignition::NodeUser, ignition::NodeGroup) {
        let g = self.auto("group", "group", *group == Default::default(), |tr| {
            tr.ptr("id", "id", &group.id);
            tr.ptr("name", "name", &group.name);
            ignition::NodeGroup {
                id: group.id,
                name: group.name.clone(),
            }
        });
        let u = self.auto("user", "user", *user == Default::default(), |tr| {
            tr.ptr("id", "id", &user.id);
            tr.ptr("name", "name", &user.name);
            ignition::NodeUser {
                id: user.id,
                name: user.name.clone(),
            }
        });
        (u, g)
    }

    fn storage(&mut self, s: &schema::Storage) -> ignition::Storage {
        let directories = self.list("directories", "directories", &s.directories, |tr, d| {
            tr.custom_here(|tr| {
                let (user, group) = tr.node_owner(&d.user, &d.group);
                tr.ptr("overwrite", "overwrite", &d.overwrite);
                tr.prim("path", "path");
                tr.ptr("mode", "mode", &d.mode);
                ignition::Directory {
                    node: ignition::Node {
                        group,
                        overwrite: d.overwrite,
                        path: d.path.clone(),
                        user,
                    },
                    mode: d.mode,
                }
            })
        });
        let disks = self.list("disks", "disks", &s.disks, |tr, d| {
            tr.prim("device", "device");
            let partitions = tr.list("partitions", "partitions", &d.partitions, |tr, p| {
                tr.ptr("guid", "guid", &p.guid);
                tr.ptr("label", "label", &p.label);
                tr.prim("number", "number");
                tr.ptr("resize", "resize", &p.resize);
                tr.ptr("should_exist", "shouldExist", &p.should_exist);
                tr.ptr("size_mib", "sizeMiB", &p.size_mib);
                tr.ptr("start_mib", "startMiB", &p.start_mib);
                tr.ptr("type_guid", "typeGuid", &p.type_guid);
                tr.ptr(
                    "wipe_partition_entry",
                    "wipePartitionEntry",
                    &p.wipe_partition_entry,
                );
                if *p != Default::default() {
                    tr.rec();
                }
                ignition::Partition {
                    guid: p.guid.clone(),
                    label: p.label.clone(),
                    number: p.number,
                    resize: p.resize,
                    should_exist: p.should_exist,
                    size_mib: p.size_mib,
                    start_mib: p.start_mib,
                    type_guid: p.type_guid.clone(),
                    wipe_partition_entry: p.wipe_partition_entry,
                }
            });
            tr.ptr("wipe_table", "wipeTable", &d.wipe_table);
            if *d != Default::default() {
                tr.rec();
            }
            ignition::Disk {
                device: d.device.clone(),
                partitions,
                wipe_table: d.wipe_table,
            }
        });
        let files = self.list("files", "files", &s.files, |tr, file| {
            tr.custom_here(|tr| tr.file(file))
        });
        let filesystems = self.list("filesystems", "filesystems", &s.filesystems, |tr, fs| {
            tr.prim("device", "device");
            tr.ptr("format", "format", &fs.format);
            tr.ptr("label", "label", &fs.label);
            tr.prim_list("mount_options", "mountOptions", fs.mount_options.len());
            tr.prim_list("options", "options", fs.options.len());
            tr.ptr("path", "path", &fs.path);
            tr.ptr("uuid", "uuid", &fs.uuid);
            tr.ptr("wipe_filesystem", "wipeFilesystem", &fs.wipe_filesystem);
            if *fs != Default::default() {
                tr.rec();
            }
            ignition::Filesystem {
                device: fs.device.clone(),
                format: fs.format.clone(),
                label: fs.label.clone(),
                mount_options: fs.mount_options.clone(),
                options: fs.options.clone(),
                path: fs.path.clone(),
                uuid: fs.uuid.clone(),
                wipe_filesystem: fs.wipe_filesystem,
            }
        });
        let links = self.list("links", "links", &s.links, |tr, l| {
            tr.custom_here(|tr| {
                let (user, group) = tr.node_owner(&l.user, &l.group);
                if tr.base() <= 3 {
                    tr.prim("target", "target");
                } else {
                    tr.ptr("target", "target", &l.target);
                }
                tr.ptr("hard", "hard", &l.hard);
                tr.ptr("overwrite", "overwrite", &l.overwrite);
                tr.prim("path", "path");
                ignition::Link {
                    node: ignition::Node {
                        group,
                        overwrite: l.overwrite,
                        path: l.path.clone(),
                        user,
                    },
                    hard: l.hard,
                    target: l.target.clone(),
                }
            })
        });
        let luks = self.list("luks", "luks", &s.luks, |tr, l| tr.luks(l));
        let raid = self.list("raid", "raid", &s.raid, |tr, r| {
            tr.prim_list("devices", "devices", r.devices.len());
            if tr.base() <= 3 {
                tr.prim("level", "level");
            } else {
                tr.ptr("level", "level", &r.level);
            }
            tr.prim("name", "name");
            tr.prim_list("options", "options", r.options.len());
            tr.ptr("spares", "spares", &r.spares);
            if *r != Default::default() {
                tr.rec();
            }
            ignition::Raid {
                devices: r.devices.clone(),
                level: r.level.clone(),
                name: r.name.clone(),
                options: r.options.clone(),
                spares: r.spares,
            }
        });
        ignition::Storage {
            directories,
            disks,
            files,
            filesystems,
            links,
            luks,
            raid,
        }
    }

    fn file(&mut self, file: &schema::File) -> ignition::File {
        let (user, group) = self.node_owner(&file.user, &file.group);
        let append = self.list("append", "append", &file.append, |tr, r| {
            tr.custom_here(|tr| tr.resource(r))
        });
        let contents = self.custom("contents", "contents", |tr| tr.resource(&file.contents));
        self.ptr("overwrite", "overwrite", &file.overwrite);
        self.prim("path", "path");
        self.ptr("mode", "mode", &file.mode);
        ignition::File {
            node: ignition::Node {
                group,
                overwrite: file.overwrite,
                path: file.path.clone(),
                user,
            },
            append,
            contents,
            mode: file.mode,
        }
    }

    fn luks(&mut self, l: &schema::Luks) -> ignition::Luks {
        let cex = self.auto("cex", "cex", l.cex == Default::default(), |tr| {
            tr.ptr("enabled", "enabled", &l.cex.enabled);
            ignition::Cex {
                enabled: l.cex.enabled,
            }
        });
        let clevis = l.clevis().map(|c| {
            self.auto("clevis", "clevis", *c == Default::default(), |tr| {
                let custom = c.custom().map(|cu| {
                    tr.auto("custom", "custom", *cu == Default::default(), |tr| {
                        tr.ptr("config", "config", &cu.config);
                        tr.ptr("needs_network", "needsNetwork", &cu.needs_network);
                        tr.ptr("pin", "pin", &cu.pin);
                        ignition::ClevisCustom {
                            config: cu.config.clone(),
                            needs_network: cu.needs_network,
                            pin: cu.pin.clone(),
                        }
                    })
                });
                let tang = tr.list("tang", "tang", &c.tang, |tr, t| tr.tang(t));
                tr.ptr("threshold", "threshold", &c.threshold);
                tr.ptr("tpm2", "tpm2", &c.tpm2);
                ignition::Clevis {
                    custom,
                    tang,
                    threshold: c.threshold,
                    tpm2: c.tpm2,
                }
            })
        });
        self.ptr("device", "device", &l.device);
        self.ptr("discard", "discard", &l.discard);
        let key_file = self.custom("key_file", "keyFile", |tr| tr.resource(&l.key_file));
        self.ptr("label", "label", &l.label);
        self.prim("name", "name");
        self.prim_list("open_options", "openOptions", l.open_options.len());
        self.prim_list("options", "options", l.options.len());
        self.ptr("uuid", "uuid", &l.uuid);
        self.ptr("wipe_volume", "wipeVolume", &l.wipe_volume);
        if *l != Default::default() {
            self.rec();
        }
        ignition::Luks {
            cex,
            clevis,
            device: l.device.clone(),
            discard: l.discard,
            key_file,
            label: l.label.clone(),
            name: l.name.clone(),
            open_options: l.open_options.clone(),
            options: l.options.clone(),
            uuid: l.uuid.clone(),
            wipe_volume: l.wipe_volume,
        }
    }

    pub(crate) fn tang(&mut self, t: &schema::Tang) -> ignition::Tang {
        self.ptr("thumbprint", "thumbprint", &t.thumbprint);
        self.prim("url", "url");
        self.ptr("advertisement", "advertisement", &t.advertisement);
        if *t != Default::default() {
            self.rec();
        }
        ignition::Tang {
            advertisement: t.advertisement.clone(),
            thumbprint: t.thumbprint.clone(),
            url: t.url.clone(),
        }
    }

    fn unit(&mut self, u: &schema::Unit) -> ignition::Unit {
        let translate = |tr: &mut Self| {
            tr.ptr("contents", "contents", &u.contents);
            let dropins = tr.list("dropins", "dropins", &u.dropins, |tr, d| {
                let translate_dropin = |tr: &mut Self| {
                    tr.ptr("contents", "contents", &d.contents);
                    tr.prim("name", "name");
                    let mut out = ignition::Dropin {
                        contents: d.contents.clone(),
                        name: d.name.clone(),
                    };
                    if let Some(local) = d.contents_local.as_deref().filter(|l| !l.is_empty()) {
                        match tr.read_local(local) {
                            Ok(contents) => {
                                tr.rec_to(&[f("contents_local")], &[f("contents")]);
                                out.contents = Some(crate::go_lossy_utf8(&contents).into_owned());
                            }
                            Err(message) => tr.error_at(&[f("contents_local")], message),
                        }
                    }
                    out
                };
                if tr.base() >= 5 {
                    tr.custom_here(translate_dropin)
                } else {
                    let out = translate_dropin(tr);
                    if *d != Default::default() {
                        tr.rec();
                    }
                    out
                }
            });
            tr.ptr("enabled", "enabled", &u.enabled);
            tr.ptr("mask", "mask", &u.mask);
            tr.prim("name", "name");
            let mut out = ignition::Unit {
                contents: u.contents.clone(),
                dropins,
                enabled: u.enabled,
                mask: u.mask,
                name: u.name.clone(),
            };
            if let Some(local) = u.contents_local.as_deref().filter(|l| !l.is_empty()) {
                match tr.read_local(local) {
                    Ok(contents) => {
                        tr.rec_to(&[f("contents_local")], &[f("contents")]);
                        out.contents = Some(crate::go_lossy_utf8(&contents).into_owned());
                    }
                    Err(message) => tr.error_at(&[f("contents_local")], message),
                }
            }
            out
        };
        if self.base() >= 5 {
            self.custom_here(translate)
        } else {
            let out = translate(self);
            if *u != Default::default() {
                self.rec();
            }
            out
        }
    }
}

/// The path of a `local` file inside the files directory, cleaned, or None when it escapes.
/// Like Go's `filepath.Join(dir, local)` followed by a prefix check, a leading `/` is allowed.
pub(crate) fn files_dir_relative(local: &str) -> Option<String> {
    let mut parts: Vec<&str> = Vec::new();
    for part in local.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

/// An I/O error worded like Go's `*os.PathError` (`open dir/x: no such file or directory`); fleet's
/// own refusals (not a regular file, too large, outside the directory) read the same way.
pub(crate) fn go_io_error(
    op: &str,
    files: &dyn FileSource,
    relative: &str,
    error: &FileError,
) -> String {
    use std::io::ErrorKind as K;
    let shown = files.display_path(std::path::Path::new(relative));
    let error = match error {
        FileError::Io(error) => error,
        refused => return format!("{op} {shown}: {refused}"),
    };
    let reason = match error.kind() {
        K::NotFound => "no such file or directory".to_owned(),
        K::PermissionDenied => "permission denied".to_owned(),
        K::IsADirectory => "is a directory".to_owned(),
        K::NotADirectory => "not a directory".to_owned(),
        _ => {
            let text = error.to_string();
            match text.find(" (os error") {
                Some(i) => text[..i].to_lowercase(),
                None => text,
            }
        }
    };
    format!("{op} {shown}: {reason}")
}

/// Validate an Ignition config embedded in `ignition.config.merge/replace` as upstream does
/// (base/v0_N/util.go ValidateIgnitionConfig): a warning when its version is not the target
/// spec's, its own diagnostics otherwise; `true` when it could not be parsed.
pub(crate) fn validate_child_config(
    version: ButaneVersion,
    resource: &Path,
    raw: &[u8],
) -> (Report, bool) {
    let mut report = Report::default();
    let target = version.ignition_version();
    match ignition::parse_json(raw, target) {
        Err(error) => {
            report.push(Entry::json(Severity::Error, Path::root(), error.message));
            (report, true)
        }
        Ok(parsed) => {
            if parsed.version.as_deref() != Some(target.as_str())
                && parsed
                    .version
                    .as_deref()
                    .is_some_and(|v| crate::version::GoSemver::parse(v).is_some())
            {
                report.warn(
                    resource.field("version"),
                    "skipping validation for the merge/replace ignition config due to an unkown version",
                );
                return (report, false);
            }
            let mut entries = Vec::new();
            if parsed
                .version
                .as_deref()
                .is_none_or(|v| crate::version::GoSemver::parse(v).is_none())
            {
                entries.push(Entry::json(
                    Severity::Error,
                    Path::root().field("ignition").field("version"),
                    "invalid config version (couldn't parse)",
                ));
            }
            let validation = ignition::validate(&parsed.config, target);
            entries.extend(
                validation
                    .entries
                    .into_iter()
                    .filter(|e| !e.path.to_string().starts_with("$.ignition.version")),
            );
            entries.extend(parsed.unused);
            report.entries.extend(entries);
            (report, false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_stay_inside_the_files_dir() {
        assert_eq!(files_dir_relative("a/b.txt").as_deref(), Some("a/b.txt"));
        assert_eq!(files_dir_relative("/etc/x").as_deref(), Some("etc/x"));
        assert_eq!(files_dir_relative("a/../b").as_deref(), Some("b"));
        assert_eq!(files_dir_relative("./").as_deref(), Some(""));
        assert_eq!(files_dir_relative("../x"), None);
        assert_eq!(files_dir_relative("a/../../x"), None);
    }

    /// Every read gets the full size of the file it asks for (zeroed pages cost nothing until touched).
    struct SizedFiles(u64);

    impl FileSource for SizedFiles {
        fn read(&self, _path: &std::path::Path, limit: ReadLimit) -> Result<Vec<u8>, FileError> {
            if self.0 > limit.bytes {
                return Err(FileError::TooLarge { limit });
            }
            Ok(vec![0; usize::try_from(self.0).expect("a test size")])
        }
    }

    #[test]
    fn embedded_files_are_held_to_a_limit_each_and_together() {
        let each = ReadLimit::BUTANE_LOCAL_FILE.bytes;
        let files = SizedFiles(each);
        let cx = Context {
            version: ButaneVersion::V1_5,
            files: Some(&files),
            auto_compress: true,
        };
        let mut tr = Tr::new(&cx, false);
        let fits = ReadLimit::BUTANE_LOCAL_TOTAL.bytes / each;
        for _ in 0..fits {
            assert!(tr.read_local("big").is_ok());
        }
        assert_eq!(
            tr.read_local("big").err().as_deref(),
            Some(
                "read big: with it, the files this config embeds would exceed 256 MiB, the limit for all the files one Butane config embeds together"
            )
        );

        let files = SizedFiles(each + 1);
        let cx = Context {
            files: Some(&files),
            ..cx
        };
        assert_eq!(
            Tr::new(&cx, false).read_local("big").err().as_deref(),
            Some("open big: is larger than 64 MiB, the limit for a file a Butane config embeds")
        );
    }
}
