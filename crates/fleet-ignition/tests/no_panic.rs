//! No input, however malformed, makes the translator panic: random bytes, corpus inputs with
//! bytes and lines mutated, and random YAML documents built from Butane's own keys.

#![expect(
    clippy::disallowed_methods,
    reason = "tests read their fixture files and time a run; the rule (clippy.toml) is for the library"
)]

mod common;

use fleet_ignition::{FileSource, TranslateOptions, translate};
use fleet_spec::MemoryFiles;
use proptest::prelude::*;

fn files() -> MemoryFiles {
    let mut files = MemoryFiles::new();
    files
        .insert("motd.txt", "hello\n")
        .insert("keys/a.pub", "ssh-ed25519 AAAA a\r\n\nssh-ed25519 BBBB b")
        .insert("ignition/child.ign", r#"{"ignition":{"version":"3.4.0"}}"#)
        .insert("tree/etc/a.conf", "a=1\n")
        .insert_executable("tree/bin/run", "#!/bin/sh\n")
        .insert_symlink("tree/bin/r", "run")
        .insert("units/x.service", "[Service]\nExecStart=/bin/true\n");
    files
}

fn translate_both_ways(input: &[u8]) {
    let files = files();
    let with_files = TranslateOptions {
        files_dir: Some(&files as &dyn FileSource),
        ..TranslateOptions::default()
    };
    for options in [TranslateOptions::default(), with_files] {
        match translate(input, &options) {
            Ok(t) => {
                let _ = t.to_json(true);
                let _ = t
                    .report
                    .render_pretty("x.bu", &String::from_utf8_lossy(input), true);
            }
            Err(e) => {
                let _ = e
                    .report
                    .render_pretty("x.bu", &String::from_utf8_lossy(input), false);
                let _ = e.to_string();
            }
        }
    }
}

fn corpus_inputs() -> Vec<Vec<u8>> {
    let dir = common::corpus_dir();
    common::list_cases(&dir)
        .into_iter()
        .map(|case| std::fs::read(dir.join(format!("{case}.bu"))).expect("corpus input"))
        .collect()
}

#[derive(Debug, Clone)]
enum Mutation {
    FlipByte(usize, u8),
    DeleteRange(usize, usize),
    InsertText(usize, &'static str),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Indent(usize, usize),
    Dedent(usize),
    DropLine(usize),
}

const TOKENS: &[&str] = &[
    "&a ",
    "*a",
    "<<: *a\n",
    "- ",
    ": ",
    "{",
    "}",
    "[",
    "]",
    "!!int ",
    "!!str ",
    "!!binary ",
    "~",
    "\t",
    "'",
    "\"",
    "|",
    ">-",
    "#",
    "\n",
    "  ",
    "? ",
    "---\n",
    "...\n",
    "%YAML 1.1\n",
    "0o777",
    "-1",
    "1e9",
    "yes",
    "null",
    "\u{feff}",
    "é",
    "local: ../x",
    "inline: x",
    "version: 1.7.0",
    "mode: 0644",
    "with_mount_unit: true",
    "path: /",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::FlipByte(i, b)),
        (any::<usize>(), 0usize..40).prop_map(|(i, n)| Mutation::DeleteRange(i, n)),
        (any::<usize>(), proptest::sample::select(TOKENS))
            .prop_map(|(i, t)| Mutation::InsertText(i, t)),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<usize>(), 1usize..5).prop_map(|(i, n)| Mutation::Indent(i, n)),
        any::<usize>().prop_map(Mutation::Dedent),
        any::<usize>().prop_map(Mutation::DropLine),
    ]
}

fn apply(input: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = input.to_vec();
    for m in mutations {
        let mut lines: Vec<Vec<u8>> = bytes.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
        let n = lines.len().max(1);
        match *m {
            Mutation::FlipByte(i, b) => {
                if !bytes.is_empty() {
                    let i = i % bytes.len();
                    bytes[i] = b;
                }
                continue;
            }
            Mutation::DeleteRange(i, len) => {
                if !bytes.is_empty() {
                    let start = i % bytes.len();
                    let end = (start + len).min(bytes.len());
                    bytes.drain(start..end);
                }
                continue;
            }
            Mutation::InsertText(i, text) => {
                let at = i % (bytes.len() + 1);
                bytes.splice(at..at, text.bytes());
                continue;
            }
            Mutation::DuplicateLine(i) => {
                let line = lines[i % n].clone();
                lines.insert(i % n, line);
            }
            Mutation::SwapLines(a, b) => lines.swap(a % n, b % n),
            Mutation::Indent(i, k) => {
                let line = &mut lines[i % n];
                line.splice(0..0, std::iter::repeat_n(b' ', k));
            }
            Mutation::Dedent(i) => {
                let line = &mut lines[i % n];
                if line.first() == Some(&b' ') {
                    line.remove(0);
                }
            }
            Mutation::DropLine(i) => {
                if lines.len() > 1 {
                    lines.remove(i % n);
                }
            }
        }
        bytes = lines.join(&b'\n');
    }
    bytes
}

