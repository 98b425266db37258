//! `storage.trees` (upstream base/v0_N/translate.go processTrees/walkTree): every file, symlink
//! and (spec 1.7.0+, when asked for) directory under a local directory becomes an Ignition node,
//! walked in Go's `filepath.Walk` order.

use std::collections::HashMap;
use std::path::Path as FsPath;

use fleet_spec::FileKind;

use super::schema::{self, Config};
use super::translate::{
    ERR_FILES_DIR_ESCAPE, ERR_NO_FILES_DIR, Tr, files_dir_relative, go_io_error,
};
use crate::ignition::{self, Reflect, all_paths, make_data_url};
use crate::report::PathElement;

const ERR_NODE_EXISTS: &str = "matching filesystem node has existing contents or different type";

/// Paths already present in the config, per kind (upstream's nodeTracker).
struct NodeTracker {
    files: HashMap<String, usize>,
    dirs: HashMap<String, usize>,
    links: HashMap<String, usize>,
}

impl NodeTracker {
    fn new(storage: &ignition::Storage) -> Self {
        let index = |paths: Vec<&String>| {
            paths
                .into_iter()
                .enumerate()
                .map(|(i, p)| (p.clone(), i))
                .collect::<HashMap<_, _>>()
        };
        Self {
            files: index(storage.files.iter().map(|f| &f.node.path).collect()),
            dirs: index(storage.directories.iter().map(|d| &d.node.path).collect()),
            links: index(storage.links.iter().map(|l| &l.node.path).collect()),
        }
    }

    fn exists(&self, path: &str) -> bool {
        self.files.contains_key(path)
            || self.dirs.contains_key(path)
            || self.links.contains_key(path)
    }
}

struct Walk<'t> {
    tree: &'t schema::Tree,
    dest_base: String,
    user: ignition::NodeUser,
    group: ignition::NodeGroup,
    create_dirs: bool,
}

fn f(name: &'static str) -> PathElement {
    PathElement::field(name)
}

impl Tr<'_, '_> {
    /// Add the nodes of every tree to `out` (after the explicit entries).
    pub(crate) fn process_trees(&mut self, c: &Config, out: &mut ignition::Config) {
        if c.storage.trees.is_empty() {
            return;
        }
        let mut tracker = NodeTracker::new(&out.storage);
        let saved_y = std::mem::take(&mut self.y);
        let saved_j = std::mem::take(&mut self.j);
        for (i, tree) in c.storage.trees.iter().enumerate() {
            self.y = vec![f("storage"), f("trees"), PathElement::Index(i)];
            let Some(files) = self.cx.files else {
                self.error_at(&[], ERR_NO_FILES_DIR);
                break;
            };
            let Some(root) = files_dir_relative(&tree.local) else {
                self.error_at(&[], ERR_FILES_DIR_ESCAPE);
                continue;
            };
            match files.metadata(FsPath::new(&root)) {
                Err(e) => {
                    let message = go_io_error("stat", files, &root, &e);
                    self.error_at(&[], message);
                    continue;
                }
                // A symlink as the root becomes one link, as Go's filepath.Walk visits it.
                Ok(meta) if meta.kind == FileKind::Directory || meta.kind == FileKind::Symlink => {}
                Ok(_) => {
                    self.error_at(&[], "root of tree must be a directory");
                    continue;
                }
            }
            let dest_base = tree
                .path
                .clone()
                .filter(|p| !p.is_empty())
                .unwrap_or_else(|| "/".to_owned());
            let walk = Walk {
                tree,
                dest_base,
                user: ignition::NodeUser {
                    id: tree.user.id,
                    name: tree.user.name.clone(),
                },
                group: ignition::NodeGroup {
                    id: tree.group.id,
                    name: tree.group.name.clone(),
                },
                create_dirs: tree.dir_mode.is_some()
                    || tree.user != Default::default()
                    || tree.group != Default::default(),
            };
            self.walk(files, &walk, &root, "", &mut tracker, out);
        }
        self.y = saved_y;
        self.j = saved_j;
    }

