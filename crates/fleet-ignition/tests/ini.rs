//! The INI writer never writes what its reader would read differently: over arbitrary sections,
//! keys and values (line breaks, backslashes, edge whitespace, brackets, `=`, `;`, `#`, control
//! characters), every file is either refused or read back exactly by a reader that follows the
//! reader's own rules (systemd's `config_parse`, GLib's `g_key_file_load_from_data`), and ordinary
//! text is never refused. `tests/tests/ini_readers.rs` (fleet-tests) reads files with the real GLib
//! and checks them with the real `systemd-analyze`.

use fleet_ignition::ini::{Dialect, IniFile};
use proptest::prelude::*;

/// Characters that matter to one reader or the other, and some that matter to neither.
fn awkward_char() -> impl Strategy<Value = char> {
    prop_oneof![
        prop::sample::select(vec![
            ' ', '\t', '\n', '\r', '\u{b}', '\u{c}', '\\', '=', '[', ']', ';', '#', '%', '"', '\'',
            's', 'n', '\u{0}', '\u{7}', '\u{85}', '\u{2028}', 'é', '✓',
        ]),
        any::<char>(),
        prop::char::range('a', 'z'),
    ]
}

fn awkward_text(max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(awkward_char(), 0..max).prop_map(|chars| chars.into_iter().collect())
}

/// Text neither reader treats specially, with inner spaces.
fn ordinary_text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9/._:-][A-Za-z0-9 /._:,@+-]{0,30}[A-Za-z0-9/._:-]|[A-Za-z0-9]"
}

fn ordinary_key() -> impl Strategy<Value = String> {
    "[A-Za-z][A-Za-z0-9-]{0,15}"
}

/// Mostly names a writer takes, sometimes awkward ones, so that most files are written at all.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![8 => ordinary_key(), 2 => awkward_text(6)]
}

/// Sections of entries with awkward values (and sometimes awkward names).
fn sections() -> impl Strategy<Value = Entries> {
    prop::collection::vec(
        (
            name(),
            prop::collection::vec((name(), awkward_text(12)), 0..4),
        ),
        0..4,
    )
}

type Entries = Vec<(String, Vec<(String, String)>)>;

fn file_of(dialect: Dialect, sections: &Entries) -> IniFile {
    let mut file = IniFile::new(dialect);
    for (name, entries) in sections {
        let section = file.section(name.clone());
        for (key, value) in entries {
            section.entry(key.clone(), value);
        }
    }
    file
}

/// systemd's reading of a unit file (src/shared/conf-parser.c): lines stripped of whitespace,
/// comments and empty lines skipped, a trailing backslash joining the next line with a space,
/// `[section]`, and `key=value` split at the first `=` with both sides stripped.
fn read_systemd(text: &str) -> Option<Entries> {
    let mut sections: Entries = Vec::new();
    let mut continued: Option<String> = None;
    for raw in text.split('\n') {
        let line = raw.trim_matches(is_systemd_whitespace);
        if continued.is_none() && (line.is_empty() || line.starts_with(['#', ';'])) {
            continue;
        }
        let mut line = match continued.take() {
            Some(mut earlier) => {
                if line.starts_with(['#', ';']) {
                    continued = Some(earlier);
                    continue;
                }
                earlier.push_str(line);
                earlier
            }
            None => line.to_owned(),
        };
        if let Some(stripped) = line.strip_suffix('\\') {
            line = format!("{stripped} ");
            continued = Some(line);
            continue;
        }
        if let Some(name) = line.strip_prefix('[') {
            sections.push((name.strip_suffix(']')?.to_owned(), Vec::new()));
            continue;
        }
        let (key, value) = line.split_once('=')?;
        sections.last_mut()?.1.push((
            key.trim_matches(is_systemd_whitespace).to_owned(),
            value.trim_matches(is_systemd_whitespace).to_owned(),
        ));
    }
    Some(sections)
}

/// systemd's WHITESPACE: space, tab, newline, carriage return.
fn is_systemd_whitespace(character: char) -> bool {
    matches!(character, ' ' | '\t' | '\n' | '\r')
}

