//! The SQLite ledger's hot writes, on a thread of their own: activations, and the
//! marketplace's callbacks (the nonce claim and the change they carry).
//!
//! These are the writes that arrive by the thousand per second. Through sqlx each
//! of its statements is a round trip between the request's task and sqlx's worker thread
//! (two thread wake-ups each; an activation had eight): measured, the single writer spent most of
//! its time waiting for those hand-offs, not in SQLite. Here one thread owns one rusqlite
//! connection and runs whole operations on it: a request hands its operation over once and
//! is answered once.
//!
//! Operations that arrive while one transaction runs are committed together (group
//! commit): one `BEGIN IMMEDIATE … COMMIT` for up to [`MAX_BATCH`] of them, each inside its
//! own savepoint, so one refused operation (no seat left, frozen) leaves no trace while the
//! others stand. Every answer waits for the commit: nothing is acknowledged before it is in
//! the database (the WAL), so `kill -9` loses no acknowledged activation.
//!
//! The rules are the ledger's own (`ops.rs` and `market.rs`, the same statements): for an
//! activation, the license read in the writing transaction, its live seats counted and this
//! machine's seat looked up, the certificate signed and stored with the seat it takes; for a
//! marketplace change, the event recorded once, then the change applied and its signed
//! update stored under the next sequence number. The other writes stay on sqlx's
//! writer connection; SQLite's write lock (`BEGIN IMMEDIATE` on both) serialises the two.

use std::path::Path;
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{named_params, Connection, OptionalExtension, Row};
use tokio::sync::oneshot;

use keyward_core::Timestamp;

use super::market::{self, MarketOutcome};
use super::ops::{self, to_i64, to_u32, to_u64};
use super::sqlite::SqliteSync;
use super::{
    Activated, ActivationAttempt, Actor, Change, LedgerError, LicenseRecord, LicenseStatus,
    MarketplaceEvent, Seats, SignCertificate, SignUpdate, UpdateRecord,
};

/// Most operations committed in one transaction.
pub(crate) const MAX_BATCH: usize = 64;

/// The writer thread and the way to it.
pub(crate) struct SqliteWriter {
    jobs: Mutex<Option<mpsc::Sender<Box<dyn Work>>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// One operation handed to the writer.
trait Work: Send {
    /// Runs it in the open transaction, inside its own savepoint.
    fn run(&mut self, conn: &Connection);
    /// Answers, once the transaction is committed (`Ok`) or failed (`Err`, why).
    fn answer(self: Box<Self>, committed: Result<(), String>);
}

/// An operation `f` and where its result goes.
struct Task<T, F> {
    f: Option<F>,
    result: Option<Result<T, LedgerError>>,
    answer: oneshot::Sender<Result<T, LedgerError>>,
}

impl<T, F> Work for Task<T, F>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T, LedgerError> + Send,
{
    fn run(&mut self, conn: &Connection) {
        if let Some(f) = self.f.take() {
            self.result = Some(in_savepoint(conn, f));
        }
    }

