//! ICE over TCP: the passive side (RFC 6544) for endpoints whose UDP is blocked.
//!
//! A listener on each candidate address accepts the browsers' connections. Each connection
//! carries RFC 4571 frames — a 16-bit big-endian length, then that many bytes of what would
//! have been one UDP datagram (STUN, DTLS, RTP or RTCP). Its reader puts the frames into the
//! run loop's queue as [`Datagram`]s marked TCP, so the engine treats them as datagrams from
//! a peer address of their own; its writer takes what the engine sends to that address
//! ([`Transmit`]s with [`Protocol::Tcp`]) and frames it. str0m does ICE, DTLS and SRTP over
//! them as over UDP.
//!
//! Real-time media does not wait: when a connection's send queue is full (its link is slower
//! than what is sent to it), the newest frame is dropped, as a congested UDP path would drop
//! it, and congestion control sees the loss.
//!
//! Limits on what a client controls: connections at once (in all and per address), the frame
//! size, and a connection silent for [`TCP_IDLE`] is closed (ICE consent checks come every few
//! seconds on a live one).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use str0m::net::{Protocol, Transmit};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

use super::{Datagram, MAX_DATAGRAM, enqueue};

/// TCP connections at once, in all.
pub const MAX_TCP_CONNECTIONS: usize = 2048;
/// TCP connections at once from one address (units behind one NAT share one; a browser opens
/// one per candidate pair it tries).
pub const MAX_TCP_CONNECTIONS_PER_ADDRESS: usize = 256;
/// A connection that sends no frame for this long is closed.
pub const TCP_IDLE: Duration = Duration::from_secs(30);
/// Frames queued for one connection's writer before new ones are dropped.
const TCP_SEND_QUEUE: usize = 512;
/// Refused connections are logged at most once in this long (with how many there were), so
/// that a flood of them cannot flood the log.
const REFUSAL_LOG_INTERVAL: Duration = Duration::from_secs(10);

/// A connection's ends: (our address, the peer's).
type Ends = (SocketAddr, SocketAddr);

/// The open connections, by their ends: where the engine's TCP transmits go.
#[derive(Debug, Default)]
pub(super) struct TcpConnections {
    writers: Mutex<HashMap<Ends, mpsc::Sender<Vec<u8>>>>,
    /// Frames dropped because a connection's queue was full.
    pub(super) dropped: AtomicU64,
    /// Connections refused because too many were open.
    pub(super) refused: AtomicU64,
    /// When a refusal was last logged, and how many came since.
    refusal_log: Mutex<(Option<std::time::Instant>, u64)>,
}

