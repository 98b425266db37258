//! `fleet render --out DIR` as an attacker or an unlucky user meets it: render writes every node
//! and the manifest or changes nothing (a property test over planted obstacles), never removes
//! anything outside DIR or not its own, creates DIR 0700 whatever the umask, and finishes what a
//! render SIGKILLed midway left, removing its staging directory.

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, PermissionsExt as _, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use fleet_tests::binary::{fleet_binary, fleet_command, run_fleet};
use fleet_tests::console::sha256_hex;
use fleet_tests::hostile::{
    immutable_files_supported, make_char_device, make_fifo, output_within, set_immutable,
};
use proptest::prelude::*;
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(30);

/// A fleet of `count` nodes n-1 … n-COUNT, written into `directory`.
fn small_fleet(directory: &Path, count: usize) -> PathBuf {
    let path = directory.join(format!("fleet-{count}.toml"));
    std::fs::write(
        &path,
        format!(
            "[fleet]\nname = \"aon\"\n[fleet.image]\nvolume = \"fcos.qcow2\"\n\
             [maintenance]\nstrategy = \"immediate\"\n\
             [[group]]\nname = \"n\"\ncount = {count}\nhostname = \"n-{{index}}\"\n\
             [group.rollout]\nmax_unavailable = {count}\ncanaries = 0\nsoak_minutes = 0\n"
        ),
    )
    .unwrap();
    path
}

fn render(fleet: &Path, out: &Path) -> fleet_tests::hostile::BoundedOutput {
    let mut command = fleet_command().unwrap();
    command.arg("render").arg(fleet).arg("--out").arg(out);
    output_within(&mut command, LIMIT).unwrap()
}

fn render_ok(fleet: &Path, out: &Path) {
    let output = render(fleet, out);
    assert!(output.status.success(), "{}", output.stderr);
}