/// Keys from every level of the Butane schema, so random documents reach deep decoders.
const KEYS: &[&str] = &[
    "variant",
    "version",
    "ignition",
    "config",
    "merge",
    "replace",
    "proxy",
    "security",
    "tls",
    "certificate_authorities",
    "timeouts",
    "storage",
    "files",
    "directories",
    "links",
    "disks",
    "partitions",
    "filesystems",
    "luks",
    "raid",
    "trees",
    "systemd",
    "units",
    "dropins",
    "passwd",
    "users",
    "groups",
    "kernel_arguments",
    "should_exist",
    "should_not_exist",
    "boot_device",
    "layout",
    "mirror",
    "devices",
    "grub",
    "path",
    "mode",
    "contents",
    "inline",
    "local",
    "source",
    "compression",
    "verification",
    "hash",
    "http_headers",
    "name",
    "value",
    "target",
    "hard",
    "overwrite",
    "user",
    "group",
    "id",
    "device",
    "label",
    "number",
    "size_mib",
    "start_mib",
    "resize",
    "wipe_table",
    "format",
    "with_mount_unit",
    "mount_options",
    "clevis",
    "tang",
    "tpm2",
    "url",
    "thumbprint",
    "threshold",
    "cex",
    "enabled",
    "key_file",
    "level",
    "spares",
    "options",
    "local",
    "dir_mode",
    "file_mode",
    "contents_local",
    "mask",
    "ssh_authorized_keys",
    "ssh_authorized_keys_local",
    "password_hash",
    "uid",
    "gid",
    "system",
    "shell",
    "custom",
    "pin",
    "needs_network",
    "discard",
    "wipe_volume",
    "quadlets",
    "<<",
];

const SCALARS: &[&str] = &[
    "fcos",
    "1.0.0",
    "1.1.0",
    "1.2.0",
    "1.3.0",
    "1.4.0",
    "1.5.0",
    "1.6.0",
    "1.7.0",
    "1.8.0-experimental",
    "/etc/x",
    "/dev/vda",
    "0644",
    "0o755",
    "644",
    "true",
    "false",
    "yes",
    "~",
    "''",
    "\"x\"",
    "motd.txt",
    "tree",
    "../x",
    "x86_64",
    "s390x-eckd",
    "raid1",
    "xfs",
    "swap",
    "a.service",
    "b.conf",
    "https://x/y",
    "data:,x",
    "gzip",
    "sha512-00",
    "-1",
    "99999999999999999999",
    "1.5",
    "[Service]\\nA=b",
];

#[derive(Debug, Clone)]
enum Doc {
    Scalar(&'static str),
    Map(Vec<(&'static str, Doc)>),
    Seq(Vec<Doc>),
}

fn document() -> impl Strategy<Value = Doc> {
    let leaf = proptest::sample::select(SCALARS).prop_map(Doc::Scalar);
    leaf.prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec((proptest::sample::select(KEYS), inner.clone()), 0..6)
                .prop_map(Doc::Map),
            proptest::collection::vec(inner, 0..4).prop_map(Doc::Seq),
        ]
    })
}

fn render(doc: &Doc, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match doc {
        Doc::Scalar(s) => {
            out.push(' ');
            out.push_str(s);
            out.push('\n');
        }
        Doc::Map(pairs) if pairs.is_empty() => out.push_str(" {}\n"),
        Doc::Seq(items) if items.is_empty() => out.push_str(" []\n"),
        Doc::Map(pairs) => {
            out.push('\n');
            for (k, v) in pairs {
                out.push_str(&pad);
                out.push_str(k);
                out.push(':');
                render(v, indent + 2, out);
            }
        }
        Doc::Seq(items) => {
            out.push('\n');
            for item in items {
                out.push_str(&pad);
                out.push('-');
                render(item, indent + 2, out);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        translate_both_ways(&bytes);
    }

    #[test]
    fn mutated_corpus_never_panics(index in any::<usize>(), mutations in proptest::collection::vec(mutation(), 1..6)) {
        let inputs = corpus_inputs();
        let input = &inputs[index % inputs.len()];
        translate_both_ways(&apply(input, &mutations));
    }

    #[test]
    fn random_butane_documents_never_panic(version in proptest::sample::select(&["1.0.0", "1.1.0", "1.3.0", "1.4.0", "1.5.0", "1.6.0", "1.7.0", "1.8.0-experimental"][..]), doc in document()) {
        let mut text = format!("variant: fcos\nversion: {version}\n");
        if let Doc::Map(pairs) = &doc {
            for (k, v) in pairs {
                text.push_str(k);
                text.push(':');
                render(v, 2, &mut text);
            }
        }
        translate_both_ways(text.as_bytes());
    }
}

#[test]
fn alias_bombs_are_harmless() {
    let mut doc =
        String::from("variant: fcos\nversion: 1.4.0\na: &a [x, x, x, x, x, x, x, x, x, x]\n");
    let mut previous = 'a';
    for name in 'b'..='k' {
        doc.push_str(&format!(
            "{name}: &{name} [*{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}]\n"
        ));
        previous = name;
    }
    doc.push_str("storage:\n  files: *k\n");
    let started = std::time::Instant::now();
    let result = translate(doc.as_bytes(), &TranslateOptions::default());
    assert!(result.is_err());
    assert!(
        started.elapsed().as_secs() < 10,
        "took {:?}",
        started.elapsed()
    );
}
