//! What a fleet file reaches stays inside its directory, and every read is bounded: snippets, key
//! files and Butane `local` and `tree` sources that lead out of the fleet directory through a
//! symlink are refused (those that stay inside keep working, a tree's own symlinks are copied as
//! links); FIFOs, devices and directories are refused without blocking; each kind of file has a
//! size limit that the message names. `fleet butane -d` follows upstream butane's rule instead
//! (paths checked as written, symlinks followed) with the same refusals and limits.
//!
//! Everything here is real: symlinks, FIFOs (made with `mkfifo`), `/dev/zero`, sparse files of any
//! size (`File::set_len`). Every run goes through `run_fleet_bounded`, so a regression that reads
//! `/dev/zero` or waits on a FIFO fails the test instead of eating the machine or hanging.

use std::fs::File;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use fleet_ignition::ignition::data_url_contents;
use fleet_tests::binary::run_fleet_bounded;
use serde_json::Value;

const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKNOWyXQBy0NxY19bdlDWtvd8Gxz64aqgA5u/Qry1bUw ops@example.com";

/// What no rendered file may contain: the contents of the files outside the fleet directory.
const SECRET: &str = "SECRET-FROM-OUTSIDE";

const MIB: u64 = 1024 * 1024;

/// A temporary `fleet/` directory with a fleet file, beside an `outside/` directory holding a file
/// (`outside/secret`), a snippet and a key that the fleet must never reach.
struct Scene {
    _temporary: tempfile::TempDir,
    base: PathBuf,
}

impl Scene {
    fn new() -> Scene {
        let temporary = tempfile::tempdir().expect("temporary directory");
        let base = temporary.path().to_path_buf();
        let scene = Scene {
            _temporary: temporary,
            base,
        };
        std::fs::create_dir_all(scene.fleet_dir()).expect("mkdir fleet");
        scene.write_outside("secret", &format!("{SECRET}\n"));
        scene.write_outside(
            "other.bu",
            &format!("variant: fcos\nversion: 1.5.0\nstorage:\n  files:\n    - path: /etc/other\n      contents:\n        inline: {SECRET}\n"),
        );
        scene.write_outside("other.pub", &format!("{KEY}\n"));
        scene.write_outside("tree/etc/from-outside", SECRET);
        scene
    }

    fn fleet_dir(&self) -> PathBuf {
        self.base.join("fleet")
    }

    fn outside(&self, path: &str) -> PathBuf {
        self.base.join("outside").join(path)
    }

    fn fleet_toml(&self) -> PathBuf {
        self.fleet_dir().join("fleet.toml")
    }

