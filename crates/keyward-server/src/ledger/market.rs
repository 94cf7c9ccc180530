//! The ledger's side of the marketplace's production interface: callback nonces shared by
//! every instance, License 1.0 orders (one license per order), `PL…` code bridges, changes
//! the marketplace asks for (once per call, in the marketplace's order), and the claims that
//! make exactly one instance reconcile each batch.

use futures_util::future::BoxFuture;
use keyward_core::Timestamp;

use super::{
    Change, LedgerError, LicenseRecord, LicenseStatus, MarketplaceEvent, SignUpdate, UpdateRecord,
};

/// How the marketplace names a license.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MarketRef {
    /// A License 2.0 `PL…` code.
    LicenseCode(String),
    /// A License 1.0 `instanceId`.
    Instance(String),
}

/// What a marketplace change did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MarketOutcome {
    /// Applied: the signed update published, or `None` when the license was already in the
    /// state asked for (nothing to publish).
    Applied(Option<UpdateRecord>),
    /// The same call was handled before: nothing done again; the answer it got then.
    Duplicate(String),
    /// An older status change arriving after a newer one: recorded, no effect.
    Superseded,
}

/// A `PL…` code's bridge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Bridge {
    /// Recorded; the marketplace has not (yet) confirmed the activation.
    Pending,
    /// Done: keyward's license for it.
    Done(Box<LicenseRecord>),
}

/// A live bridged license, for the reconciliation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BridgedLicense {
    /// The `PL…` code.
    pub marketplace_license: String,
    /// keyward's license.
    pub license_id: String,
    /// Its current expiry.
    pub expires: Option<u64>,
    /// Its state.
    pub status: LicenseStatus,
}

/// The marketplace operations of the ledger. Every method is one transaction.
pub trait MarketplaceLedger: Send + Sync {
    /// Remembers a callback nonce until `expires`; `false` when it was seen (and has not
    /// expired). Forgets expired nonces on the way.
    fn claim_nonce(
        &self,
        nonce: String,
        now: u64,
        expires: u64,
    ) -> BoxFuture<'_, Result<bool, LedgerError>>;

    /// The license the marketplace names, if any.
    fn find_marketplace_license(
        &self,
        reference: MarketRef,
    ) -> BoxFuture<'_, Result<Option<LicenseRecord>, LedgerError>>;

    /// Records the marketplace call `event` and applies `change` to the license, once per
    /// `event.idempotency_key`. A change that leaves the license as it is publishes
    /// nothing. For FREEZE / UNFREEZE, `status_time_ms` is the call's own time: a change
    /// older than the last one applied is recorded and has no effect. A license already
    /// released takes no further change.
    fn marketplace_change(
        &self,
        license_id: String,
        change: Change,
        status_time_ms: Option<u64>,
        event: MarketplaceEvent,
        sign: SignUpdate,
        now: Timestamp,
    ) -> BoxFuture<'_, Result<MarketOutcome, LedgerError>>;

    /// License 1.0 `getLicense`: the license already issued for `order_id`, or `license`
    /// issued now (its `instance_id` set) — one per order, whatever the retries.
    fn issue_for_order(
        &self,
        order_id: String,
        license: LicenseRecord,
        event: MarketplaceEvent,
    ) -> BoxFuture<'_, Result<LicenseRecord, LedgerError>>;

    /// Records a `PL…` code before the marketplace is called; answers what is known of it.
    fn begin_bridge(
        &self,
        marketplace_license: String,
        now: u64,
    ) -> BoxFuture<'_, Result<Bridge, LedgerError>>;

    /// Completes a bridge with keyward's license (issued now unless one exists for the code,
    /// which is then returned).
    fn complete_bridge(
        &self,
        marketplace_license: String,
        license: LicenseRecord,
        now: u64,
    ) -> BoxFuture<'_, Result<LicenseRecord, LedgerError>>;

    /// Bridged licenses not released, by license id.
    fn bridged_licenses(&self) -> BoxFuture<'_, Result<Vec<BridgedLicense>, LedgerError>>;

    /// Claims batch `batch` of reconciliation run `run` for `by`; `false` when another
    /// instance has it.
    fn claim_batch(
        &self,
        run: String,
        batch: u32,
        by: String,
        now: u64,
    ) -> BoxFuture<'_, Result<bool, LedgerError>>;
}

pub(crate) const DELETE_OLD_NONCES: &str = "DELETE FROM marketplace_nonces WHERE expires < $1";
/// Claims a nonce: inserted, or taking the place of the same nonce whose time is over;
/// nothing (0 rows) when it is held. One statement, atomic on its own.
pub(crate) const INSERT_NONCE: &str = "INSERT INTO marketplace_nonces (nonce, expires) \
     VALUES ($1, $2) ON CONFLICT (nonce) DO UPDATE SET expires = excluded.expires \
     WHERE marketplace_nonces.expires < $3";

