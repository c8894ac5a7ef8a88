//! A cart's lines: `GET`, `POST` and `DELETE /api/v1/carts/{id}/items…`.

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::ToSchema;

use cartback_domain::{CartItem, Currency, MAX_ITEMS_PER_CART, items_total};
use cartback_store::cart_admin::{Edited, edit_items};
use cartback_store::carts::CartRow;
use cartback_store::view::{CartLine, CartView};

use super::{CartAnswer, cart_answer, if_match, json_object, load, not_found, stale};
use crate::auth::SecretCaller;
use crate::error::{ApiError, ErrorCode, FieldError};
use crate::input::Problems;
use crate::input::cart::{self};
use crate::state::AppState;

/// A cart's lines and total.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CartItems {
    success: bool,
    data: Vec<CartLine>,
    #[schema(required = true, pattern = "^-?[0-9]+(\\.[0-9]+)?$")]
    total: Option<String>,
    total_minor: i64,
    currency: String,
}

/// `GET /api/v1/carts/{id}/items`.
#[utoipa::path(
    get,
    path = "/api/v1/carts/{id}/items",
    tag = "carts",
    operation_id = "listCartItems",
    summary = "A cart's lines and total",
    params(("id" = String, Path, description = "Cart id, storefront session id or the shop's own id")),
    responses(
        (status = 200, description = "The lines", body = CartItems),
        (status = 404, description = "NOT_FOUND: no such cart for this tenant (or it was deleted)", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn items(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let cart = load(&state, &caller.tenant.id, id.into_inner()).await?;
    let view = CartView::of(&cart);
    Ok(HttpResponse::Ok().json(CartItems {
        success: true,
        data: view.items,
        total: view.total,
        total_minor: view.total_minor,
        currency: view.currency,
    }))
}

/// Changes a cart's lines atomically: `edit` runs on the cart as it is under
/// its row lock, so parallel edits all stay and removed lines never come back.
pub(super) async fn change_items(
    state: &AppState,
    request: &HttpRequest,
    tenant_id: &str,
    id: String,
    edit: impl FnOnce(&CartRow) -> Result<Vec<CartItem>, ApiError> + Send + 'static,
) -> Result<HttpResponse, ApiError> {
    let expected = if_match(request)?;
    let tenant_id = tenant_id.to_owned();
    let edited = state
        .db(move |conn| {
            edit_items(conn, &tenant_id, &id, expected, Utc::now(), |cart| {
                let items = edit(cart)?;
                let currency = Currency::parse(&cart.currency).map_err(ApiError::internal)?;
                let total = items_total(&items, currency).map_err(|e| {
                    ApiError::validation(vec![FieldError {
                        field: "price".into(),
                        message: e.to_string(),
                    }])
                })?;
                Ok((items, total.minor()))
            })
        })
        .await?;
    match edited {
        Edited::Updated(cart) => Ok(cart_answer(&cart)),
        Edited::NotFound => Err(not_found()),
        Edited::Stale { version } => Err(stale(version)),
        Edited::Refused(error) => Err(error),
    }
}

/// `POST /api/v1/carts/{id}/items`: adds a line, or replaces the line with the
/// same item id. Body: one item as `/track` takes it (`id`, `name`, `price` in the
/// cart's currency, `quantity`, `imageUrl`, `url`).
#[utoipa::path(
    post,
    path = "/api/v1/carts/{id}/items",
    tag = "carts",
    operation_id = "addCartItem",
    summary = "Add a line, or replace the line with the same item id",
    description = "`price` is in the cart's currency; the total is recomputed from the lines.",
    params(("id" = String, Path, description = "Cart id, storefront session id or the shop's own id"), ("If-Match" = Option<String>, Header, description = "The cart's `ETag` from a GET (`\"7\"`): the change is made only if the cart is still at that version, else 412. Without it the last writer wins (each change is still atomic).", pattern = "^[ -+\\--~]*$")),
    request_body = crate::input::documented::TrackItem,
    responses(
        (status = 200, description = "The cart", body = CartAnswer, headers(("ETag" = String, description = "The cart's version, quoted (`\"8\"`), for `If-Match`"))),
        (status = 400, description = "BAD_REQUEST: the body is not JSON, or not a JSON object", body = crate::error::ErrorEnvelope),
        (status = 413, description = "PAYLOAD_TOO_LARGE: over the body limit", body = crate::error::ErrorEnvelope),
        (status = 404, description = "NOT_FOUND: no such cart for this tenant (or it was deleted)", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: `details` names every failing field", body = crate::error::ErrorEnvelope),
        (status = 412, description = "PRECONDITION_FAILED: `If-Match` names an older version; nothing was changed", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn add_item(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (body, _) = json_object(&state, &request, payload, false).await?;
    let id = id.into_inner();
    // The price is read in the cart's currency, which never changes.
    let cart = load(&state, &caller.tenant.id, id.clone()).await?;
    let currency = Currency::parse(&cart.currency).map_err(ApiError::internal)?;
    let raw: &RawValue =
        serde_json::from_slice(&body).map_err(|e| crate::input::body::malformed(&e))?;
    let mut problems = Problems::default();
    let item = cart::parse_item(raw, 0, currency, &mut problems);
    let Some(item) = item.filter(|_| problems.is_empty()) else {
        // Paths read `items[0].price`; here the body is the item.
        let details = problems
            .0
            .into_iter()
            .map(|p| FieldError {
                field: p.field.trim_start_matches("items[0].").to_owned(),
                message: p.message,
            })
            .collect();
        return Err(ApiError::validation(details));
    };
    change_items(&state, &request, &caller.tenant.id, id, move |cart| {
        let mut items = cart.items.clone();
        let full = items.len() >= MAX_ITEMS_PER_CART;
        match items.iter_mut().find(|line| line.id == item.id) {
            Some(line) => *line = item,
            None if full => {
                return Err(ApiError::validation(vec![FieldError {
                    field: "items".into(),
                    message: format!("at most {MAX_ITEMS_PER_CART} items per cart"),
                }]));
            }
            None => items.push(item),
        }
        Ok(items)
    })
    .await
}

/// `DELETE /api/v1/carts/{id}/items/{itemId}`.
#[utoipa::path(
    delete,
    path = "/api/v1/carts/{id}/items/{item_id}",
    tag = "carts",
    operation_id = "removeCartItem",
    summary = "Remove a line",
    params(("id" = String, Path, description = "Cart id, storefront session id or the shop's own id"), ("item_id" = String, Path, description = "The line's item id"), ("If-Match" = Option<String>, Header, description = "The cart's `ETag` from a GET (`\"7\"`): the change is made only if the cart is still at that version, else 412. Without it the last writer wins (each change is still atomic).", pattern = "^[ -+\\--~]*$")),
    responses(
        (status = 200, description = "The cart", body = CartAnswer, headers(("ETag" = String, description = "The cart's version, quoted (`\"8\"`), for `If-Match`"))),
        (status = 404, description = "NOT_FOUND: no such cart, or the cart has no line with this id", body = crate::error::ErrorEnvelope),
        (status = 422, description = "VALIDATION_ERROR: the remaining lines' total is out of range", body = crate::error::ErrorEnvelope),
        (status = 400, description = "BAD_REQUEST: `If-Match` is not one entity tag or `*`", body = crate::error::ErrorEnvelope),
        (status = 412, description = "PRECONDITION_FAILED: `If-Match` names an older version; nothing was changed", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn remove_item(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    let (id, item_id) = path.into_inner();
    change_items(&state, &request, &caller.tenant.id, id, move |cart| {
        let mut items = cart.items.clone();
        let before = items.len();
        items.retain(|line| line.id != item_id);
        if items.len() == before {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                "the cart has no item with this id",
            ));
        }
        Ok(items)
    })
    .await
}
