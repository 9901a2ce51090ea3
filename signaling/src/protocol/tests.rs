//! The protocol's wire forms and checks.

use super::*;

#[test]
fn decodes_every_client_message() {
    let cases = [
        (
            r#"{"type":"join","v":3,"meeting":7,"name":"An","token":"v1.a.b"}"#,
            ClientMessage::Join {
                v: 3,
                meeting: 7,
                name: "An".into(),
                token: Some("v1.a.b".into()),
            },
        ),
        (
            r#"{"type":"join","v":3,"meeting":7,"name":"An","token":null}"#,
            ClientMessage::Join {
                v: 3,
                meeting: 7,
                name: "An".into(),
                token: None,
            },
        ),
        (r#"{"type":"end_meeting"}"#, ClientMessage::EndMeeting),
        (
            r#"{"type":"offer","sdp":"v=0"}"#,
            ClientMessage::Offer { sdp: "v=0".into() },
        ),
        (
            r#"{"type":"answer","sdp":"v=0"}"#,
            ClientMessage::Answer { sdp: "v=0".into() },
        ),
        (
            r#"{"type":"candidate","candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host","sdp_mid":"0"}"#,
            ClientMessage::Candidate {
                candidate: "candidate:1 1 udp 1 1.2.3.4 5 typ host".into(),
                sdp_mid: Some("0".into()),
            },
        ),
        (
            r#"{"type":"mute","kind":"video","muted":true}"#,
            ClientMessage::Mute {
                kind: TrackKind::Video,
                muted: true,
            },
        ),
        (r#"{"type":"leave"}"#, ClientMessage::Leave),
        (
            r#"{"type":"receive","mode":"audio_only","pinned":["e4","e9"],"large_height":1080,"small_height":120}"#,
            ClientMessage::Receive {
                mode: Some(ReceiveMode::AudioOnly),
                pinned: Some(vec!["e4".into(), "e9".into()]),
                large_height: Some(1080),
                small_height: Some(120),
            },
        ),
        (
            r#"{"type":"receive","mode":"low"}"#,
            ClientMessage::Receive {
                mode: Some(ReceiveMode::Low),
                pinned: None,
                large_height: None,
                small_height: None,
            },
        ),
        (
            r#"{"type":"raise_hand","raised":true}"#,
            ClientMessage::RaiseHand { raised: true },
        ),
        (
            r#"{"type":"chat","text":"Xin chào","to":"chair"}"#,
            ClientMessage::Chat {
                text: "Xin chào".into(),
                to: ChatTo::Chair,
            },
        ),
        (
            r#"{"type":"give_floor","participant_id":"e3"}"#,
            ClientMessage::GiveFloor {
                participant_id: "e3".into(),
            },
        ),
        (r#"{"type":"take_floor"}"#, ClientMessage::TakeFloor),
        (
            r#"{"type":"mute_participant","participant_id":"e3","kind":"audio"}"#,
            ClientMessage::MuteParticipant {
                participant_id: "e3".into(),
                kind: TrackKind::Audio,
            },
        ),
        (r#"{"type":"mute_all"}"#, ClientMessage::MuteAll),
        (r#"{"type":"restart_ice"}"#, ClientMessage::RestartIce),
        (
            r#"{"type":"allow_unmute","allowed":false}"#,
            ClientMessage::AllowUnmute { allowed: false },
        ),
        (
            r#"{"type":"remove_participant","participant_id":"e3"}"#,
            ClientMessage::RemoveParticipant {
                participant_id: "e3".into(),
            },
        ),
        (
            r#"{"type":"lock","locked":true}"#,
            ClientMessage::Lock { locked: true },
        ),
        (
            r#"{"type":"share_screen","sharing":true}"#,
            ClientMessage::ShareScreen { sharing: true },
        ),
        (
            r#"{"type":"stop_share","participant_id":"e4"}"#,
            ClientMessage::StopShare {
                participant_id: "e4".into(),
            },
        ),
        (
            r#"{"type":"allow_second_share","allowed":true}"#,
            ClientMessage::AllowSecondShare { allowed: true },
        ),
    ];
    let mut types_seen = std::collections::BTreeSet::new();
    for (text, expected) in cases {
        let value: serde_json::Value = serde_json::from_str(text).unwrap();
        types_seen.insert(value["type"].as_str().unwrap().to_string());
        assert_eq!(decode_client(text).unwrap(), expected, "{text}");
        // and the Rust form encodes back to something that decodes the same
        let again = serde_json::to_string(&expected).unwrap();
        assert_eq!(decode_client(&again).unwrap(), expected);
    }
    // Every type is tried above, and every type the enum has is in the list.
    let listed: std::collections::BTreeSet<String> =
        CLIENT_MESSAGE_TYPES.iter().map(|t| t.to_string()).collect();
    assert_eq!(types_seen, listed);
}

#[test]
fn malformed_new_messages_are_malformed() {
    for text in [
        r#"{"type":"receive","mode":"ultra"}"#,
        r#"{"type":"receive","pinned":"e3"}"#,
        r#"{"type":"receive","large_height":-1}"#,
        r#"{"type":"receive","small_height":"tall"}"#,
        r#"{"type":"raise_hand"}"#,
        r#"{"type":"chat","text":"hi"}"#,
        r#"{"type":"chat","text":"hi","to":"everyone"}"#,
        r#"{"type":"give_floor"}"#,
        r#"{"type":"mute_participant","participant_id":"e3","kind":"screen"}"#,
        r#"{"type":"allow_unmute","allowed":"yes"}"#,
        r#"{"type":"lock"}"#,
        r#"{"type":"share_screen"}"#,
        r#"{"type":"share_screen","sharing":"yes"}"#,
        r#"{"type":"stop_share"}"#,
        r#"{"type":"allow_second_share","allowed":1}"#,
    ] {
        assert_eq!(
            decode_client(text).unwrap_err().code(),
            ErrorCode::Malformed,
            "{text}"
        );
    }
}

#[test]
fn receive_is_bounded_and_clamped() {
    let many: Vec<String> = (0..=MAX_PINNED).map(|i| format!("e{i}")).collect();
    assert!(check_receive(None, Some(many), None, None).is_err());
    let checked = check_receive(
        Some(ReceiveMode::Auto),
        Some(vec!["e2".into(), "e1".into(), "e2".into()]),
        Some(100_000),
        Some(0),
    )
    .unwrap();
    assert_eq!(checked.pinned, Some(vec!["e2".into(), "e1".into()]));
    assert_eq!(checked.large_height, Some(MAX_TILE_HEIGHT));
    assert_eq!(checked.small_height, Some(0));
    assert_eq!(
        check_receive(None, None, None, None).unwrap(),
        ReceiveRequest::default()
    );
}

#[test]
fn chat_texts_are_trimmed_and_bounded() {
    assert_eq!(
        clean_chat("  Xin chào\ncả nhà \n"),
        Some("Xin chào\ncả nhà".into())
    );
    assert_eq!(clean_chat(" \n\t "), None);
    assert_eq!(clean_chat("tab\there"), None);
    assert_eq!(clean_chat("bell\u{7}"), None);
    assert_eq!(clean_chat("cr\r\nlf"), None);
    assert_eq!(
        clean_chat(&"ữ".repeat(MAX_CHAT_CHARS)).map(|t| t.chars().count()),
        Some(MAX_CHAT_CHARS)
    );
    assert_eq!(clean_chat(&"ữ".repeat(MAX_CHAT_CHARS + 1)), None);
}

#[test]
fn slot_reasons_and_layers_are_the_sfus_words() {
    use sfu::{Layer as L, SlotReason as R, Source as S};
    for s in [S::Microphone, S::Camera, S::Screen] {
        assert_eq!(
            serde_json::to_value(TrackSource::from(s)).unwrap(),
            s.as_str()
        );
    }
    for r in [
        R::Screen,
        R::Floor,
        R::Chair,
        R::Speaker,
        R::Pinned,
        R::Recent,
        R::Other,
    ] {
        assert_eq!(
            serde_json::to_value(SlotReason::from(r)).unwrap(),
            r.as_str()
        );
    }
    for l in [L::Low, L::Mid, L::High, L::Single] {
        assert_eq!(serde_json::to_value(Layer::from(l)).unwrap(), l.as_str());
    }
}

#[test]
fn tells_garbage_unknown_and_oversized_apart() {
    assert_eq!(
        decode_client("not json").unwrap_err().code(),
        ErrorCode::Malformed
    );
    assert_eq!(
        decode_client(r#"{"type":"join","v":1"#).unwrap_err().code(),
        ErrorCode::Malformed
    );
    assert_eq!(
        decode_client(r#"{"v":1}"#).unwrap_err().code(),
        ErrorCode::Malformed
    );
    assert_eq!(
        decode_client(r#"{"type":7}"#).unwrap_err().code(),
        ErrorCode::Malformed
    );
    assert_eq!(
        decode_client(r#"[1,2]"#).unwrap_err().code(),
        ErrorCode::Malformed
    );
    assert_eq!(
        decode_client(r#"{"type":"join","v":"one","meeting":1,"name":"x"}"#)
            .unwrap_err()
            .code(),
        ErrorCode::Malformed
    );
    assert_eq!(
        decode_client(r#"{"type":"launch_missiles"}"#).unwrap_err(),
        DecodeError::UnknownType("launch_missiles".into())
    );
    // SDP may be large (an answer grows with the meeting); anything else may not.
    let sdp = |n: usize| format!(r#"{{"type":"answer","sdp":"{}"}}"#, "a".repeat(n));
    assert!(decode_client(&sdp(MAX_MESSAGE_BYTES * 4)).is_ok());
    assert_eq!(
        decode_client(&sdp(MAX_SDP_MESSAGE_BYTES)).unwrap_err(),
        DecodeError::TooLarge {
            size: MAX_SDP_MESSAGE_BYTES + r#"{"type":"answer","sdp":""}"#.len(),
            limit: MAX_SDP_MESSAGE_BYTES
        }
    );
    let name = format!(
        r#"{{"type":"candidate","candidate":"{}"}}"#,
        "a".repeat(MAX_MESSAGE_BYTES)
    );
    assert_eq!(
        decode_client(&name).unwrap_err().code(),
        ErrorCode::TooLarge
    );
}

#[test]
fn server_messages_have_the_documented_shape() {
    let m = ServerMessage::ParticipantLeft {
        participant_id: "e3".into(),
        reason: LeaveReason::Disconnected,
    };
    assert_eq!(
        m.to_json(),
        r#"{"type":"participant_left","participant_id":"e3","reason":"disconnected"}"#
    );
    let t = ServerMessage::TrackPublished {
        participant_id: "e3".into(),
        track: PublishedTrack {
            mid: "1".into(),
            kind: TrackKind::Video,
            source: TrackSource::Screen,
        },
    };
    assert_eq!(
        t.to_json(),
        r#"{"type":"track_published","participant_id":"e3","track":{"mid":"1","kind":"video","source":"screen"}}"#
    );
    let e = ServerMessage::error(ErrorCode::WrongMeeting, "x");
    assert_eq!(
        e.to_json(),
        r#"{"type":"error","code":"wrong_meeting","message":"x"}"#
    );
    assert_eq!(ErrorCode::MeetingNotStarted.as_str(), "meeting_not_started");
    assert!(ErrorCode::RevokedToken.closes() && !ErrorCode::Forbidden.refuses_join());
    assert!(ErrorCode::SessionLocked.refuses_join() && ErrorCode::Removed.refuses_join());
    assert!(!ErrorCode::InvalidText.closes());
    assert_eq!(ErrorCode::SessionLocked.as_str(), "session_locked");
    assert_eq!(ErrorCode::InvalidText.as_str(), "invalid_text");
    let state = ServerMessage::MeetingState {
        floor: Some("e2".into()),
        hands: vec!["e5".into(), "e3".into()],
        locked: false,
        self_unmute: true,
        chair_muted: vec![ChairMute {
            participant_id: "e5".into(),
            kind: TrackKind::Audio,
        }],
        screens: vec!["e2".into()],
        second_share: false,
        recording: Some(RecordingState {
            state: RecordingStatus::Stopped,
            reason: Some("disk_low".into()),
        }),
    };
    assert_eq!(
        state.to_json(),
        r#"{"type":"meeting_state","floor":"e2","hands":["e5","e3"],"locked":false,"self_unmute":true,"chair_muted":[{"participant_id":"e5","kind":"audio"}],"screens":["e2"],"second_share":false,"recording":{"state":"stopped","reason":"disk_low"}}"#
    );
    let slots = ServerMessage::Slots {
        slots: vec![
            Slot {
                mid: "3".into(),
                kind: TrackKind::Video,
                participant_id: Some("e2".into()),
                source: Some(TrackSource::Screen),
                reason: Some(SlotReason::Screen),
                layer: Some(Layer::Full),
            },
            Slot {
                mid: "4".into(),
                kind: TrackKind::Audio,
                participant_id: None,
                source: None,
                reason: None,
                layer: None,
            },
        ],
    };
    assert_eq!(
        slots.to_json(),
        r#"{"type":"slots","slots":[{"mid":"3","kind":"video","participant_id":"e2","source":"screen","reason":"screen","layer":"f"},{"mid":"4","kind":"audio","participant_id":null,"source":null,"reason":null,"layer":null}]}"#
    );
    let layers = ServerMessage::Layers {
        rids: vec![Layer::Quarter, Layer::Half],
    };
    assert_eq!(layers.to_json(), r#"{"type":"layers","rids":["q","h"]}"#);
    assert_eq!(
        ServerMessage::DominantSpeaker {
            participant_id: None
        }
        .to_json(),
        r#"{"type":"dominant_speaker","participant_id":null}"#
    );
    assert_eq!(
        ServerMessage::MutedByChair {
            kind: TrackKind::Video
        }
        .to_json(),
        r#"{"type":"muted_by_chair","kind":"video"}"#
    );
    let chat = ServerMessage::Chat {
        from: "e3".into(),
        name: "An".into(),
        unit: "Xã Hà Thượng".into(),
        to: ChatTo::All,
        text: "Đã rõ".into(),
        at: 1_764_554_400_000,
    };
    assert_eq!(
        chat.to_json(),
        r#"{"type":"chat","from":"e3","name":"An","unit":"Xã Hà Thượng","to":"all","text":"Đã rõ","at":1764554400000}"#
    );
    let offer = ServerMessage::Offer {
        sdp: "v=0".into(),
        tracks: vec![SlotTrack {
            mid: "2".into(),
            kind: TrackKind::Audio,
        }],
    };
    assert_eq!(
        offer.to_json(),
        r#"{"type":"offer","sdp":"v=0","tracks":[{"mid":"2","kind":"audio"}]}"#
    );
    assert_eq!(
        ServerMessage::Bye {
            reason: ByeReason::Removed
        }
        .to_json(),
        r#"{"type":"bye","reason":"removed"}"#
    );
    let e = ServerMessage::error(ErrorCode::UnknownType, "x");
    assert_eq!(
        e.to_json(),
        r#"{"type":"error","code":"unknown_type","message":"x"}"#
    );
}

#[test]
fn names_are_trimmed_and_bounded() {
    assert_eq!(clean_name("  Nguyễn Văn An "), Some("Nguyễn Văn An".into()));
    assert_eq!(clean_name("   "), None);
    assert_eq!(clean_name("a\u{0007}b"), None);
    assert_eq!(
        clean_name(&"Đ".repeat(64)).map(|n| n.chars().count()),
        Some(64)
    );
    assert_eq!(clean_name(&"Đ".repeat(65)), None);
}

#[test]
fn names_are_bounded_by_the_configured_length_and_refuse_direction_overrides() {
    assert_eq!(
        clean_name_limited("Mười ký tự", 10),
        Some("Mười ký tự".into())
    );
    assert_eq!(clean_name_limited("Mười một ký", 10), None);
    for trick in ["An\u{202e}nA", "\u{2066}An", "An\u{2069}"] {
        assert_eq!(clean_name_limited(trick, 64), None, "{trick:?}");
    }
}

#[test]
fn sizes_are_checked_against_the_configured_limits() {
    let limits = crate::limits::Limits {
        message_bytes: 100,
        sdp_bytes: 300,
        ..Default::default()
    };
    let chat = |n: usize| format!(r#"{{"type":"chat","text":"{}","to":"all"}}"#, "x".repeat(n));
    assert!(decode_client_limited(&chat(50), &limits).is_ok());
    assert_eq!(
        decode_client_limited(&chat(80), &limits).unwrap_err(),
        DecodeError::TooLarge {
            size: chat(80).len(),
            limit: 100
        }
    );
    let offer = |n: usize| format!(r#"{{"type":"offer","sdp":"{}"}}"#, "v".repeat(n));
    assert!(
        decode_client_limited(&offer(250), &limits).is_ok(),
        "an offer has the larger limit"
    );
    assert_eq!(
        decode_client_limited(&offer(300), &limits)
            .unwrap_err()
            .code(),
        ErrorCode::TooLarge
    );
}
