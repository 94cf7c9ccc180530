//! `[marketplace]`: the marketplace's settings as configured, and as resolved for the
//! service (its paths, keys, open-API client and product mappings). What the calls do is
//! the `marketplace` module's.

use std::time::Duration;

use keyward_marketplace::client::{Client, ClientConfig};
use keyward_marketplace::AccessKey;
use serde::Deserialize;

use crate::error::ConfigError;

/// `[marketplace]` in the configuration file. Every field is optional; an interface works
/// once its keys are set.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MarketplaceSettings {
    /// Where License 2.0 callbacks are POSTed (default `/marketplace/license`).
    pub callback_path: Option<String>,
    /// The key of the "License authorization-code delivery" interface, then the previous
    /// one during a rotation.
    pub callback_keys: Option<Vec<String>>,
    /// Where License 1.0 activities are sent (GET; default `/marketplace/license-v1`).
    pub license_v1_path: Option<String>,
    /// The License 1.0 interface's key, then the previous one during a rotation.
    pub license_v1_keys: Option<Vec<String>>,
    /// How far a License 1.0 `timeStamp` may be from this server's clock (default 300 s).
    pub license_v1_max_skew_secs: Option<u64>,
    /// The open API's base URLs, primary first (`https://…`).
    pub api_hosts: Option<Vec<String>>,
    /// The open API's access key id (AK).
    pub access_key_id: Option<String>,
    /// The open API's secret key (SK).
    pub secret_access_key: Option<String>,
    /// Time for one open-API attempt, in seconds (default 5).
    pub api_timeout_secs: Option<u64>,
    /// Open-API attempts in all (default 3).
    pub api_attempts: Option<u32>,
    /// Hours between reconciliations of bridged licenses (default 24; 0 turns it off).
    pub reconcile_interval_hours: Option<u64>,
    /// What each marketplace product (and SKU) becomes in keyward.
    pub products: Option<Vec<ProductMapping>>,
}

/// One marketplace product (and optionally SKU) and the license keyward issues for it.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ProductMapping {
    /// The marketplace's `productId`.
    pub product_id: String,
    /// The marketplace's `skuCode`; absent: any SKU of the product.
    pub sku_code: Option<String>,
    /// keyward's product.
    pub product: String,
    /// keyward's SKU / edition.
    pub sku: String,
    /// Seats per unit bought (default 1).
    #[serde(default = "one")]
    pub seats: u32,
    /// Features granted.
    #[serde(default)]
    pub features: Vec<String>,
    /// Validity in days when the marketplace gives no expiry (absent: perpetual).
    pub days: Option<u64>,
}

fn one() -> u32 {
    1
}

/// The resolved marketplace configuration and its client.
#[derive(Clone, Debug)]
pub struct Marketplace {
    /// License 2.0 callback path.
    pub callback_path: String,
    /// Its keys (current, previous).
    pub callback_keys: Vec<AccessKey>,
    /// License 1.0 path.
    pub license_v1_path: String,
    /// Its keys (current, previous).
    pub license_v1_keys: Vec<AccessKey>,
    /// License 1.0 `timeStamp` window.
    pub license_v1_max_skew_secs: u64,
    /// The open-API client, when AK/SK and hosts are set.
    pub client: Option<Client>,
    /// Between reconciliations (`None`: off).
    pub reconcile_interval: Option<Duration>,
    /// Product mappings.
    pub products: Vec<ProductMapping>,
}

fn path(p: Option<String>, default: &str, what: &str) -> Result<String, ConfigError> {
    let p = p.unwrap_or_else(|| default.to_owned());
    if !p.starts_with('/') || p.starts_with("/api/") || p == "/" || p.contains(['?', '#', ' ']) {
        return Err(ConfigError(format!(
            "marketplace {what} {p:?} is not usable: give a path such as {default} (not under /api/)"
        )));
    }
    Ok(p)
}

impl Marketplace {
    /// Resolves `[marketplace]`.
    pub fn resolve(s: MarketplaceSettings) -> Result<Marketplace, ConfigError> {
        let keys = |k: Option<Vec<String>>| -> Vec<AccessKey> {
            k.unwrap_or_default()
                .into_iter()
                .filter(|k| !k.trim().is_empty())
                .map(|k| AccessKey::new(k.trim()))
                .collect()
        };
        let callback_path = path(s.callback_path, "/marketplace/license", "callback_path")?;
        let license_v1_path = path(
            s.license_v1_path,
            "/marketplace/license-v1",
            "license_v1_path",
        )?;
        if callback_path == license_v1_path {
            return Err(ConfigError(
                "marketplace callback_path and license_v1_path must differ".into(),
            ));
        }
        let client = match (s.api_hosts, s.access_key_id, s.secret_access_key) {
            (None, None, None) => None,
            (Some(hosts), Some(ak), Some(sk)) => Some(
                Client::new(ClientConfig {
                    hosts,
                    ak,
                    sk: AccessKey::new(sk),
                    timeout: Duration::from_secs(s.api_timeout_secs.unwrap_or(5).max(1)),
                    attempts: s.api_attempts.unwrap_or(3).max(1),
                    backoff: Duration::from_millis(500),
                })
                .map_err(|e| ConfigError(e.to_string()))?,
            ),
            _ => {
                return Err(ConfigError(
                    "marketplace api_hosts, access_key_id and secret_access_key go together: give all three (or none)".into(),
                ))
            }
        };
        let products = s.products.unwrap_or_default();
        for p in &products {
            if p.seats == 0 || p.product.is_empty() || p.sku.is_empty() {
                return Err(ConfigError(format!(
                    "marketplace product {:?}: product and sku must be set and seats at least 1",
                    p.product_id
                )));
            }
        }
        Ok(Marketplace {
            callback_path,
            callback_keys: keys(s.callback_keys),
            license_v1_path,
            license_v1_keys: keys(s.license_v1_keys),
            license_v1_max_skew_secs: s
                .license_v1_max_skew_secs
                .unwrap_or(keyward_marketplace::v1::DEFAULT_MAX_SKEW_SECS),
            client,
            reconcile_interval: match s.reconcile_interval_hours.unwrap_or(24) {
                0 => None,
                h => Some(Duration::from_secs(h.saturating_mul(3600))),
            },
            products,
        })
    }

    /// The mapping for a product (and SKU): an exact SKU match first, then the product's
    /// catch-all.
    pub fn product(&self, product_id: &str, sku_code: Option<&str>) -> Option<&ProductMapping> {
        let of_product = || self.products.iter().filter(|p| p.product_id == product_id);
        of_product()
            .find(|p| sku_code.is_some() && p.sku_code.as_deref() == sku_code)
            .or_else(|| of_product().find(|p| p.sku_code.is_none()))
    }
}
