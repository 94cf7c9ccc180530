//! Whom a buyer-side command trusts: only the merchant's public keys, given on the command
//! line (`--public-key FILE`, repeatable) or in the product file the merchant ships with
//! the software (`--product-file FILE`). Nothing in the state directory (which the buyer
//! can write) adds a key.
//!
//! The product file (`PRODUCT.keyward.toml`, made by `keyward keys product-file`):
//!
//! ```toml
//! product = "acme-invoice"
//! product_name = "Acme Invoice"               # optional
//! merchant_name = "Acme Software"             # optional
//! support_contact = "support@acme.example"    # optional
//! public_keys = ['''
//! -----BEGIN PUBLIC KEY-----
//! MCowBQYDK2VwAyEA…
//! -----END PUBLIC KEY-----
//! ''']
//! ```

use std::path::{Path, PathBuf};

use clap::Args;
use keyward_core::{PublicKey, TrustedKeys};
use serde::Deserialize;

use crate::env::load_trusted;
use crate::exit::{CliError, Exit};
use crate::state::read_limited;

/// Most bytes of a product file.
const MAX_PRODUCT_FILE: u64 = 256 * 1024;

/// `--public-key FILE…` and `--product-file FILE`: the merchant's trusted keys.
#[derive(Args, Clone, Debug, Default)]
pub struct TrustArgs {
    /// The merchant's public key file (one or more PUBLIC KEY blocks); repeat for several
    /// files.
    #[arg(long = "public-key", value_name = "FILE")]
    pub public_keys: Vec<PathBuf>,
    /// The product file the merchant ships with the software (product name and public
    /// keys; made with `keyward keys product-file`).
    #[arg(long, value_name = "FILE")]
    pub product_file: Option<PathBuf>,
}

/// The product file's contents.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductFile {
    /// The product id the merchant issues licenses for.
    pub product: String,
    /// The merchant's public keys (PEM), for key rotation several.
    pub public_keys: Vec<String>,
    /// The product's name, shown to buyers (as in the page's `config.json`).
    #[serde(default)]
    pub product_name: Option<String>,
    /// The merchant's name, shown to buyers (as in the page's `config.json`).
    #[serde(default)]
    pub merchant_name: Option<String>,
    /// How buyers reach the merchant (as in the page's `config.json`).
    #[serde(default)]
    pub support_contact: Option<String>,
}

impl ProductFile {
    /// Reads and checks a product file.
    pub fn load(path: &Path) -> Result<ProductFile, CliError> {
        let bad = |why: String| {
            CliError::new(
                "invalid_product_file",
                Exit::Malformed,
                format!(
                    "{} is not a keyward product file: {why}; make one with `keyward keys product-file --product P --public-key FILE --out FILE`",
                    path.display()
                ),
            )
        };
        let bytes = read_limited(path, MAX_PRODUCT_FILE)?;
        let text = String::from_utf8(bytes).map_err(|_| bad("it is not UTF-8 text".into()))?;
        let file: ProductFile =
            toml::from_str(&text).map_err(|e| bad(e.message().trim().to_string()))?;
        if file.product.trim().is_empty() {
            return Err(bad("its product is empty".into()));
        }
        if file.public_keys.is_empty() {
            return Err(bad("it lists no public key (public_keys is empty)".into()));
        }
        file.keys().map_err(|e| bad(e.message))?;
        Ok(file)
    }

    /// The trusted keys it lists.
    pub fn keys(&self) -> Result<TrustedKeys, CliError> {
        let mut keys = TrustedKeys::new();
        for (i, pem) in self.public_keys.iter().enumerate() {
            let k = TrustedKeys::from_pem(pem)
                .map_err(|e| CliError::core(&e, Some(&format!("public key {}", i + 1))))?;
            for k in k.keys() {
                keys.add(*k);
            }
        }
        Ok(keys)
    }

    /// The file's text (TOML; strings escaped by the toml crate, PEM in literal strings).
    pub fn to_toml(&self) -> String {
        let quoted = |s: &str| toml::Value::String(s.to_string()).to_string();
        let mut t = String::from(
            "# A keyward product file: ship it with the software. Buyer-side commands trust\n# only these keys (keyward status --product-file FILE).\n",
        );
        t.push_str(&format!("product = {}\n", quoted(&self.product)));
        for (name, value) in [
            ("product_name", &self.product_name),
            ("merchant_name", &self.merchant_name),
            ("support_contact", &self.support_contact),
        ] {
            if let Some(v) = value {
                t.push_str(&format!("{name} = {}\n", quoted(v)));
            }
        }
        t.push_str("public_keys = [\n");
        for pem in &self.public_keys {
            // PEM is base64 and dashes: it never holds ''' and needs no escaping.
            t.push_str(&format!("'''\n{}''',\n", pem));
        }
        t.push_str("]\n");
        t
    }
}

