//! iCalendar (RFC 5545) invitations: one event per meeting, with a weekly `RRULE` when it
//! recurs. Times are written in UTC; calendars show them in the reader's zone.

use crate::meetings::{Meeting, MeetingState, occurrences};

/// One event to write.
#[derive(Debug)]
pub struct Event<'a> {
    pub meeting: &'a Meeting,
    /// The host's name, for LOCATION.
    pub host_name: &'a str,
    /// The reader's own join link, when known.
    pub join_url: Option<&'a str>,
}

/// A whole calendar of `events`.
pub fn calendar(name: &str, host: &str, events: &[Event<'_>], now_ms: i64) -> String {
    let mut out = String::new();
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, "PRODID:-//Cau//Hoi nghi truyen hinh//VI");
    line(&mut out, "CALSCALE:GREGORIAN");
    line(&mut out, "METHOD:PUBLISH");
    line(&mut out, &format!("X-WR-CALNAME:{}", escape(name)));
    for e in events {
        let m = e.meeting;
        line(&mut out, "BEGIN:VEVENT");
        line(&mut out, &format!("UID:meeting-{}@{}", m.id, escape(host)));
        line(&mut out, &format!("DTSTAMP:{}", utc(now_ms)));
        line(&mut out, &format!("DTSTART:{}", utc(m.start)));
        line(&mut out, &format!("DTEND:{}", utc(m.end)));
        if m.weekly_until.is_some() {
            let all = occurrences(m.start, m.end, m.weekly_until);
            line(&mut out, &format!("RRULE:FREQ=WEEKLY;COUNT={}", all.len()));
        }
        line(&mut out, &format!("SUMMARY:{}", escape(&m.title)));
        line(&mut out, &format!("LOCATION:{}", escape(e.host_name)));
        let mut description = m.agenda.clone();
        if !m.chair_person.is_empty() {
            description = format!("Chủ trì: {}\n{description}", m.chair_person);
        }
        if let Some(url) = e.join_url {
            description = format!("{description}\n\nĐường dẫn tham gia: {url}");
            line(&mut out, &format!("URL:{}", escape(url)));
        }
        line(
            &mut out,
            &format!("DESCRIPTION:{}", escape(description.trim())),
        );
        let status = match m.state {
            MeetingState::Cancelled => "CANCELLED",
            _ => "CONFIRMED",
        };
        line(&mut out, &format!("STATUS:{status}"));
        line(
            &mut out,
            &format!("SEQUENCE:{}", (m.updated_at - m.created_at).max(0) / 1000),
        );
        line(&mut out, "END:VEVENT");
    }
    line(&mut out, "END:VCALENDAR");
    out
}

/// Append a content line, folded at 75 octets (RFC 5545 §3.1) without splitting a character.
fn line(out: &mut String, text: &str) {
    let mut width = 0;
    for c in text.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

/// Escape TEXT values (RFC 5545 §3.3.11).
fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            ';' => s.push_str("\\;"),
            ',' => s.push_str("\\,"),
            '\n' => s.push_str("\\n"),
            '\r' => {}
            c => s.push(c),
        }
    }
    s
}

/// `YYYYMMDDTHHMMSSZ` for milliseconds since the epoch (proleptic Gregorian, UTC).
pub fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Viet Nam time (UTC+7, no daylight saving) as ISO 8601 with its offset,
/// `YYYY-MM-DDTHH:MM:SS+07:00`, for milliseconds since the epoch: what exports for people
/// (spreadsheets of attendance) show.
pub fn vn_time(ms: i64) -> String {
    const OFFSET_SECS: i64 = 7 * 3600;
    let secs = ms.div_euclid(1000) + OFFSET_SECS;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}+07:00",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Milliseconds at 00:00 in Viet Nam (UTC+7) of a `YYYY-MM-DD` day; `None` for anything
