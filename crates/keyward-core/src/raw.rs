//! Raw access to the text layer: any bytes as a code of any kind, and back.
//!
//! For tests and tools (bit-flip vectors, fuzzing). Encoding arbitrary bytes forges
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
