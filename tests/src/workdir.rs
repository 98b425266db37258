//! Temporary directories for end-to-end tests that libvirt's qemu user can read.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// A directory for one test's files (fw_cfg configs, console logs, fleet files, a pool).
///
/// World-traversable (0755), because qemu runs as `libvirt-qemu` and must reach the files libvirt
/// hands it. Removed on drop, except when the test is panicking: then it is kept and its path printed
/// so the console log can be read.
#[derive(Debug)]
pub struct WorkDir {
    directory: Option<tempfile::TempDir>,
}

impl WorkDir {
    /// A new directory under `FLEET_E2E_WORK_DIR`, or the system temp dir, named after the test.
    pub fn new(test_name: &str) -> Result<WorkDir> {
        let parent = std::env::var_os("FLEET_E2E_WORK_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir);
        std::fs::create_dir_all(&parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
        let directory = tempfile::Builder::new()
            .prefix(&format!("fleet-e2e-{test_name}-"))
            .permissions(std::fs::Permissions::from_mode(0o755))
            .tempdir_in(&parent)
            .with_context(|| format!("cannot create a directory in {}", parent.display()))?;
        Ok(WorkDir {
            directory: Some(directory),
        })
    }

    pub fn path(&self) -> &Path {
        self.directory
            .as_ref()
            .map(tempfile::TempDir::path)
            .unwrap_or_else(|| Path::new(""))
    }

    /// A path inside the directory.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.path().join(name)
    }

    /// Write a file readable by the qemu user (0644) and return its path.
    pub fn write(&self, name: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> Result<PathBuf> {
        let path = self.join(name);
        std::fs::write(&path, contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
        Ok(path)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if std::thread::panicking()
            && let Some(directory) = self.directory.take()
        {
            let kept = directory.keep();
            eprintln!("test failed: kept its files in {}", kept.display());
        }
    }
}
