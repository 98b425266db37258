//! The bytes an Ignition resource stands for: a `data:` URL (percent-encoded or base64), gunzipped when
//! its `compression` is `gzip`. Other sources need a network the harness does not give Ignition.

use std::io::Read as _;

use anyhow::{Context, Result, bail};

/// The contents of a resource with this `source` and `compression`.
pub fn resource_bytes(source: &str, compression: Option<&str>) -> Result<Vec<u8>> {
    let url = data_url::DataUrl::process(source).map_err(|error| {
        anyhow::anyhow!(
            "{} is not a data URL ({error:?}): only data URLs can be checked here, the guest has no network",
            abbreviated(source)
        )
    })?;
    let (body, _fragment) = url
        .decode_to_vec()
        .map_err(|error| anyhow::anyhow!("{}: bad base64 ({error:?})", abbreviated(source)))?;
    match compression.unwrap_or("") {
        "" => Ok(body),
        "gzip" => {
            let mut plain = Vec::new();
            flate2::read::GzDecoder::new(body.as_slice())
                .read_to_end(&mut plain)
                .with_context(|| format!("{}: not gzip", abbreviated(source)))?;
            Ok(plain)
        }
        other => bail!("compression {other:?} is not one Ignition knows"),
    }
}

/// Enough of a URL to recognise it in a message, never a whole secret.
fn abbreviated(source: &str) -> String {
    let shown: String = source.chars().take(24).collect();
    if shown.len() < source.len() {
        format!("{shown}...")
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoded_base64_and_gzip_sources_decode() {
        assert_eq!(resource_bytes("data:,a%20b%0A", None).unwrap(), b"a b\n");
        assert_eq!(
            resource_bytes("data:;base64,aGk=", Some("")).unwrap(),
            b"hi"
        );
        // `printf 'hi\n' | gzip -n | base64`
        let gzipped = "data:;base64,H4sIAAAAAAAAA8vI5AIAenpv7QMAAAA=";
        assert_eq!(resource_bytes(gzipped, Some("gzip")).unwrap(), b"hi\n");
    }

    #[test]
    fn other_sources_and_compressions_are_refused() {
        let error = resource_bytes("https://example.com/x", None).unwrap_err();
        assert!(error.to_string().contains("only data URLs"), "{error}");
        assert!(resource_bytes("data:,x", Some("xz")).is_err());
        assert!(resource_bytes("data:;base64,aGk=", Some("gzip")).is_err());
    }
}
