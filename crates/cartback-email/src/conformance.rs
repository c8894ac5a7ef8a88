//! The conformance kit: every adapter's tests send [`sample_message`] through the
//! adapter, read back what the peer received (each in its own way: maildev's API,
//! a wiremock recording, moto's data), and hand both to [`check_received`]; then
//! provoke each failure in the peer and check its class with [`check_failure`].
//! Adding a provider means one adapter file plus one test that calls these.

use std::time::Duration;

use crate::error::EmailError;
use crate::message::{EmailMessage, Mailbox, SendReceipt};

/// What a peer received, in provider-neutral terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Received {
    pub from_email: String,
    pub from_name: Option<String>,
    pub to_email: String,
    pub to_name: Option<String>,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// Headers as received; names compare case-insensitively.
    pub headers: Vec<(String, String)>,
    /// The idempotency key the peer saw, for providers that take one.
    pub idempotency_key: Option<String>,
}

/// A message that exercises what adapters get wrong: non-ASCII subject and names,
/// a name that tries to inject a header, RFC 8058 unsubscribe headers, tags.
pub fn sample_message(idempotency_key: &str) -> EmailMessage {
    EmailMessage {
        from: Mailbox {
            name: Some("Zoë's Café".to_owned()),
            email: "shop@example.com".to_owned(),
        },
        to: Mailbox {
            name: Some("Jürgen \"Jo\" Ñúñez\r\nBcc: intruder@example.net".to_owned()),
            email: "jo@example.org".to_owned(),
        },
        reply_to: None,
        subject: "Ihr Warenkorb wartet – 🛒 noch 2 Artikel".to_owned(),
        html: "<p>Hallo Jürgen, <b>Ihr Warenkorb</b> wartet.</p>".to_owned(),
        text: "Hallo Jürgen, Ihr Warenkorb wartet.".to_owned(),
        headers: vec![
            (
                "List-Unsubscribe".to_owned(),
                "<https://cartback.example/u/tok_123>".to_owned(),
            ),
            (
                "List-Unsubscribe-Post".to_owned(),
                "List-Unsubscribe=One-Click".to_owned(),
            ),
        ],
        idempotency_key: idempotency_key.to_owned(),
        tags: vec!["cart-recovery".to_owned(), "step-1".to_owned()],
    }
}

fn same_text(a: &str, b: &str) -> bool {
    // Transports may normalise line endings and trailing newlines.
    a.replace("\r\n", "\n").trim_end() == b.replace("\r\n", "\n").trim_end()
}

/// Compares what was sent with what arrived. Returns every difference found.
pub fn check_received(
    sent: &EmailMessage,
    received: &Received,
    supports_idempotency: bool,
) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let mut expect = |ok: bool, what: String| {
        if !ok {
            problems.push(what);
        }
    };
    expect(
        received.from_email.eq_ignore_ascii_case(&sent.from.email),
        format!("from {:?} != {:?}", received.from_email, sent.from.email),
    );
    expect(
        received.to_email.eq_ignore_ascii_case(&sent.to.email),
        format!("to {:?} != {:?}", received.to_email, sent.to.email),
    );
    expect(
        received.from_name.as_deref() == sent.from.name.as_deref(),
        format!("from name {:?} != {:?}", received.from_name, sent.from.name),
    );
    let to_name_ok = received.to_name.as_deref().is_some_and(|name| {
        !name.contains(['\r', '\n']) && name.contains("Jürgen") && name.contains("Ñúñez")
    });
    expect(
        to_name_ok,
        format!(
            "to name {:?} lost its characters or kept a line break",
            received.to_name
        ),
    );
    expect(
        received.subject == sent.subject,
        format!("subject {:?} != {:?}", received.subject, sent.subject),
    );
    expect(
        same_text(&received.html, &sent.html),
        "html body differs".to_owned(),
    );
    expect(
        same_text(&received.text, &sent.text),
        "text body differs".to_owned(),
    );
    for (name, value) in &sent.headers {
        let found = received
            .headers
            .iter()
            .any(|(n, v)| n.eq_ignore_ascii_case(name) && v.trim() == value);
        expect(found, format!("header {name}: {value} missing"));
    }
    let injected = received
        .headers
        .iter()
        .any(|(n, _)| n.eq_ignore_ascii_case("bcc"));
    expect(
        !injected,
        "a Bcc header was injected through the name".to_owned(),
    );
    if supports_idempotency {
        expect(
            received.idempotency_key.as_deref() == Some(sent.idempotency_key.as_str()),
            format!(
                "idempotency key {:?} not passed on",
                received.idempotency_key
            ),
        );
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// Failures every adapter must classify the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Bad credentials (HTTP 401, SMTP 535): permanent.
    AuthRejected,
    /// The provider refuses the message (HTTP 422, SMTP 550): permanent.
    Rejected,
    /// Slow down (HTTP 429 with Retry-After): rate limited, hint kept.
    RateLimited { retry_after: Duration },
    /// The provider is having trouble (HTTP 500, SMTP 421): transient.
    Unavailable,
}

/// Checks that `result` is the class `failure` calls for.
pub fn check_failure(
    failure: Failure,
    result: &Result<SendReceipt, EmailError>,
) -> Result<(), String> {
    let ok = match (failure, result) {
        (Failure::AuthRejected | Failure::Rejected, Err(EmailError::Permanent { message })) => {
            !message.is_empty()
        }
        (
            Failure::RateLimited { retry_after },
            Err(EmailError::RateLimited {
                retry_after: hint, ..
            }),
        ) => *hint == Some(retry_after),
        (Failure::Unavailable, Err(error)) => error.is_retryable(),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{failure:?} gave {result:?}"))
    }
}
