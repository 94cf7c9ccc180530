//! # keyward-page
//!
//! The buyer activation page (`web/`), embedded in the binary at build time, and an axum
//! router that serves it: only the page's own files (a fixed list; nothing is read from
//! disk at run time) and `GET /config.json`, built from a [`PageConfig`].
//!
//! ```no_run
//! # async fn serve() -> std::io::Result<()> {
//! use keyward_page::{guard_hosts, router, AllowedHosts, PageConfig};
//!
//! let config = PageConfig {
//!     public_keys: vec!["-----BEGIN PUBLIC KEY-----\n…\n-----END PUBLIC KEY-----\n".into()],
//!     merchant_name: Some("Acme Software".into()),
//!     product_name: Some("Acme Invoice".into()),
//!     support_contact: Some("support@acme.example".into()),
//!     online: false,
//! };
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let allowed = AllowedHosts::new(listener.local_addr()?);
//! axum::serve(listener, guard_hosts(router(config), allowed)).await
//! # }
//! ```
//!
//! The page is built into `web/pkg/` by `cargo xtask build`, before the crates that embed
//! it. A build without it embeds a one-page stand-in that says so ([`BUILT`] is false).
//!
//! Browsers are protected from DNS rebinding by [`guard_hosts`]: a request whose `Host` is
//! not this server's address (or a name the merchant configured) is refused, so a web page
//! on another name that resolves to 127.0.0.1 cannot read what is served here.
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod host;

use axum::body::Body;
use axum::http::{header, HeaderValue, Response, StatusCode};
use axum::routing::get;
use axum::Router;
use serde::{Deserialize, Serialize};

pub use host::{guard_hosts, AllowedHosts};

include!(concat!(env!("OUT_DIR"), "/files.rs"));

/// What the page learns from the merchant: `GET /config.json` is this, as JSON, with these
/// field names.
///
/// ```json
/// {"public_keys": ["-----BEGIN PUBLIC KEY-----\n…"], "merchant_name": "Acme Software",
///  "product_name": "Acme Invoice", "support_contact": "support@acme.example", "online": false}
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageConfig {
    /// The merchant's public keys (SPKI PEM, as `keyward keys generate` writes them):
    /// only codes signed by one of them are valid on the page. Several for key rotation.
    pub public_keys: Vec<String>,
    /// The merchant's name, shown at the top of the page.
    #[serde(default)]
    pub merchant_name: Option<String>,
    /// The product's name, shown at the top of the page.
    #[serde(default)]
    pub product_name: Option<String>,
    /// How a buyer reaches the merchant (an e-mail address, a telephone number, a web
    /// address…), shown on the page and in messages that say "contact the merchant".
    #[serde(default)]
    pub support_contact: Option<String>,
    /// Whether activation is online: the page is served by the merchant service
    /// (`keyward serve`), which answers `POST /api/v1/activations` on the same origin.
    /// When false, the page makes an activation request for the buyer to send.
    #[serde(default)]
    pub online: bool,
}

/// The Content-Security-Policy of every response (the page also carries it in a `<meta>`;
/// `frame-ancestors` only works as a header): the page's own origin only, wasm allowed.
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; \
img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; \
form-action 'none'; frame-ancestors 'none'";

/// The router of the page: `GET` (and `HEAD`) of `/`, of the page's files and of
/// `/config.json`; every other path is a 404 and every other method a 405. It has no
/// fallback of its own, so it can be merged into a bigger router (`keyward serve`).
pub fn router(config: PageConfig) -> Router {
    // Serialising strings and a bool cannot fail; `{}` keeps the page's own error path if
    // it ever did.
    let config_json = serde_json::to_vec(&config).unwrap_or_else(|_| b"{}".to_vec());
    let mut router = Router::new().route(
        "/config.json",
        get(move || {
            let body = config_json.clone();
            async move { respond("application/json", Body::from(body)) }
        }),
    );
    for &(path, content_type, bytes) in FILES {
        let serve = move || async move { respond(content_type, Body::from(bytes)) };
        router = router.route(path, get(serve));
        if path == "/index.html" {
            router = router.route("/", get(serve));
        }
    }
    router
}

/// The paths served besides `/` and `/config.json` (the page's files).
pub fn files() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|&(path, _, _)| path)
}

/// A 200 with the page's headers: never cached without asking (a merchant's new config or
/// page shows at once), never sniffed, never framed, no referrer sent on.
fn respond(content_type: &'static str, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}
