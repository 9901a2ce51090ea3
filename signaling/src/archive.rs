//! The archive: the catalogue of recorded sessions and its access log.
//!
//! The catalogue (`recordings`, migration 7) has a row per recorded session, written as the
//! recording goes — `recording` when the session starts, `finalising` when it ends, `ready`
//! with its manifest when the recorder is done, `interrupted` for one finished after a crash,
//! `damaged` when the recorder failed — and searched by archivists (`GET /api/recordings`).
//!
//! Each row also holds the recording's meeting class and the day it may be destroyed
//! ([`crate::retention`]), and once an archivist has destroyed it (only after that day, and
//! only when asked and confirmed), who did, when and why: the row stays, with state
//! `deleted`, as the record of the destruction.
//!
//! The access log (`archive_access`) records every play, download and verify, and every
//! classification and destruction. The database
//! refuses to change or delete its rows (triggers), and each entry carries the SHA-256 of
//! the previous entry's hash and its own fields, so that an entry changed or removed behind
//! the application's back breaks the chain: [`check_chain`] (`cau admin check-access-log`)
//! finds the first entry that does not follow.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::directory::{Directory, fold};

/// A recording's state in the catalogue.
pub const RECORDING: &str = "recording";
pub const FINALISING: &str = "finalising";
pub const READY: &str = "ready";
pub const INTERRUPTED: &str = "interrupted";
pub const DAMAGED: &str = "damaged";
pub const DELETED: &str = "deleted";

/// How long a recording is kept: its meeting class and the day it may be destroyed (ms;
/// `None`: kept permanently).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keep {
    pub class: String,
    pub until: Option<i64>,
}

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// A session starts being recorded into `dir` (relative to the recordings root), kept as
/// `keep` says.
pub fn started(
    c: &Connection,
    info: &recorder::session::SessionInfo,
    dir: &str,
    keep: &Keep,
) -> rusqlite::Result<()> {
    c.execute(
        "INSERT OR REPLACE INTO recordings
           (session_id, meeting_id, title, host_unit, started_at, state, dir, class, keep_until)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            info.session_id,
            info.meeting_id,
            info.title,
            info.host_unit,
            info.started_at,
            RECORDING,
            dir,
            keep.class,
            keep.until
        ],
    )?;
    Ok(())
}

/// The session ended; its files are being finalised.
pub fn finalising(c: &Connection, session_id: i64, at: i64) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE recordings SET state = ?2, ended_at = ?3 WHERE session_id = ?1 AND state = ?4",
        params![session_id, FINALISING, at, RECORDING],
    )?;
    Ok(())
}

/// The recorder is done: `ready` (or `interrupted`) with its manifest.
pub fn finished(
    c: &Connection,
    manifest: &recorder::session::Manifest,
    dir: &str,
) -> rusqlite::Result<()> {
    let state = if manifest.interrupted {
        INTERRUPTED
    } else {
        READY
    };
    let bytes: u64 = manifest.files.iter().map(|f| f.bytes).sum();
    let json = serde_json::to_string(manifest).unwrap_or_default();
    let attending = serde_json::to_string(&manifest.attending).unwrap_or_default();
    let s = &manifest.session;
    c.execute(
        "INSERT INTO recordings
           (session_id, meeting_id, title, host_unit, started_at, ended_at, state, dir, bytes,
            files, attending, manifest)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT(session_id) DO UPDATE SET
           ended_at = ?6, state = ?7, bytes = ?9, files = ?10, attending = ?11, manifest = ?12",
        params![
            s.session_id,
            s.meeting_id,
            s.title,
            s.host_unit,
            s.started_at,
            manifest.ended_at,
            state,
            dir,
            bytes as i64,
            manifest.files.len() as i64,
            attending,
            json
        ],
    )?;
    Ok(())
}

