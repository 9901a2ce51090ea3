//! Recorded sessions that a crash cut short (of the hub, or of its recorder): found at start
//! and finished. Each session directory without a manifest has its `.part` files finalised —
//! they play up to the crash — and a manifest written from what the database knows of the
//! session, marked `interrupted` (see docs/recording.md).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use recorder::session::{Interrupted, ManifestParticipant, ParticipantInfo, SessionInfo};

use crate::db::{Db, now_ms};
use crate::directory::Directory;
use crate::meetings;

/// Session directories (`ROOT/MEETING/SESSION`) without a manifest.
fn unfinished(root: &Path) -> Vec<(i64, i64, PathBuf)> {
    let numbered = |dir: &Path| -> Vec<(i64, PathBuf)> {
        std::fs::read_dir(dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let n = e.file_name().to_str()?.parse::<i64>().ok()?;
                e.path().is_dir().then(|| (n, e.path()))
            })
            .collect()
    };
    let mut found = vec![];
    for (meeting, dir) in numbered(root) {
        for (session, sdir) in numbered(&dir) {
            if !recorder::session::is_finished(&sdir) {
                found.push((meeting, session, sdir));
            }
        }
    }
    found.sort();
    found
}

/// What the database knows of a session, for its manifest.
fn known(
    c: &rusqlite::Connection,
    directory: &Directory,
    meeting_id: i64,
    session_id: i64,
) -> rusqlite::Result<Interrupted> {
    let (started_at, ended_at): (i64, Option<i64>) = c
        .query_row(
            "SELECT started_at, ended_at FROM sessions WHERE id = ?1",
            [session_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap_or((0, None));
    let meeting = meetings::get(c, meeting_id)?;
    let invited = meetings::invites(c, meeting_id)?;
    let unit_name = |id: &str| {
        directory
            .get(id)
            .map(|u| u.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let mut stmt = c.prepare(
        "SELECT participant_id, display_name, unit_code, joined_at, left_at
           FROM participations WHERE session_id = ?1 ORDER BY joined_at, participant_id",
    )?;
    let participants = stmt
        .query_map([session_id], |r| {
            let unit_id: String = r.get(2)?;
            Ok(ManifestParticipant {
                info: ParticipantInfo {
                    participant_id: r.get(0)?,
                    name: r.get(1)?,
                    unit_name: unit_name(&unit_id),
                    unit_id,
                    role: String::new(),
                },
                joined_at: r.get(3)?,
                left_at: r.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let host_unit = meeting
        .as_ref()
        .map(|m| m.host_unit.clone())
        .unwrap_or_default();
    Ok(Interrupted {
        info: SessionInfo {
            meeting_id,
            session_id,
            title: meeting.map(|m| m.title).unwrap_or_default(),
            host_name: unit_name(&host_unit),
            host_unit,
            invited,
            started_at,
        },
        ended_at: ended_at.unwrap_or_else(now_ms),
        participants,
    })
}

/// Finish every session under `root` that a crash left unfinished; returns how many.
pub async fn recover(db: &Db, directory: Arc<Directory>, root: PathBuf) -> usize {
    let found = tokio::task::spawn_blocking(move || unfinished(&root))
        .await
        .unwrap_or_default();
    let mut done = 0;
    for (meeting, session, dir) in found {
        if finish_interrupted(db, directory.clone(), meeting, session, dir)
            .await
            .is_some()
        {
            done += 1;
        }
    }
    done
}

/// Finish one session's recording that was cut short — by a crash of the hub, or a panic of
/// its recorder while the meeting goes on: its `.part` files finalised, a manifest from the
/// database marked `interrupted`, and the catalogue told. `None` when that failed (logged).
pub async fn finish_interrupted(
    db: &Db,
    directory: Arc<Directory>,
    meeting: i64,
    session: i64,
    dir: PathBuf,
) -> Option<recorder::session::Manifest> {
    let known = match db
        .call(move |c| known(c, &directory, meeting, session))
        .await
    {
        Ok(k) => k,
        Err(e) => {
            tracing::error!(meeting, session, error = %e, "cannot read an interrupted session");
            return None;
        }
    };
    let result = tokio::task::spawn_blocking(move || recorder::session::recover(&dir, known)).await;
    match result {
        Ok(Ok(m)) => {
            let (m2, relative) = (m.clone(), format!("{meeting}/{session}"));
            if let Err(e) = db
                .call(move |c| crate::archive::finished(c, &m2, &relative))
                .await
            {
                tracing::error!(meeting, session, error = %e, "cannot catalogue an interrupted recording");
            }
            tracing::warn!(
                meeting,
                session,
                files = m.files.len(),
                problems = m.problems.len(),
                "an interrupted recording was finalised"
            );
            Some(m)
        }
        Ok(Err(e)) => {
            tracing::error!(meeting, session, error = %e, "cannot finalise an interrupted recording");
            None
        }
        Err(e) => {
            tracing::error!(meeting, session, error = %e, "finalising an interrupted recording failed");
            None
        }
    }
}
