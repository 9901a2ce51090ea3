//! Media without encoders: what an endpoint's microphone and camera would put on the wire,
//! in size, rate and the bits the hub looks at — nothing a decoder could show.
//!
//! Both sources are plain state machines: the endpoint asks them what is due at `now` and
//! writes the packets they return into str0m. Time is an argument, so tests drive them with
//! simulated time.

use std::time::{Duration, Instant};

use crate::payload::{self, StreamKey, StreamKind, Tag, vp8};

/// Opus frames are 20 ms: 50 packets a second, 960 ticks of the 48 kHz clock each.
pub const AUDIO_FRAME: Duration = Duration::from_millis(20);
const AUDIO_TICKS: u32 = 960;
/// Opus DTX sends one comfort-noise frame every 400 ms of silence.
const DTX_EVERY: u64 = 20;
/// Largest RTP payload a browser sends (Chrome keeps packets near 1200 bytes).
pub const MAX_VIDEO_PAYLOAD: usize = 1_160;

/// Who speaks when: `talkers` endpoints at a time, a new group every `turn`, in index order.
#[derive(Debug, Clone, Copy)]
pub struct TalkerPattern {
    pub talkers: u32,
    pub turn: Duration,
    /// Endpoints taking turns (indexes `0..endpoints`).
    pub endpoints: u32,
}

impl TalkerPattern {
    /// Whether endpoint `index` speaks `elapsed` into the run.
    pub fn talking(&self, index: u32, elapsed: Duration) -> bool {
        if self.talkers == 0 || self.endpoints == 0 {
            return false;
        }
        let turn = (elapsed.as_millis() / self.turn.as_millis().max(1)) as u64;
        let first = (turn * u64::from(self.talkers)) % u64::from(self.endpoints);
        let offset =
            (u64::from(index) + u64::from(self.endpoints) - first) % u64::from(self.endpoints);
        offset < u64::from(self.talkers)
    }
}

/// What a silent microphone sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Silence {
    /// What the hub's answer asks for, as a browser does: DTX if its Opus fmtp says
    /// `usedtx=1`, else frames.
    Negotiated,
    /// A small frame every 20 ms, as browsers send when DTX is not negotiated.
    Frames,
    /// Opus DTX: one comfort-noise frame every 400 ms.
    Dtx,
}

impl Silence {
    /// Whether the microphone uses DTX, given whether the hub asked for it.
    pub fn dtx(self, negotiated: bool) -> bool {
        match self {
            Silence::Negotiated => negotiated,
            Silence::Frames => false,
            Silence::Dtx => true,
        }
    }
}

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct AudioConfig {
    /// Payload bytes of a speech frame (Opus at ~40 kbit/s: about 100).
    pub speech_bytes: usize,
    /// Payload bytes of a silence frame.
    pub silence_bytes: usize,
    pub silence: Silence,
}

impl Default for AudioConfig {
    fn default() -> Self {
        AudioConfig {
            speech_bytes: 100,
            silence_bytes: 30,
            silence: Silence::Negotiated,
        }
    }
}

/// One RTP packet to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaPacket {
    pub stream: StreamKey,
    /// RTP sequence number on the stream, from 0 (str0m's is `seq + 1`); for synthetic media
    /// also the tag's.
    pub seq: u32,
    /// Whether the payload carries a tag, and so counts as sent (a replayed clip's video
    /// tags only the last packet of each frame).
    pub tagged: bool,
    /// RTP timestamp, from 0.
    pub ts: u32,
    pub marker: bool,
    /// RFC 6464 audio level (dBov, -127 to 0), audio only.
    pub audio_level: Option<i8>,
    pub voice_activity: Option<bool>,
    pub payload: Vec<u8>,
    /// When it was meant to be sent (its tag's time).
    pub at: Instant,
}

/// A microphone: a frame every 20 ms, loud while the talker pattern says so.
#[derive(Debug)]
pub struct AudioSource {
    stream: StreamKey,
    config: AudioConfig,
    start: Instant,
    /// Whether silence is sent as DTX (else as small frames every 20 ms).
    dtx: bool,
    /// Next 20 ms frame to consider.
    frame: u64,
    seq: u32,
}

impl AudioSource {
    /// A microphone; `dtx` whether its silence is Opus DTX (see [`Silence::dtx`]).
    pub fn new(sender: u32, config: AudioConfig, dtx: bool, start: Instant) -> Self {
        AudioSource {
            stream: StreamKey {
                sender,
                kind: StreamKind::Audio,
            },
            config,
            dtx,
            start,
            frame: 0,
            seq: 0,
        }
    }

    /// When the next frame is due.
    pub fn next_at(&self) -> Instant {
        self.start + AUDIO_FRAME * self.frame as u32
    }

