//! The one error type of the HTTP API: `{"error": CODE, "message": TEXT}` with a fitting
//! status (docs/api.md lists them). Internal details are logged, never returned.

use axum::Json;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::access::Refusal;
use crate::meetings::Conflict;
use crate::protocol::ErrorCode;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("log in first")]
    Unauthenticated,
    #[error("wrong user name or password")]
    BadCredentials,
    #[error("{0}")]
    Forbidden(String),
    #[error("missing or wrong X-CSRF-Token header")]
    Csrf,
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    InvalidState(String),
    /// What was asked for existed and was destroyed.
    #[error("{0}")]
    Gone(String),
    #[error("the meeting overlaps others")]
    Conflicts {
        conflicts: Vec<Conflict>,
        total: usize,
    },
    #[error("too many failed logins; try again later")]
    RateLimited { retry_after_secs: u64 },
    /// A websocket from an address that has `limit` open already.
    #[error("{limit} connections are open from this address already")]
    TooManyConnections { limit: u32 },
    /// A join token or meeting refusal (docs/api.md, "Join tokens").
    #[error("{}", .0.message)]
    Join(Refusal),
    /// A part of the hub (the media plane, the database) is not answering.
    #[error("service unavailable")]
    Unavailable,
    /// Something unexpected; the detail is logged, not returned.
    #[error("internal error")]
    Internal(String),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, String) {
        let s = |status, code: &str| (status, code.to_string());
        match self {
            ApiError::BadRequest(_) => s(StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthenticated => s(StatusCode::UNAUTHORIZED, "unauthenticated"),
            ApiError::BadCredentials => s(StatusCode::UNAUTHORIZED, "bad_credentials"),
            ApiError::Forbidden(_) => s(StatusCode::FORBIDDEN, "forbidden"),
            ApiError::Csrf => s(StatusCode::FORBIDDEN, "csrf"),
            ApiError::NotFound(_) => s(StatusCode::NOT_FOUND, "not_found"),
            ApiError::InvalidState(_) => s(StatusCode::CONFLICT, "invalid_state"),
            ApiError::Gone(_) => s(StatusCode::GONE, "gone"),
            ApiError::Conflicts { .. } => s(StatusCode::CONFLICT, "conflicts"),
            ApiError::RateLimited { .. } => s(StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::TooManyConnections { .. } => {
                s(StatusCode::TOO_MANY_REQUESTS, "too_many_connections")
            }
            ApiError::Join(r) => {
                let status = match r.code {
                    ErrorCode::InvalidToken
                    | ErrorCode::ExpiredToken
                    | ErrorCode::RevokedToken
                    | ErrorCode::Unauthenticated => StatusCode::UNAUTHORIZED,
                    ErrorCode::WrongMeeting | ErrorCode::Forbidden => StatusCode::FORBIDDEN,
                    ErrorCode::NotFound => StatusCode::NOT_FOUND,
                    ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
                    _ => StatusCode::CONFLICT,
                };
                (status, r.code.as_str())
            }
            ApiError::Unavailable => s(StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => s(StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        ApiError::Internal(e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        if let ApiError::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        let mut body = serde_json::json!({ "error": code, "message": self.to_string() });
        if let ApiError::Conflicts { conflicts, total } = &self {
            body["conflicts"] = serde_json::json!(conflicts);
            body["conflicts_total"] = serde_json::json!(total);
        }
        let mut response = (status, Json(body)).into_response();
        if let ApiError::RateLimited { retry_after_secs } = self
            && let Ok(v) = retry_after_secs.to_string().parse()
        {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        response
    }
}
