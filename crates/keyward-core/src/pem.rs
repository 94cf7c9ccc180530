//! PEM for Ed25519 keys, without an ASN.1 library.
//!
//! An Ed25519 key has exactly one DER shape per container (RFC 8410), so reading and
//! writing is a fixed header plus 32 bytes. Doing it here keeps `pkcs8`/`der`/`base64ct`
//! out of the plugin and the page (about a tenth of their WebAssembly).

use alloc::string::String;
use alloc::vec::Vec;

/// `SubjectPublicKeyInfo { id-Ed25519, BIT STRING }` up to the 32 key bytes.
pub(crate) const SPKI_HEADER: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// `OneAsymmetricKey v1 { id-Ed25519, OCTET STRING { OCTET STRING } }` up to the seed:
/// what `openssl genpkey -algorithm ed25519` writes and what keyward writes.
pub(crate) const PKCS8_V1_HEADER: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// The v2 form (with the public key after the seed), as some tools write it.
pub(crate) const PKCS8_V2_HEADER: [u8; 16] = [
    0x30, 0x51, 0x02, 0x01, 0x01, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// Between the seed and the public key in the v2 form: `[1] IMPLICIT BIT STRING`.
pub(crate) const PKCS8_V2_PUBLIC: [u8; 3] = [0x81, 0x21, 0x00];

/// The DER contents of every `-----BEGIN {label}-----` block in `text`.
pub(crate) fn blocks(text: &str, label: &str) -> Result<Vec<Vec<u8>>, &'static str> {
    let begin = crate::util::cat(&["-----BEGIN ", label, "-----"]);
    let end = crate::util::cat(&["-----END ", label, "-----"]);
    let mut out = Vec::new();
    let mut rest = text;
    // `get` rather than indexing: the offsets are at ASCII text, so it always succeeds, and
    // the wasm builds carry no string-slicing panic.
    while let Some(start) = crate::util::find(rest, &begin) {
        let body = rest.get(start + begin.len()..).unwrap_or_default();
        let stop = crate::util::find(body, &end).ok_or(said!("a PEM block has no END line"))?;
        let base64 = body.get(..stop).unwrap_or_default();
        out.push(decode_base64(base64).ok_or(said!("a PEM block is not valid base64"))?);
        rest = body.get(stop + end.len()..).unwrap_or_default();
    }
    Ok(out)
}

/// One PEM block with 64-character lines.
pub(crate) fn encode(label: &str, der: &[u8]) -> String {
    let b64 = encode_base64(der);
    let mut s = crate::util::cat(&["-----BEGIN ", label, "-----\n"]);
    for line in b64.as_bytes().chunks(64) {
        s.push_str(core::str::from_utf8(line).unwrap_or_default());
        s.push('\n');
    }
    s.push_str(&crate::util::cat(&["-----END ", label, "-----\n"]));
    s
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn encode_base64(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                s.push(B64[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

/// Standard base64 with padding; whitespace (PEM line breaks) is skipped.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits, mut pad) = (0u32, 0u32, 0usize);
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                pad += 1;
                continue;
            }
            _ => return None,
        };
        if pad > 0 {
            return None; // data after padding
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // Leftover bits must be zero padding, and '=' must complete the last quantum.
    (acc == 0 && pad <= 2 && (bits == 0 || bits / 2 == pad as u32)).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trip_and_strictness() {
        for n in 0..20 {
            let data: Vec<u8> = (0..n).map(|i| (i * 53 + 7) as u8).collect();
            assert_eq!(decode_base64(&encode_base64(&data)), Some(data));
        }
        assert_eq!(decode_base64("aGVsbG8="), Some(b"hello".to_vec()));
        assert_eq!(decode_base64("aGVs\nbG8h"), Some(b"hello!".to_vec()));
        assert_eq!(decode_base64("aGVsbG9="), None, "non-zero padding bits");
        assert_eq!(decode_base64("aG=Vs"), None, "data after padding");
        assert_eq!(decode_base64("a!"), None);
    }
}
