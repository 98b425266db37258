//! MAC addresses for the nodes whose MAC the file does not write, derived from fleet and node name.

use crate::expand::{MAC_PREFIX, mac_from_seed};
use crate::model::Node;

use super::naming::Naming;
use super::nodes::NodeOrigin;

/// Derive MACs for nodes without one: a hash of fleet and node name, bumped past any MAC already
/// taken (written MACs first, then derived ones in fleet order), so the result depends only on the
/// file. Derived MACs all lie in the 52:54:00 prefix, so a bitmap of its 2^24 addresses (2 MiB) is the
/// set of taken ones.
pub(super) fn assign(naming: &mut Naming, nodes: &mut [Node], origins: &[NodeOrigin]) {
    let mut taken = vec![0u64; (1 << 24) / 64];
    let mut take = |seed: u32| -> bool {
        let (word, bit) = ((seed >> 6) as usize, seed & 63);
        let free = taken[word] & (1 << bit) == 0;
        taken[word] |= 1 << bit;
        free
    };
    for (node, origin) in nodes.iter().zip(origins) {
        if origin.mac.is_some() && node.mac.0[..3] == MAC_PREFIX {
            let [_, _, _, a, b, c] = node.mac.0;
            take(u32::from_be_bytes([0, a, b, c]));
        }
    }
    for (node, origin) in nodes.iter_mut().zip(origins) {
        if origin.mac.is_some() {
            continue;
        }
        let mut seed = naming.mac_seed_of(&node.name);
        while !take(seed) {
            seed = (seed + 1) & 0x00ff_ffff;
        }
        node.mac = mac_from_seed(seed);
    }
}
