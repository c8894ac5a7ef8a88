//! The links in recovery emails, opened by shoppers (no API key):
//! `GET /r/{token}` records the click and redirects to the shop's cart page with
//! `session_id` and `cart_token` (or to the cart's own restore link, when the
//! shop gave it one); `GET /u/{token}` shows a confirm page and
//! `POST /u/{token}` unsubscribes (RFC 8058 one-click: never redirects).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::Utc;

use cartback_domain::CartStatus;
use cartback_store::cart_admin::shop_fields_of;
use cartback_store::links::{LinkPurpose, find_by_token, record_click, restore_url, unsubscribe};
use cartback_store::tenants::find_tenant;

use crate::error::ApiError;
use crate::state::AppState;

fn escape_html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A small page for shoppers: links are opened in browsers, not by API clients.
fn page(status: actix_web::http::StatusCode, title: &str, body: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Robots-Tag", "noindex"))
        .body(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
             <title>{title}</title></head>\
             <body style=\"font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222\">\
             <h1 style=\"font-size:1.4rem\">{title}</h1>{body}</body></html>",
            title = escape_html(title),
        ))
}

fn expired_link() -> HttpResponse {
    page(
        actix_web::http::StatusCode::NOT_FOUND,
        "This link is no longer valid",
        "<p>The link may be mistyped or the cart may have expired.</p>",
    )
}

/// `GET /r/{token}`.
#[utoipa::path(
    get,
    path = "/r/{token}",
    tag = "links",
    operation_id = "recoverLink",
    summary = "A recovery link: counts the click, then redirects to the shop",
    params(("token" = String, Path, description = "The send's recovery token")),
    responses(
        (status = 302, description = "To the tenant's recovery URL with `session_id` and `cart_token` appended; a cart with its own restore link (Reloadify's `recovery_url`) to that link, as the shop gave it",
            headers(("Location" = String, description = "The recovery URL"))),
        (status = 200, description = "A \"your cart is saved\" page, for a tenant without a recovery URL",
            content_type = "text/html", body = String),
        (status = 404, description = "An unknown token, or a cart that moved on, expired or was deleted: a page",
            content_type = "text/html", body = String),
        (status = 429, description = "RATE_LIMITED: over the per-IP limit", body = crate::error::ErrorEnvelope,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        crate::error::ServerErrors,
    ),
    // Open to anyone: no key.
    security()
)]
pub async fn recover(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = token.into_inner();
    let found = state
        .db(move |conn| -> cartback_store::StoreResult<_> {
            let Some((send, cart)) = find_by_token(conn, LinkPurpose::Recover, &token)? else {
                return Ok(None);
            };
            // Valid while the cart can still be recovered in this cycle.
            if cart.cycle != send.cycle
                || cart.deleted_at.is_some()
                || cart.status == CartStatus::Expired
            {
                return Ok(None);
            }
            let tenant = find_tenant(conn, &send.tenant_id)?;
            record_click(conn, &send, Utc::now())?;
            // A cart the shop gave its own recovery link (the Reloadify-shaped
            // API) is restored by that link, exactly as the shop wrote it.
            let own = shop_fields_of(conn, &send.tenant_id, &[cart.id.as_str()])?
                .remove(&cart.id)
                .and_then(|fields| fields.recovery_url);
            Ok(tenant.map(|t| (t.recovery_url, own, cart.session_id, token)))
        })
        .await?;
    let Some((recovery_url, own, session_id, token)) = found else {
        return Ok(expired_link());
    };
    if let Some(own) = own {
        return Ok(HttpResponse::Found()
            .insert_header((header::LOCATION, own))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish());
    }
    let Some(recovery_url) = recovery_url else {
        return Ok(page(
            actix_web::http::StatusCode::OK,
            "Your cart is saved",
            "<p>Go back to the shop to finish your order.</p>",
        ));
    };
    let location = restore_url(&recovery_url, &session_id, Some(&token));
    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// `GET /u/{token}`: asks for confirmation; opening a link (or a mail scanner
/// prefetching it) never unsubscribes by itself.
#[utoipa::path(
    get,
    path = "/u/{token}",
    tag = "links",
    operation_id = "unsubscribePage",
    summary = "An unsubscribe link: a confirm page (changes nothing)",
    params(("token" = String, Path, description = "The send's unsubscribe token")),
    responses(
        (status = 200, description = "The confirm page with an Unsubscribe button", content_type = "text/html", body = String),
        (status = 404, description = "An unknown token: a page", content_type = "text/html", body = String),
        (status = 429, description = "RATE_LIMITED: over the per-IP limit", body = crate::error::ErrorEnvelope,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        crate::error::ServerErrors,
    ),
    // Open to anyone: no key.
    security()
)]
pub async fn unsubscribe_page(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = token.into_inner();
    let lookup = token.clone();
    let shop = state
        .db(move |conn| -> cartback_store::StoreResult<Option<String>> {
            let Some((send, _)) = find_by_token(conn, LinkPurpose::Unsubscribe, &lookup)? else {
                return Ok(None);
            };
            Ok(Some(shop_name(conn, &send.tenant_id)?))
        })
        .await?;
    let Some(shop) = shop else {
        return Ok(expired_link());
    };
    Ok(page(
        actix_web::http::StatusCode::OK,
        "Stop cart reminder emails?",
        &format!(
            "<p>You will get no more reminders about carts you leave at {}.</p>\
             <form method=\"post\" action=\"/u/{}\">\
             <input type=\"hidden\" name=\"List-Unsubscribe\" value=\"One-Click\">\
             <button type=\"submit\" style=\"padding:.6rem 1.2rem;font-size:1rem\">Unsubscribe</button></form>",
            escape_html(&shop),
            escape_html(&token)
        ),
    ))
}

