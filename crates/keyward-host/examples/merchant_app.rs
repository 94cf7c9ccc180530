//! A merchant's program ("acme-invoice") licensed with keyward: it shows this machine's
//! system identification code, takes an authorization code, an activation certificate or a
//! signed update (as an argument, or on stdin), and unlocks its "pro" feature only while
//! licensed.
//!
//! ```text
//! cargo run -p keyward-host --example merchant_app                 # status and system id
//! cargo run -p keyward-host --example merchant_app -- KA1-…        # activate a code
//! cargo run -p keyward-host --example merchant_app -- - < cert.txt # install a certificate
//! cargo run -p keyward-host --example merchant_app -- request KA1-… # offline request
//! ```
//!
//! Options: `--state-dir DIR` (default `./acme-license`), `--facts FILE` (machine facts as
//! JSON instead of this machine's), `--cache-dir DIR` (compiled plugin; default in the state
//! directory).

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use keyward_host::{Error, License};

/// The merchant's public key, compiled into the program. This one is keyward's fixed *test*
/// key (tests/vectors): a real product embeds its own.
const MERCHANT_PUBLIC_KEY: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAByAWuq0tBpc0u+RjDf0HxsPuFodzWjvh6PuNgl3HvIQ=
-----END PUBLIC KEY-----
";
const PRODUCT: &str = "acme-invoice";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let stdin = std::io::stdin();
    let piped = !stdin.is_terminal();
    let code = run(&args, &mut stdin.lock(), piped, &mut std::io::stdout());
    std::process::exit(code);
}

/// The whole program; returns the exit code. `input` is read for `-`, or when `piped` and
/// no text was given.
pub fn run(args: &[String], input: &mut dyn Read, piped: bool, out: &mut dyn Write) -> i32 {
    match run_inner(args, input, piped, out) {
        Ok(code) => code,
        Err(e) => {
            let _ = writeln!(out, "error: {e}");
            2
        }
    }
}

fn run_inner(
    args: &[String],
    input: &mut dyn Read,
    piped: bool,
    out: &mut dyn Write,
) -> Result<i32, Box<dyn std::error::Error>> {
    let mut state_dir = PathBuf::from("acme-license");
    let mut facts_file = None;
    let mut cache_dir = None;
    let mut words = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--state-dir" => state_dir = it.next().ok_or("--state-dir needs a directory")?.into(),
            "--facts" => facts_file = Some(PathBuf::from(it.next().ok_or("--facts needs a file")?)),
            "--cache-dir" => {
                cache_dir = Some(PathBuf::from(
                    it.next().ok_or("--cache-dir needs a directory")?,
                ))
            }
            _ => words.push(a.clone()),
        }
    }
    let mut builder = License::builder()
        .trusted_keys_pem(MERCHANT_PUBLIC_KEY)
        .state_dir(&state_dir)
        .product(PRODUCT);
    if let Some(c) = cache_dir {
        builder = builder.cache_dir(c);
    }
    if let Some(f) = facts_file {
        builder = builder.facts(keyward_machine::from_json_file(&f)?);
    }
    let license = builder.build()?;
    for n in license.state_notices() {
        writeln!(out, "warning: {}", n.message)?;
    }

    let read_input = |input: &mut dyn Read| -> std::io::Result<String> {
        let mut text = String::new();
        input.read_to_string(&mut text)?;
        Ok(text)
    };
    let mut exit = 0;
    match words.first().map(String::as_str) {
        Some("request") => {
            let request = match words.get(1) {
                Some(code) => license.request_for(code, words.get(2).map(String::as_str)),
                None => license.request(None),
            };
            match request {
                Ok(r) => {
                    writeln!(out, "activation request (send it to the merchant):\n{r}")?;
                    return Ok(0);
                }
                Err(e) => {
                    report(out, &e)?;
                    return Ok(1);
                }
            }
        }
        Some(word) => {
            let text = if word == "-" {
                read_input(input)?
            } else {
                words.join(" ")
            };
            exit = accept(&license, &text, out)?;
        }
        None if piped => {
            let text = read_input(input)?;
            if !text.trim().is_empty() {
                exit = accept(&license, &text, out)?;
            }
        }
        None => {}
    }

    writeln!(out, "system identification code: {}", license.system_id()?)?;
    let status = license.status()?;
    writeln!(out, "license: {status}")?;
    if license.has_feature("pro") {
        writeln!(out, "pro features: unlocked")?;
    } else {
        writeln!(
            out,
            "pro features: locked (paste an authorization code or activation certificate to unlock)"
        )?;
    }
    Ok(exit)
}

/// Installs whatever the buyer pasted: a code, a certificate or an update.
fn accept(license: &License, text: &str, out: &mut dyn Write) -> std::io::Result<i32> {
    let verdict = match license.inspect(text) {
        Ok(v) => v,
        Err(e) => {
            report(out, &e)?;
            return Ok(1);
        }
    };
    let result = match verdict.kind.as_deref() {
        Some("authorization_code") => license.activate(text).map(|s| format!("activated: {s}")),
        Some("activation_certificate") => license
            .install(text)
            .map(|s| format!("certificate installed: {s}")),
        Some("signed_update") => license.apply(text).map(|a| format!("update: {a:?}")),
        _ => {
            writeln!(out, "not accepted ({}): {}", verdict.code, verdict.message)?;
            return Ok(1);
        }
    };
    match result {
        Ok(line) => {
            writeln!(out, "{line}")?;
            Ok(0)
        }
        Err(e) => {
            report(out, &e)?;
            Ok(1)
        }
    }
}

fn report(out: &mut dyn Write, e: &Error) -> std::io::Result<()> {
    writeln!(out, "not accepted ({}): {e}", e.code())?;
    if let Some(s) = e.suggestion() {
        writeln!(out, "did you mean: {s}")?;
    }
    Ok(())
}
