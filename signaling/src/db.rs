//! The hub's SQLite database in the data directory: created and migrated on start.
//!
//! Migrations are numbered SQL scripts applied in order inside one transaction each; the
//! database's `user_version` is the number of the last one applied. A migration is never
//! edited once released — a change is a new migration.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};

const MIGRATIONS: &[&str] = &[
    // 1: live sessions of rooms and who took part, with join/leave times (attendance builds on it).
    "CREATE TABLE sessions (
        id          INTEGER PRIMARY KEY,
        room_code   TEXT NOT NULL,
        started_at  INTEGER NOT NULL,
        ended_at    INTEGER
    );
    CREATE TABLE participations (
        session_id     INTEGER NOT NULL REFERENCES sessions(id),
        participant_id TEXT NOT NULL,
        display_name   TEXT NOT NULL,
        unit_code      TEXT NOT NULL,
        joined_at      INTEGER NOT NULL,
        left_at        INTEGER,
        leave_reason   TEXT,
        PRIMARY KEY (session_id, participant_id)
    );
    CREATE INDEX sessions_by_room ON sessions(room_code, started_at);",
    // 2: staff accounts and their login sessions; meetings, their invited units, join links and
    // the history of changes. Unit ids are `TIER:CODE` text, not foreign keys: the directory
    // lives outside the database and can be replaced.
    "CREATE TABLE users (
        username      TEXT PRIMARY KEY,
        display_name  TEXT NOT NULL,
        password_hash TEXT NOT NULL,
        roles         TEXT NOT NULL,
        created_at    INTEGER NOT NULL
    );
    CREATE TABLE auth_sessions (
        token_hash  TEXT PRIMARY KEY,
        username    TEXT NOT NULL REFERENCES users(username) ON DELETE CASCADE,
        csrf_token  TEXT,
        created_at  INTEGER NOT NULL,
        expires_at  INTEGER NOT NULL
    );
    CREATE TABLE meetings (
        id            INTEGER PRIMARY KEY,
        title         TEXT NOT NULL,
        agenda        TEXT NOT NULL,
        start_ms      INTEGER NOT NULL,
        end_ms        INTEGER NOT NULL,
        weekly_until  INTEGER,
        last_end_ms   INTEGER NOT NULL,
        host_unit     TEXT NOT NULL,
        chair_unit    TEXT NOT NULL,
        chair_person  TEXT NOT NULL,
        chair_user    TEXT,
        scope         TEXT NOT NULL,
        recorded      INTEGER NOT NULL,
        state         TEXT NOT NULL,
        created_by    TEXT NOT NULL,
        created_at    INTEGER NOT NULL,
        updated_by    TEXT NOT NULL,
        updated_at    INTEGER NOT NULL
    );
    CREATE INDEX meetings_by_time ON meetings(start_ms, last_end_ms);
    CREATE TABLE meeting_invites (
        meeting_id  INTEGER NOT NULL REFERENCES meetings(id),
        unit_id     TEXT NOT NULL,
        PRIMARY KEY (meeting_id, unit_id)
    );
    CREATE INDEX invites_by_unit ON meeting_invites(unit_id);
    CREATE TABLE join_links (
        id          INTEGER PRIMARY KEY,
        meeting_id  INTEGER NOT NULL REFERENCES meetings(id),
        unit_id     TEXT NOT NULL,
        role        TEXT NOT NULL,
        issued_at   INTEGER NOT NULL,
        issued_by   TEXT NOT NULL,
        expires_at  INTEGER NOT NULL,
        revoked_at  INTEGER,
        revoked_by  TEXT
    );
    CREATE INDEX links_by_meeting ON join_links(meeting_id, unit_id);
    CREATE TABLE meeting_history (
        id          INTEGER PRIMARY KEY,
        meeting_id  INTEGER NOT NULL REFERENCES meetings(id),
        at          INTEGER NOT NULL,
        by_user     TEXT NOT NULL,
        action      TEXT NOT NULL,
        details     TEXT NOT NULL
    );
    CREATE INDEX history_by_meeting ON meeting_history(meeting_id, id);
    ALTER TABLE sessions ADD COLUMN meeting_id INTEGER REFERENCES meetings(id);",
    // 3: what chairs did in live sessions (floor, mutes, removals, lock, end), for the record.
    // The actor's name and unit are copied: the participation row may be the only other trace.
    "CREATE TABLE moderation_log (
        id          INTEGER PRIMARY KEY,
        meeting_id  INTEGER NOT NULL REFERENCES meetings(id),
        session_id  INTEGER NOT NULL REFERENCES sessions(id),
        at          INTEGER NOT NULL,
        actor_id    TEXT NOT NULL,
        actor_name  TEXT NOT NULL,
        actor_unit  TEXT NOT NULL,
        action      TEXT NOT NULL,
        target_id   TEXT,
        detail      TEXT
    );
    CREATE INDEX moderation_by_meeting ON moderation_log(meeting_id, id);",
    // 4: the meeting's record — speaking time per participation (attendance: who spoke), and
    // the chair's notes and decisions per occurrence.
    "ALTER TABLE participations ADD COLUMN spoke_ms INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX sessions_by_meeting ON sessions(meeting_id, started_at);
    CREATE TABLE meeting_records (
        meeting_id       INTEGER NOT NULL REFERENCES meetings(id),
        occurrence_start INTEGER NOT NULL,
        notes            TEXT NOT NULL,
        decisions        TEXT NOT NULL,
        updated_by       TEXT NOT NULL,
        updated_at       INTEGER NOT NULL,
        PRIMARY KEY (meeting_id, occurrence_start)
    );",
    // 5: a host-set cap on a meeting's endpoints (NULL: none).
    "ALTER TABLE meetings ADD COLUMN max_endpoints INTEGER;",
    // 6: each stay's connection quality (medians of the 2-second samples), for statistics.
    "ALTER TABLE participations ADD COLUMN rtt_ms REAL;
    ALTER TABLE participations ADD COLUMN loss_pct REAL;",
    // 7: the archive — the catalogue of recorded sessions (one row per session, its manifest
    // once written) and the archive's access log, append-only (triggers refuse any change),
    // each entry chained to the one before by hash.
    "CREATE TABLE recordings (
        session_id  INTEGER PRIMARY KEY,
        meeting_id  INTEGER NOT NULL,
        title       TEXT NOT NULL,
        host_unit   TEXT NOT NULL,
        started_at  INTEGER NOT NULL,
        ended_at    INTEGER,
        state       TEXT NOT NULL,
        dir         TEXT NOT NULL,
        bytes       INTEGER NOT NULL DEFAULT 0,
        files       INTEGER NOT NULL DEFAULT 0,
        attending   TEXT NOT NULL DEFAULT '[]',
        manifest    TEXT
    );
    CREATE INDEX recordings_by_start ON recordings(started_at);
    CREATE TABLE archive_access (
        id          INTEGER PRIMARY KEY,
        at          INTEGER NOT NULL,
        username    TEXT NOT NULL,
        action      TEXT NOT NULL,
        session_id  INTEGER NOT NULL,
        file        TEXT,
        prev_hash   TEXT NOT NULL,
        hash        TEXT NOT NULL
    );
    CREATE TRIGGER archive_access_no_update BEFORE UPDATE ON archive_access
        BEGIN SELECT RAISE(ABORT, 'the archive access log is append-only'); END;
    CREATE TRIGGER archive_access_no_delete BEFORE DELETE ON archive_access
        BEGIN SELECT RAISE(ABORT, 'the archive access log is append-only'); END;",
    // 8: retention — each meeting's class, and each recording's class and the day it may be
    // destroyed (NULL: kept; a recording made before classes existed has no class and is
    // kept until an archivist classifies it), and who destroyed it, when and why.
    "ALTER TABLE meetings ADD COLUMN class TEXT NOT NULL DEFAULT 'general';
    ALTER TABLE recordings ADD COLUMN class TEXT;
    ALTER TABLE recordings ADD COLUMN keep_until INTEGER;
    ALTER TABLE recordings ADD COLUMN deleted_at INTEGER;
    ALTER TABLE recordings ADD COLUMN deleted_by TEXT;
    ALTER TABLE recordings ADD COLUMN deleted_reason TEXT;",
];

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("database schema version {found} is newer than this hub ({known}); upgrade cau")]
    TooNew { found: i64, known: i64 },
    #[error("database task failed")]
    Task,
}

