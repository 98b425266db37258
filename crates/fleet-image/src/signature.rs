//! OpenPGP detached signatures: the keys fleet trusts (Fedora's, shipped in `keys/`, or a file the
//! user names) and the check that a download was signed by one of them.

use std::io::{BufReader, Read};
use std::path::Path;

use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{PublicKey, PublicSubkey, Signature, SignatureType};
use pgp::types::KeyDetails;

use crate::error::{ImageError, SignatureProblem};
use crate::files::read_regular_file;

/// Fedora's current signing keys, as coreos-installer ships them (`keys/README.md` says where they
/// come from and how to rotate them). Fedora CoreOS artefacts are signed with the key of the Fedora
/// release they are built from; three releases cover stable, testing and next.
const FEDORA_KEYS: [(&str, &[u8]); 3] = [
    (
        "fedora-43-primary",
        include_bytes!("../keys/fedora-43-primary.asc"),
    ),
    (
        "fedora-44-primary",
        include_bytes!("../keys/fedora-44-primary.asc"),
    ),
    (
        "fedora-45-primary",
        include_bytes!("../keys/fedora-45-primary.asc"),
    ),
];

/// A trusted-keys file larger than this is not a keyring (Fedora's keys are 1.7 KiB each).
const MAX_KEYS_FILE_BYTES: u64 = 4 << 20;

/// A detached signature larger than this is not one (Fedora's are 566 bytes).
pub(crate) const MAX_SIGNATURE_BYTES: u64 = 64 << 10;

/// The OpenPGP certificates a signature may come from.
#[derive(Debug, Clone)]
pub struct TrustedKeys {
    origin: String,
    certificates: Vec<SignedPublicKey>,
}

impl TrustedKeys {
    /// The Fedora signing keys shipped with fleet.
    pub fn fedora() -> Result<Self, ImageError> {
        let mut certificates = Vec::new();
        for (name, armored) in FEDORA_KEYS {
            certificates.extend(parse_certificates(armored, name)?);
        }
        Ok(Self {
            origin: "shipped with fleet".to_owned(),
            certificates,
        })
    }

    /// The keys in `path` instead of Fedora's: one or more public keys, ASCII-armored (blocks may
    /// follow one another, as in coreos-installer's key file) or binary (a `gpg --export`).
    pub fn from_file(path: &Path) -> Result<Self, ImageError> {
        let origin = path.display().to_string();
        let bytes = read_regular_file(path, MAX_KEYS_FILE_BYTES).map_err(|error| match error {
            ImageError::TooLarge { limit, .. } => ImageError::TrustedKeys {
                origin: origin.clone(),
                problem: format!("is larger than {limit} bytes; it should hold public keys only"),
            },
            other => other,
        })?;
        Self::from_bytes(&bytes, &origin)
    }

