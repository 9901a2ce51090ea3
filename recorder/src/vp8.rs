//! VP8 over RTP (RFC 7741) as the recorder needs it: the payload descriptor stripped, the
//! start of a frame recognised, and a keyframe's picture size read (RFC 6386 §9.1).

/// One RTP payload's VP8 data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp8Payload<'a> {
    /// The first packet of a frame (S = 1 and partition index 0).
    pub frame_start: bool,
    /// The VP8 bytes after the payload descriptor.
    pub data: &'a [u8],
}

/// Strip the payload descriptor; `None` when it is cut short or nothing follows it.
pub fn parse(payload: &[u8]) -> Option<Vp8Payload<'_>> {
    let first = *payload.first()?;
    let mut at = 1;
    if first & 0x80 != 0 {
        let x = *payload.get(at)?;
        at += 1;
        if x & 0x80 != 0 {
            // PictureID: 7 or 15 bits (M).
            let pid = *payload.get(at)?;
            at += if pid & 0x80 != 0 { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            at += 1; // TL0PICIDX
        }
        if x & 0x30 != 0 {
            at += 1; // TID / Y / KEYIDX
        }
    }
    let data = payload.get(at..).filter(|d| !d.is_empty())?;
    Some(Vp8Payload {
        frame_start: first & 0x10 != 0 && first & 0x07 == 0,
        data,
    })
}

/// Whether a whole frame (or its first packet's data) is a keyframe: the frame tag's P bit.
pub fn is_keyframe(frame: &[u8]) -> bool {
    frame.first().is_some_and(|b| b & 0x01 == 0)
}

/// A keyframe's width and height (the 14-bit fields after the start code), or `None` for an
/// interframe or a header cut short.
pub fn keyframe_size(frame: &[u8]) -> Option<(u16, u16)> {
    if !is_keyframe(frame) || frame.get(3..6)? != [0x9d, 0x01, 0x2a] {
        return None;
    }
    let w = u16::from_le_bytes([*frame.get(6)?, *frame.get(7)?]) & 0x3fff;
    let h = u16::from_le_bytes([*frame.get(8)?, *frame.get(9)?]) & 0x3fff;
    (w > 0 && h > 0).then_some((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptors_of_every_shape_are_stripped() {
        // S=1, PID 0, no extensions.
        assert_eq!(
            parse(&[0x10, 0xaa, 0xbb]),
            Some(Vp8Payload {
                frame_start: true,
                data: &[0xaa, 0xbb]
            })
        );
        // X with a 15-bit picture ID, TL0PICIDX and TID: what Chromium sends.
        let p = parse(&[0x90, 0xe0, 0x81, 0x23, 0x45, 0x60, 0xcc]).unwrap();
        assert_eq!(p.data, &[0xcc]);
        assert!(p.frame_start);
        // A continuation packet, and a start of partition 1: not a frame start.
        assert!(!parse(&[0x00, 0x01]).unwrap().frame_start);
        assert!(!parse(&[0x11, 0x01]).unwrap().frame_start);
        // Cut short, or nothing after the descriptor.
        assert_eq!(parse(&[0x90, 0x80]), None);
        assert_eq!(parse(&[0x10]), None);
        assert_eq!(parse(&[]), None);
    }

    #[test]
    fn keyframes_tell_their_size() {
        let mut key = vec![0x50, 0x2d, 0x01, 0x9d, 0x01, 0x2a];
        key.extend_from_slice(&(1280u16 | 0x4000).to_le_bytes()); // a scale bit set
        key.extend_from_slice(&720u16.to_le_bytes());
        assert_eq!(keyframe_size(&key), Some((1280, 720)));
        assert!(is_keyframe(&key));
        key[0] |= 1;
        assert_eq!(keyframe_size(&key), None, "an interframe");
        assert_eq!(keyframe_size(&[0x50, 0, 0, 0x9d]), None);
    }
}
