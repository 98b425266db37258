//! `data:` URLs: encoding contents the way upstream Butane chooses (base/util/url.go
//! MakeDataURL), and decoding them the way Ignition reads them (vincent-petithory/dataurl).

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Go's `base64.StdEncoding`: padded, and lenient about unused trailing bits when decoding.
const GO_STD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_encode_padding(true)
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireCanonical),
);

/// A data URL and the `compression` value to write beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataUrl {
    pub url: String,
    /// `Some("")` or `Some("gzip")` when the encoder chose, `None` when the caller had set a
    /// compression already (upstream then leaves the field as the user wrote it).
    pub compression: Option<String>,
}

/// Upstream's choice among `data:,<percent-encoded>`, `data:;base64,<base64>` (when strictly
/// shorter) and gzip + base64 (when `len + 4` is strictly shorter, and only when no compression
/// was given and automatic compression is allowed).
pub fn make_data_url(
    contents: &[u8],
    current_compression: Option<&str>,
    allow_compression: bool,
) -> DataUrl {
    let user_compressed = current_compression.is_some_and(|c| !c.is_empty());
    let mut compression = if user_compressed {
        None
    } else {
        Some(String::new())
    };
    let mut opaque = String::with_capacity(contents.len() + 8);
    opaque.push(',');
    percent_encode_into(&mut opaque, contents);
    let base64_url_len = ";base64,".len() + base64_len(contents.len());
    if base64_url_len < opaque.len() {
        opaque.clear();
        opaque.push_str(";base64,");
        GO_STD.encode_string(contents, &mut opaque);
    }
    if !user_compressed && allow_compression {
        // gzip + base64 is at least 20 + 8 bytes; don't compress when it cannot win.
        let bound = ";base64,".len() + base64_len(20) + "gzip".len();
        if bound < opaque.len() {
            let gzipped = gzip(contents);
            let gz_len = ";base64,".len() + base64_len(gzipped.len() + GO_DEFLATE_SLACK);
            if gz_len + "gzip".len() < opaque.len() {
                opaque.clear();
                opaque.push_str(";base64,");
                GO_STD.encode_string(&gzipped, &mut opaque);
                compression = Some("gzip".to_owned());
            }
        }
    }
    DataUrl {
        url: format!("data:{opaque}"),
        compression,
    }
}

/// Go's compress/flate writes 4 to 7 bytes more than flate2 (zlib-rs, zlib's algorithm, which Go's
/// follows) for the same input at the best level, measured on the corpus: 4 of them are the empty
/// sync-flush block Go's writer ends with. Counting the smallest difference makes the choice of
/// gzip fall where upstream's does, except in the rare cases Go's stream is longer still.
const GO_DEFLATE_SLACK: usize = 4;

/// Butane spec 1.0.0 (Ignition 3.0.0) inline contents: always percent-encoded.
pub fn make_percent_data_url(contents: &[u8]) -> String {
    let mut url = String::with_capacity(contents.len() + 8);
    url.push_str("data:,");
    percent_encode_into(&mut url, contents);
    url
}

fn base64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// zlib's window sizes, as powers of two: 2^9 to 2^15 (32 KiB, the full window Go uses).
const WINDOW_BITS: std::ops::RangeInclusive<u8> = 9..=15;

/// zlib's lookahead (`MIN_LOOKAHEAD`: the longest match, 258, plus the minimum, 3, plus 1): matches
/// reach back at most the window size minus this.
const ZLIB_LOOKAHEAD: usize = 262;

/// The smallest window in which every match a full window would find is still in reach: the
/// stream is the same (a test checks), but a small input no longer pays for zeroing 128 KiB of
/// window and chain table, a tenth of a short `fleet butane` process.
fn window_bits_for(len: usize) -> u8 {
    let needed = len.saturating_add(ZLIB_LOOKAHEAD);
    WINDOW_BITS
        .clone()
        .find(|bits| 1_usize << bits >= needed)
        .unwrap_or(*WINDOW_BITS.end())
}

thread_local! {
    /// One deflate state per thread and window size, reset between uses: a fresh one allocates and
    /// zeroes up to hundreds of kilobytes, which would dominate translating small files.
    static DEFLATE: std::cell::RefCell<[Option<flate2::Compress>; 7]> =
        const { std::cell::RefCell::new([None, None, None, None, None, None, None]) };
}

