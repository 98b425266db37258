//! `fleet image pull` as a process against an HTTP server on 127.0.0.1 that serves a fixture
//! stream and a small release signed by a key made for the test (fleet-image's own pull fixtures,
//! `crates/fleet-image/tests/support`, shared rather than copied): a good pull into the fleet's
//! `[fleet.image] path`, a second pull that downloads nothing, a wrong checksum, a bad signature,
//! a truncated download and its resumption, an unknown stream; and what each leaves on disk; and
//! `--format json`, which the shipped `fleet.coreos.prepare_hypervisors` registers: run by the real
//! ansible-core against the same server, it pulls once (changed) and then reports no change.

#[path = "../../crates/fleet-image/tests/support/mod.rs"]
#[expect(
    dead_code,
    reason = "fleet-image's pull tests use more of their fixtures than these CLI tests do"
)]
mod support;

use std::path::PathBuf;
use std::process::{Command, Output};

use fleet_tests::ansible::{real_ansible, recap_changes, run_successfully};
use fleet_tests::binary::{fleet_binary, fleet_command};
use fleet_tests::workdir::WorkDir;
use support::release::{
    ARTEFACT, ARTEFACT_PATH, RELEASE, SIGNATURE_PATH, STREAM_PATH, read, stream_json,
};
use support::server::Behaviour;

/// fleet-image's setup (a server publishing a correctly signed release, its key trusted by file)
/// and a fleet beside the workspace's images directory whose `[fleet.image] path` is
/// `images/fcos.qcow2`.
struct Setup {
    published: support::release::Setup,
    fleet_toml: PathBuf,
}

impl std::ops::Deref for Setup {
    type Target = support::release::Setup;

    fn deref(&self) -> &Self::Target {
        &self.published
    }
}

fn setup() -> Setup {
    let published = support::release::setup();
    let fleet_toml = published
        .workspace
        .images
        .parent()
        .unwrap()
        .join("fleet.toml");
    std::fs::write(
        &fleet_toml,
        "[fleet]\nname = \"pulled\"\n\n[fleet.image]\npath = \"images/fcos.qcow2\"\n\n[[maintenance.period]]\ndays = [\"Sat\"]\nstart = \"02:00\"\nlength_minutes = 240\n\n[[group]]\nname = \"web\"\ncount = 1\n",
    )
    .unwrap();
    Setup {
        published,
        fleet_toml,
    }
}

/// No proxy between a command and the test server on 127.0.0.1.
fn without_proxies(command: &mut Command) {
    for proxy in [
        "ALL_PROXY",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "all_proxy",
        "http_proxy",
        "https_proxy",
    ] {
        command.env_remove(proxy);
    }
}

impl Setup {
    /// `fleet image pull FLEET --stream-base-url … --trusted-keys … EXTRA`, no proxy in the way.
    fn pull(&self, extra: &[&str]) -> Output {
        let mut command = fleet_command().unwrap();
        without_proxies(&mut command);
        command
            .args(["image", "pull"])
            .arg(&self.fleet_toml)
            .arg("--stream-base-url")
            .arg(format!("{}/streams", self.server.url()))
            .arg("--trusted-keys")
            .arg(&self.workspace.keys_file)
            .args(extra);
        command.output().unwrap()
    }

