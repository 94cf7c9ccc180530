//! `keyward web`: the embedded page and /config.json, nothing else (a private key next to
//! it is never served, however asked for), foreign `Host`s refused, `--port 0` printed.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{bin, Scratch};

/// Kills the server even when an assertion fails.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Sends a raw request; returns (status line, headers+body text).
fn request(port: u16, raw: &str) -> (String, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(raw.as_bytes()).unwrap();
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text.lines().next().unwrap_or("").to_string();
    (status, text)
}

/// `GET target` for `host`, connection closed after the answer.
fn get(port: u16, target: &str, host: &str) -> (String, String) {
    request(
        port,
        &format!("GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
    )
}

/// Starts `keyward --json web --port 0 …` in the scratch folder (where `k.pem`, the
/// private key, lies); returns the server and the port it printed.
fn start(s: &Scratch) -> (Server, u16) {
    let mut child = Command::new(bin())
        .current_dir(s.dir.path())
        .args([
            "--json",
            "web",
            "--port",
            "0",
            "--public-key",
            "k.pem.pub",
            "--merchant-name",
            "Acme Software",
            "--product-name",
            "Acme Invoice",
            "--support-contact",
            "support@acme.example",
            "--host-name",
            "licenses.acme.example",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The JSON object (pretty-printed) up to its closing line.
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    while !line.ends_with("}\n") {
        assert!(stdout.read_line(&mut line).unwrap() > 0, "no JSON: {line}");
    }
    let mut said = String::new();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    // (A warning comes first when the page was not built.)
    while !said.contains("Serving") {
        said.clear();
        assert!(stderr.read_line(&mut said).unwrap() > 0, "no start line");
    }
    let server = Server(child);
    let v: serde_json::Value =
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    let port = v["port"].as_u64().unwrap() as u16;
    assert_ne!(port, 0, "the real port, not 0");
    let url = format!("http://127.0.0.1:{port}/");
    assert_eq!(v["url"], url.as_str());
    assert!(
        said.contains(&url),
        "the human line names the port too: {said}"
    );
    (server, port)
}

#[test]
fn port_zero_serves_the_embedded_page_and_its_config() {
    let s = Scratch::with_key();
    let (_server, port) = start(&s);
    let (status, text) = get(port, "/config.json", "127.0.0.1");
    assert!(status.contains("200"), "{text}");
    assert!(text.contains("content-type: application/json"), "{text}");
    let body = text.split("\r\n\r\n").nth(1).unwrap();
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["public_keys"][0], s.read("k.pem.pub").as_str());
    assert_eq!(v["merchant_name"], "Acme Software");
    assert_eq!(v["product_name"], "Acme Invoice");
    assert_eq!(v["support_contact"], "support@acme.example");
    assert_eq!(v["online"], false);

    // The page, whatever folder the server was started in.
    let (status, text) = get(port, "/", "localhost");
    assert!(status.contains("200") && text.contains("<html"), "{text}");
    assert!(text.contains("text/html"), "{text}");
    let (status, _) = get(port, "/", "licenses.acme.example");
    assert!(status.contains("200"), "a configured name: {status}");
    let (status, text) = request(
        port,
        "POST /config.json HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert!(status.contains("405"), "{text}");
}

#[test]
fn a_private_key_next_to_the_page_is_never_served() {
    let s = Scratch::with_key();
    s.write("secret.txt", "do not serve");
    let (_server, port) = start(&s);
    let abs = s.path("k.pem").display().to_string();
    let targets = [
        "/k.pem".to_string(),
        "/k.pem.pub".to_string(),
        "/secret.txt".to_string(),
        "/../k.pem".to_string(),
        "/./k.pem".to_string(),
        "/%2e%2e/k.pem".to_string(),
        "/%2E%2E%2Fk.pem".to_string(),
        "/..%2fk.pem".to_string(),
        "/..%5ck.pem".to_string(),
        "/pkg/../../k.pem".to_string(),
        "//k.pem".to_string(),
        format!("/{abs}"),
        abs.clone(),
        format!("/%2F{}", abs.trim_start_matches('/')),
        format!("http://127.0.0.1:{port}/k.pem"),
        format!("http://127.0.0.1:{port}{abs}"),
        "/index.html/../k.pem".to_string(),
        "/k.pem%00.html".to_string(),
        "/k.pem?.html".to_string(),
        "*".to_string(),
    ];
    for target in &targets {
        let (status, text) = get(port, target, "127.0.0.1");
        assert!(!status.contains("200"), "{target}: {status}");
        assert!(
            !text.contains("PRIVATE KEY") && !text.contains("do not serve"),
            "{target}: {text}"
        );
    }
    // Still serving after all that.
    assert!(get(port, "/config.json", "localhost").0.contains("200"));
}

#[test]
fn a_foreign_host_is_refused() {
    let s = Scratch::with_key();
    let (_server, port) = start(&s);
    for host in [
        "rebind.evil.example".to_string(),
        format!("rebind.evil.example:{port}"),
        "127.0.0.1.evil.example".to_string(),
        "10.1.2.3".to_string(),
    ] {
        for target in ["/", "/config.json"] {
            let (status, text) = get(port, target, &host);
            assert!(status.contains("421"), "{host}{target}: {status}");
            assert!(text.contains("does not answer to the host"), "{text}");
            assert!(
                !text.contains("PUBLIC KEY") && !text.contains("<html"),
                "{text}"
            );
        }
    }
    let (status, _) = request(port, "GET / HTTP/1.0\r\n\r\n");
    assert!(status.contains("400"), "no Host: {status}");
}

#[test]
fn the_directory_option_is_gone() {
    let s = Scratch::with_key();
    s.cmd()
        .args([
            "web",
            "--port",
            "0",
            "--public-key",
            "k.pem.pub",
            "--dir",
            ".",
        ])
        .assert()
        .failure()
        .stderr(predicates::str::contains("--dir"));
}
