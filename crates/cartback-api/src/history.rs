//! `GET /api/v1/carts/{id}/history`: what happened to a cart and why — the
//! worker's decisions with their reasons, each email and what the shopper did
//! with it. `{id}` is the cart id or the storefront's session id. Secret key.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{NaiveDateTime, SecondsFormat};
use serde::Serialize;

use cartback_store::carts::{find_cart, find_cart_by_session};
use cartback_store::events::list_events;
use cartback_store::sends::list_sends_for_cart;

use crate::email_provider::secret_caller;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

fn time(at: NaiveDateTime) -> String {
    at.and_utc().to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Event {
    kind: String,
    /// 1-based step of the sequence, when the event is about one.
    step: Option<i32>,
    detail: Option<String>,
    at: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Email {
    cycle: i32,
    step: i32,
    status: String,
    attempts: i32,
    provider: Option<String>,
    coupon: Option<String>,
    clicks: i32,
    sent_at: Option<String>,
    last_error: Option<String>,
}

pub async fn history(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let caller = secret_caller(&state, &request).await?;
    let store = state.store.clone();
    let id = id.into_inner();
    let tenant_id = caller.tenant.id.clone();
    let found = web::block(move || -> cartback_store::StoreResult<_> {
        let mut conn = store.conn()?;
        let cart = match find_cart(&mut conn, &tenant_id, &id)? {
            Some(cart) => Some(cart),
            None => find_cart_by_session(&mut conn, &tenant_id, &id)?,
        };
        let Some(cart) = cart else { return Ok(None) };
        let events = list_events(&mut conn, &tenant_id, &cart.id)?;
        let sends = list_sends_for_cart(&mut conn, &tenant_id, &cart.id)?;
        Ok(Some((cart, events, sends)))
    })
    .await??;
    // Another tenant's cart is a 404 like a missing one.
    let (cart, events, sends) =
        found.ok_or_else(|| ApiError::new(ErrorCode::NotFound, "no such cart"))?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "success": true,
        "cartId": cart.id,
        "status": cart.status,
        "events": events.into_iter().map(|e| Event {
            kind: e.kind,
            step: e.step.map(|s| s + 1),
            detail: e.detail,
            at: time(e.created_at),
        }).collect::<Vec<_>>(),
        "emails": sends.into_iter().map(|s| Email {
            cycle: s.cycle,
            step: s.step + 1,
            status: s.status,
            attempts: s.attempts,
            provider: s.provider,
            coupon: s.coupon_code,
            clicks: s.click_count,
            sent_at: s.sent_at.map(time),
            last_error: s.last_error,
        }).collect::<Vec<_>>(),
    })))
}
