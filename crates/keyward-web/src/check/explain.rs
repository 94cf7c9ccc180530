//! Filling a [`Report`] in: the structure of the core's error behind a verdict, the
//! contents of a genuine artifact, and a license's status values.

use alloc::string::{String, ToString};

use keyward_core::{
    binding::{Binding, MachineRef},
    error::{ArmourError, CodeError},
    eval::{evaluate_terms, LicenseFlags},
    time::DAY,
    Artifact, Context, Error, ErrorCode, LicenseTerms, SignedUpdate, StatusCode, UpdateAction,
    VerdictCode,
};

use super::report::{Details, Env, License, Machine, Report, Update};
use keyward_core::raw::hex;

impl Report {
    /// A code still being typed (or cut off) is not wrong, only unfinished: when no
    /// correction was found and the text is the beginning of a code (every complete group
    /// checks), the reason is `incomplete` (and when the core could tell, `args.missing`
    /// says how many characters are missing).
    pub(super) fn mark_incomplete(&mut self, text: &str) {
        if self.suggestion.is_some()
            || !matches!(
                self.verdict,
                VerdictCode::Error(
                    ErrorCode::Typo
                        | ErrorCode::Malformed
                        | ErrorCode::NotAKeywardCode
                        | ErrorCode::Incomplete
                )
            )
        {
            return;
        }
        if let Some(typed) = keyward_core::text::code_beginning(text) {
            self.reason = Some("incomplete");
            self.args.symbols = Some(typed);
        }
    }

    /// With a suggestion, the pasted text as the core reads it (the page shows what the
    /// correction changes by comparing the two, without folding text itself).
    pub(super) fn read_pasted(&mut self, text: &str) {
        if self.suggestion.is_some() {
            self.pasted_as = Some(keyward_core::text::code_characters(text));
        }
    }

    /// Fills in the structure of an error the core reported as `self.verdict`.
    pub(super) fn explain(&mut self, e: &Error, text: &str) {
        let a = &mut self.args;
        match e {
            Error::Code(CodeError::Typo {
                groups,
                missing_or_extra,
                ..
            }) => {
                self.typos.clone_from(groups);
                if *missing_or_extra {
                    self.reason = Some("missing_or_extra");
                }
            }
            Error::Code(CodeError::InvalidCharacter {
                character,
                position,
            }) => {
                self.reason = Some("invalid_character");
                a.character = Some(*character);
                a.position = Some(*position);
            }
            Error::Code(CodeError::Incomplete {
                missing, at_least, ..
            }) => {
                self.reason = Some("incomplete");
                a.missing = Some((*missing, *at_least));
            }
            Error::Code(CodeError::TwoCodes) => self.reason = Some("two_codes"),
            Error::Code(CodeError::BadLength { symbols, .. }) => {
                self.reason = Some("bad_length");
                a.symbols = Some(*symbols);
            }
            Error::Code(CodeError::TooLong { len, max }) => {
                self.reason = Some("too_long");
                a.length = Some((*len, *max));
            }
            Error::Code(CodeError::UnsupportedVersion { version, .. }) => {
                a.version = Some(*version)
            }
            Error::Malformed { .. } => self.reason = Some("contents"),
            Error::BadArmour(armour) => {
                self.reason = Some(match armour {
                    ArmourError::TwoBegins => "armour_two_begins",
                    ArmourError::EndWithoutBegin => "armour_end_without_begin",
                    ArmourError::EndMissing => "armour_end_missing",
                    ArmourError::WrongTitle => "armour_wrong_title",
                    ArmourError::HeaderInCode => "armour_header_in_code",
                    ArmourError::NotACertificate => "armour_not_a_certificate",
                    _ => "armour",
                })
            }
            Error::WrongKind { expected, found } => {
                a.expected = Some(expected.code());
                a.found = Some(found.code());
            }
            Error::UnknownKey { key_id } => a.key_id = Some(key_id.to_string()),
            Error::InvalidInput { .. } => {
                if let Ok(Artifact::HardwareId(_)) = Artifact::parse(text, None) {
                    self.reason = Some("hardware_id_here");
                    a.found = Some("hardware_id");
                }
            }
            Error::InvalidHardwareId { .. } => a.hardware_kind = hardware_prefix(text),
            _ => {}
        }
    }

