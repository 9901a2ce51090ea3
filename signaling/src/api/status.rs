//! `GET /api/status`: the hub's state at a glance for operators (admins) — live sessions and
//! their connected units, load, recordings, and warnings (`crate::status`). The web client's
//! `status.html` polls it.

use std::time::Instant;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::admin;
use crate::db::now_ms;
use crate::error::ApiError;
use crate::http::AppState;
use crate::status::{self, Counters, Observed};

pub async fn status(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    admin(&state, &method, &headers).await?;
    let now = now_ms();
    let hub = &state.hub;
    // The media plane may have stopped: that is a warning here, not an error.
    let media = crate::http::media_stats(&state).await.ok();
    let rates = media
        .as_ref()
        .and_then(|m| state.rates.sample(Instant::now(), Counters::from(m)));
    let sessions = hub.live_sessions().await;
    let archive = status::archive_state(hub).await?;
    let since = now - status::TROUBLED_WINDOW_MS;
    let troubled = hub
        .db()
        .call(move |c| crate::archive::troubled_since(c, since))
        .await?;
    let remote = hub.remote_recorder().map(|r| (r.connected(), r.waiting()));
    let turn = hub.has_turn();
    let warnings = status::warnings(&Observed {
        media_up: media.is_some(),
        rates,
        archive: &archive,
        sessions: &sessions,
        remote_recorder: remote,
        troubled: &troubled,
        https: state.https,
        listen: state.listen,
        turn,
    });
    let participants: usize = sessions.iter().map(|s| s.endpoints.len()).sum();
    let by_state: serde_json::Map<String, serde_json::Value> = archive
        .by_state
        .iter()
        .map(|(s, n)| (s.to_string(), json!(n)))
        .collect();
    Ok(Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "now": now,
        "started_at": state.started_at,
        "uptime_secs": state.started.elapsed().as_secs(),
        "warnings": warnings,
        "load": {
            "sessions": sessions.len(),
            "participants": participants,
            "websockets": hub.websockets(),
            "media": media.map(|m| json!({
                "sessions": m.sessions,
                "endpoints": m.endpoints,
                "tracks": m.tracks,
                "packets_received": m.packets_received,
                "packets_forwarded": m.packets_forwarded,
                "bytes_received": m.bytes_received,
                "bytes_sent": m.bytes_sent,
                "datagrams_dropped": m.datagrams_dropped,
            })),
            "rates": rates,
            "memory": {
                "resident_bytes": status::resident_bytes(),
                "heap_bytes": crate::metrics::heap_bytes(),
            },
        },
        "sessions": sessions,
        "recordings": {
            "by_state": by_state,
            "bytes": archive.bytes.max(0),
            "disk_free_bytes": archive.disk.and_then(|d| d.free),
            "disk_reserve_bytes": archive.disk.map(|d| d.reserve),
            "stopped_since_start": {
                "disk_low": archive.stopped_disk_low,
                "failed": archive.stopped_failed,
            },
            "recorder": if remote.is_some() { "remote" } else { "local" },
            "remote_recorder": remote.map(|(connected, waiting)| json!({
                "connected": connected,
                "waiting": waiting,
            })),
            "troubled_24h": troubled.len(),
        },
        "deployment": {
            "https": state.https,
            "listen": state.listen.map(|a| a.to_string()),
            "turn": turn,
        },
    }))
    .into_response())
}
