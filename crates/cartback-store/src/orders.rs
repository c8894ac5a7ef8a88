//! Orders: recorded once per `(tenant, order reference)`; each closes the matching
//! open cart as recovered or converted.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use cartback_domain::{CartStatus, RecoveryHistory};

use crate::carts::CartRow;
use crate::connection::{DbConn, write_transaction};
use crate::error::StoreResult;
use crate::ids::random_id;
use crate::schema::{carts, orders};
use crate::sends::{cancel_waiting_sends, sent_history};

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
    pub attribution: String,
    pub created_at: NaiveDateTime,
}

/// A validated ORDER_COMPLETE.
#[derive(Debug, Clone)]
pub struct NewOrder {
    pub tenant_id: String,
    /// The shop's order id; generated when the shop sent none.
    pub order_ref: Option<String>,
    pub session_id: Option<String>,
    pub total_minor: Option<i64>,
    pub currency: String,
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

/// Records an order and closes the session's open cart with the status `attribute`
/// picks from the cart and its sent emails (None leaves the cart as it is).
pub fn record_order(
    conn: &mut DbConn,
    new: &NewOrder,
    attribute: impl FnOnce(&CartRow, &RecoveryHistory) -> StoreResult<Option<CartStatus>>,
) -> StoreResult<OrderOutcome> {
    let now = new.now.naive_utc();
    write_transaction(conn, |conn| {
        if let Some(order_ref) = &new.order_ref {
            let existing = orders::table
                .filter(orders::tenant_id.eq(&new.tenant_id))
                .filter(orders::order_ref.eq(order_ref))
                .select(OrderRow::as_select())
                .first(conn)
                .optional()?;
            if let Some(order) = existing {
                return Ok(OrderOutcome {
                    order,
                    duplicate: true,
                    closed_cart: None,
                    cancelled_sends: 0,
                });
            }
        }
        let cart = match &new.session_id {
            Some(session_id) => {
                macro_rules! query {
                    () => {
                        carts::table
                            .filter(carts::tenant_id.eq(&new.tenant_id))
                            .filter(carts::session_id.eq(session_id))
                            .select(CartRow::as_select())
                    };
                }
                match conn {
                    DbConn::Postgres(pg) => query!().for_update().first(pg).optional()?,
                    DbConn::Sqlite(sqlite) => query!().first(sqlite).optional()?,
                }
            }
            None => None,
        };
        let mut closed_cart = None;
        let mut cancelled_sends = 0;
        let mut attribution = "unmatched".to_owned();
        if let Some(cart) = &cart {
            let (emails_sent, first, last) =
                sent_history(conn, &new.tenant_id, &cart.id, cart.cycle)?;
            let history = RecoveryHistory {
                emails_sent,
                first_sent_at: first.map(|t| t.and_utc()),
                last_sent_at: last.map(|t| t.and_utc()),
                last_clicked_at: None,
            };
            match attribute(cart, &history)? {
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
                    ))
                    .execute(conn)?;
                    cancelled_sends =
                        cancel_waiting_sends(conn, &new.tenant_id, &cart.id, new.now)?;
                    attribution = status.as_str().to_owned();
                    closed_cart = Some((cart.id.clone(), status));
                }
                None => attribution = "already_closed".to_owned(),
            }
        }
        let order = OrderRow {
            id: random_id("ord_", 20),
            tenant_id: new.tenant_id.clone(),
            order_ref: new
                .order_ref
                .clone()
                .unwrap_or_else(|| random_id("auto_", 16)),
            session_id: new.session_id.clone(),
            cart_id: cart.as_ref().map(|c| c.id.clone()),
            total_minor: new.total_minor,
            currency: new.currency.clone(),
            attribution,
            created_at: now,
        };
        diesel::insert_into(orders::table)
            .values((
                orders::id.eq(&order.id),
                orders::tenant_id.eq(&order.tenant_id),
                orders::order_ref.eq(&order.order_ref),
                orders::session_id.eq(&order.session_id),
                orders::cart_id.eq(&order.cart_id),
                orders::total_minor.eq(order.total_minor),
                orders::currency.eq(&order.currency),
                orders::attribution.eq(&order.attribution),
                orders::created_at.eq(now),
            ))
            .execute(conn)?;
        Ok(OrderOutcome {
            order,
            duplicate: false,
            closed_cart,
            cancelled_sends,
        })
    })
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
