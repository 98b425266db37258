//! docs/cli.md is the help of every command, made from the clap definition; `cargo test` fails when
//! it is stale, and `UPDATE_EXPECT=1` (what `cargo xtask docs` runs) writes it anew.

use clap::CommandFactory as _;

/// The width the reference is wrapped at, whatever the terminal running the test.
const WIDTH: usize = 100;

/// The file a developer reads: the top-level help, then each command's `fleet help COMMAND`.
fn cli_reference() -> String {
    let mut cli = fleet_cli::Cli::command().term_width(WIDTH);
    // Building propagates what subcommands inherit (the global -v, the version, `fleet X` in
    // their usage lines), as parsing a command line does.
    cli.build();
    let mut reference = String::from(
        "# fleet command-line reference\n\n\
         Generated from the command-line definition by `cargo xtask docs`: do not edit by hand\n\
         (`cargo test` fails when this file is stale, see crates/fleet-cli/tests/cli_reference.rs).\n\n\
         ## fleet\n\n```text\n",
    );
    reference.push_str(cli.render_long_help().to_string().trim_end());
    reference.push_str("\n```\n");
    for subcommand in cli.get_subcommands_mut() {
        push_help(&mut reference, "fleet", subcommand);
    }
    reference
}

/// `## fleet NAME` and its help, then the same for each of its own subcommands (`fleet image pull`).
fn push_help(reference: &mut String, parent: &str, command: &mut clap::Command) {
    let name = format!("{parent} {}", command.get_name());
    if command.get_name() == "help" {
        return;
    }
    let help = command.render_long_help().to_string();
    reference.push_str(&format!(
        "\n## {name}\n\n```text\n{}\n```\n",
        help.trim_end()
    ));
    for subcommand in command.get_subcommands_mut() {
        push_help(reference, &name, subcommand);
    }
}

#[test]
fn docs_cli_md_is_the_help_of_every_command() {
    expect_test::expect_file!["../../../docs/cli.md"].assert_eq(&cli_reference());
}

/// A command nobody explains in prose is one nobody finds: each appears as `fleet COMMAND` in
/// README.md or a hand-written page under docs/.
#[test]
fn every_command_is_mentioned_in_the_prose_docs() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut prose = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let mut pages: Vec<_> = std::fs::read_dir(root.join("docs"))
        .expect("docs/")
        .map(|entry| entry.expect("a docs/ entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "md"))
        .filter(|path| !path.ends_with("cli.md"))
        .collect();
    pages.sort();
    for page in pages {
        prose.push_str(&std::fs::read_to_string(&page).expect("a docs/ page"));
    }
    let unmentioned: Vec<String> = fleet_cli::Cli::command()
        .get_subcommands()
        .map(|subcommand| format!("fleet {}", subcommand.get_name()))
        .filter(|mention| !prose.contains(mention.as_str()))
        .collect();
    assert!(
        unmentioned.is_empty(),
        "not mentioned in README.md or docs/*.md: {unmentioned:?}"
    );
}
