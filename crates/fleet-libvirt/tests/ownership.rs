//! Every path that deletes a volume (destroy, its leftover sweep and purge, replace, the Ignition repair, a re-import) deletes only what fleet can prove it made, and nothing another domain uses (issue 11, item 3).
//!
//! Foreign domains and volumes are made through the session's own connection, as another tool
//! or a person would make them on the same hypervisor.

mod common;

use common::*;
use fleet_libvirt::{
    Action, DeployOptions, DeployOutcome, DestroyOptions, Error, KeptReason, KeptVolume, Repair,
    StatusOptions, names,
};

/// A raw volume made by hand in the fleet's pool.
fn make_volume(session: &fleet_libvirt::Session, pool: &str, name: &str) {
    let pool = connection(session, "host-a")
        .lookup_storage_pool_by_name(pool)
        .unwrap();
    let xml = format!(
        "<volume><name>{name}</name><capacity unit='bytes'>1024</capacity><target><format type='raw'/></target></volume>"
    );
    virt::storage_vol::StorageVol::create_xml(&pool, &xml, 0).unwrap();
}

/// A domain without fleet's metadata whose disks and fw_cfg entry are the given files.
fn define_foreign_domain(
    session: &fleet_libvirt::Session,
    name: &str,
    uuid: &str,
    disks: &[String],
    fw_cfg: Option<&str>,
) {
    let mut devices = String::new();
    for (index, disk) in disks.iter().enumerate() {
        devices.push_str(&format!(
            "<disk type='file' device='disk'><source file='{disk}'/><target dev='vd{}' bus='virtio'/></disk>",
            char::from(b'a' + index as u8)
        ));
    }
    let sysinfo = fw_cfg.map_or(String::new(), |file| {
        format!(
            "<sysinfo type='fwcfg'><entry name='opt/com.coreos/config' file='{file}'/></sysinfo>"
        )
    });
    let xml = format!(
        "<domain type='qemu'><name>{name}</name><uuid>{uuid}</uuid><memory unit='MiB'>512</memory><vcpu>1</vcpu>\
         {sysinfo}<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>{devices}</devices></domain>"
    );
    connection(session, "host-a")
        .define_domain_xml(&xml)
        .unwrap();
}

fn kept(volume: &str, reason: KeptReason) -> KeptVolume {
    KeptVolume {
        host: "host-a".to_owned(),
        volume: volume.to_owned(),
        reason,
    }
}

/// The case: a domain `web-01` fleet did not make, whose disk and Ignition are the pool
/// volumes `own.web-01.qcow2` and `own.web-01.ign`. Deploy, replace and destroy refuse the domain,
/// and none of them touches its volumes.
#[test]
fn a_foreign_domains_volumes_survive_deploy_replace_and_destroy() {
    let scratch = Scratch::new();
    let session = open(&[host("host-a")]);
    let fleet = fleet_of(
        &scratch,
        "own",
        vec![
            node("own", "web-01", "host-a", 1, 0),
            node("own", "web-02", "host-a", 2, 0),
        ],
    );
    // The pool exists once fleet has deployed another node.
    let first = fleet_of(&scratch, "own", vec![fleet.nodes[1].clone()]);
    deploy(&session, &first, &DeployOptions::default());
    make_volume(&session, "fleet-own", "own.web-01.qcow2");
    make_volume(&session, "fleet-own", "own.web-01.ign");
    let pool_path = scratch.pool().display().to_string();
    define_foreign_domain(
        &session,
        "web-01",
        "4a2b7a39-9d77-4d5b-9a2f-0000000000a1",
        &[format!("{pool_path}/own.web-01.qcow2")],
        Some(&format!("{pool_path}/own.web-01.ign")),
    );
    let foreign_xml = domain_xml(&session, "host-a", "web-01");
    let foreign_volumes = ["own.web-01.ign".to_owned(), "own.web-01.qcow2".to_owned()];
    let has_foreign_volumes = || {
        let left = volumes(&session, "host-a", "fleet-own");
        foreign_volumes.iter().all(|volume| left.contains(volume))
    };

    for replace in [false, true] {
        let report = deploy(
            &session,
            &fleet,
            &DeployOptions {
                replace,
                ..DeployOptions::default()
            },
        );
        assert_eq!(report.nodes[0].action, Some(Action::Conflict));
        assert!(
            matches!(
                &report.nodes[0].outcome,
                DeployOutcome::Failed {
                    error: Error::ForeignDomain { .. },
                    ..
                }
            ),
            "{report:?}"
        );
        assert!(has_foreign_volumes(), "replace {replace}");
    }

    let report = session.destroy(&fleet, &DestroyOptions::default(), &|_| {});
    assert!(matches!(
        report.nodes[0].error,
        Some(Error::ForeignDomain { .. })
    ));
    assert!(report.nodes[1].removed_domain, "{report:?}");
    let used_by_web_01 = KeptReason::InUse {
        domains: vec!["web-01".to_owned()],
    };
    assert_eq!(
        report.kept_volumes,
        [
            kept("own.web-01.ign", used_by_web_01.clone()),
            kept("own.web-01.qcow2", used_by_web_01),
        ]
    );
    assert!(has_foreign_volumes());
    assert_eq!(domain_xml(&session, "host-a", "web-01"), foreign_xml);
    assert_eq!(domains(&session, "host-a"), ["web-01".to_owned()].into());

    // Even a purge leaves the pool (and the volumes in it) alone.
    let purge = DestroyOptions {
        purge_image: true,
        ..DestroyOptions::default()
    };
    let report = session.destroy(&fleet, &purge, &|_| {});
    assert!(report.removed_pools.is_empty(), "{report:?}");
    assert!(has_foreign_volumes());
}

