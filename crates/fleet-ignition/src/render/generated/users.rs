//! The fleet's users as Ignition's `passwd.users`: keys, password hash and groups. Snippets' users
//! of the same name are merged with these by Ignition's rules, these fields winning.

use fleet_spec::NodeSettings;

use crate::ignition::PasswdUser;

pub(super) fn passwd_users(settings: &NodeSettings) -> Vec<PasswdUser> {
    settings
        .users
        .iter()
        .map(|user| PasswdUser {
            name: user.name.clone(),
            ssh_authorized_keys: user.ssh_authorized_keys.clone(),
            password_hash: user
                .password_hash
                .as_ref()
                .map(|hash| hash.expose().to_owned()),
            groups: user.groups.clone(),
            ..PasswdUser::default()
        })
        .collect()
}
