//! The archive's API, for archivists and admins (docs/api.md, "Archive"): the catalogue
//! searched, a recording's files played (with byte ranges, so players seek) and downloaded
//! one by one or as one tar with the manifest and checksums, and verified against their
//! checksums; classified again, and destroyed once its retention has run out, by an
//! archivist who confirms it. Every play, download, verify, classification and destruction
//! is written to the access log ([`crate::archive`]). File names come from the recording's
//! manifest, never from the request as a path.

use std::path::{Path, PathBuf};

use axum::Json;
use axum::body::Body;
use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use super::{JsonBody, staff};
use crate::archive::{self, Action, Deletion, Keep, Row, Search};
use crate::auth::{StaffRole, StaffSession};
use crate::db::now_ms;
use crate::error::ApiError;
use crate::http::AppState;

/// A staff session whose user may use the archive (archivists and admins).
async fn archivist(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
) -> Result<StaffSession, ApiError> {
    let s = staff(state, method, headers).await?;
    if !s.user.has(StaffRole::Archivist) && !s.user.has(StaffRole::Admin) {
        tracing::warn!(user = %s.user.username, "refused: not an archivist");
        return Err(ApiError::Forbidden("the archive is for archivists".into()));
    }
    Ok(s)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchQuery {
    from: Option<String>,
    to: Option<String>,
    q: Option<String>,
    unit: Option<String>,
    tier: Option<String>,
    expired: Option<bool>,
}

/// `GET /api/recordings`
pub async fn search(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Query(q): Query<SearchQuery>,
) -> Result<Response, ApiError> {
    archivist(&state, &method, &headers).await?;
    let day = |name: &str, v: Option<String>| -> Result<Option<i64>, ApiError> {
        match v.filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => crate::ics::vn_day_start(&v)
                .map(Some)
                .ok_or_else(|| ApiError::BadRequest(format!("{name}: a day as YYYY-MM-DD"))),
        }
    };
    let search = Search {
        from: day("from", q.from)?,
        // The last day counts whole.
        to: day("to", q.to)?.map(|t| t + 86_400_000),
        text: q.q.filter(|t| !t.trim().is_empty()),
        unit: q.unit.filter(|u| !u.is_empty()),
        tier: q.tier.filter(|t| !t.is_empty()),
        expired: q.expired.unwrap_or(false),
    };
    let dir = state.hub.directory();
    let found = state
        .hub
        .db()
        .call(move |c| archive::search(c, &dir, &search, now_ms()))
        .await?;
    Ok(Json(serde_json::json!({ "recordings": found })).into_response())
}

