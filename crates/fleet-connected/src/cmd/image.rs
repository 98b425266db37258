//! `fleet image pull`: the newest Fedora CoreOS image of a stream, through `fleet-image`, into
//! the fleet's [fleet.image] path (or --dest), with a progress bar from the pull's events.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use fleet_image::{Destination, Phase, PullEvent, PullOptions, PulledImage, TrustedKeys};
use fleet_spec::ImageSource;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use fleet_cli::cmd::image::{Args, ImageCommand, PullArgs, PullFormat};
use fleet_cli::fleet_file::load_fleet;
use fleet_cli::local_files::fleet_directory;

pub(crate) fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        ImageCommand::Pull(pull) => run_pull(&pull),
    }
}

/// Where the image goes, and whether the user must still point the fleet file at it.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    /// `[fleet.image] path` of the fleet file.
    FleetImage(PathBuf),
    /// `--dest`.
    Given(Destination),
    /// No fleet file here and no `--dest`: the current directory; the path to set is printed.
    CurrentDirectory,
}

fn run_pull(args: &PullArgs) -> anyhow::Result<ExitCode> {
    let target = pull_target(args)?;
    let destination = match &target {
        Target::FleetImage(path) => Destination::File(path.clone()),
        Target::Given(destination) => destination.clone(),
        Target::CurrentDirectory => Destination::Directory(PathBuf::from(".")),
    };
    let trusted_keys = match &args.trusted_keys {
        Some(file) => TrustedKeys::from_file(file)?,
        None => TrustedKeys::fedora()?,
    };
    let mut options = PullOptions::new(&args.stream, destination, trusted_keys);
    options.architecture = args.arch.clone();
    options.stream_base_url = args.stream_base_url.clone();

    let mut progress = PullProgress::new();
    let pulled = fleet_image::pull(&options, &mut |event| progress.on_event(&event));
    progress.finish();
    let pulled = pulled.with_context(|| format!("cannot pull Fedora CoreOS {}", args.stream))?;
    let mut stdout = fleet_cli::stdout::stdout();
    match args.format {
        PullFormat::Text => write_result(&mut stdout, &pulled, &target)?,
        PullFormat::Json => {
            serde_json::to_writer_pretty(&mut stdout, &PullResult::of(&pulled, &target))?;
            writeln!(stdout)?;
        }
    }
    stdout.finish()?;
    Ok(ExitCode::SUCCESS)
}

/// `--dest`, else the fleet file's `[fleet.image] path`, else (no fleet file at the default path)
/// the current directory. A fleet that names a volume has no file to write.
fn pull_target(args: &PullArgs) -> anyhow::Result<Target> {
    if let Some(dest) = &args.dest {
        return Ok(Target::Given(if dest.is_dir() {
            Destination::Directory(dest.clone())
        } else {
            Destination::File(dest.clone())
        }));
    }
    let default_file = args.fleet == Path::new(fleet_cli::fleet_file::DEFAULT_FLEET_FILE);
    if default_file && !args.fleet.exists() {
        return Ok(Target::CurrentDirectory);
    }
    let loaded = load_fleet(&args.fleet)?;
    match &loaded.fleet.image.source {
        ImageSource::File(path) => Ok(Target::FleetImage(fleet_directory(&args.fleet).join(path))),
        ImageSource::Volume(volume) => anyhow::bail!(
            "{} names the pool volume {volume:?} as its image, not a file to pull into; give --dest PATH, then import it into the pool or set [fleet.image] path",
            args.fleet.display()
        ),
    }
}

/// `--format json`'s object.
#[derive(Debug, serde::Serialize)]
struct PullResult<'a> {
    downloaded: bool,
    path: &'a Path,
    record_path: &'a Path,
    record: &'a fleet_image::ImageRecord,
    /// What to set as `[fleet.image] path` when the image went into the current directory.
    set_fleet_image_path: Option<String>,
}

