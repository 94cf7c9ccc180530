//! Raw access to the text layer: any bytes as a code of any kind, and back; and bytes as
//! hexadecimal, the one hex encoder every crate uses.
//!
//! The codes are for tests and tools (bit-flip vectors, fuzzing). Encoding arbitrary bytes forges
//! nothing: a code made here still has to pass decoding and the signature check.

use alloc::vec::Vec;

use crate::error::Error;
use crate::text::armour::strip_armour;
use crate::text::{self, Kind};

/// Encodes `bytes` as a grouped code of `kind`, with valid check symbols.
pub fn encode(kind: Kind, bytes: &[u8]) -> alloc::string::String {
    text::encode(kind, bytes)
}

/// Decodes a code's text (armoured or bare) to its kind and bytes, checking only the text
/// layer (prefix, characters, check symbols, length).
pub fn decode(input: &str) -> Result<(Kind, Vec<u8>), Error> {
    let blanked = strip_armour(input)?;
    let sym = text::normalize(&blanked)?;
    let bytes = text::decode_symbols(&sym)?;
    Ok((sym.kind, bytes))
}

/// `bytes` in lower-case hexadecimal: the one hex encoder of the project (license and key
/// ids, nonces, digests, tokens), used by the page, the CLI, the host, the service and the
/// marketplace client.
pub use crate::util::hex;

#[cfg(test)]
mod tests {
    #[test]
    fn hex_is_lower_case_two_digits_a_byte() {
        assert_eq!(super::hex(&[0, 0x0f, 0xa0, 0xff]), "000fa0ff");
        assert_eq!(super::hex(&[]), "");
    }
}