/// A staff session whose user is an archivist: what changes the archive (classifying,
/// destroying) is an archivist's act, an admin's role alone does not reach it.
async fn archivist_only(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
) -> Result<StaffSession, ApiError> {
    let s = staff(state, method, headers).await?;
    if !s.user.has(StaffRole::Archivist) {
        tracing::warn!(user = %s.user.username, "refused: changing the archive needs an archivist");
        return Err(ApiError::Forbidden(
            "only an archivist classifies or destroys recordings".into(),
        ));
    }
    Ok(s)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassForm {
    class: String,
}

/// `PUT /api/recordings/{session}/class`: classify a recording again; its day to be kept
/// until is counted anew from its start.
pub async fn classify(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    UrlPath(session): UrlPath<i64>,
    JsonBody(form): JsonBody<ClassForm>,
) -> Result<Response, ApiError> {
    let who = archivist_only(&state, &method, &headers).await?;
    let row = load(&state, session).await?;
    if row.summary.deleted.is_some() {
        return Err(ApiError::InvalidState(
            "a destroyed recording is not classified".into(),
        ));
    }
    let retention = state.hub.retention();
    if retention.get(&form.class).is_none() {
        return Err(ApiError::BadRequest(format!(
            "class: no meeting class {:?} (known: {})",
            form.class.chars().take(40).collect::<String>(),
            retention.ids().join(", ")
        )));
    }
    let keep = Keep {
        until: retention.keep_until(&form.class, row.summary.started_at),
        class: form.class,
    };
    let class = keep.class.clone();
    state
        .hub
        .db()
        .call(move |c| archive::classify(c, session, &keep))
        .await?;
    log(
        &state,
        &who.user.username,
        Action::Classify,
        session,
        Some(&class),
    )
    .await?;
    tracing::info!(session, class, user = %who.user.username, "recording classified");
    detail(&state, session).await
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DestroyForm {
    /// The session's number again, typed by the archivist.
    confirm: i64,
    reason: String,
}

/// The longest reason for a destruction, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// `DELETE /api/recordings/{session}`: destroy a recording whose retention has run out. The
/// archivist confirms with the session's number and gives a reason; its files go, its
/// catalogue row stays as the record of who destroyed it, when and why.
pub async fn destroy(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    UrlPath(session): UrlPath<i64>,
    JsonBody(form): JsonBody<DestroyForm>,
) -> Result<Response, ApiError> {
    let who = archivist_only(&state, &method, &headers).await?;
    if form.confirm != session {
        return Err(ApiError::BadRequest(format!(
            "confirm: type the session's number, {session}, to destroy it"
        )));
    }
    let reason = form.reason.trim().to_string();
    if reason.is_empty()
        || reason.chars().count() > MAX_REASON_CHARS
        || reason.chars().any(|c| c.is_control() && c != '\n')
    {
        return Err(ApiError::BadRequest(format!(
            "reason: 1–{MAX_REASON_CHARS} characters, no control characters"
        )));
    }
    let row = load(&state, session).await?;
    let s = &row.summary;
    if s.deleted.is_some() {
        return Err(ApiError::InvalidState("it was already destroyed".into()));
    }
    if [archive::RECORDING, archive::FINALISING].contains(&s.state.as_str())
        || matches!(
            state.hub.composite_state(session),
            Some(crate::rooms::CompositeState::Queued | crate::rooms::CompositeState::Making(_))
        )
    {
        return Err(ApiError::InvalidState(
            "it is still being recorded or finalised".into(),
        ));
    }
    if !s.expired {
        return Err(ApiError::InvalidState(match s.keep_until {
            Some(t) => format!("it must be kept until {}", crate::ics::vn_time(t)),
            None => "it is kept permanently (or not classified yet)".into(),
        }));
    }
    let dir = session_dir(&state, &row)?;
    match tokio::fs::remove_dir_all(&dir).await {
        Ok(()) => {}
        // Gone already (a destruction cut short before it was catalogued).
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => {
            return Err(ApiError::Internal(format!(
                "cannot remove {}: {e}",
                dir.display()
            )));
        }
    }
    let deletion = Deletion {
        at: now_ms(),
        by: who.user.username.clone(),
        reason,
    };
    let marked = state
        .hub
        .db()
        .call(move |c| archive::mark_deleted(c, session, &deletion))
        .await?;
    if !marked {
        return Err(ApiError::InvalidState(
            "it changed meanwhile; look at it again".into(),
        ));
    }
    log(&state, &who.user.username, Action::Delete, session, None).await?;
    tracing::warn!(session, user = %who.user.username, dir = %dir.display(), "recording destroyed");
    detail(&state, session).await
}

/// The recording of `session`, or `not_found`.
async fn load(state: &AppState, session: i64) -> Result<Row, ApiError> {
    let dir = state.hub.directory();
    state
        .hub
        .db()
        .call(move |c| archive::get(c, &dir, session, now_ms()))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no recording of session {session}")))
}

/// The recording's directory on disk; `gone` once it was destroyed.
fn session_dir(state: &AppState, row: &Row) -> Result<PathBuf, ApiError> {
    if let Some(d) = &row.summary.deleted {
        return Err(ApiError::Gone(format!(
            "the recording of session {} was destroyed on {} by {}",
            row.summary.session_id,
            crate::ics::vn_time(d.at),
            d.by
        )));
    }
    let root = state
        .hub
        .recordings_dir()
        .ok_or_else(|| ApiError::NotFound("this hub keeps no recordings".into()))?;
    // `dir` is written by the hub as MEETING/SESSION; checked all the same.
    if !row
        .dir
        .split('/')
        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(ApiError::Internal(format!(
            "odd recording directory {:?}",
            row.dir
        )));
    }
    Ok(root.join(&row.dir))
}

/// The manifest's files (`[]` until it is written).
fn manifest_files(row: &Row) -> Vec<serde_json::Value> {
    row.manifest
        .as_ref()
        .and_then(|m| m["files"].as_array().cloned())
        .unwrap_or_default()
}

/// The archive view, once in the manifest.
fn composite_of(row: &Row) -> Option<serde_json::Value> {
    row.manifest
        .as_ref()
        .and_then(|m| m.get("composite"))
        .filter(|c| c.is_object())
        .cloned()
}

/// Names a request may ask for: the manifest's files and the archive view.
fn servable(row: &Row, name: &str) -> bool {
    !name.contains(['/', '\\'])
        && !name.starts_with('.')
        && (manifest_files(row)
            .iter()
            .any(|f| f["name"].as_str() == Some(name))
            || composite_of(row).is_some_and(|c| c["name"].as_str() == Some(name)))
}

/// `GET /api/recordings/{session}`
pub async fn show(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    UrlPath(session): UrlPath<i64>,
) -> Result<Response, ApiError> {
    archivist(&state, &method, &headers).await?;
    detail(&state, session).await
}

/// A recording with its files, participants, speakers and archive view.
async fn detail(state: &AppState, session: i64) -> Result<Response, ApiError> {
    let row = load(state, session).await?;
    let m = row.manifest.clone().unwrap_or_default();
    let files: Vec<serde_json::Value> = manifest_files(&row)
        .into_iter()
        .map(|mut f| {
            let name = f["name"].as_str().unwrap_or_default().to_string();
            let url = format!("/api/recordings/{session}/files/{name}");
            f["download_url"] = format!("{url}?download=1").into();
            f["url"] = url.into();
            f
        })
        .collect();
    let mut out =
        serde_json::to_value(&row.summary).map_err(|e| ApiError::Internal(e.to_string()))?;
    out["files"] = files.into();
    for key in ["participants", "speakers", "mutes", "problems"] {
        out[key] = m.get(key).cloned().unwrap_or_else(|| serde_json::json!([]));
    }
    out["interrupted"] = m.get("interrupted").cloned().unwrap_or(false.into());
    // The archive view: made, being made (with how far), or why there is none.
    out["composite"] = match composite_of(&row) {
        Some(mut c) => {
            let url = format!(
                "/api/recordings/{session}/files/{}",
                c["name"].as_str().unwrap_or_default()
            );
            c["download_url"] = format!("{url}?download=1").into();
            c["url"] = url.into();
            c["state"] = "ready".into();
            c
        }
        None => match state.hub.composite_state(session) {
            Some(crate::rooms::CompositeState::Queued) => serde_json::json!({"state": "queued"}),
            Some(crate::rooms::CompositeState::Making(p)) => {
                serde_json::json!({"state": "making", "progress": p})
            }
            Some(crate::rooms::CompositeState::Failed(why)) => {
                serde_json::json!({"state": "failed", "error": why})
            }
            None => serde_json::Value::Null,
        },
    };
    Ok(Json(out).into_response())
}

async fn log(
    state: &AppState,
    user: &str,
    action: Action,
    session: i64,
    file: Option<&str>,
) -> Result<(), ApiError> {
    let (user, file) = (user.to_string(), file.map(String::from));
    state
        .hub
        .db()
        .call(move |c| archive::log_access(c, now_ms(), &user, action, session, file.as_deref()))
        .await?;
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileQuery {
    download: Option<String>,
}

/// A `Range: bytes=…` header against a file of `len` bytes: `Ok(None)` for the whole file,
/// `Err(())` when it cannot be satisfied.
fn byte_range(headers: &HeaderMap, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(v) = headers.get(header::RANGE) else {
        return Ok(None);
    };
    let v = v.to_str().map_err(|_| ())?;
    let spec = v.strip_prefix("bytes=").ok_or(())?;
    if spec.contains(',') {
        return Ok(None); // several ranges: the whole file instead (RFC 9110 allows it)
    }
    let (a, b) = spec.split_once('-').ok_or(())?;
    let (start, end) = match (a.trim(), b.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().map_err(|_| ())?;
            if n == 0 {
                return Err(());
            }
            (len.saturating_sub(n), len.saturating_sub(1))
        }
        (s, "") => (s.parse().map_err(|_| ())?, len.saturating_sub(1)),
        (s, e) => (
            s.parse().map_err(|_| ())?,
            e.parse::<u64>().map_err(|_| ())?.min(len.saturating_sub(1)),
        ),
    };
    if len == 0 || start > end || start >= len {
        return Err(());
    }
    Ok(Some((start, end)))
}

/// `len` bytes of `file` from where it stands, as a body.
fn file_body(file: tokio::fs::File, len: u64) -> Body {
    let stream = futures_util::stream::unfold((file, len), |(mut file, mut left)| async move {
        match next_chunk(&mut file, &mut left).await {
            Ok(Some(buf)) => Some((Ok::<_, std::io::Error>(buf), (file, left))),
            Ok(None) => None,
            Err(e) => Some((Err(e), (file, 0))),
        }
    });
    Body::from_stream(stream)
}

/// The next at most 64 KiB of `file`, of the `left` bytes still to send (`left` counts
/// them down); `None` once none are left, or at the end of the file.
async fn next_chunk(
    file: &mut tokio::fs::File,
    left: &mut u64,
) -> std::io::Result<Option<Vec<u8>>> {
    if *left == 0 {
        return Ok(None);
    }
    let mut buf = vec![0u8; (64 * 1024).min(*left as usize)];
    let n = file.read(&mut buf).await?;
    if n == 0 {
        return Ok(None);
    }
    buf.truncate(n);
    *left -= n as u64;
    Ok(Some(buf))
}

/// `GET /api/recordings/{session}/files/{name}`: a file, whole or a byte range; logged as a
/// play (or a download with `?download=1`) when the request starts at its first byte.
pub async fn file(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    UrlPath((session, name)): UrlPath<(i64, String)>,
    Query(q): Query<FileQuery>,
) -> Result<Response, ApiError> {
    let who = archivist(&state, &method, &headers).await?;
    let row = load(&state, session).await?;
    // Only a name the manifest lists; never a path.
    if !servable(&row, &name) {
        return Err(ApiError::NotFound(format!(
            "no file {name:.80} in this recording"
        )));
    }
    let path = session_dir(&state, &row)?.join(&name);
    let mut file = tokio::fs::File::open(&path)
        .await
        .map_err(|e| missing(&path, e))?;
    let len = file.metadata().await.map_err(|e| missing(&path, e))?.len();
    let download = q.download.is_some_and(|d| d != "0");
    let range = match byte_range(&headers, len) {
        Ok(r) => r,
        Err(()) => {
            return Ok((
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            )
                .into_response());
        }
    };
    let (start, end) = range.unwrap_or((0, len.saturating_sub(1)));
    if start == 0 {
        let action = if download {
            Action::Download
        } else {
            Action::Play
        };
        log(&state, &who.user.username, action, session, Some(&name)).await?;
    }
    file.seek(std::io::SeekFrom::Start(start))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let part_len = if len == 0 { 0 } else { end - start + 1 };
    let mut resp = Response::builder()
        .status(if range.is_some() {
            StatusCode::PARTIAL_CONTENT
        } else {
            StatusCode::OK
        })
        .header(
            header::CONTENT_TYPE,
            if name.ends_with(".mp4") {
                "video/mp4"
            } else if name.ends_with(".mkv") {
                "video/x-matroska"
            } else {
                "video/webm"
            },
        )
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_LENGTH, part_len)
        .header(header::CACHE_CONTROL, "private, no-store");
    if range.is_some() {
        resp = resp.header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}"));
    }
    if download {
        resp = resp.header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        );
    }
    let body = if method == Method::HEAD {
        Body::empty()
    } else {
        file_body(file, part_len)
    };
    resp.body(body)
        .map_err(|e| ApiError::Internal(e.to_string()))
}

