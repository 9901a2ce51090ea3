//! Shell tests: the media task survives a panic in one endpoint.

use std::time::{Duration, Instant};

use str0m::Rtc;
use str0m::media::{Direction, MediaKind};
use tokio::sync::mpsc;

use super::api::Command;
use super::*;

/// An SDP offer publishing audio and video, as a browser's initial offer does.
fn browser_offer() -> String {
    let mut rtc = Rtc::builder().build(Instant::now());
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    let (offer, _pending) = api.apply().expect("an offer");
    offer.to_sdp_string()
}

async fn next_close(rx: &mut mpsc::UnboundedReceiver<EndpointEvent>) -> Option<CloseReason> {
    let wait = async {
        while let Some(event) = rx.recv().await {
            if let EndpointEvent::Closed(reason) = event {
                return Some(reason);
            }
        }
        None
    };
    tokio::time::timeout(Duration::from_secs(5), wait)
        .await
        .ok()
        .flatten()
}

#[tokio::test]
async fn a_panic_in_one_endpoint_ends_that_endpoint_and_nothing_else() {
    let sfu = start(SfuConfig::default()).await.unwrap();
    let session = SessionId(1);
    let (a_tx, mut a_rx) = mpsc::unbounded_channel();
    let (b_tx, mut b_rx) = mpsc::unbounded_channel();
    let a = EndpointId(1);
    let b = EndpointId(2);
    sfu.join(session, a, browser_offer(), a_tx).await.unwrap();
    sfu.join(session, b, browser_offer(), b_tx).await.unwrap();
    assert_eq!(sfu.stats().await.unwrap().endpoints, 2);

    sfu.tx.send(Command::InjectPanic { endpoint: a }).unwrap();
    assert_eq!(next_close(&mut a_rx).await, Some(CloseReason::Failed));

    // The media task lives on: b is still there and a newcomer can join. (These endpoints
    // never connect, so str0m has announced no tracks: media is covered by the hub's tests.)
    let stats = sfu.stats().await.unwrap();
    assert_eq!((stats.sessions, stats.endpoints), (1, 1));
    let (c_tx, _c_rx) = mpsc::unbounded_channel();
    sfu.join(session, EndpointId(3), browser_offer(), c_tx)
        .await
        .unwrap();
    assert_eq!(sfu.stats().await.unwrap().endpoints, 2);
    // b was not closed along with a.
    while let Ok(e) = b_rx.try_recv() {
        assert!(!matches!(e, EndpointEvent::Closed(_)), "b closed: {e:?}");
    }

    // A second initial offer for a live endpoint, and an answer for none, are refused.
    let (d_tx, _d_rx) = mpsc::unbounded_channel();
    assert_eq!(
        sfu.join(session, b, browser_offer(), d_tx).await,
        Err(SfuError::EndpointExists)
    );
    assert_eq!(
        sfu.answer(EndpointId(99), "v=0".into()).await,
        Err(SfuError::NoEndpoint)
    );
}

/// Hostile SDP: truncated, bit-flipped and line-shuffled variants of a real offer are each
/// answered or refused as `BadSdp`, and the media task keeps serving.
#[tokio::test]
async fn mangled_offers_are_refused_without_harm() {
    use rand::rngs::StdRng;
    use rand::seq::SliceRandom;
    use rand::{Rng, SeedableRng};

    let sfu = start(SfuConfig::default()).await.unwrap();
    let good = browser_offer();
    let mut rng = StdRng::seed_from_u64(2024);
    let (mut accepted, mut refused) = (0, 0);
    for i in 0..300u64 {
        let mut bytes = good.clone().into_bytes();
        match i % 3 {
            0 => bytes.truncate(rng.random_range(0..bytes.len())),
            1 => {
                for _ in 0..rng.random_range(1..8) {
                    let at = rng.random_range(0..bytes.len());
                    bytes[at] = rng.random();
                }
            }
            _ => {
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let mut lines: Vec<&str> = text.lines().collect();
                lines.shuffle(&mut rng);
                bytes = lines.join("\r\n").into_bytes();
            }
        }
        let sdp = String::from_utf8_lossy(&bytes).into_owned();
        let (tx, _rx) = mpsc::unbounded_channel();
        match sfu.join(SessionId(7), EndpointId(1000 + i), sdp, tx).await {
            Ok(_) => accepted += 1,
            Err(SfuError::BadSdp(_)) => refused += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert!(refused > 100, "most mangled offers are refused ({refused})");
    // Still alive, and a proper offer still works.
    let stats = sfu.stats().await.unwrap();
    assert_eq!(stats.endpoints, accepted);
    let (tx, _rx) = mpsc::unbounded_channel();
    assert!(
        sfu.join(SessionId(8), EndpointId(1), browser_offer(), tx)
            .await
            .is_ok()
    );
}
