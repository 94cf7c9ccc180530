//! Finding the one code in pasted text: quotes, markdown, HTML tags or a sentence around it
//! (`您的授权码是：KA1-….`, `<code>KA1-…</code>`, `Your code is KA1-…. Thanks!`).
//!
//! A code starts at its prefix: `K`, a kind letter and a digit, not preceded by an ASCII
//! letter or digit. At the very start of the text (after separators) the prefix is read as
//! loosely as the rest of a code (`k a 1`, `KAl`); elsewhere it must be those three
//! characters in a row with a real digit, so words such as "Know" are not taken for one.
//! The code then runs over code characters and separators, and ends:
//! - at any other character (punctuation, markup, CJK, a closing quote), unless that
//!   character sits between code characters (`KA1-AB#CD`) or is a letter that only looks
//!   like a Latin one (Cyrillic, Greek, accented Latin) next to code characters: those stay
//!   [`CodeError::InvalidCharacter`], so a mistake is named, never cut off silently;
//! - before a word (after white space or a `.`) whose letter case disagrees with the
//!   code's: `KA1-… Thanks` ends before `Thanks` (a code typed in one case keeps it);
//! - before a word that starts as a code does (`KS1-`): the next code.
//!
//! Everything in this module is linear in the text's length.

use alloc::vec::Vec;

use super::normalize::{fold_char, is_separator, symbol_value, Symbols};
use crate::error::CodeError;
use crate::kind::Kind;

/// What a folded character is to the finder (one lookup per character; the bits of a code
/// symbol's letter case added to [`CODE`]).
const CODE: u8 = 1;
const UPPER: u8 = 2;
const LOWER: u8 = 4;
/// White space or `.`: between words.
const GAP: u8 = 8;
/// Another ignored character (`-`, `_`, `·`, …): inside a word.
const SEP: u8 = 16;
/// A letter outside ASCII that can pass for a Latin one.
const LOOK: u8 = 32;

/// The class of a folded character: [`CODE`] (with its case), [`GAP`], [`SEP`], [`LOOK`] or
/// 0 (anything else).
#[inline(never)]
fn class(c: char) -> u8 {
    if symbol_value(c).is_some() {
        CODE | if c.is_ascii_uppercase() { UPPER } else { 0 }
            | if c.is_ascii_lowercase() { LOWER } else { 0 }
    } else if c.is_whitespace() || c == '.' {
        GAP
    } else if is_separator(c) {
        SEP
    } else if matches!(c as u32, 0xC0..=0x24F | 0x370..=0x52F) && !matches!(c, '×' | '÷') {
        // Latin-1 and Latin Extended letters, Greek, Cyrillic (ranges only: no Unicode
        // tables in the WebAssembly builds).
        LOOK
    } else {
        0
    }
}

/// A folded character and its [`class`].
type Char = (char, u8);

/// The first code of `text` and, when there is one, the next code after it, as symbols
/// (positions count characters from the start of what was pasted). `Ok(None)` when no
/// prefix is found (the caller says what the text is not).
pub(crate) fn find(text: &str) -> Result<Option<(Symbols, Option<Symbols>)>, CodeError> {
    // The text is at most MAX_TEXT_LEN bytes.
    let mut cs: Vec<Char> = Vec::with_capacity(text.len());
    for c in text.chars() {
        let c = fold_char(c);
        cs.push((c, class(c)));
    }
    let lead = cs
        .iter()
        .position(|c| c.1 & (GAP | SEP) == 0)
        .unwrap_or(cs.len());
    let mut first = None;
    let mut i = 0;
    while i < cs.len() {
        let mut found = None;
        if let Some((after, kind, version)) = prefix_at(&cs, i, i == lead) {
            let end = run_end(&cs, i, after)?;
            let mut s = Symbols {
                kind,
                version,
                values: Vec::with_capacity(end.saturating_sub(after)),
                positions: Vec::with_capacity(end.saturating_sub(after)),
            };
            for (k, &(c, _)) in cs.iter().enumerate().take(end).skip(after) {
                if let Some(v) = symbol_value(c) {
                    s.values.push(v);
                    s.positions.push(k + 1);
                }
            }
            // Elsewhere than at the start, a prefix with nothing after it is a word.
            if i == lead || !s.values.is_empty() {
                found = Some((s, end));
            }
        }
        match (found, first.is_none()) {
            (Some((s, end)), true) => {
                first = Some(s);
                i = end;
            }
            (Some((s, _)), false) => return Ok(first.map(|f| (f, Some(s)))),
            _ => i += 1,
        }
    }
    Ok(first.map(|f| (f, None)))
}

/// The index after a kind-and-version prefix starting at `i`, if one does: `loose` reads
/// it as the start of a bare code is read (separators between, I/L/O as digits).
#[inline(never)]
fn prefix_at(cs: &[Char], i: usize, loose: bool) -> Option<(usize, Kind, u8)> {
    if i > 0 && cs[i - 1].0.is_ascii_alphanumeric() {
        return None;
    }
    let mut j = i;
    let mut got = [' '; 3];
    for slot in got.iter_mut() {
        while loose && cs.get(j).is_some_and(|c| c.1 & (GAP | SEP) != 0) {
            j += 1;
        }
        *slot = cs.get(j)?.0;
        j += 1;
    }
    let [k, letter, version] = got;
    let v = symbol_value(version).filter(|&v| v < 10 && (loose || version.is_ascii_digit()))?;
    let kind = Kind::from_letter(letter.to_ascii_uppercase() as u8)
        .filter(|_| letter.is_ascii() && k.eq_ignore_ascii_case(&'K'))?;
    Some((j, kind, v))
}

