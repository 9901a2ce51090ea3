//! Meetings: plan, preview, edit, cancel, end; join links; roll call; iCalendar; and the
//! token check the meeting page makes before joining.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::{JsonBody, optional_staff, public_base, scheduler};
use crate::access;
use crate::db::now_ms;
use crate::directory::AdminUnit;
use crate::error::ApiError;
use crate::http::AppState;
use crate::ics;
use crate::meetings::{
    self, Conflict, Meeting, MeetingForm, MeetingState, WEEK_MS, form_of, invited,
};
use crate::protocol::{Role, UnitRef};
use crate::tokens::Claims;

#[derive(Debug, Deserialize)]
pub struct Range {
    from: Option<i64>,
    to: Option<i64>,
}

/// `GET /api/meeting-classes`: the meeting classes and how long each keeps its recordings
/// (for any signed-in staff: schedulers choose one, archivists classify by them).
pub async fn classes(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    super::staff(&state, &method, &headers).await?;
    let retention = state.hub.retention();
    Ok(Json(serde_json::json!({
        "classes": retention.classes,
        "default": crate::retention::DEFAULT_CLASS,
    }))
    .into_response())
}

pub async fn list(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Query(range): Query<Range>,
) -> Result<Response, ApiError> {
    scheduler(&state, &method, &headers).await?;
    let from = range.from.unwrap_or_else(|| now_ms() - 3 * 24 * 3_600_000);
    let to = range.to.unwrap_or(from + WEEK_MS);
    if to <= from || to - from > 400 * 24 * 3_600_000 {
        return Err(ApiError::BadRequest(
            "to: must be after from, at most 400 days".into(),
        ));
    }
    let list = state
        .hub
        .db()
        .call(move |c| meetings::in_range(c, from, to))
        .await?;
    Ok(Json(serde_json::json!({ "meetings": list })).into_response())
}

/// Validate a form and compute what it invites and what it conflicts with.
async fn assess(
    state: &AppState,
    own_id: Option<i64>,
    mut form: MeetingForm,
) -> Result<
    (
        MeetingForm,
        std::collections::BTreeSet<String>,
        Vec<Conflict>,
        usize,
    ),
    ApiError,
> {
    let dir = state.hub.directory();
    form.validate(&dir, &state.hub.retention())
        .map_err(ApiError::BadRequest)?;
    let set = invited(&dir, &form);
    let (f, s) = (form.clone(), set.clone());
    let (conflicts, total) = state
        .hub
        .db()
        .call(move |c| meetings::conflicts(c, own_id, &f, &s))
        .await?;
    Ok((form, set, conflicts, total))
}

pub async fn preview(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    JsonBody(form): JsonBody<MeetingForm>,
) -> Result<Response, ApiError> {
    scheduler(&state, &method, &headers).await?;
    let (_, set, conflicts, total) = assess(&state, None, form).await?;
    Ok(Json(serde_json::json!({
        "invited_count": set.len(),
        "invited": set,
        "conflicts": conflicts,
        "conflicts_total": total,
    }))
    .into_response())
}

