//! How long recordings are kept: per meeting class.
//!
//! Every meeting has a class (`meetings.class`); each class keeps its recordings a number of
//! years, or permanently. As in the province's archival practice (the retention periods of
//! the Home Affairs ministry's lists), a period is counted in whole calendar years after the
//! year the meeting was held: a session of 2026 kept 10 years may be destroyed from
//! 1 January 2037 (Viet Nam time). A recording takes its class and that date when it starts;
//! an archivist can classify it again later, which moves the date.
//!
//! Nothing is ever deleted by the hub: once the date has passed the recording is listed as
//! expired, and only an archivist who confirms it deletes it (`DELETE /api/recordings/{id}`).
//!
//! The classes are the defaults below; `--retention CLASS=YEARS` (or `permanent`) changes a
//! class's period, for a province whose own list of retention periods differs.

use serde::Serialize;

use crate::ics::{vn_year, vn_year_start};

/// A meeting class.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MeetingClass {
    pub id: &'static str,
    /// Vietnamese name.
    pub name: &'static str,
    pub name_en: &'static str,
    /// Years its recordings are kept; `None`: permanently.
    pub years: Option<u32>,
}

/// The class of a meeting whose form names none.
pub const DEFAULT_CLASS: &str = "general";

/// The longest period a class may have, in years.
pub const MAX_YEARS: u32 = 100;

/// The classes as the hub ships them.
pub fn default_classes() -> Vec<MeetingClass> {
    vec![
        MeetingClass {
            id: "review",
            name: "Hội nghị tổng kết, sơ kết",
            name_en: "Annual and interim reviews",
            years: None,
        },
        MeetingClass {
            id: "thematic",
            name: "Hội nghị, cuộc họp chuyên đề",
            name_en: "Thematic meetings and conferences",
            years: Some(20),
        },
        MeetingClass {
            id: DEFAULT_CLASS,
            name: "Họp thường kỳ, giao ban",
            name_en: "Regular and briefing meetings",
            years: Some(10),
        },
        MeetingClass {
            id: "training",
            name: "Tập huấn, hướng dẫn nghiệp vụ",
            name_en: "Training and guidance",
            years: Some(5),
        },
    ]
}

/// The hub's classes, with any periods the configuration changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Retention {
    pub classes: Vec<MeetingClass>,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            classes: default_classes(),
        }
    }
}

impl Retention {
    /// The defaults changed by `overrides`, each `CLASS=YEARS` or `CLASS=permanent`. An
    /// unknown class or a period that is not 1 to [`MAX_YEARS`] years is an error that
    /// names it.
    pub fn with_overrides(overrides: &[String]) -> Result<Retention, String> {
        let mut r = Retention::default();
        for o in overrides {
            let (id, period) = o
                .split_once('=')
                .ok_or_else(|| format!("retention: {o:?} is not CLASS=YEARS"))?;
            let known = r.ids().join(", ");
            let class = r
                .classes
                .iter_mut()
                .find(|c| c.id == id.trim())
                .ok_or_else(|| format!("retention: no meeting class {id:?} (known: {known})"))?;
            class.years = match period.trim() {
                "permanent" => None,
                n => match n.parse::<u32>() {
                    Ok(y) if (1..=MAX_YEARS).contains(&y) => Some(y),
                    _ => {
                        return Err(format!(
                            "retention: {id}={n}: a number of years from 1 to {MAX_YEARS}, or permanent"
                        ));
                    }
                },
            };
        }
        Ok(r)
    }

    pub fn ids(&self) -> Vec<&'static str> {
        self.classes.iter().map(|c| c.id).collect()
    }

    pub fn get(&self, id: &str) -> Option<&MeetingClass> {
        self.classes.iter().find(|c| c.id == id)
    }

    /// When a recording of class `id` that started at `started_at` may be destroyed
    /// (ms): 1 January, Viet Nam time, after the period's last whole year. `None`: kept
    /// permanently — also for a class this hub does not know, which is never let expire.
    pub fn keep_until(&self, id: &str, started_at: i64) -> Option<i64> {
        let years = self.get(id)?.years?;
        Some(vn_year_start(vn_year(started_at) + i64::from(years) + 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ics::vn_day_start;

    #[test]
    fn periods_count_whole_years_after_the_year_of_the_meeting() {
        let r = Retention::default();
        let nov_2026 = vn_day_start("2026-11-30").unwrap() + 15 * 3_600_000;
        assert_eq!(
            r.keep_until("general", nov_2026),
            vn_day_start("2037-01-01")
        );
        assert_eq!(
            r.keep_until("training", nov_2026),
            vn_day_start("2032-01-01")
        );
        assert_eq!(r.keep_until("review", nov_2026), None);
        assert_eq!(r.keep_until("no-such-class", nov_2026), None);
        // The year is Viet Nam's: 00:30 on 1 January there is 2027 although UTC still says
        // 31 December; an hour earlier is 2026.
        let new_year_vn = vn_day_start("2027-01-01").unwrap() + 30 * 60_000;
        assert_eq!(
            r.keep_until("general", new_year_vn),
            vn_day_start("2038-01-01")
        );
        assert_eq!(
            r.keep_until("general", new_year_vn - 3_600_000),
            vn_day_start("2037-01-01")
        );
    }

    #[test]
    fn overrides_change_periods_and_name_what_is_wrong() {
        let r = Retention::with_overrides(&["general=15".into(), "review = 50".into()]).unwrap();
        assert_eq!(r.get("general").unwrap().years, Some(15));
        assert_eq!(r.get("review").unwrap().years, Some(50));
        let r = Retention::with_overrides(&["training=permanent".into()]).unwrap();
        assert_eq!(r.get("training").unwrap().years, None);
        for (bad, says) in [
            ("general", "is not CLASS=YEARS"),
            ("meetings=10", "no meeting class \"meetings\""),
            ("general=0", "general=0: a number of years from 1 to 100"),
            ("general=101", "from 1 to 100"),
            ("general=ten", "general=ten"),
        ] {
            let e = Retention::with_overrides(&[bad.into()]).unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
            assert!(e.starts_with("retention: "), "{e}");
        }
    }
}
