//! Screen sharing through the real hub: simulated str0m endpoints that offer the web client's
//! three m-lines (microphone, camera, screen) over real UDP. Who may share (the chair, the
//! floor holder), one share at a time unless the chair allows a second, the chair stopping a
//! share, a share ending with its sharer's floor, and the screen reaching every other
//! endpoint byte for byte in a slot of its own.

mod common;

use std::time::Duration;

use common::{SimEndpoint, SimOptions, all_connected, plan_meeting, start_hub, wait_until};
use signaling::protocol::{ClientMessage, SlotReason, TrackSource};

const UNITS: [&str; 2] = ["district:164", "commune:5431"];

fn screens(e: &SimEndpoint) -> Vec<String> {
    e.seen.lock().unwrap().screens.clone()
}

fn screen_packets(e: &SimEndpoint, from: &str) -> u64 {
    e.seen
        .lock()
        .unwrap()
        .screens_received
        .get(from)
        .copied()
        .unwrap_or(0)
}

fn last_error(e: &SimEndpoint) -> Option<String> {
    e.seen.lock().unwrap().errors.last().cloned()
}

/// Wait until `e`'s errors grow to `n` and return the last one.
async fn nth_error(e: &SimEndpoint, n: usize) -> String {
    assert!(
        wait_until(Duration::from_secs(5), || e
            .seen
            .lock()
            .unwrap()
            .errors
            .len()
            >= n)
        .await,
        "{}: no error #{n}",
        e.name
    );
    e.seen.lock().unwrap().errors[n - 1].clone()
}

async fn screens_become(e: &SimEndpoint, want: &[&String]) {
    let want: Vec<String> = want.iter().map(|s| s.to_string()).collect();
    assert!(
        wait_until(Duration::from_secs(5), || screens(e) == want).await,
        "{}: screens {:?}, not {want:?}",
        e.name,
        screens(e)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chair_and_the_floor_share_screens_that_reach_everyone() {
    let hub = start_hub("screen").await;
    let meeting = plan_meeting(&hub.hub, "province:19", &UNITS).await;
    let with_screen = SimOptions {
        screen: true,
        ..Default::default()
    };
    let chair = SimEndpoint::join_with(
        hub.addr,
        &meeting,
        "province:19",
        "chair",
        SimOptions {
            chair: true,
            ..with_screen.clone()
        },
    )
    .await;
    let an = SimEndpoint::join_with(hub.addr, &meeting, UNITS[0], "an", with_screen).await;
    // An older client: two m-lines, no screen.
    let binh = SimEndpoint::join(hub.addr, &meeting, UNITS[1], "binh").await;
    let (chair_id, an_id, binh_id) = (chair.id(), an.id(), binh.id());
    let everyone = [&chair, &an, &binh];
    assert!(all_connected(&everyone).await);
    // Each screen is announced as what it is.
    assert!(
        wait_until(Duration::from_secs(5), || binh
            .seen
            .lock()
            .unwrap()
            .tracks_published
            .iter()
            .filter(|(id, _)| *id == chair_id || *id == an_id)
            .count()
            == 6)
        .await
    );

    // Sent but not shared: nobody receives a screen.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        everyone
            .iter()
            .all(|e| e.seen.lock().unwrap().screens_received.is_empty())
    );

    // An official without the floor may not share.
    an.send(ClientMessage::ShareScreen { sharing: true });
    assert!(nth_error(&an, 1).await.starts_with("Forbidden"));

    // The chair shares: everyone else gets its screen, in a slot marked as a screen.
    chair.send(ClientMessage::ShareScreen { sharing: true });
    for e in everyone {
        screens_become(e, &[&chair_id]).await;
    }
    for viewer in [&an, &binh] {
        assert!(
            wait_until(Duration::from_secs(10), || screen_packets(viewer, "chair")
                >= 30)
            .await,
            "{} receives the chair's screen",
            viewer.name
        );
        let seen = viewer.seen.lock().unwrap();
        assert_eq!(seen.corrupted, 0, "{}: byte for byte", viewer.name);
        let slot = seen
            .slots
            .iter()
            .find(|s| s.source == Some(TrackSource::Screen))
            .expect("a screen slot");
        assert_eq!(slot.participant_id.as_deref(), Some(chair_id.as_str()));
        assert_eq!(slot.reason, Some(SlotReason::Screen));
        // Its camera goes on in a slot of its own.
        assert!(
            seen.slots
                .iter()
                .any(|s| s.participant_id.as_deref() == Some(chair_id.as_str())
                    && s.source == Some(TrackSource::Camera))
        );
    }
    assert_eq!(screen_packets(&chair, "chair"), 0, "not back to the sharer");

    // The floor lets an official share, but one screen at a time…
    chair.send(ClientMessage::GiveFloor {
        participant_id: an_id.clone(),
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    an.send(ClientMessage::ShareScreen { sharing: true });
    assert!(nth_error(&an, 2).await.starts_with("ShareBusy"));
    // …unless the chair allows a second.
    chair.send(ClientMessage::AllowSecondShare { allowed: true });
    tokio::time::sleep(Duration::from_millis(200)).await;
    an.send(ClientMessage::ShareScreen { sharing: true });
    screens_become(&binh, &[&chair_id, &an_id]).await;
    assert!(
        wait_until(Duration::from_secs(10), || screen_packets(&binh, "an")
            >= 30)
        .await,
        "binh receives both screens"
    );
    assert!(screen_packets(&chair, "an") > 0);

    // The chair stops an's share.
    chair.send(ClientMessage::StopShare {
        participant_id: an_id.clone(),
    });
    screens_become(&an, &[&chair_id]).await;
    // an shares again, then loses the floor to binh: its share ends with it.
    an.send(ClientMessage::ShareScreen { sharing: true });
    screens_become(&binh, &[&chair_id, &an_id]).await;
    chair.send(ClientMessage::GiveFloor {
        participant_id: binh_id.clone(),
    });
    screens_become(&binh, &[&chair_id]).await;
    // binh has the floor but its client has no screen m-line.
    binh.send(ClientMessage::ShareScreen { sharing: true });
    assert!(nth_error(&binh, 1).await.starts_with("OutOfOrder"));

    // The chair stops its own share: the screen stops reaching anyone.
    chair.send(ClientMessage::ShareScreen { sharing: false });
    screens_become(&an, &[]).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = screen_packets(&an, "chair");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        screen_packets(&an, "chair"),
        before,
        "nothing after the share"
    );
    assert!(
        an.seen
            .lock()
            .unwrap()
            .slots
            .iter()
            .all(|s| s.source != Some(TrackSource::Screen))
    );
    assert_eq!(last_error(&chair), None, "the chair was never refused");

    // The chair's stop and its allowing a second share are in the moderation log.
    let log = hub
        .hub
        .db()
        .call(move |c| signaling::moderation_log::of_meeting(c, meeting.id))
        .await
        .unwrap();
    let actions: Vec<&str> = log.iter().map(|e| e.action.as_str()).collect();
    assert!(actions.contains(&"allow_second_share"), "{actions:?}");
    let stop = log.iter().find(|e| e.action == "stop_share").unwrap();
    assert_eq!(
        stop.target.as_ref().map(|t| t.participant_id.as_str()),
        Some(an_id.as_str())
    );

    for e in [chair, an, binh] {
        e.stop().await;
    }
}
