//! `keyward admin …`: the merchant's side of a running `keyward serve`, through its admin
//! API (docs/API.md): issue licenses, list, show, renew / freeze / unfreeze / release,
//! revoke a machine's activation, export the ledger.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use crate::env::Env;
use crate::exit::{CmdResult, Error, Exit};
use crate::output::{print_json, OutFile};

/// The limit on one exchange with the service (an export of a large ledger takes a while).
const ADMIN_TIMEOUT: Duration = Duration::from_secs(60);

/// `keyward admin …`
#[derive(Args)]
pub struct AdminArgs {
    /// The service's address, e.g. http://127.0.0.1:8080 [env: KEYWARD_SERVER].
    // Global: accepted before or after the operation (`admin issue --server …`).
    #[arg(long, global = true, value_name = "URL")]
    server: Option<String>,
    /// A file holding the admin token (the service's admin-token file) [default: the
    /// KEYWARD_ADMIN_TOKEN environment variable].
    #[arg(long, global = true, value_name = "FILE")]
    token_file: Option<PathBuf>,
    #[command(subcommand)]
    command: AdminCommand,
}

/// The admin operations.
#[derive(Subcommand)]
pub enum AdminCommand {
    /// Issue licenses: prints one authorization code per line.
    Issue(IssueArgs),
    /// List licenses (newest first), with seats in use.
    List {
        /// Only licenses whose id, product, SKU, order, instance or a machine contains this.
        #[arg(long, value_name = "TEXT")]
        search: Option<String>,
        /// Only licenses in this state.
        #[arg(long, value_parser = ["active", "frozen", "released"])]
        status: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Skip this many.
        #[arg(long, default_value_t = 0)]
        offset: u32,
    },
    /// Show one license with its activations, updates and audit log.
    Show {
        /// The license id (16 hex digits).
        license_id: String,
    },
    /// Show the marketplace's calls recorded for one license (callbacks, License 1.0
    /// activities, reconciliations): when, which activity, the order, the answer given.
    Events {
        /// The license id (16 hex digits).
        license_id: String,
    },
    /// Renew: a new expiry, published as a signed update.
    Renew {
        /// The license id.
        license_id: String,
        /// The new expiry (YYYY-MM-DD or RFC 3339).
        #[arg(long, value_name = "DATE")]
        expires: String,
    },
    /// Freeze (suspend), published as a signed update.
    Freeze {
        /// The license id.
        license_id: String,
    },
    /// Lift a freeze, published as a signed update.
    Unfreeze {
        /// The license id.
        license_id: String,
    },
    /// Release: end the license for good and free its seats, published as a signed update.
    Release {
        /// The license id.
        license_id: String,
    },
    /// Free one machine's seat (a lost machine).
    Revoke {
        /// The license id.
        license_id: String,
        /// The machine's system or hardware identification code (as `show` lists it).
        #[arg(long, value_name = "CODE")]
        machine: String,
    },
    /// Export the ledger: licenses with their activations.
    Export {
        /// csv or jsonl.
        #[arg(long, default_value = "jsonl", value_parser = ["csv", "jsonl"])]
        format: String,
        /// Write to this file instead of standard output (never over an existing file
        /// without --force).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Replace the --out file if it exists.
        #[arg(long, requires = "out")]
        force: bool,
    },
}

/// `keyward admin issue …`
#[derive(Args)]
pub struct IssueArgs {
    /// Product id.
    #[arg(long)]
    product: String,
    /// SKU / edition.
    #[arg(long, default_value = "")]
    sku: String,
    /// Seats (machines).
    #[arg(long, default_value_t = 1)]
    seats: u32,
    /// Valid for N days from now.
    #[arg(long, value_name = "N", conflicts_with = "expires")]
    days: Option<u32>,
    /// Valid until (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_name = "DATE")]
    expires: Option<String>,
    /// A feature granted (repeat for several).
    #[arg(long = "feature", value_name = "NAME")]
    features: Vec<String>,
    /// A trial / test license.
    #[arg(long)]
    trial: bool,
    /// Marketplace instance id.
    #[arg(long)]
    instance_id: Option<String>,
    /// Marketplace order id.
    #[arg(long)]
    order_id: Option<String>,
    /// Bind to this system identification code.
    #[arg(long, value_name = "KS1-…", conflicts_with = "bind_hardware_id")]
    bind_system_id: Option<String>,
    /// Bind to this hardware identification code.
    #[arg(long, value_name = "CODE")]
    bind_hardware_id: Option<String>,
    /// How many licenses.
    #[arg(long, default_value_t = 1)]
    count: u32,
}

