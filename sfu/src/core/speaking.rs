//! Voice activity of one audio track from the RFC 6464 audio-level header extension, with
//! hysteresis so the speaking indicator does not flicker between words.
//!
//! Each packet's level (dBov, 0 loudest, -127 silence) counts as "voiced" above a threshold.
//! A smoothed activity value follows those votes with a time constant; speaking starts above
//! `on` and ends below `off`, and never ends sooner than `min_hold` after it started. Packets
//! stop entirely during DTX silence, so [`VoiceActivity::poll`] ends speaking after `silence`
//! without packets.

use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
pub struct VoiceConfig {
    /// Level (dBov) at or above which a packet counts as voiced.
    pub threshold_dbov: i8,
    /// Smoothing time constant.
    pub time_constant: Duration,
    pub on: f32,
    pub off: f32,
    pub min_hold: Duration,
    pub silence: Duration,
}

impl Default for VoiceConfig {
    fn default() -> Self {
        VoiceConfig {
            threshold_dbov: -50,
            time_constant: Duration::from_millis(300),
            on: 0.6,
            off: 0.2,
            min_hold: Duration::from_millis(800),
            silence: Duration::from_millis(600),
        }
    }
}

#[derive(Debug, Clone)]
pub struct VoiceActivity {
    config: VoiceConfig,
    activity: f32,
    last_packet: Option<Instant>,
    speaking_since: Option<Instant>,
}

impl VoiceActivity {
    pub fn new(config: VoiceConfig) -> Self {
        VoiceActivity {
            config,
            activity: 0.0,
            last_packet: None,
            speaking_since: None,
        }
    }

    pub fn is_speaking(&self) -> bool {
        self.speaking_since.is_some()
    }

    /// When the current speech started, if speaking.
    pub fn speaking_since(&self) -> Option<Instant> {
        self.speaking_since
    }

    /// Smoothed voice activity, 0 (silence) to 1 (voice all the time).
    pub fn activity(&self) -> f32 {
        self.activity
    }

    /// Feed one packet's level (`None`: the packet carried no level). Returns the new speaking
    /// state if it changed.
    pub fn on_level(&mut self, now: Instant, level_dbov: Option<i8>) -> Option<bool> {
        let voiced = level_dbov.is_some_and(|l| l >= self.config.threshold_dbov);
        let dt = self
            .last_packet
            .map_or(Duration::from_millis(20), |t| {
                now.saturating_duration_since(t)
            })
            .min(self.config.time_constant);
        self.last_packet = Some(now);
        let alpha = dt.as_secs_f32() / self.config.time_constant.as_secs_f32();
        let target = if voiced { 1.0 } else { 0.0 };
        self.activity += alpha * (target - self.activity);
        self.decide(now)
    }

    /// Time passing without packets (DTX). Returns the new speaking state if it changed.
    pub fn poll(&mut self, now: Instant) -> Option<bool> {
        let quiet = self
            .last_packet
            .is_none_or(|t| now.saturating_duration_since(t) >= self.config.silence);
        if quiet && self.is_speaking() {
            self.activity = 0.0;
            return self.decide(now);
        }
        None
    }

    fn decide(&mut self, now: Instant) -> Option<bool> {
        match self.speaking_since {
            None if self.activity >= self.config.on => {
                self.speaking_since = Some(now);
                Some(true)
            }
            Some(since)
                if self.activity <= self.config.off
                    && now.saturating_duration_since(since) >= self.config.min_hold =>
            {
                self.speaking_since = None;
                Some(false)
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds 20 ms packets of `level` for `ms` milliseconds; returns the changes seen.
    fn feed(va: &mut VoiceActivity, t: &mut Instant, level: i8, ms: u64) -> Vec<bool> {
        let mut changes = vec![];
        for _ in 0..ms / 20 {
            *t += Duration::from_millis(20);
            changes.extend(va.on_level(*t, Some(level)));
        }
        changes
    }

    #[test]
    fn speech_turns_on_quickly_and_off_after_a_pause() {
        let mut t = Instant::now();
        let mut va = VoiceActivity::new(VoiceConfig::default());
        assert_eq!(feed(&mut va, &mut t, -90, 1000), Vec::<bool>::new());
        assert_eq!(feed(&mut va, &mut t, -20, 400), vec![true]);
        assert_eq!(feed(&mut va, &mut t, -20, 2000), Vec::<bool>::new());
        assert_eq!(feed(&mut va, &mut t, -90, 1000), vec![false]);
    }

    #[test]
    fn short_gaps_between_words_do_not_flap() {
        let mut t = Instant::now();
        let mut va = VoiceActivity::new(VoiceConfig::default());
        let mut changes = vec![];
        for _ in 0..10 {
            changes.extend(feed(&mut va, &mut t, -25, 300));
            changes.extend(feed(&mut va, &mut t, -100, 100));
        }
        assert_eq!(changes, vec![true]);
    }

    #[test]
    fn a_click_does_not_count_as_speech() {
        let mut t = Instant::now();
        let mut va = VoiceActivity::new(VoiceConfig::default());
        let mut changes = feed(&mut va, &mut t, -10, 60);
        changes.extend(feed(&mut va, &mut t, -100, 500));
        assert_eq!(changes, Vec::<bool>::new());
    }

    #[test]
    fn dtx_silence_ends_speaking() {
        let mut t = Instant::now();
        let mut va = VoiceActivity::new(VoiceConfig::default());
        assert_eq!(feed(&mut va, &mut t, -20, 1000), vec![true]);
        assert_eq!(va.poll(t + Duration::from_millis(100)), None);
        assert_eq!(va.poll(t + Duration::from_millis(700)), Some(false));
        assert!(!va.is_speaking());
    }
}
