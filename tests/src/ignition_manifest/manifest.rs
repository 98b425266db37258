//! The manifest `tests/data/ignition/apply-and-list.sh` prints between its marker lines, parsed: how
//! each Ignition stage ended, the seeded root, every entry Ignition wrote or changed, the accounts
//! after it ran, the presets it recorded and its CRITICAL log lines.
//!
//! Lines are tab-separated: `SECTION KIND NAME key=value...` (see the script). The format is strict:
//! an unknown section, kind or key is an error, so the script and this parser cannot drift apart.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail, ensure};

pub const BEGIN_MARKER: &str = "FLEET-IGNITION-BEGIN";
pub const END_MARKER: &str = "FLEET-IGNITION-END";

/// Everything one run of the script reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    /// `fetch-offline`, then `files`, in the order they ran.
    pub stages: Vec<Stage>,
    /// The root as seeded, before Ignition ran.
    pub seed: Snapshot,
    /// Entries that are new or differ from the seed, by path.
    pub wrote: BTreeMap<String, Entry>,
    /// Seed entries that are gone.
    pub removed: Vec<String>,
    /// The accounts after Ignition ran.
    pub accounts: Accounts,
    /// Lines of the preset files Ignition wrote: (file, line).
    pub presets: Vec<(String, String)>,
    /// Ignition's CRITICAL log lines: (stage, line).
    pub errors: Vec<(String, String)>,
}

/// The root before Ignition ran.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    pub tree: BTreeMap<String, Entry>,
    pub accounts: Accounts,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub name: String,
    /// `None`: skipped, because an earlier stage failed.
    pub exit: Option<i32>,
}

/// One entry of the tree, as `stat` saw it (links are not followed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    File {
        mode: u32,
        owner: Owner,
        size: u64,
        sha256: String,
    },
    Directory {
        mode: u32,
        owner: Owner,
    },
    Link {
        owner: Owner,
        target: String,
    },
    /// A device, FIFO or socket: nothing Ignition 3.3 writes.
    Other {
        mode: u32,
        owner: Owner,
    },
}

