//! Time as a value: seconds since the Unix epoch, UTC. The core never reads a clock; callers
//! pass `now`. Artifacts store minutes, so every stored time is a whole minute.

use alloc::string::String;
use core::fmt;

/// Seconds since 1970-01-01T00:00:00Z.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

/// One minute, in seconds.
pub const MINUTE: u64 = 60;
/// One day, in seconds.
pub const DAY: u64 = 86_400;

impl Timestamp {
    /// Rounds down to a whole minute (what artifacts can carry).
    pub fn floor_minute(self) -> Timestamp {
        Timestamp(self.0 - self.0 % MINUTE)
    }

    /// Seconds since the epoch.
    pub fn secs(self) -> u64 {
        self.0
    }

    /// `self + secs`, saturating.
    pub fn add_secs(self, secs: u64) -> Timestamp {
        Timestamp(self.0.saturating_add(secs))
    }

    /// Parses RFC 3339 (`2026-11-20T08:00:00Z`, `2026-11-20T16:00:00+08:00`) or a plain
    /// date (`2026-11-20`, meaning midnight UTC). Also `yyyyMMddHHmmss` (the marketplace's
    /// form, UTC).
    pub fn parse(s: &str) -> Option<Timestamp> {
        let s = s.trim();
        let b = s.as_bytes();
        if b.len() == 14 && b.iter().all(u8::is_ascii_digit) {
            let n = |r: core::ops::Range<usize>| s[r].parse::<u64>().ok();
            return from_civil(
                n(0..4)?,
                n(4..6)?,
                n(6..8)?,
                n(8..10)?,
                n(10..12)?,
                n(12..14)?,
            );
        }
        if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let num = |r: core::ops::Range<usize>| -> Option<u64> {
            let t = s.get(r)?;
            if t.bytes().all(|c| c.is_ascii_digit()) {
                t.parse().ok()
            } else {
                None
            }
        };
        let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        if b.len() == 10 {
            return from_civil(y, mo, d, 0, 0, 0);
        }
        if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 19 || b[13] != b':' || b[16] != b':' {
            return None;
        }
        let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
        let mut rest = &s[19..];
        if let Some(frac) = rest.strip_prefix('.') {
            let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            rest = &frac[digits..];
        }
        let base = from_civil(y, mo, d, h, mi, se)?.0 as i64;
        let offset: i64 = match rest {
            "Z" | "z" => 0,
            _ => {
                let rb = rest.as_bytes();
                if rb.len() != 6 || rb[3] != b':' || !matches!(rb[0], b'+' | b'-') {
                    return None;
                }
                let oh: i64 = rest[1..3].parse().ok()?;
                let om: i64 = rest[4..6].parse().ok()?;
                if oh > 23 || om > 59 {
                    return None;
                }
                let o = oh * 3600 + om * 60;
                if rb[0] == b'+' {
                    o
                } else {
                    -o
                }
            }
        };
        let t = base - offset;
        if t < 0 {
            None
        } else {
            Some(Timestamp(t as u64))
        }
    }

    /// `2026-11-20T08:00:00Z`.
    pub fn to_rfc3339(self) -> String {
        let (y, mo, d, h, mi, s) = to_civil(self.0);
        let mut out = String::with_capacity(20);
        for (n, width, after) in [
            (y, 4, "-"),
            (mo, 2, "-"),
            (d, 2, "T"),
            (h, 2, ":"),
            (mi, 2, ":"),
            (s, 2, "Z"),
        ] {
            push_digits(&mut out, n, width);
            out.push_str(after);
        }
        out
    }

    /// `2026-11-20`.
    pub fn to_date(self) -> String {
        let (y, mo, d, ..) = to_civil(self.0);
        let mut out = String::with_capacity(10);
        push_digits(&mut out, y, 4);
        out.push('-');
        push_digits(&mut out, mo, 2);
        out.push('-');
        push_digits(&mut out, d, 2);
        out
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

fn is_leap(y: u64) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u64, m: u64) -> u64 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        _ => 28,
    }
}

/// Days since the epoch of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: u64, m: u64, d: u64) -> i64 {
    let y = y as i64 - if m <= 2 { 1 } else { 0 };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i64;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn from_civil(y: u64, mo: u64, d: u64, h: u64, mi: u64, s: u64) -> Option<Timestamp> {
    if !(1970..=9999).contains(&y)
        || !(1..=12).contains(&mo)
        || d == 0
        || d > days_in_month(y, mo)
        || h > 23
        || mi > 59
        || s > 60
    {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some(Timestamp(
        days as u64 * DAY + h * 3600 + mi * 60 + s.min(59),
    ))
}

/// Appends `n` in decimal, with leading zeros to at least `width` digits, without
/// `core::fmt` (whose number formatting and padding are several KB in WebAssembly builds).
///
/// ```
/// let mut s = String::from("day ");
/// keyward_core::time::push_digits(&mut s, 7, 2);
/// keyward_core::time::push_digits(&mut s, 2026, 2);
/// assert_eq!(s, "day 072026");
/// ```
pub fn push_digits(out: &mut String, n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut i = digits.len();
    let mut rest = n;
    loop {
        i -= 1;
        digits[i] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    let start = i.min(digits.len().saturating_sub(width));
    for &d in &digits[start..] {
        out.push(char::from(d));
    }
}

fn to_civil(t: u64) -> (u64, u64, u64, u64, u64, u64) {
    let days = (t / DAY) as i64;
    let secs = t % DAY;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (
        y as u64,
        m as u64,
        d as u64,
        secs / 3600,
        secs % 3600 / 60,
        secs % 60,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format() {
        let t = Timestamp::parse("2026-11-20T08:30:00Z").unwrap();
        assert_eq!(t.0, 1_795_163_400);
        assert_eq!(t.to_rfc3339(), "2026-11-20T08:30:00Z");
        assert_eq!(Timestamp::parse("2026-11-20T16:30:00+08:00"), Some(t));
        assert_eq!(Timestamp::parse("20261120083000"), Some(t));
        assert_eq!(
            Timestamp::parse("2026-11-20").unwrap().to_rfc3339(),
            "2026-11-20T00:00:00Z"
        );
        assert_eq!(
            Timestamp::parse("2024-02-29").unwrap().to_date(),
            "2024-02-29"
        );
        for bad in [
            "",
            "2026-13-01",
            "2025-02-29",
            "2026-11-20T25:00:00Z",
            "yesterday",
            "2026-11-20T08:30:00",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn civil_round_trip() {
        for t in (0..4_000_000_000u64).step_by(86_399 * 17) {
            let s = Timestamp(t).to_rfc3339();
            assert_eq!(Timestamp::parse(&s), Some(Timestamp(t)), "{s}");
        }
    }
}
