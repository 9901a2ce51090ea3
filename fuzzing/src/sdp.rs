//! `sdp`: SDP text from a client, on the hub's two paths.
//!
//! - As the client's one initial `offer`: the m-line limit `signaling::ws` applies
//!   (`on_offer`), then the media plane's [`sfu::Engine::join`] — str0m's parser behind the
//!   engine's panic guard, the offer accepted into a fresh endpoint, an answer written. The
//!   answer must parse again (a browser has to read it).
//! - As the client's `answer` to the hub's own offer ([`sfu::Engine::answer`]), when the text
//!   is shaped like an answer (a DTLS role of `active` or `passive`, which an offer never
//!   has): an endpoint joined with a browser's offer has the hub's offer pending. The hub's
//!   m-line ids are random, so a fuzzed answer rarely matches them; what this reaches is the
//!   parse and str0m's checks of an answer against the pending offer.
//!
//! Each input that parses builds a str0m instance (a DTLS certificate, a key) or two: this
//! target runs some hundred times slower than the others.

use std::net::SocketAddr;
use std::time::Instant;

use sfu::{EndpointId, Engine, SessionId, SfuConfig, SfuError};
use signaling::limits::Limits;
use str0m::change::SdpAnswer;
use tokio::sync::mpsc;

/// A browser's initial offer as the web client makes it (Chromium: audio, a camera in three
/// simulcast layers, a screen), the same text as the corpus seed.
pub const BROWSER_OFFER: &str = include_str!("../../fuzz/corpus/sdp/seed-chromium-offer.sdp");

pub fn sdp(data: &[u8]) {
    // SDP reaches the hub inside a JSON string: always text.
    let text = String::from_utf8_lossy(data);
    offer(&text);
    answer(&text);
}

fn engine(now: Instant) -> Engine {
    let local: SocketAddr = "10.0.0.1:10000".parse().expect("an address");
    let mut config = SfuConfig::default();
    // One receive slot of each kind: the hub's offer is as varied, and smaller.
    config.core.audio_slots = 1;
    config.core.video_slots = 1;
    Engine::new(config, vec![local], now)
}

fn offer(sdp: &str) {
    // ws.rs `on_offer`: more m-lines than the limit never reach the media plane.
    let m_lines = sdp.lines().filter(|l| l.starts_with("m=")).count();
    if m_lines > Limits::default().offer_m_lines {
        return;
    }
    let now = Instant::now();
    let mut engine = engine(now);
    let (tx, _rx) = mpsc::unbounded_channel();
    match engine.join(now, SessionId(1), EndpointId(1), sdp, tx) {
        Ok(answer) => {
            if let Err(e) = SdpAnswer::from_sdp_string(&answer) {
                panic!("the hub's answer does not parse: {e}\n{answer}");
            }
            // The endpoint lives on: the engine's next turn (its own offer of receive
            // slots) must cope with whatever was accepted.
            engine.drive(now);
        }
        Err(SfuError::BadSdp(_)) => {}
        Err(e) => panic!("a fresh endpoint's offer refused with {e}"),
    }
}

fn answer(sdp: &str) {
    let answerer = ["a=setup:active", "a=setup:passive"];
    if !answerer.iter().any(|role| sdp.contains(role)) || SdpAnswer::from_sdp_string(sdp).is_err() {
        // Not an answer, or the engine's own parse refuses it the same way: spare the set-up
        // below.
        return;
    }
    let now = Instant::now();
    let mut engine = engine(now);
    let (tx, _rx) = mpsc::unbounded_channel();
    let id = EndpointId(1);
    engine
        .join(now, SessionId(1), id, BROWSER_OFFER, tx)
        .expect("the browser's offer is answered");
    // The hub offers its receive slots (or, failing that, an ICE restart).
    engine.restart_ice(id);
    engine.drive(now);
    match engine.answer(now, id, sdp) {
        Ok(()) | Err(SfuError::BadSdp(_)) => {}
        Err(e) => panic!("an answer to a pending offer refused with {e}"),
    }
    engine.drive(now);
}
