//! The little we need to know about payloads: the codec family of a packet and whether it
//! starts a keyframe. Parsing is defensive: any byte string is a valid input and a short or
//! odd payload is simply "not a keyframe start".

/// Codec family of a forwarded stream. Payload types are per peer; this is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    Opus,
    Vp8,
    H264,
    /// Anything else we negotiated (forwarded as is, no keyframe knowledge).
    Other,
}

impl Codec {
    /// RTP clock rate used to convert wall-clock gaps into timestamp gaps.
    pub fn clock_rate(self) -> u32 {
        match self {
            Codec::Opus => 48_000,
            Codec::Vp8 | Codec::H264 | Codec::Other => 90_000,
        }
    }

    pub fn is_video(self) -> bool {
        matches!(self, Codec::Vp8 | Codec::H264)
    }

    /// Whether `payload` (the RTP payload, no header) is the first packet of a keyframe.
    pub fn is_keyframe_start(self, payload: &[u8]) -> bool {
        match self {
            Codec::Vp8 => vp8_keyframe_start(payload),
            Codec::H264 => h264_keyframe_start(payload),
            Codec::Opus | Codec::Other => false,
        }
    }
}

/// VP8 payload descriptor (RFC 7741 §4.2) followed by the VP8 payload header (§4.3).
/// A keyframe starts where S=1, PID=0 and the payload header's P bit (inverse key frame) is 0.
pub fn vp8_keyframe_start(payload: &[u8]) -> bool {
    let Some(&first) = payload.first() else {
        return false;
    };
    let start_of_partition = first & 0x10 != 0;
    let partition_id = first & 0x07;
    if !start_of_partition || partition_id != 0 {
        return false;
    }
    vp8_descriptor(payload)
        .and_then(|(_, header)| payload.get(header))
        .is_some_and(|&h| h & 0x01 == 0)
}

/// The VP8 payload descriptor's frame numbering (RFC 7741 §4.2): the picture ID (7 or 15
/// bits) and the TL0PICIDX. A receiver's frame buffer relies on them being continuous, so a
/// slot that switches between publishers or layers must rewrite them as it rewrites sequence
/// numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp8Ids {
    /// (picture ID, whether it is the 15-bit form).
    pub picture_id: Option<(u16, bool)>,
    pub tl0_pic_idx: Option<u8>,
}

/// The descriptor's frame numbering, if the payload is long enough to hold what it declares.
pub fn vp8_ids(payload: &[u8]) -> Option<Vp8Ids> {
    vp8_descriptor(payload).map(|(ids, _)| ids)
}

/// The VP8 payload descriptor: its frame numbering and where the payload header starts
/// (`None` when the payload is shorter than the fields the descriptor declares).
fn vp8_descriptor(payload: &[u8]) -> Option<(Vp8Ids, usize)> {
    let first = *payload.first()?;
    let mut ids = Vp8Ids {
        picture_id: None,
        tl0_pic_idx: None,
    };
    if first & 0x80 == 0 {
        return Some((ids, 1));
    }
    let x = *payload.get(1)?;
    let has_picture_id = x & 0x80 != 0;
    let has_tl0picidx = x & 0x40 != 0;
    let has_tid = x & 0x20 != 0;
    let has_keyidx = x & 0x10 != 0;
    let mut at = 2;
    if has_picture_id {
        let p = *payload.get(at)?;
        if p & 0x80 != 0 {
            let low = *payload.get(at + 1)?;
            ids.picture_id = Some(((u16::from(p & 0x7f) << 8) | u16::from(low), true));
            at += 2;
        } else {
            ids.picture_id = Some((u16::from(p), false));
            at += 1;
        }
    }
    if has_tl0picidx {
        ids.tl0_pic_idx = Some(*payload.get(at)?);
        at += 1;
    }
    if has_tid || has_keyidx {
        at += 1;
    }
    Some((ids, at))
}

