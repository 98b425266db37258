//! Fedora CoreOS stream metadata (`STREAM.json`): where a stream's file is, and the one artefact
//! fleet boots, `architectures.ARCH.artifacts.qemu.formats["qcow2.xz"].disk`, as typed values.

use serde_json::Value;

use crate::checksum::Sha256Digest;
use crate::error::ImageError;

/// Where Fedora publishes stream metadata; `STREAM.json` is appended.
pub const DEFAULT_STREAM_BASE_URL: &str = "https://builds.coreos.fedoraproject.org/streams/";

/// The platform whose images libvirt boots.
pub const PLATFORM: &str = "qemu";
/// The format fleet downloads: qcow2, xz-compressed (the only one the qemu platform publishes).
pub const FORMAT: &str = "qcow2.xz";
const ARTIFACT: &str = "disk";

/// The qemu disk image of one stream and architecture, as its stream metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QemuImage {
    pub stream: String,
    pub architecture: String,
    /// The Fedora CoreOS release, e.g. `43.20251110.3.1`.
    pub release: String,
    /// The `.qcow2.xz` to download (an absolute http or https URL).
    pub location: String,
    /// Its detached OpenPGP signature.
    pub signature: String,
    /// sha256 of the compressed file.
    pub sha256: Sha256Digest,
    /// sha256 after decompressing.
    pub uncompressed_sha256: Sha256Digest,
}

/// The URL of a stream's metadata under `base_url` (a directory: a missing final `/` is added,
/// so `https://mirror/fcos` and `https://mirror/fcos/` both mean `https://mirror/fcos/STREAM.json`).
pub fn stream_url(base_url: &str, stream: &str) -> Result<String, ImageError> {
    check_name("stream", stream)?;
    check_http_url(base_url).map_err(|reason| ImageError::InvalidBaseUrl {
        url: base_url.to_owned(),
        reason,
    })?;
    if base_url.contains(['?', '#']) {
        return Err(ImageError::InvalidBaseUrl {
            url: base_url.to_owned(),
            reason: "it must be a directory URL, without a query or fragment",
        });
    }
    let separator = if base_url.ends_with('/') { "" } else { "/" };
    Ok(format!("{base_url}{separator}{stream}.json"))
}

/// Stream and architecture names go into a URL and into messages: keep them to the characters
/// real ones use, so a name can never climb out of the base URL's directory.
pub(crate) fn check_name(what: &'static str, value: &str) -> Result<(), ImageError> {
    let invalid = |reason| ImageError::InvalidName {
        what,
        value: value.to_owned(),
        reason,
    };
    if value.is_empty() || value.len() > 64 {
        return Err(invalid("it must be 1 to 64 characters long"));
    }
    if !value
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.'))
        || value.starts_with('.')
    {
        return Err(invalid(
            "it may hold only letters, digits, '_', '-' and '.', and not start with '.'",
        ));
    }
    Ok(())
}

/// Whether `url` is an absolute http or https URL with a host, in plain ASCII without spaces.
fn check_http_url(url: &str) -> Result<(), &'static str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or("it must start with http:// or https://")?;
    if !url.bytes().all(|byte| byte.is_ascii_graphic()) {
        return Err("it must be ASCII without spaces or control characters");
    }
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.contains('@') {
        return Err("it must name a host (and no user or password)");
    }
    url.parse::<ureq::http::Uri>()
        .map(|_| ())
        .map_err(|_| "it is not a valid URL")
}

