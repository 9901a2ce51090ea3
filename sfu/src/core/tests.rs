//! Session-core tests: simulated simulcast publishers and subscribers with receive slots,
//! simulated time, and a seeded impaired link. They assert on the core's decisions: who fills
//! which slot as the speaker, the floor and the policy change, the layer chosen under a given
//! estimate, switches only at keyframes, and continuous sequence numbers and timestamps.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::ids::{EndpointId, MediaKind, Mid, TrackId};

const VP8_KEY: [u8; 3] = [0x10, 0x00, 0x9d];
const VP8_DELTA: [u8; 3] = [0x10, 0x01, 0x00];
const VP8_CONT: [u8; 3] = [0x00, 0x00, 0x00];

fn e(n: u64) -> EndpointId {
    EndpointId(n)
}

fn video_track(n: u64) -> TrackId {
    TrackId {
        endpoint: e(n),
        mid: Mid::from("v"),
    }
}

fn audio_track(n: u64) -> TrackId {
    TrackId {
        endpoint: e(n),
        mid: Mid::from("a"),
    }
}

/// One simulcast layer of a simulated VP8 publisher: 3 packets a frame, a keyframe every
/// `gop` frames or when asked, packets sized so that 25 fps make the layer's nominal bitrate.
#[derive(Debug)]
struct LayerSource {
    ssrc: u32,
    packet_bytes: usize,
    seq: u64,
    ts: u32,
    frame: u32,
    gop: u32,
    key_asked: bool,
}

impl LayerSource {
    fn new(ssrc: u32, gop: u32, layer: Layer) -> Self {
        // 3 packets a frame, 25 frames a second, 40 bytes of headers counted per packet.
        let packet_bytes = (select::nominal_bitrate(layer) / 8 / 25 / 3) as usize - 40;
        LayerSource {
            ssrc,
            packet_bytes,
            seq: u64::from(ssrc) * 7 % 50_000,
            ts: ssrc.wrapping_mul(2_654_435_761),
            frame: 1, // the first frame is a delta: keyframes come from requests or the gop
            gop,
            key_asked: false,
        }
    }

    fn next_frame(&mut self) -> Vec<(u64, u32, Vec<u8>, bool)> {
        let key = self.key_asked || self.frame.is_multiple_of(self.gop);
        self.key_asked = false;
        self.frame += 1;
        let sized = |head: &[u8]| {
            let mut p = head.to_vec();
            p.resize(self.packet_bytes, 0);
            p
        };
        let first = if key { &VP8_KEY } else { &VP8_DELTA };
        let out = vec![
            (self.seq, self.ts, sized(first), key),
            (self.seq + 1, self.ts, sized(&VP8_CONT), false),
            (self.seq + 2, self.ts, sized(&VP8_CONT), false),
        ];
        self.seq += 3;
        self.ts = self.ts.wrapping_add(3000);
        out
    }
}

/// What a subscriber got on one slot: (publisher, layer, out seq, out ts, keyframe start).
type Received = Vec<(EndpointId, Layer, u64, u32, bool)>;

/// A session of `n` endpoints, each publishing Opus audio and 3-layer VP8 simulcast and each
/// with the default receive slots, driven in simulated time.
struct Meeting {
    core: SessionCore,
    now: Instant,
    layers: BTreeMap<(EndpointId, Layer), LayerSource>,
    audio_seq: u64,
    /// Everything forwarded, per (subscriber, slot mid).
    received: BTreeMap<(EndpointId, Mid), Received>,
    /// The latest slot list reported per subscriber.
    slots: BTreeMap<EndpointId, Vec<SlotInfo>>,
    layers_needed: BTreeMap<EndpointId, Vec<Layer>>,
    dominant: Option<EndpointId>,
    keyframe_asks: Vec<(TrackId, Layer)>,
    speaking: Vec<(EndpointId, bool)>,
    /// Publishers whose video is sent (the others are silent on video).
    sending_video: BTreeSet<EndpointId>,
}

impl Meeting {
    fn new(n: u64) -> Self {
        Self::with(n, CoreConfig::default())
    }

    fn with(n: u64, config: CoreConfig) -> Self {
        let mut core = SessionCore::new(config);
        let mut layers = BTreeMap::new();
        for i in 1..=n {
            core.add_endpoint(e(i));
            core.publish(audio_track(i), MediaKind::Audio, false);
            core.publish(video_track(i), MediaKind::Video, true);
            for (k, layer) in Layer::SIMULCAST.iter().enumerate() {
                let ssrc = (i * 10 + k as u64) as u32;
                layers.insert((e(i), *layer), LayerSource::new(ssrc, 90, *layer));
            }
            let mut slots = vec![];
            for a in 0..config.audio_slots {
                slots.push((Mid::from(format!("a{a}").as_str()), MediaKind::Audio));
            }
            for v in 0..config.video_slots {
                slots.push((Mid::from(format!("v{v}").as_str()), MediaKind::Video));
            }
            core.add_slots(e(i), &slots);
        }
        let mut m = Meeting {
            core,
            now: Instant::now(),
            layers,
            audio_seq: 1,
            received: BTreeMap::new(),
            slots: BTreeMap::new(),
            layers_needed: BTreeMap::new(),
            dominant: None,
            keyframe_asks: vec![],
            speaking: vec![],
            sending_video: (1..=n).map(e).collect(),
        };
        m.evaluate();
        m
    }

