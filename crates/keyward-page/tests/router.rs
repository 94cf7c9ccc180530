//! The page's router and Host guard, through tower (no socket).

use axum::body::{to_bytes, Body};
use axum::http::{header, Method, Request, StatusCode};
use keyward_page::{guard_hosts, router, AllowedHosts, PageConfig};
use tower::ServiceExt;

fn config() -> PageConfig {
    PageConfig {
        public_keys: vec!["-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".into()],
        merchant_name: Some("Acme Software".into()),
        product_name: Some("Acme Invoice".into()),
        support_contact: Some("support@acme.example".into()),
        online: true,
    }
}

async fn get(method: Method, uri: &str, host: Option<&str>) -> (StatusCode, String, Vec<u8>) {
    let app = guard_hosts(
        router(config()),
        AllowedHosts::new("127.0.0.1:8080".parse().unwrap()),
    );
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(host) = host {
        request = request.header(header::HOST, host);
    }
    let response = app
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let ty = response
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = to_bytes(response.into_body(), 1 << 24).await.unwrap();
    (status, ty, body.to_vec())
}

#[tokio::test]
async fn config_json_is_the_page_config() {
    let (status, ty, body) = get(Method::GET, "/config.json", Some("127.0.0.1:8080")).await;
    assert_eq!((status, ty.as_str()), (StatusCode::OK, "application/json"));
    let back: PageConfig = serde_json::from_slice(&body).unwrap();
    assert_eq!(back, config());
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["online"], true);
    assert_eq!(json["support_contact"], "support@acme.example");
}

#[tokio::test]
async fn the_page_and_only_its_files() {
    let (status, ty, index) = get(Method::GET, "/", Some("localhost:8080")).await;
    assert_eq!(
        (status, ty.as_str()),
        (StatusCode::OK, "text/html; charset=utf-8")
    );
    assert!(String::from_utf8_lossy(&index).contains("<html"));
    assert_eq!(
        get(Method::GET, "/index.html", Some("localhost")).await.2,
        index
    );
    for path in keyward_page::files() {
        assert_eq!(
            get(Method::GET, path, Some("localhost")).await.0,
            StatusCode::OK,
            "{path}"
        );
    }
    for path in [
        "/merchant.pem",
        "/../merchant.pem",
        "/%2e%2e/merchant.pem",
        "/pkg/../../Cargo.toml",
        "//etc/passwd",
        "/index.html/",
        "/keyward_web.js",
        "/.git/config",
        "/README.md",
    ] {
        assert_eq!(
            get(Method::GET, path, Some("localhost")).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(
        get(Method::POST, "/config.json", Some("localhost")).await.0,
        StatusCode::METHOD_NOT_ALLOWED
    );
    let (status, _, body) = get(Method::HEAD, "/", Some("localhost")).await;
    assert_eq!((status, body.len()), (StatusCode::OK, 0));
}

#[tokio::test]
async fn foreign_hosts_are_refused() {
    let (status, _, body) = get(
        Method::GET,
        "/config.json",
        Some("rebind.evil.example:8080"),
    )
    .await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST);
    let message = String::from_utf8(body).unwrap();
    assert!(message.contains("rebind.evil.example"), "{message}");
    assert!(!message.contains("PUBLIC KEY"));
    // An absolute target naming another host, even with an allowed Host header.
    let (status, _, _) = get(
        Method::GET,
        "http://evil.example/config.json",
        Some("127.0.0.1:8080"),
    )
    .await;
    assert_eq!(status, StatusCode::MISDIRECTED_REQUEST);
    let (status, _, body) = get(Method::GET, "/", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8(body).unwrap().contains("Host"));
}
