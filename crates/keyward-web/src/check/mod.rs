//! What the page asks of keyward-core, in plain Rust (tested natively): a verdict on one
//! field's text with everything the page needs to say it in Chinese or English.
//!
//! The verdict itself (`verdict`, `message`, `suggestion`, `kind`) is always
//! [`keyward_core::verdict`]'s, so the page agrees with the CLI and the plugin. Around it
//! this module adds structure the core's sentence only carries as words: the failing typo
//! groups, the character and position of a bad character, the kinds involved, the license
//! terms, the binding. It gets that from a second, unverified [`Artifact::parse`] of the
//! same text (cheap: no signature check).
//!
//! [`report`] holds the shapes of what the page is given; `explain` fills a report in
//! from the core's error or artifact.

mod explain;
pub mod report;

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use keyward_core::{
    binding::{Binding, MachineRef, Mismatch},
    eval::Policy,
    verdict, ActivationRequest, Artifact, AuthorizationCode, Context, Error, Kind, MachineFacts,
    StatusCode, Timestamp, TrustedKeys, VerdictCode,
};

pub use report::{
    kind_from_code, Args, BoundTo, Details, Env, Field, License, Machine, MachineMatch, Report,
    Update,
};

/// The trusted keys, and every check the page makes with them.
#[derive(Clone, Debug)]
pub struct Checker {
    trusted: TrustedKeys,
}

/// Whether a verdict is on a genuine artifact, whose contents are shown: a license's status
/// or `valid`. (Any other verdict is a problem, and the contents of a text with a bad
/// signature are not to be believed.)
fn genuine(v: VerdictCode) -> bool {
    match v {
        VerdictCode::Valid => true,
        VerdictCode::Status(s) => s != StatusCode::NoLicense,
        _ => false,
    }
}

impl Checker {
    /// Trusts every `PUBLIC KEY` PEM block in `pems` (the merchant's keys from config.json).
    pub fn new<S: AsRef<str>>(pems: impl IntoIterator<Item = S>) -> Result<Checker, Error> {
        let mut trusted = TrustedKeys::new();
        for pem in pems {
            for k in TrustedKeys::from_pem(pem.as_ref())?.keys() {
                trusted.add(*k);
            }
        }
        if trusted.is_empty() {
            return Err(Error::InvalidKey {
                reason: "no public key was given".into(),
            });
        }
        // The page checks many pastes with these keys: its typo search gets the shortcut.
        trusted.prepare_correction_tables();
        Ok(Checker { trusted })
    }

    /// Ids of the trusted keys.
    pub fn key_ids(&self) -> Vec<String> {
        self.trusted
            .keys()
            .iter()
            .map(|k| k.id().to_string())
            .collect()
    }

    /// The verdict on `text` pasted into `field`.
    pub fn check(&self, text: &str, field: Field, env: &Env) -> Report {
        let none = MachineFacts::default();
        let ctx = Context {
            trusted: &self.trusted,
            facts: env.facts.as_ref().unwrap_or(&none),
            hardware_ids: &[],
            now: env.now,
            policy: Policy::default(),
        };
        let expected = match field {
            Field::Any => None,
            Field::Only(k) => Some(k),
            // Only a keyward code of another kind is "wrong" here: a hardware id has no
            // prefix, so it is judged as found.
            Field::Machine => match keyward_core::text::sniff_kind(text) {
                Some(k) if k != Kind::SystemId => Some(Kind::SystemId),
                _ => None,
            },
        };
        let v = verdict(text, expected, &ctx, env.high_water);
        let mut r = Report {
            kind: v.kind,
            verdict: v.code,
            message: v.message,
            suggestion: v.suggestion,
            pasted_as: None,
            reason: None,
            typos: Vec::new(),
            args: Args::default(),
            details: None,
            binding_unchecked: false,
        };
        let parsed = match expected {
            Some(k) => Artifact::parse_expecting(text, k, None),
            None => Artifact::parse(text, None),
        };
        match (&v.error, parsed) {
            // The refusal's details come from the verdict's own error: the unverified parse
            // can fail differently (a code missing its last character is a typo with its
            // correction when the signature is checked, and only "incomplete" without).
            (Some(e), _) => r.explain(e, text),
            (None, Ok(a)) if genuine(r.verdict) => r.describe(&a, &ctx, env),
            (None, _) => {}
        }
        r.mark_incomplete(text);
        r.read_pasted(text);
        r
    }

