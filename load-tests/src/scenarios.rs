//! The scenarios: who joins which meeting, who publishes video, who is behind a bad link,
//! who comes and goes. Each plans meetings through the hub's API (or takes given links),
//! builds the endpoints' plans and hands them to [`crate::run`].

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use signaling::protocol::ReceiveMode;

use crate::clip::Clip;
use crate::endpoint::{EndpointPlan, Groups, JoinLink, RunContext};
use crate::hub::{DirectoryView, Hub, HubError, PlannedMeeting};
use crate::impair::Impairment;
use crate::media::{AudioConfig, TalkerPattern, VideoConfig};
use crate::payload::Clock;
use crate::report::Report;
use crate::run::{self, Churn, RunSpec, Timing};
use crate::stats::Window;

/// What every scenario shares.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Common {
    pub timing: Timing,
    /// Endpoints speaking at a time, and how long each group speaks.
    pub talkers: u32,
    #[serde(serialize_with = "crate::report::secs")]
    pub talk_turn: Duration,
    pub audio: AudioConfig,
    pub video: VideoConfig,
    /// Endpoints with their camera on in each session (its chair first); `None`: all.
    pub video_publishers: Option<u32>,
    /// What every endpoint asks the hub to send it (`receive.mode`).
    pub receive: ReceiveMode,
    pub bind_ip: IpAddr,
    pub seed: u64,
    /// A real clip every endpoint replays instead of synthetic media (`--clip DIR`).
    #[serde(skip)]
    pub clip: Option<Arc<Clip>>,
}

/// Join links to use instead of planning meetings (`--links FILE`): endpoint `i` takes link
/// `i mod n`; the first is treated as the chair's.
#[derive(Debug, Clone)]
pub struct GivenLinks(pub Vec<JoinLink>);

/// What the endpoints of a run share; `plans` are all of them (churn's comers too).
fn context<'a>(
    hub: &Hub,
    common: &Common,
    plans: impl IntoIterator<Item = &'a EndpointPlan>,
) -> Arc<RunContext> {
    let groups = Groups::of_plans(plans);
    let endpoints = groups.endpoints();
    Arc::new(RunContext {
        ws_url: hub.ws_url(),
        bind_ip: common.bind_ip,
        clock: Clock::new(Instant::now()),
        window: Window::new(),
        talkers: TalkerPattern {
            talkers: common.talkers,
            turn: common.talk_turn,
            endpoints,
        },
        audio: common.audio,
        video: common.video,
        seed: common.seed,
        groups,
        clip: common.clip.clone(),
        receive: common.receive,
    })
}

fn video_note(common: &Common, endpoints: u32) -> Vec<String> {
    let mut notes = vec![match common.video_publishers {
        Some(k) if k < endpoints => format!(
            "everyone publishes audio; video from {k} endpoint(s) per session only (--video-publishers {k}), the chair first; the others join with the camera off"
        ),
        _ => "everyone publishes audio and video".into(),
    }];
    if let Some(clip) = &common.clip {
        notes.push(format!(
            "media replayed from a real clip: VP8 {}×{} at {} fps, Opus; video loss and delay are counted per frame (its last packet carries the tag)",
            clip.video.width, clip.video.height, clip.video.fps
        ));
    }
    notes
}

/// Whether the endpoint that comes `nth` in its session (the chair is 0) has its camera on.
fn publishes_video(common: &Common, nth: u32) -> bool {
    common.video_publishers.is_none_or(|k| nth < k)
}

/// The province's root unit: the first unit without a parent.
fn root(dir: &DirectoryView) -> Result<&crate::hub::Unit, HubError> {
    dir.units
        .iter()
        .find(|u| u.parent.is_none())
        .ok_or_else(|| HubError::Other("the directory has no root unit".into()))
}

/// Endpoint plans for one meeting: the chair first, then officials round-robin over the
/// invited units (more endpoints than units: some units have two).
fn plans_for_meeting(
    meeting: &PlannedMeeting,
    endpoints: u32,
    first_index: u32,
    group: &str,
    common: &Common,
) -> Vec<EndpointPlan> {
    let officials: Vec<&(String, JoinLink)> = meeting
        .officials
        .iter()
        .filter(|(unit, _)| *unit != meeting.host)
        .collect();
    (0..endpoints)
        .map(|i| {
            let index = first_index + i;
            let (unit, link) = if i == 0 || officials.is_empty() {
                (meeting.host.clone(), meeting.chair.clone())
            } else {
                let (u, l) = officials[(i as usize - 1) % officials.len()];
                (u.clone(), l.clone())
            };
            EndpointPlan {
                index,
                name: format!("sim {index} {unit}"),
                link,
                group: group.to_string(),
                video: publishes_video(common, i),
                impairment: None,
                lifetime: None,
                vanish: false,
            }
        })
        .collect()
}

