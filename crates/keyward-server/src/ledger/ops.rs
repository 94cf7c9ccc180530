//! The ledger's operations, written once for both databases. The statements are plain SQL
//! that SQLite and PostgreSQL both accept (`$N` parameters, integers as 64-bit, booleans
//! as 0/1); what differs is how a writing transaction starts and whether the license row
//! is locked (`FOR UPDATE` in PostgreSQL; in SQLite `BEGIN IMMEDIATE` already holds the
//! one write lock). `impl_ledger!` expands the same code for each backend's types: a
//! macro rather than generic code because sqlx's per-database trait bounds would bury the
//! rules that matter here (count, check the machine, insert) under where-clauses.

use keyward_core::Timestamp;

use crate::ledger::{Change, LedgerError, LicenseRecord, LicenseStatus};

/// The columns of a license, in the order `license_from_row` reads them.
macro_rules! license_cols {
    () => {
        "license_id, product, sku, seats, not_before, expires, features, trial, instance_id, \
         order_id, marketplace_license, code, status, created"
    };
}
pub(crate) use license_cols;

/// A license by its id, columns in [`license_cols!`] order.
pub(crate) const SELECT_LICENSE: &str = concat!(
    "SELECT ",
    license_cols!(),
    " FROM licenses WHERE license_id = $1"
);
pub(crate) const INSERT_LICENSE: &str = "INSERT INTO licenses (license_id, product, sku, seats, \
     not_before, expires, features, trial, instance_id, order_id, marketplace_license, code, \
     status, created, updated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
     $14, $14) ON CONFLICT (license_id) DO NOTHING";
pub(crate) const LIVE_ID_FOR_MACHINE: &str = "SELECT id FROM activations \
     WHERE license_id = $1 AND machine = $2 AND deactivated IS NULL";
pub(crate) const LIVE_MACHINES: &str = "SELECT machine FROM activations \
     WHERE license_id = $1 AND deactivated IS NULL ORDER BY id";
pub(crate) const LIVE_WITH_CERT: &str = "SELECT id, machine, certificate FROM activations \
     WHERE license_id = $1 AND deactivated IS NULL ORDER BY id";
/// The certificate of `machine`'s live seat on a license, if it holds one (the unique
/// index of live seats answers it).
pub(crate) const LIVE_FOR_MACHINE: &str = "SELECT certificate FROM activations \
     WHERE license_id = $1 AND machine = $2 AND deactivated IS NULL";
/// A license's live seats (read from the `activations_license` index alone).
pub(crate) const COUNT_LIVE: &str =
    "SELECT COUNT(*) FROM activations WHERE license_id = $1 AND deactivated IS NULL";
pub(crate) const COUNT_ALL_LIVE: &str =
    "SELECT COUNT(*) FROM activations WHERE deactivated IS NULL";
pub(crate) const INSERT_ACTIVATION: &str = "INSERT INTO activations \
     (license_id, machine, nonce, certificate, activated) VALUES ($1, $2, $3, $4, $5)";
pub(crate) const END_ACTIVATION: &str =
    "UPDATE activations SET deactivated = $1, deactivated_by = $2 WHERE id = $3";
pub(crate) const END_ALL: &str = "UPDATE activations SET deactivated = $1, deactivated_by = $2 \
     WHERE license_id = $3 AND deactivated IS NULL";
pub(crate) const AUDIT: &str = "INSERT INTO audit (at, who, client, action, license_id, detail) \
     VALUES ($1, $2, $3, $4, $5, $6)";
pub(crate) const MAX_SEQUENCE: &str =
    "SELECT COALESCE(MAX(sequence), 0) FROM updates WHERE license_id = $1";
pub(crate) const INSERT_UPDATE: &str = "INSERT INTO updates \
     (license_id, sequence, action, update_text, issued) VALUES ($1, $2, $3, $4, $5)";
pub(crate) const SET_EXPIRES: &str =
    "UPDATE licenses SET expires = $1, updated = $2 WHERE license_id = $3";
pub(crate) const SET_STATUS: &str =
    "UPDATE licenses SET status = $1, updated = $2 WHERE license_id = $3";
