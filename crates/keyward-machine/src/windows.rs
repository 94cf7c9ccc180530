//! Windows: facts from the registry, read with `reg query`.

use crate::{run_command, MachineFacts};

const CRYPTOGRAPHY: &str = r"HKLM\SOFTWARE\Microsoft\Cryptography";
const PROCESSOR: &str = r"HKLM\HARDWARE\DESCRIPTION\System\CentralProcessor\0";

/// Collects the machine GUID and processor identity. Anything unreadable is `None`.
pub(crate) fn collect() -> MachineFacts {
    let cpu_parts: Vec<String> = ["VendorIdentifier", "Identifier"]
        .into_iter()
        .filter_map(|name| registry_value(PROCESSOR, name))
        .collect();
    let cpu = match (
        cpu_parts.is_empty(),
        registry_value(PROCESSOR, "ProcessorNameString"),
    ) {
        (true, None) => None,
        (_, None) => Some(cpu_parts.join(" ")),
        (true, Some(name)) => Some(name),
        (false, Some(name)) => Some(format!("{} ({name})", cpu_parts.join(" "))),
    };
    MachineFacts {
        machine_id: registry_value(CRYPTOGRAPHY, "MachineGuid"),
        cpu,
        ..MachineFacts::default()
    }
}

/// One string value from the registry. The 64-bit view is asked for first, because a
/// 32-bit process is otherwise redirected to `WOW6432Node`, which lacks `MachineGuid`.
fn registry_value(key: &str, name: &str) -> Option<String> {
    let reg = std::env::var_os("SystemRoot")
        .map(|root| {
            std::path::Path::new(&root)
                .join("System32")
                .join("reg.exe")
                .to_string_lossy()
                .into_owned()
        })
        .unwrap_or_else(|| "reg".to_string());
    run_command(&reg, &["query", key, "/v", name, "/reg:64"])
        .or_else(|| run_command(&reg, &["query", key, "/v", name]))
        .and_then(|text| parse_reg_value(&text, name))
}

/// The data of value `name` in `reg query` output, where a value line reads
/// `    MachineGuid    REG_SZ    6f1e...` (the data may contain spaces).
fn parse_reg_value(text: &str, name: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let rest = line.trim_start().strip_prefix(name)?;
        let (kind, data) = rest.trim_start().split_once(char::is_whitespace)?;
        kind.starts_with("REG_").then(|| data.trim().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reg_query_output() {
        let text = "\r\nHKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Cryptography\r\n    \
                    MachineGuid    REG_SZ    6f1e5f1e-0d4c-4a55-9f3e-6a1b2c3d4e5f\r\n\r\n";
        assert_eq!(
            parse_reg_value(text, "MachineGuid").as_deref(),
            Some("6f1e5f1e-0d4c-4a55-9f3e-6a1b2c3d4e5f")
        );
        let text =
            "    ProcessorNameString    REG_SZ    Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz\r\n";
        assert_eq!(
            parse_reg_value(text, "ProcessorNameString").as_deref(),
            Some("Intel(R) Core(TM) i7-8650U CPU @ 1.90GHz")
        );
        assert_eq!(parse_reg_value(text, "Identifier"), None);
        assert_eq!(parse_reg_value("ERROR: not found", "MachineGuid"), None);
    }

    /// Without `reg.exe` (any other system) every fact is simply absent.
    #[test]
    fn collect_does_not_panic() {
        let facts = collect();
        if !cfg!(windows) {
            assert_eq!(facts, MachineFacts::default());
        }
    }
}
