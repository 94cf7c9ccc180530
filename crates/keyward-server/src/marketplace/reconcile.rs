//! Staying in step with the marketplace: a periodic query (daily by default) of every live
//! bridged license, in batches of at most 100; EXPIRED, RELEASED and new expiry times become
//! signed updates. With several service instances on one database, each batch of a run is
//! claimed in the database, so exactly one instance does it.

use keyward_marketplace::openapi::{MarketStatus, MAX_BATCH};

use crate::app::Shared;
use crate::ledger::{BridgedLicense, Change, LedgerError, MarketOutcome, MarketplaceEvent};

/// What one run did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Batches this instance claimed and queried.
    pub batches: u32,
    /// Batches another instance had claimed.
    pub skipped: u32,
    /// Signed updates published.
    pub published: u32,
    /// Batches whose query failed (retried at the next run).
    pub failed: u32,
}

/// The change the marketplace's view asks of a license, if any.
fn change_for(
    l: &BridgedLicense,
    status: &MarketStatus,
    expires: Option<u64>,
    now: u64,
) -> Option<Change> {
    match status {
        MarketStatus::Released => Some(Change::Release),
        MarketStatus::Expired => {
            let at = expires.filter(|e| *e <= now).unwrap_or(now);
            (l.expires.is_none_or(|e| e > now)).then_some(Change::Renew(at))
        }
        MarketStatus::Alive => match expires {
            Some(e) if l.expires != Some(e) => Some(Change::Renew(e)),
            _ => None,
        },
        MarketStatus::Other(_) => None,
    }
}

/// Runs one reconciliation named `run` (e.g. the day) as instance `instance`.
pub async fn run_once(s: &Shared, run: &str, instance: &str) -> Result<RunReport, LedgerError> {
    let mut report = RunReport::default();
    let Some(client) = s.marketplace.as_ref().and_then(|m| m.client.clone()) else {
        return Ok(report);
    };
    let live = s.ledger.bridged_licenses().await?;
    for (i, batch) in live.chunks(MAX_BATCH).enumerate() {
        let now = s.clock.now();
        let index = u32::try_from(i).unwrap_or(u32::MAX);
        if !s
            .ledger
            .claim_batch(run.to_owned(), index, instance.to_owned(), now.secs())
            .await?
        {
            report.skipped += 1;
            continue;
        }
        report.batches += 1;
        let codes: Vec<String> = batch
            .iter()
            .map(|b| b.marketplace_license.clone())
            .collect();
        let infos = match client.query_batch(&codes).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, run, batch = index, "reconciliation: query failed");
                report.failed += 1;
                continue;
            }
        };
        for info in infos {
            let Some(l) = batch
                .iter()
                .find(|b| Some(&b.marketplace_license) == info.license.as_ref())
            else {
                continue;
            };
            let expires = info.expire_time.map(|t| t.secs());
            let Some(change) = change_for(l, &info.status, expires, now.secs()) else {
                continue;
            };
            let Some(id) = keyward_core::LicenseId::parse(&l.license_id) else {
                continue;
            };
            let event = MarketplaceEvent {
                at: now.secs(),
                license_id: Some(l.license_id.clone()),
                activity: "reconcile".into(),
                order_id: info.order_id.clone(),
                idempotency_key: format!("reconcile:{run}:{}:{}", l.license_id, change.as_str()),
                result_code: "000000".into(),
                payload: serde_json::to_string(&info).unwrap_or_default(),
            };
            let sign = super::update_signer(s.key.clone(), id, change, now);
            if let MarketOutcome::Applied(Some(u)) = s
                .ledger
                .marketplace_change(l.license_id.clone(), change, None, event, sign, now)
                .await?
            {
                report.published += 1;
                tracing::info!(license = %l.license_id, action = change.as_str(), sequence = u.sequence, "reconciliation: update published");
            }
        }
    }
    Ok(report)
}

/// Runs [`run_once`] every `interval`, forever (spawned by the server when the open API is
/// configured). A run is named by its interval's index, so instances agree on its name.
pub async fn every(s: Shared, interval: std::time::Duration, instance: String) {
    let secs = interval.as_secs().max(60);
    loop {
        let now = s.clock.now().secs();
        let run = format!("run-{}", now / secs);
        match run_once(&s, &run, &instance).await {
            Ok(r) => tracing::info!(
                run,
                batches = r.batches,
                skipped = r.skipped,
                published = r.published,
                failed = r.failed,
                "reconciliation done"
            ),
            Err(e) => tracing::error!(error = %e, run, "reconciliation failed"),
        }
        let wait = secs - (s.clock.now().secs() % secs);
        tokio::time::sleep(std::time::Duration::from_secs(wait.max(1))).await;
    }
}
