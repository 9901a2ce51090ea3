//! H.264 over RTP as browsers send it (RFC 6184, packetization mode 1): NAL units out of
//! single-NAL, STAP-A and FU-A packets, gathered into an access unit (one picture: the
//! packets of one timestamp, up to the marker), written for Matroska as AVCC — each NAL unit
//! behind its 4-byte length — with the decoder configuration (`avcC`, ISO/IEC 14496-15) made
//! from the stream's SPS and PPS.

/// NAL unit types (ITU-T H.264 table 7-1; RFC 6184 §5.2).
pub const IDR: u8 = 5;
pub const SPS: u8 = 7;
pub const PPS: u8 = 8;
const STAP_A: u8 = 24;
const FU_A: u8 = 28;

/// A NAL unit's type, from its header byte.
pub fn nal_type(nal: &[u8]) -> u8 {
    nal.first().map_or(0, |h| h & 0x1f)
}

/// One picture being gathered from its packets.
#[derive(Debug, Default)]
pub struct AccessUnit {
    nals: Vec<Vec<u8>>,
    /// A fragmented NAL unit being put together (FU-A).
    fragment: Option<Vec<u8>>,
    /// Something of it is missing or malformed: no decoder could use it.
    pub broken: bool,
}

impl AccessUnit {
    /// Add one RTP payload.
    pub fn push(&mut self, payload: &[u8]) {
        let Some(&header) = payload.first() else {
            return; // padding
        };
        if header & 0x80 != 0 {
            self.broken = true; // forbidden_zero_bit: not H.264
            return;
        }
        match header & 0x1f {
            1..=23 => {
                self.end_fragment_if_open();
                self.nals.push(payload.to_vec());
            }
            STAP_A => {
                self.end_fragment_if_open();
                let mut rest = &payload[1..];
                while rest.len() >= 2 {
                    let n = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
                    if n == 0 || rest.len() < 2 + n {
                        self.broken = true;
                        return;
                    }
                    self.nals.push(rest[2..2 + n].to_vec());
                    rest = &rest[2 + n..];
                }
                if !rest.is_empty() {
                    self.broken = true;
                }
            }
            FU_A => {
                let Some(&fu) = payload.get(1) else {
                    self.broken = true;
                    return;
                };
                let (start, end) = (fu & 0x80 != 0, fu & 0x40 != 0);
                let data = &payload[2..];
                if start {
                    self.end_fragment_if_open();
                    let mut nal = vec![(header & 0xe0) | (fu & 0x1f)];
                    nal.extend_from_slice(data);
                    self.fragment = Some(nal);
                } else {
                    match &mut self.fragment {
                        Some(nal) => nal.extend_from_slice(data),
                        // Its start was lost.
                        None => self.broken = true,
                    }
                }
                if end && let Some(nal) = self.fragment.take() {
                    self.nals.push(nal);
                }
            }
            // STAP-B, MTAP, FU-B: not in packetization mode 1.
            _ => self.broken = true,
        }
    }

    /// A fragmented NAL unit cut off by something else: its end was lost.
    fn end_fragment_if_open(&mut self) {
        if self.fragment.take().is_some() {
            self.broken = true;
        }
    }

    /// The picture is complete as far as its packets tell (the marker came).
    pub fn finish(&mut self) {
        self.end_fragment_if_open();
        if self.nals.is_empty() {
            self.broken = true;
        }
    }

    /// An IDR picture: decoding can start here.
    pub fn is_keyframe(&self) -> bool {
        self.nals.iter().any(|n| nal_type(n) == IDR)
    }

    /// The SPS and PPS it carries (browsers send them before each IDR picture).
    pub fn parameter_sets(&self) -> Option<(&[u8], &[u8])> {
        let find = |t| {
            self.nals
                .iter()
                .find(|n| nal_type(n) == t)
                .map(Vec::as_slice)
        };
        Some((find(SPS)?, find(PPS)?))
    }

    /// The picture as Matroska stores it: each NAL unit behind its 4-byte length.
    pub fn avcc(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.nals.iter().map(|n| n.len() + 4).sum());
        for n in &self.nals {
            out.extend_from_slice(&(n.len() as u32).to_be_bytes());
            out.extend_from_slice(n);
        }
        out
    }
}

