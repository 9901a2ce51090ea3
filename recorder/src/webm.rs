//! A live WebM writer for one participant's file: written as the session goes, readable at
//! every moment. The segment and each cluster have the "unknown" size (a file cut by a crash
//! plays up to the cut), a cluster starts at each video keyframe and at least every 2 s, and
//! the writer flushes at each new cluster — so a crash loses at most the cluster being
//! written. Frames of the file's tracks are interleaved by time (they arrive through jitter
//! buffers of different depths) before they are written.
//!
//! Seeking (cues) and the duration are added when the file is finalised
//! ([`crate::finalise`]); a live file has neither, as a live stream has neither.
//!
//! A video track starts as VP8, the browsers' usual codec. A publisher that sends H.264
//! turns the file into Matroska before its first frame ([`LiveWebm::set_h264`]): the DocType
//! (`webm` → `matroska`) and the CodecID (`V_VP8` → `V_MPEG4/ISO/AVC`) are written
//! zero-padded so that they can be rewritten in place, and the track keeps room (a Void
//! element) for the decoder configuration H.264 needs as its CodecPrivate.

use std::collections::BTreeMap;
use std::io::{self, Seek, SeekFrom, Write};

use crate::ebml;
use crate::vp8;

// Element IDs (Matroska, RFC 9559).
const EBML: u32 = 0x1A45_DFA3;
const EBML_VERSION: u32 = 0x4286;
const EBML_READ_VERSION: u32 = 0x42F7;
const EBML_MAX_ID_LENGTH: u32 = 0x42F2;
const EBML_MAX_SIZE_LENGTH: u32 = 0x42F3;
const DOC_TYPE: u32 = 0x4282;
const DOC_TYPE_VERSION: u32 = 0x4287;
const DOC_TYPE_READ_VERSION: u32 = 0x4285;
const SEGMENT: u32 = 0x1853_8067;
const INFO: u32 = 0x1549_A966;
const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
const MUXING_APP: u32 = 0x4D80;
const WRITING_APP: u32 = 0x5741;
const TRACKS: u32 = 0x1654_AE6B;
const TRACK_ENTRY: u32 = 0xAE;
const TRACK_NUMBER: u32 = 0xD7;
const TRACK_UID: u32 = 0x73C5;
const TRACK_TYPE: u32 = 0x83;
const FLAG_LACING: u32 = 0x9C;
const NAME: u32 = 0x536E;
const CODEC_ID: u32 = 0x86;
const CODEC_PRIVATE: u32 = 0x63A2;
const CODEC_DELAY: u32 = 0x56AA;
const SEEK_PRE_ROLL: u32 = 0x56BB;
const VIDEO: u32 = 0xE0;
const PIXEL_WIDTH: u32 = 0xB0;
const PIXEL_HEIGHT: u32 = 0xBA;
const AUDIO: u32 = 0xE1;
const SAMPLING_FREQUENCY: u32 = 0xB5;
const CHANNELS: u32 = 0x9F;
const CLUSTER: u32 = 0x1F43_B675;
const TIMESTAMP: u32 = 0xE7;
const SIMPLE_BLOCK: u32 = 0xA3;

/// A cluster lasts at most this long (ms).
pub const MAX_CLUSTER_MS: i64 = 2_000;
/// Frames wait this long (ms, on the file's timeline) to be written in time order.
pub const INTERLEAVE_MS: i64 = 500;
/// The size a video track declares until its first keyframe says the real one.
const PLACEHOLDER_SIZE: (u16, u16) = (640, 480);
/// Bytes kept in the video track for H.264's decoder configuration (an SPS and a PPS of a
/// browser's stream take well under 100).
const CODEC_PRIVATE_ROOM: usize = 512;
/// The padded lengths of the DocType and the video CodecID.
const DOC_TYPE_LEN: usize = 8;
const CODEC_ID_LEN: usize = 16;

/// What a track carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Codec {
    /// Opus at 48 kHz (RTP's Opus clock) with this many channels.
    Opus {
        channels: u8,
    },
    Vp8,
    /// H.264 (AVCC frames), with its decoder configuration (`avcC`).
    H264,
}

