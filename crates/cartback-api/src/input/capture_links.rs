//! Item links in carts captured with a publishable key.
//!
//! A `pk_` key is public: anyone can store a cart for any address with it, and
//! the shop's own provider then mails the cart's item links to that address. So
//! a publishable capture keeps an item's `url` and image URL only when it points
//! at the shop itself: an origin on the tenant's allowed origins, or the host of
//! its recovery URL. Other links are dropped (the item stays, without the link)
//! and the answer says how many. Secret-key captures are trusted as they are.

use cartback_domain::CartItem;
use cartback_store::origins::parse_origins;
use cartback_store::tenants::Tenant;

use crate::middleware::cors::normalize_origin;

/// Shortest session id a publishable key may capture with. A browser's id must
/// not be guessable, or a stranger could overwrite another shopper's cart (its
/// address, and with it where the restore link and coupon go); `tracker.js`
/// makes 32 random hex characters.
pub(crate) const MIN_PUBLISHABLE_SESSION_CHARS: usize = 16;

/// Where a link points: scheme and host, and the origin browsers would name.
#[derive(Debug, PartialEq, Eq)]
struct LinkTarget {
    origin: String,
    https: bool,
    host: String,
}

/// The target of an absolute http(s) link, or None when it cannot be read
/// without doubt. Credentials (`user@`), backslashes and percent-escapes in the
/// authority are refused outright: parsers (mail clients, browsers) disagree on
/// them, and they are how a link dresses up as another host.
fn link_target(link: &str) -> Option<LinkTarget> {
    let (https, rest) = if let Some(rest) = link.strip_prefix("https://") {
        (true, rest)
    } else {
        (false, link.strip_prefix("http://")?)
    };
    let end = rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len());
    if rest[end..].starts_with('\\') {
        return None;
    }
    let authority = &rest[..end];
    if authority.contains(['@', '%']) {
        return None;
    }
    let scheme = if https { "https" } else { "http" };
    let origin = normalize_origin(&format!("{scheme}://{authority}")).ok()?;
    let host_and_port = origin.split_once("://").map_or("", |(_, rest)| rest);
    let host = if host_and_port.starts_with('[') {
        // An IPv6 literal: the host runs to the closing bracket.
        host_and_port
            .find(']')
            .map_or(host_and_port, |i| &host_and_port[..=i])
    } else {
        host_and_port.split(':').next().unwrap_or_default()
    };
    Some(LinkTarget {
        host: host.to_owned(),
        origin,
        https,
    })
}

/// The places a tenant's publishable captures may link to.
pub(crate) struct LinkPolicy {
    origins: Vec<String>,
    recovery: Option<LinkTarget>,
}

impl LinkPolicy {
    pub(crate) fn for_tenant(tenant: &Tenant) -> LinkPolicy {
        LinkPolicy {
            origins: parse_origins(&tenant.allowed_origins),
            recovery: tenant.recovery_url.as_deref().and_then(link_target),
        }
    }

    /// True when `link` points at one of the allowed origins (scheme, host and
    /// port as listed), or at exactly the recovery URL's host (https, or http
    /// when the recovery URL itself is http).
    pub(crate) fn allows(&self, link: &str) -> bool {
        let Some(target) = link_target(link) else {
            return false;
        };
        if self.origins.contains(&target.origin) {
            return true;
        }
        self.recovery
            .as_ref()
            .is_some_and(|r| r.host == target.host && (target.https || !r.https))
    }
}

/// Drops the links of `items` that `policy` does not allow, and names each one
/// (`{prefix}[i].url`, `{prefix}[i].imageUrl`) for the answer.
pub(crate) fn drop_foreign_links(
    items: &mut [CartItem],
    policy: &LinkPolicy,
    prefix: &str,
) -> Vec<String> {
    let mut dropped = Vec::new();
    for (index, item) in items.iter_mut().enumerate() {
        for (field, link) in [("url", &mut item.url), ("imageUrl", &mut item.image_url)] {
            if link.as_deref().is_some_and(|l| !policy.allows(l)) {
                *link = None;
                dropped.push(format!("{prefix}[{index}].{field}"));
            }
        }
    }
    dropped
}

