//! Erasure (GDPR art. 17) and retention: what leaves the database for good.
//!
//! Erasing a cart takes its shopper out of every table that copied them: the
//! cart itself (see [`crate::cart_admin::erase_cart`]), the payloads and error
//! texts of its webhook deliveries (pending ones are cancelled), its sends'
//! provider error texts and recovery links, its history details, and the
//! address and session of its orders. Erasing a customer does that for every
//! cart and order of one address and keeps the address suppressed only as a
//! keyed hash. Retention deletes what is old and finished.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;
use serde_json::Value;

use crate::connection::{DbConn, write_transaction};
use crate::error::StoreResult;
use crate::events::CartEventKind;
use crate::schema::{cart_events, carts, orders, recovery_sends, tenants, webhook_deliveries};
use crate::sends::SendStatus;
use crate::sql::dialect;
use crate::suppressions::{hash_suppression, normalize_email};
use crate::webhooks::DeliveryStatus;

/// What replaces an erased text that must stay a string (item names).
pub const ERASED_MARKER: &str = "[erased]";
/// What replaces an erased error text or history detail.
pub const ERASED_TEXT: &str = "erased";

/// Keys of a webhook payload that name or reach a person: set to null wherever
/// they appear. Ids of cartback's own objects, totals and event names stay.
const PERSONAL_KEYS: &[&str] = &[
    "customerEmail",
    "customerName",
    "customerPhone",
    "email",
    "phone",
    "address",
    "shippingAddress",
    "billingAddress",
    "sessionId",
    "externalId",
    "attributes",
    "ip",
    "userAgent",
];

/// A stored webhook payload with its personal fields removed: contact fields
/// null, item names `[erased]` without links or images, provider error texts
/// `erased`, and `"erased": true` in `data` so a receiver of a replay can tell.
/// A payload that is not JSON cannot be sorted, so it is replaced whole.
pub fn scrub_payload(payload: &str) -> String {
    let Ok(mut value) = serde_json::from_str::<Value>(payload) else {
        return serde_json::json!({"erased": true}).to_string();
    };
    scrub_value(&mut value);
    if let Some(Value::Object(data)) = value.get_mut("data") {
        data.insert("erased".to_owned(), Value::Bool(true));
    }
    value.to_string()
}

fn scrub_value(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for (key, field) in fields.iter_mut() {
                if PERSONAL_KEYS.contains(&key.as_str()) {
                    *field = Value::Null;
                } else if key == "error" && field.is_string() {
                    *field = Value::String(ERASED_TEXT.to_owned());
                } else if key == "items" {
                    if let Value::Array(items) = field {
                        for (at, item) in items.iter_mut().enumerate() {
                            scrub_item(item, at);
                        }
                    }
                } else {
                    scrub_value(field);
                }
            }
        }
        Value::Array(values) => values.iter_mut().for_each(scrub_value),
        _ => {}
    }
}

/// Like the erased cart's own items: the line stays (price, quantity), what
/// could say who bought it goes.
fn scrub_item(item: &mut Value, at: usize) {
    let Value::Object(fields) = item else {
        *item = Value::Null;
        return;
    };
    fields.remove("url");
    fields.remove("imageUrl");
    if fields.contains_key("id") {
        fields.insert("id".to_owned(), Value::String(format!("erased-{}", at + 1)));
    }
    if fields.contains_key("name") {
        fields.insert("name".to_owned(), Value::String(ERASED_MARKER.to_owned()));
    }
    for (key, field) in fields.iter_mut() {
        if PERSONAL_KEYS.contains(&key.as_str()) {
            *field = Value::Null;
        }
    }
}

/// Scrubs the deliveries whose ids are given (payload and receiver error text).
fn scrub_deliveries(conn: &mut DbConn, tenant_id: &str, ids: &[String]) -> StoreResult<usize> {
    let rows: Vec<(String, String, Option<String>)> = webhook_deliveries::table
        .filter(webhook_deliveries::tenant_id.eq(tenant_id))
        .filter(webhook_deliveries::id.eq_any(ids))
        .select((
            webhook_deliveries::id,
            webhook_deliveries::payload,
            webhook_deliveries::last_error,
        ))
        .load(conn)?;
    for (id, payload, last_error) in &rows {
        diesel::update(
            webhook_deliveries::table
                .filter(webhook_deliveries::tenant_id.eq(tenant_id))
                .filter(webhook_deliveries::id.eq(id)),
        )
        .set((
            webhook_deliveries::payload.eq(scrub_payload(payload)),
            webhook_deliveries::last_error.eq(last_error.as_ref().map(|_| ERASED_TEXT)),
        ))
        .execute(conn)?;
    }
    Ok(rows.len())
}

