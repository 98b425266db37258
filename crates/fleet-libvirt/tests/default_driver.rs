//! libvirt's in-library `test:///default` driver: one shared state per process while any connection is open, gone when the last closes.
//!
//! One test in its own binary: another test holding a `test:///default` connection would keep
//! the shared state alive and hide what this test checks.

mod common;

use common::*;
use fleet_libvirt::{
    Action, DeployOptions, DesiredFleet, DestroyOptions, HostTarget, NodeState, StatusOptions,
};

#[test]
fn sessions_share_the_default_driver_until_the_last_one_closes() {
    let scratch = Scratch::new();
    let host = HostTarget {
        name: "local".to_owned(),
        uri: "test:///default".to_owned(),
    };
    let desired = DesiredFleet {
        target: scratch.target("shared"),
        nodes: (1..=3)
            .map(|index| node("shared", &format!("s-{index}"), "local", index, 0))
            .collect(),
    };

    let first = open(std::slice::from_ref(&host));
    let report = deploy(&first, &desired, &DeployOptions::default());
    assert_eq!(report.failed_nodes(), 0, "{report:?}");

    // A second session is a second connection, yet sees the same domains.
    let second = open(std::slice::from_ref(&host));
    let status = second.status(&desired, &StatusOptions::default());
    assert!(
        status
            .nodes
            .iter()
            .all(|node| node.state == NodeState::Running),
        "{status:?}"
    );
    let again = deploy(&second, &desired, &DeployOptions::default());
    assert!(
        again
            .nodes
            .iter()
            .all(|node| node.action == Some(Action::Unchanged))
    );
    second.close();

    // Closing one session keeps the state for the other.
    let status = first.status(&desired, &StatusOptions::default());
    assert!(
        status
            .nodes
            .iter()
            .all(|node| node.state == NodeState::Running)
    );
    first.close();

    // With every connection closed, the driver has forgotten everything.
    let third = open(std::slice::from_ref(&host));
    let status = third.status(&desired, &StatusOptions::default());
    assert!(
        status
            .nodes
            .iter()
            .all(|node| node.state == NodeState::Missing),
        "{status:?}"
    );
    let destroyed = third.destroy(&desired, &DestroyOptions::default(), &|_| {});
    assert!(destroyed.nodes.iter().all(|node| !node.removed_domain));
    third.close();
}
