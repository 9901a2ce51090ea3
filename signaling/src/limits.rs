//! What one client may send or open, each limit configurable (`--max-…` flags, the
//! configuration file; docs/operations.md, "Limits"), and the two mechanisms that are not a
//! simple comparison: a token bucket for messages per second and the count of websockets per
//! client address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::protocol::{MAX_MESSAGE_BYTES, MAX_NAME_CHARS, MAX_SDP_MESSAGE_BYTES};

/// The limits on what a client controls. The defaults are the protocol's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest websocket message but `offer` and `answer`, in bytes.
    pub message_bytes: usize,
    /// Largest `offer` or `answer` message, in bytes.
    pub sdp_bytes: usize,
    /// Messages a second one connection may send, on average (twice that at once).
    pub messages_per_second: u32,
    /// Websockets open at once from one address (0: no limit). Communes behind one NAT share
    /// an address: keep it well above the units that sit behind one.
    pub connections_per_address: u32,
    /// m-lines in a client's offer (the web client sends 3: audio, camera, screen).
    pub offer_m_lines: usize,
    /// Endpoints in one session, whatever the meeting's own cap (chairs are let in above it).
    pub endpoints_per_session: usize,
    /// Longest display name, in characters.
    pub name_chars: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            message_bytes: MAX_MESSAGE_BYTES,
            sdp_bytes: MAX_SDP_MESSAGE_BYTES,
            messages_per_second: 20,
            connections_per_address: 64,
            offer_m_lines: 8,
            endpoints_per_session: 500,
            name_chars: MAX_NAME_CHARS,
        }
    }
}

impl Limits {
    /// What the websocket transport reads before the protocol's own size checks answer with
    /// `too_large`; anything larger is refused unread and ends the connection.
    pub fn transport_bytes(&self) -> usize {
        2 * self.sdp_bytes.max(self.message_bytes)
    }
}

/// A token bucket: `rate` messages a second on average, up to twice that at once.
#[derive(Debug, Clone)]
pub struct RateLimit {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl RateLimit {
    pub fn new(rate: u32, now: Instant) -> Self {
        let rate = f64::from(rate.max(1));
        RateLimit {
            rate,
            burst: 2.0 * rate,
            tokens: 2.0 * rate,
            last: now,
        }
    }

    /// Whether one more message may pass at `now` (taking its token if so).
    pub fn allow(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// How long a connection may keep exceeding its rate before it is closed.
pub const FLOOD_GRACE: Duration = Duration::from_secs(5);

/// Websockets open per client address, shared by every connection of the hub.
#[derive(Debug, Clone, Default)]
pub struct AddressCounts(Arc<Mutex<HashMap<IpAddr, u32>>>);

impl AddressCounts {
    /// Count one more connection from `ip`, unless `limit` (non-zero) are open already; the
    /// guard counts it out when dropped.
    pub fn open(&self, ip: IpAddr, limit: u32) -> Option<AddressGuard> {
        let mut counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let n = counts.entry(ip).or_insert(0);
        if limit != 0 && *n >= limit {
            return None;
        }
        *n += 1;
        Some(AddressGuard {
            counts: self.clone(),
            ip,
        })
    }

    /// Connections open from `ip` now.
    pub fn open_from(&self, ip: IpAddr) -> u32 {
        let counts = self.0.lock().unwrap_or_else(|e| e.into_inner());
        counts.get(&ip).copied().unwrap_or(0)
    }
}

/// One counted connection (see [`AddressCounts::open`]).
#[derive(Debug)]
pub struct AddressGuard {
    counts: AddressCounts,
    ip: IpAddr,
}

impl Drop for AddressGuard {
    fn drop(&mut self) {
        let mut counts = self.counts.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = counts.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_lets_a_burst_through_then_the_rate() {
        let t0 = Instant::now();
        let mut r = RateLimit::new(10, t0);
        let burst = (0..100).filter(|_| r.allow(t0)).count();
        assert_eq!(burst, 20, "twice the rate at once");
        assert!(!r.allow(t0 + Duration::from_millis(50)));
        assert!(
            r.allow(t0 + Duration::from_millis(110)),
            "one more every 100 ms"
        );
        assert!(!r.allow(t0 + Duration::from_millis(120)));
        // A steady 10 a second passes whole.
        let mut r = RateLimit::new(10, t0);
        let steady = (1..=300)
            .filter(|i| r.allow(t0 + Duration::from_millis(100 * i)))
            .count();
        assert_eq!(steady, 300);
        // After a quiet while the bucket is full again, not fuller.
        let later = t0 + Duration::from_secs(3600);
        assert_eq!((0..100).filter(|_| r.allow(later)).count(), 20);
    }

    #[test]
    fn connections_are_counted_per_address_until_their_guard_goes() {
        let counts = AddressCounts::default();
        let a: IpAddr = "198.18.0.5".parse().unwrap();
        let b: IpAddr = "198.18.0.6".parse().unwrap();
        let one = counts.open(a, 2).unwrap();
        let two = counts.open(a, 2).unwrap();
        assert!(counts.open(a, 2).is_none(), "a third from the same address");
        let other = counts.open(b, 2);
        assert!(other.is_some(), "another address is counted apart");
        drop(one);
        let three = counts.open(a, 2);
        assert!(three.is_some());
        drop((two, three, other));
        assert_eq!(counts.open_from(a), 0);
        assert_eq!(counts.0.lock().unwrap().len(), 0, "nothing left behind");
        // 0: no limit.
        let many: Vec<_> = (0..1000).filter_map(|_| counts.open(a, 0)).collect();
        assert_eq!(many.len(), 1000);
    }
}
