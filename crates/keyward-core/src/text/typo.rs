//! The typo search: the single-character corrections of a code whose checks fail.
//!
//! A candidate is an [`Edit`] of the symbols, not a copy of them: the search looks only at
//! the groups an edit changes, and a candidate is written out (into one reused buffer) only
//! when its checks pass and the signature is to be tried. So the search costs a few passes
//! over the input whatever its length, and its memory is the input's size twice at most.
//!
//! Why every dropped or doubled character is found: the groups before the mistake are
//! intact, and every group after it is the original's, shifted by one. So for a mistake in
//! group `g`, the candidate's groups after `g` are one fixed slice of the input (checked once
//! per `g`), and inside group `g` each position has exactly one symbol that makes its check
//! pass (for an insertion) or one symbol to remove. The first failing group is the mistake's,
//! or a later one when a shifted group passed its check by chance (one time in 32): groups
//! up to three before it are tried too.

use alloc::vec::Vec;

use super::gf32::{alpha_inv_pow, alpha_pow, gf_mul, syndrome};
use super::normalize::Symbols;
use super::{failing_groups, split_groups};
use crate::kind::Kind;

/// How many groups before the first failing one a dropped or doubled character is looked
/// for.
const SHIFT_LOOKBACK: usize = 3;

/// One single-character correction of a code's symbols (0-based symbol indices).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Edit {
    /// Replace the symbol at this index with this value.
    Replace(usize, u8),
    /// Swap the symbols at this index and the next.
    Swap(usize),
    /// Insert this value before the symbol at this index (a dropped character).
    Insert(usize, u8),
    /// Remove the symbol at this index (a doubled or extra character).
    Delete(usize),
}

impl Edit {
    /// Writes `values` with this edit applied into `out` (cleared first).
    pub(crate) fn apply(self, values: &[u8], out: &mut Vec<u8>) {
        out.clear();
        match self {
            Edit::Replace(p, v) => {
                out.extend_from_slice(values);
                if let Some(slot) = out.get_mut(p) {
                    *slot = v;
                }
            }
            Edit::Swap(p) => {
                out.extend_from_slice(values);
                if p + 1 < out.len() {
                    out.swap(p, p + 1);
                }
            }
            Edit::Insert(p, v) => {
                let p = p.min(values.len());
                out.extend_from_slice(&values[..p]);
                out.push(v);
                out.extend_from_slice(&values[p..]);
            }
            Edit::Delete(p) => {
                let p = p.min(values.len());
                out.extend_from_slice(&values[..p]);
                out.extend_from_slice(values.get(p + 1..).unwrap_or_default());
            }
        }
    }

    /// The 0-based group (of the corrected text) the edit falls in.
    pub(crate) fn group(self, kind: Kind) -> usize {
        let (Edit::Replace(p, _) | Edit::Swap(p) | Edit::Insert(p, _) | Edit::Delete(p)) = self;
        p / (kind.group_len() + 1)
    }
}

/// Do the failing groups look like a shift: from the first failing group to the end, at
/// least three in four fail (a shifted group still passes by chance one time in 32)?
pub(super) fn looks_shifted(failing: &[usize], n: usize) -> bool {
    match failing {
        [] => false,
        [only] => *only == n - 1,
        [first, ..] => failing.len() * 4 >= (n - first) * 3 && failing.last() == Some(&(n - 1)),
    }
}

/// Do the groups of `values`, numbered from `first_group`, all pass their checks? An empty
/// slice passes; a trailing group of one symbol (a lone check symbol) does not.
fn groups_pass(kind: Kind, first_group: usize, values: &[u8]) -> bool {
    let size = kind.group_len() + 1;
    values
        .chunks(size)
        .enumerate()
        .all(|(i, chunk)| chunk.len() >= 2 && syndrome(kind, first_group + i, chunk) == 0)
}

/// The syndrome of one group held in a small buffer (a group is at most 11 symbols here).
fn group_syndrome(kind: Kind, group: usize, symbols: &[u8]) -> u8 {
    syndrome(kind, group, symbols)
}

