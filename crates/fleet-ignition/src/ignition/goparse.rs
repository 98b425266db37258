//! Parsers whose exact accept/reject behaviour Ignition's validation depends on, written after
//! Go's `net/url.Parse`, `path.Clean` and go-systemd's unit file lexer (`unit.Deserialize`).

/// The parts of a URL Ignition's validation looks at.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct GoUrl {
    pub(crate) scheme: String,
    pub(crate) opaque: String,
    pub(crate) raw_query: String,
}

/// Go's `url.Parse`: `Err` exactly when Go returns an error.
pub(crate) fn parse_url(raw: &str) -> Result<GoUrl, ()> {
    let (without_fragment, fragment) = match raw.split_once('#') {
        Some((a, b)) => (a, Some(b)),
        None => (raw, None),
    };
    let url = parse(without_fragment)?;
    if let Some(fragment) = fragment {
        unescape(fragment, Mode::Fragment)?;
    }
    Ok(url)
}

fn parse(raw: &str) -> Result<GoUrl, ()> {
    if raw.bytes().any(|b| b < b' ' || b == 0x7f) {
        return Err(());
    }
    let mut url = GoUrl::default();
    if raw == "*" {
        return Ok(url);
    }
    let (scheme, rest) = get_scheme(raw)?;
    url.scheme = scheme.to_ascii_lowercase();
    let mut rest = rest;
    if rest.ends_with('?') && rest.matches('?').count() == 1 {
        rest = &rest[..rest.len() - 1];
    } else if let Some((before, query)) = rest.split_once('?') {
        url.raw_query = query.to_owned();
        rest = before;
    }
    if !rest.starts_with('/') {
        if !url.scheme.is_empty() {
            url.opaque = rest.to_owned();
            return Ok(url);
        }
        let segment = rest.split('/').next().unwrap_or("");
        if segment.contains(':') {
            return Err(());
        }
    }
    if (!url.scheme.is_empty() || !rest.starts_with("///")) && rest.starts_with("//") {
        let authority_and_path = &rest[2..];
        let (authority, path) = match authority_and_path.find('/') {
            Some(i) => (&authority_and_path[..i], &authority_and_path[i..]),
            None => (authority_and_path, ""),
        };
        parse_authority(authority)?;
        rest = path;
    }
    unescape(rest, Mode::Path)?;
    Ok(url)
}

fn get_scheme(raw: &str) -> Result<(&str, &str), ()> {
    for (i, c) in raw.bytes().enumerate() {
        match c {
            b'a'..=b'z' | b'A'..=b'Z' => {}
            b'0'..=b'9' | b'+' | b'-' | b'.' => {
                if i == 0 {
                    return Ok(("", raw));
                }
            }
            b':' => {
                if i == 0 {
                    return Err(());
                }
                return Ok((&raw[..i], &raw[i + 1..]));
            }
            _ => return Ok(("", raw)),
        }
    }
    Ok(("", raw))
}

fn parse_authority(authority: &str) -> Result<(), ()> {
    let (userinfo, host) = match authority.rfind('@') {
        Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
        None => (None, authority),
    };
    parse_host(host)?;
    if let Some(userinfo) = userinfo {
        let valid = userinfo.chars().all(|c| {
            c.is_ascii_alphanumeric()
                || matches!(
                    c,
                    '-' | '.'
                        | '_'
                        | ':'
                        | '~'
                        | '!'
                        | '$'
                        | '&'
                        | '\''
                        | '('
                        | ')'
                        | '*'
                        | '+'
                        | ','
                        | ';'
                        | '='
                        | '%'
                        | '@'
                )
        });
        if !valid {
            return Err(());
        }
        match userinfo.split_once(':') {
            None => unescape(userinfo, Mode::UserPassword)?,
            Some((user, password)) => {
                unescape(user, Mode::UserPassword)?;
                unescape(password, Mode::UserPassword)?;
            }
        }
    }
    Ok(())
}

fn valid_optional_port(port: &str) -> bool {
    match port.strip_prefix(':') {
        None => port.is_empty(),
        Some(digits) => digits.bytes().all(|b| b.is_ascii_digit()),
    }
}

fn parse_host(host: &str) -> Result<(), ()> {
    if let Some(inner) = host.strip_prefix('[') {
        let Some(close) = host.rfind(']') else {
            return Err(());
        };
        if !valid_optional_port(&host[close + 1..]) {
            return Err(());
        }
        let literal = &inner[..close - 1];
        let address = match literal.find("%25") {
            Some(zone) => {
                unescape(&host[..zone + 1], Mode::Host)?;
                unescape(&host[zone + 1..close], Mode::Zone)?;
                unescape(&host[close..], Mode::Host)?;
                &literal[..zone]
            }
            None => literal,
        };
        // Newer Go releases accept only IPv6 addresses in brackets.
        if address.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(());
        }
        if literal.contains("%25") {
            return Ok(());
        }
    } else if let Some(i) = host.rfind(':')
        && !valid_optional_port(&host[i..])
    {
        return Err(());
    }
    unescape(host, Mode::Host)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Path,
    Host,
    Zone,
    UserPassword,
    Fragment,
}

