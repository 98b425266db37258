//! The fleet as an Ansible inventory (`fleet inventory`): groups and host variables from the fleet
//! file and its plan alone, in the JSON of Ansible's dynamic inventory protocol.
//!
//! Ansible's script inventory runs a program with `--list` and reads
//! `{"GROUP": {"hosts": [...], "children": [...], "vars": {...}}, "_meta": {"hostvars": {...}}}`;
//! with `_meta` present it never asks `--host` for each host. Group names are made valid Ansible
//! names here (letters, digits and `_`, not starting with a digit) instead of leaving Ansible to
//! warn and rewrite them; two things that would get one name are refused, naming both, since a
//! merged group would run a play on hosts it was not meant for.
//!
//! Fedora CoreOS has no Python, so Ansible reaches nodes with `raw` only; the hypervisors are
//! ordinary hosts (`hypervisors`), reached as their libvirt URI says.

use std::collections::BTreeMap;

use fleet_plan::{Placement, Plan};
use fleet_spec::libvirt_uri::LibvirtUri;
use fleet_spec::{Addressing, Fleet, Node};
use serde::Serialize;

use crate::cmd::plan::WindowsView;

/// The group of every hypervisor.
pub const HYPERVISORS_GROUP: &str = "hypervisors";
/// The group of every node (its children are the fleet's groups).
pub const NODES_GROUP: &str = "nodes";
/// Prefix of the group of the nodes placed on one hypervisor: `on_hv1`.
pub const ON_HYPERVISOR_PREFIX: &str = "on_";
/// The hypervisor of a fleet without `[[host]]` whose `connect` URI is local.
pub const LOCAL_HYPERVISOR: &str = "localhost";

/// Ansible's variable naming the Python that runs the playbook.
const PLAYBOOK_PYTHON: &str = "{{ ansible_playbook_python }}";

/// Why the fleet cannot be written as an inventory.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error(
        "{name:?} would name both {first} and {second} in the Ansible inventory (group names keep only letters, digits and `_`); rename one of them in the fleet file"
    )]
    NameClash {
        name: String,
        first: String,
        second: String,
    },
    #[error("no host named {name:?} in the inventory{}; `fleet inventory --list` lists them", did_you_mean(.suggestion.as_deref()))]
    NoSuchHost {
        name: String,
        suggestion: Option<String>,
    },
}

fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion.map_or_else(String::new, |name| format!(" (did you mean {name:?}?)"))
}

/// The whole inventory, as `--list` prints it.
#[derive(Debug, Serialize)]
pub struct Inventory<'a> {
    #[serde(flatten)]
    pub groups: BTreeMap<String, InventoryGroup>,
    #[serde(rename = "_meta")]
    pub meta: InventoryMeta<'a>,
}

/// `_meta`: every host's variables.
#[derive(Debug, Serialize)]
pub struct InventoryMeta<'a> {
    pub hostvars: BTreeMap<String, HostVars<'a>>,
}

/// One Ansible group. Hosts and children are sorted by name, so the output is the same every time.
/// `hosts` is always written: Ansible takes an empty group (`{}`) for a host of that name.
#[derive(Debug, Default, Serialize)]
pub struct InventoryGroup {
    pub hosts: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<&'static str, String>,
}

/// A host's variables: a node's or a hypervisor's.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum HostVars<'a> {
    Node(NodeVars<'a>),
    Hypervisor(HypervisorVars<'a>),
}

/// What a node's play needs: where to reach it and what fleet planned for it.
#[derive(Debug, Serialize)]
pub struct NodeVars<'a> {
    /// The static or reserved address; a DHCP node has none (Ansible then uses the node's name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ansible_host: Option<String>,
    /// The first of the node's users with an SSH key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ansible_user: Option<&'a str>,
    pub fleet_hostname: &'a str,
    pub fleet_group: &'a str,
    pub fleet_addressing: &'static str,
    pub fleet_mac: String,
    pub fleet_role: &'static str,
    pub fleet_wariness: f64,
    pub fleet_strategy: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fleet_time_zone: Option<&'static str>,
    pub fleet_windows: WindowsView<'a>,
    pub fleet_hypervisor: String,
}