/// else, an impossible date (`2026-02-30`) included.
pub fn vn_day_start(day: &str) -> Option<i64> {
    let mut parts = day.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    if !(1970..=9999).contains(&y) {
        return None;
    }
    let days = days_from_civil(y, m, d);
    (civil_from_days(days) == (y, m, d)).then(|| days * 86_400_000 - 7 * 3_600_000)
}

/// The Viet Nam calendar year an instant falls in.
pub fn vn_year(ms: i64) -> i64 {
    let days = (ms.div_euclid(1000) + 7 * 3600).div_euclid(86_400);
    civil_from_days(days).0
}

/// Milliseconds at 00:00 on 1 January of `year` in Viet Nam.
pub fn vn_year_start(year: i64) -> i64 {
    days_from_civil(year, 1, 1) * 86_400_000 - 7 * 3_600_000
}

/// Howard Hinnant's civil-to-days algorithm (the inverse of [`civil_from_days`]); an
/// out-of-range month or day comes out as some other date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9).rem_euclid(12);
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meetings::{HOUR_MS, Scope, WEEK_MS};

    #[test]
    fn days_start_at_midnight_in_viet_nam() {
        // 2026-11-30 00:00 +07:00 = 2026-11-29 17:00 UTC.
        assert_eq!(vn_day_start("2026-11-30"), Some(1_795_971_600_000));
        assert_eq!(vn_day_start("1970-01-01"), Some(-7 * 3_600_000));
        assert_eq!(vn_day_start("2026-13-01"), None);
        assert_eq!(vn_day_start("2026-02-30"), None, "no such day");
        assert_eq!(
            vn_day_start("2024-02-29"),
            Some(1_709_139_600_000),
            "a leap day"
        );
        assert_eq!(vn_day_start("yesterday"), None);
        // The inverse of the date shown in exports.
        let ms = vn_day_start("2026-12-01").unwrap();
        assert_eq!(vn_time(ms), "2026-12-01T00:00:00+07:00");
    }

    #[test]
    fn dates_are_utc_basic_format() {
        assert_eq!(utc(0), "19700101T000000Z");
        // 2025-12-01 02:00:00 UTC (09:00 in Hà Nội).
        assert_eq!(utc(1_764_554_400_000), "20251201T020000Z");
        assert_eq!(utc(951_782_400_000), "20000229T000000Z");
    }

    #[test]
    fn a_weekly_meeting_has_a_folded_escaped_event_with_an_rrule() {
        let m = Meeting {
            id: 4,
            title: "Giao ban; tuần, thứ Hai".into(),
            agenda: "1. Báo cáo\n2. Thảo luận".into(),
            start: 0,
            end: HOUR_MS,
            weekly_until: Some(3 * WEEK_MS),
            host_unit: "province:19".into(),
            chair_unit: "province:19".into(),
            chair_person: "Chủ tịch".into(),
            chair_user: None,
            scope: Scope {
                root: "province:19".into(),
                tiers: vec![],
                add: vec![],
                remove: vec![],
            },
            recorded: false,
            max_endpoints: None,
            class: "general".into(),
            state: MeetingState::Planned,
            invited_count: 1,
            created_by: "lan".into(),
            created_at: 0,
            updated_by: "lan".into(),
            updated_at: 0,
            occurrences: vec![],
        };
        let long_url = format!(
            "https://cau.example/meeting.html?meeting=4&token=v1.{}",
            "x".repeat(120)
        );
        let ics = calendar(
            "Tỉnh Thái Nguyên",
            "cau.example",
            &[Event {
                meeting: &m,
                host_name: "Tỉnh Thái Nguyên",
                join_url: Some(&long_url),
            }],
            0,
        );
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\n"));
        assert!(ics.contains("RRULE:FREQ=WEEKLY;COUNT=3\r\n"));
        assert!(ics.contains("SUMMARY:Giao ban\\; tuần\\, thứ Hai\r\n"));
        assert!(ics.contains("UID:meeting-4@cau.example\r\n"));
        for l in ics.split("\r\n") {
            assert!(l.len() <= 75, "line longer than 75 octets: {l}");
        }
        // Unfolding gives back the URL.
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains(&long_url));
    }
}
