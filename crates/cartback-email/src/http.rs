//! What the HTTP providers share: one client, addresses formatted safely, and the
//! mapping from HTTP answers to [`EmailError`].

use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::error::EmailError;
use crate::guard::{self, GuardedResolver};
use crate::message::Mailbox;

/// Per-request timeout of the HTTP providers; the worker's lease must exceed it.
pub const HTTP_TIMEOUT: Duration = Duration::from_secs(15);

/// The HTTP client of one provider. Redirects are never followed: a provider's
/// API answers, it does not send us elsewhere, and a redirect would lead past the
/// guard. With the guard on (a tenant's provider), every name is resolved through
/// [`GuardedResolver`] and no proxy is used, since a proxy would resolve and
/// connect on its own; the operator's provider keeps the system's proxy settings.
pub(crate) fn client(refuse_private: bool) -> Result<reqwest::Client, EmailError> {
    let mut builder = reqwest::Client::builder()
        .timeout(HTTP_TIMEOUT)
        .user_agent(concat!("cartback/", env!("CARGO_PKG_VERSION")))
        .redirect(reqwest::redirect::Policy::none());
    if refuse_private {
        builder = builder
            .no_proxy()
            .dns_resolver(std::sync::Arc::new(GuardedResolver));
    }
    builder
        .build()
        .map_err(|e| EmailError::InvalidMessage(format!("HTTP client: {e}")))
}

/// The client of a provider at `base_url`, with a base URL whose literal host the
/// guard refuses rejected up front (literal addresses never reach a resolver).
pub(crate) fn guarded_client(
    base_url: &str,
    refuse_private: bool,
) -> Result<reqwest::Client, EmailError> {
    if refuse_private {
        guard::check_url("baseUrl", base_url, true)?;
    }
    client(refuse_private)
}

/// The settings of a provider reached with an API key: the key, and the API's base
/// URL (the provider's own, or a proxy or local stub).
#[derive(Clone)]
pub struct ApiKeyConfig {
    pub api_key: String,
    pub base_url: String,
    /// Refuse private, loopback and reserved addresses at every connection: set
    /// for a tenant's settings ([`crate::Trust`]), off for the operator's own.
    pub refuse_private: bool,
}

impl ApiKeyConfig {
    pub fn new(api_key: impl Into<String>, base_url: impl Into<String>) -> ApiKeyConfig {
        ApiKeyConfig {
            api_key: api_key.into(),
            base_url: base_url.into(),
            refuse_private: false,
        }
    }
}

impl std::fmt::Debug for ApiKeyConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKeyConfig")
            .field("api_key", &"***")
            .field("base_url", &self.base_url)
            .field("refuse_private", &self.refuse_private)
            .finish()
    }
}

/// A display name cleaned of control characters; None when nothing is left.
pub(crate) fn clean_name(mailbox: &Mailbox) -> Option<String> {
    mailbox
        .name
        .as_ref()
        .map(|n| n.chars().filter(|c| !c.is_control()).collect::<String>())
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
}

/// `"Display Name" <address>` with the name as an RFC 5322 quoted string, so a
/// name can never smuggle in another address or a header.
pub(crate) fn format_mailbox(mailbox: &Mailbox) -> String {
    match clean_name(mailbox) {
        Some(name) => {
            let escaped = name.replace('\\', "\\\\").replace('"', "\\\"");
            format!("\"{escaped}\" <{}>", mailbox.email)
        }
        None => mailbox.email.clone(),
    }
}

/// `Retry-After` as seconds or as an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let wait = at.with_timezone(&chrono::Utc) - chrono::Utc::now();
    wait.to_std().ok()
}

/// Maps a non-success answer: 429 is rate limiting, 408 and 5xx are worth another
/// try, other 4xx (bad key, invalid message) are final. The provider's own words
/// are kept, shortened.
pub(crate) fn classify_status(
    provider: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &str,
) -> EmailError {
    let detail: String = body.chars().take(300).collect();
    let message = format!("{provider} answered {status}: {detail}");
    if status == StatusCode::TOO_MANY_REQUESTS {
        return EmailError::RateLimited {
            message,
            retry_after: retry_after(headers),
        };
    }
    if status.is_server_error() || status == StatusCode::REQUEST_TIMEOUT {
        return EmailError::Transient {
            message,
            retry_after: retry_after(headers),
        };
    }
    EmailError::Permanent { message }
}

