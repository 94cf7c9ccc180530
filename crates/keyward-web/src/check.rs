//! What the page asks of keyward-core, in plain Rust (tested natively): a verdict on one
//! field's text with everything the page needs to say it in Chinese or English.
//!
//! The verdict itself (`verdict`, `message`, `suggestion`, `kind`) is always
//! [`keyward_core::verdict`]'s, so the page agrees with the CLI and the plugin. Around it
//! this module adds structure the core's sentence only carries as words: the failing typo
//! groups, the character and position of a bad character, the kinds involved, the license
//! terms, the binding. It gets that from a second, unverified [`Artifact::parse`] of the
//! same text (cheap: no signature check).

use alloc::boxed::Box;
use alloc::string::{String, ToString};
use alloc::vec::Vec;

use keyward_core::{
    evaluate_terms, verdict, ActivationRequest, Artifact, AuthorizationCode, Binding, CodeError,
    Context, Error, Kind, LicenseFlags, LicenseTerms, MachineFacts, MachineRef, Policy,
    SignedUpdate, Timestamp, TrustedKeys, Typo, UpdateAction, DAY,
};

use crate::json::hex;

/// What an input field takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// Any artifact (the page's third field: certificates and signed updates).
    Any,
    /// Only this kind (the authorization-code field).
    Only(Kind),
    /// A system identification code or a hardware identification code (the machine field).
    Machine,
}

impl Field {
    /// From the page's name for it: a kind code (`authorization_code`, …), `machine`, or
    /// nothing / `any`.
    pub fn parse(name: Option<&str>) -> Option<Field> {
        match name {
            None | Some("") | Some("any") => Some(Field::Any),
            Some("machine") => Some(Field::Machine),
            Some(k) => kind_from_code(k).map(Field::Only),
        }
    }
}

/// A kind from its stable code.
pub fn kind_from_code(code: &str) -> Option<Kind> {
    Kind::ALL.into_iter().find(|k| k.code() == code)
}

/// When and where a check happens.
#[derive(Clone, Debug, Default)]
pub struct Env {
    /// The current time.
    pub now: Timestamp,
    /// The highest time seen before (clock rollback detection); the page passes `now`.
    pub high_water: Timestamp,
    /// The machine's facts. The page has none (a browser cannot read them): a bound code is
    /// then judged on its terms alone and checked against the pasted machine code instead
    /// ([`Checker::bound_matches`]). The test vectors give facts, and then the verdict is
    /// exactly the core's.
    pub facts: Option<MachineFacts>,
}

/// Structured values for the page's messages (each is set only where it applies).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Args {
    /// The kind a field expected (`wrong_kind`).
    pub expected: Option<&'static str>,
    /// The kind that was pasted (`wrong_kind`, and `invalid_input` for a hardware id).
    pub found: Option<&'static str>,
    /// The offending character (`invalid_character`).
    pub character: Option<char>,
    /// Its 1-based position in the pasted text.
    pub position: Option<usize>,
    /// Code characters counted (`bad_length`).
    pub symbols: Option<usize>,
    /// Bytes pasted and accepted (`too_long`).
    pub length: Option<(usize, usize)>,
    /// Version found (`unsupported_version`).
    pub version: Option<u8>,
    /// The signing key's id (`unknown_key`).
    pub key_id: Option<String>,
    /// Machine facts or parts that matched, that are required, and the kinds that differ
    /// (`machine_mismatch`).
    pub mismatch: Option<(u8, u8, Vec<&'static str>)>,
    /// Whole days until expiry, rounded up (license statuses with an expiry).
    pub days_left: Option<u64>,
    /// When the grace period ends (`in_grace`).
    pub grace_ends: Option<Timestamp>,
    /// The time given and the highest seen (`clock_rolled_back`).
    pub clock: Option<(Timestamp, Timestamp)>,
    /// The hardware kind the text names by its prefix (`invalid_hardware_id`): `mac`, `sn`,
    /// `uuid`, `disk`, `fp`, `custom`, or none when it names none.
    pub hardware_kind: Option<&'static str>,
}

/// What a license is bound to, as the page shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BoundTo {
    /// A system identification code (`KS1-…`), `tolerance` of its `facts` must match.
    System {
        /// The code's text.
        code: String,
        /// Facts that must match.
        tolerance: u8,
        /// Facts present in the code.
        facts: usize,
    },
    /// A hardware identification code (only salted digests are stored, so no value).
    Hardware {
        /// `mac`, `sn`, `uuid`, `disk`, `fp` or `custom`.
        kind: &'static str,
        /// Parts that must match.
        tolerance: u8,
        /// Parts bound.
        parts: usize,
    },
}

