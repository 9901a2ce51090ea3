//! The floor and moderation over a real hub (websockets, no media): raised hands, the floor,
//! mutes by the chair and who may lift them, removal, the lock, chat, `receive`, and the
//! moderation log with its API. Only chairs moderate; anyone else is refused with `forbidden`
//! and keeps its connection.

mod common;

use axum::http::StatusCode;
use common::{
    Client, MeetingState, Planned, api_call, connect, plan_meeting, recv, send, sign_in, start_hub,
};
use serde_json::{Value, json};
use signaling::protocol::{
    ByeReason, ChatTo, ClientMessage, ErrorCode, LeaveReason, ReceiveMode, ServerMessage, TrackKind,
};

const UNITS: [&str; 3] = ["district:164", "district:165", "commune:5431"];

async fn meeting(hub: &signaling::RunningHub) -> Planned {
    plan_meeting(&hub.hub, "province:19", &UNITS).await
}

fn state(floor: Option<&str>, hands: &[&str]) -> MeetingState {
    MeetingState {
        floor: floor.map(String::from),
        hands: hands.iter().map(|h| h.to_string()).collect(),
        locked: false,
        self_unmute: true,
        chair_muted: vec![],
        screens: vec![],
        second_share: false,
        recording: None,
    }
}

fn give_floor(id: &str) -> ClientMessage {
    ClientMessage::GiveFloor {
        participant_id: id.into(),
    }
}

fn mute_participant(id: &str, kind: TrackKind) -> ClientMessage {
    ClientMessage::MuteParticipant {
        participant_id: id.into(),
        kind,
    }
}

fn mute(kind: TrackKind, muted: bool) -> ClientMessage {
    ClientMessage::Mute { kind, muted }
}

fn raise(raised: bool) -> ClientMessage {
    ClientMessage::RaiseHand { raised }
}

/// Wait until `client` has seen `id` join.
async fn saw_join(client: &mut Client, id: &str) {
    client
        .until(|m| match m {
            ServerMessage::ParticipantJoined { participant } if participant.id == id => Some(()),
            _ => None,
        })
        .await
}

/// A round trip through the chair's connection: everything it sent before has been handled
/// (the connection handles its messages one after the other), database writes included.
async fn settle(chair: &mut Client) {
    let id = chair.id.clone();
    chair.send(&raise(true)).await;
    chair
        .until(|m| match m {
            ServerMessage::MeetingState { hands, .. } if hands.contains(&id) => Some(()),
            _ => None,
        })
        .await;
}