fn should_escape(c: u8, mode: Mode) -> bool {
    if c.is_ascii_alphanumeric() {
        return false;
    }
    if matches!(mode, Mode::Host | Mode::Zone)
        && matches!(
            c,
            b'!' | b'$'
                | b'&'
                | b'\''
                | b'('
                | b')'
                | b'*'
                | b'+'
                | b','
                | b';'
                | b'='
                | b':'
                | b'['
                | b']'
                | b'<'
                | b'>'
                | b'"'
        )
    {
        return false;
    }
    match c {
        b'-' | b'_' | b'.' | b'~' => false,
        b'$' | b'&' | b'+' | b',' | b'/' | b':' | b';' | b'=' | b'?' | b'@' => match mode {
            Mode::Path => c == b'?',
            Mode::UserPassword => matches!(c, b'@' | b'/' | b'?' | b':'),
            Mode::Fragment => false,
            _ => true,
        },
        b'!' | b'(' | b')' | b'*' if mode == Mode::Fragment => false,
        _ => true,
    }
}

fn unhex(c: u8) -> u8 {
    (c as char).to_digit(16).unwrap_or(0) as u8
}

/// Go's `unescape`, for its errors only.
fn unescape(s: &str, mode: Mode) -> Result<(), ()> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                if i + 2 >= b.len()
                    || !b[i + 1].is_ascii_hexdigit()
                    || !b[i + 2].is_ascii_hexdigit()
                {
                    return Err(());
                }
                if mode == Mode::Host && unhex(b[i + 1]) < 8 && &s[i..i + 3] != "%25" {
                    return Err(());
                }
                if mode == Mode::Zone {
                    let v = unhex(b[i + 1]) << 4 | unhex(b[i + 2]);
                    if &s[i..i + 3] != "%25" && v != b' ' && should_escape(v, Mode::Host) {
                        return Err(());
                    }
                }
                i += 3;
            }
            c => {
                if matches!(mode, Mode::Host | Mode::Zone) && c < 0x80 && should_escape(c, mode) {
                    return Err(());
                }
                i += 1;
            }
        }
    }
    Ok(())
}

/// Go's `url.Values` lookup of the first value of `key` in a raw query, or None when absent.
pub(crate) fn query_first(raw_query: &str, key: &str) -> Option<String> {
    for pair in raw_query.split('&') {
        if pair.is_empty() || pair.contains(';') {
            continue;
        }
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let Some(k) = query_unescape(k) else {
            continue;
        };
        let Some(v) = query_unescape(v) else {
            continue;
        };
        if k == key {
            return Some(v);
        }
    }
    None
}

fn query_unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                if i + 2 >= b.len()
                    || !b[i + 1].is_ascii_hexdigit()
                    || !b[i + 2].is_ascii_hexdigit()
                {
                    return None;
                }
                out.push(unhex(b[i + 1]) << 4 | unhex(b[i + 2]));
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// Go's `path.Clean`.
pub(crate) fn clean_path(p: &str) -> String {
    if p.is_empty() {
        return ".".to_owned();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|last| *last != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_owned(),
        (false, false) => joined,
    }
}

/// Go's `path.Ext`.
pub(crate) fn path_ext(p: &str) -> &str {
    for (i, c) in p.char_indices().rev() {
        if c == '/' {
            break;
        }
        if c == '.' {
            return &p[i..];
        }
    }
    ""
}

/// Go's `path.Join` of two elements.
pub(crate) fn join_path(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => String::new(),
        (true, false) => clean_path(b),
        (false, true) => clean_path(a),
        (false, false) => clean_path(&format!("{a}/{b}")),
    }
}

// ---- systemd unit files -------------------------------------------------------------------

/// A `bufio.Reader` (4096-byte buffer) over a string, reproduced so that go-systemd's
/// "line too long" check, which looks at how much is buffered, fires at the same places.
struct BufReader<'a> {
    src: &'a [u8],
    /// absolute offsets: buffer holds src[r..w], its first byte is at `start`
    start: usize,
    r: usize,
    w: usize,
    eof: bool,
    last_rune_size: Option<usize>,
}

const BUF_SIZE: usize = 4096;
const LINE_MAX: usize = 2048;

impl<'a> BufReader<'a> {
    fn new(src: &'a [u8]) -> Self {
        Self {
            src,
            start: 0,
            r: 0,
            w: 0,
            eof: false,
            last_rune_size: None,
        }
    }