impl Codec {
    pub fn is_video(self) -> bool {
        !matches!(self, Codec::Opus { .. })
    }
}

/// Where the first video track's rewritable parts are in the file.
#[derive(Debug, Clone, Copy)]
struct VideoAt {
    track: usize,
    width: u64,
    height: u64,
    codec_id: u64,
    /// The Void element kept for the CodecPrivate.
    room: u64,
}

/// One track of the file: its codec and a name (the participant's, for players).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackSpec {
    pub codec: Codec,
    pub name: String,
}

/// A frame waiting to be written.
#[derive(Debug)]
struct Pending {
    track: usize,
    keyframe: bool,
    data: Vec<u8>,
}

/// A live WebM file.
#[derive(Debug)]
pub struct LiveWebm<W: Write + Seek> {
    out: W,
    tracks: Vec<TrackSpec>,
    /// Where the DocType's value is in the file.
    doc_type_at: u64,
    /// Where the first video track's size, CodecID and room for CodecPrivate are.
    video_at: Option<VideoAt>,
    size_known: bool,
    /// The open cluster's timestamp (ms).
    cluster: Option<i64>,
    /// The last time written per track (ms): a track's times never go back.
    last: Vec<Option<i64>>,
    /// Frames by (time, arrival order).
    queue: BTreeMap<(i64, u64), Pending>,
    order: u64,
    newest: Option<i64>,
    /// The span written so far (ms): first and last frame times.
    span: Option<(i64, i64)>,
    buf: Vec<u8>,
}

impl<W: Write + Seek> LiveWebm<W> {
    /// Start the file: the EBML header, the open segment, its info and tracks. Track numbers
    /// are 1, 2, … in the order of `tracks`.
    pub fn create(mut out: W, tracks: Vec<TrackSpec>, writing_app: &str) -> io::Result<Self> {
        assert!(!tracks.is_empty() && tracks.len() < 127);
        let mut head = vec![];
        let mut e = vec![];
        ebml::uint(&mut e, EBML_VERSION, 1);
        ebml::uint(&mut e, EBML_READ_VERSION, 1);
        ebml::uint(&mut e, EBML_MAX_ID_LENGTH, 4);
        ebml::uint(&mut e, EBML_MAX_SIZE_LENGTH, 8);
        let doc_type_in_e = ebml::string_padded(&mut e, DOC_TYPE, b"webm", DOC_TYPE_LEN);
        ebml::uint(&mut e, DOC_TYPE_VERSION, 4);
        ebml::uint(&mut e, DOC_TYPE_READ_VERSION, 2);
        ebml::master(&mut head, EBML, &e);
        let doc_type_at = (head.len() - e.len() + doc_type_in_e) as u64;
        ebml::open_master(&mut head, SEGMENT);
        let mut info = vec![];
        ebml::uint(&mut info, TIMESTAMP_SCALE, 1_000_000);
        ebml::bytes(&mut info, MUXING_APP, b"cau-recorder");
        ebml::bytes(&mut info, WRITING_APP, writing_app.as_bytes());
        ebml::master(&mut head, INFO, &info);

        // Tracks, remembering where the first video track's rewritable parts are: each
        // offset is where it lands in the body being built, moved as the body is wrapped.
        let mut entries = vec![];
        let mut video_in_entries: Option<(usize, [usize; 4])> = None;
        for (i, t) in tracks.iter().enumerate() {
            let mut entry = vec![];
            let mut video_in_entry = None;
            ebml::uint(&mut entry, TRACK_NUMBER, i as u64 + 1);
            ebml::uint(&mut entry, TRACK_UID, i as u64 + 1);
            ebml::uint(&mut entry, FLAG_LACING, 0);
            if !t.name.is_empty() {
                ebml::bytes(&mut entry, NAME, t.name.as_bytes());
            }
            match t.codec {
                Codec::Opus { channels } => {
                    ebml::uint(&mut entry, TRACK_TYPE, 2);
                    ebml::bytes(&mut entry, CODEC_ID, b"A_OPUS");
                    ebml::bytes(&mut entry, CODEC_PRIVATE, &opus_head(channels));
                    ebml::uint(&mut entry, CODEC_DELAY, 0);
                    ebml::uint(&mut entry, SEEK_PRE_ROLL, 80_000_000);
                    let mut audio = vec![];
                    ebml::float(&mut audio, SAMPLING_FREQUENCY, 48_000.0);
                    ebml::uint(&mut audio, CHANNELS, u64::from(channels));
                    ebml::master(&mut entry, AUDIO, &audio);
                }
                Codec::Vp8 | Codec::H264 => {
                    ebml::uint(&mut entry, TRACK_TYPE, 1);
                    let codec: &[u8] = if t.codec == Codec::Vp8 {
                        b"V_VP8"
                    } else {
                        b"V_MPEG4/ISO/AVC"
                    };
                    let codec_at = ebml::string_padded(&mut entry, CODEC_ID, codec, CODEC_ID_LEN);
                    let mut video = vec![];
                    let (w, h) = PLACEHOLDER_SIZE;
                    let w_at = ebml::uint_fixed(&mut video, PIXEL_WIDTH, u64::from(w), 2);
                    let h_at = ebml::uint_fixed(&mut video, PIXEL_HEIGHT, u64::from(h), 2);
                    ebml::master(&mut entry, VIDEO, &video);
                    let body = entry.len() - video.len();
                    let room_at = entry.len();
                    ebml::void(&mut entry, CODEC_PRIVATE_ROOM);
                    video_in_entry = Some([body + w_at, body + h_at, codec_at, room_at]);
                }
            }
            ebml::master(&mut entries, TRACK_ENTRY, &entry);
            let body = entries.len() - entry.len();
            if video_in_entries.is_none() {
                video_in_entries = video_in_entry.map(|at| (i, at.map(|a| body + a)));
            }
        }
        ebml::master(&mut head, TRACKS, &entries);
        let body = (head.len() - entries.len()) as u64;
        let video_at = video_in_entries.map(|(track, [w, h, codec, room])| VideoAt {
            track,
            width: body + w as u64,
            height: body + h as u64,
            codec_id: body + codec as u64,
            room: body + room as u64,
        });
        out.write_all(&head)?;
        out.flush()?;
        Ok(LiveWebm {
            out,
            last: vec![None; tracks.len()],
            tracks,
            doc_type_at,
            video_at,
            size_known: false,
            cluster: None,
            queue: BTreeMap::new(),
            order: 0,
            newest: None,
            span: None,
            buf: Vec::with_capacity(64 * 1024),
        })
    }

