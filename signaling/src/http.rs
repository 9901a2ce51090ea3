//! The HTTP surface: health, the JSON API (`crate::api`), the websocket, and the web client.

use std::path::PathBuf;

use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::StreamExt;
use rust_embed::RustEmbed;

use crate::error::ApiError;
use crate::protocol::MAX_SDP_MESSAGE_BYTES;
use crate::rooms::Hub;
use crate::ws::{self, ConnectionTimers};

/// The web client. Read from `web-client/` at run time in debug builds, embedded in release.
#[derive(RustEmbed)]
#[folder = "../web-client"]
struct WebClient;

/// What the transport accepts before our own protocol limits answer with `too_large`;
/// anything larger is refused by the websocket layer without being buffered.
const TRANSPORT_MAX_MESSAGE: usize = 2 * MAX_SDP_MESSAGE_BYTES;

#[derive(Debug, Clone)]
pub struct AppState {
    pub hub: Hub,
    pub timers: ConnectionTimers,
    /// Where join links point (`https://cau.example`); `None`: the request's own host.
    pub public_url: Option<String>,
    /// Mark the session cookie `Secure` (when served over HTTPS).
    pub secure_cookies: bool,
    /// The data directory (a replaced directory file is saved there).
    pub data_dir: PathBuf,
}

impl AppState {
    pub fn new(hub: Hub, data_dir: PathBuf) -> Self {
        AppState {
            hub,
            timers: ConnectionTimers::default(),
            public_url: None,
            secure_cookies: false,
            data_dir,
        }
    }
}

pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(crate::metrics::metrics))
        .route("/ws", get(websocket))
        .merge(crate::api::router())
        .fallback(get(static_file))
        .with_state(state)
}

/// The media plane's counts; `503` when it has stopped.
pub(crate) async fn media_stats(state: &AppState) -> Result<sfu::SfuStats, ApiError> {
    state
        .hub
        .sfu()
        .stats()
        .await
        .map_err(|_| ApiError::Unavailable)
}

async fn healthz(State(state): State<AppState>) -> Result<Response, ApiError> {
    let sfu = media_stats(&state).await?;
    Ok(Json(serde_json::json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "sessions": sfu.sessions,
        "endpoints": sfu.endpoints,
    }))
    .into_response())
}

async fn websocket(
    State(state): State<AppState>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    // A staff login rides on the cookie; honour it only from our own pages (a page of
    // another site could otherwise open a websocket with the cookie attached).
    let staff = if same_origin(&headers) {
        crate::api::optional_staff(&state, &headers)
            .await?
            .map(|s| s.user)
    } else {
        None
    };
    Ok(ws
        .max_message_size(TRANSPORT_MAX_MESSAGE)
        .max_frame_size(TRANSPORT_MAX_MESSAGE)
        .on_upgrade(move |socket| async move {
            let _open = state.hub.websocket_opened();
            let (sink, stream) = socket.split();
            ws::serve(state.hub, sink, stream, state.timers, staff).await;
        }))
}

/// Whether the `Origin` header names the host the request was sent to.
fn same_origin(headers: &HeaderMap) -> bool {
    let origin = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok());
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    match (origin, host) {
        (Some(origin), Some(host)) => origin
            .split_once("://")
            .is_some_and(|(_, rest)| rest.trim_end_matches('/') == host),
        _ => false,
    }
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
