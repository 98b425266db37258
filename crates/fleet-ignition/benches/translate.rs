//! Speed of the Butane translator on the seed article's node (target: at least 5,000
//! translations a second on one core) and of the other operations later steps repeat per node.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fleet_ignition::ignition::{self, JsonOptions};
use fleet_ignition::{IgnitionVersion, TranslateOptions, translate};

const SEED_NODE: &[u8] = include_bytes!("../../../tests/data/butane/00-v140-seed-node.bu");
const FLEET_NODE: &[u8] = include_bytes!("../../../tests/data/butane/22-v170-fleet-node.bu");

fn benches(c: &mut Criterion) {
    let options = TranslateOptions::default();
    let mut group = c.benchmark_group("butane");
    group.throughput(Throughput::Elements(1));
    group.bench_function("translate 00-v140-seed-node", |b| {
        b.iter(|| translate(black_box(SEED_NODE), &options).expect("translates"))
    });
    group.bench_function("translate and write 00-v140-seed-node", |b| {
        b.iter(|| {
            translate(black_box(SEED_NODE), &options)
                .expect("translates")
                .to_json(false)
        })
    });
    group.bench_function("translate 22-v170-fleet-node", |b| {
        b.iter(|| translate(black_box(FLEET_NODE), &options).expect("translates"))
    });
    group.finish();

    let seed = translate(SEED_NODE, &options).expect("translates").config;
    let fleet = translate(FLEET_NODE, &options).expect("translates").config;
    let mut group = c.benchmark_group("ignition");
    group.throughput(Throughput::Elements(1));
    group.bench_function("merge two nodes", |b| {
        b.iter(|| ignition::merge(black_box(&seed), black_box(&fleet)))
    });
    group.bench_function("write 3.6.0 pretty", |b| {
        b.iter(|| {
            ignition::to_json(
                black_box(&fleet),
                IgnitionVersion::V3_6,
                JsonOptions { pretty: true },
            )
            .expect("writes")
        })
    });
    group.bench_function("validate 3.6.0", |b| {
        b.iter(|| ignition::validate(black_box(&fleet), IgnitionVersion::V3_6))
    });
    group.finish();
}

criterion_group!(translation, benches);
criterion_main!(translation);
