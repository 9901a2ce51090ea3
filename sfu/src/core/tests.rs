//! Session-core tests with simulated endpoints, simulated time and a seeded impaired link.

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::ids::{EndpointId, MediaKind, Mid, TrackId};

const A: EndpointId = EndpointId(1);
const B: EndpointId = EndpointId(2);
const C: EndpointId = EndpointId(3);

fn mid(s: &str) -> Mid {
    Mid::from(s)
}

/// A simulated VP8 publisher: 30 fps, a keyframe every `gop` frames, 3 packets per frame.
struct VideoSource {
    seq: u64,
    ts: u32,
    frame: u32,
    gop: u32,
}

const VP8_KEY: [u8; 3] = [0x10, 0x00, 0x9d];
const VP8_DELTA: [u8; 3] = [0x10, 0x01, 0x00];
const VP8_CONT: [u8; 3] = [0x00, 0x00, 0x00];

impl VideoSource {
    fn new(seq: u64, ts: u32, gop: u32) -> Self {
        VideoSource {
            seq,
            ts,
            frame: 0,
            gop,
        }
    }

    /// Packets of the next frame: (seq, ts, payload).
    fn next_frame(&mut self) -> Vec<(u64, u32, &'static [u8])> {
        let key = self.frame.is_multiple_of(self.gop);
        self.frame += 1;
        let first: &'static [u8] = if key { &VP8_KEY } else { &VP8_DELTA };
        let out = vec![
            (self.seq, self.ts, first),
            (self.seq + 1, self.ts, &VP8_CONT[..]),
            (self.seq + 2, self.ts, &VP8_CONT[..]),
        ];
        self.seq += 3;
        self.ts = self.ts.wrapping_add(3000);
        out
    }
}

fn video(ssrc: u32, seq: u64, ts: u32, payload: &[u8]) -> RtpIn<'_> {
    RtpIn {
        ssrc,
        seq,
        ts,
        codec: Codec::Vp8,
        payload,
        audio_level: None,
    }
}

fn audio(ssrc: u32, seq: u64, ts: u32, level: i8) -> RtpIn<'static> {
    RtpIn {
        ssrc,
        seq,
        ts,
        codec: Codec::Opus,
        payload: &[0xfc, 0xff],
        audio_level: Some(level),
    }
}

fn forwards_to(out: &[Decision], who: EndpointId) -> Vec<(Mid, u64, u32)> {
    out.iter()
        .filter_map(|d| match *d {
            Decision::Forward { to, mid, seq, ts } if to == who => Some((mid, seq, ts)),
            _ => None,
        })
        .collect()
}

/// A, B, C in a session; A publishes video on mid "v", B and C subscribe on their own mids.
fn three_party(t0: Instant) -> (SessionCore, TrackId) {
    let mut core = SessionCore::new(CoreConfig::default());
    for e in [A, B, C] {
        core.add_endpoint(e);
    }
    let track = TrackId {
        endpoint: A,
        mid: mid("v"),
    };
    let mut receivers = core.publish(track, MediaKind::Video);
    receivers.sort();
    assert_eq!(receivers, vec![B, C]);
    core.subscribe(t0, track, B, mid("b0"));
    core.subscribe(t0, track, C, mid("c3"));
    (core, track)
}

#[test]
fn every_other_endpoint_receives_a_published_track_on_its_own_mline() {
    let t0 = Instant::now();
    let (mut core, track) = three_party(t0);
    let mut src = VideoSource::new(5000, 90_000, 30);
    let mut out = vec![];
    for (seq, ts, payload) in src.next_frame() {
        core.handle_rtp(t0, track, &video(0x1234, seq, ts, payload), &mut out);
    }
    assert_eq!(
        forwards_to(&out, B),
        vec![
            (mid("b0"), 1, 90_000),
            (mid("b0"), 2, 90_000),
            (mid("b0"), 3, 90_000)
        ]
    );
    assert_eq!(forwards_to(&out, C).len(), 3);
    assert!(
        forwards_to(&out, A).is_empty(),
        "never back to the publisher"
    );
    assert_eq!(core.stats().packets_forwarded, 6);
}