    /// The packets due at `now` (frames missed by a late wake-up are skipped, as a real
    /// capture device would not queue them either; their timestamps still advance).
    /// `talking(at)` says whether the endpoint speaks at that instant.
    pub fn poll(
        &mut self,
        now: Instant,
        clock: &payload::Clock,
        talking: impl Fn(Instant) -> bool,
        out: &mut Vec<MediaPacket>,
    ) {
        if now < self.next_at() {
            return;
        }
        let due = (now.saturating_duration_since(self.start).as_micros() / AUDIO_FRAME.as_micros())
            as u64;
        // Skip frames more than 3 behind (a stalled task); send the latest ones.
        self.frame = self.frame.max(due.saturating_sub(2));
        while self.frame <= due {
            let at = self.next_at();
            let speaking = talking(at);
            let send = speaking || !self.dtx || self.frame.is_multiple_of(DTX_EVERY);
            if send {
                let size = if speaking {
                    // Speech frames vary a little in size, as Opus VBR does.
                    self.config.speech_bytes - 10 + (self.frame % 21) as usize
                } else {
                    self.config.silence_bytes
                };
                let tag = Tag {
                    stream: self.stream,
                    seq: self.seq,
                    sent_us: clock.us(at),
                };
                out.push(MediaPacket {
                    stream: self.stream,
                    seq: self.seq,
                    tagged: true,
                    ts: (self.frame as u32).wrapping_mul(AUDIO_TICKS),
                    marker: false,
                    audio_level: Some(if speaking {
                        -(20 + (self.frame % 15) as i8)
                    } else {
                        -127
                    }),
                    voice_activity: Some(speaking),
                    payload: payload::build(&[], tag, size),
                    at,
                });
                self.seq += 1;
            }
            self.frame += 1;
        }
    }
}

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct VideoConfig {
    pub bitrate_kbps: u32,
    pub fps: u32,
    pub width: u16,
    pub height: u16,
    /// A keyframe is this many times the size of an average frame.
    pub keyframe_ratio: u32,
    /// A periodic keyframe, if any (browsers send them on request only).
    #[serde(skip)]
    pub keyframe_interval: Option<Duration>,
}

impl Default for VideoConfig {
    fn default() -> Self {
        VideoConfig {
            bitrate_kbps: 1_000,
            fps: 30,
            width: 1280,
            height: 720,
            keyframe_ratio: 8,
            keyframe_interval: None,
        }
    }
}

/// A camera: frames at `fps`, sized for the bitrate, a keyframe first and whenever asked.
#[derive(Debug)]
pub struct VideoSource {
    stream: StreamKey,
    config: VideoConfig,
    start: Instant,
    frame: u64,
    seq: u32,
    keyframe_wanted: bool,
    last_keyframe: Option<Instant>,
}

impl VideoSource {
    pub fn new(sender: u32, layer: u8, config: VideoConfig, start: Instant) -> Self {
        VideoSource {
            stream: StreamKey {
                sender,
                kind: StreamKind::Video { layer },
            },
            config,
            start,
            frame: 0,
            seq: 0,
            keyframe_wanted: true,
            last_keyframe: None,
        }
    }

    fn frame_interval(&self) -> Duration {
        Duration::from_secs(1) / self.config.fps.max(1)
    }

    pub fn next_at(&self) -> Instant {
        self.start + self.frame_interval() * self.frame as u32
    }

    /// A receiver lost the picture (PLI/FIR): the next frame is a keyframe.
    pub fn request_keyframe(&mut self) {
        self.keyframe_wanted = true;
    }

    /// Send nothing until `now`: the frames due meanwhile are skipped.
    pub fn skip_to(&mut self, now: Instant) {
        let due = (now.saturating_duration_since(self.start).as_micros()
            / self.frame_interval().as_micros()) as u64;
        self.frame = self.frame.max(due);
    }