/// A failure to connect sent nothing and is worth another try; a connection the
/// guard refused is final; any later failure (a timeout, a connection lost
/// mid-request) may have left the email with the provider, so its outcome is
/// unknown.
pub(crate) fn classify_transport(provider: &str, error: &reqwest::Error) -> EmailError {
    if let Some(refused) = guard::find_refusal(error) {
        return refused.clone().into();
    }
    let message = format!("{provider} request failed: {error}");
    if error.is_connect() || error.is_builder() {
        EmailError::transient(message)
    } else {
        EmailError::unknown(message)
    }
}

/// Sends a prepared request and returns the successful answer, or the classified error.
pub(crate) async fn execute(
    provider: &str,
    request: reqwest::RequestBuilder,
) -> Result<reqwest::Response, EmailError> {
    let response = request
        .send()
        .await
        .map_err(|e| classify_transport(provider, &e))?;
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status();
    if status.is_redirection() {
        // Not followed, and its body is not read: whatever answered is not the
        // provider's API, and its words must not reach the tenant.
        return Err(EmailError::Permanent {
            message: format!("{provider} answered {status}: redirects are not followed"),
        });
    }
    let headers = response.headers().clone();
    let body = response.text().await.unwrap_or_default();
    Err(classify_status(provider, status, &headers, &body))
}

/// Header values travel as data in the HTTP APIs, yet a CR or LF in one would end
/// up in the recipient's message: refuse them, as the MIME builder does.
pub(crate) fn checked_headers(
    headers: &[(String, String)],
) -> Result<Vec<(String, String)>, EmailError> {
    headers
        .iter()
        .map(|(name, value)| {
            let valid_name =
                !name.is_empty() && name.bytes().all(|b| (33..=126).contains(&b) && b != b':');
            if !valid_name {
                return Err(EmailError::InvalidMessage(format!(
                    "invalid header name {name:?}"
                )));
            }
            if value.contains(['\r', '\n']) {
                return Err(EmailError::InvalidMessage(format!(
                    "header {name} contains a line break"
                )));
            }
            Ok((name.clone(), value.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_safely() {
        let mailbox = Mailbox {
            name: Some("Sam \"x\" <a@b.c>\r\nBcc: d@e.f".to_owned()),
            email: "sam@example.com".to_owned(),
        };
        assert_eq!(
            format_mailbox(&mailbox),
            "\"Sam \\\"x\\\" <a@b.c>Bcc: d@e.f\" <sam@example.com>"
        );
        let bare = Mailbox {
            name: Some("  ".to_owned()),
            email: "a@b.co".to_owned(),
        };
        assert_eq!(format_mailbox(&bare), "a@b.co");
    }

    /// The connect-time guard alone (the build-time literal check is skipped):
    /// a name resolving to loopback is refused before any connection.
    #[tokio::test]
    async fn the_guarded_client_refuses_a_name_resolving_to_loopback() {
        use wiremock::matchers::method;
        use wiremock::{Mock, MockServer, ResponseTemplate};
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(200).set_body_string("internal answer"))
            .mount(&server)
            .await;
        let url = format!("http://localhost:{}/emails", server.address().port());
        let guarded = client(true).unwrap();
        let error = execute("Resend", guarded.post(&url)).await.unwrap_err();
        assert!(matches!(error, EmailError::Refused { .. }), "{error:?}");
        assert!(!error.is_retryable());
        assert!(!error.to_string().contains("internal answer"));
        assert!(server.received_requests().await.unwrap().is_empty());
        let open = client(false).unwrap();
        execute("Resend", open.post(&url)).await.unwrap();
        assert_eq!(server.received_requests().await.unwrap().len(), 1);
    }

    #[test]
    fn statuses_map_to_error_classes() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(
            classify_status("x", StatusCode::TOO_MANY_REQUESTS, &headers, "slow").retry_after(),
            Some(Duration::from_secs(7))
        );
        assert!(
            classify_status(
                "x",
                StatusCode::INTERNAL_SERVER_ERROR,
                &HeaderMap::new(),
                ""
            )
            .is_retryable()
        );
        assert!(
            !classify_status("x", StatusCode::UNAUTHORIZED, &HeaderMap::new(), "").is_retryable()
        );
        assert!(
            !classify_status("x", StatusCode::UNPROCESSABLE_ENTITY, &HeaderMap::new(), "")
                .is_retryable()
        );
    }
}
