//! Reordering for one RTP stream: packets come out in sequence order, each gap waiting up to
//! a hold time for the packet (a retransmission, or just a late one) before it is given up as
//! lost. The stream's first packets are held for the hold time too, so that one overtaken at
//! the very start still takes its place. Sequence numbers are extended (64-bit, as str0m
//! gives them), so wrap-around never shows here.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// What the buffer releases, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Released<T> {
    Packet(u64, T),
    /// This many packets before the next one never came.
    Lost(u64),
}

/// Counts, for the recording's report.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JitterStats {
    pub released: u64,
    pub lost: u64,
    /// Arrived after their place was given up, or twice.
    pub late_or_duplicate: u64,
}

#[derive(Debug)]
pub struct Jitter<T> {
    hold: Duration,
    capacity: usize,
    next: Option<u64>,
    /// Until this passes, nothing is released: where the stream starts is not known yet.
    starting_until: Option<Instant>,
    waiting: BTreeMap<u64, (Instant, T)>,
    stats: JitterStats,
}

impl<T> Jitter<T> {
    /// A gap waits at most `hold`, and at most `capacity` packets wait behind it.
    pub fn new(hold: Duration, capacity: usize) -> Self {
        Jitter {
            hold,
            capacity: capacity.max(1),
            next: None,
            starting_until: None,
            waiting: BTreeMap::new(),
            stats: JitterStats::default(),
        }
    }

    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// A packet arrived at `now`; what can be released goes to `out`.
    pub fn push(&mut self, now: Instant, seq: u64, item: T, out: &mut Vec<Released<T>>) {
        if self.next.is_none() {
            self.starting_until = Some(now + self.hold);
        }
        let starting = self.starting_until.is_some();
        let next = *self.next.get_or_insert(seq);
        if starting && seq < next {
            // Overtaken at the start: the stream begins earlier than we thought.
            self.next = Some(seq);
        } else if seq < next || self.waiting.contains_key(&seq) {
            self.stats.late_or_duplicate += 1;
            return;
        }
        self.waiting.insert(seq, (now, item));
        self.release(now, out);
    }

    /// Release what waited long enough (call when [`Jitter::deadline`] passes).
    pub fn poll(&mut self, now: Instant, out: &mut Vec<Released<T>>) {
        self.release(now, out);
    }

    /// When the oldest waiting packet stops waiting for the gap before it (or the start's
    /// hold ends).
    pub fn deadline(&self) -> Option<Instant> {
        self.starting_until.or_else(|| {
            self.waiting
                .first_key_value()
                .map(|(_, (at, _))| *at + self.hold)
        })
    }

    /// Release everything, gaps given up (the stream ended).
    pub fn flush(&mut self, out: &mut Vec<Released<T>>) {
        self.starting_until = None;
        while let Some((seq, (_, item))) = self.waiting.pop_first() {
            self.emit(seq, item, out);
        }
    }

    fn release(&mut self, now: Instant, out: &mut Vec<Released<T>>) {
        if let Some(until) = self.starting_until {
            if now < until && self.waiting.len() <= self.capacity {
                return;
            }
            self.starting_until = None;
        }
        loop {
            let Some(next) = self.next else { return };
            if let Some((_, item)) = self.waiting.remove(&next) {
                self.emit(next, item, out);
                continue;
            }
            let Some((_, (at, _))) = self.waiting.first_key_value() else {
                return;
            };
            if now.saturating_duration_since(*at) < self.hold && self.waiting.len() <= self.capacity
            {
                return;
            }
            let (seq, (_, item)) = self.waiting.pop_first().expect("not empty");
            self.emit(seq, item, out);
        }
    }

    fn emit(&mut self, seq: u64, item: T, out: &mut Vec<Released<T>>) {
        let next = self.next.unwrap_or(seq);
        if seq > next {
            self.stats.lost += seq - next;
            out.push(Released::Lost(seq - next));
        }
        self.stats.released += 1;
        out.push(Released::Packet(seq, item));
        self.next = Some(seq + 1);
    }
}

