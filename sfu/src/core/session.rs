//! The forwarding core of one session: who publishes what, which publisher each subscriber's
//! receive slots carry and at which simulcast layer, and — per packet — what goes to whom.
//! Sans-IO: time is an argument, results are values ([`Decision`], [`Notice`]) that the shell
//! applies to str0m. Nothing here reads a clock, touches a socket or knows what a person or a
//! unit is.
//!
//! Every subscriber has a fixed set of receive slots (m-lines negotiated once). Who fills them
//! is re-evaluated by [`SessionCore::evaluate`] (see [`super::select`] for the rules); a slot
//! that changes publisher or layer switches at the new stream's next keyframe, with sequence
//! numbers and timestamps kept continuous by the slot's [`Rewriter`].

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::codec::{self, Codec};
use super::dominant::DominantSpeaker;
use super::policy::{
    Layer, ReceiveMode, ReceivePrefs, SessionPolicy, SlotInfo, SlotReason, Source,
};
use super::rewrite::{DropReason, Rewriter, SourcePacket, Vp8Out};
use super::select::{self, Feed, Ranking, VideoDemand};
use super::speaking::{VoiceActivity, VoiceConfig};
use super::throttle::Throttle;
use crate::ids::{EndpointId, MediaKind, Mid, TrackId};

/// The recorder of a recorded session, as the core sees it: a subscriber like the others,
/// with one slot of its own per recorded track (see [`SessionCore::set_recording`]). Never an
/// endpoint of the session.
pub const RECORDER: EndpointId = EndpointId(u64::MAX);

/// What the recorder of a session takes. Every participant's microphone and every shared
/// screen are always recorded; cameras as this says.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordPolicy {
    /// Besides the chairs', the floor holder's and the dominant speaker's cameras (at the
    /// highest layer they send), everyone else's at its lowest layer.
    pub everyones_low_video: bool,
}

/// Tunables of the core.
#[derive(Debug, Clone, Copy)]
pub struct CoreConfig {
    /// At most one keyframe request per published layer per interval.
    pub keyframe_interval: Duration,
    pub voice: VoiceConfig,
    /// Audio receive slots per subscriber (the floor, the chair and the loudest few).
    pub audio_slots: usize,
    /// Video receive slots per subscriber (the floor, the chair, the speaker and the last-N).
    pub video_slots: usize,
    /// How many of the loudest speakers every subscriber hears (besides floor and chair).
    pub audio_top_k: usize,
    /// How long someone must speak, while the dominant speaker is quiet, to take its place.
    pub dominant_takeover: Duration,
    /// Bandwidth kept for audio when sharing a subscriber's estimate between videos, per
    /// audio slot, in bit/s.
    pub audio_reserve_bps: u64,
    /// Whether layers follow the bandwidth estimate. Off, every visible video is sent at the
    /// layer its tile asks for whatever the link (a LAN; the forwarding benchmark, whose
    /// packet rates no estimate would carry).
    pub follow_estimate: bool,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            keyframe_interval: Duration::from_millis(500),
            voice: VoiceConfig::default(),
            audio_slots: 5,
            video_slots: 11,
            audio_top_k: 3,
            dominant_takeover: Duration::from_millis(1000),
            audio_reserve_bps: 40_000,
            follow_estimate: true,
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

/// What to do with a packet or a request, decided by the core, applied by the shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send this packet to `to` on its m-line `mid` with the rewritten sequence number (extended),
    /// timestamp and VP8 frame numbering; payload, marker and codec are the incoming packet's.
    Forward {
        to: EndpointId,
        mid: Mid,
        seq: u64,
        ts: u32,
        /// VP8 descriptor fields to rewrite (picture ID, TL0PICIDX), if the packet has them.
        vp8: Option<Vp8Out>,
        /// The subscriber's copy of the previous packet means the same (same source, no
        /// switch in between): redundant audio may repeat it.
        continues: bool,
    },
    /// Not sent to `to`, and why.
    Drop { to: EndpointId, reason: DropReason },
    /// Ask the publisher of `track` for a keyframe of `layer` (already throttled).
    RequestKeyframe { track: TrackId, layer: Layer },
}

/// A change the signaling side should hear about, from [`SessionCore::evaluate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// Someone started or stopped speaking.
    Speaking {
        endpoint: EndpointId,
        speaking: bool,
    },
    /// The dominant speaker changed.
    Dominant(Option<EndpointId>),
    /// What `endpoint`'s receive slots carry now.
    Slots {
        endpoint: EndpointId,
        slots: Vec<SlotInfo>,
    },
    /// The simulcast layers of `endpoint`'s camera anyone receives or is about to.
    Layers {
        endpoint: EndpointId,
        layers: Vec<Layer>,
    },
}