    /// Visit `root/relative` and, for a directory, its entries in lexical order.
    fn walk(
        &mut self,
        files: &dyn fleet_spec::FileSource,
        walk: &Walk<'_>,
        root: &str,
        relative: &str,
        tracker: &mut NodeTracker,
        out: &mut ignition::Config,
    ) {
        let source = join_relative(root, relative);
        let meta = match files.metadata(FsPath::new(&source)) {
            Ok(meta) => meta,
            Err(e) => {
                let message = go_io_error("lstat", files, &source, &e);
                self.error_at(&[], message);
                return;
            }
        };
        let dest = crate::ignition::go_path_join(
            &walk.dest_base,
            if relative.is_empty() { "." } else { relative },
        );
        match meta.kind {
            FileKind::Directory => {
                if walk.create_dirs {
                    self.tree_directory(walk, &dest, tracker, out);
                }
                let mut names = match files.read_dir(FsPath::new(&source)) {
                    Ok(names) => names,
                    Err(e) => {
                        let message = go_io_error("open", files, &source, &e);
                        self.error_at(&[], message);
                        return;
                    }
                };
                names.sort();
                for name in names {
                    let child = if relative.is_empty() {
                        name
                    } else {
                        format!("{relative}/{name}")
                    };
                    self.walk(files, walk, root, &child, tracker, out);
                }
            }
            FileKind::File => self.tree_file(walk, &source, &dest, meta.executable, tracker, out),
            // Copied as a link, whatever it points at: never followed.
            FileKind::Symlink => self.tree_link(files, walk, &source, &dest, tracker, out),
            FileKind::Fifo
            | FileKind::CharacterDevice
            | FileKind::BlockDevice
            | FileKind::Socket => self.error_at(
                &[],
                "trees may only contain files, directories, and symlinks",
            ),
        }
    }

    fn node(walk: &Walk<'_>, dest: &str) -> ignition::Node {
        ignition::Node {
            path: dest.to_owned(),
            user: walk.user.clone(),
            group: walk.group.clone(),
            ..ignition::Node::default()
        }
    }

    fn common_source(&mut self, list: &'static str, index: usize, value: &dyn Reflect) {
        if !self.tracking() {
            return;
        }
        let mut prefix = vec![f("storage"), f(list), PathElement::Index(index)];
        let mut paths = Vec::new();
        all_paths(value, &mut prefix, &mut paths);
        for path in paths {
            self.rec_absolute(path);
        }
        self.rec_absolute(vec![f("storage"), f(list), PathElement::Index(index)]);
        if index == 0 {
            self.rec_absolute(vec![f("storage"), f(list)]);
        }
    }

    fn rec_absolute(&mut self, to: Vec<PathElement>) {
        let saved = std::mem::replace(&mut self.j, to);
        self.rec();
        self.j = saved;
    }

    fn tree_directory(
        &mut self,
        walk: &Walk<'_>,
        dest: &str,
        tracker: &mut NodeTracker,
        out: &mut ignition::Config,
    ) {
        if tracker.exists(dest) {
            self.error_at(&[], ERR_NODE_EXISTS);
            return;
        }
        let dir = ignition::Directory {
            node: Self::node(walk, dest),
            mode: Some(walk.tree.dir_mode.unwrap_or(0o755)),
        };
        let index = out.storage.directories.len();
        tracker.dirs.insert(dest.to_owned(), index);
        self.common_source("directories", index, &dir);
        out.storage.directories.push(dir);
    }

    fn tree_file(
        &mut self,
        walk: &Walk<'_>,
        source: &str,
        dest: &str,
        executable: bool,
        tracker: &mut NodeTracker,
        out: &mut ignition::Config,
    ) {
        let index = match tracker.files.get(dest) {
            Some(&i) => {
                if out.storage.files[i]
                    .contents
                    .source
                    .as_deref()
                    .is_some_and(|s| !s.is_empty())
                {
                    self.error_at(&[], ERR_NODE_EXISTS);
                    return;
                }
                i
            }
            None => {
                if tracker.exists(dest) {
                    self.error_at(&[], ERR_NODE_EXISTS);
                    return;
                }
                let file = ignition::File {
                    node: Self::node(walk, dest),
                    ..ignition::File::default()
                };
                let i = out.storage.files.len();
                tracker.files.insert(dest.to_owned(), i);
                self.common_source("files", i, &file);
                out.storage.files.push(file);
                i
            }
        };
        let contents = match self.read_files_dir(source) {
            Ok(contents) => contents,
            Err(message) => {
                self.error_at(&[], message);
                return;
            }
        };
        let auto_compress = self.cx.auto_compress;
        let file = &mut out.storage.files[index];
        let url = make_data_url(
            &contents,
            file.contents.compression.as_deref(),
            auto_compress,
        );
        file.contents.source = Some(url.url);
        let compression_set = url.compression.is_some();
        if let Some(compression) = url.compression {
            file.contents.compression = Some(compression);
        }
        let set_mode = file.mode.is_none();
        if set_mode {
            let default = if executable { 0o755 } else { 0o644 };
            file.mode = Some(walk.tree.file_mode.unwrap_or(default));
        }
        let base = vec![f("storage"), f("files"), PathElement::Index(index)];
        let with = |tail: &[&'static str]| {
            let mut p = base.clone();
            p.extend(tail.iter().map(|t| f(t)));
            p
        };
        self.rec_absolute(with(&["contents", "source"]));
        if compression_set {
            self.rec_absolute(with(&["contents", "compression"]));
        }
        self.rec_absolute(with(&["contents"]));
        if set_mode {
            self.rec_absolute(with(&["mode"]));
        }
    }

