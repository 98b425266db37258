//! No input makes `parse` or `load` panic: random bytes, mutated copies of the example fleet, and token soups
//! of fleet.toml keys. Whatever they return, a successful result satisfies the model's invariants, and no
//! message repeats the example's password hash.

use std::collections::HashSet;

use fleet_spec::{Fleet, MemoryFiles, load, parse};
use proptest::prelude::*;

const EXAMPLE: &str = include_str!("../../../fleet/fleet.toml");
const BASE_SNIPPET: &str = include_str!("../../../fleet/butane/base.bu");
const WEB_SNIPPET: &str = include_str!("../../../fleet/butane/web.bu");
const DB_SNIPPET: &str = include_str!("../../../fleet/butane/db.bu");
const KEYS: &str = include_str!("../../../fleet/keys/ops.pub");

fn example_files() -> MemoryFiles {
    let mut files = MemoryFiles::new();
    files
        .insert("butane/base.bu", BASE_SNIPPET)
        .insert("butane/web.bu", WEB_SNIPPET)
        .insert("butane/db.bu", DB_SNIPPET)
        .insert("keys/ops.pub", KEYS);
    files
}

/// The example's password hash, which no message may contain.
fn example_hash() -> &'static str {
    EXAMPLE
        .lines()
        .find_map(|line| line.strip_prefix("password_hash = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("the example has a password hash")
}

/// Names, MACs and UUIDs unique; groups cover the nodes in order; addresses inside their networks.
fn assert_invariants(fleet: &Fleet) {
    let mut names = HashSet::new();
    let mut macs = HashSet::new();
    let mut uuids = HashSet::new();
    for node in &fleet.nodes {
        assert!(
            names.insert(node.name.clone()),
            "duplicate name {}",
            node.name
        );
        assert!(macs.insert(node.mac), "duplicate MAC {}", node.mac);
        assert!(uuids.insert(node.uuid), "duplicate UUID {}", node.uuid);
        assert!(!node.hostname.is_empty());
    }
    let mut next = 0;
    for (index, group) in fleet.groups.iter().enumerate() {
        assert_eq!(group.nodes.start, next);
        next = group.nodes.end;
        for node in fleet.group_nodes(group) {
            assert_eq!(node.group, index);
        }
    }
    assert_eq!(next, fleet.nodes.len());
}

fn check(bytes: &[u8]) {
    let files = example_files();
    match load("fleet.toml", bytes, &files) {
        Ok(loaded) => assert_invariants(&loaded.fleet),
        Err(diagnostics) => {
            assert!(!diagnostics.is_empty());
            let text = diagnostics.to_string();
            assert!(
                !text.contains(example_hash()),
                "a message repeats the password hash"
            );
        }
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        match parse("fleet.toml", text) {
            Ok(fleet) => assert_invariants(&fleet),
            Err(diagnostics) => assert!(!diagnostics.is_empty()),
        }
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    FlipByte { position: usize, value: u8 },
    Truncate { position: usize },
    DeleteLine { line: usize },
    DuplicateLine { line: usize },
    SwapLines { first: usize, second: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>())
            .prop_map(|(position, value)| Mutation::FlipByte { position, value }),
        any::<usize>().prop_map(|position| Mutation::Truncate { position }),
        any::<usize>().prop_map(|line| Mutation::DeleteLine { line }),
        any::<usize>().prop_map(|line| Mutation::DuplicateLine { line }),
        (any::<usize>(), any::<usize>())
            .prop_map(|(first, second)| Mutation::SwapLines { first, second }),
    ]
}

fn apply(bytes: Vec<u8>, mutation: &Mutation) -> Vec<u8> {
    let mut lines: Vec<Vec<u8>> = bytes
        .split(|&byte| byte == b'\n')
        .map(<[u8]>::to_vec)
        .collect();
    let line_count = lines.len().max(1);
    match *mutation {
        Mutation::FlipByte { position, value } => {
            let mut bytes = bytes;
            if !bytes.is_empty() {
                let position = position % bytes.len();
                bytes[position] = value;
            }
            return bytes;
        }
        Mutation::Truncate { position } => {
            let mut bytes = bytes;
            bytes.truncate(position % (bytes.len() + 1));
            return bytes;
        }
        Mutation::DeleteLine { line } => {
            if !lines.is_empty() {
                lines.remove(line % line_count);
            }
        }
        Mutation::DuplicateLine { line } => {
            if !lines.is_empty() {
                let copy = lines[line % line_count].clone();
                lines.insert(line % line_count, copy);
            }
        }
        Mutation::SwapLines { first, second } => {
            if !lines.is_empty() {
                lines.swap(first % line_count, second % line_count);
            }
        }
    }
    lines.join(&b'\n')
}

/// Lines a fleet file could contain, right or wrong, to reach deep into validation.
const TOKENS: &[&str] = &[
    "[fleet]",
    "name = \"demo\"",
    "name = \"web\"",
    "name = \"web-1\"",
    "domain = \"lab\"",
    "domain = \"..\"",
    "[fleet.image]",
    "path = \"x.qcow2\"",
    "volume = \"v\"",
    "kernel = \"k\"",
    "[fleet.pool]",
    "path = \"relative\"",
    "[defaults]",
    "vcpus = 0",
    "vcpus = 4",
    "memory_mib = 99999999999999999999",
    "butane = [\"butane/base.bu\", \"../x.bu\"]",
    "kernel_arguments = { should_exist = [\"a\"], should_not_exist = [\"a\"] }",
    "[[defaults.users]]",
    "password_hash = \"$6$x$y\"",
    "ssh_key_files = [\"keys/ops.pub\", \"keys/none.pub\"]",
    "ssh_authorized_keys = [\"ssh-ed25519 AAAA\"]",
    "[defaults.health]",
    "[group.health]",
    "[group.node.health]",
    "units = [\"sshd.service\", \"sshd\", \"a@.service\"]",
    "commands = [[\"/usr/bin/true\"], [], \"x\"]",
    "timeout_minutes = 1",
    "retry_seconds = 60",
    "rollback = false",
    "max_rollbacks = 101",
    "[[defaults.health.http]]",
    "[[group.health.http]]",
    "url = \"http://127.0.0.1/\"",
    "status = 99",
    "[maintenance]",
    "strategy = \"fleet_lock\"",
    "strategy = \"immediate\"",
    "window_minutes = 10080",
    "window_minutes = 5",
    "[[maintenance.period]]",
    "days = [\"Sat\", \"sat\"]",
    "days = []",
    "start = 23:59",
    "start = \"24:00\"",
    "end = \"23:59\"",
    "length_minutes = 1",
    "[[group]]",
    "count = 1",
    "count = 3",
    "count = 0",
    "hostname = \"n\"",
    "hostname = \"n-{index:09}\"",
    "hostname = \"{group}-{index\"",
    "spread_over = \"zone\"",
    "[group.network]",
    "mode = \"static\"",
    "mode = \"reserved\"",
    "cidr = \"10.0.0.0/30\"",
    "cidr = \"10.0.0.0/8\"",
    "gateway = \"10.0.0.3\"",
    "first_address = \"10.0.0.2\"",
    "address = \"10.0.0.2\"",
    "[group.rollout]",
    "max_unavailable = \"100%\"",
    "canaries = 1.0",
    "canaries = 7",
    "soak_minutes = \"1d\"",
    "[group.maintenance]",
    "[[group.maintenance.period]]",
    "[[group.node]]",
    "mac = \"52:54:00:00:00:01\"",
    "host = \"hv\"",
    "role = \"canary\"",
    "[[group.users]]",
    "[[host]]",
    "connect = \"test:///default\"",
    "labels = { zone = \"a\" }",
    "= = =",
    "\"",
];

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&bytes);
    }

    #[test]
    fn mutated_example_fleets_never_panic(mutations in proptest::collection::vec(mutation(), 1..6)) {
        let mut bytes = EXAMPLE.as_bytes().to_vec();
        for mutation in &mutations {
            bytes = apply(bytes, mutation);
        }
        check(&bytes);
    }

    #[test]
    fn token_soups_never_panic(tokens in proptest::collection::vec(proptest::sample::select(TOKENS), 0..60)) {
        check(tokens.join("\n").as_bytes());
    }
}

#[test]
fn the_example_fleet_loads_and_keeps_the_invariants() {
    let loaded = match load("fleet.toml", EXAMPLE.as_bytes(), &example_files()) {
        Ok(loaded) => loaded,
        Err(diagnostics) => panic!("{diagnostics}"),
    };
    assert_invariants(&loaded.fleet);
    assert_eq!(loaded.fleet.nodes.len(), 11);
}
