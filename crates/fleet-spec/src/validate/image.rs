//! `[fleet.image]`: the base image every node's disk is an overlay of (a file or a pool volume), its
//! stream, and the optional direct kernel boot.

use crate::model::{BaseImage, DirectKernelBoot, ImageSource};
use crate::names::check_libvirt_object_name;
use crate::raw::RawFleet;
use crate::read::Field;

use super::checker::Checker;

/// The image of `[fleet]`; `table_known` says whether `[fleet]` itself was read (else its missing image is
/// not reported again). A placeholder stands in for an unusable image.
pub(super) fn validate(
    checker: &mut Checker<'_, '_>,
    fleet: &RawFleet,
    table_known: bool,
) -> (BaseImage, Option<DirectKernelBoot>) {
    let placeholder = BaseImage {
        source: ImageSource::Volume(String::new()),
        stream: "stable".to_owned(),
    };
    let image = match &fleet.image {
        Field::Present(image) => &image.value,
        Field::Invalid => return (placeholder, None),
        Field::Missing => {
            if table_known {
                checker.error(
                    fleet.span,
                    "missing [fleet.image]: give path = \"fedora-coreos-qemu.x86_64.qcow2\" (a qcow2 file) or volume = \"NAME\" (a volume already in the pool)",
                );
            }
            return (placeholder, None);
        }
    };
    let source = match (image.path.get(), image.volume.get()) {
        (Some(_), Some(volume)) => {
            checker.error(
                volume.span,
                "fleet.image: give either `path` (a qcow2 file) or `volume` (a pool volume), not both",
            );
            None
        }
        (Some(path), None) => Some(ImageSource::File(path.value.0.clone())),
        (None, Some(volume)) => {
            if let Err(problem) = check_libvirt_object_name("volume", &volume.value) {
                checker.error(volume.span, format!("fleet.image.volume: {problem}"));
            }
            Some(ImageSource::Volume(volume.value.clone()))
        }
        (None, None) => {
            if image.path.is_missing() && image.volume.is_missing() {
                checker.error(
                    image.span,
                    "fleet.image: missing key `path` (a Fedora CoreOS qcow2 file) or `volume` (a volume already in the pool)",
                );
            }
            None
        }
    };
    let stream = image
        .stream
        .value()
        .map(|stream| stream.as_str())
        .unwrap_or("stable")
        .to_owned();
    let direct_kernel_boot = match (image.kernel.get(), image.initrd.get()) {
        (Some(kernel), Some(initrd)) => Some(DirectKernelBoot {
            kernel: kernel.value.0.clone(),
            initrd: initrd.value.0.clone(),
            cmdline: image.cmdline.value().cloned().unwrap_or_default(),
        }),
        (Some(kernel), None) => {
            if image.initrd.is_missing() {
                checker.error(
                    kernel.span,
                    "fleet.image.kernel: direct kernel boot needs `initrd` too",
                );
            }
            None
        }
        (None, Some(initrd)) => {
            if image.kernel.is_missing() {
                checker.error(
                    initrd.span,
                    "fleet.image.initrd: direct kernel boot needs `kernel` too",
                );
            }
            None
        }
        (None, None) => {
            if let Some(cmdline) = image.cmdline.get()
                && image.kernel.is_missing()
                && image.initrd.is_missing()
            {
                checker.error(
                    cmdline.span,
                    "fleet.image.cmdline: a kernel command line is only used with direct kernel boot (`kernel` and `initrd`)",
                );
            }
            None
        }
    };
    (
        BaseImage {
            source: source.unwrap_or(placeholder.source),
            stream,
        },
        direct_kernel_boot,
    )
}
