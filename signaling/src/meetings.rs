//! Meetings planned by province staff: the form and its validation, the invitation scope,
//! weekly recurrence, conflicts, join links and the history of changes — and their storage.
//!
//! Storage functions take a `rusqlite::Connection` and run inside [`crate::db::Db::call`],
//! so one call is one consistent step (a transaction where it writes several rows).

use std::collections::BTreeSet;

use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use crate::directory::Directory;
use crate::protocol::Role;
use crate::retention::Retention;

pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
pub const WEEK_MS: i64 = 7 * 24 * HOUR_MS;
/// The smallest and largest cap a host may set on a meeting's endpoints.
pub const MIN_ENDPOINTS_CAP: u32 = 2;
pub const MAX_ENDPOINTS_CAP: u32 = 2_000;

/// Longest single occurrence.
pub const MAX_DURATION_MS: i64 = 24 * HOUR_MS;
/// Most occurrences of a weekly meeting (five years).
pub const MAX_OCCURRENCES: usize = 260;
/// Participants may join this long before an occurrence starts…
pub const EARLY_JOIN_MS: i64 = 30 * MINUTE_MS;
/// …and until this long after its scheduled end (meetings overrun).
pub const LATE_JOIN_MS: i64 = 2 * HOUR_MS;
/// Join tokens expire this long after the end of the meeting's last occurrence.
pub const TOKEN_GRACE_MS: i64 = 6 * HOUR_MS;
/// At most this many conflicts are listed (the total is reported too).
pub const MAX_CONFLICTS_LISTED: usize = 200;

/// Which units a meeting invites: `root`'s subtree kept to `tiers` (every tier when empty),
/// plus `add`, minus `remove`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    pub root: String,
    #[serde(default)]
    pub tiers: Vec<String>,
    #[serde(default)]
    pub add: Vec<String>,
    #[serde(default)]
    pub remove: Vec<String>,
}

/// The writable fields of a meeting, as the schedule page sends them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingForm {
    pub title: String,
    #[serde(default)]
    pub agenda: String,
    pub start: i64,
    pub end: i64,
    #[serde(default)]
    pub weekly_until: Option<i64>,
    pub host_unit: String,
    pub chair_unit: String,
    #[serde(default)]
    pub chair_person: String,
    #[serde(default)]
    pub chair_user: Option<String>,
    pub scope: Scope,
    #[serde(default)]
    pub recorded: bool,
    /// The most endpoints in the meeting at once (the chair always gets in); none: no cap
    /// but the hub's own.
    #[serde(default)]
    pub max_endpoints: Option<u32>,
    /// The meeting's class, which sets how long its recordings are kept
    /// ([`crate::retention`]); default `general`.
    #[serde(default = "default_class")]
    pub class: String,
    #[serde(default, skip_serializing)]
    pub acknowledge_conflicts: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingState {
    Planned,
    Live,
    Ended,
    Cancelled,
}

impl MeetingState {
    pub fn as_str(self) -> &'static str {
        match self {
            MeetingState::Planned => "planned",
            MeetingState::Live => "live",
            MeetingState::Ended => "ended",
            MeetingState::Cancelled => "cancelled",
        }
    }

    fn parse(s: &str) -> MeetingState {
        match s {
            "live" => MeetingState::Live,
            "ended" => MeetingState::Ended,
            "cancelled" => MeetingState::Cancelled,
            _ => MeetingState::Planned,
        }
    }

    /// Planned or live: it still takes place, so it can conflict and be joined.
    pub fn is_open(self) -> bool {
        matches!(self, MeetingState::Planned | MeetingState::Live)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Occurrence {
    pub start: i64,
    pub end: i64,
}

/// A stored meeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Meeting {
    pub id: i64,
    pub title: String,
    pub agenda: String,
    pub start: i64,
    pub end: i64,
    pub weekly_until: Option<i64>,
    pub host_unit: String,
    pub chair_unit: String,
    pub chair_person: String,
    pub chair_user: Option<String>,
    pub scope: Scope,
    pub recorded: bool,
    pub max_endpoints: Option<u32>,
    pub class: String,
    pub state: MeetingState,
    pub invited_count: usize,
    pub created_by: String,
    pub created_at: i64,
    pub updated_by: String,
    pub updated_at: i64,
    /// Filled by the API for the range asked for.
    pub occurrences: Vec<Occurrence>,
}

