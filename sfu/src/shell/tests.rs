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
    // Every datagram is counted, each way: the last 50 keyframes of 1000 bytes in, three
    // times out; and each connected endpoint's round trip is observed once a second.
    assert!(stats.bytes_received >= 50 * 1000, "{stats:?}");
    assert!(stats.bytes_sent >= 3 * 50 * 1000, "{stats:?}");
    assert!(stats.rtt_seconds.count > 0, "{stats:?}");
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

/// An offer from a browser that supports redundant audio (as Chromium's does).
fn browser_offer_with_red() -> String {
    let mut rtc = Rtc::builder().enable_opus(true, true).build(Instant::now());
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    let (offer, _pending) = api.apply().expect("an offer");
    offer.to_sdp_string()
}

#[test]
fn red_is_negotiated_when_the_browser_offers_it_and_only_then() {
    let answer_to = |offer: &str| {
        let mut engine = Engine::new(
            SfuConfig::default(),
            vec!["10.0.0.1:10000".parse().unwrap()],
            Instant::now(),
        );
        let (tx, _rx) = mpsc::unbounded_channel();
        engine
            .join(Instant::now(), SessionId(1), EndpointId(1), offer, tx)
            .unwrap()
    };
    let with_red = answer_to(&browser_offer_with_red());
    assert!(with_red.contains("a=rtpmap:63 red/48000/2"), "{with_red}");
    assert!(with_red.contains("a=fmtp:63 111/111"), "{with_red}");
    // RED comes first, which is what makes libwebrtc send it; Opus keeps FEC and DTX.
    let m_audio = with_red.lines().find(|l| l.starts_with("m=audio")).unwrap();
    assert!(m_audio.ends_with(" 63 111"), "{m_audio}");
    let fmtp = with_red
        .lines()
        .find(|l| l.starts_with("a=fmtp:111 "))
        .unwrap();
    assert!(fmtp.contains("useinbandfec=1") && fmtp.contains("usedtx=1"));

    let without = answer_to(&browser_offer());
    assert!(!without.contains("red/48000"), "{without}");
}

#[test]
fn red_goes_to_subscribers_that_negotiated_it_and_repairs_a_loss_on_the_way_in() {
    use crate::core::red;
    use crate::testkit::SimNet;

    let mut net = SimNet::new(SfuConfig::default());
    let session = SessionId(1);
    let publisher = net.join_red(session, &[MediaKind::Audio]);
    let with_red = net.join_red(session, &[MediaKind::Audio]);
    let plain = net.join(session, &[MediaKind::Audio]);
    net.clients[plain].audio_in = Some(vec![]);
    let step = Duration::from_millis(5);
    assert!(net.run_until(step, Duration::from_secs(5), |n| {
        n.clients.iter().all(|c| c.connected)
    }));

    // 20 ms Opus frames, each payload naming its frame number.
    let frame = |n: u64| format!("opus frame {n}").into_bytes();
    let send = |net: &mut SimNet, n: u64, payload: Vec<u8>, deliver: bool| {
        let datagrams = net.write_layer(
            publisher,
            MediaKind::Audio,
            None,
            1000 + n,
            (n * 960) as u32,
            payload,
            false,
            Some(-20),
        );
        if deliver {
            for (from, data) in datagrams {
                net.engine
                    .handle_datagram(net.now, from, crate::testkit::HUB_ADDR, &data);
            }
        }
        for _ in 0..4 {
            net.advance(Duration::from_millis(5));
        }
    };
    // Plain Opus until both subscribers hear the publisher (their audio slot filled).
    let mut n = 0;
    while n < 300
        && [with_red, plain].iter().any(|c| {
            net.clients[*c]
                .audio_in
                .as_ref()
                .is_none_or(|a| a.is_empty())
        })
    {
        n += 1;
        send(&mut net, n, frame(n), true);
    }
    assert!(n < 300, "audio reaches both subscribers");
    for c in [with_red, plain] {
        net.clients[c].audio_in = Some(vec![]);
    }
    let first = n + 1;
    for _ in 0..10 {
        n += 1;
        send(&mut net, n, frame(n), true);
    }
    let red_pt = net.clients[with_red]
        .rtc
        .codec_config()
        .find(|p| p.spec().codec == str0m::format::Codec::Opus)
        .and_then(|p| p.red())
        .expect("RED negotiated with the RED subscriber");
    let got = net.clients[with_red].audio_in.take().unwrap();
    assert_eq!(got.len(), 10);
    for (i, pkt) in got.iter().enumerate() {
        assert_eq!(pkt.pt, red_pt, "RED towards the subscriber that has it");
        let parsed = red::parse(&pkt.payload).unwrap();
        assert_eq!(parsed.primary, frame(first + i as u64));
        let previous = parsed.previous.expect("the previous frame repeated");
        assert_eq!(previous.ts_offset, 960);
        assert_eq!(previous.payload, frame(first + i as u64 - 1));
    }
    let got = net.clients[plain].audio_in.take().unwrap();
    let opus_pt = net.clients[plain].pt(str0m::format::Codec::Opus).unwrap();
    assert!(
        got.iter().all(|p| p.pt == opus_pt),
        "plain Opus to the other"
    );
    let payloads: Vec<_> = got.iter().map(|p| p.payload.clone()).collect();
    assert_eq!(payloads, (first..=n).map(frame).collect::<Vec<_>>());

    // Now the publisher sends RED, and one packet is lost on its way to the hub.
    net.clients[publisher].send_red = true;
    net.clients[plain].audio_in = Some(vec![]);
    net.clients[with_red].audio_in = Some(vec![]);
    let first = n + 1;
    let lost = first + 4;
    for _ in 0..10 {
        n += 1;
        let mut payload = vec![];
        let previous = red::Redundant {
            ts_offset: 960,
            payload: &frame(n - 1),
        };
        red::encode(&mut payload, 111, Some(previous), &frame(n));
        send(&mut net, n, payload, n != lost);
    }
    // The subscriber without RED gets every frame, the lost one recovered from the next.
    let got = net.clients[plain].audio_in.take().unwrap();
    let payloads: Vec<_> = got.iter().map(|p| p.payload.clone()).collect();
    assert_eq!(payloads, (first..=n).map(frame).collect::<Vec<_>>());
    let seqs: Vec<_> = got.iter().map(|p| p.seq).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    assert_eq!(got[5].ts - got[4].ts, 960);
    let stats = net.engine.stats();
    assert_eq!(stats.audio_packets_recovered, 1);
    assert_eq!(stats.red_packets_received, 9);
    assert!(stats.red_packets_sent >= 20, "{stats:?}");
    // The RED subscriber gets every frame as a primary, with its predecessor repeated.
    let got = net.clients[with_red].audio_in.take().unwrap();
    let primaries: Vec<_> = got
        .iter()
        .map(|p| red::parse(&p.payload).unwrap().primary.to_vec())
        .collect();
    assert_eq!(primaries, (first..=n).map(frame).collect::<Vec<_>>());
}

