//! The text form people paste and type: Crockford base32, hyphen-grouped, one check symbol
//! per group, behind a three-character kind-and-version prefix (`KA1-…`).
//!
//! Why a check symbol per group: a buyer reading a code over the phone or retyping it from a
//! screenshot makes single-character mistakes. Each group of `n` data symbols is followed by a
//! check symbol `c` such that, over GF(32),
//!
//! ```text
//! seed(kind, group) + Σ α^i · x_i = 0      (x_0..x_{n-1} data, x_n = c)
//! ```
//!
//! with α a primitive element. Because all weights α^i are distinct and non-zero, any single
//! substitution changes the sum by α^i·δ ≠ 0, and any adjacent transposition by
//! α^i·(1+α)·(x_i + x_{i+1}) ≠ 0: both are always detected, and the failing group is named
//! before any signature is checked. The seed mixes in the kind and the group index, so a
//! mistyped prefix or two swapped groups are caught too (with high probability).
//!
//! Public here: [`sniff_kind`] (which kind a pasted text is), [`code_characters`] and
//! [`code_beginning`] (what a half-typed code holds so far, for input fields that say "keep
//! typing"). Every artifact's `decode` reads text through this module.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{CodeError, Error, Typo};
pub(crate) use crate::kind::Kind;

// The module tree, each part using only those below it: `gf32` (the checks), `normalize`
// (what pasted characters mean), `find` (where the code is in pasted text), this module
// (encoding, decoding, locating typos, telling a cut-off code), `typo` (the correction
// search) and `armour` (the BEGIN/END lines around certificates and updates).
pub(crate) mod armour;
mod find;
mod gf32;
pub(crate) mod normalize;
mod typo;

use crate::limits::MAX_TEXT_LEN;
use gf32::{check_symbol, syndrome};
use normalize::symbol_value;
pub(crate) use normalize::{fold_char, Symbols};
use typo::looks_shifted;
pub(crate) use typo::{last_group_shift_corrections, single_corrections, Edit};

/// The symbols of the one code in pasted `text`, which must be of `kind`: the armour
/// checked and blanked ([`armour::strip_armour`]), then the code found and normalised. Every
/// decoder reads text through here, so all of them (and [`sniff_kind`]) agree on what a
/// text holds: damaged armour is refused by each of them alike.
pub(crate) fn read_kind(text: &str, kind: Kind) -> Result<Symbols, Error> {
    let sym = normalize(&armour::strip_armour(text)?)?;
    if sym.kind != kind {
        return Err(Error::WrongKind {
            expected: kind,
            found: sym.kind,
        });
    }
    Ok(sym)
}

/// Which kind of code `text` claims to be, from its prefix alone (no checks; armour and
/// header lines are skipped).
pub fn sniff_kind(text: &str) -> Option<Kind> {
    let blanked = armour::strip_armour(text).ok()?;
    match normalize(&blanked) {
        Ok(s) => Some(s.kind),
        Err(CodeError::PastedTwice { kind, .. }) => Some(kind),
        Err(_) => None,
    }
}

/// The code characters of `text` as they are read: full-width forms folded, lower case
/// raised, I and L read as 1 and O as 0; separators and any other character left out.
/// The page marks where a correction differs from what was pasted with it (so it never
/// folds or normalises text itself).
pub fn code_characters(text: &str) -> String {
    // Only the code's own characters when it is found in surrounding text.
    // (Loops rather than iterator `collect`s: each is its own generic copy in the size-gated
    // WebAssembly builds.)
    if let Some(Ok(Some((s, _)))) = (text.len() <= MAX_TEXT_LEN).then(|| find::find(text)) {
        let mut out = render(&s);
        out.retain(|c| c != '-');
        return out;
    }
    let mut out = String::new();
    for c in text.chars().take(MAX_TEXT_LEN) {
        if let Some(v) = normalize::symbol_value(fold_char(c)) {
            out.push(ALPHABET[v as usize] as char);
        }
    }
    out
}