/// Claims between two sweeps of the nonces whose time is over (a sweep on every claim
/// would double a callback's writes for no gain: a held nonce past its time is replaced
/// by its claim anyway).
pub(crate) const SWEEP_EVERY: u64 = 256;

/// Claims so far in this process, for [`SWEEP_EVERY`].
pub(crate) static CLAIMS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
pub(crate) const EVENT_RESULT: &str =
    "SELECT result_code FROM marketplace_events WHERE idempotency_key = $1";
pub(crate) const STATUS_TIME: &str = "SELECT status_changed_ms FROM licenses WHERE license_id = $1";
pub(crate) const SET_STATUS_TIME: &str =
    "UPDATE licenses SET status_changed_ms = $1 WHERE license_id = $2";
pub(crate) const ORDER_LICENSE: &str =
    "SELECT license_id FROM marketplace_orders WHERE order_id = $1";
pub(crate) const INSERT_ORDER: &str =
    "INSERT INTO marketplace_orders (order_id, license_id, instance_id) VALUES ($1, $2, $3)";
pub(crate) const BRIDGE_STATE: &str =
    "SELECT state, license_id FROM bridges WHERE marketplace_license = $1";
pub(crate) const INSERT_BRIDGE: &str = "INSERT INTO bridges (marketplace_license, state, created, \
     updated) VALUES ($1, 'pending', $2, $2) ON CONFLICT (marketplace_license) DO NOTHING";
pub(crate) const FINISH_BRIDGE: &str = "UPDATE bridges SET state = 'done', license_id = $1, \
     updated = $2 WHERE marketplace_license = $3";
pub(crate) const LICENSE_BY_CODE: &str =
    "SELECT license_id FROM licenses WHERE marketplace_license = $1";
pub(crate) const LICENSE_BY_INSTANCE: &str =
    "SELECT license_id FROM marketplace_orders WHERE instance_id = $1";
pub(crate) const BRIDGED: &str = "SELECT marketplace_license, license_id, expires, status \
     FROM licenses WHERE marketplace_license IS NOT NULL AND status <> 'released' \
     ORDER BY license_id";
pub(crate) const INSERT_CLAIM: &str = "INSERT INTO reconcile_claims (run, batch, claimed_by, \
     claimed_at) VALUES ($1, $2, $3, $4) ON CONFLICT (run, batch) DO NOTHING";

/// Whether `change` would leave `license` as it is.
pub(crate) fn no_op(license: &LicenseRecord, change: Change) -> bool {
    match change {
        Change::Renew(e) => license.expires == Some(e),
        Change::Freeze => license.status == LicenseStatus::Frozen,
        Change::Unfreeze => license.status == LicenseStatus::Active,
        Change::Release => license.status == LicenseStatus::Released,
    }
}

