//! The ledger's rules, the same tests on SQLite and PostgreSQL.

mod common;

use std::sync::Arc;

use keyward_core::Timestamp;
use keyward_server::ledger::{
    ActivationAttempt, Actor, Change, Ledger, LedgerError, LicenseRecord, LicenseStatus, ListQuery,
    MarketplaceEvent, SignCertificate,
};

const NOW: u64 = 1_795_000_000;

fn license(id: &str, seats: u32) -> LicenseRecord {
    LicenseRecord {
        license_id: id.to_string(),
        product: "acme-invoice".into(),
        sku: "pro".into(),
        seats,
        not_before: NOW - 3600,
        expires: Some(NOW + 30 * 86_400),
        features: vec!["export".into(), "sync".into()],
        trial: false,
        instance_id: Some("inst-1".into()),
        order_id: Some("order-1".into()),
        marketplace_license: None,
        code: None,
        status: LicenseStatus::Active,
        created: NOW,
    }
}

fn attempt(id: &str, seats: u32, machine: &str) -> ActivationAttempt {
    ActivationAttempt {
        license: license(id, seats),
        machine: machine.to_string(),
        nonce: [7; 8],
        now: Timestamp(NOW),
        actor: Actor::Buyer("127.0.0.1".into()),
    }
}

/// A stand-in signer: the certificate names the machine and the license's expiry, so a
/// test can tell which signing produced it.
fn signer(machine: &str) -> SignCertificate {
    let m = machine.to_string();
    Box::new(move |l: &LicenseRecord| Ok(format!("CERT {} {} {:?}", l.license_id, m, l.expires)))
}

async fn activate(
    l: &dyn Ledger,
    id: &str,
    seats: u32,
    machine: &str,
) -> Result<keyward_server::ledger::Activated, LedgerError> {
    l.activate(attempt(id, seats, machine), signer(machine))
        .await
}

#[tokio::test]
async fn seats_are_counted_and_a_machine_gets_its_certificate_again() {
    for t in common::ledgers("seats_are_counted").await {
        let l = t.ledger.as_ref();
        let id = "00000000000000a1";
        let a = activate(l, id, 2, "KS1-AAAA").await.unwrap();
        assert!(!a.reactivated, "{}", t.name);
        assert_eq!((a.seats.used, a.seats.total), (1, 2));
        let again = activate(l, id, 2, "KS1-AAAA").await.unwrap();
        assert!(again.reactivated, "{}", t.name);
        assert_eq!(again.certificate, a.certificate, "{}", t.name);
        assert_eq!(again.seats.used, 1);
        let b = activate(l, id, 2, "mac:00:11:22:33:44:55").await.unwrap();
        assert_eq!(b.seats.used, 2);
        match activate(l, id, 2, "KS1-CCCC").await {
            Err(LedgerError::NoSeatLeft {
                used,
                total,
                machines,
            }) => {
                assert_eq!((used, total), (2, 2), "{}", t.name);
                assert_eq!(machines, ["KS1-AAAA", "mac:00:11:22:33:44:55"]);
                let msg = LedgerError::NoSeatLeft {
                    used,
                    total,
                    machines,
                }
                .to_string();
                assert!(
                    msg.contains("all 2 seat(s)") && msg.contains("KS1-AAAA"),
                    "{msg}"
                );
            }
            other => panic!("{}: expected no_seat_left, got {other:?}", t.name),
        }
        let d = l.license(id.into()).await.unwrap();
        assert_eq!(d.seats_used, 2);
        assert_eq!(d.activations.len(), 2);
        assert_eq!(d.license.features, ["export", "sync"]);
        assert_eq!(d.license.order_id.as_deref(), Some("order-1"));
        let actions: Vec<&str> = d.audit.iter().map(|a| a.action.as_str()).collect();
        assert_eq!(actions, ["register", "activate", "activate"], "{}", t.name);
        assert_eq!(d.audit[1].who, "buyer");
        assert_eq!(d.audit[1].client.as_deref(), Some("127.0.0.1"));
        assert_eq!(l.seats_in_use().await.unwrap(), 2);
    }
}