/// Volumes with a node's names that no domain of the fleet refers to (made by hand, or by an old
/// fleet) are not adopted, replaced or deleted: the node is a conflict, destroy reports them.
#[test]
fn volumes_no_domain_of_the_fleet_refers_to_are_left_alone_and_reported() {
    let scratch = Scratch::new();
    let session = open(&[host("host-a")]);
    let fleet = fleet_of(
        &scratch,
        "lone",
        vec![
            node("lone", "n-1", "host-a", 1, 0),
            node("lone", "n-2", "host-a", 2, 0),
            node("lone", "n-3", "host-a", 3, 0),
        ],
    );
    let first = fleet_of(&scratch, "lone", vec![fleet.nodes[0].clone()]);
    deploy(&session, &first, &DeployOptions::default());
    make_volume(&session, "fleet-lone", "lone.n-2.qcow2");
    make_volume(&session, "fleet-lone", "lone.n-3.ign");
    make_volume(&session, "fleet-lone", "lone.gone.qcow2");

    for replace in [false, true] {
        let report = deploy(
            &session,
            &fleet,
            &DeployOptions {
                replace,
                ..DeployOptions::default()
            },
        );
        let rows = summary(&report);
        assert_eq!(rows[0].1, "unchanged");
        assert_eq!(
            rows[1].2,
            "failed at observe: volume lone.n-2.qcow2 in pool fleet-lone is left alone: no domain of fleet lone refers to it, so fleet cannot tell that it made it; if nothing needs it, delete it (virsh vol-delete --pool fleet-lone lone.n-2.qcow2), or rename the node"
        );
        assert!(
            rows[2]
                .2
                .contains("volume lone.n-3.ign in pool fleet-lone is left alone")
        );
        assert_eq!(domains(&session, "host-a"), ["n-1".to_owned()].into());
    }
    let status = session.status(&fleet, &StatusOptions::default());
    assert!(
        matches!(status.nodes[1].error, Some(Error::VolumeKept { .. })),
        "{status:?}"
    );

    let report = session.destroy(&fleet, &DestroyOptions::default(), &|_| {});
    assert_eq!(report.failed_nodes(), 0, "{report:?}");
    let unproven = KeptReason::Unproven {
        fleet: "lone".to_owned(),
    };
    assert_eq!(
        report.kept_volumes,
        [
            kept("lone.gone.qcow2", unproven.clone()),
            kept("lone.n-2.qcow2", unproven.clone()),
            kept("lone.n-3.ign", unproven),
        ]
    );
    let left: Vec<String> = volumes(&session, "host-a", "fleet-lone")
        .into_iter()
        .filter(|volume| volume.starts_with("lone."))
        .collect();
    assert_eq!(left, ["lone.gone.qcow2", "lone.n-2.qcow2", "lone.n-3.ign"]);
}