/// Whether `text` could be the beginning of a code still being typed: the start of a
/// known prefix (`K`, `KA`, `KA1`, …) and every complete group passing its check (the
/// last, unfinished group is not judged); then the number of code characters typed. A
/// full code with a mistyped group is not a beginning, nor is text with a character no
/// code holds. The page says "incomplete, keep typing" for these instead of an error.
pub fn code_beginning(text: &str) -> Option<usize> {
    // Damaged armour says what is wrong with it; a code inside it is not being typed.
    let blanked = armour::strip_armour(text).ok()?;
    match normalize(&blanked) {
        Ok(s) => {
            let size = s.kind.group_len() + 1;
            let checked = s
                .values
                .chunks_exact(size)
                .enumerate()
                .all(|(g, group)| syndrome(s.kind, g, group) == 0);
            checked.then_some(3 + s.values.len())
        }
        // Fewer than three code characters: the start of a prefix?
        Err(CodeError::UnknownPrefix) => {
            let typed = code_characters(&blanked);
            let typed = typed.as_bytes();
            let prefix = |k: Kind| [b'K', k.letter(), b'0' + VERSION].starts_with(typed);
            (typed.len() < 3 && Kind::ALL.into_iter().any(prefix)).then_some(typed.len())
        }
        Err(_) => None,
    }
}

/// The data bytes of the complete groups of `s` when every one passes its check (the
/// beginning of a code, perhaps cut off), else `None`.
pub(crate) fn beginning_bytes(s: &Symbols) -> Option<Vec<u8>> {
    let size = s.kind.group_len() + 1;
    let mut data = Vec::with_capacity(s.values.len());
    for (g, group) in s.values.chunks_exact(size).enumerate() {
        if syndrome(s.kind, g, group) != 0 {
            return None;
        }
        data.extend_from_slice(&group[..size - 1]);
    }
    // Whole bytes only: the symbols they take, without the bits of a partly typed byte.
    let bytes = data.len() * 5 / 8;
    let len = (bytes * 8).div_ceil(5);
    data.truncate(len);
    if let Some(last) = data.last_mut() {
        *last &= 0x1f << (len * 5 - bytes * 8) & 0x1f;
    }
    values_to_bytes(&data)
}

/// Code characters of every system identification code (check symbols included, prefix and
/// separators not): 20 data symbols in four groups (see [`Kind::group_len`]). keyward-core's
/// `tests/text_around.rs` checks it against a computed code.
pub(crate) const SYSTEM_ID_SYMBOLS: usize = 24;

/// Code characters (check symbols included, prefix and separators not) of a whole code of
/// `kind` holding `bytes` bytes.
pub(crate) fn symbols_for_bytes(kind: Kind, bytes: usize) -> usize {
    let data = (bytes * 8).div_ceil(5);
    data + data.div_ceil(kind.group_len())
}

/// [`CodeError::Incomplete`] for `s` when a whole code of its kind has `total` code
/// characters (`exact`, or at least that many) and `s` has fewer.
fn incomplete(s: &Symbols, total: usize, exact: bool) -> Option<CodeError> {
    let missing = total.checked_sub(s.values.len()).filter(|&m| m > 0)?;
    Some(CodeError::Incomplete {
        kind: s.kind,
        missing,
        at_least: !exact,
    })
}

/// Whether `e`, the failure to decode `s`, may be a code cut off: a located typo without a
/// correction, or a wrong length. Then `total` (the code characters of a whole code,
/// judged from the bytes of the beginning, and whether exactly) tells whether and how much
/// is missing. Contents that end too soon while every group checks are not said to be
/// cut off: damaged contents (a changed length byte) look the same.
pub(crate) fn cut_off(
    s: &Symbols,
    e: &Error,
    total: fn(&[u8]) -> (usize, bool),
) -> Option<CodeError> {
    if !matches!(
        e,
        Error::Code(
            CodeError::Typo {
                suggestion: None,
                ..
            } | CodeError::BadLength { .. }
        )
    ) {
        return None;
    }
    let (total, exact) = total(&beginning_bytes(s)?);
    incomplete(s, total, exact)
}

