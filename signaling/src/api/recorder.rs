//! The routes a recorder process (`cau-recorder`) uses, when the hub runs with `--recorder
//! remote` (docs/api.md, "Recorder"): its feed of recorded sessions, WHEP to subscribe to
//! one, the resource's events and keyframe requests, and the manifests it sends back. Every
//! request carries the recorder's secret as a bearer token; a hub that records in-process
//! answers `not_found`.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::Stream;
use recorder::remote::{EVENTS_REL, KeyframeWanted, parse_source};
use recorder::session::Manifest;
use sfu::EndpointId;

use super::{JsonBody, presented_token};
use crate::error::ApiError;
use crate::http::AppState;
use crate::remote_recorder::{RemoteError, RemoteRecorders};

/// Largest SDP offer taken (a recorder's has two m-lines: a few KB).
const MAX_OFFER_BYTES: usize = 64 * 1024;

/// How often an idle event stream carries a comment, so a vanished peer is noticed.
const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// The remote recorder's side, if the request carries its secret.
fn recorder(state: &AppState, headers: &HeaderMap) -> Result<Arc<RemoteRecorders>, ApiError> {
    let remote = state
        .hub
        .remote_recorder()
        .ok_or_else(|| ApiError::NotFound("this hub records in-process".into()))?;
    match presented_token(headers) {
        Some((token, false)) if remote.is_secret(&token) => Ok(remote.clone()),
        _ => Err(ApiError::Unauthenticated),
    }
}

fn remote_error(e: RemoteError) -> ApiError {
    match e {
        RemoteError::NoSession(_) | RemoteError::NoResource => ApiError::NotFound(e.to_string()),
        RemoteError::Relay(recorder::remote::relay::RelayError::BadSdp(m)) => {
            ApiError::BadRequest(format!("bad SDP offer: {m}"))
        }
        RemoteError::Relay(recorder::remote::relay::RelayError::Busy) => {
            ApiError::InvalidState(e.to_string())
        }
        RemoteError::Relay(e) => ApiError::Internal(e.to_string()),
    }
}

/// Server-sent events of JSON values, one per item, kept alive with comments.
fn sse<T: serde::Serialize + Send + 'static>(
    items: impl Stream<Item = T> + Send + 'static,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    use futures_util::StreamExt;
    let events = items
        .map(|item| Ok(Event::default().data(serde_json::to_string(&item).unwrap_or_default())));
    Sse::new(events).keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
}

/// `GET /api/recorder/feed`: the recorded sessions waiting for a recorder, then each new one.
pub async fn feed(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let remote = recorder(&state, &headers)?;
    let (now, later) = remote.feed();
    let later = futures_util::stream::unfold(later, |mut rx| async move {
        loop {
            match rx.recv().await {
                Ok(e) => return Some((e, rx)),
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    let items = futures_util::StreamExt::chain(futures_util::stream::iter(now), later);
    // Ended when the hub stops, so that it does not hold the server open.
    let items = futures_util::StreamExt::take_until(items, state.hub.closing());
    Ok(sse(items).into_response())
}

/// `POST /api/recorder/sessions/{session}/whep`: a recorder's offer (`application/sdp`);
/// `201 Created` with the answer, the resource in `Location` and its events in `Link`.
pub async fn whep(
    State(state): State<AppState>,
    Path(session): Path<i64>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let remote = recorder(&state, &headers)?;
    let sdp_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/sdp"));
    if !sdp_type {
        return Err(ApiError::BadRequest(
            "the offer must be application/sdp".into(),
        ));
    }
    if body.len() > MAX_OFFER_BYTES {
        return Err(ApiError::BadRequest("the offer is too large".into()));
    }
    let offer = String::from_utf8(body.to_vec())
        .map_err(|_| ApiError::BadRequest("the offer is not UTF-8".into()))?;
    let (resource, answer) = remote.attach(session, offer).await.map_err(remote_error)?;
    let location = format!("/api/recorder/sessions/{session}/whep/{resource}");
    let link = format!("<{location}/events>; rel=\"{EVENTS_REL}\"; events=\"recording\"");
    let mut response = (StatusCode::CREATED, answer).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/sdp"),
    );
    for (name, value) in [(header::LOCATION, location), (header::LINK, link)] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    Ok(response)
}

/// `GET …/whep/{resource}/events`: the session's events for the recorder attached (once).
pub async fn events(
    State(state): State<AppState>,
    Path((session, resource)): Path<(i64, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let remote = recorder(&state, &headers)?;
    let rx = remote
        .take_events(session, &resource)
        .map_err(remote_error)?;
    let items =
        futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (e, rx)) });
    Ok(sse(items).into_response())
}

/// `POST …/whep/{resource}/keyframe` `{endpoint, source}`: the recorder lost part of a video.
pub async fn keyframe(
    State(state): State<AppState>,
    Path((session, resource)): Path<(i64, String)>,
    headers: HeaderMap,
    JsonBody(k): JsonBody<KeyframeWanted>,
) -> Result<StatusCode, ApiError> {
    let remote = recorder(&state, &headers)?;
    let sfu_session = remote
        .sfu_session(session, &resource)
        .map_err(remote_error)?;
    let source = parse_source(&k.source)
        .ok_or_else(|| ApiError::BadRequest(format!("no source {:?}", k.source)))?;
    state
        .hub
        .sfu()
        .recorder_keyframe(sfu_session, EndpointId(k.endpoint), source);
    Ok(StatusCode::NO_CONTENT)
}

/// `DELETE …/whep/{resource}`: the recorder is done with the session (WHEP's teardown).
pub async fn leave(
    State(state): State<AppState>,
    Path((_session, _resource)): Path<(i64, String)>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    recorder(&state, &headers)?;
    // The relay ends with the session or when the recorder's event stream closes.
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/recorder/sessions/{session}/interrupted`: what the hub knows of a session a
/// crash of the recorder cut short, for its manifest.
pub async fn interrupted(
    State(state): State<AppState>,
    Path(session): Path<i64>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    recorder(&state, &headers)?;
    let known = state
        .hub
        .interrupted_session(session)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .ok_or_else(|| ApiError::NotFound(format!("no session {session}")))?;
    Ok(axum::Json(known).into_response())
}

/// `POST /api/recorder/sessions/{session}/manifest`: the recorder finished the session.
pub async fn manifest(
    State(state): State<AppState>,
    Path(session): Path<i64>,
    headers: HeaderMap,
    JsonBody(m): JsonBody<Manifest>,
) -> Result<StatusCode, ApiError> {
    recorder(&state, &headers)?;
    if m.session.session_id != session {
        return Err(ApiError::BadRequest(
            "the manifest is another session's".into(),
        ));
    }
    if m.format != recorder::session::FORMAT {
        return Err(ApiError::BadRequest(format!(
            "manifest format {} unknown",
            m.format
        )));
    }
    // Names come from a file system and go back to one: nothing but plain file names.
    if let Some(bad) = m
        .files
        .iter()
        .find(|f| f.name.is_empty() || f.name.contains(['/', '\\']) || f.name.starts_with('.'))
    {
        return Err(ApiError::BadRequest(format!(
            "file name {:?} refused",
            bad.name
        )));
    }
    let known = state
        .hub
        .remote_recording_finished(m)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    if !known {
        return Err(ApiError::NotFound(format!(
            "no recording of session {session}"
        )));
    }
    Ok(StatusCode::NO_CONTENT)
}