impl BoundTo {
    fn of(b: &Binding) -> BoundTo {
        match b {
            Binding::System { code, tolerance } => BoundTo::System {
                code: code.encode(),
                tolerance: *tolerance,
                facts: code.present(),
            },
            Binding::Hardware {
                kind, tolerance, ..
            } => BoundTo::Hardware {
                kind: kind.prefix(),
                tolerance: *tolerance,
                parts: b.parts_count(),
            },
        }
    }
}

/// What a license grants (from an authorization code, a certificate or a request).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct License {
    /// 16 hex digits.
    pub license_id: String,
    /// Product id.
    pub product: String,
    /// SKU / edition.
    pub sku: String,
    /// Seats.
    pub seats: u32,
    /// Valid from.
    pub not_before: Timestamp,
    /// Valid until; `None` is perpetual.
    pub expires: Option<Timestamp>,
    /// Features granted.
    pub features: Vec<String>,
    /// Trial license.
    pub trial: bool,
    /// Marketplace instance id.
    pub instance_id: Option<String>,
    /// Marketplace order id.
    pub order_id: Option<String>,
    /// The machine binding, if bound.
    pub bound_to: Option<BoundTo>,
}

impl License {
    fn of(t: &LicenseTerms, b: Option<&Binding>) -> License {
        License {
            license_id: t.license_id.to_string(),
            product: t.product.clone(),
            sku: t.sku.clone(),
            seats: t.seats,
            not_before: t.not_before,
            expires: t.expires,
            features: t.features.clone(),
            trial: t.trial,
            instance_id: t.instance_id.clone(),
            order_id: t.order_id.clone(),
            bound_to: b.map(BoundTo::of),
        }
    }
}

/// A machine named by a system or hardware identification code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Machine {
    /// `system_id` or `hardware_id`.
    pub kind: &'static str,
    /// Normal form (`KS1-…`, `mac:00:1A:…`).
    pub text: String,
    /// For a hardware id: `mac`, `sn`, `uuid`, `disk`, `fp` or `custom`.
    pub hardware_kind: Option<&'static str>,
    /// For a system id: how many of its five facts are present.
    pub facts: Option<usize>,
}

impl Machine {
    fn of(m: &MachineRef) -> Machine {
        match m {
            MachineRef::System(s) => Machine {
                kind: "system_id",
                text: s.encode(),
                hardware_kind: None,
                facts: Some(s.present()),
            },
            MachineRef::Hardware(h) => Machine {
                kind: "hardware_id",
                text: h.to_string(),
                hardware_kind: Some(h.kind().prefix()),
                facts: None,
            },
        }
    }
}

/// What a signed update does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Update {
    /// The license it applies to.
    pub license_id: String,
    /// Its sequence number.
    pub sequence: u32,
    /// `renew`, `freeze`, `unfreeze` or `release`.
    pub action: &'static str,
    /// The new expiry of a renewal.
    pub expires: Option<Timestamp>,
}

/// The contents of a valid artifact.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Details {
    /// License terms (authorization code, certificate, the code inside a request).
    pub license: Option<License>,
    /// The machine (system/hardware id, a request's machine).
    pub machine: Option<Machine>,
    /// A signed update's action.
    pub update: Option<Update>,
    /// The signing key's id.
    pub key_id: Option<String>,
    /// A request's or certificate's nonce, 16 hex digits.
    pub nonce: Option<String>,
    /// When a request was made or a certificate or update signed.
    pub issued: Option<Timestamp>,
}

/// The verdict on one field's text, with structure for the page.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// What the text was recognised as (`authorization_code`, …, `hardware_id`), if known.
    pub kind: Option<&'static str>,
    /// The core's verdict code (`active`, `valid`, `typo`, `wrong_kind`, …).
    pub verdict: &'static str,
    /// The core's English sentence.
    pub message: String,
    /// The one correction of a typo, when exactly one makes the text fully valid.
    pub suggestion: Option<String>,
    /// A finer reason under the verdict code, for messages: `missing_or_extra` (a typo that
    /// is a dropped or doubled character), `invalid_character`, `bad_length`, `too_long`,
    /// `contents`, `armor_two_begins`, `armor_end_without_begin`, `armor_end_missing`,
    /// `armor`, `hardware_id_here`.
    pub reason: Option<&'static str>,
    /// The groups whose check symbol fails (`typo`).
    pub typos: Vec<Typo>,
    /// Values for the message.
    pub args: Args,
    /// The contents, when the verdict is a license status or `valid`.
    pub details: Option<Details>,
    /// The license is bound but no machine facts were given: the binding was not checked
    /// (the page checks it against the machine field instead).
    pub binding_unchecked: bool,
}

/// How a bound license compares with a pasted machine code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MachineMatch {
    /// `match`, `mismatch`, `unbound` (nothing to check), `incomparable` (bound to a system
    /// id but a hardware id was pasted, or back) or `invalid` (either text is not valid).
    pub state: &'static str,
    /// `system` or `hardware`, when bound.
    pub bound: Option<&'static str>,
    /// Facts or parts that matched (on `mismatch`).
    pub matched: u8,
    /// Facts or parts that must match.
    pub required: u8,
    /// Kinds of the bound facts or parts that differ (on `mismatch`).
    pub differing: Vec<&'static str>,
}