impl<'a> PullResult<'a> {
    fn of(pulled: &'a PulledImage, target: &Target) -> PullResult<'a> {
        PullResult {
            downloaded: pulled.downloaded,
            path: &pulled.path,
            record_path: &pulled.record_path,
            record: &pulled.record,
            set_fleet_image_path: (*target == Target::CurrentDirectory)
                .then(|| path_to_set(&pulled.path)),
        }
    }
}

/// The image's path as `[fleet.image] path` of a fleet file in the current directory names it.
fn path_to_set(path: &Path) -> String {
    path.strip_prefix(".").unwrap_or(path).display().to_string()
}

fn write_result(
    out: &mut dyn std::io::Write,
    pulled: &PulledImage,
    target: &Target,
) -> anyhow::Result<()> {
    let record = &pulled.record;
    if pulled.downloaded {
        writeln!(
            out,
            "pulled Fedora CoreOS {} ({} stream, {}) into {}, signed by {}",
            record.release,
            record.stream,
            record.architecture,
            pulled.path.display(),
            record.signer
        )?;
    } else {
        writeln!(
            out,
            "{} already holds Fedora CoreOS {} ({} stream, {}): nothing downloaded",
            pulled.path.display(),
            record.release,
            record.stream,
            record.architecture
        )?;
    }
    if *target == Target::CurrentDirectory {
        writeln!(
            out,
            "point the fleet at it in fleet.toml:\n\n[fleet.image]\npath = {:?}",
            path_to_set(&pulled.path)
        )?;
    }
    Ok(())
}

/// A bar per phase on a terminal; a line per step otherwise (logs, CI).
struct PullProgress {
    terminal: bool,
    bar: Option<ProgressBar>,
}

impl PullProgress {
    fn new() -> PullProgress {
        PullProgress {
            terminal: std::io::stderr().is_terminal(),
            bar: None,
        }
    }

    fn on_event(&mut self, event: &PullEvent) {
        match event {
            PullEvent::PhaseStarted { phase, done, total } if self.terminal => {
                self.finish();
                let bar = ProgressBar::with_draw_target(*total, ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix:.bold} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} {eta}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
                );
                bar.set_prefix(phase_name(*phase));
                bar.set_position(*done);
                self.bar = Some(bar);
            }
            PullEvent::Progress { done, .. } if self.terminal => {
                if let Some(bar) = &self.bar {
                    bar.set_position(*done);
                }
            }
            PullEvent::Progress { .. } => {}
            other => {
                if let Some(line) = plain_line(other) {
                    match &self.bar {
                        Some(bar) => bar.println(line),
                        None => {
                            let _ = writeln!(std::io::stderr().lock(), "{line}");
                        }
                    }
                }
            }
        }
    }

    fn finish(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

fn phase_name(phase: Phase) -> &'static str {
    match phase {
        Phase::Download => "downloading",
        Phase::Verify => "verifying",
        Phase::Decompress => "decompressing",
        Phase::CheckExisting => "checking the image there",
    }
}

/// What a log shows of a pull: each step once, no byte counts.
fn plain_line(event: &PullEvent) -> Option<String> {
    Some(match event {
        PullEvent::StreamRead { url, release } => format!("{url}: release {release}"),
        PullEvent::AlreadyCurrent { path } => format!("{} is that release already", path.display()),
        PullEvent::PhaseStarted {
            phase: Phase::Download,
            done,
            total,
        } if *done > 0 => format!(
            "downloading: resuming at byte {done}{}",
            total.map_or(String::new(), |total| format!(" of {total}"))
        ),
        PullEvent::PhaseStarted { phase, .. } => phase_name(*phase).to_owned(),
        PullEvent::DownloadRestarted { discarded } => format!(
            "the server cannot resume: {discarded} bytes discarded, downloading from the start"
        ),
        PullEvent::Verified { signer } => format!("signature good: made by {signer}"),
        PullEvent::Written { path, record } => {
            format!("wrote {} and {}", path.display(), record.display())
        }
        PullEvent::Progress { .. } => return None,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_default_stream_base_url_is_fleet_images() {
        // fleet-cli (which may not link fleet-image) spells the default out for --help.
        use clap::CommandFactory as _;
        let command = fleet_cli::Cli::command();
        let pull = command
            .find_subcommand("image")
            .and_then(|image| image.find_subcommand("pull"))
            .unwrap();
        let base = pull
            .get_arguments()
            .find(|argument| argument.get_id() == "stream_base_url")
            .unwrap();
        assert_eq!(
            base.get_default_values(),
            [fleet_image::DEFAULT_STREAM_BASE_URL]
        );
    }
}
