//! The ledger in SQLite: one file, WAL journal, one write lock, readers in parallel.
//!
//! Activations run on a thread of their own with its own connection, committed in groups
//! (`sqlite_writer.rs`); the other writes go through a pool of exactly one connection. Both
//! start their transactions with `BEGIN IMMEDIATE`, so every writing transaction holds
//! SQLite's write lock from its first statement and seat decisions are serialised: the two
//! writers (and a second process on the same file) wait for each other on the busy timeout
//! rather than failing. Readers use their own connections and see the last committed state
//! (WAL snapshots).
//!
//! Durability: see [`SqliteSync`].

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Pool, SqlStr, Sqlite, Transaction};

use crate::ledger::ops::impl_ledger;
use crate::ledger::sqlite_writer::SqliteWriter;

/// How SQLite makes a commit durable before the answer is sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SqliteSync {
    /// `synchronous=NORMAL` with the WAL journal (the default). A commit is written to
    /// the WAL file (in the operating system's cache) before it returns, so it survives
    /// the server being killed (`kill -9`, a crash); the WAL is flushed to disk at each
    /// checkpoint, so a power failure can lose the last commits (never corrupt the file).
    #[default]
    Normal,
    /// `synchronous=FULL`: every commit is flushed to disk (fsync) before it returns, so it
    /// also survives a power failure; slower (one fsync per activation).
    Full,
}

impl FromStr for SqliteSync {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "normal" => Ok(SqliteSync::Normal),
            "full" => Ok(SqliteSync::Full),
            other => Err(format!(
                "sqlite synchronous setting {other:?} is not known: use normal or full"
            )),
        }
    }
}

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "ledger",
        include_str!("../../migrations/sqlite/0001_ledger.sql"),
    ),
    (
        2,
        "marketplace",
        include_str!("../../migrations/sqlite/0002_marketplace.sql"),
    ),
    (
        3,
        "live seat index",
        include_str!("../../migrations/sqlite/0003_live_seat_index.sql"),
    ),
];

fn migrator(migrations: &[(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        migrations
            .iter()
            .map(|(v, d, sql)| {
                Migration::new(
                    *v,
                    (*d).into(),
                    MigrationType::Simple,
                    SqlStr::from_static(sql),
                    false,
                )
            })
            .collect(),
    )
}

/// The SQLite ledger.
pub struct SqliteLedger {
    write: SqlitePool,
    read: SqlitePool,
    activations: SqliteWriter,
    path: PathBuf,
}

impl SqliteLedger {
    /// Opens (creating if missing) the database file and runs the migrations.
    pub async fn open(path: &Path, sync: SqliteSync) -> Result<Self, super::LedgerError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(match sync {
                SqliteSync::Normal => SqliteSynchronous::Normal,
                SqliteSync::Full => SqliteSynchronous::Full,
            })
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(10));
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        migrator(MIGRATIONS)
            .run(&write)
            .await
            .map_err(super::LedgerError::Migrate)?;
        let read = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.read_only(true))
            .await?;
        let activations = SqliteWriter::start(path, sync)?;
        Ok(SqliteLedger {
            write,
            read,
            activations,
            path: path.to_path_buf(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `PRAGMA integrity_check`: `ok` when the file is sound.
    pub async fn integrity_check(&self) -> Result<String, super::LedgerError> {
        Ok(
            sqlx::query_scalar::<Sqlite, String>("PRAGMA integrity_check")
                .fetch_one(&self.read)
                .await?,
        )
    }

    async fn begin(&self) -> Result<Transaction<'static, Sqlite>, sqlx::Error> {
        self.write.begin_with("BEGIN IMMEDIATE").await
    }

    fn reader(&self) -> &Pool<Sqlite> {
        &self.read
    }

    /// The writing connection, for a write that is one statement (atomic on its own).
    fn writer(&self) -> &Pool<Sqlite> {
        &self.write
    }

    fn writer_thread(&self) -> Option<&SqliteWriter> {
        Some(&self.activations)
    }

    async fn close_pools(&self) {
        self.activations.close().await;
        self.write.close().await;
        self.read.close().await;
    }
}

impl_ledger!(SqliteLedger, Sqlite, "sqlite", "");
crate::ledger::market::impl_marketplace_ledger!(SqliteLedger, Sqlite);
