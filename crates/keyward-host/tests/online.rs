//! Online activation and updates through keyward-host (feature `online`), against
//! keyward-online's stub of the merchant service on 127.0.0.1: the plugin makes the request
//! and installs the certificate; the service counts the seat; published updates are fetched
//! and applied; the service's refusals come back with its codes.

mod common;

use common::*;
use keyward_core::{time::DAY, LicenseId, Timestamp, UpdateAction};
use keyward_host::Error;
use keyward_online::stub::StubServer;

#[test]
fn activate_online_then_fetch_updates() {
    let now = vectors_now();
    let clock = TestClock::new(now);
    let service = StubServer::start(key(), Timestamp(now)).expect("stub service");
    let code = unbound_code(7, now, Some(30));
    let license_id = LicenseId([0xA0, 0, 0, 0, 0, 0, 0, 7]);

    let a_dir = tempfile::tempdir().expect("dir");
    let a = license(a_dir.path(), this_machine(), &clock);
    assert_eq!(a.status().expect("status").code, "no_license");
    let status = a
        .activate_online(service.url(), &code, None)
        .expect("activates online");
    assert_eq!(status.code, "active");
    assert!(status.license.as_ref().is_some_and(|l| l.bound));
    assert!(a.has_feature("pro"));
    let seats = service.activations(license_id);
    assert_eq!(seats.len(), 1);
    assert_eq!(seats[0].machine, a.system_id().expect("system id"));

    // The license has one seat: another machine is refused by the service, with its code.
    let b_dir = tempfile::tempdir().expect("dir");
    let b = license(b_dir.path(), other_machine(), &clock);
    match b.activate_online(service.url(), &code, None) {
        Err(e @ Error::Online { .. }) => {
            assert_eq!(e.code(), "no_seat_left", "{e}");
            assert!(e.to_string().contains("seats"), "{e}");
        }
        other => panic!("expected the service's refusal, got {other:?}"),
    }
    assert_eq!(b.status().expect("status").code, "no_license");

    // Nothing published: nothing applied. Then a renewal and a freeze, in order.
    assert_eq!(a.fetch_updates(service.url()).expect("fetch"), 0);
    service
        .publish(
            license_id,
            UpdateAction::Renew {
                expires: Timestamp(now + 400 * DAY),
            },
        )
        .expect("publish");
    service
        .publish(license_id, UpdateAction::Freeze)
        .expect("publish");
    assert_eq!(a.fetch_updates(service.url()).expect("fetch"), 2);
    assert_eq!(a.status().expect("status").code, "frozen");
    // Fetched again: only what is new (nothing).
    assert_eq!(a.fetch_updates(service.url()).expect("fetch"), 0);
    service
        .publish(license_id, UpdateAction::Unfreeze)
        .expect("publish");
    assert_eq!(a.fetch_updates(service.url()).expect("fetch"), 1);
    let s = a.status().expect("status");
    assert_eq!(s.code, "active");
    assert_eq!(s.license.as_ref().and_then(|l| l.days_left), Some(400));
}

#[test]
fn an_unreachable_or_invalid_service_is_a_clear_error() {
    let now = vectors_now();
    let clock = TestClock::new(now);
    let dir = tempfile::tempdir().expect("dir");
    let a = license(dir.path(), this_machine(), &clock);
    let code = unbound_code(8, now, Some(30));
    let e = a
        .activate_online("ftp://example", &code, None)
        .expect_err("not a service address");
    assert_eq!(e.code(), "bad_server_url", "{e}");
    // A port nothing listens on (bound, then closed), on loopback.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let e = a
        .activate_online(&format!("http://127.0.0.1:{port}"), &code, None)
        .expect_err("nothing listens");
    assert_eq!(e.code(), "unreachable", "{e}");
    assert_eq!(a.status().expect("status").code, "no_license");
}
