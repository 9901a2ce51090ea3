//! `GET /api/statistics`: the province's meetings over a period, for schedulers and admins.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::scheduler;
use crate::db::now_ms;
use crate::error::ApiError;
use crate::http::AppState;
use crate::statistics;

/// The longest period one request covers.
const MAX_PERIOD_MS: i64 = 400 * 24 * 3_600_000;
/// The period when none is given: the last 30 days.
const DEFAULT_PERIOD_MS: i64 = 30 * 24 * 3_600_000;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatisticsQuery {
    from: Option<i64>,
    to: Option<i64>,
    /// Keep one tier's units.
    tier: Option<String>,
    /// Keep one unit's subtree.
    root: Option<String>,
}

pub async fn statistics(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Query(q): Query<StatisticsQuery>,
) -> Result<Response, ApiError> {
    scheduler(&state, &method, &headers).await?;
    let now = now_ms();
    let to = q.to.unwrap_or(now);
    let from = q.from.unwrap_or(to - DEFAULT_PERIOD_MS);
    if from >= to {
        return Err(ApiError::BadRequest("to: must be after from".into()));
    }
    if to - from > MAX_PERIOD_MS {
        return Err(ApiError::BadRequest(
            "from: a period of at most 400 days".into(),
        ));
    }
    let dir = state.hub.directory();
    let tier = q.tier.filter(|t| !t.is_empty());
    let root = q.root.filter(|r| !r.is_empty());
    if let Some(t) = &tier
        && !dir.tiers().contains(t)
    {
        return Err(ApiError::BadRequest(format!(
            "tier: no tier {t:?} in the directory"
        )));
    }
    let shown = statistics::shown_units(&dir, root.as_deref(), tier.as_deref())
        .ok_or_else(|| ApiError::BadRequest("root: no such unit in the directory".into()))?;
    let (held, recorded) = state
        .hub
        .db()
        .call(move |c| {
            Ok((
                statistics::load_held(c, from, to, now)?,
                crate::archive::bytes_between(c, from, to)?,
            ))
        })
        .await?;
    let mut stats = statistics::aggregate(&held, &shown, dir.tiers(), from, to, now);
    stats.recorded_bytes = Some(recorded.max(0) as u64);
    Ok(Json(serde_json::json!({
        "statistics": stats,
        "tiers": dir.tiers(),
        "root": root.and_then(|r| dir.get(&r).map(crate::protocol::UnitRef::from)),
        "tier": tier,
    }))
    .into_response())
}
