//! Which characters a code may contain, enumerated over every Unicode code point against
//! the lists in docs/FORMAT.md ("Which characters are read"): each is ignored, read as a
//! code symbol, or refused by naming it (finding 13.5).

use keyward_core::error::CodeError;
use keyward_core::*;

/// Ignored anywhere, the prefix included: docs/FORMAT.md's list, written out here by hand.
fn documented_ignored(c: char) -> bool {
    matches!(
        c as u32,
        // Unicode White_Space
        0x09..=0x0D
            | 0x20
            | 0x85
            | 0xA0
            | 0x1680
            | 0x2000..=0x200A
            | 0x2028
            | 0x2029
            | 0x202F
            | 0x205F
            | 0x3000
            // invisible: zero-width space, non-joiner, joiner; word joiner; BOM; soft hyphen
            | 0x200B..=0x200D
            | 0x2060
            | 0xFEFF
            | 0xAD
            // separators: - _ . · and their full-width forms － ＿ ．
            | 0x2D
            | 0x5F
            | 0x2E
            | 0xB7
            | 0xFF0D
            | 0xFF3F
            | 0xFF0E
            // dash look-alikes: ‐ ‑ ‒ – — ― − ー ｰ ﹣
            | 0x2010..=0x2015
            | 0x2212
            | 0x30FC
            | 0xFF70
            | 0xFE63
    )
}

/// Read as a code symbol: digits and letters except U, in either case, ASCII or
/// full-width (I and L read as 1, O as 0).
fn documented_symbol(c: char) -> bool {
    let ascii = match c as u32 {
        0xFF10..=0xFF19 | 0xFF21..=0xFF3A | 0xFF41..=0xFF5A => {
            char::from_u32(c as u32 - 0xFEE0).unwrap()
        }
        _ => c,
    };
    ascii.is_ascii_alphanumeric() && !ascii.eq_ignore_ascii_case(&'U')
}

#[test]
fn every_code_point_is_ignored_read_or_named() {
    let code = raw::encode(Kind::AuthorizationCode, &[0x5a; 10]);
    let expected = raw::decode(&code).unwrap();
    // Between two groups, and inside the prefix (after its K).
    let cut = code.find('-').unwrap() + 1;
    let (head, tail) = code.split_at(cut);
    let mut counts = [0usize; 3];
    for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
        let between = format!("{head}{c}{tail}");
        let in_prefix = format!("K{c}{}", &code[1..]);
        if documented_ignored(c) {
            counts[0] += 1;
            assert_eq!(
                raw::decode(&between).ok(),
                Some(expected.clone()),
                "U+{:04X}",
                c as u32
            );
            assert_eq!(
                raw::decode(&in_prefix).ok(),
                Some(expected.clone()),
                "U+{:04X}",
                c as u32
            );
        } else if documented_symbol(c) {
            counts[1] += 1;
            // An extra symbol: the code is no longer the same (a length or check error).
            let got = raw::decode(&between);
            assert!(
                !matches!(got, Err(Error::Code(CodeError::InvalidCharacter { .. })))
                    && got.ok() != Some(expected.clone()),
                "U+{:04X} is not read as a symbol",
                c as u32
            );
        } else {
            counts[2] += 1;
            match raw::decode(&between) {
                Err(Error::Code(CodeError::InvalidCharacter { position, .. })) => {
                    assert_eq!(position, head.chars().count() + 1, "U+{:04X}", c as u32)
                }
                other => panic!(
                    "U+{:04X} is neither ignored nor a symbol, yet gave {other:?}",
                    c as u32
                ),
            }
            assert!(raw::decode(&in_prefix).is_err(), "U+{:04X}", c as u32);
        }
    }
    // 25 White_Space + 6 invisible + 7 separators + 10 dashes; symbols: 10 digits and 25
    // letters in two cases, in ASCII and full width.
    assert_eq!(counts[0], 48);
    assert_eq!(counts[1], 2 * (10 + 2 * 25));
}
