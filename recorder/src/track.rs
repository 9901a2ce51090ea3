//! One recorded stream: RTP packets in (as the SFU received them, NACK-repaired but possibly
//! late or out of order), whole frames on the file's timeline out.
//!
//! Packets are reordered by a [`Jitter`] buffer. Opus packets are frames. VP8 packets are
//! gathered into frames (RFC 7741: a frame starts at S = 1, partition 0, and ends at the
//! marker bit; all its packets share a timestamp); a frame missing a packet is dropped, and
//! so is every frame after it until the next keyframe — a decoder could not use them — with
//! a keyframe asked of the publisher ([`TrackRecorder::take_keyframe_request`]). The video
//! starts at a keyframe for the same reason.
//!
//! Time: the RTP timestamp, unwrapped to 64 bits, is mapped onto the session's timeline from
//! the first packet's arrival (its RTP time is the arrival's session time); the clock rate
//! does the rest, so the stream's own pacing is kept, however its packets were delayed.
//! Lip sync: once a packet says when the publisher captured it (its sender reports map RTP
//! time to the publisher's clock), the stream is anchored again on that clock, shifted by
//! one offset shared by the participant's audio and video ([`SenderClock`]) — so the two
//! stay together however differently the network delayed their first packets. Audio is the
//! reference, as in a browser's own lip sync: the offset is its arrival less its capture
//! time, so the file keeps the session's time, and video anchors only once audio has (it
//! stays on its arrival times until then — browsers report on audio every 5 s, on video
//! every second — and steps back by its extra delay then). A file without audio takes the
//! offset from its video. Video frames stepped back onto what is already written are
//! dropped until a keyframe.

use std::time::{Duration, Instant};

use crate::jitter::{Jitter, JitterStats, Released, TimestampUnwrap};
use crate::{h264, vp8};

/// An RTP packet as the recorder takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpIn {
    /// Extended sequence number.
    pub seq: u64,
    pub ts: u32,
    pub marker: bool,
    pub payload: Vec<u8>,
    /// When the publisher captured it, by its own clock (µs since the epoch), from its RTCP
    /// sender reports; `None` until one came.
    pub sender_us: Option<i64>,
}

/// A frame on the file's timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Milliseconds since the session's time origin.
    pub time_ms: i64,
    pub keyframe: bool,
    pub data: Vec<u8>,
}

/// What a stream carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    Opus,
    Vp8,
    H264,
}

impl StreamKind {
    fn clock_rate(self) -> i64 {
        match self {
            StreamKind::Opus => 48_000,
            StreamKind::Vp8 | StreamKind::H264 => 90_000,
        }
    }

    pub fn is_video(self) -> bool {
        self != StreamKind::Opus
    }
}

/// The offset (ms) from a publisher's clock to the session timeline, shared by its streams:
/// fixed by the first audio packet that carries a sender time (by the first video one in a
/// file without audio).
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct SenderClock {
    offset_ms: Option<f64>,
    /// The file has audio: video waits for its offset.
    follows_audio: bool,
}

impl SenderClock {
    /// The clock of a file with audio (video follows it) or without.
    pub fn new(has_audio: bool) -> SenderClock {
        SenderClock {
            offset_ms: None,
            follows_audio: has_audio,
        }
    }
}

/// How long a gap in the sequence waits for its packet (a retransmission takes a round trip).
pub const HOLD: Duration = Duration::from_millis(300);
/// At most this many packets wait behind a gap.
const CAPACITY: usize = 600;

/// Counts of one stream, for the manifest.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TrackStats {
    pub jitter: JitterStats,
    pub frames: u64,
    /// Video frames dropped: incomplete, or after one that was, until a keyframe.
    pub frames_dropped: u64,
    pub keyframe_requests: u64,
}

/// A VP8 frame being gathered.
#[derive(Debug)]
struct Gathering {
    ts: u32,
    data: Vec<u8>,
    /// A packet of it is missing.
    broken: bool,
}