/// File name → bytes of every file in `directory` (one level).
fn files_in(directory: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            (
                entry.file_name().to_string_lossy().into_owned(),
                std::fs::read(entry.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_planted_manifest_cannot_remove_anything_outside_the_directory_or_not_fleets() {
    let root = tempfile::tempdir().unwrap();
    let fleet = small_fleet(root.path(), 3);
    let out = root.path().join("out");
    render_ok(&fleet, &out);
    // Files outside DIR, and inside DIR files fleet did not write, each with the hash a manifest
    // would need to claim it.
    let outside = root.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let victim = |name: &str| {
        let path = outside.join(format!("{name}.ign"));
        std::fs::write(&path, name).unwrap();
        (path, sha256_hex(name.as_bytes()))
    };
    let (relative_victim, relative_hash) = victim("relative");
    let (absolute_victim, absolute_hash) = victim("absolute");
    let (linked_victim, linked_hash) = victim("linked");
    symlink(&linked_victim, out.join("gone-link.ign")).unwrap();
    std::fs::write(out.join("gone-user.ign"), "user's own").unwrap();
    let manifest_path = out.join("manifest.json");
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    let nodes = manifest["nodes"].as_object_mut().unwrap();
    nodes.insert("../outside/relative".into(), relative_hash.into());
    nodes.insert(
        absolute_victim
            .with_extension("")
            .to_str()
            .unwrap()
            .to_owned(),
        absolute_hash.into(),
    );
    nodes.insert("gone-link".into(), linked_hash.into());
    nodes.insert("gone-user".into(), sha256_hex(b"other bytes").into());
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();

    render_ok(&fleet, &out);
    for path in [&relative_victim, &absolute_victim, &linked_victim] {
        assert!(path.is_file(), "{} was removed", path.display());
    }
    assert!(
        std::fs::symlink_metadata(out.join("gone-link.ign"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read(out.join("gone-user.ign")).unwrap(),
        b"user's own"
    );

    // A manifest of another fleet: its former node's file, hash and all, stays.
    let foreign = root.path().join("foreign");
    render_ok(&small_fleet(root.path(), 3), &foreign);
    std::fs::write(foreign.join("x-9.ign"), "x").unwrap();
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(foreign.join("manifest.json")).unwrap()).unwrap();
    manifest["fleet"] = "another".into();
    manifest["nodes"]["x-9"] = sha256_hex(b"x").into();
    std::fs::write(
        foreign.join("manifest.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    render_ok(&fleet, &foreign);
    assert!(foreign.join("x-9.ign").is_file());
}

#[test]
fn directories_are_created_0700_and_files_0600_under_umask_000() {
    let root = tempfile::tempdir().unwrap();
    let fleet = small_fleet(root.path(), 3);
    let out = root.path().join("a/b/out");
    let status = Command::new("sh")
        .arg("-c")
        .arg("umask 000 && exec \"$0\" render \"$1\" --out \"$2\"")
        .arg(fleet_binary().unwrap())
        .arg(&fleet)
        .arg(&out)
        .env("NO_COLOR", "1")
        .status()
        .unwrap();
    assert!(status.success());
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o7777;
    for directory in [root.path().join("a"), root.path().join("a/b"), out.clone()] {
        assert_eq!(mode(&directory), 0o700, "{}", directory.display());
    }
    let names: Vec<String> = files_in(&out).into_keys().collect();
    assert_eq!(names, ["manifest.json", "n-1.ign", "n-2.ign", "n-3.ign"]);
    for name in names {
        assert_eq!(mode(&out.join(&name)), 0o600, "{name}");
    }
}

/// How fleet names its staging directories (`crates/fleet-cli/src/output_staging.rs`).
const STAGING_PREFIX: &str = ".fleet-staging-";

fn is_staging(name: &str) -> bool {
    name.starts_with(STAGING_PREFIX)
}

/// The staging directories in `directory`.
fn staging_directories(directory: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap())
        .filter(|entry| is_staging(&entry.file_name().to_string_lossy()))
        .map(|entry| entry.path())
        .collect()
}

/// `files_in`, leaving staging directories out.
fn rendered_files_in(directory: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(directory)
        .unwrap()
        .map(|entry| entry.unwrap())
        .map(|entry| {
            (
                entry.file_name().to_string_lossy().into_owned(),
                entry.path(),
            )
        })
        .filter(|(name, _)| !is_staging(name))
        .map(|(name, path)| (name, std::fs::read(path).unwrap()))
        .collect()
}

/// SIGKILL a render in the middle of putting its files into place (its staging directory keeps
/// the first replaced ones under `old/`): the directory is left part old, part new, with the
/// staging directory. The next render makes it exactly what a clean render writes and removes the
/// staging directory, saying so.
#[test]
fn a_render_killed_midway_is_finished_by_the_next_which_removes_its_staging_directory() {
    const NODES: usize = 1000;
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    let original = small_fleet(root.path(), NODES);
    render_ok(&original, &out);
    // The same nodes with other bytes: every file is replaced, so `old/` appears with the first.
    let changed = root.path().join("changed.toml");
    let text = std::fs::read_to_string(&original).unwrap();
    std::fs::write(
        &changed,
        text.replace(
            "[[group]]",
            "[defaults]\nkernel_arguments = [\"quiet\"]\n[[group]]",
        ),
    )
    .unwrap();
    let clean = root.path().join("clean");
    render_ok(&changed, &clean);

    let mut command = fleet_command().unwrap();
    command
        .arg("render")
        .arg(&changed)
        .arg("--out")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = command.spawn().unwrap();
    let started = std::time::Instant::now();
    let mut staging = None;
    let killed = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break Err(exit);
        }
        if started.elapsed() > LIMIT {
            child.kill().unwrap();
            panic!("the render put nothing into place within {LIMIT:?}");
        }
        match &staging {
            None => {
                staging = staging_directories(&out).pop();
                std::thread::sleep(Duration::from_millis(1));
            }
            Some(staging) if staging.join("old").is_dir() => {
                child.kill().unwrap();
                break Ok(());
            }
            // The commit is under way soon: from here on every moment counts.
            Some(_) => std::thread::sleep(Duration::from_micros(50)),
        }
    };
    let _ = child.wait();
    assert!(
        killed.is_ok(),
        "the render ended ({killed:?}) before it was caught putting files into place"
    );
    let left = rendered_files_in(&out);
    let expected = files_in(&clean);
    let new = expected
        .iter()
        .filter(|(name, bytes)| left.get(*name) == Some(*bytes))
        .count();
    assert!(
        new < expected.len(),
        "the kill came after the render finished putting files into place"
    );
    assert_eq!(
        staging_directories(&out).len(),
        1,
        "the killed render's staging directory is left"
    );

    let finished = render(&changed, &out);
    assert!(finished.status.success(), "{}", finished.stderr);
    assert!(
        finished
            .stderr
            .contains("removed 1 staging directory a killed render had left"),
        "{}",
        finished.stderr
    );
    assert_eq!(staging_directories(&out), Vec::<PathBuf>::new());
    let after = files_in(&out);
    assert!(
        after == expected,
        "the directory is not what a clean render writes ({} files, {} expected)",
        after.len(),
        expected.len()
    );
}

/// What a render must leave: the three-node fleet rendered into a fresh directory, and a
/// four-node render of the same fleet (n-4 then leaves: its file is the stale one).
struct Reference {
    _directory: tempfile::TempDir,
    fleet: PathBuf,
    expected: BTreeMap<String, Vec<u8>>,
    previous: BTreeMap<String, Vec<u8>>,
    root: bool,
    immutable: bool,
}

fn reference() -> &'static Reference {
    static REFERENCE: OnceLock<Reference> = OnceLock::new();
    REFERENCE.get_or_init(|| {
        let directory = tempfile::tempdir().unwrap();
        let fleet = small_fleet(directory.path(), 3);
        render_ok(&fleet, &directory.path().join("expected"));
        let four = small_fleet(directory.path(), 4);
        render_ok(&four, &directory.path().join("previous"));
        let root = std::fs::metadata("/proc/self").unwrap().uid() == 0;
        Reference {
            fleet,
            expected: files_in(&directory.path().join("expected")),
            previous: files_in(&directory.path().join("previous")),
            root,
            immutable: immutable_files_supported(directory.path()),
            _directory: directory,
        }
    })
}

/// What DIR is before the render.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Start {
    Missing,
    Empty,
    /// The four-node render: n-4.ign is stale and must go.
    Previous,
    /// The same, with DIR read-only (0500).
    PreviousReadOnly,
}

/// Something planted where render wants a file.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Planted {
    Directory,
    /// A regular file with other bytes, mode 0400.
    ReadOnlyFile,
    /// Exactly what render would write, mode 0600.
    UpToDate,
    /// A symlink to a file outside DIR.
    SymlinkOut,
    DanglingSymlink,
    Fifo,
    CharDevice,
    /// A regular file with other bytes and the immutable attribute: nothing can replace it.
    Immutable,
}

