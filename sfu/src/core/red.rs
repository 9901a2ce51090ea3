//! Redundant audio (RED, RFC 2198) for Opus.
//!
//! A RED packet carries the current Opus frame (the *primary*) and, before it, a copy of an
//! earlier frame. A receiver that lost the earlier packet plays the copy instead: one lost
//! packet costs nothing audible, which is what a commune's lossy link needs more than anything
//! for speech. Browsers send RED with one level of redundancy (the previous frame).
//!
//! The hub uses it on both legs:
//!
//! - **In**: a publisher that negotiated RED sends it. [`RedSource::receive`] takes the
//!   primary out and, when the packet just before was lost, recovers that packet from the
//!   redundant copy, so subscribers without RED get it too.
//! - **Out**: towards a subscriber that negotiated RED, every Opus frame goes out as RED with
//!   the source's previous frame ([`encode`]), whether the publisher sent RED or plain Opus.
//!   Subscribers without RED get plain Opus.
//!
//! Parsing is defensive: any byte string is an input, and a malformed one is an error the
//! caller drops, never a panic.

/// Largest timestamp offset a redundant block header can carry (14 bits).
pub const MAX_TS_OFFSET: u32 = 0x3fff;
/// Largest redundant block a header can describe (10 bits).
pub const MAX_BLOCK_LEN: usize = 0x3ff;
/// More redundant blocks than this in one packet is treated as malformed (browsers send one;
/// a 4-byte header per block would otherwise let a peer make us walk hundreds).
const MAX_REDUNDANT_BLOCKS: usize = 8;

/// Why a RED payload was not understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RedError {
    #[error("RED payload ends inside its block headers")]
    TruncatedHeaders,
    #[error("RED block lengths exceed the payload")]
    TruncatedBlocks,
    #[error("RED payload has more than {MAX_REDUNDANT_BLOCKS} redundant blocks")]
    TooManyBlocks,
}

/// An earlier frame repeated in a RED packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redundant<'a> {
    /// How far before the primary's timestamp this frame starts.
    pub ts_offset: u32,
    pub payload: &'a [u8],
}

/// A parsed RED payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed<'a> {
    /// The newest redundant frame (the smallest non-zero offset), if any.
    pub previous: Option<Redundant<'a>>,
    pub primary: &'a [u8],
}

/// Read a RED payload (RFC 2198 §3): redundant block headers (F=1, 4 bytes each), the primary
/// header (F=0, 1 byte), then the blocks' data in the same order.
pub fn parse(payload: &[u8]) -> Result<Parsed<'_>, RedError> {
    let mut headers = 0;
    let mut blocks = 0;
    let mut data_len = 0;
    // Pass one: walk the headers to find where the data starts.
    loop {
        let first = *payload.get(headers).ok_or(RedError::TruncatedHeaders)?;
        if first & 0x80 == 0 {
            headers += 1;
            break;
        }
        let h = payload
            .get(headers..headers + 4)
            .ok_or(RedError::TruncatedHeaders)?;
        data_len += (usize::from(h[2] & 0x03) << 8) | usize::from(h[3]);
        blocks += 1;
        if blocks > MAX_REDUNDANT_BLOCKS {
            return Err(RedError::TooManyBlocks);
        }
        headers += 4;
    }
    if headers + data_len > payload.len() {
        return Err(RedError::TruncatedBlocks);
    }
    // Pass two: the blocks, keeping the newest redundant one.
    let mut previous: Option<Redundant> = None;
    let mut at = headers;
    for h in payload[..headers - 1].chunks_exact(4) {
        let ts_offset = (u32::from(h[1]) << 6) | u32::from(h[2] >> 2);
        let len = (usize::from(h[2] & 0x03) << 8) | usize::from(h[3]);
        let block = Redundant {
            ts_offset,
            payload: &payload[at..at + len],
        };
        at += len;
        let newer = previous.is_none_or(|p| ts_offset < p.ts_offset);
        if ts_offset > 0 && !block.payload.is_empty() && newer {
            previous = Some(block);
        }
    }
    Ok(Parsed {
        previous,
        primary: &payload[at..],
    })
}

/// Write a RED payload with payload type `pt` for its blocks: `previous` (its offset before
/// the primary, and its data) when it fits RED's fields, then `primary`.
pub fn encode(out: &mut Vec<u8>, pt: u8, previous: Option<Redundant>, primary: &[u8]) {
    out.clear();
    let pt = pt & 0x7f;
    let previous = previous
        .filter(|p| (1..=MAX_TS_OFFSET).contains(&p.ts_offset) && p.payload.len() <= MAX_BLOCK_LEN);
    if let Some(p) = previous {
        let len = p.payload.len() as u32;
        let header = (p.ts_offset << 10) | len;
        out.push(0x80 | pt);
        out.extend_from_slice(&header.to_be_bytes()[1..]);
    }
    out.push(pt);
    if let Some(p) = previous {
        out.extend_from_slice(p.payload);
    }
    out.extend_from_slice(primary);
}

