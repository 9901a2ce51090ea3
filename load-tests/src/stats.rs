//! What endpoints count: packets sent and received per stream inside the measurement window,
//! duplicates, damage, and one-way delay.
//!
//! The window is a span of *send* times, the same for every endpoint of the run. A sender
//! counts the packets it sent with a send time inside it; a receiver counts the distinct
//! packets it received with a send time inside it. Loss is then exact, including the tail of
//! the window and streams that never arrived at all, once every receiver has waited a grace
//! period after the window for packets in flight.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use hdrhistogram::Histogram;

use crate::payload::{StreamKey, Tag};

/// The measurement window, in microseconds of the run's clock; set once by the scenario.
#[derive(Debug, Default)]
pub struct Window {
    start_us: AtomicU64,
    end_us: AtomicU64,
}

impl Window {
    /// Not set yet: nothing is inside.
    pub fn new() -> Self {
        Window::default()
    }

    pub fn set(&self, start_us: u64, end_us: u64) {
        self.end_us.store(end_us, Ordering::Relaxed);
        self.start_us.store(start_us, Ordering::Release);
    }

    pub fn contains(&self, us: u64) -> bool {
        let start = self.start_us.load(Ordering::Acquire);
        start != 0 && us >= start && us < self.end_us.load(Ordering::Relaxed)
    }
}

/// How many packets back a receiver remembers to recognise a duplicate.
const REORDER_MEMORY: u32 = 128;

/// One received stream.
#[derive(Debug, Default, Clone)]
pub struct RxStream {
    /// Every intact packet received (window or not, duplicates excluded).
    pub received: u64,
    /// Distinct packets sent inside the window.
    pub in_window: u64,
    pub duplicates: u64,
    /// Packets that arrived later than [`REORDER_MEMORY`] packets behind the newest.
    pub very_late: u64,
    highest: Option<u32>,
    /// Bit `i` set: packet `highest - i` was received.
    seen: u128,
}

impl RxStream {
    /// Record packet `seq`; false if it was a duplicate.
    fn record(&mut self, seq: u32) -> bool {
        match self.highest {
            None => {
                self.highest = Some(seq);
                self.seen = 1;
            }
            Some(h) if seq > h => {
                let shift = seq - h;
                self.seen = if shift >= 128 { 0 } else { self.seen << shift };
                self.seen |= 1;
                self.highest = Some(seq);
            }
            Some(h) => {
                let back = h - seq;
                if back >= REORDER_MEMORY {
                    self.very_late += 1;
                } else if self.seen & (1 << back) != 0 {
                    self.duplicates += 1;
                    return false;
                } else {
                    self.seen |= 1 << back;
                }
            }
        }
        self.received += 1;
        true
    }
}

/// Everything one endpoint received.
#[derive(Debug, Default)]
pub struct Receiver {
    pub streams: HashMap<StreamKey, RxStream>,
    /// One-way delay of packets sent in the window, in microseconds, by the sender's group
    /// (see [`crate::endpoint::Groups`]).
    pub delay_us: Vec<Histogram<u64>>,
    /// Packets whose payload was not what the sender wrote.
    pub damaged: u64,
    /// Packets without a tag: a replayed clip's frames but the last packet; with synthetic
    /// media, packets that are not ours or whose head was damaged.
    pub untagged: u64,
}

/// A histogram of microseconds from 1 µs to 10 minutes, to 1 % (2 significant figures: 23 KB).
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 2).expect("valid histogram bounds")
}

impl Receiver {
    /// A packet with `tag` from a sender of group `group` arrived intact at `now_us`.
    pub fn on_packet(&mut self, tag: &Tag, group: usize, now_us: u64, window: &Window) {
        let stream = self.streams.entry(tag.stream).or_default();
        if !stream.record(tag.seq) {
            return;
        }
        if window.contains(tag.sent_us) {
            stream.in_window += 1;
            let delay = now_us.saturating_sub(tag.sent_us).max(1);
            if self.delay_us.len() <= group {
                self.delay_us.resize_with(group + 1, new_histogram);
            }
            self.delay_us[group].saturating_record(delay);
        }
    }

