//! The meeting's record over a real hub: attendance computed from what endpoints did —
//! joined, spoke (RFC 6464 levels through the media plane), dropped and came back, left —
//! served as JSON and CSV to the chair (its join token) and to schedulers, and the chair's
//! notes and decisions saved and read back.

mod common;

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use common::{Client, SimEndpoint, plan_meeting, start_hub, wait_until};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use signaling::http::{AppState, app};
use signaling::protocol::{ClientMessage, ServerMessage};
use tower::ServiceExt;

const SPEAKER: &str = "district:164";
const DROPPER: &str = "district:165";
const ABSENT: &str = "commune:5431";

async fn call(
    state: &AppState,
    method: Method,
    uri: &str,
    body: Option<Value>,
) -> (StatusCode, String, Option<String>) {
    let mut req = Request::builder().method(method).uri(uri);
    let req = match body {
        Some(b) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            req.body(Body::from(b.to_string()))
        }
        None => req.body(Body::empty()),
    }
    .unwrap();
    let response = app(state.clone()).oneshot(req).await.unwrap();
    let status = response.status();
    let disposition = response
        .headers()
        .get(header::CONTENT_DISPOSITION)
        .map(|v| v.to_str().unwrap().to_string());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        String::from_utf8(bytes.to_vec()).unwrap(),
        disposition,
    )
}

/// `fut`, or a panic naming `what` after 15 s.
async fn within<T>(what: &str, fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(15), fut)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

