//! `[fleet.pool]`: the directory storage pool fleet keeps images, overlays and Ignition configs in.

use std::path::PathBuf;

use crate::diagnostics::shown;
use crate::model::StoragePool;
use crate::names::check_libvirt_object_name;
use crate::raw::RawPool;

use super::checker::Checker;

/// The pool, named after the fleet unless the file names it.
pub(super) fn validate(
    checker: &mut Checker<'_, '_>,
    pool: Option<&RawPool>,
    fleet_name: &str,
) -> StoragePool {
    let name = match pool.and_then(|pool| pool.name.get()) {
        Some(name) => {
            if let Err(problem) = check_libvirt_object_name("pool", &name.value) {
                checker.error(name.span, format!("fleet.pool.name: {problem}"));
            }
            name.value.clone()
        }
        None => format!("fleet-{fleet_name}"),
    };
    let path = match pool.and_then(|pool| pool.path.get()) {
        Some(path) => {
            if !path.value.starts_with('/') {
                checker.error(
                    path.span,
                    format!(
                        "fleet.pool.path: `{}` must be an absolute directory on the host, such as /var/lib/libvirt/fleet-{}",
                        shown(&path.value),
                        if fleet_name.is_empty() { "NAME" } else { fleet_name }
                    ),
                );
            }
            PathBuf::from(&path.value)
        }
        None => PathBuf::from(format!("/var/lib/libvirt/fleet-{fleet_name}")),
    };
    StoragePool { name, path }
}
