//! A cart's history: every decision the worker took about it, with its reason, and
//! what the shopper did with the email (clicked, unsubscribed).

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::columns::{Stored, text_enum};
use crate::connection::DbConn;
use crate::error::StoreResult;
use crate::ids::time_ordered_id;
use crate::schema::{cart_events, carts};
use crate::view::{OrderFields, WebhookEvent};
use crate::webhooks::{self, HookEvent};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CartEventKind {
    /// The cart went idle past the first delay.
    Abandoned,
    /// A recovery email went out.
    Sent,
    /// A step was not sent; `detail` names the reason.
    Skipped,
    /// A send is postponed (quiet hours); `detail` says until when.
    Waiting,
    /// A send failed for good; `detail` has the provider's words.
    Failed,
    /// A send's outcome cannot be known (its worker stopped while the provider
    /// had it) and it is not repeated; `detail` says why.
    Unknown,
    Clicked,
    Unsubscribed,
    Expired,
    /// An order arrived after a recovery email; `detail` names the order.
    Recovered,
    /// An order arrived without a recovery email to thank for it.
    Converted,
    /// The worker could not process the cart (its evaluation failed or
    /// panicked) and keeps it out of claims until the shop updates it;
    /// `detail` has the reason. No webhook: it is an operator's matter.
    Quarantined,
}

impl CartEventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CartEventKind::Abandoned => "abandoned",
            CartEventKind::Sent => "sent",
            CartEventKind::Skipped => "skipped",
            CartEventKind::Waiting => "waiting",
            CartEventKind::Failed => "failed",
            CartEventKind::Unknown => "unknown",
            CartEventKind::Clicked => "clicked",
            CartEventKind::Unsubscribed => "unsubscribed",
            CartEventKind::Expired => "expired",
            CartEventKind::Recovered => "recovered",
            CartEventKind::Converted => "converted",
            CartEventKind::Quarantined => "quarantined",
        }
    }

    pub fn parse(text: &str) -> Option<CartEventKind> {
        [
            CartEventKind::Abandoned,
            CartEventKind::Sent,
            CartEventKind::Skipped,
            CartEventKind::Waiting,
            CartEventKind::Failed,
            CartEventKind::Unknown,
            CartEventKind::Clicked,
            CartEventKind::Unsubscribed,
            CartEventKind::Expired,
            CartEventKind::Recovered,
            CartEventKind::Converted,
            CartEventKind::Quarantined,
        ]
        .into_iter()
        .find(|kind| kind.as_str() == text)
    }
}

text_enum!(CartEventKind, "cart_events.kind", CartEventKind::parse);

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = cart_events)]
pub struct CartEvent {
    pub id: String,
    pub tenant_id: String,
    pub cart_id: String,
    #[diesel(deserialize_as = Stored<CartEventKind>)]
    pub kind: CartEventKind,
    pub step: Option<i32>,
    pub detail: Option<String>,
    pub created_at: NaiveDateTime,
}

/// Appends one event to a cart's history and queues its webhooks.
pub fn record_event(
    conn: &mut DbConn,
    tenant_id: &str,
    cart_id: &str,
    kind: CartEventKind,
    step: Option<i32>,
    detail: Option<&str>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let event = NewCartEvent {
        tenant_id: tenant_id.to_owned(),
        cart_id: cart_id.to_owned(),
        kind,
        step,
        detail: detail.map(str::to_owned),
    };
    record_one(conn, &event, None, now)
}

/// Records a `recovered` or `converted` event, whose webhook tells about the order.
pub fn record_order_event(
    conn: &mut DbConn,
    event: &NewCartEvent,
    order: OrderFields,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    record_one(conn, event, Some(order), now)
}

fn record_one(
    conn: &mut DbConn,
    event: &NewCartEvent,
    order: Option<OrderFields>,
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let (tenant_id, cart_id, kind, step, detail) = (
        event.tenant_id.as_str(),
        event.cart_id.as_str(),
        event.kind,
        event.step,
        event.detail.as_deref(),
    );
    if let Some(hook) = hook_event(event, order) {
        webhooks::enqueue(conn, &[hook], now)?;
    }
    diesel::insert_into(cart_events::table)
        .values((
            cart_events::id.eq(time_ordered_id("evt_", 20)),
            cart_events::tenant_id.eq(tenant_id),
            cart_events::cart_id.eq(cart_id),
            cart_events::kind.eq(kind.as_str()),
            cart_events::step.eq(step),
            cart_events::detail.eq(detail),
            cart_events::created_at.eq(now.naive_utc()),
        ))
        .execute(conn)?;
    if kind == CartEventKind::Abandoned {
        stamp_abandoned_values(conn, tenant_id, &[cart_id], now)?;
        crate::analytics::summary::note_writes(conn, &[tenant_id], now)?;
    }
    Ok(())
}

/// One event to append, for [`record_events`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCartEvent {
    pub tenant_id: String,
    pub cart_id: String,
    pub kind: CartEventKind,
    pub step: Option<i32>,
    pub detail: Option<String>,
}

