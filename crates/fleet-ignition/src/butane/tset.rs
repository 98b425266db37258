//! Butane's translation set: for each path of the generated Ignition config, the path of the
//! Butane source it came from (upstream translate/set.go), so that Ignition's diagnostics can be
//! shown at the right YAML line. Only built when a diagnostic needs it.

use std::collections::HashMap;

use crate::ignition::Mapping;
use crate::report::PathElement;

pub(crate) type Elements = Vec<PathElement>;

#[derive(Debug, Clone, Default)]
pub(crate) struct TranslationSet {
    /// JSON path -> YAML path; the last translation added for a JSON path wins.
    pub(crate) map: HashMap<Elements, Elements>,
}

impl TranslationSet {
    pub(crate) fn add(&mut self, from: Elements, to: Elements) {
        self.map.insert(to, from);
    }

    pub(crate) fn get(&self, to: &[PathElement]) -> Option<&Elements> {
        self.map.get(to)
    }

    /// Upstream's MergeTranslatedConfigs: rebuild the set for a merged config from the merge
    /// transcript, preferring the child's source where both contributed.
    pub(crate) fn from_transcript(
        parent: &TranslationSet,
        child: &TranslationSet,
        mappings: &[Mapping],
    ) -> TranslationSet {
        let mut out = TranslationSet::default();
        for mapping in mappings {
            let left = if mapping.from_child { child } else { parent };
            let Some(from) = left.get(&mapping.from) else {
                continue;
            };
            if !mapping.from_child && out.map.contains_key(&mapping.to) {
                continue;
            }
            out.map.insert(mapping.to.clone(), from.clone());
        }
        out
    }
}
