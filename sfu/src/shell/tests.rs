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
    let sfu = start(SfuConfig {
        candidate_ips: vec!["127.0.0.1".parse().unwrap()],
        udp_port: 0,
        core: Default::default(),
    })
    .await
    .unwrap();
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