/// `POST /u/{token}`: one-click unsubscribe (RFC 8058 body
/// `List-Unsubscribe=One-Click`, or the confirm page's form). Answers 200 with a
/// page; repeating it is harmless.
#[utoipa::path(
    post,
    path = "/u/{token}",
    tag = "links",
    operation_id = "unsubscribeNow",
    summary = "One-click unsubscribe (RFC 8058)",
    description = "The address joins the tenant's suppression list and every cart of it stops. \
        The body is not read; mail providers send `List-Unsubscribe=One-Click`. Never redirects.",
    params(("token" = String, Path, description = "The send's unsubscribe token")),
    request_body(
        content = Option<request::OneClickUnsubscribe>,
        content_type = "application/x-www-form-urlencoded",
        description = "Ignored",
    ),
    responses(
        (status = 200, description = "Unsubscribed: a page", content_type = "text/html", body = String),
        (status = 404, description = "An unknown token: a page", content_type = "text/html", body = String),
        (status = 429, description = "RATE_LIMITED: over the per-IP limit", body = crate::error::ErrorEnvelope,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        crate::error::ServerErrors,
    ),
    // Open to anyone: no key.
    security()
)]
pub async fn unsubscribe_now(
    state: web::Data<AppState>,
    token: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let token = token.into_inner();
    let shop = state
        .db(move |conn| -> cartback_store::StoreResult<Option<String>> {
            let Some((send, cart)) = find_by_token(conn, LinkPurpose::Unsubscribe, &token)? else {
                return Ok(None);
            };
            unsubscribe(conn, &send, &cart, Utc::now())?;
            Ok(Some(shop_name(conn, &send.tenant_id)?))
        })
        .await?;
    let Some(shop) = shop else {
        return Ok(expired_link());
    };
    Ok(page(
        actix_web::http::StatusCode::OK,
        "You are unsubscribed",
        &format!(
            "<p>You will get no more cart reminder emails from {}.</p>",
            escape_html(&shop)
        ),
    ))
}

/// The shop a shopper unsubscribes from, named as in its emails.
fn shop_name(
    conn: &mut cartback_store::DbConn,
    tenant_id: &str,
) -> cartback_store::StoreResult<String> {
    // A link outlives no tenant (erasing one removes its sends), so the
    // fallback only covers a race with that deletion.
    Ok(find_tenant(conn, tenant_id)?.map_or_else(|| "this shop".to_owned(), |t| t.name))
}

/// The requests of these routes as the OpenAPI document shows them. Nothing
/// builds these types: the handlers read requests field by field
/// ([`crate::input`]), and schemathesis holds the document and the handlers
/// together.
pub(crate) mod request {
    use serde::Serialize;
    use utoipa::ToSchema;

    /// The RFC 8058 one-click body mail providers send.
    #[derive(Serialize, ToSchema)]
    pub struct OneClickUnsubscribe {
        /// `One-Click`.
        #[serde(rename = "List-Unsubscribe")]
        pub list_unsubscribe: Option<String>,
    }
}
