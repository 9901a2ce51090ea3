//! What a simulated endpoint puts in its RTP payloads, and how a receiver reads it back.
//!
//! A synthetic payload is: the codec's own prefix (nothing for audio; a VP8 payload descriptor,
//! and at the start of a frame the VP8 payload header, for video), then a 24-byte [`Tag`] that
//! says who sent it on which stream, its sequence number on that stream and when it was sent,
//! then filler derived from the sequence number so a receiver can tell an intact packet from a
//! damaged one ([`build`]).
//!
//! A replayed payload (a real clip, [`crate::clip`]) must stay decodable, so its tag comes
//! last, where decoders do not look: after a VP8 frame's last packet, or as the padding of an
//! Opus packet (RFC 6716 §3.2.5, which decoders skip). There the tag carries a checksum of the
//! bytes before it ([`build_trailing`], [`opus_with_tag`]).
//!
//! The hub forwards payloads untouched, so whatever arrives must read back whole ([`read`]).

use std::time::Instant;

/// Marks the start of a tag (and its format version) near the start of a payload.
pub const MAGIC: [u8; 4] = *b"CAU1";
/// Marks a trailing tag, which carries a checksum of the bytes before it.
pub const MAGIC_TRAILING: [u8; 4] = *b"CAUT";
/// Length of a [`Tag`] on the wire.
pub const TAG_LEN: usize = 24;
/// How far into a payload the tag may start (the longest VP8 prefix we write is 14 bytes).
const MAX_PREFIX: usize = 32;

/// One stream of an endpoint: its audio, or one video layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StreamKind {
    Audio,
    Video { layer: u8 },
}

impl StreamKind {
    fn code(self) -> u16 {
        match self {
            StreamKind::Audio => 0,
            StreamKind::Video { layer } => 0x100 | u16::from(layer),
        }
    }

    fn from_code(code: u16) -> Option<StreamKind> {
        match code {
            0 => Some(StreamKind::Audio),
            c if c & 0xff00 == 0x100 => Some(StreamKind::Video { layer: c as u8 }),
            _ => None,
        }
    }

    pub fn is_video(self) -> bool {
        matches!(self, StreamKind::Video { .. })
    }
}

/// A stream of the whole run: which endpoint (by its index in the run) sends it, and what.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StreamKey {
    pub sender: u32,
    pub kind: StreamKind,
}

/// The measurement header in every payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tag {
    pub stream: StreamKey,
    /// Packet number on this stream, from 0.
    pub seq: u32,
    /// When it was sent, in microseconds since the run's [`Clock`] epoch.
    pub sent_us: u64,
}

impl Tag {
    /// The tag's bytes: a leading tag, or with `check` (the checksum of what precedes it) a
    /// trailing one.
    fn write(&self, out: &mut Vec<u8>, check: Option<u16>) {
        out.extend_from_slice(if check.is_some() {
            &MAGIC_TRAILING
        } else {
            &MAGIC
        });
        out.extend_from_slice(&self.stream.sender.to_be_bytes());
        out.extend_from_slice(&self.stream.kind.code().to_be_bytes());
        out.extend_from_slice(&check.unwrap_or(0).to_be_bytes());
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.sent_us.to_be_bytes());
    }

    fn read(b: &[u8], magic: [u8; 4]) -> Option<Tag> {
        if b.len() < TAG_LEN || b[..4] != magic {
            return None;
        }
        let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let kind = StreamKind::from_code(u16::from_be_bytes([b[8], b[9]]))?;
        let mut sent = [0u8; 8];
        sent.copy_from_slice(&b[16..24]);
        Some(Tag {
            stream: StreamKey {
                sender: u32_at(4),
                kind,
            },
            seq: u32_at(12),
            sent_us: u64::from_be_bytes(sent),
        })
    }
}

/// Why a received payload was not counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Damage {
    /// No tag where one should be (not a payload of ours, or its head was damaged).
    NoTag,
    /// The tag is there but the rest is not what the sender wrote (its filler, or the
    /// checksum of what precedes a trailing tag).
    Filler,
}

/// Build a payload: `prefix`, the tag, then filler up to `size` bytes in all.
pub fn build(prefix: &[u8], tag: Tag, size: usize) -> Vec<u8> {
    let mut p = Vec::with_capacity(size.max(prefix.len() + TAG_LEN));
    p.extend_from_slice(prefix);
    tag.write(&mut p, None);
    let start = p.len();
    let seed = tag.seq as u8;
    p.extend((0..size.saturating_sub(start)).map(|i| seed.wrapping_add(i as u8)));
    p
}

/// `body` with a trailing tag that carries `body`'s checksum.
pub fn build_trailing(body: &[u8], tag: Tag) -> Vec<u8> {
    let mut p = Vec::with_capacity(body.len() + TAG_LEN);
    p.extend_from_slice(body);
    tag.write(&mut p, Some(fletcher16(body)));
    p
}