impl Meeting {
    pub fn all_occurrences(&self) -> Vec<Occurrence> {
        occurrences(self.start, self.end, self.weekly_until)
    }

    /// The occurrence a participant joining at `now` belongs to: the first one whose join
    /// window has not closed. `None` when every occurrence is over.
    pub fn occurrence_at(&self, now: i64) -> Option<Occurrence> {
        self.all_occurrences()
            .into_iter()
            .find(|o| now < o.end + LATE_JOIN_MS)
    }

    pub fn token_expiry(&self) -> i64 {
        last_end(self.start, self.end, self.weekly_until) + TOKEN_GRACE_MS
    }
}

/// A reason the meeting cannot be saved as asked, for the API's 409.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conflict {
    /// `unit_invited` or `host_busy`.
    pub kind: &'static str,
    pub meeting_id: i64,
    pub title: String,
    pub start: i64,
    pub end: i64,
    pub unit_id: String,
}

/// A change in a meeting's history.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub at: i64,
    pub by: String,
    pub action: String,
    pub details: serde_json::Value,
}

/// A join link as stored (the token is derived from it and the hub's key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LinkRow {
    pub id: i64,
    pub meeting_id: i64,
    pub unit_id: String,
    pub role: Role,
    pub issued_at: i64,
    pub issued_by: String,
    pub expires_at: i64,
    pub revoked_at: Option<i64>,
}

/// Every occurrence: weekly while it starts before `weekly_until`, at most
/// [`MAX_OCCURRENCES`]; just one when not recurring.
pub fn occurrences(start: i64, end: i64, weekly_until: Option<i64>) -> Vec<Occurrence> {
    let mut list = vec![Occurrence { start, end }];
    if let Some(until) = weekly_until {
        let mut k = 1;
        while list.len() < MAX_OCCURRENCES && start + k * WEEK_MS < until {
            list.push(Occurrence {
                start: start + k * WEEK_MS,
                end: end + k * WEEK_MS,
            });
            k += 1;
        }
    }
    list
}

fn last_end(start: i64, end: i64, weekly_until: Option<i64>) -> i64 {
    occurrences(start, end, weekly_until)
        .last()
        .map_or(end, |o| o.end)
}

fn default_class() -> String {
    crate::retention::DEFAULT_CLASS.to_string()
}

impl MeetingForm {
    /// Trim text fields and check everything against the directory and the hub's meeting
    /// classes. The error names the field, for the form to show next to it.
    pub fn validate(&mut self, dir: &Directory, retention: &Retention) -> Result<(), String> {
        self.title = self.title.trim().to_string();
        self.chair_person = self.chair_person.trim().to_string();
        self.agenda = self.agenda.trim_end().to_string();
        let title_len = self.title.chars().count();
        if title_len == 0 || title_len > 200 || self.title.chars().any(char::is_control) {
            return Err("title: 1–200 characters, no control characters".into());
        }
        if self.agenda.chars().count() > 10_000 {
            return Err("agenda: at most 10 000 characters".into());
        }
        if self.chair_person.chars().count() > 200 {
            return Err("chair_person: at most 200 characters".into());
        }
        if self.end <= self.start {
            return Err("end: must be after start".into());
        }
        if self.end - self.start > MAX_DURATION_MS {
            return Err("end: a meeting lasts at most 24 hours".into());
        }
        if let Some(until) = self.weekly_until
            && until <= self.start
        {
            return Err("weekly_until: must be after start".into());
        }
        for (field, id) in [
            ("host_unit", &self.host_unit),
            ("chair_unit", &self.chair_unit),
            ("scope.root", &self.scope.root),
        ] {
            if !dir.contains(id) {
                return Err(format!("{field}: no unit {id:?} in the directory"));
            }
        }
        for id in self.scope.add.iter().chain(&self.scope.remove) {
            if !dir.contains(id) {
                return Err(format!("scope: no unit {id:?} in the directory"));
            }
        }
        for t in &self.scope.tiers {
            if !dir.tiers().contains(t) {
                return Err(format!("scope.tiers: no tier {t:?} in the directory"));
            }
        }
        self.scope.tiers.sort();
        self.scope.tiers.dedup();
        self.scope.add.sort();
        self.scope.add.dedup();
        self.scope.remove.sort();
        self.scope.remove.dedup();
        if let Some(u) = &self.chair_user
            && u.trim().is_empty()
        {
            self.chair_user = None;
        }
        if let Some(n) = self.max_endpoints
            && !(MIN_ENDPOINTS_CAP..=MAX_ENDPOINTS_CAP).contains(&n)
        {
            return Err(format!(
                "max_endpoints: from {MIN_ENDPOINTS_CAP} to {MAX_ENDPOINTS_CAP}, or none"
            ));
        }
        if retention.get(&self.class).is_none() {
            return Err(format!(
                "class: no meeting class {:?} (known: {})",
                self.class,
                retention.ids().join(", ")
            ));
        }
        Ok(())
    }