#[test]
fn sequence_and_timestamp_continue_across_a_publisher_restart() {
    let t0 = Instant::now();
    let (mut core, track) = three_party(t0);
    let mut out = vec![];
    let mut src = VideoSource::new(65_000, 4_294_000_000, 30);
    let mut t = t0;
    for _ in 0..10 {
        for (seq, ts, p) in src.next_frame() {
            core.handle_rtp(t, track, &video(0xAAAA, seq, ts, p), &mut out);
        }
        t += Duration::from_millis(33);
    }
    let before = forwards_to(&out, B);
    let (_, last_seq, last_ts) = *before.last().unwrap();
    assert_eq!(last_seq, 30);

    // The browser restarts its encoder (camera switched): new SSRC and bases, 1 s later.
    out.clear();
    t += Duration::from_secs(1);
    let mut restarted = VideoSource::new(12, 777, 30);
    for _ in 0..2 {
        for (seq, ts, p) in restarted.next_frame() {
            core.handle_rtp(t, track, &video(0xBBBB, seq, ts, p), &mut out);
        }
        t += Duration::from_millis(33);
    }
    let after = forwards_to(&out, B);
    assert_eq!(after[0].1, last_seq + 1, "no sequence gap at the restart");
    let advance = after[0].2.wrapping_sub(last_ts);
    // 33 ms after the last packet's send time plus the 1 s pause, at 90 kHz.
    assert!(
        (92_900..=93_100).contains(&advance),
        "timestamp advanced by {advance}"
    );
    let seqs: Vec<u64> = after.iter().map(|f| f.1).collect();
    assert_eq!(seqs, (31..37).collect::<Vec<_>>());
}

#[test]
fn a_late_subscriber_waits_for_a_keyframe_and_asks_for_one_throttled() {
    let t0 = Instant::now();
    let mut core = SessionCore::new(CoreConfig::default());
    core.add_endpoint(A);
    let track = TrackId {
        endpoint: A,
        mid: mid("v"),
    };
    core.publish(track, MediaKind::Video);
    let mut src = VideoSource::new(100, 0, 1000);
    let mut out = vec![];
    for (seq, ts, p) in src.next_frame() {
        core.handle_rtp(t0, track, &video(1, seq, ts, p), &mut out);
    }
    assert!(out.is_empty(), "nobody subscribed yet");

    // 50 subscribers join within 100 ms: one keyframe request reaches the publisher.
    let mut requests = 0;
    for i in 0..50 {
        let e = EndpointId(100 + i);
        core.add_endpoint(e);
        let t = t0 + Duration::from_millis(2 * i);
        requests += core.subscribe(t, track, e, mid("x")).is_some() as u32;
    }
    assert_eq!(requests, 1);
    out.clear();
    let t1 = t0 + Duration::from_millis(100);
    for (seq, ts, p) in src.next_frame() {
        core.handle_rtp(t1, track, &video(1, seq, ts, p), &mut out);
    }
    assert!(
        out.iter().all(|d| !matches!(d, Decision::Forward { .. })),
        "delta frames are held back"
    );
    assert_eq!(
        out.iter()
            .filter(|d| matches!(
                d,
                Decision::Drop {
                    reason: DropReason::WaitingForKeyframe,
                    ..
                }
            ))
            .count(),
        150
    );
    assert!(
        !out.contains(&Decision::RequestKeyframe { track }),
        "still throttled"
    );

    // After the interval the next waiting packet asks again.
    out.clear();
    let t2 = t0 + Duration::from_millis(600);
    for (seq, ts, p) in src.next_frame() {
        core.handle_rtp(t2, track, &video(1, seq, ts, p), &mut out);
    }
    assert_eq!(
        out.iter()
            .filter(|d| **d == Decision::RequestKeyframe { track })
            .count(),
        1
    );

    // Subscribers' own PLIs are throttled the same way.
    let t3 = t2 + Duration::from_millis(100);
    assert_eq!(
        core.handle_keyframe_request(t3, EndpointId(100), mid("x")),
        None
    );
    let t4 = t2 + Duration::from_millis(500);
    assert_eq!(
        core.handle_keyframe_request(t4, EndpointId(101), mid("x")),
        Some(track)
    );
    assert_eq!(
        core.handle_keyframe_request(t4, EndpointId(101), mid("nope")),
        None
    );
}