fn unit<'a>(attendance: &'a Value, id: &str) -> &'a Value {
    attendance["attendance"]["units"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["unit"]["id"] == id)
        .unwrap_or_else(|| panic!("{id} in {attendance}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attendance_follows_joins_speech_drops_and_rejoins_and_is_exported() {
    let hub = start_hub("attendance").await;
    let m = plan_meeting(&hub.hub, "province:19", &[SPEAKER, DROPPER, ABSENT]).await;
    let state = AppState::new(
        hub.hub.clone(),
        std::env::temp_dir().join(format!("cau-attendance-{}", std::process::id())),
    );
    let base = format!("/api/meetings/{}", m.id);
    let as_chair = |path: &str| format!("{base}/{path}?token={}", m.chair_token);

    let mut chair = Client::join(hub.addr, &m.join_as_chair("Chủ trì")).await;
    // The speaker publishes media and speaks for a while, then falls silent.
    let speaker = SimEndpoint::join(hub.addr, &m, SPEAKER, "Trần Văn Nói").await;
    assert!(
        wait_until(Duration::from_secs(10), || speaker
            .seen
            .lock()
            .unwrap()
            .connected)
        .await,
        "the speaker's media connects"
    );
    // It speaks for 3 s, then falls silent: the time is counted when it stops.
    speaker.seen.lock().unwrap().speaking = true;
    tokio::time::sleep(Duration::from_secs(3)).await;
    speaker.seen.lock().unwrap().speaking = false;
    let mut spoke = Value::Null;
    for _ in 0..100 {
        let (_, body, _) = call(&state, Method::GET, &as_chair("attendance"), None).await;
        spoke = serde_json::from_str(&body).unwrap();
        if unit(&spoke, SPEAKER)["spoke"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(unit(&spoke, SPEAKER)["spoke"], true, "{spoke}");

    // Another unit's connection drops without a word, and it comes back.
    let dropper = Client::join(hub.addr, &m.join(DROPPER, "Lê Thị Rớt")).await;
    drop(dropper);
    within(
        "the chair sees the dropped unit leave",
        chair.until(|msg| match msg {
            ServerMessage::ParticipantLeft { .. } => Some(()),
            _ => None,
        }),
    )
    .await;
    let mut back = Client::join(hub.addr, &m.join(DROPPER, "Lê Thị Rớt")).await;

    // Live, for the chair: who is there, who spoke, the drop and the reconnection.
    let (status, body, _) = call(&state, Method::GET, &as_chair("attendance"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let live: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(live["attendance"]["live"], true);
    let s = unit(&live, SPEAKER);
    assert_eq!(s["attended"], true);
    assert_eq!(s["present_now"], true);
    assert_eq!(s["spoke"], true, "{s}");
    assert!(s["spoke_ms"].as_i64().unwrap() >= 2_000, "{s}");
    let d = unit(&live, DROPPER);
    assert_eq!(
        (d["drops"].as_u64(), d["reconnections"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(d["present_now"], true);
    assert_eq!(d["spoke"], false);
    let a = unit(&live, ABSENT);
    assert_eq!(
        (a["attended"].as_bool(), a["first_join"].as_i64()),
        (Some(false), None)
    );
    let totals = &live["attendance"]["totals"];
    // The province's own units are invited too (the scope's tier); three units came: the
    // chair's, the speaker's and the dropper's.
    let invited = totals["invited"].as_u64().unwrap();
    assert!(invited >= 4, "{totals}");
    assert_eq!(totals["attended"], 3, "{totals}");
    assert_eq!(totals["absent"].as_u64(), Some(invited - 3));
    assert_eq!(totals["spoke"], 1);
    assert_eq!(totals["reconnections"], 1);

    // The chair types notes and decisions during the meeting.
    let record = json!({
        "notes": "Khai mạc 8 giờ. Các điểm cầu báo cáo tình hình mưa lũ.",
        "decisions": ["Giao Sở Nông nghiệp tổng hợp thiệt hại", "  ", "Họp lại sau 1 tuần"],
    });
    let (status, body, _) = call(&state, Method::PUT, &as_chair("record"), Some(record)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let saved: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        saved["decisions"].as_array().unwrap().len(),
        2,
        "blank dropped"
    );
    assert!(saved["updated_by"].as_str().unwrap().contains("Chủ trì"));

    // An official's token reads nothing; nor does no token at all.
    let official = format!("{base}/attendance?token={}", m.token(SPEAKER));
    let (status, _, _) = call(&state, Method::GET, &official, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _, _) = call(&state, Method::GET, &format!("{base}/attendance"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A malformed record is refused and the saved one is kept.
    let (status, _, _) = call(
        &state,
        Method::PUT,
        &as_chair("record"),
        Some(json!({"notes": "x\u{0}y", "decisions": []})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _, _) = call(
        &state,
        Method::PUT,
        &as_chair("record"),
        Some(json!({"notes": "x", "decisions": [], "extra": 1})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    // Everyone leaves; the record after the meeting.
    back.send(&ClientMessage::Leave).await;
    speaker.stop().await;
    chair.send(&ClientMessage::Leave).await;
    let mut after = Value::Null;
    for _ in 0..100 {
        let (_, body, _) = call(&state, Method::GET, &as_chair("attendance"), None).await;
        after = serde_json::from_str(&body).unwrap();
        if after["attendance"]["live"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(after["attendance"]["live"], false, "{after}");
    assert!(after["attendance"]["ended_at"].is_i64());
    let s = unit(&after, SPEAKER);
    assert_eq!(s["present_now"], false);
    assert!(s["last_leave"].as_i64().unwrap() >= s["first_join"].as_i64().unwrap());
    assert_eq!(after["record"]["notes"], saved["notes"]);
    assert_eq!(after["meeting"]["chair_person"], "Chủ trì");

    // The CSV: a header, one row per unit, the same figures.
    let (status, csv, disposition) =
        call(&state, Method::GET, &as_chair("attendance.csv"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(disposition.unwrap().contains("attendance"));
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert!(lines[0].starts_with("unit_id,unit_name,tier,invited,attended,"));
    assert_eq!(lines.len() as u64, 1 + invited, "{csv}");
    let row = lines
        .iter()
        .find(|l| l.starts_with(&format!("\"{DROPPER}\"")))
        .unwrap();
    let cols: Vec<&str> = row.split(',').collect();
    assert_eq!(cols[3..5], ["yes", "yes"], "{row}");
    assert!(
        cols[5].ends_with("+07:00"),
        "first join in Viet Nam time: {row}"
    );
    assert_eq!((cols[9], cols[10], cols[11]), ("1", "1", "no"), "{row}");
    let absent = lines
        .iter()
        .find(|l| l.starts_with(&format!("\"{ABSENT}\"")))
        .unwrap();
    assert!(absent.contains(",yes,no,,,no,0,0,0,no,0,"), "{absent}");
    hub.shutdown().await;
}

/// The host's cap on endpoints: a join above it is refused with `meeting_full` and the chair
/// is told who was turned away; a chair always gets in, even above the cap; a place that
/// frees up is taken again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meeting_at_its_cap_refuses_joins_and_tells_the_chair() {
    use signaling::protocol::ErrorCode;
    let hub = start_hub("capped").await;
    let m = common::plan_meeting_capped(
        &hub.hub,
        "province:19",
        &[SPEAKER, DROPPER, ABSENT],
        Some(2),
    )
    .await;
    let mut chair = Client::join(hub.addr, &m.join_as_chair("Chủ trì")).await;
    let mut first = Client::join(hub.addr, &m.join(SPEAKER, "Người thứ hai")).await;

    // The third endpoint is one too many.
    let mut ws = common::connect(hub.addr).await;
    common::send(&mut ws, &m.join(DROPPER, "Người thứ ba")).await;
    match common::recv(&mut ws).await {
        Some(ServerMessage::Error { code, message }) => {
            assert_eq!(code, ErrorCode::MeetingFull);
            assert!(message.contains("limit"), "{message}");
        }
        other => panic!("expected meeting_full, got {other:?}"),
    }
    assert!(
        common::recv(&mut ws).await.is_none(),
        "the connection closes"
    );
    let (unit, name, cap) = within(
        "the chair hears of the refusal",
        chair.until(|msg| match msg {
            ServerMessage::JoinRefused {
                unit,
                name,
                code: ErrorCode::MeetingFull,
                max_endpoints,
            } => Some((unit.id, name, max_endpoints)),
            _ => None,
        }),
    )
    .await;
    assert_eq!(
        (unit.as_str(), name.as_str(), cap),
        (DROPPER, "Người thứ ba", 2)
    );

    // A second chair endpoint still gets in above the cap.
    let mut chair2 = Client::join(hub.addr, &m.join_as_chair("Chủ trì dự phòng")).await;
    // Once the official and the second chair leave, a place is free again.
    first.send(&ClientMessage::Leave).await;
    chair2.send(&ClientMessage::Leave).await;
    let mut welcomed = false;
    for _ in 0..50 {
        let mut ws = common::connect(hub.addr).await;
        common::send(&mut ws, &m.join(DROPPER, "Người thứ ba")).await;
        match common::recv(&mut ws).await {
            Some(ServerMessage::Welcome { .. }) => {
                welcomed = true;
                break;
            }
            Some(ServerMessage::Error {
                code: ErrorCode::MeetingFull,
                ..
            }) => tokio::time::sleep(Duration::from_millis(100)).await,
            other => panic!("expected welcome or meeting_full, got {other:?}"),
        }
    }
    assert!(welcomed, "a freed place is taken");
    hub.shutdown().await;
}
