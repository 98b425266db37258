//! `[[host]]`: the hypervisors nodes are placed on, each reached through its own libvirt URI.

use std::collections::HashMap;

use crate::diagnostics::shown;
use crate::model::{Host, HostCapacity};
use crate::names::check_node_name;
use crate::raw::RawHost;
use crate::read::Span;

use super::checker::Checker;

/// The hosts, checked: unique names, and no two URIs that reach one hypervisor.
pub(super) fn validate(checker: &mut Checker<'_, '_>, raw_hosts: &[RawHost]) -> Vec<Host> {
    let mut hosts = Vec::with_capacity(raw_hosts.len());
    let mut names: HashMap<&str, Span> = HashMap::new();
    let mut connections: HashMap<String, (&String, Span)> = HashMap::new();
    for (position, raw) in raw_hosts.iter().enumerate() {
        let path = format!("host[{position}]");
        let name = checker.required(&raw.name, raw.span, &path, "name", "");
        if let Some(name) = name {
            if let Err(problem) = check_node_name(&name.value) {
                checker.error(
                    name.span,
                    format!("{path}.name: {}", problem.replace("node name", "host name")),
                );
            }
            if let Some(first) = names.insert(&name.value, name.span) {
                let line = checker.location(first).line;
                checker.error(
                    name.span,
                    format!(
                        "{path}.name: duplicate host name `{}`: the first is on line {line}",
                        shown(&name.value)
                    ),
                );
            }
        }
        let connect = checker.required(
            &raw.connect,
            raw.span,
            &path,
            "connect",
            ": the libvirt URI of the host, e.g. connect = \"qemu+ssh://root@hv1/system\"",
        );
        // Spellings of one hypervisor (`qemu:///system`, `qemu+unix:///system`) are one URI.
        if let Some(connect) = connect
            && let Some((first_uri, first)) = connections.insert(
                crate::libvirt_uri::normal_form(&connect.value.0),
                (&connect.value.0, connect.span),
            )
        {
            let line = checker.location(first).line;
            let same = if *first_uri == connect.value.0 {
                "is already the URI of the host".to_owned()
            } else {
                format!("reaches the same hypervisor as `{first_uri}`, the URI of the host")
            };
            checker.error(
                connect.span,
                format!(
                    "{path}.connect: `{}` {same} on line {line}; two hosts on one hypervisor would count its capacity twice",
                    shown(&connect.value.0)
                ),
            );
        }
        if let Some(labels) = raw.labels.get() {
            for (key, value) in &labels.value {
                if key.is_empty() || value.is_empty() {
                    checker.error(
                        labels.span,
                        format!("{path}.labels: labels need a non-empty name and value"),
                    );
                }
            }
        }
        hosts.push(Host {
            name: name.map(|name| name.value.clone()).unwrap_or_default(),
            connection: connect
                .map(|connect| connect.value.0.clone())
                .unwrap_or_default(),
            capacity: HostCapacity {
                vcpus: raw.vcpus.value().map(|vcpus| vcpus.as_u32()),
                memory_mib: raw.memory_mib.value().map(|memory| memory.as_u64()),
                disk_gib: raw.disk_gib.value().map(|disk| disk.as_u64()),
            },
            vcpu_overcommit: raw
                .vcpu_overcommit
                .value()
                .map(|ratio| ratio.0)
                .unwrap_or(1.0),
            labels: raw.labels.value().cloned().unwrap_or_default(),
        });
    }
    hosts
}
