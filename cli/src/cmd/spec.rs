//! What one authorization code is issued from, whether typed on the command line
//! (`issue`) or read from a batch row (`issue --batch`), and issuing it.

use keyward_core::{
    binding::Binding, time::DAY, Artifact, AuthorizationCode, Kind, LicenseId, LicenseTerms,
    MerchantKey, Timestamp,
};

use crate::cmd::machine::hardware_id_arg;
use crate::env::random_bytes;
use crate::exit::{Error, Exit};
use crate::kinds::expect_kind;

/// Most days `--days` accepts (about 10,000 years would overflow nothing, but is a typo).
pub const MAX_DAYS: u64 = 100 * 366;

/// When a license ends.
#[derive(Clone, Copy, Debug)]
pub enum Expiry {
    /// Perpetual.
    Never,
    /// At this time.
    At(Timestamp),
    /// N days after the start.
    Days(u64),
}

/// What a machine binding is made of, as typed.
#[derive(Clone, Debug)]
pub enum Bind {
    /// A system identification code.
    System(String),
    /// A hardware identification code.
    Hardware(String),
}

/// Everything one code is issued from (a command line or a batch row).
#[derive(Clone, Debug)]
pub struct Spec {
    /// Product id.
    pub product: String,
    /// SKU / edition.
    pub sku: String,
    /// Seats.
    pub seats: u32,
    /// Valid from (`None`: now).
    pub starts: Option<Timestamp>,
    /// Valid until.
    pub expiry: Expiry,
    /// Features.
    pub features: Vec<String>,
    /// Machine binding.
    pub bind: Option<Bind>,
    /// k of k-of-n.
    pub tolerance: Option<u8>,
    /// Marketplace instance id.
    pub instance_id: Option<String>,
    /// Marketplace order id.
    pub order_id: Option<String>,
    /// Trial.
    pub trial: bool,
}

/// Parses the binding of a spec for a license of `product` (a system identification code
/// made for another product, or none, is refused: it would match no machine).
pub fn binding(bind: &Bind, product: &str, tolerance: Option<u8>) -> Result<Binding, Error> {
    match bind {
        Bind::System(text) => {
            expect_kind(
                text,
                &[Kind::SystemId.code()],
                "give the system identification code (KS1-…) the buyer read with `keyward system-id --product P`",
            )
            .map_err(|e| e.context("--bind-system-id"))?;
            match Artifact::parse_expecting(text, Kind::SystemId, None)
                .map_err(|e| Error::core(&e, Some("--bind-system-id")))?
            {
                Artifact::SystemId(code) => {
                    code.check_product(product)
                        .map_err(|e| Error::core(&e, Some("--bind-system-id")))?;
                    Ok(Binding::system(code, tolerance)?)
                }
                _ => Err(Error::new(
                    "wrong_kind",
                    Exit::WrongKind,
                    "--bind-system-id takes a system identification code (KS1-…)",
                )),
            }
        }
        Bind::Hardware(text) => {
            let id = hardware_id_arg(text, "--bind-hardware-id")?;
            Ok(Binding::hardware(&id, tolerance)?)
        }
    }
}

/// An issued code, with what the merchant should be warned about (it was issued anyway).
pub struct Issued {
    /// The code.
    pub code: AuthorizationCode,
    /// Warnings, as sentences.
    pub warnings: Vec<String>,
}

/// Issues one code from a spec.
pub fn issue_one(key: &MerchantKey, spec: &Spec, now: Timestamp) -> Result<Issued, Error> {
    if spec.tolerance.is_some() && spec.bind.is_none() {
        return Err(Error::new(
            "invalid_input",
            Exit::Malformed,
            "a tolerance only makes sense with a binding: add --bind-system-id or --bind-hardware-id, or drop --tolerance",
        ));
    }
    let starts = spec.starts.unwrap_or(now);
    let expires = match spec.expiry {
        Expiry::Never => None,
        Expiry::At(t) => Some(t),
        Expiry::Days(d) => {
            if d == 0 || d > MAX_DAYS {
                return Err(Error::new(
                    "invalid_input",
                    Exit::Malformed,
                    format!("invalid days: must be 1 to {MAX_DAYS}, got {d}"),
                ));
            }
            Some(starts.add_secs(d * DAY))
        }
    };
    let binding = spec
        .bind
        .as_ref()
        .map(|b| binding(b, &spec.product, spec.tolerance))
        .transpose()?;
    let terms = LicenseTerms {
        license_id: LicenseId(random_bytes::<8>()?),
        product: spec.product.clone(),
        sku: spec.sku.clone(),
        seats: spec.seats,
        not_before: starts,
        expires,
        features: spec.features.clone(),
        trial: spec.trial,
        instance_id: spec.instance_id.clone(),
        order_id: spec.order_id.clone(),
    };
    let mut warnings = Vec::new();
    if let Some(e) = expires {
        if e <= now {
            warnings.push(format!(
                "this code expired on {e}, before it was issued ({now}): nobody can use it; check --expires, --days and --starts"
            ));
        }
    }
    if let Some(Bind::Hardware(text)) = &spec.bind {
        let id = hardware_id_arg(text, "--bind-hardware-id")?;
        for (_, value) in id.parts() {
            if keyward_core::facts::is_placeholder(&value) {
                warnings.push(format!(
                    "the binding's part \"{value}\" is what firmware reports when it has no real serial: many machines report it, so this code would activate on any of them; ask the buyer for another identifier (a MAC address with mac:, or the disk's serial)"
                ));
            }
        }
    }
    Ok(Issued {
        code: AuthorizationCode::issue(key, terms, binding)?,
        warnings,
    })
}
