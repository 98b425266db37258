//! The private staging directories of `output_dir`'s updates: `DIR/.fleet-staging-XXXXXX` (0700),
//! holding the new files before they are renamed into place and, under `old/`, the files they
//! replace. Each holds a `lock` file its process keeps locked for as long as it runs, so a staging
//! directory whose lock can be taken was left by an update that was killed (SIGKILL, power loss):
//! the next update of DIR removes it, and only when it holds nothing fleet does not put there.

use std::fs::{self, File, Permissions, TryLockError};
use std::io;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

/// The names a staging directory takes: made as `.fleet-preparing-*`, renamed to
/// `.fleet-staging-*` once its lock is held, so that a sweep never sees one whose lock is not yet
/// taken.
const PREPARING_PREFIX: &str = ".fleet-preparing-";
const STAGING_PREFIX: &str = ".fleet-staging-";
/// The lock file inside a staging directory.
const LOCK: &str = "lock";
/// Where a staging directory keeps the files its update replaces or removes.
pub(crate) const OLD: &str = "old";

/// A staging directory this process made and holds locked; dropping it removes it.
#[derive(Debug)]
pub(crate) struct Staging {
    path: PathBuf,
    /// Held for the directory's lifetime: the lock is what tells a sweep that this one is live.
    _lock: File,
}

impl Staging {
    /// Make a new locked staging directory in `directory`.
    pub(crate) fn create(directory: &Path) -> io::Result<Staging> {
        let preparing = tempfile::Builder::new()
            .prefix(PREPARING_PREFIX)
            .permissions(Permissions::from_mode(0o700))
            .tempdir_in(directory)?;
        fs::set_permissions(preparing.path(), Permissions::from_mode(0o700))?;
        let lock = File::options()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(preparing.path().join(LOCK))?;
        lock.try_lock().map_err(io::Error::from)?;
        let suffix = preparing
            .path()
            .file_name()
            .and_then(|name| name.to_str())
            .and_then(|name| name.strip_prefix(PREPARING_PREFIX))
            .ok_or_else(|| io::Error::other("tempfile made an unexpected name"))?
            .to_owned();
        let path = directory.join(format!("{STAGING_PREFIX}{suffix}"));
        fs::rename(preparing.path(), &path)?;
        // Renamed away: nothing is left for the temporary directory's own cleanup.
        let _ = preparing.keep();
        Ok(Staging { path, _lock: lock })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Staging {
    /// Remove the staging directory and the replaced files it keeps (everything in it is this
    /// process's own); a failure only costs space.
    fn drop(&mut self) {
        if let Err(error) = fs::remove_dir_all(&self.path) {
            tracing::warn!("cannot remove {}: {error}", self.path.display());
        }
    }
}

/// What a sweep of `DIR` found of the staging directories killed updates left.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    /// Removed: left by an update that no longer runs, holding only what fleet puts there.
    pub removed: Vec<PathBuf>,
    /// Left alone, each with why: named like a staging directory but not provably fleet's.
    pub kept: Vec<(PathBuf, String)>,
}

/// Remove the staging directories in `directory` that killed updates left. One that an update
/// still holds is skipped without a word; a look-alike (no lock file, or holding something fleet
/// never puts there) is kept and reported.
pub(crate) fn sweep_abandoned(directory: &Path) -> Swept {
    let mut swept = Swept::default();
    let Ok(entries) = fs::read_dir(directory) else {
        // The update itself reports an unreadable directory.
        return swept;
    };
    let mut candidates: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|entry| {
            entry
                .file_name()
                .to_str()
                .is_some_and(|name| name.starts_with(STAGING_PREFIX))
        })
        .map(|entry| entry.path())
        .collect();
    candidates.sort();
    for path in candidates {
        match sweep_one(&path) {
            Ok(Sweep::Removed) => swept.removed.push(path),
            Ok(Sweep::Live) => {}
            Err(reason) => swept.kept.push((path, reason)),
        }
    }
    swept
}

enum Sweep {
    Removed,
    /// Its update still runs.
    Live,
}