    /// The keys in `bytes`; `origin` names them in messages.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Self, ImageError> {
        let certificates = parse_certificates(bytes, origin)?;
        Ok(Self {
            origin: origin.to_owned(),
            certificates,
        })
    }

    /// The fingerprints of the trusted primary keys, uppercase hex.
    pub fn fingerprints(&self) -> Vec<String> {
        self.certificates
            .iter()
            .map(|certificate| fingerprint(&certificate.primary_key))
            .collect()
    }

    /// Where the keys came from: "shipped with fleet" or the file's path.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Checks that `signature` (armored or binary) is a valid detached signature over everything
    /// `data` yields, by one of these keys. Returns the signing key's fingerprint.
    #[cfg(test)]
    pub(crate) fn verify(
        &self,
        signature: &[u8],
        data: impl Read,
    ) -> Result<String, SignatureProblem> {
        self.prepare(signature)?.verify(data)
    }

    /// Reads `signature` and finds the trusted key that made it, before the data it covers is
    /// downloaded: a signature nobody trusts fails a pull before the large download starts.
    pub(crate) fn prepare(
        &self,
        signature: &[u8],
    ) -> Result<PreparedSignature<'_>, SignatureProblem> {
        let signature = parse_signature(signature)?;
        let signer = self.signing_key_for(&signature)?;
        Ok(PreparedSignature { signature, signer })
    }

    /// The one trusted key the signature says it was made by: a primary key, or a subkey whose
    /// binding allows signing, of a certificate its owner has not revoked.
    fn signing_key_for(&self, signature: &Signature) -> Result<Signer<'_>, SignatureProblem> {
        let issuer_ids = signature.issuer_key_id();
        let issuer_fingerprints = signature.issuer_fingerprint();
        let made_by = |key: &dyn KeyDetails| {
            issuer_fingerprints.contains(&&key.fingerprint())
                || issuer_ids.contains(&&key.legacy_key_id())
        };
        for certificate in &self.certificates {
            let signer = if made_by(&certificate.primary_key) {
                Signer::Primary(&certificate.primary_key)
            } else if let Some(subkey) = certificate.public_subkeys.iter().find(|subkey| {
                let may_sign = subkey
                    .signatures
                    .iter()
                    .any(|binding| binding.key_flags().sign());
                may_sign && made_by(&subkey.key)
            }) {
                Signer::Subkey(&subkey.key)
            } else {
                continue;
            };
            if is_revoked(certificate) {
                return Err(SignatureProblem::RevokedSigner {
                    signer: fingerprint(&certificate.primary_key),
                });
            }
            return Ok(signer);
        }
        let issuers = if issuer_fingerprints.is_empty() {
            issuer_ids.iter().map(|id| upper_hex(id.as_ref())).collect()
        } else {
            issuer_fingerprints
                .iter()
                .map(|fingerprint| format!("{fingerprint:X}"))
                .collect()
        };
        Err(SignatureProblem::UntrustedSigner {
            issuers,
            trusted: self.fingerprints(),
        })
    }
}

/// A well-formed signature by a trusted key, not yet checked against its data.
#[derive(Debug)]
pub(crate) struct PreparedSignature<'keys> {
    signature: Signature,
    signer: Signer<'keys>,
}

impl PreparedSignature<'_> {
    /// Checks the signature over everything `data` yields; returns the signer's fingerprint.
    pub(crate) fn verify(&self, data: impl Read) -> Result<String, SignatureProblem> {
        let checked = match self.signer {
            Signer::Primary(key) => self.signature.verify(key, data),
            Signer::Subkey(key) => self.signature.verify(key, data),
        };
        checked.map_err(|error| SignatureProblem::Invalid {
            signer: self.signer.fingerprint(),
            reason: error.to_string(),
        })?;
        Ok(self.signer.fingerprint())
    }
}

/// The trusted key a signature was made by.
#[derive(Debug, Clone, Copy)]
enum Signer<'keys> {
    Primary(&'keys PublicKey),
    Subkey(&'keys PublicSubkey),
}

impl Signer<'_> {
    fn fingerprint(self) -> String {
        match self {
            Self::Primary(key) => fingerprint(key),
            Self::Subkey(key) => fingerprint(key),
        }
    }
}

fn upper_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02X}")).collect()
}

fn fingerprint(key: &impl KeyDetails) -> String {
    format!("{:X}", key.fingerprint())
}

/// A certificate whose own key revoked it is no longer trusted, whoever listed it.
fn is_revoked(certificate: &SignedPublicKey) -> bool {
    certificate
        .details
        .revocation_signatures
        .iter()
        .any(|revocation| revocation.verify_key(&certificate.primary_key).is_ok())
}

fn parse_signature(bytes: &[u8]) -> Result<Signature, SignatureProblem> {
    let (detached, _headers) = DetachedSignature::from_reader_single(BufReader::new(bytes))
        .map_err(|error| SignatureProblem::Malformed(error.to_string()))?;
    let signature = detached.signature;
    if signature.typ() != Some(SignatureType::Binary) {
        return Err(SignatureProblem::Malformed(format!(
            "it is a {:?} signature, not a signature of a binary document",
            signature.typ()
        )));
    }
    if signature.issuer_key_id().is_empty() && signature.issuer_fingerprint().is_empty() {
        return Err(SignatureProblem::Malformed(
            "it names no issuing key".to_owned(),
        ));
    }
    match signature.hash_alg() {
        Some(
            HashAlgorithm::Sha256
            | HashAlgorithm::Sha384
            | HashAlgorithm::Sha512
            | HashAlgorithm::Sha224
            | HashAlgorithm::Sha3_256
            | HashAlgorithm::Sha3_512,
        ) => Ok(signature),
        other => Err(SignatureProblem::Malformed(format!(
            "it uses hash {other:?}, which is too weak to trust"
        ))),
    }
}

