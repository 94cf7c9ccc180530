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

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::{CodeError, Typo};

/// Crockford's base32 alphabet: no I, L, O, U.
pub(crate) const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Longest text accepted before any work is done (an armoured certificate is a few hundred
/// characters; 64 KiB leaves generous room for pasted surroundings).
pub const MAX_TEXT_LEN: usize = 64 * 1024;

/// The kinds of keyward code, named by the second character of the prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Kind {
    /// `KA` — authorization code (授权码).
    AuthorizationCode,
    /// `KS` — system identification code (系统识别码).
    SystemId,
    /// `KR` — activation request (激活请求).
    ActivationRequest,
    /// `KC` — activation certificate (激活证书), usually inside an armour.
    ActivationCertificate,
    /// `KN` — signed update (续费/冻结/释放通知).
    SignedUpdate,
    /// `KD` — deactivation code (停用码): a machine gives its seat back.
    DeactivationCode,
}

impl Kind {
    /// All kinds, in a fixed order.
    pub const ALL: [Kind; 6] = [
        Kind::AuthorizationCode,
        Kind::SystemId,
        Kind::ActivationRequest,
        Kind::ActivationCertificate,
        Kind::SignedUpdate,
        Kind::DeactivationCode,
    ];

    /// The letter after `K` in the prefix.
    pub const fn letter(self) -> u8 {
        match self {
            Kind::AuthorizationCode => b'A',
            Kind::SystemId => b'S',
            Kind::ActivationRequest => b'R',
            Kind::ActivationCertificate => b'C',
            Kind::SignedUpdate => b'N',
            Kind::DeactivationCode => b'D',
        }
    }

    /// Stable machine name (`authorization_code`, …), the same in JSON, WIT and the page.
    pub const fn code(self) -> &'static str {
        match self {
            Kind::AuthorizationCode => "authorization_code",
            Kind::SystemId => "system_id",
            Kind::ActivationRequest => "activation_request",
            Kind::ActivationCertificate => "activation_certificate",
            Kind::SignedUpdate => "signed_update",
            Kind::DeactivationCode => "deactivation_code",
        }
    }

    /// English name for messages.
    pub const fn name(self) -> &'static str {
        match self {
            Kind::AuthorizationCode => "authorization code",
            Kind::SystemId => "system identification code",
            Kind::ActivationRequest => "activation request",
            Kind::ActivationCertificate => "activation certificate",
            Kind::SignedUpdate => "signed update",
            Kind::DeactivationCode => "deactivation code",
        }
    }

    /// English name with its article ("an authorization code").
    pub const fn a_name(self) -> &'static str {
        match self {
            Kind::AuthorizationCode => "an authorization code",
            Kind::SystemId => "a system identification code",
            Kind::ActivationRequest => "an activation request",
            Kind::ActivationCertificate => "an activation certificate",
            Kind::SignedUpdate => "a signed update",
            Kind::DeactivationCode => "a deactivation code",
        }
    }

    fn from_letter(b: u8) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.letter() == b)
    }

    /// Data symbols per group (the check symbol comes on top).
    pub(crate) const fn group_len(self) -> usize {
        match self {
            // 20 data symbols = 100 bits = five 20-bit fact hashes, in four groups, so the
            // whole code fits in 32 characters: `KS1-XXXXXX-XXXXXX-XXXXXX-XXXXXX`.
            Kind::SystemId => 5,
            // 18 bytes = 29 data symbols in six groups of at most five and a check: short
            // groups, like the system identification code's, to read out over the phone.
            Kind::DeactivationCode => 5,
            // Nine data symbols and a check: ten-character groups keep a typical
            // authorization code (12-character product, one feature, 30 days) near 210
            // characters.
            _ => 9,
        }
    }
}

/// The one version of every kind this build reads and writes.
pub(crate) const VERSION: u8 = 1;

// ---------------------------------------------------------------------------------------
// GF(32) arithmetic, polynomial x^5 + x^2 + 1 (primitive), α = x.

const fn build_exp() -> [u8; 62] {
    let mut t = [0u8; 62];
    let mut v: u8 = 1;
    let mut i = 0;
    while i < 31 {
        t[i] = v;
        t[i + 31] = v;
        v <<= 1;
        if v & 0x20 != 0 {
            v ^= 0x25;
        }
        i += 1;
    }
    t
}
const EXP: [u8; 62] = build_exp();

const fn build_log() -> [u8; 32] {
    let mut t = [0u8; 32];
    let mut i = 0;
    while i < 31 {
        t[EXP[i] as usize] = i as u8;
        i += 1;
    }
    t
}
const LOG: [u8; 32] = build_log();

