//! Statistics for the province over a period: meetings held and their hours, attendance rate
//! per unit and per tier (units that often miss or drop out flagged), connection quality per
//! unit (median loss and round-trip time), and meetings marked for recording — from the
//! sessions and stays the rooms record, filtered by tier and subtree.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rusqlite::{Connection, params};
use serde::Serialize;

use crate::attendance::occurrence_of;
use crate::directory::Directory;
use crate::meetings::{self, Meeting};
use crate::protocol::UnitRef;

/// A unit invited at least this often is flagged when it attends less than half the time.
pub const FLAG_MIN_INVITATIONS: u32 = 2;
/// Attendance below this rate is flagged.
pub const FLAG_RATE: f64 = 0.5;
/// Dropping out in at least this share of the meetings attended is flagged.
pub const FLAG_DROP_RATE: f64 = 0.5;

/// One stay in a held meeting occurrence, as the statistics read it.
#[derive(Debug, Clone, PartialEq)]
pub struct StayRow {
    pub unit: String,
    pub joined_at: i64,
    pub left_at: Option<i64>,
    pub leave_reason: Option<String>,
    pub rtt_ms: Option<f64>,
    pub loss_pct: Option<f64>,
}

/// One occurrence of a meeting that took place (had a session) in the period.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    pub meeting_id: i64,
    pub recorded: bool,
    /// Sum of its sessions' durations.
    pub duration_ms: i64,
    pub invited: BTreeSet<String>,
    pub stays: Vec<StayRow>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UnitStats {
    pub unit: UnitRef,
    /// Held occurrences it was invited to, and attended.
    pub invited: u32,
    pub attended: u32,
    /// `attended / invited`, null when never invited.
    pub rate: Option<f64>,
    /// Occurrences in which it dropped out at least once.
    pub dropped_in: u32,
    pub drops: u32,
    pub minutes_present: i64,
    /// Medians over its stays' medians; null when nothing was measured.
    pub median_loss_pct: Option<f64>,
    pub median_rtt_ms: Option<f64>,
    /// `often_absent`, `often_drops`, or null.
    pub flag: Option<&'static str>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TierStats {
    pub tier: String,
    pub units: usize,
    pub invited: u32,
    pub attended: u32,
    pub rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statistics {
    pub from: i64,
    pub to: i64,
    /// Meetings with at least one held occurrence, and those occurrences.
    pub meetings_held: usize,
    pub occurrences_held: usize,
    pub hours: f64,
    /// Held occurrences of meetings marked "recorded".
    pub recorded_occurrences: usize,
    /// Bytes recorded in sessions started in the period (the archive's catalogue; the whole
    /// province, whatever the filters).
    pub recorded_bytes: Option<u64>,
    /// Over the units shown.
    pub invitations: u32,
    pub attendances: u32,
    pub rate: Option<f64>,
    pub tiers: Vec<TierStats>,
    /// The units shown, lowest attendance rate first (then by tree order).
    pub units: Vec<UnitStats>,
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.retain(|x| x.is_finite());
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn rate(attended: u32, invited: u32) -> Option<f64> {
    (invited > 0).then(|| f64::from(attended) / f64::from(invited))
}

fn dropped(reason: Option<&str>) -> bool {
    matches!(reason, Some("disconnected" | "failed" | "interrupted"))
}

/// Aggregate held occurrences for the units `shown` (in tree order). `now` closes open stays.
pub fn aggregate(
    held: &[Held],
    shown: &[UnitRef],
    tiers: &[String],
    from: i64,
    to: i64,
    now: i64,
) -> Statistics {
    #[derive(Default)]
    struct Acc {
        invited: u32,
        attended: u32,
        dropped_in: u32,
        drops: u32,
        present_ms: i64,
        losses: Vec<f64>,
        rtts: Vec<f64>,
    }
    let shown_ids: BTreeSet<&str> = shown.iter().map(|u| u.id.as_str()).collect();
    let mut acc: HashMap<&str, Acc> = HashMap::new();
    for h in held {
        let mut by_unit: BTreeMap<&str, Vec<&StayRow>> = BTreeMap::new();
        for s in &h.stays {
            by_unit.entry(s.unit.as_str()).or_default().push(s);
        }
        for id in h
            .invited
            .iter()
            .map(String::as_str)
            .filter(|id| shown_ids.contains(id))
        {
            let a = acc.entry(id).or_default();
            a.invited += 1;
            let Some(stays) = by_unit.get(id) else {
                continue;
            };
            a.attended += 1;
            let drops = stays
                .iter()
                .filter(|s| dropped(s.leave_reason.as_deref()))
                .count() as u32;
            a.drops += drops;
            a.dropped_in += u32::from(drops > 0);
            a.present_ms += stays
                .iter()
                .map(|s| s.left_at.unwrap_or(now).max(s.joined_at) - s.joined_at)
                .sum::<i64>();
            a.losses.extend(stays.iter().filter_map(|s| s.loss_pct));
            a.rtts.extend(stays.iter().filter_map(|s| s.rtt_ms));
        }
    }
    let mut units: Vec<UnitStats> = shown
        .iter()
        .map(|u| {
            let a = acc.remove(u.id.as_str()).unwrap_or_default();
            let r = rate(a.attended, a.invited);
            let flag = if a.invited >= FLAG_MIN_INVITATIONS && r.is_some_and(|r| r < FLAG_RATE) {
                Some("often_absent")
            } else if a.attended >= FLAG_MIN_INVITATIONS
                && f64::from(a.dropped_in) / f64::from(a.attended) >= FLAG_DROP_RATE
            {
                Some("often_drops")
            } else {
                None
            };
            UnitStats {
                unit: u.clone(),
                invited: a.invited,
                attended: a.attended,
                rate: r,
                dropped_in: a.dropped_in,
                drops: a.drops,
                minutes_present: a.present_ms / 60_000,
                median_loss_pct: median(a.losses),
                median_rtt_ms: median(a.rtts),
                flag,
            }
        })
        .filter(|u| u.invited > 0)
        .collect();
    // Lowest rate first; a stable sort keeps tree order among equals.
    units.sort_by(|a, b| a.rate.unwrap_or(1.0).total_cmp(&b.rate.unwrap_or(1.0)));
    let tier_stats = tiers
        .iter()
        .filter_map(|t| {
            let of: Vec<&UnitStats> = units.iter().filter(|u| &u.unit.tier == t).collect();
            if of.is_empty() {
                return None;
            }
            let invited = of.iter().map(|u| u.invited).sum();
            let attended = of.iter().map(|u| u.attended).sum();
            Some(TierStats {
                tier: t.clone(),
                units: of.len(),
                invited,
                attended,
                rate: rate(attended, invited),
            })
        })
        .collect();
    let invitations = units.iter().map(|u| u.invited).sum();
    let attendances = units.iter().map(|u| u.attended).sum();
    let meetings: BTreeSet<i64> = held.iter().map(|h| h.meeting_id).collect();
    Statistics {
        from,
        to,
        meetings_held: meetings.len(),
        occurrences_held: held.len(),
        hours: held.iter().map(|h| h.duration_ms).sum::<i64>() as f64 / 3_600_000.0,
        recorded_occurrences: held.iter().filter(|h| h.recorded).count(),
        recorded_bytes: None,
        invitations,
        attendances,
        rate: rate(attendances, invitations),
        tiers: tier_stats,
        units,
    }
}

/// Held occurrences with a session starting in `[from, to)`.
pub fn load_held(c: &Connection, from: i64, to: i64, now: i64) -> rusqlite::Result<Vec<Held>> {
    let mut stmt = c.prepare(
        "SELECT id, meeting_id, started_at, ended_at FROM sessions
         WHERE meeting_id IS NOT NULL AND started_at >= ?1 AND started_at < ?2 ORDER BY id",
    )?;
    let sessions: Vec<(i64, i64, i64, Option<i64>)> = stmt
        .query_map(params![from, to], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut meetings_by_id: HashMap<i64, Option<Meeting>> = HashMap::new();
    let mut held: BTreeMap<(i64, i64), Held> = BTreeMap::new();
    let mut stays = c.prepare(
        "SELECT unit_code, joined_at, left_at, leave_reason, rtt_ms, loss_pct
         FROM participations WHERE session_id = ?1",
    )?;
    for (session, meeting_id, started, ended) in sessions {
        let meeting = match meetings_by_id.get(&meeting_id) {
            Some(m) => m.clone(),
            None => {
                let m = meetings::get(c, meeting_id)?;
                meetings_by_id.insert(meeting_id, m.clone());
                m
            }
        };
        let Some(meeting) = meeting else {
            continue;
        };
        let occurrence = occurrence_of(&meeting, Some(started), now)
            .or_else(|| meeting.occurrence_at(started))
            .map_or(started, |o| o.start);
        let entry = match held.entry((meeting_id, occurrence)) {
            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::btree_map::Entry::Vacant(e) => e.insert(Held {
                meeting_id,
                recorded: meeting.recorded,
                duration_ms: 0,
                invited: meetings::invites(c, meeting_id)?.into_iter().collect(),
                stays: vec![],
            }),
        };
        entry.duration_ms += ended.unwrap_or(now).max(started) - started;
        for row in stays.query_map([session], |r| {
            Ok(StayRow {
                unit: r.get(0)?,
                joined_at: r.get(1)?,
                left_at: r.get(2)?,
                leave_reason: r.get(3)?,
                rtt_ms: r.get(4)?,
                loss_pct: r.get(5)?,
            })
        })? {
            entry.stays.push(row?);
        }
    }
    Ok(held.into_values().collect())
}

/// The units a statistics request shows: `root`'s subtree (every unit without one), kept to
/// `tier` when given.
pub fn shown_units(
    dir: &Directory,
    root: Option<&str>,
    tier: Option<&str>,
) -> Option<Vec<UnitRef>> {
    let tiers: Vec<String> = tier.map(|t| vec![t.to_string()]).unwrap_or_default();
    let units: Vec<UnitRef> = match root {
        Some(r) => dir
            .subtree(r, &tiers)?
            .into_iter()
            .map(UnitRef::from)
            .collect(),
        None => dir
            .units()
            .iter()
            .filter(|u| tiers.is_empty() || tiers.contains(&u.tier))
            .map(UnitRef::from)
            .collect(),
    };
    Some(units)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    fn unit(id: &str) -> UnitRef {
        let (tier, code) = id.split_once(':').unwrap();
        UnitRef {
            id: id.into(),
            code: code.into(),
            name: format!("Đơn vị {code}"),
            tier: tier.into(),
        }
    }

    fn stay(unit: &str, reason: &str, rtt: f64, loss: f64) -> StayRow {
        StayRow {
            unit: unit.into(),
            joined_at: 0,
            left_at: Some(H),
            leave_reason: Some(reason.into()),
            rtt_ms: Some(rtt),
            loss_pct: Some(loss),
        }
    }

    fn held(id: i64, invited: &[&str], stays: Vec<StayRow>) -> Held {
        Held {
            meeting_id: id,
            recorded: id % 2 == 0,
            duration_ms: 2 * H,
            invited: invited.iter().map(|s| s.to_string()).collect(),
            stays,
        }
    }

    #[test]
    fn rates_flags_and_quality_per_unit_and_tier() {
        let a = "commune:1";
        let b = "commune:2";
        let d = "district:9";
        let meetings = vec![
            held(
                1,
                &[a, b, d],
                vec![stay(a, "left", 40.0, 0.5), stay(d, "left", 20.0, 0.0)],
            ),
            held(
                2,
                &[a, b, d],
                vec![
                    stay(a, "disconnected", 200.0, 6.0),
                    stay(a, "left", 180.0, 4.0),
                ],
            ),
            held(
                2,
                &[a, b],
                vec![stay(a, "failed", 100.0, 2.0), stay(b, "left", 30.0, 0.1)],
            ),
        ];
        let shown = [unit(d), unit(a), unit(b)];
        let tiers = ["district".to_string(), "commune".to_string()];
        let s = aggregate(&meetings, &shown, &tiers, 0, 10 * H, 10 * H);
        assert_eq!((s.meetings_held, s.occurrences_held), (2, 3));
        assert_eq!(s.hours, 6.0);
        assert_eq!(s.recorded_occurrences, 2);
        let by = |id: &str| s.units.iter().find(|u| u.unit.id == id).unwrap();
        // A: 3 of 3, dropped in two of them.
        assert_eq!(
            (by(a).invited, by(a).attended, by(a).dropped_in, by(a).drops),
            (3, 3, 2, 2)
        );
        assert_eq!(by(a).flag, Some("often_drops"));
        assert_eq!(by(a).median_rtt_ms, Some(140.0), "40, 100, 180, 200");
        assert_eq!(by(a).median_loss_pct, Some(3.0), "0.5, 2, 4, 6");
        // B: 1 of 3 — often absent; D: 1 of 2 is exactly half, not flagged.
        assert_eq!((by(b).invited, by(b).attended), (3, 1));
        assert_eq!(by(b).flag, Some("often_absent"));
        assert_eq!(by(d).rate, Some(0.5));
        assert_eq!(by(d).flag, None);
        // Lowest rate first.
        assert_eq!(s.units[0].unit.id, b);
        let commune = s.tiers.iter().find(|t| t.tier == "commune").unwrap();
        assert_eq!(
            (commune.units, commune.invited, commune.attended),
            (2, 6, 4)
        );
        assert_eq!((s.invitations, s.attendances), (8, 5));
        assert_eq!(s.tiers[0].tier, "district", "in the directory's tier order");
    }

    #[test]
    fn units_outside_the_filter_and_never_invited_are_left_out() {
        let meetings = vec![held(1, &["commune:1", "commune:2"], vec![])];
        let s = aggregate(
            &meetings,
            &[unit("commune:1"), unit("commune:3")],
            &[],
            0,
            H,
            H,
        );
        assert_eq!(s.units.len(), 1);
        assert_eq!(s.units[0].unit.id, "commune:1");
        assert_eq!(s.units[0].rate, Some(0.0));
        assert_eq!(s.units[0].median_rtt_ms, None);
        assert_eq!(s.invitations, 1);
    }

    #[test]
    fn medians() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 3.0, 2.0]), Some(2.5));
        assert_eq!(median(vec![f64::NAN, 1.0]), Some(1.0));
    }
}
