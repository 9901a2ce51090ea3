//! The hub's state for operators (`GET /api/status`, the web client's `status.html`): the live
//! sessions with their connected units, the load, the archive, and warnings computed from what
//! is observed — never a placeholder.
//!
//! The archive's figures are gathered here once for this report and for `/metrics`
//! ([`archive_state`]).

use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::db::DbError;
use crate::rooms::{Hub, LiveSession};

/// A participant losing at least this fraction of its media on the way in is warned about
/// (the web client's `netquality.js` calls it "poor" from here).
pub const HIGH_LOSS: f64 = 0.08;

/// Free space under this many times the reserve is warned about before recording stops.
pub const LOW_DISK_FACTOR: u64 = 2;

/// Recordings interrupted or damaged this recently are warned about.
pub const TROUBLED_WINDOW_MS: i64 = 24 * 3_600_000;

/// Rates are computed over at least this long (a shorter gap keeps the previous rates).
pub const MIN_RATE_INTERVAL: Duration = Duration::from_secs(1);

/// The archive as the metrics and the status page report it.
#[derive(Debug, Clone, PartialEq)]
pub struct ArchiveState {
    /// Recordings in the catalogue for each state of [`crate::archive`], every state listed.
    pub by_state: Vec<(&'static str, i64)>,
    /// Bytes of the recordings not destroyed ([`crate::archive::bytes_kept`]).
    pub bytes: i64,
    /// The archive's disk, when the hub records (`None`: it has nowhere to).
    pub disk: Option<DiskState>,
    /// Recordings stopped before their session ended since the start: for low disk, by a failure.
    pub stopped_disk_low: u64,
    pub stopped_failed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiskState {
    /// Bytes left on the archive's disk; `None` when it cannot be read.
    pub free: Option<u64>,
    /// Below this, recording stops (`--disk-reserve-mb`).
    pub reserve: u64,
}

/// Every state a recording can be in, in the order they are reported.
pub const RECORDING_STATES: [&str; 6] = [
    crate::archive::RECORDING,
    crate::archive::FINALISING,
    crate::archive::READY,
    crate::archive::INTERRUPTED,
    crate::archive::DAMAGED,
    crate::archive::DELETED,
];

/// Read the catalogue's counts, the archive's disk and the recordings stopped early.
pub async fn archive_state(hub: &Hub) -> Result<ArchiveState, DbError> {
    let (counted, bytes) = hub
        .db()
        .call(|c| {
            Ok((
                crate::archive::count_by_state(c)?,
                crate::archive::bytes_kept(c)?,
            ))
        })
        .await?;
    let by_state = RECORDING_STATES
        .iter()
        .map(|s| {
            let n = counted.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
            (*s, n)
        })
        .collect();
    let disk = match hub.recordings_dir() {
        Some(root) => {
            let root = root.to_path_buf();
            let free = tokio::task::spawn_blocking(move || {
                root.ancestors().find_map(recorder::disk::available_bytes)
            })
            .await
            .ok()
            .flatten();
            Some(DiskState {
                free,
                reserve: hub.disk_reserve(),
            })
        }
        None => None,
    };
    let (stopped_disk_low, stopped_failed) = hub.recordings_stopped();
    Ok(ArchiveState {
        by_state,
        bytes,
        disk,
        stopped_disk_low,
        stopped_failed,
    })
}

/// The resident memory of this process (`VmRSS` of `/proc/self/status`), where there is one.
pub fn resident_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = text.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kb: u64 = line.trim().strip_suffix("kB")?.trim().parse().ok()?;
    Some(kb * 1024)
}

/// The media plane's running totals that rates are made of.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub packets_received: u64,
    pub packets_forwarded: u64,
    pub bytes_received: u64,
    pub bytes_sent: u64,
    pub datagrams_dropped: u64,
}

impl From<&sfu::SfuStats> for Counters {
    fn from(s: &sfu::SfuStats) -> Self {
        Counters {
            packets_received: s.packets_received,
            packets_forwarded: s.packets_forwarded,
            bytes_received: s.bytes_received,
            bytes_sent: s.bytes_sent,
            datagrams_dropped: s.datagrams_dropped,
        }
    }
}

/// Per second, over `interval_secs` between two status requests.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rates {
    pub interval_secs: f64,
    pub packets_received: f64,
    pub packets_forwarded: f64,
    pub bytes_received: f64,
    pub bytes_sent: f64,
    pub datagrams_dropped: f64,
}

/// Turns the totals of successive status requests into rates: each request is compared with
/// the previous one at least [`MIN_RATE_INTERVAL`] before it (one page polling every 5 s gets
/// 5-second rates; a second page polling too only shortens the interval). The first request
/// has none.
#[derive(Debug, Default)]
pub struct RateSampler {
    state: Mutex<SamplerState>,
}