/// A file the catalogue lists but the disk does not have says so.
fn missing(path: &Path, e: std::io::Error) -> ApiError {
    if e.kind() == std::io::ErrorKind::NotFound {
        ApiError::NotFound(format!(
            "the file {} is listed but no longer on disk",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default()
        ))
    } else {
        ApiError::Internal(format!("{}: {e}", path.display()))
    }
}

/// `GET /api/recordings/{session}/manifest.json` (a download).
pub async fn manifest(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    UrlPath(session): UrlPath<i64>,
) -> Result<Response, ApiError> {
    let who = archivist(&state, &method, &headers).await?;
    let row = load(&state, session).await?;
    let path = session_dir(&state, &row)?.join(recorder::session::MANIFEST);
    let body = tokio::fs::read(&path)
        .await
        .map_err(|e| missing(&path, e))?;
    log(
        &state,
        &who.user.username,
        Action::Download,
        session,
        Some(recorder::session::MANIFEST),
    )
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"session-{session}-manifest.json\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// A ustar header for a regular file.
fn tar_header(name: &str, size: u64, mtime: i64) -> [u8; 512] {
    let mut h = [0u8; 512];
    let name = name.as_bytes();
    h[..name.len().min(100)].copy_from_slice(&name[..name.len().min(100)]);
    let mut octal = |at: usize, width: usize, v: u64| {
        let s = format!("{v:0w$o}\0", w = width - 1);
        h[at..at + width].copy_from_slice(s.as_bytes());
    };
    octal(100, 8, 0o644);
    octal(108, 8, 0);
    octal(116, 8, 0);
    octal(124, 12, size);
    octal(136, 12, mtime.max(0) as u64);
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    let s = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(s.as_bytes());
    h
}

/// `GET /api/recordings/{session}/archive.tar`: every file, the manifest and `SHA256SUMS`.
pub async fn tarball(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    UrlPath(session): UrlPath<i64>,
) -> Result<Response, ApiError> {
    let who = archivist(&state, &method, &headers).await?;
    let row = load(&state, session).await?;
    let dir = session_dir(&state, &row)?;
    let mut files = manifest_files(&row);
    files.extend(composite_of(&row));
    let mut entries: Vec<(String, PathBuf, u64)> = vec![];
    let mut sums = String::new();
    for f in &files {
        let name = f["name"].as_str().unwrap_or_default().to_string();
        if name.is_empty() || name.contains(['/', '\\']) {
            continue;
        }
        let path = dir.join(&name);
        let len = tokio::fs::metadata(&path)
            .await
            .map_err(|e| missing(&path, e))?
            .len();
        sums.push_str(&format!(
            "{}  {name}\n",
            f["sha256"].as_str().unwrap_or_default()
        ));
        entries.push((name, path, len));
    }
    let manifest_path = dir.join(recorder::session::MANIFEST);
    let manifest = tokio::fs::read(&manifest_path)
        .await
        .map_err(|e| missing(&manifest_path, e))?;
    log(
        &state,
        &who.user.username,
        Action::Download,
        session,
        Some("archive.tar"),
    )
    .await?;
    let mtime = row.summary.ended_at.unwrap_or(row.summary.started_at) / 1000;
    let prefix = format!("session-{session}");
    // The tar as a stream: headers and small files from memory, recordings from disk.
    enum Piece {
        Bytes(Vec<u8>),
        File(PathBuf, u64),
    }
    let mut pieces = vec![];
    let pad = |len: u64| vec![0u8; ((512 - len % 512) % 512) as usize];
    for (name, path, len) in entries {
        pieces.push(Piece::Bytes(
            tar_header(&format!("{prefix}/{name}"), len, mtime).to_vec(),
        ));
        pieces.push(Piece::File(path, len));
        pieces.push(Piece::Bytes(pad(len)));
    }
    for (name, body) in [
        (recorder::session::MANIFEST, manifest),
        ("SHA256SUMS", sums.into_bytes()),
    ] {
        let len = body.len() as u64;
        pieces.push(Piece::Bytes(
            tar_header(&format!("{prefix}/{name}"), len, mtime).to_vec(),
        ));
        pieces.push(Piece::Bytes(body));
        pieces.push(Piece::Bytes(pad(len)));
    }
    pieces.push(Piece::Bytes(vec![0u8; 1024]));
    // One chunk at a time: a piece from memory, or the next 64 KiB of the file being sent.
    type Open = Option<(tokio::fs::File, u64)>;
    let state: (std::collections::VecDeque<Piece>, Open) = (pieces.into(), None);
    let stream = futures_util::stream::unfold(state, |(mut pieces, mut open)| async move {
        loop {
            if let Some((file, left)) = &mut open
                && *left > 0
            {
                match next_chunk(file, left).await {
                    Ok(Some(buf)) => return Some((Ok(buf), (pieces, open))),
                    Ok(None) => {
                        let e = std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            "a recording shrank while being sent",
                        );
                        return Some((Err(e), (pieces, None)));
                    }
                    Err(e) => return Some((Err(e), (pieces, None))),
                }
            }
            match pieces.pop_front()? {
                Piece::Bytes(b) => return Some((Ok::<_, std::io::Error>(b), (pieces, None))),
                Piece::File(path, len) => match tokio::fs::File::open(&path).await {
                    Ok(f) => open = Some((f, len)),
                    Err(e) => return Some((Err(e), (pieces, None))),
                },
            }
        }
    });
    let body = Body::from_stream(stream);
    Ok((
        [
            (header::CONTENT_TYPE, "application/x-tar".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{prefix}.tar\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// `POST /api/recordings/{session}/verify`: every file's SHA-256 recomputed and compared.
pub async fn verify(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    UrlPath(session): UrlPath<i64>,
) -> Result<Response, ApiError> {
    let who = archivist(&state, &method, &headers).await?;
    let row = load(&state, session).await?;
    let dir = session_dir(&state, &row)?;
    let files = manifest_files(&row);
    let checked = tokio::task::spawn_blocking(move || {
        files
            .iter()
            .map(|f| {
                let name = f["name"].as_str().unwrap_or_default().to_string();
                let expected = f["sha256"].as_str().unwrap_or_default().to_string();
                let actual = recorder::finalise::sha256_file(&dir.join(&name)).ok();
                serde_json::json!({
                    "name": name,
                    "expected": expected,
                    "ok": actual.as_deref() == Some(expected.as_str()),
                    "missing": actual.is_none(),
                    "actual": actual,
                })
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    log(&state, &who.user.username, Action::Verify, session, None).await?;
    let ok = checked.iter().all(|f| f["ok"] == true);
    if !ok {
        tracing::warn!(session, "a recording failed its verification");
    }
    Ok(Json(serde_json::json!({ "ok": ok, "files": checked })).into_response())
}

/// `GET /api/recordings/{session}/access-log`: the latest 200 entries, newest first.
pub async fn access_log(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    UrlPath(session): UrlPath<i64>,
) -> Result<Response, ApiError> {
    archivist(&state, &method, &headers).await?;
    load(&state, session).await?;
    let entries = state
        .hub
        .db()
        .call(move |c| archive::access_of(c, session, 200))
        .await?;
    Ok(Json(serde_json::json!({ "entries": entries })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_as_rfc_9110_says() {
        let h = |v: &str| {
            let mut m = HeaderMap::new();
            m.insert(header::RANGE, v.parse().unwrap());
            m
        };
        assert_eq!(byte_range(&HeaderMap::new(), 100), Ok(None));
        assert_eq!(byte_range(&h("bytes=0-"), 100), Ok(Some((0, 99))));
        assert_eq!(byte_range(&h("bytes=10-19"), 100), Ok(Some((10, 19))));
        assert_eq!(byte_range(&h("bytes=90-200"), 100), Ok(Some((90, 99))));
        assert_eq!(byte_range(&h("bytes=-10"), 100), Ok(Some((90, 99))));
        assert_eq!(byte_range(&h("bytes=100-"), 100), Err(()));
        assert_eq!(byte_range(&h("bytes=20-10"), 100), Err(()));
        assert_eq!(byte_range(&h("items=0-1"), 100), Err(()));
        assert_eq!(byte_range(&h("bytes=0-1,5-6"), 100), Ok(None));
    }

    #[test]
    fn tar_headers_carry_their_checksum() {
        let h = tar_header("session-1/a.webm", 1234, 1_700_000_000);
        assert_eq!(&h[..16], b"session-1/a.webm");
        assert_eq!(&h[124..136], b"00000002322\0");
        let stored = u32::from_str_radix(std::str::from_utf8(&h[148..154]).unwrap(), 8).unwrap();
        let mut copy = h;
        copy[148..156].copy_from_slice(b"        ");
        assert_eq!(stored, copy.iter().map(|b| u32::from(*b)).sum::<u32>());
    }
}
