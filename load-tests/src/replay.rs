//! Replaying a real clip ([`crate::clip`]) as an endpoint's microphone and camera, so real
//! browsers in the meeting decode it, and choosing per endpoint between that and synthetic
//! media ([`Mic`], [`Camera`]).
//!
//! The clip loops. Its VP8 frames are packetized as browsers do (RFC 7741: a payload
//! descriptor with a 15-bit picture id on every packet, the frame split into packets of at
//! most [`MAX_VIDEO_PAYLOAD`] bytes, the marker on the last); the last packet of each frame
//! carries the measurement tag after the frame data. Its Opus packets carry the tag as Opus
//! padding. A keyframe request jumps to the clip's next keyframe at once. Like the synthetic
//! sources these are state machines driven with `now`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::clip::{Clip, ClipVideo};
use crate::media::{AudioSource, MAX_VIDEO_PAYLOAD, MediaPacket, SimulcastCamera, VideoSource};
use crate::payload::{self, StreamKey, StreamKind, Tag, vp8};

/// An endpoint's microphone.
#[derive(Debug)]
pub enum Mic {
    Synthetic(AudioSource),
    Clip(ClipAudioSource),
}

impl Mic {
    pub fn next_at(&self) -> Instant {
        match self {
            Mic::Synthetic(s) => s.next_at(),
            Mic::Clip(s) => s.next_at(),
        }
    }

    pub fn poll(
        &mut self,
        now: Instant,
        clock: &payload::Clock,
        talking: impl Fn(Instant) -> bool,
        out: &mut Vec<MediaPacket>,
    ) {
        match self {
            Mic::Synthetic(s) => s.poll(now, clock, talking, out),
            Mic::Clip(s) => s.poll(now, clock, talking, out),
        }
    }
}

/// An endpoint's camera.
#[derive(Debug)]
pub enum Camera {
    Synthetic(VideoSource),
    /// The synthetic camera in three simulcast layers, as the web client publishes.
    Simulcast(SimulcastCamera),
    Clip(ClipVideoSource),
}

impl Camera {
    pub fn next_at(&self) -> Instant {
        match self {
            Camera::Synthetic(s) => s.next_at(),
            Camera::Simulcast(s) => s.next_at(),
            Camera::Clip(s) => s.next_at(),
        }
    }

    /// A keyframe request, for the layer `rid` of a simulcast camera.
    pub fn request_keyframe(&mut self, rid: Option<&str>) {
        match self {
            Camera::Synthetic(s) => s.request_keyframe(),
            Camera::Simulcast(s) => s.request_keyframe(rid),
            Camera::Clip(s) => s.request_keyframe(),
        }
    }

    pub fn poll(&mut self, now: Instant, clock: &payload::Clock, out: &mut Vec<MediaPacket>) {
        match self {
            Camera::Synthetic(s) => s.poll(now, clock, out),
            Camera::Simulcast(s) => s.poll(now, clock, out),
            Camera::Clip(s) => s.poll(now, clock, out),
        }
    }
}

/// The clip's Opus packets, in a loop, at their own pace.
#[derive(Debug)]
pub struct ClipAudioSource {
    clip: Arc<Clip>,
    stream: StreamKey,
    /// When the next packet is due, and its index in the clip.
    next: Instant,
    index: usize,
    seq: u32,
    /// RTP timestamp of the next packet (48 kHz).
    ts: u32,
}

impl ClipAudioSource {
    pub fn new(sender: u32, clip: Arc<Clip>, start: Instant) -> Self {
        ClipAudioSource {
            clip,
            stream: StreamKey {
                sender,
                kind: StreamKind::Audio,
            },
            next: start,
            index: 0,
            seq: 0,
            ts: 0,
        }
    }

    pub fn next_at(&self) -> Instant {
        self.next
    }