/// Reads stream metadata fetched from `url` and picks the qemu qcow2.xz disk of `architecture`.
pub fn qemu_image(
    json: &[u8],
    url: &str,
    stream: &str,
    architecture: &str,
) -> Result<QemuImage, ImageError> {
    check_name("architecture", architecture)?;
    let document: Value =
        serde_json::from_slice(json).map_err(|error| ImageError::StreamSyntax {
            url: url.to_owned(),
            line: error.line(),
            column: error.column(),
            message: error.to_string(),
        })?;
    let walker = Walker { url };
    let root = walker.object(&document, "the document")?;

    let found_stream = walker.string(walker.field(root, "", "stream")?, "stream")?;
    if found_stream != stream {
        return Err(ImageError::StreamMismatch {
            url: url.to_owned(),
            requested: stream.to_owned(),
            found: found_stream.to_owned(),
        });
    }

    let architectures = walker.object(walker.field(root, "", "architectures")?, "architectures")?;
    let Some(arch) = architectures.get(architecture) else {
        return Err(ImageError::UnknownArchitecture {
            stream: stream.to_owned(),
            architecture: architecture.to_owned(),
            available: architectures.keys().cloned().collect(),
        });
    };
    let mut path = format!("architectures.{architecture}");
    let arch = walker.object(arch, &path)?;
    let artifacts = walker.object(walker.field(arch, &path, "artifacts")?, &path)?;
    path.push_str(".artifacts");

    let missing =
        |what: String, available: &serde_json::Map<String, Value>| ImageError::MissingArtifact {
            stream: stream.to_owned(),
            architecture: architecture.to_owned(),
            what,
            available: available.keys().cloned().collect(),
        };
    let platform = artifacts
        .get(PLATFORM)
        .ok_or_else(|| missing(format!("platform {PLATFORM:?}"), artifacts))?;
    path = format!("{path}.{PLATFORM}");
    let platform = walker.object(platform, &path)?;
    let release = walker.string(
        walker.field(platform, &path, "release")?,
        &format!("{path}.release"),
    )?;
    check_release(release)
        .map_err(|problem| walker.problem(&format!("{path}.release"), problem))?;

    let formats = walker.object(walker.field(platform, &path, "formats")?, &path)?;
    path.push_str(".formats");
    let format = formats.get(FORMAT).ok_or_else(|| {
        missing(
            format!("format {FORMAT:?} of platform {PLATFORM:?}"),
            formats,
        )
    })?;
    path = format!("{path}[\"{FORMAT}\"]");
    let format = walker.object(format, &path)?;
    let disk = format.get(ARTIFACT).ok_or_else(|| {
        missing(
            format!("{ARTIFACT:?} in format {FORMAT:?} of platform {PLATFORM:?}"),
            format,
        )
    })?;
    path.push_str(".disk");
    let disk = walker.object(disk, &path)?;

    let url_field = |name: &str| -> Result<String, ImageError> {
        let field = format!("{path}.{name}");
        let value = walker.string(walker.field(disk, &path, name)?, &field)?;
        check_http_url(value)
            .map_err(|reason| walker.problem(&field, format!("is {value:?}: {reason}")))?;
        Ok(value.to_owned())
    };
    let digest_field = |name: &str| -> Result<Sha256Digest, ImageError> {
        let field = format!("{path}.{name}");
        let value = walker.string(walker.field(disk, &path, name)?, &field)?;
        Sha256Digest::from_hex(value).ok_or_else(|| {
            walker.problem(
                &field,
                format!("is {value:?}, not a sha256 (64 hex digits)"),
            )
        })
    };

    Ok(QemuImage {
        stream: stream.to_owned(),
        architecture: architecture.to_owned(),
        release: release.to_owned(),
        location: url_field("location")?,
        signature: url_field("signature")?,
        sha256: digest_field("sha256")?,
        uncompressed_sha256: digest_field("uncompressed-sha256")?,
    })
}

/// A release is a version string such as `43.20251110.3.1`; it names files and goes into
/// records, so it gets the same short alphabet as names.
fn check_release(release: &str) -> Result<(), String> {
    check_name("release", release).map_err(|_| {
        format!("is {release:?}, not a release (digits and dots, e.g. 43.20251110.3.1)")
    })
}

/// Descends the JSON document, naming the path of whatever is missing or of the wrong type.
struct Walker<'url> {
    url: &'url str,
}