fn gf_mul(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        0
    } else {
        EXP[LOG[a as usize] as usize + LOG[b as usize] as usize]
    }
}

/// α^i.
fn alpha_pow(i: usize) -> u8 {
    EXP[i % 31]
}

/// α^-i.
fn alpha_inv_pow(i: usize) -> u8 {
    EXP[(31 - i % 31) % 31]
}

fn seed(kind: Kind, group: usize) -> u8 {
    // Non-zero, depends on kind and group index.
    alpha_pow(kind.letter() as usize * 3 + group)
}

/// Sum over a whole group (data followed by its check symbol); zero when it checks.
fn syndrome(kind: Kind, group: usize, symbols: &[u8]) -> u8 {
    symbols
        .iter()
        .enumerate()
        .fold(seed(kind, group), |acc, (i, &x)| {
            acc ^ gf_mul(alpha_pow(i), x)
        })
}

fn check_symbol(kind: Kind, group: usize, data: &[u8]) -> u8 {
    // seed + Σ α^i d_i + α^n c = 0  =>  c = (seed + Σ α^i d_i) · α^-n
    gf_mul(syndrome(kind, group, data), alpha_inv_pow(data.len()))
}

// ---------------------------------------------------------------------------------------
// Small string helpers: one plain implementation each, instead of the standard library's
// generic searchers and joins, which are large in WebAssembly builds.

/// Byte offset of the first occurrence of `needle` in `hay`.
pub(crate) fn find(hay: &str, needle: &str) -> Option<usize> {
    let n = needle.len();
    if n == 0 {
        return Some(0);
    }
    hay.as_bytes()
        .windows(n)
        .position(|w| w == needle.as_bytes())
}

/// Sorts `items` and drops repeats: an insertion sort, for the short lists of a code (MAC
/// addresses, features, machine facts), instead of the standard library's sort, which is
/// several KB in WebAssembly builds.
pub(crate) fn sort_dedup<T: Ord>(items: &mut Vec<T>) {
    for i in 1..items.len() {
        let mut j = i;
        while j > 0 && items[j - 1] > items[j] {
            items.swap(j - 1, j);
            j -= 1;
        }
    }
    items.dedup();
}

/// `bytes` in lower-case hexadecimal, written into `out` (twice as long; any extra is left
/// out of the result).
pub(crate) fn hex_into<'a>(bytes: &[u8], out: &'a mut [u8]) -> &'a str {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut n = 0;
    for (b, pair) in bytes.iter().zip(out.chunks_exact_mut(2)) {
        pair[0] = DIGITS[usize::from(b >> 4)];
        pair[1] = DIGITS[usize::from(b & 15)];
        n += 2;
    }
    core::str::from_utf8(&out[..n]).unwrap_or_default()
}

/// The parts one after another (`[..].concat()` is a generic join, large in wasm).
pub(crate) fn cat(parts: &[&str]) -> String {
    let mut out = String::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        out.push_str(p);
    }
    out
}

/// The number of characters (`chars().count()` brings a large vectorised counter).
pub(crate) fn char_count(s: &str) -> usize {
    s.bytes().filter(|b| b & 0xC0 != 0x80).count()
}

/// The items joined with `sep`.
pub(crate) fn join<'a>(items: impl IntoIterator<Item = &'a str>, sep: &str) -> String {
    let mut out = String::new();
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        out.push_str(item);
    }
    out
}

// ---------------------------------------------------------------------------------------
// Normalisation of pasted text.

/// Maps one pasted character to what it most likely means: full-width forms to ASCII, the
/// many dash look-alikes to `-`, every kind of space to nothing special.
pub(crate) fn fold_char(c: char) -> char {
    match c {
        // Full-width ASCII block (Chinese input methods, chat apps).
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' | '\u{00A0}' | '\u{2000}'..='\u{200B}' | '\u{202F}' | '\u{FEFF}' => ' ',
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{30FC}' | '\u{FF70}' | '\u{FE63}' => '-',
        _ => c,
    }
}

/// Value of one code character after case folding and the I/L→1, O→0 rule, or `None`.
fn symbol_value(c: char) -> Option<u8> {
    let c = c.to_ascii_uppercase();
    let c = match c {
        'I' | 'L' => '1',
        'O' => '0',
        _ => c,
    };
    if !c.is_ascii() {
        return None;
    }
    ALPHABET.iter().position(|&a| a == c as u8).map(|p| p as u8)
}

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
    fn position(&self, i: usize) -> usize {
        self.positions.get(i).copied().unwrap_or(0)
    }
}

/// Is this character one people put between groups or around codes?
fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '-' | '_' | '.' | '·' | '—')
}

