//! The seat ledger: licenses, activations, signed updates, the audit log and marketplace
//! events. One trait, [`Ledger`], with two implementations that share their statements:
//! SQLite ([`SqliteLedger`], one writer, readers in parallel) and PostgreSQL
//! ([`PostgresLedger`], the license row locked for each decision).
//!
//! Every decision (is a seat free? does this machine already hold one?) is made inside one
//! transaction, and the certificate is stored in the transaction that takes the seat: a
//! retry after a crash finds the stored certificate, so a seat is never taken without its
//! certificate being obtainable again.

use std::fmt;

use futures_util::future::BoxFuture;
use keyward_core::{LicenseId, LicenseTerms, Timestamp};
use serde::Serialize;

pub mod market;
mod ops;
mod postgres;
mod sqlite;
mod sqlite_writer;

pub use market::{Bridge, BridgedLicense, MarketOutcome, MarketRef, MarketplaceLedger};
pub use postgres::PostgresLedger;
pub use sqlite::{SqliteLedger, SqliteSync};

/// A license's lifecycle state in the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenseStatus {
    /// Usable: activations are signed.
    Active,
    /// Suspended by a freeze update; activations are refused until an unfreeze.
    Frozen,
    /// Ended for good by a release update; its seats were freed.
    Released,
}

impl LicenseStatus {
    /// Stable name, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            LicenseStatus::Active => "active",
            LicenseStatus::Frozen => "frozen",
            LicenseStatus::Released => "released",
        }
    }

    /// Parses a stored or queried name.
    pub fn parse(s: &str) -> Option<LicenseStatus> {
        match s {
            "active" => Some(LicenseStatus::Active),
            "frozen" => Some(LicenseStatus::Frozen),
            "released" => Some(LicenseStatus::Released),
            _ => None,
        }
    }
}

/// Who made a change, for the audit log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// A buyer, through the buyer API (the client's address).
    Buyer(String),
    /// The merchant, through the admin API.
    Admin,
    /// The marketplace, through its production interface.
    Marketplace,
}

impl Actor {
    /// `buyer`, `admin` or `marketplace`.
    pub fn kind(&self) -> &'static str {
        match self {
            Actor::Buyer(_) => "buyer",
            Actor::Admin => "admin",
            Actor::Marketplace => "marketplace",
        }
    }

    pub(crate) fn detail(&self) -> Option<&str> {
        match self {
            Actor::Buyer(addr) => Some(addr),
            _ => None,
        }
    }
}

/// A license as the ledger keeps it: the terms as issued (with the current expiry) and
/// its lifecycle state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LicenseRecord {
    /// 16 hex digits.
    pub license_id: String,
    /// Product id.
    pub product: String,
    /// SKU / edition.
    pub sku: String,
    /// Seats the license covers.
    pub seats: u32,
    /// Valid from (seconds since the epoch).
    pub not_before: u64,
    /// Valid until (seconds since the epoch); changed by renewals. `None`: perpetual.
    pub expires: Option<u64>,
    /// Features granted.
    pub features: Vec<String>,
    /// Trial / test license.
    pub trial: bool,
    /// Marketplace instance id.
    pub instance_id: Option<String>,
    /// Marketplace order id.
    pub order_id: Option<String>,
    /// The marketplace's own license code (`PL…`), for bridged licenses.
    pub marketplace_license: Option<String>,
    /// The authorization code text, when this service issued it.
    pub code: Option<String>,
    /// Lifecycle state.
    pub status: LicenseStatus,
    /// When the ledger first saw it.
    pub created: u64,
}

impl LicenseRecord {
    /// A record for terms from a verified authorization code.
    pub fn from_terms(terms: &LicenseTerms, code: Option<String>, now: Timestamp) -> Self {
        LicenseRecord {
            license_id: terms.license_id.to_string(),
            product: terms.product.clone(),
            sku: terms.sku.clone(),
            seats: terms.seats,
            not_before: terms.not_before.secs(),
            expires: terms.expires.map(Timestamp::secs),
            features: terms.features.clone(),
            trial: terms.trial,
            instance_id: terms.instance_id.clone(),
            order_id: terms.order_id.clone(),
            marketplace_license: None,
            code,
            status: LicenseStatus::Active,
            created: now.secs(),
        }
    }