/// Everything a cart left outside its own row, inside the caller's transaction:
/// pending deliveries cancelled, every delivery scrubbed, send error texts and
/// recovery links gone, history details neutral, orders without address or
/// session. Returns the ids of the scrubbed deliveries.
pub(crate) fn erase_cart_traces(
    conn: &mut DbConn,
    tenant_id: &str,
    cart_id: &str,
    now: DateTime<Utc>,
) -> StoreResult<Vec<String>> {
    let stamp = now.naive_utc();
    // A checkout link opens a session made out to the shopper's address.
    crate::stripe::forget_payment_link(conn, tenant_id, cart_id)?;
    // A pending delivery would still carry the shopper out; releasing its lease
    // also makes a worker's late result for it change nothing.
    diesel::update(
        webhook_deliveries::table
            .filter(webhook_deliveries::tenant_id.eq(tenant_id))
            .filter(webhook_deliveries::cart_id.eq(cart_id))
            .filter(webhook_deliveries::status.eq(DeliveryStatus::Pending.as_str())),
    )
    .set((
        webhook_deliveries::status.eq(DeliveryStatus::Cancelled.as_str()),
        webhook_deliveries::next_attempt_at.eq(None::<NaiveDateTime>),
        webhook_deliveries::locked_by.eq(None::<String>),
        webhook_deliveries::updated_at.eq(stamp),
    ))
    .execute(conn)?;
    let ids: Vec<String> = webhook_deliveries::table
        .filter(webhook_deliveries::tenant_id.eq(tenant_id))
        .filter(webhook_deliveries::cart_id.eq(cart_id))
        .select(webhook_deliveries::id)
        .load(conn)?;
    scrub_deliveries(conn, tenant_id, &ids)?;
    // Provider error texts often quote the address they refused.
    diesel::update(
        recovery_sends::table
            .filter(recovery_sends::tenant_id.eq(tenant_id))
            .filter(recovery_sends::cart_id.eq(cart_id))
            .filter(recovery_sends::last_error.is_not_null()),
    )
    .set(recovery_sends::last_error.eq(ERASED_TEXT))
    .execute(conn)?;
    // The emails' links stop working: nothing leads back to this shopper.
    diesel::update(
        recovery_sends::table
            .filter(recovery_sends::tenant_id.eq(tenant_id))
            .filter(recovery_sends::cart_id.eq(cart_id)),
    )
    .set((
        recovery_sends::recovery_token_hash.eq(None::<String>),
        recovery_sends::unsubscribe_token_hash.eq(None::<String>),
    ))
    .execute(conn)?;
    diesel::update(
        cart_events::table
            .filter(cart_events::tenant_id.eq(tenant_id))
            .filter(cart_events::cart_id.eq(cart_id))
            .filter(cart_events::detail.is_not_null()),
    )
    .set(cart_events::detail.eq(ERASED_TEXT))
    .execute(conn)?;
    diesel::update(
        orders::table
            .filter(orders::tenant_id.eq(tenant_id))
            .filter(orders::cart_id.eq(cart_id)),
    )
    .set((
        orders::customer_email.eq(None::<String>),
        orders::session_id.eq(None::<String>),
    ))
    .execute(conn)?;
    Ok(ids)
}

/// What erasing a customer found and erased.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CustomerErasure {
    pub carts: usize,
    pub orders: usize,
    pub deliveries: usize,
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

