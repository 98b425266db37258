//! The fleet's users as Ignition's `passwd.users`: keys, password hash, groups and user IDs. Snippets' users
//! of the same name are merged with these by Ignition's rules, these fields winning.

use fleet_spec::{ContainerOwner, NodeSettings};

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
            uid: fixed_uid(settings, user).map(i64::from),
            ..PasswdUser::default()
        })
        .collect()
}

/// A user's written `uid`, or the one fleet fixes for a user who runs rootless containers (or owns a
/// declared pod, volume or network), whose quadlets live in a directory named by it
/// (`User::container_uid`).
fn fixed_uid(settings: &NodeSettings, user: &fleet_spec::User) -> Option<u32> {
    let runs_containers = settings
        .quadlet_owners()
        .contains(&ContainerOwner::User(user.name.clone()));
    // `core` exists on Fedora CoreOS with its ID; Ignition is not asked to change it.
    if runs_containers && !(user.name == fleet_spec::CORE_USER && user.uid.is_none()) {
        Some(user.container_uid())
    } else {
        user.uid
    }
}
