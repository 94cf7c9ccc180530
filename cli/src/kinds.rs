//! What a pasted text is, and refusing a valid thing given in the wrong place with one
//! error (`wrong_kind`, exit 9) whatever the command.

use keyward_core::{HardwareId, Kind};

use crate::exit::{Error, Exit};
use crate::output::with_article;

/// The code of a hardware identification code, beside [`Kind::code`]'s.
pub const HARDWARE_ID: &str = "hardware_id";

/// The kind named by a text's prefix, even when the rest is damaged.
pub fn sniff(text: &str) -> Option<&'static str> {
    if let Ok((k, _)) = keyward_core::raw::decode(text) {
        return Some(k.code());
    }
    keyward_core::text::sniff_kind(text).map(Kind::code)
}

/// What a text recognisably is: a keyward kind by its prefix (even when damaged), or a
/// valid hardware identification code.
pub fn recognise(text: &str) -> Option<&'static str> {
    sniff(text).or_else(|| HardwareId::parse(text).is_ok().then_some(HARDWARE_ID))
}

/// The name of a kind code, for people.
pub fn kind_name(kind: Option<&str>) -> &'static str {
    match kind {
        Some(HARDWARE_ID) => "hardware identification code",
        Some(k) => Kind::ALL
            .into_iter()
            .find(|x| x.code() == k)
            .map_or("input", Kind::name),
        None => "input",
    }
}

/// Refuses `text` when it is recognisably something other than the `accepted` kinds:
/// "this is a system identification code, not an authorization code: `hint`".
pub fn expect_kind(text: &str, accepted: &[&str], hint: &str) -> Result<(), Error> {
    match recognise(text) {
        Some(found) if !accepted.contains(&found) => {
            let wanted: Vec<String> = accepted
                .iter()
                .map(|k| with_article(kind_name(Some(k))))
                .collect();
            Err(Error::new(
                "wrong_kind",
                Exit::WrongKind,
                format!(
                    "this is {}, not {}: {hint}",
                    with_article(kind_name(Some(found))),
                    wanted.join(" or ")
                ),
            ))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_what_it_can() {
        assert_eq!(recognise("mac:00:11:22:33:44:55"), Some(HARDWARE_ID));
        assert_eq!(
            recognise("KS1-T9Z907-P0QCGX-HWD5FE-GX4ARZ"),
            Some("system_id")
        );
        assert_eq!(recognise("hello"), None);
        let e = expect_kind("mac:00:11:22:33:44:55", &["authorization_code"], "x").unwrap_err();
        assert_eq!(e.exit, Exit::WrongKind);
        assert!(
            e.message
                .starts_with("this is a hardware identification code, not an authorization code"),
            "{}",
            e.message
        );
        assert!(expect_kind("KA1-", &["authorization_code"], "x").is_ok());
    }
}
