//! Plan (and optionally place) one large fleet once, for measuring peak memory with
//! `/usr/bin/time -v target/release/examples/plan_large [GROUPS NODES_PER_GROUP HOSTS]`.

#![expect(
    clippy::disallowed_methods,
    reason = "an example is a program: it reads its arguments and times itself"
)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::time::Instant;

use fleet_plan::{
    PlaceOptions, Placement, PredictOptions, Rollout, UnknownCapacity, place, plan, predict,
};

fn main() {
    let arguments: Vec<usize> = std::env::args()
        .skip(1)
        .map(|argument| {
            argument
                .parse()
                .expect("numbers: GROUPS NODES_PER_GROUP HOSTS")
        })
        .collect();
    let groups = arguments.first().copied().unwrap_or(500);
    let nodes_per_group = arguments.get(1).copied().unwrap_or(200);
    let hosts = arguments.get(2).copied().unwrap_or(0);
    let fleet = common::large_fleet(groups, nodes_per_group, hosts);
    let options = PredictOptions::new(Rollout::typical_after(common::at("2025-06-01T00:00:00Z")));
    let started = Instant::now();
    let planned = plan(&fleet).expect("plannable");
    println!(
        "planned {} nodes in {} groups in {:?}",
        planned.nodes.len(),
        planned.groups.len(),
        started.elapsed()
    );
    let started = Instant::now();
    let predicted = predict(&planned, &options).expect("a valid rollout");
    println!(
        "predicted {} nodes in {:?} ({} warnings)",
        predicted.nodes.len(),
        started.elapsed(),
        predicted.warnings.len()
    );
    if hosts > 0 {
        let started = Instant::now();
        let placed = place(
            &fleet,
            &PlaceOptions {
                previous: &Placement::new(),
                measured: &BTreeMap::new(),
                unknown_capacity: UnknownCapacity::Refuse,
            },
        )
        .expect("fits");
        println!(
            "placed {} nodes on {} hosts in {:?}",
            placed.placement.len(),
            placed.hosts.len(),
            started.elapsed()
        );
    }
}