#[derive(Debug)]
pub struct TrackRecorder {
    kind: StreamKind,
    origin: Instant,
    jitter: Jitter<(Instant, RtpIn)>,
    unwrap: TimestampUnwrap,
    /// (unwrapped RTP time, session ms) of the first packet, or of the first with a sender
    /// time once there is one.
    base: Option<(i64, i64)>,
    /// The base comes from the publisher's clock.
    anchored: bool,
    /// The file time of the last video frame out.
    last_frame_ms: Option<i64>,
    gathering: Option<Gathering>,
    /// An H.264 picture being gathered, by its timestamp.
    picture: Option<(u32, h264::AccessUnit)>,
    /// The H.264 decoder configuration (`avcC`) of the last keyframe out.
    decoder_config: Option<Vec<u8>>,
    /// Frames are dropped until a keyframe (at the start, and after a loss).
    need_keyframe: bool,
    keyframe_request: bool,
    stats: TrackStats,
    released: Vec<Released<(Instant, RtpIn)>>,
}

impl TrackRecorder {
    /// A stream of `kind` on the timeline that starts at `origin`.
    pub fn new(kind: StreamKind, origin: Instant) -> Self {
        TrackRecorder {
            kind,
            origin,
            jitter: Jitter::new(HOLD, CAPACITY),
            unwrap: TimestampUnwrap::default(),
            base: None,
            anchored: false,
            last_frame_ms: None,
            gathering: None,
            picture: None,
            decoder_config: None,
            need_keyframe: kind.is_video(),
            keyframe_request: kind.is_video(),
            stats: TrackStats::default(),
            released: vec![],
        }
    }

    pub fn kind(&self) -> StreamKind {
        self.kind
    }

    pub fn stats(&self) -> TrackStats {
        TrackStats {
            jitter: self.jitter.stats(),
            ..self.stats
        }
    }

    /// Whether a keyframe should be asked of the publisher (once per need: at the start and
    /// after each loss that broke the picture).
    pub fn take_keyframe_request(&mut self) -> bool {
        std::mem::take(&mut self.keyframe_request)
    }

    /// When [`TrackRecorder::poll`] has something to release.
    pub fn deadline(&self) -> Option<Instant> {
        self.jitter.deadline()
    }

    /// A packet arrived at `now`; whole frames go to `out`.
    pub fn push(
        &mut self,
        now: Instant,
        pkt: RtpIn,
        clock: &mut SenderClock,
        out: &mut Vec<Frame>,
    ) {
        let mut released = std::mem::take(&mut self.released);
        self.jitter.push(now, pkt.seq, (now, pkt), &mut released);
        self.take(&mut released, clock, out);
        self.released = released;
    }

    /// Release what waited long enough for a missing packet.
    pub fn poll(&mut self, now: Instant, clock: &mut SenderClock, out: &mut Vec<Frame>) {
        let mut released = std::mem::take(&mut self.released);
        self.jitter.poll(now, &mut released);
        self.take(&mut released, clock, out);
        self.released = released;
    }

    /// The stream ended: everything left goes out (an unfinished frame is dropped).
    pub fn finish(&mut self, clock: &mut SenderClock, out: &mut Vec<Frame>) {
        let mut released = std::mem::take(&mut self.released);
        self.jitter.flush(&mut released);
        self.take(&mut released, clock, out);
        if self.gathering.take().is_some() || self.picture.take().is_some() {
            self.stats.frames_dropped += 1;
        }
    }

    /// The H.264 decoder configuration (`avcC`, from the SPS and PPS of the last keyframe out).
    pub fn decoder_config(&self) -> Option<&[u8]> {
        self.decoder_config.as_deref()
    }