/// What removing an endpoint undoes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Removal {
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
    /// Slots that switched to another publisher or layer (at a keyframe).
    pub layer_switches: u64,
}

/// A slot (by index) and what it is to carry: the track with the reason, and which of the
/// publisher's feeds that is.
type Filling = (usize, Option<(TrackId, SlotReason)>, Source);

/// How long a layer may be silent and still count as arriving.
const LAYER_FRESH: Duration = Duration::from_millis(1500);
/// The window over which a layer's bitrate is measured.
const BITRATE_WINDOW: Duration = Duration::from_millis(1000);
/// Recent speakers remembered (for the `recent` video slots).
const RECENT_SPEAKERS: usize = 32;

/// One simulcast layer as it arrives from its publisher.
#[derive(Debug, Clone)]
struct LayerIn {
    last_packet: Instant,
    window_start: Instant,
    window_bytes: u64,
    /// Bit/s over the last complete window (0 until one completed).
    bps: u64,
}

#[derive(Debug)]
struct Published {
    kind: MediaKind,
    source: Source,
    simulcast: bool,
    layers: BTreeMap<Layer, LayerIn>,
    keyframes: BTreeMap<Layer, Throttle>,
    voice: Option<VoiceActivity>,
    /// The speaking state last reported.
    reported_speaking: bool,
    /// The layers last reported as needed.
    reported_layers: Option<Vec<Layer>>,
    /// (subscriber, slot index) of every slot carrying this track.
    routes: Vec<(EndpointId, usize)>,
}

impl Published {
    fn available(&self, now: Instant) -> Vec<(Layer, u64)> {
        self.layers
            .iter()
            .filter(|(_, l)| now.saturating_duration_since(l.last_packet) < LAYER_FRESH)
            .map(|(layer, l)| (*layer, l.bps))
            .collect()
    }

    fn keyframe_allowed(&mut self, now: Instant, layer: Layer, interval: Duration) -> bool {
        self.keyframes
            .entry(layer)
            .or_insert_with(|| Throttle::new(interval))
            .allow(now)
    }
}

/// One receive slot of a subscriber.
#[derive(Debug)]
struct OutSlot {
    mid: Mid,
    kind: MediaKind,
    source: Option<(TrackId, SlotReason)>,
    /// What the source track carries (with `source`).
    feed: Option<Source>,
    /// The layer being forwarded.
    current: Option<Layer>,
    /// The layer to switch to at its next keyframe (`None`: pause).
    target: Option<Layer>,
    /// The layer the slot would take if the publisher sent it (asked of it in `layers`).
    wish: Option<Layer>,
    rewriter: Rewriter,
}

impl OutSlot {
    fn info(&self) -> SlotInfo {
        SlotInfo {
            mid: self.mid,
            kind: self.kind,
            publisher: self.source.map(|(t, _)| t.endpoint),
            source: self.feed.filter(|_| self.source.is_some()),
            reason: self.source.map(|(_, r)| r),
            layer: if self.kind == MediaKind::Video {
                self.current
            } else {
                None
            },
        }
    }
}

#[derive(Debug, Default)]
struct Subscriber {
    slots: Vec<OutSlot>,
    prefs: ReceivePrefs,
    /// The bandwidth estimate towards this subscriber, in bit/s.
    estimate: Option<u64>,
    reported: Vec<SlotInfo>,
}

#[derive(Debug, Default)]
pub struct SessionCore {
    config: CoreConfig,
    /// Endpoints with the order they joined in.
    endpoints: BTreeMap<EndpointId, u64>,
    next_order: u64,
    tracks: BTreeMap<TrackId, Published>,
    /// (publisher, source) → its track: the first audio is the microphone, the first video
    /// the camera, the second video the screen; any further m-line is never forwarded.
    by_endpoint: BTreeMap<(EndpointId, Source), TrackId>,
    subscribers: BTreeMap<EndpointId, Subscriber>,
    policy: SessionPolicy,
    dominant: Option<DominantSpeaker>,
    recent: Vec<EndpointId>,
    stats: CoreStats,
    /// Notices produced outside `evaluate`, delivered by the next one.
    pending: Vec<Notice>,
    /// Something changed that needs [`SessionCore::evaluate`] to re-run the selection.
    dirty: bool,
    /// Recording: what the recorder takes, and the recorder's slot of each recorded track
    /// (kept for the track's life, so that its stream to the recorder stays continuous).
    recording: Option<RecordPolicy>,
    recorder_slots: BTreeMap<TrackId, usize>,
}