    pub fn occurrences(&self) -> Vec<Occurrence> {
        occurrences(self.start, self.end, self.weekly_until)
    }
}

/// The units a form invites, in directory order is not needed: a sorted set.
pub fn invited(dir: &Directory, form: &MeetingForm) -> BTreeSet<String> {
    let scope = &form.scope;
    let mut set: BTreeSet<String> = dir
        .subtree(&scope.root, &scope.tiers)
        .unwrap_or_default()
        .into_iter()
        .map(|u| u.id.clone())
        .collect();
    set.extend(scope.add.iter().filter(|id| dir.contains(id)).cloned());
    for id in &scope.remove {
        set.remove(id);
    }
    set.insert(form.host_unit.clone());
    set.insert(form.chair_unit.clone());
    set
}

const MEETING_COLUMNS: &str = "id, title, agenda, start_ms, end_ms, weekly_until, host_unit, chair_unit, chair_person, chair_user, scope, recorded, state, created_by, created_at, updated_by, updated_at, (SELECT COUNT(*) FROM meeting_invites i WHERE i.meeting_id = meetings.id), max_endpoints, class";

fn meeting_from_row(r: &Row<'_>) -> rusqlite::Result<Meeting> {
    let scope: String = r.get(10)?;
    let state: String = r.get(12)?;
    Ok(Meeting {
        id: r.get(0)?,
        title: r.get(1)?,
        agenda: r.get(2)?,
        start: r.get(3)?,
        end: r.get(4)?,
        weekly_until: r.get(5)?,
        host_unit: r.get(6)?,
        chair_unit: r.get(7)?,
        chair_person: r.get(8)?,
        chair_user: r.get(9)?,
        scope: serde_json::from_str(&scope).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(10, rusqlite::types::Type::Text, e.into())
        })?,
        recorded: r.get(11)?,
        state: MeetingState::parse(&state),
        created_by: r.get(13)?,
        created_at: r.get(14)?,
        updated_by: r.get(15)?,
        updated_at: r.get(16)?,
        invited_count: r.get::<_, i64>(17)? as usize,
        max_endpoints: r
            .get::<_, Option<i64>>(18)?
            .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
        class: r.get(19)?,
        occurrences: vec![],
    })
}

pub fn get(c: &Connection, id: i64) -> rusqlite::Result<Option<Meeting>> {
    c.query_row(
        &format!("SELECT {MEETING_COLUMNS} FROM meetings WHERE id = ?1"),
        [id],
        meeting_from_row,
    )
    .optional()
}

/// Meetings with an occurrence overlapping `[from, to)`, each with those occurrences.
pub fn in_range(c: &Connection, from: i64, to: i64) -> rusqlite::Result<Vec<Meeting>> {
    let mut stmt = c.prepare(&format!(
        "SELECT {MEETING_COLUMNS} FROM meetings WHERE start_ms < ?2 AND last_end_ms > ?1 ORDER BY start_ms, id"
    ))?;
    let rows = stmt.query_map(params![from, to], meeting_from_row)?;
    let mut list = vec![];
    for m in rows {
        let mut m = m?;
        m.occurrences = m
            .all_occurrences()
            .into_iter()
            .filter(|o| o.start < to && o.end > from)
            .collect();
        if !m.occurrences.is_empty() {
            list.push(m);
        }
    }
    Ok(list)
}

