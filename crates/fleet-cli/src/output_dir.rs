//! Writing a set of files into one directory all or nothing (`fleet render --out`): every target
//! is examined first, the new files are written into a private staging directory inside it, and
//! only then renamed into place; a failure at any step puts back what was there. Afterwards the
//! directory holds either the old set or the whole new one, never a mix; only a process killed
//! while renaming leaves one, which the next update finishes, sweeping the killed one's staging
//! directory (`output_staging`).
//!
//! Only missing paths and regular files are replaced. A directory, symlink, FIFO, device or socket
//! where a file must go was not made by fleet, so nothing is written and the error lists them.

use std::fs::{self, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt as _, FileTypeExt as _, PermissionsExt as _};
use std::path::{Component, Path, PathBuf};

use rayon::prelude::*;

use crate::output_file::{Access, create_new_file};
use crate::output_staging::{OLD, Staging, Swept, sweep_abandoned};

/// Why a directory update did not happen (or, rarely, happened only in part).
#[derive(Debug, thiserror::Error)]
pub enum OutputDirError {
    #[error("{} is not a directory", .path.display())]
    NotADirectory { path: PathBuf },
    #[error("cannot examine {}", .path.display())]
    Examine {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot create the directory {}", .path.display())]
    CreateDirectory {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{name:?} is not a plain file name")]
    NotAPlainName { name: String },
    /// Paths holding something other than a regular file, each described; `paths` were to be written.
    #[error("{}", obstacles_message(.obstacles, *.paths))]
    Obstacles {
        obstacles: Vec<String>,
        paths: usize,
    },
    #[error("nothing was changed: cannot create a staging directory in {}", .directory.display())]
    CreateStaging {
        directory: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("nothing was changed in {}", .directory.display())]
    NothingChanged {
        directory: PathBuf,
        #[source]
        source: StepError,
    },
    #[error("{} is partly updated: could not put back {}", .directory.display(), .unrestored.join("; "))]
    PartlyUpdated {
        directory: PathBuf,
        unrestored: Vec<String>,
        #[source]
        source: StepError,
    },
}

/// One file operation of an update that failed: `cannot ACTION PATH`.
#[derive(Debug, thiserror::Error)]
#[error("cannot {action} {}", .path.display())]
pub struct StepError {
    /// E.g. `write`, `remove`, `rename a new file to`.
    action: &'static str,
    path: PathBuf,
    #[source]
    source: io::Error,
}

impl StepError {
    fn of(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StepError {
        let path = path.to_path_buf();
        move |source| StepError {
            action,
            path,
            source,
        }
    }
}

/// One file the directory must hold afterwards: a plain file name (no `/`) and its contents.
#[derive(Debug, Clone, Copy)]
pub struct WantedFile<'a> {
    pub name: &'a str,
    pub bytes: &'a [u8],
}

/// What the directory must look like afterwards.
#[derive(Debug)]
pub struct Update<'a> {
    /// Every file to write (owner-only, mode 0600); a regular file already holding exactly these
    /// bytes with mode 0600 is left alone.
    pub files: Vec<WantedFile<'a>>,
    /// Regular files to remove (anything else of that name is left alone).
    pub remove: Vec<String>,
    /// Written last, once every other file is in place and every removal done: the file that
    /// describes the others, so that a crash midway leaves the old one naming the old files.
    pub manifest: WantedFile<'a>,
}

/// What an update did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct UpdateOutcome {
    /// Files written, the manifest included.
    pub written: usize,
    /// Files of `Update::files` (not the manifest) that already held their bytes.
    pub unchanged: usize,
    pub removed: usize,
    /// Staging directories killed updates had left in the directory, swept afterwards.
    pub swept: Swept,
}

/// Obstacles listed in an error before "and N more".
const LISTED_OBSTACLES: usize = 10;

/// Make `directory` hold `update`'s files, all or nothing. A missing directory (and any missing
/// parent) is created with mode 0700 and removed again when the update fails. Once it holds them,
/// the staging directories that killed updates left there are swept (`output_staging`).
pub fn update_directory(
    directory: &Path,
    update: &Update<'_>,
) -> Result<UpdateOutcome, OutputDirError> {
    let created = CreatedDirectories::create(directory)?;
    let mut outcome = apply(directory, update)?;
    created.keep();
    outcome.swept = sweep_abandoned(directory);
    Ok(outcome)
}

/// What is at a path a file must go to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Missing,
    /// A regular file with exactly the wanted bytes and mode 0600.
    UpToDate,
    /// A regular file with other bytes or another mode.
    Replace,
}

