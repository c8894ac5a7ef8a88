//! Recovery sends: the outbox. One row per `(cart, cycle, step)`, enforced by a
//! unique constraint, so no crash or second worker can send the same step twice.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Integer, Text, Timestamp};

use cartback_domain::CartStatus;

use crate::carts::{CartRow, lock_held_cart};
use crate::connection::{DbConn, write_transaction};
use crate::error::{StoreError, StoreResult};
use crate::ids::random_id;
use crate::schema::{carts, recovery_sends};
use crate::sql::dialect;

/// Where a send stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendStatus {
    /// A worker holds it and may be talking to the provider.
    Sending,
    /// The provider accepted it (or, for providers with a commit point, was about to).
    Sent,
    /// A transient failure; it will be tried again at `next_attempt_at`.
    Retry,
    /// Given up: a permanent failure or too many attempts. `last_error` says why.
    Dead,
    /// The cart changed before the send went out (ordered, emptied, revived…).
    Cancelled,
}

impl SendStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SendStatus::Sending => "sending",
            SendStatus::Sent => "sent",
            SendStatus::Retry => "retry",
            SendStatus::Dead => "dead",
            SendStatus::Cancelled => "cancelled",
        }
    }
    pub fn parse(value: &str) -> Option<SendStatus> {
        Some(match value {
            "sending" => SendStatus::Sending,
            "sent" => SendStatus::Sent,
            "retry" => SendStatus::Retry,
            "dead" => SendStatus::Dead,
            "cancelled" => SendStatus::Cancelled,
            _ => return None,
        })
    }
    /// Sent and dead sends are final: the step is done either way.
    pub fn is_final(self) -> bool {
        matches!(self, SendStatus::Sent | SendStatus::Dead)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = recovery_sends)]
pub struct SendRow {
    pub id: String,
    pub tenant_id: String,
    pub cart_id: String,
    pub cycle: i32,
    pub step: i32,
    pub status: String,
    pub attempts: i32,
    pub idempotency_key: String,
    pub locked_by: Option<String>,
    pub locked_until: Option<NaiveDateTime>,
    pub provider: Option<String>,
    pub provider_message_id: Option<String>,
    pub last_error: Option<String>,
    pub next_attempt_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub sent_at: Option<NaiveDateTime>,
}

impl SendRow {
    pub fn status(&self) -> StoreResult<SendStatus> {
        SendStatus::parse(&self.status).ok_or_else(|| {
            StoreError::Corrupt(format!("send {} status {:?}", self.id, self.status))
        })
    }
}

/// What `start_send` found.
#[derive(Debug)]
pub enum StartSend {
    /// The send row is ours to deliver now (status `sending`, attempts counted).
    Ready { cart: CartRow, send: SendRow },
    /// This step already ended (sent or dead) in an earlier attempt; nothing to deliver.
    AlreadyFinal { cart: CartRow, send: SendRow },
    /// Re-read right before sending, the cart no longer wants this email.
    NotDue { cart: CartRow },
    /// The worker's lease on the cart is gone.
    LeaseLost,
}

/// The decision `start_send` asks for on the freshly locked cart: which step to send
/// now, and whether the cart becomes abandoned with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendDecision {
    pub step: u32,
    pub mark_abandoned: bool,
}

const INSERT_SEND_SQL: &str = "\
INSERT INTO recovery_sends (id, tenant_id, cart_id, cycle, step, status, attempts, idempotency_key, \
    created_at, updated_at) \
VALUES ($1, $2, $3, $4, $5, 'retry', 0, $6, $7, $7) \
ON CONFLICT (cart_id, cycle, step) DO NOTHING";

