//! Values with a shape of their own (time zones, days, times, addresses, percentages, crypt hashes...): read, checked
//! where they are written, and described once for both the reader and the JSON Schema.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Component, Path, PathBuf};

use chrono::Weekday;
use chrono_tz::Tz;
use ipnet::Ipv4Net;
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use toml::Spanned;
use toml::de::DeValue;

use crate::diagnostics::shown;
use crate::duration::{DurationError, parse_minutes};
use crate::model::{
    Canaries, KernelArguments, MAX_WINDOW_MINUTES, MIN_WINDOW_MINUTES, MacAddress, MaxUnavailable,
    Secret, WallTime,
};
use crate::read::{Context, FromToml, KeyPath, read_choice};

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

impl SchemaOf for std::collections::BTreeMap<String, String> {
    type Schema = std::collections::BTreeMap<String, String>;
}

/// Implements `SchemaOf` for value types that describe their own schema.
macro_rules! own_schema {
    ($($ty:ty),* $(,)?) => {
        $(impl SchemaOf for $ty { type Schema = $ty; })*
    };
}

own_schema!(
    UnitInterval,
    Overcommit,
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
);

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

/// How many virtual CPUs a physical one may carry: more than 0, at most 64.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Overcommit(pub(crate) f64);

impl FromToml for Overcommit {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        let number = f64::from_toml(value, context, path)?;
        if number > 0.0 && number <= 64.0 {
            Some(Overcommit(number))
        } else {
            context.error(
                value.span().into(),
                format!("{path}: must be more than 0 and at most 64, found {number}"),
            );
            None
        }
    }
}

impl JsonSchema for Overcommit {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "Overcommit".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": "number", "exclusiveMinimum": 0.0, "maximum": 64.0 })
    }
}

/// An IANA time zone such as `Europe/Berlin` or `UTC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeZone(pub(crate) Tz);

impl FromToml for TimeZone {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        let name = String::from_toml(value, context, path)?;
        match name.parse::<Tz>() {
            Ok(zone) => Some(TimeZone(zone)),
            Err(_) => {
                let mut message = format!("{path}: unknown time zone `{}`", shown(&name));
                let names = || chrono_tz::TZ_VARIANTS.iter().map(|zone| zone.name());
                // IANA names are case-sensitive to Zincati too: `utc` is not `UTC`.
                let same_but_case = names().find(|zone| zone.eq_ignore_ascii_case(&name));
                let city = format!("/{}", name.to_lowercase());
                let by_city = || names().find(|zone| zone.to_lowercase().ends_with(&city));
                if let Some(zone) = same_but_case.or_else(by_city) {
                    message.push_str(&format!("; did you mean `{zone}`?"));
                } else if let Some(closest) = crate::hints::closest(&name, names()) {
                    message.push_str(&format!("; did you mean `{closest}`?"));
                } else {
                    message.push_str("; use an IANA name such as `Europe/Berlin` or `UTC`");
                }
                context.error(value.span().into(), message);
                None
            }
        }
    }
}

impl JsonSchema for TimeZone {
    fn schema_name() -> Cow<'static, str> {
        "TimeZone".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let names: Vec<&str> = chrono_tz::TZ_VARIANTS
            .iter()
            .map(|zone| zone.name())
            .collect();
        json_schema!({
            "description": "An IANA time zone name, such as `Europe/Berlin` or `UTC`.",
            "type": "string",
            "enum": names,
        })
    }
}

/// A day of the week: `Mon`..`Sun` or the full name, in any case (as Zincati reads them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Day(pub(crate) Weekday);

const DAY_NAMES: [(&str, &str, Weekday); 7] = [
    ("mon", "monday", Weekday::Mon),
    ("tue", "tuesday", Weekday::Tue),
    ("wed", "wednesday", Weekday::Wed),
    ("thu", "thursday", Weekday::Thu),
    ("fri", "friday", Weekday::Fri),
    ("sat", "saturday", Weekday::Sat),
    ("sun", "sunday", Weekday::Sun),
];

pub(crate) fn parse_day(text: &str) -> Option<Weekday> {
    let lowered = text.to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .find(|(short, long, _)| lowered == *short || lowered == *long)
        .map(|(_, _, day)| *day)
}

