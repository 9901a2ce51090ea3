//! The run's result: a readable table, and the JSON report (`--json FILE`).
//!
//! Media figures cover the measurement window only, and only pairs of endpoints that were
//! both connected for all of it (see [`crate::stats`]): a stream is *expected* at a receiver
//! when its sender is another endpoint of the same meeting and the hub's `slots` messages had
//! it forwarded to the receiver (active: a video slot with a layer) for the whole window; its
//! expected packet count is what the sender sent inside the window. Streams forwarded for
//! part of it only (switched in or out, paused) are counted apart, neither lost nor
//! unexpected; a stream received that the hub never assigned is unexpected.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::time::Instant;

use serde::Serialize;

use crate::endpoint::{EndpointPlan, EndpointStatus, Groups};
use crate::impair::LinkCounters;
use crate::payload::StreamKey;
use crate::stats::{Percentiles, new_histogram};

/// Durations in the JSON report are seconds (a float).
pub fn secs<S: serde::Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// The machine a run was measured on.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory_mb: u64,
    pub kernel: String,
}

impl Machine {
    /// This machine, from `/proc` (fields it cannot read stay empty).
    pub fn this() -> Machine {
        let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
        let cpuinfo = read("/proc/cpuinfo");
        let meminfo = read("/proc/meminfo");
        Machine {
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model: cpuinfo
                .lines()
                .find_map(|l| l.strip_prefix("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default(),
            memory_mb: meminfo
                .lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|kb| kb.parse::<u64>().ok())
                .map_or(0, |kb| kb / 1024),
            kernel: read("/proc/sys/kernel/osrelease").trim().to_string(),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub scenario: String,
    /// The tool's version, when the run started (Unix seconds) and on what machine.
    pub version: String,
    pub started_unix: u64,
    pub machine: Machine,
    /// What the reader must know to read the figures (e.g. who publishes video).
    pub notes: Vec<String>,
    pub endpoints_requested: u32,
    pub endpoints_connected: u32,
    /// How the endpoints ended: left (as told, or vanished as planned) or failed.
    pub endpoints_left: u32,
    pub endpoints_failed: u32,
    pub sessions: u32,
    /// From opening the websocket to media connected (ICE and DTLS done).
    pub join_ms: Percentiles,
    /// From opening the websocket to the hub's welcome (signalling alone).
    pub welcome_ms: Percentiles,
    /// Offers from the hub each endpoint answered (renegotiations), and keyframe requests the
    /// publishers received.
    pub offers_per_endpoint: Spread,
    pub keyframe_requests: u64,
    /// What the emulated bad links did, summed over the impaired endpoints (impaired only).
    pub links: Option<Links>,
    pub media: Media,
    pub latency_ms: Percentiles,
    pub server: Option<Server>,
    pub loadgen: Loadgen,
    pub window_s: f64,
    pub errors: Errors,
    /// The same figures per group of endpoints (e.g. clean and impaired links).
    pub groups: Vec<Group>,
    /// Per pair of groups, sender to receiver (when there is more than one group).
    pub paths: Vec<Path>,
    /// The hub's counters once every endpoint had gone.
    pub leftovers: Option<Leftovers>,
    /// The run's settings.
    pub config: serde_json::Value,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Media {
    /// (receiver, stream) pairs expected.
    pub streams: u64,
    /// Of which video.
    pub video_streams: u64,
    /// Expected pairs of which not one packet arrived.
    pub streams_missing: u64,
    /// Streams received that should not have been: another meeting's, the receiver's own, or
    /// one the hub never put in the receiver's slots.
    pub streams_unexpected: u64,
    /// (receiver, stream) pairs of the same meeting that were not forwarded throughout the
    /// window (not chosen for the receiver's slots, switched in or out, or paused because
    /// the link could not carry them): neither expected nor unexpected.
    pub streams_not_forwarded: u64,
    pub packets_sent: u64,
    pub packets_received: u64,
    pub packets_expected: u64,
    pub loss_pct: f64,
    /// Loss of audio and of video streams alone.
    pub audio_loss_pct: f64,
    pub video_loss_pct: f64,
    pub duplicates: u64,
    pub damaged: u64,
    /// Packets received without a tag (see [`crate::stats::Receiver::untagged`]).
    pub untagged: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Server {
    pub cpu_seconds: f64,
    /// Of one core.
    pub cpu_pct: f64,
    pub rss_mb_peak: f64,
    /// Resident memory before the first endpoint joined.
    pub rss_mb_baseline: f64,
    /// (peak − baseline) / endpoints connected.
    pub rss_mb_per_endpoint: f64,
    /// The hub's live heap at the end of the window, and (that − before the run) / endpoints
    /// connected, when the hub reports it (`cau_heap_bytes`).
    pub heap_mb: Option<f64>,
    pub heap_mb_per_endpoint: Option<f64>,
    /// RTP packets the hub received and forwarded, per second of the window.
    pub pps_in: f64,
    pub pps_out: f64,
    pub cpu_us_per_forwarded_packet: f64,
    /// Datagrams the hub dropped on arrival in the window because its media task was behind
    /// (`cau_sfu_datagrams_dropped_total`).
    pub datagrams_dropped: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Loadgen {
    pub cpu_pct: f64,
    pub rss_mb_peak: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Errors {
    pub count: u64,
    /// Errors of the same shape (equal but for their numbers), most frequent first.
    pub list: Vec<ErrorCount>,
    pub join_failures: u64,
}

/// One shape of error: its first occurrence and how often it happened.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct ErrorCount {
    pub error: String,
    pub count: u64,
}

/// An error's shape: its text with every number replaced by `#`, so that "message of 66502
/// bytes" and "message of 66457 bytes" count as one error.
fn shape(error: &str) -> String {
    let mut out = String::with_capacity(error.len());
    // Within a number, or within a word (where a digit is part of a name, as in "str0m").
    let (mut in_number, mut in_word) = (false, false);
    for c in error.chars() {
        if c.is_ascii_digit() && !in_word {
            if !in_number {
                out.push('#');
            }
            in_number = true;
        } else {
            out.push(c);
            in_word = c.is_alphanumeric() && !in_number || (in_word && c.is_ascii_digit());
            in_number = false;
        }
    }
    out
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Group {
    pub name: String,
    pub endpoints: u32,
    pub connected: u32,
    /// What its members received, from everyone.
    pub media: Media,
    pub latency_ms: Percentiles,
}

/// The mean and the largest of a count over endpoints.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Spread {
    pub mean: f64,
    pub max: u64,
}

/// The emulated links' counters, summed: towards the hub and from it.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Links {
    pub uplink: LinkCounters,
    pub downlink: LinkCounters,
}

/// What the members of one group received from the members of another (or the same): in the
/// impaired scenario, this separates a bad link's own losses from what it does to others.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Path {
    pub from: String,
    pub to: String,
    pub media: Media,
    pub latency_ms: Percentiles,
}

/// What the run left in the hub once every endpoint had gone: counts above the hub's level
/// before the run (a running hub may hold others' meetings).
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Leftovers {
    pub sessions: f64,
    pub endpoints: f64,
    pub tracks: f64,
    pub rooms: f64,
    pub participants: f64,
    pub websockets: f64,
    pub rss_mb: Option<f64>,
    /// The hub's live heap (`cau_heap_bytes`) before the first endpoint joined and after the
    /// last one left, in MB, when the hub reports it.
    pub heap_mb_before: Option<f64>,
    pub heap_mb_after: Option<f64>,
}

impl Leftovers {
    pub fn is_clean(&self) -> bool {
        [
            self.sessions,
            self.endpoints,
            self.tracks,
            self.rooms,
            self.participants,
            self.websockets,
        ]
        .iter()
        .all(|v| *v == 0.0)
    }

    /// How much more heap the hub held after the run than before it, in MB.
    pub fn heap_growth_mb(&self) -> Option<f64> {
        Some(self.heap_mb_after? - self.heap_mb_before?)
    }
}

/// Media and delay figures for the receivers in `members` (indexes into `all`), counting the
/// streams of the senders whose group `from_group` accepts.
pub fn media_of(
    all: &[(EndpointPlan, &EndpointStatus)],
    groups: &Groups,
    members: &[usize],
    from_group: impl Fn(usize) -> bool,
    window: (Instant, Instant),
) -> (Media, Percentiles) {
    let from_sender = |plan: &EndpointPlan| from_group(groups.of(plan.index));
    let (from, to) = window;
    let steady = |i: usize| all[i].1.connected_throughout(from, to);
    let mut media = Media::default();
    let mut delay = new_histogram();
    // (expected, received) of audio and of video.
    let mut by_kind = [(0u64, 0u64); 2];
    // Packets each steady sender sent in the window, per stream.
    let mut sent_by_meeting: BTreeMap<i64, Vec<(StreamKey, u64)>> = BTreeMap::new();
    for (i, (plan, status)) in all.iter().enumerate() {
        if !steady(i) || !from_sender(plan) {
            continue;
        }
        media.packets_sent += status.sent.in_window.values().sum::<u64>();
        for (stream, n) in &status.sent.in_window {
            sent_by_meeting
                .entry(plan.link.meeting)
                .or_default()
                .push((*stream, *n));
        }
    }
    let meeting_of: HashMap<u32, i64> =
        all.iter().map(|(p, _)| (p.index, p.link.meeting)).collect();
    let participant_of: HashMap<u32, &str> = all
        .iter()
        .filter_map(|(p, s)| Some((p.index, s.participant_id.as_deref()?)))
        .collect();
    for &i in members {
        let (plan, status) = &all[i];
        media.damaged += status.rx.damaged;
        media.untagged += status.rx.untagged;
        media.streams_unexpected += status
            .rx
            .streams
            .keys()
            .filter(|k| from_group(groups.of(k.sender)))
            .filter(|k| {
                k.sender == plan.index
                    || meeting_of.get(&k.sender) != Some(&plan.link.meeting)
                    || participant_of
                        .get(&k.sender)
                        .is_some_and(|p| !status.ever_assigned(p, k.kind.is_video()))
            })
            .count() as u64;
        if !steady(i) {
            continue;
        }
        for (stream, n) in sent_by_meeting
            .get(&plan.link.meeting)
            .into_iter()
            .flatten()
        {
            if stream.sender == plan.index {
                continue;
            }
            let forwarded = participant_of
                .get(&stream.sender)
                .is_some_and(|p| status.assigned_throughout(p, stream.kind, from, to));
            if !forwarded {
                media.streams_not_forwarded += 1;
                continue;
            }
            media.streams += 1;
            media.video_streams += u64::from(stream.kind.is_video());
            media.packets_expected += n;
            let kind = &mut by_kind[usize::from(stream.kind.is_video())];
            kind.0 += n;
            match status.rx.streams.get(stream) {
                Some(rx) => {
                    let got = rx.in_window.min(*n);
                    media.packets_received += got;
                    kind.1 += got;
                    media.duplicates += rx.duplicates;
                }
                None => media.streams_missing += 1,
            }
        }
        status.rx.delays_from(&from_group, &mut delay);
    }
    let loss = |(expected, received): (u64, u64)| {
        if expected == 0 {
            0.0
        } else {
            100.0 * (1.0 - received as f64 / expected as f64)
        }
    };
    media.loss_pct = loss((media.packets_expected, media.packets_received));
    media.audio_loss_pct = loss(by_kind[0]);
    media.video_loss_pct = loss(by_kind[1]);
    (media, Percentiles::of_us(&delay))
}

/// Signalling figures: welcome times, offers answered per endpoint, keyframe requests, and
/// the emulated links' counters (when any endpoint had one).
pub fn signalling_and_links(
    all: &[(EndpointPlan, &EndpointStatus)],
) -> (Percentiles, Spread, u64, Option<Links>) {
    let mut welcome = new_histogram();
    let mut offers = Spread::default();
    let mut keyframe_requests = 0;
    let mut links: Option<Links> = None;
    for (plan, s) in all {
        if let Some(w) = s.welcomed_after {
            welcome.saturating_record(w.as_micros() as u64);
        }
        offers.mean += f64::from(s.offers);
        offers.max = offers.max.max(u64::from(s.offers));
        keyframe_requests += u64::from(s.keyframe_requests);
        if plan.impairment.is_some() {
            let l = links.get_or_insert_with(Links::default);
            l.uplink.add(&s.uplink);
            l.downlink.add(&s.downlink);
        }
    }
    offers.mean /= all.len().max(1) as f64;
    (
        Percentiles::of_us(&welcome),
        offers,
        keyframe_requests,
        links,
    )
}

/// Join time percentiles and the error list.
pub fn joins_and_errors(all: &[(EndpointPlan, &EndpointStatus)]) -> (Percentiles, Errors, u32) {
    let mut joins = new_histogram();
    let mut errors = Errors::default();
    // By shape: (first occurrence, count).
    let mut distinct: BTreeMap<String, ErrorCount> = BTreeMap::new();
    let mut note = |e: &str| {
        distinct
            .entry(shape(e))
            .or_insert_with(|| ErrorCount {
                error: e.to_string(),
                count: 0,
            })
            .count += 1;
    };
    let mut connected = 0;
    for (_, s) in all {
        if let Some(d) = s.connected_after {
            connected += 1;
            joins.saturating_record(d.as_micros() as u64);
        } else {
            errors.join_failures += 1;
        }
        for e in &s.errors {
            errors.count += 1;
            note(e);
        }
        if s.connected_after.is_none() && s.errors.is_empty() {
            errors.count += 1;
            note(&format!("never connected (ended as {:?})", s.phase));
        }
    }
    let mut list: Vec<ErrorCount> = distinct.into_values().collect();
    list.sort_by(|a, b| b.count.cmp(&a.count).then(a.error.cmp(&b.error)));
    errors.list = list;
    (Percentiles::of_us(&joins), errors, connected)
}

fn thousands(n: f64) -> String {
    let s = format!("{:.0}", n);
    let (sign, digits) = s.split_at(if s.starts_with('-') { 1 } else { 0 });
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    format!("{sign}{out}")
}

impl Report {
    /// The table printed at the end of a run.
    pub fn table(&self) -> String {
        let mut t = String::new();
        let _ = writeln!(
            t,
            "cau-load {} — {} endpoints requested, {} connected ({} left, {} failed), {} session(s), window {:.1} s",
            self.scenario,
            self.endpoints_requested,
            self.endpoints_connected,
            self.endpoints_left,
            self.endpoints_failed,
            self.sessions,
            self.window_s
        );
        for n in &self.notes {
            let _ = writeln!(t, "  note: {n}");
        }
        let _ = writeln!(
            t,
            "\n  {:<22} {:>9} {:>9} {:>9} {:>9}",
            "", "p50", "p95", "p99", "max"
        );
        for (name, p) in [
            ("welcome (ms)", self.welcome_ms),
            ("join (ms)", self.join_ms),
            ("one-way delay (ms)", self.latency_ms),
        ] {
            let _ = writeln!(
                t,
                "  {:<22} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
                name, p.p50, p.p95, p.p99, p.max
            );
        }
        let _ = writeln!(
            t,
            "  offers    {:.1} per endpoint answered (at most {}); {} keyframe requests to publishers",
            self.offers_per_endpoint.mean, self.offers_per_endpoint.max, self.keyframe_requests
        );
        let m = &self.media;
        let _ = writeln!(
            t,
            "\n  media     {} streams forwarded throughout ({} missing, {} unexpected; {} not forwarded throughout); packets sent {}, expected {}, received {}; loss {:.3} % (audio {:.3} %, video {:.3} %); {} duplicates, {} damaged, {} untagged",
            thousands(m.streams as f64),
            m.streams_missing,
            m.streams_unexpected,
            m.streams_not_forwarded,
            thousands(m.packets_sent as f64),
            thousands(m.packets_expected as f64),
            thousands(m.packets_received as f64),
            m.loss_pct,
            m.audio_loss_pct,
            m.video_loss_pct,
            m.duplicates,
            m.damaged,
            m.untagged
        );
        match &self.server {
            Some(s) => {
                let _ = writeln!(
                    t,
                    "  hub       CPU {:.1} % of a core ({:.1} s); {:.2} µs per forwarded packet; in {} pps, out {} pps",
                    s.cpu_pct,
                    s.cpu_seconds,
                    s.cpu_us_per_forwarded_packet,
                    thousands(s.pps_in),
                    thousands(s.pps_out)
                );
                if s.datagrams_dropped > 0.0 {
                    let _ = writeln!(
                        t,
                        "            DROPPED {} datagrams on arrival: its media task was behind",
                        thousands(s.datagrams_dropped)
                    );
                }
                let _ = writeln!(
                    t,
                    "            RSS peak {:.1} MB (baseline {:.1} MB; {:.2} MB per endpoint){}",
                    s.rss_mb_peak,
                    s.rss_mb_baseline,
                    s.rss_mb_per_endpoint,
                    match (s.heap_mb, s.heap_mb_per_endpoint) {
                        (Some(h), Some(e)) => format!("; heap {h:.1} MB ({e:.2} MB per endpoint)"),
                        _ => String::new(),
                    }
                );
            }
            None => {
                let _ = writeln!(t, "  hub       not sampled (no process id)");
            }
        }
        let _ = writeln!(
            t,
            "  load gen  CPU {:.1} % of a core; RSS peak {:.1} MB",
            self.loadgen.cpu_pct, self.loadgen.rss_mb_peak
        );
        if self.groups.len() > 1 {
            let w = self
                .groups
                .iter()
                .map(|g| g.name.chars().count())
                .max()
                .unwrap_or(5)
                .max(5);
            let _ = writeln!(
                t,
                "\n  {:<w$}  {:>9} {:>9} {:>9} {:>11} {:>8}",
                "group", "endpoints", "connected", "loss %", "delay p99", "missing"
            );
            for g in &self.groups {
                if g.media.streams == 0 {
                    // None of them was connected for the whole window (churn's comers).
                    let _ = writeln!(
                        t,
                        "  {:<w$}  {:>9} {:>9} {:>9} {:>11} {:>8}",
                        g.name, g.endpoints, g.connected, "-", "-", "-"
                    );
                    continue;
                }
                let _ = writeln!(
                    t,
                    "  {:<w$}  {:>9} {:>9} {:>9.3} {:>9.1}ms {:>8}",
                    g.name,
                    g.endpoints,
                    g.connected,
                    g.media.loss_pct,
                    g.latency_ms.p99,
                    g.media.streams_missing
                );
            }
            let w = self
                .paths
                .iter()
                .map(|p| p.from.chars().count() + p.to.chars().count() + 3)
                .max()
                .unwrap_or(4)
                .max(4);
            let _ = writeln!(
                t,
                "\n  {:<w$}  {:>9} {:>9} {:>9} {:>11} {:>8}",
                "sender → receiver", "streams", "expected", "loss %", "delay p99", "missing"
            );
            for p in &self.paths {
                let _ = writeln!(
                    t,
                    "  {:<w$}  {:>9} {:>9} {:>9.3} {:>9.1}ms {:>8}",
                    format!("{} → {}", p.from, p.to),
                    p.media.streams,
                    p.media.packets_expected,
                    p.media.loss_pct,
                    p.latency_ms.p99,
                    p.media.streams_missing
                );
            }
        }
        if let Some(l) = &self.links {
            let _ = writeln!(t);
            for (way, c) in [("uplinks", l.uplink), ("downlinks", l.downlink)] {
                let _ = writeln!(
                    t,
                    "  {way:<9} of the impaired: {} datagrams offered, {} delivered; lost {}, over the cap {}, in outages {}; {} held back (reordered)",
                    thousands(c.offered as f64),
                    thousands(c.delivered as f64),
                    thousands(c.lost as f64),
                    thousands(c.queue_drops as f64),
                    thousands(c.outage_drops as f64),
                    thousands(c.reordered as f64)
                );
            }
        }
        if let Some(l) = &self.leftovers {
            let _ = writeln!(
                t,
                "\n  after     sessions {}, endpoints {}, tracks {}, rooms {}, participants {}, websockets {}{}{}{}",
                l.sessions,
                l.endpoints,
                l.tracks,
                l.rooms,
                l.participants,
                l.websockets,
                l.rss_mb
                    .map(|r| format!(", hub RSS {r:.1} MB"))
                    .unwrap_or_default(),
                match (l.heap_mb_before, l.heap_mb_after) {
                    (Some(b), Some(a)) => format!(", heap {a:.2} MB (before the run {b:.2} MB)"),
                    _ => String::new(),
                },
                if l.is_clean() {
                    " — nothing left"
                } else {
                    " — LEFT BEHIND"
                }
            );
        }
        if self.errors.list.is_empty() {
            let _ = writeln!(t, "\n  errors    none");
        } else {
            let _ = writeln!(
                t,
                "\n  errors    {} ({} endpoints never connected)",
                self.errors.count, self.errors.join_failures
            );
            for e in self.errors.list.iter().take(20) {
                let _ = writeln!(t, "    {:>5} × {}", e.count, e.error);
            }
            if self.errors.list.len() > 20 {
                let _ = writeln!(
                    t,
                    "    … and {} more kinds (see the JSON report)",
                    self.errors.list.len() - 20
                );
            }
        }
        t
    }

    /// Whether every endpoint connected and none failed.
    pub fn all_stayed(&self) -> bool {
        self.endpoints_connected == self.endpoints_requested && self.endpoints_failed == 0
    }

    /// The province targets of the load-test issue, each with whether it was met.
    pub fn province_targets(&self) -> Vec<(String, bool, String)> {
        let mut out = vec![];
        out.push((
            "all endpoints connected, none failed".into(),
            self.all_stayed(),
            format!(
                "{}/{} connected, {} failed",
                self.endpoints_connected, self.endpoints_requested, self.endpoints_failed
            ),
        ));
        let over = |value: f64, limit: f64| {
            if value <= limit {
                format!("{value:.2}")
            } else {
                format!("{value:.2}, {:.1}× the target", value / limit)
            }
        };
        out.push((
            "join p99 < 3000 ms".into(),
            self.join_ms.p99 < 3000.0,
            over(self.join_ms.p99, 3000.0),
        ));
        out.push((
            "loss < 0.5 %".into(),
            self.media.loss_pct < 0.5,
            over(self.media.loss_pct, 0.5),
        ));
        out.push((
            "one-way delay p99 < 50 ms".into(),
            self.latency_ms.p99 < 50.0,
            over(self.latency_ms.p99, 50.0),
        ));
        if let Some(s) = &self.server {
            out.push((
                "hub CPU ≤ 5 µs per forwarded packet".into(),
                s.cpu_us_per_forwarded_packet <= 5.0,
                over(s.cpu_us_per_forwarded_packet, 5.0),
            ));
            out.push((
                "hub memory < 2 MB per endpoint".into(),
                s.rss_mb_per_endpoint < 2.0,
                over(s.rss_mb_per_endpoint, 2.0),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1_000.0), "1,000");
        assert_eq!(thousands(3_112_500.4), "3,112,500");
    }

    #[test]
    fn errors_of_one_shape_are_counted_together() {
        assert_eq!(
            shape("hub error too_large: message of 66502 bytes exceeds the limit of 65536"),
            "hub error too_large: message of # bytes exceeds the limit of #"
        );
        assert_eq!(
            shape("str0m: DTLS error: timeout"),
            "str0m: DTLS error: timeout"
        );
    }

    #[test]
    fn missed_targets_say_by_how_much() {
        let r = Report {
            endpoints_requested: 250,
            endpoints_connected: 250,
            join_ms: Percentiles {
                p99: 6_000.0,
                ..Percentiles::default()
            },
            server: Some(Server {
                cpu_us_per_forwarded_packet: 4.0,
                rss_mb_per_endpoint: 1.5,
                ..Server::default()
            }),
            ..Report::default()
        };
        let targets = r.province_targets();
        let find = |name: &str| targets.iter().find(|t| t.0.starts_with(name)).unwrap();
        assert!(find("all endpoints").1);
        let failed = Report {
            endpoints_failed: 3,
            ..r.clone()
        };
        let all = failed.province_targets();
        assert!(!all[0].1, "connected, then failed, is not a met target");
        assert_eq!(all[0].2, "250/250 connected, 3 failed");
        let join = find("join p99");
        assert!(!join.1);
        assert_eq!(join.2, "6000.00, 2.0× the target");
        assert!(find("hub CPU").1);
        assert!(find("hub memory").1);
    }
}
