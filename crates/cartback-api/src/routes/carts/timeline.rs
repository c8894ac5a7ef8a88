//! `GET /api/v1/carts/{id}/timeline`.

use actix_web::{HttpResponse, web};
use chrono::NaiveDateTime;
use serde_json::{Value, json};

use cartback_store::StoreResult;
use cartback_store::cart_admin::find_cart_by_any_id;
use cartback_store::events::list_events;
use cartback_store::orders::list_orders_for_cart;
use cartback_store::sends::list_sends_for_cart;

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
    let mut entries: Vec<(NaiveDateTime, Value)> = Vec::new();
    entries.push((
        cart.created_at,
        json!({"type": "created", "at": time(cart.created_at)}),
    ));
    for e in events {
        entries.push((
            e.created_at,
            json!({"type": "event", "kind": e.kind.as_str(), "step": e.step.map(|s| s + 1), "detail": e.detail, "at": time(e.created_at)}),
        ));
    }
    for s in sends {
        let at = s.sent_at.unwrap_or(s.updated_at);
        entries.push((
            at,
            json!({"type": "email", "step": s.step + 1, "cycle": s.cycle, "status": s.status.as_str(),
                   "attempts": s.attempts, "provider": s.provider, "coupon": s.coupon_code,
                   "clicks": s.click_count, "lastError": s.last_error, "at": time(at)}),
        ));
    }
    for o in orders {
        entries.push((
            o.created_at,
            json!({"type": "order", "orderId": o.order_ref, "attribution": o.attribution,
                   "matchedBy": o.matched_by, "source": o.source,
                   "total": o.total_minor.map(|t| amount(t, &o.currency)), "totalMinor": o.total_minor,
                   "currency": o.currency, "at": time(o.created_at)}),
        ));
    }
    // Stable: equal times keep the order they were added in.
    entries.sort_by_key(|(at, _)| *at);
    Ok(HttpResponse::Ok().json(json!({
        "success": true,
        "cartId": cart.id,
        "status": cart.status,
        "data": entries.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
    })))
}
