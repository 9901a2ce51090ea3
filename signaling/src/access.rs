//! Who may join which meeting, as whom: every join (websocket) and every token check (the
//! meeting page's `GET /api/join`) goes through [`admit`]. The order of the checks and the
//! code of each refusal are documented in docs/api.md ("Join tokens").

use crate::auth::User;
use crate::db::now_ms;
use crate::meetings::{self, EARLY_JOIN_MS, Meeting, MeetingState, Occurrence};
use crate::protocol::{ErrorCode, Role, UnitRef};
use crate::rooms::Hub;

/// A participant let in: the meeting, its current occurrence, the unit it speaks for, its
/// role, and what let it in.
#[derive(Debug, Clone)]
pub struct Admission {
    pub meeting: Meeting,
    pub occurrence: Occurrence,
    pub unit: UnitRef,
    pub role: Role,
    pub credential: Credential,
}

/// What a participant joined with: a join link, or a staff login named as the chair. A chair
/// who removes a participant bars its credential from the session.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Credential {
    /// The join link's id (its tokens all name it).
    Link(i64),
    /// The staff account's user name.
    Staff(String),
}

/// A refusal: the protocol's code and a sentence for the log and the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
}

fn refuse(code: ErrorCode, message: impl Into<String>) -> Refusal {
    Refusal {
        code,
        message: message.into(),
    }
}

/// Decide whether the holder of `token` (or the logged-in `staff` user, when there is no
/// token) may join meeting `meeting` (`None`: the token's meeting).
pub async fn admit(
    hub: &Hub,
    meeting: Option<i64>,
    token: Option<&str>,
    staff: Option<&User>,
) -> Result<Admission, Refusal> {
    let now = now_ms();
    let result = admit_inner(hub, meeting, token, staff, now).await;
    if let Err(r) = &result {
        tracing::warn!(
            code = r.code.as_str(),
            meeting,
            staff = staff.map(|u| u.username.as_str()),
            reason = %r.message,
            "join refused"
        );
    }
    result
}

async fn admit_inner(
    hub: &Hub,
    meeting: Option<i64>,
    token: Option<&str>,
    staff: Option<&User>,
    now: i64,
) -> Result<Admission, Refusal> {
    let internal = |e: crate::db::DbError| {
        tracing::error!(error = %e, "database error while checking access");
        refuse(ErrorCode::Internal, "internal error")
    };
    let (meeting_id, unit_id, role, credential) = match token {
        Some(token) => {
            let claims = hub
                .token_key()
                .verify(token)
                .ok_or_else(|| refuse(ErrorCode::InvalidToken, "not a join token of this hub"))?;
            if claims.expires.saturating_mul(1000) <= now {
                return Err(refuse(ErrorCode::ExpiredToken, "the join link has expired"));
            }
            let link_id = claims.link;
            let link = hub
                .db()
                .call(move |c| meetings::link(c, link_id))
                .await
                .map_err(internal)?
                .ok_or_else(|| refuse(ErrorCode::InvalidToken, "no such join link"))?;
            if link.meeting_id != claims.meeting
                || link.unit_id != claims.unit
                || link.role != claims.role
            {
                return Err(refuse(
                    ErrorCode::InvalidToken,
                    "the token does not match its link",
                ));
            }
            if link.revoked_at.is_some() {
                // Cancelling revokes every link: say why.
                let id = link.meeting_id;
                let cancelled = hub
                    .db()
                    .call(move |c| meetings::get(c, id))
                    .await
                    .map_err(internal)?
                    .is_some_and(|m| m.state == MeetingState::Cancelled);
                if cancelled {
                    return Err(refuse(
                        ErrorCode::MeetingCancelled,
                        "the meeting was cancelled",
                    ));
                }
                return Err(refuse(
                    ErrorCode::RevokedToken,
                    "the join link was revoked or re-issued",
                ));
            }
            if meeting.is_some_and(|m| m != claims.meeting) {
                return Err(refuse(
                    ErrorCode::WrongMeeting,
                    "the join link is for another meeting",
                ));
            }
            (
                claims.meeting,
                claims.unit,
                claims.role,
                Credential::Link(claims.link),
            )
        }
        None => {
            let user = staff.ok_or_else(|| {
                refuse(
                    ErrorCode::Unauthenticated,
                    "a join link or a staff login is needed",
                )
            })?;
            let id = meeting.ok_or_else(|| refuse(ErrorCode::NotFound, "no meeting given"))?;
            let m = hub
                .db()
                .call(move |c| meetings::get(c, id))
                .await
                .map_err(internal)?
                .ok_or_else(|| refuse(ErrorCode::NotFound, "no such meeting"))?;
            if m.chair_user.as_deref() != Some(user.username.as_str()) {
                return Err(refuse(
                    ErrorCode::Forbidden,
                    "a staff login joins only as the chair it is named for; others need a join link",
                ));
            }
            (
                m.id,
                m.chair_unit,
                Role::Chair,
                Credential::Staff(user.username.clone()),
            )
        }
    };
    let m = hub
        .db()
        .call(move |c| meetings::get(c, meeting_id))
        .await
        .map_err(internal)?
        .ok_or_else(|| refuse(ErrorCode::NotFound, "no such meeting"))?;
    match m.state {
        MeetingState::Cancelled => {
            return Err(refuse(
                ErrorCode::MeetingCancelled,
                "the meeting was cancelled",
            ));
        }
        MeetingState::Ended => {
            return Err(refuse(ErrorCode::MeetingEnded, "the meeting has ended"));
        }
        MeetingState::Planned | MeetingState::Live => {}
    }
    let occurrence = m
        .occurrence_at(now)
        .ok_or_else(|| refuse(ErrorCode::MeetingEnded, "the meeting has ended"))?;
    if m.state == MeetingState::Planned && now < occurrence.start - EARLY_JOIN_MS {
        return Err(refuse(
            ErrorCode::MeetingNotStarted,
            format!(
                "the meeting opens 30 minutes before it starts (start: {} ms since the epoch)",
                occurrence.start
            ),
        ));
    }
    let dir = hub.directory();
    let unit = dir.get(&unit_id).map(UnitRef::from).ok_or_else(|| {
        refuse(
            ErrorCode::Forbidden,
            "the unit is no longer in the directory",
        )
    })?;
    if role == Role::Official {
        let (id, u) = (m.id, unit_id.clone());
        let invited = hub
            .db()
            .call(move |c| meetings::is_invited(c, id, &u))
            .await
            .map_err(internal)?;
        if !invited {
            return Err(refuse(
                ErrorCode::Forbidden,
                "the unit is not invited to this meeting",
            ));
        }
    }
    Ok(Admission {
        meeting: m,
        occurrence,
        unit,
        role,
        credential,
    })
}
