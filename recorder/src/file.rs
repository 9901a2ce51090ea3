//! One participant's recording: its audio and video streams written live into one WebM file
//! named `….webm.part` until it is finalised ([`crate::finalise`]).

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::track::{Frame, RtpIn, SenderClock, StreamKind, TrackRecorder, TrackStats};
use crate::webm::{Codec, LiveWebm, TrackSpec};

/// The suffix of a file still being written (or left by a crash).
pub const PART_SUFFIX: &str = ".part";

/// Which of the participant's streams the file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Streams {
    pub audio: bool,
    pub video: bool,
}

/// One participant's file being written.
#[derive(Debug)]
pub struct ParticipantFile {
    path: PathBuf,
    webm: LiveWebm<BufWriter<File>>,
    /// (track index in the file, its recorder), audio then video.
    audio: Option<(usize, TrackRecorder)>,
    video: Option<(usize, TrackRecorder)>,
    frames: Vec<Frame>,
    /// The publisher's clock, shared by its audio and video for lip sync.
    clock: SenderClock,
    /// The session timeline's start.
    origin: Instant,
}

impl ParticipantFile {
    /// Create `dir/STEM.webm.part` holding `streams`, on the timeline that starts at `origin`;
    /// `name` (the participant's, with its unit) names the tracks for players.
    pub fn create(
        dir: &Path,
        stem: &str,
        name: &str,
        streams: Streams,
        origin: Instant,
    ) -> io::Result<Self> {
        assert!(streams.audio || streams.video, "a file holds something");
        let path = dir.join(format!("{stem}.webm{PART_SUFFIX}"));
        let file = File::options().write(true).create_new(true).open(&path)?;
        let mut specs = vec![];
        let mut audio = None;
        let mut video = None;
        if streams.audio {
            audio = Some((specs.len(), TrackRecorder::new(StreamKind::Opus, origin)));
            specs.push(TrackSpec {
                codec: Codec::Opus { channels: 1 },
                name: name.to_string(),
            });
        }
        if streams.video {
            video = Some((specs.len(), TrackRecorder::new(StreamKind::Vp8, origin)));
            specs.push(TrackSpec {
                codec: Codec::Vp8,
                name: name.to_string(),
            });
        }
        let app = concat!("cau ", env!("CARGO_PKG_VERSION"));
        let webm = LiveWebm::create(BufWriter::with_capacity(256 * 1024, file), specs, app)?;
        Ok(ParticipantFile {
            path,
            webm,
            audio,
            video,
            frames: vec![],
            clock: SenderClock::new(streams.audio),
            origin,
        })
    }

    /// The file being written (`….webm.part`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A packet of the participant's audio or video, of codec `kind`, arrived at `now`. The
    /// video track is VP8 until an H.264 packet comes before any frame: then it is H.264, and
    /// the file Matroska. Video of another codec than the track's after that is left out.
    pub fn push(&mut self, now: Instant, kind: StreamKind, pkt: RtpIn) -> io::Result<()> {
        let origin = self.origin;
        let Some((index, track)) = (if kind.is_video() {
            self.video.as_mut()
        } else {
            self.audio.as_mut()
        }) else {
            return Ok(());
        };
        if track.kind() != kind {
            if !kind.is_video() || track.stats().frames > 0 {
                return Ok(());
            }
            *track = TrackRecorder::new(kind, origin);
        }
        let index = *index;
        track.push(now, pkt, &mut self.clock, &mut self.frames);
        self.write(index)
    }

    /// Release what waited long enough for a missing packet; call at
    /// [`ParticipantFile::deadline`] or regularly.
    pub fn poll(&mut self, now: Instant) -> io::Result<()> {
        for video in [false, true] {
            let stream = if video {
                &mut self.video
            } else {
                &mut self.audio
            };
            if let Some((index, track)) = stream {
                let index = *index;
                track.poll(now, &mut self.clock, &mut self.frames);
                self.write(index)?;
            }
        }
        Ok(())
    }

