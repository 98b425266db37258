//! `cargo xtask`: set-up of system packages, tests, CI, end-to-end runs, benchmarks and docs.
//!
//! Run `cargo xtask help` for the commands. Everything here shells out to ordinary tools (apt, cargo,
//! virsh, dpkg-deb, cpio) and says each command line before running it.

use std::process::ExitCode;

use anyhow::{Result, bail};

mod ansible;
mod bench;
mod binaries;
mod daemons;
mod debs;
mod demo;
mod docs;
mod e2e;
mod guest;
mod health_tools;
mod ignition;
mod process;
mod quadlet;
mod setup;
mod shared_libraries;
mod tasks;

const USAGE: &str = "\
cargo xtask: project automation for fleet

USAGE:
    cargo xtask <COMMAND> [OPTIONS]

COMMANDS:
    demo [-- ARGS]       the main job on its embedded default: check, plan and deploy the example fleet
                         (fleet/fleet.toml); on libvirt's in-library test driver, with a placeholder
                         image, unless fleet/images/ holds a real Fedora CoreOS image (see README);
                         ARGS go to `fleet deploy`
    build                the release binaries as shipped, into target/release/: `fleet` statically
                         linked (it starts in under 2 ms), `fleet-connected` (libvirt) dynamically
    setup [--e2e]        install the Debian packages the build needs (with --e2e: also libvirtd, qemu
                         and the guest tools); prints the apt command instead when not root
    test [-- ARGS]       setup --e2e, fetch Ignition and quadlet, install Ansible, `cargo test --workspace ARGS`, then the
                         end-to-end tests and the demo (the README's main command)
    ci                   cargo fmt --check, clippy -D warnings, docs --check, then test
    e2e [OPTIONS] [-- ARGS]
                         setup --e2e, start virtlogd/libvirtd if needed, ensure the `default`
                         network, build the tiny guest, run `cargo test -p fleet-tests --test 'e2e_*'`
        --stop-daemons   stop the daemons this run started (default: leave them running; CI stops them)
        --prepare-only   prepare everything, print the tests' environment as `export` lines, run nothing
    guest                build (or reuse) the tiny e2e guest and print its kernel and initrd paths, and
                         the real Ignition it runs (also what `cargo test`'s host-side twin runs)
    ansible              install (or reuse) the pinned ansible-core and ansible-lint the tests run
                         (xtask/ansible-requirements.txt) into target/ansible/venv; print its bin dir
    quadlet              fetch (or reuse) podman 5.4's quadlet generator from Debian trixie into
                         target/quadlet/ and print its path (what tests/quadlet_generator.rs runs)
    bench [NAME...]      run the criterion benches (all, or those whose package or bench target
                         matches NAME) and the process-level benchmarks, then print medians
    docs [--check]       regenerate docs/cli.md from the clap definition (the test cli_reference with
                         UPDATE_EXPECT=1); --check (implied by CI=true) runs that test as `cargo test`
                         does: it fails when docs/cli.md is stale or README/docs miss a command
";

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match dispatch(&arguments) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(arguments: &[String]) -> Result<()> {
    let Some((command, rest)) = arguments.split_first() else {
        eprint!("{USAGE}");
        bail!("no command given");
    };
    match command.as_str() {
        "demo" => {
            let (flags, deploy_arguments) = split_at_double_dash(rest);
            parse_flags(flags, &[])?;
            demo::run(deploy_arguments)
        }
        "build" => {
            parse_flags(rest, &[])?;
            let directory = binaries::release()?;
            println!("{}", directory.join("fleet").display());
            println!("{}", directory.join("fleet-connected").display());
            Ok(())
        }
        "setup" => {
            let e2e = parse_flags(rest, &["--e2e"])?.contains(&"--e2e");
            setup::run(setup::SetupOptions { e2e, demo: false })
        }
        // Everything after `test` goes to `cargo test --workspace` as written (`-- --nocapture` too).
        "test" => tasks::test(rest),
        "ci" => {
            parse_flags(rest, &[])?;
            tasks::ci()
        }
        "bench" => bench::run(rest),
        "docs" => {
            let check = parse_flags(rest, &["--check"])?.contains(&"--check");
            docs::run(docs::DocsOptions { check })
        }
        "e2e" => {
            let (flags, test_arguments) = split_at_double_dash(rest);
            let flags = parse_flags(flags, &["--stop-daemons", "--prepare-only"])?;
            e2e::run(e2e::E2eOptions {
                stop_daemons: flags.contains(&"--stop-daemons"),
                prepare_only: flags.contains(&"--prepare-only"),
                test_arguments: test_arguments.to_vec(),
            })
        }
        "guest" => {
            parse_flags(rest, &[])?;
            let guest = guest::ensure_built()?;
            println!("kernel: {}", guest.kernel.display());
            println!("initrd: {}", guest.initrd.display());
            println!("ignition: {}", ignition::ensure_fetched()?.binary.display());
            Ok(())
        }
        "ansible" => {
            parse_flags(rest, &[])?;
            println!("{}", ansible::ensure_installed()?.bin_dir.display());
            Ok(())
        }
        "quadlet" => {
            parse_flags(rest, &[])?;
            println!("{}", quadlet::ensure_fetched()?.display());
            Ok(())
        }
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => {
            eprint!("{USAGE}");
            bail!("unknown command `{other}`")
        }
    }
}

/// Accept only the known flags (no values), so a typo fails instead of being ignored.
fn parse_flags<'a>(arguments: &'a [String], known: &[&'a str]) -> Result<Vec<&'a str>> {
    arguments
        .iter()
        .map(|argument| {
            known
                .iter()
                .find(|flag| **flag == argument)
                .copied()
                .ok_or_else(|| anyhow::anyhow!("unknown option `{argument}`"))
        })
        .collect()
}

/// Options before `--` belong to xtask, the rest is passed through.
fn split_at_double_dash(arguments: &[String]) -> (&[String], &[String]) {
    match arguments.iter().position(|argument| argument == "--") {
        Some(index) => (&arguments[..index], &arguments[index + 1..]),
        None => (arguments, &[]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| (*word).to_owned()).collect()
    }

    #[test]
    fn unknown_flags_are_refused() {
        let arguments = strings(&["--e2e", "--e2ee"]);
        let error = parse_flags(&arguments, &["--e2e"]).unwrap_err();
        assert_eq!(error.to_string(), "unknown option `--e2ee`");
    }

    #[test]
    fn arguments_after_double_dash_pass_through() {
        let arguments = strings(&["--stop-daemons", "--", "--nocapture", "--test-threads=1"]);
        let (flags, rest) = split_at_double_dash(&arguments);
        assert_eq!(flags, ["--stop-daemons"]);
        assert_eq!(rest, ["--nocapture", "--test-threads=1"]);
        assert_eq!(
            split_at_double_dash(&strings(&["--prepare-only"])).1.len(),
            0
        );
    }
}
