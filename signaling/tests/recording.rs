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

/// The manifest of `meeting`'s recorded session, once written (within 30 s): its path.
async fn written_manifest(hub: &signaling::rooms::Hub, meeting: i64) -> std::path::PathBuf {
    let dir = hub.recordings_dir().unwrap().join(meeting.to_string());
    let manifest = || {
        std::fs::read_dir(&dir)
            .ok()?
            .flatten()
            .map(|s| s.path().join(recorder::session::MANIFEST))
            .find(|m| m.exists())
    };
    assert!(
        wait_until(Duration::from_secs(30), || manifest().is_some()).await,
        "the manifest is written when the session ends"
    );
    manifest().unwrap()
}

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

    let path = written_manifest(&hub.hub, meeting.id).await;
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

/// The `cau` binary on `data_dir`, listening on a free port of 127.0.0.1.
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
    (spawn_cau_at(data_dir, name, addr), addr)
}

/// The `cau` binary on `data_dir`, listening on `addr`.
fn spawn_cau_at(
    data_dir: &std::path::Path,
    name: &str,
    addr: std::net::SocketAddr,
) -> std::process::Child {
    let log = std::fs::File::create(data_dir.with_extension(format!("{name}.log"))).unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_cau"))
        .args([
            "--listen",
            &addr.to_string(),
            "--public-ip",
            "127.0.0.1",
            "--udp-port",
            "0",
            // Recordings stop below 100 MB free (a test machine may have less than the 2 GB
            // default).
            "--disk-reserve-mb",
            "100",
        ])
        .arg("--data-dir")
        .arg(data_dir)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("cau starts")
}

async fn listening(addr: std::net::SocketAddr) -> bool {
    wait_until(Duration::from_secs(20), || {
        std::net::TcpStream::connect(addr).is_ok()
    })
    .await
}