/// The warnings of an answer, one per dropped link.
pub(crate) fn warnings(dropped: &[String]) -> Vec<String> {
    dropped
        .iter()
        .map(|path| {
            format!(
                "{path} was dropped: a publishable key may only link to the shop's allowed origins or its recovery URL's host"
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(origins: &[&str], recovery: Option<&str>) -> LinkPolicy {
        LinkPolicy {
            origins: origins.iter().map(|o| (*o).to_owned()).collect(),
            recovery: recovery.and_then(link_target),
        }
    }

    #[test]
    fn targets_are_read_like_origins() {
        let t = link_target("https://Shop.Example:443/p/1?x=y#z").unwrap();
        assert_eq!(
            t,
            LinkTarget {
                origin: "https://shop.example".into(),
                https: true,
                host: "shop.example".into()
            }
        );
        let t = link_target("http://localhost:3000").unwrap();
        assert_eq!(
            (t.origin.as_str(), t.host.as_str()),
            ("http://localhost:3000", "localhost")
        );
        let t = link_target("http://[::1]:8080/x").unwrap();
        assert_eq!(t.host, "[::1]");
        assert_eq!(
            link_target("https://shop.example?q").unwrap().host,
            "shop.example"
        );
    }

    #[test]
    fn disguised_hosts_are_not_read() {
        for link in [
            "https://shop.example@evil.example/",
            "https://shop.example\\@evil.example/",
            "https://evil.example\\shop.example",
            "https://shop%2eexample/",
            "https://shop.example./",
            "https://bücher.example/",
            "javascript:alert(1)",
            "ftp://shop.example/",
        ] {
            assert!(link_target(link).is_none(), "{link}");
        }
    }

    #[test]
    fn only_the_shops_own_places_are_allowed() {
        let p = policy(
            &["https://shop.example", "http://localhost:3000"],
            Some("https://www.shop.example/cart"),
        );
        assert!(p.allows("https://shop.example/p/1"));
        assert!(p.allows("https://SHOP.example:443/p/1"));
        assert!(p.allows("http://localhost:3000/p"));
        assert!(p.allows("https://www.shop.example/p/2"));
        assert!(p.allows("https://www.shop.example:8443/p/2"));
        // Scheme and port as the origins say.
        assert!(!p.allows("http://shop.example/p/1"));
        assert!(!p.allows("https://shop.example:8443/p/1"));
        assert!(!p.allows("http://localhost:3001/p"));
        // An https recovery URL does not allow plain http.
        assert!(!p.allows("http://www.shop.example/p/2"));
        // Exact hosts: no subdomains, no look-alikes.
        assert!(!p.allows("https://evil.shop.example/p"));
        assert!(!p.allows("https://shop.example.evil.example/p"));
        assert!(!p.allows("https://evil.example/shop.example"));
        assert!(!p.allows("https://shop.example@evil.example/"));
        let http_recovery = policy(&[], Some("http://shop.test/cart"));
        assert!(http_recovery.allows("http://shop.test/p"));
        assert!(http_recovery.allows("https://shop.test/p"));
        assert!(!policy(&[], None).allows("https://shop.example/"));
    }

    #[test]
    fn foreign_links_are_dropped_and_named() {
        let item = |url: Option<&str>, image: Option<&str>| CartItem {
            id: "a".into(),
            name: "A".into(),
            unit_price_minor: 100,
            quantity: 1,
            image_url: image.map(str::to_owned),
            url: url.map(str::to_owned),
            variant_id: None,
        };
        let mut items = vec![
            item(
                Some("https://shop.example/p"),
                Some("https://cdn.evil.example/i.png"),
            ),
            item(Some("https://evil.example/login"), None),
            item(None, None),
        ];
        let p = policy(&["https://shop.example"], None);
        let dropped = drop_foreign_links(&mut items, &p, "items");
        assert_eq!(dropped, ["items[0].imageUrl", "items[1].url"]);
        assert_eq!(items[0].url.as_deref(), Some("https://shop.example/p"));
        assert_eq!(items[0].image_url, None);
        assert_eq!(items[1].url, None);
        assert_eq!(warnings(&dropped).len(), 2);
    }
}
