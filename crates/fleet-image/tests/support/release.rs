//! A fixture release signed by a test key made here: a small "image", its `.qcow2.xz`, detached
//! signatures, stream metadata built from `tests/data/stream.json`, and the server routes that
//! publish them the way Fedora lays them out.

use std::io::Read;
use std::path::{Path, PathBuf};

use fleet_image::{Destination, ProxySetting, PullOptions, Timeouts, TrustedKeys};
use pgp::composed::{
    ArmorOptions, DetachedSignature, EncryptionCaps, KeyType, SecretKeyParamsBuilder,
    SignedPublicKey, SignedSecretKey, SubkeyParamsBuilder,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::ser::Serialize;
use pgp::types::Password;
use sha2::{Digest, Sha256};

use super::server::{Behaviour, Server};

pub(crate) const RELEASE: &str = "43.20261115.3.0";
pub(crate) const ARTEFACT: &str = "fedora-coreos-43.20261115.3.0-qemu.x86_64.qcow2.xz";
pub(crate) const STREAM_PATH: &str = "/streams/stable.json";
pub(crate) const ARTEFACT_PATH: &str = "/prod/fedora-coreos-43.20261115.3.0-qemu.x86_64.qcow2.xz";
pub(crate) const SIGNATURE_PATH: &str =
    "/prod/fedora-coreos-43.20261115.3.0-qemu.x86_64.qcow2.xz.sig";

/// A signing key made for one test run.
pub(crate) struct TestKey {
    pub(crate) secret: SignedSecretKey,
}

/// Which key of a [`TestKey`] makes signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signer {
    /// The primary key, as Fedora's keys sign.
    Primary,
    /// A subkey bound for signing, the primary key only certifying, as many mirrors' keys are made.
    Subkey,
}

impl TestKey {
    /// An Ed25519 key that signs with its primary key, as Fedora's keys do.
    pub(crate) fn generate(name: &str) -> Self {
        Self::generate_signing_with(name, Signer::Primary)
    }

    pub(crate) fn generate_signing_with(name: &str, signer: Signer) -> Self {
        let mut params = SecretKeyParamsBuilder::default();
        params
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(signer == Signer::Primary)
            .can_encrypt(EncryptionCaps::None)
            .primary_user_id(format!("{name} <{name}@example.invalid>"));
        if signer == Signer::Subkey {
            let mut subkey = SubkeyParamsBuilder::default();
            subkey
                .key_type(KeyType::Ed25519Legacy)
                .can_sign(true)
                .can_encrypt(EncryptionCaps::None)
                .can_authenticate(false);
            params.subkeys(vec![subkey.build().expect("subkey parameters")]);
        }
        let secret = params
            .build()
            .expect("key parameters")
            .generate(rand::thread_rng())
            .expect("key generation");
        Self { secret }
    }

    pub(crate) fn public_armored(&self) -> Vec<u8> {
        SignedPublicKey::from(self.secret.clone())
            .to_armored_bytes(ArmorOptions::default())
            .expect("armor")
    }

    /// The public key with a revocation by itself attached, as `gpg --gen-revoke` makes one.
    pub(crate) fn public_armored_revoked(&self) -> Vec<u8> {
        use pgp::packet::{SignatureConfig, SignatureType, Subpacket, SubpacketData};
        use pgp::types::{KeyDetails, Timestamp};
        let primary = &self.secret.primary_key;
        let mut config = SignatureConfig::v4(
            SignatureType::KeyRevocation,
            primary.algorithm(),
            HashAlgorithm::Sha256,
        );
        config.hashed_subpackets = vec![
            Subpacket::regular(SubpacketData::SignatureCreationTime(Timestamp::now())).unwrap(),
            Subpacket::regular(SubpacketData::IssuerFingerprint(primary.fingerprint())).unwrap(),
        ];
        let revocation = config
            .sign_key(primary, &Password::empty(), primary.public_key())
            .expect("revocation");
        let mut public = SignedPublicKey::from(self.secret.clone());
        public.details.revocation_signatures.push(revocation);
        public
            .to_armored_bytes(ArmorOptions::default())
            .expect("armor")
    }

    pub(crate) fn fingerprint(&self) -> String {
        use pgp::types::KeyDetails;
        format!("{:X}", self.secret.primary_key.fingerprint())
    }

    /// A binary detached signature over `data` by the primary key.
    pub(crate) fn sign(&self, data: &[u8]) -> Vec<u8> {
        self.sign_with(Signer::Primary, data)
    }

