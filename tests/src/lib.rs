//! End-to-end tests of the `fleet` binary and of real libvirt live in `tests/tests/`; this library holds their shared helpers.