/// A fresh data directory with a recorded meeting of [`UNITS`] planned straight into its
/// database, with its join-token key, for a `cau` process to serve.
async fn planned_in_data_dir(name: &str) -> (std::path::PathBuf, common::Planned) {
    let data_dir = std::env::temp_dir().join(format!("cau-it-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data_dir);
    std::fs::create_dir_all(&data_dir).unwrap();
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
    (data_dir, meeting)
}

/// The directory of `meeting`'s first recorded session under `data_dir`.
fn first_session_dir(data_dir: &std::path::Path, meeting: i64) -> std::path::PathBuf {
    std::fs::read_dir(data_dir.join("recordings").join(meeting.to_string()))
        .unwrap()
        .flatten()
        .next()
        .expect("a session directory")
        .path()
}

/// Once the hub at `addr` listens: "an" (speaking) and "binh" join `meeting` and send 3 s of
/// media.
async fn two_sending(
    addr: std::net::SocketAddr,
    meeting: &common::Planned,
) -> (SimEndpoint, SimEndpoint) {
    assert!(listening(addr).await, "cau listens");
    let an = SimEndpoint::join(addr, meeting, UNITS[0], "an").await;
    let binh = SimEndpoint::join(addr, meeting, UNITS[1], "binh").await;
    an.seen.lock().unwrap().speaking = true;
    assert!(
        wait_until(Duration::from_secs(20), || [&an, &binh]
            .iter()
            .all(|e| e.sent(str0m::media::MediaKind::Audio) > 150))
        .await,
        "3 s of media sent"
    );
    (an, binh)
}

/// SIGTERM: every client is told `server_shutdown` and leaves with that reason, the
/// recording is finalised as a whole one (not interrupted) and catalogued ready, the meeting
/// stays live, the process exits 0 with the database's log written into it — and a hub
/// started again on the same port takes the meeting's units back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_stopped_with_sigterm_tells_everyone_and_finalises_its_recording() {
    let (data_dir, meeting) = planned_in_data_dir("sigterm").await;
    let (mut cau, addr) = spawn_cau(&data_dir, "first");
    let (an, binh) = two_sending(addr, &meeting).await;

    let (ok, _, err) = run("kill", &["-TERM", &cau.id().to_string()]);
    assert!(ok, "{err}");
    let mut status = None;
    assert!(
        wait_until(Duration::from_secs(50), || {
            status = cau.try_wait().unwrap();
            status.is_some()
        })
        .await,
        "cau exits after SIGTERM"
    );
    assert!(status.unwrap().success(), "{status:?}");
    for e in [&an, &binh] {
        assert_eq!(
            e.seen.lock().unwrap().bye,
            Some(signaling::protocol::ByeReason::ServerShutdown),
            "{} is told",
            e.name
        );
    }
    an.stop().await;
    binh.stop().await;

    // The database file alone holds everything: the log was written into it.
    let wal = data_dir.join("cau.sqlite3-wal");
    assert!(
        std::fs::metadata(&wal).map_or(0, |m| m.len()) == 0,
        "the write-ahead log is empty"
    );
    let db = signaling::db::Db::open(&data_dir).unwrap();
    let (state, reasons, meeting_state) = db
        .call(move |c| {
            let state: String = c.query_row("SELECT state FROM recordings", [], |r| r.get(0))?;
            let mut q = c.prepare("SELECT leave_reason FROM participations")?;
            let reasons = q
                .query_map([], |r| r.get::<_, Option<String>>(0))?
                .collect::<Result<Vec<_>, _>>()?;
            let meeting_state: String = c.query_row(
                "SELECT state FROM meetings WHERE id = ?1",
                [meeting.id],
                |r| r.get(0),
            )?;
            Ok((state, reasons, meeting_state))
        })
        .await
        .unwrap();
    assert_eq!(state, "ready", "finalised and catalogued before the exit");
    assert_eq!(
        reasons,
        vec![Some("server_shutdown".to_string()); 2],
        "the attendance record says why they left"
    );
    assert_eq!(
        meeting_state, "live",
        "the meeting goes on after the restart"
    );
    drop(db);
    let session_dir = first_session_dir(&data_dir, meeting.id);
    let m: serde_json::Value = serde_json::from_slice(
        &std::fs::read(session_dir.join(recorder::session::MANIFEST)).unwrap(),
    )
    .unwrap();
    assert_eq!(m["interrupted"], false, "{m}");
    assert_eq!(m["files"].as_array().unwrap().len(), 2, "{m}");

    // Back on the same port: the units join again.
    let mut cau = spawn_cau_at(&data_dir, "second", addr);
    let (an, binh) = two_sending(addr, &meeting).await;
    assert!(all_connected(&[&an, &binh]).await);
    cau.kill().unwrap();
    cau.wait().unwrap();
    an.vanish();
    binh.vanish();
    let _ = std::fs::remove_dir_all(&data_dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_killed_mid_session_finalises_its_recording_at_the_next_start() {
    let (data_dir, meeting) = planned_in_data_dir("killed").await;
    let (mut cau, addr) = spawn_cau(&data_dir, "first");
    let (an, binh) = two_sending(addr, &meeting).await;
    // SIGKILL: no goodbye, nothing flushed but what the recorder already had.
    cau.kill().unwrap();
    cau.wait().unwrap();
    an.vanish();
    binh.vanish();

    let session_dir = first_session_dir(&data_dir, meeting.id);
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

/// Run a program and return (success, stdout, stderr).
fn run(program: &str, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (the test command installs ffmpeg)"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// When the picture first turns white (mean luma above mid-grey), in the file's own time.
fn flash_at(file: &str) -> Option<f64> {
    let (ok, out, err) = run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-copyts",
            "-i",
            file,
            "-an",
            "-vf",
            "signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-",
            "-f",
            "null",
            "-",
        ],
    );
    assert!(ok, "{err}");
    let mut pts = None;
    for line in out.lines() {
        if let Some(t) = line.split("pts_time:").nth(1) {
            pts = t.trim().parse::<f64>().ok();
        } else if let Some(y) = line.strip_prefix("lavfi.signalstats.YAVG=")
            && y.trim().parse::<f64>().is_ok_and(|y| y > 128.0)
        {
            return pts;
        }
    }
    None
}

/// When the sound first starts after the silence at the beginning, in the file's own time.
fn beep_at(file: &str) -> Option<f64> {
    let (ok, _, err) = run(
        "ffmpeg",
        &[
            "-copyts",
            "-i",
            file,
            "-vn",
            "-af",
            "silencedetect=noise=-30dB:d=0.5",
            "-f",
            "null",
            "-",
        ],
    );
    assert!(ok, "{err}");
    err.lines()
        .find_map(|l| l.split("silence_end: ").nth(1))
        .and_then(|t| t.split_whitespace().next()?.parse().ok())
}

/// The host unit's chair, replaying `clip` with its video sent `video_delay` late.
async fn join_chair_replaying(
    hub: &signaling::RunningHub,
    meeting: &common::Planned,
    clip: std::sync::Arc<recorder::clip::Clip>,
    video_delay: Duration,
) -> SimEndpoint {
    SimEndpoint::join_with(
        hub.addr,
        meeting,
        "province:19",
        "chair",
        SimOptions {
            chair: true,
            clip: Some(clip),
            video_delay,
            ..Default::default()
        },
    )
    .await
}

/// The flash-and-beep clip (`recorder::clip::make_sync_clip`: 8 s, 320×240, both at 6.5 s).
async fn sync_clip(name: &str) -> std::sync::Arc<recorder::clip::Clip> {
    let clip_dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let made = clip_dir.clone();
    tokio::task::spawn_blocking(move || {
        recorder::clip::make_sync_clip(&made, 8, 320, 240, Duration::from_millis(6500))
    })
    .await
    .unwrap()
    .expect("ffmpeg makes the clip");
    let clip = std::sync::Arc::new(recorder::clip::Clip::load(&clip_dir).unwrap());
    let _ = std::fs::remove_dir_all(&clip_dir);
    clip
}

/// The codecs of an ffprobe `-show_streams` report, sorted.
fn codecs(probe: &serde_json::Value) -> Vec<&str> {
    let mut codecs: Vec<&str> = probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["codec_name"].as_str().unwrap())
        .collect();
    codecs.sort();
    codecs
}

/// A recorded file of the flash-and-beep clip: its first video packet is a keyframe,
/// `ffmpeg -v error` decodes it at its own times without a word, and the flash is within
/// 40 ms of the beep.
fn assert_starts_at_a_keyframe_decodes_and_syncs(file: &str) {
    let (ok, out, err) = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-select_streams",
            "v",
            "-show_entries",
            "packet=flags",
            "-read_intervals",
            "%+#1",
            "-of",
            "csv=p=0",
            file,
        ],
    );
    assert!(ok, "{err}");
    assert!(
        out.trim().starts_with('K'),
        "first video packet flags {out:?}"
    );
    // Decoded frames keep the file's own times (`-enc_time_base -1`, 1 ms): by default
    // ffmpeg 5.1 re-times video onto its guess of the frame rate (1/30 s here), where two
    // frames 33 ms apart can round onto one tick when the picture resumes at a new phase
    // after a step back, and its null muxer then reports that as an error of the file's.
    // Times that really repeat or go back still do.
    let (ok, _, err) = run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-i",
            file,
            "-enc_time_base",
            "-1",
            "-f",
            "null",
            "-",
        ],
    );
    assert!(ok && err.trim().is_empty(), "decode errors: {err}");
    let (flash, beep) = (
        flash_at(file).expect("a flash"),
        beep_at(file).expect("a beep"),
    );
    eprintln!("{file}: flash at {flash:.3} s, beep at {beep:.3} s");
    assert!(
        (flash - beep).abs() <= 0.040,
        "flash at {flash:.3} s, beep at {beep:.3} s: {:.0} ms apart",
        (flash - beep) * 1000.0
    );
}