    /// The terms to sign into a certificate: as issued, with the ledger's current expiry.
    pub fn terms(&self) -> Option<LicenseTerms> {
        Some(LicenseTerms {
            license_id: LicenseId::parse(&self.license_id)?,
            product: self.product.clone(),
            sku: self.sku.clone(),
            seats: self.seats,
            not_before: Timestamp(self.not_before),
            expires: self.expires.map(Timestamp),
            features: self.features.clone(),
            trial: self.trial,
            instance_id: self.instance_id.clone(),
            order_id: self.order_id.clone(),
        })
    }
}

/// One activation (live or ended).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ActivationRecord {
    /// The license.
    pub license_id: String,
    /// The machine: its system identification code (`KS1-…`) or hardware identification
    /// code, in normal form.
    pub machine: String,
    /// The request's nonce (16 hex digits): the deactivation commitment.
    pub nonce: String,
    /// The armoured certificate signed for it.
    pub certificate: String,
    /// When the seat was taken.
    pub activated: u64,
    /// When it was given back or revoked; `None` while live.
    pub deactivated: Option<u64>,
    /// Who ended it (`buyer`, `admin`, `marketplace`).
    pub deactivated_by: Option<String>,
}

/// One signed update.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UpdateRecord {
    /// Per-license sequence, from 1.
    pub sequence: u32,
    /// `renew`, `freeze`, `unfreeze` or `release`.
    pub action: String,
    /// The signed update's text (`KN1-…`).
    pub update: String,
    /// When it was signed.
    pub issued: u64,
}

/// One audit log line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AuditRecord {
    /// When.
    pub at: u64,
    /// `buyer`, `admin` or `marketplace`.
    pub who: String,
    /// The buyer's address, when a buyer.
    pub client: Option<String>,
    /// What happened (`issue`, `activate`, `deactivate`, `revoke`, `renew`, …).
    pub action: String,
    /// The license concerned.
    pub license_id: Option<String>,
    /// Details (the machine, the update's sequence, …).
    pub detail: String,
}

/// A license with its activations, updates and audit log.
#[derive(Clone, Debug, Serialize)]
pub struct LicenseDetail {
    /// The license.
    pub license: LicenseRecord,
    /// Live seats.
    pub seats_used: u32,
    /// Every activation, oldest first.
    pub activations: Vec<ActivationRecord>,
    /// Every signed update, by sequence.
    pub updates: Vec<UpdateRecord>,
    /// Every change, oldest first.
    pub audit: Vec<AuditRecord>,
}

/// A license in a listing, with its live seat count.
#[derive(Clone, Debug, Serialize)]
pub struct LicenseListing {
    /// The license.
    #[serde(flatten)]
    pub license: LicenseRecord,
    /// Live seats.
    pub seats_used: u32,
}

/// What to list.
#[derive(Clone, Debug, Default)]
pub struct ListQuery {
    /// Substring of the license id, product, SKU, order id, instance id or a machine.
    pub search: Option<String>,
    /// Only licenses in this state.
    pub status: Option<LicenseStatus>,
    /// At most this many (capped at 1000).
    pub limit: u32,
    /// Skip this many.
    pub offset: u32,
}

/// Seats of a license after a change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Seats {
    /// Live activations.
    pub used: u32,
    /// Seats the license covers.
    pub total: u32,
}

/// An activation asked of the ledger.
pub struct ActivationAttempt {
    /// The license as the verified authorization code states it; registered if the ledger
    /// has not seen it yet.
    pub license: LicenseRecord,
    /// The machine (normal form text).
    pub machine: String,
    /// The request's nonce.
    pub nonce: [u8; 8],
    /// Now.
    pub now: Timestamp,
    /// Who asks.
    pub actor: Actor,
}

/// Signs the certificate for the ledger's current view of the license; called inside the
/// transaction, only when a new seat is taken.
pub type SignCertificate = Box<dyn FnOnce(&LicenseRecord) -> Result<String, LedgerError> + Send>;

/// Signs an update with the given sequence number for the license.
pub type SignUpdate = Box<dyn FnOnce(u32) -> Result<String, LedgerError> + Send>;

/// Does this (armoured) certificate belong to the machine giving its seat back?
pub type MatchCertificate = Box<dyn Fn(&str) -> bool + Send + Sync>;

