//! Orders: recorded once per `(tenant, order reference)`; each closes the cart it
//! matches (session, cart id, recovery token, then email: see
//! [`cartback_domain::match_order`]) as recovered or converted.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;

use cartback_domain::{
    AttributionMode, CartCandidate, CartStatus, MatchedBy, OrderAttribution, OrderSource,
    RecoveryHistory, match_order, on_order, recovered_revenue,
};

use crate::carts::CartRow;
use crate::columns::{Stored, StoredOption};
use crate::connection::{DbConn, write_transaction};
use crate::error::StoreResult;
use crate::events::{CartEventKind, NewCartEvent, record_order_event};
use crate::ids::{random_id, time_ordered_id};
use crate::links::{LinkPurpose, find_by_token};
use crate::schema::{carts, orders, recovery_sends};
use crate::sends::{SendStatus, cancel_waiting_sends};
use crate::sql::dialect;
use crate::suppressions::normalize_email;
use crate::view::OrderFields;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = orders)]
pub struct OrderRow {
    pub id: String,
    pub tenant_id: String,
    pub order_ref: String,
    pub session_id: Option<String>,
    pub cart_id: Option<String>,
    pub total_minor: Option<i64>,
    pub currency: String,
    #[diesel(deserialize_as = Stored<OrderAttribution>)]
    pub attribution: OrderAttribution,
    pub created_at: NaiveDateTime,
    /// None when no cart matched.
    #[diesel(deserialize_as = StoredOption<MatchedBy>)]
    pub matched_by: Option<MatchedBy>,
    #[diesel(deserialize_as = Stored<OrderSource>)]
    pub source: OrderSource,
    pub customer_email: Option<String>,
}

/// A validated order, from ORDER_COMPLETE or a Stripe event.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub tenant_id: String,
    /// The shop's order id; generated when the shop sent none.
    pub order_ref: Option<String>,
    pub session_id: Option<String>,
    /// A cart id the shop passed through (Stripe's `client_reference_id`).
    pub cart_id: Option<String>,
    /// The recovery token a recovery link carried to the shop (`cart_token`).
    pub cart_token: Option<String>,
    pub customer_email: Option<String>,
    pub total_minor: Option<i64>,
    pub currency: String,
    pub source: OrderSource,
    pub attribution_mode: AttributionMode,
    pub attribution_window: TimeDelta,
    pub now: DateTime<Utc>,
}

/// What recording an order did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderOutcome {
    pub order: OrderRow,
    /// True when this order had been recorded before: nothing changed this time.
    pub duplicate: bool,
    /// The cart the order closed and its new status, if any.
    pub closed_cart: Option<(String, CartStatus)>,
    /// Retry-waiting sends that were cancelled.
    pub cancelled_sends: usize,
}

/// Records an order and closes the cart it matches, with its history entry
/// (`recovered` or `converted`) and the webhooks that announce it, in one
/// transaction. Two deliveries of the same order racing each other end as one
/// order and one duplicate.
pub fn record_order(conn: &mut DbConn, new: &NewOrder) -> StoreResult<OrderOutcome> {
    match record_order_once(conn, new) {
        Err(e) if e.is_unique_violation() => {
            let recorded = match &new.order_ref {
                Some(order_ref) => find_order(conn, &new.tenant_id, order_ref)?,
                None => None,
            };
            match recorded {
                Some(order) => Ok(OrderOutcome {
                    order,
                    duplicate: true,
                    closed_cart: None,
                    cancelled_sends: 0,
                }),
                None => Err(e),
            }
        }
        other => other,
    }
}

