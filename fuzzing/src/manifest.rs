//! `manifest`: a session's `manifest.json` read back from disk ([`parse_manifest`]: a
//! session directory put back from a copy is catalogued from it), and the same bytes as a
//! recording file walked by [`recorder::webm::blocks`] (the EBML reader the recording checks
//! use on `.part` files).
//!
//! A manifest accepted names only plain files of its own directory, and reads back the same
//! once written again (`write_manifest` pretty-prints it).

use recorder::session::{FORMAT, parse_manifest};

pub fn manifest(data: &[u8]) {
    if let Ok(m) = parse_manifest(data) {
        assert_eq!(m.format, FORMAT);
        let names = m
            .files
            .iter()
            .map(|f| f.name.as_str())
            .chain(m.composite.iter().map(|c| c.name.as_str()));
        for name in names {
            assert!(!name.is_empty() && !name.starts_with('.'), "{name:?}");
            assert!(!name.contains(['/', '\\', '\0']), "{name:?}");
        }
        let written = serde_json::to_vec_pretty(&m).expect("a manifest serialises");
        assert_eq!(parse_manifest(&written).as_ref(), Ok(&m));
    }

    let blocks = recorder::webm::blocks(data);
    // The walk moves on by at least an element's ID and size (2 bytes) each step.
    assert!(blocks.len() <= data.len() / 2, "{} blocks", blocks.len());
}