/// Every meeting (for reports on a directory change).
pub fn all(c: &Connection) -> rusqlite::Result<Vec<Meeting>> {
    let mut stmt = c.prepare(&format!(
        "SELECT {MEETING_COLUMNS} FROM meetings ORDER BY id"
    ))?;
    let rows = stmt.query_map([], meeting_from_row)?;
    rows.collect()
}

pub fn invites(c: &Connection, id: i64) -> rusqlite::Result<Vec<String>> {
    let mut stmt =
        c.prepare("SELECT unit_id FROM meeting_invites WHERE meeting_id = ?1 ORDER BY unit_id")?;
    let rows = stmt.query_map([id], |r| r.get(0))?;
    rows.collect()
}

pub fn is_invited(c: &Connection, id: i64, unit: &str) -> rusqlite::Result<bool> {
    c.query_row(
        "SELECT EXISTS(SELECT 1 FROM meeting_invites WHERE meeting_id = ?1 AND unit_id = ?2)",
        params![id, unit],
        |r| r.get(0),
    )
}

/// Conflicts of a meeting-to-be (`own_id` when editing) with every other open meeting:
/// overlapping occurrences that share an invited unit or the host. Returns the listed
/// conflicts and the total.
pub fn conflicts(
    c: &Connection,
    own_id: Option<i64>,
    form: &MeetingForm,
    invited: &BTreeSet<String>,
) -> rusqlite::Result<(Vec<Conflict>, usize)> {
    let mine = form.occurrences();
    let (first, last) = (mine[0].start, mine[mine.len() - 1].end);
    let mut stmt = c.prepare(&format!(
        "SELECT {MEETING_COLUMNS} FROM meetings
         WHERE state IN ('planned', 'live') AND start_ms < ?2 AND last_end_ms > ?1 AND id != ?3
         ORDER BY start_ms, id"
    ))?;
    let others: Vec<Meeting> = stmt
        .query_map(params![first, last, own_id.unwrap_or(-1)], meeting_from_row)?
        .collect::<rusqlite::Result<_>>()?;
    let mut listed = vec![];
    let mut total = 0;
    for other in others {
        let theirs = other.all_occurrences();
        let Some(overlap) = theirs
            .iter()
            .find(|o| mine.iter().any(|m| m.start < o.end && o.start < m.end))
        else {
            continue;
        };
        let mut push = |kind: &'static str, unit_id: &str| {
            total += 1;
            if listed.len() < MAX_CONFLICTS_LISTED {
                listed.push(Conflict {
                    kind,
                    meeting_id: other.id,
                    title: other.title.clone(),
                    start: overlap.start,
                    end: overlap.end,
                    unit_id: unit_id.to_string(),
                });
            }
        };
        if other.host_unit == form.host_unit {
            push("host_busy", &form.host_unit);
        }
        for unit in invites(c, other.id)? {
            if invited.contains(&unit) {
                push("unit_invited", &unit);
            }
        }
    }
    Ok((listed, total))
}

/// A form's columns, in the order `insert` and `update` bind them (?1 to ?14).
fn form_values(form: &MeetingForm) -> Vec<rusqlite::types::Value> {
    use rusqlite::types::Value;
    vec![
        Value::Text(form.title.clone()),
        Value::Text(form.agenda.clone()),
        Value::Integer(form.start),
        Value::Integer(form.end),
        form.weekly_until.map_or(Value::Null, Value::Integer),
        Value::Integer(last_end(form.start, form.end, form.weekly_until)),
        Value::Text(form.host_unit.clone()),
        Value::Text(form.chair_unit.clone()),
        Value::Text(form.chair_person.clone()),
        form.chair_user.clone().map_or(Value::Null, Value::Text),
        Value::Text(serde_json::to_string(&form.scope).unwrap_or_default()),
        Value::Integer(i64::from(form.recorded)),
        form.max_endpoints
            .map_or(Value::Null, |n| Value::Integer(i64::from(n))),
        Value::Text(form.class.clone()),
    ]
}