    /// When the next [`ParticipantFile::poll`] is due.
    pub fn deadline(&self) -> Option<Instant> {
        [&self.audio, &self.video]
            .into_iter()
            .flatten()
            .filter_map(|(_, t)| t.deadline())
            .min()
    }

    /// Whether the video needs a keyframe from the publisher (asked once per need).
    pub fn take_keyframe_request(&mut self) -> bool {
        self.video
            .as_mut()
            .is_some_and(|(_, t)| t.take_keyframe_request())
    }

    /// Make everything written so far durable (the last cluster included).
    pub fn flush(&mut self) -> io::Result<()> {
        self.webm.flush()
    }

    /// The first and last frame times written (ms on the session's timeline).
    pub fn span(&self) -> Option<(i64, i64)> {
        self.webm.span()
    }

    /// Counts of the audio and the video stream.
    pub fn stats(&self) -> (Option<TrackStats>, Option<TrackStats>) {
        (
            self.audio.as_ref().map(|(_, t)| t.stats()),
            self.video.as_ref().map(|(_, t)| t.stats()),
        )
    }

    /// The participant's streams ended: write what is left and close the file. Returns its
    /// path (still `….webm.part`: finalising is [`crate::finalise`]'s).
    pub fn finish(mut self) -> io::Result<PathBuf> {
        for video in [false, true] {
            let stream = if video {
                &mut self.video
            } else {
                &mut self.audio
            };
            if let Some((index, track)) = stream {
                let index = *index;
                track.finish(&mut self.clock, &mut self.frames);
                self.write(index)?;
            }
        }
        let out = self.webm.finish()?;
        out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        Ok(self.path)
    }

    fn write(&mut self, index: usize) -> io::Result<()> {
        // The first H.264 keyframe brings the decoder configuration the track needs first.
        if let Some((video, track)) = &self.video
            && *video == index
            && track.kind() == StreamKind::H264
            && !self.webm.is_matroska()
            && !self.frames.is_empty()
        {
            let config = track
                .decoder_config()
                .ok_or_else(|| io::Error::other("an H.264 keyframe without its SPS and PPS"))?
                .to_vec();
            self.webm.set_h264(&config)?;
        }
        for f in self.frames.drain(..) {
            self.webm.push(index, f.time_ms, f.keyframe, f.data)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn audio_and_video_packets_become_blocks_of_their_tracks() {
        let dir = std::env::temp_dir().join(format!("cau-file-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let t0 = Instant::now();
        let streams = Streams {
            audio: true,
            video: true,
        };
        let mut f = ParticipantFile::create(&dir, "p", "An", streams, t0).unwrap();
        let mut key = vec![
            0x10, 0x50, 0x2d, 0x01, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00,
        ];
        key.extend_from_slice(&[0u8; 50]);
        for i in 0..50u32 {
            let at = t0 + Duration::from_millis(u64::from(i) * 20);
            let audio = RtpIn {
                seq: u64::from(i) + 1,
                ts: i * 960,
                marker: false,
                payload: vec![0x78, 1, 2, 3],
                sender_us: None,
            };
            f.push(at, StreamKind::Opus, audio).unwrap();
            if i % 3 == 0 {
                let video = RtpIn {
                    seq: u64::from(i / 3) + 1,
                    ts: i * 1800,
                    marker: true,
                    payload: key.clone(),
                    sender_us: None,
                };
                f.push(at, StreamKind::Vp8, video).unwrap();
            }
        }
        let part = f.finish().unwrap();
        let bytes = std::fs::read(&part).unwrap();
        let blocks = crate::webm::blocks(&bytes);
        let audio = blocks.iter().filter(|b| b.1 == 1).count();
        let video = blocks.iter().filter(|b| b.1 == 2).count();
        assert_eq!((audio, video), (50, 17));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
