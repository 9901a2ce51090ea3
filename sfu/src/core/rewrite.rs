//! Sequence-number and timestamp rewriting for one subscription (one published track as seen
//! by one subscriber).
//!
//! A subscriber must see one continuous RTP stream on its m-line whatever happens upstream:
//! the publisher restarting its encoder (a new SSRC, a new random sequence and timestamp base),
//! or — later — the forwarder switching simulcast layers. Each run of packets from one source is
//! an *epoch*; at the start of an epoch the offsets are chosen so that the first outgoing
//! sequence number follows the last one sent and the timestamp advances by the wall-clock time
//! that passed. Within an epoch the offsets are constant, so reordering and loss upstream are
//! passed through unchanged (the subscriber's NACKs then name the right packets).
//!
//! Video epochs only start on a keyframe: a decoder cannot use anything before one. VP8's own
//! frame numbering (picture ID, TL0PICIDX) is rewritten the same way: a receiver's frame
//! buffer drops a frame whose picture ID it has seen, so a slot that splices another encoder's
//! frames in must continue the numbering it had sent.

use std::time::Instant;

use super::codec::Vp8Ids;

/// Why a packet was not forwarded to this subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropReason {
    /// Video for a subscriber (or a new source) that has not yet seen a keyframe.
    WaitingForKeyframe,
    /// A late packet from before the current epoch started (reordered across a switch).
    BeforeEpoch,
    /// A straggler from the source the current epoch replaced.
    StaleSource,
}

/// The header fields of an incoming packet that the rewriter reads.
#[derive(Debug, Clone, Copy)]
pub struct SourcePacket {
    pub ssrc: u32,
    /// Extended (roll-over free) sequence number, as str0m reports it.
    pub seq: u64,
    pub ts: u32,
    pub keyframe_start: bool,
    /// VP8 frame numbering, kept continuous as sequence numbers are.
    pub vp8: Option<Vp8Ids>,
}

/// Rewritten sequence number (extended) and timestamp for the outgoing packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewritten {
    pub seq: u64,
    pub ts: u32,
    /// True on the first packet of a new epoch.
    pub epoch_start: bool,
    /// The packet before this one (its sequence number − 1) belongs to the same epoch, so a
    /// copy of it sent along (redundant audio) means the same to the subscriber.
    pub continues: bool,
    /// The VP8 frame numbering to write, when the packet carries one.
    pub vp8: Option<Vp8Out>,
}

/// Rewritten VP8 descriptor fields (the picture ID in the packet's own width).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vp8Out {
    pub picture_id: Option<u16>,
    pub tl0_pic_idx: Option<u8>,
}

#[derive(Debug, Clone, Copy)]
struct Epoch {
    ssrc: u32,
    first_in_seq: u64,
    seq_offset: u64,
    ts_offset: u32,
    /// Added to picture IDs (mod 2^15) and TL0PICIDX (mod 2^8) of this source.
    pid_offset: u16,
    tl0_offset: u8,
}

/// Picture IDs count modulo 2^15 (the 7-bit form is the low bits of the same count).
const PID_MOD: u16 = 0x8000;

/// Rewriting state of one subscription.
#[derive(Debug, Clone)]
pub struct Rewriter {
    clock_rate: u32,
    video: bool,
    epoch: Option<Epoch>,
    /// SSRC of the source the current epoch replaced; its stragglers are dropped.
    retired_ssrc: Option<u32>,
    /// Highest outgoing sequence number sent, with its timestamp and the time it was sent.
    last_out: Option<(u64, u32, Instant)>,
    /// The newest picture ID and TL0PICIDX sent (the next epoch continues after them).
    last_pid: Option<u16>,
    last_tl0: Option<u8>,
    /// The next packet accepted starts a new epoch, even from the current source.
    restart: bool,
}

/// The first outgoing sequence number. Small, so the SRTP roll-over counter starts at 0.
const FIRST_SEQ: u64 = 1;

impl Rewriter {
    pub fn new(clock_rate: u32, video: bool) -> Self {
        Rewriter {
            clock_rate,
            video,
            epoch: None,
            retired_ssrc: None,
            last_out: None,
            last_pid: None,
            last_tl0: None,
            restart: false,
        }
    }

