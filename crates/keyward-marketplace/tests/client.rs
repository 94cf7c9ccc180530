//! The open-API client against the stand-in marketplace: signing, fallback host, retries,
//! timeouts, error codes inside HTTP 200.

use std::time::{Duration, Instant};

use keyward_core::Timestamp;
use keyward_marketplace::client::{Client, ClientConfig};
use keyward_marketplace::openapi::{MarketStatus, OpenApiError};
use keyward_marketplace::stand_in::{Fault, MarketLicense, StandIn};
use keyward_marketplace::AccessKey;

fn license(delivered: bool) -> MarketLicense {
    MarketLicense {
        status: MarketStatus::Alive,
        expire_time: Timestamp::parse("2027-11-30"),
        delivered,
        activated: None,
        product_id: "P1".into(),
        order_id: "O1".into(),
    }
}

fn config(hosts: Vec<String>, sk: &str) -> ClientConfig {
    ClientConfig {
        hosts,
        ak: "AK1".into(),
        sk: AccessKey::new(sk),
        timeout: Duration::from_millis(400),
        attempts: 3,
        backoff: Duration::from_millis(20),
    }
}

#[tokio::test]
async fn activates_and_queries_a_delivered_code() {
    let m = StandIn::start("AK1", AccessKey::new("SK1")).await.unwrap();
    m.put("PL0001", license(true));
    let c = Client::new(config(vec![m.url()], "SK1")).unwrap();
    let info = c.activate("PL0001", None).await.unwrap().unwrap();
    assert_eq!(info.status, MarketStatus::Alive);
    assert_eq!(info.expire_time, Timestamp::parse("2027-11-30"));
    assert!(m.get("PL0001").unwrap().activated.is_some());
    m.set_status(
        "PL0001",
        MarketStatus::Expired,
        Timestamp::parse("2026-11-01"),
    );
    let q = c.query("PL0001").await.unwrap().unwrap();
    assert_eq!(q.status, MarketStatus::Expired);
    let batch = c
        .query_batch(&["PL0001".into(), "PL-unknown".into()])
        .await
        .unwrap();
    assert_eq!(batch.len(), 1);
    assert_eq!(batch[0].license.as_deref(), Some("PL0001"));
    assert!(m.received().iter().all(|r| r.authenticated));
}

#[tokio::test]
async fn marketplace_errors_are_typed_and_not_retried() {
    let m = StandIn::start("AK1", AccessKey::new("SK1")).await.unwrap();
    m.put("PL-late", license(false));
    let c = Client::new(config(vec![m.url()], "SK1")).unwrap();
    let e = c.activate("PL-late", None).await.unwrap_err();
    assert_eq!(e.code(), "marketplace_not_delivered");
    let e = c.activate("PL-nope", None).await.unwrap_err();
    assert_eq!(e.code(), "marketplace_code_unknown");
    // One call each: permanent errors are not retried.
    assert_eq!(m.received().len(), 2);
}

#[tokio::test]
async fn a_wrong_secret_is_refused_by_the_gateway() {
    let m = StandIn::start("AK1", AccessKey::new("SK1")).await.unwrap();
    m.put("PL0001", license(true));
    let c = Client::new(config(vec![m.url()], "wrong")).unwrap();
    let e = c.activate("PL0001", None).await.unwrap_err();
    assert!(
        matches!(e, OpenApiError::Marketplace { ref code, .. } if code == "92020001"),
        "{e:?}"
    );
    assert!(m.received().iter().all(|r| !r.authenticated));
    assert!(m.get("PL0001").unwrap().activated.is_none());
}

#[tokio::test]
async fn retries_5xx_timeouts_and_transient_codes_then_succeeds() {
    let m = StandIn::start("AK1", AccessKey::new("SK1")).await.unwrap();
    m.put("PL0001", license(true));
    m.fail_next([Fault::Status(503), Fault::Delay(Duration::from_secs(2))]);
    let c = Client::new(config(vec![m.url()], "SK1")).unwrap();
    let started = Instant::now();
    let info = c.activate("PL0001", None).await.unwrap();
    assert!(info.is_some());
    assert_eq!(m.received().len(), 3);
    // The delayed attempt was cut at the 400 ms timeout, not waited out.
    assert!(
        started.elapsed() < Duration::from_millis(1900),
        "{:?}",
        started.elapsed()
    );
    m.fail_next([Fault::ErrorCode("92020001".into())]);
    assert!(c.query("PL0001").await.unwrap().is_some());
}

#[tokio::test]
async fn falls_back_to_the_second_host() {
    let m = StandIn::start("AK1", AccessKey::new("SK1")).await.unwrap();
    m.put("PL0001", license(true));
    // The primary refuses connections (nothing listens there).
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", l.local_addr().unwrap())
    };
    let c = Client::new(config(vec![dead, m.url()], "SK1")).unwrap();
    assert!(c.activate("PL0001", None).await.unwrap().is_some());
    assert_eq!(m.received().len(), 1);
}

#[tokio::test]
async fn gives_up_after_its_attempts() {
    let m = StandIn::start("AK1", AccessKey::new("SK1")).await.unwrap();
    m.fail_next([
        Fault::Status(500),
        Fault::Status(502),
        Fault::Status(500),
        Fault::Status(500),
    ]);
    let c = Client::new(config(vec![m.url()], "SK1")).unwrap();
    let e = c.query("PL0001").await.unwrap_err();
    assert_eq!(e, OpenApiError::Http(500));
    assert_eq!(m.received().len(), 3);
}

#[test]
fn refuses_plain_http_outside_loopback_and_empty_config() {
    for hosts in [
        vec!["http://mkt.example".to_string()],
        vec![],
        vec!["ftp://x".into()],
    ] {
        assert!(matches!(
            Client::new(config(hosts, "SK1")),
            Err(OpenApiError::Config(_))
        ));
    }
    assert!(Client::new(config(vec!["https://mkt.example".into()], "SK1")).is_ok());
    assert!(Client::new(config(vec!["https://mkt.example".into()], "")).is_err());
}
