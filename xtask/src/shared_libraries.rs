//! Copying a dynamically linked program into an initramfs together with every library the dynamic
//! loader would map for it, as `ldd` lists them, each at the path `ldd` names.
//!
//! The tiny guest runs the host's own shadow tools (`useradd`, `usermod`, `groupadd`: Debian's
//! essential `passwd` package, so every machine has them) and Ignition, whose only library outside
//! libc is libblkid.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::process::output;

/// Copy `program` to `root/destination` (mode 0755) and its libraries to the same paths under
/// `root`; returns the libraries copied.
pub(crate) fn install_program(
    program: &Path,
    root: &Path,
    destination: &str,
) -> Result<Vec<PathBuf>> {
    copy_into(program, &root.join(destination.trim_start_matches('/')))?;
    let libraries = libraries_of(program)?;
    for library in &libraries {
        copy_into(
            library,
            &root.join(library.strip_prefix("/").unwrap_or(library)),
        )?;
    }
    Ok(libraries)
}

/// The libraries `ldd PROGRAM` resolves, the dynamic loader included; an unresolved one is an error.
fn libraries_of(program: &Path) -> Result<Vec<PathBuf>> {
    let listing = output(Command::new("ldd").arg(program))?;
    parse_ldd(&listing).with_context(|| format!("ldd {}", program.display()))
}

fn parse_ldd(listing: &str) -> Result<Vec<PathBuf>> {
    let mut libraries = BTreeSet::new();
    for line in listing.lines().map(str::trim) {
        // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)`, `/lib64/ld-linux-x86-64.so.2 (0x...)`,
        // `linux-vdso.so.1 (0x...)` (in the kernel: nothing to copy).
        let path = match line.split_once(" => ") {
            Some((name, "not found")) => bail!("{name} not found"),
            Some((_, resolved)) => resolved.split_whitespace().next(),
            None => line
                .split_whitespace()
                .next()
                .filter(|path| path.starts_with('/')),
        };
        if let Some(path) = path {
            libraries.insert(PathBuf::from(path));
        }
    }
    Ok(libraries.into_iter().collect())
}

fn copy_into(source: &Path, destination: &Path) -> Result<()> {
    if let Some(parent) = destination.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    // fs::copy follows links: the initramfs gets the library itself under the name the loader asks for.
    fs::copy(source, destination).with_context(|| {
        format!(
            "cannot copy {} to {}",
            source.display(),
            destination.display()
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ldd_listings_give_every_resolved_library_and_the_loader() {
        let listing = "\tlinux-vdso.so.1 (0x00007ffd)\n\
                       \tlibblkid.so.1 => /lib/x86_64-linux-gnu/libblkid.so.1 (0x00007f26)\n\
                       \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f26)\n\
                       \t/lib64/ld-linux-x86-64.so.2 (0x00007f26)\n";
        assert_eq!(
            parse_ldd(listing).unwrap(),
            [
                PathBuf::from("/lib/x86_64-linux-gnu/libblkid.so.1"),
                PathBuf::from("/lib/x86_64-linux-gnu/libc.so.6"),
                PathBuf::from("/lib64/ld-linux-x86-64.so.2"),
            ]
        );
    }

    #[test]
    fn a_library_ldd_cannot_find_is_an_error() {
        let error = parse_ldd("\tlibaudit.so.1 => not found\n").unwrap_err();
        assert_eq!(error.to_string(), "libaudit.so.1 not found");
    }
}