/// A hypervisor: where its libvirt URI points.
#[derive(Debug, Serialize)]
pub struct HypervisorVars<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ansible_host: Option<String>,
    /// Only for the `ssh` transports, whose URI user and port are SSH's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ansible_user: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ansible_port: Option<&'a str>,
    /// `local` for a URI on this machine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ansible_connection: Option<&'static str>,
    /// For a local URI, the Python that runs Ansible, as Ansible gives its implicit `localhost`:
    /// naming `localhost` in an inventory otherwise makes Ansible discover an interpreter, which may
    /// not be the one with Ansible's modules (or not run at all, as a pyenv shim).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ansible_python_interpreter: Option<&'static str>,
    pub fleet_connect: &'a str,
    pub fleet_labels: &'a BTreeMap<String, String>,
}

/// A name valid as an Ansible group: every character but ASCII letters, digits and `_` becomes
/// `_`, and a leading digit gets a `_` in front (`zone=eu-1` gives `zone_eu_1`, `1a` gives `_1a`).
pub fn ansible_group_name(name: &str) -> String {
    let mut sanitised: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if sanitised.starts_with(|c: char| c.is_ascii_digit()) || sanitised.is_empty() {
        sanitised.insert(0, '_');
    }
    sanitised
}

/// The group of the nodes on hosts with label `key = value`: `zone_a`.
pub fn label_group_name(key: &str, value: &str) -> String {
    ansible_group_name(&format!("{key}_{value}"))
}

/// One hypervisor as the inventory names it.
struct Hypervisor<'a> {
    name: String,
    connect: &'a str,
    labels: &'a BTreeMap<String, String>,
}

/// The fleet's hypervisors: its `[[host]]` entries, or its single `connect` URI, named after the
/// machine the URI reaches (`localhost` for a local one).
fn hypervisors(fleet: &Fleet) -> Vec<Hypervisor<'_>> {
    static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();
    if fleet.hosts.is_empty() {
        let connect = fleet.connection.as_str();
        let name = LibvirtUri::parse(connect)
            .filter(|uri| !uri.is_local())
            .map_or_else(
                || LOCAL_HYPERVISOR.to_owned(),
                |uri| unbracketed(uri.host).to_owned(),
            );
        return vec![Hypervisor {
            name,
            connect,
            labels: &NO_LABELS,
        }];
    }
    fleet
        .hosts
        .iter()
        .map(|host| Hypervisor {
            name: host.name.clone(),
            connect: &host.connection,
            labels: &host.labels,
        })
        .collect()
}

fn unbracketed(host: &str) -> &str {
    host.strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(host)
}

fn hypervisor_vars<'a>(hypervisor: &Hypervisor<'a>) -> HypervisorVars<'a> {
    let uri = LibvirtUri::parse(hypervisor.connect);
    let local = uri.as_ref().is_none_or(LibvirtUri::is_local);
    let over_ssh = uri.as_ref().is_some_and(|uri| {
        uri.transport.is_some_and(|transport| {
            ["ssh", "libssh", "libssh2"]
                .iter()
                .any(|ssh| transport.eq_ignore_ascii_case(ssh))
        })
    });
    HypervisorVars {
        ansible_host: uri
            .as_ref()
            .filter(|_| !local)
            .map(|uri| unbracketed(uri.host).to_owned()),
        ansible_user: uri.as_ref().filter(|_| over_ssh).and_then(|uri| uri.user),
        ansible_port: uri
            .as_ref()
            .filter(|_| over_ssh)
            .and_then(|uri| uri.port)
            .filter(|port| !port.is_empty()),
        ansible_connection: local.then_some("local"),
        ansible_python_interpreter: local.then_some(PLAYBOOK_PYTHON),
        fleet_connect: hypervisor.connect,
        fleet_labels: hypervisor.labels,
    }
}

fn addressing_name(addressing: &Addressing) -> &'static str {
    match addressing {
        Addressing::Dhcp => "dhcp",
        Addressing::Reserved(_) => "reserved",
        Addressing::Static(_) => "static",
    }
}

/// The first of the node's users with an SSH key: the one Ansible logs in as.
fn first_user_with_key(node: &Node) -> Option<&str> {
    node.settings
        .users
        .iter()
        .find(|user| !user.ssh_authorized_keys.is_empty() || !user.ssh_key_files.is_empty())
        .map(|user| user.name.as_str())
}

/// Group and host names, each with what it names, so that a clash is refused with both.
#[derive(Default)]
struct Names {
    taken: BTreeMap<String, String>,
}

