//! Normalisation of pasted text: which characters are folded or ignored, and the symbols
//! a code's characters stand for.

use alloc::vec::Vec;

use super::ALPHABET;
use crate::kind::Kind;

/// Maps one pasted character to what it most likely means: full-width forms to ASCII, the
/// many dash look-alikes to `-`, spaces and invisible characters to a space. The exact
/// sets are listed in docs/FORMAT.md ("Which characters are read"), and a test enumerates
/// every code point against that list (keyward-core `tests/characters.rs`).
pub(crate) fn fold_char(c: char) -> char {
    match c {
        // Full-width ASCII block (Chinese input methods, chat apps).
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        // Spaces that are not Unicode White_Space, and invisible characters that editors
        // and chat apps insert: zero-width space, non-joiner and joiner, word joiner, BOM
        // (zero-width no-break space), soft hyphen.
        '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => ' ',
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{30FC}' | '\u{FF70}' | '\u{FE63}' => '-',
        _ => c,
    }
}

/// Value of one code character after case folding and the I/L→1, O→0 rule, or `None`.
pub(crate) fn symbol_value(c: char) -> Option<u8> {
    // One lookup: every character of a pasted text goes through here (a 64 KB text's
    // search read it several times when this scanned the alphabet).
    let v = *VALUES.get(c as usize)?;
    (v < 32).then_some(v)
}

/// [`symbol_value`] of every ASCII character (0xff: none).
const VALUES: [u8; 128] = {
    let mut t = [0xffu8; 128];
    let mut v = 0;
    while v < 32 {
        let c = ALPHABET[v];
        t[c as usize] = v as u8;
        t[c.to_ascii_lowercase() as usize] = v as u8;
        v += 1;
    }
    t[b'I' as usize] = 1;
    t[b'i' as usize] = 1;
    t[b'L' as usize] = 1;
    t[b'l' as usize] = 1;
    t[b'O' as usize] = 0;
    t[b'o' as usize] = 0;
    t
};

/// A code after normalisation: kind, version, symbol values, and where each symbol came
/// from in the original text (1-based character positions) for error messages.
#[derive(Clone, Debug)]
pub(crate) struct Symbols {
    pub kind: Kind,
    pub version: u8,
    pub values: Vec<u8>,
    pub positions: Vec<usize>,
}

impl Symbols {
    /// Where symbol `i` came from in the pasted text (1-based; 0 if unknown).
    pub(crate) fn position(&self, i: usize) -> usize {
        self.positions.get(i).copied().unwrap_or(0)
    }
}

/// Is this (folded) character one people put between groups or around codes? Unicode
/// White_Space (which includes U+3000, U+00A0, U+2000–U+200A, U+2028/2029, tabs, vertical
/// tab, form feed and U+0085) and `-` `_` `.` `·`; ignored anywhere, the prefix included
/// (`K A 1` reads as `KA1`).
pub(super) fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '_' | '.' | '·')
}