/// Splits the prefix off and maps every other character to its symbol value.
pub(crate) fn normalize(text: &str) -> Result<Symbols, CodeError> {
    if text.len() > MAX_TEXT_LEN {
        return Err(CodeError::TooLong {
            len: text.len(),
            max: MAX_TEXT_LEN,
        });
    }
    let mut chars = text
        .chars()
        .enumerate()
        .map(|(i, c)| (i + 1, fold_char(c)))
        .filter(|&(_, c)| !is_separator(c));

    // Prefix: K, kind letter, version digit.
    let mut prefix = [(0usize, ' '); 3];
    for slot in prefix.iter_mut() {
        match chars.next() {
            Some(x) => *slot = x,
            None if text.trim().is_empty() => return Err(CodeError::Empty),
            None => return Err(CodeError::UnknownPrefix),
        }
    }
    if !prefix[0].1.eq_ignore_ascii_case(&'K') {
        return Err(CodeError::UnknownPrefix);
    }
    let kind = Kind::from_letter(prefix[1].1.to_ascii_uppercase() as u8)
        .filter(|_| prefix[1].1.is_ascii())
        .ok_or(CodeError::UnknownPrefix)?;
    let version = match symbol_value(prefix[2].1) {
        Some(v) if v < 10 => v,
        _ => return Err(CodeError::UnknownPrefix),
    };
    if version != VERSION {
        return Err(CodeError::UnsupportedVersion { kind, version });
    }

    let mut values = Vec::new();
    let mut positions = Vec::new();
    for (pos, c) in chars {
        match symbol_value(c) {
            Some(v) => {
                values.push(v);
                positions.push(pos);
            }
            None => {
                return Err(CodeError::InvalidCharacter {
                    character: c,
                    position: pos,
                })
            }
        }
    }
    Ok(Symbols {
        kind,
        version,
        values,
        positions,
    })
}

/// Which kind of code `text` claims to be, from its prefix alone (no checks; armour and
/// header lines are skipped).
pub fn sniff_kind(text: &str) -> Option<Kind> {
    let blanked = crate::signed::strip_armor(text).ok()?;
    normalize(&blanked).ok().map(|s| s.kind)
}

