//! `GET /metrics`: the hub's counters in Prometheus text format (version 0.0.4).
//!
//! Aggregates only — no unit, person or address — so it is served without a login, like
//! `/healthz`. The load-test tool reads it to measure packet rates and to check that nothing
//! is left behind once every endpoint has gone.

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

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

/// Report `heap` (bytes held by the allocator now) as `cau_heap_bytes`. The `cau` binary calls
/// this at start; a hub embedded elsewhere (tests) reports no heap.
pub fn count_heap_with(heap: fn() -> usize) {
    let _ = HEAP.set(heap);
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
    // The archive: recordings by state, the space left for it, recordings stopped early.
    let by_state = state
        .hub
        .db()
        .call(|c| crate::archive::count_by_state(c))
        .await?;
    let _ = writeln!(
        out,
        "# HELP cau_recordings Recordings in the catalogue, by state."
    );
    let _ = writeln!(out, "# TYPE cau_recordings gauge");
    for s in [
        crate::archive::RECORDING,
        crate::archive::FINALISING,
        crate::archive::READY,
        crate::archive::INTERRUPTED,
        crate::archive::DAMAGED,
        crate::archive::DELETED,
    ] {
        let n = by_state.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
        let _ = writeln!(out, "cau_recordings{{state=\"{s}\"}} {n}");
    }
    let (disk_low, failed) = state.hub.recordings_stopped();
    let _ = writeln!(
        out,
        "# HELP cau_recordings_stopped_total Recordings stopped before their session ended, by why."
    );
    let _ = writeln!(out, "# TYPE cau_recordings_stopped_total counter");
    let _ = writeln!(
        out,
        "cau_recordings_stopped_total{{reason=\"disk_low\"}} {disk_low}"
    );
    let _ = writeln!(
        out,
        "cau_recordings_stopped_total{{reason=\"failed\"}} {failed}"
    );
    let mut metric = |name: &str, kind: &str, help: &str, value: u64| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        let _ = writeln!(out, "{name} {value}");
    };
    if let Some(root) = state.hub.recordings_dir() {
        let root = root.to_path_buf();
        let free = tokio::task::spawn_blocking(move || {
            root.ancestors().find_map(recorder::disk::available_bytes)
        })
        .await
        .ok()
        .flatten();
        if let Some(free) = free {
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
            state.hub.disk_reserve(),
        );
    }
    metric(
        "cau_tls_handshake_failures_total",
        "counter",
        "TLS handshakes that failed or did not finish within 10 s.",
        TLS_FAILURES.load(Ordering::Relaxed),
    );
    if let Some(heap) = HEAP.get() {
        metric(
            "cau_heap_bytes",
            "gauge",
            "Bytes of heap the hub holds now.",
            heap() as u64,
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
