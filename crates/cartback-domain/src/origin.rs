//! The browser origins a shop lets capture carts with its publishable key,
//! written as browsers send them in `Origin`. The JSON API
//! (`PUT /api/v1/settings/allowed-origins`) and the dashboard's Developers page
//! check a list with the same rules.

use crate::error::InvalidValue;

/// Most origins a tenant may list.
pub const MAX_ALLOWED_ORIGINS: usize = 50;

/// Longest origin accepted, in characters (ASCII: longer is refused first).
pub const MAX_ORIGIN_LEN: usize = 300;

/// `scheme://host[:port]` in the form browsers send in `Origin`: lower case, no
/// default port, no path. Host names must be ASCII (punycode for IDNs).
pub fn normalize_origin(text: &str) -> Result<String, String> {
    let shape = "must be an origin such as https://shop.example or http://localhost:3000 (scheme, host and optional port; no path)";
    let lower = text.trim().to_ascii_lowercase();
    // Long enough for any real origin; the OpenAPI document states the same limit.
    if lower.len() > MAX_ORIGIN_LEN {
        return Err(format!("must be at most {MAX_ORIGIN_LEN} characters"));
    }
    let (scheme, rest) = lower.split_once("://").ok_or(shape)?;
    let default_port = match scheme {
        "https" => 443,
        "http" => 80,
        _ => return Err("the scheme must be http or https".to_owned()),
    };
    if rest.is_empty()
        || rest.contains(['/', '?', '#', '@', '\\'])
        || rest.contains(char::is_whitespace)
    {
        return Err(shape.to_owned());
    }
    let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
        let (address, after) = inner.split_once(']').ok_or(shape)?;
        address
            .parse::<std::net::Ipv6Addr>()
            .map_err(|_| format!("{address:?} is not an IPv6 address"))?;
        let port = match after {
            "" => None,
            _ => Some(after.strip_prefix(':').ok_or(shape)?),
        };
        (format!("[{address}]"), port)
    } else {
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        };
        valid_host(host)?;
        (host.to_owned(), port)
    };
    let port = match port {
        None => None,
        Some(digits) => {
            let number = digits
                .parse::<u16>()
                .ok()
                .filter(|p| *p > 0 && digits.bytes().all(|b| b.is_ascii_digit()))
                .ok_or("the port must be a number from 1 to 65535")?;
            (number != default_port).then_some(number)
        }
    };
    Ok(match port {
        Some(port) => format!("{scheme}://{host}:{port}"),
        None => format!("{scheme}://{host}"),
    })
}

fn valid_host(host: &str) -> Result<(), String> {
    let bad = || format!("{host:?} is not a host name");
    if host.is_empty() {
        return Err(bad());
    }
    let labels_ok = host.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    });
    if labels_ok { Ok(()) } else { Err(bad()) }
}

/// A whole list, normalised and without duplicates; the errors name each bad
/// entry as `allowedOrigins[i]`, or the list when it is too long.
///
/// ```
/// use cartback_domain::parse_origins_list;
/// let list = ["https://Shop.example", "https://shop.example:443", "http://localhost:3000"];
/// assert_eq!(parse_origins_list(&list).unwrap(), ["https://shop.example", "http://localhost:3000"]);
/// let errors = parse_origins_list(&["https://ok.example", "shop.example"]).unwrap_err();
/// assert_eq!(errors[0].field.as_deref(), Some("allowedOrigins[1]"));
/// ```
pub fn parse_origins_list<S: AsRef<str>>(texts: &[S]) -> Result<Vec<String>, Vec<InvalidValue>> {
    if texts.len() > MAX_ALLOWED_ORIGINS {
        return Err(vec![
            InvalidValue::new(format!(
                "at most {MAX_ALLOWED_ORIGINS} origins, got {}",
                texts.len()
            ))
            .at("allowedOrigins"),
        ]);
    }
    let mut problems = Vec::new();
    let mut origins: Vec<String> = Vec::with_capacity(texts.len());
    for (index, text) in texts.iter().enumerate() {
        match normalize_origin(text.as_ref()) {
            Ok(origin) if !origins.contains(&origin) => origins.push(origin),
            Ok(_) => {}
            Err(message) => {
                problems.push(InvalidValue::new(message).at(format!("allowedOrigins[{index}]")));
            }
        }
    }
    if problems.is_empty() {
        Ok(origins)
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalized_like_browsers_send_them() {
        for (given, expected) in [
            ("https://shop.example", "https://shop.example"),
            ("HTTPS://Shop.Example", "https://shop.example"),
            ("https://shop.example:443", "https://shop.example"),
            ("http://shop.example:80", "http://shop.example"),
            ("http://localhost:3000", "http://localhost:3000"),
            ("https://127.0.0.1:8443", "https://127.0.0.1:8443"),
            ("http://[::1]:8080", "http://[::1]:8080"),
            (
                " https://xn--bcher-kva.example ",
                "https://xn--bcher-kva.example",
            ),
        ] {
            assert_eq!(normalize_origin(given).as_deref(), Ok(expected), "{given}");
        }
    }

    #[test]
    fn anything_but_an_origin_is_refused() {
        for bad in [
            "",
            "shop.example",
            "ftp://shop.example",
            "https://",
            "https://shop.example/",
            "https://shop.example/cart",
            "https://shop.example?x=1",
            "https://user@shop.example",
            "https://shop.example:0",
            "https://shop.example:99999",
            "https://shop.example:",
            "https://-shop.example",
            "https://shop..example",
            "https://shop example",
            "https://bücher.example",
            "https://*.shop.example",
            "http://[::1",
            "null",
        ] {
            assert!(normalize_origin(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