fn record_order_once(conn: &mut DbConn, new: &NewOrder) -> StoreResult<OrderOutcome> {
    let now = new.now.naive_utc();
    write_transaction(conn, |conn| {
        if let Some(order_ref) = &new.order_ref
            && let Some(order) = find_order(conn, &new.tenant_id, order_ref)?
        {
            return Ok(OrderOutcome {
                order,
                duplicate: true,
                closed_cart: None,
                cancelled_sends: 0,
            });
        }
        let candidates = candidates(conn, new)?;
        let found: Vec<CartCandidate<usize>> = candidates
            .iter()
            .enumerate()
            .map(|(at, (cart, found_by))| CartCandidate {
                id: at,
                found_by: *found_by,
                status: cart.status,
                deleted: cart.deleted_at.is_some(),
                last_activity_at: cart.last_activity_at.and_utc(),
            })
            .collect();
        let chosen = match_order(&found, new.now, new.attribution_window)
            .map(|c| (candidates[c.id].0.clone(), c.found_by));
        let cart = match chosen {
            Some((cart, found_by)) => Some((lock_cart(conn, &cart)?, found_by)),
            None => None,
        };
        let mut closed_cart = None;
        let mut cancelled_sends = 0;
        let mut attribution = OrderAttribution::Unmatched;
        let order_ref = new
            .order_ref
            .clone()
            .unwrap_or_else(|| random_id("auto_", 16));
        if let Some((cart, found_by)) = &cart {
            let history = recovery_history(conn, &new.tenant_id, &cart.id, cart.cycle)?;
            match on_order(
                cart.status,
                &history,
                new.attribution_mode,
                new.attribution_window,
                new.now,
            ) {
                Some(status) => {
                    diesel::update(
                        carts::table
                            .filter(carts::tenant_id.eq(&new.tenant_id))
                            .filter(carts::id.eq(&cart.id)),
                    )
                    .set((
                        carts::status.eq(status.as_str()),
                        carts::ordered_at.eq(now),
                        // Nothing more to do for this cycle; a held cart is re-read on release.
                        carts::next_action_at.eq(None::<NaiveDateTime>),
                        carts::version.eq(carts::version + 1),
                    ))
                    .execute(conn)?;
                    cancelled_sends =
                        cancel_waiting_sends(conn, &new.tenant_id, &cart.id, new.now)?;
                    attribution = if status == CartStatus::Recovered {
                        OrderAttribution::Recovered
                    } else {
                        OrderAttribution::Converted
                    };
                    closed_cart = Some((cart.id.clone(), status));
                    let kind = if status == CartStatus::Recovered {
                        CartEventKind::Recovered
                    } else {
                        CartEventKind::Converted
                    };
                    let fields = OrderFields::new(
                        &order_ref,
                        *found_by,
                        &new.currency,
                        new.total_minor,
                        history.emails_sent,
                        recovered_revenue(status, new.total_minor),
                    );
                    let event = NewCartEvent {
                        tenant_id: new.tenant_id.clone(),
                        cart_id: cart.id.clone(),
                        kind,
                        step: None,
                        detail: Some(format!("order {order_ref} ({})", found_by.as_str())),
                    };
                    record_order_event(conn, &event, fields, new.now)?;
                }
                None => attribution = OrderAttribution::AlreadyClosed,
            }
        }
        let order = OrderRow {
            id: time_ordered_id("ord_", 20),
            tenant_id: new.tenant_id.clone(),
            order_ref,
            session_id: new.session_id.clone(),
            cart_id: cart.as_ref().map(|(c, _)| c.id.clone()),
            total_minor: new.total_minor,
            currency: new.currency.clone(),
            attribution,
            created_at: now,
            matched_by: cart.as_ref().map(|(_, by)| *by),
            source: new.source,
            customer_email: new.customer_email.clone(),
        };
        insert_order(conn, &order)?;
        Ok(OrderOutcome {
            order,
            duplicate: false,
            closed_cart,
            cancelled_sends,
        })
    })
}

