//! Configuration: defaults, then a TOML file, then environment variables, then command-line
//! flags, each layer overriding the one before. [`Settings`] is one layer (every field
//! optional); [`Config`] is the result, and [`Config::prepare`] makes what a first start
//! needs (the data folder, the merchant key, the admin token).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use keyward_core::{MerchantKey, TrustedKeys};
use serde::Deserialize;

pub mod marketplace;

pub use crate::error::ConfigError;
use crate::ledger::SqliteSync;
pub use marketplace::Marketplace;

/// Log line format.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// One layer of settings (the TOML file, the environment, or the flags). Field names are
/// the TOML keys; the environment variable of each is `KEYWARD_` + its name in capitals.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Where the database, the generated key and the admin token live.
    pub data_dir: Option<PathBuf>,
    /// `ADDR:PORT` to listen on (port 0: any free port, printed at start).
    pub listen: Option<String>,
    /// The merchant's private key (PKCS#8 PEM). Default: `<data_dir>/merchant.pem`,
    /// generated on first start.
    pub key: Option<PathBuf>,
    /// More trusted public keys (PEM files): codes signed by a previous key during a
    /// rotation are still accepted.
    pub public_keys: Option<Vec<PathBuf>>,
    /// `sqlite://PATH` or `postgres://…`. Default: `sqlite://<data_dir>/keyward.db`.
    pub database: Option<String>,
    /// The file holding the admin API's bearer token. Default: `<data_dir>/admin-token`,
    /// generated on first start.
    pub admin_token_file: Option<PathBuf>,
    /// `text` or `json`.
    pub log_format: Option<LogFormat>,
    /// SQLite durability: `normal` (kill -9 safe; default) or `full` (power-loss safe).
    pub sqlite_synchronous: Option<SqliteSync>,
    /// Largest request body accepted, in bytes (default 65536).
    pub body_limit: Option<usize>,
    /// Longest a request may take, in seconds (default 10).
    pub request_timeout_secs: Option<u64>,
    /// Activations plus deactivations one client address may make per minute (default 60;
    /// 0 turns the limit off).
    pub rate_limit_per_minute: Option<u32>,
    /// Largest number of database connections (PostgreSQL; default 16).
    pub max_connections: Option<u32>,
    /// The merchant's name, shown on the buyer page.
    pub merchant_name: Option<String>,
    /// The product's name, shown on the buyer page.
    pub product_name: Option<String>,
    /// Where buyers get help (an e-mail address or URL), shown on the buyer page.
    pub support: Option<String>,
    /// The marketplace's production interface (`[marketplace]`; the file only).
    pub marketplace: Option<marketplace::MarketplaceSettings>,
    /// The names buyers reach the service by (besides its listening address), for the
    /// buyer page's Host check (DNS rebinding protection).
    pub host_names: Option<Vec<String>>,
}

macro_rules! overlay {
    ($low:expr, $high:expr, $($f:ident),*) => {
        Settings { $($f: $high.$f.or($low.$f)),* }
    };
}

impl Settings {
    /// `self` overridden by every field `higher` sets.
    pub fn overridden_by(self, higher: Settings) -> Settings {
        overlay!(
            self,
            higher,
            data_dir,
            listen,
            key,
            public_keys,
            database,
            admin_token_file,
            log_format,
            sqlite_synchronous,
            body_limit,
            request_timeout_secs,
            rate_limit_per_minute,
            max_connections,
            merchant_name,
            product_name,
            support,
            marketplace,
            host_names
        )
    }

