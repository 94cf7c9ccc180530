//! `keyward system-id` and `keyward hardware-id`: identifying machines.

use clap::Args;
use keyward_core::{facts::Fact, Artifact, HardwareId, MachineFacts, SystemIdCode};
use serde_json::{json, Value};

use crate::cmd::inspect::details_json;
use crate::env::{read_input, Env};
use crate::exit::{CmdResult, Error, Exit};
use crate::kinds::{expect_kind, HARDWARE_ID};
use crate::output::emit_json;

/// `keyward system-id …`
#[derive(Args)]
pub struct SystemIdArgs {
    /// The product the code is for (it salts the code, so each product sees a different
    /// code); the merchant must bind to the code made for their product.
    #[arg(long, value_name = "P", default_value = "")]
    product: String,
    /// List which machine facts were found (names and present/absent only).
    #[arg(long)]
    explain: bool,
    /// With --explain, also show the raw fact values (for this machine's user only: they
    /// are never part of the code; do not send them to anyone).
    #[arg(long, requires = "explain")]
    show_values: bool,
}

/// `keyward hardware-id …`
#[derive(Args)]
pub struct HardwareIdArgs {
    /// The hardware identification code (mac:…, sn:…, uuid:…, disk:…, fp:MAC|disk|board|cpu,
    /// custom:…), or `-` for standard input.
    #[arg(value_name = "CODE", allow_hyphen_values = true)]
    code: String,
}

/// One fact of a system identification code: its name, what it is made of, the raw
/// value on this machine (if found).
fn fact_inputs(f: Fact, facts: &MachineFacts) -> (&'static str, Option<String>) {
    match f {
        Fact::MachineId => (
            "OS installation id (/etc/machine-id, MachineGuid, IOPlatformUUID)",
            facts.machine_id.clone(),
        ),
        Fact::Board => (
            "mainboard: DMI product UUID and board serial (on Linux usually readable by root only)",
            match (&facts.product_uuid, &facts.board_serial) {
                (None, None) => None,
                (u, s) => Some(format!(
                    "product_uuid={} board_serial={}",
                    u.as_deref().unwrap_or("-"),
                    s.as_deref().unwrap_or("-")
                )),
            },
        ),
        Fact::Disk => (
            "serial number of the system disk",
            facts.disk_serial.clone(),
        ),
        Fact::Cpu => ("CPU vendor, family, model and stepping", facts.cpu.clone()),
        Fact::Mac => (
            "MAC addresses of the physical network adapters",
            (!facts.macs.is_empty()).then(|| facts.macs.join(",")),
        ),
    }
}

/// Runs `keyward system-id`.
pub fn system_id(env: &Env, a: SystemIdArgs) -> CmdResult {
    let facts = env.facts()?;
    let code = SystemIdCode::compute(&a.product, &facts.facts);
    if code.present() == 0 {
        return Err(Error::new(
            "no_facts",
            Exit::Other,
            format!(
                "no machine facts could be read from {}: nothing identifies this machine; run as a user who can read /etc/machine-id (or as root), or give --facts FILE",
                facts.source
            ),
        ));
    }
    let list: Vec<Value> = Fact::ALL
        .into_iter()
        .map(|f| {
            let (about, value) = fact_inputs(f, &facts.facts);
            let mut v = json!({
                "name": f.code(),
                "present": code.fact(f) != 0,
                "about": about,
            });
            if a.show_values {
                v["value"] = json!(value);
            }
            v
        })
        .collect();
    if env.json {
        emit_json(&json!({
            "system_id": code.encode(),
            "product": a.product,
            "present": code.present(),
            "facts_source": facts.source,
            "facts": list,
        }))?;
        return Ok(Exit::Ok);
    }
    outln!("{code}")?;
    if a.explain {
        outln!()?;
        outln!(
            "{} of 5 facts found ({}), salted with product {:?}:",
            code.present(),
            facts.source,
            a.product
        )?;
        for f in Fact::ALL {
            let (about, value) = fact_inputs(f, &facts.facts);
            let present = code.fact(f) != 0;
            outln!(
                "  {:<11} {:<8} {about}",
                f.code(),
                if present { "present" } else { "absent" }
            )?;
            if a.show_values {
                outln!(
                    "  {:<11} {:<8} value: {}",
                    "",
                    "",
                    value.as_deref().unwrap_or("-")
                )?;
            }
        }
        outln!()?;
        if a.show_values {
            outln!("The values above are shown to you, this machine's user, only: the code holds salted hashes of them, never the values. Do not send the values to anyone.")?;
        } else {
            outln!("The code holds only salted hashes of these facts; no raw value leaves this machine.")?;
        }
        outln!("A license bound to this code keeps working while a majority of the present facts stay the same.")?;
    } else if a.product.is_empty() {
        errln!("note: this code is product-neutral; give --product P when the merchant asks for the code for product P");
    }
    Ok(Exit::Ok)
}

/// Reads a hardware identification code given as `option` (a keyward code given there is
/// `wrong_kind`, as everywhere).
pub fn hardware_id_arg(text: &str, option: &str) -> Result<HardwareId, Error> {
    expect_kind(
        text,
        &[HARDWARE_ID],
        "give an identifier of the device (mac:…, sn:…, uuid:…, disk:…, fp:…, custom:…)",
    )
    .map_err(|e| e.context(option))?;
    HardwareId::parse(text).map_err(|e| Error::core(&e, Some(option)))
}

/// Runs `keyward hardware-id`.
pub fn hardware_id(env: &Env, a: HardwareIdArgs) -> CmdResult {
    let text = read_input(&a.code)?;
    expect_kind(
        &text,
        &[HARDWARE_ID],
        "hardware-id checks an identifier of a device (mac:…, sn:…, uuid:…, disk:…, fp:…, custom:…); `keyward inspect` explains keyward codes",
    )?;
    let id = HardwareId::parse(&text)?;
    if env.json {
        emit_json(&details_json(&Artifact::HardwareId(id)))?;
    } else {
        outln!("{id}")?;
        let parts: Vec<&str> = id.parts().iter().map(|(k, _)| k.code()).collect();
        errln!(
            "a valid {} identifier ({} part{}: {})",
            id.kind().prefix(),
            parts.len(),
            if parts.len() == 1 { "" } else { "s" },
            parts.join(", ")
        );
    }
    Ok(Exit::Ok)
}