/// Insert a new meeting with its invitations; returns its id.
pub fn insert(
    c: &Connection,
    form: &MeetingForm,
    invited: &BTreeSet<String>,
    by: &str,
    now: i64,
) -> rusqlite::Result<i64> {
    let mut values = form_values(form);
    values.extend([by.to_string().into(), now.into()]);
    c.execute(
        "INSERT INTO meetings (title, agenda, start_ms, end_ms, weekly_until, last_end_ms, host_unit,
            chair_unit, chair_person, chair_user, scope, recorded, max_endpoints, class, state,
            created_by, created_at, updated_by, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, 'planned', ?15, ?16, ?15,
            ?16)",
        rusqlite::params_from_iter(values),
    )?;
    let id = c.last_insert_rowid();
    set_invites(c, id, invited)?;
    Ok(id)
}

/// Overwrite a meeting's writable fields and invitations.
pub fn update(
    c: &Connection,
    id: i64,
    form: &MeetingForm,
    invited: &BTreeSet<String>,
    by: &str,
    now: i64,
) -> rusqlite::Result<()> {
    let mut values = form_values(form);
    values.extend([by.to_string().into(), now.into(), id.into()]);
    c.execute(
        "UPDATE meetings SET title = ?1, agenda = ?2, start_ms = ?3, end_ms = ?4, weekly_until = ?5,
            last_end_ms = ?6, host_unit = ?7, chair_unit = ?8, chair_person = ?9, chair_user = ?10,
            scope = ?11, recorded = ?12, max_endpoints = ?13, class = ?14, updated_by = ?15,
            updated_at = ?16
         WHERE id = ?17",
        rusqlite::params_from_iter(values),
    )?;
    set_invites(c, id, invited)
}

fn set_invites(c: &Connection, id: i64, invited: &BTreeSet<String>) -> rusqlite::Result<()> {
    c.execute("DELETE FROM meeting_invites WHERE meeting_id = ?1", [id])?;
    let mut stmt =
        c.prepare("INSERT INTO meeting_invites (meeting_id, unit_id) VALUES (?1, ?2)")?;
    for unit in invited {
        stmt.execute(params![id, unit])?;
    }
    Ok(())
}

/// The form that would recreate a stored meeting (for edit history).
pub fn form_of(m: &Meeting) -> MeetingForm {
    MeetingForm {
        title: m.title.clone(),
        agenda: m.agenda.clone(),
        start: m.start,
        end: m.end,
        weekly_until: m.weekly_until,
        host_unit: m.host_unit.clone(),
        chair_unit: m.chair_unit.clone(),
        chair_person: m.chair_person.clone(),
        chair_user: m.chair_user.clone(),
        scope: m.scope.clone(),
        recorded: m.recorded,
        max_endpoints: m.max_endpoints,
        class: m.class.clone(),
        acknowledge_conflicts: false,
    }
}

pub fn set_state(c: &Connection, id: i64, state: MeetingState) -> rusqlite::Result<()> {
    c.execute(
        "UPDATE meetings SET state = ?2 WHERE id = ?1",
        params![id, state.as_str()],
    )?;
    Ok(())
}

pub fn add_history(
    c: &Connection,
    id: i64,
    by: &str,
    action: &str,
    details: serde_json::Value,
    now: i64,
) -> rusqlite::Result<()> {
    c.execute(
        "INSERT INTO meeting_history (meeting_id, at, by_user, action, details) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![id, now, by, action, details.to_string()],
    )?;
    Ok(())
}

pub fn history(c: &Connection, id: i64) -> rusqlite::Result<Vec<Change>> {
    let mut stmt = c.prepare(
        "SELECT at, by_user, action, details FROM meeting_history WHERE meeting_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([id], |r| {
        let details: String = r.get(3)?;
        Ok(Change {
            at: r.get(0)?,
            by: r.get(1)?,
            action: r.get(2)?,
            details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
        })
    })?;
    rows.collect()
}

fn link_from_row(r: &Row<'_>) -> rusqlite::Result<LinkRow> {
    let role: String = r.get(3)?;
    Ok(LinkRow {
        id: r.get(0)?,
        meeting_id: r.get(1)?,
        unit_id: r.get(2)?,
        role: Role::parse(&role).unwrap_or(Role::Official),
        issued_at: r.get(4)?,
        issued_by: r.get(5)?,
        expires_at: r.get(6)?,
        revoked_at: r.get(7)?,
    })
}

