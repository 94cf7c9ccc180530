//! `cargo xtask vectors`: writes `tests/vectors/vectors.json` from a fixed test key.
//!
//! One context (trusted keys, this machine's facts, `now`, the clock's high-water mark) and
//! a list of cases, each an input text and the verdict every form of keyward must reach:
//! native core, CLI, plugin through the host, and the page in a browser. The file is
//! committed; regenerating it gives the same bytes (everything here is deterministic).

use std::path::Path;

use keyward_core::{
    binding::{Binding, MachineRef},
    eval::Policy,
    time::DAY,
    ActivationCertificate, ActivationRequest, AuthorizationCode, Context, DeactivationCode,
    HardwareId, Kind, LicenseId, LicenseTerms, MachineFacts, MerchantKey, SignedUpdate,
    SystemIdCode, Timestamp, TrustedKeys, UpdateAction,
};
use serde::Serialize;

/// The fixed test key's seed. Test vectors only: never use it for anything real.
pub const TEST_KEY_SEED: &[u8; 32] = b"keyward fixed test key: not safe";
/// A second key, trusted by nobody (for `unknown_key`).
pub const OTHER_KEY_SEED: &[u8; 32] = b"keyward other test key: untrustd";

#[derive(Serialize)]
struct Vectors {
    /// What this file is.
    about: &'static str,
    /// Trusted public keys (SPKI PEM).
    public_keys: Vec<String>,
    /// `now` for every case (RFC 3339).
    now: String,
    /// Clock high-water mark for every case unless the case overrides it.
    high_water: String,
    /// Grace after expiry, seconds.
    grace_secs: u64,
    /// Clock tolerance, seconds.
    clock_tolerance_secs: u64,
    /// This machine's facts.
    facts: MachineFacts,
    cases: Vec<Case>,
}

#[derive(Serialize)]
struct Case {
    name: String,
    input: String,
    /// When set, the input is given to a field / argument that takes only this kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    high_water: Option<String>,
    /// The kind the text is recognised as (`null` when unrecognisable).
    kind: Option<&'static str>,
    /// The verdict code.
    verdict: &'static str,
    /// The offered correction, for typos that have exactly one.
    suggestion: Option<String>,
}

/// The facts of "this machine" in every vector.
pub fn this_machine() -> MachineFacts {
    MachineFacts {
        machine_id: Some("8f3b1c2d4e5f60718293a4b5c6d7e8f9".into()),
        product_uuid: Some("4c4c4544-003d-4a10-804b-b4c04f4e3732".into()),
        board_serial: Some("CN7016351P00AF".into()),
        disk_serial: Some("S4EVNF0M712345X".into()),
        cpu: Some("GenuineIntel family 6 model 158 stepping 10".into()),
        macs: vec!["04:7c:16:5e:e3:5d".into(), "04:7c:16:5e:e3:5e".into()],
        // CPUID leaf 1 (EDX, EAX), as the marketplace's fingerprint carries it.
        cpu_id: Some("BFEBFBFF000906EA".into()),
        // An identifier the merchant's software vouches for (a dongle's serial).
        custom: vec!["acme-dongle-4411".into()],
    }
}

fn other_machine() -> MachineFacts {
    MachineFacts {
        machine_id: Some("0123456789abcdef0123456789abcdef".into()),
        product_uuid: Some("11111111-2222-3333-4444-555555555555".into()),
        board_serial: Some("OTHERBOARD01".into()),
        disk_serial: Some("WD-OTHERDISK".into()),
        cpu: Some("AuthenticAMD family 25 model 33 stepping 0".into()),
        macs: vec!["aa:bb:cc:00:11:22".into()],
        ..Default::default()
    }
}

fn ts(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap_or_default()
}

fn terms(n: u8, product: &str, not_before: Timestamp, expires: Option<Timestamp>) -> LicenseTerms {
    LicenseTerms {
        license_id: LicenseId([0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, n]),
        product: product.into(),
        sku: "pro".into(),
        seats: 1,
        not_before,
        expires,
        features: vec!["export".into()],
        trial: false,
        instance_id: None,
        order_id: None,
    }
}

/// Flips one bit in the decoded bytes and re-encodes with valid check symbols: what a
/// forger (not a typist) would produce. Byte `at` counts from the end when negative.
fn flip_bytes(bytes: &[u8], at: isize, bit: u8) -> Vec<u8> {
    let mut b = bytes.to_vec();
    let i = if at < 0 {
        (b.len() as isize + at) as usize
    } else {
        at as usize
    };
    b[i] ^= 1 << bit;
    b
}

