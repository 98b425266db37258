//! How a setting written at several levels (`[defaults]` → `[[group]]` → `[[group.node]]`) combines: each
//! rule of docs/fleet-toml.md's "Inheritance" table once, so that a new setting names its rule instead of
//! writing its own loop.
//!
//! A level is applied onto what it inherits, one level after the other, fleet first.

/// The most specific level wins: a value written at this level replaces the inherited one.
pub(super) fn most_specific<T>(inherited: &mut T, written: Option<T>) {
    if let Some(value) = written {
        *inherited = value;
    }
}

/// Items accumulate level after level; an item whose key an earlier item already has is left out, so
/// each keeps its first place.
pub(super) fn accumulate<T, K: PartialEq + ?Sized>(
    inherited: &mut Vec<T>,
    written: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> &K,
) {
    for item in written {
        if !inherited.iter().any(|known| key(known) == key(&item)) {
            inherited.push(item);
        }
    }
}

/// Items merge by name: an item replaces the inherited item of the same name, in its place, entirely;
/// items with new names are appended.
pub(super) fn merge_by_name<T>(
    inherited: &mut Vec<T>,
    written: impl IntoIterator<Item = T>,
    name: impl Fn(&T) -> &str,
) {
    for item in written {
        match inherited
            .iter_mut()
            .find(|known| name(known) == name(&item))
        {
            Some(known) => *known = item,
            None => inherited.push(item),
        }
    }
}

/// Two lists that exclude each other (arguments that should and should not exist): each item written for
/// `side` joins it once and leaves `opposite`, so the later level wins a conflict.
pub(super) fn accumulate_against<T: PartialEq + Clone>(
    side: &mut Vec<T>,
    opposite: &mut Vec<T>,
    written: &[T],
) {
    for item in written {
        opposite.retain(|known| known != item);
        if !side.contains(item) {
            side.push(item.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_value_replaces_and_an_unwritten_one_keeps() {
        let mut vcpus = 2;
        most_specific(&mut vcpus, None);
        assert_eq!(vcpus, 2);
        most_specific(&mut vcpus, Some(8));
        assert_eq!(vcpus, 8);
    }

    #[test]
    fn accumulated_items_keep_their_first_place() {
        let mut snippets = vec!["a.bu", "b.bu"];
        accumulate(&mut snippets, ["c.bu", "a.bu", "c.bu"], |path| path);
        assert_eq!(snippets, ["a.bu", "b.bu", "c.bu"]);
    }

    #[test]
    fn a_named_item_replaces_its_namesake_in_place() {
        let mut users = vec![("core", 1), ("ops", 1)];
        merge_by_name(&mut users, [("ops", 2), ("dev", 2)], |user| user.0);
        assert_eq!(users, [("core", 1), ("ops", 2), ("dev", 2)]);
    }

    #[test]
    fn the_later_level_wins_between_opposed_lists() {
        let mut exist = vec!["quiet".to_owned(), "console=ttyS0".to_owned()];
        let mut absent = vec!["debug".to_owned()];
        accumulate_against(&mut absent, &mut exist, &["quiet".to_owned()]);
        accumulate_against(&mut exist, &mut absent, &["debug".to_owned()]);
        assert_eq!(exist, ["console=ttyS0", "debug"]);
        assert_eq!(absent, ["quiet"]);
    }
}