    /// Reads a TOML file.
    pub fn from_file(path: &Path) -> Result<Settings, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ConfigError(format!(
                "cannot read the configuration file {}: {e}",
                path.display()
            ))
        })?;
        toml::from_str(&text).map_err(|e| {
            ConfigError(format!(
                "the configuration file {} is not valid: {}",
                path.display(),
                e.message()
            ))
        })
    }

    /// Reads `KEYWARD_*` variables through `var` (e.g. `|k| std::env::var(k).ok()`).
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Settings, ConfigError> {
        fn parsed<T: std::str::FromStr>(
            var: &impl Fn(&str) -> Option<String>,
            name: &str,
            what: &str,
        ) -> Result<Option<T>, ConfigError> {
            match var(name) {
                None => Ok(None),
                Some(v) => v.trim().parse().map(Some).map_err(|_| {
                    ConfigError(format!("{name}={v:?} is not valid: it must be {what}"))
                }),
            }
        }
        let log_format = match var("KEYWARD_LOG_FORMAT").as_deref() {
            None => None,
            Some("text") => Some(LogFormat::Text),
            Some("json") => Some(LogFormat::Json),
            Some(v) => {
                return Err(ConfigError(format!(
                    "KEYWARD_LOG_FORMAT={v:?} is not valid: use text or json"
                )))
            }
        };
        let sqlite_synchronous = match var("KEYWARD_SQLITE_SYNCHRONOUS") {
            None => None,
            Some(v) => Some(
                v.parse::<SqliteSync>()
                    .map_err(|e| ConfigError(format!("KEYWARD_SQLITE_SYNCHRONOUS: {e}")))?,
            ),
        };
        Ok(Settings {
            data_dir: var("KEYWARD_DATA_DIR").map(PathBuf::from),
            listen: var("KEYWARD_LISTEN"),
            key: var("KEYWARD_KEY").map(PathBuf::from),
            public_keys: var("KEYWARD_PUBLIC_KEYS").map(|v| std::env::split_paths(&v).collect()),
            database: var("KEYWARD_DATABASE"),
            admin_token_file: var("KEYWARD_ADMIN_TOKEN_FILE").map(PathBuf::from),
            log_format,
            sqlite_synchronous,
            body_limit: parsed(&var, "KEYWARD_BODY_LIMIT", "a number of bytes")?,
            request_timeout_secs: parsed(
                &var,
                "KEYWARD_REQUEST_TIMEOUT_SECS",
                "a number of seconds",
            )?,
            rate_limit_per_minute: parsed(
                &var,
                "KEYWARD_RATE_LIMIT_PER_MINUTE",
                "a number (0 turns the limit off)",
            )?,
            max_connections: parsed(&var, "KEYWARD_MAX_CONNECTIONS", "a number")?,
            merchant_name: var("KEYWARD_MERCHANT_NAME"),
            product_name: var("KEYWARD_PRODUCT_NAME"),
            support: var("KEYWARD_SUPPORT"),
            marketplace: None,
            host_names: var("KEYWARD_HOST_NAMES").map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .map(str::to_string)
                    .collect()
            }),
        })
    }
}

/// The resolved configuration.
#[derive(Clone, Debug)]
pub struct Config {
    /// Data folder.
    pub data_dir: PathBuf,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// The merchant's private key file, and whether it was configured (else it is the
    /// default one, generated on first start).
    pub key: PathBuf,
    /// Was the key file configured (then it must exist)?
    pub key_configured: bool,
    /// More trusted public keys.
    pub public_keys: Vec<PathBuf>,
    /// Database URL.
    pub database: String,
    /// The admin token's file.
    pub admin_token_file: PathBuf,
    /// Log format.
    pub log_format: LogFormat,
    /// SQLite durability.
    pub sqlite_synchronous: SqliteSync,
    /// Largest request body.
    pub body_limit: usize,
    /// Longest request.
    pub request_timeout: Duration,
    /// Activations and deactivations per client address per minute (0: no limit).
    pub rate_limit_per_minute: u32,
    /// Database connections (PostgreSQL).
    pub max_connections: u32,
    /// Shown on the buyer page.
    pub merchant_name: Option<String>,
    /// Shown on the buyer page.
    pub product_name: Option<String>,
    /// Shown on the buyer page.
    pub support: Option<String>,
    /// The marketplace's production interface, when `[marketplace]` is configured.
    pub marketplace: Option<marketplace::Marketplace>,
    /// Names the buyer page answers to besides the listening address.
    pub host_names: Vec<String>,
}

/// The default data folder: the OS data directory + `keyward-server`.
pub fn default_data_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("keyward-server"))
}