/// ICE over TCP in the engine: a client whose only candidate is an active TCP one (a browser
/// whose UDP is blocked) gets the hub's passive TCP candidate in the answer, connects to it —
/// ICE, DTLS and SRTP over the frames its connection carries — and its video reaches a UDP
/// client and the other way round; the engine sends each client everything on its own
/// protocol. (That browsers offered both keep to UDP is shown in `ice-tcp.test.mjs`.)
#[test]
fn a_client_whose_udp_is_blocked_meets_over_ice_tcp() {
    use crate::testkit::{HUB_ADDR, HUB_TCP_ADDR, SimNet};
    use str0m::media::MediaKind;
    use str0m::net::Protocol;

    let mut net = SimNet::new(SfuConfig::default());
    let session = SessionId(1);
    let udp = net.join(session, &[MediaKind::Audio, MediaKind::Video]);
    let tcp = net.join_tcp(session, &[MediaKind::Audio, MediaKind::Video]);
    let step = Duration::from_millis(5);
    assert!(
        net.run_until(step, Duration::from_secs(5), |n| n
            .clients
            .iter()
            .all(|c| c.connected && c.hub_connected == 1)),
        "both connect, one over UDP and one over TCP"
    );

    // Each one's video until the other receives it, then 30 more frames each way.
    let mut seq = 1;
    let mut send = |net: &mut SimNet, from: usize| {
        for (source, data) in net.write(
            from,
            MediaKind::Video,
            seq,
            seq as u32 * 3000,
            vp8_keyframe(800),
            true,
        ) {
            if net.clients[from].proto == Protocol::Tcp {
                net.engine
                    .handle_tcp_frame(net.now, source, HUB_TCP_ADDR, &data);
            } else {
                net.engine.handle_datagram(net.now, source, HUB_ADDR, &data);
            }
        }
        seq += 1;
        for _ in 0..11 {
            net.advance(Duration::from_millis(3));
        }
    };
    for _ in 0..200 {
        if net.clients[udp].received_total() > 0 && net.clients[tcp].received_total() > 0 {
            break;
        }
        send(&mut net, udp);
        send(&mut net, tcp);
    }
    let before = [udp, tcp].map(|c| net.clients[c].received_total());
    assert!(before.iter().all(|n| *n > 0), "{before:?}");
    for _ in 0..30 {
        send(&mut net, udp);
        send(&mut net, tcp);
    }
    for (c, b) in [udp, tcp].into_iter().zip(before) {
        assert!(
            net.clients[c].received_total() >= b + 30,
            "client {c}: {} after {b}",
            net.clients[c].received_total()
        );
    }
    // Everything the hub sent each went over that client's own protocol.
    let (udp_in, tcp_in) = (net.clients[udp].from_hub, net.clients[tcp].from_hub);
    assert!(udp_in.0 > 30 && udp_in.1 == 0, "UDP client: {udp_in:?}");
    assert!(tcp_in.1 > 30 && tcp_in.0 == 0, "TCP client: {tcp_in:?}");
}
