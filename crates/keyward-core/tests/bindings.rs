//! Bindings against machine facts: the marketplace fingerprint's parts, `custom:` ids, and
//! system identification codes made for another product.

use keyward_core::{binding::Binding, HardwareId, MachineFacts, SystemIdCode};

/// The marketplace's example fingerprint: MAC, disk, no board, and the processor id
/// (`wmic cpu get ProcessorId`: CPUID leaf 1, EDX then EAX).
const FP: &str = "fp:04:7C:16:5E:E3:5D|001B_444A_488B_5CEC.||BFEBFBFF00090672";

fn machine() -> MachineFacts {
    MachineFacts {
        macs: vec!["04-7c-16-5e-e3-5d".into()],
        disk_serial: Some("001B_444A_488B_5CEC.".into()),
        cpu: Some("GenuineIntel 6 151 2 12th Gen Intel(R) Core(TM) i7-12700".into()),
        cpu_id: Some("bfebfbff00090672".into()),
        ..Default::default()
    }
}

#[test]
fn every_part_of_a_marketplace_fingerprint_matches_its_machine() {
    let fp = HardwareId::parse(FP).unwrap();
    let all = Binding::hardware(&fp, Some(3)).unwrap();
    assert_eq!(all.check("p", &machine(), &[]), Ok(()));
    // Without the processor id (a host that does not report it), the CPU part is missing.
    let without = MachineFacts {
        cpu_id: None,
        ..machine()
    };
    let m = all.check("p", &without, &[]).unwrap_err();
    assert_eq!((m.matched, m.required), (2, 3));
    assert_eq!(m.differing, ["cpu"]);
    // Another processor: the same.
    let other = MachineFacts {
        cpu_id: Some("BFEBFBFF000906A3".into()),
        ..machine()
    };
    assert_eq!(all.check("p", &other, &[]).unwrap_err().differing, ["cpu"]);
}

#[test]
fn custom_ids_in_the_facts_satisfy_custom_bindings() {
    let id = HardwareId::parse("custom: Dongle-42 ").unwrap();
    let b = Binding::hardware(&id, None).unwrap();
    let with = MachineFacts {
        custom: vec!["other".into(), "  Dongle-42".into()],
        ..Default::default()
    };
    assert_eq!(b.check("p", &with, &[]), Ok(()));
    // Case is part of a custom id; full-width forms are folded.
    let folded = MachineFacts {
        custom: vec!["Ｄｏｎｇｌｅ－４２".into()],
        ..Default::default()
    };
    assert_eq!(b.check("p", &folded, &[]), Ok(()));
    let lower = MachineFacts {
        custom: vec!["dongle-42".into()],
        ..Default::default()
    };
    assert_eq!(b.check("p", &lower, &[]).unwrap_err().differing, ["custom"]);
    assert!(b.check("p", &MachineFacts::default(), &[]).is_err());
}

#[test]
fn new_facts_do_not_change_the_system_identification_code() {
    let plain = MachineFacts {
        cpu_id: None,
        ..machine()
    };
    let more = MachineFacts {
        custom: vec!["x".into()],
        ..machine()
    };
    assert_eq!(
        SystemIdCode::compute("p", &plain),
        SystemIdCode::compute("p", &more)
    );
}

#[test]
fn a_system_id_for_another_product_is_named_as_such() {
    let facts = machine();
    let right = SystemIdCode::compute("acme-invoice", &facts);
    let none = SystemIdCode::compute("", &facts);
    let other = SystemIdCode::compute("acme-crm", &facts);
    assert!(right.check_product("acme-invoice").is_ok());
    let e = none.check_product("acme-invoice").unwrap_err();
    assert_eq!(e.code(), "invalid_input");
    let msg = e.to_string();
    assert!(msg.contains("without a product"), "{msg}");
    assert!(
        msg.contains("keyward system-id --product acme-invoice"),
        "{msg}"
    );
    let msg = other.check_product("acme-invoice").unwrap_err().to_string();
    assert!(msg.contains("another product than acme-invoice"), "{msg}");
    // On the machine: bound to a product-neutral code, the mismatch is on "product".
    let bound = Binding::system(none, None).unwrap();
    let m = bound.check("acme-invoice", &facts, &[]).unwrap_err();
    assert_eq!(m.differing, ["product"]);
    let bound = Binding::system(right, None).unwrap();
    assert_eq!(bound.check("acme-invoice", &facts, &[]), Ok(()));
}
