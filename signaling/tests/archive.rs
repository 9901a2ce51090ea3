//! The archive over a real hub: a recorded meeting held by simulated endpoints becomes a
//! `ready` recording in the catalogue; an archivist finds it (title without diacritics, an
//! attending unit, a tier, a period), opens it, plays a file whole and by byte ranges,
//! downloads one and the whole session as a tar with the manifest and checksums, verifies it
//! (then finds a changed and a missing file); the access log has every play, download and
//! verify, chained; a scheduler, a stranger and a path are refused.

mod common;

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use common::{SimEndpoint, SimOptions, all_connected, plan_meeting_with, start_hub};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use signaling::auth::{self, StaffRole};
use signaling::http::{AppState, app};
use tower::ServiceExt;

async fn raw(
    state: &AppState,
    method: &str,
    uri: &str,
    bearer: Option<&str>,
    extra: &[(header::HeaderName, &str)],
    body: Option<Value>,
) -> (StatusCode, HeaderMap, Bytes) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = bearer {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    for (k, v) in extra {
        req = req.header(k, *v);
    }
    let req = match body {
        Some(b) => req
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(b.to_string())),
        None => req.body(Body::empty()),
    }
    .unwrap();
    let response = app(state.clone()).oneshot(req).await.unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, bytes)
}

