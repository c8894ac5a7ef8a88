//! `GET /api/v1/carts/{id}/timeline`.

use actix_web::{HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use cartback_domain::CartStatus;

use cartback_store::timeline::{TimelineEntry as Entry, cart_timeline};
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
        (status = 404, description = "NOT_FOUND: no such cart for this tenant (or it was deleted)", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn timeline(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let tenant_id = caller.tenant.id.clone();
    let id = id.into_inner();
    let timeline = state
        .db(move |conn| cart_timeline(conn, &tenant_id, &id, false))
        .await?
        .ok_or_else(not_found)?;
    let data = timeline
        .entries()
        .into_iter()
        .filter_map(|(at, entry)| {
            Some(match entry {
                Entry::Created => TimelineEntry::Created { at: time(at) },
                Entry::Event(e) => TimelineEntry::Event {
                    kind: e.kind.as_str(),
                    step: e.step.map(|s| s + 1),
                    detail: e.detail.clone(),
                    at: time(at),
                },
                Entry::Email(s) => TimelineEntry::Email {
                    step: s.step + 1,
                    cycle: s.cycle,
                    status: s.status.as_str(),
                    attempts: s.attempts,
                    provider: s.provider.clone(),
                    coupon: s.coupon_code.clone(),
                    clicks: s.click_count,
                    last_error: s.last_error.clone(),
                    at: time(at),
                },
                Entry::Order(o) => TimelineEntry::Order {
                    total: o.total_minor.and_then(|t| decimal(t, &o.currency)),
                    order_id: o.order_ref.clone(),
                    attribution: o.attribution.as_str().to_owned(),
                    matched_by: o.matched_by.map(|by| by.as_str().to_owned()),
                    source: o.source.as_str().to_owned(),
                    total_minor: o.total_minor,
                    currency: o.currency.clone(),
                    at: time(at),
                },
                // Not part of this answer (deliveries have their own API).
                Entry::Delivery(_) => return None,
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(Timeline {
        success: true,
        cart_id: timeline.cart.id.clone(),
        status: timeline.cart.status,
        data,
    }))
}
