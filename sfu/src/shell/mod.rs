//! The tokio shell around the sans-IO core: owns the UDP sockets, the ICE-TCP listeners
//! ([`tcp`]) and the clock, and feeds the
//! [`Engine`] (every endpoint's str0m instance, the session cores, routing and negotiation),
//! which applies the core's decisions.
//!
//! # The run loop
//!
//! One task runs everything, one input at a time (str0m's `chat.rs` model):
//!
//! 1. wait for the first of: a command from the signaling side, a datagram, the earliest timeout;
//! 2. feed that one input to the engine, which hands it to the endpoint it concerns (datagrams
//!    are demultiplexed with `Rtc::accepts`, then remembered by source address);
//! 3. drive the engine: it drains every touched endpoint's output until it returns a timeout —
//!    transmits go to the outbox, events go to the core, and the core's decisions are written
//!    into other endpoints (which are then drained in turn) — then reaps endpoints that closed,
//!    failed or panicked, and renegotiates those whose set of received tracks changed;
//! 4. send the outbox on the sockets (or, for ICE-TCP, to the connection's writer).

mod api;
mod endpoint;
mod engine;
mod tcp;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use str0m::net::Protocol;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;

use api::Command;
pub use api::{
    CloseReason, DEFAULT_ICE_GRACE, DEFAULT_OFFER_TIMEOUT, EndpointEvent, LinkStats,
    RecordedPacket, SfuConfig, SfuError, SfuHandle, SfuStats, TrackInfo,
};
pub use api::{Histogram, LOSS_BUCKETS, RTT_BUCKETS};
pub use engine::Engine;
pub use tcp::{MAX_TCP_CONNECTIONS, MAX_TCP_CONNECTIONS_PER_ADDRESS, TCP_IDLE};

/// Largest datagram we read.
const MAX_DATAGRAM: usize = 2000;
/// Datagrams taken from the queue in one turn of the run loop, at most.
const DATAGRAM_BATCH: usize = 64;
/// Datagrams queued between the socket readers and the run loop before we drop.
const DATAGRAM_QUEUE: usize = 4096;

/// A datagram, or an ICE-TCP frame, for the run loop.
struct Datagram {
    data: Vec<u8>,
    source: SocketAddr,
    destination: SocketAddr,
    proto: Protocol,
}

/// The shell's clock: the runtime's, so a paused test runtime pauses the media plane too.
fn now() -> Instant {
    tokio::time::Instant::now().into_std()
}

/// Run a parser over client-supplied text. A panic in it (str0m's SDP or candidate parser
/// meeting input nobody foresaw) must not take the media task, and every meeting, down.
pub(crate) fn parse_untrusted<T, E: std::fmt::Display>(
    what: &str,
    f: impl FnOnce() -> Result<T, E>,
) -> Result<T, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => {
            tracing::error!(what, "parser panicked on client input; input refused");
            Err(format!("{what} could not be parsed"))
        }
    }
}

/// Bind the sockets and start the media task. Returns the handle the signaling side uses.
pub async fn start(config: SfuConfig) -> std::io::Result<SfuHandle> {
    if config.candidate_ips.is_empty() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "no address for ICE candidates",
        ));
    }
    let mut port = config.udp_port;
    let mut sockets = HashMap::new();
    for ip in &config.candidate_ips {
        let socket = UdpSocket::bind(SocketAddr::new(*ip, port)).await?;
        let local = socket.local_addr()?;
        port = local.port();
        sockets.insert(local, Arc::new(socket));
    }
    let mut listeners = vec![];
    if let Some(mut tcp_port) = config.tcp_port {
        for ip in &config.candidate_ips {
            let listener = TcpListener::bind(SocketAddr::new(*ip, tcp_port)).await?;
            let local = listener.local_addr()?;
            tcp_port = local.port();
            listeners.push((local, listener));
        }
    }
    let tcp_port = listeners.first().map(|(local, _)| local.port());
    let (dg_tx, dg_rx) = mpsc::channel(DATAGRAM_QUEUE);
    let dropped = Arc::new(AtomicU64::new(0));
    for (local, socket) in &sockets {
        tokio::spawn(read_socket(
            socket.clone(),
            *local,
            dg_tx.clone(),
            dropped.clone(),
        ));
    }
    let tcp = Arc::new(tcp::TcpConnections::default());
    let mut engine = Engine::new(config, sockets.keys().copied().collect(), now());
    engine.offer_tcp(listeners.iter().map(|(local, _)| *local).collect());
    for (local, listener) in listeners {
        tokio::spawn(tcp::accept(
            listener,
            local,
            dg_tx.clone(),
            tcp.clone(),
            dropped.clone(),
        ));
    }
    let (tx, rx) = mpsc::unbounded_channel();
    let shell = Shell {
        engine,
        sockets,
        tcp,
        dropped,
    };
    tokio::spawn(shell.run(rx, dg_rx));
    tracing::info!(udp_port = port, tcp_port, "media plane started");
    Ok(SfuHandle {
        tx,
        udp_port: port,
        tcp_port,
    })
}

/// Put `dg` in the run loop's queue. When the queue is full (the media task is behind) it is
/// dropped and counted in `dropped`, with a warning at most once a second (kept in `warned`),
/// so an overload does not become a flood of log lines too. False once the loop has stopped.
fn enqueue(
    queue: &mpsc::Sender<Datagram>,
    dg: Datagram,
    dropped: &AtomicU64,
    warned: &mut Option<Instant>,
) -> bool {
    match queue.try_send(dg) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            let total = dropped.fetch_add(1, Ordering::Relaxed) + 1;
            let now = now();
            if warned.is_none_or(|at| now >= at + DROP_WARNING_EVERY) {
                *warned = Some(now);
                tracing::warn!(
                    dropped_total = total,
                    "media loop overloaded: datagrams dropped"
                );
            }
            true
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}

