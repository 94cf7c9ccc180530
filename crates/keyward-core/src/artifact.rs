//! Any pasted text: recognise what it is, decode it, and give the verdict every form of
//! keyward (CLI, plugin, page) must agree on.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use crate::authcode::AuthorizationCode;
use crate::cert::ActivationCertificate;
use crate::codes::VerdictCode;
use crate::deactivation::{DeactivationCode, BYTES};
use crate::error::{CodeError, Error, Typo};
use crate::eval::{check_clock, Context, LicenseFlags, Status};
use crate::hwid::HardwareId;
use crate::keys::TrustedKeys;
use crate::request::ActivationRequest;
use crate::signed::only_a_valid_copy;
use crate::state::Credential;
use crate::sysid::SystemIdCode;
use crate::text::armour::strip_armour;
use crate::text::{self, Kind};
use crate::time::Timestamp;
use crate::update::SignedUpdate;

/// Any artifact a person may paste.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Artifact {
    /// 授权码.
    AuthorizationCode(AuthorizationCode),
    /// 系统识别码.
    SystemId(SystemIdCode),
    /// 激活请求.
    ActivationRequest(ActivationRequest),
    /// 激活证书.
    ActivationCertificate(ActivationCertificate),
    /// 续费/冻结/释放通知.
    SignedUpdate(SignedUpdate),
    /// 硬件识别码.
    HardwareId(HardwareId),
    /// 停用码.
    DeactivationCode(DeactivationCode),
}

fn looks_like_hardware_id(t: &str) -> bool {
    let folded = crate::util::map_chars(t, text::fold_char).to_ascii_lowercase();
    let f = folded.trim_start();
    crate::hwid::PREFIXES
        .iter()
        .any(|(p, _)| f.strip_prefix(p).is_some_and(|rest| rest.starts_with(':')))
        || (f.contains('|') && crate::util::find(f, "-----").is_none())
}

fn looks_like_marketplace_code(t: &str) -> bool {
    let t = t.trim();
    t.len() <= 64
        && t.len() > 2
        && (t.starts_with("PL") || t.starts_with("pl"))
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl Artifact {
    /// Recognises and decodes `input`. With `trusted`, signatures are verified (and a
    /// single typo gets a correction where exactly one makes it valid); without, the
    /// artifact is only structurally checked.
    pub fn parse(input: &str, trusted: Option<&TrustedKeys>) -> Result<Artifact, Error> {
        // Refuse huge input before any copy is made (the plugin's memory is capped).
        if input.len() > crate::limits::MAX_TEXT_LEN {
            return Err(CodeError::TooLong {
                len: input.len(),
                max: crate::limits::MAX_TEXT_LEN,
            }
            .into());
        }
        if looks_like_hardware_id(input) {
            // Text that looks like a hardware id may still hold a code beside it (a `|` in
            // the rest of an e-mail): the code's own decoder reads that code, so this does
            // too. When neither reads, the hardware id's error says what to fix.
            return HardwareId::parse(input)
                .map(Artifact::HardwareId)
                .or_else(|e| Artifact::parse_code(input, trusted).map_err(|_| e));
        }
        Artifact::parse_code(input, trusted)
    }

    /// [`Artifact::parse`] for anything but a hardware id that looks like one.
    fn parse_code(input: &str, trusted: Option<&TrustedKeys>) -> Result<Artifact, Error> {
        let blanked = strip_armour(input)?;
        let sym = match text::normalize(&blanked) {
            Ok(sym) => sym,
            // The one copy is offered only when it is valid.
            Err(e @ CodeError::PastedTwice { .. }) => {
                return Err(only_a_valid_copy(e.into(), &|copy| {
                    Artifact::parse(copy, trusted).is_ok()
                }))
            }
            Err(e) => {
                if looks_like_marketplace_code(input) {
                    return Err(Error::MarketplaceCode);
                }
                // A bare MAC or UUID without prefix is still a hardware id.
                if let Ok(h) = HardwareId::parse(input) {
                    return Ok(Artifact::HardwareId(h));
                }
                return Err(e.into());
            }
        };
        // A cut-off code of a kind without a signature: how long a whole one is.
        let cut_off = |e: Error, total: fn(&[u8]) -> (usize, bool)| {
            text::cut_off(&sym, &e, total).map_or(e, Error::from)
        };
        Ok(match (sym.kind, trusted) {
            (Kind::AuthorizationCode, Some(t)) => {
                Artifact::AuthorizationCode(AuthorizationCode::decode(input, t)?)
            }
            (Kind::AuthorizationCode, None) => {
                Artifact::AuthorizationCode(AuthorizationCode::decode_unverified(input)?)
            }
            (Kind::ActivationCertificate, Some(t)) => {
                Artifact::ActivationCertificate(ActivationCertificate::decode(input, t)?)
            }
            (Kind::ActivationCertificate, None) => {
                Artifact::ActivationCertificate(ActivationCertificate::decode_unverified(input)?)
            }
            (Kind::SignedUpdate, Some(t)) => {
                Artifact::SignedUpdate(SignedUpdate::decode(input, t)?)
            }
            (Kind::SignedUpdate, None) => {
                Artifact::SignedUpdate(SignedUpdate::decode_unverified(input)?)
            }
            (Kind::SystemId, _) => {
                Artifact::SystemId(SystemIdCode::decode(&blanked).map_err(|e| {
                    // All system identification codes have one length.
                    cut_off(e, |_| (text::SYSTEM_ID_SYMBOLS, true))
                })?)
            }
            (Kind::DeactivationCode, _) => {
                Artifact::DeactivationCode(DeactivationCode::decode(&blanked).map_err(|e| {
                    cut_off(e, |_| {
                        let total = text::symbols_for_bytes(Kind::DeactivationCode, BYTES);
                        (total, true)
                    })
                })?)
            }
            (Kind::ActivationRequest, t) => {
                let r = ActivationRequest::decode(&blanked).map_err(|e| {
                    // Its length is not known from its beginning: at least one more byte.
                    cut_off(e, |b| {
                        let total = b.len() + 1;
                        (
                            text::symbols_for_bytes(Kind::ActivationRequest, total),
                            false,
                        )
                    })
                })?;
                if let Some(t) = t {
                    r.code.verify(t)?;
                }
                Artifact::ActivationRequest(r)
            }
        })
    }

    /// Parses text that must be of `expected` kind (one input field of the page, one
    /// argument of the CLI): anything else is [`Error::WrongKind`].
    pub fn parse_expecting(
        input: &str,
        expected: Kind,
        trusted: Option<&TrustedKeys>,
    ) -> Result<Artifact, Error> {
        // The prefix alone tells the kind, so a code pasted into the wrong field is named
        // as what it is even when it also has a typo.
        if let Some(found) = text::sniff_kind(input) {
            if found != expected {
                return Err(Error::WrongKind { expected, found });
            }
        }
        let a = Artifact::parse(input, trusted)?;
        match a.kind() {
            Some(k) if k == expected => Ok(a),
            Some(found) => Err(Error::WrongKind { expected, found }),
            None => Err(Error::InvalidInput {
                field: "input",
                reason: words!(
                    "this is a hardware identification code, not {}",
                    expected.a_name()
                ),
            }),
        }
    }

    /// The kind (`None` for a hardware identification code, which has no code kind).
    pub fn kind(&self) -> Option<Kind> {
        Some(match self {
            Artifact::AuthorizationCode(_) => Kind::AuthorizationCode,
            Artifact::SystemId(_) => Kind::SystemId,
            Artifact::ActivationRequest(_) => Kind::ActivationRequest,
            Artifact::ActivationCertificate(_) => Kind::ActivationCertificate,
            Artifact::SignedUpdate(_) => Kind::SignedUpdate,
            Artifact::DeactivationCode(_) => Kind::DeactivationCode,
            Artifact::HardwareId(_) => return None,
        })
    }

    /// Stable kind name, including `hardware_id`.
    pub fn kind_code(&self) -> &'static str {
        self.kind().map_or("hardware_id", Kind::code)
    }
}