#[tokio::test]
async fn fifty_machines_race_for_one_seat() {
    for t in common::ledgers("fifty_machines_race").await {
        let l: Arc<dyn Ledger> = Arc::from(t.ledger);
        let id = "00000000000000b2";
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let l = l.clone();
                tokio::spawn(
                    async move { activate(l.as_ref(), id, 1, &format!("KS1-M{i:02}")).await },
                )
            })
            .collect();
        let mut ok = 0;
        let mut full = 0;
        for task in tasks {
            match task.await.unwrap() {
                Ok(a) => {
                    assert!(!a.reactivated);
                    ok += 1
                }
                Err(LedgerError::NoSeatLeft {
                    used: 1, total: 1, ..
                }) => full += 1,
                Err(e) => panic!("{}: {e}", t.name),
            }
        }
        assert_eq!((ok, full), (1, 49), "{}", t.name);
        let d = l.license(id.into()).await.unwrap();
        assert_eq!(d.activations.len(), 1, "{}", t.name);
        assert_eq!(d.seats_used, 1);
    }
}

#[tokio::test]
async fn one_machine_fifty_times_takes_one_seat() {
    for t in common::ledgers("one_machine_fifty_times").await {
        let l: Arc<dyn Ledger> = Arc::from(t.ledger);
        let id = "00000000000000c3";
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let l = l.clone();
                tokio::spawn(async move { activate(l.as_ref(), id, 3, "KS1-SAME").await })
            })
            .collect();
        let mut certs = std::collections::BTreeSet::new();
        let mut new = 0;
        for task in tasks {
            let a = task.await.unwrap().unwrap();
            if !a.reactivated {
                new += 1;
            }
            assert_eq!(a.seats.used, 1, "{}", t.name);
            certs.insert(a.certificate);
        }
        assert_eq!(new, 1, "{}", t.name);
        assert_eq!(certs.len(), 1, "{}", t.name);
        assert_eq!(l.license(id.into()).await.unwrap().activations.len(), 1);
    }
}

fn update_signer(tag: &'static str) -> keyward_server::ledger::SignUpdate {
    Box::new(move |seq| Ok(format!("KN1-{tag}-{seq}")))
}

#[tokio::test]
async fn lifecycle_changes_write_sequenced_updates() {
    for t in common::ledgers("lifecycle").await {
        let l = t.ledger.as_ref();
        let id = "00000000000000d4";
        let now = Timestamp(NOW);
        l.issue(license(id, 2), Actor::Admin).await.unwrap();
        assert!(matches!(
            l.issue(license(id, 2), Actor::Admin).await,
            Err(LedgerError::Conflict(_))
        ));
        activate(l, id, 2, "KS1-ONE").await.unwrap();
        let renewed = NOW + 400 * 86_400;
        let u1 = l
            .change(
                id.into(),
                Change::Renew(renewed),
                update_signer("renew"),
                now,
                Actor::Admin,
            )
            .await
            .unwrap();
        assert_eq!((u1.sequence, u1.update.as_str()), (1, "KN1-renew-1"));
        // A new certificate carries the renewed expiry.
        let b = activate(l, id, 2, "KS1-TWO").await.unwrap();
        assert!(
            b.certificate.contains(&format!("Some({renewed})")),
            "{}",
            b.certificate
        );
        let u2 = l
            .change(
                id.into(),
                Change::Freeze,
                update_signer("freeze"),
                now,
                Actor::Marketplace,
            )
            .await
            .unwrap();
        assert_eq!(u2.sequence, 2);
        assert!(matches!(
            activate(l, id, 2, "KS1-ONE").await,
            Err(LedgerError::Frozen)
        ));
        l.change(
            id.into(),
            Change::Unfreeze,
            update_signer("unfreeze"),
            now,
            Actor::Admin,
        )
        .await
        .unwrap();
        activate(l, id, 2, "KS1-ONE").await.unwrap();
        let u4 = l
            .change(
                id.into(),
                Change::Release,
                update_signer("release"),
                now,
                Actor::Admin,
            )
            .await
            .unwrap();
        assert_eq!(u4.sequence, 4);
        assert!(matches!(
            activate(l, id, 2, "KS1-ONE").await,
            Err(LedgerError::Released)
        ));
        assert!(matches!(
            l.change(
                id.into(),
                Change::Freeze,
                update_signer("x"),
                now,
                Actor::Admin
            )
            .await,
            Err(LedgerError::Released)
        ));
        let d = l.license(id.into()).await.unwrap();
        assert_eq!(d.license.status, LicenseStatus::Released);
        assert_eq!(d.license.expires, Some(renewed));
        assert_eq!(d.seats_used, 0, "{}: a release frees every seat", t.name);
        let after2: Vec<u32> = l
            .updates(id.into(), 2)
            .await
            .unwrap()
            .iter()
            .map(|u| u.sequence)
            .collect();
        assert_eq!(after2, [3, 4]);
        assert_eq!(l.updates(id.into(), 0).await.unwrap().len(), 4);
        assert!(matches!(
            l.updates("00000000000000ff".into(), 0).await,
            Err(LedgerError::NotFound(_))
        ));
        let who: Vec<&str> = d.audit.iter().map(|a| a.who.as_str()).collect();
        assert!(
            who.contains(&"marketplace") && who.contains(&"admin"),
            "{who:?}"
        );
    }
}

