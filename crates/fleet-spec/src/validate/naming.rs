//! What a node's name gives it, by the fleet's name and domain: its default hostname, its UUID and the seed
//! of its derived MAC.

use uuid::Uuid;

use crate::expand::{mac_seed, node_uuid};

/// The fleet's name and domain, with a buffer reused to hash node names (this runs once per node).
pub(super) struct Naming {
    pub(super) fleet_name: String,
    pub(super) domain: Option<String>,
    scratch: Vec<u8>,
}

impl Naming {
    pub(super) fn new(fleet_name: String, domain: Option<String>) -> Self {
        Naming {
            fleet_name,
            domain,
            scratch: Vec::new(),
        }
    }

    /// A node name with the fleet's domain appended: the default hostname.
    pub(super) fn qualified(&self, name: &str) -> String {
        match &self.domain {
            Some(domain) => {
                let mut qualified = String::with_capacity(name.len() + 1 + domain.len());
                qualified.push_str(name);
                qualified.push('.');
                qualified.push_str(domain);
                qualified
            }
            None => name.to_owned(),
        }
    }

    /// A written `hostname`: short names get the fleet's domain, names with dots are taken as they are.
    pub(super) fn qualified_hostname(&self, hostname: &str) -> String {
        if hostname.contains('.') {
            hostname.to_owned()
        } else {
            self.qualified(hostname)
        }
    }

    pub(super) fn uuid_of(&mut self, node_name: &str) -> Uuid {
        node_uuid(&mut self.scratch, &self.fleet_name, node_name)
    }

    pub(super) fn mac_seed_of(&mut self, node_name: &str) -> u32 {
        mac_seed(&mut self.scratch, &self.fleet_name, node_name)
    }
}