    fn artefact_requests(&self) -> usize {
        self.server.requests_for(ARTEFACT_PATH).len()
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn image_and_record() -> [&'static str; 2] {
    ["fcos.qcow2", "fcos.qcow2.fleet-image.json"]
}

#[test]
fn a_good_pull_writes_the_fleets_image_and_says_which_release_and_a_second_downloads_nothing() {
    let setup = setup();
    let output = setup.pull(&[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let image = setup.workspace.image_path();
    assert_eq!(
        stdout(&output),
        format!(
            "pulled Fedora CoreOS {RELEASE} (stable stream, x86_64) into {}, signed by {}\n",
            image.display(),
            setup.key.fingerprint()
        )
    );
    assert_eq!(read(&image), setup.release.image);
    assert_eq!(setup.workspace.entries(), image_and_record());
    // Not a terminal: the steps as lines on stderr, without byte counts.
    let log = stderr(&output);
    assert!(log.contains(&format!("release {RELEASE}")), "{log}");
    assert!(
        log.contains(&format!(
            "signature good: made by {}",
            setup.key.fingerprint()
        )),
        "{log}"
    );

    let again = setup.pull(&[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(
        stdout(&again),
        format!(
            "{} already holds Fedora CoreOS {RELEASE} (stable stream, x86_64): nothing downloaded\n",
            image.display()
        )
    );
    assert_eq!(setup.artefact_requests(), 1);
}

/// `--format json`: one object saying whether anything was downloaded, where the image and its
/// record are, and the record itself; as the record file holds it.
#[test]
fn json_says_whether_anything_was_downloaded_and_what_the_record_holds() {
    let setup = setup();
    let pull_json = || {
        let output = setup.pull(&["--format", "json"]);
        assert!(output.status.success(), "{}", stderr(&output));
        serde_json::from_slice::<serde_json::Value>(&output.stdout)
            .unwrap_or_else(|error| panic!("{error}: {}", stdout(&output)))
    };
    let image = setup.workspace.image_path();
    let record_path = PathBuf::from(format!("{}.fleet-image.json", image.display()));
    let first = pull_json();
    assert_eq!(first["downloaded"], true, "{first:#}");
    assert_eq!(first["path"], image.display().to_string(), "{first:#}");
    assert_eq!(
        first["record_path"],
        record_path.display().to_string(),
        "{first:#}"
    );
    assert_eq!(first["record"]["release"], RELEASE, "{first:#}");
    assert_eq!(
        first["record"]["signer"],
        setup.key.fingerprint(),
        "{first:#}"
    );
    let on_disk: serde_json::Value = serde_json::from_slice(&read(&record_path)).unwrap();
    assert_eq!(first["record"], on_disk, "the record as its file holds it");
    assert_eq!(first["set_fleet_image_path"], serde_json::Value::Null);

    let again = pull_json();
    assert_eq!(again["downloaded"], false, "{again:#}");
    assert_eq!(again["record"], on_disk);
    assert_eq!(setup.artefact_requests(), 1);
}

/// The shipped playbook's image play, by the real ansible-core, against the test server as a
/// mirror: the first run pulls the image and reports a change, the second finds it current and
/// reports none, with the artefact downloaded once. (Its first play, on `hypervisors`, matches no
/// host here: the playbook runs without an inventory.)
#[test]
fn the_prepare_playbook_pulls_the_image_once_and_then_reports_no_change() {
    let Some(ansible) = real_ansible("the_prepare_playbook_pulls_the_image_once") else {
        return;
    };
    let setup = setup();
    let workdir = WorkDir::new("ansible-image-pull").unwrap();
    let collections = ansible.install_collection(workdir.path()).unwrap();
    let run = || -> String {
        let mut command = ansible.command("ansible-playbook", workdir.path());
        without_proxies(&mut command);
        let output = run_successfully(
            command
                .arg("fleet.coreos.prepare_hypervisors")
                .args(["-e", &format!("fleet_file={}", setup.fleet_toml.display())])
                .args([
                    "-e",
                    &format!("fleet_binary={}", fleet_binary().unwrap().display()),
                ])
                .args(["-e", "fleet_stream=stable"])
                .args([
                    "-e",
                    &format!("fleet_stream_base_url={}/streams", setup.server.url()),
                ])
                .args([
                    "-e",
                    &format!("fleet_trusted_keys={}", setup.workspace.keys_file.display()),
                ])
                .env("ANSIBLE_COLLECTIONS_PATH", &collections),
        )
        .unwrap();
        String::from_utf8(output.stdout).unwrap()
    };
    let first = run();
    assert_eq!(recap_changes(&first)["localhost"], 1, "{first}");
    assert_eq!(read(&setup.workspace.image_path()), setup.release.image);
    let second = run();
    assert_eq!(recap_changes(&second)["localhost"], 0, "{second}");
    assert_eq!(setup.artefact_requests(), 1);
}

#[test]
fn a_wrong_checksum_fails_and_leaves_nothing() {
    let setup = setup();
    setup.server.route(
        STREAM_PATH,
        stream_json(
            &setup.server,
            &"0".repeat(64),
            &setup.release.uncompressed_sha256(),
        ),
        Behaviour::Normal,
    );
    let output = setup.pull(&[]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains("error: cannot pull Fedora CoreOS stable: "),
        "{message}"
    );
    assert!(message.contains("sha256"), "{message}");
    assert!(
        setup.workspace.entries().is_empty(),
        "{:?}",
        setup.workspace.entries()
    );
    assert!(stdout(&output).is_empty());
}

#[test]
fn a_signature_over_other_bytes_fails_and_leaves_nothing() {
    let setup = setup();
    setup.server.route(
        SIGNATURE_PATH,
        setup.key.sign(b"some other file"),
        Behaviour::Normal,
    );
    let output = setup.pull(&[]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(message.contains("signature"), "{message}");
    assert!(
        setup.workspace.entries().is_empty(),
        "{:?}",
        setup.workspace.entries()
    );
}

#[test]
fn a_truncated_download_keeps_only_its_partial_and_the_next_pull_resumes_it() {
    let setup = setup();
    let half = setup.release.compressed.len() / 2;
    setup
        .server
        .set_behaviour(ARTEFACT_PATH, Behaviour::ClosesAfter(half));
    let output = setup.pull(&[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("error: cannot pull Fedora CoreOS stable"));
    assert_eq!(setup.workspace.entries(), [format!("{ARTEFACT}.partial")]);
    assert_eq!(
        std::fs::metadata(setup.workspace.partial_path())
            .unwrap()
            .len(),
        half as u64
    );

    setup.server.set_behaviour(ARTEFACT_PATH, Behaviour::Normal);
    let output = setup.pull(&[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(&format!("downloading: resuming at byte {half}")),
        "{}",
        stderr(&output)
    );
    let requests = setup.server.requests_for(ARTEFACT_PATH);
    assert_eq!(
        requests.last().and_then(|request| request.range.clone()),
        Some(format!("bytes={half}-"))
    );
    assert_eq!(read(&setup.workspace.image_path()), setup.release.image);
    assert_eq!(setup.workspace.entries(), image_and_record());
}

#[test]
fn an_unknown_stream_fails_and_names_it() {
    let setup = setup();
    let output = setup.pull(&["--stream", "nightly"]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(message.contains("nightly"), "{message}");
    assert!(setup.workspace.entries().is_empty());
}

#[test]
fn dest_names_another_place_and_a_directory_keeps_the_artefacts_name() {
    let setup = setup();
    let elsewhere = tempfile::tempdir().unwrap();
    let output = setup.pull(&["--dest", &elsewhere.path().display().to_string()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let name = ARTEFACT.strip_suffix(".xz").unwrap();
    assert_eq!(read(&elsewhere.path().join(name)), setup.release.image);
    // The fleet's own image path was not touched.
    assert!(setup.workspace.entries().is_empty());
    assert_eq!(
        support::release::entries(elsewhere.path()),
        [name.to_owned(), format!("{name}.fleet-image.json")]
    );
}
