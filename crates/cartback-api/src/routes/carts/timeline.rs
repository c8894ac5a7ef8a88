//! `GET /api/v1/carts/{id}/timeline`.

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use cartback_store::timeline::{TimelineEntry, cart_timeline};

use super::{amount, not_found};
use crate::auth::SecretCaller;
use crate::error::ApiError;
use crate::input::fields::time;
use crate::state::AppState;

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
        (status = 200, description = "The timeline", body = crate::openapi::Timeline),
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
    let timeline = state
        .db(move |conn| cart_timeline(conn, &tenant_id, &id, false))
        .await?
        .ok_or_else(not_found)?;
    let entries: Vec<Value> = timeline
        .entries()
        .into_iter()
        .filter_map(|(at, entry)| match entry {
            TimelineEntry::Created => Some(json!({"type": "created", "at": time(at)})),
            TimelineEntry::Event(e) => Some(
                json!({"type": "event", "kind": e.kind.as_str(), "step": e.step.map(|s| s + 1), "detail": e.detail, "at": time(at)}),
            ),
            TimelineEntry::Email(s) => Some(
                json!({"type": "email", "step": s.step + 1, "cycle": s.cycle, "status": s.status.as_str(),
                       "attempts": s.attempts, "provider": s.provider, "coupon": s.coupon_code,
                       "clicks": s.click_count, "lastError": s.last_error, "at": time(at)}),
            ),
            TimelineEntry::Order(o) => Some(
                json!({"type": "order", "orderId": o.order_ref, "attribution": o.attribution,
                       "matchedBy": o.matched_by, "source": o.source,
                       "total": o.total_minor.map(|t| amount(t, &o.currency)), "totalMinor": o.total_minor,
                       "currency": o.currency, "at": time(at)}),
            ),
            // Not part of this answer (they have their own API).
            TimelineEntry::Delivery(_) => None,
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "success": true,
        "cartId": timeline.cart.id,
        "status": timeline.cart.status,
        "data": entries,
    })))
}