/// gzip at the best compression level with Go's header (no name, mtime 0, XFL 2, OS 255).
fn gzip(contents: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(contents.len() / 2 + 64);
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 0xff]);
    let bits = window_bits_for(contents.len());
    deflate_into(contents, bits, &mut out);
    let mut crc = flate2::Crc::new();
    crc.update(contents);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out.extend_from_slice(&(contents.len() as u32).to_le_bytes());
    out
}

/// Raw deflate of `contents` at the best level with a 2^`bits` window, appended to `out`.
fn deflate_into(contents: &[u8], bits: u8, out: &mut Vec<u8>) {
    DEFLATE.with(|cell| {
        let mut slots = cell.borrow_mut();
        let slot = &mut slots[usize::from(bits - WINDOW_BITS.start())];
        let compress = slot.get_or_insert_with(|| {
            flate2::Compress::new_with_window_bits(flate2::Compression::best(), false, bits)
        });
        compress.reset();
        let start_in = compress.total_in();
        loop {
            let consumed =
                usize::try_from(compress.total_in() - start_in).unwrap_or(contents.len());
            if out.capacity() - out.len() < 64 {
                out.reserve(contents.len() / 4 + 64);
            }
            match compress.compress_vec(
                &contents[consumed.min(contents.len())..],
                out,
                flate2::FlushCompress::Finish,
            ) {
                Ok(flate2::Status::StreamEnd) => break,
                Ok(_) => {}
                // Compressing into memory does not fail; stop rather than loop.
                Err(_) => break,
            }
        }
    });
}

/// RFC 2396 escaping as vincent-petithory/dataurl's `Escape`: unreserved characters
/// (`A-Za-z0-9-_.!~*'()`) kept, every other byte `%XX` in upper case.
fn percent_encode_into(out: &mut String, data: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in data {
        if b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')'
            )
        {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0xf) as usize] as char);
        }
    }
}

/// A decoded data URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedDataUrl {
    pub media_type: String,
    pub base64: bool,
    pub data: Vec<u8>,
}

