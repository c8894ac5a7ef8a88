//! The built-in recovery email: the items, the total and a link back to the cart.
//! Rich templates replace it later; this one must always work.

use cartback_domain::{Currency, Money};
use cartback_email::{EmailError, EmailMessage, Mailbox};
use cartback_store::carts::CartRow;
use cartback_store::sends::SendRow;
use cartback_store::tenants::Tenant;

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// The tenant's recovery URL with `session_id` appended (Retake's convention),
/// keeping the URL's own query and fragment.
pub fn recovery_link(recovery_url: &str, session_id: &str) -> String {
    let (base, fragment) = match recovery_url.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (recovery_url, None),
    };
    let separator = if base.contains('?') { '&' } else { '?' };
    let mut link = format!("{base}{separator}session_id={}", percent_encode(session_id));
    if let Some(fragment) = fragment {
        link.push('#');
        link.push_str(fragment);
    }
    link
}

fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Builds the email for `send` of `cart`.
pub fn render_recovery_email(
    tenant: &Tenant,
    cart: &CartRow,
    send: &SendRow,
    _public_url: &str,
) -> Result<EmailMessage, EmailError> {
    let Some(email) = cart.customer_email.clone() else {
        return Err(EmailError::InvalidMessage(
            "the cart has no email address".to_owned(),
        ));
    };
    let currency = Currency::parse(&cart.currency)
        .map_err(|e| EmailError::InvalidMessage(format!("cart currency: {e}")))?;
    let items = cart
        .items()
        .map_err(|e| EmailError::InvalidMessage(e.to_string()))?;
    let total = Money::from_minor(cart.total_minor, currency);
    let greeting = match &cart.customer_name {
        Some(name) => format!("Hi {name},"),
        None => "Hi,".to_owned(),
    };
    let link = tenant
        .recovery_url
        .as_deref()
        .map(|url| recovery_link(url, &cart.session_id));

    let mut text = format!(
        "{greeting}\n\nYou left these items in your cart at {}:\n\n",
        tenant.name
    );
    let mut rows = String::new();
    for item in &items {
        let price = Money::from_minor(item.unit_price_minor, currency);
        text.push_str(&format!("  {} x {}  {}\n", item.quantity, item.name, price));
        rows.push_str(&format!(
            "<tr><td style=\"padding:4px 8px\">{} &times; {}</td><td style=\"padding:4px 8px;text-align:right\">{}</td></tr>",
            item.quantity,
            escape_html(&item.name),
            escape_html(&price.to_string()),
        ));
    }
    text.push_str(&format!("\nTotal: {total}\n"));
    if let Some(link) = &link {
        text.push_str(&format!("\nPick up where you left off: {link}\n"));
    }
    let button = link
        .as_deref()
        .map(|link| {
            format!(
                "<p><a href=\"{}\" style=\"display:inline-block;padding:10px 18px;background:#111;color:#fff;text-decoration:none;border-radius:4px\">Return to your cart</a></p>",
                escape_html(link)
            )
        })
        .unwrap_or_default();
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif\"><p>{}</p><p>You left these items in your cart at {}:</p><table>{rows}<tr><td style=\"padding:4px 8px\"><strong>Total</strong></td><td style=\"padding:4px 8px;text-align:right\"><strong>{}</strong></td></tr></table>{button}</body></html>",
        escape_html(&greeting),
        escape_html(&tenant.name),
        escape_html(&total.to_string()),
    );
    Ok(EmailMessage {
        from: Mailbox {
            name: tenant
                .from_name
                .clone()
                .or_else(|| Some(tenant.name.clone())),
            email: tenant.from_email.clone(),
        },
        to: Mailbox {
            name: cart.customer_name.clone(),
            email,
        },
        reply_to: None,
        subject: format!("You left something in your cart at {}", tenant.name),
        html,
        text,
        headers: Vec::new(),
        idempotency_key: send.idempotency_key.clone(),
        tags: vec![
            "cart-recovery".to_owned(),
            format!("step-{}", send.step + 1),
        ],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_link_keeps_query_and_fragment() {
        assert_eq!(
            recovery_link("https://shop.test/cart?ref=mail#top", "s 1&2"),
            "https://shop.test/cart?ref=mail&session_id=s%201%262#top"
        );
        assert_eq!(
            recovery_link("https://shop.test/cart", "abc"),
            "https://shop.test/cart?session_id=abc"
        );
    }

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape_html("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
