//! SMTP through lettre's connection API, driven step by step so the worker can
//! record the send between transmitting the message and the final `.` that makes
//! the server take responsibility for it.

use std::fmt;
use std::time::Duration;

use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, Certificate, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt};
use lettre::transport::smtp::extension::ClientId;

use crate::error::EmailError;
use crate::guard;
use crate::message::{EmailMessage, SendReceipt};
use crate::mime::build_mime;
use crate::provider::EmailProvider;
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain text: only for a local catcher on loopback.
    None,
    /// Upgrade with STARTTLS (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: Option<String>,
    pub password: Option<String>,
    pub timeout: Duration,
    /// Extra trusted roots (PEM), for a relay whose certificate an in-house CA
    /// signed. The public web roots are trusted as well.
    pub ca_certificates_pem: Option<String>,
    /// Refuse private, loopback and reserved addresses ([`crate::Trust`]): the
    /// host is resolved with the guard at every connection.
    pub refuse_private: bool,
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("timeout", &self.timeout)
            .field("ca_certificates_pem", &self.ca_certificates_pem.is_some())
            .field("refuse_private", &self.refuse_private)
            .finish()
    }
}

/// The SMTP URL of a relay, as [`SmtpConfig::from_url`] reads it: user name
/// and password percent-encoded, the security as the scheme or `?tls=`.
///
/// ```
/// use cartback_email::{SmtpConfig, SmtpSecurity, smtp_url};
/// let url = smtp_url("mail.example", 587, SmtpSecurity::StartTls, Some(("me@shop", "p:w")));
/// assert_eq!(url, "smtp://me%40shop:p%3Aw@mail.example:587?tls=starttls");
/// let config = SmtpConfig::from_url(&url).unwrap();
/// assert_eq!(config.password.as_deref(), Some("p:w"));
/// ```
pub fn smtp_url(
    host: &str,
    port: u16,
    security: SmtpSecurity,
    credentials: Option<(&str, &str)>,
) -> String {
    fn encode(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        for byte in text.bytes() {
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                out.push(char::from(byte));
            } else {
                out.push_str(&format!("%{byte:02X}"));
            }
        }
        out
    }
    let scheme = match security {
        SmtpSecurity::Tls => "smtps",
        SmtpSecurity::StartTls | SmtpSecurity::None => "smtp",
    };
    let userinfo = credentials
        .map(|(user, password)| format!("{}:{}@", encode(user), encode(password)))
        .unwrap_or_default();
    let query = match security {
        SmtpSecurity::StartTls => "?tls=starttls",
        SmtpSecurity::Tls | SmtpSecurity::None => "",
    };
    format!("{scheme}://{userinfo}{host}:{port}{query}")
}

fn percent_decode(text: &str) -> Result<String, EmailError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    EmailError::InvalidMessage("bad percent-encoding in SMTP URL".into())
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| EmailError::InvalidMessage("SMTP URL is not UTF-8".into()))
}

impl SmtpConfig {
    /// `smtp://host:port` (plain), `smtp://user:pass@host:587?tls=starttls`,
    /// `smtps://user:pass@host:465` (implicit TLS). User and password may be
    /// percent-encoded.
    pub fn from_url(url: &str) -> Result<SmtpConfig, EmailError> {
        let invalid = |why: &str| EmailError::InvalidMessage(format!("SMTP URL: {why}"));
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| invalid("expected smtp:// or smtps://"))?;
        let (rest, query) = match rest.split_once('?') {
            Some((rest, query)) => (rest, Some(query)),
            None => (rest, None),
        };
        let rest = rest.trim_end_matches('/');
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, rest),
        };
        let mut security = match scheme {
            "smtp" => SmtpSecurity::None,
            "smtps" => SmtpSecurity::Tls,
            _ => return Err(invalid("expected smtp:// or smtps://")),
        };
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            match pair {
                "tls=starttls" | "starttls=true" => security = SmtpSecurity::StartTls,
                "tls=none" => security = SmtpSecurity::None,
                "tls=implicit" | "tls=tls" => security = SmtpSecurity::Tls,
                other => return Err(invalid(&format!("unknown option {other:?}"))),
            }
        }
        let (host, port) = match hostport.rsplit_once(':') {
            Some((host, port)) => (host, port.parse().map_err(|_| invalid("bad port"))?),
            None => (
                hostport,
                match security {
                    SmtpSecurity::Tls => 465,
                    SmtpSecurity::StartTls => 587,
                    SmtpSecurity::None => 25,
                },
            ),
        };
        if host.is_empty() {
            return Err(invalid("missing host"));
        }
        let (username, password) = match userinfo {
            Some(info) => match info.split_once(':') {
                Some((user, pass)) => (Some(percent_decode(user)?), Some(percent_decode(pass)?)),
                None => (Some(percent_decode(info)?), None),
            },
            None => (None, None),
        };
        Ok(SmtpConfig {
            host: host.to_owned(),
            port,
            security,
            username,
            password,
            timeout: Duration::from_secs(30),
            ca_certificates_pem: None,
            refuse_private: false,
        })
    }
}