impl FromToml for Day {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        let text = String::from_toml(value, context, path)?;
        if let Some(day) = parse_day(&text) {
            return Some(Day(day));
        }
        let short = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        let long = [
            "Monday",
            "Tuesday",
            "Wednesday",
            "Thursday",
            "Friday",
            "Saturday",
            "Sunday",
        ];
        let mut message = format!(
            "{path}: unknown day `{text_shown}`; expected Mon, Tue, Wed, Thu, Fri, Sat or Sun",
            text_shown = shown(&text)
        );
        if let Some(closest) =
            crate::hints::closest(&text, short.iter().chain(long.iter()).copied())
        {
            let canonical = parse_day(closest)
                .map(|day| short[day.num_days_from_monday() as usize])
                .unwrap_or(closest);
            message.push_str(&format!("; did you mean `{canonical}`?"));
        }
        context.error(value.span().into(), message);
        None
    }
}

impl JsonSchema for Day {
    fn schema_name() -> Cow<'static, str> {
        "Day".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        // JSON Schema regexes (ECMA-262) have no case-insensitive flag: spell each letter both ways.
        let any_case = |word: &str| -> String {
            word.chars()
                .map(|c| format!("[{}{}]", c.to_ascii_uppercase(), c))
                .collect()
        };
        let alternatives: Vec<String> = DAY_NAMES
            .iter()
            .map(|(short, long, _)| format!("{}({})?", any_case(short), any_case(&long[3..])))
            .collect();
        json_schema!({
            "description": "A day of the week: Mon, Tue, Wed, Thu, Fri, Sat or Sun (full names and any case are accepted too).",
            "type": "string",
            "pattern": format!("^({})$", alternatives.join("|")),
        })
    }
}

/// A wall-clock time `H:MM` (a string, or a TOML local time such as `22:00` or `22:00:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TimeOfDay(pub(crate) WallTime);

/// Reads `H:MM`, or says what is wrong with the text and how to write it.
pub(crate) fn parse_wall_time(text: &str) -> Result<WallTime, String> {
    let shown = shown(text);
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|byte| byte.is_ascii_digit());
    let not_a_time = || format!("`{shown}` is not a time of day H:MM such as \"22:30\"");
    let parts: Vec<&str> = text.splitn(4, ':').collect();
    let (hour, minute) = match parts.as_slice() {
        [hour, minute] => (*hour, *minute),
        [hour, minute, second]
            if digits(hour)
                && hour.len() <= 2
                && digits(minute)
                && minute.len() == 2
                && digits(second) =>
        {
            return Err(format!(
                "`{shown}` has seconds, but reboot windows start on whole minutes: write \"{hour}:{minute}\""
            ));
        }
        _ => return Err(not_a_time()),
    };
    if !digits(hour) || hour.len() > 2 || !digits(minute) {
        return Err(not_a_time());
    }
    if minute.len() > 2 {
        return Err(not_a_time());
    }
    if minute.len() == 1 {
        return Err(format!(
            "`{shown}`: write the minutes with two digits, as in \"{hour}:{minute:0>2}\""
        ));
    }
    let hour: u8 = hour.parse().map_err(|_| not_a_time())?;
    let minute: u8 = minute.parse().map_err(|_| not_a_time())?;
    if hour > 23 {
        return Err(format!(
            "`{shown}`: the hour must be from 0 to 23 (midnight is \"0:00\")"
        ));
    }
    if minute > 59 {
        return Err(format!("`{shown}`: the minutes must be from 00 to 59"));
    }
    Ok(WallTime { hour, minute })
}

impl FromToml for TimeOfDay {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        let parsed = match value.get_ref() {
            DeValue::String(text) => parse_wall_time(text),
            DeValue::Datetime(datetime) => match (datetime.date, datetime.time, datetime.offset) {
                (None, Some(time), None)
                    if time.second.unwrap_or(0) == 0 && time.nanosecond.unwrap_or(0) == 0 =>
                {
                    Ok(WallTime {
                        hour: time.hour,
                        minute: time.minute,
                    })
                }
                (None, Some(time), None) => Err(format!(
                    "`{datetime}` has seconds, but reboot windows start on whole minutes: write {:02}:{:02}",
                    time.hour, time.minute
                )),
                _ => Err(format!(
                    "`{datetime}` is a date or a time with an offset; write only the time of day, such as \"22:30\" (the zone is the maintenance time_zone)"
                )),
            },
            _ => {
                context.error(
                    value.span().into(),
                    format!(
                        "{path}: expected a time of day such as \"22:30\", found {}",
                        describe_kind(value)
                    ),
                );
                return None;
            }
        };
        match parsed {
            Ok(time) => Some(TimeOfDay(time)),
            Err(problem) => {
                context.error(value.span().into(), format!("{path}: {problem}"));
                None
            }
        }
    }
}

