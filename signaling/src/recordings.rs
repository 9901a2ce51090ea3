//! Recorded sessions that a crash cut short (of the hub, or of its recorder): found at start
//! and finished. Each session directory without a manifest has its `.part` files finalised —
//! they play up to the crash — and a manifest written from what the database knows of the
//! session, marked `interrupted` (see docs/recording.md).
//!
//! Session directories put back from a copy (a backup, another disk) whose manifest the
//! catalogue does not list are catalogued again from it ([`catalogue_restored`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use recorder::session::{Interrupted, ManifestParticipant, ParticipantInfo, SessionInfo};

use rusqlite::OptionalExtension;

use crate::db::{Db, now_ms};
use crate::directory::Directory;
use crate::meetings;

/// Session directories (`ROOT/MEETING/SESSION`) without a manifest.
fn unfinished(root: &Path) -> Vec<(i64, i64, PathBuf)> {
    session_dirs(root)
        .into_iter()
        .filter(|(_, _, dir)| !recorder::session::is_finished(dir))
        .collect()
}

/// Every session directory (`ROOT/MEETING/SESSION`, both numbers), in order.
fn session_dirs(root: &Path) -> Vec<(i64, i64, PathBuf)> {
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
            found.push((meeting, session, sdir));
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

/// What the database knows of a session that a crash cut short; `None` for an unknown one.
pub async fn known_session(
    db: &Db,
    directory: Arc<Directory>,
    session: i64,
) -> Result<Option<Interrupted>, crate::db::DbError> {
    db.call(move |c| {
        let meeting: Option<Option<i64>> = c
            .query_row(
                "SELECT meeting_id FROM sessions WHERE id = ?1",
                [session],
                |r| r.get(0),
            )
            .optional()?;
        match meeting.flatten() {
            Some(meeting) => known(c, &directory, meeting, session).map(Some),
            None => Ok(None),
        }
    })
    .await
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

/// Catalogue the finished session directories under `root` that the catalogue does not list
/// — put back from a copy — from their manifests; returns how many. Such a recording comes
/// back unclassified (kept until an archivist classifies it). One is left alone, with a
/// warning, when its manifest cannot be read or names another meeting or session than its
/// directory, or when this hub's database has that session number for another meeting (a
/// copy from another hub). A session the database does not know is recorded in it, so that
/// no later session takes its number.
pub async fn catalogue_restored(db: &Db, root: PathBuf) -> usize {
    let found = tokio::task::spawn_blocking(move || {
        session_dirs(&root)
            .into_iter()
            .filter(|(_, _, dir)| recorder::session::is_finished(dir))
            .collect::<Vec<_>>()
    })
    .await
    .unwrap_or_default();
    let mut done = 0;
    for (meeting, session, dir) in found {
        let listed = db
            .call(move |c| {
                c.query_row(
                    "SELECT 1 FROM recordings WHERE session_id = ?1",
                    [session],
                    |_| Ok(()),
                )
                .optional()
            })
            .await;
        if !matches!(listed, Ok(None)) {
            continue;
        }
        let read = dir.clone();
        let manifest = match tokio::task::spawn_blocking(move || {
            recorder::session::read_manifest(&read)
        })
        .await
        {
            Ok(Ok(m)) => m,
            Ok(Err(e)) => {
                tracing::warn!(meeting, session, error = %e, "a session directory put back cannot be catalogued");
                continue;
            }
            Err(_) => continue,
        };
        if (manifest.session.meeting_id, manifest.session.session_id) != (meeting, session) {
            tracing::warn!(
                dir = %dir.display(),
                manifest_meeting = manifest.session.meeting_id,
                manifest_session = manifest.session.session_id,
                "a session directory put back under another meeting or session number is left alone"
            );
            continue;
        }
        let m = manifest.clone();
        let relative = format!("{meeting}/{session}");
        let catalogued = db
            .call(move |c| {
                let tx = c.transaction()?;
                let known: Option<Option<i64>> = tx
                    .query_row(
                        "SELECT meeting_id FROM sessions WHERE id = ?1",
                        [session],
                        |r| r.get(0),
                    )
                    .optional()?;
                match known {
                    Some(Some(m)) if m == meeting => {}
                    Some(_) => return Ok(false),
                    None => {
                        let meeting_known = meetings::get(&tx, meeting)?.is_some();
                        tx.execute(
                            "INSERT INTO sessions (id, room_code, started_at, ended_at, meeting_id)
                             VALUES (?1, ?2, ?3, ?4, ?5)",
                            rusqlite::params![
                                session,
                                m.session.host_unit,
                                m.session.started_at,
                                m.ended_at,
                                meeting_known.then_some(meeting)
                            ],
                        )?;
                    }
                }
                crate::archive::finished(&tx, &m, &relative)?;
                tx.commit()?;
                Ok(true)
            })
            .await;
        match catalogued {
            Ok(true) => {
                done += 1;
                tracing::info!(
                    meeting,
                    session,
                    files = manifest.files.len(),
                    "a session directory put back was catalogued"
                );
            }
            Ok(false) => tracing::warn!(
                meeting,
                session,
                "session {session} of this hub is another meeting's: a copy from another hub is left alone"
            ),
            Err(e) => {
                tracing::error!(meeting, session, error = %e, "cannot catalogue a session directory put back")
            }
        }
    }
    done
}

#[cfg(test)]
mod tests {
    use super::*;
    use recorder::session::{Manifest, ManifestFile, SessionInfo, write_manifest};

    fn manifest(meeting_id: i64, session_id: i64) -> Manifest {
        Manifest {
            format: recorder::session::FORMAT,
            interrupted: false,
            session: SessionInfo {
                meeting_id,
                session_id,
                title: "Giao ban".into(),
                host_unit: "province:19".into(),
                host_name: "Tỉnh Thái Nguyên".into(),
                invited: vec!["province:19".into()],
                started_at: 1_790_000_000_000,
            },
            ended_at: 1_790_000_600_000,
            attending: vec!["province:19".into()],
            participants: vec![],
            files: vec![ManifestFile {
                name: "e1-province-19.webm".into(),
                participant_id: "e1".into(),
                content: "participant".into(),
                bytes: 1234,
                sha256: "00".repeat(32),
                offset_ms: Some(0),
                end_ms: Some(600_000),
                duration_ms: Some(600_000),
                remuxed: true,
            }],
            speakers: vec![],
            mutes: vec![],
            problems: vec![],
            composite: None,
            stopped: None,
        }
    }

    fn put_back(root: &Path, (meeting, session): (i64, i64), m: Option<&Manifest>) {
        let dir = root.join(meeting.to_string()).join(session.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        match m {
            Some(m) => write_manifest(&dir, m).unwrap(),
            None => std::fs::write(dir.join(recorder::session::MANIFEST), b"{").unwrap(),
        }
    }

    #[tokio::test]
    async fn session_directories_put_back_are_catalogued_from_their_manifests() {
        let data = std::env::temp_dir().join(format!("cau-restore-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&data);
        let db = Db::open(&data).unwrap();
        let root = data.join("recordings");
        // Session 3 of meeting 7, unknown to this database: catalogued.
        put_back(&root, (7, 3), Some(&manifest(7, 3)));
        // Session 4: this database has another session 4 (a copy from another hub).
        db.call(|c| {
            c.execute(
                "INSERT INTO sessions (id, room_code, started_at) VALUES (4, 'district:164', 1)",
                [],
            )
        })
        .await
        .unwrap();
        put_back(&root, (8, 4), Some(&manifest(8, 4)));
        // Filed under another number than its manifest says; and a broken manifest.
        put_back(&root, (9, 5), Some(&manifest(9, 6)));
        put_back(&root, (9, 7), None);

        assert_eq!(catalogue_restored(&db, root.clone()).await, 1);
        let dir = Arc::new(Directory::from_json(crate::DEFAULT_DIRECTORY).unwrap());
        let now = now_ms();
        let rows = db
            .call(move |c| {
                let mut rows = vec![];
                for s in [3, 4, 5, 6, 7] {
                    rows.push(crate::archive::get(c, &dir, s, now)?);
                }
                Ok(rows)
            })
            .await
            .unwrap();
        let restored = rows[0].as_ref().expect("session 3 catalogued");
        assert_eq!(restored.dir, "7/3");
        let s = &restored.summary;
        assert_eq!((s.state.as_str(), s.bytes, s.files), ("ready", 1234, 1));
        assert_eq!(
            (s.class.as_deref(), s.keep_until),
            (None, None),
            "unclassified, kept"
        );
        assert!(
            rows[1..].iter().all(Option::is_none),
            "the others left alone"
        );
        // Its session number is now taken in this database.
        let taken = db
            .call(|c| {
                c.query_row("SELECT room_code FROM sessions WHERE id = 3", [], |r| {
                    r.get::<_, String>(0)
                })
            })
            .await
            .unwrap();
        assert_eq!(taken, "province:19");
        // Once is enough.
        assert_eq!(catalogue_restored(&db, root).await, 0);
        std::fs::remove_dir_all(&data).unwrap();
    }
}
