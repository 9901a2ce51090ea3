//! `ws_message`: a client's websocket text frame, as `signaling::ws` handles it —
//! [`decode_client_limited`] (size limits, JSON, the message's type), then the checks the
//! handler runs on the decoded fields (display name, chat text, `receive`, a trickled ICE
//! candidate).

use std::net::SocketAddr;
use std::time::Instant;

use signaling::limits::Limits;
use signaling::protocol::{
    ClientMessage, DecodeError, MAX_CHAT_CHARS, MAX_PINNED, MAX_TILE_HEIGHT, check_receive,
    clean_chat, clean_name_limited, decode_client, decode_client_limited,
};

/// Limits small enough that short inputs reach the `too_large` answers too.
const TIGHT: Limits = Limits {
    message_bytes: 48,
    sdp_bytes: 96,
    messages_per_second: 20,
    connections_per_address: 64,
    offer_m_lines: 8,
    endpoints_per_session: 500,
    name_chars: 8,
};

pub fn ws_message(data: &[u8]) {
    // A websocket text frame is UTF-8 (the transport refuses anything else).
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for limits in [Limits::default(), TIGHT] {
        match decode_client_limited(text, &limits) {
            Ok(msg) => {
                let limit = match msg {
                    ClientMessage::Offer { .. } | ClientMessage::Answer { .. } => limits.sdp_bytes,
                    _ => limits.message_bytes,
                };
                assert!(
                    text.len() <= limit,
                    "accepted {} bytes over {limit}",
                    text.len()
                );
                round_trip(&msg);
                fields(&msg, &limits);
            }
            Err(DecodeError::TooLarge { size, limit }) => {
                assert_eq!(size, text.len());
                assert!(size > limit, "refused {size} bytes as over {limit}");
            }
            Err(DecodeError::UnknownType(ty)) => {
                assert!(ty.chars().count() <= 40, "the unknown type is shown cut");
            }
            Err(DecodeError::Malformed(_)) => {}
        }
    }
}

/// What the hub decodes, encoded again, decodes to the same message.
fn round_trip(msg: &ClientMessage) {
    let json = serde_json::to_string(msg).expect("a client message serialises");
    match decode_client(&json) {
        Ok(again) => assert_eq!(&again, msg, "{json}"),
        // Encoded again it names the fields left out (`null`), which may take a message
        // near the limit past it; only that may refuse it.
        Err(DecodeError::TooLarge { .. }) => {}
        Err(e) => panic!("{json} does not decode again: {e}"),
    }
}

/// The handler's checks of the decoded fields (`ws.rs`: `on_join`, chat, `receive`,
/// `candidate`).
fn fields(msg: &ClientMessage, limits: &Limits) {
    match msg {
        ClientMessage::Join { name, .. } => {
            if let Some(clean) = clean_name_limited(name, limits.name_chars) {
                let n = clean.chars().count();
                assert!((1..=limits.name_chars).contains(&n), "{clean:?}");
                assert_eq!(clean.trim(), clean);
                assert!(!clean.chars().any(char::is_control));
                let bidi = |c: char| matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
                assert!(!clean.chars().any(bidi), "{clean:?}");
            }
        }
        ClientMessage::Chat { text, .. } => {
            if let Some(clean) = clean_chat(text) {
                let n = clean.chars().count();
                assert!((1..=MAX_CHAT_CHARS).contains(&n));
                assert!(!clean.chars().any(|c| c.is_control() && c != '\n'));
            }
        }
        ClientMessage::Receive {
            mode,
            pinned,
            large_height,
            small_height,
        } => {
            if let Ok(r) = check_receive(*mode, pinned.clone(), *large_height, *small_height) {
                if let Some(p) = &r.pinned {
                    assert!(p.len() <= MAX_PINNED);
                    let mut unique = p.clone();
                    unique.sort();
                    unique.dedup();
                    assert_eq!(unique.len(), p.len(), "pinned twice");
                }
                for h in [r.large_height, r.small_height].into_iter().flatten() {
                    assert!(h <= MAX_TILE_HEIGHT);
                }
            }
        }
        ClientMessage::Candidate { candidate, .. } => {
            // The candidate is parsed before its endpoint is looked up: an engine without
            // endpoints runs the whole parse and ignores the result.
            let local: SocketAddr = "10.0.0.1:10000".parse().expect("an address");
            let now = Instant::now();
            let mut engine = sfu::Engine::new(sfu::SfuConfig::default(), vec![local], now);
            engine.candidate(sfu::EndpointId(1), candidate);
        }
        _ => {}
    }
}