/// A volume of fleet's own node that another domain also uses: replace and the Ignition repair
/// refuse (before stopping anything), destroy removes the node but keeps that volume.
#[test]
fn a_volume_another_domain_uses_is_never_deleted() {
    let scratch = Scratch::new();
    let session = open(&[host("host-a")]);
    let mut fleet = fleet_of(
        &scratch,
        "used",
        vec![
            node("used", "u-1", "host-a", 1, 0),
            node("used", "u-2", "host-a", 2, 0),
        ],
    );
    deploy(&session, &fleet, &DeployOptions::default());
    let pool_path = scratch.pool().display().to_string();
    define_foreign_domain(
        &session,
        "backup",
        "4a2b7a39-9d77-4d5b-9a2f-0000000000b1",
        &[format!("{pool_path}/used.u-1.qcow2")],
        Some(&format!("{pool_path}/used.u-2.ign")),
    );

    // Replace u-1 (its disk is in use): refused at once, u-1 still runs with its disk.
    fleet.nodes[0].vcpus = 4;
    let replace = DeployOptions {
        replace: true,
        ..DeployOptions::default()
    };
    let report = deploy(&session, &fleet, &replace);
    assert_eq!(
        summary(&report)[0].2,
        "failed at remove: volume used.u-1.qcow2 in pool fleet-used is left alone: domain backup uses it; free it first, or rename the node"
    );
    let u_1 = connection(&session, "host-a")
        .lookup_domain_by_name("u-1")
        .unwrap();
    assert!(u_1.is_active().unwrap() && u_1.autostart().unwrap());
    assert!(volumes(&session, "host-a", "fleet-used").contains("used.u-1.qcow2"));
    fleet.nodes[0].vcpus = 2;

    // u-2's Ignition volume has the wrong size: the repair would replace it, but backup uses it.
    let pool = connection(&session, "host-a")
        .lookup_storage_pool_by_name("fleet-used")
        .unwrap();
    pool.lookup_storage_vol_by_name("used.u-2.ign")
        .unwrap()
        .delete(0)
        .unwrap();
    make_volume(&session, "fleet-used", "used.u-2.ign");
    let report = deploy(&session, &fleet, &DeployOptions::default());
    assert_eq!(
        report.nodes[1].action,
        Some(Action::Repair(vec![Repair::IgnitionVolume]))
    );
    assert!(
        summary(&report)[1]
            .2
            .starts_with("failed at repair: volume used.u-2.ign in pool fleet-used is left alone: domain backup uses it"),
        "{report:?}"
    );

    let report = session.destroy(&fleet, &DestroyOptions::default(), &|_| {});
    assert_eq!(report.failed_nodes(), 0, "{report:?}");
    assert!(report.nodes.iter().all(|node| node.removed_domain));
    let used_by_backup = KeptReason::InUse {
        domains: vec!["backup".to_owned()],
    };
    assert_eq!(
        report.kept_volumes,
        [
            kept("used.u-1.qcow2", used_by_backup.clone()),
            kept("used.u-2.ign", used_by_backup),
        ]
    );
    assert_eq!(domains(&session, "host-a"), ["backup".to_owned()].into());
    let left: Vec<String> = volumes(&session, "host-a", "fleet-used")
        .into_iter()
        .filter(|volume| volume.starts_with("used."))
        .collect();
    assert_eq!(left, ["used.u-1.qcow2", "used.u-2.ign"]);
}

