//! Protocol robustness over a real hub: garbage, truncated JSON, unknown types, oversized
//! frames, messages out of order, and clients that vanish. The hub answers each with the
//! documented error and keeps serving everyone else.

mod common;

use std::time::Duration;

use common::{
    SimEndpoint, connect, join_with_token, plan_meeting, recv, send, start_hub, wait_until,
};
use futures_util::{SinkExt, StreamExt};
use signaling::protocol::{ClientMessage, ErrorCode, LeaveReason, ServerMessage, TrackKind};
use str0m::media::MediaKind;
use tokio_tungstenite::tungstenite::Message;

async fn expect_error(ws: &mut common::Ws, code: ErrorCode) {
    match recv(ws).await {
        Some(ServerMessage::Error { code: got, .. }) => assert_eq!(got, code),
        other => panic!("expected error {code:?}, got {other:?}"),
    }
}

async fn expect_closed(ws: &mut common::Ws) {
    assert_eq!(recv(ws).await, None, "the hub closed the connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_error_and_the_connection_survives() {
    let hub = start_hub("garbage").await;
    let meeting = plan_meeting(&hub.hub, "province:19", &["province:19-S01"]).await;
    let mut ws = connect(hub.addr).await;

    for garbage in [
        "not json at all",
        "{\"type\":\"join\",\"v\":1,",
        "[]",
        "{\"v\":1}",
        "\u{0}\u{1}",
    ] {
        ws.send(Message::text(garbage)).await.unwrap();
        expect_error(&mut ws, ErrorCode::Malformed).await;
    }
    ws.send(Message::text(r#"{"type":"teleport","to":"moon"}"#))
        .await
        .unwrap();
    expect_error(&mut ws, ErrorCode::UnknownType).await;
    ws.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    expect_error(&mut ws, ErrorCode::BinaryNotSupported).await;

    // Anything but join first is out of order.
    send(&mut ws, &ClientMessage::Offer { sdp: "v=0".into() }).await;
    expect_error(&mut ws, ErrorCode::OutOfOrder).await;
    send(&mut ws, &ClientMessage::Answer { sdp: "v=0".into() }).await;
    expect_error(&mut ws, ErrorCode::OutOfOrder).await;

    // After all that, a proper join still works.
    send(&mut ws, &meeting.join("province:19-S01", "Nguyễn Văn An")).await;
    let Some(ServerMessage::Welcome {
        v,
        room,
        unit,
        role,
        meeting: about,
        participants,
        ..
    }) = recv(&mut ws).await
    else {
        panic!("expected welcome");
    };
    assert_eq!(
        (v, room.id.as_str(), room.name.as_str()),
        (3, "province:19", "Tỉnh Thái Nguyên")
    );
    assert_eq!(unit.id, "province:19-S01");
    assert_eq!(role, signaling::protocol::Role::Official);
    assert_eq!(about.id, meeting.id);
    assert!(participants.is_empty());
    // Right after welcome: the session's floor and moderation state, as it starts.
    assert_eq!(
        recv(&mut ws).await,
        Some(ServerMessage::MeetingState {
            floor: None,
            hands: vec![],
            locked: false,
            self_unmute: true,
            chair_muted: vec![],
            screens: vec![],
            second_share: false,
            recording: None,
        })
    );

    send(&mut ws, &meeting.join("province:19-S01", "again")).await;
    expect_error(&mut ws, ErrorCode::OutOfOrder).await;
    send(&mut ws, &ClientMessage::Answer { sdp: "v=0".into() }).await;
    expect_error(&mut ws, ErrorCode::OutOfOrder).await;
    send(
        &mut ws,
        &ClientMessage::Offer {
            sdp: "this is not sdp".into(),
        },
    )
    .await;
    expect_error(&mut ws, ErrorCode::BadSdp).await;
    // A candidate before media is ignored without an error; mute is accepted.
    send(
        &mut ws,
        &ClientMessage::Candidate {
            candidate: "garbage".into(),
            sdp_mid: None,
        },
    )
    .await;
    send(
        &mut ws,
        &ClientMessage::Mute {
            kind: TrackKind::Audio,
            muted: true,
        },
    )
    .await;

    // Leave: bye, then close.
    send(&mut ws, &ClientMessage::Leave).await;
    assert_eq!(
        recv(&mut ws).await,
        Some(ServerMessage::Bye {
            reason: signaling::protocol::ByeReason::Left
        })
    );
    expect_closed(&mut ws).await;
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_joins_close_the_connection() {
    let hub = start_hub("refused").await;
    let m = plan_meeting(&hub.hub, "province:19", &["district:164"]).await;
    let other = plan_meeting(&hub.hub, "district:165", &[]).await;
    let token = m.token("district:164");
    let cases = [
        (
            ClientMessage::Join {
                v: 1,
                meeting: m.id,
                name: "An".into(),
                token: Some(token.into()),
            },
            ErrorCode::UnsupportedVersion,
        ),
        (
            ClientMessage::Join {
                v: 2,
                meeting: m.id,
                name: "An".into(),
                token: Some(token.into()),
            },
            ErrorCode::UnsupportedVersion,
        ),
        (m.join("district:164", "   "), ErrorCode::InvalidName),
        (
            m.join("district:164", &"x".repeat(65)),
            ErrorCode::InvalidName,
        ),
        (m.join("district:164", "bell\u{7}"), ErrorCode::InvalidName),
        (
            join_with_token(m.id, None, "An"),
            ErrorCode::Unauthenticated,
        ),
        (
            join_with_token(m.id, Some("v1.bad.token"), "An"),
            ErrorCode::InvalidToken,
        ),
        (
            join_with_token(other.id, Some(token), "An"),
            ErrorCode::WrongMeeting,
        ),
        (
            join_with_token(m.id, Some(&other.chair_token), "An"),
            ErrorCode::WrongMeeting,
        ),
    ];
    for (msg, code) in cases {
        let mut ws = connect(hub.addr).await;
        send(&mut ws, &msg).await;
        expect_error(&mut ws, code).await;
        expect_closed(&mut ws).await;
    }
    assert!(
        hub.hub.rooms().await.is_empty(),
        "no refused join left a participant behind"
    );
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_frames_and_vanishing_clients_do_not_disturb_a_running_meeting() {
    let hub = start_hub("hostile").await;
    let m = plan_meeting(
        &hub.hub,
        "province:19",
        &["province:19-S01", "district:164", "commune:5431"],
    )
    .await;
    let an = SimEndpoint::join(hub.addr, &m, "province:19-S01", "an").await;
    let binh = SimEndpoint::join(hub.addr, &m, "district:164", "binh").await;
    assert!(
        wait_until(Duration::from_secs(15), || an
            .received_from("binh", MediaKind::Video)
            > 10)
        .await,
        "media flows before the attack"
    );

    // An offer over 1 MiB (but within what the transport reads): too_large, then closed.
    let mut big = connect(hub.addr).await;
    send(&mut big, &m.join("province:19", "big")).await;
    assert!(matches!(
        recv(&mut big).await,
        Some(ServerMessage::Welcome { .. })
    ));
    let offer = format!(r#"{{"type":"offer","sdp":"{}"}}"#, "a".repeat(1100 * 1024));
    big.send(Message::text(offer)).await.unwrap();
    // (skip the participant_joined/left noise of others)
    loop {
        match recv(&mut big).await {
            Some(ServerMessage::Error { code, .. }) => {
                assert_eq!(code, ErrorCode::TooLarge);
                break;
            }
            Some(_) => continue,
            None => panic!("closed without saying why"),
        }
    }
    expect_closed(&mut big).await;

    // A 10 MB frame: refused by the transport without being buffered; the connection ends.
    let mut huge = connect(hub.addr).await;
    let _ = huge.send(Message::text("x".repeat(10 * 1024 * 1024))).await;
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        let mut said = None;
        while let Some(Ok(m)) = huge.next().await {
            match m {
                Message::Text(t) => {
                    if let Ok(ServerMessage::Error { code, .. }) = serde_json::from_str(&t) {
                        said = Some(code);
                    }
                }
                Message::Close(_) => break,
                _ => {}
            }
        }
        said
    })
    .await;
    assert_eq!(
        ended.expect("the hub ends a connection that sends a 10 MB frame"),
        Some(ErrorCode::TooLarge),
        "and says why"
    );

    // A participant with media vanishes without closing anything.
    let chi = SimEndpoint::join(hub.addr, &m, "commune:5431", "chi").await;
    let chi_id = chi.seen.lock().unwrap().participant_id.clone().unwrap();
    assert!(
        wait_until(Duration::from_secs(15), || chi
            .received_from("an", MediaKind::Audio)
            > 10)
        .await,
        "chi was receiving"
    );
    chi.vanish();
    assert!(
        wait_until(Duration::from_secs(10), || an
            .seen
            .lock()
            .unwrap()
            .participants_left
            .contains(&chi_id))
        .await,
        "the others are told chi is gone"
    );

    // The meeting goes on.
    let before = an.received_from("binh", MediaKind::Video);
    assert!(
        wait_until(Duration::from_secs(5), || an
            .received_from("binh", MediaKind::Video)
            > before + 20)
        .await,
        "an still receives binh's video"
    );
    assert!(an.seen.lock().unwrap().errors.is_empty());
    let rooms = hub.hub.rooms().await;
    assert_eq!(rooms.len(), 1);
    assert_eq!(rooms[0].participants, 2);
    an.stop().await;
    binh.stop().await;
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn room_events_reach_the_others() {
    let hub = start_hub("events").await;
    let m = plan_meeting(&hub.hub, "district:164", &["commune:5431"]).await;
    let mut a = connect(hub.addr).await;
    send(&mut a, &m.join("district:164", "Trần Thị Bình")).await;
    let Some(ServerMessage::Welcome { .. }) = recv(&mut a).await else {
        panic!()
    };
    let Some(ServerMessage::MeetingState { .. }) = recv(&mut a).await else {
        panic!("meeting_state follows welcome")
    };
    let mut b = connect(hub.addr).await;
    send(&mut b, &m.join("commune:5431", "Lê Văn Cường")).await;
    let Some(ServerMessage::Welcome {
        participant_id: b_id,
        participants,
        ..
    }) = recv(&mut b).await
    else {
        panic!()
    };
    assert_eq!(participants.len(), 1);
    assert_eq!(participants[0].name, "Trần Thị Bình");
    let Some(ServerMessage::ParticipantJoined { participant }) = recv(&mut a).await else {
        panic!()
    };
    assert_eq!(
        (participant.id.as_str(), participant.unit.id.as_str()),
        (b_id.as_str(), "commune:5431")
    );
    assert_eq!(participant.unit.name, "Phường Quán Triều");

    send(
        &mut b,
        &ClientMessage::Mute {
            kind: TrackKind::Video,
            muted: true,
        },
    )
    .await;
    assert_eq!(
        recv(&mut a).await,
        Some(ServerMessage::MuteChanged {
            participant_id: b_id.clone(),
            kind: TrackKind::Video,
            muted: true
        })
    );
    let rooms = hub.hub.rooms().await;
    assert_eq!(
        (rooms[0].host_unit.as_str(), rooms[0].participants),
        ("district:164", 2)
    );

    // b's socket just drops (no leave, no close frame).
    drop(b);
    assert_eq!(
        recv(&mut a).await,
        Some(ServerMessage::ParticipantLeft {
            participant_id: b_id,
            reason: LeaveReason::Disconnected
        })
    );
    // Sessions and participations are in the database.
    let sessions = hub
        .hub
        .db()
        .sessions_of("district:164".into())
        .await
        .unwrap();
    assert_eq!(sessions.len(), 1);
    assert_eq!(sessions[0].ended_at, None, "still live while a is there");
    drop(a);
    assert!(
        wait_until(Duration::from_secs(5), || {
            futures_util::FutureExt::now_or_never(hub.hub.rooms()).is_some_and(|r| r.is_empty())
        })
        .await
    );
    let sessions = hub
        .hub
        .db()
        .sessions_of("district:164".into())
        .await
        .unwrap();
    assert!(
        sessions[0].ended_at.is_some(),
        "the session ended with its last participant"
    );
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chair_sees_the_roll_call_and_ends_the_meeting() {
    let hub = start_hub("rollcall").await;
    let units = ["district:164", "district:165", "commune:5431"];
    let m = plan_meeting(&hub.hub, "province:19", &units).await;
    let roll_call = |msg: Option<ServerMessage>| match msg {
        Some(ServerMessage::RollCall {
            units,
            connected,
            invited,
        }) => (units, connected, invited),
        other => panic!("expected roll_call, got {other:?}"),
    };
    let mut chair = connect(hub.addr).await;
    send(&mut chair, &m.join_as_chair("Chủ trì")).await;
    let Some(ServerMessage::Welcome { role, .. }) = recv(&mut chair).await else {
        panic!("expected welcome")
    };
    assert_eq!(role, signaling::protocol::Role::Chair);
    assert!(matches!(
        recv(&mut chair).await,
        Some(ServerMessage::MeetingState { .. })
    ));
    // Then every invited unit, the chair's own connected, the rest not yet.
    let (entries, connected, invited) = roll_call(recv(&mut chair).await);
    // The province and its 18 departments (the host's tier), plus the three added units.
    assert_eq!((connected, invited), (1, 22));
    assert_eq!(entries.len(), 22);
    let status = |entries: &[signaling::protocol::RollCallEntry], id: &str| {
        entries.iter().find(|e| e.unit_id == id).unwrap().status
    };
    use signaling::protocol::Presence;
    assert_eq!(status(&entries, "province:19"), Presence::Connected);
    assert_eq!(status(&entries, "district:164"), Presence::NotYet);
    assert_eq!(
        entries
            .iter()
            .find(|e| e.unit_id == "commune:5431")
            .unwrap()
            .parent
            .as_deref(),
        Some("district:164")
    );

    // An official joins: the next roll call shows it connected.
    let mut official = connect(hub.addr).await;
    send(&mut official, &m.join("district:164", "Bình")).await;
    assert!(matches!(
        recv(&mut official).await,
        Some(ServerMessage::Welcome { .. })
    ));
    let entries = loop {
        match recv(&mut chair).await {
            Some(ServerMessage::RollCall { units, .. })
                if status(&units, "district:164") == Presence::Connected =>
            {
                break units;
            }
            Some(_) => continue,
            None => panic!("chair closed"),
        }
    };
    assert_eq!(
        entries
            .iter()
            .find(|e| e.unit_id == "district:164")
            .unwrap()
            .participants,
        1
    );

    // Officials do not get roll calls, and may not end the meeting.
    send(&mut official, &ClientMessage::EndMeeting).await;
    loop {
        match recv(&mut official).await {
            Some(ServerMessage::Error { code, .. }) => {
                assert_eq!(code, ErrorCode::Forbidden);
                break;
            }
            Some(ServerMessage::RollCall { .. }) => panic!("an official got the roll call"),
            Some(_) => continue,
            None => panic!("official closed"),
        }
    }
    // The chair ends it: everyone gets bye meeting_ended, and the meeting is over.
    send(&mut chair, &ClientMessage::EndMeeting).await;
    for ws in [&mut chair, &mut official] {
        loop {
            match recv(ws).await {
                Some(ServerMessage::Bye { reason }) => {
                    assert_eq!(reason, signaling::protocol::ByeReason::MeetingEnded);
                    break;
                }
                Some(_) => continue,
                None => panic!("closed without bye"),
            }
        }
        expect_closed(ws).await;
    }
    let id = m.id;
    let state = hub
        .hub
        .db()
        .call(move |c| signaling::meetings::get(c, id))
        .await
        .unwrap()
        .unwrap()
        .state;
    assert_eq!(state, signaling::meetings::MeetingState::Ended);
    // And nobody gets back in.
    let mut late = connect(hub.addr).await;
    send(&mut late, &m.join("district:165", "Muộn")).await;
    expect_error(&mut late, ErrorCode::MeetingEnded).await;
    hub.shutdown().await;
}