    /// The caller switches this output to another source on purpose (a receive slot now
    /// carries another publisher or layer, or resumes one it had paused): the next packet
    /// accepted (a keyframe, for video) starts a new epoch, whatever its SSRC — including the
    /// current one, whose packets skipped while paused must not show as a gap.
    pub fn switch_source(&mut self) {
        self.retired_ssrc = None;
        self.restart = true;
    }

    pub fn rewrite(&mut self, now: Instant, pkt: SourcePacket) -> Result<Rewritten, DropReason> {
        let mut epoch_start = false;
        let epoch = match self.epoch {
            Some(e) if e.ssrc == pkt.ssrc && !self.restart => e,
            _ => {
                if self.retired_ssrc == Some(pkt.ssrc) {
                    return Err(DropReason::StaleSource);
                }
                if self.video && !pkt.keyframe_start {
                    return Err(DropReason::WaitingForKeyframe);
                }
                epoch_start = true;
                let e = self.start_epoch(now, pkt);
                self.retired_ssrc = self.epoch.map(|old| old.ssrc).filter(|s| *s != pkt.ssrc);
                self.epoch = Some(e);
                self.restart = false;
                e
            }
        };
        if pkt.seq < epoch.first_in_seq {
            return Err(DropReason::BeforeEpoch);
        }
        let seq = pkt.seq.wrapping_add(epoch.seq_offset);
        let ts = pkt.ts.wrapping_add(epoch.ts_offset);
        let newest = self.last_out.is_none_or(|(last, _, _)| seq > last);
        if newest {
            self.last_out = Some((seq, ts, now));
        }
        let vp8 = pkt.vp8.map(|ids| {
            let picture_id = ids.picture_id.map(|(pid, long)| {
                let out = (pid.wrapping_add(epoch.pid_offset)) % PID_MOD;
                if newest {
                    self.last_pid = Some(out);
                }
                if long { out } else { out & 0x7f }
            });
            let tl0_pic_idx = ids.tl0_pic_idx.map(|t| {
                let out = t.wrapping_add(epoch.tl0_offset);
                if newest {
                    self.last_tl0 = Some(out);
                }
                out
            });
            Vp8Out {
                picture_id,
                tl0_pic_idx,
            }
        });
        Ok(Rewritten {
            seq,
            ts,
            epoch_start,
            continues: pkt.seq > epoch.first_in_seq,
            vp8,
        })
    }