impl TcpConnections {
    /// Queue `t` on its connection; false if there is none (it closed) or its queue is full.
    pub(super) fn send(&self, t: &Transmit) -> bool {
        let writers = self.writers.lock().unwrap_or_else(|e| e.into_inner());
        let Some(writer) = writers.get(&(t.source, t.destination)) else {
            return false;
        };
        match writer.try_send(t.contents.to_vec()) {
            Ok(()) => true,
            Err(_) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Connections open now, in all and from `ip`.
    fn counts(&self, ip: IpAddr) -> (usize, usize) {
        let writers = self.writers.lock().unwrap_or_else(|e| e.into_inner());
        let from = writers.keys().filter(|(_, peer)| peer.ip() == ip).count();
        (writers.len(), from)
    }

    fn open(&self, local: SocketAddr, peer: SocketAddr, writer: mpsc::Sender<Vec<u8>>) {
        let mut writers = self.writers.lock().unwrap_or_else(|e| e.into_inner());
        writers.insert((local, peer), writer);
    }

    fn close(&self, local: SocketAddr, peer: SocketAddr) {
        let mut writers = self.writers.lock().unwrap_or_else(|e| e.into_inner());
        writers.remove(&(local, peer));
    }

    /// Count a refused connection; log it unless one was logged in the last
    /// [`REFUSAL_LOG_INTERVAL`] (the next line then says how many came between).
    fn refuse(&self, peer: SocketAddr, all: usize, from_peer: usize) {
        self.refused.fetch_add(1, Ordering::Relaxed);
        let mut log = self.refusal_log.lock().unwrap_or_else(|e| e.into_inner());
        let (last, unlogged) = &mut *log;
        let now = std::time::Instant::now();
        if last.is_some_and(|at| now.duration_since(at) < REFUSAL_LOG_INTERVAL) {
            *unlogged += 1;
            return;
        }
        tracing::warn!(
            %peer,
            all,
            from_peer,
            refused_unlogged = *unlogged,
            "ICE-TCP connection refused: too many open"
        );
        *last = Some(now);
        *unlogged = 0;
    }

    /// Connections open now.
    pub(super) fn len(&self) -> usize {
        self.writers.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// Accept connections on `listener` (bound on our candidate address `local`) for ever.
pub(super) async fn accept(
    listener: TcpListener,
    local: SocketAddr,
    queue: mpsc::Sender<Datagram>,
    connections: Arc<TcpConnections>,
    dropped: Arc<AtomicU64>,
) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, mostly: wait a little rather than spin.
                tracing::warn!(error = %e, "ICE-TCP accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let (all, from_peer) = connections.counts(peer.ip());
        if all >= MAX_TCP_CONNECTIONS || from_peer >= MAX_TCP_CONNECTIONS_PER_ADDRESS {
            connections.refuse(peer, all, from_peer);
            continue; // `stream` dropped: closed
        }
        let _ = stream.set_nodelay(true);
        let (tx, rx) = mpsc::channel(TCP_SEND_QUEUE);
        // Registered before a frame is read: the engine's answers to the first one have
        // somewhere to go.
        connections.open(local, peer, tx);
        tokio::spawn(serve(
            stream,
            local,
            peer,
            rx,
            queue.clone(),
            connections.clone(),
            dropped.clone(),
        ));
    }
}

/// One connection: frames in go to the run loop, frames out come from `outgoing`.
async fn serve(
    stream: TcpStream,
    local: SocketAddr,
    peer: SocketAddr,
    mut outgoing: mpsc::Receiver<Vec<u8>>,
    queue: mpsc::Sender<Datagram>,
    connections: Arc<TcpConnections>,
    dropped: Arc<AtomicU64>,
) {
    let (mut reader, mut writer) = stream.into_split();
    let read = async {
        let mut frame = vec![0u8; MAX_DATAGRAM];
        let mut warned = None;
        loop {
            let len = match tokio::time::timeout(TCP_IDLE, reader.read_u16()).await {
                Ok(Ok(len)) => usize::from(len),
                Ok(Err(_)) => return "closed by the peer",
                Err(_) => return "idle",
            };
            if len > MAX_DATAGRAM {
                return "frame too large";
            }
            match tokio::time::timeout(TCP_IDLE, reader.read_exact(&mut frame[..len])).await {
                Ok(Ok(_)) => {}
                Ok(Err(_)) => return "closed by the peer",
                Err(_) => return "idle",
            }
            if len == 0 {
                continue;
            }
            let dg = Datagram {
                data: frame[..len].to_vec(),
                source: peer,
                destination: local,
                proto: Protocol::Tcp,
            };
            if !enqueue(&queue, dg, &dropped, &mut warned) {
                return "media plane stopped";
            }
        }
    };
    let write = async {
        let mut framed = Vec::with_capacity(MAX_DATAGRAM + 2);
        while let Some(data) = outgoing.recv().await {
            let Ok(len) = u16::try_from(data.len()) else {
                continue;
            };
            framed.clear();
            framed.extend_from_slice(&len.to_be_bytes());
            framed.extend_from_slice(&data);
            // What else is waiting goes in the same write.
            while framed.len() < 16 * 1024 {
                let Ok(more) = outgoing.try_recv() else { break };
                let Ok(len) = u16::try_from(more.len()) else {
                    continue;
                };
                framed.extend_from_slice(&len.to_be_bytes());
                framed.extend_from_slice(&more);
            }
            if writer.write_all(&framed).await.is_err() {
                return "write failed";
            }
        }
        "media plane stopped"
    };
    let why = tokio::select! {
        why = read => why,
        why = write => why,
    };
    connections.close(local, peer);
    tracing::debug!(%peer, %local, why, "ICE-TCP connection closed");
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connection's frames reach the queue as TCP datagrams from the peer, in order; what is
    /// sent to the peer arrives framed; an oversized length closes the connection and frees
    /// its place.
    #[tokio::test]
    async fn frames_in_and_out_and_a_bad_length_closes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let local = listener.local_addr().unwrap();
        let (tx, mut rx) = mpsc::channel(16);
        let connections = Arc::new(TcpConnections::default());
        let dropped = Arc::new(AtomicU64::new(0));
        tokio::spawn(accept(
            listener,
            local,
            tx,
            connections.clone(),
            dropped.clone(),
        ));

        let mut client = TcpStream::connect(local).await.unwrap();
        let peer = client.local_addr().unwrap();
        // Two frames and an empty one, in one write and split across writes.
        let mut bytes = vec![0, 3, b'a', b'b', b'c', 0, 0, 0, 2, b'd'];
        client.write_all(&bytes).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        bytes = vec![b'e'];
        client.write_all(&bytes).await.unwrap();
        for want in [&b"abc"[..], b"de"] {
            let dg = rx.recv().await.unwrap();
            assert_eq!(dg.data, want);
            assert_eq!((dg.source, dg.destination), (peer, local));
            assert_eq!(dg.proto, Protocol::Tcp);
        }

        let out = |contents: &[u8]| Transmit {
            proto: Protocol::Tcp,
            source: local,
            destination: peer,
            contents: contents.to_vec().into(),
        };
        assert!(connections.send(&out(b"hello")));
        assert!(connections.send(&out(b"!")));
        let mut got = [0u8; 10];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(&got, b"\x00\x05hello\x00\x01!");
        assert_eq!(connections.len(), 1);

        // Longer than any datagram: closed, and its place freed.
        client.write_all(&[0xff, 0xff]).await.unwrap();
        let mut rest = vec![];
        let n = client.read_to_end(&mut rest).await.unwrap_or(0);
        assert_eq!(n, 0, "the hub closes the connection");
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(connections.len(), 0);
        assert!(!connections.send(&out(b"late")));
        assert_eq!(dropped.load(Ordering::Relaxed), 0);
    }

    /// Past [`MAX_TCP_CONNECTIONS_PER_ADDRESS`] from one address a connection is closed at
    /// once and counted; the ones open stay open, and a place freed is taken again.
    #[tokio::test]
    async fn connections_past_the_limit_from_one_address_are_refused() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let local = listener.local_addr().unwrap();
        let (tx, _rx) = mpsc::channel(16);
        let connections = Arc::new(TcpConnections::default());
        tokio::spawn(accept(
            listener,
            local,
            tx,
            connections.clone(),
            Arc::new(AtomicU64::new(0)),
        ));
        // Waits until `open` connections are registered.
        let until_open = |open: usize, what: &'static str| {
            let connections = connections.clone();
            async move {
                let wait = async {
                    while connections.len() != open {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                };
                tokio::time::timeout(Duration::from_secs(10), wait)
                    .await
                    .expect(what);
            }
        };
        let mut open = vec![];
        for _ in 0..MAX_TCP_CONNECTIONS_PER_ADDRESS {
            open.push(TcpStream::connect(local).await.unwrap());
        }
        until_open(
            MAX_TCP_CONNECTIONS_PER_ADDRESS,
            "every connection within the limit is accepted",
        )
        .await;

        // Two more: each closed unread, nothing registered.
        for n in 1..=2 {
            let mut extra = TcpStream::connect(local).await.unwrap();
            let mut rest = vec![];
            let read = tokio::time::timeout(Duration::from_secs(5), extra.read_to_end(&mut rest))
                .await
                .expect("a refused connection is closed at once");
            assert_eq!(read.unwrap_or(0), 0);
            assert_eq!(connections.refused.load(Ordering::Relaxed), n);
        }
        assert_eq!(connections.len(), MAX_TCP_CONNECTIONS_PER_ADDRESS);
        // The first refusal was logged, the second (within the interval) only counted.
        let (logged_at, unlogged) = *connections.refusal_log.lock().unwrap();
        assert!(logged_at.is_some());
        assert_eq!(unlogged, 1);

        // One closed by its client frees its place, and the next connection takes it.
        drop(open.pop());
        until_open(
            MAX_TCP_CONNECTIONS_PER_ADDRESS - 1,
            "a closed connection frees its place",
        )
        .await;
        open.push(TcpStream::connect(local).await.unwrap());
        until_open(
            MAX_TCP_CONNECTIONS_PER_ADDRESS,
            "the freed place is taken again",
        )
        .await;
        assert_eq!(connections.refused.load(Ordering::Relaxed), 2);
    }
}