/// The merchant's trust, resolved.
pub struct Trust {
    /// The trusted keys.
    pub keys: TrustedKeys,
    /// The product, from the product file.
    pub product_file: Option<(PathBuf, ProductFile)>,
}

impl Trust {
    /// The product named by the product file, if any.
    pub fn product(&self) -> Option<&str> {
        self.product_file.as_ref().map(|(_, f)| f.product.as_str())
    }

    /// Refuses a license for another product than the product file's.
    pub fn check_product(&self, product: &str) -> Result<(), CliError> {
        match &self.product_file {
            Some((path, f)) if f.product != product => Err(CliError::new(
                "wrong_product",
                Exit::WrongKind,
                format!(
                    "this license is for product {product}, not {} (the product of {}): use the product file of {product}, or ask the merchant for a license for {}",
                    f.product,
                    path.display(),
                    f.product
                ),
            )),
            _ => Ok(()),
        }
    }

    /// "; for help, contact Acme Software: support@acme.example", from the product file
    /// (empty without a contact).
    pub fn contact(&self) -> String {
        match &self.product_file {
            Some((_, f)) => match (&f.merchant_name, &f.support_contact) {
                (Some(m), Some(c)) => format!("; for help, contact {m}: {c}"),
                (None, Some(c)) => format!("; for help, contact {c}"),
                _ => String::new(),
            },
            None => String::new(),
        }
    }

    /// Where the keys came from, for messages.
    pub fn source(&self, a: &TrustArgs) -> String {
        let mut s: Vec<String> = a
            .public_keys
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        if let Some((p, _)) = &self.product_file {
            s.push(p.display().to_string());
        }
        s.join(", ")
    }

    /// The key ids trusted, for messages (`633e61e4, 1a2b3c4d`).
    pub fn key_ids(&self) -> String {
        self.keys
            .keys()
            .iter()
            .map(|k| k.id().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl TrustArgs {
    /// The files given (inputs a command must never write over).
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.public_keys
            .iter()
            .map(PathBuf::as_path)
            .chain(self.product_file.as_deref())
    }

    /// Whether any key was given.
    pub fn given(&self) -> bool {
        !self.public_keys.is_empty() || self.product_file.is_some()
    }

    /// The keys of every `--public-key` file and of the product file; `None` when none was
    /// given.
    pub fn load_optional(&self) -> Result<Option<Trust>, CliError> {
        if !self.given() {
            return Ok(None);
        }
        let mut keys = TrustedKeys::new();
        for p in &self.public_keys {
            for k in load_trusted(p)?.0.keys() {
                keys.add(*k);
            }
        }
        let product_file = match &self.product_file {
            Some(p) => {
                let f = ProductFile::load(p)?;
                for k in f.keys()?.keys() {
                    keys.add(*k);
                }
                Some((p.clone(), f))
            }
            None => None,
        };
        Ok(Some(Trust { keys, product_file }))
    }

    /// Like [`TrustArgs::load_optional`], for a buyer-side command, which needs the
    /// merchant's keys.
    pub fn load(&self, command: &str) -> Result<Trust, CliError> {
        self.load_optional()?.ok_or_else(|| {
            CliError::new(
                "no_keys",
                Exit::Other,
                format!(
                    "{command} needs the merchant's public key: give --product-file FILE (the product file shipped with the software) or --public-key FILE; licenses are only judged against keys given this way"
                ),
            )
        })
    }
}

/// A product file for `product` with `keys` (for `keyward keys product-file`); the names
/// and the contact are optional.
pub fn product_file(
    product: &str,
    keys: &[PublicKey],
    product_name: Option<String>,
    merchant_name: Option<String>,
    support_contact: Option<String>,
) -> ProductFile {
    ProductFile {
        product: product.to_string(),
        public_keys: keys.iter().map(PublicKey::to_pem).collect(),
        product_name,
        merchant_name,
        support_contact,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyward_core::MerchantKey;

    #[test]
    fn product_file_round_trips_with_awkward_names() {
        let key = MerchantKey::from_seed(&[7; 32]);
        let f = product_file(
            "acme-invoice",
            &[key.public()],
            Some("Acme Invoice".into()),
            Some("Acme \"Soft\" 软件\nLtd".into()),
            Some("'''".into()),
        );
        let text = f.to_toml();
        let back: ProductFile = toml::from_str(&text).unwrap();
        assert_eq!(back.product, "acme-invoice");
        assert_eq!(back.product_name, f.product_name);
        assert_eq!(back.merchant_name, f.merchant_name);
        assert_eq!(back.support_contact, f.support_contact);
        assert_eq!(back.keys().unwrap().keys(), &[key.public()]);
    }
}
