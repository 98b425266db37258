//! Every quadlet fleet renders, for the example fleet and the container test fleet, through podman's
//! real quadlet generator (`quadlet -dryrun`, as root's generator for `/etc/containers/systemd/` and
//! with `-user` for `/etc/containers/systemd/users/UID/`): it accepts each file (it exits 1 on a key it
//! does not know), and the services it generates run the image with the ports, the health check that
//! gates readiness (`--sdnotify=healthy`) and the auto-update label fleet.toml asks for, and the
//! declared pods, volumes and networks are created with their options.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use fleet_ignition::ignition::data_url_contents;
use fleet_tests::binary::run_fleet;
use fleet_tests::quadlet::{dry_run, host_quadlet};
use serde_json::Value;

const ROOTFUL: &str = "/etc/containers/systemd/";

fn render(fleet: &Path, directory: &Path) {
    let output = run_fleet([
        "render".as_ref(),
        fleet.as_os_str(),
        "--out".as_ref(),
        directory.as_os_str(),
    ])
    .expect("fleet runs");
    assert!(
        output.status.success(),
        "fleet render {}: {}",
        fleet.display(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Quadlets of one rendered node: their directory on the node → file name → contents.
fn quadlets(ignition: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    let config: Value = serde_json::from_str(&std::fs::read_to_string(ignition).unwrap()).unwrap();
    let mut by_directory: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in config["storage"]["files"].as_array().into_iter().flatten() {
        let path = file["path"].as_str().unwrap();
        if !path.starts_with(ROOTFUL) {
            continue;
        }
        let contents = &file["contents"];
        let bytes = data_url_contents(
            contents["source"].as_str().unwrap(),
            contents["compression"].as_str(),
        )
        .unwrap();
        let (directory, name) = path.rsplit_once('/').unwrap();
        by_directory
            .entry(directory.to_owned())
            .or_default()
            .insert(name.to_owned(), String::from_utf8(bytes).unwrap());
    }
    by_directory
}

/// Every node of `fleet`: each quadlet directory through the generator; returns node → generated output.
fn generate_all(quadlet: &Path, fleet: &Path) -> BTreeMap<String, String> {
    let rendered = tempfile::tempdir().unwrap();
    render(fleet, rendered.path());
    let mut generated = BTreeMap::new();
    let mut ignitions: Vec<PathBuf> = std::fs::read_dir(rendered.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "ign"))
        .collect();
    ignitions.sort();
    assert!(
        !ignitions.is_empty(),
        "{} rendered no node",
        fleet.display()
    );
    for ignition in ignitions {
        let node = ignition.file_stem().unwrap().to_string_lossy().into_owned();
        for (directory, files) in quadlets(&ignition) {
            let scratch = tempfile::tempdir().unwrap();
            for (name, contents) in &files {
                std::fs::write(scratch.path().join(name), contents).unwrap();
            }
            let user = directory.starts_with("/etc/containers/systemd/users/");
            let output = dry_run(quadlet, scratch.path(), user).unwrap();
            assert!(
                output.success,
                "node {node}: quadlet refused {directory}: {}",
                output.stderr
            );
            for name in files.keys() {
                let (stem, kind) = name.rsplit_once('.').unwrap();
                let service = match kind {
                    "container" => format!("{stem}.service"),
                    other => format!("{stem}-{other}.service"),
                };
                assert!(
                    output.unit(&service).is_some(),
                    "node {node}: no {service} generated from {directory}/{name}:\n{}",
                    output.stdout
                );
            }
            generated
                .entry(node.clone())
                .or_insert_with(String::new)
                .push_str(&format!("# {directory} (user: {user})\n{}", output.stdout));
        }
    }
    generated
}

fn exec_start(generated: &str, service: &str) -> String {
    let marker = format!("---{service}---\n");
    let start = generated.find(&marker).expect("service generated") + marker.len();
    generated[start..]
        .lines()
        .take_while(|line| !line.starts_with("---"))
        .find_map(|line| line.strip_prefix("ExecStart="))
        .expect("ExecStart")
        .to_owned()
}

fn workspace(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

#[test]
fn the_generator_accepts_the_example_fleets_quadlets_and_runs_what_fleet_toml_says() {
    let Some(quadlet) = host_quadlet("the_generator_accepts_the_example_fleets_quadlets") else {
        return;
    };
    let generated = generate_all(&quadlet, &workspace("fleet/fleet.toml"));

    // web nodes: rootless nginx with its port, readiness gated on health, registry updates.
    let web = generated.get("web-01").expect("web-01 has quadlets");
    assert!(web.contains("(user: true)"), "{web}");
    let site = exec_start(web, "site.service");
    for expected in [
        "--publish 8080:80/tcp",
        "--sdnotify=healthy",
        "--label io.containers.autoupdate=registry",
        "--health-cmd \"curl -fs http://localhost/ || exit 1\"",
        "--health-on-failure kill",
        "-v site-content:/usr/share/nginx/html:ro,Z",
        "--memory=256m",
    ] {
        assert!(site.contains(expected), "{expected} missing from {site}");
    }
    assert!(site.ends_with(" docker.io/library/nginx:1.27"), "{site}");
    // Its content volume is declared: podman creates it, labelled, before the site starts.
    let content = exec_start(web, "site-content-volume.service");
    assert!(
        content.ends_with("--label app=site site-content"),
        "{content}"
    );
    assert!(
        unit(web, "site.service").contains("Requires=site-content-volume.service"),
        "{web}"
    );

    // edge nodes: rootful, host network, its exec after the image.
    let edge = generated.get("edge-1").expect("edge-1 has quadlets");
    assert!(edge.contains("(user: false)"), "{edge}");
    let exporter = exec_start(edge, "node-exporter.service");
    assert!(exporter.contains("--network host"), "{exporter}");
    assert!(
        exporter.ends_with(" quay.io/prometheus/node-exporter:v1.8.2 --path.rootfs=/host"),
        "{exporter}"
    );
    // db nodes run no container.
    assert!(!generated.contains_key("db-1"));
}

#[test]
fn the_generator_accepts_the_test_fleets_pods_networks_and_free_keys() {
    let Some(quadlet) = host_quadlet("the_generator_accepts_the_test_fleets_quadlets") else {
        return;
    };
    let generated = generate_all(
        &quadlet,
        &workspace("tests/data/check/valid/containers.toml"),
    );
    let web = &generated["web-1"];
    let site = exec_start(web, "site.service");
    for expected in [
        "--cap-add net_bind_service",
        "--env NGINX_PORT=80",
        "--health-interval 30s",
        "--health-retries 3",
        "--health-start-period 10s",
        "--health-timeout 5s",
        "--cpus=0.5",
    ] {
        assert!(site.contains(expected), "{expected} missing from {site}");
    }
    // web-2 replaces the site by name: its own port, no update, no health check.
    let replaced = exec_start(&generated["web-2"], "site.service");
    assert!(replaced.contains("--publish 80:80/tcp"), "{replaced}");
    assert!(!replaced.contains("autoupdate"), "{replaced}");
    // db-1: a pod publishing its container's port, and a network podman creates.
    let db = &generated["db-1"];
    let pod = exec_start(db, "data-pod.service");
    assert!(pod.contains("pod start"), "{pod}");
    assert!(
        db.contains("--publish 127.0.0.1:5432:5432/tcp --infra-name data-infra --name data"),
        "{db}"
    );
    let postgres = exec_start(db, "db.service");
    assert!(
        postgres.contains("--pod-id-file %t/data-pod.pod-id"),
        "{postgres}"
    );
    assert!(!postgres.contains("--publish"), "{postgres}");
    assert!(
        db.contains("podman network create --ignore backups"),
        "{db}"
    );
}

/// The generated unit `service` of `generated`: its text up to the next one.
fn unit<'g>(generated: &'g str, service: &str) -> &'g str {
    let marker = format!("---{service}---\n");
    let start = generated.find(&marker).expect("service generated") + marker.len();
    let rest = &generated[start..];
    &rest[..rest.find("\n---").unwrap_or(rest.len())]
}

#[test]
fn the_generator_creates_declared_pods_volumes_and_networks_with_their_options() {
    let Some(quadlet) = host_quadlet("the_generator_creates_declared_pods_volumes_and_networks")
    else {
        return;
    };
    let generated = generate_all(
        &quadlet,
        &workspace("tests/data/check/valid/pods-volumes-networks.toml"),
    );
    let app = &generated["app-1"];
    assert!(app.contains("(user: true)"), "{app}");
    // The declared pod publishes the ports on the declared network, with its user namespace and free key.
    let pod = unit(app, "app-pod.service");
    for expected in [
        "--userns keep-id",
        "--publish 8080:80/tcp --publish 127.0.0.1:9090:9090/tcp",
        "--network app-net",
        "--add-host db.internal:10.89.7.2",
        "--name app",
    ] {
        assert!(pod.contains(expected), "{expected} missing from {pod}");
    }
    let network = exec_start(app, "app-net-network.service");
    assert!(
        network.contains(
            "--dns 9.9.9.9 --subnet 10.89.7.0/24 --gateway 10.89.7.1 --ip-range 10.89.7.128/25 --label tier=app app-net"
        ),
        "{network}"
    );
    let data = exec_start(app, "app-data-volume.service");
    assert!(data.ends_with("--label backup=daily app-data"), "{data}");
    let scratch = exec_start(app, "scratch-volume.service");
    assert!(
        scratch.contains("--opt device=tmpfs --opt type=tmpfs --opt o=size=64m"),
        "{scratch}"
    );
    assert!(
        exec_start(app, "spare-volume.service").ends_with(" spare"),
        "{app}"
    );
    // The containers join the pod, publish nothing, and mount the volumes through their quadlets,
    // after the volumes' services.
    let web = unit(app, "web.service");
    for expected in [
        "Requires=app-data-volume.service",
        "Requires=scratch-volume.service",
        "--pod-id-file %t/app-pod.pod-id",
        "-v app-data:/usr/share/nginx/html:ro,Z",
        "-v scratch:/tmp",
    ] {
        assert!(web.contains(expected), "{expected} missing from {web}");
    }
    assert!(!web.contains("--publish"), "{web}");

    // infra-1: the group's own app-data on a device, and root's internal IPv6 network.
    let infra = &generated["infra-1"];
    let data = exec_start(infra, "app-data-volume.service");
    assert!(
        data.contains("--driver local --opt device=/dev/disk/by-label/appdata --opt type=xfs"),
        "{data}"
    );
    let backups = exec_start(infra, "backups-network.service");
    for expected in [
        "--internal",
        "--ipv6",
        "--driver bridge",
        "--subnet fd00:89:7::/64",
        "--opt mtu=1400",
    ] {
        assert!(
            backups.contains(expected),
            "{expected} missing from {backups}"
        );
    }
    let backup = unit(infra, "backup.service");
    assert!(
        backup.contains("Requires=backups-network.service"),
        "{backup}"
    );
    assert!(backup.contains("--network backups"), "{backup}");
}