    /// The packets of the frames due at `now` (late frames are dropped, not queued).
    pub fn poll(&mut self, now: Instant, clock: &payload::Clock, out: &mut Vec<MediaPacket>) {
        if now < self.next_at() {
            return;
        }
        let due = (now.saturating_duration_since(self.start).as_micros()
            / self.frame_interval().as_micros()) as u64;
        self.frame = self.frame.max(due);
        let at = self.next_at();
        let periodic = self
            .config
            .keyframe_interval
            .zip(self.last_keyframe)
            .is_some_and(|(every, last)| at.saturating_duration_since(last) >= every);
        let keyframe = self.keyframe_wanted || periodic;
        if keyframe {
            self.keyframe_wanted = false;
            self.last_keyframe = Some(at);
        }
        let average =
            (self.config.bitrate_kbps as usize * 1000 / 8) / self.config.fps.max(1) as usize;
        // Delta frames vary ±25 % around the average; a keyframe is several frames' worth.
        let size = if keyframe {
            average * self.config.keyframe_ratio as usize
        } else {
            average * 3 / 4 + (self.frame as usize * 7919 % (average / 2).max(1))
        };
        let picture_id = (self.frame & 0x7fff) as u16;
        let ts = (self.frame as u32).wrapping_mul(90_000 / self.config.fps.max(1));
        let packets = size.div_ceil(MAX_VIDEO_PAYLOAD).max(1);
        let per_packet = size.div_ceil(packets);
        for i in 0..packets {
            let mut prefix = vp8::descriptor(picture_id, i == 0).to_vec();
            if i == 0 {
                prefix.extend(vp8::frame_header(
                    keyframe,
                    self.config.width,
                    self.config.height,
                    per_packet as u32,
                ));
            }
            let tag = Tag {
                stream: self.stream,
                seq: self.seq,
                sent_us: clock.us(at),
            };
            out.push(MediaPacket {
                stream: self.stream,
                seq: self.seq,
                tagged: true,
                ts,
                marker: i + 1 == packets,
                audio_level: None,
                voice_activity: None,
                payload: payload::build(&prefix, tag, per_packet),
                at,
            });
            self.seq += 1;
        }
        self.frame += 1;
    }
}

/// The RIDs of a simulcast camera's layers, lowest first: the web client's.
pub const RIDS: [&str; 3] = ["q", "h", "f"];

/// A camera publishing three simulcast layers as the web client does: a quarter of the
/// resolution at a tenth of the bitrate (`q`), a half at a third (`h`), and all of it (`f`).
/// The hub says which layers anyone receives (`layers`); the others are paused, and a layer
/// resumed starts with a keyframe, as a browser's encoder does.
#[derive(Debug)]
pub struct SimulcastCamera {
    layers: Vec<(VideoSource, bool)>,
    start: Instant,
}

impl SimulcastCamera {
    pub fn new(sender: u32, config: VideoConfig, start: Instant) -> Self {
        let scaled = |div_bitrate: u32, div_size: u16| VideoConfig {
            bitrate_kbps: (config.bitrate_kbps / div_bitrate).max(30),
            width: config.width / div_size,
            height: config.height / div_size,
            ..config
        };
        let configs = [scaled(10, 4), scaled(3, 2), config];
        let layers = configs
            .into_iter()
            .enumerate()
            .map(|(i, c)| (VideoSource::new(sender, i as u8, c, start), true))
            .collect();
        SimulcastCamera { layers, start }
    }

    /// When the next frame of an active layer is due (far ahead when all are paused).
    pub fn next_at(&self) -> Instant {
        self.layers
            .iter()
            .filter(|(_, active)| *active)
            .map(|(v, _)| v.next_at())
            .min()
            .unwrap_or(self.start + Duration::from_secs(86_400 * 365))
    }

    /// A keyframe request for layer `rid` (`None`: every layer).
    pub fn request_keyframe(&mut self, rid: Option<&str>) {
        for (i, (v, _)) in self.layers.iter_mut().enumerate() {
            if rid.is_none_or(|r| r == RIDS[i]) {
                v.request_keyframe();
            }
        }
    }

    /// Only these layers (by RID) are sent from now on.
    pub fn set_active(&mut self, rids: &[&str]) {
        for (i, (v, active)) in self.layers.iter_mut().enumerate() {
            let now_active = rids.contains(&RIDS[i]);
            if now_active && !*active {
                v.request_keyframe();
            }
            *active = now_active;
        }
    }

