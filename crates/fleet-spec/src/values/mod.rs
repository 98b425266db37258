//! Values with a shape of their own (time zones, days, times, addresses, percentages, crypt hashes...): read, checked
//! where they are written, and described once for both the reader and the JSON Schema. One module per kind of
//! value; `raw.rs` names them by their type alone.

use schemars::JsonSchema;
use toml::Spanned;
use toml::de::DeValue;

use crate::read::{Context, FromToml, KeyPath};

/// Maps a raw type to the type its JSON Schema is generated from (raw tables map to their schema twin).
pub(crate) trait SchemaOf {
    type Schema: JsonSchema;
}

impl SchemaOf for String {
    type Schema = String;
}

impl SchemaOf for i64 {
    type Schema = i64;
}

impl SchemaOf for f64 {
    type Schema = f64;
}

impl SchemaOf for bool {
    type Schema = bool;
}

impl<T: SchemaOf> SchemaOf for crate::read::Located<T> {
    type Schema = T::Schema;
}

impl<T: SchemaOf> SchemaOf for crate::read::Items<T> {
    type Schema = Vec<T::Schema>;
}

impl<T: SchemaOf> SchemaOf for Vec<T> {
    type Schema = Vec<T::Schema>;
}

impl<T: SchemaOf> SchemaOf for std::collections::BTreeMap<String, T> {
    type Schema = std::collections::BTreeMap<String, T::Schema>;
}

/// Implements `SchemaOf` for value types that describe their own schema.
macro_rules! own_schema {
    ($($ty:ty),* $(,)?) => {
        $(impl SchemaOf for $ty { type Schema = $ty; })*
    };
}

own_schema!(
    UnitInterval,
    TimeZone,
    Day,
    TimeOfDay,
    Ipv4,
    Cidr,
    IpAny,
    Mac,
    MaxUnavailableValue,
    CanariesValue,
    SoakMinutes,
    RelativeFile,
    AnyPath,
    PasswordHash,
    SshPublicKey,
    ConnectUri,
    IgnitionVersion,
    HttpUrl,
    DomainTypeName,
    StrategyName,
    NetworkMode,
    RoleName,
    StreamName,
    UnitName,
    CommandLine,
    AutoUpdateName,
    HealthFailureName,
    RestartName,
    PortValue,
    VolumeValue,
    ImageReference,
    PodmanDuration,
    MemoryLimit,
    QuadletValue,
    PodmanSubnet,
    NetworkDriverName,
);

/// Reads a string and parses it with `parse`, reporting `what` on failure.
fn read_parsed<T>(
    value: &Spanned<DeValue<'_>>,
    context: &mut Context<'_>,
    path: &KeyPath<'_>,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Option<T> {
    let text = String::from_toml(value, context, path)?;
    match parse(&text) {
        Ok(parsed) => Some(parsed),
        Err(problem) => {
            context.error(value.span().into(), format!("{path}: {problem}"));
            None
        }
    }
}

/// Declares a string-shaped value type with its parser and schema.
macro_rules! string_value {
    (
        $(#[$meta:meta])*
        $name:ident($inner:ty), schema $schema_name:literal $schema:tt, parse $parse:expr
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub(crate) struct $name(pub(crate) $inner);

        impl FromToml for $name {
            fn from_toml(
                value: &Spanned<DeValue<'_>>,
                context: &mut Context<'_>,
                path: &KeyPath<'_>,
            ) -> Option<Self> {
                read_parsed(value, context, path, $parse).map($name)
            }
        }

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                $schema_name.into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
            }
        }
    };
}

// After the macros above, which the modules use.
mod addresses;
mod choices;
mod containers;
mod credentials;
mod health_checks;
mod kernel_arguments;
mod numbers;
mod paths;
mod rollout;
mod time;

pub(crate) use addresses::*;
pub(crate) use choices::*;
pub(crate) use containers::*;
pub(crate) use credentials::*;
pub(crate) use health_checks::*;
pub(crate) use kernel_arguments::*;
pub(crate) use numbers::*;
pub(crate) use paths::*;
pub(crate) use rollout::*;
pub(crate) use time::*;
