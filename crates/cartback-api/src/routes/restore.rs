//! `GET /api/v1/carts/restore/{token}`: the storefront rebuilds a cart on any
//! device from the `cart_token` the recovery link carried. A publishable key is
//! enough; the answer holds the items and the coupon, never the shopper's email
//! or name.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use cartback_domain::{CartItem, CartStatus};
use cartback_store::links::{LinkPurpose, find_by_token};

use crate::auth::AnyCaller;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RestoredCart {
    success: bool,
    session_id: String,
    items: Vec<StoredItem>,
    total_minor: i64,
    currency: String,
    #[schema(required = true)]
    coupon: Option<String>,
    /// Which email of the sequence the link came from (1-based).
    #[schema(value_type = i64)]
    step: i32,
}

/// A stored line, in minor units.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct StoredItem {
    id: String,
    name: String,
    unit_price_minor: i64,
    #[schema(value_type = i64)]
    quantity: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    image_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String)]
    url: Option<String>,
}

impl From<CartItem> for StoredItem {
    fn from(item: CartItem) -> StoredItem {
        StoredItem {
            id: item.id,
            name: item.name,
            unit_price_minor: item.unit_price_minor,
            quantity: item.quantity,
            image_url: item.image_url,
            url: item.url,
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/carts/restore/{token}",
    tag = "carts",
    operation_id = "restoreCart",
    summary = "The cart a recovery link belongs to, to rebuild it on any device",
    description = "Items and coupon, never the shopper's email or name.",
    params(("token" = String, Path, description = "The `cart_token` the recovery link carried")),
    responses(
        (status = 200, description = "The cart", body = RestoredCart),
        (status = 404, description = "NOT_FOUND: an unknown or another tenant's token, or a cart that moved on to a new cycle, expired or was deleted",
            body = crate::error::ErrorEnvelope),
        crate::error::AnyKeyErrors,
    ),
    security(
        ("ApiKey" = ["secret"]), ("Bearer" = ["secret"]),
        ("ApiKey" = ["publishable"]), ("Bearer" = ["publishable"]),
    )
)]
pub async fn restore(
    state: web::Data<AppState>,
    AnyCaller(caller): AnyCaller,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = token.into_inner();
    let found = state
        .db(move |conn| find_by_token(conn, LinkPurpose::Recover, &token))
        .await?;
    let not_found = || ApiError::new(ErrorCode::NotFound, "no cart for this token");
    // Another tenant's token is a 404 like an unknown one; so is a cart that moved
    // on to a new cycle, expired or was deleted.
    let (send, cart) = found
        .filter(|(send, cart)| {
            send.tenant_id == caller.tenant.id
                && cart.cycle == send.cycle
                && cart.deleted_at.is_none()
                && cart.status != CartStatus::Expired
        })
        .ok_or_else(not_found)?;
    Ok(HttpResponse::Ok().json(RestoredCart {
        success: true,
        items: cart.items.into_iter().map(StoredItem::from).collect(),
        session_id: cart.session_id,
        total_minor: cart.total_minor,
        currency: cart.currency,
        coupon: send.coupon_code,
        step: send.step + 1,
    }))
}
