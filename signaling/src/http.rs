//! The HTTP surface: health, the JSON API (`crate::api`), the websocket, and the web client.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{ConnectInfo, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::StreamExt;
use rust_embed::RustEmbed;

use crate::error::ApiError;
use crate::rooms::Hub;
use crate::status::RateSampler;
use crate::ws::{self, ConnectionTimers};

/// The web client. Read from `web-client/` at run time in debug builds, embedded in release.
#[derive(RustEmbed)]
#[folder = "../web-client"]
struct WebClient;

#[derive(Debug, Clone)]
pub struct AppState {
    pub hub: Hub,
    pub timers: ConnectionTimers,
    /// Where join links point (`https://cau.example`); `None`: the request's own host.
    pub public_url: Option<String>,
    /// Pages reach browsers over HTTPS (the hub's own TLS, or a proxy's named by
    /// `--public-url https://…`): the session cookie is `Secure` and HSTS is sent.
    pub https: bool,
    /// The data directory (a replaced directory file is saved there).
    pub data_dir: PathBuf,
    /// Where the hub listens (`None` for an app served by a test without a listener).
    pub listen: Option<SocketAddr>,
    /// When this app was made: the hub's start, for its uptime.
    pub started: Instant,
    pub started_at: i64,
    /// The media plane's totals at the previous status request, for rates.
    pub rates: Arc<RateSampler>,
}

impl AppState {
    pub fn new(hub: Hub, data_dir: PathBuf) -> Self {
        AppState {
            hub,
            timers: ConnectionTimers::default(),
            public_url: None,
            https: false,
            data_dir,
            listen: None,
            started: Instant::now(),
            started_at: crate::db::now_ms(),
            rates: Arc::new(RateSampler::default()),
        }
    }
}

pub fn app(state: AppState) -> Router {
    let https = state.https;
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(crate::metrics::metrics))
        .route("/ws", get(websocket))
        .merge(crate::api::router())
        .fallback(get(static_file))
        .with_state(state)
        .layer(axum::middleware::map_response(move |res: Response| {
            secure_headers(https, res)
        }))
        .layer(axum::middleware::map_response(|res: Response| async {
            crate::metrics::count_http_response(res.status());
            res
        }))
}

/// What the pages may load: their own scripts, styles, images, media and connections (the
/// websocket included) and nothing else — no inline script or style, no plugin, no frame.
/// The web client keeps to this; the browser tests fail on any violation it reports.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; \
     font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// How long browsers keep to HTTPS once told (`Strict-Transport-Security`): a year. Not for
/// subdomains: other services of the province's domain are not ours to decide for.
pub const HSTS: &str = "max-age=31536000";

/// The headers every response carries, unless it set its own: the content security policy,
/// no MIME sniffing, no referrer (join links carry their token in the URL), no framing,
/// camera, microphone and screen only for our own pages, and HSTS over HTTPS.
async fn secure_headers(https: bool, mut res: Response) -> Response {
    let h = res.headers_mut();
    let mut set = |name: header::HeaderName, value: &'static str| {
        h.entry(name)
            .or_insert(header::HeaderValue::from_static(value));
    };
    set(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "no-referrer");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(
        header::HeaderName::from_static("permissions-policy"),
        "camera=(self), microphone=(self), display-capture=(self), geolocation=(), payment=(), usb=()",
    );
    set(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    if https {
        set(header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    res
}

/// The plain-HTTP listener of `--http-redirect`: every request is sent to the same path over
/// HTTPS — at `public_url` if it names an `https://` origin, else at the host the request
/// named, on the HTTPS port.
pub fn redirect_app(https_port: u16, public_url: Option<String>) -> Router {
    let origin = public_url
        .filter(|u| u.starts_with("https://"))
        .map(|u| u.trim_end_matches('/').to_string());
    Router::new().fallback(move |headers: HeaderMap, uri: Uri| {
        let origin = origin.clone();
        async move {
            let path = uri.path_and_query().map_or("/", |p| p.as_str());
            let origin = match origin {
                Some(o) => o,
                None => match https_origin(&headers, https_port) {
                    Some(o) => o,
                    None => {
                        return (
                            StatusCode::BAD_REQUEST,
                            "Cầu: use HTTPS (this request named no valid host)",
                        )
                            .into_response();
                    }
                },
            };
            (
                StatusCode::PERMANENT_REDIRECT,
                [(header::LOCATION, format!("{origin}{path}"))],
            )
                .into_response()
        }
    })
}

/// `https://HOST[:PORT]` for the request's `Host` header, on `port`; `None` if the header is
/// missing or not a host.
fn https_origin(headers: &HeaderMap, port: u16) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let authority: axum::http::uri::Authority = host.parse().ok()?;
    if authority.as_str().contains('@') {
        return None;
    }
    let name = authority.host();
    Some(if port == 443 {
        format!("https://{name}")
    } else {
        format!("https://{name}:{port}")
    })
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
    extensions: axum::http::Extensions,
    ws: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    // Connections from one address, counted while open (tests through `oneshot` have no
    // address, and no limit).
    let limits = state.hub.limits();
    let counted = match extensions.get::<ConnectInfo<SocketAddr>>() {
        Some(ConnectInfo(peer)) => {
            let counted = state
                .hub
                .connections()
                .open(peer.ip(), limits.connections_per_address);
            if counted.is_none() {
                tracing::warn!(address = %peer.ip(), limit = limits.connections_per_address, "websocket refused: too many from one address");
                return Err(ApiError::TooManyConnections {
                    limit: limits.connections_per_address,
                });
            }
            counted
        }
        None => None,
    };
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
        .max_message_size(limits.transport_bytes())
        .max_frame_size(limits.transport_bytes())
        .on_upgrade(move |socket| async move {
            let _counted = counted;
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
                ],
                file.data,
            )
                .into_response()
        }
        None => (StatusCode::NOT_FOUND, "not found").into_response(),
    }
}