impl SessionCore {
    pub fn new(config: CoreConfig) -> Self {
        SessionCore {
            config,
            dominant: Some(DominantSpeaker::new(config.dominant_takeover)),
            dirty: true,
            ..Default::default()
        }
    }

    pub fn config(&self) -> &CoreConfig {
        &self.config
    }

    pub fn stats(&self) -> CoreStats {
        self.stats
    }

    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    pub fn endpoints(&self) -> impl Iterator<Item = EndpointId> + '_ {
        self.endpoints.keys().copied()
    }

    /// Every published track with its kind.
    pub fn tracks(&self) -> impl Iterator<Item = (TrackId, MediaKind)> + '_ {
        self.tracks.iter().map(|(id, p)| (*id, p.kind))
    }

    pub fn dominant_speaker(&self) -> Option<EndpointId> {
        self.dominant.as_ref().and_then(|d| d.current())
    }

    pub fn add_endpoint(&mut self, endpoint: EndpointId) {
        if !self.endpoints.contains_key(&endpoint) {
            self.endpoints.insert(endpoint, self.next_order);
            self.next_order += 1;
        }
    }

    /// The session's priorities (floor, chairs, mutes), replacing the previous ones.
    pub fn set_policy(&mut self, policy: SessionPolicy) {
        if self.policy != policy {
            self.policy = policy;
            self.dirty = true;
        }
    }

    /// Start (`Some`) or stop recording the session: the recorder ([`RECORDER`]) then gets
    /// [`Decision::Forward`]s like any subscriber, on slots of its own, each carrying one
    /// track for the track's whole life — its sequence numbers and timestamps continuous
    /// across layer switches and pauses. The layers it records count among those the
    /// publishers are asked to send.
    pub fn set_recording(&mut self, policy: Option<RecordPolicy>) {
        if self.recording == policy {
            return;
        }
        self.recording = policy;
        if policy.is_none() {
            self.subscribers.remove(&RECORDER);
            self.recorder_slots.clear();
        } else {
            self.subscribers.entry(RECORDER).or_default();
        }
        self.dirty = true;
    }

    /// Whether the session is recorded.
    pub fn recording(&self) -> Option<RecordPolicy> {
        self.recording
    }

    /// What a published track carries.
    pub fn source_of(&self, track: TrackId) -> Option<Source> {
        self.tracks.get(&track).map(|p| p.source)
    }

    /// The recorder lost part of a track's video: the publisher's track and layer to ask
    /// for a keyframe, unless throttled.
    pub fn recorder_keyframe(
        &mut self,
        now: Instant,
        endpoint: EndpointId,
        source: Source,
    ) -> Option<(TrackId, Layer)> {
        let track = self.track_of((endpoint, source))?;
        let index = *self.recorder_slots.get(&track)?;
        let mid = self.subscribers.get(&RECORDER)?.slots.get(index)?.mid;
        self.handle_keyframe_request(now, RECORDER, mid)
    }

    /// What `endpoint` wants to receive.
    pub fn set_receive(&mut self, endpoint: EndpointId, prefs: ReceivePrefs) {
        if !self.endpoints.contains_key(&endpoint) {
            return;
        }
        let sub = self.subscribers.entry(endpoint).or_default();
        if sub.prefs != prefs {
            sub.prefs = prefs;
            self.dirty = true;
        }
    }

    /// The bandwidth estimate towards `endpoint` (bit/s), from the shell's congestion control.
    pub fn set_estimate(&mut self, endpoint: EndpointId, bps: u64) {
        if let Some(sub) = self.subscribers.get_mut(&endpoint)
            && sub.estimate != Some(bps)
        {
            sub.estimate = Some(bps);
            self.dirty = true;
        }
    }

    /// `endpoint`'s receive slots are negotiated: the m-lines the hub sends on, with their kind.
    pub fn add_slots(&mut self, endpoint: EndpointId, slots: &[(Mid, MediaKind)]) {
        if !self.endpoints.contains_key(&endpoint) {
            return;
        }
        let sub = self.subscribers.entry(endpoint).or_default();
        for (mid, kind) in slots {
            if sub.slots.iter().any(|s| s.mid == *mid) {
                continue;
            }
            let video = *kind == MediaKind::Video;
            sub.slots.push(OutSlot {
                mid: *mid,
                kind: *kind,
                source: None,
                feed: None,
                current: None,
                target: None,
                wish: None,
                rewriter: Rewriter::new(if video { 90_000 } else { 48_000 }, video),
            });
        }
        self.dirty = true;
    }

    /// `track` is now published (`simulcast`: it arrives in RID-named layers). Returns what
    /// it carries: an endpoint's audio is its microphone, its first video its camera and its
    /// second video its screen.
    pub fn publish(&mut self, track: TrackId, kind: MediaKind, simulcast: bool) -> Source {
        if let Some(p) = self.tracks.get(&track) {
            return p.source;
        }
        let source = if kind == MediaKind::Audio {
            Source::Microphone
        } else if self
            .by_endpoint
            .contains_key(&(track.endpoint, Source::Camera))
        {
            Source::Screen
        } else {
            Source::Camera
        };
        let voice = (kind == MediaKind::Audio).then(|| VoiceActivity::new(self.config.voice));
        self.tracks.entry(track).or_insert_with(|| Published {
            kind,
            source,
            simulcast: simulcast && kind == MediaKind::Video,
            layers: BTreeMap::new(),
            keyframes: BTreeMap::new(),
            voice,
            reported_speaking: false,
            reported_layers: None,
            routes: vec![],
        });
        self.by_endpoint
            .entry((track.endpoint, source))
            .or_insert(track);
        self.dirty = true;
        source
    }

    /// One incoming packet of `track`'s `layer`: the decisions are appended to `out`.
    pub fn handle_rtp(
        &mut self,
        now: Instant,
        track: TrackId,
        layer: Layer,
        pkt: &RtpIn,
        out: &mut Vec<Decision>,
    ) {
        self.stats.packets_in += 1;
        let Some(published) = self.tracks.get_mut(&track) else {
            self.stats.unknown_track += 1;
            return;
        };
        if let Some(voice) = &mut published.voice {
            // The speaking change itself is collected by `evaluate` via the state.
            voice.on_level(now, pkt.audio_level);
        }
        let arrived = published.layers.entry(layer).or_insert_with(|| {
            // A layer seen for the first time: slots may now choose it.
            self.dirty = true;
            LayerIn {
                last_packet: now,
                window_start: now,
                window_bytes: 0,
                bps: 0,
            }
        });
        if now.saturating_duration_since(arrived.last_packet) >= LAYER_FRESH {
            // The layer resumes: its old rate says nothing, and availability changed.
            *arrived = LayerIn {
                last_packet: now,
                window_start: now,
                window_bytes: 0,
                bps: 0,
            };
            self.dirty = true;
        }
        arrived.last_packet = now;
        arrived.window_bytes += pkt.payload.len() as u64 + 40;
        let elapsed = now.saturating_duration_since(arrived.window_start);
        if elapsed >= BITRATE_WINDOW {
            arrived.bps = (arrived.window_bytes as f64 * 8.0 / elapsed.as_secs_f64()) as u64;
            arrived.window_start = now;
            arrived.window_bytes = 0;
        }
        let video = published.kind == MediaKind::Video;
        let source = SourcePacket {
            ssrc: pkt.ssrc,
            seq: pkt.seq,
            ts: pkt.ts,
            keyframe_start: video && pkt.codec.is_keyframe_start(pkt.payload),
            vp8: (pkt.codec == Codec::Vp8)
                .then(|| codec::vp8_ids(pkt.payload))
                .flatten(),
        };
        if source.keyframe_start
            && let Some(t) = published.keyframes.get_mut(&layer)
        {
            t.answered();
        }
        let mut wants_keyframe = false;
        for (to, index) in &published.routes {
            let Some(slot) = self
                .subscribers
                .get_mut(to)
                .and_then(|s| s.slots.get_mut(*index))
            else {
                continue;
            };
            if slot.source.map(|(t, _)| t) != Some(track) {
                continue;
            }
            if video && slot.current != Some(layer) {
                if slot.target != Some(layer) {
                    continue;
                }
                if !source.keyframe_start {
                    wants_keyframe = true;
                    self.stats.waiting_for_keyframe += 1;
                    out.push(Decision::Drop {
                        to: *to,
                        reason: DropReason::WaitingForKeyframe,
                    });
                    continue;
                }
                // The switch: this keyframe starts the new layer in the slot.
                slot.current = Some(layer);
                slot.rewriter.switch_source();
                self.stats.layer_switches += 1;
                self.dirty = true;
            }
            match slot.rewriter.rewrite(now, source) {
                Ok(r) => {
                    self.stats.packets_forwarded += 1;
                    out.push(Decision::Forward {
                        to: *to,
                        mid: slot.mid,
                        seq: r.seq,
                        ts: r.ts,
                        vp8: r.vp8,
                        continues: r.continues,
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
                    out.push(Decision::Drop { to: *to, reason });
                }
            }
        }
        if wants_keyframe && published.keyframe_allowed(now, layer, self.config.keyframe_interval) {
            self.stats.keyframe_requests += 1;
            out.push(Decision::RequestKeyframe { track, layer });
        }
    }

    /// A subscriber asked (PLI/FIR) for a keyframe on its m-line `mid`. Returns the publisher's
    /// track and layer to ask, unless the request is throttled or the slot carries no video.
    pub fn handle_keyframe_request(
        &mut self,
        now: Instant,
        subscriber: EndpointId,
        mid: Mid,
    ) -> Option<(TrackId, Layer)> {
        let slot = self
            .subscribers
            .get(&subscriber)?
            .slots
            .iter()
            .find(|s| s.mid == mid && s.kind == MediaKind::Video)?;
        let (track, _) = slot.source?;
        let layer = slot.current.or(slot.target)?;
        let published = self.tracks.get_mut(&track)?;
        if !published.keyframe_allowed(now, layer, self.config.keyframe_interval) {
            return None;
        }
        self.stats.keyframe_requests += 1;
        Some((track, layer))
    }

    /// Re-evaluate speaking, the dominant speaker, who fills every slot and which layers
    /// publishers must send. Cheap when nothing changed; the shell calls it every 100 ms and
    /// after every change it makes. Keyframe requests go to `out`: for slots that must switch, and
    /// those the throttle deferred whose interval has ended.
    pub fn evaluate(&mut self, now: Instant, out: &mut Vec<Decision>) -> Vec<Notice> {
        let mut notices = std::mem::take(&mut self.pending);
        notices.extend(self.poll_speaking(now));
        self.deferred_keyframes(now, out);
        if !self.dirty {
            return notices;
        }
        self.dirty = false;
        let ranking = self.ranking();
        let audio_publishing: BTreeSet<EndpointId> = self
            .tracks
            .iter()
            .filter(|(_, p)| p.kind == MediaKind::Audio)
            .map(|(t, _)| t.endpoint)
            .collect();
        let config = self.config;
        let ids: Vec<EndpointId> = self.subscribers.keys().copied().collect();
        for id in ids {
            if id == RECORDER {
                self.assign_recorder(now, &ranking, &config, out);
            } else {
                self.assign(now, id, &ranking, &audio_publishing, &config, out);
            }
        }
        self.rebuild_routes();
        for (id, sub) in &mut self.subscribers {
            let infos: Vec<SlotInfo> = sub.slots.iter().map(OutSlot::info).collect();
            if infos != sub.reported {
                sub.reported.clone_from(&infos);
                notices.push(Notice::Slots {
                    endpoint: *id,
                    slots: infos,
                });
            }
        }
        notices.extend(self.needed_layers());
        notices
    }

    /// Keyframe requests refused by the throttle whose interval has ended, unless a keyframe
    /// of the layer arrived since and answered them.
    fn deferred_keyframes(&mut self, now: Instant, out: &mut Vec<Decision>) {
        for (track, published) in &mut self.tracks {
            for (layer, throttle) in &mut published.keyframes {
                if throttle.due(now) {
                    self.stats.keyframe_requests += 1;
                    out.push(Decision::RequestKeyframe {
                        track: *track,
                        layer: *layer,
                    });
                }
            }
        }
    }

    /// Speaking changes (including ends of speech by silence) and the dominant speaker.
    fn poll_speaking(&mut self, now: Instant) -> Vec<Notice> {
        let mut notices = vec![];
        let mut speaking: BTreeMap<EndpointId, Instant> = BTreeMap::new();
        for (track, published) in &mut self.tracks {
            let Some(voice) = &mut published.voice else {
                continue;
            };
            voice.poll(now);
            let now_speaking = voice.is_speaking();
            if let Some(since) = voice.speaking_since() {
                speaking.insert(track.endpoint, since);
            }
            if published.reported_speaking != now_speaking {
                published.reported_speaking = now_speaking;
                // Loudness ranks the audio slots: a change re-runs the selection.
                self.dirty = true;
                if now_speaking {
                    self.recent.retain(|e| *e != track.endpoint);
                    self.recent.insert(0, track.endpoint);
                    self.recent.truncate(RECENT_SPEAKERS);
                }
                notices.push(Notice::Speaking {
                    endpoint: track.endpoint,
                    speaking: now_speaking,
                });
            }
        }
        if let Some(change) = self
            .dominant
            .as_mut()
            .and_then(|d| d.update(now, &speaking))
        {
            self.dirty = true;
            notices.push(Notice::Dominant(change));
        }
        notices
    }

    fn ranking(&self) -> Ranking {
        let order = |e: &EndpointId| self.endpoints.get(e).copied().unwrap_or(u64::MAX);
        let mut video_publishers: Vec<EndpointId> = self
            .tracks
            .iter()
            .filter(|(t, p)| {
                p.source == Source::Camera && !self.policy.silenced_video.contains(&t.endpoint)
            })
            .map(|(t, _)| t.endpoint)
            .collect();
        video_publishers.sort_by_key(order);
        video_publishers.dedup();
        let screen_publishers = self
            .by_endpoint
            .keys()
            .filter(|(_, s)| *s == Source::Screen)
            .map(|(e, _)| *e)
            .collect();
        let mut voices: Vec<(EndpointId, bool, f32)> = self
            .tracks
            .iter()
            .filter_map(|(t, p)| {
                p.voice
                    .as_ref()
                    .map(|v| (t.endpoint, v.is_speaking(), v.activity()))
            })
            .collect();
        voices.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then(b.2.total_cmp(&a.2))
                .then(order(&a.0).cmp(&order(&b.0)))
        });
        Ranking {
            video_publishers,
            screen_publishers,
            speaking: voices.iter().filter(|v| v.1).map(|v| v.0).collect(),
            loudest: voices.into_iter().map(|v| v.0).collect(),
            recent: self.recent.clone(),
            dominant: self.dominant_speaker(),
        }
    }

    fn track_of(&self, (endpoint, source): Feed) -> Option<TrackId> {
        self.by_endpoint.get(&(endpoint, source)).copied()
    }

    /// Fill one subscriber's slots and choose its layers.
    fn assign(
        &mut self,
        now: Instant,
        id: EndpointId,
        ranking: &Ranking,
        audio_publishing: &BTreeSet<EndpointId>,
        config: &CoreConfig,
        out: &mut Vec<Decision>,
    ) {
        let Some(sub) = self.subscribers.get(&id) else {
            return;
        };
        let video_slots: Vec<usize> = (0..sub.slots.len())
            .filter(|i| sub.slots[*i].kind == MediaKind::Video)
            .collect();
        let audio_slots: Vec<usize> = (0..sub.slots.len())
            .filter(|i| sub.slots[*i].kind == MediaKind::Audio)
            .collect();
        let wanted_video =
            select::choose_video(id, &self.policy, &sub.prefs, ranking, video_slots.len());
        let wanted_audio = select::choose_audio(
            id,
            &self.policy,
            ranking,
            config.audio_top_k,
            audio_slots.len(),
            audio_publishing,
        );
        let placed_video = select::place(
            &video_slots
                .iter()
                .map(|i| {
                    let slot = &sub.slots[*i];
                    slot.source
                        .zip(slot.feed)
                        .map(|((t, _), f)| (t.endpoint, f))
                })
                .collect::<Vec<_>>(),
            &wanted_video,
        );
        let placed_audio = select::place(
            &audio_slots
                .iter()
                .map(|i| sub.slots[*i].source.map(|(t, _)| t.endpoint))
                .collect::<Vec<_>>(),
            &wanted_audio,
        );
        let mut sources: Vec<Filling> = vec![];
        for (i, placed) in video_slots.iter().zip(placed_video) {
            let feed = placed.map_or(Source::Camera, |((_, f), _)| f);
            let track = placed.and_then(|(feed, r)| self.track_of(feed).map(|t| (t, r)));
            sources.push((*i, track, feed));
        }
        for (i, placed) in audio_slots.iter().zip(placed_audio) {
            let track =
                placed.and_then(|(e, r)| self.track_of((e, Source::Microphone)).map(|t| (t, r)));
            sources.push((*i, track, Source::Microphone));
        }

        // Layers: the visible videos in precedence order share the estimate.
        let prefs = sub.prefs.clone();
        let audio_in_use = sources
            .iter()
            .filter(|(i, s, _)| s.is_some() && audio_slots.contains(i))
            .count() as u64;
        let budget = sub
            .estimate
            .filter(|_| config.follow_estimate)
            .map(|e| e.saturating_sub(audio_in_use * config.audio_reserve_bps));
        let mut visible: Vec<(usize, TrackId, SlotReason)> = sources
            .iter()
            .filter(|(i, _, _)| video_slots.contains(i))
            .filter_map(|(i, s, _)| s.map(|(t, r)| (*i, t, r)))
            .collect();
        visible.sort_by_key(|(_, _, r)| *r);
        let demands: Vec<VideoDemand> = visible
            .iter()
            .map(|(i, track, reason)| {
                let height = if reason.is_large() {
                    prefs.large_height
                } else {
                    prefs.small_height
                };
                let published = self.tracks.get(track);
                VideoDemand {
                    wanted: if prefs.mode == ReceiveMode::Low {
                        Layer::Low
                    } else {
                        select::layer_for_height(height)
                    },
                    available: published.map(|p| p.available(now)).unwrap_or_default(),
                    simulcast: published.is_some_and(|p| p.simulcast),
                    current: sub.slots[*i]
                        .current
                        .filter(|_| sub.slots[*i].source.map(|(t, _)| t) == Some(*track)),
                }
            })
            .collect();
        let layers = select::allocate(budget, &demands, true);
        let wishes = select::allocate(budget, &demands, false);
        let targets: BTreeMap<usize, (Option<Layer>, Option<Layer>)> = visible
            .iter()
            .zip(layers.iter().zip(&wishes))
            .map(|((i, _, _), (l, w))| (*i, (*l, *w)))
            .collect();

        self.fill(now, id, sources, &targets, config, out);
    }

    /// Put `sources` into `id`'s slots with their layer `targets` (target, wish) by slot;
    /// a slot whose layer must change asks the publisher for a keyframe (throttled).
    fn fill(
        &mut self,
        now: Instant,
        id: EndpointId,
        sources: Vec<Filling>,
        targets: &BTreeMap<usize, (Option<Layer>, Option<Layer>)>,
        config: &CoreConfig,
        out: &mut Vec<Decision>,
    ) {
        let mut asks: Vec<(TrackId, Layer)> = vec![];
        let Some(sub) = self.subscribers.get_mut(&id) else {
            return;
        };
        for (i, source, feed) in sources {
            let slot = &mut sub.slots[i];
            let same_track = slot.source.map(|(t, _)| t) == source.map(|(t, _)| t);
            if !same_track {
                // Another publisher (or none): the slot starts over at its first keyframe.
                slot.current = None;
                slot.rewriter.switch_source();
            }
            slot.source = source;
            slot.feed = Some(feed);
            if slot.kind == MediaKind::Audio {
                continue;
            }
            (slot.target, slot.wish) = targets.get(&i).copied().unwrap_or_default();
            if slot.target.is_none() {
                // Paused at once: there is nothing to switch to.
                slot.current = None;
            }
            if let (Some((track, _)), Some(target)) = (slot.source, slot.target)
                && slot.current != Some(target)
            {
                asks.push((track, target));
            }
        }
        for (track, layer) in asks {
            if let Some(p) = self.tracks.get_mut(&track)
                && p.layers.contains_key(&layer)
                && p.keyframe_allowed(now, layer, config.keyframe_interval)
            {
                self.stats.keyframe_requests += 1;
                out.push(Decision::RequestKeyframe { track, layer });
            }
        }
    }

    /// The recorder's slots: one per recorded track, bound for the track's life. Microphones
    /// and shared screens always flow; a camera flows at its highest layer while its
    /// publisher chairs, has the floor or is the dominant speaker, at its lowest otherwise
    /// if the policy says so, and is paused the rest of the time.
    fn assign_recorder(
        &mut self,
        now: Instant,
        ranking: &Ranking,
        config: &CoreConfig,
        out: &mut Vec<Decision>,
    ) {
        let Some(policy) = self.recording else {
            return;
        };
        let Some(recorder) = self.subscribers.get_mut(&RECORDER) else {
            return;
        };
        // Bind every track to a slot, reusing those of tracks that are gone.
        let mut free: Vec<usize> = (0..recorder.slots.len())
            .filter(|i| !self.recorder_slots.values().any(|s| s == i))
            .collect();
        free.reverse();
        for (&(_, source), &track) in &self.by_endpoint {
            if self.recorder_slots.contains_key(&track) {
                continue;
            }
            let kind = if source == Source::Microphone {
                MediaKind::Audio
            } else {
                MediaKind::Video
            };
            let index = match free.iter().position(|i| recorder.slots[*i].kind == kind) {
                Some(at) => free.remove(at),
                None => {
                    let video = kind == MediaKind::Video;
                    let n = recorder.slots.len();
                    recorder.slots.push(OutSlot {
                        mid: Mid::from(format!("r{n}").as_str()),
                        kind,
                        source: None,
                        feed: None,
                        current: None,
                        target: None,
                        wish: None,
                        rewriter: Rewriter::new(if video { 90_000 } else { 48_000 }, video),
                    });
                    n
                }
            };
            self.recorder_slots.insert(track, index);
        }
        let large: BTreeMap<EndpointId, SlotReason> = self
            .policy
            .floor
            .map(|f| (f, SlotReason::Floor))
            .into_iter()
            .chain(self.policy.chairs.iter().map(|c| (*c, SlotReason::Chair)))
            .chain(ranking.dominant.map(|d| (d, SlotReason::Speaker)))
            .rev() // the first reason wins
            .collect();
        let mut sources: Vec<Filling> = vec![];
        let mut video: Vec<(usize, TrackId, Layer)> = vec![];
        for (&track, &index) in &self.recorder_slots {
            let Some(p) = self.tracks.get(&track) else {
                continue;
            };
            let e = track.endpoint;
            let (reason, wanted) = match p.source {
                Source::Microphone => (large.get(&e).copied().unwrap_or(SlotReason::Other), None),
                Source::Screen if self.policy.screens.contains(&e) => {
                    (SlotReason::Screen, Some(Layer::High))
                }
                Source::Screen => (SlotReason::Screen, None),
                Source::Camera if self.policy.silenced_video.contains(&e) => {
                    (SlotReason::Other, None)
                }
                Source::Camera => match large.get(&e) {
                    Some(r) => (*r, Some(Layer::High)),
                    None if policy.everyones_low_video => (SlotReason::Other, Some(Layer::Low)),
                    None => (SlotReason::Other, None),
                },
            };
            sources.push((index, Some((track, reason)), p.source));
            if let Some(wanted) = wanted {
                video.push((index, track, wanted));
            }
        }
        let recorder = &self.subscribers[&RECORDER];
        let demands: Vec<VideoDemand> = video
            .iter()
            .map(|(i, track, wanted)| {
                let p = self.tracks.get(track);
                let slot = &recorder.slots[*i];
                VideoDemand {
                    wanted: *wanted,
                    available: p.map(|p| p.available(now)).unwrap_or_default(),
                    simulcast: p.is_some_and(|p| p.simulcast),
                    current: slot
                        .current
                        .filter(|_| slot.source.map(|(t, _)| t) == Some(*track)),
                }
            })
            .collect();
        // No link to share: each gets what it wants of what arrives.
        let layers = select::allocate(None, &demands, true);
        let wishes = select::allocate(None, &demands, false);
        let targets: BTreeMap<usize, (Option<Layer>, Option<Layer>)> = video
            .iter()
            .zip(layers.into_iter().zip(wishes))
            .map(|((i, _, _), lw)| (*i, lw))
            .collect();
        self.fill(now, RECORDER, sources, &targets, config, out);
    }

    fn rebuild_routes(&mut self) {
        for p in self.tracks.values_mut() {
            p.routes.clear();
        }
        for (id, sub) in &self.subscribers {
            for (i, slot) in sub.slots.iter().enumerate() {
                if let Some((track, _)) = slot.source
                    && let Some(p) = self.tracks.get_mut(&track)
                {
                    p.routes.push((*id, i));
                }
            }
        }
    }

    /// Per simulcast camera, the layers some slot forwards or waits for, when that changed.
    fn needed_layers(&mut self) -> Vec<Notice> {
        let mut notices = vec![];
        for (track, p) in &mut self.tracks {
            // A screen's few layers are cheap at its low frame rate and always sent: a
            // viewer joining a presentation must not wait for a layer to be resumed.
            if !p.simulcast || p.source != Source::Camera {
                continue;
            }
            let mut needed: BTreeSet<Layer> = BTreeSet::new();
            for (sub, i) in &p.routes {
                if let Some(slot) = self.subscribers.get(sub).and_then(|s| s.slots.get(*i)) {
                    needed.extend(slot.current);
                    needed.extend(slot.target);
                    needed.extend(slot.wish);
                }
            }
            let needed: Vec<Layer> = needed.into_iter().collect();
            if p.reported_layers.as_ref() != Some(&needed) {
                p.reported_layers = Some(needed.clone());
                notices.push(Notice::Layers {
                    endpoint: track.endpoint,
                    layers: needed,
                });
            }
        }
        notices
    }

    /// `endpoint` is gone: its tracks are unpublished, its slots dropped, and every slot that
    /// carried it is refilled by the next [`SessionCore::evaluate`].
    pub fn remove_endpoint(&mut self, endpoint: EndpointId) -> Removal {
        self.endpoints.remove(&endpoint);
        self.subscribers.remove(&endpoint);
        self.recent.retain(|e| *e != endpoint);
        let gone: Vec<TrackId> = self
            .tracks
            .keys()
            .filter(|t| t.endpoint == endpoint)
            .copied()
            .collect();
        for track in &gone {
            self.tracks.remove(track);
        }
        self.by_endpoint.retain(|(e, _), _| *e != endpoint);
        self.recorder_slots.retain(|t, _| t.endpoint != endpoint);
        for sub in self.subscribers.values_mut() {
            for slot in &mut sub.slots {
                if slot.source.is_some_and(|(t, _)| t.endpoint == endpoint) {
                    slot.source = None;
                    slot.current = None;
                    slot.target = None;
                    slot.wish = None;
                    slot.rewriter.switch_source();
                }
            }
        }
        self.dirty = true;
        if let Some(change) = self.dominant.as_mut().and_then(|d| d.remove(endpoint)) {
            self.pending.push(Notice::Dominant(change));
        }
        Removal { tracks: gone }
    }
}
