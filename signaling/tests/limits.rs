//! The limits on what a client controls, each set low through its configuration key and
//! met by a real client over a real websocket: messages a second, connections per address,
//! message size, offer m-lines, display name, endpoints per session. Each refusal is a clear
//! error, and what the limit does not touch goes on.

mod common;

use std::time::{Duration, Instant};

use common::{connect, plan_meeting, recv, send};
use futures_util::SinkExt;
use signaling::protocol::{ClientMessage, ErrorCode, ServerMessage};
use tokio_tungstenite::tungstenite::Message;

const UNIT: &str = "district:164";
const OTHER: &str = "district:165";
const THIRD: &str = "commune:5431";

/// A hub on loopback whose configuration `edit` changed.
async fn hub_with(name: &str, edit: impl FnOnce(&mut signaling::Config)) -> signaling::RunningHub {
    let mut config = common::test_config(name);
    edit(&mut config);
    signaling::start(&config).await.expect("hub starts")
}

/// Joins `unit` and reads up to the welcome.
async fn joined(hub: &signaling::RunningHub, msg: &ClientMessage) -> common::Ws {
    let mut ws = connect(hub.addr).await;
    send(&mut ws, msg).await;
    match recv(&mut ws).await {
        Some(ServerMessage::Welcome { .. }) => ws,
        other => panic!("expected welcome, got {other:?}"),
    }
}