/// Decode a `data:` URL as vincent-petithory/dataurl's `DecodeString` does; the error text is
/// that library's.
pub fn decode_data_url(url: &str) -> Result<DecodedDataUrl, String> {
    let rest = url
        .strip_prefix("data:")
        .ok_or_else(|| "missing data prefix".to_owned())?;
    let bytes = rest.as_bytes();
    let mut i = 0;
    let mut media_type = String::new();
    let mut base64 = false;
    let is_token = |c: u8| {
        c.is_ascii()
            && !c.is_ascii_control()
            && c != b' '
            && !matches!(
                c,
                b'(' | b')'
                    | b'<'
                    | b'>'
                    | b'@'
                    | b','
                    | b';'
                    | b':'
                    | b'\\'
                    | b'"'
                    | b'/'
                    | b'['
                    | b']'
                    | b'?'
                    | b'='
            )
    };
    // media type
    match bytes.first() {
        None => return Err("missing comma before data".to_owned()),
        Some(b';') | Some(b',') => {}
        Some(&c) if is_token(c) => {
            let start = i;
            while i < bytes.len() && bytes[i] != b'/' {
                if !is_token(bytes[i]) {
                    return Err("invalid character for media type".to_owned());
                }
                i += 1;
            }
            if i >= bytes.len() {
                return Err("missing media type slash".to_owned());
            }
            let kind = &rest[start..i];
            let x_token = kind.starts_with("x-") || kind.starts_with("X-");
            let discrete = [
                "text",
                "image",
                "audio",
                "video",
                "application",
                "message",
                "multipart",
            ]
            .iter()
            .any(|p| kind.starts_with(p));
            if !x_token && !discrete {
                return Err("invalid media type".to_owned());
            }
            i += 1;
            let sub_start = i;
            while i < bytes.len() && bytes[i] != b';' && bytes[i] != b',' {
                if !is_token(bytes[i]) {
                    return Err("invalid character for media subtype".to_owned());
                }
                i += 1;
            }
            if i >= bytes.len() {
                return Err("incomplete media type".to_owned());
            }
            media_type = format!("{kind}/{}", &rest[sub_start..i]);
        }
        Some(_) => return Err("invalid character after data prefix".to_owned()),
    }
    // parameters and the base64 marker
    while i < bytes.len() && bytes[i] == b';' {
        i += 1;
        let start = i;
        match bytes.get(i) {
            None | Some(b'=') | Some(b',') => {
                return Err("unterminated parameter sequence".to_owned());
            }
            Some(&c) if is_token(c) => {}
            Some(_) => return Err("invalid character for parameter attribute".to_owned()),
        }
        while i < bytes.len() && bytes[i] != b'=' && bytes[i] != b',' {
            if !is_token(bytes[i]) {
                return Err("invalid character for parameter attribute".to_owned());
            }
            i += 1;
        }
        if i >= bytes.len() {
            return Err("unterminated parameter sequence".to_owned());
        }
        if bytes[i] == b',' {
            let attribute = &rest[start..i];
            if attribute != "base64" {
                return Err(format!("expected base64, got {attribute}"));
            }
            base64 = true;
            break;
        }
        // '=' then a value, quoted or a token
        i += 1;
        match bytes.get(i) {
            None => return Err("missing comma before data".to_owned()),
            Some(b'"') => {
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => return Err("unclosed quoted string".to_owned()),
                        Some(b'\\') => i += 2,
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(c) if c.is_ascii() => i += 1,
                        Some(_) => return Err("invalid character for parameter value".to_owned()),
                    }
                }
            }
            Some(&c) if is_token(c) => {
                while i < bytes.len() && bytes[i] != b';' && bytes[i] != b',' {
                    if !is_token(bytes[i]) {
                        return Err("invalid character for parameter value".to_owned());
                    }
                    i += 1;
                }
            }
            Some(_) => return Err("invalid character for parameter value".to_owned()),
        }
        match bytes.get(i) {
            None => return Err("missing comma before data".to_owned()),
            Some(b';') | Some(b',') => {}
            Some(_) => return Err("expected semicolon or comma".to_owned()),
        }
    }
    if bytes.get(i) != Some(&b',') {
        return Err(if i >= bytes.len() {
            "missing comma before data".to_owned()
        } else {
            "expected semicolon or comma".to_owned()
        });
    }
    let payload = &rest[i + 1..];
    let data = if base64 {
        if !payload
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=' | b'\n'))
        {
            return Err("invalid data character".to_owned());
        }
        let cleaned: Vec<u8> = payload
            .bytes()
            .filter(|&c| c != b'\n' && c != b'\r')
            .collect();
        GO_STD.decode(&cleaned).map_err(|e| go_base64_error(&e))?
    } else {
        let forbidden = |c: char| {
            !c.is_ascii()
                || c.is_ascii_control()
                || matches!(
                    c,
                    ' ' | '<' | '>' | '#' | '"' | '{' | '}' | '|' | '\\' | '^' | '[' | ']' | '`'
                )
        };
        if payload.chars().any(forbidden) {
            return Err("invalid data character".to_owned());
        }
        percent_decode(payload)?
    };
    Ok(DecodedDataUrl {
        media_type,
        base64,
        data,
    })
}

fn go_base64_error(error: &base64::DecodeError) -> String {
    let offset = match error {
        base64::DecodeError::InvalidByte(offset, _)
        | base64::DecodeError::InvalidLastSymbol(offset, _) => *offset,
        base64::DecodeError::InvalidLength(len) => *len,
        base64::DecodeError::InvalidPadding => 0,
    };
    format!("illegal base64 data at input byte {offset}")
}

fn percent_decode(s: &str) -> Result<Vec<u8>, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = |j: usize| -> Result<u8, String> {
                let c = *bytes
                    .get(j)
                    .ok_or_else(|| "rfc2396: unexpected end of unescape sequence".to_owned())?;
                (c as char)
                    .to_digit(16)
                    .map(|d| d as u8)
                    .ok_or_else(|| "rfc2396: invalid char 0x25 in unescape sequence".to_owned())
            };
            let high = hex(i + 1)?;
            let low = hex(i + 2)?;
            out.push(high * 16 + low);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// Decode the contents behind a data URL as Ignition would write them, un-gzipping when
