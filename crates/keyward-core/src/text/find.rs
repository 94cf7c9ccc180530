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

use super::normalize::{fold_char, is_separator, symbol_value};
use crate::error::CodeError;
use crate::kind::Kind;

/// Where a code is in the pasted text: byte range, and the characters before it (so that
/// positions in messages count from the start of what was pasted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    pub start: usize,
    pub end: usize,
    pub chars_before: usize,
}

/// The first code of `text` and, when there is one, the start of another code after it.
/// `Ok(None)` when no prefix is found (the caller says what the text is not).
pub(crate) fn find(text: &str) -> Result<Option<(Span, Option<Span>)>, CodeError> {
    // Folded characters with their byte offsets; the text is at most MAX_TEXT_LEN bytes.
    let cs: Vec<(usize, char)> = text
        .char_indices()
        .map(|(i, c)| (i, fold_char(c)))
        .collect();
    let byte = |i: usize| cs.get(i).map_or(text.len(), |&(b, _)| b);
    let span = |from: usize, to: usize| Span {
        start: byte(from),
        end: byte(to),
        chars_before: from,
    };
    let lead = cs
        .iter()
        .position(|&(_, c)| !is_separator(c))
        .unwrap_or(cs.len());
    let mut first = None;
    let mut i = 0;
    while i < cs.len() {
        let found = match prefix_at(&cs, i, i == lead) {
            Some(after) => {
                let end = run_end(&cs, i, after)?;
                // Elsewhere than at the start, a prefix with nothing after it is a word.
                (i == lead || has_symbol(&cs[after..end])).then_some(end)
            }
            None => None,
        };
        match (found, first) {
            (Some(end), None) => {
                first = Some(span(i, end));
                i = end;
            }
            (Some(end), Some(f)) => return Ok(Some((f, Some(span(i, end))))),
            _ => i += 1,
        }
    }
    Ok(first.map(|f| (f, None)))
}

fn is_code(c: char) -> bool {
    symbol_value(c).is_some()
}

fn has_symbol(cs: &[(usize, char)]) -> bool {
    cs.iter().any(|&(_, c)| is_code(c))
}

/// A letter outside ASCII that can pass for a Latin one: Latin-1 and Latin Extended
/// letters, Greek, Cyrillic (ranges only: no Unicode tables in the WebAssembly builds).
fn looks_like_a_letter(c: char) -> bool {
    matches!(c as u32, 0xC0..=0x24F | 0x370..=0x52F) && !matches!(c, '×' | '÷')
}

/// The index after a kind-and-version prefix starting at `i`, if one does: `loose` reads
/// it as the start of a bare code is read (separators between, I/L/O as digits).
fn prefix_at(cs: &[(usize, char)], i: usize, loose: bool) -> Option<usize> {
    if i > 0 && cs[i - 1].1.is_ascii_alphanumeric() {
        return None;
    }
    let mut j = i;
    let next = |j: &mut usize| -> Option<char> {
        while loose && cs.get(*j).is_some_and(|&(_, c)| is_separator(c)) {
            *j += 1;
        }
        let c = cs.get(*j)?.1;
        *j += 1;
        Some(c)
    };
    let k = next(&mut j)?;
    let letter = next(&mut j)?;
    let version = next(&mut j)?;
    let digit = if loose {
        symbol_value(version).is_some_and(|v| v < 10)
    } else {
        version.is_ascii_digit()
    };
    (k.eq_ignore_ascii_case(&'K')
        && letter.is_ascii()
        && Kind::from_letter(letter.to_ascii_uppercase() as u8).is_some()
        && digit)
        .then_some(j)
}

/// Letter cases seen in a word: bit 0 upper, bit 1 lower.
fn cases(c: char) -> u8 {
    u8::from(c.is_ascii_uppercase()) | u8::from(c.is_ascii_lowercase()) << 1
}

/// Where the code whose prefix spans `start..after` ends (an index into `cs`).
fn run_end(cs: &[(usize, char)], start: usize, after: usize) -> Result<usize, CodeError> {
    // The letter cases of the code's first word (prefix included), then of the word being
    // read; a later word with both cases, or with the case the code lacks, is prose.
    let mut code_case = cs[start..after].iter().fold(0, |a, &(_, c)| a | cases(c));
    let mut word_case = 0u8;
    let mut word_start: Option<usize> = None; // None while in the first word
    let prose = |code: u8, word: u8| word == 3 || (code != 3 && word & !code != 0);
    let mut prev_code = true; // the last character, separators in a word aside, was code
    let mut k = after;
    while let Some(&(_, c)) = cs.get(k) {
        if is_code(c) {
            match word_start {
                None => code_case |= cases(c),
                Some(_) => word_case |= cases(c),
            }
            prev_code = true;
        } else if is_separator(c) {
            if c.is_whitespace() || c == '.' {
                if let Some(w) = word_start.filter(|_| prose(code_case, word_case)) {
                    return Ok(w);
                }
                // A word that starts as a code does (`KS1-`) is the next code.
                if prefix_at(cs, k + 1, false)
                    .is_some_and(|a| cs.get(a).is_some_and(|x| x.1 == '-'))
                {
                    return Ok(k + 1);
                }
                word_start = Some(k + 1);
                word_case = 0;
                prev_code = false;
            }
        } else {
            let next_code = cs.get(k + 1).is_some_and(|&(_, n)| is_code(n));
            let in_prose = word_start.filter(|_| prose(code_case, word_case));
            if in_prose.is_none()
                && ((prev_code && next_code)
                    || (looks_like_a_letter(c) && (prev_code || next_code)))
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

    fn found(text: &str) -> Option<&str> {
        find(text)
            .ok()
            .flatten()
            .map(|(s, _)| &text[s.start..s.end])
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
            let got = found(&text).map(|s| s.trim_end_matches(['.', ' ', '\n']));
            assert_eq!(got, Some(code), "{text}");
        }
        // Lower case codes keep lower case words, upper case ones upper case words.
        assert_eq!(found("ka1-abc def. Thanks"), Some("ka1-abc def. "));
        assert_eq!(found("KA1-ABC DEF"), Some("KA1-ABC DEF"));
        assert_eq!(found("k a 1 abc"), Some("k a 1 abc"));
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
        assert_eq!(found("KA1-ABCD Привет"), Some("KA1-ABCD "));
    }

    #[test]
    fn a_second_code_is_seen() {
        let (first, second) = find("KA1-ABCD\nKS1-EFGH").unwrap().unwrap();
        assert_eq!((first.end, second.map(|s| s.start)), (9, Some(9)));
        let (_, second) = find("KA1-ABCD, KS1-EFGH").unwrap().unwrap();
        assert_eq!(second.map(|s| s.chars_before), Some(10));
        let (_, second) = find("KA1-ABCD, see KS1.").unwrap().unwrap();
        assert_eq!(second, None);
    }
}
