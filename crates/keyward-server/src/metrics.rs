//! Prometheus metrics: requests by route and result, activations, seats in use, latency.

use std::sync::Mutex;

use prometheus_client::encoding::{text::encode, EncodeLabelSet};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// Labels of a request.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The route's pattern (`/api/v1/activations`), or `unmatched`.
    pub route: String,
    /// `ok`, or the refusal's code (`no_seat_left`, `typo`, …).
    pub result: String,
}

/// Labels of the latency histogram.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RouteLabels {
    /// The route's pattern.
    pub route: String,
}

/// Labels of activations.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// `new` (a seat taken), `reactivated` (the same machine again), or the refusal code.
    pub outcome: String,
}

/// Labels of a marketplace call.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MarketplaceLabels {
    /// `refreshLicenseCode`, `getLicense`, … (`unauthenticated`, `invalid` before the body is read).
    pub activity: String,
    /// The result code answered.
    pub result: String,
}

/// The service's metrics.
pub struct Metrics {
    registry: Registry,
    /// Requests by route and result.
    pub requests: Family<RequestLabels, Counter>,
    /// Latency by route, in seconds.
    pub latency: Family<RouteLabels, Histogram>,
    /// Activations by outcome.
    pub activations: Family<OutcomeLabels, Counter>,
    /// Seats given back (deactivation codes) or revoked.
    pub deactivations: Counter,
    /// Live seats across all licenses (refreshed at each scrape).
    pub seats_in_use: Gauge,
    /// Marketplace calls by activity and result code.
    pub marketplace_calls: Family<MarketplaceLabels, Counter>,
    // Encoding takes the registry by shared reference; the lock keeps scrapes apart.
    scrape: Mutex<()>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("keyward");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route and result",
            requests.clone(),
        );
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 0.25 ms to ~4 s.
            Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request, by route",
            latency.clone(),
        );
        let activations = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "activations",
            "Activation requests by outcome",
            activations.clone(),
        );
        let deactivations = Counter::default();
        registry.register(
            "deactivations",
            "Seats given back or revoked",
            deactivations.clone(),
        );
        let seats_in_use = Gauge::default();
        registry.register(
            "seats_in_use",
            "Live activations across all licenses",
            seats_in_use.clone(),
        );
        let marketplace_calls = Family::<MarketplaceLabels, Counter>::default();
        registry.register(
            "marketplace_calls",
            "Marketplace callbacks and License 1.0 calls by activity and result code",
            marketplace_calls.clone(),
        );
        Metrics {
            registry,
            marketplace_calls,
            requests,
            latency,
            activations,
            deactivations,
            seats_in_use,
            scrape: Mutex::new(()),
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let _guard = self.scrape.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}