/// In one short transaction: re-reads the held cart, asks `decide` whether a step is
/// still due, and takes the `(cart, cycle, step)` send row for delivery.
pub fn start_send(
    conn: &mut DbConn,
    tenant_id: &str,
    cart_id: &str,
    worker: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    decide: impl FnOnce(&CartRow) -> StoreResult<Option<SendDecision>>,
) -> StoreResult<StartSend> {
    write_transaction(conn, |conn| {
        let Some(mut cart) = lock_held_cart(conn, tenant_id, cart_id, worker)? else {
            return Ok(StartSend::LeaseLost);
        };
        let Some(decision) = decide(&cart)? else {
            return Ok(StartSend::NotDue { cart });
        };
        let step = i32::try_from(decision.step).unwrap_or(i32::MAX);
        let key = format!("{}:{}:{}", cart.id, cart.cycle, step);
        diesel::sql_query(dialect(conn, INSERT_SEND_SQL))
            .bind::<Text, _>(random_id("snd_", 20))
            .bind::<Text, _>(&cart.tenant_id)
            .bind::<Text, _>(&cart.id)
            .bind::<Integer, _>(cart.cycle)
            .bind::<Integer, _>(step)
            .bind::<Text, _>(&key)
            .bind::<Timestamp, _>(now.naive_utc())
            .execute(conn)?;
        let send = recovery_sends::table
            .filter(recovery_sends::tenant_id.eq(tenant_id))
            .filter(recovery_sends::cart_id.eq(&cart.id))
            .filter(recovery_sends::cycle.eq(cart.cycle))
            .filter(recovery_sends::step.eq(step))
            .select(SendRow::as_select())
            .first(conn)?;
        if send.status()?.is_final() {
            return Ok(StartSend::AlreadyFinal { cart, send });
        }
        if decision.mark_abandoned && cart.status != CartStatus::Abandoned.as_str() {
            diesel::update(
                carts::table
                    .filter(carts::tenant_id.eq(tenant_id))
                    .filter(carts::id.eq(&cart.id)),
            )
            .set((
                carts::status.eq(CartStatus::Abandoned.as_str()),
                carts::abandoned_at.eq(now.naive_utc()),
            ))
            .execute(conn)?;
            cart.status = CartStatus::Abandoned.as_str().to_owned();
            cart.abandoned_at = Some(now.naive_utc());
        }
        diesel::update(recovery_sends::table.filter(recovery_sends::id.eq(&send.id)))
            .set((
                recovery_sends::status.eq(SendStatus::Sending.as_str()),
                recovery_sends::attempts.eq(send.attempts + 1),
                recovery_sends::locked_by.eq(worker),
                recovery_sends::locked_until.eq(lease_until.naive_utc()),
                recovery_sends::next_attempt_at.eq(None::<NaiveDateTime>),
                recovery_sends::updated_at.eq(now.naive_utc()),
            ))
            .execute(conn)?;
        let send = SendRow {
            status: SendStatus::Sending.as_str().to_owned(),
            attempts: send.attempts + 1,
            locked_by: Some(worker.to_owned()),
            locked_until: Some(lease_until.naive_utc()),
            next_attempt_at: None,
            ..send
        };
        Ok(StartSend::Ready { cart, send })
    })
}

