//! One HTTP delivery attempt, with the SSRF guard applied at connect time.

use std::error::Error as StdError;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, RETRY_AFTER, USER_AGENT};
use reqwest::{StatusCode, redirect};

use crate::target::{TargetError, check_url, is_forbidden_ip};

/// How much of a response body we read; the rest is left unread.
const MAX_BODY_READ: usize = 64 * 1024;
/// How much of that goes into the error text.
const EXCERPT_CHARS: usize = 200;
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Debug, Clone)]
pub struct DelivererConfig {
    /// The whole attempt: connect, send, and reading the response.
    pub timeout: Duration,
    /// Allows loopback and private targets (development, tests, LAN setups).
    pub allow_private: bool,
    /// When set, replaces the `user-agent` header of every attempt.
    pub user_agent: Option<String>,
}

impl Default for DelivererConfig {
    fn default() -> Self {
        DelivererConfig {
            timeout: Duration::from_secs(15),
            allow_private: false,
            user_agent: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    #[error("could not build the HTTP client: {0}")]
    Client(String),
    #[error("invalid user agent: {0}")]
    UserAgent(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// 2xx.
    Delivered { status: u16 },
    /// 410: the receiver asks us to stop: the caller disables the endpoint.
    Gone,
    /// 429 or 503 with a usable Retry-After: wait at least this long.
    RetryAfter { status: u16, after: Duration },
    /// Any other status, or a transport error/timeout (status None); `error` is
    /// a short human text without secrets.
    Failed { status: Option<u16>, error: String },
    /// The target is not allowed (a private address while not allowed, or a URL
    /// `check_url` rejects); retrying will not help, the caller treats it like
    /// Failed.
    Refused { reason: String },
}

/// Sends webhook attempts. Cheap to clone; clones share the connection pool.
#[derive(Debug, Clone)]
pub struct Deliverer {
    client: reqwest::Client,
    config: DelivererConfig,
    user_agent: Option<HeaderValue>,
}

impl Deliverer {
    pub fn new(config: DelivererConfig) -> Result<Self, DeliverError> {
        let user_agent = config
            .user_agent
            .as_deref()
            .map(|ua| HeaderValue::from_str(ua).map_err(|e| DeliverError::UserAgent(e.to_string())))
            .transpose()?;
        let client = reqwest::Client::builder()
            .use_rustls_tls()
            .timeout(config.timeout)
            // A redirect could point anywhere, including past the guard.
            .redirect(redirect::Policy::none())
            // A proxy would resolve the target itself, bypassing our resolver.
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver {
                allow_private: config.allow_private,
            }))
            .user_agent(crate::USER_AGENT)
            .build()
            .map_err(|e| DeliverError::Client(describe(&e)))?;
        Ok(Deliverer {
            client,
            config,
            user_agent,
        })
    }

    pub fn config(&self) -> &DelivererConfig {
        &self.config
    }

    /// One POST attempt. Literal IP targets are refused here (they never reach
    /// the resolver); host names are checked by the resolver.
    pub async fn deliver(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: &[u8],
    ) -> DeliveryOutcome {
        let url = match check_url(url, self.config.allow_private) {
            Ok(url) => url,
            Err(e) => return refused(&e),
        };
        self.send(&url, headers, body).await
    }

    async fn send(
        &self,
        url: &str,
        headers: &[(&'static str, String)],
        body: &[u8],
    ) -> DeliveryOutcome {
        let mut map = HeaderMap::with_capacity(headers.len());
        for (name, value) in headers {
            let (Ok(name), Ok(value)) = (
                HeaderName::from_bytes(name.as_bytes()),
                HeaderValue::from_str(value),
            ) else {
                return DeliveryOutcome::Failed {
                    status: None,
                    error: format!("invalid header {name}"),
                };
            };
            map.insert(name, value);
        }
        if let Some(ua) = &self.user_agent {
            map.insert(USER_AGENT, ua.clone());
        }
        let sent = self
            .client
            .post(url)
            .headers(map)
            .body(body.to_vec())
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(e) => return self.transport_failure(&e),
        };
        let status = response.status();
        if status.is_success() {
            return DeliveryOutcome::Delivered {
                status: status.as_u16(),
            };
        }
        if status == StatusCode::GONE {
            return DeliveryOutcome::Gone;
        }
        if status.is_redirection() {
            return DeliveryOutcome::Failed {
                status: Some(status.as_u16()),
                error: format!("HTTP {}: redirects are not followed", status.as_u16()),
            };
        }
        if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE {
            let after = response
                .headers()
                .get(RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, Utc::now()));
            if let Some(after) = after {
                return DeliveryOutcome::RetryAfter {
                    status: status.as_u16(),
                    after,
                };
            }
        }
        let excerpt = read_excerpt(response).await;
        let error = if excerpt.is_empty() {
            format!("HTTP {}", status.as_u16())
        } else {
            format!("HTTP {}: {excerpt}", status.as_u16())
        };
        DeliveryOutcome::Failed {
            status: Some(status.as_u16()),
            error,
        }
    }

    fn transport_failure(&self, error: &reqwest::Error) -> DeliveryOutcome {
        if let Some(refusal) = find_source::<ForbiddenAddress>(error) {
            return DeliveryOutcome::Refused {
                reason: refusal.to_string(),
            };
        }
        let text = if error.is_timeout() {
            format!("timed out after {}", human_duration(self.config.timeout))
        } else if find_source::<std::io::Error>(error)
            .is_some_and(|io| io.kind() == std::io::ErrorKind::ConnectionRefused)
        {
            "connection refused".to_owned()
        } else if error.is_connect() {
            format!("could not connect: {}", describe(error))
        } else {
            describe(error)
        };
        DeliveryOutcome::Failed {
            status: None,
            error: text,
        }
    }
}

fn refused(error: &TargetError) -> DeliveryOutcome {
    DeliveryOutcome::Refused {
        reason: error.to_string(),
    }
}

/// Reads up to `MAX_BODY_READ` bytes and keeps a one-line excerpt.
async fn read_excerpt(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < MAX_BODY_READ {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            // A body that breaks off still tells us something.
            Ok(None) | Err(_) => break,
        }
    }
    bytes.truncate(MAX_BODY_READ);
    String::from_utf8_lossy(&bytes)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .trim()
        .chars()
        .take(EXCERPT_CHARS)
        .collect()
}