impl Entry {
    pub fn owner(&self) -> Owner {
        match self {
            Entry::File { owner, .. }
            | Entry::Directory { owner, .. }
            | Entry::Link { owner, .. }
            | Entry::Other { owner, .. } => *owner,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Owner {
    pub uid: u32,
    pub gid: u32,
}

impl Owner {
    pub const ROOT: Owner = Owner { uid: 0, gid: 0 };
}

impl std::fmt::Display for Owner {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{}:{}", self.uid, self.gid)
    }
}

/// Users and groups of `/etc/passwd`, `/etc/shadow` and `/etc/group`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounts {
    pub users: BTreeMap<String, User>,
    pub groups: BTreeMap<String, Group>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub gid: u32,
    pub gecos: String,
    pub home: String,
    pub shell: String,
    /// Supplementary groups, sorted.
    pub groups: Vec<String>,
    /// The shadow password field: a locked or empty one as it is (`*`, `!`, ...), a hash as
    /// `sha256:HEX` of it, so that hashes never reach a log.
    pub password: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub gid: u32,
}

/// The last complete manifest in `text` (a console log or the script's output); `None` while no end
/// marker follows a begin marker. A guest that booted twice leaves two: the last one counts.
pub fn find_manifest(text: &str) -> Option<Result<Manifest>> {
    let lines: Vec<&str> = text
        .lines()
        .map(|line| line.trim_end_matches(['\r', ' ']))
        .collect();
    let end = lines.iter().rposition(|line| line.ends_with(END_MARKER))?;
    let begin = lines[..end]
        .iter()
        .rposition(|line| line.ends_with(BEGIN_MARKER))?;
    Some(parse_lines(&lines[begin + 1..end]))
}

fn parse_lines(lines: &[&str]) -> Result<Manifest> {
    let mut manifest = Manifest::default();
    for (index, line) in lines.iter().enumerate() {
        parse_line(&mut manifest, line)
            .with_context(|| format!("manifest line {}: {line:?}", index + 1))?;
    }
    Ok(manifest)
}

fn parse_line(manifest: &mut Manifest, line: &str) -> Result<()> {
    let fields: Vec<&str> = line.split('\t').collect();
    match fields.as_slice() {
        ["stage", name, exit] => {
            let exit = match value_of(exit, "exit")? {
                "skipped" => None,
                code => Some(code.parse().context("exit is not a number")?),
            };
            manifest.stages.push(Stage {
                name: (*name).to_owned(),
                exit,
            });
        }
        ["seed", "user" | "group", ..] => parse_account(&mut manifest.seed.accounts, &fields[1..])?,
        ["seed", rest @ ..] => {
            let (path, entry) = parse_entry(rest)?;
            manifest.seed.tree.insert(path, entry);
        }
        ["wrote", rest @ ..] => {
            let (path, entry) = parse_entry(rest)?;
            manifest.wrote.insert(path, entry);
        }
        ["removed", path] => manifest.removed.push((*path).to_owned()),
        ["now", rest @ ..] => parse_account(&mut manifest.accounts, rest)?,
        ["preset", file, preset] => manifest
            .presets
            .push(((*file).to_owned(), (*preset).to_owned())),
        ["error", stage, message] => manifest
            .errors
            .push(((*stage).to_owned(), (*message).to_owned())),
        // A message of Ignition's may hold tabs: keep the rest of the line.
        ["error", stage, message @ ..] => manifest
            .errors
            .push(((*stage).to_owned(), message.join("\t"))),
        _ => bail!("unknown manifest line"),
    }
    Ok(())
}

/// `KIND PATH key=value...` of the tree.
fn parse_entry(fields: &[&str]) -> Result<(String, Entry)> {
    let [kind, path, rest @ ..] = fields else {
        bail!("an entry needs a kind and a path");
    };
    let values = Values::new(rest)?;
    let owner = parse_owner(values.get("owner")?)?;
    let entry = match *kind {
        "file" => Entry::File {
            mode: parse_mode(values.get("mode")?)?,
            owner,
            size: values
                .get("size")?
                .parse()
                .context("size is not a number")?,
            sha256: parse_sha256(values.get("sha256")?)?,
        },
        "dir" => Entry::Directory {
            mode: parse_mode(values.get("mode")?)?,
            owner,
        },
        "link" => Entry::Link {
            owner,
            target: values.get("target")?.to_owned(),
        },
        "other" => Entry::Other {
            mode: parse_mode(values.get("mode")?)?,
            owner,
        },
        other => bail!("unknown entry kind {other:?}"),
    };
    values.all_used(kind)?;
    ensure!(path.starts_with('/'), "the path {path:?} is not absolute");
    Ok(((*path).to_owned(), entry))
}

/// `user NAME ...` or `group NAME ...`.
fn parse_account(accounts: &mut Accounts, fields: &[&str]) -> Result<()> {
    let [kind, name, rest @ ..] = fields else {
        bail!("an account needs a kind and a name");
    };
    let values = Values::new(rest)?;
    match *kind {
        "user" => {
            let groups = values.get("groups")?;
            let user = User {
                uid: values.get("uid")?.parse().context("uid is not a number")?,
                gid: values.get("gid")?.parse().context("gid is not a number")?,
                gecos: values.get("gecos")?.to_owned(),
                home: values.get("home")?.to_owned(),
                shell: values.get("shell")?.to_owned(),
                groups: groups
                    .split(',')
                    .filter(|group| !group.is_empty())
                    .map(str::to_owned)
                    .collect(),
                password: values.get("password")?.to_owned(),
            };
            accounts.users.insert((*name).to_owned(), user);
        }
        "group" => {
            let group = Group {
                gid: values.get("gid")?.parse().context("gid is not a number")?,
            };
            accounts.groups.insert((*name).to_owned(), group);
        }
        other => bail!("unknown account kind {other:?}"),
    }
    values.all_used(kind)
}

/// The `key=value` fields of a line.
struct Values<'line> {
    values: BTreeMap<&'line str, &'line str>,
    used: std::cell::RefCell<Vec<&'line str>>,
}