    /// Write `fleet.toml` naming these snippets and SSH key files.
    fn fleet_file(&self, snippets: &[&str], key_files: &[&str]) {
        let list = |paths: &[&str]| {
            paths
                .iter()
                .map(|path| format!("{path:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        self.write(
            "fleet.toml",
            &format!(
                r#"[fleet]
name = "confine"
[fleet.image]
path = "fcos.qcow2"
[maintenance]
strategy = "immediate"
[defaults]
butane = [{}]
[[defaults.users]]
name = "core"
ssh_key_files = [{}]
[[group]]
name = "web"
count = 1
"#,
                list(snippets),
                list(key_files)
            ),
        );
    }

    fn write(&self, path: &str, contents: &str) {
        write_file(&self.fleet_dir().join(path), contents);
    }

    fn write_outside(&self, path: &str, contents: &str) {
        write_file(&self.outside(path), contents);
    }

    /// `fleet/PATH` as a symlink to `target`, written as given.
    fn symlink(&self, target: impl AsRef<Path>, path: &str) {
        let link = self.fleet_dir().join(path);
        std::fs::create_dir_all(link.parent().expect("parent")).expect("mkdir");
        symlink(target, link).expect("symlink");
    }

    fn fifo(&self, path: &str) {
        let fifo = self.fleet_dir().join(path);
        std::fs::create_dir_all(fifo.parent().expect("parent")).expect("mkdir");
        let status = Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(status.success(), "mkfifo {}", fifo.display());
    }

    /// A sparse file of `length` bytes (zeros that take no disk).
    fn sparse(&self, path: &str, length: u64) {
        let file_path = self.fleet_dir().join(path);
        std::fs::create_dir_all(file_path.parent().expect("parent")).expect("mkdir");
        File::create(&file_path)
            .and_then(|file| file.set_len(length))
            .expect("sparse file");
    }

    /// Run fleet, bounded; stderr with this scene's directory written as `DIR`.
    fn run(&self, arguments: &[&str]) -> (Output, String) {
        self.run_with_stdin(arguments, Stdio::null())
    }

    fn run_with_stdin(&self, arguments: &[&str], stdin: Stdio) -> (Output, String) {
        let output = run_fleet_bounded(arguments, stdin, Duration::from_secs(60))
            .expect("fleet ends within its bounds");
        let stderr =
            String::from_utf8_lossy(&output.stderr).replace(self.base.to_str().unwrap(), "DIR");
        (output, stderr)
    }

    /// Render a fleet whose one snippet, `butane/local.bu`, has this body: refused, with each of
    /// `expected` among the messages, and nothing written.
    fn assert_render_refused(&self, snippet_body: &str, expected: &[&str]) {
        self.write("butane/local.bu", &butane(snippet_body));
        self.fleet_file(&["butane/local.bu"], &[]);
        let (output, stderr, out) = self.render();
        assert_failed(&output, &stderr);
        for expected in expected {
            assert!(stderr.contains(expected), "no `{expected}` in:\n{stderr}");
        }
        assert_nothing_rendered(&out);
    }

    fn render(&self) -> (Output, String, PathBuf) {
        let out = self.base.join("out");
        let (output, stderr) = self.run(&[
            "render",
            self.fleet_toml().to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        (output, stderr, out)
    }
}

fn write_file(path: &Path, contents: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, contents).expect("write");
}

fn butane(body: &str) -> String {
    format!("variant: fcos\nversion: 1.5.0\n{body}")
}

/// Nothing under `out` (if it exists) holds the secret.
fn assert_no_secret_under(out: &Path) {
    for path in files_under(out) {
        let text = std::fs::read_to_string(&path).expect("rendered file");
        assert!(
            !text.contains(SECRET),
            "{} holds the secret",
            path.display()
        );
    }
}

/// A refused render wrote no node's Ignition.
fn assert_nothing_rendered(out: &Path) {
    assert_no_secret_under(out);
    for path in files_under(out) {
        assert!(
            path.extension().is_none_or(|extension| extension != "ign"),
            "{} was rendered although the fleet was refused",
            path.display()
        );
    }
}

fn files_under(directory: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(directory) {
        Ok(entries) => entries.map(|entry| entry.expect("entry").path()).collect(),
        Err(_) => Vec::new(),
    }
}

fn assert_failed(output: &Output, stderr: &str) {
    assert_eq!(
        output.status.code(),
        Some(1),
        "exit status; stderr:\n{stderr}"
    );
}

#[test]
fn snippets_and_key_files_that_lead_out_of_the_fleet_directory_are_refused() {
    let scene = Scene::new();
    scene.symlink("../../outside/other.bu", "butane/relative.bu");
    scene.symlink(scene.outside("other.bu"), "butane/absolute.bu");
    scene.symlink("../../outside", "butane/via-dir");
    scene.symlink("../../outside/other.pub", "keys/ops.pub");
    scene.fleet_file(
        &[
            "butane/relative.bu",
            "butane/absolute.bu",
            "butane/via-dir/other.bu",
        ],
        &["keys/ops.pub"],
    );
    let (output, stderr) = scene.run(&["check", scene.fleet_toml().to_str().unwrap()]);
    assert_failed(&output, &stderr);
    let outside = |name: &str| {
        format!(
            "leads outside the fleet file's directory DIR/fleet (to DIR/outside/{name}); only symlinks that stay inside it are followed"
        )
    };
    assert_eq!(
        stderr,
        format!(
            "DIR/fleet/fleet.toml:8:11: error: butane snippet `butane/relative.bu` (DIR/fleet/butane/relative.bu) {}\n\
             DIR/fleet/fleet.toml:8:33: error: butane snippet `butane/absolute.bu` (DIR/fleet/butane/absolute.bu) {}\n\
             DIR/fleet/fleet.toml:8:55: error: butane snippet `butane/via-dir/other.bu` (DIR/fleet/butane/via-dir/other.bu) {}\n\
             DIR/fleet/fleet.toml:11:18: error: SSH key file `keys/ops.pub` (DIR/fleet/keys/ops.pub) {}\n\
             error: DIR/fleet/fleet.toml: 4 problems found; nothing was done\n",
            outside("other.bu"),
            outside("other.bu"),
            outside("other.bu"),
            outside("other.pub"),
        )
    );
    let (output, stderr, out) = scene.render();
    assert_failed(&output, &stderr);
    assert_nothing_rendered(&out);
}

#[test]
fn local_and_tree_sources_that_lead_out_are_never_embedded() {
    let scene = Scene::new();
    scene.symlink("../../outside/secret", "files/secret-link");
    scene.symlink(scene.outside("secret"), "files/absolute-link");
    scene.symlink("../../outside", "files/outside-dir");
    scene.write(
        "butane/local.bu",
        &butane(
            r#"ignition:
  config:
    merge:
      - local: files/secret-link
storage:
  files:
    - path: /etc/a
      contents:
        local: files/secret-link
    - path: /etc/b
      contents:
        local: files/absolute-link
    - path: /etc/c
      contents:
        local: files/outside-dir/secret
  trees:
    - local: files/outside-dir/tree
      path: /srv
systemd:
  units:
    - name: a.service
      contents_local: files/secret-link
      dropins:
        - name: b.conf
          contents_local: files/secret-link
passwd:
  users:
    - name: core
      ssh_authorized_keys_local: [files/secret-link]
"#,
        ),
    );
    scene.fleet_file(&["butane/local.bu"], &[]);
    let (output, stderr, out) = scene.render();
    assert_failed(&output, &stderr);
    let outside = |to: &str| {
        format!(
            "leads outside the fleet file's directory DIR/fleet (to DIR/outside/{to}); only symlinks that stay inside it are followed"
        )
    };
    let secret = outside("secret");
    let link = "open DIR/fleet/files/secret-link";
    assert_eq!(
        stderr,
        format!(
            "DIR/fleet/butane/local.bu:6:16: error: {link}: {secret} (at $.ignition.config.merge.0.local)\n\
             DIR/fleet/butane/local.bu:31:35: error: {link}: {secret} (at $.passwd.users.0.ssh_authorized_keys_local.0)\n\
             DIR/fleet/butane/local.bu:11:16: error: {link}: {secret} (at $.storage.files.0.contents.local)\n\
             DIR/fleet/butane/local.bu:14:16: error: open DIR/fleet/files/absolute-link: {secret} (at $.storage.files.1.contents.local)\n\
             DIR/fleet/butane/local.bu:17:16: error: open DIR/fleet/files/outside-dir/secret: {secret} (at $.storage.files.2.contents.local)\n\
             DIR/fleet/butane/local.bu:27:27: error: {link}: {secret} (at $.systemd.units.0.dropins.0.contents_local)\n\
             DIR/fleet/butane/local.bu:24:23: error: {link}: {secret} (at $.systemd.units.0.contents_local)\n\
             DIR/fleet/butane/local.bu:19:7: error: stat DIR/fleet/files/outside-dir/tree: {} (at $.storage.trees.0)\n\
             error: DIR/fleet/fleet.toml: 8 problems found; nothing was done\n",
            outside("tree")
        )
    );
    assert_nothing_rendered(&out);
}

/// The rendered node's Ignition.
fn rendered_node(out: &Path) -> Value {
    let bytes = std::fs::read(out.join("web-1.ign")).expect("web-1.ign");
    serde_json::from_slice(&bytes).expect("Ignition JSON")
}

fn file_contents(ignition: &Value, path: &str) -> String {
    let file = ignition["storage"]["files"]
        .as_array()
        .expect("files")
        .iter()
        .find(|file| file["path"] == path)
        .unwrap_or_else(|| panic!("no file {path} in {ignition}"));
    let contents = &file["contents"];
    let bytes = data_url_contents(
        contents["source"].as_str().expect("source"),
        contents["compression"].as_str(),
    )
    .expect("data URL");
    String::from_utf8(bytes).expect("text")
}

#[test]
fn symlinks_that_stay_inside_keep_working_and_tree_links_are_copied() {
    let scene = Scene::new();
    scene.write(
        "real/base.bu",
        &butane(
            r#"storage:
  files:
    - path: /etc/motd
      contents:
        local: files/motd-link
    - path: /etc/issue
      contents:
        local: files/absolute-link
  trees:
    - local: tree
      path: /srv
"#,
        ),
    );
    scene.write("files/motd", "hello from inside\n");
    scene.symlink("motd", "files/motd-link");
    scene.symlink(scene.fleet_dir().join("files/motd"), "files/absolute-link");
    scene.symlink("../real/base.bu", "butane/base.bu");
    scene.write("keys/real.pub", &format!("{KEY}\n"));
    scene.symlink(scene.fleet_dir().join("keys/real.pub"), "keys/ops.pub");
    scene.write("tree/etc/inside", "a tree file\n");
    scene.symlink("../../outside/secret", "tree/etc/relative-out");
    scene.symlink("/etc/passwd", "tree/etc/absolute-out");
    scene.fleet_file(&["butane/base.bu"], &["keys/ops.pub"]);

    let (output, stderr) = scene.run(&["check", scene.fleet_toml().to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "check: {stderr}");
    let (output, stderr, out) = scene.render();
    assert_eq!(output.status.code(), Some(0), "render: {stderr}");
    let ignition = rendered_node(&out);
    assert_eq!(file_contents(&ignition, "/etc/motd"), "hello from inside\n");
    assert_eq!(
        file_contents(&ignition, "/etc/issue"),
        "hello from inside\n"
    );
    assert_eq!(file_contents(&ignition, "/srv/etc/inside"), "a tree file\n");
    let links: Vec<(String, String)> = ignition["storage"]["links"]
        .as_array()
        .expect("links")
        .iter()
        .map(|link| {
            (
                link["path"].as_str().expect("path").to_owned(),
                link["target"].as_str().expect("target").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        links,
        [
            ("/srv/etc/absolute-out".to_owned(), "/etc/passwd".to_owned()),
            (
                "/srv/etc/relative-out".to_owned(),
                "../../outside/secret".to_owned()
            ),
        ]
    );
    let users = ignition["passwd"]["users"].as_array().expect("users");
    assert_eq!(users[0]["sshAuthorizedKeys"][0], KEY);
    assert_no_secret_under(&out);
}

#[test]
fn fifos_devices_and_directories_are_refused_without_blocking() {
    let scene = Scene::new();
    // The fleet file itself.
    scene.fifo("pipe.toml");
    scene.write("dir.toml/keep", "");
    for (fleet_file, what) in [
        (
            "/dev/zero".to_owned(),
            "is a character device, not a regular file",
        ),
        (
            scene.fleet_dir().join("pipe.toml").display().to_string(),
            "is a FIFO (named pipe), not a regular file",
        ),
        (
            scene.fleet_dir().join("dir.toml").display().to_string(),
            "is a directory, not a regular file",
        ),
    ] {
        let (output, stderr) = scene.run(&["check", &fleet_file]);
        assert_failed(&output, &stderr);
        let shown = fleet_file.replace(scene.base.to_str().unwrap(), "DIR");
        assert_eq!(
            stderr,
            format!("error: cannot read the fleet file {shown}: {what}\n")
        );
    }

    // What it names.
    scene.fifo("butane/pipe.bu");
    scene.write("butane/dir.bu/keep", "");
    scene.fifo("keys/pipe.pub");
    scene.fleet_file(&["butane/pipe.bu", "butane/dir.bu"], &["keys/pipe.pub"]);
    let (output, stderr) = scene.run(&["check", scene.fleet_toml().to_str().unwrap()]);
    assert_failed(&output, &stderr);
    assert_eq!(
        stderr,
        "DIR/fleet/fleet.toml:8:11: error: butane snippet `butane/pipe.bu` (DIR/fleet/butane/pipe.bu) is a FIFO (named pipe), not a regular file; name a regular file\n\
         DIR/fleet/fleet.toml:8:29: error: butane snippet `butane/dir.bu` (DIR/fleet/butane/dir.bu) is a directory, not a regular file; name a regular file\n\
         DIR/fleet/fleet.toml:11:18: error: SSH key file `keys/pipe.pub` (DIR/fleet/keys/pipe.pub) is a FIFO (named pipe), not a regular file; name a regular file\n\
         error: DIR/fleet/fleet.toml: 3 problems found; nothing was done\n"
    );

    // Butane local sources.
    scene.fifo("files/pipe");
    scene.fifo("tree/pipe");
    scene.assert_render_refused(
        "storage:\n  files:\n    - path: /etc/a\n      contents:\n        local: files/pipe\n    - path: /etc/b\n      contents:\n        local: files\n  trees:\n    - local: tree\n",
        &[
            "butane/local.bu:7:16: error: open DIR/fleet/files/pipe: is a FIFO (named pipe), not a regular file (at $.storage.files.0.contents.local)",
            "butane/local.bu:10:16: error: open DIR/fleet/files: is a directory, not a regular file (at $.storage.files.1.contents.local)",
            "butane/local.bu:12:7: error: trees may only contain files, directories, and symlinks (at $.storage.trees.0)",
        ],
    );
}

#[test]
fn every_kind_of_file_is_held_to_its_size_limit() {
    let scene = Scene::new();
    scene.sparse("huge.toml", 300 * MIB);
    let (output, stderr) = scene.run(&[
        "check",
        scene.fleet_dir().join("huge.toml").to_str().unwrap(),
    ]);
    assert_failed(&output, &stderr);
    assert_eq!(
        stderr,
        "error: cannot read the fleet file DIR/fleet/huge.toml: is larger than 256 MiB, the limit for a fleet file\n"
    );

    scene.sparse("butane/huge.bu", 32 * MIB + 1);
    scene.sparse("keys/huge.pub", MIB + 1);
    scene.fleet_file(&["butane/huge.bu"], &["keys/huge.pub"]);
    let (output, stderr) = scene.run(&["check", scene.fleet_toml().to_str().unwrap()]);
    assert_failed(&output, &stderr);
    assert_eq!(
        stderr,
        "DIR/fleet/fleet.toml:8:11: error: butane snippet `butane/huge.bu` (DIR/fleet/butane/huge.bu) is larger than 32 MiB, the limit for a Butane config\n\
         DIR/fleet/fleet.toml:11:18: error: SSH key file `keys/huge.pub` (DIR/fleet/keys/huge.pub) is larger than 1 MiB, the limit for an SSH key file\n\
         error: DIR/fleet/fleet.toml: 2 problems found; nothing was done\n"
    );

    scene.sparse("files/huge", 64 * MIB + 1);
    scene.sparse("tree/huge", 64 * MIB + 1);
    scene.assert_render_refused(
        "storage:\n  files:\n    - path: /etc/a\n      contents:\n        local: files/huge\n  trees:\n    - local: tree\n",
        &[
            "butane/local.bu:7:16: error: open DIR/fleet/files/huge: is larger than 64 MiB, the limit for a file a Butane config embeds (at $.storage.files.0.contents.local)",
            "butane/local.bu:9:7: error: open DIR/fleet/tree/huge: is larger than 64 MiB, the limit for a file a Butane config embeds (at $.storage.trees.0)",
        ],
    );
}

#[test]
fn fleet_butane_files_dir_checks_paths_as_written_and_follows_symlinks_like_upstream() {
    let scene = Scene::new();
    let files = scene.fleet_dir().join("files");
    scene.symlink("../../outside/secret", "files/followed");
    scene.symlink("/dev/zero", "files/zero");
    scene.fifo("files/pipe");
    scene.sparse("files/huge", 64 * MIB + 1);
    scene.symlink("../../outside/secret", "files/tree/link");
    scene.write(
        "node.bu",
        &butane(
            "storage:\n  files:\n    - path: /etc/a\n      contents:\n        local: followed\n  trees:\n    - local: tree\n",
        ),
    );
    let input = scene.fleet_dir().join("node.bu");
    let (output, stderr) = scene.run(&[
        "butane",
        "-d",
        files.to_str().unwrap(),
        input.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let ignition: Value = serde_json::from_slice(&output.stdout).expect("Ignition");
    // Followed out of DIR, as upstream butane does; a tree's link is copied, not followed.
    assert_eq!(file_contents(&ignition, "/etc/a"), format!("{SECRET}\n"));
    assert_eq!(ignition["storage"]["links"][0]["path"], "/link");
    assert_eq!(
        ignition["storage"]["links"][0]["target"],
        "../../outside/secret"
    );

    for (local, expected) in [
        ("../secret", "local file path traverses outside the files directory".to_owned()),
        ("zero", "open DIR/fleet/files/zero: is a character device, not a regular file".to_owned()),
        ("pipe", "open DIR/fleet/files/pipe: is a FIFO (named pipe), not a regular file".to_owned()),
        ("huge", "open DIR/fleet/files/huge: is larger than 64 MiB, the limit for a file a Butane config embeds".to_owned()),
    ] {
        scene.write(
            "node.bu",
            &butane(&format!("storage:\n  files:\n    - path: /etc/a\n      contents:\n        local: {local}\n")),
        );
        let (output, stderr) = scene.run(&[
            "butane",
            "--raw-errors",
            "-d",
            files.to_str().unwrap(),
            input.to_str().unwrap(),
        ]);
        assert_failed(&output, &stderr);
        assert_eq!(
            stderr,
            format!("error at $.storage.files.0.contents.local, line 7 col 16: {expected}\nError translating config: source config is invalid\n"),
            "local: {local}"
        );
    }

    // The input itself: a file, a device or standard input, each read only up to its limit.
    let (output, stderr) = scene.run(&["butane", "/dev/zero"]);
    assert_failed(&output, &stderr);
    assert_eq!(
        stderr,
        "error: failed to open /dev/zero: is larger than 32 MiB, the limit for a Butane config\n"
    );
    let zero = File::open("/dev/zero").expect("/dev/zero");
    let (output, stderr) = scene.run_with_stdin(&["butane"], Stdio::from(zero));
    assert_failed(&output, &stderr);
    assert_eq!(
        stderr,
        "error: failed to read standard input: is larger than 32 MiB, the limit for a Butane config\n"
    );
}