impl Planted {
    /// Whether render must refuse to write over it (it is not a regular file).
    fn in_the_way(self) -> bool {
        matches!(
            self,
            Planted::Directory
                | Planted::SymlinkOut
                | Planted::DanglingSymlink
                | Planted::Fifo
                | Planted::CharDevice
        )
    }
}

/// The paths render writes, and the stale one it removes.
const TARGETS: [&str; 5] = ["n-1.ign", "n-2.ign", "n-3.ign", "manifest.json", "n-4.ign"];

fn start_strategy() -> impl Strategy<Value = Start> {
    prop_oneof![
        Just(Start::Missing),
        Just(Start::Empty),
        Just(Start::Previous),
        Just(Start::PreviousReadOnly),
    ]
}

fn planted_strategy() -> impl Strategy<Value = Option<Planted>> {
    let reference = reference();
    let mut kinds = vec![
        Planted::Directory,
        Planted::ReadOnlyFile,
        Planted::UpToDate,
        Planted::SymlinkOut,
        Planted::DanglingSymlink,
        Planted::Fifo,
    ];
    if reference.root {
        kinds.push(Planted::CharDevice);
    }
    if reference.immutable {
        kinds.push(Planted::Immutable);
    }
    // Most paths hold nothing planted, so that cases with one obstacle, or none, are common.
    prop_oneof![
        3 => Just(None),
        1 => proptest::sample::select(kinds).prop_map(Some),
    ]
}

