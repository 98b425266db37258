//! Parse and expand large fleets: the planner is benchmarked on 100,000 nodes in 500 groups, so reading such a
//! file must take well under 100 ms.

use criterion::{Criterion, criterion_group, criterion_main};
use std::fmt::Write as _;
use std::hint::black_box;

/// A fleet of `groups` groups of `nodes_per_group` nodes each, half with static addressing.
fn large_fleet(groups: usize, nodes_per_group: usize) -> String {
    let mut text = String::from(
        r#"[fleet]
name = "bench"
domain = "bench.internal"

[fleet.image]
path = "fcos.qcow2"

[defaults]
butane = ["butane/base.bu"]

[[defaults.users]]
name = "core"
ssh_authorized_keys = ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKNOWyXQBy0NxY19bdlDWtvd8Gxz64aqgA5u/Qry1bUw ops@example.com"]

[maintenance]
time_zone = "Europe/Berlin"

[[maintenance.period]]
days = ["Tue", "Wed", "Thu"]
start = "01:00"
length_minutes = 300
"#,
    );
    for group in 0..groups {
        let _ = write!(
            text,
            "\n[[group]]\nname = \"g{group}\"\ncount = {nodes_per_group}\nhostname = \"g{group}-{{index:03}}\"\n[group.rollout]\nmax_unavailable = \"10%\"\ncanaries = 1\n"
        );
        if group % 2 == 0 {
            let _ = write!(
                text,
                "[group.network]\nmode = \"static\"\ncidr = \"10.{}.{}.0/22\"\n",
                group / 64,
                (group % 64) * 4
            );
        }
    }
    text
}

fn parse_and_expand(criterion: &mut Criterion) {
    let text = large_fleet(500, 200);
    let fleet = fleet_spec::parse("bench.toml", &text).expect("the bench fleet is valid");
    assert_eq!(fleet.nodes.len(), 100_000);
    criterion.bench_function("parse and expand 100000 nodes in 500 groups", |bencher| {
        bencher.iter(|| fleet_spec::parse("bench.toml", black_box(&text)))
    });
    let single = large_fleet(1, 5_000);
    criterion.bench_function("parse and expand one group of 5000 nodes", |bencher| {
        bencher.iter(|| fleet_spec::parse("bench.toml", black_box(&single)))
    });
}

criterion_group!(benches, parse_and_expand);
criterion_main!(benches);