/// An Opus packet carrying `tag` as its padding (RFC 6716 §3.2.5), still decodable: a packet
/// of one frame or of two equal frames (codes 0 and 1) becomes a code 3 packet of as many
/// frames, with padding; a code 3 packet without padding gains it. `None` for what cannot be
/// padded this way (code 2, or padding already there).
pub fn opus_with_tag(packet: &[u8], tag: Tag) -> Option<Vec<u8>> {
    let (&toc, rest) = packet.split_first()?;
    // TAG_LEN < 255: one padding-length byte says how much padding follows.
    let pad_len = TAG_LEN as u8;
    let mut body = Vec::with_capacity(packet.len() + 2);
    match toc & 0x03 {
        // Code 0: one frame. Code 1: two frames of equal size (CBR). → code 3 CBR, p=1.
        c @ (0 | 1) => {
            let frames = if c == 0 { 1 } else { 2 };
            body.extend_from_slice(&[toc | 0x03, 0x40 | frames, pad_len]);
            body.extend_from_slice(rest);
        }
        3 => {
            let (&count, frames) = rest.split_first()?;
            if count & 0x40 != 0 {
                return None;
            }
            body.extend_from_slice(&[toc, count | 0x40, pad_len]);
            body.extend_from_slice(frames);
        }
        _ => return None,
    }
    Some(build_trailing(&body, tag))
}

/// Fletcher-16 of `b`: enough to tell a damaged payload from an intact one.
fn fletcher16(b: &[u8]) -> u16 {
    let (mut a, mut c) = (0u16, 0u16);
    for &x in b {
        a = (a + u16::from(x)) % 255;
        c = (c + a) % 255;
    }
    (c << 8) | a
}

/// Read back a payload made by [`build`] (checking every filler byte) or by
/// [`build_trailing`] / [`opus_with_tag`] (checking the checksum).
pub fn read(payload: &[u8]) -> Result<Tag, Damage> {
    match read_leading(payload) {
        Err(Damage::NoTag) => read_trailing(payload),
        found => found,
    }
}

fn read_leading(payload: &[u8]) -> Result<Tag, Damage> {
    let window = &payload[..payload.len().min(MAX_PREFIX + MAGIC.len())];
    let start = window
        .windows(MAGIC.len())
        .position(|w| w == MAGIC)
        .ok_or(Damage::NoTag)?;
    let tag = Tag::read(&payload[start..], MAGIC).ok_or(Damage::NoTag)?;
    let filler = &payload[start + TAG_LEN..];
    let seed = tag.seq as u8;
    let intact = filler
        .iter()
        .enumerate()
        .all(|(i, b)| *b == seed.wrapping_add(i as u8));
    if intact { Ok(tag) } else { Err(Damage::Filler) }
}

fn read_trailing(payload: &[u8]) -> Result<Tag, Damage> {
    let start = payload.len().checked_sub(TAG_LEN).ok_or(Damage::NoTag)?;
    let (body, tail) = payload.split_at(start);
    let tag = Tag::read(tail, MAGIC_TRAILING).ok_or(Damage::NoTag)?;
    let check = u16::from_be_bytes([tail[10], tail[11]]);
    if check == fletcher16(body) {
        Ok(tag)
    } else {
        Err(Damage::Filler)
    }
}

/// The run's clock: microseconds since one epoch shared by every endpoint of the process, so
/// a receiver subtracts a sender's timestamp from its own reading to get the one-way delay.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    epoch: Instant,
}

impl Clock {
    pub fn new(epoch: Instant) -> Self {
        Clock { epoch }
    }

    pub fn epoch(&self) -> Instant {
        self.epoch
    }

    pub fn us(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.epoch).as_micros() as u64
    }
}

/// VP8 prefixes as browsers send them (RFC 7741): a payload descriptor with the extension
/// bit and a 15-bit picture id; on the first packet of a frame, the VP8 payload header too.
pub mod vp8 {
    /// The descriptor for one packet of frame `picture_id`; `start` on its first packet.
    pub fn descriptor(picture_id: u16, start: bool) -> [u8; 4] {
        let pid = picture_id & 0x7fff;
        [
            0x80 | if start { 0x10 } else { 0 }, // X=1, N=0, S, PID=0
            0x80,                                // I=1
            0x80 | (pid >> 8) as u8,             // M=1: 15-bit picture id
            pid as u8,
        ]
    }