/// The `AVCDecoderConfigurationRecord` (ISO/IEC 14496-15 §5.3.3.1) for one SPS and one PPS,
/// with 4-byte NAL lengths: Matroska's CodecPrivate for `V_MPEG4/ISO/AVC`. `None` for an SPS
/// too short to name its profile and level.
pub fn decoder_config(sps: &[u8], pps: &[u8]) -> Option<Vec<u8>> {
    if sps.len() < 4 || pps.is_empty() || sps.len() > 0xffff || pps.len() > 0xffff {
        return None;
    }
    let mut c = vec![1, sps[1], sps[2], sps[3], 0xfc | 3, 0xe0 | 1];
    c.extend_from_slice(&(sps.len() as u16).to_be_bytes());
    c.extend_from_slice(sps);
    c.push(1);
    c.extend_from_slice(&(pps.len() as u16).to_be_bytes());
    c.extend_from_slice(pps);
    Some(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPS_NAL: [u8; 8] = [0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16];
    const PPS_NAL: [u8; 4] = [0x68, 0xce, 0x3c, 0x80];

    fn stap_a(nals: &[&[u8]]) -> Vec<u8> {
        let mut p = vec![0x78]; // NRI 3, type 24
        for n in nals {
            p.extend_from_slice(&(n.len() as u16).to_be_bytes());
            p.extend_from_slice(n);
        }
        p
    }

    /// An IDR slice of `len` bytes cut into FU-A packets of at most `mtu` bytes of it.
    fn fu_a(len: usize, mtu: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
        let mut nal = vec![0x65];
        nal.extend((0..len - 1).map(|i| i as u8));
        let body = &nal[1..];
        let chunks: Vec<&[u8]> = body.chunks(mtu).collect();
        let packets = chunks
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut fu = IDR;
                if i == 0 {
                    fu |= 0x80;
                }
                if i + 1 == chunks.len() {
                    fu |= 0x40;
                }
                let mut p = vec![(0x65 & 0xe0) | FU_A, fu];
                p.extend_from_slice(c);
                p
            })
            .collect();
        (nal, packets)
    }

    #[test]
    fn stap_a_and_fu_a_become_one_keyframe_in_avcc() {
        let (idr, packets) = fu_a(3000, 1000);
        let mut au = AccessUnit::default();
        au.push(&stap_a(&[&SPS_NAL, &PPS_NAL]));
        for p in &packets {
            au.push(p);
        }
        au.finish();
        assert!(!au.broken);
        assert!(au.is_keyframe());
        assert_eq!(au.parameter_sets(), Some((&SPS_NAL[..], &PPS_NAL[..])));
        let avcc = au.avcc();
        let mut want = vec![];
        for n in [&SPS_NAL[..], &PPS_NAL[..], &idr[..]] {
            want.extend_from_slice(&(n.len() as u32).to_be_bytes());
            want.extend_from_slice(n);
        }
        assert_eq!(avcc, want);
        let config = decoder_config(&SPS_NAL, &PPS_NAL).unwrap();
        assert_eq!(&config[..6], &[1, 0x42, 0xc0, 0x1f, 0xff, 0xe1]);
        assert_eq!(config.len(), 6 + 2 + SPS_NAL.len() + 1 + 2 + PPS_NAL.len());
    }

    #[test]
    fn a_lost_fragment_or_a_malformed_packet_breaks_the_picture() {
        let (_, packets) = fu_a(3000, 1000);
        // Its first fragment lost (a lost middle one is the jitter buffer's to report).
        let mut au = AccessUnit::default();
        au.push(&packets[1]);
        au.push(&packets[2]);
        au.finish();
        assert!(au.broken, "a fragment without its start");
        // A lost end: the next NAL cuts the fragment off.
        let mut au = AccessUnit::default();
        au.push(&packets[0]);
        au.push(&[0x41, 1, 2, 3]);
        au.finish();
        assert!(au.broken);
        // A STAP-A whose length runs past the packet; a forbidden bit; a FU-B.
        for bad in [
            vec![0x78, 0x00, 0x09, 0x67],
            vec![0xe5, 1],
            vec![0x7d, 0x85, 1],
        ] {
            let mut au = AccessUnit::default();
            au.push(&bad);
            au.finish();
            assert!(au.broken, "{bad:?}");
        }
        // A single non-IDR slice is a picture, not a keyframe.
        let mut au = AccessUnit::default();
        au.push(&[0x41, 0x9a, 0x00]);
        au.finish();
        assert!(!au.broken && !au.is_keyframe());
        assert_eq!(decoder_config(&[0x67, 0x42], &PPS_NAL), None);
    }
}
