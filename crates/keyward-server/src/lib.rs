//! # keyward-server
//!
//! The merchant service run by `keyward serve`: the seat ledger (SQLite or PostgreSQL),
//! online activation for buyers, signed updates for machines that are online, an admin API
//! for the merchant, health and Prometheus metrics. The HTTP contract is docs/API.md.
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! use keyward_server::{Config, Server, Settings};
//!
//! let config = Config::resolve(Settings {
//!     data_dir: Some("/var/lib/keyward".into()),
//!     listen: Some("127.0.0.1:0".into()),
//!     ..Settings::default()
//! })?;
//! let server = Server::start(&config).await?;
//! println!("listening on http://{}", server.local_addr());
//! server.run(keyward_server::shutdown_signal()).await?;
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

pub mod api;
pub mod app;
pub mod config;
pub mod error;
pub mod ledger;
pub mod marketplace;
pub mod metrics;

pub use api::Clock;
pub use config::{Config, ConfigError, LogFormat, Secrets, Settings};
pub use error::ApiError;
pub use ledger::{Ledger, LedgerError};

/// Why the service could not start or stopped with an error.
#[derive(Debug)]
pub enum ServeError {
    /// The configuration cannot be used.
    Config(ConfigError),
    /// The database cannot be opened or migrated.
    Ledger(LedgerError),
    /// The address cannot be listened on, or serving failed.
    Io(std::io::Error),
}

impl std::fmt::Display for ServeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ServeError::Config(e) => e.fmt(f),
            ServeError::Ledger(e) => e.fmt(f),
            ServeError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ServeError {}

impl From<ConfigError> for ServeError {
    fn from(e: ConfigError) -> Self {
        ServeError::Config(e)
    }
}
impl From<LedgerError> for ServeError {
    fn from(e: LedgerError) -> Self {
        ServeError::Ledger(e)
    }
}

/// A started service: listening, ready to [`run`](Server::run).
pub struct Server {
    listener: tokio::net::TcpListener,
    local_addr: SocketAddr,
    app: axum::Router,
    ledger: Arc<dyn Ledger>,
    notes: Vec<String>,
}

impl Server {
    /// Prepares the data folder and secrets, opens the ledger (migrating it) and binds the
    /// listening address.
    pub async fn start(config: &Config) -> Result<Server, ServeError> {
        let secrets = config.prepare()?;
        Self::start_with(config, secrets, Clock::System).await
    }

    /// As [`start`](Server::start), with given secrets and clock (tests).
    pub async fn start_with(
        config: &Config,
        secrets: Secrets,
        clock: Clock,
    ) -> Result<Server, ServeError> {
        let ledger: Arc<dyn Ledger> = Arc::from(
            ledger::open(
                &config.database,
                config.sqlite_synchronous,
                config.max_connections,
            )
            .await?,
        );
        let state = api::state(
            ledger.clone(),
            secrets.key,
            secrets.trusted,
            &secrets.admin_token,
            config.rate_limit_per_minute,
            clock,
            config.request_timeout,
            config.marketplace.clone().map(Arc::new),
        );
        if let Some(interval) = config
            .marketplace
            .as_ref()
            .and_then(|m| m.client.as_ref().and(m.reconcile_interval))
        {
            let instance = format!("{}-{}", std::process::id(), clock.now().secs());
            tokio::spawn(marketplace::reconcile::every(
                state.clone(),
                interval,
                instance,
            ));
        }
        if state.limiter.is_some() {
            let s = state.clone();
            // Forget idle clients once a minute, so the limiter's memory stays bounded.
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
                loop {
                    tick.tick().await;
                    if let Some(l) = s.limiter.as_ref() {
                        l.retain_recent();
                        l.shrink_to_fit();
                    }
                }
            });
        }
        let trusted_pems: Vec<String> = state.trusted.keys().iter().map(|k| k.to_pem()).collect();
        let api = api::router(state, config.body_limit);
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| {
                ServeError::Io(std::io::Error::new(
                    e.kind(),
                    format!("cannot listen on {}: {e}", config.listen),
                ))
            })?;
        let local_addr = listener.local_addr().map_err(ServeError::Io)?;
        // The buyer page at `/`, online: it posts to /api/v1 on the same origin. Its
        // routes refuse a foreign Host (DNS rebinding); the API's clients (machines,
        // proxies) may use any name.
        let page = keyward_page::router(keyward_page::PageConfig {
            public_keys: trusted_pems,
            merchant_name: config.merchant_name.clone(),
            product_name: config.product_name.clone(),
            support_contact: config.support.clone(),
            online: true,
        });
        let mut allowed = keyward_page::AllowedHosts::new(local_addr);
        for name in &config.host_names {
            allowed = allowed.with_name(name);
        }
        let app = api.merge(keyward_page::guard_hosts(page, allowed));
        Ok(Server {
            listener,
            local_addr,
            app,
            ledger,
            notes: secrets.notes,
        })
    }

    /// The address actually listened on (the real port when port 0 was asked).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// What was generated on this start (key, token), to tell the operator.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The ledger.
    pub fn ledger(&self) -> Arc<dyn Ledger> {
        self.ledger.clone()
    }

    /// Serves until `shutdown` completes; then stops accepting, lets requests in flight
    /// finish, and closes the database.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        let served = axum::serve(
            self.listener,
            self.app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await;
        self.ledger.close().await;
        served.map_err(ServeError::Io)
    }
}

/// Completes on SIGTERM or SIGINT (Ctrl-C).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Sets up logging to standard error, as text or JSON lines (`RUST_LOG` filters; default
/// `info`). Secrets are never logged: handlers log license ids and outcomes only.
pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