pub struct SmtpProvider {
    config: SmtpConfig,
    hello: ClientId,
    extra_roots: Option<Certificate>,
}

impl SmtpProvider {
    pub fn new(config: SmtpConfig) -> Result<SmtpProvider, EmailError> {
        if config.username.is_some() != config.password.is_some() {
            return Err(EmailError::InvalidMessage(
                "SMTP username and password go together".into(),
            ));
        }
        let extra_roots = match &config.ca_certificates_pem {
            None => None,
            Some(pem) => {
                let invalid =
                    || EmailError::InvalidMessage("SMTP CA certificate is not valid PEM".into());
                if !pem.contains("-----BEGIN CERTIFICATE-----") {
                    return Err(invalid());
                }
                Some(Certificate::from_pem(pem.as_bytes()).map_err(|_| invalid())?)
            }
        };
        // A literal address never changes: refuse it now rather than at each send.
        guard::check_literal(&config.host, config.refuse_private)?;
        if extra_roots.is_some() && config.security == SmtpSecurity::None {
            return Err(EmailError::InvalidMessage(
                "an SMTP CA certificate needs TLS: use smtps:// or ?tls=starttls".into(),
            ));
        }
        Ok(SmtpProvider {
            config,
            hello: ClientId::default(),
            extra_roots,
        })
    }

    fn tls(&self) -> Result<TlsParameters, EmailError> {
        let mut builder = TlsParameters::builder(self.config.host.clone());
        if let Some(roots) = &self.extra_roots {
            builder = builder.add_root_certificate(roots.clone());
        }
        builder.build().map_err(|e| classify(&e))
    }

    async fn connect(&self) -> Result<AsyncSmtpConnection, EmailError> {
        let implicit = match self.config.security {
            SmtpSecurity::Tls => Some(self.tls()?),
            _ => None,
        };
        // The host name stays in the TLS parameters (SNI, certificate check); the
        // connection goes to the addresses the guard let through, so what was
        // checked is what is connected to.
        let addrs = guard::resolve(
            &self.config.host,
            self.config.port,
            self.config.refuse_private,
        )
        .await
        .map_err(|e| match guard::find_refusal(e.as_ref()) {
            Some(refused) => EmailError::from(refused.clone()),
            None => EmailError::transient(format!("SMTP: resolving {}: {e}", self.config.host)),
        })?;
        let mut conn = AsyncSmtpConnection::connect_tokio1(
            addrs.as_slice(),
            Some(self.config.timeout),
            &self.hello,
            implicit,
            None,
        )
        .await
        .map_err(|e| classify(&e))?;
        if self.config.security == SmtpSecurity::StartTls {
            conn.starttls(self.tls()?, &self.hello)
                .await
                .map_err(|e| classify(&e))?;
        }
        if let (Some(user), Some(pass)) = (&self.config.username, &self.config.password) {
            let credentials = Credentials::new(user.clone(), pass.clone());
            conn.auth(&[Mechanism::Plain, Mechanism::Login], &credentials)
                .await
                .map_err(|e| classify(&e))?;
        }
        Ok(conn)
    }

