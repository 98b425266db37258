//! `[[defaults.users]]`, `[[group.users]]` and `[[group.node.users]]`: the user accounts of one level.

use std::collections::HashMap;

use crate::diagnostics::shown;
use crate::model::{FileRef, User};
use crate::names::check_user_name;
use crate::raw::RawUser;
use crate::read::Span;

use super::checker::Checker;

/// The users one level writes, checked; `path` is the level's key path (`defaults`, `group[0]`, ...).
/// How they combine with the inherited users is `inherit::merge_by_name`.
pub(super) fn validate(
    checker: &mut Checker<'_, '_>,
    raw_users: &[RawUser],
    path: &str,
) -> Vec<User> {
    let mut users = Vec::with_capacity(raw_users.len());
    let mut seen: HashMap<&str, Span> = HashMap::new();
    for (position, raw) in raw_users.iter().enumerate() {
        let user_path = format!("{path}.users[{position}]");
        let Some(name) = checker.required(&raw.name, raw.span, &user_path, "name", "") else {
            continue;
        };
        if let Err(problem) = check_user_name(&name.value) {
            checker.error(name.span, format!("{user_path}.name: {problem}"));
        }
        if let Some(first) = seen.insert(&name.value, name.span) {
            let line = checker.location(first).line;
            checker.error(
                name.span,
                format!(
                    "{user_path}.name: user `{}` is listed twice at this level: the first is on line {line}",
                    shown(&name.value)
                ),
            );
        }
        let ssh_key_files = raw
            .ssh_key_files
            .value()
            .map(|files| {
                files
                    .0
                    .iter()
                    .map(|file| {
                        let declared_at = checker.location(file.span);
                        checker.key_file_named(file.value.0.clone(), declared_at);
                        FileRef {
                            path: file.value.0.clone(),
                            declared_at,
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        if let Some(groups) = raw.groups.get() {
            for group in &groups.value {
                if let Err(problem) = check_user_name(group) {
                    checker.error(
                        groups.span,
                        format!(
                            "{user_path}.groups: `{group_shown}` is not a valid group name: {problem}", group_shown = shown(group)),
                    );
                }
            }
        }
        users.push(User {
            name: name.value.clone(),
            ssh_authorized_keys: raw
                .ssh_authorized_keys
                .value()
                .map(|keys| keys.0.iter().map(|key| key.0.clone()).collect())
                .unwrap_or_default(),
            ssh_key_files,
            password_hash: raw.password_hash.value().map(|hash| hash.0.clone()),
            groups: raw.groups.value().cloned().unwrap_or_default(),
            uid: raw.uid.value().map(|uid| uid.as_u32()),
        });
    }
    users
}