/// A stay's connection quality: medians of what was measured, if anything was.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LinkMedians {
    pub rtt_ms: Option<f64>,
    /// Loss in percent (0–100).
    pub loss_pct: Option<f64>,
}

/// Handle to the database; cheap to clone. Calls run on the blocking thread pool.
#[derive(Debug, Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A row of `sessions`, for tests and (later) reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: i64,
    pub room_code: String,
    pub started_at: i64,
    pub ended_at: Option<i64>,
}

impl Db {
    /// Open (creating if needed) `cau.sqlite3` in `data_dir` and migrate it.
    pub fn open(data_dir: &Path) -> Result<Self, DbError> {
        std::fs::create_dir_all(data_dir).map_err(|source| DbError::DataDir {
            path: data_dir.display().to_string(),
            source,
        })?;
        let conn = Connection::open(data_dir.join("cau.sqlite3"))?;
        // First, so that even the pragmas below wait for another process holding the file.
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        Self::from_connection(conn)
    }

    fn from_connection(mut conn: Connection) -> Result<Self, DbError> {
        migrate(&mut conn)?;
        Ok(Db {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Write everything in the write-ahead log into the database file and empty the log, so
    /// that the file alone holds it all (at a clean shutdown; a backup of the file then needs
    /// no `-wal` beside it).
    pub async fn checkpoint(&self) -> Result<(), DbError> {
        self.call(|c| c.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())))
            .await
    }

    /// Run `f` with the connection on the blocking pool.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, rusqlite::Error> + Send + 'static,
    ) -> Result<T, DbError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut guard).map_err(DbError::from)
        })
        .await
        .map_err(|_| DbError::Task)?
    }

    pub async fn session_started(
        &self,
        room_code: String,
        meeting_id: Option<i64>,
    ) -> Result<i64, DbError> {
        self.call(move |c| {
            c.execute(
                "INSERT INTO sessions (room_code, started_at, meeting_id) VALUES (?1, ?2, ?3)",
                params![room_code, now_ms(), meeting_id],
            )?;
            Ok(c.last_insert_rowid())
        })
        .await
    }

    pub async fn session_ended(&self, id: i64) -> Result<(), DbError> {
        self.call(move |c| {
            c.execute(
                "UPDATE sessions SET ended_at = ?2 WHERE id = ?1",
                params![id, now_ms()],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn participant_joined(
        &self,
        session_id: i64,
        participant_id: String,
        name: String,
        unit_code: String,
    ) -> Result<(), DbError> {
        self.call(move |c| {
            c.execute(
                "INSERT INTO participations (session_id, participant_id, display_name, unit_code, joined_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![session_id, participant_id, name, unit_code, now_ms()],
            )?;
            Ok(())
        })
        .await
    }

    pub async fn participant_left(
        &self,
        session_id: i64,
        participant_id: String,
        reason: &'static str,
        quality: LinkMedians,
    ) -> Result<(), DbError> {
        self.call(move |c| {
            c.execute(
                "UPDATE participations SET left_at = ?3, leave_reason = ?4, rtt_ms = ?5, loss_pct = ?6
                 WHERE session_id = ?1 AND participant_id = ?2",
                params![
                    session_id,
                    participant_id,
                    now_ms(),
                    reason,
                    quality.rtt_ms,
                    quality.loss_pct
                ],
            )?;
            Ok(())
        })
        .await
    }

    /// Add `ms` of speaking to a participation.
    pub async fn spoke(
        &self,
        session_id: i64,
        participant_id: String,
        ms: i64,
    ) -> Result<(), DbError> {
        self.call(move |c| {
            c.execute(
                "UPDATE participations SET spoke_ms = spoke_ms + ?3
                 WHERE session_id = ?1 AND participant_id = ?2",
                params![session_id, participant_id, ms.max(0)],
            )?;
            Ok(())
        })
        .await
    }

    /// Sessions of a room, newest first.
    pub async fn sessions_of(&self, room_code: String) -> Result<Vec<SessionRow>, DbError> {
        self.call(move |c| {
            let mut stmt = c.prepare(
                "SELECT id, room_code, started_at, ended_at FROM sessions
                 WHERE room_code = ?1 ORDER BY id DESC",
            )?;
            let rows = stmt.query_map([room_code], |r| {
                Ok(SessionRow {
                    id: r.get(0)?,
                    room_code: r.get(1)?,
                    started_at: r.get(2)?,
                    ended_at: r.get(3)?,
                })
            })?;
            rows.collect()
        })
        .await
    }

    /// Sessions left open by a crash are closed at start, so none looks live forever.
    pub async fn close_dangling_sessions(&self) -> Result<usize, DbError> {
        self.call(|c| {
            let now = now_ms();
            c.execute(
                "UPDATE participations SET left_at = ?1, leave_reason = 'interrupted' WHERE left_at IS NULL",
                [now],
            )?;
            c.execute("UPDATE sessions SET ended_at = ?1 WHERE ended_at IS NULL", [now])
        })
        .await
    }
}

fn migrate(conn: &mut Connection) -> Result<(), DbError> {
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let known = MIGRATIONS.len() as i64;
    if current > known {
        return Err(DbError::TooNew {
            found: current,
            known,
        });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)?;
        tx.commit()?;
        tracing::info!(version = i + 1, "database migrated");
    }
    Ok(())
}

/// Migrate an in-memory connection (unit tests of the storage modules).
#[cfg(test)]
pub(crate) fn migrate_for_tests(conn: &mut Connection) {
    migrate(conn).expect("migrations apply");
}

/// The schema version of an open database (for tests).
pub fn schema_version(conn: &Connection) -> Result<i64, rusqlite::Error> {
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .optional()
        .map(|v| v.unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("cau-db-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[tokio::test]
    async fn creates_migrates_and_reopens_a_real_file() {
        let dir = temp_dir("reopen");
        let db = Db::open(&dir).unwrap();
        let id = db.session_started("19".into(), None).await.unwrap();
        db.participant_joined(id, "e1".into(), "An".into(), "19-S01".into())
            .await
            .unwrap();
        drop(db);

        // Reopening applies no migration twice and keeps the rows.
        let db = Db::open(&dir).unwrap();
        let version = db.call(|c| schema_version(c)).await.unwrap();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let sessions = db.sessions_of("19".into()).await.unwrap();
        assert_eq!(sessions.len(), 1);
        assert_eq!(sessions[0].ended_at, None);

        // A crash left the session open: the next start closes it.
        assert_eq!(db.close_dangling_sessions().await.unwrap(), 1);
        assert!(
            db.sessions_of("19".into()).await.unwrap()[0]
                .ended_at
                .is_some()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn refuses_a_database_from_a_newer_hub() {
        let dir = temp_dir("newer");
        std::fs::create_dir_all(&dir).unwrap();
        let conn = Connection::open(dir.join("cau.sqlite3")).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        assert!(matches!(
            Db::open(&dir),
            Err(DbError::TooNew { found: 99, .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
