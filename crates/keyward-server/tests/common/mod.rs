//! Test support: a ledger of each kind. SQLite always; PostgreSQL when
//! `KEYWARD_TEST_POSTGRES` holds a server URL (`cargo xtask test` starts one and sets it,
//! with `KEYWARD_REQUIRE_POSTGRES=1`, under which a missing URL fails the test).
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};

use keyward_server::ledger::{self, Ledger, SqliteSync};
use sqlx::Connection;

/// A ledger under test and what keeps it alive.
pub struct TestLedger {
    /// `sqlite` or `postgres`.
    pub name: &'static str,
    /// The ledger.
    pub ledger: Box<dyn Ledger>,
    /// The database URL (to open it again).
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// The PostgreSQL server URL, or `None` (then the case is skipped, and says so) unless
/// `KEYWARD_REQUIRE_POSTGRES=1`, which makes a missing URL a failure.
pub fn postgres_url(test: &str) -> Option<String> {
    match std::env::var("KEYWARD_TEST_POSTGRES") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            if std::env::var("KEYWARD_REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("KEYWARD_REQUIRE_POSTGRES=1 but KEYWARD_TEST_POSTGRES is not set: run the tests with `cargo xtask test`, which starts a PostgreSQL");
            }
            eprintln!("{test}: PostgreSQL case SKIPPED (set KEYWARD_TEST_POSTGRES=postgres://… or run `cargo xtask test`)");
            None
        }
    }
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A fresh, empty database on the PostgreSQL server at `server_url`; returns its URL.
pub async fn fresh_postgres_db(server_url: &str) -> String {
    let name = format!(
        "kwtest_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    );
    let mut c = sqlx::PgConnection::connect(server_url).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut c)
        .await
        .unwrap();
    c.close().await.unwrap();
    let (base, _) = server_url.rsplit_once('/').unwrap();
    format!("{base}/{name}")
}

/// SQLite, and PostgreSQL when available: each empty.
pub async fn ledgers(test: &str) -> Vec<TestLedger> {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("ledger.db").display());
    let mut out = vec![TestLedger {
        name: "sqlite",
        ledger: ledger::open(&url, SqliteSync::Normal, 16).await.unwrap(),
        url,
        _dir: Some(dir),
    }];
    if let Some(server) = postgres_url(test) {
        let url = fresh_postgres_db(&server).await;
        out.push(TestLedger {
            name: "postgres",
            ledger: ledger::open(&url, SqliteSync::Normal, 16).await.unwrap(),
            url,
            _dir: None,
        });
    }
    out
}
