//! `keyward web`: serves the buyer activation page (static files) on 127.0.0.1, plus
//! `GET /config.json` with the merchant's public keys. GET and HEAD only; no directory
//! traversal. Ctrl-C stops it.

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use serde_json::json;

use crate::env::{load_trusted, Env};
use crate::exit::{CliError, CmdResult, Exit};
use crate::output::print_json;

/// `keyward web …`
#[derive(Args)]
pub struct WebArgs {
    /// The port to listen on (on 127.0.0.1 only).
    #[arg(long, value_name = "P")]
    port: u16,
    /// The merchant's public key(s), published in /config.json.
    #[arg(long, value_name = "FILE")]
    public_key: PathBuf,
    /// The page's static files.
    #[arg(long, value_name = "DIR", default_value = "web")]
    dir: PathBuf,
}

/// Longest request head read.
const MAX_HEAD: usize = 16 * 1024;
/// Largest file served.
const MAX_FILE: u64 = 64 * 1024 * 1024;
/// Connections handled at once.
const MAX_CONNECTIONS: usize = 64;

/// The `Content-Type` of a file, by extension.
pub fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "wasm" => "application/wasm",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "txt" | "md" => "text/plain; charset=utf-8",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "webmanifest" => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

/// Decodes `%XX` escapes; `None` for a malformed escape.
fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b.get(i + 1..i + 3)?;
            if !hex.iter().all(u8::is_ascii_hexdigit) {
                return None;
            }
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    Some(out)
}

/// What a request path resolves to.
#[derive(Debug, PartialEq, Eq)]
pub enum Route {
    /// `/config.json`.
    Config,
    /// A file below the root, as path segments (`index.html` for `/`).
    File(Vec<String>),
    /// Refused: 400 with this reason.
    Bad(&'static str),
    /// Refused: 404 (hidden files).
    NotFound,
}

/// Maps a request target to a route, refusing traversal (`..`, also percent-encoded),
/// backslashes, NUL and hidden files.
pub fn route(target: &str) -> Route {
    let path = target.split(['?', '#']).next().unwrap_or("");
    if !path.starts_with('/') {
        return Route::Bad("the path must start with /");
    }
    let Some(bytes) = percent_decode(path) else {
        return Route::Bad("malformed percent escape");
    };
    let Ok(decoded) = String::from_utf8(bytes) else {
        return Route::Bad("the path is not UTF-8");
    };
    if decoded.contains('\\') || decoded.contains('\0') {
        return Route::Bad("backslash or NUL in the path");
    }
    let mut segments = Vec::new();
    for seg in decoded.split('/') {
        match seg {
            "" | "." => {}
            ".." => return Route::Bad("'..' in the path"),
            s if s.starts_with('.') => return Route::NotFound,
            s => segments.push(s.to_string()),
        }
    }
    if segments.len() == 1 && segments[0] == "config.json" {
        return Route::Config;
    }
    if segments.is_empty() || decoded.ends_with('/') {
        segments.push("index.html".to_string());
    }
    Route::File(segments)
}

struct Response {
    status: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
    extra: &'static str,
}

fn text_response(status: &'static str, body: &str) -> Response {
    Response {
        status,
        content_type: "text/plain; charset=utf-8",
        body: format!("{body}\n").into_bytes(),
        extra: "",
    }
}

fn serve_file(root: &Path, segments: &[String]) -> Response {
    let mut p = root.to_path_buf();
    for s in segments {
        p.push(s);
    }
    // Resolve symbolic links and check the file is still below the root.
    let Ok(mut real) = fs::canonicalize(&p) else {
        return text_response("404 Not Found", "not found");
    };
    if real.is_dir() {
        real.push("index.html");
    }
    if !real.starts_with(root) || !real.is_file() {
        return text_response("404 Not Found", "not found");
    }
    let body = match fs::File::open(&real).and_then(|f| {
        let mut buf = Vec::new();
        f.take(MAX_FILE + 1).read_to_end(&mut buf).map(|_| buf)
    }) {
        Ok(b) if b.len() as u64 <= MAX_FILE => b,
        Ok(_) => return text_response("500 Internal Server Error", "file too large"),
        Err(_) => return text_response("404 Not Found", "not found"),
    };
    Response {
        status: "200 OK",
        content_type: content_type(&real),
        body,
        extra: "",
    }
}

fn respond(stream: &mut TcpStream, r: &Response, head_only: bool) {
    let head = format!(
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\n{}Connection: close\r\n\r\n",
        r.status,
        r.content_type,
        r.body.len(),
        r.extra
    );
    let _ = stream.write_all(head.as_bytes());
    if !head_only {
        let _ = stream.write_all(&r.body);
    }
    let _ = stream.flush();
}

fn handle(mut stream: TcpStream, root: &Path, config: &str) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let Ok(clone) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(clone.take(MAX_HEAD as u64));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Read (and ignore) the headers, up to the blank line.
    loop {
        let mut h = String::new();
        match reader.read_line(&mut h) {
            Ok(0) => break,
            Ok(_) if h == "\r\n" || h == "\n" => break,
            Ok(_) => {}
            Err(_) => return,
        }
    }
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        respond(
            &mut stream,
            &text_response("400 Bad Request", "bad request"),
            false,
        );
        return;
    };
    let head_only = method == "HEAD";
    if method != "GET" && !head_only {
        let mut r = text_response("405 Method Not Allowed", "only GET and HEAD");
        r.extra = "Allow: GET, HEAD\r\n";
        respond(&mut stream, &r, false);
        return;
    }
    let r = match route(target) {
        Route::Config => Response {
            status: "200 OK",
            content_type: "application/json",
            body: config.as_bytes().to_vec(),
            extra: "",
        },
        Route::File(segments) => serve_file(root, &segments),
        Route::Bad(why) => text_response("400 Bad Request", why),
        Route::NotFound => text_response("404 Not Found", "not found"),
    };
    respond(&mut stream, &r, head_only);
}

