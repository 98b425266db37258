//! Numbers with bounds: sizes, counts, minutes, a rollout wariness, an overcommit ratio.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use toml::Spanned;
use toml::de::DeValue;

use crate::model::{MAX_WINDOW_MINUTES, MIN_WINDOW_MINUTES};
use crate::read::{Context, FromToml, KeyPath};

use super::SchemaOf;

/// An integer within `MIN..=MAX`; the bounds appear in both the error and the schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ranged<const MIN: i64, const MAX: i64>(pub(crate) i64);

impl<const MIN: i64, const MAX: i64> SchemaOf for Ranged<MIN, MAX> {
    type Schema = Self;
}

impl<const MIN: i64, const MAX: i64> FromToml for Ranged<MIN, MAX> {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        let number = i64::from_toml(value, context, path)?;
        if (MIN..=MAX).contains(&number) {
            Some(Ranged(number))
        } else {
            context.error(
                value.span().into(),
                format!("{path}: must be between {MIN} and {MAX}, found {number}"),
            );
            None
        }
    }
}

impl<const MIN: i64, const MAX: i64> JsonSchema for Ranged<MIN, MAX> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("Integer{MIN}To{MAX}").into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "integer", "minimum": MIN, "maximum": MAX })
    }
}

impl<const MIN: i64, const MAX: i64> Ranged<MIN, MAX> {
    /// The value as `u32`; the bounds of every use keep it in range.
    pub(crate) fn as_u32(self) -> u32 {
        u32::try_from(self.0).unwrap_or(u32::MAX)
    }

    pub(crate) fn as_u64(self) -> u64 {
        u64::try_from(self.0).unwrap_or(0)
    }
}

/// Bounds of the sizes a node may have. FCOS itself needs a 10 GiB disk.
pub(crate) type Vcpus = Ranged<1, 512>;
pub(crate) type MemoryMib = Ranged<256, { 16 * 1024 * 1024 }>;
pub(crate) type DiskGib = Ranged<10, { 64 * 1024 }>;
/// Host capacities: anything positive.
pub(crate) type HostVcpus = Ranged<1, 65_536>;
pub(crate) type HostMemoryMib = Ranged<1, { 1 << 40 }>;
pub(crate) type HostDiskGib = Ranged<1, { 1 << 40 }>;
/// Nodes in one group; a million keeps a typo from exhausting memory.
pub(crate) type NodeCount = Ranged<1, 1_000_000>;
pub(crate) type RebootAllowanceMinutes = Ranged<0, 10_080>;
/// A maintenance period: at least a minute, at most a week.
pub(crate) type PeriodMinutes = Ranged<1, 10_080>;
pub(crate) type ConcurrentReboots = Ranged<1, 1_000_000>;
/// Health checks: the whole check may take up to a day, a retry comes after up to an hour, an HTTP
/// request may take up to five minutes, and a node may roll back at most a hundred times in its life.
pub(crate) type HealthTimeoutMinutes = Ranged<1, 1440>;
pub(crate) type HealthRetrySeconds = Ranged<1, 3600>;
pub(crate) type HttpTimeoutSeconds = Ranged<1, 300>;
pub(crate) type HttpStatus = Ranged<100, 599>;
pub(crate) type RollbackCount = Ranged<0, 100>;
/// A user ID in the range useradd gives regular users (login.defs UID_MIN..UID_MAX on Fedora).
pub(crate) type UserId = Ranged<1000, 60000>;
/// One node's container update slot: at least 5 minutes, as a reboot window (`MIN_WINDOW_MINUTES`), at
/// most a day.
pub(crate) type UpdateSlotMinutes = Ranged<{ MIN_WINDOW_MINUTES as i64 }, 1440>;
/// A container health check's failures in a row.
pub(crate) type HealthRetries = Ranged<1, 1000>;

/// Most nodes a fleet may have in total, across all groups.
pub(crate) const MAX_FLEET_NODES: usize = 1_000_000;

/// A node's reboot window: `MIN_WINDOW_MINUTES..=MAX_WINDOW_MINUTES` minutes (see those for why).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WindowMinutes(u32);

impl WindowMinutes {
    pub(crate) fn as_u32(self) -> u32 {
        self.0
    }
}

impl FromToml for WindowMinutes {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        let minutes = i64::from_toml(value, context, path)?;
        let problem = if minutes < i64::from(MIN_WINDOW_MINUTES) {
            format!(
                "{path}: a window of {minutes} minutes can pass between two of Zincati's checks for a staged \
                 update (every 5.5 minutes at most), and the node would never reboot; use at least \
                 {MIN_WINDOW_MINUTES} minutes"
            )
        } else if minutes > i64::from(MAX_WINDOW_MINUTES) {
            format!(
                "{path}: a window may last at most {MAX_WINDOW_MINUTES} minutes (one week, Zincati's limit), found {minutes}"
            )
        } else {
            return u32::try_from(minutes).ok().map(WindowMinutes);
        };
        context.error(value.span().into(), problem);
        None
    }
}

impl SchemaOf for WindowMinutes {
    type Schema = Self;
}

impl JsonSchema for WindowMinutes {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "WindowMinutes".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "integer", "minimum": MIN_WINDOW_MINUTES, "maximum": MAX_WINDOW_MINUTES })
    }
}

/// A number in `0.0..=1.0` (a rollout wariness).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct UnitInterval(pub(crate) f64);

impl FromToml for UnitInterval {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        let number = f64::from_toml(value, context, path)?;
        if (0.0..=1.0).contains(&number) {
            Some(UnitInterval(number))
        } else {
            context.error(
                value.span().into(),
                format!("{path}: must be between 0.0 (eager) and 1.0 (cautious), found {number}"),
            );
            None
        }
    }
}

impl JsonSchema for UnitInterval {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "UnitInterval".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "number", "minimum": 0.0, "maximum": 1.0 })
    }
}

/// A number more than 0 and at most `MAX`; the bound appears in both the error and the schema.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct PositiveUpTo<const MAX: i64>(pub(crate) f64);

impl<const MAX: i64> SchemaOf for PositiveUpTo<MAX> {
    type Schema = Self;
}

impl<const MAX: i64> FromToml for PositiveUpTo<MAX> {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        let number = f64::from_toml(value, context, path)?;
        if number > 0.0 && number <= MAX as f64 {
            Some(PositiveUpTo(number))
        } else {
            context.error(
                value.span().into(),
                format!("{path}: must be more than 0 and at most {MAX}, found {number}"),
            );
            None
        }
    }
}

impl<const MAX: i64> JsonSchema for PositiveUpTo<MAX> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("PositiveUpTo{MAX}").into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "number", "exclusiveMinimum": 0.0, "maximum": MAX as f64 })
    }
}

/// How many virtual CPUs a physical one may carry.
pub(crate) type Overcommit = PositiveUpTo<64>;
/// A container's CPU limit in CPUs (podman's `--cpus`).
pub(crate) type CpuLimit = PositiveUpTo<1024>;