fn apply(directory: &Path, update: &Update<'_>) -> Result<UpdateOutcome, OutputDirError> {
    let wanted: Vec<&WantedFile<'_>> = update
        .files
        .iter()
        .chain(std::iter::once(&update.manifest))
        .collect();
    for file in &wanted {
        check_file_name(file.name)?;
    }
    let examined: Vec<Result<Target, String>> = wanted
        .par_iter()
        .map(|file| examine(&directory.join(file.name), file.bytes))
        .collect();
    let obstacles: Vec<String> = examined
        .iter()
        .filter_map(|result| result.as_ref().err().cloned())
        .collect();
    if !obstacles.is_empty() {
        return Err(OutputDirError::Obstacles {
            obstacles,
            paths: wanted.len(),
        });
    }
    let targets: Vec<Target> = examined.into_iter().flatten().collect();
    let removals: Vec<&str> = update
        .remove
        .iter()
        .map(String::as_str)
        .filter(|name| check_file_name(name).is_ok())
        .filter(|name| {
            fs::symlink_metadata(directory.join(name)).is_ok_and(|metadata| metadata.is_file())
        })
        .collect();
    let unchanged = targets[..update.files.len()]
        .iter()
        .filter(|target| **target == Target::UpToDate)
        .count();
    let changes: Vec<(&WantedFile<'_>, Target)> = wanted
        .iter()
        .zip(&targets)
        .filter(|(_, target)| **target != Target::UpToDate)
        .map(|(file, target)| (*file, *target))
        .collect();
    if changes.is_empty() && removals.is_empty() {
        return Ok(UpdateOutcome {
            written: 0,
            unchanged,
            removed: 0,
            swept: Swept::default(),
        });
    }

    let staging = Staging::create(directory).map_err(|source| OutputDirError::CreateStaging {
        directory: directory.to_path_buf(),
        source,
    })?;
    changes
        .par_iter()
        .try_for_each(|(file, _)| {
            let path = staging.path().join(file.name);
            create_new_file(&path, file.bytes, Access::OwnerOnly)
                .map_err(StepError::of("write", &path))
        })
        .map_err(|source| OutputDirError::NothingChanged {
            directory: directory.to_path_buf(),
            source,
        })?;

    // The manifest is the last of `changes` when it changed; removals go before it.
    let (manifest_change, file_changes) = match changes.split_last() {
        Some((last, rest)) if last.0.name == update.manifest.name => (Some(last), rest),
        _ => (None, &changes[..]),
    };
    let mut commit = Commit::new(directory, &staging);
    let result = (|| {
        for (file, target) in file_changes {
            commit.put(file.name, *target)?;
        }
        for name in &removals {
            commit.remove(name)?;
        }
        if let Some((file, target)) = manifest_change {
            commit.put(file.name, *target)?;
        }
        Ok::<(), StepError>(())
    })();
    if let Err(source) = result {
        let unrestored = commit.roll_back();
        let directory = directory.to_path_buf();
        return Err(if unrestored.is_empty() {
            OutputDirError::NothingChanged { directory, source }
        } else {
            OutputDirError::PartlyUpdated {
                directory,
                unrestored,
                source,
            }
        });
    }
    drop(staging);
    Ok(UpdateOutcome {
        written: changes.len(),
        unchanged,
        removed: removals.len(),
        swept: Swept::default(),
    })
}

/// A file name the update may use: one plain component, so that nothing is written or removed
/// outside the directory.
fn check_file_name(name: &str) -> Result<(), OutputDirError> {
    let mut components = Path::new(name).components();
    match (components.next(), components.next()) {
        (Some(Component::Normal(_)), None) if !name.contains('/') => Ok(()),
        _ => Err(OutputDirError::NotAPlainName {
            name: name.to_owned(),
        }),
    }
}

/// `2 of the 5 paths to write hold something other than a regular file, …`, listing at most
/// `LISTED_OBSTACLES` of them.
fn obstacles_message(obstacles: &[String], paths: usize) -> String {
    let mut listed: Vec<String> = obstacles
        .iter()
        .take(LISTED_OBSTACLES)
        .map(|obstacle| format!("  {obstacle}"))
        .collect();
    if obstacles.len() > LISTED_OBSTACLES {
        listed.push(format!(
            "  … and {} more",
            obstacles.len() - LISTED_OBSTACLES
        ));
    }
    let one = obstacles.len() == 1;
    format!(
        "{} of the {paths} paths to write {} something other than a regular file, which fleet never \
         replaces:\n{}\nnothing was written; move {} away or write to another directory",
        obstacles.len(),
        if one { "holds" } else { "hold" },
        listed.join("\n"),
        if one { "it" } else { "them" }
    )
}

/// What is at `path` (never following a symlink); an `Err` describes an obstacle.
fn examine(path: &Path, bytes: &[u8]) -> Result<Target, String> {
    let metadata = match fs::symlink_metadata(path) {
        Ok(metadata) => metadata,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Target::Missing),
        Err(error) => return Err(format!("{}: {error}", path.display())),
    };
    let file_type = metadata.file_type();
    let what = if file_type.is_file() {
        let up_to_date = metadata.permissions().mode() & 0o7777 == 0o600
            && metadata.len() == bytes.len() as u64
            && fs::read(path).is_ok_and(|existing| existing == bytes);
        return Ok(if up_to_date {
            Target::UpToDate
        } else {
            Target::Replace
        });
    } else if file_type.is_dir() {
        "a directory"
    } else if file_type.is_symlink() {
        "a symlink"
    } else if file_type.is_fifo() {
        "a FIFO"
    } else if file_type.is_char_device() {
        "a character device"
    } else if file_type.is_block_device() {
        "a block device"
    } else if file_type.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Err(format!("{} is {what}", path.display()))
}