/// Runs `keyward web` until interrupted.
pub fn run(env: &Env, a: WebArgs) -> CmdResult {
    let (keys, _) = load_trusted(&a.public_key)?;
    let pems: Vec<String> = keys.keys().iter().map(|k| k.to_pem()).collect();
    let config = json!({ "public_keys": pems, "activation_url": null }).to_string();
    let root = fs::canonicalize(&a.dir)
        .ok()
        .filter(|p| p.is_dir())
        .ok_or_else(|| {
            CliError::other(
                "no_page",
                format!(
                    "the page directory {} does not exist: give --dir DIR (the folder holding index.html, normally web/)",
                    a.dir.display()
                ),
            )
        })?;
    let listener = TcpListener::bind(("127.0.0.1", a.port)).map_err(|e| {
        CliError::other(
            "io",
            format!(
                "cannot listen on 127.0.0.1:{}: {e}; choose another --port",
                a.port
            ),
        )
    })?;
    let url = format!("http://127.0.0.1:{}/", a.port);
    if env.json {
        print_json(&json!({ "url": url, "dir": root.display().to_string(), "port": a.port }));
    }
    errln!(
        "Serving the activation page from {} at {url} — press Ctrl-C to stop.",
        root.display()
    );
    let root = Arc::new(root);
    let config: Arc<str> = Arc::from(config);
    let active = Arc::new(AtomicUsize::new(0));
    for stream in listener.incoming() {
        let Ok(mut stream) = stream else { continue };
        if active.load(Ordering::SeqCst) >= MAX_CONNECTIONS {
            respond(
                &mut stream,
                &text_response("503 Service Unavailable", "busy"),
                false,
            );
            continue;
        }
        active.fetch_add(1, Ordering::SeqCst);
        let (root, config, counter) = (Arc::clone(&root), Arc::clone(&config), Arc::clone(&active));
        let spawned = std::thread::Builder::new().spawn(move || {
            handle(stream, &root, &config);
            counter.fetch_sub(1, Ordering::SeqCst);
        });
        if spawned.is_err() {
            active.fetch_sub(1, Ordering::SeqCst);
        }
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(route("/"), Route::File(vec!["index.html".into()]));
        assert_eq!(route("/config.json?x=1"), Route::Config);
        assert_eq!(
            route("/pkg/a.wasm"),
            Route::File(vec!["pkg".into(), "a.wasm".into()])
        );
        assert!(matches!(route("/../Cargo.toml"), Route::Bad(_)));
        assert!(matches!(route("/%2e%2e/Cargo.toml"), Route::Bad(_)));
        assert!(matches!(route("/a/%2E%2E/%2e%2E/x"), Route::Bad(_)));
        assert!(matches!(route("/a%5c..%5cb"), Route::Bad(_)));
        assert!(matches!(route("/%zz"), Route::Bad(_)));
        assert!(matches!(route("/%"), Route::Bad(_)));
        assert!(matches!(route("x"), Route::Bad(_)));
        assert_eq!(route("/.git/config"), Route::NotFound);
        assert_eq!(content_type(Path::new("a.wasm")), "application/wasm");
        assert_eq!(
            content_type(Path::new("I.HTML")),
            "text/html; charset=utf-8"
        );
    }
}