const LINK_COLUMNS: &str =
    "id, meeting_id, unit_id, role, issued_at, issued_by, expires_at, revoked_at";

pub fn link(c: &Connection, id: i64) -> rusqlite::Result<Option<LinkRow>> {
    c.query_row(
        &format!("SELECT {LINK_COLUMNS} FROM join_links WHERE id = ?1"),
        [id],
        link_from_row,
    )
    .optional()
}

/// The meeting's links, active ones first, by unit.
pub fn links(c: &Connection, meeting: i64) -> rusqlite::Result<Vec<LinkRow>> {
    let mut stmt = c.prepare(&format!(
        "SELECT {LINK_COLUMNS} FROM join_links WHERE meeting_id = ?1
         ORDER BY revoked_at IS NOT NULL, role = 'official', unit_id, id DESC"
    ))?;
    let rows = stmt.query_map([meeting], link_from_row)?;
    rows.collect()
}

/// Issue a link for `unit` with `role`, revoking that unit's earlier active link of the role.
pub fn issue_link(
    c: &Connection,
    meeting: i64,
    unit: &str,
    role: Role,
    expires_at: i64,
    by: &str,
    now: i64,
) -> rusqlite::Result<LinkRow> {
    c.execute(
        "UPDATE join_links SET revoked_at = ?4, revoked_by = ?5
         WHERE meeting_id = ?1 AND unit_id = ?2 AND role = ?3 AND revoked_at IS NULL",
        params![meeting, unit, role.as_str(), now, by],
    )?;
    c.execute(
        "INSERT INTO join_links (meeting_id, unit_id, role, issued_at, issued_by, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![meeting, unit, role.as_str(), now, by, expires_at],
    )?;
    Ok(LinkRow {
        id: c.last_insert_rowid(),
        meeting_id: meeting,
        unit_id: unit.to_string(),
        role,
        issued_at: now,
        issued_by: by.to_string(),
        expires_at,
        revoked_at: None,
    })
}

/// Revoke one link (no-op when already revoked). Returns whether it changed.
pub fn revoke_link(c: &Connection, id: i64, by: &str, now: i64) -> rusqlite::Result<bool> {
    Ok(c.execute(
        "UPDATE join_links SET revoked_at = ?2, revoked_by = ?3 WHERE id = ?1 AND revoked_at IS NULL",
        params![id, now, by],
    )? > 0)
}

/// Revoke every active link of a meeting (cancellation). Returns how many.
pub fn revoke_all(c: &Connection, meeting: i64, by: &str, now: i64) -> rusqlite::Result<usize> {
    c.execute(
        "UPDATE join_links SET revoked_at = ?2, revoked_by = ?3 WHERE meeting_id = ?1 AND revoked_at IS NULL",
        params![meeting, now, by],
    )
}

