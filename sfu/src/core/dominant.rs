//! The session's dominant speaker: who is shown as "the speaker" and gets the speaker slot.
//!
//! Built on each publisher's speaking state (itself smoothed, see [`super::speaking`]), with
//! one more hysteresis: the dominant speaker keeps the place while it speaks, however loud an
//! interruption; someone else takes over only after speaking for `takeover` while the
//! dominant speaker is quiet. The place is kept through silence (the last speaker stays
//! shown) and freed only when that endpoint leaves.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::ids::EndpointId;

#[derive(Debug, Clone)]
pub struct DominantSpeaker {
    takeover: Duration,
    current: Option<EndpointId>,
}

impl DominantSpeaker {
    pub fn new(takeover: Duration) -> Self {
        DominantSpeaker {
            takeover,
            current: None,
        }
    }

    pub fn current(&self) -> Option<EndpointId> {
        self.current
    }

    /// Re-evaluate with who speaks now and since when; returns the new dominant speaker if it
    /// changed.
    pub fn update(
        &mut self,
        now: Instant,
        speaking: &BTreeMap<EndpointId, Instant>,
    ) -> Option<Option<EndpointId>> {
        if let Some(c) = self.current
            && speaking.contains_key(&c)
        {
            return None;
        }
        // The longest current speech wins; the first ever speaker needs no wait.
        let challenger = speaking
            .iter()
            .filter(|(e, _)| Some(**e) != self.current)
            .min_by_key(|(e, since)| (**since, **e))
            .filter(|(_, since)| {
                self.current.is_none() || now.saturating_duration_since(**since) >= self.takeover
            })
            .map(|(e, _)| *e)?;
        self.current = Some(challenger);
        Some(self.current)
    }

    /// `endpoint` left: if it was dominant, nobody is until someone speaks.
    pub fn remove(&mut self, endpoint: EndpointId) -> Option<Option<EndpointId>> {
        if self.current == Some(endpoint) {
            self.current = None;
            return Some(None);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAKEOVER: Duration = Duration::from_millis(1000);

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn the_first_speaker_is_dominant_at_once_and_stays_through_silence() {
        let t0 = Instant::now();
        let mut d = DominantSpeaker::new(TAKEOVER);
        let a = EndpointId(1);
        assert_eq!(d.update(t0, &[(a, t0)].into()), Some(Some(a)));
        assert_eq!(d.update(at(t0, 5000), &BTreeMap::new()), None);
        assert_eq!(d.current(), Some(a));
    }

    #[test]
    fn an_interruption_does_not_take_over_while_the_speaker_goes_on() {
        let t0 = Instant::now();
        let mut d = DominantSpeaker::new(TAKEOVER);
        let (a, b) = (EndpointId(1), EndpointId(2));
        d.update(t0, &[(a, t0)].into());
        let both = [(a, t0), (b, at(t0, 100))].into();
        assert_eq!(d.update(at(t0, 5000), &both), None);
        assert_eq!(d.current(), Some(a));
    }

    #[test]
    fn another_takes_over_only_after_speaking_long_enough_in_the_silence() {
        let t0 = Instant::now();
        let mut d = DominantSpeaker::new(TAKEOVER);
        let (a, b) = (EndpointId(1), EndpointId(2));
        d.update(t0, &[(a, t0)].into());
        let b_speaks = [(b, at(t0, 2000))].into();
        assert_eq!(d.update(at(t0, 2500), &b_speaks), None, "a short remark");
        assert_eq!(d.update(at(t0, 3000), &b_speaks), Some(Some(b)));
    }

    #[test]
    fn leaving_frees_the_place() {
        let t0 = Instant::now();
        let mut d = DominantSpeaker::new(TAKEOVER);
        let a = EndpointId(1);
        d.update(t0, &[(a, t0)].into());
        assert_eq!(d.remove(EndpointId(9)), None);
        assert_eq!(d.remove(a), Some(None));
    }
}