/// `--purge-image` deletes the fleet's own base image, and keeps another fleet's image and one a
/// foreign domain boots from.
#[test]
fn purge_deletes_only_the_fleets_own_unused_base_images() {
    let scratch = Scratch::new();
    let session = open(&[host("host-a")]);
    let fleet = fleet_of(&scratch, "img", vec![node("img", "i-1", "host-a", 1, 0)]);
    deploy(&session, &fleet, &DeployOptions::default());
    let own_image = volumes(&session, "host-a", "fleet-img")
        .into_iter()
        .find(|volume| volume.starts_with(names::BASE_IMAGE_PREFIX))
        .unwrap();
    let others_image = names::base_image_volume(&"0".repeat(64));
    let booted_image = names::base_image_volume(&"1".repeat(64));
    make_volume(&session, "fleet-img", &others_image);
    make_volume(&session, "fleet-img", &booted_image);
    define_foreign_domain(
        &session,
        "appliance",
        "4a2b7a39-9d77-4d5b-9a2f-0000000000c1",
        &[format!("{}/{booted_image}", scratch.pool().display())],
        None,
    );

    let purge = DestroyOptions {
        purge_image: true,
        ..DestroyOptions::default()
    };
    let report = session.destroy(&fleet, &purge, &|_| {});
    assert_eq!(report.failed_nodes(), 0, "{report:?}");
    assert_eq!(
        report.purged_images,
        [("host-a".to_owned(), own_image.clone())]
    );
    let not_ours = KeptReason::NotThisFleetsImage {
        fleet: "img".to_owned(),
    };
    let mut expected = vec![
        kept(&others_image, not_ours.clone()),
        kept(&booted_image, not_ours),
    ];
    expected.sort_by(|a, b| a.volume.cmp(&b.volume));
    assert_eq!(report.kept_volumes, expected);
    assert!(report.removed_pools.is_empty());
    let left = volumes(&session, "host-a", "fleet-img");
    assert!(
        !left.contains(&own_image) && left.contains(&others_image) && left.contains(&booted_image)
    );

    // Even the fleet's own image stays while a foreign domain boots from it.
    deploy(&session, &fleet, &DeployOptions::default());
    let image_path = format!("{}/{own_image}", scratch.pool().display());
    define_foreign_domain(
        &session,
        "clone",
        "4a2b7a39-9d77-4d5b-9a2f-0000000000c2",
        &[image_path],
        None,
    );
    let report = session.destroy(&fleet, &purge, &|_| {});
    assert!(report.purged_images.is_empty(), "{report:?}");
    assert!(report.kept_volumes.contains(&kept(
        &own_image,
        KeptReason::InUse {
            domains: vec!["clone".to_owned()]
        }
    )));
}

/// A base image volume whose head is still zero is fleet's own import cut short: imported again,
/// unless an overlay is backed by it. One with other bytes is not fleet's: the host fails and the
/// volume stays.
#[test]
fn only_an_unfinished_import_of_the_image_is_imported_again() {
    let scratch = Scratch::new();
    let session = open(&[host("host-a")]);
    let mut fleet = fleet_of(&scratch, "imp", vec![node("imp", "p-1", "host-a", 1, 0)]);
    deploy(&session, &fleet, &DeployOptions::default());
    let image = volumes(&session, "host-a", "fleet-imp")
        .into_iter()
        .find(|volume| volume.starts_with(names::BASE_IMAGE_PREFIX))
        .unwrap();
    let image_file = scratch.pool().join(&image);
    let with_head = |head: u8| {
        let mut bytes = std::fs::read(&image_file).unwrap();
        bytes[..64 * 1024].fill(head);
        std::fs::write(&image_file, bytes).unwrap();
    };

    // p-1's overlay is backed by it: not deleted, whatever its head.
    with_head(0);
    fleet.nodes.push(node("imp", "p-2", "host-a", 2, 0));
    let report = deploy(&session, &fleet, &DeployOptions::default());
    let error = report.hosts[0].error.as_ref().map(ToString::to_string);
    assert!(
        error.as_deref().is_some_and(|error| {
            error.contains(&format!(
            "volume {image} in pool fleet-imp is left alone: it is the base image of imp.p-1.qcow2"
        ))
        }),
        "{report:?}"
    );

    // Without users, a zero head is an unfinished import: imported again.
    let only_p_2 = fleet_of(&scratch, "imp", vec![fleet.nodes[1].clone()]);
    session.destroy(
        &fleet_of(&scratch, "imp", vec![fleet.nodes[0].clone()]),
        &DestroyOptions {
            include_strays: false,
            ..DestroyOptions::default()
        },
        &|_| {},
    );
    let report = deploy(&session, &only_p_2, &DeployOptions::default());
    assert!(report.hosts[0].error.is_none(), "{report:?}");
    assert!(report.hosts[0].image_imported, "{report:?}");
    assert_eq!(
        std::fs::read(&image_file).unwrap(),
        std::fs::read(scratch.image()).unwrap()
    );

    // Other bytes: not something fleet made from this image.
    session.destroy(&only_p_2, &DestroyOptions::default(), &|_| {});
    with_head(0x5a);
    let report = deploy(&session, &only_p_2, &DeployOptions::default());
    let error = report.hosts[0].error.as_ref().map(ToString::to_string);
    assert!(
        error.as_deref().is_some_and(|error| error.contains(&format!(
            "volume {image} in pool fleet-imp is left alone: its first bytes are neither the image's nor the zeros of an import fleet left unfinished"
        ))),
        "{report:?}"
    );
    assert!(volumes(&session, "host-a", "fleet-imp").contains(&image));
}