/// The proof with a real clip through the real hub: a chair replays a VP8/Opus clip
/// with a flash and a beep at the same instant, its video leaving 150 ms after capture
/// (sender reports say when each was captured; before the audio's first one, at 5 s, the
/// recorder can only go by arrival). Its recorded file has Opus and VP8, starts
/// with a keyframe, decodes without a single error, lasts as long as what was sent (within
/// 100 ms), and shows the flash within 40 ms of the beep.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replayed_clip_is_recorded_playable_and_in_sync() {
    use str0m::media::MediaKind;
    let clip = sync_clip("cau-sync-clip").await;

    let hub = start_hub("recording-sync").await;
    let meeting = plan_recorded_meeting(&hub.hub, "province:19", &UNITS).await;
    let chair = join_chair_replaying(&hub, &meeting, clip, Duration::from_millis(150)).await;
    let an = SimEndpoint::join(hub.addr, &meeting, UNITS[0], "an").await;
    let chair_id = chair.id();
    assert!(all_connected(&[&chair, &an]).await);
    // 7.2 s of the clip: past the flash and the beep at 6.5 s, which come after the first
    // sender report of each stream (str0m, like browsers, reports on audio every 5 s, on
    // video every second) and the keyframe at 6 s the video resumes at after stepping back.
    let sent = |kind| chair.sent(kind);
    assert!(wait_until(Duration::from_secs(20), || sent(MediaKind::Audio) >= 360).await);
    let sent_ms = f64::from(sent(MediaKind::Audio)) * 20.0;
    chair.stop().await;
    an.stop().await;

    let path = written_manifest(&hub.hub, meeting.id).await;
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let f = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["participant_id"] == chair_id.as_str())
        .expect("the chair's file")
        .clone();
    let file = path.parent().unwrap().join(f["name"].as_str().unwrap());
    let file = file.to_str().unwrap();

    // Opus and VP8, as long as what was sent.
    let (ok, out, err) = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_streams",
            "-show_format",
            file,
        ],
    );
    assert!(ok, "{err}");
    let probe: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(codecs(&probe), ["opus", "vp8"]);
    // The file is on the session's timeline (0: the session's start): it lasts until the
    // chair left, and its audio spans just what was sent.
    let seconds = |v: &serde_json::Value| v.as_str().and_then(|d| d.parse::<f64>().ok()).unwrap();
    let duration_ms = seconds(&probe["format"]["duration"]) * 1000.0;
    let chair_left = m["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["participant_id"] == chair_id.as_str())
        .and_then(|p| p["left_at"].as_i64())
        .unwrap();
    let stay_ms = (chair_left - m["started_at"].as_i64().unwrap()) as f64;
    assert!(
        (duration_ms - stay_ms).abs() <= 100.0,
        "the file lasts {duration_ms:.0} ms, the chair stayed {stay_ms:.0} ms of the session"
    );
    let audio = probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["codec_type"] == "audio")
        .unwrap();
    // The Matroska muxer's DURATION tag is where the stream ends.
    let end = audio["tags"]["DURATION"].as_str().unwrap();
    let end_s: f64 = end
        .split(':')
        .fold(0.0, |acc, part| acc * 60.0 + part.parse::<f64>().unwrap());
    let audio_ms = (end_s - seconds(&audio["start_time"])) * 1000.0;
    assert!(
        (audio_ms - sent_ms).abs() <= 100.0,
        "its audio spans {audio_ms:.0} ms, {sent_ms:.0} ms were sent"
    );
    // The first video packet is a keyframe; nothing fails to decode; the flash and the
    // beep, captured together, play together.
    assert_starts_at_a_keyframe_decodes_and_syncs(file);
}