fn sweep_one(path: &Path) -> Result<Sweep, String> {
    let metadata = fs::symlink_metadata(path).map_err(|error| error.to_string())?;
    if !metadata.is_dir() {
        return Err("it is not a directory".to_owned());
    }
    let lock_path = path.join(LOCK);
    let is_plain_file = |path: &Path| fs::symlink_metadata(path).is_ok_and(|found| found.is_file());
    if !is_plain_file(&lock_path) {
        return Err(format!(
            "it has no {LOCK} file, so fleet cannot tell it was its own"
        ));
    }
    let lock = File::options()
        .write(true)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(&lock_path)
        .map_err(|error| format!("cannot open its {LOCK} file: {error}"))?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(Sweep::Live),
        Err(TryLockError::Error(error)) => {
            return Err(format!("cannot lock its {LOCK} file: {error}"));
        }
    }
    // Locked by us now: no update holds it. Remove it only when it holds what fleet puts there.
    let mut files = Vec::new();
    let mut old = None;
    for entry in fs::read_dir(path).map_err(|error| error.to_string())? {
        let entry = entry.map_err(|error| error.to_string())?;
        let entry_path = entry.path();
        if entry.file_name() == OLD && fs::symlink_metadata(&entry_path).is_ok_and(|m| m.is_dir()) {
            for kept in fs::read_dir(&entry_path).map_err(|error| error.to_string())? {
                let kept = kept.map_err(|error| error.to_string())?.path();
                if !is_plain_file(&kept) {
                    return Err(format!("{} is not a regular file", kept.display()));
                }
                files.push(kept);
            }
            old = Some(entry_path);
        } else if is_plain_file(&entry_path) {
            files.push(entry_path);
        } else {
            return Err(format!(
                "{} is neither a regular file nor its `{OLD}` directory",
                entry_path.display()
            ));
        }
    }
    for file in &files {
        fs::remove_file(file)
            .map_err(|error| format!("cannot remove {}: {error}", file.display()))?;
    }
    if let Some(old) = old {
        fs::remove_dir(&old)
            .map_err(|error| format!("cannot remove {}: {error}", old.display()))?;
    }
    fs::remove_dir(path).map_err(|error| format!("cannot remove it: {error}"))?;
    Ok(Sweep::Removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a killed update leaves: its staged files, the replaced ones under `old/`, the lock no
    /// process holds any more.
    fn abandoned(directory: &Path, suffix: &str) -> PathBuf {
        let path = directory.join(format!("{STAGING_PREFIX}{suffix}"));
        fs::create_dir_all(path.join(OLD)).unwrap();
        fs::write(path.join(LOCK), b"").unwrap();
        fs::write(path.join("web-1.ign"), b"new").unwrap();
        fs::write(path.join(OLD).join("web-2.ign"), b"old").unwrap();
        path
    }

    #[test]
    fn a_staging_directory_a_killed_update_left_is_removed() {
        let directory = tempfile::tempdir().unwrap();
        let left = abandoned(directory.path(), "AbCdEf");
        fs::write(directory.path().join("web-1.ign"), b"new").unwrap();
        let swept = sweep_abandoned(directory.path());
        assert_eq!(swept.removed, std::slice::from_ref(&left));
        assert!(swept.kept.is_empty(), "{swept:?}");
        assert!(!left.exists());
        assert!(
            directory.path().join("web-1.ign").exists(),
            "DIR's own files stay"
        );
    }

    #[test]
    fn a_live_update_is_left_alone_and_so_are_look_alikes() {
        let directory = tempfile::tempdir().unwrap();
        let live = Staging::create(directory.path()).unwrap();
        fs::write(live.path().join("web-1.ign"), b"new").unwrap();
        let unlocked = directory.path().join(format!("{STAGING_PREFIX}nolock"));
        fs::create_dir(&unlocked).unwrap();
        fs::write(unlocked.join("notes.txt"), b"mine").unwrap();
        let odd = abandoned(directory.path(), "odd");
        std::os::unix::fs::symlink("/etc", odd.join("etc")).unwrap();
        let nested = abandoned(directory.path(), "nested");
        fs::create_dir(nested.join(OLD).join("deeper")).unwrap();
        let file = directory.path().join(format!("{STAGING_PREFIX}file"));
        fs::write(&file, b"a file").unwrap();

        let swept = sweep_abandoned(directory.path());
        assert!(swept.removed.is_empty(), "{swept:?}");
        let kept: Vec<&PathBuf> = swept.kept.iter().map(|(path, _)| path).collect();
        assert_eq!(kept, [&file, &nested, &unlocked, &odd], "{swept:?}");
        for path in [live.path(), &unlocked, &odd, &nested, &file] {
            assert!(path.exists(), "{} was removed", path.display());
        }
        assert!(
            odd.join("web-1.ign").exists(),
            "nothing of a look-alike is removed"
        );
        drop(live);
        assert_eq!(
            fs::read_dir(directory.path()).unwrap().count(),
            4,
            "a staging directory is gone once its update ends"
        );
    }
}
