//! Running a planned set of endpoints against a hub, and measuring it.
//!
//! A run: sample the hub at rest; start the endpoints over the ramp (and, for churn, keep
//! starting short-lived ones); wait until every endpoint connected or failed; let things
//! settle; measure over the window (hub CPU, memory and packet counters, the load generator's
//! own CPU); wait a grace period for packets in flight; stop everyone; check what the hub
//! still holds; build the [`Report`].

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use crate::endpoint::{Endpoint, EndpointPlan, EndpointStatus, Phase, RunContext, lock};
use crate::hub::Hub;
use crate::procstat::{ProcReader, Sample, cpu_pct};
use crate::report::{self, Group, Leftovers, Loadgen, Machine, Path, Report, Server};

/// How long every endpoint has to connect after the ramp.
const JOIN_LIMIT: Duration = Duration::from_secs(30);
/// How long an endpoint has to leave once told to.
const STOP_LIMIT: Duration = Duration::from_secs(15);
/// How long the hub has to forget everyone after the last endpoint went.
const CLEANUP_LIMIT: Duration = Duration::from_secs(20);

/// Timing of a run.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Timing {
    /// Endpoints start evenly over this.
    #[serde(serialize_with = "report::secs")]
    pub ramp: Duration,
    /// After everyone is in, before measuring.
    #[serde(serialize_with = "report::secs")]
    pub settle: Duration,
    /// The measurement window.
    #[serde(serialize_with = "report::secs")]
    pub duration: Duration,
    /// After the window, for packets in flight.
    #[serde(serialize_with = "report::secs")]
    pub grace: Duration,
}

/// Endpoints that come and go during the window (the churn scenario): each plan with when it
/// arrives, counted from the start of the window, in order of arrival.
#[derive(Debug, Clone, Default)]
pub struct Churn {
    pub arrivals: Vec<(Duration, EndpointPlan)>,
}

/// What a run needs besides its endpoints.
#[derive(Debug)]
pub struct RunSpec {
    pub scenario: String,
    pub notes: Vec<String>,
    pub timing: Timing,
    pub sessions: u32,
    pub config: serde_json::Value,
}

struct HubSampler {
    proc: Option<ProcReader>,
    peak_rss: u64,
}

impl HubSampler {
    fn sample(&mut self) -> Option<Sample> {
        let s = self.proc.as_ref()?.sample()?;
        self.peak_rss = self.peak_rss.max(s.rss);
        Some(s)
    }
}

fn started_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Memory figures are in MiB (written "MB" in the report, as `top` does).
const MIB: f64 = 1024.0 * 1024.0;

fn mb(bytes: u64) -> f64 {
    bytes as f64 / MIB
}

