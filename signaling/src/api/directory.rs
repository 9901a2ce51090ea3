//! The directory: the whole tree, search, a unit with its ancestors and children, a subtree
//! by tier, and (admin) replacing the directory with a new version.

use axum::Json;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::{JsonBody, staff};
use crate::auth::StaffRole;
use crate::directory::{Directory, DirectoryFile};
use crate::error::ApiError;
use crate::http::AppState;
use crate::meetings;

pub async fn whole(State(state): State<AppState>) -> Response {
    Json(state.hub.directory().view()).into_response()
}

#[derive(Debug, Deserialize)]
pub struct Search {
    #[serde(default)]
    q: String,
    tier: Option<String>,
    limit: Option<usize>,
}

pub async fn search(State(state): State<AppState>, Query(query): Query<Search>) -> Response {
    let limit = query.limit.unwrap_or(20).min(500);
    let dir = state.hub.directory();
    let units = dir.search(&query.q, query.tier.as_deref(), limit);
    Json(serde_json::json!({ "units": units })).into_response()
}

pub async fn unit(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let dir = state.hub.directory();
    let unit = dir
        .get(&id)
        .ok_or_else(|| ApiError::NotFound(format!("no unit {id}")))?;
    Ok(Json(serde_json::json!({
        "unit": unit,
        "ancestors": dir.ancestors(&id),
        "children": dir.children(&id),
    }))
    .into_response())
}

pub async fn subtree(
    State(state): State<AppState>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    // `tier` may repeat (`?tier=district&tier=commune`).
    let tiers: Vec<String> = query
        .unwrap_or_default()
        .split('&')
        .filter_map(|kv| kv.strip_prefix("tier="))
        .map(|t| t.replace('+', " "))
        .collect();
    let dir = state.hub.directory();
    for t in &tiers {
        if !dir.tiers().contains(t) {
            return Err(ApiError::BadRequest(format!("no tier {t:?}")));
        }
    }
    let units = dir
        .subtree(&id, &tiers)
        .ok_or_else(|| ApiError::NotFound(format!("no unit {id}")))?;
    Ok(Json(serde_json::json!({ "units": units })).into_response())
}

#[derive(Debug, Deserialize)]
pub struct ReplaceQuery {
    #[serde(default)]
    dry_run: Option<String>,
}

/// A reference from a meeting to a unit the new directory does not have.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Missing {
    pub meeting_id: i64,
    pub title: String,
    pub unit_id: String,
    pub role: &'static str,
}

/// Every reference of `meetings` to a unit `dir` does not have.
pub fn missing_units(
    dir: &Directory,
    all: &[meetings::Meeting],
    invites: &[(i64, String)],
) -> Vec<Missing> {
    let mut out = vec![];
    for m in all {
        let mut check = |unit: &str, role: &'static str| {
            if !dir.contains(unit) {
                out.push(Missing {
                    meeting_id: m.id,
                    title: m.title.clone(),
                    unit_id: unit.to_string(),
                    role,
                });
            }
        };
        check(&m.host_unit, "host");
        check(&m.chair_unit, "chair");
        check(&m.scope.root, "scope_root");
        for u in &m.scope.add {
            check(u, "added");
        }
        for u in &m.scope.remove {
            check(u, "removed");
        }
        for (id, u) in invites {
            if *id == m.id {
                check(u, "invited");
            }
        }
    }
    out
}

pub async fn replace(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    Query(query): Query<ReplaceQuery>,
    JsonBody(file): JsonBody<DirectoryFile>,
) -> Result<Response, ApiError> {
    let session = staff(&state, &method, &headers).await?;
    if !session.user.has(StaffRole::Admin) {
        return Err(ApiError::Forbidden("this needs the admin role".into()));
    }
    let dry_run = query.dry_run.is_some_and(|v| v != "0" && v != "false");
    let text =
        serde_json::to_string_pretty(&file).map_err(|e| ApiError::Internal(e.to_string()))?;
    let dir = Directory::from_file(file).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let (all, invites) = state
        .hub
        .db()
        .call(|c| {
            let all = meetings::all(c)?;
            let mut stmt = c.prepare("SELECT meeting_id, unit_id FROM meeting_invites")?;
            let invites = stmt
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<(i64, String)>>>()?;
            Ok((all, invites))
        })
        .await?;
    let missing = missing_units(&dir, &all, &invites);
    let body = serde_json::json!({
        "units": dir.len(),
        "tiers": dir.tiers(),
        "missing": missing,
        "dry_run": dry_run,
    });
    if !dry_run {
        // Saved first, so a restart comes back with the directory now in force.
        let path = state.data_dir.join(crate::DIRECTORY_FILE);
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text)
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(|e| ApiError::Internal(format!("cannot save {}: {e}", path.display())))?;
        tracing::info!(
            by = %session.user.username,
            units = dir.len(),
            missing = missing.len(),
            "directory replaced"
        );
        state.hub.replace_directory(dir);
    }
    Ok(Json(body).into_response())
}
