//! Shell tests: the media task survives a panic in one endpoint.

use std::time::{Duration, Instant};

use str0m::Rtc;
use str0m::media::{Direction, MediaKind};
use tokio::sync::mpsc;

use super::api::Command;
use super::*;
use crate::ids::{EndpointId, SessionId};

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

/// A VP8 keyframe's first packet (payload descriptor with S=1, then a key frame tag), padded.
fn vp8_keyframe(len: usize) -> Vec<u8> {
    let mut p = vec![0x10, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01];
    p.resize(len, 0xab);
    p
}

#[test]
fn the_engine_forwards_on_simulated_time_without_sockets() {
    use crate::testkit::SimNet;
    use str0m::media::MediaKind;

    let mut net = SimNet::new(SfuConfig::default());
    let session = SessionId(1);
    let publisher = net.join(session, &[MediaKind::Audio, MediaKind::Video]);
    let subscribers: Vec<usize> = (0..3)
        .map(|_| net.join(session, &[MediaKind::Audio]))
        .collect();
    let step = Duration::from_millis(5);
    assert!(
        net.run_until(step, Duration::from_secs(5), |n| n
            .clients
            .iter()
            .all(|c| c.connected)),
        "everyone connects over the simulated network"
    );
    // Keyframes until every subscriber receives the video (its m-line negotiated and open).
    let mut seq = 1;
    let delivered = |net: &mut SimNet, seq: &mut u64| {
        let datagrams = net.write(
            publisher,
            MediaKind::Video,
            *seq,
            *seq as u32 * 3000,
            vp8_keyframe(1000),
            true,
        );
        *seq += 1;
        for (from, data) in datagrams {
            net.engine
                .handle_datagram(net.now, from, crate::testkit::HUB_ADDR, &data);
        }
        for _ in 0..11 {
            net.advance(Duration::from_millis(3));
        }
    };
    for _ in 0..200 {
        if subscribers
            .iter()
            .all(|s| net.clients[*s].received_total() > 0)
        {
            break;
        }
        delivered(&mut net, &mut seq);
    }
    let before: Vec<u64> = subscribers
        .iter()
        .map(|s| net.clients[*s].received_total())
        .collect();
    assert!(
        before.iter().all(|n| *n > 0),
        "video reaches every subscriber: {before:?}"
    );
    // From now on every packet reaches every subscriber.
    for _ in 0..50 {
        delivered(&mut net, &mut seq);
    }
    for (s, b) in subscribers.iter().zip(before) {
        assert_eq!(net.clients[*s].received_total(), b + 50);
    }
    let stats = net.engine.stats();
    assert_eq!((stats.sessions, stats.endpoints), (1, 4));
    assert!(stats.packets_forwarded >= 150);
}

#[test]
fn answers_ask_browsers_for_opus_fec_and_dtx() {
    let mut engine = Engine::new(
        SfuConfig::default(),
        vec!["10.0.0.1:10000".parse().unwrap()],
        Instant::now(),
    );
    let (tx, _rx) = mpsc::unbounded_channel();
    let answer = engine
        .join(
            Instant::now(),
            SessionId(1),
            EndpointId(1),
            &browser_offer(),
            tx,
        )
        .unwrap();
    let rtpmap = answer
        .lines()
        .find(|l| l.contains("opus/48000"))
        .expect("Opus negotiated");
    let pt = rtpmap
        .trim_start_matches("a=rtpmap:")
        .split(' ')
        .next()
        .unwrap();
    let fmtp = answer
        .lines()
        .find(|l| l.starts_with(&format!("a=fmtp:{pt} ")))
        .expect("an fmtp line for Opus");
    for param in ["useinbandfec=1", "usedtx=1"] {
        assert!(fmtp.contains(param), "{fmtp}");
    }
}

#[test]
fn a_lost_connection_is_kept_for_an_ice_restart_and_closed_without_one() {
    use crate::testkit::SimNet;
    let mut net = SimNet::new(SfuConfig::default());
    let session = SessionId(1);
    let a = net.join(session, &[MediaKind::Audio, MediaKind::Video]);
    let b = net.join(session, &[MediaKind::Audio, MediaKind::Video]);
    let step = Duration::from_millis(50);
    assert!(net.run_until(
        step,
        Duration::from_secs(10),
        |n| n.clients[a].hub_connected == 1 && n.clients[b].hub_connected == 1
    ));

    // A's network drops for 15 s: ICE notices, but the endpoint is kept for a restart.
    net.clients[a].cut = true;
    net.run_until(step, Duration::from_secs(15), |_| false);
    assert_eq!(net.clients[a].closed, None, "kept within the grace");
    assert_eq!(net.engine.stats().endpoints, 2);

    // The network is back and the client asks for an ICE restart: the hub offers new
    // credentials, the client answers, ICE and media come back on the same endpoint.
    net.clients[a].cut = false;
    let offers = net.clients[a].offers;
    let id = net.clients[a].id;
    net.engine.restart_ice(id);
    assert!(
        net.run_until(step, Duration::from_secs(10), |n| n.clients[a]
            .hub_connected
            == 2),
        "the restart reconnects"
    );
    assert_eq!(net.clients[a].offers, offers + 1, "one offer: the restart");
    assert_eq!(net.clients[a].closed, None);

    // B's network drops for good: after the grace its media is closed.
    net.clients[b].cut = true;
    assert!(
        net.run_until(step, Duration::from_secs(60), |n| n.clients[b]
            .closed
            .is_some()),
        "closed after the grace"
    );
    assert_eq!(net.clients[b].closed, Some(CloseReason::Disconnected));
    assert_eq!(net.engine.stats().endpoints, 1);
}
