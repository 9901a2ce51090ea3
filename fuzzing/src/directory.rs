//! `directory`: a unit directory file (`data/units/*.json`, the format of docs/directory.md),
//! as the hub loads it at start ([`Directory::from_json`]) and as an admin installs it
//! through the API (the same [`DirectoryFile`] validated by [`Directory::from_file`], stored
//! pretty-printed, loaded again at the next start).
//!
//! A directory accepted must be a tree: one root first, every parent before its children,
//! every unit under the root; written back as a file it loads to the same units.

use signaling::directory::{Directory, DirectoryFile, FileUnit, fold};

pub fn directory(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(dir) = Directory::from_json(text) else {
        return;
    };
    tree(&dir);

    // The API's path: the same file, stored pretty-printed, loads to the same directory.
    let file: DirectoryFile = serde_json::from_str(text).expect("it loaded once");
    let stored = serde_json::to_string_pretty(&file).expect("a directory file serialises");
    let reloaded = Directory::from_json(&stored).expect("a stored directory loads again");
    assert_eq!(reloaded.units(), dir.units());

    // Written back from its units (tree order), it loads to the same units in the same order.
    let units = dir
        .units()
        .iter()
        .map(|u| FileUnit {
            code: u.code.clone(),
            name: u.name.clone(),
            kind: u.kind.clone(),
            tier: u.tier.clone(),
            parent: u.parent.as_deref().map(|p| {
                dir.get(p)
                    .expect("a parent is in the directory")
                    .code
                    .clone()
            }),
        })
        .collect();
    let again = Directory::from_file(DirectoryFile {
        source: dir.source().to_string(),
        tiers: dir.tiers().to_vec(),
        units,
    })
    .expect("a directory written back loads");
    assert_eq!(again.units(), dir.units());
}

fn tree(dir: &Directory) {
    assert!(!dir.is_empty());
    let root = dir.root();
    assert!(root.parent.is_none());
    let all = dir.subtree(&root.id, &[]).expect("the root is in it");
    assert_eq!(all.len(), dir.len(), "every unit is under the root");
    let mut children = 0;
    for (i, u) in dir.units().iter().enumerate() {
        assert_eq!(dir.get(&u.id), Some(u), "the index finds {}", u.id);
        assert!(dir.tiers().contains(&u.tier));
        if i > 0 {
            let p = u.parent.as_deref().expect("one root only");
            let at = dir.units().iter().position(|x| x.id == p);
            assert!(at.is_some_and(|at| at < i), "{p} comes before {}", u.id);
        }
        let chain = dir.ancestors(&u.id);
        assert_eq!(chain.first().map(|a| &a.id), (i > 0).then_some(&root.id));
        assert!(dir.is_within(&u.id, &root.id));
        for c in dir.children(&u.id) {
            assert_eq!(c.parent.as_deref(), Some(u.id.as_str()));
            assert!(dir.is_within(&c.id, &u.id));
            children += 1;
        }
        let below = dir.subtree(&u.id, &[]).expect("it is in it");
        assert_eq!(below.first().map(|b| &b.id), Some(&u.id));
    }
    assert_eq!(children, dir.len() - 1);
    // Search by a unit's own name finds something (the name folds to words it contains).
    for u in dir.units().iter().take(8) {
        let _ = fold(&u.name);
        assert!(!dir.search(&u.name, None, 10).is_empty(), "{:?}", u.name);
    }
}
