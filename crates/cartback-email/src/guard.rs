//! The SSRF guard of tenants' providers: a tenant chooses where its provider
//! connects (a base URL, an SMTP host, an SES endpoint), and must not be able to
//! make the server call its own loopback, private network or cloud metadata.
//!
//! Names are resolved and checked at every connection, and only the checked
//! addresses are connected to, so a name that changes its answer between a check
//! and the connection (DNS rebinding) gains nothing. Literal addresses never reach
//! a resolver and are checked when the provider is built. The classification
//! itself is [`cartback_domain::net`], shared with the webhook deliverer.

use std::error::Error as StdError;
use std::net::{IpAddr, SocketAddr};

use cartback_domain::net::{is_forbidden_host_literal, is_forbidden_ip};

use crate::error::EmailError;

/// Who chose the addresses a provider connects to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trust {
    /// The operator, through the server's own flags and environment (or the
    /// `cartback` admin command): connects wherever it is told, proxies included.
    Operator,
    /// A tenant, through the API: private, loopback and reserved addresses are
    /// refused at every connection unless the server allows private targets.
    Tenant { allow_private: bool },
}

impl Trust {
    /// Whether private addresses are refused.
    pub fn refuses_private(self) -> bool {
        matches!(
            self,
            Trust::Tenant {
                allow_private: false
            }
        )
    }
}

/// A connection the guard did not allow. Its text never holds anything the
/// target said: no connection was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{host} is a private, loopback or otherwise reserved address")]
pub struct Refused {
    pub host: String,
}

impl From<Refused> for EmailError {
    fn from(refused: Refused) -> EmailError {
        EmailError::Refused {
            message: refused.to_string(),
        }
    }
}

/// Checks a host without resolving it: a forbidden literal address or a
/// `localhost` name.
pub(crate) fn check_literal(host: &str, refuse_private: bool) -> Result<(), Refused> {
    if refuse_private && is_forbidden_host_literal(host) {
        return Err(Refused {
            host: host.to_owned(),
        });
    }
    Ok(())
}

/// Checks a provider URL (base URL, SES endpoint) when the provider is built: an
/// http(s) URL, with no forbidden literal host.
pub(crate) fn check_url(what: &str, url: &str, refuse_private: bool) -> Result<(), EmailError> {
    let parsed = reqwest::Url::parse(url.trim())
        .map_err(|e| EmailError::InvalidMessage(format!("{what} is not a valid URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(EmailError::InvalidMessage(format!(
            "{what} must be an http or https URL"
        )));
    }
    let host = parsed
        .host_str()
        .filter(|h| !h.is_empty())
        .ok_or_else(|| EmailError::InvalidMessage(format!("{what} has no host")))?;
    check_literal(host, refuse_private)?;
    Ok(())
}

/// The host of an http(s) URL, with its port (explicit or the scheme's).
pub fn url_host_port(url: &str) -> Option<(String, u16)> {
    let parsed = reqwest::Url::parse(url.trim()).ok()?;
    let host = parsed.host_str()?.to_owned();
    Some((host, parsed.port_or_known_default()?))
}

/// Resolves `host` and keeps the addresses that may be connected to. With the
/// guard on, forbidden answers are dropped, and a name with nothing left is
/// refused.
pub(crate) async fn resolve(
    host: &str,
    port: u16,
    refuse_private: bool,
) -> Result<Vec<SocketAddr>, Box<dyn StdError + Send + Sync>> {
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    let all: Vec<SocketAddr> = tokio::net::lookup_host((literal, port)).await?.collect();
    if !refuse_private {
        return Ok(all);
    }
    let allowed: Vec<SocketAddr> = all
        .into_iter()
        .filter(|addr| !is_forbidden_ip(addr.ip()))
        .collect();
    if allowed.is_empty() {
        return Err(Box::new(Refused {
            host: host.to_owned(),
        }));
    }
    Ok(allowed)
}

/// The save-time check of a tenant's target host: a forbidden literal, or a name
/// that resolves now to any forbidden address, is refused. A name that does not
/// resolve passes (DNS may be down for a moment): the connect-time guard decides
/// then. Stricter than at connect time (any, not all) because a name mixing public
/// and private answers is a mistake worth telling the tenant about.
pub async fn check_host(host: &str, port: u16, allow_private: bool) -> Result<(), Refused> {
    if allow_private {
        return Ok(());
    }
    check_literal(host, true)?;
    let literal = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(addrs) = tokio::net::lookup_host((literal, port)).await {
        let ips: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
        if ips.iter().any(|ip| is_forbidden_ip(*ip)) {
            return Err(Refused {
                host: host.to_owned(),
            });
        }
    }
    Ok(())
}

/// Finds a [`Refused`] anywhere in an error's chain of causes.
pub(crate) fn find_refusal<'a>(error: &'a (dyn StdError + 'static)) -> Option<&'a Refused> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<Refused>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

/// reqwest's resolver with the guard: the HTTP providers of tenants.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GuardedResolver;

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // The connector puts the real port in afterwards.
            let addrs = resolve(&host, 0, true).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The AWS SDK's resolver with the guard: SES with an endpoint override.
#[derive(Debug, Clone, Copy)]
pub(crate) struct GuardedAwsResolver;

impl aws_smithy_runtime_api::client::dns::ResolveDns for GuardedAwsResolver {
    fn resolve_dns<'a>(
        &'a self,
        name: &'a str,
    ) -> aws_smithy_runtime_api::client::dns::DnsFuture<'a> {
        use aws_smithy_runtime_api::client::dns::{DnsFuture, ResolveDnsError};
        DnsFuture::new(async move {
            resolve(name, 0, true)
                .await
                .map(|addrs| addrs.into_iter().map(|a| a.ip()).collect())
                .map_err(ResolveDnsError::new)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trust() {
        assert!(!Trust::Operator.refuses_private());
        assert!(
            Trust::Tenant {
                allow_private: false
            }
            .refuses_private()
        );
        assert!(
            !Trust::Tenant {
                allow_private: true
            }
            .refuses_private()
        );
    }

    #[tokio::test]
    async fn localhost_is_refused_when_resolved() {
        assert!(resolve("localhost", 25, true).await.is_err());
        assert!(resolve("localhost", 25, false).await.is_ok());
        assert!(resolve("127.0.0.1", 25, true).await.is_err());
        assert!(check_host("localhost", 25, false).await.is_err());
        assert!(check_host("localhost", 25, true).await.is_ok());
        assert!(check_host("[::1]", 25, false).await.is_err());
    }

    #[tokio::test]
    async fn the_aws_resolver_is_guarded() {
        use aws_smithy_runtime_api::client::dns::ResolveDns;
        assert!(GuardedAwsResolver.resolve_dns("localhost").await.is_err());
        assert!(GuardedAwsResolver.resolve_dns("127.0.0.1").await.is_err());
    }

    #[test]
    fn urls() {
        assert!(check_url("baseUrl", "http://127.0.0.1:9/", true).is_err());
        assert!(check_url("baseUrl", "http://localhost:9/", true).is_err());
        assert!(check_url("baseUrl", "http://127.0.0.1:9/", false).is_ok());
        assert!(check_url("baseUrl", "https://api.resend.com", true).is_ok());
        assert!(check_url("baseUrl", "ftp://x.example/", false).is_err());
        assert_eq!(
            url_host_port("https://api.example.com/v3"),
            Some(("api.example.com".to_owned(), 443))
        );
    }
}
