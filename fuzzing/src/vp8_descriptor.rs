//! `vp8_descriptor`: an RTP payload as a VP8 packet (RFC 7741), read by both readers of ours —
//! the media plane's (`sfu::core::codec`: keyframe starts, the picture ID and TL0PICIDX a
//! switching slot rewrites) and the recorder's (`recorder::vp8`: the descriptor stripped, a
//! frame's start, a keyframe's size). The two must agree on what starts a keyframe: the hub
//! forwards from, and the recorder opens a cluster at, the same packet.
//!
//! The codec module's H.264 keyframe test reads the same untrusted payloads and runs here too
//! (no panic is all it promises).

use sfu::Codec;
use sfu::core::codec::{vp8_ids, vp8_keyframe_start};

pub fn vp8_descriptor(data: &[u8]) {
    let ids = vp8_ids(data);
    if let Some(ids) = ids {
        match ids.picture_id {
            Some((pid, true)) => assert!(pid < 0x8000, "a 15-bit picture ID of {pid}"),
            Some((pid, false)) => assert!(pid < 0x80, "a 7-bit picture ID of {pid}"),
            None => {}
        }
    }
    let key = vp8_keyframe_start(data);
    assert_eq!(key, Codec::Vp8.is_keyframe_start(data));

    let recorded = recorder::vp8::parse(data);
    if let Some(p) = recorded {
        assert!(!p.data.is_empty());
        assert!(data.ends_with(p.data));
        assert!(
            ids.is_some(),
            "the recorder strips a descriptor the sfu finds cut short"
        );
        if let Some((w, h)) = recorder::vp8::keyframe_size(p.data) {
            assert!((1..=0x3fff).contains(&w) && (1..=0x3fff).contains(&h));
            assert!(recorder::vp8::is_keyframe(p.data));
        }
    }
    let recorder_key =
        recorded.is_some_and(|p| p.frame_start && recorder::vp8::is_keyframe(p.data));
    assert_eq!(
        key, recorder_key,
        "sfu and recorder disagree on a keyframe start: {data:02x?}"
    );
    // The whole payload as a frame (what the recorder does with a reassembled one).
    if let Some((w, h)) = recorder::vp8::keyframe_size(data) {
        assert!(w > 0 && h > 0);
    }

    let _ = Codec::H264.is_keyframe_start(data);
}
