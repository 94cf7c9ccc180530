//! `keyward serve`: the merchant service (crates/keyward-server). Settings come from, in
//! increasing priority: defaults, a TOML file (`--config`), `KEYWARD_*` environment
//! variables, and these flags (see docs/API.md, "Running the service").

use std::path::PathBuf;

use clap::Args;
use keyward_server::{Config, Server, Settings};

use crate::env::Env;
use crate::exit::{CmdResult, Error, Exit};

/// `keyward serve …`
#[derive(Args)]
pub struct ServeArgs {
    /// A TOML configuration file [env: KEYWARD_CONFIG].
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data folder: database, generated key and admin token [default: the OS data
    /// directory + keyward-server].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080]; port 0 picks a free port.
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<String>,
    /// The merchant's private key (PKCS#8 PEM) [default: DATA_DIR/merchant.pem,
    /// generated on first start].
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB [default: sqlite in the
    /// data folder].
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// Activations and deactivations per client address per minute (0: no limit)
    /// [default: 60].
    #[arg(long, value_name = "N")]
    rate_limit: Option<u32>,
    /// Log lines as text or json [default: text].
    #[arg(long, value_name = "FORMAT", value_parser = ["text", "json"])]
    log_format: Option<String>,
}

fn settings(a: ServeArgs) -> Result<Settings, Error> {
    let config_err = |e: keyward_server::ConfigError| Error::new("usage", Exit::Usage, e.0);
    let file = a
        .config
        .or_else(|| std::env::var_os("KEYWARD_CONFIG").map(PathBuf::from));
    let from_file = match file {
        Some(p) => Settings::from_file(&p).map_err(config_err)?,
        None => Settings::default(),
    };
    let from_env = Settings::from_env(|k| std::env::var(k).ok()).map_err(config_err)?;
    let from_flags = Settings {
        data_dir: a.data_dir,
        listen: a.listen,
        key: a.key,
        database: a.database,
        rate_limit_per_minute: a.rate_limit,
        log_format: match a.log_format.as_deref() {
            Some("json") => Some(keyward_server::LogFormat::Json),
            Some(_) => Some(keyward_server::LogFormat::Text),
            None => None,
        },
        ..Settings::default()
    };
    Ok(from_file.overridden_by(from_env).overridden_by(from_flags))
}

/// Runs `keyward serve` until SIGTERM or SIGINT.
pub fn run(_env: &Env, a: ServeArgs) -> CmdResult {
    let config =
        Config::resolve(settings(a)?).map_err(|e| Error::new("usage", Exit::Usage, e.0))?;
    keyward_server::init_logging(config.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::other("internal", format!("cannot start the service: {e}")))?;
    runtime
        .block_on(async {
            let server = Server::start(&config).await?;
            for note in server.notes() {
                errln!("keyward serve: {note}");
            }
            errln!("keyward serve: data folder {}", config.data_dir.display());
            errln!("keyward serve: merchant key {}", config.key.display());
            errln!(
                "keyward serve: admin token in {}",
                config.admin_token_file.display()
            );
            errln!("keyward serve: database {}", redact_url(&config.database));
            errln!("keyward serve: listening on http://{}", server.local_addr());
            server.run(keyward_server::shutdown_signal()).await
        })
        .map_err(|e| Error::other("io", format!("keyward serve: {e}")))?;
    Ok(Exit::Ok)
}

/// A database URL without its password, for printing.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let userinfo = &url[s + 3..at];
            match userinfo.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &userinfo[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn passwords_are_not_printed() {
        assert_eq!(
            redact_url("postgres://kw:secret@127.0.0.1:5432/kw"),
            "postgres://kw:***@127.0.0.1:5432/kw"
        );
        assert_eq!(redact_url("sqlite:///tmp/a.db"), "sqlite:///tmp/a.db");
        assert_eq!(redact_url("postgres://kw@h/db"), "postgres://kw@h/db");
    }
}
