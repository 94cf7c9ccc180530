//! `keyward web`: serves the buyer activation page, embedded in this binary (crate
//! keyward-page), on 127.0.0.1, with `GET /config.json` built from the flags. Only the
//! page's own files are served (nothing is read from disk after start), and requests for
//! another `Host` are refused (DNS rebinding). Ctrl-C stops it.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use clap::Args;
use keyward_page::{guard_hosts, router, AllowedHosts, PageConfig};
use serde_json::json;

use crate::env::{load_trusted, Env};
use crate::exit::{CliError, CmdResult, Exit};
use crate::output::print_json;

/// `keyward web …`
#[derive(Args)]
pub struct WebArgs {
    /// The port to listen on, on 127.0.0.1 only (0: any free port, printed at start).
    #[arg(long, value_name = "P", default_value_t = 8080)]
    port: u16,
    /// The merchant's public key(s), published in /config.json: only codes they signed
    /// are valid on the page.
    #[arg(long, value_name = "FILE")]
    public_key: PathBuf,
    /// The merchant's name, shown on the page.
    #[arg(long, value_name = "NAME")]
    merchant_name: Option<String>,
    /// The product's name, shown on the page.
    #[arg(long, value_name = "NAME")]
    product_name: Option<String>,
    /// How buyers reach the merchant (e-mail, telephone, web address), shown on the page.
    #[arg(long, value_name = "CONTACT")]
    support_contact: Option<String>,
    /// Also answer to this host name (repeatable), e.g. behind a reverse proxy. Requests
    /// for any other name are refused.
    #[arg(long = "host-name", value_name = "NAME")]
    host_names: Vec<String>,
}

/// Runs `keyward web` until interrupted.
pub fn run(env: &Env, a: WebArgs) -> CmdResult {
    let (keys, _) = load_trusted(&a.public_key)?;
    let nonempty = |s: Option<String>| s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let config = PageConfig {
        public_keys: keys.keys().iter().map(|k| k.to_pem()).collect(),
        merchant_name: nonempty(a.merchant_name),
        product_name: nonempty(a.product_name),
        support_contact: nonempty(a.support_contact),
        online: false,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .map_err(|e| CliError::other("io", format!("cannot start the server: {e}")))?;
    runtime.block_on(serve(env, config, a.port, &a.host_names))
}

async fn serve(env: &Env, config: PageConfig, port: u16, names: &[String]) -> CmdResult {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, port))
        .await
        .map_err(|e| {
            CliError::other(
                "io",
                format!("cannot listen on 127.0.0.1:{port}: {e}; choose another --port (0 picks a free one)"),
            )
        })?;
    let addr: SocketAddr = listener
        .local_addr()
        .map_err(|e| CliError::other("io", format!("cannot read the listening address: {e}")))?;
    let allowed = names.iter().fold(AllowedHosts::new(addr), |allowed, name| {
        allowed.with_name(name)
    });
    let url = format!("http://{addr}/");
    if !keyward_page::BUILT {
        errln!(
            "warning: this keyward was built without the page (web/pkg/ was missing): it serves a page that says so. Run `cargo xtask build` and use that binary."
        );
    }
    if env.json {
        print_json(&json!({ "url": url, "port": addr.port() }));
    }
    errln!("Serving the activation page at {url} — press Ctrl-C to stop.");
    axum::serve(listener, guard_hosts(router(config), allowed))
        .await
        .map_err(|e| CliError::other("io", format!("the server stopped: {e}")))?;
    Ok(Exit::Ok)
}
