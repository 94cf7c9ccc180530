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
        let v = crate::util::keep_chars(v, &|c| !c.is_control());
        s.push_str(&cat(&[k, ": ", &v, "\n"]));
    }
    s.push('\n');
    s.push_str(&super::encode_groups(kind, bytes, 6));
    s.push_str(&cat(&["\n-----END KEYWARD ", title, "-----\n"]));
    s
}

/// The title of the one armoured kind, between `-----BEGIN ` / `-----END ` and `-----`.
const TITLE: &str = "KEYWARD ACTIVATION CERTIFICATE";

/// Replaces armour and header lines with spaces, so the code's characters keep their
/// positions in the pasted text (typo positions then point into what the user pasted).
///
/// Text quoted as in an e-mail reply (every non-blank line begins with `>`, perhaps `> >`)
/// is read without the quote marks. Text without `-----BEGIN` or `-----END` is then
/// returned as it is. Armour is found in the text (an e-mail's greeting before it and its
/// signature after it are blanked, not read) and then follows one rule, the same for every
/// entry point (docs/FORMAT.md): exactly one
/// `-----BEGIN KEYWARD ACTIVATION CERTIFICATE-----` line and its `-----END …-----` line
/// with the same title; `Name: value` header lines (ignored) right after the BEGIN line
/// and nowhere else; and inside, an activation certificate, the only kind that is
/// armoured. Anything else is refused with the [`ArmourError`] that says what to fix,
/// never silently dropped.
pub(crate) fn strip_armour(input: &str) -> Result<String, Error> {
    if input.len() > MAX_TEXT_LEN {
        return Err(Error::Code(CodeError::TooLong {
            len: input.len(),
            max: MAX_TEXT_LEN,
        }));
    }
    let unquoted = unquote(input);
    let input = unquoted.as_str();
    if find(input, "-----BEGIN").is_none() && find(input, "-----END").is_none() {
        return Ok(unquoted);
    }
    let bad = |e| Err(Error::BadArmour(e));
    let titled = |t: &str, start: &str| {
        t.strip_prefix(start)
            .and_then(|r| r.strip_suffix("-----"))
            .is_some_and(|title| title == TITLE)
    };
    #[derive(PartialEq)]
    enum Part {
        Before,
        Headers,
        Code,
        After,
    }
    let mut part = Part::Before;
    let mut out = String::with_capacity(input.len());
    for line in input.split_inclusive('\n') {
        let t = line.trim();
        let keep = if t.starts_with("-----BEGIN") {
            if part != Part::Before {
                return bad(ArmourError::TwoBegins);
            }
            if !titled(t, "-----BEGIN ") {
                return bad(ArmourError::WrongTitle);
            }
            part = Part::Headers;
            false
        } else if t.starts_with("-----END") {
            if matches!(part, Part::Before | Part::After) {
                return bad(ArmourError::EndWithoutBegin);
            }
            if !titled(t, "-----END ") {
                return bad(ArmourError::WrongTitle);
            }
            part = Part::After;
            false
        } else if t.is_empty() {
            if part == Part::Headers {
                part = Part::Code;
            }
            false
        } else {
            match part {
                // Text around the armour (a greeting, a signature) is not read.
                Part::Before | Part::After => false,
                Part::Headers if t.contains(':') => false,
                _ if t.contains(':') => return bad(ArmourError::HeaderInCode),
                _ => {
                    part = Part::Code;
                    true
                }
            }
        };
        if keep {
            out.push_str(line);
        } else {
            out.extend(line.chars().map(|c| if c == '\n' { '\n' } else { ' ' }));
        }
    }
    match part {
        // `-----BEGIN`/`-----END` only inside lines: not armour (the decoder says what
        // is wrong with the text).
        Part::Before => return Ok(unquoted),
        Part::Headers | Part::Code => return bad(ArmourError::EndMissing),
        Part::After => {}
    }
    // The kind is read from the code's prefix alone; a code that cannot be read gets its
    // own error from the caller, which reads it next.
    if let Ok(sym) = super::normalize(&out) {
        if sym.kind != Kind::ActivationCertificate {
            return bad(ArmourError::NotACertificate);
        }
    }
    Ok(out)
}

/// `text` with the quote marks of an e-mail reply blanked: when every non-blank line starts
/// (after spaces) with `>`, each leading run of `>` and spaces becomes spaces. Anything
/// else is returned unchanged.
fn unquote(text: &str) -> String {
    let quoted = |line: &str| line.trim_start().starts_with('>');
    let mut lines = text.lines().filter(|l| !l.trim().is_empty()).peekable();
    if lines.peek().is_none() || !lines.all(quoted) {
        return String::from(text);
    }
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let marks = line
            .find(|c: char| c != '>' && c != ' ' && c != '\t')
            .unwrap_or(line.len());
        out.extend(core::iter::repeat_n(' ', marks));
        out.push_str(&line[marks..]);
    }
    out
}