pub async fn create(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    JsonBody(form): JsonBody<MeetingForm>,
) -> Result<Response, ApiError> {
    let session = scheduler(&state, &method, &headers).await?;
    let (form, set, conflicts, total) = assess(&state, None, form).await?;
    if total > 0 && !form.acknowledge_conflicts {
        return Err(ApiError::Conflicts { conflicts, total });
    }
    let by = session.user.username.clone();
    let meeting = state
        .hub
        .db()
        .call(move |c| {
            let tx = c.transaction()?;
            let now = now_ms();
            let id = meetings::insert(&tx, &form, &set, &by, now)?;
            meetings::add_history(
                &tx,
                id,
                &by,
                "created",
                serde_json::json!({ "form": form, "conflicts_acknowledged": total }),
                now,
            )?;
            let m = meetings::get(&tx, id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
            let (issued, _) = meetings::sync_links(&tx, &m, &set, &by, now)?;
            meetings::add_history(
                &tx,
                id,
                &by,
                "link_issued",
                serde_json::json!({ "count": issued }),
                now,
            )?;
            tx.commit()?;
            Ok(m)
        })
        .await?;
    tracing::info!(meeting = meeting.id, by = %session.user.username, invited = meeting.invited_count, "meeting planned");
    Ok((
        StatusCode::CREATED,
        Json(serde_json::json!({ "meeting": with_next(meeting), "conflicts": conflicts })),
    )
        .into_response())
}

/// The meeting with its next occurrences filled in (up to four).
fn with_next(mut m: Meeting) -> Meeting {
    let now = now_ms();
    m.occurrences = m
        .all_occurrences()
        .into_iter()
        .filter(|o| o.end > now)
        .take(4)
        .collect();
    if m.occurrences.is_empty() {
        m.occurrences = m.all_occurrences().into_iter().rev().take(1).collect();
    }
    m
}

pub(super) async fn load(state: &AppState, id: i64) -> Result<Meeting, ApiError> {
    state
        .hub
        .db()
        .call(move |c| meetings::get(c, id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no meeting {id}")))
}

pub async fn show(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    scheduler(&state, &method, &headers).await?;
    let m = load(&state, id).await?;
    let (units, history) = state
        .hub
        .db()
        .call(move |c| Ok((meetings::invites(c, id)?, meetings::history(c, id)?)))
        .await?;
    let dir = state.hub.directory();
    let invited: Vec<serde_json::Value> = units
        .iter()
        .map(|u| match dir.get(u) {
            Some(unit) => serde_json::json!(unit),
            None => serde_json::json!({ "id": u, "missing": true }),
        })
        .collect();
    Ok(Json(serde_json::json!({
        "meeting": with_next(m),
        "invited": invited,
        "history": history,
    }))
    .into_response())
}

pub async fn edit(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<i64>,
    JsonBody(form): JsonBody<MeetingForm>,
) -> Result<Response, ApiError> {
    let session = scheduler(&state, &method, &headers).await?;
    let before = load(&state, id).await?;
    if before.state != MeetingState::Planned {
        return Err(ApiError::InvalidState(format!(
            "only a planned meeting can be edited; this one is {}",
            before.state.as_str()
        )));
    }
    let (form, set, conflicts, total) = assess(&state, Some(id), form).await?;
    if total > 0 && !form.acknowledge_conflicts {
        return Err(ApiError::Conflicts { conflicts, total });
    }
    let by = session.user.username.clone();
    let (meeting, issued, revoked) = state
        .hub
        .db()
        .call(move |c| {
            let tx = c.transaction()?;
            let now = now_ms();
            // Re-check under the lock: it may have gone live since.
            let current = meetings::get(&tx, id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
            if current.state != MeetingState::Planned {
                return Ok(None);
            }
            meetings::update(&tx, id, &form, &set, &by, now)?;
            let m = meetings::get(&tx, id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
            let (issued, revoked) = meetings::sync_links(&tx, &m, &set, &by, now)?;
            meetings::add_history(
                &tx,
                id,
                &by,
                "edited",
                serde_json::json!({
                    "before": form_of(&current),
                    "after": form,
                    "links_issued": issued,
                    "links_revoked": revoked,
                    "conflicts_acknowledged": total,
                }),
                now,
            )?;
            tx.commit()?;
            Ok(Some((m, issued, revoked)))
        })
        .await?
        .ok_or_else(|| ApiError::InvalidState("the meeting is no longer planned".into()))?;
    Ok(Json(serde_json::json!({
        "meeting": with_next(meeting),
        "conflicts": conflicts,
        "links_issued": issued,
        "links_revoked": revoked,
    }))
    .into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CancelForm {
    #[serde(default)]
    reason: String,
}

pub async fn cancel(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<i64>,
    JsonBody(form): JsonBody<CancelForm>,
) -> Result<Response, ApiError> {
    let session = scheduler(&state, &method, &headers).await?;
    let m = load(&state, id).await?;
    if !m.state.is_open() {
        return Err(ApiError::InvalidState(format!(
            "the meeting is already {}",
            m.state.as_str()
        )));
    }
    let by = session.user.username.clone();
    if m.state == MeetingState::Live {
        state.hub.end_meeting(id, &by).await?;
    }
    let reason: String = form.reason.trim().chars().take(1000).collect();
    let m = state
        .hub
        .db()
        .call(move |c| {
            let tx = c.transaction()?;
            let now = now_ms();
            meetings::set_state(&tx, id, MeetingState::Cancelled)?;
            let revoked = meetings::revoke_all(&tx, id, &by, now)?;
            meetings::add_history(
                &tx,
                id,
                &by,
                "cancelled",
                serde_json::json!({ "reason": reason, "links_revoked": revoked }),
                now,
            )?;
            let m = meetings::get(&tx, id)?;
            tx.commit()?;
            Ok(m)
        })
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no meeting {id}")))?;
    tracing::info!(meeting = id, by = %session.user.username, "meeting cancelled");
    Ok(Json(serde_json::json!({ "meeting": with_next(m) })).into_response())
}

pub async fn end(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let session = scheduler(&state, &method, &headers).await?;
    let m = load(&state, id).await?;
    if m.state != MeetingState::Live {
        return Err(ApiError::InvalidState("the meeting is not live".into()));
    }
    state.hub.end_meeting(id, &session.user.username).await?;
    let m = load(&state, id).await?;
    Ok(Json(serde_json::json!({ "meeting": with_next(m) })).into_response())
}

/// A link as the API shows it.
#[derive(Debug, Serialize)]
pub struct Link {
    id: i64,
    unit: serde_json::Value,
    role: Role,
    url: String,
    issued_at: i64,
    issued_by: String,
    expires_at: i64,
    revoked_at: Option<i64>,
}

fn link_view(state: &AppState, base: &str, l: meetings::LinkRow) -> Link {
    let token = state.hub.token_key().sign(&Claims {
        link: l.id,
        meeting: l.meeting_id,
        unit: l.unit_id.clone(),
        role: l.role,
        expires: l.expires_at / 1000,
    });
    let dir = state.hub.directory();
    let unit = dir.get(&l.unit_id).map_or_else(
        || serde_json::json!({ "id": l.unit_id, "missing": true }),
        |u| serde_json::json!(u),
    );
    Link {
        id: l.id,
        unit,
        role: l.role,
        url: format!("{base}/meeting.html?meeting={}&token={token}", l.meeting_id),
        issued_at: l.issued_at,
        issued_by: l.issued_by,
        expires_at: l.expires_at,
        revoked_at: l.revoked_at,
    }
}

async fn link_views(state: &AppState, headers: &HeaderMap, id: i64) -> Result<Vec<Link>, ApiError> {
    load(state, id).await?;
    let rows = state.hub.db().call(move |c| meetings::links(c, id)).await?;
    let base = public_base(state, headers);
    Ok(rows
        .into_iter()
        .map(|l| link_view(state, &base, l))
        .collect())
}

pub async fn links(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    scheduler(&state, &method, &headers).await?;
    let links = link_views(&state, &headers, id).await?;
    Ok(Json(serde_json::json!({ "links": links })).into_response())
}

pub(super) fn csv_field(s: &str) -> String {
    // Quote always; a leading formula character is neutralised for spreadsheet programs.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

pub async fn links_csv(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    scheduler(&state, &method, &headers).await?;
    let links = link_views(&state, &headers, id).await?;
    let mut out = String::from("\u{feff}unit_id,unit_name,tier,role,link,expires_at,revoked\r\n");
    for l in links.iter().filter(|l| l.revoked_at.is_none()) {
        let text = |k: &str| l.unit[k].as_str().unwrap_or_default().to_string();
        out.push_str(&format!(
            "{},{},{},{},{},{},{}\r\n",
            csv_field(&text("id")),
            csv_field(&text("name")),
            csv_field(&text("tier")),
            l.role.as_str(),
            csv_field(&l.url),
            crate::ics::utc(l.expires_at),
            "no"
        ));
    }
    Ok(csv_response(out, &format!("meeting-{id}-links.csv")))
}

/// A CSV download named `name` (the body UTF-8, starting with its byte-order mark).
pub(super) fn csv_response(body: String, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IssueForm {
    unit: String,
    role: Role,
}

pub async fn issue_link(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<i64>,
    JsonBody(form): JsonBody<IssueForm>,
) -> Result<Response, ApiError> {
    let session = scheduler(&state, &method, &headers).await?;
    let m = load(&state, id).await?;
    if !m.state.is_open() {
        return Err(ApiError::InvalidState(format!(
            "the meeting is {}",
            m.state.as_str()
        )));
    }
    let by = session.user.username.clone();
    let unit = form.unit.clone();
    let row = state
        .hub
        .db()
        .call(move |c| {
            let allowed = match form.role {
                Role::Official => meetings::is_invited(c, id, &form.unit)?,
                Role::Chair => form.unit == m.chair_unit,
            };
            if !allowed {
                return Ok(None);
            }
            let tx = c.transaction()?;
            let now = now_ms();
            let row =
                meetings::issue_link(&tx, id, &form.unit, form.role, m.token_expiry(), &by, now)?;
            meetings::add_history(
                &tx,
                id,
                &by,
                "link_issued",
                serde_json::json!({ "unit": form.unit, "role": form.role, "link": row.id }),
                now,
            )?;
            tx.commit()?;
            Ok(Some(row))
        })
        .await?
        .ok_or_else(|| {
            ApiError::BadRequest(format!(
                "unit {unit} is not invited to this meeting in that role"
            ))
        })?;
    let base = public_base(&state, &headers);
    Ok((StatusCode::CREATED, Json(link_view(&state, &base, row))).into_response())
}

pub async fn revoke_link(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path((id, link)): Path<(i64, i64)>,
) -> Result<Response, ApiError> {
    let session = scheduler(&state, &method, &headers).await?;
    let by = session.user.username.clone();
    let changed = state
        .hub
        .db()
        .call(move |c| {
            let Some(row) = meetings::link(c, link)?.filter(|l| l.meeting_id == id) else {
                return Ok(None);
            };
            let tx = c.transaction()?;
            let now = now_ms();
            let changed = meetings::revoke_link(&tx, link, &by, now)?;
            if changed {
                meetings::add_history(
                    &tx,
                    id,
                    &by,
                    "link_revoked",
                    serde_json::json!({ "unit": row.unit_id, "role": row.role, "link": link }),
                    now,
                )?;
            }
            tx.commit()?;
            Ok(Some(changed))
        })
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("no link {link} in meeting {id}")))?;
    Ok(Json(serde_json::json!({ "revoked": changed })).into_response())
}

pub async fn roll_call(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    scheduler(&state, &method, &headers).await?;
    load(&state, id).await?;
    match state.hub.roll_call_of(id).await {
        Some(msg) => Ok(Json(msg).into_response()),
        None => Err(ApiError::InvalidState("the meeting is not live".into())),
    }
}

/// What the chairs of a meeting's sessions did (floor, mutes, removals, lock, end).
pub async fn moderation_log(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    scheduler(&state, &method, &headers).await?;
    load(&state, id).await?;
    let entries = state
        .hub
        .db()
        .call(move |c| crate::moderation_log::of_meeting(c, id))
        .await?;
    Ok(Json(serde_json::json!({ "entries": entries })).into_response())
}

fn ics_response(body: String, name: &str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "text/calendar; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

fn host_of(headers: &HeaderMap) -> String {
    headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("cau")
        .to_string()
}

pub async fn meeting_ics(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    scheduler(&state, &method, &headers).await?;
    let m = load(&state, id).await?;
    let dir = state.hub.directory();
    let host_name = dir
        .get(&m.host_unit)
        .map_or(m.host_unit.clone(), |u| u.name.clone());
    let body = ics::calendar(
        &m.title,
        &host_of(&headers),
        &[ics::Event {
            meeting: &m,
            host_name: &host_name,
            join_url: None,
        }],
        now_ms(),
    );
    Ok(ics_response(body, &format!("meeting-{id}.ics")))
}

#[derive(Debug, Deserialize)]
pub struct JoinQuery {
    meeting: Option<i64>,
    token: Option<String>,
}

pub(super) fn meeting_summary(m: &Meeting, host: Option<&AdminUnit>) -> serde_json::Value {
    serde_json::json!({
        "id": m.id,
        "title": m.title,
        "agenda": m.agenda,
        "start": m.start,
        "end": m.end,
        "state": m.state,
        "host_unit": host.map(UnitRef::from),
        "chair_person": m.chair_person,
        "recorded": m.recorded,
    })
}

pub async fn check_join(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<JoinQuery>,
) -> Result<Response, ApiError> {
    let staff = match q.token {
        Some(_) => None,
        None => optional_staff(&state, &headers).await?,
    };
    let admission = access::admit(
        &state.hub,
        q.meeting,
        q.token.as_deref(),
        staff.as_ref().map(|s| &s.user),
    )
    .await
    .map_err(ApiError::Join)?;
    let dir = state.hub.directory();
    let mut meeting = admission.meeting.clone();
    meeting.start = admission.occurrence.start;
    meeting.end = admission.occurrence.end;
    Ok(Json(serde_json::json!({
        "meeting": meeting_summary(&meeting, dir.get(&meeting.host_unit)),
        "unit": admission.unit,
        "role": admission.role,
    }))
    .into_response())
}

pub async fn join_ics(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<JoinQuery>,
) -> Result<Response, ApiError> {
    let token = q
        .token
        .ok_or_else(|| ApiError::BadRequest("token: required".into()))?;
    let claims = state
        .hub
        .token_key()
        .verify(&token)
        .ok_or(ApiError::Join(access::Refusal {
            code: crate::protocol::ErrorCode::InvalidToken,
            message: "not a join token of this hub".into(),
        }))?;
    let link = state
        .hub
        .db()
        .call(move |c| meetings::link(c, claims.link))
        .await?
        .filter(|l| l.revoked_at.is_none())
        .ok_or(ApiError::Join(access::Refusal {
            code: crate::protocol::ErrorCode::RevokedToken,
            message: "the join link was revoked or re-issued".into(),
        }))?;
    let m = load(&state, link.meeting_id).await?;
    let dir = state.hub.directory();
    let host_name = dir
        .get(&m.host_unit)
        .map_or(m.host_unit.clone(), |u| u.name.clone());
    let url = format!(
        "{}/meeting.html?meeting={}&token={token}",
        public_base(&state, &headers),
        m.id
    );
    let body = ics::calendar(
        &m.title,
        &host_of(&headers),
        &[ics::Event {
            meeting: &m,
            host_name: &host_name,
            join_url: Some(&url),
        }],
        now_ms(),
    );
    Ok(ics_response(body, &format!("meeting-{}.ics", m.id)))
}

pub async fn feed_url(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    scheduler(&state, &method, &headers).await?;
    if !state.hub.directory().contains(&id) {
        return Err(ApiError::NotFound(format!("no unit {id}")));
    }
    let key = state.hub.token_key().feed_key(&id);
    let url = format!(
        "{}/api/calendar/{id}.ics?key={key}",
        public_base(&state, &headers)
    );
    Ok(Json(serde_json::json!({ "url": url })).into_response())
}

#[derive(Debug, Deserialize)]
pub struct FeedQuery {
    key: String,
}

pub async fn unit_calendar(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(file): Path<String>,
    Query(q): Query<FeedQuery>,
) -> Result<Response, ApiError> {
    let unit = file
        .strip_suffix(".ics")
        .ok_or_else(|| ApiError::NotFound("calendar feeds end in .ics".into()))?
        .to_string();
    if !state.hub.token_key().check_feed_key(&unit, &q.key) {
        tracing::warn!(%unit, "calendar feed refused: wrong key");
        return Err(ApiError::Forbidden("wrong feed key".into()));
    }
    let u = unit.clone();
    let rows = state
        .hub
        .db()
        .call(move |c| {
            let mut stmt = c.prepare(
                "SELECT i.meeting_id FROM meeting_invites i JOIN meetings m ON m.id = i.meeting_id
                 WHERE i.unit_id = ?1 AND m.last_end_ms > ?2 ORDER BY m.start_ms",
            )?;
            let ids: Vec<i64> = stmt
                .query_map(rusqlite::params![u, now_ms() - 30 * 24 * 3_600_000], |r| {
                    r.get(0)
                })?
                .collect::<rusqlite::Result<_>>()?;
            let mut out = vec![];
            for id in ids {
                if let Some(m) = meetings::get(c, id)? {
                    let link = meetings::links(c, id)?.into_iter().find(|l| {
                        l.unit_id == u && l.role == Role::Official && l.revoked_at.is_none()
                    });
                    out.push((m, link));
                }
            }
            Ok(out)
        })
        .await?;
    let dir = state.hub.directory();
    let base = public_base(&state, &headers);
    let prepared: Vec<(Meeting, String, Option<String>)> = rows
        .into_iter()
        .map(|(m, link)| {
            let host = dir
                .get(&m.host_unit)
                .map_or(m.host_unit.clone(), |u| u.name.clone());
            let url = link.map(|l| link_view(&state, &base, l).url);
            (m, host, url)
        })
        .collect();
    let events: Vec<ics::Event<'_>> = prepared
        .iter()
        .map(|(m, host, url)| ics::Event {
            meeting: m,
            host_name: host,
            join_url: url.as_deref(),
        })
        .collect();
    let name = dir.get(&unit).map_or(unit.clone(), |u| u.name.clone());
    let body = ics::calendar(&name, &host_of(&headers), &events, now_ms());
    Ok(ics_response(body, &file))
}
