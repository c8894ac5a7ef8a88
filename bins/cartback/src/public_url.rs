//! The public URL every link starts with (recovery and unsubscribe links in
//! emails, dashboard sign-in links), and the guard against leaving it at its
//! loopback default on a server that others reach.
//!
//! - `cartback-api` refuses to start when `--public-url` is not given and
//!   `--bind` is not a loopback address: it serves the world, so its links
//!   must not lead to the visitor's own machine.
//! - `cartback-worker` binds nothing, so it cannot tell; it warns at start
//!   whenever its public URL points at a loopback host.
//! - `cartback dev` derives the URL from `--bind`.

use std::net::{IpAddr, SocketAddr};

use anyhow::bail;

use crate::options::DEFAULT_PUBLIC_URL;

/// The api's public URL: the given one, or the default while the api listens on
/// loopback only.
pub fn for_api(given: Option<&str>, bind: SocketAddr) -> anyhow::Result<String> {
    match given {
        Some(url) => checked(url),
        None if bind.ip().is_loopback() => Ok(DEFAULT_PUBLIC_URL.to_owned()),
        None => bail!(
            "the api listens on {bind}, beyond this machine, but --public-url (CARTBACK_PUBLIC_URL) is not set: \
             links in emails and dashboard sign-in links would lead to {DEFAULT_PUBLIC_URL}, which no shopper reaches. \
             Set it to the address browsers use, e.g. CARTBACK_PUBLIC_URL=https://cartback.example.com"
        ),
    }
}

/// The worker's public URL: the given one or the default, with a warning when
/// shoppers cannot open its links.
pub fn for_worker(given: Option<&str>) -> anyhow::Result<String> {
    let url = match given {
        Some(url) => checked(url)?,
        None => DEFAULT_PUBLIC_URL.to_owned(),
    };
    if is_local(&url) {
        tracing::warn!(
            public_url = %url,
            "links in recovery emails point at a loopback address that shoppers cannot open: \
             set --public-url (CARTBACK_PUBLIC_URL) to the api's public address, e.g. https://cartback.example.com"
        );
    }
    Ok(url)
}

/// `cartback dev`'s public URL: the given one, or where this process listens
/// (an all-interfaces bind is reached through loopback on this machine).
pub fn for_dev(given: Option<&str>, bind: SocketAddr) -> anyhow::Result<String> {
    if let Some(url) = given {
        return checked(url);
    }
    let mut reachable = bind;
    if bind.ip().is_unspecified() {
        reachable.set_ip(match bind.ip() {
            IpAddr::V4(_) => IpAddr::from([127, 0, 0, 1]),
            IpAddr::V6(_) => IpAddr::from(std::net::Ipv6Addr::LOCALHOST),
        });
    }
    Ok(format!("http://{reachable}"))
}

/// An absolute http(s) URL with a host, without a trailing slash.
fn checked(url: &str) -> anyhow::Result<String> {
    let trimmed = url.trim().trim_end_matches('/');
    if host_of(trimmed).is_none_or(str::is_empty) {
        bail!(
            "--public-url {url:?} is not an absolute http:// or https:// URL (e.g. https://cartback.example.com)"
        );
    }
    Ok(trimmed.to_owned())
}

/// The host of an http(s) URL: without scheme, user info, port and path.
fn host_of(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    if let Some(bracketed) = host_port.strip_prefix('[') {
        return bracketed.split(']').next();
    }
    host_port.split(':').next()
}

/// Whether only this machine reaches the URL's host.
fn is_local(url: &str) -> bool {
    let Some(host) = host_of(url) else {
        return false;
    };
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback() || ip.is_unspecified())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_api_needs_a_public_url_beyond_loopback() {
        assert_eq!(
            for_api(None, addr("127.0.0.1:8080")).unwrap(),
            DEFAULT_PUBLIC_URL
        );
        assert_eq!(
            for_api(None, addr("[::1]:8080")).unwrap(),
            DEFAULT_PUBLIC_URL
        );
        let refused = for_api(None, addr("0.0.0.0:8080")).unwrap_err().to_string();
        assert!(refused.contains("CARTBACK_PUBLIC_URL"), "{refused}");
        assert_eq!(
            for_api(Some("https://cb.example.com/"), addr("0.0.0.0:8080")).unwrap(),
            "https://cb.example.com"
        );
        assert!(for_api(Some("cb.example.com"), addr("0.0.0.0:8080")).is_err());
        assert!(for_api(Some("https://"), addr("0.0.0.0:8080")).is_err());
    }

    #[test]
    fn dev_derives_its_url_from_the_bind_address() {
        assert_eq!(
            for_dev(None, addr("127.0.0.1:9090")).unwrap(),
            "http://127.0.0.1:9090"
        );
        assert_eq!(
            for_dev(None, addr("0.0.0.0:9090")).unwrap(),
            "http://127.0.0.1:9090"
        );
        assert_eq!(
            for_dev(None, addr("[::]:9090")).unwrap(),
            "http://[::1]:9090"
        );
        assert_eq!(
            for_dev(Some("https://tunnel.example"), addr("127.0.0.1:9090")).unwrap(),
            "https://tunnel.example"
        );
    }

    #[test]
    fn local_hosts_are_recognised() {
        for local in [
            "http://127.0.0.1:8080",
            "http://localhost:8080/x",
            "http://[::1]:8080",
            "http://user@127.0.0.2",
            "http://0.0.0.0:8080",
            "http://shop.localhost",
        ] {
            assert!(is_local(local), "{local}");
        }
        for public in [
            "https://cartback.example.com",
            "http://10.0.0.5:8080",
            "https://[2001:db8::1]:443",
        ] {
            assert!(!is_local(public), "{public}");
        }
    }
}