    fn take(
        &mut self,
        released: &mut Vec<Released<(Instant, RtpIn)>>,
        clock: &mut SenderClock,
        out: &mut Vec<Frame>,
    ) {
        for r in released.drain(..) {
            match r {
                Released::Lost(_) => self.on_loss(),
                Released::Packet(_, (arrived, pkt)) => self.on_packet(arrived, pkt, clock, out),
            }
        }
    }

    fn on_loss(&mut self) {
        if !self.kind.is_video() {
            return; // an Opus loss is a gap on the timeline, nothing more
        }
        if let Some(g) = &mut self.gathering {
            g.broken = true;
        }
        if let Some((_, p)) = &mut self.picture {
            p.broken = true;
        }
        // Whether the lost packet ended a frame or began the next, the picture is broken
        // until a keyframe.
        if !self.need_keyframe {
            self.need_keyframe = true;
            self.keyframe_request = true;
        }
    }

    fn time_ms(
        &mut self,
        arrived: Instant,
        ts: u32,
        sender_us: Option<i64>,
        clock: &mut SenderClock,
    ) -> i64 {
        let rtp = self.unwrap.unwrap(ts);
        let arrived_ms = arrived.saturating_duration_since(self.origin).as_secs_f64() * 1000.0;
        if let Some(us) = sender_us
            && !self.anchored
        {
            // The publisher's clock, shifted onto the timeline by the offset audio fixed
            // (for all its streams); video waits for it.
            let sender_ms = us as f64 / 1000.0;
            let offset = if self.kind == StreamKind::Opus || !clock.follows_audio {
                Some(*clock.offset_ms.get_or_insert(arrived_ms - sender_ms))
            } else {
                clock.offset_ms
            };
            if let Some(offset) = offset {
                self.base = Some((rtp, (sender_ms + offset).round() as i64));
                self.anchored = true;
            }
        }
        let (base_rtp, base_ms) = *self.base.get_or_insert((rtp, arrived_ms as i64));
        base_ms + (rtp - base_rtp) * 1000 / self.kind.clock_rate()
    }

    fn on_packet(
        &mut self,
        arrived: Instant,
        pkt: RtpIn,
        clock: &mut SenderClock,
        out: &mut Vec<Frame>,
    ) {
        let time_ms = self.time_ms(arrived, pkt.ts, pkt.sender_us, clock);
        match self.kind {
            StreamKind::Opus => {
                if pkt.payload.is_empty() {
                    return;
                }
                self.stats.frames += 1;
                out.push(Frame {
                    time_ms,
                    keyframe: true,
                    data: pkt.payload,
                });
            }
            StreamKind::Vp8 => self.on_vp8(time_ms, pkt, out),
            StreamKind::H264 => self.on_h264(time_ms, pkt, out),
        }
    }

    fn on_h264(&mut self, time_ms: i64, pkt: RtpIn, out: &mut Vec<Frame>) {
        if self.picture.as_ref().is_some_and(|(ts, _)| *ts != pkt.ts) {
            // The previous picture never saw its marker: incomplete.
            self.picture = None;
            self.stats.frames_dropped += 1;
            self.on_loss();
        }
        let (_, picture) = self
            .picture
            .get_or_insert_with(|| (pkt.ts, h264::AccessUnit::default()));
        picture.push(&pkt.payload);
        if !pkt.marker {
            return;
        }
        let Some((_, mut picture)) = self.picture.take() else {
            return;
        };
        picture.finish();
        let keyframe = picture.is_keyframe();
        if picture.broken || (self.need_keyframe && !keyframe) {
            self.stats.frames_dropped += 1;
            if picture.broken {
                self.on_loss();
            }
            return;
        }
        if keyframe
            && let Some((sps, pps)) = picture.parameter_sets()
            && let Some(config) = h264::decoder_config(sps, pps)
        {
            self.decoder_config = Some(config);
        }
        self.emit(time_ms, keyframe, picture.avcc(), out);
    }

