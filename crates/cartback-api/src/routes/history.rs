//! `GET /api/v1/carts/{id}/history`: what happened to a cart and why — the
//! worker's decisions with their reasons, each email and what the shopper did
//! with it. `{id}` is the cart id or the storefront's session id. Secret key.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use cartback_domain::CartStatus;
use cartback_store::carts::{find_cart, find_cart_by_session};
use cartback_store::events::list_events;
use cartback_store::sends::list_sends_for_cart;
use cartback_store::view::time;

use crate::auth::SecretCaller;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// What happened to a cart.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct History {
    success: bool,
    cart_id: String,
    #[schema(value_type = String)]
    status: CartStatus,
    events: Vec<Event>,
    emails: Vec<Email>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = HistoryEvent)]
pub(crate) struct Event {
    kind: String,
    /// 1-based step of the sequence, when the event is about one.
    #[schema(required = true)]
    step: Option<i32>,
    #[schema(required = true)]
    detail: Option<String>,
    #[schema(format = DateTime)]
    at: String,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = HistoryEmail)]
pub(crate) struct Email {
    cycle: i32,
    step: i32,
    status: String,
    attempts: i32,
    #[schema(required = true)]
    provider: Option<String>,
    #[schema(required = true)]
    coupon: Option<String>,
    clicks: i32,
    #[schema(required = true, format = DateTime)]
    sent_at: Option<String>,
    #[schema(required = true)]
    last_error: Option<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/carts/{id}/history",
    tag = "carts",
    operation_id = "cartHistory",
    summary = "What happened to a cart and why: events and emails",
    params(("id" = String, Path, description = "The cart id or the storefront's session id")),
    responses(
        (status = 200, description = "The history", body = History),
        (status = 404, description = "NOT_FOUND: no such cart for this tenant (or it was deleted or erased)", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn history(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let tenant_id = caller.tenant.id.clone();
    let found = state
        .db(move |conn| -> cartback_store::StoreResult<_> {
            let cart = match find_cart(conn, &tenant_id, &id)? {
                Some(cart) => Some(cart),
                None => find_cart_by_session(conn, &tenant_id, &id)?,
            };
            // Deleted and erased carts are gone for the API, as for get, items and
            // timeline.
            let Some(cart) = cart.filter(|c| c.deleted_at.is_none() && c.erased_at.is_none())
            else {
                return Ok(None);
            };
            let events = list_events(conn, &tenant_id, &cart.id)?;
            let sends = list_sends_for_cart(conn, &tenant_id, &cart.id)?;
            Ok(Some((cart, events, sends)))
        })
        .await?;
    // Another tenant's cart is a 404 like a missing one.
    let (cart, events, sends) =
        found.ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such cart"))?;
    Ok(HttpResponse::Ok().json(History {
        success: true,
        cart_id: cart.id,
        status: cart.status,
        events: events
            .into_iter()
            .map(|e| Event {
                kind: e.kind.as_str().to_owned(),
                step: e.step.map(|s| s + 1),
                detail: e.detail,
                at: time(e.created_at),
            })
            .collect(),
        emails: sends
            .into_iter()
            .map(|s| Email {
                cycle: s.cycle,
                step: s.step + 1,
                status: s.status.as_str().to_owned(),
                attempts: s.attempts,
                provider: s.provider,
                coupon: s.coupon_code,
                clicks: s.click_count,
                sent_at: s.sent_at.map(time),
                last_error: s.last_error,
            })
            .collect(),
    }))
}