fn plans_from_links(links: &GivenLinks, endpoints: u32, common: &Common) -> Vec<EndpointPlan> {
    (0..endpoints)
        .map(|index| EndpointPlan {
            index,
            name: format!("sim {index}"),
            link: links.0[index as usize % links.0.len()].clone(),
            group: "all".into(),
            video: publishes_video(common, index),
            impairment: None,
            lifetime: None,
            vanish: false,
        })
        .collect()
}

/// Plan a meeting of the whole province (every tier invited), hosted and chaired by the root,
/// live for the whole run.
pub async fn province_meeting(
    hub: &Hub,
    title: &str,
    common: &Common,
) -> Result<PlannedMeeting, HubError> {
    let dir = hub.directory().await?;
    let root = root(&dir)?;
    let scope = serde_json::json!({"root": root.id, "tiers": [], "add": [], "remove": []});
    hub.plan_meeting(title, &root.id, scope, run_length(common))
        .await
}

fn run_length(common: &Common) -> Duration {
    let t = common.timing;
    t.ramp + t.settle + t.duration + t.grace + Duration::from_secs(600)
}

/// `province`: one session, `endpoints` endpoints.
pub async fn province(
    hub: &Hub,
    common: &Common,
    endpoints: u32,
    links: Option<&GivenLinks>,
) -> Result<Report, HubError> {
    let plans = match links {
        Some(l) => plans_from_links(l, endpoints, common),
        None => {
            let m = province_meeting(hub, "cau-load: province", common).await?;
            plans_for_meeting(&m, endpoints, 0, "all", common)
        }
    };
    let spec = RunSpec {
        scenario: "province".into(),
        notes: video_note(common, endpoints),
        timing: common.timing,
        sessions: 1,
        config: serde_json::json!({"endpoints": endpoints, "common": common}),
    };
    let ctx = context(hub, common, &plans);
    Ok(run::run(hub, ctx, spec, plans, None).await)
}

/// `impaired`: the province scenario with `share` of the endpoints (never the chair) behind an
/// impaired link.
pub async fn impaired(
    hub: &Hub,
    common: &Common,
    endpoints: u32,
    share: f64,
    impairment: Impairment,
    links: Option<&GivenLinks>,
) -> Result<Report, HubError> {
    let mut plans = match links {
        Some(l) => plans_from_links(l, endpoints, common),
        None => {
            let m = province_meeting(hub, "cau-load: impaired", common).await?;
            plans_for_meeting(&m, endpoints, 0, "clean", common)
        }
    };
    // Every k-th endpoint after the chair, so impaired ones are spread over the ramp.
    let impaired = ((f64::from(endpoints.saturating_sub(1)) * share).round() as u32)
        .max(u32::from(share > 0.0));
    let step = endpoints
        .saturating_sub(1)
        .checked_div(impaired)
        .map(|s| s.max(1));
    let mut marked = 0;
    for p in plans.iter_mut().skip(1) {
        if marked < impaired && step.is_some_and(|step| p.index.is_multiple_of(step)) {
            p.impairment = Some(impairment);
            p.group = "impaired".into();
            marked += 1;
        } else {
            p.group = "clean".into();
        }
    }
    let mut notes = video_note(common, endpoints);
    notes.push(format!(
        "{marked} endpoint(s) behind an impaired link (both directions): {}",
        describe(&impairment)
    ));
    let spec = RunSpec {
        scenario: "impaired".into(),
        notes,
        timing: common.timing,
        sessions: 1,
        config: serde_json::json!({"endpoints": endpoints, "share": share, "impairment": impairment, "common": common}),
    };
    let ctx = context(hub, common, &plans);
    Ok(run::run(hub, ctx, spec, plans, None).await)
}

pub fn describe(i: &Impairment) -> String {
    let mut parts = vec![format!("loss {:.1} %", i.loss * 100.0)];
    if !i.delay.is_zero() {
        parts.push(format!("delay {} ms", i.delay.as_millis()));
    }
    if !i.jitter.is_zero() {
        parts.push(format!("jitter {} ms", i.jitter.as_millis()));
    }
    if i.reorder > 0.0 {
        parts.push(format!("reorder {:.1} %", i.reorder * 100.0));
    }
    if let Some(b) = i.bandwidth_kbps {
        parts.push(format!("cap {b} kbit/s (queue {} ms)", i.queue.as_millis()));
    }
    if let Some(o) = i.outage {
        parts.push(format!(
            "outage {:.1} s at {:.1} s",
            o.length.as_secs_f64(),
            o.start.as_secs_f64()
        ));
    }
    parts.join(", ")
}

