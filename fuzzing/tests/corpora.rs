//! Every fuzz target over its corpus (`fuzz/corpus/<target>/`: seeds and what the fuzzer kept)
//! and its regressions (`fuzz/regressions/<target>/`: every crash ever found), without the
//! fuzzer, on stable: a crash fixed once stays fixed. See docs/fuzzing.md.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use cau_fuzzing::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The files of `dir`, sorted; the directory must exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let entries = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e} (every target has this directory)", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// Run `target` over `inputs`; the names of the inputs it panicked on.
fn run(target: fn(&[u8]), inputs: &[PathBuf]) -> Vec<String> {
    let mut failed = vec![];
    for path in inputs {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        if catch_unwind(AssertUnwindSafe(|| target(&data))).is_err() {
            failed.push(path.display().to_string());
        }
    }
    failed
}

#[test]
fn every_target_passes_its_corpus_and_its_regressions() {
    let root = fuzz_dir();
    let mut failed = vec![];
    for &(name, target) in TARGETS {
        let corpus = files(&root.join("corpus").join(name));
        assert!(
            !corpus.is_empty(),
            "fuzz/corpus/{name}/ is empty: it holds at least the hand-made seeds"
        );
        let regressions = files(&root.join("regressions").join(name));
        failed.extend(run(target, &corpus));
        failed.extend(run(target, &regressions));
        eprintln!(
            "{name}: {} corpus inputs, {} regression inputs",
            corpus.len(),
            regressions.len()
        );
    }
    assert!(failed.is_empty(), "inputs that fail: {failed:#?}");
}

/// The targets here and the cargo-fuzz project's agree: each has its `fuzz_targets/*.rs`,
/// its `[[bin]]` and its corpus, and nothing is left without a function.
#[test]
fn the_fuzz_project_has_exactly_these_targets() {
    let root = fuzz_dir();
    let mut want: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
    want.sort_unstable();
    let mut sources: Vec<String> = files(&root.join("fuzz_targets"))
        .iter()
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_string()))
        .collect();
    sources.sort();
    assert_eq!(sources, want, "fuzz/fuzz_targets/*.rs");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("fuzz/Cargo.toml");
    for name in &want {
        let bin = format!("name = \"{name}\"\npath = \"fuzz_targets/{name}.rs\"");
        assert!(
            manifest.contains(&bin),
            "fuzz/Cargo.toml has no [[bin]] {name}"
        );
        let body = std::fs::read_to_string(root.join(format!("fuzz_targets/{name}.rs"))).unwrap();
        assert!(
            body.contains(&format!("cau_fuzzing::{name}(data)")),
            "fuzz_targets/{name}.rs calls cau_fuzzing::{name}"
        );
    }
    let mut corpora: Vec<String> = std::fs::read_dir(root.join("corpus"))
        .expect("fuzz/corpus")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    corpora.sort();
    assert_eq!(corpora, want, "fuzz/corpus/*");
}

/// The hand-made seeds are what their names say — valid ones accepted — so that the fuzzer
/// starts from inputs that go deep, and a change of format that leaves them behind is seen.
#[test]
fn the_valid_seeds_are_accepted() {
    let corpus = fuzz_dir().join("corpus");
    let read = |t: &str, f: &str| {
        std::fs::read(corpus.join(t).join(f)).unwrap_or_else(|e| panic!("{t}/{f}: {e}"))
    };
    let text = |t: &str, f: &str| String::from_utf8(read(t, f)).expect("a text seed");

    for f in files(&corpus.join("ws_message")) {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("seed-") {
            let t = std::fs::read_to_string(&f).unwrap();
            assert!(
                signaling::protocol::decode_client(&t).is_ok(),
                "ws_message/{name}"
            );
        }
    }

    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let now = std::time::Instant::now();
    let local = "10.0.0.1:10000".parse().unwrap();
    let mut engine = sfu::Engine::new(sfu::SfuConfig::default(), vec![local], now);
    for (i, f) in ["seed-chromium-offer.sdp", "seed-audio-only-offer.sdp"]
        .iter()
        .enumerate()
    {
        let id = sfu::EndpointId(i as u64 + 1);
        let answered = engine.join(now, sfu::SessionId(1), id, &text("sdp", f), tx.clone());
        assert!(answered.is_ok(), "sdp/{f}: {answered:?}");
    }
    assert!(str0m::change::SdpAnswer::from_sdp_string(&text("sdp", "seed-answer.sdp")).is_ok());

    let key = signaling::tokens::TokenKey::from_bytes(cau_fuzzing::TOKEN_KEY);
    for f in ["seed-official.txt", "seed-chair.txt"] {
        assert!(
            key.verify(&text("join_token", f)).is_some(),
            "join_token/{f}"
        );
    }

    for f in [
        "seed-three-tiers.json",
        "seed-two-tiers.json",
        "seed-shared-codes.json",
    ] {
        let loaded = signaling::directory::Directory::from_json(&text("directory", f));
        assert!(loaded.is_ok(), "directory/{f}: {:?}", loaded.err());
    }

    for f in ["seed-manifest.json", "seed-interrupted.json"] {
        let parsed = recorder::session::parse_manifest(&read("manifest", f));
        assert!(parsed.is_ok(), "manifest/{f}: {parsed:?}");
    }
    assert_eq!(
        recorder::webm::blocks(&read("manifest", "seed-live-webm.bin")),
        [(1000, 1, 0, true), (1000, 2, 20, false)]
    );

    for f in ["seed-short-keyframe.bin", "seed-chromium-keyframe.bin"] {
        assert!(
            sfu::core::codec::vp8_keyframe_start(&read("vp8_descriptor", f)),
            "vp8_descriptor/{f}"
        );
    }
    let red = read("red", "seed-one-redundant.bin");
    assert!(sfu::core::red::parse(&red).unwrap().previous.is_some());
}
