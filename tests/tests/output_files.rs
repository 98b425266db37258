//! Files the user names (`fleet butane -o`, `fleet plan --airlock-config`): a regular file is
//! replaced atomically and keeps its mode, a symlink is written through, a device or FIFO is
//! written in place and stays what it is, a write error exits 1 naming the file.
//!
//! Device nodes are made in the test's own directory (`mknod`, as root), never the system's:
//! the bug this guards against turned /dev/null itself into a regular file.

use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use fleet_tests::binary::{fleet_binary, fleet_command, run_fleet};
use fleet_tests::hostile::{make_char_device, make_fifo, output_within};

const LIMIT: Duration = Duration::from_secs(60);

fn butane_input() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fleet/butane/web.bu")
}

/// What `fleet butane web.bu` prints on stdout: what every `-o` target must receive.
fn expected_ignition() -> Vec<u8> {
    let output = run_fleet(["butane".as_ref(), butane_input().as_os_str()]).unwrap();
    assert!(output.status.success());
    output.stdout
}

fn butane_to(target: &Path) -> fleet_tests::hostile::BoundedOutput {
    let mut command = fleet_command().unwrap();
    command
        .arg("butane")
        .arg(butane_input())
        .arg("-o")
        .arg(target);
    output_within(&mut command, LIMIT).unwrap()
}

#[test]
fn a_device_stays_a_device() {
    let directory = tempfile::tempdir().unwrap();
    // Our own /dev/null twin; without root, the real one (which this run then must not replace).
    let device = make_char_device(&directory.path().join("null"), 1, 3)
        .unwrap_or_else(|| PathBuf::from("/dev/null"));
    let before = std::fs::symlink_metadata(&device).unwrap();
    let output = butane_to(&device);
    assert!(output.status.success(), "{}", output.stderr);
    let after = std::fs::symlink_metadata(&device).unwrap();
    assert!(
        after.file_type().is_char_device(),
        "{} became {:?}",
        device.display(),
        after.file_type()
    );
    assert_eq!((after.ino(), after.rdev()), (before.ino(), before.rdev()));
}

#[test]
fn a_write_error_exits_1_and_names_the_file() {
    let directory = tempfile::tempdir().unwrap();
    let Some(full) = make_char_device(&directory.path().join("full"), 1, 7) else {
        eprintln!(
            "skipped: only root can make a /dev/full twin, and the real one must not be risked"
        );
        return;
    };
    let output = butane_to(&full);
    assert_eq!(output.status.code(), Some(1), "{}", output.stderr);
    assert!(
        output
            .stderr
            .contains(&format!("cannot write {}", full.display()))
            && output.stderr.contains("No space left on device"),
        "{}",
        output.stderr
    );
    assert!(
        std::fs::symlink_metadata(&full)
            .unwrap()
            .file_type()
            .is_char_device()
    );
}

#[test]
fn a_fifo_is_written_to_its_reader_and_stays_a_fifo() {
    let directory = tempfile::tempdir().unwrap();
    let fifo = directory.path().join("pipe");
    make_fifo(&fifo).unwrap();
    let mut reader = Command::new("cat")
        .arg(&fifo)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let output = butane_to(&fifo);
    let status = output.status;
    if !std::fs::symlink_metadata(&fifo)
        .unwrap()
        .file_type()
        .is_fifo()
    {
        // The reader waits on a FIFO nobody will open any more: end it before failing.
        let _ = reader.kill();
        let _ = reader.wait();
        panic!("the FIFO was replaced ({status}): {}", output.stderr);
    }
    let received = reader.wait_with_output().unwrap();
    assert!(status.success(), "{}", output.stderr);
    assert_eq!(received.stdout, expected_ignition());
}

#[test]
fn a_symlink_is_written_through_and_its_target_keeps_its_mode() {
    let directory = tempfile::tempdir().unwrap();
    let real = directory.path().join("real.ign");
    std::fs::write(&real, b"old").unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = directory.path().join("link.ign");
    std::os::unix::fs::symlink("real.ign", &link).unwrap();
    let output = butane_to(&link);
    assert!(output.status.success(), "{}", output.stderr);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read(&real).unwrap(), expected_ignition());
    assert_eq!(
        std::fs::metadata(&real).unwrap().permissions().mode() & 0o7777,
        0o640
    );
}

#[test]
fn a_new_file_gets_0644_less_the_umask() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("new.ign");
    let status = Command::new("sh")
        .arg("-c")
        .arg("umask 027 && exec \"$0\" butane \"$1\" -o \"$2\"")
        .arg(fleet_binary().unwrap())
        .arg(butane_input())
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(std::fs::read(&path).unwrap(), expected_ignition());
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
        0o640
    );
}

#[test]
fn airlock_config_follows_the_same_rule() {
    let directory = tempfile::tempdir().unwrap();
    let fleet_toml = directory.path().join("fleet.toml");
    std::fs::write(
        &fleet_toml,
        "[fleet]\nname = \"lock\"\n[fleet.image]\nvolume = \"fcos.qcow2\"\n\n\
         [maintenance]\nstrategy = \"fleet_lock\"\nfleet_lock_url = \"http://10.0.0.1:3333\"\n\n\
         [[group]]\nname = \"g\"\ncount = 2\nhostname = \"g-{index}\"\n",
    )
    .unwrap();
    let real = directory.path().join("airlock.toml");
    let link = directory.path().join("link.toml");
    std::os::unix::fs::symlink("airlock.toml", &link).unwrap();
    let device = make_char_device(&directory.path().join("null"), 1, 3)
        .unwrap_or_else(|| PathBuf::from("/dev/null"));
    for target in [&link, &device] {
        let output = run_fleet([
            "plan".as_ref(),
            fleet_toml.as_os_str(),
            "--airlock-config".as_ref(),
            target.as_os_str(),
        ])
        .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read_to_string(&real)
            .unwrap()
            .contains("[[lock.groups]]")
            || std::fs::read_to_string(&real).unwrap().contains("slots"),
        "{}",
        std::fs::read_to_string(&real).unwrap()
    );
    assert!(
        std::fs::symlink_metadata(&device)
            .unwrap()
            .file_type()
            .is_char_device()
    );
}