    /// Queue a frame of track `track` (0-based, in the order given to [`LiveWebm::create`])
    /// at `time_ms` on the file's timeline; frames older than the newest by
    /// [`INTERLEAVE_MS`] are written. A track's times never go back: an earlier one is
    /// written at the track's last time.
    pub fn push(
        &mut self,
        track: usize,
        time_ms: i64,
        keyframe: bool,
        data: Vec<u8>,
    ) -> io::Result<()> {
        if track >= self.tracks.len() || data.is_empty() {
            return Ok(());
        }
        self.newest = Some(self.newest.map_or(time_ms, |n| n.max(time_ms)));
        self.queue.insert(
            (time_ms, self.order),
            Pending {
                track,
                keyframe,
                data,
            },
        );
        self.order += 1;
        let until = self.newest.unwrap_or(time_ms) - INTERLEAVE_MS;
        self.drain(Some(until))
    }

    /// Write every queued frame and flush: the file then holds everything pushed so far.
    pub fn flush(&mut self) -> io::Result<()> {
        self.drain(None)?;
        self.out.flush()
    }

    /// Write what is queued, flush, and hand back the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.flush()?;
        Ok(self.out)
    }

    /// The first and last frame times written so far (ms).
    pub fn span(&self) -> Option<(i64, i64)> {
        self.span
    }

    /// Write queued frames up to `until` (all of them with `None`).
    fn drain(&mut self, until: Option<i64>) -> io::Result<()> {
        while let Some(entry) = self.queue.first_entry() {
            if until.is_some_and(|u| entry.key().0 > u) {
                break;
            }
            let ((time, _), frame) = entry.remove_entry();
            self.write_frame(time, frame)?;
        }
        if !self.buf.is_empty() {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }

    fn write_frame(&mut self, time: i64, f: Pending) -> io::Result<()> {
        let time = self.last[f.track].map_or(time, |last| time.max(last));
        self.last[f.track] = Some(time);
        let video = self.tracks[f.track].codec.is_video();
        if self.tracks[f.track].codec == Codec::Vp8
            && f.keyframe
            && !self.size_known
            && let Some((w, h)) = vp8::keyframe_size(&f.data)
        {
            self.write_size(w, h)?;
        }
        let starts_cluster = match self.cluster {
            None => true,
            Some(c) => time >= c && ((video && f.keyframe) || time - c >= MAX_CLUSTER_MS),
        };
        if starts_cluster {
            // What the previous cluster holds reaches the disk before the next one starts.
            if !self.buf.is_empty() {
                self.out.write_all(&self.buf)?;
                self.buf.clear();
            }
            self.out.flush()?;
            ebml::open_master(&mut self.buf, CLUSTER);
            ebml::uint(&mut self.buf, TIMESTAMP, time.max(0) as u64);
            self.cluster = Some(time.max(0));
        }
        let cluster = self.cluster.unwrap_or(0);
        let relative = (time - cluster).clamp(i64::from(i16::MIN), i64::from(i16::MAX)) as i16;
        let number = f.track as u8 + 1;
        ebml::id(&mut self.buf, SIMPLE_BLOCK);
        ebml::size(&mut self.buf, 4 + f.data.len() as u64);
        self.buf.push(0x80 | number);
        self.buf.extend_from_slice(&relative.to_be_bytes());
        // Every Opus frame decodes on its own; a VP8 frame only if it is a keyframe.
        let key = !video || f.keyframe;
        self.buf.push(if key { 0x80 } else { 0x00 });
        self.buf.extend_from_slice(&f.data);
        self.span = Some(
            self.span
                .map_or((time, time), |(a, b)| (a.min(time), b.max(time))),
        );
        Ok(())
    }

    /// Put the video size from the first keyframe into the track header, in place.
    fn write_size(&mut self, w: u16, h: u16) -> io::Result<()> {
        self.size_known = true;
        let Some(at) = self.video_at else {
            return Ok(());
        };
        self.patch(&[(at.width, &w.to_be_bytes()), (at.height, &h.to_be_bytes())])
    }

    /// Make the file's first video track H.264 with decoder configuration `config` (`avcC`),
    /// and the file Matroska: only before the track's first frame. An error when there is no
    /// video track, when it already has frames, or when `config` does not fit its room.
    pub fn set_h264(&mut self, config: &[u8]) -> io::Result<()> {
        let Some(at) = self.video_at else {
            return Err(io::Error::other("no video track"));
        };
        if self.last[at.track].is_some() || self.queue.values().any(|p| p.track == at.track) {
            return Err(io::Error::other("the video track already has frames"));
        }
        let mut private = vec![];
        ebml::bytes(&mut private, CODEC_PRIVATE, config);
        if private.len() + 2 > CODEC_PRIVATE_ROOM {
            return Err(io::Error::other(format!(
                "an H.264 decoder configuration of {} bytes does not fit",
                config.len()
            )));
        }
        let rest = CODEC_PRIVATE_ROOM - private.len();
        ebml::void(&mut private, rest);
        let mut doc_type = b"matroska".to_vec();
        doc_type.resize(DOC_TYPE_LEN, 0);
        let mut codec_id = b"V_MPEG4/ISO/AVC".to_vec();
        codec_id.resize(CODEC_ID_LEN, 0);
        self.patch(&[
            (self.doc_type_at, &doc_type),
            (at.codec_id, &codec_id),
            (at.room, &private),
        ])?;
        self.tracks[at.track].codec = Codec::H264;
        Ok(())
    }

    /// Whether the file is Matroska (H.264) rather than WebM.
    pub fn is_matroska(&self) -> bool {
        self.tracks.iter().any(|t| t.codec == Codec::H264)
    }

    /// Rewrite bytes already in the file, at their offsets, and go back to its end.
    fn patch(&mut self, parts: &[(u64, &[u8])]) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.out.write_all(&self.buf)?;
            self.buf.clear();
        }
        let end = self.out.stream_position()?;
        for (at, bytes) in parts {
            self.out.seek(SeekFrom::Start(*at))?;
            self.out.write_all(bytes)?;
        }
        self.out.seek(SeekFrom::Start(end))?;
        self.out.flush()
    }
}