    /// Compares the binding of `text` (an authorization code or a certificate) with the
    /// machine named by `machine_text` (a system or hardware identification code):
    /// "this code is for another machine", on the spot.
    pub fn bound_matches(&self, text: &str, machine_text: &str) -> MachineMatch {
        let invalid = MachineMatch {
            state: "invalid",
            bound: None,
            matched: 0,
            required: 0,
            differing: Vec::new(),
        };
        let (product, binding) = match Artifact::parse(text, Some(&self.trusted)) {
            Ok(Artifact::AuthorizationCode(c)) => (c.terms().product.clone(), c.binding().cloned()),
            Ok(Artifact::ActivationCertificate(c)) => {
                (c.terms().product.clone(), Some(c.binding().clone()))
            }
            _ => return invalid,
        };
        let bound = binding.as_ref().map(|b| match b {
            Binding::System { .. } => "system",
            Binding::Hardware { .. } => "hardware",
        });
        let machine = machine_ref(machine_text);
        // A system identification code made without this product (or for another) matches
        // no license of it, bound or not: a mismatch on "product".
        if let Some(MachineRef::System(s)) = &machine {
            if !s.made_for(&product) {
                return MachineMatch {
                    state: "mismatch",
                    bound,
                    matched: 0,
                    required: binding.as_ref().map_or(1, Binding::tolerance),
                    differing: alloc::vec!["product"],
                };
            }
        }
        let Some(b) = binding else {
            return MachineMatch {
                state: "unbound",
                ..invalid
            };
        };
        let Some(machine) = machine else {
            return MachineMatch { bound, ..invalid };
        };
        let required = b.tolerance();
        match b.check_machine_ref(&machine) {
            None => MachineMatch {
                state: "incomparable",
                bound,
                required,
                ..invalid
            },
            Some(Ok(())) => MachineMatch {
                state: "match",
                bound,
                required,
                ..invalid
            },
            Some(Err(m)) => MachineMatch {
                state: "mismatch",
                bound,
                matched: m.matched,
                required: m.required,
                differing: m.differing,
            },
        }
    }

    /// An activation request (`KR1-…`) for the authorization code `code` on the machine
    /// named by `machine_text`, made at `now` with the caller's random `nonce`. Fails (with
    /// the report to show) when the code is not valid, the machine text is not a system or
    /// hardware identification code, or a bound code is for another machine.
    pub fn make_request(
        &self,
        code: &str,
        machine_text: &str,
        nonce: [u8; 8],
        now: Timestamp,
    ) -> Result<String, Box<Report>> {
        let env = Env {
            now,
            high_water: now,
            facts: None,
        };
        let code = AuthorizationCode::decode(code, &self.trusted)
            .map_err(|_| Box::new(self.check(code, Field::Only(Kind::AuthorizationCode), &env)))?;
        let machine = machine_ref(machine_text)
            .ok_or_else(|| Box::new(self.check(machine_text, Field::Machine, &env)))?;
        // A system identification code made without the product (or for another) matches
        // no license of it: said as a mismatch on "product" (the page explains how to make
        // the right code).
        let wrong_product = match &machine {
            MachineRef::System(s) if !s.made_for(&code.terms().product) => Some(Mismatch {
                differing: alloc::vec!["product"],
                matched: 0,
                required: code.binding().map_or(1, |b| b.tolerance()),
            }),
            _ => None,
        };
        let mismatch = wrong_product
            .map(Err)
            .or_else(|| code.binding().and_then(|b| b.check_machine_ref(&machine)));
        if let Some(Err(m)) = mismatch {
            let mut r = self.check(&code.encode(), Field::Any, &env);
            r.verdict = VerdictCode::Status(StatusCode::MachineMismatch);
            r.message = "this authorization code is bound to another machine".into();
            r.args.mismatch = Some((m.matched, m.required, m.differing));
            return Err(Box::new(r));
        }
        Ok(ActivationRequest::new(code, machine, nonce, now).encode())
    }
}

/// A system or hardware identification code, or `None`.
fn machine_ref(text: &str) -> Option<MachineRef> {
    match Artifact::parse(text, None).ok()? {
        Artifact::SystemId(s) => Some(MachineRef::System(s)),
        Artifact::HardwareId(h) => Some(MachineRef::Hardware(h)),
        _ => None,
    }
}
