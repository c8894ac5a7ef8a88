//! RFC 5322 messages built with lettre: multipart/alternative text + HTML, UTF-8,
//! display names encoded by lettre (so a name can never add a header), custom
//! headers validated, Message-ID derived from the idempotency key.

use lettre::message::header::{HeaderName, HeaderValue};
use lettre::message::{Mailbox as LettreMailbox, MultiPart};

use crate::error::EmailError;
use crate::message::{EmailMessage, Mailbox};

fn mailbox(field: &str, mailbox: &Mailbox) -> Result<LettreMailbox, EmailError> {
    let address = mailbox
        .email
        .parse()
        .map_err(|e| EmailError::InvalidMessage(format!("{field} address: {e}")))?;
    // Control characters have no place in a display name; dropping them keeps a
    // hostile name from ever reaching the header encoder.
    let name = mailbox
        .name
        .as_ref()
        .map(|n| n.chars().filter(|c| !c.is_control()).collect::<String>())
        .filter(|n| !n.trim().is_empty());
    Ok(LettreMailbox::new(name, address))
}

fn valid_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| (33..=126).contains(&b) && b != b':')
}

/// Characters safe in a Message-ID's local part.
fn message_id_part(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '.'
            }
        })
        .collect()
}

pub fn build_mime(message: &EmailMessage) -> Result<lettre::Message, EmailError> {
    if message.subject.contains(['\r', '\n']) {
        return Err(EmailError::InvalidMessage(
            "subject contains a line break".into(),
        ));
    }
    let from = mailbox("from", &message.from)?;
    let domain = message
        .from
        .email
        .rsplit_once('@')
        .map_or("cartback", |(_, d)| d);
    let mut builder = lettre::Message::builder()
        .from(from)
        .to(mailbox("to", &message.to)?)
        .subject(message.subject.clone())
        .message_id(Some(format!(
            "<{}@{}>",
            message_id_part(&message.idempotency_key),
            domain
        )))
        .date_now();
    if let Some(reply_to) = &message.reply_to {
        builder = builder.reply_to(mailbox("reply-to", reply_to)?);
    }
    let mut email = builder
        .multipart(MultiPart::alternative_plain_html(
            message.text.clone(),
            message.html.clone(),
        ))
        .map_err(|e| EmailError::InvalidMessage(e.to_string()))?;
    for (name, value) in &message.headers {
        if !valid_header_name(name) {
            return Err(EmailError::InvalidMessage(format!(
                "invalid header name {name:?}"
            )));
        }
        if value.contains(['\r', '\n']) {
            return Err(EmailError::InvalidMessage(format!(
                "header {name} contains a line break"
            )));
        }
        let header_name = HeaderName::new_from_ascii(name.clone())
            .map_err(|_| EmailError::InvalidMessage(format!("invalid header name {name:?}")))?;
        email
            .headers_mut()
            .insert_raw(HeaderValue::new(header_name, value.clone()));
    }
    Ok(email)
}