/// The archive's disk runs short mid-session (the space left falls below the reserve — here
/// the reserve is raised above it): recording stops cleanly, everyone is told in
/// `meeting_state`, the meeting goes on, and what was recorded is finalised whole, the
/// manifest saying why it stops early.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_stops_before_the_disk_fills_and_the_meeting_goes_on() {
    use signaling::protocol::{RecordingState, RecordingStatus};
    use str0m::media::MediaKind;
    let hub = start_hub("recording-disk").await;
    hub.hub.set_disk_reserve(0);
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
    assert!(all_connected(&[&chair, &an]).await);
    let recording = |e: &SimEndpoint| e.seen.lock().unwrap().recording.clone();
    let on = RecordingState {
        state: RecordingStatus::Recording,
        reason: None,
    };
    assert!(
        wait_until(Duration::from_secs(5), || recording(&an)
            == Some(on.clone()))
        .await
    );
    tokio::time::sleep(Duration::from_secs(2)).await;

    // The disk is short: within a second or so, recording stops and everyone hears why.
    hub.hub.set_disk_reserve(u64::MAX);
    let stopped = RecordingState {
        state: RecordingStatus::Stopped,
        reason: Some("disk_low".into()),
    };
    for e in [&chair, &an] {
        assert!(
            wait_until(Duration::from_secs(5), || recording(e)
                == Some(stopped.clone()))
            .await,
            "{}: {:?}",
            e.name,
            recording(e)
        );
    }
    // What was recorded is finalised while the meeting goes on.
    let path = written_manifest(&hub.hub, meeting.id).await;
    let m = recorder::session::read_manifest(path.parent().unwrap()).unwrap();
    assert_eq!(m.stopped.as_deref(), Some("disk_low"));
    assert!(
        m.problems.iter().any(|p| p.contains("below the reserve")),
        "{:?}",
        m.problems
    );
    assert_eq!(m.files.len(), 2, "{:?}", m.files);
    for f in &m.files {
        let bytes = std::fs::read(path.parent().unwrap().join(&f.name)).unwrap();
        assert_eq!(
            f.sha256,
            recorder::finalise::sha256_file(&path.parent().unwrap().join(&f.name)).unwrap()
        );
        let audio = recorder::webm::blocks(&bytes)
            .iter()
            .filter(|b| b.1 == 1)
            .count();
        assert!(
            audio >= 80,
            "{}: {audio} audio blocks, two seconds' worth",
            f.name
        );
    }
    let before = an.received_from("chair", MediaKind::Audio);
    assert!(
        wait_until(Duration::from_secs(5), || an
            .received_from("chair", MediaKind::Audio)
            > before + 50)
        .await,
        "the meeting goes on"
    );
    let state = hub
        .hub
        .db()
        .call(move |c| {
            c.query_row(
                "SELECT state FROM recordings WHERE session_id = ?1",
                [m.session.session_id],
                |r| r.get::<_, String>(0),
            )
        })
        .await
        .unwrap();
    assert_eq!(state, "ready");
    assert_eq!(
        hub.hub.recordings_stopped(),
        (1, 0),
        "counted for the metrics"
    );
    chair.stop().await;
    an.stop().await;
}