/// Finds the code in `text` ([`find`]), splits its prefix off and maps every
/// other character to its symbol value. A code pasted twice (the same code again, right
/// after it or further on) is [`CodeError::PastedTwice`]; two different codes are
/// [`CodeError::TwoCodes`].
pub(crate) fn normalize(text: &str) -> Result<Symbols, CodeError> {
    if text.len() > MAX_TEXT_LEN {
        return Err(CodeError::TooLong {
            len: text.len(),
            max: MAX_TEXT_LEN,
        });
    }
    let Some((s, other)) = find::find(text)? else {
        // No prefix anywhere: say why the text is not a code.
        return Err(match text.trim().is_empty() {
            true => CodeError::Empty,
            false => CodeError::UnknownPrefix,
        });
    };
    if s.version != VERSION {
        return Err(CodeError::UnsupportedVersion {
            kind: s.kind,
            version: s.version,
        });
    }
    let twice = |copy: &Symbols| CodeError::PastedTwice {
        kind: copy.kind,
        // The one copy, when its checks pass (the caller keeps it only if it is valid).
        suggestion: decode_values(copy).is_ok().then(|| render(copy)),
    };
    if let Some(o) = other {
        let same = o.kind == s.kind && o.version == s.version && o.values == s.values;
        return Err(if same { twice(&s) } else { CodeError::TwoCodes });
    }
    // The same code twice in a row, with only separators between: `KA1-…KA1-…`.
    let n = s.values.len();
    let m = n.saturating_sub(3) / 2;
    if m > 0
        && n == 2 * m + 3
        && s.values[m..m + 3]
            == [
                K,
                symbol_value(s.kind.letter() as char).unwrap_or(K),
                s.version,
            ]
        && s.values[..m] == s.values[m + 3..]
    {
        let mut copy = s;
        copy.values.truncate(m);
        copy.positions.truncate(m);
        return Err(twice(&copy));
    }
    Ok(s)
}

/// The symbol value of `K`, the first character of every prefix.
const K: u8 = 19;

/// Crockford's base32 alphabet: no I, L, O, U.
pub(crate) const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The one version of every kind this build reads and writes.
pub(crate) const VERSION: u8 = 1;

/// Bytes to base32 symbol values, most significant bit first, zero-padded.
fn bytes_to_values(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() * 8 / 5 + 1);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &b in bytes {
        acc = (acc << 8) | b as u32;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(((acc >> bits) & 31) as u8);
        }
    }
    if bits > 0 {
        out.push(((acc << (5 - bits)) & 31) as u8);
    }
    out
}

/// The inverse of [`bytes_to_values`]; `None` when the length or padding is not canonical.
fn values_to_bytes(values: &[u8]) -> Option<Vec<u8>> {
    pack(values, values.len().max(1), 0)
}

/// The bytes of `values` taken in groups of `group` symbols whose last `check` are skipped
/// (0: all are data; 1: the codes' check symbols), in one pass without a copy of the data
/// symbols (a 64 KB code's typo search packs each candidate).
fn pack(values: &[u8], group: usize, check: usize) -> Option<Vec<u8>> {
    let groups = values.len().div_ceil(group);
    let data = values.len().checked_sub(groups * check)?;
    let n_bytes = data * 5 / 8;
    if (n_bytes * 8).div_ceil(5) != data {
        return None;
    }
    let mut out = Vec::with_capacity(n_bytes);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for chunk in values.chunks(group) {
        for &v in chunk.get(..chunk.len().checked_sub(check)?)? {
            acc = (acc << 5) | v as u32;
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
                acc &= (1 << bits) - 1;
            }
        }
    }
    // Leftover padding bits must be zero, or two texts would mean the same bytes.
    if acc != 0 {
        return None;
    }
    Some(out)
}

/// The data bytes of `s` where `bytes` are those of a text of the same length that differs
/// at most in symbols `p` and `p + 1`, both before the last data symbol (the one that can
/// hold padding bits): those symbols' bits rewritten, the rest copied (a long code's typo
/// search, without packing each candidate anew).
pub(crate) fn repacked(bytes: &[u8], s: &Symbols, p: usize) -> Vec<u8> {
    let size = s.kind.group_len() + 1;
    let mut out = bytes.to_vec();
    for p in p..p + 2 {
        if p % size == size - 1 {
            continue; // a check symbol: no data bits
        }
        // Its data index: the symbols before it, less the check symbols among them.
        let bit0 = (p - p / size) * 5;
        for k in 0..5 {
            let bit = bit0 + k;
            let mask = 0x80u8 >> (bit % 8);
            if let Some(b) = out.get_mut(bit / 8) {
                *b = if s.values.get(p).is_some_and(|v| v >> (4 - k) & 1 == 1) {
                    *b | mask
                } else {
                    *b & !mask
                };
            }
        }
    }
    out
}

