//! Deploy 1,000 nodes on libvirt's in-library `test:///default` driver: the target is at most 2 s and a peak RSS under 200 MiB.
//!
//! Every sample starts from an empty driver: the session is closed after each deploy, and the
//! test driver forgets its state with its last connection. The peak RSS (VmHWM) of the whole
//! benchmark process is printed at the end and checked against the bound.

use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use fleet_libvirt::{
    BackingImage, DeployOptions, DesiredFleet, DesiredNode, FleetTarget, HostTarget, Session,
    SessionOptions,
};
use fleet_spec::{DomainType, MacAddress, Uuid};

const NODES: usize = 1_000;
const PEAK_RSS_LIMIT_MIB: u64 = 200;

fn desired(scratch: &std::path::Path) -> DesiredFleet {
    let pool = scratch.join("pool");
    std::fs::create_dir_all(&pool).expect("pool directory");
    let image = scratch.join("base.qcow2");
    std::fs::write(&image, vec![7_u8; 1 << 20]).expect("image");
    let nodes = (0..NODES)
        .map(|index| {
            let name = format!("bench-{index:04}");
            // A realistic rendered config: a few KiB of JSON per node.
            let ignition = format!(
                "{{\"ignition\":{{\"version\":\"3.5.0\"}},\"passwd\":{{\"users\":[{{\"name\":\"core\",\"sshAuthorizedKeys\":[\"{}\"]}}]}},\"storage\":{{\"files\":[{{\"path\":\"/etc/hostname\",\"contents\":{{\"source\":\"data:,{name}\"}}}}]}}}}",
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKNOWyXQBy0NxY19bdlDWtvd8Gxz64aqgA5u/Qry1bUw ops@example.com ".repeat(30)
            );
            DesiredNode {
                uuid: Uuid::new_v5(&Uuid::NAMESPACE_OID, name.as_bytes()),
                hostname: name.clone(),
                name,
                mac: MacAddress([0x52, 0x54, 0x00, 0x20, (index >> 8) as u8, index as u8]),
                vcpus: 2,
                memory_mib: 2048,
                disk_gib: 10,
                host: "local".to_owned(),
                wave: u32::from(index >= 10),
                reserved_address: None,
                ignition: ignition.into_bytes(),
            }
        })
        .collect();
    DesiredFleet {
        target: FleetTarget {
            name: "bench".to_owned(),
            domain_type: DomainType::Qemu,
            image: BackingImage::File(image),
            direct_kernel_boot: None,
            pool_name: "fleet-bench".to_owned(),
            pool_path: pool,
            network: "default".to_owned(),
            image_release: None,
        },
        nodes,
    }
}

fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

fn deploy_thousand_nodes(criterion: &mut Criterion) {
    let scratch = tempfile::tempdir().expect("temporary directory");
    let desired = desired(scratch.path());
    let hosts = [HostTarget {
        name: "local".to_owned(),
        uri: "test:///default".to_owned(),
    }];
    let mut group = criterion.benchmark_group("deploy");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for jobs in [1, 8] {
        group.bench_function(
            format!("1000 nodes on test:///default, jobs {jobs}"),
            |bencher| {
                bencher.iter_custom(|iterations| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iterations {
                        let session = Session::open(&hosts, &SessionOptions::default());
                        let options = DeployOptions {
                            jobs,
                            ..DeployOptions::default()
                        };
                        let started = Instant::now();
                        let report = session.deploy(&desired, &options, &|_| {});
                        total += started.elapsed();
                        assert_eq!(
                            report.failed_nodes(),
                            0,
                            "{:?}",
                            report.nodes.iter().find(|node| node.outcome.is_failure())
                        );
                        session.close();
                    }
                    total
                });
            },
        );
    }
    group.finish();
    let peak = peak_rss_mib().unwrap_or(0);
    eprintln!("peak RSS of the benchmark process: {peak} MiB (limit {PEAK_RSS_LIMIT_MIB} MiB)");
    assert!(
        peak < PEAK_RSS_LIMIT_MIB,
        "peak RSS {peak} MiB is over {PEAK_RSS_LIMIT_MIB} MiB"
    );
}

criterion_group!(benches, deploy_thousand_nodes);
criterion_main!(benches);