impl<'line> Values<'line> {
    fn new(fields: &[&'line str]) -> Result<Values<'line>> {
        let mut values = BTreeMap::new();
        for field in fields {
            let (key, value) = field
                .split_once('=')
                .with_context(|| format!("{field:?} is not key=value"))?;
            ensure!(values.insert(key, value).is_none(), "{key} is given twice");
        }
        Ok(Values {
            values,
            used: std::cell::RefCell::new(Vec::new()),
        })
    }

    fn get(&self, key: &'line str) -> Result<&'line str> {
        self.used.borrow_mut().push(key);
        self.values
            .get(key)
            .copied()
            .with_context(|| format!("no {key}="))
    }

    fn all_used(&self, kind: &str) -> Result<()> {
        let used = self.used.borrow();
        let unknown: Vec<&&str> = self
            .values
            .keys()
            .filter(|key| !used.contains(key))
            .collect();
        ensure!(unknown.is_empty(), "unknown keys {unknown:?} for {kind}");
        Ok(())
    }
}

fn value_of<'field>(field: &'field str, key: &str) -> Result<&'field str> {
    field
        .strip_prefix(key)
        .and_then(|rest| rest.strip_prefix('='))
        .with_context(|| format!("expected {key}=, found {field:?}"))
}

fn parse_mode(mode: &str) -> Result<u32> {
    ensure!(mode.len() == 4, "mode {mode:?} is not four octal digits");
    u32::from_str_radix(mode, 8).with_context(|| format!("mode {mode:?} is not octal"))
}

fn parse_owner(owner: &str) -> Result<Owner> {
    let (uid, gid) = owner
        .split_once(':')
        .with_context(|| format!("owner {owner:?} is not UID:GID"))?;
    Ok(Owner {
        uid: uid.parse().context("the owner's uid is not a number")?,
        gid: gid.parse().context("the owner's gid is not a number")?,
    })
}

fn parse_sha256(sha256: &str) -> Result<String> {
    ensure!(
        sha256.len() == 64 && sha256.bytes().all(|byte| byte.is_ascii_hexdigit()),
        "sha256 {sha256:?} is not 64 hex digits"
    );
    Ok(sha256.to_ascii_lowercase())
}

impl Manifest {
    /// Both stages ran and exited 0; otherwise Ignition's own CRITICAL lines say why.
    pub fn ignition_succeeded(&self) -> Result<()> {
        let names: Vec<&str> = self
            .stages
            .iter()
            .map(|stage| stage.name.as_str())
            .collect();
        let failed: Vec<String> = self
            .stages
            .iter()
            .filter(|stage| stage.exit != Some(0))
            .map(|stage| match stage.exit {
                Some(code) => format!("stage {} exited {code}", stage.name),
                None => format!("stage {} was skipped", stage.name),
            })
            .collect();
        if failed.is_empty() && names == ["fetch-offline", "files"] && self.errors.is_empty() {
            return Ok(());
        }
        let mut message = if self.stages.is_empty() {
            "Ignition did not run: the script refused".to_owned()
        } else if failed.is_empty() {
            format!("Ignition ran stages {names:?} and logged CRITICAL lines")
        } else {
            format!("Ignition failed: {}", failed.join(", "))
        };
        for (stage, line) in &self.errors {
            message.push_str(&format!("\n  {stage}: {line}"));
        }
        bail!("{message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "[    1.2] booting\r\n\
        FLEET-IGNITION-BEGIN\r\n\
        stage\tfetch-offline\texit=0\r\n\
        stage\tfiles\texit=0\r\n\
        seed\tdir\t/etc\tmode=0755\towner=0:0\r\n\
        seed\tlink\t/home\towner=0:0\ttarget=var/home\r\n\
        seed\tuser\tcore\tuid=1000\tgid=1000\tgecos=CoreOS Admin\thome=/var/home/core\tshell=/bin/bash\tgroups=adm,wheel\tpassword=*\r\n\
        seed\tgroup\tcore\tgid=1000\r\n\
        wrote\tfile\t/etc/hostname\tmode=0644\towner=0:0\tsize=5\tsha256=E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855\r\n\
        now\tuser\tcore\tuid=1000\tgid=1000\tgecos=CoreOS Admin\thome=/var/home/core\tshell=/bin/bash\tgroups=\tpassword=*\r\n\
        preset\t/etc/systemd/system-preset/20-ignition.preset\tenable web.service\r\n\
        FLEET-IGNITION-END\r\n";

    #[test]
    fn a_manifest_parses_among_console_noise() {
        let manifest = find_manifest(SMALL).unwrap().unwrap();
        assert_eq!(manifest.stages.len(), 2);
        assert!(manifest.ignition_succeeded().is_ok());
        assert_eq!(
            manifest.seed.tree["/home"],
            Entry::Link {
                owner: Owner::ROOT,
                target: "var/home".to_owned()
            }
        );
        let Entry::File { mode, sha256, .. } = &manifest.wrote["/etc/hostname"] else {
            panic!("{manifest:?}");
        };
        assert_eq!(*mode, 0o644);
        assert!(sha256.starts_with("e3b0"), "hashes are kept lowercase");
        assert_eq!(
            manifest.seed.accounts.users["core"].groups,
            ["adm", "wheel"]
        );
        assert!(manifest.accounts.users["core"].groups.is_empty());
        assert_eq!(manifest.accounts.users["core"].gecos, "CoreOS Admin");
        assert_eq!(manifest.presets[0].1, "enable web.service");
    }

    #[test]
    fn the_last_complete_manifest_counts() {
        let first_boot_cut_short = "FLEET-IGNITION-BEGIN\nstage\tfetch-offline\texit=0\n";
        let text = format!("{first_boot_cut_short}{SMALL}");
        assert_eq!(find_manifest(&text).unwrap().unwrap().stages.len(), 2);
        assert!(find_manifest(first_boot_cut_short).is_none());
    }

    #[test]
    fn a_failed_stage_reports_ignitions_own_lines() {
        let text = "FLEET-IGNITION-BEGIN\n\
            stage\tfetch-offline\texit=1\n\
            stage\tfiles\texit=skipped\n\
            error\tfetch-offline\tCRITICAL : Ignition failed: unsupported config version\n\
            FLEET-IGNITION-END\n";
        let error = find_manifest(text)
            .unwrap()
            .unwrap()
            .ignition_succeeded()
            .unwrap_err()
            .to_string();
        assert!(error.contains("stage fetch-offline exited 1"), "{error}");
        assert!(error.contains("files was skipped"), "{error}");
        assert!(error.contains("unsupported config version"), "{error}");
    }

    #[test]
    fn a_refusal_before_ignition_ran_is_a_failure() {
        let text =
            "FLEET-IGNITION-BEGIN\nerror\tsetup\t/sysroot is not empty\nFLEET-IGNITION-END\n";
        let error = find_manifest(text).unwrap().unwrap().ignition_succeeded();
        assert!(error.unwrap_err().to_string().contains("is not empty"));
    }

    #[test]
    fn unknown_lines_and_keys_are_errors() {
        for line in [
            "seed\tdir\t/etc\tmode=0755\towner=0:0\tcolour=blue",
            "seed\tdir\t/etc\tmode=755\towner=0:0",
            "seed\tsocket\t/run/x\towner=0:0",
            "wrote\tfile\t/etc/x\tmode=0644\towner=0:0\tsize=1\tsha256=abc",
            "wrote\tfile\tetc/x\tmode=0644\towner=0:0",
            "later\tsomething",
        ] {
            let text = format!("{BEGIN_MARKER}\n{line}\n{END_MARKER}\n");
            assert!(find_manifest(&text).unwrap().is_err(), "{line}");
        }
    }
}
