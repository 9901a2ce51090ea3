//! A recorded meeting through the real hub: simulated str0m endpoints over real UDP, the
//! in-process recorder fed by the media plane. When the session ends, every participant's
//! file is finalised and listed in the session's manifest with its checksum; the chair's and
//! the speaker's cameras are recorded, a silent official's camera is not, everyone's
//! microphone is; the speaker's turn is on the manifest's timeline. (That the files decode
//! is shown with a real clip in `recorder/tests/record_clip.rs`; these endpoints send
//! tagged bytes, not a codec's.)

mod common;

use std::time::Duration;

use common::{
    SimEndpoint, SimOptions, all_connected, plan_recorded_meeting, start_hub, wait_until,
};

const UNITS: [&str; 2] = ["district:164", "commune:5431"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorded_session_leaves_a_file_per_participant_and_a_manifest() {
    let hub = start_hub("recording").await;
    let meeting = plan_recorded_meeting(&hub.hub, "province:19", &UNITS).await;
    let chair = SimEndpoint::join_with(
        hub.addr,
        &meeting,
        "province:19",
        "chair",
        SimOptions {
            chair: true,
            ..Default::default()
        },
    )
    .await;
    let an = SimEndpoint::join(hub.addr, &meeting, UNITS[0], "an").await;
    let binh = SimEndpoint::join(hub.addr, &meeting, UNITS[1], "binh").await;
    let (chair_id, an_id, binh_id) = (chair.id(), an.id(), binh.id());
    let everyone = [&chair, &an, &binh];
    assert!(all_connected(&everyone).await);
    // An speaks for two seconds: the dominant speaker, its camera recorded.
    an.seen.lock().unwrap().speaking = true;
    tokio::time::sleep(Duration::from_secs(2)).await;
    an.seen.lock().unwrap().speaking = false;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let seen: Vec<_> = everyone.iter().map(|e| e.seen.clone()).collect();
    for e in [chair, an, binh] {
        e.stop().await;
    }
    // What each sent, all told (it sends until it leaves).
    let sent_audio: Vec<u32> = seen
        .iter()
        .map(|s| s.lock().unwrap().sent[&str0m::media::MediaKind::Audio])
        .collect();

    let dir = hub
        .hub
        .recordings_dir()
        .unwrap()
        .join(meeting.id.to_string());
    let manifest_path = || {
        std::fs::read_dir(&dir)
            .ok()?
            .flatten()
            .map(|s| s.path().join(recorder::session::MANIFEST))
            .find(|m| m.exists())
    };
    assert!(
        wait_until(Duration::from_secs(30), || manifest_path().is_some()).await,
        "the manifest is written when the session ends"
    );
    let path = manifest_path().unwrap();
    let session_dir = path.parent().unwrap().to_path_buf();
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&m).unwrap());
    assert_eq!(m["format"], 1);
    assert_eq!(m["meeting_id"], meeting.id);
    assert_eq!(m["host_unit"], "province:19");
    assert_eq!(m["problems"], serde_json::json!([]));
    let ids: Vec<&str> = m["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["participant_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [chair_id.as_str(), an_id.as_str(), binh_id.as_str()]);
    assert!(
        m["participants"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["left_at"].is_i64())
    );
    let attending: Vec<&str> = m["attending"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    assert_eq!(attending, ["commune:5431", "district:164", "province:19"]);

    // A file per participant, finalised, its checksum the file's; no `.part` left.
    let files = m["files"].as_array().unwrap();
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(
        recorder::finalise::leftovers(&session_dir)
            .unwrap()
            .is_empty()
    );
    for (i, id) in [&chair_id, &an_id, &binh_id].into_iter().enumerate() {
        let f = files
            .iter()
            .find(|f| f["participant_id"] == id.as_str())
            .unwrap_or_else(|| panic!("no file of {id}"));
        assert_eq!(f["content"], "participant");
        let file = session_dir.join(f["name"].as_str().unwrap());
        assert_eq!(
            f["sha256"].as_str().unwrap(),
            recorder::finalise::sha256_file(&file).unwrap()
        );
        let bytes = std::fs::read(&file).unwrap();
        assert_eq!(f["bytes"].as_u64(), Some(bytes.len() as u64));
        let blocks = recorder::webm::blocks(&bytes);
        let audio = blocks.iter().filter(|b| b.1 == 1).count() as u32;
        let video = blocks.iter().filter(|b| b.1 == 2).count();
        // Nearly every audio packet sent (the last few may have been in flight at leave).
        assert!(
            audio + 25 >= sent_audio[i] && audio <= sent_audio[i],
            "{id}: {audio} of {} audio packets recorded",
            sent_audio[i]
        );
        if id == &binh_id {
            assert_eq!(video, 0, "a silent official's camera is not recorded");
        } else {
            assert!(video > 30, "{id}: {video} video frames recorded");
        }
        assert!(f["offset_ms"].as_i64().unwrap() >= 0);
    }
    // An's turn is on the timeline.
    let turns: Vec<&serde_json::Value> = m["speakers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["participant_id"] == an_id.as_str())
        .collect();
    assert_eq!(turns.len(), 1, "{turns:?}");
    let length = turns[0]["to_ms"].as_i64().unwrap() - turns[0]["from_ms"].as_i64().unwrap();
    assert!((1000..=3000).contains(&length), "{length} ms");
}

/// The `cau` binary on `data_dir`, listening on a free port of 127.0.0.1.
/// A recorder that cannot write (its meeting's directory taken by a file) fails on its own:
/// the meeting goes on, media flowing both ways, and the catalogue says the recording is
/// damaged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_recorder_leaves_the_meeting_going() {
    use str0m::media::MediaKind;
    let hub = start_hub("recorder-fails").await;
    let meeting = plan_recorded_meeting(&hub.hub, "province:19", &UNITS).await;
    let root = hub.hub.recordings_dir().unwrap();
    std::fs::create_dir_all(root).unwrap();
    std::fs::write(root.join(meeting.id.to_string()), b"not a directory").unwrap();
    let chair = SimEndpoint::join_with(
        hub.addr,
        &meeting,
        "province:19",
        "chair",
        SimOptions {
            chair: true,
            ..Default::default()
        },
    )
    .await;
    let an = SimEndpoint::join(hub.addr, &meeting, UNITS[0], "an").await;
    assert!(all_connected(&[&chair, &an]).await);
    let state = || {
        let db = hub.hub.db().clone();
        let meeting = meeting.id;
        async move {
            db.call(move |c| {
                c.query_row(
                    "SELECT state FROM recordings WHERE meeting_id = ?1",
                    [meeting],
                    |r| r.get::<_, String>(0),
                )
            })
            .await
            .ok()
        }
    };
    let mut damaged = false;
    for _ in 0..100 {
        if state().await.as_deref() == Some("damaged") {
            damaged = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(damaged, "catalogued as damaged: {:?}", state().await);
    // After the failure, media still flows both ways.
    let before = (
        an.received_from("chair", MediaKind::Video),
        chair.received_from("an", MediaKind::Audio),
    );
    assert!(
        wait_until(Duration::from_secs(5), || {
            an.received_from("chair", MediaKind::Video) > before.0 + 30
                && chair.received_from("an", MediaKind::Audio) > before.1 + 50
        })
        .await,
        "the meeting goes on"
    );
    assert!(hub.hub.rooms().await.iter().any(|r| r.participants == 2));
    chair.stop().await;
    an.stop().await;
}

fn spawn_cau(
    data_dir: &std::path::Path,
    name: &str,
) -> (std::process::Child, std::net::SocketAddr) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let addr: std::net::SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let log = std::fs::File::create(data_dir.with_extension(format!("{name}.log"))).unwrap();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_cau"))
        .args([
            "--listen",
            &addr.to_string(),
            "--public-ip",
            "127.0.0.1",
            "--udp-port",
            "0",
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("cau starts");
    (child, addr)
}

async fn listening(addr: std::net::SocketAddr) -> bool {
    wait_until(Duration::from_secs(20), || {
        std::net::TcpStream::connect(addr).is_ok()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_killed_mid_session_finalises_its_recording_at_the_next_start() {
    let data_dir = std::env::temp_dir().join(format!("cau-it-killed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    std::fs::create_dir_all(&data_dir).unwrap();
    // The meeting is planned straight into the hub's database, with its join-token key.
    let key = signaling::tokens::TokenKey::load_or_create(
        &data_dir.join(signaling::tokens::KEY_FILE),
        true,
    )
    .unwrap();
    let planner = signaling::rooms::Hub::new(
        signaling::directory::Directory::from_json(signaling::directory::DEFAULT_DIRECTORY)
            .unwrap(),
        signaling::db::Db::open(&data_dir).unwrap(),
        sfu::start(sfu::SfuConfig::default()).await.unwrap(),
        vec![],
        key,
        None,
    );
    let meeting = plan_recorded_meeting(&planner, "province:19", &UNITS).await;

    let (mut cau, addr) = spawn_cau(&data_dir, "first");
    assert!(listening(addr).await, "cau listens");
    let an = SimEndpoint::join(addr, &meeting, UNITS[0], "an").await;
    let binh = SimEndpoint::join(addr, &meeting, UNITS[1], "binh").await;
    an.seen.lock().unwrap().speaking = true;
    assert!(
        wait_until(Duration::from_secs(20), || [&an, &binh].iter().all(|e| e
            .seen
            .lock()
            .unwrap()
            .sent
            .get(&str0m::media::MediaKind::Audio)
            .copied()
            .unwrap_or(0)
            > 150))
        .await,
        "3 s of media sent"
    );
    // SIGKILL: no goodbye, nothing flushed but what the recorder already had.
    cau.kill().unwrap();
    cau.wait().unwrap();
    an.vanish();
    binh.vanish();

    let session_dir = std::fs::read_dir(data_dir.join("recordings").join(meeting.id.to_string()))
        .unwrap()
        .flatten()
        .next()
        .expect("a session directory")
        .path();
    assert!(!recorder::session::is_finished(&session_dir));
    let parts = recorder::finalise::leftovers(&session_dir).unwrap();
    assert_eq!(parts.len(), 2, "{parts:?}");
    // What the recorder had flushed before the kill reads back: whole clusters of blocks.
    for part in &parts {
        let blocks = recorder::webm::blocks(&std::fs::read(part).unwrap());
        assert!(
            blocks.len() > 25,
            "{}: {} blocks",
            part.display(),
            blocks.len()
        );
    }

    // The next start finishes it: files finalised, the manifest marked interrupted.
    let (mut cau, addr) = spawn_cau(&data_dir, "second");
    assert!(listening(addr).await);
    let finished = wait_until(Duration::from_secs(30), || {
        recorder::session::is_finished(&session_dir)
    })
    .await;
    cau.kill().unwrap();
    cau.wait().unwrap();
    assert!(finished, "the manifest is written at the next start");
    let m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(session_dir.join(recorder::session::MANIFEST)).unwrap(),
    )
    .unwrap();
    eprintln!("{}", serde_json::to_string_pretty(&m).unwrap());
    assert_eq!(m["interrupted"], true);
    assert_eq!(m["meeting_id"], meeting.id);
    assert_eq!(m["participants"].as_array().unwrap().len(), 2);
    let files = m["files"].as_array().unwrap();
    assert_eq!(files.len(), 2);
    assert!(
        recorder::finalise::leftovers(&session_dir)
            .unwrap()
            .is_empty()
    );
    for f in files {
        let file = session_dir.join(f["name"].as_str().unwrap());
        assert_eq!(
            f["sha256"].as_str().unwrap(),
            recorder::finalise::sha256_file(&file).unwrap()
        );
        let blocks = recorder::webm::blocks(&std::fs::read(&file).unwrap());
        assert!(
            blocks.len() > 25,
            "{}: {} blocks after finalising",
            file.display(),
            blocks.len()
        );
    }
    let _ = std::fs::remove_dir_all(&data_dir);
}