    fn answer(self: Box<Self>, committed: Result<(), String>) {
        let result = match (committed, self.result) {
            (_, Some(Err(e))) => Err(e),
            (Ok(()), Some(ok)) => ok,
            (Err(why), Some(Ok(_))) => Err(LedgerError::Storage(format!(
                "the change was not committed: {why}"
            ))),
            (Err(why), None) => Err(LedgerError::Storage(why)),
            (Ok(()), None) => Err(LedgerError::Storage("the change was not run".into())),
        };
        let _ = self.answer.send(result);
    }
}

impl SqliteWriter {
    /// Opens a second connection to the (migrated) database and starts the thread.
    pub(crate) fn start(path: &Path, sync: SqliteSync) -> Result<SqliteWriter, LedgerError> {
        let conn = Connection::open(path).map_err(storage)?;
        conn.busy_timeout(Duration::from_secs(10))
            .map_err(storage)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(storage)?;
        let synchronous = match sync {
            SqliteSync::Normal => "NORMAL",
            SqliteSync::Full => "FULL",
        };
        conn.pragma_update(None, "synchronous", synchronous)
            .map_err(storage)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(storage)?;
        let (tx, rx) = mpsc::channel::<Box<dyn Work>>();
        let thread = std::thread::Builder::new()
            .name("keyward-ledger-writer".into())
            .spawn(move || run(conn, rx))
            .map_err(|e| LedgerError::Storage(format!("cannot start the writer thread: {e}")))?;
        Ok(SqliteWriter {
            jobs: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Runs `f` on the writer thread, in a transaction; answered once it is committed.
    async fn run<T, F>(&self, f: F) -> Result<T, LedgerError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, LedgerError> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel();
        let work: Box<dyn Work> = Box::new(Task {
            f: Some(f),
            result: None,
            answer,
        });
        let sent = match self.jobs.lock() {
            Ok(jobs) => jobs.as_ref().is_some_and(|tx| tx.send(work).is_ok()),
            Err(_) => false,
        };
        if !sent {
            return Err(LedgerError::Storage("the ledger is closed".into()));
        }
        answered.await.unwrap_or_else(|_| {
            Err(LedgerError::Storage(
                "the ledger's writer stopped before answering".into(),
            ))
        })
    }

    /// [`Ledger::activate`](super::Ledger::activate) on the writer thread.
    pub(crate) async fn activate(
        &self,
        attempt: ActivationAttempt,
        sign: SignCertificate,
    ) -> Result<Activated, LedgerError> {
        self.run(move |c| activate(c, &attempt, sign)).await
    }

    /// [`MarketplaceLedger::claim_nonce`](super::MarketplaceLedger::claim_nonce) on the
    /// writer thread.
    pub(crate) async fn claim_nonce(
        &self,
        nonce: String,
        now: u64,
        expires: u64,
    ) -> Result<bool, LedgerError> {
        self.run(move |c| claim_nonce(c, &nonce, now, expires))
            .await
    }

    /// [`MarketplaceLedger::marketplace_change`](super::MarketplaceLedger::marketplace_change)
    /// on the writer thread.
    pub(crate) async fn marketplace_change(
        &self,
        change: MarketChange,
    ) -> Result<MarketOutcome, LedgerError> {
        self.run(move |c| marketplace_change(c, change)).await
    }

    /// Lets the thread finish what it was given, then waits for it.
    pub(crate) async fn close(&self) {
        if let Ok(mut jobs) = self.jobs.lock() {
            jobs.take();
        }
        let thread = self.thread.lock().ok().and_then(|mut t| t.take());
        if let Some(thread) = thread {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

fn storage(e: rusqlite::Error) -> LedgerError {
    LedgerError::Storage(e.to_string())
}

/// The writer thread: batches of operations, each batch one transaction.
fn run(conn: Connection, jobs: mpsc::Receiver<Box<dyn Work>>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            let why = e.to_string();
            for job in batch {
                job.answer(Err(why.clone()));
            }
            continue;
        }
        for job in &mut batch {
            job.run(&conn);
        }
        let committed = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
        if committed.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for job in batch {
            job.answer(committed.clone());
        }
    }
}

/// Runs `f` inside a savepoint: kept when it succeeds, undone when it fails.
fn in_savepoint<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, LedgerError>,
) -> Result<T, LedgerError> {
    conn.execute_batch("SAVEPOINT operation").map_err(storage)?;
    let result = f(conn);
    let end = match &result {
        Ok(_) => conn.execute_batch("RELEASE operation"),
        Err(_) => conn.execute_batch("ROLLBACK TO operation; RELEASE operation"),
    };
    match end {
        Ok(()) => result,
        Err(e) => Err(storage(e)),
    }
}

/// One activation, in the writer's open transaction (see [`Ledger::activate`]).
///
/// [`Ledger::activate`]: super::Ledger::activate
fn activate(
    c: &Connection,
    a: &ActivationAttempt,
    sign: SignCertificate,
) -> Result<Activated, LedgerError> {
    let id = &a.license.license_id;
    let now = a.now.secs();
    let license = match read_license(c, id)? {
        Some(l) => l,
        None => {
            if insert_license(c, &a.license)? {
                audit(
                    c,
                    now,
                    &a.actor,
                    "register",
                    id,
                    "first activation of a code issued elsewhere",
                )?;
            }
            read_license(c, id)?.ok_or_else(|| LedgerError::NotFound(format!("license {id}")))?
        }
    };
    ops::usable(&license, a.now)?;
    let total = license.seats;
    let held: Option<String> = c
        .prepare_cached(ops::LIVE_FOR_MACHINE)
        .map_err(storage)?
        .query_row(named_params! {"$1": id, "$2": a.machine}, |r| r.get(0))
        .optional()
        .map_err(storage)?;
    let used: i64 = c
        .prepare_cached(ops::COUNT_LIVE)
        .map_err(storage)?
        .query_row(named_params! {"$1": id}, |r| r.get(0))
        .map_err(storage)?;
    let used = to_u32(used);
    if let Some(certificate) = held {
        return Ok(Activated {
            certificate,
            seats: Seats { used, total },
            reactivated: true,
        });
    }
    if used >= total {
        let mut stmt = c.prepare_cached(ops::LIVE_MACHINES).map_err(storage)?;
        let machines = stmt
            .query_map(named_params! {"$1": id}, |r| r.get::<_, String>(0))
            .map_err(storage)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(storage)?;
        return Err(LedgerError::NoSeatLeft {
            used,
            total,
            machines,
        });
    }
    let certificate = sign(&license)?;
    let nonce = keyward_core::raw::hex(&a.nonce);
    c.prepare_cached(ops::INSERT_ACTIVATION)
        .map_err(storage)?
        .execute(named_params! {
            "$1": id,
            "$2": a.machine,
            "$3": nonce,
            "$4": certificate,
            "$5": to_i64(now),
        })
        .map_err(storage)?;
    audit(c, now, &a.actor, "activate", id, &a.machine)?;
    Ok(Activated {
        certificate,
        seats: Seats {
            used: used + 1,
            total,
        },
        reactivated: false,
    })
}

fn read_license(c: &Connection, id: &str) -> Result<Option<LicenseRecord>, LedgerError> {
    c.prepare_cached(ops::SELECT_LICENSE)
        .map_err(storage)?
        .query_row(named_params! {"$1": id}, |r| Ok(license_from_row(r)))
        .optional()
        .map_err(storage)?
        .transpose()
}

/// A license row in `ops::license_cols!` order (the sqlx backends read the same columns in
/// `impl_ledger!`; rusqlite's rows are another type).
fn license_from_row(r: &Row<'_>) -> Result<LicenseRecord, LedgerError> {
    let get = |e: rusqlite::Error| storage(e);
    let status: String = r.get(12).map_err(get)?;
    let features: String = r.get(6).map_err(get)?;
    Ok(LicenseRecord {
        license_id: r.get(0).map_err(get)?,
        product: r.get(1).map_err(get)?,
        sku: r.get(2).map_err(get)?,
        seats: to_u32(r.get(3).map_err(get)?),
        not_before: to_u64(r.get(4).map_err(get)?),
        expires: r.get::<_, Option<i64>>(5).map_err(get)?.map(to_u64),
        features: ops::split_features(&features),
        trial: r.get::<_, i64>(7).map_err(get)? != 0,
        instance_id: r.get(8).map_err(get)?,
        order_id: r.get(9).map_err(get)?,
        marketplace_license: r.get(10).map_err(get)?,
        code: r.get(11).map_err(get)?,
        status: LicenseStatus::parse(&status)
            .ok_or_else(|| LedgerError::Corrupt(format!("license status {status:?}")))?,
        created: to_u64(r.get(13).map_err(get)?),
    })
}

fn insert_license(c: &Connection, l: &LicenseRecord) -> Result<bool, LedgerError> {
    let n = c
        .prepare_cached(ops::INSERT_LICENSE)
        .map_err(storage)?
        .execute(named_params! {
            "$1": l.license_id,
            "$2": l.product,
            "$3": l.sku,
            "$4": i64::from(l.seats),
            "$5": to_i64(l.not_before),
            "$6": l.expires.map(to_i64),
            "$7": l.features.join(","),
            "$8": i64::from(l.trial),
            "$9": l.instance_id,
            "$10": l.order_id,
            "$11": l.marketplace_license,
            "$12": l.code,
            "$13": l.status.as_str(),
            "$14": to_i64(l.created),
        })
        .map_err(storage)?;
    Ok(n == 1)
}

fn audit(
    c: &Connection,
    at: u64,
    actor: &Actor,
    action: &str,
    license_id: &str,
    detail: &str,
) -> Result<(), LedgerError> {
    c.prepare_cached(ops::AUDIT)
        .map_err(storage)?
        .execute(named_params! {
            "$1": to_i64(at),
            "$2": actor.kind(),
            "$3": actor.detail(),
            "$4": action,
            "$5": license_id,
            "$6": detail,
        })
        .map_err(storage)?;
    Ok(())
}

/// A marketplace change handed to the writer (the arguments of
/// [`MarketplaceLedger::marketplace_change`](super::MarketplaceLedger::marketplace_change)).
pub(crate) struct MarketChange {
    pub(crate) license_id: String,
    pub(crate) change: Change,
    pub(crate) status_time_ms: Option<u64>,
    pub(crate) event: MarketplaceEvent,
    pub(crate) sign: SignUpdate,
    pub(crate) now: Timestamp,
}

/// Claims a marketplace nonce (see `market::INSERT_NONCE`), sweeping the expired ones now
/// and then.
fn claim_nonce(c: &Connection, nonce: &str, now: u64, expires: u64) -> Result<bool, LedgerError> {
    let claims = market::CLAIMS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if claims.is_multiple_of(market::SWEEP_EVERY) {
        c.prepare_cached(market::DELETE_OLD_NONCES)
            .map_err(storage)?
            .execute(named_params! {"$1": to_i64(now)})
            .map_err(storage)?;
    }
    let n = c
        .prepare_cached(market::INSERT_NONCE)
        .map_err(storage)?
        .execute(named_params! {"$1": nonce, "$2": to_i64(expires), "$3": to_i64(now)})
        .map_err(storage)?;
    Ok(n == 1)
}

/// One marketplace change: the event recorded once (a second delivery gets the first
/// answer), then the change applied to the license, as `impl_marketplace_ledger!` does.
fn marketplace_change(c: &Connection, m: MarketChange) -> Result<MarketOutcome, LedgerError> {
    let e = &m.event;
    let inserted = c
        .prepare_cached(ops::INSERT_EVENT)
        .map_err(storage)?
        .execute(named_params! {
            "$1": to_i64(e.at),
            "$2": e.license_id,
            "$3": e.activity,
            "$4": e.order_id,
            "$5": e.idempotency_key,
            "$6": e.result_code,
            "$7": e.payload,
        })
        .map_err(storage)?
        == 1;
    if !inserted {
        let code: Option<String> = c
            .prepare_cached(market::EVENT_RESULT)
            .map_err(storage)?
            .query_row(named_params! {"$1": e.idempotency_key}, |r| r.get(0))
            .optional()
            .map_err(storage)?;
        return Ok(MarketOutcome::Duplicate(code.unwrap_or_default()));
    }
    let id = &m.license_id;
    let license =
        read_license(c, id)?.ok_or_else(|| LedgerError::NotFound(format!("license {id}")))?;
    let outcome = if license.status == LicenseStatus::Released {
        MarketOutcome::Applied(None)
    } else {
        let superseded = match m.status_time_ms {
            Some(t) => {
                let last: Option<i64> = c
                    .prepare_cached(market::STATUS_TIME)
                    .map_err(storage)?
                    .query_row(named_params! {"$1": id}, |r| r.get(0))
                    .map_err(storage)?;
                if last.is_some_and(|l| to_u64(l) > t) {
                    true
                } else {
                    c.prepare_cached(market::SET_STATUS_TIME)
                        .map_err(storage)?
                        .execute(named_params! {"$1": to_i64(t), "$2": id})
                        .map_err(storage)?;
                    false
                }
            }
            None => false,
        };
        if superseded {
            MarketOutcome::Superseded
        } else if market::no_op(&license, m.change) {
            MarketOutcome::Applied(None)
        } else {
            MarketOutcome::Applied(Some(apply_change(
                c,
                &license,
                m.change,
                m.sign,
                m.now,
                &Actor::Marketplace,
            )?))
        }
    };
    audit(
        c,
        e.at,
        &Actor::Marketplace,
        &e.activity,
        id,
        &e.result_code,
    )?;
    Ok(outcome)
}

/// Applies `change` to `license` and stores its signed update under the next sequence
/// number (a release also frees every seat), as `impl_ledger!`'s `apply_change` does.
fn apply_change(
    c: &Connection,
    license: &LicenseRecord,
    change: Change,
    sign: SignUpdate,
    now: Timestamp,
    actor: &Actor,
) -> Result<UpdateRecord, LedgerError> {
    let at = to_i64(now.secs());
    let id = &license.license_id;
    let last: i64 = c
        .prepare_cached(ops::MAX_SEQUENCE)
        .map_err(storage)?
        .query_row(named_params! {"$1": id}, |r| r.get(0))
        .map_err(storage)?;
    let sequence = to_u32(last).saturating_add(1);
    let text = sign(sequence)?;
    if let Change::Renew(expires) = change {
        c.prepare_cached(ops::SET_EXPIRES)
            .map_err(storage)?
            .execute(named_params! {"$1": to_i64(expires), "$2": at, "$3": id})
            .map_err(storage)?;
    }
    let (status, detail) = ops::change_effect(change, sequence);
    if let Some(s) = status {
        c.prepare_cached(ops::SET_STATUS)
            .map_err(storage)?
            .execute(named_params! {"$1": s.as_str(), "$2": at, "$3": id})
            .map_err(storage)?;
    }
    if change == Change::Release {
        c.prepare_cached(ops::END_ALL)
            .map_err(storage)?
            .execute(named_params! {"$1": at, "$2": actor.kind(), "$3": id})
            .map_err(storage)?;
    }
    c.prepare_cached(ops::INSERT_UPDATE)
        .map_err(storage)?
        .execute(named_params! {
            "$1": id,
            "$2": i64::from(sequence),
            "$3": change.as_str(),
            "$4": text,
            "$5": at,
        })
        .map_err(storage)?;
    audit(c, now.secs(), actor, change.as_str(), id, &detail)?;
    Ok(UpdateRecord {
        sequence,
        action: change.as_str().to_string(),
        update: text,
        issued: now.secs(),
    })
}