// ---------------------------------------------------------------------------------------
// Encoding.

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
    let n_bytes = values.len() * 5 / 8;
    if (n_bytes * 8).div_ceil(5) != values.len() {
        return None;
    }
    let mut out = Vec::with_capacity(n_bytes);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &v in values {
        acc = (acc << 5) | v as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // Leftover padding bits must be zero, or two texts would mean the same bytes.
    if acc != 0 {
        return None;
    }
    Some(out)
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

// ---------------------------------------------------------------------------------------
// Decoding and typo location.

/// Splits `values` into (data+check) groups; `None` when a trailing group would be a lone
/// check symbol (some character is missing or extra).
fn split_groups(kind: Kind, values: &[u8]) -> Option<Vec<core::ops::Range<usize>>> {
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
fn failing_groups(kind: Kind, values: &[u8], groups: &[core::ops::Range<usize>]) -> Vec<usize> {
    groups
        .iter()
        .enumerate()
        .filter(|(g, r)| syndrome(kind, *g, &values[(*r).clone()]) != 0)
        .map(|(g, _)| g)
        .collect()
}

/// Checks every group and returns the data bytes, or the precise reason they are wrong.
pub(crate) fn decode_symbols(s: &Symbols) -> Result<Vec<u8>, CodeError> {
    let values = decode_values(s)?;
    values_to_bytes(&values).ok_or_else(|| {
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
        return Ok(groups
            .iter()
            .flat_map(|r| s.values[r.start..r.end - 1].iter().copied())
            .collect());
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

/// Do the failing groups look like a shift: from the first failing group to the end, at
/// least three in four fail (a shifted group still passes by chance one time in 32)?
fn looks_shifted(failing: &[usize], n: usize) -> bool {
    match failing {
        [] => false,
        [only] => *only == n - 1,
        [first, ..] => failing.len() * 4 >= (n - first) * 3 && failing.last() == Some(&(n - 1)),
    }
}

/// Do all groups of `values` pass their checks (and is the length possible)?
fn all_pass(kind: Kind, values: &[u8]) -> bool {
    split_groups(kind, values).is_some_and(|g| failing_groups(kind, values, &g).is_empty())
}

/// Every text that differs from `s` by one substituted symbol, one adjacent transposition,
/// or — when the length or the failing groups say a character was dropped or doubled — one
/// inserted or deleted symbol, and passes all group checks. A few dozen candidates at
/// most, so trying each against the signature is cheap.
pub(crate) fn single_corrections(s: &Symbols) -> Vec<Symbols> {
    let size = s.kind.group_len() + 1;
    let lone = s.values.len() % size == 1;
    let usable = if lone {
        &s.values[..s.values.len() - 1]
    } else {
        &s.values[..]
    };
    let Some(groups) = split_groups(s.kind, usable) else {
        return Vec::new();
    };
    let mut failing = failing_groups(s.kind, usable, &groups);
    if failing.is_empty() && !lone {
        // All groups check, so the length must be what is wrong: look in the last group.
        failing.push(groups.len() - 1);
    }
    let mut out: Vec<Symbols> = Vec::new();
    let mut push = |values: Vec<u8>| push_candidate(&mut out, s, values);
    if !lone {
        match failing.as_slice() {
            [g] => {
                let r = groups[*g].clone();
                let syn = syndrome(s.kind, *g, &s.values[r.clone()]);
                for (i, p) in r.clone().enumerate() {
                    // The unique replacement at position i that zeroes the syndrome.
                    let mut v = s.values.clone();
                    v[p] ^= gf_mul(syn, alpha_inv_pow(i));
                    push(v);
                }
                for p in r.start..r.end - 1 {
                    let mut v = s.values.clone();
                    v.swap(p, p + 1);
                    push(v);
                }
            }
            [a, b] if b == &(a + 1) => {
                // A transposition across the group boundary breaks both groups.
                let p = groups[*a].end - 1;
                let mut v = s.values.clone();
                v.swap(p, p + 1);
                push(v);
            }
            _ => {}
        }
    }
    if lone || looks_shifted(&failing, groups.len()) {
        let first = failing.first().copied().unwrap_or(groups.len() - 1);
        for c in shift_corrections(s, &groups, first) {
            push(c.values);
        }
    }
    out
}

/// Keeps `values` as a candidate correction of `s` if all its groups check and it is new.
fn push_candidate(out: &mut Vec<Symbols>, s: &Symbols, values: Vec<u8>) {
    if all_pass(s.kind, &values) && !out.iter().any(|o| o.values == values) {
        // Positions of a corrected text refer to the corrected text itself.
        out.push(Symbols {
            kind: s.kind,
            version: s.version,
            positions: (1..=values.len()).collect(),
            values,
        });
    }
}

/// Texts with one symbol deleted or inserted in group `first` (0-based, of `groups`) or
/// the three before it (a shifted group still passes its check by chance one time in 32,
/// so the first failing group can be later than the mistake), that pass all checks.
pub(crate) fn shift_corrections(
    s: &Symbols,
    groups: &[core::ops::Range<usize>],
    first: usize,
) -> Vec<Symbols> {
    let mut out: Vec<Symbols> = Vec::new();
    let (Some(from), Some(to)) = (groups.get(first.saturating_sub(3)), groups.get(first)) else {
        return out;
    };
    let mut push = |values: Vec<u8>| push_candidate(&mut out, s, values);
    let start = from.start;
    let end = (to.end + 1).min(s.values.len());
    for p in start..end {
        let mut v = s.values.clone();
        v.remove(p);
        push(v);
    }
    for p in start..=end {
        for x in 0..32u8 {
            let mut v = s.values.clone();
            v.insert(p, x);
            push(v);
        }
    }
    out
}

/// Candidates for a text whose groups all check but whose contents do not decode: the
/// length may still be off by one in the last group (a check passes by chance 1 in 32).
pub(crate) fn last_group_shift_corrections(s: &Symbols) -> Vec<Symbols> {
    match split_groups(s.kind, &s.values) {
        Some(groups) if !groups.is_empty() => shift_corrections(s, &groups, groups.len() - 1),
        _ => Vec::new(),
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn sort_dedup_matches_the_standard_sort() {
        let mut seed = 7u32;
        for n in 0..60 {
            let mut items: Vec<u8> = (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    (seed >> 24) as u8 % 16
                })
                .collect();
            let mut expected = items.clone();
            expected.sort_unstable();
            expected.dedup();
            sort_dedup(&mut items);
            assert_eq!(items, expected);
        }
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
                assert!(single_corrections(&bad)
                    .iter()
                    .any(|c| c.values == good.values));
            }
            if p + 1 < good.values.len() && good.values[p] != good.values[p + 1] {
                let mut bad = good.clone();
                bad.values.swap(p, p + 1);
                assert!(
                    matches!(decode_symbols(&bad), Err(CodeError::Typo { .. })),
                    "transposition at {p} not detected"
                );
                assert!(single_corrections(&bad)
                    .iter()
                    .any(|c| c.values == good.values));
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