    /// Delays of the packets from senders of the groups `from` accepts, in microseconds.
    pub fn delays_from(&self, from: impl Fn(usize) -> bool, into: &mut Histogram<u64>) {
        for (group, h) in self.delay_us.iter().enumerate() {
            if from(group) {
                into.add(h).ok();
            }
        }
    }
}

/// Packets one endpoint sent, per stream: all of them, and those inside the window.
#[derive(Debug, Default, Clone)]
pub struct Sent {
    pub total: HashMap<StreamKey, u64>,
    pub in_window: HashMap<StreamKey, u64>,
}

impl Sent {
    pub fn on_packet(&mut self, stream: StreamKey, sent_us: u64, window: &Window) {
        *self.total.entry(stream).or_default() += 1;
        if window.contains(sent_us) {
            *self.in_window.entry(stream).or_default() += 1;
        }
    }
}

/// p50, p95, p99 and max of a histogram, in milliseconds.
#[derive(Debug, Default, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

impl Percentiles {
    pub fn of_us(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Percentiles::default();
        }
        let ms = |v: u64| v as f64 / 1000.0;
        Percentiles {
            p50: ms(h.value_at_quantile(0.50)),
            p95: ms(h.value_at_quantile(0.95)),
            p99: ms(h.value_at_quantile(0.99)),
            max: ms(h.max()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::StreamKind;

    fn tag(seq: u32, sent_us: u64) -> Tag {
        Tag {
            stream: StreamKey {
                sender: 1,
                kind: StreamKind::Audio,
            },
            seq,
            sent_us,
        }
    }

    #[test]
    fn duplicates_and_reordering_are_told_apart() {
        let mut s = RxStream::default();
        for seq in [0, 1, 3, 2, 2, 5, 3, 200, 100, 100, 10] {
            s.record(seq);
        }
        // 0 1 3 2 5 200 100: distinct and in memory; 2, 3, 100 again: duplicates;
        // 10 is 190 behind 200: too late to tell, counted as received.
        assert_eq!(s.duplicates, 3);
        assert_eq!(s.very_late, 1);
        assert_eq!(s.received, 8);
    }

    #[test]
    fn only_packets_sent_inside_the_window_count_for_loss_and_delay() {
        let w = Window::new();
        let mut r = Receiver::default();
        r.on_packet(&tag(0, 500), 0, 600, &w);
        w.set(1_000, 2_000);
        r.on_packet(&tag(1, 999), 0, 1_100, &w);
        r.on_packet(&tag(2, 1_000), 1, 1_250, &w);
        r.on_packet(&tag(3, 1_999), 0, 2_100, &w);
        r.on_packet(&tag(3, 1_999), 0, 2_100, &w);
        r.on_packet(&tag(4, 2_000), 0, 2_100, &w);
        let s = &r.streams[&tag(0, 0).stream];
        assert_eq!((s.received, s.in_window, s.duplicates), (5, 2, 1));
        // One delay from a sender of group 0, one from group 1.
        let mut all = new_histogram();
        r.delays_from(|_| true, &mut all);
        assert_eq!(all.len(), 2);
        assert!((249..=251).contains(&all.max()), "{}", all.max());
        let mut group0 = new_histogram();
        r.delays_from(|g| g == 0, &mut group0);
        assert_eq!(group0.len(), 1);
        assert!((99..=101).contains(&group0.max()));

        let mut sent = Sent::default();
        for us in [999, 1_000, 1_500, 2_000] {
            sent.on_packet(tag(0, 0).stream, us, &w);
        }
        assert_eq!(sent.total[&tag(0, 0).stream], 4);
        assert_eq!(sent.in_window[&tag(0, 0).stream], 2);
    }
}