/// Ids in `table` of `tenant_id` whose `column` contains `needle` (lower case),
/// case-insensitively. A scan of the tenant's rows: erasure is rare, and an
/// address may hide in texts no index covers (an old payload of a cart whose
/// address changed since, a provider's error text).
fn ids_mentioning(
    conn: &mut DbConn,
    table: &str,
    column: &str,
    tenant_id: &str,
    needle: &str,
) -> StoreResult<Vec<String>> {
    let find = match conn {
        DbConn::Postgres(_) => "strpos",
        DbConn::Sqlite(_) => "instr",
    };
    let sql = format!(
        "SELECT id FROM {table} WHERE tenant_id = $1 AND {column} IS NOT NULL \
         AND {find}(lower({column}), $2) > 0"
    );
    let rows: Vec<Id> = diesel::sql_query(dialect(conn, &sql))
        .bind::<Text, _>(tenant_id)
        .bind::<Text, _>(needle)
        .load(conn)?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Erases one person of `tenant_id` by address (any case), in one transaction:
/// every cart with that address (as [`crate::cart_admin::erase_cart`] does),
/// every order with it, every delivery, send error and history detail that
/// quotes it. The address stays suppressed, as a keyed hash only: it is never
/// emailed again and no plain copy is left. Running it again finds nothing.
pub fn erase_customer(
    conn: &mut DbConn,
    tenant_id: &str,
    email: &str,
    now: DateTime<Utc>,
) -> StoreResult<CustomerErasure> {
    let address = normalize_email(email);
    write_transaction(conn, |conn| {
        let mut deliveries: Vec<String> = Vec::new();
        let mut order_ids: Vec<String> = Vec::new();
        let cart_ids = crate::links::carts_of_email(conn, tenant_id, &address)?;
        for cart_id in &cart_ids {
            order_ids.extend(
                orders::table
                    .filter(orders::tenant_id.eq(tenant_id))
                    .filter(orders::cart_id.eq(cart_id))
                    .select(orders::id)
                    .load::<String>(conn)?,
            );
            if let Some(erased) = crate::cart_admin::erase_cart_in(conn, tenant_id, cart_id, now)? {
                deliveries.extend(erased);
            }
        }
        let by_address: Vec<Id> = diesel::sql_query(dialect(
            conn,
            "SELECT id FROM orders WHERE tenant_id = $1 AND lower(customer_email) = $2",
        ))
        .bind::<Text, _>(tenant_id)
        .bind::<Text, _>(&address)
        .load(conn)?;
        let by_address: Vec<String> = by_address.into_iter().map(|r| r.id).collect();
        diesel::update(
            orders::table
                .filter(orders::tenant_id.eq(tenant_id))
                .filter(orders::id.eq_any(&by_address)),
        )
        .set((
            orders::customer_email.eq(None::<String>),
            orders::session_id.eq(None::<String>),
        ))
        .execute(conn)?;
        order_ids.extend(by_address);
        let quoting = ids_mentioning(conn, "webhook_deliveries", "payload", tenant_id, &address)?;
        let errors = ids_mentioning(
            conn,
            "webhook_deliveries",
            "last_error",
            tenant_id,
            &address,
        )?;
        let mut leftover: Vec<String> = quoting.into_iter().chain(errors).collect();
        leftover.retain(|id| !deliveries.contains(id));
        leftover.sort();
        leftover.dedup();
        scrub_deliveries(conn, tenant_id, &leftover)?;
        deliveries.extend(leftover);
        let sends = ids_mentioning(conn, "recovery_sends", "last_error", tenant_id, &address)?;
        diesel::update(
            recovery_sends::table
                .filter(recovery_sends::tenant_id.eq(tenant_id))
                .filter(recovery_sends::id.eq_any(&sends)),
        )
        .set(recovery_sends::last_error.eq(ERASED_TEXT))
        .execute(conn)?;
        let events = ids_mentioning(conn, "cart_events", "detail", tenant_id, &address)?;
        diesel::update(
            cart_events::table
                .filter(cart_events::tenant_id.eq(tenant_id))
                .filter(cart_events::id.eq_any(&events)),
        )
        .set(cart_events::detail.eq(ERASED_TEXT))
        .execute(conn)?;
        hash_suppression(conn, tenant_id, &address, true, now)?;
        order_ids.sort();
        order_ids.dedup();
        deliveries.sort();
        deliveries.dedup();
        Ok(CustomerErasure {
            carts: cart_ids.len(),
            orders: order_ids.len(),
            deliveries: deliveries.len(),
        })
    })
}

/// What one retention pass removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeCounts {
    /// Finished carts deleted, with their sends, history and deliveries.
    pub carts: usize,
    pub sends: usize,
    pub events: usize,
    pub deliveries: usize,
    /// Orders that lost their address and session (the rows, totals and
    /// attribution stay for the revenue figures).
    pub orders: usize,
}

impl PurgeCounts {
    pub fn total(&self) -> usize {
        self.carts + self.sends + self.events + self.deliveries + self.orders
    }

    /// Whether some step hit its batch limit, so more may be waiting.
    pub fn full(&self, batch: i64) -> bool {
        let batch = usize::try_from(batch).unwrap_or(usize::MAX);
        self.carts >= batch
            || self.events >= batch
            || self.deliveries >= batch
            || self.orders >= batch
    }
}

/// Statuses after which nothing more happens to a cart.
const FINISHED: &[&str] = &["recovered", "converted", "expired"];