/// Make the links match the invitations: every invited unit has an active official link,
/// the chair unit an active chair link, links of units no longer invited are revoked, and
/// (after a schedule change) links that would expire too early are re-issued.
/// Returns (issued, revoked) counts.
pub fn sync_links(
    c: &Connection,
    m: &Meeting,
    invited: &BTreeSet<String>,
    by: &str,
    now: i64,
) -> rusqlite::Result<(usize, usize)> {
    let expires = m.token_expiry();
    let active: Vec<LinkRow> = links(c, m.id)?
        .into_iter()
        .filter(|l| l.revoked_at.is_none())
        .collect();
    let (mut issued, mut revoked) = (0, 0);
    for l in &active {
        let wanted = match l.role {
            Role::Official => invited.contains(&l.unit_id),
            Role::Chair => l.unit_id == m.chair_unit,
        };
        if !wanted {
            revoke_link(c, l.id, by, now)?;
            revoked += 1;
        }
    }
    let mut want: Vec<(&str, Role)> = invited
        .iter()
        .map(|u| (u.as_str(), Role::Official))
        .collect();
    want.push((&m.chair_unit, Role::Chair));
    for (unit, role) in want {
        let current = active.iter().find(|l| l.unit_id == unit && l.role == role);
        match current {
            Some(l) if l.expires_at >= expires => {}
            _ => {
                issue_link(c, m.id, unit, role, expires, by, now)?;
                issued += 1;
            }
        }
    }
    Ok((issued, revoked))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::DEFAULT_DIRECTORY;

    fn dir() -> Directory {
        Directory::from_json(DEFAULT_DIRECTORY).unwrap()
    }

    pub(crate) fn form(dir: &Directory) -> MeetingForm {
        let dai_tu = dir.search("huyen dai tu", Some("district"), 1)[0]
            .id
            .clone();
        MeetingForm {
            title: "  Giao ban  ".into(),
            agenda: String::new(),
            start: 1_800_000_000_000,
            end: 1_800_000_000_000 + 2 * HOUR_MS,
            weekly_until: None,
            host_unit: dai_tu.clone(),
            chair_unit: dai_tu.clone(),
            chair_person: "Chủ tịch".into(),
            chair_user: None,
            scope: Scope {
                root: dai_tu,
                tiers: vec!["commune".into()],
                add: vec![],
                remove: vec![],
            },
            recorded: false,
            max_endpoints: None,
            class: "general".into(),
            acknowledge_conflicts: false,
        }
    }

    #[test]
    fn scope_takes_a_subtree_by_tier_plus_and_minus_units() {
        let d = dir();
        let mut f = form(&d);
        f.validate(&d, &Retention::default()).unwrap();
        assert_eq!(f.title, "Giao ban");
        let communes = d.subtree(&f.scope.root, &["commune".into()]).unwrap();
        let set = invited(&d, &f);
        // The communes, plus the district itself as host and chair.
        assert_eq!(set.len(), communes.len() + 1);
        f.scope.remove.push(communes[0].id.clone());
        f.scope.add.push("province:19-S01".into());
        let set = invited(&d, &f);
        assert!(!set.contains(&communes[0].id));
        assert!(set.contains("province:19-S01"));
        // The whole province: every tier.
        f.scope = Scope {
            root: "province:19".into(),
            tiers: vec![],
            add: vec![],
            remove: vec![],
        };
        assert_eq!(invited(&d, &f).len(), d.len());
    }

    #[test]
    fn forms_are_validated_field_by_field() {
        let d = dir();
        type Breaker = Box<dyn Fn(&mut MeetingForm)>;
        let cases: Vec<(&str, Breaker)> = vec![
            ("title", Box::new(|f| f.title = " ".into())),
            ("title", Box::new(|f| f.title = "x".repeat(201))),
            ("end", Box::new(|f| f.end = f.start)),
            ("end", Box::new(|f| f.end = f.start + 25 * HOUR_MS)),
            (
                "weekly_until",
                Box::new(|f| f.weekly_until = Some(f.start - 1)),
            ),
            (
                "host_unit",
                Box::new(|f| f.host_unit = "district:999999".into()),
            ),
            ("scope.root", Box::new(|f| f.scope.root = "19".into())),
            (
                "scope.tiers",
                Box::new(|f| f.scope.tiers = vec!["hamlet".into()]),
            ),
            (
                "scope",
                Box::new(|f| f.scope.add = vec!["commune:0".into()]),
            ),
            ("max_endpoints", Box::new(|f| f.max_endpoints = Some(1))),
            (
                "max_endpoints",
                Box::new(|f| f.max_endpoints = Some(MAX_ENDPOINTS_CAP + 1)),
            ),
            ("class", Box::new(|f| f.class = "secret".into())),
        ];
        for (field, break_it) in cases {
            let mut f = form(&d);
            break_it(&mut f);
            let err = f.validate(&d, &Retention::default()).unwrap_err();
            assert!(err.starts_with(field), "{field}: {err}");
        }
    }

    #[test]
    fn weekly_occurrences_stop_before_the_until_date_and_are_capped() {
        let occ = occurrences(0, HOUR_MS, Some(3 * WEEK_MS));
        assert_eq!(occ.len(), 3);
        assert_eq!(occ[2].start, 2 * WEEK_MS);
        assert_eq!(occurrences(0, HOUR_MS, None).len(), 1);
        assert_eq!(
            occurrences(0, HOUR_MS, Some(100 * 52 * WEEK_MS)).len(),
            MAX_OCCURRENCES
        );
    }
}
