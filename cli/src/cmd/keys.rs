//! `keyward keys generate|public`: the merchant's Ed25519 key pair.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use keyward_core::MerchantKey;
use serde_json::json;

use crate::env::{load_trusted, random_bytes, Env};
use crate::exit::{CliError, CmdResult, Exit};
use crate::output::{emit_json, line, OutFile};
use crate::state::{MODE_PRIVATE, MODE_PUBLIC};
use crate::trust::product_file;

/// `keyward keys …`
#[derive(Subcommand)]
pub enum KeysCommand {
    /// Generate a key pair: FILE (private, PKCS#8 PEM, mode 0600) and FILE.pub (SPKI PEM).
    Generate {
        /// The private key file; the public key goes to FILE.pub.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Overwrite existing files.
        #[arg(long)]
        force: bool,
    },
    /// Write the product file to ship with the software: the product and the merchant's
    /// public keys. Buyer-side commands trust only the keys it lists
    /// (`keyward status --product-file FILE`).
    ProductFile {
        /// The product id (as issued with `keyward issue --product P`).
        #[arg(long, value_name = "P")]
        product: String,
        /// A public key file (or the private key, whose public key is taken); repeat for
        /// rotated keys.
        #[arg(long = "public-key", value_name = "FILE", required = true)]
        public_keys: Vec<PathBuf>,
        /// The product's name, shown to buyers.
        #[arg(long, value_name = "NAME")]
        product_name: Option<String>,
        /// The merchant's name, shown to buyers.
        #[arg(long, value_name = "NAME")]
        merchant_name: Option<String>,
        /// How buyers reach the merchant (an e-mail address, a web page, a phone number).
        #[arg(long, value_name = "CONTACT")]
        support_contact: Option<String>,
        /// The product file to write (by convention PRODUCT.keyward.toml).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Replace the file if it exists.
        #[arg(long)]
        force: bool,
    },
    /// Print the public key (PEM) of a private or public key file; the key id goes to stderr.
    Public {
        /// A private key (PKCS#8 PEM) or public key (SPKI PEM) file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

/// Runs a `keys` subcommand.
pub fn run(env: &Env, cmd: KeysCommand) -> CmdResult {
    match cmd {
        KeysCommand::Generate { out, force } => generate(env, &out, force),
        KeysCommand::Public { file } => public(env, &file),
        KeysCommand::ProductFile {
            product,
            public_keys,
            product_name,
            merchant_name,
            support_contact,
            out,
            force,
        } => {
            let inputs: Vec<&Path> = public_keys.iter().map(PathBuf::as_path).collect();
            let out = OutFile::check(&out, force, &inputs)?;
            let mut keys = Vec::new();
            for p in &public_keys {
                keys.extend_from_slice(load_trusted(p)?.0.keys());
            }
            if product.trim().is_empty() || product.chars().any(char::is_whitespace) {
                return Err(CliError::new(
                    "invalid_input",
                    Exit::Malformed,
                    format!("invalid product {product:?}: give the product id the licenses are issued for (letters, digits, ., _, -)"),
                ));
            }
            let file = product_file(
                &product,
                &keys,
                product_name,
                merchant_name,
                support_contact,
            );
            out.write(file.to_toml().as_bytes(), MODE_PUBLIC)?;
            let ids: Vec<String> = keys.iter().map(|k| k.id().to_string()).collect();
            if env.json {
                emit_json(&json!({
                    "product_file": out.path().display().to_string(),
                    "product": product,
                    "key_ids": ids,
                    "product_name": file.product_name,
                    "merchant_name": file.merchant_name,
                    "support_contact": file.support_contact,
                }))?;
            } else {
                outln!(
                    "Wrote {} for {product} (key{} {}). Ship it with the software: buyer-side commands trust only its keys (keyward status --product-file {}).",
                    out.path().display(),
                    if ids.len() == 1 { "" } else { "s" },
                    ids.join(", "),
                    out.path().display()
                )?;
            }
            Ok(Exit::Ok)
        }
    }
}

/// `FILE.pub` next to `FILE`.
fn pub_path(p: &Path) -> PathBuf {
    let mut s = OsString::from(p.as_os_str());
    s.push(".pub");
    PathBuf::from(s)
}

fn generate(env: &Env, out: &Path, force: bool) -> CmdResult {
    let pub_out = pub_path(out);
    let private_file = OutFile::check(out, force, &[]).map_err(replace_hint)?;
    let public_file = OutFile::check(&pub_out, force, &[]).map_err(replace_hint)?;
    let seed = random_bytes::<32>()?;
    let key = MerchantKey::from_seed(&seed);
    let private_pem = key.to_pem();
    let public_pem = key.public().to_pem();
    if private_pem.is_empty() || public_pem.is_empty() {
        return Err(CliError::other(
            "internal",
            "could not encode the new key as PEM",
        ));
    }
    private_file.write(private_pem.as_bytes(), MODE_PRIVATE)?;
    public_file.write(public_pem.as_bytes(), MODE_PUBLIC)?;
    let id = key.public().id().to_string();
    if env.json {
        emit_json(&json!({
            "key_id": id,
            "private_key": out.display().to_string(),
            "public_key": pub_out.display().to_string(),
            "public_key_pem": public_pem,
        }))?;
    } else {
        outln!("Generated merchant key {id}.")?;
        line(
            "private key",
            &format!(
                "{} (mode 0600) — keep it secret and backed up: whoever has it can issue licenses",
                out.display()
            ),
        )?;
        line(
            "public key",
            &format!(
                "{} — ship it with your software (in a product file: keyward keys product-file) and the activation page (keyward web --public-key)",
                pub_out.display()
            ),
        )?;
    }
    Ok(Exit::Ok)
}

/// Replacing a key pair has a consequence worth saying.
fn replace_hint(mut e: CliError) -> CliError {
    if e.code == "file_exists" {
        e.message.push_str(
            " (licenses signed with the old key then need its public key to keep verifying)",
        );
    }
    e
}

fn public(env: &Env, file: &Path) -> CmdResult {
    let (keys, pem) = load_trusted(file)?;
    let list: Vec<_> = keys
        .keys()
        .iter()
        .map(|k| json!({ "key_id": k.id().to_string(), "public_key_pem": k.to_pem() }))
        .collect();
    if env.json {
        emit_json(&json!({
            "key_id": keys.keys().first().map(|k| k.id().to_string()),
            "public_key_pem": pem,
            "keys": list,
        }))?;
    } else {
        out!("{pem}")?;
        for k in keys.keys() {
            errln!("key id: {}", k.id());
        }
    }
    Ok(Exit::Ok)
}
