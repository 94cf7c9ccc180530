//! The SQLite ledger's activations, on a thread of their own.
//!
//! An activation is the one write that arrives by the thousand per second. Through sqlx each
//! of its statements is a round trip between the request's task and sqlx's worker thread
//! (two thread wake-ups each, eight statements): measured, the single writer spent most of
//! its time waiting for those hand-offs, not in SQLite. Here one thread owns one rusqlite
//! connection and runs whole activations on it: a request hands its activation over once and
//! is answered once.
//!
//! Activations that arrive while one transaction runs are committed together (group
//! commit): one `BEGIN IMMEDIATE … COMMIT` for up to [`MAX_BATCH`] of them, each inside its
//! own savepoint, so one refused activation (no seat left, frozen) leaves no trace while the
//! others stand. Every answer waits for the commit: nothing is acknowledged before it is in
//! the database (the WAL), so `kill -9` loses no acknowledged activation.
//!
//! The rules are the ledger's own (`ops.rs`, the same statements): the license read in the
//! writing transaction, its live seats counted and this machine's seat looked up, the
//! certificate signed and stored with the seat it takes. The other writes stay on sqlx's
//! writer connection; SQLite's write lock (`BEGIN IMMEDIATE` on both) serialises the two.

use std::path::Path;
use std::sync::mpsc;
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::Duration;

use rusqlite::{named_params, Connection, OptionalExtension, Row};
use tokio::sync::oneshot;

use super::ops::{self, to_i64, to_u32, to_u64};
use super::sqlite::SqliteSync;
use super::{
    Activated, ActivationAttempt, Actor, LedgerError, LicenseRecord, LicenseStatus, Seats,
    SignCertificate,
};

/// Most activations committed in one transaction.
pub(crate) const MAX_BATCH: usize = 64;

/// The writer thread and the way to it.
pub(crate) struct SqliteWriter {
    jobs: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// One activation handed to the writer, and where its answer goes.
struct Job {
    attempt: ActivationAttempt,
    sign: Option<SignCertificate>,
    answer: oneshot::Sender<Result<Activated, LedgerError>>,
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
        let (tx, rx) = mpsc::channel::<Job>();
        let thread = std::thread::Builder::new()
            .name("keyward-ledger-writer".into())
            .spawn(move || run(conn, rx))
            .map_err(|e| LedgerError::Storage(format!("cannot start the writer thread: {e}")))?;
        Ok(SqliteWriter {
            jobs: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Runs one activation on the writer thread; answered once it is committed.
    pub(crate) async fn activate(
        &self,
        attempt: ActivationAttempt,
        sign: SignCertificate,
    ) -> Result<Activated, LedgerError> {
        let (answer, answered) = oneshot::channel();
        let job = Job {
            attempt,
            sign: Some(sign),
            answer,
        };
        let sent = match self.jobs.lock() {
            Ok(jobs) => jobs.as_ref().is_some_and(|tx| tx.send(job).is_ok()),
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

/// The writer thread: batches of activations, each batch one transaction.
fn run(conn: Connection, jobs: mpsc::Receiver<Job>) {
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
                let _ = job.answer.send(Err(LedgerError::Storage(why.clone())));
            }
            continue;
        }
        let mut done = Vec::with_capacity(batch.len());
        for mut job in batch {
            let result = in_savepoint(&conn, |c| {
                let sign = job.sign.take();
                activate(c, &job.attempt, sign)
            });
            done.push((job.answer, result));
        }
        let committed = conn.execute_batch("COMMIT").map_err(storage);
        if committed.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for (answer, result) in done {
            let result = match (&committed, result) {
                (Err(e), Ok(_)) => Err(LedgerError::Storage(format!(
                    "the activation was not committed: {e}"
                ))),
                (_, result) => result,
            };
            let _ = answer.send(result);
        }
    }
}

/// Runs `f` inside a savepoint: kept when it succeeds, undone when it fails.
fn in_savepoint<T>(
    conn: &Connection,
    f: impl FnOnce(&Connection) -> Result<T, LedgerError>,
) -> Result<T, LedgerError> {
    conn.execute_batch("SAVEPOINT activation")
        .map_err(storage)?;
    let result = f(conn);
    let end = match &result {
        Ok(_) => conn.execute_batch("RELEASE activation"),
        Err(_) => conn.execute_batch("ROLLBACK TO activation; RELEASE activation"),
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
    sign: Option<SignCertificate>,
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
    let sign = sign.ok_or_else(|| LedgerError::Storage("activation signed twice".into()))?;
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
