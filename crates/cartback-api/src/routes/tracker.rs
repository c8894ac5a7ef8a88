//! `GET /tracker.js`: the storefront script that reports carts to the public
//! capture endpoint (docs/api/public-capture.md). Compiled into the binary, so
//! it always matches the api that serves it.

use actix_web::HttpResponse;
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};

/// The script's source.
pub const TRACKER_JS: &str = include_str!("../../assets/tracker.js");

#[utoipa::path(
    get,
    path = "/tracker.js",
    tag = "operations",
    operation_id = "trackerJs",
    summary = "The storefront script that reports carts to the public capture route",
    responses((status = 200, description = "The script", content_type = "application/javascript", body = String)),
    // Open to anyone: no key.
    security()
)]
pub async fn tracker_js() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "application/javascript; charset=utf-8"))
        .insert_header((CACHE_CONTROL, "public, max-age=3600"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(TRACKER_JS)
}