/// One Opus frame to forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Extended sequence number and RTP timestamp, in the publisher's numbering.
    pub seq: u64,
    pub ts: u32,
    pub payload: Vec<u8>,
    /// Recovered from the next packet's redundancy rather than received.
    pub recovered: bool,
}

/// The RED state of one published audio track: its newest frames, for recovering a loss just
/// before the next packet and for the redundancy sent with the next frame.
#[derive(Debug, Default, Clone)]
pub struct RedSource {
    /// The newest frames (at most [`HISTORY`]), oldest first.
    recent: std::collections::VecDeque<Frame>,
}

/// Frames kept: a recovered frame and the one after it both find their predecessor.
const HISTORY: usize = 3;

impl RedSource {
    /// An incoming audio packet — RED when `red`, plain Opus otherwise — as the frames to
    /// forward, in order: the one just before it when that was lost and the packet repeats
    /// it, then its own.
    pub fn receive(
        &mut self,
        seq: u64,
        ts: u32,
        payload: &[u8],
        red: bool,
    ) -> Result<Vec<Frame>, RedError> {
        let (previous, primary) = if red {
            let parsed = parse(payload)?;
            (parsed.previous, parsed.primary)
        } else {
            (None, payload)
        };
        let mut frames = Vec::with_capacity(2);
        let newest = self.recent.back().map(|f| (f.seq, f.ts));
        if let (Some((newest_seq, newest_ts)), Some(p)) = (newest, previous)
            && seq == newest_seq + 2
        {
            // Browsers repeat the previous packet: the copy is seq − 1 when its timestamp
            // lies strictly between the newest frame we have and this one.
            let recovered_ts = ts.wrapping_sub(p.ts_offset);
            let span = ts.wrapping_sub(newest_ts);
            let after_newest = recovered_ts.wrapping_sub(newest_ts);
            if after_newest > 0 && after_newest < span {
                frames.push(Frame {
                    seq: seq - 1,
                    ts: recovered_ts,
                    payload: p.payload.to_vec(),
                    recovered: true,
                });
            }
        }
        frames.push(Frame {
            seq,
            ts,
            payload: primary.to_vec(),
            recovered: false,
        });
        // Late packets are forwarded but do not rewrite the history.
        if newest.is_none_or(|(n, _)| seq > n) {
            for f in &frames {
                if self.recent.len() == HISTORY {
                    self.recent.pop_front();
                }
                self.recent.push_back(f.clone());
            }
        }
        Ok(frames)
    }