    fn tree_link(
        &mut self,
        files: &dyn fleet_spec::FileSource,
        walk: &Walk<'_>,
        source: &str,
        dest: &str,
        tracker: &mut NodeTracker,
        out: &mut ignition::Config,
    ) {
        let index = match tracker.links.get(dest) {
            Some(&i) => {
                if out.storage.links[i]
                    .target
                    .as_deref()
                    .is_some_and(|t| !t.is_empty())
                {
                    self.error_at(&[], ERR_NODE_EXISTS);
                    return;
                }
                i
            }
            None => {
                if tracker.exists(dest) {
                    self.error_at(&[], ERR_NODE_EXISTS);
                    return;
                }
                let link = ignition::Link {
                    node: Self::node(walk, dest),
                    ..ignition::Link::default()
                };
                let i = out.storage.links.len();
                tracker.links.insert(dest.to_owned(), i);
                self.common_source("links", i, &link);
                out.storage.links.push(link);
                i
            }
        };
        match files.read_link(FsPath::new(source)) {
            Ok(target) => {
                out.storage.links[index].target = Some(target);
                self.rec_absolute(vec![
                    f("storage"),
                    f("links"),
                    PathElement::Index(index),
                    f("target"),
                ]);
            }
            Err(e) => {
                let message = go_io_error("readlink", files, source, &e);
                self.error_at(&[], message);
            }
        }
    }
}

fn join_relative(root: &str, relative: &str) -> String {
    match (root.is_empty(), relative.is_empty()) {
        (_, true) => root.to_owned(),
        (true, false) => relative.to_owned(),
        (false, false) => format!("{root}/{relative}"),
    }
}

/// A quadlet named like `name@instance.ext`: its template, `name@.ext`.
pub(crate) fn quadlet_template(name: &str) -> Option<String> {
    let at = name.find('@')?;
    let dot = name.rfind('.')?;
    if at + 1 == dot {
        return None;
    }
    Some(format!("{}@.{}", &name[..at], &name[dot + 1..]))
}

fn quadlet_path(rootful: bool, name: &str) -> String {
    let base = if rootful {
        "/etc/containers/systemd"
    } else {
        "/etc/containers/systemd/users"
    };
    crate::ignition::go_path_join(base, name)
}

