//! A tenant's suppression list: addresses never emailed again (unsubscribed,
//! bounced, complained, or added by hand), checked right before every send.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Timestamp};
use serde::Serialize;

use hmac::{KeyInit, Mac};

use crate::columns::{Stored, text_enum};
use crate::connection::DbConn;
use crate::error::StoreResult;
use crate::schema::{suppressions, tenants};
use crate::sql::dialect;

/// Why an address is suppressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionReason {
    Unsubscribed,
    Bounced,
    Complained,
    Manual,
}

impl SuppressionReason {
    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionReason::Unsubscribed => "unsubscribed",
            SuppressionReason::Bounced => "bounced",
            SuppressionReason::Complained => "complained",
            SuppressionReason::Manual => "manual",
        }
    }

    pub fn parse(value: &str) -> Option<SuppressionReason> {
        Some(match value {
            "unsubscribed" => SuppressionReason::Unsubscribed,
            "bounced" => SuppressionReason::Bounced,
            "complained" => SuppressionReason::Complained,
            "manual" => SuppressionReason::Manual,
            _ => return None,
        })
    }
}

text_enum!(
    SuppressionReason,
    "suppressions.reason",
    SuppressionReason::parse
);

/// Addresses compare case-insensitively: the list holds them lowercased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = suppressions)]
pub struct Suppression {
    pub tenant_id: String,
    pub email: String,
    #[diesel(deserialize_as = Stored<SuppressionReason>)]
    pub reason: SuppressionReason,
    pub note: Option<String>,
    pub created_at: NaiveDateTime,
}

const ADD_SQL: &str = "\
INSERT INTO suppressions (tenant_id, email, reason, note, created_at) VALUES ($1, $2, $3, $4, $5) \
ON CONFLICT (tenant_id, email) DO NOTHING";

/// Adds `email`; false when it was already on the list (the first reason stays).
pub fn add_suppression(
    conn: &mut DbConn,
    tenant_id: &str,
    email: &str,
    reason: SuppressionReason,
    note: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let added = diesel::sql_query(dialect(conn, ADD_SQL))
        .bind::<Text, _>(tenant_id)
        .bind::<Text, _>(normalize_email(email))
        .bind::<Text, _>(reason.as_str())
        .bind::<Nullable<Text>, _>(note)
        .bind::<Timestamp, _>(now.naive_utc())
        .execute(conn)?;
    Ok(added == 1)
}

/// Removes `email`, in plain or hashed form (an erased shopper's entry);
/// false when it was not on the list.
pub fn remove_suppression(conn: &mut DbConn, tenant_id: &str, email: &str) -> StoreResult<bool> {
    let mut forms = vec![normalize_email(email)];
    if let Some(secret) = link_secret(conn, tenant_id)? {
        forms.push(hashed_email(&secret, email));
    }
    let removed = diesel::delete(
        suppressions::table
            .filter(suppressions::tenant_id.eq(tenant_id))
            .filter(suppressions::email.eq_any(&forms)),
    )
    .execute(conn)?;
    Ok(removed >= 1)
}

/// How a hashed entry's `email` starts; no address contains a colon before its `@`
/// that we would accept, so the two forms never collide.
pub const HASHED_PREFIX: &str = "hmac-sha256:";