/// Every single substitution, adjacent transposition, or — when the length or the failing
/// groups say a character was dropped or doubled — one inserted or deleted symbol that
/// makes every group check. At most a few dozen, found in a few passes over the input.
pub(crate) fn single_corrections(s: &Symbols) -> Vec<Edit> {
    let size = s.kind.group_len() + 1;
    let n = s.values.len();
    let lone = n % size == 1;
    let usable = if lone {
        &s.values[..n - 1]
    } else {
        &s.values[..]
    };
    let Some(groups) = split_groups(s.kind, usable) else {
        return Vec::new();
    };
    if groups.is_empty() {
        return Vec::new();
    }
    let mut failing = failing_groups(s.kind, usable, &groups);
    if failing.is_empty() && !lone {
        // All groups check, so the length must be what is wrong: look in the last group.
        failing.push(groups.len() - 1);
    }
    let mut out = Vec::new();
    if !lone {
        match failing.as_slice() {
            [g] => {
                let r = groups[*g].clone();
                let syn = syndrome(s.kind, *g, &s.values[r.clone()]);
                if syn != 0 {
                    for (i, p) in r.clone().enumerate() {
                        // The unique replacement at position i that zeroes the syndrome.
                        out.push(Edit::Replace(
                            p,
                            s.values[p] ^ gf_mul(syn, alpha_inv_pow(i)),
                        ));
                    }
                }
                let mut buf = [0u8; 16];
                for p in r.start..r.end.saturating_sub(1) {
                    if s.values[p] == s.values[p + 1] {
                        continue;
                    }
                    let len = r.end - r.start;
                    let group = &mut buf[..len.min(16)];
                    group.copy_from_slice(&s.values[r.start..r.start + group.len()]);
                    group.swap(p - r.start, p - r.start + 1);
                    if group_syndrome(s.kind, *g, group) == 0 {
                        out.push(Edit::Swap(p));
                    }
                }
            }
            [a, b] if *b == a + 1 => {
                // A transposition across the group boundary breaks both groups.
                let p = groups[*a].end - 1;
                let mut v = [0u8; 32];
                let (ra, rb) = (groups[*a].clone(), groups[*b].clone());
                let both = &mut v[..(rb.end - ra.start).min(32)];
                both.copy_from_slice(&s.values[ra.start..ra.start + both.len()]);
                both.swap(p - ra.start, p - ra.start + 1);
                let (x, y) = both.split_at(ra.end - ra.start);
                if groups_pass(s.kind, *a, x) && groups_pass(s.kind, *b, y) {
                    out.push(Edit::Swap(p));
                }
            }
            _ => {}
        }
    }
    if lone || looks_shifted(&failing, groups.len()) {
        // With every group passing, the mistake is in the last group: the lone symbol's
        // own when there is one.
        let last = if lone { groups.len() } else { groups.len() - 1 };
        let first = failing.first().copied().unwrap_or(last);
        shift_corrections(s, first, &mut out);
    }
    out
}

