//! The province's statistics over a real hub: two meetings held by simulated endpoints —
//! one unit present at both (with media, so its link quality is measured), one present at
//! one, one never — then `GET /api/statistics` for a scheduler: meetings held, hours, rates
//! per unit and tier with the flags, quality medians, and the tier and subtree filters.

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::{Client, SimEndpoint, api_call, plan_meeting, sign_in, start_hub, wait_until};
use serde_json::Value;
use signaling::auth::StaffRole;
use signaling::http::AppState;
use signaling::protocol::ClientMessage;

const ALWAYS: &str = "commune:5431";
const ONCE: &str = "commune:5434";
const NEVER: &str = "commune:5443";

/// Wait until the hub has recorded every leave (the room is gone).
async fn rooms_empty(hub: &signaling::RunningHub) {
    for _ in 0..100 {
        if hub.hub.rooms().await.is_empty() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the rooms did not empty");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statistics_count_meetings_rates_flags_and_quality_with_filters() {
    let hub = start_hub("statistics").await;
    let state = AppState::new(
        hub.hub.clone(),
        std::env::temp_dir().join(format!("cau-statistics-{}", std::process::id())),
    );
    let [scheduler, archivist]: [String; 2] = sign_in(
        &state,
        &[("lan", StaffRole::Scheduler), ("thu", StaffRole::Archivist)],
    )
    .await
    .try_into()
    .unwrap();
    let since = signaling::db::now_ms() - 1;

    // Meeting 1 (host: the district): ALWAYS with media for a few seconds, ONCE by websocket.
    let one = plan_meeting(&hub.hub, "district:164", &[ALWAYS, ONCE, NEVER]).await;
    let chair = Client::join(hub.addr, &one.join_as_chair("Chủ trì")).await;
    let always = SimEndpoint::join(hub.addr, &one, ALWAYS, "Luôn dự").await;
    let mut once = Client::join(hub.addr, &one.join(ONCE, "Dự một lần")).await;
    assert!(
        wait_until(Duration::from_secs(10), || always
            .seen
            .lock()
            .unwrap()
            .connected)
        .await
    );
    // The roll-call task samples link quality every 2 s.
    tokio::time::sleep(Duration::from_millis(4_500)).await;
    once.send(&ClientMessage::Leave).await;
    always.stop().await;
    drop(chair);
    rooms_empty(&hub).await;

    // Meeting 2 (another host): only ALWAYS comes.
    let two = plan_meeting(&hub.hub, "district:165", &[ALWAYS, ONCE, NEVER]).await;
    let mut a = Client::join(hub.addr, &two.join(ALWAYS, "Luôn dự")).await;
    a.send(&ClientMessage::Leave).await;
    rooms_empty(&hub).await;

    let uri = |q: &str| format!("/api/statistics?from={since}{q}");
    let (status, body) = api_call(&state, &uri("&tier=commune"), Some(&scheduler), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let s = &body["statistics"];
    assert_eq!(s["meetings_held"], 2, "{s}");
    assert_eq!(s["occurrences_held"], 2);
    assert!(s["hours"].as_f64().unwrap() > 0.0);
    let unit = |id: &str| {
        s["units"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["unit"]["id"] == id)
            .unwrap_or_else(|| panic!("{id} in {s}"))
            .clone()
    };
    let always = unit(ALWAYS);
    assert_eq!(
        (always["invited"].as_u64(), always["attended"].as_u64()),
        (Some(2), Some(2))
    );
    assert_eq!(always["rate"], 1.0);
    assert!(
        always["median_rtt_ms"].as_f64().is_some(),
        "link quality measured: {always}"
    );
    assert!(always["median_loss_pct"].as_f64().is_some(), "{always}");
    assert_eq!(always["flag"], Value::Null);
    let once_u = unit(ONCE);
    assert_eq!(
        (once_u["attended"].as_u64(), once_u["rate"].as_f64()),
        (Some(1), Some(0.5))
    );
    assert_eq!(
        once_u["median_rtt_ms"],
        Value::Null,
        "no media, nothing measured"
    );
    let never = unit(NEVER);
    assert_eq!(
        (never["attended"].as_u64(), never["flag"].as_str()),
        (Some(0), Some("often_absent"))
    );
    assert_eq!(s["units"][0]["unit"]["id"], NEVER, "the lowest rate first");
    // The tier filter keeps communes only; hosts and chairs' units are districts.
    assert!(
        s["units"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["unit"]["tier"] == "commune")
    );
    let tiers = s["tiers"].as_array().unwrap();
    assert_eq!(tiers.len(), 1);
    assert_eq!(tiers[0]["tier"], "commune");

    // The subtree of another district has none of these units.
    let (status, body) = api_call(
        &state,
        &uri("&root=district:165&tier=commune"),
        Some(&scheduler),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body["statistics"]["units"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["unit"]["id"] != ALWAYS)
    );
    // Without a tier the districts that hosted are there too.
    let (_, body) = api_call(&state, &uri(""), Some(&scheduler), None).await;
    assert!(
        body["statistics"]["units"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["unit"]["id"] == "district:164")
    );

    // Bad filters, and who may ask.
    for (q, field) in [
        ("&tier=hamlet", "tier"),
        ("&root=district:0", "root"),
        ("&to=1", "to"),
    ] {
        let (status, body) = api_call(&state, &uri(q), Some(&scheduler), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}");
        assert!(
            body["message"].as_str().unwrap().starts_with(field),
            "{body}"
        );
    }
    assert_eq!(
        api_call(&state, &uri(""), None, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        api_call(&state, &uri(""), Some(&archivist), None).await.0,
        StatusCode::FORBIDDEN
    );
    hub.shutdown().await;
}