#[tokio::test]
async fn expired_licenses_take_no_seat() {
    for t in common::ledgers("expired").await {
        let l = t.ledger.as_ref();
        let mut a = attempt("00000000000000e5", 1, "KS1-X");
        a.now = Timestamp(NOW + 31 * 86_400);
        assert!(
            matches!(
                l.activate(a, signer("KS1-X")).await,
                Err(LedgerError::Expired(_))
            ),
            "{}",
            t.name
        );
    }
}

#[tokio::test]
async fn deactivation_and_revoke_free_a_seat() {
    for t in common::ledgers("deactivation").await {
        let l = t.ledger.as_ref();
        let id = "00000000000000f6";
        let now = Timestamp(NOW);
        activate(l, id, 1, "KS1-OLD").await.unwrap();
        // No certificate matches: nothing changes.
        let none = l
            .deactivate(
                id.into(),
                Box::new(|_| false),
                now,
                Actor::Buyer("x".into()),
            )
            .await;
        assert!(matches!(none, Err(LedgerError::NotFound(_))), "{}", t.name);
        assert!(matches!(
            activate(l, id, 1, "KS1-NEW").await,
            Err(LedgerError::NoSeatLeft { .. })
        ));
        let d = l
            .deactivate(
                id.into(),
                Box::new(|c: &str| c.contains("KS1-OLD")),
                now,
                Actor::Buyer("x".into()),
            )
            .await
            .unwrap();
        assert_eq!((d.machine.as_str(), d.seats.used), ("KS1-OLD", 0));
        activate(l, id, 1, "KS1-NEW").await.unwrap();
        assert!(matches!(
            l.revoke(id.into(), "KS1-OLD".into(), now, Actor::Admin)
                .await,
            Err(LedgerError::NotFound(_))
        ));
        let r = l
            .revoke(id.into(), "KS1-NEW".into(), now, Actor::Admin)
            .await
            .unwrap();
        assert_eq!(r.seats.used, 0);
        let detail = l.license(id.into()).await.unwrap();
        let ended: Vec<_> = detail
            .activations
            .iter()
            .map(|a| (a.machine.as_str(), a.deactivated_by.as_deref()))
            .collect();
        assert_eq!(
            ended,
            [("KS1-OLD", Some("buyer")), ("KS1-NEW", Some("admin"))]
        );
        // The old machine may come back: a new seat, a new certificate row.
        activate(l, id, 1, "KS1-OLD").await.unwrap();
        assert_eq!(l.license(id.into()).await.unwrap().activations.len(), 3);
    }
}