pub(crate) const UPDATES_AFTER: &str = "SELECT sequence, action, update_text, issued FROM updates \
     WHERE license_id = $1 AND sequence > $2 ORDER BY sequence";
pub(crate) const ACTIVATIONS_OF: &str = "SELECT license_id, machine, nonce, certificate, \
     activated, deactivated, deactivated_by FROM activations WHERE license_id = $1 ORDER BY id";
pub(crate) const ALL_ACTIVATIONS: &str = "SELECT license_id, machine, nonce, certificate, \
     activated, deactivated, deactivated_by FROM activations ORDER BY id";
pub(crate) const AUDIT_OF: &str = "SELECT at, who, client, action, license_id, detail FROM audit \
     WHERE license_id = $1 ORDER BY id";
pub(crate) const LIST: &str = concat!(
    "SELECT ",
    license_cols!(),
    ", (SELECT COUNT(*) FROM activations a WHERE a.license_id = l.license_id \
     AND a.deactivated IS NULL) FROM licenses l \
     WHERE ($1 = '' OR l.license_id LIKE $1 ESCAPE '\\' OR l.product LIKE $1 ESCAPE '\\' \
     OR l.sku LIKE $1 ESCAPE '\\' OR l.order_id LIKE $1 ESCAPE '\\' \
     OR l.instance_id LIKE $1 ESCAPE '\\' OR l.marketplace_license LIKE $1 ESCAPE '\\' \
     OR l.license_id IN (SELECT a.license_id FROM activations a WHERE a.machine LIKE $1 ESCAPE '\\')) \
     AND ($2 = '' OR l.status = $2) \
     ORDER BY l.created DESC, l.license_id LIMIT $3 OFFSET $4"
);
pub(crate) const INSERT_EVENT: &str = "INSERT INTO marketplace_events \
     (at, license_id, activity, order_id, idempotency_key, result_code, payload) \
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (idempotency_key) DO NOTHING";
pub(crate) const EVENTS_OF: &str = "SELECT at, license_id, activity, order_id, idempotency_key, \
     result_code, payload FROM marketplace_events WHERE license_id = $1 ORDER BY id";

/// `%text%` for LIKE, with the wildcards in the text escaped.
pub(crate) fn like_pattern(search: &str) -> String {
    let mut p = String::from("%");
    for c in search.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// Refuses licenses that may not take a seat now.
pub(crate) fn usable(l: &LicenseRecord, now: Timestamp) -> Result<(), LedgerError> {
    match l.status {
        LicenseStatus::Frozen => return Err(LedgerError::Frozen),
        LicenseStatus::Released => return Err(LedgerError::Released),
        LicenseStatus::Active => {}
    }
    match l.expires {
        Some(e) if now.secs() >= e => Err(LedgerError::Expired(e)),
        _ => Ok(()),
    }
}

/// The status `change` sets (a renewal sets the expiry instead) and the audit detail of
/// its update number `sequence`.
pub(crate) fn change_effect(change: Change, sequence: u32) -> (Option<LicenseStatus>, String) {
    match change {
        Change::Renew(expires) => (
            None,
            format!(
                "sequence {sequence}, expires {}",
                Timestamp(expires).to_rfc3339()
            ),
        ),
        Change::Freeze => (Some(LicenseStatus::Frozen), format!("sequence {sequence}")),
        Change::Unfreeze => (Some(LicenseStatus::Active), format!("sequence {sequence}")),
        Change::Release => (
            Some(LicenseStatus::Released),
            format!("sequence {sequence}"),
        ),
    }
}

/// The stored feature list (comma-separated) as a list.
pub(crate) fn split_features(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|f| !f.is_empty())
        .map(str::to_string)
        .collect()
}

pub(crate) fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

pub(crate) fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