/// The recorder failed: what it wrote is in `dir`, but no manifest.
pub fn damaged(c: &Connection, session_id: i64, at: i64) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE recordings SET state = ?2, ended_at = COALESCE(ended_at, ?3) WHERE session_id = ?1",
        params![session_id, DAMAGED, at],
    )?;
    Ok(())
}

/// A unit as the archive names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnitName {
    pub id: String,
    pub name: String,
    pub tier: String,
}

/// A recording as the search lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub session_id: i64,
    pub meeting_id: i64,
    pub title: String,
    pub host_unit: UnitName,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub state: String,
    pub bytes: i64,
    pub files: i64,
    pub attending: Vec<UnitName>,
    /// Its meeting class; `None` for one made before classes, kept until classified.
    pub class: Option<String>,
    /// The day it may be destroyed (ms); `None`: kept permanently.
    pub keep_until: Option<i64>,
    /// Its day has passed and it is still there: an archivist may destroy it.
    pub expired: bool,
    pub deleted: Option<Deletion>,
}

/// Who destroyed a recording, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deletion {
    pub at: i64,
    pub by: String,
    pub reason: String,
}

/// A catalogue row with what the API needs beyond the summary.
#[derive(Debug, Clone)]
pub struct Row {
    pub summary: Summary,
    /// Relative to the recordings root.
    pub dir: String,
    pub manifest: Option<serde_json::Value>,
}

fn unit_name(dir: &Directory, id: &str) -> UnitName {
    match dir.get(id) {
        Some(u) => UnitName {
            id: u.id.clone(),
            name: u.name.clone(),
            tier: u.tier.clone(),
        },
        None => UnitName {
            id: id.to_string(),
            name: id.to_string(),
            tier: String::new(),
        },
    }
}

fn row(r: &rusqlite::Row, dir: &Directory, now: i64) -> rusqlite::Result<Row> {
    let attending: String = r.get(10)?;
    let attending: Vec<String> = serde_json::from_str(&attending).unwrap_or_default();
    let manifest: Option<String> = r.get(11)?;
    let host: String = r.get(3)?;
    let keep_until: Option<i64> = r.get(13)?;
    let deleted = match r.get::<_, Option<i64>>(14)? {
        Some(at) => Some(Deletion {
            at,
            by: r.get::<_, Option<String>>(15)?.unwrap_or_default(),
            reason: r.get::<_, Option<String>>(16)?.unwrap_or_default(),
        }),
        None => None,
    };
    Ok(Row {
        summary: Summary {
            session_id: r.get(0)?,
            meeting_id: r.get(1)?,
            title: r.get(2)?,
            host_unit: unit_name(dir, &host),
            started_at: r.get(4)?,
            ended_at: r.get(5)?,
            state: r.get(6)?,
            bytes: r.get(8)?,
            files: r.get(9)?,
            attending: attending.iter().map(|u| unit_name(dir, u)).collect(),
            class: r.get(12)?,
            keep_until,
            expired: deleted.is_none() && keep_until.is_some_and(|t| t <= now),
            deleted,
        },
        dir: r.get(7)?,
        manifest: manifest.and_then(|m| serde_json::from_str(&m).ok()),
    })
}

const COLUMNS: &str = "session_id, meeting_id, title, host_unit, started_at, ended_at, state, \
                       dir, bytes, files, attending, manifest, class, keep_until, deleted_at, \
                       deleted_by, deleted_reason";

/// What an archivist searches by (every part optional).
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// Started at or after (ms since the epoch).
    pub from: Option<i64>,
    /// Started before (ms).
    pub to: Option<i64>,
    /// Words of the title or of an attending unit's name, diacritics or not.
    pub text: Option<String>,
    /// The host or an attending unit.
    pub unit: Option<String>,
    /// Some attending unit of this tier.
    pub tier: Option<String>,
    /// Only recordings whose retention has run out (and are not destroyed).
    pub expired: bool,
}

/// The most a search lists.
pub const MAX_RESULTS: usize = 200;

