//! Spec versions: Butane `fcos` versions and the Ignition spec versions they translate to.

use std::fmt;
use std::str::FromStr;

/// An Ignition config spec version this crate can validate and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum IgnitionVersion {
    V3_0,
    V3_1,
    V3_2,
    V3_3,
    V3_4,
    V3_5,
    V3_6,
    /// `3.7.0-experimental` (Butane fcos `1.8.0-experimental`).
    V3_7Experimental,
}

impl IgnitionVersion {
    /// Every version, oldest first.
    pub const ALL: [IgnitionVersion; 8] = [
        Self::V3_0,
        Self::V3_1,
        Self::V3_2,
        Self::V3_3,
        Self::V3_4,
        Self::V3_5,
        Self::V3_6,
        Self::V3_7Experimental,
    ];

    /// The newest stable version.
    pub const LATEST_STABLE: IgnitionVersion = Self::V3_6;

    /// The version string written to `ignition.version`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::V3_0 => "3.0.0",
            Self::V3_1 => "3.1.0",
            Self::V3_2 => "3.2.0",
            Self::V3_3 => "3.3.0",
            Self::V3_4 => "3.4.0",
            Self::V3_5 => "3.5.0",
            Self::V3_6 => "3.6.0",
            Self::V3_7Experimental => "3.7.0-experimental",
        }
    }

    pub fn is_experimental(self) -> bool {
        self == Self::V3_7Experimental
    }
}

impl fmt::Display for IgnitionVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not an Ignition spec version this crate knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown Ignition spec version {0:?}; known: 3.0.0 to 3.6.0 and 3.7.0-experimental")]
pub struct UnknownIgnitionVersion(pub String);

impl FromStr for IgnitionVersion {
    type Err = UnknownIgnitionVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownIgnitionVersion(s.to_owned()))
    }
}

/// A Butane `fcos` variant version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ButaneVersion {
    V1_0,
    V1_1,
    V1_2,
    V1_3,
    V1_4,
    V1_5,
    V1_6,
    V1_7,
    /// `1.8.0-experimental`.
    V1_8Experimental,
}

impl ButaneVersion {
    pub const ALL: [ButaneVersion; 9] = [
        Self::V1_0,
        Self::V1_1,
        Self::V1_2,
        Self::V1_3,
        Self::V1_4,
        Self::V1_5,
        Self::V1_6,
        Self::V1_7,
        Self::V1_8Experimental,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1_0 => "1.0.0",
            Self::V1_1 => "1.1.0",
            Self::V1_2 => "1.2.0",
            Self::V1_3 => "1.3.0",
            Self::V1_4 => "1.4.0",
            Self::V1_5 => "1.5.0",
            Self::V1_6 => "1.6.0",
            Self::V1_7 => "1.7.0",
            Self::V1_8Experimental => "1.8.0-experimental",
        }
    }

    /// The Ignition spec this version translates to (Butane's config/config.go).
    pub fn ignition_version(self) -> IgnitionVersion {
        match self {
            Self::V1_0 => IgnitionVersion::V3_0,
            Self::V1_1 => IgnitionVersion::V3_1,
            Self::V1_2 | Self::V1_3 => IgnitionVersion::V3_2,
            Self::V1_4 => IgnitionVersion::V3_3,
            Self::V1_5 => IgnitionVersion::V3_4,
            Self::V1_6 => IgnitionVersion::V3_5,
            Self::V1_7 => IgnitionVersion::V3_6,
            Self::V1_8Experimental => IgnitionVersion::V3_7Experimental,
        }
    }

    /// Upstream's base schema generation (`base/v0_N`), 1 to 8.
    pub(crate) fn base(self) -> u8 {
        match self {
            Self::V1_0 => 1,
            Self::V1_1 => 2,
            Self::V1_2 | Self::V1_3 => 3,
            Self::V1_4 => 4,
            Self::V1_5 => 5,
            Self::V1_6 => 6,
            Self::V1_7 => 7,
            Self::V1_8Experimental => 8,
        }
    }

    /// Go package of the base schema, as yaml.v3 names types in its errors.
    pub(crate) fn base_package(self) -> &'static str {
        match self.base() {
            1 => "v0_1",
            2 => "v0_2",
            3 => "v0_3",
            4 => "v0_4",
            5 => "v0_5",
            6 => "v0_6",
            7 => "v0_7",
            _ => "v0_8_exp",
        }
    }

    /// Go package of the fcos schema.
    pub(crate) fn fcos_package(self) -> &'static str {
        match self {
            Self::V1_0 => "v1_0",
            Self::V1_1 => "v1_1",
            Self::V1_2 => "v1_2",
            Self::V1_3 => "v1_3",
            Self::V1_4 => "v1_4",
            Self::V1_5 => "v1_5",
            Self::V1_6 => "v1_6",
            Self::V1_7 => "v1_7",
            Self::V1_8Experimental => "v1_8_exp",
        }
    }
}

impl fmt::Display for ButaneVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A semantic version as `github.com/coreos/go-semver` parses and prints it; Butane looks its
/// translators up by the printed form, so `01.4.0` finds 1.4.0 but `1.4` is not a version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GoSemver {
    major: i64,
    minor: i64,
    patch: i64,
    pre_release: String,
    metadata: String,
}

impl GoSemver {
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let (rest, metadata) = match text.split_once('+') {
            Some((a, b)) => (a, b),
            None => (text, ""),
        };
        let (rest, pre_release) = match rest.split_once('-') {
            Some((a, b)) => (a, b),
            None => (rest, ""),
        };
        let parts: Vec<&str> = rest.splitn(3, '.').collect();
        if parts.len() != 3 || !valid_identifier(pre_release) || !valid_identifier(metadata) {
            return None;
        }
        let number = |s: &str| crate::yaml::go_parse_int(s, 10);
        Some(Self {
            major: number(parts[0])?,
            minor: number(parts[1])?,
            patch: number(parts[2])?,
            pre_release: pre_release.to_owned(),
            metadata: metadata.to_owned(),
        })
    }
}

fn valid_identifier(id: &str) -> bool {
    id.is_empty()
        || id.split('.').all(|part| {
            !part.is_empty() && part.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
        })
}

impl fmt::Display for GoSemver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre_release.is_empty() {
            write!(f, "-{}", self.pre_release)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn semver_prints_like_go_semver() {
        let print = |s: &str| GoSemver::parse(s).map(|v| v.to_string());
        assert_eq!(print("1.4.0").as_deref(), Some("1.4.0"));
        assert_eq!(print("01.4.0").as_deref(), Some("1.4.0"));
        assert_eq!(print("+1.4.0"), None);
        assert_eq!(
            print("1.8.0-experimental").as_deref(),
            Some("1.8.0-experimental")
        );
        assert_eq!(print("1.4"), None);
        assert_eq!(print("1.4.x"), None);
        assert_eq!(print("1.4.0-"), Some("1.4.0".to_owned()));
        assert_eq!(print(""), None);
    }

    #[test]
    fn ignition_versions_round_trip() {
        for v in IgnitionVersion::ALL {
            assert_eq!(v.as_str().parse::<IgnitionVersion>(), Ok(v));
        }
        assert!("3.4".parse::<IgnitionVersion>().is_err());
    }
}