/// Changes one code character (a typist's mistake) at symbol index `i` after the prefix.
fn substitute(code: &str, i: usize) -> String {
    let mut seen = 0;
    code.chars()
        .enumerate()
        .map(|(pos, c)| {
            if pos < 3 || c == '-' || c == '\n' {
                return c;
            }
            seen += 1;
            if seen - 1 == i {
                if c == 'X' {
                    'Y'
                } else {
                    'X'
                }
            } else {
                c
            }
        })
        .collect()
}

/// Swaps two neighbouring code characters inside one group (symbol index `i` and `i+1`).
fn transpose(code: &str, i: usize) -> String {
    let mut chars: Vec<char> = code.chars().collect();
    let idx: Vec<usize> = chars
        .iter()
        .enumerate()
        .filter(|(p, c)| *p >= 3 && **c != '-' && **c != '\n')
        .map(|(p, _)| p)
        .collect();
    let (a, b) = (idx[i], idx[i + 1]);
    if chars[a] == chars[b] {
        // Not a visible change; move on to the next distinct pair.
        return transpose(code, i + 1);
    }
    chars.swap(a, b);
    chars.into_iter().collect()
}

fn to_fullwidth_with_breaks(code: &str) -> String {
    let mut out = String::new();
    for (i, c) in code.chars().enumerate() {
        if c.is_ascii_alphanumeric() {
            out.push(char::from_u32(c as u32 + 0xFEE0).unwrap_or(c));
        } else if c == '-' {
            out.push(if i % 3 == 0 { '\n' } else { ' ' });
        } else {
            out.push(c);
        }
    }
    out
}

/// Raw bytes as a code of `kind`, with valid check symbols (what a forger would paste).
fn encode_raw(kind: Kind, bytes: &[u8]) -> String {
    keyward_core::raw::encode(kind, bytes)
}

