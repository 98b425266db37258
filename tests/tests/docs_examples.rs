//! Every fleet the documentation shows is a fleet that works: each ```toml block of docs/*.md that is a
//! whole fleet (it has a `[fleet]` table) is written to a directory of its own and must pass `fleet
//! check`, `fleet plan` and `fleet render`. A block that is only part of a fleet says so in its info
//! string, ```toml fragment; an unmarked block without `[fleet]` fails this test, so that no example
//! escapes it by accident (docs/testing.md, "Examples in the documentation").

use std::path::{Path, PathBuf};

use fleet_tests::data::repository;
use fleet_tests::verdicts::verdicts;

/// A fenced code block: where it starts (`file` relative to the repository), its info string and its text.
#[derive(Debug)]
struct Block {
    file: PathBuf,
    line: usize,
    info: String,
    text: String,
}

/// The fenced blocks of a Markdown file, in order. A fence is a run of three or more backticks; a block
/// closes at a fence at least as long with nothing after it (so a ```` fence can show a ``` block).
fn fenced_blocks(file: &Path) -> Vec<Block> {
    let markdown = std::fs::read_to_string(file)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", file.display()));
    let fence = |line: &str| {
        let line = line.trim_start();
        let length = line.bytes().take_while(|&byte| byte == b'`').count();
        (length >= 3).then(|| (length, line[length..].trim().to_owned()))
    };
    let mut blocks = Vec::new();
    let mut open: Option<(usize, Block)> = None;
    for (index, line) in markdown.lines().enumerate() {
        match (&mut open, fence(line)) {
            (None, Some((length, info))) => {
                let block = Block {
                    file: file
                        .strip_prefix(repository())
                        .unwrap_or(file)
                        .to_path_buf(),
                    line: index + 1,
                    info,
                    text: String::new(),
                };
                open = Some((length, block));
            }
            (Some((opened, _)), Some((length, info))) if length >= *opened && info.is_empty() => {
                blocks.extend(open.take().map(|(_, block)| block));
            }
            (Some((_, block)), _) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            (None, None) => {}
        }
    }
    assert!(
        open.is_none(),
        "{}: a code block is never closed",
        file.display()
    );
    blocks
}

fn docs() -> Vec<PathBuf> {
    let directory = repository().join("docs");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&directory)
        .unwrap_or_else(|error| panic!("cannot list {}: {error}", directory.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "md"))
        .collect();
    files.sort();
    files
}

/// `toml` blocks, with whether they are marked as fragments.
fn toml_blocks() -> Vec<(Block, bool)> {
    docs()
        .iter()
        .flat_map(|file| fenced_blocks(file))
        .filter_map(|block| {
            let mut words = block.info.split_whitespace();
            if words.next() != Some("toml") {
                return None;
            }
            let fragment = words.any(|word| word == "fragment");
            Some((block, fragment))
        })
        .collect()
}

fn is_whole_fleet(text: &str) -> bool {
    text.lines().any(|line| line.trim() == "[fleet]")
}

#[test]
fn every_fleet_in_the_docs_passes_check_plan_and_render() {
    let mut fleets = 0;
    let mut failures = Vec::new();
    for (block, fragment) in toml_blocks() {
        let place = format!("{}:{}", block.file.display(), block.line);
        if fragment {
            continue;
        }
        if !is_whole_fleet(&block.text) {
            failures.push(format!(
                "{place}: a ```toml block without [fleet] must be marked ```toml fragment"
            ));
            continue;
        }
        fleets += 1;
        let directory = tempfile::tempdir().expect("temporary directory");
        let fleet_toml = directory.path().join("fleet.toml");
        std::fs::write(&fleet_toml, &block.text).expect("write the example");
        let verdicts = verdicts(&fleet_toml, directory.path(), None).expect("the commands run");
        for verdict in std::iter::once(&verdicts.check).chain(&verdicts.others) {
            if !verdict.success {
                failures.push(format!(
                    "{place}: fleet {} refuses the example:\n{}",
                    verdict.command, verdict.stderr
                ));
            }
        }
    }
    assert!(fleets > 0, "no fleet example found in docs/*.md");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn fragments_are_marked_and_fleets_are_not() {
    let marked_fleets: Vec<String> = toml_blocks()
        .into_iter()
        .filter(|(block, fragment)| *fragment && is_whole_fleet(&block.text))
        .map(|(block, _)| format!("{}:{}", block.file.display(), block.line))
        .collect();
    assert!(
        marked_fleets.is_empty(),
        "whole fleets marked as fragments escape the test: {marked_fleets:?}"
    );
}

#[test]
fn fences_nest_and_info_strings_are_read() {
    let directory = tempfile::tempdir().expect("temporary directory");
    let file = directory.path().join("doc.md");
    std::fs::write(
        &file,
        "text\n````markdown\n```toml fragment\n[x]\n```\n````\n\n```toml\n[fleet]\n```\n",
    )
    .expect("write");
    let blocks = fenced_blocks(&file);
    let summary: Vec<(usize, &str, &str)> = blocks
        .iter()
        .map(|block| (block.line, block.info.as_str(), block.text.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (2, "markdown", "```toml fragment\n[x]\n```\n"),
            (8, "toml", "[fleet]\n")
        ]
    );
}