/// The marketplace operations for one backend; expanded next to `impl_ledger!`, whose
/// private helpers (`locked_license`, `insert_license`, `apply_change`, `audit`, …) it uses.
macro_rules! impl_marketplace_ledger {
    ($ty:ty, $db:ty) => {
        use crate::ledger::market::{
            self as market, Bridge, BridgedLicense, MarketOutcome, MarketRef, MarketplaceLedger,
        };

        async fn insert_event(c: &mut Conn, e: &MarketplaceEvent) -> Result<bool, LedgerError> {
            let done = sqlx::query::<$db>(ops::INSERT_EVENT)
                .bind(to_i64(e.at))
                .bind(&e.license_id)
                .bind(&e.activity)
                .bind(&e.order_id)
                .bind(&e.idempotency_key)
                .bind(&e.result_code)
                .bind(&e.payload)
                .execute(&mut *c)
                .await?;
            Ok(done.rows_affected() == 1)
        }

        async fn license_by_id(
            c: &mut Conn,
            id: Option<String>,
        ) -> Result<Option<LicenseRecord>, LedgerError> {
            let Some(id) = id else { return Ok(None) };
            let row = sqlx::query::<$db>(SELECT_LICENSE)
                .bind(&id)
                .fetch_optional(&mut *c)
                .await?;
            row.as_ref().map(license_from_row).transpose()
        }

        impl MarketplaceLedger for $ty {
            fn claim_nonce(
                &self,
                nonce: String,
                now: u64,
                expires: u64,
            ) -> BoxFuture<'_, Result<bool, LedgerError>> {
                Box::pin(async move {
                    // SQLite: on the writer thread (sqlite_writer.rs).
                    if let Some(writer) = self.writer_thread() {
                        return writer.claim_nonce(nonce, now, expires).await;
                    }
                    let claims = market::CLAIMS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if claims.is_multiple_of(market::SWEEP_EVERY) {
                        sqlx::query::<$db>(market::DELETE_OLD_NONCES)
                            .bind(to_i64(now))
                            .execute(self.writer())
                            .await?;
                    }
                    let done = sqlx::query::<$db>(market::INSERT_NONCE)
                        .bind(&nonce)
                        .bind(to_i64(expires))
                        .bind(to_i64(now))
                        .execute(self.writer())
                        .await?;
                    Ok(done.rows_affected() == 1)
                })
            }

            fn find_marketplace_license(
                &self,
                reference: MarketRef,
            ) -> BoxFuture<'_, Result<Option<LicenseRecord>, LedgerError>> {
                Box::pin(async move {
                    let mut c = self.reader().acquire().await?;
                    let (sql, key) = match &reference {
                        MarketRef::LicenseCode(k) => (market::LICENSE_BY_CODE, k),
                        MarketRef::Instance(k) => (market::LICENSE_BY_INSTANCE, k),
                    };
                    let id: Option<String> = sqlx::query_scalar::<$db, String>(sql)
                        .bind(key)
                        .fetch_optional(&mut *c)
                        .await?;
                    license_by_id(&mut c, id).await
                })
            }

            fn marketplace_change(
                &self,
                license_id: String,
                change: Change,
                status_time_ms: Option<u64>,
                event: MarketplaceEvent,
                sign: SignUpdate,
                now: Timestamp,
            ) -> BoxFuture<'_, Result<MarketOutcome, LedgerError>> {
                Box::pin(async move {
                    // SQLite: on the writer thread (sqlite_writer.rs).
                    if let Some(writer) = self.writer_thread() {
                        return writer
                            .marketplace_change(crate::ledger::sqlite_writer::MarketChange {
                                license_id,
                                change,
                                status_time_ms,
                                event,
                                sign,
                                now,
                            })
                            .await;
                    }
                    let mut tx = self.begin().await?;
                    if !insert_event(&mut tx, &event).await? {
                        let code: Option<String> =
                            sqlx::query_scalar::<$db, String>(market::EVENT_RESULT)
                                .bind(&event.idempotency_key)
                                .fetch_optional(&mut *tx)
                                .await?;
                        tx.rollback().await?;
                        return Ok(MarketOutcome::Duplicate(code.unwrap_or_default()));
                    }
                    let license = locked_license(&mut tx, &license_id).await?;
                    let outcome = if license.status == LicenseStatus::Released {
                        MarketOutcome::Applied(None)
                    } else if let Some(t) = status_time_ms {
                        let last: Option<i64> =
                            sqlx::query_scalar::<$db, Option<i64>>(market::STATUS_TIME)
                                .bind(&license_id)
                                .fetch_one(&mut *tx)
                                .await?;
                        if last.is_some_and(|l| to_u64(l) > t) {
                            MarketOutcome::Superseded
                        } else {
                            sqlx::query::<$db>(market::SET_STATUS_TIME)
                                .bind(to_i64(t))
                                .bind(&license_id)
                                .execute(&mut *tx)
                                .await?;
                            if market::no_op(&license, change) {
                                MarketOutcome::Applied(None)
                            } else {
                                MarketOutcome::Applied(Some(
                                    apply_change(
                                        &mut tx,
                                        &license,
                                        change,
                                        sign,
                                        now,
                                        &Actor::Marketplace,
                                    )
                                    .await?,
                                ))
                            }
                        }
                    } else if market::no_op(&license, change) {
                        MarketOutcome::Applied(None)
                    } else {
                        MarketOutcome::Applied(Some(
                            apply_change(&mut tx, &license, change, sign, now, &Actor::Marketplace)
                                .await?,
                        ))
                    };
                    audit(
                        &mut tx,
                        event.at,
                        &Actor::Marketplace,
                        &event.activity,
                        Some(&license_id),
                        &event.result_code,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(outcome)
                })
            }

            fn issue_for_order(
                &self,
                order_id: String,
                license: LicenseRecord,
                event: MarketplaceEvent,
            ) -> BoxFuture<'_, Result<LicenseRecord, LedgerError>> {
                Box::pin(async move {
                    let mut tx = self.begin().await?;
                    let known: Option<String> =
                        sqlx::query_scalar::<$db, String>(market::ORDER_LICENSE)
                            .bind(&order_id)
                            .fetch_optional(&mut *tx)
                            .await?;
                    if let Some(existing) = license_by_id(&mut tx, known).await? {
                        // A retry: the first answer again. The event is kept once.
                        insert_event(&mut tx, &event).await?;
                        tx.commit().await?;
                        return Ok(existing);
                    }
                    if !insert_license(&mut tx, &license).await? {
                        tx.rollback().await?;
                        return Err(LedgerError::Conflict(format!(
                            "license {}",
                            license.license_id
                        )));
                    }
                    let instance = license.instance_id.clone().unwrap_or_default();
                    sqlx::query::<$db>(market::INSERT_ORDER)
                        .bind(&order_id)
                        .bind(&license.license_id)
                        .bind(&instance)
                        .execute(&mut *tx)
                        .await?;
                    insert_event(&mut tx, &event).await?;
                    let detail = format!(
                        "order {order_id}, instance {instance}, seats {}",
                        license.seats
                    );
                    audit(
                        &mut tx,
                        license.created,
                        &Actor::Marketplace,
                        "issue",
                        Some(&license.license_id),
                        &detail,
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(license)
                })
            }

            fn begin_bridge(
                &self,
                code: String,
                now: u64,
            ) -> BoxFuture<'_, Result<Bridge, LedgerError>> {
                Box::pin(async move {
                    let mut tx = self.begin().await?;
                    sqlx::query::<$db>(market::INSERT_BRIDGE)
                        .bind(&code)
                        .bind(to_i64(now))
                        .execute(&mut *tx)
                        .await?;
                    let row = sqlx::query::<$db>(market::BRIDGE_STATE)
                        .bind(&code)
                        .fetch_one(&mut *tx)
                        .await?;
                    let state: String = row.try_get(0)?;
                    let id: Option<String> = row.try_get(1)?;
                    let bridge = match (state.as_str(), license_by_id(&mut tx, id).await?) {
                        ("done", Some(l)) => Bridge::Done(Box::new(l)),
                        _ => Bridge::Pending,
                    };
                    tx.commit().await?;
                    Ok(bridge)
                })
            }

            fn complete_bridge(
                &self,
                code: String,
                license: LicenseRecord,
                now: u64,
            ) -> BoxFuture<'_, Result<LicenseRecord, LedgerError>> {
                Box::pin(async move {
                    let mut tx = self.begin().await?;
                    let known: Option<String> =
                        sqlx::query_scalar::<$db, String>(market::LICENSE_BY_CODE)
                            .bind(&code)
                            .fetch_optional(&mut *tx)
                            .await?;
                    let license = match license_by_id(&mut tx, known).await? {
                        Some(existing) => existing,
                        None => {
                            if !insert_license(&mut tx, &license).await? {
                                tx.rollback().await?;
                                return Err(LedgerError::Conflict(format!(
                                    "license {}",
                                    license.license_id
                                )));
                            }
                            let detail =
                                format!("marketplace code bridged, seats {}", license.seats);
                            audit(
                                &mut tx,
                                now,
                                &Actor::Marketplace,
                                "bridge",
                                Some(&license.license_id),
                                &detail,
                            )
                            .await?;
                            license
                        }
                    };
                    sqlx::query::<$db>(market::FINISH_BRIDGE)
                        .bind(&license.license_id)
                        .bind(to_i64(now))
                        .bind(&code)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(license)
                })
            }

            fn bridged_licenses(&self) -> BoxFuture<'_, Result<Vec<BridgedLicense>, LedgerError>> {
                Box::pin(async move {
                    sqlx::query::<$db>(market::BRIDGED)
                        .fetch_all(self.reader())
                        .await?
                        .iter()
                        .map(|r| {
                            let status: String = r.try_get(3)?;
                            Ok(BridgedLicense {
                                marketplace_license: r.try_get(0)?,
                                license_id: r.try_get(1)?,
                                expires: r.try_get::<Option<i64>, _>(2)?.map(to_u64),
                                status: LicenseStatus::parse(&status).ok_or_else(|| {
                                    LedgerError::Corrupt(format!("license status {status:?}"))
                                })?,
                            })
                        })
                        .collect()
                })
            }

            fn claim_batch(
                &self,
                run: String,
                batch: u32,
                by: String,
                now: u64,
            ) -> BoxFuture<'_, Result<bool, LedgerError>> {
                Box::pin(async move {
                    let mut tx = self.begin().await?;
                    let done = sqlx::query::<$db>(market::INSERT_CLAIM)
                        .bind(&run)
                        .bind(i64::from(batch))
                        .bind(&by)
                        .bind(to_i64(now))
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    Ok(done.rows_affected() == 1)
                })
            }
        }
    };
}
pub(crate) use impl_marketplace_ledger;