fn describe_kind(value: &Spanned<DeValue<'_>>) -> &'static str {
    match value.get_ref() {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "an integer",
        DeValue::Float(_) => "a float",
        DeValue::Boolean(_) => "a boolean",
        DeValue::Datetime(_) => "a date or time",
        DeValue::Array(_) => "an array",
        DeValue::Table(_) => "a table",
    }
}

impl JsonSchema for TimeOfDay {
    fn schema_name() -> Cow<'static, str> {
        "TimeOfDay".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A wall-clock time H:MM, from 0:00 to 23:59.",
            "type": "string",
            "pattern": "^([01]?[0-9]|2[0-3]):[0-5][0-9]$",
        })
    }
}

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

string_value!(
    /// An IPv4 address.
    Ipv4(Ipv4Addr),
    schema "Ipv4Address" { "type": "string", "format": "ipv4" },
    parse |text: &str| text.parse::<Ipv4Addr>().map_err(|_| format!("`{text_shown}` is not an IPv4 address such as 192.168.122.10", text_shown = shown(text)))
);

string_value!(
    /// An IPv4 network in CIDR notation, written with its network address (`10.0.0.0/24`).
    Cidr(Ipv4Net),
    schema "Ipv4Network" { "type": "string", "pattern": "^[0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}$" },
    parse parse_cidr
);

fn parse_cidr(text: &str) -> Result<Ipv4Net, String> {
    let network: Ipv4Net = text.parse().map_err(|_| {
        format!(
            "`{text_shown}` is not an IPv4 network such as 192.168.122.0/24",
            text_shown = shown(text)
        )
    })?;
    if network.addr() != network.network() {
        return Err(format!(
            "`{text_shown}` has host bits set; did you mean `{}`?",
            network.trunc(),
            text_shown = shown(text)
        ));
    }
    if network.prefix_len() > 30 {
        return Err(format!(
            "`{text_shown}` leaves no room for nodes: use a prefix of /30 or shorter",
            text_shown = shown(text)
        ));
    }
    Ok(network)
}

string_value!(
    /// An IPv4 or IPv6 address (DNS servers).
    IpAny(IpAddr),
    schema "IpAddress" { "type": "string", "anyOf": [{ "format": "ipv4" }, { "format": "ipv6" }] },
    parse |text: &str| text.parse::<IpAddr>().map_err(|_| format!("`{text_shown}` is not an IP address", text_shown = shown(text)))
);

string_value!(
    /// A unicast MAC address `xx:xx:xx:xx:xx:xx`.
    Mac(MacAddress),
    schema "MacAddress" { "type": "string", "pattern": "^[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}$" },
    parse parse_mac
);

pub(crate) fn parse_mac(text: &str) -> Result<MacAddress, String> {
    let mut bytes = [0u8; 6];
    let parts: Vec<&str> = text.split(':').collect();
    let well_formed = parts.len() == 6
        && parts.iter().zip(bytes.iter_mut()).all(|(part, byte)| {
            part.len() == 2
                && u8::from_str_radix(part, 16)
                    .map(|parsed| *byte = parsed)
                    .is_ok()
        });
    if !well_formed {
        return Err(format!(
            "`{text_shown}` is not a MAC address such as 52:54:00:12:34:56",
            text_shown = shown(text)
        ));
    }
    if bytes[0] & 1 == 1 {
        return Err(format!(
            "`{text_shown}` is a multicast address; a node needs a unicast MAC (the first byte must be even)",
            text_shown = shown(text)
        ));
    }
    if bytes == [0; 6] {
        return Err("the all-zero MAC address cannot be used".to_owned());
    }
    Ok(MacAddress(bytes))
}

string_value!(
    /// A libvirt connection URI such as `qemu:///system`, `qemu+ssh://host/system` or `test:///default`.
    ConnectUri(String),
    schema "LibvirtUri" { "type": "string", "pattern": "^[A-Za-z][A-Za-z0-9+.-]*://" },
    parse parse_connect_uri
);

fn parse_connect_uri(text: &str) -> Result<String, String> {
    let valid = text.split_once("://").is_some_and(|(scheme, _)| {
        scheme
            .chars()
            .next()
            .is_some_and(|first| first.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '.' | '-'))
    }) && !text.chars().any(char::is_whitespace);
    if valid {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "`{text_shown}` is not a libvirt URI such as qemu:///system, qemu+ssh://host/system or test:///default",
            text_shown = shown(text)
        ))
    }
}

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