/// Parses every public key in `bytes`: binary packets, or one or more armored blocks with
/// anything (comments, blank lines) between them.
fn parse_certificates(bytes: &[u8], origin: &str) -> Result<Vec<SignedPublicKey>, ImageError> {
    let problem = |problem: String| ImageError::TrustedKeys {
        origin: origin.to_owned(),
        problem,
    };
    let mut certificates = Vec::new();
    let mut add = |parsed: pgp::errors::Result<
        Box<dyn Iterator<Item = pgp::errors::Result<SignedPublicKey>> + '_>,
    >|
     -> Result<(), ImageError> {
        let parsed =
            parsed.map_err(|error| problem(format!("is not OpenPGP public key data: {error}")))?;
        for certificate in parsed {
            let certificate = certificate
                .map_err(|error| problem(format!("holds a key that does not parse: {error}")))?;
            certificate.verify_bindings().map_err(|error| {
                problem(format!(
                    "key {} has an invalid self-signature: {error}",
                    fingerprint(&certificate.primary_key)
                ))
            })?;
            certificates.push(certificate);
        }
        Ok(())
    };
    match armored_blocks(bytes) {
        Some(blocks) => {
            for block in blocks {
                add(SignedPublicKey::from_armor_many_buf(BufReader::new(block))
                    .map(|(keys, _)| keys))?;
            }
        }
        None => add(SignedPublicKey::from_bytes_many(BufReader::new(bytes)))?,
    }
    if certificates.is_empty() {
        return Err(problem("holds no public key".to_owned()));
    }
    Ok(certificates)
}