    fn on_vp8(&mut self, time_ms: i64, pkt: RtpIn, out: &mut Vec<Frame>) {
        let Some(p) = vp8::parse(&pkt.payload) else {
            // Padding or a malformed descriptor: the frame it belonged to cannot be trusted.
            if let Some(g) = &mut self.gathering {
                g.broken = true;
            }
            return;
        };
        if p.frame_start {
            if self.gathering.take().is_some() {
                // The previous frame never saw its marker: incomplete.
                self.stats.frames_dropped += 1;
                self.on_loss();
            }
            self.gathering = Some(Gathering {
                ts: pkt.ts,
                data: p.data.to_vec(),
                broken: false,
            });
        } else {
            match &mut self.gathering {
                Some(g) if g.ts == pkt.ts => g.data.extend_from_slice(p.data),
                Some(g) => g.broken = true,
                None => return, // the rest of a frame whose start was lost (counted there)
            }
        }
        if !pkt.marker {
            return;
        }
        let Some(g) = self.gathering.take() else {
            return;
        };
        let keyframe = vp8::is_keyframe(&g.data);
        if g.broken || (self.need_keyframe && !keyframe) {
            self.stats.frames_dropped += 1;
            if g.broken {
                self.on_loss();
            }
            return;
        }
        self.emit(time_ms, keyframe, g.data, out);
    }

