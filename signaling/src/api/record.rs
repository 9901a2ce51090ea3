//! A meeting's record: attendance per invited unit (JSON and CSV) and the chair's notes and
//! decisions, for one occurrence. Read and written by schedulers, and during the meeting by
//! its chair with the chair's join token (`?token=`), so the chair's page needs no login.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::meetings::{csv_field, csv_response, load, meeting_summary};
use super::{JsonBody, staff};
use crate::access;
use crate::attendance::{self, Attendance, Record};
use crate::db::now_ms;
use crate::error::ApiError;
use crate::http::AppState;
use crate::meetings::{Meeting, Occurrence};
use crate::protocol::Role;

#[derive(Debug, Deserialize)]
pub struct RecordQuery {
    /// A time within the occurrence (ms); by default the latest one that has begun.
    occurrence: Option<i64>,
    /// The chair's join token.
    token: Option<String>,
}

/// Who asks, and for which occurrence.
struct Reader {
    meeting: Meeting,
    occurrence: Occurrence,
    /// For the record's `updated_by`.
    name: String,
}

/// The meeting's chair (its join token, or a staff account named as its chair), or a
/// scheduler. A chair reads and writes the occurrence it may join now; a scheduler any.
async fn reader(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
    id: i64,
    q: &RecordQuery,
) -> Result<Reader, ApiError> {
    // Without a join token, a staff login — with the CSRF check of every change a cookie
    // session makes, schedulers and staff chairs alike.
    let staff = match &q.token {
        Some(_) => None,
        None => Some(staff(state, method, headers).await?),
    };
    if let Some(s) = &staff
        && s.user.may_schedule()
    {
        let meeting = load(state, id).await?;
        let occurrence = attendance::occurrence_of(&meeting, q.occurrence, now_ms())
            .ok_or_else(|| ApiError::NotFound("no such occurrence of the meeting".into()))?;
        return Ok(Reader {
            meeting,
            occurrence,
            name: s.user.display_name.clone(),
        });
    }
    let admission = access::admit(
        &state.hub,
        Some(id),
        q.token.as_deref(),
        staff.as_ref().map(|s| &s.user),
    )
    .await
    .map_err(ApiError::Join)?;
    if admission.role != Role::Chair {
        return Err(ApiError::Forbidden(
            "only the chair or a scheduler keeps the meeting's record".into(),
        ));
    }
    Ok(Reader {
        name: format!(
            "{} ({})",
            admission.meeting.chair_person, admission.unit.name
        ),
        meeting: admission.meeting,
        occurrence: admission.occurrence,
    })
}

async fn attendance_of(state: &AppState, r: &Reader) -> Result<Attendance, ApiError> {
    let dir = state.hub.directory();
    let (meeting, occurrence) = (r.meeting.clone(), r.occurrence);
    Ok(state
        .hub
        .db()
        .call(move |c| attendance::load(c, &dir, &meeting, occurrence, now_ms()))
        .await?)
}

/// `GET /api/meetings/{id}/attendance`: the meeting, the occurrence's attendance and its
/// record (notes and decisions).
pub async fn attendance(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<RecordQuery>,
) -> Result<Response, ApiError> {
    let r = reader(&state, &method, &headers, id, &q).await?;
    let attendance = attendance_of(&state, &r).await?;
    let (mid, start) = (id, r.occurrence.start);
    let record = state
        .hub
        .db()
        .call(move |c| attendance::record(c, mid, start))
        .await?;
    let dir = state.hub.directory();
    let mut summary = meeting_summary(&r.meeting, dir.get(&r.meeting.host_unit));
    summary["chair_unit"] = serde_json::json!(
        dir.get(&r.meeting.chair_unit)
            .map(crate::protocol::UnitRef::from)
    );
    Ok(Json(serde_json::json!({
        "meeting": summary,
        "attendance": attendance,
        "record": record,
        "tiers": dir.tiers(),
        "generated_at": now_ms(),
    }))
    .into_response())
}

/// `GET /api/meetings/{id}/attendance.csv`: one row per unit, for spreadsheets (UTF-8 with a
/// byte-order mark; times in Viet Nam time, ISO 8601 with the +07:00 offset; minutes rounded down).
pub async fn attendance_csv(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<RecordQuery>,
) -> Result<Response, ApiError> {
    let r = reader(&state, &method, &headers, id, &q).await?;
    let a = attendance_of(&state, &r).await?;
    let time = |t: Option<i64>| t.map(crate::ics::vn_time).unwrap_or_default();
    let mut out = String::from(
        "\u{feff}unit_id,unit_name,tier,invited,attended,first_join,last_leave,present_now,minutes_present,reconnections,drops,spoke,seconds_spoken,names\r\n",
    );
    let yes = |b: bool| if b { "yes" } else { "no" };
    for u in &a.units {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{}\r\n",
            csv_field(&u.unit.id),
            csv_field(&u.unit.name),
            csv_field(&u.unit.tier),
            yes(u.invited),
            yes(u.attended),
            time(u.first_join),
            time(u.last_leave),
            yes(u.present_now),
            u.present_ms / 60_000,
            u.reconnections,
            u.drops,
            yes(u.spoke),
            u.spoke_ms / 1000,
            csv_field(&u.names.join("; ")),
        ));
    }
    let day = crate::ics::vn_time(r.occurrence.start);
    let day = day.get(..10).unwrap_or_default();
    Ok(csv_response(
        out,
        &format!("meeting-{id}-attendance-{day}.csv"),
    ))
}

/// `GET /api/meetings/{id}/record`: the chair's notes and decisions.
pub async fn record(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<RecordQuery>,
) -> Result<Response, ApiError> {
    let r = reader(&state, &method, &headers, id, &q).await?;
    let start = r.occurrence.start;
    let record = state
        .hub
        .db()
        .call(move |c| attendance::record(c, id, start))
        .await?;
    Ok(Json(record).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordForm {
    notes: String,
    decisions: Vec<String>,
}

/// `PUT /api/meetings/{id}/record`: replace the notes and decisions (the whole record).
pub async fn save_record(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Query(q): Query<RecordQuery>,
    JsonBody(form): JsonBody<RecordForm>,
) -> Result<Response, ApiError> {
    let r = reader(&state, &method, &headers, id, &q).await?;
    let mut record = Record {
        notes: form.notes,
        decisions: form.decisions,
        ..Record::default()
    };
    record.validate().map_err(ApiError::BadRequest)?;
    let (start, by, now) = (r.occurrence.start, r.name.clone(), now_ms());
    let saved = state
        .hub
        .db()
        .call(move |c| {
            attendance::save_record(c, id, start, &record, &by, now)?;
            attendance::record(c, id, start)
        })
        .await?;
    tracing::info!(meeting = id, occurrence = start, by = %r.name, "meeting record saved");
    Ok(Json(saved).into_response())
}