struct Client {
    base: String,
    token: String,
    agent: ureq::Agent,
}

impl Client {
    fn new(a: &AdminArgs) -> Result<Client, Error> {
        let base = a
            .server
            .clone()
            .or_else(|| std::env::var("KEYWARD_SERVER").ok())
            .ok_or_else(|| {
                Error::new(
                    "usage",
                    Exit::Usage,
                    "give the service's address with --server URL (or KEYWARD_SERVER)",
                )
            })?;
        let token = match &a.token_file {
            Some(p) => std::fs::read_to_string(p)
                .map_err(|e| Error::io("read the admin token", p, &e))?,
            None => std::env::var("KEYWARD_ADMIN_TOKEN").map_err(|_| {
                Error::new(
                    "usage",
                    Exit::Usage,
                    "give the admin token with --token-file FILE (the service's admin-token file) or KEYWARD_ADMIN_TOKEN",
                )
            })?,
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(ADMIN_TIMEOUT))
            .build()
            .into();
        Ok(Client {
            base: base.trim_end_matches('/').to_string(),
            token: token.trim().to_string(),
            agent,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1/admin{path}", self.base)
    }

    fn answer(
        &self,
        r: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<String, Error> {
        let mut r = r.map_err(|e| {
            Error::other(
                "unreachable",
                format!(
                    "cannot reach the service at {}: {}",
                    self.base,
                    keyward_online::transport_failure(e, ADMIN_TIMEOUT)
                ),
            )
        })?;
        let status = r.status();
        let body = r.body_mut().read_to_string().map_err(|e| {
            Error::other(
                "unreachable",
                format!("the service's answer could not be read: {e}"),
            )
        })?;
        if status.is_success() {
            return Ok(body);
        }
        match serde_json::from_str::<Value>(&body) {
            Ok(v) if v.get("code").is_some() => {
                let code = v["code"].as_str().unwrap_or("internal");
                let mut message = v["message"].as_str().unwrap_or("").to_string();
                if let Some(s) = v["suggestion"].as_str() {
                    message.push_str(&format!(" (suggestion: {s})"));
                }
                Err(Error::new(code, Exit::of(code), message))
            }
            _ => Err(Error::other(
                "unreachable",
                format!(
                    "the service answered HTTP {status} without an error body: is {} a keyward service?",
                    self.base
                ),
            )),
        }
    }

    fn get(&self, path: &str) -> Result<String, Error> {
        self.answer(
            self.agent
                .get(&self.url(path))
                .header("Authorization", &format!("Bearer {}", self.token))
                .call(),
        )
    }

    fn post(&self, path: &str, body: &Value) -> Result<Value, Error> {
        let text = self.answer(
            self.agent
                .post(&self.url(path))
                .header("Authorization", &format!("Bearer {}", self.token))
                .send_json(body),
        )?;
        parse(&text)
    }
}

fn parse(text: &str) -> Result<Value, Error> {
    serde_json::from_str(text).map_err(|e| {
        Error::other(
            "unreachable",
            format!("the service's answer is not JSON: {e}"),
        )
    })
}

/// Percent-encodes a query value.
fn query_value(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn hex_id(id: &str) -> Result<String, Error> {
    let id = id.trim();
    if id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(id.to_ascii_lowercase())
    } else {
        Err(Error::new(
            "invalid_input",
            Exit::Malformed,
            format!("{id:?} is not a license id: a license id is 16 hexadecimal digits"),
        ))
    }
}

fn print_update(env: &Env, id: &str, v: &Value) -> Result<(), Error> {
    if env.json {
        print_json(v);
    } else {
        outln!("{}", v["update"].as_str().unwrap_or_default())?;
        errln!(
            "Published update {} ({}) for license {id}: machines fetch it online (keyward apply --server) or apply this text.",
            v["sequence"],
            v["action"].as_str().unwrap_or_default()
        );
    }
    Ok(())
}

/// Runs `keyward admin`.
pub fn run(env: &Env, a: AdminArgs) -> CmdResult {
    let c = Client::new(&a)?;
    match a.command {
        AdminCommand::Issue(i) => {
            let v = c.post(
                "/licenses",
                &json!({
                    "product": i.product, "sku": i.sku, "seats": i.seats, "days": i.days,
                    "expires": i.expires, "features": i.features, "trial": i.trial,
                    "instance_id": i.instance_id, "order_id": i.order_id,
                    "bind_system_id": i.bind_system_id, "bind_hardware_id": i.bind_hardware_id,
                    "count": i.count,
                }),
            )?;
            if env.json {
                print_json(&v);
            } else {
                let list = v["licenses"].as_array().cloned().unwrap_or_default();
                for l in &list {
                    outln!("{}", l["code"].as_str().unwrap_or_default())?;
                }
                errln!(
                    "Issued {} license(s), recorded in the service's ledger.",
                    list.len()
                );
            }
        }
        AdminCommand::List {
            search,
            status,
            limit,
            offset,
        } => {
            let mut path = format!("/licenses?limit={limit}&offset={offset}");
            if let Some(q) = search {
                path.push_str(&format!("&q={}", query_value(&q)));
            }
            if let Some(s) = status {
                path.push_str(&format!("&status={s}"));
            }
            let v = parse(&c.get(&path)?)?;
            if env.json {
                print_json(&v);
            } else {
                for l in v["licenses"].as_array().cloned().unwrap_or_default() {
                    outln!(
                        "{}  {:<8}  {}/{} seats  {} {}",
                        l["license_id"].as_str().unwrap_or_default(),
                        l["status"].as_str().unwrap_or_default(),
                        l["seats_used"],
                        l["seats"],
                        l["product"].as_str().unwrap_or_default(),
                        l["sku"].as_str().unwrap_or_default(),
                    )?;
                }
            }
        }
        AdminCommand::Show { license_id } => {
            let v = parse(&c.get(&format!("/licenses/{}", hex_id(&license_id)?))?)?;
            if env.json {
                print_json(&v);
            } else {
                print_license(&v)?;
            }
        }
        AdminCommand::Events { license_id } => {
            let id = hex_id(&license_id)?;
            let v = parse(&c.get(&format!("/licenses/{id}/marketplace-events"))?)?;
            if env.json {
                print_json(&v);
            } else {
                let events = v["events"].as_array().cloned().unwrap_or_default();
                outln!(
                    "The marketplace's calls for license {id} ({}):",
                    events.len()
                )?;
                for e in &events {
                    outln!(
                        "  {}  {:<14}  order {:<20}  answered {}",
                        when(&e["at"]),
                        e["activity"].as_str().unwrap_or("?"),
                        e["order_id"].as_str().unwrap_or("-"),
                        e["result_code"].as_str().unwrap_or("?")
                    )?;
                }
                if !events.is_empty() {
                    outln!("What each call carried: keyward --json admin events {id}")?;
                }
            }
        }
        AdminCommand::Renew {
            license_id,
            expires,
        } => {
            let id = hex_id(&license_id)?;
            let v = c.post(
                &format!("/licenses/{id}/renew"),
                &json!({ "expires": expires }),
            )?;
            print_update(env, &id, &v)?;
        }
        AdminCommand::Freeze { license_id } => {
            let id = hex_id(&license_id)?;
            print_update(
                env,
                &id,
                &c.post(&format!("/licenses/{id}/freeze"), &json!({}))?,
            )?;
        }
        AdminCommand::Unfreeze { license_id } => {
            let id = hex_id(&license_id)?;
            print_update(
                env,
                &id,
                &c.post(&format!("/licenses/{id}/unfreeze"), &json!({}))?,
            )?;
        }
        AdminCommand::Release { license_id } => {
            let id = hex_id(&license_id)?;
            print_update(
                env,
                &id,
                &c.post(&format!("/licenses/{id}/release"), &json!({}))?,
            )?;
        }
        AdminCommand::Revoke {
            license_id,
            machine,
        } => {
            let id = hex_id(&license_id)?;
            let v = c.post(
                &format!("/licenses/{id}/revoke"),
                &json!({ "machine": machine }),
            )?;
            if env.json {
                print_json(&v);
            } else {
                outln!(
                    "Revoked the activation of license {id} on {}: {} of {} seat(s) now in use.",
                    v["machine"].as_str().unwrap_or_default(),
                    v["seats"]["used"],
                    v["seats"]["total"]
                )?;
            }
        }
        AdminCommand::Export { format, out, force } => {
            // Checked before asking the service: an existing file (an earlier export, the
            // token file) is not replaced without --force.
            let inputs: Vec<&std::path::Path> = a.token_file.iter().map(PathBuf::as_path).collect();
            let out = out
                .as_deref()
                .map(|p| OutFile::check(p, force, &inputs))
                .transpose()?;
            let body = c.get(&format!("/export?format={format}"))?;
            match out {
                Some(f) => f.write(body.as_bytes(), 0o600)?,
                None => out!("{body}")?,
            }
        }
    }
    Ok(Exit::Ok)
}

/// The service's answer as it is: one JSON line with `--json`, indented otherwise.
/// A time the service sent (seconds since the Unix epoch) as people read it; `-` if none.
fn when(v: &Value) -> String {
    v.as_u64()
        .map_or_else(|| "-".into(), |t| keyward_core::Timestamp(t).to_rfc3339())
}

/// `keyward admin show` for people: the license, its seats and machines, its updates and
/// its audit log, one line each (`--json` gives everything, certificates included).
fn print_license(v: &Value) -> Result<(), Error> {
    let l = &v["license"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
    let id = text(&l["license_id"]);
    outln!(
        "License {id}: {}{}, {}",
        text(&l["product"]),
        match l["sku"].as_str() {
            Some(s) if !s.is_empty() => format!(" ({s})"),
            _ => String::new(),
        },
        text(&l["status"])
    )?;
    outln!(
        "  seats        {} of {} in use",
        v["seats_used"],
        l["seats"]
    )?;
    let expires = match l["expires"].as_u64() {
        Some(_) => when(&l["expires"]),
        None => "no expiry (perpetual)".into(),
    };
    outln!(
        "  valid        from {} to {expires}",
        when(&l["not_before"])
    )?;
    let features: Vec<String> = l["features"]
        .as_array()
        .map(|f| f.iter().map(text).collect())
        .unwrap_or_default();
    if !features.is_empty() {
        outln!("  features     {}", features.join(", "))?;
    }
    if l["trial"].as_bool() == Some(true) {
        outln!("  trial        yes")?;
    }
    for (label, key) in [
        ("order", "order_id"),
        ("instance", "instance_id"),
        ("marketplace", "marketplace_license"),
    ] {
        if let Some(x) = l[key].as_str() {
            outln!("  {label:<12} {x}")?;
        }
    }
    outln!("  code         {}", text(&l["code"]))?;
    let list = |key: &str| v[key].as_array().cloned().unwrap_or_default();
    let activations = list("activations");
    outln!("Machines ({}):", activations.len())?;
    for a in &activations {
        let state = match a["deactivated"].as_u64() {
            None => "in use".to_string(),
            Some(_) => format!(
                "freed {} by {}",
                when(&a["deactivated"]),
                a["deactivated_by"].as_str().unwrap_or("?")
            ),
        };
        outln!(
            "  {}  since {}  {state}",
            text(&a["machine"]),
            when(&a["activated"])
        )?;
    }
    let updates = list("updates");
    outln!("Updates ({}):", updates.len())?;
    for u in &updates {
        outln!(
            "  {:>3}  {:<9}  {}",
            u["sequence"],
            text(&u["action"]),
            when(&u["issued"])
        )?;
    }
    let audit = list("audit");
    outln!("Audit log ({}):", audit.len())?;
    for a in &audit {
        let client = a["client"]
            .as_str()
            .map(|c| format!(" (from {c})"))
            .unwrap_or_default();
        outln!(
            "  {}  {:<11}  {:<10}  {}{client}",
            when(&a["at"]),
            text(&a["who"]),
            text(&a["action"]),
            text(&a["detail"])
        )?;
    }
    outln!("Certificates and update texts: keyward --json admin show {id}")?;
    Ok(())
}