/// `tiers`: every unit of the middle tier (districts) meets with its subtree in parallel,
/// and the root meets with the units of its own tier (departments). One endpoint per unit,
/// each meeting's host chairs it. `districts` and `per_session` cap the size.
pub async fn tiers(
    hub: &Hub,
    common: &Common,
    districts: Option<u32>,
    per_session: Option<u32>,
) -> Result<Report, HubError> {
    let dir = hub.directory().await?;
    let root = root(&dir)?;
    let Some(middle) = dir.tiers.get(1).cloned() else {
        return Err(HubError::Other(
            "the directory has a single tier: nothing to meet in parallel".into(),
        ));
    };
    let below: Vec<String> = dir.tiers.iter().skip(1).cloned().collect();
    let cap = |n: usize| per_session.map_or(n, |c| n.min(c as usize)) as u32;
    let mut meetings = vec![];
    let top_tier = root.tier.clone();
    let province = hub
        .plan_meeting(
            "cau-load: tiers (province)",
            &root.id,
            serde_json::json!({"root": root.id, "tiers": [top_tier], "add": [], "remove": []}),
            run_length(common),
        )
        .await?;
    meetings.push((format!("{} session", root.tier), province));
    let mids: Vec<&crate::hub::Unit> = dir
        .units
        .iter()
        .filter(|u| u.tier == middle && u.parent.as_deref() == Some(root.id.as_str()))
        .take(districts.map_or(usize::MAX, |d| d as usize))
        .collect();
    for unit in &mids {
        let m = hub
            .plan_meeting(
                &format!("cau-load: tiers ({})", unit.name),
                &unit.id,
                serde_json::json!({"root": unit.id, "tiers": below, "add": [], "remove": []}),
                run_length(common),
            )
            .await?;
        meetings.push((format!("{middle} sessions"), m));
    }
    let mut plans = vec![];
    for (group, m) in &meetings {
        let units = 1 + m.officials.iter().filter(|(u, _)| *u != m.host).count();
        let n = cap(units);
        let first = plans.len() as u32;
        plans.extend(plans_for_meeting(m, n, first, group, common));
    }
    // Video: each meeting's chair (the first plan of each meeting) unless told otherwise.
    let total = plans.len() as u32;
    let mut notes = vec![format!(
        "{} sessions in parallel: the {} with its own tier, and {} {} unit(s) each with its subtree; one endpoint per unit",
        meetings.len(),
        root.tier,
        mids.len(),
        middle
    )];
    notes.extend(video_note(common, total));
    let spec = RunSpec {
        scenario: "tiers".into(),
        notes,
        timing: common.timing,
        sessions: meetings.len() as u32,
        config: serde_json::json!({"districts": districts, "per_session": per_session, "common": common}),
    };
    let ctx = context(hub, common, &plans);
    Ok(run::run(hub, ctx, spec, plans, None).await)
}

/// `churn`: `stable` endpoints stay throughout; `comers` more join at random during the window,
/// each staying a random time between `stay.0` and `stay.1`, a share `vanish` of them
/// disappearing without a word (a closed laptop) instead of leaving.
pub async fn churn(
    hub: &Hub,
    common: &Common,
    stable: u32,
    comers: u32,
    stay: (Duration, Duration),
    vanish: f64,
) -> Result<Report, HubError> {
    let m = province_meeting(hub, "cau-load: churn", common).await?;
    let all = plans_for_meeting(&m, stable + comers, 0, "stable", common);
    let mut rng = StdRng::seed_from_u64(common.seed ^ 0xc0ffee);
    let (stayers, mut goers): (Vec<_>, Vec<_>) = all.into_iter().partition(|p| p.index < stable);
    for p in &mut goers {
        p.group = "comers".into();
        let secs =
            rng.random_range(stay.0.as_secs_f64()..=stay.1.as_secs_f64().max(stay.0.as_secs_f64()));
        p.lifetime = Some(Duration::from_secs_f64(secs));
        p.vanish = rng.random_bool(vanish.clamp(0.0, 1.0));
        p.video = false;
    }
    // Arrivals at random over the window but its last stay: uniform times are what a Poisson
    // process of that many arrivals looks like, and every comer gets to come.
    let window = common
        .timing
        .duration
        .saturating_sub(stay.0)
        .max(Duration::from_millis(1));
    let mut arrivals: Vec<(Duration, EndpointPlan)> = goers
        .iter()
        .map(|p| (window.mul_f64(rng.random_range(0.0..1.0)), p.clone()))
        .collect();
    arrivals.sort_by_key(|(at, p)| (*at, p.index));
    let mut notes = video_note(common, stable);
    notes.push(format!(
        "{stable} endpoints stay throughout (loss and delay are measured among them); {comers} more come and go at random, staying {:.0}–{:.0} s, {:.0} % of them vanishing without leaving",
        stay.0.as_secs_f64(),
        stay.1.as_secs_f64(),
        vanish * 100.0
    ));
    let spec = RunSpec {
        scenario: "churn".into(),
        notes,
        timing: common.timing,
        sessions: 1,
        config: serde_json::json!({"stable": stable, "comers": comers, "stay_s": [stay.0.as_secs_f64(), stay.1.as_secs_f64()], "vanish": vanish, "common": common}),
    };
    let ctx = context(hub, common, stayers.iter().chain(&goers));
    let churn = Churn { arrivals };
    Ok(run::run(hub, ctx, spec, stayers, Some(churn)).await)
}