    fn evaluate(&mut self) {
        let mut out = vec![];
        let notices = self.core.evaluate(self.now, &mut out);
        self.apply(&out);
        for n in notices {
            match n {
                Notice::Slots { endpoint, slots } => {
                    self.slots.insert(endpoint, slots);
                }
                Notice::Layers { endpoint, layers } => {
                    self.layers_needed.insert(endpoint, layers);
                }
                Notice::Dominant(d) => self.dominant = d,
                Notice::Speaking { endpoint, speaking } => self.speaking.push((endpoint, speaking)),
            }
        }
    }

    fn apply(&mut self, out: &[Decision]) {
        for d in out {
            if let Decision::RequestKeyframe { track, layer } = *d {
                self.keyframe_asks.push((track, layer));
                if let Some(l) = self.layers.get_mut(&(track.endpoint, layer)) {
                    l.key_asked = true;
                }
            }
        }
    }

    /// Run `ms` of meeting: every publisher sends audio every 20 ms (voice if it is in
    /// `speaking`) and every layer of its video at 25 fps; the core is evaluated every 100 ms.
    fn run(&mut self, ms: u64, speaking: &[EndpointId]) {
        let publishers: Vec<EndpointId> = self.core.endpoints().collect();
        for tick in 0..ms / 20 {
            self.now += Duration::from_millis(20);
            for p in &publishers {
                let level = if speaking.contains(p) { -20 } else { -110 };
                let seq = self.audio_seq;
                let pkt = RtpIn {
                    ssrc: p.0 as u32,
                    seq,
                    ts: (seq * 960) as u32,
                    codec: Codec::Opus,
                    payload: &[0xfc, 0xff],
                    audio_level: Some(level),
                };
                let mut out = vec![];
                self.core.handle_rtp(
                    self.now,
                    TrackId {
                        endpoint: *p,
                        mid: Mid::from("a"),
                    },
                    Layer::Single,
                    &pkt,
                    &mut out,
                );
                self.record(*p, Layer::Single, &out, false);
                if tick % 2 == 0 && self.sending_video.contains(p) {
                    for layer in Layer::SIMULCAST {
                        let frame = self.layers.get_mut(&(*p, layer)).unwrap().next_frame();
                        let ssrc = self.layers[&(*p, layer)].ssrc;
                        for (seq, ts, payload, key) in frame {
                            self.send_video(*p, layer, ssrc, seq, ts, &payload, key);
                        }
                    }
                }
            }
            self.audio_seq += 1;
            if tick % 5 == 4 {
                self.evaluate();
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn send_video(
        &mut self,
        p: EndpointId,
        layer: Layer,
        ssrc: u32,
        seq: u64,
        ts: u32,
        payload: &[u8],
        key: bool,
    ) {
        let pkt = RtpIn {
            ssrc,
            seq,
            ts,
            codec: Codec::Vp8,
            payload,
            audio_level: None,
        };
        let mut out = vec![];
        self.core.handle_rtp(
            self.now,
            TrackId {
                endpoint: p,
                mid: Mid::from("v"),
            },
            layer,
            &pkt,
            &mut out,
        );
        self.record(p, layer, &out, key);
    }

    fn record(&mut self, from: EndpointId, layer: Layer, out: &[Decision], key: bool) {
        self.apply(out);
        for d in out {
            if let Decision::Forward {
                to, mid, seq, ts, ..
            } = *d
            {
                self.received
                    .entry((to, mid))
                    .or_default()
                    .push((from, layer, seq, ts, key));
            }
        }
    }

    /// Who `sub`'s slots of `kind` carry, by the latest `slots` notice.
    fn carried(&self, sub: EndpointId, kind: MediaKind) -> BTreeSet<EndpointId> {
        self.slots[&sub]
            .iter()
            .filter(|s| s.kind == kind)
            .filter_map(|s| s.publisher)
            .collect()
    }

    fn slot_of(&self, sub: EndpointId, publisher: EndpointId) -> SlotInfo {
        *self.slots[&sub]
            .iter()
            .find(|s| s.kind == MediaKind::Video && s.publisher == Some(publisher))
            .unwrap_or_else(|| panic!("{sub} does not see {publisher}"))
    }

    /// Publishers whose media reached `sub` (of `kind`) since the last `clear`.
    fn heard_from(&self, sub: EndpointId, kind: MediaKind) -> BTreeSet<EndpointId> {
        let prefix = if kind == MediaKind::Audio { 'a' } else { 'v' };
        self.received
            .iter()
            .filter(|((to, mid), _)| *to == sub && mid.to_string().starts_with(prefix))
            .flat_map(|(_, r)| r.iter().map(|x| x.0))
            .collect()
    }

    fn clear(&mut self) {
        self.received.clear();
        self.keyframe_asks.clear();
    }

    /// Every slot's output: sequence numbers 1, 2, 3… without a gap or a repeat whatever it
    /// carried, timestamps never going back, and every change of source starting on a
    /// keyframe. (The simulated links here lose nothing.)
    fn assert_continuous(&self) {
        for ((sub, mid), got) in &self.received {
            for w in got.windows(2) {
                let (a, b) = (w[0], w[1]);
                assert_eq!(b.2, a.2 + 1, "{sub} {mid}: sequence continues");
                assert!(
                    b.3.wrapping_sub(a.3) < u32::MAX / 2,
                    "{sub} {mid}: timestamp never goes back"
                );
                if (a.0, a.1) != (b.0, b.1) && mid.to_string().starts_with('v') {
                    assert!(b.4, "{sub} {mid}: a switch starts at a keyframe");
                }
            }
        }
    }
}

#[test]
fn slots_are_filled_floor_chair_speaker_then_the_others_and_never_oneself() {
    let mut m = Meeting::new(20);
    m.core.set_policy(SessionPolicy {
        floor: Some(e(9)),
        chairs: vec![e(1)],
        ..Default::default()
    });
    m.run(3000, &[e(14)]);
    assert_eq!(m.dominant, Some(e(14)));
    for sub in 1..=20 {
        let video = m.carried(e(sub), MediaKind::Video);
        assert_eq!(video.len(), 11, "{sub}: last-N fills the 11 video slots");
        assert!(!video.contains(&e(sub)), "{sub} never receives itself");
        for must in [9, 1, 14] {
            assert!(sub == must || video.contains(&e(must)), "{sub} sees {must}");
        }
    }
    assert_eq!(m.slot_of(e(5), e(9)).reason, Some(SlotReason::Floor));
    assert_eq!(m.slot_of(e(5), e(1)).reason, Some(SlotReason::Chair));
    assert_eq!(m.slot_of(e(5), e(14)).reason, Some(SlotReason::Speaker));
    // Others fill the rest in the order they joined: 2, 3, 4, 5 (not for 5 itself)…
    assert_eq!(m.slot_of(e(5), e(2)).reason, Some(SlotReason::Other));
    assert!(!m.carried(e(5), MediaKind::Video).contains(&e(20)));
    m.assert_continuous();
}

#[test]
fn a_subscriber_receives_only_its_last_n_video_and_the_top_k_audio() {
    let mut m = Meeting::new(30);
    m.core.set_policy(SessionPolicy {
        chairs: vec![e(1)],
        ..Default::default()
    });
    m.run(2000, &[e(7), e(8)]);
    m.clear();
    m.run(1000, &[e(7), e(8)]);
    for sub in [2u64, 15, 30] {
        let video = m.heard_from(e(sub), MediaKind::Video);
        assert_eq!(video, m.carried(e(sub), MediaKind::Video));
        assert_eq!(video.len(), 11, "{sub}: never the 19 others");
        let audio = m.heard_from(e(sub), MediaKind::Audio);
        // The chair, the two speakers, and the loudest of the silent to fill the top 3.
        assert!(audio.len() <= 4, "{sub} hears {audio:?}");
        for must in [1, 7, 8] {
            assert!(audio.contains(&e(must)), "{sub} hears {must}: {audio:?}");
        }
    }
}

#[test]
fn the_speaker_slot_follows_the_dominant_speaker_with_hysteresis() {
    let mut m = Meeting::new(25);
    m.run(2000, &[e(20)]);
    assert_eq!(m.dominant, Some(e(20)));
    assert_eq!(m.slot_of(e(3), e(20)).reason, Some(SlotReason::Speaker));
    // 21 interrupts briefly while 20 goes on: nothing changes.
    m.run(600, &[e(20), e(21)]);
    assert_eq!(m.dominant, Some(e(20)));
    // 20 stops and 22 speaks for a while: 22 becomes the speaker, 20 stays visible as recent.
    m.run(3000, &[e(22)]);
    assert_eq!(m.dominant, Some(e(22)));
    assert_eq!(m.slot_of(e(3), e(22)).reason, Some(SlotReason::Speaker));
    assert_eq!(m.slot_of(e(3), e(20)).reason, Some(SlotReason::Recent));
    let heard = {
        m.clear();
        m.run(1000, &[e(22)]);
        m.heard_from(e(3), MediaKind::Video)
    };
    assert!(heard.contains(&e(22)) && heard.contains(&e(20)));
    m.assert_continuous();
}

#[test]
fn the_floor_is_seen_and_heard_by_everyone_and_shown_large() {
    let mut m = Meeting::new(30);
    m.run(1000, &[]);
    assert!(!m.carried(e(2), MediaKind::Video).contains(&e(27)));
    m.core.set_policy(SessionPolicy {
        floor: Some(e(27)),
        chairs: vec![e(1)],
        ..Default::default()
    });
    m.evaluate();
    m.clear();
    m.run(2000, &[]);
    for sub in (1..=30).filter(|s| *s != 27) {
        assert!(m.heard_from(e(sub), MediaKind::Video).contains(&e(27)));
        assert!(m.heard_from(e(sub), MediaKind::Audio).contains(&e(27)));
        let slot = m.slot_of(e(sub), e(27));
        assert_eq!(slot.reason, Some(SlotReason::Floor));
        // A large tile (720 px by default) with an unlimited link: the full layer.
        assert_eq!(slot.layer, Some(Layer::High), "{sub}");
    }
    m.assert_continuous();
}

#[test]
fn the_layer_follows_the_estimate_switching_up_only_at_a_keyframe_and_down_promptly() {
    let mut m = Meeting::new(4);
    m.core.set_policy(SessionPolicy {
        chairs: vec![e(1)],
        ..Default::default()
    });
    let sub = e(2);
    // 700 kbit/s: after 3 × 40 kbit/s of audio, 580 for video: every tile at q (3 × 150),
    // and not enough left to raise the chair's large tile to h (+350).
    m.core.set_estimate(sub, 700_000);
    m.run(3000, &[]);
    assert_eq!(m.slot_of(sub, e(1)).layer, Some(Layer::Low));
    for other in [3, 4] {
        assert_eq!(m.slot_of(sub, e(other)).layer, Some(Layer::Low));
    }

    // The link improves: the chair's tile goes to the full layer, at its next keyframe only.
    m.clear();
    m.core.set_estimate(sub, 5_000_000);
    m.evaluate();
    assert!(
        m.keyframe_asks.contains(&(video_track(1), Layer::High)),
        "a keyframe of the target layer is asked at once: {:?}",
        m.keyframe_asks
    );
    m.run(2000, &[]);
    assert_eq!(m.slot_of(sub, e(1)).layer, Some(Layer::High));
    let chair_mid = m.slot_of(sub, e(1)).mid;
    let got = &m.received[&(sub, chair_mid)];
    let first_high = got.iter().position(|r| r.1 == Layer::High).unwrap();
    assert!(got[first_high].4, "the switch up happens at a keyframe");
    assert!(got[..first_high].iter().all(|r| r.1 == Layer::Low));

    // The link collapses (400 kbit/s: 280 for video, the chair at q and one thumbnail): the
    // next evaluation asks for the low layer's keyframe at once, and the slot keeps the high
    // layer only until it comes.
    m.clear();
    m.core.set_estimate(sub, 400_000);
    m.evaluate();
    assert!(m.keyframe_asks.contains(&(video_track(1), Layer::Low)));
    m.run(200, &[]);
    assert_eq!(m.slot_of(sub, e(1)).layer, Some(Layer::Low));
    m.assert_continuous();
}

#[test]
fn a_starved_link_pauses_thumbnails_before_the_chair() {
    let mut m = Meeting::new(6);
    m.core.set_policy(SessionPolicy {
        chairs: vec![e(1)],
        ..Default::default()
    });
    m.run(2000, &[]);
    // 500 kbit/s, 5 × 40 for audio: 300 for video, two tiles at q.
    m.core.set_estimate(e(2), 500_000);
    m.run(2000, &[]);
    let slots = &m.slots[&e(2)];
    let sending: Vec<_> = slots
        .iter()
        .filter(|s| s.kind == MediaKind::Video && s.layer.is_some())
        .map(|s| s.publisher.unwrap())
        .collect();
    assert!(sending.contains(&e(1)), "the chair is kept: {sending:?}");
    assert_eq!(
        sending.len(),
        2,
        "the other thumbnails are paused: {sending:?}"
    );
    m.clear();
    m.run(1000, &[]);
    let video = m.heard_from(e(2), MediaKind::Video);
    assert_eq!(video, sending.iter().copied().collect());
}

#[test]
fn layers_nobody_receives_are_reported_unneeded() {
    let mut m = Meeting::with(
        15,
        CoreConfig {
            video_slots: 3,
            ..CoreConfig::default()
        },
    );
    m.core.set_policy(SessionPolicy {
        chairs: vec![e(1)],
        ..Default::default()
    });
    m.run(2000, &[]);
    // With 3 slots: everyone sees the chair (large: f), 2 and 3 (thumbnails: q); the chair
    // sees 2, 3, 4. Nobody sees 5 to 15, whose publishers may pause everything.
    assert_eq!(m.layers_needed[&e(1)], vec![Layer::High]);
    assert_eq!(m.layers_needed[&e(2)], vec![Layer::Low]);
    for quiet in 5..=15 {
        assert_eq!(m.layers_needed[&e(quiet)], vec![], "{quiet}");
    }
    // Receiving "low" everywhere: nobody needs the chair's full layer any more.
    for sub in 2..=15 {
        m.core.set_receive(
            e(sub),
            ReceivePrefs {
                mode: ReceiveMode::Low,
                ..Default::default()
            },
        );
    }
    m.run(1000, &[]);
    assert_eq!(m.layers_needed[&e(1)], vec![Layer::Low]);
}

#[test]
fn a_layer_that_stops_arriving_is_resumed_on_request() {
    let mut m = Meeting::new(3);
    m.run(1000, &[]);
    // Publisher 3 sends nothing for a while (paused by its client), then comes back.
    m.sending_video.remove(&e(3));
    m.run(3000, &[]);
    m.sending_video.insert(e(3));
    m.clear();
    m.run(2000, &[]);
    assert!(m.heard_from(e(2), MediaKind::Video).contains(&e(3)));
    m.assert_continuous();
}

#[test]
fn the_chair_muting_someone_stops_its_audio_everywhere() {
    let mut m = Meeting::new(8);
    m.run(2000, &[e(5)]);
    assert!(m.heard_from(e(2), MediaKind::Audio).contains(&e(5)));
    m.core.set_policy(SessionPolicy {
        silenced_audio: [e(5)].into(),
        silenced_video: [e(6)].into(),
        ..Default::default()
    });
    m.evaluate();
    m.clear();
    m.run(2000, &[e(5)]);
    for sub in (1..=8).filter(|s| *s != 5 && *s != 6) {
        assert!(!m.heard_from(e(sub), MediaKind::Audio).contains(&e(5)));
        assert!(!m.heard_from(e(sub), MediaKind::Video).contains(&e(6)));
        assert!(m.heard_from(e(sub), MediaKind::Video).contains(&e(5)));
    }
}

#[test]
fn audio_only_receives_no_video_and_pinned_publishers_are_seen() {
    let mut m = Meeting::with(
        12,
        CoreConfig {
            video_slots: 4,
            ..CoreConfig::default()
        },
    );
    m.core.set_receive(
        e(2),
        ReceivePrefs {
            mode: ReceiveMode::AudioOnly,
            ..Default::default()
        },
    );
    m.core.set_receive(
        e(3),
        ReceivePrefs {
            pinned: vec![e(12), e(11)],
            ..Default::default()
        },
    );
    m.run(2000, &[]);
    m.clear();
    m.run(1000, &[]);
    assert!(m.heard_from(e(2), MediaKind::Video).is_empty());
    assert!(!m.heard_from(e(2), MediaKind::Audio).is_empty());
    let seen = m.heard_from(e(3), MediaKind::Video);
    assert!(seen.contains(&e(12)) && seen.contains(&e(11)), "{seen:?}");
    assert_eq!(m.slot_of(e(3), e(12)).reason, Some(SlotReason::Pinned));
}

#[test]
fn a_leaver_is_replaced_in_the_slot_continuously() {
    let mut m = Meeting::with(
        6,
        CoreConfig {
            video_slots: 2,
            ..CoreConfig::default()
        },
    );
    m.run(2000, &[]);
    assert_eq!(
        m.carried(e(1), MediaKind::Video),
        [e(2), e(3)].into_iter().collect()
    );
    let mid_of_2 = m.slot_of(e(1), e(2)).mid;
    m.core.remove_endpoint(e(2));
    m.layers.retain(|(p, _), _| *p != e(2));
    m.evaluate();
    m.run(3000, &[]);
    assert_eq!(m.slot_of(e(1), e(4)).mid, mid_of_2, "4 takes 2's slot");
    m.assert_continuous();
    let got = &m.received[&(e(1), mid_of_2)];
    assert!(got.iter().any(|r| r.0 == e(2)) && got.iter().any(|r| r.0 == e(4)));
}

#[test]
fn a_subscribers_keyframe_request_reaches_the_layer_it_receives_throttled() {
    let mut m = Meeting::new(3);
    m.run(2000, &[]);
    let slot = m.slot_of(e(2), e(1));
    let t = m.now + Duration::from_secs(1);
    assert_eq!(
        m.core.handle_keyframe_request(t, e(2), slot.mid),
        Some((video_track(1), slot.layer.unwrap()))
    );
    assert_eq!(m.core.handle_keyframe_request(t, e(3), slot.mid), None);
    let other = m.slot_of(e(3), e(1));
    assert_eq!(
        m.core.handle_keyframe_request(t, e(3), other.mid),
        None,
        "throttled per publisher layer"
    );
    assert_eq!(
        m.core
            .handle_keyframe_request(t + Duration::from_millis(600), e(3), other.mid),
        Some((video_track(1), other.layer.unwrap()))
    );
}

/// A keyframe request the throttle refused — the keyframe just asked for may be the one a
/// congested link lost — reaches the publisher when the interval ends, once; a keyframe
/// arriving before then answers it instead.
#[test]
fn a_throttled_keyframe_request_goes_out_when_the_interval_ends_unless_a_keyframe_answers_it() {
    let mut m = Meeting::new(3);
    m.run(2000, &[]);
    let to_2 = m.slot_of(e(2), e(1));
    let to_3 = m.slot_of(e(3), e(1));
    let layer = to_3.layer.unwrap();
    assert_eq!(to_2.layer, Some(layer));
    let asks = |m: &Meeting| {
        m.keyframe_asks
            .iter()
            .filter(|a| **a == (video_track(1), layer))
            .count()
    };

    // 2 asks and is answered at once; 3 asks 60 ms later and is refused.
    let first = m.core.handle_keyframe_request(m.now, e(2), to_2.mid);
    assert_eq!(first, Some((video_track(1), layer)));
    m.run(60, &[]);
    assert_eq!(m.core.handle_keyframe_request(m.now, e(3), to_3.mid), None);
    // The publisher does not answer the first (its keyframe lost upstream, say): the refused
    // request goes out once the 500 ms are over, and only once.
    m.keyframe_asks.clear();
    m.run(400, &[]);
    assert_eq!(asks(&m), 0, "not before the interval ends");
    m.run(200, &[]);
    assert_eq!(asks(&m), 1, "the deferred request when it ends");
    m.run(1000, &[]);
    assert_eq!(asks(&m), 1, "once");

    // Now a refused request that a keyframe answers: nothing more goes out.
    let t = m.now + Duration::from_millis(1);
    m.run(20, &[]);
    assert!(m.core.handle_keyframe_request(t, e(2), to_2.mid).is_some());
    assert_eq!(
        m.core
            .handle_keyframe_request(t + Duration::from_millis(50), e(3), to_3.mid),
        None
    );
    m.layers.get_mut(&(e(1), layer)).unwrap().key_asked = true;
    m.keyframe_asks.clear();
    m.run(1000, &[]);
    assert_eq!(asks(&m), 0, "the keyframe answered the refused request");
}

/// A seeded impaired link (loss, jitter, reordering) between publishers and the core: every
/// packet that arrives is forwarded at most once, within a slot's epoch the sequence-number
/// differences of the input are preserved (so NACKs downstream name the right packets), and
/// no slot ever starts a source except at a keyframe.
#[test]
fn an_impaired_upstream_link_is_passed_through_faithfully() {
    for seed in [1u64, 7, 42, 1234] {
        let mut rng = StdRng::seed_from_u64(seed);
        let mut core = SessionCore::new(CoreConfig::default());
        for i in 1..=3 {
            core.add_endpoint(e(i));
            core.publish(video_track(i), MediaKind::Video, false);
            core.add_slots(e(i), &[(Mid::from("v0"), MediaKind::Video)]);
        }
        let t0 = Instant::now();
        let mut out = vec![];
        core.evaluate(t0, &mut out);
        let mut src = LayerSource::new(0xC0, 15, Layer::Low);
        let mut in_flight = vec![];
        for f in 0..300u64 {
            let sent = t0 + Duration::from_millis(33 * f);
            for (seq, ts, p, key) in src.next_frame() {
                if rng.random_bool(0.05) {
                    continue; // lost
                }
                let jitter = Duration::from_millis(rng.random_range(0..80));
                in_flight.push((sent + jitter, seq, ts, p, key));
            }
        }
        in_flight.sort_by_key(|p| p.0);
        let mut delivered = vec![];
        let mut evaluated = t0;
        for (at, seq, ts, p, key) in &in_flight {
            out.clear();
            if *at >= evaluated + Duration::from_millis(100) {
                evaluated = *at;
                core.evaluate(*at, &mut out);
            }
            let pkt = RtpIn {
                ssrc: 0xC0,
                seq: *seq,
                ts: *ts,
                codec: Codec::Vp8,
                payload: &p[..],
                audio_level: None,
            };
            core.handle_rtp(*at, video_track(1), Layer::Single, &pkt, &mut out);
            let to_2: Vec<_> = out
                .iter()
                .filter_map(|d| match *d {
                    Decision::Forward { to, seq, ts, .. } if to == e(2) => Some((seq, ts)),
                    _ => None,
                })
                .collect();
            if delivered.is_empty() && !to_2.is_empty() {
                assert!(
                    key,
                    "the first packet forwarded starts a keyframe (seed {seed})"
                );
            }
            for (out_seq, out_ts) in to_2 {
                delivered.push((*seq, *ts, out_seq, out_ts));
            }
        }
        assert!(!delivered.is_empty());
        let (first_in, first_ts, first_out, first_out_ts) = delivered[0];
        for (seq, ts, out_seq, out_ts) in &delivered {
            assert_eq!(out_seq - first_out, seq - first_in, "seed {seed}");
            assert_eq!(
                out_ts.wrapping_sub(first_out_ts),
                ts.wrapping_sub(first_ts),
                "seed {seed}"
            );
        }
        let unique: BTreeSet<_> = delivered.iter().map(|d| d.2).collect();
        assert_eq!(unique.len(), delivered.len(), "no duplicates (seed {seed})");
    }
}

#[test]
fn speaking_changes_are_reported_once_per_change() {
    let mut m = Meeting::new(2);
    m.run(400, &[]);
    m.run(800, &[e(1)]);
    m.run(1500, &[]);
    assert_eq!(m.speaking, vec![(e(1), true), (e(1), false)]);
    assert_eq!(
        m.dominant,
        Some(e(1)),
        "the speaker stays dominant in the silence"
    );
}

/// A presenter's screen: its second video track, two layers (`h`, `f`) at a few frames a
/// second, sent from its first frame on as delta frames until someone asks for a keyframe.
fn send_screen_frame(m: &mut Meeting, presenter: EndpointId, sources: &mut [LayerSource]) {
    let track = TrackId {
        endpoint: presenter,
        mid: Mid::from("s"),
    };
    for (layer, source) in [Layer::Mid, Layer::High]
        .into_iter()
        .zip(sources.iter_mut())
    {
        // The core's keyframe asks for this track reach the source.
        source.key_asked |= m
            .keyframe_asks
            .iter()
            .any(|(t, l)| *t == track && *l == layer);
        let ssrc = source.ssrc;
        for (seq, ts, payload, key) in source.next_frame() {
            let pkt = RtpIn {
                ssrc,
                seq,
                ts,
                codec: Codec::Vp8,
                payload: &payload,
                audio_level: None,
            };
            let mut out = vec![];
            m.core.handle_rtp(m.now, track, layer, &pkt, &mut out);
            m.record(presenter, layer, &out, key);
        }
    }
}

#[test]
fn a_shared_screen_goes_to_everyone_first_and_250_viewers_cost_the_presenter_few_keyframes() {
    let mut m = Meeting::new(250);
    let presenter = e(7);
    let screen = TrackId {
        endpoint: presenter,
        mid: Mid::from("s"),
    };
    // The second video m-line is the screen; audio and the first video are mic and camera.
    assert_eq!(
        m.core.publish(screen, MediaKind::Video, true),
        Source::Screen
    );
    assert_eq!(
        m.core.publish(video_track(7), MediaKind::Video, true),
        Source::Camera,
        "publishing again changes nothing"
    );
    m.run(500, &[]);
    // Published but not shared: nobody gets it.
    assert!(
        m.slots
            .values()
            .flatten()
            .all(|s| s.source != Some(Source::Screen))
    );

    m.core.set_policy(SessionPolicy {
        floor: Some(presenter),
        screens: vec![presenter],
        ..Default::default()
    });
    m.evaluate();
    for sub in (1..=250).map(e).filter(|s| *s != presenter) {
        let slots = &m.slots[&sub];
        let screen_slot = slots
            .iter()
            .find(|s| s.source == Some(Source::Screen))
            .unwrap_or_else(|| panic!("{sub} gets the screen"));
        assert_eq!(screen_slot.publisher, Some(presenter));
        assert_eq!(screen_slot.reason, Some(SlotReason::Screen));
        // The presenter's camera still has its own slot, as the floor.
        assert!(slots.iter().any(|s| s.publisher == Some(presenter)
            && s.source == Some(Source::Camera)
            && s.reason == Some(SlotReason::Floor)));
    }
    assert!(
        m.slots[&presenter]
            .iter()
            .all(|s| s.source != Some(Source::Screen)),
        "the presenter does not get its own screen back"
    );

    // 249 viewers wait for the screen's first keyframe, and each asks for one (PLI) too.
    let mut sources = [
        LayerSource::new(9001, 1000, Layer::Mid),
        LayerSource::new(9002, 1000, Layer::High),
    ];
    m.keyframe_asks.clear();
    let mut pli_passed = 0;
    for round in 0..10 {
        // 5 frames a second, for 2 s.
        m.now += Duration::from_millis(200);
        send_screen_frame(&mut m, presenter, &mut sources);
        if round < 3 {
            for sub in (1..=250).map(e).filter(|s| *s != presenter) {
                let mid = m.slots[&sub]
                    .iter()
                    .find(|s| s.source == Some(Source::Screen))
                    .unwrap()
                    .mid;
                if let Some((track, layer)) = m.core.handle_keyframe_request(m.now, sub, mid) {
                    assert_eq!(track, screen);
                    m.keyframe_asks.push((track, layer));
                    pli_passed += 1;
                }
            }
        }
        m.evaluate();
    }
    let asks = m.keyframe_asks.iter().filter(|(t, _)| *t == screen).count();
    // One per layer per 500 ms at most, over 2 s: never one per viewer.
    assert!(
        (1..=2 * 5).contains(&asks),
        "{asks} keyframe requests reached the presenter"
    );
    assert!(pli_passed <= 2, "{pli_passed} of 747 PLIs passed");
    // Every viewer receives the screen, whole, from its keyframe on.
    for sub in (1..=250).map(e).filter(|s| *s != presenter) {
        let mid = m.slots[&sub]
            .iter()
            .find(|s| s.source == Some(Source::Screen))
            .unwrap()
            .mid;
        let got = &m.received[&(sub, mid)];
        assert!(
            got.first().is_some_and(|g| g.4),
            "{sub}: starts at a keyframe"
        );
        assert!(got.len() >= 3 * 5, "{sub}: {} screen packets", got.len());
    }

    // The share stops: the slots go back to cameras.
    m.core.set_policy(SessionPolicy {
        floor: Some(presenter),
        ..Default::default()
    });
    m.evaluate();
    assert!(
        m.slots
            .values()
            .flatten()
            .all(|s| s.source != Some(Source::Screen))
    );
    m.assert_continuous();
}

#[test]
fn layers_notices_speak_of_the_camera_only() {
    let mut m = Meeting::new(4);
    let presenter = e(2);
    m.run(1000, &[]);
    let camera = m.layers_needed[&presenter].clone();
    assert!(!camera.is_empty(), "everyone watches its camera");
    // A screen track appears (not shared: nobody receives it), then is shared: neither
    // changes what the presenter is asked to send of its camera.
    m.core.publish(
        TrackId {
            endpoint: presenter,
            mid: Mid::from("s"),
        },
        MediaKind::Video,
        true,
    );
    m.run(500, &[]);
    assert_eq!(m.layers_needed[&presenter], camera);
    m.core.set_policy(SessionPolicy {
        screens: vec![presenter],
        ..Default::default()
    });
    m.run(500, &[]);
    assert!(
        m.slots[&e(1)]
            .iter()
            .any(|s| s.publisher == Some(presenter) && s.source == Some(Source::Screen))
    );
    assert_eq!(m.layers_needed[&presenter], camera);
}

#[test]
fn the_recorder_gets_every_microphone_and_the_chair_floor_and_speaker_cameras_at_their_best() {
    let mut m = Meeting::new(12);
    // Every viewer asks for the lowest layer: only the recorder wants more.
    for i in 1..=12 {
        m.core.set_receive(
            e(i),
            ReceivePrefs {
                mode: ReceiveMode::Low,
                ..Default::default()
            },
        );
    }
    m.core.set_policy(SessionPolicy {
        floor: Some(e(3)),
        chairs: vec![e(1)],
        ..Default::default()
    });
    m.core.set_recording(Some(RecordPolicy::default()));
    m.run(3000, &[e(5)]);
    assert_eq!(m.dominant, Some(e(5)));
    let recorder = m.slots[&RECORDER].clone();
    let audio: BTreeSet<EndpointId> = recorder
        .iter()
        .filter(|s| s.source == Some(Source::Microphone))
        .filter_map(|s| s.publisher)
        .collect();
    assert_eq!(audio, (1..=12).map(e).collect(), "every microphone");
    let flowing = |m: &Meeting| -> BTreeMap<EndpointId, Option<Layer>> {
        m.slots[&RECORDER]
            .iter()
            .filter(|s| s.source == Some(Source::Camera))
            .map(|s| (s.publisher.unwrap(), s.layer))
            .collect()
    };
    let cameras = flowing(&m);
    assert_eq!(cameras.len(), 12, "a slot per camera, paused or not");
    for (who, layer) in &cameras {
        let want = [1, 3, 5].contains(&who.0).then_some(Layer::High);
        assert_eq!(*layer, want, "{who}");
    }
    // The publishers send the full layer for the recorder alone.
    assert!(m.layers_needed[&e(3)].contains(&Layer::High));
    assert!(!m.layers_needed[&e(8)].contains(&Layer::High));
    // What reached the recorder: each recorded stream continuous, video from a keyframe.
    m.clear();
    m.run(1000, &[e(5)]);
    let heard = m.heard_from(RECORDER, MediaKind::Audio);
    assert!(heard.is_empty(), "recorder mids are r*, not a*: {heard:?}");
    let got: BTreeMap<Mid, &Received> = m
        .received
        .iter()
        .filter(|((to, _), _)| *to == RECORDER)
        .map(|((_, mid), r)| (*mid, r))
        .collect();
    let video_from: BTreeSet<EndpointId> = recorder
        .iter()
        .filter(|s| s.source == Some(Source::Camera))
        .filter(|s| got.get(&s.mid).is_some_and(|r| !r.is_empty()))
        .filter_map(|s| s.publisher)
        .collect();
    assert_eq!(video_from, [e(1), e(3), e(5)].into());
    let audio_from: BTreeSet<EndpointId> = recorder
        .iter()
        .filter(|s| s.source == Some(Source::Microphone))
        .filter(|s| got.get(&s.mid).is_some_and(|r| r.len() >= 45))
        .filter_map(|s| s.publisher)
        .collect();
    assert_eq!(
        audio_from,
        (1..=12).map(e).collect(),
        "1 s of every microphone"
    );
    for r in got.values() {
        assert!(r.iter().all(|x| x.1 == Layer::High || x.1 == Layer::Single));
    }

    // Someone else speaks: its camera is recorded, the former speaker's pauses — on the same
    // slot, so the recorder's stream of it goes on where it stopped when it comes back.
    let slot_of_5 = recorder
        .iter()
        .find(|s| s.publisher == Some(e(5)) && s.source == Some(Source::Camera))
        .unwrap()
        .mid;
    m.run(4000, &[e(8)]);
    assert_eq!(m.dominant, Some(e(8)));
    let cameras = flowing(&m);
    assert_eq!(cameras[&e(8)], Some(Layer::High));
    assert_eq!(cameras[&e(5)], None, "paused");
    let paused_at = m.received[&(RECORDER, slot_of_5)].len();
    m.run(4000, &[e(5)]);
    let stream = &m.received[&(RECORDER, slot_of_5)];
    assert!(stream.len() > paused_at, "resumed");
    let (before, after) = (stream[paused_at - 1], stream[paused_at]);
    assert!(after.4, "resumes at a keyframe");
    assert_eq!(after.2, before.2 + 1, "the sequence goes on without a gap");
    assert!(
        after.3.wrapping_sub(before.3) > 90_000,
        "the time moved on with the pause"
    );
    m.assert_continuous();

    // A leaver's slots are reused for a newcomer's tracks.
    let slots_before = m.slots[&RECORDER].len();
    m.core.remove_endpoint(e(12));
    m.core.add_endpoint(e(13));
    m.core.publish(audio_track(13), MediaKind::Audio, false);
    m.core.publish(video_track(13), MediaKind::Video, true);
    m.evaluate();
    assert_eq!(m.slots[&RECORDER].len(), slots_before);
    assert!(
        m.slots[&RECORDER]
            .iter()
            .any(|s| s.publisher == Some(e(13)) && s.source == Some(Source::Microphone))
    );

    // Everyone's low layer too, when the policy says so; stopping ends it all.
    m.core.set_recording(Some(RecordPolicy {
        everyones_low_video: true,
    }));
    m.run(1000, &[e(5)]);
    let cameras = flowing(&m);
    assert_eq!(cameras[&e(9)], Some(Layer::Low));
    assert_eq!(cameras[&e(5)], Some(Layer::High));
    m.core.set_recording(None);
    m.clear();
    m.run(500, &[e(5)]);
    assert!(m.received.keys().all(|(to, _)| *to != RECORDER));
    assert!(m.core.endpoints().all(|x| x != RECORDER));
}
