//! Small helpers that reproduce Go behaviour the output depends on.

use std::borrow::Cow;

/// Go's `string(bytes)` as encoding/json then sees it: every byte that is not part of valid
/// UTF-8 becomes U+FFFD (Go replaces per byte, Rust's lossy conversion per sequence).
pub(crate) fn go_lossy_utf8(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            let mut out = String::with_capacity(bytes.len());
            let mut rest = bytes;
            while !rest.is_empty() {
                match std::str::from_utf8(rest) {
                    Ok(s) => {
                        out.push_str(s);
                        break;
                    }
                    Err(e) => {
                        let valid = e.valid_up_to();
                        // Safe: the prefix was just validated.
                        out.push_str(std::str::from_utf8(&rest[..valid]).unwrap_or_default());
                        out.push('\u{fffd}');
                        rest = &rest[valid + 1..];
                    }
                }
            }
            Cow::Owned(out)
        }
    }
}

/// Go's `%q` / `%#v` for a string: double-quoted with Go escapes, printable Unicode kept.
pub(crate) fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() => {
                if (c as u32) <= 0xffff {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lossy_replaces_each_invalid_byte() {
        assert_eq!(go_lossy_utf8(b"a\xff\xfeb"), "a\u{fffd}\u{fffd}b");
        assert_eq!(go_lossy_utf8("ok é".as_bytes()), "ok é");
    }

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote("a\"b\n\u{1}é"), "\"a\\\"b\\n\\x01é\"");
    }
}
