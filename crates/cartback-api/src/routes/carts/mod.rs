//! The merchant's carts API (secret key): list with filters and pages, get,
//! change, hide or erase one, its items and timeline, and upsert by the shop's
//! own id. `{id}` is cartback's cart id, the storefront's session id or the shop's
//! own id. Another tenant's cart is a 404 for every verb.
//!
//! One file per concern: `manage` (list, get, patch, delete, erase), `items`,
//! `upsert` and `timeline`, each with its answers. The cart as the API shows
//! it is `cartback_store::view::CartView`, which webhooks are made from too.

pub(crate) mod items;
pub(crate) mod manage;
pub(crate) mod time_filter;
pub(crate) mod timeline;
pub(crate) mod upsert;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use cartback_store::cart_admin::find_cart_by_any_id;
use cartback_store::carts::CartRow;
use cartback_store::view::CartView;

use crate::error::{ApiError, ErrorCode};
use crate::input::Problems;
use crate::input::fields::{self, nullable};
use crate::state::AppState;

pub(super) fn not_found() -> ApiError {
    ApiError::new(ErrorCode::NotFound, "no such cart")
}

/// One cart: the answer of get, patch, erase and the item changes.
#[derive(Serialize, ToSchema)]
pub(crate) struct CartAnswer {
    success: bool,
    data: CartView,
}

impl CartAnswer {
    pub(super) fn of(cart: &CartRow) -> CartAnswer {
        CartAnswer {
            success: true,
            data: CartView::of(cart),
        }
    }
}

/// The cart's entity tag: its version, quoted.
pub(super) fn etag(cart: &CartRow) -> String {
    format!("\"{}\"", cart.version)
}

/// 200 with the cart and its `ETag`.
pub(super) fn cart_answer(cart: &CartRow) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((actix_web::http::header::ETAG, etag(cart)))
        .json(CartAnswer::of(cart))
}

/// A tag `If-Match` may carry that can never be a cart's version (they start
/// at 1): a foreign or malformed tag never matches.
pub(super) const NO_VERSION: i64 = -1;

/// The version an `If-Match` header asks for: None without the header or with
/// `*` (any current cart), else the one tag's version (`"7"`, or weak `W/"7"`:
/// versions are compared as they are). A tag that is not a version never
/// matches; a list of several tags is refused.
pub(super) fn if_match(request: &HttpRequest) -> Result<Option<i64>, ApiError> {
    let mut tags = Vec::new();
    for value in request.headers().get_all(actix_web::http::header::IF_MATCH) {
        // `to_str` lets a tab through; the document's pattern (and RFC 9110's
        // entity tag) does not.
        let text = value
            .to_str()
            .ok()
            .filter(|text| !text.contains('\t'))
            .ok_or_else(|| {
                ApiError::new(ErrorCode::BadRequest, "If-Match must be visible ASCII")
            })?;
        tags.extend(
            text.split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned),
        );
    }
    match tags.as_slice() {
        [] => Ok(None),
        [tag] if tag == "*" => Ok(None),
        [tag] => {
            let opaque = tag.strip_prefix("W/").unwrap_or(tag);
            Ok(Some(
                opaque
                    .strip_prefix('"')
                    .and_then(|t| t.strip_suffix('"'))
                    .and_then(|t| t.parse::<i64>().ok())
                    .filter(|v| *v > 0)
                    .unwrap_or(NO_VERSION),
            ))
        }
        _ => Err(ApiError::new(
            ErrorCode::BadRequest,
            "If-Match takes one entity tag (the ETag of GET /api/v1/carts/{id}) or *",
        )),
    }
}

/// 412: the cart changed since the client read it.
pub(super) fn stale(version: i64) -> ApiError {
    ApiError::new(
        ErrorCode::PreconditionFailed,
        format!(
            "the cart changed since it was read (If-Match); its current ETag is \"{version}\": read it again and retry"
        ),
    )
}

pub(super) async fn load(
    state: &AppState,
    tenant_id: &str,
    id: String,
) -> Result<CartRow, ApiError> {
    let tenant_id = tenant_id.to_owned();
    state
        .db(move |conn| find_cart_by_any_id(conn, &tenant_id, &id, false))
        .await?
        .ok_or_else(not_found)
}

pub(super) async fn json_object(
    state: &AppState,
    request: &HttpRequest,
    payload: web::Payload,
    optional: bool,
) -> Result<(web::BytesMut, serde_json::Map<String, Value>), ApiError> {
    let body = crate::input::body::read_body(request, payload, state.limits.max_body_bytes).await?;
    let object = fields::object(&body, optional)?;
    Ok((body, object))
}

pub(super) fn attributes_field(
    object: &serde_json::Map<String, Value>,
    problems: &mut Problems,
) -> Option<Vec<Value>> {
    match nullable(object, "attributes")? {
        None => Some(Vec::new()),
        Some(Value::Array(list)) => Some(list.clone()),
        Some(_) => {
            problems.add("attributes", "must be an array of {name, <type>Value}");
            None
        }
    }
}
