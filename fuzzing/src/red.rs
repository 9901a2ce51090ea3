//! `red`: an RTP payload as redundant audio (RED, RFC 2198), as the media plane reads it from
//! a publisher that negotiated RED (`sfu::core::red`): the blocks found must lie inside the
//! payload and within RED's fields, a payload written from them must read back the same, and
//! a publisher's track state fed the packet after a loss recovers at most the lost one.

use sfu::core::red::{MAX_BLOCK_LEN, MAX_TS_OFFSET, RedSource, encode, parse};

/// Opus's usual payload type, for the blocks written again.
const OPUS: u8 = 111;

pub fn red(data: &[u8]) {
    if let Ok(parsed) = parse(data) {
        assert!(data.ends_with(parsed.primary));
        if let Some(p) = parsed.previous {
            assert!((1..=MAX_TS_OFFSET).contains(&p.ts_offset));
            assert!(!p.payload.is_empty() && p.payload.len() <= MAX_BLOCK_LEN);
        }
        let mut out = vec![];
        encode(&mut out, OPUS, parsed.previous, parsed.primary);
        let again = parse(&out).expect("a payload we wrote reads back");
        assert_eq!(again, parsed, "written as {out:02x?}");
    }

    // The packet after a lost one (seq 2), 40 ms of Opus after the last one received.
    let mut source = RedSource::default();
    source
        .receive(1, 1000, &[0x78, 1], false)
        .expect("plain Opus is taken as it is");
    match source.receive(3, 1000 + 1920, data, true) {
        Ok(frames) => {
            assert!(!frames.is_empty() && frames.len() <= 2);
            let last = frames.last().expect("its own frame");
            assert_eq!((last.seq, last.ts, last.recovered), (3, 2920, false));
            if let [recovered, _] = frames.as_slice() {
                assert_eq!(recovered.seq, 2);
                assert!(recovered.recovered);
                assert!(recovered.ts > 1000 && recovered.ts < 2920);
            }
            if let Some(p) = source.previous_of(last) {
                assert!((1..=MAX_TS_OFFSET).contains(&p.ts_offset));
                assert!(p.payload.len() <= MAX_BLOCK_LEN);
            }
        }
        Err(_) => assert!(parse(data).is_err()),
    }
}