/// Insertions and deletions in group `first` or the [`SHIFT_LOOKBACK`] groups before it
/// that make every group check.
fn shift_corrections(s: &Symbols, first: usize, out: &mut Vec<Edit>) {
    let kind = s.kind;
    let size = kind.group_len() + 1;
    let v = &s.values;
    let n = v.len();
    let mut buf = [0u8; 16];
    // The first failing group first: the mistake is there 31 times in 32, and a search
    // with a signature stops at the fix (each candidate before it is a signature check).
    for g in (first.saturating_sub(SHIFT_LOOKBACK)..=first).rev() {
        let start = g * size;
        if start > n {
            continue;
        }
        // A dropped character in group g: the group keeps size - 1 of the input's symbols
        // (fewer at the end) and one inserted; the rest of the input follows as it is.
        let end = (start + size - 1).min(n);
        let kept = &v[start..end];
        if kept.len() + 1 >= 2 && groups_pass(kind, g + 1, &v[end..]) {
            // Syndrome of the group with a zero at position i, for each i: the symbols
            // after i move up one place.
            for i in 0..=kept.len() {
                let group = &mut buf[..kept.len() + 1];
                group[..i].copy_from_slice(&kept[..i]);
                group[i] = 0;
                group[i + 1..].copy_from_slice(&kept[i..]);
                let syn = group_syndrome(kind, g, group);
                let x = gf_mul(syn, alpha_inv_pow(i));
                // syn + α^i·x = 0 (x is a GF(32) element, 0..32).
                debug_assert_eq!(syn ^ gf_mul(alpha_pow(i), x), 0);
                if i > 0 && kept[i - 1] == x {
                    continue; // x after an equal x: the same text as one place earlier
                }
                out.push(Edit::Insert(start + i, x));
            }
        }
        // A doubled or extra character in group g: the group has size + 1 of the input's
        // symbols, one to remove.
        let end = (start + size + 1).min(n);
        if end <= start + 2 {
            continue;
        }
        let extra = &v[start..end];
        if groups_pass(kind, g + 1, &v[end..]) {
            for i in 0..extra.len() {
                if i > 0 && extra[i - 1] == extra[i] {
                    continue; // removing either of two equal neighbours: one text
                }
                let group = &mut buf[..extra.len() - 1];
                group[..i].copy_from_slice(&extra[..i]);
                group[i..].copy_from_slice(&extra[i + 1..]);
                if group_syndrome(kind, g, group) == 0 {
                    out.push(Edit::Delete(start + i));
                }
            }
        }
    }
}

/// Candidates for a text whose groups all check but whose contents do not decode: the
/// length may still be off by one in the last group (a check passes by chance 1 in 32).
pub(crate) fn last_group_shift_corrections(s: &Symbols) -> Vec<Edit> {
    let mut out = Vec::new();
    match split_groups(s.kind, &s.values) {
        Some(groups) if !groups.is_empty() => shift_corrections(s, groups.len() - 1, &mut out),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::{decode_values, encode, normalize};

    /// Every candidate the search offers passes every group's check: the typo search's
    /// callers pack a candidate's bytes without checking its groups again
    /// (`text::checked_symbols_bytes`). Random codes of every kind and length, each with
    /// one random substitution, transposition, dropped or doubled symbol (both searches:
    /// when the groups fail, and when they check but the contents do not decode); and every
    /// substitution's original is among the candidates.
    #[test]
    fn every_candidate_checks() {
        let mut next = crate::text::test_numbers(0x9e37_79b9_7f4a_7c15);
        let mut candidates_seen = 0;
        for round in 0..3000 {
            let kind = Kind::ALL[round % Kind::ALL.len()];
            let bytes: Vec<u8> = (0..1 + next(160)).map(|_| next(256) as u8).collect();
            let original = normalize(&encode(kind, &bytes)).unwrap();
            let mut typo = original.clone();
            let n = typo.values.len();
            let p = next(n);
            let edit = match round % 4 {
                0 => Edit::Replace(p, (typo.values[p] + 1 + next(31) as u8) % 32),
                1 => Edit::Swap(p.min(n - 2)),
                2 => Edit::Delete(p),
                _ => Edit::Insert(p, next(32) as u8),
            };
            edit.apply(&original.values, &mut typo.values);
            // When the groups still check (the edit was a shift in the last group, or is
            // the same text), the search is the one for contents that do not decode.
            let candidates = if decode_values(&typo).is_ok() {
                last_group_shift_corrections(&typo)
            } else {
                single_corrections(&typo)
            };
            let mut fixed = typo.clone();
            for c in &candidates {
                c.apply(&typo.values, &mut fixed.values);
                assert!(
                    decode_values(&fixed).is_ok(),
                    "{kind:?}, {edit:?} of {n} symbols: candidate {c:?} does not check"
                );
                candidates_seen += 1;
            }
            if matches!(edit, Edit::Replace(..)) {
                assert!(
                    candidates.iter().any(|c| {
                        c.apply(&typo.values, &mut fixed.values);
                        fixed.values == original.values
                    }),
                    "{kind:?}, {edit:?}: the original is not a candidate"
                );
            }
        }
        assert!(candidates_seen > 10_000, "{candidates_seen} candidates");
    }
}