/// One entry of a directory tree as render could change it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    kind: String,
    mode: u32,
    inode: u64,
    contents: Vec<u8>,
}

/// Every entry under `root` (symlinks not followed), by path relative to it.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Entry> {
    let mut entries = BTreeMap::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(directory) = pending.pop() {
        for entry in std::fs::read_dir(&directory).unwrap() {
            let path = entry.unwrap().path();
            let metadata = std::fs::symlink_metadata(&path).unwrap();
            let file_type = metadata.file_type();
            let (kind, contents) = if file_type.is_dir() {
                pending.push(path.clone());
                ("directory", Vec::new())
            } else if file_type.is_symlink() {
                let target = std::fs::read_link(&path).unwrap();
                ("symlink", target.into_os_string().into_encoded_bytes())
            } else if file_type.is_file() {
                ("file", std::fs::read(&path).unwrap())
            } else if file_type.is_fifo() {
                ("fifo", Vec::new())
            } else if file_type.is_char_device() {
                ("char device", metadata.rdev().to_le_bytes().to_vec())
            } else {
                ("other", Vec::new())
            };
            entries.insert(
                path.strip_prefix(root).unwrap().to_path_buf(),
                Entry {
                    kind: kind.to_owned(),
                    mode: metadata.permissions().mode() & 0o7777,
                    inode: metadata.ino(),
                    contents,
                },
            );
        }
    }
    entries
}

/// Undoes what would stop the temporary directory from being removed (immutable files, a
/// read-only DIR), also when an assertion fails.
struct Cleanup {
    immutable: Vec<PathBuf>,
    read_only: Option<PathBuf>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for path in &self.immutable {
            let _ = set_immutable(path, false);
        }
        if let Some(directory) = &self.read_only {
            let _ = std::fs::set_permissions(directory, std::fs::Permissions::from_mode(0o700));
        }
    }
}

fn plant(planted: Planted, path: &Path, name: &str, outside: &Path, cleanup: &mut Cleanup) {
    let _ = std::fs::remove_file(path);
    match planted {
        Planted::Directory => {
            std::fs::create_dir(path).unwrap();
            std::fs::write(path.join("inside"), "kept").unwrap();
        }
        Planted::ReadOnlyFile | Planted::Immutable => {
            std::fs::write(path, "planted").unwrap();
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o400)).unwrap();
            if planted == Planted::Immutable {
                set_immutable(path, true).unwrap();
                cleanup.immutable.push(path.to_path_buf());
            }
        }
        Planted::UpToDate => {
            let bytes = reference()
                .expected
                .get(name)
                .or_else(|| reference().previous.get(name))
                .unwrap();
            std::fs::write(path, bytes).unwrap();
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        Planted::SymlinkOut => symlink(outside.join("victim"), path).unwrap(),
        Planted::DanglingSymlink => symlink(outside.join("nothing-here"), path).unwrap(),
        Planted::Fifo => make_fifo(path).unwrap(),
        Planted::CharDevice => {
            make_char_device(path, 1, 3).expect("mknod as root");
        }
    }
}

