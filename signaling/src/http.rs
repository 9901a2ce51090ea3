//! The HTTP surface: health, directory, live rooms, the websocket, and the web client.

use axum::extract::{Query, State, WebSocketUpgrade};
use axum::http::{StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::StreamExt;
use rust_embed::RustEmbed;
use serde::Deserialize;

use crate::error::ApiError;
use crate::protocol::MAX_MESSAGE_BYTES;
use crate::rooms::Hub;
use crate::ws::{self, ConnectionTimers};

/// The web client. Read from `web-client/` at run time in debug builds, embedded in release.
#[derive(RustEmbed)]
#[folder = "../web-client"]
struct WebClient;

/// What the transport accepts before our own 64 KiB protocol limit answers with `too_large`;
/// anything larger is refused by the websocket layer without being buffered.
const TRANSPORT_MAX_MESSAGE: usize = 16 * MAX_MESSAGE_BYTES;

#[derive(Debug, Clone)]
pub struct AppState {
    pub hub: Hub,
    pub timers: ConnectionTimers,
}

pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/directory", get(directory))
        .route("/api/units", get(search_units))
        .route("/api/rooms", get(rooms))
        .route("/ws", get(websocket))
        .fallback(get(static_file))
        .with_state(state)
}

async fn healthz(State(state): State<AppState>) -> Result<Response, ApiError> {
    let sfu = state
        .hub
        .sfu()
        .stats()
        .await
        .map_err(|_| ApiError::Unavailable)?;
    Ok(Json(serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "sessions": sfu.sessions,
        "endpoints": sfu.endpoints,
    }))
    .into_response())
}

async fn directory(State(state): State<AppState>) -> Response {
    Json(state.hub.directory().file()).into_response()
}

#[derive(Debug, Deserialize)]
struct UnitQuery {
    #[serde(default)]
    q: String,
    limit: Option<usize>,
}

async fn search_units(State(state): State<AppState>, Query(query): Query<UnitQuery>) -> Response {
    let limit = query.limit.unwrap_or(20).min(200);
    let units = state.hub.directory().search(&query.q, limit);
    Json(serde_json::json!({ "units": units })).into_response()
}

async fn rooms(State(state): State<AppState>) -> Response {
    Json(serde_json::json!({ "rooms": state.hub.rooms().await })).into_response()
}

async fn websocket(State(state): State<AppState>, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(TRANSPORT_MAX_MESSAGE)
        .max_frame_size(TRANSPORT_MAX_MESSAGE)
        .on_upgrade(move |socket| async move {
            let (sink, stream) = socket.split();
            ws::serve(state.hub, sink, stream, state.timers).await;
        })
}

async fn static_file(uri: Uri) -> Response {
    let path = uri.path().trim_start_matches('/');
    let path = if path.is_empty() { "index.html" } else { path };
    match WebClient::get(path) {
        Some(file) => {
            let mime = file.metadata.mimetype();
            let cache = if mime.starts_with("text/html") {
                "no-cache"
            } else {
                "max-age=300"
            };
            (
                [
                    (header::CONTENT_TYPE, mime.to_string()),
                    (header::CACHE_CONTROL, cache.to_string()),
                    (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_string()),
                ],
                file.data,
            )
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
