//! An impaired network link, in process (the kernel here has no netem): loss, delay, jitter,
//! reordering, a bandwidth cap with a bounded queue, and an outage. Sans-IO: datagrams go in
//! with `now`, come out when [`Link::poll`] says they have crossed; the endpoint sleeps until
//! [`Link::next_release`]. Seeded, so a run can be repeated.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// What is wrong with a link (one direction of it).
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize)]
pub struct Impairment {
    /// Probability that a datagram is lost (0–1).
    pub loss: f64,
    /// Fixed one-way delay added to every datagram.
    #[serde(serialize_with = "crate::report::secs")]
    pub delay: Duration,
    /// Extra delay, uniform between zero and this (datagrams can overtake each other).
    #[serde(serialize_with = "crate::report::secs")]
    pub jitter: Duration,
    /// Probability that a datagram is held back behind the ones after it.
    pub reorder: f64,
    /// Throughput cap; datagrams queue behind it.
    pub bandwidth_kbps: Option<u32>,
    /// Longest a datagram waits in the cap's queue before it is dropped (drop-tail).
    #[serde(serialize_with = "crate::report::secs")]
    pub queue: Duration,
    /// No datagram crosses from `start` (after the link is made) for `length`.
    pub outage: Option<Outage>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Outage {
    #[serde(serialize_with = "crate::report::secs")]
    pub start: Duration,
    #[serde(serialize_with = "crate::report::secs")]
    pub length: Duration,
}

/// How long a datagram held back by `reorder` waits beyond its normal delay.
const REORDER_HOLD: Duration = Duration::from_millis(15);

/// What a link did to the datagrams offered to it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LinkCounters {
    pub offered: u64,
    pub delivered: u64,
    pub lost: u64,
    pub queue_drops: u64,
    pub outage_drops: u64,
    pub reordered: u64,
}

impl LinkCounters {
    /// Add another link's counters to these.
    pub fn add(&mut self, o: &LinkCounters) {
        self.offered += o.offered;
        self.delivered += o.delivered;
        self.lost += o.lost;
        self.queue_drops += o.queue_drops;
        self.outage_drops += o.outage_drops;
        self.reordered += o.reordered;
    }
}

#[derive(Debug)]
struct InFlight<T> {
    release: Instant,
    /// Order of arrival, to keep equal release times in order.
    n: u64,
    item: T,
}

impl<T> PartialEq for InFlight<T> {
    fn eq(&self, other: &Self) -> bool {
        (self.release, self.n) == (other.release, other.n)
    }
}
impl<T> Eq for InFlight<T> {}
impl<T> PartialOrd for InFlight<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for InFlight<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.release, self.n).cmp(&(other.release, other.n))
    }
}

/// One direction of an impaired link carrying items of type `T` (datagrams).
#[derive(Debug)]
pub struct Link<T> {
    config: Impairment,
    rng: StdRng,
    created: Instant,
    in_flight: BinaryHeap<Reverse<InFlight<T>>>,
    /// When the bandwidth cap has sent everything queued so far.
    busy_until: Instant,
    n: u64,
    pub counters: LinkCounters,
}

impl<T> Link<T> {
    pub fn new(config: Impairment, seed: u64, now: Instant) -> Self {
        Link {
            config,
            rng: StdRng::seed_from_u64(seed),
            created: now,
            in_flight: BinaryHeap::new(),
            busy_until: now,
            n: 0,
            counters: LinkCounters::default(),
        }
    }

    fn in_outage(&self, now: Instant) -> bool {
        self.config.outage.is_some_and(|o| {
            let since = now.saturating_duration_since(self.created);
            since >= o.start && since < o.start + o.length
        })
    }

    /// A datagram of `len` bytes enters the link at `now`.
    pub fn send(&mut self, now: Instant, item: T, len: usize) {
        self.counters.offered += 1;
        if self.in_outage(now) {
            self.counters.outage_drops += 1;
            return;
        }
        if self.config.loss > 0.0 && self.rng.random_bool(self.config.loss.min(1.0)) {
            self.counters.lost += 1;
            return;
        }
        let mut depart = now;
        if let Some(kbps) = self.config.bandwidth_kbps {
            let start = self.busy_until.max(now);
            if start.saturating_duration_since(now) > self.config.queue {
                self.counters.queue_drops += 1;
                return;
            }
            let serialise =
                Duration::from_secs_f64(len as f64 * 8.0 / (f64::from(kbps.max(1)) * 1000.0));
            self.busy_until = start + serialise;
            depart = self.busy_until;
        }
        let mut delay = self.config.delay;
        if !self.config.jitter.is_zero() {
            delay += self.config.jitter.mul_f64(self.rng.random::<f64>());
        }
        if self.config.reorder > 0.0 && self.rng.random_bool(self.config.reorder.min(1.0)) {
            delay += REORDER_HOLD.max(self.config.jitter);
            self.counters.reordered += 1;
        }
        self.n += 1;
        self.in_flight.push(Reverse(InFlight {
            release: depart + delay,
            n: self.n,
            item,
        }));
    }

