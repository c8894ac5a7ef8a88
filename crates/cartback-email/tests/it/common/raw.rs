//! Reads a raw RFC 5322 message back into the conformance kit's terms.

use cartback_email::conformance::Received;

/// Addresses, subject and bodies parsed with mail-parser; headers as written.
pub fn received_from_raw(raw: &str) -> Received {
    let parsed = mail_parser::MessageParser::default()
        .parse(raw.as_bytes())
        .unwrap();
    let first = |list: Option<&mail_parser::Address<'_>>| {
        let addr = list.and_then(|a| a.first()).unwrap();
        (
            addr.address().unwrap_or_default().to_owned(),
            addr.name().map(str::to_owned),
        )
    };
    let (from_email, from_name) = first(parsed.from());
    let (to_email, to_name) = first(parsed.to());
    let head = raw
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .replace("\r\n ", " ");
    Received {
        from_email,
        from_name,
        to_email,
        to_name,
        subject: parsed.subject().unwrap_or_default().to_owned(),
        html: parsed.body_html(0).unwrap_or_default().into_owned(),
        text: parsed.body_text(0).unwrap_or_default().into_owned(),
        headers: head
            .lines()
            .filter_map(|line| line.split_once(": "))
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect(),
        idempotency_key: None,
    }
}