/// The directories `update_directory` made, removed again (deepest first) unless kept.
struct CreatedDirectories(Vec<PathBuf>);

impl CreatedDirectories {
    /// Create `directory` and its missing parents, each 0700 whatever the umask: they hold files
    /// with secrets, and a umask of 000 must not make them world-writable.
    fn create(directory: &Path) -> Result<CreatedDirectories, OutputDirError> {
        let mut missing = Vec::new();
        let mut current = Some(directory);
        while let Some(path) = current.filter(|path| !path.as_os_str().is_empty()) {
            match fs::metadata(path) {
                Ok(metadata) if metadata.is_dir() => break,
                Ok(_) => {
                    return Err(OutputDirError::NotADirectory {
                        path: path.to_path_buf(),
                    });
                }
                Err(error) if error.kind() == io::ErrorKind::NotFound => missing.push(path),
                Err(source) => {
                    return Err(OutputDirError::Examine {
                        path: path.to_path_buf(),
                        source,
                    });
                }
            }
            current = path.parent();
        }
        let mut created = CreatedDirectories(Vec::new());
        for path in missing.into_iter().rev() {
            fs::DirBuilder::new()
                .mode(0o700)
                .create(path)
                .and_then(|()| fs::set_permissions(path, Permissions::from_mode(0o700)))
                .map_err(|source| OutputDirError::CreateDirectory {
                    path: path.to_path_buf(),
                    source,
                })?;
            created.0.push(path.to_path_buf());
        }
        Ok(created)
    }

    fn keep(mut self) {
        self.0.clear();
    }
}

impl Drop for CreatedDirectories {
    fn drop(&mut self) {
        for path in self.0.iter().rev() {
            // Empty by now (the staging directory is gone); never remove anything with contents.
            let _ = fs::remove_dir(path);
        }
    }
}

/// One step of a commit, as it must be undone.
#[derive(Debug)]
enum Step {
    /// A new file was renamed into a missing path: remove it.
    Created(String),
    /// A file was replaced; the old one is in `old/`: rename it back.
    Replaced(String),
    /// A file was moved into `old/`: rename it back.
    Removed(String),
}

/// The renames that make the staged files the directory's, with what undoes them.
struct Commit<'a> {
    directory: &'a Path,
    staging: &'a Path,
    old: PathBuf,
    old_created: bool,
    done: Vec<Step>,
}