    /// The VP8 payload header at the start of a frame's first partition: the 3-byte frame tag
    /// (P=0 for a keyframe, shown, first-partition size), and for a keyframe the start code and
    /// dimensions.
    pub fn frame_header(keyframe: bool, width: u16, height: u16, first_part: u32) -> Vec<u8> {
        let size = first_part & 0x7_ffff;
        // Bits: P (0 = key), version 3 bits (0), show_frame 1, first_part_size 19 bits.
        let tag = u32::from(!keyframe) | (1 << 4) | (size << 5);
        let mut h = vec![tag as u8, (tag >> 8) as u8, (tag >> 16) as u8];
        if keyframe {
            h.extend_from_slice(&[0x9d, 0x01, 0x2a]);
            h.extend_from_slice(&width.to_le_bytes());
            h.extend_from_slice(&height.to_le_bytes());
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(seq: u32) -> Tag {
        Tag {
            stream: StreamKey {
                sender: 7,
                kind: StreamKind::Video { layer: 2 },
            },
            seq,
            sent_us: 123_456_789,
        }
    }

    #[test]
    fn a_payload_reads_back_behind_any_prefix() {
        for prefix in [
            vec![],
            vp8::descriptor(5, false).to_vec(),
            [
                vp8::descriptor(5, true).to_vec(),
                vp8::frame_header(true, 640, 360, 900),
            ]
            .concat(),
        ] {
            let p = build(&prefix, tag(300), 1100);
            assert_eq!(p.len(), 1100);
            assert_eq!(read(&p), Ok(tag(300)));
        }
        // Smaller than prefix and tag: still the whole tag.
        let p = build(&[1, 2, 3], tag(1), 10);
        assert_eq!(p.len(), 3 + TAG_LEN);
        assert_eq!(read(&p), Ok(tag(1)));
    }

    #[test]
    fn damage_is_told_apart() {
        let mut p = build(&vp8::descriptor(1, true), tag(9), 200);
        p[150] ^= 1;
        assert_eq!(read(&p), Err(Damage::Filler));
        p[5] = b'X';
        assert_eq!(read(&p), Err(Damage::NoTag));
        assert_eq!(read(&[0u8; 100]), Err(Damage::NoTag));
        assert_eq!(read(&[]), Err(Damage::NoTag));
    }

    #[test]
    fn the_vp8_prefix_is_what_the_hub_recognises_as_a_keyframe() {
        // Same rules as the hub's codec module: S=1, PID=0, then P=0 in the frame tag.
        let key = [
            vp8::descriptor(42, true).to_vec(),
            vp8::frame_header(true, 1280, 720, 4000),
        ]
        .concat();
        assert_eq!(key[0] & 0x10, 0x10);
        assert_eq!(key[0] & 0x07, 0);
        assert_eq!(key[4] & 0x01, 0, "P bit clear on a keyframe");
        assert_eq!(&key[7..10], &[0x9d, 0x01, 0x2a]);
        let delta = vp8::frame_header(false, 0, 0, 10);
        assert_eq!(delta.len(), 3);
        assert_eq!(delta[0] & 1, 1);
    }

    #[test]
    fn trailing_tags_read_back_and_damage_shows() {
        let body = [
            vp8::descriptor(3, true).to_vec(),
            vec![0x10, 0x02, 0x00, 7, 7, 7],
        ]
        .concat();
        let p = build_trailing(&body, tag(12));
        assert_eq!(&p[..body.len()], &body[..], "the frame data is untouched");
        assert_eq!(read(&p), Ok(tag(12)));
        let mut bad = p.clone();
        bad[6] ^= 0x40;
        assert_eq!(read(&bad), Err(Damage::Filler));
    }

    #[test]
    fn opus_packets_carry_the_tag_as_padding() {
        // Code 0 (one 20 ms CELT frame) becomes code 3 CBR with one frame and padding.
        let frame = [0xfcu8, 1, 2, 3, 4, 5];
        let p = opus_with_tag(&frame, tag(4)).unwrap();
        assert_eq!(p[0], 0xff, "same config, code 3");
        assert_eq!(p[1], 0x41, "CBR, padding, one frame");
        assert_eq!(usize::from(p[2]), TAG_LEN, "padding length");
        assert_eq!(&p[3..8], &frame[1..], "the frame follows unchanged");
        assert_eq!(p.len(), 3 + 5 + TAG_LEN, "frame length = rest - padding");
        assert_eq!(read(&p), Ok(tag(4)));
        // Code 1: two frames.
        let p = opus_with_tag(&[0xfd, 1, 2, 3, 4], tag(5)).unwrap();
        assert_eq!(p[1], 0x42);
        // Code 3 without padding gains it; with padding, or code 2, it is left alone.
        let p = opus_with_tag(&[0xff, 0x03, 9, 9, 9], tag(6)).unwrap();
        assert_eq!(&p[..3], &[0xff, 0x43, TAG_LEN as u8]);
        assert!(opus_with_tag(&[0xff, 0x43, 0, 9], tag(6)).is_none());
        assert!(opus_with_tag(&[0xfe, 1, 9, 9], tag(6)).is_none());
    }
}
