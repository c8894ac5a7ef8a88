//! Links in recovery emails: `/r/{token}` brings the shopper back to the cart,
//! `/u/{token}` unsubscribes. Each send has its own pair of tokens, derived from the
//! tenant's link secret and the send id (so a retried send carries the same links)
//! and stored only as hashes.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;
use hmac::{KeyInit, Mac};

use crate::carts::CartRow;
use crate::connection::{DbConn, write_transaction};
use crate::error::StoreResult;
use crate::events::{CartEventKind, record_event};
use crate::ids::sha256_hex;
use crate::schema::{carts, recovery_sends};
use crate::sends::{SendRow, SendStatus};
use crate::sql::dialect;
use crate::suppressions::{SuppressionReason, add_suppression, normalize_email};

/// What a link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    Recover,
    Unsubscribe,
}

impl LinkPurpose {
    fn label(self) -> &'static str {
        match self {
            LinkPurpose::Recover => "recover",
            LinkPurpose::Unsubscribe => "unsubscribe",
        }
    }
}

/// The token of `send_id`'s link for `purpose`: HMAC-SHA256 under the tenant's link
/// secret, base64url (43 characters). Only its hash is stored.
pub fn link_token(link_secret: &str, purpose: LinkPurpose, send_id: &str) -> String {
    keyed(link_secret, purpose.label(), send_id)
}

/// Random-looking characters for a cart's generated coupon code: the same for
/// every step and retry of one cart cycle, unguessable without the link secret.
pub fn coupon_seed(link_secret: &str, cart_id: &str, cycle: i32) -> String {
    keyed(link_secret, "coupon", &format!("{cart_id}:{cycle}"))
}

