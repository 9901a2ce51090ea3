//! EBML (RFC 8794) writing: element IDs, data sizes — including the reserved "unknown" size
//! that lets a live file's segment and clusters stay open — and the value types Matroska
//! needs. Everything appends to a byte vector; the caller decides when bytes reach the disk.

/// The data size that means "unknown": an element that ends where its parent's next
/// sibling-level element begins (RFC 8794 §6.2). Written for the live segment and clusters.
pub const UNKNOWN_SIZE: [u8; 8] = [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

/// An element ID, as written: its marker bits are part of the ID (1 to 4 bytes).
pub fn id(out: &mut Vec<u8>, id: u32) {
    let bytes = id.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(3);
    out.extend_from_slice(&bytes[skip..]);
}

/// A data size in the fewest bytes (1 to 8) that hold it; sizes whose every value bit would
/// be set are reserved, so each length holds up to 2^(7·len) − 2.
pub fn size(out: &mut Vec<u8>, n: u64) {
    let len = (1..=8u32)
        .find(|len| n < (1u64 << (7 * len)) - 1)
        .expect("EBML sizes stop at 2^56 - 2");
    size_fixed(out, n, len as usize);
}

/// A data size in exactly `len` bytes (so that it can be rewritten in place).
pub fn size_fixed(out: &mut Vec<u8>, n: u64, len: usize) {
    assert!((1..=8).contains(&len) && n < (1u64 << (7 * len)) - 1);
    let marked = n | (1u64 << (7 * len));
    out.extend_from_slice(&marked.to_be_bytes()[8 - len..]);
}

/// An unsigned integer element in the fewest bytes.
pub fn uint(out: &mut Vec<u8>, element: u32, v: u64) {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count().min(7);
    id(out, element);
    size(out, (8 - skip) as u64);
    out.extend_from_slice(&bytes[skip..]);
}

/// An unsigned integer element in exactly `len` bytes; returns the offset of the value in
/// `out`, to rewrite it later.
pub fn uint_fixed(out: &mut Vec<u8>, element: u32, v: u64, len: usize) -> usize {
    assert!((1..=8).contains(&len) && (len == 8 || v < 1u64 << (8 * len)));
    id(out, element);
    size(out, len as u64);
    let at = out.len();
    out.extend_from_slice(&v.to_be_bytes()[8 - len..]);
    at
}

/// A 64-bit float element.
pub fn float(out: &mut Vec<u8>, element: u32, v: f64) {
    id(out, element);
    size(out, 8);
    out.extend_from_slice(&v.to_be_bytes());
}

/// A string or binary element.
pub fn bytes(out: &mut Vec<u8>, element: u32, v: &[u8]) {
    id(out, element);
    size(out, v.len() as u64);
    out.extend_from_slice(v);
}

/// A string element of exactly `len` bytes, `v` zero-padded (RFC 8794 §7.4 allows the
/// padding), so that it can be rewritten in place; returns the offset of the value.
pub fn string_padded(out: &mut Vec<u8>, element: u32, v: &[u8], len: usize) -> usize {
    assert!(v.len() <= len);
    id(out, element);
    size(out, len as u64);
    let at = out.len();
    out.extend_from_slice(v);
    out.resize(at + len, 0);
    at
}

/// The Void element (ID 0xEC), which readers skip, taking exactly `total` bytes (at least
/// 2): room kept for a later element.
pub fn void(out: &mut Vec<u8>, total: usize) {
    assert!(total >= 2);
    id(out, VOID);
    let (len, body) = if total - 2 < 127 {
        (1, total - 2)
    } else {
        (8, total - 9)
    };
    size_fixed(out, body as u64, len);
    out.resize(out.len() + body, 0);
}

/// The Void element's ID.
pub const VOID: u32 = 0xEC;

/// A master element of known size around `body`.
pub fn master(out: &mut Vec<u8>, element: u32, body: &[u8]) {
    bytes(out, element, body);
}

/// The start of a master element of unknown size; its children follow.
pub fn open_master(out: &mut Vec<u8>, element: u32) {
    id(out, element);
    out.extend_from_slice(&UNKNOWN_SIZE);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_keep_their_marker_bits_and_sizes_take_the_fewest_bytes() {
        let mut b = vec![];
        id(&mut b, 0x1A45_DFA3);
        id(&mut b, 0xA3);
        id(&mut b, 0x4286);
        assert_eq!(b, [0x1a, 0x45, 0xdf, 0xa3, 0xa3, 0x42, 0x86]);
        let enc = |n| {
            let mut b = vec![];
            size(&mut b, n);
            b
        };
        assert_eq!(enc(0), [0x80]);
        assert_eq!(enc(126), [0xfe]);
        // 127 would be all ones in one byte: reserved, so two bytes.
        assert_eq!(enc(127), [0x40, 0x7f]);
        assert_eq!(enc(16_382), [0x7f, 0xfe]);
        assert_eq!(enc(16_383), [0x20, 0x3f, 0xff]);
        let mut b = vec![];
        size_fixed(&mut b, 5, 8);
        assert_eq!(b, [0x01, 0, 0, 0, 0, 0, 0, 5]);
    }

    #[test]
    fn values_are_big_endian_in_the_fewest_bytes() {
        let mut b = vec![];
        uint(&mut b, 0xD7, 1);
        uint(&mut b, 0x2AD7B1, 1_000_000);
        uint(&mut b, 0xD7, 0);
        assert_eq!(
            b,
            [
                0xd7, 0x81, 0x01, 0x2a, 0xd7, 0xb1, 0x83, 0x0f, 0x42, 0x40, 0xd7, 0x81, 0x00
            ]
        );
        let mut b = vec![0xee];
        let at = uint_fixed(&mut b, 0xB0, 320, 2);
        assert_eq!(b, [0xee, 0xb0, 0x82, 0x01, 0x40]);
        assert_eq!(at, 3);
        let mut b = vec![];
        float(&mut b, 0xB5, 48_000.0);
        assert_eq!(b[..2], [0xb5, 0x88]);
        assert_eq!(f64::from_be_bytes(b[2..].try_into().unwrap()), 48_000.0);
    }
}