const RECORDER_SECRET: &str = "a-recorder-secret-for-tests";

/// A child process killed when dropped (a failing test leaves none behind).
struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `cau-recorder` (built with the workspace: `cargo build -p recorder --bin cau-recorder`),
/// following `hub` and writing into its recordings directory, as on shared storage.
fn spawn_recorder(hub: &signaling::RunningHub, name: &str) -> Killed {
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(|dir| dir.join("cau-recorder"))
        .filter(|b| b.exists())
        .expect("cau-recorder is built (cargo build -p recorder --bin cau-recorder)");
    let dir = hub.hub.recordings_dir().unwrap();
    let log = std::fs::File::create(dir.with_extension(format!("{name}.log"))).unwrap();
    let child = std::process::Command::new(bin)
        .args([
            "--hub",
            &format!("http://{}", hub.addr),
            "--ip",
            "127.0.0.1",
            "--disk-reserve-mb",
            "100",
        ])
        .arg("--dir")
        .arg(dir)
        .env("CAU_RECORDER_SECRET", RECORDER_SECRET)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("cau-recorder starts");
    Killed(child)
}

/// The catalogue's state of a session's recording.
async fn catalogued(hub: &signaling::rooms::Hub, session: i64) -> Option<String> {
    hub.db()
        .call(move |c| {
            use rusqlite::OptionalExtension;
            c.query_row(
                "SELECT state FROM recordings WHERE session_id = ?1",
                [session],
                |r| r.get(0),
            )
            .optional()
        })
        .await
        .unwrap()
}

