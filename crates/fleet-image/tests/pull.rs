//! `fleet_image::pull` against a real HTTP server on 127.0.0.1 serving a fixture release signed
//! by a key made for the test: every check, and what is left on disk after each failure.

mod support;

use std::os::unix::fs::PermissionsExt;

use fleet_image::{
    ChecksumKind, Destination, ImageError, ImageRecord, Phase, PullEvent, SignatureProblem,
    TrustedKeys, pull,
};
use support::release::{
    ARTEFACT, ARTEFACT_PATH, RELEASE, SIGNATURE_PATH, STREAM_PATH, Signer, TestKey, read, setup,
    stream_json,
};
use support::server::{Behaviour, Request};

fn pull_collecting(
    options: &fleet_image::PullOptions,
) -> (Result<fleet_image::PulledImage, ImageError>, Vec<PullEvent>) {
    let mut events = Vec::new();
    let result = pull(options, &mut |event| events.push(event));
    (result, events)
}

#[test]
fn a_good_pull_writes_the_image_and_its_record_and_nothing_else() {
    let setup = setup();
    let (pulled, events) = pull_collecting(&setup.workspace.options(&setup.server));
    let pulled = pulled.expect("the pull succeeds");

    let image = setup.workspace.image_path();
    assert_eq!(pulled.path, image);
    assert!(pulled.downloaded);
    assert_eq!(read(&image), setup.release.image);
    let mode = std::fs::metadata(&image).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    assert_eq!(
        setup.workspace.entries(),
        ["fcos.qcow2", "fcos.qcow2.fleet-image.json"]
    );

    assert_eq!(pulled.record.release, RELEASE);
    assert_eq!(pulled.record.signer, setup.key.fingerprint());
    assert_eq!(pulled.record.sha256.as_hex(), setup.release.sha256());
    assert_eq!(
        pulled.record.uncompressed_sha256.as_hex(),
        setup.release.uncompressed_sha256()
    );
    assert_eq!(
        pulled.record.location,
        format!("{}{ARTEFACT_PATH}", setup.server.url())
    );
    assert_eq!(
        ImageRecord::read_beside(&image).unwrap(),
        Some(pulled.record.clone())
    );

    assert_eq!(
        events.first(),
        Some(&PullEvent::StreamRead {
            url: format!("{}{STREAM_PATH}", setup.server.url()),
            release: RELEASE.to_owned(),
        })
    );
    let length = setup.release.compressed.len() as u64;
    for phase in [Phase::Download, Phase::Verify, Phase::Decompress] {
        assert!(
            events.contains(&PullEvent::Progress {
                phase,
                done: length,
                total: Some(length)
            }),
            "{phase:?} reports its end: {events:?}"
        );
    }
    assert!(events.contains(&PullEvent::Verified {
        signer: setup.key.fingerprint()
    }));
    assert_eq!(
        events.last(),
        Some(&PullEvent::Written {
            path: image.clone(),
            record: pulled.record_path.clone(),
        })
    );
}

#[test]
fn a_second_pull_of_the_same_release_downloads_nothing() {
    let setup = setup();
    let options = setup.workspace.options(&setup.server);
    pull(&options, &mut |_| {}).expect("the first pull succeeds");
    let (pulled, events) = pull_collecting(&options);
    let pulled = pulled.expect("the second pull succeeds");
    assert!(!pulled.downloaded);
    assert_eq!(pulled.record.release, RELEASE);
    assert!(events.contains(&PullEvent::AlreadyCurrent {
        path: setup.workspace.image_path()
    }));
    assert_eq!(setup.server.requests_for(ARTEFACT_PATH).len(), 1);
}

#[test]
fn a_directory_destination_names_the_image_after_the_artefact() {
    let setup = setup();
    let mut options = setup.workspace.options(&setup.server);
    options.destination = Destination::Directory(setup.workspace.images.clone());
    let pulled = pull(&options, &mut |_| {}).expect("the pull succeeds");
    let name = ARTEFACT.strip_suffix(".xz").unwrap();
    assert_eq!(pulled.path, setup.workspace.images.join(name));
    assert_eq!(
        setup.workspace.entries(),
        [name.to_owned(), format!("{name}.fleet-image.json")]
    );
}

