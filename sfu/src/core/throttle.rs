//! Keyframe-request throttling. A keyframe costs the publisher a burst of bits on its uplink
//! (often a weak rural link); when many subscribers ask at once (a join, a loss burst), one
//! request per interval reaches the publisher. A request refused is not forgotten: it goes
//! out when the interval ends — the keyframe just asked for may be the one a congested link
//! lost — unless a keyframe arrived in the meantime and answered it.

use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct Throttle {
    interval: Duration,
    last: Option<Instant>,
    /// A request was refused and no keyframe has answered it yet.
    deferred: bool,
}

impl Throttle {
    pub fn new(interval: Duration) -> Self {
        Throttle {
            interval,
            last: None,
            deferred: false,
        }
    }

    fn open(&self, now: Instant) -> bool {
        self.last
            .is_none_or(|last| now.saturating_duration_since(last) >= self.interval)
    }

    /// True (and the interval restarts) if a request may go out at `now`; otherwise the
    /// request is deferred to the end of the interval (see [`Throttle::due`]).
    pub fn allow(&mut self, now: Instant) -> bool {
        if self.open(now) {
            self.last = Some(now);
            self.deferred = false;
            true
        } else {
            self.deferred = true;
            false
        }
    }

    /// A keyframe arrived: it answers any request deferred until now.
    pub fn answered(&mut self) {
        self.deferred = false;
    }

    /// True (and the interval restarts) if a deferred request is to go out at `now`.
    pub fn due(&mut self, now: Instant) -> bool {
        if self.deferred && self.open(now) {
            self.last = Some(now);
            self.deferred = false;
            true
        } else {
            false
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

    #[test]
    fn a_refused_request_goes_out_once_when_the_interval_ends() {
        let t0 = Instant::now();
        let mut t = Throttle::new(Duration::from_millis(500));
        assert!(!t.due(t0), "nothing deferred");
        assert!(t.allow(t0));
        assert!(!t.allow(t0 + Duration::from_millis(100)));
        assert!(!t.allow(t0 + Duration::from_millis(200)));
        assert!(!t.due(t0 + Duration::from_millis(499)));
        assert!(
            t.due(t0 + Duration::from_millis(500)),
            "the two refused, sent as one"
        );
        assert!(!t.due(t0 + Duration::from_millis(1200)), "and only once");
        assert!(
            !t.allow(t0 + Duration::from_millis(900)),
            "the deferred one restarted the interval"
        );
    }

    #[test]
    fn a_keyframe_answers_a_deferred_request() {
        let t0 = Instant::now();
        let mut t = Throttle::new(Duration::from_millis(500));
        assert!(t.allow(t0));
        assert!(!t.allow(t0 + Duration::from_millis(100)));
        t.answered();
        assert!(!t.due(t0 + Duration::from_millis(600)));
        assert!(t.allow(t0 + Duration::from_millis(600)));
    }
}
