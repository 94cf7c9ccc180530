//! The stand-in marketplace as a program, for end-to-end tests in other languages (the
//! browser tests): it listens on 127.0.0.1 (a free port), prints `URL http://127.0.0.1:PORT`,
//! and then takes one command per line on its standard input, answering `ok` (or `error: …`)
//! to each. It stops when its input closes.
//!
//! ```text
//! cargo run -p keyward-marketplace --features stand-in --example stand_in -- AK SK
//! put PL0000000001 OFFER-1     a delivered, live code for that marketplace product (30 days)
//! expire PL0000000001 DAYS     the marketplace reports it EXPIRED, DAYS days ago
//! release PL0000000001         the marketplace reports it RELEASED
//! ```

use std::io::{BufRead, Write};

use keyward_core::{time::DAY, Timestamp};
use keyward_marketplace::openapi::MarketStatus;
use keyward_marketplace::stand_in::{MarketLicense, StandIn};
use keyward_marketplace::AccessKey;

fn now() -> Timestamp {
    Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(ak), Some(sk)) = (args.first(), args.get(1)) else {
        eprintln!("usage: stand_in ACCESS_KEY_ID SECRET_ACCESS_KEY");
        std::process::exit(2);
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("stand_in: {e}");
            std::process::exit(1);
        }
    };
    let market = match rt.block_on(StandIn::start(ak, AccessKey::new(sk.as_str()))) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("stand_in: cannot listen on 127.0.0.1: {e}");
            std::process::exit(1);
        }
    };
    let mut out = std::io::stdout();
    let _ = writeln!(out, "URL {}", market.url());
    let _ = out.flush();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let words: Vec<&str> = line.split_whitespace().collect();
        let answer = match words.as_slice() {
            ["put", code, product] => {
                market.put(
                    code,
                    MarketLicense {
                        status: MarketStatus::Alive,
                        expire_time: Some(now().add_secs(30 * DAY).floor_minute()),
                        delivered: true,
                        activated: None,
                        product_id: (*product).to_owned(),
                        order_id: format!("ORDER-{code}"),
                    },
                );
                "ok".to_owned()
            }
            ["expire", code, days] => match days.parse::<u64>() {
                Ok(d) => {
                    let then = Timestamp(now().secs().saturating_sub(d * DAY)).floor_minute();
                    market.set_status(code, MarketStatus::Expired, Some(then));
                    "ok".to_owned()
                }
                Err(_) => format!("error: {days:?} is not a number of days"),
            },
            ["release", code] => {
                market.set_status(code, MarketStatus::Released, None);
                "ok".to_owned()
            }
            _ => format!("error: unknown command {line:?} (put, expire, release)"),
        };
        let _ = writeln!(out, "{answer}");
        let _ = out.flush();
    }
}