    /// The packets due at `now`; the audio level follows `talking` (the clip is a tone, so
    /// the hub's speaker detection follows the run's talker pattern, not the sound).
    pub fn poll(
        &mut self,
        now: Instant,
        clock: &payload::Clock,
        talking: impl Fn(Instant) -> bool,
        out: &mut Vec<MediaPacket>,
    ) {
        // At most a few packets late: a stalled task skips audio rather than bursting it.
        let mut budget = 4;
        while self.next <= now && budget > 0 {
            budget -= 1;
            let packets = &self.clip.audio.packets;
            let packet = &packets[self.index % packets.len()];
            let at = self.next;
            let tag = Tag {
                stream: self.stream,
                seq: self.seq,
                sent_us: clock.us(at),
            };
            let (payload, tagged) = match payload::opus_with_tag(&packet.data, tag) {
                Some(p) => (p, true),
                None => (packet.data.clone(), false),
            };
            let speaking = talking(at);
            out.push(MediaPacket {
                stream: self.stream,
                seq: self.seq,
                tagged,
                ts: self.ts,
                marker: false,
                audio_level: Some(if speaking { -25 } else { -127 }),
                voice_activity: Some(speaking),
                payload,
                at,
            });
            self.seq += 1;
            self.ts = self.ts.wrapping_add(packet.samples);
            self.index = (self.index + 1) % packets.len();
            self.next += Duration::from_micros(u64::from(packet.samples) * 1_000_000 / 48_000);
        }
        if self.next <= now {
            self.next = now;
        }
    }
}

/// The clip's VP8 frames, in a loop, at the clip's frame rate.
#[derive(Debug)]
pub struct ClipVideoSource {
    clip: Arc<Clip>,
    stream: StreamKey,
    start: Instant,
    /// Frames sent so far (the RTP timestamp and picture id count on).
    sent: u64,
    /// The clip frame to send next.
    index: usize,
    /// RTP sequence number of the next packet, and tag number of the next frame.
    seq: u32,
    tags: u32,
}

impl ClipVideoSource {
    pub fn new(sender: u32, layer: u8, clip: Arc<Clip>, start: Instant) -> Self {
        ClipVideoSource {
            clip,
            stream: StreamKey {
                sender,
                kind: StreamKind::Video { layer },
            },
            start,
            sent: 0,
            index: 0,
            seq: 0,
            tags: 0,
        }
    }

    fn video(&self) -> &ClipVideo {
        &self.clip.video
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(1) / self.video().fps.max(1)
    }

    pub fn next_at(&self) -> Instant {
        self.start + self.interval() * self.sent as u32
    }

    /// A receiver lost the picture: the next frame sent is the clip's next keyframe.
    pub fn request_keyframe(&mut self) {
        let frames = &self.video().frames;
        if frames[self.index % frames.len()].keyframe {
            return;
        }
        let next = (self.index..frames.len()).find(|i| frames[*i].keyframe);
        self.index = next.unwrap_or(0);
    }

