//! Finding a plan's node or group by name in constant time: commands look up every node of a plan by its
//! name (deploy, status), which a scan would make quadratic at a million nodes.

use std::collections::HashMap;
use std::collections::hash_map::{Entry, RandomState};
use std::fmt;
use std::hash::{BuildHasher as _, BuildHasherDefault};

use rustc_hash::FxHasher;

/// Positions of names in a list, by a keyed hash of the name. Names are not copied: the index keeps about
/// 16 bytes a name, and every lookup compares the name itself, so names sharing a hash are still told
/// apart. The hash's key is random, so no fleet file can be written to make names collide.
#[derive(Clone, Default)]
pub(crate) struct NameIndex {
    hasher: RandomState,
    /// Hash of a name → the position of the first name with that hash. The hashes are already random:
    /// the map itself hashes them with a cheap function.
    first: HashMap<u64, u32, BuildHasherDefault<FxHasher>>,
    /// Positions of later names whose hash an earlier name already had (almost always none).
    collided: Vec<u32>,
}

impl NameIndex {
    pub(crate) fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        let names = names.into_iter();
        let mut index = NameIndex {
            hasher: RandomState::new(),
            first: HashMap::with_capacity_and_hasher(names.size_hint().0, Default::default()),
            collided: Vec::new(),
        };
        for (position, name) in names.enumerate() {
            let Ok(position) = u32::try_from(position) else {
                break;
            };
            match index.first.entry(index.hasher.hash_one(name)) {
                Entry::Occupied(_) => index.collided.push(position),
                Entry::Vacant(vacant) => {
                    vacant.insert(position);
                }
            }
        }
        index
    }

    /// The first position whose name (as `name_at` gives it) is `name`.
    pub(crate) fn find<'a>(&self, name: &str, name_at: impl Fn(usize) -> &'a str) -> Option<usize> {
        let first = self
            .first
            .get(&self.hasher.hash_one(name))
            .map(|&position| position as usize)?;
        if name_at(first) == name {
            return Some(first);
        }
        self.collided
            .iter()
            .map(|&position| position as usize)
            .find(|&position| name_at(position) == name)
    }
}

/// The index follows from the names it indexes: two plans are equal when their nodes and groups are.
impl PartialEq for NameIndex {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl fmt::Debug for NameIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "NameIndex({} names)",
            self.first.len() + self.collided.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_name_and_nothing_else() {
        let names: Vec<String> = (0..10_000).map(|index| format!("node-{index}")).collect();
        let index = NameIndex::new(names.iter().map(String::as_str));
        for (position, name) in names.iter().enumerate() {
            assert_eq!(index.find(name, |at| &names[at]), Some(position));
        }
        assert_eq!(index.find("node-10000", |at| &names[at]), None);
        assert_eq!(index.find("", |at| &names[at]), None);
    }

    #[test]
    fn names_sharing_a_hash_are_told_apart() {
        // Every name in one bucket, as if their hashes collided.
        let names = ["a", "b", "c"];
        let hasher = RandomState::new();
        let mut first = HashMap::default();
        for name in names {
            first.insert(hasher.hash_one(name), 0);
        }
        let index = NameIndex {
            hasher,
            first,
            collided: vec![1, 2],
        };
        for (position, name) in names.iter().enumerate() {
            assert_eq!(index.find(name, |at| names[at]), Some(position));
        }
        assert_eq!(index.find("d", |at| names[at]), None);
    }
}