/// A signed activation as the ledger answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Activated {
    /// The certificate (stored in the same transaction that took the seat).
    pub certificate: String,
    /// Seats after the activation.
    pub seats: Seats,
    /// The machine already held a seat: its stored certificate is returned.
    pub reactivated: bool,
}

/// A freed seat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deactivated {
    /// The machine that held it.
    pub machine: String,
    /// Seats after.
    pub seats: Seats,
}

/// A lifecycle change requested of the ledger (each writes one signed update).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// New expiry (seconds since the epoch).
    Renew(u64),
    /// Suspend.
    Freeze,
    /// Lift a freeze.
    Unfreeze,
    /// End for good; frees every seat.
    Release,
}

impl Change {
    /// `renew`, `freeze`, `unfreeze`, `release`.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Renew(_) => "renew",
            Change::Freeze => "freeze",
            Change::Unfreeze => "unfreeze",
            Change::Release => "release",
        }
    }
}

/// A marketplace call, recorded (issue 11's production interface writes these).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MarketplaceEvent {
    /// When it arrived.
    pub at: u64,
    /// The license it concerns, when known.
    pub license_id: Option<String>,
    /// The marketplace's `activity`.
    pub activity: String,
    /// The marketplace's order id, when any.
    pub order_id: Option<String>,
    /// A key that is the same for every delivery of the same call (idempotency).
    pub idempotency_key: String,
    /// The answer given (`000000`, …).
    pub result_code: String,
    /// The call's parameters, without secrets (JSON).
    pub payload: String,
}

/// Why the ledger refused or failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum LedgerError {
    /// Every seat is taken by other machines.
    NoSeatLeft {
        /// Seats in use.
        used: u32,
        /// Seats of the license.
        total: u32,
        /// The machines holding them (normal form text).
        machines: Vec<String>,
    },
    /// The license is frozen.
    Frozen,
    /// The license was released.
    Released,
    /// The license expired (at this time, seconds since the epoch).
    Expired(u64),
    /// No such license, activation or machine.
    NotFound(String),
    /// The same record exists already (an issued license id, a marketplace event).
    Conflict(String),
    /// Signing failed (the terms could not be signed).
    Sign(keyward_core::Error),
    /// The stored data cannot be read (damaged or edited by hand).
    Corrupt(String),
    /// The database failed.
    Database(sqlx::Error),
    /// The database failed, on the SQLite ledger's activation writer (what it said).
    Storage(String),
    /// Migrations failed.
    Migrate(sqlx::migrate::MigrateError),
    /// The database URL or file cannot be used.
    Config(String),
}