/// A request with a JSON body; the status and the JSON answer.
async fn send(
    state: &AppState,
    method: &str,
    uri: String,
    bearer: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let (status, _, bytes) = raw(state, method, &uri, bearer, &[], Some(body)).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

async fn json_of(
    state: &AppState,
    method: &str,
    uri: &str,
    bearer: Option<&str>,
) -> (StatusCode, Value) {
    let (status, _, bytes) = raw(state, method, uri, bearer, &[], None).await;
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// The entries of a ustar file: (name, contents).
fn untar(b: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut out = vec![];
    let mut at = 0;
    while at + 512 <= b.len() && b[at] != 0 {
        let h = &b[at..at + 512];
        let name = String::from_utf8_lossy(&h[..100])
            .trim_end_matches('\0')
            .to_string();
        let size_text = String::from_utf8_lossy(&h[124..135]).to_string();
        let size = usize::from_str_radix(size_text.trim_end_matches('\0'), 8).unwrap();
        let body = b[at + 512..at + 512 + size].to_vec();
        out.push((name, body));
        at += 512 + size.div_ceil(512) * 512;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn archivists_find_play_download_and_verify_recordings_and_every_access_is_logged() {
    let hub = start_hub("archive").await;
    let state = AppState::new(
        hub.hub.clone(),
        std::env::temp_dir().join(format!("cau-archive-{}", std::process::id())),
    );
    for (user, role) in [
        ("thu", StaffRole::Archivist),
        ("lan", StaffRole::Scheduler),
        ("quan", StaffRole::Admin),
    ] {
        hub.hub
            .db()
            .call(move |c| {
                auth::create_user(c, user, user, "mật khẩu đủ dài", &[role], 0)
                    .map(|_| ())
                    .map_err(|e| rusqlite::Error::InvalidParameterName(e.to_string()))
            })
            .await
            .unwrap();
    }
    let mut tokens = vec![];
    for user in ["thu", "lan", "quan"] {
        let body = json!({"username": user, "password": "mật khẩu đủ dài", "bearer": true});
        let (status, _, bytes) = raw(&state, "POST", "/api/login", None, &[], Some(body)).await;
        assert_eq!(status, StatusCode::OK);
        let v: Value = serde_json::from_slice(&bytes).unwrap();
        tokens.push(v["token"].as_str().unwrap().to_string());
    }
    let (archivist, scheduler, admin) = (
        Some(tokens[0].as_str()),
        Some(tokens[1].as_str()),
        Some(tokens[2].as_str()),
    );

    let meeting = plan_meeting_with(&hub.hub, "province:19", &["commune:5431"], |f| {
        f.recorded = true;
        f.title = "Giao ban Quý IV về Chuyển đổi số".into();
        f.class = "training".into();
    })
    .await;
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
    let an = SimEndpoint::join(hub.addr, &meeting, "commune:5431", "an").await;
    assert!(all_connected(&[&chair, &an]).await);
    tokio::time::sleep(Duration::from_secs(2)).await;
    chair.stop().await;
    an.stop().await;

    // The catalogue: ready once finalised.
    let mut session = 0;
    for _ in 0..200 {
        let (_, v) = json_of(&state, "GET", "/api/recordings", archivist).await;
        if let Some(r) = v["recordings"].as_array().and_then(|r| r.first())
            && r["state"] == "ready"
        {
            session = r["session_id"].as_i64().unwrap();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(session > 0, "the recording becomes ready");

    // Found by words of the title without diacritics, by an attending unit's name, by unit,
    // by tier and by period; not otherwise.
    // Today in Viet Nam, as the exports write it.
    let today = signaling::ics::vn_time(signaling::db::now_ms())[..10].to_string();
    for (query, hits) in [
        ("q=chuyen%20doi%20so".to_string(), 1),
        ("q=quy%20iv%20giao".to_string(), 1),
        ("q=quan%20trieu".to_string(), 1), // commune:5431, Phường Quán Triều
        ("q=hop%20bao".to_string(), 0),
        ("unit=commune:5431".to_string(), 1),
        ("unit=commune:5434".to_string(), 0),
        ("tier=commune".to_string(), 1),
        (format!("from={today}&to={today}"), 1),
        ("from=2020-01-01&to=2020-01-31".to_string(), 0),
    ] {
        let (status, v) = json_of(
            &state,
            "GET",
            &format!("/api/recordings?{query}"),
            archivist,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{query}: {v}");
        assert_eq!(v["recordings"].as_array().unwrap().len(), hits, "{query}");
    }
    let (status, _) = json_of(&state, "GET", "/api/recordings?from=yesterday", archivist).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // Only archivists (and admins).
    let (status, v) = json_of(&state, "GET", "/api/recordings", scheduler).await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (status, _) = json_of(&state, "GET", "/api/recordings", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // The session: its files, participants and timeline.
    let (status, rec) = json_of(
        &state,
        "GET",
        &format!("/api/recordings/{session}"),
        archivist,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{rec}");
    assert_eq!(rec["title"], "Giao ban Quý IV về Chuyển đổi số");
    assert_eq!(rec["participants"].as_array().unwrap().len(), 2);
    let files = rec["files"].as_array().unwrap().clone();
    assert_eq!(files.len(), 2);
    let f = &files[0];
    let (name, url, bytes) = (
        f["name"].as_str().unwrap().to_string(),
        f["url"].as_str().unwrap().to_string(),
        f["bytes"].as_u64().unwrap(),
    );

    // The archive view is made after the session from the files (in the background: queued,
    // making, then in the manifest). These endpoints send tagged bytes, not a codec's, so its
    // picture is not worth looking at; the real thing is checked in
    // recorder/tests/record_clip.rs and the archive browser test.
    let mut composite = Value::Null;
    for _ in 0..300 {
        let (_, v) = json_of(
            &state,
            "GET",
            &format!("/api/recordings/{session}"),
            archivist,
        )
        .await;
        composite = v["composite"].clone();
        if composite["state"] == "ready" || composite["state"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(composite["state"], "ready", "{composite}");
    let (status, h, mp4) = raw(
        &state,
        "GET",
        composite["url"].as_str().unwrap(),
        archivist,
        &[],
        None,
    )
    .await;
    assert_eq!(
        (status, &h[header::CONTENT_TYPE]),
        (
            StatusCode::OK,
            &"video/mp4".parse::<header::HeaderValue>().unwrap()
        )
    );
    assert_eq!(mp4.len() as u64, composite["bytes"].as_u64().unwrap());

    // Played whole, then by ranges (what a player seeking does).
    let (status, h, whole) = raw(&state, "GET", &url, archivist, &[], None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(whole.len() as u64, bytes);
    assert_eq!(h[header::ACCEPT_RANGES], "bytes");
    assert_eq!(h[header::CONTENT_TYPE], "video/webm");
    let (status, h, part) = raw(
        &state,
        "GET",
        &url,
        archivist,
        &[(header::RANGE, "bytes=100-199")],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        h[header::CONTENT_RANGE],
        format!("bytes 100-199/{bytes}").as_str()
    );
    assert_eq!(&part[..], &whole[100..200]);
    let (status, _, tail) = raw(
        &state,
        "GET",
        &url,
        archivist,
        &[(header::RANGE, "bytes=-10")],
        None,
    )
    .await;
    assert_eq!(
        (status, &tail[..]),
        (StatusCode::PARTIAL_CONTENT, &whole[whole.len() - 10..])
    );
    let beyond = format!("bytes={bytes}-");
    let (status, _, _) = raw(
        &state,
        "GET",
        &url,
        archivist,
        &[(header::RANGE, beyond.as_str())],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
    // A download says so.
    let (status, h, _) = raw(
        &state,
        "GET",
        &format!("{url}?download=1"),
        archivist,
        &[],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        h[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains(&name)
    );
    // Paths are never taken from the request.
    for bad in [
        format!("/api/recordings/{session}/files/..%2F..%2Fcau.db"),
        format!("/api/recordings/{session}/files/manifest.json"),
        format!("/api/recordings/{session}/files/e9-nobody.webm"),
        "/api/recordings/999/files/x.webm".to_string(),
    ] {
        let (status, _, _) = raw(&state, "GET", &bad, archivist, &[], None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
    }
    let (status, _, _) = raw(&state, "GET", &url, scheduler, &[], None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // The whole session: every file, the manifest and SHA256SUMS.
    let (status, h, tar) = raw(
        &state,
        "GET",
        &format!("/api/recordings/{session}/archive.tar"),
        archivist,
        &[],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(h[header::CONTENT_TYPE], "application/x-tar");
    let entries = untar(&tar);
    let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        names.len(),
        5,
        "the two files, the archive view, manifest, sums: {names:?}"
    );
    assert!(names.contains(&format!("session-{session}/{name}").as_str()));
    assert_eq!(
        entries.iter().find(|e| e.0.ends_with(&name)).unwrap().1,
        whole.to_vec()
    );
    let sums = String::from_utf8(
        entries
            .iter()
            .find(|e| e.0.ends_with("SHA256SUMS"))
            .unwrap()
            .1
            .clone(),
    )
    .unwrap();
    for f in &files {
        assert!(sums.contains(&format!(
            "{}  {}",
            f["sha256"].as_str().unwrap(),
            f["name"].as_str().unwrap()
        )));
    }

    // Verified: all well; then a changed file and a missing one are told apart.
    let verify = format!("/api/recordings/{session}/verify");
    let (status, _, body) = raw(&state, "POST", &verify, archivist, &[], Some(json!({}))).await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        (status, v["ok"].as_bool()),
        (StatusCode::OK, Some(true)),
        "{v}"
    );
    let dir = hub
        .hub
        .recordings_dir()
        .unwrap()
        .join(meeting.id.to_string())
        .join(session.to_string());
    let mut changed = std::fs::read(dir.join(&name)).unwrap();
    changed[200] ^= 0xff;
    std::fs::write(dir.join(&name), &changed).unwrap();
    let other = files[1]["name"].as_str().unwrap().to_string();
    std::fs::remove_file(dir.join(&other)).unwrap();
    let (_, _, body) = raw(&state, "POST", &verify, archivist, &[], Some(json!({}))).await;
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["ok"], false);
    let of = |n: &str| {
        v["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["name"] == n)
            .unwrap()
            .clone()
    };
    assert_eq!(
        (of(&name)["ok"].as_bool(), of(&name)["missing"].as_bool()),
        (Some(false), Some(false))
    );
    assert_eq!(of(&other)["missing"], true);
    let (status, v) = json_of(
        &state,
        "GET",
        &format!("/api/recordings/{session}/files/{other}"),
        archivist,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        v["message"].as_str().unwrap().contains("no longer on disk"),
        "{v}"
    );

    // The access log: the archive view's play, the file's (ranges past byte 0 are the same
    // play), its download, the tar, two verifies — chained and unbroken.
    let (_, v) = json_of(
        &state,
        "GET",
        &format!("/api/recordings/{session}/access-log"),
        archivist,
    )
    .await;
    let actions: Vec<&str> = v["entries"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["play", "play", "download", "download", "verify", "verify"]
    );
    assert!(
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["username"] == "thu")
    );
    let check = hub
        .hub
        .db()
        .call(|c| signaling::archive::check_chain(c))
        .await
        .unwrap();
    assert_eq!(check.entries, 6);
    assert_eq!(check.broken_at, None);
    // The same from the command line.
    let data_dir = std::env::temp_dir().join(format!("cau-it-archive-{}", std::process::id()));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cau"))
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["admin", "check-access-log"])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success() && said.contains("6 entries"), "{said}");

    retention(
        &state,
        &hub.hub,
        session,
        &dir,
        (archivist, scheduler, admin),
    )
    .await;
}

/// Retention: the recording kept as its meeting's class says, classified again, refused
/// destruction before its day and to anyone but an archivist who confirms it, then
/// destroyed: files gone, the catalogue's row kept as the record, every file request `gone`,
/// the classification and destruction in the chained access log.
async fn retention(
    state: &AppState,
    hub: &signaling::rooms::Hub,
    session: i64,
    dir: &std::path::Path,
    (archivist, scheduler, admin): (Option<&str>, Option<&str>, Option<&str>),
) {
    use signaling::ics::{vn_year, vn_year_start};
    let recording = format!("/api/recordings/{session}");
    let (_, rec) = json_of(state, "GET", &recording, archivist).await;
    let started = rec["started_at"].as_i64().unwrap();
    // A training: five whole years after the year it was held.
    assert_eq!(rec["class"], "training");
    assert_eq!(
        rec["keep_until"].as_i64(),
        Some(vn_year_start(vn_year(started) + 6))
    );
    assert_eq!(rec["expired"], false);

    // The classes, for anyone on the staff.
    let (status, v) = json_of(state, "GET", "/api/meeting-classes", scheduler).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<&str> = v["classes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["review", "thematic", "general", "training"]);
    assert_eq!(v["default"], "general");
    let (status, _) = json_of(state, "GET", "/api/meeting-classes", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let destroy = |confirm: i64, reason: &str| json!({"confirm": confirm, "reason": reason});
    // Not before its day.
    let (status, v) = send(
        state,
        "DELETE",
        recording.clone(),
        archivist,
        destroy(session, "Hết hạn"),
    )
    .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (StatusCode::CONFLICT, Some("invalid_state")),
        "{v}"
    );
    assert!(v["message"].as_str().unwrap().contains("kept until"), "{v}");

    // Classified again: twenty years, counted from the same start.
    let class_uri = format!("{recording}/class");
    for who in [scheduler, admin] {
        let (status, v) = send(
            state,
            "PUT",
            class_uri.clone(),
            who,
            json!({"class": "thematic"}),
        )
        .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{v}");
    }
    let (status, v) = send(
        state,
        "PUT",
        class_uri.clone(),
        archivist,
        json!({"class": "secret"}),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(v["message"].as_str().unwrap().starts_with("class:"), "{v}");
    let (status, v) = send(
        state,
        "PUT",
        class_uri.clone(),
        archivist,
        json!({"class": "thematic"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["class"], "thematic");
    assert_eq!(
        v["keep_until"].as_i64(),
        Some(vn_year_start(vn_year(started) + 21))
    );

    // Its day passes (as it does for one recorded twenty years ago).
    hub.db()
        .call(move |c| {
            c.execute(
                "UPDATE recordings SET keep_until = ?2 WHERE session_id = ?1",
                rusqlite::params![session, signaling::db::now_ms() - 1000],
            )
            .map(|_| ())
        })
        .await
        .unwrap();
    let (_, v) = json_of(state, "GET", "/api/recordings?expired=true", archivist).await;
    let listed = v["recordings"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (listed[0]["session_id"].as_i64(), &listed[0]["expired"]),
        (Some(session), &json!(true))
    );

    // Destroyed only by an archivist who types the session's number and gives a reason.
    for (who, body, want) in [
        (
            scheduler,
            destroy(session, "Hết hạn"),
            StatusCode::FORBIDDEN,
        ),
        (admin, destroy(session, "Hết hạn"), StatusCode::FORBIDDEN),
        (
            archivist,
            destroy(session + 1, "Hết hạn"),
            StatusCode::BAD_REQUEST,
        ),
        (archivist, destroy(session, "  "), StatusCode::BAD_REQUEST),
        (
            archivist,
            json!({"confirm": session}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (status, v) = send(state, "DELETE", recording.clone(), who, body.clone()).await;
        assert_eq!(status, want, "{body}: {v}");
    }
    assert!(dir.exists(), "nothing destroyed by a refused request");
    let reason = "Hết thời hạn bảo quản theo Quyết định số 12/QĐ-VP";
    let (status, v) = send(
        state,
        "DELETE",
        recording.clone(),
        archivist,
        destroy(session, reason),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["state"], "deleted");
    assert_eq!(v["expired"], false);
    assert_eq!(
        (&v["deleted"]["by"], &v["deleted"]["reason"]),
        (&json!("thu"), &json!(reason))
    );
    assert!(!dir.exists(), "its files are gone");
    // What is left says so.
    for (method, uri) in [
        (
            "GET",
            format!(
                "{recording}/files/{}",
                v["files"][0]["name"].as_str().unwrap()
            ),
        ),
        ("GET", format!("{recording}/archive.tar")),
        ("GET", format!("{recording}/manifest.json")),
        ("POST", format!("{recording}/verify")),
    ] {
        let (status, e) = send(state, method, uri.clone(), archivist, json!({})).await;
        assert_eq!(
            (status, e["error"].as_str()),
            (StatusCode::GONE, Some("gone")),
            "{uri}"
        );
        assert!(e["message"].as_str().unwrap().contains("destroyed"), "{e}");
    }
    let (status, _) = send(
        state,
        "DELETE",
        recording.clone(),
        archivist,
        destroy(session, reason),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _) = send(
        state,
        "PUT",
        class_uri,
        archivist,
        json!({"class": "review"}),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Still found, as destroyed; no longer among the expired.
    let (_, v) = json_of(state, "GET", "/api/recordings", archivist).await;
    assert_eq!(v["recordings"][0]["state"], "deleted");
    let (_, v) = json_of(state, "GET", "/api/recordings?expired=true", archivist).await;
    assert_eq!(v["recordings"].as_array().unwrap().len(), 0);

    // In the access log, chained.
    let (_, v) = json_of(state, "GET", &format!("{recording}/access-log"), archivist).await;
    let entries = v["entries"].as_array().unwrap();
    assert_eq!(
        (&entries[0]["action"], &entries[0]["username"]),
        (&json!("delete"), &json!("thu"))
    );
    assert_eq!(
        (&entries[1]["action"], &entries[1]["file"]),
        (&json!("classify"), &json!("thematic"))
    );
    let check = hub
        .db()
        .call(|c| signaling::archive::check_chain(c))
        .await
        .unwrap();
    assert_eq!((check.entries, check.broken_at), (8, None));
}