    /// The RIDs being sent.
    pub fn active(&self) -> Vec<&'static str> {
        self.layers
            .iter()
            .enumerate()
            .filter(|(_, (_, a))| *a)
            .map(|(i, _)| RIDS[i])
            .collect()
    }

    pub fn poll(&mut self, now: Instant, clock: &payload::Clock, out: &mut Vec<MediaPacket>) {
        for (v, active) in &mut self.layers {
            if *active {
                v.poll(now, clock, out);
            } else {
                // A paused layer keeps its frame clock, so it resumes at the present.
                v.skip_to(now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn talkers_take_turns_in_groups() {
        let p = TalkerPattern {
            talkers: 3,
            turn: Duration::from_secs(5),
            endpoints: 10,
        };
        let speaking = |t: u64| -> Vec<u32> {
            (0..10)
                .filter(|i| p.talking(*i, Duration::from_secs(t)))
                .collect()
        };
        assert_eq!(speaking(0), vec![0, 1, 2]);
        assert_eq!(speaking(4), vec![0, 1, 2]);
        assert_eq!(speaking(5), vec![3, 4, 5]);
        // Wrapping round: the group of turn 3 is 9, 0, 1.
        assert_eq!(speaking(15), vec![0, 1, 9]);
    }

    fn run_audio(silence: Silence, talking: bool, secs: u64) -> Vec<MediaPacket> {
        let t0 = Instant::now();
        let clock = payload::Clock::new(t0);
        let config = AudioConfig {
            silence,
            ..AudioConfig::default()
        };
        let mut src = AudioSource::new(4, config, silence.dtx(false), t0);
        let mut out = vec![];
        let mut now = t0;
        while now < t0 + Duration::from_secs(secs) {
            src.poll(now, &clock, |_| talking, &mut out);
            now += Duration::from_millis(5);
        }
        out
    }

    #[test]
    fn speech_is_fifty_packets_a_second_with_a_loud_level() {
        let out = run_audio(Silence::Dtx, true, 2);
        assert_eq!(out.len(), 100);
        assert!(out.iter().all(|p| p.audio_level.unwrap() > -40));
        assert!(
            out.windows(2)
                .all(|w| w[1].ts - w[0].ts == 960 && w[1].seq == w[0].seq + 1)
        );
        for p in &out {
            let tag = payload::read(&p.payload).unwrap();
            assert_eq!((tag.seq, tag.stream.sender), (p.seq, 4));
        }
    }

    #[test]
    fn silence_is_small_frames_or_dtx() {
        let frames = run_audio(Silence::Frames, false, 2);
        assert_eq!(frames.len(), 100);
        assert!(
            frames
                .iter()
                .all(|p| p.audio_level == Some(-127) && p.payload.len() == 30)
        );
        let dtx = run_audio(Silence::Dtx, false, 2);
        assert_eq!(dtx.len(), 5);
        // Timestamps keep time across the gaps; sequence numbers do not jump.
        assert_eq!(dtx[1].ts - dtx[0].ts, 20 * 960);
        assert_eq!(dtx[1].seq, dtx[0].seq + 1);
    }

    #[test]
    fn a_simulcast_camera_sends_only_its_active_layers_and_resumes_with_a_keyframe() {
        let t0 = Instant::now();
        let clock = payload::Clock::new(t0);
        let config = VideoConfig {
            bitrate_kbps: 1000,
            fps: 10,
            ..VideoConfig::default()
        };
        let mut cam = SimulcastCamera::new(3, config, t0);
        let mut out = vec![];
        cam.poll(t0 + Duration::from_millis(950), &clock, &mut out);
        let bytes = |layer: u8, out: &[MediaPacket]| -> usize {
            out.iter()
                .filter(|p| p.stream.kind == StreamKind::Video { layer })
                .map(|p| p.payload.len())
                .sum()
        };
        assert!(bytes(0, &out) > 0 && bytes(0, &out) * 5 < bytes(2, &out));
        assert!(bytes(1, &out) < bytes(2, &out));
        cam.set_active(&["q"]);
        assert_eq!(cam.active(), vec!["q"]);
        out.clear();
        cam.poll(t0 + Duration::from_millis(1950), &clock, &mut out);
        assert!(
            out.iter()
                .all(|p| p.stream.kind == StreamKind::Video { layer: 0 })
        );
        cam.set_active(&["q", "f"]);
        out.clear();
        cam.poll(t0 + Duration::from_millis(2050), &clock, &mut out);
        let first_f = out
            .iter()
            .find(|p| p.stream.kind == StreamKind::Video { layer: 2 })
            .expect("f resumes");
        assert!(sfu_keyframe(&first_f.payload), "f resumes with a keyframe");
    }

    #[test]
    fn video_frames_carry_the_bitrate_and_start_with_a_keyframe() {
        let t0 = Instant::now();
        let clock = payload::Clock::new(t0);
        let config = VideoConfig::default();
        let mut src = VideoSource::new(1, 0, config, t0);
        let mut out = vec![];
        let mut now = t0;
        while now < t0 + Duration::from_secs(2) {
            src.poll(now, &clock, &mut out);
            now += Duration::from_millis(1);
        }
        let frames = out.iter().filter(|p| p.marker).count();
        assert_eq!(frames, 60);
        let bytes: usize = out.iter().map(|p| p.payload.len()).sum();
        let kbps = bytes * 8 / 2 / 1000;
        // The first keyframe adds ~7 frames' worth to the average over 2 s.
        assert!((1_000..1_300).contains(&kbps), "{kbps} kbit/s");
        assert!(out.iter().all(|p| p.payload.len() <= MAX_VIDEO_PAYLOAD));
        assert!(sfu_keyframe(&out[0].payload));
        let second_frame = out.iter().position(|p| p.ts != 0).unwrap();
        assert!(!sfu_keyframe(&out[second_frame].payload));

        src.request_keyframe();
        let before = out.len();
        src.poll(now + Duration::from_millis(40), &clock, &mut out);
        assert!(sfu_keyframe(&out[before].payload));
    }

    /// The hub's own rule for where a keyframe starts.
    fn sfu_keyframe(p: &[u8]) -> bool {
        sfu::core::codec::vp8_keyframe_start(p)
    }
}