/// The stored form of an erased shopper's address: HMAC-SHA256 of the normalised
/// address under the tenant's link secret (which never leaves the database), hex.
/// It lets the worker recognise the address without keeping it; it is
/// pseudonymisation, not anonymity, to whoever holds the database and guesses
/// the address.
pub fn hashed_email(link_secret: &str, email: &str) -> String {
    #[expect(clippy::expect_used, reason = "HMAC accepts keys of any length")]
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(link_secret.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(b"suppression:");
    mac.update(normalize_email(email).as_bytes());
    format!(
        "{HASHED_PREFIX}{}",
        hex::encode(mac.finalize().into_bytes())
    )
}

fn link_secret(conn: &mut DbConn, tenant_id: &str) -> StoreResult<Option<String>> {
    Ok(tenants::table
        .filter(tenants::id.eq(tenant_id))
        .select(tenants::link_secret)
        .first(conn)
        .optional()?)
}

/// Keeps `email` suppressed without keeping the address: a plain entry becomes
/// a hashed one (its reason and date stay, its note goes, it may name the
/// person); with `add_if_missing` an address not on the list is added hashed as
/// `manual`. Returns whether the address is on the list (hashed) afterwards.
pub fn hash_suppression(
    conn: &mut DbConn,
    tenant_id: &str,
    email: &str,
    add_if_missing: bool,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let Some(secret) = link_secret(conn, tenant_id)? else {
        return Ok(false);
    };
    let plain = normalize_email(email);
    let hashed = hashed_email(&secret, &plain);
    let existing: Option<Suppression> = suppressions::table
        .filter(suppressions::tenant_id.eq(tenant_id))
        .filter(suppressions::email.eq(&plain))
        .select(Suppression::as_select())
        .first(conn)
        .optional()?;
    let (reason, created_at) = match &existing {
        Some(row) => (row.reason, row.created_at.and_utc()),
        None if add_if_missing => (SuppressionReason::Manual, now),
        None => {
            return Ok(suppressions::table
                .filter(suppressions::tenant_id.eq(tenant_id))
                .filter(suppressions::email.eq(&hashed))
                .count()
                .get_result::<i64>(conn)?
                > 0);
        }
    };
    if existing.is_some() {
        diesel::delete(
            suppressions::table
                .filter(suppressions::tenant_id.eq(tenant_id))
                .filter(suppressions::email.eq(&plain)),
        )
        .execute(conn)?;
    }
    diesel::sql_query(dialect(conn, ADD_SQL))
        .bind::<Text, _>(tenant_id)
        .bind::<Text, _>(&hashed)
        .bind::<Text, _>(reason.as_str())
        .bind::<Nullable<Text>, _>(Some("erased shopper (GDPR art. 17)"))
        .bind::<Timestamp, _>(created_at.naive_utc())
        .execute(conn)?;
    Ok(true)
}

/// One page of the list, newest first, with the total count.
pub fn list_suppressions(
    conn: &mut DbConn,
    tenant_id: &str,
    offset: i64,
    limit: i64,
) -> StoreResult<(Vec<Suppression>, i64)> {
    list_suppressions_matching(conn, tenant_id, None, offset, limit)
}

/// [`list_suppressions`] of the entries whose address contains `search` (any
/// case). A search reads the tenant's whole list (a substring cannot use the
/// index); lists are as long as the shop's unsubscribes and bounces, which
/// keeps that cheap.
pub fn list_suppressions_matching(
    conn: &mut DbConn,
    tenant_id: &str,
    search: Option<&str>,
    offset: i64,
    limit: i64,
) -> StoreResult<(Vec<Suppression>, i64)> {
    let pattern = search
        .map(normalize_email)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let escaped = s
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            format!("%{escaped}%")
        });
    // A boxed query is typed by its backend: one expansion per backend.
    macro_rules! filtered {
        () => {{
            let mut query = suppressions::table
                .filter(suppressions::tenant_id.eq(tenant_id))
                .into_boxed();
            if let Some(pattern) = &pattern {
                query = query.filter(suppressions::email.like(pattern.clone()).escape('\\'));
            }
            query
        }};
    }
    let total = match conn {
        DbConn::Postgres(pg) => filtered!().count().get_result(pg)?,
        DbConn::Sqlite(sqlite) => filtered!().count().get_result(sqlite)?,
    };
    macro_rules! page {
        ($conn:expr) => {
            filtered!()
                .order((suppressions::created_at.desc(), suppressions::email.asc()))
                .offset(offset)
                .limit(limit)
                .select(Suppression::as_select())
                .load($conn)?
        };
    }
    let page = match conn {
        DbConn::Postgres(pg) => page!(pg),
        DbConn::Sqlite(sqlite) => page!(sqlite),
    };
    Ok((page, total))
}

/// Why `email` (any case) is on the tenant's suppression list, if it is (an
/// entry hashed by an erasure counts, with its reason).
pub fn suppression_of(
    conn: &mut DbConn,
    tenant_id: &str,
    email: &str,
) -> StoreResult<Option<SuppressionReason>> {
    let plain = normalize_email(email);
    let mut keys = vec![plain.clone()];
    if let Some(secret) = link_secret(conn, tenant_id)? {
        keys.push(hashed_email(&secret, &plain));
    }
    let reasons: Vec<Stored<SuppressionReason>> = suppressions::table
        .filter(suppressions::tenant_id.eq(tenant_id))
        .filter(suppressions::email.eq_any(&keys))
        .select(suppressions::reason)
        .load(conn)?;
    Ok(reasons.into_iter().next().map(|Stored(reason)| reason))
}

/// Which of `emails` (any case) are suppressed for `tenant_id`, lowercased:
/// listed in plain, or hashed because the shopper was erased.
pub fn suppressed_among(
    conn: &mut DbConn,
    tenant_id: &str,
    emails: &[&str],
) -> StoreResult<Vec<String>> {
    if emails.is_empty() {
        return Ok(Vec::new());
    }
    let mut wanted: Vec<String> = emails.iter().map(|e| normalize_email(e)).collect();
    wanted.sort();
    wanted.dedup();
    let hashes: Vec<(String, String)> = match link_secret(conn, tenant_id)? {
        Some(secret) => wanted
            .iter()
            .map(|plain| (hashed_email(&secret, plain), plain.clone()))
            .collect(),
        None => Vec::new(),
    };
    let mut keys = wanted;
    keys.extend(hashes.iter().map(|(hash, _)| hash.clone()));
    let found: Vec<String> = suppressions::table
        .filter(suppressions::tenant_id.eq(tenant_id))
        .filter(suppressions::email.eq_any(&keys))
        .select(suppressions::email)
        .load(conn)?;
    let mut plain: Vec<String> = found
        .into_iter()
        .map(|key| {
            hashes
                .iter()
                .find(|(hash, _)| *hash == key)
                .map_or(key, |(_, plain)| plain.clone())
        })
        .collect();
    plain.sort();
    plain.dedup();
    Ok(plain)
}