/// Every cart one of the order's keys names.
fn candidates(conn: &mut DbConn, new: &NewOrder) -> StoreResult<Vec<(CartRow, MatchedBy)>> {
    let mut found = Vec::new();
    if let Some(session_id) = &new.session_id {
        let cart = carts::table
            .filter(carts::tenant_id.eq(&new.tenant_id))
            .filter(carts::session_id.eq(session_id))
            .select(CartRow::as_select())
            .first(conn)
            .optional()?;
        found.extend(cart.map(|c| (c, MatchedBy::Session)));
    }
    if let Some(cart_id) = &new.cart_id {
        let cart = carts::table
            .filter(carts::tenant_id.eq(&new.tenant_id))
            .filter(carts::id.eq(cart_id))
            .select(CartRow::as_select())
            .first(conn)
            .optional()?;
        found.extend(cart.map(|c| (c, MatchedBy::CartId)));
    }
    if let Some(token) = &new.cart_token
        && let Some((_, cart)) = find_by_token(conn, LinkPurpose::Recover, token)?
        && cart.tenant_id == new.tenant_id
    {
        found.push((cart, MatchedBy::CartToken));
    }
    if found.is_empty()
        && let Some(email) = &new.customer_email
    {
        let rows: Vec<CartRow> = diesel::sql_query(dialect(
            conn,
            "SELECT * FROM carts WHERE tenant_id = $1 AND lower(customer_email) = $2 \
             AND status IN ('active', 'abandoned') AND deleted_at IS NULL \
             ORDER BY last_activity_at DESC LIMIT 20",
        ))
        .bind::<Text, _>(&new.tenant_id)
        .bind::<Text, _>(normalize_email(email))
        .load(conn)?;
        found.extend(rows.into_iter().map(|c| (c, MatchedBy::Email)));
    }
    Ok(found)
}

/// Re-reads the chosen cart, locked on PostgreSQL until the transaction ends.
fn lock_cart(conn: &mut DbConn, cart: &CartRow) -> StoreResult<CartRow> {
    macro_rules! query {
        () => {
            carts::table
                .filter(carts::tenant_id.eq(&cart.tenant_id))
                .filter(carts::id.eq(&cart.id))
                .select(CartRow::as_select())
        };
    }
    Ok(match conn {
        DbConn::Postgres(pg) => query!().for_update().first(pg)?,
        DbConn::Sqlite(sqlite) => query!().first(sqlite)?,
    })
}

/// The sent emails and clicks of the cart's current cycle.
pub fn recovery_history(
    conn: &mut DbConn,
    tenant_id: &str,
    cart_id: &str,
    cycle: i32,
) -> StoreResult<RecoveryHistory> {
    let rows: Vec<(Option<NaiveDateTime>, Option<NaiveDateTime>)> = recovery_sends::table
        .filter(recovery_sends::tenant_id.eq(tenant_id))
        .filter(recovery_sends::cart_id.eq(cart_id))
        .filter(recovery_sends::cycle.eq(cycle))
        .filter(recovery_sends::status.eq(SendStatus::Sent.as_str()))
        .select((recovery_sends::sent_at, recovery_sends::last_clicked_at))
        .load(conn)?;
    let sent: Vec<NaiveDateTime> = rows.iter().filter_map(|(s, _)| *s).collect();
    Ok(RecoveryHistory {
        emails_sent: u32::try_from(sent.len()).unwrap_or(u32::MAX),
        first_sent_at: sent.iter().min().map(|t| t.and_utc()),
        last_sent_at: sent.iter().max().map(|t| t.and_utc()),
        last_clicked_at: rows
            .iter()
            .filter_map(|(_, c)| *c)
            .max()
            .map(|t| t.and_utc()),
    })
}

/// The orders attributed to a cart, oldest first (its timeline).
pub fn list_orders_for_cart(
    conn: &mut DbConn,
    tenant_id: &str,
    cart_id: &str,
) -> StoreResult<Vec<OrderRow>> {
    Ok(orders::table
        .filter(orders::tenant_id.eq(tenant_id))
        .filter(orders::cart_id.eq(cart_id))
        .order((orders::created_at.asc(), orders::id.asc()))
        .select(OrderRow::as_select())
        .load(conn)?)
}

