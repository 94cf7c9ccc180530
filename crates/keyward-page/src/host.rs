//! The Host-header guard against DNS rebinding.
//!
//! A web page on `evil.example` can make its name resolve to 127.0.0.1 and then read,
//! from its own origin, whatever a local server answers. The browser still sends
//! `Host: evil.example`, so refusing requests for names the server does not answer to
//! closes the hole. IP addresses are not subject to rebinding; only names are.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Response, StatusCode};
use axum::middleware::{from_fn, Next};
use axum::Router;

/// The `Host` values a server answers to: its listening address, `localhost` when it
/// listens on a loopback (or every) address, and the names the merchant configured (the
/// public name of `keyward serve`, for example).
///
/// Ports are not compared: rebinding changes the name, not the port, and a reverse proxy
/// may forward another port.
#[derive(Clone, Debug)]
pub struct AllowedHosts {
    listen: SocketAddr,
    names: Vec<String>,
}

impl AllowedHosts {
    /// The hosts of a server listening on `listen` (after binding: the real port).
    pub fn new(listen: SocketAddr) -> Self {
        AllowedHosts {
            listen,
            names: Vec::new(),
        }
    }

    /// Also answers to `name` (a DNS name, any case; a trailing port is ignored).
    pub fn with_name(mut self, name: &str) -> Self {
        if let Some((host, _)) = split(name) {
            self.names.push(host);
        }
        self
    }

    /// Whether a request with this `Host` header value (`name`, `name:port`, `1.2.3.4:80`,
    /// `[::1]:8080`) is for this server.
    pub fn allows(&self, host: &str) -> bool {
        let Some((host, _port)) = split(host) else {
            return false;
        };
        let ip = self.listen.ip();
        let everywhere = ip.is_unspecified();
        if let Ok(addr) = host.parse::<IpAddr>() {
            return everywhere || addr == ip;
        }
        if host == "localhost" && (everywhere || ip.is_loopback()) {
            return true;
        }
        self.names.contains(&host)
    }

    /// A name of this server, for messages: the listening address.
    fn example(&self) -> String {
        self.listen.to_string()
    }
}

/// Splits a Host value into its lower-case host (IPv6 without brackets, no trailing dot)
/// and its port; `None` when it is not a well-formed host.
fn split(value: &str) -> Option<(String, Option<u16>)> {
    let value = value.trim();
    let (host, port) = if let Some(rest) = value.strip_prefix('[') {
        let (inside, after) = rest.split_once(']')?;
        inside.parse::<std::net::Ipv6Addr>().ok()?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?.parse::<u16>().ok()?),
        };
        (inside, port)
    } else {
        match value.split_once(':') {
            Some((h, p)) => (h, Some(p.parse::<u16>().ok()?)),
            None => (value, None),
        }
    };
    let host = host.strip_suffix('.').unwrap_or(host);
    let ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b':'));
    ok.then(|| (host.to_ascii_lowercase(), port))
}

/// `router`, refusing with `421 Misdirected Request` every request whose `Host` header (or
/// absolute request target) is not one `allowed` answers to, and with `400` a request
/// without a Host. Apply it outermost: `guard_hosts(router, allowed)`.
pub fn guard_hosts<S>(router: Router<S>, allowed: AllowedHosts) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let allowed = Arc::new(allowed);
    router.layer(from_fn(move |request: Request, next: Next| {
        let allowed = Arc::clone(&allowed);
        async move {
            match refusal(&allowed, &request) {
                Some(response) => response,
                None => next.run(request).await,
            }
        }
    }))
}

/// Why `request` is refused, as the response; `None` when it is for this server.
fn refusal(allowed: &AllowedHosts, request: &Request) -> Option<Response<Body>> {
    let header = request.headers().get(header::HOST);
    let authority = request.uri().authority().map(|a| a.as_str());
    let hosts: Vec<&str> = match (header, authority) {
        (Some(h), a) => match h.to_str() {
            Ok(h) => std::iter::once(h).chain(a).collect(),
            Err(_) => {
                return Some(refuse(
                    StatusCode::BAD_REQUEST,
                    "the Host header is not text".into(),
                ))
            }
        },
        (None, Some(a)) => vec![a],
        (None, None) => {
            return Some(refuse(
                StatusCode::BAD_REQUEST,
                "the request has no Host header: say which server it is for".into(),
            ))
        }
    };
    let foreign = hosts.into_iter().find(|h| !allowed.allows(h))?;
    Some(refuse(
        StatusCode::MISDIRECTED_REQUEST,
        format!(
            "refused: this server does not answer to the host {foreign:?} (a page on another \
             name must not read it). Open it as http://{}/, or configure {foreign:?} as one of \
             the server's names.",
            allowed.example()
        ),
    ))
}

fn refuse(status: StatusCode, message: String) -> Response<Body> {
    let mut response = Response::new(Body::from(message + "\n"));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        let local =
            AllowedHosts::new("127.0.0.1:8080".parse().unwrap()).with_name("Licenses.Acme.example");
        for ok in [
            "127.0.0.1:8080",
            "127.0.0.1",
            "localhost:8080",
            "LOCALHOST",
            "licenses.acme.example",
            "licenses.acme.example.:443",
        ] {
            assert!(local.allows(ok), "{ok}");
        }
        for bad in [
            "evil.example:8080",
            "127.0.0.1.evil.example",
            "localhost.evil.example",
            "10.0.0.1:8080",
            "[::1]:8080",
            "",
            ":8080",
            "127.0.0.1:99999",
            "127.0.0.1:80:80",
            "a b",
            "acme.example",
        ] {
            assert!(!local.allows(bad), "{bad}");
        }
        let all = AllowedHosts::new("[::]:80".parse().unwrap());
        assert!(all.allows("[::1]:80") && all.allows("192.168.1.5") && all.allows("localhost"));
        assert!(!all.allows("rebind.example"));
        let public = AllowedHosts::new("192.168.1.5:80".parse().unwrap());
        assert!(!public.allows("localhost") && public.allows("192.168.1.5"));
    }
}
