//! Butane to Ignition translation (fcos 1.0.0 to 1.7.0) and per-node Ignition rendering: bytes in, bytes out, no I/O.
