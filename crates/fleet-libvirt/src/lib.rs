//! Provisioning on libvirt: the only crate that links `virt`. Pools, volumes, domains built from typed XML, DHCP reservations.
