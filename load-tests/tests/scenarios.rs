//! Each `cau-load` scenario, small, against a real `cau` process started by the tool the way
//! `cau-load` starts it (fresh data directory, an account made with `cau admin create-user`,
//! meetings planned through the API, real join links, real WebRTC).
//!
//! These assert correctness only — everyone joined, every expected stream arrived whole,
//! nothing was lost on a clean link, no stream crossed into another meeting, and nothing is
//! left in the hub afterwards — never a wall-clock time or a CPU figure (those belong in
//! `docs/benchmarks.md`). The media is lighter than the tool's defaults (a few cameras at
//! 300 kbit/s) so the debug build on two cores carries it with room to spare.
//!
//! nextest runs these one at a time with nothing beside them (`.config/nextest.toml`).

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use load_tests::hub::{Hub, StartOptions, read_links_file};
use load_tests::impair::{Impairment, Outage};
use load_tests::media::{AudioConfig, VideoConfig};
use load_tests::report::Report;
use load_tests::run::Timing;
use load_tests::scenarios::{self, Common, GivenLinks};
use signaling::protocol::ReceiveMode;

/// Heap the hub may keep after a run (caches, maps that keep their capacity): far less than
/// what one endpoint holds while connected (several MB, mostly its retransmission caches).
const HEAP_SLACK_MB: f64 = 1.0;

