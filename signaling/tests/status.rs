//! `GET /api/status` over a real hub, through `oneshot`: only admins may read it; a recorded
//! meeting live with a chair (websocket only) and a simulated endpoint with media shows as a
//! session with its connected units, recording, measured link quality and packet rates; the
//! warnings follow what is observed (TLS off on a non-loopback address, no TURN, low disk,
//! an interrupted recording, a remote recorder not connected).

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::{
    Client, SimEndpoint, api_call, plan_recorded_meeting, sign_in, start_hub,
    start_hub_remote_recorder, wait_until,
};
use serde_json::{Value, json};
use signaling::auth::StaffRole;
use signaling::http::AppState;

const OFFICIAL_UNIT: &str = "commune:5431";

fn codes(status: &Value) -> Vec<String> {
    status["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["code"].as_str().unwrap().to_string())
        .collect()
}

fn warning<'a>(status: &'a Value, code: &str) -> &'a Value {
    status["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["code"] == code)
        .unwrap_or_else(|| panic!("no {code} warning in {status}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_see_live_sessions_load_recordings_and_warnings() {
    let hub = start_hub("status").await;
    let mut state = AppState::new(
        hub.hub.clone(),
        std::env::temp_dir().join(format!("cau-status-{}", std::process::id())),
    );
    // As a hub on every address, over plain HTTP.
    state.listen = Some("0.0.0.0:8080".parse().unwrap());
    let tokens = sign_in(
        &state,
        &[
            ("quan-tri", StaffRole::Admin),
            ("lich-hop", StaffRole::Scheduler),
            ("luu-tru", StaffRole::Archivist),
        ],
    )
    .await;
    let (admin, scheduler, archivist) = (&tokens[0], &tokens[1], &tokens[2]);

    // Who may ask.
    let (status, body) = api_call(&state, "/api/status", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "unauthenticated");
    for token in [scheduler, archivist] {
        let (status, body) = api_call(&state, "/api/status", Some(token), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"], "forbidden");
    }

    // At rest: no session, the deployment's warnings, the archive empty.
    let (status, idle) = api_call(&state, "/api/status", Some(admin), None).await;
    assert_eq!(status, StatusCode::OK, "{idle}");
    assert_eq!(idle["version"], env!("CARGO_PKG_VERSION"));
    assert!(idle["uptime_secs"].as_u64().is_some());
    assert!(idle["started_at"].as_i64().unwrap() <= idle["now"].as_i64().unwrap());
    assert_eq!(idle["sessions"], json!([]));
    assert_eq!(idle["load"]["participants"], 0);
    assert_eq!(idle["load"]["media"]["endpoints"], 0);
    assert!(idle["load"]["memory"]["resident_bytes"].as_u64().unwrap() > 0);
    assert_eq!(codes(&idle), ["tls_off", "no_turn"], "{idle}");
    assert_eq!(warning(&idle, "tls_off")["listen"], "0.0.0.0:8080");
    assert_eq!(warning(&idle, "tls_off")["severity"], "warning");
    assert_eq!(warning(&idle, "no_turn")["severity"], "notice");
    assert_eq!(idle["recordings"]["by_state"]["ready"], 0);
    assert_eq!(idle["recordings"]["recorder"], "local");
    assert_eq!(idle["recordings"]["remote_recorder"], Value::Null);
    assert_eq!(idle["recordings"]["disk_reserve_bytes"], 100_000_000);
    assert!(idle["recordings"]["disk_free_bytes"].as_u64().unwrap() > 0);
    assert_eq!(
        idle["deployment"],
        json!({"https": false, "listen": "0.0.0.0:8080", "turn": false})
    );

    // A recorded meeting goes live: the chair by websocket, a commune with media.
    let meeting = plan_recorded_meeting(&hub.hub, "district:164", &[OFFICIAL_UNIT]).await;
    let chair = Client::join(hub.addr, &meeting.join_as_chair("Chủ trì")).await;
    let official = SimEndpoint::join(hub.addr, &meeting, OFFICIAL_UNIT, "Điểm cầu phường").await;
    assert!(
        wait_until(Duration::from_secs(10), || official
            .seen
            .lock()
            .unwrap()
            .connected)
        .await
    );
    // The link's figures come with the roll call's refresh (every 2 s), the rates from two
    // requests at least a second apart.
    let mut live = Value::Null;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        live = api_call(&state, "/api/status", Some(admin), None).await.1;
        let measured = live["sessions"][0]["endpoints"]
            .as_array()
            .is_some_and(|es| es.iter().any(|e| e["rtt_ms"].is_number()));
        let flowing = live["load"]["rates"]["packets_received"]
            .as_f64()
            .is_some_and(|r| r > 0.0);
        if measured && flowing {
            break;
        }
    }
    let sessions = live["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{live}");
    let s = &sessions[0];
    assert_eq!(s["meeting"]["id"], meeting.id);
    assert_eq!(s["meeting"]["title"], "Họp thử district:164");
    assert_eq!(s["room"]["id"], "district:164");
    assert_eq!(s["room"]["tier"], "district");
    assert_eq!(s["units_connected"], 2, "the district and the commune");
    assert!(s["units_invited"].as_u64().unwrap() >= 2, "{s}");
    assert_eq!(s["recording"]["state"], "recording", "{s}");
    assert!(s["started_at"].as_i64().unwrap() <= live["now"].as_i64().unwrap());
    let endpoints = s["endpoints"].as_array().unwrap();
    assert_eq!(endpoints.len(), 2);
    assert_eq!(endpoints[0]["role"], "chair", "chairs first");
    assert_eq!(endpoints[0]["unit"]["id"], "district:164");
    assert_eq!(
        endpoints[0]["rtt_ms"],
        Value::Null,
        "the chair has no media"
    );
    let e = &endpoints[1];
    assert_eq!(e["role"], "official");
    assert_eq!(e["unit"]["id"], OFFICIAL_UNIT);
    assert_eq!(e["unit"]["name"], "Phường Quán Triều");
    assert_eq!(e["name"], "Điểm cầu phường");
    assert!(e["rtt_ms"].is_number(), "the link is measured: {e}");
    assert!(e["loss"].as_f64().is_some_and(|l| l < 0.08), "{e}");
    assert!(e["tracks"].as_u64().unwrap() >= 1, "{e}");
    let load = &live["load"];
    assert_eq!(load["sessions"], 1);
    assert_eq!(load["participants"], 2);
    assert_eq!(load["websockets"], 2);
    assert_eq!(load["media"]["endpoints"], 1, "{load}");
    assert!(load["media"]["tracks"].as_u64().unwrap() >= 1);
    assert!(load["media"]["packets_received"].as_u64().unwrap() > 0);
    let rates = &load["rates"];
    assert!(rates["interval_secs"].as_f64().unwrap() >= 1.0, "{rates}");
    assert!(rates["packets_received"].as_f64().unwrap() > 0.0, "{rates}");
    assert!(rates["bytes_received"].as_f64().unwrap() > 0.0, "{rates}");
    assert_eq!(live["recordings"]["by_state"]["recording"], 1, "{live}");
    assert_eq!(
        codes(&live),
        ["tls_off", "no_turn"],
        "nothing else is wrong: {live}"
    );

    // Less than twice the reserve left: low_disk, critical once below the reserve.
    let free = live["recordings"]["disk_free_bytes"].as_u64().unwrap();
    hub.hub.set_disk_reserve(free / 3 * 2);
    let (_, low) = api_call(&state, "/api/status", Some(admin), None).await;
    let w = warning(&low, "low_disk");
    assert_eq!(w["severity"], "warning", "{w}");
    assert_eq!(w["reserve_bytes"], free / 3 * 2);
    assert_eq!(
        low["warnings"][0]["code"], "low_disk",
        "the most severe first"
    );
    hub.hub.set_disk_reserve(free.saturating_mul(2));
    let (_, low) = api_call(&state, "/api/status", Some(admin), None).await;
    assert_eq!(warning(&low, "low_disk")["severity"], "critical");
    // Recording stops below the reserve: the live session's recording says so (the
    // recorder checks about every second).
    let mut stopped = Value::Null;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        stopped = api_call(&state, "/api/status", Some(admin), None).await.1;
        if stopped["sessions"][0]["recording"]["state"] == "stopped" {
            break;
        }
    }
    assert_eq!(
        stopped["sessions"][0]["recording"],
        json!({"state": "stopped", "reason": "disk_low"}),
        "{stopped}"
    );
    let w = warning(&stopped, "recording_stopped");
    assert_eq!(w["severity"], "critical");
    assert_eq!(w["sessions"][0]["meeting_id"], meeting.id);
    assert_eq!(w["sessions"][0]["reason"], "disk_low");
    assert_eq!(stopped["recordings"]["stopped_since_start"]["disk_low"], 1);
    hub.hub.set_disk_reserve(100_000_000);

    // Everyone leaves: no session; a recording interrupted in the last day is warned about.
    official.stop().await;
    drop(chair);
    for _ in 0..100 {
        if hub.hub.rooms().await.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let now = signaling::db::now_ms();
    hub.hub
        .db()
        .call(move |c| {
            c.execute(
                "INSERT INTO recordings (session_id, meeting_id, title, host_unit, started_at, ended_at, state, dir)
                 VALUES (900001, 1, 'Họp bị cắt', 'province:19', ?1, ?2, 'interrupted', '1/900001'),
                        (900002, 1, 'Họp cũ', 'province:19', ?3, ?3, 'interrupted', '1/900002')",
                [now - 3_600_000, now - 3_000_000, now - 3 * 24 * 3_600_000],
            )
        })
        .await
        .unwrap();
    let (_, after) = api_call(&state, "/api/status", Some(admin), None).await;
    assert_eq!(after["sessions"], json!([]));
    assert_eq!(after["load"]["participants"], 0);
    let w = warning(&after, "recordings_interrupted");
    let recent: Vec<i64> = w["recordings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["session_id"].as_i64().unwrap())
        .collect();
    assert_eq!(recent, [900001], "only the last 24 hours: {w}");
    assert_eq!(after["recordings"]["troubled_24h"], 1);
    assert_eq!(after["recordings"]["by_state"]["interrupted"], 2);
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_recorder_not_connected_is_warned_about() {
    let hub = start_hub_remote_recorder("status-remote", "0123456789abcdef0123").await;
    let state = AppState::new(
        hub.hub.clone(),
        std::env::temp_dir().join(format!("cau-status-remote-{}", std::process::id())),
    );
    let tokens = sign_in(&state, &[("quan-tri", StaffRole::Admin)]).await;
    let (status, body) = api_call(&state, "/api/status", Some(&tokens[0]), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["recordings"]["recorder"], "remote");
    assert_eq!(
        body["recordings"]["remote_recorder"],
        json!({"connected": 0, "waiting": 0})
    );
    let w = warning(&body, "recorder_not_connected");
    assert_eq!(
        (w["severity"].as_str(), w["waiting"].as_u64()),
        (Some("warning"), Some(0))
    );
    // No listen address known to this app: nothing said about TLS.
    assert!(!codes(&body).contains(&"tls_off".to_string()));
    hub.shutdown().await;
}