    /// A whole video frame goes out, unless it would land on what is already written.
    fn emit(&mut self, time_ms: i64, keyframe: bool, data: Vec<u8>, out: &mut Vec<Frame>) {
        if self.last_frame_ms.is_some_and(|last| time_ms <= last) {
            // The timeline stepped back (video anchored on the publisher's clock, by its
            // extra delay over audio): a frame that would land on what is written is
            // dropped, and the picture resumes at a keyframe past it — a short freeze
            // rather than frames piled on one instant, which no player shows and muxers
            // refuse.
            self.stats.frames_dropped += 1;
            if !self.need_keyframe {
                self.need_keyframe = true;
                self.keyframe_request = true;
            }
            return;
        }
        self.need_keyframe = false;
        self.stats.frames += 1;
        self.last_frame_ms = Some(time_ms);
        out.push(Frame {
            time_ms,
            keyframe,
            data,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vp8_packets(seq: u64, ts: u32, frame: &[u8], chunk: usize) -> Vec<RtpIn> {
        let parts: Vec<&[u8]> = frame.chunks(chunk).collect();
        parts
            .iter()
            .enumerate()
            .map(|(i, part)| {
                let mut payload = vec![if i == 0 { 0x10 } else { 0x00 }];
                payload.extend_from_slice(part);
                RtpIn {
                    seq: seq + i as u64,
                    ts,
                    marker: i + 1 == parts.len(),
                    payload,
                    sender_us: None,
                }
            })
            .collect()
    }

    #[test]
    fn vp8_frames_are_gathered_and_start_at_a_keyframe() {
        let t0 = Instant::now();
        let mut r = TrackRecorder::new(StreamKind::Vp8, t0);
        assert!(r.take_keyframe_request(), "asked at the start");
        let mut out = vec![];
        let delta = [0x01u8; 2500];
        let mut key = vec![0x00u8; 2500];
        key[0] = 0x10; // P = 0
        // A delta frame first: dropped (nothing to decode it from).
        for p in vp8_packets(100, 9000, &delta, 1000) {
            r.push(
                t0 + Duration::from_millis(40),
                p,
                &mut SenderClock::default(),
                &mut out,
            );
        }
        assert!(out.is_empty());
        for p in vp8_packets(103, 12000, &key, 1000) {
            r.push(
                t0 + Duration::from_millis(73),
                p,
                &mut SenderClock::default(),
                &mut out,
            );
        }
        for p in vp8_packets(106, 15000, &delta, 1000) {
            r.push(
                t0 + Duration::from_millis(110),
                p,
                &mut SenderClock::default(),
                &mut out,
            );
        }
        // The stream's start is held for a packet that might have been overtaken.
        assert!(out.is_empty());
        r.poll(
            t0 + Duration::from_millis(40) + HOLD,
            &mut SenderClock::default(),
            &mut out,
        );
        assert_eq!(out.len(), 2);
        assert!(out[0].keyframe && !out[1].keyframe);
        assert_eq!(out[0].data, key);
        // The first packet's arrival (40 ms) is the timeline's anchor; 3000 ticks are 33 ms.
        assert_eq!(out[0].time_ms, 40 + 33);
        assert_eq!(out[1].time_ms, 40 + 66);
        assert_eq!(r.stats().frames_dropped, 1);
    }

    #[test]
    fn a_lost_packet_drops_frames_until_a_keyframe_and_asks_for_one() {
        let t0 = Instant::now();
        let mut r = TrackRecorder::new(StreamKind::Vp8, t0);
        r.take_keyframe_request();
        let mut out = vec![];
        let mut key = vec![0x00u8; 1500];
        key[0] = 0x10;
        let delta = [0x01u8; 1500];
        let mut at = t0;
        fn send(
            r: &mut TrackRecorder,
            at: &mut Instant,
            pkts: Vec<RtpIn>,
            skip: Option<u64>,
            out: &mut Vec<Frame>,
        ) {
            for p in pkts {
                *at += Duration::from_millis(10);
                if Some(p.seq) != skip {
                    r.push(*at, p, &mut SenderClock::default(), out);
                }
            }
        }
        send(
            &mut r,
            &mut at,
            vp8_packets(0, 0, &key, 1000),
            None,
            &mut out,
        );
        send(
            &mut r,
            &mut at,
            vp8_packets(2, 3000, &delta, 1000),
            Some(3),
            &mut out,
        );
        send(
            &mut r,
            &mut at,
            vp8_packets(4, 6000, &delta, 1000),
            None,
            &mut out,
        );
        send(
            &mut r,
            &mut at,
            vp8_packets(6, 9000, &delta, 1000),
            None,
            &mut out,
        );
        r.poll(at + HOLD, &mut SenderClock::default(), &mut out);
        assert_eq!(out.len(), 1, "only the first keyframe");
        assert!(r.take_keyframe_request());
        assert!(!r.take_keyframe_request(), "once per need");
        send(
            &mut r,
            &mut at,
            vp8_packets(8, 12000, &key, 1000),
            None,
            &mut out,
        );
        send(
            &mut r,
            &mut at,
            vp8_packets(10, 15000, &delta, 1000),
            None,
            &mut out,
        );
        assert_eq!(out.len(), 3);
        assert!(out[1].keyframe);
        let stats = r.stats();
        assert_eq!(stats.jitter.lost, 1);
        assert_eq!(stats.frames_dropped, 3);
    }

    #[test]
    fn opus_packets_are_frames_timed_by_their_timestamps_across_a_wrap() {
        let t0 = Instant::now();
        let mut r = TrackRecorder::new(StreamKind::Opus, t0);
        assert!(!r.take_keyframe_request());
        let mut out = vec![];
        let start = u32::MAX - 960;
        for i in 0..5u32 {
            // Delivered with uneven delays: the timeline follows the timestamps.
            let at = t0 + Duration::from_millis(1000 + u64::from(i) * 20 + u64::from(i % 2) * 15);
            r.push(
                at,
                RtpIn {
                    seq: u64::from(i),
                    ts: start.wrapping_add(i * 960),
                    marker: false,
                    payload: vec![0x78, i as u8],
                    sender_us: None,
                },
                &mut SenderClock::default(),
                &mut out,
            );
        }
        r.poll(
            t0 + Duration::from_millis(1000) + HOLD,
            &mut SenderClock::default(),
            &mut out,
        );
        let times: Vec<i64> = out.iter().map(|f| f.time_ms).collect();
        assert_eq!(times, [1000, 1020, 1040, 1060, 1080]);
    }
}