/// One retention batch, in one short transaction: at most `batch` finished carts
/// (recovered, converted, expired, deleted or erased) last changed before
/// `cutoff` are deleted with their sends, history and deliveries (their orders
/// stay, unlinked and without address); then at most `batch` each of history
/// entries and finished deliveries created before `cutoff` are deleted, and of
/// orders older than it lose their address and session. Call again while
/// [`PurgeCounts::full`].
pub fn purge_expired(
    conn: &mut DbConn,
    cutoff: DateTime<Utc>,
    batch: i64,
) -> StoreResult<PurgeCounts> {
    let cutoff = cutoff.naive_utc();
    let batch = batch.max(1);
    write_transaction(conn, |conn| {
        let mut counts = PurgeCounts::default();
        let tenant_ids: Vec<String> = tenants::table.select(tenants::id).load(conn)?;
        // Per tenant, so the (tenant, updated_at) index finds the old carts.
        let mut cart_ids: Vec<(String, String)> = Vec::new();
        for tenant_id in &tenant_ids {
            let room = batch - i64::try_from(cart_ids.len()).unwrap_or(i64::MAX);
            if room <= 0 {
                break;
            }
            let ids: Vec<String> = carts::table
                .filter(carts::tenant_id.eq(tenant_id))
                .filter(carts::updated_at.lt(cutoff))
                .filter(carts::locked_by.is_null())
                .filter(
                    carts::status
                        .eq_any(FINISHED)
                        .or(carts::deleted_at.is_not_null())
                        .or(carts::erased_at.is_not_null()),
                )
                .order(carts::updated_at.asc())
                .limit(room)
                .select(carts::id)
                .load(conn)?;
            cart_ids.extend(ids.into_iter().map(|id| (tenant_id.clone(), id)));
        }
        for tenant_id in &tenant_ids {
            let ids: Vec<&String> = cart_ids
                .iter()
                .filter(|(t, _)| t == tenant_id)
                .map(|(_, id)| id)
                .collect();
            if ids.is_empty() {
                continue;
            }
            // The analytics summary forgets the days of what goes.
            if let Some(last) = last_fact_of_carts(conn, tenant_id, &ids)? {
                crate::analytics::summary::forget_before(conn, tenant_id, last)?;
            }
            // Dependent rows first: the foreign keys would refuse (SQLite
            // without cascades) or cascade unseen.
            counts.sends += diesel::delete(
                recovery_sends::table
                    .filter(recovery_sends::tenant_id.eq(tenant_id))
                    .filter(recovery_sends::cart_id.eq_any(&ids)),
            )
            .execute(conn)?;
            counts.events += diesel::delete(
                cart_events::table
                    .filter(cart_events::tenant_id.eq(tenant_id))
                    .filter(cart_events::cart_id.eq_any(&ids)),
            )
            .execute(conn)?;
            counts.deliveries += diesel::delete(
                webhook_deliveries::table
                    .filter(webhook_deliveries::tenant_id.eq(tenant_id))
                    .filter(webhook_deliveries::cart_id.eq_any(&ids)),
            )
            .execute(conn)?;
            counts.orders += diesel::update(
                orders::table
                    .filter(orders::tenant_id.eq(tenant_id))
                    .filter(orders::cart_id.eq_any(&ids)),
            )
            .set((
                orders::cart_id.eq(None::<String>),
                orders::customer_email.eq(None::<String>),
                orders::session_id.eq(None::<String>),
            ))
            .execute(conn)?;
            diesel::delete(
                crate::schema::cart_shop_fields::table
                    .filter(crate::schema::cart_shop_fields::tenant_id.eq(tenant_id))
                    .filter(crate::schema::cart_shop_fields::cart_id.eq_any(&ids)),
            )
            .execute(conn)?;
            counts.carts += diesel::delete(
                carts::table
                    .filter(carts::tenant_id.eq(tenant_id))
                    .filter(carts::id.eq_any(&ids)),
            )
            .execute(conn)?;
        }
        // Then, tenant by tenant through the (tenant, created_at) indexes, old
        // history, old finished deliveries and old orders' personal fields.
        let (mut events_left, mut deliveries_left, mut orders_left) = (batch, batch, batch);
        for tenant_id in &tenant_ids {
            if events_left > 0 {
                let old: Vec<String> = cart_events::table
                    .filter(cart_events::tenant_id.eq(tenant_id))
                    .filter(cart_events::created_at.lt(cutoff))
                    .order(cart_events::created_at.asc())
                    .limit(events_left)
                    .select(cart_events::id)
                    .load(conn)?;
                let last_abandoned: Option<NaiveDateTime> = cart_events::table
                    .filter(cart_events::tenant_id.eq(tenant_id))
                    .filter(cart_events::id.eq_any(&old))
                    .filter(cart_events::kind.eq(CartEventKind::Abandoned.as_str()))
                    .select(diesel::dsl::max(cart_events::created_at))
                    .first(conn)?;
                if let Some(last) = last_abandoned {
                    crate::analytics::summary::forget_before(conn, tenant_id, last.and_utc())?;
                }
                let done = diesel::delete(
                    cart_events::table
                        .filter(cart_events::tenant_id.eq(tenant_id))
                        .filter(cart_events::id.eq_any(&old)),
                )
                .execute(conn)?;
                counts.events += done;
                events_left -= i64::try_from(done).unwrap_or(i64::MAX);
            }
            if deliveries_left > 0 {
                let old: Vec<String> = webhook_deliveries::table
                    .filter(webhook_deliveries::tenant_id.eq(tenant_id))
                    .filter(webhook_deliveries::created_at.lt(cutoff))
                    .filter(webhook_deliveries::status.ne(DeliveryStatus::Pending.as_str()))
                    .order(webhook_deliveries::created_at.asc())
                    .limit(deliveries_left)
                    .select(webhook_deliveries::id)
                    .load(conn)?;
                let done = diesel::delete(
                    webhook_deliveries::table
                        .filter(webhook_deliveries::tenant_id.eq(tenant_id))
                        .filter(webhook_deliveries::id.eq_any(&old)),
                )
                .execute(conn)?;
                counts.deliveries += done;
                deliveries_left -= i64::try_from(done).unwrap_or(i64::MAX);
            }
            if orders_left > 0 {
                let old: Vec<String> = orders::table
                    .filter(orders::tenant_id.eq(tenant_id))
                    .filter(orders::created_at.lt(cutoff))
                    .filter(
                        orders::customer_email
                            .is_not_null()
                            .or(orders::session_id.is_not_null()),
                    )
                    .limit(orders_left)
                    .select(orders::id)
                    .load(conn)?;
                let done = diesel::update(
                    orders::table
                        .filter(orders::tenant_id.eq(tenant_id))
                        .filter(orders::id.eq_any(&old)),
                )
                .set((
                    orders::customer_email.eq(None::<String>),
                    orders::session_id.eq(None::<String>),
                ))
                .execute(conn)?;
                counts.orders += done;
                orders_left -= i64::try_from(done).unwrap_or(i64::MAX);
            }
        }
        Ok(counts)
    })
}

