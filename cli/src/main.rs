//! `keyward`: offline licensing from the command line, for merchants (keys, issuing codes,
//! signing activation certificates and updates) and buyers (system identification codes,
//! activation requests, installing certificates, status). See `docs/CLI.md`.
#![forbid(unsafe_code)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

#[macro_use]
mod macros;

mod cmd;
mod env;
mod exit;
mod kinds;
mod output;
mod state;
mod trust;
mod usage;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use keyward_core::Timestamp;

use crate::env::{parse_time, Env};

/// Offline software licensing: keys, authorization codes, activation, status.
#[derive(Parser)]
#[command(name = "keyward", version, about, long_about = None)]
struct Cli {
    /// Where this machine's licenses are kept [default: the OS data directory + keyward].
    #[arg(long, global = true, value_name = "DIR")]
    state_dir: Option<PathBuf>,
    /// Read this machine's facts from a JSON file instead of collecting them.
    #[arg(long, global = true, value_name = "FILE")]
    facts: Option<PathBuf>,
    /// Use this time instead of the system clock (for tests; RFC 3339 or YYYY-MM-DD).
    #[arg(long, global = true, value_name = "TIME", value_parser = parse_time)]
    now: Option<Timestamp>,
    /// Machine-readable output: one JSON object on stdout (errors too).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

// Parsed once per run: the size of the biggest variant (over clippy's limit on Windows,
// where paths are larger) costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Merchant keys: generate a key pair, show a public key.
    #[command(subcommand)]
    Keys(cmd::keys::KeysCommand),
    /// Issue an authorization code (or a batch of them).
    Issue(cmd::issue::IssueArgs),
    /// Explain any keyward code, certificate, request, update or hardware id.
    Inspect(cmd::inspect::InspectArgs),
    /// Show this machine's system identification code.
    SystemId(cmd::machine::SystemIdArgs),
    /// Check a hardware identification code and print its normal form.
    HardwareId(cmd::machine::HardwareIdArgs),
    /// Make an activation request for this machine (buyer).
    Request(cmd::activation::RequestArgs),
    /// Sign an activation certificate for a request (merchant).
    Activate(cmd::activation::ActivateArgs),
    /// Install an activation certificate or authorization code on this machine (buyer).
    Install(cmd::activation::InstallArgs),
    /// Sign an update: renew, freeze, unfreeze or release a license (merchant).
    Update(cmd::update::UpdateArgs),
    /// Apply a signed update to the installed license (buyer).
    Apply(cmd::update::ApplyArgs),
    /// Is this machine licensed? Exits 0 only when a license is active (or in grace).
    Status(cmd::status::StatusArgs),
    /// Serve the buyer activation page on 127.0.0.1.
    Web(cmd::web::WebArgs),
    /// Run the merchant service: seat ledger, online activation, updates, admin API.
    Serve(cmd::serve::ServeArgs),
    /// Manage a running merchant service: issue, list, show, renew, freeze, revoke, export.
    Admin(cmd::admin::AdminArgs),
}

fn run(cli: Cli) -> exit::CmdResult {
    let env = Env::new(cli.json, cli.state_dir, cli.facts, cli.now);
    match cli.command {
        Command::Keys(c) => cmd::keys::run(&env, c),
        Command::Issue(a) => cmd::issue::run(&env, a),
        Command::Inspect(a) => cmd::inspect::run(&env, a),
        Command::SystemId(a) => cmd::machine::system_id(&env, a),
        Command::HardwareId(a) => cmd::machine::hardware_id(&env, a),
        Command::Request(a) => cmd::activation::request(&env, a),
        Command::Activate(a) => cmd::activation::activate(&env, a),
        Command::Install(a) => cmd::activation::install(&env, a),
        Command::Update(a) => cmd::update::update(&env, a),
        Command::Apply(a) => cmd::update::apply(&env, a),
        Command::Status(a) => cmd::status::run(&env, a),
        Command::Web(a) => cmd::web::run(&env, a),
        Command::Serve(a) => cmd::serve::run(&env, a),
        Command::Admin(a) => cmd::admin::run(&env, a),
    }
}

fn main() -> ExitCode {
    let cli = match usage::parse::<Cli>() {
        Ok(c) => c,
        Err(code) => return code,
    };
    let json = cli.json;
    match run(cli) {
        Ok(code) => ExitCode::from(code.code()),
        Err(e) => {
            output::report_error(&e, json);
            ExitCode::from(e.exit.code())
        }
    }
}