string_value!(
    /// An `http://` or `https://` URL (a FleetLock server).
    HttpUrl(String),
    schema "HttpUrl" { "type": "string", "format": "uri", "pattern": "^https?://" },
    parse |text: &str| {
        let rest = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"));
        match rest {
            Some(rest) if !rest.is_empty() && !text.chars().any(char::is_whitespace) => Ok(text.to_owned()),
            _ => Err(format!("`{text_shown}` is not an http:// or https:// URL such as http://airlock.example.com:3333", text_shown = shown(text))),
        }
    }
);

string_value!(
    /// A path relative to the fleet file's directory that stays inside it (snippets, key files).
    RelativeFile(PathBuf),
    schema "RelativePath" { "type": "string", "minLength": 1 },
    parse check_relative_path
);

/// The longest path Linux opens (PATH_MAX, with its final NUL): a longer one names no file.
const LONGEST_PATH: usize = 4095;

/// A path any file can have: not empty, and not longer than Linux allows.
fn check_path_length(text: &str) -> Result<(), String> {
    if text.is_empty() {
        return Err("the path is empty".to_owned());
    }
    if text.len() > LONGEST_PATH {
        return Err(format!(
            "`{}` is {} bytes long; Linux opens no path longer than {LONGEST_PATH} bytes",
            shown(text),
            text.len()
        ));
    }
    Ok(())
}

/// Snippets and key files travel with the fleet file: they must be relative and stay inside its directory.
fn check_relative_path(text: &str) -> Result<PathBuf, String> {
    check_path_length(text)?;
    let path = Path::new(text);
    if path.is_absolute() || text.starts_with('/') {
        return Err(format!(
            "`{text_shown}` is absolute; write it relative to the fleet file's directory",
            text_shown = shown(text)
        ));
    }
    let mut depth: i64 = 0;
    for component in path.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return Err(format!(
                        "`{text_shown}` leaves the fleet file's directory; keep snippets and keys beside the fleet file",
                        text_shown = shown(text)
                    ));
                }
            }
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "`{text_shown}` is absolute; write it relative to the fleet file's directory",
                    text_shown = shown(text)
                ));
            }
        }
    }
    Ok(path.to_path_buf())
}

string_value!(
    /// A path that may be absolute or relative to the fleet file's directory (images, kernels).
    AnyPath(PathBuf),
    schema "Path" { "type": "string", "minLength": 1 },
    parse |text: &str| check_path_length(text).map(|()| PathBuf::from(text))
);

string_value!(
    /// A crypt(3) password hash; never echoed in messages.
    PasswordHash(Secret),
    schema "PasswordHash" {
        "description": "A crypt(3) hash, e.g. from `mkpasswd --method=yescrypt`: $y$, $gy$, $7$, $2b$, $6$, $5$ or $1$.",
        "type": "string",
        "pattern": "^\\$(y|gy|7|2[aby]|6|5|1)\\$"
    },
    parse |text: &str| check_password_hash(text).map(|()| Secret::new(text))
);

const CRYPT_ALPHABET: &str = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn is_crypt_base64(text: &str) -> bool {
    text.bytes()
        .all(|byte| CRYPT_ALPHABET.as_bytes().contains(&byte))
}