/// The armored blocks of `bytes` (each from its BEGIN line to its END line), or `None` when the
/// data is binary.
fn armored_blocks(bytes: &[u8]) -> Option<Vec<&[u8]>> {
    const BEGIN: &[u8] = b"-----BEGIN PGP ";
    const END: &[u8] = b"-----END PGP ";
    let first = find(bytes, BEGIN)?;
    if !bytes[..first].iter().all(u8::is_ascii) {
        return None;
    }
    let mut blocks = Vec::new();
    let mut rest = &bytes[first..];
    while let Some(start) = find(rest, BEGIN) {
        let block = &rest[start..];
        let end = find(block, END).map_or(block.len(), |end| {
            end + block[end..]
                .iter()
                .position(|&byte| byte == b'\n')
                .map_or(block.len() - end, |newline| newline + 1)
        });
        blocks.push(&block[..end]);
        rest = &block[end..];
    }
    Some(blocks)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fingerprints Fedora publishes for these keys (and `gpg --show-keys` prints for the
    /// files in `keys/`).
    const FEDORA_FINGERPRINTS: [&str; 3] = [
        "C6E7F081CF80E13146676E88829B606631645531",
        "36F612DCF27F7D1A48A835E4DBFCF71C6D9F90A6",
        "4F50A6114CD5C6976A7F1179655A4B02F577861E",
    ];

    #[test]
    fn the_shipped_fedora_keys_parse_with_their_published_fingerprints() {
        let keys = TrustedKeys::fedora().unwrap();
        assert_eq!(keys.fingerprints(), FEDORA_FINGERPRINTS);
        assert_eq!(keys.origin(), "shipped with fleet");
    }

    #[test]
    fn armored_blocks_may_follow_one_another_in_one_file() {
        let mut file = b"Fedora's keys, one after the other\n\n".to_vec();
        for (_, armored) in FEDORA_KEYS {
            file.extend_from_slice(armored);
            file.push(b'\n');
        }
        let keys = TrustedKeys::from_bytes(&file, "keys.asc").unwrap();
        assert_eq!(keys.fingerprints(), FEDORA_FINGERPRINTS);
    }

    /// rPGP checks RSA signatures made by GnuPG, the signer Fedora uses (see tests/data/gpg/README.md).
    #[test]
    fn a_gnupg_rsa_signature_verifies_and_a_changed_byte_does_not() {
        let keys = TrustedKeys::from_bytes(
            include_bytes!("../tests/data/gpg/rsa-test-key.pub.asc"),
            "rsa-test-key.pub.asc",
        )
        .unwrap();
        let data = include_bytes!("../tests/data/gpg/signed.txt");
        for signature in [
            &include_bytes!("../tests/data/gpg/signed.txt.sig")[..],
            &include_bytes!("../tests/data/gpg/signed.txt.asc")[..],
        ] {
            let signer = keys.verify(signature, &data[..]).unwrap();
            assert_eq!(signer, keys.fingerprints()[0]);
            let mut changed = data.to_vec();
            changed[0] ^= 1;
            assert!(matches!(
                keys.verify(signature, &changed[..]),
                Err(SignatureProblem::Invalid { .. })
            ));
        }
        let fedora = TrustedKeys::fedora().unwrap();
        assert!(matches!(
            fedora.verify(
                include_bytes!("../tests/data/gpg/signed.txt.sig"),
                &data[..]
            ),
            Err(SignatureProblem::UntrustedSigner { .. })
        ));
    }

    #[test]
    fn what_is_not_a_key_or_a_signature_is_said_so() {
        let error = TrustedKeys::from_bytes(b"not a key", "keys.asc").unwrap_err();
        assert!(
            error.to_string().starts_with("trusted keys keys.asc: "),
            "{error}"
        );
        let keys = TrustedKeys::fedora().unwrap();
        assert!(matches!(
            keys.verify(b"garbage", &b"data"[..]),
            Err(SignatureProblem::Malformed(_))
        ));
    }

    /// Keys and signatures come from files and servers fleet does not control: damaged ones
    /// are errors, never panics, and a damaged signature never verifies.
    mod hostile_input {
        use super::*;
        use proptest::prelude::*;

        const KEY: &[u8] = include_bytes!("../tests/data/gpg/rsa-test-key.pub.asc");
        const SIGNATURE: &[u8] = include_bytes!("../tests/data/gpg/signed.txt.sig");
        const DATA: &[u8] = include_bytes!("../tests/data/gpg/signed.txt");

        fn damaged(original: &[u8], flips: &[(usize, u8)]) -> Vec<u8> {
            let mut bytes = original.to_vec();
            for &(index, mask) in flips {
                let index = index % bytes.len();
                bytes[index] ^= mask.max(1);
            }
            bytes
        }

        proptest! {
            // Each case checks an RSA-4096 signature in a debug build: keep the count modest.
            #![proptest_config(ProptestConfig::with_cases(48))]

            #[test]
            fn arbitrary_bytes_are_no_keys_and_no_signature(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
                let _ = TrustedKeys::from_bytes(&bytes, "arbitrary");
                let keys = TrustedKeys::from_bytes(KEY, "key").unwrap();
                prop_assert!(keys.verify(&bytes, DATA).is_err());
            }

            #[test]
            fn a_damaged_key_parses_or_fails_cleanly(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4)) {
                let _ = TrustedKeys::from_bytes(&damaged(KEY, &flips), "damaged");
            }

            #[test]
            fn a_damaged_signature_never_verifies(flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..4)) {
                let keys = TrustedKeys::from_bytes(KEY, "key").unwrap();
                let signature = damaged(SIGNATURE, &flips);
                // Flipping bits of unhashed subpackets can leave a valid signature; the
                // verified bytes must then be the original's signature material.
                if let Ok(signer) = keys.verify(&signature, DATA) {
                    prop_assert_eq!(signer, keys.fingerprints()[0].clone());
                    let original = parse_signature(SIGNATURE).unwrap();
                    let parsed = parse_signature(&signature).unwrap();
                    prop_assert_eq!(format!("{:?}", parsed.signature()), format!("{:?}", original.signature()));
                }
            }
        }
    }
}