    /// The redundancy to send with `frame` (one [`RedSource::receive`] just returned): the
    /// frame right before it, when we have it and RED's fields can say how far back it is.
    pub fn previous_of(&self, frame: &Frame) -> Option<Redundant<'_>> {
        let before = self.recent.iter().find(|f| f.seq + 1 == frame.seq)?;
        let ts_offset = frame.ts.wrapping_sub(before.ts);
        ((1..=MAX_TS_OFFSET).contains(&ts_offset) && before.payload.len() <= MAX_BLOCK_LEN).then(
            || Redundant {
                ts_offset,
                payload: &before.payload,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPUS: u8 = 111;

    fn red(previous: Option<(u32, &[u8])>, primary: &[u8]) -> Vec<u8> {
        let mut out = vec![];
        encode(
            &mut out,
            OPUS,
            previous.map(|(ts_offset, payload)| Redundant { ts_offset, payload }),
            primary,
        );
        out
    }

    #[test]
    fn a_red_packet_is_read_back_as_written() {
        let bytes = red(Some((960, b"older")), b"newer");
        // One 4-byte redundant header, the 1-byte primary header, then the two frames.
        assert_eq!(bytes.len(), 4 + 1 + 5 + 5);
        assert_eq!(bytes[0], 0x80 | OPUS);
        assert_eq!(bytes[4], OPUS);
        let parsed = parse(&bytes).unwrap();
        assert_eq!(parsed.primary, b"newer");
        assert_eq!(
            parsed.previous,
            Some(Redundant {
                ts_offset: 960,
                payload: b"older"
            })
        );
        // Without a previous frame it is the primary header and the frame.
        let bytes = red(None, b"only");
        assert_eq!(bytes, [&[OPUS][..], b"only"].concat());
        assert_eq!(parse(&bytes).unwrap().previous, None);
    }

    #[test]
    fn a_browser_red_packet_parses() {
        // As Chromium sends it: PT 111 redundant block, offset 960, 3 bytes; primary 111.
        let bytes = [
            0xef, 0x0f, 0x00, 0x03, 0x6f, 0xaa, 0xbb, 0xcc, 0x01, 0x02, 0x03, 0x04,
        ];
        let parsed = parse(&bytes).unwrap();
        assert_eq!(parsed.previous.unwrap().ts_offset, 960);
        assert_eq!(parsed.previous.unwrap().payload, [0xaa, 0xbb, 0xcc]);
        assert_eq!(parsed.primary, [1, 2, 3, 4]);
    }

    #[test]
    fn malformed_red_is_an_error_not_a_panic() {
        assert_eq!(parse(&[]), Err(RedError::TruncatedHeaders));
        assert_eq!(parse(&[0xef, 0x0f]), Err(RedError::TruncatedHeaders));
        // A block longer than what follows.
        assert_eq!(
            parse(&[0xef, 0x0f, 0x00, 0x20, 0x6f, 1, 2]),
            Err(RedError::TruncatedBlocks)
        );
        let many: Vec<u8> = std::iter::repeat_n([0xef, 0x0f, 0x00, 0x00], 9)
            .flatten()
            .chain([0x6f])
            .collect();
        assert_eq!(parse(&many), Err(RedError::TooManyBlocks));
        // Every short byte string is either parsed or refused.
        for len in 0..12 {
            for fill in [0x00, 0x7f, 0x80, 0xff] {
                let _ = parse(&vec![fill; len]);
            }
        }
    }

    #[test]
    fn redundancy_that_red_cannot_describe_is_left_out() {
        let big = vec![7; MAX_BLOCK_LEN + 1];
        assert_eq!(red(Some((960, &big)), b"p"), [OPUS, b'p']);
        // A gap longer than 14 bits of timestamp (DTX: 400 ms between frames).
        assert_eq!(red(Some((19_200, b"old")), b"p"), [OPUS, b'p']);
        assert_eq!(red(Some((0, b"same")), b"p"), [OPUS, b'p']);
    }

    #[test]
    fn plain_opus_in_gets_the_previous_frame_as_redundancy_out() {
        let mut source = RedSource::default();
        let first = source.receive(10, 960, b"a", false).unwrap();
        assert_eq!(first.len(), 1);
        assert_eq!(source.previous_of(&first[0]), None);
        let second = source.receive(11, 1920, b"b", false).unwrap();
        assert_eq!(
            source.previous_of(&second[0]),
            Some(Redundant {
                ts_offset: 960,
                payload: b"a"
            })
        );
        // After a loss there is nothing to repeat.
        let fourth = source.receive(13, 3840, b"d", false).unwrap();
        assert_eq!(fourth.len(), 1, "plain Opus recovers nothing");
        assert_eq!(source.previous_of(&fourth[0]), None);
        // DTX: the next frame comes 400 ms later, too far back for RED.
        let later = source.receive(14, 3840 + 19_200, b"e", false).unwrap();
        assert_eq!(source.previous_of(&later[0]), None);
    }

    #[test]
    fn a_packet_lost_on_the_way_in_is_recovered_from_the_next() {
        let mut source = RedSource::default();
        source
            .receive(100, 48_000, &red(None, b"f100"), true)
            .unwrap();
        // 101 is lost; 102 carries it.
        let frames = source
            .receive(102, 49_920, &red(Some((960, b"f101")), b"f102"), true)
            .unwrap();
        assert_eq!(
            frames,
            vec![
                Frame {
                    seq: 101,
                    ts: 48_960,
                    payload: b"f101".to_vec(),
                    recovered: true
                },
                Frame {
                    seq: 102,
                    ts: 49_920,
                    payload: b"f102".to_vec(),
                    recovered: false
                },
            ]
        );
        // The recovered frame is the redundancy for 102 towards RED subscribers.
        assert_eq!(source.previous_of(&frames[1]).unwrap().payload, b"f101");
        assert_eq!(source.previous_of(&frames[0]).unwrap().payload, b"f100");
        // Received in order, the copy is not forwarded again.
        let frames = source
            .receive(103, 50_880, &red(Some((960, b"f102")), b"f103"), true)
            .unwrap();
        assert_eq!(frames.len(), 1);
        // A copy of a frame we have (the redundancy is two packets back) is not a recovery.
        let frames = source
            .receive(105, 52_800, &red(Some((1920, b"f103")), b"f105"), true)
            .unwrap();
        assert_eq!(frames.len(), 1);
        assert!(!frames[0].recovered);
    }

    #[test]
    fn timestamps_wrap() {
        let mut source = RedSource::default();
        source.receive(1, u32::MAX - 500, b"x", false).unwrap();
        let frames = source
            .receive(3, 1420, &red(Some((960, b"y")), b"z"), true)
            .unwrap();
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].ts, 460);
        assert_eq!(source.previous_of(&frames[0]).unwrap().ts_offset, 961);
    }

    #[test]
    fn a_late_packet_is_forwarded_without_disturbing_the_history() {
        let mut source = RedSource::default();
        source.receive(1, 960, b"a", false).unwrap();
        source.receive(3, 2880, b"c", false).unwrap();
        let late = source.receive(2, 1920, b"b", false).unwrap();
        assert_eq!(late[0].payload, b"b");
        let next = source.receive(4, 3840, b"d", false).unwrap();
        assert_eq!(source.previous_of(&next[0]).unwrap().payload, b"c");
    }
}
