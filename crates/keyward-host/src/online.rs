//! Online activation and updates through the merchant service (`keyward serve`), behind the
//! `online` feature: the host makes the HTTP calls (keyward-online's blocking client); the
//! plugin still does no I/O and decides everything, as offline: the request is made by it,
//! the certificate and the updates are verified and installed by it.

use keyward_core::{LicenseId, LicenseState};
use keyward_online::{Client, OnlineError};

use crate::{Applied, Error, License, Status};

impl From<OnlineError> for Error {
    fn from(e: OnlineError) -> Error {
        Error::Online {
            code: e.code().to_string(),
            suggestion: e.suggestion().map(String::from),
            message: e.to_string(),
        }
    }
}

impl License {
    /// Activates `code` online: the plugin makes an activation request for this machine (its
    /// system identification code, or `hardware_id`), the merchant service at `server`
    /// answers with a certificate, and the plugin verifies and installs it. Returns the
    /// status it gives. The service's refusals (`no_seat_left`, `expired`, a typo with its
    /// correction, …) come back as [`Error::Online`] with the service's code.
    ///
    /// `code` may also be the marketplace's own `PL…` code: the service bridges it to an
    /// authorization code with the marketplace and answers with the certificate for this
    /// machine (its system identification code for this license's product, or
    /// `hardware_id`), which the plugin verifies and installs as any other. The service
    /// chooses that certificate's nonce, so such a seat is given back by the merchant, not
    /// with a deactivation code.
    pub fn activate_online(
        &self,
        server: &str,
        code: &str,
        hardware_id: Option<&str>,
    ) -> Result<Status, Error> {
        let client = Client::new(server)?;
        let answer = if is_marketplace_code(code) {
            let machine = match hardware_id {
                Some(h) => h.to_string(),
                None => self.system_id()?,
            };
            client.activate_code(code.trim(), &machine)?
        } else {
            let request = self.request_for(code, hardware_id)?;
            client.activate_request(&request)?
        };
        self.install(&answer.certificate)
    }

    /// Fetches the signed updates the merchant published for the licenses installed here
    /// (renewals, freezes, releases) and applies them in order. Returns how many changed
    /// something; an update the plugin refuses stops the run with its error (those before
    /// it stay applied).
    pub fn fetch_updates(&self, server: &str) -> Result<u32, Error> {
        let client = Client::new(server)?;
        // Which licenses, and the last update each has: read from the state file (the
        // plugin verifies whatever is applied; these numbers only choose what to fetch).
        let installed: Vec<(LicenseId, u32)> = self
            .shared
            .files
            .load()
            .and_then(|bytes| LicenseState::from_bytes(&bytes).ok())
            .map(|state| {
                state
                    .entries
                    .iter()
                    .map(|e| (e.credential.license_id(), e.sequence))
                    .collect()
            })
            .unwrap_or_default();
        let mut applied = 0;
        for (license, after) in installed {
            for item in client.updates(license, after)?.updates {
                if self.apply(&item.update)? == Applied::Applied {
                    applied += 1;
                }
            }
        }
        Ok(applied)
    }
}

/// Whether `code` is the marketplace's own `PL…` code, as keyward-core tells it.
fn is_marketplace_code(code: &str) -> bool {
    matches!(
        keyward_core::Artifact::parse(code, None),
        Err(keyward_core::Error::MarketplaceCode)
    )
}