fn find_source<'a, T: StdError + 'static>(error: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(e) = current {
        if let Some(found) = e.downcast_ref::<T>() {
            return Some(found);
        }
        current = e.source();
    }
    None
}

/// The innermost cause: reqwest's own text names the URL, which may hold a token.
fn describe(error: &(dyn StdError + 'static)) -> String {
    let mut innermost = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    let text = innermost.to_string();
    if text.is_empty() {
        "request failed".to_owned()
    } else {
        text.chars().take(EXCERPT_CHARS).collect()
    }
}

fn human_duration(duration: Duration) -> String {
    if duration.subsec_millis() == 0 {
        format!("{}s", duration.as_secs())
    } else {
        format!("{}ms", duration.as_millis())
    }
}

/// Raised by the resolver when every address of a name is forbidden.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves only to private, loopback or otherwise reserved addresses")]
struct ForbiddenAddress {
    host: String,
}

#[derive(Debug, Clone, Copy)]
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = resolve_guarded(&host, allow_private).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

async fn resolve_guarded(
    host: &str,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, Box<dyn StdError + Send + Sync>> {
    // The connector puts the real port in afterwards.
    let all: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
    if allow_private {
        return Ok(all);
    }
    let allowed: Vec<SocketAddr> = all
        .into_iter()
        .filter(|addr| !is_forbidden_ip(addr.ip()))
        .collect();
    if allowed.is_empty() {
        return Err(Box::new(ForbiddenAddress {
            host: host.to_owned(),
        }));
    }
    Ok(allowed)
}

/// Parses Retry-After: delta-seconds or an HTTP-date relative to `now`.
/// Capped at 24 h; a date in the past gives zero; None when unparsable.
pub fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Too many digits for u64 is still "a very long time".
        let secs = value.parse::<u64>().unwrap_or(u64::MAX);
        return Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER));
    }
    let when = parse_http_date(value)?;
    let wait = (when - now).to_std().unwrap_or(Duration::ZERO);
    Some(wait.min(MAX_RETRY_AFTER))
}

/// The three HTTP-date forms RFC 7231 §7.1.1.1 asks recipients to accept.
fn parse_http_date(value: &str) -> Option<DateTime<Utc>> {
    // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
    if let Some(rest) = value.strip_suffix(" GMT") {
        for format in ["%a, %d %b %Y %H:%M:%S", "%A, %d-%b-%y %H:%M:%S"] {
            if let Ok(naive) = NaiveDateTime::parse_from_str(rest, format) {
                return Some(naive.and_utc());
            }
        }
    }
    // asctime: "Sun Nov  6 08:49:37 1994"
    let squeezed = value.split_whitespace().collect::<Vec<_>>().join(" ");
    NaiveDateTime::parse_from_str(&squeezed, "%a %b %e %H:%M:%S %Y")
        .ok()
        .map(|naive| naive.and_utc())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(1994, 11, 6, 8, 49, 0).unwrap()
    }

    #[test]
    fn retry_after_seconds() {
        assert_eq!(parse_retry_after("7", now()), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(" 0 ", now()), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("999999", now()), Some(MAX_RETRY_AFTER));
        assert_eq!(
            parse_retry_after("99999999999999999999999", now()),
            Some(MAX_RETRY_AFTER)
        );
        for bad in ["", "-5", "1.5", "soon", "7s"] {
            assert_eq!(parse_retry_after(bad, now()), None, "{bad}");
        }
    }

    #[test]
    fn retry_after_dates() {
        let d = |s| parse_retry_after(s, now());
        assert_eq!(
            d("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::from_secs(37))
        );
        assert_eq!(
            d("Sunday, 06-Nov-94 08:49:37 GMT"),
            Some(Duration::from_secs(37))
        );
        assert_eq!(d("Sun Nov  6 08:49:37 1994"), Some(Duration::from_secs(37)));
        assert_eq!(d("Sun, 06 Nov 1994 08:00:00 GMT"), Some(Duration::ZERO));
        assert_eq!(d("Tue, 08 Nov 1994 08:49:37 GMT"), Some(MAX_RETRY_AFTER));
        assert_eq!(d("Sun, 06 Nov 1994 08:49:37 PST"), None);
        assert_eq!(d("06 Nov 1994"), None);
    }

    #[tokio::test]
    async fn resolver_refuses_private_answers() {
        let err = resolve_guarded("localhost", false).await.unwrap_err();
        assert!(err.downcast_ref::<ForbiddenAddress>().is_some());
        let addrs = resolve_guarded("localhost", true).await.unwrap();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()));
        assert!(!addrs.is_empty());
    }

    #[tokio::test]
    async fn resolver_refusal_reaches_the_outcome() {
        // Skips check_url, as a public-looking name that resolves privately would.
        let deliverer = Deliverer::new(DelivererConfig::default()).unwrap();
        let outcome = deliverer.send("http://localhost:9/", &[], b"{}").await;
        match outcome {
            DeliveryOutcome::Refused { reason } => {
                assert!(reason.contains("localhost"), "{reason}")
            }
            other => panic!("expected Refused, got {other:?}"),
        }
    }
}
