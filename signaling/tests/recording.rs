//! A recorded meeting through the real hub: simulated str0m endpoints over real UDP, the
//! in-process recorder fed by the media plane. When the session ends, every participant's
//! file is finalised and listed in the session's manifest with its checksum; the chair's and
//! the speaker's cameras are recorded, a silent official's camera is not, everyone's
//! microphone is; the speaker's turn is on the manifest's timeline. (That the files decode
//! is shown with a real clip in `recorder/tests/record_clip.rs`; these endpoints send
//! tagged bytes, not a codec's.)

mod common;

use std::time::Duration;

use common::{SimEndpoint, SimOptions, plan_recorded_meeting, start_hub, wait_until};

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
    assert!(
        wait_until(Duration::from_secs(20), || everyone.iter().all(|e| e
            .seen
            .lock()
            .unwrap()
            .connected))
        .await
    );
    // An speaks for two seconds: the dominant speaker, its camera recorded.
    an.seen.lock().unwrap().speaking = true;
    tokio::time::sleep(Duration::from_secs(2)).await;
    an.seen.lock().unwrap().speaking = false;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let sent_audio: Vec<u32> = everyone
        .iter()
        .map(|e| e.seen.lock().unwrap().sent[&str0m::media::MediaKind::Audio])
        .collect();
    for e in [chair, an, binh] {
        e.stop().await;
    }

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
