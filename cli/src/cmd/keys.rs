//! `keyward keys generate|public`: the merchant's Ed25519 key pair.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use keyward_core::MerchantKey;
use serde_json::json;

use crate::env::{load_trusted, random_bytes, Env};
use crate::exit::{CliError, CmdResult, Exit};
use crate::output::{emit_json, line};
use crate::state::{write_atomic, write_new, MODE_PRIVATE, MODE_PUBLIC};

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
    if !force {
        for p in [out, pub_out.as_path()] {
            if p.exists() {
                return Err(CliError::other(
                    "file_exists",
                    format!(
                        "{} already exists and was left unchanged: choose another --out, or add --force to overwrite the key pair (licenses signed with the old key then need its public key to keep verifying)",
                        p.display()
                    ),
                ));
            }
        }
    }
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
    if force {
        write_atomic(out, private_pem.as_bytes(), MODE_PRIVATE)?;
        write_atomic(&pub_out, public_pem.as_bytes(), MODE_PUBLIC)?;
    } else {
        write_new(out, private_pem.as_bytes(), MODE_PRIVATE)?;
        write_new(&pub_out, public_pem.as_bytes(), MODE_PUBLIC)?;
    }
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
                "{} — ship it with your software and the activation page (keyward install --public-key, keyward web --public-key)",
                pub_out.display()
            ),
        )?;
    }
    Ok(Exit::Ok)
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