fn keyed(link_secret: &str, label: &str, subject: &str) -> String {
    #[expect(clippy::expect_used, reason = "HMAC accepts keys of any length")]
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(link_secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(label.as_bytes());
    mac.update(b":");
    mac.update(subject.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// The stored form of a token.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token)
}

/// Both stored hashes of a send's links.
pub fn link_hashes(link_secret: &str, send_id: &str) -> (String, String) {
    (
        token_hash(&link_token(link_secret, LinkPurpose::Recover, send_id)),
        token_hash(&link_token(link_secret, LinkPurpose::Unsubscribe, send_id)),
    )
}

/// `url` with `name=value` pairs appended to its query, keeping its own query and
/// fragment.
pub fn append_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let (base, fragment) = match url.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (url, None),
    };
    let mut out = base.to_owned();
    for (name, value) in pairs {
        out.push(if out.contains('?') { '&' } else { '?' });
        out.push_str(name);
        out.push('=');
        out.push_str(&percent_encode(value));
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
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

/// Where a recovery link sends the shopper: the shop's recovery URL with the
/// cart's `session_id` and, when the cart has had an email, the `cart_token`
/// of its link (which `GET /api/v1/carts/restore/{token}` answers on any
/// device). The dashboard's "copy restore link" is this address, so copying
/// it counts no click.
pub fn restore_url(recovery_url: &str, session_id: &str, cart_token: Option<&str>) -> String {
    match cart_token {
        Some(token) => append_query(
            recovery_url,
            &[("session_id", session_id), ("cart_token", token)],
        ),
        None => append_query(recovery_url, &[("session_id", session_id)]),
    }
}

/// The send and cart a token belongs to. Tokens are 43 characters; anything else is
/// not looked up at all.
pub fn find_by_token(
    conn: &mut DbConn,
    purpose: LinkPurpose,
    token: &str,
) -> StoreResult<Option<(SendRow, CartRow)>> {
    if token.len() != 43
        || !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Ok(None);
    }
    let hash = token_hash(token);
    let send = match purpose {
        LinkPurpose::Recover => recovery_sends::table
            .filter(recovery_sends::recovery_token_hash.eq(&hash))
            .select(SendRow::as_select())
            .first(conn)
            .optional()?,
        LinkPurpose::Unsubscribe => recovery_sends::table
            .filter(recovery_sends::unsubscribe_token_hash.eq(&hash))
            .select(SendRow::as_select())
            .first(conn)
            .optional()?,
    };
    let Some(send) = send else {
        return Ok(None);
    };
    let cart = carts::table
        .filter(carts::tenant_id.eq(&send.tenant_id))
        .filter(carts::id.eq(&send.cart_id))
        .select(CartRow::as_select())
        .first(conn)
        .optional()?;
    Ok(cart.map(|cart| (send, cart)))
}

/// Counts a click on the recovery link of `send` and notes it in the cart's history.
pub fn record_click(conn: &mut DbConn, send: &SendRow, now: DateTime<Utc>) -> StoreResult<()> {
    write_transaction(conn, |conn| {
        diesel::update(
            recovery_sends::table
                .filter(recovery_sends::tenant_id.eq(&send.tenant_id))
                .filter(recovery_sends::id.eq(&send.id)),
        )
        .set((
            recovery_sends::click_count.eq(recovery_sends::click_count + 1),
            // Stamped once, by the first click: the instant the email counts
            // as clicked from in the analytics.
            recovery_sends::first_clicked_at.eq(diesel::dsl::case_when(
                recovery_sends::first_clicked_at.is_null(),
                now.naive_utc()
                    .into_sql::<diesel::sql_types::Nullable<diesel::sql_types::Timestamp>>(),
            )
            .otherwise(recovery_sends::first_clicked_at)),
            recovery_sends::last_clicked_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
        crate::analytics::summary::note_writes(conn, &[send.tenant_id.as_str()], now)?;
        record_event(
            conn,
            &send.tenant_id,
            &send.cart_id,
            CartEventKind::Clicked,
            Some(send.step),
            None,
            now,
        )
    })
}

/// Unsubscribes the shopper who received `send`: their address joins the tenant's
/// suppression list, every cart of theirs stops, and sends waiting for a retry are
/// cancelled. Repeating it changes nothing. Returns whether anything was new.
pub fn unsubscribe(
    conn: &mut DbConn,
    send: &SendRow,
    cart: &CartRow,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    write_transaction(conn, |conn| {
        let mut stopped: Vec<String> = vec![cart.id.clone()];
        let mut added = 0;
        if let Some(email) = &cart.customer_email {
            let email = normalize_email(email);
            let note = format!("one-click link of send {}", send.id);
            added = usize::from(add_suppression(
                conn,
                &send.tenant_id,
                &email,
                SuppressionReason::Unsubscribed,
                Some(&note),
                now,
            )?);
            stopped.extend(carts_of_email(conn, &send.tenant_id, &email)?);
        }
        stopped.sort();
        stopped.dedup();
        let newly = diesel::update(
            carts::table
                .filter(carts::tenant_id.eq(&send.tenant_id))
                .filter(carts::id.eq_any(&stopped))
                .filter(carts::unsubscribed_at.is_null()),
        )
        .set((
            carts::unsubscribed_at.eq(now.naive_utc()),
            carts::version.eq(carts::version + 1),
        ))
        .execute(conn)?;
        diesel::update(
            recovery_sends::table
                .filter(recovery_sends::tenant_id.eq(&send.tenant_id))
                .filter(recovery_sends::cart_id.eq_any(&stopped))
                .filter(recovery_sends::status.eq(SendStatus::Retry.as_str())),
        )
        .set((
            recovery_sends::status.eq(SendStatus::Cancelled.as_str()),
            recovery_sends::next_attempt_at.eq(None::<NaiveDateTime>),
            recovery_sends::updated_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
        if added + newly > 0 {
            record_event(
                conn,
                &send.tenant_id,
                &cart.id,
                CartEventKind::Unsubscribed,
                Some(send.step),
                None,
                now,
            )?;
        }
        Ok(added + newly > 0)
    })
}

/// Ids of the tenant's carts whose address is `email` (compared case-insensitively).
pub fn carts_of_email(conn: &mut DbConn, tenant_id: &str, email: &str) -> StoreResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = Text)]
        id: String,
    }
    let rows: Vec<Id> = diesel::sql_query(dialect(
        conn,
        "SELECT id FROM carts WHERE tenant_id = $1 AND lower(customer_email) = $2",
    ))
    .bind::<Text, _>(tenant_id)
    .bind::<Text, _>(normalize_email(email))
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appended_pairs_keep_the_query_and_fragment() {
        assert_eq!(
            append_query(
                "https://shop.test/cart?ref=mail#top",
                &[("session_id", "s 1&2"), ("cart_token", "ab-_")]
            ),
            "https://shop.test/cart?ref=mail&session_id=s%201%262&cart_token=ab-_#top"
        );
        assert_eq!(
            append_query("https://shop.test/cart", &[("session_id", "abc")]),
            "https://shop.test/cart?session_id=abc"
        );
    }

    #[test]
    fn a_restore_url_carries_the_token_only_when_there_is_one() {
        assert_eq!(
            restore_url("https://shop.test/cart", "s1", Some("tok")),
            "https://shop.test/cart?session_id=s1&cart_token=tok"
        );
        assert_eq!(
            restore_url("https://shop.test/cart#x", "s1", None),
            "https://shop.test/cart?session_id=s1#x"
        );
    }
}