#[derive(Debug, Default)]
struct SamplerState {
    previous: Option<(Instant, Counters)>,
    rates: Option<Rates>,
}

impl RateSampler {
    /// Take the totals `now`; the rates since the previous sample (or the last rates, when it
    /// is too recent).
    pub fn sample(&self, now: Instant, counters: Counters) -> Option<Rates> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match s.previous {
            Some((at, _)) if now.saturating_duration_since(at) < MIN_RATE_INTERVAL => s.rates,
            Some((at, before)) => {
                let secs = now.saturating_duration_since(at).as_secs_f64();
                let per_sec = |a: u64, b: u64| b.saturating_sub(a) as f64 / secs;
                let rates = Rates {
                    interval_secs: secs,
                    packets_received: per_sec(before.packets_received, counters.packets_received),
                    packets_forwarded: per_sec(
                        before.packets_forwarded,
                        counters.packets_forwarded,
                    ),
                    bytes_received: per_sec(before.bytes_received, counters.bytes_received),
                    bytes_sent: per_sec(before.bytes_sent, counters.bytes_sent),
                    datagrams_dropped: per_sec(
                        before.datagrams_dropped,
                        counters.datagrams_dropped,
                    ),
                };
                s.previous = Some((now, counters));
                s.rates = Some(rates);
                Some(rates)
            }
            None => {
                s.previous = Some((now, counters));
                None
            }
        }
    }
}

/// How urgent a warning is: `critical` (something is failing now), `warning` (it will, or it
/// hurts someone), `notice` (a deployment choice worth a look).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Critical,
    Warning,
    Notice,
}

/// A warning: its severity and what it is about (`code` and its details).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Warning {
    pub severity: Severity,
    #[serde(flatten)]
    pub kind: WarningKind,
}

/// What a warning is about; `code` names it on the wire.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum WarningKind {
    /// The media plane does not answer: no call has media.
    MediaStopped,
    /// The media plane dropped datagrams on arrival (its queue was full) since the last look.
    MediaOverloaded { datagrams_dropped_per_sec: f64 },
    /// The archive's disk has less than twice the reserve left (`critical` below the reserve:
    /// recording has stopped or will not start).
    LowDisk { free_bytes: u64, reserve_bytes: u64 },
    /// Live sessions whose recording stopped before the session ended.
    RecordingStopped { sessions: Vec<StoppedRecording> },
    /// `--recorder remote`, and no `cau-recorder` follows the feed; `waiting`: recorded
    /// sessions waiting for one.
    RecorderNotConnected { waiting: usize },
    /// Recordings interrupted (by a crash) or damaged (their recorder failed) in the last 24 h.
    RecordingsInterrupted {
        recordings: Vec<crate::archive::Troubled>,
    },
    /// Connected endpoints losing at least [`HIGH_LOSS`] of their media on the way in.
    HighLoss { endpoints: Vec<LossyEndpoint> },
    /// Pages are served over plain HTTP on an address other hosts reach: browsers there give
    /// no camera or microphone.
    TlsOff { listen: String },
    /// No TURN server is configured: an endpoint whose UDP and the media TCP port are both
    /// blocked cannot connect.
    NoTurn,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoppedRecording {
    pub meeting_id: i64,
    pub session_id: i64,
    pub title: String,
    /// `disk_low` or `failed`.
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LossyEndpoint {
    pub meeting_id: i64,
    pub participant_id: String,
    pub unit: crate::protocol::UnitRef,
    pub loss: f64,
}

/// What the warnings are computed from.
#[derive(Debug, Clone)]
pub struct Observed<'a> {
    /// The media plane answered.
    pub media_up: bool,
    pub rates: Option<Rates>,
    pub archive: &'a ArchiveState,
    pub sessions: &'a [LiveSession],
    /// With `--recorder remote`: recorders following the feed, sessions waiting for one.
    pub remote_recorder: Option<(usize, usize)>,
    pub troubled: &'a [crate::archive::Troubled],
    /// Pages reach browsers over HTTPS (the hub's own TLS or a proxy's).
    pub https: bool,
    /// Where the hub listens (unknown to a hub embedded in a test).
    pub listen: Option<SocketAddr>,
    pub turn: bool,
}

