//! `GET /metrics`: the hub's counters in Prometheus text format (version 0.0.4).
//!
//! Aggregates only — no unit, person or address — so it is served without a login, like
//! `/healthz`. The load-test tool reads it to measure packet rates and to check that nothing
//! is left behind once every endpoint has gone.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::http::AppState;

/// Reads the live heap, when the binary installed a counting allocator.
static HEAP: OnceLock<fn() -> usize> = OnceLock::new();

/// TLS handshakes that failed or did not finish in time (the process's, across listeners).
static TLS_FAILURES: AtomicU64 = AtomicU64::new(0);

/// Count a TLS handshake that failed or timed out.
pub fn count_tls_failure() {
    TLS_FAILURES.fetch_add(1, Ordering::Relaxed);
}

/// Error messages sent to websocket clients, by code (the process's, across hubs).
static WS_ERRORS: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());

/// HTTP responses with an error status: `[4xx, 5xx]`.
static HTTP_ERRORS: [AtomicU64; 2] = [AtomicU64::new(0), AtomicU64::new(0)];

/// Count an `error` message sent to a websocket client.
pub fn count_ws_error(code: crate::protocol::ErrorCode) {
    let mut counts = WS_ERRORS.lock().unwrap_or_else(|e| e.into_inner());
    *counts.entry(code.as_str()).or_default() += 1;
}

/// Count a response by its status (errors only are kept).
pub fn count_http_response(status: axum::http::StatusCode) {
    let class = match status.as_u16() {
        400..=499 => 0,
        500..=599 => 1,
        _ => return,
    };
    HTTP_ERRORS[class].fetch_add(1, Ordering::Relaxed);
}

/// Report `heap` (bytes held by the allocator now) as `cau_heap_bytes`. The `cau` binary calls
/// this at start; a hub embedded elsewhere (tests) reports no heap.
pub fn count_heap_with(heap: fn() -> usize) {
    let _ = HEAP.set(heap);
}

/// Bytes of heap held now, when the binary installed a counting allocator.
pub fn heap_bytes() -> Option<u64> {
    HEAP.get().map(|heap| heap() as u64)
}