pub fn find_order(
    conn: &mut DbConn,
    tenant_id: &str,
    order_ref: &str,
) -> StoreResult<Option<OrderRow>> {
    Ok(orders::table
        .filter(orders::tenant_id.eq(tenant_id))
        .filter(orders::order_ref.eq(order_ref))
        .select(OrderRow::as_select())
        .first(conn)
        .optional()?)
}

/// Records the order a merchant's hand-made status change stands for: a cart
/// set to `recovered` (or `converted`) was ordered, so analytics, the counts
/// and the `cart.recovered` webhook must see an order like any other. Runs in
/// the caller's transaction, on the locked cart as it was before the change.
/// One per cart and cycle: its reference is `manual_<cart id>_<cycle>`, and a
/// repeat finds it already recorded.
pub fn record_manual_order(
    conn: &mut DbConn,
    cart: &CartRow,
    status: CartStatus,
    now: DateTime<Utc>,
) -> StoreResult<OrderRow> {
    let order_ref = format!("manual_{}_{}", cart.id, cart.cycle);
    if let Some(order) = find_order(conn, &cart.tenant_id, &order_ref)? {
        return Ok(order);
    }
    let (attribution, kind) = if status == CartStatus::Recovered {
        (OrderAttribution::Recovered, CartEventKind::Recovered)
    } else {
        (OrderAttribution::Converted, CartEventKind::Converted)
    };
    let history = recovery_history(conn, &cart.tenant_id, &cart.id, cart.cycle)?;
    let order = OrderRow {
        id: time_ordered_id("ord_", 20),
        tenant_id: cart.tenant_id.clone(),
        order_ref,
        session_id: Some(cart.session_id.clone()),
        cart_id: Some(cart.id.clone()),
        total_minor: Some(cart.total_minor),
        currency: cart.currency.clone(),
        attribution,
        created_at: now.naive_utc(),
        // The merchant named the cart itself.
        matched_by: Some(MatchedBy::CartId),
        source: OrderSource::Manual,
        customer_email: cart.customer_email.clone(),
    };
    insert_order(conn, &order)?;
    let fields = OrderFields::new(
        &order.order_ref,
        MatchedBy::CartId,
        &order.currency,
        order.total_minor,
        history.emails_sent,
        recovered_revenue(status, order.total_minor),
    );
    let event = NewCartEvent {
        tenant_id: cart.tenant_id.clone(),
        cart_id: cart.id.clone(),
        kind,
        step: None,
        detail: Some(format!(
            "order {} (marked by the merchant)",
            order.order_ref
        )),
    };
    record_order_event(conn, &event, fields, now)?;
    Ok(order)
}

/// Inserts the order row; a recovered or converted one is an analytics fact
/// of its instant ([`crate::analytics::summary::note_writes`]).
fn insert_order(conn: &mut DbConn, order: &OrderRow) -> StoreResult<()> {
    if matches!(
        order.attribution,
        OrderAttribution::Recovered | OrderAttribution::Converted
    ) {
        crate::analytics::summary::note_writes(
            conn,
            &[order.tenant_id.as_str()],
            order.created_at.and_utc(),
        )?;
    }
    diesel::insert_into(orders::table)
        .values((
            orders::id.eq(&order.id),
            orders::tenant_id.eq(&order.tenant_id),
            orders::order_ref.eq(&order.order_ref),
            orders::session_id.eq(&order.session_id),
            orders::cart_id.eq(&order.cart_id),
            orders::total_minor.eq(order.total_minor),
            orders::currency.eq(&order.currency),
            orders::attribution.eq(Stored(order.attribution)),
            orders::created_at.eq(order.created_at),
            orders::matched_by.eq(order.matched_by.map(MatchedBy::as_str)),
            orders::source.eq(Stored(order.source)),
            orders::customer_email.eq(&order.customer_email),
        ))
        .execute(conn)?;
    Ok(())
}