impl Walker<'_> {
    fn problem(&self, field: &str, problem: String) -> ImageError {
        ImageError::StreamField {
            url: self.url.to_owned(),
            field: field.to_owned(),
            problem,
        }
    }

    fn field<'value>(
        &self,
        object: &'value serde_json::Map<String, Value>,
        parent: &str,
        name: &str,
    ) -> Result<&'value Value, ImageError> {
        let path = if parent.is_empty() {
            name.to_owned()
        } else {
            format!("{parent}.{name}")
        };
        object.get(name).ok_or_else(|| {
            let present: Vec<&str> = object.keys().map(String::as_str).collect();
            self.problem(
                &path,
                format!("is missing (present: {})", present.join(", ")),
            )
        })
    }

    fn object<'value>(
        &self,
        value: &'value Value,
        path: &str,
    ) -> Result<&'value serde_json::Map<String, Value>, ImageError> {
        value
            .as_object()
            .ok_or_else(|| self.problem(path, format!("is {}, not an object", kind(value))))
    }

    fn string<'value>(&self, value: &'value Value, path: &str) -> Result<&'value str, ImageError> {
        value
            .as_str()
            .ok_or_else(|| self.problem(path, format!("is {}, not a string", kind(value))))
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://mirror.invalid/streams/stable.json";

    /// The fixture the integration tests serve, with its placeholders filled in.
    fn fixture() -> String {
        include_str!("../tests/data/stream.json")
            .replace("{BASE}", "https://mirror.invalid/prod")
            .replace("{SHA256}", &"a".repeat(64))
            .replace("{UNCOMPRESSED_SHA256}", &"b".repeat(64))
    }

    fn error(json: &str, stream: &str, architecture: &str) -> String {
        qemu_image(json.as_bytes(), URL, stream, architecture)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn picks_the_qemu_qcow2_xz_disk() {
        let image = qemu_image(fixture().as_bytes(), URL, "stable", "x86_64").unwrap();
        assert_eq!(image.release, "43.20261115.3.0");
        assert_eq!(
            image.location,
            "https://mirror.invalid/prod/fedora-coreos-43.20261115.3.0-qemu.x86_64.qcow2.xz"
        );
        assert_eq!(image.signature, format!("{}.sig", image.location));
        assert_eq!(image.sha256.as_hex(), "a".repeat(64));
        assert_eq!(image.uncompressed_sha256.as_hex(), "b".repeat(64));
    }

    #[test]
    fn an_unknown_architecture_lists_the_known_ones() {
        assert_eq!(
            error(&fixture(), "stable", "riscv64"),
            "stream stable has no architecture \"riscv64\"; it has aarch64, x86_64"
        );
    }

    #[test]
    fn a_missing_artefact_says_which_and_what_exists() {
        assert_eq!(
            error(&fixture(), "stable", "aarch64"),
            "stream stable has no platform \"qemu\" for aarch64; it has metal"
        );
        let no_uncompressed = fixture().replace("\"uncompressed-sha256\"", "\"x-uncompressed\"");
        assert_eq!(
            error(&no_uncompressed, "stable", "x86_64"),
            "stream metadata from https://mirror.invalid/streams/stable.json: architectures.x86_64.artifacts.qemu.formats[\"qcow2.xz\"].disk.uncompressed-sha256 is missing (present: location, sha256, signature, x-uncompressed)"
        );
    }

    #[test]
    fn metadata_of_another_stream_is_refused() {
        assert_eq!(
            error(&fixture(), "testing", "x86_64"),
            "stream metadata from https://mirror.invalid/streams/stable.json describes stream \"stable\", not \"testing\""
        );
    }

    #[test]
    fn broken_json_names_line_and_column() {
        assert_eq!(
            error(
                "{\n  \"stream\": \"stable\",\n  oops\n}",
                "stable",
                "x86_64"
            ),
            "stream metadata from https://mirror.invalid/streams/stable.json is not JSON: line 3, column 3: key must be a string at line 3 column 3"
        );
    }

    #[test]
    fn hostile_locations_and_digests_are_refused() {
        let file_url = fixture().replace(
            "https://mirror.invalid/prod/fedora-coreos-43.20261115.3.0-qemu.x86_64.qcow2.xz\"",
            "file:///etc/fedora-coreos-43.20261115.3.0-qemu.x86_64.qcow2.xz\"",
        );
        assert!(
            error(&file_url, "stable", "x86_64").contains(
                "disk.location is \"file:///etc/fedora-coreos-43.20261115.3.0-qemu.x86_64.qcow2.xz\": it must start with http:// or https://"
            ),
            "{}",
            error(&file_url, "stable", "x86_64")
        );
        let short_digest = fixture().replacen(&"a".repeat(64), "abc", 1);
        assert!(
            error(&short_digest, "stable", "x86_64")
                .contains("disk.sha256 is \"abc\", not a sha256")
        );
        let odd_release = fixture().replace("43.20261115.3.0\"", "../../etc\"");
        assert!(
            error(&odd_release, "stable", "x86_64")
                .contains("qemu.release is \"../../etc\", not a release")
        );
    }

    #[test]
    fn stream_urls_stay_inside_the_base_directory() {
        assert_eq!(
            stream_url("https://mirror.invalid/fcos", "next").unwrap(),
            "https://mirror.invalid/fcos/next.json"
        );
        assert_eq!(
            stream_url(DEFAULT_STREAM_BASE_URL, "stable").unwrap(),
            "https://builds.coreos.fedoraproject.org/streams/stable.json"
        );
        for stream in ["../stable", "", ".hidden", "a/b", "stable?x"] {
            assert!(
                stream_url(DEFAULT_STREAM_BASE_URL, stream).is_err(),
                "{stream:?}"
            );
        }
        for base in [
            "ftp://mirror/",
            "https:///streams/",
            "https://user@mirror/",
            "https://mirror/?q",
            "https://mir ror/",
        ] {
            assert!(stream_url(base, "stable").is_err(), "{base:?}");
        }
    }

    proptest::proptest! {
        /// Stream metadata comes from servers fleet does not control: any bytes, and any damage
        /// to a real file, give a value or an error, never a panic.
        #[test]
        fn any_stream_file_is_read_or_refused(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
            cut in 0usize..4000,
        ) {
            let _ = qemu_image(&bytes, URL, "stable", "x86_64");
            let fixture = fixture();
            let _ = qemu_image(&fixture.as_bytes()[..cut.min(fixture.len())], URL, "stable", "x86_64");
        }
    }
}