/// Checks the shape of a crypt(3) hash, per scheme. Messages never include the value: it is a secret.
pub(crate) fn check_password_hash(text: &str) -> Result<(), String> {
    const HOW: &str = "make one with `mkpasswd --method=yescrypt` (package whois)";
    let malformed = |scheme: &str| Err(format!("not a well-formed {scheme} hash; {HOW}"));
    if !text.starts_with('$') {
        return Err(format!(
            "not a crypt(3) hash (it must start with `$y$`, `$6$` or another scheme; a plain password is refused); {HOW}"
        ));
    }
    let parts: Vec<&str> = text.split('$').collect();
    // parts[0] is the empty text before the first `$`.
    let scheme = parts.get(1).copied().unwrap_or("");
    let no_colon_or_space = !text.contains(|c: char| c == ':' || c.is_whitespace());
    let valid = no_colon_or_space
        && match scheme {
            "1" => {
                parts.len() == 4
                    && (1..=8).contains(&parts[2].len())
                    && parts[3].len() == 22
                    && is_crypt_base64(parts[3])
            }
            "5" | "6" => {
                let hash_length = if scheme == "5" { 43 } else { 86 };
                let (salt, hash) = match parts.len() {
                    4 => (parts[2], parts[3]),
                    5 if parts[2].strip_prefix("rounds=").is_some_and(|rounds| {
                        !rounds.is_empty() && rounds.bytes().all(|b| b.is_ascii_digit())
                    }) =>
                    {
                        (parts[3], parts[4])
                    }
                    _ => return malformed(if scheme == "5" { "SHA-256" } else { "SHA-512" }),
                };
                (1..=16).contains(&salt.len()) && hash.len() == hash_length && is_crypt_base64(hash)
            }
            "y" | "gy" => {
                parts.len() == 5
                    && !parts[2].is_empty()
                    && is_crypt_base64(parts[2])
                    && !parts[3].is_empty()
                    && is_crypt_base64(parts[3])
                    && parts[4].len() == 43
                    && is_crypt_base64(parts[4])
            }
            "7" => {
                parts.len() == 4
                    && parts[2].len() >= 11
                    && is_crypt_base64(parts[2])
                    && parts[3].len() == 43
                    && is_crypt_base64(parts[3])
            }
            "2a" | "2b" | "2y" => {
                parts.len() == 4
                    && parts[2].len() == 2
                    && parts[2]
                        .parse::<u8>()
                        .is_ok_and(|cost| (4..=31).contains(&cost))
                    && parts[3].len() == 53
                    && is_crypt_base64(parts[3])
            }
            _ => {
                return Err(format!(
                    "a crypt(3) scheme fleet does not know; use yescrypt ($y$), SHA-512 ($6$) or bcrypt ($2b$); {HOW}"
                ));
            }
        };
    if valid {
        Ok(())
    } else {
        let name = match scheme {
            "1" => "MD5",
            "5" => "SHA-256",
            "6" => "SHA-512",
            "y" => "yescrypt",
            "gy" => "gost-yescrypt",
            "7" => "scrypt",
            _ => "bcrypt",
        };
        malformed(name)
    }
}

string_value!(
    /// One SSH public key in authorized_keys form (`ssh-ed25519 AAAA... comment`).
    SshPublicKey(String),
    schema "SshPublicKey" { "type": "string", "pattern": "^(ssh-|ecdsa-|sk-)" },
    parse |text: &str| check_ssh_public_key(text).map(|()| text.trim().to_owned())
);

/// Validates one authorized_keys line. The key itself is not echoed.
pub(crate) fn check_ssh_public_key(text: &str) -> Result<(), String> {
    if text.contains("PRIVATE KEY") {
        return Err(
            "this is a private key: only public keys (the .pub file) belong in a fleet".to_owned(),
        );
    }
    if text.trim().contains('\n') {
        return Err("one key per entry: this value spans several lines".to_owned());
    }
    openssh_keys::PublicKey::parse(text)
        .map(|_| ())
        .map_err(|error| format!("not a valid SSH public key ({error})"))
}

/// `max_unavailable`: a count of at least 1, or a percentage `"1%"`..=`"100%"` of the group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct MaxUnavailableValue(pub(crate) MaxUnavailable);

/// Parses `"NN%"`; whole percentages only.
fn parse_percent(text: &str) -> Option<Result<u32, String>> {
    let digits = text.trim().strip_suffix('%')?.trim();
    Some(match digits.parse::<u32>() {
        Ok(percent) => Ok(percent),
        Err(_) => Err(format!(
            "`{text_shown}` is not a whole percentage such as \"25%\"",
            text_shown = shown(text)
        )),
    })
}

impl FromToml for MaxUnavailableValue {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        let result = match value.get_ref() {
            DeValue::Integer(_) => {
                let count = i64::from_toml(value, context, path)?;
                if count >= 1 {
                    Ok(MaxUnavailable::Count(
                        u32::try_from(count).unwrap_or(u32::MAX),
                    ))
                } else {
                    Err(format!(
                        "must be at least 1 node (a group with 0 may never update), found {count}"
                    ))
                }
            }
            DeValue::String(text) => match parse_percent(text) {
                Some(Ok(percent)) if (1..=100).contains(&percent) => {
                    Ok(MaxUnavailable::Percent(percent))
                }
                Some(Ok(percent)) => Err(format!(
                    "the percentage must be from 1% to 100%, found {percent}%"
                )),
                Some(Err(problem)) => Err(problem),
                None => Err(format!(
                    "expected a node count such as 1 or a percentage such as \"25%\", found \"{text_shown}\"",
                    text_shown = shown(text)
                )),
            },
            _ => Err(format!(
                "expected a node count such as 1 or a percentage such as \"25%\", found {}",
                describe_kind(value)
            )),
        };
        match result {
            Ok(max) => Some(MaxUnavailableValue(max)),
            Err(problem) => {
                context.error(value.span().into(), format!("{path}: {problem}"));
                None
            }
        }
    }
}