/// Whether the catalogue says `state` for the session's recording within `limit`.
async fn catalogued_as(
    hub: &signaling::rooms::Hub,
    session: i64,
    state: &str,
    limit: Duration,
) -> bool {
    let until = std::time::Instant::now() + limit;
    while std::time::Instant::now() < until {
        if catalogued(hub, session).await.as_deref() == Some(state) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// The same proof as [`a_replayed_clip_is_recorded_playable_and_in_sync`], with the recorder
/// in a process of its own that subscribes over WebRTC (WHEP): the file it writes plays, has
/// both codecs, starts at a keyframe and keeps the flash within 40 ms of the beep, though the
/// media crossed a second WebRTC hop; the hub catalogues the manifest it sends back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorder_process_records_over_webrtc_in_sync() {
    use str0m::media::MediaKind;
    let clip = sync_clip("cau-remote-clip").await;

    let hub = common::start_hub_remote_recorder("remote-sync", RECORDER_SECRET).await;
    let recorder_process = spawn_recorder(&hub, "recorder");
    let meeting = plan_recorded_meeting(&hub.hub, "province:19", &UNITS).await;
    let chair = join_chair_replaying(&hub, &meeting, clip, Duration::from_millis(150)).await;
    let an = SimEndpoint::join(hub.addr, &meeting, UNITS[0], "an").await;
    let chair_id = chair.id();
    assert!(all_connected(&[&chair, &an]).await);
    let sent = |kind| chair.sent(kind);
    assert!(wait_until(Duration::from_secs(20), || sent(MediaKind::Audio) >= 360).await);
    chair.stop().await;
    an.stop().await;

    let path = written_manifest(&hub.hub, meeting.id).await;
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let session = m["session_id"].as_i64().unwrap();
    let ready = catalogued_as(&hub.hub, session, "ready", Duration::from_secs(20)).await;
    drop(recorder_process);
    assert!(ready, "the hub catalogues the manifest the recorder sends");
    assert_eq!(m["problems"], serde_json::json!([]));
    let f = m["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["participant_id"] == chair_id.as_str())
        .expect("the chair's file")
        .clone();
    let file = path.parent().unwrap().join(f["name"].as_str().unwrap());
    assert_eq!(
        f["sha256"].as_str().unwrap(),
        recorder::finalise::sha256_file(&file).unwrap()
    );
    let file = file.to_str().unwrap();
    let (ok, out, err) = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_streams",
            file,
        ],
    );
    assert!(ok, "{err}");
    let probe: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(codecs(&probe), ["opus", "vp8"]);
    assert_starts_at_a_keyframe_decodes_and_syncs(file);
}

