//! The forwarding path, measured (criterion): `cargo bench -p sfu`.
//!
//! One publisher's VP8 video fanned out to 1, 10, 100 and 250 subscribers in one session,
//! through the hub's real path — the [`Engine`] with every endpoint's str0m instance, on a
//! simulated network of str0m clients that connected with real ICE, DTLS and SRTP
//! ([`sfu::testkit`]). Only the hub's work is timed; the datagrams it would put on the
//! socket are built (SRTP-protected) but not sent, so no syscall is counted.
//!
//! - `fanout/N`: per incoming packet, everything the media task does for it: SRTP unprotect,
//!   the core's decision for each subscriber, the write into each subscriber's stream, and
//!   the timeout pass that releases the subscribers' packets as SRTP-protected datagrams —
//!   the same calls, in the same order, as the shell's run loop. Divided by N: ns per
//!   forwarded packet.
//! - `receive/N`: the first half alone: SRTP unprotect, RTP parsing and the forwarding
//!   decision, with the N writes into the subscribers' send queues.
//! - `meeting/N`: `fanout/N` again, but every subscriber also publishes its microphone, as
//!   the web client does (silent): each holds its receive slots (5 audio, 11 video) and the
//!   hub tracks N + 1 publishers' voice activity — a meeting of N + 1 where one speaks.
//!
//! Every subscriber holds the default receive slots; in `fanout` and `receive` they publish
//! nothing (one receive-only m-line each). At the end a table gives each figure as the
//! mean over every timed packet.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, Throughput};
use sfu::testkit::{HUB_ADDR, SimNet};
use sfu::{SessionId, SfuConfig};
use str0m::media::MediaKind;

const FANOUTS: [usize; 4] = [1, 10, 100, 250];
/// A video packet as a browser sends at ~1 Mbit/s: near the 1200-byte MTU budget.
const PAYLOAD: usize = 1_100;
/// Packets fed between two pumps of the simulated network, one per simulated millisecond:
/// the network is pumped (untimed) in between so ICE consent and RTCP keep flowing.
const CHUNK: u64 = 500;

/// Datagrams from a client to the hub: (source address, SRTP bytes).
type Datagrams = [(SocketAddr, Vec<u8>)];

/// What the subscribers publish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Nothing: they only receive the publisher.
    Viewers,
    /// Their microphone, as every participant of a meeting does (silent here).
    Meeting,
}

/// One publisher and `subscribers` subscribers, connected, every subscriber receiving the
/// publisher's video.
struct Fanout {
    net: SimNet,
    publisher: usize,
    subscribers: usize,
    seq: u64,
}

/// A VP8 payload: descriptor (S=1 on a frame's first packet), a key or delta frame tag.
fn vp8(key: bool) -> Vec<u8> {
    let mut p = vec![0x10, if key { 0x00 } else { 0x01 }, 0x00, 0x9d, 0x01, 0x2a];
    p.resize(PAYLOAD, 0x5a);
    p
}

impl Fanout {
    fn new(subscribers: usize, shape: Shape) -> Self {
        // The benchmark pushes a packet per simulated microsecond or so: no bandwidth estimate
        // would carry that, and what is measured is forwarding, not congestion control.
        let mut config = SfuConfig::default();
        config.core.follow_estimate = false;
        let mut net = SimNet::new(config);
        let session = SessionId(1);
        let publisher = net.join(session, &[MediaKind::Audio, MediaKind::Video]);
        for _ in 0..subscribers {
            match shape {
                Shape::Viewers => net.join_viewer(session),
                Shape::Meeting => net.join(session, &[MediaKind::Audio]),
            };
        }
        let step = Duration::from_millis(10);
        let connected = net.run_until(step, Duration::from_secs(60), |n| {
            n.clients.iter().all(|c| c.connected)
        });
        assert!(connected, "every client connects");
        let mut f = Fanout {
            net,
            publisher,
            subscribers,
            seq: 1,
        };
        // Keyframes until every subscriber's video m-line is open and receiving.
        for _ in 0..2_000 {
            let everyone = (0..f.net.clients.len())
                .filter(|i| *i != publisher)
                .all(|i| f.net.clients[i].received_total() > 0);
            if everyone {
                return f;
            }
            let datagrams = f.packets(1, true);
            f.feed_untimed(&datagrams);
        }
        panic!("video did not reach every subscriber");
    }

    /// The next `n` video packets from the publisher, as datagrams to the hub.
    fn packets(&mut self, n: u64, key: bool) -> Vec<(SocketAddr, Vec<u8>)> {
        let mut out = Vec::with_capacity(n as usize);
        for _ in 0..n {
            let seq = self.seq;
            self.seq += 1;
            // 90 kHz clock, a frame every 33 ms, one packet per frame (marker set).
            let ts = (seq as u32).wrapping_mul(3_000);
            out.extend(
                self.net
                    .write(self.publisher, MediaKind::Video, seq, ts, vp8(key), true),
            );
        }
        out
    }

    /// Deliver datagrams to the hub and let the network settle (all untimed).
    fn feed_untimed(&mut self, datagrams: &Datagrams) {
        for (from, data) in datagrams {
            self.net
                .engine
                .handle_datagram(self.net.now, *from, HUB_ADDR, data);
        }
        self.net.advance(Duration::from_millis(5));
    }