#[tokio::test]
async fn listing_searches_ids_products_orders_and_machines() {
    for t in common::ledgers("listing").await {
        let l = t.ledger.as_ref();
        let mut a = license("0000000000000101", 1);
        a.product = "alpha".into();
        a.created = NOW;
        let mut b = license("0000000000000202", 1);
        b.product = "beta_x".into();
        b.order_id = Some("order-77".into());
        b.created = NOW + 1;
        l.issue(a, Actor::Admin).await.unwrap();
        l.issue(b, Actor::Admin).await.unwrap();
        activate(l, "0000000000000101", 1, "KS1-FINDME")
            .await
            .unwrap();
        let ids = |v: Vec<keyward_server::ledger::LicenseListing>| {
            v.into_iter()
                .map(|x| x.license.license_id)
                .collect::<Vec<_>>()
        };
        let q = |s: &str| ListQuery {
            search: Some(s.into()),
            limit: 10,
            ..Default::default()
        };
        assert_eq!(
            ids(l
                .list(ListQuery {
                    limit: 10,
                    ..Default::default()
                })
                .await
                .unwrap()),
            ["0000000000000202", "0000000000000101"],
            "{}",
            t.name
        );
        assert_eq!(ids(l.list(q("alpha")).await.unwrap()), ["0000000000000101"]);
        assert_eq!(
            ids(l.list(q("order-77")).await.unwrap()),
            ["0000000000000202"]
        );
        assert_eq!(
            ids(l.list(q("FINDME")).await.unwrap()),
            ["0000000000000101"]
        );
        // LIKE wildcards in the search are literal.
        assert_eq!(ids(l.list(q("_")).await.unwrap()), ["0000000000000202"]);
        assert!(l.list(q("%")).await.unwrap().is_empty());
        let listed = l.list(q("alpha")).await.unwrap();
        assert_eq!(listed[0].seats_used, 1);
        let frozen = ListQuery {
            status: Some(LicenseStatus::Frozen),
            limit: 10,
            ..Default::default()
        };
        assert!(l.list(frozen).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn marketplace_events_are_recorded_once() {
    for t in common::ledgers("marketplace_events").await {
        let l = t.ledger.as_ref();
        let e = MarketplaceEvent {
            at: NOW,
            license_id: Some("0000000000000303".into()),
            activity: "updateLicenseCodeStatus".into(),
            order_id: Some("o-1".into()),
            idempotency_key: "k-1".into(),
            result_code: "000000".into(),
            payload: "{\"status\":\"FREEZE\"}".into(),
        };
        l.record_marketplace_event(e.clone()).await.unwrap();
        assert!(
            matches!(
                l.record_marketplace_event(e.clone()).await,
                Err(LedgerError::Conflict(_))
            ),
            "{}",
            t.name
        );
        assert_eq!(
            l.marketplace_events("0000000000000303".into())
                .await
                .unwrap(),
            [e]
        );
    }
}

#[tokio::test]
async fn reopening_keeps_everything_and_migrations_run_once() {
    for t in common::ledgers("reopen").await {
        activate(t.ledger.as_ref(), "0000000000000404", 1, "KS1-KEEP")
            .await
            .unwrap();
        t.ledger.close().await;
        let again = keyward_server::ledger::open(&t.url, Default::default(), 4)
            .await
            .unwrap();
        let d = again.license("0000000000000404".into()).await.unwrap();
        assert_eq!(d.activations[0].machine, "KS1-KEEP", "{}", t.name);
    }
}

#[tokio::test]
async fn processes_starting_together_migrate_once() {
    // Several ledgers opening one fresh PostgreSQL database at once: the advisory lock
    // lets exactly one migrate; every one ends up working.
    let Some(server) = common::postgres_url("processes_starting_together") else {
        return;
    };
    let url = common::fresh_postgres_db(&server).await;
    let opens: Vec<_> = (0..6)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(
                async move { keyward_server::ledger::open(&url, Default::default(), 2).await },
            )
        })
        .collect();
    for o in opens {
        let l = o.await.unwrap().unwrap();
        l.ping().await.unwrap();
    }
}

/// Activations that arrive together may be committed together (SQLite's writer commits a
/// group in one transaction): a refused one among them leaves no trace, not even the
/// registration of its license, and every accepted one stands, with its audit row.
#[tokio::test]
async fn activations_arriving_together_stand_or_fall_alone() {
    for t in common::ledgers("arriving_together").await {
        let l: Arc<dyn Ledger> = Arc::from(t.ledger);
        let good = "00000000000000c1";
        let expired = "00000000000000c2";
        let failing_signer = "00000000000000c3";
        let tasks: Vec<_> = (0..60)
            .map(|i| {
                let l = l.clone();
                tokio::spawn(async move {
                    let machine = format!("KS1-T{i:02}");
                    match i % 3 {
                        0 => activate(l.as_ref(), good, 5, &machine).await,
                        1 => {
                            let mut a = attempt(expired, 5, &machine);
                            a.license.expires = Some(NOW - 1);
                            l.activate(a, signer(&machine)).await
                        }
                        _ => {
                            let sign: SignCertificate = Box::new(|_: &LicenseRecord| {
                                Err(LedgerError::Config("the signer failed".into()))
                            });
                            l.activate(attempt(failing_signer, 5, &machine), sign).await
                        }
                    }
                })
            })
            .collect();
        let (mut ok, mut full, mut expired_n, mut unsigned) = (0, 0, 0, 0);
        for task in tasks {
            match task.await.unwrap() {
                Ok(_) => ok += 1,
                Err(LedgerError::NoSeatLeft { .. }) => full += 1,
                Err(LedgerError::Expired(_)) => expired_n += 1,
                Err(LedgerError::Config(_)) => unsigned += 1,
                Err(e) => panic!("{}: {e}", t.name),
            }
        }
        assert_eq!(
            (ok, full, expired_n, unsigned),
            (5, 15, 20, 20),
            "{}",
            t.name
        );
        let d = l.license(good.into()).await.unwrap();
        assert_eq!(d.seats_used, 5, "{}", t.name);
        let activations = d.audit.iter().filter(|a| a.action == "activate").count();
        assert_eq!(activations, 5, "{}", t.name);
        // Neither refused license was registered: their registrations were undone.
        for id in [expired, failing_signer] {
            assert!(
                matches!(l.license(id.into()).await, Err(LedgerError::NotFound(_))),
                "{}: {id}",
                t.name
            );
        }
        assert_eq!(l.seats_in_use().await.unwrap(), 5, "{}", t.name);
    }
}

/// A marketplace nonce is claimed once while its time lasts, by one statement; once its
/// time is over the same nonce may be claimed again (it is not kept forever).
#[tokio::test]
async fn a_nonce_is_claimed_once_while_it_lasts() {
    for t in common::ledgers("nonces").await {
        let l = t.ledger.as_ref();
        assert!(l.claim_nonce("n-1".into(), NOW, NOW + 180).await.unwrap());
        assert!(!l
            .claim_nonce("n-1".into(), NOW + 1, NOW + 181)
            .await
            .unwrap());
        assert!(!l
            .claim_nonce("n-1".into(), NOW + 180, NOW + 360)
            .await
            .unwrap());
        assert!(l
            .claim_nonce("n-2".into(), NOW + 1, NOW + 181)
            .await
            .unwrap());
        // Its time is over: claimable again, and then held again.
        assert!(l
            .claim_nonce("n-1".into(), NOW + 181, NOW + 361)
            .await
            .unwrap());
        assert!(!l
            .claim_nonce("n-1".into(), NOW + 182, NOW + 362)
            .await
            .unwrap());
        // Claimed at once by many: exactly one wins.
        let l: Arc<dyn Ledger> = Arc::from(t.ledger);
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let l = l.clone();
                tokio::spawn(async move { l.claim_nonce("n-3".into(), NOW, NOW + 180).await })
            })
            .collect();
        let mut won = 0;
        for task in tasks {
            if task.await.unwrap().unwrap() {
                won += 1;
            }
        }
        assert_eq!(won, 1, "{}", t.name);
    }
}

/// A PostgreSQL URL that cannot be reached says why at once (connection refused), not
/// "pool timed out" after half a minute, and never echoes the URL's password.
#[tokio::test]
async fn an_unreachable_postgres_says_why() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://kw:secret-pw@127.0.0.1:{port}/kw");
    let err = match keyward_server::ledger::open(&url, Default::default(), 4).await {
        Err(e) => e.to_string(),
        Ok(_) => panic!("connected to a port nothing listens on"),
    };
    assert!(err.contains("refused"), "{err}");
    assert!(err.contains("check that PostgreSQL is running"), "{err}");
    assert!(!err.contains("secret-pw"), "{err}");
}