    fn buffered(&self) -> usize {
        self.w - self.r
    }

    fn fill(&mut self) {
        if self.r > self.start {
            self.start = self.r;
        }
        let room = BUF_SIZE - (self.w - self.start);
        let n = room.min(self.src.len() - self.w);
        if n == 0 {
            self.eof = true;
        }
        self.w += n;
    }

    /// Whether the buffer starts with a whole character (the input is valid UTF-8).
    fn full_rune(&self) -> bool {
        let b = &self.src[self.r..self.w];
        match b.first() {
            None => false,
            Some(&c) => {
                let need = match c {
                    0xc0..=0xdf => 2,
                    0xe0..=0xef => 3,
                    0xf0..=0xf7 => 4,
                    _ => 1,
                };
                b.len() >= need
            }
        }
    }

    fn read_rune(&mut self) -> Option<char> {
        while self.r + 4 > self.w && !self.full_rune() && !self.eof && self.buffered() < BUF_SIZE {
            self.fill();
        }
        self.last_rune_size = None;
        if self.r == self.w {
            return None;
        }
        let rest = &self.src[self.r..self.w];
        let len = match rest[0] {
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf7 => 4,
            _ => 1,
        }
        .min(rest.len());
        let c = std::str::from_utf8(&rest[..len])
            .ok()
            .and_then(|s| s.chars().next())
            .unwrap_or('\u{fffd}');
        self.r += len;
        self.last_rune_size = Some(len);
        Some(c)
    }

    fn unread_rune(&mut self) {
        if let Some(size) = self.last_rune_size.take() {
            self.r -= size;
        }
    }

    /// `ReadBytes(delim)`: the bytes up to and including `delim`, and whether EOF was hit.
    fn read_bytes(&mut self, delim: u8) -> (Vec<u8>, bool) {
        let mut out = Vec::new();
        let mut searched = 0;
        loop {
            if let Some(i) = self.src[self.r + searched..self.w]
                .iter()
                .position(|&c| c == delim)
            {
                let end = self.r + searched + i + 1;
                out.extend_from_slice(&self.src[self.r..end]);
                self.r = end;
                return (out, false);
            }
            if self.eof {
                out.extend_from_slice(&self.src[self.r..self.w]);
                self.r = self.w;
                return (out, true);
            }
            if self.buffered() >= BUF_SIZE {
                out.extend_from_slice(&self.src[self.r..self.w]);
                self.r = self.w;
                searched = 0;
                continue;
            }
            searched = self.buffered();
            self.fill();
        }
    }

    fn peek(&mut self, n: usize) -> &[u8] {
        while self.buffered() < n && self.buffered() < BUF_SIZE && !self.eof {
            self.fill();
        }
        let end = (self.r + n).min(self.w);
        &self.src[self.r..end]
    }
}

#[derive(Clone, Copy)]
enum Step {
    NextSection,
    SectionName,
    SectionSuffix,
    IgnoreLine(bool),
    NextSectionOrOption,
    OptionName,
    OptionValue,
}

/// What Ignition looks at in a parsed unit file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UnitFile {
    /// Some option is in an `[Install]` section.
    pub(crate) has_install: bool,
    pub(crate) options: usize,
}

