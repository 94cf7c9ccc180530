//! Canonical binary encoding: a writer, and a cursor that refuses anything non-canonical.
//!
//! Integers are LEB128 with the shortest form required; strings are a one-byte length and
//! bytes from a per-field character set; lists have a one-byte count. Every length is
//! bounded, so decoding never allocates more than the input could describe.

use alloc::string::String;
use alloc::vec::Vec;

use crate::error::Error;
use crate::kind::Kind;

/// Builds canonical bytes.
#[derive(Default)]
pub(crate) struct Writer {
    pub buf: Vec<u8>,
}

impl Writer {
    pub fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    pub fn bytes(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }
    pub fn varint(&mut self, mut v: u64) {
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.buf.push(b);
                return;
            }
            self.buf.push(b | 0x80);
        }
    }
    /// Callers validate length and characters first (see [`Charset`]).
    pub fn str(&mut self, s: &str) {
        self.buf.push(s.len() as u8);
        self.buf.extend_from_slice(s.as_bytes());
    }
}

/// Characters allowed in a string field.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Charset {
    /// Product ids, SKUs, features: `[A-Za-z0-9._-]`.
    Ident,
    /// Marketplace references and hardware ids: printable ASCII without spaces at the ends.
    Printable,
}

impl Charset {
    pub fn allows(self, s: &str) -> bool {
        match self {
            Charset::Ident => s
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-')),
            Charset::Printable => s.bytes().all(|b| (0x20..0x7f).contains(&b)) && s.trim() == s,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Charset::Ident => "letters, digits, '.', '_' and '-'",
            Charset::Printable => "printable ASCII characters, without spaces at either end",
        }
    }
}

/// Checks a string field for an issuing function.
pub(crate) fn check_str(
    field: &'static str,
    s: &str,
    min: usize,
    max: usize,
    cs: Charset,
) -> Result<(), Error> {
    if s.len() < min || s.len() > max {
        return Err(Error::InvalidInput {
            field,
            reason: words!(
                "must be {min} to {max} characters long, got {} (\"{s}\")",
                s.len()
            ),
        });
    }
    if !cs.allows(s) {
        return Err(Error::InvalidInput {
            field,
            reason: words!("may contain only {}, got \"{s}\"", cs.describe()),
        });
    }
    Ok(())
}

/// A cursor over bytes being decoded as one artifact kind.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    kind: Kind,
}

impl<'a> Reader<'a> {
    pub fn new(kind: Kind, buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0, kind }
    }

    /// Bytes read so far.
    pub fn offset(&self) -> usize {
        self.pos
    }

    pub fn err(&self, reason: &'static str) -> Error {
        Error::Malformed {
            kind: self.kind,
            offset: self.pos,
            reason,
        }
    }

    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Error> {
        if self.buf.len() - self.pos < n {
            return Err(self.err(said!("unexpected end")));
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }

    pub fn varint(&mut self) -> Result<u64, Error> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = self.u8()?;
            if i == 9 && b > 1 {
                return Err(self.err(said!("integer too large")));
            }
            v |= ((b & 0x7f) as u64) << (7 * i);
            if b & 0x80 == 0 {
                if b == 0 && i > 0 {
                    return Err(self.err(said!("non-canonical integer")));
                }
                return Ok(v);
            }
        }
        Err(self.err(said!("integer too large")))
    }

    pub fn varint_max(&mut self, max: u64) -> Result<u64, Error> {
        let v = self.varint()?;
        if v > max {
            return Err(self.err(said!("number out of range")));
        }
        Ok(v)
    }

    pub fn str(&mut self, min: usize, max: usize, cs: Charset) -> Result<String, Error> {
        let len = self.u8()? as usize;
        if len < min || len > max {
            return Err(self.err(said!("text field of invalid length")));
        }
        let bytes = self.take(len)?;
        let s =
            core::str::from_utf8(bytes).map_err(|_| self.err(said!("text field is not UTF-8")))?;
        if !cs.allows(s) {
            return Err(self.err(said!("text field has characters that are not allowed")));
        }
        Ok(String::from(s))
    }

    pub fn finish(&self) -> Result<(), Error> {
        if self.pos != self.buf.len() {
            return Err(self.err(said!("trailing bytes")));
        }
        Ok(())
    }
}

/// Reads `count` then that many strings, which must be strictly ascending (canonical).
pub(crate) fn read_sorted_strs(
    r: &mut Reader<'_>,
    max_count: usize,
    min: usize,
    max: usize,
    cs: Charset,
) -> Result<Vec<String>, Error> {
    let n = r.u8()? as usize;
    if n > max_count {
        return Err(r.err(said!("too many entries in a list")));
    }
    let mut out: Vec<String> = Vec::with_capacity(n);
    for _ in 0..n {
        let s = r.str(min, max, cs)?;
        if out.last().is_some_and(|p| p.as_str() >= s.as_str()) {
            return Err(r.err(said!("list not in canonical order")));
        }
        out.push(s);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_round_trip_and_canonical() {
        for v in [0u64, 1, 127, 128, 300, 1 << 32, u64::MAX] {
            let mut w = Writer::default();
            w.varint(v);
            let mut r = Reader::new(Kind::AuthorizationCode, &w.buf);
            assert_eq!(r.varint().unwrap(), v);
            r.finish().unwrap();
        }
        // 0x80 0x00 encodes 0 non-canonically
        let mut r = Reader::new(Kind::AuthorizationCode, &[0x80, 0x00]);
        assert!(r.varint().is_err());
        // 11 bytes
        let mut r = Reader::new(Kind::AuthorizationCode, &[0xff; 11]);
        assert!(r.varint().is_err());
    }
}