impl<'a> Commit<'a> {
    fn new(directory: &'a Path, staging: &'a Staging) -> Commit<'a> {
        Commit {
            directory,
            staging: staging.path(),
            old: staging.path().join(OLD),
            old_created: false,
            done: Vec::new(),
        }
    }

    /// Rename the staged `name` into place, keeping a replaced file in `old/`.
    fn put(&mut self, name: &str, target: Target) -> Result<(), StepError> {
        let destination = self.directory.join(name);
        if target == Target::Replace {
            self.keep_old(name)?;
        }
        fs::rename(self.staging.join(name), &destination)
            .map_err(StepError::of("rename a new file to", &destination))?;
        self.done.push(match target {
            Target::Replace => Step::Replaced(name.to_owned()),
            Target::Missing | Target::UpToDate => Step::Created(name.to_owned()),
        });
        Ok(())
    }

    /// Move `name` into `old/`.
    fn remove(&mut self, name: &str) -> Result<(), StepError> {
        self.ensure_old()?;
        let path = self.directory.join(name);
        fs::rename(&path, self.old.join(name)).map_err(StepError::of("remove", &path))?;
        self.done.push(Step::Removed(name.to_owned()));
        Ok(())
    }

    /// A second name for the file about to be replaced, in `old/`; a hard link keeps the path
    /// itself always present, and where links are not possible the file is moved.
    fn keep_old(&mut self, name: &str) -> Result<(), StepError> {
        self.ensure_old()?;
        let path = self.directory.join(name);
        let old = self.old.join(name);
        fs::hard_link(&path, &old)
            .or_else(|_| fs::rename(&path, &old))
            .map_err(StepError::of("replace", &path))
    }

    fn ensure_old(&mut self) -> Result<(), StepError> {
        if !self.old_created {
            fs::create_dir(&self.old).map_err(StepError::of("create", &self.old))?;
            self.old_created = true;
        }
        Ok(())
    }

    /// Undo every step, last first; returns what could not be put back.
    fn roll_back(&mut self) -> Vec<String> {
        let mut unrestored = Vec::new();
        while let Some(step) = self.done.pop() {
            let result = match &step {
                Step::Created(name) => fs::remove_file(self.directory.join(name)),
                Step::Replaced(name) | Step::Removed(name) => {
                    fs::rename(self.old.join(name), self.directory.join(name))
                }
            };
            if let Err(error) = result {
                let name = match &step {
                    Step::Created(name) | Step::Replaced(name) | Step::Removed(name) => name,
                };
                unrestored.push(format!("{name}: {error}"));
            }
        }
        unrestored
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file<'a>(name: &'a str, bytes: &'a [u8]) -> WantedFile<'a> {
        WantedFile { name, bytes }
    }

    fn entries(directory: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(directory)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn writes_every_file_then_leaves_up_to_date_ones_alone() {
        let root = tempfile::tempdir().unwrap();
        let directory = root.path().join("a/b");
        let update = Update {
            files: vec![file("x.ign", b"x"), file("y.ign", b"y")],
            remove: Vec::new(),
            manifest: file("manifest.json", b"{}"),
        };
        let first = update_directory(&directory, &update).unwrap();
        assert_eq!(first.written, 3);
        assert_eq!(entries(&directory), ["manifest.json", "x.ign", "y.ign"]);
        for path in [root.path().join("a"), directory.clone()] {
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o700
            );
        }
        let again = update_directory(&directory, &update).unwrap();
        assert_eq!(
            again,
            UpdateOutcome {
                written: 0,
                unchanged: 2,
                removed: 0,
                swept: Swept::default(),
            }
        );
    }

    #[test]
    fn an_obstacle_changes_nothing_and_is_named() {
        let root = tempfile::tempdir().unwrap();
        let directory = root.path().join("out");
        fs::create_dir(&directory).unwrap();
        fs::write(directory.join("x.ign"), b"old").unwrap();
        fs::create_dir(directory.join("y.ign")).unwrap();
        let update = Update {
            files: vec![file("x.ign", b"x"), file("y.ign", b"y")],
            remove: Vec::new(),
            manifest: file("manifest.json", b"{}"),
        };
        let error = format!("{:#}", update_directory(&directory, &update).unwrap_err());
        assert!(error.contains("y.ign is a directory"), "{error}");
        assert_eq!(entries(&directory), ["x.ign", "y.ign"]);
        assert_eq!(fs::read(directory.join("x.ign")).unwrap(), b"old");
    }

    #[test]
    fn a_failed_rename_puts_back_what_was_there() {
        let root = tempfile::tempdir().unwrap();
        let directory = root.path().join("out");
        fs::create_dir(&directory).unwrap();
        fs::write(directory.join("a.ign"), b"old a").unwrap();
        fs::write(directory.join("gone.ign"), b"gone").unwrap();
        let staging = Staging::create(&directory).unwrap();
        fs::write(staging.path().join("a.ign"), b"new a").unwrap();
        fs::write(staging.path().join("b.ign"), b"new b").unwrap();
        let mut commit = Commit::new(&directory, &staging);
        commit.put("a.ign", Target::Replace).unwrap();
        commit.put("b.ign", Target::Missing).unwrap();
        commit.remove("gone.ign").unwrap();
        // Nothing staged under this name: the rename fails, as a full or read-only disk would.
        assert!(commit.put("c.ign", Target::Missing).is_err());
        assert!(commit.roll_back().is_empty());
        drop(staging);
        assert_eq!(entries(&directory), ["a.ign", "gone.ign"]);
        assert_eq!(fs::read(directory.join("a.ign")).unwrap(), b"old a");
        assert_eq!(fs::read(directory.join("gone.ign")).unwrap(), b"gone");
    }

    #[test]
    fn names_stay_inside_the_directory() {
        assert!(check_file_name("web-01.ign").is_ok());
        for name in ["../x.ign", "/etc/x.ign", "a/b.ign", "..", ".", ""] {
            assert!(check_file_name(name).is_err(), "{name}");
        }
    }
}
