//! Which volumes fleet may delete: only those it can prove it created, and only while no other domain uses them.
//!
//! libvirt volumes carry no metadata, so a name proves nothing: anyone can make a volume called
//! `demo.web-01.qcow2`, or give it to a domain of their own. fleet's proof for a node's volumes
//! (overlay, Ignition, console log) is the node's domain: the domain of the node's name whose
//! metadata names this fleet and that node, and whose definition refers to the volume. Deploy
//! defines that domain *before* it creates the node's volumes, and teardown deletes them *before*
//! it undefines the domain, so the proof lasts as long as the volumes do, whatever stops a run.
//! A volume with a node's name but no such domain is left alone and reported.
//!
//! Whatever the proof, a volume that another domain (of any owner) refers to, by path or as a
//! pool volume, is never deleted: [`VolumeUsers`] lists what every domain on the connection
//! refers to.

use std::collections::HashMap;

use virt::connect::Connect;
use virt::sys;

use crate::domain_xml::{DomainReferences, ObservedDomain};
use crate::error::{Error, is_not_found};
use crate::report::KeptReason;

/// What every domain on a connection refers to, read once when a deletion needs it.
#[derive(Debug, Default)]
pub(crate) struct VolumeUsers {
    by_file: HashMap<String, Vec<String>>,
    by_pool_volume: HashMap<(String, String), Vec<String>>,
}

impl VolumeUsers {
    /// Read every domain's definition: the current one, and for a running persistent domain also
    /// the one it will boot with next (a disk may be in either).
    pub(crate) fn read(connect: &Connect) -> Result<VolumeUsers, Error> {
        let domains = connect
            .list_all_domains(0)
            .map_err(|error| Error::libvirt("listing domains", &error))?;
        let mut users = VolumeUsers::default();
        for domain in domains {
            let Ok(name) = domain.name() else { continue };
            let mut definitions = vec![0];
            if domain.is_active().unwrap_or(false) && domain.is_persistent().unwrap_or(false) {
                definitions.push(sys::VIR_DOMAIN_XML_INACTIVE);
            }
            for flags in definitions {
                let xml = match domain.xml_desc(flags) {
                    Ok(xml) => xml,
                    // Undefined since it was listed.
                    Err(error) if is_not_found(&error) => continue,
                    Err(error) => {
                        return Err(Error::libvirt(format!("reading domain {name}"), &error));
                    }
                };
                let observed = ObservedDomain::parse(&xml).map_err(|message| Error::Xml {
                    what: format!("domain {name}"),
                    message,
                })?;
                users.add(&name, &observed.references);
            }
        }
        Ok(users)
    }

    fn add(&mut self, domain: &str, references: &DomainReferences) {
        let push = |list: &mut Vec<String>| {
            if !list.iter().any(|known| known == domain) {
                list.push(domain.to_owned());
            }
        };
        for file in &references.files {
            push(self.by_file.entry(file.clone()).or_default());
        }
        for pool_volume in &references.pool_volumes {
            push(self.by_pool_volume.entry(pool_volume.clone()).or_default());
        }
    }

    /// Domains other than `except` that refer to the volume, sorted.
    pub(crate) fn others(&self, path: &str, pool: &str, volume: &str, except: &str) -> Vec<String> {
        let mut found: Vec<String> = self
            .by_file
            .get(path)
            .into_iter()
            .chain(
                self.by_pool_volume
                    .get(&(pool.to_owned(), volume.to_owned())),
            )
            .flatten()
            .filter(|domain| *domain != except)
            .cloned()
            .collect();
        found.sort();
        found.dedup();
        found
    }
}

/// The node's own domain as the proof sees it: its name and what its definition refers to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OwningDomain<'a> {
    pub(crate) name: &'a str,
    pub(crate) references: &'a DomainReferences,
}

/// Whether fleet may delete one of a node's volumes (see the module docs): `owner` is the node's
/// domain when it carries this fleet's mark for the node, `None` when there is none.
pub(crate) fn may_delete_node_volume(
    owner: Option<OwningDomain<'_>>,
    volume: VolumeAt<'_>,
    users: &VolumeUsers,
    fleet: &str,
) -> Result<(), KeptReason> {
    let proven = owner.is_some_and(|owner| {
        owner
            .references
            .names_volume(volume.path, volume.pool, volume.name)
    });
    if !proven {
        return Err(KeptReason::Unproven {
            fleet: fleet.to_owned(),
        });
    }
    may_delete_unused(volume, users, owner.map_or("", |owner| owner.name))
}

/// Whether a volume fleet has its own proof for is free of other users: no domain but `except`
/// (the owner about to be removed, or none) refers to it.
pub(crate) fn may_delete_unused(
    volume: VolumeAt<'_>,
    users: &VolumeUsers,
    except: &str,
) -> Result<(), KeptReason> {
    let others = users.others(volume.path, volume.pool, volume.name, except);
    if others.is_empty() {
        Ok(())
    } else {
        Err(KeptReason::InUse { domains: others })
    }
}

/// A volume by name, pool and path on the host.
#[derive(Debug, Clone, Copy)]
pub(crate) struct VolumeAt<'a> {
    pub(crate) name: &'a str,
    pub(crate) pool: &'a str,
    pub(crate) path: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn references(files: &[&str], pool_volumes: &[(&str, &str)]) -> DomainReferences {
        DomainReferences {
            files: files.iter().map(|file| (*file).to_owned()).collect(),
            pool_volumes: pool_volumes
                .iter()
                .map(|(pool, volume)| ((*pool).to_owned(), (*volume).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn a_node_volume_is_deletable_only_with_its_domain_and_without_other_users() {
        let overlay = VolumeAt {
            name: "demo.web-01.qcow2",
            pool: "fleet-demo",
            path: "/pool/demo.web-01.qcow2",
        };
        let own = references(&["/pool/demo.web-01.qcow2"], &[]);
        let owner = OwningDomain {
            name: "web-01",
            references: &own,
        };
        let mut users = VolumeUsers::default();
        users.add("web-01", &own);
        assert_eq!(
            may_delete_node_volume(Some(owner), overlay, &users, "demo"),
            Ok(())
        );

        // No domain of the fleet for the node: the name alone proves nothing.
        assert_eq!(
            may_delete_node_volume(None, overlay, &users, "demo"),
            Err(KeptReason::Unproven {
                fleet: "demo".to_owned()
            })
        );
        // The node's domain refers to another disk: this volume is not shown to be fleet's.
        let elsewhere = references(&["/pool/mine.qcow2"], &[]);
        let edited = OwningDomain {
            name: "web-01",
            references: &elsewhere,
        };
        assert!(may_delete_node_volume(Some(edited), overlay, &users, "demo").is_err());

        // Another domain uses it, by path or as a pool volume: kept, naming the users.
        users.add("backup", &references(&["/pool/demo.web-01.qcow2"], &[]));
        users.add(
            "web-02",
            &references(&[], &[("fleet-demo", "demo.web-01.qcow2")]),
        );
        assert_eq!(
            may_delete_node_volume(Some(owner), overlay, &users, "demo"),
            Err(KeptReason::InUse {
                domains: vec!["backup".to_owned(), "web-02".to_owned()]
            })
        );
    }
}