/// Recordings matching `q` at `now`, newest first.
pub fn search(
    c: &Connection,
    dir: &Directory,
    q: &Search,
    now: i64,
) -> rusqlite::Result<Vec<Summary>> {
    let mut stmt = c.prepare(&format!(
        "SELECT {COLUMNS} FROM recordings
          WHERE started_at >= ?1 AND started_at < ?2
          ORDER BY started_at DESC, session_id DESC"
    ))?;
    let rows = stmt.query_map(
        params![q.from.unwrap_or(i64::MIN), q.to.unwrap_or(i64::MAX)],
        |r| row(r, dir, now),
    )?;
    let words: Vec<String> = q
        .text
        .as_deref()
        .map(fold)
        .unwrap_or_default()
        .split_whitespace()
        .map(String::from)
        .collect();
    let mut out = vec![];
    for r in rows {
        let s = r?.summary;
        if q.expired && !s.expired {
            continue;
        }
        if let Some(u) = &q.unit
            && s.host_unit.id != *u
            && !s.attending.iter().any(|a| a.id == *u)
        {
            continue;
        }
        if let Some(t) = &q.tier
            && !s.attending.iter().any(|a| a.tier == *t)
        {
            continue;
        }
        if !words.is_empty() {
            let hay = fold(&format!(
                "{} {} {}",
                s.title,
                s.host_unit.name,
                s.attending
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
            if !words.iter().all(|w| hay.contains(w.as_str())) {
                continue;
            }
        }
        out.push(s);
        if out.len() == MAX_RESULTS {
            break;
        }
    }
    Ok(out)
}

/// One recording by its session id, as at `now`.
pub fn get(
    c: &Connection,
    dir: &Directory,
    session_id: i64,
    now: i64,
) -> rusqlite::Result<Option<Row>> {
    c.query_row(
        &format!("SELECT {COLUMNS} FROM recordings WHERE session_id = ?1"),
        [session_id],
        |r| row(r, dir, now),
    )
    .optional()
}

/// Classify a recording again: `keep` replaces its class and day.
pub fn classify(c: &Connection, session_id: i64, keep: &Keep) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE recordings SET class = ?2, keep_until = ?3 WHERE session_id = ?1",
        params![session_id, keep.class, keep.until],
    )?;
    Ok(())
}

/// Mark a recording destroyed (its files are already gone). Only a recording whose day has
/// passed at `deletion.at` and that is finished changes; `false`: none did.
pub fn mark_deleted(
    c: &Connection,
    session_id: i64,
    deletion: &Deletion,
) -> rusqlite::Result<bool> {
    let changed = c.execute(
        "UPDATE recordings SET state = ?2, deleted_at = ?3, deleted_by = ?4, deleted_reason = ?5
          WHERE session_id = ?1 AND deleted_at IS NULL AND keep_until IS NOT NULL
            AND keep_until <= ?3 AND state NOT IN (?6, ?7)",
        params![
            session_id,
            DELETED,
            deletion.at,
            deletion.by,
            deletion.reason,
            RECORDING,
            FINALISING
        ],
    )?;
    Ok(changed == 1)
}

/// How many recordings are in each state, for the metrics.
pub fn count_by_state(c: &Connection) -> rusqlite::Result<Vec<(String, i64)>> {
    let mut stmt =
        c.prepare("SELECT state, COUNT(*) FROM recordings GROUP BY state ORDER BY state")?;
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

/// Bytes the catalogue holds of recordings not destroyed (a recording counts once its
/// recorder is done), for the status page.
pub fn bytes_kept(c: &Connection) -> rusqlite::Result<i64> {
    c.query_row(
        "SELECT COALESCE(SUM(bytes), 0) FROM recordings WHERE state != ?1",
        [DELETED],
        |r| r.get(0),
    )
}

/// A recording that did not end well: `interrupted` (finished after a crash) or `damaged`
/// (its recorder failed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Troubled {
    pub session_id: i64,
    pub meeting_id: i64,
    pub title: String,
    pub state: String,
    pub started_at: i64,
    pub ended_at: Option<i64>,
}