/// The webhook an event announces: the email's step, the event's detail as the
/// provider or the error, and an order's fields for the order events. The step
/// is stored as the policy's index (0 for the first email) and announced as the
/// merchant counts, from 1 (docs/api.md, "Step numbers").
fn hook_event(event: &NewCartEvent, order: Option<OrderFields>) -> Option<HookEvent> {
    let step = event.step.map(|index| index + 1);
    let detail = event.detail.clone();
    let announced = match (event.kind, order) {
        (CartEventKind::Abandoned, _) => WebhookEvent::CartAbandoned { step },
        (CartEventKind::Sent, _) => WebhookEvent::EmailSent {
            provider: detail,
            step,
        },
        (CartEventKind::Failed, _) => WebhookEvent::EmailFailed {
            error: detail,
            step,
        },
        (CartEventKind::Clicked, _) => WebhookEvent::EmailClicked { step },
        (CartEventKind::Unsubscribed, _) => WebhookEvent::CartUnsubscribed { step },
        (CartEventKind::Expired, _) => WebhookEvent::CartExpired { step },
        (CartEventKind::Recovered, Some(order)) => WebhookEvent::CartRecovered(order),
        (CartEventKind::Converted, Some(order)) => WebhookEvent::CartConverted(order),
        // An order event without its order (not recorded by `record_order_event`)
        // has nothing true to announce; the others announce nothing.
        (CartEventKind::Recovered | CartEventKind::Converted, None)
        | (
            CartEventKind::Skipped
            | CartEventKind::Waiting
            | CartEventKind::Unknown
            | CartEventKind::Quarantined,
            _,
        ) => return None,
    };
    Some(HookEvent {
        tenant_id: event.tenant_id.clone(),
        cart_id: event.cart_id.clone(),
        event: announced,
    })
}

/// Appends many events with one statement per few hundred, and queues their
/// webhooks in the same transaction.
pub fn record_events(
    conn: &mut DbConn,
    events: &[NewCartEvent],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let hooks: Vec<HookEvent> = events.iter().filter_map(|e| hook_event(e, None)).collect();
    webhooks::enqueue(conn, &hooks, now)?;
    for chunk in events.chunks(500) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|e| {
                (
                    cart_events::id.eq(time_ordered_id("evt_", 20)),
                    cart_events::tenant_id.eq(e.tenant_id.clone()),
                    cart_events::cart_id.eq(e.cart_id.clone()),
                    cart_events::kind.eq(e.kind.as_str()),
                    cart_events::step.eq(e.step),
                    cart_events::detail.eq(e.detail.clone()),
                    cart_events::created_at.eq(now.naive_utc()),
                )
            })
            .collect();
        match conn {
            DbConn::Postgres(pg) => {
                diesel::insert_into(cart_events::table)
                    .values(&rows)
                    .execute(pg)?;
            }
            DbConn::Sqlite(sqlite) => {
                diesel::insert_into(cart_events::table)
                    .values(&rows)
                    .execute(sqlite)?;
            }
        }
    }
    let abandoned: Vec<&NewCartEvent> = events
        .iter()
        .filter(|e| e.kind == CartEventKind::Abandoned)
        .collect();
    for chunk in abandoned.chunk_by(|a, b| a.tenant_id == b.tenant_id) {
        let carts: Vec<&str> = chunk.iter().map(|e| e.cart_id.as_str()).collect();
        stamp_abandoned_values(conn, &chunk[0].tenant_id, &carts, now)?;
    }
    let tenants: Vec<&str> = abandoned.iter().map(|e| e.tenant_id.as_str()).collect();
    crate::analytics::summary::note_writes(conn, &tenants, now)?;
    Ok(())
}

/// Copies each cart's total and currency onto its `abandoned` event just
/// recorded at `now`: the value the analytics count for the abandonment
/// (`cartback_store::analytics`), read without a join to the carts.
fn stamp_abandoned_values(
    conn: &mut DbConn,
    tenant_id: &str,
    cart_ids: &[&str],
    now: DateTime<Utc>,
) -> StoreResult<()> {
    let cart = carts::table
        .filter(carts::tenant_id.eq(tenant_id))
        .filter(carts::id.eq(cart_events::cart_id));
    diesel::update(
        cart_events::table
            .filter(cart_events::tenant_id.eq(tenant_id))
            .filter(cart_events::cart_id.eq_any(cart_ids))
            .filter(cart_events::kind.eq(CartEventKind::Abandoned.as_str()))
            .filter(cart_events::created_at.eq(now.naive_utc())),
    )
    .set((
        cart_events::cart_total_minor.eq(cart.select(carts::total_minor).single_value()),
        cart_events::cart_currency.eq(cart.select(carts::currency).single_value()),
    ))
    .execute(conn)?;
    Ok(())
}

/// A cart's history, oldest first.
pub fn list_events(
    conn: &mut DbConn,
    tenant_id: &str,
    cart_id: &str,
) -> StoreResult<Vec<CartEvent>> {
    Ok(cart_events::table
        .filter(cart_events::tenant_id.eq(tenant_id))
        .filter(cart_events::cart_id.eq(cart_id))
        .order((cart_events::created_at.asc(), cart_events::id.asc()))
        .select(CartEvent::as_select())
        .load(conn)?)
}
