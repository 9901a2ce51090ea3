//! Connection timers with simulated time: the join deadline and the idle timeout, driven over
//! in-memory channels instead of a socket.

mod common;

use std::time::Duration;

use axum::extract::ws::Message;
use futures::channel::mpsc;
use futures_util::StreamExt;
use signaling::protocol::{ErrorCode, ServerMessage};
use signaling::ws::{ConnectionTimers, serve};

fn text(m: &Message) -> Option<ServerMessage> {
    match m {
        Message::Text(t) => serde_json::from_str(t.as_str()).ok(),
        _ => None,
    }
}

#[tokio::test(start_paused = true)]
async fn a_client_that_never_joins_is_refused_after_the_deadline() {
    let hub = common::bare_hub("join").await;
    let (out_tx, mut out_rx) = mpsc::unbounded::<Message>();
    let (_in_tx, in_rx) = mpsc::unbounded::<Result<Message, axum::Error>>();
    let timers = ConnectionTimers::default();
    let started = tokio::time::Instant::now();
    serve(hub, out_tx, in_rx, timers, None).await;
    assert!(started.elapsed() >= Duration::from_secs(10));
    let first = out_rx.next().await.unwrap();
    assert!(matches!(
        text(&first),
        Some(ServerMessage::Error {
            code: ErrorCode::JoinTimeout,
            ..
        })
    ));
    assert!(matches!(out_rx.next().await, Some(Message::Close(Some(_)))));
}

#[tokio::test(start_paused = true)]
async fn a_silent_client_is_pinged_then_dropped() {
    let hub = common::bare_hub("idle").await;
    let meeting = common::plan_meeting(&hub, "province:19", &[]).await;
    let (out_tx, mut out_rx) = mpsc::unbounded::<Message>();
    let (in_tx, in_rx) = mpsc::unbounded::<Result<Message, axum::Error>>();
    in_tx
        .unbounded_send(Ok(Message::Text(
            serde_json::to_string(&meeting.join_as_chair("An"))
                .unwrap()
                .into(),
        )))
        .unwrap();
    let timers = ConnectionTimers::default();
    let started = tokio::time::Instant::now();
    serve(hub.clone(), out_tx, in_rx, timers, None).await;
    // Pinged every 15 s, dropped once 45 s passed without a word.
    assert!(started.elapsed() >= Duration::from_secs(45));
    let mut pings = 0;
    let mut welcomed = false;
    while let Some(m) = out_rx.next().await {
        match m {
            Message::Ping(_) => pings += 1,
            m => welcomed |= matches!(text(&m), Some(ServerMessage::Welcome { .. })),
        }
    }
    assert!(welcomed);
    assert_eq!(pings, 2);
    assert!(
        hub.rooms().await.is_empty(),
        "the dropped participant left the room"
    );
    drop(in_tx);
}
