//! SSRF guard: which webhook URLs and addresses we refuse to reach.

pub use cartback_domain::net::{is_forbidden_ip, is_localhost_name};

use reqwest::Url;

/// Longest URL a tenant may give, in characters.
pub const MAX_URL_LEN: usize = 2048;

/// Longest URL stored: the parser may percent-encode what was given (a
/// character outside ASCII becomes up to 12), so the given length is what is
/// limited, and the stored form only against absurd growth.
const MAX_STORED_URL_LEN: usize = 12 * MAX_URL_LEN;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TargetError {
    #[error("not a valid URL: {0}")]
    BadUrl(String),
    #[error("only http and https URLs are allowed")]
    Scheme,
    #[error("the URL has no host")]
    NoHost,
    #[error("{0} is a private, loopback or otherwise reserved address")]
    Forbidden(String),
    #[error("user names and passwords in the URL are not allowed")]
    Credentials,
}

/// Static checks at save time. Returns the normalised URL.
///
/// Host names other than `localhost` are not resolved here: the deliverer's
/// resolver refuses private answers at connect time, which also covers DNS
/// rebinding.
pub fn check_url(url: &str, allow_private: bool) -> Result<String, TargetError> {
    if url.chars().count() > MAX_URL_LEN {
        return Err(TargetError::BadUrl(format!(
            "longer than {MAX_URL_LEN} characters"
        )));
    }
    let parsed = Url::parse(url.trim()).map_err(|e| TargetError::BadUrl(e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(TargetError::Scheme);
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(TargetError::Credentials);
    }
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or(TargetError::NoHost)?;
    // WHATWG URLs allow hosts such as `*.example.com` that no resolver can
    // answer: a name is letters, digits, `-`, `_` and dots (after IDNA).
    if let Some(name) = parsed.domain()
        && !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(TargetError::BadUrl(format!(
            "{name:?} is no host name (letters, digits, '-', '_' and '.')"
        )));
    }
    if !allow_private {
        // The parser has already rewritten numeric hosts ("127.1", "0x7f000001")
        // to dotted IPv4, and IPv6 literals keep their brackets.
        let forbidden = cartback_domain::net::is_forbidden_host_literal(host);
        if forbidden {
            return Err(TargetError::Forbidden(host.to_owned()));
        }
    }
    let normalised = parsed.to_string();
    if normalised.len() > MAX_STORED_URL_LEN {
        return Err(TargetError::BadUrl(format!(
            "longer than {MAX_STORED_URL_LEN} characters once percent-encoded"
        )));
    }
    Ok(normalised)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    #[test]
    fn forbidden_ip_table() {
        let cases = [
            ("0.0.0.0", true),
            ("0.1.2.3", true),
            ("10.0.0.1", true),
            ("100.64.0.1", true),
            ("100.127.255.254", true),
            ("100.63.255.255", false),
            ("100.128.0.0", false),
            ("127.0.0.1", true),
            ("127.255.0.9", true),
            ("169.254.169.254", true),
            ("172.15.255.255", false),
            ("172.16.0.1", true),
            ("172.31.255.255", true),
            ("172.32.0.0", false),
            ("192.0.0.8", true),
            ("192.0.2.10", true),
            ("192.168.1.1", true),
            ("198.18.0.1", true),
            ("198.51.100.7", true),
            ("203.0.113.9", true),
            ("224.0.0.251", true),
            ("240.0.0.1", true),
            ("255.255.255.255", true),
            ("1.1.1.1", false),
            ("8.8.8.8", false),
            ("93.184.216.34", false),
            ("::", true),
            ("::1", true),
            ("fc00::1", true),
            ("fd12:3456::1", true),
            ("fe80::1", true),
            ("febf::1", true),
            ("fec0::1", true),
            ("ff02::1", true),
            ("2001:db8::1", true),
            ("::ffff:127.0.0.1", true),
            ("::ffff:10.1.2.3", true),
            ("::ffff:169.254.169.254", true),
            ("::127.0.0.1", true),
            ("64:ff9b::a9fe:a9fe", true),
            ("2002:c0a8:0101::1", true),
            ("::ffff:8.8.8.8", false),
            ("2002:0808:0808::1", false),
            ("2606:4700:4700::1111", false),
            ("2a00:1450:4001:81b::200e", false),
        ];
        for (text, forbidden) in cases {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(is_forbidden_ip(ip), forbidden, "{text}");
        }
    }

    #[test]
    fn check_url_accepts_public_and_normalises() {
        assert_eq!(
            check_url("https://Example.COM/hooks?x=1", false).unwrap(),
            "https://example.com/hooks?x=1"
        );
        assert_eq!(
            check_url("http://8.8.8.8:8080", false).unwrap(),
            "http://8.8.8.8:8080/"
        );
        assert_eq!(
            check_url("http://[2606:4700:4700::1111]/h", false).unwrap(),
            "http://[2606:4700:4700::1111]/h"
        );
    }

    #[test]
    fn check_url_refusals() {
        let forbidden = |url: &str| matches!(check_url(url, false), Err(TargetError::Forbidden(_)));
        for url in [
            "http://127.0.0.1:8080/",
            "http://127.1/",
            "http://0x7f000001/",
            "http://2130706433/",
            "http://10.0.0.5/hook",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]:3000/",
            "http://[::ffff:127.0.0.1]/",
            "http://[fd00::1]/",
            "http://localhost:3000/",
            "http://LOCALHOST./",
            "http://api.localhost/",
            "http://0.0.0.0/",
            "http://127.0.0.1./",
            "http://[0:0:0:0:0:0:0:1]/",
        ] {
            assert!(forbidden(url), "{url}");
            assert!(
                check_url(url, true).is_ok(),
                "{url} allowed when private is allowed"
            );
        }
        assert_eq!(
            check_url("ftp://example.com/", false),
            Err(TargetError::Scheme)
        );
        assert_eq!(
            check_url("file:///etc/passwd", true),
            Err(TargetError::Scheme)
        );
        assert_eq!(
            check_url("https://user:pass@example.com/", false),
            Err(TargetError::Credentials)
        );
        assert_eq!(
            check_url("https://user@example.com/", true),
            Err(TargetError::Credentials)
        );
        assert!(matches!(
            check_url("not a url", false),
            Err(TargetError::BadUrl(_))
        ));
        for url in [
            "https://*.example.com/",
            "https://ex*ample.com/h",
            "http://a!b.example/",
        ] {
            assert!(
                matches!(check_url(url, true), Err(TargetError::BadUrl(_))),
                "{url} has no host name"
            );
        }
        assert!(check_url("https://hooks_1.example.com./x", false).is_ok());
        assert!(check_url("https://bücher.example/", false).is_ok());
        assert!(matches!(
            check_url("https://", false),
            Err(TargetError::BadUrl(_))
        ));
        let long = format!("https://example.com/{}", "a".repeat(MAX_URL_LEN));
        assert!(matches!(
            check_url(&long, false),
            Err(TargetError::BadUrl(_))
        ));
    }
}