pub async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let sfu = crate::http::media_stats(&state).await?;
    let rooms = state.hub.rooms().await;
    let participants: usize = rooms.iter().map(|r| r.participants).sum();
    let mut out = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        let _ = writeln!(out, "{name} {value}");
    };
    metric(
        "cau_rooms",
        "gauge",
        "Rooms with a live session.",
        rooms.len() as u64,
    );
    metric(
        "cau_participants",
        "gauge",
        "Participants in live sessions.",
        participants as u64,
    );
    metric(
        "cau_websockets",
        "gauge",
        "Open websocket connections.",
        state.hub.websockets() as u64,
    );
    metric(
        "cau_sfu_sessions",
        "gauge",
        "Sessions in the media plane.",
        sfu.sessions as u64,
    );
    metric(
        "cau_sfu_endpoints",
        "gauge",
        "WebRTC endpoints in the media plane.",
        sfu.endpoints as u64,
    );
    metric(
        "cau_sfu_tracks",
        "gauge",
        "Published tracks.",
        sfu.tracks as u64,
    );
    metric(
        "cau_sfu_packets_received_total",
        "counter",
        "RTP packets received from publishers.",
        sfu.packets_received,
    );
    metric(
        "cau_sfu_datagrams_dropped_total",
        "counter",
        "Datagrams dropped on arrival because the media task was behind.",
        sfu.datagrams_dropped,
    );
    metric(
        "cau_sfu_tcp_connections",
        "gauge",
        "ICE-TCP connections open.",
        sfu.tcp_connections,
    );
    metric(
        "cau_sfu_tcp_frames_dropped_total",
        "counter",
        "ICE-TCP frames dropped on the way out because their connection could not take them.",
        sfu.tcp_frames_dropped,
    );
    metric(
        "cau_sfu_tcp_connections_refused_total",
        "counter",
        "ICE-TCP connections refused because too many were open, in all or from one address.",
        sfu.tcp_connections_refused,
    );
    metric(
        "cau_sfu_packets_forwarded_total",
        "counter",
        "RTP packets written to subscribers.",
        sfu.packets_forwarded,
    );
    metric(
        "cau_sfu_red_packets_received_total",
        "counter",
        "Redundant-audio (RED) packets received from publishers.",
        sfu.red_packets_received,
    );
    metric(
        "cau_sfu_red_packets_sent_total",
        "counter",
        "Redundant-audio (RED) packets written to subscribers.",
        sfu.red_packets_sent,
    );
    metric(
        "cau_sfu_audio_packets_recovered_total",
        "counter",
        "Audio packets lost on the way in and recovered from redundant audio.",
        sfu.audio_packets_recovered,
    );
    metric(
        "cau_sfu_received_bytes_total",
        "counter",
        "Bytes of datagrams received on the media port (STUN, DTLS and SRTP).",
        sfu.bytes_received,
    );
    metric(
        "cau_sfu_sent_bytes_total",
        "counter",
        "Bytes of datagrams sent from the media port.",
        sfu.bytes_sent,
    );
    metric(
        "cau_sfu_keyframe_requests_total",
        "counter",
        "Keyframes asked of publishers (for subscribers that switch or lost video).",
        sfu.keyframe_requests,
    );
    metric(
        "cau_sfu_layer_switches_total",
        "counter",
        "Subscriber slots switched to another publisher or simulcast layer.",
        sfu.layer_switches,
    );
    histogram(
        &mut out,
        "cau_sfu_rtt_seconds",
        "Endpoints' round-trip times to the hub, observed once a second per endpoint.",
        &sfu.rtt_seconds,
    );
    histogram(
        &mut out,
        "cau_sfu_loss_ratio",
        "Fractions of endpoints' media lost on the way to the hub, observed once a second per endpoint.",
        &sfu.loss_ratio,
    );
    let _ = writeln!(
        out,
        "# HELP cau_http_errors_total HTTP responses with an error status, by class."
    );
    let _ = writeln!(out, "# TYPE cau_http_errors_total counter");
    for (class, n) in ["4xx", "5xx"].iter().zip(&HTTP_ERRORS) {
        let _ = writeln!(
            out,
            "cau_http_errors_total{{class=\"{class}\"}} {}",
            n.load(Ordering::Relaxed)
        );
    }
    let _ = writeln!(
        out,
        "# HELP cau_ws_errors_total Error messages sent to websocket clients, by code."
    );
    let _ = writeln!(out, "# TYPE cau_ws_errors_total counter");
    for (code, n) in WS_ERRORS.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        let _ = writeln!(out, "cau_ws_errors_total{{code=\"{code}\"}} {n}");
    }
    // The archive: recordings by state, the space left for it, recordings stopped early.
    let archive = crate::status::archive_state(&state.hub).await?;
    let _ = writeln!(
        out,
        "# HELP cau_recordings Recordings in the catalogue, by state."
    );
    let _ = writeln!(out, "# TYPE cau_recordings gauge");
    for (s, n) in &archive.by_state {
        let _ = writeln!(out, "cau_recordings{{state=\"{s}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "# HELP cau_recordings_stopped_total Recordings stopped before their session ended, by why."
    );
    let _ = writeln!(out, "# TYPE cau_recordings_stopped_total counter");
    let _ = writeln!(
        out,
        "cau_recordings_stopped_total{{reason=\"disk_low\"}} {}",
        archive.stopped_disk_low
    );
    let _ = writeln!(
        out,
        "cau_recordings_stopped_total{{reason=\"failed\"}} {}",
        archive.stopped_failed
    );
    let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        let _ = writeln!(out, "{name} {value}");
    };
    if let Some(disk) = archive.disk {
        if let Some(free) = disk.free {
            metric(
                "cau_archive_disk_free_bytes",
                "gauge",
                "Bytes left on the archive's disk.",
                free,
            );
        }
        metric(
            "cau_archive_disk_reserve_bytes",
            "gauge",
            "Below this space left, recording stops (--disk-reserve-mb).",
            disk.reserve,
        );
    }
    metric(
        "cau_tls_handshake_failures_total",
        "counter",
        "TLS handshakes that failed or did not finish within 10 s.",
        TLS_FAILURES.load(Ordering::Relaxed),
    );
    if let Some(heap) = heap_bytes() {
        metric(
            "cau_heap_bytes",
            "gauge",
            "Bytes of heap the hub holds now.",
            heap,
        );
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response())
}

/// Write `h` as a Prometheus histogram: cumulative `_bucket`s with `le`, then `_sum` and
/// `_count`.
fn histogram<const N: usize>(out: &mut String, name: &str, help: &str, h: &sfu::Histogram<N>) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} histogram");
    for (le, n) in h.cumulative() {
        let _ = writeln!(out, "{name}_bucket{{le=\"{le}\"}} {n}");
    }
    let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
    let _ = writeln!(out, "{name}_sum {}", h.sum);
    let _ = writeln!(out, "{name}_count {}", h.count);
}
