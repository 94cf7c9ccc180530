//! The merchant's public keys from config.json: SPKI PEM blocks.
//!
//! Why not `TrustedKeys::from_pem`: it goes through the `pkcs8`/`der`/`base64ct` crates,
//! which are about a tenth of the page's wasm. An Ed25519 SPKI has exactly one form — a
//! fixed 12-byte header and the 32-byte key — so reading it takes a few lines. The key
//! itself is still checked by [`PublicKey::from_bytes`] (valid point, not weak), and the
//! native tests compare the result with the core's own PEM reader.

use keyward_core::{Error, PublicKey};

const BEGIN: &str = "-----BEGIN PUBLIC KEY-----";
const END: &str = "-----END PUBLIC KEY-----";

/// DER of `SubjectPublicKeyInfo { algorithm: id-Ed25519 (1.3.101.112), key: BIT STRING }`
/// up to the 32 key bytes (RFC 8410, section 4).
const ED25519_SPKI_HEADER: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

fn bad(reason: &str) -> Error {
    Error::InvalidKey {
        reason: reason.into(),
    }
}

/// Every `PUBLIC KEY` block in `text`.
pub fn public_keys(text: &str) -> Result<Vec<PublicKey>, Error> {
    let mut keys = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(BEGIN) {
        let body = &rest[start + BEGIN.len()..];
        let end = body
            .find(END)
            .ok_or_else(|| bad("a PUBLIC KEY block has no END line"))?;
        keys.push(public_key(&body[..end])?);
        rest = &body[end + END.len()..];
    }
    if keys.is_empty() {
        return Err(bad("no -----BEGIN PUBLIC KEY----- block found"));
    }
    Ok(keys)
}

fn public_key(base64: &str) -> Result<PublicKey, Error> {
    let der = decode_base64(base64).ok_or_else(|| bad("the PEM block is not valid base64"))?;
    let key: [u8; 32] = der
        .strip_prefix(&ED25519_SPKI_HEADER)
        .and_then(|k| k.try_into().ok())
        .ok_or_else(|| bad("not an Ed25519 public key (SPKI)"))?;
    PublicKey::from_bytes(&key)
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
    use keyward_core::{MerchantKey, TrustedKeys};

    #[test]
    fn reads_what_the_core_writes_and_reads() -> Result<(), Error> {
        let a = MerchantKey::from_seed(&[1; 32]).public();
        let b = MerchantKey::from_seed(&[2; 32]).public();
        let both = format!("{}\n{}", a.to_pem(), b.to_pem());
        assert_eq!(public_keys(&both)?, [a, b]);
        assert_eq!(
            TrustedKeys::from_pem(&both)?.keys(),
            public_keys(&both)?.as_slice()
        );
        // CRLF line ends, surrounding text.
        let crlf = format!("key:\r\n{}\r\n", a.to_pem().replace('\n', "\r\n"));
        assert_eq!(public_keys(&crlf)?, [a]);
        Ok(())
    }

    #[test]
    fn rejects_what_is_not_an_ed25519_spki() {
        // An all-zero key is a small-order point: weak.
        let zero = format!("{BEGIN}\nMCowBQYDK2VwAyEA{}=\n{END}", "A".repeat(43));
        for text in [
            zero.as_str(),
            "",
            "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----",
            "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n",
            "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----",
        ] {
            assert!(public_keys(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn base64() {
        assert_eq!(decode_base64("aGVsbG8="), Some(b"hello".to_vec()));
        assert_eq!(decode_base64("aGVs\nbG8h"), Some(b"hello!".to_vec()));
        assert_eq!(decode_base64("aGVsbA=="), Some(b"hell".to_vec()));
        assert_eq!(decode_base64("aGVsbG9="), None, "non-zero padding bits");
        assert_eq!(decode_base64("aG=Vs"), None, "data after padding");
    }
}
