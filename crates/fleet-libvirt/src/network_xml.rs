//! DHCP host reservations in a libvirt network: the `<host mac ip name>` element fleet adds and the ones it reads back.

use std::net::Ipv4Addr;

use crate::xml::Element;

/// One `<host>` entry under a network's `<ip><dhcp>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DhcpHost {
    /// Lowercase `aa:bb:…`.
    pub(crate) mac: Option<String>,
    pub(crate) ip: Option<Ipv4Addr>,
    pub(crate) name: Option<String>,
}

impl DhcpHost {
    pub(crate) fn new(mac: &str, ip: Ipv4Addr, name: &str) -> DhcpHost {
        DhcpHost {
            mac: Some(mac.to_ascii_lowercase()),
            ip: Some(ip),
            name: Some(name.to_owned()),
        }
    }

    /// The element for `virNetworkUpdate` (section `ip-dhcp-host`).
    pub(crate) fn to_xml(&self) -> String {
        let mut host = Element::new("host");
        if let Some(mac) = &self.mac {
            host = host.attr("mac", mac);
        }
        if let Some(name) = &self.name {
            host = host.attr("name", name);
        }
        if let Some(ip) = self.ip {
            host = host.attr("ip", ip.to_string());
        }
        host.to_xml()
    }
}

/// What fleet reads from a network's XML.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct ObservedNetwork {
    pub(crate) dhcp_hosts: Vec<DhcpHost>,
}

impl ObservedNetwork {
    pub(crate) fn parse(xml: &str) -> Result<ObservedNetwork, String> {
        let network = Element::parse(xml)?;
        let dhcp_hosts = network
            .all("ip")
            .filter_map(|ip| ip.first("dhcp"))
            .flat_map(|dhcp| dhcp.all("host"))
            .map(|host| DhcpHost {
                mac: host.attribute("mac").map(str::to_ascii_lowercase),
                ip: host.attribute("ip").and_then(|ip| ip.parse().ok()),
                name: host.attribute("name").map(str::to_owned),
            })
            .collect();
        Ok(ObservedNetwork { dhcp_hosts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_read_back() {
        let network = "<network><name>default</name>\
            <ip address='192.168.122.1' netmask='255.255.255.0'><dhcp>\
            <range start='192.168.122.2' end='192.168.122.254'/>\
            <host mac='52:54:00:AA:00:01' name='db-1' ip='192.168.122.31'/>\
            <host mac='52:54:00:aa:00:02' ip='192.168.122.32'/>\
            </dhcp></ip><ip family='ipv6' address='fd00::1' prefix='64'/></network>";
        let observed = ObservedNetwork::parse(network).unwrap();
        assert_eq!(
            observed.dhcp_hosts,
            vec![
                DhcpHost::new(
                    "52:54:00:aa:00:01",
                    Ipv4Addr::new(192, 168, 122, 31),
                    "db-1"
                ),
                DhcpHost {
                    mac: Some("52:54:00:aa:00:02".to_owned()),
                    ip: Some(Ipv4Addr::new(192, 168, 122, 32)),
                    name: None,
                },
            ]
        );
        let xml = observed.dhcp_hosts[0].to_xml();
        assert_eq!(
            xml,
            "<host mac=\"52:54:00:aa:00:01\" name=\"db-1\" ip=\"192.168.122.31\"/>"
        );
    }
}