/// GLib's reading of a key file (glib/gkeyfile.c): a `\r` before the newline dropped, leading
/// whitespace skipped, `#` lines comments, `[group]` up to the last `]`, the key's trailing and the
/// value's leading whitespace dropped, then the value unescaped (`\s \t \n \r \\`, and `\;` in a
/// list, which splits at unescaped `;` and drops an empty last item).
fn read_keyfile(text: &str) -> Option<Entries> {
    let mut groups: Entries = Vec::new();
    for raw in text.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        let line = raw.trim_start_matches(is_glib_space);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[') {
            let end = name.rfind(']')?;
            groups.push((name[..end].to_owned(), Vec::new()));
            continue;
        }
        let (key, value) = line.split_once('=')?;
        let key = key.trim_end_matches(is_glib_space);
        let value = value.trim_start_matches(is_glib_space);
        groups
            .last_mut()?
            .1
            .push((key.to_owned(), value.to_owned()));
    }
    Some(groups)
}

/// `g_ascii_isspace`: space, tab, newline, vertical tab, form feed, carriage return.
fn is_glib_space(character: char) -> bool {
    matches!(character, ' ' | '\t' | '\n' | '\u{b}' | '\u{c}' | '\r')
}

fn unescape_keyfile(raw: &str, list: bool) -> Option<Vec<String>> {
    let mut items = vec![String::new()];
    let mut chars = raw.chars();
    while let Some(character) = chars.next() {
        let last = items.last_mut()?;
        match character {
            '\\' => match chars.next()? {
                's' => last.push(' '),
                't' => last.push('\t'),
                'n' => last.push('\n'),
                'r' => last.push('\r'),
                '\\' => last.push('\\'),
                ';' if list => last.push(';'),
                _ => return None,
            },
            ';' if list => items.push(String::new()),
            other => last.push(other),
        }
    }
    if list && items.last().is_some_and(String::is_empty) {
        items.pop();
    }
    Some(items)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn a_unit_is_refused_or_read_back_as_written(sections in sections()) {
        let file = file_of(Dialect::Systemd, &sections);
        if let Ok(text) = file.to_text() {
            prop_assert_eq!(read_systemd(&text), Some(sections), "{:?}", text);
        }
    }

    #[test]
    fn a_key_file_is_refused_or_read_back_as_written(
        sections in sections(),
        list in prop::collection::vec(awkward_text(8), 0..4),
    ) {
        let mut file = file_of(Dialect::KeyFile, &sections);
        if !sections.is_empty() {
            file.section("lists").list("items", &list);
        }
        if let Ok(text) = file.to_text() {
            let read = read_keyfile(&text).expect("the key file parses");
            let (entries, lists) = read.split_at(sections.len());
            let unescaped: Entries = entries
                .iter()
                .map(|(name, entries)| {
                    (
                        name.clone(),
                        entries
                            .iter()
                            .map(|(key, raw)| {
                                let value = unescape_keyfile(raw, false)
                                    .expect("escapes are valid")
                                    .concat();
                                (key.clone(), value)
                            })
                            .collect(),
                    )
                })
                .collect();
            prop_assert_eq!(&unescaped, &sections, "{:?}", text);
            if let [(_, entries)] = lists {
                prop_assert_eq!(
                    unescape_keyfile(&entries[0].1, true),
                    Some(list.clone()),
                    "{:?}",
                    text
                );
            }
        }
    }

    #[test]
    fn ordinary_text_is_written_in_both_dialects(
        sections in prop::collection::vec(
            (ordinary_key(), prop::collection::vec((ordinary_key(), ordinary_text()), 0..4)),
            1..4,
        )
    ) {
        prop_assert!(file_of(Dialect::Systemd, &sections).to_text().is_ok());
        // A key file takes each group and key once.
        let mut unique = sections.clone();
        unique.sort_by(|a, b| a.0.cmp(&b.0));
        unique.dedup_by(|a, b| a.0 == b.0);
        for (_, entries) in &mut unique {
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            entries.dedup_by(|a, b| a.0 == b.0);
        }
        prop_assert!(file_of(Dialect::KeyFile, &unique).to_text().is_ok());
    }
}
