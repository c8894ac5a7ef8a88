//! `GET /api/v1/carts/{id}/timeline`.

use actix_web::{HttpResponse, web};
use chrono::NaiveDateTime;
use serde::Serialize;
use utoipa::ToSchema;

use cartback_domain::CartStatus;

use cartback_store::StoreResult;
use cartback_store::cart_admin::find_cart_by_any_id;
use cartback_store::events::list_events;
use cartback_store::orders::list_orders_for_cart;
use cartback_store::sends::list_sends_for_cart;
use cartback_store::view::{decimal, time};

use super::not_found;
use crate::auth::SecretCaller;
use crate::error::ApiError;
use crate::state::AppState;

/// A cart's timeline.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Timeline {
    success: bool,
    cart_id: String,
    #[schema(value_type = String)]
    status: CartStatus,
    /// Oldest first.
    data: Vec<TimelineEntry>,
}

/// One entry of a cart's timeline, by `type`.
#[derive(Serialize, ToSchema)]
#[serde(tag = "type", rename_all = "lowercase")]
pub(crate) enum TimelineEntry {
    Created {
        #[schema(format = DateTime)]
        at: String,
    },
    Event {
        /// `abandoned`, `sent`, `skipped`, `waiting`, `failed`, `unknown`,
        /// `clicked`, `unsubscribed`, `expired`, `recovered`, `converted`, or
        /// `quarantined` (the worker could not process the cart; `detail`
        /// says why; it waits for the shop's next update of the cart).
        #[schema(value_type = String)]
        kind: &'static str,
        /// 1-based step, when the event is about one.
        #[schema(required = true, value_type = Option<i64>)]
        step: Option<i32>,
        #[schema(required = true)]
        detail: Option<String>,
        #[schema(format = DateTime)]
        at: String,
    },
    Email {
        #[schema(value_type = i64)]
        step: i32,
        #[schema(value_type = i64)]
        cycle: i32,
        /// `sending`, `sent`, `retry`, `dead`, `cancelled` or `unknown` (its
        /// worker stopped while the provider had it; never repeated).
        #[schema(value_type = String)]
        status: &'static str,
        #[schema(value_type = i64)]
        attempts: i32,
        #[schema(required = true)]
        provider: Option<String>,
        #[schema(required = true)]
        coupon: Option<String>,
        #[schema(value_type = i64)]
        clicks: i32,
        #[serde(rename = "lastError")]
        #[schema(required = true)]
        last_error: Option<String>,
        #[schema(format = DateTime)]
        at: String,
    },
    Order {
        #[serde(rename = "orderId")]
        order_id: String,
        attribution: String,
        #[serde(rename = "matchedBy")]
        #[schema(required = true)]
        matched_by: Option<String>,
        source: String,
        #[schema(required = true, pattern = "^-?[0-9]+(\\.[0-9]+)?$")]
        total: Option<String>,
        #[serde(rename = "totalMinor")]
        #[schema(required = true)]
        total_minor: Option<i64>,
        currency: String,
        #[schema(format = DateTime)]
        at: String,
    },
}

/// `GET /api/v1/carts/{id}/timeline`: history events, emails and orders in one
/// list, oldest first.
#[utoipa::path(
    get,
    path = "/api/v1/carts/{id}/timeline",
    tag = "carts",
    operation_id = "cartTimeline",
    summary = "A cart's creation, history events, emails and orders in one list, oldest first",
    params(("id" = String, Path, description = "Cart id, storefront session id or the shop's own id")),
    responses(
        (status = 200, description = "The timeline", body = Timeline),
        (status = 404, description = "NOT_FOUND: no such cart for this tenant (or it was deleted)", body = crate::openapi::ErrorEnvelope),
        crate::openapi::SecretKeyErrors,
    )
)]
pub async fn timeline(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant_id = caller.tenant.id.clone();
    let id = id.into_inner();
    let found = state
        .db(move |conn| -> StoreResult<_> {
            let Some(cart) = find_cart_by_any_id(conn, &tenant_id, &id, false)? else {
                return Ok(None);
            };
            let events = list_events(conn, &tenant_id, &cart.id)?;
            let sends = list_sends_for_cart(conn, &tenant_id, &cart.id)?;
            let orders = list_orders_for_cart(conn, &tenant_id, &cart.id)?;
            Ok(Some((cart, events, sends, orders)))
        })
        .await?;
    let (cart, events, sends, orders) = found.ok_or_else(not_found)?;
    let mut entries: Vec<(NaiveDateTime, TimelineEntry)> = Vec::new();
    entries.push((
        cart.created_at,
        TimelineEntry::Created {
            at: time(cart.created_at),
        },
    ));
    for e in events {
        entries.push((
            e.created_at,
            TimelineEntry::Event {
                kind: e.kind.as_str(),
                step: e.step.map(|s| s + 1),
                detail: e.detail,
                at: time(e.created_at),
            },
        ));
    }
    for s in sends {
        let at = s.sent_at.unwrap_or(s.updated_at);
        entries.push((
            at,
            TimelineEntry::Email {
                step: s.step + 1,
                cycle: s.cycle,
                status: s.status.as_str(),
                attempts: s.attempts,
                provider: s.provider,
                coupon: s.coupon_code,
                clicks: s.click_count,
                last_error: s.last_error,
                at: time(at),
            },
        ));
    }
    for o in orders {
        entries.push((
            o.created_at,
            TimelineEntry::Order {
                total: o.total_minor.and_then(|t| decimal(t, &o.currency)),
                order_id: o.order_ref,
                attribution: o.attribution,
                matched_by: o.matched_by,
                source: o.source,
                total_minor: o.total_minor,
                currency: o.currency,
                at: time(o.created_at),
            },
        ));
    }
    entries.sort_by_key(|(at, _)| *at);
    Ok(HttpResponse::Ok().json(Timeline {
        success: true,
        cart_id: cart.id,
        status: cart.status,
        data: entries.into_iter().map(|(_, entry)| entry).collect(),
    }))
}
