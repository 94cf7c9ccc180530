//! Armour: the `-----BEGIN KEYWARD …-----` / `-----END …-----` lines around a certificate
//! or a signed update, with header lines for reading.

use alloc::string::String;

use super::MAX_TEXT_LEN;
use crate::error::{ArmourError, CodeError, Error};
use crate::kind::Kind;
use crate::util::{cat, find};

/// Wraps a code in armour with the given header lines.
pub(crate) fn armour(title: &str, headers: &[(&str, String)], kind: Kind, bytes: &[u8]) -> String {
    let mut s = cat(&["-----BEGIN KEYWARD ", title, "-----\n"]);
    for (k, v) in headers {
        // Header values are for reading only; keep them on one line.
        let v: String = v.chars().filter(|c| !c.is_control()).collect();
        s.push_str(&cat(&[k, ": ", &v, "\n"]));
    }
    s.push('\n');
    s.push_str(&super::encode_groups(kind, bytes, 6));
    s.push_str(&cat(&["\n-----END KEYWARD ", title, "-----\n"]));
    s
}

/// Replaces armour and header lines with spaces, so the code's characters keep their
/// positions in the pasted text (typo positions then point into what the user pasted).
pub(crate) fn strip_armour(input: &str) -> Result<String, Error> {
    if input.len() > MAX_TEXT_LEN {
        return Err(Error::Code(CodeError::TooLong {
            len: input.len(),
            max: MAX_TEXT_LEN,
        }));
    }
    if find(input, "-----BEGIN").is_none() {
        return Ok(String::from(input));
    }
    let mut out = String::with_capacity(input.len());
    let mut inside = false;
    let mut seen_begin = false;
    let mut seen_end = false;
    for line in input.split_inclusive('\n') {
        let t = line.trim();
        let keep = if t.starts_with("-----BEGIN") {
            if seen_begin {
                return Err(Error::BadArmour(ArmourError::TwoBegins));
            }
            seen_begin = true;
            inside = true;
            false
        } else if t.starts_with("-----END") {
            if !inside {
                return Err(Error::BadArmour(ArmourError::EndWithoutBegin));
            }
            inside = false;
            seen_end = true;
            false
        } else {
            inside && !t.contains(':')
        };
        if keep {
            out.push_str(line);
        } else {
            out.extend(line.chars().map(|c| if c == '\n' { '\n' } else { ' ' }));
        }
    }
    if !seen_end {
        return Err(Error::BadArmour(ArmourError::EndMissing));
    }
    Ok(out)
}