/// Whether the file at `path` (as this writer starts it) is Matroska rather than WebM: its
/// EBML header's DocType says so.
pub fn is_matroska_file(path: &std::path::Path) -> io::Result<bool> {
    use std::io::Read;
    let mut head = [0u8; 64];
    let mut f = std::fs::File::open(path)?;
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..])? {
            0 => break,
            k => n += k,
        }
    }
    // DocType (0x4282), its size, then the value.
    Ok(head[..n]
        .windows(2 + 1 + 8)
        .any(|w| w[..2] == [0x42, 0x82] && &w[3..11] == b"matroska"))
}

/// The Opus identification header (RFC 7845 §5.1) as Matroska's CodecPrivate: version 1, no
/// pre-skip (RTP Opus has none), 48 kHz, no gain, mapping family 0.
fn opus_head(channels: u8) -> Vec<u8> {
    let mut h = b"OpusHead".to_vec();
    h.push(1);
    h.push(channels);
    h.extend_from_slice(&0u16.to_le_bytes());
    h.extend_from_slice(&48_000u32.to_le_bytes());
    h.extend_from_slice(&0i16.to_le_bytes());
    h.push(0);
    h
}

/// Every SimpleBlock of a file this writer wrote: (cluster timestamp, track number,
/// relative time, keyframe flag), walking the EBML structure (unknown-size segment and
/// clusters included) up to the first element cut short. A small reader for checks and
/// tests, not a demuxer.
pub fn blocks(b: &[u8]) -> Vec<(i64, u8, i16, bool)> {
    fn vint(b: &[u8], at: usize, keep_marker: bool) -> Option<(u64, usize)> {
        let first = *b.get(at)?;
        let len = first.leading_zeros() as usize + 1;
        if len > 8 || at + len > b.len() {
            return None;
        }
        let mut v = u64::from(if keep_marker {
            first
        } else {
            first & (0xffu16 >> len) as u8
        });
        for x in &b[at + 1..at + len] {
            v = v << 8 | u64::from(*x);
        }
        if !keep_marker && v == (1u64 << (7 * len)) - 1 {
            v = u64::MAX; // unknown
        }
        Some((v, len))
    }
    let mut out = vec![];
    let mut at = 0;
    let mut cluster = 0i64;
    while let Some((id, il)) = vint(b, at, true) {
        let Some((size, sl)) = vint(b, at + il, false) else {
            break;
        };
        let body = at + il + sl;
        match id {
            // Segment and Cluster are entered, whatever their size.
            0x1853_8067 | 0x1F43_B675 => {
                at = body;
                continue;
            }
            0xE7 => {
                // A Timestamp cut short (or of unknown size) ends the walk like any other.
                let Some(value) = usize::try_from(size)
                    .ok()
                    .and_then(|n| b.get(body..)?.get(..n))
                else {
                    break;
                };
                cluster = value.iter().fold(0i64, |v, x| v << 8 | i64::from(*x));
            }
            0xA3 if body + 4 <= b.len() => {
                out.push((
                    cluster,
                    b[body] & 0x7f,
                    i16::from_be_bytes([b[body + 1], b[body + 2]]),
                    b[body + 3] & 0x80 != 0,
                ));
            }
            _ => {}
        }
        if size == u64::MAX || body as u64 + size > b.len() as u64 {
            break;
        }
        at = body + size as usize;
    }
    out
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn tracks() -> Vec<TrackSpec> {
        vec![
            TrackSpec {
                codec: Codec::Opus { channels: 1 },
                name: "An".into(),
            },
            TrackSpec {
                codec: Codec::Vp8,
                name: "An".into(),
            },
        ]
    }

    /// A VP8 keyframe header for `w`×`h` (RFC 6386 §9.1), then filler.
    pub(crate) fn keyframe(w: u16, h: u16) -> Vec<u8> {
        let mut f = vec![0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a];
        f.extend_from_slice(&w.to_le_bytes());
        f.extend_from_slice(&h.to_le_bytes());
        f.extend_from_slice(&[0xab; 20]);
        f
    }

    fn find(hay: &[u8], needle: &[u8]) -> Vec<usize> {
        hay.windows(needle.len())
            .enumerate()
            .filter(|(_, w)| *w == needle)
            .map(|(i, _)| i)
            .collect()
    }

    #[test]
    fn the_header_opens_an_unknown_size_segment_and_declares_opus_and_vp8() {
        let w = LiveWebm::create(Cursor::new(vec![]), tracks(), "cau test").unwrap();
        let b = w.finish().unwrap().into_inner();
        assert_eq!(b[..4], [0x1a, 0x45, 0xdf, 0xa3]);
        let seg = find(&b, &[0x18, 0x53, 0x80, 0x67])[0];
        assert_eq!(b[seg + 4..seg + 12], ebml::UNKNOWN_SIZE);
        assert_eq!(find(&b, b"A_OPUS").len(), 1);
        assert_eq!(find(&b, b"V_VP8").len(), 1);
        assert_eq!(find(&b, b"OpusHead").len(), 1);
        // The placeholder size, until a keyframe says otherwise.
        assert_eq!(
            find(&b, &[0xb0, 0x82, 0x02, 0x80, 0xba, 0x82, 0x01, 0xe0]).len(),
            1
        );
    }

    #[test]
    fn clusters_start_at_keyframes_and_every_two_seconds_and_frames_interleave_by_time() {
        let mut w = LiveWebm::create(Cursor::new(vec![]), tracks(), "cau test").unwrap();
        // Audio every 20 ms for 5 s; video arrives late (behind a deeper jitter buffer): a
        // keyframe at 100 ms, deltas every 100 ms, another keyframe at 4 s.
        for i in 0..250i64 {
            let t = i * 20;
            w.push(0, t, true, vec![0x78, i as u8]).unwrap();
            if t >= 300 && (t - 300) % 100 == 0 {
                let vt = t - 200;
                let key = vt == 100 || vt == 4000;
                let frame = if key {
                    keyframe(320, 240)
                } else {
                    vec![0x11, 0x22, 0x33]
                };
                w.push(1, vt, key, frame).unwrap();
            }
        }
        assert_eq!(w.span().map(|s| s.0), Some(0));
        let b = w.finish().unwrap().into_inner();
        // The real size replaced the placeholder.
        assert_eq!(
            find(&b, &[0xb0, 0x82, 0x01, 0x40, 0xba, 0x82, 0x00, 0xf0]).len(),
            1
        );
        let blocks = blocks(&b);
        // Clusters: at 0 (first frame), 100 (keyframe), 2100 (2 s), 4000 (keyframe).
        let mut clusters: Vec<i64> = blocks.iter().map(|b| b.0).collect();
        clusters.dedup();
        assert_eq!(clusters, [0, 100, 2100, 4000]);
        assert_eq!(blocks.len(), 250 + 47);
        // In time order across tracks, each video keyframe the first block of its cluster.
        let times: Vec<i64> = blocks.iter().map(|b| b.0 + i64::from(b.2)).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
        for key in blocks.iter().filter(|b| b.1 == 2 && b.3) {
            assert_eq!(key.2, 0, "a keyframe opens its cluster");
        }
        assert!(
            blocks.iter().filter(|b| b.1 == 1).all(|b| b.3),
            "audio blocks are all keys"
        );
    }

    #[test]
    fn a_track_never_goes_back_in_time() {
        let mut w = LiveWebm::create(Cursor::new(vec![]), tracks(), "cau test").unwrap();
        w.push(0, 1000, true, vec![1]).unwrap();
        w.flush().unwrap();
        w.push(0, 900, true, vec![2]).unwrap();
        w.flush().unwrap();
        assert_eq!(w.span(), Some((1000, 1000)));
    }
}