#[test]
fn removing_an_endpoint_mid_stream_stops_its_tracks_and_its_subscriptions() {
    let t0 = Instant::now();
    let (mut core, track_a) = three_party(t0);
    let track_b = TrackId {
        endpoint: B,
        mid: mid("a"),
    };
    core.publish(track_b, MediaKind::Audio);
    core.subscribe(t0, track_b, A, mid("m1"));
    core.subscribe(t0, track_b, C, mid("m9"));

    let mut out = vec![];
    core.handle_rtp(t0, track_b, &audio(9, 1, 0, -30), &mut out);
    assert_eq!(forwards_to(&out, A).len(), 1);
    assert_eq!(forwards_to(&out, C).len(), 1);

    // C vanishes mid-stream: nothing more is decided for it, A and B carry on.
    let removal = core.remove_endpoint(C);
    assert_eq!(
        removal,
        Removal::default(),
        "C published nothing, so nobody stops an m-line"
    );
    out.clear();
    core.handle_rtp(t0, track_b, &audio(9, 2, 960, -30), &mut out);
    core.handle_rtp(t0, track_a, &video(5, 1, 0, &VP8_KEY), &mut out);
    assert!(forwards_to(&out, C).is_empty());
    assert_eq!(forwards_to(&out, A), vec![(mid("m1"), 2, 960)]);
    assert_eq!(forwards_to(&out, B).len(), 1);

    // A leaves: its video track is unpublished and B's m-line for it must stop.
    let removal = core.remove_endpoint(A);
    assert_eq!(removal.tracks, vec![track_a]);
    assert_eq!(removal.stopped, vec![(B, mid("b0"))]);
    out.clear();
    core.handle_rtp(t0, track_a, &video(5, 2, 0, &VP8_DELTA), &mut out);
    assert!(out.is_empty());
    assert_eq!(core.stats().unknown_track, 1);
    core.remove_endpoint(B);
    assert!(core.is_empty());
    assert_eq!(core.tracks().count(), 0);
}

#[test]
fn speaking_changes_are_reported_once_per_change() {
    let t0 = Instant::now();
    let mut core = SessionCore::new(CoreConfig::default());
    core.add_endpoint(A);
    core.add_endpoint(B);
    let track = TrackId {
        endpoint: A,
        mid: mid("0"),
    };
    core.publish(track, MediaKind::Audio);
    let mut out = vec![];
    let mut t = t0;
    let mut changes = vec![];
    for i in 0..100u64 {
        t += Duration::from_millis(20);
        let level = if (20..60).contains(&i) { -20 } else { -100 };
        core.handle_rtp(t, track, &audio(1, i, (i * 960) as u32, level), &mut out);
        changes.extend(core.poll_speaking(t));
    }
    assert_eq!(
        changes,
        vec![
            SpeakingChange {
                endpoint: A,
                speaking: true
            },
            SpeakingChange {
                endpoint: A,
                speaking: false
            }
        ]
    );
}

/// A seeded impaired link (loss, jitter, reordering) between a publisher and the core: every
/// packet that arrives is forwarded exactly once to each subscriber, with the sequence-number
/// differences of the input preserved, so NACKs downstream name the right packets.
#[test]
fn impaired_upstream_link_is_passed_through_faithfully() {
    for seed in [1u64, 7, 42, 1234] {
        let mut rng = StdRng::seed_from_u64(seed);
        let t0 = Instant::now();
        let (mut core, track) = three_party(t0);
        let mut src = VideoSource::new(60_000, 1000, 15);
        // (arrival time, seq, ts, payload)
        let mut in_flight = vec![];
        for f in 0..300u64 {
            let sent = t0 + Duration::from_millis(33 * f);
            for (seq, ts, p) in src.next_frame() {
                if rng.random_bool(0.05) {
                    continue; // lost
                }
                let jitter = Duration::from_millis(rng.random_range(0..80));
                in_flight.push((sent + jitter, seq, ts, p));
            }
        }
        in_flight.sort_by_key(|p| p.0);
        let mut delivered = vec![];
        let mut out = vec![];
        for (at, seq, ts, p) in &in_flight {
            out.clear();
            core.handle_rtp(*at, track, &video(0xC0FFEE, *seq, *ts, p), &mut out);
            for (_, out_seq, out_ts) in forwards_to(&out, B) {
                delivered.push((*seq, *ts, out_seq, out_ts));
            }
            assert_eq!(forwards_to(&out, B).len(), forwards_to(&out, C).len());
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
        let unique: std::collections::BTreeSet<_> = delivered.iter().map(|d| d.2).collect();
        assert_eq!(unique.len(), delivered.len(), "no duplicates (seed {seed})");
    }
}