/// The data bytes of `s` (check symbols skipped) without checking any group: for symbols
/// known to check, such as the typo search's candidates, each built so that every group
/// checks (`typo.rs`; keyward-core's tests check that every candidate does). `None` when no
/// whole number of bytes has this many symbols.
pub(crate) fn checked_symbols_bytes(s: &Symbols) -> Option<Vec<u8>> {
    let size = s.kind.group_len() + 1;
    if s.values.len() % size == 1 {
        return None; // a lone check symbol
    }
    pack(&s.values, size, 1)
}

/// Splits data symbols into groups and appends each group's check symbol.
fn with_checks(kind: Kind, data: &[u8]) -> Vec<Vec<u8>> {
    data.chunks(kind.group_len())
        .enumerate()
        .map(|(g, chunk)| {
            let mut group = chunk.to_vec();
            group.push(check_symbol(kind, g, chunk));
            group
        })
        .collect()
}

/// Encodes `bytes` as a code of `kind`: `KA1-XXXXXXXXX-…`.
pub(crate) fn encode(kind: Kind, bytes: &[u8]) -> String {
    encode_groups(kind, bytes, usize::MAX)
}

/// Like [`encode`] but starts a new line every `per_line` groups (for armour bodies).
pub(crate) fn encode_groups(kind: Kind, bytes: &[u8], per_line: usize) -> String {
    encode_values(kind, &bytes_to_values(bytes), per_line)
}

/// Encodes raw 5-bit symbol values (for codes that are not a whole number of bytes).
pub(crate) fn encode_values(kind: Kind, values: &[u8], per_line: usize) -> String {
    let groups = with_checks(kind, values);
    let mut s = String::with_capacity(4 + groups.len() * (kind.group_len() + 2));
    s.push('K');
    s.push(kind.letter() as char);
    s.push((b'0' + VERSION) as char);
    for (i, g) in groups.iter().enumerate() {
        s.push(if i > 0 && i % per_line == 0 {
            '\n'
        } else {
            '-'
        });
        s.extend(g.iter().map(|&v| ALPHABET[v as usize] as char));
    }
    s
}

/// Splits `values` into (data+check) groups; `None` when a trailing group would be a lone
/// check symbol (some character is missing or extra).
pub(super) fn split_groups(kind: Kind, values: &[u8]) -> Option<Vec<core::ops::Range<usize>>> {
    let size = kind.group_len() + 1;
    if values.is_empty() || values.len() % size == 1 {
        return None;
    }
    Some(
        (0..values.len())
            .step_by(size)
            .map(|start| start..(start + size).min(values.len()))
            .collect(),
    )
}

/// Indices (0-based) of the groups whose check symbol does not match.
pub(super) fn failing_groups(
    kind: Kind,
    values: &[u8],
    groups: &[core::ops::Range<usize>],
) -> Vec<usize> {
    groups
        .iter()
        .enumerate()
        .filter(|(g, r)| syndrome(kind, *g, &values[(*r).clone()]) != 0)
        .map(|(g, _)| g)
        .collect()
}

/// Checks every group and returns the data bytes, or the precise reason they are wrong.
pub(crate) fn decode_symbols(s: &Symbols) -> Result<Vec<u8>, CodeError> {
    check_groups(s)?;
    checked_symbols_bytes(s).ok_or_else(|| {
        // Every group checks, but no whole number of bytes has this many symbols: a
        // character was dropped or doubled in the last group (and it passed by chance).
        let size = s.kind.group_len() + 1;
        let start = (s.values.len() - 1) / size * size;
        CodeError::Typo {
            kind: s.kind,
            groups: alloc::vec![Typo {
                group: start / size + 1,
                first_position: s.position(start),
                last_position: s.position(s.values.len() - 1),
            }],
            suggestion: None,
            missing_or_extra: true,
        }
    })
}

/// Checks every group and returns the data symbol values (check symbols removed).
pub(crate) fn decode_values(s: &Symbols) -> Result<Vec<u8>, CodeError> {
    check_groups(s)?;
    let size = s.kind.group_len() + 1;
    let mut data = Vec::with_capacity(s.values.len());
    for group in s.values.chunks(size) {
        data.extend_from_slice(&group[..group.len() - 1]);
    }
    Ok(data)
}

