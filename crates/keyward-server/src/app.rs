//! What every handler shares: the service's state (ledger, key, limits, clock, the
//! marketplace's configuration), built once at start. Apart from the handlers' modules
//! (`api`, `marketplace`), which both take it, so that neither depends on the other for it.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use keyward_core::{MerchantKey, Timestamp, TrustedKeys};
use sha2::{Digest, Sha512};

use crate::config::Marketplace;
use crate::ledger::Ledger;
use crate::metrics::Metrics;

/// What every handler shares.
pub struct AppState {
    /// The seat ledger.
    pub ledger: Arc<dyn Ledger>,
    /// The merchant's signing key.
    pub key: Arc<MerchantKey>,
    /// The keys whose authorization codes are accepted.
    pub trusted: TrustedKeys,
    /// SHA-512 of the admin token (compared in constant time).
    pub admin_token_hash: [u8; 64],
    /// Metrics.
    pub metrics: Metrics,
    /// Per-client limit on activations and deactivations (`None`: off).
    pub limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
    /// The clock (a fixed time in tests).
    pub clock: Clock,
    /// Longest a request may take.
    pub request_timeout: Duration,
    /// The marketplace's production interface, when configured.
    pub marketplace: Option<Arc<Marketplace>>,
}

/// Where the service reads the time.
#[derive(Clone, Copy, Debug)]
pub enum Clock {
    /// The system clock.
    System,
    /// A fixed time (tests).
    Fixed(Timestamp),
}

impl Clock {
    /// Now.
    pub fn now(self) -> Timestamp {
        match self {
            Clock::System => Timestamp(
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs()),
            ),
            Clock::Fixed(t) => t,
        }
    }
}

/// A per-minute limit per client address; `None` when `per_minute` is 0.
pub fn limiter(per_minute: u32) -> Option<DefaultKeyedRateLimiter<IpAddr>> {
    NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

/// The state as handlers hold it.
pub(crate) type Shared = Arc<AppState>;

/// SHA-512 of the admin token, as the state keeps it.
pub(crate) fn token_hash(token: &str) -> [u8; 64] {
    Sha512::digest(token.as_bytes()).into()
}

/// Builds the shared state.
// One call site (Server::start_with), each argument a part of the state: a struct of them
// would only restate `AppState`.
#[allow(clippy::too_many_arguments)]
pub fn state(
    ledger: Arc<dyn Ledger>,
    key: MerchantKey,
    trusted: TrustedKeys,
    admin_token: &str,
    rate_limit_per_minute: u32,
    clock: Clock,
    request_timeout: Duration,
    marketplace: Option<Arc<Marketplace>>,
) -> Shared {
    Arc::new(AppState {
        ledger,
        key: Arc::new(key),
        trusted,
        admin_token_hash: token_hash(admin_token),
        metrics: Metrics::new(),
        limiter: limiter(rate_limit_per_minute),
        clock,
        request_timeout,
        marketplace,
    })
}
