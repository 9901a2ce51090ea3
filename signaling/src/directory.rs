//! The directory of administrative units (province → district → commune; tiers are data).
//! Loaded from a JSON file in the format of `data/units/*.json`; the Thái Nguyên 2024 file is
//! built into the binary as the default.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// The directory the hub uses when none is configured.
pub const DEFAULT_DIRECTORY: &str = include_str!("../../data/units/thai-nguyen-2024.json");

/// A unit as the file gives it: its parent named by code only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileUnit {
    pub code: String,
    pub name: String,
    pub kind: String,
    pub tier: String,
    pub parent: Option<String>,
}

/// The file format of `data/units/*.json` (see docs/directory.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryFile {
    pub source: String,
    pub tiers: Vec<String>,
    pub units: Vec<FileUnit>,
}

/// An administrative unit. Its `id` is `TIER:CODE`: codes alone collide across tiers in the
/// national file (province 4 and commune 4), so identity includes the tier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminUnit {
    pub id: String,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub tier: String,
    /// The parent's id.
    pub parent: Option<String>,
}

/// The id of the unit with `code` in `tier`.
pub fn unit_id(tier: &str, code: &str) -> String {
    format!("{tier}:{code}")
}

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error("cannot read directory file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("directory is not valid JSON of the expected shape: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("directory is inconsistent: {0}")]
    Invalid(String),
}

/// The loaded, validated directory: units in tree order (each parent before its children,
/// siblings in file order), with indexes by id and by parent.
#[derive(Debug, Clone)]
pub struct Directory {
    source: String,
    tiers: Vec<String>,
    units: Vec<AdminUnit>,
    by_id: HashMap<String, usize>,
    children: Vec<Vec<usize>>,
    /// Index of the end of each unit's subtree in `units` (exclusive).
    subtree_end: Vec<usize>,
    tier_of: Vec<usize>,
    folded_names: Vec<String>,
}

/// The directory as the API serves it.
#[derive(Debug, Serialize)]
pub struct DirectoryView<'a> {
    pub source: &'a str,
    pub tiers: &'a [String],
    pub units: &'a [AdminUnit],
}