/// H.264 (RFC 6184): a keyframe starts with an SPS (7) or IDR slice (5), either as a single
/// NAL unit, inside a STAP-A (24), or as the start fragment of an FU-A (28).
pub fn h264_keyframe_start(payload: &[u8]) -> bool {
    let Some(&first) = payload.first() else {
        return false;
    };
    let is_key = |nal_type: u8| nal_type == 5 || nal_type == 7;
    match first & 0x1f {
        24 => {
            // STAP-A: 16-bit size then NAL unit, repeated.
            let mut at = 1;
            while at + 2 < payload.len() {
                let size = u16::from_be_bytes([payload[at], payload[at + 1]]) as usize;
                let Some(&nal) = payload.get(at + 2) else {
                    return false;
                };
                if is_key(nal & 0x1f) {
                    return true;
                }
                at += 2 + size;
            }
            false
        }
        28 => payload
            .get(1)
            .is_some_and(|&fu| fu & 0x80 != 0 && is_key(fu & 0x1f)),
        t => is_key(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vp8_keyframe_with_extended_descriptor_and_long_picture_id() {
        // X=1,S=1,PID=0 | I=1 | M=1 picture id (2 bytes) | payload header P=0
        assert!(vp8_keyframe_start(&[0x90, 0x80, 0x81, 0x23, 0x10, 0x02]));
        // same, but P=1: inter frame
        assert!(!vp8_keyframe_start(&[0x90, 0x80, 0x81, 0x23, 0x11, 0x02]));
    }

    #[test]
    fn vp8_continuation_packets_are_not_keyframe_starts() {
        // S=0
        assert!(!vp8_keyframe_start(&[0x80, 0x80, 0x05, 0x00]));
        // partition 1
        assert!(!vp8_keyframe_start(&[0x11, 0x00]));
    }

    #[test]
    fn vp8_frame_numbering_is_read_in_both_widths() {
        // X=1, S=1; I=1, L=1, T=1; 15-bit picture id 0x1234; TL0PICIDX 9; TID/KEYIDX byte.
        let long = [0x90, 0xe0, 0x80 | 0x12, 0x34, 9, 0x20, 0x00];
        assert_eq!(
            vp8_ids(&long),
            Some(Vp8Ids {
                picture_id: Some((0x1234, true)),
                tl0_pic_idx: Some(9)
            })
        );
        let short = [0x90, 0x80, 0x55, 0x00];
        assert_eq!(vp8_ids(&short).unwrap().picture_id, Some((0x55, false)));
        assert_eq!(vp8_ids(&[0x10, 0x00]).unwrap().picture_id, None);
        assert_eq!(vp8_ids(&[0x90, 0x80, 0x81]), None, "truncated");
        assert_eq!(vp8_ids(&[]), None);
    }

    #[test]
    fn vp8_truncated_payloads_are_never_keyframes() {
        for bytes in [
            &[][..],
            &[0x90],
            &[0x90, 0x80],
            &[0x90, 0x80, 0x81],
            &[0x10],
        ] {
            assert!(!vp8_keyframe_start(bytes), "{bytes:?}");
        }
        // short descriptor without X: S=1 then P=0
        assert!(vp8_keyframe_start(&[0x10, 0x00]));
    }

    #[test]
    fn h264_idr_sps_in_all_packetizations() {
        assert!(h264_keyframe_start(&[0x65, 0x88])); // IDR single NAL
        assert!(h264_keyframe_start(&[0x67, 0x42])); // SPS
        assert!(!h264_keyframe_start(&[0x41, 0x9a])); // non-IDR slice
        // STAP-A holding an SPS
        assert!(h264_keyframe_start(&[0x78, 0x00, 0x02, 0x67, 0x42]));
        // FU-A start of IDR, and a middle fragment
        assert!(h264_keyframe_start(&[0x7c, 0x85, 0x00]));
        assert!(!h264_keyframe_start(&[0x7c, 0x05, 0x00]));
        assert!(!h264_keyframe_start(&[0x78, 0x00]));
    }
}
