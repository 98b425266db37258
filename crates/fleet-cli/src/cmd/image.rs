//! `fleet image`: its subcommands' arguments. They run in `fleet-connected`, the companion that may
//! resolve names and use the network (see docs/ARCHITECTURE.md).

use std::path::PathBuf;

use crate::fleet_file::DEFAULT_FLEET_FILE;

/// Fedora CoreOS base images.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    pub command: ImageCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum ImageCommand {
    Pull(PullArgs),
}

/// Download the newest Fedora CoreOS qemu image of a stream, verified, where the fleet needs it.
///
/// Reads the stream's metadata (`STREAM.json` under --stream-base-url), downloads its
/// `qcow2.xz` with a progress bar, resuming a download an earlier pull left as `.partial`,
/// checks its OpenPGP signature against Fedora's signing keys shipped with fleet (or
/// --trusted-keys) and both sha256 checksums, decompresses it, and writes the image atomically
/// with a record of its release beside it (`IMAGE.fleet-image.json`, which `fleet deploy` stores
/// in each node it creates and `fleet status` shows). The image goes where [fleet.image] path of
/// the fleet file points, or to --dest; without either (no fleet file here) it goes into the
/// current directory and the path to set is printed. An image fleet did not write is never
/// replaced. Nothing partial is left behind on failure but a `.partial` download the next pull
/// resumes; a download found bad is removed.
///
/// With --format json, stdout is one JSON object instead of the sentence: `downloaded` (false when
/// the image already was the stream's newest), `path`, `record_path`, `record` (stream, release,
/// architecture, the URLs, signer and both sha256s, as the record file holds them) and
/// `set_fleet_image_path` (the path to set in [fleet.image] when the image went into the current
/// directory, else null): what a playbook registers to say whether anything changed.
///
/// Exit status: 0 the image is in place (or already was), 1 the pull failed, 2 usage error.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  fleet image pull                              stable into [fleet.image] path of ./fleet.toml
  fleet image pull --stream testing --dest images/
  fleet image pull --format json | jq .downloaded
  fleet image pull --stream-base-url https://mirror.example/fcos/streams --trusted-keys mirror.asc")]
pub struct PullArgs {
    /// The fleet file whose [fleet.image] path receives the image (not read with --dest).
    #[arg(value_name = "FLEET", default_value = DEFAULT_FLEET_FILE)]
    pub fleet: PathBuf,

    /// The stream: stable, testing or next (a mirror may serve others).
    #[arg(long, value_name = "STREAM", default_value = "stable")]
    pub stream: String,

    /// The architecture whose qemu image to pull.
    #[arg(long, value_name = "ARCH", default_value = "x86_64")]
    pub arch: String,

    /// The directory that holds STREAM.json, for mirrors.
    #[arg(
        long,
        value_name = "URL",
        default_value = "https://builds.coreos.fedoraproject.org/streams/"
    )]
    pub stream_base_url: String,

    /// Trust only the OpenPGP public keys in this file (armored or binary) instead of Fedora's:
    /// a mirror that re-signs, or a test.
    #[arg(long, value_name = "FILE")]
    pub trusted_keys: Option<PathBuf>,

    /// Write the image here instead: a file, or an existing directory (the image keeps the
    /// artefact's name there).
    #[arg(long, value_name = "PATH")]
    pub dest: Option<PathBuf>,

    /// What stdout says: a sentence for people, or the result as JSON for scripts and playbooks.
    #[arg(long, value_enum, default_value_t = PullFormat::Text)]
    pub format: PullFormat,
}

/// `--format` of `fleet image pull`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PullFormat {
    /// One sentence: the release pulled and where, or that nothing was downloaded.
    Text,
    /// One JSON object (see above).
    Json,
}
