//! The HTTP client a pull uses: rustls with the system's trusted certificates, timeouts that catch
//! a stalled server without limiting how long a large download may take, and bounded reads of
//! small documents.

use std::sync::Arc;
use std::time::Duration;

use ureq::Agent;
use ureq::tls::{RootCerts, TlsConfig};

use crate::error::ImageError;

/// How long a pull waits on the network before giving up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Resolving a name and opening a connection.
    pub connect: Duration,
    /// Waiting for a response's headers, and for each read of its body: a download may take as
    /// long as it needs while bytes keep arriving.
    pub idle: Duration,
}

/// Whether requests go through a proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProxySetting {
    /// The proxy `ALL_PROXY`, `HTTPS_PROXY` or `HTTP_PROXY` names, except for hosts `NO_PROXY`
    /// lists, as curl and most tools read them.
    #[default]
    FromEnvironment,
    /// Connect directly, whatever the environment says (a mirror on this machine or network).
    Direct,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(30),
            idle: Duration::from_secs(60),
        }
    }
}

/// A client for one pull. Certificates are checked against the system's trust store (so a
/// private mirror's internal CA, installed the system's way, works); statuses are the caller's
/// to judge.
pub(crate) fn agent(timeouts: Timeouts, proxy: ProxySetting) -> Agent {
    let proxy = match proxy {
        ProxySetting::FromEnvironment => ureq::Proxy::try_from_env(),
        ProxySetting::Direct => None,
    };
    let tls = TlsConfig::builder()
        .root_certs(RootCerts::PlatformVerifier)
        .unversioned_rustls_crypto_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .build();
    Agent::config_builder()
        .tls_config(tls)
        .proxy(proxy)
        .http_status_as_error(false)
        .user_agent(concat!("fleet-image/", env!("CARGO_PKG_VERSION")))
        .timeout_resolve(Some(timeouts.connect))
        .timeout_connect(Some(timeouts.connect))
        .timeout_recv_response(Some(timeouts.idle))
        .timeout_per_read(Some(timeouts.idle))
        .build()
        .into()
}

/// GETs `url`, answering what arrived: the status, and the body when the status is 200.
pub(crate) fn get_small(
    agent: &Agent,
    url: &str,
    limit: u64,
    what: &'static str,
) -> Result<Result<Vec<u8>, u16>, ImageError> {
    let mut response = agent
        .get(url)
        .call()
        .map_err(|source| http_error(url, source))?;
    let status = response.status().as_u16();
    if status != 200 {
        return Ok(Err(status));
    }
    let body = response
        .body_mut()
        .with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|source| match source {
            ureq::Error::BodyExceedsLimit(_) => ImageError::TooLarge {
                url: url.to_owned(),
                what,
                limit,
            },
            source => http_error(url, source),
        })?;
    Ok(Ok(body))
}

pub(crate) fn http_error(url: &str, source: ureq::Error) -> ImageError {
    ImageError::Http {
        url: url.to_owned(),
        source: Box::new(source),
    }
}
