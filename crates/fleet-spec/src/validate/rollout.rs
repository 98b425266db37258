//! `[group.rollout]`: how many of a group's nodes may be down at once, how many canaries lead and how long
//! they soak.

use crate::diagnostics::shown;
use crate::model::{Canaries, MaxUnavailable, RolloutPolicy};
use crate::raw::RawRollout;

use super::checker::Checker;

/// The group's rollout policy; canaries are checked against the `group_size` nodes it expanded to.
pub(super) fn validate(
    checker: &mut Checker<'_, '_>,
    rollout: Option<&RawRollout>,
    path: &str,
    name: &str,
    group_size: usize,
) -> RolloutPolicy {
    let max_unavailable = rollout
        .and_then(|rollout| rollout.max_unavailable.value())
        .map(|max| max.0)
        .unwrap_or(MaxUnavailable::Count(1));
    let canaries = match rollout.and_then(|rollout| rollout.canaries.get()) {
        Some(canaries) => {
            if let Canaries::Count(count) = canaries.value.0
                && group_size > 0
                && count as usize > group_size
            {
                checker.error(
                    canaries.span,
                    format!(
                        "{path}.rollout.canaries: group `{name_shown}` has {group_size} node{} but asks for {count} canaries",
                        if group_size == 1 { "" } else { "s" }, name_shown = shown(name)),
                );
            }
            canaries.value.0
        }
        None => Canaries::Count(1),
    };
    let soak_minutes = rollout
        .and_then(|rollout| rollout.soak_minutes.value())
        .map(|soak| soak.0)
        .unwrap_or(60);
    RolloutPolicy {
        max_unavailable,
        canaries,
        soak_minutes,
    }
}
