//! Which network addresses cartback refuses to call on a tenant's behalf (webhook
//! endpoints, a tenant's own email provider): the one classification both the
//! webhook deliverer and the email adapters use.
//!
//! It lives in the domain because it is a pure rule over values (no lookup, no
//! socket): the webhooks and email crates can both depend on it without either
//! pulling in the other's HTTP, SMTP or AWS stack. Resolving names and connecting
//! stay in those crates.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// True for addresses an outgoing call chosen by a tenant must not reach unless
/// the operator allows private targets: loopback, private, link-local (cloud
/// metadata), carrier-grade NAT, documentation, multicast and reserved ranges,
/// and IPv6 forms that carry such an IPv4 address inside.
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
        || (first == 0x2001 && segments[1] == 0x0db8) // documentation
        // Local-use NAT64 64:ff9b:1::/48 (RFC 8215): the translator is the
        // operator's own, and what it reaches is the operator's network.
        || (first == 0x64 && segments[1] == 0xff9b && segments[2] == 1)
    {
        return true;
    }
    // Addresses that carry an IPv4 address inside, which a stack may route to it:
    // classify the embedded address.
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    let v4 = match segments {
        // IPv4-compatible ::a.b.c.d and IPv4-mapped ::ffff:a.b.c.d (::ffff:0:0/96)
        [0, 0, 0, 0, 0, 0 | 0xffff, hi, lo] => Some(embedded(hi, lo)),
        // IPv4-translated ::ffff:0:a.b.c.d (RFC 2765)
        [0, 0, 0, 0, 0xffff, 0, hi, lo] => Some(embedded(hi, lo)),
        // Well-known NAT64 64:ff9b::/96
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some(embedded(hi, lo)),
        // 6to4 2002:aabb:ccdd::/48
        [0x2002, hi, lo, ..] => Some(embedded(hi, lo)),
        _ => None,
    };
    v4.is_some_and(is_forbidden_v4)
}

/// `localhost` and any name under `.localhost` (RFC 6761: always loopback).
pub fn is_localhost_name(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    host == "localhost" || host.ends_with(".localhost")
}

/// What can be told about a host without resolving it: a literal address that is
/// forbidden (brackets around IPv6 allowed), or a `localhost` name. Other names
/// need resolving, at every connection.
pub fn is_forbidden_host_literal(host: &str) -> bool {
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    match literal.parse::<IpAddr>() {
        Ok(ip) => is_forbidden_ip(ip),
        Err(_) => is_localhost_name(host),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_ip_table() {
        let cases = [
            ("0.0.0.0", true),
            ("10.0.0.1", true),
            ("100.64.0.1", true),
            ("100.63.255.255", false),
            ("127.0.0.1", true),
            ("169.254.169.254", true),
            ("172.16.0.1", true),
            ("172.32.0.0", false),
            ("192.168.1.1", true),
            ("224.0.0.251", true),
            ("8.8.8.8", false),
            ("::", true),
            ("::1", true),
            ("fd12:3456::1", true),
            ("fe80::1", true),
            ("2001:db8::1", true),
            ("2606:4700:4700::1111", false),
        ];
        for (text, forbidden) in cases {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(is_forbidden_ip(ip), forbidden, "{text}");
        }
    }

    #[test]
    fn ipv6_forms_carrying_ipv4() {
        let cases = [
            // IPv4-mapped ::ffff:0:0/96: the embedded address decides.
            ("::ffff:127.0.0.1", true),
            ("::ffff:10.1.2.3", true),
            ("::ffff:169.254.169.254", true),
            ("::ffff:192.168.0.1", true),
            ("::ffff:8.8.8.8", false),
            ("::ffff:1.1.1.1", false),
            // IPv4-translated ::ffff:0:0:0/96.
            ("::ffff:0:7f00:1", true),
            ("::ffff:0:808:808", false),
            // IPv4-compatible (deprecated).
            ("::127.0.0.1", true),
            // Well-known NAT64 64:ff9b::/96: mapped private v4 refused, public allowed.
            ("64:ff9b::a9fe:a9fe", true),
            ("64:ff9b::7f00:1", true),
            ("64:ff9b::c0a8:101", true),
            ("64:ff9b::a00:1", true),
            ("64:ff9b::808:808", false),
            // Local-use NAT64 64:ff9b:1::/48 (RFC 8215): refused whatever it maps.
            ("64:ff9b:1::808:808", true),
            ("64:ff9b:1::1", true),
            ("64:ff9b:1:ffff:ffff:ffff:ffff:ffff", true),
            // Just outside it.
            ("64:ff9b:2::808:808", false),
            // 6to4.
            ("2002:c0a8:0101::1", true),
            ("2002:0808:0808::1", false),
        ];
        for (text, forbidden) in cases {
            let ip: IpAddr = text.parse().unwrap();
            assert_eq!(is_forbidden_ip(ip), forbidden, "{text}");
        }
    }

    #[test]
    fn host_literals() {
        for host in [
            "127.0.0.1",
            "[::1]",
            "::1",
            "[::ffff:127.0.0.1]",
            "localhost",
            "LocalHost.",
            "api.localhost",
            "169.254.169.254",
        ] {
            assert!(is_forbidden_host_literal(host), "{host}");
        }
        for host in [
            "8.8.8.8",
            "[2606:4700:4700::1111]",
            "smtp.example.com",
            "localhost.example",
        ] {
            assert!(!is_forbidden_host_literal(host), "{host}");
        }
    }
}