impl JsonSchema for MaxUnavailableValue {
    fn schema_name() -> Cow<'static, str> {
        "MaxUnavailable".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A node count (at least 1) or a percentage of the group such as \"25%\" (1% to 100%, rounded down, never below one node).",
            "anyOf": [
                { "type": "integer", "minimum": 1 },
                { "type": "string", "pattern": "^(100|[1-9][0-9]?)%$" }
            ]
        })
    }
}

/// `canaries`: a count (0 allowed), a fraction `0.0..=1.0`, or a percentage `"0%"..="100%"`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct CanariesValue(pub(crate) Canaries);

impl FromToml for CanariesValue {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        let result = match value.get_ref() {
            DeValue::Integer(_) => {
                let count = i64::from_toml(value, context, path)?;
                u32::try_from(count)
                    .map(Canaries::Count)
                    .map_err(|_| format!("must be 0 or more nodes, found {count}"))
            }
            DeValue::Float(_) => {
                let fraction = f64::from_toml(value, context, path)?;
                if (0.0..=1.0).contains(&fraction) {
                    Ok(Canaries::Fraction(fraction))
                } else {
                    Err(format!(
                        "a fraction of the group must be from 0.0 to 1.0, found {fraction}"
                    ))
                }
            }
            DeValue::String(text) => match parse_percent(text) {
                Some(Ok(percent)) if percent <= 100 => {
                    Ok(Canaries::Fraction(f64::from(percent) / 100.0))
                }
                Some(Ok(percent)) => Err(format!(
                    "the percentage must be from 0% to 100%, found {percent}%"
                )),
                Some(Err(problem)) => Err(problem),
                None => Err(format!(
                    "expected a node count such as 1, a fraction such as 0.25 or a percentage such as \"25%\", found \"{text_shown}\"",
                    text_shown = shown(text)
                )),
            },
            _ => Err(format!(
                "expected a node count such as 1, a fraction such as 0.25 or a percentage such as \"25%\", found {}",
                describe_kind(value)
            )),
        };
        match result {
            Ok(canaries) => Some(CanariesValue(canaries)),
            Err(problem) => {
                context.error(value.span().into(), format!("{path}: {problem}"));
                None
            }
        }
    }
}

impl JsonSchema for CanariesValue {
    fn schema_name() -> Cow<'static, str> {
        "Canaries".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A node count (0 for none), a fraction of the group from 0.0 to 1.0, or a percentage such as \"25%\".",
            "anyOf": [
                { "type": "integer", "minimum": 0 },
                { "type": "number", "minimum": 0.0, "maximum": 1.0 },
                { "type": "string", "pattern": "^(100|[1-9]?[0-9])%$" }
            ]
        })
    }
}

/// Soak time: whole minutes, or a duration (`crate::duration`) such as `"90m"`, `"2h"`, `"1h30m"` or `"1d"`;
/// at most 30 days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SoakMinutes(pub(crate) u32);

const MAX_SOAK_MINUTES: i64 = 30 * 24 * 60;

impl FromToml for SoakMinutes {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        let minutes = match value.get_ref() {
            DeValue::Integer(_) => i64::from_toml(value, context, path)?,
            DeValue::String(text) => {
                let refused = format!(
                    "{path}: `{text_shown}` is not a duration such as \"90m\", \"2h\", \"1h30m\" or \"1d\"",
                    text_shown = shown(text)
                );
                // Beyond i64 is beyond any range a key allows; it was never a duration here.
                let message = match parse_minutes(text).map(i64::try_from) {
                    Ok(Ok(minutes)) => Ok(minutes),
                    Err(DurationError::Misspelt { suggestion, .. }) => {
                        Err(format!("{refused}; did you mean `{suggestion}`?"))
                    }
                    Ok(Err(_)) | Err(DurationError::Malformed | DurationError::TooLong) => {
                        Err(refused)
                    }
                };
                match message {
                    Ok(minutes) => minutes,
                    Err(message) => {
                        context.error(value.span().into(), message);
                        return None;
                    }
                }
            }
            _ => {
                context.error(
                    value.span().into(),
                    format!(
                        "{path}: expected minutes such as 120 or a duration such as \"2h\", found {}",
                        describe_kind(value)
                    ),
                );
                return None;
            }
        };
        if (0..=MAX_SOAK_MINUTES).contains(&minutes) {
            Some(SoakMinutes(u32::try_from(minutes).unwrap_or(0)))
        } else {
            context.error(
                value.span().into(),
                format!("{path}: must be between 0 and {MAX_SOAK_MINUTES} minutes (30 days), found {minutes}"),
            );
            None
        }
    }
}

