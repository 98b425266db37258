//! The rollout planner: canary and cautious roles, Zincati reboot windows that bound unavailability, reboot prediction and host placement. Pure: no clock, no I/O, no libvirt.