pub(crate) fn to_u32(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// The trait's implementation for one backend. The type must have
/// `async fn begin(&self) -> Result<Transaction<'static, $db>, sqlx::Error>` (a writing
/// transaction), `fn reader(&self) -> &Pool<$db>` and
/// `fn writer_thread(&self) -> Option<&SqliteWriter>` (the hot writes elsewhere).
macro_rules! impl_ledger {
    ($ty:ty, $db:ty, $backend:literal, $for_update:literal) => {
        use futures_util::future::BoxFuture;
        use keyward_core::Timestamp;
        use sqlx::Row as _;

        use crate::ledger::ops::{self, license_cols, to_i64, to_u32, to_u64};
        use crate::ledger::{
            Activated, ActivationAttempt, ActivationRecord, Actor, AuditRecord, Change,
            Deactivated, Ledger, LedgerError, LicenseDetail, LicenseListing, LicenseRecord,
            LicenseStatus, ListQuery, MarketplaceEvent, MatchCertificate, Seats, SignCertificate,
            SignUpdate, UpdateRecord,
        };

        use crate::ledger::ops::{usable, SELECT_LICENSE};
        const LOCK_LICENSE: &str = concat!(
            "SELECT ",
            license_cols!(),
            " FROM licenses WHERE license_id = $1",
            $for_update
        );

        type DbRow = <$db as sqlx::Database>::Row;
        type Conn = <$db as sqlx::Database>::Connection;

        fn license_from_row(r: &DbRow) -> Result<LicenseRecord, LedgerError> {
            let status: String = r.try_get(12)?;
            let features: String = r.try_get(6)?;
            Ok(LicenseRecord {
                license_id: r.try_get(0)?,
                product: r.try_get(1)?,
                sku: r.try_get(2)?,
                seats: to_u32(r.try_get(3)?),
                not_before: to_u64(r.try_get(4)?),
                expires: r.try_get::<Option<i64>, _>(5)?.map(to_u64),
                features: ops::split_features(&features),
                trial: r.try_get::<i64, _>(7)? != 0,
                instance_id: r.try_get(8)?,
                order_id: r.try_get(9)?,
                marketplace_license: r.try_get(10)?,
                code: r.try_get(11)?,
                status: LicenseStatus::parse(&status)
                    .ok_or_else(|| LedgerError::Corrupt(format!("license status {status:?}")))?,
                created: to_u64(r.try_get(13)?),
            })
        }

        fn activation_from_row(r: &DbRow) -> Result<ActivationRecord, LedgerError> {
            Ok(ActivationRecord {
                license_id: r.try_get(0)?,
                machine: r.try_get(1)?,
                nonce: r.try_get(2)?,
                certificate: r.try_get(3)?,
                activated: to_u64(r.try_get(4)?),
                deactivated: r.try_get::<Option<i64>, _>(5)?.map(to_u64),
                deactivated_by: r.try_get(6)?,
            })
        }

        fn update_from_row(r: &DbRow) -> Result<UpdateRecord, LedgerError> {
            Ok(UpdateRecord {
                sequence: to_u32(r.try_get(0)?),
                action: r.try_get(1)?,
                update: r.try_get(2)?,
                issued: to_u64(r.try_get(3)?),
            })
        }

        async fn insert_license(c: &mut Conn, l: &LicenseRecord) -> Result<bool, LedgerError> {
            let done = sqlx::query::<$db>(ops::INSERT_LICENSE)
                .bind(&l.license_id)
                .bind(&l.product)
                .bind(&l.sku)
                .bind(i64::from(l.seats))
                .bind(to_i64(l.not_before))
                .bind(l.expires.map(to_i64))
                .bind(l.features.join(","))
                .bind(i64::from(l.trial))
                .bind(&l.instance_id)
                .bind(&l.order_id)
                .bind(&l.marketplace_license)
                .bind(&l.code)
                .bind(l.status.as_str())
                .bind(to_i64(l.created))
                .execute(&mut *c)
                .await?;
            Ok(done.rows_affected() == 1)
        }

        async fn audit(
            c: &mut Conn,
            at: u64,
            actor: &Actor,
            action: &str,
            license_id: Option<&str>,
            detail: &str,
        ) -> Result<(), LedgerError> {
            sqlx::query::<$db>(ops::AUDIT)
                .bind(to_i64(at))
                .bind(actor.kind())
                .bind(actor.detail())
                .bind(action)
                .bind(license_id)
                .bind(detail)
                .execute(&mut *c)
                .await?;
            Ok(())
        }

        async fn locked_license(c: &mut Conn, id: &str) -> Result<LicenseRecord, LedgerError> {
            let row = sqlx::query::<$db>(LOCK_LICENSE)
                .bind(id)
                .fetch_optional(&mut *c)
                .await?
                .ok_or_else(|| LedgerError::NotFound(format!("license {id}")))?;
            license_from_row(&row)
        }

        async fn count_live(c: &mut Conn, id: &str) -> Result<u32, LedgerError> {
            let n: i64 = sqlx::query_scalar::<$db, i64>(ops::COUNT_LIVE)
                .bind(id)
                .fetch_one(&mut *c)
                .await?;
            Ok(to_u32(n))
        }

        /// Applies a change to a license locked by the caller's writing transaction and
        /// stores its signed update under the next sequence number (a release also frees
        /// every seat).
        async fn apply_change(
            tx: &mut Conn,
            license: &LicenseRecord,
            change: Change,
            sign: SignUpdate,
            now: Timestamp,
            actor: &Actor,
        ) -> Result<UpdateRecord, LedgerError> {
            let at = to_i64(now.secs());
            let license_id = &license.license_id;
            let last: i64 = sqlx::query_scalar::<$db, i64>(ops::MAX_SEQUENCE)
                .bind(license_id)
                .fetch_one(&mut *tx)
                .await?;
            let sequence = to_u32(last).saturating_add(1);
            let text = sign(sequence)?;
            if let Change::Renew(expires) = change {
                sqlx::query::<$db>(ops::SET_EXPIRES)
                    .bind(to_i64(expires))
                    .bind(at)
                    .bind(license_id)
                    .execute(&mut *tx)
                    .await?;
            }
            let (status, detail) = ops::change_effect(change, sequence);
            if let Some(s) = status {
                sqlx::query::<$db>(ops::SET_STATUS)
                    .bind(s.as_str())
                    .bind(at)
                    .bind(license_id)
                    .execute(&mut *tx)
                    .await?;
            }
            if change == Change::Release {
                sqlx::query::<$db>(ops::END_ALL)
                    .bind(at)
                    .bind(actor.kind())
                    .bind(license_id)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query::<$db>(ops::INSERT_UPDATE)
                .bind(license_id)
                .bind(i64::from(sequence))
                .bind(change.as_str())
                .bind(&text)
                .bind(at)
                .execute(&mut *tx)
                .await?;
            audit(&mut *tx, now.secs(), actor, change.as_str(), Some(license_id.as_str()), &detail).await?;
            Ok(UpdateRecord {
                sequence,
                action: change.as_str().to_string(),
                update: text,
                issued: now.secs(),
            })
        }

        impl Ledger for $ty {
            fn backend(&self) -> &'static str {
                $backend
            }

            fn issue(
                &self,
                license: LicenseRecord,
                actor: Actor,
            ) -> BoxFuture<'_, Result<(), LedgerError>> {
                Box::pin(async move {
                    let mut tx = self.begin().await?;
                    if !insert_license(&mut tx, &license).await? {
                        return Err(LedgerError::Conflict(format!(
                            "license {}",
                            license.license_id
                        )));
                    }
                    let detail = format!(
                        "product {} sku {} seats {}",
                        license.product, license.sku, license.seats
                    );
                    audit(&mut tx, license.created, &actor, "issue", Some(&license.license_id), &detail)
                        .await?;
                    tx.commit().await?;
                    Ok(())
                })
            }

            fn activate(
                &self,
                a: ActivationAttempt,
                sign: SignCertificate,
            ) -> BoxFuture<'_, Result<Activated, LedgerError>> {
                Box::pin(async move {
                    // SQLite: on the writer thread (sqlite_writer.rs).
                    if let Some(writer) = self.writer_thread() {
                        return writer.activate(a, sign).await;
                    }
                    let id = a.license.license_id.clone();
                    let now = a.now.secs();
                    let mut tx = self.begin().await?;
                    // The license as the ledger has it (locked); a code issued elsewhere is
                    // registered at its first activation. (Read first: most activations are
                    // of a license the ledger has, and this saves them a statement.)
                    let license = match locked_license(&mut tx, &id).await {
                        Err(LedgerError::NotFound(_)) => {
                            if insert_license(&mut tx, &a.license).await? {
                                audit(&mut tx, now, &a.actor, "register", Some(&id), "first activation of a code issued elsewhere")
                                    .await?;
                            }
                            locked_license(&mut tx, &id).await?
                        }
                        other => other?,
                    };
                    usable(&license, a.now)?;
                    let total = license.seats;
                    // After the lock, in their own statements: PostgreSQL reads them with a
                    // snapshot taken after any activation that held the lock committed.
                    let held: Option<String> = sqlx::query_scalar::<$db, String>(ops::LIVE_FOR_MACHINE)
                        .bind(&id)
                        .bind(&a.machine)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let used = count_live(&mut tx, &id).await?;
                    if let Some(certificate) = held {
                        // Nothing changed: the transaction only read.
                        tx.rollback().await?;
                        return Ok(Activated {
                            certificate,
                            seats: Seats { used, total },
                            reactivated: true,
                        });
                    }
                    if used >= total {
                        let machines: Vec<String> = sqlx::query_scalar::<$db, String>(ops::LIVE_MACHINES)
                            .bind(&id)
                            .fetch_all(&mut *tx)
                            .await?;
                        tx.rollback().await?;
                        return Err(LedgerError::NoSeatLeft { used, total, machines });
                    }
                    let certificate = sign(&license)?;
                    let nonce = keyward_core::raw::hex(&a.nonce);
                    sqlx::query::<$db>(ops::INSERT_ACTIVATION)
                        .bind(&id)
                        .bind(&a.machine)
                        .bind(&nonce)
                        .bind(&certificate)
                        .bind(to_i64(now))
                        .execute(&mut *tx)
                        .await?;
                    audit(&mut tx, now, &a.actor, "activate", Some(&id), &a.machine).await?;
                    tx.commit().await?;
                    Ok(Activated {
                        certificate,
                        seats: Seats { used: used + 1, total },
                        reactivated: false,
                    })
                })
            }

            fn deactivate(
                &self,
                license_id: String,
                matches: MatchCertificate,
                now: Timestamp,
                actor: Actor,
            ) -> BoxFuture<'_, Result<Deactivated, LedgerError>> {
                Box::pin(async move {
                    let mut tx = self.begin().await?;
                    let license = locked_license(&mut tx, &license_id).await?;
                    let live = sqlx::query::<$db>(ops::LIVE_WITH_CERT)
                        .bind(&license_id)
                        .fetch_all(&mut *tx)
                        .await?;
                    let mut found = None;
                    for r in &live {
                        let cert: String = r.try_get(2)?;
                        if matches(&cert) {
                            found = Some((r.try_get::<i64, _>(0)?, r.try_get::<String, _>(1)?));
                            break;
                        }
                    }
                    let Some((row_id, machine)) = found else {
                        tx.rollback().await?;
                        return Err(LedgerError::NotFound(format!(
                            "a live activation of license {license_id} matching this deactivation code"
                        )));
                    };
                    sqlx::query::<$db>(ops::END_ACTIVATION)
                        .bind(to_i64(now.secs()))
                        .bind(actor.kind())
                        .bind(row_id)
                        .execute(&mut *tx)
                        .await?;
                    audit(&mut tx, now.secs(), &actor, "deactivate", Some(&license_id), &machine).await?;
                    let used = count_live(&mut tx, &license_id).await?;
                    tx.commit().await?;
                    Ok(Deactivated { machine, seats: Seats { used, total: license.seats } })
                })
            }

            fn revoke(
                &self,
                license_id: String,
                machine: String,
                now: Timestamp,
                actor: Actor,
            ) -> BoxFuture<'_, Result<Deactivated, LedgerError>> {
                Box::pin(async move {
                    let mut tx = self.begin().await?;
                    let license = locked_license(&mut tx, &license_id).await?;
                    let row_id: Option<i64> = sqlx::query_scalar::<$db, i64>(ops::LIVE_ID_FOR_MACHINE)
                        .bind(&license_id)
                        .bind(&machine)
                        .fetch_optional(&mut *tx)
                        .await?;
                    let Some(row_id) = row_id else {
                        tx.rollback().await?;
                        return Err(LedgerError::NotFound(format!(
                            "a live activation of license {license_id} on machine {machine}"
                        )));
                    };
                    sqlx::query::<$db>(ops::END_ACTIVATION)
                        .bind(to_i64(now.secs()))
                        .bind(actor.kind())
                        .bind(row_id)
                        .execute(&mut *tx)
                        .await?;
                    audit(&mut tx, now.secs(), &actor, "revoke", Some(&license_id), &machine).await?;
                    let used = count_live(&mut tx, &license_id).await?;
                    tx.commit().await?;
                    Ok(Deactivated { machine, seats: Seats { used, total: license.seats } })
                })
            }

            fn change(
                &self,
                license_id: String,
                change: Change,
                sign: SignUpdate,
                now: Timestamp,
                actor: Actor,
            ) -> BoxFuture<'_, Result<UpdateRecord, LedgerError>> {
                Box::pin(async move {
                    let mut tx = self.begin().await?;
                    let license = locked_license(&mut tx, &license_id).await?;
                    if license.status == LicenseStatus::Released {
                        tx.rollback().await?;
                        return Err(LedgerError::Released);
                    }
                    let update = apply_change(&mut tx, &license, change, sign, now, &actor).await?;
                    tx.commit().await?;
                    Ok(update)
                })
            }

            fn updates(
                &self,
                license_id: String,
                after: u32,
            ) -> BoxFuture<'_, Result<Vec<UpdateRecord>, LedgerError>> {
                Box::pin(async move {
                    let mut c = self.reader().acquire().await?;
                    let known = sqlx::query::<$db>(SELECT_LICENSE)
                        .bind(&license_id)
                        .fetch_optional(&mut *c)
                        .await?;
                    if known.is_none() {
                        return Err(LedgerError::NotFound(format!("license {license_id}")));
                    }
                    let rows = sqlx::query::<$db>(ops::UPDATES_AFTER)
                        .bind(&license_id)
                        .bind(i64::from(after))
                        .fetch_all(&mut *c)
                        .await?;
                    rows.iter().map(update_from_row).collect()
                })
            }

            fn license(&self, license_id: String) -> BoxFuture<'_, Result<LicenseDetail, LedgerError>> {
                Box::pin(async move {
                    // One read transaction: a consistent snapshot of the four tables.
                    let mut tx = self.reader().begin().await?;
                    let row = sqlx::query::<$db>(SELECT_LICENSE)
                        .bind(&license_id)
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or_else(|| LedgerError::NotFound(format!("license {license_id}")))?;
                    let license = license_from_row(&row)?;
                    let activations = sqlx::query::<$db>(ops::ACTIVATIONS_OF)
                        .bind(&license_id)
                        .fetch_all(&mut *tx)
                        .await?
                        .iter()
                        .map(activation_from_row)
                        .collect::<Result<Vec<_>, _>>()?;
                    let updates = sqlx::query::<$db>(ops::UPDATES_AFTER)
                        .bind(&license_id)
                        .bind(0i64)
                        .fetch_all(&mut *tx)
                        .await?
                        .iter()
                        .map(update_from_row)
                        .collect::<Result<Vec<_>, _>>()?;
                    let audit = sqlx::query::<$db>(ops::AUDIT_OF)
                        .bind(&license_id)
                        .fetch_all(&mut *tx)
                        .await?
                        .iter()
                        .map(|r| {
                            Ok(AuditRecord {
                                at: to_u64(r.try_get(0)?),
                                who: r.try_get(1)?,
                                client: r.try_get(2)?,
                                action: r.try_get(3)?,
                                license_id: r.try_get(4)?,
                                detail: r.try_get(5)?,
                            })
                        })
                        .collect::<Result<Vec<_>, LedgerError>>()?;
                    tx.rollback().await?;
                    let seats_used =
                        activations.iter().filter(|a| a.deactivated.is_none()).count() as u32;
                    Ok(LicenseDetail { license, seats_used, activations, updates, audit })
                })
            }

            fn list(&self, q: ListQuery) -> BoxFuture<'_, Result<Vec<LicenseListing>, LedgerError>> {
                Box::pin(async move {
                    let search = q.search.as_deref().map(ops::like_pattern).unwrap_or_default();
                    let status = q.status.map(LicenseStatus::as_str).unwrap_or("");
                    let rows = sqlx::query::<$db>(ops::LIST)
                        .bind(search)
                        .bind(status)
                        .bind(i64::from(q.limit.clamp(1, 1000)))
                        .bind(i64::from(q.offset))
                        .fetch_all(self.reader())
                        .await?;
                    rows.iter()
                        .map(|r| {
                            Ok(LicenseListing {
                                license: license_from_row(r)?,
                                seats_used: to_u32(r.try_get(14)?),
                            })
                        })
                        .collect()
                })
            }

            fn all_activations(&self) -> BoxFuture<'_, Result<Vec<ActivationRecord>, LedgerError>> {
                Box::pin(async move {
                    sqlx::query::<$db>(ops::ALL_ACTIVATIONS)
                        .fetch_all(self.reader())
                        .await?
                        .iter()
                        .map(activation_from_row)
                        .collect()
                })
            }

            fn seats_in_use(&self) -> BoxFuture<'_, Result<u64, LedgerError>> {
                Box::pin(async move {
                    let n: i64 = sqlx::query_scalar::<$db, i64>(ops::COUNT_ALL_LIVE)
                        .fetch_one(self.reader())
                        .await?;
                    Ok(to_u64(n))
                })
            }

            fn record_marketplace_event(
                &self,
                e: MarketplaceEvent,
            ) -> BoxFuture<'_, Result<(), LedgerError>> {
                Box::pin(async move {
                    let mut tx = self.begin().await?;
                    let done = sqlx::query::<$db>(ops::INSERT_EVENT)
                        .bind(to_i64(e.at))
                        .bind(&e.license_id)
                        .bind(&e.activity)
                        .bind(&e.order_id)
                        .bind(&e.idempotency_key)
                        .bind(&e.result_code)
                        .bind(&e.payload)
                        .execute(&mut *tx)
                        .await?;
                    if done.rows_affected() == 0 {
                        tx.rollback().await?;
                        return Err(LedgerError::Conflict(format!(
                            "marketplace event {}",
                            e.idempotency_key
                        )));
                    }
                    audit(&mut tx, e.at, &Actor::Marketplace, &e.activity, e.license_id.as_deref(), &e.result_code)
                        .await?;
                    tx.commit().await?;
                    Ok(())
                })
            }

            fn marketplace_events(
                &self,
                license_id: String,
            ) -> BoxFuture<'_, Result<Vec<MarketplaceEvent>, LedgerError>> {
                Box::pin(async move {
                    sqlx::query::<$db>(ops::EVENTS_OF)
                        .bind(&license_id)
                        .fetch_all(self.reader())
                        .await?
                        .iter()
                        .map(|r| {
                            Ok(MarketplaceEvent {
                                at: to_u64(r.try_get(0)?),
                                license_id: r.try_get(1)?,
                                activity: r.try_get(2)?,
                                order_id: r.try_get(3)?,
                                idempotency_key: r.try_get(4)?,
                                result_code: r.try_get(5)?,
                                payload: r.try_get(6)?,
                            })
                        })
                        .collect()
                })
            }

            fn ping(&self) -> BoxFuture<'_, Result<(), LedgerError>> {
                Box::pin(async move {
                    sqlx::query::<$db>("SELECT 1").execute(self.reader()).await?;
                    Ok(())
                })
            }

            fn close(&self) -> BoxFuture<'_, ()> {
                Box::pin(self.close_pools())
            }
        }
    };
}
pub(crate) use impl_ledger;