impl Names {
    fn claim(&mut self, name: &str, what: impl FnOnce() -> String) -> Result<(), InventoryError> {
        let what = what();
        match self.taken.get(name) {
            Some(first) if *first != what => Err(InventoryError::NameClash {
                name: name.to_owned(),
                first: first.clone(),
                second: what,
            }),
            Some(_) => Ok(()),
            None => {
                self.taken.insert(name.to_owned(), what);
                Ok(())
            }
        }
    }
}

/// The inventory of `fleet`, planned as `plan`, its nodes on the hosts `placement` gives them
/// (`fleet plan`'s placement from the file alone, or where `fleet status` finds them).
/// `plan.nodes[i]` is the plan of `fleet.nodes[i]`.
pub fn inventory<'a>(
    fleet: &'a Fleet,
    plan: &'a Plan,
    placement: &Placement,
) -> Result<Inventory<'a>, InventoryError> {
    let mut names = Names::default();
    for reserved in [
        "all",
        "ungrouped",
        HYPERVISORS_GROUP,
        NODES_GROUP,
        "canary",
        "cautious",
    ] {
        names.claim(reserved, || {
            format!("the inventory's own group {reserved:?}")
        })?;
    }
    let mut groups: BTreeMap<String, InventoryGroup> = BTreeMap::new();
    let mut hostvars = BTreeMap::new();

    let hypervisors = hypervisors(fleet);
    let mut hypervisor_groups = Vec::new();
    for hypervisor in &hypervisors {
        names.claim(&hypervisor.name, || {
            format!("the hypervisor {:?}", hypervisor.name)
        })?;
        let on_group = format!(
            "{ON_HYPERVISOR_PREFIX}{}",
            ansible_group_name(&hypervisor.name)
        );
        names.claim(&on_group, || {
            format!("the nodes on hypervisor {:?}", hypervisor.name)
        })?;
        for (key, value) in hypervisor.labels {
            names.claim(&label_group_name(key, value), || {
                format!("the nodes on hosts labelled {key} = {value:?}")
            })?;
        }
        groups
            .entry(HYPERVISORS_GROUP.to_owned())
            .or_default()
            .hosts
            .push(hypervisor.name.clone());
        hostvars.insert(
            hypervisor.name.clone(),
            HostVars::Hypervisor(hypervisor_vars(hypervisor)),
        );
        hypervisor_groups.push(on_group);
    }
    let hypervisors_group = groups.entry(HYPERVISORS_GROUP.to_owned()).or_default();
    hypervisors_group
        .vars
        .insert("fleet_pool_name", fleet.pool.name.clone());
    hypervisors_group
        .vars
        .insert("fleet_pool_path", fleet.pool.path.display().to_string());
    hypervisors_group
        .vars
        .insert("fleet_network", fleet.network.clone());
    hypervisors_group
        .vars
        .insert("fleet_image_stream", fleet.image.stream.clone());

    for group in &fleet.groups {
        let name = ansible_group_name(&group.name);
        names.claim(&name, || format!("the fleet group {:?}", group.name))?;
        groups
            .entry(NODES_GROUP.to_owned())
            .or_default()
            .children
            .push(name.clone());
        groups.entry(name).or_default();
    }
    for role in ["canary", "cautious"] {
        groups.entry(role.to_owned()).or_default();
    }

    for (node, node_plan) in fleet.nodes.iter().zip(&plan.nodes) {
        names.claim(&node.name, || format!("the node {:?}", node.name))?;
        let group = fleet.group_of(node);
        let hypervisor_index = match placement.host_of(&node.name) {
            Some(host) => hypervisors
                .iter()
                .position(|hypervisor| hypervisor.name == host)
                .unwrap_or(0),
            None => 0,
        };
        let hypervisor = &hypervisors[hypervisor_index];
        let mut member_of = vec![
            ansible_group_name(&group.name),
            node_plan.role.as_str().to_owned(),
            hypervisor_groups[hypervisor_index].clone(),
        ];
        member_of.extend(
            hypervisor
                .labels
                .iter()
                .map(|(key, value)| label_group_name(key, value)),
        );
        for group_name in member_of {
            groups
                .entry(group_name)
                .or_default()
                .hosts
                .push(node.name.clone());
        }
        hostvars.insert(
            node.name.clone(),
            HostVars::Node(NodeVars {
                ansible_host: node.address.map(|address| address.to_string()),
                ansible_user: first_user_with_key(node),
                fleet_hostname: &node.hostname,
                fleet_group: &group.name,
                fleet_addressing: addressing_name(&group.addressing),
                fleet_mac: node.mac.to_string(),
                fleet_role: node_plan.role.as_str(),
                fleet_wariness: node_plan.rollout_wariness,
                fleet_strategy: node_plan.strategy.name(),
                fleet_time_zone: node_plan.time_zone().map(|zone| zone.name()),
                fleet_windows: WindowsView(node_plan.windows()),
                fleet_hypervisor: hypervisor.name.clone(),
            }),
        );
    }
    // Every hypervisor gets its group, empty or not, so a play can name it safely.
    for on_group in hypervisor_groups {
        groups.entry(on_group).or_default();
    }

    let all = groups.entry("all".to_owned()).or_default();
    all.children = vec![HYPERVISORS_GROUP.to_owned(), NODES_GROUP.to_owned()];
    all.vars.insert("fleet_name", fleet.name.clone());
    for group in groups.values_mut() {
        group.hosts.sort();
        group.children.sort();
    }
    Ok(Inventory {
        groups,
        meta: InventoryMeta { hostvars },
    })
}

