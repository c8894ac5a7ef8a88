//! A tenant's Stripe account: the secret key for payment links and the webhook
//! secrets for event intake. The caller seals both before they get here and opens
//! them after; this module only stores text.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Nullable, Text, Timestamp};

use crate::connection::DbConn;
use crate::error::StoreResult;
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