/// `compression` is `gzip`. Used by tests and by tools comparing configs.
pub fn data_url_contents(url: &str, compression: Option<&str>) -> Result<Vec<u8>, String> {
    let decoded = decode_data_url(url)?;
    if compression == Some("gzip") {
        use std::io::Read as _;
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(decoded.data.as_slice())
            .read_to_end(&mut out)
            .map_err(|e| format!("gzip: {e}"))?;
        Ok(out)
    } else {
        Ok(decoded.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deflate with the full 32 KiB window, as before the window was sized to the input.
    fn deflate_full_window(contents: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        deflate_into(contents, *WINDOW_BITS.end(), &mut out);
        out
    }

    fn deflate_sized_window(contents: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        deflate_into(contents, window_bits_for(contents.len()), &mut out);
        out
    }

    #[test]
    fn the_window_grows_with_the_input_up_to_zlibs_largest() {
        assert_eq!(window_bits_for(0), 9);
        assert_eq!(window_bits_for(512 - ZLIB_LOOKAHEAD), 9);
        assert_eq!(window_bits_for(512 - ZLIB_LOOKAHEAD + 1), 10);
        assert_eq!(window_bits_for(20_000), 15);
        assert_eq!(window_bits_for(usize::MAX), 15);
    }

    #[test]
    fn a_window_sized_to_the_input_gives_the_full_windows_stream() {
        // Repetitive text with matches at every distance, around every window boundary.
        let line = b"key.alpha = 1\nkey.beta = twenty-two\n[section]\nvalue = 0x7f\n";
        for len in [
            0, 1, 57, 250, 251, 252, 300, 760, 1_000, 1_786, 3_000, 7_900, 16_000, 40_000,
        ] {
            let contents: Vec<u8> = line.iter().copied().cycle().take(len).collect();
            assert_eq!(
                deflate_sized_window(&contents),
                deflate_full_window(&contents),
                "{len} bytes"
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        #[test]
        fn any_input_deflates_the_same_in_its_sized_window(
            contents in proptest::collection::vec(proptest::prop_oneof![
                proptest::prelude::Just(b'a'), proptest::prelude::Just(b'b'), proptest::prelude::Just(b'\n'),
                proptest::prelude::any::<u8>(),
            ], 0..9_000)
        ) {
            proptest::prop_assert_eq!(deflate_sized_window(&contents), deflate_full_window(&contents));
        }
    }

    #[test]
    fn percent_wins_for_plain_text() {
        let url = make_data_url(b"fleet-node-01", None, true);
        assert_eq!(url.url, "data:,fleet-node-01");
        assert_eq!(url.compression.as_deref(), Some(""));
        assert_eq!(make_data_url(b"", None, true).url, "data:,");
        assert_eq!(
            make_data_url(b"hello-world_v1.2~(ok)!*'", None, true).url,
            "data:,hello-world_v1.2~(ok)!*'"
        );
    }

    #[test]
    fn base64_wins_when_strictly_shorter() {
        let text = "Grüße aus Köln — ☃ ✓ 日本語\n";
        let url = make_data_url(text.as_bytes(), None, true);
        assert_eq!(
            url.url,
            "data:;base64,R3LDvMOfZSBhdXMgS8O2bG4g4oCUIOKYgyDinJMg5pel5pys6KqeCg=="
        );
        // "ab\n": percent ",ab%0A" (6) vs ";base64,YWIK" (12): percent stays.
        assert_eq!(make_data_url(b"ab\n", None, true).url, "data:,ab%0A");
    }

    #[test]
    fn gzip_wins_for_repetitive_text_unless_disabled_or_user_compressed() {
        let text = "key.alpha = 1\n".repeat(12);
        let url = make_data_url(text.as_bytes(), None, true);
        assert_eq!(url.compression.as_deref(), Some("gzip"));
        assert!(url.url.starts_with("data:;base64,H4sIAAAAAAAC/"));
        assert_eq!(
            data_url_contents(&url.url, Some("gzip")).unwrap(),
            text.as_bytes()
        );
        let plain = make_data_url(text.as_bytes(), None, false);
        assert_eq!(plain.compression.as_deref(), Some(""));
        assert!(plain.url.starts_with("data:;base64,a2V5"));
        let user = make_data_url(text.as_bytes(), Some("gzip"), true);
        assert_eq!(user.compression, None);
        assert!(!user.url.contains("H4sI"));
    }

    #[test]
    fn decodes_like_the_dataurl_library() {
        assert_eq!(decode_data_url("data:,a%20b").unwrap().data, b"a b");
        assert_eq!(decode_data_url("data:;base64,YWI=").unwrap().data, b"ab");
        assert_eq!(
            decode_data_url("data:text/plain;charset=utf-8,x")
                .unwrap()
                .media_type,
            "text/plain"
        );
        assert!(decode_data_url("data:text/plain").is_err());
        assert!(decode_data_url("data:,a b").is_err());
        assert!(decode_data_url("data:,%zz").is_err());
        assert!(decode_data_url("data:;base64,YWI").is_err());
        assert!(decode_data_url("data:foo/bar,x").is_err());
    }
}