impl Tr<'_, '_> {
    /// `systemd.quadlets` (fcos 1.8.0-experimental): files under /etc/containers/systemd, and
    /// links for template instances (upstream base/v0_8_exp processQuadlets).
    pub(crate) fn process_quadlets(&mut self, c: &Config, out: &mut ignition::Config) {
        if c.systemd.quadlets.is_empty() {
            return;
        }
        let mut tracker = NodeTracker::new(&out.storage);
        let saved_y = std::mem::take(&mut self.y);
        let saved_j = std::mem::take(&mut self.j);
        self.y = vec![f("systemd"), f("quadlets")];
        self.rec_absolute(vec![f("storage")]);
        for (qi, quadlet) in c.systemd.quadlets.iter().enumerate() {
            let quadlet_y = vec![f("systemd"), f("quadlets"), PathElement::Index(qi)];
            self.y = quadlet_y.clone();
            if let Some(template) = quadlet_template(&quadlet.name) {
                let dest = quadlet_path(quadlet.rootful, &quadlet.name);
                if tracker.exists(&dest) {
                    self.error_at(&[], ERR_NODE_EXISTS);
                } else {
                    let link = ignition::Link {
                        node: ignition::Node {
                            path: dest.clone(),
                            ..ignition::Node::default()
                        },
                        target: Some(template),
                        ..ignition::Link::default()
                    };
                    let index = out.storage.links.len();
                    tracker.links.insert(dest, index);
                    self.common_source("links", index, &link);
                    out.storage.links.push(link);
                    self.y = with_tail(&quadlet_y, &[f("name")]);
                    self.rec_absolute(vec![
                        f("storage"),
                        f("links"),
                        PathElement::Index(index),
                        f("path"),
                    ]);
                    self.y = quadlet_y.clone();
                    self.rec_absolute(vec![
                        f("storage"),
                        f("links"),
                        PathElement::Index(index),
                        f("target"),
                    ]);
                }
            } else {
                let dest = quadlet_path(quadlet.rootful, &quadlet.name);
                self.quadlet_file(
                    quadlet.contents_local.as_deref(),
                    quadlet.contents.as_deref(),
                    &dest,
                    &quadlet_y,
                    &mut tracker,
                    out,
                );
            }
            for (di, dropin) in quadlet.dropins.iter().enumerate() {
                let dropin_y = with_tail(&quadlet_y, &[f("dropins"), PathElement::Index(di)]);
                let dest = format!(
                    "{}.d/{}",
                    quadlet_path(quadlet.rootful, &quadlet.name),
                    dropin.name
                );
                self.quadlet_file(
                    dropin.contents_local.as_deref(),
                    dropin.contents.as_deref(),
                    &dest,
                    &dropin_y,
                    &mut tracker,
                    out,
                );
            }
        }
        self.y = saved_y;
        self.j = saved_j;
    }

    /// Upstream's addFileWithContents.
    fn quadlet_file(
        &mut self,
        local: Option<&str>,
        inline: Option<&str>,
        dest: &str,
        at: &[PathElement],
        tracker: &mut NodeTracker,
        out: &mut ignition::Config,
    ) {
        self.y = at.to_vec();
        if tracker.exists(dest) {
            self.error_at(&[], ERR_NODE_EXISTS);
            return;
        }
        let file = ignition::File {
            node: ignition::Node {
                path: dest.to_owned(),
                ..ignition::Node::default()
            },
            ..ignition::File::default()
        };
        let index = out.storage.files.len();
        tracker.files.insert(dest.to_owned(), index);
        self.common_source("files", index, &file);
        out.storage.files.push(file);
        let file_j = |tail: &[&'static str]| {
            let mut p = vec![f("storage"), f("files"), PathElement::Index(index)];
            p.extend(tail.iter().map(|t| f(t)));
            p
        };
        self.y = with_tail(at, &[f("name")]);
        self.rec_absolute(file_j(&["path"]));
        let mut contents: Vec<u8> = Vec::new();
        let mut contents_y: Vec<PathElement> = Vec::new();
        if let Some(local) = local.filter(|l| !l.is_empty()) {
            contents_y = with_tail(at, &[f("contents_local")]);
            match self.read_local(local) {
                Ok(bytes) => contents = bytes,
                Err(message) => {
                    self.y = contents_y;
                    self.error_at(&[], message);
                    return;
                }
            }
        }
        if let Some(inline) = inline.filter(|i| !i.is_empty()) {
            contents_y = with_tail(at, &[f("contents")]);
            contents = inline.as_bytes().to_vec();
        }
        let auto_compress = self.cx.auto_compress;
        let url = make_data_url(&contents, None, auto_compress);
        let file = &mut out.storage.files[index];
        file.contents.source = Some(url.url);
        let compressed = url.compression.is_some();
        file.contents.compression = url.compression;
        file.mode = Some(0o644);
        self.y = contents_y.clone();
        self.rec_absolute(file_j(&["contents", "source"]));
        if compressed {
            self.y = at.to_vec();
            self.rec_absolute(file_j(&["contents", "compression"]));
        }
        self.y = contents_y;
        self.rec_absolute(file_j(&["contents"]));
        self.y = at.to_vec();
        self.rec_absolute(file_j(&["mode"]));
    }
}

fn with_tail(base: &[PathElement], tail: &[PathElement]) -> Vec<PathElement> {
    let mut p = base.to_vec();
    p.extend_from_slice(tail);
    p
}
