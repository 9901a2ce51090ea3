//! Keyframe-request throttling. A keyframe costs the publisher a burst of bits on its uplink
//! (often a weak rural link); when many subscribers ask at once (a join, a loss burst), one
//! request per interval reaches the publisher.

use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Throttle {
    interval: Duration,
    last: Option<Instant>,
}

impl Throttle {
    pub fn new(interval: Duration) -> Self {
        Throttle {
            interval,
            last: None,
        }
    }

    /// True (and the interval restarts) if a request may go out at `now`.
    pub fn allow(&mut self, now: Instant) -> bool {
        match self.last {
            Some(last) if now.saturating_duration_since(last) < self.interval => false,
            _ => {
                self.last = Some(now);
                true
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_request_per_interval() {
        let t0 = Instant::now();
        let mut t = Throttle::new(Duration::from_millis(500));
        assert!(t.allow(t0));
        assert!(!t.allow(t0 + Duration::from_millis(1)));
        assert!(!t.allow(t0 + Duration::from_millis(499)));
        assert!(t.allow(t0 + Duration::from_millis(500)));
        assert!(!t.allow(t0 + Duration::from_millis(900)));
    }
}
