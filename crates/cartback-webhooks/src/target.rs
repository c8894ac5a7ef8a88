//! SSRF guard: which webhook URLs and addresses we refuse to reach.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use reqwest::Url;

pub const MAX_URL_LEN: usize = 2048;

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

/// True for addresses a webhook must not reach unless explicitly allowed.
pub fn is_forbidden_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => is_forbidden_v6(v6),
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    a == 0 // "this network", includes 0.0.0.0
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b)) // CGNAT
        || (a == 169 && b == 254) // link-local, cloud metadata
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 168)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 224 // multicast, reserved, broadcast
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    let segments = ip.segments();
    if ip.is_unspecified() || ip.is_loopback() || ip.is_multicast() {
        return true;
    }
    let first = segments[0];
    if (first & 0xfe00) == 0xfc00 // ULA fc00::/7
        || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (first & 0xffc0) == 0xfec0 // old site-local fec0::/10
        || (first == 0x2001 && segments[1] == 0x0db8)
    // documentation
    {
        return true;
    }
    // Addresses that carry an IPv4 address inside, which a stack may route to it.
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    let v4 = match segments {
        // IPv4-compatible ::a.b.c.d and IPv4-mapped ::ffff:a.b.c.d
        [0, 0, 0, 0, 0, 0 | 0xffff, hi, lo] => Some(embedded(hi, lo)),
        // NAT64 64:ff9b::/96
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(embedded(hi, lo)),
        // 6to4 2002:aabb:ccdd::/48
        [0x2002, hi, lo, ..] => Some(embedded(hi, lo)),
        _ => None,
    };
    v4.is_some_and(is_forbidden_v4)
}

fn is_localhost_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// Static checks at save time. Returns the normalised URL.
///
/// Host names other than `localhost` are not resolved here: the deliverer's
/// resolver refuses private answers at connect time, which also covers DNS
/// rebinding.
pub fn check_url(url: &str, allow_private: bool) -> Result<String, TargetError> {
    if url.len() > MAX_URL_LEN {
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
    if !allow_private {
        // The parser has already rewritten numeric hosts ("127.1", "0x7f000001")
        // to dotted IPv4, and IPv6 literals keep their brackets.
        let literal = host.trim_start_matches('[').trim_end_matches(']');
        let forbidden = match literal.parse::<IpAddr>() {
            Ok(ip) => is_forbidden_ip(ip),
            Err(_) => is_localhost_name(host),
        };
        if forbidden {
            return Err(TargetError::Forbidden(host.to_owned()));
        }
    }
    let normalised = parsed.to_string();
    if normalised.len() > MAX_URL_LEN {
        return Err(TargetError::BadUrl(format!(
            "longer than {MAX_URL_LEN} characters"
        )));
    }
    Ok(normalised)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

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
