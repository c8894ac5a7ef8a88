//! A cart's timeline: its creation, history events, emails, orders and
//! (for the dashboard) the webhook deliveries about it, in one list, oldest
//! first. The API's timeline and the dashboard's cart page both read it here.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::cart_admin::find_cart_by_any_id;
use crate::carts::CartRow;
use crate::connection::DbConn;
use crate::error::StoreResult;
use crate::events::{CartEvent, list_events};
use crate::orders::{OrderRow, list_orders_for_cart};
use crate::schema::webhook_deliveries;
use crate::sends::{SendRow, list_sends_for_cart};
use crate::webhooks::DeliveryRow;

/// Everything that happened to one cart.
#[derive(Debug, Clone)]
pub struct CartTimeline {
    pub cart: CartRow,
    pub events: Vec<CartEvent>,
    pub sends: Vec<SendRow>,
    pub orders: Vec<OrderRow>,
    /// Empty unless asked for.
    pub deliveries: Vec<DeliveryRow>,
}

/// One line of a timeline.
#[derive(Debug, Clone, Copy)]
pub enum TimelineEntry<'a> {
    Created,
    Event(&'a CartEvent),
    /// A recovery email (a send of the outbox), at its send time, else its
    /// last change.
    Email(&'a SendRow),
    Order(&'a OrderRow),
    Delivery(&'a DeliveryRow),
}

impl CartTimeline {
    /// The entries, oldest first; equal times keep the order creation,
    /// events, emails, orders, deliveries.
    pub fn entries(&self) -> Vec<(NaiveDateTime, TimelineEntry<'_>)> {
        let mut entries = Vec::with_capacity(
            1 + self.events.len() + self.sends.len() + self.orders.len() + self.deliveries.len(),
        );
        entries.push((self.cart.created_at, TimelineEntry::Created));
        entries.extend(
            self.events
                .iter()
                .map(|e| (e.created_at, TimelineEntry::Event(e))),
        );
        entries.extend(
            self.sends
                .iter()
                .map(|s| (s.sent_at.unwrap_or(s.updated_at), TimelineEntry::Email(s))),
        );
        entries.extend(
            self.orders
                .iter()
                .map(|o| (o.created_at, TimelineEntry::Order(o))),
        );
        entries.extend(
            self.deliveries
                .iter()
                .map(|d| (d.created_at, TimelineEntry::Delivery(d))),
        );
        // Stable: equal times keep the order they were added in.
        entries.sort_by_key(|(at, _)| *at);
        entries
    }
}

/// The most webhook deliveries a timeline shows (a cart has a handful per
/// endpoint; this bounds a pathological one).
pub const MAX_TIMELINE_DELIVERIES: i64 = 200;

/// The timeline of a visible cart of the tenant (by id, session id or the
/// shop's own id), with its webhook deliveries when `with_deliveries`. Every
/// read is by `(tenant_id, cart_id)` through an index.
pub fn cart_timeline(
    conn: &mut DbConn,
    tenant_id: &str,
    id: &str,
    with_deliveries: bool,
) -> StoreResult<Option<CartTimeline>> {
    let Some(cart) = find_cart_by_any_id(conn, tenant_id, id, false)? else {
        return Ok(None);
    };
    let events = list_events(conn, tenant_id, &cart.id)?;
    let sends = list_sends_for_cart(conn, tenant_id, &cart.id)?;
    let orders = list_orders_for_cart(conn, tenant_id, &cart.id)?;
    let deliveries = if with_deliveries {
        list_deliveries_for_cart(conn, tenant_id, &cart.id, MAX_TIMELINE_DELIVERIES)?
    } else {
        Vec::new()
    };
    Ok(Some(CartTimeline {
        cart,
        events,
        sends,
        orders,
        deliveries,
    }))
}

/// The newest `limit` webhook deliveries about one cart, oldest first.
pub fn list_deliveries_for_cart(
    conn: &mut DbConn,
    tenant_id: &str,
    cart_id: &str,
    limit: i64,
) -> StoreResult<Vec<DeliveryRow>> {
    let mut rows: Vec<DeliveryRow> = webhook_deliveries::table
        .filter(webhook_deliveries::tenant_id.eq(tenant_id))
        .filter(webhook_deliveries::cart_id.eq(cart_id))
        .order((
            webhook_deliveries::created_at.desc(),
            webhook_deliveries::id.desc(),
        ))
        .limit(limit)
        .select(DeliveryRow::as_select())
        .load(conn)?;
    rows.reverse();
    Ok(rows)
}