    /// The packets of the frame due at `now` (a late frame is sent, frames missed are
    /// skipped: the clip keeps its pace).
    pub fn poll(&mut self, now: Instant, clock: &payload::Clock, out: &mut Vec<MediaPacket>) {
        if now < self.next_at() {
            return;
        }
        let due = (now.saturating_duration_since(self.start).as_micros()
            / self.interval().as_micros()) as u64;
        let skipped = due.saturating_sub(self.sent) as usize;
        let frames_len = self.video().frames.len();
        // Skipped frames cannot be dropped from a VP8 stream without breaking it: skip to the
        // next keyframe instead when more than a few are missed.
        if skipped > 3 {
            self.index = (self.index + skipped) % frames_len;
            self.request_keyframe();
        }
        self.sent = due;
        let at = self.next_at();
        let frame = &self.clip.video.frames[self.index % frames_len];
        let ts = (self.sent as u32).wrapping_mul(90_000 / self.video().fps.max(1));
        let picture_id = (self.sent & 0x7fff) as u16;
        let descriptor_len = vp8::descriptor(0, false).len();
        // The last packet also carries the tag: keep every packet within the budget.
        let room = MAX_VIDEO_PAYLOAD - descriptor_len - payload::TAG_LEN;
        let chunks: Vec<&[u8]> = frame.data.chunks(room).collect();
        let tag = Tag {
            stream: self.stream,
            seq: self.tags,
            sent_us: clock.us(at),
        };
        for (i, chunk) in chunks.iter().enumerate() {
            let last = i + 1 == chunks.len();
            let mut body = vp8::descriptor(picture_id, i == 0).to_vec();
            body.extend_from_slice(chunk);
            let payload = if last {
                payload::build_trailing(&body, tag)
            } else {
                body
            };
            out.push(MediaPacket {
                stream: self.stream,
                seq: self.seq,
                tagged: last,
                ts,
                marker: last,
                audio_level: None,
                voice_activity: None,
                payload,
                at,
            });
            self.seq += 1;
        }
        self.tags += 1;
        self.sent += 1;
        self.index = (self.index + 1) % frames_len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clip::{AudioPacket, ClipAudio, VideoFrame};

    fn clip() -> Arc<Clip> {
        let frame = |key: bool, len: usize| VideoFrame {
            data: {
                let mut d = vec![if key { 0x10 } else { 0x11 }; len];
                d[1] = 0x02;
                d
            },
            keyframe: key,
        };
        Arc::new(Clip {
            video: ClipVideo {
                width: 320,
                height: 240,
                fps: 10,
                frames: vec![
                    frame(true, 3_000),
                    frame(false, 500),
                    frame(false, 400),
                    frame(true, 2_000),
                    frame(false, 300),
                ],
            },
            audio: ClipAudio {
                packets: vec![
                    AudioPacket {
                        data: vec![0xfc, 1, 2, 3],
                        samples: 960,
                    },
                    AudioPacket {
                        data: vec![0xfc, 4, 5],
                        samples: 960,
                    },
                ],
            },
        })
    }

    #[test]
    fn video_frames_are_packetized_whole_with_a_tag_on_each_last_packet() {
        let t0 = Instant::now();
        let clock = payload::Clock::new(t0);
        let clip = clip();
        let mut cam = ClipVideoSource::new(3, 0, clip.clone(), t0);
        let mut out = vec![];
        for ms in (0..1_000).step_by(10) {
            cam.poll(t0 + Duration::from_millis(ms), &clock, &mut out);
        }
        // Ten frames in a second: two loops of the five-frame clip.
        assert_eq!(out.iter().filter(|p| p.marker).count(), 10);
        assert!(out.iter().all(|p| p.payload.len() <= MAX_VIDEO_PAYLOAD));
        assert!(out.windows(2).all(|w| w[1].seq == w[0].seq + 1));
        // Reassembling each frame's packets (minus descriptors and the tag) gives the frame.
        let mut frame = vec![];
        let mut index = 0;
        for p in &out {
            let body = &p.payload[4..];
            if p.marker {
                let tag = payload::read(&p.payload).expect("the last packet's tag reads back");
                assert_eq!(tag.seq as usize, index);
                frame.extend_from_slice(&body[..body.len() - payload::TAG_LEN]);
                assert_eq!(frame, clip.video.frames[index % 5].data, "frame {index}");
                frame.clear();
                index += 1;
            } else {
                assert!(!p.tagged);
                frame.extend_from_slice(body);
            }
        }
        // The first packet of the first frame is what the hub takes for a keyframe start.
        assert!(sfu::core::codec::vp8_keyframe_start(&out[0].payload));
    }

    #[test]
    fn a_keyframe_request_jumps_to_the_next_keyframe() {
        let t0 = Instant::now();
        let clock = payload::Clock::new(t0);
        let mut cam = ClipVideoSource::new(3, 0, clip(), t0);
        let mut out = vec![];
        cam.poll(t0, &clock, &mut out); // frame 0 (key)
        cam.poll(t0 + Duration::from_millis(100), &clock, &mut out); // frame 1
        cam.request_keyframe();
        out.clear();
        cam.poll(t0 + Duration::from_millis(200), &clock, &mut out);
        assert!(
            sfu::core::codec::vp8_keyframe_start(&out[0].payload),
            "frame 3 is sent next"
        );
        assert_eq!(out[0].payload[4] & 1, 0);
    }

    #[test]
    fn audio_packets_loop_with_the_tag_as_padding() {
        let t0 = Instant::now();
        let clock = payload::Clock::new(t0);
        let mut mic = ClipAudioSource::new(2, clip(), t0);
        let mut out = vec![];
        for ms in (0..100).step_by(5) {
            mic.poll(t0 + Duration::from_millis(ms), &clock, |_| true, &mut out);
        }
        assert_eq!(out.len(), 5);
        assert!(out.windows(2).all(|w| w[1].ts - w[0].ts == 960));
        for (i, p) in out.iter().enumerate() {
            assert!(p.tagged);
            assert_eq!(payload::read(&p.payload).unwrap().seq, i as u32);
        }
        // The Opus frame inside is the clip's, after the code 3 header.
        assert_eq!(&out[1].payload[3..5], &[4, 5]);
    }
}