impl Directory {
    pub fn load(path: &Path) -> Result<Self, DirectoryError> {
        let text = std::fs::read_to_string(path).map_err(|source| DirectoryError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_json(&text)
    }

    pub fn from_json(text: &str) -> Result<Self, DirectoryError> {
        let file: DirectoryFile = serde_json::from_str(text)?;
        Self::from_file(file)
    }

    /// Validate `file` and build the tree. A unit's parent is named by code; it is the unit
    /// with that code in the nearest shallower tier, or else in the unit's own tier
    /// (departments sit in the province tier under the province).
    pub fn from_file(file: DirectoryFile) -> Result<Self, DirectoryError> {
        let invalid = |m: String| Err(DirectoryError::Invalid(m));
        if file.tiers.is_empty() {
            return invalid("no tiers".into());
        }
        let mut tier_index = HashMap::new();
        for (i, t) in file.tiers.iter().enumerate() {
            if t.is_empty() || t.contains(':') || tier_index.insert(t.as_str(), i).is_some() {
                return invalid(format!("tier {t:?} is empty, has a colon or is repeated"));
            }
        }
        let mut by_code: HashMap<&str, Vec<usize>> = HashMap::new();
        let mut ids = HashMap::with_capacity(file.units.len());
        let mut tier_of = Vec::with_capacity(file.units.len());
        for (i, u) in file.units.iter().enumerate() {
            let Some(&t) = tier_index.get(u.tier.as_str()) else {
                return invalid(format!("unit {} has unknown tier {}", u.code, u.tier));
            };
            if u.code.trim().is_empty() || u.name.trim().is_empty() {
                return invalid(format!("unit #{i} has an empty code or name"));
            }
            if ids.insert(unit_id(&u.tier, &u.code), i).is_some() {
                return invalid(format!("duplicate code {} in tier {}", u.code, u.tier));
            }
            by_code.entry(u.code.as_str()).or_default().push(i);
            tier_of.push(t);
        }
        // Resolve parents.
        let mut parent_of: Vec<Option<usize>> = Vec::with_capacity(file.units.len());
        let mut roots = vec![];
        for (i, u) in file.units.iter().enumerate() {
            let Some(p) = &u.parent else {
                roots.push(i);
                parent_of.push(None);
                continue;
            };
            let parent = by_code
                .get(p.as_str())
                .into_iter()
                .flatten()
                .copied()
                .filter(|&c| c != i && tier_of[c] <= tier_of[i])
                // The nearest shallower tier first; the unit's own tier only when no tier
                // above has the code (departments under the province, in its tier).
                .max_by_key(|&c| (tier_of[c] < tier_of[i], tier_of[c]));
            match parent {
                Some(c) => parent_of.push(Some(c)),
                None => {
                    return invalid(format!(
                        "unit {} has unknown parent {p} (no unit with that code in its tier or above)",
                        u.code
                    ));
                }
            }
        }
        if roots.len() != 1 {
            return invalid(format!("expected one root unit, found {}", roots.len()));
        }
        // Tree order by depth-first walk from the root; a unit not reached is in a cycle.
        let mut kids: Vec<Vec<usize>> = vec![vec![]; file.units.len()];
        for (i, p) in parent_of.iter().enumerate() {
            if let Some(p) = p {
                kids[*p].push(i);
            }
        }
        let mut order = Vec::with_capacity(file.units.len());
        let mut stack = vec![roots[0]];
        while let Some(i) = stack.pop() {
            order.push(i);
            stack.extend(kids[i].iter().rev());
        }
        if order.len() != file.units.len() {
            return invalid(format!(
                "{} units are not under the root (their parents form a cycle)",
                file.units.len() - order.len()
            ));
        }
        let mut new_index = vec![0; file.units.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = new;
        }
        let units: Vec<AdminUnit> = order
            .iter()
            .map(|&old| {
                let u = &file.units[old];
                AdminUnit {
                    id: unit_id(&u.tier, &u.code),
                    code: u.code.clone(),
                    name: u.name.clone(),
                    kind: u.kind.clone(),
                    tier: u.tier.clone(),
                    parent: parent_of[old].map(|p| {
                        let pu = &file.units[p];
                        unit_id(&pu.tier, &pu.code)
                    }),
                }
            })
            .collect();
        let children: Vec<Vec<usize>> = order
            .iter()
            .map(|&old| kids[old].iter().map(|&k| new_index[k]).collect())
            .collect();
        let tier_of: Vec<usize> = order.iter().map(|&old| tier_of[old]).collect();
        let by_id = units
            .iter()
            .enumerate()
            .map(|(i, u)| (u.id.clone(), i))
            .collect();
        // In pre-order, a subtree is contiguous: it ends where the next unit not below it starts.
        let mut subtree_end = vec![units.len(); units.len()];
        for i in (0..units.len()).rev() {
            subtree_end[i] = children[i].last().map_or(i + 1, |&c| subtree_end[c]);
        }
        let folded_names = units.iter().map(|u| fold(&u.name)).collect();
        Ok(Directory {
            source: file.source,
            tiers: file.tiers,
            units,
            by_id,
            children,
            subtree_end,
            tier_of,
            folded_names,
        })
    }

    pub fn view(&self) -> DirectoryView<'_> {
        DirectoryView {
            source: &self.source,
            tiers: &self.tiers,
            units: &self.units,
        }
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn tiers(&self) -> &[String] {
        &self.tiers
    }

    /// Every unit, in tree order.
    pub fn units(&self) -> &[AdminUnit] {
        &self.units
    }

    pub fn len(&self) -> usize {
        self.units.len()
    }

    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&AdminUnit> {
        self.by_id.get(id).map(|&i| &self.units[i])
    }

    pub fn contains(&self, id: &str) -> bool {
        self.by_id.contains_key(id)
    }

    pub fn root(&self) -> &AdminUnit {
        // Tree order puts the one root first; `from_file` refuses an empty directory.
        &self.units[0]
    }

    /// The unit's ancestors, from the root down to its parent.
    pub fn ancestors(&self, id: &str) -> Vec<&AdminUnit> {
        let mut chain = vec![];
        let mut at = self.get(id).and_then(|u| u.parent.as_deref());
        while let Some(p) = at.and_then(|p| self.get(p)) {
            chain.push(p);
            at = p.parent.as_deref();
        }
        chain.reverse();
        chain
    }

    pub fn children(&self, id: &str) -> Vec<&AdminUnit> {
        self.by_id
            .get(id)
            .map(|&i| self.children[i].iter().map(|&c| &self.units[c]).collect())
            .unwrap_or_default()
    }

    /// The unit and everything below it, in tree order, kept to `tiers` (all when empty).
    /// `None` when there is no such unit.
    pub fn subtree(&self, id: &str, tiers: &[String]) -> Option<Vec<&AdminUnit>> {
        let &i = self.by_id.get(id)?;
        Some(
            self.units[i..self.subtree_end[i]]
                .iter()
                .filter(|u| tiers.is_empty() || tiers.contains(&u.tier))
                .collect(),
        )
    }

    /// Whether `id` is `ancestor` or below it.
    pub fn is_within(&self, id: &str, ancestor: &str) -> bool {
        match (self.by_id.get(id), self.by_id.get(ancestor)) {
            (Some(&i), Some(&a)) => a <= i && i < self.subtree_end[a],
            _ => false,
        }
    }

    /// Units whose name or code contains every word of `query`, ignoring case and diacritics;
    /// shallower tiers first, then tree order. `tier` keeps one tier.
    pub fn search(&self, query: &str, tier: Option<&str>, limit: usize) -> Vec<&AdminUnit> {
        let words: Vec<String> = fold(query).split_whitespace().map(String::from).collect();
        let mut hits: Vec<usize> = (0..self.units.len())
            .filter(|&i| {
                let u = &self.units[i];
                tier.is_none_or(|t| u.tier == t)
                    && words.iter().all(|w| {
                        self.folded_names[i].contains(w.as_str())
                            || u.code.to_lowercase().contains(w.as_str())
                    })
            })
            .collect();
        hits.sort_by_key(|&i| (self.tier_of[i], i));
        hits.into_iter()
            .take(limit)
            .map(|i| &self.units[i])
            .collect()
    }
}

/// Lower-case and strip Vietnamese diacritics ("Đại Từ" → "dai tu").
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !('\u{0300}'..='\u{036f}').contains(c))
        .map(|c| match c {
            'đ' | 'Đ' => 'd',
            c => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_directory_loads() {
        let d = Directory::from_json(DEFAULT_DIRECTORY).unwrap();
        assert_eq!(d.len(), 200);
        assert_eq!(d.root().id, "province:19");
        assert_eq!(d.root().name, "Tỉnh Thái Nguyên");
        assert_eq!(d.tiers(), ["province", "district", "commune"]);
        // Departments sit in the province tier, under the province.
        let dept = d.get("province:19-S01").unwrap();
        assert_eq!(dept.parent.as_deref(), Some("province:19"));
    }

    #[test]
    fn the_post_reform_province_directory_loads() {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/units/thai-nguyen-2025.json");
        let d = Directory::load(&path).unwrap();
        assert_eq!(d.len(), 93);
        assert_eq!(d.tiers(), ["province", "commune"]);
        assert_eq!(d.children("province:19").len(), 92);
    }

    /// The national file reuses codes across tiers (province "4" is Cao Bằng, commune "4" is
    /// Phường Ba Đình): ids carry the tier, and a parent code resolves in the nearest tier.
    #[test]
    fn the_national_directory_loads_with_codes_shared_across_tiers() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data/units/vietnam-2025.json");
        let d = Directory::load(&path).unwrap();
        assert_eq!(d.len(), 3356);
        assert_eq!(d.root().id, "national:VN");
        assert_eq!(d.get("province:4").unwrap().name, "Cao Bằng");
        let ba_dinh = d.get("commune:4").unwrap();
        assert_eq!(ba_dinh.name, "Phường Ba Đình");
        assert_eq!(ba_dinh.parent.as_deref(), Some("province:1"));
        let ancestors: Vec<&str> = d
            .ancestors("commune:4")
            .iter()
            .map(|u| u.id.as_str())
            .collect();
        assert_eq!(ancestors, ["national:VN", "province:1"]);
        // A commune whose parent code is also a commune's code belongs to the province.
        let cao_bang = d.children("province:4");
        assert!(!cao_bang.is_empty());
        assert!(cao_bang.iter().all(|u| u.tier == "commune"));
        assert!(d.children("commune:4").is_empty());
        assert!(d.units().iter().all(|u| {
            u.tier == "national"
                || u.parent
                    .as_deref()
                    .is_some_and(|p| !p.starts_with("commune:"))
        }));
        assert!(d.is_within("commune:4", "national:VN"));
        assert!(!d.is_within("commune:4", "province:4"));
        let communes = d.subtree("national:VN", &["commune".into()]).unwrap();
        assert_eq!(communes.len(), 3321);
    }

    #[test]
    fn subtrees_by_tier_and_tree_order() {
        let d = Directory::from_json(DEFAULT_DIRECTORY).unwrap();
        let dai_tu = d.search("huyen dai tu", Some("district"), 5)[0];
        assert_eq!(dai_tu.name, "Huyện Đại Từ");
        let all = d.subtree(&dai_tu.id, &[]).unwrap();
        assert_eq!(all[0].id, dai_tu.id, "the root comes first");
        let communes = d.subtree(&dai_tu.id, &["commune".into()]).unwrap();
        assert_eq!(communes.len(), all.len() - 1);
        assert!(
            communes
                .iter()
                .all(|u| u.parent.as_deref() == Some(dai_tu.id.as_str()))
        );
        assert_eq!(d.children(&dai_tu.id).len(), communes.len());
        assert!(d.subtree("province:nope", &[]).is_none());
        // The whole tree is in pre-order: every parent before its children.
        let position: HashMap<&str, usize> = d
            .units()
            .iter()
            .enumerate()
            .map(|(i, u)| (u.id.as_str(), i))
            .collect();
        for (i, u) in d.units().iter().enumerate() {
            if let Some(p) = &u.parent {
                assert!(position[p.as_str()] < i);
            }
        }
    }

    #[test]
    fn search_ignores_diacritics_and_case() {
        let d = Directory::from_json(DEFAULT_DIRECTORY).unwrap();
        assert_eq!(fold("Đại Từ"), "dai tu");
        let hits = d.search("thai nguyen", None, 5);
        assert_eq!(hits[0].name, "Tỉnh Thái Nguyên");
        let hits = d.search("DAI TU", None, 50);
        assert!(hits.iter().any(|u| u.name.contains("Đại Từ")), "{hits:?}");
        assert!(d.search("no such place zzz", None, 5).is_empty());
        assert!(
            d.search("dai", Some("commune"), 50)
                .iter()
                .all(|u| u.tier == "commune")
        );
    }

    #[test]
    fn inconsistent_directories_are_refused() {
        let dup = r#"{"source":"t","tiers":["province"],"units":[
            {"code":"1","name":"A","kind":"k","tier":"province","parent":null},
            {"code":"1","name":"B","kind":"k","tier":"province","parent":null}]}"#;
        assert!(matches!(
            Directory::from_json(dup),
            Err(DirectoryError::Invalid(_))
        ));
        let orphan = r#"{"source":"t","tiers":["province"],"units":[
            {"code":"1","name":"A","kind":"k","tier":"province","parent":"9"}]}"#;
        assert!(matches!(
            Directory::from_json(orphan),
            Err(DirectoryError::Invalid(_))
        ));
        assert!(matches!(
            Directory::from_json("{}"),
            Err(DirectoryError::Parse(_))
        ));
        let cycle = r#"{"source":"t","tiers":["province"],"units":[
            {"code":"1","name":"A","kind":"k","tier":"province","parent":null},
            {"code":"2","name":"B","kind":"k","tier":"province","parent":"3"},
            {"code":"3","name":"C","kind":"k","tier":"province","parent":"2"}]}"#;
        assert!(matches!(
            Directory::from_json(cycle),
            Err(DirectoryError::Invalid(m)) if m.contains("cycle")
        ));
        // A parent may not sit in a deeper tier than its child.
        let upside_down = r#"{"source":"t","tiers":["province","commune"],"units":[
            {"code":"1","name":"A","kind":"k","tier":"commune","parent":null},
            {"code":"2","name":"B","kind":"k","tier":"province","parent":"1"}]}"#;
        assert!(Directory::from_json(upside_down).is_err());
    }
}