    /// A binary detached signature over `data` by the primary key or the first subkey.
    pub(crate) fn sign_with(&self, signer: Signer, data: &[u8]) -> Vec<u8> {
        let signature = match signer {
            Signer::Primary => DetachedSignature::sign_binary_data(
                rand::thread_rng(),
                &self.secret.primary_key,
                &Password::empty(),
                HashAlgorithm::Sha256,
                data,
            ),
            Signer::Subkey => DetachedSignature::sign_binary_data(
                rand::thread_rng(),
                &self.secret.secret_subkeys[0].key,
                &Password::empty(),
                HashAlgorithm::Sha256,
                data,
            ),
        };
        signature
            .expect("signing")
            .to_bytes()
            .expect("signature bytes")
    }
}

/// The image and its compressed form, as one release publishes them.
pub(crate) struct Release {
    pub(crate) image: Vec<u8>,
    pub(crate) compressed: Vec<u8>,
}

impl Release {
    /// 256 KiB that xz cannot shrink much, so the download is long enough to cut in half.
    pub(crate) fn new() -> Self {
        let mut image = b"QFI\xfb\x00\x00\x00\x03".to_vec();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        while image.len() < 256 << 10 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            image.extend_from_slice(&state.to_le_bytes());
        }
        let compressed = liblzma::encode_all(&image[..], 1).expect("xz");
        Self { image, compressed }
    }

    pub(crate) fn sha256(&self) -> String {
        hex(&self.compressed)
    }

    pub(crate) fn uncompressed_sha256(&self) -> String {
        hex(&self.image)
    }
}

pub(crate) fn hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// `tests/data/stream.json` with its artefact under `server`'s `/prod/` and these checksums.
pub(crate) fn stream_json(server: &Server, sha256: &str, uncompressed_sha256: &str) -> Vec<u8> {
    include_str!("../data/stream.json")
        .replace("{BASE}", &format!("{}/prod", server.url()))
        .replace("{SHA256}", sha256)
        .replace("{UNCOMPRESSED_SHA256}", uncompressed_sha256)
        .into_bytes()
}

/// A server publishing `release` signed by `key`, correctly.
pub(crate) fn publish(server: &Server, release: &Release, key: &TestKey) {
    server.route(
        STREAM_PATH,
        stream_json(server, &release.sha256(), &release.uncompressed_sha256()),
        Behaviour::Normal,
    );
    server.route(ARTEFACT_PATH, release.compressed.clone(), Behaviour::Normal);
    server.route(
        SIGNATURE_PATH,
        key.sign(&release.compressed),
        Behaviour::Normal,
    );
}

/// A server publishing a correctly signed release, its key trusted by the workspace.
pub(crate) struct Setup {
    pub(crate) server: Server,
    pub(crate) release: Release,
    pub(crate) key: TestKey,
    pub(crate) workspace: Workspace,
}

pub(crate) fn setup() -> Setup {
    let server = Server::start();
    let release = Release::new();
    let key = TestKey::generate("mirror");
    publish(&server, &release, &key);
    let workspace = Workspace::new(&key);
    Setup {
        server,
        release,
        key,
        workspace,
    }
}

/// A test's directories: where the image goes, and the trusted-keys file outside it.
pub(crate) struct Workspace {
    _root: tempfile::TempDir,
    pub(crate) images: PathBuf,
    pub(crate) keys_file: PathBuf,
}

impl Workspace {
    pub(crate) fn new(trusted: &TestKey) -> Self {
        let root = tempfile::tempdir().expect("temporary directory");
        let images = root.path().join("images");
        std::fs::create_dir(&images).expect("images directory");
        let keys_file = root.path().join("trusted.asc");
        std::fs::write(&keys_file, trusted.public_armored()).expect("keys file");
        Self {
            _root: root,
            images,
            keys_file,
        }
    }

    pub(crate) fn image_path(&self) -> PathBuf {
        self.images.join("fcos.qcow2")
    }

    pub(crate) fn partial_path(&self) -> PathBuf {
        self.images.join(format!("{ARTEFACT}.partial"))
    }

    /// Options pulling stable from `server` into `images/fcos.qcow2`, trusting the keys file.
    pub(crate) fn options(&self, server: &Server) -> PullOptions {
        let mut options = PullOptions::new(
            "stable",
            Destination::File(self.image_path()),
            TrustedKeys::from_file(&self.keys_file).expect("trusted keys"),
        );
        options.stream_base_url = format!("{}/streams", server.url());
        // The server is on this machine: a proxy in the environment must not see the requests.
        options.proxy = ProxySetting::Direct;
        options.timeouts = Timeouts {
            connect: std::time::Duration::from_secs(10),
            idle: std::time::Duration::from_secs(10),
        };
        options
    }

    /// The names in the images directory, hidden ones (temporary files) included, sorted.
    pub(crate) fn entries(&self) -> Vec<String> {
        entries(&self.images)
    }
}

pub(crate) fn entries(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .expect("read directory")
        .map(|entry| {
            entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

pub(crate) fn read(path: &Path) -> Vec<u8> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|mut file| file.read_to_end(&mut bytes))
        .unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
    bytes
}
