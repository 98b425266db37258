//! Planning and placing large fleets: 100,000 nodes in 500 groups, planned and then predicted for one
//! rollout as `fleet plan` does (target: at most 1 s on one core), and placing 100,000 nodes on 1,000
//! hosts (target: at most 1 s).

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use fleet_plan::{
    PlaceOptions, Placement, PredictOptions, Rollout, UnknownCapacity, place, plan, predict,
};

fn planning(criterion: &mut Criterion) {
    let options = PredictOptions::new(Rollout::typical_after(common::at("2025-06-01T00:00:00Z")));
    let mut group = criterion.benchmark_group("plan");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));

    let fleet = common::large_fleet(500, 200, 0);
    group.bench_function("100000-nodes-500-groups", |bencher| {
        bencher.iter(|| plan(black_box(&fleet)).expect("plannable"))
    });

    group.bench_function("100000-nodes-500-groups-and-predict", |bencher| {
        bencher.iter(|| {
            let planned = plan(black_box(&fleet)).expect("plannable");
            predict(&planned, &options).expect("a valid rollout")
        })
    });

    let mut capped = fleet.clone();
    capped.max_concurrent_reboots = Some(20_000);
    group.bench_function("100000-nodes-500-groups-fleet-cap", |bencher| {
        bencher.iter(|| plan(black_box(&capped)).expect("plannable"))
    });
    group.finish();
}

fn placing(criterion: &mut Criterion) {
    let mut group = criterion.benchmark_group("place");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(20));
    let fleet = common::large_fleet(500, 200, 1000);
    let measured = BTreeMap::new();
    let empty = Placement::new();
    group.bench_function("100000-nodes-1000-hosts", |bencher| {
        bencher.iter(|| {
            place(
                black_box(&fleet),
                &PlaceOptions {
                    previous: &empty,
                    measured: &measured,
                    unknown_capacity: UnknownCapacity::Refuse,
                },
            )
            .expect("fits")
        })
    });
    // Re-placing after a change keeps everyone: the stability path.
    let first = place(
        &fleet,
        &PlaceOptions {
            previous: &empty,
            measured: &measured,
            unknown_capacity: UnknownCapacity::Refuse,
        },
    )
    .expect("fits");
    group.bench_function("100000-nodes-1000-hosts-from-previous", |bencher| {
        bencher.iter(|| {
            place(
                black_box(&fleet),
                &PlaceOptions {
                    previous: &first.placement,
                    measured: &measured,
                    unknown_capacity: UnknownCapacity::Refuse,
                },
            )
            .expect("fits")
        })
    });
    group.finish();
}

criterion_group!(benches, planning, placing);
criterion_main!(benches);
