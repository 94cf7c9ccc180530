//! The ledger in PostgreSQL, for merchants who run several `keyward serve` processes.
//!
//! Each seat decision locks the license row (`SELECT … FOR UPDATE`), then checks the
//! machine, counts and inserts, at READ COMMITTED: concurrent activations of one license
//! queue on the row lock instead of failing and retrying (no SERIALIZABLE retry storms),
//! and activations of different licenses do not wait for each other. A unique partial
//! index on (license, machine) among live activations stands behind the rule. Migrations
//! run under sqlx's advisory lock, so processes starting together migrate once.

use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnection, PgPool, PgPoolOptions};
use sqlx::{Connection, Pool, Postgres, SqlStr, Transaction};

use crate::ledger::ops::impl_ledger;

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "ledger",
        include_str!("../../migrations/postgres/0001_ledger.sql"),
    ),
    (
        2,
        "marketplace",
        include_str!("../../migrations/postgres/0002_marketplace.sql"),
    ),
    (
        3,
        "live seat index",
        include_str!("../../migrations/postgres/0003_live_seat_index.sql"),
    ),
];

/// How long the first connection at start may take.
const FIRST_CONNECT: Duration = Duration::from_secs(10);

/// The PostgreSQL ledger.
pub struct PostgresLedger {
    pool: PgPool,
}

impl PostgresLedger {
    /// Connects and runs the migrations.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, super::LedgerError> {
        // One plain connection first: the pool retries a failed connection until its acquire
        // timeout and then reports only that it timed out, hiding why (refused, wrong
        // password, no such database), after 30 silent seconds.
        let why = match tokio::time::timeout(FIRST_CONNECT, PgConnection::connect(url)).await {
            Ok(Ok(c)) => {
                let _ = c.close().await;
                None
            }
            Ok(Err(e)) => Some(e.to_string()),
            Err(_) => Some(format!(
                "no answer within {} seconds",
                FIRST_CONNECT.as_secs()
            )),
        };
        if let Some(why) = why {
            return Err(super::LedgerError::Config(format!(
                "cannot connect to the PostgreSQL database ({why}): check that PostgreSQL is running and that the URL's host, port, user, password and database name are right"
            )));
        }
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(30))
            .connect(url)
            .await?;
        Migrator::with_migrations(
            MIGRATIONS
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
        .run(&pool)
        .await
        .map_err(super::LedgerError::Migrate)?;
        Ok(PostgresLedger { pool })
    }

    async fn begin(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.pool.begin().await
    }

    fn reader(&self) -> &Pool<Postgres> {
        &self.pool
    }

    /// The pool, for a write that is one statement (atomic on its own).
    fn writer(&self) -> &Pool<Postgres> {
        &self.pool
    }

    /// PostgreSQL activations run in the shared code, the license row locked.
    fn writer_thread(&self) -> Option<&crate::ledger::sqlite_writer::SqliteWriter> {
        None
    }

    async fn close_pools(&self) {
        self.pool.close().await;
    }
}

impl_ledger!(PostgresLedger, Postgres, "postgres", " FOR UPDATE");
crate::ledger::market::impl_marketplace_ledger!(PostgresLedger, Postgres);