/// The `cau` binary of the same build as this test (`target/<profile>/cau`), or `CAU_BIN`.
///
/// Cargo builds `cau` with the workspace's tests, but not when only this package is tested,
/// and a stale `cau` would test yesterday's hub: so the test asks cargo to bring it up to
/// date first (cargo holds no lock while tests run). That build resolves features for
/// `signaling` alone, not as the test build did, so the first time it builds the hub and its
/// dependencies again (minutes on two cores); `scripts/test` passes the release `cau` its
/// build stage made in `CAU_BIN` instead.
fn cau_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("CAU_BIN") {
        return bin.into();
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/scenarios-HASH → target/<profile>
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test executable in target/<profile>/deps");
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev",
        Some(other) => other,
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let built = std::process::Command::new(cargo)
        .args([
            "build",
            "--quiet",
            "-p",
            "signaling",
            "--bin",
            "cau",
            "--profile",
            profile,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo runs");
    assert!(built.success(), "cargo could not build cau");
    let cau = profile_dir.join(format!("cau{}", std::env::consts::EXE_SUFFIX));
    assert!(cau.exists(), "{} is missing after the build", cau.display());
    cau
}

async fn start_hub(name: &str) -> Hub {
    let ip: IpAddr = [127, 0, 0, 1].into();
    let opts = StartOptions {
        cau: cau_binary(),
        ip,
        data_dir: std::env::temp_dir().join(format!("cau-load-test-{name}-{}", std::process::id())),
        directory: None,
    };
    Hub::start(&opts).await.expect("the hub starts")
}

fn common(video_publishers: u32, duration_s: u64) -> Common {
    Common {
        timing: Timing {
            ramp: Duration::from_secs(2),
            settle: Duration::from_secs(1),
            duration: Duration::from_secs(duration_s),
            grace: Duration::from_secs(1),
        },
        talkers: 2,
        talk_turn: Duration::from_secs(2),
        audio: AudioConfig::default(),
        video: VideoConfig {
            bitrate_kbps: 300,
            fps: 15,
            ..VideoConfig::default()
        },
        video_publishers: Some(video_publishers),
        // Every video at its lowest layer: one steady stream per camera, so every packet of
        // the window is accounted for (`auto` switches the chair's tile up as the bandwidth
        // estimate grows, which the benchmark runs show instead).
        receive: ReceiveMode::Low,
        bind_ip: [127, 0, 0, 1].into(),
        seed: 7,
        clip: None,
    }
}

/// What every run must show, whatever the scenario.
fn assert_clean_run(r: &Report) {
    let table = r.table();
    assert_eq!(r.endpoints_connected, r.endpoints_requested, "{table}");
    assert_eq!(
        r.endpoints_left, r.endpoints_requested,
        "everyone left as planned\n{table}"
    );
    assert_eq!(r.endpoints_failed, 0, "{table}");
    assert_eq!(r.errors.count, 0, "{table}");
    assert_eq!(
        r.media.streams_missing, 0,
        "every expected stream arrived\n{table}"
    );
    assert_eq!(
        r.media.streams_unexpected, 0,
        "no stream from another meeting\n{table}"
    );
    assert_eq!(r.media.damaged, 0, "every payload arrived whole\n{table}");
    assert_eq!(r.media.untagged, 0, "every packet was one of ours\n{table}");
    assert!(r.media.packets_expected > 0, "{table}");
    let left = r
        .leftovers
        .as_ref()
        .expect("the hub's counters after the run");
    assert!(left.is_clean(), "nothing left in the hub\n{table}");
    let growth = left
        .heap_growth_mb()
        .expect("the cau binary reports its heap");
    assert!(
        growth < HEAP_SLACK_MB,
        "the hub holds {growth:.2} MB more heap than before the run\n{table}"
    );
    let server = r.server.as_ref().expect("the hub's process was sampled");
    assert!(server.pps_in > 0.0 && server.pps_out > 0.0, "{table}");
    assert_eq!(server.datagrams_dropped, 0.0, "the hub kept up\n{table}");
}

/// What the receivers of a meeting of `n` endpoints, `video` of whom have their camera on,
/// must get throughout, with the hub's default slots (11 video, 3 loudest audio, no chair
/// or floor among the simulated endpoints): every camera but their own — all of them fit
/// in the slots, as thumbnails (`q`) — and at most three audio streams each, never more.
fn assert_last_n_and_top_k(r: &Report, media: &load_tests::report::Media, n: u64, video: u64) {
    assert_eq!(
        media.video_streams,
        video * (n - 1),
        "every camera reaches every other receiver throughout\n{}",
        r.table()
    );
    let audio = media.streams - media.video_streams;
    assert!(
        audio <= 3 * n,
        "at most the 3 loudest audio streams per receiver: {audio}\n{}",
        r.table()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn province_small_everyone_receives_everyone() {
    let hub = start_hub("province").await;
    let r = scenarios::province(&hub, &common(3, 8), 12, None)
        .await
        .expect("province runs");
    hub.stop().await;
    assert_clean_run(&r);
    assert_last_n_and_top_k(&r, &r.media, 12, 3);
    assert_eq!(
        r.media.packets_received,
        r.media.packets_expected,
        "no loss on a clean link\n{}",
        r.table()
    );
    assert_eq!(r.media.duplicates, 0, "{}", r.table());
    // One offer each from the hub — the receive slots — however many joined after them.
    assert_eq!(r.offers_per_endpoint.max, 1, "{}", r.table());
    assert!(r.links.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn province_from_a_links_file() {
    let hub = start_hub("links").await;
    let c = common(1, 4);
    // A scheduler plans the meeting and downloads its links; the tool takes the file.
    let meeting = scenarios::province_meeting(&hub, "links file", &c)
        .await
        .unwrap();
    let csv = hub.links_csv(meeting.id).await.unwrap();
    let file = std::env::temp_dir().join(format!("cau-load-links-{}.csv", std::process::id()));
    std::fs::write(&file, csv).unwrap();
    let links = read_links_file(&file).unwrap();
    let _ = std::fs::remove_file(&file);
    assert!(links.len() > 100, "a link per invited unit and the chair's");
    assert!(links.iter().all(|l| l.meeting == meeting.id));
    let r = scenarios::province(&hub, &c, 4, Some(&GivenLinks(links)))
        .await
        .unwrap();
    hub.stop().await;
    assert_clean_run(&r);
    assert_last_n_and_top_k(&r, &r.media, 4, 1);
    assert_eq!(
        r.media.packets_received,
        r.media.packets_expected,
        "{}",
        r.table()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiers_small_sessions_stay_apart() {
    let hub = start_hub("tiers").await;
    // The province session and two districts' sessions, four units each; each chair's
    // camera on (the first endpoint of each session).
    let mut c = common(0, 6);
    c.video_publishers = None;
    c.video.bitrate_kbps = 150;
    let r = scenarios::tiers(&hub, &c, Some(2), Some(4)).await.unwrap();
    hub.stop().await;
    assert_clean_run(&r);
    assert_eq!(r.sessions, 3);
    assert_eq!(r.endpoints_requested, 12);
    // Three meetings of four, everyone with a camera: each receiver gets the 3 others'
    // cameras (and at most 3 audio streams).
    assert_eq!(r.media.video_streams, 3 * 4 * 3, "{}", r.table());
    assert!(r.media.streams - r.media.video_streams <= 3 * 4 * 3);
    assert_eq!(
        r.media.packets_received,
        r.media.packets_expected,
        "{}",
        r.table()
    );
    let names: Vec<&str> = r.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(
        names,
        ["district sessions", "province session"],
        "{}",
        r.table()
    );
    // Nobody receives anything across sessions: the district → province path is empty.
    assert!(
        r.paths.iter().all(|p| p.from == p.to),
        "streams crossed between sessions\n{}",
        r.table()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_small_leaves_nothing_behind() {
    let hub = start_hub("churn").await;
    let c = common(2, 10);
    let stay = (Duration::from_secs(2), Duration::from_secs(4));
    let r = scenarios::churn(&hub, &c, 6, 8, stay, 0.25).await.unwrap();
    hub.stop().await;
    assert_clean_run(&r);
    assert_eq!(r.endpoints_requested, 14);
    let stable = r.groups.iter().find(|g| g.name == "stable").unwrap();
    assert_eq!(stable.endpoints, 6);
    // The six who stay receive each other throughout, whole, while the others come and go
    // (the two cameras are among them).
    assert_last_n_and_top_k(&r, &stable.media, 6, 2);
    assert_eq!(
        stable.media.packets_received,
        stable.media.packets_expected,
        "{}",
        r.table()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn impaired_small_bad_links_hurt_only_themselves() {
    let hub = start_hub("impaired").await;
    // Every camera on: with twelve endpoints each fits in everyone's slots, so the impaired
    // endpoints' video crosses their bad links steadily (audio comes and goes with the
    // talkers, as the hub forwards only the loudest).
    let mut c = common(3, 10);
    c.video_publishers = None;
    let impairment = Impairment {
        loss: 0.03,
        delay: Duration::from_millis(40),
        jitter: Duration::from_millis(20),
        reorder: 0.02,
        bandwidth_kbps: Some(2_000),
        queue: Duration::from_millis(200),
        // Shorter than the 1.5 s after which the hub stops counting a silent layer as
        // arriving (a longer one pauses the slot, and the stream no longer counts as
        // forwarded throughout).
        outage: Some(Outage {
            start: Duration::from_secs(6),
            length: Duration::from_millis(1200),
        }),
    };
    let r = scenarios::impaired(&hub, &c, 12, 0.34, impairment, None)
        .await
        .unwrap();
    hub.stop().await;
    assert_clean_run(&r);
    let path = |from: &str, to: &str| {
        r.paths
            .iter()
            .find(|p| p.from == from && p.to == to)
            .unwrap_or_else(|| panic!("no {from} → {to} path\n{}", r.table()))
    };
    // Between clean links nothing is lost, whatever the impaired endpoints go through.
    let clean = path("clean", "clean");
    assert!(clean.media.streams > 0);
    assert_eq!(
        clean.media.packets_received,
        clean.media.packets_expected,
        "{}",
        r.table()
    );
    // The links did what they were told, both ways.
    let links = r.links.expect("the impaired links' counters");
    for c in [links.uplink, links.downlink] {
        assert!(c.lost > 0 && c.outage_drops > 0 && c.reordered > 0, "{c:?}");
    }
    // And it shows at the receivers. What a bad downlink drops stays lost for audio (nothing
    // retransmits it), so clean → impaired loses packets. Up a bad uplink the hub asks the
    // publisher again for lost video (NACK), and audio is forwarded only from the loudest, so
    // impaired → clean may lose nothing at all — but never more than its uplinks dropped.
    let clean_to_impaired = path("clean", "impaired").media.loss_pct;
    assert!(
        clean_to_impaired > 0.0,
        "clean → impaired lost nothing\n{}",
        r.table()
    );
    let up = links.uplink;
    let dropped = (up.lost + up.outage_drops + up.queue_drops) as f64 * 100.0 / up.offered as f64;
    let impaired_to_clean = path("impaired", "clean").media.loss_pct;
    assert!(
        impaired_to_clean <= dropped,
        "impaired → clean lost {impaired_to_clean} %, more than the uplinks dropped ({dropped} %)\n{}",
        r.table()
    );
    let impaired = r.groups.iter().find(|g| g.name == "impaired").unwrap();
    assert_eq!(impaired.endpoints, 4);
    assert_eq!(impaired.connected, 4, "an outage does not end a session");
}
