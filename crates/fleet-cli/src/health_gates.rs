//! Which nodes and groups have health checks that gate their boots (docs/health.md), as `fleet
//! plan` shows them: taken from the fleet before the plan drops it, a bit per node.

use fleet_spec::Fleet;

/// Whether each node is health-gated, in `Fleet::nodes` order, and how many of each group's are.
#[derive(Debug, Clone, Default)]
pub struct HealthGates {
    pub nodes: Vec<bool>,
    pub groups: Vec<usize>,
}

impl HealthGates {
    pub fn of(fleet: &Fleet) -> HealthGates {
        let nodes: Vec<bool> = fleet
            .nodes
            .iter()
            .map(|node| node.settings.health.gates_boot())
            .collect();
        let groups = fleet
            .groups
            .iter()
            .map(|group| {
                nodes[group.nodes.clone()]
                    .iter()
                    .filter(|gated| **gated)
                    .count()
            })
            .collect();
        HealthGates { nodes, groups }
    }
}

/// A group's HEALTH column: `gated` when every node is, `-` when none is, else `N of M`.
pub fn group_label(gated: usize, nodes: usize) -> String {
    match gated {
        0 => "-".to_owned(),
        _ if gated == nodes => "gated".to_owned(),
        _ => format!("{gated} of {nodes}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_is_gated_when_every_node_is() {
        assert_eq!(group_label(0, 3), "-");
        assert_eq!(group_label(3, 3), "gated");
        assert_eq!(group_label(1, 3), "1 of 3");
    }

    #[test]
    fn nodes_and_groups_count_their_checks() {
        let fleet = fleet_spec::parse(
            "f.toml",
            "[fleet]\nname = \"f\"\n[fleet.image]\npath = \"x.qcow2\"\n[maintenance]\nstrategy = \"immediate\"\n\
             [[group]]\nname = \"a\"\ncount = 2\n[[group.node]]\nname = \"a-2\"\n\
             [group.node.health]\nunits = [\"sshd.service\"]\n\
             [[group]]\nname = \"b\"\ncount = 1\n",
        )
        .unwrap_or_else(|diagnostics| panic!("{diagnostics}"));
        let gates = HealthGates::of(&fleet);
        assert_eq!(gates.nodes, [false, true, false]);
        assert_eq!(gates.groups, [1, 0]);
    }
}
