//! `fleet butane`: translate a Butane config to Ignition, a drop-in for the upstream `butane` tool.

use std::io::{self, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use fleet_ignition::{FileSource, TranslateError, TranslateOptions, translate};
use fleet_spec::ReadLimit;

use crate::local_files::{self, LocalFiles, SymlinkRule};

use crate::output_file::{Access, write_output_file};

/// Translate a Butane config to an Ignition config, as the upstream `butane` tool does.
///
/// Reads INPUT (standard input when omitted), writes the Ignition config to standard output or
/// --output. Variant `fcos`, versions 1.0.0 to 1.7.0 (Ignition 3.0.0 to 3.6.0) and
/// 1.8.0-experimental; the output is byte for byte upstream's (gzip payloads aside), and
/// errors and warnings name the same paths, lines and columns. Drop-in: alias butane='fleet butane'.
///
/// Warnings (unused keys, modes written in decimal, ...) are printed but do not fail the
/// translation unless --strict is given.
///
/// Local files: `local`, `contents_local`, `ssh_authorized_keys_local` and `trees` name paths
/// relative to --files-dir. As with upstream butane, a path whose `..` climbs out of DIR is
/// refused, but symlinks are followed wherever they point (a fleet's own snippets are stricter:
/// there, symlinks must stay inside the fleet directory). Inside a tree, symlinks are copied as
/// links, never followed. Only regular files are read (FIFOs, devices, sockets and directories are
/// refused), each at most 64 MiB and at most 256 MiB for everything one config embeds. INPUT (a
/// file, a pipe or standard input) may be at most 32 MiB.
///
/// Exit status: 0 translated, 1 invalid input (or warnings under --strict) or I/O failure,
/// 2 usage error.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  fleet butane node.bu > node.ign                  translate a file
  fleet butane --pretty --strict < node.bu         from stdin, indented, fail on warnings
  fleet butane -d files -o node.ign node.bu        embed local files from ./files
  fleet butane --check node.bu                     only validate
  alias butane='fleet butane'                      scripts written for butane keep working")]
pub(crate) struct Args {
    /// Output formatted (two-space indented) JSON.
    #[arg(short, long)]
    pretty: bool,

    /// Fail on any warning.
    #[arg(short, long)]
    strict: bool,

    /// Check the config without producing output.
    #[arg(short, long)]
    check: bool,

    /// Allow embedding local files from this directory (paths as written must stay inside it;
    /// symlinks are followed wherever they point, as upstream butane does).
    #[arg(short = 'd', long, value_name = "DIR")]
    files_dir: Option<PathBuf>,

    /// Write to this file instead of standard output: a regular file is replaced atomically
    /// (keeping its mode), a symlink is written through to its target, a device or FIFO is written
    /// in place.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Print diagnostics as `error at $.path, line L col C: message` instead of source snippets.
    #[arg(long)]
    raw_errors: bool,

    /// Colour diagnostics: auto (on a terminal, unless NO_COLOR is set), always or never.
    #[arg(
        long,
        alias = "colour",
        value_name = "WHEN",
        default_value = "auto",
        num_args = 0..=1,
        default_missing_value = "always",
        value_parser = ["auto", "always", "never", "yes", "no"]
    )]
    color: String,

    /// Never wrap in a MachineConfig (accepted for compatibility; fcos output is always plain Ignition).
    #[arg(short, long)]
    raw: bool,

    /// Read from this file (upstream's deprecated spelling of INPUT).
    #[arg(long, hide = true, value_name = "FILE")]
    input: Option<PathBuf>,

    /// The Butane config; standard input when omitted.
    #[arg(value_name = "INPUT")]
    input_file: Option<PathBuf>,
}

