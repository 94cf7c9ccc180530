//! GF(32) arithmetic, polynomial x^5 + x^2 + 1 (primitive), α = x, and the check symbol of
//! a group (see the [`text`](super) module's documentation for why).

use crate::kind::Kind;

pub(super) const fn build_exp() -> [u8; 62] {
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
pub(super) const EXP: [u8; 62] = build_exp();

pub(super) const fn build_log() -> [u8; 32] {
    let mut t = [0u8; 32];
    let mut i = 0;
    while i < 31 {
        t[EXP[i] as usize] = i as u8;
        i += 1;
    }
    t
}
pub(super) const LOG: [u8; 32] = build_log();

pub(super) fn gf_mul(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        0
    } else {
        EXP[LOG[a as usize] as usize + LOG[b as usize] as usize]
    }
}

/// α^i.
pub(super) fn alpha_pow(i: usize) -> u8 {
    EXP[i % 31]
}

/// α^-i.
pub(super) fn alpha_inv_pow(i: usize) -> u8 {
    EXP[(31 - i % 31) % 31]
}

pub(super) fn seed(kind: Kind, group: usize) -> u8 {
    // Non-zero, depends on kind and group index.
    alpha_pow(kind.letter() as usize * 3 + group)
}

/// Sum over a whole group (data followed by its check symbol); zero when it checks.
pub(super) fn syndrome(kind: Kind, group: usize, symbols: &[u8]) -> u8 {
    // Σ α^i·x_i by Horner's rule, from the last symbol: a multiplication by α is a shift
    // and a reduction, with no table lookups (every group of a pasted code is checked,
    // twice for a typo's search).
    let sum = symbols.iter().rev().fold(0u8, |acc, &x| {
        let shifted = acc << 1;
        (if shifted & 0x20 != 0 {
            shifted ^ 0x25
        } else {
            shifted
        }) ^ (x & 0x1f)
    });
    seed(kind, group) ^ sum
}

pub(super) fn check_symbol(kind: Kind, group: usize, data: &[u8]) -> u8 {
    // seed + Σ α^i d_i + α^n c = 0  =>  c = (seed + Σ α^i d_i) · α^-n
    gf_mul(syndrome(kind, group, data), alpha_inv_pow(data.len()))
}
