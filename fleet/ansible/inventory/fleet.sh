#!/bin/sh
# Ansible dynamic inventory of a fleet file: `ansible-inventory -i fleet/ansible/inventory/fleet.sh --graph`. FLEET_FILE picks the fleet file (default ./fleet.toml), FLEET_BIN the fleet binary (default: fleet on PATH), FLEET_ADDRESSES=libvirt gives DHCP nodes the lease libvirt knows (default: file, the fleet file alone, no hypervisor reached); docs/ansible.md.
exec "${FLEET_BIN:-fleet}" inventory "${FLEET_FILE:-fleet.toml}" --addresses "${FLEET_ADDRESSES:-file}" "$@"
