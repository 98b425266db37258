//! SHA-256 digests as stream metadata writes them (64 lowercase hex digits), and a reader and a
//! writer that hash what passes through them, so a file is read once for every check.

use std::fmt;
use std::io::{self, Read, Write};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A SHA-256 digest, kept as the 64 lowercase hexadecimal digits stream metadata uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sha256Digest(String);

impl Sha256Digest {
    /// Accepts 64 hexadecimal digits in either case; `None` for anything else.
    pub fn from_hex(text: &str) -> Option<Self> {
        (text.len() == 64 && text.bytes().all(|byte| byte.is_ascii_hexdigit()))
            .then(|| Self(text.to_ascii_lowercase()))
    }

    pub fn as_hex(&self) -> &str {
        &self.0
    }

    fn of(hasher: Sha256) -> Self {
        let digest = hasher.finalize();
        let mut hex = String::with_capacity(64);
        for byte in digest {
            hex.push(char::from(HEX_DIGITS[usize::from(byte >> 4)]));
            hex.push(char::from(HEX_DIGITS[usize::from(byte & 0x0f)]));
        }
        Self(hex)
    }
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

impl fmt::Display for Sha256Digest {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl TryFrom<String> for Sha256Digest {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        Self::from_hex(&text).ok_or_else(|| format!("{text:?} is not a sha256 (64 hex digits)"))
    }
}

impl From<Sha256Digest> for String {
    fn from(digest: Sha256Digest) -> Self {
        digest.0
    }
}

/// Hashes every byte read through it.
pub(crate) struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> HashingReader<R> {
    pub(crate) fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
        }
    }

    /// Reads what the consumer left unread, so the digest covers the whole input whatever the
    /// consumer stopped at (a signature check may give up before the end).
    pub(crate) fn finish(mut self) -> io::Result<(Sha256Digest, R)> {
        io::copy(&mut self, &mut io::sink())?;
        Ok((Sha256Digest::of(self.hasher), self.inner))
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        let read = self.inner.read(buffer)?;
        self.hasher.update(&buffer[..read]);
        Ok(read)
    }
}

/// Hashes every byte written through it.
#[derive(Debug)]
pub(crate) struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    bytes: u64,
}

impl<W: Write> HashingWriter<W> {
    pub(crate) fn new(inner: W) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            bytes: 0,
        }
    }

    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    pub(crate) fn finish(self) -> (W, Sha256Digest) {
        (self.inner, Sha256Digest::of(self.hasher))
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buffer: &[u8]) -> io::Result<usize> {
        let written = self.inner.write(buffer)?;
        self.hasher.update(&buffer[..written]);
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The digest of "abc" from FIPS 180-2, appendix B.1.
    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn reader_and_writer_hash_what_passes() {
        let mut reader = HashingReader::new(&b"abc"[..]);
        let mut first = [0];
        reader.read_exact(&mut first).unwrap();
        let (digest, rest) = reader.finish().unwrap();
        assert_eq!((digest.as_hex(), rest), (ABC, &b""[..]));

        let mut writer = HashingWriter::new(Vec::new());
        writer.write_all(b"abc").unwrap();
        let (written, digest) = writer.finish();
        assert_eq!((written.as_slice(), digest.as_hex()), (&b"abc"[..], ABC));
    }

    #[test]
    fn only_64_hex_digits_are_a_digest() {
        assert_eq!(
            Sha256Digest::from_hex(&ABC.to_ascii_uppercase())
                .unwrap()
                .as_hex(),
            ABC
        );
        assert!(Sha256Digest::from_hex(&ABC[1..]).is_none());
        assert!(Sha256Digest::from_hex(&format!("{}g", &ABC[1..])).is_none());
    }
}
