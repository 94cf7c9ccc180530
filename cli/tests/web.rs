//! `keyward web`: the activation page, /config.json, no directory traversal.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{bin, Scratch};

/// Kills the server even when an assertion fails.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// Sends a raw request; returns (status line, headers+body text).
fn request(port: u16, raw: &str) -> (String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(raw.as_bytes()).unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text.lines().next().unwrap_or("").to_string();
    (status, text)
}

/// `GET PATH`; returns (status line, headers+body text).
fn get(port: u16, path: &str) -> (String, String) {
    request(
        port,
        &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n"),
    )
}

/// `web --port PORT --public-key k.pem.pub --dir DIR`.
fn web_args<'a>(port: &'a str, dir: &'a str) -> [&'a str; 7] {
    [
        "web",
        "--port",
        port,
        "--public-key",
        "k.pem.pub",
        "--dir",
        dir,
    ]
}

#[test]
fn serves_page_config_and_refuses_traversal() {
    let s = Scratch::with_key();
    std::fs::create_dir_all(s.path("site/pkg")).unwrap();
    s.write("site/index.html", "<!doctype html><title>activate</title>");
    s.write("site/pkg/keyward_web_bg.wasm", "\0asm");
    s.write("secret.txt", "do not serve");
    let port = free_port();
    let child = Command::new(bin())
        .current_dir(s.dir.path())
        .args(web_args(&port.to_string(), "site"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut server = Server(child);
    // Wait until it listens.
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!("keyward web exited early: {status}");
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let (status, text) = get(port, "/config.json");
    assert!(status.contains("200"), "{text}");
    assert!(text.contains("Content-Type: application/json"), "{text}");
    let body = text.split("\r\n\r\n").nth(1).unwrap();
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["public_keys"][0], s.read("k.pem.pub").as_str());
    assert_eq!(v["activation_url"], serde_json::Value::Null);

    let (status, text) = get(port, "/index.html");
    assert!(status.contains("200"), "{text}");
    assert!(text.contains("text/html"), "{text}");
    assert!(text.contains("<title>activate</title>"));
    let (status, text) = get(port, "/");
    assert!(
        status.contains("200") && text.contains("activate"),
        "{text}"
    );
    let (status, text) = get(port, "/pkg/keyward_web_bg.wasm");
    assert!(status.contains("200"), "{text}");
    assert!(text.contains("Content-Type: application/wasm"), "{text}");

    // HEAD: headers only.
    let (status, text) = request(port, "HEAD /index.html HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(status.contains("200"), "{text}");
    assert!(!text.contains("<title>"), "{text}");

    // No way out of the directory, however encoded.
    for path in [
        "/../Cargo.toml",
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/pkg/%2E%2E/%2e%2e/secret.txt",
        "/..%2fsecret.txt",
        "/pkg/..%5c..%5csecret.txt",
    ] {
        let (status, text) = get(port, path);
        assert!(
            status.contains("400") || status.contains("404"),
            "{path}: {status}"
        );
        assert!(!text.contains("do not serve"), "{path}: {text}");
    }
    let (status, _) = get(port, "/missing.js");
    assert!(status.contains("404"), "{status}");
    let (status, text) = request(
        port,
        "POST /config.json HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
    );
    assert!(status.contains("405"), "{status}");
    assert!(text.contains("Allow: GET, HEAD"), "{text}");

    // Still serving after all that; then stopped.
    let (status, _) = get(port, "/config.json");
    assert!(status.contains("200"));
    drop(server);
}

#[test]
fn refuses_a_missing_directory() {
    let s = Scratch::with_key();
    s.cmd()
        .args(web_args("1", "nope"))
        .assert()
        .code(1)
        .stderr(predicates::str::contains("does not exist"));
}