/// go-systemd's `unit.Deserialize`, for what Ignition checks, or go-systemd's error text.
pub(crate) fn parse_unit(contents: &str) -> Result<UnitFile, String> {
    let mut reader = BufReader::new(contents.as_bytes());
    let mut unit = UnitFile {
        has_install: false,
        options: 0,
    };
    let mut in_install = false;
    let mut value: Vec<u8> = Vec::new();
    let mut step = Step::NextSection;
    loop {
        if reader.buffered() >= LINE_MAX {
            let line = reader.peek(LINE_MAX);
            if !line.iter().any(|&c| c == b'\r' || c == b'\n') {
                return Err(format!("line too long (max {LINE_MAX} bytes)"));
            }
        }
        step = match step {
            Step::NextSection => match reader.read_rune() {
                None => return Ok(unit),
                Some('[') => Step::SectionName,
                Some('#' | ';') => Step::IgnoreLine(false),
                Some(_) => Step::NextSection,
            },
            Step::SectionName => {
                let (bytes, eof) = reader.read_bytes(b']');
                if eof {
                    return Err("unable to find end of section".to_owned());
                }
                in_install = &bytes[..bytes.len() - 1] == b"Install";
                Step::SectionSuffix
            }
            Step::SectionSuffix => {
                let (line, _) = to_eol(&mut reader);
                let garbage = trim_space(&line);
                if !garbage.is_empty() {
                    return Err(format!(
                        "found garbage after section name : {}",
                        crate::go_quote(&String::from_utf8_lossy(garbage))
                    ));
                }
                Step::NextSectionOrOption
            }
            Step::IgnoreLine(in_section) => {
                loop {
                    let (line, _) = to_eol(&mut reader);
                    let line = line.strip_suffix(b" ").unwrap_or(&line);
                    if !line.ends_with(b"\\") {
                        break;
                    }
                }
                if in_section {
                    Step::NextSectionOrOption
                } else {
                    Step::NextSection
                }
            }
            Step::NextSectionOrOption => match reader.read_rune() {
                None => return Ok(unit),
                Some(c) if c.is_whitespace() => Step::NextSectionOrOption,
                Some('[') => Step::SectionName,
                Some('#' | ';') => Step::IgnoreLine(true),
                Some(_) => {
                    reader.unread_rune();
                    Step::OptionName
                }
            },
            Step::OptionName => {
                loop {
                    match reader.read_rune() {
                        None => return Err("EOF".to_owned()),
                        Some('\n' | '\r') => {
                            return Err("unexpected newline encountered while parsing option name"
                                .to_owned());
                        }
                        Some('=') => break,
                        Some(_) => {}
                    }
                }
                value.clear();
                Step::OptionValue
            }
            Step::OptionValue => {
                let (line, eof) = to_eol(&mut reader);
                if !trim_space(&line).is_empty() {
                    value.extend_from_slice(&line);
                    if line.ends_with(b"\\") {
                        if !eof {
                            value.push(b'\n');
                        }
                        continue;
                    }
                }
                unit.options += 1;
                unit.has_install |= in_install;
                Step::NextSectionOrOption
            }
        };
    }
}

fn to_eol(reader: &mut BufReader<'_>) -> (Vec<u8>, bool) {
    let (mut line, eof) = reader.read_bytes(b'\n');
    if line.ends_with(b"\r") {
        line.pop();
    }
    if line.ends_with(b"\n") {
        line.pop();
    }
    (line, eof)
}

/// `bytes.TrimSpace` (the text is valid UTF-8: it was split at ASCII bytes).
fn trim_space(b: &[u8]) -> &[u8] {
    match std::str::from_utf8(b) {
        Ok(s) => s.trim_matches(char::is_whitespace).as_bytes(),
        Err(_) => b.trim_ascii(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_rejected_like_go() {
        assert!(parse_url("http://[::1").is_err());
        assert!(parse_url("https://example.com/x").is_ok());
        assert!(parse_url("http://example.com:80x/").is_err());
        assert!(parse_url("http://exa mple.com/").is_err());
        assert!(parse_url("http://example.com/%zz").is_err());
        assert!(parse_url("://x").is_err());
        assert!(parse_url("data:,x y").is_ok());
        assert!(parse_url("relative/path").is_ok());
        assert!(parse_url("a:b/c").is_ok());
        assert!(parse_url("ab:c").map(|u| u.opaque).as_deref() == Ok("c"));
        assert!(parse_url("http://[fe80::1%25en0]:80/").is_ok());
        assert_eq!(parse_url("S3://b/k?versionId=").unwrap().scheme, "s3");
        assert_eq!(
            query_first("a=1&versionId=", "versionId").as_deref(),
            Some("")
        );
    }

    #[test]
    fn clean_like_go() {
        assert_eq!(clean_path("/a/b/../c/./d/"), "/a/c/d");
        assert_eq!(clean_path("/.."), "/");
        assert_eq!(clean_path("a/../../b"), "../b");
        assert_eq!(clean_path(""), ".");
        assert_eq!(path_ext("foo.service"), ".service");
        assert_eq!(path_ext("a.b/c"), "");
        assert_eq!(join_path("/", "opt/x"), "/opt/x");
    }

    #[test]
    fn unit_parsing_like_go_systemd() {
        let unit =
            parse_unit("[Unit]\nDescription=x\n[Install]\nWantedBy=multi-user.target\n").unwrap();
        assert_eq!(
            unit,
            UnitFile {
                has_install: true,
                options: 2
            }
        );
        assert!(!parse_unit("[Install]\n").unwrap().has_install);
        assert!(parse_unit("[Unit").is_err());
        assert!(parse_unit("[Unit] x\n").is_err());
        assert!(parse_unit("[Unit]\nName\n").is_err());
        assert_eq!(
            parse_unit("[Service]\nExecStart=/bin/a \\\n  b\n").unwrap(),
            UnitFile {
                has_install: false,
                options: 1
            }
        );
        let long = format!("[Service]\nX={}\n", "a".repeat(3000));
        assert_eq!(
            parse_unit(&long).unwrap_err(),
            "line too long (max 2048 bytes)"
        );
    }
}
