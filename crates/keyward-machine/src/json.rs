//! Machine facts supplied as a JSON document.

use std::path::Path;

use serde_json::error::Category;

use crate::{FactsError, MachineFacts};

/// Parses and normalises `text`; `path` names the file it came from, for messages.
pub(crate) fn parse(text: &str, path: Option<&Path>) -> Result<MachineFacts, FactsError> {
    let result = parse_text(text);
    match path {
        Some(path) => result.map_err(|err| err.in_file(path)),
        None => result,
    }
}

fn parse_text(text: &str) -> Result<MachineFacts, FactsError> {
    // Editors on Windows like to start UTF-8 files with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim().is_empty() {
        return Err(FactsError::Syntax {
            path: None,
            line: 1,
            column: 1,
            detail: "there is nothing in it (write {} for no facts)".to_string(),
        });
    }
    reject_array(text)?;
    let facts = serde_json::from_str::<MachineFacts>(text).map_err(convert)?;
    crate::normalize(facts)
}

/// serde lets a struct be written as an array of its field values in order; a facts
/// document must name its fields.
fn reject_array(text: &str) -> Result<(), FactsError> {
    let start = text.len() - text.trim_start().len();
    if !text[start..].starts_with('[') {
        return Ok(());
    }
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    Err(FactsError::InvalidValue {
        path: None,
        line,
        column,
        detail: "the document is an array, but it must be an object".to_string(),
    })
}

fn convert(err: serde_json::Error) -> FactsError {
    let (line, column) = (err.line(), err.column());
    let message = err.to_string();
    // serde_json appends the position, which the error reports separately.
    let detail = message
        .strip_suffix(&format!(" at line {line} column {column}"))
        .unwrap_or(&message)
        .to_string();
    match err.classify() {
        Category::Data => match unknown_field_name(&detail) {
            Some(field) => FactsError::UnknownField {
                path: None,
                field: field.to_string(),
                line,
                column,
            },
            None => FactsError::InvalidValue {
                path: None,
                line,
                column,
                detail,
            },
        },
        Category::Io | Category::Syntax | Category::Eof => FactsError::Syntax {
            path: None,
            line,
            column,
            detail,
        },
    }
}

