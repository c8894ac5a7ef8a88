//! litecommerce's merchant list, `GET /api/v1/merchant/abandoned-carts`
//! (`filter=pending|recovered|all`), with the secret key standing in for
//! litecommerce's signed-in member. Its capture, `POST
//! /api/v1/public/abandoned-carts`, is the native public capture
//! (`routes::public`). Each cart is shown in litecommerce's words: the
//! snapshot in integer cents, `recoveryEmailSentAt`, `recoveryEmailCount`,
//! `recoveredAt`.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;
use utoipa::ToSchema;

use cartback_domain::CartStatus;
use cartback_store::cart_admin::{CartFilter, StatusFilter, list_carts};
use cartback_store::carts::CartRow;
use cartback_store::view::time;

use crate::auth::SecretCaller;
use crate::error::ApiError;
use crate::input::Problems;
use crate::input::fields::{MAX_PAGE, query_map, query_number, unknown_params};
use crate::state::AppState;

const PARAMS: &[&str] = &["filter", "page", "perPage"];
const DEFAULT_PER_PAGE: i64 = 50;
const MAX_PER_PAGE: i64 = 200;

/// One line of a snapshot, as the storefront captured it.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = LitecommerceLine)]
pub(crate) struct Line {
    /// Null once the cart was erased.
    #[schema(required = true)]
    item_id: Option<String>,
    #[schema(required = true)]
    variant_id: Option<String>,
    name: String,
    #[schema(value_type = i64)]
    quantity: u32,
    unit_price_in_cents: i64,
}

/// The frozen cart state.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = LitecommerceSnapshot)]
pub(crate) struct Snapshot {
    items: Vec<Line>,
    /// As the storefront sent it; null when it sent none.
    #[schema(required = true)]
    subtotal_in_cents: Option<i64>,
    total_in_cents: i64,
    currency: String,
}

/// A captured cart in litecommerce's words.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = LitecommerceCart)]
pub(crate) struct Captured {
    /// cartback's cart id.
    id: String,
    /// Null once erased.
    #[schema(required = true)]
    session_id: Option<String>,
    #[schema(required = true)]
    email: Option<String>,
    snapshot: Snapshot,
    /// cartback's status (`active`, `abandoned`, `recovered`, `converted`, `expired`).
    #[schema(value_type = String)]
    status: CartStatus,
    /// The latest recovery email of the cart's current shopping cycle.
    #[schema(required = true, format = DateTime)]
    recovery_email_sent_at: Option<String>,
    /// Recovery emails of the current cycle.
    #[schema(value_type = i64)]
    recovery_email_count: i32,
    /// When an order recovered the cart (after a recovery email, inside the
    /// attribution window); null otherwise.
    #[schema(required = true, format = DateTime)]
    recovered_at: Option<String>,
    #[schema(format = DateTime)]
    created_at: String,
    #[schema(format = DateTime)]
    updated_at: String,
}

impl Captured {
    fn of(cart: &CartRow) -> Captured {
        let erased = cart.erased_at.is_some();
        Captured {
            id: cart.id.clone(),
            session_id: (!erased).then(|| cart.session_id.clone()),
            email: cart.customer_email.clone(),
            snapshot: Snapshot {
                items: cart
                    .items
                    .iter()
                    .map(|item| Line {
                        item_id: (!erased).then(|| item.id.clone()),
                        variant_id: item.variant_id.clone(),
                        name: item.name.clone(),
                        quantity: item.quantity,
                        unit_price_in_cents: item.unit_price_minor,
                    })
                    .collect(),
                subtotal_in_cents: cart.subtotal_minor,
                total_in_cents: cart.total_minor,
                currency: cart.currency.clone(),
            },
            status: cart.status,
            recovery_email_sent_at: cart.last_sent_at.map(time),
            recovery_email_count: cart.next_step,
            recovered_at: (cart.status == CartStatus::Recovered)
                .then_some(cart.ordered_at)
                .flatten()
                .map(time),
            created_at: time(cart.created_at),
            updated_at: time(cart.updated_at),
        }
    }
}

/// The merchant list.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = LitecommerceCartList)]
pub(crate) struct CapturedList {
    carts: Vec<Captured>,
    page: i64,
    per_page: i64,
    /// Carts matching the filter in all.
    total: i64,
}

/// `filter` as litecommerce names it: `pending` (the default) is cartback's
/// `status=pending`, so the two lists never disagree.
fn parse_filter(text: Option<&String>, problems: &mut Problems) -> Option<StatusFilter> {
    match text.map(|t| t.trim()) {
        None | Some("pending") => Some(StatusFilter::Pending),
        Some("recovered") => Some(StatusFilter::Is(CartStatus::Recovered)),
        Some("all") => None,
        Some(_) => {
            problems.add("filter", "must be pending, recovered or all");
            None
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/merchant/abandoned-carts",
    tag = "compat-litecommerce",
    operation_id = "litecommerceListAbandonedCarts",
    summary = "litecommerce: the captured carts, `filter=pending|recovered|all` (docs/compat.md)",
    description = "`pending` (the default) is exactly the native `GET /api/v1/carts?status=pending`: \
        abandoned carts whose recovery sequence is still running. `recovered` are carts an order \
        recovered; `all` every visible cart. Newest first; `page` and `perPage` (default 50, at most \
        200) are cartback's additions.",
    params(
        ("filter" = Option<String>, Query, description = "`pending` (default), `recovered` or `all`", pattern = "^(pending|recovered|all)$"),
        ("page" = Option<i64>, Query, description = "From 1 (default 1)", minimum = 1, maximum = 1_000_000),
        ("perPage" = Option<i64>, Query, description = "Default 50", minimum = 1, maximum = 200),
    ),
    responses(
        (status = 200, description = "The carts, newest first", body = CapturedList),
        (status = 422, description = "VALIDATION_ERROR: an unknown parameter or a bad value", body = crate::error::ErrorEnvelope),
        crate::error::SecretKeyErrors,
    )
)]
pub async fn list(
    state: web::Data<AppState>,
    SecretCaller(caller): SecretCaller,
    request: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let mut problems = Problems::default();
    let query = query_map(request.query_string(), &mut problems);
    unknown_params(&query, PARAMS, &mut problems);
    let status = parse_filter(query.get("filter"), &mut problems);
    let page = query_number(&query, "page", 1, 1..=MAX_PAGE, &mut problems);
    let per_page = query_number(
        &query,
        "perPage",
        DEFAULT_PER_PAGE,
        1..=MAX_PER_PAGE,
        &mut problems,
    );
    problems.check()?;
    let filter = CartFilter {
        status,
        ..CartFilter::default()
    };
    let tenant_id = caller.tenant.id.clone();
    let (rows, total) = state
        .db(move |conn| list_carts(conn, &tenant_id, &filter, page, per_page))
        .await?;
    Ok(HttpResponse::Ok().json(CapturedList {
        carts: rows.iter().map(Captured::of).collect(),
        page,
        per_page,
        total,
    }))
}