impl<'a> Inventory<'a> {
    /// Give the nodes without an address (DHCP nodes) the one `addresses` has for them.
    pub fn reach_at(&mut self, addresses: &BTreeMap<String, String>) {
        for (name, vars) in &mut self.meta.hostvars {
            if let (HostVars::Node(node), Some(address)) = (vars, addresses.get(name))
                && node.ansible_host.is_none()
            {
                node.ansible_host = Some(address.clone());
            }
        }
    }

    /// One host's variables, as `--host NAME` prints them.
    pub fn host(&self, name: &str) -> Result<&HostVars<'a>, InventoryError> {
        self.meta
            .hostvars
            .get(name)
            .ok_or_else(|| InventoryError::NoSuchHost {
                name: name.to_owned(),
                suggestion: fleet_spec::closest(
                    name,
                    self.meta.hostvars.keys().map(String::as_str),
                )
                .map(str::to_owned),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_keep_letters_digits_and_underscores_only() {
        assert_eq!(ansible_group_name("web"), "web");
        assert_eq!(ansible_group_name("web-eu.1"), "web_eu_1");
        assert_eq!(ansible_group_name("1st"), "_1st");
        assert_eq!(ansible_group_name(""), "_");
        assert_eq!(label_group_name("zone", "a"), "zone_a");
        assert_eq!(label_group_name("zone", "eu-west 1"), "zone_eu_west_1");
    }

    fn node(ansible_host: Option<&str>) -> HostVars<'static> {
        HostVars::Node(NodeVars {
            ansible_host: ansible_host.map(str::to_owned),
            ansible_user: None,
            fleet_hostname: "n",
            fleet_group: "g",
            fleet_addressing: "dhcp",
            fleet_mac: "52:54:00:00:00:01".to_owned(),
            fleet_role: "normal",
            fleet_wariness: 0.5,
            fleet_strategy: "immediate",
            fleet_time_zone: None,
            fleet_windows: WindowsView(&[]),
            fleet_hypervisor: "localhost".to_owned(),
        })
    }

    fn address_of<'a>(inventory: &'a Inventory<'_>, name: &str) -> Option<&'a str> {
        match &inventory.meta.hostvars[name] {
            HostVars::Node(node) => node.ansible_host.as_deref(),
            HostVars::Hypervisor(hypervisor) => hypervisor.ansible_host.as_deref(),
        }
    }

    #[test]
    fn leases_reach_only_the_nodes_the_file_gives_no_address() {
        let mut inventory = Inventory {
            groups: BTreeMap::new(),
            meta: InventoryMeta {
                hostvars: BTreeMap::from([
                    ("dhcp-leased".to_owned(), node(None)),
                    ("dhcp-unleased".to_owned(), node(None)),
                    ("static".to_owned(), node(Some("192.168.122.20"))),
                ]),
            },
        };
        inventory.reach_at(&BTreeMap::from([
            ("dhcp-leased".to_owned(), "192.168.122.150".to_owned()),
            ("static".to_owned(), "192.168.122.151".to_owned()),
        ]));
        assert_eq!(
            address_of(&inventory, "dhcp-leased"),
            Some("192.168.122.150")
        );
        assert_eq!(address_of(&inventory, "dhcp-unleased"), None);
        assert_eq!(address_of(&inventory, "static"), Some("192.168.122.20"));
    }
}
