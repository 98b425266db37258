//! What the pull tests share: a small HTTP server on 127.0.0.1 and a signed fixture release.

pub(crate) mod release;
pub(crate) mod server;