fn check_all_or_nothing(start: Start, planted: &[Option<Planted>]) -> Result<(), TestCaseError> {
    let reference = reference();
    let root = tempfile::tempdir().unwrap();
    let outside = root.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("victim"), "victim").unwrap();
    let out = root.path().join("out");
    let mut cleanup = Cleanup {
        immutable: Vec::new(),
        read_only: None,
    };
    if start != Start::Missing {
        std::fs::create_dir(&out).unwrap();
    }
    if matches!(start, Start::Previous | Start::PreviousReadOnly) {
        for (name, bytes) in &reference.previous {
            std::fs::write(out.join(name), bytes).unwrap();
            std::fs::set_permissions(out.join(name), std::fs::Permissions::from_mode(0o600))
                .unwrap();
        }
    }
    for (name, planted) in TARGETS.iter().zip(planted) {
        if let Some(planted) = planted {
            if start == Start::Missing {
                std::fs::create_dir_all(&out).unwrap();
            }
            plant(*planted, &out.join(name), name, &outside, &mut cleanup);
        }
    }
    if start == Start::PreviousReadOnly {
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o500)).unwrap();
        cleanup.read_only = Some(out.clone());
    }

    let before = snapshot(root.path());
    let output = render(&reference.fleet, &out);
    let after = snapshot(root.path());

    let wanted = &planted[..4];
    let in_the_way = wanted.iter().flatten().any(|planted| planted.in_the_way());
    let immutable = wanted
        .iter()
        .flatten()
        .any(|planted| *planted == Planted::Immutable);
    // n-4.ign is fleet's to remove only while the previous manifest lists it and it holds what
    // that manifest recorded.
    let stale_is_fleets = matches!(start, Start::Previous | Start::PreviousReadOnly)
        && planted[3].is_none()
        && planted[4].is_none_or(|planted| planted == Planted::UpToDate);
    if output.status.success() {
        prop_assert!(
            !in_the_way,
            "render replaced an obstacle: {}",
            output.stderr
        );
        for (name, bytes) in &reference.expected {
            let entry = after.get(&Path::new("out").join(name));
            prop_assert!(
                entry.is_some_and(|entry| entry.kind == "file"
                    && entry.mode == 0o600
                    && entry.contents == *bytes),
                "{name} after a successful render: {entry:?}"
            );
        }
        let stale = Path::new("out").join("n-4.ign");
        if stale_is_fleets {
            prop_assert!(!after.contains_key(&stale), "the stale n-4.ign stayed");
        } else {
            prop_assert_eq!(after.get(&stale), before.get(&stale), "n-4.ign not fleet's");
        }
        if start == Start::Missing && planted.iter().all(Option::is_none) {
            prop_assert_eq!(after[Path::new("out")].mode, 0o700);
        }
        let leftovers: Vec<&PathBuf> = after
            .keys()
            .filter(|path| path.to_string_lossy().contains(".fleet-"))
            .collect();
        prop_assert!(leftovers.is_empty(), "left behind: {leftovers:?}");
        for (path, entry) in &before {
            if !path.starts_with("out") {
                prop_assert_eq!(after.get(path), Some(entry), "outside DIR: {:?}", path);
            }
        }
    } else {
        prop_assert!(!output.stderr.trim().is_empty(), "failed without a message");
        prop_assert!(
            before == after,
            "a failed render ({}) changed the tree:\n{}\nbefore: {before:#?}\nafter: {after:#?}",
            output.status,
            output.stderr
        );
        let explained =
            in_the_way || immutable || (start == Start::PreviousReadOnly && !reference.root);
        prop_assert!(
            explained,
            "render failed without a reason: {}",
            output.stderr
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Whatever is planted at the paths render writes, it writes every node and the manifest,
    /// or it fails and the tree (DIR and everything beside it) is exactly as it was.
    #[test]
    fn render_writes_everything_or_changes_nothing(
        start in start_strategy(),
        planted in proptest::collection::vec(planted_strategy(), TARGETS.len()),
    ) {
        check_all_or_nothing(start, &planted)?;
    }
}

#[test]
fn an_obstacle_is_named_and_nothing_is_written() {
    let root = tempfile::tempdir().unwrap();
    let fleet = small_fleet(root.path(), 3);
    let out = root.path().join("out");
    std::fs::create_dir_all(out.join("n-2.ign")).unwrap();
    let output = run_fleet([
        "render".as_ref(),
        fleet.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ])
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("{} is a directory", out.join("n-2.ign").display()))
            && stderr.contains("nothing was written"),
        "{stderr}"
    );
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["n-2.ign"]);
}