/// The verdict on one pasted text: a stable code and a sentence. Every form of keyward
/// reaches the same verdict on the same input (checked with `tests/vectors/`).
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Verdict {
    /// What the text was recognised as (`authorization_code`, …, `hardware_id`), if known.
    pub kind: Option<&'static str>,
    /// `active`, `expired`, …, `valid` for artifacts without a license status, or an error
    /// code (`typo`, `bad_signature`, `unknown_key`, `malformed`, `wrong_kind`, …).
    pub code: VerdictCode,
    /// For people.
    pub message: String,
    /// A correction, when a typo has exactly one.
    pub suggestion: Option<String>,
    /// The groups whose check symbol fails, when the verdict is `typo`.
    pub typos: Vec<Typo>,
    /// Why the text was refused, as the typed error (what `code` says, with its details),
    /// so callers need not re-parse the text. Not serialised: `code`, `message`,
    /// `suggestion` and `typos` carry it on the wire.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub error: Option<Error>,
    /// The license's status, when the text was a license (not serialised either).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub status: Option<Status>,
}

impl Verdict {
    /// The verdict on a refusal.
    pub fn refused(error: Error, kind: Option<&'static str>) -> Verdict {
        Verdict {
            kind,
            code: VerdictCode::Error(error.code()),
            message: error.to_string(),
            suggestion: error.suggestion().map(String::from),
            typos: error.typos().to_vec(),
            error: Some(error),
            status: None,
        }
    }
}

/// Judges `input` as found: signatures, typos, and for licenses the status on this machine
/// at `ctx.now` given the clock's high-water mark. With `expected`, anything of another
/// kind is `wrong_kind` (one input field of the page, one argument of the CLI).
pub fn verdict(
    input: &str,
    expected: Option<Kind>,
    ctx: &Context<'_>,
    high_water: Timestamp,
) -> Verdict {
    let sniffed = text::sniff_kind(input).map(Kind::code);
    let parsed = match expected {
        Some(k) => Artifact::parse_expecting(input, k, Some(ctx.trusted)),
        None => Artifact::parse(input, Some(ctx.trusted)),
    };
    let a = match parsed {
        Ok(a) => a,
        Err(e) => return Verdict::refused(e, sniffed),
    };
    let kind = Some(a.kind_code());
    let credential = match a {
        Artifact::AuthorizationCode(c) => Credential::Code(c),
        Artifact::ActivationCertificate(c) => Credential::Certificate(c),
        other => {
            return Verdict {
                kind,
                code: VerdictCode::Valid,
                message: if cfg!(feature = "messages") {
                    words!(
                        "a valid {}",
                        other
                            .kind()
                            .map_or("hardware identification code", Kind::name)
                    )
                } else {
                    String::from("valid")
                },
                suggestion: None,
                typos: Vec::new(),
                error: None,
                status: None,
            }
        }
    };
    let status = match check_clock(ctx.now, high_water, &ctx.policy) {
        Err(c) => Status::from(c),
        // Artifact::parse verified the signature already.
        Ok(_) => credential.evaluate_verified(&LicenseFlags::default(), ctx),
    };
    Verdict {
        kind,
        code: VerdictCode::Status(status.code()),
        message: status.describe(),
        suggestion: None,
        typos: Vec::new(),
        error: None,
        status: Some(status),
    }
}
