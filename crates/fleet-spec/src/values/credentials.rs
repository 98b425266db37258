//! What lets someone log in: crypt(3) password hashes (never echoed) and SSH public keys.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use toml::Spanned;
use toml::de::DeValue;

use crate::model::Secret;
use crate::read::{Context, FromToml, KeyPath};

use super::read_parsed;

string_value!(
    /// A crypt(3) password hash; never echoed in messages.
    PasswordHash(Secret),
    schema "PasswordHash" {
        "description": "A crypt(3) hash, e.g. from `mkpasswd --method=yescrypt`: $y$, $gy$, $7$, $2b$, $6$, $5$ or $1$.",
        "type": "string",
        "pattern": "^\\$(y|gy|7|2[aby]|6|5|1)\\$"
    },
    parse |text: &str| check_password_hash(text).map(|()| Secret::new(text))
);

const CRYPT_ALPHABET: &str = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

fn is_crypt_base64(text: &str) -> bool {
    text.bytes()
        .all(|byte| CRYPT_ALPHABET.as_bytes().contains(&byte))
}

/// Checks the shape of a crypt(3) hash, per scheme. Messages never include the value: it is a secret.
pub(crate) fn check_password_hash(text: &str) -> Result<(), String> {
    const HOW: &str = "make one with `mkpasswd --method=yescrypt` (package whois)";
    let malformed = |scheme: &str| Err(format!("not a well-formed {scheme} hash; {HOW}"));
    if !text.starts_with('$') {
        return Err(format!(
            "not a crypt(3) hash (it must start with `$y$`, `$6$` or another scheme; a plain password is refused); {HOW}"
        ));
    }
    let parts: Vec<&str> = text.split('$').collect();
    // parts[0] is the empty text before the first `$`.
    let scheme = parts.get(1).copied().unwrap_or("");
    let no_colon_or_space = !text.contains(|c: char| c == ':' || c.is_whitespace());
    let valid = no_colon_or_space
        && match scheme {
            "1" => {
                parts.len() == 4
                    && (1..=8).contains(&parts[2].len())
                    && parts[3].len() == 22
                    && is_crypt_base64(parts[3])
            }
            "5" | "6" => {
                let hash_length = if scheme == "5" { 43 } else { 86 };
                let (salt, hash) = match parts.len() {
                    4 => (parts[2], parts[3]),
                    5 if parts[2].strip_prefix("rounds=").is_some_and(|rounds| {
                        !rounds.is_empty() && rounds.bytes().all(|b| b.is_ascii_digit())
                    }) =>
                    {
                        (parts[3], parts[4])
                    }
                    _ => return malformed(if scheme == "5" { "SHA-256" } else { "SHA-512" }),
                };
                (1..=16).contains(&salt.len()) && hash.len() == hash_length && is_crypt_base64(hash)
            }
            "y" | "gy" => {
                parts.len() == 5
                    && !parts[2].is_empty()
                    && is_crypt_base64(parts[2])
                    && !parts[3].is_empty()
                    && is_crypt_base64(parts[3])
                    && parts[4].len() == 43
                    && is_crypt_base64(parts[4])
            }
            "7" => {
                parts.len() == 4
                    && parts[2].len() >= 11
                    && is_crypt_base64(parts[2])
                    && parts[3].len() == 43
                    && is_crypt_base64(parts[3])
            }
            "2a" | "2b" | "2y" => {
                parts.len() == 4
                    && parts[2].len() == 2
                    && parts[2]
                        .parse::<u8>()
                        .is_ok_and(|cost| (4..=31).contains(&cost))
                    && parts[3].len() == 53
                    && is_crypt_base64(parts[3])
            }
            _ => {
                return Err(format!(
                    "a crypt(3) scheme fleet does not know; use yescrypt ($y$), SHA-512 ($6$) or bcrypt ($2b$); {HOW}"
                ));
            }
        };
    if valid {
        Ok(())
    } else {
        let name = match scheme {
            "1" => "MD5",
            "5" => "SHA-256",
            "6" => "SHA-512",
            "y" => "yescrypt",
            "gy" => "gost-yescrypt",
            "7" => "scrypt",
            _ => "bcrypt",
        };
        malformed(name)
    }
}

string_value!(
    /// One SSH public key in authorized_keys form (`ssh-ed25519 AAAA... comment`).
    SshPublicKey(String),
    schema "SshPublicKey" { "type": "string", "pattern": "^(ssh-|ecdsa-|sk-)" },
    parse |text: &str| check_ssh_public_key(text).map(|()| text.trim().to_owned())
);

/// Validates one authorized_keys line. The key itself is not echoed.
pub(crate) fn check_ssh_public_key(text: &str) -> Result<(), String> {
    if text.contains("PRIVATE KEY") {
        return Err(
            "this is a private key: only public keys (the .pub file) belong in a fleet".to_owned(),
        );
    }
    if text.trim().contains('\n') {
        return Err("one key per entry: this value spans several lines".to_owned());
    }
    openssh_keys::PublicKey::parse(text)
        .map(|_| ())
        .map_err(|error| format!("not a valid SSH public key ({error})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crypt_hashes_of_every_scheme_are_accepted() {
        // Made with libxcrypt (Python's crypt module) for the password "fleet".
        let hashes = [
            "$y$j9T$abcdefghijklmnop$35/Gva90FywgifogF350EDo59T9qeJ.uxjYXZDF3.x5",
            "$gy$j9T$abcdefghijklmnop$scf5GdpAInsjck7xcobw1P3.hClPG1ZYwp6E6SNH8O8",
            "$7$CU..../....abcdefgh$sBH12CwhAASYGpVzaaGDkeYj6E6q8PUXbfmLqX.g959",
            "$2b$12$YW/ab6V/oWa4xJPDtzVxGeClXiR4fy5OOuIgUNHTZ4SN6o7MleGn.",
            "$1$lIcZ67Gu$p3pzilX6PPx7mOXUo3Jho.",
            "$5$.LWDV7k3Gk3Ghixx$XB6PXbdxJbIZYHJ36CSv93yM8vxNsG9o2UgJ9z4xR59",
            "$6$RUaAX8jTYscbRytj$aziopqm/Acr4bJqn.c5sw5HiiGDar20accKG30GmdBZ75RT0GzrcC2M/2eiV0Eo5BwXzQufSMpvGnhsBawHX30",
            "$6$rounds=10000$fleetsalt$E4IfgFMGfDIkRE1yvMeRxOPvOVXViVFpHq2pJ367YSgWLS9TkNWXGz0kUATmVtjs3X0vmRH0Wng.DVH5PEa.c.",
        ];
        for hash in hashes {
            assert_eq!(check_password_hash(hash), Ok(()), "{hash}");
        }
    }

    #[test]
    fn malformed_hashes_are_refused_without_echoing_them() {
        for bad in [
            "hunter2",
            "$6$salt$short",
            "$y$j9T$salt$",
            "$2b$99$YW/ab6V/oWa4xJPDtzVxGeClXiR4fy5OOuIgUNHTZ4SN6o7MleGn.",
            "$9$whatever$x",
            "$6$RUaAX8jTYscbRytj$aziopqm/Acr4bJqn.c5sw5HiiGDar20accKG30GmdBZ75RT0GzrcC2M/2eiV0Eo5BwXzQufSMpvGnhsBawHX3 ",
            "",
        ] {
            let message = check_password_hash(bad).expect_err(bad);
            assert!(bad.len() < 4 || !message.contains(bad), "{message}");
            assert!(message.contains("mkpasswd"), "{message}");
        }
    }
}