/// Recordings `interrupted` or `damaged` that ended (or, with no end, started) at or after
/// `since`, latest first.
pub fn troubled_since(c: &Connection, since: i64) -> rusqlite::Result<Vec<Troubled>> {
    let mut stmt = c.prepare(
        "SELECT session_id, meeting_id, title, state, started_at, ended_at FROM recordings
          WHERE state IN (?1, ?2) AND COALESCE(ended_at, started_at) >= ?3
          ORDER BY COALESCE(ended_at, started_at) DESC, session_id DESC",
    )?;
    stmt.query_map(params![INTERRUPTED, DAMAGED, since], |r| {
        Ok(Troubled {
            session_id: r.get(0)?,
            meeting_id: r.get(1)?,
            title: r.get(2)?,
            state: r.get(3)?,
            started_at: r.get(4)?,
            ended_at: r.get(5)?,
        })
    })?
    .collect()
}

/// Bytes recorded in sessions started in `[from, to)`, for the statistics.
pub fn bytes_between(c: &Connection, from: i64, to: i64) -> rusqlite::Result<i64> {
    c.query_row(
        "SELECT COALESCE(SUM(bytes), 0) FROM recordings WHERE started_at >= ?1 AND started_at < ?2",
        [from, to],
        |r| r.get(0),
    )
}

/// What an archivist did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Play,
    Download,
    Verify,
    /// Its class changed (the entry's `file` names the new class).
    Classify,
    /// Destroyed.
    Delete,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Play => "play",
            Action::Download => "download",
            Action::Verify => "verify",
            Action::Classify => "classify",
            Action::Delete => "delete",
        }
    }
}

/// An access log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccessEntry {
    pub id: i64,
    pub at: i64,
    pub username: String,
    pub action: String,
    pub session_id: i64,
    pub file: Option<String>,
    pub hash: String,
}

