//! What a health check names: a systemd unit that must be active, and a command that must exit 0.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use toml::Spanned;
use toml::de::DeValue;

use crate::diagnostics::shown;
use crate::read::{Context, FromToml, KeyPath};

use super::read_parsed;

/// The unit types systemd knows (systemd.unit(5)); a unit name ends in one of them.
const UNIT_TYPES: &[&str] = &[
    "service",
    "socket",
    "target",
    "device",
    "mount",
    "automount",
    "swap",
    "timer",
    "path",
    "slice",
    "scope",
];

/// systemd's longest unit name (`UNIT_NAME_MAX`, with its NUL).
const LONGEST_UNIT_NAME: usize = 255;

string_value!(
    /// A systemd unit that must be active, e.g. `sshd.service` or `podman@web.service`.
    UnitName(String),
    schema "UnitName" { "type": "string", "pattern": "^[A-Za-z0-9:_.@\\\\-]+\\.(service|socket|target|device|mount|automount|swap|timer|path|slice|scope)$" },
    parse check_unit_name
);

/// A unit name as `systemctl is-active` takes it: `PREFIX[@INSTANCE].TYPE` of systemd's characters.
/// A template without an instance (`getty@.service`) is never active itself.
fn check_unit_name(text: &str) -> Result<String, String> {
    let text_shown = shown(text);
    if text.len() > LONGEST_UNIT_NAME {
        return Err(format!(
            "`{text_shown}` is longer than systemd's {} characters for a unit name",
            LONGEST_UNIT_NAME - 1
        ));
    }
    if let Some(bad) = text
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, ':' | '_' | '.' | '@' | '-' | '\\')))
    {
        return Err(format!(
            "`{text_shown}` is not a systemd unit name: {bad:?} is not allowed (letters, digits and `:_.@-\\` are)"
        ));
    }
    let Some((prefix, unit_type)) = text.rsplit_once('.') else {
        return Err(format!(
            "`{text_shown}` has no unit type; did you mean `{text_shown}.service`?"
        ));
    };
    if !UNIT_TYPES.contains(&unit_type) {
        let mut message = format!(
            "`{text_shown}` does not end in a unit type ({})",
            UNIT_TYPES.join(", ")
        );
        match crate::hints::closest(unit_type, UNIT_TYPES.iter().copied()) {
            Some(closest) => message.push_str(&format!("; did you mean `{prefix}.{closest}`?")),
            None => message.push_str(&format!("; did you mean `{text_shown}.service`?")),
        }
        return Err(message);
    }
    if prefix.is_empty() || prefix.starts_with('@') {
        return Err(format!("`{text_shown}` has no name before its type"));
    }
    if prefix.ends_with('@') {
        return Err(format!(
            "`{text_shown}` is a template, which is never active itself; name an instance such as `{}web.{unit_type}`",
            shown(prefix)
        ));
    }
    if prefix.matches('@').count() > 1 {
        return Err(format!("`{text_shown}` has more than one `@`"));
    }
    Ok(text.to_owned())
}

/// The most arguments one health command may have, and the longest argument: a typo's guard, far
/// above any real check.
const MOST_ARGUMENTS: usize = 256;
const LONGEST_ARGUMENT: usize = 4096;

/// A command run without a shell, as the list of its arguments: the program first.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CommandLine(pub(crate) Vec<String>);

const COMMAND_EXAMPLE: &str = "[\"/usr/bin/test\", \"-e\", \"/run/app.ready\"]; for a shell line write [\"/bin/sh\", \"-c\", \"...\"]";

impl FromToml for CommandLine {
    fn from_toml(
        value: &Spanned<DeValue<'_>>,
        context: &mut Context<'_>,
        path: &KeyPath<'_>,
    ) -> Option<Self> {
        let DeValue::Array(array) = value.get_ref() else {
            let found = match value.get_ref() {
                DeValue::String(_) => "a string",
                _ => "another type",
            };
            context.error(
                value.span().into(),
                format!(
                    "{path}: a command is a list of its arguments, found {found}; write e.g. {COMMAND_EXAMPLE}"
                ),
            );
            return None;
        };
        if array.is_empty() {
            context.error(
                value.span().into(),
                format!("{path}: the command is empty; write e.g. {COMMAND_EXAMPLE}"),
            );
            return None;
        }
        if array.len() > MOST_ARGUMENTS {
            context.error(
                value.span().into(),
                format!(
                    "{path}: {} arguments; a health command has at most {MOST_ARGUMENTS}",
                    array.len()
                ),
            );
            return None;
        }
        let mut arguments = Vec::with_capacity(array.len());
        let mut all_read = true;
        for (index, item) in array.iter().enumerate() {
            let item_path = path.index(index);
            match read_parsed(item, context, &item_path, check_argument) {
                Some(argument) => arguments.push(argument),
                None => all_read = false,
            }
        }
        if let Some(program) = arguments.first()
            && program.is_empty()
        {
            context.error(
                value.span().into(),
                format!("{path}: the program (the first argument) is empty"),
            );
            return None;
        }
        all_read.then_some(CommandLine(arguments))
    }
}

/// One argument: any text but control characters (the node's check file holds one check a line).
fn check_argument(text: &str) -> Result<String, String> {
    if text.len() > LONGEST_ARGUMENT {
        return Err(format!(
            "the argument is {} bytes long; at most {LONGEST_ARGUMENT}",
            text.len()
        ));
    }
    if let Some(bad) = text.chars().find(|c| c.is_control()) {
        return Err(format!(
            "`{}` holds the control character {bad:?}; arguments are written one check a line on the node",
            shown(text)
        ));
    }
    Ok(text.to_owned())
}

impl JsonSchema for CommandLine {
    fn schema_name() -> Cow<'static, str> {
        "CommandLine".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A command run without a shell: the program, then its arguments.",
            "type": "array",
            "items": { "type": "string" },
            "minItems": 1
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_names_need_a_known_type_and_an_instance_for_templates() {
        for good in [
            "sshd.service",
            "podman@web.service",
            "var-lib.mount",
            "dev-vda.device",
        ] {
            assert_eq!(check_unit_name(good).as_deref(), Ok(good), "{good}");
        }
        let problem = |text| check_unit_name(text).unwrap_err();
        assert!(problem("sshd").contains("did you mean `sshd.service`?"));
        assert!(problem("sshd.servce").contains("did you mean `sshd.service`?"));
        assert!(problem("getty@.service").contains("template"));
        assert!(problem("ssh d.service").contains("not allowed"));
        assert!(problem(".service").contains("no name"));
        assert!(problem("a@b@c.service").contains("more than one"));
        assert!(problem(&format!("{}.service", "a".repeat(300))).contains("longer"));
    }

    #[test]
    fn arguments_refuse_control_characters() {
        assert_eq!(check_argument("-e").as_deref(), Ok("-e"));
        assert!(check_argument("a\nb").is_err());
    }
}