/// Error codes received within `wait` (other messages skipped); stops at the close.
async fn errors_within(ws: &mut common::Ws, wait: Duration) -> (Vec<ErrorCode>, bool) {
    let mut codes = vec![];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, recv(ws)).await {
            Err(_) => return (codes, false),
            Ok(None) => return (codes, true),
            Ok(Some(ServerMessage::Error { code, .. })) => codes.push(code),
            Ok(Some(_)) => {}
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_over_its_message_rate_is_told_then_closed_and_one_within_it_is_not() {
    let hub = hub_with("limits_rate", |c| c.max_messages_per_second = 5).await;
    let m = plan_meeting(&hub.hub, "province:19", &[UNIT, OTHER]).await;

    // Within the rate: 4 a second for 3 s, each answered (a malformed message is answered
    // `malformed`, which shows it was read), none refused for the rate.
    let mut calm = joined(&hub, &m.join(UNIT, "Bình tĩnh")).await;
    for _ in 0..12 {
        calm.send(Message::text("{}")).await.unwrap();
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (codes, closed) = errors_within(&mut calm, Duration::from_millis(500)).await;
    assert!(!closed);
    assert_eq!(
        codes,
        vec![ErrorCode::Malformed; 12],
        "every message read, none refused"
    );

    // A burst: twice the rate passes, the rest is dropped with one `rate_limited`.
    let mut flood = joined(&hub, &m.join(OTHER, "Ồ ạt")).await;
    for _ in 0..30 {
        flood.send(Message::text("{}")).await.unwrap();
    }
    let (codes, closed) = errors_within(&mut flood, Duration::from_millis(500)).await;
    assert!(!closed, "a burst is not closed");
    // (Ten tokens, the join took one; a slow machine may refill one while the 30 go out.)
    let read = codes.iter().filter(|c| **c == ErrorCode::Malformed).count();
    assert!((9..=10).contains(&read), "twice the rate read: {codes:?}");
    assert_eq!(
        codes
            .iter()
            .filter(|c| **c == ErrorCode::RateLimited)
            .count(),
        1,
        "{codes:?}"
    );

    // Keeping on at 40 a second: closed after about 5 s, saying why.
    let started = Instant::now();
    let mut codes = vec![];
    let closed = loop {
        if flood.send(Message::text("{}")).await.is_err() {
            break true;
        }
        let (more, closed) = errors_within(&mut flood, Duration::from_millis(25)).await;
        codes.extend(more);
        if closed || started.elapsed() > Duration::from_secs(15) {
            break closed;
        }
    };
    assert!(closed, "the flood is closed");
    let after = started.elapsed();
    assert!(
        after >= Duration::from_secs(4) && after < Duration::from_secs(10),
        "{after:?}"
    );
    assert_eq!(codes.last(), Some(&ErrorCode::RateLimited), "{codes:?}");
    let told = codes
        .iter()
        .filter(|c| **c == ErrorCode::RateLimited)
        .count();
    assert!(
        (4..=8).contains(&told),
        "told about once a second, not for each message: {told}"
    );

    // Operators see the errors in /metrics (counted by the process: at least these).
    let counted = |code: &'static str| {
        let addr = hub.addr;
        async move {
            common::metric(addr, &format!("cau_ws_errors_total{{code=\"{code}\"}}"))
                .await
                .unwrap_or(0.0)
        }
    };
    assert!(counted("rate_limited").await >= (1 + told) as f64);
    assert!(counted("malformed").await >= (12 + read) as f64);

    // The calm client was never touched.
    send(&mut calm, &ClientMessage::Leave).await;
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_limit_from_one_address_are_refused_until_one_closes() {
    let hub = hub_with("limits_conns", |c| c.max_connections_per_address = 2).await;
    let url = format!("ws://{}/ws", hub.addr);
    let first = connect(hub.addr).await;
    let _second = connect(hub.addr).await;
    match tokio_tungstenite::connect_async(&url).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 429);
            let body =
                String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).to_string();
            assert!(body.contains("too_many_connections"), "{body}");
        }
        other => panic!("a third connection is refused, got {:?}", other.map(|_| ())),
    }
    let refused = common::metric(hub.addr, "cau_http_errors_total{class=\"4xx\"}").await;
    assert!(refused >= Some(1.0), "the 429 is counted: {refused:?}");
    drop(first);
    let mut again = None;
    for _ in 0..50 {
        if let Ok((ws, _)) = tokio_tungstenite::connect_async(&url).await {
            again = Some(ws);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        again.is_some(),
        "a place freed by a closed connection is taken again"
    );
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_offers_and_names_past_their_limits_are_refused_with_their_error() {
    let hub = hub_with("limits_sizes", |c| {
        c.max_message_kb = 1;
        c.max_offer_m_lines = 3;
        c.max_name_chars = 10;
    })
    .await;
    let m = plan_meeting(&hub.hub, "province:19", &[UNIT, OTHER, THIRD]).await;

    // A name one character too long, and one with a bidirectional override: refused, closed.
    for name in ["Mười một ký", "Ab\u{202e}cd"] {
        let mut ws = connect(hub.addr).await;
        send(&mut ws, &m.join(UNIT, name)).await;
        let (codes, closed) = errors_within(&mut ws, Duration::from_secs(5)).await;
        assert_eq!(
            (codes, closed),
            (vec![ErrorCode::InvalidName], true),
            "{name}"
        );
    }
    let mut ws = joined(&hub, &m.join(UNIT, "Mười ký tự")).await;

    // An offer with four m-lines: bad_sdp naming the count; the connection stays.
    let sdp = "v=0\r\n".to_string() + &"m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n".repeat(4);
    send(&mut ws, &ClientMessage::Offer { sdp }).await;
    let error = loop {
        match recv(&mut ws).await {
            Some(ServerMessage::Error { code, message }) => break Some((code, message)),
            Some(_) => continue, // meeting_state and the like
            None => break None,
        }
    };
    match error {
        Some((code, message)) => {
            assert_eq!(code, ErrorCode::BadSdp);
            assert!(
                message.contains("4 m-lines") && message.contains("at most 3"),
                "{message}"
            );
        }
        other => panic!("expected bad_sdp, got {other:?}"),
    }

    // A chat of 1 KiB and more: too_large, closed (1009).
    let text = "x".repeat(1100);
    send(
        &mut ws,
        &ClientMessage::Chat {
            text,
            to: signaling::protocol::ChatTo::All,
        },
    )
    .await;
    let (codes, closed) = errors_within(&mut ws, Duration::from_secs(5)).await;
    assert_eq!((codes, closed), (vec![ErrorCode::TooLarge], true));
    hub.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_at_the_hubs_cap_refuses_officials_but_not_a_chair() {
    let hub = hub_with("limits_endpoints", |c| c.max_endpoints_per_session = 2).await;
    let m = plan_meeting(&hub.hub, "province:19", &[UNIT, OTHER, THIRD]).await;
    let _a = joined(&hub, &m.join(UNIT, "Một")).await;
    let _b = joined(&hub, &m.join(OTHER, "Hai")).await;
    let mut ws = connect(hub.addr).await;
    send(&mut ws, &m.join(THIRD, "Ba")).await;
    let (codes, closed) = errors_within(&mut ws, Duration::from_secs(5)).await;
    assert_eq!((codes, closed), (vec![ErrorCode::MeetingFull], true));
    let _chair = joined(&hub, &m.join_as_chair("Chủ trì")).await;
    hub.shutdown().await;
}

/// The ICE-TCP port takes connections (counted in `cau_sfu_tcp_connections`); one that sends
/// a frame longer than any datagram is closed and no longer counted; the hub's HTTP goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ice_tcp_connection_is_counted_and_closed_on_an_oversized_frame() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let hub = hub_with("ice-tcp-limits", |_| {}).await;
    let port = hub.tcp_port.expect("ICE-TCP is on by default");
    let count = || common::metric(hub.addr, "cau_sfu_tcp_connections");
    assert_eq!(count().await, Some(0.0));
    let mut tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    assert!(
        wait_for(|| async { count().await == Some(1.0) }).await,
        "the connection is counted"
    );
    tcp.write_all(&[0xff, 0xff]).await.unwrap();
    let mut rest = vec![];
    let read = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut rest)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "the hub closes it: {read:?}"
    );
    assert!(
        wait_for(|| async { count().await == Some(0.0) }).await,
        "and no longer counts it"
    );
}

/// Whether `check` holds within 5 s.
async fn wait_for<F, Fut>(check: F) -> bool
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..50 {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}