    /// The whole path for each datagram, as the shell's run loop takes it; returns the time.
    fn forward(&mut self, datagrams: &Datagrams) -> Duration {
        let engine = &mut self.net.engine;
        let mut now = self.net.now;
        let start = Instant::now();
        for (from, data) in datagrams {
            now += Duration::from_millis(1);
            engine.handle_datagram(now, *from, HUB_ADDR, data);
            engine.drive(now);
            engine.handle_timeout(now);
            engine.drive(now);
            for t in engine.transmits() {
                black_box(t);
            }
        }
        let took = start.elapsed();
        self.net.now = now;
        took
    }

    /// SRTP unprotect, parsing, the decision and the writes into the subscribers' queues
    /// alone; the queues are then emptied untimed.
    fn receive(&mut self, datagrams: &Datagrams) -> Duration {
        let mut took = Duration::ZERO;
        for (from, data) in datagrams {
            self.net.now += Duration::from_millis(1);
            let now = self.net.now;
            let engine = &mut self.net.engine;
            let start = Instant::now();
            engine.handle_datagram(now, *from, HUB_ADDR, data);
            took += start.elapsed();
            engine.drive(now);
            engine.handle_timeout(now);
            engine.drive(now);
            engine.transmits().for_each(drop);
        }
        took
    }

    /// Run `iters` packets through `path` in chunks, pumping the network between chunks.
    fn measure(&mut self, iters: u64, path: fn(&mut Fanout, &Datagrams) -> Duration) -> Duration {
        let mut total = Duration::ZERO;
        let mut left = iters;
        while left > 0 {
            let n = left.min(CHUNK);
            left -= n;
            let datagrams = self.packets(n, false);
            total += path(self, &datagrams);
            // What the subscribers would have answered (receiver reports, consent) flows
            // now, untimed; they saw no packets, so they ask for none again.
            self.net.advance(Duration::ZERO);
        }
        total
    }
}

/// A benchmark (`fanout`, `receive`, `meeting`) at a number of subscribers.
type BenchKey = (&'static str, usize);

/// Each benchmark's timed total: (packets, time).
static TOTALS: Mutex<BTreeMap<BenchKey, (u64, Duration)>> = Mutex::new(BTreeMap::new());

fn record(path: &'static str, n: usize, iters: u64, took: Duration) {
    let mut totals = TOTALS.lock().unwrap_or_else(|p| p.into_inner());
    let t = totals.entry((path, n)).or_default();
    t.0 += iters;
    t.1 += took;
}

/// Set up the session of `n` subscribers (before criterion times anything: its warm-up
/// would otherwise count the handshakes).
fn session(n: usize, shape: Shape) -> Fanout {
    let setup = Instant::now();
    let f = Fanout::new(n, shape);
    eprintln!(
        "{shape:?} of {n}: connected and receiving in {:.1} s (setup, untimed)",
        setup.elapsed().as_secs_f64()
    );
    f
}

/// Benchmark `path` over the session `f` as `name/n`, `elements` forwarded per packet.
fn bench(
    c: &mut Criterion,
    name: &'static str,
    f: &mut Fanout,
    elements: usize,
    path: fn(&mut Fanout, &Datagrams) -> Duration,
) {
    let n = f.subscribers;
    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(elements as u64));
    group.bench_function(BenchmarkId::from_parameter(n), |b| {
        b.iter_custom(|iters| {
            let took = f.measure(iters, path);
            record(name, n, iters, took);
            took
        })
    });
    group.finish();
    let stats = f.net.engine.stats();
    assert_eq!(
        stats.endpoints,
        n + 1,
        "nobody dropped out during the benchmark"
    );
}

fn benches(c: &mut Criterion) {
    for n in FANOUTS {
        let mut viewers = session(n, Shape::Viewers);
        bench(c, "fanout", &mut viewers, n, Fanout::forward);
        bench(c, "receive", &mut viewers, 1, Fanout::receive);
        drop(viewers);
        let mut meeting = session(n, Shape::Meeting);
        bench(c, "meeting", &mut meeting, n, Fanout::forward);
    }
}

fn print_table() {
    let totals = TOTALS.lock().unwrap_or_else(|p| p.into_inner());
    if totals.is_empty() {
        return;
    }
    // ns per incoming packet over every timed packet (warm-up included): close to
    // criterion's estimate, which is the authority (its interval is printed above).
    let mean = |name: &'static str, n: usize| {
        totals
            .get(&(name, n))
            .map(|(iters, took)| took.as_nanos() as f64 / (*iters).max(1) as f64)
    };
    println!("\nforwarding, ns (mean over every timed packet)");
    println!(
        "{:>12} {:>16} {:>16} {:>16} {:>16}",
        "subscribers", "fanout/packet", "per forwarded", "receive/packet", "meeting: per fwd"
    );
    for n in FANOUTS {
        let fan = mean("fanout", n);
        let rx = mean("receive", n);
        let meeting = mean("meeting", n);
        let show = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0}"));
        println!(
            "{n:>12} {:>16} {:>16} {:>16} {:>16}",
            show(fan),
            show(fan.map(|f| f / n as f64)),
            show(rx),
            show(meeting.map(|m| m / n as f64))
        );
    }
}

fn main() {
    // Defaults for these slow iterations; the command line (`--measurement-time`, …) wins.
    let mut c = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args();
    benches(&mut c);
    c.final_summary();
    print_table();
}