/// Checks every group, or says precisely why they are wrong.
fn check_groups(s: &Symbols) -> Result<(), CodeError> {
    let bad_length = CodeError::BadLength {
        kind: s.kind,
        symbols: s.values.len(),
    };
    let lone = s.values.len() % (s.kind.group_len() + 1) == 1;
    // A lone trailing check symbol means the length is off: judge the groups without it,
    // to say where the missing or extra character probably is.
    let usable = if lone {
        &s.values[..s.values.len() - 1]
    } else {
        &s.values[..]
    };
    let groups = split_groups(s.kind, usable).ok_or(bad_length)?;
    let mut failing = failing_groups(s.kind, usable, &groups);
    if failing.is_empty() && !lone {
        return Ok(());
    }
    if failing.is_empty() {
        failing.push(groups.len() - 1);
    }
    // A dropped or doubled character shifts every later group: from there on, (nearly)
    // all fail. Three or more failing groups running to the end is that, not three typos.
    let missing_or_extra = lone || (failing.len() >= 3 && looks_shifted(&failing, groups.len()));
    let typos = failing
        .iter()
        .map(|&g| {
            let r = &groups[g];
            Typo {
                group: g + 1,
                first_position: s.position(r.start),
                last_position: s.position(r.end - 1),
            }
        })
        .collect();
    Err(CodeError::Typo {
        kind: s.kind,
        groups: typos,
        suggestion: None,
        missing_or_extra,
    })
}

/// Renders symbols back to canonical grouped text (used for offered corrections).
pub(crate) fn render(s: &Symbols) -> String {
    let mut t = String::new();
    t.push('K');
    t.push(s.kind.letter() as char);
    t.push((b'0' + s.version) as char);
    for chunk in s.values.chunks(s.kind.group_len() + 1) {
        t.push('-');
        t.extend(chunk.iter().map(|&v| ALPHABET[v as usize] as char));
    }
    t
}