/// Extends 32-bit RTP timestamps to 64 bits: each one is read as the nearest value to the
/// previous one (so a stream may wrap any number of times, and a reordered packet's timestamp
/// may be a little behind).
#[derive(Debug, Default, Clone, Copy)]
pub struct TimestampUnwrap {
    last: Option<i64>,
}

impl TimestampUnwrap {
    pub fn unwrap(&mut self, ts: u32) -> i64 {
        let v = match self.last {
            None => i64::from(ts),
            Some(prev) => prev + i64::from(ts.wrapping_sub(prev as u32) as i32),
        };
        self.last = Some(v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seqs(out: &[Released<char>]) -> Vec<String> {
        out.iter()
            .map(|r| match r {
                Released::Packet(s, c) => format!("{s}{c}"),
                Released::Lost(n) => format!("-{n}"),
            })
            .collect()
    }

    #[test]
    fn reordered_packets_come_out_in_order_and_gaps_wait_their_hold() {
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        let mut j = Jitter::new(Duration::from_millis(100), 50);
        let mut out = vec![];
        // The start is held for the hold time: 10 overtaken by 11 still comes first.
        j.push(ms(0), 11, 'b', &mut out);
        j.push(ms(5), 12, 'c', &mut out);
        j.push(ms(8), 10, 'a', &mut out);
        assert!(out.is_empty());
        assert_eq!(j.deadline(), Some(ms(100)));
        j.poll(ms(100), &mut out);
        assert_eq!(seqs(&out), ["10a", "11b", "12c"]);
        out.clear();
        // 13 is missing: 14 waits for it, until 100 ms after 14 arrived.
        j.push(ms(120), 14, 'e', &mut out);
        j.poll(ms(219), &mut out);
        assert!(out.is_empty());
        assert_eq!(j.deadline(), Some(ms(220)));
        j.poll(ms(220), &mut out);
        assert_eq!(seqs(&out), ["-1", "14e"]);
        out.clear();
        // 13 arrives after all: too late, dropped; a duplicate likewise.
        j.push(ms(230), 13, 'd', &mut out);
        j.push(ms(231), 14, 'e', &mut out);
        assert!(out.is_empty());
        assert_eq!(
            j.stats(),
            JitterStats {
                released: 4,
                lost: 1,
                late_or_duplicate: 2
            }
        );
    }

    #[test]
    fn a_full_buffer_gives_up_a_gap_at_once_and_flush_releases_everything() {
        let t0 = Instant::now();
        let mut j = Jitter::new(Duration::from_secs(10), 2);
        let mut out = vec![];
        j.push(t0, 1, 'a', &mut out);
        j.poll(t0 + Duration::from_secs(10), &mut out);
        let t0 = t0 + Duration::from_secs(10);
        j.push(t0, 3, 'c', &mut out);
        j.push(t0, 4, 'd', &mut out);
        assert_eq!(seqs(&out), ["1a"]);
        j.push(t0, 6, 'f', &mut out);
        assert_eq!(seqs(&out), ["1a", "-1", "3c", "4d"]);
        out.clear();
        j.flush(&mut out);
        assert_eq!(seqs(&out), ["-1", "6f"]);
    }

    #[test]
    fn timestamps_unwrap_across_wraps_and_small_steps_back() {
        let mut u = TimestampUnwrap::default();
        assert_eq!(u.unwrap(u32::MAX - 1000), i64::from(u32::MAX - 1000));
        assert_eq!(u.unwrap(2000), i64::from(u32::MAX) + 2001);
        assert_eq!(
            u.unwrap(u32::MAX - 10),
            i64::from(u32::MAX) - 10,
            "a late packet"
        );
        assert_eq!(u.unwrap(5000), i64::from(u32::MAX) + 5001);
        // A second wrap.
        let mut v = u.unwrap(5000);
        let mut ts = 5000u32;
        for _ in 0..5 {
            ts = ts.wrapping_add(1_000_000_000);
            v = u.unwrap(ts);
        }
        assert_eq!(v, i64::from(u32::MAX) + 5001 + 5_000_000_000);
    }
}