/// `fleet butane ...` parsed and run without building the whole command line or logging:
/// it must start as quickly as the `butane` binary it replaces. None for any other command.
pub(crate) fn fast_path() -> Option<ExitCode> {
    use clap::{Args as _, FromArgMatches as _};
    let mut arguments = std::env::args_os();
    let program = arguments.next()?;
    if arguments.next()? != "butane" {
        return None;
    }
    let command = Args::augment_args(
        clap::Command::new("butane")
            .bin_name("fleet butane")
            .version(env!("CARGO_PKG_VERSION"))
            .max_term_width(100)
            .arg(
                clap::Arg::new("verbose")
                    .short('v')
                    .long("verbose")
                    .action(clap::ArgAction::Count)
                    .hide(true),
            ),
    );
    let matches = command.get_matches_from(std::iter::once(program).chain(arguments));
    let args = match Args::from_arg_matches(&matches) {
        Ok(args) => args,
        Err(error) => error.exit(),
    };
    Some(crate::exit_code(run(args)))
}

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    let input_path = args.input_file.as_ref().or(args.input.as_ref());
    let (file_name, bytes) = match input_path {
        Some(path) => (
            path.display().to_string(),
            local_files::read_input(path, ReadLimit::BUTANE_CONFIG)
                .with_context(|| format!("failed to open {}", path.display()))?,
        ),
        None => (
            "<stdin>".to_owned(),
            local_files::read_capped(io::stdin().lock(), 0, ReadLimit::BUTANE_CONFIG)
                .context("failed to read standard input")?,
        ),
    };
    let colorize = match args.color.as_str() {
        "always" | "yes" => true,
        "never" | "no" => false,
        _ => crate::colour::on_stderr(),
    };
    let files = args
        .files_dir
        .as_deref()
        .map(|directory| LocalFiles::open(directory, SymlinkRule::FollowAnywhere))
        .transpose()
        .context("failed to open the files directory")?;
    let options = TranslateOptions {
        files_dir: files.as_ref().map(|f| f as &dyn FileSource),
        ..TranslateOptions::default()
    };

    let result = translate(&bytes, &options);
    let source = String::from_utf8_lossy(&bytes);
    let mut stderr = io::stderr().lock();
    let report = match &result {
        Ok(translation) => &translation.report,
        Err(error) => &error.report,
    };
    let rendered = if args.raw_errors {
        report.render_raw()
    } else {
        report.render_pretty(&file_name, &source, colorize)
    };
    stderr.write_all(rendered.as_bytes())?;

    let translation = match result {
        Ok(translation) => translation,
        Err(error) => {
            if !args.raw_errors {
                write_syntax_pointer(&mut stderr, &error, &file_name, &source)?;
            }
            writeln!(stderr, "Error translating config: {error}")?;
            return Ok(ExitCode::FAILURE);
        }
    };
    if args.strict && !translation.report.is_empty() {
        writeln!(
            stderr,
            "Config produced warnings and --strict was specified"
        )?;
        return Ok(ExitCode::FAILURE);
    }
    drop(stderr);
    if args.check {
        return Ok(ExitCode::SUCCESS);
    }
    let json = translation.to_json(args.pretty);
    match &args.output {
        Some(path) => write_output_file(path, json.as_bytes(), Access::Default)?,
        None => {
            let mut stdout = crate::stdout::stdout();
            stdout.write_all(json.as_bytes())?;
            stdout.finish()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// yaml.v3 words syntax errors with its own line numbers; show where parsing actually stopped.
fn write_syntax_pointer(
    out: &mut impl io::Write,
    error: &TranslateError,
    file_name: &str,
    source: &str,
) -> io::Result<()> {
    let Some(position) = error.position else {
        return Ok(());
    };
    let line = source
        .split('\n')
        .nth(position.line.saturating_sub(1) as usize);
    writeln!(out, "error[yaml]:")?;
    writeln!(
        out,
        "  --> {file_name}:{}:{}",
        position.line, position.column
    )?;
    if let Some(text) = line {
        let gutter = position.line.to_string().len();
        writeln!(out, " {:gutter$} |", "")?;
        writeln!(out, " {} | {text}", position.line)?;
        let padding = " ".repeat(position.column.saturating_sub(1) as usize);
        writeln!(
            out,
            " {:gutter$} | {padding}^ the YAML parser stopped here",
            ""
        )?;
    }
    Ok(())
}
