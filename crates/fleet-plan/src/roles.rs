//! Who is a canary: the group's policy, rounded as documented in docs/planner.md, with pinned roles honoured.

use fleet_spec::{Canaries, Node, Role};

/// How many canaries a group of `group_size` wants by its policy, before pinned roles.
///
/// A group of one has none. A count is taken as written, a fraction is rounded down; either way a group
/// of two or more gets at least one canary unless the policy says zero, and keeps at least one cautious node.
pub fn canary_count(policy: Canaries, group_size: usize) -> usize {
    if group_size <= 1 {
        return 0;
    }
    let wanted = match policy {
        Canaries::Count(count) => count as usize,
        Canaries::Fraction(fraction) if fraction.is_finite() && fraction > 0.0 => {
            // Tolerate representation error: 0.3 * 10 is 2.9999999999999996.
            let exact = fraction * group_size as f64;
            ((exact + 1e-9).floor() as usize).max(1)
        }
        Canaries::Fraction(_) => 0,
    };
    wanted.min(group_size - 1)
}

/// The role of each node of a group, in the group's order: pinned roles as pinned; then the first unpinned
/// nodes become canaries until the policy's count is reached (pinned canaries count towards it).
pub fn assign_roles(policy: Canaries, nodes: &[Node]) -> Vec<Role> {
    let wanted = canary_count(policy, nodes.len());
    let pinned_canaries = nodes
        .iter()
        .filter(|node| node.pinned_role == Some(Role::Canary))
        .count();
    let mut still_wanted = wanted.saturating_sub(pinned_canaries);
    nodes
        .iter()
        .map(|node| match node.pinned_role {
            Some(role) => role,
            None if still_wanted > 0 => {
                still_wanted -= 1;
                Role::Canary
            }
            None => Role::Cautious,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_of_canary_counts() {
        assert_eq!(canary_count(Canaries::Count(1), 1), 0);
        assert_eq!(canary_count(Canaries::Fraction(0.5), 1), 0);
        assert_eq!(canary_count(Canaries::Count(1), 2), 1);
        assert_eq!(canary_count(Canaries::Count(0), 5), 0);
        assert_eq!(canary_count(Canaries::Count(9), 5), 4);
        assert_eq!(canary_count(Canaries::Fraction(0.5), 2), 1);
        assert_eq!(canary_count(Canaries::Fraction(0.01), 3), 1);
        assert_eq!(canary_count(Canaries::Fraction(0.3), 10), 3);
        assert_eq!(canary_count(Canaries::Fraction(0.25), 10), 2);
        assert_eq!(canary_count(Canaries::Fraction(1.0), 4), 3);
        assert_eq!(canary_count(Canaries::Fraction(0.0), 4), 0);
    }
}
