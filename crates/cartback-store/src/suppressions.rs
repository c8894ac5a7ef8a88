//! A tenant's suppression list: addresses never emailed again (unsubscribed,
//! bounced, complained, or added by hand), checked right before every send.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text, Timestamp};
use serde::Serialize;

use crate::connection::DbConn;
use crate::error::{StoreError, StoreResult};
use crate::schema::suppressions;
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

/// Addresses compare case-insensitively: the list holds them lowercased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = suppressions)]
pub struct Suppression {
    pub tenant_id: String,
    pub email: String,
    pub reason: String,
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

/// Removes `email`; false when it was not on the list.
pub fn remove_suppression(conn: &mut DbConn, tenant_id: &str, email: &str) -> StoreResult<bool> {
    let removed = diesel::delete(
        suppressions::table
            .filter(suppressions::tenant_id.eq(tenant_id))
            .filter(suppressions::email.eq(normalize_email(email))),
    )
    .execute(conn)?;
    Ok(removed == 1)
}

/// One page of the list, newest first, with the total count.
pub fn list_suppressions(
    conn: &mut DbConn,
    tenant_id: &str,
    offset: i64,
    limit: i64,
) -> StoreResult<(Vec<Suppression>, i64)> {
    let total = suppressions::table
        .filter(suppressions::tenant_id.eq(tenant_id))
        .count()
        .get_result(conn)?;
    let page = suppressions::table
        .filter(suppressions::tenant_id.eq(tenant_id))
        .order((suppressions::created_at.desc(), suppressions::email.asc()))
        .offset(offset)
        .limit(limit)
        .select(Suppression::as_select())
        .load(conn)?;
    Ok((page, total))
}

/// Which of `emails` (any case) are suppressed for `tenant_id`, lowercased.
pub fn suppressed_among(
    conn: &mut DbConn,
    tenant_id: &str,
    emails: &[&str],
) -> StoreResult<Vec<String>> {
    if emails.is_empty() {
        return Ok(Vec::new());
    }
    let wanted: Vec<String> = emails.iter().map(|e| normalize_email(e)).collect();
    Ok(suppressions::table
        .filter(suppressions::tenant_id.eq(tenant_id))
        .filter(suppressions::email.eq_any(&wanted))
        .select(suppressions::email)
        .load(conn)?)
}

impl Suppression {
    pub fn reason(&self) -> StoreResult<SuppressionReason> {
        SuppressionReason::parse(&self.reason)
            .ok_or_else(|| StoreError::Corrupt(format!("suppression reason {:?}", self.reason)))
    }
}