/// The latest instant among the analytics facts of these carts: their sent
/// emails and `abandoned` events.
fn last_fact_of_carts(
    conn: &mut DbConn,
    tenant_id: &str,
    cart_ids: &[&String],
) -> StoreResult<Option<DateTime<Utc>>> {
    let sent: Option<NaiveDateTime> = recovery_sends::table
        .filter(recovery_sends::tenant_id.eq(tenant_id))
        .filter(recovery_sends::cart_id.eq_any(cart_ids))
        .filter(recovery_sends::status.eq(SendStatus::Sent.as_str()))
        .select(diesel::dsl::max(recovery_sends::sent_at))
        .first(conn)?;
    let abandoned: Option<NaiveDateTime> = cart_events::table
        .filter(cart_events::tenant_id.eq(tenant_id))
        .filter(cart_events::cart_id.eq_any(cart_ids))
        .filter(cart_events::kind.eq(CartEventKind::Abandoned.as_str()))
        .select(diesel::dsl::max(cart_events::created_at))
        .first(conn)?;
    Ok(sent.max(abandoned).map(|at| at.and_utc()))
}

#[derive(QueryableByName)]
struct Checkpoint {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    busy: i32,
}

/// After an erasure on SQLite: copies the WAL into the database file and
/// truncates it, so the old page images that still hold the erased data leave
/// the WAL too (the file's freed space is zeroed by `secure_delete`). Waits for
/// readers up to the busy timeout, tries a few times; returns whether the WAL
/// is empty now. PostgreSQL needs nothing: it is always true there.
pub fn flush_erased(conn: &mut DbConn) -> StoreResult<bool> {
    let DbConn::Sqlite(sqlite) = conn else {
        return Ok(true);
    };
    for attempt in 0..5 {
        if attempt > 0 {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let outcome = diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)")
            .get_result::<Checkpoint>(sqlite)?;
        if outcome.busy == 0 {
            return Ok(true);
        }
    }
    Ok(false)
}
