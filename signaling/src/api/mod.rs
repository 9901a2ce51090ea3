//! The JSON API under `/api` (docs/api.md): accounts, the directory, meetings, join links.
//!
//! Authentication is read here: a bearer token (`Authorization: Bearer …`) or the session
//! cookie, with the CSRF header required for cookie-authenticated changes.

mod accounts;
mod archive;
mod directory;
mod meetings;
mod record;
mod recorder;
mod statistics;
mod status;

use axum::Router;
use axum::body::Bytes;
use axum::extract::FromRequest;
use axum::http::{HeaderMap, Method, header};
use axum::routing::{get, post, put};
use serde::de::DeserializeOwned;

use crate::auth::{self, COOKIE_NAME, StaffSession};
use crate::db::now_ms;
use crate::error::ApiError;
use crate::http::AppState;

/// Largest JSON body accepted (a national directory file is ~400 KB).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/login", post(accounts::login))
        .route("/api/logout", post(accounts::logout))
        .route("/api/me", get(accounts::me))
        .route("/api/users", get(accounts::list).post(accounts::create))
        .route("/api/directory", get(directory::whole))
        .route("/api/units", get(directory::search))
        .route("/api/units/{id}", get(directory::unit))
        .route("/api/units/{id}/subtree", get(directory::subtree))
        .route("/api/units/{id}/feed", get(meetings::feed_url))
        .route("/api/admin/directory", post(directory::replace))
        .route("/api/calendar/{file}", get(meetings::unit_calendar))
        .route("/api/meetings", get(meetings::list).post(meetings::create))
        .route("/api/meeting-classes", get(meetings::classes))
        .route("/api/meetings/preview", post(meetings::preview))
        .route(
            "/api/meetings/{id}",
            get(meetings::show).put(meetings::edit),
        )
        .route("/api/meetings/{id}/cancel", post(meetings::cancel))
        .route("/api/meetings/{id}/end", post(meetings::end))
        .route(
            "/api/meetings/{id}/links",
            get(meetings::links).post(meetings::issue_link),
        )
        .route("/api/meetings/{id}/links.csv", get(meetings::links_csv))
        .route(
            "/api/meetings/{id}/links/{link}/revoke",
            post(meetings::revoke_link),
        )
        .route("/api/meetings/{id}/roll-call", get(meetings::roll_call))
        .route(
            "/api/meetings/{id}/moderation-log",
            get(meetings::moderation_log),
        )
        .route("/api/meetings/{id}/attendance", get(record::attendance))
        .route(
            "/api/meetings/{id}/attendance.csv",
            get(record::attendance_csv),
        )
        .route(
            "/api/meetings/{id}/record",
            get(record::record).put(record::save_record),
        )
        .route("/api/meetings/{id}/meeting.ics", get(meetings::meeting_ics))
        .route("/api/statistics", get(statistics::statistics))
        .route("/api/status", get(status::status))
        .route("/api/recordings", get(archive::search))
        .route(
            "/api/recordings/{session}",
            get(archive::show).delete(archive::destroy),
        )
        .route("/api/recordings/{session}/class", put(archive::classify))
        .route("/api/recordings/{session}/files/{name}", get(archive::file))
        .route(
            "/api/recordings/{session}/manifest.json",
            get(archive::manifest),
        )
        .route(
            "/api/recordings/{session}/archive.tar",
            get(archive::tarball),
        )
        .route("/api/recordings/{session}/verify", post(archive::verify))
        .route(
            "/api/recordings/{session}/access-log",
            get(archive::access_log),
        )
        .route("/api/join", get(meetings::check_join))
        .route("/api/join/meeting.ics", get(meetings::join_ics))
        .route("/api/recorder/feed", get(recorder::feed))
        .route(
            "/api/recorder/sessions/{session}/whep",
            post(recorder::whep),
        )
        .route(
            "/api/recorder/sessions/{session}/whep/{resource}",
            axum::routing::delete(recorder::leave),
        )
        .route(
            "/api/recorder/sessions/{session}/whep/{resource}/events",
            get(recorder::events),
        )
        .route(
            "/api/recorder/sessions/{session}/whep/{resource}/keyframe",
            post(recorder::keyframe),
        )
        .route(
            "/api/recorder/sessions/{session}/interrupted",
            get(recorder::interrupted),
        )
        .route(
            "/api/recorder/sessions/{session}/manifest",
            post(recorder::manifest),
        )
}

/// A JSON body whose errors are the API's own `bad_request`.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, ApiError> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::BadRequest(format!("cannot read the body: {e}")))?;
        if bytes.len() > MAX_BODY_BYTES {
            return Err(ApiError::BadRequest("body too large".into()));
        }
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON: {e}")))
    }
}

/// The session token a request carries, and whether it came in the cookie.
pub fn presented_token(headers: &HeaderMap) -> Option<(String, bool)> {
    if let Some(auth) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return auth
            .strip_prefix("Bearer ")
            .map(|t| (t.trim().to_string(), false));
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            (name == COOKIE_NAME).then(|| (value.to_string(), true))
        })
}

/// The logged-in staff session of a request, if any (no CSRF check: for reads and the
/// websocket, which checks the origin instead).
pub async fn optional_staff(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Option<StaffSession>, ApiError> {
    let Some((token, _)) = presented_token(headers) else {
        return Ok(None);
    };
    Ok(state
        .hub
        .db()
        .call(move |c| auth::session(c, &token, now_ms()))
        .await?)
}

/// The logged-in staff session, or 401; for a cookie session and a method that changes
/// things, the CSRF header must match.
pub async fn staff(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
) -> Result<StaffSession, ApiError> {
    let Some((token, via_cookie)) = presented_token(headers) else {
        return Err(ApiError::Unauthenticated);
    };
    let session = state
        .hub
        .db()
        .call(move |c| auth::session(c, &token, now_ms()))
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    let changes = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if via_cookie && changes {
        let sent = headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
        let expected = session.csrf_token.as_deref();
        let ok = match (sent, expected) {
            (Some(a), Some(b)) => constant_time_eq(a.as_bytes(), b.as_bytes()),
            _ => false,
        };
        if !ok {
            tracing::warn!(user = %session.user.username, "refused a change without the CSRF token");
            return Err(ApiError::Csrf);
        }
    }
    Ok(session)
}

/// A staff session whose user may schedule (schedulers and admins).
pub async fn scheduler(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
) -> Result<StaffSession, ApiError> {
    let s = staff(state, method, headers).await?;
    if !s.user.may_schedule() {
        tracing::warn!(user = %s.user.username, "refused: not a scheduler");
        return Err(ApiError::Forbidden("this needs the scheduler role".into()));
    }
    Ok(s)
}

/// A staff session whose user is an admin.
pub async fn admin(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
) -> Result<StaffSession, ApiError> {
    let s = staff(state, method, headers).await?;
    if !s.user.has(auth::StaffRole::Admin) {
        tracing::warn!(user = %s.user.username, "refused: not an admin");
        return Err(ApiError::Forbidden("this needs the admin role".into()));
    }
    Ok(s)
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The address links point at: the configured public URL, or this request's host (over
/// HTTPS when the hub serves it).
pub fn public_base(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(url) = &state.public_url {
        return url.trim_end_matches('/').to_string();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            h.chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c))
        })
        .unwrap_or("localhost");
    let scheme = if state.https { "https" } else { "http" };
    format!("{scheme}://{host}")
}