/// Publishes stream metadata with one of the two checksums wrong, and checks that the pull names
/// that checksum, both digests, and leaves nothing behind.
fn check_wrong_checksum(what: ChecksumKind) {
    let setup = setup();
    let wrong = support::release::hex(b"something else");
    let (sha256, uncompressed_sha256, right) = match what {
        ChecksumKind::Compressed => (
            wrong.clone(),
            setup.release.uncompressed_sha256(),
            setup.release.sha256(),
        ),
        ChecksumKind::Uncompressed => (
            setup.release.sha256(),
            wrong.clone(),
            setup.release.uncompressed_sha256(),
        ),
    };
    setup.server.route(
        STREAM_PATH,
        stream_json(&setup.server, &sha256, &uncompressed_sha256),
        Behaviour::Normal,
    );
    let error = pull(&setup.workspace.options(&setup.server), &mut |_| {}).unwrap_err();
    assert!(
        matches!(&error, ImageError::ChecksumMismatch { what: found, expected, actual }
            if *found == what && expected.as_hex() == wrong && actual.as_hex() == right),
        "{error}"
    );
    assert_eq!(setup.workspace.entries(), Vec::<String>::new());
}

#[test]
fn a_wrong_sha256_of_the_download_leaves_nothing_behind() {
    check_wrong_checksum(ChecksumKind::Compressed);
}

#[test]
fn a_wrong_uncompressed_sha256_leaves_nothing_behind() {
    check_wrong_checksum(ChecksumKind::Uncompressed);
}

#[test]
fn a_signature_over_other_bytes_leaves_nothing_behind() {
    let setup = setup();
    setup.server.route(
        SIGNATURE_PATH,
        setup.key.sign(b"not the artefact"),
        Behaviour::Normal,
    );
    let error = pull(&setup.workspace.options(&setup.server), &mut |_| {}).unwrap_err();
    assert!(
        matches!(&error, ImageError::Signature { problem: SignatureProblem::Invalid { signer, .. }, .. }
            if *signer == setup.key.fingerprint()),
        "{error}"
    );
    assert_eq!(setup.workspace.entries(), Vec::<String>::new());
}

#[test]
fn a_signature_by_an_untrusted_key_fails_before_the_download() {
    let setup = setup();
    let stranger = TestKey::generate("stranger");
    setup.server.route(
        SIGNATURE_PATH,
        stranger.sign(&setup.release.compressed),
        Behaviour::Normal,
    );
    let error = pull(&setup.workspace.options(&setup.server), &mut |_| {}).unwrap_err();
    assert!(
        matches!(&error, ImageError::Signature { problem: SignatureProblem::UntrustedSigner { issuers, trusted }, .. }
            if *issuers == [stranger.fingerprint()] && *trusted == [setup.key.fingerprint()]),
        "{error}"
    );
    assert_eq!(setup.server.requests_for(ARTEFACT_PATH), []);
    assert_eq!(setup.workspace.entries(), Vec::<String>::new());
}

#[test]
fn a_key_revoked_by_itself_is_no_longer_trusted() {
    let setup = setup();
    let mut options = setup.workspace.options(&setup.server);
    options.trusted_keys =
        TrustedKeys::from_bytes(&setup.key.public_armored_revoked(), "revoked.asc").unwrap();
    let error = pull(&options, &mut |_| {}).unwrap_err();
    assert!(
        matches!(&error, ImageError::Signature { problem: SignatureProblem::RevokedSigner { signer }, .. }
            if *signer == setup.key.fingerprint()),
        "{error}"
    );
    assert_eq!(setup.server.requests_for(ARTEFACT_PATH), []);
    assert_eq!(setup.workspace.entries(), Vec::<String>::new());
}