async fn log_rows(
    hub: &signaling::RunningHub,
    meeting: i64,
) -> Vec<signaling::moderation_log::Entry> {
    hub.hub
        .db()
        .call(move |c| signaling::moderation_log::of_meeting(c, meeting))
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_chairs_moderate_and_every_accepted_action_is_logged() {
    let hub = start_hub("mod-roles").await;
    let m = meeting(&hub).await;
    let mut chair = Client::join(hub.addr, &m.join_as_chair("Chủ trì")).await;
    let mut an = Client::join(hub.addr, &m.join("district:164", "An")).await;
    saw_join(&mut chair, &an.id).await;

    // An official tries every moderation message: each is refused, the connection stays.
    let attempts = [
        give_floor(&an.id),
        ClientMessage::TakeFloor,
        mute_participant(&chair.id, TrackKind::Audio),
        ClientMessage::MuteAll,
        ClientMessage::AllowUnmute { allowed: false },
        ClientMessage::RemoveParticipant {
            participant_id: chair.id.clone(),
        },
        ClientMessage::Lock { locked: true },
        ClientMessage::EndMeeting,
    ];
    for msg in &attempts {
        an.send(msg).await;
        an.expect_error(ErrorCode::Forbidden).await;
    }
    an.send(&raise(true)).await;
    assert_eq!(
        an.meeting_state().await,
        state(None, &[&an.id]),
        "nothing changed, and the official is still connected"
    );
    assert_eq!(chair.meeting_state().await, state(None, &[&an.id]));
    assert!(
        log_rows(&hub, m.id).await.is_empty(),
        "refusals are not logged"
    );

    // The chair's are accepted.
    chair.send(&give_floor(&an.id)).await;
    assert_eq!(
        chair.meeting_state().await,
        state(Some(&an.id), &[]),
        "the floor lowers the hand"
    );
    chair.send(&ClientMessage::TakeFloor).await;
    assert_eq!(chair.meeting_state().await, state(None, &[]));
    chair
        .send(&mute_participant(&an.id, TrackKind::Video))
        .await;
    assert_eq!(
        chair.meeting_state().await.chair_muted,
        [(an.id.clone(), TrackKind::Video)]
    );
    chair.send(&ClientMessage::MuteAll).await;
    assert_eq!(
        chair.meeting_state().await.chair_muted,
        [
            (an.id.clone(), TrackKind::Video),
            (an.id.clone(), TrackKind::Audio)
        ]
    );
    chair
        .send(&ClientMessage::AllowUnmute { allowed: false })
        .await;
    assert!(!chair.meeting_state().await.self_unmute);
    chair.send(&ClientMessage::Lock { locked: true }).await;
    assert!(chair.meeting_state().await.locked);
    chair
        .send(&ClientMessage::RemoveParticipant {
            participant_id: an.id.clone(),
        })
        .await;
    let left = chair
        .until(|m| match m {
            ServerMessage::ParticipantLeft {
                participant_id,
                reason,
            } => Some((participant_id, reason)),
            _ => None,
        })
        .await;
    assert_eq!(left, (an.id.clone(), LeaveReason::Removed));
    an.until(|m| matches!(m, ServerMessage::Bye { .. }).then_some(()))
        .await;
    chair.send(&ClientMessage::EndMeeting).await;
    let bye = chair
        .until(|m| match m {
            ServerMessage::Bye { reason } => Some(reason),
            _ => None,
        })
        .await;
    assert_eq!(bye, ByeReason::MeetingEnded);
    chair.expect_closed().await;

    let rows = log_rows(&hub, m.id).await;
    let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "give_floor",
            "take_floor",
            "mute_participant",
            "mute_all",
            "allow_unmute",
            "lock",
            "remove_participant",
            "end_meeting"
        ]
    );
    assert!(rows.iter().all(|r| r.actor.participant_id == chair.id
        && r.actor.name.as_deref() == Some("Chủ trì")
        && r.actor.unit.as_deref() == Some("province:19")));
    let target = |i: usize| rows[i].target.as_ref().map(|t| t.participant_id.as_str());
    assert_eq!(target(0), Some(an.id.as_str()));
    assert_eq!(target(1), Some(an.id.as_str()), "who lost the floor");
    assert_eq!(target(2), Some(an.id.as_str()));
    assert_eq!(rows[2].detail, Some(json!({"kind": "video"})));
    assert_eq!(rows[3].detail, Some(json!({"participants": [an.id]})));
    assert_eq!(rows[4].detail, Some(json!({"allowed": false})));
    assert_eq!(rows[5].detail, Some(json!({"locked": true})));
    assert_eq!(target(6), Some(an.id.as_str()));
    assert_eq!(rows[6].target.as_ref().unwrap().name.as_deref(), Some("An"));
    assert_eq!((target(7), rows[7].detail.clone()), (None, None));
    let sessions = hub
        .hub
        .db()
        .sessions_of("province:19".into())
        .await
        .unwrap();
    assert!(rows.iter().all(|r| r.session_id == sessions[0].id));
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hands_queue_in_order_and_the_floor_moves() {
    let hub = start_hub("mod-floor").await;
    let m = meeting(&hub).await;
    let mut chair = Client::join(hub.addr, &m.join_as_chair("Chủ trì")).await;
    let mut a = Client::join(hub.addr, &m.join("district:164", "A")).await;
    let mut b = Client::join(hub.addr, &m.join("district:165", "B")).await;
    let mut c = Client::join(hub.addr, &m.join("commune:5431", "C")).await;
    let (ai, bi, ci) = (a.id.clone(), b.id.clone(), c.id.clone());

    // Raised one after the other: a, c, b.
    a.send(&raise(true)).await;
    assert_eq!(chair.meeting_state().await.hands, [ai.as_str()]);
    c.send(&raise(true)).await;
    assert_eq!(chair.meeting_state().await.hands, [ai.clone(), ci.clone()]);
    b.send(&raise(true)).await;
    let expected = state(None, &[&ai, &ci, &bi]);
    assert_eq!(chair.meeting_state().await, expected);
    // Everyone sees the same queue.
    for p in [&mut a, &mut b, &mut c] {
        let mut st = p.meeting_state().await;
        while st.hands.len() < 3 {
            st = p.meeting_state().await;
        }
        assert_eq!(st, expected);
    }
    // A hand raised again keeps its place; a lowered one leaves the queue.
    a.send(&raise(true)).await;
    c.send(&raise(false)).await;
    assert_eq!(chair.meeting_state().await, state(None, &[&ai, &bi]));
    c.send(&raise(true)).await;
    assert_eq!(chair.meeting_state().await, state(None, &[&ai, &bi, &ci]));

    // The floor lowers the holder's hand; a second give_floor replaces the holder.
    chair.send(&give_floor(&bi)).await;
    assert_eq!(chair.meeting_state().await, state(Some(&bi), &[&ai, &ci]));
    chair.send(&give_floor(&ai)).await;
    assert_eq!(chair.meeting_state().await, state(Some(&ai), &[&ci]));
    let mut seen_by_b = b.meeting_state().await;
    while seen_by_b.floor.is_none() {
        seen_by_b = b.meeting_state().await;
    }
    assert_eq!(seen_by_b, state(Some(&bi), &[&ai, &ci]), "b saw it too");
    chair.send(&ClientMessage::TakeFloor).await;
    assert_eq!(chair.meeting_state().await, state(None, &[&ci]));

    // Nobody by that id: not_found, and the chair goes on.
    chair.send(&give_floor("e999")).await;
    chair.expect_error(ErrorCode::NotFound).await;

    // The floor holder with a raised hand leaves: both go, and everyone is told.
    chair.send(&give_floor(&ci)).await;
    assert_eq!(chair.meeting_state().await, state(Some(&ci), &[]));
    c.send(&raise(true)).await;
    assert_eq!(chair.meeting_state().await, state(Some(&ci), &[&ci]));
    c.send(&ClientMessage::Leave).await;
    let (left, st) = (
        chair
            .until(|m| match m {
                ServerMessage::ParticipantLeft { participant_id, .. } => Some(participant_id),
                _ => None,
            })
            .await,
        chair.meeting_state().await,
    );
    assert_eq!((left, st), (ci.clone(), state(None, &[])));
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_locked_session_refuses_officials_but_not_chairs() {
    let hub = start_hub("mod-lock").await;
    let m = meeting(&hub).await;
    let mut chair = Client::join(hub.addr, &m.join_as_chair("Chủ trì")).await;
    chair.send(&ClientMessage::Lock { locked: true }).await;
    assert!(chair.meeting_state().await.locked);

    let mut late = connect(hub.addr).await;
    send(&mut late, &m.join("district:164", "Muộn")).await;
    match recv(&mut late).await {
        Some(ServerMessage::Error { code, .. }) => assert_eq!(code, ErrorCode::SessionLocked),
        other => panic!("expected session_locked, got {other:?}"),
    }
    assert_eq!(recv(&mut late).await, None, "closed");

    // A second chair (the operator's console) still gets in, and sees the lock.
    let mut ws = connect(hub.addr).await;
    send(&mut ws, &m.join_as_chair("Thư ký")).await;
    assert!(matches!(
        recv(&mut ws).await,
        Some(ServerMessage::Welcome { .. })
    ));
    match recv(&mut ws).await {
        Some(ServerMessage::MeetingState { locked, .. }) => assert!(locked),
        other => panic!("expected meeting_state, got {other:?}"),
    }

    chair.send(&ClientMessage::Lock { locked: false }).await;
    assert!(!chair.meeting_state().await.locked);
    let joined = Client::join(hub.addr, &m.join("district:164", "Đúng giờ")).await;
    assert_eq!(joined.role, signaling::protocol::Role::Official);
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_participant_is_told_disconnected_and_barred() {
    let hub = start_hub("mod-remove").await;
    let m = meeting(&hub).await;
    let mut chair = Client::join(hub.addr, &m.join_as_chair("Chủ trì")).await;
    let mut x = Client::join(hub.addr, &m.join("district:164", "X")).await;
    let mut y = Client::join(hub.addr, &m.join("district:165", "Y")).await;
    saw_join(&mut chair, &y.id).await;

    // Not oneself, and not someone who is not there.
    let me = chair.id.clone();
    chair
        .send(&ClientMessage::RemoveParticipant { participant_id: me })
        .await;
    chair.expect_error(ErrorCode::Forbidden).await;
    chair
        .send(&ClientMessage::RemoveParticipant {
            participant_id: "e999".into(),
        })
        .await;
    chair.expect_error(ErrorCode::NotFound).await;

    x.send(&raise(true)).await;
    chair.meeting_state().await;
    chair
        .send(&ClientMessage::RemoveParticipant {
            participant_id: x.id.clone(),
        })
        .await;
    // x: bye removed, then the socket closes.
    let bye = x
        .until(|m| match m {
            ServerMessage::Bye { reason } => Some(reason),
            _ => None,
        })
        .await;
    assert_eq!(bye, ByeReason::Removed);
    x.expect_closed().await;
    // The others: x left, removed; its hand is gone.
    for p in [&mut chair, &mut y] {
        let left = p
            .until(|m| match m {
                ServerMessage::ParticipantLeft {
                    participant_id,
                    reason,
                } => Some((participant_id, reason)),
                _ => None,
            })
            .await;
        assert_eq!(left, (x.id.clone(), LeaveReason::Removed));
        assert_eq!(p.meeting_state().await.hands, Vec::<String>::new());
    }
    let rooms = hub.hub.rooms().await;
    assert_eq!(rooms[0].participants, 2);

    // x's join link cannot come back into this session; another unit's can.
    let mut again = connect(hub.addr).await;
    send(&mut again, &m.join("district:164", "X lần nữa")).await;
    match recv(&mut again).await {
        Some(ServerMessage::Error { code, .. }) => assert_eq!(code, ErrorCode::Removed),
        other => panic!("expected removed, got {other:?}"),
    }
    assert_eq!(recv(&mut again).await, None, "closed");
    Client::join(hub.addr, &m.join("commune:5431", "Z")).await;

    // The participation records why it ended.
    let session = hub
        .hub
        .db()
        .sessions_of("province:19".into())
        .await
        .unwrap()[0]
        .id;
    let xid = x.id.clone();
    let reason: String = hub
        .hub
        .db()
        .call(move |c| {
            c.query_row(
                "SELECT leave_reason FROM participations WHERE session_id = ?1 AND participant_id = ?2",
                rusqlite::params![session, xid],
                |r| r.get(0),
            )
        })
        .await
        .unwrap();
    assert_eq!(reason, "removed");
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chairs_mute_holds_until_the_chair_allows_or_gives_the_floor() {
    let hub = start_hub("mod-mute").await;
    let m = meeting(&hub).await;
    let mut chair = Client::join(hub.addr, &m.join_as_chair("Chủ trì")).await;
    let mut a = Client::join(hub.addr, &m.join("district:164", "A")).await;
    let mut b = Client::join(hub.addr, &m.join("district:165", "B")).await;
    saw_join(&mut a, &b.id).await;
    let ai = a.id.clone();

    // Self-unmute allowed (the start): muted by the chair, a may unmute itself.
    chair.send(&mute_participant(&ai, TrackKind::Audio)).await;
    assert_eq!(
        a.next().await,
        ServerMessage::MutedByChair {
            kind: TrackKind::Audio
        }
    );
    let changed = ServerMessage::MuteChanged {
        participant_id: ai.clone(),
        kind: TrackKind::Audio,
        muted: true,
    };
    assert_eq!(a.next().await, changed);
    assert_eq!(b.next().await, changed, "everyone sees the mute");
    let muted = vec![(ai.clone(), TrackKind::Audio)];
    assert_eq!(b.meeting_state().await.chair_muted, muted);
    assert_eq!(a.meeting_state().await.chair_muted, muted);
    a.send(&mute(TrackKind::Audio, false)).await;
    assert_eq!(
        b.next().await,
        ServerMessage::MuteChanged {
            participant_id: ai.clone(),
            kind: TrackKind::Audio,
            muted: false
        }
    );
    assert_eq!(b.meeting_state().await.chair_muted, vec![]);
    assert_eq!(a.meeting_state().await.chair_muted, vec![]);

    // Not allowed: the unmute is refused, and a stays muted by the chair.
    chair
        .send(&ClientMessage::AllowUnmute { allowed: false })
        .await;
    assert!(!a.meeting_state().await.self_unmute);
    chair.send(&mute_participant(&ai, TrackKind::Video)).await;
    assert_eq!(
        a.next().await,
        ServerMessage::MutedByChair {
            kind: TrackKind::Video
        }
    );
    assert_eq!(
        a.meeting_state().await.chair_muted,
        [(ai.clone(), TrackKind::Video)]
    );
    a.send(&mute(TrackKind::Video, false)).await;
    a.expect_error(ErrorCode::Forbidden).await;
    // Muting oneself further is always fine (and others hear of it).
    a.send(&mute(TrackKind::Audio, true)).await;
    assert_eq!(
        b.until(|m| matches!(m, ServerMessage::MuteChanged { .. }).then_some(m))
            .await,
        ServerMessage::MuteChanged {
            participant_id: ai.clone(),
            kind: TrackKind::Video,
            muted: true
        }
    );
    assert_eq!(
        b.until(|m| matches!(m, ServerMessage::MuteChanged { .. }).then_some(m))
            .await,
        ServerMessage::MuteChanged {
            participant_id: ai.clone(),
            kind: TrackKind::Audio,
            muted: true
        },
        "the refused unmute never reached b"
    );

    // With the floor, a may unmute.
    chair.send(&give_floor(&ai)).await;
    assert_eq!(a.meeting_state().await.floor.as_deref(), Some(ai.as_str()));
    a.send(&mute(TrackKind::Video, false)).await;
    let st = a.meeting_state().await;
    assert_eq!(st.chair_muted, vec![], "the chair's mute is lifted");
    assert_eq!(
        b.until(|m| matches!(m, ServerMessage::MuteChanged { muted: false, .. }).then_some(m))
            .await,
        ServerMessage::MuteChanged {
            participant_id: ai.clone(),
            kind: TrackKind::Video,
            muted: false
        }
    );

    // Floor taken, muted again: refused, until the chair allows self-unmute.
    chair.send(&ClientMessage::TakeFloor).await;
    chair.send(&mute_participant(&ai, TrackKind::Audio)).await;
    a.until(|m| matches!(m, ServerMessage::MutedByChair { .. }).then_some(()))
        .await;
    assert_eq!(
        a.meeting_state().await,
        MeetingState {
            floor: None,
            hands: vec![],
            locked: false,
            self_unmute: false,
            chair_muted: vec![(ai.clone(), TrackKind::Audio)],
            screens: vec![],
            second_share: false,
            recording: None,
        }
    );
    a.send(&mute(TrackKind::Audio, false)).await;
    a.expect_error(ErrorCode::Forbidden).await;
    chair
        .send(&ClientMessage::AllowUnmute { allowed: true })
        .await;
    assert!(a.meeting_state().await.self_unmute);
    a.send(&mute(TrackKind::Audio, false)).await;
    assert_eq!(a.meeting_state().await.chair_muted, vec![]);
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mute_all_mutes_every_microphone_but_the_chairs() {
    let hub = start_hub("mod-muteall").await;
    let m = meeting(&hub).await;
    let mut chair = Client::join(hub.addr, &m.join_as_chair("Chủ trì")).await;
    let mut second = Client::join(hub.addr, &m.join_as_chair("Thư ký")).await;
    let mut a = Client::join(hub.addr, &m.join("district:164", "A")).await;
    let mut b = Client::join(hub.addr, &m.join("commune:5431", "B")).await;
    saw_join(&mut chair, &b.id).await;
    chair.send(&ClientMessage::MuteAll).await;
    for p in [&mut a, &mut b] {
        let kind = p
            .until(|m| match m {
                ServerMessage::MutedByChair { kind } => Some(kind),
                _ => None,
            })
            .await;
        assert_eq!(kind, TrackKind::Audio);
    }
    let mut expected = vec![
        (a.id.clone(), TrackKind::Audio),
        (b.id.clone(), TrackKind::Audio),
    ];
    expected.sort();
    let mut got = chair.meeting_state().await.chair_muted;
    got.sort();
    assert_eq!(got, expected);
    // The other chair is not muted: meeting_state comes without a muted_by_chair before it.
    let mut told = vec![];
    loop {
        match second.next().await {
            ServerMessage::MeetingState { chair_muted, .. } if !chair_muted.is_empty() => break,
            ServerMessage::MutedByChair { kind } => told.push(kind),
            _ => {}
        }
    }
    assert!(told.is_empty(), "a chair is not muted by mute_all");
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_reaches_everyone_or_only_the_chairs() {
    let hub = start_hub("mod-chat").await;
    let m = meeting(&hub).await;
    let mut chair = Client::join(hub.addr, &m.join_as_chair("Chủ trì")).await;
    let mut a = Client::join(hub.addr, &m.join("district:164", "Anh")).await;
    let mut b = Client::join(hub.addr, &m.join("district:165", "Bảo")).await;
    saw_join(&mut a, &b.id).await;
    saw_join(&mut chair, &b.id).await;
    let unit_name = hub
        .hub
        .directory()
        .get("district:164")
        .unwrap()
        .name
        .clone();
    let chat = |m: ServerMessage| match m {
        m @ ServerMessage::Chat { .. } => Some(m),
        _ => None,
    };

    let before = signaling::db::now_ms();
    a.send(&ClientMessage::Chat {
        text: "  Xin phát biểu\nvề mục 2 \n".into(),
        to: ChatTo::Chair,
    })
    .await;
    let to_chair = chair.until(chat).await;
    let ServerMessage::Chat {
        from,
        name,
        unit,
        to,
        text,
        at,
    } = to_chair.clone()
    else {
        unreachable!()
    };
    assert_eq!(
        (
            from.as_str(),
            name.as_str(),
            unit.as_str(),
            to,
            text.as_str()
        ),
        (
            a.id.as_str(),
            "Anh",
            unit_name.as_str(),
            ChatTo::Chair,
            "Xin phát biểu\nvề mục 2"
        )
    );
    assert!(at >= before && at <= signaling::db::now_ms());
    assert_eq!(
        a.until(chat).await,
        to_chair,
        "the sender gets its own copy"
    );

    // To everyone: b's first chat is this one (the one to the chair never reached it).
    chair
        .send(&ClientMessage::Chat {
            text: "Mời đồng chí Anh".into(),
            to: ChatTo::All,
        })
        .await;
    let chair_id = chair.id.clone();
    for p in [&mut b, &mut a, &mut chair] {
        match p.until(chat).await {
            ServerMessage::Chat { from, to, text, .. } => {
                assert_eq!(
                    (from.as_str(), to, text.as_str()),
                    (chair_id.as_str(), ChatTo::All, "Mời đồng chí Anh")
                );
            }
            _ => unreachable!(),
        }
    }

    // Empty, too long, or with control characters: invalid_text; the connection stays.
    for text in [
        String::new(),
        " \n\t ".into(),
        "x".repeat(2001),
        "chuông\u{7}".into(),
        "tab\there".into(),
    ] {
        b.send(&ClientMessage::Chat {
            text,
            to: ChatTo::All,
        })
        .await;
        b.expect_error(ErrorCode::InvalidText).await;
    }
    b.send(&ClientMessage::Chat {
        text: "ư".repeat(2000),
        to: ChatTo::All,
    })
    .await;
    match b.until(chat).await {
        ServerMessage::Chat { text, .. } => assert_eq!(text.chars().count(), 2000),
        _ => unreachable!(),
    }
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receive_is_accepted_and_a_malformed_one_refused() {
    let hub = start_hub("mod-receive").await;
    let m = meeting(&hub).await;
    let mut a = Client::join(hub.addr, &m.join("district:164", "A")).await;
    let b = Client::join(hub.addr, &m.join("district:165", "B")).await;
    // Accepted (before any media too): no answer; the next message is the hand's.
    for msg in [
        ClientMessage::Receive {
            mode: Some(ReceiveMode::Low),
            pinned: Some(vec![b.id.clone(), "e999".into(), a.id.clone()]),
            large_height: Some(1080),
            small_height: Some(99_999),
        },
        ClientMessage::Receive {
            mode: None,
            pinned: None,
            large_height: None,
            small_height: None,
        },
    ] {
        a.send(&msg).await;
    }
    a.send(&raise(true)).await;
    saw_join(&mut a, &b.id).await;
    assert!(matches!(a.next().await, ServerMessage::MeetingState { .. }));
    // Malformed: refused with malformed, and the connection stays.
    for text in [
        r#"{"type":"receive","mode":"ultra"}"#.to_string(),
        r#"{"type":"receive","pinned":"e1"}"#.to_string(),
        r#"{"type":"receive","large_height":-720}"#.to_string(),
        serde_json::to_string(&json!({
            "type": "receive",
            "pinned": (0..26).map(|i| format!("e{i}")).collect::<Vec<_>>(),
        }))
        .unwrap(),
    ] {
        use futures_util::SinkExt;
        a.ws.send(tokio_tungstenite::tungstenite::Message::text(text))
            .await
            .unwrap();
        a.expect_error(ErrorCode::Malformed).await;
    }
    a.send(&raise(false)).await;
    assert!(matches!(a.next().await, ServerMessage::MeetingState { .. }));
    hub.shutdown().await;
}

/// The staff API: `GET /api/meetings/{id}/moderation-log`, for schedulers and admins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_moderation_log_is_read_by_the_meetings_staff() {
    use signaling::auth::StaffRole;
    use signaling::http::AppState;
    let hub = start_hub("mod-log").await;
    let m = meeting(&hub).await;
    let state = AppState::new(
        hub.hub.clone(),
        std::env::temp_dir().join(format!("cau-mod-log-{}", std::process::id())),
    );
    let [scheduler, archivist]: [String; 2] = sign_in(
        &state,
        &[("lan", StaffRole::Scheduler), ("thu", StaffRole::Archivist)],
    )
    .await
    .try_into()
    .unwrap();

    let mut chair = Client::join(hub.addr, &m.join_as_chair("Chủ trì")).await;
    let a = Client::join(hub.addr, &m.join("district:164", "Anh")).await;
    saw_join(&mut chair, &a.id).await;
    chair.send(&give_floor(&a.id)).await;
    chair.send(&mute_participant(&a.id, TrackKind::Audio)).await;
    chair.send(&ClientMessage::Lock { locked: true }).await;
    settle(&mut chair).await;

    let uri = format!("/api/meetings/{}/moderation-log", m.id);
    let (status, body) = api_call(&state, &uri, Some(&scheduler), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let entries = body["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0]["action"], "give_floor");
    assert_eq!(entries[0]["actor"]["participant_id"], chair.id.as_str());
    assert_eq!(entries[0]["actor"]["name"], "Chủ trì");
    assert_eq!(entries[0]["actor"]["unit"], "province:19");
    assert_eq!(entries[0]["target"]["participant_id"], a.id.as_str());
    assert_eq!(entries[0]["target"]["name"], "Anh");
    assert_eq!(entries[0]["target"]["unit"], "district:164");
    assert_eq!(entries[0]["detail"], Value::Null);
    assert_eq!(entries[1]["action"], "mute_participant");
    assert_eq!(entries[1]["detail"], json!({"kind": "audio"}));
    assert_eq!(entries[2]["action"], "lock");
    assert_eq!(entries[2]["target"], Value::Null);
    assert!(entries[0]["at"].as_i64().unwrap() > 0);
    assert!(entries[0]["session_id"].as_i64().is_some());

    // Staff only, and the right staff.
    let (status, body) = api_call(&state, &uri, None, None).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthenticated"))
    );
    let (status, _) = api_call(&state, &uri, Some(&archivist), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = api_call(
        &state,
        "/api/meetings/999999/moderation-log",
        Some(&scheduler),
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    hub.shutdown().await;
}