/// The chained hash of an entry: SHA-256 over the previous hash and the entry's fields, one
/// per line, hex.
fn entry_hash(
    prev: &str,
    id: i64,
    at: i64,
    username: &str,
    action: &str,
    session_id: i64,
    file: Option<&str>,
) -> String {
    let mut h = Sha256::new();
    for part in [
        prev,
        &id.to_string(),
        &at.to_string(),
        username,
        action,
        &session_id.to_string(),
        file.unwrap_or(""),
    ] {
        h.update(part.as_bytes());
        h.update(b"\n");
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Append an entry (in a transaction: the chain never forks).
pub fn log_access(
    c: &mut Connection,
    at: i64,
    username: &str,
    action: Action,
    session_id: i64,
    file: Option<&str>,
) -> rusqlite::Result<AccessEntry> {
    let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let last: Option<(i64, String)> = tx
        .query_row(
            "SELECT id, hash FROM archive_access ORDER BY id DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let (id, prev) = match last {
        Some((id, hash)) => (id + 1, hash),
        None => (1, GENESIS.to_string()),
    };
    let hash = entry_hash(&prev, id, at, username, action.as_str(), session_id, file);
    tx.execute(
        "INSERT INTO archive_access (id, at, username, action, session_id, file, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            id,
            at,
            username,
            action.as_str(),
            session_id,
            file,
            prev,
            hash
        ],
    )?;
    tx.commit()?;
    Ok(AccessEntry {
        id,
        at,
        username: username.to_string(),
        action: action.as_str().to_string(),
        session_id,
        file: file.map(String::from),
        hash,
    })
}

/// A session's entries, newest first.
pub fn access_of(
    c: &Connection,
    session_id: i64,
    limit: usize,
) -> rusqlite::Result<Vec<AccessEntry>> {
    let mut stmt = c.prepare(
        "SELECT id, at, username, action, session_id, file, hash FROM archive_access
          WHERE session_id = ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    stmt.query_map(params![session_id, limit as i64], |r| {
        Ok(AccessEntry {
            id: r.get(0)?,
            at: r.get(1)?,
            username: r.get(2)?,
            action: r.get(3)?,
            session_id: r.get(4)?,
            file: r.get(5)?,
            hash: r.get(6)?,
        })
    })?
    .collect()
}

/// The chain's state: how many entries, and the first that does not follow the one before
/// (its id and why), if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainCheck {
    pub entries: u64,
    pub broken_at: Option<(i64, String)>,
}

/// Walk the whole log, recomputing every hash.
pub fn check_chain(c: &Connection) -> rusqlite::Result<ChainCheck> {
    let mut stmt = c.prepare(
        "SELECT id, at, username, action, session_id, file, prev_hash, hash
           FROM archive_access ORDER BY id",
    )?;
    let mut rows = stmt.query([])?;
    let mut prev = GENESIS.to_string();
    let mut expected_id = 1;
    let mut entries = 0;
    while let Some(r) = rows.next()? {
        entries += 1;
        let id: i64 = r.get(0)?;
        let file: Option<String> = r.get(5)?;
        let stored_prev: String = r.get(6)?;
        let hash: String = r.get(7)?;
        let why = if id != expected_id {
            Some(format!("entry {expected_id} is missing"))
        } else if stored_prev != prev {
            Some("it does not name the previous entry's hash".to_string())
        } else if hash
            != entry_hash(
                &prev,
                id,
                r.get(1)?,
                &r.get::<_, String>(2)?,
                &r.get::<_, String>(3)?,
                r.get(4)?,
                file.as_deref(),
            )
        {
            Some("its fields do not match its hash".to_string())
        } else {
            None
        };
        if let Some(why) = why {
            return Ok(ChainCheck {
                entries,
                broken_at: Some((id, why)),
            });
        }
        prev = hash;
        expected_id = id + 1;
    }
    Ok(ChainCheck {
        entries,
        broken_at: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut c = Connection::open_in_memory().unwrap();
        crate::db::migrate_for_tests(&mut c);
        c
    }

    #[test]
    fn the_access_log_is_a_chain_the_database_will_not_let_change() {
        let mut c = db();
        for (i, action) in [Action::Play, Action::Download, Action::Verify]
            .into_iter()
            .enumerate()
        {
            let e = log_access(
                &mut c,
                1000 + i as i64,
                "luutru",
                action,
                7,
                Some("e1-x.webm"),
            )
            .unwrap();
            assert_eq!(e.id, i as i64 + 1);
        }
        assert_eq!(
            check_chain(&c).unwrap(),
            ChainCheck {
                entries: 3,
                broken_at: None
            }
        );
        assert!(
            c.execute("UPDATE archive_access SET username = 'x'", [])
                .is_err()
        );
        assert!(
            c.execute("DELETE FROM archive_access WHERE id = 2", [])
                .is_err()
        );
        let entries = access_of(&c, 7, 10).unwrap();
        assert_eq!(entries.len(), 3);
        assert_eq!(entries[0].action, "verify");

        // Behind the application's back (the triggers dropped): a change breaks the chain
        // at the entry changed, a removal at the one after the gap.
        c.execute_batch(
            "DROP TRIGGER archive_access_no_update; DROP TRIGGER archive_access_no_delete;",
        )
        .unwrap();
        c.execute(
            "UPDATE archive_access SET username = 'someone' WHERE id = 2",
            [],
        )
        .unwrap();
        assert_eq!(check_chain(&c).unwrap().broken_at.map(|b| b.0), Some(2));
        c.execute(
            "UPDATE archive_access SET username = 'luutru' WHERE id = 2",
            [],
        )
        .unwrap();
        assert_eq!(check_chain(&c).unwrap().broken_at, None);
        c.execute("DELETE FROM archive_access WHERE id = 2", [])
            .unwrap();
        assert_eq!(check_chain(&c).unwrap().broken_at.map(|b| b.0), Some(3));
    }
}