impl JsonSchema for SoakMinutes {
    fn schema_name() -> Cow<'static, str> {
        "SoakTime".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Minutes (0 to 43200), or a duration such as \"90m\", \"2h\", \"1h30m\" or \"1d\".",
            "anyOf": [
                { "type": "integer", "minimum": 0, "maximum": MAX_SOAK_MINUTES },
                { "type": "string", "pattern": "^([0-9]+d)?([0-9]+h)?([0-9]+m)?$" }
            ]
        })
    }
}

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

/// Kernel arguments: a list (each should exist), or a table with `should_exist` and `should_not_exist`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KernelArgumentsValue(pub(crate) KernelArguments);

impl SchemaOf for KernelArgumentsValue {
    type Schema = KernelArgumentsValue;
}

impl FromToml for KernelArgumentsValue {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        match value.get_ref() {
            DeValue::Array(_) => {
                let should_exist = Vec::<String>::from_toml(value, context, path)?;
                check_kernel_arguments(&should_exist, value, context, path)?;
                Some(KernelArgumentsValue(KernelArguments {
                    should_exist,
                    should_not_exist: Vec::new(),
                }))
            }
            DeValue::Table(_) => {
                let table = crate::raw::RawKernelArguments::from_toml(value, context, path)?;
                let should_exist = table.should_exist.value().cloned().unwrap_or_default();
                let should_not_exist = table.should_not_exist.value().cloned().unwrap_or_default();
                if table.should_exist.is_invalid() || table.should_not_exist.is_invalid() {
                    return None;
                }
                check_kernel_arguments(&should_exist, value, context, path)?;
                check_kernel_arguments(&should_not_exist, value, context, path)?;
                if let Some(both) = should_exist
                    .iter()
                    .find(|arg| should_not_exist.contains(arg))
                {
                    context.error(
                        value.span().into(),
                        format!(
                            "{path}: `{both_shown}` is in both should_exist and should_not_exist",
                            both_shown = shown(both)
                        ),
                    );
                    return None;
                }
                Some(KernelArgumentsValue(KernelArguments {
                    should_exist,
                    should_not_exist,
                }))
            }
            _ => {
                context.error(
                    value.span().into(),
                    format!(
                        "{path}: expected a list of arguments or a table with should_exist and should_not_exist, found {}",
                        describe_kind(value)
                    ),
                );
                None
            }
        }
    }
}

fn check_kernel_arguments(
    arguments: &[String],
    value: &Spanned<DeValue<'_>>,
    context: &mut Context<'_>,
    path: &KeyPath<'_>,
) -> Option<()> {
    let mut ok = true;
    for argument in arguments {
        if argument.is_empty() || argument.chars().any(char::is_whitespace) {
            context.error(
                value.span().into(),
                format!("{path}: `{argument_shown}` is not one kernel argument: write each argument as its own string, without spaces", argument_shown = shown(argument)),
            );
            ok = false;
        }
    }
    ok.then_some(())
}

