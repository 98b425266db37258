//! Kernel arguments: a list, or a table of arguments that should and should not exist.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use toml::Spanned;
use toml::de::DeValue;

use crate::diagnostics::shown;
use crate::model::KernelArguments;
use crate::read::{Context, FromToml, KeyPath};

use crate::read::describe;

use super::SchemaOf;

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
                        describe(value.get_ref())
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