/// Run `plans` (and `churn`, if any) against `hub`.
pub async fn run(
    hub: &Hub,
    ctx: Arc<RunContext>,
    spec: RunSpec,
    plans: Vec<EndpointPlan>,
    churn: Option<Churn>,
) -> Report {
    let (stop_tx, stop) = watch::channel(false);
    let mut sampler = HubSampler {
        proc: hub.pid.map(ProcReader::for_pid),
        peak_rss: 0,
    };
    let me = ProcReader::for_self();
    let hub_rest = sampler.sample();
    let metrics_rest = hub.metrics().await.ok();
    let heap_rest = metrics_rest.as_ref().and_then(|m| m.get(HEAP).copied());
    let timing = spec.timing;

    // Ramp: endpoint i starts at ramp × i / n.
    let t0 = Instant::now();
    let n = plans.len().max(1) as u32;
    let mut endpoints = Vec::new();
    for (i, plan) in plans.into_iter().enumerate() {
        let at = t0 + timing.ramp.mul_f64(i as f64 / f64::from(n));
        tokio::time::sleep_until(at.into()).await;
        endpoints.push(Endpoint::spawn(plan, ctx.clone(), stop.clone()));
    }
    let deadline = Instant::now() + JOIN_LIMIT;
    while Instant::now() < deadline
        && endpoints
            .iter()
            .any(|e| matches!(e.phase(), Phase::Joining | Phase::Welcomed))
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(timing.settle).await;

    // The window.
    let w0 = Instant::now();
    let w1 = w0 + timing.duration;
    ctx.window.set(ctx.clock.us(w0), ctx.clock.us(w1));
    let hub_start = sampler.sample();
    let metrics_start = hub.metrics().await.ok();
    let me_start = me.sample();
    let mut arrivals = churn.unwrap_or_default().arrivals.into_iter().peekable();
    let mut next_sample = w0;
    while Instant::now() < w1 {
        let now = Instant::now();
        if now >= next_sample {
            sampler.sample();
            next_sample = now + Duration::from_secs(1);
        }
        while let Some((_, plan)) = arrivals.next_if(|(at, _)| w0 + *at <= now) {
            endpoints.push(Endpoint::spawn(plan, ctx.clone(), stop.clone()));
        }
        let next_arrival = arrivals.peek().map_or(w1, |(at, _)| w0 + *at);
        let wake = next_sample.min(next_arrival).min(w1);
        tokio::time::sleep_until(wake.max(now + Duration::from_millis(5)).into()).await;
    }
    // Arrivals planned past the window (there should be none) are not started.
    let hub_end = sampler.sample();
    let metrics_end = hub.metrics().await.ok();
    let heap_end = metrics_end.as_ref().and_then(|m| m.get(HEAP).copied());
    let me_end = me.sample();
    tokio::time::sleep(timing.grace).await;

    // Everyone leaves; then the hub must hold nothing of them.
    let requested = endpoints.len();
    let _ = stop_tx.send(true);
    let mut finished = vec![];
    for e in endpoints {
        let plan = e.plan.clone();
        let status = e.status.clone();
        let abort = e.abort_handle();
        let status = match tokio::time::timeout(STOP_LIMIT, e.finished()).await {
            Ok(s) => s,
            Err(_) => {
                abort.abort();
                lock(&status).fail(format!(
                    "did not stop within {} s of being told",
                    STOP_LIMIT.as_secs()
                ));
                status
            }
        };
        finished.push((plan, status));
    }
    let leftovers = wait_for_cleanup(hub, &mut sampler, metrics_rest.as_ref()).await;

    // The report.
    let guards: Vec<_> = finished.iter().map(|(_, s)| lock(s)).collect();
    let all: Vec<(EndpointPlan, &EndpointStatus)> = finished
        .iter()
        .zip(guards.iter())
        .map(|((p, _), g)| (p.clone(), &**g))
        .collect();
    let everyone: Vec<usize> = (0..all.len()).collect();
    let groups = &ctx.groups;
    let window = (w0, w1);
    let (media, latency) = report::media_of(&all, groups, &everyone, |_| true, window);
    let (join_ms, errors, connected) = report::joins_and_errors(&all);
    let (welcome_ms, offers_per_endpoint, keyframe_requests, links) =
        report::signalling_and_links(&all);
    let members_of = |g: usize| -> Vec<usize> {
        everyone
            .iter()
            .copied()
            .filter(|i| groups.of(all[*i].0.index) == g)
            .collect()
    };
    let mut group_reports = vec![];
    let mut paths = vec![];
    for (g, name) in groups.names.iter().enumerate() {
        let members = members_of(g);
        let (media, latency_ms) = report::media_of(&all, groups, &members, |_| true, window);
        group_reports.push(Group {
            name: name.clone(),
            endpoints: members.len() as u32,
            connected: members
                .iter()
                .filter(|i| all[**i].1.connected_at.is_some())
                .count() as u32,
            media,
            latency_ms,
        });
    }
    if groups.names.len() > 1 {
        for (from, from_name) in groups.names.iter().enumerate() {
            for (to, to_name) in groups.names.iter().enumerate() {
                let (media, latency_ms) =
                    report::media_of(&all, groups, &members_of(to), |g| g == from, window);
                if media.streams > 0 {
                    paths.push(Path {
                        from: from_name.clone(),
                        to: to_name.clone(),
                        media,
                        latency_ms,
                    });
                }
            }
        }
    }
    let window_s = timing.duration.as_secs_f64();
    let server = match (hub_rest, hub_start, hub_end) {
        (Some(rest), Some(a), Some(b)) => {
            let counter = |name: &str| -> f64 {
                match (&metrics_start, &metrics_end) {
                    (Some(s), Some(e)) => {
                        e.get(name).copied().unwrap_or(0.0) - s.get(name).copied().unwrap_or(0.0)
                    }
                    _ => 0.0,
                }
            };
            let forwarded = counter("cau_sfu_packets_forwarded_total");
            let received = counter("cau_sfu_packets_received_total");
            let cpu = b.cpu.saturating_sub(a.cpu).as_secs_f64();
            let peak = sampler.peak_rss.max(b.rss);
            Some(Server {
                cpu_seconds: cpu,
                cpu_pct: cpu_pct(&a, &b),
                rss_mb_peak: mb(peak),
                rss_mb_baseline: mb(rest.rss),
                rss_mb_per_endpoint: mb(peak.saturating_sub(rest.rss))
                    / f64::from(connected.max(1)),
                heap_mb: heap_end.map(|h| h / MIB),
                heap_mb_per_endpoint: heap_end
                    .zip(heap_rest)
                    .map(|(end, rest)| (end - rest).max(0.0) / MIB / f64::from(connected.max(1))),
                pps_in: received / window_s,
                pps_out: forwarded / window_s,
                datagrams_dropped: counter("cau_sfu_datagrams_dropped_total"),
                cpu_us_per_forwarded_packet: if forwarded > 0.0 {
                    cpu * 1e6 / forwarded
                } else {
                    0.0
                },
            })
        }
        _ => None,
    };
    let loadgen = match (me_start, me_end) {
        (Some(a), Some(b)) => Loadgen {
            cpu_pct: cpu_pct(&a, &b),
            rss_mb_peak: mb(b.rss_peak),
        },
        _ => Loadgen::default(),
    };
    Report {
        scenario: spec.scenario,
        version: env!("CARGO_PKG_VERSION").to_string(),
        started_unix: started_unix(),
        machine: Machine::this(),
        notes: spec.notes,
        endpoints_requested: requested as u32,
        endpoints_connected: connected,
        endpoints_left: all.iter().filter(|(_, s)| s.phase == Phase::Left).count() as u32,
        endpoints_failed: all.iter().filter(|(_, s)| s.phase == Phase::Failed).count() as u32,
        sessions: spec.sessions,
        join_ms,
        welcome_ms,
        offers_per_endpoint,
        keyframe_requests,
        links,
        media,
        latency_ms: latency,
        server,
        loadgen,
        window_s,
        errors,
        groups: group_reports,
        paths,
        leftovers,
        config: spec.config,
    }
}