impl JsonSchema for KernelArgumentsValue {
    fn schema_name() -> Cow<'static, str> {
        "KernelArguments".into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let table = generator.subschema_for::<crate::raw::KernelArgumentsTable>();
        json_schema!({
            "description": "Kernel arguments: a list (each should exist), or a table with should_exist and should_not_exist.",
            "anyOf": [
                { "type": "array", "items": { "type": "string" } },
                table
            ]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crypt_hashes_of_every_scheme_are_accepted() {
        // Made with libxcrypt (Python's crypt module) for the password "fleet".
        let hashes = [
            "$y$j9T$abcdefghijklmnop$35/Gva90FywgifogF350EDo59T9qeJ.uxjYXZDF3.x5",
            "$gy$j9T$abcdefghijklmnop$scf5GdpAInsjck7xcobw1P3.hClPG1ZYwp6E6SNH8O8",
            "$7$CU..../....abcdefgh$sBH12CwhAASYGpVzaaGDkeYj6E6q8PUXbfmLqX.g959",
            "$2b$12$YW/ab6V/oWa4xJPDtzVxGeClXiR4fy5OOuIgUNHTZ4SN6o7MleGn.",
            "$1$lIcZ67Gu$p3pzilX6PPx7mOXUo3Jho.",
            "$5$.LWDV7k3Gk3Ghixx$XB6PXbdxJbIZYHJ36CSv93yM8vxNsG9o2UgJ9z4xR59",
            "$6$RUaAX8jTYscbRytj$aziopqm/Acr4bJqn.c5sw5HiiGDar20accKG30GmdBZ75RT0GzrcC2M/2eiV0Eo5BwXzQufSMpvGnhsBawHX30",
            "$6$rounds=10000$fleetsalt$E4IfgFMGfDIkRE1yvMeRxOPvOVXViVFpHq2pJ367YSgWLS9TkNWXGz0kUATmVtjs3X0vmRH0Wng.DVH5PEa.c.",
        ];
        for hash in hashes {
            assert_eq!(check_password_hash(hash), Ok(()), "{hash}");
        }
    }

    #[test]
    fn malformed_hashes_are_refused_without_echoing_them() {
        for bad in [
            "hunter2",
            "$6$salt$short",
            "$y$j9T$salt$",
            "$2b$99$YW/ab6V/oWa4xJPDtzVxGeClXiR4fy5OOuIgUNHTZ4SN6o7MleGn.",
            "$9$whatever$x",
            "$6$RUaAX8jTYscbRytj$aziopqm/Acr4bJqn.c5sw5HiiGDar20accKG30GmdBZ75RT0GzrcC2M/2eiV0Eo5BwXzQufSMpvGnhsBawHX3 ",
            "",
        ] {
            let message = check_password_hash(bad).expect_err(bad);
            assert!(bad.len() < 4 || !message.contains(bad), "{message}");
            assert!(message.contains("mkpasswd"), "{message}");
        }
    }

    #[test]
    fn wall_times_are_h_mm() {
        assert_eq!(parse_wall_time("1:00"), Ok(WallTime { hour: 1, minute: 0 }));
        assert_eq!(
            parse_wall_time("23:59"),
            Ok(WallTime {
                hour: 23,
                minute: 59
            })
        );
        for bad in [
            "24:00",
            "1:5",
            "12:60",
            "12",
            "aa:bb",
            ":30",
            "001:00",
            "1:00:00",
            "1:00:00:00",
        ] {
            assert!(parse_wall_time(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_bad_time_names_the_value_and_why() {
        let problem = |text: &str| parse_wall_time(text).expect_err(text);
        assert_eq!(
            problem("22:30:15"),
            "`22:30:15` has seconds, but reboot windows start on whole minutes: write \"22:30\""
        );
        assert_eq!(
            problem("24:00"),
            "`24:00`: the hour must be from 0 to 23 (midnight is \"0:00\")"
        );
        assert_eq!(problem("7:60"), "`7:60`: the minutes must be from 00 to 59");
        assert_eq!(
            problem("7:5"),
            "`7:5`: write the minutes with two digits, as in \"7:05\""
        );
        assert_eq!(
            problem("noon"),
            "`noon` is not a time of day H:MM such as \"22:30\""
        );
    }

    #[test]
    fn days_accept_short_and_full_names_in_any_case() {
        assert_eq!(parse_day("Tue"), Some(Weekday::Tue));
        assert_eq!(parse_day("TUESDAY"), Some(Weekday::Tue));
        assert_eq!(parse_day("sun"), Some(Weekday::Sun));
        assert_eq!(parse_day("Tues"), None);
    }

    #[test]
    fn paths_must_stay_inside_the_fleet_directory() {
        assert!(check_relative_path("butane/web.bu").is_ok());
        assert!(check_relative_path("a/../b.bu").is_ok());
        assert!(check_relative_path("../b.bu").is_err());
        assert!(check_relative_path("a/../../b.bu").is_err());
        assert!(check_relative_path("/etc/passwd").is_err());
        assert!(check_relative_path("").is_err());
        let long = "a/".repeat(2048);
        let problem = check_relative_path(&long).expect_err("longer than PATH_MAX");
        assert!(
            problem.ends_with("is 4096 bytes long; Linux opens no path longer than 4095 bytes"),
            "{problem}"
        );
        assert!(problem.len() < 300, "{problem}");
    }

    #[test]
    fn macs_must_be_unicast_and_well_formed() {
        assert_eq!(
            parse_mac("52:54:00:AB:cd:01"),
            Ok(MacAddress([0x52, 0x54, 0x00, 0xab, 0xcd, 0x01]))
        );
        for bad in [
            "52:54:00:ab:cd",
            "01:00:5e:00:00:01",
            "00:00:00:00:00:00",
            "5254.00ab.cd01",
            "52:54:00:ab:cd:0g",
        ] {
            assert!(parse_mac(bad).is_err(), "{bad}");
        }
    }
}
