//! The forwarding core of one session: who publishes which track, who receives it on which
//! m-line, and — per packet — what goes to whom. Sans-IO: time is an argument, results are
//! values ([`Decision`]) that the shell applies to str0m. Nothing here reads a clock, touches a
//! socket or knows what a person or a unit is.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::codec::Codec;
use super::policy::{ReceivePrefs, SessionPolicy};
use super::rewrite::{DropReason, Rewriter, SourcePacket};
use super::speaking::{VoiceActivity, VoiceConfig};
use super::throttle::Throttle;
use crate::ids::{EndpointId, MediaKind, Mid, TrackId};

/// Tunables of the core.
#[derive(Debug, Clone, Copy)]
pub struct CoreConfig {
    /// At most one keyframe request per published video track per interval.
    pub keyframe_interval: Duration,
    pub voice: VoiceConfig,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            keyframe_interval: Duration::from_millis(500),
            voice: VoiceConfig::default(),
        }
    }
}

/// An incoming RTP packet as the core sees it (the shell has decrypted and parsed it).
#[derive(Debug, Clone, Copy)]
pub struct RtpIn<'a> {
    pub ssrc: u32,
    /// Extended sequence number.
    pub seq: u64,
    pub ts: u32,
    pub codec: Codec,
    pub payload: &'a [u8],
    /// RFC 6464 level in dBov (0 loudest, -127 silence), if the packet carried one.
    pub audio_level: Option<i8>,
}

/// What to do, decided by the core, applied by the shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send this packet to `to` on its m-line `mid` with the rewritten sequence number (extended)
    /// and timestamp; payload, marker and codec are the incoming packet's.
    Forward {
        to: EndpointId,
        mid: Mid,
        seq: u64,
        ts: u32,
    },
    /// Not sent to `to`, and why.
    Drop { to: EndpointId, reason: DropReason },
    /// Ask the publisher of `track` for a keyframe (already throttled).
    RequestKeyframe { track: TrackId },
}

/// A change in someone's speaking state, for the participants' indicators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpeakingChange {
    pub endpoint: EndpointId,
    pub speaking: bool,
}

/// What removing an endpoint undoes: the m-lines other subscribers must stop.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Removal {
    pub stopped: Vec<(EndpointId, Mid)>,
    pub tracks: Vec<TrackId>,
}

/// Counters of the forwarding path (dropped, never panicked over).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CoreStats {
    pub packets_in: u64,
    pub packets_forwarded: u64,
    pub unknown_track: u64,
    pub waiting_for_keyframe: u64,
    pub before_epoch: u64,
    pub stale_source: u64,
    pub keyframe_requests: u64,
}

#[derive(Debug)]
struct Subscription {
    subscriber: EndpointId,
    mid: Mid,
    rewriter: Rewriter,
}

#[derive(Debug)]
struct Published {
    kind: MediaKind,
    subscriptions: Vec<Subscription>,
    keyframes: Throttle,
    voice: Option<VoiceActivity>,
    /// The speaking state last reported by `poll_speaking`.
    reported_speaking: bool,
}

#[derive(Debug, Default)]
pub struct SessionCore {
    config: CoreConfig,
    endpoints: BTreeSet<EndpointId>,
    tracks: BTreeMap<TrackId, Published>,
    stats: CoreStats,
    policy: SessionPolicy,
    prefs: BTreeMap<EndpointId, ReceivePrefs>,
}

impl SessionCore {
    pub fn new(config: CoreConfig) -> Self {
        SessionCore {
            config,
            ..Default::default()
        }
    }