    fn start_epoch(&self, now: Instant, pkt: SourcePacket) -> Epoch {
        let (out_seq, out_ts) = match self.last_out {
            None => (FIRST_SEQ, pkt.ts),
            Some((last_seq, last_ts, sent_at)) => {
                let elapsed = now.saturating_duration_since(sent_at);
                let ticks = (elapsed.as_secs_f64() * f64::from(self.clock_rate)) as u64;
                // At least one tick so the new epoch's first frame is "later".
                let advance = ticks.clamp(1, u64::from(u32::MAX / 2)) as u32;
                (last_seq + 1, last_ts.wrapping_add(advance))
            }
        };
        // The new source's first frame numbers follow the last ones sent (a new epoch of the
        // same numbering, as after a keyframe), so the receiver's frame buffer sees one stream.
        let ids = pkt.vp8.unwrap_or(Vp8Ids {
            picture_id: None,
            tl0_pic_idx: None,
        });
        let pid_offset = match (self.last_pid, ids.picture_id) {
            (Some(last), Some((pid, _))) => (last + 1 + PID_MOD - pid % PID_MOD) % PID_MOD,
            _ => 0,
        };
        let tl0_offset = match (self.last_tl0, ids.tl0_pic_idx) {
            (Some(last), Some(t)) => last.wrapping_add(1).wrapping_sub(t),
            _ => 0,
        };
        Epoch {
            ssrc: pkt.ssrc,
            first_in_seq: pkt.seq,
            seq_offset: out_seq.wrapping_sub(pkt.seq),
            ts_offset: out_ts.wrapping_sub(pkt.ts),
            pid_offset,
            tl0_offset,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn pkt(ssrc: u32, seq: u64, ts: u32, key: bool) -> SourcePacket {
        SourcePacket {
            ssrc,
            seq,
            ts,
            keyframe_start: key,
            vp8: None,
        }
    }

    fn vp8_pkt(ssrc: u32, seq: u64, key: bool, pid: u16, tl0: u8) -> SourcePacket {
        SourcePacket {
            vp8: Some(Vp8Ids {
                picture_id: Some((pid, true)),
                tl0_pic_idx: Some(tl0),
            }),
            ..pkt(ssrc, seq, (seq * 3000) as u32, key)
        }
    }

    #[test]
    fn vp8_frame_numbers_continue_across_a_switch_of_source() {
        let t0 = Instant::now();
        let mut r = Rewriter::new(90_000, true);
        let ids = |r: &mut Rewriter, p| r.rewrite(t0, p).unwrap().vp8.unwrap();
        // Source A: picture IDs 32766, 32767, 0 (wrapping), TL0 250..252.
        assert_eq!(
            ids(&mut r, vp8_pkt(1, 10, true, 32_766, 250)).picture_id,
            Some(32_766)
        );
        ids(&mut r, vp8_pkt(1, 11, false, 32_767, 251));
        let last = ids(&mut r, vp8_pkt(1, 12, false, 0, 252));
        assert_eq!(
            last,
            Vp8Out {
                picture_id: Some(0),
                tl0_pic_idx: Some(252)
            }
        );
        // B's keyframe starts a new epoch: its numbers continue from A's, whatever B's own.
        r.switch_source();
        let first_b = ids(&mut r, vp8_pkt(2, 900, true, 12_345, 7));
        assert_eq!(
            first_b,
            Vp8Out {
                picture_id: Some(1),
                tl0_pic_idx: Some(253)
            }
        );
        let next_b = ids(&mut r, vp8_pkt(2, 901, false, 12_346, 8));
        assert_eq!(
            next_b,
            Vp8Out {
                picture_id: Some(2),
                tl0_pic_idx: Some(254)
            }
        );
        // A late packet of B's frame keeps its own (rewritten) number.
        let late = ids(&mut r, vp8_pkt(2, 900, false, 12_345, 7));
        assert_eq!(late.picture_id, Some(1));
        // Back to A: continues after B.
        r.switch_source();
        let again_a = ids(&mut r, vp8_pkt(1, 40, true, 100, 3));
        assert_eq!(again_a.picture_id, Some(3));
    }

    #[test]
    fn first_packet_starts_at_a_small_sequence_number_and_keeps_the_timestamp() {
        let t0 = Instant::now();
        let mut r = Rewriter::new(48_000, false);
        let out = r.rewrite(t0, pkt(7, 40_000, 123_456, false)).unwrap();
        assert_eq!(
            out,
            Rewritten {
                seq: 1,
                ts: 123_456,
                epoch_start: true,
                continues: false,
                vp8: None,
            }
        );
        let out = r.rewrite(t0, pkt(7, 40_001, 124_416, false)).unwrap();
        assert_eq!(
            (out.seq, out.ts, out.epoch_start, out.continues),
            (2, 124_416, false, true)
        );
        // A late packet from before the epoch's first is not forwarded at all; another
        // source starts a new epoch whose first packet has nothing before it to repeat.
        let out = r.rewrite(t0, pkt(9, 7, 500, false)).unwrap();
        assert!(out.epoch_start && !out.continues);
    }

    #[test]
    fn video_waits_for_a_keyframe() {
        let t0 = Instant::now();
        let mut r = Rewriter::new(90_000, true);
        assert_eq!(
            r.rewrite(t0, pkt(1, 10, 0, false)),
            Err(DropReason::WaitingForKeyframe)
        );
        assert_eq!(r.rewrite(t0, pkt(1, 11, 0, true)).unwrap().seq, 1);
        // Once running, inter frames flow.
        assert_eq!(r.rewrite(t0, pkt(1, 12, 3000, false)).unwrap().seq, 2);
    }

    #[test]
    fn loss_and_reordering_upstream_pass_through_unchanged() {
        let t0 = Instant::now();
        let mut r = Rewriter::new(48_000, false);
        r.rewrite(t0, pkt(1, 100, 0, false)).unwrap();
        assert_eq!(r.rewrite(t0, pkt(1, 103, 2880, false)).unwrap().seq, 4);
        assert_eq!(r.rewrite(t0, pkt(1, 102, 1920, false)).unwrap().seq, 3);
        // The highest sequence number sent is still 4: a restart continues from 5.
        let out = r
            .rewrite(t0 + Duration::from_millis(20), pkt(2, 9, 0, false))
            .unwrap();
        assert_eq!(out.seq, 5);
    }

    #[test]
    fn publisher_restart_keeps_sequence_and_timestamp_continuous() {
        let t0 = Instant::now();
        let mut r = Rewriter::new(90_000, true);
        r.rewrite(t0, pkt(0xAAAA, 65_530, 4_000_000_000, true))
            .unwrap();
        let last = r
            .rewrite(t0, pkt(0xAAAA, 65_531, 4_000_003_000, false))
            .unwrap();
        assert_eq!(last.seq, 2);

        // The publisher restarts: new SSRC, new random bases. Its first packets are inter
        // frames (dropped), then a keyframe 500 ms after our last packet.
        let t1 = t0 + Duration::from_millis(500);
        assert_eq!(
            r.rewrite(t1, pkt(0xBBBB, 17, 99, false)),
            Err(DropReason::WaitingForKeyframe)
        );
        let first = r.rewrite(t1, pkt(0xBBBB, 18, 99, true)).unwrap();
        assert!(first.epoch_start);
        assert_eq!(first.seq, 3, "sequence continues without a gap");
        assert_eq!(
            first.ts,
            last.ts.wrapping_add(45_000),
            "timestamp advances by 500 ms"
        );
        let next = r.rewrite(t1, pkt(0xBBBB, 19, 3099, false)).unwrap();
        assert_eq!((next.seq, next.ts), (4, first.ts.wrapping_add(3000)));

        // A straggler of the old source arriving late is not forwarded.
        assert_eq!(
            r.rewrite(t1, pkt(0xAAAA, 65_532, 4_000_006_000, false)),
            Err(DropReason::StaleSource)
        );
    }

    #[test]
    fn a_source_resumed_after_a_pause_continues_without_a_gap() {
        let t0 = Instant::now();
        let mut r = Rewriter::new(90_000, true);
        let first = r.rewrite(t0, pkt(7, 100, 9000, true)).unwrap();
        let last = r.rewrite(t0, pkt(7, 101, 9000, false)).unwrap();
        // Paused for 2 s (300 packets not forwarded), then switched back on at a keyframe.
        r.switch_source();
        let later = t0 + Duration::from_secs(2);
        assert_eq!(
            r.rewrite(later, pkt(7, 401, 189_000, false)),
            Err(DropReason::WaitingForKeyframe)
        );
        let back = r.rewrite(later, pkt(7, 402, 189_000, true)).unwrap();
        assert!(back.epoch_start);
        assert_eq!(back.seq, last.seq + 1, "no gap of what was skipped");
        assert_eq!(
            back.ts.wrapping_sub(first.ts),
            180_000,
            "the pause's time passed"
        );
        // Within the new epoch, as before.
        assert_eq!(
            r.rewrite(later, pkt(7, 403, 189_000, false)).unwrap().seq,
            back.seq + 1
        );
    }

    #[test]
    fn late_packet_from_before_the_epoch_is_dropped() {
        let t0 = Instant::now();
        let mut r = Rewriter::new(48_000, false);
        r.rewrite(t0, pkt(1, 500, 0, false)).unwrap();
        assert_eq!(
            r.rewrite(t0, pkt(1, 499, 0, false)),
            Err(DropReason::BeforeEpoch)
        );
    }

    #[test]
    fn timestamp_wraps_around_u32() {
        let t0 = Instant::now();
        let mut r = Rewriter::new(48_000, false);
        r.rewrite(t0, pkt(1, 1, u32::MAX - 100, false)).unwrap();
        let out = r.rewrite(t0, pkt(1, 2, 860, false)).unwrap();
        assert_eq!(out.ts, 860);
        // restart right after the wrap keeps going forward
        let out = r
            .rewrite(t0 + Duration::from_millis(20), pkt(2, 1, 5, false))
            .unwrap();
        assert_eq!(out.ts, 860 + 960);
    }
}