impl fmt::Display for LedgerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LedgerError::NoSeatLeft {
                used,
                total,
                machines,
            } => {
                write!(
                    f,
                    "all {total} seat(s) of this license are in use ({used} machine(s): "
                )?;
                for (i, m) in machines.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(&short_machine(m))?;
                }
                f.write_str(")")
            }
            LedgerError::Frozen => f.write_str("this license is frozen"),
            LedgerError::Released => f.write_str("this license was released"),
            LedgerError::Expired(at) => {
                write!(f, "this license expired on {}", Timestamp(*at).to_rfc3339())
            }
            LedgerError::NotFound(what) => write!(f, "{what} not found"),
            LedgerError::Conflict(what) => write!(f, "{what} exists already"),
            LedgerError::Sign(e) => write!(f, "cannot sign: {e}"),
            LedgerError::Corrupt(what) => write!(f, "the ledger holds unreadable data: {what}"),
            LedgerError::Database(e) => write!(f, "database error: {e}"),
            LedgerError::Storage(e) => write!(f, "database error: {e}"),
            LedgerError::Migrate(e) => write!(f, "database migration failed: {e}"),
            LedgerError::Config(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for LedgerError {}

impl From<sqlx::Error> for LedgerError {
    fn from(e: sqlx::Error) -> Self {
        LedgerError::Database(e)
    }
}

/// A machine's short id for messages: its first two groups (`KS1-ABCDEF…`), or the first
/// 16 characters of a hardware identification code.
pub fn short_machine(machine: &str) -> String {
    if machine.starts_with("KS1-") {
        let end = machine
            .char_indices()
            .filter(|(_, c)| *c == '-')
            .nth(1)
            .map_or(machine.len(), |(i, _)| i);
        format!("{}…", &machine[..end])
    } else if machine.chars().count() > 16 {
        format!("{}…", machine.chars().take(16).collect::<String>())
    } else {
        machine.to_string()
    }
}

/// The seat ledger's operations. Every method is one transaction.
pub trait Ledger: MarketplaceLedger + Send + Sync {
    /// Which database: `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;

    /// Records a license issued by this service (its authorization code included).
    /// [`LedgerError::Conflict`] when the id exists.
    fn issue(&self, license: LicenseRecord, actor: Actor)
        -> BoxFuture<'_, Result<(), LedgerError>>;

    /// Takes a seat for a machine (or returns the certificate of the seat it holds).
    /// The license is registered from the attempt's terms when the ledger has not seen it
    /// (a code issued offline by the CLI); the ledger's state (frozen, released, renewed
    /// expiry) then decides.
    fn activate(
        &self,
        attempt: ActivationAttempt,
        sign: SignCertificate,
    ) -> BoxFuture<'_, Result<Activated, LedgerError>>;

    /// Frees the live seat of `license_id` whose certificate `matches` (the deactivation
    /// code's proof). [`LedgerError::NotFound`] when none does.
    fn deactivate(
        &self,
        license_id: String,
        matches: MatchCertificate,
        now: Timestamp,
        actor: Actor,
    ) -> BoxFuture<'_, Result<Deactivated, LedgerError>>;

    /// Frees a machine's live seat (a lost machine), by the merchant.
    fn revoke(
        &self,
        license_id: String,
        machine: String,
        now: Timestamp,
        actor: Actor,
    ) -> BoxFuture<'_, Result<Deactivated, LedgerError>>;

    /// Applies a lifecycle change and stores its signed update under the next sequence
    /// number (a release also frees every seat).
    fn change(
        &self,
        license_id: String,
        change: Change,
        sign: SignUpdate,
        now: Timestamp,
        actor: Actor,
    ) -> BoxFuture<'_, Result<UpdateRecord, LedgerError>>;

    /// The license's signed updates with a sequence above `after`, in order.
    /// [`LedgerError::NotFound`] for an unknown license.
    fn updates(
        &self,
        license_id: String,
        after: u32,
    ) -> BoxFuture<'_, Result<Vec<UpdateRecord>, LedgerError>>;

    /// One license with its activations, updates and audit log.
    fn license(&self, license_id: String) -> BoxFuture<'_, Result<LicenseDetail, LedgerError>>;

    /// Licenses matching a query, newest first.
    fn list(&self, query: ListQuery) -> BoxFuture<'_, Result<Vec<LicenseListing>, LedgerError>>;

    /// Every activation (for exports), oldest first.
    fn all_activations(&self) -> BoxFuture<'_, Result<Vec<ActivationRecord>, LedgerError>>;

    /// Live seats across all licenses (for `/metrics`).
    fn seats_in_use(&self) -> BoxFuture<'_, Result<u64, LedgerError>>;

    /// Records a marketplace call once: [`LedgerError::Conflict`] when its idempotency key
    /// was recorded before.
    fn record_marketplace_event(
        &self,
        event: MarketplaceEvent,
    ) -> BoxFuture<'_, Result<(), LedgerError>>;

    /// The marketplace calls recorded for a license, oldest first.
    fn marketplace_events(
        &self,
        license_id: String,
    ) -> BoxFuture<'_, Result<Vec<MarketplaceEvent>, LedgerError>>;

    /// Is the database reachable?
    fn ping(&self) -> BoxFuture<'_, Result<(), LedgerError>>;

    /// Waits for in-flight work and closes the connections.
    fn close(&self) -> BoxFuture<'_, ()>;
}

/// Opens the ledger a URL names (`sqlite://PATH` or `postgres://…`), creating the database
/// file (SQLite) and running migrations.
pub async fn open(
    url: &str,
    sync: SqliteSync,
    max_connections: u32,
) -> Result<Box<dyn Ledger>, LedgerError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Box::new(
            PostgresLedger::connect(url, max_connections).await?,
        ))
    } else if let Some(path) = url
        .strip_prefix("sqlite://")
        .or(url.strip_prefix("sqlite:"))
    {
        Ok(Box::new(
            SqliteLedger::open(std::path::Path::new(path), sync).await?,
        ))
    } else {
        Err(LedgerError::Config(format!(
            "unsupported database URL scheme {:?}: use sqlite://PATH or postgres://USER@HOST/DB",
            url.split(':').next().unwrap_or("")
        )))
    }
}