/// A small deterministic generator for the text layer's randomised tests: each call gives
/// a number below its bound.
#[cfg(test)]
pub(crate) fn test_numbers(mut seed: u64) -> impl FnMut(usize) -> usize {
    move |bound| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % bound as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    /// Rewriting one or two symbols' bits gives the bytes a whole new packing gives, for
    /// every kind, length and position before the last data symbol.
    #[test]
    fn repacked_bytes_are_packed_bytes() {
        let mut next = test_numbers(0x1234_5678);
        let mut tried = 0;
        for round in 0..6000 {
            let kind = Kind::ALL[round % Kind::ALL.len()];
            let bytes: Vec<u8> = (0..1 + next(40)).map(|_| next(256) as u8).collect();
            // The pasted text: a code, most often with a wrong symbol of its own (that
            // keeps its padding: not the last data symbol or the check after it).
            let mut pasted = normalize(&encode(kind, &bytes)).unwrap();
            let n = pasted.values.len();
            if n < 4 {
                continue;
            }
            if round % 3 != 0 {
                pasted.values[next(n - 2)] = next(32) as u8;
            }
            // A candidate: the pasted text with one or two neighbours rewritten.
            let mut t = pasted.clone();
            let p = next(n - 3);
            t.values[p] = next(32) as u8;
            if round % 2 == 0 {
                t.values[p + 1] = next(32) as u8;
            }
            let pasted_bytes = checked_symbols_bytes(&pasted).unwrap();
            assert_eq!(
                Some(repacked(&pasted_bytes, &t, p)),
                checked_symbols_bytes(&t),
                "{kind:?} {p} of {n}"
            );
            tried += 1;
        }
        assert!(tried > 3000, "{tried}");
    }

    #[test]
    fn code_characters_fold_as_the_decoder_reads() {
        assert_eq!(ALPHABET[K as usize], b'K');
        assert_eq!(code_characters("ｉｌｏ ab-\n“x”u#"), "110ABX");
        // Of a code found in text, its own characters only.
        assert_eq!(code_characters("ｋａ１－ｉｌｏ ab-\n“x”u#"), "KA1110AB");
        assert_eq!(code_characters("Code: “KA1-XY”. Thanks"), "KA1XY");
        assert_eq!(code_characters(""), "");
    }

    #[test]
    fn beginnings_of_codes() {
        let code = encode(Kind::AuthorizationCode, &[7u8; 40]);
        for n in 1..code.len() {
            let typed = code_characters(&code[..n]).len();
            assert_eq!(code_beginning(&code[..n]), Some(typed), "{}", &code[..n]);
        }
        assert_eq!(code_beginning("ks"), Some(2));
        for not in ["", "X", "KX", "KA2", "KA1-#A", "mac:", "kiwi", "hello"] {
            assert_eq!(code_beginning(not), None, "{not}");
        }
        // A complete group with a typo is not a beginning.
        let mut typo = code.clone().into_bytes();
        typo[5] = if typo[5] == b'0' { b'1' } else { b'0' };
        let typo = String::from_utf8(typo).unwrap_or_default();
        assert_eq!(code_beginning(&typo[..20]), None);
    }

    #[test]
    fn round_trip_bytes() {
        for n in 0..40 {
            let bytes: Vec<u8> = (0..n).map(|i| (i * 37 + 11) as u8).collect();
            let v = bytes_to_values(&bytes);
            assert_eq!(values_to_bytes(&v).unwrap(), bytes);
        }
    }

    #[test]
    fn non_zero_padding_is_rejected() {
        // one byte = 2 symbols, 2 padding bits
        assert!(values_to_bytes(&[0, 1]).is_none());
        assert_eq!(values_to_bytes(&[0, 4]).unwrap(), vec![1]);
    }

    #[test]
    fn encode_decode() {
        let bytes = b"hello keyward, this is a test".to_vec();
        let text = encode(Kind::AuthorizationCode, &bytes);
        assert!(text.starts_with("KA1-"));
        let s = normalize(&text).unwrap();
        assert_eq!(decode_symbols(&s).unwrap(), bytes);
    }

    #[test]
    fn forgiving_input() {
        let bytes = b"0123456789".to_vec();
        let text = encode(Kind::SignedUpdate, &bytes);
        // lower case, full width, spaces and line breaks, O for 0
        let messy: String = text
            .to_lowercase()
            .chars()
            .map(|c| {
                if c == '0' {
                    'o'
                } else if c.is_ascii_alphanumeric() {
                    char::from_u32(c as u32 + 0xFEE0).unwrap()
                } else {
                    c
                }
            })
            .collect::<String>()
            .replace('-', " \r\n ー");
        let s = normalize(&messy).unwrap();
        assert_eq!(s.kind, Kind::SignedUpdate);
        assert_eq!(decode_symbols(&s).unwrap(), bytes);
    }

    #[test]
    fn every_substitution_and_transposition_is_located() {
        let bytes: Vec<u8> = (0..40u8).collect();
        let text = encode(Kind::AuthorizationCode, &bytes);
        let good = normalize(&text).unwrap();
        let size = Kind::AuthorizationCode.group_len() + 1;
        for p in 0..good.values.len() {
            for v in 0..32u8 {
                if v == good.values[p] {
                    continue;
                }
                let mut bad = good.clone();
                bad.values[p] = v;
                match decode_symbols(&bad) {
                    Err(CodeError::Typo { groups, .. }) => {
                        assert_eq!(groups.len(), 1);
                        assert_eq!(groups[0].group, p / size + 1);
                    }
                    other => panic!("substitution at {p} not detected: {other:?}"),
                }
                assert!(single_corrections(&bad).iter().any(|e| {
                    let mut v = Vec::new();
                    e.apply(&bad.values, &mut v);
                    v == good.values
                }));
            }
            if p + 1 < good.values.len() && good.values[p] != good.values[p + 1] {
                let mut bad = good.clone();
                bad.values.swap(p, p + 1);
                assert!(
                    matches!(decode_symbols(&bad), Err(CodeError::Typo { .. })),
                    "transposition at {p} not detected"
                );
                assert!(single_corrections(&bad).iter().any(|e| {
                    let mut v = Vec::new();
                    e.apply(&bad.values, &mut v);
                    v == good.values
                }));
            }
        }
    }

    #[test]
    fn wrong_prefix_letter_fails_checks() {
        let text = encode(Kind::AuthorizationCode, b"abcdefghijkl");
        let swapped = text.replacen("KA1", "KN1", 1);
        assert!(matches!(
            decode_symbols(&normalize(&swapped).unwrap()),
            Err(CodeError::Typo { .. })
        ));
    }
}