pub fn generate(dir: &Path) -> Result<(), String> {
    let key = MerchantKey::from_seed(TEST_KEY_SEED);
    let other = MerchantKey::from_seed(OTHER_KEY_SEED);
    let trusted = TrustedKeys::from_keys([key.public()]);
    let now = ts("2026-11-20T12:00:00Z");
    let high_water = ts("2026-11-20T11:00:00Z");
    let policy = Policy::default();
    let facts = this_machine();
    let other_facts = other_machine();
    let ctx = Context {
        trusted: &trusted,
        facts: &facts,
        hardware_ids: &[],
        now,
        policy,
    };
    let e = |r: Result<String, keyward_core::Error>| r.map_err(|e| e.to_string());
    let issue = |t: LicenseTerms, b: Option<Binding>| {
        e(AuthorizationCode::issue(&key, t, b).map(|c| c.encode()))
    };
    let start = ts("2026-11-01T00:00:00Z");
    let in30 = Some(start.add_secs(30 * DAY));
    let product = "acme-invoice";

    let mut inputs: Vec<(String, String, Option<Kind>, Option<Timestamp>)> = Vec::new();
    let mut add = |name: &str, input: String| inputs.push((name.into(), input, None, None));

    let valid = issue(terms(1, product, start, in30), None)?;
    add("code_valid_unbound", valid.clone());
    let sys_here = SystemIdCode::compute(product, &facts);
    let sys_there = SystemIdCode::compute(product, &other_facts);
    let bound = issue(
        terms(2, product, start, in30),
        Some(Binding::system(sys_here, None).map_err(|e| e.to_string())?),
    )?;
    add("code_bound_system_this_machine", bound.clone());
    add(
        "code_bound_system_other_machine",
        issue(
            terms(3, product, start, in30),
            Some(Binding::system(sys_there, None).map_err(|e| e.to_string())?),
        )?,
    );
    // A code bound to the hardware id `id`; `tolerance`: how many of an `fp:` id's parts
    // must match.
    let bound_to = |n: u8, id: &str, tolerance: Option<u8>| -> Result<String, String> {
        let id = HardwareId::parse(id).map_err(|e| e.to_string())?;
        let binding = Binding::hardware(&id, tolerance).map_err(|e| e.to_string())?;
        issue(terms(n, product, start, in30), Some(binding))
    };
    add(
        "code_bound_mac_this_machine",
        bound_to(4, "mac:04-7C-16-5E-E3-5D", None)?,
    );
    add(
        "code_bound_mac_other_machine",
        bound_to(5, "mac:00:11:22:33:44:55", None)?,
    );
    // The CPU part differs from this machine's CPUID signature: 3 of 4 parts match.
    let fp = "fp:04:7C:16:5E:E3:5D|S4EVNF0M712345X|CN7016351P00AF|BFEBFBFF000906EB";
    add(
        "code_bound_fingerprint_3_of_4_parts_match",
        bound_to(6, fp, None)?,
    );
    // Every part required: this machine's MAC, disk, board and CPUID signature all match.
    add(
        "code_bound_fingerprint_all_4_parts_match",
        bound_to(
            31,
            "fp:04:7C:16:5E:E3:5D|S4EVNF0M712345X|CN7016351P00AF|BFEBFBFF000906EA",
            Some(4),
        )?,
    );
    add(
        "code_bound_fingerprint_all_4_parts_required_cpu_differs",
        bound_to(32, fp, Some(4))?,
    );
    add(
        "code_bound_custom_id_this_machine",
        bound_to(33, "custom:acme-dongle-4411", None)?,
    );
    add(
        "code_bound_custom_id_other_machine",
        bound_to(34, "custom:acme-dongle-9999", None)?,
    );
    add(
        "code_expired",
        issue(
            terms(
                7,
                product,
                ts("2026-09-01T00:00:00Z"),
                Some(ts("2026-10-01T00:00:00Z")),
            ),
            None,
        )?,
    );
    add(
        "code_in_grace",
        issue(
            terms(8, product, start, Some(ts("2026-11-19T12:00:00Z"))),
            None,
        )?,
    );
    add(
        "code_not_yet_valid",
        issue(
            terms(
                9,
                product,
                ts("2026-12-01T00:00:00Z"),
                Some(ts("2027-01-01T00:00:00Z")),
            ),
            None,
        )?,
    );
    add(
        "code_perpetual",
        issue(terms(10, product, start, None), None)?,
    );
    let mut trial = terms(11, product, start, in30);
    trial.trial = true;
    trial.instance_id = Some("a1b2c3d4-instance".into());
    trial.order_id = Some("CS2611201234ABCD".into());
    add("code_trial_with_marketplace_refs", issue(trial, None)?);
    add(
        "code_unknown_key",
        e(
            AuthorizationCode::issue(&other, terms(12, product, start, in30), None)
                .map(|c| c.encode()),
        )?,
    );

    let valid_bytes = AuthorizationCode::decode(&valid, &trusted)
        .map_err(|e| e.to_string())?
        .to_bytes();
    add(
        "code_tampered_signature_bit",
        encode_raw(Kind::AuthorizationCode, &flip_bytes(&valid_bytes, -10, 3)),
    );
    // Byte 4 is the first byte of the license id: still well-formed, signature must fail.
    add(
        "code_tampered_license_id_bit",
        encode_raw(Kind::AuthorizationCode, &flip_bytes(&valid_bytes, 4, 0)),
    );
    add(
        "code_truncated_valid_checks",
        encode_raw(
            Kind::AuthorizationCode,
            &valid_bytes[..valid_bytes.len() - 5],
        ),
    );
    let mut trailing = valid_bytes.clone();
    trailing.push(0);
    add(
        "code_trailing_byte",
        encode_raw(Kind::AuthorizationCode, &trailing),
    );
    add(
        "code_signed_bytes_under_update_prefix",
        encode_raw(Kind::SignedUpdate, &valid_bytes),
    );
    add("code_typo_substitution", substitute(&valid, 17));
    add("code_typo_transposition", transpose(&valid, 30));
    add("code_typo_in_check_symbol", substitute(&valid, 8));
    add(
        "code_two_typos_in_two_groups",
        substitute(&substitute(&valid, 2), 40),
    );
    let mut deleted: Vec<char> = valid.chars().collect();
    deleted.remove(20);
    add("code_character_missing", deleted.into_iter().collect());
    add(
        "code_fullwidth_and_line_breaks",
        to_fullwidth_with_breaks(&valid),
    );
    add(
        "code_lowercase_no_hyphens",
        valid.replace('-', "").to_lowercase(),
    );
    add("code_with_spaces_around", format!("  \n{valid}\t \n"));
    add("code_invalid_character", valid.replacen('-', "-#", 1));
    // Text around a code (issue 8.11): found and checked.
    add("code_in_quotes", format!("“{valid}”"));
    add("code_in_corner_brackets", format!("「{valid}」"));
    add("code_in_markdown", format!("**`{valid}`**"));
    add("code_in_html", format!("<p>Code: <code>{valid}</code></p>"));
    add(
        "code_in_chinese_sentence",
        format!("您的授权码是：{valid}。"),
    );
    add(
        "code_in_english_sentence",
        format!("Your code is {valid}. Thanks!"),
    );
    add(
        "code_typo_in_sentence",
        format!("Your code is {}. Thanks!", substitute(&valid, 17)),
    );
    add("code_look_alike_letter", valid.replacen('-', "-\u{410}", 1));
    add("code_pasted_twice", format!("{valid}{valid}"));
    add(
        "code_pasted_twice_on_two_lines",
        format!("{valid}\n{valid}"),
    );
    let chars: Vec<char> = valid.chars().collect();
    add(
        "code_cut_off_in_signature",
        chars[..chars.len() - 13].iter().collect(),
    );
    add("code_cut_off_early", chars[..43].iter().collect());
    add("code_and_another_code", format!("{valid}\n{bound}"));

    let sys_text = sys_here.encode();
    add("system_id_valid", sys_text.clone());
    // This machine's codes made without a product (`keyward system-id` without
    // `--product`) and for another product: valid on their own, a mismatch on "product"
    // beside a license of acme-invoice.
    add(
        "system_id_without_product",
        SystemIdCode::compute("", &facts).encode(),
    );
    add(
        "system_id_for_another_product",
        SystemIdCode::compute("acme-payroll", &facts).encode(),
    );
    add(
        "system_id_in_sentence",
        format!("系统识别码：{sys_text}，谢谢"),
    );
    add(
        "system_id_cut_off",
        sys_text[..sys_text.len() - 3].to_string(),
    );
    add("system_id_typo", substitute(&sys_text, 7));
    let mut wrong_field =
        |name: &str, input: String, kind: Kind| inputs.push((name.into(), input, Some(kind), None));
    wrong_field(
        "system_id_in_code_field",
        sys_text.clone(),
        Kind::AuthorizationCode,
    );
    wrong_field("code_in_system_id_field", valid.clone(), Kind::SystemId);
    wrong_field(
        "typod_system_id_in_code_field",
        substitute(&sys_text, 3),
        Kind::AuthorizationCode,
    );

    let code_obj = AuthorizationCode::decode(&valid, &trusted).map_err(|e| e.to_string())?;
    let request = ActivationRequest::new(
        code_obj.clone(),
        MachineRef::System(sys_here),
        [9, 8, 7, 6, 5, 4, 3, 2],
        now,
    );
    inputs.push(("request_valid".into(), request.encode(), None, None));
    let forged_request = ActivationRequest::new(
        AuthorizationCode::from_bytes(&flip_bytes(&valid_bytes, -1, 0))
            .map_err(|e| e.to_string())?,
        MachineRef::System(sys_here),
        [1; 8],
        now,
    );
    inputs.push((
        "request_with_forged_code".into(),
        forged_request.encode(),
        None,
        None,
    ));

    let cert = |n: u8, b: Binding| {
        e(
            ActivationCertificate::issue(&key, terms(n, product, start, in30), b, [7; 8], now)
                .map(|c| c.encode()),
        )
    };
    let cert_here = cert(
        20,
        Binding::system(sys_here, None).map_err(|e| e.to_string())?,
    )?;
    inputs.push(("certificate_valid".into(), cert_here.clone(), None, None));
    inputs.push((
        "certificate_other_machine".into(),
        cert(
            21,
            Binding::system(sys_there, None).map_err(|e| e.to_string())?,
        )?,
        None,
        None,
    ));
    inputs.push((
        "certificate_headers_edited_are_ignored".into(),
        cert_here.replace("Product: acme-invoice", "Product: something-else-entirely"),
        None,
        None,
    ));
    let cert_bytes = ActivationCertificate::decode(&cert_here, &trusted)
        .map_err(|e| e.to_string())?
        .to_bytes();
    inputs.push((
        "certificate_tampered_bit".into(),
        encode_raw(
            Kind::ActivationCertificate,
            &flip_bytes(&cert_bytes, -40, 5),
        ),
        None,
        None,
    ));
    inputs.push((
        "certificate_missing_end_line".into(),
        cert_here
            .lines()
            .filter(|l| !l.starts_with("-----END"))
            .collect::<Vec<_>>()
            .join("\n"),
        None,
        None,
    ));
    inputs.push((
        "certificate_in_an_email".into(),
        format!("Dear buyer,\n\nyour certificate:\n{cert_here}\nRegards,\nACME\n"),
        None,
        None,
    ));
    inputs.push((
        "certificate_in_an_email_wrong_title".into(),
        format!(
            "Dear buyer,\n{}Regards\n",
            cert_here.replacen("BEGIN KEYWARD", "BEGIN KEYWART", 1)
        ),
        None,
        None,
    ));
    inputs.push((
        "certificate_clock_rolled_back".into(),
        cert_here.clone(),
        None,
        Some(ts("2026-11-25T00:00:00Z")),
    ));

    let update = e(SignedUpdate::issue(
        &key,
        code_obj.terms().license_id,
        1,
        UpdateAction::Renew {
            expires: ts("2027-12-01T00:00:00Z"),
        },
        now,
    )
    .map(|u| u.encode()))?;
    inputs.push(("update_renew_valid".into(), update.clone(), None, None));
    let update_bytes = SignedUpdate::decode(&update, &trusted)
        .map_err(|e| e.to_string())?
        .to_bytes();
    inputs.push((
        "update_tampered_bit".into(),
        encode_raw(Kind::SignedUpdate, &flip_bytes(&update_bytes, 5, 1)),
        None,
        None,
    ));

    let deactivation = DeactivationCode {
        license_id: LicenseId([0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 20]),
        secret: *b"deactivate",
    }
    .encode();
    inputs.push((
        "deactivation_code_valid".into(),
        deactivation.clone(),
        None,
        None,
    ));
    inputs.push((
        "deactivation_code_typo".into(),
        substitute(&deactivation, 13),
        None,
        None,
    ));
    inputs.push((
        "deactivation_code_transposition".into(),
        transpose(&deactivation, 2),
        None,
        None,
    ));
    inputs.push((
        "deactivation_code_wrong_length".into(),
        encode_raw(Kind::DeactivationCode, &[0x42; 17]),
        None,
        None,
    ));
    inputs.push((
        "deactivation_code_in_code_field".into(),
        deactivation.to_lowercase().replace('-', " "),
        Some(Kind::AuthorizationCode),
        None,
    ));

    for (name, text) in [
        ("hardware_id_mac_dashes", "mac:00-1a-2B-3c-4d-5e"),
        ("hardware_id_mac_cisco_dots", "MAC:001A.2B3C.4D5E"),
        (
            "hardware_id_marketplace_fingerprint",
            "fp:04:7C:16:5E:E3:5D|001B_444A_488B_5CEC.||BFEBFBFF00090672",
        ),
        ("hardware_id_bad_mac", "mac:00:1a:2b"),
        ("not_a_code", "hello, is this my license?"),
        ("marketplace_license_code", "PL0123456789ABCDEF0123456789"),
        ("empty", "   "),
    ] {
        inputs.push((name.into(), text.into(), None, None));
    }

    let cases: Vec<Case> = inputs
        .into_iter()
        .map(|(name, input, expected, hw)| {
            let v = keyward_core::verdict(&input, expected, &ctx, hw.unwrap_or(high_water));
            Case {
                name,
                input,
                expected_kind: expected.map(Kind::code),
                high_water: hw.map(|t| t.to_rfc3339()),
                kind: v.kind,
                verdict: v.code.as_str(),
                suggestion: v.suggestion,
            }
        })
        .collect();

    let out = Vectors {
        about: "keyward test vectors: generated by `cargo xtask vectors` from a fixed test key; every form of keyward must reach these verdicts",
        public_keys: vec![key.public().to_pem()],
        now: now.to_rfc3339(),
        high_water: high_water.to_rfc3339(),
        grace_secs: policy.grace,
        clock_tolerance_secs: policy.clock_tolerance,
        facts,
        cases,
    };
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join("vectors.json");
    let json = serde_json::to_string_pretty(&out).map_err(|e| e.to_string())? + "\n";
    let tmp = dir.join(".vectors.json.tmp");
    std::fs::write(&tmp, json).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))?;
    for c in &out.cases {
        println!(
            "{:45} {:22} {}",
            c.name,
            c.verdict,
            c.suggestion
                .as_deref()
                .map_or("", |_| "(correction offered)")
        );
    }
    println!("wrote {} cases to {}", out.cases.len(), path.display());
    Ok(())
}