/// The field named by serde's "unknown field `x`, expected one of ..." message.
fn unknown_field_name(detail: &str) -> Option<&str> {
    let rest = detail.strip_prefix("unknown field `")?;
    let end = rest.rfind("`, expected")?;
    Some(&rest[..end])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{from_json_file, from_json_str};

    #[test]
    fn full_document() {
        let facts = from_json_str(
            r#"{
                "machine_id": "3D1219C7C4C5404AAA1F6D2A48ADFDA4",
                "product_uuid": "4c4c4544-0042-3510-8052-b4c04f384d32",
                "board_serial": "To be filled by O.E.M.",
                "disk_serial": "  S4EWNX0R123456 ",
                "cpu": null,
                "macs": ["04:7C:16:5E:E3:5D", "001a.2b3c.4d5e", "04-7c-16-5e-e3-5d"],
                "cpu_id": "bfebfbff000906ea",
                "custom": ["ACME-DONGLE-7", " ACME-DONGLE-7 "]
            }"#,
        )
        .unwrap();
        assert_eq!(
            facts,
            MachineFacts {
                machine_id: Some("3d1219c7c4c5404aaa1f6d2a48adfda4".into()),
                product_uuid: Some("4c4c4544-0042-3510-8052-b4c04f384d32".into()),
                board_serial: None,
                disk_serial: Some("S4EWNX0R123456".into()),
                cpu: None,
                macs: vec!["00:1a:2b:3c:4d:5e".into(), "04:7c:16:5e:e3:5d".into()],
                cpu_id: Some("BFEBFBFF000906EA".into()),
                custom: vec!["ACME-DONGLE-7".into()],
            }
        );
    }

    #[test]
    fn every_field_is_optional() {
        assert_eq!(from_json_str("{}").unwrap(), MachineFacts::default());
        assert_eq!(
            from_json_str("\u{feff} {\"cpu\": \"Apple M1\"}\n")
                .unwrap()
                .cpu
                .as_deref(),
            Some("Apple M1")
        );
    }

    #[test]
    fn unknown_field_is_named() {
        let err = from_json_str("{\n  \"machine_id\": \"abc\",\n  \"mac\": []\n}").unwrap_err();
        match &err {
            FactsError::UnknownField {
                field, line, path, ..
            } => {
                assert_eq!(field, "mac");
                assert_eq!(*line, 3);
                assert_eq!(*path, None);
            }
            other => panic!("wrong error: {other:?}"),
        }
        let text = err.to_string();
        assert!(text.contains("unknown field `mac`"), "{text}");
        assert!(text.contains("line 3"), "{text}");
    }

    #[test]
    fn bad_mac_is_named() {
        let err =
            from_json_str(r#"{"macs": ["04:7c:16:5e:e3:5d", "04:7c:16:5e:e3"]}"#).unwrap_err();
        assert!(
            matches!(&err, FactsError::InvalidMac { value, .. } if value == "04:7c:16:5e:e3"),
            "{err:?}"
        );
        assert!(err.to_string().contains("`04:7c:16:5e:e3`"), "{err}");
    }

    #[test]
    fn syntax_error_has_position() {
        let text = "{\n  \"cpu\": \"x\",\n  \"macs\": [\"04:7c:16:5e:e3:5d\",]\n}";
        let err = from_json_str(text).unwrap_err();
        assert!(matches!(err, FactsError::Syntax { line: 3, .. }), "{err:?}");
        let msg = err.to_string();
        assert!(msg.contains("line 3, column"), "{msg}");
        assert!(msg.contains("not valid JSON"), "{msg}");
        // The parser's own position suffix is not repeated.
        assert_eq!(msg.matches("line 3").count(), 1, "{msg}");

        let err = from_json_str("").unwrap_err();
        assert!(matches!(err, FactsError::Syntax { .. }), "{err:?}");
    }

    #[test]
    fn wrong_types() {
        for text in [
            r#"{"cpu": 5}"#,
            r#"{"macs": "04:7c:16:5e:e3:5d"}"#,
            r#"["04:7c:16:5e:e3:5d"]"#,
            "null",
            r#""cpu""#,
            r#"{"cpu": "a", "cpu": "b"}"#,
        ] {
            let err = from_json_str(text).unwrap_err();
            assert!(
                matches!(err, FactsError::InvalidValue { line: 1, .. }),
                "{text}: {err:?}"
            );
        }
    }

    #[test]
    fn file_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("facts.json");

        let err = from_json_file(&path).unwrap_err();
        assert!(matches!(err, FactsError::Read { .. }), "{err:?}");
        assert!(err.to_string().contains("facts.json"), "{err}");

        std::fs::write(&path, "{\n  \"cpu\": \"x\"\n  \"macs\": []\n}\n").unwrap();
        let err = from_json_file(&path).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains("line 3"), "{msg}");

        std::fs::write(&path, r#"{"macs": ["nope"]}"#).unwrap();
        let msg = from_json_file(&path).unwrap_err().to_string();
        assert!(
            msg.contains("`nope`") && msg.contains("facts.json"),
            "{msg}"
        );

        std::fs::write(
            &path,
            r#"{"disk_serial": "WD-1", "macs": ["047C165EE35D"]}"#,
        )
        .unwrap();
        let facts = from_json_file(&path).unwrap();
        assert_eq!(facts.disk_serial.as_deref(), Some("WD-1"));
        assert_eq!(facts.macs, ["04:7c:16:5e:e3:5d"]);
    }

    #[test]
    fn unknown_field_name_parsing() {
        assert_eq!(
            unknown_field_name("unknown field `a`b`, expected one of `cpu`"),
            Some("a`b")
        );
        assert_eq!(unknown_field_name("missing field `cpu`"), None);
    }
}