/// The hub's live heap in `/metrics` (reported by the `cau` binary).
const HEAP: &str = "cau_heap_bytes";

/// Poll `/metrics` until the hub holds no more sessions, endpoints, tracks, rooms,
/// participants or websockets than it did before the run (none, for a hub the tool started;
/// a running hub may have others in it), then read its heap.
async fn wait_for_cleanup(
    hub: &Hub,
    sampler: &mut HubSampler,
    rest: Option<&HashMap<String, f64>>,
) -> Option<Leftovers> {
    let rest = rest?;
    let end = Instant::now() + CLEANUP_LIMIT;
    let heap_mb = |m: &HashMap<String, f64>| m.get(HEAP).map(|b| *b / MIB);
    loop {
        let m = hub.metrics().await.ok()?;
        // What the run left: above the level at rest (NaN when the hub does not say).
        let left_of = |k: &str| match (m.get(k), rest.get(k)) {
            (Some(now), Some(before)) => (now - before).max(0.0),
            _ => f64::NAN,
        };
        let left = Leftovers {
            sessions: left_of("cau_sfu_sessions"),
            endpoints: left_of("cau_sfu_endpoints"),
            tracks: left_of("cau_sfu_tracks"),
            rooms: left_of("cau_rooms"),
            participants: left_of("cau_participants"),
            websockets: left_of("cau_websockets"),
            rss_mb: sampler.sample().map(|s| mb(s.rss)),
            heap_mb_before: heap_mb(rest),
            heap_mb_after: heap_mb(&m),
        };
        if left.is_clean() {
            // Tasks still unwinding may hold a little more for a moment: read it again.
            tokio::time::sleep(Duration::from_millis(500)).await;
            let again = hub.metrics().await.ok()?;
            return Some(Leftovers {
                heap_mb_after: heap_mb(&again),
                ..left
            });
        }
        if Instant::now() > end {
            return Some(left);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
