//! Words a key chooses from (strategies, modes, roles, streams), and the Ignition spec version.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use toml::Spanned;
use toml::de::DeValue;

use crate::diagnostics::shown;
use crate::read::read_choice;
use crate::read::{Context, FromToml, KeyPath};

use super::read_parsed;

/// Declares a string value that must be one of a few words, each mapped to a variant.
macro_rules! choice_value {
    (
        $(#[$meta:meta])*
        $name:ident { $($word:literal => $variant:ident),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum $name { $($variant),* }

        impl $name {
            pub(crate) const WORDS: &'static [&'static str] = &[$($word),*];
        }

        impl FromToml for $name {
            fn from_toml(
                value: &Spanned<DeValue<'_>>,
                context: &mut Context<'_>,
                path: &KeyPath<'_>,
            ) -> Option<Self> {
                match read_choice(value, context, path, Self::WORDS)? {
                    $($word => Some($name::$variant),)*
                    _ => None,
                }
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                stringify!($name).into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!({ "type": "string", "enum": Self::WORDS })
            }
        }
    };
}

choice_value!(
    /// `domain_type`.
    DomainTypeName { "auto" => Auto, "kvm" => Kvm, "qemu" => Qemu }
);

choice_value!(
    /// Zincati's update strategy.
    StrategyName { "periodic" => Periodic, "fleet_lock" => FleetLock, "immediate" => Immediate }
);

choice_value!(
    /// How a group's nodes get addresses.
    NetworkMode { "dhcp" => Dhcp, "reserved" => Reserved, "static" => Static }
);

choice_value!(
    /// A pinned rollout role.
    RoleName { "canary" => Canary, "cautious" => Cautious }
);

choice_value!(
    /// The Fedora CoreOS stream.
    StreamName { "stable" => Stable, "testing" => Testing, "next" => Next }
);

impl StreamName {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            StreamName::Stable => "stable",
            StreamName::Testing => "testing",
            StreamName::Next => "next",
        }
    }
}

choice_value!(
    /// podman's auto-update policy.
    AutoUpdateName { "registry" => Registry, "local" => Local, "off" => Off }
);

choice_value!(
    /// A podman network's driver.
    NetworkDriverName { "bridge" => Bridge, "macvlan" => Macvlan, "ipvlan" => Ipvlan }
);

impl NetworkDriverName {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            NetworkDriverName::Bridge => "bridge",
            NetworkDriverName::Macvlan => "macvlan",
            NetworkDriverName::Ipvlan => "ipvlan",
        }
    }
}

choice_value!(
    /// What podman does when a health check fails.
    HealthFailureName { "none" => None, "kill" => Kill, "restart" => Restart, "stop" => Stop }
);

choice_value!(
    /// systemd's `Restart=`.
    RestartName {
        "no" => No, "always" => Always, "on-success" => OnSuccess, "on-failure" => OnFailure,
        "on-abnormal" => OnAbnormal, "on-abort" => OnAbort, "on-watchdog" => OnWatchdog,
    }
);

string_value!(
    /// An Ignition spec version `3.N.0`.
    IgnitionVersion(String),
    schema "IgnitionVersion" { "type": "string", "pattern": "^3\\.[0-9]+\\.0$" },
    parse |text: &str| {
        let minor = text.strip_prefix("3.").and_then(|rest| rest.strip_suffix(".0"));
        match minor {
            Some(minor) if !minor.is_empty() && minor.len() <= 2 && minor.bytes().all(|b| b.is_ascii_digit()) => Ok(text.to_owned()),
            _ => Err(format!("`{text_shown}` is not an Ignition spec version such as 3.5.0 (the form is 3.N.0)", text_shown = shown(text))),
        }
    }
);