/// The trusted keys, and every check the page makes with them.
#[derive(Clone, Debug)]
pub struct Checker {
    trusted: TrustedKeys,
}

/// Verdicts on a genuine artifact: its contents are shown. (Any other verdict is a problem,
/// and the contents of a text with a bad signature are not to be believed.)
const GENUINE: [&str; 9] = [
    "active",
    "in_grace",
    "not_yet_valid",
    "expired",
    "frozen",
    "released",
    "machine_mismatch",
    "clock_rolled_back",
    "valid",
];

impl Checker {
    /// Trusts every `PUBLIC KEY` PEM block in `pems` (the merchant's keys from config.json).
    pub fn new<S: AsRef<str>>(pems: &[S]) -> Result<Checker, Error> {
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
            Field::Machine => match keyward_core::sniff_kind(text) {
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
        match parsed {
            Err(e) if e.code() == r.verdict => r.explain(&e, text),
            Err(_) => {}
            Ok(a) => {
                if r.verdict == "unknown_key" {
                    r.args.key_id = key_id(&a);
                }
                if GENUINE.contains(&r.verdict) {
                    r.describe(&a, &ctx, env);
                }
            }
        }
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
        let binding = match Artifact::parse(text, Some(&self.trusted)) {
            Ok(Artifact::AuthorizationCode(c)) => c.binding().cloned(),
            Ok(Artifact::ActivationCertificate(c)) => Some(c.binding().clone()),
            _ => return invalid,
        };
        let Some(b) = binding else {
            return MachineMatch {
                state: "unbound",
                ..invalid
            };
        };
        let bound = Some(match b {
            Binding::System { .. } => "system",
            Binding::Hardware { .. } => "hardware",
        });
        let Some(machine) = machine_ref(machine_text) else {
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
        if let Some(Some(Err(m))) = code.binding().map(|b| b.check_machine_ref(&machine)) {
            let mut r = self.check(&code.encode(), Field::Any, &env);
            r.verdict = "machine_mismatch";
            r.message = "this authorization code is bound to another machine".into();
            r.args.mismatch = Some((m.matched, m.required, m.differing));
            return Err(Box::new(r));
        }
        Ok(ActivationRequest::new(code, machine, nonce, now).encode())
    }
}

/// The id of the key that signed `a` (a request: its code's).
fn key_id(a: &Artifact) -> Option<String> {
    let id = match a {
        Artifact::AuthorizationCode(c) => c.key_id(),
        Artifact::ActivationCertificate(c) => c.key_id(),
        Artifact::SignedUpdate(u) => u.key_id(),
        Artifact::ActivationRequest(r) => r.code.key_id(),
        Artifact::SystemId(_) | Artifact::HardwareId(_) | Artifact::DeactivationCode(_) => {
            return None
        }
    };
    Some(id.to_string())
}

/// A system or hardware identification code, or `None`.
fn machine_ref(text: &str) -> Option<MachineRef> {
    match Artifact::parse(text, None).ok()? {
        Artifact::SystemId(s) => Some(MachineRef::System(s)),
        Artifact::HardwareId(h) => Some(MachineRef::Hardware(h)),
        _ => None,
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

impl Report {
    /// Fills in the structure of an error the core reported as `self.verdict`.
    fn explain(&mut self, e: &Error, text: &str) {
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
            Error::BadArmor { reason } => {
                // A byte search: `str::contains` brings the standard library's large
                // substring searcher into the wasm.
                let has = |needle: &str| {
                    reason
                        .as_bytes()
                        .windows(needle.len())
                        .any(|w| w == needle.as_bytes())
                };
                self.reason = Some(if has("more than one BEGIN") {
                    "armor_two_begins"
                } else if has("without BEGIN") {
                    "armor_end_without_begin"
                } else if has("END line is missing") {
                    "armor_end_missing"
                } else {
                    "armor"
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
    fn describe(&mut self, a: &Artifact, ctx: &Context<'_>, env: &Env) {
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
            if self.verdict == "machine_mismatch" {
                // A browser knows nothing of the machine: judge the terms, and let the page
                // check the binding against the pasted machine code.
                let s = evaluate_terms(terms, None, &LicenseFlags::default(), ctx);
                self.verdict = s.code();
                self.message = s.describe();
            }
        }
        let a = &mut self.args;
        if let Some(e) = terms.expires {
            a.days_left = Some(e.0.saturating_sub(env.now.0).div_ceil(DAY));
        }
        match self.verdict {
            "in_grace" => {
                a.grace_ends = terms.expires.map(|e| e.add_secs(ctx.policy.grace));
            }
            "clock_rolled_back" => a.clock = Some((env.now, env.high_water)),
            "machine_mismatch" => {
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