impl Config {
    /// Resolves the layered settings, filling in defaults.
    pub fn resolve(s: Settings) -> Result<Config, ConfigError> {
        let data_dir = match s.data_dir.or_else(default_data_dir) {
            Some(d) => d,
            None => {
                return Err(ConfigError(
                    "this system has no data directory: give --data-dir DIR".into(),
                ))
            }
        };
        let listen_text = s.listen.unwrap_or_else(|| "127.0.0.1:8080".into());
        let listen: SocketAddr = listen_text.trim().parse().map_err(|_| {
            ConfigError(format!(
                "listen address {listen_text:?} is not valid: use ADDR:PORT, e.g. 127.0.0.1:8080 (port 0 picks a free port)"
            ))
        })?;
        let key_configured = s.key.is_some();
        let key = s.key.unwrap_or_else(|| data_dir.join("merchant.pem"));
        let database = s
            .database
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("keyward.db").display()));
        let body_limit = s.body_limit.unwrap_or(64 * 1024);
        if body_limit < 1024 {
            return Err(ConfigError(format!(
                "body_limit {body_limit} is too small: requests need at least 1024 bytes"
            )));
        }
        let timeout = s.request_timeout_secs.unwrap_or(10);
        if timeout == 0 {
            return Err(ConfigError(
                "request_timeout_secs must be at least 1".into(),
            ));
        }
        Ok(Config {
            listen,
            key,
            key_configured,
            public_keys: s.public_keys.unwrap_or_default(),
            database,
            admin_token_file: s
                .admin_token_file
                .unwrap_or_else(|| data_dir.join("admin-token")),
            log_format: s.log_format.unwrap_or_default(),
            sqlite_synchronous: s.sqlite_synchronous.unwrap_or_default(),
            body_limit,
            request_timeout: Duration::from_secs(timeout),
            rate_limit_per_minute: s.rate_limit_per_minute.unwrap_or(60),
            max_connections: s.max_connections.unwrap_or(16).max(1),
            merchant_name: s.merchant_name,
            product_name: s.product_name,
            support: s.support,
            marketplace: s
                .marketplace
                .map(marketplace::Marketplace::resolve)
                .transpose()?,
            host_names: s.host_names.unwrap_or_default(),
            data_dir,
        })
    }

    /// Makes what a first start needs and loads the secrets: the data folder (mode 0700),
    /// the merchant key (generated, mode 0600, when none is configured and the default file
    /// does not exist), the admin token (generated, mode 0600, likewise).
    pub fn prepare(&self) -> Result<Secrets, ConfigError> {
        keyward_files::create_private_dir(&self.data_dir).map_err(|e| {
            ConfigError(format!(
                "cannot create the data folder {}: {e}",
                self.data_dir.display()
            ))
        })?;
        let mut notes = Vec::new();
        let key = if self.key.exists() || self.key_configured {
            load_key(&self.key)?
        } else {
            let key = MerchantKey::from_seed(&random::<32>()?);
            keyward_files::write_new(&self.key, key.to_pem().as_bytes(), 0o600)
                .map_err(|e| write_error(&self.key, e))?;
            let public = PathBuf::from(format!("{}.pub", self.key.display()));
            keyward_files::write_atomic(&public, key.public().to_pem().as_bytes(), 0o644)
                .map_err(|e| write_error(&public, e))?;
            notes.push(format!(
                "generated the merchant key {} (mode 0600; public key {}); back it up",
                self.key.display(),
                public.display()
            ));
            key
        };
        let mut trusted = TrustedKeys::from_keys([key.public()]);
        for p in &self.public_keys {
            let text = std::fs::read_to_string(p).map_err(|e| {
                ConfigError(format!("cannot read the public key {}: {e}", p.display()))
            })?;
            let more = TrustedKeys::from_pem(&text)
                .map_err(|e| ConfigError(format!("{}: {e}", p.display())))?;
            for k in more.keys() {
                trusted.add(*k);
            }
        }
        let admin_token = if self.admin_token_file.exists() {
            let t = std::fs::read_to_string(&self.admin_token_file).map_err(|e| {
                ConfigError(format!(
                    "cannot read the admin token {}: {e}",
                    self.admin_token_file.display()
                ))
            })?;
            let t = t.trim().to_string();
            if t.len() < 16 {
                return Err(ConfigError(format!(
                    "the admin token in {} is shorter than 16 characters: delete the file to have a new one generated",
                    self.admin_token_file.display()
                )));
            }
            t
        } else {
            let t = keyward_core::raw::hex(&random::<32>()?);
            keyward_files::write_new(&self.admin_token_file, format!("{t}\n").as_bytes(), 0o600)
                .map_err(|e| write_error(&self.admin_token_file, e))?;
            notes.push(format!(
                "generated the admin token {} (mode 0600)",
                self.admin_token_file.display()
            ));
            t
        };
        Ok(Secrets {
            key,
            trusted,
            admin_token,
            notes,
        })
    }
}

/// What [`Config::prepare`] loads.
pub struct Secrets {
    /// The merchant's signing key.
    pub key: MerchantKey,
    /// The keys whose codes are accepted (the signing key's first).
    pub trusted: TrustedKeys,
    /// The admin API's bearer token.
    pub admin_token: String,
    /// What was generated, to tell the operator.
    pub notes: Vec<String>,
}

fn load_key(path: &Path) -> Result<MerchantKey, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        ConfigError(format!(
            "cannot read the merchant key {}: {e} (leave --key out to have one generated in the data folder)",
            path.display()
        ))
    })?;
    MerchantKey::from_pem(&text).map_err(|e| {
        ConfigError(format!(
            "{} is not a merchant private key: {e}",
            path.display()
        ))
    })
}

fn write_error(path: &Path, e: std::io::Error) -> ConfigError {
    ConfigError(format!("cannot write {}: {e}", path.display()))
}

fn random<const N: usize>() -> Result<[u8; N], ConfigError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| {
        ConfigError(format!(
            "the operating system's random number generator failed: {e}"
        ))
    })?;
    Ok(b)
}