#[test]
fn fedoras_keys_do_not_trust_a_test_signature() {
    let setup = setup();
    let mut options = setup.workspace.options(&setup.server);
    options.trusted_keys = TrustedKeys::fedora().unwrap();
    let error = pull(&options, &mut |_| {}).unwrap_err();
    assert!(
        matches!(
            &error,
            ImageError::Signature {
                problem: SignatureProblem::UntrustedSigner { .. },
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn a_mirror_key_may_sign_with_its_signing_subkey() {
    let setup = setup();
    let mirror = TestKey::generate_signing_with("subkey-mirror", Signer::Subkey);
    setup.server.route(
        SIGNATURE_PATH,
        mirror.sign_with(Signer::Subkey, &setup.release.compressed),
        Behaviour::Normal,
    );
    let mut options = setup.workspace.options(&setup.server);
    options.trusted_keys = TrustedKeys::from_bytes(&mirror.public_armored(), "mirror.asc").unwrap();
    let pulled = pull(&options, &mut |_| {}).expect("the subkey's signature is trusted");
    assert_ne!(
        pulled.record.signer,
        mirror.fingerprint(),
        "the subkey signed"
    );
}

#[test]
fn a_download_cut_short_keeps_only_the_partial_and_the_next_pull_resumes_it() {
    let setup = setup();
    let half = setup.release.compressed.len() / 2;
    setup
        .server
        .set_behaviour(ARTEFACT_PATH, Behaviour::ClosesAfter(half));
    let options = setup.workspace.options(&setup.server);
    let error = pull(&options, &mut |_| {}).unwrap_err();
    assert!(
        matches!(&error, ImageError::Truncated { received, expected, partial, .. }
            if *received == half as u64
                && *expected == Some(setup.release.compressed.len() as u64)
                && *partial == setup.workspace.partial_path()),
        "{error}"
    );
    assert_eq!(setup.workspace.entries(), [format!("{ARTEFACT}.partial")]);
    assert_eq!(
        read(&setup.workspace.partial_path()),
        setup.release.compressed[..half]
    );

    setup.server.set_behaviour(ARTEFACT_PATH, Behaviour::Normal);
    pull(&options, &mut |_| {}).expect("the next pull resumes and succeeds");
    assert_eq!(
        setup.server.requests_for(ARTEFACT_PATH),
        [
            Request {
                path: ARTEFACT_PATH.to_owned(),
                range: None
            },
            Request {
                path: ARTEFACT_PATH.to_owned(),
                range: Some(format!("bytes={half}-"))
            },
        ]
    );
    assert_eq!(read(&setup.workspace.image_path()), setup.release.image);
}

#[test]
fn a_partial_holding_the_first_half_fetches_only_the_rest() {
    let setup = setup();
    let half = setup.release.compressed.len() / 2;
    std::fs::write(
        setup.workspace.partial_path(),
        &setup.release.compressed[..half],
    )
    .unwrap();
    let (pulled, events) = pull_collecting(&setup.workspace.options(&setup.server));
    pulled.expect("the resumed pull succeeds");
    assert_eq!(
        setup.server.requests_for(ARTEFACT_PATH),
        [Request {
            path: ARTEFACT_PATH.to_owned(),
            range: Some(format!("bytes={half}-"))
        }]
    );
    assert!(events.contains(&PullEvent::PhaseStarted {
        phase: Phase::Download,
        done: half as u64,
        total: Some(setup.release.compressed.len() as u64),
    }));
    assert_eq!(read(&setup.workspace.image_path()), setup.release.image);
    assert_eq!(
        setup.workspace.entries(),
        ["fcos.qcow2", "fcos.qcow2.fleet-image.json"]
    );
}

#[test]
fn a_complete_partial_is_not_downloaded_again() {
    // What a pull that failed after its download (a full disk while decompressing) leaves.
    let setup = setup();
    let length = setup.release.compressed.len();
    std::fs::write(setup.workspace.partial_path(), &setup.release.compressed).unwrap();
    pull(&setup.workspace.options(&setup.server), &mut |_| {}).expect("the pull succeeds");
    assert_eq!(
        setup.server.requests_for(ARTEFACT_PATH),
        [Request {
            path: ARTEFACT_PATH.to_owned(),
            range: Some(format!("bytes={length}-"))
        }],
        "one range request past the end, answered 416 with the file's length"
    );
    assert_eq!(read(&setup.workspace.image_path()), setup.release.image);
}

#[test]
fn a_server_that_ignores_range_restarts_the_download_cleanly() {
    let setup = setup();
    setup
        .server
        .set_behaviour(ARTEFACT_PATH, Behaviour::IgnoresRange);
    // Bytes that would corrupt the image if they were kept.
    std::fs::write(setup.workspace.partial_path(), vec![0xaa; 1000]).unwrap();
    let (pulled, events) = pull_collecting(&setup.workspace.options(&setup.server));
    pulled.expect("the restarted pull succeeds");
    assert!(events.contains(&PullEvent::DownloadRestarted { discarded: 1000 }));
    assert_eq!(read(&setup.workspace.image_path()), setup.release.image);
}

#[test]
fn a_partial_longer_than_the_artefact_starts_over() {
    let setup = setup();
    let mut longer = setup.release.compressed.clone();
    longer.extend_from_slice(b"trailing bytes of something else");
    std::fs::write(setup.workspace.partial_path(), longer).unwrap();
    pull(&setup.workspace.options(&setup.server), &mut |_| {}).expect("the pull succeeds");
    let ranges: Vec<Option<String>> = setup
        .server
        .requests_for(ARTEFACT_PATH)
        .into_iter()
        .map(|request| request.range)
        .collect();
    assert_eq!(
        ranges,
        [
            Some(format!("bytes={}-", setup.release.compressed.len() + 32)),
            None
        ]
    );
    assert_eq!(read(&setup.workspace.image_path()), setup.release.image);
}

#[test]
fn an_unknown_stream_is_named_and_nothing_is_written() {
    let setup = setup();
    let mut options = setup.workspace.options(&setup.server);
    options.stream = "testing".to_owned();
    let error = pull(&options, &mut |_| {}).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "unknown stream \"testing\": {}/streams/testing.json answered HTTP 404; Fedora CoreOS streams are stable, testing and next (a mirror serves what its base URL holds)",
            setup.server.url()
        )
    );
    assert_eq!(setup.workspace.entries(), Vec::<String>::new());
}

#[test]
fn an_unknown_architecture_lists_those_the_stream_has() {
    let setup = setup();
    let mut options = setup.workspace.options(&setup.server);
    options.architecture = "riscv64".to_owned();
    let error = pull(&options, &mut |_| {}).unwrap_err();
    assert_eq!(
        error.to_string(),
        "stream stable has no architecture \"riscv64\"; it has aarch64, x86_64"
    );
    assert_eq!(setup.workspace.entries(), Vec::<String>::new());
}

#[test]
fn a_file_fleet_did_not_write_is_replaced_only_when_told() {
    let setup = setup();
    let image = setup.workspace.image_path();
    std::fs::write(&image, b"the user's own image").unwrap();
    let mut options = setup.workspace.options(&setup.server);
    let error = pull(&options, &mut |_| {}).unwrap_err();
    assert!(
        matches!(&error, ImageError::NotWrittenByFleet { path, .. } if *path == image),
        "{error}"
    );
    assert_eq!(read(&image), b"the user's own image");
    assert_eq!(setup.workspace.entries(), ["fcos.qcow2"]);
    assert_eq!(setup.server.requests_for(ARTEFACT_PATH), []);

    options.overwrite = true;
    pull(&options, &mut |_| {}).expect("an overwrite pull succeeds");
    assert_eq!(read(&image), setup.release.image);
}

#[test]
fn an_image_changed_since_fleet_wrote_it_is_no_longer_fleets() {
    let setup = setup();
    let options = setup.workspace.options(&setup.server);
    pull(&options, &mut |_| {}).expect("the first pull succeeds");
    let image = setup.workspace.image_path();
    std::fs::write(&image, b"edited by hand").unwrap();
    let error = pull(&options, &mut |_| {}).unwrap_err();
    assert!(
        matches!(error, ImageError::NotWrittenByFleet { .. }),
        "{error}"
    );
    assert_eq!(read(&image), b"edited by hand");
}

#[test]
fn links_fifos_and_locked_partials_are_refused() {
    let setup = setup();
    let options = setup.workspace.options(&setup.server);
    let outside = setup.workspace.keys_file.clone();
    let before = read(&outside);

    for link in [setup.workspace.image_path(), setup.workspace.partial_path()] {
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        let error = pull(&options, &mut |_| {}).unwrap_err();
        assert!(
            matches!(&error, ImageError::NotARegularFile { path, kind: "a symbolic link" } if *path == link),
            "{error}"
        );
        std::fs::remove_file(&link).unwrap();
    }
    assert_eq!(read(&outside), before, "nothing was written through a link");

    let status = std::process::Command::new("mkfifo")
        .arg(setup.workspace.partial_path())
        .status()
        .expect("mkfifo runs");
    assert!(status.success());
    let error = pull(&options, &mut |_| {}).unwrap_err();
    assert!(
        matches!(error, ImageError::NotARegularFile { kind: "a FIFO", .. }),
        "{error}"
    );
    std::fs::remove_file(setup.workspace.partial_path()).unwrap();

    let held = std::fs::File::create(setup.workspace.partial_path()).unwrap();
    held.lock().unwrap();
    let error = pull(&options, &mut |_| {}).unwrap_err();
    assert!(matches!(error, ImageError::Busy { .. }), "{error}");
}

#[test]
fn a_trusted_keys_file_that_is_not_one_is_refused_clearly() {
    let setup = setup();
    let keys = setup.workspace.images.join("keys.asc");
    std::fs::write(&keys, "just text\n").unwrap();
    let error = TrustedKeys::from_file(&keys).unwrap_err().to_string();
    assert!(
        error.starts_with(&format!("trusted keys {}: ", keys.display())),
        "{error}"
    );
    let error = TrustedKeys::from_file(std::path::Path::new("/dev/zero"))
        .unwrap_err()
        .to_string();
    assert_eq!(
        error,
        "/dev/zero is a device, not a regular file; fleet reads and writes only regular files there"
    );
}