/// Durably records that a send went (or is about to go, at a provider's commit point)
/// out. Only the worker holding the send may do so; false when it no longer does.
pub fn mark_sent(
    conn: &mut DbConn,
    send_id: &str,
    worker: &str,
    provider: &str,
    now: DateTime<Utc>,
) -> StoreResult<bool> {
    let changed = diesel::update(
        recovery_sends::table
            .filter(recovery_sends::id.eq(send_id))
            .filter(recovery_sends::locked_by.eq(worker))
            .filter(recovery_sends::status.eq(SendStatus::Sending.as_str())),
    )
    .set((
        recovery_sends::status.eq(SendStatus::Sent.as_str()),
        recovery_sends::provider.eq(provider),
        recovery_sends::sent_at.eq(now.naive_utc()),
        recovery_sends::updated_at.eq(now.naive_utc()),
        recovery_sends::last_error.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(changed == 1)
}

/// After the provider answered: its message id, and the lease let go.
pub fn finish_sent(
    conn: &mut DbConn,
    send_id: &str,
    worker: &str,
    provider: &str,
    provider_message_id: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    // Providers without a commit point have not marked it yet.
    mark_sent(conn, send_id, worker, provider, now)?;
    diesel::update(
        recovery_sends::table
            .filter(recovery_sends::id.eq(send_id))
            .filter(recovery_sends::locked_by.eq(worker)),
    )
    .set((
        recovery_sends::provider_message_id.eq(provider_message_id),
        recovery_sends::locked_by.eq(None::<String>),
        recovery_sends::locked_until.eq(None::<NaiveDateTime>),
    ))
    .execute(conn)?;
    Ok(())
}

/// A failed attempt: `Retry` at `next_attempt_at`, or `Dead`/`Cancelled` for good.
pub fn finish_unsent(
    conn: &mut DbConn,
    send_id: &str,
    worker: &str,
    status: SendStatus,
    error: Option<&str>,
    next_attempt_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    // Matches `sent` too: a provider may fail after its commit point (say, the SMTP
    // server refused the final dot), and the row must then tell the truth.
    diesel::update(
        recovery_sends::table
            .filter(recovery_sends::id.eq(send_id))
            .filter(recovery_sends::locked_by.eq(worker)),
    )
    .set((
        recovery_sends::status.eq(status.as_str()),
        recovery_sends::sent_at.eq(None::<NaiveDateTime>),
        recovery_sends::last_error.eq(error),
        recovery_sends::next_attempt_at.eq(next_attempt_at.map(|t| t.naive_utc())),
        recovery_sends::locked_by.eq(None::<String>),
        recovery_sends::locked_until.eq(None::<NaiveDateTime>),
        recovery_sends::updated_at.eq(now.naive_utc()),
    ))
    .execute(conn)?;
    Ok(())
}

/// Every send of a cart, oldest first (the cart's email history).
pub fn list_sends_for_cart(
    conn: &mut DbConn,
    tenant_id: &str,
    cart_id: &str,
) -> StoreResult<Vec<SendRow>> {
    Ok(recovery_sends::table
        .filter(recovery_sends::tenant_id.eq(tenant_id))
        .filter(recovery_sends::cart_id.eq(cart_id))
        .order((recovery_sends::cycle.asc(), recovery_sends::step.asc()))
        .select(SendRow::as_select())
        .load(conn)?)
}

/// Sent emails of one cart cycle: how many, and the first and last time.
pub fn sent_history(
    conn: &mut DbConn,
    tenant_id: &str,
    cart_id: &str,
    cycle: i32,
) -> StoreResult<(u32, Option<NaiveDateTime>, Option<NaiveDateTime>)> {
    let times: Vec<Option<NaiveDateTime>> = recovery_sends::table
        .filter(recovery_sends::tenant_id.eq(tenant_id))
        .filter(recovery_sends::cart_id.eq(cart_id))
        .filter(recovery_sends::cycle.eq(cycle))
        .filter(recovery_sends::status.eq(SendStatus::Sent.as_str()))
        .select(recovery_sends::sent_at)
        .load(conn)?;
    let times: Vec<NaiveDateTime> = times.into_iter().flatten().collect();
    Ok((
        u32::try_from(times.len()).unwrap_or(u32::MAX),
        times.iter().min().copied(),
        times.iter().max().copied(),
    ))
}

/// Cancels sends waiting for a retry (used when an order arrives).
pub fn cancel_waiting_sends(
    conn: &mut DbConn,
    tenant_id: &str,
    cart_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<usize> {
    Ok(diesel::update(
        recovery_sends::table
            .filter(recovery_sends::tenant_id.eq(tenant_id))
            .filter(recovery_sends::cart_id.eq(cart_id))
            .filter(recovery_sends::status.eq(SendStatus::Retry.as_str())),
    )
    .set((
        recovery_sends::status.eq(SendStatus::Cancelled.as_str()),
        recovery_sends::next_attempt_at.eq(None::<NaiveDateTime>),
        recovery_sends::updated_at.eq(now.naive_utc()),
    ))
    .execute(conn)?)
}

/// Counts sends per status across a tenant (tests, the CLI and health figures).
pub fn count_sends(conn: &mut DbConn, tenant_id: &str, status: SendStatus) -> StoreResult<i64> {
    Ok(recovery_sends::table
        .filter(recovery_sends::tenant_id.eq(tenant_id))
        .filter(recovery_sends::status.eq(status.as_str()))
        .count()
        .get_result(conn)?)
}
