//! A tenant's Stripe account: the secret key for payment links and the webhook
//! secrets for event intake. [`change_stripe_account`] seals what it is given;
//! the caller opens them after.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text, Timestamp};

use crate::connection::{DbConn, write_transaction};
use crate::crypto::{MasterKeys, Purpose};
use crate::error::{StoreError, StoreResult};
use crate::schema::stripe_accounts;
use crate::sql::dialect;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = stripe_accounts)]
pub struct StripeAccountRow {
    pub tenant_id: String,
    /// Sealed `sk_…` / `rk_…`.
    pub secret_key: Option<String>,
    /// Sealed JSON array of `whsec_…` strings.
    pub webhook_secrets: Option<String>,
    /// JSON of what may be shown (hints, counts).
    pub masked: String,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub links_in_emails: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

impl StripeAccountRow {
    /// The stored key's hint (`sk_live_…4242`), if a key is stored.
    pub fn secret_key_hint(&self) -> Option<String> {
        self.secret_key.as_ref()?;
        self.masked_json()
            .get("secretKey")
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    }

    /// How many webhook signing secrets are stored.
    pub fn webhook_secret_count(&self) -> u64 {
        self.masked_json()
            .get("webhookSecrets")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
    }

    fn masked_json(&self) -> serde_json::Value {
        serde_json::from_str(&self.masked).unwrap_or(serde_json::Value::Null)
    }
}

/// A change of the Stripe settings: for each part, `None` keeps what is
/// stored, `Some(None)` clears it and `Some(Some(…))` replaces it.
#[derive(Debug, Clone, Default)]
pub struct StripeChange {
    /// The plain key and its hint; sealed here.
    pub secret_key: Option<Option<(String, String)>>,
    /// The plain signing secrets; sealed here.
    pub webhook_secrets: Option<Option<Vec<String>>>,
    pub success_url: Option<Option<String>>,
    pub cancel_url: Option<Option<String>>,
    pub links_in_emails: Option<bool>,
}

impl StripeChange {
    /// Whether the change gives a secret to seal (which needs a master key).
    pub fn seals(&self) -> bool {
        matches!(self.secret_key, Some(Some(_))) || matches!(self.webhook_secrets, Some(Some(_)))
    }
}

/// Applies `change` over the stored row in one transaction: new secrets are
/// sealed under `keys`, what is left out stays.
pub fn change_stripe_account(
    conn: &mut DbConn,
    keys: &MasterKeys,
    tenant_id: &str,
    change: StripeChange,
    now: DateTime<Utc>,
) -> StoreResult<StripeAccountRow> {
    let secret_key = match change.secret_key {
        Some(Some((key, hint))) => Some(Some((
            keys.seal(Purpose::StripeSecretKey, tenant_id, key.as_bytes())?,
            hint,
        ))),
        Some(None) => Some(None),
        None => None,
    };
    let webhook_secrets = match change.webhook_secrets {
        Some(Some(list)) => {
            let text =
                serde_json::to_string(&list).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            Some(Some((
                keys.seal(Purpose::StripeWebhookSecret, tenant_id, text.as_bytes())?,
                list.len() as u64,
            )))
        }
        Some(None) => Some(None),
        None => None,
    };
    write_transaction(conn, |conn| {
        let old = find_stripe_account(conn, tenant_id)?;
        let (key, key_hint) = match secret_key {
            Some(Some((sealed, hint))) => (Some(sealed), Some(hint)),
            Some(None) => (None, None),
            None => (
                old.as_ref().and_then(|r| r.secret_key.clone()),
                old.as_ref().and_then(StripeAccountRow::secret_key_hint),
            ),
        };
        let (secrets, count) = match webhook_secrets {
            Some(Some((sealed, count))) => (Some(sealed), count),
            Some(None) => (None, 0),
            None => (
                old.as_ref().and_then(|r| r.webhook_secrets.clone()),
                old.as_ref()
                    .map_or(0, StripeAccountRow::webhook_secret_count),
            ),
        };
        let success = change
            .success_url
            .unwrap_or_else(|| old.as_ref().and_then(|r| r.success_url.clone()));
        let cancel = change
            .cancel_url
            .unwrap_or_else(|| old.as_ref().and_then(|r| r.cancel_url.clone()));
        let links = change
            .links_in_emails
            .unwrap_or_else(|| old.as_ref().is_some_and(|r| r.links_in_emails != 0));
        let masked =
            serde_json::json!({"secretKey": key_hint, "webhookSecrets": count}).to_string();
        set_stripe_account(
            conn,
            &StripeAccount {
                tenant_id,
                sealed_secret_key: key.as_deref(),
                sealed_webhook_secrets: secrets.as_deref(),
                masked: &masked,
                success_url: success.as_deref(),
                cancel_url: cancel.as_deref(),
                links_in_emails: links,
                now,
            },
        )
    })
}

/// The whole row as it should be after a write; the caller merges with what
/// was there.
#[derive(Debug, Clone)]
pub struct StripeAccount<'a> {
    pub tenant_id: &'a str,
    pub sealed_secret_key: Option<&'a str>,
    pub sealed_webhook_secrets: Option<&'a str>,
    pub masked: &'a str,
    pub success_url: Option<&'a str>,
    pub cancel_url: Option<&'a str>,
    pub links_in_emails: bool,
    pub now: DateTime<Utc>,
}

