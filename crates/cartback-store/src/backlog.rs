//! What the api's `/metrics` reports about the work waiting in the database,
//! counted at scrape time with cheap queries across all tenants: the gauges
//! describe the deployment, not a shop.

use chrono::NaiveDateTime;
use diesel::dsl::{count_star, min};
use diesel::prelude::*;

use crate::connection::DbConn;
use crate::error::StoreResult;
use crate::schema::{carts, recovery_sends, webhook_deliveries};

/// The backlog at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backlog {
    /// Carts whose next action (abandonment check or email) is due.
    pub due_carts: i64,
    /// The due cart that has waited longest: how far the workers are behind.
    pub oldest_due: Option<NaiveDateTime>,
    /// Recovery email attempts by (provider, status).
    pub sends: Vec<(Option<String>, String, i64)>,
    /// Webhook deliveries by status.
    pub deliveries: Vec<(String, i64)>,
    /// Pending webhook deliveries whose next attempt is due.
    pub deliveries_due: i64,
    /// Carts the worker quarantined (processing failed), waiting for the shop's
    /// next update of them.
    pub quarantined: i64,
}

/// Counts the backlog as of `now`.
pub fn read_backlog(conn: &mut DbConn, now: NaiveDateTime) -> StoreResult<Backlog> {
    // Both read through the partial index on next_action_at.
    let due_carts = carts::table
        .filter(carts::next_action_at.le(now))
        .select(count_star())
        .first(conn)?;
    let oldest_due = carts::table
        .filter(carts::next_action_at.le(now))
        .select(min(carts::next_action_at))
        .first(conn)?;
    let sends = recovery_sends::table
        .group_by((recovery_sends::provider, recovery_sends::status))
        .select((
            recovery_sends::provider,
            recovery_sends::status,
            count_star(),
        ))
        .load(conn)?;
    let deliveries = webhook_deliveries::table
        .group_by(webhook_deliveries::status)
        .select((webhook_deliveries::status, count_star()))
        .load(conn)?;
    let deliveries_due = webhook_deliveries::table
        .filter(webhook_deliveries::next_attempt_at.le(now))
        .filter(webhook_deliveries::status.eq("pending"))
        .select(count_star())
        .first(conn)?;
    // Through the partial index on quarantined_at.
    let quarantined = carts::table
        .filter(carts::quarantined_at.is_not_null())
        .select(count_star())
        .first(conn)?;
    Ok(Backlog {
        due_carts,
        oldest_due,
        sends,
        deliveries,
        deliveries_due,
        quarantined,
    })
}