    /// Fills in the contents of an artifact judged valid (or a license status).
    pub(super) fn describe(&mut self, a: &Artifact, ctx: &Context<'_>, env: &Env) {
        let mut d = Details::default();
        match a {
            Artifact::AuthorizationCode(c) => {
                d.license = Some(License::of(c.terms(), c.binding()));
                d.key_id = Some(c.key_id().to_string());
                self.license_status(c.terms(), c.binding(), ctx, env);
            }
            Artifact::ActivationCertificate(c) => {
                d.license = Some(License::of(c.terms(), Some(c.binding())));
                d.key_id = Some(c.key_id().to_string());
                d.nonce = Some(hex(&c.nonce()));
                d.issued = Some(c.issued());
                self.license_status(c.terms(), Some(c.binding()), ctx, env);
            }
            Artifact::ActivationRequest(r) => {
                d.license = Some(License::of(r.code.terms(), r.code.binding()));
                d.key_id = Some(r.code.key_id().to_string());
                d.machine = Some(Machine::of(&r.machine));
                d.nonce = Some(hex(&r.nonce));
                d.issued = Some(r.created);
            }
            Artifact::SystemId(s) => d.machine = Some(Machine::of(&MachineRef::System(*s))),
            Artifact::HardwareId(h) => {
                d.machine = Some(Machine::of(&MachineRef::Hardware(h.clone())))
            }
            Artifact::SignedUpdate(u) => {
                d.update = Some(update_of(u));
                d.key_id = Some(u.key_id().to_string());
                d.issued = Some(u.issued());
            }
            // Only the certificate of the seat can tell whether it is right: the page sends
            // it to the merchant's service (web/online.js).
            Artifact::DeactivationCode(_) => {}
        }
        self.details = Some(d);
    }

    /// Structured values of a license status; without facts, the status on terms alone.
    fn license_status(
        &mut self,
        terms: &LicenseTerms,
        binding: Option<&Binding>,
        ctx: &Context<'_>,
        env: &Env,
    ) {
        if binding.is_some() && env.facts.is_none() {
            self.binding_unchecked = true;
            if self.verdict == VerdictCode::Status(StatusCode::MachineMismatch) {
                // A browser knows nothing of the machine: judge the terms, and let the page
                // check the binding against the pasted machine code.
                let s = evaluate_terms(terms, None, &LicenseFlags::default(), ctx);
                self.verdict = VerdictCode::Status(s.code());
                self.message = s.describe();
            }
        }
        let a = &mut self.args;
        if let Some(e) = terms.expires {
            a.days_left = Some(e.0.saturating_sub(env.now.0).div_ceil(DAY));
        }
        match self.verdict {
            VerdictCode::Status(StatusCode::InGrace) => {
                a.grace_ends = terms.expires.map(|e| e.add_secs(ctx.policy.grace));
            }
            VerdictCode::Status(StatusCode::ClockRolledBack) => {
                a.clock = Some((env.now, env.high_water))
            }
            VerdictCode::Status(StatusCode::MachineMismatch) => {
                if let Some(Err(m)) = binding.map(|b| b.check(&terms.product, ctx.facts, &[])) {
                    a.mismatch = Some((m.matched, m.required, m.differing));
                }
            }
            _ => {}
        }
    }
}

fn update_of(u: &SignedUpdate) -> Update {
    Update {
        license_id: u.license_id().to_string(),
        sequence: u.sequence(),
        action: u.action().code(),
        expires: match u.action() {
            UpdateAction::Renew { expires } => Some(expires),
            _ => None,
        },
    }
}

/// The hardware kind a text names by its prefix (full-width letters and colon included).
fn hardware_prefix(text: &str) -> Option<&'static str> {
    let folded: String = text
        .trim_start()
        .chars()
        .take(8)
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            c => c,
        })
        .collect::<String>()
        .to_ascii_lowercase();
    let (p, _) = folded.split_once(':')?;
    Some(match p.trim() {
        "mac" => "mac",
        "sn" | "serial" => "sn",
        "uuid" => "uuid",
        "disk" => "disk",
        "fp" => "fp",
        "custom" => "custom",
        _ => return None,
    })
}
