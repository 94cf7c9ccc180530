//! Small string helpers: one plain implementation each, instead of the standard library's
//! generic searchers and joins, which are large in WebAssembly builds. They are at the
//! bottom of the crate: they use nothing of it.

use alloc::string::String;
use alloc::vec::Vec;

/// Byte offset of the first occurrence of `needle` in `hay`.
pub(crate) fn find(hay: &str, needle: &str) -> Option<usize> {
    let n = needle.len();
    if n == 0 {
        return Some(0);
    }
    // The first byte alone rules out nearly every place, without a slice comparison's
    // call (a 64 KB text is searched for armour twice).
    let first = needle.as_bytes()[0];
    hay.as_bytes()
        .windows(n)
        .position(|w| w[0] == first && w == needle.as_bytes())
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

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// `bytes` in lower-case hexadecimal (public as `raw::hex`, the project's one hex
/// encoder). Written here rather than taken from the `hex` crate: its generic
/// encoder is larger in the size-gated wasm builds, which use it for license and key ids too.
pub fn hex(bytes: &[u8]) -> alloc::string::String {
    let mut out = alloc::string::String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
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

/// The characters of `s` that `keep` accepts. One loop for the many places that filter a
/// string (each iterator `collect` would be its own copy in the size-gated WebAssembly
/// builds).
pub(crate) fn keep_chars(s: &str, keep: &dyn Fn(char) -> bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if keep(c) {
            out.push(c);
        }
    }
    out
}

/// `s` with every character mapped by `f` (see [`keep_chars`] for why a loop).
pub(crate) fn map_chars(s: &str, f: fn(char) -> char) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        out.push(f(c));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
