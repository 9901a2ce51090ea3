//! The HTTP surface, tested with `tower::ServiceExt::oneshot` against `app(state)`.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use signaling::http::{AppState, app};
use tower::ServiceExt;

async fn state(name: &str) -> AppState {
    AppState::new(
        common::bare_hub(name).await,
        std::env::temp_dir().join(format!("cau-http-{name}-{}", std::process::id())),
    )
}

async fn get(state: &AppState, uri: &str) -> (StatusCode, Option<String>, Vec<u8>) {
    let response = app(state.clone())
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string());
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, content_type, body)
}

fn json(body: &[u8]) -> serde_json::Value {
    serde_json::from_slice(body).unwrap()
}

#[tokio::test]
async fn health_reports_the_media_plane() {
    let s = state("health_reports_the_m").await;
    let (status, _, body) = get(&s, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    let v = json(&body);
    assert_eq!(v["status"], "ok");
    assert_eq!(v["endpoints"], 0);
}

#[tokio::test]
async fn metrics_are_prometheus_text_without_a_login() {
    let s = state("metrics_are_prometheu").await;
    let (status, ct, body) = get(&s, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        ct.as_deref(),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = String::from_utf8(body).unwrap();
    for name in [
        "cau_rooms",
        "cau_participants",
        "cau_websockets",
        "cau_sfu_sessions",
        "cau_sfu_endpoints",
        "cau_sfu_tracks",
        "cau_sfu_packets_received_total",
        "cau_sfu_packets_forwarded_total",
        "cau_sfu_datagrams_dropped_total",
        "cau_sfu_tcp_connections",
        "cau_sfu_tcp_frames_dropped_total",
        "cau_sfu_tcp_connections_refused_total",
        "cau_sfu_received_bytes_total",
        "cau_sfu_sent_bytes_total",
        "cau_sfu_keyframe_requests_total",
        "cau_sfu_layer_switches_total",
    ] {
        assert!(
            text.contains(&format!("# TYPE {name} ")),
            "{name} missing:\n{text}"
        );
        assert!(
            text.contains(&format!("\n{name} 0\n")),
            "{name} not 0 at rest:\n{text}"
        );
    }
    // The archive: nothing recorded yet, none stopped, the space left and the reserve.
    for line in [
        "cau_recordings{state=\"ready\"} 0",
        "cau_recordings{state=\"deleted\"} 0",
        "cau_recordings_stopped_total{reason=\"disk_low\"} 0",
        "cau_recordings_stopped_total{reason=\"failed\"} 0",
        "cau_archive_disk_reserve_bytes 100000000",
    ] {
        assert!(
            text.contains(&format!("\n{line}\n")),
            "{line} missing:\n{text}"
        );
    }
    let free: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("cau_archive_disk_free_bytes "))
        .and_then(|v| v.parse().ok())
        .expect("the space left on the archive's disk");
    assert!(free > 0);
    // Histograms: every bucket, +Inf last.
    for (name, first, last) in [
        ("cau_sfu_rtt_seconds", "0.01", "1.6"),
        ("cau_sfu_loss_ratio", "0.001", "0.5"),
    ] {
        for le in [first, last, "+Inf"] {
            let line = format!("\n{name}_bucket{{le=\"{le}\"}} 0\n");
            assert!(text.contains(&line), "{line} missing:\n{text}");
        }
        assert!(text.contains(&format!("# TYPE {name} histogram\n")));
        assert!(text.contains(&format!("\n{name}_count 0\n")));
    }
    // Error responses are counted by class; this test's own 404 among them.
    let (status, _, _) = get(&s, "/api/meetings/999999").await;
    assert!(status.is_client_error());
    let (_, _, body) = get(&s, "/metrics").await;
    let text = String::from_utf8(body).unwrap();
    let client_errors: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("cau_http_errors_total{class=\"4xx\"} "))
        .and_then(|v| v.parse().ok())
        .expect("4xx counted");
    assert!(client_errors >= 1, "{text}");
    // A hub embedded in a test has no counting allocator: no heap figure rather than a wrong one.
    assert!(!text.contains("cau_heap_bytes"));
}

#[tokio::test]
async fn the_directory_and_its_search() {
    let s = state("the_directory_and_it").await;
    let (status, ct, body) = get(&s, "/api/directory").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct.as_deref(), Some("application/json"));
    let v = json(&body);
    assert_eq!(v["units"].as_array().unwrap().len(), 200);
    assert_eq!(
        v["tiers"],
        serde_json::json!(["province", "district", "commune"])
    );

    // Without diacritics, shallower tiers first: the province, then the city.
    let (_, _, body) = get(&s, "/api/units?q=thai%20nguyen&limit=5").await;
    let names: Vec<_> = json(&body)["units"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["Tỉnh Thái Nguyên", "Thành phố Thái Nguyên"]);

    let (_, _, body) = get(&s, "/api/units?q=%C4%91%E1%BA%A1i%20t%E1%BB%AB").await; // "đại từ"
    assert!(
        json(&body)["units"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["name"] == "Huyện Đại Từ")
    );
    let (status, _, _) = get(&s, "/api/units?limit=notanumber").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_web_client_is_served() {
    let s = state("the_web_client_is_se").await;
    let (status, ct, body) = get(&s, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.unwrap().starts_with("text/html"));
    let page = String::from_utf8(body).unwrap();
    assert!(page.contains("lang=\"vi\""), "Vietnamese first");
    let (status, ct, _) = get(&s, "/js/protocol.js").await;
    assert_eq!(status, StatusCode::OK);
    assert!(ct.unwrap().contains("javascript"));
    let (status, _, _) = get(&s, "/meeting.html").await;
    assert_eq!(status, StatusCode::OK);
    for missing in [
        "/nope.html",
        "/../Cargo.toml",
        "/js/../../Cargo.toml",
        "/%2e%2e/Cargo.toml",
    ] {
        let (status, _, _) = get(&s, missing).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    }
}

#[tokio::test]
async fn a_plain_get_of_the_websocket_path_is_refused() {
    let s = state("a_plain_get_of_the_w").await;
    let (status, _, _) = get(&s, "/ws").await;
    assert!(status.is_client_error(), "{status}");
}