const UPSERT_SQL: &str = "\
INSERT INTO stripe_accounts (tenant_id, secret_key, webhook_secrets, masked, success_url, \
    cancel_url, links_in_emails, created_at, updated_at) \
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) \
ON CONFLICT (tenant_id) DO UPDATE SET secret_key = excluded.secret_key, \
    webhook_secrets = excluded.webhook_secrets, masked = excluded.masked, \
    success_url = excluded.success_url, cancel_url = excluded.cancel_url, \
    links_in_emails = excluded.links_in_emails, updated_at = excluded.updated_at \
RETURNING *";

/// Creates or replaces the tenant's account row; `created_at` survives a replace.
pub fn set_stripe_account(
    conn: &mut DbConn,
    account: &StripeAccount<'_>,
) -> StoreResult<StripeAccountRow> {
    Ok(diesel::sql_query(dialect(conn, UPSERT_SQL))
        .bind::<Text, _>(account.tenant_id)
        .bind::<Nullable<Text>, _>(account.sealed_secret_key)
        .bind::<Nullable<Text>, _>(account.sealed_webhook_secrets)
        .bind::<Text, _>(account.masked)
        .bind::<Nullable<Text>, _>(account.success_url)
        .bind::<Nullable<Text>, _>(account.cancel_url)
        .bind::<Integer, _>(i32::from(account.links_in_emails))
        .bind::<Timestamp, _>(account.now.naive_utc())
        .get_result(conn)?)
}

pub fn find_stripe_account(
    conn: &mut DbConn,
    tenant_id: &str,
) -> StoreResult<Option<StripeAccountRow>> {
    Ok(stripe_accounts::table
        .filter(stripe_accounts::tenant_id.eq(tenant_id))
        .select(StripeAccountRow::as_select())
        .first(conn)
        .optional()?)
}

/// Forgets the tenant's Stripe account; false when it had none.
pub fn delete_stripe_account(conn: &mut DbConn, tenant_id: &str) -> StoreResult<bool> {
    let removed =
        diesel::delete(stripe_accounts::table.filter(stripe_accounts::tenant_id.eq(tenant_id)))
            .execute(conn)?;
    Ok(removed > 0)
}

/// The latest payment link made for a cart.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = crate::schema::cart_payment_links)]
pub struct PaymentLinkRow {
    pub tenant_id: String,
    pub cart_id: String,
    pub url: String,
    pub checkout_session_id: String,
    pub expires_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
}

/// Keeps `link` as the cart's payment link, replacing an earlier one.
pub fn save_payment_link(conn: &mut DbConn, link: &PaymentLinkRow) -> StoreResult<()> {
    use crate::schema::cart_payment_links as links;
    write_transaction(conn, |conn| {
        forget_payment_link(conn, &link.tenant_id, &link.cart_id)?;
        diesel::insert_into(links::table)
            .values((
                links::tenant_id.eq(&link.tenant_id),
                links::cart_id.eq(&link.cart_id),
                links::url.eq(&link.url),
                links::checkout_session_id.eq(&link.checkout_session_id),
                links::expires_at.eq(link.expires_at),
                links::created_at.eq(link.created_at),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Drops the cart's payment link, if it has one.
pub fn forget_payment_link(conn: &mut DbConn, tenant_id: &str, cart_id: &str) -> StoreResult<()> {
    use crate::schema::cart_payment_links as links;
    diesel::delete(
        links::table
            .filter(links::tenant_id.eq(tenant_id))
            .filter(links::cart_id.eq(cart_id)),
    )
    .execute(conn)?;
    Ok(())
}

/// The payment links of these carts that have not expired at `now`, by cart id.
pub fn live_payment_links(
    conn: &mut DbConn,
    tenant_id: &str,
    cart_ids: &[&str],
    now: DateTime<Utc>,
) -> StoreResult<std::collections::HashMap<String, PaymentLinkRow>> {
    use crate::schema::cart_payment_links as links;
    if cart_ids.is_empty() {
        return Ok(std::collections::HashMap::new());
    }
    let rows: Vec<PaymentLinkRow> = links::table
        .filter(links::tenant_id.eq(tenant_id))
        .filter(links::cart_id.eq_any(cart_ids))
        .select(PaymentLinkRow::as_select())
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|link| link.expires_at.is_none_or(|at| at > now.naive_utc()))
        .map(|link| (link.cart_id.clone(), link))
        .collect())
}

/// The tenant whose Stripe webhook secrets are set, when exactly one is: a
/// server with one shop can take Stripe's events at a URL without a tenant id.
pub fn sole_stripe_intake_tenant(conn: &mut DbConn) -> StoreResult<Option<String>> {
    let ids: Vec<String> = stripe_accounts::table
        .filter(stripe_accounts::webhook_secrets.is_not_null())
        .select(stripe_accounts::tenant_id)
        .limit(2)
        .load(conn)?;
    Ok(match ids.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    })
}