/// How often, at most, a socket reader warns that datagrams are being dropped.
const DROP_WARNING_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Read one socket into the run loop's queue ([`enqueue`]).
async fn read_socket(
    socket: Arc<UdpSocket>,
    local: SocketAddr,
    out: mpsc::Sender<Datagram>,
    dropped: Arc<AtomicU64>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    let mut warned: Option<Instant> = None;
    loop {
        match socket.recv_from(&mut buf).await {
            Ok((n, source)) => {
                let dg = Datagram {
                    data: buf[..n].to_vec(),
                    source,
                    destination: local,
                    proto: Protocol::Udp,
                };
                if !enqueue(&out, dg, &dropped, &mut warned) {
                    return;
                }
            }
            // ICMP port unreachable from a vanished peer surfaces here on Linux: not fatal.
            Err(e) => tracing::debug!(error = %e, "udp receive error"),
        }
    }
}

/// The media task: the engine, the sockets and ICE-TCP connections it sends on, and the
/// readers' count of datagrams dropped because the task was behind.
struct Shell {
    engine: Engine,
    sockets: HashMap<SocketAddr, Arc<UdpSocket>>,
    tcp: Arc<tcp::TcpConnections>,
    dropped: Arc<AtomicU64>,
}

impl Shell {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut datagrams: mpsc::Receiver<Datagram>,
    ) {
        loop {
            let deadline = self.engine.next_deadline();
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(cmd) => self.handle_command(now(), cmd),
                    None => break,
                },
                Some(dg) = datagrams.recv() => {
                    let now = now();
                    self.receive(now, dg);
                    // Whatever else has arrived goes in before the drive, so each subscriber
                    // releases the packets of many publishers in one pass (the engine drains
                    // the receiving endpoint of each datagram at once).
                    for _ in 1..DATAGRAM_BATCH {
                        let Ok(dg) = datagrams.try_recv() else { break };
                        self.receive(now, dg);
                    }
                }
                _ = tokio::time::sleep_until(deadline.into()) => self.engine.handle_timeout(now()),
            }
            self.engine.drive(now());
            self.send();
        }
        tracing::info!("media plane stopped");
    }

    fn receive(&mut self, now: Instant, dg: Datagram) {
        match dg.proto {
            Protocol::Tcp => self
                .engine
                .handle_tcp_frame(now, dg.source, dg.destination, &dg.data),
            _ => self
                .engine
                .handle_datagram(now, dg.source, dg.destination, &dg.data),
        }
    }

    fn handle_command(&mut self, now: Instant, cmd: Command) {
        let engine = &mut self.engine;
        match cmd {
            Command::Join {
                session,
                endpoint,
                offer,
                events,
                reply,
            } => {
                let _ = reply.send(engine.join(now, session, endpoint, &offer, events));
            }
            Command::Answer {
                endpoint,
                answer,
                reply,
            } => {
                let _ = reply.send(engine.answer(now, endpoint, &answer));
            }
            Command::Candidate {
                endpoint,
                candidate,
            } => engine.candidate(endpoint, &candidate),
            Command::Close { endpoint } => engine.close(endpoint),
            Command::RestartIce { endpoint } => engine.restart_ice(endpoint),
            Command::Policy { session, policy } => engine.set_policy(now, session, policy),
            Command::Receive { endpoint, prefs } => engine.set_receive(now, endpoint, prefs),
            Command::Record { session, recording } => engine.set_recording(now, session, recording),
            Command::RecorderKeyframe {
                session,
                endpoint,
                source,
            } => engine.recorder_keyframe(now, session, endpoint, source),
            #[cfg(test)]
            Command::InjectPanic { endpoint } => engine.inject_panic(endpoint),
            Command::LinkStats { reply } => {
                let _ = reply.send(engine.link_stats());
            }
            Command::Stats { reply } => {
                let _ = reply.send(SfuStats {
                    datagrams_dropped: self.dropped.load(Ordering::Relaxed),
                    tcp_connections: self.tcp.len() as u64,
                    tcp_frames_dropped: self.tcp.dropped.load(Ordering::Relaxed),
                    tcp_connections_refused: self.tcp.refused.load(Ordering::Relaxed),
                    ..engine.stats()
                });
            }
        }
    }

    /// Send the engine's outbox, each datagram from the socket of its source address, each
    /// ICE-TCP frame on its connection.
    fn send(&mut self) {
        for t in self.engine.transmits() {
            if t.proto == Protocol::Tcp {
                // A closed connection or a full queue: dropped, as on a lossy path.
                self.tcp.send(&t);
            } else if let Some(socket) = self.sockets.get(&t.source)
                && let Err(e) = socket.try_send_to(&t.contents, t.destination)
            {
                tracing::debug!(error = %e, "udp send failed; packet dropped");
            }
        }
    }
}

/// Address candidates default to: the given one, or the machine's outbound address.
pub fn default_candidate_ip(listen: IpAddr) -> IpAddr {
    if !listen.is_unspecified() {
        return listen;
    }
    // Connecting a UDP socket sends nothing; it only asks the kernel which source address
    // it would use for that destination (TEST-NET-2, never reached).
    std::net::UdpSocket::bind("0.0.0.0:0")
        .and_then(|s| {
            s.connect("198.51.100.1:9")?;
            s.local_addr()
        })
        .map(|a| a.ip())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
}