/// `cau-recorder` is killed (SIGKILL) mid-session: the meeting goes on and the chair is told
/// recording stopped; the partial files read back up to the kill; the recorder's next start
/// finalises them with what the hub knows of the session, marks the manifest interrupted and
/// has the hub catalogue it so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recorder_process_killed_mid_session_finishes_its_files_at_its_next_start() {
    use signaling::protocol::RecordingStatus;
    use str0m::media::MediaKind;
    // The chair sends a real clip (its file is decoded below); An tagged bytes.
    let clip = sync_clip("cau-killed-clip").await;
    let hub = common::start_hub_remote_recorder("remote-killed", RECORDER_SECRET).await;
    let recorder_process = spawn_recorder(&hub, "first");
    let meeting = plan_recorded_meeting(&hub.hub, "province:19", &UNITS).await;
    let chair = join_chair_replaying(&hub, &meeting, clip, Duration::ZERO).await;
    let chair_id = chair.id();
    let an = SimEndpoint::join(hub.addr, &meeting, UNITS[0], "an").await;
    assert!(all_connected(&[&chair, &an]).await);
    an.seen.lock().unwrap().speaking = true;
    let meeting_dir = hub
        .hub
        .recordings_dir()
        .unwrap()
        .join(meeting.id.to_string());
    let session_dir = || {
        std::fs::read_dir(&meeting_dir)
            .ok()?
            .flatten()
            .next()
            .map(|e| e.path())
    };
    // A few seconds recorded: the blocks of every cluster begun are on disk.
    let blocks_in = |dir: &std::path::Path| -> Vec<usize> {
        recorder::finalise::leftovers(dir)
            .unwrap_or_default()
            .iter()
            .map(|p| recorder::webm::blocks(&std::fs::read(p).unwrap_or_default()).len())
            .collect()
    };
    assert!(
        wait_until(Duration::from_secs(30), || session_dir().is_some_and(|d| {
            blocks_in(&d).len() == 2 && blocks_in(&d).iter().all(|&b| b > 25)
        }))
        .await,
        "the recorder writes both participants' files"
    );
    drop(recorder_process);
    let session_dir = session_dir().unwrap();
    let session: i64 = session_dir
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(!recorder::session::is_finished(&session_dir));
    // The partial files read back up to the kill; the chair's (a real clip) decodes.
    let parts = recorder::finalise::leftovers(&session_dir).unwrap();
    assert!(blocks_in(&session_dir).iter().all(|&b| b > 25));
    assert!(
        parts
            .iter()
            .any(|p| p.to_string_lossy().contains("province-19"))
    );
    for part in parts
        .iter()
        .filter(|p| p.to_string_lossy().contains("province-19"))
    {
        let copy = part.with_extension("copy.webm");
        std::fs::copy(part, &copy).unwrap();
        let (ok, _, err) = run(
            "ffmpeg",
            &[
                "-v",
                "error",
                "-i",
                copy.to_str().unwrap(),
                "-f",
                "null",
                "-",
            ],
        );
        std::fs::remove_file(&copy).unwrap();
        assert!(ok, "{}: {err}", part.display());
    }

    // The meeting goes on: the chair hears An still, and everyone is told recording stopped.
    let heard = chair.received_from("an", MediaKind::Audio);
    assert!(
        wait_until(Duration::from_secs(10), || chair
            .received_from("an", MediaKind::Audio)
            > heard + 50)
        .await,
        "media still flows after the recorder died"
    );
    let told = wait_until(Duration::from_secs(15), || {
        chair
            .seen
            .lock()
            .unwrap()
            .recording
            .as_ref()
            .is_some_and(|r| {
                r.state == RecordingStatus::Stopped && r.reason.as_deref() == Some("recorder_lost")
            })
    })
    .await;
    assert!(told, "the chair is told the recording stopped");
    assert_eq!(
        catalogued(&hub.hub, session).await.as_deref(),
        Some("recording")
    );

    // The recorder's next start finishes the session's files and the hub catalogues them.
    let recorder_process = spawn_recorder(&hub, "second");
    let finished = catalogued_as(&hub.hub, session, "interrupted", Duration::from_secs(30)).await
        && recorder::session::is_finished(&session_dir);
    drop(recorder_process);
    assert!(finished, "the next start finalises and catalogues it");
    let m = recorder::session::read_manifest(&session_dir).unwrap();
    assert!(m.interrupted);
    assert_eq!(m.session.meeting_id, meeting.id);
    assert_eq!(m.files.len(), 2, "{:?}", m.files);
    assert!(
        recorder::finalise::leftovers(&session_dir)
            .unwrap()
            .is_empty()
    );
    for f in &m.files {
        let file = session_dir.join(&f.name);
        assert_eq!(f.sha256, recorder::finalise::sha256_file(&file).unwrap());
        let blocks = recorder::webm::blocks(&std::fs::read(&file).unwrap()).len();
        assert!(blocks > 25, "{}: {blocks} blocks after finalising", f.name);
        if f.participant_id == chair_id {
            let (ok, _, err) = run(
                "ffmpeg",
                &[
                    "-v",
                    "error",
                    "-i",
                    file.to_str().unwrap(),
                    "-f",
                    "null",
                    "-",
                ],
            );
            assert!(ok && err.trim().is_empty(), "{}: {err}", f.name);
        }
    }
    assert!(m.files.iter().any(|f| f.participant_id == chair_id));
    chair.stop().await;
    an.stop().await;
}