/// Where the code whose prefix spans `start..after` ends (an index into `cs`).
#[inline(never)]
fn run_end(cs: &[Char], start: usize, after: usize) -> Result<usize, CodeError> {
    // The letter cases of the code's first word (prefix included), then of the word being
    // read; a later word with both cases, or with the case the code lacks, is prose.
    let mut code_case = cs[start..after].iter().fold(0, |a, c| a | c.1);
    let mut word_case = 0u8;
    let mut word_start: Option<usize> = None; // None while in the first word
    let prose = |code: u8, word: u8| {
        let (code, word) = (code & (UPPER | LOWER), word & (UPPER | LOWER));
        word == UPPER | LOWER || (code != UPPER | LOWER && word & !code != 0)
    };
    let mut prev_code = true; // the last character, separators in a word aside, was code
    let mut k = after;
    while let Some(&(c, class)) = cs.get(k) {
        if class & CODE != 0 {
            match word_start {
                None => code_case |= class,
                Some(_) => word_case |= class,
            }
            prev_code = true;
        } else if class == GAP {
            if let Some(w) = word_start.filter(|_| prose(code_case, word_case)) {
                return Ok(w);
            }
            // A word that starts as a code does (`KS1-`) is the next code.
            if prefix_at(cs, k + 1, false).is_some_and(|a| cs.get(a.0).is_some_and(|x| x.0 == '-'))
            {
                return Ok(k + 1);
            }
            word_start = Some(k + 1);
            word_case = 0;
            prev_code = false;
        } else if class != SEP {
            let next_code = cs.get(k + 1).is_some_and(|n| n.1 & CODE != 0);
            let in_prose = word_start.filter(|_| prose(code_case, word_case));
            if in_prose.is_none()
                && ((prev_code && next_code) || (class == LOOK && (prev_code || next_code)))
            {
                return Err(CodeError::InvalidCharacter {
                    character: c,
                    position: k + 1,
                });
            }
            return Ok(in_prose.unwrap_or(k));
        }
        k += 1;
    }
    Ok(word_start
        .filter(|_| prose(code_case, word_case))
        .unwrap_or(k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    /// The code characters found, prefix included.
    fn found(text: &str) -> Option<String> {
        find(text).ok().flatten().map(|(s, _)| {
            let mut t = String::from("K");
            t.push(s.kind.letter() as char);
            t.push((b'0' + s.version) as char);
            t.extend(
                s.values
                    .iter()
                    .map(|&v| super::super::ALPHABET[v as usize] as char),
            );
            t
        })
    }

    #[test]
    fn the_code_in_text() {
        let code = "KA1-ABCDEFGHJ-KMNPQ";
        for (before, after) in [
            ("", ""),
            ("“", "”"),
            ("「", "」"),
            ("\"", "\""),
            ("'", "'"),
            ("`", "`"),
            ("**", "**"),
            ("<code>", "</code>"),
            ("<p>Your code is ", ".</p>"),
            ("您的授权码是：", "."),
            ("您的授权码是：", "。谢谢"),
            ("Your code is ", ". Thanks!"),
            ("Your code is ", "\nRegards"),
            ("Your code is ", " thanks"),
        ] {
            let text = [before, code, after].concat();
            assert_eq!(found(&text).as_deref(), Some("KA1ABCDEFGHJKMNPQ"), "{text}");
        }
        // Lower case codes keep lower case words, upper case ones upper case words.
        assert_eq!(found("ka1-abc def. Thanks").as_deref(), Some("KA1ABCDEF"));
        assert_eq!(found("KA1-ABC DEF").as_deref(), Some("KA1ABCDEF"));
        assert_eq!(found("k a 1 abc").as_deref(), Some("KA1ABC"));
        for none in ["", "hello", "I Know", "KX1-ABC", "OKA1-ABC", "about KA1."] {
            assert_eq!(found(none), None, "{none}");
        }
    }

    #[test]
    fn mistakes_inside_a_code_are_named() {
        let err = |t: &str| match find(t) {
            Err(CodeError::InvalidCharacter {
                character,
                position,
            }) => Some((character, position)),
            _ => None,
        };
        assert_eq!(err("KA1-AB#CD"), Some(('#', 7)));
        assert_eq!(err("KA1-#ABCD"), Some(('#', 5)));
        assert_eq!(err("KA1-AB\u{410}CD"), Some(('\u{410}', 7)));
        assert_eq!(err("code: KA1-ABCD\u{410}"), Some(('\u{410}', 15)));
        // Cyrillic prose after a code is not part of it.
        assert_eq!(found("KA1-ABCD Привет").as_deref(), Some("KA1ABCD"));
    }

    #[test]
    fn a_second_code_is_seen() {
        let second = |t: &str| find(t).unwrap().unwrap().1.map(|s| s.positions[0]);
        assert_eq!(second("KA1-ABCD, KS1-EFGH"), Some(15));
        assert_eq!(second("KA1-ABCD\nKS1-EFGH"), Some(14));
        assert_eq!(second("KA1-ABCD, see KS1."), None);
    }
}