    pub fn stats(&self) -> CoreStats {
        self.stats
    }

    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    pub fn endpoints(&self) -> impl Iterator<Item = EndpointId> + '_ {
        self.endpoints.iter().copied()
    }

    /// The session's priorities (floor, chairs, mutes), replacing the previous ones.
    pub fn set_policy(&mut self, policy: SessionPolicy) {
        self.policy = policy;
    }

    /// What `endpoint` wants to receive.
    pub fn set_receive(&mut self, endpoint: EndpointId, prefs: ReceivePrefs) {
        if self.endpoints.contains(&endpoint) {
            self.prefs.insert(endpoint, prefs);
        }
    }

    pub fn add_endpoint(&mut self, endpoint: EndpointId) {
        self.endpoints.insert(endpoint);
    }

    /// Every published track with its kind.
    pub fn tracks(&self) -> impl Iterator<Item = (TrackId, MediaKind)> + '_ {
        self.tracks.iter().map(|(id, p)| (*id, p.kind))
    }

    /// The tracks `endpoint` should receive: everyone else's.
    pub fn tracks_for(&self, endpoint: EndpointId) -> Vec<(TrackId, MediaKind)> {
        self.tracks()
            .filter(|(t, _)| t.endpoint != endpoint)
            .collect()
    }

    /// `track` is now published; returns the endpoints that should receive it.
    pub fn publish(&mut self, track: TrackId, kind: MediaKind) -> Vec<EndpointId> {
        let voice = (kind == MediaKind::Audio).then(|| VoiceActivity::new(self.config.voice));
        self.tracks.entry(track).or_insert_with(|| Published {
            kind,
            subscriptions: vec![],
            keyframes: Throttle::new(self.config.keyframe_interval),
            voice,
            reported_speaking: false,
        });
        self.endpoints
            .iter()
            .copied()
            .filter(|e| *e != track.endpoint)
            .collect()
    }

    /// `subscriber` now receives `track` on its m-line `mid` (negotiation completed).
    /// Video subscribers need a keyframe to start: the (throttled) request is returned.
    pub fn subscribe(
        &mut self,
        now: Instant,
        track: TrackId,
        subscriber: EndpointId,
        mid: Mid,
    ) -> Option<Decision> {
        let published = self.tracks.get_mut(&track)?;
        published
            .subscriptions
            .retain(|s| s.subscriber != subscriber);
        let video = published.kind == MediaKind::Video;
        let clock_rate = if video { 90_000 } else { 48_000 };
        published.subscriptions.push(Subscription {
            subscriber,
            mid,
            rewriter: Rewriter::new(clock_rate, video),
        });
        if video && published.keyframes.allow(now) {
            self.stats.keyframe_requests += 1;
            return Some(Decision::RequestKeyframe { track });
        }
        None
    }

    /// One incoming packet of `track`: the decisions are appended to `out`.
    pub fn handle_rtp(
        &mut self,
        now: Instant,
        track: TrackId,
        pkt: &RtpIn,
        out: &mut Vec<Decision>,
    ) {
        self.stats.packets_in += 1;
        let Some(published) = self.tracks.get_mut(&track) else {
            self.stats.unknown_track += 1;
            return;
        };
        if let Some(voice) = &mut published.voice {
            // The speaking change itself is collected by `poll_speaking` via the state.
            voice.on_level(now, pkt.audio_level);
        }
        let source = SourcePacket {
            ssrc: pkt.ssrc,
            seq: pkt.seq,
            ts: pkt.ts,
            keyframe_start: pkt.codec.is_keyframe_start(pkt.payload),
        };
        let mut wants_keyframe = false;
        for sub in &mut published.subscriptions {
            match sub.rewriter.rewrite(now, source) {
                Ok(r) => {
                    self.stats.packets_forwarded += 1;
                    out.push(Decision::Forward {
                        to: sub.subscriber,
                        mid: sub.mid,
                        seq: r.seq,
                        ts: r.ts,
                    });
                }
                Err(reason) => {
                    match reason {
                        DropReason::WaitingForKeyframe => {
                            self.stats.waiting_for_keyframe += 1;
                            wants_keyframe = true;
                        }
                        DropReason::BeforeEpoch => self.stats.before_epoch += 1,
                        DropReason::StaleSource => self.stats.stale_source += 1,
                    }
                    out.push(Decision::Drop {
                        to: sub.subscriber,
                        reason,
                    });
                }
            }
        }
        if wants_keyframe && published.keyframes.allow(now) {
            self.stats.keyframe_requests += 1;
            out.push(Decision::RequestKeyframe { track });
        }
    }

    /// A subscriber asked (PLI/FIR) for a keyframe on its m-line `mid`. Returns the publisher's
    /// track to ask, unless the request is throttled or the m-line carries nothing.
    pub fn handle_keyframe_request(
        &mut self,
        now: Instant,
        subscriber: EndpointId,
        mid: Mid,
    ) -> Option<TrackId> {
        let (track, published) = self.tracks.iter_mut().find(|(_, p)| {
            p.subscriptions
                .iter()
                .any(|s| s.subscriber == subscriber && s.mid == mid)
        })?;
        if published.kind != MediaKind::Video || !published.keyframes.allow(now) {
            return None;
        }
        self.stats.keyframe_requests += 1;
        Some(*track)
    }

    /// The speaking changes due at `now` (including ends of speech by silence).
    pub fn poll_speaking(&mut self, now: Instant) -> Vec<SpeakingChange> {
        let mut changes = vec![];
        for (track, published) in &mut self.tracks {
            let Some(voice) = &mut published.voice else {
                continue;
            };
            voice.poll(now);
            let now_speaking = voice.is_speaking();
            if published.reported_speaking != now_speaking {
                published.reported_speaking = now_speaking;
                changes.push(SpeakingChange {
                    endpoint: track.endpoint,
                    speaking: now_speaking,
                });
            }
        }
        changes
    }

    /// `endpoint` is gone: its tracks are unpublished and its subscriptions dropped. The
    /// returned m-lines of other endpoints carried its tracks and must be stopped.
    pub fn remove_endpoint(&mut self, endpoint: EndpointId) -> Removal {
        self.endpoints.remove(&endpoint);
        self.prefs.remove(&endpoint);
        let mut removal = Removal::default();
        let gone: Vec<TrackId> = self
            .tracks
            .keys()
            .filter(|t| t.endpoint == endpoint)
            .copied()
            .collect();
        for track in gone {
            if let Some(p) = self.tracks.remove(&track) {
                removal
                    .stopped
                    .extend(p.subscriptions.iter().map(|s| (s.subscriber, s.mid)));
                removal.tracks.push(track);
            }
        }
        for p in self.tracks.values_mut() {
            p.subscriptions.retain(|s| s.subscriber != endpoint);
        }
        removal
    }
}