/// The warnings `o` calls for, most severe first.
pub fn warnings(o: &Observed<'_>) -> Vec<Warning> {
    let mut out = Vec::new();
    let mut warn = |severity, kind| out.push(Warning { severity, kind });
    if !o.media_up {
        warn(Severity::Critical, WarningKind::MediaStopped);
    }
    if let Some(r) = o.rates
        && r.datagrams_dropped > 0.0
    {
        warn(
            Severity::Warning,
            WarningKind::MediaOverloaded {
                datagrams_dropped_per_sec: r.datagrams_dropped,
            },
        );
    }
    if let Some(DiskState {
        free: Some(free),
        reserve,
    }) = o.archive.disk
        && free < reserve.saturating_mul(LOW_DISK_FACTOR)
    {
        let severity = if free < reserve {
            Severity::Critical
        } else {
            Severity::Warning
        };
        warn(
            severity,
            WarningKind::LowDisk {
                free_bytes: free,
                reserve_bytes: reserve,
            },
        );
    }
    let stopped: Vec<StoppedRecording> = o
        .sessions
        .iter()
        .filter_map(|s| {
            let r = s.recording.as_ref()?;
            (r.state == crate::protocol::RecordingStatus::Stopped).then(|| StoppedRecording {
                meeting_id: s.meeting.id,
                session_id: s.session_id,
                title: s.meeting.title.clone(),
                reason: r.reason.clone(),
            })
        })
        .collect();
    if !stopped.is_empty() {
        warn(
            Severity::Critical,
            WarningKind::RecordingStopped { sessions: stopped },
        );
    }
    if let Some((0, waiting)) = o.remote_recorder {
        let severity = if waiting > 0 {
            Severity::Critical
        } else {
            Severity::Warning
        };
        warn(severity, WarningKind::RecorderNotConnected { waiting });
    }
    if !o.troubled.is_empty() {
        warn(
            Severity::Warning,
            WarningKind::RecordingsInterrupted {
                recordings: o.troubled.to_vec(),
            },
        );
    }
    let lossy: Vec<LossyEndpoint> = o
        .sessions
        .iter()
        .flat_map(|s| {
            s.endpoints.iter().filter_map(|e| {
                let loss = e.loss.filter(|l| *l >= HIGH_LOSS)?;
                Some(LossyEndpoint {
                    meeting_id: s.meeting.id,
                    participant_id: e.participant_id.clone(),
                    unit: e.unit.clone(),
                    loss,
                })
            })
        })
        .collect();
    if !lossy.is_empty() {
        warn(
            Severity::Warning,
            WarningKind::HighLoss { endpoints: lossy },
        );
    }
    if let Some(listen) = o.listen
        && !o.https
        && !listen.ip().is_loopback()
    {
        warn(
            Severity::Warning,
            WarningKind::TlsOff {
                listen: listen.to_string(),
            },
        );
    }
    if !o.turn {
        warn(Severity::Notice, WarningKind::NoTurn);
    }
    out.sort_by_key(|w| w.severity);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{MeetingRef, RecordingState, RecordingStatus, Role, UnitRef};
    use crate::rooms::LiveEndpoint;

    fn archive(free: Option<u64>, reserve: u64) -> ArchiveState {
        ArchiveState {
            by_state: vec![],
            bytes: 0,
            disk: Some(DiskState { free, reserve }),
            stopped_disk_low: 0,
            stopped_failed: 0,
        }
    }

    fn unit(id: &str) -> UnitRef {
        UnitRef {
            id: id.into(),
            code: id.split(':').nth(1).unwrap_or_default().into(),
            name: id.into(),
            tier: id.split(':').next().unwrap_or_default().into(),
        }
    }

    fn endpoint(id: &str, loss: Option<f64>) -> LiveEndpoint {
        LiveEndpoint {
            participant_id: id.into(),
            name: "Người dự".into(),
            unit: unit("commune:5431"),
            role: Role::Official,
            joined_at: 0,
            tracks: 2,
            audio_muted: false,
            video_muted: false,
            rtt_ms: Some(40.0),
            loss,
            jitter_ms: None,
            bitrate_kbps: None,
        }
    }

    fn session(recording: Option<RecordingState>, endpoints: Vec<LiveEndpoint>) -> LiveSession {
        LiveSession {
            session_id: 7,
            meeting: MeetingRef {
                id: 3,
                title: "Giao ban".into(),
                start: 0,
                end: 1,
                chair_person: "Chủ trì".into(),
            },
            room: unit("province:19"),
            started_at: 0,
            units_invited: 2,
            units_connected: 1,
            locked: false,
            recording,
            endpoints,
        }
    }

    fn observed<'a>(archive: &'a ArchiveState, sessions: &'a [LiveSession]) -> Observed<'a> {
        Observed {
            media_up: true,
            rates: None,
            archive,
            sessions,
            remote_recorder: None,
            troubled: &[],
            https: true,
            listen: Some("0.0.0.0:443".parse().unwrap()),
            turn: true,
        }
    }

    fn codes(w: &[Warning]) -> Vec<(String, Severity)> {
        w.iter()
            .map(|w| {
                let v = serde_json::to_value(w).unwrap();
                (v["code"].as_str().unwrap().to_string(), w.severity)
            })
            .collect()
    }

    #[test]
    fn a_healthy_hub_has_no_warning() {
        let a = archive(Some(10_000), 1_000);
        assert!(warnings(&observed(&a, &[])).is_empty());
    }

    #[test]
    fn low_disk_under_twice_the_reserve_and_critical_under_it() {
        let a = archive(Some(1_999), 1_000);
        let w = warnings(&observed(&a, &[]));
        assert_eq!(codes(&w), [("low_disk".into(), Severity::Warning)]);
        assert_eq!(
            serde_json::to_value(&w[0]).unwrap(),
            serde_json::json!({"severity": "warning", "code": "low_disk",
                "free_bytes": 1_999, "reserve_bytes": 1_000})
        );
        let a = archive(Some(999), 1_000);
        assert_eq!(
            codes(&warnings(&observed(&a, &[]))),
            [("low_disk".into(), Severity::Critical)]
        );
        // Exactly twice is enough; an unreadable disk says nothing.
        for a in [archive(Some(2_000), 1_000), archive(None, 1_000)] {
            assert!(warnings(&observed(&a, &[])).is_empty());
        }
    }

    #[test]
    fn stopped_recordings_lossy_endpoints_and_the_deployment() {
        let a = archive(Some(10_000), 1_000);
        let sessions = [session(
            Some(RecordingState {
                state: RecordingStatus::Stopped,
                reason: Some("disk_low".into()),
            }),
            vec![endpoint("e1", Some(0.079)), endpoint("e2", Some(0.12))],
        )];
        let troubled = [crate::archive::Troubled {
            session_id: 5,
            meeting_id: 2,
            title: "Họp cũ".into(),
            state: "interrupted".into(),
            started_at: 0,
            ended_at: Some(1),
        }];
        let o = Observed {
            remote_recorder: Some((0, 1)),
            troubled: &troubled,
            https: false,
            listen: Some("0.0.0.0:8080".parse().unwrap()),
            turn: false,
            rates: Some(Rates {
                interval_secs: 5.0,
                packets_received: 0.0,
                packets_forwarded: 0.0,
                bytes_received: 0.0,
                bytes_sent: 0.0,
                datagrams_dropped: 0.4,
            }),
            media_up: false,
            ..observed(&a, &sessions)
        };
        let w = warnings(&o);
        assert_eq!(
            codes(&w),
            [
                ("media_stopped".into(), Severity::Critical),
                ("recording_stopped".into(), Severity::Critical),
                ("recorder_not_connected".into(), Severity::Critical),
                ("media_overloaded".into(), Severity::Warning),
                ("recordings_interrupted".into(), Severity::Warning),
                ("high_loss".into(), Severity::Warning),
                ("tls_off".into(), Severity::Warning),
                ("no_turn".into(), Severity::Notice),
            ]
        );
        let high = serde_json::to_value(&w[5]).unwrap();
        assert_eq!(high["endpoints"].as_array().unwrap().len(), 1, "{high}");
        assert_eq!(high["endpoints"][0]["participant_id"], "e2");
        let stopped = serde_json::to_value(&w[1]).unwrap();
        assert_eq!(stopped["sessions"][0]["reason"], "disk_low");
        // HTTPS, or a loopback address, is no TLS warning; a connected recorder is fine.
        for (https, listen) in [(true, "0.0.0.0:8080"), (false, "127.0.0.1:8080")] {
            let o = Observed {
                https,
                listen: Some(listen.parse().unwrap()),
                remote_recorder: Some((1, 0)),
                ..observed(&a, &[])
            };
            assert!(warnings(&o).is_empty(), "{https} {listen}");
        }
    }

    #[test]
    fn rates_between_samples_at_least_a_second_apart() {
        let s = RateSampler::default();
        let t0 = Instant::now();
        let c = |n: u64| Counters {
            packets_received: n,
            packets_forwarded: 2 * n,
            bytes_received: 100 * n,
            bytes_sent: 200 * n,
            datagrams_dropped: 0,
        };
        assert_eq!(s.sample(t0, c(0)), None, "the first sample has no rates");
        let r = s.sample(t0 + Duration::from_secs(5), c(500)).unwrap();
        assert_eq!(r.interval_secs, 5.0);
        assert_eq!((r.packets_received, r.packets_forwarded), (100.0, 200.0));
        assert_eq!((r.bytes_received, r.bytes_sent), (10_000.0, 20_000.0));
        // Too soon: the same rates again, the sample not taken.
        let again = s.sample(t0 + Duration::from_millis(5_500), c(10_000));
        assert_eq!(again, Some(r));
        let r = s.sample(t0 + Duration::from_secs(7), c(700)).unwrap();
        assert_eq!(r.packets_received, 100.0);
        assert!(resident_bytes().is_some_and(|b| b > 0), "Linux has VmRSS");
    }
}