    /// When the next datagram comes out, if any is in flight.
    pub fn next_release(&self) -> Option<Instant> {
        self.in_flight.peek().map(|Reverse(f)| f.release)
    }

    /// A datagram that has crossed by `now`.
    pub fn poll(&mut self, now: Instant) -> Option<T> {
        if self.next_release()? > now {
            return None;
        }
        let Reverse(f) = self.in_flight.pop()?;
        self.counters.delivered += 1;
        Some(f.item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Push `n` datagrams of `len` bytes every `gap`, collect what comes out and when.
    fn run(
        config: Impairment,
        n: u32,
        gap: Duration,
        len: usize,
    ) -> (Vec<(u32, Duration)>, LinkCounters) {
        let t0 = Instant::now();
        let mut link = Link::new(config, 7, t0);
        let mut out = vec![];
        let mut now = t0;
        let end = t0 + gap * n + Duration::from_secs(5);
        let mut next = 0;
        while now < end {
            while next < n && t0 + gap * next <= now {
                link.send(now, next, len);
                next += 1;
            }
            while let Some(i) = link.poll(now) {
                out.push((i, now - t0));
            }
            now += Duration::from_micros(500);
        }
        (out, link.counters)
    }

    #[test]
    fn a_clean_link_delivers_everything_in_order_after_the_delay() {
        let config = Impairment {
            delay: Duration::from_millis(30),
            ..Impairment::default()
        };
        let (out, c) = run(config, 100, Duration::from_millis(10), 100);
        assert_eq!(out.len(), 100);
        assert!(out.windows(2).all(|w| w[0].0 < w[1].0));
        assert_eq!(out[0].1, Duration::from_millis(30));
        assert_eq!((c.offered, c.delivered, c.lost), (100, 100, 0));
    }

    #[test]
    fn loss_is_about_what_was_asked_and_repeatable() {
        let config = Impairment {
            loss: 0.1,
            ..Impairment::default()
        };
        let (a, ca) = run(config, 5_000, Duration::from_millis(1), 100);
        let (b, _) = run(config, 5_000, Duration::from_millis(1), 100);
        assert_eq!(a, b, "same seed, same losses");
        assert!((400..600).contains(&ca.lost), "{} lost", ca.lost);
        assert_eq!(ca.delivered + ca.lost, 5_000);
    }

    #[test]
    fn jitter_and_reordering_let_datagrams_overtake() {
        let config = Impairment {
            jitter: Duration::from_millis(20),
            reorder: 0.05,
            ..Impairment::default()
        };
        let (out, c) = run(config, 1_000, Duration::from_millis(5), 100);
        assert_eq!(out.len(), 1_000);
        let overtaken = out.windows(2).filter(|w| w[0].0 > w[1].0).count();
        assert!(overtaken > 50, "{overtaken}");
        assert!(c.reordered > 20);
        assert!(
            out.iter()
                .all(|(i, at)| *at <= Duration::from_millis(5) * *i + Duration::from_millis(41))
        );
    }

    #[test]
    fn a_bandwidth_cap_paces_and_drops_what_overflows_its_queue() {
        // 1 Mbit/s offered into a 400 kbit/s cap with a 100 ms queue.
        let config = Impairment {
            bandwidth_kbps: Some(400),
            queue: Duration::from_millis(100),
            ..Impairment::default()
        };
        let (out, c) = run(config, 1_000, Duration::from_millis(1), 125);
        let delivered_kbps = out.len() as f64 * 125.0 * 8.0 / 1_000.0 / 1.0;
        assert!(
            (380.0..=420.0 + 50.0).contains(&delivered_kbps),
            "{delivered_kbps}"
        );
        assert!(c.queue_drops > 500);
        // In order, and never queued for much longer than the queue allows.
        assert!(out.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(out.iter().all(
            |(i, at)| *at <= Duration::from_millis(u64::from(*i)) + Duration::from_millis(103)
        ));
    }

    #[test]
    fn nothing_crosses_during_an_outage() {
        let config = Impairment {
            outage: Some(Outage {
                start: Duration::from_secs(1),
                length: Duration::from_secs(2),
            }),
            ..Impairment::default()
        };
        let (out, c) = run(config, 400, Duration::from_millis(10), 100);
        assert_eq!(c.outage_drops, 200);
        assert!(out.iter().all(|(i, _)| *i < 100 || *i >= 300));
    }
}