    /// One SMTP transaction. `handed_over` is set once the message text starts
    /// going to the server: from then on a failure without the server's reply to
    /// the final dot leaves the outcome unknown.
    async fn transact(
        &self,
        conn: &mut AsyncSmtpConnection,
        message: &EmailMessage,
        handed_over: &AtomicBool,
    ) -> Result<SendReceipt, EmailError> {
        let email = build_mime(message)?;
        let envelope = email.envelope().clone();
        let body = email.formatted();
        conn.command(Mail::new(envelope.from().cloned(), vec![]))
            .await
            .map_err(|e| classify(&e))?;
        for to in envelope.to() {
            conn.command(Rcpt::new(to.clone(), vec![]))
                .await
                .map_err(|e| classify(&e))?;
        }
        conn.command(Data).await.map_err(|e| classify(&e))?;
        // Only the server's answer to the final dot means it owns the message.
        handed_over.store(true, Ordering::SeqCst);
        let response = conn.message(&body).await.map_err(|e| {
            if e.status().is_some() {
                classify(&e)
            } else {
                EmailError::unknown(format!("SMTP connection lost after the message: {e}"))
            }
        })?;
        let id = response
            .message()
            .next()
            .map(|line| line.chars().take(200).collect::<String>());
        Ok(SendReceipt {
            provider_message_id: id,
        })
    }
}

/// Maps lettre's errors: 4xx replies, timeouts, network and TLS trouble are worth
/// another try; 5xx replies are final and keep the server's words.
fn classify(error: &lettre::transport::smtp::Error) -> EmailError {
    let message = error.to_string();
    if error.is_permanent() {
        return EmailError::Permanent { message };
    }
    if let Some(code) = error.status()
        && code.to_string() == "452"
    {
        return EmailError::RateLimited {
            message,
            retry_after: None,
        };
    }
    EmailError::Transient {
        message,
        retry_after: None,
    }
}

#[async_trait::async_trait]
impl EmailProvider for SmtpProvider {
    fn kind(&self) -> &'static str {
        "smtp"
    }

    async fn send(&self, message: &EmailMessage) -> Result<SendReceipt, EmailError> {
        let timeout = self.config.timeout;
        let handed_over = AtomicBool::new(false);
        let attempt = async {
            let mut conn = self.connect().await?;
            let result = self.transact(&mut conn, message, &handed_over).await;
            match &result {
                Ok(_) => {
                    let _ = conn.quit().await;
                }
                Err(_) => conn.abort().await,
            }
            result
        };
        tokio::time::timeout(timeout * 2, attempt)
            .await
            .unwrap_or_else(|_| {
                Err(if handed_over.load(Ordering::SeqCst) {
                    EmailError::unknown("SMTP server did not answer the end of the message in time")
                } else {
                    EmailError::transient("SMTP send timed out")
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The connect-time guard alone: the host is a name resolving to loopback,
    /// and nothing connects to the listener behind it.
    #[tokio::test]
    async fn the_guard_resolves_the_smtp_host_at_connect() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut config = SmtpConfig::from_url(&format!("smtp://localhost:{port}")).unwrap();
        config.refuse_private = true;
        // Built around `new`, whose literal check would refuse `localhost` first.
        let provider = SmtpProvider {
            config: config.clone(),
            hello: ClientId::default(),
            extra_roots: None,
        };
        let sent = provider
            .send(&crate::conformance::sample_message("k"))
            .await;
        assert!(matches!(sent, Err(EmailError::Refused { .. })), "{sent:?}");
        assert!(listener.accept().is_err(), "no connection was made");
        assert!(matches!(
            SmtpProvider::new(config),
            Err(EmailError::Refused { .. })
        ));
    }

    #[test]
    fn urls() {
        let plain = SmtpConfig::from_url("smtp://127.0.0.1:1025").unwrap();
        assert_eq!(
            (plain.host.as_str(), plain.port, plain.security),
            ("127.0.0.1", 1025, SmtpSecurity::None)
        );
        let auth =
            SmtpConfig::from_url("smtp://me%40x.com:p%3Ass@mail.x.com:587?tls=starttls").unwrap();
        assert_eq!(auth.username.as_deref(), Some("me@x.com"));
        assert_eq!(auth.password.as_deref(), Some("p:ss"));
        assert_eq!(auth.security, SmtpSecurity::StartTls);
        assert_eq!(
            SmtpConfig::from_url("smtps://mail.x.com").unwrap().port,
            465
        );
        assert!(SmtpConfig::from_url("http://x").is_err());
        assert!(SmtpConfig::from_url("smtp://:25").is_err());
        assert!(
            !format!("{auth:?}").contains("p:ss"),
            "Debug hides the password"
        );
    }
}
