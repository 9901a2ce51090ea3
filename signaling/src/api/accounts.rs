//! Login, logout, the current user, and the accounts list (admin).

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::{JsonBody, admin, optional_staff, staff};
use crate::auth::{self, COOKIE_NAME, SESSION_TTL_MS, StaffRole, UserError};
use crate::db::now_ms;
use crate::error::ApiError;
use crate::http::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Login {
    username: String,
    password: String,
    #[serde(default)]
    bearer: bool,
}

pub async fn login(
    State(state): State<AppState>,
    extensions: axum::http::Extensions,
    JsonBody(form): JsonBody<Login>,
) -> Result<Response, ApiError> {
    // The peer address, when served with connect info (tests through `oneshot` have none).
    let address = extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip().to_string());
    let username = form.username.trim().to_lowercase();
    let limiter = state.hub.login_limiter();
    if let Some(wait) = limiter.check(&username, address.as_deref()) {
        tracing::warn!(user = %username, address, "login refused: too many failures");
        return Err(ApiError::RateLimited {
            retry_after_secs: wait.as_secs().max(1),
        });
    }
    let (name, password) = (username.clone(), form.password);
    let user = state
        .hub
        .db()
        .call(move |c| auth::check_password(c, &name, &password))
        .await?;
    let Some(user) = user else {
        limiter.failed(&username, address.as_deref());
        tracing::warn!(user = %username, address, "login failed");
        return Err(ApiError::BadCredentials);
    };
    limiter.succeeded(&username);
    let cookie = !form.bearer;
    let name = user.username.clone();
    let (token, csrf) = state
        .hub
        .db()
        .call(move |c| auth::start_session(c, &name, cookie, now_ms()))
        .await?;
    tracing::info!(user = %user.username, bearer = form.bearer, "logged in");
    if form.bearer {
        return Ok(Json(serde_json::json!({ "user": user, "token": token })).into_response());
    }
    let cookie = format!(
        "{COOKIE_NAME}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        SESSION_TTL_MS / 1000,
        if state.https { "; Secure" } else { "" }
    );
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(serde_json::json!({ "user": user, "csrf_token": csrf })),
    )
        .into_response())
}

pub async fn logout(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let session = staff(&state, &method, &headers).await?;
    let hash = session.token_hash.clone();
    state
        .hub
        .db()
        .call(move |c| auth::end_session(c, &hash))
        .await?;
    let clear = format!(
        "{COOKIE_NAME}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{}",
        if state.https { "; Secure" } else { "" }
    );
    Ok((StatusCode::NO_CONTENT, [(header::SET_COOKIE, clear)]).into_response())
}

pub async fn me(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let session = optional_staff(&state, &headers)
        .await?
        .ok_or(ApiError::Unauthenticated)?;
    Ok(Json(serde_json::json!({
        "user": session.user,
        "csrf_token": session.csrf_token,
    }))
    .into_response())
}

pub async fn list(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    admin(&state, &method, &headers).await?;
    let users = state.hub.db().call(|c| auth::list_users(c)).await?;
    Ok(Json(serde_json::json!({ "users": users })).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    username: String,
    display_name: String,
    password: String,
    roles: Vec<StaffRole>,
}

pub async fn create(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    JsonBody(form): JsonBody<NewUser>,
) -> Result<Response, ApiError> {
    let by = admin(&state, &method, &headers).await?;
    let result = state
        .hub
        .db()
        .call(move |c| {
            Ok(auth::create_user(
                c,
                &form.username,
                &form.display_name,
                &form.password,
                &form.roles,
                now_ms(),
            ))
        })
        .await?;
    match result {
        Ok(user) => {
            tracing::info!(by = %by.user.username, user = %user.username, "account created");
            Ok((StatusCode::CREATED, Json(user)).into_response())
        }
        Err(UserError::Db(e)) => Err(ApiError::Internal(e.to_string())),
        Err(UserError::Hash(e)) => Err(ApiError::Internal(e)),
        Err(e) => Err(ApiError::BadRequest(e.to_string())),
    }
}
